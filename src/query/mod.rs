//! `query`: ad-hoc filters, jq, projections and group-by counts over any CloudTrail events.
//!
//! Each input is read by one worker (source → decode, as in `scan`): a byte pre-filter and
//! the typed filters ([`filter`]) drop records before any value is built. A survivor whose
//! row is only parts of the record (no `--jq`, `.`, `.a.b`, `{a, b: .c.d}`) and goes out as
//! an NDJSON line is written straight from its bytes ([`project`]); the others become jq
//! values, redacted as they are built ([`json`]), go through `--jq` ([`jq`]) and are
//! rendered into rows by the worker (NDJSON lines into one buffer per batch). Rows travel in
//! batches over one bounded channel per input, and the writer drains the inputs strictly in
//! input order ([`output`] lays the rows out), so the output does not depend on thread timing
//! and memory stays bounded: at most [`IN_FLIGHT_PER_THREAD`] inputs per thread are open,
//! each with at most [`BATCHES`] batches waiting. `--count` and `--group-by` send only
//! counts. Inputs are claimed as they arrive ([`Inputs`]: an `s3://` listing may still be
//! growing the list); once `--limit` is certain to be reached (the writer wrote it, or one
//! input alone holds enough rows, or `--count` counted enough), the inputs are cancelled, so
//! no further object is listed or fetched.
//!
//! The jq program is looked at once, conservatively, for work it makes unnecessary: a leading
//! `select` on plain fields adds byte needles to the pre-filter (`jq::required_needles`), a
//! program that reads only some parts of the record gets records holding only those
//! (`jq::read_parts`), and a program that only copies parts of the record is not run
//! at all (`jq::projection`). None of these changes an output.
//!
//! This module does not explain anything and keeps no record beyond the batch it is writing.

pub mod eval;
pub mod filter;
pub mod jq;
pub mod json;
pub mod output;
pub mod project;
pub mod regex;
pub mod value;

use std::borrow::Cow;
use std::collections::HashMap;
use std::io::Write;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::Duration;

use crossbeam_channel::{bounded, Receiver, SendTimeoutError, Sender};
use jaq_json::Val;
use memchr::memmem::Finder;

use crate::decode::{DecodeLimits, RecordKind, RecordSplitter};
use crate::event::Record;
use crate::scan::{
    classify_first, open_input, Damage, FirstRecord, RecordProblem, ScanStats, Unopened, BAD_TIME,
};
use crate::source::{Input, Inputs, Skipped};
use filter::{CompiledFilter, Verdict};
use jq::JqProgram;
use output::Cell;
use output::{Format, Row, RowWriter};
use project::Projection;
use value::Path;

/// Inputs open at once per worker thread (the reorder window).
pub const IN_FLIGHT_PER_THREAD: usize = 2;
/// Batches an input may have waiting for the writer.
pub const BATCHES: usize = 4;
/// Rows per batch.
const BATCH_ROWS: usize = 256;
/// Bytes of NDJSON lines per batch (a batch ends at whichever limit comes first).
const BATCH_BYTES: usize = 128 * 1024;
/// How often a blocked worker looks at the stop flag.
const POLL: Duration = Duration::from_millis(50);

/// What `query` prints.
#[derive(Debug, Clone)]
pub enum Mode {
    /// Every row (the value, or its `--fields` projection).
    Rows { fields: Vec<Path> },
    /// Only the number of rows.
    Count,
    /// One row per distinct tuple of values at these paths, with its count.
    Groups(Vec<Path>),
}

/// The typed configuration of a query.
pub struct Query {
    pub filter: CompiledFilter,
    pub jq: Option<JqProgram>,
    /// Rows that are parts of the record (no `--jq`, or `jq::projection`), written from
    /// the record's bytes when the output is NDJSON lines of them.
    pub projection: Option<Projection>,
    pub mode: Mode,
    pub limit: Option<u64>,
    pub format: Format,
    pub limits: DecodeLimits,
    /// `--verify`: each input's decompressed bytes are hashed as they are read.
    pub hashes: Option<std::sync::Arc<crate::integrity::HashSink>>,
    /// The width a table is fitted to (the terminal's, else `COLUMNS`).
    pub width: Option<usize>,
}

/// What happened, for stderr and the exit code.
#[derive(Debug, Default)]
pub struct Outcome {
    pub stats: ScanStats,
    pub rows: u64,
    pub jq_errors: u64,
    /// The first jq runtime error: where, and jaq's message.
    pub first_jq_error: Option<String>,
    /// CSV rows whose keys did not fit the columns of the first row.
    pub csv_misfits: u64,
}

impl Outcome {
    /// Some input could not be read completely (exit code 3): unreadable or partly read.
    pub fn partial(&self) -> bool {
        self.stats.not_fully_read()
    }
}

/// Runs the query: the workers on a rayon pool of `threads` (one per core when `None`), the
/// writer on this thread.
/// A write error (a closed pipe) stops the workers and is returned. However the writer
/// stops, `inputs` are cancelled: nothing more is fetched.
pub fn run<W: Write>(
    query: &Query,
    inputs: &Inputs,
    pre_skipped: Vec<Skipped>,
    threads: Option<usize>,
    out: W,
) -> anyhow::Result<Outcome> {
    let mut writer = RowWriter::new(out, query.format, columns(query)).fit_to(query.width);
    let mut outcome = Outcome::default();
    for s in pre_skipped {
        outcome.add_skipped(s);
    }
    let pool_size = threads;
    let threads = threads.unwrap_or_else(|| {
        std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get)
    });
    let shared = Shared {
        query,
        inputs,
        next: Mutex::new(0),
        stop: AtomicBool::new(false),
        counted: AtomicU64::new(0),
    };
    let (claim_tx, claim_rx) = bounded::<Claim>(threads.max(1) * IN_FLIGHT_PER_THREAD);
    let mut groups: HashMap<Vec<String>, u64> = HashMap::new();
    let (written, pool) = std::thread::scope(|s| {
        let shared = &shared;
        let workers = s.spawn(move || {
            let claims = claim_tx;
            crate::scan::in_pool(pool_size, || {
                rayon::broadcast(|_| worker(shared, &claims));
            })
        });
        let written = drain(shared, &claim_rx, &mut writer, &mut outcome, &mut groups);
        // whatever the reason the writer stopped, the workers stop too, and no more inputs
        // are listed or fetched
        shared.stop.store(true, Ordering::Relaxed);
        shared.inputs.cancel();
        while claim_rx.try_recv().is_ok() {}
        drop(claim_rx);
        let pool = workers
            .join()
            .unwrap_or_else(|_| Err(anyhow::anyhow!("a worker thread panicked")));
        (written, pool)
    });
    pool?;
    written?;
    // a listing that failed fails the run: a count or groups would be the count of part of
    // the SOURCEs, so nothing more is written (rows already streamed stay)
    inputs.result()?;
    match &query.mode {
        Mode::Rows { .. } => {}
        Mode::Count => {
            let counted = shared.counted.load(Ordering::Relaxed);
            outcome.rows = query.limit.map_or(counted, |l| counted.min(l));
            writer.write_line(&outcome.rows.to_string())?;
        }
        Mode::Groups(paths) => {
            let mut sorted: Vec<(Vec<String>, u64)> = groups.into_iter().collect();
            sorted.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
            if let Some(l) = query.limit {
                sorted.truncate(usize::try_from(l).unwrap_or(usize::MAX));
            }
            for (key, count) in sorted {
                writer.row(group_row(query.format, paths, &key, count))?;
            }
        }
    }
    writer.finish()?;
    outcome.csv_misfits = writer.misfits;
    Ok(outcome)
}

impl Outcome {
    fn add_skipped(&mut self, s: Skipped) {
        if s.by_design {
            self.stats.files_skipped += 1;
        } else {
            self.stats.files_unreadable += 1;
        }
        self.stats.skipped.push(s);
    }
}

/// The columns of a table or CSV, when they are known before the first row.
fn columns(query: &Query) -> Option<Vec<String>> {
    match &query.mode {
        Mode::Rows { fields } if !fields.is_empty() => {
            Some(fields.iter().map(|p| p.name.clone()).collect())
        }
        Mode::Groups(paths) => Some(
            paths
                .iter()
                .map(|p| p.name.clone())
                .chain(["count".to_owned()])
                .collect(),
        ),
        _ => None,
    }
}

/// An input claimed by a worker, and where its batches arrive.
type Claim = (usize, Receiver<Msg>);

struct Shared<'a> {
    query: &'a Query,
    inputs: &'a Inputs,
    /// The next input to claim; claims reach the writer in this order.
    next: Mutex<usize>,
    /// Set by the writer when it stops (done, limit reached, output closed).
    stop: AtomicBool,
    /// Rows counted under `--count`, across workers (for `--limit`).
    counted: AtomicU64,
}

enum Msg {
    Rows(Vec<Row>),
    /// NDJSON rows, already written as lines: the bytes and how many lines they hold.
    Lines(Vec<u8>, u64),
    Done(Box<FileOutcome>),
}

#[derive(Default)]
struct FileOutcome {
    /// Skipped by design, or not opened or decompressed.
    skipped: Option<Skipped>,
    /// The input's name and what could not be read of it, once it was split.
    damage: Option<(String, Damage)>,
    records: u64,
    bytes: u64,
    jq_errors: u64,
    first_jq_error: Option<String>,
    groups: HashMap<Vec<String>, u64>,
}

/// The writer: inputs in claim order, which is input order, each input's batches in order.
fn drain<W: Write>(
    shared: &Shared<'_>,
    claims: &Receiver<Claim>,
    writer: &mut RowWriter<W>,
    outcome: &mut Outcome,
    groups: &mut HashMap<Vec<String>, u64>,
) -> std::io::Result<()> {
    let limit = match shared.query.mode {
        Mode::Rows { .. } => shared.query.limit,
        _ => None,
    };
    let full = |rows: u64| limit.is_some_and(|l| rows >= l);
    if full(0) {
        return Ok(());
    }
    for (_, rx) in claims.iter() {
        for msg in rx.iter() {
            match msg {
                Msg::Rows(rows) => {
                    for row in rows {
                        writer.row(row)?;
                        outcome.rows += 1;
                        if full(outcome.rows) {
                            return Ok(());
                        }
                    }
                }
                Msg::Lines(bytes, rows) => {
                    let room = limit.map_or(rows, |l| l.saturating_sub(outcome.rows));
                    if rows <= room {
                        writer.lines(&bytes)?;
                        outcome.rows += rows;
                    } else {
                        // every row is one line: stop after the last one --limit allows
                        let end = memchr::memchr_iter(b'\n', &bytes)
                            .nth(
                                usize::try_from(room)
                                    .unwrap_or(usize::MAX)
                                    .saturating_sub(1),
                            )
                            .map_or(0, |at| at + 1);
                        writer.lines(&bytes[..end])?;
                        outcome.rows += room;
                    }
                    if full(outcome.rows) {
                        return Ok(());
                    }
                }
                Msg::Done(f) => merge(*f, outcome, groups),
            }
        }
    }
    Ok(())
}

fn merge(f: FileOutcome, outcome: &mut Outcome, groups: &mut HashMap<Vec<String>, u64>) {
    let s = &mut outcome.stats;
    s.records_scanned += f.records;
    s.bytes_decompressed += f.bytes;
    match (f.skipped, f.damage) {
        (Some(skip), _) => outcome.add_skipped(skip),
        (None, Some((name, damage))) => damage.count(&mut outcome.stats, name, f.records),
        (None, None) => outcome.stats.files_read += 1,
    }
    for (k, n) in f.groups {
        *groups.entry(k).or_insert(0) += n;
    }
    if outcome.first_jq_error.is_none() {
        outcome.first_jq_error = f.first_jq_error;
    }
    outcome.jq_errors += f.jq_errors;
}

/// Sends unless the writer has stopped; false when the message could not be delivered.
fn send<T>(tx: &Sender<T>, mut msg: T, stop: &AtomicBool) -> bool {
    loop {
        match tx.send_timeout(msg, POLL) {
            Ok(()) => return true,
            Err(SendTimeoutError::Disconnected(_)) => return false,
            Err(SendTimeoutError::Timeout(m)) => {
                if stop.load(Ordering::Relaxed) {
                    return false;
                }
                msg = m;
            }
        }
    }
}

/// One worker thread: claims the next input, reads it, sends its rows, until none is left.
fn worker(shared: &Shared<'_>, claims: &Sender<Claim>) {
    loop {
        if shared.stopped() || shared.count_limit_reached() {
            return;
        }
        let (index, input, tx) = {
            let mut next = shared
                .next
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            let index = *next;
            // waits for an input still being listed; none after the last or a cancel
            let Some(input) = shared.inputs.take(index) else {
                return;
            };
            *next += 1;
            let (tx, rx) = bounded(BATCHES);
            // announced while holding the lock, so claims reach the writer in input order
            if !send(claims, (index, rx), &shared.stop) {
                return;
            }
            (index, input, tx)
        };
        let mut emit = Emitter::new(shared, index, &tx);
        let mut f = read_input(&input, shared.query, &mut emit);
        // a remote object's fetch slot is free once its reader is gone
        drop(input);
        emit.flush();
        f.jq_errors = emit.jq_errors;
        f.first_jq_error = emit.first_jq_error.take();
        f.groups = std::mem::take(&mut emit.groups);
        if !send(&tx, Msg::Done(Box::new(f)), &shared.stop) {
            return;
        }
    }
}

impl Shared<'_> {
    /// The writer stopped, or Ctrl-C asked to stop reading.
    fn stopped(&self) -> bool {
        self.stop.load(Ordering::Relaxed) || crate::interrupt::requested()
    }

    fn count_limit_reached(&self) -> bool {
        matches!(self.query.mode, Mode::Count)
            && self
                .query
                .limit
                .is_some_and(|l| self.counted.load(Ordering::Relaxed) >= l)
    }
}

/// Turns the output values of one input into rows, batches or counts.
struct Emitter<'a> {
    shared: &'a Shared<'a>,
    /// The input's index.
    index: usize,
    tx: &'a Sender<Msg>,
    batch: Vec<Row>,
    /// NDJSON rows written straight into one buffer (`--format ndjson` rows).
    lines: Vec<u8>,
    lines_rows: u64,
    /// `"name":` of each `--fields` path, for NDJSON lines.
    field_keys: Vec<Vec<u8>>,
    rows: u64,
    groups: HashMap<Vec<String>, u64>,
    jq_errors: u64,
    first_jq_error: Option<String>,
    /// No more rows are wanted from this input.
    done: bool,
}

impl<'a> Emitter<'a> {
    fn new(shared: &'a Shared<'a>, index: usize, tx: &'a Sender<Msg>) -> Emitter<'a> {
        let field_keys = match &shared.query.mode {
            Mode::Rows { fields } => fields
                .iter()
                .map(|p| {
                    let mut key = serde_json::Value::from(p.name.as_str())
                        .to_string()
                        .into_bytes();
                    key.push(b':');
                    key
                })
                .collect(),
            _ => Vec::new(),
        };
        Emitter {
            shared,
            index,
            tx,
            batch: Vec::new(),
            lines: Vec::new(),
            lines_rows: 0,
            field_keys,
            rows: 0,
            groups: HashMap::new(),
            jq_errors: 0,
            first_jq_error: None,
            done: false,
        }
    }

    fn wants_more(&self) -> bool {
        !self.done && !self.shared.stopped() && !self.shared.count_limit_reached()
    }

    /// One output value; false once no more are wanted.
    fn value(&mut self, v: &Val) -> bool {
        if self.done {
            return false;
        }
        let q = self.shared.query;
        self.rows += 1;
        match &q.mode {
            Mode::Rows { fields } => {
                if q.format == Format::Ndjson {
                    self.line(fields, v);
                } else {
                    self.batch.push(render(q.format, fields, v));
                }
                self.row_written();
            }
            Mode::Count => {
                let total = self.shared.counted.fetch_add(1, Ordering::Relaxed) + 1;
                if q.limit.is_some_and(|l| total >= l) {
                    self.done = true;
                    // enough is counted: no input after this one is needed
                    self.shared.inputs.cancel_after(self.index);
                }
            }
            Mode::Groups(paths) => {
                let key = paths
                    .iter()
                    .map(|p| p.get(v).map_or_else(|| "null".to_owned(), output::to_json))
                    .collect();
                *self.groups.entry(key).or_insert(0) += 1;
            }
        }
        !self.done
    }

    /// The row of a projection, written straight from the record's bytes; `None` when the
    /// record must take the value path instead.
    fn projected(&mut self, projection: &Projection, record: &[u8]) -> Option<bool> {
        if self.done {
            return Some(false);
        }
        self.reserve_lines();
        if !projection.write(record, &mut self.lines) {
            return None;
        }
        self.lines.push(b'\n');
        self.lines_rows += 1;
        self.rows += 1;
        self.row_written();
        Some(!self.done)
    }

    /// After a row of `Mode::Rows` (counted in `rows`): the limit, full batches.
    fn row_written(&mut self) {
        // no input contributes more than --limit rows; and as every input before this one
        // is claimed, no input after it is needed: nothing more is listed or fetched
        if self.shared.query.limit.is_some_and(|l| self.rows >= l) {
            self.done = true;
            self.shared.inputs.cancel_after(self.index);
        }
        if self.batch.len() >= BATCH_ROWS
            || self.lines_rows >= BATCH_ROWS as u64
            || self.lines.len() >= BATCH_BYTES
        {
            self.flush();
        }
    }

    fn reserve_lines(&mut self) {
        if self.lines.capacity() == 0 {
            self.lines.reserve(BATCH_BYTES + BATCH_BYTES / 4);
        }
    }

    /// A row under `--count` that needs no value.
    fn count_one(&mut self) {
        self.value(&Val::Null);
    }

    /// A jq runtime error of the record at `record` (its index in the input, from 0, as in
    /// the summary's `problems`).
    fn jq_error(&mut self, name: &str, record: u64, message: String) {
        self.jq_errors += 1;
        self.first_jq_error
            .get_or_insert_with(|| format!("error (at {name}, record {record}): {message}"));
    }

    /// One NDJSON row: the value, or `{"path":value,…}` of `--fields`.
    fn line(&mut self, fields: &[Path], v: &Val) {
        self.reserve_lines();
        if fields.is_empty() {
            json::write(&mut self.lines, v);
        } else {
            self.lines.push(b'{');
            for (i, (p, key)) in fields.iter().zip(&self.field_keys).enumerate() {
                if i > 0 {
                    self.lines.push(b',');
                }
                self.lines.extend_from_slice(key);
                match p.get(v) {
                    Some(x) => json::write(&mut self.lines, x),
                    None => self.lines.extend_from_slice(b"null"),
                }
            }
            self.lines.push(b'}');
        }
        self.lines.push(b'\n');
        self.lines_rows += 1;
    }

    fn flush(&mut self) {
        if !self.batch.is_empty() {
            let rows = std::mem::take(&mut self.batch);
            if !send(self.tx, Msg::Rows(rows), &self.shared.stop) {
                self.done = true;
            }
        }
        if self.lines_rows > 0 {
            let mut bytes = std::mem::take(&mut self.lines);
            // as `output::to_json`: invalid UTF-8 in a string is replaced (no line changes
            // its bounds: a newline is never part of a UTF-8 sequence)
            if std::str::from_utf8(&bytes).is_err() {
                bytes = String::from_utf8_lossy(&bytes).into_owned().into_bytes();
            }
            let rows = std::mem::replace(&mut self.lines_rows, 0);
            if !send(self.tx, Msg::Lines(bytes, rows), &self.shared.stop) {
                self.done = true;
            }
        }
    }
}

/// A row for `format`: the value itself, or its projection on `fields`.
fn render(format: Format, fields: &[Path], v: &Val) -> Row {
    if fields.is_empty() {
        return match (format, v) {
            (Format::Ndjson | Format::Table, _) => Row::Json(output::to_json(v)),
            (Format::Csv, Val::Obj(map)) => Row::Object(
                map.iter()
                    .map(|(k, x)| (key_text(k), Cell::of(Some(x))))
                    .collect(),
            ),
            (Format::Csv, other) => Row::Value(Cell::of(Some(other))),
        };
    }
    match format {
        Format::Ndjson => {
            let pairs = fields.iter().map(|p| {
                let text = p.get(v).map_or_else(|| "null".to_owned(), output::to_json);
                (p.name.as_str(), text)
            });
            Row::Json(json_object(pairs))
        }
        Format::Table | Format::Csv => {
            Row::Cells(fields.iter().map(|p| Cell::of(p.get(v))).collect())
        }
    }
}

/// A group-by result row: the values at the paths, then the count.
fn group_row(format: Format, paths: &[Path], key: &[String], count: u64) -> Row {
    match format {
        Format::Ndjson => {
            let count = count.to_string();
            let pairs = paths
                .iter()
                .map(|p| p.name.as_str())
                .zip(key.iter().cloned())
                .chain([("count", count)]);
            Row::Json(json_object(pairs))
        }
        Format::Table | Format::Csv => Row::Cells(
            key.iter()
                .map(|k| Cell::of_json(k))
                .chain([Cell::Text(count.to_string())])
                .collect(),
        ),
    }
}

/// `{"k":v,…}` from keys and JSON texts.
fn json_object<'k>(pairs: impl Iterator<Item = (&'k str, String)>) -> String {
    let mut out = String::from("{");
    for (i, (k, v)) in pairs.enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push_str(&serde_json::Value::from(k).to_string());
        out.push(':');
        out.push_str(&v);
    }
    out.push('}');
    out
}

fn key_text(k: &Val) -> String {
    match k {
        Val::TStr(s) => String::from_utf8_lossy(s).into_owned(),
        other => output::to_json(other),
    }
}

/// Reads one input (as `scan` does: counted, never fatal) and feeds its records through
/// the filters and jq to `emit`.
fn read_input(input: &Input, q: &Query, emit: &mut Emitter<'_>) -> FileOutcome {
    let name = input.display_name();
    let mut f = FileOutcome::default();
    let reader = match open_input(input, &q.limits, q.hashes.as_deref()) {
        Ok(r) => r,
        Err(Unopened::Interrupted(skip) | Unopened::Failed(skip)) => {
            f.skipped = Some(skip);
            return f;
        }
    };
    // build log text is not JSON: skipped by design, as `scan` reads it for `explain` only
    let reader = crate::decode::Peeked::new(reader);
    if let Some(kind) = crate::codebuild::log::sniff(reader.prefix(), &name) {
        f.skipped = Some(Skipped {
            name: name.clone(),
            reason: match kind {
                crate::codebuild::log::TextKind::BuildLog => {
                    "CodeBuild build log, not a CloudTrail log"
                }
                crate::codebuild::log::TextKind::OtherText => "not a CloudTrail log or build log",
            }
            .to_owned(),
            by_design: true,
        });
        return f;
    }
    let lookup = Finder::new(b"CloudTrailEvent");
    let mut splitter = RecordSplitter::new_whole(reader, &q.limits);
    let mut first = true;
    let mut damage = Damage::default();
    while emit.wants_more() {
        // the index of the record about to be read
        let index = f.records;
        // an error is not necessarily the end: the splitter resyncs where it can
        let raw = match splitter.next_record() {
            Ok(Some(r)) => r,
            Ok(None) => break,
            Err(e) => {
                damage.stream(&name, index, e.offset(), e.to_string());
                continue;
            }
        };
        f.records += 1;
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
        if std::mem::replace(&mut first, false) {
            if let Some(reason) = not_a_log(raw.bytes) {
                f.records = 0;
                f.skipped = Some(Skipped {
                    name,
                    reason,
                    by_design: true,
                });
                return f;
            }
        }
        let found = record(q, raw.bytes, &lookup, emit, &name, index);
        if let Err((kind, why)) = found {
            damage.record(&name, index, raw.offset, kind, why);
        }
    }
    f.bytes = splitter.bytes_read();
    f.damage = Some((name, damage));
    f
}

/// One record through the byte pre-filter, the lookup-events wrapper, the typed filters,
/// redaction and jq.
fn record(
    q: &Query,
    bytes: &[u8],
    lookup: &Finder<'_>,
    emit: &mut Emitter<'_>,
    name: &str,
    index: u64,
) -> Result<(), (RecordProblem, String)> {
    let undecodable = |why: String| (RecordProblem::Undecodable, why);
    if !q.filter.may_match(bytes) {
        return Ok(());
    }
    let inner = match lookup.find(bytes) {
        Some(_) => lookup_event(bytes).map_err(undecodable)?,
        None => None,
    };
    let event = inner.as_deref().map_or(bytes, str::as_bytes);
    if q.filter.is_active() {
        let rec: Record<'_> = serde_json::from_slice(event)
            .map_err(|e| undecodable(format!("could not be decoded: {e}")))?;
        match q.filter.check(&rec) {
            Verdict::Matches => {}
            Verdict::Fails => return Ok(()),
            // as `explain`: a record the filters want but the window cannot place is
            // counted, not dropped
            Verdict::Unplaced => return Err((RecordProblem::Unplaced, BAD_TIME.to_owned())),
        }
    }
    if q.jq.is_none() && matches!(q.mode, Mode::Count) {
        // nothing to show: the record need not become a value, only be valid JSON
        if !q.filter.is_active() {
            serde_json::from_slice::<serde::de::IgnoredAny>(event)
                .map_err(|e| undecodable(format!("could not be decoded: {e}")))?;
        }
        emit.count_one();
        return Ok(());
    }
    if let (Some(projection), Mode::Rows { fields }, Format::Ndjson) =
        (&q.projection, &q.mode, q.format)
    {
        if fields.is_empty() && emit.projected(projection, event).is_some() {
            return Ok(());
        }
    }
    // `select(.f | test("re")) | rest`: the string read from the bytes and the regex run
    // natively; no match, no rows; a match of a projection is written from the bytes;
    // anything else takes the value path
    if let Some(rs) = q.jq.as_ref().and_then(JqProgram::regex_select) {
        let hit = project::string_at(event, &rs.path, rs.default.as_deref())
            .and_then(|text| regex::test_str(&rs.pattern, &rs.flags, &text));
        // no match: `select` passes nothing on, whatever the mode or format
        if hit == Some(false) {
            return Ok(());
        }
        if let (Some(true), Some(then), Mode::Rows { fields }, Format::Ndjson) =
            (hit, &rs.then, &q.mode, q.format)
        {
            if fields.is_empty() && emit.projected(then, event).is_some() {
                return Ok(());
            }
        }
    }
    // a program that reads only some parts of the record gets a record of only those
    let parts = q.jq.as_ref().and_then(JqProgram::parts);
    let v =
        json::parse(event, parts).map_err(|e| undecodable(format!("could not be decoded: {e}")))?;
    match &q.jq {
        None => {
            emit.value(&v);
        }
        Some(program) => program.run(v, |out| match out {
            Ok(x) => emit.value(&x),
            Err(message) => {
                emit.jq_error(name, index, message);
                true
            }
        }),
    }
    Ok(())
}

/// The event inside an `aws cloudtrail lookup-events` element (`CloudTrailEvent`, a JSON
/// string), if the record is one.
fn lookup_event(bytes: &[u8]) -> Result<Option<String>, String> {
    #[derive(serde::Deserialize)]
    struct Lookup<'a> {
        #[serde(borrow, default, rename = "CloudTrailEvent")]
        event: Option<Cow<'a, str>>,
    }
    let probe: Lookup<'_> =
        serde_json::from_slice(bytes).map_err(|e| format!("could not be decoded: {e}"))?;
    Ok(probe.event.map(Cow::into_owned))
}

/// Why a file whose first record is this one is not a log (skipped by design), as `scan`
/// decides it (`scan::classify_first`): digest files, inventory and build documents, JSON
/// without `eventName`.
fn not_a_log(bytes: &[u8]) -> Option<String> {
    match classify_first(bytes) {
        // an undecodable first record is counted by the main loop
        FirstRecord::Event => None,
        FirstRecord::Inventory(_) => Some("inventory document, not a log".to_owned()),
        FirstRecord::Builds(_) => Some("CodeBuild build document, not a CloudTrail log".to_owned()),
        FirstRecord::NotALog(reason) => Some(reason),
    }
}
