//! Errors of the decode stage, each carrying the decompressed byte offset where it happened,
//! and the private payloads that let a failure deep inside a `Read` chain (size cap, gzip)
//! reach [`RecordSplitter`](super::RecordSplitter) as its proper variant.
//!
//! This is not where errors are reported or where it is decided whether a run goes on: that
//! belongs to the caller, which names the object the bytes came from.

use std::fmt;
use std::io;

/// A failure while decompressing or splitting a stream.
///
/// Records yielded before the error stay valid; see
/// [`RecordSplitter::next_record`](super::RecordSplitter::next_record) for whether the
/// splitter continues afterwards.
#[derive(Debug, thiserror::Error)]
pub enum DecodeError {
    /// The underlying reader failed.
    #[error("read failed at decompressed byte {offset}")]
    Io {
        offset: u64,
        #[source]
        source: io::Error,
    },
    /// The gzip stream ended before its last member was complete.
    #[error("gzip stream is truncated at decompressed byte {offset}")]
    GzipTruncated { offset: u64 },
    /// The gzip stream is damaged (bad header, bad deflate data, checksum mismatch).
    #[error("gzip stream is corrupt at decompressed byte {offset}: {message}")]
    GzipCorrupt { offset: u64, message: String },
    /// The decompressed stream is larger than `DecodeLimits::max_decompressed_bytes`.
    #[error("decompressed size exceeds the {} limit at byte {limit}", ByteSize(*limit))]
    TooLarge { limit: u64 },
    /// The bytes are not structurally valid JSON.
    #[error("invalid JSON at byte {offset}: {message}")]
    Syntax { offset: u64, message: String },
    /// One record (or a top-level object buffered as a candidate record) is larger than
    /// `DecodeLimits::max_record_bytes`; `offset` is where that record starts.
    #[error("record at byte {offset} exceeds the {} limit", ByteSize(*limit as u64))]
    RecordTooLarge { offset: u64, limit: usize },
    /// Brackets nest deeper than `DecodeLimits::max_depth`.
    #[error("JSON nesting deeper than {limit} levels at byte {offset}")]
    TooDeep { offset: u64, limit: usize },
}

impl DecodeError {
    /// Decompressed byte offset the error refers to.
    pub fn offset(&self) -> u64 {
        match self {
            Self::Io { offset, .. }
            | Self::GzipTruncated { offset }
            | Self::GzipCorrupt { offset, .. }
            | Self::Syntax { offset, .. }
            | Self::RecordTooLarge { offset, .. }
            | Self::TooDeep { offset, .. } => *offset,
            Self::TooLarge { limit } => *limit,
        }
    }

    /// Whether an error from the decompressed reader says the compressed bytes themselves
    /// are damaged (corrupt or truncated gzip), rather than that reading them failed.
    pub fn is_gzip_data_error(err: &io::Error) -> bool {
        err.get_ref()
            .is_some_and(|inner| inner.downcast_ref::<GzipFailure>().is_some())
    }

    /// Converts an error from the decompressed reader, recognising the payloads planted by
    /// [`decompress`](super::decompress).
    pub(crate) fn from_read(err: io::Error, offset: u64) -> Self {
        if let Some(inner) = err.get_ref() {
            if let Some(cap) = inner.downcast_ref::<CapExceeded>() {
                return Self::TooLarge { limit: cap.limit };
            }
            if let Some(gzip) = inner.downcast_ref::<GzipFailure>() {
                return if gzip.truncated {
                    Self::GzipTruncated { offset }
                } else {
                    Self::GzipCorrupt {
                        offset,
                        message: gzip.message.clone(),
                    }
                };
            }
        }
        Self::Io {
            offset,
            source: err,
        }
    }
}

/// Payload of the error returned once the decompressed size passes the cap.
#[derive(Debug, thiserror::Error)]
#[error("decompressed size exceeds the {} limit", ByteSize(*limit))]
pub(crate) struct CapExceeded {
    pub(crate) limit: u64,
}

/// Payload marking an error raised by the gzip decoder itself (not by the reader under it).
#[derive(Debug, thiserror::Error)]
#[error("gzip: {message}")]
pub(crate) struct GzipFailure {
    pub(crate) truncated: bool,
    pub(crate) message: String,
}

/// A byte count shown in the largest binary unit that divides it exactly.
pub(crate) struct ByteSize(pub(crate) u64);

impl fmt::Display for ByteSize {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        const UNITS: [(u64, &str); 3] = [(1 << 30, "GiB"), (1 << 20, "MiB"), (1 << 10, "KiB")];
        let n = self.0;
        for (size, name) in UNITS {
            if n >= size && n % size == 0 {
                return write!(f, "{} {name}", n / size);
            }
        }
        write!(f, "{n} bytes")
    }
}
