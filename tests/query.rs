//! `trailwhy query` through the real binary: typed filters, jq (compared with the real `jq`
//! binary on the same files), projections, group-by, counts, limits, the three formats,
//! redaction, hostile strings, lookup-events input, unreadable inputs and exit codes.
#![allow(clippy::unwrap_used, clippy::expect_used, reason = "tests")]

mod common;

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use common::*;
use serde_json::{json, Value};

const DEPLOY: &str = "arn:aws:iam::111122223333:role/gha-deploy";
const WEB: &str = "arn:aws:iam::111122223333:role/ci/gha-web";
const MAIN: &str = "repo:acme/web:ref:refs/heads/main";
const PR: &str = "repo:acme/web:pull_request";

/// An ECR-style call (repository `web`) made by session `GitHubActions-ID` of `role` with key
/// `ASIA` + ID, failed with `error` when given.
fn call(id: &str, time: &str, role: &str, source: &str, name: &str, error: Option<&str>) -> Value {
    let (session, key) = (
        format!("GitHubActions-{id}"),
        format!("ASIA{}", id.to_uppercase()),
    );
    let who = Who::Session {
        role,
        name: &session,
        key: &key,
    };
    let e = Event::call(who, id, time, source, name)
        .request(json!({"repositoryName": "web", "registryId": ACCT}));
    match error {
        Some(code) => e.error(code, &format!("User is not authorized to perform {name}")),
        None => e,
    }
    .record()
}

fn webid(id: &str, time: &str, role: &str, sub: &str, denied: bool) -> Value {
    if denied {
        WebId::denied(id, time, role, sub).record()
    } else {
        WebId::assumed(id, time, role, sub).record()
    }
}

/// The records of [`trail`], by event id: w* are web-identity assumptions, c* calls.
fn record(id: &str) -> Value {
    let (ecr, denied) = ("ecr.amazonaws.com", Some("AccessDeniedException"));
    match id {
        "w1" => webid(id, "2026-10-01T10:00:00Z", DEPLOY, PR, true),
        "w2" => webid(id, "2026-10-01T10:05:00Z", WEB, MAIN, false),
        "c1" => call(id, "2026-10-01T10:06:00Z", WEB, ecr, "PutImage", denied),
        "c2" => call(
            id,
            "2026-10-01T10:07:00Z",
            WEB,
            ecr,
            "GetAuthorizationToken",
            None,
        ),
        "c3" => {
            // in another account and region
            let s3 = "s3.amazonaws.com";
            let mut r = call(
                id,
                "2026-10-01T11:00:00Z",
                DEPLOY,
                s3,
                "GetObject",
                Some("AccessDenied"),
            );
            r["awsRegion"] = json!("eu-west-1");
            r["recipientAccountId"] = json!("444455556666");
            r
        }
        "c4" => call(
            id,
            "2026-10-01T11:30:00Z",
            DEPLOY,
            ecr,
            "InitiateLayerUpload",
            denied,
        ),
        "w3" => webid(id, "2026-10-01T12:00:00Z", DEPLOY, MAIN, true),
        _ => panic!("no record {id} in the trail"),
    }
}

fn records(ids: &[&str]) -> Vec<Value> {
    ids.iter().map(|id| record(id)).collect()
}

/// A trail of seven records in two files, of which one is in another account and region.
fn trail() -> Tree {
    let t = Tree::new();
    t.log_gz("AWSLogs/1.json.gz", &records(&["w1", "w2", "c1", "c2"]));
    t.log_gz("AWSLogs/2.json.gz", &records(&["c3", "c4", "w3"]));
    t
}

fn arg(p: &Path) -> String {
    p.display().to_string()
}

/// Runs `query` with `args` and returns stdout lines, asserting exit code 0.
fn lines(args: &[&str]) -> Vec<String> {
    let mut all = vec!["query"];
    all.extend(args);
    let r = trailwhy(&all);
    assert_eq!(r.code, 0, "query {args:?}: {}", r.stderr);
    r.stdout.lines().map(str::to_owned).collect()
}

/// The eventIDs a query selects, in output order.
fn ids(dir: &Path, filters: &[&str]) -> Vec<String> {
    let d = arg(dir);
    let mut args = vec![d.as_str(), "--fields", "eventID", "--format", "ndjson"];
    args.extend(filters);
    lines(&args)
        .iter()
        .map(|l| {
            let v: Value = serde_json::from_str(l).unwrap();
            v["eventID"].as_str().unwrap().to_owned()
        })
        .collect()
}

#[test]
fn typed_filters_select_exact_records() {
    let t = trail();
    let p = t.path();
    assert_eq!(ids(p, &[]), ["w1", "w2", "c1", "c2", "c3", "c4", "w3"]);
    assert_eq!(ids(p, &["--event-name", "PutImage"]), ["c1"]);
    assert_eq!(
        ids(p, &["--event-name", "*Layer*,Get*"]),
        ["c2", "c3", "c4"]
    );
    assert_eq!(
        ids(
            p,
            &["--event-name", "Get*", "--event-name", "AssumeRoleWith*"]
        ),
        ["w1", "w2", "c2", "c3", "w3"]
    );
    assert_eq!(ids(p, &["--event-source", "ecr.*"]), ["c1", "c2", "c4"]);
    assert_eq!(
        ids(p, &["--event-name", "putimage"]),
        Vec::<String>::new(),
        "globs are case-sensitive"
    );
    assert_eq!(
        ids(p, &["--error-code", "AccessDenied*"]),
        ["w1", "c1", "c3", "c4", "w3"]
    );
    assert_eq!(ids(p, &["--error-code", "*Exception"]), ["c1", "c4"]);
    assert_eq!(ids(p, &["--errors-only"]), ["w1", "c1", "c3", "c4", "w3"]);
    assert_eq!(
        ids(p, &["--errors-only", "--event-source", "ecr.amazonaws.com"]),
        ["c1", "c4"]
    );
    // principal: userIdentity.arn or principalId
    assert_eq!(
        ids(p, &["--principal", "arn:aws:sts::*:assumed-role/gha-web/*"]),
        ["c1", "c2"]
    );
    assert_eq!(ids(p, &["--principal", "*:GitHubActions-c3"]), ["c3"]);
    assert_eq!(
        ids(
            p,
            &["--principal", "*oidc-provider/token.actions*:pull_request"]
        ),
        ["w1"]
    );
    // sub: the web-identity userName of a WebIdentityUser, or subjectFromWebIdentityToken
    assert_eq!(ids(p, &["--sub", MAIN]), ["w2", "w3"]);
    assert_eq!(ids(p, &["--sub", "repo:acme/*:pull_request"]), ["w1"]);
    // role: the session's issuer or the requested role, by name or ARN
    assert_eq!(ids(p, &["--role", "gha-web"]), ["w2", "c1", "c2"]);
    assert_eq!(
        ids(p, &["--role", "arn:aws:iam::*:role/gha-d*"]),
        ["w1", "c3", "c4", "w3"]
    );
    assert_eq!(
        ids(
            p,
            &[
                "--role",
                "gha-*",
                "--errors-only",
                "--event-source",
                "sts.*"
            ]
        ),
        ["w1", "w3"]
    );
    // window
    assert_eq!(ids(p, &["--account", "444455556666"]), ["c3"]);
    assert_eq!(ids(p, &["--region", "eu-west-1,us-west-2"]), ["c3"]);
    assert_eq!(
        ids(
            p,
            &[
                "--since",
                "2026-10-01T10:06:00Z",
                "--until",
                "2026-10-01T11:30:00Z"
            ]
        ),
        ["c1", "c2", "c3", "c4"]
    );
    assert_eq!(
        ids(
            p,
            &[
                "--since",
                "2026-10-01T11:00:00Z",
                "--errors-only",
                "--event-source",
                "ecr.*"
            ]
        ),
        ["c4"]
    );
}

fn have_jq() -> bool {
    let ok = Command::new("jq")
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !ok {
        eprintln!("jq is not installed: skipping the comparison with jq");
    }
    ok
}

/// `zcat FILES | jq -c '.Records[] | EXPR'`
fn real_jq(files: &[PathBuf], expr: &str) -> String {
    let mut zcat = Command::new("zcat")
        .args(files)
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let out = Command::new("jq")
        .args(["-c", &format!(".Records[] | {expr}")])
        .stdin(zcat.stdout.take().unwrap())
        .output()
        .unwrap();
    zcat.wait().unwrap();
    assert!(
        out.status.success(),
        "jq failed on {expr}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn jq_output_matches_the_jq_binary() {
    if !have_jq() {
        return;
    }
    // no secrets in these records: redaction would (rightly) differ from jq
    let t = Tree::new();
    let mut odd = call(
        "c9",
        "2026-10-01T10:09:00Z",
        WEB,
        "ecr.amazonaws.com",
        "BatchGetImage",
        Some("AccessDeniedException"),
    );
    odd["userAgent"] = json!("caf\u{e9} \"quoted\" \\ back\u{1b}[31m md/run_id#99");
    odd["errorMessage"] = json!("line1\nline2\ttab \u{202e}bidi");
    let files = vec![
        t.log_gz("a/1.json.gz", &records(&["w1", "c1", "c2"])),
        t.log_gz(
            "a/2.json.gz",
            &[
                odd,
                record("w3"),
                call(
                    "c4",
                    "2026-10-01T11:30:00Z",
                    DEPLOY,
                    "ecr.amazonaws.com",
                    "InitiateLayerUpload",
                    None,
                ),
            ],
        ),
    ];
    let exprs = [
        ".",
        "select(.errorCode != null) | {id: .eventID, who: (.userIdentity.arn // .userIdentity.userName), code: .errorCode}",
        ".resources[]?.ARN",
        "[.eventName, .awsRegion] | join(\"/\")",
        ".userIdentity | keys",
        "select(.eventTime >= \"2026-10-01T10:06:00Z\") | .eventTime[:13]",
        "select(.userAgent | test(\"run_id#[0-9]+\")) | .userAgent | capture(\"run_id#(?<id>[0-9]+)\").id",
        "if .errorCode then {e: .eventName, m: .errorMessage} else empty end",
        "(.requestParameters // {}) | to_entries | map(\"\\(.key)=\\(.value)\")",
        "{day: .eventTime[:10], repo: (.userIdentity.userName // .userIdentity.sessionContext.sessionIssuer.userName)}",
        ".userAgent | length",
        // a leading select on plain fields is also a byte pre-filter: same results
        "select(.eventName == \"PutImage\" or .eventName == \"GetAuthorizationToken\") | .eventID",
        "select(.errorCode and .awsRegion == \"us-east-1\") | [.eventID, .errorCode]",
        "select(.errorCode != null) | {eventTime, eventName, errorCode}",
        // programs that read only some fields get records of only those fields: same results
        "[.userIdentity.sessionContext.sessionIssuer.userName, (.resources // [] | length)]",
        "select(.eventName | startswith(\"Put\")) | .requestParameters.repositoryName",
        "if .errorCode then \"\\(.eventName): \\(.errorMessage)\" else .userAgent[:9] end",
    ];
    let args: Vec<String> = files.iter().map(|f| arg(f)).collect();
    for expr in exprs {
        let mut a: Vec<&str> = vec!["query"];
        a.extend(args.iter().map(String::as_str));
        a.extend(["--jq", expr, "--format", "ndjson"]);
        let ours = trailwhy(&a);
        assert_eq!(ours.code, 0, "{expr}: {}", ours.stderr);
        assert_eq!(ours.stdout, real_jq(&files, expr), "--jq {expr}");
    }
    // typed filters then jq, against jq's select
    let mut a: Vec<&str> = vec!["query"];
    a.extend(args.iter().map(String::as_str));
    a.extend([
        "--event-name",
        "*Image",
        "--errors-only",
        "--jq",
        ".eventID",
        "--format",
        "ndjson",
    ]);
    assert_eq!(
        trailwhy(&a).stdout,
        real_jq(
            &files,
            "select((.eventName|endswith(\"Image\")) and .errorCode != null) | .eventID"
        )
    );
}

#[test]
fn jq_select_prefilter_keeps_escaped_spellings() {
    let t = Tree::new();
    t.bytes(
        "logs/1.json",
        br#"{"Records":[{"eventName":"\u0050utImage","eventID":"e1"},{"eventName":"GetObject","eventID":"e2"},{"eventName":"PutImage","eventID":"e3"}]}"#,
    );
    let d = arg(t.path());
    assert_eq!(
        lines(&[
            &d,
            "--jq",
            r#"select(.eventName == "PutImage") | .eventID"#,
            "--format",
            "ndjson"
        ]),
        [r#""e1""#, r#""e3""#]
    );
}

#[test]
fn jq_runtime_errors_are_counted_and_reported_once() {
    let t = trail();
    let d = arg(t.path());
    let r = trailwhy(&["query", &d, "--jq", ".eventName | .x", "--format", "ndjson"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(r.stdout, "");
    let err: Vec<&str> = r.stderr.lines().collect();
    assert_eq!(err.len(), 1, "{}", r.stderr);
    assert!(
        err[0].starts_with(&format!(
            "trailwhy: --jq: error (at {}, record 0): cannot index",
            t.path().join("AWSLogs/1.json.gz").display()
        )),
        "{}",
        err[0]
    );
    assert!(err[0].ends_with("(6 more)"), "{}", err[0]);
    // the other outputs of the program go on
    let r = trailwhy(&[
        "query",
        &d,
        "--jq",
        "if .errorCode then error(\"failed\") else .eventID end",
        "--format",
        "ndjson",
    ]);
    assert_eq!(r.stdout, "\"w2\"\n\"c2\"\n");
    assert!(
        r.stderr.contains("record 0): failed (4 more)"),
        "{}",
        r.stderr
    );
}

#[test]
fn bad_jq_is_a_usage_error() {
    let t = trail();
    let d = arg(t.path());
    // `query D ARGS` exits 2 without output; its stderr
    let refused = |args: &[&str]| {
        let mut all = vec!["query", d.as_str()];
        all.extend(args);
        let r = trailwhy(&all);
        assert_eq!((r.code, r.stdout.as_str()), (2, ""), "{args:?}");
        r.stderr
    };
    let e = refused(&["--jq", ".eventName |"]);
    assert!(e.starts_with("trailwhy: error: --jq: syntax error"), "{e}");
    let e = refused(&["--jq", "select(.a) | nosuchfn(1)"]);
    assert!(
        e.contains("--jq: undefined filter nosuchfn/1 at line 1, column 14"),
        "{e}"
    );
    let e = refused(&["--fields", "a..b"]);
    assert!(e.contains("--fields: 'a..b' has an empty segment"), "{e}");
}

#[test]
fn fields_project_with_null_for_missing_paths() {
    let t = trail();
    let d = arg(t.path());
    let out = lines(&[
        &d,
        "--event-name",
        "PutImage,AssumeRoleWithWebIdentity",
        "--fields",
        "eventID,userIdentity.sessionContext.sessionIssuer.userName,resources.0.ARN,no.such.path",
        "--format",
        "ndjson",
    ]);
    assert_eq!(
        out,
        [
            r#"{"eventID":"w1","userIdentity.sessionContext.sessionIssuer.userName":null,"resources.0.ARN":"arn:aws:iam::111122223333:role/gha-deploy","no.such.path":null}"#,
            r#"{"eventID":"w2","userIdentity.sessionContext.sessionIssuer.userName":null,"resources.0.ARN":"arn:aws:iam::111122223333:role/ci/gha-web","no.such.path":null}"#,
            r#"{"eventID":"c1","userIdentity.sessionContext.sessionIssuer.userName":"gha-web","resources.0.ARN":null,"no.such.path":null}"#,
            r#"{"eventID":"w3","userIdentity.sessionContext.sessionIssuer.userName":null,"resources.0.ARN":"arn:aws:iam::111122223333:role/gha-deploy","no.such.path":null}"#,
        ]
    );
    // projection applies to jq's output
    let out = lines(&[
        &d,
        "--errors-only",
        "--jq",
        "{id: .eventID, n: {x: .eventName}}",
        "--fields",
        "n.x,id",
        "--limit",
        "2",
        "--format",
        "ndjson",
    ]);
    assert_eq!(
        out,
        [
            r#"{"n.x":"AssumeRoleWithWebIdentity","id":"w1"}"#,
            r#"{"n.x":"PutImage","id":"c1"}"#
        ]
    );
}

#[test]
fn group_by_counts_most_frequent_first() {
    let t = trail();
    let d = arg(t.path());
    let out = lines(&[
        &d,
        "--group-by",
        "eventSource",
        "--group-by",
        "errorCode",
        "--format",
        "ndjson",
    ]);
    assert_eq!(
        out,
        [
            r#"{"eventSource":"ecr.amazonaws.com","errorCode":"AccessDeniedException","count":2}"#,
            r#"{"eventSource":"sts.amazonaws.com","errorCode":"AccessDenied","count":2}"#,
            r#"{"eventSource":"ecr.amazonaws.com","errorCode":null,"count":1}"#,
            r#"{"eventSource":"s3.amazonaws.com","errorCode":"AccessDenied","count":1}"#,
            r#"{"eventSource":"sts.amazonaws.com","errorCode":null,"count":1}"#,
        ]
    );
    // --limit keeps the most frequent groups; group-by applies to jq's output
    let out = lines(&[
        &d,
        "--jq",
        "{role: .userIdentity.sessionContext.sessionIssuer.userName}",
        "--group-by",
        "role",
        "--limit",
        "2",
        "--format",
        "ndjson",
    ]);
    assert_eq!(
        out,
        [
            r#"{"role":null,"count":3}"#,
            r#"{"role":"gha-deploy","count":2}"#
        ]
    );
    let table = lines(&[
        &d,
        "--errors-only",
        "--group-by",
        "eventName",
        "--format",
        "table",
    ]);
    assert_eq!(
        table,
        [
            "eventName                  count",
            "AssumeRoleWithWebIdentity  2",
            "GetObject                  1",
            "InitiateLayerUpload        1",
            "PutImage                   1",
        ]
    );
}

#[test]
fn count_and_limit() {
    let t = trail();
    let d = arg(t.path());
    assert_eq!(lines(&[&d, "--count"]), ["7"]);
    assert_eq!(lines(&[&d, "--count", "--errors-only"]), ["5"]);
    assert_eq!(lines(&[&d, "--count", "--limit", "3"]), ["3"]);
    assert_eq!(lines(&[&d, "--count", "--jq", ".resources[]?"]), ["3"]);
    assert_eq!(ids(t.path(), &["--limit", "2"]), ["w1", "w2"]);
    // the limit counts rows across files, in input order
    assert_eq!(
        ids(t.path(), &["--errors-only", "--limit", "3"]),
        ["w1", "c1", "c3"]
    );
    assert_eq!(ids(t.path(), &["--limit", "0"]), Vec::<String>::new());
}

#[test]
fn output_order_is_input_order_whatever_the_threads() {
    let t = Tree::new();
    let mut expected = Vec::new();
    for f in 0..40 {
        let n = [0, 1, 300, 5][f % 4];
        let recs: Vec<Value> = (0..n)
            .map(|i| {
                let id = format!("f{f:02}-{i:03}");
                expected.push(id.clone());
                call(
                    &id,
                    "2026-10-01T10:00:00Z",
                    WEB,
                    "ecr.amazonaws.com",
                    "PutImage",
                    None,
                )
            })
            .collect();
        t.log_gz(&format!("logs/{f:02}.json.gz"), &recs);
    }
    for threads in ["1", "2", "4"] {
        assert_eq!(
            ids(t.path(), &["--threads", threads]),
            expected,
            "--threads {threads}"
        );
    }
    assert_eq!(
        ids(t.path(), &["--threads", "4", "--limit", "302"]),
        expected[..302]
    );
}

#[test]
fn csv_quotes_and_neutralises_formulas() {
    let t = Tree::new();
    let mut evil = record("c1");
    evil["userAgent"] = json!("=HYPERLINK(\"http://evil.example\",\"click\")");
    evil["errorMessage"] = json!("denied, \"twice\"\nsecond line");
    evil["sourceIPAddress"] = json!("-1+2");
    evil["requestParameters"] = json!({"tag": "@SUM(A1)", "n": 5});
    t.log_gz("logs/1.json.gz", &[evil]);
    let d = arg(t.path());
    let r = trailwhy(&["query", &d, "--format", "csv", "--fields", "eventID,userAgent,errorMessage,sourceIPAddress,requestParameters.tag,requestParameters.n,requestParameters,missing"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(
        r.stdout,
        "eventID,userAgent,errorMessage,sourceIPAddress,requestParameters.tag,requestParameters.n,requestParameters,missing\r\n\
         c1,\"'=HYPERLINK(\"\"http://evil.example\"\",\"\"click\"\")\",\"denied, \"\"twice\"\"\nsecond line\",'-1+2,'@SUM(A1),5,\"{\"\"n\"\":5,\"\"tag\"\":\"\"@SUM(A1)\"\"}\",\r\n"
    );
    // without --fields: the default columns
    let r = trailwhy(&["query", &d, "--format", "csv"]);
    let mut rows = r.stdout.split("\r\n");
    assert_eq!(
        rows.next().unwrap(),
        "eventTime,eventSource,eventName,awsRegion,recipientAccountId,userIdentity.type,userIdentity.arn,errorCode,errorMessage,sourceIPAddress,userAgent,eventID"
    );
    assert!(rows.next().unwrap().starts_with(
        "2026-10-01T10:06:00Z,ecr.amazonaws.com,PutImage,us-east-1,111122223333,AssumedRole,"
    ));
    // jq objects: the first row's keys are the columns
    let r = trailwhy(&[
        "query",
        &d,
        "--format",
        "csv",
        "--jq",
        "{id: .eventID, ua: .userAgent}",
    ]);
    assert_eq!(
        r.stdout,
        "id,ua\r\nc1,\"'=HYPERLINK(\"\"http://evil.example\"\",\"\"click\"\")\"\r\n"
    );
}

#[test]
fn table_escapes_terminal_sequences() {
    let t = Tree::new();
    let mut evil = call(
        "c1",
        "2026-10-01T10:06:00Z",
        WEB,
        "ecr.amazonaws.com",
        "PutImage",
        None,
    );
    evil["userAgent"] = json!("\u{1b}[31mred\u{1b}[0m \u{202e}gpj.exe");
    t.log_gz("logs/1.json.gz", &[evil]);
    let d = arg(t.path());
    let r = trailwhy(&[
        "query",
        &d,
        "--format",
        "table",
        "--fields",
        "eventID,userAgent",
    ]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(
        r.stdout,
        "eventID  userAgent\nc1       \\u{1b}[31mred\\u{1b}[0m \\u{202e}gpj.exe\n"
    );
    // whole records: one JSON line each, still escaped
    let r = trailwhy(&["query", &d, "--format", "table"]);
    assert!(!r.stdout.contains('\u{1b}') && !r.stdout.contains('\u{202e}'));
    assert!(
        r.stdout
            .contains(r#""userAgent":"\u001b[31mred\u001b[0m \u{202e}gpj.exe""#),
        "{}",
        r.stdout
    );
    let r = trailwhy(&["query", &d, "--format", "table", "--jq", ".userAgent"]);
    assert_eq!(r.stdout, "\"\\u001b[31mred\\u001b[0m \\u{202e}gpj.exe\"\n");
}

#[test]
fn session_tokens_are_redacted_in_every_format() {
    let t = trail();
    let d = arg(t.path());
    let runs = [
        vec!["--format", "ndjson"],
        vec!["--format", "table"],
        vec![
            "--format",
            "csv",
            "--fields",
            "responseElements.credentials,responseElements",
        ],
        vec!["--format", "csv", "--jq", ".responseElements // empty"],
        vec!["--format", "ndjson", "--jq", "[..|strings]"],
        vec![
            "--format",
            "table",
            "--group-by",
            "responseElements.credentials.sessionToken",
        ],
    ];
    for extra in runs {
        let mut a = vec![
            "query",
            d.as_str(),
            "--event-name",
            "AssumeRoleWithWebIdentity",
        ];
        a.extend(&extra);
        let r = trailwhy(&a);
        assert_eq!(r.code, 0, "{extra:?}: {}", r.stderr);
        assert!(!r.stdout.contains(SESSION_TOKEN), "{extra:?}: {}", r.stdout);
        assert!(r.stdout.contains("<redacted>"), "{extra:?}: {}", r.stdout);
    }
    // jq sees the record after redaction
    let out = lines(&[
        &d,
        "--jq",
        ".responseElements.credentials.sessionToken // empty",
        "--format",
        "ndjson",
    ]);
    assert_eq!(out, ["\"<redacted>\""]);
    let out = lines(&[
        &d,
        "--jq",
        "select(.. | strings | contains(\"IQoJ\")) | .eventID",
        "--format",
        "ndjson",
    ]);
    assert!(out.is_empty(), "{out:?}");
}

#[test]
fn lookup_events_output_is_unwrapped() {
    let t = Tree::new();
    t.json("lookup.json", &lookup_events(&records(&["c1", "w2"])));
    let d = arg(t.path());
    assert_eq!(
        lines(&[
            &d,
            "--fields",
            "eventID,eventName,errorCode",
            "--format",
            "ndjson"
        ]),
        [
            r#"{"eventID":"c1","eventName":"PutImage","errorCode":"AccessDeniedException"}"#,
            r#"{"eventID":"w2","eventName":"AssumeRoleWithWebIdentity","errorCode":null}"#,
        ]
    );
    assert_eq!(ids(t.path(), &["--sub", MAIN]), ["w2"]);
    let out = lines(&[
        &d,
        "--jq",
        ".responseElements.credentials.sessionToken // empty",
        "--format",
        "ndjson",
    ]);
    assert_eq!(out, ["\"<redacted>\""]);
}

#[test]
fn unreadable_inputs_are_named_and_exit_3() {
    let t = trail();
    // a log cut short: the record before the damage is kept
    let bad = t.bytes(
        "AWSLogs/3.json",
        b"{\"Records\":[{\"eventID\":\"x1\",\"eventName\":\"A\"},{\"eventID\":",
    );
    // an input that is not even a gzip stream past its magic bytes is unreadable
    let gone = t.bytes(
        "AWSLogs/gone.json.gz",
        &[0x1f, 0x8b, 0x08, 0xff, 0xff, 0xff],
    );
    let d = arg(t.path());
    let r = trailwhy(&["query", &d, "--count"]);
    assert_eq!(r.code, 3, "{}", r.stderr);
    assert_eq!(r.stdout, "8\n", "the records before the damage are kept");
    let err: Vec<&str> = r.stderr.lines().collect();
    assert_eq!(err.len(), 2, "{}", r.stderr);
    // unreadable inputs first, then what could not be read of partly read ones
    assert!(
        err[0].starts_with(&format!("trailwhy: {}: ", gone.display())),
        "{}",
        err[0]
    );
    assert!(
        err[1].starts_with(&format!("trailwhy: {}: ", bad.display())),
        "{}",
        err[1]
    );
    // skipped by design (a digest) does not change the exit code
    t.json(
        "AWSLogs/CloudTrail-Digest/d.json.gz",
        &json!({"digestStartTime": "x", "logFiles": []}),
    );
    std::fs::remove_file(&bad).unwrap();
    std::fs::remove_file(&gone).unwrap();
    let r = trailwhy(&["query", &d, "--count"]);
    assert_eq!(
        (r.code, r.stdout.as_str(), r.stderr.as_str()),
        (0, "7\n", "")
    );
}

#[test]
fn broken_pipe_exits_quietly() {
    let t = Tree::new();
    for f in 0..4 {
        let recs: Vec<Value> = (0..2000)
            .map(|i| {
                call(
                    &format!("{f}-{i}"),
                    "2026-10-01T10:00:00Z",
                    WEB,
                    "ecr.amazonaws.com",
                    "PutImage",
                    None,
                )
            })
            .collect();
        t.log_gz(&format!("logs/{f}.json.gz"), &recs);
    }
    let mut child = Command::new(env!("CARGO_BIN_EXE_trailwhy"))
        .args(["query", &arg(t.path()), "--format", "ndjson"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut head = [0u8; 100];
    child
        .stdout
        .as_mut()
        .unwrap()
        .read_exact(&mut head)
        .unwrap();
    drop(child.stdout.take());
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(String::from_utf8_lossy(&out.stderr), "");
}

#[test]
fn sample_logs_denials_by_event_name() {
    let sample = concat!(env!("CARGO_MANIFEST_DIR"), "/sample-logs");
    // verified with: zcat $(find sample-logs/AWSLogs -path '*/CloudTrail/*' -name '*.json.gz') |
    //   jq -r '.Records[] | select(.errorCode|startswith("AccessDenied")?) | .eventName' | sort | uniq -c
    assert_eq!(
        lines(&[
            sample,
            "--error-code",
            "AccessDenied*",
            "--group-by",
            "eventName",
            "--format",
            "ndjson"
        ]),
        [
            r#"{"eventName":"AssumeRoleWithWebIdentity","count":44}"#,
            r#"{"eventName":"InitiateLayerUpload","count":7}"#,
            r#"{"eventName":"GetAuthorizationToken","count":2}"#,
            r#"{"eventName":"AssumeRole","count":1}"#,
            r#"{"eventName":"DescribeRepositories","count":1}"#,
            r#"{"eventName":"ListObjects","count":1}"#,
            r#"{"eventName":"PutImage","count":1}"#,
        ]
    );
    // 636 + the CodeBuild story's three CloudTrail records (its build inputs are not events)
    assert_eq!(lines(&[sample, "--count"]), ["639"]);
    assert_eq!(lines(&[sample, "--errors-only", "--count"]), ["63"]);
    // every session token in the sample starts with IQoJb3JpZ2luX2Vj; none may be printed
    let r = trailwhy(&["query", sample, "--format", "ndjson"]);
    assert_eq!(r.code, 0);
    assert!(!r.stdout.contains("IQoJb3JpZ2luX2Vj"));
}

/// `select(.f | test("re")) | projection` is answered from the record's bytes; every record
/// it cannot answer (the field missing, null, a number, an object; escaped text; a secret
/// field; a duplicate key) takes the program, and the rows and errors are those of the same
/// program written so that no fast path applies.
#[test]
fn regex_select_fast_path_gives_the_programs_rows_and_errors() {
    let t = Tree::new();
    t.bytes(
        "logs/1.json",
        br#"{"Records":[
{"eventName":"E","eventID":"a1","userAgent":"GitHubActions run_id#12"},
{"eventName":"E","eventID":"a2","userAgent":"aws-cli/2.15"},
{"eventName":"E","eventID":"a3","userAgent":"run\u005fid#7 escaped"},
{"eventName":"E","eventID":"a4"},
{"eventName":"E","eventID":"a5","userAgent":null},
{"eventName":"E","eventID":"a6","userAgent":42},
{"eventName":"E","eventID":"a7","userAgent":{"run_id#":1}},
{"eventName":"E","eventID":"a8","userAgent":"RUN_ID#9 upper","sessionToken":"run_id#secret"},
{"eventName":"E","eventID":"a9","userAgent":"x","userAgent":"run_id#dup"},
{"eventName":"E","eventID":"b1","requestParameters":{"clientSecret":"run_id#s","name":"run_id#n"}}
]}"#,
    );
    let d = arg(t.path());
    let programs = [
        r#"select(.userAgent | test("run_id#")) | .eventID"#,
        r#"select(.userAgent | test("run_id#"; "i")) | {eventID, userAgent}"#,
        r#"select(.requestParameters.clientSecret | test("run_id"))"#,
        r#"select(.requestParameters.name | test("^run"))"#,
        r#"select(.userAgent | test("("))"#,
        r#"select(.userAgent // "run_id#default" | test("run_id#")) | .eventID"#,
        r#"select(.userAgent | test("run_id#")) | {id: .eventID, n: (.userAgent | length)}"#,
        r##"select(.userAgent | test("run_id#")) | .userAgent | capture("#(?<n>[0-9]+)")"##,
    ];
    same_as_without_fast_paths(
        &d,
        &programs,
        &[&["--format", "ndjson"], &["--format", "csv"], &["--count"]],
    );
    assert_eq!(
        run_rows(
            &d,
            r#"select(.userAgent // "run_id#" | test("run_id#")) | .eventID"#
        ),
        [r#""a1""#, r#""a3""#, r#""a4""#, r#""a5""#, r#""a9""#, r#""b1""#]
    );
    // and the rows themselves
    let r = run_rows(&d, r#"select(.userAgent | test("run_id#")) | .eventID"#);
    assert_eq!(r, [r#""a1""#, r#""a3""#, r#""a9""#]);
}

/// A program that reads only some paths gets a record of only those parts, and one of the
/// common shape runs without jaq's interpreter (`query::eval`); the rows and errors are
/// those of the same program written so that neither applies, including on records where
/// a path meets a string, an array or a number (jaq's errors, which name the value).
#[test]
fn parts_and_native_programs_give_the_programs_rows_and_errors() {
    let t = Tree::new();
    t.bytes(
        "logs/1.json",
        br#"{"Records":[
{"eventName":"E","eventTime":"2026-10-01T10:00:00Z","userIdentity":{"type":"WebIdentityUser","userName":"repo:octo/app:ref:refs/heads/main","sessionContext":{"a":1}},"userAgent":"aws-cli/2.15.0 md/run_id#42"},
{"eventName":"E","eventTime":"2026-10-01T11:00:00Z","userIdentity":{"type":"AssumedRole","sessionToken":"tok"},"userAgent":"Go/1.1","errorCode":"AccessDenied"},
{"eventName":"E","eventTime":"2026-10-01T12:00:00Z","userIdentity":"a string","userAgent":["x"]},
{"eventName":"E","eventTime":7,"userIdentity":[{"userName":"in an array"}],"userAgent":{"k":"v"}},
{"eventName":"E","eventTime":null,"userIdentity":null,"userAgent":null,"errorCode":false},
{"eventName":"E","eventTime":"2026-10-01T13:00:00Z","userIdentity":{"userName":"repo:o/r:environment:prod","userName":"repo:dup/key:pull_request"},"userAgent":"\u00e9 1.2.3/4"}
]}"#,
    );
    let d = arg(t.path());
    let programs = [
        r#"{repo: ((.userIdentity.userName // "" | capture("^repo:(?<r>[^:]+)").r) // "(no OIDC subject)"), day: .eventTime[:10]}"#,
        r#".userAgent | sub("/[0-9.]+"; "")"#,
        r#".userAgent | gsub("[0-9]"; "N")"#,
        r#"select(.errorCode) | {errorCode, who: .userIdentity.type, t: .userIdentity.sessionToken}"#,
        r#".userIdentity.sessionContext.a // "none""#,
        r#"{u: .userIdentity.userName, s: .userIdentity.sessionContext}"#,
        r#".userIdentity.userName | test("repo:"; "i")"#,
    ];
    same_as_without_fast_paths(&d, &programs, &[&["--format", "ndjson"], &["--count"]]);
    // and the rows themselves
    assert_eq!(
        run_rows(&d, programs[0]),
        [
            r#"{"repo":"octo/app","day":"2026-10-01"}"#,
            r#"{"repo":"(no OIDC subject)","day":"2026-10-01"}"#,
            r#"{"repo":"dup/key","day":"2026-10-01"}"#,
        ]
    );
    assert_eq!(
        run_rows(&d, programs[3]),
        [r#"{"errorCode":"AccessDenied","who":"AssumedRole","t":"<redacted>"}"#]
    );
}

/// Each program gives the exit code, stdout and stderr, in each of `formats`, of the same
/// program behind `. as $r | $r | …`, which no fast path recognises.
fn same_as_without_fast_paths(d: &str, programs: &[&str], formats: &[&[&str]]) {
    for fast in programs {
        let slow = format!(". as $r | $r | {fast}");
        for format in formats {
            let run = |p: &str| {
                let mut a = vec!["query", d, "--jq", p, "--threads", "1"];
                a.extend_from_slice(format);
                trailwhy(&a)
            };
            let (f, s) = (run(fast), run(&slow));
            assert_eq!(f.code, s.code, "{fast} {format:?}");
            assert_eq!(f.stdout, s.stdout, "{fast} {format:?}");
            assert_eq!(f.stderr, s.stderr, "{fast} {format:?}");
        }
    }
}

fn run_rows(d: &str, program: &str) -> Vec<String> {
    let r = trailwhy(&["query", d, "--jq", program, "--format", "ndjson"]);
    r.stdout.lines().map(str::to_owned).collect()
}

#[test]
fn tonumber_and_fromjson_on_text_that_is_not_json_end_with_one_error_each() {
    // jaq-json's fromjson (and tonumber, defined over it) yielded errors without end on
    // such text: the run never finished
    let t = trail();
    let d = arg(t.path());
    let r = trailwhy(&[
        "query",
        &d,
        "--jq",
        r#"("aws-cli/2" | tonumber), ("[1, 2]" | fromjson), (" 7 " | tonumber)"#,
        "--format",
        "ndjson",
    ]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let rows: Vec<&str> = r.stdout.lines().collect();
    assert_eq!(rows.len(), 2 * 7, "{}", r.stdout);
    assert_eq!(&rows[..2], ["[1,2]", "7"]);
    let err: Vec<&str> = r.stderr.lines().collect();
    assert_eq!(err.len(), 1, "{}", r.stderr);
    assert!(
        err[0].contains("cannot parse")
            && err[0].contains("aws-cli/2")
            && err[0].ends_with("as JSON: byte offset 0: value expected (6 more)"),
        "{}",
        err[0]
    );
}

#[test]
fn a_table_fits_the_width_columns_gives() {
    let t = trail();
    let d = arg(t.path());
    let fields =
        "eventTime,eventName,userIdentity.arn,errorMessage,requestParameters.repositoryName";
    let args = [
        "query",
        &d,
        "--format",
        "table",
        "--fields",
        fields,
        "--threads",
        "1",
    ];
    let table = |columns: &str| {
        let r = trailwhy_env(&args, &[("COLUMNS", columns)]);
        assert_eq!(r.code, 0, "{}", r.stderr);
        r.stdout
    };
    let wide = table("250");
    let narrow = table("80");
    // room enough: nothing cut; the same table as without a width
    assert!(!wide.contains('…'), "{wide}");
    let plain = trailwhy(&args);
    assert_eq!(wide, plain.stdout);
    // 200 columns: the widest column (the ARNs, 65 characters) is cut to fit
    let two_hundred = table("200");
    for line in two_hundred.lines() {
        assert!(line.chars().count() <= 200, "{line}");
    }
    assert!(
        two_hundred.contains("assumed-role/gha-web/GitHubAction…"),
        "{two_hundred}"
    );
    // 80 columns: every line fits, the widest columns cut with …
    for line in narrow.lines() {
        assert!(
            line.chars().count() <= 80,
            "{} chars: {line}",
            line.chars().count()
        );
    }
    assert!(narrow.contains('…'), "{narrow}");
    assert_eq!(narrow.lines().count(), wide.lines().count());
    assert!(narrow.lines().next().unwrap().starts_with("eventTime"));
    // too narrow for five columns: one `column: value` line each, rows apart
    // (its longest name, 32 characters, does not leave room beside it: names on their own lines)
    let vertical = table("30");
    let first: Vec<&str> = vertical.lines().take(11).collect();
    assert_eq!(
        &first[..4],
        [
            "eventTime",
            "  2026-10-01T10:00:00Z",
            "eventName",
            "  AssumeRoleWithWebIdentity"
        ]
    );
    assert_eq!(first[10], "");
    for line in vertical.lines().filter(|l| l.starts_with("  ")) {
        assert!(line.chars().count() <= 30, "{line}");
    }
    // short names stand beside their values
    let r = trailwhy_env(
        &[
            "query",
            &d,
            "--format",
            "table",
            "--fields",
            "eventTime,eventName,awsRegion,eventType,eventSource",
            "--threads",
            "1",
        ],
        &[("COLUMNS", "30")],
    );
    let first: Vec<&str> = r.stdout.lines().take(2).collect();
    assert_eq!(
        first,
        [
            "  eventTime  2026-10-01T10:00…",
            "  eventName  AssumeRoleWithWe…"
        ],
        "{}",
        r.stdout
    );
}
