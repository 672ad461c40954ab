//! Which GitHub credential and which webhook a CodeBuild project had at a given moment, from
//! the CloudTrail change events of CodeBuild and CodeConnections:
//!
//! - the project's source `auth` override (`CreateProject`/`UpdateProject`
//!   `requestParameters.source.auth` `{type, resource}`) when it names one;
//! - else the account and region's imported credential for the project's source type
//!   (`ImportSourceCredentials` `serverType`, `authType`, `username`; `DeleteSourceCredentials`
//!   removes it);
//! - connections (`CreateConnection`, `UpdateConnectionInstallation`, `DeleteConnection`);
//! - webhooks (`CreateWebhook`/`UpdateWebhook` `filterGroups`, `DeleteWebhook`).
//!
//! Each answer names the change event that set it: who (`userIdentity.arn`) and when. The
//! `token` request field is a secret and is redacted before any change event is kept; nothing
//! here reads it. This module chooses no cause.

use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::Value;

use crate::select::ChangeEvent;

use crate::selection::{CODEBUILD_SOURCE, CONNECTION_SOURCES};

/// A change event of CodeBuild or CodeConnections.
pub fn is_codebuild_change(c: &ChangeEvent) -> bool {
    c.event_source == CODEBUILD_SOURCE || CONNECTION_SOURCES.contains(&c.event_source.as_str())
}

/// Where a credential is configured.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Scope {
    /// The project's source `auth` override.
    Project,
    /// The account and region's imported source credential.
    Account,
}

/// The credential a project used at one moment, and the change event that set it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Credential {
    /// `PERSONAL_ACCESS_TOKEN`, `OAUTH`, `CODECONNECTIONS`, `SECRETS_MANAGER`, …
    #[serde(rename = "type")]
    pub kind: String,
    pub scope: Scope,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub server_type: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub resource: Option<String>,
    pub configured_by: Option<String>,
    pub configured_at: DateTime<Utc>,
    pub event_id: String,
    pub event_name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub connection: Option<Connection>,
}

/// A CodeConnections connection as its change events describe it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Connection {
    pub arn: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    pub created_by: Option<String>,
    pub created_at: Option<DateTime<Utc>>,
    /// A GitHub App installation was set on it (`UpdateConnectionInstallation`) by then.
    pub installation_set: bool,
}

/// A project's source as its change events set it, at one moment.
#[derive(Debug, Clone, Default)]
pub struct ProjectSource<'a> {
    pub source_type: Option<String>,
    pub location: Option<String>,
    /// `source.auth` `(type, resource)`.
    pub auth: Option<(String, Option<String>)>,
    /// The event that set the `auth` override to its value (an update that kept it unchanged
    /// does not count).
    pub auth_set_by: Option<&'a ChangeEvent>,
    /// The last event that set the project's source.
    pub defined_by: Option<&'a ChangeEvent>,
}

/// Where a project lives; `None` parts match any (a build log names neither).
#[derive(Debug, Clone, Copy)]
pub struct ProjectRef<'p> {
    pub account: Option<&'p str>,
    pub region: Option<&'p str>,
    pub name: &'p str,
}

/// The CodeBuild and CodeConnections change events, in time order.
#[derive(Debug, Default)]
pub struct History<'a> {
    events: Vec<&'a ChangeEvent>,
}

impl<'a> History<'a> {
    pub fn new(changes: impl IntoIterator<Item = &'a ChangeEvent>) -> History<'a> {
        let mut events: Vec<&ChangeEvent> = changes
            .into_iter()
            .filter(|c| is_codebuild_change(c))
            .collect();
        events.sort_by(|a, b| {
            a.time
                .cmp(&b.time)
                .then_with(|| a.event_id.cmp(&b.event_id))
        });
        History { events }
    }

    fn in_scope(c: &ChangeEvent, p: &ProjectRef<'_>) -> bool {
        p.account.is_none_or(|a| c.account.as_deref() == Some(a))
            && p.region.is_none_or(|r| c.region.as_deref() == Some(r))
    }

    fn names_project(c: &ChangeEvent, field: &str, name: &str) -> bool {
        str_field(&c.request, field).is_some_and(|n| {
            n == name
                || n.rsplit_once(":project/")
                    .is_some_and(|(_, short)| short == name)
        })
    }

    /// `CreateProject`, `UpdateProject` and `DeleteProject` of this project.
    fn project_events<'s>(
        &'s self,
        p: &'s ProjectRef<'_>,
    ) -> impl Iterator<Item = &'a ChangeEvent> + 's {
        self.events.iter().copied().filter(move |c| {
            c.event_source == CODEBUILD_SOURCE
                && matches!(
                    c.event_name.as_str(),
                    "CreateProject" | "UpdateProject" | "DeleteProject"
                )
                && Self::in_scope(c, p)
                && Self::names_project(c, "name", p.name)
        })
    }

    /// The project's source in force at `t`.
    pub fn project_at(&self, p: &ProjectRef<'_>, t: DateTime<Utc>) -> ProjectSource<'a> {
        let mut out = ProjectSource::default();
        for c in self.project_events(p).take_while(|c| c.time <= t) {
            if c.event_name == "DeleteProject" {
                out = ProjectSource::default();
                continue;
            }
            let Some(source) = c.request.get("source").filter(|s| s.is_object()) else {
                continue; // an update that leaves the source alone
            };
            let auth = source.get("auth").and_then(|a| {
                let kind = str_field(a, "type")?;
                Some((kind.to_owned(), str_field(a, "resource").map(str::to_owned)))
            });
            if auth != out.auth {
                out.auth_set_by = auth.as_ref().map(|_| c);
            }
            out.auth = auth;
            out.source_type = str_field(source, "type").map(str::to_owned);
            out.location = str_field(source, "location").map(str::to_owned);
            out.defined_by = Some(c);
        }
        out
    }

    /// The credential the project used at `t`: its source `auth` override, else the imported
    /// credential for its source type (`type_hint` when no event says, else GITHUB).
    pub fn credential_at(
        &self,
        p: &ProjectRef<'_>,
        type_hint: Option<&str>,
        t: DateTime<Utc>,
    ) -> Option<Credential> {
        let src = self.project_at(p, t);
        if let (Some((kind, resource)), Some(ev)) = (&src.auth, src.auth_set_by) {
            // an OAUTH override without a resource means "the account's OAuth token"
            if resource.is_some() || kind != "OAUTH" {
                return Some(Credential {
                    kind: kind.clone(),
                    scope: Scope::Project,
                    server_type: src.source_type.clone(),
                    username: None,
                    resource: resource.clone(),
                    configured_by: ev.actor.clone(),
                    configured_at: ev.time,
                    event_id: ev.event_id.clone(),
                    event_name: ev.event_name.clone(),
                    region: ev.region.clone(),
                    connection: match (kind.as_str(), resource) {
                        ("CODECONNECTIONS", Some(arn)) => Some(self.connection(arn, t)),
                        _ => None,
                    },
                });
            }
        }
        let server = src
            .source_type
            .as_deref()
            .or(type_hint)
            .unwrap_or("GITHUB")
            .to_owned();
        let token_arn_suffix = format!(":token/{}", server.to_ascii_lowercase());
        let mut current: Option<&ChangeEvent> = None;
        for c in self
            .events
            .iter()
            .copied()
            .take_while(|c| c.time <= t)
            .filter(|c| c.event_source == CODEBUILD_SOURCE && Self::in_scope(c, p))
        {
            match c.event_name.as_str() {
                "ImportSourceCredentials"
                    if str_field(&c.request, "serverType")
                        .is_some_and(|s| s.eq_ignore_ascii_case(&server)) =>
                {
                    current = Some(c);
                }
                "DeleteSourceCredentials"
                    if str_field(&c.request, "arn")
                        .is_some_and(|a| a.to_ascii_lowercase().ends_with(&token_arn_suffix)) =>
                {
                    current = None;
                }
                _ => {}
            }
        }
        let c = current?;
        Some(Credential {
            kind: str_field(&c.request, "authType")
                .unwrap_or("UNKNOWN")
                .to_owned(),
            scope: Scope::Account,
            server_type: Some(server),
            username: str_field(&c.request, "username").map(str::to_owned),
            resource: None,
            configured_by: c.actor.clone(),
            configured_at: c.time,
            event_id: c.event_id.clone(),
            event_name: c.event_name.clone(),
            region: c.region.clone(),
            connection: None,
        })
    }

    /// Events after `t` that change which credential the project uses (its source, or the
    /// imported credentials of its account and region).
    pub fn credential_changes_after(
        &self,
        p: &ProjectRef<'_>,
        t: DateTime<Utc>,
    ) -> Vec<&'a ChangeEvent> {
        self.events
            .iter()
            .copied()
            .filter(|c| c.time > t && c.event_source == CODEBUILD_SOURCE && Self::in_scope(c, p))
            .filter(|c| match c.event_name.as_str() {
                "ImportSourceCredentials" | "DeleteSourceCredentials" => true,
                "CreateProject" | "UpdateProject" => {
                    Self::names_project(c, "name", p.name) && c.request.get("source").is_some()
                }
                "DeleteProject" => Self::names_project(c, "name", p.name),
                _ => false,
            })
            .collect()
    }

    /// The project's webhook events, in time order.
    pub fn webhook_events(&self, p: &ProjectRef<'_>) -> Vec<&'a ChangeEvent> {
        self.events
            .iter()
            .copied()
            .filter(|c| {
                c.event_source == CODEBUILD_SOURCE
                    && matches!(
                        c.event_name.as_str(),
                        "CreateWebhook" | "UpdateWebhook" | "DeleteWebhook"
                    )
                    && Self::in_scope(c, p)
                    && Self::names_project(c, "projectName", p.name)
            })
            .collect()
    }

    /// Every (account, region, project) with a webhook event.
    pub fn webhook_projects(&self) -> Vec<(Option<String>, Option<String>, String)> {
        let mut out: Vec<(Option<String>, Option<String>, String)> = self
            .events
            .iter()
            .filter(|c| c.event_source == CODEBUILD_SOURCE && c.event_name.ends_with("Webhook"))
            .filter_map(|c| {
                let name = str_field(&c.request, "projectName")?;
                let name = name.rsplit_once(":project/").map_or(name, |(_, n)| n);
                Some((c.account.clone(), c.region.clone(), name.to_owned()))
            })
            .collect();
        out.sort();
        out.dedup();
        out
    }

    /// A connection as its events describe it at `t`.
    fn connection(&self, arn: &str, t: DateTime<Utc>) -> Connection {
        let mut out = Connection {
            arn: arn.to_owned(),
            name: None,
            created_by: None,
            created_at: None,
            installation_set: false,
        };
        for c in self
            .events
            .iter()
            .filter(|c| CONNECTION_SOURCES.contains(&c.event_source.as_str()) && c.time <= t)
        {
            let named = |v: &Value| {
                any_field(v, &["connectionArn", "ConnectionArn"]).is_some_and(|a| a == arn)
            };
            match c.event_name.as_str() {
                "CreateConnection" if named(&c.response) => {
                    out.name = any_field(&c.request, &["connectionName", "ConnectionName"])
                        .map(str::to_owned);
                    out.created_by = c.actor.clone();
                    out.created_at = Some(c.time);
                }
                "UpdateConnectionInstallation" if named(&c.request) => {
                    out.installation_set = true;
                }
                _ => {}
            }
        }
        out
    }
}

/// Whether a webhook request's filter groups start builds for `WORKFLOW_JOB_QUEUED`:
/// `None` when the request leaves the filter groups as they were (an update without them).
pub fn job_queued_filter(event_name: &str, request: &Value) -> Option<bool> {
    let Some(groups) = request
        .get("filterGroups")
        .filter(|g| !g.is_null())
        .and_then(Value::as_array)
    else {
        // a webhook created without filter groups builds on pushes and pull requests only
        return (event_name == "CreateWebhook").then_some(false);
    };
    Some(groups.iter().filter_map(Value::as_array).any(|group| {
        group.iter().any(|f| {
            str_field(f, "type") == Some("EVENT")
                && f.get("excludeMatchedPattern").and_then(Value::as_bool) != Some(true)
                && str_field(f, "pattern")
                    .is_some_and(|p| p.split(',').any(|e| e.trim() == "WORKFLOW_JOB_QUEUED"))
        })
    }))
}

fn str_field<'v>(v: &'v Value, key: &str) -> Option<&'v str> {
    v.get(key).and_then(Value::as_str)
}

fn any_field<'v>(v: &'v Value, keys: &[&str]) -> Option<&'v str> {
    keys.iter().find_map(|k| str_field(v, k))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn ev(name: &str, time: &str, actor: &str, request: Value) -> ChangeEvent {
        ChangeEvent {
            time: DateTime::parse_from_rfc3339(time)
                .unwrap()
                .with_timezone(&Utc),
            event_id: format!("{name}-{time}"),
            account: Some("111122223333".into()),
            region: Some("us-east-1".into()),
            event_source: CODEBUILD_SOURCE.into(),
            event_name: name.into(),
            actor: Some(actor.into()),
            request,
            response: Value::Null,
        }
    }

    fn at(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    #[test]
    fn project_override_wins_over_the_imported_token_from_its_time_on() {
        let events = [
            ev(
                "ImportSourceCredentials",
                "2026-09-14T09:00:00Z",
                "alice",
                json!({"serverType": "GITHUB", "authType": "PERSONAL_ACCESS_TOKEN", "username": "alice-gh", "token": "<redacted>"}),
            ),
            ev(
                "CreateProject",
                "2026-09-14T09:05:00Z",
                "alice",
                json!({"name": "runner", "source": {"type": "GITHUB", "location": "https://github.com/acme/web"}}),
            ),
            ev(
                "UpdateProject",
                "2026-10-06T10:00:00Z",
                "bob",
                json!({"name": "runner", "source": {"type": "GITHUB", "location": "https://github.com/acme/web",
                      "auth": {"type": "CODECONNECTIONS", "resource": "arn:aws:codeconnections:us-east-1:111122223333:connection/abc"}}}),
            ),
            ev(
                "UpdateProject",
                "2026-10-07T10:00:00Z",
                "carol",
                json!({"name": "runner", "description": "x"}),
            ),
        ];
        let h = History::new(events.iter());
        let p = ProjectRef {
            account: Some("111122223333"),
            region: Some("us-east-1"),
            name: "runner",
        };
        let before = h
            .credential_at(&p, None, at("2026-10-05T12:00:00Z"))
            .unwrap();
        assert_eq!(before.kind, "PERSONAL_ACCESS_TOKEN");
        assert_eq!(before.scope, Scope::Account);
        assert_eq!(before.username.as_deref(), Some("alice-gh"));
        assert_eq!(before.configured_by.as_deref(), Some("alice"));
        let after = h
            .credential_at(&p, None, at("2026-10-08T12:00:00Z"))
            .unwrap();
        assert_eq!(after.kind, "CODECONNECTIONS");
        assert_eq!(after.scope, Scope::Project);
        assert_eq!(after.configured_by.as_deref(), Some("bob"));
        assert!(!after.connection.unwrap().installation_set);
        assert_eq!(
            h.credential_changes_after(&p, at("2026-10-05T12:00:00Z"))
                .len(),
            1
        );
        assert!(h
            .credential_at(&p, None, at("2026-09-01T00:00:00Z"))
            .is_none());
    }

    #[test]
    fn deleting_the_imported_credential_removes_it() {
        let events = [
            ev(
                "ImportSourceCredentials",
                "2026-09-14T09:00:00Z",
                "alice",
                json!({"serverType": "GITHUB", "authType": "OAUTH"}),
            ),
            ev(
                "DeleteSourceCredentials",
                "2026-09-15T09:00:00Z",
                "alice",
                json!({"arn": "arn:aws:codebuild:us-east-1:111122223333:token/github"}),
            ),
        ];
        let h = History::new(events.iter());
        let p = ProjectRef {
            account: None,
            region: None,
            name: "runner",
        };
        assert!(h
            .credential_at(&p, None, at("2026-09-14T10:00:00Z"))
            .is_some());
        assert!(h
            .credential_at(&p, None, at("2026-09-16T10:00:00Z"))
            .is_none());
    }

    #[test]
    fn job_queued_filters() {
        let q =
            json!({"filterGroups": [[{"type": "EVENT", "pattern": "PUSH, WORKFLOW_JOB_QUEUED"}]]});
        assert_eq!(job_queued_filter("CreateWebhook", &q), Some(true));
        let push = json!({"filterGroups": [[{"type": "EVENT", "pattern": "PUSH"}]]});
        assert_eq!(job_queued_filter("UpdateWebhook", &push), Some(false));
        let excluded = json!({"filterGroups": [[{"type": "EVENT", "pattern": "WORKFLOW_JOB_QUEUED", "excludeMatchedPattern": true}]]});
        assert_eq!(job_queued_filter("UpdateWebhook", &excluded), Some(false));
        assert_eq!(
            job_queued_filter("UpdateWebhook", &json!({"rotateSecret": true})),
            None
        );
        assert_eq!(job_queued_filter("CreateWebhook", &json!({})), Some(false));
    }
}
