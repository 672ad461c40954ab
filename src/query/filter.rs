//! The typed filters of `query` (`--event-name`, `--error-code`, `--principal`, `--sub`,
//! `--role`, the window, …), compiled once from the flags and checked in two steps: a byte
//! pre-filter on the raw record (every filter that has a literal needle must find one of
//! its needles), then the exact check on the borrowed [`Record`].
//!
//! This is not a predicate language: anything beyond these flags is `--jq`'s job. Globs are
//! IAM wildcards (`*`, `?`, case-sensitive), matched by `iam_policy::wildcard_match`.

use chrono::{DateTime, Utc};
use memchr::memmem::Finder;

use crate::event::{decode_part, role_name_from_arn, AssumeRoleParams, AssumeRoleResponse, Record};
pub use crate::selection::record_filter::{Globs, RecordFilter};
use crate::selection::time::parse_event_time;

/// What the exact check says of a record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    Matches,
    Fails,
    /// Every other filter passes, but a time window is set and the record's `eventTime` is
    /// missing or not an RFC 3339 time: it cannot be placed (counted, as `explain` does).
    Unplaced,
}

/// A [`RecordFilter`] ready for use: byte needles built once.
pub struct CompiledFilter {
    filter: RecordFilter,
    active: bool,
    /// Every group must have a needle in the record (unless the record holds escapes).
    needle_groups: Vec<Vec<Finder<'static>>>,
    escape_u: Finder<'static>,
    escape_slash: Finder<'static>,
}

impl CompiledFilter {
    pub fn new(filter: RecordFilter) -> CompiledFilter {
        let mut groups: Vec<Vec<Vec<u8>>> = [
            &filter.event_name,
            &filter.event_source,
            &filter.error_code,
            &filter.principal,
            &filter.sub,
            &filter.role,
        ]
        .into_iter()
        .filter_map(Globs::needles)
        .collect();
        if filter.errors_only {
            groups.push(vec![b"errorCode".to_vec()]);
        }
        for values in [&filter.window.accounts, &filter.window.regions] {
            if !values.is_empty() {
                groups.push(values.iter().map(|v| v.as_bytes().to_vec()).collect());
            }
        }
        let f = &filter;
        let active = !(f.event_name.is_empty()
            && f.event_source.is_empty()
            && f.error_code.is_empty()
            && !f.errors_only
            && f.principal.is_empty()
            && f.sub.is_empty()
            && f.role.is_empty()
            && f.window.since.is_none()
            && f.window.until.is_none()
            && f.window.accounts.is_empty()
            && f.window.regions.is_empty());
        CompiledFilter {
            active,
            needle_groups: groups
                .into_iter()
                .map(|g| {
                    g.into_iter()
                        .map(|n| Finder::new(&n).into_owned())
                        .collect()
                })
                .collect(),
            filter,
            escape_u: Finder::new(b"\\u"),
            escape_slash: Finder::new(b"\\/"),
        }
    }

    /// Adds byte needles a record must hold (see `jq::required_needles`): a pre-filter only,
    /// the exact check stays with whoever asked for them.
    /// The filters as given.
    pub fn filter(&self) -> &RecordFilter {
        &self.filter
    }

    pub fn require(&mut self, groups: Vec<Vec<String>>) {
        self.needle_groups.extend(groups.into_iter().map(|g| {
            g.iter()
                .map(|n| Finder::new(n.as_bytes()).into_owned())
                .collect()
        }));
    }

    /// Sets the time window (remote sources read the last 24 hours by default).
    pub fn set_time_bounds(&mut self, since: Option<DateTime<Utc>>, until: Option<DateTime<Utc>>) {
        self.filter.window.since = since;
        self.filter.window.until = until;
        self.active |= since.is_some() || until.is_some();
    }

    /// Whether the record must be decoded to be checked at all (any filter is set).
    pub fn is_active(&self) -> bool {
        self.active
    }

    /// Cheap byte test: false means no field of the record can pass the filters. A record
    /// holding `\u` or `\/` escapes may spell a value differently, so it always passes here.
    pub fn may_match(&self, bytes: &[u8]) -> bool {
        if self.needle_groups.is_empty() {
            return true;
        }
        let found = self
            .needle_groups
            .iter()
            .all(|g| g.iter().any(|n| n.find(bytes).is_some()));
        found || self.escape_u.find(bytes).is_some() || self.escape_slash.find(bytes).is_some()
    }

    /// The exact check on a decoded record.
    pub fn matches(&self, rec: &Record<'_>) -> bool {
        self.check(rec) == Verdict::Matches
    }

    /// The exact check on a decoded record, telling a record outside the filters from one
    /// the window cannot place.
    pub fn check(&self, rec: &Record<'_>) -> Verdict {
        match self.passes_fields(rec) {
            true => self.in_window(rec),
            false => Verdict::Fails,
        }
    }

    /// Every filter but the window.
    fn passes_fields(&self, rec: &Record<'_>) -> bool {
        let f = &self.filter;
        let ident = rec.user_identity.as_ref();
        let error_code = rec.error_code.as_deref().filter(|c| !c.is_empty());
        if f.errors_only && error_code.is_none() {
            return false;
        }
        let fails = |g: &Globs, value: Option<&str>| !g.is_empty() && !g.matches_any([value]);
        if fails(&f.event_name, rec.event_name.as_deref())
            || fails(&f.event_source, rec.event_source.as_deref())
            || fails(&f.error_code, error_code)
        {
            return false;
        }
        if !f.principal.is_empty()
            && !f.principal.matches_any([
                ident.and_then(|u| u.arn.as_deref()),
                ident.and_then(|u| u.principal_id.as_deref()),
            ])
        {
            return false;
        }
        if !f.sub.is_empty() && !self.sub_matches(rec) {
            return false;
        }
        f.role.is_empty() || self.role_matches(rec)
    }

    fn sub_matches(&self, rec: &Record<'_>) -> bool {
        let web_user = rec
            .user_identity
            .as_ref()
            .filter(|u| u.kind.as_deref() == Some("WebIdentityUser"))
            .and_then(|u| u.user_name.as_deref());
        if self.filter.sub.matches_any([web_user]) {
            return true;
        }
        let resp: AssumeRoleResponse = decode_part(rec.response_elements);
        self.filter
            .sub
            .matches_any([resp.subject_from_web_identity_token.as_deref()])
    }

    fn role_matches(&self, rec: &Record<'_>) -> bool {
        let roles = &self.filter.role;
        let by_arn_or_name = |arn: Option<&str>| {
            arn.is_some_and(|a| {
                roles.matches(a) || role_name_from_arn(a).is_some_and(|n| roles.matches(n))
            })
        };
        let issuer = rec
            .user_identity
            .as_ref()
            .and_then(|u| u.session_context.as_ref())
            .and_then(|c| c.session_issuer.as_ref());
        if by_arn_or_name(issuer.and_then(|i| i.arn.as_deref()))
            || roles.matches_any([issuer.and_then(|i| i.user_name.as_deref())])
        {
            return true;
        }
        let params: AssumeRoleParams = decode_part(rec.request_parameters);
        by_arn_or_name(params.role_arn.as_deref())
    }

    fn in_window(&self, rec: &Record<'_>) -> Verdict {
        let w = &self.filter.window;
        // the trail's recipient, else the caller's account (as `explain` does)
        let account = rec.recipient_account_id.as_deref().or_else(|| {
            rec.user_identity
                .as_ref()
                .and_then(|u| u.account_id.as_deref())
        });
        if !(w.accepts_account(account) && w.accepts_region(rec.aws_region.as_deref())) {
            return Verdict::Fails;
        }
        if w.since.is_some() || w.until.is_some() {
            match rec.event_time.as_deref().and_then(parse_event_time) {
                None => return Verdict::Unplaced,
                Some(t) if !w.contains_time(t) => return Verdict::Fails,
                Some(_) => {}
            }
        }
        Verdict::Matches
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rec(json: &str) -> Record<'_> {
        serde_json::from_str(json).unwrap()
    }

    fn globs(p: &[&str]) -> Globs {
        Globs::new(&p.iter().map(|s| s.to_string()).collect::<Vec<_>>())
    }

    #[test]
    fn needles_are_the_longest_literal_runs() {
        assert_eq!(
            globs(&["Assume*", "*Layer*Upload"]).needles(),
            Some(vec![b"Assume".to_vec(), b"Upload".to_vec()])
        );
        assert_eq!(globs(&["Get*", "*"]).needles(), None);
        assert_eq!(globs(&["say \"hi\""]).needles(), None);
    }

    #[test]
    fn byte_prefilter_and_typed_check_agree() {
        let f = CompiledFilter::new(RecordFilter {
            event_name: globs(&["Put*"]),
            errors_only: true,
            ..RecordFilter::default()
        });
        let hit = r#"{"eventName":"PutImage","errorCode":"AccessDenied"}"#;
        let ok = r#"{"eventName":"PutImage"}"#;
        let other = r#"{"eventName":"GetObject","errorCode":"AccessDenied"}"#;
        let escaped = r#"{"eventName":"\u0050utImage","errorCode":"AccessDenied"}"#;
        assert!(f.may_match(hit.as_bytes()) && f.matches(&rec(hit)));
        assert!(!f.may_match(ok.as_bytes()));
        assert!(!f.may_match(other.as_bytes()));
        // an escaped spelling is not lost by the byte test
        assert!(f.may_match(escaped.as_bytes()) && f.matches(&rec(escaped)));
    }

    #[test]
    fn role_matches_name_or_arn() {
        let f = CompiledFilter::new(RecordFilter {
            role: globs(&["gha-*"]),
            ..RecordFilter::default()
        });
        let session = r#"{"userIdentity":{"type":"AssumedRole","sessionContext":{"sessionIssuer":{"arn":"arn:aws:iam::1:role/ci/gha-deploy","userName":"gha-deploy"}}}}"#;
        let assume = r#"{"requestParameters":{"roleArn":"arn:aws:iam::1:role/gha-web"}}"#;
        let other = r#"{"requestParameters":{"roleArn":"arn:aws:iam::1:role/admin"}}"#;
        assert!(f.matches(&rec(session)));
        assert!(f.matches(&rec(assume)));
        assert!(!f.matches(&rec(other)));
    }
}
