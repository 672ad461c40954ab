//! `trailwhy verify`: only the integrity check. Every input is hashed (decompressed, no
//! record splitting, nothing selected), then checked against CloudTrail's digest files as
//! `--verify` does for `explain`, `report` and `query`.

use std::io::{self, Write};

use anyhow::{bail, Result};

use super::pipeline::ScanConfig;
use super::{open_output, stdout_is_terminal, Exit};
use crate::cli::{VerifyArgs, VerifyFormat};
use trailwhy::integrity::{HashSink, Requirement, VerifyOptions};
use trailwhy::read::drive::{Ahead, Emit};
use trailwhy::read::hash_input;
use trailwhy::report;
use trailwhy::source::lookup;

pub fn run(args: &VerifyArgs) -> Result<Exit> {
    let (scan, aws) = (&args.scan, &args.scan.aws);
    for (set, flag, why) in [
        (scan.verify, "--verify", "verify always verifies"),
        (!scan.iam.is_empty(), "--iam", "verify reads no inventory"),
        (aws.iam_live, "--iam-live", "verify reads no inventory"),
        (
            !aws.iam_role.is_empty(),
            "--iam-role",
            "verify reads no inventory",
        ),
        (
            !aws.codebuild_live.is_empty(),
            "--codebuild-live",
            "verify reads no builds",
        ),
        (aws.aws_details, "--aws-details", "verify explains nothing"),
        (
            aws.aws_details_dir.is_some(),
            "--aws-details-dir",
            "verify explains nothing",
        ),
        (
            aws.save_aws_details.is_some(),
            "--save-aws-details",
            "verify explains nothing",
        ),
        (
            aws.change_lookback.is_some(),
            "--change-lookback",
            "verify reads no query results",
        ),
        (
            aws.max_scan.is_some(),
            "--max-scan",
            "verify reads no query results",
        ),
        (aws.dry_run, "--dry-run", "verify reads no query results"),
    ] {
        if set {
            bail!("{flag}: {why}; see trailwhy verify --help");
        }
    }
    let cfg = ScanConfig::from_args(&args.scan)?;
    if args.scan.sources.is_empty() {
        bail!("no SOURCE given: name trail directories (local copies) or s3://bucket[/prefix]");
    }
    trailwhy::source::check_verifiable(&cfg.sources, "")?;
    let opts = VerifyOptions {
        public_keys: args.scan.public_keys.clone(),
        requirement: if args.scan.require_verified {
            Requirement::EveryFileVerified
        } else {
            Requirement::Intact
        },
    };
    let mut opened = cfg.open_sources(&lookup::Ask::Everything, cfg.explain_want(), false)?;
    let sink = HashSink::new();
    // every input read to its end through the hashing reader, in list order (as the scan
    // does, so remote fetches and reading agree on the order)
    trailwhy::read::drive(
        &opened.inputs,
        cfg.threads,
        Ahead::Unbounded,
        |_, input, _: &Emit<'_, ()>| {
            hash_input(&input, &cfg.limits, &sink);
            true
        },
        |_, ()| true,
    )?;
    // a listing that failed fails the run
    opened.inputs.result()?;
    let integrity = cfg.verify_inputs(&opts, opened.aws.as_ref(), &opened.window, &sink)?;
    let skipped = std::mem::take(&mut opened.skipped);
    report::verify::write_problems(&mut io::stderr().lock(), &skipped, &integrity)?;
    let format = args
        .format
        .unwrap_or(if stdout_is_terminal(args.output.as_deref()) {
            VerifyFormat::Table
        } else {
            VerifyFormat::Json
        });
    let mut out = open_output(args.output.as_deref())?;
    match format {
        VerifyFormat::Json => report::verify::write_json(&mut out, &integrity, &skipped)?,
        VerifyFormat::Table => report::verify::write_table(&mut out, &integrity)?,
    }
    out.flush()?;
    let unread = skipped.iter().any(|s| !s.by_design);
    Ok(if trailwhy::interrupt::requested() {
        Exit::Interrupted
    } else if integrity.fails() {
        Exit::Untrusted
    } else if unread || integrity.unreadable > 0 {
        Exit::Partial
    } else {
        Exit::Ok
    })
}
