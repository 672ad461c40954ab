//! CodeBuild-hosted GitHub Actions runners, through the binary: the runner cause from every
//! build input form (batch-get-builds output, EventBridge events as one object, an array and
//! NDJSON, build log text, the live API against moto), the credential in force at each build's
//! start, webhooks without WORKFLOW_JOB_QUEUED, failures not recognised, grouping and
//! deduplication of builds seen in several inputs, and the imported token never printed.
#![allow(clippy::unwrap_used, clippy::expect_used, reason = "tests")]

mod aws;
mod common;

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};

use common::*;
use serde_json::{json, Value};

const PROJECT: &str = "acme-web-runner";
const REGION: &str = "us-east-1";
const PROJECT_ARN: &str = "arn:aws:codebuild:us-east-1:111122223333:project/acme-web-runner";
const JIT: &str = "Error while fetching runner token: error code 400: GitHub runner JIT configuration unavailable: ResourceNotFoundException: Unexpected error from GitHub while creating runner JIT configuration, please try again later";
const ALICE: &str = "arn:aws:iam::111122223333:user/alice";
const BOB: &str = "arn:aws:iam::111122223333:user/bob";
const TOKEN: &str = "PATSECRETtestonly0123456789";

/// The seed's build log, exactly.
const SEED_LOG: &str = "[Container] 2025/09/05 06:49:02.098320 Running on CodeBuild On-demand
[Container] 2025/09/05 06:49:02.098330 Waiting for agent ping
[Container] 2025/09/05 06:49:02.199392 Waiting for DOWNLOAD_SOURCE
[Container] 2025/09/05 06:49:02.706838 Phase is DOWNLOAD_SOURCE
[Container] 2025/09/05 06:49:02.707850 CODEBUILD_SRC_DIR=/codebuild/output/src48989638/src
[Container] 2025/09/05 06:49:02.707969 YAML location is /codebuild/readonly/buildspec.yml
[Container] 2025/09/05 06:49:02.710408 Processing environment variables
[Container] 2025/09/05 06:49:02.846944 No runtime version selected in buildspec.
[Container] 2025/09/05 06:49:10.480905 Error while fetching runner token: error code 400: GitHub runner JIT configuration unavailable: ResourceNotFoundException: Unexpected error from GitHub while creating runner JIT configuration, please try again later
[Container] 2025/09/05 06:49:10.480928 Phase complete: DOWNLOAD_SOURCE State: FAILED
[Container] 2025/09/05 06:49:10.480942 Phase context status code: CLIENT_ERROR Message: Error while fetching runner token: error code 400: GitHub runner JIT configuration unavailable: ResourceNotFoundException: Unexpected error from GitHub while creating runner JIT configuration, please try again later
";

fn build_id(n: u32) -> String {
    format!("{PROJECT}:00000000-0000-4000-8000-{n:012}")
}

fn build_arn(n: u32) -> String {
    format!("arn:aws:codebuild:{REGION}:{ACCT}:build/{}", build_id(n))
}

/// One element of BatchGetBuilds' `builds` (CLI form): `failed` names the failed phase and
/// its context.
fn api_build(n: u32, start: &str, failed: Option<(&str, &str, &str)>) -> Value {
    let mut phases = vec![
        json!({"phaseType": "SUBMITTED", "phaseStatus": "SUCCEEDED", "startTime": start}),
        json!({"phaseType": "PROVISIONING", "phaseStatus": "SUCCEEDED", "startTime": start}),
    ];
    let status = match failed {
        Some((phase, code, message)) => {
            phases.push(
                json!({"phaseType": phase, "phaseStatus": "FAILED", "startTime": start,
                "contexts": [{"statusCode": code, "message": message}]}),
            );
            "FAILED"
        }
        None => {
            phases.push(
                json!({"phaseType": "BUILD", "phaseStatus": "SUCCEEDED", "startTime": start}),
            );
            "SUCCEEDED"
        }
    };
    json!({"id": build_id(n), "arn": build_arn(n), "startTime": start, "buildStatus": status,
        "projectName": PROJECT, "currentPhase": "COMPLETED", "phases": phases,
        "source": {"type": "GITHUB", "location": "https://github.com/acme/web"}})
}

/// An EventBridge "CodeBuild Build State Change" event; `start` in EventBridge's form.
fn eb_event(n: u32, start: &str, failed: Option<(&str, &str)>) -> Value {
    let mut phases = vec![
        json!({"phase-context": [], "start-time": start, "phase-type": "SUBMITTED", "phase-status": "SUCCEEDED"}),
    ];
    let status = match failed {
        Some((phase, context)) => {
            phases.push(json!({"phase-context": [context], "start-time": start, "phase-type": phase, "phase-status": "FAILED"}));
            "FAILED"
        }
        None => {
            phases.push(json!({"phase-context": [], "start-time": start, "phase-type": "BUILD", "phase-status": "SUCCEEDED"}));
            "SUCCEEDED"
        }
    };
    phases.push(json!({"start-time": start, "phase-type": "COMPLETED"}));
    json!({"version": "0", "id": format!("ev-{n}"), "detail-type": "CodeBuild Build State Change",
        "source": "aws.codebuild", "account": ACCT, "time": "2026-10-05T16:00:00Z", "region": REGION,
        "resources": [build_arn(n)],
        "detail": {"build-status": status, "project-name": PROJECT, "build-id": build_arn(n),
            "additional-information": {"build-start-time": start, "phases": phases,
                "source": {"type": "GITHUB", "location": "https://github.com/acme/web"}},
            "current-phase": "COMPLETED", "current-phase-context": "[: ]", "version": "1"}})
}

/// A CloudTrail record of CodeBuild: `name` called by the IAM user `actor` with `req`.
fn codebuild(id: &str, name: &str, time: &str, actor: &str, req: Value) -> Value {
    Event::change(actor, id, time, "codebuild.amazonaws.com", name, req).record()
}

fn import_pat(id: &str, time: &str) -> Value {
    codebuild(
        id,
        "ImportSourceCredentials",
        time,
        ALICE,
        json!({"serverType": "GITHUB", "authType": "PERSONAL_ACCESS_TOKEN", "username": "alice-acme",
               "token": TOKEN, "shouldOverwrite": true}),
    )
}

fn create_project(id: &str, time: &str) -> Value {
    codebuild(
        id,
        "CreateProject",
        time,
        ALICE,
        json!({"name": PROJECT, "source": {"type": "GITHUB", "location": "https://github.com/acme/web"},
               "artifacts": {"type": "NO_ARTIFACTS"}, "serviceRole": "arn:aws:iam::111122223333:role/cb"}),
    )
}

fn explain(paths: &[&str]) -> Vec<Value> {
    let mut args = vec!["explain"];
    args.extend(paths);
    args.extend(["--format", "ndjson"]);
    let r = trailwhy(&args);
    assert_eq!(r.code, 0, "stderr: {}", r.stderr);
    r.findings()
}

fn summary(paths: &[&str]) -> Value {
    let mut args = vec!["explain"];
    args.extend(paths);
    args.extend(["--format", "json"]);
    let r = trailwhy(&args);
    assert_eq!(r.code, 0, "stderr: {}", r.stderr);
    r.json()["summary"].clone()
}

fn p(path: &std::path::Path) -> &str {
    path.to_str().unwrap()
}

fn ids(f: &Value) -> Vec<&str> {
    f["event_ids"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_str().unwrap())
        .collect()
}

#[test]
fn batch_get_builds_output_gives_the_runner_cause_without_any_cloudtrail() {
    let t = Tree::new();
    let file = t.json(
        "builds.json",
        &json!({"builds": [
            api_build(1, "2026-10-05T13:02:11.482000+00:00", Some(("DOWNLOAD_SOURCE", "CLIENT_ERROR", JIT))),
            api_build(2, "2026-10-05T12:02:11.000000+00:00", None),
        ], "buildsNotFound": []}),
    );
    let f = explain(&[p(&file)]);
    assert_eq!(f.len(), 1, "{f:?}");
    let f = &f[0];
    assert_eq!(f["cause"], "codebuild_runner_credential_lacks_admin");
    assert_eq!(f["event_name"], "CodeBuildBuild");
    assert_eq!(f["error_code"], "CLIENT_ERROR");
    assert_eq!(f["action"], "DOWNLOAD_SOURCE");
    assert_eq!(f["resource"], PROJECT_ARN);
    assert_eq!(f["account"], ACCT);
    assert_eq!(f["region"], REGION);
    assert_eq!(f["count"], 1);
    assert_eq!(f["first_seen"], "2026-10-05T13:02:11.482Z");
    assert_eq!(ids(f), [build_id(1)]);
    assert_eq!(f["error_message"], JIT);
    assert_eq!(f["details"]["credential"], Value::Null);
    let why = f["explanation"].as_str().unwrap();
    assert!(
        why.contains("No CodeBuild credential event for this project"),
        "{why}"
    );
    assert!(why.contains("needs admin on the repository"), "{why}");
    let fix = f["fix"].as_str().unwrap();
    assert!(fix.contains("aws codebuild update-project --name acme-web-runner --source '{\"type\":\"GITHUB\",\"location\":\"https://github.com/acme/web\",\"auth\":{\"type\":\"CODECONNECTIONS\",\"resource\":\"<connection arn>\"}}'"), "{fix}");
    assert!(
        fix.contains("aws codebuild list-source-credentials"),
        "{fix}"
    );
}

#[test]
fn eventbridge_events_as_one_object_an_array_and_ndjson() {
    let failed = |n| {
        eb_event(
            n,
            "Oct 5, 2026 1:02:11 PM",
            Some(("DOWNLOAD_SOURCE", &format!("CLIENT_ERROR: {JIT}"))),
        )
    };
    let t = Tree::new();
    let single = t.json("single/event.json", &failed(1));
    let array = t.json(
        "array/events.json",
        &json!([eb_event(9, "Oct 5, 2026 9:00:00 AM", None), failed(1)]),
    );
    let ndjson = t.bytes(
        "ndjson/events.jsonl",
        format!(
            "{}\n{}\n{}\n",
            eb_event(9, "Oct 5, 2026 9:00:00 AM", None),
            json!({"source": "aws.codebuild", "detail-type": "CodeBuild Report State Change", "detail": {}}),
            failed(1)
        )
        .as_bytes(),
    );
    for file in [single, array, ndjson] {
        let f = explain(&[p(&file)]);
        assert_eq!(f.len(), 1, "{}: {f:?}", file.display());
        assert_eq!(f[0]["cause"], "codebuild_runner_credential_lacks_admin");
        assert_eq!(f[0]["error_code"], "CLIENT_ERROR");
        assert_eq!(f[0]["action"], "DOWNLOAD_SOURCE");
        assert_eq!(f[0]["first_seen"], "2026-10-05T13:02:11Z");
        assert_eq!(ids(&f[0]), [build_id(1)]);
        let s = summary(&[p(&file)]);
        assert_eq!(s["files_read"], 1);
        assert_eq!(s["files_unreadable"], 0);
    }
}

#[test]
fn the_seed_build_log_gives_the_runner_cause_and_other_text_is_skipped_by_design() {
    let t = Tree::new();
    let log = t.bytes(
        "logs/acme-web-runner:0b6f1d3c-4a52-4f0e-8d7e-2c9a51e7b8f4.log",
        SEED_LOG.as_bytes(),
    );
    t.bytes("logs/notes.txt", b"deploy checklist\n- rotate keys\n");
    t.bytes("logs/gz.log.gz", &gzip(SEED_LOG.as_bytes()));
    let f = explain(&[p(&log)]);
    assert_eq!(f.len(), 1);
    assert_eq!(f[0]["cause"], "codebuild_runner_credential_lacks_admin");
    assert_eq!(f[0]["action"], "DOWNLOAD_SOURCE");
    assert_eq!(f[0]["error_code"], "CLIENT_ERROR");
    assert_eq!(f[0]["first_seen"], "2025-09-05T06:49:02.098320Z");
    assert_eq!(
        ids(&f[0]),
        ["acme-web-runner:0b6f1d3c-4a52-4f0e-8d7e-2c9a51e7b8f4"]
    );
    // the log names no account or region: the resource is the project's name
    assert_eq!(f[0]["resource"], PROJECT);

    // in a directory walk: both logs are read (the gzipped one has no build id in its name and
    // joins the named build, which failed the same way at the same time), the note is skipped
    // by design
    let dir = t.path().join("logs");
    let s = summary(&[p(&dir)]);
    assert_eq!(s["files_read"], 2);
    assert_eq!(s["files_skipped"], 1);
    assert_eq!(
        s["skipped"][0]["reason"],
        "not a CloudTrail log or build log"
    );
    assert_eq!(s["skipped"][0]["by_design"], true);
    assert_eq!(s["by_cause"]["codebuild_runner_credential_lacks_admin"], 1);
    let r = trailwhy(&["query", p(&dir), "--count"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(r.stdout.trim(), "0");
}

#[test]
fn the_credential_in_force_at_each_builds_start() {
    let t = Tree::new();
    let conn = "arn:aws:codeconnections:us-east-1:111122223333:connection/5c1f3a7e-0d2b-4c8e-9f11-2a7b6c3d4e5f";
    let trail = t.log_gz(
        "trail/ct.json.gz",
        &[
            import_pat("ev-import", "2026-10-01T09:00:00Z"),
            create_project("ev-create", "2026-10-01T09:05:00Z"),
            // another service's CreateProject of the same name changes nothing
            Event::change(BOB, "ev-sagemaker", "2026-10-05T11:00:00Z", "sagemaker.amazonaws.com", "CreateProject",
               json!({"name": PROJECT, "source": {"type": "GITHUB", "auth": {"type": "OAUTH", "resource": "x"}}})).record(),
            Event::change(BOB, "ev-conn", "2026-10-05T11:50:00Z", "codestar-connections.amazonaws.com", "CreateConnection",
               json!({"providerType": "GitHub", "connectionName": "github-runner"}))
                .response(json!({"connectionArn": conn})).record(),
            codebuild("ev-update", "UpdateProject", "2026-10-05T12:00:00Z", BOB,
                json!({"name": PROJECT, "source": {"type": "GITHUB", "location": "https://github.com/acme/web",
                       "auth": {"type": "CODECONNECTIONS", "resource": conn}}})),
        ],
    );
    let builds = t.json(
        "builds/b.json",
        &json!({"builds": [
            api_build(1, "2026-10-05T10:00:00+00:00", Some(("DOWNLOAD_SOURCE", "CLIENT_ERROR", JIT))),
            api_build(2, "2026-10-05T13:00:00+00:00", Some(("DOWNLOAD_SOURCE", "CLIENT_ERROR", JIT))),
            api_build(3, "2026-10-05T13:30:00+00:00", Some(("DOWNLOAD_SOURCE", "CLIENT_ERROR", JIT))),
        ]}),
    );
    let f = explain(&[p(&trail), p(&builds)]);
    assert_eq!(f.len(), 2, "{f:?}");
    let (before, after) = (&f[0], &f[1]);
    assert_eq!(ids(before), [build_id(1)]);
    let c = &before["details"]["credential"];
    assert_eq!(c["type"], "PERSONAL_ACCESS_TOKEN");
    assert_eq!(c["scope"], "account");
    assert_eq!(c["username"], "alice-acme");
    assert_eq!(c["configured_by"], ALICE);
    assert_eq!(c["configured_at"], "2026-10-01T09:00:00Z");
    assert_eq!(c["event_id"], "ev-import");
    let why = before["explanation"].as_str().unwrap();
    assert!(why.contains("a personal access token of GitHub user alice-acme, imported 2026-10-01T09:00:00Z by arn:aws:iam::111122223333:user/alice (ImportSourceCredentials)"), "{why}");
    assert!(why.contains("The credential setup changed after the last of these builds: 2026-10-05T12:00:00Z by arn:aws:iam::111122223333:user/bob (UpdateProject)"), "{why}");
    assert!(before["fix"]
        .as_str()
        .unwrap()
        .contains("Or restore GitHub user alice-acme's admin role"));

    assert_eq!(ids(after), [build_id(2), build_id(3)]);
    assert_eq!(after["count"], 2);
    let c = &after["details"]["credential"];
    assert_eq!(c["type"], "CODECONNECTIONS");
    assert_eq!(c["scope"], "project");
    assert_eq!(c["resource"], conn);
    assert_eq!(c["configured_by"], BOB);
    assert_eq!(c["event_id"], "ev-update");
    assert_eq!(c["connection"]["created_by"], BOB);
    assert_eq!(c["connection"]["name"], "github-runner");
    assert_eq!(c["connection"]["installation_set"], false);
    let why = after["explanation"].as_str().unwrap();
    assert!(
        why.contains("No GitHub App installation for it (UpdateConnectionInstallation)"),
        "{why}"
    );
}

#[test]
fn a_runner_webhook_without_workflow_job_queued() {
    let t = Tree::new();
    let groups = |pattern: &str| json!([[{"type": "EVENT", "pattern": pattern}]]);
    let trail = t.log_gz(
        "trail/ct.json.gz",
        &[
            create_project("ev-create", "2026-10-01T09:05:00Z"),
            codebuild("ev-hook", "CreateWebhook", "2026-10-01T09:06:00Z", ALICE,
                json!({"projectName": PROJECT, "filterGroups": groups("WORKFLOW_JOB_QUEUED"), "buildType": "BUILD"})),
            codebuild("ev-rotate", "UpdateWebhook", "2026-10-03T09:00:00Z", BOB,
                json!({"projectName": PROJECT, "rotateSecret": true})),
            codebuild("ev-push", "UpdateWebhook", "2026-10-04T09:00:00Z", BOB,
                json!({"projectName": PROJECT, "filterGroups": groups("PUSH, PULL_REQUEST_MERGED")})),
            codebuild("ev-back", "UpdateWebhook", "2026-10-04T15:00:00Z", ALICE,
                json!({"projectName": PROJECT, "filterGroups": groups("PUSH, WORKFLOW_JOB_QUEUED")})),
            // a project that never ran runners: a push-only webhook is what it wants
            codebuild("ev-other", "CreateWebhook", "2026-10-04T10:00:00Z", ALICE,
                json!({"projectName": "docs-site", "filterGroups": groups("PUSH")})),
        ],
    );
    let f = explain(&[p(&trail)]);
    assert_eq!(f.len(), 1, "{f:?}");
    let f = &f[0];
    assert_eq!(f["cause"], "codebuild_webhook_missing_job_queued");
    assert_eq!(f["event_name"], "UpdateWebhook");
    assert_eq!(ids(f), ["ev-push"]);
    assert_eq!(f["count"], 1);
    assert_eq!(f["first_seen"], "2026-10-04T09:00:00Z");
    assert_eq!(f["resource"], PROJECT_ARN);
    assert_eq!(f["action"], "codebuild:UpdateWebhook");
    let why = f["explanation"].as_str().unwrap();
    assert!(why.contains("updated 2026-10-04T09:00:00Z by arn:aws:iam::111122223333:user/bob (UpdateWebhook) without a WORKFLOW_JOB_QUEUED event filter"), "{why}");
    assert!(
        why.contains("until the filter was restored 2026-10-04T15:00:00Z"),
        "{why}"
    );
    assert!(
        why.contains("its webhook had the filter when it was 2026-10-01T09:06:00Z"),
        "{why}"
    );
    assert!(f["fix"].as_str().unwrap().contains("aws codebuild update-webhook --project-name acme-web-runner --filter-groups '[[{\"type\":\"EVENT\",\"pattern\":\"WORKFLOW_JOB_QUEUED\"}]]'"));

    // a project known as a runner project by its builds, whose webhook never had the filter
    let t = Tree::new();
    let trail = t.log_gz(
        "trail/ct.json.gz",
        &[codebuild(
            "ev-hook",
            "CreateWebhook",
            "2026-10-01T09:06:00Z",
            ALICE,
            json!({"projectName": PROJECT, "filterGroups": groups("PUSH")}),
        )],
    );
    let log = t.bytes(
        "logs/acme-web-runner:0b6f1d3c-4a52-4f0e-8d7e-2c9a51e7b8f4.log",
        SEED_LOG.as_bytes(),
    );
    let f = explain(&[p(&trail), p(&log)]);
    let causes: Vec<&str> = f.iter().map(|x| x["cause"].as_str().unwrap()).collect();
    assert_eq!(
        causes,
        [
            "codebuild_runner_credential_lacks_admin",
            "codebuild_webhook_missing_job_queued"
        ]
    );
    assert!(f[1]["explanation"]
        .as_str()
        .unwrap()
        .contains("its build acme-web-runner:0b6f1d3c-4a52-4f0e-8d7e-2c9a51e7b8f4 ran one"));
}

#[test]
fn failures_not_recognised_are_codebuild_build_failed_with_phase_and_context() {
    let t = Tree::new();
    let npm = "Error while executing command: npm test. Reason: exit status 1";
    let mut stopped = api_build(4, "2026-10-05T11:00:00+00:00", None);
    stopped["buildStatus"] = json!("STOPPED");
    let file = t.json(
        "builds.json",
        &json!({"builds": [
            api_build(1, "2026-10-05T10:00:00+00:00", Some(("BUILD", "COMMAND_EXECUTION_ERROR", npm))),
            api_build(2, "2026-10-05T10:30:00+00:00", Some(("BUILD", "COMMAND_EXECUTION_ERROR", npm))),
            api_build(3, "2026-10-05T10:45:00+00:00", None),
            stopped,
        ]}),
    );
    let f = explain(&[p(&file)]);
    assert_eq!(f.len(), 1, "{f:?}");
    let f = &f[0];
    assert_eq!(f["cause"], "codebuild_build_failed");
    assert_eq!(f["action"], "BUILD");
    assert_eq!(f["error_code"], "COMMAND_EXECUTION_ERROR");
    assert_eq!(f["count"], 2);
    assert_eq!(ids(f), [build_id(1), build_id(2)]);
    assert_eq!(f["first_seen"], "2026-10-05T10:00:00Z");
    assert_eq!(f["last_seen"], "2026-10-05T10:30:00Z");
    let why = f["explanation"].as_str().unwrap();
    assert!(why.starts_with("2 builds of project acme-web-runner failed in BUILD with COMMAND_EXECUTION_ERROR (first acme-web-runner:00000000-0000-4000-8000-000000000001): \"Error while executing command: npm test. Reason: exit status 1\""), "{why}");
    assert!(f["fix"].as_str().unwrap().contains(&format!(
        "aws codebuild batch-get-builds --ids {}",
        build_id(1)
    )));
}

#[test]
fn the_same_builds_in_several_inputs_are_counted_once_and_grouped() {
    let t = Tree::new();
    let ctx = format!("CLIENT_ERROR: {JIT}");
    let failed = Some(("DOWNLOAD_SOURCE", ctx.as_str()));
    t.json(
        "in/eventbridge.json",
        &json!([
            eb_event(1, "Oct 5, 2026 1:02:11 PM", failed),
            eb_event(2, "Oct 5, 2026 1:09:48 PM", failed),
            eb_event(3, "Oct 5, 2026 3:47:52 PM", failed),
            eb_event(8, "Oct 5, 2026 9:03:27 AM", None),
        ]),
    );
    let jit = Some(("DOWNLOAD_SOURCE", "CLIENT_ERROR", JIT));
    t.json(
        "in/batch.json",
        &json!({"builds": [
            api_build(2, "2026-10-05T13:09:48.301000+00:00", jit),
            api_build(3, "2026-10-05T15:47:52.777000+00:00", jit),
        ]}),
    );
    // build 3's log named by its id, build 1's log without a name: joined by time
    let shifted = |hms: &str| SEED_LOG.replace("2025/09/05 06:49:", &format!("2026/10/05 {hms}:"));
    t.bytes(
        &format!("in/logs/{}.log", build_id(3)),
        shifted("15:48").as_bytes(),
    );
    t.bytes("in/logs/download.log", shifted("13:02").as_bytes());
    let dir = t.path().join("in");
    let f = explain(&[p(&dir)]);
    assert_eq!(f.len(), 1, "{f:?}");
    let f = &f[0];
    assert_eq!(f["cause"], "codebuild_runner_credential_lacks_admin");
    assert_eq!(f["count"], 3);
    assert_eq!(ids(f), [build_id(1), build_id(2), build_id(3)]);
    assert_eq!(f["first_seen"], "2026-10-05T13:02:11Z");
    assert_eq!(f["last_seen"], "2026-10-05T15:47:52Z");
    assert_eq!(f["details"]["inputs"].as_array().unwrap().len(), 4);
    let s = summary(&[p(&dir)]);
    assert_eq!(s["files_read"], 4);
    assert_eq!(s["failed_events"], 3);
    // the window applies to build start times
    let r = trailwhy(&[
        "explain",
        p(&dir),
        "--since",
        "2026-10-05T13:05:00Z",
        "--format",
        "ndjson",
    ]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let f = r.findings();
    assert_eq!(ids(&f[0]), [build_id(2), build_id(3)]);
    // report shows the finding too
    let r = trailwhy(&[
        "report",
        p(&dir),
        "--since",
        "2026-10-05T00:00:00Z",
        "--until",
        "2026-10-06T00:00:00Z",
        "--format",
        "json",
    ]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let causes: Vec<Value> = r.json()["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x["cause"].clone())
        .collect();
    assert_eq!(causes, [json!("codebuild_runner_credential_lacks_admin")]);
}

#[test]
fn the_imported_token_is_never_printed() {
    let t = Tree::new();
    t.log_gz(
        "trail/ct.json.gz",
        &[
            import_pat("ev-import", "2026-10-01T09:00:00Z"),
            create_project("ev-create", "2026-10-01T09:05:00Z"),
        ],
    );
    t.json(
        "builds.json",
        &json!({"builds": [api_build(1, "2026-10-05T10:00:00+00:00", Some(("DOWNLOAD_SOURCE", "CLIENT_ERROR", JIT)))]}),
    );
    let dir = p(t.path());
    for format in ["table", "json", "ndjson"] {
        let r = trailwhy(&["explain", dir, "--format", format]);
        assert_eq!(r.code, 0, "{}", r.stderr);
        assert!(
            r.stdout.contains("alice-acme"),
            "{format}: the credential is named"
        );
        assert!(!r.stdout.contains("PATSECRET"), "{format}");
        assert!(!r.stderr.contains("PATSECRET"), "{format}");
    }
    for format in ["markdown", "html", "json"] {
        let r = trailwhy(&[
            "report",
            dir,
            "--since",
            "2026-09-01T00:00:00Z",
            "--until",
            "2026-10-06T00:00:00Z",
            "--format",
            format,
        ]);
        assert_eq!(r.code, 0, "{}", r.stderr);
        assert!(!r.stdout.contains("PATSECRET"), "report {format}");
    }
    let r = trailwhy(&["query", dir, "--format", "ndjson"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(r.stdout.contains("ImportSourceCredentials"));
    assert!(!r.stdout.contains("PATSECRET"));
}

/// A moto server of our own whose BatchGetBuilds reports DOWNLOAD_SOURCE failed with the JIT
/// context: plain moto always reports every phase SUCCEEDED, and cannot be seeded otherwise.
struct FailingMoto {
    child: Child,
    url: String,
    build_ids: Vec<String>,
}

impl Drop for FailingMoto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn failing_moto() -> FailingMoto {
    let script = format!(
        r#"
import sys, json, boto3
from moto.server import ThreadedMotoServer
from moto.codebuild import models
JIT = {jit}
real = models.CodeBuildBackend.batch_get_builds
def batch_get_builds(self, ids):
    builds = real(self, ids)
    for b in builds:
        b["buildStatus"] = "FAILED"
        for p in b["phases"]:
            if p["phaseType"] == "DOWNLOAD_SOURCE":
                p["phaseStatus"] = "FAILED"
                p["contexts"] = [{{"statusCode": "CLIENT_ERROR", "message": JIT}}]
    return builds
models.CodeBuildBackend.batch_get_builds = batch_get_builds
server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
server.start()
port = server.get_host_and_port()[1]
cb = boto3.client("codebuild", endpoint_url=f"http://127.0.0.1:{{port}}", region_name="us-east-1",
                  aws_access_key_id="testing", aws_secret_access_key="testing")
cb.create_project(name="acme-web-runner", source={{"type": "GITHUB", "location": "https://github.com/acme/web"}},
                  artifacts={{"type": "NO_ARTIFACTS"}},
                  environment={{"type": "LINUX_CONTAINER", "image": "aws/codebuild/standard:7.0", "computeType": "BUILD_GENERAL1_SMALL"}},
                  serviceRole="arn:aws:iam::111122223333:role/cb")
ids = [cb.start_build(projectName="acme-web-runner")["build"]["id"] for _ in range(2)]
print(json.dumps({{"port": port, "ids": ids}}), flush=True)
sys.stdin.read()
server.stop()
"#,
        jit = json!(JIT),
    );
    let mut child = Command::new("python3")
        .arg("-c")
        .arg(script)
        .env("MOTO_ACCOUNT_ID", ACCT)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let ready: Value = serde_json::from_str(&line)
        .unwrap_or_else(|e| panic!("the patched moto server did not start ({e}): {line:?}"));
    FailingMoto {
        child,
        url: format!("http://127.0.0.1:{}", ready["port"]),
        build_ids: serde_json::from_value(ready["ids"].clone()).unwrap(),
    }
}

fn live(endpoint: &str, args: &[&str]) -> Run {
    let mut all = vec!["explain"];
    all.extend(args);
    all.extend(["--endpoint-url", endpoint, "--format", "json"]);
    trailwhy_env(&all, &aws::aws_env())
}

#[test]
fn live_builds_through_the_codebuild_api_against_moto() {
    let Some(moto) = aws::moto() else { return };
    // Plain moto: ListBuildsForProject and BatchGetBuilds work, every build reports SUCCEEDED
    // (moto completes all phases on the first BatchGetBuilds) with ISO 8601 timestamps the
    // SDK's typed model rejects; the builds are read all the same, and nothing failed.
    aws::python(
        &moto.url,
        r#"
import boto3, os
cb = boto3.client("codebuild", endpoint_url=os.environ["ENDPOINT"])
cb.create_project(name="plain-runner", source={"type": "GITHUB", "location": "https://github.com/acme/web"},
                  artifacts={"type": "NO_ARTIFACTS"},
                  environment={"type": "LINUX_CONTAINER", "image": "aws/codebuild/standard:7.0", "computeType": "BUILD_GENERAL1_SMALL"},
                  serviceRole="arn:aws:iam::111122223333:role/cb")
for _ in range(3):
    cb.start_build(projectName="plain-runner")
cb.create_project(name="idle", source={"type": "GITHUB", "location": "https://github.com/acme/web"},
                  artifacts={"type": "NO_ARTIFACTS"},
                  environment={"type": "LINUX_CONTAINER", "image": "aws/codebuild/standard:7.0", "computeType": "BUILD_GENERAL1_SMALL"},
                  serviceRole="arn:aws:iam::111122223333:role/cb")
"#,
    );
    let r = live(&moto.url, &["--codebuild-live", "plain-runner,idle"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(r.stderr, "");
    let v = r.json();
    assert_eq!(v["findings"], json!([]));
    assert_eq!(v["summary"]["files_unreadable"], 0);

    // moto with failed builds: the runner cause from the API, judged against the credential
    // the CloudTrail file names
    let server = failing_moto();
    let t = Tree::new();
    let trail = t.log_gz(
        "trail/ct.json.gz",
        &[import_pat("ev-import", "2026-01-01T09:00:00Z")],
    );
    let r = live(&server.url, &[p(&trail), "--codebuild-live", PROJECT]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let v = r.json();
    let f = v["findings"].as_array().unwrap();
    assert_eq!(f.len(), 1, "{f:?}");
    let f = &f[0];
    assert_eq!(f["cause"], "codebuild_runner_credential_lacks_admin");
    assert_eq!(f["action"], "DOWNLOAD_SOURCE");
    assert_eq!(f["error_code"], "CLIENT_ERROR");
    assert_eq!(f["resource"], PROJECT_ARN);
    assert_eq!(f["count"], 2);
    let mut got: Vec<&str> = ids(f);
    got.sort_unstable();
    let mut want: Vec<&str> = server.build_ids.iter().map(String::as_str).collect();
    want.sort_unstable();
    assert_eq!(got, want);
    assert_eq!(f["details"]["credential"]["event_id"], "ev-import");
    assert_eq!(
        f["details"]["inputs"],
        json!([format!("codebuild://{REGION}/{PROJECT}")])
    );
    assert!(!r.stdout.contains("PATSECRET"));

    // an AWS error ends the run with one line naming the project
    let r = live("http://127.0.0.1:9", &["--codebuild-live", PROJECT]);
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(
        r.stderr
            .starts_with("trailwhy: error: codebuild://us-east-1/acme-web-runner: "),
        "{}",
        r.stderr
    );
}

#[test]
fn the_sample_logs_story_names_the_credential_and_who_configured_it() {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/sample-logs");
    let expected: Vec<Value> =
        serde_json::from_str(&std::fs::read_to_string(format!("{dir}/expected.json")).unwrap())
            .unwrap();
    let story = expected
        .iter()
        .find(|s| s["cause"] == "codebuild_runner_credential_lacks_admin")
        .unwrap();
    let f = explain(&[dir]);
    let found = f
        .iter()
        .find(|x| x["cause"] == "codebuild_runner_credential_lacks_admin")
        .unwrap();
    assert_eq!(found["event_ids"], story["event_ids"]);
    for key in [
        "type",
        "username",
        "configured_by",
        "configured_at",
        "event_id",
    ] {
        assert_eq!(
            found["details"]["credential"][key], story["credential"][key],
            "{key}"
        );
    }
    // every input form held some of the failures; each build counts once
    assert_eq!(found["details"]["inputs"].as_array().unwrap().len(), 3);
    let prefix = story["token_prefix"].as_str().unwrap();
    for format in ["table", "json", "ndjson"] {
        let r = trailwhy(&["explain", dir, "--format", format]);
        assert!(!r.stdout.contains(prefix), "{format}");
        assert!(!r.stderr.contains(prefix), "{format}");
    }
    let table = trailwhy(&["explain", dir, "--format", "table"]).stdout;
    assert!(table.contains("a personal access token of GitHub user alice-acme, imported 2026-09-14T09:12:40Z by arn:aws:iam::111122223333:user/alice (ImportSourceCredentials)"), "{table}");
}
