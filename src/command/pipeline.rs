//! The pipeline every scanning command shares: the scan flags as typed configuration
//! (`ScanConfig`), the SOURCEs opened, the scan with its inventory (`scan_with_inventory`),
//! the findings (`findings`: session join, explanations, sorting) and their integrity marks
//! (`annotate`). `explain` and `report` render the findings; `query` and `verify` use the
//! configuration and the opened SOURCEs only.

use std::io::{IsTerminal, Write as _};

use anyhow::{anyhow, bail, Result};
use chrono::Utc;

use crate::cli::{parse_size, MemoryArgs, ScanArgs};
use trailwhy::authz;
use trailwhy::aws::AwsOptions;
use trailwhy::codebuild;
use trailwhy::correlate::SessionTags;
use trailwhy::decode::DecodeLimits;
use trailwhy::explain::call::CallFindings;
use trailwhy::explain::codebuild::explain_codebuild;
use trailwhy::explain::{Finding, WebIdFindings};
use trailwhy::integrity::{self, HashSink, Requirement, VerifyOptions};
use trailwhy::inventory::live;
use trailwhy::inventory::Inventory;
use trailwhy::read::count::S3Summary;
use trailwhy::scan::{scan_with, Failure, FailureStore, Scan, ScanExtras};
use trailwhy::select::Selector;
use trailwhy::selection::time::parse_duration;
use trailwhy::selection::{time::parse_time_bound, Window};
use trailwhy::source::athena::{self, sql::Want};
use trailwhy::source::s3::S3Options;
use trailwhy::source::{self, lookup, RemoteOptions, Source, Sources};

/// `--dry-run` printed the statements: the command ends here, successfully.
#[derive(Debug)]
pub struct DryRun;

impl std::fmt::Display for DryRun {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("dry run")
    }
}

impl std::error::Error for DryRun {}

/// The typed form of the scan flags.
pub struct ScanConfig {
    /// The SOURCE arguments, parsed (a bad URL or a missing path fails in `from_args`).
    pub sources: Vec<Source>,
    pub window: Window,
    pub limits: DecodeLimits,
    pub threads: Option<usize>,
    pub aws: AwsOptions,
    pub s3: S3Options,
    pub iam_live: bool,
    pub iam_roles: Vec<(String, String)>,
    /// `--codebuild-live`: projects whose recent builds are read through the API.
    pub codebuild_live: Vec<String>,
    pub quiet: bool,
    /// `--max-scan`: the most bytes an `athena://` query may scan.
    pub max_scan: Option<u64>,
    /// `--change-lookback`: change events are read from this long before `--since`.
    pub change_lookback: chrono::Duration,
    /// `--dry-run`: print the statements of `athena://` and `lake://`, run nothing.
    pub dry_run: bool,
    /// `--verify`: check the inputs against CloudTrail's digest files.
    pub verify: Option<VerifyOptions>,
    /// `--aws-details`, `--aws-details-dir`, `--save-aws-details`: AWS's record of denials.
    pub aws_details: authz::DetailsOptions,
    /// `--memory-limit`, `--temp-dir` (`explain`, `report`).
    pub memory: Memory,
}

/// The memory budget of a scan's state, and where it spills beyond it.
#[derive(Clone)]
pub struct Memory {
    pub limit: u64,
    /// The limit as given (`512M`), for messages.
    pub text: String,
    pub temp_dir: std::path::PathBuf,
}

impl Default for Memory {
    fn default() -> Memory {
        Memory {
            limit: 512 << 20,
            text: "512M".to_owned(),
            temp_dir: std::env::temp_dir(),
        }
    }
}

impl Memory {
    pub fn from_args(a: &MemoryArgs) -> Result<Memory> {
        let limit = parse_size(&a.memory_limit).map_err(|e| anyhow!("--memory-limit: {e}"))?;
        Ok(Memory {
            limit,
            text: a.memory_limit.clone(),
            temp_dir: a.temp_dir.clone().unwrap_or_else(std::env::temp_dir),
        })
    }

    /// The store the scan's failures go to: a sixty-fourth of the budget in memory (they are
    /// read once, in order, at the end), the rest spilled to a directory made now (an
    /// unusable one fails before the scan starts).
    pub fn store(&self) -> Result<FailureStore> {
        let dir = FailureStore::spill_dir(&self.temp_dir)?;
        let budget = usize::try_from(self.limit / 64).unwrap_or(usize::MAX);
        Ok(FailureStore::new(budget, Some(dir)))
    }

    /// The sessions' share of the budget (a sixteenth): beyond it they are written to the
    /// spill directory, and only those the failed calls use are read back.
    pub fn session_budget(&self) -> usize {
        usize::try_from(self.limit / 16).unwrap_or(usize::MAX)
    }
}

/// `--account` values are 12-digit account IDs.
pub fn check_accounts(accounts: &[String]) -> Result<()> {
    for acct in accounts {
        if acct.len() != 12 || !acct.chars().all(|c| c.is_ascii_digit()) {
            bail!("--account: '{acct}' is not a 12-digit AWS account id");
        }
    }
    Ok(())
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
        check_accounts(&a.account)?;
        if a.threads == Some(0) {
            bail!("--threads must be at least 1");
        }
        let max = parse_size(&a.max_decompressed_size)
            .map_err(|e| anyhow!("--max-decompressed-size: {e}"))?;
        Ok(ScanConfig {
            sources: Source::parse_all(&a.sources)?,
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
            aws: AwsOptions {
                profile: a.aws.profile.clone(),
                // like the AWS CLI: one --region is also the region requests go to
                region: match a.region.as_slice() {
                    [one] => Some(one.clone()),
                    _ => None,
                },
                endpoint_url: a.aws.endpoint_url.clone(),
            },
            s3: S3Options {
                concurrency: match a.aws.s3_concurrency {
                    0 => bail!("--s3-concurrency must be at least 1"),
                    n => n,
                },
                delivery_lag: parse_duration(&a.aws.delivery_lag).ok_or_else(|| {
                    anyhow!(
                        "--delivery-lag: '{}' is not a duration (e.g. 30m)",
                        a.aws.delivery_lag
                    )
                })?,
            },
            iam_live: a.aws.iam_live,
            iam_roles: a
                .aws
                .iam_role
                .iter()
                .map(|r| live::parse_iam_role(r))
                .collect::<Result<_>>()?,
            codebuild_live: a.aws.codebuild_live.clone(),
            quiet: a.aws.quiet,
            max_scan: a
                .aws
                .max_scan
                .as_deref()
                .map(|m| parse_size(m).map_err(|e| anyhow!("--max-scan: {e}")))
                .transpose()?,
            dry_run: a.aws.dry_run,
            change_lookback: parse_duration(a.aws.change_lookback.as_deref().unwrap_or("7d"))
                .ok_or_else(|| {
                    anyhow!(
                        "--change-lookback: '{}' is not a duration (e.g. 7d)",
                        a.aws.change_lookback.as_deref().unwrap_or_default()
                    )
                })?,
            aws_details: {
                if a.aws.save_aws_details.is_some() && !a.aws.aws_details {
                    bail!(
                        "--save-aws-details: saves what --aws-details fetches; add --aws-details"
                    );
                }
                authz::DetailsOptions {
                    live: a.aws.aws_details,
                    dir: a.aws.aws_details_dir.clone(),
                    save: a.aws.save_aws_details.clone(),
                }
            },
            // --public-keys and --require-verified imply --verify
            verify: (a.verify || a.public_keys.is_some() || a.require_verified).then(|| {
                VerifyOptions {
                    public_keys: a.public_keys.clone(),
                    requirement: if a.require_verified {
                        Requirement::EveryFileVerified
                    } else {
                        Requirement::Intact
                    },
                }
            }),
            memory: Memory::default(),
        })
    }

    /// Opens SOURCE arguments with these settings ([`source::open`]) and says on stderr when
    /// remote ones are read over the default window (unless `--quiet`).
    pub fn open_sources(
        &self,
        lookup: &lookup::Ask,
        athena: Want<'_>,
        need_aws: bool,
    ) -> Result<Sources> {
        if self.verify.is_some() {
            source::check_verifiable(&self.sources, "--verify: ")?;
        }
        let opened = source::open(
            &self.sources,
            &self.window,
            RemoteOptions {
                aws: &self.aws,
                s3: &self.s3,
                lookup,
                athena: &athena::Ask {
                    want: athena,
                    max_scan: self.max_scan,
                },
                need_aws,
                quiet: self.quiet,
                dry_run: self.dry_run,
            },
        )?;
        if self.dry_run {
            if opened.statements.is_empty() {
                bail!("--dry-run: no athena:// or lake:// SOURCE to show a statement of");
            }
            let mut out = std::io::stdout().lock();
            for (name, sql) in &opened.statements {
                writeln!(out, "-- {name}\n{sql}\n")?;
            }
            out.flush()?;
            return Err(DryRun.into());
        }
        if let (Some(names), false) = (&opened.defaulted, self.quiet) {
            eprintln!("trailwhy: no --since given: reading the last 24 hours of {names}");
        }
        Ok(opened)
    }

    /// What `athena://` selects for `explain` and `report`.
    pub fn explain_want(&self) -> Want<'static> {
        Want::Explain {
            lookback: self.change_lookback,
        }
    }

    /// Says on stderr what each `athena://` query did (unless `--quiet`).
    pub fn tell_queries(&self, opened: &Sources) {
        if self.quiet {
            return;
        }
        for q in opened.athena_summaries() {
            eprintln!("trailwhy: {}", q.line());
        }
    }

    /// `--verify`: the digests for these SOURCEs against the hashes the scan collected.
    pub fn verify_inputs(
        &self,
        opts: &VerifyOptions,
        aws: Option<&std::sync::Arc<trailwhy::aws::AwsContext>>,
        window: &Window,
        sink: &HashSink,
    ) -> Result<integrity::Integrity> {
        integrity::run(
            opts,
            &integrity::Run {
                sources: &self.sources,
                aws,
                window,
                delivery_lag: self.s3.delivery_lag,
                limits: &self.limits,
            },
            sink,
        )
    }
}

/// Scans SOURCEs and `--iam` inputs (and, with `--iam-live`, the AWS API); returns the log
/// scan and the inventory.
pub fn scan_with_inventory(args: &ScanArgs, cfg: &ScanConfig) -> Result<(Scan, Inventory)> {
    if args.sources.is_empty() && cfg.codebuild_live.is_empty() {
        bail!("no SOURCE given: name log files, directories, s3://bucket[/prefix], lookup://REGION, athena://DB.TABLE, lake://STORE, or - for stdin");
    }
    let need_aws = cfg.iam_live || !cfg.codebuild_live.is_empty() || cfg.aws_details.live;
    // the spill directory first: one that cannot be written fails before anything is read
    let store = cfg.memory.store()?;
    let mut opened = cfg.open_sources(&lookup::Ask::explain(), cfg.explain_want(), need_aws)?;
    let pre_skipped = std::mem::take(&mut opened.skipped);
    let ctx = opened.aws.clone();
    let selector = Selector::new(opened.window.clone());
    let progress = !cfg.quiet && std::io::stderr().is_terminal();
    let sink = cfg.verify.as_ref().map(|_| HashSink::new());
    let mut logs = scan_with(
        &opened.inputs,
        pre_skipped,
        &selector,
        &cfg.limits,
        cfg.threads,
        ScanExtras {
            progress,
            hashes: sink.as_ref(),
            store,
            session_budget: Some(cfg.memory.session_budget()),
        },
    )?;
    if let (Some(spill), false) = (logs.failures.spilled(), cfg.quiet) {
        eprintln!(
            "trailwhy: {} of {} failures kept on disk beyond --memory-limit {} ({} sorted run(s), {} MB, removed at exit)",
            spill.failures,
            logs.failures.len(),
            cfg.memory.text,
            spill.runs,
            spill.bytes / 1_000_000
        );
    }
    if let (Some(spill), false) = (logs.sessions.spilled(), cfg.quiet) {
        eprintln!(
            "trailwhy: {} sessions written to disk beyond --memory-limit {} ({} sorted run(s), removed at exit); the {} that failed calls used read back",
            spill.sessions,
            cfg.memory.text,
            spill.runs,
            logs.sessions.len()
        );
    }
    // a listing that failed fails the run, whatever was read before it
    opened.inputs.result()?;
    // Ctrl-C while a remote query ran (no input was left to notice it)
    logs.stats.interrupted |= trailwhy::interrupt::requested();
    if let (Some(opts), Some(sink)) = (&cfg.verify, &sink) {
        logs.integrity =
            Some(cfg.verify_inputs(opts, opened.aws.as_ref(), &opened.window, sink)?);
    }
    if let Some(stats) = &opened.s3_stats {
        logs.stats.s3 = Some(S3Summary::from(&**stats));
    }
    if opened.athena_stats.is_some() {
        logs.stats.queries = Some(opened.athena_summaries());
        cfg.tell_queries(&opened);
    }
    if let (false, Some(ctx)) = (cfg.codebuild_live.is_empty(), &ctx) {
        logs.build_docs
            .extend(codebuild::live::fetch(ctx, &cfg.codebuild_live)?);
    }
    let mut docs = std::mem::take(&mut logs.inventory_docs);
    let mut changes = std::mem::take(&mut logs.changes);
    if !args.iam.is_empty() {
        let (iam_inputs, iam_skipped) = source::expand(&args.iam);
        // their change events and documents are what is wanted: failures are not kept
        let mut iam = scan_with(
            &iam_inputs.into(),
            iam_skipped,
            &selector,
            &cfg.limits,
            cfg.threads,
            ScanExtras {
                store: FailureStore::discarding(),
                ..ScanExtras::default()
            },
        )?;
        docs.append(&mut iam.inventory_docs);
        changes.append(&mut iam.changes);
        // --iam inputs that could not be read (or only in part) count like any other input
        logs.stats.files_unreadable += iam.stats.files_unreadable;
        logs.stats.files_partly_read += iam.stats.files_partly_read;
        logs.stats.problems.extend(iam.stats.problems);
        logs.stats.problems_omitted += iam.stats.problems_omitted;
        logs.stats
            .skipped
            .extend(iam.stats.skipped.into_iter().filter(|s| !s.by_design));
    }
    if let (true, Some(ctx)) = (cfg.iam_live, &ctx) {
        docs.extend(live::fetch(ctx, &live_request(&mut logs, cfg)?)?);
    }
    let inventory = Inventory::build(&docs, changes);
    if cfg.aws_details.wanted() {
        let mut wanted = authz::WantedIds::default();
        logs.failures.for_each(|f| {
            if let Failure::Call(c) = &f {
                wanted.add(c);
            }
        })?;
        logs.aws_details = Some(authz::gather(wanted, &cfg.aws_details, ctx.as_ref())?);
    }
    Ok((logs, inventory))
}

/// What `--iam-live` must read beyond the account-wide details, from what the scan found.
fn live_request(logs: &mut Scan, cfg: &ScanConfig) -> Result<live::LiveRequest> {
    let mut req = live::LiveRequest {
        roles: cfg.iam_roles.clone(),
        ..Default::default()
    };
    logs.failures.for_each(|f| match &f {
        Failure::WebId(a) if a.error_code.as_deref() == Some("ValidationError") => {
            let Some(arn) = a.role_arn.as_deref() else {
                return;
            };
            if let (Some(acct), Some(name)) = (
                trailwhy::event::arn_account(arn),
                trailwhy::event::role_name_from_arn(arn),
            ) {
                let role = (acct.to_owned(), name.to_owned());
                req.max_session_roles.push(role);
            }
        }
        Failure::Call(f) if f.event_source == "ecr.amazonaws.com" => {
            let Some(name) = f.request.get("repositoryName").and_then(|v| v.as_str()) else {
                return;
            };
            let registry = f
                .request
                .get("registryId")
                .and_then(|v| v.as_str())
                .map(str::to_owned)
                .or_else(|| {
                    f.caller_arn
                        .as_deref()
                        .and_then(trailwhy::event::arn_account)
                        .map(str::to_owned)
                });
            if let (Some(region), Some(registry)) = (f.region.clone(), registry) {
                let key = (region, registry, name.to_owned());
                if !req.repositories.contains(&key) {
                    req.repositories.push(key);
                }
            }
        }
        _ => {}
    })?;
    Ok(req)
}

/// The findings of the scan (session join, explanations, sorting), with the scan and the
/// inventory.
pub fn findings(args: &ScanArgs, cfg: &ScanConfig) -> Result<(Vec<Finding>, Scan, Inventory)> {
    findings_with(args, cfg, None, false)
}

/// As [`findings`]; with `bucket`, each finding also counts its events in buckets of that
/// many seconds (`Finding::times`, for `report`'s timeline).
pub fn findings_counted(
    args: &ScanArgs,
    cfg: &ScanConfig,
    bucket: Option<i64>,
) -> Result<(Vec<Finding>, Scan, Inventory)> {
    findings_with(args, cfg, bucket, false)
}

/// As [`findings_counted`]; with `all_ids`, a finding lists every event ID (`watch`).
pub fn findings_with(
    args: &ScanArgs,
    cfg: &ScanConfig,
    bucket: Option<i64>,
    all_ids: bool,
) -> Result<(Vec<Finding>, Scan, Inventory)> {
    let (mut scan, inventory) = scan_with_inventory(args, cfg)?;
    let tags = SessionTags::new(&scan.tagged_sessions);
    let no_records = authz::AwsRecords::default();
    let aws = scan.aws_details.as_ref().unwrap_or(&no_records);
    let mut web_id = WebIdFindings::new(&inventory);
    let mut calls = CallFindings::new(&scan.sessions, &inventory, aws);
    if let Some(seconds) = bucket {
        web_id = web_id.count_by(seconds);
        calls = calls.count_by(seconds);
    }
    if all_ids {
        web_id = web_id.all_ids();
        calls = calls.all_ids();
    }
    let marks = scan.integrity.as_ref().map(Unverified::new);
    // every failure once, in time order, from memory or from the spilled runs
    scan.failures.for_each(|f| match f {
        Failure::WebId(a) => {
            let finding = web_id.add(&a);
            if let (Some(m), Some(f)) = (&marks, finding) {
                m.mark(&a.event_id, f);
            }
        }
        Failure::Call(mut c) => {
            tags.attach(&mut c);
            let finding = calls.add(&c);
            if let Some(m) = &marks {
                m.mark(&c.event_id, finding);
            }
        }
    })?;
    let mut findings = web_id.finish();
    findings.extend(calls.finish());
    if let Some(d) = &mut scan.aws_details {
        d.summary.disagreements = findings
            .iter()
            .filter(|f| f.details.contains_key("verdict_disagreement"))
            .map(|f| f.count as usize)
            .sum();
    }
    let mut builds = explain_codebuild(&scan.build_docs, &inventory, &cfg.window);
    if let Some(m) = &marks {
        for f in &mut builds {
            for id in f.event_ids.clone() {
                m.mark(&id.to_string(), f);
            }
        }
    }
    findings.extend(builds);
    findings.sort_by(|a, b| {
        a.first_seen
            .cmp(&b.first_seen)
            .then_with(|| a.cause.cmp(&b.cause))
    });
    Ok((findings, scan, inventory))
}

/// `--verify`: marks each finding whose events come from a file that is not verified; its
/// `details.integrity` lists those files with their verdicts. Marked as the events arrive:
/// a finding lists only its first event IDs.
struct Unverified<'i> {
    integrity: &'i integrity::Integrity,
    by_file: std::collections::HashMap<&'i str, &'i integrity::FileResult>,
}

impl<'i> Unverified<'i> {
    fn new(integrity: &'i integrity::Integrity) -> Unverified<'i> {
        Unverified {
            integrity,
            by_file: integrity
                .files
                .iter()
                .map(|f| (f.file.as_str(), f))
                .collect(),
        }
    }

    /// Adds the file of event `id` to `f`'s list when it is not verified.
    fn mark(&self, id: &str, f: &mut Finding) {
        let Some(r) = (self.integrity.event_files.get(id))
            .and_then(|file| self.by_file.get(file.as_str()))
            .filter(|r| r.verdict != integrity::Verdict::Verified)
        else {
            return;
        };
        let entry =
            || serde_json::json!({"file": r.file, "verdict": r.verdict, "reason": r.reason});
        match f.details.json_mut("integrity") {
            Some(serde_json::Value::Array(list)) => {
                // sorted by file, each file once
                let at = list.binary_search_by(|e| {
                    e["file"].as_str().unwrap_or_default().cmp(r.file.as_str())
                });
                if let Err(at) = at {
                    list.insert(at, entry());
                }
            }
            _ => f
                .details
                .insert("integrity".to_owned(), serde_json::json!([entry()])),
        }
    }
}
