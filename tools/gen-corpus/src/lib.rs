//! `gen-corpus`: writes a synthetic, seeded and deterministic CloudTrail bucket for the
//! benchmarks (see BENCHMARKS.md and `bench/compare.sh`). It lays files out as a trail does
//! (`AWSLogs/<acct>/CloudTrail/<region>/YYYY/MM/DD/<acct>_CloudTrail_<region>_<time>_<rand>.json.gz`,
//! one organization-trail account, digest files beside them), fills them with a realistic mix
//! of event types and sizes, and plants a known number of GitHub OIDC web-identity failures and
//! ECR failures, which it counts in `DIR/manifest.json` so a run can check that every one was
//! found. `--giant-mb N` writes one file of about N MB instead, for peak-memory measurements.
//!
//! This is a benchmark tool, not a test fixture generator: the events are plausible in shape
//! and size, not a faithful model of any account, and no value in them is real. It uses its
//! own small PRNG (splitmix64), so the output depends only on the flags.

use std::fmt::Write as _;
use std::fs::{self, File};
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{bail, Context, Result};
use chrono::{DateTime, Datelike, Timelike, Utc};
pub use clap::Parser;
use flate2::write::GzEncoder;
use rayon::prelude::*;

/// Appends formatted text to a `String` (which cannot fail).
macro_rules! put {
    ($out:expr, $($arg:tt)*) => {{
        let _ = write!($out, $($arg)*);
    }};
}

/// The generator's options (also its command line).
#[derive(Debug, Parser)]
#[command(
    name = "gen-corpus",
    about = "Writes a synthetic CloudTrail bucket for benchmarks (seeded, deterministic)"
)]
pub struct Args {
    /// Output directory (its AWSLogs/ must not exist yet)
    #[arg(long, value_name = "DIR")]
    pub out: PathBuf,
    /// Number of log files
    #[arg(long, default_value_t = 5000)]
    pub files: u64,
    /// Mean records per file (each file holds between half and one and a half times this)
    #[arg(long, default_value_t = 300)]
    pub records_per_file: u64,
    /// PRNG seed
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Write one single log file of about this many MB (uncompressed) instead
    #[arg(long, value_name = "MB")]
    pub giant_mb: Option<u64>,
    /// gzip level (6 gives a ratio close to real trail files)
    #[arg(long, default_value_t = 6)]
    pub level: u32,
    /// The mix of record kinds: `standard` (about 0.4 % web-identity assumptions), or
    /// `ci-heavy` (8 % of the records start an assumption, two thirds of them successful,
    /// with the ECR calls that follow: 22 %)
    #[arg(long, value_enum, default_value_t = Mix::Standard)]
    pub mix: Mix,
}

/// The mix of record kinds a corpus is drawn from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Mix {
    Standard,
    CiHeavy,
}

// ---------------------------------------------------------------------------------------------
// Randomness

/// splitmix64: tiny, fast and good enough for synthetic data.
struct Rng(u64);

impl Rng {
    fn new(seed: u64) -> Rng {
        Rng(seed)
    }

    fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// Uniform in `0..n` (`n > 0`).
    fn below(&mut self, n: u64) -> u64 {
        ((u128::from(self.next_u64()) * u128::from(n.max(1))) >> 64) as u64
    }

    /// Uniform in `lo..=hi`.
    fn range(&mut self, lo: u64, hi: u64) -> u64 {
        lo + self.below(hi - lo + 1)
    }

    fn chance(&mut self, per_mille: u64) -> bool {
        self.below(1000) < per_mille
    }

    fn pick<T: Copy>(&mut self, items: &[T]) -> T {
        items[self.below(items.len() as u64) as usize]
    }
}

/// Combines values into one well-mixed seed.
fn mix(parts: &[u64]) -> u64 {
    let mut r = Rng::new(0x5151_a3a3_1234_9876);
    let mut h = 0;
    for &p in parts {
        r.0 ^= p.wrapping_add(h);
        h = r.next_u64();
    }
    h
}

const HEX: &[u8; 16] = b"0123456789abcdef";
const BASE32: &[u8; 32] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
const BASE64: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
const ALNUM: &[u8; 62] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

fn push_chars(out: &mut String, rng: &mut Rng, alphabet: &[u8], n: usize) {
    for _ in 0..n {
        out.push(char::from(rng.pick(alphabet)));
    }
}

fn push_uuid(out: &mut String, rng: &mut Rng) {
    for (i, len) in [8, 4, 4, 4, 12].into_iter().enumerate() {
        if i > 0 {
            out.push('-');
        }
        push_chars(out, rng, HEX, len);
    }
}

/// `ASIA…`/`AKIA…` style key id (20 characters).
fn push_key(out: &mut String, rng: &mut Rng, prefix: &str) {
    out.push_str(prefix);
    push_chars(out, rng, BASE32, 16);
}

fn push_sha256(out: &mut String, rng: &mut Rng) {
    out.push_str("sha256:");
    push_chars(out, rng, HEX, 64);
}

fn push_public_ip(out: &mut String, rng: &mut Rng) {
    let first = rng.pick(&[4u64, 20, 40, 52, 13, 172, 198, 203]);
    put!(
        out,
        "{first}.{}.{}.{}",
        rng.below(256),
        rng.below(256),
        rng.range(1, 254)
    );
}

fn push_private_ip(out: &mut String, rng: &mut Rng) {
    put!(
        out,
        "10.{}.{}.{}",
        rng.below(4),
        rng.below(256),
        rng.range(1, 254)
    );
}

fn push_time(out: &mut String, t: DateTime<Utc>) {
    put!(
        out,
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}Z",
        t.year(),
        t.month(),
        t.day(),
        t.hour(),
        t.minute(),
        t.second()
    );
}

/// Escapes `s` for use inside a JSON string (quotes, backslashes, newlines).
fn push_escaped(out: &mut String, s: &str) {
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
}

// ---------------------------------------------------------------------------------------------
// The world: accounts, regions, principals

struct Account {
    id: &'static str,
    /// Organization trail prefix (`o-…/`) or empty.
    org: &'static str,
}

const ACCOUNTS: &[Account] = &[
    Account {
        id: "111122223333",
        org: "",
    },
    Account {
        id: "444455556666",
        org: "o-a1b2c3d4e5/",
    },
    Account {
        id: "777788889999",
        org: "",
    },
];
const REGIONS: &[&str] = &["us-east-1", "eu-west-1", "us-west-2", "ap-northeast-1"];
const USERS: &[&str] = &["alice", "bob", "terraform", "ci-bot", "backup-svc", "carol"];
const SERVICE_ROLES: &[&str] = &[
    "app-api",
    "app-worker",
    "lambda-ingest",
    "ecs-task-web",
    "eks-node-group",
    "batch-etl",
];
const GITHUB_ROLES: &[&str] = &[
    "gha-deploy",
    "gha-ecr-push",
    "gha-terraform",
    "gha-pull-only",
];
const REPOS: &[&str] = &[
    "acme/web",
    "acme/api",
    "acme/infra",
    "acme/worker",
    "acme/docs",
];
const REFS: &[&str] = &[
    "ref:refs/heads/main",
    "environment:production",
    "pull_request",
    "ref:refs/tags/v1.4.2",
    "ref:refs/heads/release/2026-10",
];
const ECR_REPOS: &[&str] = &["web", "api", "worker", "base/python", "tools/ci-runner"];
const BUCKETS: &[&str] = &[
    "assets",
    "logs-archive",
    "data-lake",
    "artifacts",
    "backups",
];
const GITHUB_PROVIDER_HOST: &str = "token.actions.githubusercontent.com";

const UA_CLI: &str = "aws-cli/2.27.41 md/awscrt#0.26.1 ua/2.1 os/linux#6.8.0-1021-aws md/arch#x86_64 lang/python#3.13.4 md/pyimpl#CPython m/E,b cfg/retry-mode#standard md/installer#exe md/prompt#off";
const UA_BOTO: &str = "Boto3/1.38.36 md/Botocore#1.38.36 ua/2.1 os/linux#5.10.237-230.949.amzn2.x86_64 md/arch#x86_64 lang/python#3.12.11 md/pyimpl#CPython cfg/retry-mode#legacy Botocore/1.38.36";
const UA_SDK_GO: &str = "aws-sdk-go-v2/1.36.3 ua/2.1 os/linux lang/go#1.23.6 md/GOOS#linux md/GOARCH#amd64 api/s3#1.78.2 m/E,Z,g";
const UA_TERRAFORM: &str = "APN/1.0 HashiCorp/1.0 Terraform/1.11.4 (+https://www.terraform.io) terraform-provider-aws/5.94.1 (+https://registry.terraform.io/providers/hashicorp/aws) aws-sdk-go-v2/1.36.3 ua/2.1 os/linux lang/go#1.24.2 md/GOOS#linux md/GOARCH#amd64";
const UA_GHA: &str = "aws-sdk-js/3.758.0 ua/2.1 os/linux#6.8.0-1021-azure lang/js md/nodejs#20.19.0 api/sts#3.758.0 m/E,e configure-aws-credentials-for-github-actions";
const UA_DOCKER: &str = "docker/27.5.1 go/go1.22.11 git-commit/4c9b3b0 kernel/6.8.0-1021-azure os/linux arch/amd64 UpstreamClient(Docker-Client/27.5.1 \\\\(linux\\\\))";

/// The delivery-time origin of the corpus.
fn corpus_start() -> DateTime<Utc> {
    DateTime::from_timestamp(1_790_812_800, 0).unwrap_or_default() // 2026-10-01T00:00:00Z
}

// ---------------------------------------------------------------------------------------------
// Plans: what kind of record goes where

/// Record kinds, with weights per 10,000 records.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    WebIdOk,
    WebIdFail,
    EcrOk,
    EcrFail,
    /// AccessDenied of a non-GitHub role session (selected by trailwhy as a call failure).
    RoleDenied,
    /// Other error codes (NoSuchKey, throttling, …).
    OtherError,
    /// A large record (CloudFormation template, ECS task definition).
    Large,
    IamRead,
    S3Data,
    Ec2Describe,
    Kms,
    StsAssumeRole,
    StsCallerIdentity,
    Logs,
    Lambda,
    Dynamo,
    Ssm,
}

const WEIGHTS: &[(Kind, u64)] = &[
    (Kind::WebIdOk, 34),
    (Kind::WebIdFail, 6),
    (Kind::EcrOk, 225),
    (Kind::EcrFail, 25),
    (Kind::RoleDenied, 60),
    (Kind::OtherError, 90),
    (Kind::Large, 35),
    (Kind::IamRead, 80),
    (Kind::Ec2Describe, 1300),
    (Kind::Kms, 1500),
    (Kind::StsAssumeRole, 600),
    (Kind::StsCallerIdentity, 400),
    (Kind::Logs, 800),
    (Kind::Lambda, 400),
    (Kind::Dynamo, 500),
    (Kind::Ssm, 340),
    (Kind::S3Data, 3205),
];

/// `--mix ci-heavy`: a CI-heavy month of an organization — 8 % of the records start a GitHub
/// OIDC assumption (540 successful, 260 failed per 10,000), 21.7 % are the ECR calls that
/// follow, and the rest keeps the standard mix's proportions.
const CI_HEAVY_WEIGHTS: &[(Kind, u64)] = &[
    (Kind::WebIdOk, 540),
    (Kind::WebIdFail, 260),
    (Kind::EcrOk, 1950),
    (Kind::EcrFail, 220),
    (Kind::RoleDenied, 43),
    (Kind::OtherError, 65),
    (Kind::Large, 25),
    (Kind::IamRead, 58),
    (Kind::Ec2Describe, 941),
    (Kind::Kms, 1086),
    (Kind::StsAssumeRole, 434),
    (Kind::StsCallerIdentity, 290),
    (Kind::Logs, 579),
    (Kind::Lambda, 290),
    (Kind::Dynamo, 362),
    (Kind::Ssm, 246),
    (Kind::S3Data, 2611),
];

fn draw_kind(rng: &mut Rng, mix: Mix) -> Kind {
    let weights = match mix {
        Mix::Standard => WEIGHTS,
        Mix::CiHeavy => CI_HEAVY_WEIGHTS,
    };
    let mut x = rng.below(10_000);
    for &(kind, w) in weights {
        if x < w {
            return kind;
        }
        x -= w;
    }
    Kind::S3Data
}

/// How batches (a file's worth of records) map onto accounts, regions and time.
#[derive(Debug, Clone, Copy)]
struct Layout {
    accounts: u64,
    regions: u64,
    records_per_batch: u64,
    seed: u64,
    mix: Mix,
}

/// One batch of records: normally one file.
#[derive(Debug, Clone, Copy)]
struct Batch {
    index: u64,
    account: usize,
    region: usize,
    delivery: DateTime<Utc>,
}

impl Layout {
    fn batch(&self, index: u64) -> Batch {
        let streams = self.accounts * self.regions;
        let slot = index / streams;
        let lane = index % streams;
        let mut rng = Rng::new(mix(&[self.seed, index, 0xde11]));
        let secs = slot * 300 + lane * 7 + rng.below(60);
        Batch {
            index,
            account: (lane % self.accounts) as usize,
            region: ((lane / self.accounts) % self.regions) as usize,
            delivery: corpus_start() + chrono::Duration::seconds(secs as i64),
        }
    }

    /// The kinds of a batch's records, drawn from their own stream so other batches can
    /// recompute them (to know which sessions a batch started).
    fn plan(&self, index: u64) -> Vec<Kind> {
        let mut rng = Rng::new(mix(&[self.seed, index, 0x91a2]));
        let n = self.records_per_batch / 2 + rng.below(self.records_per_batch + 1);
        (0..n).map(|_| draw_kind(&mut rng, self.mix)).collect()
    }

    /// Earlier batches of the same account whose sessions ECR calls of `index` may use.
    fn session_sources(&self, index: u64) -> Vec<(u64, u64)> {
        (0..3)
            .filter_map(|d| index.checked_sub(d * self.accounts))
            .map(|b| {
                let n = self.plan(b).iter().filter(|&&k| k == Kind::WebIdOk).count();
                (b, n as u64)
            })
            .collect()
    }
}

/// A GitHub Actions session: what the web-identity success issued and the ECR calls use.
struct Session {
    key: String,
    role: &'static str,
    repo: &'static str,
    git_ref: &'static str,
    role_id: String,
}

fn session(seed: u64, batch: u64, n: u64) -> Session {
    let mut rng = Rng::new(mix(&[seed, batch, n, 0x5e55]));
    let mut key = String::with_capacity(20);
    push_key(&mut key, &mut rng, "ASIA");
    let role_index = rng.below(GITHUB_ROLES.len() as u64);
    let role = GITHUB_ROLES[role_index as usize];
    // the role id is stable per role
    let mut role_id = String::from("AROA");
    push_chars(
        &mut role_id,
        &mut Rng::new(mix(&[seed, role_index, 0x201e])),
        BASE32,
        17,
    );
    Session {
        key,
        role,
        repo: rng.pick(REPOS),
        git_ref: rng.pick(REFS),
        role_id,
    }
}

// ---------------------------------------------------------------------------------------------
// Records

#[derive(Debug, Default, Clone, Copy)]
struct Counts {
    records: u64,
    raw_bytes: u64,
    web_identity: u64,
    web_identity_failures: u64,
    ecr: u64,
    ecr_failures: u64,
    ecr_unjoined_sessions: u64,
    role_denials_other: u64,
    other_errors: u64,
    large_records: u64,
}

impl Counts {
    fn add(&mut self, o: &Counts) {
        self.records += o.records;
        self.raw_bytes += o.raw_bytes;
        self.web_identity += o.web_identity;
        self.web_identity_failures += o.web_identity_failures;
        self.ecr += o.ecr;
        self.ecr_failures += o.ecr_failures;
        self.ecr_unjoined_sessions += o.ecr_unjoined_sessions;
        self.role_denials_other += o.role_denials_other;
        self.other_errors += o.other_errors;
        self.large_records += o.large_records;
    }
}

/// Writes the records of one batch.
struct Writer<'a> {
    layout: &'a Layout,
    batch: Batch,
    acct: &'static str,
    region: &'static str,
    rng: Rng,
    sessions_started: u64,
    session_sources: Vec<(u64, u64)>,
    counts: Counts,
}

impl<'a> Writer<'a> {
    fn new(layout: &'a Layout, batch: Batch) -> Writer<'a> {
        Writer {
            layout,
            batch,
            acct: ACCOUNTS[batch.account].id,
            region: REGIONS[batch.region],
            rng: Rng::new(mix(&[layout.seed, batch.index, 0x7ec0])),
            sessions_started: 0,
            session_sources: layout.session_sources(batch.index),
            counts: Counts::default(),
        }
    }

    /// Appends the batch's records, comma-separated (with a leading comma unless `first`).
    fn write_batch(&mut self, out: &mut String, mut first: bool) {
        for kind in self.layout.plan(self.batch.index) {
            if !first {
                out.push(',');
            }
            first = false;
            let before = out.len();
            self.record(out, kind);
            self.counts.records += 1;
            self.counts.raw_bytes += (out.len() - before + 1) as u64;
        }
    }

    fn record(&mut self, out: &mut String, kind: Kind) {
        match kind {
            Kind::WebIdOk | Kind::WebIdFail => self.web_identity(out, kind == Kind::WebIdFail),
            Kind::EcrOk | Kind::EcrFail => self.ecr(out, kind == Kind::EcrFail),
            Kind::RoleDenied => self.role_denied(out),
            Kind::OtherError => self.other_error(out),
            Kind::Large => self.large(out),
            Kind::IamRead => self.iam_read(out),
            Kind::S3Data => self.s3(out, None),
            Kind::Ec2Describe => self.ec2(out),
            Kind::Kms => self.kms(out),
            Kind::StsAssumeRole => self.assume_role(out),
            Kind::StsCallerIdentity => self.caller_identity(out),
            Kind::Logs => self.logs(out),
            Kind::Lambda => self.lambda(out),
            Kind::Dynamo => self.dynamo(out),
            Kind::Ssm => self.ssm(out),
        }
    }

    // --- envelope -------------------------------------------------------------------------

    fn event_time(&mut self) -> DateTime<Utc> {
        let back = self.rng.range(120, 900) as i64;
        self.batch.delivery - chrono::Duration::seconds(back)
    }

    /// `{"eventVersion":…,"userIdentity":` — the caller writes the identity object next.
    fn open(&mut self, out: &mut String) {
        out.push_str("{\"eventVersion\":\"");
        out.push_str(if self.rng.chance(700) { "1.09" } else { "1.08" });
        out.push_str("\",\"userIdentity\":");
    }

    /// From `eventTime` to `userAgent`, then the error fields if any.
    fn middle(
        &mut self,
        out: &mut String,
        source: &str,
        name: &str,
        ip: Ip,
        agent: &str,
        error: Option<(&str, &str)>,
    ) {
        out.push_str(",\"eventTime\":\"");
        let t = self.event_time();
        push_time(out, t);
        put!(
            out,
            "\",\"eventSource\":\"{source}\",\"eventName\":\"{name}\",\"awsRegion\":\"{}\",\"sourceIPAddress\":\"",
            self.region
        );
        match ip {
            Ip::Public => push_public_ip(out, &mut self.rng),
            Ip::Private => push_private_ip(out, &mut self.rng),
            Ip::Service(s) => out.push_str(s),
        }
        out.push_str("\",\"userAgent\":\"");
        out.push_str(agent);
        out.push('"');
        if let Some((code, message)) = error {
            out.push_str(",\"errorCode\":\"");
            out.push_str(code);
            out.push_str("\",\"errorMessage\":\"");
            push_escaped(out, message);
            out.push('"');
        }
    }

    /// From `requestID` to the end of the record.
    fn close(&mut self, out: &mut String, t: Tail<'_>) {
        out.push_str(",\"requestID\":\"");
        if t.uuid_request_id {
            push_uuid(out, &mut self.rng);
        } else {
            push_chars(out, &mut self.rng, b"0123456789ABCDEF", 16);
        }
        out.push_str("\",\"eventID\":\"");
        push_uuid(out, &mut self.rng);
        put!(out, "\",\"readOnly\":{}", t.read_only);
        if !t.resources.is_empty() {
            out.push_str(",\"resources\":");
            out.push_str(t.resources);
        }
        put!(
            out,
            ",\"eventType\":\"AwsApiCall\",\"managementEvent\":{},\"recipientAccountId\":\"{}\",\"eventCategory\":\"{}\"",
            !t.data,
            self.acct,
            if t.data { "Data" } else { "Management" }
        );
        if let Some(host) = t.host {
            out.push_str(",\"tlsDetails\":{\"tlsVersion\":\"TLSv1.3\",\"cipherSuite\":\"TLS_AES_128_GCM_SHA256\",\"clientProvidedHostHeader\":\"");
            out.push_str(host);
            out.push_str("\"}");
        }
        out.push('}');
    }

    fn host(&self, service: &str) -> String {
        format!("{service}.{}.amazonaws.com", self.region)
    }

    // --- identities -----------------------------------------------------------------------

    fn iam_user(&mut self, out: &mut String) {
        let i = self.rng.below(USERS.len() as u64) as usize;
        let user = USERS[i];
        // stable per user: the same user always has the same ids
        let mut ids = Rng::new(mix(&[
            self.layout.seed,
            self.batch.account as u64,
            i as u64,
        ]));
        out.push_str("{\"type\":\"IAMUser\",\"principalId\":\"AIDA");
        push_chars(out, &mut ids, BASE32, 17);
        put!(
            out,
            "\",\"arn\":\"arn:aws:iam::{}:user/{user}\",\"accountId\":\"{}\",\"accessKeyId\":\"",
            self.acct,
            self.acct
        );
        push_key(out, &mut ids, "AKIA");
        put!(out, "\",\"userName\":\"{user}\"}}");
    }

    /// A service role session (EC2 instance, Lambda, ECS task).
    fn service_role(&mut self, out: &mut String) -> &'static str {
        let i = self.rng.below(SERVICE_ROLES.len() as u64) as usize;
        let role = SERVICE_ROLES[i];
        let mut ids = Rng::new(mix(&[
            self.layout.seed,
            self.batch.account as u64,
            100 + i as u64,
        ]));
        let mut role_id = String::from("AROA");
        push_chars(&mut role_id, &mut ids, BASE32, 17);
        let mut session = String::new();
        if role.starts_with("lambda") {
            session.push_str(role);
        } else {
            session.push_str("i-0");
            push_chars(&mut session, &mut self.rng, HEX, 16);
        }
        put!(
            out,
            "{{\"type\":\"AssumedRole\",\"principalId\":\"{role_id}:{session}\",\"arn\":\"arn:aws:sts::{a}:assumed-role/{role}/{session}\",\"accountId\":\"{a}\",\"accessKeyId\":\"",
            a = self.acct
        );
        push_key(out, &mut self.rng, "ASIA");
        put!(
            out,
            "\",\"sessionContext\":{{\"sessionIssuer\":{{\"type\":\"Role\",\"principalId\":\"{role_id}\",\"arn\":\"arn:aws:iam::{a}:role/{role}\",\"accountId\":\"{a}\",\"userName\":\"{role}\"}},\"attributes\":{{\"creationDate\":\"",
            a = self.acct
        );
        let t = self.batch.delivery - chrono::Duration::seconds(self.rng.range(1000, 20000) as i64);
        push_time(out, t);
        out.push_str("\",\"mfaAuthenticated\":\"false\"}}}");
        role
    }

    fn aws_service(out: &mut String, service: &str) {
        put!(
            out,
            "{{\"type\":\"AWSService\",\"invokedBy\":\"{service}\"}}"
        );
    }

    /// Someone: a user, a service role or a service.
    fn any_caller(&mut self, out: &mut String) -> Ip {
        match self.rng.below(10) {
            0..=2 => {
                self.iam_user(out);
                Ip::Public
            }
            3..=8 => {
                self.service_role(out);
                Ip::Private
            }
            _ => {
                Self::aws_service(out, "cloudformation.amazonaws.com");
                Ip::Service("cloudformation.amazonaws.com")
            }
        }
    }

    fn github_session_identity(&mut self, out: &mut String, s: &Session) {
        put!(
            out,
            "{{\"type\":\"AssumedRole\",\"principalId\":\"{id}:GitHubActions\",\"arn\":\"arn:aws:sts::{a}:assumed-role/{role}/GitHubActions\",\"accountId\":\"{a}\",\"accessKeyId\":\"{key}\",\"sessionContext\":{{\"sessionIssuer\":{{\"type\":\"Role\",\"principalId\":\"{id}\",\"arn\":\"arn:aws:iam::{a}:role/{role}\",\"accountId\":\"{a}\",\"userName\":\"{role}\"}},\"webIdFederationData\":{{\"federatedProvider\":\"arn:aws:iam::{a}:oidc-provider/{GITHUB_PROVIDER_HOST}\",\"attributes\":{{}}}},\"attributes\":{{\"creationDate\":\"",
            id = s.role_id,
            a = self.acct,
            role = s.role,
            key = s.key,
        );
        let t = self.batch.delivery - chrono::Duration::seconds(self.rng.range(900, 1500) as i64);
        push_time(out, t);
        out.push_str("\",\"mfaAuthenticated\":\"false\"}}}");
    }

    // --- GitHub OIDC and ECR --------------------------------------------------------------

    fn web_identity(&mut self, out: &mut String, failed: bool) {
        self.counts.web_identity += 1;
        let fresh;
        let s = if failed {
            self.counts.web_identity_failures += 1;
            fresh = session(
                self.layout.seed,
                self.batch.index,
                1_000_000 + self.rng.below(1 << 40),
            );
            &fresh
        } else {
            fresh = session(self.layout.seed, self.batch.index, self.sessions_started);
            self.sessions_started += 1;
            &fresh
        };
        let provider = format!(
            "arn:aws:iam::{}:oidc-provider/{GITHUB_PROVIDER_HOST}",
            self.acct
        );
        let sub = format!("repo:{}:{}", s.repo, s.git_ref);
        self.open(out);
        put!(
            out,
            "{{\"type\":\"WebIdentityUser\",\"principalId\":\"{provider}:sts.amazonaws.com:{sub}\",\"userName\":\"{sub}\",\"identityProvider\":\"{provider}\"}}"
        );
        let mut agent = String::from(UA_GHA);
        put!(
            agent,
            " md/run_id#{}",
            18_000_000_000 + self.rng.below(500_000_000)
        );
        let error = if failed {
            if self.rng.chance(700) {
                Some((
                    "AccessDenied",
                    "Not authorized to perform sts:AssumeRoleWithWebIdentity",
                ))
            } else if self.rng.chance(500) {
                Some(("InvalidIdentityToken", "Incorrect token audience"))
            } else {
                Some((
                    "InvalidIdentityToken",
                    "No OpenIDConnect provider found in your account for https://token.actions.githubusercontent.com",
                ))
            }
        } else {
            None
        };
        self.middle(
            out,
            "sts.amazonaws.com",
            "AssumeRoleWithWebIdentity",
            Ip::Public,
            &agent,
            error,
        );
        let role_arn = format!("arn:aws:iam::{}:role/{}", self.acct, s.role);
        put!(
            out,
            ",\"requestParameters\":{{\"roleArn\":\"{role_arn}\",\"roleSessionName\":\"GitHubActions\",\"durationSeconds\":3600}}"
        );
        if failed {
            out.push_str(",\"responseElements\":null");
        } else {
            put!(out, ",\"responseElements\":{{\"credentials\":{{\"accessKeyId\":\"{}\",\"sessionToken\":\"", s.key);
            out.push_str("IQoJb3JpZ2luX2VjE");
            push_chars(out, &mut self.rng, BASE64, 380);
            out.push_str(
                "\",\"expiration\":\"Oct 1, 2026, 1:00:00 PM\"},\"subjectFromWebIdentityToken\":\"",
            );
            out.push_str(&sub);
            put!(
                out,
                "\",\"assumedRoleUser\":{{\"assumedRoleId\":\"{}:GitHubActions\",\"arn\":\"arn:aws:sts::{}:assumed-role/{}/GitHubActions\"}},\"provider\":\"{provider}\",\"audience\":\"sts.amazonaws.com\"}}",
                s.role_id, self.acct, s.role
            );
        }
        out.push_str(",\"additionalEventData\":{\"identityProviderConnectionVerificationMethod\":\"IAMTrustStore\",\"RequestDetails\":{\"awsServingRegion\":\"");
        out.push_str(self.region);
        out.push_str("\",\"endpointType\":\"regional\"}}");
        let resources = format!(
            "[{{\"accountId\":\"{}\",\"type\":\"AWS::IAM::Role\",\"ARN\":\"{role_arn}\"}}]",
            self.acct
        );
        let host = self.host("sts");
        self.close(
            out,
            Tail {
                read_only: true,
                resources: &resources,
                data: false,
                host: Some(&host),
                uuid_request_id: true,
            },
        );
    }

    /// The session an ECR call uses: one started by a web-identity success of this or an
    /// earlier batch of the account, else one whose assumption is outside the corpus.
    fn ecr_session(&mut self) -> Session {
        let start = self.rng.below(self.session_sources.len() as u64) as usize;
        for k in 0..self.session_sources.len() {
            let (batch, n) = self.session_sources[(start + k) % self.session_sources.len()];
            if n > 0 {
                let j = self.rng.below(n);
                return session(self.layout.seed, batch, j);
            }
        }
        self.counts.ecr_unjoined_sessions += 1;
        session(
            self.layout.seed,
            self.batch.index,
            2_000_000 + self.rng.below(1 << 40),
        )
    }

    fn ecr(&mut self, out: &mut String, failed: bool) {
        self.counts.ecr += 1;
        let s = self.ecr_session();
        let repo = self.rng.pick(ECR_REPOS);
        let name = self.rng.pick(&[
            "GetAuthorizationToken",
            "BatchCheckLayerAvailability",
            "BatchCheckLayerAvailability",
            "InitiateLayerUpload",
            "UploadLayerPart",
            "CompleteLayerUpload",
            "PutImage",
            "BatchGetImage",
            "BatchGetImage",
            "GetDownloadUrlForLayer",
            "GetDownloadUrlForLayer",
            "GetDownloadUrlForLayer",
        ]);
        let repo_arn = format!(
            "arn:aws:ecr:{}:{}:repository/{repo}",
            self.region, self.acct
        );
        let message;
        let error = if failed {
            self.counts.ecr_failures += 1;
            let caller = format!(
                "arn:aws:sts::{}:assumed-role/{}/GitHubActions",
                self.acct, s.role
            );
            let on = if name == "GetAuthorizationToken" {
                String::new()
            } else {
                format!(" on resource: {repo_arn}")
            };
            let reason = match self.rng.below(10) {
                0 => "with an explicit deny in a service control policy".to_owned(),
                1 => format!("because no resource-based policy allows the ecr:{name} action"),
                _ => format!("because no identity-based policy allows the ecr:{name} action"),
            };
            message =
                format!("User: {caller} is not authorized to perform: ecr:{name}{on} {reason}");
            let code = if self.rng.chance(800) {
                "AccessDeniedException"
            } else {
                "AccessDenied"
            };
            Some((code, message.as_str()))
        } else {
            None
        };
        self.open(out);
        self.github_session_identity(out, &s);
        self.middle(out, "ecr.amazonaws.com", name, Ip::Public, UA_DOCKER, error);
        let a = self.acct;
        out.push_str(",\"requestParameters\":");
        match name {
            "GetAuthorizationToken" => put!(out, "{{\"registryIds\":[\"{a}\"]}}"),
            "BatchCheckLayerAvailability" => {
                put!(out, "{{\"repositoryName\":\"{repo}\",\"registryId\":\"{a}\",\"layerDigests\":[");
                for i in 0..self.rng.range(1, 6) {
                    if i > 0 {
                        out.push(',');
                    }
                    out.push('"');
                    push_sha256(out, &mut self.rng);
                    out.push('"');
                }
                out.push_str("]}");
            }
            "UploadLayerPart" | "CompleteLayerUpload" => {
                put!(out, "{{\"repositoryName\":\"{repo}\",\"registryId\":\"{a}\",\"uploadId\":\"");
                push_uuid(out, &mut self.rng);
                if name == "UploadLayerPart" {
                    put!(out, "\",\"partFirstByte\":0,\"partLastByte\":{}}}", self.rng.range(1000, 60_000_000));
                } else {
                    out.push_str("\",\"layerDigests\":[\"");
                    push_sha256(out, &mut self.rng);
                    out.push_str("\"]}");
                }
            }
            "PutImage" => {
                put!(out, "{{\"repositoryName\":\"{repo}\",\"registryId\":\"{a}\",\"imageTag\":\"");
                push_chars(out, &mut self.rng, HEX, 12);
                out.push_str("\",\"imageManifest\":\"");
                let manifest = self.manifest();
                push_escaped(out, &manifest);
                out.push_str("\",\"imageManifestMediaType\":\"application/vnd.oci.image.manifest.v1+json\"}");
            }
            "BatchGetImage" => put!(
                out,
                "{{\"repositoryName\":\"{repo}\",\"registryId\":\"{a}\",\"imageIds\":[{{\"imageTag\":\"latest\"}}],\"acceptedMediaTypes\":[\"application/vnd.docker.distribution.manifest.v2+json\",\"application/vnd.oci.image.manifest.v1+json\",\"application/vnd.oci.image.index.v1+json\"]}}"
            ),
            "GetDownloadUrlForLayer" => {
                put!(out, "{{\"repositoryName\":\"{repo}\",\"registryId\":\"{a}\",\"layerDigest\":\"");
                push_sha256(out, &mut self.rng);
                out.push_str("\"}");
            }
            _ => put!(out, "{{\"repositoryName\":\"{repo}\",\"registryId\":\"{a}\"}}"),
        }
        if !failed && name == "InitiateLayerUpload" {
            out.push_str(",\"responseElements\":{\"uploadId\":\"");
            push_uuid(out, &mut self.rng);
            out.push_str("\",\"partSize\":10485760}");
        } else {
            out.push_str(",\"responseElements\":null");
        }
        let resources = if name == "GetAuthorizationToken" {
            String::new()
        } else {
            format!("[{{\"accountId\":\"{a}\",\"ARN\":\"{repo_arn}\"}}]")
        };
        let host = format!("{a}.dkr.ecr.{}.amazonaws.com", self.region);
        self.close(
            out,
            Tail {
                read_only: name.starts_with("Get") || name.starts_with("Batch"),
                resources: &resources,
                data: false,
                host: Some(&host),
                uuid_request_id: true,
            },
        );
    }

    fn manifest(&mut self) -> String {
        let mut m = String::from("{\n   \"schemaVersion\": 2,\n   \"mediaType\": \"application/vnd.oci.image.manifest.v1+json\",\n   \"config\": {\n      \"mediaType\": \"application/vnd.oci.image.config.v1+json\",\n      \"size\": ");
        put!(m, "{},\n      \"digest\": \"", self.rng.range(1000, 9000));
        push_sha256(&mut m, &mut self.rng);
        m.push_str("\"\n   },\n   \"layers\": [");
        for i in 0..self.rng.range(2, 9) {
            if i > 0 {
                m.push(',');
            }
            put!(m, "\n      {{\n         \"mediaType\": \"application/vnd.oci.image.layer.v1.tar+gzip\",\n         \"size\": {},\n         \"digest\": \"", self.rng.range(100, 50_000_000));
            push_sha256(&mut m, &mut self.rng);
            m.push_str("\"\n      }");
        }
        m.push_str("\n   ]\n}");
        m
    }

    // --- everything else ------------------------------------------------------------------

    fn s3(&mut self, out: &mut String, error: Option<(&str, &str)>) {
        let bucket = format!("acme-{}-{}", self.rng.pick(BUCKETS), self.acct);
        let name = self.rng.pick(&[
            "GetObject",
            "GetObject",
            "GetObject",
            "PutObject",
            "HeadObject",
            "ListObjects",
        ]);
        let mut key = String::new();
        put!(
            key,
            "{}/{}/",
            self.rng
                .pick(&["raw", "processed", "exports", "tmp", "static"]),
            2026
        );
        push_chars(&mut key, &mut self.rng, ALNUM, 10);
        key.push_str(
            self.rng
                .pick(&[".json", ".parquet", ".csv.gz", ".png", ".tar"]),
        );
        self.open(out);
        let ip = self.any_caller(out);
        let agent = if self.rng.chance(500) {
            UA_SDK_GO
        } else {
            UA_BOTO
        };
        self.middle(out, "s3.amazonaws.com", name, ip, agent, error);
        let host = format!("{bucket}.s3.{}.amazonaws.com", self.region);
        if name == "ListObjects" {
            put!(out, ",\"requestParameters\":{{\"bucketName\":\"{bucket}\",\"Host\":\"{host}\",\"prefix\":\"processed/\",\"list-type\":\"2\"}}");
        } else {
            put!(out, ",\"requestParameters\":{{\"bucketName\":\"{bucket}\",\"Host\":\"{host}\",\"key\":\"{key}\"}}");
        }
        if name == "PutObject" {
            out.push_str(",\"responseElements\":{\"x-amz-server-side-encryption\":\"aws:kms\",\"x-amz-server-side-encryption-aws-kms-key-id\":\"arn:aws:kms:");
            put!(out, "{}:{}:key/", self.region, self.acct);
            push_uuid(out, &mut self.rng);
            out.push_str("\"}");
        } else {
            out.push_str(",\"responseElements\":null");
        }
        put!(
            out,
            ",\"additionalEventData\":{{\"SignatureVersion\":\"SigV4\",\"CipherSuite\":\"TLS_AES_128_GCM_SHA256\",\"bytesTransferredIn\":{},\"AuthenticationMethod\":\"AuthHeader\",\"x-amz-id-2\":\"",
            if name == "PutObject" { self.rng.range(100, 5_000_000) } else { 0 }
        );
        push_chars(out, &mut self.rng, BASE64, 76);
        put!(
            out,
            "\",\"bytesTransferredOut\":{}}}",
            self.rng.range(0, 9_000_000)
        );
        let resources = format!(
            "[{{\"type\":\"AWS::S3::Object\",\"ARN\":\"arn:aws:s3:::{bucket}/{key}\"}},{{\"accountId\":\"{}\",\"type\":\"AWS::S3::Bucket\",\"ARN\":\"arn:aws:s3:::{bucket}\"}}]",
            self.acct
        );
        self.close(
            out,
            Tail {
                read_only: name != "PutObject",
                resources: &resources,
                data: true,
                host: Some(&host),
                uuid_request_id: false,
            },
        );
    }

    fn ec2(&mut self, out: &mut String) {
        let name = self.rng.pick(&[
            "DescribeInstances",
            "DescribeSecurityGroups",
            "DescribeVolumes",
            "DescribeSubnets",
            "DescribeInstanceStatus",
            "DescribeNetworkInterfaces",
        ]);
        self.open(out);
        let ip = self.any_caller(out);
        let agent = if self.rng.chance(300) {
            UA_TERRAFORM
        } else {
            UA_BOTO
        };
        self.middle(out, "ec2.amazonaws.com", name, ip, agent, None);
        out.push_str(",\"requestParameters\":{");
        match name {
            "DescribeInstances" | "DescribeInstanceStatus" => {
                out.push_str("\"instancesSet\":{\"items\":[");
                for i in 0..self.rng.range(1, 4) {
                    if i > 0 {
                        out.push(',');
                    }
                    out.push_str("{\"instanceId\":\"i-0");
                    push_chars(out, &mut self.rng, HEX, 16);
                    out.push_str("\"}");
                }
                out.push_str("]},\"filterSet\":{}");
            }
            _ => {
                out.push_str("\"filterSet\":{\"items\":[{\"name\":\"vpc-id\",\"valueSet\":{\"items\":[{\"value\":\"vpc-0");
                push_chars(out, &mut self.rng, HEX, 16);
                out.push_str("\"}]}},{\"name\":\"tag:Environment\",\"valueSet\":{\"items\":[{\"value\":\"production\"}]}}]}");
            }
        }
        out.push_str("},\"responseElements\":null");
        let host = self.host("ec2");
        self.close(
            out,
            Tail {
                read_only: true,
                resources: "",
                data: false,
                host: Some(&host),
                uuid_request_id: true,
            },
        );
    }

    fn kms(&mut self, out: &mut String) {
        let name = self.rng.pick(&[
            "Decrypt",
            "Decrypt",
            "Decrypt",
            "GenerateDataKey",
            "Encrypt",
        ]);
        self.open(out);
        let (ip, agent) = if self.rng.chance(600) {
            let svc = self.rng.pick(&[
                "s3.amazonaws.com",
                "secretsmanager.amazonaws.com",
                "lambda.amazonaws.com",
            ]);
            Self::aws_service(out, svc);
            (Ip::Service(svc), svc)
        } else {
            (self.any_caller(out), UA_BOTO)
        };
        self.middle(out, "kms.amazonaws.com", name, ip, agent, None);
        let key = {
            let mut k = format!("arn:aws:kms:{}:{}:key/", self.region, self.acct);
            push_uuid(&mut k, &mut self.rng);
            k
        };
        let bucket = format!("acme-{}-{}", self.rng.pick(BUCKETS), self.acct);
        put!(
            out,
            ",\"requestParameters\":{{\"encryptionContext\":{{\"aws:s3:arn\":\"arn:aws:s3:::{bucket}\"}},\"encryptionAlgorithm\":\"SYMMETRIC_DEFAULT\"{}}},\"responseElements\":null",
            if name == "GenerateDataKey" { ",\"keySpec\":\"AES_256\"" } else { "" }
        );
        let resources = format!(
            "[{{\"accountId\":\"{}\",\"type\":\"AWS::KMS::Key\",\"ARN\":\"{key}\"}}]",
            self.acct
        );
        let host = self.host("kms");
        let host = if matches!(ip, Ip::Service(_)) {
            None
        } else {
            Some(host.as_str())
        };
        self.close(
            out,
            Tail {
                read_only: true,
                resources: &resources,
                data: false,
                host,
                uuid_request_id: true,
            },
        );
    }

    fn assume_role(&mut self, out: &mut String) {
        self.open(out);
        let (ip, agent) = if self.rng.chance(500) {
            let svc = self.rng.pick(&[
                "lambda.amazonaws.com",
                "ecs-tasks.amazonaws.com",
                "ec2.amazonaws.com",
            ]);
            Self::aws_service(out, svc);
            (Ip::Service(svc), svc)
        } else {
            (self.any_caller(out), UA_BOTO)
        };
        self.middle(out, "sts.amazonaws.com", "AssumeRole", ip, agent, None);
        let role = self.rng.pick(SERVICE_ROLES);
        let mut session = String::from("botocore-session-");
        put!(session, "{}", 1_790_000_000 + self.rng.below(1_000_000));
        let role_arn = format!("arn:aws:iam::{}:role/{role}", self.acct);
        put!(out, ",\"requestParameters\":{{\"roleArn\":\"{role_arn}\",\"roleSessionName\":\"{session}\"}},\"responseElements\":{{\"credentials\":{{\"accessKeyId\":\"");
        push_key(out, &mut self.rng, "ASIA");
        out.push_str("\",\"sessionToken\":\"IQoJb3JpZ2luX2VjE");
        push_chars(out, &mut self.rng, BASE64, 420);
        out.push_str("\",\"expiration\":\"Oct 1, 2026, 1:00:00 PM\"},\"assumedRoleUser\":{\"assumedRoleId\":\"AROA");
        push_chars(out, &mut self.rng, BASE32, 17);
        put!(
            out,
            ":{session}\",\"arn\":\"arn:aws:sts::{}:assumed-role/{role}/{session}\"}}}}",
            self.acct
        );
        let resources = format!(
            "[{{\"accountId\":\"{a}\",\"type\":\"AWS::IAM::Role\",\"ARN\":\"{role_arn}\"}}]",
            a = self.acct
        );
        let host = self.host("sts");
        self.close(
            out,
            Tail {
                read_only: true,
                resources: &resources,
                data: false,
                host: Some(&host),
                uuid_request_id: true,
            },
        );
    }

    fn caller_identity(&mut self, out: &mut String) {
        self.open(out);
        let ip = self.any_caller(out);
        self.middle(
            out,
            "sts.amazonaws.com",
            "GetCallerIdentity",
            ip,
            UA_CLI,
            None,
        );
        out.push_str(",\"requestParameters\":null,\"responseElements\":null");
        let host = self.host("sts");
        self.close(
            out,
            Tail {
                read_only: true,
                resources: "",
                data: false,
                host: Some(&host),
                uuid_request_id: true,
            },
        );
    }

    fn logs(&mut self, out: &mut String) {
        let name = self.rng.pick(&[
            "CreateLogStream",
            "DescribeLogGroups",
            "PutRetentionPolicy",
            "FilterLogEvents",
        ]);
        self.open(out);
        let ip = self.any_caller(out);
        self.middle(out, "logs.amazonaws.com", name, ip, UA_BOTO, None);
        let group = format!(
            "/aws/lambda/{}-{}",
            self.rng.pick(SERVICE_ROLES),
            self.rng.pick(&["prod", "staging"])
        );
        match name {
            "CreateLogStream" => {
                put!(out, ",\"requestParameters\":{{\"logGroupName\":\"{group}\",\"logStreamName\":\"2026/10/01/[$LATEST]");
                push_chars(out, &mut self.rng, HEX, 32);
                out.push_str("\"}");
            }
            "DescribeLogGroups" => out.push_str(",\"requestParameters\":{\"logGroupNamePrefix\":\"/aws/lambda/\",\"limit\":50}"),
            "PutRetentionPolicy" => put!(out, ",\"requestParameters\":{{\"logGroupName\":\"{group}\",\"retentionInDays\":30}}"),
            _ => put!(out, ",\"requestParameters\":{{\"logGroupName\":\"{group}\",\"startTime\":1790812800000,\"filterPattern\":\"ERROR\",\"interleaved\":true}}"),
        }
        out.push_str(",\"responseElements\":null");
        let host = self.host("logs");
        self.close(
            out,
            Tail {
                read_only: name != "CreateLogStream" && name != "PutRetentionPolicy",
                resources: "",
                data: false,
                host: Some(&host),
                uuid_request_id: true,
            },
        );
    }

    fn lambda(&mut self, out: &mut String) {
        let name = self.rng.pick(&[
            "Invoke",
            "Invoke",
            "GetFunction20150331v2",
            "ListFunctions20150331",
        ]);
        self.open(out);
        let ip = self.any_caller(out);
        self.middle(out, "lambda.amazonaws.com", name, ip, UA_BOTO, None);
        let func = format!(
            "arn:aws:lambda:{}:{}:function:{}",
            self.region,
            self.acct,
            self.rng.pick(SERVICE_ROLES)
        );
        if name.starts_with("List") {
            out.push_str(",\"requestParameters\":{\"maxItems\":50},\"responseElements\":null");
        } else {
            put!(
                out,
                ",\"requestParameters\":{{\"functionName\":\"{func}\"}},\"responseElements\":null"
            );
        }
        let data = name == "Invoke";
        let resources = if data {
            format!(
                "[{{\"accountId\":\"{}\",\"type\":\"AWS::Lambda::Function\",\"ARN\":\"{func}\"}}]",
                self.acct
            )
        } else {
            String::new()
        };
        if data {
            out.push_str(",\"additionalEventData\":{\"functionVersion\":\"");
            out.push_str(&func);
            out.push_str(":$LATEST\"}");
        }
        let host = self.host("lambda");
        self.close(
            out,
            Tail {
                read_only: !data,
                resources: &resources,
                data,
                host: Some(&host),
                uuid_request_id: true,
            },
        );
    }

    fn dynamo(&mut self, out: &mut String) {
        let name = self
            .rng
            .pick(&["GetItem", "Query", "PutItem", "DescribeTable"]);
        self.open(out);
        let ip = self.any_caller(out);
        self.middle(out, "dynamodb.amazonaws.com", name, ip, UA_SDK_GO, None);
        let table = self
            .rng
            .pick(&["orders", "sessions", "feature-flags", "audit"]);
        if name == "DescribeTable" {
            put!(out, ",\"requestParameters\":{{\"tableName\":\"{table}\"}}");
        } else {
            put!(out, ",\"requestParameters\":{{\"tableName\":\"{table}\",\"key\":{{\"pk\":\"HIDDEN_DUE_TO_SECURITY_REASONS\"}},\"consistentRead\":false}}");
        }
        out.push_str(",\"responseElements\":null");
        let resources = format!("[{{\"accountId\":\"{a}\",\"type\":\"AWS::DynamoDB::Table\",\"ARN\":\"arn:aws:dynamodb:{}:{a}:table/{table}\"}}]", self.region, a = self.acct);
        let host = self.host("dynamodb");
        self.close(
            out,
            Tail {
                read_only: name != "PutItem",
                resources: &resources,
                data: name != "DescribeTable",
                host: Some(&host),
                uuid_request_id: false,
            },
        );
    }

    fn ssm(&mut self, out: &mut String) {
        let secrets = self.rng.chance(400);
        self.open(out);
        let ip = self.any_caller(out);
        let (source, name) = if secrets {
            ("secretsmanager.amazonaws.com", "GetSecretValue")
        } else {
            (
                "ssm.amazonaws.com",
                self.rng
                    .pick(&["GetParameter", "GetParameters", "GetParametersByPath"]),
            )
        };
        self.middle(out, source, name, ip, UA_BOTO, None);
        let app = self.rng.pick(SERVICE_ROLES);
        if secrets {
            put!(out, ",\"requestParameters\":{{\"secretId\":\"arn:aws:secretsmanager:{}:{}:secret:{app}/db-", self.region, self.acct);
            push_chars(out, &mut self.rng, ALNUM, 6);
            out.push_str("\"},\"responseElements\":null");
        } else {
            put!(out, ",\"requestParameters\":{{\"name\":\"/{app}/prod/config\",\"withDecryption\":true}},\"responseElements\":null");
        }
        let host = self.host(if secrets { "secretsmanager" } else { "ssm" });
        self.close(
            out,
            Tail {
                read_only: true,
                resources: "",
                data: false,
                host: Some(&host),
                uuid_request_id: true,
            },
        );
    }

    fn iam_read(&mut self, out: &mut String) {
        let name = self.rng.pick(&[
            "GetRole",
            "ListRolePolicies",
            "ListAttachedRolePolicies",
            "GetPolicyVersion",
            "ListRoles",
        ]);
        self.open(out);
        let ip = if self.rng.chance(500) {
            self.iam_user(out);
            Ip::Public
        } else {
            self.service_role(out);
            Ip::Private
        };
        // IAM is global: its events are logged in us-east-1
        let region = self.region;
        self.region = "us-east-1";
        self.middle(out, "iam.amazonaws.com", name, ip, UA_TERRAFORM, None);
        self.region = region;
        let role = self.rng.pick(GITHUB_ROLES);
        match name {
            "ListRoles" => out.push_str(",\"requestParameters\":{\"maxItems\":100}"),
            "GetPolicyVersion" => put!(out, ",\"requestParameters\":{{\"policyArn\":\"arn:aws:iam::{}:policy/{role}-ecr\",\"versionId\":\"v3\"}}", self.acct),
            _ => put!(out, ",\"requestParameters\":{{\"roleName\":\"{role}\"}}"),
        }
        out.push_str(",\"responseElements\":null");
        self.close(
            out,
            Tail {
                read_only: true,
                resources: "",
                data: false,
                host: Some("iam.amazonaws.com"),
                uuid_request_id: true,
            },
        );
    }

    /// Access denied for a service role session, outside ECR and web identity.
    fn role_denied(&mut self, out: &mut String) {
        self.counts.role_denials_other += 1;
        let (source, name, code) = self.rng.pick(&[
            (
                "ec2.amazonaws.com",
                "RunInstances",
                "Client.UnauthorizedOperation",
            ),
            ("s3.amazonaws.com", "PutObject", "AccessDenied"),
            (
                "secretsmanager.amazonaws.com",
                "GetSecretValue",
                "AccessDeniedException",
            ),
            ("sts.amazonaws.com", "AssumeRole", "AccessDenied"),
        ]);
        self.open(out);
        let role = self.service_role(out);
        let caller = format!("arn:aws:sts::{}:assumed-role/{role}/x", self.acct);
        let service = source.split('.').next().unwrap_or_default();
        let message = if code == "Client.UnauthorizedOperation" {
            let mut m = String::from("You are not authorized to perform this operation. Encoded authorization failure message: ");
            push_chars(&mut m, &mut self.rng, ALNUM, 600);
            m
        } else {
            format!("User: {caller} is not authorized to perform: {service}:{name} because no identity-based policy allows the {service}:{name} action")
        };
        self.middle(
            out,
            source,
            name,
            Ip::Private,
            UA_BOTO,
            Some((code, &message)),
        );
        out.push_str(",\"requestParameters\":{\"resource\":\"denied\"},\"responseElements\":null");
        let host = self.host(service);
        self.close(
            out,
            Tail {
                read_only: false,
                resources: "",
                data: false,
                host: Some(&host),
                uuid_request_id: true,
            },
        );
    }

    /// Errors that are not denials (trailwhy decodes them because of `errorCode`, then drops them).
    fn other_error(&mut self, out: &mut String) {
        self.counts.other_errors += 1;
        match self.rng.below(3) {
            0 => self.s3(
                out,
                Some(("NoSuchKey", "The specified key does not exist.")),
            ),
            1 => {
                self.open(out);
                let ip = self.any_caller(out);
                self.middle(
                    out,
                    "dynamodb.amazonaws.com",
                    "Query",
                    ip,
                    UA_SDK_GO,
                    Some(("ThrottlingException", "Rate exceeded")),
                );
                out.push_str(
                    ",\"requestParameters\":{\"tableName\":\"orders\"},\"responseElements\":null",
                );
                let host = self.host("dynamodb");
                self.close(
                    out,
                    Tail {
                        read_only: true,
                        resources: "",
                        data: false,
                        host: Some(&host),
                        uuid_request_id: true,
                    },
                );
            }
            _ => {
                self.open(out);
                let ip = self.any_caller(out);
                self.middle(
                    out,
                    "logs.amazonaws.com",
                    "CreateLogGroup",
                    ip,
                    UA_BOTO,
                    Some((
                        "ResourceAlreadyExistsException",
                        "The specified log group already exists",
                    )),
                );
                out.push_str(",\"requestParameters\":{\"logGroupName\":\"/aws/lambda/app-api-prod\"},\"responseElements\":null");
                let host = self.host("logs");
                self.close(
                    out,
                    Tail {
                        read_only: false,
                        resources: "",
                        data: false,
                        host: Some(&host),
                        uuid_request_id: true,
                    },
                );
            }
        }
    }

    /// A large record: a CloudFormation template or an ECS task definition (5–80 KB).
    fn large(&mut self, out: &mut String) {
        self.counts.large_records += 1;
        self.open(out);
        let ip = self.any_caller(out);
        if self.rng.chance(600) {
            self.middle(
                out,
                "cloudformation.amazonaws.com",
                "CreateChangeSet",
                ip,
                UA_TERRAFORM,
                None,
            );
            let stack = format!(
                "{}-{}",
                self.rng.pick(SERVICE_ROLES),
                self.rng.pick(&["prod", "staging"])
            );
            put!(
                out,
                ",\"requestParameters\":{{\"stackName\":\"{stack}\",\"changeSetName\":\"cs-"
            );
            push_chars(out, &mut self.rng, HEX, 12);
            out.push_str("\",\"changeSetType\":\"UPDATE\",\"capabilities\":[\"CAPABILITY_IAM\"],\"templateBody\":\"");
            let template = self.template();
            push_escaped(out, &template);
            out.push_str("\"},\"responseElements\":{\"id\":\"arn:aws:cloudformation:");
            put!(out, "{}:{}:changeSet/cs/", self.region, self.acct);
            push_uuid(out, &mut self.rng);
            out.push_str("\"}");
            let host = self.host("cloudformation");
            self.close(
                out,
                Tail {
                    read_only: false,
                    resources: "",
                    data: false,
                    host: Some(&host),
                    uuid_request_id: true,
                },
            );
        } else {
            self.middle(
                out,
                "ecs.amazonaws.com",
                "RegisterTaskDefinition",
                ip,
                UA_TERRAFORM,
                None,
            );
            put!(out, ",\"requestParameters\":{{\"family\":\"{}\",\"networkMode\":\"awsvpc\",\"containerDefinitions\":[", self.rng.pick(SERVICE_ROLES));
            for c in 0..self.rng.range(2, 12) {
                if c > 0 {
                    out.push(',');
                }
                put!(
                    out,
                    "{{\"name\":\"container-{c}\",\"image\":\"{}.dkr.ecr.{}.amazonaws.com/{}:",
                    self.acct,
                    self.region,
                    self.rng.pick(ECR_REPOS)
                );
                push_chars(out, &mut self.rng, HEX, 12);
                out.push_str("\",\"cpu\":256,\"memory\":512,\"essential\":true,\"environment\":[");
                for e in 0..self.rng.range(8, 40) {
                    if e > 0 {
                        out.push(',');
                    }
                    put!(out, "{{\"name\":\"SETTING_{e}\",\"value\":\"");
                    push_chars(out, &mut self.rng, ALNUM, 24);
                    out.push_str("\"}");
                }
                out.push_str("],\"logConfiguration\":{\"logDriver\":\"awslogs\",\"options\":{\"awslogs-group\":\"/ecs/app\",\"awslogs-region\":\"");
                out.push_str(self.region);
                out.push_str("\",\"awslogs-stream-prefix\":\"ecs\"}}}");
            }
            out.push_str("]},\"responseElements\":null");
            let host = self.host("ecs");
            self.close(
                out,
                Tail {
                    read_only: false,
                    resources: "",
                    data: false,
                    host: Some(&host),
                    uuid_request_id: true,
                },
            );
        }
    }

    fn template(&mut self) -> String {
        let mut t =
            String::from("{\n  \"AWSTemplateFormatVersion\": \"2010-09-09\",\n  \"Resources\": {");
        for r in 0..self.rng.range(15, 100) {
            if r > 0 {
                t.push(',');
            }
            put!(t, "\n    \"Queue{r}\": {{\n      \"Type\": \"AWS::SQS::Queue\",\n      \"Properties\": {{\n        \"QueueName\": \"q-");
            push_chars(&mut t, &mut self.rng, ALNUM, 10);
            put!(t, "\",\n        \"VisibilityTimeout\": {},\n        \"Tags\": [{{\"Key\": \"team\", \"Value\": \"platform\"}}]\n      }}\n    }}", self.rng.range(30, 900));
        }
        t.push_str("\n  }\n}");
        t
    }
}

#[derive(Debug, Clone, Copy)]
enum Ip {
    Public,
    Private,
    Service(&'static str),
}

/// The end of a record.
struct Tail<'a> {
    read_only: bool,
    /// A JSON array, or empty for none.
    resources: &'a str,
    data: bool,
    host: Option<&'a str>,
    uuid_request_id: bool,
}

// ---------------------------------------------------------------------------------------------
// Files

#[derive(Debug, Default, Clone, Copy)]
struct FileStats {
    counts: Counts,
    gz_bytes: u64,
    digests: u64,
    digest_bytes: u64,
}

impl FileStats {
    fn add(&mut self, o: &FileStats) {
        self.counts.add(&o.counts);
        self.gz_bytes += o.gz_bytes;
        self.digests += o.digests;
        self.digest_bytes += o.digest_bytes;
    }
}

fn compact_time(t: DateTime<Utc>, seconds: bool) -> String {
    let mut s = format!(
        "{:04}{:02}{:02}T{:02}{:02}",
        t.year(),
        t.month(),
        t.day(),
        t.hour(),
        t.minute()
    );
    if seconds {
        put!(s, "{:02}", t.second());
    }
    s.push('Z');
    s
}

fn day_dir(root: &Path, account: &Account, kind: &str, region: &str, t: DateTime<Utc>) -> PathBuf {
    root.join(format!(
        "AWSLogs/{}{}/{kind}/{region}/{:04}/{:02}/{:02}",
        account.org,
        account.id,
        t.year(),
        t.month(),
        t.day()
    ))
}

fn gzip(bytes: &[u8], level: u32) -> Result<Vec<u8>> {
    let mut enc = GzEncoder::new(
        Vec::with_capacity(bytes.len() / 6),
        flate2::Compression::new(level),
    );
    enc.write_all(bytes)?;
    Ok(enc.finish()?)
}

fn write_log_file(root: &Path, layout: &Layout, index: u64, level: u32) -> Result<FileStats> {
    let batch = layout.batch(index);
    let account = &ACCOUNTS[batch.account];
    let region = REGIONS[batch.region];
    let mut writer = Writer::new(layout, batch);
    let mut json = String::with_capacity(layout.records_per_batch as usize * 1600);
    json.push_str("{\"Records\":[");
    writer.write_batch(&mut json, true);
    json.push_str("]}");
    let gz = gzip(json.as_bytes(), level)?;
    let dir = day_dir(root, account, "CloudTrail", region, batch.delivery);
    fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    let mut name_rng = Rng::new(mix(&[layout.seed, index, 0x4a4e]));
    let mut suffix = String::new();
    push_chars(&mut suffix, &mut name_rng, ALNUM, 16);
    let name = format!(
        "{}_CloudTrail_{region}_{}_{suffix}.json.gz",
        account.id,
        compact_time(batch.delivery, false)
    );
    let path = dir.join(&name);
    fs::write(&path, &gz).with_context(|| format!("writing {}", path.display()))?;
    let mut stats = FileStats {
        counts: writer.counts,
        gz_bytes: gz.len() as u64,
        ..FileStats::default()
    };
    stats.counts.raw_bytes = json.len() as u64;
    if index % 29 == 0 {
        let digest = digest_json(
            account,
            region,
            &dir,
            &name,
            batch.delivery,
            &gz,
            &mut name_rng,
        );
        let gz_digest = gzip(digest.as_bytes(), level)?;
        let ddir = day_dir(root, account, "CloudTrail-Digest", region, batch.delivery);
        fs::create_dir_all(&ddir).with_context(|| format!("creating {}", ddir.display()))?;
        let dpath = ddir.join(format!(
            "{a}_CloudTrail-Digest_{region}_main-trail_{region}_{}.json.gz",
            compact_time(batch.delivery, true),
            a = account.id
        ));
        fs::write(&dpath, &gz_digest).with_context(|| format!("writing {}", dpath.display()))?;
        stats.digests = 1;
        stats.digest_bytes = gz_digest.len() as u64;
    }
    Ok(stats)
}

fn digest_json(
    account: &Account,
    region: &str,
    dir: &Path,
    name: &str,
    t: DateTime<Utc>,
    gz: &[u8],
    rng: &mut Rng,
) -> String {
    let mut d = String::new();
    let start = t - chrono::Duration::hours(1);
    put!(
        d,
        "{{\"awsAccountId\":\"{}\",\"digestStartTime\":\"",
        account.id
    );
    push_time(&mut d, start);
    d.push_str("\",\"digestEndTime\":\"");
    push_time(&mut d, t);
    // the object key: the directory below the bucket root, which starts at `AWSLogs`
    let key: Vec<String> = dir
        .components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .skip_while(|c| c != "AWSLogs")
        .collect();
    put!(
        d,
        "\",\"digestS3Bucket\":\"trail-{a}\",\"digestPublicKeyFingerprint\":\"",
        a = account.id
    );
    push_chars(&mut d, rng, HEX, 32);
    put!(d, "\",\"digestSignatureAlgorithm\":\"SHA256withRSA\",\"logFiles\":[{{\"s3Bucket\":\"trail-{}\",\"s3Object\":\"{}/{name}\",\"hashValue\":\"", account.id, key.join("/"));
    push_chars(&mut d, rng, HEX, 64);
    put!(
        d,
        "\",\"hashAlgorithm\":\"SHA-256\",\"size\":{},\"region\":\"{region}\"}}]}}",
        gz.len()
    );
    d
}

/// One file of about `mb` MB: batches of the first account and region, streamed to gzip.
fn write_giant_file(
    root: &Path,
    seed: u64,
    records_per_batch: u64,
    mb: u64,
    level: u32,
) -> Result<(FileStats, PathBuf)> {
    let layout = Layout {
        accounts: 1,
        regions: 1,
        records_per_batch,
        seed,
        mix: Mix::Standard,
    };
    let account = &ACCOUNTS[0];
    let region = REGIONS[0];
    let t = corpus_start();
    let dir = day_dir(root, account, "CloudTrail", region, t);
    fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    let path = dir.join(format!(
        "{}_CloudTrail_{region}_{}_giant{mb}MB.json.gz",
        account.id,
        compact_time(t, false)
    ));
    let file = File::create(&path).with_context(|| format!("creating {}", path.display()))?;
    let mut enc = GzEncoder::new(BufWriter::new(file), flate2::Compression::new(level));
    let target = mb * 1_000_000;
    let mut counts = Counts::default();
    let mut chunk = String::new();
    enc.write_all(b"{\"Records\":[")?;
    let mut raw = 12u64;
    let mut index = 0u64;
    while raw < target {
        chunk.clear();
        let mut writer = Writer::new(&layout, layout.batch(index));
        writer.write_batch(&mut chunk, index == 0);
        enc.write_all(chunk.as_bytes())?;
        raw += chunk.len() as u64;
        counts.add(&writer.counts);
        index += 1;
    }
    enc.write_all(b"]}")?;
    raw += 2;
    let out = enc.finish()?;
    out.into_inner().map_err(|e| e.into_error())?;
    let gz_bytes = fs::metadata(&path)?.len();
    counts.raw_bytes = raw;
    Ok((
        FileStats {
            counts,
            gz_bytes,
            digests: 0,
            digest_bytes: 0,
        },
        path,
    ))
}

/// Writes the corpus `args` describe into `args.out` and its `manifest.json`; returns the
/// manifest's text.
pub fn run(args: &Args) -> Result<String> {
    if args.records_per_file == 0 {
        bail!("--records-per-file must be at least 1");
    }
    if args.level > 9 {
        bail!("--level must be 0..=9");
    }
    let logs = args.out.join("AWSLogs");
    if logs.exists() {
        bail!(
            "{} already exists: remove it or choose another --out",
            logs.display()
        );
    }
    fs::create_dir_all(&args.out).with_context(|| format!("creating {}", args.out.display()))?;
    let started = Instant::now();
    let (stats, files, giant) = match args.giant_mb {
        Some(mb) => {
            let (stats, path) =
                write_giant_file(&args.out, args.seed, args.records_per_file, mb, args.level)?;
            (stats, 1, Some(path))
        }
        None => {
            let layout = Layout {
                accounts: ACCOUNTS.len() as u64,
                regions: REGIONS.len() as u64,
                records_per_batch: args.records_per_file,
                seed: args.seed,
                mix: args.mix,
            };
            let parts = (0..args.files)
                .into_par_iter()
                .map(|i| write_log_file(&args.out, &layout, i, args.level))
                .collect::<Result<Vec<FileStats>>>()?;
            let mut total = FileStats::default();
            for p in &parts {
                total.add(p);
            }
            (total, args.files, None)
        }
    };
    let c = &stats.counts;
    let manifest = serde_json::json!({
        "generator": "gen-corpus",
        "seed": args.seed,
        "files": files,
        "records_per_file": args.records_per_file,
        "giant_mb": args.giant_mb,
        "giant_file": giant.as_ref().map(|p| p.display().to_string()),
        "gzip_level": args.level,
        "mix": format!("{:?}", args.mix),
        "records": c.records,
        "bytes_raw": c.raw_bytes,
        "bytes_gz": stats.gz_bytes,
        "compression_ratio": (c.raw_bytes as f64 / stats.gz_bytes.max(1) as f64 * 100.0).round() / 100.0,
        "mean_record_bytes": c.raw_bytes / c.records.max(1),
        "digest_files": stats.digests,
        "digest_bytes_gz": stats.digest_bytes,
        "web_identity_events": c.web_identity,
        "web_identity_failures": c.web_identity_failures,
        "ecr_events": c.ecr,
        "ecr_failures": c.ecr_failures,
        "ecr_events_without_assumption_in_corpus": c.ecr_unjoined_sessions,
        "role_denials_other": c.role_denials_other,
        "other_errors": c.other_errors,
        "large_records": c.large_records,
        "jq_expected_lines": c.web_identity_failures + c.ecr_failures,
        "seconds": (started.elapsed().as_secs_f64() * 10.0).round() / 10.0,
    });
    let text = serde_json::to_string_pretty(&manifest)?;
    let path = args.out.join("manifest.json");
    fs::write(&path, format!("{text}\n")).with_context(|| format!("writing {}", path.display()))?;
    Ok(text)
}
