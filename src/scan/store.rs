//! What a scan keeps of the failures it selected, in bounded memory.
//!
//! Each failure is encoded compactly (postcard; a call's request as its JSON text) by the
//! worker that read it. The store holds the encoded failures in memory up to its budget;
//! beyond it, it sorts them by time and event ID and writes them as one run to its temporary
//! directory. Reading back merges the runs and what is still in memory in (time, event ID)
//! order — ties in input order, as a stable sort of everything would give — and decodes one
//! failure at a time, so `explain` sees the same sequence whether or not anything spilled.
//! The directory and its runs are removed when the store is dropped (on success, on error,
//! on Ctrl-C).

use std::cmp::{Ordering, Reverse};
use std::collections::BinaryHeap;
use std::fs::File;
use std::io::{self, BufReader, BufWriter, Read, Write};
use std::path::{Path, PathBuf};

use anyhow::{anyhow, Context, Result};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::event::EventId;
use crate::select::{CallFailure, WebIdAttempt};

/// A failure the analysis explains.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub enum Failure {
    WebId(Box<WebIdAttempt>),
    Call(Box<CallFailure>),
}

impl Failure {
    fn time(&self) -> DateTime<Utc> {
        match self {
            Failure::WebId(a) => a.time,
            Failure::Call(f) => f.time,
        }
    }

    fn event_id(&self) -> &str {
        match self {
            Failure::WebId(a) => &a.event_id,
            Failure::Call(f) => &f.event_id,
        }
    }
}

/// Encoded failures and where each one is, unsorted.
#[derive(Debug, Default)]
struct Batch {
    bytes: Vec<u8>,
    slots: Vec<Slot>,
}

#[derive(Debug)]
struct Slot {
    time: DateTime<Utc>,
    id: EventId,
    at: usize,
    len: usize,
}

impl Slot {
    fn key(&self) -> (DateTime<Utc>, &EventId) {
        (self.time, &self.id)
    }
}

impl Batch {
    fn push(&mut self, f: &Failure) {
        let at = self.bytes.len();
        // encoding into a Vec cannot fail: every field is a plain value or a string
        if postcard::to_io(f, &mut self.bytes).is_err() {
            self.bytes.truncate(at);
            return;
        }
        self.slots.push(Slot {
            time: f.time(),
            id: EventId::new(f.event_id()),
            at,
            len: self.bytes.len() - at,
        });
    }

    fn len(&self) -> usize {
        self.slots.len()
    }

    /// What it holds in memory, about.
    fn size(&self) -> usize {
        self.bytes.len() + self.slots.len() * std::mem::size_of::<Slot>()
    }

    fn append(&mut self, other: Batch) {
        let base = self.bytes.len();
        self.bytes.extend_from_slice(&other.bytes);
        self.slots.extend(other.slots.into_iter().map(|s| Slot {
            at: s.at + base,
            ..s
        }));
    }

    /// Sorts by (time, event ID), ties kept in the order pushed (which is the order of
    /// their bytes): no scratch buffer of half the slots, as a stable sort would take.
    fn sort(&mut self) {
        self.slots
            .sort_unstable_by(|a, b| a.key().cmp(&b.key()).then(a.at.cmp(&b.at)));
    }

    fn encoded(&self, s: &Slot) -> &[u8] {
        &self.bytes[s.at..s.at + s.len]
    }
}

/// How a store's failures were kept, for the summary and the stderr note.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct SpillSummary {
    /// Sorted runs written to the temporary directory.
    pub runs: usize,
    /// Failures written to them.
    pub failures: u64,
    /// Bytes written to them.
    pub bytes: u64,
}

/// The scan's failures: in memory up to `budget` bytes, beyond it in sorted runs on disk.
#[derive(Debug)]
pub struct FailureStore {
    mem: Batch,
    budget: usize,
    dir: Option<tempfile::TempDir>,
    runs: Vec<PathBuf>,
    spilled: SpillSummary,
    count: u64,
    /// Counts the failures and keeps none ([`FailureStore::discarding`]).
    discard: bool,
}

impl Default for FailureStore {
    /// A store that never spills.
    fn default() -> FailureStore {
        FailureStore::new(usize::MAX, None)
    }
}

/// Runs merged at once; beyond it, runs are merged into longer runs first (bounded open files).
const FAN_IN: usize = 64;

impl FailureStore {
    /// A store that keeps at most `budget` bytes of failures in memory and spills into `dir`
    /// beyond it (without a directory, it keeps everything in memory).
    pub fn new(budget: usize, dir: Option<tempfile::TempDir>) -> FailureStore {
        FailureStore {
            mem: Batch::default(),
            budget,
            dir,
            runs: Vec::new(),
            spilled: SpillSummary::default(),
            count: 0,
            discard: false,
        }
    }

    /// A store that counts the failures absorbed and keeps none: for inputs read for what
    /// else they hold (`--iam`'s change events).
    pub fn discarding() -> FailureStore {
        FailureStore {
            discard: true,
            ..FailureStore::new(0, None)
        }
    }

    /// Makes the temporary directory the store spills into, under `parent`: done before the
    /// scan starts, so that an unusable directory is one error, not a failure hours in.
    pub fn spill_dir(parent: &Path) -> Result<tempfile::TempDir> {
        let dir = tempfile::Builder::new()
            .prefix("trailwhy-spill-")
            .tempdir_in(parent)
            .with_context(|| {
                format!(
                    "cannot make a spill directory in {} (set TMPDIR or --temp-dir to a writable directory)",
                    parent.display()
                )
            })?;
        // a directory that can be made but not written to fails here, not later
        let probe = dir.path().join("probe");
        File::create(&probe)
            .and_then(|mut f| f.write_all(b"x"))
            .with_context(|| format!("cannot write in {}", dir.path().display()))?;
        std::fs::remove_file(&probe)
            .with_context(|| format!("cannot write in {}", dir.path().display()))?;
        Ok(dir)
    }

    /// Keeps one failure in memory (a store for one input's failures: it never spills).
    pub fn push(&mut self, f: &Failure) {
        self.count += 1;
        self.mem.push(f);
    }

    /// Adds the failures of the next input, kept by `other` in memory; spills when over budget.
    pub fn absorb(&mut self, other: FailureStore) -> Result<()> {
        self.count += other.count;
        if self.discard {
            return Ok(());
        }
        self.mem.append(other.mem);
        if self.mem.size() > self.budget && self.dir.is_some() {
            self.spill()?;
        }
        Ok(())
    }

    /// The event IDs of the failures still in memory (all of one input's).
    pub fn event_ids(&self) -> impl Iterator<Item = &EventId> {
        self.mem.slots.iter().map(|s| &s.id)
    }

    /// Failures kept, in memory and on disk.
    pub fn len(&self) -> u64 {
        self.count
    }

    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    /// What was spilled, if anything was.
    pub fn spilled(&self) -> Option<&SpillSummary> {
        (self.spilled.runs > 0).then_some(&self.spilled)
    }

    /// The directory the runs are written to, if the store may spill.
    pub fn dir(&self) -> Option<&Path> {
        self.dir.as_ref().map(|d| d.path())
    }

    fn spill(&mut self) -> Result<()> {
        let Some(dir) = &self.dir else {
            return Ok(());
        };
        let mut batch = std::mem::take(&mut self.mem);
        batch.sort();
        let path = dir.path().join(format!("run-{:06}", self.runs.len()));
        let mut out = BufWriter::new(
            File::create(&path).with_context(|| format!("spill: {}", path.display()))?,
        );
        for s in &batch.slots {
            write_record(&mut out, batch.encoded(s))
                .with_context(|| format!("spill: {}", path.display()))?;
        }
        out.flush()
            .with_context(|| format!("spill: {}", path.display()))?;
        self.spilled.runs += 1;
        self.spilled.failures += batch.len() as u64;
        self.spilled.bytes += batch.bytes.len() as u64 + 4 * batch.len() as u64;
        self.runs.push(path);
        Ok(())
    }

    /// Once the scan is over: when anything was spilled, spills the rest too, so that the
    /// memory is free for what comes next (the explanations) and everything is read from
    /// the runs.
    pub fn finish_scan(&mut self) -> Result<()> {
        if !self.runs.is_empty() && !self.mem.slots.is_empty() {
            self.spill()?;
        }
        Ok(())
    }

    /// The access keys of the failed calls (the sessions the explanations will look up).
    pub fn call_keys(&mut self) -> Result<std::collections::HashSet<String>> {
        let mut keys = std::collections::HashSet::new();
        self.for_each(|f| {
            if let Failure::Call(c) = f {
                if let Some(k) = c.access_key_id {
                    keys.insert(k);
                }
            }
        })?;
        Ok(keys)
    }

    /// Calls `each` with every failure in (time, event ID) order, ties in input order.
    pub fn for_each(&mut self, mut each: impl FnMut(Failure)) -> Result<()> {
        self.mem.sort();
        self.compact_runs()?;
        let mut sources = open_runs(&self.runs)?;
        sources.push(Source::Mem {
            batch: &self.mem,
            next: 0,
        });
        merge(sources, |f| {
            each(f);
            Ok(())
        })
    }

    /// Merges runs into longer ones until at most [`FAN_IN`] remain.
    fn compact_runs(&mut self) -> Result<()> {
        while self.runs.len() > FAN_IN {
            let Some(dir) = &self.dir else { break };
            let path = dir.path().join(format!("merged-{:06}", self.spilled.runs));
            self.spilled.runs += 1;
            let group: Vec<PathBuf> = self.runs.drain(..FAN_IN).collect();
            let sources = open_runs(&group)?;
            let mut out = BufWriter::new(
                File::create(&path).with_context(|| format!("spill: {}", path.display()))?,
            );
            let mut encoded = Vec::new();
            merge(sources, |f| {
                encoded.clear();
                postcard::to_io(&f, &mut encoded)
                    .map_err(|e| anyhow!("spill: encoding a failure again: {e}"))?;
                write_record(&mut out, &encoded)
                    .with_context(|| format!("spill: {}", path.display()))
            })?;
            out.flush()
                .with_context(|| format!("spill: {}", path.display()))?;
            for p in &group {
                let _ = std::fs::remove_file(p);
            }
            // the merged run holds the earliest inputs' failures: it goes first
            self.runs.insert(0, path);
        }
        Ok(())
    }
}

/// The runs at `paths` opened for reading, in order.
fn open_runs(paths: &[PathBuf]) -> Result<Vec<Source<'_>>> {
    paths
        .iter()
        .map(|path| {
            let file = File::open(path).with_context(|| format!("spill: {}", path.display()))?;
            Ok(Source::Run {
                reader: BufReader::new(file),
                path,
                buf: Vec::new(),
            })
        })
        .collect()
}

fn write_record(out: &mut impl Write, encoded: &[u8]) -> io::Result<()> {
    let len =
        u32::try_from(encoded.len()).map_err(|_| io::Error::other("a failure of 4 GiB or more"))?;
    out.write_all(&len.to_le_bytes())?;
    out.write_all(encoded)
}

/// One sorted sequence of encoded failures.
enum Source<'a> {
    Run {
        reader: BufReader<File>,
        path: &'a Path,
        buf: Vec<u8>,
    },
    Mem {
        batch: &'a Batch,
        next: usize,
    },
}

impl Source<'_> {
    fn next(&mut self) -> Result<Option<Failure>> {
        match self {
            Source::Mem { batch, next } => {
                let Some(s) = batch.slots.get(*next) else {
                    return Ok(None);
                };
                *next += 1;
                postcard::from_bytes(batch.encoded(s))
                    .map(Some)
                    .map_err(|e| anyhow!("a kept failure could not be decoded: {e}"))
            }
            Source::Run { reader, path, buf } => {
                let mut len = [0u8; 4];
                match reader.read_exact(&mut len) {
                    Ok(()) => {}
                    Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => return Ok(None),
                    Err(e) => return Err(e).with_context(|| format!("spill: {}", path.display())),
                }
                buf.resize(u32::from_le_bytes(len) as usize, 0);
                reader
                    .read_exact(buf)
                    .with_context(|| format!("spill: {}", path.display()))?;
                postcard::from_bytes(buf)
                    .map(Some)
                    .map_err(|e| anyhow!("spill: {}: {e}", path.display()))
            }
        }
    }
}

/// The head of one source in the merge: ordered by (time, event ID, source index).
struct Head {
    time: DateTime<Utc>,
    id: EventId,
    source: usize,
    failure: Failure,
}

impl PartialEq for Head {
    fn eq(&self, other: &Head) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}

impl Eq for Head {}

impl PartialOrd for Head {
    fn partial_cmp(&self, other: &Head) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Head {
    fn cmp(&self, other: &Head) -> Ordering {
        (self.time, &self.id, self.source).cmp(&(other.time, &other.id, other.source))
    }
}

/// Merges sorted sources (earlier sources hold earlier inputs) into one sequence.
fn merge(mut sources: Vec<Source<'_>>, mut each: impl FnMut(Failure) -> Result<()>) -> Result<()> {
    let mut heap = BinaryHeap::with_capacity(sources.len());
    for (i, s) in sources.iter_mut().enumerate() {
        if let Some(f) = s.next()? {
            heap.push(Reverse(head(i, f)));
        }
    }
    while let Some(Reverse(h)) = heap.pop() {
        let source = h.source;
        each(h.failure)?;
        if let Some(f) = sources[source].next()? {
            heap.push(Reverse(head(source, f)));
        }
    }
    Ok(())
}

fn head(source: usize, failure: Failure) -> Head {
    Head {
        time: failure.time(),
        id: EventId::new(failure.event_id()),
        source,
        failure,
    }
}

#[cfg(test)]
mod tests;
