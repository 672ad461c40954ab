//! Broken, hostile and oversized input: every good record is found, every bad file is named
//! with its reason, nothing escapes to the terminal raw, no token is printed, exit code 3.
//! Also Ctrl-C: partial results, marked, exit 130.
#![allow(clippy::unwrap_used, clippy::expect_used, reason = "tests")]

mod common;

use std::io::Write;
use std::process::{Command, Stdio};
use std::time::Duration;

use common::*;
use serde_json::{json, Value};

const ROLE: &str = "arn:aws:iam::111122223333:role/gha-deploy";

fn failure(id: &str, sub: &str) -> Value {
    WebId::denied(id, "2026-10-01T10:00:00Z", ROLE, sub).record()
}

fn success(id: &str) -> Value {
    WebId::assumed(
        id,
        "2026-10-01T09:00:00Z",
        ROLE,
        "repo:acme/web:ref:refs/heads/main",
    )
    .record()
}

/// Builds the directory; returns (tree, number of good failure records, bad file names).
fn broken_tree() -> (Tree, u64, Vec<&'static str>) {
    let t = Tree::new();
    let mut good = 0;
    let pr = "repo:acme/web:pull_request";
    // good files
    t.log_gz(
        "in/good.json.gz",
        &[failure("g1", pr), success("s1"), failure("g2", pr)],
    );
    good += 2;
    let mut mm = gzip(b"{\"Records\":[");
    mm.extend(gzip(format!("{}]}}", failure("mm1", pr)).as_bytes()));
    t.bytes("in/multimember.json.gz", &mm);
    good += 1;
    t.json("in/plain.json", &json!({"Records": [failure("p1", pr)]}));
    good += 1;
    t.bytes("in/empty.json", b"");
    // wrong field types: the record stays usable
    let mut wrong = failure("w1", pr);
    wrong["eventVersion"] = json!(1.08);
    wrong["sourceIPAddress"] = json!({"nested": true});
    wrong["readOnly"] = json!("yes");
    t.json("in/wrong-types.json", &json!({"Records": [wrong]}));
    good += 1;
    // a huge field
    let mut huge = failure("h1", pr);
    huge["userAgent"] = json!("A".repeat(5 << 20));
    t.log_gz("in/huge-field.json.gz", &[huge]);
    good += 1;
    // hostile strings everywhere
    let evil_sub = "repo:acme/web:\u{1b}[31mRED\u{1b}]8;;http://x\u{7}\u{202e}<script>alert(1)</script>:pull_request";
    let mut evil = failure("e1", evil_sub);
    evil["userAgent"] = json!("\u{1b}[2J\u{9b}31m");
    evil["errorMessage"] = json!("Not authorized \u{1b}[5m");
    t.log_gz("in/hostile.json.gz", &[evil]);
    good += 1;
    // non-UTF-8 bytes inside a string of an otherwise good record: two marker characters
    // are written, then overwritten with the bytes 0xff 0xfe
    let body = json!({"Records": [failure("u1", pr)]})
        .to_string()
        .replace("aws-sdk-nodejs", "aws-sdk-\u{0}\u{0}");
    let mut bytes = body.into_bytes();
    let at = bytes.windows(2).position(|w| w == [0, 0]).unwrap();
    bytes[at] = 0xff;
    bytes[at + 1] = 0xfe;
    t.bytes("in/non-utf8.json", &bytes);
    good += 1;

    // bad files: records before the break are kept
    let many: Vec<Value> = (0..100).map(|i| failure(&format!("t{i:03}"), pr)).collect();
    let full = gzip(json!({"Records": many}).to_string().as_bytes());
    t.bytes("in/truncated.json.gz", &full[..full.len() / 2]);
    let first = failure("j1", pr).to_string();
    t.bytes(
        "in/json-error.json",
        format!("{{\"Records\":[{first},{{\"eventName\":]}}").as_bytes(),
    );
    good += 1;
    let deep = format!(
        "{{\"Records\":[{first2},{}{}]}}",
        "[".repeat(100_000),
        "]".repeat(100_000),
        first2 = failure("d1", pr)
    );
    t.bytes("in/deep.json", deep.as_bytes());
    good += 1;
    t.json(
        "in/not-objects.json",
        &json!({"Records": [1, "two", null, [3], failure("n1", pr)]}),
    );
    good += 1;
    t.bytes("in/bomb.json.gz", &gzip(&vec![b' '; 40 << 20]));
    t.bytes("in/garbage.json", b"\x00\x01\x02 this is not json");
    let mut bad_time = failure("bt1", pr);
    bad_time["eventTime"] = json!("yesterday");
    t.json(
        "in/bad-time.json",
        &json!({"Records": [bad_time, failure("bt2", pr)]}),
    );
    good += 1;

    // skipped by design
    t.bytes(
        "in/AWSLogs/111122223333/CloudTrail-Digest/us-east-1/2026/10/01/d.json.gz",
        &gzip(b"{\"digestStartTime\":\"2026-10-01T00:00:00Z\"}"),
    );
    t.bytes(
        "in/AWSLogs/111122223333/CloudTrail-Insight/us-east-1/2026/10/01/i.json.gz",
        &gzip(b"{\"Records\":[]}"),
    );
    t.json("in/not-cloudtrail.json", &json!({"hello": "world"}));
    let bad = vec![
        "truncated.json.gz",
        "json-error.json",
        "deep.json",
        "not-objects.json",
        "bomb.json.gz",
        "garbage.json",
        "bad-time.json",
    ];
    (t, good, bad)
}

#[test]
fn broken_and_hostile_inputs_are_explained_with_exit_3() {
    let (t, good, bad) = broken_tree();
    let dir = t.path().join("in");
    let run = trailwhy(&[
        "explain",
        dir.to_str().unwrap(),
        "--format",
        "json",
        "--max-decompressed-size",
        "16M",
    ]);
    assert_eq!(run.code, 3, "stderr: {}", run.stderr);
    let v = run.json();
    let s = &v["summary"];
    let ids: Vec<String> = v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|f| {
            f["event_ids"]
                .as_array()
                .unwrap()
                .iter()
                .map(|x| x.as_str().unwrap().to_owned())
        })
        .collect();
    let truncated_kept = ids.iter().filter(|i| i.starts_with('t')).count() as u64;
    assert!(
        truncated_kept > 0 && truncated_kept < 100,
        "records before the cut are kept: {truncated_kept}"
    );
    assert_eq!(ids.len() as u64 - truncated_kept, good, "{ids:?}");
    for id in [
        "g1", "g2", "mm1", "p1", "w1", "h1", "e1", "u1", "j1", "d1", "n1", "bt2",
    ] {
        assert!(
            ids.iter().any(|i| i == id),
            "missing good record {id}: {ids:?}"
        );
    }
    // nothing could be read from these: named in `skipped`
    let unreadable = ["bomb.json.gz", "garbage.json"];
    // records were read from these before or around the damage: named in `problems`
    let skipped = s["skipped"].as_array().unwrap();
    let problems = s["problems"].as_array().unwrap();
    for name in &bad {
        let entry = match unreadable.contains(name) {
            true => skipped
                .iter()
                .find(|e| e["name"].as_str().unwrap().ends_with(name)),
            false => problems
                .iter()
                .find(|e| e["file"].as_str().unwrap().ends_with(name)),
        };
        let entry = entry.unwrap_or_else(|| panic!("{name} not named"));
        if unreadable.contains(name) {
            assert_eq!(entry["by_design"], false, "{name}");
        }
        assert!(
            run.stderr.contains(name),
            "{name} not on stderr: {}",
            run.stderr
        );
    }
    let reason = |name: &str| -> String {
        skipped
            .iter()
            .filter(|e| e["name"].as_str().unwrap().ends_with(name))
            .chain(
                problems
                    .iter()
                    .filter(|e| e["file"].as_str().unwrap().ends_with(name)),
            )
            .map(|e| e["reason"].as_str().unwrap())
            .collect::<Vec<_>>()
            .join("; ")
    };
    assert!(
        reason("truncated.json.gz").contains("truncated"),
        "{}",
        reason("truncated.json.gz")
    );
    assert!(
        reason("bomb.json.gz").contains("16 MiB"),
        "{}",
        reason("bomb.json.gz")
    );
    assert!(
        reason("deep.json").contains("nest") || reason("deep.json").contains("deep"),
        "{}",
        reason("deep.json")
    );
    assert!(
        reason("not-objects.json").contains("not a JSON object"),
        "{}",
        reason("not-objects.json")
    );
    assert!(
        reason("bad-time.json").contains("eventTime"),
        "{}",
        reason("bad-time.json")
    );
    assert_eq!(s["files_unreadable"], unreadable.len());
    assert_eq!(s["files_partly_read"], bad.len() - unreadable.len());
    assert_eq!(s["files_skipped"], 3, "digest, insight, not CloudTrail");
    assert_eq!(s["partial"], true);
    assert_peak_memory_bounded(s);

    // With the default cap the 40 MB bomb is read through: memory stays bounded anyway.
    let run = trailwhy(&["explain", dir.to_str().unwrap(), "--format", "json"]);
    assert_eq!(run.code, 3, "stderr: {}", run.stderr);
    let v = run.json();
    let s = &v["summary"];
    assert_eq!(
        s["files_unreadable"], 1,
        "the bomb is read, only garbage is not"
    );
    assert_eq!(s["files_partly_read"], bad.len() - 2);
    assert_peak_memory_bounded(s);
}

/// The bound: peak memory under 256 MB on any of the broken inputs (measured by the
/// process itself; only where the platform tells).
fn assert_peak_memory_bounded(summary: &Value) {
    if cfg!(target_os = "linux") {
        let peak = summary["peak_rss_bytes"]
            .as_u64()
            .expect("peak_rss_bytes on Linux");
        eprintln!("peak RSS: {:.1} MiB", peak as f64 / f64::from(1 << 20));
        assert!(peak > 1 << 20, "{peak}");
        assert!(peak < 256 << 20, "peak RSS {} MiB", peak >> 20);
    }
}

#[test]
fn hostile_strings_never_reach_the_terminal_raw_and_tokens_never_print() {
    let (t, _, _) = broken_tree();
    let dir = t.path().join("in");
    for format in ["table", "json", "ndjson"] {
        let run = trailwhy(&[
            "explain",
            dir.to_str().unwrap(),
            "--format",
            format,
            "--max-decompressed-size",
            "16M",
        ]);
        for out in [&run.stdout, &run.stderr] {
            assert!(!out.contains('\u{1b}'), "{format}: raw ESC");
            assert!(!out.contains('\u{9b}'), "{format}: raw CSI");
            assert!(!out.contains('\u{7}'), "{format}: raw BEL");
            assert!(!out.contains(SESSION_TOKEN), "{format}: token");
            if format == "table" {
                assert!(!out.contains('\u{202e}'), "table: raw bidi override");
            }
        }
    }
}

#[test]
fn ctrl_c_prints_what_was_found_marked_partial_and_exits_130() {
    let mut child = Command::new(env!("CARGO_BIN_EXE_trailwhy"))
        .args(["explain", "-", "--format", "json"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    for i in 0..300 {
        writeln!(
            stdin,
            "{}",
            failure(&format!("c{i:03}"), "repo:acme/web:pull_request")
        )
        .unwrap();
    }
    stdin.flush().unwrap();
    std::thread::sleep(Duration::from_millis(700));
    let status = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    std::thread::sleep(Duration::from_millis(200));
    // records written after the interrupt are not read
    for i in 0..300 {
        if writeln!(
            stdin,
            "{}",
            failure(&format!("late{i}"), "repo:acme/web:pull_request")
        )
        .is_err()
        {
            break;
        }
    }
    drop(stdin);
    let out = child.wait_with_output().unwrap();
    assert_eq!(
        out.status.code(),
        Some(130),
        "stderr: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["summary"]["interrupted"], true);
    assert_eq!(v["summary"]["partial"], true);
    assert_eq!(v["findings"][0]["count"], 300);
}
