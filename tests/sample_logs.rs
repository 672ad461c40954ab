//! `trailwhy explain sample-logs` explains every story in the bundled sample logs exactly as
//! `sample-logs/expected.json` says: cause, role, sub, action, resource, count, first and
//! last seen, event ids. Both are generated from the same data by scripts/make-sample-logs.py.
#![allow(clippy::unwrap_used, clippy::expect_used, reason = "tests")]

mod common;

use common::*;
use serde_json::Value;

fn sample_run() -> (Vec<Value>, Value) {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/sample-logs");
    let run = trailwhy(&["explain", dir, "--format", "json"]);
    assert_eq!(run.code, 0, "stderr: {}", run.stderr);
    let v = run.json();
    (
        v["findings"].as_array().unwrap().clone(),
        v["summary"].clone(),
    )
}

#[test]
fn every_story_is_explained_with_its_expected_cause_and_counts() {
    let expected: Vec<Value> = serde_json::from_str(
        &std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/sample-logs/expected.json"
        ))
        .unwrap(),
    )
    .unwrap();
    let (findings, _) = sample_run();
    for story in &expected {
        let name = story["story"].as_str().unwrap();
        let mut ids: Vec<&str> = story["event_ids"]
            .as_array()
            .unwrap()
            .iter()
            .map(|x| x.as_str().unwrap())
            .collect();
        ids.sort_unstable();
        let found = findings.iter().find(|f| {
            let mut fids: Vec<&str> = f["event_ids"]
                .as_array()
                .unwrap()
                .iter()
                .map(|x| x.as_str().unwrap())
                .collect();
            fids.sort_unstable();
            fids == ids
        });
        let f = found.unwrap_or_else(|| panic!("story {name}: no finding with exactly its events"));
        for key in [
            "cause",
            "role_arn",
            "sub",
            "event_name",
            "error_code",
            "count",
            "first_seen",
            "last_seen",
            "action",
            "resource",
        ] {
            assert_eq!(f[key], story[key], "story {name}: {key}");
        }
        assert!(
            !f["fix"].as_str().unwrap().is_empty(),
            "story {name}: empty fix"
        );
    }
    assert_eq!(
        findings.len(),
        expected.len(),
        "no findings beyond the stories"
    );
}

#[test]
fn seed_typo_names_the_nearest_role_and_the_ecr_story_carries_the_sub() {
    let (findings, _) = sample_run();
    let typo = findings
        .iter()
        .find(|f| f["cause"] == "role_not_found")
        .unwrap();
    assert_eq!(
        typo["details"]["nearest_role"]["name"],
        "Githubacitions-to-ECR-role"
    );
    let push = findings
        .iter()
        .find(|f| f["cause"] == "identity_policy_wrong_resource")
        .unwrap();
    assert_eq!(
        push["sub"],
        "repo:Test-User/techblue-dev:ref:refs/heads/main"
    );
    assert_eq!(push["details"]["session"]["joined"], true);
    assert!(push["fix"]
        .as_str()
        .unwrap()
        .contains("repository/techblue-api"));
}

#[test]
fn trail_side_files_are_skipped_and_nothing_is_unreadable() {
    let (_, summary) = sample_run();
    assert_eq!(summary["files_unreadable"], 0);
    assert_eq!(summary["partial"], false);
    let reasons: Vec<&str> = summary["skipped"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["reason"].as_str().unwrap())
        .collect();
    assert_eq!(
        reasons
            .iter()
            .filter(|r| **r == "CloudTrail digest file")
            .count(),
        171
    );
    assert_eq!(
        reasons
            .iter()
            .filter(|r| **r == "CloudTrail Insights file")
            .count(),
        1
    );
}

#[test]
fn no_session_token_from_the_sample_logs_reaches_any_output() {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/sample-logs");
    for format in ["table", "json", "ndjson"] {
        let run = trailwhy(&["explain", dir, "--format", format]);
        assert!(!run.stdout.contains("IQoJb3JpZ2luX2Vj"), "{format}");
        assert!(!run.stderr.contains("IQoJb3JpZ2luX2Vj"), "{format}");
    }
}

/// The bundled trail's digests (one per region and hour of the main account, chained) prove
/// every log file they cover: nothing altered, deleted or unlisted, so `verify` exits 0. The
/// other accounts' files have no digests and say so.
#[test]
fn sample_digests_verify_every_covered_log_file() {
    let r = trailwhy(&["verify", "sample-logs"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let v: serde_json::Value = serde_json::from_str(&r.stdout).unwrap();
    let i = &v["integrity"];
    assert_eq!(i["signatures"], "not_verified");
    assert_eq!(
        i["log_files"],
        serde_json::json!({"verified": 88, "altered": 0, "deleted": 0, "unlisted": 0, "unverifiable": 28})
    );
    assert_eq!(i["digest_files"]["verified"], 171);
}
