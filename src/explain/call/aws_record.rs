//! A denied call judged with AWS's own record of the decision (`--aws-details`): the
//! policies AWS captured with the request are the policies in force (ahead of the inventory
//! and the change history), AWS's request context is the context, AWS's matched statements
//! are the deciding statements — and the tool evaluates the same request against the same
//! policies with its own engine, as the check of that engine. Where the two disagree the
//! finding follows AWS and says so (`details.verdict_disagreement`): a disagreement is the
//! tool's bug to show, never to hide.

use iam_policy::{authorize, Authorization, AuthzInput, Decision, Layer, Policy, Request};
use serde_json::{json, Value};

use super::{cause_of, simple, Ask, Judge};
use crate::authz::{AwsRecord, Effect, Evaluation, PolicyInfo, PolicyKind};
use crate::event::denial::{Denial, DenialKind, PolicyLayer};
use crate::event::role_name_from_arn;
use crate::explain::context::CallContext;
use crate::explain::{Cause, Evidence, Verdict};
use crate::inventory::{IdentityAt, NamedPolicy, PolicySource, RepositoryPolicyAt};
use crate::select::CallFailure;

/// AWS's captured policies, sorted into the layers of the tool's engine, with the URI of
/// each so that AWS's matched policies and the engine's can be compared.
#[derive(Default)]
struct Layers {
    identity: Vec<NamedPolicy>,
    boundary: Option<NamedPolicy>,
    session: Option<(String, Policy)>,
    resource: Option<(String, Policy)>,
    /// Every policy that must allow at its own level: SCPs by the entity they are attached
    /// to, then RCPs the same way, then the VPC endpoint policy.
    gates: Vec<Vec<Policy>>,
    gate_uris: Vec<String>,
    /// `URI: why` for each policy whose document the tool does not have or cannot read.
    missing: Vec<String>,
}

impl Layers {
    fn of(record: &AwsRecord, source: &PolicySource) -> Layers {
        let mut out = Layers::default();
        let (mut scps, mut rcps, mut vpce) = (Vec::new(), Vec::new(), Vec::new());
        for p in &record.policies {
            let doc = match (&p.document, &p.document_missing) {
                (Some(d), _) => match Policy::from_value(d) {
                    Ok(policy) => policy,
                    Err(e) => {
                        out.missing
                            .push(format!("{}: not a policy the tool can read ({e})", p.uri));
                        continue;
                    }
                },
                (None, why) => {
                    out.missing.push(format!(
                        "{}: {}",
                        p.uri,
                        why.as_deref().unwrap_or("document not recorded")
                    ));
                    continue;
                }
            };
            let named = |policy: Policy| NamedPolicy {
                label: if p.inline {
                    format!("inline:{}", p.uri)
                } else {
                    p.uri.clone()
                },
                policy,
                source: source.clone(),
            };
            match &p.kind {
                PolicyKind::IdentityBasedPolicy => out.identity.push(named(doc)),
                PolicyKind::PermissionsBoundary => out.boundary = Some(named(doc)),
                PolicyKind::SessionPolicy => out.session = Some((p.uri.clone(), doc)),
                PolicyKind::ResourceBasedPolicy => out.resource = Some((p.uri.clone(), doc)),
                PolicyKind::ServiceControlPolicy => scps.push((p, doc)),
                PolicyKind::ResourceControlPolicy => rcps.push((p, doc)),
                PolicyKind::VpcEndpointPolicy => vpce.push((p, doc)),
                PolicyKind::Other(kind) => out.missing.push(format!(
                    "{}: a policy type the tool does not model ({kind})",
                    p.uri
                )),
            }
        }
        // every level must allow: the SCPs at each entity they are attached to, then the
        // RCPs the same way, then the VPC endpoint policy
        for (policies, uris) in org_levels(&scps)
            .into_iter()
            .chain(org_levels(&rcps))
            .chain(
                vpce.into_iter()
                    .map(|(p, doc)| (vec![doc], vec![p.uri.clone()])),
            )
        {
            out.gates.push(policies);
            out.gate_uris.extend(uris);
        }
        out
    }

    /// The URI of a policy the engine matched.
    fn uri_of(&self, layer: Layer, index: usize) -> Option<String> {
        match layer {
            Layer::Identity => self.identity.get(index).map(|p| uri_of_label(&p.label)),
            Layer::PermissionsBoundary => self.boundary.as_ref().map(|p| uri_of_label(&p.label)),
            Layer::Session => self.session.as_ref().map(|(u, _)| u.clone()),
            Layer::Resource => self.resource.as_ref().map(|(u, _)| u.clone()),
            Layer::Organization => self.gate_uris.get(index).cloned(),
        }
    }

    fn authorize(&self, request: &Request) -> Authorization {
        let identity: Vec<Policy> = self.identity.iter().map(|p| p.policy.clone()).collect();
        authorize(&AuthzInput {
            request,
            identity_policies: &identity,
            resource_policy: self.resource.as_ref().map(|(_, p)| p),
            permissions_boundary: self.boundary.as_ref().map(|b| &b.policy),
            session_policy: self.session.as_ref().map(|(_, p)| p),
            scps: &self.gates,
        })
    }
}

/// Organization policies as levels, one per entity they are attached to (in the order AWS
/// lists them), each with the policies attached there and their URIs; a policy AWS lists
/// without an entity is a level of its own.
fn org_levels(list: &[(&PolicyInfo, Policy)]) -> Vec<(Vec<Policy>, Vec<String>)> {
    let mut entities: Vec<Option<&str>> = Vec::new();
    for (p, _) in list {
        let of = if p.attached_to.is_empty() {
            vec![None]
        } else {
            p.attached_to.iter().map(|a| Some(a.as_str())).collect()
        };
        for e in of {
            if !entities.contains(&e) {
                entities.push(e);
            }
        }
    }
    entities
        .into_iter()
        .map(|e| {
            list.iter()
                .filter(|(p, _)| match e {
                    Some(e) => p.attached_to.iter().any(|a| a == e),
                    None => p.attached_to.is_empty(),
                })
                .map(|(p, doc)| (doc.clone(), p.uri.clone()))
                .unzip()
        })
        .collect()
}

fn uri_of_label(label: &str) -> String {
    label.strip_prefix("inline:").unwrap_or(label).to_owned()
}

fn effect_of(d: Decision) -> Effect {
    match d {
        Decision::Allow => Effect::Allow,
        Decision::ExplicitDeny => Effect::ExplicitDeny,
        Decision::ImplicitDeny => Effect::ImplicitDeny,
    }
}

/// The denial-message layer of a policy type.
fn layer_of(kind: &PolicyKind) -> Option<PolicyLayer> {
    Some(match kind {
        PolicyKind::IdentityBasedPolicy => PolicyLayer::IdentityBased,
        PolicyKind::PermissionsBoundary => PolicyLayer::PermissionsBoundary,
        PolicyKind::ResourceBasedPolicy => PolicyLayer::ResourceBased,
        PolicyKind::ResourceControlPolicy => PolicyLayer::ResourceControl,
        PolicyKind::ServiceControlPolicy => PolicyLayer::ServiceControl,
        PolicyKind::SessionPolicy => PolicyLayer::Session,
        PolicyKind::VpcEndpointPolicy => PolicyLayer::VpcEndpoint,
        PolicyKind::Other(_) => return None,
    })
}

/// The message layer of an engine layer that lacked an Allow: the organization gates are
/// SCPs and RCPs, or the VPC endpoint policy when the record has no organization policy.
fn lacking(layer: Layer, record: &AwsRecord) -> PolicyLayer {
    match layer {
        Layer::Identity => PolicyLayer::IdentityBased,
        Layer::Resource => PolicyLayer::ResourceBased,
        Layer::PermissionsBoundary => PolicyLayer::PermissionsBoundary,
        Layer::Session => PolicyLayer::Session,
        Layer::Organization => {
            let org = record.policies.iter().any(|p| {
                matches!(
                    p.kind,
                    PolicyKind::ServiceControlPolicy | PolicyKind::ResourceControlPolicy
                )
            });
            if org {
                PolicyLayer::ServiceControl
            } else {
                PolicyLayer::VpcEndpoint
            }
        }
    }
}

fn engine_layer(layer: Layer) -> &'static str {
    match layer {
        Layer::Identity => "identity-based policy",
        Layer::Resource => "resource-based policy",
        Layer::PermissionsBoundary => "permissions boundary",
        Layer::Session => "session policy",
        Layer::Organization => "organization or VPC endpoint policy",
    }
}

/// What AWS's record says decided, in words, with the deciding statements as evidence.
struct AwsSays {
    effect: Option<Effect>,
    cause: Cause,
    sentence: String,
    evidence: Vec<Evidence>,
    /// URIs of the policies AWS matched with a Deny (explicit denies).
    deny_uris: Vec<String>,
}

fn aws_says(record: &AwsRecord, evaluation: Option<&Evaluation>, denial: &Denial) -> AwsSays {
    let effect = evaluation.and_then(|e| e.effect.clone());
    let (action, resource) = evaluation.map_or(("?", "?"), |e| {
        (
            e.action.as_str(),
            if e.resource.is_empty() {
                "*"
            } else {
                e.resource.as_str()
            },
        )
    });
    let mut evidence = Vec::new();
    let mut named = Vec::new();
    let mut deny_uris = Vec::new();
    let mut first_layer = None;
    for m in evaluation.map(|e| e.matched.as_slice()).unwrap_or_default() {
        let kind = record.policy(&m.uri).map(|p| p.kind.clone());
        if first_layer.is_none() {
            first_layer = kind.as_ref().and_then(layer_of);
        }
        if m.statements
            .iter()
            .any(|s| s.effect.as_deref() == Some("DENY"))
            || m.statements.is_empty()
        {
            deny_uris.push(m.uri.clone());
        }
        let phrase = kind.as_ref().map_or("policy", PolicyKind::phrase);
        let sids: Vec<String> = m
            .statements
            .iter()
            .map(|s| format!("'{}'", s.sid.as_deref().unwrap_or("?")))
            .collect();
        named.push(if sids.is_empty() {
            format!("{phrase} {}", m.uri)
        } else {
            format!("statement {} of {phrase} {}", sids.join(", "), m.uri)
        });
        for s in &m.statements {
            evidence.push(Evidence {
                policy: m.uri.clone(),
                statement: None,
                sid: s.sid.clone(),
                key: None,
                operator: Some("matched_by_aws".to_owned()),
                expected: s.effect.iter().cloned().collect(),
                actual: Some(phrase.to_owned()),
                value_source: Some("aws".to_owned()),
            });
        }
    }
    let (cause, sentence) = match &effect {
        Some(Effect::ExplicitDeny) => (
            first_layer
                .or(denial.layer)
                .map_or(Cause::IdentityExplicitDeny, |l| {
                    cause_of(DenialKind::ExplicitDeny, l)
                }),
            format!(
                "an explicit deny of {action} on {resource}{}",
                if named.is_empty() {
                    String::new()
                } else {
                    format!(" by {}", named.join("; "))
                }
            ),
        ),
        Some(Effect::ImplicitDeny) => (
            denial.layer.map_or(Cause::IdentityPolicyNoAllow, |l| {
                cause_of(DenialKind::NoAllow, l)
            }),
            format!(
                "an implicit deny of {action} on {resource}: no evaluated policy allows it{}",
                denial.layer.map_or(String::new(), |l| format!(
                    " (the message names the {} layer)",
                    l.phrase()
                ))
            ),
        ),
        Some(Effect::Allow) => (
            Cause::NoPolicyData,
            format!("{action} on {resource} was allowed, though the call was denied"),
        ),
        Some(Effect::Other(s)) => (
            Cause::NoPolicyData,
            format!("{s} for {action} on {resource}"),
        ),
        None => (
            Cause::NoPolicyData,
            "no evaluation of this action".to_owned(),
        ),
    };
    AwsSays {
        effect,
        cause,
        sentence,
        evidence,
        deny_uris,
    }
}

/// The fix for a verdict taken from AWS's record alone.
fn fix_for(cause: Cause, says: &AwsSays, role: &str, action: &str, resource: &str) -> String {
    match cause {
        Cause::IdentityExplicitDeny | Cause::ResourcePolicyDeny | Cause::PermissionsBoundary
            if says.effect == Some(Effect::ExplicitDeny) =>
        {
            format!(
                "Narrow the Deny AWS matched ({}) so it does not match {action} on {resource} for role {role}.",
                says.deny_uris.join(", ")
            )
        }
        Cause::IdentityPolicyNoAllow => format!(
            "Allow {action} on {resource} in an identity-based policy of role {role} (aws iam put-role-policy)."
        ),
        Cause::ResourcePolicyNoAllow => format!(
            "Allow role {role} {action} in the resource policy of {resource}."
        ),
        Cause::PermissionsBoundary => format!(
            "Allow {action} on {resource} in role {role}'s permissions boundary."
        ),
        Cause::SessionPolicy => "Widen or drop the session policy passed at assumption (configure-aws-credentials `inline-session-policy` / `managed-session-policies`).".to_owned(),
        Cause::OrgPolicy => format!(
            "Ask the organization's administrators to exempt role {role} or {action} from the policy AWS matched."
        ),
        Cause::VpcEndpointPolicy => format!(
            "Allow {action} for role {role} in the policy of the VPC endpoint the call went through."
        ),
        _ => "Read AWS's record (details.aws_evaluation) and the raw record.".to_owned(),
    }
}

/// The verdict on `f` with a decoded authorization message: it carries the decision, the
/// matched statements' ids and the request context, but no policies — so the policies in
/// force stay the inventory's (`judge` is the usual path, given the message's kind of denial
/// and AWS's context), and AWS's word is added beside them, unchecked.
pub(super) fn decoded(
    denial: &Denial,
    ask: &Ask,
    record: &AwsRecord,
    judge: impl FnOnce(&Denial, &std::collections::BTreeMap<String, Value>) -> Verdict,
) -> Verdict {
    let resource = ask.resource.as_deref().unwrap_or("*");
    let evaluation = record.evaluation_for(&ask.action, resource);
    let mut told = denial.clone();
    told.kind = told
        .kind
        .or(match evaluation.and_then(|e| e.effect.as_ref()) {
            Some(Effect::ExplicitDeny) => Some(DenialKind::ExplicitDeny),
            Some(Effect::ImplicitDeny) => Some(DenialKind::NoAllow),
            _ => None,
        });
    let mut v = judge(&told, &record.context_of(evaluation));
    let says = aws_says(record, evaluation, &told);
    v.explanation = format!(
        "AWS's decoded authorization message (sts:DecodeAuthorizationMessage, {}) says {}. {}",
        record.source.describe(),
        says.sentence,
        v.explanation
    );
    v.add_evidence(says.evidence);
    v.details.insert(
        "aws_evaluation".into(),
        evaluation_details(
            record,
            evaluation,
            "not possible: a decoded authorization message carries no policy documents",
        ),
    );
    v
}

/// The verdict on `f` from AWS's record of its decision.
pub(super) fn verdict(
    f: &CallFailure,
    denial: &Denial,
    ask: &Ask,
    mut context: CallContext,
    record: &AwsRecord,
) -> Verdict {
    let action = ask.action.as_str();
    let resource = ask.resource.as_deref().unwrap_or("*");
    let role = ask
        .role_arn
        .as_deref()
        .and_then(role_name_from_arn)
        .unwrap_or("the role");
    let evaluation = record.evaluation_for(action, resource);
    context.adopt_aws(&record.context_of(evaluation));
    let source = PolicySource::Aws {
        authorization_id: record.authorization_id.clone(),
        time: f.time,
    };
    let layers = Layers::of(record, &source);
    let request = Request {
        principal: ask
            .session_arn
            .as_ref()
            .map(|s| iam_policy::RequestPrincipal::aws(s.clone())),
        action: action.to_owned(),
        resource: Some(resource.to_owned()),
        context: context.context.clone(),
    };
    let says = aws_says(record, evaluation, denial);
    let whose = format!(
        "AWS's record of the decision (authorization ID {}, {})",
        record.authorization_id,
        record.source.describe()
    );

    // The tool's own evaluation of the same request against the same policies.
    let ours = layers
        .missing
        .is_empty()
        .then(|| layers.authorize(&request));
    let disagreement = match (&ours, &says.effect) {
        (Some(a), Some(aws @ (Effect::Allow | Effect::ExplicitDeny | Effect::ImplicitDeny))) => {
            let same_effect = effect_of(a.decision) == *aws;
            let our_uris: Vec<String> = a
                .matched
                .iter()
                .filter(|m| m.effect == iam_policy::Effect::Deny)
                .filter_map(|m| layers.uri_of(m.layer, m.policy_index))
                .collect();
            let same_policy = *aws != Effect::ExplicitDeny
                || says.deny_uris.is_empty()
                || our_uris.iter().any(|u| says.deny_uris.contains(u));
            (!(same_effect && same_policy)).then(|| {
                json!({
                    "aws": {"effect": aws, "matched": says.deny_uris},
                    "tool": {
                        "effect": effect_of(a.decision),
                        "denied_by": a.denied_by.map(engine_layer),
                        "matched": our_uris,
                    },
                })
            })
        }
        _ => None,
    };
    let cross_check = match (&ours, &says.effect, &disagreement) {
        (None, _, _) => format!(
            "not possible: the tool lacks the document of {}",
            layers.missing.join("; ")
        ),
        (Some(_), Some(Effect::Other(_)) | None, _) => {
            "not possible: AWS's record has no decision the tool knows for this action".to_owned()
        }
        (Some(_), _, Some(_)) => "disagrees".to_owned(),
        (Some(_), _, None) => "agrees".to_owned(),
    };

    let mut v = match (&ours, &disagreement) {
        // Agreement: the tool's reading of AWS's policies, with its statement-level fix.
        (Some(auth), None) => {
            let identity = IdentityAt {
                policies: layers.identity.clone(),
                boundary: layers.boundary.clone(),
                undecided: Vec::new(),
                uncertain: Vec::new(),
                later_changes: Vec::new(),
            };
            let repo_policy =
                RepositoryPolicyAt::Known(layers.resource.as_ref().map(|(_, p)| p.clone()), None);
            let judge = Judge {
                f,
                denial,
                ask,
                request: &request,
                call_context: &context,
                repo_policy: &repo_policy,
                role,
                action,
                resource,
            };
            let judged = judge.bracketed(&identity);
            // layers the judge does not weigh (organization, VPC endpoint, session) decide here
            let beyond = matches!(auth.denied_by, Some(Layer::Organization | Layer::Session));
            if beyond || judged.cause == Cause::IdentityAllows {
                // an implicit deny names no policy: where the message names no layer either,
                // the layer is the one the tool's agreeing evaluation found lacking an Allow
                let cause = match (&says.effect, denial.layer, auth.denied_by) {
                    (Some(Effect::ImplicitDeny), None, Some(layer)) => {
                        cause_of(DenialKind::NoAllow, lacking(layer, record))
                    }
                    _ => says.cause,
                };
                let mut v = simple(
                    cause,
                    format!("{whose} says {}.", says.sentence),
                    fix_for(cause, &says, role, action, resource),
                );
                v.explanation.push_str(
                    " The tool evaluated the same request against the policies AWS captured and agrees.",
                );
                v
            } else {
                let mut v = judged;
                v.explanation = format!(
                    "{whose} says {}; the tool evaluated the same request against the policies AWS captured and agrees: {}",
                    says.sentence, v.explanation
                );
                v
            }
        }
        // Disagreement: AWS's word, and the tool's own answer beside it.
        (Some(auth), Some(d)) => {
            let mut v = simple(
                says.cause,
                format!(
                    "{whose} says {}. The tool's own evaluation of the same request against the same policies gives {}{} — it disagrees with AWS, which is a bug of the tool's evaluator; AWS's word stands.",
                    says.sentence,
                    effect_of(auth.decision).as_str(),
                    auth.denied_by
                        .map_or(String::new(), |l| format!(" (by the {})", engine_layer(l)))
                ),
                fix_for(says.cause, &says, role, action, resource),
            );
            v.details.insert("verdict_disagreement".into(), d.clone());
            v
        }
        // AWS's record without every document: AWS's word, unchecked.
        (None, _) => {
            let mut v = simple(
                says.cause,
                format!(
                    "{whose} says {}. The tool did not evaluate the request again: it lacks the document of {}.",
                    says.sentence,
                    layers.missing.join("; ")
                ),
                fix_for(says.cause, &says, role, action, resource),
            );
            v.details.insert(
                "policies_evaluated".into(),
                json!(record
                    .policies
                    .iter()
                    .map(|p| p.uri.clone())
                    .collect::<Vec<_>>()),
            );
            v
        }
    };
    v.add_evidence(says.evidence);
    v.details.insert(
        "aws_evaluation".into(),
        evaluation_details(record, evaluation, &cross_check),
    );
    v
}

/// `details.aws_evaluation` of a finding (contract).
fn evaluation_details(
    record: &AwsRecord,
    evaluation: Option<&Evaluation>,
    cross_check: &str,
) -> Value {
    let matched: Vec<Value> = evaluation
        .map(|e| e.matched.as_slice())
        .unwrap_or_default()
        .iter()
        .map(|m| {
            json!({
                "uri": m.uri,
                "type": record.policy(&m.uri).map(|p| p.kind.clone()),
                "statements": m.statements,
            })
        })
        .collect();
    json!({
        "authorization_id": record.authorization_id,
        "source": record.source.code(),
        "action": evaluation.map(|e| e.action.clone()),
        "resource": evaluation.map(|e| e.resource.clone()),
        "effect": evaluation.and_then(|e| e.effect.clone()),
        "matched": matched,
        "context": record.context_of(evaluation),
        "policies": record.policies.iter().map(|p| json!({
            "uri": p.uri,
            "type": p.kind,
            "inline": p.inline,
            "attached_to": p.attached_to,
            "document": if p.document.is_some() { "captured" } else { "missing" },
        })).collect::<Vec<_>>(),
        "cross_check": cross_check,
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, reason = "tests")]

    use super::*;

    fn scp(uri: &str, attached: &[&str]) -> (PolicyInfo, Policy) {
        let doc = json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]});
        (
            PolicyInfo {
                kind: PolicyKind::ServiceControlPolicy,
                inline: false,
                uri: uri.to_owned(),
                attached_to: attached.iter().map(|a| (*a).to_owned()).collect(),
                document: Some(doc.clone()),
                document_missing: None,
            },
            Policy::from_value(&doc).unwrap(),
        )
    }

    #[test]
    fn organization_policies_are_levels_by_the_entity_they_are_attached_to() {
        let full = scp("p-full", &["r-root", "acct"]);
        let s3 = scp("p-s3", &["acct"]);
        let loose = scp("p-loose", &[]);
        let list = [
            (&full.0, full.1.clone()),
            (&s3.0, s3.1.clone()),
            (&loose.0, loose.1.clone()),
        ];
        let uris: Vec<Vec<String>> = org_levels(&list).into_iter().map(|(_, u)| u).collect();
        assert_eq!(
            uris,
            [vec!["p-full"], vec!["p-full", "p-s3"], vec!["p-loose"]]
                .map(|l| l.into_iter().map(str::to_owned).collect::<Vec<_>>())
        );
        assert!(org_levels(&[]).is_empty());
    }
}
