//! `trailwhy explain`: the pipeline's findings (`pipeline::findings`), rendered, and the exit
//! code they call for.

use std::io::Write as _;
use std::time::Instant;

use anyhow::Result;

use super::pipeline::{findings, Memory, ScanConfig};
use super::{open_output, stdout_is_terminal, Exit};
use crate::cli::{ExplainArgs, FailOn};
use trailwhy::report::{self, Format, Summary};

pub fn run(args: &ExplainArgs) -> Result<Exit> {
    let started = Instant::now();
    let mut cfg = ScanConfig::from_args(&args.scan)?;
    cfg.memory = Memory::from_args(&args.memory)?;
    let (findings, scan, inventory) = findings(&args.scan, &cfg)?;
    let summary = Summary::new(
        &findings,
        &scan.stats,
        &inventory.problems,
        started.elapsed().as_secs_f64(),
    )
    .with_integrity(scan.integrity.as_ref())
    .with_aws_details(scan.aws_details.as_ref().map(|d| &d.summary));
    let format = args
        .format
        .unwrap_or(if stdout_is_terminal(args.output.as_deref()) {
            Format::Table
        } else {
            Format::Ndjson
        });
    report::write_problems(
        &mut std::io::stderr().lock(),
        &scan.stats,
        &inventory.problems,
    )?;
    report::write_no_records(
        &mut std::io::stderr().lock(),
        &scan.stats,
        !scan.build_docs.is_empty(),
    )?;
    report::write_integrity_problems(&mut std::io::stderr().lock(), scan.integrity.as_ref())?;
    if let (Some(o), false) = (&scan.stats.failures_outside_window, cfg.quiet) {
        eprintln!(
            "trailwhy: {}",
            report::outside_window_sentence(o, cfg.window.since, cfg.window.until)
        );
    }
    if !cfg.quiet {
        report::write_aws_details_problems(
            &mut std::io::stderr().lock(),
            scan.aws_details.as_ref().map(|d| &d.summary),
        )?;
    }
    let mut out = open_output(args.output.as_deref())?;
    let width = (format == Format::Table)
        .then(|| super::output_width(args.output.as_deref()))
        .flatten();
    report::write_findings(&mut out, format, &findings, &summary, width)?;
    out.flush()?;
    if let Some(dir) = &args.write_fixes {
        let written = report::write_fixes(dir, &findings)?;
        if !cfg.quiet {
            eprintln!(
                "trailwhy: wrote {written} fix document(s) and apply.sh to {}",
                dir.display()
            );
        }
    }
    Ok(if summary.scan.interrupted {
        Exit::Interrupted
    } else if summary.untrusted() {
        Exit::Untrusted
    } else if summary.partial {
        Exit::Partial
    } else if args.fail_on == FailOn::Any && !findings.is_empty() {
        Exit::Findings
    } else {
        Exit::Ok
    })
}
