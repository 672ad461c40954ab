//! Tests of the decode stage: one case per input shape and failure, exact records, offsets and
//! error variants; properties saying that splitting is invariant to read and buffer
//! boundaries and never panics. Not a benchmark (the throughput run is `#[ignore]`d).

use std::io::{self, Read, Write};

use flate2::write::GzEncoder;
use proptest::prelude::*;
use serde_json::Value;

use super::splitter::RecordSplitter;
use super::*;

/// Records as (bytes, offset, kind).
type Records = Vec<(Vec<u8>, u64, RecordKind)>;

/// Everything a splitter produced, in order.
#[derive(Debug, Default)]
struct Outcome {
    records: Records,
    errors: Vec<(usize, DecodeError)>,
    shape: Option<Shape>,
    bytes_read: u64,
}

impl Outcome {
    fn bytes(&self) -> Vec<&[u8]> {
        self.records.iter().map(|(b, _, _)| b.as_slice()).collect()
    }

    fn offsets(&self) -> Vec<u64> {
        self.records.iter().map(|(_, o, _)| *o).collect()
    }

    fn only_error(&self) -> &DecodeError {
        assert_eq!(self.errors.len(), 1, "errors: {:?}", self.errors);
        &self.errors[0].1
    }
}

/// Drives a splitter to the end; each error is recorded with the number of records before it.
fn drain<R: Read>(mut splitter: RecordSplitter<R>, max_calls: usize) -> Outcome {
    let mut out = Outcome::default();
    for _ in 0..max_calls {
        match splitter.next_record() {
            Ok(Some(r)) => out.records.push((r.bytes.to_vec(), r.offset, r.kind)),
            Ok(None) => {
                assert!(matches!(splitter.next_record(), Ok(None)), "not fused");
                out.shape = splitter.shape();
                out.bytes_read = splitter.bytes_read();
                return out;
            }
            Err(e) => out.errors.push((out.records.len(), e)),
        }
    }
    panic!("splitter did not finish within {max_calls} calls");
}

fn split_with(input: &[u8], limits: &DecodeLimits, chunk: usize) -> Outcome {
    let splitter = RecordSplitter::with_chunk_size(input, limits, chunk);
    drain(splitter, input.len() * 2 + 8)
}

/// Splits with the default and with tiny buffers; all must agree.
fn split(input: &[u8]) -> Outcome {
    let limits = DecodeLimits::default();
    let reference = split_with(input, &limits, 256 * 1024);
    for chunk in [1, 2, 7] {
        let other = split_with(input, &limits, chunk);
        assert_eq!(other.records, reference.records, "chunk {chunk}");
        assert_eq!(other.shape, reference.shape, "chunk {chunk}");
        let messages = |o: &Outcome| -> Vec<String> {
            o.errors.iter().map(|(n, e)| format!("{n}: {e}")).collect()
        };
        assert_eq!(messages(&other), messages(&reference), "chunk {chunk}");
    }
    reference
}

fn gzip(parts: &[&[u8]]) -> Vec<u8> {
    let mut out = Vec::new();
    for part in parts {
        let mut enc = GzEncoder::new(Vec::new(), flate2::Compression::default());
        enc.write_all(part).unwrap();
        out.extend(enc.finish().unwrap());
    }
    out
}

/// Decompresses `input` through [`decompress`] and splits it.
fn split_stream(input: Vec<u8>, limits: &DecodeLimits) -> (Compression, Outcome) {
    let max_calls = input.len() * 64 + 8;
    let (compression, reader) = decompress(io::Cursor::new(input), limits).unwrap();
    let splitter = RecordSplitter::with_chunk_size(reader, limits, 5);
    (compression, drain(splitter, max_calls))
}

const E1: &[u8] = br#"{"eventName":"AssumeRoleWithWebIdentity","n":1}"#;
const E2: &[u8] = br#"{"eventName":"GetAuthorizationToken","n":[2,{"x":null}]}"#;
const E3: &[u8] = br#"{"n":3}"#;

fn log_object(records: &[&[u8]]) -> Vec<u8> {
    let mut out = br#"{"Records":["#.to_vec();
    out.extend(records.join(&b","[..]));
    out.extend(b"]}");
    out
}

fn offset_of(haystack: &[u8], needle: &[u8]) -> u64 {
    let at = haystack
        .windows(needle.len())
        .position(|w| w == needle)
        .unwrap();
    at as u64
}

#[test]
fn log_object_yields_each_record_with_its_offset() {
    let input = log_object(&[E1, E2, E3]);
    let out = split(&input);
    assert_eq!(out.bytes(), vec![E1, E2, E3]);
    let (l1, l2) = (E1.len() as u64, E2.len() as u64);
    assert_eq!((l1, l2), (47, 56));
    assert_eq!(out.offsets(), vec![12, 12 + l1 + 1, 12 + l1 + 1 + l2 + 1]);
    assert_eq!(out.offsets()[2], offset_of(&input, E3));
    assert!(out.records.iter().all(|r| r.2 == RecordKind::Object));
    assert_eq!(out.shape, Some(Shape::LogObject));
    assert!(out.errors.is_empty());
    assert_eq!(out.bytes_read, input.len() as u64);
}

#[test]
fn records_key_may_come_last_or_among_other_keys() {
    for input in [
        format!(
            r#"{{"a":{{"Records":[1]}},"b":[{{"x":"]"}}],"Records":[{},{}]}}"#,
            std::str::from_utf8(E1).unwrap(),
            std::str::from_utf8(E3).unwrap()
        ),
        format!(
            "{{ \"x\" : 1 ,\n \"Records\" :\n[ {} ,\n{} ] , \"y\": {{\"Records\": 5}} }}",
            std::str::from_utf8(E1).unwrap(),
            std::str::from_utf8(E3).unwrap()
        ),
    ] {
        let out = split(input.as_bytes());
        assert_eq!(out.bytes(), vec![E1, E3], "{input}");
        assert_eq!(out.offsets()[0], offset_of(input.as_bytes(), E1));
        assert_eq!(out.shape, Some(Shape::LogObject));
        assert!(out.errors.is_empty());
    }
}

#[test]
fn lookup_events_output_yields_the_event_wrappers() {
    let input = br#"{
    "Events": [
        {"EventId": "1", "CloudTrailEvent": "{\"eventVersion\":\"1.08\",\"x\":\"}\"}"},
        {"EventId": "2", "CloudTrailEvent": "{}"}
    ],
    "NextToken": "abc"
}"#;
    let out = split(input);
    let first =
        br#"{"EventId": "1", "CloudTrailEvent": "{\"eventVersion\":\"1.08\",\"x\":\"}\"}"}"#;
    let second = br#"{"EventId": "2", "CloudTrailEvent": "{}"}"#;
    assert_eq!(out.bytes(), vec![&first[..], &second[..]]);
    assert_eq!(
        out.offsets(),
        vec![offset_of(input, first), offset_of(input, second)]
    );
    assert_eq!(out.offsets()[0], 26);
    assert_eq!(out.shape, Some(Shape::LookupEvents));
}

#[test]
fn array_single_and_ndjson_shapes() {
    let out = split(b" [ {\"n\":3} , {\"m\":[]} ]\n");
    assert_eq!(out.bytes(), vec![&b"{\"n\":3}"[..], b"{\"m\":[]}"]);
    assert_eq!(out.offsets(), vec![3, 13]);
    assert_eq!(out.shape, Some(Shape::Array));

    let out = split(b"\n{\"eventName\":\"X\",\"Records\":{\"a\":[1]}}\n");
    assert_eq!(
        out.bytes(),
        vec![&b"{\"eventName\":\"X\",\"Records\":{\"a\":[1]}}"[..]]
    );
    assert_eq!(out.offsets(), vec![1]);
    assert_eq!(out.shape, Some(Shape::Single));

    let input = [E1, b"\n", E2, b"\r\n", E3, b"\n"].concat();
    let out = split(&input);
    assert_eq!(out.bytes(), vec![E1, E2, E3]);
    assert_eq!(out.offsets(), vec![0, 48, 48 + 56 + 2]);
    assert_eq!(out.shape, Some(Shape::Ndjson));

    // Concatenated JSON with no separator at all.
    let out = split(&[E3, E3].concat());
    assert_eq!(out.bytes(), vec![E3, E3]);
    assert_eq!(out.offsets(), vec![0, 7]);
}

#[test]
fn concatenated_log_objects_stream_all_records() {
    let first = log_object(&[E1, E2]);
    let second = log_object(&[E3]);
    let input = [first.as_slice(), b"\n", second.as_slice()].concat();
    let out = split(&input);
    assert_eq!(out.bytes(), vec![E1, E2, E3]);
    assert_eq!(out.offsets()[2], first.len() as u64 + 1 + 12);
    assert_eq!(out.shape, Some(Shape::Ndjson));
    assert!(out.errors.is_empty());
}

#[test]
fn empty_inputs_yield_nothing() {
    for input in [
        &b""[..],
        b" \n\t\r\n",
        b"\xef\xbb\xbf",
        b"{\"Records\":[]}",
        b"{\"Records\":[ ]}\n",
        b"[]",
        b"{\"Events\":[],\"NextToken\":null}",
    ] {
        let out = split(input);
        assert!(out.records.is_empty(), "{input:?}");
        assert!(out.errors.is_empty(), "{input:?}: {:?}", out.errors);
    }
    assert_eq!(split(b"").shape, None);
    assert_eq!(split(b"{\"Records\":[]}").shape, Some(Shape::LogObject));
}

#[test]
fn byte_order_mark_is_skipped() {
    let input = [&b"\xef\xbb\xbf"[..], &log_object(&[E3])].concat();
    let out = split(&input);
    assert_eq!(out.bytes(), vec![E3]);
    assert_eq!(out.offsets(), vec![15]);
}

#[test]
fn non_object_elements_are_flagged() {
    let out = split(br#"{"Records":[1, "s{", null, [2,{"a":3}], {"b":4}, -1.5e3, true]}"#);
    let kinds: Vec<_> = out.records.iter().map(|r| r.2).collect();
    use RecordKind::{Object, Other};
    assert_eq!(
        kinds,
        vec![Other, Other, Other, Other, Object, Other, Other]
    );
    assert_eq!(
        out.bytes(),
        vec![
            &b"1"[..],
            b"\"s{\"",
            b"null",
            b"[2,{\"a\":3}]",
            b"{\"b\":4}",
            b"-1.5e3",
            b"true"
        ]
    );
    let out = split(b"\"just a string\"\n42");
    assert_eq!(out.bytes(), vec![&b"\"just a string\""[..], b"42"]);
    assert!(out.records.iter().all(|r| r.2 == RecordKind::Other));
    assert_eq!(out.shape, Some(Shape::Ndjson));
}

#[test]
fn strings_with_brackets_escapes_and_non_utf8_keep_records_whole() {
    let tricky: &[u8] =
        b"{\"a\":\"}]{[\\\"\\\\\",\"b\\\\\":\"\\\\\\\"}\",\"c\":\"\xff\xfe\xc3(\",\"d\":[\"]\"]}";
    let input = log_object(&[tricky, E3, b"\"\\\\\"", b"\"\\\"\""]);
    let out = split(&input);
    assert_eq!(out.bytes(), vec![tricky, E3, b"\"\\\\\"", b"\"\\\"\""]);
    assert!(out.errors.is_empty());
    // A key that merely contains `Records` is not the wrapper key.
    let input = br#"{"Rec\"ords":[1],"xRecords":[2],"Record":[3]}"#;
    let out = split(input);
    assert_eq!(out.bytes(), vec![&input[..]]);
    assert_eq!(out.shape, Some(Shape::Single));
}

#[test]
fn syntax_error_keeps_earlier_records_and_names_the_offset() {
    let mut input = log_object(&[E1, E2]);
    input.truncate(input.len() - 2);
    input.extend(b" x, {}]}");
    let at = offset_of(&input, b"x, {}");
    let out = split(&input);
    assert_eq!(out.bytes(), vec![E1, E2]);
    let err = out.only_error();
    assert!(
        matches!(err, DecodeError::Syntax { offset, .. } if *offset == at),
        "{err:?}"
    );
    assert_eq!(
        err.to_string(),
        format!("invalid JSON at byte {at}: expected ',' or ']'")
    );
    // One-line log object: nothing to resynchronise on, the stream ends.
    assert_eq!(out.errors[0].0, 2);
}

#[test]
fn truncated_json_and_mismatched_brackets_are_errors() {
    let out = split(br#"{"Records":[{"a":1},{"b":"#);
    assert_eq!(out.bytes(), vec![&br#"{"a":1}"#[..]]);
    assert_eq!(
        out.only_error().to_string(),
        "invalid JSON at byte 25: unexpected end of input"
    );
    let out = split(br#"[{"a":[1}]"#);
    assert_eq!(
        out.only_error().to_string(),
        "invalid JSON at byte 8: unexpected '}' inside an array"
    );
    let out = split(br#"[1,]"#);
    assert_eq!(
        out.only_error().to_string(),
        "invalid JSON at byte 3: expected a JSON value"
    );
    let out = split(b"hello");
    assert_eq!(
        out.only_error().to_string(),
        "invalid JSON at byte 0: expected a JSON value"
    );
    assert_eq!(out.shape, None);
}

#[test]
fn ndjson_resynchronises_at_the_next_line() {
    let input = [
        E1,
        b"\n{\"broken\": [}\n",
        b"{\"also\" 1}\n",
        b"  \"indented garbage\n",
        E2,
        b"\n",
        E3,
    ]
    .concat();
    let out = split(&input);
    assert_eq!(out.bytes(), vec![E1, E2, E3]);
    let errors: Vec<String> = out.errors.iter().map(|(_, e)| e.to_string()).collect();
    assert_eq!(
        errors,
        vec![
            "invalid JSON at byte 60: unexpected '}' inside an array".to_owned(),
            "invalid JSON at byte 70: expected ':'".to_owned(),
        ]
    );
    assert_eq!(out.errors[0].0, 1);
    assert_eq!(out.errors[1].0, 1);

    // An error on the first line of NDJSON is recoverable too, and a broken line that ends
    // right before the next `{` line loses nothing.
    let input = [b"{\"a\":,\n", E3].concat();
    let out = split(&input);
    assert_eq!(out.bytes(), vec![E3]);
    assert_eq!(
        out.only_error().to_string(),
        "invalid JSON at byte 5: expected a JSON value"
    );
    // An object left open at the end of the input swallows what follows: one error at EOF.
    let input = [b"{\"a\":\n", E3].concat();
    let out = split(&input);
    assert!(out.records.is_empty());
    assert_eq!(
        out.only_error().to_string(),
        format!(
            "invalid JSON at byte {}: unexpected end of input",
            input.len()
        )
    );
}

#[test]
fn top_level_array_errors_are_fatal() {
    let input = b"[{\"a\":1},\n{\"b\":2]},\n{\"c\":3}]";
    let out = split(input);
    assert_eq!(out.bytes(), vec![&b"{\"a\":1}"[..]]);
    assert!(matches!(
        out.only_error(),
        DecodeError::Syntax { offset: 16, .. }
    ));
}

#[test]
fn nesting_beyond_the_limit_is_an_error() {
    let limits = DecodeLimits {
        max_depth: 4,
        ..DecodeLimits::default()
    };
    // Depth 4 exactly (wrapper object, array, record, one nested array) is accepted.
    let ok = br#"{"Records":[{"a":[1]},{"b":{"c":[2]}}]}"#;
    let out = split_with(ok, &limits, 3);
    assert_eq!(out.records.len(), 1);
    assert_eq!(out.bytes(), vec![&br#"{"a":[1]}"#[..]]);
    assert_eq!(
        out.only_error().to_string(),
        "JSON nesting deeper than 4 levels at byte 32"
    );

    let deep = [&b"["[..], &b"[".repeat(200), &b"]".repeat(200), b"]"].concat();
    let out = split(&deep);
    assert!(out.records.is_empty());
    assert!(matches!(
        out.only_error(),
        DecodeError::TooDeep {
            offset: 128,
            limit: 128
        }
    ));
    // A million levels: no stack overflow, bounded work.
    let deep = b"{\"a\":".repeat(1_000_000);
    let out = split_with(&deep, &DecodeLimits::default(), 4096);
    assert!(matches!(
        out.only_error(),
        DecodeError::TooDeep { offset: 640, .. }
    ));
}

#[test]
fn record_larger_than_the_limit_is_an_error() {
    let limits = DecodeLimits {
        max_record_bytes: 16,
        ..DecodeLimits::default()
    };
    let exact = br#"{"a":"xxxxxxxx"}"#; // 16 bytes
    let big = br#"{"a":"xxxxxxxxxxxx"}"#;
    let input = log_object(&[exact, big, exact]);
    for chunk in [1, 4, 1024] {
        let out = split_with(&input, &limits, chunk);
        assert_eq!(out.bytes(), vec![&exact[..]], "chunk {chunk}");
        let err = out.only_error();
        assert!(
            matches!(
                err,
                DecodeError::RecordTooLarge {
                    offset: 29,
                    limit: 16
                }
            ),
            "chunk {chunk}: {err:?}"
        );
        assert_eq!(
            err.to_string(),
            "record at byte 29 exceeds the 16 bytes limit"
        );
    }
    // A single top-level object is buffered as a candidate record, so the limit applies.
    let out = split_with(big, &limits, 4);
    assert!(matches!(
        out.only_error(),
        DecodeError::RecordTooLarge { offset: 0, .. }
    ));
    // No limit at all must not overflow.
    let unlimited = DecodeLimits {
        max_record_bytes: usize::MAX,
        ..DecodeLimits::default()
    };
    assert_eq!(split_with(big, &unlimited, 3).bytes(), vec![&big[..]]);
    // In NDJSON the oversized line is skipped and the next line still counts.
    let input = [&exact[..], b"\n", big, b"\n", exact].concat();
    let out = split_with(&input, &limits, 3);
    assert_eq!(out.bytes(), vec![&exact[..], exact]);
    assert_eq!(out.offsets(), vec![0, 38]);
    assert_eq!(out.errors.len(), 1);
}

#[test]
fn sniff_looks_at_bytes_only() {
    assert_eq!(sniff(&[0x1f, 0x8b, 8]), Compression::Gzip);
    assert_eq!(sniff(&[0x1f]), Compression::Plain);
    assert_eq!(sniff(b"{\"Records\""), Compression::Plain);
    assert_eq!(sniff(b""), Compression::Plain);
}

#[test]
fn gzip_single_and_multi_member() {
    let plain = log_object(&[E1, E2, E3]);
    let (compression, out) = split_stream(gzip(&[&plain]), &DecodeLimits::default());
    assert_eq!(compression, Compression::Gzip);
    assert_eq!(out.bytes(), vec![E1, E2, E3]);
    assert!(out.errors.is_empty());

    // Members cut in the middle of a record, as `cat a.gz b.gz` or a streaming writer makes.
    let (first, rest) = plain.split_at(30);
    let (second, third) = rest.split_at(50);
    let (_, out) = split_stream(gzip(&[first, second, third]), &DecodeLimits::default());
    assert_eq!(out.bytes(), vec![E1, E2, E3]);
    assert_eq!(out.offsets()[2], offset_of(&plain, E3));
    assert_eq!(out.bytes_read, plain.len() as u64);
    assert!(out.errors.is_empty());

    let (compression, out) = split_stream(plain.clone(), &DecodeLimits::default());
    assert_eq!(compression, Compression::Plain);
    assert_eq!(out.bytes(), vec![E1, E2, E3]);
}

#[test]
fn truncated_gzip_yields_records_before_the_cut_then_an_error() {
    let plain = log_object(&[E1, E2, E3]);
    let mut compressed = gzip(&[&plain]);
    compressed.truncate(compressed.len() - 4); // lose half the trailer
    let (_, out) = split_stream(compressed, &DecodeLimits::default());
    assert_eq!(out.bytes(), vec![E1, E2, E3]);
    let err = out.only_error();
    assert!(matches!(err, DecodeError::GzipTruncated { offset } if *offset == plain.len() as u64));
    assert_eq!(
        err.to_string(),
        format!(
            "gzip stream is truncated at decompressed byte {}",
            plain.len()
        )
    );

    // Cut inside the deflate data of the second member: the first member's records survive.
    let records: Vec<Vec<u8>> = (0..200)
        .map(|i| format!(r#"{{"n":{i},"pad":"{}"}}"#, "ab".repeat(i % 17)).into_bytes())
        .collect();
    let refs: Vec<&[u8]> = records.iter().map(Vec::as_slice).collect();
    let plain = log_object(&refs);
    let (head, tail) = plain.split_at(plain.len() / 2);
    let first = gzip(&[head]);
    let mut compressed = [first.clone(), gzip(&[tail])].concat();
    compressed.truncate(first.len() + 40);
    // Reference: how far a plain decoder gets before failing.
    let mut decoder = flate2::read::MultiGzDecoder::new(compressed.as_slice());
    let mut reached = Vec::new();
    let mut piece = [0u8; 64];
    loop {
        match decoder.read(&mut piece) {
            Ok(0) => panic!("truncation not detected"),
            Ok(n) => reached.extend_from_slice(&piece[..n]),
            Err(e) => {
                assert_eq!(e.kind(), io::ErrorKind::UnexpectedEof);
                break;
            }
        }
    }
    assert!(reached.len() >= head.len());
    let complete = records
        .iter()
        .filter(|r| offset_of(&plain, r) as usize + r.len() <= reached.len())
        .count();
    let (_, out) = split_stream(compressed, &DecodeLimits::default());
    assert!(complete >= 100);
    assert_eq!(out.records.len(), complete);
    assert_eq!(out.bytes(), refs[..complete].to_vec());
    assert!(matches!(
        out.only_error(),
        DecodeError::GzipTruncated { offset } if *offset == reached.len() as u64
    ));
}

#[test]
fn corrupt_gzip_is_reported_as_gzip() {
    let plain = log_object(&[E1, E2, E3]);
    let mut compressed = gzip(&[&plain]);
    let n = compressed.len();
    compressed[n - 6] ^= 0xff; // checksum
    let (_, out) = split_stream(compressed, &DecodeLimits::default());
    assert_eq!(out.bytes(), vec![E1, E2, E3]);
    let err = out.only_error();
    assert!(
        matches!(err, DecodeError::GzipCorrupt { offset, .. } if *offset == plain.len() as u64)
    );
    assert!(err.to_string().starts_with(&format!(
        "gzip stream is corrupt at decompressed byte {}: ",
        plain.len()
    )));

    let (_, out) = split_stream(vec![0x1f, 0x8b], &DecodeLimits::default());
    assert!(matches!(
        out.only_error(),
        DecodeError::GzipTruncated { offset: 0 }
    ));
}

/// A corruption in the middle of a large member: every record inflated before it is kept,
/// even when the reader's buffer is far larger than what came out before the error.
#[test]
fn corrupt_deflate_data_keeps_every_record_inflated_before_it() {
    let records: Vec<Vec<u8>> = (0..4000u32)
        .map(|i| {
            let pad: String = (0..40)
                .map(|k| char::from(b'a' + ((i * 7 + k) % 26) as u8))
                .collect();
            format!(r#"{{"n":{i},"pad":"{pad}"}}"#).into_bytes()
        })
        .collect();
    let refs: Vec<&[u8]> = records.iter().map(Vec::as_slice).collect();
    let plain = log_object(&refs);
    assert!(plain.len() > 2 * 256 * 1024 / 3);
    let clean = gzip(&[&plain]);
    let mut tried = 0;
    for at in (clean.len() / 2..clean.len() - 20).step_by(97) {
        let mut compressed = clean.clone();
        compressed[at] ^= 0x55;
        // Reference: small reads, so at most 64 bytes are lost before the error.
        let mut decoder = flate2::read::MultiGzDecoder::new(compressed.as_slice());
        let mut reached = Vec::new();
        let mut piece = [0u8; 64];
        let failed = loop {
            match decoder.read(&mut piece) {
                Ok(0) => break false,
                Ok(n) => reached.extend_from_slice(&piece[..n]),
                Err(_) => break true,
            }
        };
        if !failed || reached.len() < plain.len() / 3 {
            continue;
        }
        tried += 1;
        // Records wholly inside the bytes inflated before the error, and still intact.
        let mut start = br#"{"Records":["#.len();
        let good = refs
            .iter()
            .take_while(|r| {
                let end = start + r.len();
                let intact = end <= reached.len() && reached[start..end] == plain[start..end];
                start = end + 1;
                intact
            })
            .count();
        let (_, reader) =
            decompress(io::Cursor::new(compressed), &DecodeLimits::default()).unwrap();
        let splitter = RecordSplitter::new(reader, &DecodeLimits::default());
        let out = drain(splitter, 100_000);
        assert!(
            out.records.len() >= good,
            "at {at}: {} < {good}",
            out.records.len()
        );
        assert_eq!(out.bytes()[..good], refs[..good], "at {at}");
        // Garbage inflated before the check fails may add a syntax error; the gzip error is
        // always reported, at the decompressed byte where it was found.
        let gzip_errors: Vec<u64> = out
            .errors
            .iter()
            .filter_map(|(_, e)| match e {
                DecodeError::GzipCorrupt { offset, .. } => Some(*offset),
                _ => None,
            })
            .collect();
        assert_eq!(gzip_errors.len(), 1, "at {at}: {:?}", out.errors);
        assert!(
            gzip_errors[0] as usize >= reached.len(),
            "at {at}: {:?}",
            out.errors
        );
        if tried == 5 {
            break;
        }
    }
    assert_eq!(tried, 5, "corruptions that the inflater detects");
}

/// Decompresses through [`decompress`] with the source handing out one byte per read, so
/// every header field and trailer straddles refills.
fn inflate_byte_by_byte(input: Vec<u8>) -> (Vec<u8>, Option<DecodeError>) {
    let source = ChunkedReader {
        data: input,
        at: 0,
        sizes: vec![1],
        turn: 0,
    };
    let (_, reader) = decompress(source, &DecodeLimits::default()).unwrap();
    let mut splitter = RecordSplitter::new(reader, &DecodeLimits::default());
    let mut records = Vec::new();
    loop {
        match splitter.next_record() {
            Ok(Some(r)) => records.extend_from_slice(r.bytes),
            Ok(None) => return (records, None),
            Err(e) => {
                while let Ok(Some(r)) = splitter.next_record() {
                    records.extend_from_slice(r.bytes);
                }
                return (records, Some(e));
            }
        }
    }
}

#[test]
fn gzip_header_fields_padding_and_trailing_garbage() {
    let plain = log_object(&[E1, E2, E3]);
    let expected = [E1, E2, E3].concat();
    // Optional header fields: extra, name, comment.
    let mut enc = flate2::GzBuilder::new()
        .extra(vec![7; 300])
        .filename("CloudTrail.json")
        .comment("written by a test")
        .write(Vec::new(), flate2::Compression::fast());
    enc.write_all(&plain).unwrap();
    let with_fields = enc.finish().unwrap();
    assert_eq!(with_fields[3], 0x04 | 0x08 | 0x10);
    // A header CRC (FHCRC): its two bytes follow the other fields.
    let mut with_hcrc = gzip(&[&plain]);
    with_hcrc[3] |= 0x02;
    with_hcrc.splice(10..10, [0xab, 0xcd]);
    let two_members = [with_fields.clone(), with_hcrc.clone()].concat();
    for input in [with_fields.clone(), with_hcrc.clone()] {
        let (records, error) = inflate_byte_by_byte(input);
        assert_eq!(records, expected);
        assert!(error.is_none(), "{error:?}");
    }
    let (records, error) = inflate_byte_by_byte(two_members.clone());
    assert_eq!(records, [expected.clone(), expected.clone()].concat());
    assert!(error.is_none(), "{error:?}");

    // Zero padding after the last member is ignored, as gzip -d does.
    let padded = [gzip(&[&plain]), vec![0; 1000]].concat();
    let (records, error) = inflate_byte_by_byte(padded);
    assert_eq!(records, expected);
    assert!(error.is_none(), "{error:?}");

    // Anything else after it is reported, after every record.
    for garbage in [&b"x"[..], b"\x1f", b"\x00\x00junk", b"\x1f\x8b\x08\x00"] {
        let input = [gzip(&[&plain]), garbage.to_vec()].concat();
        let (records, error) = inflate_byte_by_byte(input);
        assert_eq!(records, expected, "{garbage:?}");
        let error = error.expect("trailing bytes are an error");
        let text = error.to_string();
        if garbage.starts_with(b"\x1f") {
            assert!(
                matches!(error, DecodeError::GzipTruncated { .. }),
                "{garbage:?}: {text}"
            );
        } else {
            assert!(
                text.ends_with(": trailing bytes after the last gzip member"),
                "{garbage:?}: {text}"
            );
        }
    }

    // A wrong length in the trailer (the CRC is right).
    let mut bad_size = gzip(&[&plain]);
    let n = bad_size.len();
    bad_size[n - 1] ^= 1;
    let (records, error) = inflate_byte_by_byte(bad_size);
    assert_eq!(records, expected);
    assert!(error.unwrap().to_string().contains("length mismatch"));

    // A method other than deflate and reserved flags.
    for (index, value, message) in [
        (2, 7, "unknown gzip compression method"),
        (3, 0x20, "reserved gzip header flags"),
    ] {
        let mut input = gzip(&[&plain]);
        input[index] = value;
        let (records, error) = inflate_byte_by_byte(input);
        assert!(records.is_empty());
        assert!(error.unwrap().to_string().contains(message), "{message}");
    }
}

#[test]
fn decompressed_size_cap_is_an_error_not_a_truncation() {
    let plain = log_object(&[E1, E2, E3]);
    let exact = DecodeLimits {
        max_decompressed_bytes: plain.len() as u64,
        ..DecodeLimits::default()
    };
    let (_, out) = split_stream(gzip(&[&plain]), &exact);
    assert_eq!(out.records.len(), 3);
    assert!(out.errors.is_empty());

    let cap = offset_of(&plain, E3) + 3;
    let limits = DecodeLimits {
        max_decompressed_bytes: cap,
        ..DecodeLimits::default()
    };
    for input in [gzip(&[&plain]), plain.clone()] {
        let (_, out) = split_stream(input, &limits);
        assert_eq!(out.bytes(), vec![E1, E2]);
        let err = out.only_error();
        assert!(matches!(err, DecodeError::TooLarge { limit } if *limit == cap));
        assert_eq!(
            err.to_string(),
            format!("decompressed size exceeds the {cap} bytes limit at byte {cap}")
        );
    }
    let message = DecodeError::TooLarge {
        limit: DecodeLimits::default().max_decompressed_bytes,
    }
    .to_string();
    assert_eq!(
        message,
        "decompressed size exceeds the 8 GiB limit at byte 8589934592"
    );
}

#[test]
fn source_errors_are_io_errors_with_the_offset() {
    struct Failing(Vec<u8>, usize);
    impl Read for Failing {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            if self.1 >= self.0.len() {
                return Err(io::Error::other("connection reset"));
            }
            let n = buf.len().min(self.0.len() - self.1).min(7);
            buf[..n].copy_from_slice(&self.0[self.1..self.1 + n]);
            self.1 += n;
            Ok(n)
        }
    }
    let plain = log_object(&[E1, E2, E3]);
    let cut = offset_of(&plain, E3) as usize + 2;
    for input in [gzip(&[&plain]), plain.clone()] {
        let len = if input[0] == 0x1f { input.len() } else { cut };
        let (_, reader) =
            decompress(Failing(input[..len].to_vec(), 0), &DecodeLimits::default()).unwrap();
        let out = drain(RecordSplitter::new(reader, &DecodeLimits::default()), 100);
        let err = out.only_error();
        let DecodeError::Io { source, offset } = err else {
            panic!("{err:?}");
        };
        assert_eq!(source.to_string(), "connection reset");
        if input[0] != 0x1f {
            assert_eq!(*offset, cut as u64);
            assert_eq!(out.bytes(), vec![E1, E2]);
        } else {
            assert_eq!(*offset, plain.len() as u64);
            assert_eq!(out.bytes(), vec![E1, E2, E3]);
        }
    }
}

// ---------------------------------------------------------------------------------------
// Properties

/// Returns the bytes of `data` in pieces whose sizes cycle through `sizes`.
struct ChunkedReader {
    data: Vec<u8>,
    at: usize,
    sizes: Vec<usize>,
    turn: usize,
}

impl Read for ChunkedReader {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let size = self.sizes[self.turn % self.sizes.len()];
        self.turn += 1;
        let n = size.min(buf.len()).min(self.data.len() - self.at);
        buf[..n].copy_from_slice(&self.data[self.at..self.at + n]);
        self.at += n;
        Ok(n)
    }
}

/// One generated record: its exact bytes, and whether it is an object.
#[derive(Debug, Clone)]
struct GenRecord {
    bytes: Vec<u8>,
    object: bool,
}

fn nasty_string() -> impl Strategy<Value = String> {
    "[a-zA-Z0-9 {}\\[\\]\"\\\\:,/\u{e9}\u{2028}\u{1F600}\n\t\u{0}]{0,12}"
}

fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        (-1e9f64..1e9).prop_map(Value::from),
        nasty_string().prop_map(Value::String),
    ];
    leaf.prop_recursive(4, 40, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..5).prop_map(Value::Array),
            prop::collection::vec(
                (
                    prop_oneof![
                        nasty_string(),
                        Just("Records".to_owned()),
                        Just("Events".to_owned())
                    ],
                    inner
                ),
                0..5
            )
            .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

/// A record from a JSON value (compact or pretty), or an object holding a raw byte string
/// that need not be UTF-8.
fn gen_record() -> impl Strategy<Value = GenRecord> {
    prop_oneof![
        (json_value(), any::<bool>()).prop_map(|(v, pretty)| {
            let bytes = if pretty {
                serde_json::to_vec_pretty(&v).unwrap()
            } else {
                serde_json::to_vec(&v).unwrap()
            };
            GenRecord {
                object: v.is_object(),
                bytes,
            }
        }),
        prop::collection::vec(any::<u8>(), 0..24).prop_map(|raw| {
            let mut bytes = b"{\"raw\":\"".to_vec();
            for b in raw {
                if b == b'"' || b == b'\\' {
                    bytes.push(b'\\');
                }
                bytes.push(b);
            }
            bytes.extend(b"\"}");
            GenRecord {
                bytes,
                object: true,
            }
        }),
    ]
}

/// Makes a record safe as a top-level value: an object without a depth-1 record array.
fn as_top_level(record: &GenRecord) -> Vec<u8> {
    let Ok(Value::Object(mut map)) = serde_json::from_slice::<Value>(&record.bytes) else {
        return if record.object {
            record.bytes.clone() // raw-byte object: its only key is "raw"
        } else {
            let mut wrapped = b"{\"v\":".to_vec();
            wrapped.extend(&record.bytes);
            wrapped.push(b'}');
            wrapped
        };
    };
    for key in ["Records", "Events"] {
        if map.get(key).is_some_and(Value::is_array) {
            map.insert(key.to_owned(), Value::Null);
        }
    }
    serde_json::to_vec(&Value::Object(map)).unwrap()
}

#[derive(Debug, Clone, Copy)]
enum GenShape {
    LogObject,
    LookupEvents,
    Array,
    Single,
    Ndjson,
    TwoLogObjects,
}

const SEPARATORS: [&[u8]; 5] = [b"", b" ", b"\n", b"\r\n\t", b"  \n  "];

/// Builds a document; returns it with the expected records (bytes, offset, kind).
fn build(
    shape: GenShape,
    records: &[GenRecord],
    extra: &[(String, Value)],
    seps: &[usize],
) -> (Vec<u8>, Records) {
    let mut doc = Vec::new();
    let mut expected = Vec::new();
    let mut turn = 0;
    let mut sep = |doc: &mut Vec<u8>| {
        doc.extend(SEPARATORS[seps[turn % seps.len()] % SEPARATORS.len()]);
        turn += 1;
    };
    let kind = |object: bool| {
        if object {
            RecordKind::Object
        } else {
            RecordKind::Other
        }
    };
    let members = |doc: &mut Vec<u8>, sep: &mut dyn FnMut(&mut Vec<u8>)| {
        for (key, value) in extra {
            if key == "Records" || key == "Events" {
                continue;
            }
            doc.extend(serde_json::to_vec(key).unwrap());
            sep(doc);
            doc.push(b':');
            doc.extend(serde_json::to_vec(value).unwrap());
            doc.push(b',');
            sep(doc);
        }
    };
    let array = |doc: &mut Vec<u8>,
                 records: &[GenRecord],
                 expected: &mut Records,
                 sep: &mut dyn FnMut(&mut Vec<u8>)| {
        doc.push(b'[');
        for (i, r) in records.iter().enumerate() {
            if i > 0 {
                doc.push(b',');
            }
            sep(doc);
            expected.push((r.bytes.clone(), doc.len() as u64, kind(r.object)));
            doc.extend(&r.bytes);
            sep(doc);
        }
        doc.push(b']');
    };
    match shape {
        GenShape::LogObject | GenShape::LookupEvents | GenShape::TwoLogObjects => {
            let key: &[u8] = if matches!(shape, GenShape::LookupEvents) {
                b"\"Events\""
            } else {
                b"\"Records\""
            };
            let groups: Vec<&[GenRecord]> = if matches!(shape, GenShape::TwoLogObjects) {
                let (a, b) = records.split_at(records.len() / 2);
                vec![a, b]
            } else {
                vec![records]
            };
            for group in groups {
                sep(&mut doc);
                doc.push(b'{');
                sep(&mut doc);
                members(&mut doc, &mut sep);
                doc.extend(key);
                doc.push(b':');
                sep(&mut doc);
                array(&mut doc, group, &mut expected, &mut sep);
                for (key, value) in extra.iter().rev() {
                    if key == "Records" || key == "Events" {
                        continue;
                    }
                    doc.push(b',');
                    doc.extend(serde_json::to_vec(key).unwrap());
                    doc.push(b':');
                    sep(&mut doc);
                    doc.extend(serde_json::to_vec(value).unwrap());
                }
                sep(&mut doc);
                doc.push(b'}');
            }
        }
        GenShape::Array => {
            sep(&mut doc);
            array(&mut doc, records, &mut expected, &mut sep);
            sep(&mut doc);
        }
        GenShape::Single | GenShape::Ndjson => {
            let take = if matches!(shape, GenShape::Single) {
                1
            } else {
                records.len()
            };
            for r in records.iter().take(take) {
                let bytes = as_top_level(r);
                expected.push((bytes.clone(), doc.len() as u64, RecordKind::Object));
                doc.extend(&bytes);
                doc.push(b'\n');
            }
        }
    }
    (doc, expected)
}

fn gen_shape() -> impl Strategy<Value = GenShape> {
    prop_oneof![
        Just(GenShape::LogObject),
        Just(GenShape::LookupEvents),
        Just(GenShape::Array),
        Just(GenShape::Single),
        Just(GenShape::Ndjson),
        Just(GenShape::TwoLogObjects),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: 256,
        failure_persistence: None,
        ..ProptestConfig::default()
    })]

    /// Splitting is invariant to read sizes and to the internal buffer size.
    #[test]
    fn splitting_is_invariant_to_buffer_boundaries(
        shape in gen_shape(),
        records in prop::collection::vec(gen_record(), 1..8),
        extra in prop::collection::vec((nasty_string(), json_value()), 0..3),
        seps in prop::collection::vec(0usize..5, 1..6),
        sizes in prop::collection::vec(1usize..40, 1..6),
        chunk in prop_oneof![1usize..16, 16usize..200, Just(256 * 1024)],
    ) {
        let (doc, expected) = build(shape, &records, &extra, &seps);
        let reader = ChunkedReader { data: doc.clone(), at: 0, sizes, turn: 0 };
        let splitter = RecordSplitter::with_chunk_size(reader, &DecodeLimits::default(), chunk);
        let out = drain(splitter, doc.len() * 2 + 8);
        prop_assert!(out.errors.is_empty(), "{:?} in {}", out.errors, String::from_utf8_lossy(&doc));
        prop_assert_eq!(&out.records, &expected, "{}", String::from_utf8_lossy(&doc));
        for ((got, _, _), (want, _, _)) in out.records.iter().zip(&expected) {
            if let Ok(original) = serde_json::from_slice::<Value>(want) {
                prop_assert_eq!(serde_json::from_slice::<Value>(got).ok(), Some(original));
            }
        }
        let expected_shape = match shape {
            GenShape::LogObject => Shape::LogObject,
            GenShape::LookupEvents => Shape::LookupEvents,
            GenShape::Array => Shape::Array,
            GenShape::Single => Shape::Single,
            GenShape::Ndjson if records.len() == 1 => Shape::Single,
            GenShape::Ndjson | GenShape::TwoLogObjects => Shape::Ndjson,
        };
        prop_assert_eq!(out.shape, Some(expected_shape));
        prop_assert_eq!(out.bytes_read, doc.len() as u64);
    }

    /// Arbitrary bytes never panic or loop, and the outcome does not depend on buffering.
    #[test]
    fn arbitrary_bytes_never_panic(
        bytes in prop_oneof![
            prop::collection::vec(any::<u8>(), 0..200),
            prop::collection::vec(
                prop::sample::select(b"{}[]\",:\\ \n1aRE".to_vec()), 0..200),
            prop::collection::vec(
                prop::sample::select(vec![
                    &b"{\"Records\":["[..], b"{", b"}", b"[", b"]", b"\"", b"\\", b",", b":",
                    b"\n", b"1", b"\"Events\"", b"\"x\"", b"null", b"\xff",
                ]),
                0..60,
            ).prop_map(|parts| parts.concat()),
        ],
        chunk in 1usize..20,
        max_depth in 0usize..6,
        max_record_bytes in 1usize..64,
    ) {
        let limits = DecodeLimits { max_depth, max_record_bytes, ..DecodeLimits::default() };
        let small = split_with(&bytes, &limits, chunk);
        let large = split_with(&bytes, &limits, 4096);
        prop_assert_eq!(&small.records, &large.records);
        let messages = |o: &Outcome| -> Vec<String> {
            o.errors.iter().map(|(n, e)| format!("{n}: {e}")).collect()
        };
        prop_assert_eq!(messages(&small), messages(&large));
        for (record, offset, _) in &small.records {
            let at = *offset as usize;
            prop_assert_eq!(&bytes[at..at + record.len()], record.as_slice());
            prop_assert!(record.len() <= max_record_bytes);
        }
    }

    /// Whatever the compressed bytes, decompress + split ends with records or an error.
    #[test]
    fn arbitrary_gzip_never_panics(
        body in prop::collection::vec(any::<u8>(), 0..200),
        cut in 0usize..400,
    ) {
        let mut input = gzip(&[&log_object(&[E1, E3])]);
        input.truncate(cut.max(2));
        input.extend(body);
        let _ = split_stream(input, &DecodeLimits::default());
    }

    /// The whole-object path (libdeflate) gives exactly what the streaming reader gives,
    /// bytes and whether it ends in an error, on clean, damaged, cut, padded and multi-member gzip, whatever the
    /// read sizes.
    #[test]
    fn whole_object_inflate_equals_the_streaming_reader(
        members in 1usize..4,
        records in 1usize..120,
        flips in prop::collection::vec((any::<prop::sample::Index>(), 1u8..=255), 0..2),
        cut in prop::option::of(any::<prop::sample::Index>()),
        tail in prop_oneof![Just(vec![]), Just(vec![0u8; 5]), prop::collection::vec(any::<u8>(), 0..6)],
        sizes in prop::collection::vec(1usize..4096, 1..4),
        level in 0u32..10,
    ) {
        let recs: Vec<Vec<u8>> = (0..records).map(|i| cloudtrail_like_record(i).into_bytes()).collect();
        let refs: Vec<&[u8]> = recs.iter().map(Vec::as_slice).collect();
        let plain = log_object(&refs);
        let step = plain.len() / members + 1;
        let mut input = Vec::new();
        for part in plain.chunks(step) {
            let mut e = GzEncoder::new(Vec::new(), flate2::Compression::new(level));
            e.write_all(part).unwrap();
            input.extend(e.finish().unwrap());
        }
        for (at, mask) in &flips {
            let i = at.index(input.len() - 10) + 10;
            input[i] ^= mask;
        }
        if let Some(c) = cut {
            input.truncate(c.index(input.len()).max(2));
        }
        input.extend(&tail);
        let read_all = |mut r: Box<dyn Read + Send>| {
            let mut out = Vec::new();
            let mut piece = [0u8; 3000];
            loop {
                match r.read(&mut piece) {
                    Ok(0) => return (out, None),
                    Ok(n) => out.extend_from_slice(&piece[..n]),
                    Err(e) => return (out, Some(e.to_string())),
                }
            }
        };
        let chunked = || ChunkedReader { data: input.clone(), at: 0, sizes: sizes.clone(), turn: 0 };
        let limits = DecodeLimits::default();
        let (_, whole) = decompress(chunked(), &limits).unwrap();
        let (ours, our_err) = read_all(whole);
        let (theirs, their_err) = read_all(compression::decompress_streaming(chunked(), &limits));
        prop_assert_eq!(ours.len(), theirs.len());
        prop_assert!(ours == theirs);
        // (the wording of an inflate error may differ with where the reads fell)
        prop_assert_eq!(our_err.is_some(), their_err.is_some(), "{:?} / {:?}", our_err, their_err);
    }

    /// Damaged gzip (bytes flipped, cut, garbage appended, members joined): the inflated
    /// bytes always begin with everything flate2's own reader gets before it fails, never
    /// less, and equal it exactly when flate2 reads the stream cleanly.
    #[test]
    fn gzip_output_never_falls_short_of_flate2(
        members in 1usize..4,
        flips in prop::collection::vec((any::<prop::sample::Index>(), 1u8..=255), 0..3),
        cut in prop::option::of(any::<prop::sample::Index>()),
        tail in prop::collection::vec(any::<u8>(), 0..6),
        sizes in prop::collection::vec(1usize..9, 1..4),
    ) {
        let records: Vec<Vec<u8>> = (0..300).map(|i| cloudtrail_like_record(i).into_bytes()).collect();
        let refs: Vec<&[u8]> = records.iter().map(Vec::as_slice).collect();
        let plain = log_object(&refs);
        let step = plain.len() / members + 1;
        let parts: Vec<&[u8]> = plain.chunks(step).collect();
        let mut input = gzip(&parts);
        for (at, mask) in &flips {
            let i = at.index(input.len() - 10) + 10; // leave the first header alone
            input[i] ^= mask;
        }
        if let Some(c) = cut {
            input.truncate(c.index(input.len()).max(2));
        }
        input.extend(&tail);

        let mut reference = Vec::new();
        let mut piece = [0u8; 512];
        let mut decoder = flate2::read::MultiGzDecoder::new(input.as_slice());
        let clean = loop {
            match decoder.read(&mut piece) {
                Ok(0) => break true,
                Ok(n) => reference.extend_from_slice(&piece[..n]),
                Err(_) => break false,
            }
        };
        let source = ChunkedReader { data: input, at: 0, sizes, turn: 0 };
        let (_, mut reader) = decompress(source, &DecodeLimits::default()).unwrap();
        let mut ours = Vec::new();
        let mut failed = false;
        loop {
            match reader.read(&mut piece) {
                Ok(0) => break,
                Ok(n) => ours.extend_from_slice(&piece[..n]),
                Err(_) => { failed = true; break; }
            }
        }
        prop_assert!(ours.len() >= reference.len(), "{} < {}", ours.len(), reference.len());
        prop_assert_eq!(&ours[..reference.len()], &reference[..]);
        if clean {
            prop_assert!(!failed);
            prop_assert_eq!(ours.len(), reference.len());
        }
    }
}

// ---------------------------------------------------------------------------------------
// Manual throughput run (not a test): cargo test --release -- --ignored --nocapture

/// A record shaped like a real ECR denial, with pseudo-random identifiers so that it
/// compresses about as well as real logs (~10x) rather than absurdly well.
fn cloudtrail_like_record(i: usize) -> String {
    let mut state = (i as u64 + 1).wrapping_mul(0x9e37_79b9_7f4a_7c15);
    let mut hex = |n: usize| -> String {
        (0..n)
            .map(|_| {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                char::from(b"0123456789abcdef"[(state % 16) as usize])
            })
            .collect()
    };
    let (k, q, e, t) = (hex(16), hex(32), hex(32), hex(40));
    format!(
        concat!(
            r#"{{"eventVersion":"1.08","userIdentity":{{"type":"AssumedRole","principalId":"AROA{k}:GitHubActions-{t}","#,
            r#""arn":"arn:aws:sts::123456789012:assumed-role/deploy-{r}/GitHubActions","accountId":"123456789012","#,
            r#""accessKeyId":"ASIA{k}","sessionContext":{{"sessionIssuer":{{"type":"Role","principalId":"AROA{i:016}","#,
            r#""arn":"arn:aws:iam::123456789012:role/deploy-{r}","accountId":"123456789012","userName":"deploy-{r}"}},"#,
            r#""webIdFederationData":{{}},"attributes":{{"creationDate":"2024-05-01T12:00:00Z","mfaAuthenticated":"false"}}}}}},"#,
            r#""eventTime":"2024-05-01T12:{m:02}:{s:02}Z","eventSource":"ecr.amazonaws.com","eventName":"BatchGetImage","#,
            r#""awsRegion":"eu-west-1","sourceIPAddress":"20.{a}.{b}.{c}","userAgent":"aws-sdk-go-v2/1.21.0 os/linux lang/go#1.21 md/GOOS#linux","#,
            r#""errorCode":"AccessDeniedException","errorMessage":"User: arn:aws:sts::123456789012:assumed-role/deploy-{r}/GitHubActions is not authorized to perform: ecr:BatchGetImage on resource: arn:aws:ecr:eu-west-1:123456789012:repository/app-{r} because no resource-based policy allows the ecr:BatchGetImage action","#,
            r#""requestParameters":{{"repositoryName":"app-{r}","imageIds":[{{"imageTag":"v{i}"}}],"acceptedMediaTypes":["application/vnd.docker.distribution.manifest.v2+json","application/vnd.oci.image.manifest.v1+json"]}},"#,
            r#""responseElements":null,"requestID":"{q}","eventID":"{e}","#,
            r#""readOnly":true,"resources":[{{"accountId":"123456789012","ARN":"arn:aws:ecr:eu-west-1:123456789012:repository/app-{r}"}}],"#,
            r#""eventType":"AwsApiCall","managementEvent":true,"recipientAccountId":"123456789012","eventCategory":"Management","#,
            r#""tlsDetails":{{"tlsVersion":"TLSv1.3","cipherSuite":"TLS_AES_128_GCM_SHA256","clientProvidedHostHeader":"api.ecr.eu-west-1.amazonaws.com"}}}}"#
        ),
        i = i,
        k = k,
        q = q,
        e = e,
        t = t,
        r = i % 37,
        m = i % 60,
        s = (i / 60) % 60,
        a = i % 256,
        b = (i / 256) % 256,
        c = (i / 65536) % 256
    )
}

#[test]
#[ignore = "manual throughput measurement, run in release mode"]
fn splitter_throughput() {
    use std::time::Instant;
    let dir = tempfile::tempdir().unwrap();
    let plain_path = dir.path().join("big.json");
    let gz_path = dir.path().join("big.json.gz");
    let mut doc = br#"{"Records":["#.to_vec();
    let mut count = 0;
    while doc.len() < 200_000_000 {
        if count > 0 {
            doc.push(b',');
        }
        doc.extend(cloudtrail_like_record(count).as_bytes());
        count += 1;
    }
    doc.extend(b"]}");
    std::fs::write(&plain_path, &doc).unwrap();
    std::fs::write(&gz_path, gzip(&[&doc])).unwrap();
    let size = doc.len() as f64 / 1e6;
    drop(doc);
    for path in [&plain_path, &gz_path] {
        let file = std::fs::File::open(path).unwrap();
        let started = Instant::now();
        let limits = DecodeLimits::default();
        let (_, reader) = decompress(file, &limits).unwrap();
        let mut splitter = RecordSplitter::new(reader, &limits);
        let mut records = 0;
        while let Some(_record) = splitter.next_record().unwrap() {
            records += 1;
        }
        let secs = started.elapsed().as_secs_f64();
        assert_eq!(records, count);
        eprintln!(
            "{}: {records} records, {size:.0} MB decompressed ({:.1} MB on disk) in {secs:.2} s = {:.0} MB/s",
            path.display(),
            std::fs::metadata(path).unwrap().len() as f64 / 1e6,
            size / secs
        );
    }
}

/// Whole-object inflation hands anything it cannot take to the streaming path, which then
/// gives exactly what it gave before: cuts at every place of a two-member object, with a few
/// bytes of garbage after them.
#[test]
fn cut_members_with_garbage_fall_back_to_the_stream() {
    let records: Vec<Vec<u8>> = (0..40)
        .map(|i| cloudtrail_like_record(i).into_bytes())
        .collect();
    let refs: Vec<&[u8]> = records.iter().map(Vec::as_slice).collect();
    let plain = log_object(&refs);
    let parts: Vec<&[u8]> = plain.chunks(plain.len() / 2 + 1).collect();
    let whole = gzip(&parts);
    for cut in (2..whole.len()).step_by(7).chain([whole.len()]) {
        let mut input = whole[..cut].to_vec();
        input.extend([174, 196, 0]);
        let mut reference = Vec::new();
        let _ = flate2::read::MultiGzDecoder::new(input.as_slice()).read_to_end(&mut reference);
        let (_, mut reader) = decompress(io::Cursor::new(input), &DecodeLimits::default()).unwrap();
        let mut ours = Vec::new();
        let _ = reader.read_to_end(&mut ours);
        assert!(
            ours.len() >= reference.len(),
            "cut {cut}: {} < {}",
            ours.len(),
            reference.len()
        );
        assert_eq!(&ours[..reference.len()], &reference[..], "cut {cut}");
    }
}

/// A whole-object inflate handed to the splitter in place (through the scan's read-ahead
/// wrapper) gives the same records, offsets, errors and byte count as the same bytes read as
/// a stream.
#[test]
fn whole_buffer_handed_to_the_splitter_splits_like_a_stream() {
    let recs: Vec<Vec<u8>> = (0..200)
        .map(|i| cloudtrail_like_record(i).into_bytes())
        .collect();
    let refs: Vec<&[u8]> = recs.iter().map(Vec::as_slice).collect();
    let mut plain = log_object(&refs);
    let broken = {
        let mut b = plain.clone();
        let at = b.len() - 50;
        b.truncate(at);
        b
    };
    plain.extend(b"\n");
    for doc in [
        plain,
        broken,
        b"{\"eventVersion\":\"1.08\"}\n{\"a\":[1,2]}\n{bad\n{\"b\":2}\n".to_vec(),
    ] {
        let input = gzip(&[&doc]);
        let limits = DecodeLimits::default();
        let (_, whole) = decompress(io::Cursor::new(input.clone()), &limits).unwrap();
        let mut peeked = super::Peeked::new(whole);
        let prefix = peeked.prefix().to_vec();
        assert!(!prefix.is_empty());
        let held = Decompressed::take_whole(&mut peeked).map(|w| (w.start, w.end));
        assert_eq!(
            held,
            Some((0, doc.len())),
            "the whole object is handed over from its start"
        );
        // handing it over twice is not possible: the reader is at its end
        assert!(Decompressed::take_whole(&mut peeked).is_none());

        let (_, whole) = decompress(io::Cursor::new(input.clone()), &limits).unwrap();
        let ours = drain(
            RecordSplitter::new_whole(super::Peeked::new(whole), &limits),
            10_000,
        );
        let stream = compression::decompress_streaming(io::Cursor::new(input), &limits);
        let theirs = drain(RecordSplitter::new(stream, &limits), 10_000);
        assert_eq!(ours.records, theirs.records);
        assert_eq!(ours.bytes_read, theirs.bytes_read);
        assert_eq!(ours.shape, theirs.shape);
        let msgs = |o: &Outcome| {
            o.errors
                .iter()
                .map(|(i, e)| format!("{i} {e}"))
                .collect::<Vec<_>>()
        };
        assert_eq!(msgs(&ours), msgs(&theirs));
    }
}
