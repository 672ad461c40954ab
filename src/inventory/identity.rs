//! A role's permission side at time T: inline policies, attached managed policies (with the
//! default version in force), the permissions boundary, and ECR repository policies — from
//! the snapshot, corrected by the change events before and after T.
//!
//! The snapshot is taken to be *now*. Attach/Detach events are reversible, so they are undone
//! for T before them. Put/CreatePolicyVersion events carry the new document, so the state
//! after them is known; the state before the first of them is not, and is reported as
//! uncertain rather than guessed.

use chrono::{DateTime, Utc};
use iam_policy::Policy;
use serde_json::Value;

use super::{str_field, Account, ChangeRef, Inventory};
use crate::select::ChangeEvent;

/// One policy in force, with where it came from.
#[derive(Debug, Clone)]
pub struct NamedPolicy {
    /// `inline:NAME` or the managed policy ARN (with `@vN`).
    pub label: String,
    pub policy: Policy,
}

/// The identity side of a role at one moment.
#[derive(Debug, Clone, Default)]
pub struct IdentityAt {
    pub policies: Vec<NamedPolicy>,
    pub boundary: Option<NamedPolicy>,
    /// Policies whose version at T could not be established (name and why).
    pub uncertain: Vec<String>,
    /// Permission changes to this role after T.
    pub later_changes: Vec<ChangeRef>,
}

/// The repository policy side at one moment.
#[derive(Debug, Clone)]
pub enum RepositoryPolicyAt {
    /// Known: `None` means the repository had no policy.
    Known(Option<Policy>, Option<ChangeRef>),
    Unknown,
}

const ROLE_PERMISSION_EVENTS: &[&str] = &[
    "PutRolePolicy",
    "DeleteRolePolicy",
    "AttachRolePolicy",
    "DetachRolePolicy",
    "PutRolePermissionsBoundary",
    "DeleteRolePermissionsBoundary",
];

fn role_changes<'a>(acct: &'a Account, role: &str) -> Vec<&'a ChangeEvent> {
    acct.role_changes(role)
        .filter(|c| ROLE_PERMISSION_EVENTS.contains(&c.event_name.as_str()))
        .collect()
}

fn policy_of(v: Option<&Value>) -> Option<Policy> {
    v.and_then(|v| Policy::from_value(v).ok())
}

impl Inventory {
    /// The identity policies of `role` in `account` at `t`; `None` when nothing is known of it.
    pub fn identity_at(&self, account: &str, role: &str, t: DateTime<Utc>) -> Option<IdentityAt> {
        let acct = self.accounts.get(account)?;
        let snapshot = acct.roles.as_ref().and_then(|r| r.get(role));
        let changes = role_changes(acct, role);
        if snapshot.is_none() && changes.is_empty() {
            return None;
        }
        let (before, after): (Vec<&ChangeEvent>, Vec<&ChangeEvent>) =
            changes.iter().partition(|c| c.time <= t);
        let mut out = IdentityAt {
            later_changes: after.iter().map(|c| ChangeRef::of(c)).collect(),
            ..Default::default()
        };

        // inline policies: every name the snapshot or a change mentions
        let mut names: Vec<String> = snapshot
            .map(|s| s.inline.keys().cloned().collect())
            .unwrap_or_default();
        for c in &changes {
            if let Some(n) = str_field(&c.request, "policyName") {
                if c.event_name.ends_with("RolePolicy") && !names.iter().any(|x| x == n) {
                    names.push(n.to_owned());
                }
            }
        }
        for name in names {
            let touches = |c: &ChangeEvent| {
                matches!(c.event_name.as_str(), "PutRolePolicy" | "DeleteRolePolicy")
                    && str_field(&c.request, "policyName") == Some(name.as_str())
            };
            let doc = match before.iter().rev().find(|c| touches(c)) {
                Some(c) if c.event_name == "PutRolePolicy" => {
                    policy_of(c.request.get("policyDocument"))
                }
                Some(_) => None,
                None if after.iter().any(|c| touches(c)) => {
                    out.uncertain.push(format!("inline:{name} (changed after the event; the earlier version is not recorded)"));
                    snapshot.and_then(|s| s.inline.get(&name).cloned())
                }
                None => snapshot.and_then(|s| s.inline.get(&name).cloned()),
            };
            if let Some(policy) = doc {
                out.policies.push(NamedPolicy {
                    label: format!("inline:{name}"),
                    policy,
                });
            }
        }

        // attached managed policies: the snapshot's set with later Attach/Detach undone
        let mut attached: Vec<String> = snapshot.map(|s| s.attached.clone()).unwrap_or_default();
        if snapshot.is_some() {
            for c in after.iter().rev() {
                let Some(arn) = str_field(&c.request, "policyArn") else {
                    continue;
                };
                match c.event_name.as_str() {
                    "AttachRolePolicy" => attached.retain(|a| a != arn),
                    "DetachRolePolicy" if !attached.iter().any(|a| a == arn) => {
                        attached.push(arn.to_owned())
                    }
                    _ => {}
                }
            }
        } else {
            for c in &before {
                let Some(arn) = str_field(&c.request, "policyArn") else {
                    continue;
                };
                match c.event_name.as_str() {
                    "AttachRolePolicy" if !attached.iter().any(|a| a == arn) => {
                        attached.push(arn.to_owned())
                    }
                    "DetachRolePolicy" => attached.retain(|a| a != arn),
                    _ => {}
                }
            }
        }
        for arn in attached {
            match self.managed_policy_at(&arn, t) {
                Some((label, policy, certain)) => {
                    if !certain {
                        out.uncertain
                            .push(format!("{label} (default version changed after the event)"));
                    }
                    out.policies.push(NamedPolicy { label, policy });
                }
                None => out
                    .uncertain
                    .push(format!("{arn} (document not in the inventory)")),
            }
        }

        // permissions boundary
        let boundary_change = before
            .iter()
            .rev()
            .find(|c| c.event_name.contains("PermissionsBoundary"));
        let boundary_arn = match boundary_change {
            Some(c) if c.event_name == "PutRolePermissionsBoundary" => {
                str_field(&c.request, "permissionsBoundary").map(str::to_owned)
            }
            Some(_) => None,
            None => snapshot.and_then(|s| s.boundary.clone()),
        };
        if let Some(arn) = boundary_arn {
            match self.managed_policy_at(&arn, t) {
                Some((label, policy, _)) => out.boundary = Some(NamedPolicy { label, policy }),
                None => out.uncertain.push(format!(
                    "permissions boundary {arn} (document not in the inventory)"
                )),
            }
        }
        Some(out)
    }

    /// The default version of a managed policy at `t`: (label, document, certain).
    pub fn managed_policy_at(&self, arn: &str, t: DateTime<Utc>) -> Option<(String, Policy, bool)> {
        let owner = crate::event::arn_account(arn).unwrap_or("aws");
        let acct = self.accounts.get(owner);
        let snapshot = acct.and_then(|a| a.managed_policies.get(arn));
        let changes: Vec<&ChangeEvent> = acct
            .map(|a| {
                a.changes
                    .iter()
                    .filter(|c| {
                        matches!(
                            c.event_name.as_str(),
                            "CreatePolicy" | "CreatePolicyVersion" | "SetDefaultPolicyVersion"
                        ) && change_policy_arn(c).as_deref() == Some(arn)
                    })
                    .collect()
            })
            .unwrap_or_default();
        // the document of each version seen in the logs
        let version_doc = |vid: &str| -> Option<Policy> {
            changes
                .iter()
                .find(|c| {
                    change_version_id(c).as_deref() == Some(vid)
                        && c.request.get("policyDocument").is_some()
                })
                .and_then(|c| policy_of(c.request.get("policyDocument")))
                .or_else(|| snapshot.and_then(|s| s.versions.get(vid).cloned()))
        };
        let sets_default = |c: &ChangeEvent| match c.event_name.as_str() {
            "CreatePolicy" => true,
            "CreatePolicyVersion" => c
                .request
                .get("setAsDefault")
                .is_some_and(|v| v == &Value::Bool(true) || v == "true"),
            _ => true,
        };
        let last_default = changes
            .iter()
            .filter(|c| c.time <= t)
            .rev()
            .find(|c| sets_default(c));
        if let Some(c) = last_default {
            let vid = change_version_id(c).unwrap_or_else(|| "v1".to_owned());
            let doc = version_doc(&vid).or_else(|| policy_of(c.request.get("policyDocument")))?;
            return Some((format!("{arn}@{vid}"), doc, true));
        }
        let later_default = changes.iter().any(|c| c.time > t && sets_default(c));
        let snap = snapshot?;
        let vid = snap.default_version.clone()?;
        let doc = snap.versions.get(&vid)?.clone();
        Some((format!("{arn}@{vid}"), doc, !later_default))
    }

    /// The policy of ECR repository `name` in `registry` (account) and `region` at `t`.
    pub fn repository_policy_at(
        &self,
        registry: &str,
        region: &str,
        name: &str,
        t: DateTime<Utc>,
    ) -> RepositoryPolicyAt {
        let Some(acct) = self.accounts.get(registry) else {
            return RepositoryPolicyAt::Unknown;
        };
        let changes: Vec<&ChangeEvent> = acct
            .changes
            .iter()
            .filter(|c| {
                matches!(
                    c.event_name.as_str(),
                    "SetRepositoryPolicy" | "DeleteRepositoryPolicy"
                ) && str_field(&c.request, "repositoryName") == Some(name)
                    && c.region.as_deref().is_none_or(|r| r == region)
            })
            .collect();
        if let Some(c) = changes.iter().rev().find(|c| c.time <= t) {
            let p = if c.event_name == "SetRepositoryPolicy" {
                policy_of(c.request.get("policyText"))
            } else {
                None
            };
            return RepositoryPolicyAt::Known(p, Some(ChangeRef::of(c)));
        }
        if !changes.is_empty() {
            return RepositoryPolicyAt::Unknown;
        }
        let snap = acct
            .repository_policies
            .get(&(region.to_owned(), name.to_owned()))
            .or_else(|| {
                acct.repository_policies
                    .get(&("*".to_owned(), name.to_owned()))
            });
        match snap {
            Some(p) => RepositoryPolicyAt::Known(p.clone(), None),
            None => RepositoryPolicyAt::Unknown,
        }
    }
}

fn change_policy_arn(c: &ChangeEvent) -> Option<String> {
    if let Some(a) = str_field(&c.request, "policyArn") {
        return Some(a.to_owned());
    }
    c.response
        .get("policy")
        .and_then(|p| str_field(p, "arn"))
        .map(str::to_owned)
}

fn change_version_id(c: &ChangeEvent) -> Option<String> {
    match c.event_name.as_str() {
        "SetDefaultPolicyVersion" => str_field(&c.request, "versionId").map(str::to_owned),
        "CreatePolicyVersion" => c
            .response
            .get("policyVersion")
            .and_then(|v| str_field(v, "versionId"))
            .map(str::to_owned),
        "CreatePolicy" => Some(
            c.response
                .get("policy")
                .and_then(|p| str_field(p, "defaultVersionId"))
                .unwrap_or("v1")
                .to_owned(),
        ),
        _ => None,
    }
}
