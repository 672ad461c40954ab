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

use crate::select::WebIdAttempt;

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
