//! The lake:// source against a small server of our own that speaks CloudTrail's real JSON
//! protocol (awsJson1.1, `CloudTrail_20131101.*` targets; nothing local implements Lake).
//! The server runs every submitted statement in DuckDB (`tests/lake/run_sql.py`) over the
//! bundled trail's records, so the SQL trailwhy writes is executed, not compared to a string;
//! it answers `DescribeQuery` with RUNNING a few times before the outcome, and pages results
//! two rows at a time on `NextToken`, with rows as lists of one-key maps of strings.
#![allow(clippy::unwrap_used, clippy::expect_used, reason = "tests")]

mod aws;
mod common;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use serde_json::{json, Value};

use common::{sample_records, SAMPLE};

const STORE: &str = "EXAMPLE-f852-4e8f-8bd1-bcf6cEXAMPLE";
const RUN_SQL: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/lake/run_sql.py");

/// How the server behaves.
#[derive(Clone)]
struct Behaviour {
    status: &'static str,
    /// The query's end state (`FINISHED`, `FAILED`, …) after two RUNNING answers.
    outcome: &'static str,
}

impl Default for Behaviour {
    fn default() -> Behaviour {
        Behaviour {
            status: "ENABLED",
            outcome: "FINISHED",
        }
    }
}

type Log = Arc<Mutex<Vec<(String, Instant, Value)>>>;

/// Whether DuckDB can be imported (the tests skip cleanly, saying so, when it cannot).
fn have_duckdb() -> bool {
    common::python_has("duckdb", "the lake:// tests")
}

/// Runs `sql` over the records file in DuckDB: the rows as Lake returns them.
fn run_sql(records: &std::path::Path, sql: &str) -> Vec<Value> {
    let mut child = Command::new("python3")
        .args([RUN_SQL, records.to_str().unwrap(), STORE])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(sql.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "DuckDB refused the statement: {}\n{sql}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

/// Serves Lake over `records`; logs (target, time, request body).
/// Per query id: its result rows and the DescribeQuery calls so far.
type Queries = Mutex<Vec<(Vec<Value>, u32)>>;

fn serve(records: &[Value], behaviour: Behaviour) -> (String, Log, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("records.jsonl");
    let text: String = records.iter().map(|r| format!("{r}\n")).collect();
    std::fs::write(&file, text).unwrap();
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let log: Log = Arc::new(Mutex::new(Vec::new()));
    let l2 = log.clone();
    // query id -> (result rows, DescribeQuery calls so far)
    let queries: Arc<Queries> = Arc::new(Mutex::new(Vec::new()));
    std::thread::spawn(move || {
        for conn in listener.incoming().flatten() {
            let (log, queries, file, b) =
                (l2.clone(), queries.clone(), file.clone(), behaviour.clone());
            std::thread::spawn(move || {
                let mut r = BufReader::new(conn.try_clone().unwrap());
                let mut out = conn;
                loop {
                    let mut first = String::new();
                    if r.read_line(&mut first).unwrap_or(0) == 0 {
                        return;
                    }
                    let (mut len, mut target) = (0usize, String::new());
                    loop {
                        let mut h = String::new();
                        r.read_line(&mut h).unwrap();
                        if h == "\r\n" {
                            break;
                        }
                        let (k, v) = h.split_once(':').unwrap();
                        match k.to_ascii_lowercase().as_str() {
                            "content-length" => len = v.trim().parse().unwrap(),
                            "x-amz-target" => target = v.trim().to_owned(),
                            _ => {}
                        }
                    }
                    let mut body = vec![0; len];
                    r.read_exact(&mut body).unwrap();
                    let req: Value = serde_json::from_slice(&body).unwrap();
                    let op = target
                        .strip_prefix("CloudTrail_20131101.")
                        .unwrap_or(&target)
                        .to_owned();
                    log.lock()
                        .unwrap()
                        .push((op.clone(), Instant::now(), req.clone()));
                    let (status, resp) = answer(&op, &req, &b, &queries, &file);
                    let text = resp.to_string();
                    let reason = if status == 200 { "OK" } else { "Bad Request" };
                    write!(out, "HTTP/1.1 {status} {reason}\r\nContent-Type: application/x-amz-json-1.1\r\nx-amzn-RequestId: r\r\nContent-Length: {}\r\n\r\n{text}", text.len()).unwrap();
                }
            });
        }
    });
    (url, log, dir)
}

fn answer(
    op: &str,
    req: &Value,
    b: &Behaviour,
    queries: &Queries,
    file: &std::path::Path,
) -> (u16, Value) {
    let arn = format!("arn:aws:cloudtrail:us-east-1:111122223333:eventdatastore/{STORE}");
    let query_index = |req: &Value| -> usize {
        req["QueryId"]
            .as_str()
            .unwrap()
            .trim_start_matches("q-")
            .parse()
            .unwrap()
    };
    match op {
        "GetEventDataStore" => {
            let asked = req["EventDataStore"].as_str().unwrap();
            if asked != STORE && asked != arn {
                return (
                    400,
                    json!({"__type": "EventDataStoreNotFoundException", "message": format!("{asked} not found")}),
                );
            }
            (
                200,
                json!({"EventDataStoreArn": arn, "Name": "org-store", "Status": b.status}),
            )
        }
        "StartQuery" => {
            let rows = run_sql(file, req["QueryStatement"].as_str().unwrap());
            let mut q = queries.lock().unwrap();
            q.push((rows, 0));
            (200, json!({"QueryId": format!("q-{}", q.len() - 1)}))
        }
        "DescribeQuery" => {
            let mut q = queries.lock().unwrap();
            let entry = &mut q[query_index(req)];
            entry.1 += 1;
            let state = if entry.1 <= 2 { "RUNNING" } else { b.outcome };
            let mut resp = json!({
                "QueryId": req["QueryId"],
                "QueryStatus": state,
                "QueryStatistics": {"EventsMatched": entry.0.len(), "EventsScanned": 639, "BytesScanned": 1_048_576},
            });
            if state == "FAILED" {
                resp["ErrorMessage"] = json!("Query failed: column eventjsn not found");
            }
            (200, resp)
        }
        "GetQueryResults" => {
            let q = queries.lock().unwrap();
            let rows = &q[query_index(req)].0;
            let from: usize = req["NextToken"]
                .as_str()
                .map_or(0, |t| t.trim_start_matches("t-").parse().unwrap());
            // rows as Lake sends them: a list of one-key maps per row, values strings
            let page: Vec<Value> = rows
                .iter()
                .skip(from)
                .take(2)
                .map(|row| {
                    Value::Array(
                        row.as_object()
                            .unwrap()
                            .iter()
                            .map(|(k, v)| json!({ k: v }))
                            .collect(),
                    )
                })
                .collect();
            let mut resp = json!({"QueryStatus": "FINISHED", "QueryResultRows": page});
            if from + 2 < rows.len() {
                resp["NextToken"] = json!(format!("t-{}", from + 2));
            }
            (200, resp)
        }
        "CancelQuery" => (
            200,
            json!({"QueryId": req["QueryId"], "QueryStatus": "CANCELLED"}),
        ),
        other => (
            400,
            json!({"__type": "UnknownOperationException", "message": other}),
        ),
    }
}

const WINDOW: [&str; 4] = [
    "--since",
    "2026-10-01T00:00:00Z",
    "--until",
    "2026-10-04T00:00:00Z",
];

fn lake(url: &str, command: &str, source: &str, args: &[&str]) -> common::Run {
    let mut all = vec![command, source, "--endpoint-url", url];
    all.extend(WINDOW);
    all.extend(args);
    common::trailwhy_env(&all, &aws::aws_env())
}

#[test]
fn lake_gives_the_same_findings_as_the_trail_files() {
    if !have_duckdb() {
        return;
    }
    let (url, log, _dir) = serve(&sample_records(), Behaviour::default());
    let iam = format!("{SAMPLE}/iam");
    let run = lake(
        &url,
        "explain",
        &format!("lake://{STORE}"),
        &["--iam", &iam, "--format", "json"],
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    let remote = run.json();
    let tree = format!("{SAMPLE}/AWSLogs");
    let mut local_args = vec!["explain", tree.as_str(), "--iam", &iam, "--format", "json"];
    local_args.extend(WINDOW);
    let local = common::trailwhy(&local_args).json();
    let norm = |v: &Value| common::sorted_findings(v, &["event_ids", "regions"]);
    assert_eq!(norm(&remote), norm(&local));
    assert_eq!(norm(&local).len(), 20);
    // the query is stated: id, bytes scanned and their price
    let q = &remote["summary"]["queries"][0];
    assert_eq!(q["source"], format!("lake://{STORE}"));
    assert_eq!(q["query_execution_id"], "q-0");
    assert_eq!(q["data_scanned_bytes"], 1_048_576);
    assert!(
        run.stderr.contains("query q-0 scanned 1048576 bytes"),
        "{}",
        run.stderr
    );

    let log = log.lock().unwrap();
    let ops: Vec<&str> = log.iter().map(|(op, _, _)| op.as_str()).collect();
    assert_eq!(&ops[..2], ["GetEventDataStore", "StartQuery"]);
    // polled until FINISHED, then paged on NextToken (two rows a page here)
    assert_eq!(ops.iter().filter(|o| **o == "DescribeQuery").count(), 3);
    let pages = log
        .iter()
        .filter(|(op, _, _)| op == "GetQueryResults")
        .count();
    let selected = q["rows"].as_u64().unwrap() as usize;
    assert_eq!(pages, selected.div_ceil(2));
    assert!(log
        .iter()
        .any(|(op, _, r)| op == "GetQueryResults" && r.get("NextToken").is_some()));
    // the statement selects fewer events than the store holds: the selection was pushed down
    assert!((60..639).contains(&selected), "{selected}");
}

#[test]
fn lake_queries_match_the_trail_files_and_start_at_most_once_a_second() {
    if !have_duckdb() {
        return;
    }
    let (url, log, _dir) = serve(&sample_records(), Behaviour::default());
    // two sources (the ID and the ARN of the same store): two StartQuery calls, a second apart
    let arn = format!("lake://arn:aws:cloudtrail:us-east-1:111122223333:eventdatastore/{STORE}");
    let filters = [
        "--event-source",
        "ecr.amazonaws.com",
        "--errors-only",
        "--jq",
        "[.eventID, .errorCode]",
        "--format",
        "ndjson",
    ];
    let run = lake(
        &url,
        "query",
        &format!("lake://{STORE}"),
        &[&[arn.as_str()][..], &filters[..]].concat(),
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    let tree = format!("{SAMPLE}/AWSLogs");
    let mut local_args = vec!["query", tree.as_str()];
    local_args.extend(WINDOW);
    local_args.extend(filters);
    let local = common::trailwhy(&local_args);
    let mut once: Vec<&str> = local.stdout.lines().collect();
    once.sort_unstable();
    assert!(!once.is_empty());
    // every row twice (one per source)
    let mut twice: Vec<&str> = once.iter().flat_map(|l| [*l, *l]).collect();
    twice.sort_unstable();
    let mut remote: Vec<&str> = run.stdout.lines().collect();
    remote.sort_unstable();
    assert_eq!(remote, twice);
    let log = log.lock().unwrap();
    let starts: Vec<&(String, Instant, Value)> =
        log.iter().filter(|(op, _, _)| op == "StartQuery").collect();
    assert_eq!(starts.len(), 2);
    let gap = starts[1].1.duration_since(starts[0].1).as_millis();
    assert!(gap >= 950, "StartQuery calls {gap} ms apart");
    let sql = starts[0].2["QueryStatement"].as_str().unwrap();
    assert!(
        sql.contains("eventSource = 'ecr.amazonaws.com'") && sql.contains("errorCode IS NOT NULL"),
        "{sql}"
    );
}

#[test]
fn a_store_that_is_not_enabled_and_a_failed_query_are_one_line_and_exit_2() {
    if !have_duckdb() {
        return;
    }
    let stopped = Behaviour {
        status: "STOPPED_INGESTION",
        ..Behaviour::default()
    };
    let (url, log, _dir) = serve(&[], stopped);
    let run = lake(&url, "explain", &format!("lake://{STORE}"), &[]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert_eq!(
        run.stderr.trim(),
        format!("trailwhy: error: lake://{STORE}: the event data store is STOPPED_INGESTION: only an ENABLED store can be queried")
    );
    assert_eq!(log.lock().unwrap().len(), 1, "no query may start");

    let failing = Behaviour {
        outcome: "FAILED",
        ..Behaviour::default()
    };
    let (url, _log, _dir) = serve(&[], failing);
    let run = lake(&url, "explain", &format!("lake://{STORE}"), &[]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(
        run.stderr.contains(&format!(
            "lake://{STORE}: query q-0: failed: Query failed: column eventjsn not found"
        )),
        "{}",
        run.stderr
    );

    let (url, _log, _dir) = serve(&[], Behaviour::default());
    let run = lake(&url, "explain", "lake://OTHER-store", &[]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(
        run.stderr
            .contains("lake://OTHER-store: no such event data store"),
        "{}",
        run.stderr
    );
}
