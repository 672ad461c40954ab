//! Denied calls of role sessions, through the real binary: every ECR cause code, with the
//! web-identity assumption and the failure in different files and regions, asserting cause,
//! sub, role_arn, action, resource and the suggested statement.
#![allow(clippy::unwrap_used, clippy::expect_used, reason = "tests")]

mod common;

use common::*;
use serde_json::{json, Value};

const ROLE: &str = "arn:aws:iam::111122223333:role/gha-web";
const SESSION: &str = "arn:aws:sts::111122223333:assumed-role/gha-web/GitHubActions";
const SUB: &str = "repo:acme/web:environment:production";
const KEY: &str = "ASIAS1";
const WEB: &str = "arn:aws:ecr:eu-west-1:111122223333:repository/web";

/// The successful assumption of gha-web in us-east-1 whose key the failing calls sign with.
fn assumption() -> Value {
    let w = WebId::assumed("s1", "2026-10-01T10:00:00Z", ROLE, SUB);
    assert_eq!(w.key(), KEY);
    w.record()
}

/// A call of the gha-web session in eu-west-1, a minute after its assumption.
fn session_call(id: &str, source: &str, name: &str) -> Event {
    Event::call(
        Who::session(ROLE, KEY),
        id,
        "2026-10-01T10:01:00Z",
        source,
        name,
    )
    .region("eu-west-1")
}

/// ECR `action` on `repository` (an ARN, whose account is the registry), or on none.
fn ecr_call(action: &str, repository: Option<&str>) -> Event {
    let params = match repository {
        Some(arn) => {
            let registry = arn.split(':').nth(4).unwrap();
            let (_, name) = arn.split_once(":repository/").unwrap();
            json!({"registryId": registry, "repositoryName": name})
        }
        None => json!({}),
    };
    session_call("e1", "ecr.amazonaws.com", action).request(params)
}

/// ECR `action` on `repository`, denied (`AccessDenied`) with AWS's message ending in `tail`.
fn ecr_denied(action: &str, repository: &str, tail: &str) -> Value {
    ecr_call(action, Some(repository))
        .error("AccessDenied", &msg(action, repository, tail))
        .record()
}

/// The end of AWS's message when no policy of `kind` (`identity-based`, …) allows ECR `action`.
fn no_allow(kind: &str, action: &str) -> String {
    format!("because no {kind} policy allows the ecr:{action} action")
}

fn msg(action: &str, resource: &str, tail: &str) -> String {
    format!(
        "User: {SESSION} is not authorized to perform: ecr:{action} on resource: {resource} {tail}"
    )
}

fn role_with(inline: Value, boundary: Option<&str>) -> Value {
    let mut d = auth_details(
        ACCT,
        &[(
            "gha-web",
            trust(
                json!({"StringLike": {"token.actions.githubusercontent.com:sub": "repo:acme/web:*"}}),
            ),
        )],
    );
    d["RoleDetailList"][0]["RolePolicyList"] =
        json!([{"PolicyName": "ecr", "PolicyDocument": inline}]);
    if let Some(b) = boundary {
        d["RoleDetailList"][0]["PermissionsBoundary"] =
            json!({"PermissionsBoundaryType": "Policy", "PermissionsBoundaryArn": b});
    }
    d
}

fn allow(actions: Value, resource: Value) -> Value {
    json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": actions, "Resource": resource}]})
}

/// Assumption in one file (us-east-1), failure in another (eu-west-1), inventory given — after
/// checking that every verified fix that edits only the role's inline policies, applied to
/// the inventory, lets the call pass (the tool's own verdict `identity_allows`).
fn explain(failure: Value, inventory: Option<Value>, extra_iam: &[(&str, Value)]) -> Value {
    let f = explain_once(failure.clone(), inventory.clone(), extra_iam);
    for fix in f["fixes"].as_array().unwrap() {
        let changes: Vec<Value> = std::iter::once(fix.clone())
            .chain(fix["also"].as_array().cloned().unwrap_or_default())
            .collect();
        let inline = |c: &Value| {
            c["kind"] == "identity_policy"
                && c["target"]
                    .as_str()
                    .unwrap()
                    .starts_with(&format!("{ROLE}#inline:"))
        };
        if fix["verified"] != "allows" || !changes.iter().all(inline) {
            continue;
        }
        let mut inv = inventory.clone().unwrap();
        for c in &changes {
            let name = c["target"]
                .as_str()
                .unwrap()
                .split_once("#inline:")
                .unwrap()
                .1;
            let list = inv["RoleDetailList"][0]["RolePolicyList"]
                .as_array_mut()
                .unwrap();
            match list.iter_mut().find(|p| p["PolicyName"] == name) {
                Some(p) => p["PolicyDocument"] = c["document"].clone(),
                None => list.push(json!({"PolicyName": name, "PolicyDocument": c["document"]})),
            }
        }
        let again = explain_once(failure.clone(), Some(inv), extra_iam);
        // AWS's message still says denied and stands; the tool's own verdict is under it
        let ours = again["details"]["inventory_contradicts_aws"]["inventory_verdict"]
            .as_str()
            .unwrap_or(again["cause"].as_str().unwrap())
            .to_owned();
        assert_eq!(ours, "identity_allows", "{} fixed by {fix:#}", f["cause"]);
    }
    f
}

fn explain_once(failure: Value, inventory: Option<Value>, extra_iam: &[(&str, Value)]) -> Value {
    let t = Tree::new();
    t.log_gz(
        "AWSLogs/111122223333/CloudTrail/us-east-1/2026/10/01/a.json.gz",
        &[assumption()],
    );
    t.log_gz(
        "AWSLogs/111122223333/CloudTrail/eu-west-1/2026/10/01/b.json.gz",
        &[failure],
    );
    if let Some(inv) = inventory {
        t.json("iam/111122223333-authorization-details.json", &inv);
    }
    for (name, v) in extra_iam {
        t.json(&format!("iam/{name}"), v);
    }
    let run = trailwhy(&["explain", t.path().to_str().unwrap(), "--format", "ndjson"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let f = run.findings();
    assert_eq!(f.len(), 1, "{f:#?}");
    let f = f.into_iter().next().unwrap();
    assert_eq!(f["sub"], SUB, "the session is joined to its assumption");
    assert_eq!(f["role_arn"], ROLE);
    assert_eq!(f["details"]["session"]["joined"], true);
    assert_eq!(f["details"]["session"]["assumed_in_region"], "us-east-1");
    f
}

fn push_policy() -> Value {
    allow(
        json!([
            "ecr:BatchCheckLayerAvailability",
            "ecr:InitiateLayerUpload",
            "ecr:UploadLayerPart",
            "ecr:CompleteLayerUpload",
            "ecr:PutImage"
        ]),
        json!(WEB),
    )
}

#[test]
fn push_to_a_repository_the_role_does_not_cover() {
    let api = "arn:aws:ecr:eu-west-1:111122223333:repository/api";
    let f = explain(
        ecr_denied(
            "InitiateLayerUpload",
            api,
            &no_allow("identity-based", "InitiateLayerUpload"),
        ),
        Some(role_with(push_policy(), None)),
        &[],
    );
    assert_eq!(f["cause"], "identity_policy_wrong_resource");
    assert_eq!(f["action"], "ecr:InitiateLayerUpload");
    assert_eq!(f["resource"], api);
    assert_eq!(f["evidence"][0]["expected"], json!([WEB]));
    let fix = f["fix"].as_str().unwrap();
    assert!(fix.contains(&format!("[\"{WEB}\",\"{api}\"]")), "{fix}");
    assert!(f["explanation"]
        .as_str()
        .unwrap()
        .contains("repository/api instead of repository/web"));
}

#[test]
fn push_in_another_region_names_the_region() {
    let other = "arn:aws:ecr:us-west-2:111122223333:repository/web";
    let tail = no_allow("identity-based", "PutImage");
    let fail = ecr_call("PutImage", Some(other))
        .error("AccessDeniedException", &msg("PutImage", other, &tail))
        .region("us-west-2")
        .record();
    let f = explain(fail, Some(role_with(push_policy(), None)), &[]);
    assert_eq!(f["cause"], "identity_policy_wrong_resource");
    assert!(
        f["explanation"]
            .as_str()
            .unwrap()
            .contains("region us-west-2 instead of eu-west-1"),
        "{}",
        f["explanation"]
    );
}

#[test]
fn no_push_permission_at_all() {
    let f = explain(
        ecr_denied(
            "InitiateLayerUpload",
            WEB,
            &no_allow("identity-based", "InitiateLayerUpload"),
        ),
        Some(role_with(
            allow(
                json!(["ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"]),
                json!("*"),
            ),
            None,
        )),
        &[],
    );
    assert_eq!(f["cause"], "identity_policy_no_allow");
    let fix = f["fix"].as_str().unwrap();
    assert!(
        fix.contains("\"ecr:InitiateLayerUpload\"") && fix.contains(WEB),
        "{fix}"
    );
    assert_eq!(
        f["evidence"][0]["expected"],
        json!(["ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"])
    );
}

#[test]
fn get_authorization_token_scoped_to_a_repository() {
    let m = format!("User: {SESSION} is not authorized to perform: ecr:GetAuthorizationToken on resource: * because no identity-based policy allows the ecr:GetAuthorizationToken action");
    let f = explain(
        ecr_call("GetAuthorizationToken", None)
            .error("AccessDeniedException", &m)
            .record(),
        Some(role_with(
            allow(json!("ecr:GetAuthorizationToken"), json!(WEB)),
            None,
        )),
        &[],
    );
    assert_eq!(f["cause"], "get_authorization_token_scoped");
    assert_eq!(f["resource"], "*");
    assert!(f["fix"]
        .as_str()
        .unwrap()
        .contains(r#"{"Action":["ecr:GetAuthorizationToken"],"Effect":"Allow","Resource":"*"}"#));
}

#[test]
fn explicit_deny_in_identity_policy() {
    let policy = json!({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": "ecr:*", "Resource": "*"},
        {"Sid": "NoProdPush", "Effect": "Deny", "Action": "ecr:PutImage", "Resource": WEB}]});
    let f = explain(
        ecr_denied(
            "PutImage",
            WEB,
            "with an explicit deny in an identity-based policy",
        ),
        Some(role_with(policy, None)),
        &[],
    );
    assert_eq!(f["cause"], "identity_explicit_deny");
    assert_eq!(f["evidence"][0]["statement"], "1");
    assert_eq!(f["evidence"][0]["sid"], "NoProdPush");
}

#[test]
fn same_account_repository_the_message_names_the_resource_layer() {
    let f = explain(
        ecr_denied("PutImage", WEB, &no_allow("resource-based", "PutImage")),
        Some(role_with(allow(json!("ecr:*"), json!("*")), None)),
        &[],
    );
    assert_eq!(f["cause"], "resource_policy_no_allow");
    assert_eq!(
        f["explanation"],
        format!("ecr:PutImage on {WEB}: the resource policy must grant the caller, and no resource-based policy allows it.")
    );
}

#[test]
fn cross_account_registry_without_repository_policy() {
    let shared = "arn:aws:ecr:eu-west-1:444455556666:repository/shared/base";
    let f = explain(
        ecr_denied(
            "InitiateLayerUpload",
            shared,
            &no_allow("resource-based", "InitiateLayerUpload"),
        ),
        Some(role_with(allow(json!("ecr:*"), json!("*")), None)),
        &[],
    );
    assert_eq!(f["cause"], "resource_policy_no_allow");
    assert_eq!(
        f["explanation"],
        format!("ecr:InitiateLayerUpload on {shared} is a cross-account call (from 111122223333 to 444455556666), so the resource policy must grant the caller, and no resource-based policy allows it.")
    );
    let fix = f["fix"].as_str().unwrap();
    assert!(
        fix.contains(&format!("\"Principal\":{{\"AWS\":\"{ROLE}\"}}")),
        "{fix}"
    );
    assert!(
        fix.contains("shared/base") && fix.contains("444455556666"),
        "{fix}"
    );
}

#[test]
fn deny_in_repository_policy() {
    let f = explain(
        ecr_denied(
            "PutImage",
            WEB,
            "with an explicit deny in a resource-based policy",
        ),
        Some(role_with(push_policy(), None)),
        &[],
    );
    assert_eq!(f["cause"], "resource_policy_deny");
}

#[test]
fn permissions_boundary_without_the_action() {
    let mut inv = role_with(
        push_policy(),
        Some("arn:aws:iam::111122223333:policy/ci-boundary"),
    );
    inv["Policies"] = json!([{"PolicyName": "ci-boundary", "Arn": "arn:aws:iam::111122223333:policy/ci-boundary", "DefaultVersionId": "v1",
        "PolicyVersionList": [{"VersionId": "v1", "IsDefaultVersion": true, "Document": allow(json!("ecr:BatchGetImage"), json!("*"))}]}]);
    let f = explain(
        ecr_denied(
            "PutImage",
            WEB,
            "because no permissions boundary allows the ecr:PutImage action",
        ),
        Some(inv.clone()),
        &[],
    );
    assert_eq!(f["cause"], "permissions_boundary");
    assert!(f["explanation"].as_str().unwrap().contains("ci-boundary"));
    // The same without the message's phrase: our own evaluation finds the boundary.
    let f = explain(
        ecr_call("PutImage", Some(WEB))
            .error("AccessDenied", "Access denied")
            .record(),
        Some(inv),
        &[],
    );
    assert_eq!(f["cause"], "permissions_boundary");
}

#[test]
fn layers_named_only_by_the_message() {
    let cases = [
        (
            "with an explicit deny in a service control policy",
            "org_policy",
        ),
        (
            "because no service control policy allows the ecr:PutImage action",
            "org_policy",
        ),
        (
            "with an explicit deny in a resource control policy",
            "org_policy",
        ),
        (
            "because no session policy allows the ecr:PutImage action",
            "session_policy",
        ),
        (
            "because no VPC endpoint policy allows the ecr:PutImage action",
            "vpc_endpoint_policy",
        ),
    ];
    for (tail, cause) in cases {
        let f = explain(ecr_denied("PutImage", WEB, tail), None, &[]);
        assert_eq!(f["cause"], cause, "{tail}");
        assert_eq!(f["action"], "ecr:PutImage");
        assert_eq!(f["resource"], WEB);
    }
}

#[test]
fn allowed_by_the_role_points_elsewhere() {
    let f = explain(
        ecr_call("PutImage", Some(WEB))
            .error("AccessDenied", "Access denied")
            .record(),
        Some(role_with(push_policy(), None)),
        &[],
    );
    assert_eq!(f["cause"], "identity_allows");
}

#[test]
fn unknown_role_policies_give_no_policy_data() {
    let f = explain(
        ecr_denied(
            "InitiateLayerUpload",
            WEB,
            &no_allow("identity-based", "InitiateLayerUpload"),
        ),
        None,
        &[],
    );
    assert_eq!(f["cause"], "no_policy_data");
    assert!(f["fix"].as_str().unwrap().contains("111122223333"));
}

#[test]
fn missing_assumption_falls_back_to_role_and_session_name() {
    let t = Tree::new();
    t.log_gz(
        "b.json.gz",
        &[ecr_denied(
            "PutImage",
            WEB,
            "with an explicit deny in a service control policy",
        )],
    );
    let run = trailwhy(&["explain", t.path().to_str().unwrap(), "--format", "ndjson"]);
    let f = &run.findings()[0];
    assert_eq!(f["cause"], "org_policy");
    assert_eq!(f["role_arn"], ROLE);
    assert_eq!(f["session_name"], "GitHubActions");
    assert_eq!(f["sub"], Value::Null);
    assert_eq!(f["details"]["session"]["joined"], false);
    assert!(f["details"]["session"]["note"]
        .as_str()
        .unwrap()
        .contains("not in the scanned window"));
}

#[test]
fn repository_policy_history_from_events_decides_the_resource_layer() {
    // same-account repository whose policy was set (granting nobody) then deleted
    let set = Event::change(
        "arn:aws:iam::111122223333:user/ops",
        "c1",
        "2026-10-01T09:00:00Z",
        "ecr.amazonaws.com",
        "DeleteRepositoryPolicy",
        json!({"repositoryName": "web", "registryId": ACCT}),
    )
    .region("eu-west-1")
    .record();
    let t = Tree::new();
    t.log_gz("a.json.gz", &[assumption(), set]);
    let cross = "arn:aws:ecr:eu-west-1:111122223333:repository/web";
    let mut fail = ecr_denied("PutImage", cross, &no_allow("resource-based", "PutImage"));
    fail["userIdentity"]["arn"] =
        json!("arn:aws:sts::999900001111:assumed-role/gha-web/GitHubActions");
    t.log_gz("b.json.gz", &[fail]);
    let run = trailwhy(&["explain", t.path().to_str().unwrap(), "--format", "ndjson"]);
    let f = &run.findings()[0];
    assert_eq!(f["cause"], "resource_policy_no_allow");
    assert!(
        f["explanation"]
            .as_str()
            .unwrap()
            .contains("deleted at 2026-10-01T09:00:00Z by arn:aws:iam::111122223333:user/ops"),
        "{}",
        f["explanation"]
    );
}

#[test]
fn chained_assume_role_cases() {
    let target = "arn:aws:iam::444455556666:role/prod-deployer";
    let chain = |id: &str, code: &str, message: &str, tags: bool, duration: u64| -> Value {
        let mut request =
            json!({"roleArn": target, "roleSessionName": "deploy", "durationSeconds": duration});
        if tags {
            request["tags"] = json!([{"key": "Repo", "value": "acme/web"}]);
            request["transitiveTagKeys"] = json!(["Repo"]);
        }
        session_call(id, "sts.amazonaws.com", "AssumeRole")
            .error(code, message)
            .request(request)
            .record()
    };
    let prod = |actions: Value, principal: &str| {
        auth_details(
            "444455556666",
            &[(
                "prod-deployer",
                json!({"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":principal},"Action":actions}]}),
            )],
        )
    };
    let inv = role_with(allow(json!("sts:AssumeRole"), json!(target)), None);
    // trust allows AssumeRole only, request carries tags
    let m = format!(
        "User: {SESSION} is not authorized to perform: sts:TagSession on resource: {target}"
    );
    let f = explain(
        chain("c1", "AccessDenied", &m, true, 3600),
        Some(inv.clone()),
        &[("prod.json", prod(json!("sts:AssumeRole"), ROLE))],
    );
    assert_eq!(f["cause"], "chained_tag_session_not_allowed");
    assert_eq!(f["resource"], target);
    // not passing tags admits nothing new: first; trusting the role for sts:TagSession second
    let fixes = f["fixes"].as_array().unwrap();
    assert_eq!(fixes.len(), 2, "{fixes:#?}");
    assert_eq!(fixes[0]["kind"], "workflow");
    assert!(f["fix"]
        .as_str()
        .unwrap()
        .contains("role-skip-session-tagging: true"));
    // AWS wants sts:TagSession on both sides of a cross-account chain: the role's own policy
    // (it allows only sts:AssumeRole) and the target's trust policy, in one fix
    let changes: Vec<&Value> = std::iter::once(&fixes[1])
        .chain(fixes[1]["also"].as_array().unwrap())
        .collect();
    let kinds: Vec<&str> = changes
        .iter()
        .map(|c| c["kind"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["identity_policy", "trust_policy"], "{fixes:#?}");
    assert_eq!(changes[0]["target"], format!("{ROLE}#inline:ecr"));
    assert_eq!(changes[1]["target"], target);
    assert_eq!(fixes[1]["verified"], "allows");
    let added = changes[1]["document"]["Statement"]
        .as_array()
        .unwrap()
        .last()
        .unwrap()
        .clone();
    assert_eq!(added["Action"], json!(["sts:AssumeRole", "sts:TagSession"]));
    assert_eq!(added["Principal"]["AWS"], ROLE);
    // trust does not name the calling role
    let m = format!(
        "User: {SESSION} is not authorized to perform: sts:AssumeRole on resource: {target}"
    );
    let f = explain(
        chain("c2", "AccessDenied", &m, false, 3600),
        Some(inv.clone()),
        &[(
            "prod.json",
            prod(
                json!("sts:AssumeRole"),
                "arn:aws:iam::111122223333:role/other",
            ),
        )],
    );
    assert_eq!(f["cause"], "chained_principal_not_trusted");
    assert_eq!(
        f["evidence"][0]["expected"],
        json!(["arn:aws:iam::111122223333:role/other"])
    );
    // chained sessions are limited to one hour
    let f = explain(
        chain("c3", "ValidationError", "The requested DurationSeconds exceeds the 1 hour session limit for roles assumed by role chaining.", false, 7200),
        Some(inv),
        &[],
    );
    assert_eq!(f["cause"], "chained_duration_exceeds_one_hour");
}

#[test]
fn policy_attached_after_the_failure_does_not_count_for_it() {
    // The snapshot (now) has the push policy attached; the attachment happened after the failure.
    let mut inv = role_with(allow(json!("ecr:GetAuthorizationToken"), json!("*")), None);
    inv["RoleDetailList"][0]["AttachedManagedPolicies"] =
        json!([{"PolicyName": "push", "PolicyArn": "arn:aws:iam::111122223333:policy/push"}]);
    inv["Policies"] = json!([{"PolicyName": "push", "Arn": "arn:aws:iam::111122223333:policy/push", "DefaultVersionId": "v1",
        "PolicyVersionList": [{"VersionId": "v1", "IsDefaultVersion": true, "Document": push_policy()}]}]);
    let attach = Event::change(
        "arn:aws:iam::111122223333:user/carol",
        "att1",
        "2026-10-01T10:30:00Z",
        "iam.amazonaws.com",
        "AttachRolePolicy",
        json!({"roleName": "gha-web", "policyArn": "arn:aws:iam::111122223333:policy/push"}),
    )
    .record();
    let t = Tree::new();
    t.log_gz("a.json.gz", &[assumption(), attach]);
    t.log_gz(
        "b.json.gz",
        &[ecr_denied(
            "PutImage",
            WEB,
            &no_allow("identity-based", "PutImage"),
        )],
    );
    t.json("iam/111122223333-authorization-details.json", &inv);
    let run = trailwhy(&["explain", t.path().to_str().unwrap(), "--format", "ndjson"]);
    let f = &run.findings()[0];
    assert_eq!(f["cause"], "identity_policy_no_allow", "{f:#}");
    let why = f["explanation"].as_str().unwrap();
    assert!(
        why.contains(
            "2026-10-01T10:30:00Z by arn:aws:iam::111122223333:user/carol (AttachRolePolicy)"
        ),
        "{why}"
    );
    assert_eq!(f["details"]["policies_evaluated"], json!(["inline:ecr"]));
    // a fix is applied today: the policy carol attached already allows the push
    assert_eq!(f["fixes"], json!([]));
    assert!(
        f["fix"]
            .as_str()
            .unwrap()
            .starts_with("Nothing to change: role gha-web's policies as they stand now"),
        "{}",
        f["fix"]
    );
}

#[test]
fn any_service_is_explained_the_same_way() {
    let bucket_obj = "arn:aws:s3:::acme-artifacts/build/app.zip";
    let r = session_call("s3e", "s3.amazonaws.com", "GetObject")
        .error("AccessDenied", &format!("User: {SESSION} is not authorized to perform: s3:GetObject on resource: \"{bucket_obj}\" because no identity-based policy allows the s3:GetObject action"))
        .request(json!({}))
        .set("resources", json!([{"type": "AWS::S3::Object", "ARN": bucket_obj}]))
        .record();
    let f = explain(
        r,
        Some(role_with(
            allow(json!("s3:GetObject"), json!("arn:aws:s3:::acme-cache/*")),
            None,
        )),
        &[],
    );
    assert_eq!(f["cause"], "identity_policy_wrong_resource");
    assert_eq!(f["action"], "s3:GetObject");
    assert_eq!(f["resource"], bucket_obj);
    assert_eq!(
        f["evidence"][0]["expected"],
        json!(["arn:aws:s3:::acme-cache/*"])
    );
}
