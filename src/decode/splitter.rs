//! The record splitter: walks decompressed JSON once, in fixed-size reads into one reusable
//! buffer, and yields each record as a slice borrowed from that buffer.
//!
//! It recognises, from content alone: a CloudTrail log object `{"Records":[…]}` (the key may
//! be anywhere among other top-level keys), `aws cloudtrail lookup-events` output
//! `{"Events":[…]}`, a JSON array of records, a single record, and NDJSON or any other
//! concatenation of those. A top-level object is buffered only until a depth-1 `Records` or
//! `Events` key with an array value shows up — then the buffer is dropped and the array's
//! elements are streamed — or until it closes, when the whole object is one record. It is
//! not a validator: tokens and UTF-8 inside a record are checked later by the event decoder.
//!
//! Errors and resynchronisation: an IO, gzip or size-cap error ends the stream. A structural
//! error ([`DecodeError::Syntax`], [`DecodeError::TooDeep`], [`DecodeError::RecordTooLarge`])
//! ends it too when it happens inside a top-level array that is the only value so far;
//! anywhere else (inside a top-level object, or once more than one top-level value has been
//! seen — NDJSON), the error is reported once and the splitter skips to the next line that
//! starts with `{` in column 0 and carries on. Either way, call
//! [`RecordSplitter::next_record`] until it returns `Ok(None)`.
//!
//! Throughput, measured (one core, release build, warm page cache, 2-core build machine, with
//! the 64-byte block walk of `scan.rs`): a 200 MB one-line `{"Records":[…]}` file of ~1.8 KB
//! CloudTrail-like records splits at about 3,300 MB/s plain (2,100 before the block walk); the
//! same file gzipped (14 MB, ~14x) runs at about 1,430 MB/s of decompressed output with
//! inflate included, which inflating then dominates. Command: `cargo test --release -- --ignored --nocapture
//! splitter_throughput` (an ignored test in `decode/tests.rs` that writes both files to a temp
//! directory and times `decompress` + a full split of each).

use std::io::{self, Read};

use super::error::DecodeError;
use super::structure::{is_whitespace, scalar_end, starts_scalar, string_end, Fault, NestScan};
use super::DecodeLimits;

/// Bytes asked of the reader per refill.
const DEFAULT_CHUNK: usize = 256 * 1024;

/// UTF-8 byte order mark, skipped at the very start of the stream.
const BOM: [u8; 3] = [0xef, 0xbb, 0xbf];

/// What a record's JSON value is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RecordKind {
    /// A JSON object: something that may be an event.
    Object,
    /// An array, string, number or literal: certainly not an event.
    Other,
}

/// One record: its bytes exactly as they appear in the decompressed stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RawRecord<'a> {
    pub bytes: &'a [u8],
    /// Decompressed offset of the record's first byte.
    pub offset: u64,
    pub kind: RecordKind,
}

/// The layout of the input, as detected from its content.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shape {
    /// A CloudTrail log object: `{"Records":[…]}`.
    LogObject,
    /// `aws cloudtrail lookup-events` output: `{"Events":[…]}`; its elements wrap the event in
    /// a `CloudTrailEvent` string.
    LookupEvents,
    /// A top-level JSON array whose elements are the records.
    Array,
    /// One top-level value that is itself the record.
    Single,
    /// More than one top-level value (NDJSON, concatenated JSON, concatenated log objects).
    Ndjson,
}

/// Where the splitter is in the stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// Between top-level values.
    Top,
    /// Inside a top-level object, just after `{`: a key or `}`.
    ObjFirstKey,
    /// Inside a top-level object, after `,`: a key.
    ObjKey,
    /// Inside a depth-1 key string.
    Key,
    /// After a depth-1 key: `:`.
    ObjColon,
    /// After `:`: the member's value.
    ObjValue,
    /// Scanning a depth-1 member value that is not a record array.
    ObjMember,
    /// After a depth-1 member: `,` or `}`.
    ObjNext,
    /// Just after the `[` of a record array: an element or `]`.
    ArrFirst,
    /// After `,` in a record array: an element.
    ArrElem,
    /// Scanning an element of a record array.
    Element,
    /// After an element: `,` or `]`.
    ArrNext,
    /// Scanning a top-level string or scalar.
    TopValue,
    /// Resynchronising: skipping to the end of the line.
    SkipLine,
    /// Resynchronising: at the start of a line, resume if it starts with `{`.
    LineStart,
    /// Finished, normally or after a fatal error.
    Done,
}

/// Which array's elements are being streamed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ArrayRole {
    /// A top-level `[…]`: nesting depth 1.
    TopLevel,
    /// The `Records`/`Events` array inside a top-level object: nesting depth 2.
    Wrapper,
}

/// What kind of value the current top-level value is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum TopKind {
    Object,
    Array,
    Scalar,
}

/// How the value in progress is being scanned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ValueScan {
    Nested,
    Scalar,
}

/// The first bytes of a depth-1 key, enough to recognise `Records` and `Events`.
#[derive(Debug, Default)]
struct KeyPrefix {
    bytes: [u8; 8],
    len: usize,
}

impl KeyPrefix {
    fn push(&mut self, segment: &[u8]) {
        let new_len = self.len.saturating_add(segment.len());
        if new_len <= self.bytes.len() {
            self.bytes[self.len..new_len].copy_from_slice(segment);
        }
        self.len = new_len;
    }

    fn wrapper(&self) -> Option<Shape> {
        match self.bytes.get(..self.len)? {
            b"Records" => Some(Shape::LogObject),
            b"Events" => Some(Shape::LookupEvents),
            _ => None,
        }
    }
}

/// A completed record, as buffer indices (so the borrow is taken after the state machine ran).
struct Found {
    start: usize,
    end: usize,
    kind: RecordKind,
}

/// Splits a decompressed JSON stream into records: log objects, `lookup-events` output,
/// arrays, single records and NDJSON, detected from content.
///
/// Memory stays bounded by about `max_record_bytes` plus two reads, whatever the input size.
#[derive(Debug)]
pub struct RecordSplitter<R: Read> {
    reader: R,
    limits: DecodeLimits,
    chunk: usize,
    buf: Vec<u8>,
    /// Decompressed offset of `buf[0]`.
    base: u64,
    /// Next byte to examine.
    pos: usize,
    /// End of the valid bytes in `buf`.
    end: usize,
    /// End of the bytes the state machine may look at now: `end`, or less while a record
    /// in progress is about to pass `max_record_bytes`.
    limit: usize,
    eof: bool,
    /// The stream byte just before `buf[0]` (a newline at the start of the stream).
    before_buf: u8,
    state: State,
    /// Start of the bytes that must survive a refill: the record or candidate object in progress.
    anchor: Option<usize>,
    nest: NestScan,
    scan: ValueScan,
    /// Kind of the element or top-level value being scanned.
    kind: RecordKind,
    key: KeyPrefix,
    key_escape: bool,
    /// The current top-level object is buffered (from `anchor`) as a possible single record.
    candidate: bool,
    array: ArrayRole,
    top: TopKind,
    /// Decompressed offset where the current top-level value began.
    top_start: u64,
    top_values: u64,
    shape: Option<Shape>,
    /// The buffer was handed over holding the whole stream ([`new_whole`](Self::new_whole)).
    whole: bool,
}

impl<R: Read> RecordSplitter<R> {
    /// Splits the already decompressed stream `reader` (see [`decompress`](super::decompress)).
    pub fn new(reader: R, limits: &DecodeLimits) -> Self {
        Self::with_chunk_size(reader, limits, DEFAULT_CHUNK)
    }

    /// Like [`new`](Self::new), but when `reader` holds its whole stream in memory, splits
    /// it in place: its buffer becomes the splitter's, with no copy.
    pub fn new_whole(mut reader: R, limits: &DecodeLimits) -> Self
    where
        R: super::Decompressed,
    {
        let whole = reader.take_whole();
        let mut splitter = Self::new(reader, limits);
        if let Some(w) = whole {
            super::pool::give(std::mem::replace(&mut splitter.buf, w.buf));
            splitter.pos = w.start;
            splitter.end = w.end;
            splitter.base = 0;
            splitter.whole = true;
        }
        splitter
    }

    /// The whole stream, not split yet, and the stream offset of its first byte, when the
    /// splitter was made by [`new_whole`](Self::new_whole) from a reader holding all of it
    /// and no record has been taken: a search can then run over the input once before it
    /// is split (records are slices of these bytes, at their own offsets).
    pub fn whole_unsplit(&self) -> Option<(u64, &[u8])> {
        let untouched = self.whole && self.state == State::Top && self.top_values == 0;
        untouched.then(|| (self.base + self.pos as u64, &self.buf[self.pos..self.end]))
    }

    /// Like [`new`](Self::new) with a chosen read size; tests set it tiny to force records
    /// across refills.
    pub(crate) fn with_chunk_size(reader: R, limits: &DecodeLimits, chunk: usize) -> Self {
        Self {
            reader,
            limits: *limits,
            chunk: chunk.max(1),
            buf: super::pool::take_any(),
            base: 0,
            pos: 0,
            end: 0,
            limit: 0,
            eof: false,
            before_buf: b'\n',
            state: State::Top,
            anchor: None,
            nest: NestScan::default(),
            scan: ValueScan::Nested,
            kind: RecordKind::Other,
            key: KeyPrefix::default(),
            key_escape: false,
            candidate: false,
            array: ArrayRole::TopLevel,
            top: TopKind::Object,
            top_start: 0,
            top_values: 0,
            shape: None,
            whole: false,
        }
    }

    /// The next record, `Ok(None)` at the end.
    ///
    /// An `Err` does not always end the stream (see the module docs on resynchronisation):
    /// keep calling until `Ok(None)`. Records already returned stay valid data.
    pub fn next_record(&mut self) -> Result<Option<RawRecord<'_>>, DecodeError> {
        if self.state == State::Done {
            return Ok(None);
        }
        match self.advance() {
            Ok(Some(found)) => Ok(Some(RawRecord {
                bytes: &self.buf[found.start..found.end],
                offset: self.base + found.start as u64,
                kind: found.kind,
            })),
            Ok(None) => {
                self.state = State::Done;
                Ok(None)
            }
            Err(err) => {
                self.recover(&err);
                Err(err)
            }
        }
    }

    /// The detected layout: `None` until it is known, always `Some` once a record has been
    /// returned. A top-level object is `Single` until a `Records`/`Events` array is found in
    /// it; a second top-level value makes it `Ndjson`.
    pub fn shape(&self) -> Option<Shape> {
        self.shape
    }

    /// Decompressed bytes read from the reader so far.
    pub fn bytes_read(&self) -> u64 {
        self.base + self.end as u64
    }

    /// Number of top-level JSON values entered so far.
    pub fn top_level_values(&self) -> u64 {
        self.top_values
    }

    /// Runs the state machine until a record completes, the input ends, or an error occurs.
    fn advance(&mut self) -> Result<Option<Found>, DecodeError> {
        loop {
            // A record may not grow past `max_record_bytes`: states never look beyond `limit`,
            // so this error comes at the same byte whatever the buffer boundaries.
            self.limit = match self.anchor {
                Some(anchor) => {
                    let stop = anchor.saturating_add(self.limits.max_record_bytes);
                    if self.pos > stop {
                        return Err(self.record_too_large(anchor));
                    }
                    self.end.min(stop.saturating_add(1))
                }
                None => self.end,
            };
            if self.pos == self.limit {
                if !self.eof {
                    self.refill()?;
                    continue;
                }
                return self.at_eof();
            }
            match self.state {
                State::Top => {
                    let Some(b) = self.skip_whitespace() else {
                        continue;
                    };
                    if b == BOM[0] && self.offset_of(self.pos) == 0 {
                        if self.limit - self.pos < BOM.len() && !self.eof {
                            self.refill()?;
                            continue;
                        }
                        if self.buf[self.pos..self.limit].starts_with(&BOM) {
                            self.pos += BOM.len();
                            continue;
                        }
                    }
                    if let Some(found) = self.begin_top_value(b)? {
                        return Ok(Some(found));
                    }
                }
                State::ObjFirstKey | State::ObjKey => {
                    let Some(b) = self.skip_whitespace() else {
                        continue;
                    };
                    if b == b'"' {
                        self.key = KeyPrefix::default();
                        self.key_escape = false;
                        self.pos += 1;
                        self.state = State::Key;
                    } else if b == b'}' && self.state == State::ObjFirstKey {
                        if let Some(found) = self.close_object()? {
                            return Ok(Some(found));
                        }
                    } else if self.state == State::ObjFirstKey {
                        return Err(self.syntax(self.pos, "expected a string key or '}'"));
                    } else {
                        return Err(self.syntax(self.pos, "expected a string key"));
                    }
                }
                State::Key => {
                    let from = self.pos;
                    let data = &self.buf[..self.limit];
                    match string_end(data, from, &mut self.key_escape) {
                        Some(after) => {
                            self.key.push(&data[from..after - 1]);
                            self.pos = after;
                            self.state = State::ObjColon;
                        }
                        None => {
                            self.key.push(&data[from..]);
                            self.pos = self.limit;
                        }
                    }
                }
                State::ObjColon => {
                    let Some(b) = self.skip_whitespace() else {
                        continue;
                    };
                    if b != b':' {
                        return Err(self.syntax(self.pos, "expected ':'"));
                    }
                    self.pos += 1;
                    self.state = State::ObjValue;
                }
                State::ObjValue => {
                    let Some(b) = self.skip_whitespace() else {
                        continue;
                    };
                    match self.key.wrapper() {
                        Some(wrapper) if b == b'[' => self.enter_wrapper(wrapper)?,
                        _ => {
                            self.begin_value(b, 1)?;
                            self.state = State::ObjMember;
                        }
                    }
                }
                State::ObjMember => {
                    if self.scan_value(1)?.is_some() {
                        self.state = State::ObjNext;
                    }
                }
                State::ObjNext => {
                    let Some(b) = self.skip_whitespace() else {
                        continue;
                    };
                    match b {
                        b',' => {
                            self.pos += 1;
                            self.state = State::ObjKey;
                        }
                        b'}' => {
                            if let Some(found) = self.close_object()? {
                                return Ok(Some(found));
                            }
                        }
                        _ => return Err(self.syntax(self.pos, "expected ',' or '}'")),
                    }
                }
                State::ArrFirst | State::ArrElem => {
                    let Some(b) = self.skip_whitespace() else {
                        continue;
                    };
                    if b == b']' && self.state == State::ArrFirst {
                        self.close_array();
                    } else {
                        self.anchor = Some(self.pos);
                        self.kind = if b == b'{' {
                            RecordKind::Object
                        } else {
                            RecordKind::Other
                        };
                        self.begin_value(b, self.array_depth())?;
                        self.state = State::Element;
                    }
                }
                State::Element => {
                    if let Some(end) = self.scan_value(self.array_depth())? {
                        self.state = State::ArrNext;
                        return self.complete(end).map(Some);
                    }
                }
                State::ArrNext => {
                    let Some(b) = self.skip_whitespace() else {
                        continue;
                    };
                    match b {
                        b',' => {
                            self.pos += 1;
                            self.state = State::ArrElem;
                        }
                        b']' => self.close_array(),
                        _ => return Err(self.syntax(self.pos, "expected ',' or ']'")),
                    }
                }
                State::TopValue => {
                    if let Some(end) = self.scan_value(0)? {
                        self.state = State::Top;
                        return self.complete(end).map(Some);
                    }
                }
                State::SkipLine => match memchr::memchr(b'\n', &self.buf[self.pos..self.end]) {
                    Some(i) => {
                        self.pos += i + 1;
                        self.state = State::LineStart;
                    }
                    None => self.pos = self.end,
                },
                State::LineStart => {
                    self.state = if self.buf[self.pos] == b'{' {
                        State::Top
                    } else {
                        State::SkipLine
                    };
                }
                State::Done => return Ok(None),
            }
        }
    }

    /// Starts a top-level value at `self.pos` whose first byte is `b`.
    fn begin_top_value(&mut self, b: u8) -> Result<Option<Found>, DecodeError> {
        let top = match b {
            b'{' => TopKind::Object,
            b'[' => TopKind::Array,
            b'"' => TopKind::Scalar,
            _ if starts_scalar(b) => TopKind::Scalar,
            _ => return Err(self.syntax(self.pos, "expected a JSON value")),
        };
        self.top = top;
        self.top_start = self.offset_of(self.pos);
        if top != TopKind::Scalar && self.limits.max_depth == 0 {
            return Err(self.too_deep(self.pos));
        }
        self.top_values += 1;
        if self.top_values > 1 {
            self.shape = Some(Shape::Ndjson);
        }
        match top {
            TopKind::Object => {
                self.candidate = true;
                self.anchor = Some(self.pos);
                self.pos += 1;
                self.state = State::ObjFirstKey;
            }
            TopKind::Array => {
                if self.top_values == 1 {
                    self.shape = Some(Shape::Array);
                }
                self.array = ArrayRole::TopLevel;
                self.pos += 1;
                self.state = State::ArrFirst;
            }
            TopKind::Scalar => {
                // A top-level string or scalar can only be a record by itself.
                if self.top_values == 1 {
                    self.shape = Some(Shape::Single);
                }
                self.anchor = Some(self.pos);
                self.kind = RecordKind::Other;
                self.begin_value(b, 0)?;
                self.state = State::TopValue;
            }
        }
        Ok(None)
    }

    /// The `[` after a depth-1 `Records`/`Events` key: drop the candidate, stream elements.
    fn enter_wrapper(&mut self, wrapper: Shape) -> Result<(), DecodeError> {
        if self.limits.max_depth < 2 {
            return Err(self.too_deep(self.pos));
        }
        self.candidate = false;
        self.anchor = None;
        if self.top_values == 1 {
            self.shape = Some(wrapper);
        }
        self.array = ArrayRole::Wrapper;
        self.pos += 1;
        self.state = State::ArrFirst;
        Ok(())
    }

    /// The `}` of a top-level object at `self.pos`.
    fn close_object(&mut self) -> Result<Option<Found>, DecodeError> {
        self.state = State::Top;
        self.pos += 1;
        if !self.candidate {
            return Ok(None);
        }
        self.candidate = false;
        if self.top_values == 1 {
            self.shape = Some(Shape::Single);
        }
        self.kind = RecordKind::Object;
        self.complete(self.pos).map(Some)
    }

    /// The `]` of a record array at `self.pos`.
    fn close_array(&mut self) {
        self.pos += 1;
        self.state = match self.array {
            ArrayRole::TopLevel => State::Top,
            ArrayRole::Wrapper => State::ObjNext,
        };
    }

    /// Nesting depth around an element of the current record array.
    fn array_depth(&self) -> usize {
        match self.array {
            ArrayRole::TopLevel => 1,
            ArrayRole::Wrapper => 2,
        }
    }

    /// Consumes the first byte `b` of a value nested `outer` levels deep.
    fn begin_value(&mut self, b: u8, outer: usize) -> Result<(), DecodeError> {
        match b {
            b'{' | b'[' | b'"' => {
                if b != b'"' && outer >= self.limits.max_depth {
                    return Err(self.too_deep(self.pos));
                }
                self.nest.start(b);
                self.scan = ValueScan::Nested;
            }
            _ if starts_scalar(b) => self.scan = ValueScan::Scalar,
            _ => return Err(self.syntax(self.pos, "expected a JSON value")),
        }
        self.pos += 1;
        Ok(())
    }

    /// Continues the value in progress; `Some(end)` once it is complete.
    fn scan_value(&mut self, outer: usize) -> Result<Option<usize>, DecodeError> {
        let data = &self.buf[..self.limit];
        match self.scan {
            ValueScan::Scalar => match scalar_end(data, self.pos) {
                Some(end) => {
                    self.pos = end;
                    Ok(Some(end))
                }
                None => {
                    self.pos = self.limit;
                    Ok(None)
                }
            },
            ValueScan::Nested => {
                match self
                    .nest
                    .run(data, &mut self.pos, outer, self.limits.max_depth)
                {
                    Ok(done) => Ok(done),
                    Err(Fault::TooDeep { at }) => Err(self.too_deep(at)),
                    Err(Fault::Mismatch { at, found }) => {
                        let message = if found == b'}' {
                            "unexpected '}' inside an array"
                        } else {
                            "unexpected ']' inside an object"
                        };
                        Err(self.syntax(at, message))
                    }
                }
            }
        }
    }

    /// Hands out the record from the anchor to `end`, checking its size.
    fn complete(&mut self, end: usize) -> Result<Found, DecodeError> {
        let start = self.anchor.take().unwrap_or(end);
        if end - start > self.limits.max_record_bytes {
            return Err(self.record_too_large(start));
        }
        Ok(Found {
            start,
            end,
            kind: self.kind,
        })
    }

    /// Input ended at `self.end`: finish a top-level scalar, or say what was left open.
    fn at_eof(&mut self) -> Result<Option<Found>, DecodeError> {
        match self.state {
            State::Top | State::SkipLine | State::LineStart | State::Done => Ok(None),
            State::TopValue if self.scan == ValueScan::Scalar => {
                self.state = State::Top;
                self.complete(self.end).map(Some)
            }
            _ => Err(self.syntax(self.end, "unexpected end of input")),
        }
    }

    /// Keeps the anchored bytes (or the unread ones), then reads the next chunk after them.
    fn refill(&mut self) -> Result<(), DecodeError> {
        let keep = self.anchor.unwrap_or(self.pos).min(self.pos);
        if keep > 0 {
            self.before_buf = self.buf[keep - 1];
            self.buf.copy_within(keep..self.end, 0);
            self.end -= keep;
            self.pos -= keep;
            self.anchor = self.anchor.map(|a| a - keep);
            self.base += keep as u64;
        }
        let want = self.end + self.chunk;
        if self.buf.len() < want {
            self.buf.resize(want, 0);
        }
        loop {
            match self.reader.read(&mut self.buf[self.end..want]) {
                Ok(0) => self.eof = true,
                Ok(n) => self.end += n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(DecodeError::from_read(e, self.bytes_read())),
            }
            return Ok(());
        }
    }

    /// After an error: resynchronise at the next line starting with `{`, or stop.
    fn recover(&mut self, err: &DecodeError) {
        let structural = matches!(
            err,
            DecodeError::Syntax { .. }
                | DecodeError::TooDeep { .. }
                | DecodeError::RecordTooLarge { .. }
        );
        let resumable = self.top != TopKind::Array || self.top_values > 1;
        self.anchor = None;
        self.candidate = false;
        self.nest.reset();
        if !(structural && resumable) {
            self.state = State::Done;
            return;
        }
        let here = self.pos.min(self.end);
        let previous = if here > 0 {
            self.buf[here - 1]
        } else {
            self.before_buf
        };
        let at_line_start = previous == b'\n' && self.offset_of(here) > self.top_start;
        self.state = if at_line_start {
            State::LineStart
        } else {
            State::SkipLine
        };
    }

    /// Skips whitespace; the next byte, if the buffer has one.
    fn skip_whitespace(&mut self) -> Option<u8> {
        while self.pos < self.limit {
            let b = self.buf[self.pos];
            if !is_whitespace(b) {
                return Some(b);
            }
            self.pos += 1;
        }
        None
    }

    fn offset_of(&self, index: usize) -> u64 {
        self.base + index as u64
    }

    fn syntax(&self, at: usize, message: &str) -> DecodeError {
        DecodeError::Syntax {
            offset: self.offset_of(at),
            message: message.to_owned(),
        }
    }

    fn too_deep(&self, at: usize) -> DecodeError {
        DecodeError::TooDeep {
            offset: self.offset_of(at),
            limit: self.limits.max_depth,
        }
    }

    fn record_too_large(&self, start: usize) -> DecodeError {
        DecodeError::RecordTooLarge {
            offset: self.offset_of(start),
            limit: self.limits.max_record_bytes,
        }
    }
}

impl<R: Read> Drop for RecordSplitter<R> {
    /// The buffer goes back to the thread's pool for the next file.
    fn drop(&mut self) {
        super::pool::give(std::mem::take(&mut self.buf));
    }
}
