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
    // records were read from it: read, in part (issue #21)
    assert_eq!(v["summary"]["files_unreadable"], 0);
    assert_eq!(v["summary"]["files_read"], 2);
    assert_eq!(v["summary"]["files_partly_read"], 1);
    assert_eq!(v["summary"]["partial"], true);
    let found = total_count(&v);
    assert!(
        found > 1 && found < 201,
        "records before the cut are kept: {found}"
    );
    assert_eq!(v["summary"]["skipped"], json!([]));
    let problem = &v["summary"]["problems"][0];
    assert_eq!(problem["file"], bad.to_str().unwrap());
    assert_eq!(
        problem["record"],
        found - 1,
        "the one after the last complete record"
    );
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
    let reason = v["summary"]["problems"][0]["reason"].as_str().unwrap();
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
fn a_missing_path_is_a_usage_error_before_anything_runs() {
    for command in ["explain", "report", "query"] {
        let r = trailwhy(&[command, "/no/such/trail"]);
        assert_eq!(r.code, 2, "{command}: {}", r.stderr);
        assert_eq!(
            r.stdout, "",
            "{command}: nothing on stdout before the error"
        );
        assert_eq!(
            r.stderr,
            "trailwhy: error: /no/such/trail: no such file or directory (a SOURCE is a file, a directory, -, s3://, lookup://, athena:// or lake://)\n",
            "{command}"
        );
    }
}

#[test]
fn sources_without_a_cloudtrail_record_say_so() {
    let t = Tree::new();
    let empty = t.path().join("empty");
    std::fs::create_dir_all(&empty).unwrap();
    let r = trailwhy(&["explain", empty.to_str().unwrap(), "--format", "ndjson"]);
    assert_eq!((r.code, r.stdout.as_str()), (0, ""));
    assert_eq!(
        r.stderr,
        "trailwhy: no CloudTrail records were read: the SOURCEs hold no input files\n"
    );
    let other = t.json("other/not-cloudtrail.json", &json!({"a": 1}));
    let d = t.json(
        "other/CloudTrail-Digest/d.json.gz",
        &json!({"digestStartTime": "x", "logFiles": []}),
    );
    let _ = (other, d);
    for command in ["explain", "query"] {
        let r = trailwhy(&[command, t.path().join("other").to_str().unwrap()]);
        assert_eq!(r.code, 0, "{command}");
        assert_eq!(
            r.stderr,
            "trailwhy: no CloudTrail records were read: 1 skipped: CloudTrail digest file; 1 skipped: not a CloudTrail log (the first record has no eventName)\n",
            "{command}"
        );
    }
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

/// Issue #21, "honest counts": a log object with 446 good records and 7 bad ones (three
/// that are not objects, two that are not valid JSON, two whose `eventTime` cannot be read),
/// a gzip cut right after 50 complete records, a gzip cut before any record, and one good
/// file. The first two were counted "0 file(s) read, 2 unreadable", and `query --since`
/// dropped the two records without a time without a word.
struct Damaged {
    t: Tree,
    partial: String,
    cut: String,
    dead: String,
}

/// Where each bad record of `partial.json` sits, and why it cannot be read.
const DAMAGE: [(u64, &str); 7] = [
    (3, "not a JSON object"),
    (
        100,
        "could not be decoded: expected ident at line 1 column ",
    ),
    (101, "not a JSON object"),
    (200, "eventTime is missing or not an RFC 3339 time"),
    (300, "not a JSON object"),
    (
        400,
        "could not be decoded: expected ident at line 1 column ",
    ),
    (452, "eventTime is missing or not an RFC 3339 time"),
];

fn damaged() -> Damaged {
    let t = Tree::new();
    let mut good = 0;
    let mut parts: Vec<String> = Vec::new();
    for index in 0..453u64 {
        let id = format!("p{index:03}");
        let text = match DAMAGE
            .iter()
            .find(|(i, _)| *i == index)
            .map(|(_, why)| *why)
        {
            Some("not a JSON object") => ["42", "\"text\"", "[1]"][parts.len() % 3].to_owned(),
            Some(why) if why.starts_with("could not") => {
                // a web-identity record (so explain decodes it too) with a broken literal
                let text = rec(&id, "2026-10-01T10:00:00Z").to_string();
                assert!(text.contains("\"readOnly\":true"));
                text.replace("\"readOnly\":true", "\"readOnly\":tru")
            }
            Some(_) => {
                let mut r = rec(&id, "2026-10-01T10:00:00Z");
                match index {
                    200 => r["eventTime"] = json!("yesterday"),
                    _ => drop(r.as_object_mut().unwrap().remove("eventTime")),
                }
                r.to_string()
            }
            None => {
                good += 1;
                rec(&id, "2026-10-01T10:00:00Z").to_string()
            }
        };
        parts.push(text);
    }
    assert_eq!(good, 446);
    let partial = t.bytes(
        "d/partial.json",
        format!("{{\"Records\":[{}]}}", parts.join(",")).as_bytes(),
    );
    // a gzip stream cut exactly after the 50th record: a sync flush there, then the cut
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    use std::io::Write as _;
    e.write_all(b"{\"Records\":[").unwrap();
    for i in 0..50 {
        e.write_all(
            rec(&format!("c{i:02}"), "2026-10-01T10:00:00Z")
                .to_string()
                .as_bytes(),
        )
        .unwrap();
        e.write_all(b",").unwrap();
    }
    e.flush().unwrap();
    let at = e.get_ref().len();
    e.write_all(rec("c50", "2026-10-01T10:00:00Z").to_string().as_bytes())
        .unwrap();
    let whole = e.finish().unwrap();
    let cut = t.bytes("d/cut.json.gz", &whole[..at]);
    // nothing can be read from this one: the stream ends inside the first record
    let first = gzip(
        json!({"Records": [rec("x", "2026-10-01T10:00:00Z")]})
            .to_string()
            .as_bytes(),
    );
    let dead = t.bytes("d/dead.json.gz", &first[..first.len() / 2]);
    t.log_gz("d/good.json.gz", &[rec("ok", "2026-10-01T11:00:00Z")]);
    let s = |p: std::path::PathBuf| p.to_str().unwrap().to_owned();
    Damaged {
        partial: s(partial),
        cut: s(cut),
        dead: s(dead),
        t,
    }
}

impl Damaged {
    fn dir(&self) -> String {
        self.t.path().join("d").to_str().unwrap().to_owned()
    }

    /// The decompressed length of the cut file's 50 records and the `{"Records":[` before them.
    fn cut_byte() -> u64 {
        let body: usize = (0..50)
            .map(|i| {
                rec(&format!("c{i:02}"), "2026-10-01T10:00:00Z")
                    .to_string()
                    .len()
                    + 1
            })
            .sum();
        (body + "{\"Records\":[".len()) as u64
    }

    /// The counts every command agrees on, and the problems they list.
    fn assert_summary(&self, s: &Value, stderr: &str) {
        assert_eq!(s["files_read"], 3, "partial, cut, good");
        assert_eq!(s["files_partly_read"], 2);
        assert_eq!(s["files_unreadable"], 1);
        assert_eq!(s["files_skipped"], 0);
        assert_eq!(s["records_scanned"], 453 + 50 + 1);
        assert_eq!(s["records_undecodable"], 5);
        assert_eq!(s["records_unplaced"], 2);
        assert_eq!(s["records_unreadable"], 7);
        assert_eq!(s["partial"], true);
        assert_eq!(s["problems_omitted"], 0);
        let skipped = s["skipped"].as_array().unwrap();
        assert_eq!(skipped.len(), 1, "{skipped:?}");
        assert_eq!(skipped[0]["name"], self.dead.as_str());
        assert_eq!(skipped[0]["by_design"], false);
        let problems = s["problems"].as_array().unwrap();
        assert_eq!(problems.len(), 8, "{problems:#?}");
        // in input order: cut.json.gz, then partial.json
        for (p, (index, why)) in problems[1..].iter().zip(DAMAGE) {
            assert_eq!(p["file"], self.partial.as_str());
            assert_eq!(p["record"], index);
            assert!(
                p["reason"].as_str().unwrap().starts_with(why),
                "{p} is not {why}"
            );
            let line = format!(
                "trailwhy: {}: record {index} (byte {}): {}\n",
                self.partial,
                p["byte"],
                p["reason"].as_str().unwrap()
            );
            assert!(stderr.contains(&line), "{line} not in {stderr}");
        }
        let end = &problems[0];
        assert_eq!(end["file"], self.cut.as_str());
        assert_eq!(end["record"], 50, "the record after the last complete one");
        assert_eq!(end["byte"], Self::cut_byte());
        assert_eq!(
            end["reason"],
            format!(
                "gzip stream is truncated at decompressed byte {}",
                Self::cut_byte()
            )
        );
        assert!(
            stderr.contains(&format!(
                "trailwhy: {}: after 50 record(s): gzip stream is truncated",
                self.cut
            )),
            "{stderr}"
        );
        assert!(
            stderr.contains(&format!(
                "trailwhy: {}: gzip stream is truncated",
                self.dead
            )),
            "{stderr}"
        );
    }
}

#[test]
fn partly_damaged_files_count_as_read_with_each_bad_record_named() {
    let d = damaged();
    let window = [
        "--since",
        "2026-10-01T00:00:00Z",
        "--until",
        "2026-10-02T00:00:00Z",
    ];

    let dir = d.dir();
    let (code, v, stderr) = json_run(&["explain", &dir]);
    assert_eq!(code, 3, "{stderr}");
    d.assert_summary(&v["summary"], &stderr);
    assert_eq!(total_count(&v), 446 + 50 + 1);
    assert_eq!(v["summary"]["failed_events"], 446 + 50 + 1);
    // the table says it too
    let table = trailwhy(&["explain", &dir, "--format", "table"]);
    assert_eq!(table.code, 3);
    assert!(
        table.stdout.contains(
            "3 file(s) read (2 partly), 0 skipped by design, 1 unreadable; 504 records scanned (7 unreadable), 497 selected"
        ),
        "{}",
        table.stdout
    );

    let mut args = vec!["report", dir.as_str(), "--format", "json"];
    args.extend(window);
    let r = trailwhy(&args);
    assert_eq!(r.code, 3, "{}", r.stderr);
    let v = r.json();
    d.assert_summary(&v["scan"], &r.stderr);
    assert_eq!(v["summary"]["failed_events"], 446 + 50 + 1);
    let md = trailwhy(&["report", &dir, window[0], window[1], window[2], window[3]]);
    assert_eq!(md.code, 3);
    assert!(
        md.stdout.contains(
            "> **Partial scan:** 1 input(s) could not be read, 2 read only in part; findings may be missing."
        ),
        "{}",
        md.stdout
    );

    // query, with a window: the records without a time are counted as explain counts them
    let summary = d.t.path().join("summary.json");
    let mut args = vec!["query", dir.as_str(), "--count", "--summary"];
    args.push(summary.to_str().unwrap());
    args.extend(window);
    let q = trailwhy(&args);
    assert_eq!(q.code, 3, "{}", q.stderr);
    assert_eq!(q.stdout, "497\n");
    let v: Value = serde_json::from_str(&std::fs::read_to_string(&summary).unwrap()).unwrap();
    d.assert_summary(&v["summary"], &q.stderr);
    assert_eq!(v["summary"]["rows"], 497);
    // every record counted passed the (window) filter: the rows, nothing more
    assert_eq!(v["summary"]["records_matched"], 497);
    assert_eq!(v["summary"]["interrupted"], false);
    // every problem once on stderr, and the unreadable file: nothing else
    assert_eq!(q.stderr.lines().count(), 8 + 1, "{}", q.stderr);
}

#[test]
fn problems_beyond_ten_per_file_are_counted_and_the_error_that_ended_the_file_is_listed() {
    let t = Tree::new();
    let good = rec("a", "2026-10-01T10:00:00Z").to_string();
    let zeros = vec!["0"; 25].join(",");
    // 25 records that are not objects, then a broken structure that ends the file
    let p = t.bytes(
        "many.json",
        format!("{{\"Records\":[{good},{zeros},}}").as_bytes(),
    );
    let (code, v, stderr) = json_run(&["explain", p.to_str().unwrap()]);
    assert_eq!(code, 3, "{stderr}");
    let s = &v["summary"];
    assert_eq!(s["files_read"], 1);
    assert_eq!(s["files_partly_read"], 1);
    assert_eq!(s["files_unreadable"], 0);
    assert_eq!(s["records_scanned"], 26);
    assert_eq!(s["records_unreadable"], 25);
    let problems = s["problems"].as_array().unwrap();
    assert_eq!(problems.len(), 11, "{problems:#?}");
    for (i, p) in problems[..10].iter().enumerate() {
        assert_eq!(p["record"], i + 1);
        assert_eq!(p["reason"], "not a JSON object");
    }
    assert_eq!(problems[10]["record"], 26);
    assert_eq!(
        problems[10]["reason"],
        format!(
            "invalid JSON at byte {}: expected a JSON value",
            13 + good.len() + 50
        )
    );
    assert_eq!(s["problems_omitted"], 15);
    assert!(
        stderr.contains(
            "trailwhy: 15 more problem(s) of partly read inputs not listed (the first 10 of each input are)"
        ),
        "{stderr}"
    );
    assert_eq!(stderr.lines().count(), 12, "{stderr}");
}

#[test]
fn a_file_of_records_none_of_which_can_be_read_is_unreadable() {
    let t = Tree::new();
    let p = t.bytes("none.json", b"{\"Records\":[1,2,3]}");
    let (code, v, stderr) = json_run(&["explain", p.to_str().unwrap()]);
    assert_eq!(code, 3, "{stderr}");
    let s = &v["summary"];
    assert_eq!(
        (
            &s["files_read"],
            &s["files_partly_read"],
            &s["files_unreadable"]
        ),
        (&json!(0), &json!(0), &json!(1))
    );
    assert_eq!(s["records_unreadable"], 3);
    assert_eq!(s["problems"], json!([]));
    assert_eq!(
        s["skipped"][0]["reason"],
        "3 problems, first: record 0 (byte 12): not a JSON object"
    );
    assert_eq!(
        stderr,
        format!(
            "trailwhy: {}: 3 problems, first: record 0 (byte 12): not a JSON object\n",
            p.display()
        )
    );
}
