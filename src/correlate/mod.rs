//! Correlation: joining a role session's calls back to the web-identity assumption that
//! created the session, through `userIdentity.accessKeyId` =
//! `responseElements.credentials.accessKeyId`.
//!
//! The index holds one small entry per successful assumption in the whole scan, whatever
//! file, region or account it came from, so the join does not depend on the order in which
//! files were read. It decides nothing about causes.

pub mod intern;

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::event::EventId;
use crate::select::{CallFailure, TaggedSession, WebIdAttempt};
use intern::{Interner, Sym};

/// What a session inherited from its web-identity assumption.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Session {
    pub access_key_id: String,
    pub role_arn: Option<String>,
    pub assumed_role_arn: Option<String>,
    pub provider: Option<String>,
    pub sub: Option<String>,
    pub aud: Option<String>,
    pub assumed_at: DateTime<Utc>,
    pub region: Option<String>,
    pub event_id: String,
}

/// accessKeyId → session, kept compactly: one entry per successful assumption (its key, time
/// and event ID), the strings that sessions share (role, subject, provider, audience,
/// region) kept once.
#[derive(Debug, Default)]
pub struct SessionIndex {
    by_key: HashMap<Box<str>, Entry>,
    strings: Interner,
}

#[derive(Debug)]
struct Entry {
    role_arn: Option<Sym>,
    assumed_role_arn: Option<Sym>,
    provider: Option<Sym>,
    sub: Option<Sym>,
    aud: Option<Sym>,
    region: Option<Sym>,
    assumed_at: DateTime<Utc>,
    event_id: EventId,
}

impl SessionIndex {
    pub fn build(attempts: &[WebIdAttempt]) -> SessionIndex {
        let mut index = SessionIndex::default();
        for a in attempts {
            index.add(a);
        }
        index
    }

    /// Keeps the session a successful assumption issued (a failed one, or one without a key,
    /// issued none); a later assumption that issued the same key replaces it.
    pub fn add(&mut self, a: &WebIdAttempt) {
        if a.error_code.is_some() {
            return;
        }
        let Some(key) = a.access_key_id.as_deref().filter(|k| !k.is_empty()) else {
            return;
        };
        let p = a.principal.as_ref();
        let s = &mut self.strings;
        let entry = Entry {
            role_arn: s.intern_opt(a.role_arn.as_deref()),
            assumed_role_arn: s.intern_opt(a.assumed_role_arn.as_deref()),
            provider: s.intern_opt(p.map(|p| p.provider.as_str())),
            sub: s.intern_opt(p.map(|p| p.subject.as_str())),
            aud: s.intern_opt(p.and_then(|p| p.audience.as_deref())),
            region: s.intern_opt(a.region.as_deref()),
            assumed_at: a.time,
            event_id: EventId::new(&a.event_id),
        };
        self.by_key.insert(key.into(), entry);
    }

    /// Adds every session of `other` (later ones replace earlier ones with the same key).
    pub fn merge(&mut self, other: SessionIndex) {
        if self.by_key.is_empty() {
            *self = other;
            return;
        }
        for (key, e) in other.by_key {
            let o = &other.strings;
            let s = &mut self.strings;
            let entry = Entry {
                role_arn: s.intern_opt(o.get_opt(e.role_arn)),
                assumed_role_arn: s.intern_opt(o.get_opt(e.assumed_role_arn)),
                provider: s.intern_opt(o.get_opt(e.provider)),
                sub: s.intern_opt(o.get_opt(e.sub)),
                aud: s.intern_opt(o.get_opt(e.aud)),
                region: s.intern_opt(o.get_opt(e.region)),
                assumed_at: e.assumed_at,
                event_id: e.event_id,
            };
            self.by_key.insert(key, entry);
        }
    }

    /// The session that `access_key_id` belongs to, if its assumption was read.
    pub fn get(&self, access_key_id: &str) -> Option<Session> {
        let (key, e) = self.by_key.get_key_value(access_key_id)?;
        let s = &self.strings;
        let text = |sym: Option<Sym>| s.get_opt(sym).map(str::to_owned);
        Some(Session {
            access_key_id: key.to_string(),
            role_arn: text(e.role_arn),
            assumed_role_arn: text(e.assumed_role_arn),
            provider: text(e.provider),
            sub: text(e.sub),
            aud: text(e.aud),
            assumed_at: e.assumed_at,
            region: text(e.region),
            event_id: e.event_id.to_string(),
        })
    }

    /// The access keys of the sessions kept.
    pub fn keys(&self) -> impl Iterator<Item = &str> {
        self.by_key.keys().map(|k| &**k)
    }

    pub fn len(&self) -> usize {
        self.by_key.len()
    }

    pub fn is_empty(&self) -> bool {
        self.by_key.is_empty()
    }
}

/// The sessions that a tagged `AssumeRole` created, by the access key it issued: gives each
/// failed call of such a session that assumption's session tags (joined as [`SessionIndex`]
/// joins web-identity sessions).
pub struct SessionTags<'t> {
    by_key: HashMap<&'t str, &'t TaggedSession>,
}

impl<'t> SessionTags<'t> {
    pub fn new(tagged: &'t [TaggedSession]) -> SessionTags<'t> {
        SessionTags {
            by_key: tagged
                .iter()
                .map(|t| (t.access_key_id.as_str(), t))
                .collect(),
        }
    }

    pub fn attach(&self, f: &mut CallFailure) {
        let Some(t) = f.access_key_id.as_deref().and_then(|k| self.by_key.get(k)) else {
            return;
        };
        // the session's calls come after the assumption that created it
        if t.time <= f.time {
            f.origin.session_tags = Some(t.tags.clone());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_call_gets_the_tags_of_the_assumption_that_issued_its_key_and_only_after_it() {
        let t = |s: &str| s.parse::<DateTime<Utc>>().unwrap();
        let tagged = [TaggedSession {
            time: t("2026-01-01T10:00:00Z"),
            event_id: "a1".to_owned(),
            access_key_id: "ASIAB".to_owned(),
            role_arn: None,
            tags: vec![("team".to_owned(), "web".to_owned())],
        }];
        let call = |key: &str, time: &str| CallFailure {
            time: t(time),
            event_id: String::new(),
            account: None,
            region: None,
            event_source: String::new(),
            event_name: String::new(),
            error_code: String::new(),
            error_message: None,
            caller_arn: None,
            access_key_id: Some(key.to_owned()),
            issuer_role_arn: None,
            federated_provider: None,
            resources: Vec::new(),
            request: serde_json::Value::Null,
            origin: Default::default(),
        };
        let mut calls = [
            call("ASIAB", "2026-01-01T10:01:00Z"),
            call("ASIAB", "2026-01-01T09:59:00Z"),
            call("ASIAC", "2026-01-01T10:01:00Z"),
        ];
        let tags = SessionTags::new(&tagged);
        for c in &mut calls {
            tags.attach(c);
        }
        let got: Vec<_> = calls
            .iter()
            .map(|c| c.origin.session_tags.clone())
            .collect();
        assert_eq!(
            got,
            [
                Some(vec![("team".to_owned(), "web".to_owned())]),
                None,
                None
            ]
        );
    }
}
