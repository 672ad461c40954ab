//! The lookup:// source against a small local server of our own that speaks CloudTrail's
//! real JSON protocol (moto has no LookupEvents): pagination, the EventSource attribute and
//! the time window pushed down, regions in parallel, at most two requests a second each.
#![allow(clippy::unwrap_used, clippy::expect_used, reason = "tests")]

mod aws;
mod common;

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use serde_json::{json, Value};

use common::{sample_records, SAMPLE};

type Log = Arc<Mutex<Vec<(String, Instant, Value)>>>;

/// Serves LookupEvents over the given records; logs (region, time, request body).
fn serve(records: Vec<Value>) -> (String, Log) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let log: Log = Arc::new(Mutex::new(Vec::new()));
    let l2 = log.clone();
    let records = Arc::new(records);
    std::thread::spawn(move || {
        for conn in listener.incoming().flatten() {
            let log = l2.clone();
            let records = records.clone();
            std::thread::spawn(move || {
                let mut r = BufReader::new(conn.try_clone().unwrap());
                let mut out = conn;
                loop {
                    let mut first = String::new();
                    if r.read_line(&mut first).unwrap_or(0) == 0 {
                        return;
                    }
                    let (mut len, mut region, mut target) = (0usize, String::new(), String::new());
                    loop {
                        let mut h = String::new();
                        r.read_line(&mut h).unwrap();
                        if h == "\r\n" {
                            break;
                        }
                        let (k, v) = h.split_once(':').unwrap();
                        let v = v.trim();
                        match k.to_ascii_lowercase().as_str() {
                            "content-length" => len = v.parse().unwrap(),
                            "x-amz-target" => target = v.to_owned(),
                            "authorization" => {
                                // Credential=AKID/DATE/REGION/cloudtrail/aws4_request
                                let cred = v.split("Credential=").nth(1).unwrap();
                                region = cred.split('/').nth(2).unwrap().to_owned();
                            }
                            _ => {}
                        }
                    }
                    let mut body = vec![0; len];
                    r.read_exact(&mut body).unwrap();
                    let req: Value = serde_json::from_slice(&body).unwrap();
                    log.lock()
                        .unwrap()
                        .push((region.clone(), Instant::now(), req.clone()));
                    assert!(target.ends_with("LookupEvents"), "{target}");
                    // one attribute at most, as the real API allows: EventSource or EventName
                    let attribute = &req["LookupAttributes"][0];
                    let field = match attribute["AttributeKey"].as_str() {
                        Some("EventSource") => Some("eventSource"),
                        Some("EventName") => Some("eventName"),
                        None => None,
                        Some(other) => panic!("unexpected attribute {other}"),
                    };
                    let wanted = attribute["AttributeValue"].as_str().map(str::to_owned);
                    let (start, end) = (
                        req["StartTime"].as_f64().unwrap(),
                        req["EndTime"].as_f64().unwrap(),
                    );
                    let mut matching: Vec<&Value> = records
                        .iter()
                        .filter(|e| {
                            e["awsRegion"] == region.as_str()
                                && field.is_none_or(|f| e[f].as_str() == wanted.as_deref())
                        })
                        .filter(|e| {
                            let t = chrono::DateTime::parse_from_rfc3339(
                                e["eventTime"].as_str().unwrap(),
                            )
                            .unwrap()
                            .timestamp() as f64;
                            t >= start && t <= end
                        })
                        .collect();
                    matching.sort_by_key(|e| {
                        std::cmp::Reverse(e["eventTime"].as_str().unwrap().to_owned())
                    });
                    let from: usize = req["NextToken"]
                        .as_str()
                        .map_or(0, |t| t.trim_start_matches("page-").parse().unwrap());
                    let page: Vec<Value> = matching
                        .iter()
                        .skip(from)
                        .take(50)
                        .map(|e| common::lookup_event(e))
                        .collect();
                    let mut resp = json!({"Events": page});
                    if from + 50 < matching.len() {
                        resp["NextToken"] = json!(format!("page-{}", from + 50));
                    }
                    let b = resp.to_string();
                    write!(out, "HTTP/1.1 200 OK\r\nContent-Type: application/x-amz-json-1.1\r\nx-amzn-RequestId: r\r\nContent-Length: {}\r\n\r\n{b}", b.len()).unwrap();
                }
            });
        }
    });
    (url, log)
}

/// Findings in a stable order, with their event ids and regions sorted (LookupEvents returns
/// newest first, region by region).
fn normalized(v: &Value) -> Vec<Value> {
    common::sorted_findings(v, &["event_ids", "regions"])
}

/// The window both sides of a comparison read.
const WINDOW: [&str; 6] = [
    "--since",
    "2026-10-01T00:00:00Z",
    "--until",
    "2026-10-04T00:00:00Z",
    "--region",
    "us-east-1,eu-west-1",
];

/// `trailwhy COMMAND lookup://us-east-1,eu-west-1 --endpoint-url URL` in the window, then `args`.
fn remote(command: &str, url: &str, args: &[&str]) -> common::Run {
    let mut all = vec![
        command,
        "lookup://us-east-1,eu-west-1",
        "--endpoint-url",
        url,
    ];
    all.extend(WINDOW);
    all.extend(args);
    let r = common::trailwhy_env(&all, &aws::aws_env());
    assert_eq!(r.code, 0, "{}", r.stderr);
    r
}

#[test]
fn lookup_events_give_the_same_findings_as_the_trail_files() {
    let (url, log) = serve(sample_records());
    let iam = format!("{SAMPLE}/iam");
    let v = remote("explain", &url, &["--iam", &iam, "--format", "json"]).json();
    let mut local_args = vec!["explain", SAMPLE, "--format", "json"];
    local_args.extend(WINDOW);
    let local = common::trailwhy(&local_args).json();
    assert_eq!(normalized(&v), normalized(&local));
    assert!(!normalized(&v).is_empty());

    let log = log.lock().unwrap();
    // the event source and the window were pushed down
    assert!(log
        .iter()
        .all(|(_, _, r)| r["LookupAttributes"][0]["AttributeKey"] == "EventSource"));
    assert!(log
        .iter()
        .all(|(_, _, r)| r["StartTime"].as_f64() == Some(1_790_812_800.0)));
    // pagination happened, and each region stayed at two requests a second or less
    assert!(
        log.iter().any(|(_, _, r)| r.get("NextToken").is_some()),
        "no second page was asked for"
    );
    let mut by_region: BTreeMap<&str, Vec<Instant>> = BTreeMap::new();
    for (region, t, _) in log.iter() {
        by_region.entry(region.as_str()).or_default().push(*t);
    }
    assert_eq!(
        by_region.keys().copied().collect::<Vec<_>>(),
        ["eu-west-1", "us-east-1"]
    );
    for (region, times) in by_region {
        for w in times.windows(2) {
            let gap = w[1].duration_since(w[0]).as_millis();
            assert!(gap >= 450, "{region}: requests {gap} ms apart");
        }
    }
}

/// `trailwhy query lookup://… ARGS` and the same query over the trail files: their rows (as
/// sorted lines: LookupEvents returns newest first, region by region), and the requests.
fn query_both(args: &[&str]) -> (Vec<String>, Vec<String>, Vec<Value>) {
    let (url, log) = serve(sample_records());
    let mut remote_args = vec!["--format", "ndjson"];
    remote_args.extend(args);
    let out = remote("query", &url, &remote_args);
    // (this server re-serialises events with sorted keys: lines are compared as values)
    let sorted = |text: &str| {
        let mut lines: Vec<String> = text
            .lines()
            .map(|l| serde_json::from_str::<Value>(l).unwrap().to_string())
            .collect();
        lines.sort();
        lines
    };
    let tree = format!("{SAMPLE}/AWSLogs");
    let mut local_args = vec!["query", tree.as_str(), "--format", "ndjson"];
    local_args.extend(WINDOW);
    local_args.extend(args);
    let local = common::trailwhy(&local_args);
    assert_eq!(local.code, 0, "{}", local.stderr);
    let requests = log
        .lock()
        .unwrap()
        .iter()
        .map(|(_, _, r)| r.clone())
        .collect();
    (sorted(&out.stdout), sorted(&local.stdout), requests)
}

#[test]
fn query_over_lookup_events_gives_the_records_of_the_trail_files() {
    // an exact event name is pushed down as the EventName attribute
    let (remote, local, requests) = query_both(&[
        "--event-name",
        "AssumeRoleWithWebIdentity",
        "--jq",
        "[.eventID, .awsRegion, .errorCode]",
    ]);
    assert!(!local.is_empty());
    assert_eq!(remote, local);
    assert!(requests.iter().all(|r| {
        r["LookupAttributes"]
            == json!([{"AttributeKey": "EventName", "AttributeValue": "AssumeRoleWithWebIdentity"}])
    }));
    // an exact event source, as EventSource; whole records
    let (remote, local, requests) = query_both(&["--event-source", "ecr.amazonaws.com"]);
    assert!(!local.is_empty());
    assert_eq!(remote, local);
    assert!(requests
        .iter()
        .all(|r| r["LookupAttributes"][0]["AttributeValue"] == "ecr.amazonaws.com"));
    // filters with wildcards cannot be pushed down: every management event is asked for
    let (remote, local, requests) = query_both(&[
        "--errors-only",
        "--event-name",
        "*Image",
        "--jq",
        ".eventID",
    ]);
    assert!(!local.is_empty());
    assert_eq!(remote, local);
    assert!(requests.iter().all(|r| r.get("LookupAttributes").is_none()));
}

#[test]
fn without_credentials_one_line_says_what_to_set_before_any_request() {
    // no server: nothing may be asked of anyone
    for command in ["explain", "query"] {
        let r =
            common::trailwhy_without_aws(&[command, "lookup://us-east-1", "--since", "1h"], &[]);
        let (code, stdout, stderr) = (r.code, r.stdout, r.stderr);
        assert_eq!((code, stdout.as_str()), (2, ""), "{command}: {stderr}");
        assert_eq!(
            stderr,
            "trailwhy: error: no AWS credentials found: set AWS_PROFILE or --profile, or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY\n",
            "{command}"
        );
    }
}

#[test]
fn without_a_region_an_s3_source_says_how_to_give_one() {
    let r = common::trailwhy_without_aws(
        &["explain", "s3://some-trail-bucket", "--since", "1h"],
        &[
            ("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE"),
            ("AWS_SECRET_ACCESS_KEY", "secret"),
        ],
    );
    let (code, stdout, stderr) = (r.code, r.stdout, r.stderr);
    assert_eq!((code, stdout.as_str()), (2, ""), "{stderr}");
    assert!(
        stderr.ends_with("trailwhy: error: s3://some-trail-bucket/AWSLogs/: no AWS region is set: pass --region, set AWS_REGION, or use a --profile that has one\n"),
        "{stderr}"
    );
}
