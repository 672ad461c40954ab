//! `trailwhy query`: stage two of its flags (typed filters, a compiled jq program, parsed
//! paths, the output format), then the query over the inputs, then problems on stderr and
//! the exit code.

use std::io::Write;

use anyhow::{anyhow, bail, Result};

use super::pipeline::ScanConfig;
use super::{open_output, stdout_is_terminal, Exit};
use crate::cli::QueryArgs;
use trailwhy::integrity::Verdict;
use trailwhy::interrupt;
use trailwhy::query::filter::{CompiledFilter, Globs, RecordFilter};
use trailwhy::query::jq::{self, JqProgram};
use trailwhy::query::output::Format;
use trailwhy::query::project::Projection;
use trailwhy::query::value::Path;
use trailwhy::query::{self, Mode, Query};
use trailwhy::report::{self, sanitize::terminal_safe};
use trailwhy::source::athena::sql::Want;
use trailwhy::source::lookup::Ask;

/// Columns of `--format csv` for plain records (no `--fields`, no `--jq`).
pub const CSV_DEFAULT_FIELDS: &[&str] = &[
    "eventTime",
    "eventSource",
    "eventName",
    "awsRegion",
    "recipientAccountId",
    "userIdentity.type",
    "userIdentity.arn",
    "errorCode",
    "errorMessage",
    "sourceIPAddress",
    "userAgent",
    "eventID",
];

/// Builds the typed query from the flags; every error is a usage error.
pub fn config(args: &QueryArgs, cfg: &ScanConfig) -> Result<Query> {
    if !args.scan.iam.is_empty() {
        bail!("--iam: query reads no inventory; name the logs as SOURCE");
    }
    let aws = &args.scan.aws;
    for (set, flag) in [
        (aws.iam_live, "--iam-live"),
        (!aws.iam_role.is_empty(), "--iam-role"),
        (!aws.codebuild_live.is_empty(), "--codebuild-live"),
        (aws.aws_details, "--aws-details"),
        (aws.aws_details_dir.is_some(), "--aws-details-dir"),
        (aws.save_aws_details.is_some(), "--save-aws-details"),
        (aws.change_lookback.is_some(), "--change-lookback"),
    ] {
        if set {
            bail!("{flag}: query reads no inventory and no builds; use explain");
        }
    }
    if args.scan.sources.is_empty() {
        bail!("no SOURCE given: name log files, directories, s3://bucket[/prefix], lookup://REGION, athena://DB.TABLE, lake://STORE, or - for stdin");
    }
    let jq = args
        .jq
        .as_deref()
        .map(JqProgram::compile)
        .transpose()
        .map_err(|e| anyhow!("--jq: {e}"))?;
    let paths = |flag: &str, texts: &[String]| {
        texts
            .iter()
            .map(|t| Path::parse(t))
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| anyhow!("{flag}: {e}"))
    };
    let mut fields = paths("--fields", &args.fields)?;
    let group_by = paths("--group-by", &args.group_by)?;
    let format = args.format.unwrap_or(if stdout_is_terminal(None) {
        Format::Table
    } else {
        Format::Ndjson
    });
    if fields.is_empty() && format == Format::Csv && jq.is_none() {
        fields = CSV_DEFAULT_FIELDS
            .iter()
            .map(|f| Path::parse(f))
            .collect::<Result<_, _>>()
            .map_err(|e| anyhow!(e))?;
    }
    let mode = if args.count {
        Mode::Count
    } else if !group_by.is_empty() {
        Mode::Groups(group_by)
    } else {
        Mode::Rows { fields }
    };
    let filter = RecordFilter {
        event_name: Globs::new(&args.event_name),
        event_source: Globs::new(&args.event_source),
        error_code: Globs::new(&args.error_code),
        errors_only: args.errors_only,
        principal: Globs::new(&args.principal),
        sub: Globs::new(&args.sub),
        role: Globs::new(&args.role),
        window: cfg.window.clone(),
    };
    let mut filter = CompiledFilter::new(filter);
    if let Some(code) = &args.jq {
        // a leading select(...) on plain fields becomes a byte pre-filter too
        filter.require(jq::required_needles(code));
    }
    let projection = match &jq {
        None => Some(Projection::Path(Vec::new())),
        Some(program) => program.projection().cloned(),
    };
    Ok(Query {
        filter,
        projection,
        jq,
        mode,
        limit: args.limit,
        format,
        limits: cfg.limits,
        hashes: cfg
            .verify
            .as_ref()
            .map(|_| std::sync::Arc::new(trailwhy::integrity::HashSink::new())),
        width: (format == Format::Table)
            .then(|| super::output_width(None))
            .flatten(),
    })
}

/// What `lookup://` asks LookupEvents for: the event sources, else the event names, that
/// the filters name exactly (no wildcard), else every management event of the window. The
/// filters still check every event that comes back.
pub fn lookup_ask(args: &QueryArgs) -> Ask {
    let exact = |globs: &[String]| {
        let mut values: Vec<String> = Vec::new();
        for g in globs {
            if g.contains(['*', '?']) {
                return None;
            }
            if !values.contains(g) {
                values.push(g.clone());
            }
        }
        (!values.is_empty()).then_some(values)
    };
    if let Some(sources) = exact(&args.event_source) {
        Ask::EventSources(sources)
    } else if let Some(names) = exact(&args.event_name) {
        Ask::EventNames(names)
    } else {
        Ask::Everything
    }
}

pub fn run(args: &QueryArgs) -> Result<Exit> {
    let started = std::time::Instant::now();
    let cfg = ScanConfig::from_args(&args.scan)?;
    let mut query = config(args, &cfg)?;
    // remote sources: listed (s3:// pruned by --since/--until/--account/--region) or
    // queried; without --since they read the last 24 hours, and the filter does too
    let mut opened =
        cfg.open_sources(&lookup_ask(args), Want::Query(query.filter.filter()), false)?;
    query
        .filter
        .set_time_bounds(opened.window.since, opened.window.until);
    // created before the query: a path that cannot be written is a usage error
    let mut summary_out = args
        .summary
        .as_deref()
        .map(|p| open_output(Some(p)))
        .transpose()?;
    let out = open_output(None)?;
    let mut outcome = query::run(
        &query,
        &opened.inputs,
        std::mem::take(&mut opened.skipped),
        cfg.threads,
        out,
    )?;
    // a listing that failed fails the run, whatever was written before it
    opened.inputs.result()?;
    // --verify: the verdicts go to stderr (stdout holds the rows)
    let integrity = match (&cfg.verify, &query.hashes) {
        (Some(opts), Some(sink)) => {
            Some(cfg.verify_inputs(opts, opened.aws.as_ref(), &opened.window, sink)?)
        }
        _ => None,
    };
    cfg.tell_queries(&opened);
    outcome.stats.interrupted |= interrupt::requested();
    if let Some(stats) = &opened.s3_stats {
        outcome.stats.s3 = Some(trailwhy::read::count::S3Summary::from(&**stats));
    }
    if opened.athena_stats.is_some() {
        outcome.stats.queries = Some(opened.athena_summaries());
    }
    if let Some(w) = summary_out.as_mut() {
        report::QuerySummary::new(
            outcome.rows,
            outcome.jq_errors,
            &outcome.stats,
            started.elapsed().as_secs_f64(),
        )
        .with_integrity(integrity.as_ref())
        .write(w)?;
        w.flush()?;
    }
    let mut err = std::io::stderr().lock();
    report::write_problems(&mut err, &outcome.stats, &[])?;
    report::write_no_records(&mut err, &outcome.stats, false)?;
    report::write_integrity_problems(&mut err, integrity.as_ref())?;
    if let Some(i) = &integrity {
        for f in i.files.iter().filter(|f| f.verdict != Verdict::Verified) {
            writeln!(
                err,
                "trailwhy: {}: {}{}",
                terminal_safe(&f.file),
                f.verdict.word(),
                f.reason
                    .as_deref()
                    .map(|r| format!(": {}", terminal_safe(r)))
                    .unwrap_or_default()
            )?;
        }
        writeln!(err, "trailwhy: {}", terminal_safe(&i.line()))?;
    }
    if let Some(first) = &outcome.first_jq_error {
        let more = match outcome.jq_errors {
            0 | 1 => String::new(),
            n => format!(" ({} more)", n - 1),
        };
        writeln!(err, "trailwhy: --jq: {}{more}", terminal_safe(first))?;
    }
    if outcome.csv_misfits > 0 {
        writeln!(
            err,
            "trailwhy: --format csv: {} row(s) had keys outside the columns of the first row (they are left out); name the columns with --fields",
            outcome.csv_misfits
        )?;
    }
    Ok(if interrupt::requested() {
        Exit::Interrupted
    } else if integrity.as_ref().is_some_and(|i| i.fails()) {
        Exit::Untrusted
    } else if outcome.partial() || integrity.as_ref().is_some_and(|i| i.unreadable > 0) {
        Exit::Partial
    } else {
        Exit::Ok
    })
}
