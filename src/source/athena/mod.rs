//! `athena://DATABASE.TABLE?workgroup=W&output=s3://BUCKET/PREFIX/`: the record selection
//! pushed down to Amazon Athena over the trail bucket's CloudTrail table.
//!
//! The table's definition comes from the Glue Data Catalog (`table.rs`: partition keys and
//! partition projection, read into a [`table::Shape`]); the command's selection becomes one
//! Trino SQL statement (`sql.rs`); the statement runs in Athena (this module: start, poll
//! with backoff, stop on Ctrl-C or past `--max-scan`); its rows (`results.rs`: the CSV
//! Athena wrote, else `GetQueryResults` pages) are either the matched events' `eventid` and
//! `"$path"` (objects mode, the default: those objects are read whole with the S3 reader and
//! the local selection, which the SQL equals, keeps exactly the matched events) or the
//! events' columns rebuilt into records (columns mode, `mode=columns`, for callers without
//! `s3:GetObject` on the trail bucket). `ddl.rs` writes the `CREATE EXTERNAL TABLE` of
//! `trailwhy athena ddl`.
//!
//! Everything that can fail before the query (a bad URL, an unknown table, a table without
//! partitions, a workgroup without a result location, `--max-scan` exceeded where the size
//! is known) fails in [`prepare`], before the scan starts; the query itself runs while the
//! scan waits for its inputs ([`Prepared::run`]).

pub mod ddl;
pub mod results;
pub mod sql;
pub mod table;

use std::io;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{anyhow, bail, Context as _, Result};
use aws_sdk_athena::types::{QueryExecutionContext, QueryExecutionState, ResultConfiguration};
use bytes::Bytes;
use tokio::sync::mpsc;

use super::channel::ChannelInput;
use super::s3;
use super::{Input, Inputs};
use crate::aws::{describe_sdk_error, AwsContext};
use crate::selection::Window;
use results::{column_positions, CsvRows, Row};
use sql::{Mode, Plan, Statement, Want};
use table::{Shape, TableDef};

/// The catalog Athena names the account's Glue Data Catalog.
pub const DEFAULT_CATALOG: &str = "AwsDataCatalog";

pub use super::pushdown::USD_PER_TB;

/// `athena://DATABASE.TABLE?…`, parsed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AthenaUrl {
    pub catalog: String,
    pub database: String,
    pub table: String,
    pub workgroup: String,
    /// `output=`: where Athena writes the result (else the workgroup's location).
    pub output: Option<String>,
    pub mode: Mode,
}

impl AthenaUrl {
    pub fn parse(s: &str) -> Result<AthenaUrl> {
        let rest = s
            .strip_prefix("athena://")
            .ok_or_else(|| anyhow!("'{s}' is not an athena:// source"))?;
        let (name, query) = rest.split_once('?').unwrap_or((rest, ""));
        let (database, table) = name.split_once('.').ok_or_else(|| {
            anyhow!(
                "'{s}': name the table as DATABASE.TABLE, e.g. athena://default.cloudtrail_logs"
            )
        })?;
        for (what, v) in [("database", database), ("table", table)] {
            if v.is_empty()
                || !v
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
            {
                bail!("'{s}': '{v}' is not a {what} name (letters, digits, _ and -)");
            }
        }
        let mut url = AthenaUrl {
            catalog: DEFAULT_CATALOG.to_owned(),
            database: database.to_ascii_lowercase(),
            table: table.to_ascii_lowercase(),
            workgroup: "primary".to_owned(),
            output: None,
            mode: Mode::Objects,
        };
        for pair in query.split('&').filter(|p| !p.is_empty()) {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            // `%2F` and friends: an output location may be given encoded
            let v = percent_encoding::percent_decode_str(v)
                .decode_utf8_lossy()
                .into_owned();
            if v.is_empty() {
                bail!("'{s}': '{k}' has no value");
            }
            match k {
                "workgroup" => url.workgroup = v,
                "catalog" => url.catalog = v,
                "output" => {
                    if !v.starts_with("s3://") {
                        bail!("'{s}': output must be an s3:// location, not '{v}'");
                    }
                    url.output = Some(if v.ends_with('/') { v } else { format!("{v}/") });
                }
                "mode" => {
                    url.mode = match v.as_str() {
                        "objects" => Mode::Objects,
                        "columns" => Mode::Columns,
                        _ => {
                            bail!("'{s}': mode is 'objects' (the default) or 'columns', not '{v}'")
                        }
                    }
                }
                _ => bail!(
                    "'{s}': unknown parameter '{k}' (known: workgroup, output, catalog, mode)"
                ),
            }
        }
        Ok(url)
    }

    /// The name used in messages: without the query part.
    pub fn name(&self) -> String {
        format!("athena://{}.{}", self.database, self.table)
    }
}

pub use super::pushdown::{Ask, QuerySummary, Stats};

/// The price of a query that scanned `bytes`: rounded up to the MB, 10 MB at least.
pub fn cost_usd(bytes: u64) -> f64 {
    const MB: u64 = 1 << 20;
    let billed = bytes.div_ceil(MB).max(10) * MB;
    billed as f64 / (1u64 << 40) as f64 * USD_PER_TB
}

/// One `athena://` SOURCE, checked and compiled, its query not started.
pub struct Prepared {
    url: AthenaUrl,
    runner: Runner,
    s3: aws_sdk_s3::Client,
    statement: Statement,
    concurrency: usize,
    stats: Arc<Stats>,
    quiet: bool,
}

/// Reads the table's definition, compiles the statement for `window` and `ask`, and checks
/// the workgroup: everything that can fail before the query fails here.
pub fn prepare(
    ctx: &Arc<AwsContext>,
    url: &AthenaUrl,
    window: &Window,
    ask: &Ask<'_>,
    s3: &s3::S3Options,
    stats: &Arc<Stats>,
    quiet: bool,
) -> Result<Prepared> {
    let (concurrency, delivery_lag) = (s3.concurrency, s3.delivery_lag);
    let name = url.name();
    let client = aws_sdk_athena::Client::new(&ctx.config);
    let glue = aws_sdk_glue::Client::new(&ctx.config);
    let def = ctx
        .block_on(async {
            let catalog_id = glue_catalog_id(&client, &url.catalog).await?;
            let def = get_table(&glue, catalog_id.as_deref(), url).await?;
            check_result_location(&client, url).await?;
            Ok::<_, anyhow::Error>(def)
        })
        .with_context(|| name.clone())?;
    let shape = Shape::from_def(&def).with_context(|| name.clone())?;
    let statement = sql::compile(
        &shape,
        &Plan {
            window,
            want: ask.want,
            mode: url.mode,
            delivery_lag,
            now: chrono::Utc::now(),
        },
    )
    .with_context(|| name.clone())?;
    if !quiet {
        for w in &statement.warnings {
            eprintln!("trailwhy: warning: {name}: {w}");
        }
    }
    if let Some(max) = ask.max_scan {
        match measure(ctx, &def, window, &ask.want, s3) {
            Ok(Some((objects, bytes))) if bytes > max => bail!(
                "{name}: the partitions this query reads hold {bytes} bytes in {objects} objects, more than --max-scan {max}: narrow --since/--until/--account/--region{}",
                if matches!(ask.want, Want::Explain { .. }) { " or --change-lookback" } else { "" }
            ),
            Ok(Some(_)) => {}
            Ok(None) => {
                if !quiet {
                    eprintln!("trailwhy: {name}: the bytes this query reads cannot be known beforehand (more than {MEASURE_FOLDERS} day folders, or no trail layout at the table's location): it is stopped once Athena reports more than --max-scan");
                }
            }
            Err(e) => {
                if !quiet {
                    eprintln!("trailwhy: {name}: the bytes this query reads could not be measured ({e:#}): it is stopped once Athena reports more than --max-scan");
                }
            }
        }
    }
    Ok(Prepared {
        url: url.clone(),
        runner: Runner {
            client,
            catalog: url.catalog.clone(),
            database: url.database.clone(),
            workgroup: url.workgroup.clone(),
            output: url.output.clone(),
            max_scan: ask.max_scan,
        },
        s3: ctx.s3(None),
        statement,
        concurrency,
        stats: stats.clone(),
        quiet,
    })
}

/// The most day folders [`measure`] lists.
const MEASURE_FOLDERS: usize = 2_000;

/// `--max-scan` before the query: the objects and bytes of the day folders the statement's
/// partitions cover (Athena reads gzip objects whole, so their sizes are the bytes it
/// scans), listed under the table's location; `None` when that cannot be known cheaply.
fn measure(
    ctx: &Arc<AwsContext>,
    def: &TableDef,
    window: &Window,
    want: &Want<'_>,
    opts: &s3::S3Options,
) -> Result<Option<(u64, u64)>> {
    let location = def
        .parameters
        .get("storage.location.template")
        .or(def.location.as_ref());
    let Some(root) =
        location.and_then(|l| l.find("AWSLogs/").map(|at| &l[..at + "AWSLogs/".len()]))
    else {
        return Ok(None);
    };
    let url = s3::S3Url::parse(root)?;
    // explain's change arm reads every account and region from the lookback on
    let w = match want {
        Want::Explain { lookback } => Window {
            since: window.since.map(|s| s - *lookback),
            until: window.until,
            accounts: Vec::new(),
            regions: Vec::new(),
        },
        Want::Query(_) => window.clone(),
    };
    let stats = Arc::new(s3::ListStats::default());
    let listing = s3::prepare(ctx, &url, &w, opts, &stats)?;
    ctx.block_on(listing.measure(MEASURE_FOLDERS))
}

/// The Glue catalog id behind an Athena data catalog (`None`: the account's own).
async fn glue_catalog_id(client: &aws_sdk_athena::Client, catalog: &str) -> Result<Option<String>> {
    if catalog == DEFAULT_CATALOG {
        return Ok(None);
    }
    let out = client
        .get_data_catalog()
        .name(catalog)
        .send()
        .await
        .map_err(|e| {
            anyhow!(
                "catalog '{catalog}': {}",
                describe_sdk_error(&e, "athena:GetDataCatalog")
            )
        })?;
    let c = out
        .data_catalog()
        .ok_or_else(|| anyhow!("catalog '{catalog}': not found"))?;
    if c.r#type().as_str() != "GLUE" {
        bail!(
            "catalog '{catalog}' is a {} catalog: only Glue Data Catalogs hold CloudTrail tables trailwhy can read",
            c.r#type().as_str()
        );
    }
    Ok(c.parameters().and_then(|p| p.get("catalog-id")).cloned())
}

/// `glue:GetTable`, as a [`TableDef`].
async fn get_table(
    glue: &aws_sdk_glue::Client,
    catalog_id: Option<&str>,
    url: &AthenaUrl,
) -> Result<TableDef> {
    let out = glue
        .get_table()
        .set_catalog_id(catalog_id.map(str::to_owned))
        .database_name(&url.database)
        .name(&url.table)
        .send()
        .await
        .map_err(|e| {
            let not_found = e
                .as_service_error()
                .is_some_and(|s| s.is_entity_not_found_exception());
            if not_found {
                anyhow!(
                    "no table '{}' in database '{}' of the Glue Data Catalog (create one with `trailwhy athena ddl --create`)",
                    url.table,
                    url.database
                )
            } else {
                anyhow!("{}", describe_sdk_error(&e, "glue:GetTable"))
            }
        })?;
    let t = out
        .table()
        .ok_or_else(|| anyhow!("glue:GetTable returned no table"))?;
    let sd = t.storage_descriptor();
    let cols = |c: &[aws_sdk_glue::types::Column]| -> Vec<(String, String)> {
        c.iter()
            .map(|c| {
                (
                    c.name().to_ascii_lowercase(),
                    c.r#type().unwrap_or("string").to_owned(),
                )
            })
            .collect()
    };
    Ok(TableDef {
        catalog: url.catalog.clone(),
        database: url.database.clone(),
        name: url.table.clone(),
        location: sd.and_then(|s| s.location()).map(str::to_owned),
        columns: sd.map(|s| cols(s.columns())).unwrap_or_default(),
        partition_keys: cols(t.partition_keys()),
        parameters: t
            .parameters()
            .map(|p| p.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
            .unwrap_or_default(),
    })
}

/// Checks that the query's result has somewhere to go: `output=`, the workgroup's location,
/// or managed query results (then the rows are paged through `GetQueryResults`). A
/// workgroup with none is refused here, before any query.
async fn check_result_location(client: &aws_sdk_athena::Client, url: &AthenaUrl) -> Result<()> {
    let out = client
        .get_work_group()
        .work_group(&url.workgroup)
        .send()
        .await
        .map_err(|e| {
            let invalid = e
                .as_service_error()
                .is_some_and(|s| s.is_invalid_request_exception());
            if invalid {
                anyhow!("no Athena workgroup '{}'", url.workgroup)
            } else {
                anyhow!(
                    "workgroup '{}': {}",
                    url.workgroup,
                    describe_sdk_error(&e, "athena:GetWorkGroup")
                )
            }
        })?;
    let config = out.work_group().and_then(|w| w.configuration());
    let location = config
        .and_then(|c| c.result_configuration())
        .and_then(|r| r.output_location())
        .map(str::to_owned);
    let managed = config
        .and_then(|c| c.managed_query_results_configuration())
        .is_some_and(|m| m.enabled());
    if url.output.is_none() && location.is_none() && !managed {
        bail!(
            "workgroup '{}' has no query result location: add output=s3://BUCKET/PREFIX/ to the athena:// URL, or set one on the workgroup",
            url.workgroup
        );
    }
    Ok(())
}

/// Runs statements in one workgroup and database: start, wait, stop.
pub struct Runner {
    pub client: aws_sdk_athena::Client,
    pub catalog: String,
    pub database: String,
    pub workgroup: String,
    /// Where results go, when not the workgroup's location.
    pub output: Option<String>,
    /// `--max-scan`: stop a query that scans more.
    pub max_scan: Option<u64>,
}

impl Runner {
    /// StartQueryExecution, retried with backoff while Athena says too many requests.
    pub async fn start(&self, sql: &str) -> Result<String> {
        let mut delay = Duration::from_millis(500);
        for attempt in 0.. {
            let mut req = self
                .client
                .start_query_execution()
                .query_string(sql)
                .query_execution_context(
                    QueryExecutionContext::builder()
                        .catalog(&self.catalog)
                        .database(&self.database)
                        .build(),
                )
                .work_group(&self.workgroup);
            if let Some(o) = &self.output {
                req = req.result_configuration(
                    ResultConfiguration::builder().output_location(o).build(),
                );
            }
            match req.send().await {
                Ok(out) => {
                    return out
                        .query_execution_id()
                        .map(str::to_owned)
                        .ok_or_else(|| anyhow!("StartQueryExecution returned no query id"))
                }
                Err(e) => {
                    if throttled(&e) && attempt < 6 {
                        tokio::time::sleep(delay).await;
                        delay = (delay * 2).min(Duration::from_secs(8));
                        continue;
                    }
                    bail!(
                        "cannot start the query: {}",
                        describe_sdk_error(&e, "athena:StartQueryExecution")
                    );
                }
            }
        }
        unreachable!("the loop returns")
    }

    /// Polls until the query ends. `Ok((Some(location), bytes))` when it succeeded
    /// (`location`: its CSV, when Athena wrote one); `Ok((None, bytes))` when Ctrl-C
    /// stopped it; an error when it failed, was cancelled, or passed `--max-scan`.
    pub async fn wait(&self, id: &str) -> Result<(Option<Option<String>>, u64)> {
        let mut delay = Duration::from_millis(100);
        loop {
            if crate::interrupt::requested() {
                self.stop(id).await;
                return Ok((None, 0));
            }
            let out = match self
                .client
                .get_query_execution()
                .query_execution_id(id)
                .send()
                .await
            {
                Ok(out) => out,
                Err(e) => {
                    if throttled(&e) {
                        tokio::time::sleep(delay).await;
                        delay = (delay * 2).min(Duration::from_secs(5));
                        continue;
                    }
                    bail!(
                        "query {id}: {}",
                        describe_sdk_error(&e, "athena:GetQueryExecution")
                    );
                }
            };
            let q = out
                .query_execution()
                .ok_or_else(|| anyhow!("query {id}: GetQueryExecution returned nothing"))?;
            let scanned = q
                .statistics()
                .and_then(|s| s.data_scanned_in_bytes())
                .unwrap_or(0)
                .max(0) as u64;
            let status = q.status();
            let state = status.and_then(|s| s.state()).cloned();
            let reason = status
                .and_then(|s| s.state_change_reason())
                .unwrap_or("no reason given");
            match state {
                Some(QueryExecutionState::Succeeded) => {
                    let location = q
                        .result_configuration()
                        .and_then(|r| r.output_location())
                        .map(str::to_owned);
                    return Ok((Some(location), scanned));
                }
                Some(QueryExecutionState::Failed) => bail!("query {id} failed: {reason}"),
                Some(QueryExecutionState::Cancelled) => {
                    bail!("query {id} was cancelled: {reason}")
                }
                _ => {}
            }
            if let Some(max) = self.max_scan.filter(|m| scanned > *m) {
                self.stop(id).await;
                bail!(
                    "query {id} stopped: it had scanned {} bytes, more than --max-scan {max}",
                    scanned
                );
            }
            tokio::time::sleep(delay).await;
            delay = (delay * 3 / 2).min(Duration::from_secs(2));
        }
    }

    /// StopQueryExecution, best effort (the user asked to stop).
    pub async fn stop(&self, id: &str) {
        let _ = self
            .client
            .stop_query_execution()
            .query_execution_id(id)
            .send()
            .await;
    }
}

impl Prepared {
    pub fn name(&self) -> String {
        self.url.name()
    }

    /// The statement this SOURCE submits.
    pub fn sql(&self) -> &str {
        &self.statement.sql
    }

    /// Runs the query and appends what it selected to `inputs`: the objects to re-read
    /// (objects mode) or one input of rebuilt records (columns mode).
    pub async fn run(self, inputs: Arc<Inputs>) -> Result<()> {
        let name = self.url.name();
        let id = self
            .runner
            .start(&self.statement.sql)
            .await
            .with_context(|| name.clone())?;
        let (state, scanned) = self.runner.wait(&id).await.with_context(|| name.clone())?;
        let mut summary = QuerySummary {
            source: name.clone(),
            query_execution_id: id.clone(),
            mode: match self.url.mode {
                Mode::Objects => "objects",
                Mode::Columns => "columns",
            },
            data_scanned_bytes: scanned,
            cost_usd: cost_usd(scanned),
            ..QuerySummary::default()
        };
        let Some(location) = state else {
            // stopped by Ctrl-C: nothing to read, the scan reports what it has
            self.record(summary);
            return Ok(());
        };
        let rows = self
            .rows(&id, location.as_deref())
            .await
            .with_context(|| format!("{name}: query {id}"))?;
        summary.rows = rows.len() as u64;
        match self.url.mode {
            Mode::Objects => {
                let at = self
                    .statement
                    .columns
                    .iter()
                    .position(|c| c == PATH_COLUMN)
                    .ok_or_else(|| anyhow!("objects mode selects no \"$path\" column"))?;
                let paths = distinct_paths(&rows, at);
                summary.objects = Some(paths.len() as u64);
                self.record(summary);
                s3::read_named(self.s3.clone(), paths, self.concurrency, inputs)
                    .await
                    .with_context(|| name.clone())?;
            }
            Mode::Columns => {
                summary.lost = Some(sql::COLUMNS_MODE_LOSES);
                self.record(summary);
                let mut text = Vec::new();
                for row in &rows {
                    text.extend_from_slice(sql::rebuild(&self.statement.columns, row)?.as_bytes());
                    text.push(b'\n');
                }
                let (tx, rx) = mpsc::channel::<io::Result<Bytes>>(1);
                let _ = tx.try_send(Ok(Bytes::from(text)));
                inputs.push(Input::Remote(Arc::new(ChannelInput::new(
                    format!("{name} (query {id})"),
                    rx,
                ))));
            }
        }
        Ok(())
    }

    fn record(&self, summary: QuerySummary) {
        if let Ok(mut q) = self.stats.queries.lock() {
            q.push(summary);
        }
    }

    /// Every row of the result, header first checked and left out, values in the
    /// statement's column order: from the CSV Athena wrote when it can be read, else from
    /// `GetQueryResults` pages.
    async fn rows(&self, id: &str, location: Option<&str>) -> Result<Vec<Row>> {
        let mut all = match location {
            Some(loc) => match self.csv(loc).await {
                Ok(rows) => rows,
                Err(CsvError::Unreadable(why)) => {
                    if !self.quiet {
                        eprintln!(
                            "trailwhy: {}: the result file {loc} cannot be read ({why}): paging GetQueryResults instead",
                            self.url.name()
                        );
                    }
                    self.pages(id).await?
                }
                Err(CsvError::Malformed(e)) => return Err(e.context(format!("result file {loc}"))),
            },
            None => self.pages(id).await?,
        };
        if all.is_empty() {
            bail!("the result has no header row");
        }
        let header = all.remove(0);
        let at = column_positions(&header, &self.statement.columns)?;
        Ok(all
            .into_iter()
            .map(|r| at.iter().map(|&i| r.get(i).cloned().flatten()).collect())
            .collect())
    }

    /// The result CSV (`s3://bucket/key.csv`), parsed.
    async fn csv(&self, location: &str) -> Result<Vec<Row>, CsvError> {
        let url = s3::S3Url::parse(location).map_err(CsvError::Unreadable)?;
        let key = url.prefix.trim_end_matches('/').to_owned();
        let region = s3::bucket_region_of(&self.s3, &url.bucket)
            .await
            .map_err(CsvError::Unreadable)?;
        let mut b = self.s3.config().to_builder();
        if let Some(r) = region {
            b = b.region(aws_config::Region::new(r));
        }
        let client = aws_sdk_s3::Client::from_conf(b.build());
        let out = client
            .get_object()
            .bucket(&url.bucket)
            .key(&key)
            .send()
            .await
            .map_err(|e| CsvError::Unreadable(anyhow!(describe_sdk_error(&e, "s3:GetObject"))))?;
        let body = out
            .body
            .collect()
            .await
            .map_err(|e| CsvError::Unreadable(anyhow!("reading {location}: {e}")))?
            .into_bytes();
        let mut reader = CsvRows::new(io::BufReader::new(&body[..]));
        let mut rows = Vec::new();
        while let Some(r) = reader.next_row().map_err(CsvError::Malformed)? {
            rows.push(r);
        }
        Ok(rows)
    }

    /// `GetQueryResults`, page by page (1,000 rows each; the header is the first row).
    async fn pages(&self, id: &str) -> Result<Vec<Row>> {
        let mut rows = Vec::new();
        let mut token: Option<String> = None;
        loop {
            let out = self
                .runner
                .client
                .get_query_results()
                .query_execution_id(id)
                .max_results(1000)
                .set_next_token(token.clone())
                .send()
                .await
                .map_err(|e| anyhow!("{}", describe_sdk_error(&e, "athena:GetQueryResults")))?;
            if let Some(set) = out.result_set() {
                rows.extend(results::page_rows(set.rows()));
            }
            match out.next_token() {
                Some(t) if !t.is_empty() && token.as_deref() != Some(t) => {
                    token = Some(t.to_owned())
                }
                _ => return Ok(rows),
            }
        }
    }
}

/// Whether Athena said to slow down (its calls fail with `TooManyRequestsException`, or
/// `ThrottlingException` when the account's API rate is reached).
fn throttled<E: aws_sdk_athena::error::ProvideErrorMetadata, R>(
    e: &aws_sdk_athena::error::SdkError<E, R>,
) -> bool {
    e.as_service_error()
        .and_then(|s| s.code())
        .is_some_and(|c| matches!(c, "TooManyRequestsException" | "ThrottlingException"))
}

/// Why the result CSV was not used.
enum CsvError {
    /// It could not be fetched: the rows are paged instead.
    Unreadable(anyhow::Error),
    /// It was fetched but is not CSV as Athena writes it.
    Malformed(anyhow::Error),
}

/// Athena's hidden column: the S3 object a row was read from.
pub const PATH_COLUMN: &str = "$path";

/// The distinct `"$path"`s (column `at`) of objects-mode rows, in first-seen order.
fn distinct_paths(rows: &[Row], at: usize) -> Vec<String> {
    let mut seen = std::collections::HashSet::new();
    rows.iter()
        .filter_map(|r| r.get(at).cloned().flatten())
        .filter(|p| seen.insert(p.clone()))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls() {
        let u = AthenaUrl::parse("athena://Trails.CloudTrail_Logs").unwrap();
        assert_eq!(
            u,
            AthenaUrl {
                catalog: DEFAULT_CATALOG.into(),
                database: "trails".into(),
                table: "cloudtrail_logs".into(),
                workgroup: "primary".into(),
                output: None,
                mode: Mode::Objects,
            }
        );
        let u = AthenaUrl::parse(
            "athena://db.t?workgroup=wg&output=s3%3A%2F%2Fres%2Fathena&catalog=other&mode=columns",
        )
        .unwrap();
        assert_eq!(u.workgroup, "wg");
        assert_eq!(u.output.as_deref(), Some("s3://res/athena/"));
        assert_eq!(u.catalog, "other");
        assert_eq!(u.mode, Mode::Columns);
        for (bad, says) in [
            ("athena://db", "DATABASE.TABLE"),
            ("athena://db.", "not a table name"),
            ("athena://d b.t", "not a database name"),
            ("athena://db.t?output=/tmp/x", "s3:// location"),
            ("athena://db.t?mode=rows", "'objects'"),
            ("athena://db.t?limit=3", "unknown parameter 'limit'"),
            ("athena://db.t?workgroup=", "no value"),
        ] {
            let e = AthenaUrl::parse(bad).unwrap_err().to_string();
            assert!(e.contains(says), "{bad}: {e}");
        }
    }

    #[test]
    fn prices() {
        // 10 MB minimum, rounded up to the MB, $5 per TB
        assert_eq!(cost_usd(0), cost_usd(10 << 20));
        assert_eq!(cost_usd(1 << 40), 5.0);
        assert!(cost_usd((10 << 20) + 1) > cost_usd(10 << 20));
    }

    #[test]
    fn objects_are_read_once_in_first_seen_order() {
        let r = |id: &str, p: &str| vec![Some(id.to_owned()), Some(p.to_owned())];
        let rows = vec![
            r("1", "s3://b/k2"),
            r("2", "s3://b/k1"),
            r("3", "s3://b/k2"),
            vec![Some("4".into()), None],
        ];
        assert_eq!(distinct_paths(&rows, 1), ["s3://b/k2", "s3://b/k1"]);
    }
}
