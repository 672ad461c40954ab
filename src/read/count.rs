//! How an input is counted: read, partly read (its problems listed) or unreadable (named
//! with the reason), and the counters of a run. The one place the rule "every input is either
//! read or counted with its reason" is kept, for every command.

use serde::Serialize;

use crate::source::Skipped;

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
    /// Adds `other` to what `this` holds.
    pub fn add(this: &mut Option<OutsideWindow>, other: OutsideWindow) {
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

    /// An input skipped by design, or not read at all (named with the reason).
    pub fn skip(&mut self, s: Skipped) {
        if s.by_design {
            self.files_skipped += 1;
        } else {
            self.files_unreadable += 1;
        }
        self.skipped.push(s);
    }

    /// Ctrl-C left `n` inputs that had arrived unread: each is unreadable, named together
    /// in one entry of `skipped` (a listing can hold many thousands).
    pub fn interrupted_before(&mut self, n: usize) {
        if n == 0 {
            return;
        }
        self.interrupted = true;
        self.files_unreadable += n as u64;
        self.skipped.push(Skipped {
            name: format!("{n} further input(s)"),
            reason: "not read: interrupted".to_owned(),
            by_design: false,
        });
    }

    /// Adds the counters of other inputs (what a listing or a query did is not added).
    pub fn add(&mut self, o: ScanStats) {
        self.files_read += o.files_read;
        self.files_partly_read += o.files_partly_read;
        self.files_skipped += o.files_skipped;
        self.files_unreadable += o.files_unreadable;
        self.skipped.extend(o.skipped);
        self.records_scanned += o.records_scanned;
        self.records_matched += o.records_matched;
        self.records_undecodable += o.records_undecodable;
        self.records_unplaced += o.records_unplaced;
        self.records_unreadable += o.records_unreadable;
        self.problems.extend(o.problems);
        self.problems_omitted += o.problems_omitted;
        self.bytes_decompressed += o.bytes_decompressed;
        self.interrupted |= o.interrupted;
        if let Some(w) = o.failures_outside_window {
            OutsideWindow::add(&mut self.failures_outside_window, w);
        }
    }
}

/// What reading one input came to, before it is counted ([`InputRead::count`]).
#[derive(Debug)]
pub struct InputRead {
    pub name: String,
    /// Skipped by design (not a log, a document the command does not read), or not read at
    /// all (not opened, not decompressed, interrupted first).
    pub skipped: Option<Skipped>,
    /// Ctrl-C stopped it (before it was opened, or between two records).
    pub interrupted: bool,
    /// Records taken from it (0 when it was skipped).
    pub records: u64,
    /// Decompressed bytes read.
    pub bytes: u64,
    /// What could not be read of it.
    pub damage: Damage,
}

impl InputRead {
    pub fn new(name: String) -> InputRead {
        InputRead {
            name,
            skipped: None,
            interrupted: false,
            records: 0,
            bytes: 0,
            damage: Damage::default(),
        }
    }

    /// Counts the input in `stats`: skipped, read, partly read or unreadable.
    pub fn count(self, stats: &mut ScanStats) {
        stats.records_scanned += self.records;
        stats.bytes_decompressed += self.bytes;
        stats.interrupted |= self.interrupted;
        match self.skipped {
            Some(s) => stats.skip(s),
            None => self.damage.count(stats, self.name, self.records),
        }
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::read::BAD_TIME;

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
