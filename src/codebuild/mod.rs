//! CodeBuild builds, read from what a user has at hand when a CodeBuild-hosted GitHub Actions
//! runner fails: `aws codebuild batch-get-builds` output, EventBridge "CodeBuild Build State
//! Change" / "Build Phase Change" events (`record`), build log text with its `[Container]`
//! lines (`log`), and the CodeBuild API itself (`live`, `--codebuild-live`). Every form becomes
//! the same small [`Build`]; the same build seen in several inputs is merged into one
//! ([`merge_builds`]). `credential` rebuilds from CloudTrail change events which GitHub
//! credential and which webhook each project had at a given moment, and who set them up.
//!
//! This module does not choose causes (that is `explain::codebuild`) and prints nothing.

pub mod credential;
pub mod live;
pub mod log;
pub mod record;

use std::collections::BTreeMap;

use chrono::{DateTime, Duration, Utc};

/// The text CodeBuild puts in a phase context when GitHub refused to create a just-in-time
/// runner configuration (compared case-insensitively).
pub const JIT_UNAVAILABLE: &str = "github runner jit configuration unavailable";

/// One phase of a build.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Phase {
    /// `SUBMITTED`, `QUEUED`, `PROVISIONING`, `DOWNLOAD_SOURCE`, `INSTALL`, … `COMPLETED`.
    pub kind: String,
    /// `SUCCEEDED`, `FAILED`, `FAULT`, `TIMED_OUT`, `STOPPED`, `IN_PROGRESS`; none while running.
    pub status: Option<String>,
    pub start: Option<DateTime<Utc>>,
    pub contexts: Vec<PhaseContext>,
}

impl Phase {
    pub fn failed(&self) -> bool {
        self.status.as_deref().is_some_and(is_failure_status)
    }
}

/// CodeBuild's account of why a phase ended as it did (`statusCode`, `message`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PhaseContext {
    pub status_code: Option<String>,
    pub message: Option<String>,
}

/// The source credential a build record itself names (BatchGetBuilds `source.auth`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceAuth {
    pub kind: String,
    pub resource: Option<String>,
}

/// One build, from any of the input forms.
#[derive(Debug, Clone, Default)]
pub struct Build {
    /// `PROJECT:UUID`, CodeBuild's build id; unknown for a log whose file name does not say.
    pub id: Option<String>,
    pub arn: Option<String>,
    pub project: Option<String>,
    pub account: Option<String>,
    pub region: Option<String>,
    pub start: Option<DateTime<Utc>>,
    /// `start` is a log's first line, not the build's start as CodeBuild records it.
    pub start_from_log: bool,
    /// `SUCCEEDED`, `FAILED`, `FAULT`, `TIMED_OUT`, `STOPPED`, `IN_PROGRESS`.
    pub status: Option<String>,
    pub phases: Vec<Phase>,
    pub source_type: Option<String>,
    pub source_location: Option<String>,
    pub source_auth: Option<SourceAuth>,
    /// The input shows a GitHub Actions runner build (runner lines in its log).
    pub runner: bool,
    /// The inputs this build was read from.
    pub origins: Vec<String>,
}

/// Builds read from one input (a file, stdin, or one project through the API).
#[derive(Debug, Clone)]
pub struct BuildDoc {
    pub origin: String,
    pub builds: Vec<Build>,
}

fn is_failure_status(s: &str) -> bool {
    matches!(s, "FAILED" | "FAULT" | "TIMED_OUT")
}

impl Build {
    /// A build named by its id (`PROJECT:UUID`) or its ARN
    /// (`arn:PARTITION:codebuild:REGION:ACCOUNT:build/PROJECT:UUID`).
    pub fn named(id_or_arn: &str) -> Build {
        let mut b = Build::default();
        if let Some(rest) = id_or_arn.strip_prefix("arn:") {
            let parts: Vec<&str> = rest.splitn(5, ':').collect();
            if let [_, "codebuild", region, account, resource] = parts.as_slice() {
                if let Some(id) = resource.strip_prefix("build/") {
                    b.arn = Some(id_or_arn.to_owned());
                    b.region = Some((*region).to_owned()).filter(|r| !r.is_empty());
                    b.account = Some((*account).to_owned()).filter(|a| !a.is_empty());
                    b.set_id(id);
                }
            }
        } else {
            b.set_id(id_or_arn);
        }
        b
    }

    fn set_id(&mut self, id: &str) {
        if let Some((project, _)) = id.split_once(':') {
            if !project.is_empty() {
                self.project = Some(project.to_owned());
            }
        }
        if !id.is_empty() {
            self.id = Some(id.to_owned());
        }
    }

    /// The first phase that failed.
    pub fn failed_phase(&self) -> Option<&Phase> {
        self.phases.iter().find(|p| p.failed())
    }

    /// Failed, faulted or timed out (a stopped build is someone's decision, not a failure).
    pub fn is_failure(&self) -> bool {
        self.status.as_deref().is_some_and(is_failure_status) || self.failed_phase().is_some()
    }

    /// The failed phase and its context when GitHub refused the just-in-time runner.
    pub fn jit_failure(&self) -> Option<(&Phase, &PhaseContext)> {
        self.phases.iter().filter(|p| p.failed()).find_map(|p| {
            p.contexts
                .iter()
                .find(|c| c.message.as_deref().is_some_and(is_jit_message))
                .map(|c| (p, c))
        })
    }

    /// Whether this build ran (or tried to run) a GitHub Actions runner.
    pub fn is_runner(&self) -> bool {
        self.runner
            || self.phases.iter().flat_map(|p| &p.contexts).any(|c| {
                c.message
                    .as_deref()
                    .is_some_and(|m| is_runner_text(&m.to_ascii_lowercase()))
            })
    }

    /// The project's ARN, derived from the build's ARN (or from account and region).
    pub fn project_arn(&self) -> Option<String> {
        let project = self.project.as_deref()?;
        if let Some(arn) = &self.arn {
            let parts: Vec<&str> = arn.splitn(6, ':').collect();
            if parts.len() == 6 {
                return Some(format!("{}:project/{project}", parts[..5].join(":")));
            }
        }
        Some(format!(
            "arn:aws:codebuild:{}:{}:project/{project}",
            self.region.as_deref()?,
            self.account.as_deref()?
        ))
    }

    /// How the build is named in explanations and `event_ids`.
    pub fn label(&self) -> String {
        self.id
            .clone()
            .or_else(|| self.origins.first().cloned())
            .unwrap_or_else(|| "an unnamed build".to_owned())
    }

    /// Adds a phase, or completes the phase of the same kind already known.
    pub fn add_phase(&mut self, p: Phase) {
        match self.phases.iter_mut().find(|q| q.kind == p.kind) {
            Some(q) => {
                if q.status.is_none() || (p.failed() && !q.failed()) {
                    q.status = p.status;
                }
                fill(&mut q.start, p.start);
                if q.contexts.is_empty() {
                    q.contexts = p.contexts;
                }
            }
            None => {
                self.phases.push(p);
                self.phases.sort_by_key(|p| phase_order(&p.kind));
            }
        }
    }

    /// Adds what `other` (the same build, read from another input) knows.
    pub fn merge(&mut self, other: Build) {
        fill(&mut self.id, other.id);
        fill(&mut self.arn, other.arn);
        fill(&mut self.project, other.project);
        fill(&mut self.account, other.account);
        fill(&mut self.region, other.region);
        // CodeBuild's own start time wins over a log's first line, else the earliest
        match (self.start, other.start) {
            (Some(_), Some(_)) if self.start_from_log != other.start_from_log => {
                if self.start_from_log {
                    self.start = other.start;
                    self.start_from_log = false;
                }
            }
            (Some(a), Some(b)) => self.start = Some(a.min(b)),
            (None, b) => {
                self.start = b;
                self.start_from_log = other.start_from_log;
            }
            (Some(_), None) => {}
        }
        // a final status wins over IN_PROGRESS, a failure over a success seen earlier
        let rank = |s: &Option<String>| match s.as_deref() {
            None => 0,
            Some("IN_PROGRESS") => 1,
            Some(s) if is_failure_status(s) => 3,
            Some(_) => 2,
        };
        if rank(&other.status) > rank(&self.status) {
            self.status = other.status;
        }
        for p in other.phases {
            self.add_phase(p);
        }
        fill(&mut self.source_type, other.source_type);
        fill(&mut self.source_location, other.source_location);
        fill(&mut self.source_auth, other.source_auth);
        self.runner |= other.runner;
        for o in other.origins {
            if !self.origins.contains(&o) {
                self.origins.push(o);
            }
        }
    }
}

fn fill<T>(slot: &mut Option<T>, value: Option<T>) {
    if slot.is_none() {
        *slot = value;
    }
}

/// CodeBuild's phase order, for phases merged from several inputs.
pub fn phase_order(kind: &str) -> usize {
    const ORDER: &[&str] = &[
        "SUBMITTED",
        "QUEUED",
        "PROVISIONING",
        "DOWNLOAD_SOURCE",
        "INSTALL",
        "PRE_BUILD",
        "BUILD",
        "POST_BUILD",
        "UPLOAD_ARTIFACTS",
        "FINALIZING",
        "COMPLETED",
    ];
    ORDER.iter().position(|k| *k == kind).unwrap_or(ORDER.len())
}

pub fn is_jit_message(message: &str) -> bool {
    message.to_ascii_lowercase().contains(JIT_UNAVAILABLE)
}

/// Lowercase text that only a runner build prints.
pub(crate) fn is_runner_text(lower: &str) -> bool {
    lower.contains("runner jit")
        || lower.contains("runner token")
        || lower.contains("actions runner")
}

/// One build per build id across every input, in start-time order. A build without an id (a
/// log whose file name does not name it) joins the build of the same project (when known)
/// that failed in the same phase with the same message and started at most two hours before
/// the log's first line; without such a build it counts as its own.
pub fn merge_builds(docs: &[BuildDoc]) -> Vec<Build> {
    let mut by_id: BTreeMap<String, Build> = BTreeMap::new();
    let mut loose: Vec<Build> = Vec::new();
    for doc in docs {
        for b in &doc.builds {
            let mut b = b.clone();
            if b.origins.is_empty() {
                b.origins.push(doc.origin.clone());
            }
            match b.id.clone() {
                Some(id) => match by_id.get_mut(&id) {
                    Some(existing) => existing.merge(b),
                    None => {
                        by_id.insert(id, b);
                    }
                },
                None => loose.push(b),
            }
        }
    }
    let mut out: Vec<Build> = by_id.into_values().collect();
    for b in loose {
        match best_match(&out, &b) {
            Some(i) => out[i].merge(b),
            None => out.push(b),
        }
    }
    out.sort_by(|a, b| a.start.cmp(&b.start).then_with(|| a.id.cmp(&b.id)));
    out
}

fn best_match(builds: &[Build], loose: &Build) -> Option<usize> {
    let t = loose.start?;
    let failure = |b: &Build| {
        b.failed_phase().map(|p| {
            (
                p.kind.clone(),
                p.contexts.first().and_then(|c| c.message.clone()),
            )
        })
    };
    let wanted = failure(loose);
    builds
        .iter()
        .enumerate()
        .filter(|(_, b)| loose.project.is_none() || b.project == loose.project)
        .filter(|(_, b)| wanted.is_none() || failure(b) == wanted)
        .filter_map(|(i, b)| {
            let s = b.start?;
            // the log's first line comes after the build was submitted, and not hours later
            let ahead = t - s;
            (ahead >= Duration::minutes(-5) && ahead <= Duration::hours(2))
                .then_some((ahead.num_milliseconds().abs(), i))
        })
        .min()
        .map(|(_, i)| i)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_and_arns_name_the_project() {
        let b = Build::named(
            "arn:aws:codebuild:us-east-1:111122223333:build/acme-web-runner:1f0e6a52-0c57-4d0e-9a1c-6f4b3b9a2d10",
        );
        assert_eq!(
            b.id.as_deref(),
            Some("acme-web-runner:1f0e6a52-0c57-4d0e-9a1c-6f4b3b9a2d10")
        );
        assert_eq!(b.project.as_deref(), Some("acme-web-runner"));
        assert_eq!(b.account.as_deref(), Some("111122223333"));
        assert_eq!(
            b.project_arn().as_deref(),
            Some("arn:aws:codebuild:us-east-1:111122223333:project/acme-web-runner")
        );
        let b = Build::named("p:x");
        assert_eq!(b.project.as_deref(), Some("p"));
        assert_eq!(b.project_arn(), None);
    }

    #[test]
    fn merging_keeps_the_failure_and_the_earliest_start() {
        let t = |s: &str| DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc);
        let mut a = Build::named("p:1");
        a.status = Some("IN_PROGRESS".into());
        a.start = Some(t("2026-10-05T10:00:01Z"));
        let mut b = Build::named("p:1");
        b.status = Some("FAILED".into());
        b.start = Some(t("2026-10-05T10:00:00.500Z"));
        b.phases.push(Phase {
            kind: "DOWNLOAD_SOURCE".into(),
            status: Some("FAILED".into()),
            start: None,
            contexts: vec![],
        });
        a.merge(b);
        assert_eq!(a.status.as_deref(), Some("FAILED"));
        assert_eq!(a.start, Some(t("2026-10-05T10:00:00.500Z")));
        assert_eq!(a.failed_phase().unwrap().kind, "DOWNLOAD_SOURCE");
    }
}
