//! The SQL of `athena://` executed, not only compared to a string: `tests/athena/duck.py`
//! builds an Athena-shaped CloudTrail table in DuckDB from the same gzip files the local
//! scanner reads (the AWS table's columns and types, `"$path"`, the partition columns of the
//! table variant under test), parses every statement as Trino SQL with sqlglot and runs it.
//! The events it selects must be the events the local selection keeps.
//!
//! Needs `python3` with `duckdb` and `sqlglot`; without them each test says so and passes.
#![allow(clippy::unwrap_used, clippy::expect_used, reason = "tests")]

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::process::Command;

use chrono::{DateTime, Duration, TimeZone, Utc};
use common::*;
use rand::{rngs::StdRng, Rng, SeedableRng};
use serde_json::{json, Value};
use trailwhy::event::Record;
use trailwhy::query::filter::{CompiledFilter, Globs, RecordFilter};
use trailwhy::select::{Selected, Selector};
use trailwhy::selection::{time::parse_event_time, Window};
use trailwhy::source::athena::ddl;
use trailwhy::source::athena::sql::{compile, rebuild, Mode, Plan, Statement, Want};
use trailwhy::source::athena::table::{common_columns, Shape, TableDef};

const A: &str = "111122223333";
const B: &str = "444455556666";
const ROLE_A: &str = "arn:aws:iam::111122223333:role/gha";
const ROLE_B: &str = "arn:aws:iam::444455556666:role/ci/gha-b";
const SUB: &str = "repo:acme/web:ref:refs/heads/main";
const BUCKET: &str = "trail-bucket";
const DB: &str = "trail";
const TABLE: &str = "cloudtrail_logs";

fn t(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
}

fn lookback() -> Duration {
    Duration::days(90)
}

fn lag() -> Duration {
    Duration::hours(1)
}

fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 10, 5, 0, 0, 0).unwrap()
}

macro_rules! need_python {
    () => {
        if !common::python_has("duckdb, sqlglot", "the DuckDB SQL tests") {
            return;
        }
    };
}

/// One trail file of the fixture.
struct File {
    key: String,
    path: PathBuf,
    account: String,
    region: String,
    records: Vec<Value>,
}

struct Fixture {
    _tree: Tree,
    files: Vec<File>,
}

fn session(role: &'static str, key: &'static str) -> Who<'static> {
    Who::session(role, key)
}

/// A call of a role session (ECR by default) with `error`.
fn call(id: &str, time: &str, role: &'static str, name: &str, error: Option<&str>) -> Value {
    let who = session(role, "ASIAW2");
    let mut e = Event::call(who, id, time, "ecr.amazonaws.com", name)
        .request(json!({"repositoryName": "web", "imageTag": "v1", "layers": [{"digest": "sha256:1"}], "nested": {"a": {"b": [1, null]}}}))
        .set(
            "resources",
            json!([{"accountId": A, "ARN": "arn:aws:ecr:us-east-1:111122223333:repository/web"}]),
        );
    if let Some(code) = error {
        e = e.error(code, "User: x is not authorized to perform: ecr:PutImage");
    }
    e.record()
}

fn change(id: &str, time: &str, source: &str, name: &str, error: Option<&str>) -> Value {
    let mut e = Event::change(
        "arn:aws:iam::111122223333:user/alice",
        id,
        time,
        source,
        name,
        json!({"roleName": "gha", "policyDocument": "{\"Version\":\"2012-10-17\"}"}),
    )
    .response(json!({"role": {"arn": ROLE_A}}));
    if let Some(code) = error {
        e = e.error(code, "");
    }
    e.record()
}

/// A chained `AssumeRole` of a role session, with `request` as its parameters.
fn assume(id: &str, time: &str, request: Value, error: Option<&str>) -> Value {
    let mut e = Event::call(
        session(ROLE_A, "ASIAW2"),
        id,
        time,
        "sts.amazonaws.com",
        "AssumeRole",
    )
    .request(request);
    e = match error {
        Some(code) => e.error(code, ""),
        None => e.response(json!({"credentials": {"accessKeyId": "ASIATAGGED1"}})),
    };
    e.record()
}

fn web(id: &str, time: &str, role: &str, region: &str, ok: bool) -> Value {
    let w = if ok {
        WebId::assumed(id, time, role, SUB)
    } else {
        WebId::denied(id, time, role, SUB)
    };
    WebId { region, ..w }.record()
}

/// The fixture: an organization trail of two accounts and two regions.
fn fixture() -> Fixture {
    let mut recs: Vec<(&str, &str, &str, Value)> = vec![
        // web identity: in, before, after, late delivery, on both bounds, odd times
        (
            A,
            "us-east-1",
            "2026/10/01",
            web("w1", "2026-10-01T10:30:00Z", ROLE_A, "us-east-1", false),
        ),
        (
            B,
            "eu-west-1",
            "2026/10/01",
            web("w2", "2026-10-01T11:00:00Z", ROLE_B, "eu-west-1", true),
        ),
        (
            A,
            "us-east-1",
            "2026/09/30",
            web("w3", "2026-09-30T12:00:00Z", ROLE_A, "us-east-1", false),
        ),
        (
            A,
            "us-east-1",
            "2026/10/02",
            web("w4", "2026-10-02T12:00:00Z", ROLE_A, "us-east-1", false),
        ),
        (
            A,
            "us-east-1",
            "2026/10/02",
            web("w5", "2026-10-01T23:59:30Z", ROLE_A, "us-east-1", false),
        ),
        (
            A,
            "us-east-1",
            "2026/10/02",
            web("w6", "2026-10-02T10:00:00Z", ROLE_A, "us-east-1", true),
        ),
        (
            A,
            "us-east-1",
            "2026/10/01",
            web("w7", "2026-10-01T10:00:00Z", ROLE_A, "us-east-1", false),
        ),
        (
            A,
            "us-east-1",
            "2026/10/01",
            web("w8", "2026-10-01T09:59:59Z", ROLE_A, "us-east-1", false),
        ),
        (
            B,
            "us-east-1",
            "2026/10/01",
            web("w9", "2026-10-01T15:00:00Z", ROLE_B, "us-east-1", false),
        ),
        (A, "eu-west-1", "2026/10/01", {
            let mut r = web("w10", "2026-10-01T16:00:00Z", ROLE_A, "eu-west-1", false);
            r["requestParameters"] = Value::Null;
            r
        }),
        // AssumeRole: with session tags (kept), with transitive tags only (kept), without tags,
        // failed with tags (neither: only its session's tags matter)
        (
            A,
            "us-east-1",
            "2026/10/01",
            assume(
                "t1",
                "2026-10-01T12:30:00Z",
                json!({"roleArn": ROLE_B, "roleSessionName": "s", "tags": [{"key": "team", "value": "web"}]}),
                None,
            ),
        ),
        (
            A,
            "us-east-1",
            "2026/10/01",
            assume(
                "t2",
                "2026-10-01T12:31:00Z",
                json!({"roleArn": ROLE_B, "roleSessionName": "s", "incomingTransitiveTags": {"team": "web"}}),
                None,
            ),
        ),
        (
            A,
            "us-east-1",
            "2026/10/01",
            assume(
                "t3",
                "2026-10-01T12:32:00Z",
                json!({"roleArn": ROLE_B, "roleSessionName": "s"}),
                None,
            ),
        ),
        (
            A,
            "us-east-1",
            "2026/10/01",
            assume(
                "t4",
                "2026-10-01T12:33:00Z",
                json!({"roleArn": ROLE_B, "roleSessionName": "s", "tags": [{"key": "team", "value": "web"}]}),
                Some("ThrottlingException"),
            ),
        ),
        (
            A,
            "us-east-1",
            "2026/10/01",
            web(
                "odd1",
                "2026-10-01T12:00:00.250Z",
                ROLE_A,
                "us-east-1",
                false,
            ),
        ),
        (
            A,
            "us-east-1",
            "2026/10/01",
            web(
                "odd2",
                "2026-10-01T14:00:00+02:00",
                ROLE_A,
                "us-east-1",
                false,
            ),
        ),
        (
            A,
            "us-east-1",
            "2026/10/01",
            web("odd3", "yesterday", ROLE_A, "us-east-1", false),
        ),
        // calls of role sessions
        (
            A,
            "eu-west-1",
            "2026/10/01",
            call(
                "e1",
                "2026-10-01T10:40:00Z",
                ROLE_A,
                "PutImage",
                Some("AccessDenied"),
            ),
        ),
        (
            B,
            "us-east-1",
            "2026/10/01",
            call(
                "e2",
                "2026-10-01T10:41:00Z",
                ROLE_B,
                "InitiateLayerUpload",
                Some("AccessDeniedException"),
            ),
        ),
        (A, "us-east-1", "2026/10/01", {
            let mut r = call(
                "r1",
                "2026-10-01T10:42:00Z",
                ROLE_A,
                "AssumeRole",
                Some("ValidationError"),
            );
            r["eventSource"] = json!("sts.amazonaws.com");
            r["requestParameters"] = json!({"roleArn": ROLE_B, "roleSessionName": "x"});
            r
        }),
        (
            A,
            "us-east-1",
            "2026/10/01",
            Event::call(
                Who::User("arn:aws:iam::111122223333:user/bob"),
                "r2",
                "2026-10-01T10:43:00Z",
                "sts.amazonaws.com",
                "AssumeRole",
            )
            .error("ValidationError", "x")
            .record(),
        ),
        (
            A,
            "us-east-1",
            "2026/10/01",
            call("s1", "2026-10-01T10:44:00Z", ROLE_A, "PutImage", None),
        ),
        (
            A,
            "us-east-1",
            "2026/10/01",
            call(
                "s2",
                "2026-10-01T10:45:00Z",
                ROLE_A,
                "PutImage",
                Some("ThrottlingException"),
            ),
        ),
        (
            A,
            "us-east-1",
            "2026/10/01",
            call("s3", "2026-10-01T10:46:00Z", ROLE_A, "PutImage", Some("")),
        ),
        (
            A,
            "us-east-1",
            "2026/10/01",
            call(
                "e3",
                "2026-10-01T10:47:00Z",
                ROLE_A,
                "DescribeInstances",
                Some("Client.UnauthorizedOperation"),
            ),
        ),
        // change events: before the window, failed, from another service, too old, …
        (
            A,
            "us-east-1",
            "2026/09/20",
            change(
                "c1",
                "2026-09-20T08:00:00Z",
                "iam.amazonaws.com",
                "UpdateAssumeRolePolicy",
                None,
            ),
        ),
        (
            A,
            "us-east-1",
            "2026/10/01",
            change(
                "c2",
                "2026-10-01T11:00:00Z",
                "iam.amazonaws.com",
                "CreateRole",
                Some("AccessDenied"),
            ),
        ),
        (
            A,
            "us-east-1",
            "2026/10/01",
            change(
                "c3",
                "2026-10-01T11:01:00Z",
                "sagemaker.amazonaws.com",
                "CreateProject",
                None,
            ),
        ),
        (
            A,
            "us-east-1",
            "2025/01/01",
            change(
                "c4",
                "2025-01-01T00:00:00Z",
                "iam.amazonaws.com",
                "DeleteRole",
                None,
            ),
        ),
        (
            B,
            "eu-west-1",
            "2026/10/01",
            change(
                "c5",
                "2026-10-01T12:00:00Z",
                "ecr.amazonaws.com",
                "SetRepositoryPolicy",
                None,
            ),
        ),
        (
            A,
            "us-east-1",
            "2026/10/01",
            change(
                "c6",
                "2026-10-01T13:00:00Z",
                "iam.amazonaws.com",
                "PutRolePolicy",
                Some(""),
            ),
        ),
        (
            B,
            "eu-west-1",
            "2026/08/15",
            change(
                "c7",
                "2026-08-15T09:00:00Z",
                "codebuild.amazonaws.com",
                "CreateWebhook",
                None,
            ),
        ),
        (
            A,
            "eu-west-1",
            "2026/10/03",
            change(
                "c8",
                "2026-10-03T09:00:00Z",
                "iam.amazonaws.com",
                "CreateRole",
                None,
            ),
        ),
    ];
    // hostile names for the query filters
    for (i, name) in HOSTILE_NAMES.iter().enumerate() {
        let id = format!("h{i}");
        let error = (i % 2 == 0).then_some("AccessDenied");
        recs.push((
            A,
            "us-east-1",
            "2026/10/01",
            call(&id, "2026-10-01T17:00:00Z", ROLE_A, name, error),
        ));
    }
    let tree = Tree::new();
    let mut groups: BTreeMap<(String, String, String), Vec<Value>> = BTreeMap::new();
    for (acct, region, day, mut r) in recs {
        // a record sits in the folder of its account and region
        r["awsRegion"] = json!(region);
        r["recipientAccountId"] = json!(acct);
        groups
            .entry((acct.to_owned(), region.to_owned(), day.to_owned()))
            .or_default()
            .push(r);
    }
    let files = groups
        .into_iter()
        .map(|((account, region, day), records)| {
            let stamp = day.replace('/', "");
            let key = format!(
                "AWSLogs/o-abc/{account}/CloudTrail/{region}/{day}/{account}_CloudTrail_{region}_{stamp}T2355Z_x.json.gz"
            );
            let path = tree.log_gz(&key, &records);
            File {
                key,
                path,
                account,
                region,
                records,
            }
        })
        .collect();
    Fixture { _tree: tree, files }
}

const HOSTILE_NAMES: &[&str] = &[
    "Get'Thing",
    "Put%Image",
    "Put_Image",
    "PutXImage",
    "Ünï\\code",
    "Tab\tName",
    "Say \"hi\"",
    "Bang!Name",
    "Put'); DROP TABLE x; --",
];

/// A variant of the CloudTrail table: its definition and how duck.py derives its partitions.
struct Variant {
    name: &'static str,
    def: TableDef,
    partitions: Vec<(&'static str, &'static str)>,
    /// The one account and region whose files the table holds (AWS's single-account table).
    only: Option<(&'static str, &'static str)>,
    identity_provider: bool,
    /// Athena needs `--account` (an injected account key).
    needs_account: bool,
}

fn def(keys: &[&str], params: &[(&str, &str)], identity_provider: bool) -> TableDef {
    TableDef {
        catalog: "AwsDataCatalog".into(),
        database: DB.into(),
        name: TABLE.into(),
        location: Some(format!("s3://{BUCKET}/AWSLogs/o-abc/")),
        columns: common_columns(identity_provider),
        partition_keys: keys
            .iter()
            .map(|k| (k.to_string(), "string".to_string()))
            .collect(),
        parameters: params
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
    }
}

fn variants() -> Vec<Variant> {
    let org_template = format!("s3://{BUCKET}/AWSLogs/o-abc/${{account}}/CloudTrail/${{region}}/${{year}}/${{month}}/${{day}}");
    let ts_template =
        format!("s3://{BUCKET}/AWSLogs/o-abc/${{account}}/CloudTrail/${{region}}/${{timestamp}}");
    let single_template =
        format!("s3://{BUCKET}/AWSLogs/o-abc/{A}/CloudTrail/us-east-1/${{timestamp}}");
    let accounts = format!("{A},{B}");
    vec![
        Variant {
            name: "org account/region/year/month/day",
            def: def(
                &["account", "region", "year", "month", "day"],
                &[
                    ("projection.enabled", "true"),
                    ("projection.account.type", "enum"),
                    ("projection.account.values", &accounts),
                    ("projection.region.type", "enum"),
                    ("projection.region.values", "us-east-1,eu-west-1"),
                    ("projection.year.type", "integer"),
                    ("projection.year.range", "2020,2030"),
                    ("projection.month.type", "integer"),
                    ("projection.month.range", "1,12"),
                    ("projection.month.digits", "2"),
                    ("projection.day.type", "integer"),
                    ("projection.day.range", "1,31"),
                    ("projection.day.digits", "2"),
                    ("storage.location.template", &org_template),
                ],
                false,
            ),
            partitions: vec![
                ("account", "account"),
                ("region", "region"),
                ("year", "yyyy"),
                ("month", "MM"),
                ("day", "dd"),
            ],
            only: None,
            identity_provider: false,
            needs_account: false,
        },
        Variant {
            name: "org account/region/timestamp, injected account",
            def: def(
                &["account", "region", "timestamp"],
                &[
                    ("projection.enabled", "true"),
                    ("projection.account.type", "injected"),
                    ("projection.region.type", "enum"),
                    ("projection.region.values", "us-east-1,eu-west-1"),
                    ("projection.timestamp.type", "date"),
                    ("projection.timestamp.format", "yyyy/MM/dd"),
                    ("projection.timestamp.range", "2020/01/01,NOW"),
                    ("projection.timestamp.interval", "1"),
                    ("projection.timestamp.interval.unit", "DAYS"),
                    ("storage.location.template", &ts_template),
                ],
                true,
            ),
            partitions: vec![
                ("account", "account"),
                ("region", "region"),
                ("timestamp", "yyyy/MM/dd"),
            ],
            only: None,
            identity_provider: true,
            needs_account: true,
        },
        Variant {
            name: "AWS single-account table",
            def: def(
                &["timestamp"],
                &[
                    ("projection.enabled", "true"),
                    ("projection.timestamp.type", "date"),
                    ("projection.timestamp.format", "yyyy/MM/dd"),
                    ("projection.timestamp.range", "2020/01/01,NOW"),
                    ("projection.timestamp.interval", "1"),
                    ("projection.timestamp.interval.unit", "DAYS"),
                    ("storage.location.template", &single_template),
                ],
                false,
            ),
            partitions: vec![("timestamp", "yyyy/MM/dd")],
            only: Some((A, "us-east-1")),
            identity_provider: false,
            needs_account: false,
        },
        Variant {
            name: "the table of trailwhy athena ddl",
            def: ddl::declared(&ddl::DdlOptions {
                database: DB.into(),
                table: TABLE.into(),
                bucket: BUCKET.into(),
                prefix: None,
                scope: ddl::Scope::Organization {
                    id: "o-abcdefghij".into(),
                    accounts: ddl::Accounts::Listed(vec![A.into(), B.into()]),
                },
                regions: vec!["us-east-1".into(), "eu-west-1".into()],
                start: chrono::NaiveDate::from_ymd_opt(2026, 1, 1).unwrap(),
            })
            .unwrap(),
            partitions: vec![
                ("account", "account"),
                ("region", "region"),
                ("timestamp", "yyyy/MM/dd"),
            ],
            only: None,
            identity_provider: true,
            needs_account: false,
        },
        Variant {
            name: "AWS Labs names, registered partitions",
            def: def(
                &["account_partition", "region_partition", "date_partition"],
                &[],
                false,
            ),
            partitions: vec![
                ("account_partition", "account"),
                ("region_partition", "region"),
                ("date_partition", "yyyy/MM/dd"),
            ],
            only: None,
            identity_provider: false,
            needs_account: false,
        },
        Variant {
            name: "the table of trailwhy athena ddl for several accounts without an organization",
            def: multi_account_table(),
            partitions: vec![
                ("account", "account"),
                ("region", "region"),
                ("timestamp", "yyyy/MM/dd"),
            ],
            only: None,
            identity_provider: true,
            needs_account: false,
        },
    ]
}

/// `trailwhy athena ddl s3://trail-bucket --account A,B --region us-east-1,eu-west-1`: the
/// account is an enum key of `AWSLogs/${account}/…`.
fn multi_account_table() -> TableDef {
    ddl::declared(&ddl::DdlOptions {
        database: DB.into(),
        table: TABLE.into(),
        bucket: BUCKET.into(),
        prefix: None,
        scope: ddl::Scope::Accounts(vec![A.into(), B.into()]),
        regions: vec!["us-east-1".into(), "eu-west-1".into()],
        start: chrono::NaiveDate::from_ymd_opt(2026, 1, 1).unwrap(),
    })
    .unwrap()
}

#[test]
fn the_multi_account_table_prunes_by_account() {
    let shape = Shape::from_def(&multi_account_table()).unwrap();
    let compiled = |accounts: &[&str]| {
        let w = window(accounts, &[]);
        compile(
            &shape,
            &plan(&w, Want::Query(&RecordFilter::default()), Mode::Objects),
        )
        .unwrap()
    };
    let one = compiled(&[A]);
    let both = compiled(&[]);
    // two regions × two days of the window (and the delivery lag's day)
    let days = both.partitions.unwrap() / 4;
    assert_eq!(one.partitions, Some(2 * days), "{}", one.sql);
    assert_eq!(both.partitions, Some(4 * days), "{}", both.sql);
    assert!(one.sql.contains(&format!("'{A}'")), "{}", one.sql);
    assert!(!one.sql.contains(B), "{}", one.sql);
    assert!(one.warnings.is_empty(), "{:?}", one.warnings);
    // an account the table does not enumerate: said, not silently empty
    let other = compiled(&["999988887777"]);
    assert!(
        other.warnings.iter().any(|w| w.contains("999988887777")),
        "{:?}",
        other.warnings
    );
}

impl Fixture {
    fn files_of<'a>(&'a self, v: &Variant) -> Vec<&'a File> {
        self.files
            .iter()
            .filter(|f| v.only.is_none_or(|(a, r)| f.account == a && f.region == r))
            .collect()
    }

    fn path_of(f: &File) -> String {
        format!("s3://{BUCKET}/{}", f.key)
    }
}

/// Result rows: values as text, `None` for NULL.
type Rows = Vec<Vec<Option<String>>>;

/// Runs `statements` on the variant's table in DuckDB: per statement, its columns and rows.
fn duck(fx: &Fixture, v: &Variant, statements: &[String]) -> Vec<(Vec<String>, Rows)> {
    let files: Vec<Value> = fx
        .files_of(v)
        .iter()
        .map(|f| json!({"path": f.path, "key": f.key}))
        .collect();
    let req = json!({
        "bucket": BUCKET, "database": DB, "table": TABLE,
        "identity_provider": v.identity_provider,
        "files": files,
        "partitions": v.partitions.iter().map(|(n, f)| json!({"name": n, "from": f})).collect::<Vec<_>>(),
        "statements": statements,
    });
    let dir = tempfile::tempdir().unwrap();
    let req_path = dir.path().join("request.json");
    std::fs::write(&req_path, req.to_string()).unwrap();
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/athena/duck.py");
    let out = Command::new("python3")
        .arg(script)
        .arg(&req_path)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "duck.py failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let resp: Value = serde_json::from_slice(&out.stdout).unwrap();
    resp["results"]
        .as_array()
        .unwrap()
        .iter()
        .zip(statements)
        .map(|(r, sql)| {
            if let Some(e) = r.get("error") {
                panic!("{} ({}): {e}\n{sql}", v.name, statements.len());
            }
            let cols = r["columns"]
                .as_array()
                .unwrap()
                .iter()
                .map(|c| c.as_str().unwrap().to_owned())
                .collect();
            let rows = r["rows"]
                .as_array()
                .unwrap()
                .iter()
                .map(|row| {
                    row.as_array()
                        .unwrap()
                        .iter()
                        .map(|x| x.as_str().map(str::to_owned))
                        .collect()
                })
                .collect();
            (cols, rows)
        })
        .collect()
}

fn window(accounts: &[&str], regions: &[&str]) -> Window {
    Window {
        since: Some(t("2026-10-01T10:00:00Z")),
        until: Some(t("2026-10-02T10:00:00Z")),
        accounts: accounts.iter().map(|s| s.to_string()).collect(),
        regions: regions.iter().map(|s| s.to_string()).collect(),
    }
}

fn selected_id(s: &Selected) -> (&'static str, String, DateTime<Utc>) {
    match s {
        Selected::WebId(a) => ("webid", a.event_id.clone(), a.time),
        Selected::Change(c) => ("change", c.event_id.clone(), c.time),
        Selected::CallFailure(f) => ("failure", f.event_id.clone(), f.time),
        Selected::TaggedSession(t) => ("tagged", t.event_id.clone(), t.time),
    }
}

/// What the local selection keeps of the variant's files, as (event id, `$path`), change
/// events bounded by the lookback as the SQL documents.
fn local_explain(fx: &Fixture, v: &Variant, w: &Window) -> BTreeSet<(String, String)> {
    let selector = Selector::new(w.clone());
    let from = w.since.unwrap() - lookback();
    let mut out = BTreeSet::new();
    for f in fx.files_of(v) {
        for r in &f.records {
            let text = r.to_string();
            let rec: Record = serde_json::from_str(&text).unwrap();
            if let Ok(s) = selector.select(&rec) {
                let (kind, id, time) = selected_id(&s);
                if kind == "change" && !(time >= from && time <= w.until.unwrap()) {
                    continue;
                }
                // an injected account key: Athena reads the --account partitions only
                if kind == "change" && v.needs_account && !w.accounts.contains(&f.account) {
                    continue;
                }
                out.insert((id, Fixture::path_of(f)));
            }
        }
    }
    out
}

fn plan<'a>(w: &'a Window, want: Want<'a>, mode: Mode) -> Plan<'a> {
    Plan {
        window: w,
        want,
        mode,
        delivery_lag: lag(),
        now: now(),
    }
}

fn pairs(rows: &[Vec<Option<String>>]) -> BTreeSet<(String, String)> {
    rows.iter()
        .map(|r| (r[0].clone().unwrap(), r[1].clone().unwrap()))
        .collect()
}

fn ids(set: &BTreeSet<(String, String)>) -> BTreeSet<&str> {
    set.iter().map(|(i, _)| i.as_str()).collect()
}

#[test]
fn explain_selects_what_the_local_selection_keeps_on_every_table_variant() {
    need_python!();
    let fx = fixture();
    for v in variants() {
        let shape = Shape::from_def(&v.def).unwrap();
        let mut windows = vec![window(&[A], &["us-east-1"]), window(&[B], &[])];
        if !v.needs_account {
            windows.push(window(&[], &[]));
            windows.push(window(&[], &["eu-west-1"]));
        }
        let statements: Vec<Statement> = windows
            .iter()
            .map(|w| {
                compile(
                    &shape,
                    &plan(
                        w,
                        Want::Explain {
                            lookback: lookback(),
                        },
                        Mode::Objects,
                    ),
                )
                .unwrap()
            })
            .collect();
        let sql: Vec<String> = statements.iter().map(|s| s.sql.clone()).collect();
        let results = duck(&fx, &v, &sql);
        for ((w, st), (cols, rows)) in windows.iter().zip(&statements).zip(results) {
            assert_eq!(cols, ["eventid", "$path"], "{}", v.name);
            assert_eq!(st.columns, ["eventid", "$path"]);
            let expected = local_explain(&fx, &v, w);
            let got = pairs(&rows);
            assert_eq!(rows.len(), got.len(), "{}: a row twice\n{}", v.name, st.sql);
            assert_eq!(
                ids(&got),
                ids(&expected),
                "{} with {:?} {:?}\n{}",
                v.name,
                w.accounts,
                w.regions,
                st.sql
            );
            assert_eq!(got, expected, "{}: the paths", v.name);
        }
    }
}

#[test]
fn the_fixture_exercises_every_kind_and_edge() {
    // the assertions above compare sets: make sure they are not trivially empty
    need_python!();
    let fx = fixture();
    let v = &variants()[0];
    let all = local_explain(&fx, v, &window(&[], &[]));
    let got: BTreeSet<&str> = ids(&all);
    let want: BTreeSet<&str> = [
        "w1", "w2", "w5", "w6", "w7", "w9", "w10", "odd1", "odd2", "e1", "e2", "e3", "r1", "c1",
        "c5", "c6", "c7", "h0", "h2", "h4", "h6", "h8", "t1", "t2",
    ]
    .into_iter()
    .collect();
    assert_eq!(got, want);
    let a_east = local_explain(&fx, v, &window(&[A], &["us-east-1"]));
    assert!(ids(&a_east).contains("c5"), "changes ignore accounts");
    assert!(!ids(&a_east).contains("w2"));
}

#[test]
fn partitions_are_counted_when_projection_knows_them() {
    let v = &variants()[0];
    let shape = Shape::from_def(&v.def).unwrap();
    let w = window(&[A], &[]);
    let st = compile(
        &shape,
        &plan(
            &w,
            Want::Explain {
                lookback: lookback(),
            },
            Mode::Objects,
        ),
    )
    .unwrap();
    // each partition is read once: the union of the window's (2026-10-01 and 10-02, until +
    // 1h lag, × 1 account × 2 regions) and the changes' (from since - lookback to 10-02 ×
    // 2 accounts × 2 regions), which holds the window's
    let days = u64::try_from(lookback().num_days()).unwrap() + 2;
    assert_eq!(st.partitions, Some(days * 2 * 2), "{}", st.sql);
    assert!(!st.sql.contains("UNION"), "{}", st.sql);
    assert!(st.warnings.is_empty(), "{:?}", st.warnings);
    let labs = Shape::from_def(&variants()[4].def).unwrap();
    let st = compile(
        &labs,
        &plan(
            &w,
            Want::Explain {
                lookback: lookback(),
            },
            Mode::Objects,
        ),
    )
    .unwrap();
    assert_eq!(
        st.partitions, None,
        "registered partitions: unknown regions"
    );
}

#[test]
fn an_injected_account_needs_the_flag() {
    let v = &variants()[1];
    let shape = Shape::from_def(&v.def).unwrap();
    let w = window(&[], &[]);
    let e = compile(
        &shape,
        &plan(
            &w,
            Want::Explain {
                lookback: lookback(),
            },
            Mode::Objects,
        ),
    )
    .unwrap_err()
    .to_string();
    assert!(e.contains("--account") && e.contains("injected"), "{e}");
    let w = window(&[A], &[]);
    let st = compile(
        &shape,
        &plan(
            &w,
            Want::Explain {
                lookback: lookback(),
            },
            Mode::Objects,
        ),
    )
    .unwrap();
    assert!(
        st.warnings
            .iter()
            .any(|w| w.contains("change-event lookback") && w.contains("--account")),
        "{:?}",
        st.warnings
    );
}

fn globs(p: &[&str]) -> Globs {
    Globs::new(&p.iter().map(|s| s.to_string()).collect::<Vec<_>>())
}

/// What `query`'s typed filters keep of the variant's files.
fn local_query(
    fx: &Fixture,
    v: &Variant,
    f: RecordFilter,
    w: &Window,
) -> BTreeSet<(String, String)> {
    let mut f = f;
    f.window = w.clone();
    let c = CompiledFilter::new(f);
    let mut out = BTreeSet::new();
    for file in fx.files_of(v) {
        for r in &file.records {
            let text = r.to_string();
            let rec: Record = serde_json::from_str(&text).unwrap();
            if c.matches(&rec) {
                out.insert((
                    rec.event_id.as_deref().unwrap_or_default().to_owned(),
                    Fixture::path_of(file),
                ));
            }
        }
    }
    out
}

fn filters() -> Vec<RecordFilter> {
    vec![
        RecordFilter::default(),
        RecordFilter {
            event_name: globs(&["Put*"]),
            errors_only: true,
            ..RecordFilter::default()
        },
        RecordFilter {
            event_name: globs(&["Put%Image", "Put_Image"]),
            ..RecordFilter::default()
        },
        RecordFilter {
            event_name: globs(&["Put?Image"]),
            ..RecordFilter::default()
        },
        RecordFilter {
            error_code: globs(&["AccessDenied*", "Client.*"]),
            event_source: globs(&["ecr.amazonaws.com"]),
            ..RecordFilter::default()
        },
        RecordFilter {
            error_code: globs(&["*"]),
            ..RecordFilter::default()
        },
        RecordFilter {
            principal: globs(&["arn:aws:sts::*:assumed-role/gha/*", "*:oidc-provider/*"]),
            ..RecordFilter::default()
        },
        RecordFilter {
            sub: globs(&["repo:acme/*"]),
            ..RecordFilter::default()
        },
        RecordFilter {
            role: globs(&["gha-b"]),
            ..RecordFilter::default()
        },
        RecordFilter {
            role: globs(&["arn:aws:iam::111122223333:role/*"]),
            errors_only: true,
            ..RecordFilter::default()
        },
        RecordFilter {
            event_name: globs(&[
                "Get'Thing",
                "Ünï\\code",
                "Say \"hi\"",
                "Bang!*",
                "Tab\tName",
            ]),
            ..RecordFilter::default()
        },
    ]
}

#[test]
fn query_filters_select_what_the_local_filter_keeps() {
    need_python!();
    let fx = fixture();
    for v in variants() {
        let shape = Shape::from_def(&v.def).unwrap();
        let windows = if v.needs_account {
            vec![window(&[A], &[])]
        } else {
            vec![window(&[], &[]), window(&[B], &["us-east-1"])]
        };
        let mut cases = Vec::new();
        for w in &windows {
            for f in filters() {
                cases.push((w.clone(), f));
            }
        }
        let sql: Vec<String> = cases
            .iter()
            .map(|(w, f)| {
                compile(&shape, &plan(w, Want::Query(f), Mode::Objects))
                    .unwrap()
                    .sql
            })
            .collect();
        let results = duck(&fx, &v, &sql);
        let mut nonempty = 0;
        for (((w, f), (_, rows)), sql) in cases.into_iter().zip(results).zip(&sql) {
            let expected = local_query(&fx, &v, f, &w);
            nonempty += usize::from(!expected.is_empty());
            assert_eq!(pairs(&rows), expected, "{}\n{sql}", v.name);
        }
        assert!(nonempty >= 8, "{}: too few filters select anything", v.name);
    }
}

#[test]
fn columns_mode_rebuilds_records_the_local_selection_reads_alike() {
    need_python!();
    let fx = fixture();
    for v in variants() {
        let shape = Shape::from_def(&v.def).unwrap();
        let w = window(&[A], &[]);
        let st = compile(
            &shape,
            &plan(
                &w,
                Want::Explain {
                    lookback: lookback(),
                },
                Mode::Columns,
            ),
        )
        .unwrap();
        let (_, rows) = duck(&fx, &v, std::slice::from_ref(&st.sql)).remove(0);
        let selector = Selector::new(w.clone());
        let describe = |s: Selected| -> (String, String) {
            let (_, id, _) = selected_id(&s);
            let text = match s {
                // the one field the table does not hold
                Selected::CallFailure(mut f) => {
                    f.federated_provider = None;
                    format!("{f:?}")
                }
                other => format!("{other:?}"),
            };
            (id, text)
        };
        let mut rebuilt = BTreeMap::new();
        for row in &rows {
            let text = rebuild(&st.columns, row).unwrap();
            let rec: Record = serde_json::from_str(&text).unwrap();
            let s = selector.select(&rec).unwrap_or_else(|e| {
                panic!("{}: rebuilt record not selected ({e:?}): {text}", v.name)
            });
            let (id, d) = describe(s);
            rebuilt.insert(id, d);
        }
        let expected_ids = ids(&local_explain(&fx, &v, &w))
            .into_iter()
            .map(str::to_owned)
            .collect::<BTreeSet<_>>();
        let mut local = BTreeMap::new();
        for f in fx.files_of(&v) {
            for r in &f.records {
                let text = r.to_string();
                let rec: Record = serde_json::from_str(&text).unwrap();
                if let Ok(s) = selector.select(&rec) {
                    let (id, d) = describe(s);
                    if expected_ids.contains(&id) {
                        local.insert(id, d);
                    }
                }
            }
        }
        assert_eq!(rows.len(), rebuilt.len(), "{}", v.name);
        assert_eq!(rebuilt, local, "{}", v.name);
    }
}

/// A value built from pieces flag values are made of, hostile ones included.
fn hostile(rng: &mut StdRng, pieces: &[&str]) -> String {
    let n = rng.gen_range(1..4);
    (0..n)
        .map(|_| pieces[rng.gen_range(0..pieces.len())])
        .collect()
}

/// A glob that often matches `base`: some characters turned into `?` or `*`, sometimes a
/// hostile piece added.
fn near(rng: &mut StdRng, base: &str, pieces: &[&str]) -> String {
    let mut out = String::new();
    for c in base.chars() {
        match rng.gen_range(0..10) {
            0 => out.push('?'),
            1 => out.push('*'),
            _ => out.push(c),
        }
    }
    if rng.gen_bool(0.3) {
        out.push_str(&hostile(rng, pieces));
    }
    out
}

#[test]
fn hostile_flag_values_stay_inside_their_literals() {
    need_python!();
    let fx = fixture();
    let v = &variants()[0];
    let shape = Shape::from_def(&v.def).unwrap();
    let pieces = [
        "'",
        "''",
        "\\",
        "%",
        "_",
        "!",
        "*",
        "?",
        "\"",
        "\n",
        "é",
        "Ü",
        "🦀",
        "Put",
        "Image",
        "Get",
        "Thing",
        "AccessDenied",
        "us-east-1",
        A,
        ";",
        "--",
        "/*",
        ")",
        "Tab\tName",
    ];
    let mut rng = StdRng::seed_from_u64(12);
    let mut cases = Vec::new();
    for _ in 0..40 {
        let names: Vec<String> = (0..rng.gen_range(1..3))
            .map(|_| {
                if rng.gen_bool(0.8) {
                    let base = HOSTILE_NAMES[rng.gen_range(0..HOSTILE_NAMES.len())];
                    near(&mut rng, base, &pieces)
                } else {
                    hostile(&mut rng, &pieces)
                }
            })
            .collect();
        let accounts: Vec<String> = if rng.gen_bool(0.5) {
            vec![A.to_owned(), hostile(&mut rng, &pieces)]
        } else {
            vec![]
        };
        let regions: Vec<String> = if rng.gen_bool(0.5) {
            vec!["us-east-1".to_owned(), hostile(&mut rng, &pieces)]
        } else {
            vec![]
        };
        let mut w = window(&[], &[]);
        w.accounts = accounts;
        w.regions = regions;
        let f = RecordFilter {
            event_name: Globs::new(&names),
            error_code: if rng.gen_bool(0.3) {
                Globs::new(&[near(&mut rng, "AccessDenied", &pieces)])
            } else {
                Globs::default()
            },
            principal: if rng.gen_bool(0.2) {
                Globs::new(&[hostile(&mut rng, &pieces)])
            } else {
                Globs::default()
            },
            ..RecordFilter::default()
        };
        cases.push((w, f));
    }
    let sql: Vec<String> = cases
        .iter()
        .map(|(w, f)| {
            compile(&shape, &plan(w, Want::Query(f), Mode::Objects))
                .unwrap()
                .sql
        })
        .collect();
    let results = duck(&fx, v, &sql);
    let mut nonempty = 0;
    for (((w, f), (_, rows)), sql) in cases.into_iter().zip(results).zip(&sql) {
        let expected = local_query(&fx, v, f, &w);
        nonempty += usize::from(!expected.is_empty());
        assert_eq!(pairs(&rows), expected, "{sql}");
    }
    assert!(
        nonempty >= 10,
        "too few hostile cases select anything: {nonempty}"
    );
}

#[test]
fn odd_event_times_never_fail_the_query_and_bad_ones_are_not_selected() {
    // the time predicate is a string comparison: a garbage eventtime is simply not selected
    let shape = Shape::from_def(&variants()[0].def).unwrap();
    let w = window(&[], &[]);
    let st = compile(
        &shape,
        &plan(
            &w,
            Want::Explain {
                lookback: lookback(),
            },
            Mode::Objects,
        ),
    )
    .unwrap();
    assert!(!st.sql.contains("from_iso8601_timestamp"), "{}", st.sql);
    assert!(
        st.sql
            .contains("\"eventtime\" BETWEEN '2026-10-01T10:00:00Z' AND '2026-10-02T10:00:00Z'"),
        "{}",
        st.sql
    );
    assert!(parse_event_time("2026-10-01T14:00:00+02:00").is_some());
}
