//! `trailwhy report`: the explain pipeline over a window (default: the last 24 hours), then
//! the state file (new, recurring, stopped), the suppression rules, and a report in Markdown,
//! HTML or JSON. The state file is updated last, only once the report is written, and not at
//! all when the scan was partial (a missing input must not make findings look stopped).

use std::io::Write as _;
use std::time::Instant;

use anyhow::{bail, Result};
use chrono::{Duration, Utc};

use super::pipeline::{findings_counted, Memory, ScanConfig};
use super::{open_output, Exit};
use crate::cli::{ReportArgs, ReportFailOn, ReportFormat};
use trailwhy::report::document::{self, Document, Input};
use trailwhy::report::sanitize::terminal_safe;
use trailwhy::report::state::State;
use trailwhy::report::suppress::Rules;
use trailwhy::report::{self, html, markdown, Summary};

/// The window when `--since` is not given.
pub const DEFAULT_WINDOW_HOURS: i64 = 24;

pub fn run(args: &ReportArgs) -> Result<Exit> {
    let started = Instant::now();
    let now = Utc::now();
    let mut cfg = ScanConfig::from_args(&args.scan)?;
    cfg.memory = Memory::from_args(&args.memory)?;
    let until = cfg.window.until.unwrap_or(now);
    let since = *cfg
        .window
        .since
        .get_or_insert(until - Duration::hours(DEFAULT_WINDOW_HOURS));
    if since > until {
        bail!("--since ({since}) is after the end of the window ({until})");
    }
    // read the rule and state files before the scan: a mistake in them is a usage error
    let rules = args.suppress.as_deref().map(Rules::load).transpose()?;
    let state = match &args.state {
        Some(p) => State::load(p)?,
        None => None,
    };

    let bucket = document::bucket_seconds(since, until);
    let (findings, scan, inventory) = findings_counted(&args.scan, &cfg, Some(bucket))?;
    let summary = Summary::new(
        &findings,
        &scan.stats,
        &inventory.problems,
        started.elapsed().as_secs_f64(),
    )
    .with_integrity(scan.integrity.as_ref())
    .with_aws_details(scan.aws_details.as_ref().map(|d| &d.summary));
    let state_name = args.state.as_ref().map(|p| p.display().to_string());
    let doc = Document::build(Input {
        findings,
        since,
        until,
        now,
        state: state.as_ref().zip(state_name.clone()),
        state_file_new: if state.is_none() { state_name } else { None },
        rules: rules.as_ref(),
        scan: summary,
    });

    let mut err = std::io::stderr().lock();
    report::write_problems(&mut err, &scan.stats, &inventory.problems)?;
    report::write_no_records(&mut err, &scan.stats, !scan.build_docs.is_empty())?;
    if let (Some(o), false) = (&scan.stats.failures_outside_window, cfg.quiet) {
        writeln!(
            err,
            "trailwhy: {}",
            report::outside_window_sentence(o, Some(since), Some(until))
        )?;
    }
    report::write_integrity_problems(&mut err, scan.integrity.as_ref())?;
    if !cfg.quiet {
        report::write_aws_details_problems(
            &mut err,
            scan.aws_details.as_ref().map(|d| &d.summary),
        )?;
    }
    if let Some(r) = &rules {
        for o in doc.expired_rules() {
            writeln!(
                err,
                "trailwhy: {}: rule {} expired ({}) and no longer suppresses; it would match {} finding(s): {}",
                terminal_safe(&r.origin),
                o.rule.rule,
                terminal_safe(o.rule.expires.as_deref().unwrap_or("")),
                o.matched_findings,
                terminal_safe(&o.rule.reason)
            )?;
        }
    }

    let mut out = open_output(args.output.as_deref())?;
    match args.format {
        ReportFormat::Markdown => markdown::write(&mut out, &doc)?,
        ReportFormat::Html => html::write(&mut out, &doc)?,
        ReportFormat::Json => document::write_json(&mut out, &doc)?,
    }
    out.flush()?;
    drop(out);

    if let Some(path) = &args.state {
        if doc.scan.partial {
            writeln!(
                err,
                "trailwhy: {}: not updated, because the scan was partial",
                terminal_safe(&path.display().to_string())
            )?;
        } else {
            let mut next = state.unwrap_or_else(State::new);
            next.record(
                now,
                doc.reported()
                    .map(|r| (r.fingerprint.as_str(), r.repository.as_str(), &r.finding)),
            );
            next.save(path)?;
        }
    }

    let failing = match args.fail_on {
        ReportFailOn::New => doc.summary.new > 0,
        ReportFailOn::Any => doc.summary.findings > 0,
        ReportFailOn::Never => false,
    };
    Ok(if doc.scan.scan.interrupted {
        Exit::Interrupted
    } else if doc.scan.untrusted() {
        Exit::Untrusted
    } else if doc.scan.partial {
        Exit::Partial
    } else if failing {
        Exit::Findings
    } else {
        Exit::Ok
    })
}
