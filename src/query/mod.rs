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
//! each with at most [`read::drive::BATCHES`] batches waiting. `--count` and `--group-by` send only
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

use jaq_json::Val;
use memchr::memmem::Finder;
use std::borrow::Cow;
use std::collections::HashMap;
use std::io::Write;
use std::sync::atomic::{AtomicU64, Ordering};

use crate::decode::DecodeLimits;
use crate::event::Record;
use crate::read::drive::{Ahead, Emit};
use crate::read::{self, InputRead, Raw, RecordProblem, ScanStats, Sink, BAD_TIME};
use crate::source::{Inputs, Skipped};
use filter::{CompiledFilter, Verdict};
use jq::JqProgram;
use output::Cell;
use output::{Format, Row, RowWriter};
use project::Projection;
use value::Path;

/// Inputs open at once per worker thread (the reorder window).
pub const IN_FLIGHT_PER_THREAD: usize = 2;
/// Rows per batch.
const BATCH_ROWS: usize = 256;
/// Bytes of NDJSON lines per batch (a batch ends at whichever limit comes first).
const BATCH_BYTES: usize = 128 * 1024;

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
/// stops early, `inputs` are cancelled: nothing more is fetched.
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
        outcome.stats.skip(s);
    }
    let shared = Shared {
        query,
        inputs,
        counted: AtomicU64::new(0),
    };
    let mut groups: HashMap<Vec<String>, u64> = HashMap::new();
    let limit = match query.mode {
        Mode::Rows { .. } => query.limit,
        _ => None,
    };
    let mut written = Ok(());
    if limit != Some(0) {
        let unread = read::drive(
            inputs,
            threads,
            Ahead::PerWorker(IN_FLIGHT_PER_THREAD),
            |index, input, emit| {
                if shared.count_limit_reached() {
                    return false;
                }
                let mut sink = QuerySink {
                    emit: Emitter::new(&shared, index, emit),
                    lookup: Finder::new(b"CloudTrailEvent"),
                };
                let read =
                    read::read_input(&input, &query.limits, query.hashes.as_deref(), &mut sink);
                // a remote object's fetch slot is free once its reader is gone
                drop(input);
                let mut emit = sink.emit;
                emit.flush();
                let f = FileOutcome {
                    read,
                    matched: emit.matched,
                    jq_errors: emit.jq_errors,
                    first_jq_error: emit.first_jq_error.take(),
                    groups: std::mem::take(&mut emit.groups),
                };
                emit.tx.send(Msg::Done(Box::new(f))) && !shared.count_limit_reached()
            },
            |_, msg| match deliver(msg, &mut writer, &mut outcome, &mut groups, limit) {
                Ok(more) => more,
                Err(e) => {
                    written = Err(e);
                    false
                }
            },
        )?;
        outcome.stats.interrupted_before(unread);
    }
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

struct Shared<'a> {
    query: &'a Query,
    inputs: &'a Inputs,
    /// Rows counted under `--count`, across workers (for `--limit`).
    counted: AtomicU64,
}

enum Msg {
    Rows(Vec<Row>),
    /// NDJSON rows, already written as lines: the bytes and how many lines they hold.
    Lines(Vec<u8>, u64),
    Done(Box<FileOutcome>),
}

/// One input, read: how it is counted, and what jq and `--group-by` made of it.
struct FileOutcome {
    read: InputRead,
    /// Records that passed the filters.
    matched: u64,
    jq_errors: u64,
    first_jq_error: Option<String>,
    groups: HashMap<Vec<String>, u64>,
}

/// One message of an input, in input order, to the writer; false once `--limit` rows are
/// written.
fn deliver<W: Write>(
    msg: Msg,
    writer: &mut RowWriter<W>,
    outcome: &mut Outcome,
    groups: &mut HashMap<Vec<String>, u64>,
    limit: Option<u64>,
) -> std::io::Result<bool> {
    let full = |rows: u64| limit.is_some_and(|l| rows >= l);
    match msg {
        Msg::Rows(rows) => {
            for row in rows {
                writer.row(row)?;
                outcome.rows += 1;
                if full(outcome.rows) {
                    return Ok(false);
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
                return Ok(false);
            }
        }
        Msg::Done(f) => {
            f.read.count(&mut outcome.stats);
            outcome.stats.records_matched += f.matched;
            for (k, n) in f.groups {
                *groups.entry(k).or_insert(0) += n;
            }
            if outcome.first_jq_error.is_none() {
                outcome.first_jq_error = f.first_jq_error;
            }
            outcome.jq_errors += f.jq_errors;
        }
    }
    Ok(true)
}

impl Shared<'_> {
    fn count_limit_reached(&self) -> bool {
        matches!(self.query.mode, Mode::Count)
            && self
                .query
                .limit
                .is_some_and(|l| self.counted.load(Ordering::Relaxed) >= l)
    }
}

/// What `query` does with the records of one input.
struct QuerySink<'a> {
    emit: Emitter<'a>,
    lookup: Finder<'static>,
}

impl Sink for QuerySink<'_> {
    fn takes_documents(&self) -> bool {
        false
    }

    fn event(&mut self, name: &str, raw: Raw<'_>) -> Result<(), (RecordProblem, String)> {
        let matched = self.emit.matched;
        let read = record(
            self.emit.shared.query,
            raw.bytes,
            &self.lookup,
            &mut self.emit,
            name,
            raw.index,
        );
        // a record that could not be read is counted as such, not as matched
        if read.is_err() {
            self.emit.matched = matched;
        }
        read
    }

    fn wants_more(&self) -> bool {
        self.emit.wants_more()
    }
}

/// Turns the output values of one input into rows, batches or counts.
struct Emitter<'a> {
    shared: &'a Shared<'a>,
    /// The input's index.
    index: usize,
    tx: &'a Emit<'a, Msg>,
    batch: Vec<Row>,
    /// NDJSON rows written straight into one buffer (`--format ndjson` rows).
    lines: Vec<u8>,
    lines_rows: u64,
    /// `"name":` of each `--fields` path, for NDJSON lines.
    field_keys: Vec<Vec<u8>>,
    rows: u64,
    /// Records that passed the filters.
    matched: u64,
    groups: HashMap<Vec<String>, u64>,
    jq_errors: u64,
    first_jq_error: Option<String>,
    /// No more rows are wanted from this input.
    done: bool,
}

impl<'a> Emitter<'a> {
    fn new(shared: &'a Shared<'a>, index: usize, tx: &'a Emit<'a, Msg>) -> Emitter<'a> {
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
            matched: 0,
            groups: HashMap::new(),
            jq_errors: 0,
            first_jq_error: None,
            done: false,
        }
    }

    fn wants_more(&self) -> bool {
        !self.done && !self.tx.stopped() && !self.shared.count_limit_reached()
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
            if !self.tx.send(Msg::Rows(rows)) {
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
            if !self.tx.send(Msg::Lines(bytes, rows)) {
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
    // it passed the filters (every record does without one)
    emit.matched += 1;
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
