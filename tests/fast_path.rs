//! The fast path (streaming splitter, byte pre-filter, borrowed decoding, parallel scan) must
//! select exactly what a straightforward decode selects: every file read whole, parsed into a
//! `serde_json::Value`, every record decoded and classified, no pre-filter. Run on a corpus
//! from `gen-corpus` plus records whose keywords are spelled with `\u` escapes, which the
//! byte pre-filter must not lose.
#![allow(clippy::unwrap_used, clippy::expect_used, reason = "tests")]

use gen_corpus::Parser as _;
use std::collections::BTreeMap;
use std::io::Read;
use std::path::Path;

use serde_json::Value;
use trailwhy::decode::DecodeLimits;
use trailwhy::event::Record;
use trailwhy::scan::Failure;
use trailwhy::select::{Selected, Selector};
use trailwhy::selection::Window;

/// (kind, eventID) → how many times it was selected.
type Selection = BTreeMap<(&'static str, String), usize>;

fn add(out: &mut Selection, sel: Selected) {
    let key = match sel {
        // a successful assumption is kept as the session its key opens
        Selected::WebId(a) if a.error_code.is_none() => match a.access_key_id {
            Some(key) if !key.is_empty() => {
                out.insert(("session", key), 1);
                return;
            }
            _ => return,
        },
        Selected::WebId(a) => ("web_identity", a.event_id),
        Selected::Change(c) => ("change", c.event_id),
        Selected::CallFailure(f) => ("call_failure", f.event_id),
        Selected::TaggedSession(t) => ("tagged_session", t.event_id),
    };
    *out.entry(key).or_default() += 1;
}

/// The straightforward path: whole file, whole `Value`, every record decoded.
fn reference(dir: &Path, selector: &Selector) -> (Selection, u64) {
    let mut out = Selection::new();
    let mut records = 0;
    for entry in walk(dir) {
        if entry.to_string_lossy().contains("CloudTrail-Digest") {
            continue;
        }
        let raw = std::fs::read(&entry).unwrap();
        let mut text = Vec::new();
        if raw.starts_with(&[0x1f, 0x8b]) {
            flate2::read::MultiGzDecoder::new(raw.as_slice())
                .read_to_end(&mut text)
                .unwrap();
        } else {
            text = raw;
        }
        let values: Vec<Value> = serde_json::Deserializer::from_slice(&text)
            .into_iter::<Value>()
            .map(Result::unwrap)
            .collect();
        for value in values {
            let recs = match value.get("Records") {
                Some(Value::Array(a)) => a.clone(),
                _ => vec![value],
            };
            for rec in recs {
                records += 1;
                let text = serde_json::to_string(&rec).unwrap();
                let decoded: Record = serde_json::from_str(&text).unwrap();
                if let Ok(sel) = selector.select(&decoded) {
                    add(&mut out, sel);
                }
            }
        }
    }
    (out, records)
}

fn walk(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut files = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else if p.extension().is_some_and(|x| x == "gz" || x == "json") {
                files.push(p);
            }
        }
    }
    files.sort();
    files
}

/// Re-spells the keywords the pre-filter looks for with `\u` escapes (still the same JSON).
fn escaped(line: &str) -> String {
    line.replace(
        "AssumeRoleWithWebIdentity",
        "AssumeRoleWith\\u0057ebIdentity",
    )
    .replace("\"errorCode\"", "\"error\\u0043ode\"")
    .replace("iam.amazonaws.com", "iam.amazonaws\\u002ecom")
    .replace("RepositoryPolicy", "Repository\\u0050olicy")
}

#[test]
fn fast_path_selects_exactly_what_a_full_decode_selects() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().to_str().unwrap();
    gen_corpus::run(&gen_corpus::Args::parse_from([
        "gen-corpus",
        "--out",
        out,
        "--files",
        "40",
        "--records-per-file",
        "250",
        "--seed",
        "11",
    ]))
    .unwrap();
    std::fs::remove_file(dir.path().join("manifest.json")).unwrap();

    // The failures and changes of a few files again, escaped, as NDJSON with new IDs.
    let files = walk(&dir.path().join("AWSLogs"));
    let mut ndjson = String::new();
    let mut escaped_selected = 0;
    let plain_selector = Selector::new(Window::default());
    for file in files
        .iter()
        .filter(|f| !f.to_string_lossy().contains("Digest"))
        .take(6)
    {
        let mut text = String::new();
        flate2::read::MultiGzDecoder::new(std::fs::File::open(file).unwrap())
            .read_to_string(&mut text)
            .unwrap();
        let v: Value = serde_json::from_str(&text).unwrap();
        for rec in v["Records"].as_array().unwrap() {
            let text = serde_json::to_string(rec).unwrap();
            let decoded: Record = serde_json::from_str(&text).unwrap();
            if plain_selector.select(&decoded).is_err() {
                continue;
            }
            let mut rec = rec.clone();
            let id = format!("escaped-{}", rec["eventID"].as_str().unwrap());
            rec["eventID"] = Value::String(id);
            // a session is kept by its key: the copy opens its own
            if let Some(Value::String(key)) =
                rec.pointer_mut("/responseElements/credentials/accessKeyId")
            {
                *key = format!("escaped-{key}");
            }
            let line = escaped(&serde_json::to_string(&rec).unwrap());
            assert!(line.contains("\\u"));
            ndjson.push_str(&line);
            ndjson.push('\n');
            escaped_selected += 1;
        }
    }
    assert!(escaped_selected > 20, "{escaped_selected}");
    std::fs::write(dir.path().join("escaped.json"), ndjson).unwrap();

    let selector = Selector::new(Window::default());
    let (expected, records) = reference(dir.path(), &selector);

    let (inputs, skipped) = trailwhy::source::expand(&[dir.path().to_str().unwrap().to_owned()]);
    for threads in [1, 2] {
        let mut scan = trailwhy::scan::scan(
            &inputs,
            skipped.clone(),
            &selector,
            &DecodeLimits::default(),
            Some(threads),
        )
        .unwrap();
        assert_eq!(scan.stats.records_scanned, records, "{threads} threads");
        assert_eq!(scan.stats.files_unreadable, 0, "{:?}", scan.stats.skipped);
        let mut fast = Selection::new();
        scan.failures
            .for_each(|f| match f {
                Failure::WebId(a) => add(&mut fast, Selected::WebId(a)),
                Failure::Call(c) => add(&mut fast, Selected::CallFailure(c)),
            })
            .unwrap();
        for key in scan.sessions.keys() {
            fast.insert(("session", key.to_owned()), 1);
        }
        for c in scan.changes {
            add(&mut fast, Selected::Change(Box::new(c)));
        }
        for t in scan.tagged_sessions {
            add(&mut fast, Selected::TaggedSession(Box::new(t)));
        }
        let count = |s: &Selection, kind: &str| -> usize {
            s.iter()
                .filter(|((k, _), _)| *k == kind)
                .map(|(_, n)| n)
                .sum()
        };
        let (failed, sessions) = (
            count(&expected, "web_identity"),
            count(&expected, "session"),
        );
        assert!(failed > 0 && sessions > 5, "{failed} {sessions}");
        assert!(count(&expected, "call_failure") > 50);
        assert!(
            expected
                .keys()
                .filter(|(_, id)| id.starts_with("escaped-"))
                .count()
                == escaped_selected
        );
        assert_eq!(fast, expected, "{threads} threads");
    }
}
