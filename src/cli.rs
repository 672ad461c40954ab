//! Command-line arguments, stage one: what the user typed, validated by clap. Stage two
//! (`Config` values built in `command/`) turns these into typed filters and writers, so that
//! nothing downstream touches raw strings from the command line.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::report::Format;

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
}

/// Flags shared by every command that scans logs.
#[derive(Debug, Args)]
pub struct ScanArgs {
    /// Log files, directories (walked recursively) or - for stdin; gzip or plain JSON, recognised by content
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

    /// Output format (default: table on a terminal, ndjson otherwise)
    #[arg(long, value_enum)]
    pub format: Option<Format>,

    /// Write the output to this file instead of stdout
    #[arg(long, short = 'o', value_name = "FILE")]
    pub output: Option<PathBuf>,

    /// Exit with code 1 when findings are present
    #[arg(long, value_enum, default_value = "never")]
    pub fail_on: FailOn,
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
