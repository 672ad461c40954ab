//! Where bytes come from: local files, directories walked recursively, stdin, and remote
//! objects (S3, CloudTrail LookupEvents) that stream their bytes as they arrive.
//!
//! A source turns command-line SOURCE arguments into a list of [`Input`]s to read and a
//! list of [`Skipped`] entries (files skipped by design — digests, insight files, trail
//! write checks, files that are not logs by name — and paths that could not be opened). Text
//! names (`.log`, `.txt`) are read too: CodeBuild build logs are text.
//! It never decodes anything: that is `decode`'s job. Async code (tokio, the AWS SDK) lives
//! only in the AWS-facing submodules; what they hand out is a plain blocking `Read`.
//!
//! [`open`] is the one entry for every command that scans: local SOURCEs expanded, remote
//! ones listed (`s3://` pruned by the window, accounts and regions; `lookup://` queried
//! with the window and an attribute pushed down), and the window they were read with. The
//! inputs come as [`Inputs`], an ordered list that an `s3://` listing keeps growing while
//! the scan reads the first objects.

pub mod athena;
pub mod channel;
mod inputs;
pub mod lake;
pub mod lookup;
pub mod notify;
pub mod pushdown;
pub mod queue;
pub mod s3;

pub use inputs::Inputs;

use std::fmt;
use std::fs::File;
use std::io::{self, Read};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::Result;
use chrono::{DateTime, Duration as ChronoDuration, Utc};

use crate::aws::{AwsContext, AwsOptions};
use crate::selection::Window;
use s3::{ListStats, S3Options, S3Url};

/// A remote object: named in every message, opened once, streamed.
pub trait Remote: Send + Sync {
    fn name(&self) -> String;
    fn open(&self) -> io::Result<Box<dyn Read + Send>>;
}

/// One thing to read.
#[derive(Clone)]
pub enum Input {
    File(PathBuf),
    Stdin,
    Remote(Arc<dyn Remote>),
}

impl fmt::Debug for Input {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.display_name())
    }
}

impl Input {
    /// The name used in every message about this input.
    pub fn display_name(&self) -> String {
        match self {
            Input::File(p) => p.display().to_string(),
            Input::Stdin => "<stdin>".to_owned(),
            Input::Remote(r) => r.name(),
        }
    }

    pub fn open(&self) -> io::Result<Box<dyn Read + Send>> {
        match self {
            Input::File(p) => Ok(Box::new(File::open(p)?)),
            Input::Stdin => Ok(Box::new(io::stdin())),
            Input::Remote(r) => r.open(),
        }
    }
}

/// What kind of SOURCE an argument names, and what that kind can do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// A file or a directory.
    Local,
    /// `-`: standard input.
    Stdin,
    /// `s3://BUCKET[/PREFIX]`: a trail bucket, listed by its key layout.
    S3,
    /// `lookup://REGION[,REGION]`: CloudTrail LookupEvents.
    Lookup,
    /// `athena://DATABASE.TABLE`: a query over a Glue table of the trail.
    Athena,
    /// `lake://EVENT_DATA_STORE`: a CloudTrail Lake query.
    Lake,
}

impl Kind {
    /// The kind of a SOURCE argument (by its scheme; anything else is a local path).
    fn of(source: &str) -> Kind {
        if source == "-" {
            Kind::Stdin
        } else if source.starts_with("s3://") {
            Kind::S3
        } else if source.starts_with("lookup://") {
            Kind::Lookup
        } else if source.starts_with("athena://") {
            Kind::Athena
        } else if source.starts_with("lake://") {
            Kind::Lake
        } else {
            Kind::Local
        }
    }

    /// Whether the kind is read through AWS.
    pub fn is_remote(self) -> bool {
        matches!(self, Kind::S3 | Kind::Lookup | Kind::Athena | Kind::Lake)
    }

    /// Why log files read from this kind cannot be checked against CloudTrail's digest
    /// files, or `None` when they can (trail files: local copies and the bucket).
    pub fn no_digests(self) -> Option<&'static str> {
        match self {
            // stdin is read and reported `unverifiable` with its reason, file by file
            Kind::Local | Kind::S3 | Kind::Stdin => None,
            Kind::Lookup => Some("LookupEvents returns events, not the trail's files"),
            Kind::Athena | Kind::Lake => Some("query results are rows, not the trail's files"),
        }
    }
}

/// A SOURCE argument, parsed once when the arguments become configuration: a bad URL or a
/// missing path is a usage error before anything runs.
#[derive(Debug, Clone)]
pub struct Source {
    /// The argument as given (for messages).
    pub arg: String,
    pub place: Place,
}

/// Where a SOURCE's records are, by kind.
#[derive(Debug, Clone)]
pub enum Place {
    /// A file or a directory.
    Local(PathBuf),
    /// `-`: standard input.
    Stdin,
    S3(S3Url),
    /// The regions LookupEvents is asked in.
    Lookup(Vec<String>),
    Athena(athena::AthenaUrl),
    Lake(lake::LakeUrl),
}

impl Source {
    /// Parses one SOURCE argument.
    pub fn parse(arg: &str) -> Result<Source> {
        let place = match Kind::of(arg) {
            Kind::Stdin => Place::Stdin,
            Kind::S3 => Place::S3(S3Url::parse(arg)?),
            Kind::Lookup => Place::Lookup(lookup::parse_regions(arg)?),
            Kind::Athena => Place::Athena(athena::AthenaUrl::parse(arg)?),
            Kind::Lake => Place::Lake(lake::LakeUrl::parse(arg)?),
            Kind::Local => {
                if let Err(e) = std::fs::metadata(arg) {
                    if e.kind() == io::ErrorKind::NotFound {
                        // (main makes every error line terminal-safe)
                        anyhow::bail!(
                            "{arg}: no such file or directory (a SOURCE is a file, a directory, -, s3://, lookup://, athena:// or lake://)"
                        );
                    }
                }
                Place::Local(PathBuf::from(arg))
            }
        };
        Ok(Source {
            arg: arg.to_owned(),
            place,
        })
    }

    /// Parses every SOURCE argument, failing at the first bad one.
    pub fn parse_all(args: &[String]) -> Result<Vec<Source>> {
        args.iter().map(|a| Source::parse(a)).collect()
    }

    /// What kind of SOURCE it is.
    pub fn kind(&self) -> Kind {
        match self.place {
            Place::Local(_) => Kind::Local,
            Place::Stdin => Kind::Stdin,
            Place::S3(_) => Kind::S3,
            Place::Lookup(_) => Kind::Lookup,
            Place::Athena(_) => Kind::Athena,
            Place::Lake(_) => Kind::Lake,
        }
    }
}

/// Whether a SOURCE argument names a remote source rather than a local path.
pub fn is_remote(source: &str) -> bool {
    Kind::of(source).is_remote()
}

/// Refuses, before anything runs, a SOURCE whose files cannot be verified (`verify`, and
/// `--verify` on the other commands).
pub fn check_verifiable(sources: &[Source], flag: &str) -> Result<()> {
    for s in sources {
        if let Some(why) = s.kind().no_digests() {
            anyhow::bail!(
                "{flag}{}: {why}, so nothing can be verified against digest files; verify the trail bucket (s3://) or a local copy of it instead",
                s.arg
            );
        }
    }
    Ok(())
}

/// How remote SOURCEs are read.
#[derive(Clone, Copy)]
pub struct RemoteOptions<'a> {
    pub aws: &'a AwsOptions,
    pub s3: &'a S3Options,
    /// What each region's LookupEvents queries ask for.
    pub lookup: &'a lookup::Ask,
    /// What `athena://` queries select.
    pub athena: &'a athena::Ask<'a>,
    /// An AWS context is wanted even without a remote SOURCE (`--iam-live`, …).
    pub need_aws: bool,
    /// No warnings on stderr.
    pub quiet: bool,
    /// Compile the `athena://` and `lake://` statements but start nothing: they are in
    /// [`Sources::statements`], and no remote input is read.
    pub dry_run: bool,
}

/// SOURCE arguments opened for a scan.
pub struct Sources {
    /// Local inputs first, then each remote SOURCE's in argument order (`s3://` in key
    /// order, still arriving while it is listed). After the scan, [`Inputs::result`] says
    /// whether a listing failed.
    pub inputs: Arc<Inputs>,
    /// Local paths that were skipped by design or could not be opened.
    pub skipped: Vec<Skipped>,
    /// The window to scan with: the one asked for, or, with a remote SOURCE and no
    /// `--since`, the last 24 hours (until now, when `--until` is not given either).
    pub window: Window,
    /// The remote SOURCEs read over that default window (the caller says so on stderr).
    pub defaulted: Option<String>,
    /// The AWS context remote inputs stream through; it must outlive the scan.
    pub aws: Option<Arc<AwsContext>>,
    /// What the `s3://` listings did, when there was one.
    pub s3_stats: Option<Arc<ListStats>>,
    /// What the `athena://` and `lake://` queries did, when there was one.
    pub athena_stats: Option<Arc<athena::Stats>>,
    /// Each `athena://` and `lake://` SOURCE and the statement it submits (or, with
    /// `dry_run`, would submit).
    pub statements: Vec<(String, String)>,
}

impl Sources {
    /// What each `athena://` query did, in the order they ran.
    pub fn athena_summaries(&self) -> Vec<athena::QuerySummary> {
        self.athena_stats
            .as_ref()
            .and_then(|s| s.queries.lock().ok().map(|q| q.clone()))
            .unwrap_or_default()
    }
}

/// Opens SOURCEs: local ones expanded ([`expand`]), remote ones listed or queried over the window
/// (see [`Sources::window`]), `s3://` pruned by the window, `--account` and `--region`.
pub fn open(sources: &[Source], window: &Window, opts: RemoteOptions<'_>) -> Result<Sources> {
    let remote: Vec<&Source> = sources.iter().filter(|s| s.kind().is_remote()).collect();
    let (window, defaulted) = remote_window(window, !remote.is_empty(), Utc::now());
    let defaulted = defaulted.then(|| {
        remote
            .iter()
            .map(|s| s.arg.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    });
    let aws = if !remote.is_empty() || opts.need_aws {
        let ctx = AwsContext::new(opts.aws.clone())?;
        // once, before any request: not one failure per query or object
        if !opts.dry_run {
            ctx.check_credentials()?;
        }
        Some(Arc::new(ctx))
    } else {
        None
    };
    let local_args: Vec<String> = sources
        .iter()
        .filter(|s| !s.kind().is_remote())
        .map(|s| s.arg.clone())
        .collect();
    let (local, skipped) = expand(&local_args);
    let mut s3_stats = None;
    let mut athena_stats = None;
    // Every bucket's region first (a missing bucket fails before the scan), LookupEvents
    // queries started; then one task lists the buckets and appends the remote inputs in
    // argument order while the scan reads.
    let mut parts = Vec::new();
    if let Some(ctx) = &aws {
        for source in &remote {
            match &source.place {
                Place::Local(_) | Place::Stdin => {}
                Place::S3(url) => {
                    let stats = s3_stats.get_or_insert_with(|| Arc::new(ListStats::default()));
                    parts.push(Part::S3(s3::prepare(ctx, url, &window, opts.s3, stats)?));
                }
                Place::Athena(url) => {
                    let stats =
                        athena_stats.get_or_insert_with(|| Arc::new(athena::Stats::default()));
                    parts.push(Part::Athena(Box::new(athena::prepare(
                        ctx,
                        url,
                        &window,
                        opts.athena,
                        opts.s3,
                        stats,
                        opts.quiet,
                    )?)));
                }
                Place::Lake(url) => {
                    let stats =
                        athena_stats.get_or_insert_with(|| Arc::new(athena::Stats::default()));
                    parts.push(Part::Lake(Box::new(lake::prepare(
                        ctx,
                        url,
                        &window,
                        opts.athena,
                        stats,
                    )?)));
                }
                Place::Lookup(regions) => {
                    if let (Some(since), Some(until)) = (window.since, window.until) {
                        let started = lookup::inputs(ctx, regions, since, until, opts.lookup);
                        parts.push(Part::Ready(started));
                    }
                }
            }
        }
    }
    let statements: Vec<(String, String)> = parts
        .iter()
        .filter_map(|p| match p {
            Part::Athena(q) => Some((q.name(), q.sql().to_owned())),
            Part::Lake(q) => Some((q.name(), q.sql().to_owned())),
            _ => None,
        })
        .collect();
    if opts.dry_run {
        parts.clear();
    }
    let inputs = match (&aws, parts.is_empty()) {
        (Some(ctx), false) => {
            let inputs = Arc::new(Inputs::growing(local));
            let feed = inputs.clone();
            let task = ctx.spawn(async move {
                let listed = append(parts, &feed).await;
                feed.finish(listed);
            });
            inputs.on_cancel(Box::new(move || task.abort()));
            inputs
        }
        _ => Arc::new(Inputs::from(local)),
    };
    Ok(Sources {
        inputs,
        skipped,
        window,
        defaulted,
        aws,
        s3_stats,
        athena_stats,
        statements,
    })
}

/// A remote SOURCE's inputs: a bucket still to list, or inputs already started.
enum Part {
    S3(s3::Listing),
    Athena(Box<athena::Prepared>),
    Lake(Box<lake::Prepared>),
    Ready(Vec<Input>),
}

/// Appends the remote inputs to `inputs`, SOURCE by SOURCE.
async fn append(parts: Vec<Part>, inputs: &Arc<Inputs>) -> Result<()> {
    for part in parts {
        match part {
            Part::S3(listing) => listing.run(inputs.clone()).await?,
            Part::Athena(query) => query.run(inputs.clone()).await?,
            Part::Lake(query) => query.run(inputs.clone()).await?,
            Part::Ready(ready) => ready.into_iter().for_each(|i| inputs.push(i)),
        }
    }
    Ok(())
}

/// The window remote sources are read with: without `--since`, the last 24 hours before
/// `now`; without `--until`, until `now`. Also whether the default `--since` was taken.
fn remote_window(window: &Window, remote: bool, now: DateTime<Utc>) -> (Window, bool) {
    let mut w = window.clone();
    if !remote {
        return (w, false);
    }
    let defaulted = w.since.is_none();
    if defaulted {
        w.since = Some(now - ChronoDuration::hours(24));
    }
    w.until.get_or_insert(now);
    (w, defaulted)
}

/// Why an input was not read (or not read completely).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Skipped {
    pub name: String,
    pub reason: String,
    /// Skipped by design (digest, insight, not a log): counted, but does not change the exit code.
    pub by_design: bool,
}

/// Expands SOURCE arguments. Files named explicitly are always read; inside directories,
/// trail side files and files whose names are not log names are skipped by design.
pub fn expand(sources: &[String]) -> (Vec<Input>, Vec<Skipped>) {
    let mut inputs = Vec::new();
    let mut skipped = Vec::new();
    for s in sources.iter().filter(|s| !is_remote(s)) {
        if s == "-" {
            inputs.push(Input::Stdin);
            continue;
        }
        let path = Path::new(s);
        match std::fs::metadata(path) {
            Ok(m) if m.is_dir() => walk(path, &mut inputs, &mut skipped),
            Ok(_) => inputs.push(Input::File(path.to_path_buf())),
            Err(e) => skipped.push(Skipped {
                name: s.clone(),
                reason: io_reason(&e),
                by_design: false,
            }),
        }
    }
    (inputs, skipped)
}

fn walk(dir: &Path, inputs: &mut Vec<Input>, skipped: &mut Vec<Skipped>) {
    for entry in walkdir::WalkDir::new(dir).sort_by_file_name() {
        let entry = match entry {
            Ok(e) => e,
            Err(e) => {
                let name = e
                    .path()
                    .map_or_else(|| dir.display().to_string(), |p| p.display().to_string());
                let reason = e.io_error().map_or_else(|| e.to_string(), io_reason);
                skipped.push(Skipped {
                    name,
                    reason,
                    by_design: false,
                });
                continue;
            }
        };
        if !entry.file_type().is_file() {
            continue;
        }
        let path = entry.path();
        match classify_path(path) {
            PathClass::Log => inputs.push(Input::File(path.to_path_buf())),
            PathClass::SkipByDesign(reason) => skipped.push(Skipped {
                name: path.display().to_string(),
                reason: reason.to_owned(),
                by_design: true,
            }),
        }
    }
}

#[derive(Debug, PartialEq, Eq)]
enum PathClass {
    Log,
    SkipByDesign(&'static str),
}

/// Decides from the path alone whether a file found in a directory walk is worth opening.
fn classify_path(path: &Path) -> PathClass {
    let components: Vec<&str> = path.iter().filter_map(|c| c.to_str()).collect();
    if components.contains(&"CloudTrail-Digest") {
        return PathClass::SkipByDesign("CloudTrail digest file");
    }
    if components.contains(&"CloudTrail-Insight") {
        return PathClass::SkipByDesign("CloudTrail Insights file");
    }
    let name = path
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or_default();
    if name == "ConfigWritabilityCheckFile" {
        return PathClass::SkipByDesign("trail write-check object, not a log");
    }
    if name.starts_with('.') {
        return PathClass::SkipByDesign("hidden file");
    }
    let lower = name.to_ascii_lowercase();
    const LOG_ENDINGS: &[&str] = &[
        ".json",
        ".json.gz",
        ".gz",
        ".jsonl",
        ".ndjson",
        ".jsonl.gz",
        ".ndjson.gz",
        // CodeBuild build logs; text that is not one is skipped by the scan, by design
        ".log",
        ".txt",
        ".log.gz",
        ".txt.gz",
    ];
    if LOG_ENDINGS.iter().any(|e| lower.ends_with(e)) {
        PathClass::Log
    } else {
        PathClass::SkipByDesign(
            "not a log file name (expected .json, .json.gz, .jsonl, .gz, .log or .txt)",
        )
    }
}

/// A short lowercase reason for an IO error.
pub fn io_reason(e: &io::Error) -> String {
    match e.kind() {
        io::ErrorKind::NotFound => "no such file or directory".to_owned(),
        io::ErrorKind::PermissionDenied => "permission denied".to_owned(),
        _ => e.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn path_classes() {
        let digest = Path::new("b/AWSLogs/1/CloudTrail-Digest/us-east-1/2026/10/01/x.json.gz");
        assert_eq!(
            classify_path(digest),
            PathClass::SkipByDesign("CloudTrail digest file")
        );
        let log = Path::new("b/AWSLogs/1/CloudTrail/us-east-1/2026/10/01/1_CloudTrail_us-east-1_20261001T0000Z_x.json.gz");
        assert_eq!(classify_path(log), PathClass::Log);
        assert!(matches!(
            classify_path(Path::new("x/README.md")),
            PathClass::SkipByDesign(_)
        ));
        assert_eq!(
            classify_path(Path::new("codebuild/logs/p:0b6f1d3c.log")),
            PathClass::Log
        );
        assert!(matches!(
            classify_path(Path::new("x/ConfigWritabilityCheckFile")),
            PathClass::SkipByDesign(_)
        ));
    }

    #[test]
    fn remote_sources_default_to_the_last_day() {
        let now = Utc::now();
        let given = Window {
            since: Some(now - ChronoDuration::hours(2)),
            ..Window::default()
        };
        let (w, defaulted) = remote_window(&Window::default(), true, now);
        assert!(defaulted);
        assert_eq!(w.since, Some(now - ChronoDuration::hours(24)));
        assert_eq!(w.until, Some(now));
        let (w, defaulted) = remote_window(&given, true, now);
        assert!(!defaulted);
        assert_eq!((w.since, w.until), (given.since, Some(now)));
        // local sources keep an open window
        let (w, defaulted) = remote_window(&Window::default(), false, now);
        assert!(!defaulted && w.since.is_none() && w.until.is_none());
    }

    #[test]
    fn bad_remote_urls_are_refused_before_any_request() {
        for bad in [
            "s3://",
            "lookup://",
            "lookup://us east",
            "athena://db",
            "athena://d.t?x=1",
            "lake://",
            "lake://a b",
        ] {
            let err = Source::parse(bad).err().unwrap_or_else(|| panic!("{bad}"));
            assert!(err.to_string().contains(bad), "{err}");
        }
    }

    #[test]
    fn missing_path_is_named() {
        let (inputs, skipped) = expand(&["/definitely/not/here".to_owned()]);
        assert!(inputs.is_empty());
        assert_eq!(skipped[0].name, "/definitely/not/here");
        assert_eq!(skipped[0].reason, "no such file or directory");
        assert!(!skipped[0].by_design);
    }
}
