//! Reading: every input shape, stdin, skipped and unreadable files, filters and exit codes,
//! through the real binary.
#![allow(clippy::unwrap_used, clippy::expect_used, reason = "tests")]

mod common;

use common::*;
use serde_json::{json, Value};

const ROLE: &str = "arn:aws:iam::111122223333:role/gha-deploy";
const PR: &str = "repo:acme/web:pull_request";

fn rec(id: &str, time: &str) -> Value {
    WebId::denied(id, time, ROLE, PR).record()
}

fn json_run(args: &[&str]) -> (i32, Value, String) {
    let mut all = args.to_vec();
    all.extend(["--format", "json"]);
    let r = trailwhy(&all);
    let v = if r.stdout.trim().is_empty() {
        Value::Null
    } else {
        r.json()
    };
    (r.code, v, r.stderr)
}

fn total_count(v: &Value) -> u64 {
    v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["count"].as_u64().unwrap())
        .sum()
}

#[test]
fn every_file_shape_is_read() {
    let t = Tree::new();
    let r = [
        rec("a", "2026-10-01T10:00:00Z"),
        rec("b", "2026-10-01T10:00:01Z"),
    ];
    // trail object, gzip
    t.log_gz("d/1.json.gz", &r[..1]);
    // plain JSON array
    t.json("d/2.json", &json!([r[1].clone()]));
    // a single event
    t.json("d/3.json", &rec("c", "2026-10-01T10:00:02Z"));
    // NDJSON, gzip with a misleading name
    let nd = format!(
        "{}\n{}\n",
        rec("d", "2026-10-01T10:00:03Z"),
        rec("e", "2026-10-01T10:00:04Z")
    );
    t.bytes("d/4.json", &gzip(nd.as_bytes()));
    // lookup-events output: events as CloudTrailEvent strings
    t.json(
        "d/5.json",
        &lookup_events(&[rec("f", "2026-10-01T10:00:05Z")]),
    );
    // multi-member gzip
    let mut mm = gzip(b"{\"Records\":[");
    mm.extend(gzip(
        format!("{}]}}", rec("g", "2026-10-01T10:00:06Z")).as_bytes(),
    ));
    t.bytes("d/6.json.gz", &mm);
    let (code, v, stderr) = json_run(&["explain", t.path().join("d").to_str().unwrap()]);
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(total_count(&v), 7);
    assert_eq!(v["summary"]["files_read"], 6);
    let mut ids: Vec<String> = v["findings"][0]["event_ids"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_str().unwrap().to_owned())
        .collect();
    ids.sort();
    assert_eq!(ids, ["a", "b", "c", "d", "e", "f", "g"]);
}

#[test]
fn stdin_is_a_source() {
    let body = json!({"Records": [rec("a", "2026-10-01T10:00:00Z")]}).to_string();
    let r = trailwhy_stdin(
        &["explain", "-", "--format", "ndjson"],
        Some(&gzip(body.as_bytes())),
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    let f = r.findings();
    assert_eq!(f.len(), 1);
    assert_eq!(f[0]["cause"], "no_policy_data");
    assert_eq!(f[0]["count"], 1);
}

#[test]
fn truncated_gzip_keeps_earlier_records_names_the_file_and_exits_3() {
    let t = Tree::new();
    let records: Vec<Value> = (0..200)
        .map(|i| rec(&format!("r{i:03}"), "2026-10-01T10:00:00Z"))
        .collect();
    let full = gzip(json!({"Records": records}).to_string().as_bytes());
    let cut = &full[..full.len() * 2 / 3];
    let bad = t.bytes("d/broken.json.gz", cut);
    t.log_gz("d/good.json.gz", &[rec("ok", "2026-10-01T11:00:00Z")]);
    let (code, v, stderr) = json_run(&["explain", t.path().join("d").to_str().unwrap()]);
    assert_eq!(code, 3);
    assert!(stderr.contains(bad.to_str().unwrap()), "{stderr}");
    assert!(stderr.contains("truncated"), "{stderr}");
    assert_eq!(v["summary"]["files_unreadable"], 1);
    assert_eq!(v["summary"]["files_read"], 1);
    assert_eq!(v["summary"]["partial"], true);
    let found = total_count(&v);
    assert!(
        found > 1 && found < 201,
        "records before the cut are kept: {found}"
    );
    let skipped = &v["summary"]["skipped"][0];
    assert_eq!(skipped["name"], bad.to_str().unwrap());
    assert_eq!(skipped["by_design"], false);
}

#[test]
fn json_error_mid_file_reports_the_byte_offset() {
    let t = Tree::new();
    let good = rec("a", "2026-10-01T10:00:00Z").to_string();
    let body = format!("{{\"Records\":[{good},{{\"eventName\": ]}}");
    let p = t.bytes("x.json", body.as_bytes());
    let (code, v, stderr) = json_run(&["explain", p.to_str().unwrap()]);
    assert_eq!(code, 3);
    assert_eq!(total_count(&v), 1);
    let reason = v["summary"]["skipped"][0]["reason"].as_str().unwrap();
    assert!(
        reason.contains(&format!("at byte {}", 13 + good.len() + 14)),
        "{reason}"
    );
    assert!(stderr.contains("x.json"));
}

#[test]
fn side_files_are_skipped_by_design_without_changing_the_exit_code() {
    let t = Tree::new();
    t.log_gz(
        "AWSLogs/111122223333/CloudTrail/us-east-1/2026/10/01/a.json.gz",
        &[rec("a", "2026-10-01T10:00:00Z")],
    );
    t.bytes(
        "AWSLogs/111122223333/CloudTrail-Digest/us-east-1/2026/10/01/d.json.gz",
        &gzip(b"{\"digestStartTime\":\"x\"}"),
    );
    t.bytes(
        "AWSLogs/111122223333/CloudTrail/ConfigWritabilityCheckFile",
        b"",
    );
    t.json("notes.json", &json!({"hello": "world"}));
    t.bytes("README.md", b"# hi");
    let (code, v, _) = json_run(&["explain", t.path().to_str().unwrap()]);
    assert_eq!(code, 0);
    assert_eq!(v["summary"]["files_skipped"], 4);
    assert_eq!(v["summary"]["files_read"], 1);
    let reasons: Vec<&str> = v["summary"]["skipped"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["reason"].as_str().unwrap())
        .collect();
    assert!(reasons.contains(&"CloudTrail digest file"), "{reasons:?}");
    assert!(
        reasons
            .iter()
            .any(|r| r.starts_with("not a CloudTrail log")),
        "{reasons:?}"
    );
}

#[test]
fn missing_path_is_unreadable_exit_3() {
    let (code, _, stderr) = json_run(&["explain", "/no/such/trail"]);
    assert_eq!(code, 3);
    assert!(
        stderr.contains("/no/such/trail: no such file or directory"),
        "{stderr}"
    );
}

#[test]
fn time_account_and_region_filters() {
    let t = Tree::new();
    let mut other_region = WebId::denied("r", "2026-10-01T12:00:00Z", ROLE, PR);
    other_region.region = "eu-west-1";
    let other_acct = WebId::denied(
        "o",
        "2026-10-01T12:00:00Z",
        "arn:aws:iam::444455556666:role/x",
        PR,
    )
    .record();
    t.log_gz(
        "a.json.gz",
        &[
            rec("early", "2026-10-01T09:59:59Z"),
            rec("in", "2026-10-01T10:30:00Z"),
            rec("late", "2026-10-01T11:00:01Z"),
            other_region.record(),
            other_acct,
        ],
    );
    let dir = t.path().to_str().unwrap();
    let (_, v, _) = json_run(&[
        "explain",
        dir,
        "--since",
        "2026-10-01T10:00:00Z",
        "--until",
        "2026-10-01T11:00:00Z",
    ]);
    assert_eq!(v["findings"][0]["event_ids"], json!(["in"]));
    let (_, v, _) = json_run(&["explain", dir, "--region", "eu-west-1"]);
    assert_eq!(v["findings"][0]["event_ids"], json!(["r"]));
    let (_, v, _) = json_run(&["explain", dir, "--account", "444455556666"]);
    assert_eq!(v["findings"][0]["event_ids"], json!(["o"]));
    assert_eq!(v["findings"].as_array().unwrap().len(), 1);
}

#[test]
fn usage_errors_exit_2() {
    let r = trailwhy(&["explain", ".", "--since", "yesterday"]);
    assert_eq!(r.code, 2);
    assert!(
        r.stderr.contains("--since") && r.stderr.contains("'yesterday'"),
        "{}",
        r.stderr
    );
    let r = trailwhy(&["explain", ".", "--account", "12"]);
    assert_eq!(r.code, 2);
    assert!(r.stderr.contains("12-digit"), "{}", r.stderr);
    let r = trailwhy(&["explain"]);
    assert_eq!(r.code, 2);
    let r = trailwhy(&["frobnicate"]);
    assert_eq!(r.code, 2);
}

#[test]
fn fail_on_any_exits_1_and_partial_wins_with_3() {
    let t = Tree::new();
    t.log_gz("a.json.gz", &[rec("a", "2026-10-01T10:00:00Z")]);
    let dir = t.path().to_str().unwrap().to_owned();
    assert_eq!(
        trailwhy(&["explain", &dir, "--fail-on", "any", "--format", "ndjson"]).code,
        1
    );
    assert_eq!(trailwhy(&["explain", &dir, "--format", "ndjson"]).code, 0);
    t.bytes("b.json", b"{\"Records\":[");
    assert_eq!(
        trailwhy(&["explain", &dir, "--fail-on", "any", "--format", "ndjson"]).code,
        3
    );
}

#[test]
fn table_output_escapes_terminal_sequences_from_logs() {
    let t = Tree::new();
    let evil = "repo:acme/web:\u{1b}[2J\u{1b}]0;pwned\u{7}\u{202e}:pull_request";
    t.log_gz(
        "a.json.gz",
        &[WebId::denied("a", "2026-10-01T10:00:00Z", ROLE, evil).record()],
    );
    let r = trailwhy(&["explain", t.path().to_str().unwrap(), "--format", "table"]);
    assert_eq!(r.code, 0);
    assert!(!r.stdout.contains('\u{1b}'), "{}", r.stdout);
    assert!(!r.stdout.contains('\u{202e}'));
    assert!(!r.stdout.contains('\u{7}'));
    assert!(r.stdout.contains("\\u{1b}[2J"), "{}", r.stdout);
    assert!(
        r.stdout.contains("1 finding(s) from 1 failed event(s)"),
        "{}",
        r.stdout
    );
}

#[test]
fn output_file_and_threads() {
    let t = Tree::new();
    for i in 0..20 {
        t.log_gz(
            &format!("d/{i}.json.gz"),
            &[rec(&format!("e{i:02}"), "2026-10-01T10:00:00Z")],
        );
    }
    let out = t.path().join("out.ndjson");
    for threads in ["1", "2", "4"] {
        let r = trailwhy(&[
            "explain",
            t.path().join("d").to_str().unwrap(),
            "--threads",
            threads,
            "--format",
            "ndjson",
            "-o",
            out.to_str().unwrap(),
        ]);
        assert_eq!(r.code, 0);
        assert!(r.stdout.is_empty());
        let text = std::fs::read_to_string(&out).unwrap();
        let f: Value = serde_json::from_str(text.lines().next().unwrap()).unwrap();
        assert_eq!(f["count"], 20, "threads={threads}");
        assert_eq!(f["event_ids"][0], "e00");
        assert_eq!(f["event_ids"][19], "e19");
    }
}
