//! The content of a `trailwhy report`: findings grouped by cause, role and repository, each
//! marked new or recurring against the state file, the findings that stopped, the suppressed
//! ones, the summary at the top and the timeline — everything the Markdown, HTML and JSON
//! forms show, decided once here so the three forms cannot disagree.
//!
//! Building a document reads no file and writes nothing; rendering is in `markdown`, `html`
//! and [`write_json`].

use std::collections::{BTreeMap, HashSet};
use std::io::{self, Write};

use chrono::{DateTime, Duration, Utc};
use serde::Serialize;

use super::state::{fingerprint, Remembered, State};
use super::suppress::{Rule, Rules, Verdict};
use super::Summary;
use crate::explain::{subject, Cause, Finding};

/// How many entries the "top" lists of the summary hold.
pub const TOP: usize = 5;

/// Whether an earlier run already reported a finding.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    New,
    Recurring,
}

impl Status {
    pub fn label(self) -> &'static str {
        match self {
            Status::New => "new",
            Status::Recurring => "recurring",
        }
    }
}

/// A finding as the report shows it.
#[derive(Debug, Clone, Serialize)]
pub struct Reported {
    pub fingerprint: String,
    pub status: Status,
    /// `OWNER/REPO` from the `sub` claim, or `unknown`.
    pub repository: String,
    #[serde(flatten)]
    pub finding: Finding,
}

/// Findings that share cause, role and repository.
#[derive(Debug, Clone, Serialize)]
pub struct Group {
    pub cause: Cause,
    pub role_arn: Option<String>,
    pub repository: String,
    pub events: u64,
    pub first_seen: DateTime<Utc>,
    pub last_seen: DateTime<Utc>,
    /// How many of the group's findings are new.
    pub new: usize,
    #[serde(skip)]
    pub findings: Vec<Reported>,
    /// The fingerprints of the group's findings (the JSON form lists the findings apart).
    pub fingerprints: Vec<String>,
}

impl Group {
    pub fn status(&self) -> Status {
        if self.new > 0 {
            Status::New
        } else {
            Status::Recurring
        }
    }
}

/// A finding in the state file that the previous run saw and this one did not.
#[derive(Debug, Clone, Serialize)]
pub struct Stopped {
    pub fingerprint: String,
    #[serde(flatten)]
    pub remembered: Remembered,
}

/// A finding an active rule suppressed.
#[derive(Debug, Clone, Serialize)]
pub struct Suppressed {
    /// The rule's number in the suppression file.
    pub rule: usize,
    pub reason: String,
    #[serde(flatten)]
    pub reported: Reported,
}

/// A rule and what it matched in this window.
#[derive(Debug, Clone, Serialize)]
pub struct RuleOutcome {
    #[serde(flatten)]
    pub rule: Rule,
    pub expired: bool,
    /// Findings and events it suppressed or, when expired, would have suppressed.
    pub matched_findings: usize,
    pub matched_events: u64,
}

/// A name and how many failed events it had.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Ranked {
    pub name: String,
    pub events: u64,
    pub findings: usize,
}

/// The summary at the top of the report. Counts are of unsuppressed findings.
#[derive(Debug, Clone, Serialize)]
pub struct Overview {
    pub failed_events: u64,
    pub findings: usize,
    pub new: usize,
    pub recurring: usize,
    pub stopped: usize,
    pub suppressed_findings: usize,
    pub suppressed_events: u64,
    pub expired_rules: usize,
    pub top_causes: Vec<Ranked>,
    pub top_repositories: Vec<Ranked>,
    pub top_roles: Vec<Ranked>,
}

/// Failed events over the window, in equal buckets, by cause (unsuppressed findings only).
#[derive(Debug, Clone, Serialize)]
pub struct Timeline {
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
    pub bucket_seconds: i64,
    /// Per bucket, every cause together.
    pub totals: Vec<u64>,
    /// Causes with most events first.
    pub series: Vec<Series>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Series {
    pub cause: String,
    pub total: u64,
    pub counts: Vec<u64>,
}

impl Timeline {
    pub fn bucket_start(&self, i: usize) -> DateTime<Utc> {
        self.start + Duration::seconds(self.bucket_seconds * i as i64)
    }

    /// `15 min`, `3 h`, `1 day`.
    pub fn bucket_label(&self) -> String {
        let s = self.bucket_seconds;
        if s % 86_400 == 0 {
            let d = s / 86_400;
            format!("{d} day{}", if d == 1 { "" } else { "s" })
        } else if s % 3600 == 0 {
            format!("{} h", s / 3600)
        } else {
            format!("{} min", s / 60)
        }
    }
}

/// What the state file said about this run.
#[derive(Debug, Clone, Serialize)]
pub struct StateInfo {
    pub file: String,
    /// No state file existed: every finding is new.
    pub first_run: bool,
    pub previous_run: Option<DateTime<Utc>>,
}

/// The whole report.
#[derive(Debug, Clone, Serialize)]
pub struct Document {
    pub generated_at: DateTime<Utc>,
    pub since: DateTime<Utc>,
    pub until: DateTime<Utc>,
    pub summary: Overview,
    pub groups: Vec<Group>,
    pub stopped: Vec<Stopped>,
    pub suppressed: Vec<Suppressed>,
    pub rules: Vec<RuleOutcome>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub suppression_file: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub state: Option<StateInfo>,
    pub timeline: Timeline,
    pub scan: Summary,
}

/// What a document is built from.
pub struct Input<'a> {
    /// For the timeline, each finding's events counted in buckets of
    /// [`bucket_seconds`]`(since, until)` (`Finding::times`); one without them is counted
    /// at its first event.
    pub findings: Vec<Finding>,
    pub since: DateTime<Utc>,
    pub until: DateTime<Utc>,
    pub now: DateTime<Utc>,
    pub state: Option<(&'a State, String)>,
    /// The state file named on the command line did not exist yet.
    pub state_file_new: Option<String>,
    pub rules: Option<&'a Rules>,
    pub scan: Summary,
}

/// `OWNER/REPO` of a finding's `sub`, or `unknown`.
pub fn repository_of(f: &Finding) -> String {
    f.sub
        .as_deref()
        .and_then(|s| subject::parse(s).repository)
        .filter(|r| !r.is_empty())
        .unwrap_or("unknown")
        .to_owned()
}

/// The role's name from its ARN (`…:role/path/name` → `name`).
pub fn role_name(arn: &str) -> &str {
    arn.rsplit('/').next().unwrap_or(arn)
}

/// How a role is shown among `all` (role ARNs): its name, with its account when another role
/// of the list has the same name in another account (`deploy (111122223333)`).
pub fn role_label(arn: &str, all: &[Ranked]) -> String {
    let name = role_name(arn);
    let shared = all
        .iter()
        .any(|o| o.name != arn && role_name(&o.name) == name);
    match (shared, crate::event::arn_account(arn)) {
        (true, Some(account)) => format!("{name} ({account})"),
        _ => name.to_owned(),
    }
}

impl Document {
    /// The failures read outside the window and the flags that would take them in, when
    /// there were any.
    pub fn outside_window(&self) -> Option<String> {
        self.scan
            .scan
            .failures_outside_window
            .as_ref()
            .map(|o| super::outside_window_sentence(o, Some(self.since), Some(self.until)))
    }

    pub fn build(input: Input<'_>) -> Document {
        let Input {
            findings,
            since,
            until,
            now,
            state,
            state_file_new,
            rules,
            scan,
        } = input;
        let mut rule_outcomes: Vec<RuleOutcome> = rules
            .map(|r| {
                r.rules
                    .iter()
                    .map(|rule| RuleOutcome {
                        rule: rule.clone(),
                        expired: rule.is_expired(now),
                        matched_findings: 0,
                        matched_events: 0,
                    })
                    .collect()
            })
            .unwrap_or_default();
        let mut seen: HashSet<String> = HashSet::new();
        let mut reported: Vec<Reported> = Vec::new();
        let mut suppressed: Vec<Suppressed> = Vec::new();
        let mut times: Vec<(Cause, DateTime<Utc>, u64)> = Vec::new();
        for f in findings {
            let fp = fingerprint(&f);
            let repository = repository_of(&f);
            let status = match state {
                Some((s, _)) if s.knows(&fp) => Status::Recurring,
                _ => Status::New,
            };
            seen.insert(fp.clone());
            if let Some(r) = rules {
                for (o, rule) in rule_outcomes.iter_mut().zip(&r.rules) {
                    // expired rules: what they would have matched, so the report can say
                    if o.expired && rule.matches(&f, &repository) {
                        o.matched_findings += 1;
                        o.matched_events += f.count;
                    }
                }
            }
            let verdict = rules.map_or(Verdict::Reported, |r| r.judge(&f, &repository, now));
            let entry = Reported {
                fingerprint: fp,
                status,
                repository,
                finding: f,
            };
            match verdict {
                Verdict::Suppressed(i) => {
                    let o = &mut rule_outcomes[i];
                    o.matched_findings += 1;
                    o.matched_events += entry.finding.count;
                    suppressed.push(Suppressed {
                        rule: o.rule.rule,
                        reason: o.rule.reason.clone(),
                        reported: entry,
                    });
                }
                Verdict::Reported => {
                    let f = &entry.finding;
                    let mut n = 0;
                    for &(start, count) in &f.times {
                        let at = DateTime::<Utc>::from_timestamp(start, 0).unwrap_or(f.first_seen);
                        times.push((f.cause, at, count));
                        n += count;
                    }
                    // keep the timeline's total equal to the count
                    if n < f.count {
                        times.push((f.cause, f.first_seen, f.count - n));
                    }
                    reported.push(entry);
                }
            }
        }
        let stopped: Vec<Stopped> = match state {
            Some((s, _)) => {
                let seen: HashSet<&str> = seen.iter().map(String::as_str).collect();
                s.stopped(&seen)
                    .into_iter()
                    .map(|(fp, r)| Stopped {
                        fingerprint: fp.clone(),
                        remembered: r.clone(),
                    })
                    .collect()
            }
            None => Vec::new(),
        };
        let summary = overview(&reported, &suppressed, &stopped, &rule_outcomes);
        let groups = group(reported);
        let timeline = timeline(since, until, &times);
        let state_info = match (state, state_file_new) {
            (Some((s, file)), _) => Some(StateInfo {
                file,
                first_run: false,
                previous_run: s.last_run,
            }),
            (None, Some(file)) => Some(StateInfo {
                file,
                first_run: true,
                previous_run: None,
            }),
            (None, None) => None,
        };
        Document {
            generated_at: now,
            since,
            until,
            summary,
            groups,
            stopped,
            suppressed,
            rules: rule_outcomes,
            suppression_file: rules.map(|r| r.origin.clone()),
            state: state_info,
            timeline,
            scan,
        }
    }

    /// The findings to act on, in report order.
    pub fn reported(&self) -> impl Iterator<Item = &Reported> {
        self.groups.iter().flat_map(|g| g.findings.iter())
    }

    pub fn expired_rules(&self) -> impl Iterator<Item = &RuleOutcome> {
        self.rules.iter().filter(|r| r.expired)
    }
}

fn overview(
    reported: &[Reported],
    suppressed: &[Suppressed],
    stopped: &[Stopped],
    rules: &[RuleOutcome],
) -> Overview {
    let new = reported.iter().filter(|r| r.status == Status::New).count();
    Overview {
        failed_events: reported.iter().map(|r| r.finding.count).sum(),
        findings: reported.len(),
        new,
        recurring: reported.len() - new,
        stopped: stopped.len(),
        suppressed_findings: suppressed.len(),
        suppressed_events: suppressed.iter().map(|s| s.reported.finding.count).sum(),
        expired_rules: rules.iter().filter(|r| r.expired).count(),
        top_causes: top(reported, |r| r.finding.cause.code().to_owned()),
        top_repositories: top(reported, |r| r.repository.clone()),
        top_roles: top(reported, |r| {
            r.finding
                .role_arn
                .as_deref()
                .unwrap_or("unknown")
                .to_owned()
        }),
    }
}

fn top(reported: &[Reported], key: impl Fn(&Reported) -> String) -> Vec<Ranked> {
    let mut by: BTreeMap<String, (u64, usize)> = BTreeMap::new();
    for r in reported {
        let e = by.entry(key(r)).or_default();
        e.0 += r.finding.count;
        e.1 += 1;
    }
    let mut list: Vec<Ranked> = by
        .into_iter()
        .map(|(name, (events, findings))| Ranked {
            name,
            events,
            findings,
        })
        .collect();
    list.sort_by(|a, b| b.events.cmp(&a.events).then_with(|| a.name.cmp(&b.name)));
    list.truncate(TOP);
    list
}

/// Groups by cause, role and repository: groups with new findings first, then by events.
fn group(reported: Vec<Reported>) -> Vec<Group> {
    let mut by: BTreeMap<(Cause, String, String), Vec<Reported>> = BTreeMap::new();
    for r in reported {
        let key = (
            r.finding.cause,
            r.finding.role_arn.as_deref().unwrap_or_default().to_owned(),
            r.repository.clone(),
        );
        by.entry(key).or_default().push(r);
    }
    let mut groups: Vec<Group> = by
        .into_values()
        .filter_map(|mut findings| {
            findings.sort_by(|a, b| {
                a.finding
                    .first_seen
                    .cmp(&b.finding.first_seen)
                    .then_with(|| a.fingerprint.cmp(&b.fingerprint))
            });
            let first = findings.first()?;
            Some(Group {
                cause: first.finding.cause,
                role_arn: first.finding.role_arn.as_deref().map(str::to_owned),
                repository: first.repository.clone(),
                events: findings.iter().map(|r| r.finding.count).sum(),
                first_seen: findings.iter().map(|r| r.finding.first_seen).min()?,
                last_seen: findings.iter().map(|r| r.finding.last_seen).max()?,
                new: findings.iter().filter(|r| r.status == Status::New).count(),
                fingerprints: findings.iter().map(|r| r.fingerprint.clone()).collect(),
                findings,
            })
        })
        .collect();
    groups.sort_by(|a, b| {
        (b.new > 0)
            .cmp(&(a.new > 0))
            .then_with(|| b.events.cmp(&a.events))
            .then_with(|| a.first_seen.cmp(&b.first_seen))
            .then_with(|| a.cause.cmp(&b.cause))
    });
    groups
}

/// Bucket sizes, smallest first; the first that fits the window in [`MAX_BUCKETS`] wins.
const BUCKET_SECONDS: &[i64] = &[
    60,
    5 * 60,
    15 * 60,
    30 * 60,
    3600,
    2 * 3600,
    3 * 3600,
    6 * 3600,
    12 * 3600,
    86_400,
    7 * 86_400,
    30 * 86_400,
    365 * 86_400,
];
pub const MAX_BUCKETS: i64 = 48;

/// The timeline's bucket size for a window: the smallest of [`BUCKET_SECONDS`] that covers it
/// in at most [`MAX_BUCKETS`] (buckets start at multiples of their size since the epoch).
pub fn bucket_seconds(since: DateTime<Utc>, until: DateTime<Utc>) -> i64 {
    let span = (until - since).num_seconds().max(1);
    BUCKET_SECONDS
        .iter()
        .copied()
        .find(|s| (span + s - 1) / s <= MAX_BUCKETS)
        .unwrap_or(365 * 86_400)
}

/// `times`: a cause, a time and how many events then.
fn timeline(
    since: DateTime<Utc>,
    until: DateTime<Utc>,
    times: &[(Cause, DateTime<Utc>, u64)],
) -> Timeline {
    let size = bucket_seconds(since, until);
    // align to the bucket size (UTC), so that labels fall on round times
    let start_ts = since.timestamp().div_euclid(size) * size;
    let start = DateTime::<Utc>::from_timestamp(start_ts, 0).unwrap_or(since);
    let n = ((until.timestamp() - start_ts + size - 1) / size).max(1) as usize;
    // the axis ends where the window does, though the last bucket may reach past it
    let end = (start + Duration::seconds(size * n as i64)).min(until.max(start));
    let mut by_cause: BTreeMap<Cause, Vec<u64>> = BTreeMap::new();
    let mut totals = vec![0u64; n];
    for &(cause, t, count) in times {
        let i = ((t.timestamp() - start_ts).div_euclid(size)).clamp(0, n as i64 - 1) as usize;
        by_cause.entry(cause).or_insert_with(|| vec![0; n])[i] += count;
        totals[i] += count;
    }
    let mut series: Vec<Series> = by_cause
        .into_iter()
        .map(|(c, counts)| Series {
            cause: c.code().to_owned(),
            total: counts.iter().sum(),
            counts,
        })
        .collect();
    series.sort_by(|a, b| b.total.cmp(&a.total).then_with(|| a.cause.cmp(&b.cause)));
    Timeline {
        start,
        end,
        bucket_seconds: size,
        totals,
        series,
    }
}

/// One piece of a fix: prose, or a JSON object shown as a block.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FixPart<'a> {
    Text(&'a str),
    /// Pretty-printed.
    Json(String),
}

/// Splits a fix into prose and the JSON objects it carries (policy statements, conditions).
pub fn fix_parts(fix: &str) -> Vec<FixPart<'_>> {
    let mut parts = Vec::new();
    let mut text_start = 0;
    let mut i = 0;
    while let Some(off) = fix[i..].find('{') {
        let at = i + off;
        let mut values =
            serde_json::Deserializer::from_str(&fix[at..]).into_iter::<serde_json::Value>();
        match values.next() {
            Some(Ok(v)) if v.is_object() => {
                let end = at + values.byte_offset();
                if text_start < at {
                    parts.push(FixPart::Text(&fix[text_start..at]));
                }
                parts.push(FixPart::Json(
                    serde_json::to_string_pretty(&v).unwrap_or_else(|_| fix[at..end].to_owned()),
                ));
                text_start = end;
                i = end;
            }
            _ => i = at + 1,
        }
    }
    if text_start < fix.len() {
        parts.push(FixPart::Text(&fix[text_start..]));
    }
    parts
}

#[derive(Serialize)]
struct JsonReport<'a> {
    generated_at: DateTime<Utc>,
    since: DateTime<Utc>,
    until: DateTime<Utc>,
    summary: &'a Overview,
    findings: Vec<&'a Reported>,
    groups: &'a [Group],
    stopped: &'a [Stopped],
    suppressed: &'a [Suppressed],
    #[serde(skip_serializing_if = "Option::is_none")]
    suppression_file: Option<&'a str>,
    rules: &'a [RuleOutcome],
    #[serde(skip_serializing_if = "Option::is_none")]
    state: Option<&'a StateInfo>,
    timeline: &'a Timeline,
    scan: &'a Summary,
}

/// The JSON form: the findings to act on (with `status`, `fingerprint`, `repository`), the
/// summary, groups, stopped and suppressed findings, rules, the timeline and the scan summary.
pub fn write_json<W: Write>(w: &mut W, doc: &Document) -> io::Result<()> {
    let report = JsonReport {
        generated_at: doc.generated_at,
        since: doc.since,
        until: doc.until,
        summary: &doc.summary,
        findings: doc.reported().collect(),
        groups: &doc.groups,
        stopped: &doc.stopped,
        suppressed: &doc.suppressed,
        suppression_file: doc.suppression_file.as_deref(),
        rules: &doc.rules,
        state: doc.state.as_ref(),
        timeline: &doc.timeline,
        scan: &doc.scan,
    };
    serde_json::to_writer_pretty(&mut *w, &report)?;
    writeln!(w)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fixes_split_into_prose_and_json() {
        let parts = fix_parts(r#"Add it: {"a":[1]}; or add: {"b":"}"} now. {not json"#);
        assert_eq!(
            parts,
            vec![
                FixPart::Text("Add it: "),
                FixPart::Json("{\n  \"a\": [\n    1\n  ]\n}".to_owned()),
                FixPart::Text("; or add: "),
                FixPart::Json("{\n  \"b\": \"}\"\n}".to_owned()),
                FixPart::Text(" now. {not json"),
            ]
        );
        assert_eq!(fix_parts("plain"), vec![FixPart::Text("plain")]);
    }

    #[test]
    fn roles_of_the_same_name_in_two_accounts_show_their_account() {
        let ranked = |name: &str| Ranked {
            name: name.to_owned(),
            events: 1,
            findings: 1,
        };
        let all = [
            ranked("arn:aws:iam::111122223333:role/deploy"),
            ranked("arn:aws:iam::444455556666:role/ci/deploy"),
            ranked("arn:aws:iam::111122223333:role/web"),
        ];
        assert_eq!(role_label(&all[0].name, &all), "deploy (111122223333)");
        assert_eq!(role_label(&all[1].name, &all), "deploy (444455556666)");
        assert_eq!(role_label(&all[2].name, &all), "web");
    }

    #[test]
    fn timeline_buckets_fit_the_window() {
        let since = DateTime::parse_from_rfc3339("2026-10-01T00:00:00Z")
            .unwrap()
            .with_timezone(&Utc);
        let t = timeline(since, since + Duration::hours(72), &[]);
        assert_eq!(t.bucket_seconds, 2 * 3600);
        assert_eq!(t.end, since + Duration::hours(72));
        assert_eq!(t.totals.len(), 36);
        // a window that ends inside a bucket: the axis ends with the window
        let t = timeline(since, since + Duration::minutes(150), &[]);
        assert_eq!(t.end, since + Duration::minutes(150));
        let t = timeline(since, since + Duration::hours(24), &[]);
        assert_eq!((t.bucket_seconds, t.totals.len()), (30 * 60, 48));
    }
}
