//! The command's selection compiled into one SQL statement for Athena engine version 3
//! (Trino dialect), and the rows of columns mode rebuilt into CloudTrail records.
//!
//! [`compile`] takes a table's [`Shape`] and a [`Plan`] (the window, what the command wants,
//! the mode) and returns a [`Statement`]: the SQL text, its result columns in order, warnings
//! for the user, and the number of partitions its predicates allow when that is known
//! beforehand (for `--max-scan`). It performs no IO.
//!
//! # What is selected
//!
//! - [`Want::Explain`] keeps what `select::Selector::select` keeps, in one `SELECT` whose
//!   row predicate is the disjunction of two arms. The first arm is the window's
//!   partitions (days from `since` to `until + delivery_lag`, `--account`, `--region`) and
//!   in them every `AssumeRoleWithWebIdentity` (failed or not) and every failed call of a
//!   role session (`useridentity.type = 'AssumedRole'` with an access-denied error code, or
//!   `AssumeRole` failing with `ValidationError`). The second is the change events
//!   (`CHANGE_EVENTS`, each name from its own sources, no error code) of *every* account and
//!   region, from `since - lookback` to `until`: locally, change events ignore the window,
//!   since the policy history is needed from before it; in Athena the lookback bounds what
//!   is scanned. The two arms are disjoint (the first needs the web-identity name or an
//!   error code; the second needs another name and no error code), so `OR` returns what a
//!   `UNION ALL` of them would. One `SELECT` because Athena bills the bytes it scans and
//!   reads JSON objects whole: a `UNION ALL` would scan every object of the window's days
//!   twice.
//! - [`Want::Query`] keeps a superset of what `query::filter::CompiledFilter::matches` keeps
//!   (the caller re-reads and filters every record again). Exact: `--event-name`,
//!   `--event-source`, `--error-code` (IAM wildcards `*`/`?`, case-sensitive, as `LIKE …
//!   ESCAPE '!'`), `--errors-only`, `--principal`, the window, `--account`, `--region`.
//!   Supersets: `--sub` (a numeric `subjectFromWebIdentityToken` also matches) and `--role`
//!   (a role *name* pattern is matched against any ARN ending in `/NAME`, not only IAM role
//!   ARNs). The filter's own `window` is not read: the plan's window is the window.
//!
//! Every account is `coalesce(recipientaccountid, useridentity.accountid)`, as locally; an
//! empty error code counts as none.
//!
//! # Partition predicates
//!
//! The statement is `SELECT … FROM table WHERE <union> AND ((<arm 1>) OR (<arm 2>))`. The
//! top-level `<union>` holds one predicate per partition key (the year, month and day keys
//! share one): the partitions of every arm together, which for explain are the change arm's
//! (the days from `since - lookback` to `until + delivery_lag`, every account and region,
//! so no predicate on those keys but an injected key's `--account`/`--region` list). Each
//! arm repeats, inside its disjunct, the partition predicates of its own that differ from
//! the top level's (explain's window arm: its days, `--account`, `--region`), so it stays
//! exact. Trino derives the partitions to read per key from the whole predicate (the top
//! level's domain intersected with the union of the disjuncts'), which comes to the same
//! union; the top level states it outright, so partition projection prunes even where it
//! would not look inside an `OR`, and an injected key's values are always at the top level.
//! [`Statement::partitions`] counts the union's partitions (each is read once). A single arm
//! (query) is plain `WHERE <partitions> AND <rows>`.
//!
//! # The time predicate
//!
//! CloudTrail writes `eventTime` as `YYYY-MM-DDTHH:MM:SSZ`; strings of that shape sort as
//! their instants, so the window is a string range on `eventtime` (exact for them). Anything
//! else that RFC 3339 allows (fractions, offsets) is kept when its date is within a day of
//! the window (a superset the local check narrows). No timestamp parsing happens in SQL:
//! Trino's `from_iso8601_timestamp` fails the whole query on one malformed value.
//!
//! # Dialect
//!
//! Besides `LIKE … ESCAPE`, `IN`, `COALESCE`, `CAST(… AS JSON)`, `chr` and `||`, the only
//! non-standard function is `json_extract_scalar` (for `--sub` and `--role`). Every
//! identifier is quoted; every value is a literal with `'` doubled and control characters
//! spelled `chr(N)`.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use anyhow::{anyhow, bail, Result};
use chrono::{DateTime, Datelike, Duration, NaiveDate, Timelike, Utc};
use serde_json::{Map, Value};

use super::table::{range_end, DateFormat, Meaning, PartitionKey, Projection, Shape};
use crate::selection::{Window, CHANGE_EVENTS};
pub use crate::source::pushdown::{access_denied, literal, Want};

/// What each result row holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// `eventid` and `"$path"`: the caller reads those objects and keeps those events.
    Objects,
    /// The event's columns, for [`rebuild`].
    Columns,
}

/// One compilation's input.
#[derive(Debug, Clone, Copy)]
pub struct Plan<'a> {
    /// `since` and `until` must be set; `accounts` and `regions` as the flags say.
    pub window: &'a Window,
    pub want: Want<'a>,
    pub mode: Mode,
    /// How long after an event its file may be delivered: the day folders read run to the
    /// day of `until + delivery_lag` (as the `s3://` listing does).
    pub delivery_lag: Duration,
    /// The time `NOW` in projection ranges stands for (the query's start).
    pub now: DateTime<Utc>,
}

/// A compiled statement.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Statement {
    pub sql: String,
    /// The result columns in order: `eventid`, `$path` (objects mode) or the record paths
    /// [`rebuild`] takes (columns mode).
    pub columns: Vec<String>,
    /// For the user: things that make the result empty or narrower than a local scan.
    pub warnings: Vec<String>,
    /// How many partitions the predicates allow (each is read once, whichever arm wants
    /// it), when every partition key's values are known beforehand (projection, or the
    /// flags).
    pub partitions: Option<u64>,
}

/// What a record rebuilt from columns lacks, in one sentence.
pub const COLUMNS_MODE_LOSES: &str = "records rebuilt from Athena columns hold only the fields the CloudTrail table declares and trailwhy selects (no webIdFederationData, onBehalfOf, tlsDetails, eventCategory or sessionContext source identity; identityProvider is taken from principalId when the table lacks it) and their JSON fields are re-serialized, so they cannot be verified against digest files";

/// How a selected column becomes JSON again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Text,
    /// A JSON document stored as text (`requestparameters`).
    Json,
    /// `true`/`false` as text.
    Bool,
    /// `resources`, cast to JSON.
    Resources,
}

/// One column of columns mode: the record path (camelCase, `.`-separated), the table's
/// column path, how to rebuild it, and whether the local selection reads it.
struct Leaf {
    path: &'static str,
    kind: Kind,
    needed: bool,
}

const LEAVES: &[Leaf] = &[
    leaf("eventVersion", Kind::Text, false),
    leaf("userIdentity.type", Kind::Text, true),
    leaf("userIdentity.principalId", Kind::Text, true),
    leaf("userIdentity.arn", Kind::Text, true),
    leaf("userIdentity.accountId", Kind::Text, true),
    leaf("userIdentity.invokedBy", Kind::Text, true),
    leaf("userIdentity.accessKeyId", Kind::Text, true),
    leaf("userIdentity.userName", Kind::Text, true),
    leaf("userIdentity.identityProvider", Kind::Text, true),
    leaf(
        "userIdentity.sessionContext.attributes.mfaAuthenticated",
        Kind::Text,
        true,
    ),
    leaf(
        "userIdentity.sessionContext.attributes.creationDate",
        Kind::Text,
        true,
    ),
    leaf(
        "userIdentity.sessionContext.sessionIssuer.type",
        Kind::Text,
        true,
    ),
    leaf(
        "userIdentity.sessionContext.sessionIssuer.principalId",
        Kind::Text,
        true,
    ),
    leaf(
        "userIdentity.sessionContext.sessionIssuer.arn",
        Kind::Text,
        true,
    ),
    leaf(
        "userIdentity.sessionContext.sessionIssuer.accountId",
        Kind::Text,
        true,
    ),
    leaf(
        "userIdentity.sessionContext.sessionIssuer.userName",
        Kind::Text,
        true,
    ),
    leaf("eventTime", Kind::Text, true),
    leaf("eventSource", Kind::Text, true),
    leaf("eventName", Kind::Text, true),
    leaf("awsRegion", Kind::Text, true),
    leaf("sourceIPAddress", Kind::Text, false),
    leaf("userAgent", Kind::Text, true),
    leaf("errorCode", Kind::Text, true),
    leaf("errorMessage", Kind::Text, true),
    leaf("requestParameters", Kind::Json, true),
    leaf("responseElements", Kind::Json, true),
    leaf("additionalEventData", Kind::Json, false),
    leaf("requestID", Kind::Text, false),
    leaf("eventID", Kind::Text, true),
    leaf("resources", Kind::Resources, true),
    leaf("eventType", Kind::Text, false),
    leaf("apiVersion", Kind::Text, false),
    leaf("readOnly", Kind::Bool, false),
    leaf("recipientAccountId", Kind::Text, true),
    leaf("serviceEventDetails", Kind::Json, false),
    leaf("sharedEventID", Kind::Text, false),
    leaf("vpcEndpointId", Kind::Text, false),
];

const fn leaf(path: &'static str, kind: Kind, needed: bool) -> Leaf {
    Leaf { path, kind, needed }
}

/// The field order of `resources` elements, should the engine cast a row to a JSON array.
const RESOURCE_FIELDS: [&str; 3] = ["ARN", "accountId", "type"];

/// `"name"`, with `"` doubled.
pub fn ident(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// An IAM wildcard (`*` any run, `?` one character) as a `LIKE` pattern literal for
/// `ESCAPE '!'`.
pub fn like_pattern(glob: &str) -> String {
    let mut p = String::with_capacity(glob.len());
    for c in glob.chars() {
        match c {
            '*' => p.push('%'),
            '?' => p.push('_'),
            '%' | '_' | '!' => {
                p.push('!');
                p.push(c);
            }
            _ => p.push(c),
        }
    }
    literal(&p)
}

fn like(expr: &str, glob: &str) -> String {
    format!("{expr} LIKE {} ESCAPE '!'", like_pattern(glob))
}

fn like_any(expr: &str, globs: &[String]) -> String {
    let parts: Vec<String> = globs.iter().map(|g| like(expr, g)).collect();
    format!("({})", parts.join(" OR "))
}

fn in_list(expr: &str, values: impl IntoIterator<Item = String>) -> String {
    let v: Vec<String> = values.into_iter().collect();
    format!("{expr} IN ({})", v.join(", "))
}

fn col(path: &[&str]) -> String {
    path.iter().map(|p| ident(p)).collect::<Vec<_>>().join(".")
}

const ACCOUNT: &str = "COALESCE(\"recipientaccountid\", \"useridentity\".\"accountid\")";
const HAS_ERROR: &str = "(\"errorcode\" IS NOT NULL AND \"errorcode\" <> '')";
const NO_ERROR: &str = "(\"errorcode\" IS NULL OR \"errorcode\" = '')";
/// One disjunct of the statement's row predicate: its partitions and its row conditions.
struct Arm<'a> {
    label: &'static str,
    first: NaiveDate,
    last: NaiveDate,
    accounts: Option<&'a [String]>,
    regions: Option<&'a [String]>,
    rows: Vec<String>,
}

/// Compiles the plan for the table. Errors: no window, a column the statement needs is
/// missing, an injected partition key without the flag that gives its value.
pub fn compile(shape: &Shape, plan: &Plan<'_>) -> Result<Statement> {
    let w = plan.window;
    let (Some(since), Some(until)) = (w.since, w.until) else {
        bail!("an athena:// source needs a time window (--since and --until)");
    };
    if since > until {
        bail!("the window ends ({until}) before it starts ({since})");
    }
    let mut warnings = Vec::new();
    let (accounts, regions) = listed(w);
    let last = (until + plan.delivery_lag).date_naive();
    let mut window_rows = vec![time_predicate(since, until)];
    if let Some(a) = accounts {
        window_rows.push(in_list(ACCOUNT, a.iter().map(|v| literal(v))));
    }
    if let Some(r) = regions {
        window_rows.push(in_list("\"awsregion\"", r.iter().map(|v| literal(v))));
    }
    let mut needed: Vec<String> = [
        "eventtime",
        "eventname",
        "eventsource",
        "errorcode",
        "awsregion",
        "recipientaccountid",
        "useridentity",
        "eventid",
    ]
    .map(str::to_owned)
    .to_vec();
    let arms = match plan.want {
        Want::Explain { lookback } => explain_arms(w, (since, until, last), window_rows, lookback)?,
        Want::Query(f) => query_arms(w, (since, last), window_rows, f, &mut needed),
    };

    let (select, columns) = select_list(shape, plan.mode, &mut needed);
    for c in &needed {
        if !shape.columns.contains(c) {
            bail!(
                "table {}.{} has no column {c}: trailwhy reads the columns of AWS's CloudTrail table (`trailwhy athena ddl`)",
                shape.database,
                shape.table
            );
        }
    }

    let from = format!("{}.{}", ident(&shape.database), ident(&shape.table));
    // The partitions read are the union of the arms' (each object is scanned once): the
    // predicates of an arm covering every arm's days, accounts and regions, at the top level.
    let union_accounts = union_of(arms.iter().map(|a| a.accounts));
    let union_regions = union_of(arms.iter().map(|a| a.regions));
    let union = Arm {
        label: "the statement",
        first: arms
            .iter()
            .map(|a| a.first)
            .min()
            .unwrap_or(since.date_naive()),
        last: arms.iter().map(|a| a.last).max().unwrap_or(last),
        accounts: union_accounts.as_deref(),
        regions: union_regions.as_deref(),
        rows: Vec::new(),
    };
    // the arms' own calls give the warnings (with their labels); the union's only repeat them
    let (top, partitions) = partition_predicates(shape, &union, plan, &mut Vec::new())?;
    let mut conjuncts = top.clone();
    let mut disjuncts = Vec::new();
    for arm in &arms {
        let (preds, _) = partition_predicates(shape, arm, plan, &mut warnings)?;
        // an arm's partition predicate equal to the top level's adds nothing
        let own: Vec<String> = preds
            .into_iter()
            .filter(|p| !top.contains(p))
            .chain(arm.rows.iter().cloned())
            .collect();
        disjuncts.push(own);
    }
    if let [only] = disjuncts.as_slice() {
        conjuncts.extend(only.iter().cloned());
    } else {
        let arms: Vec<String> = disjuncts
            .iter()
            .map(|d| format!("({})", d.join("\n      AND ")))
            .collect();
        conjuncts.push(format!("({})", arms.join("\n    OR ")));
    }
    let sql = format!(
        "SELECT {select}\nFROM {from}\nWHERE {}",
        conjuncts.join("\n  AND ")
    );
    let mut seen = std::collections::HashSet::new();
    warnings.retain(|w| seen.insert(w.clone()));
    Ok(Statement {
        sql,
        columns,
        warnings,
        partitions,
    })
}

/// The arms of `explain`'s statement: the web-identity attempts and failed calls of role
/// sessions in the window, and the change events over the lookback before it.
fn explain_arms<'a>(
    window: &'a Window,
    (since, until, last): (DateTime<Utc>, DateTime<Utc>, NaiveDate),
    window_rows: Vec<String>,
    lookback: Duration,
) -> Result<Vec<Arm<'a>>> {
    let (accounts, regions) = listed(window);
    let denied = access_denied("\"errorcode\"");
    // a successful AssumeRole that carried session tags: what its session's calls are tagged
    let tagged = format!(
        "(\"eventname\" = 'AssumeRole' AND \"eventsource\" = 'sts.amazonaws.com' AND {NO_ERROR} AND (json_extract(\"requestparameters\", '$.tags') IS NOT NULL OR json_extract(\"requestparameters\", '$.incomingTransitiveTags') IS NOT NULL))"
    );
    let web_or_failure = format!(
        "(\"eventname\" = 'AssumeRoleWithWebIdentity' OR (\"eventname\" <> 'AssumeRoleWithWebIdentity' AND \"useridentity\".\"type\" = 'AssumedRole' AND ({denied} OR (\"eventname\" = 'AssumeRole' AND \"errorcode\" = 'ValidationError'))) OR {tagged})"
    );
    let mut first_rows = vec![web_or_failure];
    first_rows.extend(window_rows);
    let from = since
        .checked_sub_signed(lookback)
        .ok_or_else(|| anyhow!("the change-event lookback reaches before year 1"))?;
    let mut changes = Vec::new();
    for (sources, names) in CHANGE_EVENTS {
        changes.push(format!(
            "({} AND {})",
            in_list("\"eventsource\"", sources.iter().map(|s| literal(s))),
            in_list("\"eventname\"", names.iter().map(|n| literal(n)))
        ));
    }
    let change_rows = vec![
        NO_ERROR.to_owned(),
        format!("({})", changes.join(" OR ")),
        time_predicate(from, until),
    ];
    Ok(vec![
        Arm {
            label: "the window",
            first: since.date_naive(),
            last,
            accounts,
            regions,
            rows: first_rows,
        },
        Arm {
            label: "the change-event lookback",
            first: from.date_naive(),
            last,
            accounts: None,
            regions: None,
            rows: change_rows,
        },
    ])
}

/// The one arm of `query`'s statement: its typed filters, in the window.
fn query_arms<'a>(
    window: &'a Window,
    (since, last): (DateTime<Utc>, NaiveDate),
    window_rows: Vec<String>,
    f: &crate::selection::record_filter::RecordFilter,
    needed: &mut Vec<String>,
) -> Vec<Arm<'a>> {
    let (accounts, regions) = listed(window);
    let mut rows = Vec::new();
    if f.errors_only {
        rows.push(HAS_ERROR.to_owned());
    }
    if let Some(g) = globs(&f.event_name) {
        rows.push(like_any("\"eventname\"", &g));
    }
    if let Some(g) = globs(&f.event_source) {
        rows.push(like_any("\"eventsource\"", &g));
    }
    if let Some(g) = globs(&f.error_code) {
        rows.push(format!("{HAS_ERROR} AND {}", like_any("\"errorcode\"", &g)));
    }
    if let Some(g) = globs(&f.principal) {
        rows.push(format!(
            "({} OR {})",
            like_any("\"useridentity\".\"arn\"", &g),
            like_any("\"useridentity\".\"principalid\"", &g)
        ));
    }
    if let Some(g) = globs(&f.sub) {
        needed.push("responseelements".to_owned());
        rows.push(format!(
            "((\"useridentity\".\"type\" = 'WebIdentityUser' AND {}) OR {})",
            like_any("\"useridentity\".\"username\"", &g),
            like_any(
                "json_extract_scalar(\"responseelements\", '$.subjectFromWebIdentityToken')",
                &g
            )
        ));
    }
    if let Some(g) = globs(&f.role) {
        needed.push("requestparameters".to_owned());
        let issuer = "\"useridentity\".\"sessioncontext\".\"sessionissuer\"";
        let role_arn = "json_extract_scalar(\"requestparameters\", '$.roleArn')";
        let by_name: Vec<String> = g.iter().map(|p| format!("*/{p}")).collect();
        rows.push(format!(
            "({} OR {} OR {} OR {} OR {})",
            like_any(&format!("{issuer}.\"arn\""), &g),
            like_any(&format!("{issuer}.\"arn\""), &by_name),
            like_any(&format!("{issuer}.\"username\""), &g),
            like_any(role_arn, &g),
            like_any(role_arn, &by_name),
        ));
    }
    rows.extend(window_rows);
    vec![Arm {
        label: "the window",
        first: since.date_naive(),
        last,
        accounts,
        regions,
        rows,
    }]
}

/// The SELECT list and the column names of the rows it returns; the columns the rows need
/// from the table are added to `needed`.
fn select_list(shape: &Shape, mode: Mode, needed: &mut Vec<String>) -> (String, Vec<String>) {
    match mode {
        Mode::Objects => (
            format!("{}, {}", ident("eventid"), ident("$path")),
            vec!["eventid".to_owned(), "$path".to_owned()],
        ),
        Mode::Columns => {
            let mut exprs = Vec::new();
            let mut cols = Vec::new();
            for l in LEAVES {
                let path: Vec<String> = l.path.split('.').map(str::to_ascii_lowercase).collect();
                if l.path == "userIdentity.identityProvider" && !shape.has_identity_provider {
                    continue;
                }
                if !shape.columns.contains(&path[0]) {
                    if l.needed {
                        needed.push(path[0].clone());
                    }
                    continue;
                }
                let parts: Vec<&str> = path.iter().map(String::as_str).collect();
                let expr = match l.kind {
                    Kind::Resources => format!("CAST({} AS JSON)", col(&parts)),
                    _ => col(&parts),
                };
                exprs.push(format!("{expr} AS {}", ident(&path.join("."))));
                cols.push(l.path.to_owned());
            }
            (exprs.join(", "), cols)
        }
    }
}

/// The window's accounts and regions, `None` for every one.
fn listed(w: &Window) -> (Option<&[String]>, Option<&[String]>) {
    (
        (!w.accounts.is_empty()).then_some(w.accounts.as_slice()),
        (!w.regions.is_empty()).then_some(w.regions.as_slice()),
    )
}

/// The union of the arms' listed values: `None` (every value) when an arm lists none.
fn union_of<'a>(lists: impl Iterator<Item = Option<&'a [String]>>) -> Option<Vec<String>> {
    let mut out: Vec<String> = Vec::new();
    for l in lists {
        for v in l? {
            if !out.contains(v) {
                out.push(v.clone());
            }
        }
    }
    Some(out)
}

fn globs(g: &crate::selection::record_filter::Globs) -> Option<Vec<String>> {
    (!g.is_empty()).then(|| g.patterns().to_vec())
}

/// `eventtime` within `[since, until]`: exact for CloudTrail's own spelling, a day's margin
/// for any other (see the module's documentation).
fn time_predicate(since: DateTime<Utc>, until: DateTime<Utc>) -> String {
    // canonical strings carry whole seconds: t >= since ⇔ t >= ceil(since), t <= until ⇔
    // t <= floor(until)
    let floor = |t: DateTime<Utc>| t.with_nanosecond(0).unwrap_or(t);
    let ceil = |t: DateTime<Utc>| {
        if t.nanosecond() == 0 {
            t
        } else {
            floor(t) + Duration::seconds(1)
        }
    };
    let fmt = |t: DateTime<Utc>| t.format("%Y-%m-%dT%H:%M:%SZ").to_string();
    let day = |d: NaiveDate| d.format("%Y-%m-%d").to_string();
    let lo = since.date_naive().pred_opt().unwrap_or(since.date_naive());
    let hi = until
        .date_naive()
        .succ_opt()
        .and_then(|d| d.succ_opt())
        .unwrap_or(until.date_naive());
    format!(
        "(\"eventtime\" BETWEEN {} AND {} OR (\"eventtime\" NOT LIKE '____-__-__T__:__:__Z' AND \"eventtime\" >= {} AND \"eventtime\" < {}))",
        literal(&fmt(ceil(since))),
        literal(&fmt(floor(until))),
        literal(&day(lo)),
        literal(&day(hi)),
    )
}

/// A key's value as SQL: a number for integer keys, else a string literal.
fn value(key: &PartitionKey, text: &str) -> String {
    if key.numeric && !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit()) {
        let t = text.trim_start_matches('0');
        if t.is_empty() {
            "0".to_owned()
        } else {
            t.to_owned()
        }
    } else {
        literal(text)
    }
}

fn number(key: &PartitionKey, n: u32, width: usize, padded: bool) -> String {
    if key.numeric {
        n.to_string()
    } else if padded {
        literal(&format!("{n:0width$}"))
    } else {
        literal(&n.to_string())
    }
}

fn days(first: NaiveDate, last: NaiveDate) -> Vec<NaiveDate> {
    first.iter_days().take_while(|d| *d <= last).collect()
}

/// The predicate of a date partition key over the arm's days, and how many of those days
/// its projection's range holds.
fn date_key(
    key: &PartitionKey,
    format: &DateFormat,
    (arm, plan): (&Arm<'_>, &Plan<'_>),
    all_days: &[NaiveDate],
    table: &str,
    warnings: &mut Vec<String>,
) -> (String, u64) {
    let k = ident(&key.name);
    let mut in_range = all_days.to_vec();
    if let Projection::Date { start, end } = &key.projection {
        let lo = range_end(start, format, plan.now);
        let hi = range_end(end, format, plan.now);
        if let Some(lo) = lo {
            if arm.first < lo {
                warnings.push(format!(
                    "{} starts on {}, before projection.{}.range of {table} ({start},{end}): Athena returns nothing before {lo}",
                    arm.label, arm.first, key.name.to_ascii_lowercase()
                ));
            }
        }
        if let Some(hi) = hi {
            if arm.last > hi {
                warnings.push(format!(
                    "{} ends on {}, after projection.{}.range of {table} ({start},{end}): Athena returns nothing after {hi}",
                    arm.label, arm.last, key.name.to_ascii_lowercase()
                ));
            }
        }
        in_range.retain(|d| lo.is_none_or(|lo| *d >= lo) && hi.is_none_or(|hi| *d <= hi));
    }
    let spelled: Vec<String> = all_days.iter().map(|d| format.format(*d)).collect();
    let use_between = format.sorts_by_date()
        && !matches!(key.projection, Projection::Injected | Projection::Enum(_))
        && !key.numeric;
    let pred = match (use_between, spelled.first(), spelled.last()) {
        (true, Some(a), Some(b)) if a != b => {
            format!("{k} BETWEEN {} AND {}", literal(a), literal(b))
        }
        _ => in_list(&k, spelled.iter().map(|s| value(key, s))),
    };
    (pred, in_range.len() as u64)
}

/// The predicate of year / month / day partition keys (one disjunct per year and month,
/// the days as a range) and how many of their value tuples the days in range make; `None`
/// without a year key.
fn year_month_day(
    shape: &Shape,
    arm: &Arm<'_>,
    all_days: &[NaiveDate],
    table: &str,
    warnings: &mut Vec<String>,
) -> Option<(String, u64)> {
    let year = shape.keys.iter().find(|k| k.meaning == Meaning::Year);
    let month = shape
        .keys
        .iter()
        .find(|k| matches!(k.meaning, Meaning::Month { .. }));
    let day = shape
        .keys
        .iter()
        .find(|k| matches!(k.meaning, Meaning::Day { .. }));
    let y = year?;
    let mut in_range = all_days.to_vec();
    if let Projection::Integer { start, end } = y.projection {
        let first_year = i64::from(arm.first.year());
        let last_year = i64::from(arm.last.year());
        if first_year < start || last_year > end {
            warnings.push(format!(
                "{} ({} to {}) falls outside projection.{}.range of {table} ({start},{end}): Athena returns nothing there",
                arm.label, arm.first, arm.last, y.name.to_ascii_lowercase()
            ));
        }
        in_range.retain(|d| (start..=end).contains(&i64::from(d.year())));
    }
    let mut groups: BTreeMap<(i32, u32), Vec<u32>> = BTreeMap::new();
    for d in all_days {
        groups
            .entry((d.year(), if month.is_some() { d.month() } else { 0 }))
            .or_default()
            .push(d.day());
    }
    let yk = ident(&y.name);
    let yv = |n: i32| number(y, u32::try_from(n).unwrap_or(0), 4, true);
    let pred = if let Some(m) = month {
        let mk = ident(&m.name);
        let m_padded = matches!(m.meaning, Meaning::Month { padded: true });
        let mut disjuncts = Vec::new();
        for ((yy, mm), ds) in &groups {
            let mut d = format!(
                "{yk} = {} AND {mk} = {}",
                yv(*yy),
                number(m, *mm, 2, m_padded)
            );
            if let Some(dk) = day {
                let padded = matches!(dk.meaning, Meaning::Day { padded: true });
                let name = ident(&dk.name);
                let between = (dk.numeric || padded) && dk.projection != Projection::Injected;
                let (lo, hi) = (ds[0], ds[ds.len() - 1]);
                if between && lo != hi {
                    let _ = write!(
                        d,
                        " AND {name} BETWEEN {} AND {}",
                        number(dk, lo, 2, padded),
                        number(dk, hi, 2, padded)
                    );
                } else {
                    let _ = write!(
                        d,
                        " AND {}",
                        in_list(&name, ds.iter().map(|n| number(dk, *n, 2, padded)))
                    );
                }
            }
            disjuncts.push(format!("({d})"));
        }
        format!("({})", disjuncts.join(" OR "))
    } else {
        let years: std::collections::BTreeSet<i32> = all_days.iter().map(|d| d.year()).collect();
        in_list(&yk, years.into_iter().map(yv))
    };
    let tuples: std::collections::BTreeSet<(i32, u32, u32)> = in_range
        .iter()
        .map(|d| {
            (
                d.year(),
                if month.is_some() { d.month() } else { 0 },
                if month.is_some() && day.is_some() {
                    d.day()
                } else {
                    0
                },
            )
        })
        .collect();
    Some((pred, tuples.len() as u64))
}

/// The partition predicates of one arm and the number of partitions they allow.
fn partition_predicates(
    shape: &Shape,
    arm: &Arm<'_>,
    plan: &Plan<'_>,
    warnings: &mut Vec<String>,
) -> Result<(Vec<String>, Option<u64>)> {
    let table = format!("{}.{}", shape.database, shape.table);
    let mut preds = Vec::new();
    let mut count: Option<u64> = Some(1);
    let mut times = |n: Option<u64>| {
        count = match (count, n) {
            (Some(a), Some(b)) => a.checked_mul(b),
            _ => None,
        }
    };
    let all_days = days(arm.first, arm.last);

    for (flag, fixed, wanted) in [
        (
            "--account",
            &shape.fixed_account,
            plan.window.accounts.as_slice(),
        ),
        (
            "--region",
            &shape.fixed_region,
            plan.window.regions.as_slice(),
        ),
    ] {
        if let Some(f) = fixed {
            if !wanted.is_empty() && !wanted.contains(f) {
                warnings.push(format!(
                    "table {table} holds the logs of {f} only (its location says so): {flag} {} finds nothing there",
                    wanted.join(",")
                ));
            }
        }
    }

    let mut date_tuples: Option<u64> = None;
    for key in &shape.keys {
        let k = ident(&key.name);
        match &key.meaning {
            Meaning::Account | Meaning::Region => {
                let (flag, listed, window_listed) = if key.meaning == Meaning::Account {
                    ("--account", arm.accounts, &plan.window.accounts)
                } else {
                    ("--region", arm.regions, &plan.window.regions)
                };
                let listed = match (listed, &key.projection) {
                    (Some(l), _) => Some(l),
                    (None, Projection::Injected) if !window_listed.is_empty() => {
                        warnings.push(format!(
                            "partition key {} of {table} is injected: for {}, change events are read from the {flag} values only (a local scan reads every one's)",
                            key.name, arm.label
                        ));
                        Some(window_listed.as_slice())
                    }
                    (None, Projection::Injected) => bail!(
                        "partition key {} of {table} is injected (projection.{}.type=injected): Athena needs its value in every query; pass {flag}",
                        key.name,
                        key.name.to_ascii_lowercase()
                    ),
                    (None, _) => None,
                };
                match listed {
                    Some(values) => {
                        if let Projection::Enum(known) = &key.projection {
                            let missing: Vec<&str> = values
                                .iter()
                                .filter(|v| !known.contains(v))
                                .map(String::as_str)
                                .collect();
                            if !missing.is_empty() {
                                warnings.push(format!(
                                    "{flag} {} is not among projection.{}.values of {table} ({}): nothing will be found there",
                                    missing.join(","),
                                    key.name.to_ascii_lowercase(),
                                    known.join(",")
                                ));
                            }
                        }
                        preds.push(in_list(&k, values.iter().map(|v| value(key, v))));
                        times(Some(values.len() as u64));
                    }
                    None => times(known_values(&key.projection)),
                }
            }
            Meaning::Date(format) => {
                let (pred, in_range) =
                    date_key(key, format, (arm, plan), &all_days, &table, warnings);
                preds.push(pred);
                date_tuples = Some(date_tuples.unwrap_or(u64::MAX).min(in_range));
            }
            Meaning::Year | Meaning::Month { .. } | Meaning::Day { .. } => {}
            Meaning::Other => match &key.projection {
                Projection::Injected => bail!(
                    "partition key {} of {table} is injected, and trailwhy does not know what it holds: it cannot give Athena its value",
                    key.name
                ),
                p => times(known_values(p)),
            },
        }
    }

    if let Some((pred, tuples)) = year_month_day(shape, arm, &all_days, &table, warnings) {
        preds.push(pred);
        date_tuples = Some(date_tuples.unwrap_or(u64::MAX).min(tuples));
    }
    times(date_tuples);
    Ok((preds, count))
}

/// How many values a projection allows, when it says.
fn known_values(p: &Projection) -> Option<u64> {
    match p {
        Projection::Enum(v) => Some(v.len() as u64),
        Projection::Integer { start, end } => u64::try_from(end - start + 1).ok(),
        _ => None,
    }
}

/// Rebuilds one columns-mode row (values in `columns` order, `None` for SQL NULL) into one
/// CloudTrail record as JSON text, which the decoder reads like a line of a log file.
/// NULL columns are left out; JSON-text columns are parsed back (kept as a string when they
/// do not parse); a web-identity record without `identityProvider` gets it back from
/// `principalId` (`PROVIDER:AUD:SUB`).
pub fn rebuild(columns: &[String], row: &[Option<String>]) -> Result<String> {
    if columns.len() != row.len() {
        bail!(
            "a result row has {} values for {} columns",
            row.len(),
            columns.len()
        );
    }
    let mut root = Map::new();
    for (name, v) in columns.iter().zip(row) {
        let Some(text) = v else { continue };
        let leaf = LEAVES
            .iter()
            .find(|l| l.path == name)
            .ok_or_else(|| anyhow!("column {name} is not one trailwhy selects"))?;
        let value = match leaf.kind {
            Kind::Text => Value::String(text.clone()),
            Kind::Json => {
                serde_json::from_str(text).unwrap_or_else(|_| Value::String(text.clone()))
            }
            Kind::Bool => match text.as_str() {
                "true" => Value::Bool(true),
                "false" => Value::Bool(false),
                _ => Value::String(text.clone()),
            },
            Kind::Resources => resources(text),
        };
        let mut parts = leaf.path.split('.').peekable();
        let mut obj = &mut root;
        while let Some(p) = parts.next() {
            if parts.peek().is_none() {
                obj.insert(p.to_owned(), value);
                break;
            }
            let entry = obj
                .entry(p.to_owned())
                .or_insert_with(|| Value::Object(Map::new()));
            obj = match entry {
                Value::Object(m) => m,
                _ => bail!("column {name} nests inside a value"),
            };
        }
    }
    if let Some(Value::Object(ident)) = root.get_mut("userIdentity") {
        let web = ident.get("type").and_then(Value::as_str) == Some("WebIdentityUser");
        if web && !ident.contains_key("identityProvider") {
            let provider = ident
                .get("principalId")
                .and_then(Value::as_str)
                .and_then(provider_of_principal);
            if let Some(p) = provider {
                ident.insert("identityProvider".to_owned(), Value::String(p));
            }
        }
    }
    Ok(Value::Object(root).to_string())
}

/// The provider at the start of a web-identity `principalId`: an IAM provider ARN (six
/// colon-separated parts, the last `oidc-provider/HOST` or `saml-provider/NAME`) or a bare
/// host (`accounts.google.com`).
fn provider_of_principal(pid: &str) -> Option<String> {
    if pid.starts_with("arn:") {
        let mut end = 0;
        for (n, (i, _)) in pid.match_indices(':').enumerate() {
            if n == 5 {
                end = i;
                break;
            }
        }
        (end > 0).then(|| pid[..end].to_owned())
    } else {
        let (host, rest) = pid.split_once(':')?;
        (!host.is_empty() && !rest.is_empty()).then(|| host.to_owned())
    }
}

/// `resources` as the engine casts it to JSON: objects with lower-case keys, or (an engine
/// casting rows to arrays) arrays in the table's field order.
fn resources(text: &str) -> Value {
    let Ok(Value::Array(items)) = serde_json::from_str::<Value>(text) else {
        return Value::Null;
    };
    let fix = |item: Value| -> Value {
        match item {
            Value::Object(m) => Value::Object(
                m.into_iter()
                    .map(|(k, v)| {
                        let name = RESOURCE_FIELDS
                            .iter()
                            .find(|f| f.eq_ignore_ascii_case(&k))
                            .map_or(k, |f| (*f).to_owned());
                        (name, v)
                    })
                    .collect(),
            ),
            Value::Array(a) => Value::Object(
                RESOURCE_FIELDS
                    .iter()
                    .zip(a)
                    .map(|(f, v)| ((*f).to_owned(), v))
                    .collect(),
            ),
            other => other,
        }
    };
    Value::Array(items.into_iter().map(fix).collect())
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::super::table::TableDef;
    use super::*;

    fn shape(keys: &[&str], params: &[(&str, &str)]) -> Shape {
        let columns = super::super::table::common_columns(false);
        Shape::from_def(&TableDef {
            catalog: "AwsDataCatalog".into(),
            database: "trail".into(),
            name: "logs".into(),
            location: None,
            columns,
            partition_keys: keys
                .iter()
                .map(|k| (k.to_string(), "string".into()))
                .collect(),
            parameters: params
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        })
        .unwrap()
    }

    fn window(accounts: &[&str], regions: &[&str]) -> Window {
        Window {
            since: Some(Utc.with_ymd_and_hms(2026, 10, 1, 10, 0, 0).unwrap()),
            until: Some(Utc.with_ymd_and_hms(2026, 10, 2, 10, 0, 0).unwrap()),
            accounts: accounts.iter().map(|s| s.to_string()).collect(),
            regions: regions.iter().map(|s| s.to_string()).collect(),
        }
    }

    fn explain(s: &Shape, w: &Window, lookback_days: i64) -> Result<Statement> {
        compile(
            s,
            &Plan {
                window: w,
                want: Want::Explain {
                    lookback: Duration::days(lookback_days),
                },
                mode: Mode::Objects,
                delivery_lag: Duration::hours(1),
                now: Utc.with_ymd_and_hms(2026, 10, 5, 0, 0, 0).unwrap(),
            },
        )
    }

    #[test]
    fn literals_and_patterns_cannot_be_escaped() {
        assert_eq!(literal("it's"), "'it''s'");
        assert_eq!(literal(""), "''");
        assert_eq!(literal("a\nb"), "('a' || chr(10) || 'b')");
        assert_eq!(literal("\n"), "('' || chr(10))");
        assert_eq!(literal("back\\slash"), "'back\\slash'");
        assert_eq!(ident("a\"b"), "\"a\"\"b\"");
        assert_eq!(like_pattern("Put*"), "'Put%'");
        assert_eq!(like_pattern("a?b"), "'a_b'");
        assert_eq!(like_pattern("100%_x!"), "'100!%!_x!!'");
        assert_eq!(like_pattern("o'*"), "'o''%'");
    }

    /// A statement's top-level conjuncts after `WHERE`, and the disjuncts (arms) of its last
    /// one when that is an `OR` of arms.
    fn split(sql: &str) -> (Vec<&str>, Vec<&str>) {
        let (_, wh) = sql.split_once("\nWHERE ").expect(sql);
        let mut top: Vec<&str> = wh.split("\n  AND ").collect();
        let mut arms = Vec::new();
        if top.last().is_some_and(|l| l.contains("\n    OR ")) {
            let ors = top.pop().unwrap();
            let inner = ors.strip_prefix("((").unwrap().strip_suffix("))").unwrap();
            arms = inner.split(")\n    OR (").collect();
        }
        (top, arms)
    }

    #[test]
    fn org_year_month_day_predicates() {
        let s = shape(
            &["account", "region", "year", "month", "day"],
            &[(
                "storage.location.template",
                "s3://b/AWSLogs/o-abc/${account}/CloudTrail/${region}/${year}/${month}/${day}",
            )],
        );
        let st = explain(&s, &window(&["111122223333"], &["eu-west-1"]), 10).unwrap();
        let (top, arms) = split(&st.sql);
        // the top level: the union, days from 10 days before since across months, every
        // account and region
        assert_eq!(top, ["((\"year\" = '2026' AND \"month\" = '09' AND \"day\" BETWEEN '21' AND '30') OR (\"year\" = '2026' AND \"month\" = '10' AND \"day\" BETWEEN '01' AND '02'))"], "{}", st.sql);
        assert_eq!(arms.len(), 2, "{}", st.sql);
        // the window arm keeps its own partitions
        assert!(arms[0].starts_with("\"account\" IN ('111122223333')\n      AND \"region\" IN ('eu-west-1')\n      AND ((\"year\" = '2026' AND \"month\" = '10' AND \"day\" BETWEEN '01' AND '02'))\n      AND "), "{}", arms[0]);
        // the change arm's partitions are the top level's
        for key in ["account", "region", "year", "month", "day"] {
            assert!(!arms[1].contains(&ident(key)), "{key}: {}", arms[1]);
        }
        assert!(
            arms[1].contains(
                "\"eventtime\" BETWEEN '2026-09-21T10:00:00Z' AND '2026-10-02T10:00:00Z'"
            ),
            "{}",
            arms[1]
        );
        // registered partitions: the count is unknown
        assert_eq!(st.partitions, None);
    }

    #[test]
    fn explain_reads_each_partition_once_in_one_select() {
        let injected: &[(&str, &str)] = &[
            ("projection.enabled", "true"),
            ("projection.account.type", "injected"),
            ("projection.region.type", "enum"),
            ("projection.region.values", "us-east-1,eu-west-1"),
            ("projection.timestamp.type", "date"),
            ("projection.timestamp.format", "yyyy/MM/dd"),
            ("projection.timestamp.range", "2020/01/01,NOW"),
        ];
        let dt: &[(&str, &str)] = &[
            ("projection.enabled", "true"),
            ("projection.dt.type", "date"),
            ("projection.dt.format", "dd-MM-yyyy"),
            ("projection.dt.range", "01-01-2020,NOW"),
        ];
        /// A table's partition keys and parameters.
        type Table<'a> = (&'a [&'a str], &'a [(&'a str, &'a str)]);
        let tables: [Table<'_>; 4] = [
            (&["account", "region", "year", "month", "day"], &[]),
            (&["account", "region", "timestamp"], injected),
            (&["region", "timestamp"], &[]),
            (&["dt"], dt),
        ];
        for (keys, params) in tables {
            let s = shape(keys, params);
            let injected_account = keys.contains(&"account") && !params.is_empty();
            let mut windows = vec![window(&["111122223333"], &["eu-west-1"])];
            if !injected_account {
                windows.push(window(&[], &[]));
            }
            for w in &windows {
                for lookback in [0, 3, 40] {
                    let st = explain(&s, w, lookback).unwrap();
                    assert!(!st.sql.contains("UNION"), "{}", st.sql);
                    assert_eq!(st.sql.matches("SELECT").count(), 1, "{}", st.sql);
                    let (top, arms) = split(&st.sql);
                    assert_eq!(arms.len(), 2, "{}", st.sql);
                    // every key constrained at the top level is so once (year, month and day
                    // together); account and region only when injected
                    for key in keys {
                        let at_top = top.iter().filter(|c| c.contains(&ident(key))).count();
                        let expected = match *key {
                            "account" => usize::from(injected_account),
                            "region" => 0,
                            _ => 1,
                        };
                        assert_eq!(at_top, expected, "{key}: {}", st.sql);
                        // the change arm reads what the top level allows: no key of its own
                        assert!(!arms[1].contains(&ident(key)), "{key}: {}", st.sql);
                    }
                    assert_eq!(
                        top.len(),
                        if keys.len() == 5 {
                            1
                        } else {
                            usize::from(injected_account) + 1
                        },
                        "{}",
                        st.sql
                    );
                    // the window arm keeps its days (unless they are the top level's: no
                    // lookback) and the flags' partitions (an injected account's are the top
                    // level's)
                    let day_key = if keys.contains(&"year") {
                        "day"
                    } else {
                        keys[keys.len() - 1]
                    };
                    assert_eq!(
                        arms[0].contains(&ident(day_key)),
                        lookback > 0,
                        "{}",
                        st.sql
                    );
                    for (key, given) in [("account", &w.accounts), ("region", &w.regions)] {
                        let own = keys.contains(&key)
                            && !given.is_empty()
                            && !(key == "account" && injected_account);
                        assert_eq!(arms[0].contains(&ident(key)), own, "{key}: {}", st.sql);
                    }
                }
            }
        }
    }

    #[test]
    fn explain_counts_the_union_of_partitions() {
        let s = shape(
            &["account", "region", "timestamp"],
            &[
                ("projection.enabled", "true"),
                ("projection.account.type", "enum"),
                (
                    "projection.account.values",
                    "111122223333,444455556666,777788889999",
                ),
                ("projection.region.type", "enum"),
                ("projection.region.values", "us-east-1,eu-west-1"),
                ("projection.timestamp.type", "date"),
                ("projection.timestamp.format", "yyyy/MM/dd"),
                ("projection.timestamp.range", "2020/01/01,NOW"),
            ],
        );
        for w in [
            window(&["111122223333"], &["eu-west-1"]),
            window(&[], &["eu-west-1"]),
            window(&[], &[]),
        ] {
            for lookback in [0, 1, 7, 30, 90] {
                let st = explain(&s, &w, lookback).unwrap();
                // the days from since - lookback to until + lag (10-01 10:00 to 10-02 11:00),
                // every account and region: the window's partitions are among them
                let days = u64::try_from(lookback).unwrap() + 2;
                assert_eq!(st.partitions, Some(days * 3 * 2), "{lookback}: {}", st.sql);
                assert!(st.warnings.is_empty(), "{:?}", st.warnings);
            }
        }
        // an injected account: the union reads the --account partitions only
        let s = shape(
            &["account", "timestamp"],
            &[
                ("projection.enabled", "true"),
                ("projection.account.type", "injected"),
                ("projection.timestamp.type", "date"),
                ("projection.timestamp.format", "yyyy/MM/dd"),
                ("projection.timestamp.range", "2020/01/01,NOW"),
            ],
        );
        let st = explain(&s, &window(&["111122223333", "444455556666"], &[]), 7).unwrap();
        assert_eq!(st.partitions, Some(9 * 2), "{}", st.sql);
        // query: the window's partitions
        let f = crate::selection::record_filter::RecordFilter::default();
        let st = compile(
            &s,
            &Plan {
                window: &window(&["111122223333"], &[]),
                want: Want::Query(&f),
                mode: Mode::Objects,
                delivery_lag: Duration::hours(1),
                now: Utc.with_ymd_and_hms(2026, 10, 5, 0, 0, 0).unwrap(),
            },
        )
        .unwrap();
        assert_eq!(st.partitions, Some(2), "{}", st.sql);
        assert!(!st.sql.contains(" OR (\"account\""), "{}", st.sql);
    }

    #[test]
    fn enum_region_and_fixed_account_warnings() {
        let s = shape(
            &["region", "timestamp"],
            &[
                ("projection.enabled", "true"),
                ("projection.region.type", "enum"),
                ("projection.region.values", "us-east-1,eu-west-1"),
                ("projection.timestamp.type", "date"),
                ("projection.timestamp.format", "yyyy/MM/dd"),
                ("projection.timestamp.range", "2026/09/01,NOW"),
                (
                    "storage.location.template",
                    "s3://b/AWSLogs/111122223333/CloudTrail/${region}/${timestamp}",
                ),
            ],
        );
        let st = explain(
            &s,
            &window(&["444455556666"], &["ap-south-1", "us-east-1"]),
            90,
        )
        .unwrap();
        assert!(
            st.warnings
                .iter()
                .any(|w| w.contains("--region ap-south-1 is not among projection.region.values")),
            "{:?}",
            st.warnings
        );
        assert!(
            st.warnings
                .iter()
                .any(|w| w.contains("holds the logs of 111122223333 only")
                    && w.contains("--account 444455556666")),
            "{:?}",
            st.warnings
        );
        // the lookback reaches back before the projection's range: a warning with the day
        assert!(
            st.warnings
                .iter()
                .any(|w| w.contains("change-event lookback starts on 2026-07-03")
                    && w.contains("nothing before 2026-09-01")),
            "{:?}",
            st.warnings
        );
        // the union: 2026-09-01 to 10-02 (32 days, the window's 2 among them) × 2 regions
        assert_eq!(st.partitions, Some(64));
        assert!(
            st.sql
                .contains("\"timestamp\" BETWEEN '2026/10/01' AND '2026/10/02'"),
            "{}",
            st.sql
        );
        // a window after NOW-relative range end
        let s2 = shape(
            &["timestamp"],
            &[
                ("projection.enabled", "true"),
                ("projection.timestamp.type", "date"),
                ("projection.timestamp.format", "yyyy/MM/dd"),
                ("projection.timestamp.range", "NOW-3YEARS,NOW-4DAYS"),
            ],
        );
        let st = explain(&s2, &window(&[], &[]), 1).unwrap();
        assert!(
            st.warnings
                .iter()
                .any(|w| w.contains("the window ends on 2026-10-02")
                    && w.contains("nothing after 2026-10-01")),
            "{:?}",
            st.warnings
        );
    }

    #[test]
    fn injected_keys_need_their_flags() {
        let s = shape(
            &["account", "region", "timestamp"],
            &[
                ("projection.enabled", "true"),
                ("projection.account.type", "injected"),
                ("projection.region.type", "injected"),
                ("projection.timestamp.type", "date"),
                ("projection.timestamp.format", "yyyy-MM-dd"),
                ("projection.timestamp.range", "2020-01-01,NOW"),
            ],
        );
        let e = explain(&s, &window(&[], &["us-east-1"]), 1)
            .unwrap_err()
            .to_string();
        assert!(e.contains("account") && e.contains("pass --account"), "{e}");
        let e = explain(&s, &window(&["111122223333"], &[]), 1)
            .unwrap_err()
            .to_string();
        assert!(e.contains("pass --region"), "{e}");
        let st = explain(&s, &window(&["111122223333"], &["us-east-1"]), 1).unwrap();
        assert!(
            st.sql
                .contains("\"timestamp\" BETWEEN '2026-10-01' AND '2026-10-02'"),
            "{}",
            st.sql
        );
        // once, at the top level: both arms read those partitions only
        assert_eq!(
            st.sql.matches("\"account\" IN ('111122223333')").count(),
            1,
            "{}",
            st.sql
        );
        assert!(
            st.sql.contains("\nWHERE \"account\" IN ('111122223333')\n"),
            "{}",
            st.sql
        );
    }

    #[test]
    fn unsorted_date_formats_use_in_lists() {
        let s = shape(
            &["dt"],
            &[
                ("projection.enabled", "true"),
                ("projection.dt.type", "date"),
                ("projection.dt.format", "dd-MM-yyyy"),
                ("projection.dt.range", "01-01-2020,NOW"),
            ],
        );
        let st = explain(&s, &window(&[], &[]), 1).unwrap();
        assert!(
            st.sql.contains("\"dt\" IN ('01-10-2026', '02-10-2026')"),
            "{}",
            st.sql
        );
        assert!(
            st.sql
                .contains("\"dt\" IN ('30-09-2026', '01-10-2026', '02-10-2026')"),
            "{}",
            st.sql
        );
    }

    #[test]
    fn missing_columns_and_windows_are_errors() {
        let mut s = shape(&["timestamp"], &[]);
        s.columns.remove("recipientaccountid");
        let e = explain(&s, &window(&[], &[]), 1).unwrap_err().to_string();
        assert!(e.contains("no column recipientaccountid"), "{e}");
        let s = shape(&["timestamp"], &[]);
        let mut w = window(&[], &[]);
        w.until = None;
        let e = explain(&s, &w, 1).unwrap_err().to_string();
        assert!(e.contains("--since and --until"), "{e}");
    }

    #[test]
    fn columns_mode_names_its_columns_and_rebuilds() {
        let s = shape(&["timestamp"], &[]);
        let w = window(&[], &[]);
        let st = compile(
            &s,
            &Plan {
                window: &w,
                want: Want::Explain {
                    lookback: Duration::days(1),
                },
                mode: Mode::Columns,
                delivery_lag: Duration::hours(1),
                now: Utc.with_ymd_and_hms(2026, 10, 5, 0, 0, 0).unwrap(),
            },
        )
        .unwrap();
        assert!(!st
            .columns
            .iter()
            .any(|c| c == "userIdentity.identityProvider"));
        assert!(
            st.sql
                .contains("CAST(\"resources\" AS JSON) AS \"resources\""),
            "{}",
            st.sql
        );
        assert!(st.sql.contains("\"useridentity\".\"sessioncontext\".\"sessionissuer\".\"arn\" AS \"useridentity.sessioncontext.sessionissuer.arn\""), "{}", st.sql);
        let cols: Vec<String> = [
            "userIdentity.type",
            "userIdentity.principalId",
            "userIdentity.userName",
            "eventName",
            "requestParameters",
            "resources",
            "readOnly",
            "errorCode",
        ]
        .map(str::to_owned)
        .to_vec();
        let provider =
            "arn:aws:iam::111122223333:oidc-provider/token.actions.githubusercontent.com";
        let row = vec![
            Some("WebIdentityUser".to_owned()),
            Some(format!(
                "{provider}:sts.amazonaws.com:repo:acme/web:ref:refs/heads/main"
            )),
            Some("repo:acme/web:ref:refs/heads/main".to_owned()),
            Some("AssumeRoleWithWebIdentity".to_owned()),
            Some("{\"roleArn\":\"arn:aws:iam::111122223333:role/gha\"}".to_owned()),
            Some(
                "[[\"arn:aws:iam::111122223333:role/gha\",\"111122223333\",\"AWS::IAM::Role\"]]"
                    .to_owned(),
            ),
            Some("true".to_owned()),
            None,
        ];
        let rec: Value = serde_json::from_str(&rebuild(&cols, &row).unwrap()).unwrap();
        assert_eq!(
            rec,
            serde_json::json!({
                "userIdentity": {
                    "type": "WebIdentityUser",
                    "principalId": format!("{provider}:sts.amazonaws.com:repo:acme/web:ref:refs/heads/main"),
                    "userName": "repo:acme/web:ref:refs/heads/main",
                    "identityProvider": provider
                },
                "eventName": "AssumeRoleWithWebIdentity",
                "requestParameters": {"roleArn": "arn:aws:iam::111122223333:role/gha"},
                "resources": [{"ARN": "arn:aws:iam::111122223333:role/gha", "accountId": "111122223333", "type": "AWS::IAM::Role"}],
                "readOnly": true
            })
        );
        assert_eq!(
            provider_of_principal("accounts.google.com:aud:sub"),
            Some("accounts.google.com".to_owned())
        );
        assert!(rebuild(&cols, &row[..2]).is_err());
        assert!(rebuild(&["nope".to_owned()], &[Some("x".to_owned())]).is_err());
    }
}
