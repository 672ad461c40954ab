//! `--aws-details`: AWS's own record of a denial (IAM Access Troubleshooter), read through the
//! AWS SDK for Rust from an IAM Toolbox server of ours (moto has none) that speaks the
//! documented REST-JSON protocol: `GET /authorization-details/{id}` with `nextToken` paging,
//! `GET /authorization-details/{id}/policy?policyUri=…`, errors by `x-amzn-ErrorType`, and
//! faults on demand (throttling, an expired ID, access denied). Every request must be signed
//! with SigV4 for service `iam` in the denial's own region. No test reaches the internet.
#![allow(clippy::unwrap_used, clippy::expect_used, reason = "tests")]

mod aws;
mod common;

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Mutex};

use common::*;
use serde_json::{json, Value};

const ROLE: &str = "arn:aws:iam::111122223333:role/gha-web";
const REPO: &str = "arn:aws:ecr:us-west-2:111122223333:repository/web";
const DENY_ARN: &str = "arn:aws:iam::111122223333:policy/DenyProdPush";

/// One authorization ID's answers: the details (paged `page` evaluations at a time) and
/// the captured document of each policy URI.
#[derive(Clone)]
struct Answer {
    details: Value,
    documents: BTreeMap<String, Value>,
    page: usize,
}

#[derive(Default)]
struct ServerState {
    answers: BTreeMap<String, Answer>,
    /// id → (HTTP status, error type): answered instead of the record.
    errors: BTreeMap<String, (u16, &'static str)>,
    /// `sts:DecodeAuthorizationMessage`: encoded message → the decoded JSON text.
    decoded: BTreeMap<String, String>,
    /// Requests still to be throttled (429 ThrottlingException), any path.
    throttle: u32,
    /// Every request: path with query, and the SigV4 credential scope.
    log: Vec<(String, String)>,
}

struct Toolbox {
    port: u16,
    state: Arc<Mutex<ServerState>>,
}

impl Toolbox {
    fn start(state: ServerState) -> Toolbox {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let state = Arc::new(Mutex::new(state));
        let shared = state.clone();
        std::thread::spawn(move || {
            for conn in listener.incoming().flatten() {
                let state = shared.clone();
                std::thread::spawn(move || serve(conn, &state));
            }
        });
        Toolbox { port, state }
    }

    fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    fn log(&self) -> Vec<(String, String)> {
        self.state.lock().unwrap().log.clone()
    }
}

fn query_param(query: &str, name: &str) -> Option<String> {
    query
        .split('&')
        .filter_map(|kv| kv.split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| {
            percent_encoding::percent_decode_str(v)
                .decode_utf8_lossy()
                .into_owned()
        })
}

fn serve(conn: TcpStream, state: &Mutex<ServerState>) {
    let mut reader = BufReader::new(conn.try_clone().unwrap());
    let mut conn = conn;
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).unwrap_or(0) == 0 {
            return;
        }
        let target = line.split_whitespace().nth(1).unwrap_or("/").to_owned();
        let mut length = 0usize;
        let mut scope = String::new();
        loop {
            let mut h = String::new();
            reader.read_line(&mut h).unwrap();
            let h = h.trim_end();
            if h.is_empty() {
                break;
            }
            let (k, v) = h.split_once(':').unwrap_or((h, ""));
            match k.to_ascii_lowercase().as_str() {
                "content-length" => length = v.trim().parse().unwrap_or(0),
                "authorization" => {
                    // AWS4-HMAC-SHA256 Credential=KEY/DATE/REGION/SERVICE/aws4_request, …
                    scope = v
                        .split("Credential=")
                        .nth(1)
                        .and_then(|c| c.split(',').next())
                        .and_then(|c| c.split_once('/'))
                        .map(|(_, s)| s.split('/').skip(1).take(2).collect::<Vec<_>>().join("/"))
                        .unwrap_or_default();
                }
                _ => {}
            }
        }
        let mut body = vec![0; length];
        reader.read_exact(&mut body).unwrap();
        let form = String::from_utf8_lossy(&body).into_owned();
        let (status, error_type, text, content_type) =
            if form.contains("Action=DecodeAuthorizationMessage") {
                let (status, xml) = decode(state, &form, &scope);
                (status, None, xml, "text/xml")
            } else {
                let (status, error_type, payload) = answer(state, &target, &scope);
                (status, error_type, payload.to_string(), "application/json")
            };
        let mut head = format!(
            "HTTP/1.1 {status} X\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\nx-amzn-RequestId: req-1\r\n",
            text.len()
        );
        if let Some(t) = error_type {
            head.push_str(&format!("x-amzn-ErrorType: {t}\r\n"));
        }
        head.push_str("\r\n");
        if conn.write_all(head.as_bytes()).is_err() || conn.write_all(text.as_bytes()).is_err() {
            return;
        }
    }
}

fn xml_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// STS `DecodeAuthorizationMessage` (awsQuery: a form POST, an XML answer).
fn decode(state: &Mutex<ServerState>, form: &str, scope: &str) -> (u16, String) {
    let mut s = state.lock().unwrap();
    s.log.push((
        "sts:DecodeAuthorizationMessage".to_owned(),
        scope.to_owned(),
    ));
    let message = query_param(&form.replace('+', " "), "EncodedMessage").unwrap_or_default();
    let error = |code: &str| {
        format!("<ErrorResponse><Error><Type>Sender</Type><Code>{code}</Code><Message>{code}</Message></Error><RequestId>req-1</RequestId></ErrorResponse>")
    };
    if !scope.ends_with("/sts") {
        return (403, error("SignatureDoesNotMatch"));
    }
    match s.decoded.get(&message) {
        Some(text) => (
            200,
            format!(
                "<DecodeAuthorizationMessageResponse xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\"><DecodeAuthorizationMessageResult><DecodedMessage>{}</DecodedMessage></DecodeAuthorizationMessageResult><ResponseMetadata><RequestId>req-1</RequestId></ResponseMetadata></DecodeAuthorizationMessageResponse>",
                xml_escape(text)
            ),
        ),
        None => (400, error("InvalidAuthorizationMessageException")),
    }
}

fn answer(
    state: &Mutex<ServerState>,
    target: &str,
    scope: &str,
) -> (u16, Option<&'static str>, Value) {
    let mut s = state.lock().unwrap();
    s.log.push((target.to_owned(), scope.to_owned()));
    if !scope.ends_with("/iam") {
        return (
            403,
            Some("InvalidSignatureException"),
            json!({"message": format!("not signed for service iam: {scope}")}),
        );
    }
    if s.throttle > 0 {
        s.throttle -= 1;
        return (
            429,
            Some("ThrottlingException"),
            json!({"message": "Rate exceeded"}),
        );
    }
    let (path, query) = target.split_once('?').unwrap_or((target, ""));
    let Some(rest) = path.strip_prefix("/authorization-details/") else {
        return (
            404,
            Some("UnknownOperationException"),
            json!({"message": path}),
        );
    };
    let (id, policy) = match rest.split_once('/') {
        Some((id, "policy")) => (id, true),
        _ => (rest, false),
    };
    if let Some((status, t)) = s.errors.get(id) {
        return (
            *status,
            Some(t),
            json!({"message": format!("{t} for {id}")}),
        );
    }
    let Some(a) = s.answers.get(id).cloned() else {
        return (
            404,
            Some("ResourceNotFoundException"),
            json!({"message": "Authorization details not found"}),
        );
    };
    if policy {
        let uri = query_param(query, "policyUri").unwrap_or_default();
        return match a.documents.get(&uri) {
            Some(doc) => (200, None, json!({"policyDocument": doc})),
            None => (
                404,
                Some("ResourceNotFoundException"),
                json!({"message": format!("no policy {uri}")}),
            ),
        };
    }
    let start: usize = query_param(query, "nextToken")
        .map(|t| t.trim_start_matches("page-").parse().unwrap())
        .unwrap_or(0);
    let all = a.details["evaluations"].as_array().unwrap();
    let end = (start + a.page).min(all.len());
    let mut page = a.details.clone();
    page["evaluations"] = json!(all[start..end]);
    if end < all.len() {
        page["nextToken"] = json!(format!("page-{end}"));
    }
    (200, None, page)
}

/// A denied `ecr:PutImage` in us-west-2 whose message carries `id`.
fn denied_push(event: &str, id: &str, explicit: bool) -> Value {
    let how = if explicit {
        format!("with an explicit deny in an identity-based policy: {DENY_ARN}")
    } else {
        "because no identity-based policy allows the ecr:PutImage action".to_owned()
    };
    Event::call(
        Who::session(ROLE, "ASIAEXAMPLEKEY01"),
        event,
        "2026-10-01T12:00:00Z",
        "ecr.amazonaws.com",
        "PutImage",
    )
    .region("us-west-2")
    .request(json!({"repositoryName": "web", "registryId": ACCT, "imageTag": "v1"}))
    .error("AccessDenied", "")
    .set(
        "errorMessage",
        json!(format!(
            "User: arn:aws:sts::111122223333:assumed-role/gha-web/GitHubActions is not authorized to perform: ecr:PutImage on resource: {REPO} {how}. Go to https://us-west-2.console.aws.amazon.com/iam/home?region=us-west-2#/authorization-details/{id} for complete details, or call the GetRequestAuthorizationDetails API with the following authorization id: {id}"
        )),
    )
    .record()
}

fn allow_push() -> Value {
    json!({"Version": "2012-10-17", "Statement": [
        {"Sid": "Push", "Effect": "Allow", "Action": "ecr:*", "Resource": "*"}
    ]})
}

/// A Deny on pushes to repositories tagged env=prod: a tag the tool cannot know without
/// AWS's record (no inventory is given).
fn deny_prod() -> Value {
    json!({"Version": "2012-10-17", "Statement": [
        {"Sid": "DenyProd", "Effect": "Deny", "Action": "ecr:PutImage", "Resource": "*",
         "Condition": {"StringEquals": {"aws:ResourceTag/env": "prod"}}}
    ]})
}

/// AWS's record of an explicit deny by DenyProdPush, two evaluations (so two pages).
fn explicit_record() -> Answer {
    Answer {
        details: json!({
            "requestContext": {
                "aws:PrincipalArn": ROLE,
                "aws:RequestedRegion": "us-west-2",
                "aws:ResourceTag/env": "prod",
                "aws:SourceIp": "20.42.16.112"
            },
            "evaluations": [
                {"action": "ecr:InitiateLayerUpload", "resource": REPO, "evaluatedEffect": "ALLOW",
                 "matchedPolicies": [{"uri": "AIPAINLINE0001", "matchedStatements": [{"sid": "Push", "evaluatedEffect": "ALLOW"}]}]},
                {"action": "ecr:PutImage", "resource": REPO, "evaluatedEffect": "EXPLICIT_DENY",
                 "matchedPolicies": [{"uri": DENY_ARN, "matchedStatements": [{"sid": "DenyProd", "evaluatedEffect": "DENY"}]}]}
            ],
            "policies": [
                {"type": "IDENTITY_BASED_POLICY", "inline": true, "uri": "AIPAINLINE0001", "attachedTo": [{"arn": ROLE}]},
                {"type": "IDENTITY_BASED_POLICY", "inline": false, "uri": DENY_ARN, "attachedTo": [{"arn": ROLE}]}
            ]
        }),
        documents: BTreeMap::from([
            ("AIPAINLINE0001".to_owned(), allow_push()),
            (DENY_ARN.to_owned(), deny_prod()),
        ]),
        page: 1,
    }
}

/// AWS's record of an implicit deny whose captured policy allows the push: the tool's
/// evaluation of it must disagree.
fn contradicting_record() -> Answer {
    Answer {
        details: json!({
            "requestContext": {"aws:PrincipalArn": ROLE, "aws:RequestedRegion": "us-west-2"},
            "evaluations": [
                {"action": "ecr:PutImage", "resource": REPO, "evaluatedEffect": "IMPLICIT_DENY", "matchedPolicies": []}
            ],
            "policies": [
                {"type": "IDENTITY_BASED_POLICY", "inline": true, "uri": "AIPAINLINE0002", "attachedTo": [{"arn": ROLE}]}
            ]
        }),
        documents: BTreeMap::from([("AIPAINLINE0002".to_owned(), allow_push())]),
        page: 10,
    }
}

fn logs(records: &[Value]) -> (Tree, String) {
    let tree = Tree::new();
    tree.log_gz("logs/trail.json.gz", records);
    let dir = tree.path().join("logs").to_str().unwrap().to_owned();
    (tree, dir)
}

/// `explain --format json --aws-details` against `server` with the tests' credentials,
/// `args` last (the logs); it must succeed.
fn explain_live(server: &Toolbox, args: &[&str]) -> Run {
    let url = server.url();
    let mut all = vec![
        "explain",
        "--format",
        "json",
        "--aws-details",
        "--endpoint-url",
        &url,
    ];
    all.extend_from_slice(args);
    let run = trailwhy_env(&all, &aws::aws_env());
    assert_eq!(run.code, 0, "{}", run.stderr);
    run
}

fn finding_of<'a>(report: &'a Value, event: &str) -> &'a Value {
    report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["event_ids"][0] == event)
        .unwrap_or_else(|| panic!("no finding of {event}: {report:#}"))
}

#[test]
fn explicit_deny_is_explained_from_aws_record_with_paging_and_throttling() {
    let server = Toolbox::start(ServerState {
        answers: BTreeMap::from([("abc123def456".to_owned(), explicit_record())]),
        throttle: 1,
        ..ServerState::default()
    });
    let (_tree, dir) = logs(&[denied_push("ev-1", "abc123def456", true)]);
    let run = explain_live(&server, &[&dir]);
    let report = run.json();
    let f = finding_of(&report, "ev-1");
    assert_eq!(f["cause"], "identity_explicit_deny", "{f:#}");
    let e = &f["details"]["aws_evaluation"];
    assert_eq!(e["authorization_id"], "abc123def456");
    assert_eq!(e["source"], "live");
    assert_eq!(e["effect"], "EXPLICIT_DENY");
    assert_eq!(e["action"], "ecr:PutImage");
    assert_eq!(e["cross_check"], "agrees", "{f:#}");
    assert_eq!(
        e["matched"],
        json!([{"uri": DENY_ARN, "type": "IDENTITY_BASED_POLICY",
                "statements": [{"sid": "DenyProd", "effect": "DENY"}]}])
    );
    assert_eq!(e["context"]["aws:ResourceTag/env"], "prod");
    assert_eq!(e["policies"][1]["document"], "captured");
    let why = f["explanation"].as_str().unwrap();
    assert!(why.contains("authorization ID abc123def456"), "{why}");
    assert!(
        why.contains(&format!(
            "statement 'DenyProd' of identity-based policy {DENY_ARN}"
        )),
        "{why}"
    );
    assert!(why.contains("agrees"), "{why}");
    // the tag came from AWS's record, not a guess: the condition's value is sourced to it
    let evidence = f["evidence"].as_array().unwrap();
    assert!(
        evidence.iter().any(|x| x["key"] == "aws:ResourceTag/env"
            && x["actual"] == "prod"
            && x["value_source"] == "aws"),
        "{f:#}"
    );
    assert!(
        evidence.iter().any(|x| x["policy"] == DENY_ARN
            && x["sid"] == "DenyProd"
            && x["operator"] == "matched_by_aws"),
        "{f:#}"
    );
    let s = &report["summary"]["aws_details"];
    assert_eq!(s["ids_seen"], 1);
    assert_eq!(s["fetched"], 1);
    assert_eq!(s["disagreements"], 0);
    // one throttled request retried, two pages, two policies; signed for iam in us-west-2
    let log = server.log();
    let paths: Vec<&str> = log.iter().map(|(p, _)| p.as_str()).collect();
    assert_eq!(
        paths,
        [
            "/authorization-details/abc123def456",
            "/authorization-details/abc123def456",
            "/authorization-details/abc123def456?nextToken=page-1",
            "/authorization-details/abc123def456/policy?policyUri=AIPAINLINE0001",
            "/authorization-details/abc123def456/policy?policyUri=arn%3Aaws%3Aiam%3A%3A111122223333%3Apolicy%2FDenyProdPush",
        ],
        "{log:?}"
    );
    assert!(
        log.iter().all(|(_, scope)| scope == "us-west-2/iam"),
        "{log:?}"
    );
}

#[test]
fn a_disagreement_with_aws_is_reported_and_aws_stands() {
    let server = Toolbox::start(ServerState {
        answers: BTreeMap::from([("contra1".to_owned(), contradicting_record())]),
        ..ServerState::default()
    });
    let (_tree, dir) = logs(&[denied_push("ev-2", "contra1", false)]);
    let run = explain_live(&server, &[&dir]);
    let report = run.json();
    let f = finding_of(&report, "ev-2");
    assert_eq!(f["cause"], "identity_policy_no_allow", "{f:#}");
    assert_eq!(f["details"]["aws_evaluation"]["cross_check"], "disagrees");
    assert_eq!(
        f["details"]["verdict_disagreement"],
        json!({"aws": {"effect": "IMPLICIT_DENY", "matched": []},
               "tool": {"effect": "ALLOW", "denied_by": null, "matched": []}})
    );
    assert!(
        f["explanation"]
            .as_str()
            .unwrap()
            .contains("disagrees with AWS"),
        "{f:#}"
    );
    assert_eq!(report["summary"]["aws_details"]["disagreements"], 1);
    assert!(
        run.stderr
            .contains("1 failed call(s) where the tool's own evaluation disagrees"),
        "{}",
        run.stderr
    );
}

#[test]
fn expired_refused_and_unknown_ids_fall_back_to_the_logs() {
    let server = Toolbox::start(ServerState {
        errors: BTreeMap::from([("refused1".to_owned(), (403, "AccessDeniedException"))]),
        ..ServerState::default()
    });
    let (_tree, dir) = logs(&[
        denied_push("ev-3", "expired1", true),
        denied_push("ev-4", "refused1", true),
        // not an ID (upper case): hostile text is never sent nor used as a file name
        denied_push("ev-5", "../../etc/passwd", true),
    ]);
    let run = explain_live(&server, &[&dir]);
    let report = run.json();
    // today's path for all three (one finding: same cause and explanation)
    let f = finding_of(&report, "ev-3");
    assert_eq!(f["cause"], "no_policy_data", "{f:#}");
    assert_eq!(f["event_ids"], json!(["ev-3", "ev-4", "ev-5"]));
    assert!(f["details"].get("aws_evaluation").is_none(), "{f:#}");
    let s = &report["summary"]["aws_details"];
    assert_eq!(
        (
            s["ids_seen"].as_u64(),
            s["fetched"].as_u64(),
            s["expired"].as_u64(),
            s["refused"].as_u64()
        ),
        (Some(2), Some(0), Some(1), Some(1)),
        "{s:#}"
    );
    assert!(run.stderr.contains("expired: not found"), "{}", run.stderr);
    assert!(
        run.stderr.contains("refused: access denied"),
        "{}",
        run.stderr
    );
    assert_eq!(server.log().len(), 2, "{:?}", server.log());
}

#[test]
fn saved_records_give_the_same_findings_offline() {
    let server = Toolbox::start(ServerState {
        answers: BTreeMap::from([
            ("abc123def456".to_owned(), explicit_record()),
            ("contra1".to_owned(), contradicting_record()),
        ]),
        ..ServerState::default()
    });
    let (tree, dir) = logs(&[
        denied_push("ev-1", "abc123def456", true),
        denied_push("ev-2", "contra1", false),
    ]);
    let saved = tree.path().join("aws-details");
    let saved = saved.to_str().unwrap();
    let live = explain_live(&server, &["--save-aws-details", saved, &dir]);
    let files: Vec<String> = files_under(saved)
        .iter()
        .map(|f| f.rsplit('/').next().unwrap().to_owned())
        .collect();
    assert_eq!(files, ["abc123def456.json", "contra1.json"]);
    let offline = trailwhy(&[
        "explain",
        "--format",
        "json",
        "--aws-details-dir",
        saved,
        &dir,
    ]);
    assert_eq!(offline.code, 0, "{}", offline.stderr);
    let (a, b) = (live.json(), offline.json());
    for ev in ["ev-1", "ev-2"] {
        let (x, y) = (finding_of(&a, ev), finding_of(&b, ev));
        assert_eq!(x["cause"], y["cause"]);
        assert_eq!(x["evidence"], y["evidence"]);
        assert_eq!(
            x["details"]["verdict_disagreement"],
            y["details"]["verdict_disagreement"]
        );
        let mut ex = x["details"]["aws_evaluation"].clone();
        let ey = y["details"]["aws_evaluation"].clone();
        assert_eq!(ey["source"], "file");
        ex["source"] = json!("file");
        assert_eq!(ex, ey);
        // the explanation names where the record came from, and nothing else differs
        let id = ex["authorization_id"].as_str().unwrap();
        assert_eq!(
            x["explanation"]
                .as_str()
                .unwrap()
                .replace("fetched from AWS in us-west-2", "SOURCE"),
            y["explanation"]
                .as_str()
                .unwrap()
                .replace(&format!("read from {saved}/{id}.json"), "SOURCE")
        );
    }
    assert_eq!(b["summary"]["aws_details"]["from_file"], 2);
    assert_eq!(b["summary"]["aws_details"]["fetched"], 0);
}

#[test]
fn a_saved_record_that_is_not_one_is_an_error_naming_it() {
    let (tree, dir) = logs(&[denied_push("ev-1", "abc123def456", true)]);
    let saved = tree.path().join("saved");
    std::fs::create_dir_all(&saved).unwrap();
    std::fs::write(saved.join("abc123def456.json"), "{\"Records\": []}").unwrap();
    let run = trailwhy(&[
        "explain",
        "--format",
        "json",
        "--aws-details-dir",
        saved.to_str().unwrap(),
        &dir,
    ]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(run.stderr.contains("abc123def456.json"), "{}", run.stderr);
    assert!(
        run.stderr
            .contains("not the output of get-request-authorization-details"),
        "{}",
        run.stderr
    );
    // no saved record for an ID: counted, today's path
    std::fs::remove_file(saved.join("abc123def456.json")).unwrap();
    let run = trailwhy(&[
        "explain",
        "--format",
        "json",
        "--aws-details-dir",
        saved.to_str().unwrap(),
        &dir,
    ]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(run.json()["summary"]["aws_details"]["not_saved"], 1);
}

#[test]
fn save_without_fetch_is_refused() {
    let run = trailwhy(&["explain", "--save-aws-details", "/tmp/x", "sample-logs"]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(run.stderr.contains("add --aws-details"), "{}", run.stderr);
}

/// An EC2 call denied with an encoded authorization message: decoded, AWS's context gives the
/// instance type the role's Deny turns on, which the logs do not hold.
#[test]
fn an_encoded_message_is_decoded_and_its_context_decides_the_condition() {
    let decoded = json!({
        "allowed": false, "explicitDeny": true,
        "matchedStatements": {"items": [{"statementId": "OnlyMicro", "effect": "DENY",
            "principals": {"items": [{"value": "AROAEXAMPLE"}]}, "principalGroups": {"items": []},
            "actions": {"items": [{"value": "ec2:RunInstances"}]}, "resources": {"items": [{"value": "*"}]},
            "conditions": {"items": []}}]},
        "failures": {"items": []},
        "context": {
            "principal": {"id": "AROAEXAMPLE:GitHubActions", "arn": "arn:aws:sts::111122223333:assumed-role/gha-web/GitHubActions"},
            "action": "RunInstances",
            "resource": "arn:aws:ec2:us-west-2:111122223333:instance/*",
            "conditions": {"items": [
                {"key": "ec2:InstanceType", "values": {"items": [{"value": "m5.large"}]}},
                {"key": "aws:Region", "values": {"items": [{"value": "us-west-2"}]}}
            ]}
        }
    });
    let server = Toolbox::start(ServerState {
        decoded: BTreeMap::from([("ENC-x_1".to_owned(), decoded.to_string())]),
        ..ServerState::default()
    });
    let mut role = auth_details(ACCT, &[("gha-web", trust(json!({})))]);
    role["RoleDetailList"][0]["RolePolicyList"] = json!([{"PolicyName": "ec2", "PolicyDocument": {
        "Version": "2012-10-17", "Statement": [
            {"Sid": "Run", "Effect": "Allow", "Action": "ec2:RunInstances", "Resource": "*"},
            {"Sid": "OnlyMicro", "Effect": "Deny", "Action": "ec2:RunInstances", "Resource": "*",
             "Condition": {"StringNotEquals": {"ec2:InstanceType": "t3.micro"}}}]}}]);
    let tree = Tree::new();
    tree.json("iam/auth.json", &role);
    let record = Event::call(
        Who::session(ROLE, "ASIAEXAMPLEKEY02"),
        "ev-ec2",
        "2026-10-01T12:00:00Z",
        "ec2.amazonaws.com",
        "RunInstances",
    )
    .region("us-west-2")
    .error(
        "Client.UnauthorizedOperation",
        "You are not authorized to perform this operation. Encoded authorization failure message: ENC-x_1",
    )
    .record();
    tree.log_gz("logs/trail.json.gz", &[record]);
    let iam = tree.path().join("iam");
    let logs_dir = tree.path().join("logs");
    let (iam, logs_dir) = (iam.to_str().unwrap(), logs_dir.to_str().unwrap());
    // without AWS's record the instance type is unknown, and the decision turns on it
    let plain = trailwhy(&["explain", "--format", "json", "--iam", iam, logs_dir]);
    assert_eq!(plain.code, 0, "{}", plain.stderr);
    assert_eq!(
        finding_of(&plain.json(), "ev-ec2")["cause"],
        "unverifiable_context_condition"
    );
    let run = explain_live(&server, &["--iam", iam, logs_dir]);
    let report = run.json();
    let f = finding_of(&report, "ev-ec2");
    assert_eq!(f["cause"], "identity_explicit_deny", "{f:#}");
    assert!(
        f["explanation"].as_str().unwrap().starts_with(
            "AWS's decoded authorization message (sts:DecodeAuthorizationMessage, fetched from AWS in us-west-2) says an explicit deny of RunInstances"
        ),
        "{f:#}"
    );
    let evidence = f["evidence"].as_array().unwrap();
    assert!(
        evidence.iter().any(|x| x["key"] == "ec2:InstanceType"
            && x["actual"] == "m5.large"
            && x["value_source"] == "aws"),
        "{f:#}"
    );
    assert!(evidence
        .iter()
        .any(|x| x["sid"] == "OnlyMicro" && x["operator"] == "matched_by_aws"));
    let e = &f["details"]["aws_evaluation"];
    assert_eq!(e["effect"], "EXPLICIT_DENY");
    assert_eq!(e["context"]["ec2:InstanceType"], "m5.large");
    assert!(e["cross_check"]
        .as_str()
        .unwrap()
        .starts_with("not possible"));
    assert_eq!(
        server.log(),
        [(
            "sts:DecodeAuthorizationMessage".to_owned(),
            "us-west-2/sts".to_owned()
        )]
    );
    assert_eq!(report["summary"]["aws_details"]["fetched"], 1);
}

/// `report` reads AWS's records the same way: the finding carries AWS's evaluation and the
/// scan summary its counts.
#[test]
fn report_uses_saved_records() {
    let (tree, dir) = logs(&[denied_push("ev-1", "abc123def456", true)]);
    let saved = tree.path().join("saved");
    std::fs::create_dir_all(&saved).unwrap();
    let mut record = explicit_record().details;
    for p in record["policies"].as_array_mut().unwrap() {
        let uri = p["uri"].as_str().unwrap().to_owned();
        p["policyDocument"] = explicit_record().documents[&uri].clone();
    }
    std::fs::write(saved.join("abc123def456.json"), record.to_string()).unwrap();
    let run = trailwhy(&[
        "report",
        "--format",
        "json",
        "--since",
        "2026-10-01T00:00:00Z",
        "--until",
        "2026-10-02T00:00:00Z",
        "--aws-details-dir",
        saved.to_str().unwrap(),
        &dir,
    ]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let doc = run.json();
    assert_eq!(doc["scan"]["aws_details"]["from_file"], 1, "{doc:#}");
    let text = doc["findings"].to_string();
    assert!(text.contains("\"cross_check\":\"agrees\""), "{doc:#}");
    assert!(text.contains("identity_explicit_deny"), "{doc:#}");
}

/// An implicit deny names no policy; with a message that names no layer either, the layer is
/// the one the tool's agreeing evaluation of AWS's policies finds lacking an Allow: here the
/// organization's SCP.
#[test]
fn an_implicit_deny_by_an_scp_is_placed_by_the_agreeing_evaluation() {
    let mut rec = Event::call(
        Who::session(ROLE, "ASIAEXAMPLEKEY03"),
        "ev-scp",
        "2026-10-01T12:00:00Z",
        "ecr.amazonaws.com",
        "PutImage",
    )
    .region("us-west-2")
    .request(json!({"repositoryName": "web", "registryId": ACCT}))
    .error("AccessDenied", "")
    .record();
    rec["errorMessage"] = json!(format!(
        "User: arn:aws:sts::111122223333:assumed-role/gha-web/GitHubActions is not authorized to perform: ecr:PutImage on resource: {REPO}. Call GetRequestAuthorizationDetails with the following authorization id: scp1"
    ));
    let (tree, dir) = logs(&[rec]);
    let saved = tree.path().join("saved");
    std::fs::create_dir_all(&saved).unwrap();
    let record = json!({
        "requestContext": {"aws:PrincipalArn": ROLE},
        "evaluations": [{"action": "ecr:PutImage", "resource": REPO, "evaluatedEffect": "IMPLICIT_DENY", "matchedPolicies": []}],
        "policies": [
            {"type": "IDENTITY_BASED_POLICY", "inline": true, "uri": "AIPAINLINE0003",
             "attachedTo": [{"arn": ROLE}], "policyDocument": allow_push()},
            {"type": "SERVICE_CONTROL_POLICY", "inline": false, "uri": "arn:aws:organizations::999999999999:policy/o-abc/service_control_policy/p-s3only",
             "attachedTo": [{"arn": "arn:aws:organizations::999999999999:account/o-abc/111122223333"}],
             "policyDocument": {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}]}}
        ]
    });
    std::fs::write(saved.join("scp1.json"), record.to_string()).unwrap();
    let run = trailwhy(&[
        "explain",
        "--format",
        "json",
        "--aws-details-dir",
        saved.to_str().unwrap(),
        &dir,
    ]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let report = run.json();
    let f = finding_of(&report, "ev-scp");
    assert_eq!(f["cause"], "org_policy", "{f:#}");
    assert_eq!(f["details"]["aws_evaluation"]["cross_check"], "agrees");
    assert!(f["details"].get("verdict_disagreement").is_none());
}
