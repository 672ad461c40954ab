//! Cross-check helper for the iam-policy engine: a dev tool driven by
//! `scripts/crosscheck/run.sh` (see `scripts/crosscheck/README.md`), not part of `cargo test`.
//!
//! - `crosscheck gen N SEED [--wide]` prints N random but realistic authorization cases as NDJSON,
//!   one case a line, deterministic for a given `N`/`SEED` (case `i` depends only on `SEED` and
//!   `i`). Each case has the shape of a `"policies"` case in `tests/cases/` (`name`, `note`,
//!   `policies`, `request`) without `expect`, so a disagreement becomes a regression case by
//!   adding an `expect` block. By default values stay in the domain where AWS's documented
//!   semantics are unambiguous and both evaluators are meant to agree; `--wide` also generates the
//!   patterns listed as known differences in the README.
//! - `crosscheck eval FILE` reads such cases (`-` for stdin) and prints one
//!   `{"name": ..., "decision": "allow" | "implicit_deny" | "explicit_deny"}` line per case, as
//!   decided by [`iam_policy::authorize`] (or `{"name": ..., "error": ...}` when the case cannot
//!   be read).
//!
//! The random generator is a local SplitMix64; no dependency beyond the crate's own.

use std::fs::File;
use std::io::{self, BufRead, BufReader, BufWriter, Write};
use std::process::ExitCode;

use iam_policy::{
    authorize, AuthzInput, Context, ContextValue, Decision, Policy, PrincipalKind, Request,
    RequestPrincipal,
};
use serde_json::{json, Map, Value};

const USAGE: &str = "usage: crosscheck gen N SEED [--wide] | crosscheck eval FILE|-";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.first().map(String::as_str) {
        Some("gen") => run_gen(&args[1..]),
        Some("eval") => run_eval(&args[1..]),
        _ => Err(USAGE.to_owned()),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(msg) => {
            eprintln!("crosscheck: {msg}");
            ExitCode::from(2)
        }
    }
}

// ---------------------------------------------------------------------------------------------
// gen

fn run_gen(args: &[String]) -> Result<(), String> {
    let (n, seed, wide) = match args {
        [n, seed] => (n, seed, false),
        [n, seed, flag] if flag == "--wide" => (n, seed, true),
        _ => return Err(USAGE.to_owned()),
    };
    let n: u64 = n.parse().map_err(|_| format!("bad N {n:?}"))?;
    let seed: u64 = seed.parse().map_err(|_| format!("bad SEED {seed:?}"))?;
    let stdout = io::stdout();
    let mut out = BufWriter::new(stdout.lock());
    for i in 0..n {
        let case = Gen::new(seed, i, wide).case(format!("xcheck-{seed}-{i}"));
        writeln!(out, "{case}").map_err(|e| e.to_string())?;
    }
    out.flush().map_err(|e| e.to_string())
}

/// SplitMix64: tiny, fast, and good enough for test-case generation.
struct Rng(u64);

impl Rng {
    fn new(seed: u64, index: u64) -> Self {
        let mut r = Rng(seed ^ 0xA076_1D64_78BD_642F);
        let mix = r.next_u64() ^ index.wrapping_mul(0xE703_7ED1_A0B4_28DB);
        Rng(mix)
    }

    fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `0..n` (0 when `n` is 0).
    fn below(&mut self, n: usize) -> usize {
        if n == 0 {
            return 0;
        }
        (self.next_u64() % n as u64) as usize
    }

    /// Uniform in `lo..=hi`.
    fn range(&mut self, lo: usize, hi: usize) -> usize {
        lo + self.below(hi.saturating_sub(lo) + 1)
    }

    /// True with probability `percent`/100.
    fn chance(&mut self, percent: usize) -> bool {
        self.below(100) < percent
    }

    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }

    /// `k` distinct items (fewer when the slice is shorter), in random order.
    fn sample<T: Clone>(&mut self, items: &[T], k: usize) -> Vec<T> {
        let mut pool: Vec<T> = items.to_vec();
        let mut out = Vec::new();
        while out.len() < k && !pool.is_empty() {
            let i = self.below(pool.len());
            out.push(pool.swap_remove(i));
        }
        out
    }
}

const HOME: &str = "111122223333";
const OTHER: &str = "444455556666";
const GH_PROVIDER: &str =
    "arn:aws:iam::111122223333:oidc-provider/token.actions.githubusercontent.com";
const GH_SUB: &str = "token.actions.githubusercontent.com:sub";
const GH_AUD: &str = "token.actions.githubusercontent.com:aud";
const REGIONS: [&str; 2] = ["us-east-1", "eu-west-1"];

/// Who calls.
struct Caller {
    /// The principal ARN (or the OIDC provider ARN for a federated caller).
    arn: String,
    account: &'static str,
    /// IAM user name, for user callers.
    user: Option<&'static str>,
    /// The role behind an assumed-role session, with its path (`role/ci/gha-ecr-push`).
    role_arn: Option<String>,
    /// The session name of an assumed-role session.
    session: Option<&'static str>,
}

/// What is called.
struct Target {
    action: String,
    /// Resource ARN, or `*` for actions without resource-level permissions.
    arn: String,
    /// Other actions of the same service (for non-matching Action entries).
    siblings: &'static [&'static str],
    /// Whether the service has resource-based policies we generate (S3, ECR, SQS, Secrets
    /// Manager) and whether statements in it carry a `Resource` element.
    resource_policy: Option<ResourceElement>,
    /// Length of the resource part's leading resource-type segment (`repository/`); wildcards
    /// are only placed after it (see README, "wildcards in the resource type").
    product_len: usize,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum ResourceElement {
    Required,
    Optional,
    Absent,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    Identity,
    SameAccountResource,
    CrossAccount,
    WildcardOnly,
    GithubTrust,
}

impl Kind {
    fn name(self) -> &'static str {
        match self {
            Kind::Identity => "identity",
            Kind::SameAccountResource => "same-account-resource-policy",
            Kind::CrossAccount => "cross-account",
            Kind::WildcardOnly => "wildcard-only-action",
            Kind::GithubTrust => "github-oidc-trust",
        }
    }
}

/// Generation state for one case.
struct Gen {
    rng: Rng,
    wide: bool,
    /// Whether the case has a permissions boundary (resource-policy principals depend on it).
    boundary: bool,
    kind: Kind,
    /// Whether the request is a role assumption (conditions then favour `sts:RoleSessionName`).
    assumes_role: bool,
}

impl Gen {
    fn new(seed: u64, index: u64, wide: bool) -> Self {
        Gen {
            rng: Rng::new(seed, index),
            wide,
            boundary: false,
            kind: Kind::Identity,
            assumes_role: false,
        }
    }

    fn case(mut self, name: String) -> Value {
        self.kind = match self.rng.below(100) {
            0..=44 => Kind::Identity,
            45..=64 => Kind::SameAccountResource,
            65..=77 => Kind::CrossAccount,
            78..=87 => Kind::WildcardOnly,
            _ => Kind::GithubTrust,
        };
        let kind = self.kind;
        if kind == Kind::GithubTrust {
            return self.trust_case(name);
        }
        let caller_account = if kind == Kind::CrossAccount {
            OTHER
        } else {
            HOME
        };
        let caller = self.caller(caller_account);
        let target = if kind == Kind::WildcardOnly {
            self.wildcard_target()
        } else {
            self.target(kind != Kind::Identity)
        };
        self.assumes_role = target.action == "sts:AssumeRole";
        let mut context = self.context(&caller, &target);
        if target.arn.starts_with("arn:aws:s3:::")
            && (kind == Kind::CrossAccount || self.rng.chance(30))
        {
            // S3 ARNs carry no account: say whose bucket it is.
            context.insert("aws:ResourceAccount".into(), json!(HOME));
        }

        let mut policies = Map::new();
        self.boundary = kind != Kind::CrossAccount && self.rng.chance(22);
        let n_identity = match self.rng.below(100) {
            0..=7 => 0,
            8..=79 => 1,
            80..=93 => 2,
            _ => 3,
        };
        let identity: Vec<Value> = (0..n_identity)
            .map(|_| self.identity_policy(&target))
            .collect();
        policies.insert("identity".into(), Value::Array(identity));
        if matches!(kind, Kind::SameAccountResource | Kind::CrossAccount)
            && !(kind == Kind::CrossAccount && self.rng.chance(8))
        {
            let rp = self.resource_policy(&target, &caller);
            policies.insert("resource".into(), rp);
        }
        if self.boundary {
            let pb = self.boundary_policy(&target);
            policies.insert("permissions_boundary".into(), pb);
        }
        if self.rng.chance(25) {
            let levels = self.rng.range(1, 3);
            let scps: Vec<Value> = (0..levels).map(|_| self.scp_level(&target)).collect();
            policies.insert("scps".into(), Value::Array(scps));
        }
        json!({
            "name": name,
            "note": format!("kind={}", kind.name()),
            "policies": policies,
            "request": {
                "principal": caller.arn,
                "action": target.action,
                "resource": target.arn,
                "context": context,
            }
        })
    }

    // ---- callers, targets, context ------------------------------------------------------------

    fn caller(&mut self, account: &'static str) -> Caller {
        if self.rng.chance(45) {
            let user = *self.rng.pick(&["alice", "bob", "ci-bot"]);
            Caller {
                arn: format!("arn:aws:iam::{account}:user/{user}"),
                account,
                user: Some(user),
                role_arn: None,
                session: None,
            }
        } else {
            // (path, name): a session's ARN has no path, the role's ARN (aws:PrincipalArn) has
            let (path, role) =
                *self
                    .rng
                    .pick(&[("", "deploy"), ("ci/", "gha-ecr-push"), ("", "readonly")]);
            let session = *self.rng.pick(&["gh-run-4711", "alice", "i-0abc123"]);
            Caller {
                arn: format!("arn:aws:sts::{account}:assumed-role/{role}/{session}"),
                account,
                user: None,
                role_arn: Some(format!("arn:aws:iam::{account}:role/{path}{role}")),
                session: Some(session),
            }
        }
    }

    fn target(&mut self, with_resource_policy: bool) -> Target {
        let region = *self.rng.pick(&REGIONS);
        let service = if with_resource_policy {
            self.rng.below(5)
        } else {
            self.rng.below(8)
        };
        match service {
            0 => {
                const S3_OBJECT: &[&str] = &[
                    "s3:GetObject",
                    "s3:PutObject",
                    "s3:DeleteObject",
                    "s3:GetObjectTagging",
                ];
                let bucket = *self
                    .rng
                    .pick(&["app-artifacts", "team-data", "logs-archive"]);
                let key = *self.rng.pick(&[
                    "home/alice/notes.txt",
                    "home/bob/todo.txt",
                    "platform/build/app.tar.gz",
                    "data/report:2024.csv",
                    "shared/readme.md",
                    "build/1.2/app.tar.gz",
                ]);
                Target {
                    action: self.rng.pick(S3_OBJECT).to_string(),
                    arn: format!("arn:aws:s3:::{bucket}/{key}"),
                    siblings: S3_OBJECT,
                    resource_policy: Some(ResourceElement::Required),
                    product_len: 0,
                }
            }
            1 => {
                let bucket = *self.rng.pick(&["app-artifacts", "team-data"]);
                Target {
                    action: "s3:ListBucket".into(),
                    arn: format!("arn:aws:s3:::{bucket}"),
                    siblings: &["s3:ListBucketVersions", "s3:GetObject"],
                    resource_policy: Some(ResourceElement::Required),
                    product_len: 0,
                }
            }
            2 => {
                const ECR: &[&str] = &[
                    "ecr:BatchGetImage",
                    "ecr:GetDownloadUrlForLayer",
                    "ecr:BatchCheckLayerAvailability",
                    "ecr:InitiateLayerUpload",
                    "ecr:UploadLayerPart",
                    "ecr:CompleteLayerUpload",
                    "ecr:PutImage",
                    "ecr:DescribeImages",
                ];
                let repo = *self
                    .rng
                    .pick(&["app", "platform/app", "data/etl", "base/python"]);
                Target {
                    action: self.rng.pick(ECR).to_string(),
                    arn: format!("arn:aws:ecr:{region}:{HOME}:repository/{repo}"),
                    siblings: ECR,
                    resource_policy: Some(ResourceElement::Absent),
                    product_len: "repository/".len(),
                }
            }
            3 => {
                const SQS: &[&str] =
                    &["sqs:SendMessage", "sqs:ReceiveMessage", "sqs:DeleteMessage"];
                let queue = *self.rng.pick(&["jobs", "jobs-dlq", "events.fifo"]);
                Target {
                    action: self.rng.pick(SQS).to_string(),
                    arn: format!("arn:aws:sqs:{region}:{HOME}:{queue}"),
                    siblings: SQS,
                    resource_policy: Some(ResourceElement::Optional),
                    product_len: 0,
                }
            }
            4 => {
                const SM: &[&str] = &[
                    "secretsmanager:GetSecretValue",
                    "secretsmanager:DescribeSecret",
                ];
                let secret = *self.rng.pick(&["prod/db-AbC123", "dev/api-Zx9Yw8"]);
                Target {
                    action: self.rng.pick(SM).to_string(),
                    arn: format!("arn:aws:secretsmanager:{region}:{HOME}:secret:{secret}"),
                    siblings: SM,
                    resource_policy: Some(ResourceElement::Optional),
                    product_len: "secret:".len(),
                }
            }
            5 => {
                let group = *self.rng.pick(&["/aws/app", "/aws/lambda/f"]);
                let stream = *self.rng.pick(&["web-1", "2024/06/01/[$LATEST]abc"]);
                Target {
                    action: "logs:PutLogEvents".into(),
                    arn: format!(
                        "arn:aws:logs:{region}:{HOME}:log-group:{group}:log-stream:{stream}"
                    ),
                    siblings: &["logs:CreateLogStream", "logs:GetLogEvents"],
                    resource_policy: None,
                    product_len: "log-group:".len(),
                }
            }
            6 => {
                // role chaining: the request carries sts:RoleSessionName and session tags
                const STS: &[&str] = &["sts:AssumeRole", "sts:TagSession"];
                let role = *self.rng.pick(&["target-role", "ci/deployer"]);
                Target {
                    action: self.rng.pick(STS).to_string(),
                    arn: format!("arn:aws:iam::{HOME}:role/{role}"),
                    siblings: STS,
                    resource_policy: None,
                    product_len: "role/".len(),
                }
            }
            _ => {
                const DDB: &[&str] = &["dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:Query"];
                let table = *self.rng.pick(&["Orders", "Orders-v2"]);
                Target {
                    action: self.rng.pick(DDB).to_string(),
                    arn: format!("arn:aws:dynamodb:{region}:{HOME}:table/{table}"),
                    siblings: DDB,
                    resource_policy: None,
                    product_len: "table/".len(),
                }
            }
        }
    }

    fn wildcard_target(&mut self) -> Target {
        if self.rng.chance(60) {
            Target {
                action: "ecr:GetAuthorizationToken".into(),
                arn: "*".into(),
                siblings: &["ecr:BatchGetImage", "ecr:PutImage"],
                resource_policy: None,
                product_len: 0,
            }
        } else {
            Target {
                action: "s3:ListAllMyBuckets".into(),
                arn: "*".into(),
                siblings: &["s3:ListBucket", "s3:GetObject"],
                resource_policy: None,
                product_len: 0,
            }
        }
    }

    /// A request context with global condition keys as AWS builds them for the caller and the
    /// target: each key present with a realistic value, or left out as AWS leaves it out for a
    /// request without it (no `aws:SourceIp` through a VPC endpoint, no `aws:username` for a
    /// role session, no `aws:CalledVia` without a service in between). Principal keys are left
    /// out at random too, so that conditions on absent keys are exercised.
    fn context(&mut self, caller: &Caller, target: &Target) -> Map<String, Value> {
        let mut c = Map::new();
        let r = &mut self.rng;
        let account = caller.account;
        // the principal
        if let Some(user) = caller.user {
            if r.chance(85) {
                c.insert("aws:username".into(), json!(user));
            }
            if r.chance(60) {
                c.insert("aws:userid".into(), json!("AIDAEXAMPLEUSERID"));
            }
            if r.chance(80) {
                c.insert("aws:PrincipalArn".into(), json!(caller.arn));
            }
            if r.chance(70) {
                c.insert("aws:PrincipalType".into(), json!("User"));
            }
        }
        if let Some(role_arn) = &caller.role_arn {
            // aws:PrincipalArn of a role session is the role's ARN with its path
            if r.chance(80) {
                c.insert("aws:PrincipalArn".into(), json!(role_arn));
            }
            if let (Some(session), true) = (caller.session, r.chance(60)) {
                c.insert(
                    "aws:userid".into(),
                    json!(format!("AROAEXAMPLEROLEID:{session}")),
                );
            }
            if r.chance(70) {
                c.insert("aws:PrincipalType".into(), json!("AssumedRole"));
            }
            if r.chance(60) {
                let t = *r.pick(&["2024-06-01T11:00:00Z", "2024-05-31T23:00:00Z"]);
                c.insert("aws:TokenIssueTime".into(), json!(t));
            }
            if role_arn.ends_with("/gha-ecr-push") && r.chance(70) {
                c.insert(
                    "aws:FederatedProvider".into(),
                    json!(format!(
                        "arn:aws:iam::{account}:oidc-provider/token.actions.githubusercontent.com"
                    )),
                );
            }
            if r.chance(25) {
                let s = *r.pick(&["alice", "alice@example.com"]);
                c.insert("aws:SourceIdentity".into(), json!(s));
            }
        }
        if r.chance(75) {
            c.insert("aws:PrincipalAccount".into(), json!(account));
        }
        if r.chance(50) {
            c.insert("aws:PrincipalIsAWSService".into(), json!("false"));
        }
        // the network path: the internet (aws:SourceIp), a VPC endpoint (aws:SourceVpce and
        // aws:VpcSourceIp, never aws:SourceIp), or no address recorded
        match r.below(100) {
            0..=54 => {
                let ip = *r.pick(&[
                    "203.0.113.5",
                    "198.51.100.7",
                    "10.1.2.3",
                    "192.0.2.200",
                    "2001:db8::1",
                ]);
                c.insert("aws:SourceIp".into(), json!(ip));
            }
            55..=79 => {
                let vpce = *r.pick(&["vpce-1a2b3c4d", "vpce-0f9e8d7c"]);
                c.insert("aws:SourceVpce".into(), json!(vpce));
                if r.chance(85) {
                    let ip = *r.pick(&["10.1.2.3", "10.20.30.40", "172.31.5.9"]);
                    c.insert("aws:VpcSourceIp".into(), json!(ip));
                }
            }
            _ => {}
        }
        if r.chance(70) {
            c.insert(
                "aws:SecureTransport".into(),
                json!(*r.pick(&["true", "true", "false"])),
            );
        }
        if r.chance(40) {
            c.insert(
                "aws:MultiFactorAuthPresent".into(),
                json!(*r.pick(&["true", "false"])),
            );
        }
        if r.chance(40) {
            let age = *r.pick(&["120", "3600", "7200", "90000", "3599.5"]);
            c.insert("aws:MultiFactorAuthAge".into(), json!(age));
        }
        if r.chance(75) {
            let t = *r.pick(&[
                "2024-06-01T12:00:00Z",
                "2023-12-31T23:59:59Z",
                "2025-03-15T08:30:00Z",
                "2024-06-01T12:00:00.250Z",
            ]);
            c.insert("aws:CurrentTime".into(), json!(t));
        }
        if r.chance(50) {
            let t = *r.pick(&["1717243200", "1704067199", "1742027400"]);
            c.insert("aws:EpochTime".into(), json!(t));
        }
        if r.chance(60) {
            let team = *r.pick(&["platform", "data", "Platform", "security", "plat*", "${x}"]);
            c.insert("aws:PrincipalTag/team".into(), json!(team));
        }
        if r.chance(40) {
            c.insert(
                "aws:PrincipalTag/env".into(),
                json!(*r.pick(&["prod", "dev"])),
            );
        }
        if r.chance(70) {
            let region = if target.arn.contains(":us-east-1:") || target.arn.contains(":iam:") {
                "us-east-1"
            } else if target.arn.contains(":eu-west-1:") {
                "eu-west-1"
            } else {
                *r.pick(&REGIONS)
            };
            c.insert("aws:RequestedRegion".into(), json!(region));
        }
        if r.chance(40) {
            let org = *r.pick(&["o-a1b2c3d4e5", "o-zzzzzzzzzz"]);
            c.insert("aws:PrincipalOrgID".into(), json!(org));
        }
        if r.chance(20) {
            let arn = *r.pick(&[
                "arn:aws:cloudformation:us-east-1:111122223333:stack/app/abc",
                "arn:aws:lambda:eu-west-1:444455556666:function:f",
            ]);
            c.insert("aws:SourceArn".into(), json!(arn));
        }
        // the resource: its account (from the ARN) and, where the service has them, its tags
        let target_account = target.arn.split(':').nth(4).unwrap_or_default();
        if !target_account.is_empty() && r.chance(50) {
            c.insert("aws:ResourceAccount".into(), json!(target_account));
        }
        let tagged = ["arn:aws:ecr:", "arn:aws:secretsmanager:", "arn:aws:iam:"];
        if tagged.iter().any(|p| target.arn.starts_with(p)) {
            if r.chance(40) {
                let v = *r.pick(&["platform", "data", "prod"]);
                c.insert("aws:ResourceTag/team".into(), json!(v));
            }
            if r.chance(25) {
                c.insert(
                    "aws:ResourceTag/env".into(),
                    json!(*r.pick(&["prod", "dev"])),
                );
            }
        }
        // the request: its tags (aws:RequestTag/* and aws:TagKeys, the same keys), and the
        // session name of a role assumption
        if r.chance(40) {
            // Known difference: an empty set (see README); only with --wide.
            let k = if self.wide && r.chance(15) {
                0
            } else {
                r.range(1, 3)
            };
            let keys = r.sample(&["team", "env", "owner", "cost-center", "Team"], k);
            for key in &keys {
                // a tag key in two cases would be one condition key twice
                if *key == "Team" && keys.contains(&"team") {
                    continue;
                }
                let v = *r.pick(&["platform", "prod", "alice", "data"]);
                c.insert(format!("aws:RequestTag/{key}"), json!(v));
            }
            c.insert("aws:TagKeys".into(), json!(keys));
        }
        if target.action == "sts:AssumeRole" && r.chance(85) {
            let n = *r.pick(&["alice", "gh-run-4711", "deploy-session"]);
            c.insert("sts:RoleSessionName".into(), json!(n));
        }
        // a service in between: aws:CalledVia only then, and aws:ViaAWSService true
        if r.chance(25) {
            let k = if self.wide && r.chance(15) {
                0
            } else {
                r.range(1, 2)
            };
            let via = r.sample(
                &[
                    "cloudformation.amazonaws.com",
                    "athena.amazonaws.com",
                    "dynamodb.amazonaws.com",
                ],
                k,
            );
            c.insert("aws:CalledVia".into(), json!(via));
            c.insert("aws:ViaAWSService".into(), json!("true"));
        } else if r.chance(60) {
            c.insert("aws:ViaAWSService".into(), json!("false"));
        }
        if r.chance(25) {
            let k = if self.wide && r.chance(15) {
                0
            } else {
                r.range(1, 2)
            };
            let paths = r.sample(
                &[
                    "o-a1b2c3d4e5/r-ab12/ou-ab12-11111111/",
                    "o-a1b2c3d4e5/r-ab12/ou-ab12-22222222/",
                ],
                k,
            );
            c.insert("aws:PrincipalOrgPaths".into(), json!(paths));
        }
        c
    }

    // ---- policies ------------------------------------------------------------------------------

    fn policy(&mut self, statements: Vec<Value>) -> Value {
        let statement = if statements.len() == 1 && self.rng.chance(20) {
            statements.into_iter().next().unwrap_or(Value::Null)
        } else {
            Value::Array(statements)
        };
        json!({"Version": "2012-10-17", "Statement": statement})
    }

    fn identity_policy(&mut self, target: &Target) -> Value {
        let n = self.rng.range(1, 4);
        let statements = (0..n)
            .map(|i| {
                let effect = if self.rng.chance(75) { "Allow" } else { "Deny" };
                self.statement(i, effect, None, target, ResourceElement::Required)
            })
            .collect();
        self.policy(statements)
    }

    fn boundary_policy(&mut self, target: &Target) -> Value {
        let n = self.rng.range(1, 2);
        let statements = (0..n)
            .map(|i| {
                let effect = if self.rng.chance(85) { "Allow" } else { "Deny" };
                self.statement(i, effect, None, target, ResourceElement::Required)
            })
            .collect();
        self.policy(statements)
    }

    fn resource_policy(&mut self, target: &Target, caller: &Caller) -> Value {
        let element = target.resource_policy.unwrap_or(ResourceElement::Required);
        let n = self.rng.range(1, 3);
        let statements = (0..n)
            .map(|i| {
                let effect = if self.rng.chance(70) { "Allow" } else { "Deny" };
                let principal = self.resource_principal(effect, caller);
                self.statement(i, effect, Some(principal), target, element)
            })
            .collect();
        self.policy(statements)
    }

    /// A `Principal` for a resource-policy statement.
    fn resource_principal(&mut self, effect: &str, caller: &Caller) -> Value {
        let account = caller.account;
        let same_account = account == HOME;
        loop {
            let entry: Value = match self.rng.below(10) {
                0..=2 => json!(caller.arn),
                3 | 4 => match &caller.role_arn {
                    Some(role) => json!(role),
                    None => json!(caller.arn),
                },
                5 => json!(format!("arn:aws:iam::{account}:user/mallory")),
                6 => {
                    // Known difference: an account principal on a same-account Allow (README).
                    if effect == "Allow" && same_account && !self.wide {
                        continue;
                    }
                    if self.rng.chance(50) {
                        json!(format!("arn:aws:iam::{account}:root"))
                    } else {
                        json!(account)
                    }
                }
                7 => {
                    // Known difference: a wildcard Allow with a permissions boundary (README).
                    if effect == "Allow" && self.boundary && !self.wide {
                        continue;
                    }
                    return if self.rng.chance(50) {
                        json!("*")
                    } else {
                        json!({"AWS": "*"})
                    };
                }
                8 => json!(format!("arn:aws:iam::{HOME}:role/other-role")),
                _ => {
                    if self.rng.chance(50) {
                        return json!({"Service": "cloudtrail.amazonaws.com"});
                    }
                    let other = if same_account { OTHER } else { HOME };
                    json!(format!("arn:aws:iam::{other}:root"))
                }
            };
            let mut entries = vec![entry];
            if self.rng.chance(25) {
                entries.push(json!(format!("arn:aws:iam::{account}:user/mallory")));
            }
            let value = if entries.len() == 1 && self.rng.chance(50) {
                entries.into_iter().next().unwrap_or(Value::Null)
            } else {
                Value::Array(entries)
            };
            return json!({"AWS": value});
        }
    }

    fn scp_level(&mut self, target: &Target) -> Value {
        let n = self.rng.range(1, 2);
        let mut policies = Vec::new();
        for _ in 0..n {
            let policy = match self.rng.below(10) {
                0..=5 => json!({
                    "Version": "2012-10-17",
                    "Statement": [{"Sid": "FullAWSAccess", "Effect": "Allow", "Action": "*", "Resource": "*"}]
                }),
                6 | 7 => {
                    let actions = self.action_list(target, 2);
                    json!({
                        "Version": "2012-10-17",
                        "Statement": [{"Effect": "Allow", "Action": actions, "Resource": "*"}]
                    })
                }
                _ => {
                    let deny = self.statement(1, "Deny", None, target, ResourceElement::Required);
                    json!({
                        "Version": "2012-10-17",
                        "Statement": [
                            {"Effect": "Allow", "Action": "*", "Resource": "*"},
                            deny
                        ]
                    })
                }
            };
            policies.push(policy);
        }
        Value::Array(policies)
    }

    /// One statement for `target`. `principal` is for resource policies.
    fn statement(
        &mut self,
        index: usize,
        effect: &str,
        principal: Option<Value>,
        target: &Target,
        resource: ResourceElement,
    ) -> Value {
        let mut s = Map::new();
        if self.rng.chance(30) {
            s.insert("Sid".into(), json!(format!("S{index}")));
        }
        s.insert("Effect".into(), json!(effect));
        if let Some(p) = principal {
            s.insert("Principal".into(), p);
        }
        let actions = self.action_list(target, 3);
        let key = if self.rng.chance(18) {
            "NotAction"
        } else {
            "Action"
        };
        s.insert(key.into(), actions);
        let with_resource = match resource {
            ResourceElement::Required => true,
            ResourceElement::Optional => self.rng.chance(70),
            ResourceElement::Absent => false,
        };
        if with_resource {
            let not = self.rng.chance(15);
            let n = self.rng.range(1, 3);
            let patterns: Vec<String> =
                (0..n).map(|_| self.resource_pattern(target, not)).collect();
            let key = if not { "NotResource" } else { "Resource" };
            s.insert(key.into(), self.one_or_many(patterns));
        }
        let n_conditions = match self.rng.below(100) {
            0..=44 => 0,
            45..=79 => 1,
            80..=94 => 2,
            _ => 3,
        };
        if n_conditions > 0 {
            let block = self.condition_block(n_conditions, false);
            if !block.is_empty() {
                s.insert("Condition".into(), Value::Object(block));
            }
        }
        Value::Object(s)
    }

    fn one_or_many(&mut self, values: Vec<String>) -> Value {
        if values.len() == 1 && self.rng.chance(50) {
            json!(values[0])
        } else {
            json!(values)
        }
    }

    // ---- Action patterns -----------------------------------------------------------------------

    fn action_list(&mut self, target: &Target, max: usize) -> Value {
        let n = self.rng.range(1, max);
        let patterns: Vec<String> = (0..n).map(|_| self.action_pattern(target)).collect();
        self.one_or_many(patterns)
    }

    fn action_pattern(&mut self, target: &Target) -> String {
        let (service, name) = target.action.split_once(':').unwrap_or(("s3", "GetObject"));
        let chars: Vec<char> = name.chars().collect();
        let pattern = match self.rng.below(14) {
            0 | 1 => format!("{service}:{name}"),
            2 => format!("{service}:{}", name.to_ascii_lowercase()),
            3 => format!("{service}:*"),
            4 => "*".to_owned(),
            5 => {
                let k = self.rng.range(1, chars.len().saturating_sub(1).max(1));
                let prefix: String = chars[..k.min(chars.len())].iter().collect();
                format!("{service}:{prefix}*")
            }
            6 => {
                let start = self.rng.below(chars.len());
                let end = self.rng.range(start, chars.len());
                let infix: String = chars[start..end].iter().collect();
                format!("{service}:*{infix}*")
            }
            7 => {
                let k = self.rng.below(chars.len());
                let suffix: String = chars[k..].iter().collect();
                format!("{service}:*{suffix}")
            }
            8 => {
                let k = self.rng.below(chars.len());
                let mut c = chars.clone();
                c[k] = '?';
                format!("{service}:{}", c.iter().collect::<String>())
            }
            9 | 10 => self.rng.pick(target.siblings).to_string(),
            11 => self
                .rng
                .pick(&[
                    "s3:Get*",
                    "ecr:*Layer*",
                    "ecr:Batch*",
                    "sqs:*Message",
                    "secretsmanager:GetSecret*",
                    "logs:Put*",
                    "dynamodb:*Item",
                    "s3:List*",
                ])
                .to_string(),
            12 => self
                .rng
                .pick(&[
                    "iam:PassRole",
                    "ec2:Describe*",
                    "kms:Decrypt",
                    "sts:AssumeRole",
                ])
                .to_string(),
            _ => format!("{service}:{name}"),
        };
        // The service prefix is case-insensitive too.
        if self.rng.chance(4) {
            if let Some((svc, rest)) = pattern.split_once(':') {
                return format!("{}:{rest}", svc.to_ascii_uppercase());
            }
        }
        pattern
    }

    // ---- Resource patterns ---------------------------------------------------------------------

    fn resource_pattern(&mut self, target: &Target, not_resource: bool) -> String {
        if target.arn == "*" {
            return self
                .rng
                .pick(&[
                    "*",
                    "*",
                    "arn:aws:ecr:us-east-1:111122223333:repository/*",
                    "arn:aws:s3:::*",
                ])
                .to_string();
        }
        let parts: Vec<&str> = target.arn.splitn(6, ':').collect();
        let [_, partition, service, region, account, resource] = parts[..] else {
            return "*".to_owned();
        };
        let res_chars: Vec<char> = resource.chars().collect();
        let product = target.product_len.min(res_chars.len());
        let arn = |region: &str, account: &str, resource: &str| {
            format!("arn:{partition}:{service}:{region}:{account}:{resource}")
        };
        match self.rng.below(16) {
            0 | 1 => target.arn.clone(),
            2 => "*".to_owned(),
            3 | 4 => {
                // trailing wildcard cut at any point of the resource part (may span '/' and ':')
                let cut = self.rng.range(0, res_chars.len());
                let prefix: String = res_chars[..cut].iter().collect();
                arn(region, account, &format!("{prefix}*"))
            }
            5 => {
                // cut after a separator: `repository/platform/*`, `log-group:/aws/*`
                let seps: Vec<usize> = res_chars
                    .iter()
                    .enumerate()
                    .filter(|(_, c)| **c == '/' || **c == ':')
                    .map(|(i, _)| i + 1)
                    .collect();
                let cut = if seps.is_empty() {
                    res_chars.len()
                } else {
                    *self.rng.pick(&seps)
                };
                let prefix: String = res_chars[..cut].iter().collect();
                arn(region, account, &format!("{prefix}*"))
            }
            6 => {
                // inner wildcard after the resource type
                if res_chars.len() <= product + 1 {
                    return target.arn.clone();
                }
                let start = self.rng.range(product, res_chars.len() - 1);
                let end = self.rng.range(start, res_chars.len());
                let mut s: String = res_chars[..start].iter().collect();
                s.push('*');
                s.extend(&res_chars[end..]);
                arn(region, account, &s)
            }
            7 => {
                // '?' for one character after the resource type
                if res_chars.len() <= product {
                    return target.arn.clone();
                }
                let k = self.rng.range(product, res_chars.len() - 1);
                let mut c = res_chars.clone();
                c[k] = '?';
                arn(region, account, &c.iter().collect::<String>())
            }
            8 => {
                if region.is_empty() {
                    return format!("arn:aws:s3:::{}*", self.rng.pick(&["app-", "team-", "t"]));
                }
                let r = *self
                    .rng
                    .pick(&["*", "us-*", "*-west-?", "eu-west-1", "us-east-1"]);
                arn(r, account, resource)
            }
            9 => {
                if account.is_empty() {
                    return format!(
                        "arn:aws:s3:::*/{}",
                        self.rng.pick(&["home/*", "*.txt", "build/*"])
                    );
                }
                let a = *self.rng.pick(&["*", OTHER, "1111*", "????????????"]);
                arn(region, a, resource)
            }
            10 => {
                // another service, a different resource of this one
                self.rng
                    .pick(&[
                        "arn:aws:sqs:*:*:*",
                        "arn:aws:s3:::app-artifacts/*",
                        "arn:aws:s3:::team-data",
                        "arn:aws:ecr:*:111122223333:repository/platform/*",
                        "arn:aws:secretsmanager:*:*:secret:prod/*",
                        "arn:aws:logs:*:*:log-group:/aws/app:*",
                        "arn:aws:dynamodb:*:*:table/Orders*",
                    ])
                    .to_string()
            }
            11..=13 if !not_resource || self.wide => self.variable_resource(target),
            14 if self.wide => {
                // Known differences (README): wildcard spanning ARN parts, short ARN.
                if self.rng.chance(50) {
                    format!("arn:aws:{service}:*:{resource}")
                } else {
                    format!("arn:aws:{service}:*")
                }
            }
            _ => target.arn.clone(),
        }
    }

    /// A Resource entry using policy variables.
    fn variable_resource(&mut self, target: &Target) -> String {
        let var = *self.rng.pick(&[
            "${aws:username}",
            "${aws:PrincipalTag/team}",
            "${aws:PrincipalTag/team, 'shared'}",
            "${aws:PrincipalTag/env}",
        ]);
        let parts: Vec<&str> = target.arn.splitn(6, ':').collect();
        let [_, _, service, region, account, _] = parts[..] else {
            return "*".to_owned();
        };
        match service {
            "s3" => {
                let bucket = target
                    .arn
                    .trim_start_matches("arn:aws:s3:::")
                    .split('/')
                    .next()
                    .unwrap_or("team-data")
                    .to_owned();
                let home = if var.contains("username") {
                    "home/"
                } else {
                    ""
                };
                format!("arn:aws:s3:::{bucket}/{home}{var}/*")
            }
            "ecr" => format!("arn:aws:ecr:{region}:{account}:repository/{var}/*"),
            "secretsmanager" => format!("arn:aws:secretsmanager:{region}:{account}:secret:{var}/*"),
            "logs" => format!("arn:aws:logs:{region}:{account}:log-group:/aws/{var}:*"),
            "sqs" => format!("arn:aws:sqs:{region}:{account}:{var}-*"),
            _ => format!("arn:aws:{service}:{region}:{account}:table/{var}"),
        }
    }

    // ---- conditions ----------------------------------------------------------------------------

    /// A Condition block with up to `n` entries (duplicate operator/key pairs are dropped).
    fn condition_block(&mut self, n: usize, trust: bool) -> Map<String, Value> {
        let mut block: Map<String, Value> = Map::new();
        for _ in 0..n {
            let (op, key, values) = self.condition(trust);
            let entry = block.entry(op).or_insert_with(|| Value::Object(Map::new()));
            if let Value::Object(keys) = entry {
                if keys.keys().any(|k| k.eq_ignore_ascii_case(&key)) {
                    continue;
                }
                let v = self.one_or_many(values);
                keys.insert(key, v);
            }
        }
        block
    }

    /// One condition: (operator as written, key, values).
    fn condition(&mut self, trust: bool) -> (String, String, Vec<String>) {
        let family = if trust && self.rng.chance(70) {
            Family::GithubSub
        } else if self.assumes_role && self.rng.chance(30) {
            Family::SessionName
        } else {
            *self.rng.pick(&FAMILIES)
        };
        let spec = family.spec();
        let key = self.rng.pick(spec.keys).to_string();

        if self.rng.chance(8) {
            let v = *self.rng.pick(&["true", "false"]);
            return ("Null".to_owned(), key, vec![v.to_owned()]);
        }
        let base = *self.rng.pick(spec.operators);
        let negated = is_negated(base);
        let multi = family == Family::Multi;
        let qualifier = if multi {
            // Known difference: a multivalued key without a set operator (README).
            if self.wide && self.rng.chance(20) {
                ""
            } else if self.rng.chance(50) {
                "ForAnyValue:"
            } else {
                "ForAllValues:"
            }
        } else if spec.set_ok && self.rng.chance(12) {
            if self.rng.chance(50) {
                "ForAnyValue:"
            } else {
                "ForAllValues:"
            }
        } else {
            ""
        };
        // Known difference: IfExists together with a set operator (README).
        let if_exists = (qualifier.is_empty() || self.wide) && self.rng.chance(25);
        let n = self.rng.range(1, 3);
        let mut values: Vec<String> = Vec::new();
        let mut pool: Vec<&str> = spec.values.to_vec();
        if self.wide {
            // Known differences (README): epoch seconds among ISO dates, a /0 block, a bare
            // IPv4 address (against an IPv6 request).
            match family {
                Family::Date => pool.extend(["1717243200", "1704067200"]),
                Family::Ip => pool.extend(["0.0.0.0/0", "198.51.100.7"]),
                _ => {}
            }
        }
        for _ in 0..n {
            let v = *self.rng.pick(&pool);
            // Known difference: a negated operator with a variable that may be unresolvable.
            if negated && v.contains("${") && !v.contains(", '") && !self.wide {
                continue;
            }
            // Known difference: the ${*} ${?} ${$} escapes outside *Like operators (README).
            let escape = ["${*}", "${?}", "${$}"].iter().any(|e| v.contains(e));
            if escape && !base.contains("Like") && !self.wide {
                continue;
            }
            if !values.iter().any(|x| x == v) {
                values.push(v.to_owned());
            }
        }
        if values.is_empty() {
            let fallback = spec
                .values
                .iter()
                .find(|v| !v.contains("${"))
                .copied()
                .unwrap_or("x");
            values.push(fallback.to_owned());
        }
        let op = format!(
            "{qualifier}{base}{}",
            if if_exists { "IfExists" } else { "" }
        );
        (op, key, values)
    }

    // ---- GitHub OIDC trust policies ------------------------------------------------------------

    fn trust_case(&mut self, name: String) -> Value {
        let caller = Caller {
            arn: GH_PROVIDER.to_owned(),
            account: HOME,
            user: None,
            role_arn: None,
            session: None,
        };
        let role = *self.rng.pick(&["gha-ecr-push", "deploy"]);
        let target = Target {
            action: "sts:AssumeRoleWithWebIdentity".into(),
            arn: format!("arn:aws:iam::{HOME}:role/{role}"),
            siblings: &["sts:AssumeRole", "sts:AssumeRoleWithSAML"],
            resource_policy: Some(ResourceElement::Absent),
            product_len: 0,
        };
        let mut context = Map::new();
        if self.rng.chance(92) {
            context.insert(GH_SUB.into(), json!(*self.rng.pick(GH_SUB_VALUES)));
        }
        if self.rng.chance(85) {
            let aud = *self
                .rng
                .pick(&["sts.amazonaws.com", "sts.amazonaws.com", "sigstore"]);
            context.insert(GH_AUD.into(), json!(aud));
        }
        if self.rng.chance(40) {
            let ip = *self.rng.pick(&["203.0.113.5", "192.0.2.200"]);
            context.insert("aws:SourceIp".into(), json!(ip));
        }
        let n = self.rng.range(1, 3);
        let mut statements = Vec::new();
        for i in 0..n {
            let deny = i > 0 && self.rng.chance(40);
            let mut s = Map::new();
            s.insert("Effect".into(), json!(if deny { "Deny" } else { "Allow" }));
            let principal = if deny && self.rng.chance(60) {
                json!("*")
            } else {
                match self.rng.below(10) {
                    0..=7 => json!({"Federated": GH_PROVIDER}),
                    8 => json!({"Federated": "arn:aws:iam::111122223333:oidc-provider/gitlab.com"}),
                    _ => json!({"AWS": "arn:aws:iam::111122223333:role/deploy"}),
                }
            };
            s.insert("Principal".into(), principal);
            let action = match self.rng.below(10) {
                0..=6 => json!("sts:AssumeRoleWithWebIdentity"),
                7 => json!(["sts:AssumeRoleWithWebIdentity", "sts:TagSession"]),
                8 => json!("sts:AssumeRole*"),
                _ => json!(self.rng.pick(target.siblings)),
            };
            s.insert("Action".into(), action);
            let mut block = Map::new();
            if !deny && self.rng.chance(60) {
                block.insert("StringEquals".into(), json!({GH_AUD: "sts.amazonaws.com"}));
            }
            let sub_op = if deny {
                *self.rng.pick(&[
                    "StringNotLike",
                    "StringNotEquals",
                    "ForAllValues:StringNotLike",
                ])
            } else {
                *self.rng.pick(&[
                    "StringLike",
                    "StringEquals",
                    "ForAnyValue:StringLike",
                    "StringLikeIfExists",
                ])
            };
            if self.rng.chance(85) {
                let k = self.rng.range(1, 2);
                let subs = self.rng.sample(GH_SUB_PATTERNS, k);
                let subs: Vec<String> = subs.iter().map(|s| (*s).to_owned()).collect();
                let v = self.one_or_many(subs);
                let entry = block
                    .entry(sub_op.to_owned())
                    .or_insert_with(|| Value::Object(Map::new()));
                if let Value::Object(m) = entry {
                    m.insert(GH_SUB.into(), v);
                }
            }
            if self.rng.chance(20) {
                let (op, key, values) = self.condition(true);
                if !block.contains_key(&op) {
                    block.insert(op, json!({key: values}));
                }
            }
            if !block.is_empty() {
                s.insert("Condition".into(), Value::Object(block));
            }
            statements.push(Value::Object(s));
        }
        let trust = self.policy(statements);
        json!({
            "name": name,
            "note": format!("kind={}", Kind::GithubTrust.name()),
            "policies": {"identity": [], "resource": trust},
            "request": {
                "principal": {"federated": caller.arn},
                "action": target.action,
                "resource": target.arn,
                "context": context,
            }
        })
    }
}

const GH_SUB_VALUES: &[&str] = &[
    "repo:acme/app:ref:refs/heads/main",
    "repo:acme/app:ref:refs/heads/feature/x",
    "repo:acme/app:environment:prod",
    "repo:acme/app:pull_request",
    "repo:acme/other:ref:refs/heads/main",
    "repo:Acme/app:ref:refs/heads/main",
    "repo:evil/app:ref:refs/heads/main",
];

const GH_SUB_PATTERNS: &[&str] = &[
    "repo:acme/app:*",
    "repo:acme/*:ref:refs/heads/main",
    "repo:acme/app:ref:refs/heads/*",
    "repo:acme/app:ref:refs/heads/main",
    "repo:acme/*",
    "repo:acme/app:environment:prod",
    "repo:acme/app:pull_request",
    "repo:acme/ap?:*",
];

/// Whether a base operator name is a negated one (`StringNotLike`, `NotIpAddress`, ...).
fn is_negated(op: &str) -> bool {
    op.contains("Not")
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Family {
    Tag,
    Username,
    Region,
    Org,
    PrincipalArn,
    SourceArn,
    Number,
    Date,
    Epoch,
    Bool,
    Ip,
    Multi,
    Account,
    Provider,
    SessionName,
    RequestResourceTag,
    VpcIp,
    GithubSub,
}

/// Families to draw from (principal tags twice: the most common keys in real policies).
const FAMILIES: [Family; 18] = [
    Family::Tag,
    Family::Tag,
    Family::Username,
    Family::Region,
    Family::Org,
    Family::PrincipalArn,
    Family::SourceArn,
    Family::Number,
    Family::Date,
    Family::Epoch,
    Family::Bool,
    Family::Ip,
    Family::Multi,
    Family::Account,
    Family::Provider,
    Family::SessionName,
    Family::RequestResourceTag,
    Family::VpcIp,
];

struct FamilySpec {
    keys: &'static [&'static str],
    operators: &'static [&'static str],
    values: &'static [&'static str],
    /// Whether ForAnyValue:/ForAllValues: may qualify this (single-valued) key.
    set_ok: bool,
}

const STRING_OPS: &[&str] = &[
    "StringEquals",
    "StringNotEquals",
    "StringLike",
    "StringNotLike",
    "StringEqualsIgnoreCase",
    "StringNotEqualsIgnoreCase",
];

impl Family {
    fn spec(self) -> FamilySpec {
        match self {
            Family::Tag => FamilySpec {
                keys: &["aws:PrincipalTag/team", "aws:PrincipalTag/env"],
                operators: STRING_OPS,
                values: &[
                    "platform",
                    "data",
                    "Platform",
                    "prod",
                    "plat*",
                    "*a*",
                    "d?ta",
                    "${aws:username}",
                    "${aws:PrincipalTag/team}",
                    "${aws:PrincipalTag/owner, 'platform'}",
                    "plat${*}",
                    "d${?}ta",
                    "${$}{x}",
                ],
                set_ok: true,
            },
            Family::Username => FamilySpec {
                keys: &["aws:username", "aws:userid"],
                operators: STRING_OPS,
                values: &[
                    "alice",
                    "bob",
                    "ALICE",
                    "a*",
                    "ci-?ot",
                    "AIDA*",
                    "${aws:PrincipalTag/owner, 'alice'}",
                    "AROAEXAMPLEROLEID:*",
                    "AROA*:gh-run-4711",
                    "*:alice",
                ],
                set_ok: true,
            },
            Family::Region => FamilySpec {
                keys: &["aws:RequestedRegion"],
                operators: STRING_OPS,
                values: &["us-east-1", "eu-west-1", "us-*", "*-west-?"],
                set_ok: true,
            },
            Family::Org => FamilySpec {
                keys: &["aws:PrincipalOrgID", "aws:SourceVpce"],
                operators: STRING_OPS,
                values: &[
                    "o-a1b2c3d4e5",
                    "o-*",
                    "O-A1B2C3D4E5",
                    "vpce-1a2b3c4d",
                    "vpce-*",
                ],
                set_ok: false,
            },
            Family::PrincipalArn => FamilySpec {
                keys: &["aws:PrincipalArn"],
                operators: &[
                    "ArnLike",
                    "ArnEquals",
                    "ArnNotLike",
                    "ArnNotEquals",
                    "StringLike",
                    "StringEquals",
                    "StringNotLike",
                ],
                values: &[
                    "arn:aws:iam::111122223333:role/deploy",
                    "arn:aws:iam::*:role/gha-*",
                    "arn:aws:iam::111122223333:user/${aws:username}",
                    "arn:aws:iam::444455556666:*",
                    "arn:aws:iam::111122223333:role/*",
                    "arn:aws:iam::111122223333:user/alice",
                    "arn:aws:iam::111122223333:*",
                    "arn:aws:iam::111122223333:role/ci/*",
                    "arn:aws:iam::*:role/ci/gha-ecr-push",
                    "arn:aws:iam::111122223333:role/gha-ecr-push",
                    "arn:aws:sts::111122223333:assumed-role/deploy/*",
                ],
                set_ok: true,
            },
            Family::SourceArn => FamilySpec {
                keys: &["aws:SourceArn"],
                operators: &["ArnLike", "ArnEquals", "ArnNotLike", "ArnNotEquals"],
                values: &[
                    "arn:aws:cloudformation:us-east-1:111122223333:stack/app/*",
                    "arn:aws:lambda:*:*:function:f",
                    "arn:aws:lambda:*:*:f",
                    "arn:aws:*:*:111122223333:*",
                    "arn:aws:lambda:eu-west-1:444455556666:function:f",
                ],
                set_ok: false,
            },
            Family::Number => FamilySpec {
                keys: &["aws:MultiFactorAuthAge"],
                operators: &[
                    "NumericLessThan",
                    "NumericGreaterThanEquals",
                    "NumericEquals",
                    "NumericNotEquals",
                    "NumericLessThanEquals",
                    "NumericGreaterThan",
                ],
                values: &["3600", "300", "86400", "1800.5", "7200", "3599.5"],
                set_ok: false,
            },
            Family::Date => FamilySpec {
                keys: &["aws:CurrentTime", "aws:TokenIssueTime"],
                operators: &[
                    "DateGreaterThan",
                    "DateLessThan",
                    "DateGreaterThanEquals",
                    "DateLessThanEquals",
                    "DateEquals",
                    "DateNotEquals",
                ],
                values: &[
                    "2024-01-01T00:00:00Z",
                    "2024-06-01T12:00:00Z",
                    "2025-01-01T00:00:00Z",
                    "2024-06-01T12:00:00.250Z",
                    "2024-06-01",
                    "2024-06-01T11:00:00+00:00",
                ],
                set_ok: false,
            },
            Family::Epoch => FamilySpec {
                keys: &["aws:EpochTime"],
                // AWS documents aws:EpochTime with date and numeric operators
                operators: &[
                    "DateGreaterThan",
                    "DateLessThan",
                    "DateEquals",
                    "DateNotEquals",
                    "NumericLessThan",
                    "NumericGreaterThanEquals",
                    "NumericEquals",
                    "NumericNotEquals",
                ],
                values: &["1717243200", "1704067200", "1742027400"],
                set_ok: false,
            },
            Family::Bool => FamilySpec {
                keys: &[
                    "aws:SecureTransport",
                    "aws:MultiFactorAuthPresent",
                    "aws:ViaAWSService",
                    "aws:PrincipalIsAWSService",
                ],
                operators: &["Bool"],
                values: &["true", "false", "True"],
                set_ok: false,
            },
            Family::Ip => FamilySpec {
                keys: &["aws:SourceIp"],
                operators: &["IpAddress", "NotIpAddress"],
                values: &[
                    "203.0.113.0/24",
                    "10.0.0.0/8",
                    "198.51.100.7/32",
                    "2001:db8::/32",
                    "192.0.2.0/25",
                ],
                set_ok: false,
            },
            Family::Multi => FamilySpec {
                keys: &["aws:TagKeys", "aws:CalledVia", "aws:PrincipalOrgPaths"],
                operators: &[
                    "StringEquals",
                    "StringLike",
                    "StringNotEquals",
                    "StringNotLike",
                    "StringEqualsIgnoreCase",
                ],
                values: &[
                    "team",
                    "env",
                    "owner",
                    "Team",
                    "t*",
                    "*-center",
                    "cloudformation.amazonaws.com",
                    "*.amazonaws.com",
                    "o-a1b2c3d4e5/r-ab12/ou-ab12-11111111/*",
                    "o-a1b2c3d4e5/*",
                ],
                set_ok: false,
            },
            Family::Account => FamilySpec {
                keys: &[
                    "aws:PrincipalAccount",
                    "aws:ResourceAccount",
                    "aws:PrincipalType",
                ],
                operators: STRING_OPS,
                values: &[
                    "111122223333",
                    "444455556666",
                    "1111*",
                    "AssumedRole",
                    "User",
                    "assumedrole",
                    "Assumed*",
                ],
                set_ok: true,
            },
            Family::Provider => FamilySpec {
                keys: &["aws:FederatedProvider"],
                operators: &[
                    "StringEquals",
                    "StringNotEquals",
                    "StringLike",
                    "StringNotLike",
                    "ArnLike",
                    "ArnEquals",
                ],
                values: &[
                    "arn:aws:iam::111122223333:oidc-provider/token.actions.githubusercontent.com",
                    "arn:aws:iam::*:oidc-provider/token.actions.githubusercontent.com",
                    "arn:aws:iam::444455556666:oidc-provider/token.actions.githubusercontent.com",
                    "arn:aws:iam::111122223333:oidc-provider/gitlab.com",
                ],
                set_ok: false,
            },
            Family::SessionName => FamilySpec {
                keys: &["aws:SourceIdentity", "sts:RoleSessionName"],
                operators: STRING_OPS,
                values: &[
                    "alice",
                    "alice@example.com",
                    "*@example.com",
                    "gh-run-*",
                    "deploy-session",
                    "${aws:username}",
                    "${aws:PrincipalTag/owner, 'alice'}",
                ],
                set_ok: true,
            },
            Family::RequestResourceTag => FamilySpec {
                keys: &[
                    "aws:ResourceTag/team",
                    "aws:RequestTag/team",
                    "aws:RequestTag/env",
                ],
                operators: STRING_OPS,
                values: &[
                    "platform",
                    "prod",
                    "data",
                    "Platform",
                    "plat*",
                    "${aws:PrincipalTag/team}",
                    "${aws:PrincipalTag/team, 'platform'}",
                ],
                set_ok: true,
            },
            Family::VpcIp => FamilySpec {
                keys: &["aws:VpcSourceIp"],
                operators: &["IpAddress", "NotIpAddress"],
                values: &[
                    "10.0.0.0/8",
                    "10.1.0.0/16",
                    "172.16.0.0/12",
                    "203.0.113.0/24",
                ],
                set_ok: false,
            },
            Family::GithubSub => FamilySpec {
                keys: &[GH_SUB],
                operators: &[
                    "StringLike",
                    "StringEquals",
                    "StringNotLike",
                    "StringNotEquals",
                ],
                values: GH_SUB_PATTERNS,
                set_ok: true,
            },
        }
    }
}

// ---------------------------------------------------------------------------------------------
// eval

fn run_eval(args: &[String]) -> Result<(), String> {
    let [path] = args else {
        return Err(USAGE.to_owned());
    };
    let reader: Box<dyn BufRead> = if path == "-" {
        Box::new(BufReader::new(io::stdin()))
    } else {
        Box::new(BufReader::new(
            File::open(path).map_err(|e| format!("{path}: {e}"))?,
        ))
    };
    let stdout = io::stdout();
    let mut out = BufWriter::new(stdout.lock());
    for (n, line) in reader.lines().enumerate() {
        let line = line.map_err(|e| e.to_string())?;
        if line.trim().is_empty() {
            continue;
        }
        let case: Value =
            serde_json::from_str(&line).map_err(|e| format!("line {}: {e}", n + 1))?;
        let name = case["name"]
            .as_str()
            .map_or_else(|| format!("line-{}", n + 1), str::to_owned);
        let answer = match decide_case(&case) {
            Ok(d) => json!({"name": name, "decision": decision_name(d)}),
            Err(e) => json!({"name": name, "error": e}),
        };
        writeln!(out, "{answer}").map_err(|e| e.to_string())?;
    }
    out.flush().map_err(|e| e.to_string())
}

fn decision_name(d: Decision) -> &'static str {
    match d {
        Decision::Allow => "allow",
        Decision::ImplicitDeny => "implicit_deny",
        Decision::ExplicitDeny => "explicit_deny",
    }
}

fn parse_policy(v: &Value) -> Result<Policy, String> {
    match v {
        Value::String(s) => Policy::parse(s),
        other => Policy::from_value(other),
    }
    .map_err(|e| e.to_string())
}

fn decide_case(case: &Value) -> Result<Decision, String> {
    let layers = &case["policies"];
    let identity = match &layers["identity"] {
        Value::Null => Vec::new(),
        Value::Array(items) => items.iter().map(parse_policy).collect::<Result<_, _>>()?,
        _ => return Err("policies.identity must be a list".into()),
    };
    let optional = |key: &str| -> Result<Option<Policy>, String> {
        match &layers[key] {
            Value::Null => Ok(None),
            v => parse_policy(v).map(Some),
        }
    };
    let resource = optional("resource")?;
    let boundary = optional("permissions_boundary")?;
    let session = optional("session")?;
    let scps: Vec<Vec<Policy>> = match &layers["scps"] {
        Value::Null => Vec::new(),
        Value::Array(levels) => levels
            .iter()
            .map(|level| match level {
                Value::Array(ps) => ps.iter().map(parse_policy).collect(),
                _ => Err("policies.scps must be a list of lists".to_owned()),
            })
            .collect::<Result<_, _>>()?,
        _ => return Err("policies.scps must be a list of lists".into()),
    };
    let request = build_request(&case["request"])?;
    let input = AuthzInput {
        request: &request,
        identity_policies: &identity,
        resource_policy: resource.as_ref(),
        permissions_boundary: boundary.as_ref(),
        session_policy: session.as_ref(),
        scps: &scps,
    };
    Ok(authorize(&input).decision)
}

fn build_request(r: &Value) -> Result<Request, String> {
    let principal = match &r["principal"] {
        Value::Null => None,
        Value::String(s) => Some(RequestPrincipal::aws(s.clone())),
        Value::Object(o) if o.len() == 1 => {
            let Some((kind, id)) = o.iter().next() else {
                return Err("empty principal".into());
            };
            let id = id
                .as_str()
                .ok_or("principal id must be a string")?
                .to_owned();
            let kind = match kind.as_str() {
                "aws" => PrincipalKind::Aws,
                "federated" => PrincipalKind::Federated,
                "service" => PrincipalKind::Service,
                "canonical_user" => PrincipalKind::CanonicalUser,
                other => return Err(format!("unknown principal kind {other:?}")),
            };
            Some(RequestPrincipal { kind, id })
        }
        other => return Err(format!("bad principal {other}")),
    };
    let action = r["action"]
        .as_str()
        .ok_or("request.action must be a string")?
        .to_owned();
    let resource = match &r["resource"] {
        Value::Null => None,
        Value::String(s) => Some(s.clone()),
        _ => return Err("request.resource must be a string".into()),
    };
    let mut context = Context::new();
    if let Value::Object(map) = &r["context"] {
        for (k, v) in map {
            let value = match v {
                Value::String(s) => ContextValue::Single(s.clone()),
                Value::Array(items) => ContextValue::Multi(
                    items
                        .iter()
                        .map(|i| i.as_str().map(str::to_owned))
                        .collect::<Option<_>>()
                        .ok_or("context arrays hold strings")?,
                ),
                other => return Err(format!("bad context value {other}")),
            };
            context.insert(k, value);
        }
    }
    Ok(Request {
        principal,
        action,
        resource,
        context,
    })
}
