//! `trailwhy check` and `trailwhy simulate`, through the real binary.
#![allow(clippy::unwrap_used, clippy::expect_used, reason = "tests")]

mod common;

use std::path::Path;

use common::*;
use serde_json::{json, Value};

/// `trailwhy check --trust-policy POLICY --sub SUB --format json`.
fn check(policy: &Path, sub: &str) -> Run {
    trailwhy(&[
        "check",
        "--trust-policy",
        policy.to_str().unwrap(),
        "--sub",
        sub,
        "--format",
        "json",
    ])
}

/// `trailwhy simulate --request FILE --format json`, with `request` written to `name` in `t`.
fn simulate(t: &Tree, name: &str, request: &Value) -> Run {
    let p = t.json(name, request);
    trailwhy(&[
        "simulate",
        "--request",
        p.to_str().unwrap(),
        "--format",
        "json",
    ])
}

#[test]
fn check_reports_decision_cause_evidence_and_fix() {
    let t = Tree::new();
    let p = t.json(
        "trust.json",
        &trust(json!({"StringEquals": {"token.actions.githubusercontent.com:sub": "repo:acme/web:ref:refs/heads/main",
                                        "token.actions.githubusercontent.com:aud": "sts.amazonaws.com"}})),
    );
    let r = check(&p, "repo:acme/web:pull_request");
    assert_eq!(r.code, 0, "{}", r.stderr);
    let v = r.json();
    assert_eq!(v["decision"], "implicit_deny");
    assert_eq!(v["cause"], "sub_kind_mismatch");
    assert_eq!(v["provider"], GH);
    assert_eq!(
        v["evidence"][0]["key"],
        "token.actions.githubusercontent.com:sub"
    );
    assert_eq!(v["evidence"][0]["actual"], "repo:acme/web:pull_request");
    // run from main (the workflow) first, then the trust policy with this subject added
    let fixes = v["fixes"].as_array().unwrap();
    assert_eq!(fixes.len(), 2, "{fixes:#?}");
    assert_eq!(fixes[0]["kind"], "workflow");
    assert_eq!(fixes[0]["target"], "on.push.branches");
    assert!(v["fix"].as_str().unwrap().contains("branch main"));
    assert_eq!(fixes[1]["kind"], "trust_policy");
    assert_eq!(
        fixes[1]["document"]["Statement"][0]["Condition"]["StringEquals"]
            ["token.actions.githubusercontent.com:sub"],
        json!([
            "repo:acme/web:ref:refs/heads/main",
            "repo:acme/web:pull_request"
        ])
    );
    assert_eq!(fixes[1]["verified"], "allows");
    assert!(fixes[1]["apply"]
        .as_str()
        .unwrap()
        .starts_with("aws iam update-assume-role-policy --role-name ROLE --policy-document file://trust-policy-ROLE-"));

    let r = check(&p, "repo:acme/web:ref:refs/heads/main");
    let v = r.json();
    assert_eq!(v["decision"], "allow");
    assert_eq!(v["cause"], "trust_allows");
}

#[test]
fn check_accepts_url_encoded_policies_and_reports_bad_ones() {
    let t = Tree::new();
    let encoded = "%7B%22Version%22%3A%222012-10-17%22%2C%22Statement%22%3A%5B%7B%22Effect%22%3A%22Allow%22%2C%22Principal%22%3A%7B%22Service%22%3A%22ec2.amazonaws.com%22%7D%2C%22Action%22%3A%22sts%3AAssumeRole%22%7D%5D%7D";
    let p = t.bytes("enc.txt", encoded.as_bytes());
    let r = trailwhy(&[
        "check",
        "--trust-policy",
        p.to_str().unwrap(),
        "--sub",
        "repo:a/b:pull_request",
        "--provider",
        GH,
        "--format",
        "json",
    ]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(r.json()["cause"], "provider_not_trusted");
    let bad = t.bytes("bad.json", b"{\"Statement\": 5}");
    let r = trailwhy(&[
        "check",
        "--trust-policy",
        bad.to_str().unwrap(),
        "--sub",
        "x",
    ]);
    assert_eq!(r.code, 2);
    assert!(r.stderr.contains("bad.json"), "{}", r.stderr);
}

#[test]
fn simulate_layers() {
    let t = Tree::new();
    let allow_push = json!({"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["ecr:PutImage","ecr:*Layer*"],
        "Resource":"arn:aws:ecr:us-east-1:111122223333:repository/web"}]});
    let base = json!({
        "principal": "arn:aws:sts::111122223333:assumed-role/gha-web/GitHubActions",
        "action": "ecr:PutImage",
        "resource": "arn:aws:ecr:us-east-1:111122223333:repository/web",
        "context": {"aws:SourceIp": "1.2.3.4", "token.actions.githubusercontent.com:sub": "repo:acme/web:ref:refs/heads/main"},
        "identity_policies": [allow_push],
        "resource_policy": null
    });
    let r = simulate(&t, "allow.json", &base);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let v = r.json();
    assert_eq!(v["decision"], "allow");
    assert_eq!(v["matched"][0]["statement"], "0");

    let mut other = base.clone();
    other["resource"] = json!("arn:aws:ecr:us-east-1:111122223333:repository/api");
    assert_eq!(
        simulate(&t, "other.json", &other).json()["decision"],
        "implicit_deny"
    );

    let mut scp = base.clone();
    scp["scps"] = json!([[{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"},
        {"Effect":"Deny","Action":"ecr:PutImage","Resource":"*","Condition":{"NotIpAddress":{"aws:SourceIp":"10.0.0.0/8"}}}]}]]);
    let v = simulate(&t, "scp.json", &scp).json();
    assert_eq!(v["decision"], "explicit_deny");

    let mut cross = base.clone();
    cross["resource"] = json!("arn:aws:ecr:us-east-1:444455556666:repository/web");
    cross["identity_policies"] = json!([{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"ecr:*","Resource":"*"}]}]);
    assert_eq!(
        simulate(&t, "cross.json", &cross).json()["decision"],
        "implicit_deny"
    );
    cross["resource_policy"] = json!({"Version":"2012-10-17","Statement":[{"Effect":"Allow",
        "Principal":{"AWS":"arn:aws:iam::111122223333:role/gha-web"},"Action":"ecr:PutImage"}]});
    assert_eq!(
        simulate(&t, "cross2.json", &cross).json()["decision"],
        "allow"
    );
}
