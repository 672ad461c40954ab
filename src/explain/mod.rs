//! Explain: from a selected failure and the inventory to a cause, evidence and a fix.
//!
//! This is the one place where causes are chosen. `trust` diagnoses a web-identity request
//! against one trust policy (shared by `explain` and `check`); `webid` handles the
//! event-level story (error codes, which policy was in force when, role typos); findings
//! are grouped here. Nothing in this module reads files or prints.

pub mod call;
pub mod codebuild;
pub mod context;
pub mod fix;
pub mod subject;
pub mod trust;
pub mod webid;

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::correlate::intern::Interner;
use crate::event::EventId;
use crate::inventory::Inventory;
use crate::select::WebIdAttempt;

/// The contract's cause codes (product.md), plus the ones we added (documented in the README).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Cause {
    RoleNotFound,
    ProviderNotFound,
    AudienceNotRegistered,
    ProviderNotTrusted,
    ActionNotTrusted,
    SubKindMismatch,
    SubPatternMismatch,
    SubCaseMismatch,
    SubImmutableIdMismatch,
    SubCustomTemplateMismatch,
    WildcardNeedsStringlike,
    AudMismatch,
    UnverifiableClaimCondition,
    ExplicitDeny,
    DurationExceedsMax,
    TokenExpired,
    IdpRejectedClaim,
    IdpUnreachable,
    RegionDisabled,
    InvalidToken,
    TrustAllows,
    NoPolicyData,
    /// A trust-policy condition on a key other than the token's claims failed.
    ConditionNotMet,
    IdentityPolicyNoAllow,
    IdentityPolicyWrongResource,
    GetAuthorizationTokenScoped,
    IdentityExplicitDeny,
    ResourcePolicyNoAllow,
    ResourcePolicyDeny,
    PermissionsBoundary,
    SessionPolicy,
    OrgPolicy,
    VpcEndpointPolicy,
    IdentityAllows,
    /// A call's decision turns on a request-context key whose value the tool cannot know
    /// (`aws:PrincipalOrgID` without the organization, `aws:ResourceTag/…`, …).
    UnverifiableContextCondition,
    /// Role chaining: the target role trusts the session for sts:AssumeRole but the request
    /// carries session tags and the trust policy does not allow sts:TagSession.
    ChainedTagSessionNotAllowed,
    /// Role chaining: the target role's trust policy does not trust the calling session's role.
    ChainedPrincipalNotTrusted,
    /// Role chaining: a chained session may last at most one hour.
    ChainedDurationExceedsOneHour,
    /// A CodeBuild-hosted runner build failed because GitHub refused the just-in-time runner
    /// configuration: the identity behind CodeBuild's GitHub credential is not a repository admin.
    CodebuildRunnerCredentialLacksAdmin,
    /// A CodeBuild runner project's webhook lacks a `WORKFLOW_JOB_QUEUED` event filter.
    CodebuildWebhookMissingJobQueued,
    /// Any other failed CodeBuild build (phase and context given).
    CodebuildBuildFailed,
}

impl Cause {
    /// A web-identity cause found in the trust policy itself (an edit of it, or of the
    /// workflow, can fix it).
    pub fn is_trust_policy_cause(self) -> bool {
        matches!(
            self,
            Cause::ProviderNotTrusted
                | Cause::ActionNotTrusted
                | Cause::SubKindMismatch
                | Cause::SubPatternMismatch
                | Cause::SubCaseMismatch
                | Cause::SubImmutableIdMismatch
                | Cause::SubCustomTemplateMismatch
                | Cause::WildcardNeedsStringlike
                | Cause::AudMismatch
                | Cause::ExplicitDeny
                | Cause::ConditionNotMet
        )
    }

    pub fn code(self) -> &'static str {
        CAUSE_CODES
            .iter()
            .find(|(c, _)| *c == self)
            .map_or("unknown", |(_, s)| s)
    }
}

const CAUSE_CODES: &[(Cause, &str)] = &[
    (Cause::RoleNotFound, "role_not_found"),
    (Cause::ProviderNotFound, "provider_not_found"),
    (Cause::AudienceNotRegistered, "audience_not_registered"),
    (Cause::ProviderNotTrusted, "provider_not_trusted"),
    (Cause::ActionNotTrusted, "action_not_trusted"),
    (Cause::SubKindMismatch, "sub_kind_mismatch"),
    (Cause::SubPatternMismatch, "sub_pattern_mismatch"),
    (Cause::SubCaseMismatch, "sub_case_mismatch"),
    (Cause::SubImmutableIdMismatch, "sub_immutable_id_mismatch"),
    (
        Cause::SubCustomTemplateMismatch,
        "sub_custom_template_mismatch",
    ),
    (Cause::WildcardNeedsStringlike, "wildcard_needs_stringlike"),
    (Cause::AudMismatch, "aud_mismatch"),
    (
        Cause::UnverifiableClaimCondition,
        "unverifiable_claim_condition",
    ),
    (
        Cause::UnverifiableContextCondition,
        "unverifiable_context_condition",
    ),
    (Cause::ExplicitDeny, "explicit_deny"),
    (Cause::DurationExceedsMax, "duration_exceeds_max"),
    (Cause::TokenExpired, "token_expired"),
    (Cause::IdpRejectedClaim, "idp_rejected_claim"),
    (Cause::IdpUnreachable, "idp_unreachable"),
    (Cause::RegionDisabled, "region_disabled"),
    (Cause::InvalidToken, "invalid_token"),
    (Cause::TrustAllows, "trust_allows"),
    (Cause::NoPolicyData, "no_policy_data"),
    (Cause::ConditionNotMet, "condition_not_met"),
    (Cause::IdentityPolicyNoAllow, "identity_policy_no_allow"),
    (
        Cause::IdentityPolicyWrongResource,
        "identity_policy_wrong_resource",
    ),
    (
        Cause::GetAuthorizationTokenScoped,
        "get_authorization_token_scoped",
    ),
    (Cause::IdentityExplicitDeny, "identity_explicit_deny"),
    (Cause::ResourcePolicyNoAllow, "resource_policy_no_allow"),
    (Cause::ResourcePolicyDeny, "resource_policy_deny"),
    (Cause::PermissionsBoundary, "permissions_boundary"),
    (Cause::SessionPolicy, "session_policy"),
    (Cause::OrgPolicy, "org_policy"),
    (Cause::VpcEndpointPolicy, "vpc_endpoint_policy"),
    (Cause::IdentityAllows, "identity_allows"),
    (
        Cause::ChainedTagSessionNotAllowed,
        "chained_tag_session_not_allowed",
    ),
    (
        Cause::ChainedPrincipalNotTrusted,
        "chained_principal_not_trusted",
    ),
    (
        Cause::ChainedDurationExceedsOneHour,
        "chained_duration_exceeds_one_hour",
    ),
    (
        Cause::CodebuildRunnerCredentialLacksAdmin,
        "codebuild_runner_credential_lacks_admin",
    ),
    (
        Cause::CodebuildWebhookMissingJobQueued,
        "codebuild_webhook_missing_job_queued",
    ),
    (Cause::CodebuildBuildFailed, "codebuild_build_failed"),
];

/// One piece of evidence: which policy, statement and condition, what was expected and what
/// the request carried.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Evidence {
    pub policy: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub statement: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sid: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub key: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub operator: Option<String>,
    pub expected: Vec<String>,
    pub actual: Option<String>,
    /// Where `actual` came from, for a condition on a request-context key: `event`,
    /// `session`, `inventory`, `rule`, `aws` (AWS's own record of the denial), or `unknown`
    /// (the tool could not know the value).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub value_source: Option<String>,
}

/// The verdict on one failed event (before grouping).
#[derive(Debug, Clone)]
pub struct Verdict {
    pub cause: Cause,
    pub explanation: String,
    pub fix: String,
    /// The alternatives, least privilege first (`fix` summarises the first).
    pub fixes: Vec<fix::Fix>,
    pub evidence: Vec<Evidence>,
    /// Extra machine-readable facts (nearest role, policy changes, …) for the JSON output.
    pub details: Details,
}

impl Verdict {
    /// Adds evidence not already listed.
    pub fn add_evidence(&mut self, more: impl IntoIterator<Item = Evidence>) {
        for e in more {
            if !self.evidence.contains(&e) {
                self.evidence.push(e);
            }
        }
    }
}

/// A group of failed events that share cause, role, sub, action and resource.
#[derive(Debug, Clone, Serialize)]
pub struct Finding {
    pub cause: Cause,
    pub event_name: Text,
    pub error_code: Text,
    pub account: Option<Text>,
    pub region: Option<Text>,
    pub role_arn: Option<Text>,
    pub provider: Option<Text>,
    pub sub: Option<Text>,
    pub aud: Option<Text>,
    pub action: Text,
    pub resource: Option<Text>,
    pub count: u64,
    pub first_seen: DateTime<Utc>,
    pub last_seen: DateTime<Utc>,
    pub event_ids: Vec<EventId>,
    /// Shared: findings of one cause often say the same (a few thousand texts for tens of
    /// thousands of findings).
    pub explanation: Text,
    pub fix: Text,
    /// The alternatives, least privilege first, each verified by evaluating the request again
    /// with it applied (`fix` summarises the first).
    pub fixes: Vec<fix::Fix>,
    pub evidence: Vec<Evidence>,
    /// Every region the grouped events came from.
    pub regions: Vec<Text>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub session_name: Option<Text>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error_message: Option<Text>,
    #[serde(skip_serializing_if = "Details::is_empty")]
    pub details: Details,
    /// The events per bucket of time (start, in seconds since the epoch, and count), when
    /// the findings were asked to count them ([`WebIdFindings::count_by`]): a report's
    /// timeline from every event, though `event_ids` keeps the first [`EVENT_IDS_KEPT`].
    #[serde(skip)]
    pub times: Vec<(i64, u64)>,
}

/// The event IDs a finding lists: the first this many, in time order (`count` counts them
/// all). One job retries a few times; a finding of thousands of events names the first.
pub const EVENT_IDS_KEPT: usize = 100;

/// A finding's text that many findings repeat (a role, a subject, an action, a message): kept
/// once, shared ([`Groups`] interns it).
pub type Text = std::sync::Arc<str>;

/// A finding's machine-readable extras, in key order: a short list, not a map (a finding
/// has a few, and a B-tree node is 600 bytes however few it holds).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Details(Vec<(String, Detail)>);

/// One extra: JSON, or one that nearly every call's finding has, typed (a JSON object is a
/// B-tree node of 600 bytes).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
pub enum Detail {
    Json(serde_json::Value),
    Session(call::SessionDetails),
    AwsDenial(Box<call::AwsDenialDetails>),
}

impl Details {
    /// Sets `key` (replacing what it held).
    pub fn insert(&mut self, key: String, value: impl Into<Detail>) {
        let value = value.into();
        match self.0.binary_search_by(|(k, _)| k.as_str().cmp(&key)) {
            Ok(i) => self.0[i].1 = value,
            Err(i) => self.0.insert(i, (key, value)),
        }
    }

    /// The JSON extra under `key` (not a typed one: the session, AWS's denial message).
    pub fn get(&self, key: &str) -> Option<&serde_json::Value> {
        let i = self.0.binary_search_by(|(k, _)| k.as_str().cmp(key)).ok()?;
        match &self.0[i].1 {
            Detail::Json(v) => Some(v),
            Detail::Session(_) | Detail::AwsDenial(_) => None,
        }
    }

    /// The JSON extra under `key`, to change.
    pub fn json_mut(&mut self, key: &str) -> Option<&mut serde_json::Value> {
        let i = self.0.binary_search_by(|(k, _)| k.as_str().cmp(key)).ok()?;
        match &mut self.0[i].1 {
            Detail::Json(v) => Some(v),
            Detail::Session(_) | Detail::AwsDenial(_) => None,
        }
    }

    /// The session a call's finding was joined to (or why not).
    pub fn session(&self) -> Option<&call::SessionDetails> {
        self.0.iter().find_map(|(_, d)| match d {
            Detail::Session(s) => Some(s),
            _ => None,
        })
    }

    pub fn contains_key(&self, key: &str) -> bool {
        self.0
            .binary_search_by(|(k, _)| k.as_str().cmp(key))
            .is_ok()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl From<serde_json::Value> for Detail {
    fn from(v: serde_json::Value) -> Detail {
        Detail::Json(v)
    }
}

impl From<BTreeMap<String, serde_json::Value>> for Details {
    fn from(map: BTreeMap<String, serde_json::Value>) -> Details {
        // a B-tree gives its keys in order
        Details(map.into_iter().map(|(k, v)| (k, Detail::Json(v))).collect())
    }
}

impl Serialize for Details {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut map = s.serialize_map(Some(self.0.len()))?;
        for (k, v) in &self.0 {
            map.serialize_entry(k, v)?;
        }
        map.end()
    }
}

/// Explains every failed web-identity attempt and groups the verdicts into findings.
pub fn explain_web_identity(attempts: &[WebIdAttempt], inventory: &Inventory) -> Vec<Finding> {
    let mut failures: Vec<&WebIdAttempt> =
        attempts.iter().filter(|a| a.error_code.is_some()).collect();
    failures.sort_by(|a, b| {
        a.time
            .cmp(&b.time)
            .then_with(|| a.event_id.cmp(&b.event_id))
    });
    let mut findings = WebIdFindings::new(inventory);
    for a in failures {
        findings.add(a);
    }
    findings.finish()
}

/// The findings of failed web-identity attempts, grouped as they are added (in time order:
/// a finding's first event gives its region, session name and message).
pub struct WebIdFindings<'i> {
    inventory: &'i Inventory,
    cache: webid::VerdictCache,
    groups: Groups,
}

impl<'i> WebIdFindings<'i> {
    pub fn new(inventory: &'i Inventory) -> WebIdFindings<'i> {
        WebIdFindings {
            inventory,
            cache: webid::VerdictCache::default(),
            groups: Groups::default(),
        }
    }

    /// Explains one failed attempt into its group; gives back the group's finding (none for a
    /// successful attempt: it is ignored).
    pub fn add(&mut self, a: &WebIdAttempt) -> Option<&mut Finding> {
        a.error_code.as_ref()?;
        let verdict = self.cache.verdict(a, self.inventory);
        let role_arn = a.role_arn.as_deref();
        let key = GroupKey {
            cause: verdict.cause,
            role: role_arn.unwrap_or_default(),
            sub: a.principal.as_ref().map_or("", |p| p.subject.as_str()),
            action: "sts:AssumeRoleWithWebIdentity",
            resource: role_arn.unwrap_or_default(),
            explanation: &verdict.explanation,
        };
        let i = match self.groups.find(&key) {
            Some(i) => i,
            None => self.groups.push(Finding {
                cause: verdict.cause,
                event_name: Text::from("AssumeRoleWithWebIdentity"),
                error_code: Text::from(a.error_code.clone().unwrap_or_default()),
                account: (role_arn
                    .and_then(crate::event::arn_account)
                    .map(str::to_owned)
                    .or_else(|| a.account.clone()))
                .map(Text::from),
                region: a.region.clone().map(Text::from),
                role_arn: a.role_arn.clone().map(Text::from),
                provider: (a.principal.as_ref().map(|p| p.provider.clone())).map(Text::from),
                sub: (a.principal.as_ref().map(|p| p.subject.clone())).map(Text::from),
                aud: (a.principal.as_ref().and_then(|p| p.audience.clone())).map(Text::from),
                action: Text::from("sts:AssumeRoleWithWebIdentity"),
                resource: a.role_arn.clone().map(Text::from),
                count: 0,
                first_seen: a.time,
                last_seen: a.time,
                event_ids: Vec::new(),
                explanation: Text::from(verdict.explanation.as_str()),
                fix: Text::from(verdict.fix.as_str()),
                fixes: verdict.fixes.clone(),
                evidence: verdict.evidence.clone(),
                regions: Vec::new(),
                session_name: a.session_name.clone().map(Text::from),
                error_message: a.error_message.clone().map(Text::from),
                details: verdict.details.clone(),
                times: Vec::new(),
            }),
        };
        Some(
            self.groups
                .note(i, a.time, &a.event_id, a.region.as_deref()),
        )
    }

    /// Counts each finding's events in buckets of `seconds` too ([`Finding::times`]).
    pub fn count_by(mut self, seconds: i64) -> Self {
        self.groups.bucket = Some(seconds);
        self
    }

    /// Lists every event ID of a finding ([`Groups::all_ids`]).
    pub fn all_ids(mut self) -> Self {
        self.groups.all_ids = true;
        self
    }

    /// The findings, earliest first.
    pub fn finish(self) -> Vec<Finding> {
        let mut findings = self.groups.into_sorted();
        findings.sort_by(|a, b| {
            a.first_seen
                .cmp(&b.first_seen)
                .then_with(|| a.cause.cmp(&b.cause))
        });
        findings
    }
}

/// What makes failed events one finding: cause, role, sub, action, resource, and the
/// explanation (events judged against different policy versions explain differently; they
/// are kept apart). An absent role, sub or resource groups as the empty string.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct GroupKey<'k> {
    pub cause: Cause,
    pub role: &'k str,
    pub sub: &'k str,
    pub action: &'k str,
    pub resource: &'k str,
    pub explanation: &'k str,
}

impl Finding {
    /// Gives back what its strings and lists hold beyond their length (text built by
    /// `format!` and lists grown by doubling): a finding is kept until the end.
    fn shrink(&mut self) {
        self.evidence.shrink_to_fit();
        self.fixes.shrink_to_fit();
        self.details.0.shrink_to_fit();
    }

    /// Points each of its texts at the copy in `texts`, adding those not there yet.
    fn share(&mut self, texts: &mut Interner) {
        let mut one = |t: &mut Text| *t = texts.shared(t);
        one(&mut self.event_name);
        one(&mut self.error_code);
        one(&mut self.explanation);
        one(&mut self.fix);
        one(&mut self.action);
        let optional = [
            &mut self.account,
            &mut self.region,
            &mut self.role_arn,
            &mut self.provider,
            &mut self.sub,
            &mut self.aud,
            &mut self.resource,
            &mut self.session_name,
            &mut self.error_message,
        ];
        for t in optional.into_iter().flatten() {
            one(t);
        }
        for (_, d) in &mut self.details.0 {
            if let Detail::Session(call::SessionDetails::Joined {
                assumed_in_region: Some(t),
                ..
            }) = d
            {
                one(t);
            }
        }
    }

    /// The key of the group this finding is.
    pub fn group_key(&self) -> GroupKey<'_> {
        GroupKey {
            cause: self.cause,
            role: self.role_arn.as_deref().unwrap_or_default(),
            sub: self.sub.as_deref().unwrap_or_default(),
            action: &self.action,
            resource: self.resource.as_deref().unwrap_or_default(),
            explanation: &self.explanation,
        }
    }
}

/// Findings found by their [`GroupKey`] without a second copy of the key: an index from the
/// key's hash to the findings that have it, compared in full.
#[derive(Default)]
pub struct Groups {
    /// Count each finding's events in buckets of this many seconds ([`Finding::times`]).
    pub bucket: Option<i64>,
    /// List every event ID, not only the first [`EVENT_IDS_KEPT`] (`watch`, whose window is
    /// bounded, delivers each event once by its ID).
    pub all_ids: bool,
    hasher: std::collections::hash_map::RandomState,
    by_hash: std::collections::HashMap<u64, Vec<usize>>,
    /// The texts findings repeat, each kept once.
    texts: Interner,
    /// Sorted in place at the end: no second list of them.
    findings: Vec<Finding>,
}

impl Groups {
    /// The finding of group `key`, if there is one yet.
    pub fn find(&self, key: &GroupKey<'_>) -> Option<usize> {
        let h = std::hash::BuildHasher::hash_one(&self.hasher, key);
        self.by_hash
            .get(&h)?
            .iter()
            .copied()
            .find(|&i| self.findings[i].group_key() == *key)
    }

    /// Adds the first finding of its group.
    pub fn push(&mut self, mut f: Finding) -> usize {
        f.shrink();
        f.share(&mut self.texts);
        let h = std::hash::BuildHasher::hash_one(&self.hasher, f.group_key());
        let i = self.findings.len();
        self.by_hash.entry(h).or_default().push(i);
        self.findings.push(f);
        i
    }

    /// Counts one more event of finding `i` (events arrive in time order): its time, the
    /// first [`EVENT_IDS_KEPT`] IDs, its region, its bucket when counting by time.
    pub fn note(
        &mut self,
        i: usize,
        time: DateTime<Utc>,
        event_id: &str,
        region: Option<&str>,
    ) -> &mut Finding {
        let (bucket, all_ids) = (self.bucket, self.all_ids);
        let f = &mut self.findings[i];
        f.count += 1;
        f.first_seen = f.first_seen.min(time);
        f.last_seen = f.last_seen.max(time);
        if all_ids || f.event_ids.len() < EVENT_IDS_KEPT {
            // most findings are one event: room for one, not the four a list starts with
            if f.event_ids.is_empty() {
                f.event_ids.reserve_exact(1);
            }
            f.event_ids.push(EventId::new(event_id));
        }
        if let Some(r) = region {
            if !f.regions.iter().any(|kept| &**kept == r) {
                if f.regions.is_empty() {
                    f.regions.reserve_exact(1);
                }
                f.regions.push(self.texts.shared(r));
            }
        }
        if let Some(size) = bucket {
            let start = time.timestamp().div_euclid(size) * size;
            match f.times.binary_search_by_key(&start, |&(s, _)| s) {
                Ok(at) => f.times[at].1 += 1,
                Err(at) => f.times.insert(at, (start, 1)),
            }
        }
        f
    }

    /// The findings in the order of their keys.
    pub fn into_sorted(self) -> Vec<Finding> {
        let mut findings = self.findings;
        // keys are distinct: an unstable sort gives the one order, in place
        findings.sort_unstable_by(|a, b| a.group_key().cmp(&b.group_key()));
        findings
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cause_codes_match_serde_names() {
        for (cause, code) in CAUSE_CODES {
            assert_eq!(
                serde_json::to_value(cause).unwrap(),
                serde_json::Value::String((*code).to_owned())
            );
            assert_eq!(cause.code(), *code);
        }
    }
}
