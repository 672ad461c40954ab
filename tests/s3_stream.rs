//! The s3:// listing streams into the scan, against moto through our proxy: the first GETs
//! do not wait for later day folders to be listed (a delayed LIST shows it on the proxy's
//! timeline), the output is still the tree on disk's, byte for byte, a listing that fails
//! after the first objects were read still fails the run, and `query --limit` stops
//! fetching.
#![allow(clippy::unwrap_used, clippy::expect_used, reason = "tests")]

mod aws;
mod common;

use std::sync::OnceLock;
use std::time::{Duration, Instant};

use aws::proxy::{Event, Fault, Moment, Proxy, Rule};
use serde_json::Value;

const SAMPLE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/sample-logs");
const WINDOW: [&str; 4] = [
    "--since",
    "2026-10-01T00:00:00Z",
    "--until",
    "2026-10-04T00:00:00Z",
];
/// The first day folder of the window in key order, and a later one.
const FIRST: &str = "AWSLogs/111122223333/CloudTrail/ap-northeast-1/2026/10/01/";
const LATER: &str = "AWSLogs/111122223333/CloudTrail/us-east-1/2026/10/02/";

/// The bucket `trail`: the sample trail's AWSLogs/ under the same keys; seeded once.
fn seeded() -> Option<(&'static aws::Moto, &'static Vec<String>)> {
    static KEYS: OnceLock<Vec<String>> = OnceLock::new();
    let moto = aws::moto()?;
    let keys = KEYS.get_or_init(|| {
        aws::python(
            &moto.url,
            &format!(
                r#"
import boto3, os
s3 = boto3.client("s3", endpoint_url=os.environ["ENDPOINT"])
s3.create_bucket(Bucket="trail")
root = "{SAMPLE}"
for dirpath, _, files in os.walk(os.path.join(root, "AWSLogs")):
    for f in files:
        p = os.path.join(dirpath, f)
        s3.put_object(Bucket="trail", Key=os.path.relpath(p, root), Body=open(p, "rb").read())
"#
            ),
        );
        let mut keys: Vec<String> = common::files_under(&format!("{SAMPLE}/AWSLogs"))
            .into_iter()
            .map(|p| p.strip_prefix(&format!("{SAMPLE}/")).unwrap().to_owned())
            .collect();
        keys.sort();
        keys
    });
    Some((moto, keys))
}

/// `trailwhy ARGS --endpoint-url ENDPOINT`.
fn run(endpoint: &str, args: &[&str]) -> common::Run {
    let mut all = args.to_vec();
    all.extend(["--endpoint-url", endpoint]);
    common::trailwhy_env(&all, &aws::aws_env())
}

/// Findings in a stable order, with their event ids sorted.
fn normalized(v: &Value) -> Vec<Value> {
    common::sorted_findings(v, &["event_ids"])
}

/// A LIST request's query names `folder` as its prefix.
fn lists(path: &str, folder: &str) -> bool {
    path.contains("list-type=2") && path.contains(&format!("prefix={}", folder.replace('/', "%2F")))
}

/// The object an object GET asks for (`None` for other requests).
fn object(method: &str, path: &str) -> Option<String> {
    (method == "GET" && !path.contains("list-type") && path.contains("/AWSLogs/")).then(|| {
        path.trim_start_matches('/')
            .split_once('/')
            .map_or("", |(_, k)| k)
            .split('?')
            .next()
            .unwrap()
            .to_owned()
    })
}

/// When the LIST of `folder` was answered, and how long after it arrived.
fn list_answered(timeline: &[Event], folder: &str) -> (Instant, Duration) {
    let at = |moment: Moment| {
        timeline
            .iter()
            .find(|e| e.moment == moment && lists(&e.path, folder))
            .unwrap_or_else(|| panic!("no LIST of {folder}: {timeline:#?}"))
            .at
    };
    let (arrived, answered) = (at(Moment::Arrived), at(Moment::Answered));
    (answered, answered - arrived)
}

/// When the GET of each object arrived, in order.
fn gets(timeline: &[Event]) -> Vec<(String, Instant)> {
    timeline
        .iter()
        .filter(|e| e.moment == Moment::Arrived)
        .filter_map(|e| Some((object(&e.method, &e.path)?, e.at)))
        .collect()
}

/// A proxy that holds the LIST of `LATER` back for `delay` (and, with `fault`, then fails it).
fn delaying(moto: &aws::Moto, delay: Duration, fault: Option<Fault>) -> Proxy {
    let prefix = format!("prefix={}", LATER.replace('/', "%2F"));
    let mut rules = vec![Rule {
        method: Some("GET"),
        path: prefix.clone(),
        fault: Fault::Delay(delay),
        times: u32::MAX,
    }];
    if let Some(fault) = fault {
        rules.push(Rule {
            method: Some("GET"),
            path: prefix,
            fault,
            times: u32::MAX,
        });
    }
    Proxy::start(moto.port, rules)
}

/// The first folder's objects were fetched before the delayed LIST of `LATER` was
/// answered, and no object after `LATER` in key order was.
fn assert_streamed(proxy: &Proxy, keys: &[String], delay: Duration) {
    let timeline = proxy.timeline();
    let (answered, took) = list_answered(&timeline, LATER);
    assert!(took >= delay, "the LIST of {LATER} took {took:?}");
    let first: Vec<&String> = keys.iter().filter(|k| k.starts_with(FIRST)).collect();
    assert!(!first.is_empty());
    let gets = gets(&timeline);
    for key in first {
        let at = gets
            .iter()
            .find(|(k, _)| k == key)
            .unwrap_or_else(|| panic!("{key} never fetched"))
            .1;
        assert!(
            at < answered,
            "{key} was fetched {:?} after the LIST of {LATER} was answered",
            at - answered
        );
    }
    // released in key order: nothing after the delayed folder went before it
    let early_late: Vec<&String> = gets
        .iter()
        .filter(|(k, at)| k.as_str() > LATER && !k.starts_with(LATER) && *at < answered)
        .map(|(k, _)| k)
        .collect();
    assert!(early_late.is_empty(), "fetched too early: {early_late:?}");
}

#[test]
fn first_gets_do_not_wait_for_later_day_folders_and_findings_stay_the_disks() {
    let Some((moto, keys)) = seeded() else { return };
    let delay = Duration::from_millis(2000);
    let iam = concat!(env!("CARGO_MANIFEST_DIR"), "/sample-logs/iam");

    let proxy = delaying(moto, delay, None);
    let mut args = vec!["explain", "s3://trail", "--format", "json", "--iam", iam];
    args.extend(WINDOW);
    let remote = run(&proxy.url, &args);
    assert_eq!(remote.code, 0, "{}", remote.stderr);
    assert_streamed(&proxy, keys, delay);
    let mut args = vec!["explain", SAMPLE, "--format", "json"];
    args.extend(WINDOW);
    let local = common::trailwhy(&args);
    assert_eq!(local.code, 0, "{}", local.stderr);
    let (remote, local) = (remote.json(), local.json());
    assert!(!normalized(&local).is_empty());
    assert_eq!(normalized(&remote), normalized(&local));
    assert_eq!(remote["summary"]["files_unreadable"], 0);
    assert_eq!(remote["summary"]["s3"]["objects_fetched"], 106);

    // query: the same bytes as the tree on disk, in the same order
    let proxy = delaying(moto, delay, None);
    let mut args = vec!["query", "s3://trail", "--format", "ndjson"];
    args.extend(WINDOW);
    args.extend(["--jq", "{eventID, eventName, errorCode}"]);
    let remote = run(&proxy.url, &args);
    assert_eq!(remote.code, 0, "{}", remote.stderr);
    assert_streamed(&proxy, keys, delay);
    let tree = format!("{SAMPLE}/AWSLogs");
    let mut args = vec!["query", tree.as_str(), "--format", "ndjson"];
    args.extend(WINDOW);
    args.extend(["--jq", "{eventID, eventName, errorCode}"]);
    let local = common::trailwhy(&args);
    assert_eq!(local.code, 0, "{}", local.stderr);
    assert!(local.stdout.lines().count() > 100);
    assert_eq!(remote.stdout, local.stdout);
}

#[test]
fn listing_counts_stay_exact_when_streamed() {
    let Some((moto, keys)) = seeded() else { return };
    let proxy = delaying(moto, Duration::from_millis(300), None);
    let r = run(
        &proxy.url,
        &[
            "explain",
            "s3://trail",
            "--since",
            "2026-10-02T00:00:00Z",
            "--until",
            "2026-10-03T00:00:00Z",
            "--delivery-lag",
            "30m",
            "--format",
            "json",
        ],
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    // day folders 10/02 and 10/03 (until + lag is 10/03 00:30) are listed; a file is
    // fetched when delivered from 10/01 23:59 (it may hold 23:59:59) to 10/03 00:30
    let in_trail = |k: &&String| k.contains("/CloudTrail/");
    let listed: Vec<&String> = keys
        .iter()
        .filter(in_trail)
        .filter(|k| k.contains("/2026/10/02/") || k.contains("/2026/10/03/"))
        .collect();
    let selected: Vec<&String> = listed
        .iter()
        .copied()
        .filter(|k| {
            let stamp = k.split('_').find(|p| p.len() == 14 && p.ends_with('Z'));
            stamp.is_some_and(|s| ("20261001T2359Z"..="20261003T0030Z").contains(&s))
        })
        .collect();
    assert!(selected.len() < listed.len());
    let s3 = &r.json()["summary"]["s3"];
    assert_eq!(s3["objects_listed"], listed.len(), "{s3}");
    assert_eq!(s3["objects_fetched"], selected.len(), "{s3}");
    assert_eq!(s3["objects_pruned"], listed.len() - selected.len(), "{s3}");
    let mut fetched: Vec<String> = gets(&proxy.timeline())
        .into_iter()
        .map(|(k, _)| k)
        .collect();
    fetched.sort();
    let selected: Vec<String> = selected.into_iter().cloned().collect();
    assert_eq!(fetched, selected);
}

#[test]
fn a_listing_that_fails_after_the_first_objects_were_read_fails_the_run() {
    let Some((moto, keys)) = seeded() else { return };
    let delay = Duration::from_millis(1500);
    let message =
        format!("s3://trail/{LATER}: access denied (s3:ListBucket is needed): Access Denied");
    for command in ["explain", "query"] {
        let proxy = delaying(moto, delay, Some(Fault::AccessDenied));
        let mut args = vec![command, "s3://trail", "--format", "json"];
        if command == "query" {
            args[3] = "ndjson";
        }
        args.extend(WINDOW);
        let r = run(&proxy.url, &args);
        assert_eq!(r.code, 2, "{command}: {}", r.stderr);
        assert_eq!(
            r.stderr.trim(),
            format!("trailwhy: error: {message}"),
            "{command}"
        );
        // the first folder was read before the listing failed
        assert_streamed(&proxy, keys, delay);
        if command == "explain" {
            assert_eq!(r.stdout, "", "no report from an incomplete listing");
        }
    }
}

/// The bucket `many`: 300 objects of one record each in one day folder, keys in time order;
/// the first two named `…_fast…`, the others `…_slow…`.
fn many(moto: &aws::Moto) -> Vec<String> {
    static KEYS: OnceLock<Vec<String>> = OnceLock::new();
    KEYS.get_or_init(|| {
        aws::python(
            &moto.url,
            r#"
import boto3, os, gzip, json, concurrent.futures as cf
s3 = boto3.client("s3", endpoint_url=os.environ["ENDPOINT"])
s3.create_bucket(Bucket="many")
def put(i):
    hh, mm = divmod(i, 60)
    body = gzip.compress(json.dumps({"Records": [{"eventVersion": "1.08", "eventID": f"e{i:04d}",
        "eventTime": f"2026-10-01T{hh:02d}:{mm:02d}:00Z", "eventSource": "s3.amazonaws.com",
        "eventName": "GetObject", "awsRegion": "us-east-1"}]}).encode(), mtime=0)
    tag = "fast" if i < 2 else "slow"
    key = f"AWSLogs/111122223333/CloudTrail/us-east-1/2026/10/01/111122223333_CloudTrail_us-east-1_20261001T{hh:02d}{mm:02d}Z_{tag}{i:04d}.json.gz"
    s3.put_object(Bucket="many", Key=key, Body=body)
with cf.ThreadPoolExecutor(32) as ex:
    list(ex.map(put, range(300)))
"#,
        );
        (0..300)
            .map(|i| {
                let (hh, mm) = (i / 60, i % 60);
                let tag = if i < 2 { "fast" } else { "slow" };
                format!("AWSLogs/111122223333/CloudTrail/us-east-1/2026/10/01/111122223333_CloudTrail_us-east-1_20261001T{hh:02}{mm:02}Z_{tag}{i:04}.json.gz")
            })
            .collect()
    })
    .clone()
}

/// A proxy before `many`'s objects that answers each GET of a `slow` object after `slow`.
fn slow_gets(moto: &aws::Moto, slow: Duration) -> Proxy {
    Proxy::start(
        moto.port,
        vec![Rule {
            method: Some("GET"),
            path: "_slow".into(),
            fault: Fault::Delay(slow),
            times: u32::MAX,
        }],
    )
}

#[test]
fn query_limit_stops_fetching_and_does_not_wait_for_started_gets() {
    let Some(moto) = aws::moto() else { return };
    let keys = many(moto);
    let window = [
        "--since",
        "2026-10-01T00:00:00Z",
        "--until",
        "2026-10-01T06:00:00Z",
    ];
    // every object is fetched without --limit
    let proxy = Proxy::start(moto.port, vec![]);
    let mut args = vec!["query", "s3://many", "--count", "--s3-concurrency", "4"];
    args.extend(window);
    let r = run(&proxy.url, &args);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(r.stdout.trim(), "300");
    assert_eq!(gets(&proxy.timeline()).len(), 300);

    // --limit 1: the first object holds the row; every GET of a `slow` object takes 5 s.
    // At most the fetch-ahead (--s3-concurrency 4) plus the two `fast` objects, whose
    // places the fetch queue may refill while the other worker (--threads 2) reads them
    // before the first object's row is written (seen on a loaded machine): 6 of 300.
    let most = 4 + 2;
    let slow = Duration::from_secs(5);
    let proxy = slow_gets(moto, slow);
    let started = Instant::now();
    let mut args = vec![
        "query",
        "s3://many",
        "--limit",
        "1",
        "--jq",
        ".eventID",
        "--format",
        "ndjson",
        "--s3-concurrency",
        "4",
        "--threads",
        "2",
    ];
    args.extend(window);
    let r = run(&proxy.url, &args);
    let took = started.elapsed();
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(r.stdout, "\"e0000\"\n");
    // the GETs already started (of slow objects) were not waited for
    assert!(took < slow, "the run took {took:?}");
    // fetched: the first keys, no more than `most`
    let fetched: Vec<String> = gets(&proxy.timeline())
        .into_iter()
        .map(|(k, _)| k)
        .collect();
    let mut sorted = fetched.clone();
    sorted.sort();
    assert!(
        !fetched.is_empty() && fetched.len() <= most,
        "{} GETs: {fetched:?}",
        fetched.len()
    );
    assert_eq!(sorted, keys[..sorted.len()], "not the first keys");
}

#[test]
fn ctrl_c_stops_taking_objects_and_counts_those_left() {
    let Some(moto) = aws::moto() else { return };
    let _ = many(moto);
    // every GET of a `slow` object takes 3 s: Ctrl-C comes while the first ones are fetched
    let slow = Duration::from_secs(3);
    let proxy = slow_gets(moto, slow);
    let child = std::process::Command::new(env!("CARGO_BIN_EXE_trailwhy"))
        .args([
            "explain",
            "s3://many",
            "--since",
            "2026-10-01T00:00:00Z",
            "--until",
            "2026-10-01T06:00:00Z",
            "--s3-concurrency",
            "4",
            "--threads",
            "2",
            "--format",
            "json",
            "--endpoint-url",
            proxy.url.as_str(),
        ])
        .envs(aws::aws_env())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let started = Instant::now();
    while gets(&proxy.timeline()).len() < 2 {
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "nothing fetched"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    let pid = child.id().to_string();
    assert!(std::process::Command::new("kill")
        .args(["-INT", &pid])
        .status()
        .unwrap()
        .success());
    let interrupted = Instant::now();
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(130), "{stderr}");
    // the objects being fetched are not all waited for in turn (300 × 3 s / 4 at once)
    assert!(
        interrupted.elapsed() < slow * 3,
        "took {:?}",
        interrupted.elapsed()
    );
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    let s = &v["summary"];
    assert_eq!(s["interrupted"], true);
    // every object listed is counted: read, or unreadable (one by one, or together)
    let total = s["files_read"].as_u64().unwrap() + s["files_unreadable"].as_u64().unwrap();
    assert_eq!(total, 300, "{s}");
    let rest = s["skipped"]
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["name"].as_str().unwrap().ends_with(" further input(s)"))
        .unwrap_or_else(|| panic!("no entry for the inputs left: {s}"));
    assert_eq!(rest["reason"], "not read: interrupted");
    let left: u64 = rest["name"]
        .as_str()
        .unwrap()
        .split(' ')
        .next()
        .unwrap()
        .parse()
        .unwrap();
    assert!(left > 250, "{left} left unread");
    // stderr names them in one line, not one line each
    assert!(
        stderr.lines().count() < 40,
        "{} lines on stderr:\n{stderr}",
        stderr.lines().count()
    );
}
