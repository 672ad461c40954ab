//! The s3:// source and --iam-live against a real local AWS-compatible server (moto), through
//! the real AWS SDK for Rust: same findings as from disk, pruning by key layout (checked by
//! the requests the server received), failure messages and exit codes, retried faults.
#![allow(clippy::unwrap_used, clippy::expect_used, reason = "tests")]

mod aws;
mod common;

use std::collections::BTreeSet;
use std::sync::OnceLock;

use aws::proxy::{Fault, Proxy, Rule};
use serde_json::Value;

const SAMPLE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/sample-logs");
const WINDOW: [&str; 4] = [
    "--since",
    "2026-10-01T00:00:00Z",
    "--until",
    "2026-10-04T00:00:00Z",
];

/// The bucket `trail`: the sample trail plus ~1,800 small noise objects over ten days, two
/// accounts (one under an organization folder) and three regions; seeded once.
fn seeded() -> Option<(&'static aws::Moto, &'static Vec<String>)> {
    static KEYS: OnceLock<Vec<String>> = OnceLock::new();
    let moto = aws::moto()?;
    let keys = KEYS.get_or_init(|| {
        aws::python(
            &moto.url,
            &format!(
                r#"
import boto3, os, gzip, json, concurrent.futures as cf
s3 = boto3.client("s3", endpoint_url=os.environ["ENDPOINT"])
s3.create_bucket(Bucket="trail")
root = "{root}"
jobs = []
for dirpath, _, files in os.walk(os.path.join(root, "AWSLogs")):
    for f in files:
        p = os.path.join(dirpath, f)
        jobs.append((os.path.relpath(p, root), open(p, "rb").read()))
noise = gzip.compress(json.dumps({{"Records": [{{"eventVersion": "1.08", "eventTime": "2026-09-25T00:00:00Z",
    "eventSource": "s3.amazonaws.com", "eventName": "GetObject", "awsRegion": "us-east-1"}}]}}).encode(), mtime=0)
for day in range(20, 30):
    for acct, org in (("111122223333", ""), ("444455556666", "o-a1b2c3d4e5/")):
        for region in ("us-east-1", "eu-west-1", "ap-northeast-1"):
            for i in range(30):
                hh, mm = divmod(i * 45, 60)
                key = f"AWSLogs/{{org}}{{acct}}/CloudTrail/{{region}}/2026/09/{{day:02d}}/{{acct}}_CloudTrail_{{region}}_202609{{day:02d}}T{{hh:02d}}{{mm:02d}}Z_noise{{i:04d}}.json.gz"
                jobs.append((key, noise))
with cf.ThreadPoolExecutor(32) as ex:
    list(ex.map(lambda kv: s3.put_object(Bucket="trail", Key=kv[0], Body=kv[1]), jobs))
"#,
                root = SAMPLE
            ),
        );
        let mut out = Vec::new();
        for e in common::files_under(&format!("{SAMPLE}/AWSLogs")) {
            out.push(e.strip_prefix(&format!("{SAMPLE}/")).unwrap().to_owned());
        }
        out
    });
    Some((moto, keys))
}

/// `trailwhy ARGS --endpoint-url ENDPOINT --format json`.
fn run(endpoint: &str, args: &[&str]) -> common::Run {
    let mut all = args.to_vec();
    all.extend(["--endpoint-url", endpoint, "--format", "json"]);
    common::trailwhy_env(&all, &aws::aws_env())
}

/// Findings in a stable order, with their event ids sorted.
fn normalized(v: &Value) -> Vec<Value> {
    common::sorted_findings(v, &["event_ids"])
}

/// The same window as the bucket runs: the sample's CodeBuild story (2026-10-05, with build
/// inputs outside AWSLogs/) falls outside it.
fn local_findings() -> Vec<Value> {
    let mut args = vec!["explain", SAMPLE, "--format", "json"];
    args.extend(WINDOW);
    let r = common::trailwhy(&args);
    normalized(&r.json())
}

/// `explain s3://trail` in [`WINDOW`] with the sample's inventory, exit code 0.
fn explain_the_window(endpoint: &str) -> common::Run {
    let mut args = vec!["explain", "s3://trail"];
    args.extend(WINDOW);
    args.extend([
        "--iam",
        concat!(env!("CARGO_MANIFEST_DIR"), "/sample-logs/iam"),
    ]);
    let r = run(endpoint, &args);
    assert_eq!(r.code, 0, "{}", r.stderr);
    r
}

#[test]
fn bucket_gives_the_same_findings_as_disk() {
    let Some((moto, _)) = seeded() else { return };
    let r = explain_the_window(&moto.url);
    let v = r.json();
    assert_eq!(normalized(&v), local_findings());
    assert_eq!(v["summary"]["files_unreadable"], 0);
    // the ten noise days of September are outside the window: never listed, never fetched
    assert_eq!(v["summary"]["s3"]["objects_fetched"], 106);
}

#[test]
fn only_objects_inside_the_window_are_fetched() {
    let Some((moto, keys)) = seeded() else { return };
    let proxy = Proxy::start(moto.port, vec![]);
    let mut args = vec!["explain", "s3://trail"];
    args.extend(HOUR);
    let r = run(&proxy.url, &args);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let fetched = assert_fetched_only_the_hour(&proxy, keys);
    let v = r.json();
    assert_eq!(v["summary"]["s3"]["objects_fetched"], fetched);
}

/// One hour of one account and region, with a quarter hour of delivery lag.
const HOUR: [&str; 10] = [
    "--since",
    "2026-10-02T10:00:00Z",
    "--until",
    "2026-10-02T11:00:00Z",
    "--account",
    "111122223333",
    "--region",
    "us-east-1",
    "--delivery-lag",
    "15m",
];

/// Through `proxy`, the objects of [`HOUR`] were fetched (this account and region, delivered
/// from 10:00 to 11:15), no others, and only the window's folders were listed; returns how many.
fn assert_fetched_only_the_hour(proxy: &Proxy, keys: &[String]) -> usize {
    let expected = sample_keys(
        keys,
        "/111122223333/CloudTrail/us-east-1/",
        "20261002T1000Z"..="20261002T1115Z",
    );
    assert!(!expected.is_empty());
    assert_eq!(fetched(proxy), expected);
    assert_only_the_window_listed(proxy);
    expected.len()
}

/// The sample keys below `folder` delivered within `stamps` (`YYYYMMDDTHHMMZ`).
fn sample_keys(
    keys: &[String],
    folder: &str,
    stamps: std::ops::RangeInclusive<&str>,
) -> BTreeSet<String> {
    keys.iter()
        .filter(|k| k.contains(folder))
        .filter(|k| {
            let stamp = k
                .split('_')
                .find(|p| p.len() == 14 && p.ends_with('Z'))
                .unwrap();
            stamps.contains(&stamp)
        })
        .cloned()
        .collect()
}

/// The objects of the bucket `trail` fetched through the proxy.
fn fetched(proxy: &Proxy) -> BTreeSet<String> {
    proxy
        .requests()
        .into_iter()
        .filter(|(m, p)| m == "GET" && !p.contains("list-type") && p.contains("/AWSLogs/"))
        .map(|(_, p)| {
            p.trim_start_matches("/trail/")
                .split('?')
                .next()
                .unwrap()
                .to_owned()
        })
        .collect()
}

/// Neither the September noise folders nor the digest folders were listed.
fn assert_only_the_window_listed(proxy: &Proxy) {
    let lists: Vec<String> = proxy
        .requests()
        .into_iter()
        .filter(|(_, p)| p.contains("list-type=2"))
        .map(|(_, p)| p)
        .collect();
    assert!(
        lists.iter().all(|p| !p.contains("2026%2F09")),
        "September folders listed: {lists:?}"
    );
    assert!(
        lists.iter().all(|p| !p.contains("CloudTrail-Digest")),
        "{lists:?}"
    );
}

/// `trailwhy query ARGS --endpoint-url ENDPOINT --format ndjson`.
fn query(endpoint: &str, args: &[&str]) -> common::Run {
    let mut all = vec!["query"];
    all.extend(args);
    all.extend(["--endpoint-url", endpoint, "--format", "ndjson"]);
    common::trailwhy_env(&all, &aws::aws_env())
}

#[test]
fn query_reads_the_bucket_as_it_reads_the_tree_on_disk() {
    let Some((moto, _)) = seeded() else { return };
    for filters in [
        &["--event-name", "AssumeRoleWithWebIdentity"][..],
        &["--errors-only", "--jq", "{eventID, eventName, errorCode}"],
        &["--event-source", "ecr.*", "--account", "111122223333"],
    ] {
        let mut args = vec!["s3://trail"];
        args.extend(WINDOW);
        args.extend(filters);
        let remote = query(&moto.url, &args);
        assert_eq!(remote.code, 0, "{filters:?}: {}", remote.stderr);
        let local_tree = format!("{SAMPLE}/AWSLogs");
        let mut args = vec!["query", local_tree.as_str(), "--format", "ndjson"];
        args.extend(WINDOW);
        args.extend(filters);
        let local = common::trailwhy(&args);
        assert_eq!(local.code, 0, "{filters:?}: {}", local.stderr);
        assert!(!local.stdout.is_empty(), "{filters:?}");
        // the same records, in the same order (key order is the walk's name order)
        assert_eq!(remote.stdout, local.stdout, "{filters:?}");
    }
}

#[test]
fn query_fetches_only_the_objects_of_its_window_account_and_region() {
    let Some((moto, keys)) = seeded() else { return };
    let proxy = Proxy::start(moto.port, vec![]);
    let mut args = vec!["s3://trail"];
    args.extend(HOUR);
    args.extend(["--jq", ".eventTime"]);
    let r = query(&proxy.url, &args);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_fetched_only_the_hour(&proxy, keys);
    // and the records are those of the window (files hold events from before it too)
    let times: Vec<&str> = r.stdout.lines().collect();
    assert!(!times.is_empty());
    assert!(
        times
            .iter()
            .all(|t| ("\"2026-10-02T10:00:00Z\""..="\"2026-10-02T11:00:00Z\"").contains(t)),
        "{times:?}"
    );

    // without --since: the last 24 hours, said on stderr (the sample is older: no rows)
    let r = query(&moto.url, &["s3://trail", "--event-name", "PutImage"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(
        r.stderr
            .contains("no --since given: reading the last 24 hours of s3://trail"),
        "{}",
        r.stderr
    );
    assert_eq!(r.stdout, "");
    // a flag that needs an inventory is refused before any request
    let r = query(&moto.url, &["s3://trail", "--iam-live"]);
    assert_eq!(r.code, 2);
    assert!(r.stderr.contains("--iam-live"), "{}", r.stderr);
}

#[test]
fn missing_bucket_and_denied_listing_are_one_readable_line_exit_2() {
    let Some((moto, _)) = seeded() else { return };
    let r = run(
        &moto.url,
        &["explain", "s3://no-such-bucket", "--since", "2d"],
    );
    assert_eq!(r.code, 2);
    assert!(
        r.stderr.contains("s3://no-such-bucket: no such bucket"),
        "{}",
        r.stderr
    );
    let proxy = Proxy::start(
        moto.port,
        vec![Rule {
            method: Some("GET"),
            path: "list-type=2".into(),
            fault: Fault::AccessDenied,
            times: u32::MAX,
        }],
    );
    let r = run(
        &proxy.url,
        &[
            "explain",
            "s3://trail",
            "--since",
            "2026-10-01T00:00:00Z",
            "--until",
            "2026-10-02T00:00:00Z",
        ],
    );
    assert_eq!(r.code, 2);
    assert!(
        r.stderr.contains("access denied (s3:ListBucket is needed)"),
        "{}",
        r.stderr
    );
    assert_eq!(r.stderr.trim().lines().count(), 1, "{}", r.stderr);
}

#[test]
fn denied_object_is_named_and_counted_exit_3() {
    let Some((moto, keys)) = seeded() else { return };
    let victim = keys
        .iter()
        .find(|k| k.contains("/CloudTrail/us-east-1/2026/10/01/"))
        .unwrap()
        .clone();
    let proxy = Proxy::start(
        moto.port,
        vec![Rule {
            method: Some("GET"),
            path: victim.clone(),
            fault: Fault::AccessDenied,
            times: u32::MAX,
        }],
    );
    let mut args = vec!["explain", "s3://trail"];
    args.extend(WINDOW);
    let r = run(&proxy.url, &args);
    assert_eq!(r.code, 3, "{}", r.stderr);
    assert!(
        r.stderr.contains(&format!(
            "s3://trail/{victim}: access denied (s3:GetObject is needed)"
        )),
        "{}",
        r.stderr
    );
    assert_eq!(r.json()["summary"]["files_unreadable"], 1);
}

#[test]
fn throttling_errors_resets_and_truncated_bodies_are_retried() {
    let Some((moto, keys)) = seeded() else { return };
    let k: Vec<&String> = keys
        .iter()
        .filter(|k| k.contains("/CloudTrail/") && k.contains("/2026/10/02/"))
        .take(4)
        .collect();
    let proxy = Proxy::start(
        moto.port,
        vec![
            Rule {
                method: Some("GET"),
                path: k[0].clone(),
                fault: Fault::SlowDown,
                times: 2,
            },
            Rule {
                method: Some("GET"),
                path: k[1].clone(),
                fault: Fault::ServerError,
                times: 1,
            },
            Rule {
                method: Some("GET"),
                path: k[2].clone(),
                fault: Fault::Reset,
                times: 1,
            },
            Rule {
                method: Some("GET"),
                path: k[3].clone(),
                fault: Fault::Truncate,
                times: 1,
            },
            Rule {
                method: Some("GET"),
                path: "list-type=2".into(),
                fault: Fault::SlowDown,
                times: 1,
            },
        ],
    );
    let r = explain_the_window(&proxy.url);
    assert_eq!(normalized(&r.json()), local_findings());
    let gets_of = |key: &str| {
        proxy
            .requests()
            .iter()
            .filter(|(m, p)| m == "GET" && p.contains(key))
            .count()
    };
    assert_eq!(gets_of(k[0]), 3, "two throttled attempts, then the object");
    assert!(gets_of(k[3]) >= 2, "the truncated body was resumed");
}

/// The sample trail with every time moved `days` days later (keys, folders, eventTime,
/// delivery stamps), written to `dir` and uploaded to bucket `bucket`: moto stamps the roles
/// it creates with today's date, so the events must come after it.
fn shifted_copy(moto: &aws::Moto, dir: &std::path::Path, bucket: &str, days: i64) {
    aws::python(
        &moto.url,
        &format!(
            r#"
import boto3, os, gzip, json, re, datetime as dt
s3 = boto3.client("s3", endpoint_url=os.environ["ENDPOINT"])
s3.create_bucket(Bucket="{bucket}")
root, out, delta = "{root}", "{out}", dt.timedelta(days={days})
def shift_time(s):
    t = dt.datetime.strptime(s[:19], "%Y-%m-%dT%H:%M:%S") + delta
    return t.strftime("%Y-%m-%dT%H:%M:%S") + s[19:]
for dirpath, _, files in os.walk(os.path.join(root, "AWSLogs")):
    for f in files:
        p = os.path.join(dirpath, f)
        rel = os.path.relpath(p, root)
        if "/CloudTrail/" not in "/" + rel or not f.endswith(".json.gz"):
            continue
        recs = json.loads(gzip.decompress(open(p, "rb").read()))["Records"]
        for r in recs:
            r["eventTime"] = shift_time(r["eventTime"])
        m = re.search(r"/(\d{{4}})/(\d{{2}})/(\d{{2}})/(.*_)(\d{{8}}T\d{{4}}Z)(_.*)$", rel)
        stamp = dt.datetime.strptime(m.group(5), "%Y%m%dT%H%MZ") + delta
        key = rel[:m.start()] + stamp.strftime("/%Y/%m/%d/") + m.group(4) + stamp.strftime("%Y%m%dT%H%MZ") + m.group(6)
        body = gzip.compress(json.dumps({{"Records": recs}}).encode(), mtime=0)
        os.makedirs(os.path.dirname(os.path.join(out, key)), exist_ok=True)
        open(os.path.join(out, key), "wb").write(body)
        s3.put_object(Bucket="{bucket}", Key=key, Body=body)
"#,
            root = SAMPLE,
            out = dir.display(),
        ),
    );
}

#[test]
fn iam_live_reads_the_same_inventory_as_the_files() {
    let Some((moto, _)) = seeded() else { return };
    // Recreate account 111122223333's IAM state in moto; it dates the roles today.
    aws::python(
        &moto.url,
        &format!(
            r#"
import boto3, os, json
iam = boto3.client("iam", endpoint_url=os.environ["ENDPOINT"])
d = json.load(open("{iam_dir}/111122223333-authorization-details.json"))
for p in d["Policies"]:
    versions = sorted(p["PolicyVersionList"], key=lambda v: v["VersionId"])
    arn = iam.create_policy(PolicyName=p["PolicyName"], Path=p["Path"], PolicyDocument=json.dumps(versions[0]["Document"]))["Policy"]["Arn"]
    for v in versions[1:]:
        iam.create_policy_version(PolicyArn=arn, PolicyDocument=json.dumps(v["Document"]), SetAsDefault=v["IsDefaultVersion"])
for r in d["RoleDetailList"]:
    iam.create_role(RoleName=r["RoleName"], Path=r["Path"], AssumeRolePolicyDocument=json.dumps(r["AssumeRolePolicyDocument"]))
    for ip in r["RolePolicyList"]:
        iam.put_role_policy(RoleName=r["RoleName"], PolicyName=ip["PolicyName"], PolicyDocument=json.dumps(ip["PolicyDocument"]))
    for ap in r["AttachedManagedPolicies"]:
        iam.attach_role_policy(RoleName=r["RoleName"], PolicyArn=ap["PolicyArn"])
prov = json.load(open("{iam_dir}/111122223333-oidc-providers.json"))["OpenIDConnectProviderList"][0]
iam.create_open_id_connect_provider(Url="https://" + prov["Url"], ClientIDList=prov["ClientIDList"], ThumbprintList=prov["ThumbprintList"])
"#,
            iam_dir = concat!(env!("CARGO_MANIFEST_DIR"), "/sample-logs/iam")
        ),
    );
    let today = chrono::Utc::now().date_naive();
    let first = chrono::NaiveDate::from_ymd_opt(2026, 10, 1).unwrap();
    let days = (today - first).num_days() + 1;
    let dir = tempfile::tempdir().unwrap();
    shifted_copy(moto, dir.path(), "trail-now", days);
    let since = (first + chrono::Duration::days(days))
        .format("%Y-%m-%dT00:00:00Z")
        .to_string();
    let until = (first + chrono::Duration::days(days + 3))
        .format("%Y-%m-%dT00:00:00Z")
        .to_string();
    let other = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/sample-logs/iam/444455556666-authorization-details.json"
    );
    let other_oidc = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/sample-logs/iam/444455556666-oidc-providers.json"
    );
    let live_args = [
        "explain",
        "s3://trail-now",
        "--since",
        &since,
        "--until",
        &until,
        "--iam-live",
        "--iam",
        other,
        "--iam",
        other_oidc,
    ];
    let r = run(&moto.url, &live_args);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let live = normalized(&r.json());
    let all_iam = concat!(env!("CARGO_MANIFEST_DIR"), "/sample-logs/iam");
    let local = common::trailwhy(&[
        "explain",
        dir.path().to_str().unwrap(),
        "--iam",
        all_iam,
        "--since",
        &since,
        "--until",
        &until,
        "--format",
        "json",
    ]);
    assert_eq!(local.code, 0, "{}", local.stderr);
    let local = normalized(&local.json());
    assert_eq!(local.len(), 20);
    let causes = |f: &[Value]| {
        f.iter()
            .map(|x| (x["cause"].clone(), x["count"].clone()))
            .collect::<Vec<_>>()
    };
    assert_eq!(causes(&live), causes(&local));
    assert_same(&live, &local);

    // --iam-role: the inventory of another account is read with an assumed role's credentials
    // (moto does not route them to another account, so that account's files stay given; the
    // assumption itself is checked on the wire).
    let proxy = Proxy::start(moto.port, vec![]);
    let mut args = live_args.to_vec();
    args.extend([
        "--iam-role",
        "444455556666=arn:aws:iam::444455556666:role/trailwhy-reader",
    ]);
    let r = run(&proxy.url, &args);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_same(&normalized(&r.json()), &local);
    let calls: Vec<String> = proxy.requests().into_iter().map(|(_, p)| p).collect();
    assert!(
        calls.iter().any(|p| p == "/#AssumeRole"),
        "no AssumeRole: {calls:?}"
    );
    assert_eq!(
        calls
            .iter()
            .filter(|p| *p == "/#GetAccountAuthorizationDetails")
            .count(),
        2,
        "default + assumed: {calls:?}"
    );
    let bad = run(
        &moto.url,
        &[
            "explain",
            "s3://trail-now",
            "--iam-live",
            "--iam-role",
            "4444=arn:aws:iam::4444:role/x",
        ],
    );
    assert_eq!(bad.code, 2);
    assert!(
        bad.stderr
            .contains("--iam-role: '4444' is not a 12-digit account id"),
        "{}",
        bad.stderr
    );
}

/// Live findings equal the files' findings, field by field.
fn assert_same(live: &[Value], local: &[Value]) {
    assert_eq!(live.len(), local.len());
    for (l, d) in live.iter().zip(local) {
        for (key, value) in d.as_object().unwrap() {
            if d["cause"] == "duration_exceeds_max"
                && ["evidence", "explanation", "fix", "fixes"].contains(&key.as_str())
            {
                // authorization details carry no MaxSessionDuration; --iam-live reads it with GetRole
                assert_eq!(l["evidence"][0]["expected"], serde_json::json!(["3600"]));
                continue;
            }
            assert_eq!(&l[key], value, "{}: field {key} differs", d["cause"]);
        }
    }
}

#[test]
fn credentials_missing_or_expired_and_a_bucket_in_another_region() {
    let Some((moto, _)) = seeded() else { return };
    // no credentials anywhere
    let r = common::trailwhy_without_aws(
        &[
            "explain",
            "s3://trail",
            "--since",
            "1d",
            "--endpoint-url",
            &moto.url,
        ],
        &[("AWS_REGION", "us-east-1")],
    );
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(
        r.stderr.contains("no AWS credentials found"),
        "{}",
        r.stderr
    );
    assert_eq!(r.stderr.trim().lines().count(), 1, "{}", r.stderr);
    // expired credentials
    let proxy = Proxy::start(
        moto.port,
        vec![Rule {
            method: None,
            path: "/trail".into(),
            fault: Fault::Expired,
            times: u32::MAX,
        }],
    );
    let r = run(&proxy.url, &["explain", "s3://trail", "--since", "1d"]);
    assert_eq!(r.code, 2);
    assert!(
        r.stderr.contains("the AWS credentials have expired"),
        "{}",
        r.stderr
    );
    // a bucket in another region: HeadBucket names it, and the scan goes on there
    let proxy = Proxy::start(
        moto.port,
        vec![Rule {
            method: Some("HEAD"),
            path: "/trail".into(),
            fault: Fault::WrongRegion,
            times: 1,
        }],
    );
    let r = explain_the_window(&proxy.url);
    assert_eq!(normalized(&r.json()), local_findings());
}

#[test]
fn a_prefix_outside_the_trail_layout_is_listed_page_by_page() {
    let Some((moto, _)) = seeded() else { return };
    aws::python(
        &moto.url,
        r#"
import boto3, os, gzip, json, concurrent.futures as cf
s3 = boto3.client("s3", endpoint_url=os.environ["ENDPOINT"])
s3.create_bucket(Bucket="flat")
body = gzip.compress(json.dumps({"Records": [{"eventVersion": "1.08", "eventTime": "2026-10-01T00:00:00Z",
    "eventSource": "s3.amazonaws.com", "eventName": "GetObject", "awsRegion": "us-east-1"}]}).encode(), mtime=0)
with cf.ThreadPoolExecutor(32) as ex:
    list(ex.map(lambda i: s3.put_object(Bucket="flat", Key=f"export/part-{i:05d}.json.gz", Body=body), range(1234)))
"#,
    );
    let r = run(
        &moto.url,
        &[
            "explain",
            "s3://flat/export",
            "--since",
            "2026-09-30T00:00:00Z",
            "--until",
            "2026-10-02T00:00:00Z",
        ],
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    let s = &r.json()["summary"];
    assert_eq!(s["s3"]["objects_listed"], 1234);
    assert_eq!(s["s3"]["objects_fetched"], 1234);
    assert_eq!(s["files_read"], 1234);
    assert_eq!(s["records_scanned"], 1234);
    // one look for AWSLogs/ below the prefix, then two pages of 1,000 keys at most
    assert_eq!(s["s3"]["list_requests"], 3);
}
