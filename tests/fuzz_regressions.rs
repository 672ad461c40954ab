//! Inputs that broke a fuzz target in `fuzz/` (see docs/fuzzing.md), replayed through the code
//! path of the target that met them, with the invariant the target checks. Each test is named
//! after the bug; the input is the exact one the target reported.
#![allow(clippy::unwrap_used, clippy::expect_used, reason = "tests")]

use std::io::Cursor;

use chrono::{TimeZone, Utc};
use trailwhy::decode::{decompress, DecodeLimits, RecordSplitter, Shape};
use trailwhy::selection::time::parse_time_bound;

/// What `record_splitter` does: `decompress`, then `next_record` until `Ok(None)`; returns the
/// records and `shape()` as seen right after each one.
fn split_with_shapes(input: &[u8]) -> Vec<(Vec<u8>, Option<Shape>)> {
    let limits = DecodeLimits {
        max_decompressed_bytes: 16 << 20,
        ..DecodeLimits::default()
    };
    let (_, stream) = decompress(Cursor::new(input.to_vec()), &limits).unwrap();
    let mut splitter = RecordSplitter::new(stream, &limits);
    let mut out = Vec::new();
    for _ in 0..4 * input.len() + 10 {
        match splitter.next_record() {
            Ok(None) => return out,
            Ok(Some(raw)) => {
                let bytes = raw.bytes.to_vec();
                out.push((bytes, splitter.shape()));
            }
            Err(_) => {}
        }
    }
    panic!("the splitter did not end");
}

/// record_splitter: a stream whose first value is a top-level scalar returned that scalar as a
/// record while `shape()` stayed `None` (documented: always `Some` once a record was returned).
#[test]
fn top_level_scalar_record_has_a_shape() {
    let out = split_with_shapes(b"1 2 3 \"x\" [] {} tru");
    let records: Vec<&[u8]> = out.iter().map(|(b, _)| b.as_slice()).collect();
    assert_eq!(
        records,
        vec![&b"1"[..], b"2", b"3", b"\"x\"", b"{}", b"tru"]
    );
    assert_eq!(out[0].1, Some(Shape::Single));
    assert!(out[1..].iter().all(|(_, s)| *s == Some(Shape::Ndjson)));

    for lone in [&b"1"[..], b"\"just a string\"", b"null\n"] {
        let out = split_with_shapes(lone);
        assert_eq!(out.len(), 1, "{lone:?}");
        assert_eq!(out[0].1, Some(Shape::Single), "{lone:?}");
    }
}

/// event_decoder (time parsers): a relative bound further back than chrono's calendar range
/// panicked with "`DateTime - TimeDelta` overflowed" instead of being refused.
#[test]
fn huge_relative_time_bound_is_an_error_not_a_panic() {
    let now = Utc.with_ymd_and_hms(2026, 10, 2, 12, 0, 0).unwrap();
    for text in ["99999999999d", "15250284452w", "-99999999999 days ago"] {
        let err = parse_time_bound(text, now).unwrap_err();
        assert!(err.contains("too far in the past"), "{text}: {err}");
    }
    // the largest bound that still fits keeps working
    assert!(parse_time_bound("95000000d", now).is_ok());
}
