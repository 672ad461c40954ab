//! `trailwhy check` and `trailwhy simulate`, through the real binary.
#![allow(clippy::unwrap_used, clippy::expect_used, reason = "tests")]

mod common;

use common::*;
use serde_json::json;

#[test]
fn check_reports_decision_cause_evidence_and_fix() {
    let t = Tree::new();
    let p = t.json(
        "trust.json",
        &trust(json!({"StringEquals": {"token.actions.githubusercontent.com:sub": "repo:acme/web:ref:refs/heads/main",
                                        "token.actions.githubusercontent.com:aud": "sts.amazonaws.com"}})),
    );
    let r = trailwhy(&[
        "check",
        "--trust-policy",
        p.to_str().unwrap(),
        "--sub",
        "repo:acme/web:pull_request",
        "--format",
        "json",
    ]);
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
    assert!(v["fix"]
        .as_str()
        .unwrap()
        .contains("repo:acme/web:pull_request"));

    let r = trailwhy(&[
        "check",
        "--trust-policy",
        p.to_str().unwrap(),
        "--sub",
        "repo:acme/web:ref:refs/heads/main",
        "--format",
        "json",
    ]);
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
    let p = t.json("allow.json", &base);
    let r = trailwhy(&[
        "simulate",
        "--request",
        p.to_str().unwrap(),
        "--format",
        "json",
    ]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let v = r.json();
    assert_eq!(v["decision"], "allow");
    assert_eq!(v["matched"][0]["statement"], "0");

    let mut other = base.clone();
    other["resource"] = json!("arn:aws:ecr:us-east-1:111122223333:repository/api");
    let p = t.json("other.json", &other);
    assert_eq!(
        trailwhy(&[
            "simulate",
            "--request",
            p.to_str().unwrap(),
            "--format",
            "json"
        ])
        .json()["decision"],
        "implicit_deny"
    );

    let mut scp = base.clone();
    scp["scps"] = json!([[{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"},
        {"Effect":"Deny","Action":"ecr:PutImage","Resource":"*","Condition":{"NotIpAddress":{"aws:SourceIp":"10.0.0.0/8"}}}]}]]);
    let p = t.json("scp.json", &scp);
    let v = trailwhy(&[
        "simulate",
        "--request",
        p.to_str().unwrap(),
        "--format",
        "json",
    ])
    .json();
    assert_eq!(v["decision"], "explicit_deny");

    let mut cross = base.clone();
    cross["resource"] = json!("arn:aws:ecr:us-east-1:444455556666:repository/web");
    cross["identity_policies"] = json!([{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"ecr:*","Resource":"*"}]}]);
    let p = t.json("cross.json", &cross);
    assert_eq!(
        trailwhy(&[
            "simulate",
            "--request",
            p.to_str().unwrap(),
            "--format",
            "json"
        ])
        .json()["decision"],
        "implicit_deny"
    );
    cross["resource_policy"] = json!({"Version":"2012-10-17","Statement":[{"Effect":"Allow",
        "Principal":{"AWS":"arn:aws:iam::111122223333:role/gha-web"},"Action":"ecr:PutImage"}]});
    let p = t.json("cross2.json", &cross);
    assert_eq!(
        trailwhy(&[
            "simulate",
            "--request",
            p.to_str().unwrap(),
            "--format",
            "json"
        ])
        .json()["decision"],
        "allow"
    );
}
