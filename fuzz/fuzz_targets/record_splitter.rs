//! Arbitrary bytes → `decompress` → `RecordSplitter::next_record` until `Ok(None)`.
//!
//! Checked: no panic; the loop ends (at most 4 outcomes per byte of input or of decompressed
//! output, plus 10); every record is non-empty, lies within `bytes_read()` and, for plain input,
//! is exactly the input bytes at its offset (for gzip, the bytes at its offset of an independent
//! flate2 decode); `shape()` is known once a record was returned; `Ok(None)` stays `Ok(None)`.
//! The same input is split a second time through readers that hand out 1–7 bytes per `read`
//! (both under the inflater and under the splitter): the outcomes must be the same. Both passes
//! run with near-default limits and again with tight limits chosen by the last input byte, so
//! the depth, record-size and decompressed-size errors are reached too.
#![no_main]

use std::io::{self, Read};

use libfuzzer_sys::fuzz_target;
use trailwhy::decode::{
    decompress, Compression, DecodeError, DecodeLimits, RecordKind, RecordSplitter,
};

/// Cap on decompressed bytes for the "default" pass: large enough for any seed, small enough
/// that a gzip bomb costs milliseconds.
const FUZZ_DECOMPRESSED_CAP: u64 = 16 << 20;

fuzz_target!(|data: &[u8]| {
    let roomy = DecodeLimits {
        max_decompressed_bytes: FUZZ_DECOMPRESSED_CAP,
        ..DecodeLimits::default()
    };
    check(data, &roomy);
    check(data, &tight_limits(data));
});

/// Small limits picked by the last byte (and the length), so every limit is hit by short inputs.
fn tight_limits(data: &[u8]) -> DecodeLimits {
    let tail = u64::from(data.last().copied().unwrap_or(0));
    DecodeLimits {
        max_decompressed_bytes: 1 + (tail % 16) * 64 + (data.len() as u64 % 7),
        max_record_bytes: 1 + ((tail >> 4) as usize) * 24,
        max_depth: (tail % 5) as usize,
    }
}

/// What one `next_record` call returned, in comparable form.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Outcome {
    Record {
        bytes: Vec<u8>,
        offset: u64,
        kind: RecordKind,
    },
    /// A structural error (syntax, depth, record size): deterministic in the bytes, compared
    /// with its message and offset.
    Structural(String),
    /// An error of the stream itself (IO, gzip, size cap); where it surfaces depends on read
    /// sizes, so only its presence is compared.
    Stream,
}

fn check(data: &[u8], limits: &DecodeLimits) {
    let reference = reference_decode(data, limits);
    let plain = split(data, limits, None, &reference);
    let chunked = split(data, limits, Some(data), &reference);
    let ends_in_stream_error = |o: &[Outcome]| o.last() == Some(&Outcome::Stream);
    match (ends_in_stream_error(&plain), ends_in_stream_error(&chunked)) {
        (false, false) => assert_eq!(plain, chunked, "reading patterns disagree"),
        // A gzip error drops whatever the inflater produced in the failing `read`, so one
        // reading pattern may see more of the stream before the error than the other. The run
        // that saw less says less: its outcomes (without the error) begin the other's. The other
        // run ends in the same stream error, or stopped before it on a fatal structural error.
        (a_stream, b_stream) => {
            let a = &plain[..plain.len() - usize::from(a_stream)];
            let b = &chunked[..chunked.len() - usize::from(b_stream)];
            let (short, long) = if a.len() <= b.len() { (a, b) } else { (b, a) };
            assert_eq!(
                short,
                &long[..short.len()],
                "reading patterns disagree:\n{plain:?}\nvs\n{chunked:?}"
            );
            if a_stream != b_stream {
                let other = if a_stream { &chunked } else { &plain };
                assert!(
                    matches!(other.last(), Some(Outcome::Structural(_))),
                    "one reading pattern met a stream error, the other ended cleanly:\n{plain:?}\nvs\n{chunked:?}"
                );
            }
        }
    }
}

/// Decompressed bytes as flate2 alone produces them (up to the first error or the cap).
fn reference_decode(data: &[u8], limits: &DecodeLimits) -> Vec<u8> {
    if !data.starts_with(&[0x1f, 0x8b]) {
        return data.to_vec();
    }
    let mut out = Vec::new();
    let mut decoder = flate2::read::MultiGzDecoder::new(data);
    let mut buf = [0u8; 4096];
    let cap = usize::try_from(limits.max_decompressed_bytes).unwrap_or(usize::MAX);
    while out.len() <= cap {
        match decoder.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => out.extend_from_slice(&buf[..n]),
        }
    }
    out
}

/// Splits `data`; with `pattern`, every reader involved returns 1–7 bytes per call.
fn split(
    data: &[u8],
    limits: &DecodeLimits,
    pattern: Option<&[u8]>,
    reference: &[u8],
) -> Vec<Outcome> {
    let source: Box<dyn Read + Send> = match pattern {
        Some(p) => Box::new(Trickle::new(io::Cursor::new(data.to_vec()), p, 0)),
        None => Box::new(io::Cursor::new(data.to_vec())),
    };
    let (compression, stream) = match decompress(source, limits) {
        Ok(x) => x,
        Err(e) => panic!("decompress failed on an in-memory reader: {e}"),
    };
    let stream: Box<dyn Read + Send> = match pattern {
        Some(p) => Box::new(Trickle::new(stream, p, 3)),
        None => stream,
    };
    let mut splitter = RecordSplitter::new(stream, limits);
    let mut outcomes = Vec::new();
    let mut calls: u64 = 0;
    loop {
        calls += 1;
        let budget = 4 * (data.len() as u64).max(splitter.bytes_read()) + 10;
        assert!(
            calls <= budget,
            "no end after {calls} calls (budget {budget})"
        );
        let outcome = match splitter.next_record() {
            Ok(None) => break,
            Ok(Some(raw)) => Outcome::Record {
                bytes: raw.bytes.to_vec(),
                offset: raw.offset,
                kind: raw.kind,
            },
            Err(e) => classify(&e),
        };
        if let Outcome::Record {
            bytes,
            offset,
            kind,
        } = &outcome
        {
            check_record(
                bytes,
                *offset,
                *kind,
                splitter.bytes_read(),
                compression,
                reference,
            );
            assert!(
                splitter.shape().is_some(),
                "shape unknown after a record was returned"
            );
        }
        outcomes.push(outcome);
    }
    for _ in 0..2 {
        assert!(
            matches!(splitter.next_record(), Ok(None)),
            "next_record after Ok(None) returned something"
        );
    }
    outcomes
}

fn classify(e: &DecodeError) -> Outcome {
    match e {
        DecodeError::Syntax { .. }
        | DecodeError::TooDeep { .. }
        | DecodeError::RecordTooLarge { .. } => {
            Outcome::Structural(format!("{e} (offset {})", e.offset()))
        }
        DecodeError::Io { .. }
        | DecodeError::GzipTruncated { .. }
        | DecodeError::GzipCorrupt { .. }
        | DecodeError::TooLarge { .. } => Outcome::Stream,
    }
}

fn check_record(
    bytes: &[u8],
    offset: u64,
    kind: RecordKind,
    bytes_read: u64,
    compression: Compression,
    reference: &[u8],
) {
    assert!(!bytes.is_empty(), "empty record at offset {offset}");
    let end = offset + bytes.len() as u64;
    assert!(
        end <= bytes_read,
        "record {offset}..{end} passes bytes_read {bytes_read}"
    );
    assert_eq!(
        kind == RecordKind::Object,
        bytes[0] == b'{',
        "kind {kind:?} for a record starting with {:?}",
        bytes[0] as char
    );
    let (Ok(start), Ok(stop)) = (usize::try_from(offset), usize::try_from(end)) else {
        panic!("offset does not fit in memory");
    };
    match reference.get(start..stop) {
        Some(expected) => assert_eq!(bytes, expected, "record differs from the input at {offset}"),
        // flate2 on its own stopped earlier only if the stream is broken after this point;
        // plain input has no such excuse.
        None => assert_eq!(
            compression,
            Compression::Gzip,
            "record {offset}..{end} is outside the plain input"
        ),
    }
}

/// A reader that returns 1–7 bytes per call, the sizes cycling through `pattern`.
struct Trickle<R> {
    inner: R,
    sizes: Vec<usize>,
    next: usize,
}

impl<R> Trickle<R> {
    fn new(inner: R, pattern: &[u8], shift: usize) -> Self {
        let mut sizes: Vec<usize> = pattern.iter().map(|b| 1 + usize::from(*b) % 7).collect();
        if sizes.is_empty() {
            sizes.push(1);
        }
        Trickle {
            inner,
            sizes,
            next: shift,
        }
    }
}

impl<R: Read> Read for Trickle<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let size = self.sizes[self.next % self.sizes.len()];
        self.next = self.next.wrapping_add(1);
        let n = size.min(buf.len());
        self.inner.read(&mut buf[..n])
    }
}
