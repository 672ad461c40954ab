//! `trailwhy explain` on web-identity failures, through the real binary: one test per cause
//! code, asserting the cause, the evidence fields and the counts.
#![allow(clippy::unwrap_used, clippy::expect_used, reason = "tests")]

mod common;

use common::*;
use serde_json::{json, Value};

const ROLE: &str = "arn:aws:iam::111122223333:role/gha-deploy";
const MAIN: &str = "repo:acme/web:ref:refs/heads/main";

/// Writes the records as one trail file and the roles as an inventory, runs explain with
/// NDJSON output, and returns the findings — after checking that every verified trust-policy
/// fix among them, applied to the inventory, lets the same logs pass (`trust_allows`).
fn explain(records: &[Value], roles: &[(&str, Value)]) -> Vec<Value> {
    let findings = explain_once(records, roles);
    for f in &findings {
        if f["details"].get("trust_policy_set_by").is_some() {
            continue; // a snapshot edit cannot change a policy a change event in the logs set
        }
        for fix in f["fixes"].as_array().unwrap() {
            let also = fix["also"].as_array().cloned().unwrap_or_default();
            if fix["verified"] != "allows" || fix["kind"] != "trust_policy" || !also.is_empty() {
                continue;
            }
            let name = fix["target"].as_str().unwrap().rsplit('/').next().unwrap();
            let patched: Vec<(&str, Value)> = roles
                .iter()
                .map(|(n, p)| {
                    let p = if *n == name {
                        fix["document"].clone()
                    } else {
                        p.clone()
                    };
                    (*n, p)
                })
                .collect();
            let after = explain_once(records, &patched);
            let again = after
                .iter()
                .find(|a| a["event_ids"][0] == f["event_ids"][0])
                .unwrap();
            assert_eq!(
                again["cause"], "trust_allows",
                "{} fixed by {fix:#}",
                f["cause"]
            );
        }
    }
    findings
}

fn explain_once(records: &[Value], roles: &[(&str, Value)]) -> Vec<Value> {
    let t = Tree::new();
    t.log_gz(
        "AWSLogs/111122223333/CloudTrail/us-east-1/2026/10/01/f.json.gz",
        records,
    );
    t.json(
        "iam/111122223333-authorization-details.json",
        &auth_details(ACCT, roles),
    );
    let run = trailwhy(&[
        "explain",
        t.path().join("AWSLogs").to_str().unwrap(),
        "--iam",
        t.path().join("iam").to_str().unwrap(),
        "--format",
        "ndjson",
    ]);
    assert_eq!(run.code, 0, "stderr: {}", run.stderr);
    run.findings()
}

fn denied(id: &str, sub: &str) -> Value {
    WebId::denied(id, "2026-10-01T10:32:01Z", ROLE, sub).record()
}

/// `UpdateAssumeRolePolicy` of `role` (a name) to `policy`, by the IAM user `user`.
fn trust_change(user: &str, id: &str, time: &str, role: &str, policy: &Value) -> Value {
    Event::change(
        user,
        id,
        time,
        "iam.amazonaws.com",
        "UpdateAssumeRolePolicy",
        json!({"roleName": role, "policyDocument": policy.to_string()}),
    )
    .record()
}

/// The cause of one denied assumption of `sub` by role gha-deploy, trusting `op` `pattern`.
fn cause_against(sub: &str, op: &str, pattern: &str) -> Value {
    let f = explain(&[denied("a1", sub)], &deploy(sub_trust(op, pattern)));
    only(&f)["cause"].clone()
}

fn only(findings: &[Value]) -> &Value {
    assert_eq!(findings.len(), 1, "findings: {findings:#?}");
    &findings[0]
}

/// A trust policy whose `op` condition wants subject `pattern` and audience sts.amazonaws.com.
fn sub_trust(op: &str, pattern: &str) -> Value {
    trust(
        json!({ op: {"token.actions.githubusercontent.com:sub": pattern, "token.actions.githubusercontent.com:aud": "sts.amazonaws.com"} }),
    )
}

/// An inventory of role gha-deploy with this trust policy.
fn deploy(policy: Value) -> [(&'static str, Value); 1] {
    [("gha-deploy", policy)]
}

#[test]
fn environment_subject_against_branch_policy_is_a_kind_mismatch_grouped_over_12_retries() {
    let records: Vec<Value> = (0..12)
        .map(|i| {
            let id = format!("e{i:02}");
            let time = format!("2026-10-01T10:32:{:02}Z", i * 4);
            WebId::denied(&id, &time, ROLE, "repo:acme/web:environment:production").record()
        })
        .collect();
    let f = explain(&records, &deploy(sub_trust("StringEquals", MAIN)));
    let f = only(&f);
    assert_eq!(f["cause"], "sub_kind_mismatch");
    assert_eq!(f["count"], 12);
    assert_eq!(f["first_seen"], "2026-10-01T10:32:00Z");
    assert_eq!(f["last_seen"], "2026-10-01T10:32:44Z");
    assert_eq!(f["event_ids"].as_array().unwrap().len(), 12);
    assert_eq!(f["role_arn"], ROLE);
    assert_eq!(f["sub"], "repo:acme/web:environment:production");
    assert_eq!(f["aud"], "sts.amazonaws.com");
    assert_eq!(f["provider"], GH);
    assert_eq!(f["action"], "sts:AssumeRoleWithWebIdentity");
    assert_eq!(f["resource"], ROLE);
    assert_eq!(f["account"], ACCT);
    assert_eq!(f["region"], "us-east-1");
    assert_eq!(f["error_code"], "AccessDenied");
    assert_eq!(f["event_name"], "AssumeRoleWithWebIdentity");
    let e = &f["evidence"][0];
    assert_eq!(e["policy"], "trust");
    assert_eq!(e["statement"], "0");
    assert_eq!(e["key"], "token.actions.githubusercontent.com:sub");
    assert_eq!(e["operator"], "StringEquals");
    assert_eq!(e["expected"], json!([MAIN]));
    assert_eq!(e["actual"], "repo:acme/web:environment:production");
    // the workflow change keeps the trust narrow: first; widening the trust policy second
    let fixes = f["fixes"].as_array().unwrap();
    assert_eq!(fixes[0]["kind"], "workflow");
    assert_eq!(fixes[0]["verified"], "allows");
    assert_eq!(fixes[0]["admits"], json!([]));
    assert!(
        f["fix"].as_str().unwrap().contains("branch main"),
        "{}",
        f["fix"]
    );
    let widen = fixes.iter().find(|x| x["kind"] == "trust_policy").unwrap();
    assert_eq!(
        widen["document"]["Statement"][0]["Condition"]["StringEquals"]
            ["token.actions.githubusercontent.com:sub"],
        json!([MAIN, "repo:acme/web:environment:production"])
    );
    assert_eq!(widen["verified"], "allows");
    assert!(
        f["explanation"].as_str().unwrap().contains("environment"),
        "{}",
        f["explanation"]
    );
}

#[test]
fn contract_fields_are_all_present_in_ndjson() {
    let f = explain(
        &[denied("a1", "repo:acme/web:pull_request")],
        &deploy(sub_trust("StringLike", "repo:acme/web:ref:refs/heads/*")),
    );
    let f = only(&f);
    for key in [
        "cause",
        "event_name",
        "error_code",
        "account",
        "region",
        "role_arn",
        "provider",
        "sub",
        "aud",
        "action",
        "resource",
        "count",
        "first_seen",
        "last_seen",
        "event_ids",
        "explanation",
        "fix",
        "evidence",
    ] {
        assert!(f.get(key).is_some(), "missing {key} in {f}");
    }
    assert_eq!(f["cause"], "sub_kind_mismatch");
}

#[test]
fn other_branch_is_a_pattern_mismatch() {
    assert_eq!(
        cause_against("repo:acme/web:ref:refs/heads/dev", "StringEquals", MAIN),
        "sub_pattern_mismatch"
    );
}

#[test]
fn owner_case_is_a_case_mismatch_and_the_fix_uses_the_token_case() {
    let f = explain(
        &[denied("a1", "repo:acme/billing:ref:refs/heads/main")],
        &deploy(sub_trust("StringLike", "repo:Acme/billing:*")),
    );
    let f = only(&f);
    assert_eq!(f["cause"], "sub_case_mismatch");
    // least privilege first: the exact subject, then the pattern with the token's case
    let fixes = f["fixes"].as_array().unwrap();
    let sub_values = |x: &Value| {
        x["document"]["Statement"][0]["Condition"]["StringLike"]
            ["token.actions.githubusercontent.com:sub"]
            .clone()
    };
    assert_eq!(
        sub_values(&fixes[0]),
        json!([
            "repo:Acme/billing:*",
            "repo:acme/billing:ref:refs/heads/main"
        ])
    );
    assert_eq!(
        sub_values(&fixes[1]),
        json!(["repo:Acme/billing:*", "repo:acme/billing:*"])
    );
    assert!(fixes.iter().all(|x| x["verified"] == "allows"));
}

#[test]
fn immutable_subject_against_name_policy() {
    assert_eq!(
        cause_against(
            "repo:acme@4412345/newsvc@987654321:ref:refs/heads/main",
            "StringEquals",
            "repo:acme/newsvc:ref:refs/heads/main"
        ),
        "sub_immutable_id_mismatch"
    );
}

#[test]
fn name_subject_against_immutable_policy() {
    assert_eq!(
        cause_against(
            "repo:acme/newsvc:ref:refs/heads/main",
            "StringEquals",
            "repo:acme@4412345/newsvc@987654321:ref:refs/heads/main"
        ),
        "sub_immutable_id_mismatch"
    );
}

#[test]
fn custom_template_subject() {
    assert_eq!(cause_against("repo:acme/web:environment:prod:job_workflow_ref:acme/ci/.github/workflows/deploy.yml@refs/heads/main", "StringEquals", "repo:acme/web:environment:prod"), "sub_custom_template_mismatch");
}

#[test]
fn wildcard_under_string_equals() {
    let f = explain(
        &[denied("a1", MAIN)],
        &deploy(sub_trust("StringEquals", "repo:acme/web:*")),
    );
    let f = only(&f);
    assert_eq!(f["cause"], "wildcard_needs_stringlike");
    let fixes = f["fixes"].as_array().unwrap();
    assert_eq!(fixes.len(), 2, "{fixes:#?}");
    assert_eq!(
        fixes[0]["admits"],
        json!([format!(
            "token.actions.githubusercontent.com:sub \"{MAIN}\""
        )])
    );
    let like = &fixes[1]["document"]["Statement"][0]["Condition"];
    assert_eq!(
        like["StringLike"]["token.actions.githubusercontent.com:sub"],
        "repo:acme/web:*"
    );
    assert_eq!(
        like["StringEquals"]["token.actions.githubusercontent.com:aud"],
        "sts.amazonaws.com"
    );
    assert_eq!(fixes[1]["verified"], "allows");
    assert_eq!(f["evidence"][0]["operator"], "StringEquals");
    assert_eq!(f["evidence"][0]["expected"], json!(["repo:acme/web:*"]));
}

#[test]
fn audience_condition_mismatch_with_url_audience() {
    let mut w = WebId::denied("a1", "2026-10-01T10:32:01Z", ROLE, MAIN);
    w.aud = "https://github.com/acme";
    let f = explain(
        &[w.record()],
        &deploy(sub_trust("StringLike", "repo:acme/web:*")),
    );
    let f = only(&f);
    assert_eq!(f["cause"], "aud_mismatch");
    assert_eq!(f["aud"], "https://github.com/acme");
    assert_eq!(
        f["evidence"][0]["key"],
        "token.actions.githubusercontent.com:aud"
    );
    assert_eq!(f["evidence"][0]["actual"], "https://github.com/acme");
}

#[test]
fn role_name_typo_names_the_nearest_role() {
    let f = explain(
        &[WebId::denied(
            "a1",
            "2026-10-01T11:33:52Z",
            "arn:aws:iam::111122223333:role/Githubactions-to-ECR-role",
            "repo:Test-User/techblue-dev:ref:refs/heads/main",
        )
        .record()],
        &[
            (
                "Githubacitions-to-ECR-role",
                sub_trust(
                    "StringEquals",
                    "repo:Test-User/techblue-dev:ref:refs/heads/main",
                ),
            ),
            ("gha-deploy", trust(json!({}))),
        ],
    );
    let f = only(&f);
    assert_eq!(f["cause"], "role_not_found");
    assert_eq!(
        f["details"]["nearest_role"]["name"],
        "Githubacitions-to-ECR-role"
    );
    assert!(f["fix"]
        .as_str()
        .unwrap()
        .contains("arn:aws:iam::111122223333:role/Githubacitions-to-ECR-role"));
}

#[test]
fn provider_not_trusted_when_policy_names_another_account() {
    let policy = json!({"Version":"2012-10-17","Statement":[{"Effect":"Allow",
        "Principal":{"Federated":"arn:aws:iam::999999999999:oidc-provider/token.actions.githubusercontent.com"},
        "Action":"sts:AssumeRoleWithWebIdentity",
        "Condition":{"StringEquals":{"token.actions.githubusercontent.com:sub": MAIN}}}]});
    let f = explain(&[denied("a1", MAIN)], &deploy(policy));
    let f = only(&f);
    assert_eq!(f["cause"], "provider_not_trusted");
    assert_eq!(f["evidence"][0]["key"], "Principal.Federated");
    assert_eq!(f["evidence"][0]["actual"], GH);
    assert!(f["explanation"]
        .as_str()
        .unwrap()
        .contains("another account"));
}

#[test]
fn action_not_trusted_when_only_assume_role_is_allowed() {
    let policy = json!({"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Federated": GH},
        "Action":"sts:AssumeRole","Condition":{"StringEquals":{"token.actions.githubusercontent.com:sub": MAIN}}}]});
    let f = explain(&[denied("a1", MAIN)], &deploy(policy));
    let f = only(&f);
    assert_eq!(f["cause"], "action_not_trusted");
    assert_eq!(f["evidence"][0]["expected"], json!(["sts:AssumeRole"]));
}

#[test]
fn explicit_deny_in_trust_policy() {
    let policy = json!({"Version":"2012-10-17","Statement":[
        {"Effect":"Allow","Principal":{"Federated": GH},"Action":"sts:AssumeRoleWithWebIdentity",
         "Condition":{"StringLike":{"token.actions.githubusercontent.com:sub":"repo:acme/*"}}},
        {"Sid":"NoPRs","Effect":"Deny","Principal":{"Federated": GH},"Action":"sts:AssumeRoleWithWebIdentity",
         "Condition":{"StringLike":{"token.actions.githubusercontent.com:sub":"repo:acme/*:pull_request"}}}]});
    let f = explain(
        &[denied("a1", "repo:acme/legacy-app:pull_request")],
        &deploy(policy),
    );
    let f = only(&f);
    assert_eq!(f["cause"], "explicit_deny");
    assert_eq!(f["evidence"][0]["statement"], "1");
    assert_eq!(f["evidence"][0]["sid"], "NoPRs");
}

#[test]
fn unrecorded_claim_condition_is_unverifiable() {
    let policy = trust(json!({"StringEquals": {
        "token.actions.githubusercontent.com:sub": MAIN,
        "token.actions.githubusercontent.com:job_workflow_ref": "acme/ci/.github/workflows/deploy.yml@refs/heads/main"}}));
    let f = explain(&[denied("a1", MAIN)], &deploy(policy));
    let f = only(&f);
    assert_eq!(f["cause"], "unverifiable_claim_condition");
    assert_eq!(
        f["evidence"][0]["key"],
        "token.actions.githubusercontent.com:job_workflow_ref"
    );
    assert_eq!(f["evidence"][0]["actual"], Value::Null);
}

#[test]
fn allowing_policy_gives_trust_allows() {
    assert_eq!(cause_against(MAIN, "StringEquals", MAIN), "trust_allows");
}

#[test]
fn unknown_account_gives_no_policy_data() {
    let rec = WebId::denied(
        "a1",
        "2026-10-01T10:32:01Z",
        "arn:aws:iam::777788889999:role/gha-sandbox",
        MAIN,
    )
    .record();
    let f = explain(&[rec], &deploy(trust(json!({}))));
    let f = only(&f);
    assert_eq!(f["cause"], "no_policy_data");
    assert!(f["fix"].as_str().unwrap().contains("777788889999"));
}

fn with_error(code: &'static str, msg: &'static str) -> Value {
    let mut w = WebId::denied("a1", "2026-10-01T10:32:01Z", ROLE, MAIN);
    w.error = Some((code, msg));
    w.record()
}

#[test]
fn token_level_error_codes() {
    let cases = [
        ("InvalidIdentityToken", "No OpenIDConnect provider found in your account for https://token.actions.githubusercontent.com", "provider_not_found"),
        ("InvalidIdentityToken", "Incorrect token audience", "audience_not_registered"),
        ("InvalidIdentityToken", "The target role ARN is not present in the roles claim of the identity token", "invalid_token"),
        ("ExpiredTokenException", "Token expired: current date/time 1700000000 must be before the expiration date/time 1699999000", "token_expired"),
        ("IDPRejectedClaim", "Claim rejected", "idp_rejected_claim"),
        ("IDPCommunicationError", "Could not reach the IdP", "idp_unreachable"),
        ("RegionDisabledException", "STS is not activated in this region", "region_disabled"),
        ("ValidationError", "The requested DurationSeconds exceeds the MaxSessionDuration set for this role.", "duration_exceeds_max"),
    ];
    for (code, msg, cause) in cases {
        let f = explain(&[with_error(code, msg)], &deploy(trust(json!({}))));
        let f = only(&f);
        assert_eq!(f["cause"], cause, "{code}: {msg}");
        assert_eq!(f["error_code"], code);
    }
}

#[test]
fn trust_policy_changed_in_window_is_judged_as_of_event_time() {
    let t = Tree::new();
    let good = sub_trust("StringLike", "repo:acme/web:ref:refs/tags/v*");
    let broken = sub_trust("StringLike", "repo:acme/web:ref:refs/tag/v*");
    let change = |id: &str, time: &str, who: &str, policy: &Value| {
        trust_change(
            &format!("arn:aws:iam::111122223333:user/{who}"),
            id,
            time,
            "gha-release",
            policy,
        )
    };
    let role = "arn:aws:iam::111122223333:role/gha-release";
    t.log_gz(
        "AWSLogs/111122223333/CloudTrail/us-east-1/2026/10/02/a.json.gz",
        &[
            change("c1", "2026-10-02T10:30:00Z", "alice", &broken),
            WebId::denied(
                "f1",
                "2026-10-02T10:32:05Z",
                role,
                "repo:acme/web:ref:refs/tags/v2.4.0",
            )
            .record(),
            WebId::denied(
                "f2",
                "2026-10-02T10:32:09Z",
                role,
                "repo:acme/web:ref:refs/tags/v2.4.0",
            )
            .record(),
            change("c2", "2026-10-02T11:05:00Z", "bob", &good),
        ],
    );
    t.json(
        "iam/111122223333-authorization-details.json",
        &auth_details(ACCT, &[("gha-release", good.clone())]),
    );
    let run = trailwhy(&["explain", t.path().to_str().unwrap(), "--format", "ndjson"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let f = run.findings();
    let f = only(&f);
    assert_eq!(f["cause"], "sub_pattern_mismatch");
    assert_eq!(f["count"], 2);
    assert_eq!(
        f["evidence"][0]["expected"],
        json!(["repo:acme/web:ref:refs/tag/v*"])
    );
    // bob's version, in force now, accepts the token: patching the broken one would undo it
    assert_eq!(f["fixes"], json!([]));
    assert!(f["fix"]
        .as_str()
        .unwrap()
        .starts_with("Nothing to change in the trust policy: the version set at 2026-10-02T11:05:00Z by arn:aws:iam::111122223333:user/bob"));
    let why = f["explanation"].as_str().unwrap();
    assert!(
        why.contains("arn:aws:iam::111122223333:user/alice"),
        "{why}"
    );
    assert!(
        why.contains("2026-10-02T11:05:00Z by arn:aws:iam::111122223333:user/bob"),
        "{why}"
    );
    assert!(why.contains("would allow this token"), "{why}");
    assert_eq!(f["details"]["trust_policy_set_by"]["event_id"], "c1");
}

#[test]
fn failure_before_any_recorded_policy_version_is_no_policy_data() {
    let t = Tree::new();
    let good = sub_trust("StringEquals", MAIN);
    t.log_gz(
        "l/a.json",
        &[
            WebId::denied("f1", "2026-10-02T09:00:00Z", ROLE, MAIN).record(),
            trust_change(
                "arn:aws:iam::111122223333:user/bob",
                "c1",
                "2026-10-02T10:00:00Z",
                "gha-deploy",
                &good,
            ),
        ],
    );
    t.json(
        "iam/a.json",
        &auth_details(ACCT, &[("gha-deploy", good.clone())]),
    );
    let run = trailwhy(&[
        "explain",
        t.path().join("l").to_str().unwrap(),
        "--iam",
        t.path().join("iam").to_str().unwrap(),
        "--format",
        "ndjson",
    ]);
    let f = run.findings();
    let f = only(&f);
    assert_eq!(f["cause"], "no_policy_data");
    assert!(
        f["explanation"].as_str().unwrap().contains("trust_allows"),
        "{}",
        f["explanation"]
    );
}

#[test]
fn successes_are_not_findings_and_tokens_never_printed() {
    let ok = WebId::assumed("s1", "2026-10-01T10:00:00Z", ROLE, MAIN);
    let t = Tree::new();
    t.log_gz(
        "l/a.json.gz",
        &[ok.record(), denied("a1", "repo:acme/web:pull_request")],
    );
    for format in ["ndjson", "json", "table"] {
        let run = trailwhy(&["explain", t.path().to_str().unwrap(), "--format", format]);
        assert_eq!(run.code, 0);
        assert!(!run.stdout.contains("TOPSECRET"), "{format}");
        assert!(!run.stderr.contains("TOPSECRET"), "{format}");
    }
    let run = trailwhy(&["explain", t.path().to_str().unwrap(), "--format", "json"]);
    let v = run.json();
    assert_eq!(v["findings"].as_array().unwrap().len(), 1);
    assert_eq!(v["summary"]["records_scanned"], 2);
    assert_eq!(v["summary"]["files_read"], 1);
}

#[test]
fn retries_of_different_roles_are_separate_findings_sorted_by_time() {
    let other = "arn:aws:iam::111122223333:role/gha-other";
    let recs = vec![
        WebId::denied(
            "b1",
            "2026-10-01T11:00:00Z",
            other,
            "repo:acme/web:pull_request",
        )
        .record(),
        WebId::denied(
            "a1",
            "2026-10-01T10:00:00Z",
            ROLE,
            "repo:acme/web:pull_request",
        )
        .record(),
        WebId::denied(
            "a2",
            "2026-10-01T10:00:05Z",
            ROLE,
            "repo:acme/web:pull_request",
        )
        .record(),
    ];
    let p = sub_trust("StringEquals", MAIN);
    let f = explain(&recs, &[("gha-deploy", p.clone()), ("gha-other", p)]);
    assert_eq!(f.len(), 2);
    assert_eq!(f[0]["role_arn"], ROLE);
    assert_eq!(f[0]["count"], 2);
    assert_eq!(f[0]["event_ids"], json!(["a1", "a2"]));
    assert_eq!(f[1]["role_arn"], other);
}

#[test]
fn role_not_found_names_other_accounts_holding_the_role() {
    let t = Tree::new();
    let rec = WebId::denied(
        "a1",
        "2026-10-01T10:00:00Z",
        "arn:aws:iam::111122223333:role/gha-prod",
        MAIN,
    )
    .record();
    t.log_gz("l/a.json.gz", &[rec]);
    t.json(
        "iam/a.json",
        &auth_details(ACCT, &[("unrelated-role-name", trust(json!({})))]),
    );
    t.json(
        "iam/b.json",
        &auth_details("444455556666", &[("gha-prod", trust(json!({})))]),
    );
    let run = trailwhy(&["explain", t.path().to_str().unwrap(), "--format", "ndjson"]);
    let f = run.findings();
    let f = only(&f);
    assert_eq!(f["cause"], "role_not_found");
    assert_eq!(f["details"]["accounts_with_role"], json!(["444455556666"]));
    assert!(f["fix"].as_str().unwrap().contains("444455556666"));
}

/// Two retries of one job that differ only in their source address are judged apart: the
/// verdict cache's key holds the request's network facts.
#[test]
fn retries_from_another_address_are_judged_on_their_own_address() {
    let policy = trust(json!({
        "StringEquals": {"token.actions.githubusercontent.com:sub": "repo:acme/web:ref:refs/heads/main"},
        "IpAddress": {"aws:SourceIp": "10.0.0.0/8"}
    }));
    let role = "arn:aws:iam::111122223333:role/deploy";
    let sub = "repo:acme/web:ref:refs/heads/main";
    let mut outside = WebId::denied("e1", "2026-10-01T10:00:00Z", role, sub).record();
    outside["sourceIPAddress"] = json!("203.0.113.5");
    let mut inside = WebId::denied("e2", "2026-10-01T10:00:05Z", role, sub).record();
    inside["sourceIPAddress"] = json!("10.1.2.3");
    let findings = explain_once(&[outside, inside], &[("deploy", policy)]);
    let got: Vec<(String, Value)> = findings
        .iter()
        .map(|f| {
            (
                f["cause"].as_str().unwrap().to_owned(),
                f["event_ids"].clone(),
            )
        })
        .collect();
    assert_eq!(
        got,
        [
            ("condition_not_met".to_owned(), json!(["e1"])),
            ("trust_allows".to_owned(), json!(["e2"]))
        ]
    );
    assert!(findings[0]["explanation"]
        .as_str()
        .unwrap()
        .contains("the request carried \"203.0.113.5\""));
}
