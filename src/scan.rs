//! The scan: every input, in parallel, through decode and select, into one [`Scan`].
//!
//! Each file is read by one rayon worker with its own splitter buffer; the worker keeps only
//! the records that `select` picked (and inventory and build documents met among the inputs)
//! and the counters. Build log text is told from JSON by its first bytes and read line by
//! line instead of through the JSON splitter. Inputs are taken in order as they arrive (an
//! `s3://` listing still growing the list is read from its first day folder on), and results
//! are merged in input order, so the output does not depend on thread or network timing.
//! This module decides nothing about causes.

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Mutex;

use serde::Serialize;
use serde_json::Value;

use crate::codebuild::log::{self as build_log, Peeked, TextKind};
use crate::codebuild::record::{builds_from_value, is_build_document};
use crate::codebuild::BuildDoc;
use crate::decode::{self, DecodeLimits, RecordKind, RecordSplitter};
use crate::event::Record;
use crate::interrupt;
use crate::select::{CallFailure, ChangeEvent, Rejected, Selected, Selector, WebIdAttempt};
use crate::source::{io_reason, Input, Inputs, Skipped};

/// An inventory document found among the inputs (authorization details, OIDC provider
/// listings, ECR repository policies).
#[derive(Debug, Clone)]
pub struct InventoryDoc {
    pub origin: String,
    pub value: Value,
}

/// Counters for the JSON summary.
#[derive(Debug, Clone, Default, Serialize)]
pub struct ScanStats {
    pub files_read: u64,
    pub files_skipped: u64,
    pub files_unreadable: u64,
    pub skipped: Vec<Skipped>,
    pub records_scanned: u64,
    pub records_matched: u64,
    pub records_undecodable: u64,
    pub bytes_decompressed: u64,
    /// The scan was stopped by Ctrl-C before every input was read.
    pub interrupted: bool,
    /// What an s3:// listing did (requests, objects listed, pruned, fetched).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub s3: Option<S3Summary>,
    /// What each athena:// and lake:// query did (id, bytes scanned and their price, rows,
    /// objects re-read).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub queries: Option<Vec<crate::source::athena::QuerySummary>>,
}

/// The S3 listing's counters.
#[derive(Debug, Clone, Default, Serialize)]
pub struct S3Summary {
    pub list_requests: u64,
    pub objects_listed: u64,
    pub objects_pruned: u64,
    pub objects_fetched: u64,
}

impl From<&crate::source::s3::ListStats> for S3Summary {
    fn from(s: &crate::source::s3::ListStats) -> S3Summary {
        use std::sync::atomic::Ordering::Relaxed;
        S3Summary {
            list_requests: s.list_requests.load(Relaxed),
            objects_listed: s.objects_listed.load(Relaxed),
            objects_pruned: s.objects_pruned.load(Relaxed),
            objects_fetched: s.objects_selected.load(Relaxed),
        }
    }
}

#[derive(Debug, Default)]
pub struct Scan {
    pub attempts: Vec<WebIdAttempt>,
    pub changes: Vec<ChangeEvent>,
    pub call_failures: Vec<CallFailure>,
    pub inventory_docs: Vec<InventoryDoc>,
    /// CodeBuild builds found among the inputs (batch-get-builds output, EventBridge build
    /// events, build logs).
    pub build_docs: Vec<BuildDoc>,
    pub stats: ScanStats,
    /// `--verify`: what the digest files say of the inputs read.
    pub integrity: Option<crate::integrity::Integrity>,
}

impl Scan {
    fn merge(&mut self, other: Scan) {
        self.attempts.extend(other.attempts);
        self.changes.extend(other.changes);
        self.call_failures.extend(other.call_failures);
        self.inventory_docs.extend(other.inventory_docs);
        self.build_docs.extend(other.build_docs);
        let s = &mut self.stats;
        let o = other.stats;
        s.files_read += o.files_read;
        s.files_skipped += o.files_skipped;
        s.files_unreadable += o.files_unreadable;
        s.skipped.extend(o.skipped);
        s.records_scanned += o.records_scanned;
        s.records_matched += o.records_matched;
        s.records_undecodable += o.records_undecodable;
        s.bytes_decompressed += o.bytes_decompressed;
        s.interrupted |= o.interrupted;
    }
}

/// Reads every input; files are spread over the current rayon pool.
pub fn scan(
    inputs: &[Input],
    pre_skipped: Vec<Skipped>,
    selector: &Selector,
    limits: &DecodeLimits,
) -> Scan {
    let inputs = Inputs::from(inputs.to_vec());
    scan_with_progress(&inputs, pre_skipped, selector, limits, false)
}

/// As [`scan`], over inputs that may still be arriving, drawing a progress bar on stderr
/// when `progress` is true (the caller decides: only when stderr is a terminal and not
/// `--quiet`). A failed listing ends the scan early; the caller reports it
/// ([`Inputs::result`]).
pub fn scan_with_progress(
    inputs: &Inputs,
    pre_skipped: Vec<Skipped>,
    selector: &Selector,
    limits: &DecodeLimits,
    progress: bool,
) -> Scan {
    scan_hashing(inputs, pre_skipped, selector, limits, progress, None)
}

/// As [`scan_with_progress`]; with `hashes` (`--verify`), each input's decompressed bytes are
/// also hashed as they are read, and the records kept are noted with their input.
pub fn scan_hashing(
    inputs: &Inputs,
    pre_skipped: Vec<Skipped>,
    selector: &Selector,
    limits: &DecodeLimits,
    progress: bool,
    hashes: Option<&crate::integrity::HashSink>,
) -> Scan {
    let bar = progress.then(|| {
        let b = indicatif::ProgressBar::new(inputs.arrived() as u64);
        b.set_style(
            indicatif::ProgressStyle::with_template(
                "{spinner} {pos}/{len} inputs  {msg}  [{elapsed_precise}, eta {eta}]",
            )
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
        );
        b
    });
    let bytes = AtomicU64::new(0);
    let records = AtomicU64::new(0);
    let started = std::time::Instant::now();
    // An ordered work queue rather than rayon's splitting: inputs are taken in list order, so
    // remote sources can prefetch in the same order and no worker waits on a far-away object.
    let next = AtomicUsize::new(0);
    let parts: Mutex<Vec<(usize, Scan)>> = Mutex::new(Vec::new());
    let workers = match inputs.is_complete() {
        true => rayon::current_num_threads().min(inputs.arrived().max(1)),
        false => rayon::current_num_threads(),
    };
    rayon::scope(|s| {
        for _ in 0..workers {
            s.spawn(|_| loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                let Some(input) = inputs.take(i) else { break };
                let part = scan_input(&input, selector, limits, hashes);
                // a remote object's fetch slot is free once its reader is gone
                drop(input);
                if let Some(b) = &bar {
                    b.set_length(inputs.arrived() as u64);
                    let total = bytes.fetch_add(part.stats.bytes_decompressed, Ordering::Relaxed)
                        + part.stats.bytes_decompressed;
                    let recs = records.fetch_add(part.stats.records_scanned, Ordering::Relaxed)
                        + part.stats.records_scanned;
                    let secs = started.elapsed().as_secs_f64().max(0.001);
                    b.set_message(format!(
                        "{} MB, {} records, {:.0} records/s",
                        total / 1_000_000,
                        recs,
                        recs as f64 / secs
                    ));
                    b.inc(1);
                }
                parts
                    .lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner)
                    .push((i, part));
            });
        }
    });
    if let Some(b) = bar {
        b.finish_and_clear();
    }
    let mut parts = parts
        .into_inner()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    parts.sort_unstable_by_key(|(i, _)| *i);
    let mut total = Scan::default();
    for s in &pre_skipped {
        if s.by_design {
            total.stats.files_skipped += 1;
        } else {
            total.stats.files_unreadable += 1;
        }
    }
    total.stats.skipped = pre_skipped;
    for (_, p) in parts {
        total.merge(p);
    }
    total
}

/// The inventory document kinds recognised by their top-level keys.
pub fn is_inventory_doc(v: &Value) -> bool {
    let Some(o) = v.as_object() else { return false };
    o.contains_key("RoleDetailList")
        || o.contains_key("OpenIDConnectProviderList")
        || (o.contains_key("policyText")
            && o.contains_key("repositoryName")
            && o.contains_key("registryId"))
        || (o.contains_key("Url") && o.contains_key("ClientIDList"))
        || o.get("Organization")
            .is_some_and(|org| org.get("MasterAccountId").is_some())
        || o.get("Accounts")
            .and_then(Value::as_array)
            .is_some_and(|a| {
                a.first()
                    .and_then(|x| x.get("Arn"))
                    .and_then(Value::as_str)
                    .is_some_and(|arn| arn.starts_with("arn:") && arn.contains(":organizations::"))
            })
}

fn scan_input(
    input: &Input,
    selector: &Selector,
    limits: &DecodeLimits,
    hashes: Option<&crate::integrity::HashSink>,
) -> Scan {
    let name = input.display_name();
    let mut out = Scan::default();
    if let Some(h) = hashes {
        h.note_input(input);
    }
    if interrupt::requested() {
        out.stats.interrupted = true;
        out.stats.files_unreadable += 1;
        out.stats.skipped.push(Skipped {
            name,
            reason: "not read: interrupted".to_owned(),
            by_design: false,
        });
        return out;
    }
    let reader = match input.open() {
        Ok(r) => r,
        Err(e) => {
            if let Some(h) = hashes {
                h.record_failure(&name, io_reason(&e));
            }
            out.stats.files_unreadable += 1;
            out.stats.skipped.push(Skipped {
                name,
                reason: io_reason(&e),
                by_design: false,
            });
            return out;
        }
    };
    let reader = match decode::decompress(reader, limits) {
        Ok((_, r)) => crate::integrity::HashSink::wrap(hashes, &name, r),
        Err(e) => {
            if let Some(h) = hashes {
                h.record_failure(&name, io_reason(&e));
            }
            out.stats.files_unreadable += 1;
            out.stats.skipped.push(Skipped {
                name,
                reason: io_reason(&e),
                by_design: false,
            });
            return out;
        }
    };
    let reader = Peeked::new(reader);
    match build_log::sniff(reader.prefix(), &name) {
        Some(TextKind::BuildLog) => return scan_build_log(reader, name, limits),
        Some(TextKind::OtherText) => {
            out.stats.files_skipped += 1;
            out.stats.skipped.push(Skipped {
                name,
                reason: "not a CloudTrail log or build log".to_owned(),
                by_design: true,
            });
            return out;
        }
        None => {}
    }
    let mut splitter = RecordSplitter::new_whole(reader, limits);
    // an input inflated whole is searched for the needles once, not record by record
    let mut hits = splitter
        .whole_unsplit()
        .and_then(|(offset, bytes)| selector.hits(offset, bytes));
    let mut first = true;
    let mut inventory_file = false;
    let mut build_file = false;
    let mut undecodable: u64 = 0;
    let mut first_bad: Option<String> = None;
    let mut failures: Vec<String> = Vec::new();
    loop {
        // An error is not necessarily the end: the splitter resyncs where it can (NDJSON)
        // and returns None once nothing more can be read.
        let raw = match splitter.next_record() {
            // checked after the read: a record that arrives after Ctrl-C is not used
            Ok(Some(_)) if interrupt::requested() => {
                out.stats.interrupted = true;
                failures.push(format!(
                    "interrupted after {} records",
                    out.stats.records_scanned
                ));
                break;
            }
            Ok(Some(r)) => r,
            Ok(None) => break,
            Err(e) => {
                failures.push(e.to_string());
                continue;
            }
        };
        out.stats.records_scanned += 1;
        let is_first = std::mem::replace(&mut first, false);
        if raw.kind != RecordKind::Object {
            undecodable += 1;
            first_bad.get_or_insert_with(|| {
                format!("record at byte {} is not a JSON object", raw.offset)
            });
            continue;
        }
        if is_first {
            // The first record decides what the file is: a log, an inventory document, or neither.
            match classify_first(raw.bytes) {
                FirstRecord::Event => {}
                FirstRecord::Inventory(value) => {
                    out.inventory_docs.push(InventoryDoc {
                        origin: name.clone(),
                        value,
                    });
                    inventory_file = true;
                    continue;
                }
                FirstRecord::Builds(value) => {
                    build_file = true;
                    take_builds(
                        &value,
                        &name,
                        raw.offset,
                        &mut out,
                        &mut first_bad,
                        &mut undecodable,
                    );
                    continue;
                }
                FirstRecord::NotALog(reason) => {
                    out.stats.files_skipped += 1;
                    out.stats.skipped.push(Skipped {
                        name,
                        reason,
                        by_design: true,
                    });
                    out.stats.records_scanned = 0;
                    return out;
                }
            }
        }
        if build_file {
            // further build events (an array or one per line) or pages
            match serde_json::from_slice::<Value>(raw.bytes) {
                Ok(v) if is_build_document(&v) => take_builds(
                    &v,
                    &name,
                    raw.offset,
                    &mut out,
                    &mut first_bad,
                    &mut undecodable,
                ),
                _ => {
                    undecodable += 1;
                    first_bad.get_or_insert_with(|| {
                        format!(
                            "record at byte {} is not a CodeBuild build record",
                            raw.offset
                        )
                    });
                }
            }
            continue;
        }
        if inventory_file {
            // further pages of an inventory listing (NDJSON or concatenated documents)
            match serde_json::from_slice::<Value>(raw.bytes) {
                Ok(v) if is_inventory_doc(&v) => out.inventory_docs.push(InventoryDoc {
                    origin: name.clone(),
                    value: v,
                }),
                _ => {
                    undecodable += 1;
                    first_bad.get_or_insert_with(|| {
                        format!("record at byte {} is not an inventory document", raw.offset)
                    });
                }
            }
            continue;
        }
        let may_match = match hits.as_mut() {
            Some(hits) => hits.may_match(raw.offset, raw.bytes),
            None => selector.may_match(raw.bytes),
        };
        if !may_match {
            continue;
        }
        if let Err(why) = decode_and_take(raw.bytes, selector, &mut out) {
            undecodable += 1;
            first_bad.get_or_insert_with(|| format!("record at byte {}: {why}", raw.offset));
        }
    }
    out.stats.bytes_decompressed = splitter.bytes_read();
    out.stats.records_undecodable = undecodable;
    if let Some(h) = hashes {
        let ids = out.attempts.iter().map(|a| a.event_id.as_str());
        let ids = ids.chain(out.call_failures.iter().map(|f| f.event_id.as_str()));
        h.note_events(&name, ids);
    }
    let mut problems = Vec::new();
    match failures.len() {
        0 => {}
        1 => problems.push(failures.remove(0)),
        n => problems.push(format!("{n} decoding errors, first: {}", failures[0])),
    }
    if undecodable > 0 {
        problems.push(format!(
            "{undecodable} record(s) skipped, first: {}",
            first_bad.unwrap_or_default()
        ));
    }
    if problems.is_empty() {
        out.stats.files_read += 1;
    } else {
        out.stats.files_unreadable += 1;
        out.stats.skipped.push(Skipped {
            name,
            reason: problems.join("; "),
            by_design: false,
        });
    }
    out
}

/// Keeps the builds of one build document; a malformed one is counted as undecodable.
fn take_builds(
    v: &Value,
    name: &str,
    offset: u64,
    out: &mut Scan,
    first_bad: &mut Option<String>,
    undecodable: &mut u64,
) {
    match builds_from_value(v) {
        Ok(builds) => {
            if !builds.is_empty() {
                out.build_docs.push(BuildDoc {
                    origin: name.to_owned(),
                    builds,
                });
            }
        }
        Err(why) => {
            *undecodable += 1;
            first_bad.get_or_insert_with(|| format!("record at byte {offset}: {why}"));
        }
    }
}

/// Reads CodeBuild build log text into one build document.
fn scan_build_log<R: std::io::Read>(reader: R, name: String, limits: &DecodeLimits) -> Scan {
    let mut out = Scan::default();
    let (build, bytes, err) = build_log::read_build_log(reader, &name, limits.max_record_bytes);
    out.stats.bytes_decompressed = bytes;
    out.build_docs.push(BuildDoc {
        origin: name.clone(),
        builds: vec![build],
    });
    match err {
        None => out.stats.files_read += 1,
        Some(e) => {
            out.stats.files_unreadable += 1;
            out.stats.skipped.push(Skipped {
                name,
                reason: e.to_string(),
                by_design: false,
            });
        }
    }
    out
}

/// Decodes one record (unwrapping lookup-events' `CloudTrailEvent` strings) and keeps it if
/// selected. Invalid UTF-8 is replaced (U+FFFD) rather than losing the record.
fn decode_and_take(bytes: &[u8], selector: &Selector, out: &mut Scan) -> Result<(), String> {
    let lossy;
    let rec = match serde_json::from_slice::<Record>(bytes) {
        Ok(r) => r,
        Err(e) if std::str::from_utf8(bytes).is_err() => {
            lossy = String::from_utf8_lossy(bytes).into_owned();
            serde_json::from_str::<Record>(&lossy)
                .map_err(|_| format!("could not be decoded: {e}"))?
        }
        Err(e) => return Err(format!("could not be decoded: {e}")),
    };
    let problem = match rec.cloudtrail_event.as_deref() {
        Some(inner) => {
            let inner_rec = serde_json::from_str::<Record>(inner)
                .map_err(|e| format!("its CloudTrailEvent string is not a valid event: {e}"))?;
            take(selector, &inner_rec, out)
        }
        None => take(selector, &rec, out),
    };
    match problem {
        Some(why) => Err(why.to_owned()),
        None => Ok(()),
    }
}

/// Keeps a selected record; returns why a record the analysis needed could not be used.
fn take(selector: &Selector, rec: &Record<'_>, out: &mut Scan) -> Option<&'static str> {
    match selector.select(rec) {
        Ok(sel) => {
            out.stats.records_matched += 1;
            match sel {
                Selected::WebId(a) => out.attempts.push(*a),
                Selected::Change(c) => out.changes.push(*c),
                Selected::CallFailure(f) => out.call_failures.push(*f),
            }
        }
        Err(Rejected::BadTime) => return Some("eventTime is missing or not an RFC 3339 time"),
        Err(Rejected::Uninteresting | Rejected::OutOfWindow | Rejected::NotAnEvent) => {}
    }
    None
}

pub(crate) enum FirstRecord {
    Event,
    Inventory(Value),
    Builds(Value),
    NotALog(String),
}

pub(crate) fn classify_first(bytes: &[u8]) -> FirstRecord {
    #[derive(serde::Deserialize)]
    struct Probe<'a> {
        #[serde(default, rename = "eventName", borrow)]
        event_name: Option<std::borrow::Cow<'a, str>>,
        #[serde(default, rename = "CloudTrailEvent", borrow)]
        cloudtrail_event: Option<std::borrow::Cow<'a, str>>,
        #[serde(default, rename = "digestStartTime")]
        digest_start: Option<serde::de::IgnoredAny>,
    }
    match serde_json::from_slice::<Probe>(bytes) {
        Ok(p) if p.event_name.is_some() || p.cloudtrail_event.is_some() => FirstRecord::Event,
        Ok(p) if p.digest_start.is_some() => {
            FirstRecord::NotALog("CloudTrail digest file".to_owned())
        }
        Ok(_) => match serde_json::from_slice::<Value>(bytes) {
            Ok(v) if is_inventory_doc(&v) => FirstRecord::Inventory(v),
            Ok(v) if is_build_document(&v) => FirstRecord::Builds(v),
            _ => FirstRecord::NotALog(
                "not a CloudTrail log (the first record has no eventName)".to_owned(),
            ),
        },
        // An undecodable first record is left to the main loop, which counts it.
        Err(_) => FirstRecord::Event,
    }
}

/// Runs `f` inside a rayon pool of `threads` workers (rayon's default, one per core, when
/// `None`).
pub fn in_pool<T: Send>(threads: Option<usize>, f: impl FnOnce() -> T + Send) -> anyhow::Result<T> {
    let mut b = rayon::ThreadPoolBuilder::new();
    if let Some(n) = threads {
        b = b.num_threads(n);
    }
    let pool = b
        .build()
        .map_err(|e| anyhow::anyhow!("cannot start worker threads: {e}"))?;
    Ok(pool.install(f))
}
