//! Diagnosing one web-identity request against one trust policy: the decision, the cause,
//! the evidence (statement, condition key, operator, expected patterns, value sent) and the
//! fix. Shared by `explain` (per failed event) and `check` (offline, before pushing).

use iam_policy::{
    evaluate, operator_matches, wildcard_match, BaseOperator, ConditionResult, ContextValue,
    Effect, ElementMatch, Policy, PolicyDecision, PrincipalKind, Request, RequestPrincipal,
    StatementResult,
};
use serde::Serialize;
use serde_json::json;

use super::subject::{self, SubjectKind};
use super::{Cause, Evidence};
use crate::event::identity::provider_issuer;
use crate::select::Network;

pub const WEB_IDENTITY_ACTION: &str = "sts:AssumeRoleWithWebIdentity";

/// The token side of the request.
#[derive(Debug, Clone)]
pub struct Token<'a> {
    pub provider: &'a str,
    pub audience: Option<&'a str>,
    pub subject: &'a str,
    pub session_name: Option<&'a str>,
    /// When, where and how the request was made, when a record says so (`None` for `check`,
    /// which judges a token alone).
    pub request: Option<RequestFacts<'a>>,
}

/// The request-context facts an `AssumeRoleWithWebIdentity` record gives besides the token.
#[derive(Debug, Clone, Copy)]
pub struct RequestFacts<'a> {
    pub time: chrono::DateTime<chrono::Utc>,
    pub region: Option<&'a str>,
    pub user_agent: Option<&'a str>,
    pub network: Option<&'a Network>,
}

/// The global keys `request_for` sets from a record's `RequestFacts`: a condition on one of
/// them that fails is a failed condition (its absence is AWS's), never an unrecorded claim.
const RECORDED_KEYS: &[&str] = &[
    "aws:currenttime",
    "aws:epochtime",
    "aws:requestedregion",
    "aws:useragent",
    "aws:sourceip",
    "aws:sourcevpce",
    "aws:vpcsourceip",
];

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum TrustDecision {
    Allow,
    ImplicitDeny,
    ExplicitDeny,
}

#[derive(Debug, Clone)]
pub struct TrustDiagnosis {
    pub decision: TrustDecision,
    pub cause: Cause,
    pub evidence: Vec<Evidence>,
    /// One or two plain sentences; `role` is filled in by the caller's wording.
    pub explanation: String,
    pub fix: String,
}

/// Builds the policy request IAM evaluates for `AssumeRoleWithWebIdentity`.
pub fn request_for(token: &Token<'_>, role_arn: Option<&str>) -> Request {
    let issuer = provider_issuer(token.provider);
    let mut context = iam_policy::Context::new();
    context.insert(
        &format!("{issuer}:sub"),
        ContextValue::Single(token.subject.to_owned()),
    );
    // STS accepts a token only from the provider whose URL is its issuer: `iss` is known
    context.insert(
        &format!("{issuer}:iss"),
        ContextValue::Single(format!("https://{issuer}")),
    );
    if let Some(aud) = token.audience {
        context.insert(
            &format!("{issuer}:aud"),
            ContextValue::Single(aud.to_owned()),
        );
    }
    context.insert(
        "aws:FederatedProvider",
        ContextValue::Single(token.provider.to_owned()),
    );
    if let Some(s) = token.session_name {
        context.insert("sts:RoleSessionName", ContextValue::Single(s.to_owned()));
    }
    if let Some(facts) = &token.request {
        let mut set = |k: &str, v: String| context.insert(k, ContextValue::Single(v));
        set(
            "aws:CurrentTime",
            facts.time.format("%Y-%m-%dT%H:%M:%SZ").to_string(),
        );
        set("aws:EpochTime", facts.time.timestamp().to_string());
        if let Some(r) = facts.region {
            set("aws:RequestedRegion", r.to_owned());
        }
        if let Some(ua) = facts.user_agent {
            set("aws:UserAgent", ua.to_owned());
        }
        if let Some(n) = facts.network {
            for (k, v) in super::context::network(n).context.iter() {
                context.insert(k, v.clone());
            }
        }
    }
    Request {
        principal: Some(RequestPrincipal {
            kind: PrincipalKind::Federated,
            id: token.provider.to_owned(),
        }),
        action: WEB_IDENTITY_ACTION.to_owned(),
        resource: role_arn.map(str::to_owned),
        context,
    }
}

/// Diagnoses `token` against `policy`.
pub fn diagnose(policy: &Policy, token: &Token<'_>, role_arn: Option<&str>) -> TrustDiagnosis {
    let request = request_for(token, role_arn);
    let result = evaluate(policy, &request);
    let issuer = provider_issuer(token.provider);
    let mut d = match result.decision {
        PolicyDecision::ExplicitDeny => explicit_deny(&result.statements),
        PolicyDecision::Allow => TrustDiagnosis {
            decision: TrustDecision::Allow,
            cause: Cause::TrustAllows,
            evidence: result
                .statements
                .iter()
                .filter(|s| s.applies && s.effect == Effect::Allow)
                .flat_map(|s| statement_evidence(s, |_| true))
                .collect(),
            explanation: "The trust policy allows this token.".to_owned(),
            fix: String::new(),
        },
        PolicyDecision::NotApplicable => not_allowed(policy, &result.statements, token, issuer),
    };
    // Where each condition's value came from: the record (the token's claims as CloudTrail
    // holds them, its network and time), or nowhere.
    let with_facts = token.request.is_some();
    for e in &mut d.evidence {
        let Some(key) = e.key.as_deref() else {
            continue;
        };
        e.value_source = match (&e.actual, with_facts) {
            (Some(_), true) => Some("event".to_owned()),
            (Some(_), false) => None,
            (None, _) if is_unrecorded_key(key, issuer, with_facts) => Some("unknown".to_owned()),
            (None, _) => Some("absent".to_owned()),
        };
    }
    d
}

fn explicit_deny(statements: &[StatementResult]) -> TrustDiagnosis {
    let denying: Vec<&StatementResult> = statements
        .iter()
        .filter(|s| s.applies && s.effect == Effect::Deny)
        .collect();
    let evidence: Vec<Evidence> = denying
        .iter()
        .flat_map(|s| statement_evidence(s, |_| true))
        .collect();
    let names: Vec<String> = denying.iter().map(|s| statement_name(s)).collect();
    TrustDiagnosis {
        decision: TrustDecision::ExplicitDeny,
        cause: Cause::ExplicitDeny,
        explanation: format!(
            "A Deny statement in the trust policy ({}) matches this token; an explicit deny wins over every Allow.",
            names.join(", ")
        ),
        fix: format!(
            "Narrow or remove the Deny {} so that it no longer matches this subject, or run the job from a context the Deny does not cover.",
            names.join(", ")
        ),
        evidence,
    }
}

fn statement_name(s: &StatementResult) -> String {
    match &s.sid {
        Some(sid) if !sid.is_empty() => format!("statement {} (Sid \"{sid}\")", s.index),
        _ => format!("statement {}", s.index),
    }
}

fn statement_evidence(
    s: &StatementResult,
    keep: impl Fn(&ConditionResult) -> bool,
) -> Vec<Evidence> {
    s.conditions
        .iter()
        .filter(|c| keep(c))
        .map(|c| condition_evidence(s, c))
        .collect()
}

fn condition_evidence(s: &StatementResult, c: &ConditionResult) -> Evidence {
    Evidence {
        policy: "trust".to_owned(),
        statement: Some(s.index.to_string()),
        sid: s.sid.clone().filter(|x| !x.is_empty()),
        key: Some(c.key.clone()),
        operator: Some(c.operator.clone()),
        expected: c.expected.clone(),
        actual: c.actual.as_ref().map(|v| v.join(",")),
        value_source: None,
    }
}

/// A condition key whose value CloudTrail does not record, so it cannot be re-checked. With a
/// record's facts, the network, time and region keys are recorded (`RECORDED_KEYS`): their
/// absence is AWS's (no `aws:SourceIp` through a VPC endpoint).
fn is_unrecorded_key(key: &str, issuer: &str, with_facts: bool) -> bool {
    let k = key.to_ascii_lowercase();
    let prefix = format!("{}:", issuer.to_ascii_lowercase());
    if let Some(claim) = k.strip_prefix(&prefix) {
        // GitHub's tokens carry no `amr`: absent, not unknown
        let github = issuer.starts_with("token.actions.githubusercontent.com");
        return !(matches!(claim, "sub" | "aud" | "iss") || (github && claim == "amr"));
    }
    if with_facts && RECORDED_KEYS.contains(&k.as_str()) {
        return false;
    }
    // other providers' claims, tags, the network without a record: not known here
    !(k == "aws:federatedprovider" || k == "sts:rolesessionname")
}

struct Candidate<'a> {
    statement: &'a StatementResult,
    failing: Vec<&'a ConditionResult>,
    unverifiable: Vec<&'a ConditionResult>,
}

fn not_allowed(
    policy: &Policy,
    statements: &[StatementResult],
    token: &Token<'_>,
    issuer: &str,
) -> TrustDiagnosis {
    let allows: Vec<&StatementResult> = statements
        .iter()
        .filter(|s| s.effect == Effect::Allow)
        .collect();
    let principal_ok: Vec<&StatementResult> = allows
        .iter()
        .copied()
        .filter(|s| s.principal != ElementMatch::NotMatched)
        .collect();
    if principal_ok.is_empty() {
        return provider_not_trusted(policy, token);
    }
    let action_ok: Vec<&StatementResult> = principal_ok
        .iter()
        .copied()
        .filter(|s| s.action != ElementMatch::NotMatched)
        .collect();
    if action_ok.is_empty() {
        return action_not_trusted(policy, &principal_ok);
    }
    let mut candidates: Vec<Candidate<'_>> = action_ok
        .iter()
        .map(|s| {
            let (unverifiable, failing): (Vec<&ConditionResult>, Vec<&ConditionResult>) =
                s.conditions.iter().filter(|c| !c.matched).partition(|c| {
                    c.actual.is_none() && is_unrecorded_key(&c.key, issuer, token.request.is_some())
                });
            Candidate {
                statement: s,
                failing,
                unverifiable,
            }
        })
        .collect();
    candidates.sort_by_key(|c| (c.failing.len(), c.statement.index));
    let Some(best) = candidates.first() else {
        return provider_not_trusted(policy, token);
    };
    if best.failing.is_empty() {
        let keys: Vec<String> = best.unverifiable.iter().map(|c| c.key.clone()).collect();
        return TrustDiagnosis {
            decision: TrustDecision::ImplicitDeny,
            cause: Cause::UnverifiableClaimCondition,
            evidence: best.unverifiable.iter().map(|c| condition_evidence(best.statement, c)).collect(),
            explanation: format!(
                "Every condition that CloudTrail lets us check passes ({}); the remaining condition on {} uses a claim CloudTrail does not record, so it is the likely cause.",
                statement_name(best.statement),
                keys.join(", ")
            ),
            fix: format!(
                "Compare the job's {} claim(s) with the expected values in {}: print the token's claims in the workflow (e.g. with actions/github-script and core.getIDToken) or relax the condition.",
                keys.join(", "),
                statement_name(best.statement)
            ),
        };
    }
    // Sub conditions first, then the audience, then anything else.
    let rank = |c: &ConditionResult| -> u8 {
        let k = c.key.to_ascii_lowercase();
        if k.ends_with(":sub") {
            0
        } else if k.ends_with(":aud") {
            1
        } else {
            2
        }
    };
    let mut failing = best.failing.clone();
    failing.sort_by_key(|c| rank(c));
    let evidence: Vec<Evidence> = failing
        .iter()
        .map(|c| condition_evidence(best.statement, c))
        .collect();
    let first = failing[0];
    let statement = policy
        .statements
        .iter()
        .find(|s| s.index == best.statement.index);
    let base = statement
        .and_then(|s| {
            s.conditions.iter().find(|pc| {
                pc.key.eq_ignore_ascii_case(&first.key) && pc.operator.raw == first.operator
            })
        })
        .map(|pc| pc.operator.base.clone())
        .unwrap_or(BaseOperator::StringEquals);
    let where_ = statement_name(best.statement);
    let others = if failing.len() > 1 {
        format!(
            " {} other condition(s) in the same statement also fail: {}.",
            failing.len() - 1,
            failing[1..]
                .iter()
                .map(|c| c.key.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        )
    } else {
        String::new()
    };
    let mut d =
        match rank(first) {
            0 => sub_mismatch(first, &base, token.subject, &where_),
            1 => aud_mismatch(first, token.audience, &where_),
            _ => TrustDiagnosis {
                decision: TrustDecision::ImplicitDeny,
                cause: Cause::ConditionNotMet,
                evidence: Vec::new(),
                explanation: format!(
                "The condition {} {} in {where_} is not met: expected {}, the request carried {}.",
                first.operator,
                first.key,
                list(&first.expected),
                first.actual.as_ref().map_or("nothing".to_owned(), |v| quote(&v.join(",")))
            ),
                fix: format!(
                    "Change the {} condition on {} in {where_} to accept the request.",
                    first.operator, first.key
                ),
            },
        };
    d.evidence = evidence;
    d.explanation.push_str(&others);
    d
}

fn provider_not_trusted(policy: &Policy, token: &Token<'_>) -> TrustDiagnosis {
    let mut evidence = Vec::new();
    let mut trusted = Vec::new();
    for s in &policy.statements {
        if s.effect != Effect::Allow {
            continue;
        }
        if let Some(iam_policy::PrincipalSpec::Principal(set)) = &s.principal {
            let entries: Vec<String> = set
                .entries
                .iter()
                .map(|(k, v)| match k {
                    PrincipalKind::Federated => v.clone(),
                    PrincipalKind::Aws => format!("AWS:{v}"),
                    PrincipalKind::Service => format!("Service:{v}"),
                    PrincipalKind::CanonicalUser => format!("CanonicalUser:{v}"),
                })
                .collect();
            trusted.extend(entries.iter().cloned());
            evidence.push(Evidence {
                policy: "trust".to_owned(),
                statement: Some(s.index.to_string()),
                sid: s.sid.clone().filter(|x| !x.is_empty()),
                key: Some("Principal.Federated".to_owned()),
                operator: Some("Equals".to_owned()),
                expected: entries,
                actual: Some(token.provider.to_owned()),
                value_source: None,
            });
        }
    }
    let issuer = provider_issuer(token.provider);
    let same_issuer_other_account = trusted
        .iter()
        .any(|t| t != token.provider && provider_issuer(t) == issuer);
    let hint = if same_issuer_other_account {
        " A statement trusts the same issuer in another account: the provider ARN must name the role's own account."
    } else {
        ""
    };
    TrustDiagnosis {
        decision: TrustDecision::ImplicitDeny,
        cause: Cause::ProviderNotTrusted,
        explanation: format!(
            "No Allow statement of the trust policy names the provider {} as Principal.Federated (it trusts {}).{hint}",
            token.provider,
            if trusted.is_empty() { "no principal".to_owned() } else { trusted.join(", ") }
        ),
        fix: format!(
            "Add a statement: {}",
            json!({"Effect":"Allow","Principal":{"Federated": token.provider},"Action":WEB_IDENTITY_ACTION,
                   "Condition":{"StringEquals":{format!("{issuer}:aud"): token.audience.unwrap_or("sts.amazonaws.com"),
                                                 format!("{issuer}:sub"): token.subject}}})
        ),
        evidence,
    }
}

fn action_not_trusted(policy: &Policy, principal_ok: &[&StatementResult]) -> TrustDiagnosis {
    let mut evidence = Vec::new();
    for sr in principal_ok {
        let actions = policy
            .statements
            .iter()
            .find(|s| s.index == sr.index)
            .and_then(|s| s.action.as_ref())
            .map(|a| match a {
                iam_policy::ActionSpec::Action(v) => v.clone(),
                iam_policy::ActionSpec::NotAction(v) => {
                    v.iter().map(|x| format!("NotAction:{x}")).collect()
                }
            })
            .unwrap_or_default();
        evidence.push(Evidence {
            policy: "trust".to_owned(),
            statement: Some(sr.index.to_string()),
            sid: sr.sid.clone().filter(|x| !x.is_empty()),
            key: Some("Action".to_owned()),
            operator: Some("ActionMatches".to_owned()),
            expected: actions,
            actual: Some(WEB_IDENTITY_ACTION.to_owned()),
            value_source: None,
        });
    }
    let names: Vec<String> = principal_ok.iter().map(|s| statement_name(s)).collect();
    TrustDiagnosis {
        decision: TrustDecision::ImplicitDeny,
        cause: Cause::ActionNotTrusted,
        explanation: format!(
            "The provider is trusted ({}), but not for {WEB_IDENTITY_ACTION}.",
            names.join(", ")
        ),
        fix: format!(
            "Set \"Action\": \"{WEB_IDENTITY_ACTION}\" in {}.",
            names.join(", ")
        ),
        evidence,
    }
}

fn aud_mismatch(c: &ConditionResult, audience: Option<&str>, where_: &str) -> TrustDiagnosis {
    let sent = audience.map_or("an audience CloudTrail did not record".to_owned(), quote);
    let mut values = c.expected.clone();
    if let Some(a) = audience {
        values.push(a.to_owned());
    }
    TrustDiagnosis {
        decision: TrustDecision::ImplicitDeny,
        cause: Cause::AudMismatch,
        evidence: Vec::new(),
        explanation: format!(
            "The trust policy accepts audience {} ({} {} in {where_}), but the token carried {sent}.",
            list(&c.expected),
            c.operator,
            c.key
        ),
        fix: format!(
            "Either request the expected audience in the workflow (aws-actions/configure-aws-credentials `audience: {}`), or accept this one: {}",
            c.expected.first().map_or("sts.amazonaws.com", String::as_str),
            json!({ c.operator.clone(): { c.key.clone(): values } })
        ),
    }
}

/// Would `expected` accept `actual` under `op`, ignoring case?
fn matches_ignoring_case(op: &BaseOperator, expected: &str, actual: &str) -> bool {
    operator_matches(op, &expected.to_lowercase(), &actual.to_lowercase())
}

fn is_literal_operator(op: &BaseOperator) -> bool {
    matches!(
        op,
        BaseOperator::StringEquals | BaseOperator::StringEqualsIgnoreCase
    )
}

fn sub_mismatch(
    c: &ConditionResult,
    op: &BaseOperator,
    actual: &str,
    where_: &str,
) -> TrustDiagnosis {
    let expected = &c.expected;
    let key = &c.key;
    let operator = &c.operator;
    let add_value = |value: &str| -> String {
        let mut values = expected.clone();
        if !values.iter().any(|v| v == value) {
            values.push(value.to_owned());
        }
        json!({ operator.clone(): { key.clone(): values } }).to_string()
    };
    let diag = |cause: Cause, explanation: String, fix: String| TrustDiagnosis {
        decision: TrustDecision::ImplicitDeny,
        cause,
        evidence: Vec::new(),
        explanation,
        fix,
    };
    if op.is_negated() {
        return diag(
            Cause::SubPatternMismatch,
            format!("The subject {} matches a pattern that {operator} {key} in {where_} excludes ({}).", quote(actual), list(expected)),
            format!("Remove the subject's pattern from the {operator} condition in {where_}, or run the job from another ref or environment."),
        );
    }
    // 1. a wildcard pattern under a literal operator
    if is_literal_operator(op) {
        if let Some(p) = expected
            .iter()
            .find(|e| (e.contains('*') || e.contains('?')) && wildcard_match(e, actual))
        {
            return diag(
                Cause::WildcardNeedsStringlike,
                format!(
                    "{where_} compares {key} with {operator}, which treats {} literally: the `*` is not a wildcard there, so {} does not match. Under StringLike it would.",
                    quote(p),
                    quote(actual)
                ),
                format!(
                    "Change the operator from {operator} to StringLike for {key} in {where_}: {}",
                    json!({ operator.replace("StringEquals", "StringLike"): { key.clone(): expected } })
                ),
            );
        }
    }
    // 2. case
    if let Some(p) = expected
        .iter()
        .find(|e| matches_ignoring_case(op, e, actual))
    {
        let corrected = subject::recase_repository(p, actual).unwrap_or_else(|| actual.to_owned());
        return diag(
            Cause::SubCaseMismatch,
            format!(
                "{} matches the subject {} only when case is ignored: {operator} is case-sensitive and GitHub keeps the owner and repository names' case.",
                quote(p),
                quote(actual)
            ),
            format!("Use the exact case in {where_}: {}", add_value(&corrected)),
        );
    }
    let parsed = subject::parse(actual);
    let patterns: Vec<subject::Subject<'_>> = expected.iter().map(|e| subject::parse(e)).collect();
    // 3. immutable owner/repository ids on one side only
    let stripped_actual = subject::strip_immutable_ids(actual);
    let immutable_hit = expected.iter().find(|e| {
        let e_imm = subject::parse(e).immutable;
        (parsed.immutable && !e_imm && operator_matches(op, e, &stripped_actual))
            || (!parsed.immutable
                && e_imm
                && operator_matches(op, &subject::strip_immutable_ids(e), actual))
    });
    if let Some(p) = immutable_hit {
        let explanation = if parsed.immutable {
            format!(
                "The token uses GitHub's immutable subject form {} (OWNER@ID/REPO@ID, used by repositories created after 2026-07-15), but {where_} expects the name-only form {}.",
                quote(actual),
                quote(p)
            )
        } else {
            format!(
                "{where_} expects GitHub's immutable subject form {} (OWNER@ID/REPO@ID), but the token carries the name-only form {}.",
                quote(p),
                quote(actual)
            )
        };
        return diag(
            Cause::SubImmutableIdMismatch,
            explanation,
            format!("Accept the form the token uses: {}", add_value(actual)),
        );
    }
    // 4. customized claim template on one side only
    let any_custom_pattern = patterns.iter().any(|p| p.custom);
    if parsed.custom != any_custom_pattern && !patterns.is_empty() {
        let explanation = if parsed.custom {
            format!(
                "The subject {} follows a customized claim template (include_claim_keys), but {where_} expects GitHub's default form ({}).",
                quote(actual),
                list(expected)
            )
        } else {
            format!(
                "{where_} expects a customized claim template ({}), but the token carries GitHub's default subject {}: the repository's OIDC subject template is not the one the policy was written for.",
                list(expected),
                quote(actual)
            )
        };
        return diag(
            Cause::SubCustomTemplateMismatch,
            explanation,
            format!("Match the template the repository uses (GET /repos/OWNER/REPO/actions/oidc/customization/sub), e.g.: {}", add_value(actual)),
        );
    }
    // 5. other kind of subject
    // Only GitHub's four subject kinds are compared: a pattern for another kind of ref (or a
    // typo such as `refs/tag/`) is a pattern mismatch, not a kind mismatch.
    let definite = |k: SubjectKind| {
        matches!(
            k,
            SubjectKind::Branch
                | SubjectKind::Tag
                | SubjectKind::Environment
                | SubjectKind::PullRequest
        )
    };
    let kinds_differ = !patterns.is_empty()
        && definite(parsed.kind)
        && patterns
            .iter()
            .all(|p| definite(p.kind) && p.kind != parsed.kind);
    if kinds_differ {
        let expected_kinds: Vec<&str> = patterns.iter().map(|p| p.kind.describe()).collect();
        let why = match parsed.kind {
            SubjectKind::Environment => " A job that uses an `environment:` gets an environment subject, whatever the branch.",
            SubjectKind::PullRequest => " Workflows triggered by pull_request get this subject instead of a branch subject.",
            _ => "",
        };
        return diag(
            Cause::SubKindMismatch,
            format!(
                "{where_} only accepts {} subject ({}), but the job sent {} subject {}.{why}",
                dedup(expected_kinds).join(" or "),
                list(expected),
                parsed.kind.describe(),
                quote(actual)
            ),
            format!(
                "Add the subject the job sends to the {operator} condition on {key}: {}",
                add_value(actual)
            ),
        );
    }
    diag(
        Cause::SubPatternMismatch,
        format!(
            "{where_} accepts {key} {} ({operator}), but the job sent {}: same kind of subject, other repository, branch, tag or environment name.",
            list(expected),
            quote(actual)
        ),
        format!("Add the subject (or a pattern covering it, with StringLike): {}", add_value(actual)),
    )
}

fn dedup(mut v: Vec<&str>) -> Vec<&str> {
    v.dedup();
    v
}

fn quote(s: &str) -> String {
    format!("\"{s}\"")
}

fn list(v: &[String]) -> String {
    v.iter().map(|s| quote(s)).collect::<Vec<_>>().join(", ")
}
