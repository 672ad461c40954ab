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

use crate::codebuild::log::{self as build_log, TextKind};
use crate::codebuild::record::{builds_from_value, is_build_document};
use crate::codebuild::BuildDoc;
use crate::decode::Peeked;
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
///
/// How an input is counted (the same for `explain`, `report` and `query`): *read* when at
/// least one of its records could be read (`files_read`), and of those *partly read*
/// (`files_partly_read`) when some of it could not be: a record that is not a JSON object
/// or could not be decoded, a record the window needs whose `eventTime` is missing or
/// invalid, or a stream that ended in an error (gzip truncated or corrupt, JSON structure
/// broken, the size cap) or was interrupted; *unreadable* (`files_unreadable`, named in
/// `skipped`) when nothing could be read from it: it could not be opened or decompressed,
/// or it gave no readable record and some problem. Either way the run is partial (exit 3).
/// A record that the byte pre-filter rules out is not decoded, so damage inside it is not
/// seen (the structure around it always is).
#[derive(Debug, Clone, Default, Serialize)]
pub struct ScanStats {
    /// Inputs from which at least one record was read, partly read ones included.
    pub files_read: u64,
    /// Of `files_read`, the inputs not read completely (their problems are in `problems`);
    /// `explain`'s `--iam` inputs read in part are counted here too (as their unreadable ones
    /// are in `files_unreadable`), though `files_read` counts SOURCE inputs only.
    pub files_partly_read: u64,
    pub files_skipped: u64,
    pub files_unreadable: u64,
    pub skipped: Vec<Skipped>,
    pub records_scanned: u64,
    pub records_matched: u64,
    /// Records that are not a JSON object or could not be decoded.
    pub records_undecodable: u64,
    /// Records that could not be placed in the window: their `eventTime` is missing or not an
    /// RFC 3339 time (only counted where a window asks for it, and by `explain` for the
    /// records it needs).
    pub records_unplaced: u64,
    /// Every record skipped with a reason: `records_undecodable` + `records_unplaced`.
    pub records_unreadable: u64,
    /// What could not be read of the partly read inputs: the first
    /// [`PROBLEMS_PER_FILE`] of each (and the error that ended it, if later).
    pub problems: Vec<Problem>,
    /// Problems of partly read inputs beyond those listed in `problems`.
    pub problems_omitted: u64,
    pub bytes_decompressed: u64,
    /// The scan was stopped by Ctrl-C before every input was read.
    pub interrupted: bool,
    /// Failures the analysis would explain that were read but lie outside the time window,
    /// and the earliest and latest of them (what `--since`/`--until` would take them in).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub failures_outside_window: Option<OutsideWindow>,
    /// What an s3:// listing did (requests, objects listed, pruned, fetched).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub s3: Option<S3Summary>,
    /// What each athena:// and lake:// query did (id, bytes scanned and their price, rows,
    /// objects re-read).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub queries: Option<Vec<crate::source::athena::QuerySummary>>,
}

/// Failures read outside the window: how many, and between which times.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct OutsideWindow {
    pub count: u64,
    pub earliest: chrono::DateTime<chrono::Utc>,
    pub latest: chrono::DateTime<chrono::Utc>,
}

impl OutsideWindow {
    fn add(this: &mut Option<OutsideWindow>, other: OutsideWindow) {
        *this = Some(match *this {
            None => other,
            Some(o) => OutsideWindow {
                count: o.count + other.count,
                earliest: o.earliest.min(other.earliest),
                latest: o.latest.max(other.latest),
            },
        });
    }
}

impl ScanStats {
    /// Some input could not be read completely: unreadable, or read only in part (exit code 3).
    pub fn not_fully_read(&self) -> bool {
        self.files_unreadable > 0 || self.files_partly_read > 0
    }
}

/// At most this many problems of one input are listed in [`ScanStats::problems`] (and on
/// stderr); the rest are counted in `problems_omitted`.
pub const PROBLEMS_PER_FILE: usize = 10;

/// One thing that could not be read in an input that was otherwise read: a record, or the
/// stream after some records.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Problem {
    pub file: String,
    /// The record's index among the input's records, from 0 (`.Records[N]` of a log object,
    /// the N+1th value of NDJSON); for an error of the stream, the number of records read
    /// before it.
    pub record: u64,
    /// Decompressed byte offset of the record or error.
    pub byte: u64,
    pub reason: String,
    /// An error of the stream rather than of one record.
    #[serde(skip)]
    pub stream: bool,
}

impl Problem {
    /// The stderr text after the file name: `record 6 (byte 8202): could not be decoded: …`,
    /// or `after 107 records: gzip stream is truncated at decompressed byte 88196`.
    pub fn line(&self) -> String {
        match self.stream {
            true => format!("after {} record(s): {}", self.record, self.reason),
            false => format!(
                "record {} (byte {}): {}",
                self.record, self.byte, self.reason
            ),
        }
    }
}

/// Why a record could not be read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RecordProblem {
    /// Not a JSON object, or not decodable.
    Undecodable,
    /// Its `eventTime` is missing or invalid where the window needs it.
    Unplaced,
}

/// The problems met while reading one input, and how the input is counted once it is read
/// (shared by `scan` and `query`, so both count the same way).
#[derive(Debug, Default)]
pub struct Damage {
    problems: Vec<Problem>,
    omitted: u64,
    undecodable: u64,
    unplaced: u64,
    /// The stream ended in an error not listed (beyond the bound), kept to list it anyway.
    last_unlisted: Option<Problem>,
    /// The last problem was an error of the stream (so far: it ended the input if nothing
    /// follows).
    last_was_stream: bool,
}

impl Damage {
    fn push(&mut self, p: Problem) {
        if self.problems.len() < PROBLEMS_PER_FILE {
            self.problems.push(p);
            self.last_unlisted = None;
        } else {
            self.omitted += 1;
            self.last_unlisted = Some(p);
        }
    }

    /// A record (index `record`, at `byte`) that could not be read.
    pub fn record(
        &mut self,
        file: &str,
        record: u64,
        byte: u64,
        kind: RecordProblem,
        reason: String,
    ) {
        match kind {
            RecordProblem::Undecodable => self.undecodable += 1,
            RecordProblem::Unplaced => self.unplaced += 1,
        }
        self.last_was_stream = false;
        self.push(Problem {
            file: file.to_owned(),
            record,
            byte,
            reason,
            stream: false,
        });
    }

    /// An error of the stream after `records` records (the splitter may go on after it).
    pub fn stream(&mut self, file: &str, records: u64, byte: u64, reason: String) {
        self.last_was_stream = true;
        self.push(Problem {
            file: file.to_owned(),
            record: records,
            byte,
            reason,
            stream: true,
        });
    }

    /// Records that could not be read.
    pub fn records(&self) -> u64 {
        self.undecodable + self.unplaced
    }

    /// Counts the input in `stats`, `records` records having been taken from it: read,
    /// partly read (problems listed), or unreadable (named in `skipped`).
    pub fn count(mut self, stats: &mut ScanStats, name: String, records: u64) {
        stats.records_undecodable += self.undecodable;
        stats.records_unplaced += self.unplaced;
        stats.records_unreadable += self.records();
        if self.problems.is_empty() {
            stats.files_read += 1;
            return;
        }
        // the error that ended the input is worth more than the eleventh bad record
        if let (true, Some(end)) = (self.last_was_stream, self.last_unlisted.take()) {
            self.omitted -= 1;
            self.problems.push(end);
        }
        if records > self.records() {
            stats.files_read += 1;
            stats.files_partly_read += 1;
            stats.problems.append(&mut self.problems);
            stats.problems_omitted += self.omitted;
            return;
        }
        // nothing could be read: one line, as for a file that could not be opened
        let total = self.problems.len() as u64 + self.omitted;
        let first = &self.problems[0];
        let reason = match total {
            1 if first.stream => first.reason.clone(),
            1 => first.line(),
            n => format!("{n} problems, first: {}", first.line()),
        };
        stats.files_unreadable += 1;
        stats.skipped.push(Skipped {
            name,
            reason,
            by_design: false,
        });
    }
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
    /// `--aws-details`, `--aws-details-dir`: AWS's records of the denials read.
    pub aws_details: Option<crate::authz::AwsRecords>,
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
        s.files_partly_read += o.files_partly_read;
        s.files_skipped += o.files_skipped;
        s.files_unreadable += o.files_unreadable;
        s.skipped.extend(o.skipped);
        s.records_scanned += o.records_scanned;
        s.records_matched += o.records_matched;
        s.records_undecodable += o.records_undecodable;
        s.records_unplaced += o.records_unplaced;
        s.records_unreadable += o.records_unreadable;
        s.problems.extend(o.problems);
        s.problems_omitted += o.problems_omitted;
        s.bytes_decompressed += o.bytes_decompressed;
        s.interrupted |= o.interrupted;
        if let Some(w) = o.failures_outside_window {
            OutsideWindow::add(&mut s.failures_outside_window, w);
        }
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
        || o.contains_key("ResourceTagMappingList")
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

/// Why an input could not be opened for reading (it is counted unreadable, named with the
/// reason).
pub enum Unopened {
    /// Ctrl-C came before it was opened.
    Interrupted(Skipped),
    /// It could not be opened or its compression read.
    Failed(Skipped),
}

/// Opens one input for reading — the one place `explain`, `report`, `query` and `verify` do
/// it: noted for `--verify` (`hashes`), opened, its compression recognised, hashed as it is
/// read when verifying; a failure is recorded for `--verify` too.
pub fn open_input<'a>(
    input: &Input,
    limits: &DecodeLimits,
    hashes: Option<&'a crate::integrity::HashSink>,
) -> Result<Box<dyn decode::Decompressed + 'a>, Unopened> {
    let name = input.display_name();
    if let Some(h) = hashes {
        h.note_input(input);
    }
    if interrupt::requested() {
        return Err(Unopened::Interrupted(Skipped {
            name,
            reason: "not read: interrupted".to_owned(),
            by_design: false,
        }));
    }
    match input.open().and_then(|r| decode::decompress(r, limits)) {
        Ok((_, r)) => Ok(crate::integrity::HashSink::wrap(hashes, &name, r)),
        Err(e) => {
            if let Some(h) = hashes {
                h.record_failure(&name, io_reason(&e));
            }
            Err(Unopened::Failed(Skipped {
                name,
                reason: io_reason(&e),
                by_design: false,
            }))
        }
    }
}

fn scan_input(
    input: &Input,
    selector: &Selector,
    limits: &DecodeLimits,
    hashes: Option<&crate::integrity::HashSink>,
) -> Scan {
    let name = input.display_name();
    let mut out = Scan::default();
    let reader = match open_input(input, limits, hashes) {
        Ok(r) => r,
        Err(Unopened::Interrupted(skip)) => {
            out.stats.interrupted = true;
            out.stats.files_unreadable += 1;
            out.stats.skipped.push(skip);
            return out;
        }
        Err(Unopened::Failed(skip)) => {
            out.stats.files_unreadable += 1;
            out.stats.skipped.push(skip);
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
    let mut damage = Damage::default();
    loop {
        // the index of the record about to be read
        let index = out.stats.records_scanned;
        // An error is not necessarily the end: the splitter resyncs where it can (NDJSON)
        // and returns None once nothing more can be read.
        let raw = match splitter.next_record() {
            // checked after the read: a record that arrives after Ctrl-C is not used
            Ok(Some(r)) if interrupt::requested() => {
                out.stats.interrupted = true;
                damage.stream(&name, index, r.offset, "interrupted".to_owned());
                break;
            }
            Ok(Some(r)) => r,
            Ok(None) => break,
            Err(e) => {
                damage.stream(&name, index, e.offset(), e.to_string());
                continue;
            }
        };
        out.stats.records_scanned += 1;
        let is_first = std::mem::replace(&mut first, false);
        if raw.kind != RecordKind::Object {
            damage.record(
                &name,
                index,
                raw.offset,
                RecordProblem::Undecodable,
                "not a JSON object".to_owned(),
            );
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
                    take_builds(&value, &name, (index, raw.offset), &mut out, &mut damage);
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
                Ok(v) if is_build_document(&v) => {
                    take_builds(&v, &name, (index, raw.offset), &mut out, &mut damage);
                }
                _ => damage.record(
                    &name,
                    index,
                    raw.offset,
                    RecordProblem::Undecodable,
                    "not a CodeBuild build record".to_owned(),
                ),
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
                _ => damage.record(
                    &name,
                    index,
                    raw.offset,
                    RecordProblem::Undecodable,
                    "not an inventory document".to_owned(),
                ),
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
        if let Err((kind, why)) = decode_and_take(raw.bytes, selector, &mut out) {
            damage.record(&name, index, raw.offset, kind, why);
        }
    }
    out.stats.bytes_decompressed = splitter.bytes_read();
    if let Some(h) = hashes {
        let ids = out.attempts.iter().map(|a| a.event_id.as_str());
        let ids = ids.chain(out.call_failures.iter().map(|f| f.event_id.as_str()));
        h.note_events(&name, ids);
    }
    let records = out.stats.records_scanned;
    damage.count(&mut out.stats, name, records);
    out
}

/// Keeps the builds of one build document (the record at `(index, offset)`); a malformed
/// one is counted as undecodable.
fn take_builds(
    v: &Value,
    name: &str,
    (index, offset): (u64, u64),
    out: &mut Scan,
    damage: &mut Damage,
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
        Err(why) => damage.record(
            name,
            index,
            offset,
            RecordProblem::Undecodable,
            why.to_string(),
        ),
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
fn decode_and_take(
    bytes: &[u8],
    selector: &Selector,
    out: &mut Scan,
) -> Result<(), (RecordProblem, String)> {
    let undecodable = |why: String| (RecordProblem::Undecodable, why);
    let lossy;
    let rec = match serde_json::from_slice::<Record>(bytes) {
        Ok(r) => r,
        Err(e) if std::str::from_utf8(bytes).is_err() => {
            lossy = String::from_utf8_lossy(bytes).into_owned();
            serde_json::from_str::<Record>(&lossy)
                .map_err(|_| undecodable(format!("could not be decoded: {e}")))?
        }
        Err(e) => return Err(undecodable(format!("could not be decoded: {e}"))),
    };
    let problem = match rec.cloudtrail_event.as_deref() {
        Some(inner) => {
            let inner_rec = serde_json::from_str::<Record>(inner).map_err(|e| {
                undecodable(format!(
                    "its CloudTrailEvent string is not a valid event: {e}"
                ))
            })?;
            take(selector, &inner_rec, out)
        }
        None => take(selector, &rec, out),
    };
    match problem {
        Some(why) => Err((RecordProblem::Unplaced, why.to_owned())),
        None => Ok(()),
    }
}

/// Keeps a selected record; returns why a record the analysis needed could not be placed in
/// time.
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
        Err(Rejected::BadTime) => return Some(BAD_TIME),
        Err(Rejected::FailureOutsideWindow(t)) => OutsideWindow::add(
            &mut out.stats.failures_outside_window,
            OutsideWindow {
                count: 1,
                earliest: t,
                latest: t,
            },
        ),
        Err(Rejected::Uninteresting | Rejected::OutOfWindow | Rejected::NotAnEvent) => {}
    }
    None
}

/// Why a record that had to be placed in time could not be (`explain` and `query` alike).
pub const BAD_TIME: &str = "eventTime is missing or not an RFC 3339 time";

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

#[cfg(test)]
mod tests {
    use super::*;

    fn counted(damage: Damage, records: u64) -> ScanStats {
        let mut stats = ScanStats::default();
        damage.count(&mut stats, "f.json".to_owned(), records);
        stats
    }

    #[test]
    fn an_input_is_read_partly_read_or_unreadable() {
        // no problem: read
        let s = counted(Damage::default(), 3);
        assert_eq!(
            (s.files_read, s.files_partly_read, s.files_unreadable),
            (1, 0, 0)
        );
        // one bad record of three: read, in part, the record named
        let mut d = Damage::default();
        d.record(
            "f.json",
            1,
            40,
            RecordProblem::Unplaced,
            BAD_TIME.to_owned(),
        );
        let s = counted(d, 3);
        assert_eq!(
            (s.files_read, s.files_partly_read, s.files_unreadable),
            (1, 1, 0)
        );
        assert_eq!((s.records_unplaced, s.records_unreadable), (1, 1));
        assert_eq!(
            s.problems[0].line(),
            "record 1 (byte 40): eventTime is missing or not an RFC 3339 time"
        );
        assert!(s.skipped.is_empty());
        // every record bad: unreadable, one line in `skipped`
        let mut d = Damage::default();
        d.record(
            "f.json",
            0,
            12,
            RecordProblem::Undecodable,
            "not a JSON object".to_owned(),
        );
        let s = counted(d, 1);
        assert_eq!(
            (s.files_read, s.files_partly_read, s.files_unreadable),
            (0, 0, 1)
        );
        assert_eq!(s.skipped[0].reason, "record 0 (byte 12): not a JSON object");
        assert!(s.problems.is_empty());
        // a stream error before any record: its reason alone
        let mut d = Damage::default();
        d.stream(
            "f.json",
            0,
            0,
            "gzip stream is truncated at decompressed byte 0".to_owned(),
        );
        let s = counted(d, 0);
        assert_eq!(s.files_unreadable, 1);
        assert_eq!(
            s.skipped[0].reason,
            "gzip stream is truncated at decompressed byte 0"
        );
    }

    #[test]
    fn problems_are_bounded_per_input_and_the_ending_error_is_kept() {
        let mut d = Damage::default();
        for i in 0..15 {
            d.record(
                "f.json",
                i,
                i * 10,
                RecordProblem::Undecodable,
                "bad".to_owned(),
            );
        }
        d.stream("f.json", 20, 999, "gzip stream is truncated".to_owned());
        let s = counted(d, 20);
        assert_eq!(s.files_partly_read, 1);
        assert_eq!(s.records_undecodable, 15);
        assert_eq!(s.problems.len(), PROBLEMS_PER_FILE + 1);
        assert_eq!(
            s.problems[PROBLEMS_PER_FILE].line(),
            "after 20 record(s): gzip stream is truncated"
        );
        assert_eq!(s.problems_omitted, 5);
        // a record problem after the stream error: the error is not the end, nothing is added
        let mut d = Damage::default();
        for i in 0..11 {
            d.stream("f.json", i, i, "invalid JSON".to_owned());
        }
        d.record(
            "f.json",
            11,
            500,
            RecordProblem::Undecodable,
            "bad".to_owned(),
        );
        let s = counted(d, 30);
        assert_eq!(s.problems.len(), PROBLEMS_PER_FILE);
        assert_eq!(s.problems_omitted, 2);
    }
}
