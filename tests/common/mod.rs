//! Test helpers: a temporary trail tree written by the test, records built from a few
//! parameters (`event`), and a runner for the real binary.
#![allow(dead_code, reason = "each test binary uses a subset")]
#![allow(clippy::unwrap_used, clippy::expect_used, reason = "test helpers")]

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use serde_json::{json, Value};

mod event;
#[allow(unused_imports, reason = "each test binary uses a subset")]
pub use event::*;

pub const ACCT: &str = "111122223333";
pub const GH: &str = "arn:aws:iam::111122223333:oidc-provider/token.actions.githubusercontent.com";

pub struct Tree {
    pub dir: tempfile::TempDir,
}

impl Tree {
    pub fn new() -> Tree {
        Tree {
            dir: tempfile::tempdir().unwrap(),
        }
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// Writes `{"Records":[...]}` gzip-compressed at `rel`.
    pub fn log_gz(&self, rel: &str, records: &[Value]) -> PathBuf {
        let body = json!({ "Records": records }).to_string();
        self.bytes(rel, &gzip(body.as_bytes()))
    }

    /// Writes a JSON value as plain text at `rel`.
    pub fn json(&self, rel: &str, v: &Value) -> PathBuf {
        self.bytes(rel, v.to_string().as_bytes())
    }

    pub fn bytes(&self, rel: &str, bytes: &[u8]) -> PathBuf {
        let p = self.dir.path().join(rel);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(&p, bytes).unwrap();
        p
    }
}

pub fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    e.write_all(bytes).unwrap();
    e.finish().unwrap()
}

/// A trust policy trusting the GitHub provider with `conditions`.
pub fn trust(conditions: Value) -> Value {
    json!({"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow",
        "Principal": {"Federated": GH},
        "Action": "sts:AssumeRoleWithWebIdentity",
        "Condition": conditions
    }]})
}

/// `aws iam get-account-authorization-details` output with these roles.
pub fn auth_details(account: &str, roles: &[(&str, Value)]) -> Value {
    let list: Vec<Value> = roles
        .iter()
        .map(|(name, policy)| {
            json!({
                "Path": "/", "RoleName": name, "RoleId": "AROAEXAMPLE",
                "Arn": format!("arn:aws:iam::{account}:role/{name}"),
                "CreateDate": "2024-01-01T00:00:00Z",
                "AssumeRolePolicyDocument": policy,
                "RolePolicyList": [], "AttachedManagedPolicies": [], "Tags": []
            })
        })
        .collect();
    json!({"UserDetailList": [], "GroupDetailList": [], "RoleDetailList": list, "Policies": [], "IsTruncated": false})
}

/// Every file below `dir`, as paths, sorted.
pub fn files_under(dir: &str) -> Vec<String> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            out.extend(files_under(p.to_str().unwrap()));
        } else {
            out.push(p.to_str().unwrap().to_owned());
        }
    }
    out.sort();
    out
}

/// The `findings` of a JSON report in a stable order (by first event id), with the arrays named
/// by `sort` (`event_ids`, `regions`) sorted: what differs between two runs over the same
/// records read in another order.
pub fn sorted_findings(report: &Value, sort: &[&str]) -> Vec<Value> {
    let mut f: Vec<Value> = report["findings"].as_array().unwrap().clone();
    for x in &mut f {
        for key in sort {
            x[*key]
                .as_array_mut()
                .unwrap()
                .sort_by(|a, b| a.as_str().cmp(&b.as_str()));
        }
    }
    f.sort_by_key(|x| x["event_ids"][0].as_str().unwrap().to_owned());
    f
}

pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    /// stdout parsed as NDJSON.
    pub fn findings(&self) -> Vec<Value> {
        self.stdout
            .lines()
            .filter(|l| !l.trim().is_empty())
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    }

    pub fn json(&self) -> Value {
        serde_json::from_str(&self.stdout)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.stdout))
    }
}

impl From<std::process::Output> for Run {
    fn from(out: std::process::Output) -> Run {
        Run {
            code: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }
}

pub fn trailwhy(args: &[&str]) -> Run {
    trailwhy_stdin(args, None)
}

/// Runs the binary with these variables added to its environment (the AWS tests'
/// credentials: `aws::aws_env()`).
pub fn trailwhy_env(args: &[&str], env: &[(&str, &str)]) -> Run {
    Command::new(env!("CARGO_BIN_EXE_trailwhy"))
        .args(args)
        // a width from the environment running the tests would change every table
        .env_remove("COLUMNS")
        .envs(env.iter().copied())
        .stdin(Stdio::null())
        .output()
        .unwrap()
        .into()
}

/// Runs the binary with no AWS configuration at all (no credentials, config files or
/// instance metadata) but the variables in `env`.
pub fn trailwhy_without_aws(args: &[&str], env: &[(&str, &str)]) -> Run {
    Command::new(env!("CARGO_BIN_EXE_trailwhy"))
        .args(args)
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap())
        .env("HOME", "/nonexistent")
        .envs([
            ("AWS_CONFIG_FILE", "/dev/null"),
            ("AWS_SHARED_CREDENTIALS_FILE", "/dev/null"),
            ("AWS_EC2_METADATA_DISABLED", "true"),
        ])
        .envs(env.iter().copied())
        .stdin(Stdio::null())
        .output()
        .unwrap()
        .into()
}

pub fn trailwhy_stdin(args: &[&str], stdin: Option<&[u8]>) -> Run {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_trailwhy"));
    cmd.args(args)
        .env_remove("COLUMNS")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    cmd.stdin(if stdin.is_some() {
        Stdio::piped()
    } else {
        Stdio::null()
    });
    let mut child = cmd.spawn().unwrap();
    if let Some(input) = stdin {
        let mut s = child.stdin.take().unwrap();
        s.write_all(input).unwrap();
    }
    child.wait_with_output().unwrap().into()
}

pub const SAMPLE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/sample-logs");

/// Every record of the bundled trail (`sample-logs/AWSLogs`, digests and insights left out).
pub fn sample_records() -> Vec<Value> {
    use std::io::Read;
    let mut out = Vec::new();
    let mut stack = vec![PathBuf::from(format!("{SAMPLE}/AWSLogs"))];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                if !p.to_str().unwrap().contains("CloudTrail-") {
                    stack.push(p);
                }
            } else if p.to_str().unwrap().ends_with(".json.gz") {
                let mut s = String::new();
                flate2::read::GzDecoder::new(std::fs::File::open(&p).unwrap())
                    .read_to_string(&mut s)
                    .unwrap();
                let v: Value = serde_json::from_str(&s).unwrap();
                out.extend(v["Records"].as_array().unwrap().iter().cloned());
            }
        }
    }
    out
}

/// Whether python3 can import `modules` (e.g. "duckdb, sqlglot"); when it cannot, the caller
/// skips and this says so on stderr — except in CI, where `.ci/run` installs them and a
/// missing module fails the test.
pub fn python_has(modules: &str, suite: &str) -> bool {
    let ok = Command::new("python3")
        .args(["-c", &format!("import {modules}")])
        .output()
        .is_ok_and(|o| o.status.success());
    if !ok {
        assert!(
            std::env::var_os("CI").is_none(),
            "python3 cannot import {modules}: .ci/run installs them"
        );
        eprintln!(
            "SKIPPED: python3 cannot import {modules} (pip install {modules}); {suite} did not run"
        );
    }
    ok
}
