//! Multi-layer authorization following AWS's evaluation logic: identity policies, a resource
//! policy, a permissions boundary, a session policy and service control policies (one list per
//! organization level), combined into one decision with the layer responsible and the statements
//! that decided it.
//!
//! Order of reasoning: (1) an applicable Deny in any layer → `ExplicitDeny` (`denied_by` is the
//! first such layer in the order Organization, Resource, Identity, PermissionsBoundary, Session);
//! (2) with SCPs, every level needs an applicable Allow; (3) same account: identity OR resource
//! policy must allow; cross account (principal and resource accounts differ): both must;
//! (4)/(5) the permissions boundary and session policy, when given, must allow too, unless access
//! is granted by a same-account resource-policy statement naming the caller's exact ARN (a
//! session ARN or user ARN; naming the role or the account does not bypass them).
//!
//! A same-account resource-policy Allow that names only the caller's account (its id or root
//! ARN) delegates to IAM: it grants nothing without an identity-policy Allow.
//!
//! Not modelled: resource control policies, VPC endpoint policies, and service-linked-role
//! exemptions from SCPs.

use serde::Serialize;

use crate::evaluation::{evaluate, PolicyDecision, PolicyResult};
use crate::policy::{Effect, Policy, PrincipalKind, PrincipalSpec};
use crate::principal::{
    arn_account, match_set, names_beyond_account, principal_account, PrincipalMatch,
};
use crate::request::{ContextValue, Request};

/// Everything that takes part in one authorization.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AuthzInput<'a> {
    pub request: &'a Request,
    pub identity_policies: &'a [Policy],
    pub resource_policy: Option<&'a Policy>,
    pub permissions_boundary: Option<&'a Policy>,
    pub session_policy: Option<&'a Policy>,
    /// One list of SCPs per organization level (root, OUs, account); empty means no SCPs.
    pub scps: &'a [Vec<Policy>],
}

/// The final decision and its evidence.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Authorization {
    pub decision: Decision,
    /// Deny statements that applied when denied explicitly; the allow statements that granted
    /// access when allowed; empty for an implicit deny (see `layers` for why).
    pub matched: Vec<MatchedStatement>,
    /// Every policy evaluated, in the order Identity, Resource, PermissionsBoundary, Session,
    /// Organization.
    pub layers: Vec<LayerResult>,
    /// The layer with the explicit deny, or the layer that lacked a needed allow.
    pub denied_by: Option<Layer>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Decision {
    Allow,
    ImplicitDeny,
    ExplicitDeny,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Layer {
    Identity,
    Resource,
    PermissionsBoundary,
    Session,
    Organization,
}

/// An applicable statement that contributed to the decision.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct MatchedStatement {
    pub layer: Layer,
    /// Index within the layer (for Organization: across all levels, as in [`LayerResult`]).
    pub policy_index: usize,
    pub statement_index: usize,
    pub sid: Option<String>,
    pub effect: Effect,
}

/// One evaluated policy.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LayerResult {
    pub layer: Layer,
    /// Index within the layer: the identity policy's position, 0 for single-policy layers, and
    /// for SCPs the position counted across all levels in order.
    pub policy_index: usize,
    /// For SCPs, the organization level (index into `AuthzInput::scps`).
    pub org_level: Option<usize>,
    pub result: PolicyResult,
}

const DENY_ORDER: [Layer; 5] = [
    Layer::Organization,
    Layer::Resource,
    Layer::Identity,
    Layer::PermissionsBoundary,
    Layer::Session,
];

/// Authorize a request across all policy layers.
///
/// 1. An applicable Deny in any layer gives `ExplicitDeny`; `denied_by` is the first such layer
///    in the order Organization, Resource, Identity, PermissionsBoundary, Session.
/// 2. With SCPs, every level needs an applicable Allow, else `ImplicitDeny` by Organization.
/// 3. Same account: an identity policy or the resource policy must allow. Cross account: both
///    must (an identity lack is reported first, then the resource policy's).
/// 4. The permissions boundary and then the session policy, when given, must allow, unless the
///    grant is a same-account resource-policy statement naming the caller's exact ARN.
///
/// Never fails; every evaluated policy is in `layers`.
pub fn authorize(input: &AuthzInput<'_>) -> Authorization {
    let request = input.request;
    let layers = evaluate_layers(input);

    // 1. explicit deny anywhere
    let denied_layer = DENY_ORDER.iter().copied().find(|layer| {
        layers
            .iter()
            .any(|l| l.layer == *layer && l.result.decision == PolicyDecision::ExplicitDeny)
    });
    if let Some(layer) = denied_layer {
        let matched = collect(&layers, Effect::Deny, |_| true);
        return finish(Decision::ExplicitDeny, matched, layers, Some(layer));
    }

    let allows = |layer: Layer| {
        layers
            .iter()
            .any(|l| l.layer == layer && l.result.decision == PolicyDecision::Allow)
    };

    // 2. every SCP level must allow
    let scps_allow = input.scps.iter().enumerate().all(|(level, _)| {
        layers.iter().any(|l| {
            l.layer == Layer::Organization
                && l.org_level == Some(level)
                && l.result.decision == PolicyDecision::Allow
        })
    });
    if !scps_allow {
        return finish(
            Decision::ImplicitDeny,
            Vec::new(),
            layers,
            Some(Layer::Organization),
        );
    }

    // 3. identity and resource policies
    let identity_allows = allows(Layer::Identity);
    let resource_allows = allows(Layer::Resource);
    let aws_caller = request
        .principal
        .as_ref()
        .is_some_and(|p| p.kind == PrincipalKind::Aws);
    let cross_account = match (caller_account(request), resource_account(request)) {
        (Some(p), Some(r)) => p != r,
        _ => false,
    };
    let mut bypass_limits = false;
    if cross_account {
        if !identity_allows {
            return finish(
                Decision::ImplicitDeny,
                Vec::new(),
                layers,
                Some(Layer::Identity),
            );
        }
        if !resource_allows {
            return finish(
                Decision::ImplicitDeny,
                Vec::new(),
                layers,
                Some(Layer::Resource),
            );
        }
    } else {
        // A resource-policy Allow that names only the caller's account delegates to IAM:
        // it grants nothing unless an identity policy allows too.
        let resource_grants = resource_allows && resource_grants_beyond_account(input, &layers);
        if !identity_allows && !resource_grants {
            let layer = if aws_caller {
                Layer::Identity
            } else {
                Layer::Resource
            };
            return finish(Decision::ImplicitDeny, Vec::new(), layers, Some(layer));
        }
        bypass_limits = resource_allows && resource_names_caller_exactly(input, &layers);
    }

    // 4./5. permissions boundary and session policy limit identity-based (and indirect) grants
    if !bypass_limits {
        if input.permissions_boundary.is_some() && !allows(Layer::PermissionsBoundary) {
            return finish(
                Decision::ImplicitDeny,
                Vec::new(),
                layers,
                Some(Layer::PermissionsBoundary),
            );
        }
        if input.session_policy.is_some() && !allows(Layer::Session) {
            return finish(
                Decision::ImplicitDeny,
                Vec::new(),
                layers,
                Some(Layer::Session),
            );
        }
    }

    let matched = collect(&layers, Effect::Allow, |layer| match layer {
        Layer::PermissionsBoundary | Layer::Session => !bypass_limits,
        Layer::Identity => identity_allows,
        Layer::Resource | Layer::Organization => true,
    });
    finish(Decision::Allow, matched, layers, None)
}

fn finish(
    decision: Decision,
    matched: Vec<MatchedStatement>,
    layers: Vec<LayerResult>,
    denied_by: Option<Layer>,
) -> Authorization {
    Authorization {
        decision,
        matched,
        layers,
        denied_by,
    }
}

fn evaluate_layers(input: &AuthzInput<'_>) -> Vec<LayerResult> {
    let request = input.request;
    let mut layers = Vec::new();
    let mut push = |layer, policy_index, org_level, policy: &Policy| {
        layers.push(LayerResult {
            layer,
            policy_index,
            org_level,
            result: evaluate(policy, request),
        });
    };
    for (i, p) in input.identity_policies.iter().enumerate() {
        push(Layer::Identity, i, None, p);
    }
    if let Some(p) = input.resource_policy {
        push(Layer::Resource, 0, None, p);
    }
    if let Some(p) = input.permissions_boundary {
        push(Layer::PermissionsBoundary, 0, None, p);
    }
    if let Some(p) = input.session_policy {
        push(Layer::Session, 0, None, p);
    }
    let mut flat = 0;
    for (level, policies) in input.scps.iter().enumerate() {
        for p in policies {
            push(Layer::Organization, flat, Some(level), p);
            flat += 1;
        }
    }
    layers
}

fn collect(
    layers: &[LayerResult],
    effect: Effect,
    include: impl Fn(Layer) -> bool,
) -> Vec<MatchedStatement> {
    layers
        .iter()
        .filter(|l| include(l.layer))
        .flat_map(|l| {
            l.result
                .applied()
                .filter(move |s| s.effect == effect)
                .map(move |s| MatchedStatement {
                    layer: l.layer,
                    policy_index: l.policy_index,
                    statement_index: s.index,
                    sid: s.sid.clone(),
                    effect: s.effect,
                })
        })
        .collect()
}

/// Whether an applicable Allow in the resource policy names the caller by more than its
/// account (`*`, its ARN, its role): one naming only the account delegates to IAM.
fn resource_grants_beyond_account(input: &AuthzInput<'_>, layers: &[LayerResult]) -> bool {
    let caller = input.request.principal.as_ref();
    resource_allows_where(input, layers, |principal| match principal {
        Some(PrincipalSpec::Principal(set)) => names_beyond_account(set, caller),
        // NotPrincipal (or no principal element) is not an account delegation.
        _ => true,
    })
}

/// Whether an applicable Allow in the resource policy names the caller's exact ARN/id.
fn resource_names_caller_exactly(input: &AuthzInput<'_>, layers: &[LayerResult]) -> bool {
    let caller = input.request.principal.as_ref();
    resource_allows_where(input, layers, |principal| match principal {
        Some(PrincipalSpec::Principal(set)) => match_set(set, caller) == PrincipalMatch::Exact,
        _ => false,
    })
}

/// Whether some applicable Allow statement of the resource policy has a principal element
/// for which `test` holds.
fn resource_allows_where(
    input: &AuthzInput<'_>,
    layers: &[LayerResult],
    test: impl Fn(Option<&PrincipalSpec>) -> bool,
) -> bool {
    let (Some(policy), Some(result)) = (
        input.resource_policy,
        layers.iter().find(|l| l.layer == Layer::Resource),
    ) else {
        return false;
    };
    result
        .result
        .applied()
        .filter(|s| s.effect == Effect::Allow)
        .filter_map(|s| policy.statements.iter().find(|st| st.index == s.index))
        .any(|st| test(st.principal.as_ref()))
}

fn single_context<'r>(request: &'r Request, key: &str) -> Option<&'r str> {
    match request.context.get(key) {
        Some(ContextValue::Single(s)) if !s.is_empty() => Some(s),
        _ => None,
    }
}

/// The caller's account: from an AWS principal's ARN, else `aws:PrincipalAccount`.
fn caller_account(request: &Request) -> Option<&str> {
    request
        .principal
        .as_ref()
        .filter(|p| p.kind == PrincipalKind::Aws)
        .and_then(|p| principal_account(&p.id))
        .or_else(|| single_context(request, "aws:PrincipalAccount"))
}

/// The resource's account: the ARN's account part, else `aws:ResourceAccount`; `None` (same
/// account as the caller) for no resource or `*`.
fn resource_account(request: &Request) -> Option<&str> {
    match request.resource.as_deref() {
        None | Some("*") => None,
        Some(arn) => arn_account(arn).or_else(|| single_context(request, "aws:ResourceAccount")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serializes_snake_case() {
        let auth = Authorization {
            decision: Decision::ImplicitDeny,
            matched: vec![MatchedStatement {
                layer: Layer::PermissionsBoundary,
                policy_index: 0,
                statement_index: 2,
                sid: None,
                effect: Effect::Allow,
            }],
            layers: Vec::new(),
            denied_by: Some(Layer::Organization),
        };
        let v = serde_json::to_value(&auth).unwrap_or_default();
        assert_eq!(v["decision"], "implicit_deny");
        assert_eq!(v["denied_by"], "organization");
        assert_eq!(v["matched"][0]["layer"], "permissions_boundary");
        assert_eq!(v["matched"][0]["effect"], "Allow");
        assert_eq!(
            serde_json::to_value(PolicyDecision::NotApplicable).unwrap_or_default(),
            "not_applicable"
        );
        assert_eq!(
            serde_json::to_value(Decision::ExplicitDeny).unwrap_or_default(),
            "explicit_deny"
        );
    }
}
