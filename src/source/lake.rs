//! `lake://EVENT_DATA_STORE` (an event data store's ID or ARN): the selection pushed down to
//! CloudTrail Lake, for customers who already have event data stores (Lake takes no new
//! customers since 2026-05-31; `athena://` is the primary backend).
//!
//! The store must be `ENABLED` (`GetEventDataStore`). The command's selection becomes one
//! Lake SQL statement that selects each event's `eventJson`; `StartQuery` is held to one
//! call a second (the documented rate) across the run; `DescribeQuery` is polled with
//! backoff until `FINISHED` (`FAILED`, `CANCELLED` and `TIMED_OUT` end the run with Lake's
//! message; Ctrl-C cancels the query); `GetQueryResults` is paged on `NextToken`. Rows are
//! lists of one-key maps whose values are all strings: each row's `eventJson` becomes one
//! NDJSON line for the existing decoder, and the local selection, which the SQL equals or
//! is a superset of, keeps the events.

use std::fmt::Write as _;
use std::io;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::{anyhow, bail, Context as _, Result};
use aws_sdk_cloudtrail::types::{EventDataStoreStatus, QueryStatus};
use bytes::Bytes;
use chrono::{DateTime, Duration as ChronoDuration, Utc};
use tokio::sync::mpsc;
use tokio::time::Instant;

use super::channel::ChannelInput;
use super::pushdown::{access_denied, Ask, QuerySummary, Stats, Want};
use super::{Input, Inputs};
use crate::aws::{describe_sdk_error, AwsContext};
use crate::selection::record_filter::RecordFilter;
use crate::selection::{Window, CHANGE_EVENTS};

pub use super::pushdown::USD_PER_GB;

/// The documented StartQuery rate: one call a second.
const START_INTERVAL: Duration = Duration::from_secs(1);

/// `lake://ID` or `lake://arn:aws:cloudtrail:REGION:ACCOUNT:eventdatastore/ID`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LakeUrl {
    /// The ID or ARN, as given (both are accepted by the API).
    pub store: String,
    /// The ID: what the SQL's FROM names.
    pub id: String,
    /// From an ARN: the store's region.
    pub region: Option<String>,
}

impl LakeUrl {
    pub fn parse(s: &str) -> Result<LakeUrl> {
        let rest = s
            .strip_prefix("lake://")
            .ok_or_else(|| anyhow!("'{s}' is not a lake:// source"))?;
        let (id, region) = if let Some(arn) = rest.strip_prefix("arn:") {
            // arn:PARTITION:cloudtrail:REGION:ACCOUNT:eventdatastore/ID
            let parts: Vec<&str> = arn.splitn(5, ':').collect();
            let resource = parts.get(4).copied().unwrap_or_default();
            match (parts.get(1), resource.strip_prefix("eventdatastore/")) {
                (Some(&"cloudtrail"), Some(id)) => (id, parts.get(2).map(|r| (*r).to_owned())),
                _ => bail!("'{s}': not an event data store ARN (arn:aws:cloudtrail:REGION:ACCOUNT:eventdatastore/ID)"),
            }
        } else {
            (rest, None)
        };
        if id.is_empty() || !id.chars().all(|c| c.is_ascii_alphanumeric() || c == '-') {
            bail!("'{s}': name an event data store by its ID or ARN, e.g. lake://EXAMPLE-f852-4e8f-8bd1-bcf6cEXAMPLE");
        }
        Ok(LakeUrl {
            store: rest.to_owned(),
            id: id.to_owned(),
            region: region.filter(|r| !r.is_empty()),
        })
    }

    pub fn name(&self) -> String {
        format!("lake://{}", self.id)
    }
}

/// The price of a Lake query that scanned `bytes`.
pub fn cost_usd(bytes: u64) -> f64 {
    bytes as f64 / 1e9 * USD_PER_GB
}

/// One `lake://` SOURCE, checked and compiled, its query not started.
pub struct Prepared {
    url: LakeUrl,
    client: aws_sdk_cloudtrail::Client,
    sql: String,
    max_scan: Option<u64>,
    stats: Arc<Stats>,
}

/// Checks that the store exists and is enabled, and compiles the statement.
pub fn prepare(
    ctx: &Arc<AwsContext>,
    url: &LakeUrl,
    window: &Window,
    ask: &Ask<'_>,
    stats: &Arc<Stats>,
) -> Result<Prepared> {
    let mut b = aws_sdk_cloudtrail::config::Builder::from(&ctx.config);
    if let Some(r) = &url.region {
        b = b.region(aws_config::Region::new(r.clone()));
    }
    let client = aws_sdk_cloudtrail::Client::from_conf(b.build());
    ctx.block_on(async {
        let out = client
            .get_event_data_store()
            .event_data_store(&url.store)
            .send()
            .await
            .map_err(|e| {
                let missing = e
                    .as_service_error()
                    .is_some_and(|s| s.is_event_data_store_not_found_exception());
                if missing {
                    anyhow!("no such event data store")
                } else {
                    anyhow!("{}", describe_sdk_error(&e, "cloudtrail:GetEventDataStore"))
                }
            })?;
        match out.status() {
            Some(EventDataStoreStatus::Enabled) => Ok(()),
            other => bail!(
                "the event data store is {}: only an ENABLED store can be queried",
                other.map_or("of unknown status", |s| s.as_str())
            ),
        }
    })
    .with_context(|| url.name())?;
    let sql = compile(&url.id, window, &ask.want)?;
    Ok(Prepared {
        url: url.clone(),
        client,
        sql,
        max_scan: ask.max_scan,
        stats: stats.clone(),
    })
}

/// When the last StartQuery of this process was sent (the rate is per account).
static LAST_START: Mutex<Option<std::time::Instant>> = Mutex::new(None);

async fn pace_start() {
    let wait = {
        let mut last = LAST_START
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let now = std::time::Instant::now();
        let at = last.map_or(now, |l| (l + START_INTERVAL).max(now));
        *last = Some(at);
        at - now
    };
    if !wait.is_zero() {
        tokio::time::sleep(wait).await;
    }
}

impl Prepared {
    pub fn name(&self) -> String {
        self.url.name()
    }

    pub fn sql(&self) -> &str {
        &self.sql
    }

    /// Runs the query and appends one input holding its events as NDJSON, streamed page
    /// by page.
    pub async fn run(self, inputs: Arc<Inputs>) -> Result<()> {
        let name = self.url.name();
        pace_start().await;
        let id = self
            .client
            .start_query()
            .query_statement(&self.sql)
            .send()
            .await
            .map_err(|e| {
                anyhow!(
                    "{name}: cannot start the query: {}",
                    describe_sdk_error(&e, "cloudtrail:StartQuery")
                )
            })?
            .query_id()
            .map(str::to_owned)
            .ok_or_else(|| anyhow!("{name}: StartQuery returned no query id"))?;
        let scanned = match self
            .wait(&id)
            .await
            .with_context(|| format!("{name}: query {id}"))?
        {
            Some(bytes) => bytes,
            None => return Ok(()), // stopped by Ctrl-C
        };
        let (tx, rx) = mpsc::channel::<io::Result<Bytes>>(4);
        inputs.push(Input::Remote(Arc::new(ChannelInput::new(
            format!("{name} (query {id})"),
            rx,
        ))));
        let rows = self.stream(&id, &tx).await;
        if let Err(e) = &rows {
            let _ = tx.send(Err(io::Error::other(format!("{e:#}")))).await;
        }
        if let Ok(mut q) = self.stats.queries.lock() {
            q.push(QuerySummary {
                source: name,
                query_execution_id: id,
                mode: "events",
                data_scanned_bytes: scanned,
                cost_usd: cost_usd(scanned),
                rows: *rows.as_ref().unwrap_or(&0),
                objects: None,
                lost: None,
            });
        }
        Ok(())
    }

    /// Polls `DescribeQuery` until the query ends: the bytes it scanned when it finished,
    /// `None` when Ctrl-C cancelled it, an error when it failed, was cancelled, timed out
    /// or passed `--max-scan`.
    async fn wait(&self, id: &str) -> Result<Option<u64>> {
        let mut delay = Duration::from_millis(200);
        loop {
            if crate::interrupt::requested() {
                self.cancel(id).await;
                return Ok(None);
            }
            let out = self
                .client
                .describe_query()
                .query_id(id)
                .send()
                .await
                .map_err(|e| anyhow!("{}", describe_sdk_error(&e, "cloudtrail:DescribeQuery")))?;
            let scanned = out
                .query_statistics()
                .and_then(|s| s.bytes_scanned())
                .unwrap_or(0)
                .max(0) as u64;
            let message = out.error_message().unwrap_or("no reason given");
            match out.query_status() {
                Some(QueryStatus::Finished) => return Ok(Some(scanned)),
                Some(QueryStatus::Failed) => bail!("failed: {message}"),
                Some(QueryStatus::Cancelled) => bail!("was cancelled: {message}"),
                Some(QueryStatus::TimedOut) => bail!("timed out: {message}"),
                _ => {}
            }
            if let Some(max) = self.max_scan.filter(|m| scanned > *m) {
                self.cancel(id).await;
                bail!("stopped: it had scanned {scanned} bytes, more than --max-scan {max}");
            }
            tokio::time::sleep(delay).await;
            delay = (delay * 3 / 2).min(Duration::from_secs(2));
        }
    }

    async fn cancel(&self, id: &str) {
        let _ = self.client.cancel_query().query_id(id).send().await;
    }

    /// Pages `GetQueryResults` on `NextToken`, each row's `eventJson` one line into `tx`;
    /// the number of rows.
    async fn stream(&self, id: &str, tx: &mpsc::Sender<io::Result<Bytes>>) -> Result<u64> {
        let mut token: Option<String> = None;
        let mut rows = 0u64;
        let started = Instant::now();
        loop {
            let out = self
                .client
                .get_query_results()
                .query_id(id)
                .set_next_token(token.clone())
                .send()
                .await
                .map_err(|e| anyhow!("{}", describe_sdk_error(&e, "cloudtrail:GetQueryResults")))?;
            let mut text = Vec::new();
            for row in out.query_result_rows() {
                let json = row
                    .iter()
                    .flat_map(|cell| cell.iter())
                    .find_map(|(k, v)| k.eq_ignore_ascii_case("eventJson").then_some(v))
                    .ok_or_else(|| anyhow!("a result row has no eventJson"))?;
                text.extend_from_slice(json.trim().as_bytes());
                text.push(b'\n');
                rows += 1;
            }
            if !text.is_empty() && tx.send(Ok(Bytes::from(text))).await.is_err() {
                return Ok(rows); // the reader is gone (cancelled)
            }
            match out.next_token() {
                Some(t) if !t.is_empty() && token.as_deref() != Some(t) => {
                    token = Some(t.to_owned())
                }
                _ => break,
            }
            if started.elapsed() > Duration::from_secs(24 * 3600) {
                bail!("still paging after a day");
            }
        }
        Ok(rows)
    }
}

/// A SQL string literal (quotes doubled).
fn lit(s: &str) -> String {
    format!("'{}'", s.replace('\'', "''"))
}

/// Lake's timestamp literal, to the second: `since` rounded down, `until` up, so the
/// statement selects a superset that the local window then trims.
fn time_lit(t: DateTime<Utc>, up: bool) -> String {
    let secs = if up && t.timestamp_subsec_nanos() > 0 {
        t + ChronoDuration::seconds(1)
    } else {
        t
    };
    lit(&secs.format("%Y-%m-%d %H:%M:%S").to_string())
}

fn in_list(column: &str, values: &[String]) -> String {
    let v: Vec<String> = values.iter().map(|v| lit(v)).collect();
    format!("{column} IN ({})", v.join(", "))
}

/// The window's account and region conditions (account: the trail's recipient, else the
/// caller's, as the local selection reads it).
fn scope(window: &Window) -> Vec<String> {
    let mut c = Vec::new();
    if !window.accounts.is_empty() {
        c.push(in_list(
            "COALESCE(recipientAccountId, userIdentity.accountId)",
            &window.accounts,
        ));
    }
    if !window.regions.is_empty() {
        c.push(in_list("awsRegion", &window.regions));
    }
    c
}

/// Globs as a condition on `column`: exact values with `=`/`IN`, wildcards with `LIKE`
/// when the text has no `%` or `_` of its own; `None` when some pattern cannot be pushed
/// down (the local filter then does all of it).
fn globs(column: &str, patterns: &[String]) -> Option<String> {
    if patterns.is_empty() {
        return None;
    }
    let mut any = Vec::new();
    for p in patterns {
        if !p.contains(['*', '?']) {
            any.push(format!("{column} = {}", lit(p)));
        } else if p.contains(['%', '_']) {
            return None;
        } else {
            any.push(format!(
                "{column} LIKE {}",
                lit(&p.replace('*', "%").replace('?', "_"))
            ));
        }
    }
    Some(format!("({})", any.join(" OR ")))
}

/// The Lake SQL of a run: `SELECT eventJson FROM <store> WHERE …`.
pub fn compile(store_id: &str, window: &Window, want: &Want<'_>) -> Result<String> {
    let (Some(since), Some(until)) = (window.since, window.until) else {
        bail!("lake:// needs a time window");
    };
    let mut sql = format!("SELECT eventJson FROM {store_id} WHERE ");
    match want {
        Want::Explain { lookback } => {
            let mut in_window = vec![
                format!("eventTime >= {}", time_lit(since, false)),
                format!("eventTime <= {}", time_lit(until, true)),
            ];
            in_window.extend(scope(window));
            let denied = format!(
                "({} OR (eventName = 'AssumeRole' AND errorCode = 'ValidationError'))",
                access_denied("errorCode")
            );
            // a successful AssumeRole that carried session tags
            let tagged = "(eventName = 'AssumeRole' AND eventSource = 'sts.amazonaws.com' AND (errorCode IS NULL OR errorCode = '') AND (element_at(requestParameters, 'tags') IS NOT NULL OR element_at(requestParameters, 'incomingTransitiveTags') IS NOT NULL))";
            let mut changes = Vec::new();
            for (sources, names) in CHANGE_EVENTS {
                let s: Vec<String> = sources.iter().map(|s| (*s).to_owned()).collect();
                let n: Vec<String> = names.iter().map(|n| (*n).to_owned()).collect();
                changes.push(format!(
                    "({} AND {})",
                    in_list("eventSource", &s),
                    in_list("eventName", &n)
                ));
            }
            let _ = write!(
                sql,
                "(({}) AND (eventName = 'AssumeRoleWithWebIdentity' OR (userIdentity.type = 'AssumedRole' AND {denied}) OR {tagged})) \
                 OR (eventTime >= {} AND eventTime <= {} AND (errorCode IS NULL OR errorCode = '') AND ({}))",
                in_window.join(" AND "),
                time_lit(since - *lookback, false),
                time_lit(until, true),
                changes.join(" OR ")
            );
        }
        Want::Query(filter) => {
            let mut c = vec![
                format!("eventTime >= {}", time_lit(since, false)),
                format!("eventTime <= {}", time_lit(until, true)),
            ];
            c.extend(scope(window));
            c.extend(query_conditions(filter));
            sql.push_str(&c.join(" AND "));
        }
    }
    Ok(sql)
}

/// The typed filters that map onto Lake's columns (the rest stays local).
fn query_conditions(f: &RecordFilter) -> Vec<String> {
    let mut c = Vec::new();
    let names = |g: &crate::selection::record_filter::Globs| g.patterns().to_vec();
    c.extend(globs("eventName", &names(&f.event_name)));
    c.extend(globs("eventSource", &names(&f.event_source)));
    c.extend(globs("errorCode", &names(&f.error_code)));
    if f.errors_only {
        c.push("errorCode IS NOT NULL AND errorCode <> ''".to_owned());
    }
    c
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn urls() {
        let u = LakeUrl::parse("lake://EXAMPLE-f852-4e8f").unwrap();
        assert_eq!((u.id.as_str(), u.region), ("EXAMPLE-f852-4e8f", None));
        let u =
            LakeUrl::parse("lake://arn:aws:cloudtrail:eu-west-1:111122223333:eventdatastore/abc-1")
                .unwrap();
        assert_eq!(u.id, "abc-1");
        assert_eq!(u.region.as_deref(), Some("eu-west-1"));
        assert_eq!(
            u.store,
            "arn:aws:cloudtrail:eu-west-1:111122223333:eventdatastore/abc-1"
        );
        for bad in [
            "lake://",
            "lake://a b",
            "lake://x;DROP",
            "lake://arn:aws:s3:::b",
        ] {
            assert!(LakeUrl::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn statements_quote_what_users_give() {
        let w = Window {
            since: Some(Utc.with_ymd_and_hms(2026, 11, 1, 10, 0, 0).unwrap()),
            until: Some(
                Utc.with_ymd_and_hms(2026, 11, 1, 12, 0, 0).unwrap()
                    + ChronoDuration::milliseconds(5),
            ),
            accounts: vec!["111122223333".into()],
            regions: vec!["us-east-1' OR '1'='1".into()],
        };
        let sql = compile(
            "store-1",
            &w,
            &Want::Explain {
                lookback: ChronoDuration::days(90),
            },
        )
        .unwrap();
        assert!(
            sql.starts_with("SELECT eventJson FROM store-1 WHERE "),
            "{sql}"
        );
        assert!(
            sql.contains("awsRegion IN ('us-east-1'' OR ''1''=''1')"),
            "{sql}"
        );
        assert!(sql.contains("eventTime <= '2026-11-01 12:00:01'"), "{sql}");
        assert!(sql.contains("eventTime >= '2026-08-03 10:00:00'"), "{sql}");
        let f = RecordFilter {
            event_name: crate::selection::record_filter::Globs::new(&[
                "Get*".into(),
                "Put_X*".into(),
            ]),
            error_code: crate::selection::record_filter::Globs::new(&["AccessDenied".into()]),
            errors_only: true,
            window: w.clone(),
            ..RecordFilter::default()
        };
        let sql = compile("s", &w, &Want::Query(&f)).unwrap();
        // a pattern with its own '_' is not pushed down: the name filter stays local
        assert!(!sql.contains("eventName"), "{sql}");
        assert!(sql.contains("(errorCode = 'AccessDenied')"), "{sql}");
        assert!(sql.contains("errorCode IS NOT NULL"), "{sql}");
    }
}
