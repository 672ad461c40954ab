//! The athena:// source end to end, against moto_server (Athena, Glue and S3 speaking the real
//! wire protocol to the real SDK) with our fault-injecting proxy in front of it.
//!
//! moto does not run SQL: each test asks trailwhy for the statement it will submit
//! (`--dry-run`), runs that statement in DuckDB over an Athena-shaped table built from the
//! same trail files (`tests/athena/duck.py`), seeds moto's query results with DuckDB's rows
//! (`/moto-api/static/athena/query-results`), then runs trailwhy and checks that the
//! statement moto recorded is the one DuckDB ran, and that the findings equal those of a
//! local scan of the same files. moto writes its result CSV without escaping quotes and
//! ignores `NextToken`: paging is tested with recorded real-format pages served by the proxy.
#![allow(clippy::unwrap_used, clippy::expect_used, reason = "tests")]

mod aws;
mod common;

use std::collections::BTreeMap;
use std::process::Command;
use std::sync::Mutex;

use serde_json::{json, Value};

use aws::proxy::{Fault, Proxy, Rule};
use common::SAMPLE;

const ACCOUNT: &str = "111122223333";
const DUCK: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/athena/duck.py");
const WINDOW: [&str; 4] = [
    "--since",
    "2026-10-01T00:00:00Z",
    "--until",
    "2026-10-03T12:00:00Z",
];
const REGIONS: [&str; 3] = ["us-east-1", "eu-west-1", "ap-northeast-1"];

/// moto keeps one queue of seeded results per account and region, and one state-manager
/// setting: the tests that seed or change them run one at a time.
static MOTO_STATE: Mutex<()> = Mutex::new(());

fn lock() -> std::sync::MutexGuard<'static, ()> {
    MOTO_STATE
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// moto and DuckDB, or a printed reason to skip.
fn ready() -> Option<&'static aws::Moto> {
    if !common::python_has("duckdb, sqlglot, boto3", "the athena:// tests") {
        return None;
    }
    aws::moto()
}

/// The bundled trail's files of one account: (local path, key).
fn trail_files() -> Vec<(String, String)> {
    let root = format!("{SAMPLE}/AWSLogs/{ACCOUNT}/CloudTrail");
    common::files_under(&root)
        .into_iter()
        .filter(|p| p.ends_with(".json.gz"))
        .map(|p| {
            let key = p[p.find("AWSLogs/").unwrap()..].to_owned();
            (p, key)
        })
        .collect()
}

/// A trail bucket, a results bucket, a Glue database and a CloudTrail table over the
/// account's files (partitions: `region` enum, `timestamp` date projection), all named after
/// `tag`.
struct Setup {
    tag: String,
    bucket: String,
    results: String,
    database: String,
}

fn table_params(bucket: &str) -> Value {
    json!({
        "projection.enabled": "true",
        "projection.region.type": "enum",
        "projection.region.values": REGIONS.join(","),
        "projection.timestamp.type": "date",
        "projection.timestamp.format": "yyyy/MM/dd",
        "projection.timestamp.range": "2026/01/01,NOW",
        "projection.timestamp.interval": "1",
        "projection.timestamp.interval.unit": "DAYS",
        "storage.location.template": format!("s3://{bucket}/AWSLogs/{ACCOUNT}/CloudTrail/${{region}}/${{timestamp}}"),
        "classification": "cloudtrail",
    })
}

/// The data columns of the table: those every AWS CloudTrail table has, with identityprovider.
fn table_columns() -> Value {
    json!(trailwhy::source::athena::table::common_columns(true))
}

fn setup(moto: &aws::Moto, tag: &str, partitions: bool) -> Setup {
    let s = Setup {
        tag: tag.to_owned(),
        bucket: format!("trail-{tag}"),
        results: format!("results-{tag}"),
        database: format!("trails_{tag}"),
    };
    let files: Vec<Value> = trail_files().iter().map(|(p, k)| json!([p, k])).collect();
    let spec = json!({
        "bucket": s.bucket, "results": s.results, "database": s.database,
        "files": files, "columns": table_columns(),
        "partitions": if partitions { json!([["region", "string"], ["timestamp", "string"]]) } else { json!([]) },
        "params": if partitions { table_params(&s.bucket) } else { json!({}) },
    });
    let dir = tempfile::tempdir().unwrap();
    let spec_path = dir.path().join("spec.json");
    std::fs::write(&spec_path, spec.to_string()).unwrap();
    aws::python(
        &moto.url,
        &format!(
            r#"
import json, os, boto3
spec = json.load(open({spec:?}))
kw = dict(endpoint_url=os.environ["ENDPOINT"], region_name="us-east-1")
s3 = boto3.client("s3", **kw)
s3.create_bucket(Bucket=spec["bucket"])
s3.create_bucket(Bucket=spec["results"])
for path, key in spec["files"]:
    s3.upload_file(path, spec["bucket"], key)
glue = boto3.client("glue", **kw)
glue.create_database(DatabaseInput={{"Name": spec["database"]}})
glue.create_table(DatabaseName=spec["database"], TableInput={{
    "Name": "cloudtrail",
    "TableType": "EXTERNAL_TABLE",
    "PartitionKeys": [{{"Name": n, "Type": t}} for n, t in spec["partitions"]],
    "StorageDescriptor": {{
        "Columns": [{{"Name": n, "Type": t}} for n, t in spec["columns"]],
        "Location": "s3://" + spec["bucket"] + "/AWSLogs/",
    }},
    "Parameters": spec["params"],
}})
athena = boto3.client("athena", **kw)
athena.create_work_group(Name="wg-" + spec["database"], Configuration={{}})
"#,
            spec = spec_path.to_str().unwrap()
        ),
    );
    s
}

impl Setup {
    fn source(&self, extra: &str) -> String {
        format!(
            "athena://{}.cloudtrail?output=s3://{}/q/{extra}",
            self.database, self.results
        )
    }
}

/// `trailwhy ARGS --endpoint-url URL` with the test credentials.
fn run(url: &str, args: &[&str]) -> common::Run {
    let mut all: Vec<&str> = args.to_vec();
    all.extend(["--endpoint-url", url]);
    common::trailwhy_env(&all, &aws::aws_env())
}

/// The statement `command SOURCE ARGS` submits (from `--dry-run`).
fn statement(url: &str, command: &str, source: &str, args: &[&str]) -> String {
    let mut all = vec![command, source, "--dry-run"];
    all.extend(args);
    let r = run(url, &all);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let text = r.stdout.trim();
    let (comment, sql) = text.split_once('\n').unwrap();
    assert!(comment.starts_with("-- athena://"), "{text}");
    sql.trim().to_owned()
}

/// `sql` run in DuckDB over the table of `setup`: (columns, rows).
fn duck(s: &Setup, sql: &str) -> (Vec<String>, Vec<Vec<Option<String>>>) {
    let files: Vec<Value> = trail_files()
        .iter()
        .map(|(p, k)| json!({"path": p, "key": k}))
        .collect();
    let req = json!({
        "bucket": s.bucket, "database": s.database, "table": "cloudtrail",
        "identity_provider": true, "files": files,
        "partitions": [{"name": "region", "from": "region"}, {"name": "timestamp", "from": "yyyy/MM/dd"}],
        "statements": [sql],
    });
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("req.json");
    std::fs::write(&path, req.to_string()).unwrap();
    let out = Command::new("python3")
        .args([DUCK, path.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    let r = &v["results"][0];
    assert!(r.get("error").is_none(), "{}\n{sql}", r["error"]);
    let columns = serde_json::from_value(r["columns"].clone()).unwrap();
    let rows = serde_json::from_value(r["rows"].clone()).unwrap();
    (columns, rows)
}

/// Athena's `ResultSet.Rows` for a header and rows (a NULL is a datum without a value).
fn athena_rows(columns: &[String], rows: &[Vec<Option<String>>]) -> Vec<Value> {
    let datum = |v: &Option<String>| v.as_ref().map_or(json!({}), |s| json!({"VarCharValue": s}));
    let mut out = vec![
        json!({"Data": columns.iter().map(|c| json!({"VarCharValue": c})).collect::<Vec<_>>()}),
    ];
    out.extend(
        rows.iter()
            .map(|r| json!({"Data": r.iter().map(datum).collect::<Vec<_>>()})),
    );
    out
}

/// Queues one query result in moto (taken by the next StartQueryExecution).
fn seed_result(moto: &aws::Moto, columns: &[String], rows: &[Vec<Option<String>>]) {
    let info: Vec<Value> = columns
        .iter()
        .map(|c| json!({"CatalogName": "hive", "SchemaName": "", "TableName": "", "Name": c, "Label": c, "Type": "varchar", "Precision": 2147483647, "Scale": 0, "Nullable": "UNKNOWN", "CaseSensitive": true}))
        .collect();
    let body = json!({"account_id": ACCOUNT, "region": "us-east-1", "results": [{"rows": athena_rows(columns, rows), "column_info": info}]});
    aws::python(
        &moto.url,
        &format!(
            "import os, urllib.request\nreq = urllib.request.Request(os.environ['ENDPOINT'] + '/moto-api/static/athena/query-results', data={:?}.encode(), headers={{'Content-Type': 'application/json'}}, method='POST')\nassert urllib.request.urlopen(req).status == 201",
            body.to_string()
        ),
    );
}

/// Every statement moto was asked to run in this test's database.
fn submitted(moto: &aws::Moto, s: &Setup) -> Vec<String> {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("q.json");
    aws::python(
        &moto.url,
        &format!(
            r#"
import json, os, boto3
a = boto3.client("athena", endpoint_url=os.environ["ENDPOINT"], region_name="us-east-1")
ids = a.list_query_executions()["QueryExecutionIds"]
qs = [a.get_query_execution(QueryExecutionId=i)["QueryExecution"] for i in ids]
json.dump([q["Query"] for q in qs if q.get("QueryExecutionContext", {{}}).get("Database") == {db:?}], open({out:?}, "w"))
"#,
            db = s.database,
            out = out.to_str().unwrap()
        ),
    );
    serde_json::from_str(&std::fs::read_to_string(out).unwrap()).unwrap()
}

fn local_explain() -> Value {
    let tree = format!("{SAMPLE}/AWSLogs/{ACCOUNT}");
    let iam = format!("{SAMPLE}/iam");
    let mut args = vec![
        "explain",
        tree.as_str(),
        "--iam",
        iam.as_str(),
        "--format",
        "json",
    ];
    args.extend(WINDOW);
    let r = common::trailwhy(&args);
    assert_eq!(r.code, 0, "{}", r.stderr);
    r.json()
}

fn norm(v: &Value) -> Vec<Value> {
    common::sorted_findings(v, &["event_ids", "regions"])
}

/// GETs of the trail bucket's objects seen by the proxy.
fn object_gets(proxy: &Proxy, bucket: &str) -> BTreeMap<String, usize> {
    let mut m = BTreeMap::new();
    for (method, path) in proxy.requests() {
        if method == "GET" && path.starts_with(&format!("/{bucket}/AWSLogs/")) {
            let key = path.split('?').next().unwrap_or_default().to_owned();
            *m.entry(key).or_insert(0) += 1;
        }
    }
    m
}

#[test]
fn athena_objects_mode_gives_the_findings_of_the_trail_files() {
    let Some(moto) = ready() else { return };
    let _g = lock();
    let s = setup(moto, "objects", true);
    let proxy = Proxy::start(moto.port, Vec::new());
    let source = s.source("");
    let iam = format!("{SAMPLE}/iam");
    let mut args = vec!["--iam", iam.as_str(), "--format", "json"];
    args.extend(WINDOW);
    let sql = statement(&proxy.url, "explain", &source, &args);
    let (columns, rows) = duck(&s, &sql);
    assert_eq!(columns, ["eventid", "$path"]);
    seed_result(moto, &columns, &rows);

    let mut all = vec!["explain", source.as_str()];
    all.extend(&args);
    let r = run(&proxy.url, &all);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let remote = r.json();
    let local = local_explain();
    assert!(!norm(&local).is_empty());
    assert_eq!(norm(&remote), norm(&local));
    // moto was asked to run exactly the statement DuckDB ran
    assert_eq!(submitted(moto, &s), std::slice::from_ref(&sql));
    // each object that holds a selected event was read once, and no other
    let paths: std::collections::BTreeSet<String> = rows
        .iter()
        .map(|r| r[1].clone().unwrap().replacen("s3://", "/", 1))
        .collect();
    let gets = object_gets(&proxy, &s.bucket);
    assert_eq!(
        gets.keys()
            .cloned()
            .collect::<std::collections::BTreeSet<_>>(),
        paths
    );
    assert!(gets.values().all(|n| *n == 1), "{gets:?}");
    assert!(
        paths.len() < trail_files().len(),
        "the selection read every object"
    );
    // the result CSV was read (one GET), not paged
    assert!(proxy
        .requests()
        .iter()
        .any(|(m, p)| m == "GET" && p.starts_with(&format!("/{}/q/", s.results))));
    assert!(!proxy
        .requests()
        .iter()
        .any(|(_, p)| p.ends_with("#AmazonAthena.GetQueryResults")));
    let q = &remote["summary"]["queries"][0];
    assert_eq!(q["source"], format!("athena://{}.cloudtrail", s.database));
    assert_eq!(q["mode"], "objects");
    assert_eq!(q["rows"], rows.len());
    assert_eq!(q["objects"], paths.len());
    assert!(
        r.stderr
            .contains(&format!("{} events in {} objects", rows.len(), paths.len())),
        "{}",
        r.stderr
    );
    let _ = s.tag;
}

#[test]
fn athena_columns_mode_rebuilds_the_records_from_paged_results() {
    let Some(moto) = ready() else { return };
    let _g = lock();
    let s = setup(moto, "columns", true);
    // no results bucket of that name: moto cannot write the CSV, so the rows are paged; the
    // pages are recorded real-format answers (moto ignores NextToken), 3 rows per page
    let source = format!(
        "athena://{}.cloudtrail?output=s3://no-such-results/q/&mode=columns",
        s.database
    );
    let iam = format!("{SAMPLE}/iam");
    let mut args = vec!["--iam", iam.as_str(), "--format", "json"];
    args.extend(WINDOW);
    let plain = Proxy::start(moto.port, Vec::new());
    let sql = statement(&plain.url, "explain", &source, &args);
    let (columns, rows) = duck(&s, &sql);
    assert!(columns.len() > 5, "{columns:?}");
    let all_rows = athena_rows(&columns, &rows);
    let mut rules = Vec::new();
    let pages: Vec<&[Value]> = all_rows.chunks(3).collect();
    for (i, page) in pages.iter().enumerate() {
        let mut body = json!({"UpdateCount": 0, "ResultSet": {"Rows": page, "ResultSetMetadata": {"ColumnInfo": columns.iter().map(|c| json!({"Name": c, "Label": c, "Type": "varchar", "CatalogName": "hive", "SchemaName": "", "TableName": "", "Precision": 0, "Scale": 0, "Nullable": "UNKNOWN", "CaseSensitive": true})).collect::<Vec<_>>()}}});
        if i + 1 < pages.len() {
            body["NextToken"] = json!(format!("page-{}", i + 1));
        }
        rules.push(Rule {
            method: Some("POST"),
            path: "#AmazonAthena.GetQueryResults".into(),
            fault: Fault::Json(200, Box::leak(body.to_string().into_boxed_str())),
            times: 1,
        });
    }
    let proxy = Proxy::start(moto.port, rules);
    let mut all = vec!["explain", source.as_str()];
    all.extend(&args);
    let r = run(&proxy.url, &all);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let remote = r.json();
    assert_eq!(norm(&remote), norm(&local_explain()));
    let paged = proxy
        .requests()
        .iter()
        .filter(|(_, p)| p.ends_with("#AmazonAthena.GetQueryResults"))
        .count();
    assert_eq!(paged, pages.len());
    // no trail object was read
    assert!(object_gets(&proxy, &s.bucket).is_empty());
    let q = &remote["summary"]["queries"][0];
    assert_eq!(q["mode"], "columns");
    assert_eq!(q["rows"], rows.len());
    assert!(q["lost"].as_str().unwrap().contains("rebuilt"), "{q}");
    assert!(
        r.stderr.contains("cannot be read") && r.stderr.contains("paging GetQueryResults"),
        "{}",
        r.stderr
    );
}

#[test]
fn athena_query_command_pushes_its_filters_down() {
    let Some(moto) = ready() else { return };
    let _g = lock();
    let s = setup(moto, "query", true);
    let proxy = Proxy::start(moto.port, Vec::new());
    let source = s.source("");
    let mut args = vec![
        "--event-source",
        "ecr.amazonaws.com",
        "--errors-only",
        "--jq",
        "[.eventID, .errorCode]",
        "--format",
        "ndjson",
    ];
    args.extend(WINDOW);
    let sql = statement(&proxy.url, "query", &source, &args);
    let (columns, rows) = duck(&s, &sql);
    seed_result(moto, &columns, &rows);
    let mut all = vec!["query", source.as_str()];
    all.extend(&args);
    let r = run(&proxy.url, &all);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let tree = format!("{SAMPLE}/AWSLogs/{ACCOUNT}");
    let mut local_args = vec!["query", tree.as_str()];
    local_args.extend(&args);
    let local = common::trailwhy(&local_args);
    let sorted = |t: &str| {
        let mut l: Vec<String> = t.lines().map(str::to_owned).collect();
        l.sort();
        l
    };
    assert!(!sorted(&local.stdout).is_empty());
    assert_eq!(sorted(&r.stdout), sorted(&local.stdout));
    assert_eq!(
        rows.len(),
        sorted(&local.stdout).len(),
        "the SQL selects exactly the local rows"
    );
}

/// `explain SOURCE` through a proxy with `rules`: the run.
fn explain_with(moto: &aws::Moto, source: &str, rules: Vec<Rule>) -> (common::Run, Proxy) {
    let proxy = Proxy::start(moto.port, rules);
    let mut all = vec!["explain", source];
    all.extend(WINDOW);
    (run(&proxy.url, &all), proxy)
}

fn json_rule(target: &str, status: u16, body: &'static str, times: u32) -> Rule {
    Rule {
        method: Some("POST"),
        path: format!("#{target}"),
        fault: Fault::Json(status, body),
        times,
    }
}

#[test]
fn bad_tables_workgroups_and_permissions_are_one_line_and_exit_2() {
    let Some(moto) = ready() else { return };
    let _g = lock();
    let s = setup(moto, "bad", true);
    let flat = setup(moto, "flat", false);
    let cases: Vec<(String, Vec<Rule>, String)> = vec![
        (
            format!("athena://{}.nope?output=s3://{}/q/", s.database, s.results),
            vec![],
            format!("no table 'nope' in database '{}'", s.database),
        ),
        (flat.source(""), vec![], "partition".to_owned()),
        (
            format!(
                "athena://{}.cloudtrail?workgroup=wg-{}",
                s.database, s.database
            ),
            vec![],
            format!("workgroup 'wg-{}' has no query result location", s.database),
        ),
        (
            s.source(""),
            vec![json_rule(
                "AWSGlue.GetTable",
                400,
                r#"{"__type":"AccessDeniedException","message":"User is not authorized to perform: glue:GetTable"}"#,
                1,
            )],
            "access denied (glue:GetTable is needed)".to_owned(),
        ),
        (
            s.source(""),
            vec![json_rule(
                "AmazonAthena.StartQueryExecution",
                400,
                r#"{"__type":"AccessDeniedException","Message":"not authorized to perform: athena:StartQueryExecution"}"#,
                1,
            )],
            "access denied (athena:StartQueryExecution is needed)".to_owned(),
        ),
        (
            s.source(""),
            vec![json_rule(
                "AmazonAthena.GetQueryExecution",
                200,
                r#"{"QueryExecution":{"QueryExecutionId":"x","Status":{"State":"FAILED","StateChangeReason":"COLUMN_NOT_FOUND: line 1:8: Column 'eventjsn' cannot be resolved"}}}"#,
                u32::MAX,
            )],
            "failed: COLUMN_NOT_FOUND: line 1:8: Column 'eventjsn' cannot be resolved".to_owned(),
        ),
    ];
    for (source, rules, says) in cases {
        let (r, _) = explain_with(moto, &source, rules);
        assert_eq!(r.code, 2, "{source}: {}", r.stderr);
        let lines: Vec<&str> = r
            .stderr
            .lines()
            .filter(|l| l.starts_with("trailwhy: error:"))
            .collect();
        assert_eq!(lines.len(), 1, "{}", r.stderr);
        assert!(
            lines[0].contains(&says),
            "{source}: expected '{says}' in {}",
            r.stderr
        );
    }
}

#[test]
fn throttled_starts_are_retried_and_unreadable_objects_are_named() {
    let Some(moto) = ready() else { return };
    let _g = lock();
    let s = setup(moto, "throttle", true);
    let source = s.source("");
    let plain = Proxy::start(moto.port, Vec::new());
    let mut args: Vec<&str> = Vec::new();
    args.extend(WINDOW);
    let sql = statement(&plain.url, "explain", &source, &args);
    let (columns, rows) = duck(&s, &sql);
    seed_result(moto, &columns, &rows);
    let first = rows[0][1].clone().unwrap();
    let key = first.replacen("s3://", "/", 1);
    let rules = vec![
        json_rule(
            "AmazonAthena.StartQueryExecution",
            400,
            r#"{"__type":"TooManyRequestsException","Message":"Rate exceeded","Reason":"CONCURRENT_QUERY_LIMIT_EXCEEDED"}"#,
            2,
        ),
        Rule {
            method: Some("GET"),
            path: key.clone(),
            fault: Fault::AccessDenied,
            times: u32::MAX,
        },
    ];
    let (r, proxy) = explain_with(moto, &source, rules);
    // the query ran after two throttled starts; the one object that cannot be read is
    // named and makes the run partial (exit 3)
    assert_eq!(r.code, 3, "{}", r.stderr);
    let starts = proxy
        .requests()
        .iter()
        .filter(|(_, p)| p.ends_with("#AmazonAthena.StartQueryExecution"))
        .count();
    assert_eq!(starts, 3);
    assert!(
        r.stderr.contains(&first) && r.stderr.contains("access denied (s3:GetObject is needed)"),
        "{}",
        r.stderr
    );
}

#[test]
fn athena_ddl_prints_a_table_athena_parses_and_creates_it() {
    let Some(moto) = ready() else { return };
    let args = [
        "athena",
        "ddl",
        "s3://org-trail/audit",
        "--organization",
        "o-abcdefghij",
        "--region",
        "us-east-1,eu-west-1",
        "--start",
        "2025-01-01",
        "--database",
        "trails_ddl",
        "--table",
        "ct",
    ];
    let printed = common::trailwhy(&args);
    assert_eq!(printed.code, 0, "{}", printed.stderr);
    let ddl = printed.stdout.trim().trim_end_matches(';').to_owned();
    for needle in [
        "CREATE EXTERNAL TABLE `trails_ddl`.`ct`",
        "identityprovider: STRING",
        "PARTITIONED BY (`account` STRING, `region` STRING, `timestamp` STRING)",
        "'projection.account.type'='injected'",
        "'projection.region.values'='us-east-1,eu-west-1'",
        "'projection.timestamp.range'='2025/01/01,NOW'",
        "'storage.location.template'='s3://org-trail/audit/AWSLogs/o-abcdefghij/${account}/CloudTrail/${region}/${timestamp}'",
    ] {
        assert!(ddl.contains(needle), "{needle} not in\n{ddl}");
    }
    // Athena's DDL is Hive's: the statement parses in sqlglot's athena dialect
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("ddl.sql");
    std::fs::write(&file, &ddl).unwrap();
    let parsed = Command::new("python3")
        .args(["-c", "import sys, sqlglot; from sqlglot.errors import ErrorLevel; e = sqlglot.parse_one(open(sys.argv[1]).read(), read='athena', error_level=ErrorLevel.RAISE); assert e.args.get('kind') == 'TABLE', e", file.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(
        parsed.status.success(),
        "{}",
        String::from_utf8_lossy(&parsed.stderr)
    );
    // single-account trails name their account; bad values are refused before any request
    for (bad, says) in [
        (vec!["athena", "ddl", "s3://b"], "--account"),
        (
            vec!["athena", "ddl", "s3://b", "--account", "1234"],
            "account",
        ),
        (
            vec!["athena", "ddl", "s3://b", "--organization", "o-x'y"],
            "o-x'y",
        ),
        (
            vec![
                "athena",
                "ddl",
                "s3://b",
                "--account",
                "111122223333",
                "--start",
                "2025-13-01",
            ],
            "--start",
        ),
    ] {
        let r = common::trailwhy(&bad);
        assert_eq!(r.code, 2, "{bad:?}: {}", r.stderr);
        assert!(r.stderr.contains(says), "{bad:?}: {}", r.stderr);
    }

    let _g = lock();
    let mut create: Vec<&str> = args.to_vec();
    create.extend(["--create", "--output", "s3://ddl-results/q"]);
    let r = run(&moto.url, &create);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(r.stdout.trim(), "trails_ddl.ct");
    let s = Setup {
        tag: String::new(),
        bucket: String::new(),
        results: String::new(),
        database: "trails_ddl".into(),
    };
    assert_eq!(
        submitted(moto, &s),
        ["CREATE DATABASE IF NOT EXISTS `trails_ddl`".to_owned(), ddl]
    );
}

/// Sets how many GetQueryExecution calls moto takes to move a query one state on
/// (QUEUED → RUNNING → SUCCEEDED); `None` puts back the default (at once).
fn moto_delay(moto: &aws::Moto, calls: Option<u32>) {
    let code = match calls {
        Some(n) => format!("import json, os, urllib.request\nreq = urllib.request.Request(os.environ['ENDPOINT'] + '/moto-api/state-manager/set-transition', data=json.dumps({{'model_name': 'athena::execution', 'transition': {{'progression': 'manual', 'times': {n}}}}}).encode(), method='POST')\nurllib.request.urlopen(req)"),
        None => "import json, os, urllib.request\nreq = urllib.request.Request(os.environ['ENDPOINT'] + '/moto-api/state-manager/unset-transition', data=json.dumps({'model_name': 'athena::execution'}).encode(), method='POST')\nurllib.request.urlopen(req)".to_owned(),
    };
    aws::python(&moto.url, &code);
}

#[test]
fn a_slow_query_is_polled_until_it_ends_and_ctrl_c_stops_it() {
    let Some(moto) = ready() else { return };
    let _g = lock();
    let s = setup(moto, "slow", true);
    let source = s.source("");
    let plain = Proxy::start(moto.port, Vec::new());
    let sql = statement(&plain.url, "explain", &source, &WINDOW);
    let (columns, rows) = duck(&s, &sql);
    seed_result(moto, &columns, &rows);
    // three polls per state: queued, running, then succeeded
    moto_delay(moto, Some(3));
    let (r, proxy) = explain_with(moto, &source, Vec::new());
    moto_delay(moto, None);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let polls = proxy
        .requests()
        .iter()
        .filter(|(_, p)| p.ends_with("#AmazonAthena.GetQueryExecution"))
        .count();
    assert!((6..=8).contains(&polls), "{polls} polls");

    // a query that never ends: Ctrl-C stops it (StopQueryExecution) and the run exits 130
    moto_delay(moto, Some(100_000));
    let proxy = Proxy::start(moto.port, Vec::new());
    let child = Command::new(env!("CARGO_BIN_EXE_trailwhy"))
        .args([
            "explain",
            source.as_str(),
            "--endpoint-url",
            proxy.url.as_str(),
        ])
        .args(WINDOW)
        .envs(aws::aws_env())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let started = std::time::Instant::now();
    while proxy
        .requests()
        .iter()
        .filter(|(_, p)| p.ends_with("#AmazonAthena.GetQueryExecution"))
        .count()
        < 2
    {
        assert!(
            started.elapsed().as_secs() < 30,
            "the query was never polled"
        );
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    let pid = child.id().to_string();
    assert!(Command::new("kill")
        .args(["-INT", &pid])
        .status()
        .unwrap()
        .success());
    let out = child.wait_with_output().unwrap();
    moto_delay(moto, None);
    assert_eq!(
        out.status.code(),
        Some(130),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(proxy
        .requests()
        .iter()
        .any(|(_, p)| p.ends_with("#AmazonAthena.StopQueryExecution")));

    // known beforehand: the day folders the partitions cover hold more than 10 KiB, so no
    // query starts
    let bytes: u64 = trail_files()
        .iter()
        .map(|(p, _)| std::fs::metadata(p).unwrap().len())
        .sum();
    let proxy = Proxy::start(moto.port, Vec::new());
    let mut all = vec![
        "explain",
        source.as_str(),
        "--max-scan",
        "10K",
        "--change-lookback",
        "30d",
    ];
    all.extend(WINDOW);
    let r = run(&proxy.url, &all);
    assert_eq!(r.code, 2, "{}", r.stderr);
    let says = format!("the partitions this query reads hold {bytes} bytes in {} objects, more than --max-scan 10240", trail_files().len());
    assert!(r.stderr.contains(&says), "{}", r.stderr);
    assert!(!proxy
        .requests()
        .iter()
        .any(|(_, p)| p.contains("#AmazonAthena.StartQueryExecution")));
}

#[test]
fn max_scan_stops_a_query_that_scans_more() {
    let Some(moto) = ready() else { return };
    let _g = lock();
    let s = setup(moto, "maxscan", true);
    let source = s.source("");
    // Athena reports 5 GiB scanned while the query runs
    let running = r#"{"QueryExecution":{"QueryExecutionId":"x","Status":{"State":"RUNNING"},"Statistics":{"DataScannedInBytes":5368709120}}}"#;
    let proxy = Proxy::start(
        moto.port,
        vec![json_rule(
            "AmazonAthena.GetQueryExecution",
            200,
            running,
            u32::MAX,
        )],
    );
    let mut all = vec!["explain", source.as_str(), "--max-scan", "1G"];
    all.extend(WINDOW);
    let r = run(&proxy.url, &all);
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(
        r.stderr
            .contains("stopped: it had scanned 5368709120 bytes, more than --max-scan 1073741824"),
        "{}",
        r.stderr
    );
    assert!(proxy
        .requests()
        .iter()
        .any(|(_, p)| p.ends_with("#AmazonAthena.StopQueryExecution")));
}

#[test]
fn verify_and_dry_run_without_a_query_source_are_refused() {
    for source in ["athena://trails.cloudtrail", "lake://EXAMPLE-store"] {
        let r = common::trailwhy(&["explain", source, "--verify"]);
        assert_eq!(r.code, 2, "{}", r.stderr);
        assert!(
            r.stderr.contains(&format!(
                "--verify: {source}: query results are rows, not the trail's files, so nothing can be verified"
            )),
            "{}",
            r.stderr
        );
    }
    let r = common::trailwhy(&["explain", SAMPLE, "--dry-run"]);
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(
        r.stderr
            .contains("--dry-run: no athena:// or lake:// SOURCE"),
        "{}",
        r.stderr
    );
}

/// Issue #21, "athena ddl": a bucket that several accounts' trails write into without an
/// organization. `--accounts-from-bucket` lists `[prefix/]AWSLogs/` (one delimiter listing)
/// and enumerates the account folders; an organization folder beside them is left out and
/// said so; with `--organization` its own folder is listed; a bucket holding one
/// organization folder alone gives that organization's table.
#[test]
fn athena_ddl_lists_the_accounts_of_the_bucket() {
    if !common::python_has("boto3", "the athena ddl listing test") {
        return;
    }
    let Some(moto) = aws::moto() else { return };
    aws::python(
        &moto.url,
        r#"
import boto3, os
s3 = boto3.client("s3", endpoint_url=os.environ["ENDPOINT"])
for bucket, keys in {
    "multi-trail": [
        "audit/AWSLogs/111122223333/CloudTrail/us-east-1/2026/10/01/111122223333_CloudTrail_us-east-1_20261001T0000Z_a.json.gz",
        "audit/AWSLogs/111122223333/CloudTrail-Digest/us-east-1/2026/10/01/d.json.gz",
        "audit/AWSLogs/444455556666/CloudTrail/eu-west-1/2026/10/01/444455556666_CloudTrail_eu-west-1_20261001T0000Z_b.json.gz",
        "audit/AWSLogs/o-abcdefghij/999988887777/CloudTrail/us-east-1/2026/10/01/999988887777_CloudTrail_us-east-1_20261001T0000Z_c.json.gz",
        "audit/AWSLogs/o-abcdefghij/777766665555/CloudTrail/us-east-1/2026/10/01/777766665555_CloudTrail_us-east-1_20261001T0000Z_d.json.gz",
        "audit/AWSLogs/notes/readme.txt",
        "audit/other/x.json.gz",
    ],
    "org-only-trail": [
        "AWSLogs/o-abcdefghij/999988887777/CloudTrail/us-east-1/2026/10/01/999988887777_CloudTrail_us-east-1_20261001T0000Z_c.json.gz",
    ],
    "empty-trail": ["elsewhere/x.json.gz"],
}.items():
    s3.create_bucket(Bucket=bucket)
    for k in keys:
        s3.put_object(Bucket=bucket, Key=k, Body=b"{}")
"#,
    );
    let proxy = Proxy::start(moto.port, Vec::new());
    let ddl = |args: &[&str]| {
        let mut all = vec!["athena", "ddl"];
        all.extend(args);
        all.extend(["--region", "us-east-1,eu-west-1", "--start", "2026-01-01"]);
        run(&proxy.url, &all)
    };
    let r = ddl(&["s3://multi-trail/audit", "--accounts-from-bucket"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    for needle in [
        "PARTITIONED BY (`account` STRING, `region` STRING, `timestamp` STRING)",
        "LOCATION 's3://multi-trail/audit/AWSLogs/'",
        "'projection.account.type'='enum'",
        "'projection.account.values'='111122223333,444455556666'",
        "'storage.location.template'='s3://multi-trail/audit/AWSLogs/${account}/CloudTrail/${region}/${timestamp}'",
    ] {
        assert!(r.stdout.contains(needle), "{needle} not in\n{}", r.stdout);
    }
    assert_eq!(
        r.stderr,
        "trailwhy: s3://multi-trail/audit/AWSLogs/o-abcdefghij/: an organization trail's folder, left out of this table (make another with --organization o-abcdefghij --accounts-from-bucket)\n"
    );
    // one delimiter listing of AWSLogs/, nothing below it
    let lists: Vec<String> = proxy
        .requests()
        .into_iter()
        .filter(|(m, p)| m == "GET" && p.contains("list-type=2"))
        .map(|(_, p)| p)
        .collect();
    assert_eq!(lists.len(), 1, "{lists:?}");
    assert!(
        lists[0].contains("prefix=audit%2FAWSLogs%2F") && lists[0].contains("delimiter=%2F"),
        "{lists:?}"
    );
    // the same table as naming the accounts
    let named = ddl(&[
        "s3://multi-trail/audit",
        "--account",
        "444455556666,111122223333",
    ]);
    assert_eq!(named.code, 0, "{}", named.stderr);
    assert!(
        named
            .stdout
            .contains("'projection.account.values'='444455556666,111122223333'"),
        "{}",
        named.stdout
    );

    // the organization's folder
    let r = ddl(&[
        "s3://multi-trail/audit",
        "--accounts-from-bucket",
        "--organization",
        "o-abcdefghij",
    ]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(
        r.stdout
            .contains("'projection.account.values'='777766665555,999988887777'"),
        "{}",
        r.stdout
    );
    assert!(r.stdout.contains("'storage.location.template'='s3://multi-trail/audit/AWSLogs/o-abcdefghij/${account}/CloudTrail/${region}/${timestamp}'"), "{}", r.stdout);
    // one organization folder alone
    let r = ddl(&["s3://org-only-trail", "--accounts-from-bucket"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(
        r.stdout
            .contains("'projection.account.values'='999988887777'")
            && r.stdout.contains("AWSLogs/o-abcdefghij/${account}/"),
        "{}",
        r.stdout
    );
    // nothing to enumerate, and no bucket: exit 2, saying where
    let r = ddl(&["s3://empty-trail", "--accounts-from-bucket"]);
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(
        r.stderr
            .contains("no account folder under s3://empty-trail/AWSLogs/"),
        "{}",
        r.stderr
    );
    let r = ddl(&["s3://no-such-trail", "--accounts-from-bucket"]);
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(r.stderr.contains("no-such-trail"), "{}", r.stderr);
}
