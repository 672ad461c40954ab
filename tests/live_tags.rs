//! `--iam-live` gives the request context what the APIs hold: a role's tags
//! (`GetAccountAuthorizationDetails`) and a repository's tags (ECR `ListTagsForResource`), read
//! from a real local server (moto) through the AWS SDK, so a tag condition is judged on the
//! values AWS had, with `value_source` `inventory`. Its own test binary: its own moto, whose IAM
//! state no other test sees.
#![allow(clippy::unwrap_used, clippy::expect_used, reason = "tests")]

mod aws;
mod common;

use common::*;
use serde_json::{json, Value};

const ROLE: &str = "arn:aws:iam::111122223333:role/ci/gha-abac";

#[test]
fn iam_live_reads_role_and_repository_tags_for_tag_conditions() {
    let Some(moto) = aws::moto() else { return };
    aws::python(
        &moto.url,
        r#"
import boto3, os, json
iam = boto3.client("iam", endpoint_url=os.environ["ENDPOINT"])
trust = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow",
    "Principal": {"Federated": "arn:aws:iam::111122223333:oidc-provider/token.actions.githubusercontent.com"},
    "Action": "sts:AssumeRoleWithWebIdentity"}]}
iam.create_role(RoleName="gha-abac", Path="/ci/", AssumeRolePolicyDocument=json.dumps(trust),
                Tags=[{"Key": "team", "Value": "web"}])
policy = {"Version": "2012-10-17", "Statement": [
    {"Effect": "Allow", "Action": "ecr:*", "Resource": "*",
     "Condition": {"StringEquals": {"aws:ResourceTag/team": "web"}}}]}
iam.put_role_policy(RoleName="gha-abac", PolicyName="abac", PolicyDocument=json.dumps(policy))
ecr = boto3.client("ecr", endpoint_url=os.environ["ENDPOINT"], region_name="eu-west-1")
ecr.create_repository(repositoryName="web", tags=[{"Key": "team", "Value": "web"}])
ecr.create_repository(repositoryName="api", tags=[{"Key": "team", "Value": "api"}])
"#,
    );
    let w = WebId::assumed(
        "s1",
        "2026-10-01T10:00:00Z",
        ROLE,
        "repo:acme/web:ref:refs/heads/main",
    );
    let push = |id: &str, repo: &str| -> Value {
        Event::call(
            Who::session(ROLE, &w.key()),
            id,
            "2026-10-01T10:01:00Z",
            "ecr.amazonaws.com",
            "PutImage",
        )
        .region("eu-west-1")
        .request(json!({"registryId": ACCT, "repositoryName": repo}))
        .set("errorCode", json!("AccessDenied"))
        .record()
    };
    let tree = Tree::new();
    let log = tree.log_gz(
        "trail.json.gz",
        &[w.record(), push("c-api", "api"), push("c-web", "web")],
    );
    let mut args = vec![
        "explain",
        log.to_str().unwrap(),
        "--iam-live",
        "--endpoint-url",
        &moto.url,
        "--format",
        "json",
    ];
    let run = trailwhy_env(&args, &aws::aws_env());
    assert_eq!(run.code, 0, "{}", run.stderr);
    let report = run.json();
    let finding = |id: &str| -> Value {
        report["findings"]
            .as_array()
            .unwrap()
            .iter()
            .find(|f| f["event_ids"][0] == id)
            .cloned()
            .unwrap_or_else(|| panic!("no finding of {id}: {report}"))
    };
    let api = finding("c-api");
    assert_eq!(api["cause"], "identity_policy_no_allow", "{api}");
    assert_eq!(api["role_arn"], ROLE);
    let tag = api["evidence"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["key"] == "aws:ResourceTag/team")
        .unwrap_or_else(|| panic!("no tag evidence: {api}"));
    assert_eq!(tag["actual"], "api");
    assert_eq!(tag["value_source"], "inventory");
    let web = finding("c-web");
    assert_eq!(web["cause"], "identity_allows", "{web}");

    // without the live inventory the repository's tags are unknown: no verdict is claimed
    args.retain(|a| *a != "--iam-live");
    let iam = tree.path().join("iam.json");
    std::fs::write(
        &iam,
        json!({"RoleDetailList": [{"RoleName": "gha-abac", "Path": "/ci/", "Arn": ROLE,
            "AssumeRolePolicyDocument": null, "RolePolicyList": [{"PolicyName": "abac",
            "PolicyDocument": {"Version": "2012-10-17", "Statement": [{"Effect": "Allow",
            "Action": "ecr:*", "Resource": "*",
            "Condition": {"StringEquals": {"aws:ResourceTag/team": "web"}}}]}}],
            "AttachedManagedPolicies": [], "Tags": []}], "Policies": []})
        .to_string(),
    )
    .unwrap();
    let iam_arg = iam.to_str().unwrap().to_owned();
    args.extend(["--iam", &iam_arg]);
    let run = trailwhy_env(&args, &aws::aws_env());
    assert_eq!(run.code, 0, "{}", run.stderr);
    let report = run.json();
    for f in report["findings"].as_array().unwrap() {
        assert_eq!(f["cause"], "unverifiable_context_condition", "{f}");
    }
    assert_eq!(report["findings"].as_array().unwrap().len(), 2);
}
