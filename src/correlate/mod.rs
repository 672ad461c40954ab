//! Correlation: joining a role session's calls back to the web-identity assumption that
//! created the session, through `userIdentity.accessKeyId` =
//! `responseElements.credentials.accessKeyId`.
//!
//! The index holds one small entry per successful assumption in the whole scan, whatever
//! file, region or account it came from, so the join does not depend on the order in which
//! files were read. It decides nothing about causes.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::select::{CallFailure, TaggedSession, WebIdAttempt};

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

/// accessKeyId → session.
#[derive(Debug, Default)]
pub struct SessionIndex {
    by_key: HashMap<String, Session>,
}

impl SessionIndex {
    pub fn build(attempts: &[WebIdAttempt]) -> SessionIndex {
        let mut by_key = HashMap::new();
        for a in attempts.iter().filter(|a| a.error_code.is_none()) {
            let Some(key) = a.access_key_id.as_ref().filter(|k| !k.is_empty()) else {
                continue;
            };
            let p = a.principal.as_ref();
            by_key.insert(
                key.clone(),
                Session {
                    access_key_id: key.clone(),
                    role_arn: a.role_arn.clone(),
                    assumed_role_arn: a.assumed_role_arn.clone(),
                    provider: p.map(|p| p.provider.clone()),
                    sub: p.map(|p| p.subject.clone()),
                    aud: p.and_then(|p| p.audience.clone()),
                    assumed_at: a.time,
                    region: a.region.clone(),
                    event_id: a.event_id.clone(),
                },
            );
        }
        SessionIndex { by_key }
    }

    pub fn get(&self, access_key_id: &str) -> Option<&Session> {
        self.by_key.get(access_key_id)
    }

    pub fn len(&self) -> usize {
        self.by_key.len()
    }

    pub fn is_empty(&self) -> bool {
        self.by_key.is_empty()
    }
}

/// Gives each failed call made by a session that a tagged `AssumeRole` created that
/// assumption's session tags (joined on the access key the assumption issued, as
/// [`SessionIndex`] joins web-identity sessions).
pub fn attach_session_tags(failures: &mut [CallFailure], tagged: &[TaggedSession]) {
    if tagged.is_empty() {
        return;
    }
    let by_key: HashMap<&str, &TaggedSession> = tagged
        .iter()
        .map(|t| (t.access_key_id.as_str(), t))
        .collect();
    for f in failures {
        let Some(t) = f.access_key_id.as_deref().and_then(|k| by_key.get(k)) else {
            continue;
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
        attach_session_tags(&mut calls, &tagged);
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
