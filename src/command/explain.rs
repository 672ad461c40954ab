//! `trailwhy explain`: scan, build the inventory, explain, render.

use std::time::Instant;

use anyhow::{anyhow, bail, Result};
use chrono::Utc;

use super::{open_output, stdout_is_terminal, Exit};
use crate::cli::{parse_size, ExplainArgs, FailOn, ScanArgs};
use crate::correlate::SessionIndex;
use crate::decode::DecodeLimits;
use crate::explain::call::explain_calls;
use crate::explain::explain_web_identity;
use crate::inventory::Inventory;
use crate::report::{self, Format, Summary};
use crate::scan::{scan, Scan};
use crate::select::{time::parse_time_bound, Selector, Window};
use crate::source;

/// The typed form of the scan flags.
pub struct ScanConfig {
    pub window: Window,
    pub limits: DecodeLimits,
    pub threads: Option<usize>,
}

impl ScanConfig {
    pub fn from_args(a: &ScanArgs) -> Result<ScanConfig> {
        let now = Utc::now();
        let since = a
            .since
            .as_deref()
            .map(|s| parse_time_bound(s, now))
            .transpose()
            .map_err(|e| anyhow!("--since: {e}"))?;
        let until = a
            .until
            .as_deref()
            .map(|s| parse_time_bound(s, now))
            .transpose()
            .map_err(|e| anyhow!("--until: {e}"))?;
        if let (Some(s), Some(u)) = (since, until) {
            if s > u {
                bail!("--since ({s}) is after --until ({u})");
            }
        }
        for acct in &a.account {
            if acct.len() != 12 || !acct.chars().all(|c| c.is_ascii_digit()) {
                bail!("--account: '{acct}' is not a 12-digit AWS account id");
            }
        }
        if a.threads == Some(0) {
            bail!("--threads must be at least 1");
        }
        let max = parse_size(&a.max_decompressed_size)
            .map_err(|e| anyhow!("--max-decompressed-size: {e}"))?;
        Ok(ScanConfig {
            window: Window {
                since,
                until,
                accounts: a.account.clone(),
                regions: a.region.clone(),
            },
            limits: DecodeLimits {
                max_decompressed_bytes: max,
                ..DecodeLimits::default()
            },
            threads: a.threads,
        })
    }

    /// Runs `f` inside a rayon pool of the configured size.
    pub fn in_pool<T: Send>(&self, f: impl FnOnce() -> T + Send) -> Result<T> {
        let mut b = rayon::ThreadPoolBuilder::new();
        if let Some(n) = self.threads {
            b = b.num_threads(n);
        }
        let pool = b
            .build()
            .map_err(|e| anyhow!("cannot start worker threads: {e}"))?;
        Ok(pool.install(f))
    }
}

/// Scans SOURCEs and `--iam` inputs; returns the log scan and the inventory.
pub fn scan_with_inventory(args: &ScanArgs, cfg: &ScanConfig) -> Result<(Scan, Inventory)> {
    if args.sources.is_empty() {
        bail!("no SOURCE given: name log files, directories, or - for stdin");
    }
    let selector = Selector::new(cfg.window.clone());
    let (inputs, skipped) = source::expand(&args.sources);
    let mut logs = cfg.in_pool(|| scan(&inputs, skipped, &selector, &cfg.limits))?;
    let mut docs = std::mem::take(&mut logs.inventory_docs);
    let mut changes = std::mem::take(&mut logs.changes);
    if !args.iam.is_empty() {
        let (iam_inputs, iam_skipped) = source::expand(&args.iam);
        let mut iam = cfg.in_pool(|| scan(&iam_inputs, iam_skipped, &selector, &cfg.limits))?;
        docs.append(&mut iam.inventory_docs);
        changes.append(&mut iam.changes);
        // --iam inputs that could not be read count like any other input
        logs.stats.files_unreadable += iam.stats.files_unreadable;
        logs.stats
            .skipped
            .extend(iam.stats.skipped.into_iter().filter(|s| !s.by_design));
    }
    let inventory = Inventory::build(&docs, changes);
    Ok((logs, inventory))
}

pub fn run(args: &ExplainArgs) -> Result<Exit> {
    let started = Instant::now();
    let cfg = ScanConfig::from_args(&args.scan)?;
    let (scan, inventory) = scan_with_inventory(&args.scan, &cfg)?;
    let sessions = SessionIndex::build(&scan.attempts);
    let mut findings = explain_web_identity(&scan.attempts, &inventory);
    findings.extend(explain_calls(&scan.call_failures, &sessions, &inventory));
    findings.sort_by(|a, b| {
        a.first_seen
            .cmp(&b.first_seen)
            .then_with(|| a.cause.cmp(&b.cause))
    });
    let summary = Summary::new(
        &findings,
        &scan.stats,
        &inventory.problems,
        started.elapsed().as_secs_f64(),
    );
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
    let mut out = open_output(args.output.as_deref())?;
    report::write_findings(&mut out, format, &findings, &summary)?;
    out.flush()?;
    Ok(if summary.interrupted {
        Exit::Interrupted
    } else if summary.partial {
        Exit::Partial
    } else if args.fail_on == FailOn::Any && !findings.is_empty() {
        Exit::Findings
    } else {
        Exit::Ok
    })
}
