//! The inventory: IAM roles, OIDC providers, managed policies and ECR repository policies,
//! by account, and *as they were at a given moment*.
//!
//! Two kinds of input feed it: snapshots (`aws iam get-account-authorization-details`
//! output, OIDC provider listings, `aws ecr get-repository-policy` output), taken to describe
//! the state *now*, after every logged change; and the IAM/ECR change events found in the
//! logs, which give the policy in force at each earlier moment and who set it. This module
//! answers "what was the trust policy of role R at time T, and who changed it since?"; it
//! evaluates nothing (that is `explain`, through the policy engine) and performs no IO.

mod identity;
pub mod live;
mod load;

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use iam_policy::Policy;
use serde::Serialize;
use serde_json::Value;

use crate::event::Arn;
use crate::read::InventoryDoc;
use crate::select::ChangeEvent;

pub use identity::{
    IdentityAt, NamedPolicy, PolicySource, RepositoryPolicyAt, RolePart, Undecided, VersionAt,
};
pub use load::LoadProblem;

/// A change event, as referenced from explanations.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ChangeRef {
    pub time: DateTime<Utc>,
    pub event_name: String,
    pub actor: Option<String>,
    pub event_id: String,
}

impl ChangeRef {
    fn of(c: &ChangeEvent) -> ChangeRef {
        ChangeRef {
            time: c.time,
            event_name: c.event_name.clone(),
            actor: c.actor.clone(),
            event_id: c.event_id.clone(),
        }
    }

    /// `2026-10-02T10:30:00Z by arn:aws:iam::1:user/alice (UpdateAssumeRolePolicy)`
    pub fn describe(&self) -> String {
        let who = self.actor.as_deref().unwrap_or("an unknown principal");
        format!(
            "{} by {} ({})",
            self.time.format("%Y-%m-%dT%H:%M:%SZ"),
            who,
            self.event_name
        )
    }
}

/// A role as the snapshot shows it.
#[derive(Debug, Clone, Default)]
pub struct RoleSnapshot {
    /// The document it was read from (a file name, `iam-live`).
    pub origin: String,
    pub name: String,
    pub arn: String,
    pub created: Option<DateTime<Utc>>,
    pub trust: Option<Policy>,
    pub inline: BTreeMap<String, Policy>,
    pub attached: Vec<String>,
    pub boundary: Option<String>,
    pub max_session_duration: Option<u64>,
    /// The role's tags; `None` when the document does not list them.
    pub tags: Option<BTreeMap<String, String>>,
}

/// An OIDC provider as the snapshot shows it.
#[derive(Debug, Clone, Default)]
pub struct ProviderSnapshot {
    pub arn: String,
    pub client_ids: Option<Vec<String>>,
}

#[derive(Debug, Clone, Default)]
pub struct ManagedPolicy {
    /// The document it was read from (a file name, `iam-live`).
    pub origin: String,
    pub arn: String,
    pub default_version: Option<String>,
    pub versions: BTreeMap<String, Policy>,
    /// When each version was created (`PolicyVersionList[].CreateDate`), where recorded.
    pub created: BTreeMap<String, DateTime<Utc>>,
}

/// Everything known about one account.
#[derive(Debug, Default)]
pub struct Account {
    /// Roles from an authorization-details snapshot; `None` when no snapshot covers the account.
    pub roles: Option<BTreeMap<String, RoleSnapshot>>,
    /// OIDC providers from a listing; `None` when no listing covers the account.
    pub providers: Option<BTreeMap<String, ProviderSnapshot>>,
    pub managed_policies: BTreeMap<String, ManagedPolicy>,
    /// ECR repository policies by (region, repository name); `None`: known to have none.
    pub repository_policies: BTreeMap<(String, String), Option<Policy>>,
    /// Tags of the account's resources by ARN, from `aws resourcegroupstaggingapi
    /// get-resources` output (or `--iam-live`'s ECR `ListTagsForResource`).
    pub resource_tags: BTreeMap<String, BTreeMap<String, String>>,
    /// The AWS Organizations organization the account belongs to (`o-…`), from an
    /// `aws organizations list-accounts` or `describe-organization` document.
    pub organization: Option<String>,
    /// Successful change events of this account, sorted by time.
    pub changes: Vec<ChangeEvent>,
    /// Indexes into `changes` of the events that name a role (`roleName`), by role name, in
    /// time order: per-role lookups must not scan every change of the account.
    pub by_role: std::collections::HashMap<String, Vec<usize>>,
}

impl Account {
    /// The change events that name `role`, in time order.
    pub fn role_changes(&self, role: &str) -> impl Iterator<Item = &ChangeEvent> {
        self.by_role
            .get(role)
            .into_iter()
            .flatten()
            .map(move |&i| &self.changes[i])
    }
}

#[derive(Debug, Default)]
pub struct Inventory {
    pub accounts: BTreeMap<String, Account>,
    pub problems: Vec<LoadProblem>,
}

/// The trust side of a role at one moment.
#[derive(Debug, Clone)]
pub enum RoleAt {
    /// The role existed; its trust policy is known (or known to be unreadable).
    Known(RoleView),
    /// The role did not exist at that time.
    Absent(Absence),
    /// The role existed or may have, but the trust policy in force is not known.
    Unknown(Unknown),
}

#[derive(Debug, Clone)]
pub struct RoleView {
    /// The role's ARN, with its path when the path is recorded (`path`), else under `/`.
    pub arn: String,
    pub name: String,
    /// The role's path (`/`, `/ci/`), from the snapshot or the `CreateRole` that made it;
    /// `None` when neither is at hand (only later changes name the role).
    pub path: Option<String>,
    pub trust: Option<Policy>,
    /// Where the trust policy came from: `None` = the snapshot; `Some` = that change event.
    pub trust_set_by: Option<ChangeRef>,
    pub max_session_duration: Option<u64>,
    /// Trust-policy changes after the moment asked about, in time order, with the policy each set.
    pub later_changes: Vec<(ChangeRef, Option<Policy>)>,
}

#[derive(Debug, Clone, Default)]
pub struct Absence {
    /// The role was deleted before the moment asked about.
    pub deleted: Option<ChangeRef>,
    /// The role was created only after.
    pub created_later: Option<ChangeRef>,
    /// A role of the asked name exists, but under another path: its full ARN. Role ARNs
    /// include the path, so the ARN asked for names no role.
    pub other_path: Option<String>,
}

/// The parts of a role ARN `arn:PARTITION:iam::ACCOUNT:role/PATH/NAME`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RoleArn<'a> {
    pub account: &'a str,
    /// `/` or `/a/b/`: always starts and ends with a slash.
    pub path: String,
    pub name: &'a str,
}

impl<'a> RoleArn<'a> {
    /// `None` for anything that is not an IAM role ARN with an account and a name.
    pub fn parse(arn: &'a str) -> Option<RoleArn<'a>> {
        let Arn {
            service: "iam",
            account,
            resource,
            ..
        } = Arn::parse(arn)?
        else {
            return None;
        };
        let rest = resource.strip_prefix("role/")?;
        let (dir, name) = match rest.rsplit_once('/') {
            Some((dir, name)) => (format!("/{dir}/"), name),
            None => ("/".to_owned(), rest),
        };
        (!account.is_empty() && !name.is_empty()).then_some(RoleArn {
            account,
            path: dir,
            name,
        })
    }
}

#[derive(Debug, Clone)]
pub enum Unknown {
    /// No snapshot and no change event covers the account.
    AccountNotInInventory,
    /// The trust policy was replaced later and the version in force before is not recorded.
    ReplacedLater {
        first_change: ChangeRef,
        policy_after: Option<Policy>,
    },
}

/// The provider side at one moment.
#[derive(Debug, Clone, PartialEq)]
pub enum ProviderAt {
    Exists { client_ids: Option<Vec<String>> },
    Absent,
    Unknown,
}

impl Inventory {
    /// Builds the inventory from documents and change events.
    pub fn build(docs: &[InventoryDoc], changes: Vec<ChangeEvent>) -> Inventory {
        let mut inv = Inventory::default();
        for d in docs {
            load::load_doc(&mut inv, d);
        }
        for c in changes {
            if let Some(acct) = c.account.clone() {
                inv.accounts.entry(acct).or_default().changes.push(c);
            }
        }
        for a in inv.accounts.values_mut() {
            a.changes.sort_by(|x, y| {
                x.time
                    .cmp(&y.time)
                    .then_with(|| x.event_id.cmp(&y.event_id))
            });
            a.changes
                .dedup_by(|x, y| !x.event_id.is_empty() && x.event_id == y.event_id);
            for (i, c) in a.changes.iter().enumerate() {
                if let Some(role) = str_field(&c.request, "roleName") {
                    a.by_role.entry(role.to_owned()).or_default().push(i);
                }
            }
        }
        inv
    }

    /// The number of change events of `account` at or before `t` (a coarse cache epoch).
    pub fn changes_before(&self, account: &str, t: DateTime<Utc>) -> usize {
        self.accounts
            .get(account)
            .map_or(0, |a| a.changes.partition_point(|c| c.time <= t))
    }

    /// A small number that changes whenever anything recorded about `role` changes between
    /// two moments: the count of its change events at or before `t`. Verdict caches key on it.
    pub fn role_epoch(&self, account: &str, role: &str, t: DateTime<Utc>) -> usize {
        let Some(a) = self.accounts.get(account) else {
            return 0;
        };
        let Some(idx) = a.by_role.get(role) else {
            return 0;
        };
        idx.partition_point(|&i| a.changes[i].time <= t)
    }

    pub fn account(&self, id: &str) -> Option<&Account> {
        self.accounts.get(id)
    }

    /// Whether anything at all is known about an account's roles.
    pub fn knows_roles(&self, account: &str) -> bool {
        self.accounts
            .get(account)
            .is_some_and(|a| a.roles.is_some() || a.changes.iter().any(is_role_change))
    }

    /// The role names known in an account at time `t` (snapshot plus created, minus deleted).
    pub fn role_names(&self, account: &str) -> Vec<String> {
        let Some(a) = self.accounts.get(account) else {
            return Vec::new();
        };
        let mut names: Vec<String> = a
            .roles
            .as_ref()
            .map(|r| r.keys().cloned().collect())
            .unwrap_or_default();
        for c in &a.changes {
            if c.event_name == "CreateRole" {
                if let Some(n) = str_field(&c.request, "roleName") {
                    if !names.iter().any(|x| x == n) {
                        names.push(n.to_owned());
                    }
                }
            }
        }
        names.sort();
        names
    }

    /// Accounts other than `except` in which a role of this name is known.
    pub fn accounts_with_role(&self, name: &str, except: &str) -> Vec<String> {
        self.accounts
            .keys()
            .filter(|a| a.as_str() != except && self.role_names(a).iter().any(|n| n == name))
            .cloned()
            .collect()
    }

    /// The trust side of the role a request names by its full ARN, at `t`. IAM role names are
    /// unique in an account whatever the path, but the ARN includes the path: an ARN whose path
    /// is not the role's names no role (`Absence::other_path`), as STS judges it. A role whose
    /// path is not recorded is taken as asked.
    pub fn role_at_arn(&self, requested: &RoleArn<'_>, t: DateTime<Utc>) -> RoleAt {
        let at = self.role_at(requested.account, requested.name, t);
        if !matches!(
            at,
            RoleAt::Known(_) | RoleAt::Unknown(Unknown::ReplacedLater { .. })
        ) {
            return at;
        }
        match self.recorded_role(requested.account, requested.name, t) {
            Some((path, arn)) if path != requested.path => RoleAt::Absent(Absence {
                other_path: Some(arn),
                ..Absence::default()
            }),
            _ => at,
        }
    }

    /// The ARN of the role named `name` in `account` as recorded (with its path), if any.
    pub fn role_arn(&self, account: &str, name: &str) -> Option<String> {
        self.recorded_role(account, name, DateTime::<Utc>::MAX_UTC)
            .map(|(_, arn)| arn)
    }

    /// (path, ARN) of the role named `name` in `account` at `t`, as recorded.
    fn recorded_role(
        &self,
        account: &str,
        name: &str,
        t: DateTime<Utc>,
    ) -> Option<(String, String)> {
        let a = self.accounts.get(account)?;
        let changes: Vec<&ChangeEvent> =
            a.role_changes(name).filter(|c| is_role_change(c)).collect();
        let snapshot = a.roles.as_ref().and_then(|r| r.get(name));
        recorded_arn(account, name, snapshot, &changes, t)
    }

    /// The trust side of `role_name` in `account` at `t`.
    pub fn role_at(&self, account: &str, role_name: &str, t: DateTime<Utc>) -> RoleAt {
        let Some(acct) = self.accounts.get(account) else {
            return RoleAt::Unknown(Unknown::AccountNotInInventory);
        };
        let changes: Vec<&ChangeEvent> = acct
            .role_changes(role_name)
            .filter(|c| is_role_change(c))
            .collect();
        let snapshot = acct.roles.as_ref().and_then(|r| r.get(role_name));
        let (before, after): (Vec<&ChangeEvent>, Vec<&ChangeEvent>) =
            changes.iter().partition(|c| c.time <= t);
        let later_trust: Vec<(ChangeRef, Option<Policy>)> = after
            .iter()
            .filter(|c| sets_trust(c))
            .map(|c| (ChangeRef::of(c), trust_of_change(c)))
            .collect();
        if let Some(last) = before.last() {
            if last.event_name == "DeleteRole" {
                return RoleAt::Absent(Absence {
                    deleted: Some(ChangeRef::of(last)),
                    ..Absence::default()
                });
            }
        }
        // The latest trust-setting change at or before t decides, if there is one.
        let last_trust = before.iter().rev().find(|c| sets_trust(c));
        let max_session = before
            .iter()
            .rev()
            .find_map(|c| num_field(&c.request, "maxSessionDuration"))
            .or_else(|| snapshot.and_then(|s| s.max_session_duration));
        let recorded = recorded_arn(account, role_name, snapshot, &changes, t);
        let path = recorded.as_ref().map(|(p, _)| p.clone());
        let arn = recorded
            .map(|(_, a)| a)
            .unwrap_or_else(|| format!("arn:aws:iam::{account}:role/{role_name}"));
        if let Some(c) = last_trust {
            return RoleAt::Known(RoleView {
                arn,
                name: role_name.to_owned(),
                path,
                trust: trust_of_change(c),
                trust_set_by: Some(ChangeRef::of(c)),
                max_session_duration: max_session,
                later_changes: later_trust,
            });
        }
        // Nothing set the trust policy at or before t.
        if let Some(first_after) = after.first() {
            if first_after.event_name == "CreateRole" {
                return RoleAt::Absent(Absence {
                    created_later: Some(ChangeRef::of(first_after)),
                    ..Absence::default()
                });
            }
        }
        if let Some(snap) = snapshot {
            if snap.created.is_some_and(|c| c > t) {
                return RoleAt::Absent(Absence::default());
            }
            if let Some((first, policy_after)) = later_trust.first().cloned() {
                return RoleAt::Unknown(Unknown::ReplacedLater {
                    first_change: first,
                    policy_after,
                });
            }
            return RoleAt::Known(RoleView {
                arn,
                name: role_name.to_owned(),
                path,
                trust: snap.trust.clone(),
                trust_set_by: None,
                max_session_duration: max_session,
                later_changes: Vec::new(),
            });
        }
        if acct.roles.is_some() {
            // The snapshot covers the account and has no such role: if it was deleted later,
            // it existed at t with an unknown policy; otherwise it did not exist.
            if let Some(del) = after.iter().find(|c| c.event_name == "DeleteRole") {
                return RoleAt::Unknown(Unknown::ReplacedLater {
                    first_change: ChangeRef::of(del),
                    policy_after: None,
                });
            }
            return RoleAt::Absent(Absence::default());
        }
        RoleAt::Unknown(Unknown::AccountNotInInventory)
    }

    /// Whether `provider_arn` existed in `account` at `t`, and with which client IDs.
    pub fn provider_at(&self, account: &str, provider_arn: &str, t: DateTime<Utc>) -> ProviderAt {
        let Some(acct) = self.accounts.get(account) else {
            return ProviderAt::Unknown;
        };
        let mut state: Option<ProviderAt> =
            acct.providers.as_ref().map(|p| match p.get(provider_arn) {
                Some(s) => ProviderAt::Exists {
                    client_ids: s.client_ids.clone(),
                },
                None => ProviderAt::Absent,
            });
        // Replay changes up to t on top of "unknown" when they precede the snapshot's view.
        let relevant: Vec<&ChangeEvent> = acct
            .changes
            .iter()
            .filter(|c| provider_of_change(c).as_deref() == Some(provider_arn))
            .collect();
        if relevant.is_empty() {
            return state.unwrap_or(ProviderAt::Unknown);
        }
        let mut replay: Option<ProviderAt> = None;
        for c in relevant.iter().filter(|c| c.time <= t) {
            replay = Some(match c.event_name.as_str() {
                "CreateOpenIDConnectProvider" => ProviderAt::Exists {
                    client_ids: c.request.get("clientIDList").and_then(string_list),
                },
                "DeleteOpenIDConnectProvider" => ProviderAt::Absent,
                "AddClientIDToOpenIDConnectProvider"
                | "RemoveClientIDFromOpenIDConnectProvider" => {
                    let id = str_field(&c.request, "clientID")
                        .unwrap_or_default()
                        .to_owned();
                    let add = c.event_name.starts_with("Add");
                    match replay.take().or_else(|| state.clone()) {
                        Some(ProviderAt::Exists {
                            client_ids: Some(mut ids),
                        }) => {
                            ids.retain(|x| *x != id);
                            if add {
                                ids.push(id);
                            }
                            ProviderAt::Exists {
                                client_ids: Some(ids),
                            }
                        }
                        _ => ProviderAt::Exists { client_ids: None },
                    }
                }
                _ => continue,
            });
        }
        if let Some(r) = replay {
            return r;
        }
        // Only later changes: a later create means it did not exist yet.
        if relevant
            .first()
            .is_some_and(|c| c.event_name == "CreateOpenIDConnectProvider")
        {
            return ProviderAt::Absent;
        }
        state.take().unwrap_or(ProviderAt::Unknown)
    }

    /// The tags of role `name` in `account` at `t`, as far as they are known: from the
    /// snapshot, unless a `TagRole`/`UntagRole` of the role comes after `t` (the tags in force
    /// then are not recorded).
    pub fn role_tags_at(
        &self,
        account: &str,
        name: &str,
        t: DateTime<Utc>,
    ) -> Option<&BTreeMap<String, String>> {
        let a = self.accounts.get(account)?;
        let retagged_later = a
            .role_changes(name)
            .any(|c| c.time > t && matches!(c.event_name.as_str(), "TagRole" | "UntagRole"));
        if retagged_later {
            return None;
        }
        a.roles.as_ref()?.get(name)?.tags.as_ref()
    }

    /// The tags of resource `arn` at `t`, as far as they are known: the snapshot's, unless a
    /// `TagResource`/`UntagResource` of it comes after `t` (the tags before are not recorded);
    /// without a snapshot, the `CreateRepository` that made it and the tag changes up to `t`.
    pub fn resource_tags_at(
        &self,
        arn: &str,
        t: DateTime<Utc>,
    ) -> Option<BTreeMap<String, String>> {
        let a = self.accounts.get(crate::event::arn_account(arn)?)?;
        let changes: Vec<&ChangeEvent> = a
            .changes
            .iter()
            .filter(|c| tagged_resource(c).as_deref() == Some(arn))
            .collect();
        if let Some(tags) = a.resource_tags.get(arn) {
            return (!changes.iter().any(|c| c.time > t)).then(|| tags.clone());
        }
        let created = changes
            .iter()
            .rposition(|c| c.time <= t && c.event_name == "CreateRepository")?;
        let mut tags = BTreeMap::new();
        for c in changes[created..].iter().filter(|c| c.time <= t) {
            match c.event_name.as_str() {
                "CreateRepository" | "TagResource" => {
                    for (k, v) in tag_list(c.request.get("tags")) {
                        tags.insert(k, v);
                    }
                }
                "UntagResource" => {
                    for k in c
                        .request
                        .get("tagKeys")
                        .and_then(string_list)
                        .unwrap_or_default()
                    {
                        tags.remove(&k);
                    }
                }
                _ => {}
            }
        }
        Some(tags)
    }

    /// The organization `account` belongs to, when a document said so.
    pub fn organization_of(&self, account: &str) -> Option<&str> {
        self.accounts.get(account)?.organization.as_deref()
    }

    /// Whether the account's provider listing is known (snapshot or change events).
    pub fn knows_providers(&self, account: &str) -> bool {
        self.accounts
            .get(account)
            .is_some_and(|a| a.providers.is_some())
    }
}

fn is_role_change(c: &ChangeEvent) -> bool {
    matches!(
        c.event_name.as_str(),
        "CreateRole" | "UpdateAssumeRolePolicy" | "UpdateRole" | "DeleteRole"
    )
}

fn sets_trust(c: &ChangeEvent) -> bool {
    matches!(
        c.event_name.as_str(),
        "CreateRole" | "UpdateAssumeRolePolicy"
    )
}

fn trust_of_change(c: &ChangeEvent) -> Option<Policy> {
    let field = if c.event_name == "CreateRole" {
        "assumeRolePolicyDocument"
    } else {
        "policyDocument"
    };
    let v = c.request.get(field).or_else(|| {
        c.response
            .get("role")
            .and_then(|r| r.get("assumeRolePolicyDocument"))
    })?;
    Policy::from_value(v).ok()
}

/// The full ARN of a role and its path as recorded: from the `CreateRole` that made the
/// role in force at `t` (its response's ARN, else its request's `path`, `/` when absent),
/// else from the snapshot's ARN. `None` when neither is at hand.
fn recorded_arn(
    account: &str,
    name: &str,
    snapshot: Option<&RoleSnapshot>,
    changes: &[&ChangeEvent],
    t: DateTime<Utc>,
) -> Option<(String, String)> {
    let with_path = |arn: String| RoleArn::parse(&arn).map(|r| (r.path, arn.clone()));
    if let Some(c) = last_create(changes, t) {
        if let Some(found) = response_role_arn(c).and_then(with_path) {
            return Some(found);
        }
        let path = str_field(&c.request, "path").map_or_else(|| "/".to_owned(), normal_path);
        let partition = snapshot
            .and_then(|s| s.arn.split(':').nth(1))
            .unwrap_or("aws");
        let arn = format!("arn:{partition}:iam::{account}:role{path}{name}");
        return Some((path, arn));
    }
    snapshot.and_then(|s| with_path(s.arn.clone()))
}

/// The `CreateRole` of the role in force at `t`: the last one at or before `t`, else the
/// first after it (the role did not exist yet; its ARN is still the one asked about).
fn last_create<'a>(changes: &[&'a ChangeEvent], t: DateTime<Utc>) -> Option<&'a ChangeEvent> {
    let creates = || changes.iter().filter(|c| c.event_name == "CreateRole");
    creates()
        .rfind(|c| c.time <= t)
        .or_else(|| creates().next())
        .copied()
}

/// `ci` → `/ci/`: IAM paths start and end with a slash.
fn normal_path(p: &str) -> String {
    let inner = p.trim_matches('/');
    if inner.is_empty() {
        "/".to_owned()
    } else {
        format!("/{inner}/")
    }
}

/// The resource an ECR tag or creation event is about: `resourceArn`, or the created
/// repository's ARN.
fn tagged_resource(c: &ChangeEvent) -> Option<String> {
    match c.event_name.as_str() {
        "TagResource" | "UntagResource" => str_field(&c.request, "resourceArn").map(str::to_owned),
        "CreateRepository" => c
            .response
            .get("repository")
            .and_then(|r| str_field(r, "repositoryArn"))
            .map(str::to_owned),
        _ => None,
    }
}

/// `[{"Key": k, "Value": v}]` (either case) as pairs.
pub(crate) fn tag_list(v: Option<&Value>) -> Vec<(String, String)> {
    v.and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|t| {
            let k = t.get("Key").or_else(|| t.get("key"))?.as_str()?;
            let v = t.get("Value").or_else(|| t.get("value"))?.as_str()?;
            Some((k.to_owned(), v.to_owned()))
        })
        .collect()
}

fn response_role_arn(c: &ChangeEvent) -> Option<String> {
    c.response
        .get("role")
        .and_then(|r| r.get("arn"))
        .and_then(Value::as_str)
        .map(str::to_owned)
}

fn provider_of_change(c: &ChangeEvent) -> Option<String> {
    if let Some(arn) = str_field(&c.request, "openIDConnectProviderArn") {
        return Some(arn.to_owned());
    }
    if c.event_name == "CreateOpenIDConnectProvider" {
        if let Some(arn) = str_field(&c.response, "openIDConnectProviderArn") {
            return Some(arn.to_owned());
        }
        let url = str_field(&c.request, "url")?;
        let host = url.strip_prefix("https://").unwrap_or(url);
        return Some(format!(
            "arn:aws:iam::{}:oidc-provider/{host}",
            c.account.as_deref()?
        ));
    }
    None
}

pub(crate) fn str_field<'a>(v: &'a Value, key: &str) -> Option<&'a str> {
    v.get(key).and_then(Value::as_str)
}

fn num_field(v: &Value, key: &str) -> Option<u64> {
    match v.get(key)? {
        Value::Number(n) => n.as_u64(),
        Value::String(s) => s.parse().ok(),
        _ => None,
    }
}

pub(crate) fn string_list(v: &Value) -> Option<Vec<String>> {
    match v {
        Value::String(s) => Some(vec![s.clone()]),
        Value::Array(a) => Some(
            a.iter()
                .filter_map(Value::as_str)
                .map(str::to_owned)
                .collect(),
        ),
        _ => None,
    }
}
