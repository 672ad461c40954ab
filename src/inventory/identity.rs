//! A role's permission side at time T: inline policies, attached managed policies (with the
//! default version in force), the permissions boundary, and ECR repository policies — from
//! the snapshot, corrected by the change events before and after T.
//!
//! The snapshot is taken to be *now*. Attach/Detach events are reversible, so they are undone
//! for T before them. Put/CreatePolicyVersion events carry the new document, so the state
//! after them is known; the state before the first of them is not, and is reported as
//! uncertain rather than guessed. Only the default version of a managed policy is in force:
//! it is rebuilt at T from the version list and the version events on both sides of T, and
//! where they leave more than one version possible, every candidate is handed on
//! (`Undecided`) — today's default is never taken to have been in force.

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
    pub source: PolicySource,
}

/// Where the inventory's copy of a policy came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PolicySource {
    /// A snapshot document (a file name, or the live API).
    Snapshot(String),
    /// The change event that set it.
    Change(ChangeRef),
    /// AWS's record of a denied request (`--aws-details`): the document as captured with it.
    Aws {
        authorization_id: String,
        time: DateTime<Utc>,
    },
}

impl PolicySource {
    pub fn describe(&self) -> String {
        match self {
            PolicySource::Snapshot(origin) => format!("the snapshot {origin}"),
            PolicySource::Change(c) => format!("the change at {}", c.describe()),
            PolicySource::Aws {
                authorization_id,
                time,
            } => format!(
                "AWS's record of the denial (authorization ID {authorization_id}), as AWS evaluated it at {}",
                time.format("%Y-%m-%dT%H:%M:%SZ")
            ),
        }
    }
}

/// A managed policy attached to the role (or its boundary) whose default version at T the
/// records leave open: each candidate version, as it would be in force.
#[derive(Debug, Clone)]
pub struct Undecided {
    pub arn: String,
    /// Which part of the role it is: attached, or the permissions boundary.
    pub role_part: RolePart,
    pub candidates: Vec<NamedPolicy>,
    /// Candidate versions whose document is not recorded.
    pub unrecorded: Vec<String>,
    /// Why the version is open (the later version changes).
    pub why: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RolePart {
    Attached,
    Boundary,
}

/// The identity side of a role at one moment.
#[derive(Debug, Clone, Default)]
pub struct IdentityAt {
    pub policies: Vec<NamedPolicy>,
    pub boundary: Option<NamedPolicy>,
    /// Managed policies (attached or boundary) with more than one possible version in force.
    pub undecided: Vec<Undecided>,
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
            let from_snapshot = || {
                snapshot.and_then(|s| {
                    let p = s.inline.get(&name)?.clone();
                    Some((p, PolicySource::Snapshot(s.origin.clone())))
                })
            };
            let doc = match before.iter().rev().find(|c| touches(c)) {
                Some(c) if c.event_name == "PutRolePolicy" => {
                    policy_of(c.request.get("policyDocument"))
                        .map(|p| (p, PolicySource::Change(ChangeRef::of(c))))
                }
                Some(_) => None,
                None if after.iter().any(|c| touches(c)) => {
                    out.uncertain.push(format!("inline:{name} (changed after the event; the earlier version is not recorded)"));
                    from_snapshot()
                }
                None => from_snapshot(),
            };
            if let Some((policy, source)) = doc {
                out.policies.push(NamedPolicy {
                    label: format!("inline:{name}"),
                    policy,
                    source,
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
        for arn in &attached {
            out.later_changes.extend(self.version_changes_after(arn, t));
        }
        out.later_changes.sort_by_key(|c| c.time);
        for arn in attached {
            match self.managed_policy_at(&arn, t) {
                VersionAt::InForce(p) => out.policies.push(p),
                VersionAt::Undecided(u) => out.undecided.push(u.part(RolePart::Attached)),
                VersionAt::NotRecorded => out
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
                VersionAt::InForce(p) => out.boundary = Some(p),
                VersionAt::Undecided(u) => out.undecided.push(u.part(RolePart::Boundary)),
                VersionAt::NotRecorded => out.uncertain.push(format!(
                    "permissions boundary {arn} (document not in the inventory)"
                )),
            }
        }
        Some(out)
    }

    /// The version events of a managed policy after `t`.
    fn version_changes_after(&self, arn: &str, t: DateTime<Utc>) -> Vec<ChangeRef> {
        let owner = crate::event::arn_account(arn).unwrap_or("aws");
        self.accounts
            .get(owner)
            .map(|a| {
                a.changes
                    .iter()
                    .filter(|c| {
                        c.time > t
                            && VERSION_EVENTS.contains(&c.event_name.as_str())
                            && change_policy_arn(c).as_deref() == Some(arn)
                    })
                    .map(ChangeRef::of)
                    .collect()
            })
            .unwrap_or_default()
    }

    /// The default version of a managed policy at `t`, rebuilt from the version list and the
    /// version events before *and after* `t`.
    ///
    /// The last default-setting event at or before `t` decides (`CreatePolicy`,
    /// `CreatePolicyVersion` with `setAsDefault`, `SetDefaultPolicyVersion`). Without one, the
    /// snapshot's default is in force only when no default-setting event follows `t`;
    /// otherwise every version that existed at `t` is a candidate, except versions created
    /// after `t` (by their event, their `CreateDate`, or a version id above one created after
    /// `t`: ids only grow) and versions deleted after `t` before the default next changed
    /// (a default version cannot be deleted).
    pub fn managed_policy_at(&self, arn: &str, t: DateTime<Utc>) -> VersionAt {
        let owner = crate::event::arn_account(arn).unwrap_or("aws");
        let acct = self.accounts.get(owner);
        let snapshot = acct.and_then(|a| a.managed_policies.get(arn));
        let changes: Vec<&ChangeEvent> = acct
            .map(|a| {
                a.changes
                    .iter()
                    .filter(|c| {
                        VERSION_EVENTS.contains(&c.event_name.as_str())
                            && change_policy_arn(c).as_deref() == Some(arn)
                    })
                    .collect()
            })
            .unwrap_or_default();
        // the document of each version, from its CreatePolicy/CreatePolicyVersion or the snapshot
        let version_doc = |vid: &str| -> Option<NamedPolicy> {
            let label = format!("{arn}@{vid}");
            changes
                .iter()
                .find(|c| {
                    c.event_name != "SetDefaultPolicyVersion"
                        && change_version_id(c).as_deref() == Some(vid)
                })
                .and_then(|c| {
                    let policy = policy_of(c.request.get("policyDocument"))?;
                    Some(NamedPolicy {
                        label: label.clone(),
                        policy,
                        source: PolicySource::Change(ChangeRef::of(c)),
                    })
                })
                .or_else(|| {
                    let s = snapshot?;
                    Some(NamedPolicy {
                        label: label.clone(),
                        policy: s.versions.get(vid)?.clone(),
                        source: PolicySource::Snapshot(s.origin.clone()),
                    })
                })
        };
        let (before, after): (Vec<&ChangeEvent>, Vec<&ChangeEvent>) =
            changes.iter().partition(|c| c.time <= t);
        if let Some(c) = before.iter().rev().find(|c| sets_default(c)) {
            let vid = change_version_id(c).unwrap_or_else(|| "v1".to_owned());
            return version_doc(&vid).map_or(VersionAt::NotRecorded, VersionAt::InForce);
        }
        let Some(next_default) = after.iter().find(|c| sets_default(c)) else {
            let Some(vid) = snapshot.and_then(|s| s.default_version.clone()) else {
                return VersionAt::NotRecorded;
            };
            return version_doc(&vid).map_or(VersionAt::NotRecorded, VersionAt::InForce);
        };
        if next_default.event_name == "CreatePolicy" {
            // created after t: it did not exist, so it was not in force
            return VersionAt::NotRecorded;
        }
        // Every version that may have existed at t and may have been its default.
        let mut ids: Vec<String> = snapshot
            .map(|s| s.versions.keys().cloned().collect())
            .unwrap_or_default();
        for c in &changes {
            if let Some(v) = change_version_id(c) {
                if !ids.contains(&v) {
                    ids.push(v);
                }
            }
        }
        let created_after = |vid: &str| {
            after.iter().any(|c| {
                c.event_name == "CreatePolicyVersion"
                    && change_version_id(c).as_deref() == Some(vid)
            }) || snapshot
                .and_then(|s| s.created.get(vid))
                .is_some_and(|created| *created > t)
        };
        let first_later_id = ids
            .iter()
            .filter(|v| created_after(v))
            .filter_map(|v| version_number(v))
            .min();
        let deleted = |vid: &str, until: DateTime<Utc>| {
            changes.iter().any(|c| {
                c.event_name == "DeletePolicyVersion"
                    && c.time <= until
                    && str_field(&c.request, "versionId") == Some(vid)
            })
        };
        let candidates: Vec<String> = ids
            .into_iter()
            .filter(|v| !created_after(v))
            .filter(|v| !(first_later_id.is_some() && version_number(v) >= first_later_id))
            .filter(|v| !deleted(v, next_default.time))
            .collect();
        let mut docs = Vec::new();
        let mut unrecorded = Vec::new();
        for v in &candidates {
            match version_doc(v) {
                Some(d) => docs.push(d),
                None => unrecorded.push(v.clone()),
            }
        }
        if docs.len() == 1 && unrecorded.is_empty() {
            return docs
                .pop()
                .map_or(VersionAt::NotRecorded, VersionAt::InForce);
        }
        if docs.is_empty() {
            return VersionAt::NotRecorded;
        }
        VersionAt::Undecided(Undecided {
            arn: arn.to_owned(),
            role_part: RolePart::Attached,
            candidates: docs,
            unrecorded,
            why: format!(
                "its default version was changed after the event, at {}, and the version in force before is not recorded",
                ChangeRef::of(next_default).describe()
            ),
        })
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

/// The events that create, delete or switch the versions of a managed policy.
const VERSION_EVENTS: &[&str] = &[
    "CreatePolicy",
    "CreatePolicyVersion",
    "SetDefaultPolicyVersion",
    "DeletePolicyVersion",
];

/// The default version of a managed policy at one moment.
#[derive(Debug, Clone)]
pub enum VersionAt {
    /// This version was in force.
    InForce(NamedPolicy),
    /// One of several versions was; each candidate is given.
    Undecided(Undecided),
    /// Nothing usable is recorded (no document of the version in force).
    NotRecorded,
}

impl Undecided {
    fn part(self, role_part: RolePart) -> Undecided {
        Undecided { role_part, ..self }
    }
}

/// Whether a version event makes its version the default.
fn sets_default(c: &ChangeEvent) -> bool {
    match c.event_name.as_str() {
        "CreatePolicy" | "SetDefaultPolicyVersion" => true,
        "CreatePolicyVersion" => c
            .request
            .get("setAsDefault")
            .is_some_and(|v| v == &Value::Bool(true) || v == "true"),
        _ => false,
    }
}

/// `v12` → 12.
fn version_number(vid: &str) -> Option<u64> {
    vid.strip_prefix('v')?.parse().ok()
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
