//! `trailwhy report` through the real binary: new / recurring / stopped across runs with a
//! state file, suppression rules (active, expired, malformed), `--fail-on` exit codes, and
//! the Markdown, HTML and JSON forms.
#![allow(clippy::unwrap_used, clippy::expect_used, reason = "tests")]

mod common;

use std::path::Path;

use common::*;
use serde_json::{json, Value};

const ROLE: &str = "arn:aws:iam::111122223333:role/gha-a";
/// Rejected by the trust policy (a branch subject only): `sub_kind_mismatch`.
const PR: &str = "repo:acme/a:pull_request";
const ENV: &str = "repo:acme/a:environment:prod";
/// Another repository: `sub_pattern_mismatch`.
const OTHER: &str = "repo:acme/b:ref:refs/heads/main";
const WINDOW: [&str; 4] = [
    "--since",
    "2026-10-01T00:00:00Z",
    "--until",
    "2026-10-02T00:00:00Z",
];

fn denied(id: &str, time: &str, sub: &str) -> Value {
    WebId::denied(id, time, ROLE, sub).record()
}

/// The records of the first run: two retries of a pull request, one push from another repo.
fn first_records() -> Vec<Value> {
    vec![
        denied("e1", "2026-10-01T10:00:00Z", PR),
        denied("e2", "2026-10-01T10:00:30Z", PR),
        denied("e3", "2026-10-01T11:00:00Z", OTHER),
    ]
}

/// The second run: the pull request again, an environment job; the other repo is gone.
fn second_records() -> Vec<Value> {
    vec![
        denied("f1", "2026-10-01T12:00:00Z", PR),
        denied("f2", "2026-10-01T12:30:00Z", ENV),
    ]
}

/// A trail and an inventory holding role gha-a, which trusts branch main of acme/a only.
fn trail(records: &[Value]) -> Tree {
    let t = Tree::new();
    t.log_gz("logs/f.json.gz", records);
    let policy = trust(json!({"StringEquals": {
        "token.actions.githubusercontent.com:sub": "repo:acme/a:ref:refs/heads/main",
        "token.actions.githubusercontent.com:aud": "sts.amazonaws.com"
    }}));
    t.json(
        "iam/111122223333-authorization-details.json",
        &auth_details(ACCT, &[("gha-a", policy)]),
    );
    t
}

fn report(t: &Tree, extra: &[&str]) -> Run {
    let logs = t.path().join("logs");
    let iam = t.path().join("iam");
    let mut args = vec![
        "report",
        logs.to_str().unwrap(),
        "--iam",
        iam.to_str().unwrap(),
    ];
    args.extend(WINDOW);
    args.extend(extra);
    trailwhy(&args)
}

fn p(path: &Path) -> &str {
    path.to_str().unwrap()
}

/// The finding (among `findings`) with this `sub`.
fn by_sub<'a>(list: &'a Value, sub: &str) -> &'a Value {
    list.as_array()
        .unwrap()
        .iter()
        .find(|f| f["sub"] == sub)
        .unwrap_or_else(|| panic!("no finding for {sub} in {list:#}"))
}

fn summary_counts(v: &Value) -> Value {
    let s = &v["summary"];
    json!([
        s["failed_events"],
        s["findings"],
        s["new"],
        s["recurring"],
        s["stopped"],
        s["suppressed_findings"],
        s["suppressed_events"],
        s["expired_rules"]
    ])
}

#[test]
fn state_marks_new_then_recurring_new_and_stopped() {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state.json");

    let one = report(
        &trail(&first_records()),
        &["--format", "json", "--state", p(&state)],
    );
    assert_eq!(one.code, 0, "{}", one.stderr);
    let v1 = one.json();
    assert_eq!(summary_counts(&v1), json!([3, 2, 2, 0, 0, 0, 0, 0]));
    assert_eq!(by_sub(&v1["findings"], PR)["status"], "new");
    assert_eq!(by_sub(&v1["findings"], PR)["cause"], "sub_kind_mismatch");
    assert_eq!(by_sub(&v1["findings"], PR)["repository"], "acme/a");
    assert_eq!(by_sub(&v1["findings"], OTHER)["status"], "new");
    assert_eq!(
        by_sub(&v1["findings"], OTHER)["cause"],
        "sub_pattern_mismatch"
    );
    assert_eq!(v1["state"]["first_run"], true);
    assert_eq!(v1["stopped"], json!([]));

    let two = report(
        &trail(&second_records()),
        &["--format", "json", "--state", p(&state)],
    );
    assert_eq!(two.code, 0, "{}", two.stderr);
    let v2 = two.json();
    assert_eq!(summary_counts(&v2), json!([2, 2, 1, 1, 1, 0, 0, 0]));
    assert_eq!(by_sub(&v2["findings"], PR)["status"], "recurring");
    assert_eq!(by_sub(&v2["findings"], ENV)["status"], "new");
    assert_eq!(
        by_sub(&v2["findings"], PR)["fingerprint"],
        by_sub(&v1["findings"], PR)["fingerprint"],
        "the fingerprint ignores counts, times and event ids"
    );
    let stopped = v2["stopped"].as_array().unwrap();
    assert_eq!(stopped.len(), 1);
    assert_eq!(stopped[0]["sub"], OTHER);
    assert_eq!(stopped[0]["cause"], "sub_pattern_mismatch");
    assert_eq!(stopped[0]["repository"], "acme/b");
    assert_eq!(stopped[0]["last_seen"], "2026-10-01T11:00:00Z");
    assert_eq!(
        stopped[0]["fingerprint"],
        by_sub(&v1["findings"], OTHER)["fingerprint"]
    );
    assert_eq!(v2["state"]["first_run"], false);

    // the state file: every finding ever reported, written atomically (no temporary left)
    let s: Value = serde_json::from_str(&std::fs::read_to_string(&state).unwrap()).unwrap();
    assert_eq!(s["version"], 1);
    assert_eq!(s["runs"], 2);
    let entries = s["findings"].as_object().unwrap();
    assert_eq!(entries.len(), 3);
    let entry = |sub: &str| entries.values().find(|e| e["sub"] == sub).unwrap().clone();
    assert_eq!(entry(PR)["last_run"], 2);
    assert_eq!(entry(PR)["first_seen"], "2026-10-01T10:00:00Z");
    assert_eq!(entry(PR)["last_seen"], "2026-10-01T12:00:00Z");
    assert_eq!(entry(OTHER)["last_run"], 1);
    assert_eq!(entry(ENV)["last_run"], 2);
    assert_ne!(entry(PR)["first_reported"], entry(PR)["last_reported"]);
    let names: Vec<String> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(names, vec!["state.json"]);

    // the same input again: nothing new, and what stopped was already reported as stopped
    let three = report(
        &trail(&second_records()),
        &["--format", "json", "--state", p(&state)],
    );
    assert_eq!(
        summary_counts(&three.json()),
        json!([2, 2, 0, 2, 0, 0, 0, 0])
    );
}

#[test]
fn a_corrupt_state_file_is_an_error_naming_it_and_is_left_alone() {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state.json");
    std::fs::write(&state, "{\"version\":1,\"runs\":").unwrap();
    let run = report(&trail(&first_records()), &["--state", p(&state)]);
    assert_eq!(run.code, 2);
    assert!(
        run.stderr
            .contains(&format!("state file {} is corrupt", state.display())),
        "{}",
        run.stderr
    );
    assert_eq!(run.stdout, "");
    assert_eq!(
        std::fs::read_to_string(&state).unwrap(),
        "{\"version\":1,\"runs\":"
    );
}

const RULES_YAML: &str = "# known problems
rules:
  - cause: sub_kind_mismatch
    repository: acme/a
    reason: pull requests are not meant to deploy
    expires: 2999-12-31
  - role: gha-*
    sub: \"repo:acme/b:*\"
    reason: acme/b moves to its own account
    expires: 2000-01-01
";

fn check_suppression(v: &Value, stderr: &str, rules_file: &Path) {
    assert_eq!(summary_counts(v), json!([1, 1, 1, 0, 0, 1, 2, 1]));
    assert_eq!(v["findings"].as_array().unwrap().len(), 1);
    assert_eq!(v["findings"][0]["sub"], OTHER);
    let suppressed = v["suppressed"].as_array().unwrap();
    assert_eq!(suppressed.len(), 1);
    assert_eq!(suppressed[0]["sub"], PR);
    assert_eq!(suppressed[0]["count"], 2);
    assert_eq!(suppressed[0]["rule"], 1);
    assert_eq!(
        suppressed[0]["reason"],
        "pull requests are not meant to deploy"
    );
    let rules = v["rules"].as_array().unwrap();
    assert_eq!(
        [
            &rules[0]["expired"],
            &rules[0]["matched_findings"],
            &rules[0]["matched_events"]
        ],
        [&json!(false), &json!(1), &json!(2)]
    );
    assert_eq!(
        [
            &rules[1]["expired"],
            &rules[1]["matched_findings"],
            &rules[1]["matched_events"]
        ],
        [&json!(true), &json!(1), &json!(1)]
    );
    assert_eq!(rules[1]["expires"], "2000-01-01");
    assert_eq!(v["suppression_file"], p(rules_file));
    assert!(
        stderr.contains(&format!(
            "trailwhy: {}: rule 2 expired (2000-01-01) and no longer suppresses; it would match 1 finding(s): acme/b moves to its own account",
            rules_file.display()
        )),
        "{stderr}"
    );
}

#[test]
fn suppression_rules_in_yaml_and_json_with_an_expired_rule() {
    let dir = tempfile::tempdir().unwrap();
    let yaml = dir.path().join("suppress.yaml");
    std::fs::write(&yaml, RULES_YAML).unwrap();
    let state = dir.path().join("state.json");
    let t = trail(&first_records());
    let run = report(
        &t,
        &[
            "--format",
            "json",
            "--suppress",
            p(&yaml),
            "--state",
            p(&state),
        ],
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    check_suppression(&run.json(), &run.stderr, &yaml);
    // only reported findings are remembered: a suppressed one is new once its rule expires
    let s: Value = serde_json::from_str(&std::fs::read_to_string(&state).unwrap()).unwrap();
    assert_eq!(s["findings"].as_object().unwrap().len(), 1);

    let json_rules = dir.path().join("suppress.json");
    std::fs::write(
        &json_rules,
        json!({"rules": [
            {"cause": "sub_kind_mismatch", "repository": "acme/a", "reason": "pull requests are not meant to deploy", "expires": "2999-12-31"},
            {"role": "gha-*", "sub": "repo:acme/b:*", "reason": "acme/b moves to its own account", "expires": "2000-01-01"}
        ]})
        .to_string(),
    )
    .unwrap();
    let run = report(&t, &["--format", "json", "--suppress", p(&json_rules)]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    check_suppression(&run.json(), &run.stderr, &json_rules);

    let md = report(&t, &["--suppress", p(&yaml)]).stdout;
    assert!(md.contains("**1 failed event in 1 finding**: **1 new**, 0 recurring\n\n1 suppressed (2 events) · **1 expired suppression rule**\n"), "{md}");
    assert!(md.contains("> **Expired suppression rule 2** (expires `2000-01-01`): it no longer suppresses anything; it matches 1 finding (1 event). Reason: acme/b moves to its own account\n"), "{md}");
    assert!(md.contains("| `sub_kind_mismatch` | `gha-a` | `acme/a` | `repo:acme/a:pull_request` | 2 | 2026-10-01 10:00Z | 1 | pull requests are not meant to deploy |\n"), "{md}");
    assert!(md.contains("| 2 | would match 1 finding (1 event) | **expired** `2000-01-01` | acme/b moves to its own account |\n"), "{md}");
}

#[test]
fn a_malformed_rule_file_is_a_usage_error_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    let t = trail(&first_records());
    let cases = [
        (
            "no-reason.yaml",
            "rules:\n  - cause: sub_kind_mismatch\n",
            "rule 1 has no reason",
        ),
        ("syntax.yaml", "rules: [\n  - cause: x\n", "is not valid"),
        (
            "typo.json",
            r#"{"rules":[{"cuase":"x","reason":"r"}]}"#,
            "unknown field `cuase`",
        ),
        (
            "empty-rule.yaml",
            "rules:\n  - reason: everything\n",
            "rule 1 matches nothing in particular",
        ),
        (
            "bad-date.yaml",
            "rules:\n  - cause: x\n    reason: r\n    expires: soon\n",
            "expires 'soon'",
        ),
    ];
    for (name, text, message) in cases {
        let path = dir.path().join(name);
        std::fs::write(&path, text).unwrap();
        let run = report(&t, &["--suppress", p(&path)]);
        assert_eq!(run.code, 2, "{name}: {}", run.stderr);
        assert!(run.stderr.contains(p(&path)), "{name}: {}", run.stderr);
        assert!(run.stderr.contains(message), "{name}: {}", run.stderr);
        assert_eq!(run.stdout, "", "{name}");
    }
}

#[test]
fn fail_on_new_any_never_and_partial_scans_exit_3() {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state.json");
    let t = trail(&first_records());
    let code = |fail_on: &str| report(&t, &["--state", p(&state), "--fail-on", fail_on]).code;
    assert_eq!(code("new"), 1, "the first run: everything is new");
    assert_eq!(code("new"), 0, "the same findings again: nothing new");
    assert_eq!(code("any"), 1);
    assert_eq!(code("never"), 0);
    assert_eq!(report(&t, &[]).code, 0, "--fail-on defaults to never");
    assert_eq!(
        report(&t, &["--fail-on", "new"]).code,
        1,
        "without a state file every finding is new"
    );

    // an unreadable input: 3 wins over 1, and the state is not updated
    let partial_state = dir.path().join("partial.json");
    let broken = t.bytes(
        "other/broken.json.gz",
        &[0x1f, 0x8b, 0x08, 0xff, 0xff, 0xff],
    );
    let run = report(
        &t,
        &[
            broken.to_str().unwrap(),
            "--fail-on",
            "any",
            "--state",
            p(&partial_state),
        ],
    );
    assert_eq!(run.code, 3, "{}", run.stderr);
    assert!(run.stderr.contains("broken.json.gz"), "{}", run.stderr);
    assert!(
        run.stderr.contains(&format!(
            "{}: not updated, because the scan was partial",
            partial_state.display()
        )),
        "{}",
        run.stderr
    );
    assert!(!partial_state.exists());
    assert!(run
        .stdout
        .contains("> **Partial scan:** 1 input(s) could not be read"));

    let bad = trailwhy(&["report", "--fail-on", "sometimes"]);
    assert_eq!(bad.code, 2);
}

#[test]
fn markdown_reads_well_and_escapes_log_strings() {
    let t = trail(&first_records());
    let run = report(&t, &[]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let md = run.stdout;
    let lines: Vec<&str> = md.lines().collect();
    assert_eq!(
        lines[0],
        "# trailwhy report: 2026-10-01 00:00Z → 2026-10-02 00:00Z"
    );
    assert_eq!(
        lines[2],
        "**3 failed events in 2 findings**: **2 new**, 0 recurring"
    );
    for line in [
        "- **Top causes:** `sub_kind_mismatch` 2 · `sub_pattern_mismatch` 1",
        "- **Top repositories:** `acme/a` 2 · `acme/b` 1",
        "- **Top roles:** `gha-a` 3",
        "| 1 | **new** | `sub_kind_mismatch` | `gha-a` | `acme/a` | 2 | 2026-10-01 10:00Z | 2026-10-01 10:00Z |",
        "| 2 | **new** | `sub_pattern_mismatch` | `gha-a` | `acme/b` | 1 | 2026-10-01 11:00Z | 2026-10-01 11:00Z |",
        "### 1. `sub_kind_mismatch` · `gha-a` · `acme/a` · **new**",
        "- **2 events** · 2026-10-01 10:00:00Z → 2026-10-01 10:00:30Z · **new**",
        "- sub `repo:acme/a:pull_request`",
        "- event `e1` (+1 more)",
        "```json",
        "          \"token.actions.githubusercontent.com:sub\": [",
        "**Other fixes:**",
    ] {
        assert!(lines.contains(&line), "missing line {line:?} in:\n{md}");
    }
    // 24 hours in 30-minute marks: 10:00 is mark 20, 11:00 mark 22
    let spark = format!("{}█▁▂{}", "▁".repeat(20), "▁".repeat(25));
    assert!(
        lines.contains(&format!("{:20}  {spark}  3", "all failures").as_str()),
        "{md}"
    );
    assert!(
        lines.contains(
            &"                      2026-10-01 00:00Z → 2026-10-02 00:00Z, one mark = 30 min"
        ),
        "{md}"
    );

    // hostile strings: no table cell, tag, link or code span can be opened from a log
    let sub = "repo:acme/x|y`z<b>[a](x)\n:ref:refs/heads/main";
    let t = trail(&[denied("h1", "2026-10-01T10:00:00Z", sub)]);
    let md = report(&t, &[]).stdout;
    assert!(
        md.contains("| ``acme/x\\|y`z<b>[a](x)\\u{a}`` |"),
        "table cell:\n{md}"
    );
    assert!(
        md.contains("- sub ``repo:acme/x|y`z<b>[a](x)\\u{a}:ref:refs/heads/main``"),
        "{md}"
    );
    assert!(
        md.contains("\"repo:acme/x\\|y\\`z\\<b\\>\\[a\\](x)\\\\u{a}:ref:refs/heads/main\""),
        "explanation prose:\n{md}"
    );
}

#[test]
fn html_is_self_contained_and_holds_every_finding_of_the_sample_logs() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("sample-report.html");
    let sample = concat!(env!("CARGO_MANIFEST_DIR"), "/sample-logs");
    let window = [
        "--since",
        "2026-10-01T00:00:00Z",
        "--until",
        "2026-10-04T00:00:00Z",
    ];
    let mut args = vec!["report", sample];
    args.extend(window);
    args.extend(["--format", "html", "-o", p(&out)]);
    let run = trailwhy(&args);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(run.stdout, "");
    let html = std::fs::read_to_string(&out).unwrap();

    let mut args = vec!["report", sample];
    args.extend(window);
    args.extend(["--format", "json"]);
    let v = trailwhy(&args).json();
    assert_eq!(summary_counts(&v), json!([60, 20, 20, 0, 0, 0, 0, 0]));
    let totals: u64 = v["timeline"]["totals"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n.as_u64().unwrap())
        .sum();
    assert_eq!(totals, 60);
    assert_eq!(v["timeline"]["bucket_seconds"], 7200);

    let findings = v["findings"].as_array().unwrap();
    assert_eq!(findings.len(), 20);
    assert_eq!(html.matches("<div class=\"finding\" ").count(), 20);
    for f in findings {
        let fp = f["fingerprint"].as_str().unwrap();
        assert!(html.contains(&format!("data-fingerprint=\"{fp}\"")), "{fp}");
        assert!(html.contains(&format!(
            "<code class=\"cause\">{}</code>",
            f["cause"].as_str().unwrap()
        )));
    }
    assert!(html.contains("<h1>20 findings · 20 new</h1>"));
    // what was read, in the footer (the markdown report ends with the same counts)
    assert!(html.contains(&format!(
        "<footer>115 files read, 175 skipped by design, 0 unreadable · 659 records scanned, 85 selected · trailwhy {}</footer>",
        env!("CARGO_PKG_VERSION")
    )));
    let mut args = vec!["report", sample];
    args.extend(window);
    let md = trailwhy(&args).stdout;
    assert!(
        md.lines().last().unwrap().starts_with(
            "_115 files read, 175 skipped by design, 0 unreadable · 659 records scanned, 85 selected · generated "
        ),
        "{md}"
    );
    assert!(html.contains(
        "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src &#39;none&#39;; style-src &#39;unsafe-inline&#39;; img-src data:; form-action &#39;none&#39;; base-uri &#39;none&#39;\">"
    ));
    assert!(
        html.contains("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">")
    );
    assert!(html.contains("@media (prefers-color-scheme:dark)"));
    assert!(
        html.contains("<svg viewBox=\"0 0 432 100\""),
        "36 two-hour bars"
    );
    for external in ["<script", "src=", "href=", "url(", "@import"] {
        assert!(!html.contains(external), "{external}");
    }
}

#[test]
fn the_default_window_is_the_last_24_hours_even_for_local_files() {
    let sample = concat!(env!("CARGO_MANIFEST_DIR"), "/sample-logs");
    let run = trailwhy(&["report", sample]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(
        run.stdout.contains("\n**No failures in the window.**\n"),
        "{}",
        run.stdout
    );
    let v = trailwhy(&["report", sample, "--format", "json"]).json();
    assert_eq!(summary_counts(&v), json!([0, 0, 0, 0, 0, 0, 0, 0]));
    let since = chrono::DateTime::parse_from_rfc3339(v["since"].as_str().unwrap()).unwrap();
    let until = chrono::DateTime::parse_from_rfc3339(v["until"].as_str().unwrap()).unwrap();
    assert_eq!((until - since).num_hours(), 24);
    let html = trailwhy(&["report", sample, "--format", "html"]).stdout;
    assert!(html.contains("<h1>No failures in the window</h1>"));
}

#[test]
fn failures_outside_the_window_are_counted_with_the_since_that_takes_them_in() {
    // the bundled logs are from October 2026: all outside the default last 24 hours
    let r = trailwhy(&["report", SAMPLE, "--format", "markdown"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let line = "60 failed event(s) read lie outside the window (2026-10-01T10:32:01Z to 2026-10-03T15:00:44Z): --since 2026-10-01T10:32:01Z would include them";
    assert!(
        r.stderr.contains(&format!("trailwhy: {line}\n")),
        "{}",
        r.stderr
    );
    assert!(
        r.stdout.contains("**No failures in the window.**"),
        "{}",
        r.stdout
    );
    assert!(
        r.stdout
            .contains("60 failed event(s) read lie outside the window"),
        "{}",
        r.stdout
    );
    // the flag it names takes them in
    let r = trailwhy(&[
        "report",
        SAMPLE,
        "--since",
        "2026-10-01T10:32:01Z",
        "--until",
        "2026-10-04T00:00:00Z",
        "--format",
        "json",
    ]);
    let v = r.json();
    assert_eq!(v["summary"]["failed_events"], 60, "{}", r.stderr);
    assert!(v["summary"].get("failures_outside_window").is_none());
    assert!(!r.stderr.contains("outside the window"), "{}", r.stderr);
}

/// A finding lists its first 100 event IDs; the timeline still places every event in its
/// own bucket, and the Markdown counts them all.
#[test]
fn the_timeline_counts_every_event_of_a_finding_beyond_the_ids_it_lists() {
    let mut records: Vec<Value> = (0..100)
        .map(|i| {
            denied(
                &format!("a{i:03}"),
                &format!("2026-10-01T10:00:{:02}Z", i % 60),
                PR,
            )
        })
        .collect();
    records.extend((0..20).map(|i| {
        denied(
            &format!("b{i:03}"),
            &format!("2026-10-01T13:00:{i:02}Z"),
            PR,
        )
    }));
    let t = trail(&records);
    let r = report(&t, &["--format", "json"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let v = r.json();
    let f = by_sub(&v["findings"], PR);
    assert_eq!(f["count"], 120);
    assert_eq!(f["event_ids"].as_array().unwrap().len(), 100);
    assert_eq!(v["timeline"]["bucket_seconds"], 1800);
    let totals: Vec<u64> = v["timeline"]["totals"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n.as_u64().unwrap())
        .collect();
    assert_eq!(totals.len(), 48);
    // 10:00 is bucket 20, 13:00 bucket 26 (the 20 events the IDs do not list)
    let mut want = vec![0u64; 48];
    want[20] = 100;
    want[26] = 20;
    assert_eq!(totals, want);
    let md = report(&t, &["--format", "markdown"]).stdout;
    assert!(md.contains("(+119 more)"), "{md}");
}
