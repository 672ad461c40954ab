//! Compression sniffing from the first bytes (never from a file name), multi-member gzip
//! decoding and the decompressed-size cap that guards against decompression bombs.
//!
//! This is not the record splitter and does not look at JSON; it only produces a plain byte
//! stream whose errors [`DecodeError`](super::DecodeError) can classify.

use std::io::{self, BufRead, BufReader, Cursor, Read};

use flate2::bufread::MultiGzDecoder;

use super::error::{CapExceeded, GzipFailure, SourceFailure};
use super::DecodeLimits;

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
        Compression::Gzip => {
            let source = BufReader::with_capacity(COMPRESSED_BUFFER, TaggedSource(whole));
            Box::new(CappedReader::new(
                GzipReader(MultiGzDecoder::new(source)),
                limit,
            ))
        }
        Compression::Plain => Box::new(CappedReader::new(whole, limit)),
    };
    Ok((compression, stream))
}

/// Marks the compressed source's own errors so the gzip layer can tell them from its own.
struct TaggedSource<R>(R);

impl<R: Read> Read for TaggedSource<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.0.read(buf).map_err(|e| {
            if e.kind() == io::ErrorKind::Interrupted {
                e
            } else {
                io::Error::new(e.kind(), SourceFailure(e))
            }
        })
    }
}

/// Re-labels the inflater's errors as [`GzipFailure`], passing source errors through.
struct GzipReader<R: BufRead>(MultiGzDecoder<R>);

impl<R: BufRead> Read for GzipReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.0.read(buf).map_err(|e| {
            let from_source = e.get_ref().is_some_and(|inner| inner.is::<SourceFailure>());
            if from_source || e.kind() == io::ErrorKind::Interrupted {
                return e;
            }
            let truncated = e.kind() == io::ErrorKind::UnexpectedEof;
            let failure = GzipFailure {
                truncated,
                message: e.to_string(),
            };
            io::Error::new(e.kind(), failure)
        })
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
