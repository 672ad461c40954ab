//! AWS's own validator as the reference: `aws cloudtrail validate-logs --verbose` (the AWS
//! CLI from PyPI, in its own virtualenv: `.ci/run` installs it and exports
//! `TRAILWHY_AWS_CLI`) and `trailwhy verify` read the same moto bucket, through the same
//! endpoint of ours that answers CloudTrail's `ListPublicKeys` (one key pair per region, so
//! a digest checked with another region's keys fails), `DescribeTrails` and Organizations'
//! `DescribeOrganization` (moto has no CloudTrail keys). For every file the CLI judges,
//! trailwhy's verdict must agree; the files the CLI never looks at (a log file no digest
//! lists) get trailwhy's rule, asserted here too.
//!
//! Trails: single-region, multi-region (three regions, the home region in the middle of
//! them, crossing midnight and the year), an organization trail, a backfill digest, a key
//! prefix, and one trail with every kind of tampering.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::Command;
use std::sync::{Arc, OnceLock};

use base64::Engine as _;
use chrono::{DateTime, Duration, Utc};
use rsa::pkcs1v15::SigningKey;
use rsa::signature::{SignatureEncoding, Signer};
use rsa::RsaPrivateKey;
use serde_json::{json, Value};
use sha2::Sha256;

use super::{aws, der, endpoint_in_front_of, fingerprint, gzip, hex, put_objects, sha_hex};
use crate::common::WebId;

/// The AWS CLI, or `None` (with a message) outside CI when it is not installed.
fn aws_cli() -> Option<PathBuf> {
    let found = std::env::var_os("TRAILWHY_AWS_CLI")
        .map(PathBuf::from)
        .filter(|p| p.is_file());
    if found.is_none() {
        assert!(
            std::env::var_os("CI").is_none(),
            "TRAILWHY_AWS_CLI does not name the AWS CLI: .ci/run installs awscli into a virtualenv and exports it"
        );
        eprintln!(
            "SKIPPED: no AWS CLI (set TRAILWHY_AWS_CLI=/path/to/venv/bin/aws after `python3 -m venv V && V/bin/pip install awscli`); the validate-logs comparisons did not run"
        );
    }
    found
}

/// The regions the tests use, each with its own CloudTrail key pair; one more pair is
/// nobody's.
const REGIONS: [&str; 5] = [
    "us-east-1",
    "eu-west-1",
    "ap-northeast-1",
    "us-west-2",
    "ca-central-1",
];

fn region_keys() -> &'static [RsaPrivateKey] {
    static KEYS: OnceLock<Vec<RsaPrivateKey>> = OnceLock::new();
    KEYS.get_or_init(|| {
        use rand::SeedableRng;
        let mut rng = rand::rngs::StdRng::seed_from_u64(29);
        (0..REGIONS.len())
            .map(|_| RsaPrivateKey::new(&mut rng, 2048).unwrap())
            .collect()
    })
}

fn key_of(region: &str) -> &'static RsaPrivateKey {
    let i = REGIONS.iter().position(|r| *r == region).unwrap();
    &region_keys()[i]
}

/// `ListPublicKeys` as CloudTrail answers it in `region`: that region's key only.
fn listing_for(region: &str) -> Value {
    let keys: Vec<Value> = REGIONS
        .iter()
        .filter(|r| **r == region)
        .map(|r| {
            let k = key_of(r);
            json!({
                "Value": base64::engine::general_purpose::STANDARD.encode(der(k)),
                "Fingerprint": fingerprint(k),
                "ValidityStartTime": time("2026-09-01T00:00:00Z").timestamp(),
                "ValidityEndTime": time("2027-03-01T00:00:00Z").timestamp(),
            })
        })
        .collect();
    json!({ "PublicKeyList": keys })
}

fn time(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
}

fn z(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%dT%H:%M:%SZ").to_string()
}

/// A trail as CloudTrail delivers it: per region, per hour, two log files and a digest.
struct Spec {
    bucket: &'static str,
    /// The trail's S3 key prefix (no trailing `/`).
    prefix: Option<&'static str>,
    /// An organization trail: the organization id.
    org: Option<&'static str>,
    /// The account that owns the trail (its ARN).
    owner: &'static str,
    /// The account whose logs these are (a member account for an organization trail).
    account: &'static str,
    trail: &'static str,
    home: &'static str,
    regions: &'static [&'static str],
    start: &'static str,
    hours: i64,
}

/// A single-region trail of account 111122223333 named `main` in us-east-1 from 2026-10-01
/// 00:00 UTC: each test says how it differs.
const ONE_REGION: Spec = Spec {
    bucket: "",
    prefix: None,
    org: None,
    owner: "111122223333",
    account: "111122223333",
    trail: "main",
    home: "us-east-1",
    regions: &["us-east-1"],
    start: "2026-10-01T00:00:00Z",
    hours: 1,
};

impl Spec {
    fn arn(&self) -> String {
        format!(
            "arn:aws:cloudtrail:{}:{}:trail/{}",
            self.home, self.owner, self.trail
        )
    }

    fn root(&self) -> String {
        let p = self.prefix.map(|p| format!("{p}/")).unwrap_or_default();
        match self.org {
            Some(o) => format!("{p}AWSLogs/{o}/{}", self.account),
            None => format!("{p}AWSLogs/{}", self.account),
        }
    }

    fn source(&self) -> String {
        match self.prefix {
            Some(p) => format!("s3://{}/{p}", self.bucket),
            None => format!("s3://{}", self.bucket),
        }
    }

    fn end(&self) -> DateTime<Utc> {
        time(self.start) + Duration::hours(self.hours)
    }

    fn url(&self, key: &str) -> String {
        format!("s3://{}/{key}", self.bucket)
    }

    /// `DescribeTrails`' entry for the trail.
    fn description(&self) -> Value {
        json!({
            "Name": self.trail, "S3BucketName": self.bucket, "S3KeyPrefix": self.prefix,
            "IncludeGlobalServiceEvents": true, "IsMultiRegionTrail": self.regions.len() > 1,
            "HomeRegion": self.home, "TrailARN": self.arn(), "LogFileValidationEnabled": true,
            "HasCustomEventSelectors": false, "HasInsightSelectors": false,
            "IsOrganizationTrail": self.org.is_some(),
        })
    }
}

/// One object: key, bytes, S3 user metadata.
#[derive(Clone)]
struct Obj {
    key: String,
    bytes: Vec<u8>,
    meta: Value,
}

/// What a digest lists, and how it is signed.
struct DigestParts<'a> {
    region: &'a str,
    start: DateTime<Utc>,
    end: DateTime<Utc>,
    key: String,
    previous: Option<&'a (String, String, String)>,
    logs: Vec<Value>,
    fingerprint: String,
    /// Backfill digests: when they were made.
    made: Option<DateTime<Utc>>,
}

struct Built {
    objects: Vec<Obj>,
    /// (region, hour) → the digest's key.
    digests: BTreeMap<(String, i64), String>,
    /// (region, hour) → its two log files' keys.
    logs: BTreeMap<(String, i64), Vec<String>>,
}

impl Built {
    fn new(s: &Spec, fingerprints: &BTreeMap<(&str, i64), String>) -> Built {
        let mut b = Built {
            objects: Vec::new(),
            digests: BTreeMap::new(),
            logs: BTreeMap::new(),
        };
        for region in s.regions {
            let mut previous: Option<(String, String, String)> = None;
            for h in 0..s.hours {
                let hour = time(s.start) + Duration::hours(h);
                let mut entries = Vec::new();
                for (i, minute) in [5, 35].into_iter().enumerate() {
                    let at = hour + Duration::minutes(minute);
                    let key = b.log(s, region, at, &format!("f{h}{i}"), &mut entries);
                    b.logs.entry((region.to_string(), h)).or_default().push(key);
                }
                let start = hour + Duration::seconds(91);
                let end = start + Duration::hours(1);
                let key = digest_key(s, region, end, "");
                let fp = fingerprints
                    .get(&(*region, h))
                    .cloned()
                    .unwrap_or_else(|| fingerprint(key_of(region)));
                let next = b.digest(
                    s,
                    DigestParts {
                        region,
                        start,
                        end,
                        key: key.clone(),
                        previous: previous.as_ref(),
                        logs: entries,
                        fingerprint: fp,
                        made: None,
                    },
                );
                b.digests.insert((region.to_string(), h), key);
                previous = Some(next);
            }
        }
        b
    }

    /// Adds a log file delivered at `at`; its digest entry goes to `entries`.
    fn log(
        &mut self,
        s: &Spec,
        region: &str,
        at: DateTime<Utc>,
        tag: &str,
        entries: &mut Vec<Value>,
    ) -> String {
        let key = format!(
            "{}/CloudTrail/{region}/{}/{}_CloudTrail_{region}_{}_{tag}.json.gz",
            s.root(),
            at.format("%Y/%m/%d"),
            s.account,
            at.format("%Y%m%dT%H%MZ")
        );
        let event_time = z(at - Duration::minutes(3));
        let id = format!("{region}-{tag}");
        let role = format!("arn:aws:iam::{}:role/deploy", s.account);
        let rec = WebId::denied(&id, &event_time, &role, "repo:acme/web:pull_request").record();
        let body = json!({ "Records": [rec] }).to_string();
        entries.push(json!({
            "s3Bucket": s.bucket, "s3Object": key, "hashValue": sha_hex(body.as_bytes()),
            "hashAlgorithm": "SHA-256", "newestEventTime": event_time, "oldestEventTime": event_time,
        }));
        self.objects.push(Obj {
            key: key.clone(),
            bytes: gzip(body.as_bytes()),
            meta: json!({}),
        });
        key
    }

    /// Adds a digest signed with its region's key; returns (key, hash, signature) for the
    /// next digest of the chain.
    fn digest(&mut self, s: &Spec, d: DigestParts<'_>) -> (String, String, String) {
        let end = z(d.end);
        let body = json!({
            "awsAccountId": s.account,
            "digestStartTime": z(d.start),
            "digestEndTime": end,
            "digestS3Bucket": s.bucket,
            "digestS3Object": d.key,
            "digestPublicKeyFingerprint": d.fingerprint,
            "digestSignatureAlgorithm": "SHA256withRSA",
            "newestEventTime": null, "oldestEventTime": null,
            "previousDigestS3Bucket": d.previous.map(|_| s.bucket),
            "previousDigestS3Object": d.previous.map(|p| p.0.clone()),
            "previousDigestHashValue": d.previous.map(|p| p.1.clone()),
            "previousDigestHashAlgorithm": d.previous.map(|_| "SHA-256"),
            "previousDigestSignature": d.previous.map(|p| p.2.clone()),
            "logFiles": d.logs,
        })
        .to_string();
        let hash = sha_hex(body.as_bytes());
        let signing = format!(
            "{end}\n{}/{}\n{hash}\n{}",
            s.bucket,
            d.key,
            d.previous.map_or("null", |p| p.2.as_str())
        );
        let sig = SigningKey::<Sha256>::new(key_of(d.region).clone()).sign(signing.as_bytes());
        let sig = hex(&sig.to_bytes());
        let mut meta = json!({"signature": sig, "signature-algorithm": "SHA256withRSA"});
        if let Some(made) = d.made {
            meta["backfill-generation-timestamp"] = json!(z(made));
        }
        self.objects.push(Obj {
            key: d.key.clone(),
            bytes: gzip(body.as_bytes()),
            meta,
        });
        (d.key, hash, sig)
    }

    /// A log file delivered late, at `at`, listed by a backfill digest made at `made`.
    fn backfill(&mut self, s: &Spec, region: &str, at: DateTime<Utc>, made: DateTime<Utc>) {
        let mut entries = Vec::new();
        let log = self.log(s, region, at, "late", &mut entries);
        self.logs
            .entry((region.to_string(), -1))
            .or_default()
            .push(log);
        let end = at + Duration::minutes(40);
        let key = digest_key(s, region, end, "_backfill");
        self.digest(
            s,
            DigestParts {
                region,
                start: at - Duration::minutes(30),
                end,
                key: key.clone(),
                previous: None,
                logs: entries,
                fingerprint: fingerprint(key_of(region)),
                made: Some(made),
            },
        );
        self.digests.insert((region.to_string(), -1), key);
    }

    fn remove(&mut self, key: &str) {
        self.objects.retain(|o| o.key != key);
    }

    fn object(&mut self, key: &str) -> &mut Obj {
        self.objects.iter_mut().find(|o| o.key == key).unwrap()
    }
}

fn digest_key(s: &Spec, region: &str, end: DateTime<Utc>, suffix: &str) -> String {
    format!(
        "{}/CloudTrail-Digest/{region}/{}/{}_CloudTrail-Digest_{region}_{}_{}_{}{suffix}.json.gz",
        s.root(),
        end.format("%Y/%m/%d"),
        s.account,
        s.trail,
        s.home,
        end.format("%Y%m%dT%H%M%SZ")
    )
}

/// Puts the objects, with their metadata, into a new moto bucket.
fn upload(moto: &aws::Moto, bucket: &str, objects: &[Obj]) {
    put_objects(
        moto,
        bucket,
        objects
            .iter()
            .map(|o| (o.key.as_str(), o.bytes.as_slice(), o.meta.clone())),
    );
}

/// Our endpoint for one trail: per-region keys, the trail, the organization.
fn endpoint(moto: &aws::Moto, s: &Spec) -> String {
    let trail = s.description();
    let org = s.org.map(|o| {
        json!({"Organization": {
            "Id": o, "Arn": format!("arn:aws:organizations::{}:organization/{o}", s.owner),
            "MasterAccountId": s.owner, "FeatureSet": "ALL",
        }})
    });
    endpoint_in_front_of(
        moto.port,
        Arc::new(move |target: &str, region: &str| match target {
            "CloudTrail_20131101.ListPublicKeys" => Some(listing_for(region)),
            "CloudTrail_20131101.DescribeTrails" => Some(json!({ "trailList": [trail] })),
            "CloudTrail_20131101.GetTrail" => Some(json!({ "Trail": trail })),
            "AWSOrganizationsV20161128.DescribeOrganization" => org.clone(),
            _ => None,
        }),
    )
}

/// What the CLI said of one file: `valid` or the text after `INVALID: `.
type Judged = BTreeMap<String, String>;

/// `aws cloudtrail validate-logs --verbose` for each of the trail's regions (the CLI walks
/// the region it runs in): (exit codes, what it said of each file).
fn cli_validate(cli: &PathBuf, endpoint: &str, s: &Spec) -> (Vec<i32>, Judged) {
    let mut codes = Vec::new();
    let mut judged = Judged::new();
    for region in s.regions {
        let mut cmd = Command::new(cli);
        cmd.args([
            "cloudtrail",
            "validate-logs",
            "--trail-arn",
            &s.arn(),
            "--start-time",
            s.start,
            "--end-time",
            &z(s.end()),
            "--region",
            region,
            "--verbose",
        ]);
        if s.org.is_some() {
            cmd.args(["--account-id", s.account]);
        }
        for v in [
            "AWS_PROFILE",
            "AWS_DEFAULT_PROFILE",
            "AWS_SESSION_TOKEN",
            "AWS_REGION",
        ] {
            cmd.env_remove(v);
        }
        let out = cmd
            .envs(aws::aws_env())
            .env("AWS_ENDPOINT_URL", endpoint)
            .output()
            .unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            stdout.contains("Results requested for"),
            "validate-logs in {region} did not run to its summary:\n{stdout}\n{stderr}"
        );
        for line in stdout.lines().chain(stderr.lines()) {
            let parts: Vec<&str> = line.split('\t').collect();
            let [what, url, said] = parts[..] else {
                continue;
            };
            if !(what.ends_with("Digest file") || what == "Log file") {
                continue;
            }
            let said = said.strip_prefix("INVALID: ").unwrap_or(said);
            judged.insert(url.to_owned(), said.to_owned());
        }
        codes.push(out.status.code().unwrap_or(-1));
    }
    (codes, judged)
}

/// `trailwhy verify SOURCE` over the same bucket and time: (exit code, integrity, stderr).
fn trailwhy_verify(endpoint: &str, s: &Spec, extra: &[&str]) -> (i32, Value, String) {
    let source = s.source();
    let until = z(s.end());
    let mut args = vec![
        "verify",
        source.as_str(),
        "--endpoint-url",
        endpoint,
        "--since",
        s.start,
        "--until",
        until.as_str(),
        "--format",
        "json",
    ];
    args.extend_from_slice(extra);
    let out = Command::new(env!("CARGO_BIN_EXE_trailwhy"))
        .args(&args)
        .envs(aws::aws_env())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    let v: Value =
        serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("not JSON ({e}): {stderr}"));
    if std::env::var_os("TRAILWHY_TEST_DEBUG").is_some() {
        eprintln!("{}", serde_json::to_string_pretty(&v).unwrap());
    }
    (
        out.status.code().unwrap_or(-1),
        v["integrity"].clone(),
        stderr,
    )
}

/// trailwhy's verdict of every file: url → (verdict, signature_verified).
fn verdicts(i: &Value) -> BTreeMap<String, (String, bool)> {
    i["files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["file"].as_str().unwrap().to_owned(),
                (
                    f["verdict"].as_str().unwrap().to_owned(),
                    f["signature_verified"].as_bool().unwrap(),
                ),
            )
        })
        .collect()
}

/// Whether trailwhy's verdict says what the CLI said.
fn agrees(cli: &str, verdict: &str, signed: bool) -> bool {
    match cli {
        "valid" => verdict == "verified" && signed,
        "not found" => verdict == "deleted",
        "hash value doesn't match" => verdict == "altered",
        // the digest's bytes no longer match its signature: trailwhy may also see the
        // change through the next digest's record of its hash
        "signature verification failed" => verdict == "altered" || verdict == "unverifiable",
        c if c.starts_with("public key not found") => verdict == "unverifiable",
        _ => verdict != "verified",
    }
}

/// Every file the CLI judged has trailwhy's agreeing verdict.
fn assert_agree(judged: &Judged, ours: &BTreeMap<String, (String, bool)>) {
    for (url, said) in judged {
        let Some((verdict, signed)) = ours.get(url) else {
            panic!("the AWS CLI judged {url} ({said}); trailwhy has no verdict for it");
        };
        assert!(
            agrees(said, verdict, *signed),
            "{url}: AWS CLI says {said:?}, trailwhy {verdict} (signature verified: {signed})"
        );
    }
}

/// Runs both on an intact trail: every file valid for the CLI, verified for trailwhy.
/// Returns our endpoint (for more runs on the bucket), or `None` when a tool is missing.
fn intact(s: &Spec, built: &Built, extra_files: usize) -> Option<String> {
    let cli = aws_cli()?;
    let moto = aws::moto()?;
    upload(moto, s.bucket, &built.objects);
    let endpoint = endpoint(moto, s);
    let (codes, judged) = cli_validate(&cli, &endpoint, s);
    assert!(codes.iter().all(|c| *c == 0), "{codes:?} {judged:?}");
    let files = s.regions.len() * s.hours as usize * 3 + extra_files;
    assert_eq!(judged.len(), files, "{judged:#?}");
    assert!(judged.values().all(|v| v == "valid"), "{judged:#?}");
    let (code, i, stderr) = trailwhy_verify(&endpoint, s, &[]);
    assert_eq!(code, 0, "{stderr}");
    let ours = verdicts(&i);
    assert_agree(&judged, &ours);
    assert_eq!(ours.len(), files, "{ours:#?}");
    assert_eq!(i["signatures"], "verified");
    assert_eq!(i["not_verified"], json!({}));
    assert_eq!(i["signature_failures"], 0);
    assert!(!stderr.contains("not verified"), "{stderr}");
    // the same with --require-verified
    let (code, _, stderr) = trailwhy_verify(&endpoint, s, &["--require-verified"]);
    assert_eq!(code, 0, "{stderr}");
    Some(endpoint)
}

#[test]
fn awscli_single_region_trail() {
    let s = Spec {
        bucket: "cli-single",
        hours: 3,
        ..ONE_REGION
    };
    let _ = intact(&s, &Built::new(&s, &BTreeMap::new()), 0);
}

#[test]
fn awscli_multi_region_trail_across_midnight_and_the_year() {
    // the home region is the middle one of three; each region's digests are signed with
    // that region's key, and its day folders run from 2026/12/31 into 2027/01/01
    let s = Spec {
        bucket: "cli-multi",
        trail: "org_wide.trail-1",
        home: "eu-west-1",
        regions: &["ap-northeast-1", "eu-west-1", "us-west-2"],
        start: "2026-12-31T22:00:00Z",
        hours: 3,
        ..ONE_REGION
    };
    let built = Built::new(&s, &BTreeMap::new());
    assert!(built.objects.iter().any(|o| o
        .key
        .contains("/CloudTrail-Digest/ap-northeast-1/2027/01/01/")
        && o.key
            .contains("_ap-northeast-1_org_wide.trail-1_eu-west-1_20270101T")));
    let _ = intact(&s, &built, 0);
}

#[test]
fn awscli_organization_trail() {
    // AWS's documented shape: a member account's logs under the organization's folder,
    // digests named with the management account's trail and its home region
    let s = Spec {
        bucket: "cli-org",
        org: Some("o-a1b2c3d4e5"),
        owner: "999988887777",
        trail: "POrgTrail",
        regions: &["ca-central-1", "us-east-1"],
        hours: 2,
        ..ONE_REGION
    };
    let Some(endpoint) = intact(&s, &Built::new(&s, &BTreeMap::new()), 0) else {
        return;
    };
    // a SOURCE naming one member account's region folder: that region's digests only
    let one = Spec {
        prefix: Some("AWSLogs/o-a1b2c3d4e5/111122223333/CloudTrail/ca-central-1"),
        ..s
    };
    let (code, i, stderr) = trailwhy_verify(&endpoint, &one, &[]);
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(i["log_files"]["verified"], 4, "{i:#}");
    assert_eq!(i["digest_files"]["verified"], 2, "{i:#}");
    assert_eq!(i["signatures"], "verified");
    assert!(verdicts(&i).keys().all(|f| f.contains("/ca-central-1/")));
}

#[test]
fn awscli_backfill_digest() {
    let s = Spec {
        bucket: "cli-backfill",
        home: "eu-west-1",
        regions: &["eu-west-1"],
        hours: 3,
        ..ONE_REGION
    };
    let mut built = Built::new(&s, &BTreeMap::new());
    let start = time(s.start);
    built.backfill(
        &s,
        "eu-west-1",
        start + Duration::minutes(110),
        start + Duration::hours(5),
    );
    // the late log file and its backfill digest
    let _ = intact(&s, &built, 2);
}

#[test]
fn awscli_trail_with_a_key_prefix() {
    let s = Spec {
        bucket: "cli-prefix",
        prefix: Some("audit/ct"),
        trail: "my_trail",
        home: "us-west-2",
        regions: &["us-west-2"],
        hours: 2,
        ..ONE_REGION
    };
    let _ = intact(&s, &Built::new(&s, &BTreeMap::new()), 0);
}

#[test]
fn awscli_tampering_agrees_file_by_file() {
    let Some(cli) = aws_cli() else { return };
    let Some(moto) = aws::moto() else { return };
    let s = Spec {
        bucket: "cli-tamper",
        hours: 6,
        ..ONE_REGION
    };
    let r = "us-east-1";
    // hour 2's digest names a key CloudTrail never had
    let unknown: BTreeMap<(&str, i64), String> =
        [((r, 2), "0123456789abcdef0123456789abcdef".to_owned())].into();
    let mut b = Built::new(&s, &unknown);
    let log = |b: &Built, h: i64, i: usize| b.logs[&(r.to_owned(), h)][i].clone();
    let digest = |b: &Built, h: i64| b.digests[&(r.to_owned(), h)].clone();
    // hour 0: a log file changed
    let changed = log(&b, 0, 0);
    let o = b.object(&changed);
    let mut plain = super::gunzip(&o.bytes);
    let at = plain
        .windows(12)
        .position(|w| w == b"pull_request")
        .unwrap();
    plain[at] = b'P';
    o.bytes = gzip(&plain);
    // hour 1: a log file deleted
    let deleted = log(&b, 1, 1);
    b.remove(&deleted);
    // hour 3: its digest changed (signature metadata kept)
    let changed_digest = digest(&b, 3);
    let o = b.object(&changed_digest);
    let mut body: Value = serde_json::from_slice(&super::gunzip(&o.bytes)).unwrap();
    body["logFiles"][0]["hashValue"] = json!("00".repeat(32));
    o.bytes = gzip(body.to_string().as_bytes());
    // hour 4: its digest deleted
    let deleted_digest = digest(&b, 4);
    b.remove(&deleted_digest);
    // a log file no digest lists, delivered inside the time the digests cover
    let mut ignored = Vec::new();
    let added = b.log(
        &s,
        r,
        time(s.start) + Duration::minutes(5 * 60 + 20),
        "added",
        &mut ignored,
    );
    upload(moto, s.bucket, &b.objects);
    let endpoint = endpoint(moto, &s);
    let (codes, judged) = cli_validate(&cli, &endpoint, &s);
    assert_eq!(codes, vec![1]);
    let (code, i, stderr) = trailwhy_verify(&endpoint, &s, &[]);
    assert_eq!(code, 4, "{stderr}");
    let ours = verdicts(&i);
    assert_agree(&judged, &ours);
    // what the CLI said, file by file
    let cli_said = |k: &str| judged.get(&s.url(k)).map(String::as_str);
    assert_eq!(cli_said(&changed), Some("hash value doesn't match"));
    assert_eq!(cli_said(&deleted), Some("not found"));
    assert_eq!(
        cli_said(&changed_digest),
        Some("signature verification failed")
    );
    assert_eq!(cli_said(&deleted_digest), Some("not found"));
    assert_eq!(
        cli_said(&digest(&b, 2)),
        Some("public key not found in region us-east-1 for fingerprint 0123456789abcdef0123456789abcdef")
    );
    for h in [0, 1, 5] {
        assert_eq!(cli_said(&digest(&b, h)), Some("valid"), "hour {h}");
    }
    // the CLI does not judge the logs of digests it rejects, nor files no digest lists
    for k in [log(&b, 2, 0), log(&b, 3, 0), log(&b, 4, 0), added.clone()] {
        assert_eq!(cli_said(&k), None, "{k}");
    }
    assert_eq!(judged.len(), 6 + 6, "{judged:#?}");
    // trailwhy's verdicts, every file
    let ours_of = |k: &str| ours[&s.url(k)].0.as_str();
    assert_eq!(ours_of(&changed), "altered");
    assert_eq!(ours_of(&deleted), "deleted");
    assert_eq!(ours_of(&changed_digest), "unverifiable");
    assert_eq!(ours_of(&deleted_digest), "deleted");
    assert_eq!(ours_of(&digest(&b, 2)), "unverifiable");
    for h in [2, 3] {
        for k in &b.logs[&(r.to_owned(), h)] {
            assert_eq!(ours_of(k), "unverifiable", "{k}");
        }
    }
    for k in &b.logs[&(r.to_owned(), 4)] {
        assert_eq!(ours_of(k), "unverifiable", "{k}");
    }
    // our rule for a file the CLI never looks at: listed by no digest, though the digests
    // read cover its delivery time
    assert_eq!(ours_of(&added), "unlisted");
    assert_eq!(i["signatures"], "partly_verified");
    assert_eq!(i["signature_failures"], 2);
    assert_eq!(
        i["not_verified"],
        json!({"altered": 1, "unlisted": 1, "digest_missing": 2, "digest_untrusted": 4})
    );
}
