//! Compression sniffing from the first bytes (never from a file name), multi-member gzip
//! decoding and the decompressed-size cap that guards against decompression bombs.
//!
//! This is not the record splitter and does not look at JSON; it only produces a plain byte
//! stream whose errors [`DecodeError`](super::DecodeError) can classify.

use std::io::{self, Cursor, Read};

use flate2::{Crc, Decompress, FlushDecompress, Status};

use super::error::{CapExceeded, GzipFailure};
use super::{pool, DecodeLimits, Decompressed, Whole};

/// Size of the buffer between the compressed source and the inflater.
const COMPRESSED_BUFFER: usize = 256 * 1024;

const GZIP_MAGIC: [u8; 2] = [0x1f, 0x8b];

/// How a stream is compressed, as told by its first bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Compression {
    /// Starts with the gzip magic `1f 8b`; decoded as multi-member gzip.
    Gzip,
    /// Anything else, passed through as is.
    Plain,
}

/// Tells gzip from plain bytes by the magic number at the start of `prefix`.
pub fn sniff(prefix: &[u8]) -> Compression {
    if prefix.starts_with(&GZIP_MAGIC) {
        Compression::Gzip
    } else {
        Compression::Plain
    }
}

/// Wraps any reader: sniffs (peeking without losing bytes), decompresses if needed, caps the
/// size.
///
/// Errors from the returned reader carry payloads that
/// [`RecordSplitter`](super::RecordSplitter) turns into `DecodeError::TooLarge`,
/// `DecodeError::GzipTruncated` or `DecodeError::GzipCorrupt`; the only error returned here
/// is a failure to read the first two bytes.
pub fn decompress<R: Read + Send + 'static>(
    mut reader: R,
    limits: &DecodeLimits,
) -> io::Result<(Compression, Box<dyn Decompressed>)> {
    let mut prefix = [0u8; 2];
    let mut got = 0;
    while got < prefix.len() {
        match reader.read(&mut prefix[got..]) {
            Ok(0) => break,
            Ok(n) => got += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    let compression = sniff(&prefix[..got]);
    let limit = limits.max_decompressed_bytes;
    let stream: Box<dyn Decompressed> = match compression {
        Compression::Gzip => {
            let (input, end, ended) = read_up_to(&prefix[..got], &mut reader, WHOLE_OBJECT);
            let whole = matches!(ended, Ok(true));
            match whole.then(|| inflate_whole(&input[..end], limit)).flatten() {
                Some(inflated) => {
                    pool::give(input);
                    Box::new(inflated)
                }
                None => {
                    // a read error comes out of the stream after the bytes read before it
                    let source = FailFirst {
                        error: ended.err(),
                        inner: reader,
                    };
                    Box::new(CappedReader::new(
                        GzipStream::resume(source, input, end, whole),
                        limit,
                    ))
                }
            }
        }
        Compression::Plain => {
            let whole = Cursor::new(prefix).take(got as u64).chain(reader);
            Box::new(CappedReader::new(whole, limit))
        }
    };
    Ok((compression, stream))
}

/// [`decompress`] without the whole-object path: the streaming reader alone, which the
/// properties compare the whole-object path with.
#[cfg(test)]
pub(crate) fn decompress_streaming<R: Read + Send + 'static>(
    reader: R,
    limits: &DecodeLimits,
) -> Box<dyn Decompressed> {
    Box::new(CappedReader::new(
        GzipStream::resume(reader, Vec::new(), 0, false),
        limits.max_decompressed_bytes,
    ))
}

/// Compressed objects up to this size are read whole first: if one is a single gzip member,
/// it is inflated by one libdeflate call (CloudTrail writes every object that way, and far
/// smaller than this); anything else streams through [`GzipStream`], starting with the bytes
/// already read.
const WHOLE_OBJECT: usize = 8 << 20;
/// The largest output inflated in one call (the buffer is allocated for it); larger members
/// stream in bounded memory.
const WHOLE_OUTPUT: usize = 32 << 20;
/// DEFLATE cannot expand data by more than about 1032 to 1: a length field beyond that is a
/// lie, and no buffer is allocated for it.
const MAX_RATIO: usize = 1032;

/// Reads `prefix` and then `reader` into a pooled buffer, until the reader ends or `max`
/// bytes are held: the buffer, the bytes held, and whether the reader ended (or the error
/// that stopped it, after those bytes).
fn read_up_to<R: Read>(
    prefix: &[u8],
    reader: &mut R,
    max: usize,
) -> (Vec<u8>, usize, io::Result<bool>) {
    let mut buf = pool::take(COMPRESSED_BUFFER);
    buf[..prefix.len()].copy_from_slice(prefix);
    let mut end = prefix.len();
    loop {
        if end == buf.len() {
            if buf.len() >= max {
                return (buf, end, Ok(false));
            }
            buf.resize((buf.len() * 2).min(max), 0);
        }
        match reader.read(&mut buf[end..]) {
            Ok(0) => return (buf, end, Ok(true)),
            Ok(n) => end += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return (buf, end, Err(e)),
        }
    }
}

/// A reader whose first read fails with `error`, if there is one; then `inner`'s.
struct FailFirst<R> {
    error: Option<io::Error>,
    inner: R,
}

impl<R: Read> Read for FailFirst<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self.error.take() {
            Some(e) => Err(e),
            None => self.inner.read(buf),
        }
    }
}

/// Inflates a whole gzip object in one libdeflate call, when that is certain to give what
/// [`GzipStream`] would: exactly one member (no other `1f 8b 08` anywhere in the bytes, so
/// no second member can follow), a length field within the caps, and libdeflate's own checks
/// of the CRC-32 and length after the deflate data passed. `None` sends the object to the
/// streaming path, which then reports any damage as today (keeping the records inflated
/// before it).
///
/// One difference is left on purpose: bytes after the member that do not start another one
/// (`gzip -d`'s "trailing garbage ignored") make `GzipStream` end with an error but are
/// ignored here when they happen to end with the member's own length. The records are the
/// same either way.
fn inflate_whole(input: &[u8], limit: u64) -> Option<Inflated> {
    let body = input.get(2..)?;
    if input.len() < 18 || memchr::memmem::find(body, &[0x1f, 0x8b, 0x08]).is_some() {
        return None;
    }
    let tail: [u8; 4] = input[input.len() - 4..].try_into().ok()?;
    let size = usize::try_from(u32::from_le_bytes(tail)).ok()?;
    if size == 0
        || size > WHOLE_OUTPUT
        || size as u64 > limit
        || size > input.len().saturating_mul(MAX_RATIO)
    {
        return None;
    }
    let mut out = pool::take(size);
    match pool::with_libdeflate(|d| d.gzip_decompress(input, &mut out[..size])) {
        Ok(n) if n == size => Some(Inflated {
            buf: out,
            pos: 0,
            len: n,
        }),
        _ => {
            pool::give(out);
            None
        }
    }
}

/// The output of [`inflate_whole`], read out of its pooled buffer (given back when dropped).
struct Inflated {
    buf: Vec<u8>,
    pos: usize,
    len: usize,
}

impl Read for Inflated {
    fn read(&mut self, dst: &mut [u8]) -> io::Result<usize> {
        let n = dst.len().min(self.len - self.pos);
        dst[..n].copy_from_slice(&self.buf[self.pos..self.pos + n]);
        self.pos += n;
        Ok(n)
    }
}

impl Decompressed for Inflated {
    fn take_whole(&mut self) -> Option<Whole> {
        let whole = Whole {
            buf: std::mem::take(&mut self.buf),
            start: self.pos,
            end: self.len,
        };
        (self.pos, self.len) = (0, 0);
        Some(whole)
    }
}

impl<R: Read + Send> Decompressed for CappedReader<R> {}

impl Drop for Inflated {
    fn drop(&mut self) {
        pool::give(std::mem::take(&mut self.buf));
    }
}

/// Multi-member gzip (RFC 1952), inflated straight into the caller's buffer.
///
/// The framing (header, CRC-32 and length trailer) is read here around a raw-deflate
/// `flate2::Decompress` instead of using `flate2`'s gzip readers, for three reasons:
/// - the bytes inflated before a corruption are handed out before the error (a reader that
///   fails a `read` loses what that call produced, up to a whole buffer of good records);
/// - the inflater (with its 32 KiB window) and the compressed-side buffer come from the
///   per-thread [`pool`](super::pool) and are reset, not reallocated, for each file and
///   member: allocating them per file fragmented the heap (RSS grew by ~50 KB per file);
/// - the errors can say what is wrong (trailing garbage, checksum, length, truncation).
///
/// Trailing zero bytes after the last member are ignored, as `gzip -d` does.
struct GzipStream<R> {
    source: R,
    input: Vec<u8>,
    /// Unconsumed compressed bytes are `input[start..end]`.
    start: usize,
    end: usize,
    source_done: bool,
    /// Always `Some` until dropped (then it goes back to the pool).
    inflate: Option<Decompress>,
    crc: Crc,
    state: Member,
    members: u64,
    /// An error found after some output was produced, returned by the next `read`.
    pending: Option<io::Error>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Member {
    /// At a member boundary: a header, zero padding or the end comes next.
    Header,
    Body,
    Trailer,
    Done,
}

const GZIP_HEADER: usize = 10;
const FLAG_HCRC: u8 = 0x02;
const FLAG_EXTRA: u8 = 0x04;
const FLAG_NAME: u8 = 0x08;
const FLAG_COMMENT: u8 = 0x10;
const FLAG_RESERVED: u8 = 0xe0;

fn gzip_error(truncated: bool, message: &str) -> io::Error {
    let kind = if truncated {
        io::ErrorKind::UnexpectedEof
    } else {
        io::ErrorKind::InvalidData
    };
    let failure = GzipFailure {
        truncated,
        message: message.to_owned(),
    };
    io::Error::new(kind, failure)
}

fn truncated() -> io::Error {
    gzip_error(true, "unexpected end of gzip stream")
}

impl<R: Read> GzipStream<R> {
    /// Starts with `input[..end]`, compressed bytes already read from the start of
    /// `source`'s stream (`source_done`: nothing more follows them).
    fn resume(source: R, mut input: Vec<u8>, end: usize, source_done: bool) -> Self {
        if input.len() < COMPRESSED_BUFFER {
            input.resize(COMPRESSED_BUFFER, 0);
        }
        Self {
            source,
            input,
            start: 0,
            end,
            source_done,
            inflate: Some(pool::take_inflater()),
            crc: Crc::new(),
            state: Member::Header,
            members: 0,
            pending: None,
        }
    }

    fn available(&self) -> &[u8] {
        &self.input[self.start..self.end]
    }

    /// Reads more compressed bytes after the unconsumed ones (moved to the front); false
    /// at the end of the source.
    fn fill(&mut self) -> io::Result<bool> {
        if self.source_done {
            return Ok(false);
        }
        if self.start > 0 {
            self.input.copy_within(self.start..self.end, 0);
            self.end -= self.start;
            self.start = 0;
        }
        loop {
            match self.source.read(&mut self.input[self.end..]) {
                Ok(0) => {
                    self.source_done = true;
                    return Ok(false);
                }
                Ok(n) => {
                    self.end += n;
                    return Ok(true);
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
    }

    /// Makes at least `n` (≤ the buffer size) unconsumed bytes available; false if the
    /// source ends first.
    fn need(&mut self, n: usize) -> io::Result<bool> {
        while self.end - self.start < n {
            if !self.fill()? {
                return Ok(false);
            }
        }
        Ok(true)
    }

    /// Consumes `n` bytes, across refills.
    fn skip(&mut self, mut n: usize) -> io::Result<()> {
        loop {
            let here = n.min(self.end - self.start);
            self.start += here;
            n -= here;
            if n == 0 {
                return Ok(());
            }
            if !self.fill()? {
                return Err(truncated());
            }
        }
    }

    /// Consumes a zero-terminated header field, across refills.
    fn skip_zero_terminated(&mut self) -> io::Result<()> {
        loop {
            if let Some(i) = memchr::memchr(0, self.available()) {
                self.start += i + 1;
                return Ok(());
            }
            self.start = self.end;
            if !self.fill()? {
                return Err(truncated());
            }
        }
    }

    /// At a member boundary: reads the next header, or finds the clean end (`Ok(false)`).
    fn begin_member(&mut self) -> io::Result<bool> {
        if !self.need(1)? {
            return if self.members == 0 {
                Err(truncated())
            } else {
                Ok(false)
            };
        }
        if self.members > 0 && self.available()[0] == 0 {
            return self.zero_padding().map(|()| false);
        }
        if !self.need(GZIP_HEADER)? {
            return Err(if self.available().starts_with(&GZIP_MAGIC[..1]) {
                truncated()
            } else {
                gzip_error(false, "trailing bytes after the last gzip member")
            });
        }
        let header: [u8; GZIP_HEADER] = std::array::from_fn(|i| self.input[self.start + i]);
        if header[..2] != GZIP_MAGIC {
            return Err(gzip_error(
                false,
                if self.members == 0 {
                    "not a gzip header"
                } else {
                    "trailing bytes after the last gzip member"
                },
            ));
        }
        if header[2] != 8 {
            return Err(gzip_error(false, "unknown gzip compression method"));
        }
        let flags = header[3];
        if flags & FLAG_RESERVED != 0 {
            return Err(gzip_error(false, "reserved gzip header flags are set"));
        }
        self.start += GZIP_HEADER;
        if flags & FLAG_EXTRA != 0 {
            if !self.need(2)? {
                return Err(truncated());
            }
            let len = u16::from_le_bytes([self.input[self.start], self.input[self.start + 1]]);
            self.start += 2;
            self.skip(usize::from(len))?;
        }
        if flags & FLAG_NAME != 0 {
            self.skip_zero_terminated()?;
        }
        if flags & FLAG_COMMENT != 0 {
            self.skip_zero_terminated()?;
        }
        if flags & FLAG_HCRC != 0 {
            self.skip(2)?;
        }
        if let Some(inflate) = &mut self.inflate {
            inflate.reset(false);
        }
        self.crc.reset();
        Ok(true)
    }

    /// Zero bytes after the last member are padding; anything else after them is not.
    fn zero_padding(&mut self) -> io::Result<()> {
        loop {
            if self.available().iter().any(|&b| b != 0) {
                return Err(gzip_error(
                    false,
                    "trailing bytes after the last gzip member",
                ));
            }
            self.start = self.end;
            if !self.fill()? {
                return Ok(());
            }
        }
    }

    /// Checks the CRC-32 and length trailer of the member just inflated.
    fn end_member(&mut self) -> io::Result<()> {
        if !self.need(8)? {
            return Err(truncated());
        }
        let at = self.start;
        let word = |i: usize| {
            u32::from_le_bytes([
                self.input[at + i],
                self.input[at + i + 1],
                self.input[at + i + 2],
                self.input[at + i + 3],
            ])
        };
        let (crc, size) = (word(0), word(4));
        self.start += 8;
        if crc != self.crc.sum() {
            return Err(gzip_error(false, "CRC-32 mismatch: the data is damaged"));
        }
        if size != self.crc.amount() {
            return Err(gzip_error(false, "length mismatch: the data is damaged"));
        }
        self.members += 1;
        Ok(())
    }

    /// Inflates into `dst`; `Ok(0)` only at the end of a member.
    fn inflate_some(&mut self, dst: &mut [u8]) -> io::Result<usize> {
        loop {
            // with the source exhausted, the inflater is still asked once more: it may hold
            // decoded bytes that did not fit in the last `dst`
            let exhausted = self.start == self.end && !self.fill()?;
            let Some(inflate) = self.inflate.as_mut() else {
                return Err(gzip_error(false, "inflater unavailable"));
            };
            let (in_before, out_before) = (inflate.total_in(), inflate.total_out());
            let status = inflate.decompress(
                &self.input[self.start..self.end],
                dst,
                FlushDecompress::None,
            );
            let consumed = usize::try_from(inflate.total_in() - in_before).unwrap_or(0);
            let produced = usize::try_from(inflate.total_out() - out_before).unwrap_or(0);
            self.start = (self.start + consumed).min(self.end);
            self.crc.update(&dst[..produced]);
            match status {
                Ok(Status::StreamEnd) => {
                    self.state = Member::Trailer;
                    return Ok(produced);
                }
                Ok(Status::Ok | Status::BufError) => {
                    if produced > 0 {
                        return Ok(produced);
                    }
                    if exhausted {
                        return Err(truncated());
                    }
                    if consumed == 0 && self.start < self.end {
                        return Err(gzip_error(false, "inflate made no progress"));
                    }
                }
                Err(e) => {
                    let err = gzip_error(false, &format!("invalid deflate data ({e})"));
                    self.state = Member::Done;
                    if produced > 0 {
                        self.pending = Some(err);
                        return Ok(produced);
                    }
                    return Err(err);
                }
            }
        }
    }
}

impl<R: Read> Read for GzipStream<R> {
    fn read(&mut self, dst: &mut [u8]) -> io::Result<usize> {
        if let Some(err) = self.pending.take() {
            return Err(err);
        }
        if dst.is_empty() {
            return Ok(0);
        }
        loop {
            match self.state {
                Member::Done => return Ok(0),
                Member::Header => {
                    let begun = self.begin_member();
                    self.state = match begun {
                        Ok(true) => Member::Body,
                        Ok(false) | Err(_) => Member::Done,
                    };
                    if !begun? {
                        return Ok(0);
                    }
                }
                Member::Body => match self.inflate_some(dst) {
                    Ok(0) => {}
                    Ok(n) => return Ok(n),
                    Err(e) => {
                        self.state = Member::Done;
                        return Err(e);
                    }
                },
                Member::Trailer => {
                    let ended = self.end_member();
                    self.state = if ended.is_ok() {
                        Member::Header
                    } else {
                        Member::Done
                    };
                    ended?;
                }
            }
        }
    }
}

impl<R> Drop for GzipStream<R> {
    fn drop(&mut self) {
        pool::give(std::mem::take(&mut self.input));
        if let Some(inflate) = self.inflate.take() {
            pool::give_inflater(inflate);
        }
    }
}

/// Passes at most `limit` bytes; if the stream has more, fails with [`CapExceeded`].
struct CappedReader<R> {
    inner: R,
    limit: u64,
    passed: u64,
}

impl<R> CappedReader<R> {
    fn new(inner: R, limit: u64) -> Self {
        Self {
            inner,
            limit,
            passed: 0,
        }
    }
}

impl<R: Read> Read for CappedReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if buf.is_empty() {
            return Ok(0);
        }
        let remaining = self.limit.saturating_sub(self.passed);
        if remaining == 0 {
            // At the cap: the stream is acceptable only if it ends exactly here.
            let mut probe = [0u8; 1];
            return match self.inner.read(&mut probe)? {
                0 => Ok(0),
                _ => Err(io::Error::new(
                    io::ErrorKind::InvalidData,
                    CapExceeded { limit: self.limit },
                )),
            };
        }
        let want = usize::try_from(remaining).map_or(buf.len(), |r| r.min(buf.len()));
        let n = self.inner.read(&mut buf[..want])?;
        self.passed += n as u64;
        Ok(n)
    }
}
