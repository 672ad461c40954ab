//! Test helpers: a temporary trail tree written by the test, records built from a few
//! parameters, and a runner for the real binary.
#![allow(dead_code, reason = "each test binary uses a subset")]
#![allow(clippy::unwrap_used, clippy::expect_used, reason = "test helpers")]

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use serde_json::{json, Value};

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

/// A failed or successful AssumeRoleWithWebIdentity record.
pub struct WebId<'a> {
    pub id: &'a str,
    pub time: &'a str,
    pub role: &'a str,
    pub sub: &'a str,
    pub aud: &'a str,
    pub provider: &'a str,
    pub error: Option<(&'a str, &'a str)>,
    pub region: &'a str,
    pub duration: u64,
}

impl<'a> WebId<'a> {
    pub fn denied(id: &'a str, time: &'a str, role: &'a str, sub: &'a str) -> WebId<'a> {
        WebId {
            id,
            time,
            role,
            sub,
            aud: "sts.amazonaws.com",
            provider: GH,
            error: Some((
                "AccessDenied",
                "Not authorized to perform sts:AssumeRoleWithWebIdentity",
            )),
            region: "us-east-1",
            duration: 3600,
        }
    }

    pub fn record(&self) -> Value {
        let account = self.role.split(':').nth(4).unwrap_or(ACCT);
        let mut r = json!({
            "eventVersion": "1.08",
            "userIdentity": {
                "type": "WebIdentityUser",
                "principalId": format!("{}:{}:{}", self.provider, self.aud, self.sub),
                "userName": self.sub,
                "identityProvider": self.provider
            },
            "eventTime": self.time,
            "eventSource": "sts.amazonaws.com",
            "eventName": "AssumeRoleWithWebIdentity",
            "awsRegion": self.region,
            "sourceIPAddress": "20.42.16.112",
            "userAgent": "aws-sdk-nodejs/2.1112.0 linux/v16.20.2 configure-aws-credentials-for-github-actions promise",
            "requestParameters": {"roleArn": self.role, "roleSessionName": "GitHubActions", "durationSeconds": self.duration},
            "responseElements": null,
            "requestID": format!("req-{}", self.id),
            "eventID": self.id,
            "readOnly": true,
            "resources": [{"accountId": account, "type": "AWS::IAM::Role", "ARN": self.role}],
            "eventType": "AwsApiCall",
            "managementEvent": true,
            "recipientAccountId": account,
            "eventCategory": "Management"
        });
        match self.error {
            Some((code, msg)) => {
                r["errorCode"] = json!(code);
                r["errorMessage"] = json!(msg);
            }
            None => {
                let role_name = self.role.rsplit('/').next().unwrap();
                r["responseElements"] = json!({
                    "credentials": {"accessKeyId": format!("ASIA{}", self.id.to_uppercase()), "sessionToken": "IQoJb3JpZ2luX2VjTOPSECRETTOKEN", "expiration": "Oct 1, 2026, 11:00:00 AM"},
                    "subjectFromWebIdentityToken": self.sub,
                    "assumedRoleUser": {"assumedRoleId": "AROAEXAMPLE:GitHubActions", "arn": format!("arn:aws:sts::{account}:assumed-role/{role_name}/GitHubActions")},
                    "provider": self.provider,
                    "audience": self.aud
                });
            }
        }
        r
    }
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

pub fn trailwhy(args: &[&str]) -> Run {
    trailwhy_stdin(args, None)
}

pub fn trailwhy_stdin(args: &[&str], stdin: Option<&[u8]>) -> Run {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_trailwhy"));
    cmd.args(args).stdout(Stdio::piped()).stderr(Stdio::piped());
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
    let out = child.wait_with_output().unwrap();
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}
