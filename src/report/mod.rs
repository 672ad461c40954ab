//! The only place that writes user output: findings and summaries as a readable table,
//! JSON or NDJSON, to a writer handed in. Every string that came from a log passes through
//! [`sanitize::terminal_safe`] before it reaches the text formats; JSON output relies on
//! serde's escaping.

pub mod document;
pub mod html;
pub mod markdown;
pub mod sanitize;
pub mod state;
pub mod suppress;
pub mod verify;

use std::collections::BTreeMap;
use std::io::{self, Write};

use serde::Serialize;

use crate::explain::{Evidence, Finding};
use crate::inventory::LoadProblem;
use crate::read::{ScanStats, PROBLEMS_PER_FILE};
use sanitize::terminal_safe;

/// Output formats of `explain`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    Table,
    Json,
    Ndjson,
}

/// The JSON summary.
#[derive(Debug, Clone, Serialize)]
pub struct Summary {
    pub findings: usize,
    pub failed_events: u64,
    pub by_cause: BTreeMap<String, u64>,
    /// How the inputs were read (`files_read`, `files_partly_read`, `skipped`, `problems`,
    /// `records_*`, `bytes_decompressed`, `interrupted`, `failures_outside_window`, `s3`,
    /// `queries`): the same counts, under the same names, as every command's summary.
    #[serde(flatten)]
    pub scan: ScanStats,
    pub inventory_problems: Vec<LoadProblem>,
    pub elapsed_seconds: f64,
    /// True when some input could not be read completely (exit code 3).
    pub partial: bool,
    /// The process's peak resident memory so far (Linux `VmHWM`); absent where unknown.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub peak_rss_bytes: Option<u64>,
    /// `--verify`: counts per verdict and the files not verified.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub integrity: Option<crate::integrity::Integrity>,
    /// `--aws-details`, `--aws-details-dir`: authorization IDs seen, fetched, read from files,
    /// missing by reason, and the failures where the tool's evaluation disagrees with AWS's.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub aws_details: Option<crate::authz::AwsDetailsSummary>,
}

/// The JSON summary of `query` (`--summary FILE`): the rows written, and the scan's counts
/// under the same names as in [`Summary`] (`records_matched`: records that passed the
/// filters).
#[derive(Debug, Clone, Serialize)]
pub struct QuerySummary {
    pub rows: u64,
    #[serde(flatten)]
    pub scan: ScanStats,
    /// jq runtime errors (the first is on stderr).
    pub jq_errors: u64,
    pub elapsed_seconds: f64,
    /// True when some input could not be read completely (exit code 3).
    pub partial: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub integrity: Option<crate::integrity::Integrity>,
}

impl QuerySummary {
    pub fn new(rows: u64, jq_errors: u64, stats: &ScanStats, elapsed_seconds: f64) -> QuerySummary {
        QuerySummary {
            rows,
            scan: stats.clone(),
            jq_errors,
            elapsed_seconds: (elapsed_seconds * 1000.0).round() / 1000.0,
            partial: stats.not_fully_read(),
            integrity: None,
        }
    }

    /// Adds the `--verify` result, as [`Summary::with_integrity`] does.
    pub fn with_integrity(
        mut self,
        integrity: Option<&crate::integrity::Integrity>,
    ) -> QuerySummary {
        if let Some(i) = integrity {
            self.partial |= i.unreadable > 0;
            self.integrity = Some(i.summary());
        }
        self
    }

    /// Writes `{"summary":{…}}`, as in explain's JSON output.
    pub fn write<W: Write>(&self, w: &mut W) -> io::Result<()> {
        #[derive(Serialize)]
        struct Wrapped<'a> {
            summary: &'a QuerySummary,
        }
        serde_json::to_writer_pretty(&mut *w, &Wrapped { summary: self })?;
        writeln!(w)
    }
}

/// Peak resident set size of this process, from `/proc/self/status` (Linux only).
pub fn peak_rss_bytes() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024)
}

impl Summary {
    pub fn new(
        findings: &[Finding],
        stats: &ScanStats,
        problems: &[LoadProblem],
        elapsed_seconds: f64,
    ) -> Summary {
        let mut by_cause = BTreeMap::new();
        for f in findings {
            *by_cause.entry(f.cause.code().to_owned()).or_insert(0) += f.count;
        }
        Summary {
            findings: findings.len(),
            failed_events: findings.iter().map(|f| f.count).sum(),
            by_cause,
            scan: stats.clone(),
            inventory_problems: problems.to_vec(),
            elapsed_seconds: (elapsed_seconds * 1000.0).round() / 1000.0,
            partial: stats.not_fully_read() || stats.interrupted,
            peak_rss_bytes: peak_rss_bytes(),
            integrity: None,
            aws_details: None,
        }
    }

    /// Adds the `--verify` result (files not verified only); a digest that could not be
    /// read makes the run partial.
    pub fn with_integrity(mut self, integrity: Option<&crate::integrity::Integrity>) -> Summary {
        if let Some(i) = integrity {
            self.partial |= i.unreadable > 0;
            self.integrity = Some(i.summary());
        }
        self
    }

    /// AWS's records of the denials: the summary's counts.
    pub fn with_aws_details(mut self, d: Option<&crate::authz::AwsDetailsSummary>) -> Summary {
        self.aws_details = d.cloned();
        self
    }

    /// `--verify` found evidence that cannot be trusted, or `--require-verified` a log file
    /// that is not verified (exit code 4).
    pub fn untrusted(&self) -> bool {
        self.integrity.as_ref().is_some_and(|i| i.fails())
    }
}

/// The note under a finding whose events come from files that are not verified.
pub fn integrity_note(f: &Finding) -> Option<String> {
    let files = f.details.get("integrity")?.as_array()?;
    let parts: Vec<String> = files
        .iter()
        .map(|x| {
            format!(
                "{} ({})",
                x["file"].as_str().unwrap_or_default(),
                x["verdict"].as_str().unwrap_or_default()
            )
        })
        .collect();
    Some(format!(
        "events from a file that is not verified: {}",
        parts.join(", ")
    ))
}

/// `--verify` problems on stderr, one line each.
pub fn write_integrity_problems<W: Write>(
    w: &mut W,
    integrity: Option<&crate::integrity::Integrity>,
) -> io::Result<()> {
    for p in integrity.iter().flat_map(|i| i.problems.iter()) {
        writeln!(w, "trailwhy: {}", t(p))?;
    }
    if let Some(line) = integrity.and_then(|i| i.not_verified_line()) {
        writeln!(w, "trailwhy: {}", t(&line))?;
    }
    Ok(())
}

/// One stderr line per reason AWS's record of some denials is missing, and one for the
/// failures where the tool's evaluation disagrees with AWS's.
pub fn write_aws_details_problems<W: Write>(
    w: &mut W,
    d: Option<&crate::authz::AwsDetailsSummary>,
) -> io::Result<()> {
    let Some(d) = d else { return Ok(()) };
    for p in &d.problems {
        writeln!(w, "trailwhy: AWS's record of a denial: {}", t(p))?;
    }
    if d.disagreements > 0 {
        writeln!(
            w,
            "trailwhy: {} failed call(s) where the tool's own evaluation disagrees with AWS's record (details.verdict_disagreement): AWS's word is reported",
            d.disagreements
        )?;
    }
    Ok(())
}

#[derive(Serialize)]
struct JsonReport<'a> {
    findings: &'a [Finding],
    summary: &'a Summary,
}

/// Writes findings in `format`. `width` is the terminal's width when the table goes to one:
/// its `why`, `fix` and `evidence` text is then wrapped to it with a hanging indent; `None`
/// writes each on one line (for files, pipes and other programs).
pub fn write_findings<W: Write>(
    w: &mut W,
    format: Format,
    findings: &[Finding],
    summary: &Summary,
    width: Option<usize>,
) -> io::Result<()> {
    match format {
        Format::Json => {
            serde_json::to_writer_pretty(&mut *w, &JsonReport { findings, summary })?;
            writeln!(w)
        }
        Format::Ndjson => {
            for f in findings {
                serde_json::to_writer(&mut *w, f)?;
                writeln!(w)?;
            }
            Ok(())
        }
        Format::Table => write_table(w, findings, summary, width),
    }
}

/// The indent of a field's text in the table (`    why      `).
const FIELD_INDENT: usize = 13;
/// Below this many columns of text, wrapping would only make the table harder to read.
const NARROWEST_WRAP: usize = 30;

/// One labelled field of a finding: on one line, or wrapped to `width` with the text's
/// continuation lines under its first word. Words longer than a line (ARNs, JSON) are kept
/// whole, so they can still be copied.
fn write_field<W: Write>(
    w: &mut W,
    label: &str,
    text: &str,
    width: Option<usize>,
) -> io::Result<()> {
    let first = format!("    {label:<9}");
    match width {
        Some(cols) if cols >= FIELD_INDENT + NARROWEST_WRAP => {
            let rest = " ".repeat(FIELD_INDENT);
            let options = textwrap::Options::new(cols)
                .initial_indent(&first)
                .subsequent_indent(&rest)
                .break_words(false)
                .word_splitter(textwrap::WordSplitter::NoHyphenation);
            for line in textwrap::wrap(text, options) {
                writeln!(w, "{}", line.trim_end())?;
            }
            Ok(())
        }
        _ => writeln!(w, "{first}{text}"),
    }
}

fn t(s: &str) -> std::borrow::Cow<'_, str> {
    terminal_safe(s)
}

fn write_table<W: Write>(
    w: &mut W,
    findings: &[Finding],
    summary: &Summary,
    width: Option<usize>,
) -> io::Result<()> {
    if let Some(i) = &summary.integrity {
        writeln!(w, "{}", t(&i.line()))?;
        writeln!(w)?;
    }
    if findings.is_empty() {
        writeln!(w, "No failures found.")?;
    }
    for (i, f) in findings.iter().enumerate() {
        if i > 0 {
            writeln!(w)?;
        }
        let span = if f.first_seen == f.last_seen {
            f.first_seen.format("%Y-%m-%d %H:%M:%SZ").to_string()
        } else {
            format!(
                "{} → {}",
                f.first_seen.format("%Y-%m-%d %H:%M:%SZ"),
                f.last_seen.format("%Y-%m-%d %H:%M:%SZ")
            )
        };
        writeln!(
            w,
            "{:>2}. {}  ×{}  {}  {}  {} {}",
            i + 1,
            f.cause.code(),
            f.count,
            span,
            t(&f.regions.join(",")),
            t(&f.event_name),
            t(&f.error_code)
        )?;
        let rows: [(&str, Option<&str>); 5] = [
            ("role", f.role_arn.as_deref()),
            ("sub", f.sub.as_deref()),
            ("aud", f.aud.as_deref()),
            (
                "action",
                Some(&*f.action).filter(|a| *a != "sts:AssumeRoleWithWebIdentity"),
            ),
            (
                "resource",
                f.resource
                    .as_deref()
                    .filter(|r| Some(*r) != f.role_arn.as_deref()),
            ),
        ];
        for (label, value) in rows {
            if let Some(v) = value {
                writeln!(w, "    {label:<9}{}", t(v))?;
            }
        }
        write_field(w, "why", &t(&f.explanation), width)?;
        for e in &f.evidence {
            write_field(w, "evidence", &t(&describe_evidence(e)), width)?;
        }
        // the alternatives in a line each; their documents are for --format json and
        // --write-fixes, not for a terminal
        for (i, x) in f.fixes.iter().enumerate() {
            let label = if i == 0 { "fix" } else { "or" };
            let line = format!("{} [{}]", x.line(), x.verified.word());
            write_field(w, label, &t(&line), width)?;
        }
        if f.fixes.is_empty() && !f.fix.is_empty() {
            write_field(w, "fix", &t(&f.fix), width)?;
        }
        if let Some(note) = integrity_note(f) {
            writeln!(w, "    integrity {}", t(&note))?;
        }
        if f.count > 1 {
            writeln!(
                w,
                "    {:<9}{} (+{} more)",
                "events",
                t(&f.event_ids[0].to_string()),
                f.count - 1
            )?;
        } else if let Some(id) = f.event_ids.first() {
            writeln!(w, "    {:<9}{}", "event", t(&id.to_string()))?;
        }
    }
    writeln!(w)?;
    if summary.scan.interrupted {
        writeln!(w, "INTERRUPTED: the scan was stopped before every input was read; these results are partial.")?;
    }
    let causes: Vec<String> = summary
        .by_cause
        .iter()
        .map(|(c, n)| format!("{c} {n}"))
        .collect();
    writeln!(
        w,
        "{} finding(s) from {} failed event(s){}",
        summary.findings,
        summary.failed_events,
        if causes.is_empty() {
            String::new()
        } else {
            format!(": {}", causes.join(", "))
        }
    )?;
    writeln!(
        w,
        "{} file(s) read{}, {} skipped by design, {} unreadable; {} records scanned{}, {} selected, in {:.2} s",
        summary.scan.files_read,
        partly(summary.scan.files_partly_read),
        summary.scan.files_skipped,
        summary.scan.files_unreadable,
        summary.scan.records_scanned,
        unreadable_records(summary.scan.records_unreadable),
        summary.scan.records_matched,
        summary.elapsed_seconds
    )
}

/// `3 files`, `1 file`.
pub(crate) fn plural(n: u64, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

/// The report's line of what was read: `12 files read (1 partly), 3 skipped by design, 0
/// unreadable · 3400 records scanned, 40 selected` (HTML footer and markdown alike).
pub(crate) fn read_counts(s: &ScanStats) -> String {
    format!(
        "{} read{}, {} skipped by design, {} unreadable · {} records scanned{}, {} selected",
        plural(s.files_read, "file", "files"),
        partly(s.files_partly_read),
        s.files_skipped,
        s.files_unreadable,
        s.records_scanned,
        unreadable_records(s.records_unreadable),
        s.records_matched
    )
}

/// ` (2 partly)` after the files read, when some were read only in part.
pub fn partly(files: u64) -> String {
    match files {
        0 => String::new(),
        n => format!(" ({n} partly)"),
    }
}

/// ` (7 unreadable)` after the records scanned, when some could not be read.
pub fn unreadable_records(records: u64) -> String {
    match records {
        0 => String::new(),
        n => format!(" ({n} unreadable)"),
    }
}

/// `trust statement 0: StringEquals token.actions.githubusercontent.com:sub expected ["a"], got "b"`
pub fn describe_evidence(e: &Evidence) -> String {
    let mut s = e.policy.clone();
    if let Some(st) = &e.statement {
        s.push_str(&format!(" statement {st}"));
    }
    if let Some(sid) = &e.sid {
        s.push_str(&format!(" ({sid})"));
    }
    s.push(':');
    if let Some(op) = &e.operator {
        s.push_str(&format!(" {op}"));
    }
    if let Some(k) = &e.key {
        s.push_str(&format!(" {k}"));
    }
    let expected: Vec<String> = e.expected.iter().map(|x| format!("\"{x}\"")).collect();
    s.push_str(&format!(" expected [{}]", expected.join(", ")));
    match &e.actual {
        Some(a) => s.push_str(&format!(", got \"{a}\"")),
        None => s.push_str(", got nothing (not in the request)"),
    }
    s
}

/// Problems on stderr: one line per input that could not be read, naming it and why; one
/// line per listed problem of a partly read input (`FILE: record N (byte B): why`).
/// Writes the fixes' patched documents and `apply.sh` into `dir` (created when missing);
/// returns how many documents were written.
pub fn write_fixes(dir: &std::path::Path, findings: &[Finding]) -> anyhow::Result<usize> {
    use anyhow::Context as _;
    std::fs::create_dir_all(dir)
        .with_context(|| format!("cannot create the fixes directory {}", dir.display()))?;
    let files = crate::explain::fix::files(findings);
    for (name, text) in &files {
        let path = dir.join(name);
        std::fs::write(&path, text).with_context(|| format!("cannot write {}", path.display()))?;
    }
    Ok(files.len().saturating_sub(1))
}

/// The failures read outside the window in a sentence, with the `--since` (and `--until`)
/// that would take them in.
pub fn outside_window_sentence(
    o: &crate::read::count::OutsideWindow,
    since: Option<chrono::DateTime<chrono::Utc>>,
    until: Option<chrono::DateTime<chrono::Utc>>,
) -> String {
    let stamp = |t: chrono::DateTime<chrono::Utc>| t.format("%Y-%m-%dT%H:%M:%SZ").to_string();
    let mut flags = Vec::new();
    if since.is_some_and(|s| o.earliest < s) {
        flags.push(format!("--since {}", stamp(o.earliest)));
    }
    if until.is_some_and(|u| o.latest > u) {
        flags.push(format!("--until {}", stamp(o.latest)));
    }
    format!(
        "{} failed event(s) read lie outside the window ({} to {}){}",
        o.count,
        stamp(o.earliest),
        stamp(o.latest),
        if flags.is_empty() {
            String::new()
        } else {
            format!(": {} would include them", flags.join(" "))
        }
    )
}

/// One line when a scan read no CloudTrail record at all (and nothing else it could use, such
/// as CodeBuild build documents: `read_other`), saying what the SOURCEs held instead.
pub fn write_no_records<W: Write>(
    w: &mut W,
    stats: &ScanStats,
    read_other: bool,
) -> io::Result<()> {
    if stats.records_scanned > 0 || stats.interrupted || read_other {
        return Ok(());
    }
    let mut reasons: Vec<(String, u64)> = Vec::new();
    for s in &stats.skipped {
        match reasons.iter_mut().find(|(r, _)| *r == s.reason) {
            Some((_, n)) => *n += 1,
            None => reasons.push((s.reason.clone(), 1)),
        }
    }
    let held = if reasons.is_empty() && stats.files_read == 0 {
        "the SOURCEs hold no input files".to_owned()
    } else {
        let mut parts: Vec<String> = Vec::new();
        if stats.files_read > 0 {
            parts.push(format!(
                "{} file(s) read without a record",
                stats.files_read
            ));
        }
        parts.extend(
            reasons
                .iter()
                .map(|(r, n)| format!("{n} skipped: {}", t(r))),
        );
        parts.join("; ")
    };
    writeln!(w, "trailwhy: no CloudTrail records were read: {held}")
}

pub fn write_problems<W: Write>(
    w: &mut W,
    stats: &ScanStats,
    problems: &[LoadProblem],
) -> io::Result<()> {
    for s in stats.skipped.iter().filter(|s| !s.by_design) {
        writeln!(w, "trailwhy: {}: {}", t(&s.name), t(&s.reason))?;
    }
    for p in &stats.problems {
        writeln!(w, "trailwhy: {}: {}", t(&p.file), t(&p.line()))?;
    }
    if stats.problems_omitted > 0 {
        writeln!(
            w,
            "trailwhy: {} more problem(s) of partly read inputs not listed (the first {PROBLEMS_PER_FILE} of each input are)",
            stats.problems_omitted
        )?;
    }
    for p in problems {
        writeln!(w, "trailwhy: {}: {}", t(&p.origin), t(&p.problem))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn field(text: &str, width: Option<usize>) -> String {
        let mut out = Vec::new();
        write_field(&mut out, "why", text, width).unwrap();
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn fields_wrap_to_the_terminal_with_a_hanging_indent() {
        let text = "the trust policy of gha-deploy requires sub repo:acme/web:ref:refs/heads/main \
                    but the token said arn:aws:iam::111122223333:role/a-very-long-role-name-that-does-not-fit";
        assert_eq!(field(text, None), format!("    why      {text}\n"));
        let wrapped = field(text, Some(50));
        assert_eq!(
            wrapped,
            "    why      the trust policy of gha-deploy\n\
             \x20            requires sub\n\
             \x20            repo:acme/web:ref:refs/heads/main but\n\
             \x20            the token said\n\
             \x20            arn:aws:iam::111122223333:role/a-very-long-role-name-that-does-not-fit\n"
        );
        // every line fits but the one holding the long word, kept whole for copying
        for line in wrapped.lines().filter(|l| !l.contains("arn:")) {
            assert!(line.chars().count() <= 50, "{line}");
        }
        // too narrow to help: one line
        assert_eq!(field(text, Some(20)), format!("    why      {text}\n"));
    }
}
