//! Denied calls of role sessions (ECR first, any service alike): the session is joined back
//! to its web-identity assumption (so the workflow's `sub` is known), the AWS denial message
//! says which policy layer denied, and the role's policies in force at the event's time are
//! evaluated to say what the role does allow and which statement to add or widen. Role
//! chaining (`sts:AssumeRole` from an OIDC session) is judged against the target role's trust
//! policy.

mod aws_record;

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use iam_policy::{
    authorize, evaluate, Assume, AuthzInput, Decision, Effect, ElementMatch, Layer, Policy,
    PolicyDecision, PrincipalKind, Request, RequestPrincipal, ResourceSpec,
};
use serde::Serialize;
use serde_json::{json, Value};

use super::context::{self, CallContext};
use super::{fix, Cause, Detail, Details, Evidence, Finding, GroupKey, Groups, Text, Verdict};
use crate::authz::{self, AwsRecords, RecordKind};
use crate::correlate::{Session, SessionIndex};
use crate::event::denial::{parse_denial, Denial, DenialKind, PolicyLayer};
use crate::event::{arn_account, assumed_role_parts, role_name_from_arn, Arn, EventId};
use crate::inventory::{
    Absence, IdentityAt, Inventory, RepositoryPolicyAt, RoleArn, RoleAt, RolePart, Unknown,
};
use crate::select::CallFailure;

const ECR_PUSH_ACTIONS: &[&str] = &[
    "ecr:BatchCheckLayerAvailability",
    "ecr:InitiateLayerUpload",
    "ecr:UploadLayerPart",
    "ecr:CompleteLayerUpload",
    "ecr:PutImage",
];

/// The IAM service prefix of an event source.
fn service_prefix(event_source: &str) -> &str {
    let s = event_source
        .strip_suffix(".amazonaws.com")
        .unwrap_or(event_source);
    match s {
        "monitoring" => "cloudwatch",
        "email" => "ses",
        "codestar-connections" | "codeconnections" => "codeconnections",
        other => other,
    }
}

/// What the failed call asked for, as a policy request.
struct Ask {
    action: String,
    resource: Option<String>,
    /// The role whose session made the call.
    role_arn: Option<String>,
    session_arn: Option<String>,
}

impl Ask {
    /// The request context AWS built for this ask of `f` ([`context::for_call`]).
    fn context(&self, f: &CallFailure, session: Option<&Session>, inv: &Inventory) -> CallContext {
        context::for_call(
            f,
            &self.action,
            self.resource.as_deref().unwrap_or("*"),
            self.role_arn.as_deref(),
            session,
            inv,
        )
    }
}

fn ask_of(f: &CallFailure, denial: &Denial, inv: &Inventory) -> Ask {
    let action = denial
        .action
        .clone()
        .unwrap_or_else(|| format!("{}:{}", service_prefix(&f.event_source), f.event_name));
    let resource = denial
        .resource
        .clone()
        .or_else(|| derived_resource(f, &action));
    // The session issuer's ARN carries the role's path; an assumed-role ARN never does, so
    // without the issuer the inventory's ARN of the role is the next best.
    let role_arn = f.issuer_role_arn.clone().or_else(|| {
        let arn = f.caller_arn.as_deref()?;
        let (role, _) = assumed_role_parts(arn)?;
        let account = arn_account(arn)?;
        Some(
            inv.role_arn(account, role)
                .unwrap_or_else(|| format!("arn:aws:iam::{account}:role/{role}")),
        )
    });
    Ask {
        action,
        resource,
        role_arn,
        session_arn: f.caller_arn.clone(),
    }
}

/// The resource ARN from `resources[]` or the request parameters.
fn derived_resource(f: &CallFailure, action: &str) -> Option<String> {
    if action.eq_ignore_ascii_case("ecr:GetAuthorizationToken") {
        return Some("*".to_owned());
    }
    if let Some(r) = f.resources.first() {
        return Some(r.clone());
    }
    if f.event_source == "ecr.amazonaws.com" {
        let name = f.request.get("repositoryName").and_then(Value::as_str)?;
        let registry = f
            .request
            .get("registryId")
            .and_then(Value::as_str)
            .map(str::to_owned)
            .or_else(|| {
                f.caller_arn
                    .as_deref()
                    .and_then(arn_account)
                    .map(str::to_owned)
            })
            .or_else(|| f.account.clone())?;
        let region = f.region.as_deref()?;
        return Some(format!("arn:aws:ecr:{region}:{registry}:repository/{name}"));
    }
    if f.event_name == "AssumeRole" {
        return f
            .request
            .get("roleArn")
            .and_then(Value::as_str)
            .map(str::to_owned);
    }
    None
}

fn simple(cause: Cause, explanation: impl Into<String>, fix: impl Into<String>) -> Verdict {
    Verdict {
        cause,
        explanation: explanation.into(),
        fix: fix.into(),
        fixes: Vec::new(),
        evidence: Vec::new(),
        details: Details::default(),
    }
}

/// Explains every failed call and groups the verdicts into findings; a failure whose denial
/// carries an authorization ID found in `aws` is judged with AWS's own record of it.
pub fn explain_calls(
    failures: &[CallFailure],
    sessions: &SessionIndex,
    inv: &Inventory,
    aws: &AwsRecords,
) -> Vec<Finding> {
    let mut sorted: Vec<&CallFailure> = failures.iter().collect();
    sorted.sort_by(|a, b| {
        a.time
            .cmp(&b.time)
            .then_with(|| a.event_id.cmp(&b.event_id))
    });
    let mut findings = CallFindings::new(sessions, inv, aws);
    for f in sorted {
        findings.add(f);
    }
    findings.finish()
}

/// The findings of failed calls, grouped as they are added (in time order: a finding's first
/// event gives its fixes, region, session and message).
pub struct CallFindings<'a> {
    sessions: &'a SessionIndex,
    inv: &'a Inventory,
    aws: &'a AwsRecords,
    groups: Groups,
    other_roles: OtherRoles,
}

impl<'a> CallFindings<'a> {
    pub fn new(sessions: &'a SessionIndex, inv: &'a Inventory, aws: &'a AwsRecords) -> Self {
        CallFindings {
            sessions,
            inv,
            aws,
            groups: Groups::default(),
            other_roles: OtherRoles::default(),
        }
    }

    /// Explains one failed call into its group; gives back the group's finding.
    pub fn add(&mut self, f: &CallFailure) -> &mut Finding {
        let session = f
            .access_key_id
            .as_deref()
            .and_then(|k| self.sessions.get(k));
        let session = session.as_ref();
        // Each failure is judged on its own: its request context (time, address, endpoint,
        // user agent) is its own. Retries still group, by cause and explanation.
        let denial = parse_denial(f.error_message.as_deref().unwrap_or_default());
        let (inv, aws) = (self.inv, self.aws);
        let ask = ask_of(f, &denial, inv);
        let record = (!aws.by_id.is_empty())
            .then(|| authz::key_of(&denial))
            .flatten()
            .and_then(|key| aws.by_id.get(&key));
        let verdict = match record {
            Some(record) if record.kind == RecordKind::Decoded => {
                aws_record::decoded(&denial, &ask, record, |d, context| {
                    verdict(f, d, &ask, session, inv, Some(context))
                })
            }
            Some(record) => {
                aws_record::verdict(f, &denial, &ask, ask.context(f, session, inv), record)
            }
            None => verdict(f, &denial, &ask, session, inv, None),
        };
        let sub = session.and_then(|s| s.sub.as_deref());
        let key = GroupKey {
            cause: verdict.cause,
            role: ask.role_arn.as_deref().unwrap_or_default(),
            sub: sub.unwrap_or_default(),
            action: &ask.action,
            resource: ask.resource.as_deref().unwrap_or_default(),
            explanation: &verdict.explanation,
        };
        let i = match self.groups.find(&key) {
            Some(i) => i,
            None => {
                // once per finding: the retries of a group share their fixes
                let (fixes, note) = if verdict.fixes.is_empty() {
                    fixes_of(f, &ask, session, inv, &verdict, &mut self.other_roles)
                } else {
                    (Vec::new(), None)
                };
                let mut details = verdict.details;
                details.insert(
                    "session".into(),
                    Detail::Session(session_details(f, session)),
                );
                let mut finding = Finding {
                    fixes: if verdict.fixes.is_empty() {
                        fixes
                    } else {
                        verdict.fixes
                    },
                    cause: verdict.cause,
                    event_name: Text::from(f.event_name.clone()),
                    error_code: Text::from(f.error_code.clone()),
                    account: (ask
                        .role_arn
                        .as_deref()
                        .and_then(arn_account)
                        .map(str::to_owned)
                        .or_else(|| f.account.clone()))
                    .map(Text::from),
                    region: f.region.clone().map(Text::from),
                    role_arn: ask.role_arn.clone().map(Text::from),
                    provider: (session
                        .and_then(|s| s.provider.clone())
                        .or_else(|| f.federated_provider.clone()))
                    .map(Text::from),
                    sub: sub.map(str::to_owned).map(Text::from),
                    aud: (session.and_then(|s| s.aud.clone())).map(Text::from),
                    action: Text::from(ask.action.clone()),
                    resource: ask.resource.clone().map(Text::from),
                    count: 0,
                    first_seen: f.time,
                    last_seen: f.time,
                    event_ids: Vec::new(),
                    explanation: Text::from(verdict.explanation),
                    fix: Text::from(verdict.fix),
                    evidence: verdict.evidence,
                    regions: Vec::new(),
                    session_name: (f
                        .caller_arn
                        .as_deref()
                        .and_then(assumed_role_parts)
                        .map(|(_, s)| s.to_owned()))
                    .map(Text::from),
                    error_message: f.error_message.clone().map(Text::from),
                    details,
                    times: Vec::new(),
                };
                if let Some(first) = finding.fixes.first() {
                    finding.fix = Text::from(first.text());
                } else if let Some(note) = note {
                    finding.fix = Text::from(note);
                }
                self.groups.push(finding)
            }
        };
        self.groups
            .note(i, f.time, &f.event_id, f.region.as_deref())
    }

    /// Counts each finding's events in buckets of `seconds` too ([`Finding::times`]).
    pub fn count_by(mut self, seconds: i64) -> Self {
        self.groups.bucket = Some(seconds);
        self
    }

    /// Lists every event ID of a finding (`Groups::all_ids`).
    pub fn all_ids(mut self) -> Self {
        self.groups.all_ids = true;
        self
    }

    /// The findings, in group order.
    pub fn finish(self) -> Vec<Finding> {
        self.groups.into_sorted()
    }
}

/// The fixes of a call's verdict ([`fix::call::fixes`]), from the role's policies and the
/// repository policy as they stand now (a fix is applied today: policies changed after the
/// failure are patched in their latest version, and when those already allow the call the
/// note says nothing is left to change) and the inventory's other roles; none where the
/// inventory is not what was in force.
fn fixes_of(
    f: &CallFailure,
    ask: &Ask,
    session: Option<&Session>,
    inv: &Inventory,
    v: &Verdict,
    roles: &mut OtherRoles,
) -> (Vec<fix::Fix>, Option<String>) {
    let none = (Vec::new(), None);
    if v.details.contains_key("inventory_contradicts_aws")
        || v.details.contains_key("verdict_disagreement")
        || v.details.contains_key("version_candidates")
    {
        return none;
    }
    let (Some(role_arn), Some(resource)) = (ask.role_arn.as_deref(), ask.resource.as_deref())
    else {
        return none;
    };
    let (Some(account), Some(role_name)) = (arn_account(role_arn), role_name_from_arn(role_arn))
    else {
        return none;
    };
    let Some(at_failure) = inv.identity_at(account, role_name, f.time) else {
        return none;
    };
    let now = DateTime::<Utc>::MAX_UTC;
    let later = at_failure.later_changes.clone();
    let Some(identity) = inv.identity_at(account, role_name, now) else {
        return none;
    };
    if !identity.undecided.is_empty() {
        return none;
    }
    let repo = repository_policy(inv, resource, now);
    let request = Request {
        principal: ask.session_arn.as_ref().map(|s| RequestPrincipal {
            kind: PrincipalKind::Aws,
            id: s.clone(),
        }),
        action: ask.action.clone(),
        resource: Some(resource.to_owned()),
        context: ask.context(f, session, inv).context,
    };
    let token = session.and_then(|s| {
        Some(super::trust::Token {
            provider: s.provider.as_deref()?,
            audience: s.aud.as_deref(),
            subject: s.sub.as_deref()?,
            session_name: None,
            request: None,
        })
    });
    let other_roles = match &token {
        Some(token) => roles.accepting(inv, account, role_name, token),
        None => std::rc::Rc::new(Vec::new()),
    };
    let s = fix::call::Situation {
        requests: vec![request],
        role_arn,
        action: &ask.action,
        resource,
        actions: action_set(&ask.action),
        identity: &identity,
        repo: &repo,
        repository: repo_name(resource).map(|_| resource),
        token,
        other_roles: &other_roles,
    };
    if !later.is_empty() && fix::call::passes(&s) {
        let changes: Vec<String> = later.iter().map(|c| c.describe()).collect();
        return (
            Vec::new(),
            Some(format!(
                "Nothing to change: role {role_name}'s policies as they stand now (changed after the failure: {}) allow this call.",
                changes.join("; ")
            )),
        );
    }
    // the statement the verdict names is one of the policies at the failure
    let closest = later
        .is_empty()
        .then(|| v.details.get("closest_allow"))
        .flatten();
    (fix::call::fixes(&s, v.cause, closest), None)
}

/// The roles of an account, as they stand now, whose trust policy accepts a token, with their
/// policies: found once per account and token, however many findings ask.
#[derive(Default)]
struct OtherRoles {
    by_token: std::collections::HashMap<String, std::rc::Rc<Vec<fix::call::OtherRole>>>,
}

impl OtherRoles {
    fn accepting(
        &mut self,
        inv: &Inventory,
        account: &str,
        except: &str,
        token: &super::trust::Token<'_>,
    ) -> std::rc::Rc<Vec<fix::call::OtherRole>> {
        let key = format!(
            "{account}|{except}|{}|{:?}|{}",
            token.provider, token.audience, token.subject
        );
        let now = DateTime::<Utc>::MAX_UTC;
        self.by_token
            .entry(key)
            .or_insert_with(|| {
                std::rc::Rc::new(
                    inv.role_names(account)
                        .iter()
                        .filter(|n| n.as_str() != except)
                        .filter_map(|n| {
                            let RoleAt::Known(view) = inv.role_at(account, n, now) else {
                                return None;
                            };
                            let trust = view.trust?;
                            // the trust policy first: it is the cheap test
                            if super::trust::diagnose(&trust, token, Some(&view.arn)).decision
                                != super::trust::TrustDecision::Allow
                            {
                                return None;
                            }
                            let identity = inv.identity_at(account, n, now)?;
                            Some(fix::call::OtherRole {
                                arn: view.arn,
                                trust,
                                identity,
                            })
                        })
                        .collect(),
                )
            })
            .clone()
    }
}

/// `details.aws_denial`: what the denial message said (its fields in key order, as JSON
/// objects are written).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AwsDenialDetails {
    pub authorization_id: Option<String>,
    pub encoded_message: bool,
    pub kind: Option<&'static str>,
    pub policy_arn: Option<String>,
    pub policy_type: Option<&'static str>,
}

/// `details.session` of a call's finding: the session it was joined to, or why not.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
pub enum SessionDetails {
    Joined {
        access_key_id: Box<str>,
        assumed_at: DateTime<Utc>,
        assumed_in_region: Option<Text>,
        assumption_event_id: EventId,
        joined: bool,
    },
    NotJoined {
        access_key_id: Option<String>,
        joined: bool,
        note: &'static str,
    },
}

/// The note of a web-identity session whose assumption was not read.
const ASSUMPTION_NOT_SEEN: &str = "the web-identity assumption that created this session is not in the scanned window: sub unknown; widen --since or add the files";

impl SessionDetails {
    /// A web-identity session whose assumption was not read (it may still arrive: `watch`).
    pub fn awaits_assumption(&self) -> bool {
        matches!(self, SessionDetails::NotJoined { note, .. } if *note == ASSUMPTION_NOT_SEEN)
    }
}

fn session_details(f: &CallFailure, session: Option<&Session>) -> SessionDetails {
    match session {
        Some(s) => SessionDetails::Joined {
            access_key_id: s.access_key_id.as_str().into(),
            assumed_at: s.assumed_at,
            assumed_in_region: s.region.as_deref().map(Text::from),
            assumption_event_id: EventId::new(&s.event_id),
            joined: true,
        },
        None => SessionDetails::NotJoined {
            access_key_id: f.access_key_id.clone(),
            joined: false,
            note: if f.federated_provider.is_some() {
                ASSUMPTION_NOT_SEEN
            } else {
                "not a web-identity session (no federated provider), or its assumption is not in the scanned window"
            },
        },
    }
}

/// The verdict from the logs and the inventory; `aws_context` is AWS's record of the request
/// context where one was decoded (it replaces the tool's values).
fn verdict(
    f: &CallFailure,
    denial: &Denial,
    ask: &Ask,
    session: Option<&Session>,
    inv: &Inventory,
    aws_context: Option<&BTreeMap<String, Value>>,
) -> Verdict {
    let action = ask.action.as_str();
    let resource = ask.resource.as_deref().unwrap_or("*");
    let mut call_context = ask.context(f, session, inv);
    if let Some(values) = aws_context {
        call_context.adopt_aws(values);
    }
    if f.event_name == "AssumeRole" && f.event_source == "sts.amazonaws.com" {
        if let Some(v) = chained(f, denial, ask, &call_context, inv) {
            return v;
        }
    }
    let role = ask
        .role_arn
        .as_deref()
        .and_then(role_name_from_arn)
        .unwrap_or("the role");
    let msg_evidence = |v: &mut Verdict| {
        if let (Some(kind), Some(layer)) = (denial.kind, denial.layer) {
            v.evidence.push(Evidence {
                policy: "aws_denial_message".to_owned(),
                statement: None,
                sid: None,
                key: Some("policy_type".to_owned()),
                operator: Some(match kind {
                    DenialKind::NoAllow => "no_allow".to_owned(),
                    DenialKind::ExplicitDeny => "explicit_deny".to_owned(),
                }),
                expected: denial.policy_arn.iter().cloned().collect(),
                actual: Some(layer.phrase().to_owned()),
                value_source: None,
            });
        }
        if denial.kind.is_some() {
            v.details.insert(
                "aws_denial".into(),
                Detail::AwsDenial(Box::new(AwsDenialDetails {
                    authorization_id: denial.authorization_id.clone(),
                    encoded_message: denial.encoded_message.is_some(),
                    kind: denial.kind.map(|k| match k {
                        DenialKind::NoAllow => "no_allow",
                        DenialKind::ExplicitDeny => "explicit_deny",
                    }),
                    policy_arn: denial.policy_arn.clone(),
                    policy_type: denial.layer.map(PolicyLayer::phrase),
                })),
            );
        }
    };
    // AWS's own words for the deciding policy, when it named one.
    let named = denial
        .policy_arn
        .as_deref()
        .map_or(String::new(), |p| format!(" ({p})"));
    // Layers we cannot see from an account's IAM: the message decides.
    let by_message = match (denial.kind, denial.layer) {
        (Some(k), Some(l @ (PolicyLayer::ServiceControl | PolicyLayer::ResourceControl))) => Some(simple(
            cause_of(k, l),
            if matches!(k, DenialKind::ExplicitDeny) {
                format!("AWS says a Deny statement in a {} policy{named} of the organization denies {action} on {resource}; the role's own policies are not the problem.", l.phrase())
            } else {
                format!("AWS says no {} policy of the organization allows {action} on {resource}; the role's own policies are not the problem.", l.phrase())
            },
            format!(
                "Ask the organization's administrators: list the policies on the account with `aws organizations list-policies-for-target --target-id {} --filter {}` in the management account, and exempt this role or action.",
                arn_account(ask.role_arn.as_deref().unwrap_or_default()).unwrap_or("ACCOUNT"),
                if l == PolicyLayer::ServiceControl { "SERVICE_CONTROL_POLICY" } else { "RESOURCE_CONTROL_POLICY" }
            ),
        )),
        (Some(k), Some(l @ PolicyLayer::VpcEndpoint)) => Some(simple(
            cause_of(k, l),
            format!("The VPC endpoint policy the call went through does not allow {action} on {resource}."),
            format!("Allow {action} for this role in the policy of the interface endpoint (for ECR: com.amazonaws.REGION.ecr.api and .ecr.dkr; layers also need the S3 gateway endpoint)."),
        )),
        (Some(k), Some(l @ PolicyLayer::Session)) => Some(simple(
            cause_of(k, l),
            format!("A session policy passed when the role was assumed limits the session; it does not allow {action} on {resource}."),
            "Widen or drop the session policy (configure-aws-credentials `inline-session-policy` / `managed-session-policies`).".to_owned(),
        )),
        _ => None,
    };
    if let Some(mut v) = by_message {
        msg_evidence(&mut v);
        return v;
    }
    let (Some(role_arn), Some(account)) = (
        ask.role_arn.as_deref(),
        ask.role_arn.as_deref().and_then(arn_account),
    ) else {
        return simple(
            Cause::NoPolicyData,
            "The caller is not an assumed-role session with a known role.",
            "Check the raw record.",
        );
    };
    let role_name = role_name_from_arn(role_arn).unwrap_or(role);
    let identity = inv.identity_at(account, role_name, f.time);
    let repo_policy = repository_policy(inv, resource, f.time);
    let request = Request {
        principal: ask.session_arn.as_ref().map(|s| RequestPrincipal {
            kind: PrincipalKind::Aws,
            id: s.clone(),
        }),
        action: action.to_owned(),
        resource: Some(resource.to_owned()),
        context: call_context.context.clone(),
    };
    let Some(identity) = identity else {
        if denial.layer == Some(PolicyLayer::ResourceBased) {
            return resource_no_allow(f, ask, &repo_policy, denial, &request);
        }
        let said = match (denial.kind, denial.layer) {
            (Some(DenialKind::NoAllow), Some(l)) => {
                format!(
                    "AWS says no {} policy of role {role_name} allows {action} on {resource}",
                    l.phrase()
                )
            }
            (Some(DenialKind::ExplicitDeny), Some(l)) => format!(
                "AWS says a Deny in {} {} policy{named} matches {action} on {resource}",
                if l == PolicyLayer::IdentityBased {
                    "an"
                } else {
                    "a"
                },
                l.phrase()
            ),
            _ => format!(
                "{action} on {resource} was denied ({}{})",
                f.error_code,
                if f.error_message.is_none() {
                    "; no denial message was recorded"
                } else {
                    ""
                }
            ),
        };
        let mut v = simple(
            Cause::NoPolicyData,
            format!("{said}, but role {role_name}'s policies are not in the inventory, so what it does allow is unknown."),
            format!("Supply account {account}'s IAM state (`aws iam get-account-authorization-details`) with --iam, or use --iam-live."),
        );
        msg_evidence(&mut v);
        return v;
    };
    let judge = Judge {
        f,
        denial,
        ask,
        request: &request,
        call_context: &call_context,
        repo_policy: &repo_policy,
        role: role_name,
        action,
        resource,
    };
    let mut v = judge.over_versions(&identity);
    msg_evidence(&mut v);
    if !identity.uncertain.is_empty() {
        v.explanation
            .push_str(&format!(" Not certain: {}.", identity.uncertain.join("; ")));
    }
    if !identity.later_changes.is_empty() {
        let changes: Vec<String> = identity
            .later_changes
            .iter()
            .map(|c| c.describe())
            .collect();
        v.explanation.push_str(&format!(
            " The role's policies changed afterwards: {}.",
            changes.join("; ")
        ));
        v.details
            .insert("later_policy_changes".into(), json!(identity.later_changes));
    }
    if !v.details.contains_key("policies_evaluated") {
        v.details.insert(
            "policies_evaluated".into(),
            json!(identity
                .policies
                .iter()
                .map(|p| p.label.clone())
                .collect::<Vec<_>>()),
        );
    }
    v
}

/// One denied call against the role's policies: the parts every evaluation shares.
struct Judge<'a> {
    f: &'a CallFailure,
    denial: &'a Denial,
    ask: &'a Ask,
    /// The request, with conditions on unknown keys taken the strict way.
    request: &'a Request,
    call_context: &'a CallContext,
    repo_policy: &'a RepositoryPolicyAt,
    role: &'a str,
    action: &'a str,
    resource: &'a str,
}

/// At most this many combinations of candidate versions are evaluated.
const MAX_VERSION_COMBINATIONS: usize = 64;

impl Judge<'_> {
    /// The verdict over every combination of the candidate versions the records leave open:
    /// one answer when every candidate AWS's message allows gives it, else the candidates and
    /// what each gives.
    fn over_versions(&self, identity: &IdentityAt) -> Verdict {
        if identity.undecided.is_empty() {
            return self.against_message(identity, self.bracketed(identity));
        }
        let variants = version_variants(identity);
        let judged: Vec<(Vec<String>, Verdict)> = variants
            .iter()
            .map(|(chosen, id)| (chosen.clone(), self.bracketed(id)))
            .collect();
        let open: Vec<String> = identity
            .undecided
            .iter()
            .map(|u| {
                let mut versions: Vec<String> =
                    u.candidates.iter().map(|c| c.label.clone()).collect();
                versions.extend(
                    u.unrecorded
                        .iter()
                        .map(|v| format!("{}@{v} (document not recorded)", u.arn)),
                );
                format!("{} ({}; candidates: {})", u.arn, u.why, versions.join(", "))
            })
            .collect();
        let candidates_json = |list: &[&(Vec<String>, Verdict)]| -> Value {
            json!(list
                .iter()
                .map(|(chosen, v)| json!({"versions": chosen, "cause": v.cause.code(), "explanation": v.explanation}))
                .collect::<Vec<_>>())
        };
        let all: Vec<&(Vec<String>, Verdict)> = judged.iter().collect();
        let agreeing: Vec<&(Vec<String>, Verdict)> = judged
            .iter()
            .filter(|(_, v)| message_agrees(self.denial, v.cause) != Some(false))
            .collect();
        let ruled_out: Vec<String> = judged
            .iter()
            .filter(|(_, v)| message_agrees(self.denial, v.cause) == Some(false))
            .map(|(chosen, _)| chosen.join(" + "))
            .collect();
        if agreeing.is_empty() {
            // No candidate gives what AWS said: the inventory is not what was in force.
            let mut v = self.against_message(identity, judged[0].1.clone());
            v.details
                .insert("version_candidates".into(), candidates_json(&all));
            return v;
        }
        let first = &agreeing[0].1;
        let unanimous = agreeing
            .iter()
            .all(|(_, v)| v.cause == first.cause && v.explanation == first.explanation);
        let unrecorded = identity.undecided.iter().any(|u| !u.unrecorded.is_empty());
        if unanimous && !unrecorded {
            let mut v = first.clone();
            v.explanation.push_str(&format!(
                " The version in force is not recorded for {}; every candidate{} gives this answer.",
                open.join("; "),
                if ruled_out.is_empty() {
                    String::new()
                } else {
                    format!(" AWS's message leaves ({} is ruled out)", ruled_out.join(", "))
                }
            ));
            v.details
                .insert("version_candidates".into(), candidates_json(&all));
            return v;
        }
        let each: Vec<String> = agreeing
            .iter()
            .map(|(chosen, v)| format!("with {} in force: {}", chosen.join(" + "), v.cause.code()))
            .collect();
        let mut v = simple(
            Cause::NoPolicyData,
            format!(
                "Which version of a managed policy of role {} was in force at the failure is not recorded: {}. The candidates give different answers ({}){}, so the tool does not choose one.",
                self.role,
                open.join("; "),
                each.join("; "),
                if unrecorded { ", and the document of some candidate is not recorded" } else { "" }
            ),
            "Supply the policy's version history: logs that hold its earlier CreatePolicyVersion/SetDefaultPolicyVersion, or an authorization-details snapshot taken before the failure (`aws iam get-account-authorization-details`).",
        );
        v.details
            .insert("version_candidates".into(), candidates_json(&all));
        v
    }

    /// The verdict with conditions on unknown keys taken both ways: one answer when both
    /// give it (or AWS's message agrees with only one); else the keys the decision turns on
    /// and what would decide them (`unverifiable_context_condition`).
    fn bracketed(&self, identity: &IdentityAt) -> Verdict {
        let strict = self.evaluate(identity, self.request);
        if !self.request.context.has_unknowns() {
            return strict;
        }
        let lenient_request = Request {
            context: self.request.context.assuming(Assume::Lenient),
            ..self.request.clone()
        };
        let lenient = self.evaluate(identity, &lenient_request);
        if strict.cause == lenient.cause {
            return strict;
        }
        let keys = self.unknown_conditions(identity);
        let names = distinct(keys.iter().filter_map(|e| e.key.clone()));
        let needed = self.call_context.what_decides(&names);
        let pick = |mut v: Verdict, way: &str| {
            v.explanation.push_str(&format!(
                " This turns on {}, whose value the tool does not know; AWS's message agrees only with {} taken the way that {way}.",
                names.join(", "),
                if names.len() == 1 { "it" } else { "them" }
            ));
            v.add_evidence(keys.iter().cloned());
            v.details.insert("unknown_keys".into(), json!(needed));
            v
        };
        match (
            message_agrees(self.denial, strict.cause),
            message_agrees(self.denial, lenient.cause),
        ) {
            (Some(true), Some(false)) => return pick(strict, "denies"),
            (Some(false), Some(true)) => return pick(lenient, "allows"),
            _ => {}
        }
        let mut v = simple(
            Cause::UnverifiableContextCondition,
            format!(
                "Whether role {}'s policies allow {} on {} turns on {}, whose value the tool cannot know from what it read ({}). Taken the way that denies, they give {}; taken the way that allows, {}.",
                self.role,
                self.action,
                self.resource,
                names.join(", "),
                needed.join("; "),
                strict.cause.code(),
                lenient.cause.code(),
            ),
            format!(
                "Supply what would decide it ({}), or check the condition against the request by hand; if it does not hold, the fix is: {}",
                needed.join("; "),
                strict.fix
            ),
        );
        v.evidence = keys;
        v.details.insert("unknown_keys".into(), json!(needed));
        v.details.insert(
            "if_denying".into(),
            json!({"cause": strict.cause.code(), "explanation": strict.explanation}),
        );
        v.details.insert(
            "if_allowing".into(),
            json!({"cause": lenient.cause.code(), "explanation": lenient.explanation}),
        );
        if let Some(p) = strict.details.get("policies_evaluated") {
            v.details.insert("policies_evaluated".into(), p.clone());
        }
        v
    }

    /// The conditions on unknown keys in the statements that name this action, as evidence.
    fn unknown_conditions(&self, identity: &IdentityAt) -> Vec<Evidence> {
        let repo = match self.repo_policy {
            RepositoryPolicyAt::Known(Some(p), _) => Some(("repository_policy".to_owned(), p)),
            _ => None,
        };
        let policies = identity
            .policies
            .iter()
            .chain(identity.boundary.iter())
            .map(|p| (p.label.clone(), &p.policy))
            .chain(repo);
        let mut out = Vec::new();
        for (label, policy) in policies {
            let r = evaluate(policy, self.request);
            for st in &r.statements {
                if st.action == ElementMatch::NotMatched {
                    continue;
                }
                let context = &self.request.context;
                let evidence = |key: String, operator: String, expected: Vec<String>| Evidence {
                    policy: label.clone(),
                    statement: Some(st.index.to_string()),
                    sid: st.sid.clone().filter(|x| !x.is_empty()),
                    key: Some(key),
                    operator: Some(operator),
                    expected,
                    actual: None,
                    value_source: Some("unknown".to_owned()),
                };
                for c in st.conditions.iter().filter(|c| c.unknown) {
                    for k in unknown_keys_of(c, context) {
                        out.push(evidence(k, c.operator.clone(), c.expected.clone()));
                    }
                }
                // a Resource pattern that substitutes an unknown key
                let patterns = policy
                    .statements
                    .iter()
                    .find(|s| s.index == st.index)
                    .and_then(|s| match &s.resource {
                        Some(ResourceSpec::Resource(p) | ResourceSpec::NotResource(p)) => {
                            Some(p.clone())
                        }
                        None => None,
                    })
                    .unwrap_or_default();
                for k in patterns.iter().flat_map(|p| unknown_variables(p, context)) {
                    out.push(evidence(k, "Resource".to_owned(), patterns.clone()));
                }
            }
        }
        out
    }

    /// The verdict of the role's policies (one version of each) for this call, with the
    /// resource-based layers AWS's message names.
    fn evaluate(&self, identity: &IdentityAt, request: &Request) -> Verdict {
        let (action, resource) = (self.action, self.resource);
        let identity_docs: Vec<Policy> =
            identity.policies.iter().map(|p| p.policy.clone()).collect();
        let resource_doc = match self.repo_policy {
            RepositoryPolicyAt::Known(p, _) => p.clone(),
            RepositoryPolicyAt::Unknown => None,
        };
        let auth = authorize(&AuthzInput {
            request,
            identity_policies: &identity_docs,
            resource_policy: resource_doc.as_ref(),
            permissions_boundary: identity.boundary.as_ref().map(|b| &b.policy),
            session_policy: None,
            scps: &[],
        });
        let mut v = match (self.denial.kind, self.denial.layer) {
            (Some(DenialKind::NoAllow), Some(PolicyLayer::ResourceBased)) => {
                resource_no_allow(self.f, self.ask, self.repo_policy, self.denial, request)
            }
            (Some(DenialKind::ExplicitDeny), Some(PolicyLayer::ResourceBased)) => simple(
                Cause::ResourcePolicyDeny,
                format!("A Deny statement in the resource policy of {resource} matches this call ({action})."),
                format!("Narrow the Deny in the repository policy (aws ecr get-repository-policy --repository-name {}) so it does not match role {}.", repo_name(resource).unwrap_or("NAME"), self.role),
            ),
            _ => identity_verdict(
                identity,
                request,
                &auth,
                self.call_context,
                self.role,
                action,
                resource,
            ),
        };
        if v.cause == Cause::IdentityAllows && auth.denied_by == Some(Layer::Resource) {
            v = resource_no_allow(self.f, self.ask, self.repo_policy, self.denial, request);
        }
        v.details.insert(
            "policies_evaluated".into(),
            json!(identity
                .policies
                .iter()
                .chain(identity.boundary.iter())
                .map(|p| p.label.clone())
                .collect::<Vec<_>>()),
        );
        v
    }

    /// `ours` when it agrees with the layer AWS's message names; else AWS's word, and the
    /// finding says the inventory is not what was in force (and where it came from).
    fn against_message(&self, identity: &IdentityAt, ours: Verdict) -> Verdict {
        if message_agrees(self.denial, ours.cause) != Some(false) {
            return ours;
        }
        let (Some(kind), Some(layer)) = (self.denial.kind, self.denial.layer) else {
            return ours;
        };
        let (action, resource, role) = (self.action, self.resource, self.role);
        // only the identity and boundary layers get here (`message_agrees`)
        let cause = cause_of(kind, layer);
        let said = match (kind, layer) {
            (DenialKind::ExplicitDeny, PolicyLayer::PermissionsBoundary) => {
                format!("a Deny in role {role}'s permissions boundary matches {action} on {resource}")
            }
            (DenialKind::NoAllow, PolicyLayer::PermissionsBoundary) => {
                format!("role {role}'s permissions boundary does not allow {action} on {resource}")
            }
            (DenialKind::ExplicitDeny, _) => format!(
                "a Deny in an identity-based policy of role {role}{} matches {action} on {resource}",
                self.denial
                    .policy_arn
                    .as_deref()
                    .map_or(String::new(), |p| format!(" ({p})"))
            ),
            (DenialKind::NoAllow, _) => {
                format!("no identity-based policy of role {role} allows {action} on {resource}")
            }
        };
        let mut sources: Vec<String> = identity
            .policies
            .iter()
            .chain(identity.boundary.iter())
            .map(|p| format!("{} from {}", p.label, p.source.describe()))
            .collect();
        sources.dedup();
        let held = if layer == PolicyLayer::PermissionsBoundary && identity.boundary.is_none() {
            format!("the inventory records no permissions boundary for role {role}")
        } else {
            let finding = if ours.cause == Cause::IdentityAllows {
                format!("they allow {action} on {resource}")
            } else {
                ours.explanation.trim_end_matches('.').to_owned()
            };
            format!(
                "the policies the tool holds ({}) give {}: {finding}",
                if sources.is_empty() {
                    "none".to_owned()
                } else {
                    sources.join("; ")
                },
                ours.cause.code(),
            )
        };
        let unknown = self.unknown_conditions(identity);
        let unknown_keys = distinct(unknown.iter().filter_map(|e| e.key.clone()));
        let why = if unknown_keys.is_empty() {
            "So the inventory is not what was in force at the failure (or a condition turned on a value the tool does not have)".to_owned()
        } else {
            format!(
                "The policies hold conditions on {}, whose value the tool could not know, and that may be why; else the inventory is not what was in force at the failure",
                unknown_keys.join(", ")
            )
        };
        let mut v = simple(
            cause,
            format!("AWS says {said}, but {held}. {why}; AWS's word stands."),
            format!(
                "Supply role {role}'s policies as they were at the failure: logs that hold the changes since (PutRolePolicy, AttachRolePolicy, CreatePolicyVersion, …) or an authorization-details snapshot taken before it; then rerun for the exact statement to change."
            ),
        );
        v.evidence = ours.evidence.clone();
        v.add_evidence(unknown);
        v.details.insert(
            "inventory_contradicts_aws".into(),
            json!({
                "aws": {"kind": match kind { DenialKind::NoAllow => "no_allow", DenialKind::ExplicitDeny => "explicit_deny" }, "policy_type": layer.phrase()},
                "inventory_verdict": ours.cause.code(),
                "sources": sources,
            }),
        );
        if let Some(p) = ours.details.get("policies_evaluated") {
            v.details.insert("policies_evaluated".into(), p.clone());
        }
        v
    }
}

/// The cause for a denial of `kind` in the policy `layer` AWS names: the one mapping from
/// AWS's words (a denial message, AWS's record of the decision) to a cause.
fn cause_of(kind: DenialKind, layer: PolicyLayer) -> Cause {
    match (kind, layer) {
        (DenialKind::ExplicitDeny, PolicyLayer::IdentityBased) => Cause::IdentityExplicitDeny,
        (DenialKind::NoAllow, PolicyLayer::IdentityBased) => Cause::IdentityPolicyNoAllow,
        (DenialKind::ExplicitDeny, PolicyLayer::ResourceBased) => Cause::ResourcePolicyDeny,
        (DenialKind::NoAllow, PolicyLayer::ResourceBased) => Cause::ResourcePolicyNoAllow,
        (_, PolicyLayer::PermissionsBoundary) => Cause::PermissionsBoundary,
        (_, PolicyLayer::Session) => Cause::SessionPolicy,
        (_, PolicyLayer::ServiceControl | PolicyLayer::ResourceControl) => Cause::OrgPolicy,
        (_, PolicyLayer::VpcEndpoint) => Cause::VpcEndpointPolicy,
    }
}

/// Whether a verdict of ours agrees with the layer AWS's message names: `None` when the
/// message names none the role's own policies decide.
fn message_agrees(denial: &Denial, cause: Cause) -> Option<bool> {
    let (Some(kind), Some(layer)) = (denial.kind, denial.layer) else {
        return None;
    };
    match (kind, layer) {
        (DenialKind::NoAllow, PolicyLayer::IdentityBased) => Some(matches!(
            cause,
            Cause::IdentityPolicyNoAllow
                | Cause::IdentityPolicyWrongResource
                | Cause::GetAuthorizationTokenScoped
        )),
        (DenialKind::ExplicitDeny, PolicyLayer::IdentityBased) => {
            Some(cause == Cause::IdentityExplicitDeny)
        }
        (_, PolicyLayer::PermissionsBoundary) => Some(cause == Cause::PermissionsBoundary),
        _ => None,
    }
}

/// Every combination of the candidate versions (capped): the versions chosen, and the
/// identity with them in force.
fn version_variants(identity: &IdentityAt) -> Vec<(Vec<String>, IdentityAt)> {
    let base = IdentityAt {
        undecided: Vec::new(),
        ..identity.clone()
    };
    let mut out: Vec<(Vec<String>, IdentityAt)> = vec![(Vec::new(), base)];
    for u in &identity.undecided {
        let mut next = Vec::new();
        for (chosen, id) in &out {
            for c in &u.candidates {
                if next.len() >= MAX_VERSION_COMBINATIONS {
                    break;
                }
                let mut id = id.clone();
                match u.role_part {
                    RolePart::Attached => id.policies.push(c.clone()),
                    RolePart::Boundary => id.boundary = Some(c.clone()),
                }
                let mut chosen = chosen.clone();
                chosen.push(c.label.clone());
                next.push((chosen, id));
            }
        }
        out = next;
    }
    out
}

fn repo_name(resource: &str) -> Option<&str> {
    resource.splitn(6, ':').nth(5)?.strip_prefix("repository/")
}

/// The resource-based policy of `resource` at `t`: a repository's policy, or a role's trust
/// policy (the resource policy of `sts:AssumeRole` and `sts:TagSession`).
fn repository_policy(inv: &Inventory, resource: &str, t: DateTime<Utc>) -> RepositoryPolicyAt {
    if let Some(role) = RoleArn::parse(resource) {
        return match inv.role_at_arn(&role, t) {
            RoleAt::Known(view) if view.trust.is_some() => {
                RepositoryPolicyAt::Known(view.trust, view.trust_set_by)
            }
            _ => RepositoryPolicyAt::Unknown,
        };
    }
    let Some(Arn {
        service: "ecr",
        region,
        account,
        resource: rest,
        ..
    }) = Arn::parse(resource)
    else {
        return RepositoryPolicyAt::Unknown;
    };
    let Some(name) = rest.strip_prefix("repository/") else {
        return RepositoryPolicyAt::Unknown;
    };
    inv.repository_policy_at(account, region, name, t)
}

fn statement_json(action: &[&str], resource: &str) -> String {
    json!({"Effect": "Allow", "Action": action, "Resource": resource}).to_string()
}

/// Actions worth granting together with `action` (a push needs all of them).
fn action_set(action: &str) -> Vec<&str> {
    if ECR_PUSH_ACTIONS
        .iter()
        .any(|a| a.eq_ignore_ascii_case(action))
    {
        ECR_PUSH_ACTIONS.to_vec()
    } else {
        vec![action]
    }
}

fn identity_verdict(
    identity: &IdentityAt,
    request: &Request,
    auth: &iam_policy::Authorization,
    ctx: &CallContext,
    role: &str,
    action: &str,
    resource: &str,
) -> Verdict {
    if auth.decision == Decision::ExplicitDeny && auth.denied_by == Some(Layer::Identity) {
        let mut v = simple(
            Cause::IdentityExplicitDeny,
            format!("A Deny statement in role {role}'s policies matches {action} on {resource}."),
            "Narrow or remove that Deny statement.".to_owned(),
        );
        for m in auth.matched.iter().filter(|m| m.effect == Effect::Deny) {
            let label = identity
                .policies
                .get(m.policy_index)
                .map_or("identity".to_owned(), |p| p.label.clone());
            v.evidence.push(Evidence {
                policy: label.clone(),
                statement: Some(m.statement_index.to_string()),
                sid: m.sid.clone(),
                key: Some("Effect".to_owned()),
                operator: Some("Deny".to_owned()),
                expected: vec![action.to_owned()],
                actual: Some(resource.to_owned()),
                value_source: None,
            });
            // the Deny's conditions, with the values they were met by and where those came from
            if let Some(p) = identity.policies.get(m.policy_index) {
                let r = evaluate(&p.policy, request);
                if let Some(st) = r.statements.iter().find(|st| st.index == m.statement_index) {
                    v.evidence
                        .extend(conditions_as_evidence(&label, st, ctx, |_| true));
                }
            }
        }
        let statements: Vec<String> = v
            .evidence
            .iter()
            .filter(|e| e.operator.as_deref() == Some("Deny"))
            .map(|e| {
                format!(
                    "{} statement {}",
                    e.policy,
                    e.statement.as_deref().unwrap_or("?")
                )
            })
            .collect();
        v.fix = format!("Narrow or remove the Deny ({}).", statements.join(", "));
        return v;
    }
    if auth.decision == Decision::Allow
        || (auth.denied_by != Some(Layer::Identity) && identity_allows(identity, request))
    {
        if auth.denied_by == Some(Layer::PermissionsBoundary) {
            return boundary(identity, action, resource, request);
        }
        return simple(
            Cause::IdentityAllows,
            format!("Role {role}'s policies in force allow {action} on {resource}, so the denial comes from another layer: a service control or resource control policy, a session policy, a VPC endpoint policy, or a resource policy."),
            "Look at the organization's SCPs/RCPs and the VPC endpoint policies for this account and region.".to_owned(),
        );
    }
    // Which Allow statements grant the action, and on what?
    let mut wrong_resource: Vec<(String, usize, Vec<String>)> = Vec::new();
    for p in &identity.policies {
        let r = evaluate(&p.policy, request);
        for s in &r.statements {
            if s.effect == Effect::Allow
                && s.action == ElementMatch::Matched
                && s.resource == ElementMatch::NotMatched
            {
                let resources = p
                    .policy
                    .statements
                    .iter()
                    .find(|st| st.index == s.index)
                    .and_then(|st| st.resource.as_ref())
                    .map(|r| match r {
                        ResourceSpec::Resource(v) => v.clone(),
                        ResourceSpec::NotResource(v) => {
                            v.iter().map(|x| format!("NotResource:{x}")).collect()
                        }
                    })
                    .unwrap_or_default();
                wrong_resource.push((p.label.clone(), s.index, resources));
            }
        }
    }
    if !wrong_resource.is_empty() {
        wrong_resource.sort_by_key(|(_, _, rs)| {
            rs.iter()
                .map(|r| strsim::levenshtein(r, resource))
                .min()
                .unwrap_or(usize::MAX)
        });
        let (label, index, resources) = &wrong_resource[0];
        let evidence: Vec<Evidence> = wrong_resource
            .iter()
            .map(|(l, i, rs)| Evidence {
                policy: l.clone(),
                statement: Some(i.to_string()),
                sid: None,
                key: Some("Resource".to_owned()),
                operator: Some("ArnLike".to_owned()),
                expected: rs.clone(),
                actual: Some(resource.to_owned()),
                value_source: None,
            })
            .collect();
        if action.eq_ignore_ascii_case("ecr:GetAuthorizationToken") {
            let mut v = simple(
                Cause::GetAuthorizationTokenScoped,
                format!("Role {role} allows ecr:GetAuthorizationToken only on {} ({label}, statement {index}); this action is not tied to a repository and needs \"Resource\": \"*\".", resources.join(", ")),
                format!("Grant it on every resource: {}", statement_json(&["ecr:GetAuthorizationToken"], "*")),
            );
            v.evidence = evidence;
            return v;
        }
        let closest = resources
            .iter()
            .min_by_key(|r| strsim::levenshtein(r, resource))
            .cloned()
            .unwrap_or_default();
        let differs = describe_arn_difference(&closest, resource);
        let mut widened = resources.clone();
        widened.push(resource.to_owned());
        let mut v = simple(
            Cause::IdentityPolicyWrongResource,
            format!("Role {role} allows {action}, but only on {} ({label}, statement {index}); the call was on {resource}{differs}.", resources.join(", ")),
            format!("Add the resource to statement {index} of {label}: \"Resource\": {}; or add: {}", json!(widened), statement_json(&action_set(action), resource)),
        );
        v.evidence = evidence;
        v.details.insert(
            "closest_allow".into(),
            json!({"policy": label, "statement": index, "resources": resources}),
        );
        return v;
    }
    // Allows that name the action and the resource but whose conditions the request did not meet.
    let mut unmet: Vec<Evidence> = Vec::new();
    for p in &identity.policies {
        let r = evaluate(&p.policy, request);
        for st in r.statements.iter().filter(|st| {
            st.effect == Effect::Allow
                && st.action.is_satisfied()
                && st.resource.is_satisfied()
                && st.principal.is_satisfied()
                && !st.applies
        }) {
            unmet.extend(conditions_as_evidence(&p.label, st, ctx, |c| !c.matched));
        }
    }
    if !unmet.is_empty() {
        let described: Vec<String> = unmet
            .iter()
            .map(|e| {
                let key = e.key.as_deref().unwrap_or_default();
                let got = match (&e.actual, e.value_source.as_deref()) {
                    (None, Some("unknown")) => "its value is not known to the tool".to_owned(),
                    (Some(a), Some(src)) if !is_time_key(key) => {
                        format!("the request's value is {a} (from the {src})")
                    }
                    (Some(_), Some(src)) => {
                        format!("the request's value (from the {src}) is outside it")
                    }
                    (None, _) => "the request has no value for it".to_owned(),
                    (Some(a), None) => format!("the request's value is {a}"),
                };
                format!(
                    "{} statement {}: {} {key} {} — {got}",
                    e.policy,
                    e.statement.as_deref().unwrap_or("?"),
                    e.operator.as_deref().unwrap_or_default(),
                    json!(e.expected),
                )
            })
            .collect();
        let mut v = simple(
            Cause::IdentityPolicyNoAllow,
            format!(
                "Role {role} allows {action} on {resource} only under conditions this request does not meet: {}.",
                described.join("; ")
            ),
            "Change the condition so it admits this request, or make the request from where the condition allows (the evidence gives each condition and the request's value).",
        );
        v.evidence = unmet;
        return v;
    }
    let granted: Vec<String> = allowed_actions(identity);
    let mut v = simple(
        Cause::IdentityPolicyNoAllow,
        format!(
            "No policy of role {role} allows {action} at all{}.",
            if granted.is_empty() {
                String::new()
            } else {
                format!(" (it allows {})", granted.join(", "))
            }
        ),
        format!(
            "Add to the role's policy: {}",
            statement_json(&action_set(action), resource)
        ),
    );
    v.evidence.push(Evidence {
        policy: "identity".to_owned(),
        statement: None,
        sid: None,
        key: Some("Action".to_owned()),
        operator: Some("ActionMatches".to_owned()),
        expected: granted,
        actual: Some(action.to_owned()),
        value_source: None,
    });
    v
}

/// The conditions of a statement (those `keep` keeps) as evidence: the key, the operator, the
/// values expected, the request's value and where it came from (`unknown` when the tool could
/// not know it).
fn conditions_as_evidence(
    label: &str,
    st: &iam_policy::StatementResult,
    ctx: &CallContext,
    keep: impl Fn(&iam_policy::ConditionResult) -> bool,
) -> Vec<Evidence> {
    st.conditions
        .iter()
        .filter(|c| keep(c))
        .map(|c| Evidence {
            policy: label.to_owned(),
            statement: Some(st.index.to_string()),
            sid: st.sid.clone().filter(|x| !x.is_empty()),
            key: Some(c.key.clone()),
            operator: Some(c.operator.clone()),
            expected: c.expected.clone(),
            actual: c.actual.as_ref().map(|v| v.join(",")),
            value_source: if c.unknown {
                Some("unknown".to_owned())
            } else {
                ctx.origin(&c.key)
                    .map(|o| {
                        serde_json::to_value(o)
                            .ok()
                            .and_then(|v| v.as_str().map(str::to_owned))
                            .unwrap_or_default()
                    })
                    .or_else(|| Some("absent".to_owned()))
            },
        })
        .collect()
}

/// The keys of the policy variables in `text` that `context` marks unknown.
fn unknown_variables(text: &str, context: &iam_policy::Context) -> Vec<String> {
    distinct(
        iam_policy::variable_keys(text)
            .into_iter()
            .filter(|k| context.is_unknown(k))
            .map(str::to_owned),
    )
}

/// The unknown keys a condition taken as assumed turns on: its own key, or the keys of the
/// variables its values substitute.
fn unknown_keys_of(c: &iam_policy::ConditionResult, context: &iam_policy::Context) -> Vec<String> {
    if context.is_unknown(&c.key) {
        vec![c.key.clone()]
    } else {
        distinct(
            c.expected
                .iter()
                .flat_map(|v| unknown_variables(v, context)),
        )
    }
}

/// `keys` without repeats, in first-seen order.
fn distinct(keys: impl IntoIterator<Item = String>) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for k in keys {
        if !out.contains(&k) {
            out.push(k);
        }
    }
    out
}

/// Keys whose value differs with every retry: kept out of explanations, so retries group.
fn is_time_key(key: &str) -> bool {
    [
        "aws:CurrentTime",
        "aws:EpochTime",
        "aws:TokenIssueTime",
        "aws:MultiFactorAuthAge",
    ]
    .iter()
    .any(|k| k.eq_ignore_ascii_case(key))
}

/// Whether the identity policies alone allow the request.
fn identity_allows(identity: &IdentityAt, request: &Request) -> bool {
    identity
        .policies
        .iter()
        .any(|p| evaluate(&p.policy, request).decision == PolicyDecision::Allow)
}

/// The actions the role's Allow statements name, for "it allows …".
fn allowed_actions(identity: &IdentityAt) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for p in &identity.policies {
        for s in p
            .policy
            .statements
            .iter()
            .filter(|s| s.effect == Effect::Allow)
        {
            if let Some(iam_policy::ActionSpec::Action(actions)) = &s.action {
                for a in actions {
                    if !out.contains(a) {
                        out.push(a.clone());
                    }
                }
            }
        }
    }
    out
}

/// `: other repository name (web, not api)`-style note.
fn describe_arn_difference(pattern: &str, arn: &str) -> String {
    let p: Vec<&str> = pattern.splitn(6, ':').collect();
    let a: Vec<&str> = arn.splitn(6, ':').collect();
    if p.len() != 6 || a.len() != 6 {
        return String::new();
    }
    let mut diffs = Vec::new();
    if p[3] != a[3] && p[3] != "*" {
        diffs.push(format!("region {} instead of {}", a[3], p[3]));
    }
    if p[4] != a[4] && p[4] != "*" {
        diffs.push(format!("account {} instead of {}", a[4], p[4]));
    }
    if p[5] != a[5] {
        diffs.push(format!("{} instead of {}", a[5], p[5]));
    }
    if diffs.is_empty() {
        String::new()
    } else {
        format!(" ({})", diffs.join(", "))
    }
}

fn boundary(identity: &IdentityAt, action: &str, resource: &str, request: &Request) -> Verdict {
    let label = identity
        .boundary
        .as_ref()
        .map_or("the permissions boundary".to_owned(), |b| b.label.clone());
    let mut v = simple(
        Cause::PermissionsBoundary,
        format!("The role's permissions boundary ({label}) does not allow {action} on {resource}, so no identity policy can grant it."),
        format!("Add to the boundary policy: {}", statement_json(&action_set(action), resource)),
    );
    if let Some(b) = &identity.boundary {
        let r = evaluate(&b.policy, request);
        v.evidence.push(Evidence {
            policy: b.label.clone(),
            statement: None,
            sid: None,
            key: Some("decision".to_owned()),
            operator: None,
            expected: vec!["Allow".to_owned()],
            actual: Some(format!("{:?}", r.decision)),
            value_source: None,
        });
    }
    v
}

fn resource_no_allow(
    f: &CallFailure,
    ask: &Ask,
    repo: &RepositoryPolicyAt,
    denial: &Denial,
    request: &Request,
) -> Verdict {
    let resource = ask.resource.as_deref().unwrap_or("the resource");
    let role_arn = ask.role_arn.as_deref().unwrap_or("the role");
    let caller_account = role_arn.split(':').nth(4).unwrap_or_default();
    let owner = arn_account(resource).unwrap_or("the owner");
    let state = match repo {
        RepositoryPolicyAt::Known(None, Some(c)) => {
            format!(" Its repository policy was deleted at {}.", c.describe())
        }
        RepositoryPolicyAt::Known(None, None) => {
            " The repository has no repository policy.".to_owned()
        }
        RepositoryPolicyAt::Known(Some(p), set_by) => {
            if evaluate(p, request).decision == PolicyDecision::Allow {
                // The policy the tool holds grants the call: AWS's word against the inventory.
                let source = set_by.as_ref().map_or_else(
                    || "the inventory snapshot".to_owned(),
                    |c| format!("the change at {}", c.describe()),
                );
                format!(
                    " The repository policy the tool holds ({source}) does grant this call, so it is not the policy that was in force at {} (or a condition turned on a value the tool does not have).",
                    f.time.format("%Y-%m-%dT%H:%M:%SZ")
                )
            } else {
                " Its repository policy does not grant this role.".to_owned()
            }
        }
        RepositoryPolicyAt::Unknown => String::new(),
    };
    let why = if owner != caller_account {
        format!(" is a cross-account call (from {caller_account} to {owner}), so")
    } else {
        ":".to_owned()
    };
    let statement = json!({
        "Sid": format!("Allow{}", if ask.action.contains("Layer") || ask.action.ends_with("PutImage") { "PushFromCI" } else { "CI" }),
        "Effect": "Allow",
        "Principal": {"AWS": role_arn},
        "Action": action_set(&ask.action),
    });
    let mut v = simple(
        Cause::ResourcePolicyNoAllow,
        format!("{} on {resource}{why} the resource policy must grant the caller, and no resource-based policy allows it.{state}", ask.action),
        format!(
            "Add this statement to the repository policy of {} in account {owner} (merge with any existing statements; `aws ecr set-repository-policy` replaces the whole policy): {statement}",
            repo_name(resource).unwrap_or(resource)
        ),
    );
    if denial.layer.is_none() && f.error_message.is_none() {
        v.explanation.push_str(" (No denial message was recorded.)");
    }
    v
}

/// `sts:AssumeRole` from a role session into another role.
fn chained(
    f: &CallFailure,
    denial: &Denial,
    ask: &Ask,
    call_context: &CallContext,
    inv: &Inventory,
) -> Option<Verdict> {
    let target = f
        .request
        .get("roleArn")
        .and_then(Value::as_str)
        .map(str::to_owned)
        .or_else(|| denial.resource.clone())?;
    let message = f.error_message.as_deref().unwrap_or_default();
    let duration = f.request.get("durationSeconds").and_then(Value::as_u64);
    if f.error_code == "ValidationError" && message.contains("DurationSeconds") {
        return Some(simple(
            Cause::ChainedDurationExceedsOneHour,
            format!(
                "A session that was itself created by assuming a role (role chaining) may last at most one hour; the request asked for {}.",
                duration.map_or("more".to_owned(), |d| format!("{d} s"))
            ),
            "Request at most 3600 seconds for the chained role (configure-aws-credentials `role-duration-seconds: 3600` on the second step).",
        ));
    }
    let has_tags = f
        .request
        .get("tags")
        .is_some_and(|t| t.as_array().is_some_and(|a| !a.is_empty()))
        || f.request
            .get("transitiveTagKeys")
            .is_some_and(|t| t.as_array().is_some_and(|a| !a.is_empty()));
    let requested = RoleArn::parse(&target)?;
    let (target_account, target_name) = (requested.account, requested.name);
    let session_arn = ask.session_arn.clone()?;
    let trust = match inv.role_at_arn(&requested, f.time) {
        RoleAt::Known(view) => Some(view.trust),
        RoleAt::Absent(Absence {
            other_path: Some(actual),
            ..
        }) => {
            let mut v = simple(
                Cause::RoleNotFound,
                format!(
                    "No role has the ARN {target}: the target role {target_name} exists in account {target_account}, but its ARN is {actual} (a role's ARN includes its path; only the path differs)."
                ),
                format!("Set the second role's ARN in the workflow to the full ARN, with the path: {actual}"),
            );
            v.details.insert("target_role_arn".into(), json!(target));
            v.details.insert(
                "nearest_role".into(),
                json!({"name": target_name, "arn": actual, "distance": 0, "only_path_differs": true}),
            );
            return Some(v);
        }
        RoleAt::Absent(_) => {
            return Some(simple(
                Cause::RoleNotFound,
                format!(
                    "The target role {target_name} does not exist in account {target_account}."
                ),
                "Fix the role ARN of the second role in the workflow.",
            ))
        }
        RoleAt::Unknown(Unknown::AccountNotInInventory)
        | RoleAt::Unknown(Unknown::ReplacedLater { .. }) => None,
    };
    let request = |action: &str| Request {
        principal: Some(RequestPrincipal {
            kind: PrincipalKind::Aws,
            id: session_arn.clone(),
        }),
        action: action.to_owned(),
        resource: Some(target.clone()),
        context: call_context.context.clone(),
    };
    let tag_fix = |trust: Option<&Policy>| -> String {
        let principal = ask.role_arn.clone().unwrap_or_else(|| session_arn.clone());
        let _ = trust;
        format!(
            "Allow sts:TagSession next to sts:AssumeRole in the trust policy of {target_name}: {}; or stop passing session tags (configure-aws-credentials `role-skip-session-tagging: true`).",
            json!({"Effect":"Allow","Principal":{"AWS": principal},"Action":["sts:AssumeRole","sts:TagSession"]})
        )
    };
    let denied_tag = denial
        .action
        .as_deref()
        .is_some_and(|a| a.eq_ignore_ascii_case("sts:TagSession"));
    let Some(trust) = trust else {
        if denied_tag {
            let mut v = simple(
                Cause::ChainedTagSessionNotAllowed,
                format!("The request to assume {target_name} carries session tags, and AWS denied sts:TagSession: the target's trust policy must allow sts:TagSession for this role. (The trust policy itself is not in the inventory.)"),
                tag_fix(None),
            );
            v.details.insert("target_role_arn".into(), json!(target));
            return Some(v);
        }
        return Some(simple(
            Cause::NoPolicyData,
            format!("The trust policy of the target role {target_name} (account {target_account}) is not in the inventory."),
            format!("Supply account {target_account}'s authorization details with --iam."),
        ));
    };
    let Some(trust) = trust else {
        return Some(simple(
            Cause::NoPolicyData,
            format!("The trust policy of {target_name} could not be parsed."),
            "Check it with `trailwhy check`.",
        ));
    };
    let assume = evaluate(&trust, &request("sts:AssumeRole"));
    let tag = evaluate(&trust, &request("sts:TagSession"));
    // A trust decision that turns on a key the tool cannot know is not the tool's to make.
    let lenient = |action: &str| {
        let mut r = request(action);
        r.context = r.context.assuming(Assume::Lenient);
        evaluate(&trust, &r).decision
    };
    if assume.decision != lenient("sts:AssumeRole")
        || ((has_tags || denied_tag) && tag.decision != lenient("sts:TagSession"))
    {
        let keys = distinct(
            assume
                .statements
                .iter()
                .chain(tag.statements.iter())
                .flat_map(|st| st.conditions.iter())
                .filter(|c| c.unknown)
                .flat_map(|c| unknown_keys_of(c, &call_context.context)),
        );
        let needed = call_context.what_decides(&keys);
        let mut v = simple(
            Cause::UnverifiableContextCondition,
            format!(
                "Whether the trust policy of {target_name} lets this session assume it turns on {}, whose value the tool cannot know from what it read ({}).",
                keys.join(", "),
                needed.join("; ")
            ),
            format!("Supply what would decide it ({}), or check the trust policy's condition against the request by hand.", needed.join("; ")),
        );
        v.details.insert("target_role_arn".into(), json!(target));
        v.details.insert("unknown_keys".into(), json!(needed));
        return Some(v);
    }
    let mut v = if assume.decision != PolicyDecision::Allow {
        let principals: Vec<String> = trust
            .statements
            .iter()
            .filter(|s| s.effect == Effect::Allow)
            .filter_map(|s| match &s.principal {
                Some(iam_policy::PrincipalSpec::Principal(set)) => Some(
                    set.entries
                        .iter()
                        .map(|(_, v)| v.clone())
                        .collect::<Vec<_>>(),
                ),
                _ => None,
            })
            .flatten()
            .collect();
        let mut v = simple(
            Cause::ChainedPrincipalNotTrusted,
            format!("The trust policy of {target_name} does not allow {} to call sts:AssumeRole (it trusts {}).", ask.role_arn.as_deref().unwrap_or(&session_arn), principals.join(", ")),
            format!("Add the calling role to the trust policy of {target_name}: {}", json!({"Effect":"Allow","Principal":{"AWS": ask.role_arn.clone().unwrap_or_else(|| session_arn.clone())},"Action": if has_tags { json!(["sts:AssumeRole","sts:TagSession"]) } else { json!("sts:AssumeRole") }})),
        );
        v.evidence.push(Evidence {
            policy: format!("trust:{target_name}"),
            statement: None,
            sid: None,
            key: Some("Principal.AWS".to_owned()),
            operator: Some("Equals".to_owned()),
            expected: principals,
            actual: Some(session_arn.clone()),
            value_source: None,
        });
        v
    } else if (has_tags || denied_tag) && tag.decision != PolicyDecision::Allow {
        let mut v = simple(
            Cause::ChainedTagSessionNotAllowed,
            format!("The trust policy of {target_name} allows this role sts:AssumeRole but not sts:TagSession, and the request passes session tags (tags/transitiveTagKeys): AWS then requires sts:TagSession too."),
            tag_fix(Some(&trust)),
        );
        v.evidence.push(Evidence {
            policy: format!("trust:{target_name}"),
            statement: None,
            sid: None,
            key: Some("Action".to_owned()),
            operator: Some("ActionMatches".to_owned()),
            expected: vec!["sts:AssumeRole".to_owned()],
            actual: Some("sts:TagSession".to_owned()),
            value_source: None,
        });
        v
    } else {
        return None; // trust allows: the identity side of the caller decides
    };
    let caller = ask.role_arn.clone().unwrap_or_else(|| session_arn.clone());
    let caller_identity =
        RoleArn::parse(&caller).and_then(|r| inv.identity_at(r.account, r.name, f.time));
    v.fixes = fix::call::chained(
        &trust,
        &target,
        &caller,
        caller_identity.as_ref(),
        request,
        has_tags || denied_tag,
    );
    v.details.insert("target_role_arn".into(), json!(target));
    Some(v)
}
