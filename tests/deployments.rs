//! Inventory cases as data files (`tests/cases/deployments/*.json`), run through the real
//! binary: role paths, the managed-policy version in force on both sides of a failure, and
//! AWS's denial message against the policies the tool holds. Adding a case means adding a file.
//!
//! A case holds `iam` (authorization-details documents), `records` in a short form the runner
//! expands (`webid`, `call`, `change`, or a `raw` record), and `expect`: one entry per finding,
//! found by its first event id, with the exact `cause` and, where given, `role_arn`, text the
//! explanation and fix must hold (`explanation_has`, `fix_has`) or must not
//! (`explanation_lacks`), and `details` that must be a subset of the finding's.
#![allow(clippy::unwrap_used, clippy::expect_used, reason = "tests")]

mod common;

use common::*;
use serde_json::{json, Value};

/// Expands one record of the short form.
fn record(r: &Value) -> Value {
    let s = |k: &str| r[k].as_str().unwrap_or_default();
    if let Some(w) = r.get("webid") {
        let f = |k: &str| w[k].as_str().unwrap();
        let mut web = if w["assumed"] == json!(true) {
            WebId::assumed(f("id"), f("time"), f("role"), f("sub"))
        } else {
            WebId::denied(f("id"), f("time"), f("role"), f("sub"))
        };
        if let Some(region) = w["region"].as_str() {
            web.region = region;
        }
        let mut rec = web.record();
        for (k, v) in w["set"].as_object().into_iter().flatten() {
            rec[k] = v.clone();
        }
        return rec;
    }
    if let Some(c) = r.get("call") {
        let f = |k: &str| c[k].as_str().unwrap();
        let mut e = Event::call(
            Who::session(f("role"), f("key")),
            f("id"),
            f("time"),
            f("source"),
            f("name"),
        )
        .region(c["region"].as_str().unwrap_or("us-east-1"))
        .request(c["request"].clone());
        if let Some(err) = c.get("error") {
            e = e.error(err[0].as_str().unwrap(), "");
            e = e.set("errorMessage", err[1].clone());
        }
        for (k, v) in c["set"].as_object().into_iter().flatten() {
            e = e.set(k, v.clone());
        }
        return e.record();
    }
    if let Some(c) = r.get("change") {
        let f = |k: &str| c[k].as_str().unwrap();
        return Event::change(
            "arn:aws:iam::111122223333:user/alice",
            f("id"),
            f("time"),
            c["source"].as_str().unwrap_or("iam.amazonaws.com"),
            f("name"),
            c["request"].clone(),
        )
        .response(c["response"].clone())
        .record();
    }
    assert!(r.get("raw").is_some(), "unknown record form: {}", s("?"));
    r["raw"].clone()
}

/// Whether every key of `want` is in `got` with an equal value (objects compared as subsets).
fn subset(want: &Value, got: &Value) -> bool {
    match (want, got) {
        (Value::Object(w), Value::Object(g)) => w
            .iter()
            .all(|(k, v)| g.get(k).is_some_and(|gv| subset(v, gv))),
        _ => want == got,
    }
}

/// Runs one case; what differs from its expectations, one line each.
fn run_case(path: &std::path::Path) -> Vec<String> {
    let mut problems = Vec::new();
    let name = path.file_name().unwrap().to_str().unwrap();
    let case: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let tree = Tree::new();
    for (i, doc) in case["iam"].as_array().unwrap().iter().enumerate() {
        tree.json(&format!("iam/{ACCT}-authorization-details-{i}.json"), doc);
    }
    let records: Vec<Value> = case["records"]
        .as_array()
        .unwrap()
        .iter()
        .map(record)
        .collect();
    tree.log_gz("logs/trail.json.gz", &records);
    let iam = tree.path().join("iam");
    let logs = tree.path().join("logs");
    let mut args = vec!["explain", "--format", "json"];
    if !case["iam"].as_array().unwrap().is_empty() {
        args.extend(["--iam", iam.to_str().unwrap()]);
    }
    args.push(logs.to_str().unwrap());
    let run = trailwhy(&args);
    if std::env::var_os("SHOW_CASES").is_some() {
        eprintln!("== {name}\n{}", run.stdout);
    }
    assert_eq!(run.code, 0, "{name}: {}", run.stderr);
    let report = run.json();
    let findings = report["findings"].as_array().unwrap();
    let expect = case["expect"].as_array().unwrap();
    if findings.len() != expect.len() {
        problems.push(format!(
            "{name}: {} findings, expected {}: {}",
            findings.len(),
            expect.len(),
            serde_json::to_string_pretty(findings).unwrap()
        ));
    }
    for e in expect {
        let id = e["event_id"].as_str().unwrap();
        let Some(f) = findings.iter().find(|f| f["event_ids"][0] == id) else {
            problems.push(format!("{name}: no finding of {id}"));
            continue;
        };
        let show = serde_json::to_string_pretty(f).unwrap();
        let mut check = |ok: bool, what: String| {
            if !ok {
                problems.push(format!("{name} {id}: {what}: {show}"));
            }
        };
        check(
            f["cause"] == e["cause"],
            format!("cause is not {}", e["cause"]),
        );
        if let Some(arn) = e.get("role_arn") {
            check(&f["role_arn"] == arn, format!("role_arn is not {arn}"));
        }
        let text = |k: &str| f[k].as_str().unwrap_or_default().to_owned();
        for (field, want_key, present) in [
            ("explanation", "explanation_has", true),
            ("fix", "fix_has", true),
            ("explanation", "explanation_lacks", false),
        ] {
            for needle in e[want_key].as_array().into_iter().flatten() {
                let needle = needle.as_str().unwrap();
                check(
                    text(field).contains(needle) == present,
                    format!(
                        "{field} {} {needle:?}",
                        if present { "lacks" } else { "holds" }
                    ),
                );
            }
        }
        if let Some(d) = e.get("details") {
            check(subset(d, &f["details"]), format!("details {d} not in it"));
        }
        for want in e["evidence_has"].as_array().into_iter().flatten() {
            let found = f["evidence"]
                .as_array()
                .is_some_and(|all| all.iter().any(|got| subset(want, got)));
            check(found, format!("no evidence like {want}"));
        }
    }
    problems
}

#[test]
fn every_deployment_case_gives_its_causes() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/cases/deployments");
    let mut cases: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .collect();
    cases.sort();
    assert!(cases.len() >= 10, "cases: {cases:?}");
    let problems: Vec<String> = cases.iter().flat_map(|c| run_case(c)).collect();
    assert!(problems.is_empty(), "{}", problems.join("\n\n"));
}
