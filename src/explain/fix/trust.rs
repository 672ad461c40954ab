//! Fixes of web-identity failures: the workflow change that sends what the role already
//! trusts, another role that already trusts the token, and trust-policy (and provider) changes
//! carried to completion — each verified by diagnosing the same token again against the patched
//! trust policy and provider.

use iam_policy::{evaluate, Effect, ElementMatch, Policy, PrincipalKind};
use serde_json::json;

use super::{
    action_step, add_condition_pattern, add_condition_value, add_statement, change_operator,
    policy_change, rank, remove_condition_values, remove_statement, shell_word, yaml_scalar,
    Breadth, Change, Fix, FixKind, Verified,
};
use crate::event::identity::provider_issuer;
use crate::explain::subject::{self, SubjectKind};
use crate::explain::trust::{diagnose, request_for, Token, TrustDecision, WEB_IDENTITY_ACTION};
use crate::explain::Cause;

/// What the tool knows of the token's IAM OIDC provider at the failure.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Provider {
    /// It exists, with these registered client IDs (audiences) when known.
    Exists(Option<Vec<String>>),
    Absent,
    Unknown,
}

/// One failed web-identity request and what the inventory holds around it.
pub struct Situation<'a> {
    pub token: Token<'a>,
    pub role_arn: &'a str,
    /// The role's trust policy in force, when known.
    pub trust: Option<&'a Policy>,
    pub provider: Provider,
    /// The role's maximum session duration and the duration asked for.
    pub max_session: Option<u64>,
    pub duration: Option<u64>,
    /// Roles to offer instead when the role asked for does not exist, nearest first, with
    /// their trust policies at the failure: (ARN, policy).
    pub other_roles: Vec<(String, Policy)>,
}

/// At most this many edits are chained before a fix is given up as incomplete.
const MAX_STEPS: usize = 8;
/// At most this many other roles are offered.
const MAX_OTHER_ROLES: usize = 3;

impl<'a> Situation<'a> {
    /// A copy without the other roles (they are only read once).
    fn clone_shallow(&self) -> Situation<'a> {
        Situation {
            token: self.token.clone(),
            role_arn: self.role_arn,
            trust: self.trust,
            provider: self.provider.clone(),
            max_session: self.max_session,
            duration: self.duration,
            other_roles: Vec::new(),
        }
    }

    /// The provider ARN the token names (built from the issuer and the role's account when the
    /// record names only the issuer).
    fn provider_arn(&self) -> String {
        let p = self.token.provider;
        if p.contains(":oidc-provider/") {
            return p.to_owned();
        }
        let account = crate::event::arn_account(self.role_arn).unwrap_or("ACCOUNT");
        format!(
            "arn:aws:iam::{account}:oidc-provider/{}",
            provider_issuer(p)
        )
    }

    /// What still blocks `token` against `trust` with the provider `provider`; `None` when the
    /// request passes.
    fn blocker(
        &self,
        trust: &Policy,
        token: &Token<'_>,
        role_arn: &str,
        provider: &Provider,
    ) -> Option<String> {
        match provider {
            Provider::Absent => {
                return Some(format!(
                    "the OIDC provider {} does not exist",
                    self.provider_arn()
                ))
            }
            Provider::Exists(Some(ids)) => {
                if let Some(aud) = token.audience {
                    if !ids.iter().any(|i| i == aud) {
                        return Some(format!(
                            "the audience \"{aud}\" is not a client ID of {}",
                            self.provider_arn()
                        ));
                    }
                }
            }
            Provider::Exists(None) | Provider::Unknown => {}
        }
        if let (Some(asked), Some(max)) = (self.duration, self.max_session) {
            if asked > max {
                return Some(format!(
                    "the job asks for {asked} s, more than the role's maximum of {max} s"
                ));
            }
        }
        let d = diagnose(trust, token, Some(role_arn));
        (d.decision != TrustDecision::Allow)
            .then(|| format!("{}: {}", d.cause.code(), d.explanation))
    }

    /// What the verification could not see: the provider when the inventory lacks it.
    fn unseen(&self, provider: &Provider) -> Option<String> {
        (*provider == Provider::Unknown).then(|| {
            format!(
                "the inventory does not hold the account's OIDC providers, so whether {} exists and registers the audience is not checked",
                self.provider_arn()
            )
        })
    }
}

/// Every alternative for the failure, least privilege first.
pub fn fixes(s: &Situation<'_>) -> Vec<Fix> {
    let mut out = Vec::new();
    let Some(trust) = s.trust else {
        if s.provider == Provider::Absent {
            out.push(create_provider_unchecked(s));
        }
        // the role asked for does not exist: roles that accept the token instead
        out.extend(other_roles(s));
        return rank(out);
    };
    let d = diagnose(trust, &s.token, Some(s.role_arn));
    out.extend(workflow_fixes(s, trust, d.cause));
    out.extend(duration_fixes(s, trust));
    out.extend(provider_fixes(s, trust));
    if s.provider != Provider::Absent {
        if let Some(f) = complete(s, trust, &s.provider, Vec::new(), None) {
            out.push(f);
        }
        if d.cause == Cause::WildcardNeedsStringlike || d.cause == Cause::SubCaseMismatch {
            out.extend(pattern_fix(s, trust, &d));
        }
    }
    rank(out)
}

/// One edit of a trust policy.
struct Step {
    policy: Policy,
    summary: String,
    admits: Vec<String>,
    breadth: Breadth,
}

/// The trust policy carried from `start` through as many edits as the request needs; the
/// changes before it (`before`: a new provider, …) and a first edit already made (`first`).
fn complete(
    s: &Situation<'_>,
    start: &Policy,
    provider: &Provider,
    before: Vec<Change>,
    first: Option<Step>,
) -> Option<Fix> {
    let mut policy = start.clone();
    let mut summaries = Vec::new();
    let mut admits = Vec::new();
    let mut breadth = Breadth::Nothing;
    if let Some(step) = first {
        policy = step.policy;
        summaries.push(step.summary);
        admits.extend(step.admits);
        breadth = breadth.max(step.breadth);
    }
    let mut stuck = None;
    for _ in 0..MAX_STEPS {
        let d = diagnose(&policy, &s.token, Some(s.role_arn));
        if d.decision == TrustDecision::Allow {
            break;
        }
        match next_step(s, &policy, d.cause, &d.evidence) {
            Some(step) => {
                policy = step.policy;
                summaries.push(step.summary);
                admits.extend(step.admits);
                breadth = breadth.max(step.breadth);
            }
            None => {
                stuck = Some((d.cause, d.explanation));
                break;
            }
        }
    }
    if summaries.is_empty() && before.is_empty() {
        return None; // nothing to change in the trust policy
    }
    let mut changes = before;
    if !summaries.is_empty() {
        changes.push(policy_change(
            FixKind::TrustPolicy,
            s.role_arn,
            format!(
                "In the trust policy of {}: {}.",
                s.role_arn,
                summaries.join("; ")
            ),
            &policy,
        ));
    }
    // what remains once every edit the tool can check is made: a condition on a claim
    // CloudTrail never records is beyond what can be verified, and the fix says so; anything
    // else still failing means the changes do not make the request pass, and they are no fix
    let unseen = match stuck {
        Some((Cause::UnverifiableClaimCondition, why)) => Some(format!(
            "with these changes every condition the tool can check passes; what remains is a condition on a claim CloudTrail does not record ({why} Print the token's claims in the job to confirm it)"
        )),
        Some(_) => return None,
        None if s.blocker(&policy, &s.token, s.role_arn, provider).is_some() => return None,
        None => s.unseen(provider),
    };
    let mut changes = changes.into_iter();
    let change = changes.next()?;
    Some(Fix {
        change,
        also: changes.collect(),
        scope: scope_text(&admits),
        admits,
        verified: if unseen.is_some() {
            Verified::Unverified
        } else {
            Verified::Allows
        },
        unverified_because: unseen,
        breadth,
    })
}

fn scope_text(admits: &[String]) -> String {
    if admits.is_empty() {
        "admits nothing new".to_owned()
    } else {
        format!("newly admits {}", admits.join("; "))
    }
}

/// The next edit of `policy` for the failure `cause` with `evidence` (the failing condition
/// first), or `None` when no edit of the trust policy can help.
fn next_step(
    s: &Situation<'_>,
    policy: &Policy,
    cause: Cause,
    evidence: &[crate::explain::Evidence],
) -> Option<Step> {
    let token = &s.token;
    match cause {
        Cause::ProviderNotTrusted => trust_provider(s, policy),
        Cause::ActionNotTrusted => {
            let request = request_for(token, Some(s.role_arn));
            let r = evaluate(policy, &request);
            let indices: Vec<usize> = r
                .statements
                .iter()
                .filter(|st| st.effect == Effect::Allow && st.principal != ElementMatch::NotMatched)
                .map(|st| st.index)
                .collect();
            let mut doc = policy.to_value();
            for i in &indices {
                let st = doc.get_mut("Statement")?.get_mut(*i)?;
                let actions = match st.get("Action") {
                    Some(serde_json::Value::String(a)) => {
                        vec![a.clone(), WEB_IDENTITY_ACTION.to_owned()]
                    }
                    Some(serde_json::Value::Array(a)) => a
                        .iter()
                        .filter_map(|v| v.as_str().map(str::to_owned))
                        .chain([WEB_IDENTITY_ACTION.to_owned()])
                        .collect(),
                    _ => return None, // NotAction: not edited
                };
                st["Action"] = json!(actions);
            }
            Some(Step {
                policy: Policy::from_value(&doc).ok()?,
                summary: format!(
                    "allow {WEB_IDENTITY_ACTION} in statement(s) {}",
                    indices
                        .iter()
                        .map(ToString::to_string)
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
                admits: Vec::new(),
                breadth: Breadth::Exact,
            })
        }
        Cause::ExplicitDeny => {
            let request = request_for(token, Some(s.role_arn));
            let r = evaluate(policy, &request);
            let deny = r
                .statements
                .iter()
                .find(|st| st.applies && st.effect == Effect::Deny)?;
            Some(Step {
                policy: remove_statement(policy, deny.index)?,
                summary: format!(
                    "remove the Deny statement {}{}",
                    deny.index,
                    deny.sid
                        .as_deref()
                        .map_or(String::new(), |s| format!(" (Sid \"{s}\")"))
                ),
                admits: vec![format!(
                    "every request Deny statement {} matched",
                    deny.index
                )],
                breadth: Breadth::Wide,
            })
        }
        Cause::SubKindMismatch
        | Cause::SubPatternMismatch
        | Cause::SubCaseMismatch
        | Cause::SubImmutableIdMismatch
        | Cause::SubCustomTemplateMismatch
        | Cause::WildcardNeedsStringlike
        | Cause::AudMismatch
        | Cause::ConditionNotMet => {
            let e = evidence.first()?;
            let index: usize = e.statement.as_deref()?.parse().ok()?;
            let key = e.key.as_deref()?;
            let operator = e.operator.as_deref()?;
            let lower = key.to_ascii_lowercase();
            let actual = if lower.ends_with(":sub") {
                token.subject.to_owned()
            } else if lower.ends_with(":aud") {
                token.audience?.to_owned()
            } else {
                e.actual.clone()?
            };
            let op = iam_policy::ConditionOperator::parse(operator);
            if op.base.is_negated() {
                let policy = remove_condition_values(policy, index, key, operator, |v| {
                    iam_policy::operator_matches(&op.base, v, &actual)
                })?;
                return Some(Step {
                    policy,
                    summary: format!("drop the values of {operator} {key} in statement {index} that exclude \"{actual}\""),
                    admits: vec![format!("every {key} those values excluded")],
                    breadth: Breadth::Pattern,
                });
            }
            Some(Step {
                policy: add_condition_value(policy, index, key, operator, &actual)?,
                summary: format!("add \"{actual}\" to {operator} {key} in statement {index}"),
                admits: vec![format!("{key} \"{actual}\"")],
                breadth: Breadth::Exact,
            })
        }
        _ => None,
    }
}

/// Trusts the token's provider: the statement that trusts the same issuer in another account,
/// or another issuer of the same account (a moved issuer: its condition keys move too), is
/// rewritten; else a statement for exactly this subject and audience is added.
fn trust_provider(s: &Situation<'_>, policy: &Policy) -> Option<Step> {
    let new_arn = s.provider_arn();
    let new_issuer = provider_issuer(&new_arn).to_owned();
    let account = crate::event::arn_account(&new_arn)
        .unwrap_or_default()
        .to_owned();
    let mut best: Option<(usize, String)> = None;
    for st in policy
        .statements
        .iter()
        .filter(|st| st.effect == Effect::Allow)
    {
        let Some(iam_policy::PrincipalSpec::Principal(set)) = &st.principal else {
            continue;
        };
        for (kind, v) in &set.entries {
            if *kind != PrincipalKind::Federated || !v.contains(":oidc-provider/") {
                continue;
            }
            let same_issuer = provider_issuer(v) == new_issuer;
            let same_account = crate::event::arn_account(v) == Some(account.as_str());
            if (same_issuer || same_account) && best.is_none() {
                best = Some((st.index, v.clone()));
            }
        }
    }
    if let Some((index, old_arn)) = best {
        let old_issuer = provider_issuer(&old_arn).to_owned();
        let mut doc = policy.to_value();
        let st = doc.get_mut("Statement")?.get_mut(index)?;
        rewrite_federated(st.get_mut("Principal")?, &old_arn, &new_arn);
        let mut renamed = Vec::new();
        if old_issuer != new_issuer {
            if let Some(block) = st.get_mut("Condition").and_then(|c| c.as_object_mut()) {
                for keys in block.values_mut().filter_map(|k| k.as_object_mut()) {
                    let old_keys: Vec<String> = keys
                        .keys()
                        .filter(|k| {
                            k.to_ascii_lowercase()
                                .starts_with(&format!("{}:", old_issuer.to_ascii_lowercase()))
                        })
                        .cloned()
                        .collect();
                    for k in old_keys {
                        if let Some(v) = keys.remove(&k) {
                            let new_key = format!("{new_issuer}{}", &k[old_issuer.len()..]);
                            renamed.push(format!("{k} → {new_key}"));
                            keys.insert(new_key, v);
                        }
                    }
                }
            }
        }
        let summary = if renamed.is_empty() {
            format!("trust {new_arn} instead of {old_arn} in statement {index}")
        } else {
            format!(
                "trust {new_arn} instead of {old_arn} in statement {index}, and rename its condition keys to the new issuer ({})",
                renamed.join(", ")
            )
        };
        return Some(Step {
            policy: Policy::from_value(&doc).ok()?,
            summary,
            admits: vec![format!(
                "the subjects statement {index} admits, from provider {new_arn}"
            )],
            breadth: Breadth::Wide,
        });
    }
    let issuer = provider_issuer(&new_arn);
    let mut conditions = serde_json::Map::new();
    conditions.insert(format!("{issuer}:sub"), json!(s.token.subject));
    if let Some(aud) = s.token.audience {
        conditions.insert(format!("{issuer}:aud"), json!(aud));
    }
    let statement = json!({
        "Effect": "Allow",
        "Principal": {"Federated": new_arn},
        "Action": WEB_IDENTITY_ACTION,
        "Condition": {"StringEquals": conditions},
    });
    Some(Step {
        policy: add_statement(policy, statement)?,
        summary: format!("add a statement trusting {new_arn} for exactly this subject"),
        admits: vec![format!("subject \"{}\" from {new_arn}", s.token.subject)],
        breadth: Breadth::Exact,
    })
}

/// Replaces `old` by `new` among the `Federated` principals of a `Principal` element.
fn rewrite_federated(principal: &mut serde_json::Value, old: &str, new: &str) {
    let Some(f) = principal.get_mut("Federated") else {
        return;
    };
    match f {
        serde_json::Value::String(v) if v == old => *v = new.to_owned(),
        serde_json::Value::Array(items) => {
            for v in items.iter_mut() {
                if v.as_str() == Some(old) {
                    *v = json!(new);
                }
            }
        }
        _ => {}
    }
}

/// The workflow sends a subject or audience the trust policy already accepts: for each literal
/// value of the failing condition that the same repository can send.
fn workflow_fixes(s: &Situation<'_>, trust: &Policy, cause: Cause) -> Vec<Fix> {
    let d = diagnose(trust, &s.token, Some(s.role_arn));
    let Some(e) = d.evidence.first() else {
        return Vec::new();
    };
    let key = e.key.as_deref().unwrap_or_default().to_ascii_lowercase();
    let mut out = Vec::new();
    let literals = e
        .expected
        .iter()
        .filter(|v| !v.contains('*') && !v.contains('?') && !v.contains("${"));
    match cause {
        Cause::SubKindMismatch | Cause::SubPatternMismatch if key.ends_with(":sub") => {
            let ours = subject::parse(s.token.subject);
            for value in literals {
                let theirs = subject::parse(value);
                if theirs.repository.is_none() || theirs.repository != ours.repository {
                    continue;
                }
                let Some((target, yaml, what)) = workflow_for_subject(value, theirs.kind) else {
                    continue;
                };
                let token = Token {
                    subject: value,
                    ..s.token.clone()
                };
                if s.blocker(trust, &token, s.role_arn, &s.provider).is_some() {
                    continue;
                }
                out.push(Fix {
                    change: Change {
                        kind: FixKind::Workflow,
                        target,
                        summary: format!("{what}: the job then sends the subject \"{value}\", which the trust policy already accepts."),
                        document: None,
                        file: None,
                        apply: None,
                        workflow: Some(yaml),
                    },
                    also: Vec::new(),
                    scope: "admits nothing new: the trust policy stays as narrow as it is".to_owned(),
                    admits: Vec::new(),
                    verified: Verified::Allows,
                    unverified_because: None,
                    breadth: Breadth::Nothing,
                });
            }
        }
        Cause::AudMismatch if key.ends_with(":aud") => {
            for value in literals {
                let token = Token {
                    audience: Some(value),
                    ..s.token.clone()
                };
                if s.blocker(trust, &token, s.role_arn, &s.provider).is_some() {
                    continue;
                }
                out.push(Fix::nothing_new(
                    action_step(
                        FixKind::Workflow,
                        "aws-actions/configure-aws-credentials: audience",
                        format!("Request the audience \"{value}\" in the workflow, which the trust policy and the provider already accept."),
                        s.role_arn,
                        &[("audience", (*value).clone())],
                    ),
                    "admits nothing new",
                    s.unseen(&s.provider),
                ));
            }
        }
        _ => {}
    }
    out
}

/// The workflow setting that makes a job send `value`: (target, YAML, sentence).
fn workflow_for_subject(value: &str, kind: SubjectKind) -> Option<(String, String, String)> {
    let (_, context) = value.strip_prefix("repo:")?.split_once(':')?;
    match kind {
        SubjectKind::Environment => {
            let name = context.strip_prefix("environment:")?;
            Some((
                "jobs.<job>.environment".to_owned(),
                format!("jobs:\n  <job>:\n    environment: {}\n", yaml_scalar(name)),
                format!("Run the job in the environment {name} (`environment: {name}`)"),
            ))
        }
        SubjectKind::Branch => {
            let branch = context.strip_prefix("ref:refs/heads/")?;
            Some((
                "on.push.branches".to_owned(),
                format!(
                    "on:\n  push:\n    branches: [{}]\n# and no `environment:` on the job\n",
                    yaml_scalar(branch)
                ),
                format!("Run the job from branch {branch}, without an `environment:`"),
            ))
        }
        SubjectKind::Tag => {
            let tag = context.strip_prefix("ref:refs/tags/")?;
            Some((
                "on.push.tags".to_owned(),
                format!(
                    "on:\n  push:\n    tags: [{}]\n# and no `environment:` on the job\n",
                    yaml_scalar(tag)
                ),
                format!("Run the job from tag {tag}, without an `environment:`"),
            ))
        }
        SubjectKind::PullRequest => Some((
            "on.pull_request".to_owned(),
            "on:\n  pull_request:\n# and no `environment:` on the job\n".to_owned(),
            "Run the job on pull_request, without an `environment:`".to_owned(),
        )),
        _ => None,
    }
}

/// Other roles of the account whose trust policy already accepts this token.
fn other_roles(s: &Situation<'_>) -> Vec<Fix> {
    let mut out = Vec::new();
    for (arn, trust) in &s.other_roles {
        if arn == s.role_arn || out.len() >= MAX_OTHER_ROLES {
            continue;
        }
        if diagnose(trust, &s.token, Some(arn)).decision != TrustDecision::Allow {
            continue;
        }
        out.push(Fix::nothing_new(
            action_step(
                FixKind::RoleToAssume,
                arn,
                format!(
                    "Set role-to-assume to {arn}, whose trust policy already accepts this token{}.",
                    if s.trust.is_some() {
                        format!(
                            " (another role than {}: check its permissions are what the job needs)",
                            s.role_arn
                        )
                    } else {
                        String::new()
                    }
                ),
                arn,
                &[],
            ),
            "admits nothing new in IAM; the job gets that role's permissions instead",
            s.unseen(&s.provider),
        ));
    }
    out
}

/// The job asks for more than the role's maximum session: ask for less, or raise the maximum.
fn duration_fixes(s: &Situation<'_>, trust: &Policy) -> Vec<Fix> {
    let Some(asked) = s.duration else {
        return Vec::new();
    };
    if s.max_session.is_some_and(|max| asked <= max) {
        return Vec::new();
    }
    // with the duration out of the way, does the trust policy pass?
    let shorter = Situation {
        duration: None,
        ..s.clone_shallow()
    };
    if shorter
        .blocker(trust, &s.token, s.role_arn, &s.provider)
        .is_some()
    {
        return Vec::new(); // the trust policy rejects the token too: its fixes come first
    }
    let mut out = Vec::new();
    let (seconds, because) = match s.max_session {
        Some(max) => (max, None),
        None => (
            3600,
            Some("the role's maximum session duration is not in the inventory; 3600 s is IAM's default and the least a role allows".to_owned()),
        ),
    };
    out.push(Fix::nothing_new(
        action_step(
            FixKind::Workflow,
            "aws-actions/configure-aws-credentials: role-duration-seconds",
            format!("Ask for at most {seconds} s: `role-duration-seconds: {seconds}`."),
            s.role_arn,
            &[("role-duration-seconds", seconds.to_string())],
        ),
        "admits nothing new",
        because,
    ));
    if asked <= 43_200 {
        if let Some(name) = crate::event::role_name_from_arn(s.role_arn) {
            out.push(Fix {
                change: Change {
                    kind: FixKind::Role,
                    target: s.role_arn.to_owned(),
                    summary: format!(
                        "Raise the maximum session duration of {} to {asked} s.",
                        s.role_arn
                    ),
                    document: None,
                    file: None,
                    apply: Some(format!(
                        "aws iam update-role --role-name {} --max-session-duration {asked}",
                        shell_word(name)
                    )),
                    workflow: None,
                },
                also: Vec::new(),
                scope: format!("sessions of role {} may last up to {asked} s", s.role_arn),
                admits: vec![format!("sessions up to {asked} s")],
                verified: Verified::Allows,
                unverified_because: None,
                breadth: Breadth::Exact,
            });
        }
    }
    out
}

/// The provider is missing, or does not register the audience: create it (or add the client
/// ID), with every trust-policy change the request then still needs.
fn provider_fixes(s: &Situation<'_>, trust: &Policy) -> Vec<Fix> {
    let arn = s.provider_arn();
    let aud = s.token.audience.unwrap_or("sts.amazonaws.com");
    let change = match &s.provider {
        Provider::Absent => create_provider(&arn, aud),
        Provider::Exists(Some(ids)) if !ids.iter().any(|i| i == aud) => Change {
            kind: FixKind::Provider,
            target: arn.clone(),
            summary: format!("Register the audience {aud} as a client ID of {arn}."),
            document: None,
            file: None,
            apply: Some(format!(
                "aws iam add-client-id-to-open-id-connect-provider --open-id-connect-provider-arn {} --client-id {}",
                shell_word(&arn),
                shell_word(aud)
            )),
            workflow: None,
        },
        _ => return Vec::new(),
    };
    let provider = Provider::Exists(Some(vec![aud.to_owned()]));
    let mut out = Vec::new();
    if let Some(mut f) = complete(s, trust, &provider, vec![change], None) {
        f.breadth = f.breadth.max(Breadth::Exact);
        f.admits
            .insert(0, format!("tokens of audience {aud} from {arn}"));
        f.scope = scope_text(&f.admits);
        out.push(f);
    }
    out
}

/// Creating the provider `arn` with the client ID `aud`.
fn create_provider(arn: &str, aud: &str) -> Change {
    let url = format!("https://{}", provider_issuer(arn));
    Change {
        kind: FixKind::Provider,
        target: arn.to_owned(),
        summary: format!("Create the IAM OIDC provider {url} with client ID {aud}."),
        document: None,
        file: None,
        apply: Some(format!(
            "aws iam create-open-id-connect-provider --url {} --client-id-list {}",
            shell_word(&url),
            shell_word(aud)
        )),
        workflow: None,
    }
}

/// The provider is missing and the role's trust policy is unknown: the provider alone, not
/// verified.
fn create_provider_unchecked(s: &Situation<'_>) -> Fix {
    let arn = s.provider_arn();
    let aud = s.token.audience.unwrap_or("sts.amazonaws.com");
    Fix {
        change: create_provider(&arn, aud),
        also: Vec::new(),
        scope: format!("newly admits tokens of audience {aud} from {arn}"),
        admits: vec![format!("tokens of audience {aud} from {arn}")],
        verified: Verified::Unverified,
        unverified_because: Some(format!(
            "the trust policy of {} is not in the inventory, so whether it trusts {arn} is not checked",
            s.role_arn
        )),
        breadth: Breadth::Exact,
    }
}

/// The wider pattern a person may have meant: `StringLike` for a wildcard written under
/// `StringEquals`, the pattern with the repository's case.
fn pattern_fix(
    s: &Situation<'_>,
    trust: &Policy,
    d: &crate::explain::trust::TrustDiagnosis,
) -> Option<Fix> {
    let e = d.evidence.first()?;
    let index: usize = e.statement.as_deref()?.parse().ok()?;
    let key = e.key.as_deref()?;
    let operator = e.operator.as_deref()?;
    let step = match d.cause {
        Cause::WildcardNeedsStringlike => {
            let to = operator.replace("StringEquals", "StringLike");
            Step {
                policy: change_operator(trust, index, key, operator, &to)?,
                summary: format!("compare {key} with {to} instead of {operator} in statement {index}, so its `*` is a wildcard"),
                admits: e.expected.iter().map(|p| format!("every subject matching \"{p}\"")).collect(),
                breadth: Breadth::Pattern,
            }
        }
        Cause::SubCaseMismatch => {
            let pattern = e
                .expected
                .iter()
                .find_map(|p| subject::recase_repository(p, s.token.subject))?;
            if pattern == s.token.subject {
                return None;
            }
            Step {
                policy: add_condition_pattern(trust, index, key, operator, &pattern)?,
                summary: format!("add \"{pattern}\" (the pattern with the repository's case) to {operator} {key} in statement {index}"),
                admits: vec![format!("every subject matching \"{pattern}\"")],
                breadth: Breadth::Pattern,
            }
        }
        _ => return None,
    };
    complete(s, trust, &s.provider, Vec::new(), Some(step))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy(v: serde_json::Value) -> Policy {
        Policy::from_value(&v).unwrap()
    }

    const GH: &str = "arn:aws:iam::111122223333:oidc-provider/token.actions.githubusercontent.com";
    const ROLE: &str = "arn:aws:iam::111122223333:role/deploy";

    fn token(sub: &str) -> Token<'_> {
        Token {
            provider: GH,
            audience: Some("sts.amazonaws.com"),
            subject: sub,
            session_name: None,
            request: None,
        }
    }

    fn situation<'a>(trust: &'a Policy, sub: &'a str) -> Situation<'a> {
        Situation {
            token: token(sub),
            role_arn: ROLE,
            trust: Some(trust),
            provider: Provider::Exists(Some(vec!["sts.amazonaws.com".into()])),
            max_session: None,
            duration: None,
            other_roles: Vec::new(),
        }
    }

    fn env_only() -> Policy {
        policy(
            json!({"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Federated":GH},
            "Action":"sts:AssumeRoleWithWebIdentity","Condition":{"StringEquals":{
            "token.actions.githubusercontent.com:sub":"repo:acme/web:environment:prod",
            "token.actions.githubusercontent.com:aud":"sts.amazonaws.com"}}}]}),
        )
    }

    #[test]
    fn wrong_kind_offers_the_workflow_first_then_the_exact_subject() {
        let trust = env_only();
        let s = situation(&trust, "repo:acme/web:ref:refs/tags/v1");
        let f = fixes(&s);
        assert_eq!(f.len(), 2, "{f:#?}");
        assert_eq!(f[0].change.kind, FixKind::Workflow);
        assert_eq!(f[0].change.target, "jobs.<job>.environment");
        assert_eq!(f[0].verified, Verified::Allows);
        assert!(f[0].admits.is_empty());
        assert_eq!(f[1].change.kind, FixKind::TrustPolicy);
        assert_eq!(f[1].verified, Verified::Allows);
        let doc = Policy::from_value(f[1].change.document.as_ref().unwrap()).unwrap();
        assert_eq!(
            diagnose(&doc, &s.token, Some(ROLE)).decision,
            TrustDecision::Allow
        );
        assert_eq!(
            f[1].admits,
            ["token.actions.githubusercontent.com:sub \"repo:acme/web:ref:refs/tags/v1\""]
        );
    }

    #[test]
    fn a_moved_issuer_is_fixed_by_the_provider_the_principal_and_the_keys_together() {
        let trust = env_only();
        let new =
            "arn:aws:iam::111122223333:oidc-provider/token.actions.githubusercontent.com/acme";
        let mut s = situation(&trust, "repo:acme/web:environment:prod");
        s.token.provider = new;
        s.provider = Provider::Absent;
        let f = fixes(&s);
        assert_eq!(f.len(), 1, "{f:#?}");
        let fix = &f[0];
        assert_eq!(fix.change.kind, FixKind::Provider);
        assert_eq!(fix.also.len(), 1);
        assert_eq!(fix.also[0].kind, FixKind::TrustPolicy);
        let doc = fix.also[0].document.as_ref().unwrap();
        assert_eq!(doc["Statement"][0]["Principal"]["Federated"], new);
        let keys = &doc["Statement"][0]["Condition"]["StringEquals"];
        assert!(
            keys.get("token.actions.githubusercontent.com/acme:sub")
                .is_some(),
            "{doc}"
        );
        assert!(keys
            .get("token.actions.githubusercontent.com:sub")
            .is_none());
        assert_eq!(fix.verified, Verified::Allows);
    }

    #[test]
    fn a_fix_that_cannot_pass_is_not_offered() {
        // a condition on a claim CloudTrail never records: no policy edit can be verified
        let trust = policy(
            json!({"Statement":[{"Effect":"Allow","Principal":{"Federated":GH},
            "Action":"sts:AssumeRoleWithWebIdentity","Condition":{"StringEquals":{
            "token.actions.githubusercontent.com:job_workflow_ref":"acme/ci/.github/workflows/d.yml@refs/heads/main"}}}]}),
        );
        let s = situation(&trust, "repo:acme/web:ref:refs/heads/main");
        assert!(fixes(&s).is_empty());
    }

    #[test]
    fn an_unrecorded_claim_left_after_the_fix_is_said_not_verified() {
        let trust = policy(
            json!({"Statement":[{"Effect":"Allow","Principal":{"Federated":GH},
            "Action":"sts:AssumeRoleWithWebIdentity","Condition":{"StringEquals":{
            "token.actions.githubusercontent.com:sub":"repo:acme/web:ref:refs/heads/main",
            "token.actions.githubusercontent.com:job_workflow_ref":"acme/ci/.github/workflows/d.yml@refs/heads/main"}}}]}),
        );
        let s = situation(&trust, "repo:acme/web:ref:refs/tags/v1");
        let f = fixes(&s);
        let edit = f
            .iter()
            .find(|x| x.change.kind == FixKind::TrustPolicy)
            .unwrap();
        assert_eq!(edit.verified, Verified::Unverified);
        assert!(edit
            .unverified_because
            .as_deref()
            .unwrap()
            .contains("job_workflow_ref"));
    }
}
