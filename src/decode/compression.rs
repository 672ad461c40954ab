//! Compression sniffing from the first bytes (never from a file name), multi-member gzip
//! decoding and the decompressed-size cap that guards against decompression bombs.
//!
//! This is not the record splitter and does not look at JSON; it only produces a plain byte
//! stream whose errors [`DecodeError`](super::DecodeError) can classify.

use std::io::{self, Cursor, Read};

use flate2::{Decompress, FlushDecompress, Status};

use super::error::{CapExceeded, GzipFailure};
use super::{pool, DecodeLimits};

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
) -> io::Result<(Compression, Box<dyn Read + Send>)> {
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
    let whole = Cursor::new(prefix).take(got as u64).chain(reader);
    let limit = limits.max_decompressed_bytes;
    let stream: Box<dyn Read + Send> = match compression {
        Compression::Gzip => Box::new(CappedReader::new(GzipStream::new(whole), limit)),
        Compression::Plain => Box::new(CappedReader::new(whole, limit)),
    };
    Ok((compression, stream))
}

/// Multi-member gzip, inflated straight into the caller's buffer.
///
/// Written on `flate2::Decompress` (zlib's own gzip wrapper: header, CRC-32 and length
/// checks) rather than `flate2`'s readers for two reasons: the bytes inflated before a
/// corruption are handed out before the error (a reader that fails a `read` loses what that
/// call produced, up to a whole buffer of good records), and the compressed-side buffer
/// comes from the per-thread [`pool`](super::pool) instead of being allocated for each file.
struct GzipStream<R> {
    source: R,
    input: Vec<u8>,
    /// Unconsumed compressed bytes are `input[start..end]`.
    start: usize,
    end: usize,
    source_done: bool,
    inflate: Decompress,
    /// A member has begun and not yet ended.
    in_member: bool,
    members: u64,
    /// An error found after some output was produced, returned by the next `read`.
    pending: Option<io::Error>,
}

impl<R: Read> GzipStream<R> {
    fn new(source: R) -> Self {
        Self {
            source,
            input: pool::take(COMPRESSED_BUFFER),
            start: 0,
            end: 0,
            source_done: false,
            inflate: Decompress::new_gzip(15),
            in_member: false,
            members: 0,
            pending: None,
        }
    }

    /// Reads more compressed bytes once the previous ones are all consumed.
    fn fill(&mut self) -> io::Result<()> {
        let size = self.input.len();
        loop {
            match self.source.read(&mut self.input[..size]) {
                Ok(0) => self.source_done = true,
                Ok(n) => self.end = n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            }
            self.start = 0;
            if self.source_done {
                self.end = 0;
            }
            return Ok(());
        }
    }
}

fn gzip_error(truncated: bool, message: String) -> io::Error {
    let kind = if truncated {
        io::ErrorKind::UnexpectedEof
    } else {
        io::ErrorKind::InvalidData
    };
    io::Error::new(kind, GzipFailure { truncated, message })
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
            if self.start == self.end && !self.source_done {
                self.fill()?;
            }
            let available = &self.input[self.start..self.end];
            if !self.in_member {
                if available.is_empty() {
                    // Between members at the end of the input: a clean end.
                    return Ok(0);
                }
                if self.members > 0 {
                    self.inflate.reset(true);
                }
                self.in_member = true;
            }
            let (in_before, out_before) = (self.inflate.total_in(), self.inflate.total_out());
            let status = self
                .inflate
                .decompress(available, dst, FlushDecompress::None);
            let consumed = usize::try_from(self.inflate.total_in() - in_before).unwrap_or(0);
            let produced = usize::try_from(self.inflate.total_out() - out_before).unwrap_or(0);
            self.start = (self.start + consumed).min(self.end);
            match status {
                Ok(Status::StreamEnd) => {
                    self.in_member = false;
                    self.members += 1;
                    if produced > 0 {
                        return Ok(produced);
                    }
                }
                Ok(Status::Ok | Status::BufError) => {
                    if produced > 0 {
                        return Ok(produced);
                    }
                    if consumed == 0 && self.start == self.end && self.source_done {
                        return Err(gzip_error(true, "unexpected end of gzip stream".to_owned()));
                    }
                    if consumed == 0 && self.start < self.end {
                        // Input left, room for output, and no progress: cannot go on.
                        return Err(gzip_error(false, "inflate made no progress".to_owned()));
                    }
                }
                Err(e) => {
                    let err = gzip_error(false, format!("corrupt deflate stream ({e})"));
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

impl<R> Drop for GzipStream<R> {
    fn drop(&mut self) {
        pool::give(std::mem::take(&mut self.input));
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
