//! Command-line arguments, stage one: what the user typed, validated by clap. Stage two
//! (`Config` values built in `command/`) turns these into typed filters and writers, so that
//! nothing downstream touches raw strings from the command line.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

use trailwhy::report::Format;

#[derive(Debug, Parser)]
#[command(
    name = "trailwhy",
    version,
    about = "Explains failed GitHub Actions OIDC role assumptions and ECR calls from CloudTrail logs",
    long_about = None,
    arg_required_else_help = true
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Find failures, correlate them with the policies in force, explain each one
    Explain(ExplainArgs),
    /// Offline: would this trust policy accept this token (sub/aud/provider)?
    Check(CheckArgs),
    /// Offline: evaluate one request against given policies
    Simulate(SimulateArgs),
    /// A failure report over a time window (default: the last 24 hours) for a person or a schedule: new, recurring, stopped and suppressed findings
    Report(ReportArgs),
    /// Ad-hoc queries over any events: typed filters, jq, projections, group-by counts
    Query(QueryArgs),
    /// Only verify log files against CloudTrail's digest files: verified, altered, deleted, unlisted or unverifiable, per file
    Verify(VerifyArgs),
    /// Long-running: explain each new log object the bucket's notifications announce on an SQS queue, exactly once (see docs/watch.md)
    Watch(WatchArgs),
    /// Amazon Athena helpers for athena:// SOURCEs
    #[command(subcommand)]
    Athena(AthenaCommand),
}

#[derive(Debug, Subcommand)]
pub enum AthenaCommand {
    /// Print (or, with --create, run) the CREATE EXTERNAL TABLE for a trail bucket, with partition projection and useridentity.identityprovider
    Ddl(DdlArgs),
}

#[derive(Debug, Args)]
pub struct DdlArgs {
    /// The trail's bucket and prefix: s3://BUCKET[/PREFIX] (the folder that holds AWSLogs/)
    #[arg(value_name = "S3_URL")]
    pub location: String,

    /// An organization trail: its organization id (o-…)
    #[arg(long, value_name = "ORG_ID")]
    pub organization: Option<String>,

    /// The account (single-account trail); several: the accounts whose trails write into the bucket without an organization, or with --organization the organization's accounts to enumerate (repeatable or comma-separated; without it an organization table injects the account: every query names --account)
    #[arg(long, value_name = "ACCOUNT_ID", value_delimiter = ',')]
    pub account: Vec<String>,

    /// Enumerate the accounts found in the bucket: the account folders under [PREFIX/]AWSLogs/ (or AWSLogs/ORG_ID/ with --organization), listed with s3:ListBucket, plus any --account
    #[arg(long)]
    pub accounts_from_bucket: bool,

    /// The trail's regions (repeatable or comma-separated; default: every commercial region)
    #[arg(long, value_name = "REGION", value_delimiter = ',')]
    pub region: Vec<String>,

    /// The first day of the date projection (YYYY-MM-DD; default: January 1st two years ago)
    #[arg(long, value_name = "DATE")]
    pub start: Option<String>,

    /// The Glue database
    #[arg(long, value_name = "NAME", default_value = "default")]
    pub database: String,

    /// The table
    #[arg(long, value_name = "NAME", default_value = "cloudtrail_logs")]
    pub table: String,

    /// Run it in Athena (CREATE DATABASE IF NOT EXISTS, then the table) instead of printing it
    #[arg(long)]
    pub create: bool,

    /// With --create: the Athena workgroup
    #[arg(long, value_name = "NAME", default_value = "primary")]
    pub workgroup: String,

    /// With --create: where Athena writes the statements' results (default: the workgroup's location)
    #[arg(long, value_name = "S3_URL")]
    pub output: Option<String>,

    /// AWS profile (default: the standard credential chain)
    #[arg(long, value_name = "NAME", env = "AWS_PROFILE", hide_env_values = true)]
    pub profile: Option<String>,

    /// Send the requests to this endpoint
    #[arg(long, value_name = "URL")]
    pub endpoint_url: Option<String>,
}

/// Flags shared by every command that scans logs.
#[derive(Debug, Args)]
pub struct ScanArgs {
    /// Log files, directories (walked recursively) or - for stdin (gzip or plain JSON, recognised by content); s3://BUCKET[/PREFIX], lookup://REGION[,REGION], athena://DATABASE.TABLE[?workgroup=W&output=s3://…&mode=columns], lake://EVENT_DATA_STORE
    #[arg(value_name = "SOURCE")]
    pub sources: Vec<String>,

    /// Inventory: authorization-details JSON, OIDC provider listings, ECR repository policies, or CloudTrail files with IAM change events (file or directory; repeatable)
    #[arg(long, value_name = "FILE_OR_DIR")]
    pub iam: Vec<String>,

    /// Only events at or after this time: RFC 3339 (2026-10-01T10:00:00Z), a date, or relative (90m, 2h, 7d)
    #[arg(long, value_name = "TIME")]
    pub since: Option<String>,

    /// Only events at or before this time (same forms as --since)
    #[arg(long, value_name = "TIME")]
    pub until: Option<String>,

    /// Only these accounts (repeatable or comma-separated)
    #[arg(long, value_name = "ACCOUNT_ID", value_delimiter = ',')]
    pub account: Vec<String>,

    /// Only these regions (repeatable or comma-separated)
    #[arg(long, value_name = "REGION", value_delimiter = ',')]
    pub region: Vec<String>,

    /// Worker threads (default: all cores)
    #[arg(long, value_name = "N")]
    pub threads: Option<usize>,

    /// Refuse to decompress more than this many bytes from one input (a decompression-bomb guard); accepts K, M, G suffixes
    #[arg(long, value_name = "BYTES", default_value = "8G")]
    pub max_decompressed_size: String,

    /// Verify the log files read against CloudTrail's digest files (hashes, chain, signatures); exit code 4 when a file or digest was altered or deleted or a signature failed
    #[arg(long)]
    pub verify: bool,

    /// CloudTrail's public keys for --verify (implies it), as `aws cloudtrail list-public-keys` prints them (default for s3://: cloudtrail:ListPublicKeys)
    #[arg(long, value_name = "FILE")]
    pub public_keys: Option<PathBuf>,

    /// With --verify (implies it): exit code 4 also when any log file read is not verified with a verified signature (no digest, digest missing or unreadable, local copy)
    #[arg(long)]
    pub require_verified: bool,

    #[command(flatten)]
    pub aws: AwsArgs,
}

/// How much memory the scan's state may take (`explain`, `report`).
#[derive(Debug, Args)]
pub struct MemoryArgs {
    /// Memory budget for what the scan keeps: the failures read are kept in memory up to a sixty-fourth of it and spilled beyond it, in sorted runs, to a temporary directory (removed at exit); accepts K, M, G suffixes
    #[arg(long, value_name = "SIZE", default_value = "512M")]
    pub memory_limit: String,

    /// Where the spill directory is made (default: $TMPDIR, else /tmp)
    #[arg(long, value_name = "DIR")]
    pub temp_dir: Option<PathBuf>,
}

/// AWS connection flags, as the AWS CLI spells them, and the remote-source settings.
#[derive(Debug, Args)]
pub struct AwsArgs {
    /// AWS profile for s3://, lookup:// and --iam-live (default: the standard credential chain)
    #[arg(long, value_name = "NAME", env = "AWS_PROFILE", hide_env_values = true)]
    pub profile: Option<String>,

    /// Send AWS requests to this endpoint (a local S3/IAM-compatible server); S3 then uses path-style addressing
    #[arg(long, value_name = "URL")]
    pub endpoint_url: Option<String>,

    /// Objects fetched at once from S3
    #[arg(long, value_name = "N", default_value_t = 16)]
    pub s3_concurrency: usize,

    /// How long after --until a trail file may still be delivered holding events of the window (CloudTrail delivers within ~5-15 minutes)
    #[arg(long, value_name = "DURATION", default_value = "30m")]
    pub delivery_lag: String,

    /// athena:// and lake://: refuse to start, or stop, a query that scans more than this many bytes (K, M, G, T suffixes); Athena's statistics lag, so a stopped query may have scanned somewhat more
    #[arg(long, value_name = "BYTES")]
    pub max_scan: Option<String>,

    /// athena:// and lake://: print each statement that would be submitted (SOURCE, then the SQL, then a blank line) and run nothing
    #[arg(long)]
    pub dry_run: bool,

    /// athena:// and lake:// (explain, report): how far before --since to read the IAM, ECR, CodeBuild and CodeConnections change events that say which policies were in force (default 7d); each day is a day of logs scanned (and paid for), so at organization scale prefer --iam-live with a short lookback
    #[arg(long, value_name = "DURATION")]
    pub change_lookback: Option<String>,

    /// Read the IAM inventory (roles, policies, OIDC providers, ECR repository policies) through the AWS API
    #[arg(long)]
    pub iam_live: bool,

    /// With --iam-live: read another account's inventory by assuming a read-only role there (ACCOUNT=ROLE_ARN; repeatable)
    #[arg(long, value_name = "ACCOUNT=ROLE_ARN")]
    pub iam_role: Vec<String>,

    /// For each denial whose message carries an authorization ID (IAM Access Troubleshooter), read AWS's own record of the decision (GetRequestAuthorizationDetails, GetRequestAuthorizationPolicy) in the denial's region: its policies and request context are used as what was in force, and the tool's evaluation is checked against it
    #[arg(long)]
    pub aws_details: bool,

    /// Read AWS's records of denials saved as DIR/ID.json (what --save-aws-details writes) before asking the API
    #[arg(long, value_name = "DIR")]
    pub aws_details_dir: Option<std::path::PathBuf>,

    /// With --aws-details: write each record fetched to DIR/ID.json, so a post-mortem after AWS has dropped it still has it
    #[arg(long, value_name = "DIR")]
    pub save_aws_details: Option<std::path::PathBuf>,

    /// Read the recent builds (up to 100) of these CodeBuild projects through the API (ListBuildsForProject, BatchGetBuilds); comma-separated or several values
    #[arg(long, value_name = "PROJECT", num_args = 1.., value_delimiter = ',')]
    pub codebuild_live: Vec<String>,

    /// No progress and no warnings on stderr (errors are still printed)
    #[arg(long, short = 'q')]
    pub quiet: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum FailOn {
    /// Exit 1 when there is any finding
    Any,
    /// Never exit 1 for findings
    Never,
}

#[derive(Debug, Args)]
pub struct ExplainArgs {
    #[command(flatten)]
    pub scan: ScanArgs,

    #[command(flatten)]
    pub memory: MemoryArgs,

    /// Output format (default: table on a terminal, ndjson otherwise)
    #[arg(long, value_enum)]
    pub format: Option<Format>,

    /// Write the output to this file instead of stdout
    #[arg(long, short = 'o', value_name = "FILE")]
    pub output: Option<PathBuf>,

    /// Exit with code 1 when findings are present
    #[arg(long, value_enum, default_value = "never")]
    pub fail_on: FailOn,

    /// Write each fix's patched policy document to DIR, with apply.sh holding the `aws`
    /// commands that apply them (never run by trailwhy)
    #[arg(long, value_name = "DIR")]
    pub write_fixes: Option<PathBuf>,
}

/// Output formats of `report`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ReportFormat {
    /// For a GitHub issue or a chat message
    Markdown,
    /// One self-contained page (inline CSS and SVG, no script)
    Html,
    /// Findings, summary, new/recurring/stopped/suppressed, for other tools
    Json,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ReportFailOn {
    /// Exit 1 when an unsuppressed finding is new (not in the --state file)
    New,
    /// Exit 1 when there is any unsuppressed finding
    Any,
    /// Never exit 1 for findings
    Never,
}

#[derive(Debug, Args)]
#[command(
    after_help = "The window defaults to the last 24 hours (before --until when it is given), for local sources too. See docs/report.md for the state and suppression file formats and schedule examples."
)]
pub struct ReportArgs {
    #[command(flatten)]
    pub scan: ScanArgs,

    #[command(flatten)]
    pub memory: MemoryArgs,

    /// Output format
    #[arg(long, value_enum, default_value = "markdown")]
    pub format: ReportFormat,

    /// Write the report to this file instead of stdout
    #[arg(long, short = 'o', value_name = "FILE")]
    pub output: Option<PathBuf>,

    /// Remember reported findings in this file (created when missing) to mark them new or recurring and list those that stopped
    #[arg(long, value_name = "FILE")]
    pub state: Option<PathBuf>,

    /// Suppression rules (YAML or JSON): matching findings are listed apart, with the rule's reason
    #[arg(long, value_name = "FILE")]
    pub suppress: Option<PathBuf>,

    /// Exit with code 1 when there are new (or any) unsuppressed findings
    #[arg(long, value_enum, default_value = "never")]
    pub fail_on: ReportFailOn,
}

/// Output formats of `watch` on stdout.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum WatchFormat {
    /// One finding per line (the finding, its fingerprint, status and repository)
    Ndjson,
    /// Each finding as report's Markdown shows it
    Markdown,
}

/// Bodies `watch` POSTs to `--webhook`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum WebhookFormat {
    /// `{"delivery_id":…,"created":…,"findings":[…]}`
    Json,
    /// `{"text":…}` with the Markdown rendering (Slack and compatible incoming webhooks)
    Slack,
}

#[derive(Debug, Args)]
#[command(
    after_help = "A message is deleted only once the findings of its objects are in the --state file; deliveries are retried from it across restarts. See docs/watch.md for the setup, the IAM policy and running it as a service."
)]
pub struct WatchArgs {
    /// The queue the bucket's notifications go to: sqs://QUEUE_NAME or sqs://QUEUE_URL
    #[arg(value_name = "QUEUE")]
    pub queue: Option<String>,

    /// The queue, as QUEUE, or its bare name
    #[arg(long = "queue", value_name = "QUEUE")]
    pub queue_flag: Option<String>,

    /// The state file (JSON, written atomically): objects read, events emitted, deliveries pending; the kept records live in FILE.window/ beside it
    #[arg(long, value_name = "FILE")]
    pub state: Option<PathBuf>,

    /// Suppression rules (YAML or JSON, as for report): matching findings are not emitted
    #[arg(long, value_name = "FILE")]
    pub suppress: Option<PathBuf>,

    /// Inventory: authorization-details JSON, OIDC provider listings, ECR repository policies, or CloudTrail files with IAM change events (file or directory; repeatable); change events in the stream update it
    #[arg(long, value_name = "FILE_OR_DIR")]
    pub iam: Vec<String>,

    /// Read the IAM inventory through the AWS API (at each explanation)
    #[arg(long)]
    pub iam_live: bool,

    /// Only these accounts (repeatable or comma-separated)
    #[arg(long, value_name = "ACCOUNT_ID", value_delimiter = ',')]
    pub account: Vec<String>,

    /// Only events of these regions (repeatable or comma-separated); the queue's region comes from its URL or the usual chain
    #[arg(long, value_name = "REGION", value_delimiter = ',')]
    pub region: Vec<String>,

    /// Output on stdout, one entry per emitted finding
    #[arg(long, value_enum, default_value = "ndjson")]
    pub format: WatchFormat,

    /// POST each batch of emitted findings to this URL (retried with backoff until it answers 2xx)
    #[arg(long, value_name = "URL")]
    pub webhook: Option<String>,

    /// The webhook's body
    #[arg(long, value_enum, default_value = "json")]
    pub webhook_format: WebhookFormat,

    /// How long one webhook POST may take before it counts as failed (and is retried)
    #[arg(long, value_name = "DURATION", default_value = "10s")]
    pub webhook_timeout: String,

    /// Drain the queue and exit (for cron and tests): stop at the first empty receive
    #[arg(long)]
    pub once: bool,

    /// How long a finding whose evidence may still arrive (the assumption of its session, the account's policies) waits for it before it is emitted with what is known
    #[arg(long, value_name = "DURATION", default_value = "10m")]
    pub settle: String,

    /// While messages keep coming, how often the window is explained (it always is when the queue runs dry); longer batches more objects into one explanation
    #[arg(long, value_name = "DURATION", default_value = "1s")]
    pub explain_every: String,

    /// How long the records of an object are kept for correlation (a session lasts at most 12 hours)
    #[arg(long, value_name = "DURATION", default_value = "12h")]
    pub window: String,

    /// How long objects holding IAM/ECR change events are kept (the policies in force)
    #[arg(long, value_name = "DURATION", default_value = "7d")]
    pub change_window: String,

    /// Seconds a receive waits for a message (long polling, at most 20)
    #[arg(long, value_name = "SECONDS", default_value_t = 20)]
    pub wait: u8,

    /// Refuse to decompress more than this many bytes from one object; accepts K, M, G suffixes
    #[arg(long, value_name = "BYTES", default_value = "8G")]
    pub max_decompressed_size: String,

    /// Worker threads (default: all cores)
    #[arg(long, value_name = "N")]
    pub threads: Option<usize>,

    #[command(flatten)]
    pub memory: MemoryArgs,

    /// Print the bucket notification configuration and the queue policy for --bucket and --queue, and exit
    #[arg(long)]
    pub print_setup: bool,

    /// With --print-setup: the trail's bucket
    #[arg(long, value_name = "BUCKET")]
    pub bucket: Option<String>,

    /// With --print-setup: the prefix of the trail's objects (the folder that holds AWSLogs/)
    #[arg(long, value_name = "PREFIX")]
    pub prefix: Option<String>,

    /// AWS profile (default: the standard credential chain)
    #[arg(long, value_name = "NAME", env = "AWS_PROFILE", hide_env_values = true)]
    pub profile: Option<String>,

    /// Send AWS requests to this endpoint (a local AWS-compatible server); S3 then uses path-style addressing
    #[arg(long, value_name = "URL")]
    pub endpoint_url: Option<String>,

    /// No notes on stderr (errors and problems with messages or objects are still printed)
    #[arg(long, short = 'q')]
    pub quiet: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum OfflineFormat {
    Table,
    Json,
}

#[derive(Debug, Args)]
pub struct CheckArgs {
    /// The role's trust policy (JSON document, JSON string, or URL-encoded)
    #[arg(long, value_name = "FILE")]
    pub trust_policy: PathBuf,

    /// The token's sub claim, e.g. repo:acme/web:ref:refs/heads/main
    #[arg(long)]
    pub sub: String,

    /// The token's aud claim
    #[arg(long, default_value = "sts.amazonaws.com")]
    pub aud: String,

    /// The OIDC provider ARN (default: the GitHub provider the policy trusts)
    #[arg(long, value_name = "ARN")]
    pub provider: Option<String>,

    /// The role's ARN, for the fixes' commands (default: ROLE in the provider's account)
    #[arg(long, value_name = "ARN")]
    pub role_arn: Option<String>,

    /// Output format (default: table on a terminal, json otherwise)
    #[arg(long, value_enum)]
    pub format: Option<OfflineFormat>,
}

#[derive(Debug, Args)]
pub struct SimulateArgs {
    /// The request file: principal, action, resource, context and the policies
    #[arg(long, value_name = "FILE")]
    pub request: PathBuf,

    /// Output format (default: table on a terminal, json otherwise)
    #[arg(long, value_enum)]
    pub format: Option<OfflineFormat>,
}

#[derive(Debug, Args)]
// the inventory flags are not query's: hidden from its help, refused when given
#[command(
    mut_arg("iam", |a| a.hide(true)),
    mut_arg("iam_live", |a| a.hide(true)),
    mut_arg("iam_role", |a| a.hide(true)),
    mut_arg("codebuild_live", |a| a.hide(true)),
    mut_arg("aws_details", |a| a.hide(true)),
    mut_arg("aws_details_dir", |a| a.hide(true)),
    mut_arg("save_aws_details", |a| a.hide(true)),
    mut_arg("change_lookback", |a| a.hide(true))
)]
pub struct QueryArgs {
    #[command(flatten)]
    pub scan: ScanArgs,

    /// Only these event names (globs with * and ?; repeatable or comma-separated)
    #[arg(long, value_name = "GLOB", value_delimiter = ',')]
    pub event_name: Vec<String>,

    /// Only these event sources, e.g. 'ecr.*' (globs; repeatable or comma-separated)
    #[arg(long, value_name = "GLOB", value_delimiter = ',')]
    pub event_source: Vec<String>,

    /// Only these error codes, e.g. 'AccessDenied*' (globs; repeatable or comma-separated)
    #[arg(long, value_name = "GLOB", value_delimiter = ',')]
    pub error_code: Vec<String>,

    /// Only failed calls (records with an errorCode)
    #[arg(long)]
    pub errors_only: bool,

    /// Only calls by this principal: glob on userIdentity.arn or principalId (repeatable)
    #[arg(long, value_name = "GLOB")]
    pub principal: Vec<String>,

    /// Only web-identity records of this OIDC subject (glob on the sub claim; repeatable)
    #[arg(long, value_name = "GLOB")]
    pub sub: Vec<String>,

    /// Only records of this role: glob on the role name or ARN of the session or of the assumed role (repeatable)
    #[arg(long, value_name = "GLOB")]
    pub role: Vec<String>,

    /// A jq program applied to each selected record (secrets already redacted); each output value is a row
    #[arg(long, value_name = "EXPR")]
    pub jq: Option<String>,

    /// Print only these dotted paths of each row, e.g. eventTime,userIdentity.arn (missing: null)
    #[arg(
        long,
        value_name = "PATHS",
        value_delimiter = ',',
        conflicts_with = "group_by"
    )]
    pub fields: Vec<String>,

    /// Count rows per distinct value of this dotted path (repeatable: per tuple), most frequent first
    #[arg(long = "group-by", value_name = "PATH")]
    pub group_by: Vec<String>,

    /// Print only the number of rows
    #[arg(long, conflicts_with_all = ["fields", "group_by"])]
    pub count: bool,

    /// Stop after N rows (with --group-by: the N most frequent groups)
    #[arg(long, value_name = "N")]
    pub limit: Option<u64>,

    /// Output format (default: table on a terminal, ndjson otherwise)
    #[arg(long, value_enum)]
    pub format: Option<trailwhy::query::output::Format>,

    /// Also write the run's JSON summary to FILE (files read, partly read, skipped and
    /// unreadable; records scanned and unreadable; problems), as explain's `summary`
    #[arg(long, value_name = "FILE")]
    pub summary: Option<PathBuf>,
}

/// Output formats of `verify`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum VerifyFormat {
    /// One line per file that is not verified, then the summary line
    Table,
    /// The integrity object with every file
    Json,
}

#[derive(Debug, Args)]
#[command(
    after_help = "Exit codes: 0 every file verified, or some only unverifiable (counted on stderr); 3 some digest could not be read; 4 a log file or digest was altered, deleted or unlisted, or a signature failed, or (--require-verified) a log file read is not verified."
)]
// verify reads no inventory and always verifies: those flags are hidden, and refused
#[command(
    mut_arg("verify", |a| a.hide(true)),
    mut_arg("iam", |a| a.hide(true)),
    mut_arg("iam_live", |a| a.hide(true)),
    mut_arg("iam_role", |a| a.hide(true)),
    mut_arg("codebuild_live", |a| a.hide(true)),
    mut_arg("aws_details", |a| a.hide(true)),
    mut_arg("aws_details_dir", |a| a.hide(true)),
    mut_arg("save_aws_details", |a| a.hide(true)),
    mut_arg("change_lookback", |a| a.hide(true)),
    mut_arg("max_scan", |a| a.hide(true)),
    mut_arg("dry_run", |a| a.hide(true))
)]
pub struct VerifyArgs {
    #[command(flatten)]
    pub scan: ScanArgs,

    /// Output format (default: table on a terminal, json otherwise)
    #[arg(long, value_enum)]
    pub format: Option<VerifyFormat>,

    /// Write the output to this file instead of stdout
    #[arg(long, short = 'o', value_name = "FILE")]
    pub output: Option<PathBuf>,
}

/// `8G`, `512M`, `64K`, `1000`.
pub fn parse_size(text: &str) -> Result<u64, String> {
    let t = text.trim();
    let (num, mult) = match t.char_indices().last() {
        Some((i, c)) if c.is_ascii_alphabetic() => {
            let m: u64 = match c.to_ascii_uppercase() {
                'K' => 1 << 10,
                'M' => 1 << 20,
                'G' => 1 << 30,
                'T' => 1 << 40,
                _ => return Err(format!("'{t}': unknown size suffix (use K, M, G or T)")),
            };
            (&t[..i], m)
        }
        _ => (t, 1),
    };
    let n: u64 = num
        .trim()
        .parse()
        .map_err(|_| format!("'{t}' is not a size (e.g. 8G, 512M)"))?;
    n.checked_mul(mult)
        .ok_or_else(|| format!("'{t}' is too large"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes() {
        assert_eq!(parse_size("8G"), Ok(8 << 30));
        assert_eq!(parse_size("512m"), Ok(512 << 20));
        assert_eq!(parse_size("1000"), Ok(1000));
        assert!(parse_size("12Q").is_err());
        assert!(parse_size("big").is_err());
    }

    #[test]
    fn cli_is_well_formed() {
        use clap::CommandFactory;
        Cli::command().debug_assert();
    }
}
