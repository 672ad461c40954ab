//! Suppression rules of `trailwhy report --suppress FILE`: known, accepted failures that the
//! report lists apart (with the rule's reason) instead of among the findings to act on.
//!
//! The file is YAML or JSON, told apart by its content, with one key, `rules`: a list of
//! `{cause?, role?, sub?, repository?, reason, expires?}`. Patterns are IAM-style globs
//! (`*`, `?`, case-sensitive); every pattern given must match, and a rule needs at least one.
//! `role` matches the role ARN when it contains `:`, else the role name. `expires` is a date
//! (the rule holds through that day, UTC) or an RFC 3339 time; an expired rule suppresses
//! nothing and is reported. Suppressed findings never vanish: they are counted and listed.
//!
//! This module reads and matches rules; it does not print.

use std::path::Path;

use anyhow::{bail, Context as _, Result};
use chrono::{DateTime, NaiveDate, Utc};
use iam_policy::wildcard_match;
use serde::{Deserialize, Serialize};

use crate::explain::Finding;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RuleFile {
    rules: Vec<RawRule>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRule {
    cause: Option<String>,
    role: Option<String>,
    sub: Option<String>,
    repository: Option<String>,
    reason: Option<String>,
    expires: Option<String>,
}

/// One rule, checked.
#[derive(Debug, Clone, Serialize)]
pub struct Rule {
    /// 1-based position in the file, how messages name the rule.
    pub rule: usize,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cause: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub role: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sub: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub repository: Option<String>,
    pub reason: String,
    /// As written in the file.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expires: Option<String>,
    /// The instant the rule stops applying.
    #[serde(skip)]
    pub expires_at: Option<DateTime<Utc>>,
}

impl Rule {
    pub fn is_expired(&self, now: DateTime<Utc>) -> bool {
        self.expires_at.is_some_and(|at| now >= at)
    }

    /// Whether every pattern of the rule matches the finding (whose repository is given).
    pub fn matches(&self, f: &Finding, repository: &str) -> bool {
        let role_arn = f.role_arn.as_deref().unwrap_or("");
        let role_ok = self.role.as_deref().is_none_or(|p| {
            if p.contains(':') {
                wildcard_match(p, role_arn)
            } else {
                wildcard_match(p, role_arn.rsplit('/').next().unwrap_or(""))
            }
        });
        role_ok
            && self
                .cause
                .as_deref()
                .is_none_or(|p| wildcard_match(p, f.cause.code()))
            && self
                .sub
                .as_deref()
                .is_none_or(|p| wildcard_match(p, f.sub.as_deref().unwrap_or("")))
            && self
                .repository
                .as_deref()
                .is_none_or(|p| wildcard_match(p, repository))
    }
}

/// The rules of one file.
#[derive(Debug, Clone)]
pub struct Rules {
    /// The file, as named on the command line.
    pub origin: String,
    pub rules: Vec<Rule>,
}

/// How a finding fared against the rules.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// No rule matches.
    Reported,
    /// This (0-based) rule suppresses it.
    Suppressed(usize),
}

impl Rules {
    /// Reads a rule file; any problem is an error naming the file.
    pub fn load(path: &Path) -> Result<Rules> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read suppression file {}", path.display()))?;
        Rules::parse(&text, &path.display().to_string())
    }

    /// Parses rules (YAML, or JSON when the text starts with `{`); `origin` names the file in
    /// errors.
    pub fn parse(text: &str, origin: &str) -> Result<Rules> {
        let trimmed = text.trim_start_matches('\u{feff}').trim();
        let raw: Vec<RawRule> = if trimmed.is_empty() {
            Vec::new()
        } else if trimmed.starts_with('{') {
            serde_json::from_str::<RuleFile>(trimmed)
                .with_context(|| format!("suppression file {origin} is not valid"))?
                .rules
        } else {
            serde_norway::from_str::<RuleFile>(trimmed)
                .with_context(|| format!("suppression file {origin} is not valid"))?
                .rules
        };
        let mut rules = Vec::with_capacity(raw.len());
        for (i, r) in raw.into_iter().enumerate() {
            let n = i + 1;
            let reason = r.reason.map(|s| s.trim().to_owned()).unwrap_or_default();
            if reason.is_empty() {
                bail!("suppression file {origin}: rule {n} has no reason (say why the failure is expected)");
            }
            if r.cause.is_none() && r.role.is_none() && r.sub.is_none() && r.repository.is_none() {
                bail!("suppression file {origin}: rule {n} matches nothing in particular (give a cause, role, sub or repository)");
            }
            let expires_at = match &r.expires {
                None => None,
                Some(text) => Some(parse_expiry(text).ok_or_else(|| {
                    anyhow::anyhow!("suppression file {origin}: rule {n}: expires '{text}' is neither a date (2026-12-31) nor an RFC 3339 time")
                })?),
            };
            rules.push(Rule {
                rule: n,
                cause: r.cause,
                role: r.role,
                sub: r.sub,
                repository: r.repository,
                reason,
                expires: r.expires,
                expires_at,
            });
        }
        Ok(Rules {
            origin: origin.to_owned(),
            rules,
        })
    }

    /// The first active rule that matches the finding, in file order.
    pub fn judge(&self, f: &Finding, repository: &str, now: DateTime<Utc>) -> Verdict {
        self.rules
            .iter()
            .position(|r| !r.is_expired(now) && r.matches(f, repository))
            .map_or(Verdict::Reported, Verdict::Suppressed)
    }
}

/// A date holds through its last second (UTC); a time is taken as written.
fn parse_expiry(text: &str) -> Option<DateTime<Utc>> {
    let t = text.trim();
    if let Ok(d) = NaiveDate::parse_from_str(t, "%Y-%m-%d") {
        return d.succ_opt()?.and_hms_opt(0, 0, 0).map(|dt| dt.and_utc());
    }
    DateTime::parse_from_rfc3339(t)
        .ok()
        .map(|d| d.with_timezone(&Utc))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_date_expires_at_the_end_of_its_day() {
        let at = parse_expiry("2026-12-31").unwrap();
        assert_eq!(at.to_rfc3339(), "2027-01-01T00:00:00+00:00");
        assert_eq!(
            parse_expiry("2026-12-31T12:00:00+02:00")
                .unwrap()
                .to_rfc3339(),
            "2026-12-31T10:00:00+00:00"
        );
        assert!(parse_expiry("next week").is_none());
    }

    #[test]
    fn yaml_and_json_read_the_same() {
        let y = Rules::parse(
            "rules:\n  - cause: sub_*\n    reason: known\n    expires: 2026-12-31\n",
            "y",
        )
        .unwrap();
        let j = Rules::parse(
            r#"{"rules":[{"cause":"sub_*","reason":"known","expires":"2026-12-31"}]}"#,
            "j",
        )
        .unwrap();
        assert_eq!(y.rules[0].cause, j.rules[0].cause);
        assert_eq!(y.rules[0].expires_at, j.rules[0].expires_at);
        assert!(Rules::parse("rules:\n  - cause: x\n", "f").is_err());
        assert!(Rules::parse("rules:\n  - reason: r\n", "f").is_err());
        assert!(Rules::parse("rules:\n  - cause: x\n    reson: r\n", "f").is_err());
    }
}
