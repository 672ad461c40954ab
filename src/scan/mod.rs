//! The scan of `explain` and `report`: every input through the one reader (`read`) into
//! `select`, and what was kept merged into one [`Scan`] in input order, so the output does
//! not depend on thread or network timing.
//!
//! The sink keeps only the records that `select` picked, the inventory and build documents
//! met among the inputs, and the counters: the sessions compactly (`correlate::SessionIndex`),
//! the failures encoded in a store that spills to disk beyond its budget ([`store`]). This
//! module decides nothing about causes.

pub mod store;

pub use store::{Failure, FailureStore};

use crate::codebuild::BuildDoc;
use crate::correlate::SessionIndex;
use crate::decode::DecodeLimits;
use crate::event::Record;
use crate::integrity::HashSink;
use crate::read::count::OutsideWindow;
use crate::read::drive::Ahead;
use crate::read::{self, Document, InventoryDoc, Raw, RecordProblem, ScanStats, Sink};
use crate::select::{ChangeEvent, Hits, Rejected, Selected, Selector, TaggedSession};
use crate::source::{Input, Inputs, Skipped};

#[derive(Debug, Default)]
pub struct Scan {
    /// The failures to explain: failed web-identity assumptions and failed calls.
    pub failures: FailureStore,
    /// The sessions the successful assumptions issued (joined to their calls by access key).
    pub sessions: SessionIndex,
    pub changes: Vec<ChangeEvent>,
    /// Sessions created by an `AssumeRole` with session tags (joined to their calls).
    pub tagged_sessions: Vec<TaggedSession>,
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
    /// Adds what was kept of the next input (the store may spill: an error is the spill's).
    fn merge(&mut self, other: Scan) -> anyhow::Result<()> {
        self.failures.absorb(other.failures)?;
        self.sessions.merge(other.sessions)?;
        self.changes.extend(other.changes);
        self.tagged_sessions.extend(other.tagged_sessions);
        self.inventory_docs.extend(other.inventory_docs);
        self.build_docs.extend(other.build_docs);
        self.stats.add(other.stats);
        Ok(())
    }
}

/// What a scan does beside reading: its progress bar, its hashes, where its failures go.
#[derive(Default)]
pub struct ScanExtras<'a> {
    /// Draw a progress bar on stderr (the caller decides: only when stderr is a terminal
    /// and not `--quiet`).
    pub progress: bool,
    /// `--verify`: each input's decompressed bytes are also hashed as they are read, and the
    /// failures kept are noted with their input.
    pub hashes: Option<&'a HashSink>,
    /// The store the failures are kept in (its budget and spill directory).
    pub store: FailureStore,
    /// Beyond this many bytes of sessions, they are written to the store's spill directory
    /// (`None`: kept in memory).
    pub session_budget: Option<usize>,
}

/// Reads every input on a pool of `threads` workers (one per core when `None`).
pub fn scan(
    inputs: &[Input],
    pre_skipped: Vec<Skipped>,
    selector: &Selector,
    limits: &DecodeLimits,
    threads: Option<usize>,
) -> anyhow::Result<Scan> {
    let inputs = Inputs::from(inputs.to_vec());
    let extras = ScanExtras::default();
    scan_with(&inputs, pre_skipped, selector, limits, threads, extras)
}

/// As [`scan`], over inputs that may still be arriving, with `extras`. A failed listing ends
/// the scan early; the caller reports it ([`Inputs::result`]).
pub fn scan_with(
    inputs: &Inputs,
    pre_skipped: Vec<Skipped>,
    selector: &Selector,
    limits: &DecodeLimits,
    threads: Option<usize>,
    extras: ScanExtras<'_>,
) -> anyhow::Result<Scan> {
    let ScanExtras {
        progress,
        hashes,
        store,
        session_budget,
    } = extras;
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
    let started = std::time::Instant::now();
    let mut total = Scan {
        failures: store,
        ..Scan::default()
    };
    if let (Some(budget), Some(dir)) = (session_budget, total.failures.dir()) {
        let dir = dir.to_owned();
        total.sessions.spill_beyond(budget, &dir);
    }
    let mut spill_error = None;
    for s in pre_skipped {
        total.stats.skip(s);
    }
    let unread = read::drive(
        inputs,
        threads,
        Ahead::Unbounded,
        |_, input, emit| {
            emit.send(scan_input(&input, selector, limits, hashes));
            // a remote object's fetch slot is free once its reader is gone
            drop(input);
            true
        },
        |_, part: Scan| {
            if let Some(b) = &bar {
                b.set_length(inputs.arrived() as u64);
                let (bytes, recs) = (
                    total.stats.bytes_decompressed + part.stats.bytes_decompressed,
                    total.stats.records_scanned + part.stats.records_scanned,
                );
                let secs = started.elapsed().as_secs_f64().max(0.001);
                b.set_message(format!(
                    "{} MB, {} records, {:.0} records/s",
                    bytes / 1_000_000,
                    recs,
                    recs as f64 / secs
                ));
                b.inc(1);
            }
            match total.merge(part) {
                Ok(()) => true,
                Err(e) => {
                    spill_error = Some(e);
                    false
                }
            }
        },
    )?;
    if let Some(e) = spill_error {
        return Err(e);
    }
    total.failures.finish_scan()?;
    if total.sessions.spilled().is_some() {
        // only a failed call looks a session up: read back the sessions of those keys
        let wanted = total.failures.call_keys()?;
        total.sessions.finish_wanted(&wanted)?;
    } else {
        total.sessions.finish();
    }
    total.stats.interrupted_before(unread);
    if let Some(b) = bar {
        b.finish_and_clear();
    }
    Ok(total)
}

/// What `explain` keeps of one input.
struct ScanSink<'s> {
    selector: &'s Selector,
    /// Where the needles are in an input inflated whole (searched once, not per record).
    hits: Option<Hits<'s>>,
    out: Scan,
}

impl Sink for ScanSink<'_> {
    fn takes_documents(&self) -> bool {
        true
    }

    fn whole(&mut self, offset: u64, bytes: &[u8]) {
        self.hits = self.selector.hits(offset, bytes);
    }

    fn event(&mut self, _name: &str, raw: Raw<'_>) -> Result<(), (RecordProblem, String)> {
        let may_match = match self.hits.as_mut() {
            Some(hits) => hits.may_match(raw.offset, raw.bytes),
            None => self.selector.may_match(raw.bytes),
        };
        if !may_match {
            return Ok(());
        }
        decode_and_take(raw.bytes, self.selector, &mut self.out)
    }

    fn document(&mut self, origin: &str, doc: Document) {
        match doc {
            Document::Inventory(value) => self.out.inventory_docs.push(InventoryDoc {
                origin: origin.to_owned(),
                value,
            }),
            Document::Builds(builds) => self.out.build_docs.push(BuildDoc {
                origin: origin.to_owned(),
                builds,
            }),
        }
    }
}

/// Reads one input into what `explain` keeps of it, counted.
fn scan_input(
    input: &Input,
    selector: &Selector,
    limits: &DecodeLimits,
    hashes: Option<&HashSink>,
) -> Scan {
    let mut sink = ScanSink {
        selector,
        hits: None,
        out: Scan::default(),
    };
    let read = read::read_input(input, limits, hashes, &mut sink);
    let mut out = sink.out;
    if let Some(h) = hashes {
        let ids: Vec<String> = out.failures.event_ids().map(|id| id.to_string()).collect();
        h.note_events(&read.name, ids.iter().map(String::as_str));
    }
    read.count(&mut out.stats);
    out
}

/// Decodes one record and keeps it if selected.
fn decode_and_take(
    bytes: &[u8],
    selector: &Selector,
    out: &mut Scan,
) -> Result<(), (RecordProblem, String)> {
    match with_record(bytes, |rec| take(selector, rec, out))? {
        Some(why) => Err((RecordProblem::Unplaced, why.to_owned())),
        None => Ok(()),
    }
}

/// Decodes one record of a log — unwrapping lookup-events' `CloudTrailEvent` strings; invalid
/// UTF-8 replaced (U+FFFD) rather than losing the record — and hands it to `f`: the one
/// decoding of a record the analysis reads (`explain`'s scan, `watch`'s kept records). An
/// error says why the record could not be decoded.
pub fn with_record<T>(
    bytes: &[u8],
    f: impl FnOnce(&Record<'_>) -> T,
) -> Result<T, (RecordProblem, String)> {
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
    match rec.cloudtrail_event.as_deref() {
        Some(inner) => {
            let inner_rec = serde_json::from_str::<Record>(inner).map_err(|e| {
                undecodable(format!(
                    "its CloudTrailEvent string is not a valid event: {e}"
                ))
            })?;
            Ok(f(&inner_rec))
        }
        None => Ok(f(&rec)),
    }
}

/// Keeps a selected record; returns why a record the analysis needed could not be placed in
/// time.
fn take(selector: &Selector, rec: &Record<'_>, out: &mut Scan) -> Option<&'static str> {
    match selector.select(rec) {
        Ok(sel) => {
            out.stats.records_matched += 1;
            match sel {
                Selected::WebId(a) if a.error_code.is_some() => {
                    out.failures.push(&Failure::WebId(a));
                }
                Selected::WebId(a) => out.sessions.add(&a),
                Selected::Change(c) => out.changes.push(*c),
                Selected::CallFailure(f) => out.failures.push(&Failure::Call(f)),
                Selected::TaggedSession(t) => out.tagged_sessions.push(*t),
            }
        }
        Err(Rejected::BadTime) => return Some(read::BAD_TIME),
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
