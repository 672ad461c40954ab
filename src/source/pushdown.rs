//! What the query engines behind `athena://` and `lake://` share: what the command wants of
//! them (`Want`, `Ask`), the one SQL definition of "denied" (`access_denied`), their prices,
//! and what each query did (`QuerySummary`, `Stats`). Neither engine imports the other; both
//! import this.

use std::sync::Mutex;

use chrono::Duration;
use serde::Serialize;

use crate::selection::record_filter::RecordFilter;
use crate::selection::{DENIED_CODES, DENIED_SUFFIXES};

/// Athena's on-demand price: US dollars per TB scanned.
pub const USD_PER_TB: f64 = 5.0;
/// CloudTrail Lake's price: US dollars per GB scanned.
pub const USD_PER_GB: f64 = 0.005;

/// What the command needs.
#[derive(Debug, Clone, Copy)]
pub enum Want<'a> {
    /// `explain` and `report`: the records `Selector::select` keeps; change events from
    /// `lookback` before `since`.
    Explain { lookback: Duration },
    /// `query`: the records the typed filters keep (its `window` is not read).
    Query(&'a RecordFilter),
}

/// What the command asks of `athena://` SOURCEs.
pub struct Ask<'a> {
    pub want: Want<'a>,
    /// `--max-scan`: refuse (or stop) a query that scans more bytes.
    pub max_scan: Option<u64>,
}

/// What the Athena queries of a run did, for the summary and for tests.
#[derive(Debug, Default)]
pub struct Stats {
    pub queries: Mutex<Vec<QuerySummary>>,
}

/// One query, in the JSON summary's `athena` list.
#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct QuerySummary {
    pub source: String,
    pub query_execution_id: String,
    pub mode: &'static str,
    pub data_scanned_bytes: u64,
    /// At [`USD_PER_TB`] (Athena bills at least 10 MB a query, rounded up to the MB).
    pub cost_usd: f64,
    pub rows: u64,
    /// Objects mode: the distinct objects re-read from S3.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub objects: Option<u64>,
    /// Columns mode: what the rebuilt records lack.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub lost: Option<&'static str>,
}

impl QuerySummary {
    /// One line for stderr.
    pub fn line(&self) -> String {
        let what = match (self.objects, self.lost) {
            (Some(n), _) => format!("{} events in {n} objects", self.rows),
            (None, Some(_)) => format!("{} events rebuilt from columns", self.rows),
            _ => format!("{} rows", self.rows),
        };
        let rate = if self.source.starts_with("lake://") {
            format!("${}/GB", USD_PER_GB)
        } else {
            format!("${USD_PER_TB}/TB")
        };
        format!(
            "{}: query {} scanned {} bytes (${:.4} at {rate}): {what}",
            self.source, self.query_execution_id, self.data_scanned_bytes, self.cost_usd
        )
    }
}

/// `selection::is_access_denied` in SQL, on `column` (`"errorcode"` in Athena, `errorCode` in
/// Lake): one definition of "denied" for the local selection and both statements.
pub fn access_denied(column: &str) -> String {
    let codes: Vec<String> = DENIED_CODES.iter().map(|c| literal(c)).collect();
    let mut any = vec![format!("{column} IN ({})", codes.join(", "))];
    any.extend(
        DENIED_SUFFIXES
            .iter()
            .map(|s| format!("{column} LIKE {}", literal(&format!("%{s}")))),
    );
    format!("({})", any.join(" OR "))
}

/// `'text'`, with `'` doubled and control characters as `chr(N)`, so no value can end the
/// literal or hide in the statement's text.
pub fn literal(text: &str) -> String {
    let mut parts: Vec<String> = Vec::new();
    let mut cur = String::new();
    for c in text.chars() {
        if c.is_control() {
            if !cur.is_empty() || parts.is_empty() {
                parts.push(format!("'{}'", cur.replace('\'', "''")));
                cur.clear();
            }
            parts.push(format!("chr({})", c as u32));
        } else {
            cur.push(c);
        }
    }
    if !cur.is_empty() || parts.is_empty() {
        parts.push(format!("'{}'", cur.replace('\'', "''")));
    }
    if parts.len() == 1 {
        parts.remove(0)
    } else {
        format!("({})", parts.join(" || "))
    }
}
