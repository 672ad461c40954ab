//! Evaluating one policy against one request, returning the decision with evidence for every
//! statement: which elements matched and, per condition, the expected and actual values.
//!
//! A statement applies when its principal (if present), action, resource (if present; an absent
//! `Resource`, as in trust policies, matches) and every condition match. An applicable Deny gives
//! `ExplicitDeny`, else an applicable Allow gives `Allow`, else `NotApplicable`. Combining several
//! policies (boundaries, SCPs, cross-account rules) is `authorization`'s job, not this module's.
//! A request without a resource is matched as the resource `*`.

use serde::Serialize;

use crate::condition::evaluate_condition;
use crate::policy::{ActionSpec, Effect, Policy, PolicyVersion, ResourceSpec, Statement};
use crate::principal::element_matches;
use crate::request::{Assume, Context, Request};
use crate::variable::{resolve, uses_unknown, Resolved};
use crate::wildcard::{action_matches, match_pattern, CaseRule};

/// The outcome of one policy for one request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PolicyResult {
    pub decision: PolicyDecision,
    /// One entry per statement, in document order.
    pub statements: Vec<StatementResult>,
}

impl PolicyResult {
    /// The statements that applied.
    pub fn applied(&self) -> impl Iterator<Item = &StatementResult> {
        self.statements.iter().filter(|s| s.applies)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum PolicyDecision {
    Allow,
    ExplicitDeny,
    NotApplicable,
}

/// Evidence for one statement.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StatementResult {
    pub index: usize,
    pub sid: Option<String>,
    pub effect: Effect,
    pub principal: ElementMatch,
    pub action: ElementMatch,
    pub resource: ElementMatch,
    pub conditions: Vec<ConditionResult>,
    /// All elements match and all conditions are true.
    pub applies: bool,
}

impl StatementResult {
    /// The conditions that were false.
    pub fn failed_conditions(&self) -> impl Iterator<Item = &ConditionResult> {
        self.conditions.iter().filter(|c| !c.matched)
    }
}

/// Whether an element (`Principal`/`NotPrincipal`, `Action`/`NotAction`,
/// `Resource`/`NotResource`) is satisfied; for the `Not` forms, `Matched` means the request is
/// outside the listed values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ElementMatch {
    Matched,
    NotMatched,
    /// The element is not in the statement (no `Principal` in an identity policy, no `Resource`
    /// in a trust policy); counts as a match.
    Absent,
}

impl ElementMatch {
    fn from_bool(b: bool) -> Self {
        if b {
            ElementMatch::Matched
        } else {
            ElementMatch::NotMatched
        }
    }

    /// Whether this lets the statement apply.
    pub fn is_satisfied(self) -> bool {
        self != ElementMatch::NotMatched
    }
}

/// Evidence for one condition key under one operator.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ConditionResult {
    /// The operator as written, e.g. `ForAnyValue:StringLike`.
    pub operator: String,
    /// The key as written in the policy.
    pub key: String,
    /// The policy values as written (before variable substitution).
    pub expected: Vec<String>,
    /// The request values; `None` when the key is missing from the request.
    pub actual: Option<Vec<String>>,
    pub matched: bool,
    /// The key's value is unknown ([`Context::mark_unknown`]): `matched` is what the
    /// context's [`Assume`] took it to be, not a comparison.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub unknown: bool,
    /// Why the condition could not be evaluated as written, e.g. `unknown operator`.
    pub problem: Option<String>,
}

/// A condition's outcome, or the assumed one when its key's value is unknown: (matched, unknown).
fn condition_outcome(
    condition: &crate::policy::Condition,
    effect: Effect,
    version: PolicyVersion,
    context: &Context,
) -> (bool, bool, Option<String>) {
    if context.is_unknown(&condition.key)
        || condition
            .values
            .iter()
            .any(|v| uses_unknown(v, version, context))
    {
        let lenient = context.assumption() == Assume::Lenient;
        let matched = match effect {
            Effect::Allow => lenient,
            Effect::Deny => !lenient,
        };
        return (matched, true, None);
    }
    let outcome = evaluate_condition(condition, version, context);
    (
        outcome.matched,
        false,
        outcome.problem.map(|p| p.to_string()),
    )
}

/// Evaluate `policy` for `request`, with evidence for every statement.
pub fn evaluate(policy: &Policy, request: &Request) -> PolicyResult {
    let statements: Vec<StatementResult> = policy
        .statements
        .iter()
        .map(|s| evaluate_statement(s, policy.version, request))
        .collect();
    let decision = combine(statements.iter().map(|s| (s.effect, s.applies)));
    PolicyResult {
        decision,
        statements,
    }
}

/// The decision alone, without evidence: stops at the first applicable Deny and allocates
/// nothing unless a policy variable has to be substituted.
pub fn decide(policy: &Policy, request: &Request) -> PolicyDecision {
    let mut allowed = false;
    for statement in &policy.statements {
        if statement.effect == Effect::Allow && allowed {
            continue;
        }
        if statement_applies(statement, policy.version, request) {
            match statement.effect {
                Effect::Deny => return PolicyDecision::ExplicitDeny,
                Effect::Allow => allowed = true,
            }
        }
    }
    if allowed {
        PolicyDecision::Allow
    } else {
        PolicyDecision::NotApplicable
    }
}

fn combine(statements: impl Iterator<Item = (Effect, bool)>) -> PolicyDecision {
    let mut decision = PolicyDecision::NotApplicable;
    for (effect, applies) in statements {
        if !applies {
            continue;
        }
        match effect {
            Effect::Deny => return PolicyDecision::ExplicitDeny,
            Effect::Allow => decision = PolicyDecision::Allow,
        }
    }
    decision
}

fn statement_applies(statement: &Statement, version: PolicyVersion, request: &Request) -> bool {
    principal_element(statement, request).is_satisfied()
        && action_element(statement, request).is_satisfied()
        && resource_outcome(statement, version, request).is_satisfied()
        && statement
            .conditions
            .iter()
            .all(|c| condition_outcome(c, statement.effect, version, &request.context).0)
}

fn evaluate_statement(
    statement: &Statement,
    version: PolicyVersion,
    request: &Request,
) -> StatementResult {
    let principal = principal_element(statement, request);
    let action = action_element(statement, request);
    let resource = resource_outcome(statement, version, request);
    let conditions: Vec<ConditionResult> = statement
        .conditions
        .iter()
        .map(|c| {
            let (matched, unknown, problem) =
                condition_outcome(c, statement.effect, version, &request.context);
            ConditionResult {
                operator: c.operator.raw.clone(),
                key: c.key.clone(),
                expected: c.values.clone(),
                actual: request.context.get(&c.key).map(|v| v.as_slice().to_vec()),
                matched,
                unknown,
                problem,
            }
        })
        .collect();
    let applies = principal.is_satisfied()
        && action.is_satisfied()
        && resource.is_satisfied()
        && conditions.iter().all(|c| c.matched);
    StatementResult {
        index: statement.index,
        sid: statement.sid.clone(),
        effect: statement.effect,
        principal,
        action,
        resource,
        conditions,
        applies,
    }
}

fn principal_element(statement: &Statement, request: &Request) -> ElementMatch {
    match &statement.principal {
        None => ElementMatch::Absent,
        Some(spec) => ElementMatch::from_bool(element_matches(spec, request.principal.as_ref())),
    }
}

fn action_element(statement: &Statement, request: &Request) -> ElementMatch {
    match &statement.action {
        // Only a hand-built statement lacks both Action and NotAction: it matches nothing.
        None => ElementMatch::NotMatched,
        Some(ActionSpec::Action(patterns)) => {
            ElementMatch::from_bool(patterns.iter().any(|p| action_matches(p, &request.action)))
        }
        Some(ActionSpec::NotAction(patterns)) => {
            ElementMatch::from_bool(!patterns.iter().any(|p| action_matches(p, &request.action)))
        }
    }
}

/// The resource element, or — when one of its patterns substitutes a variable of an unknown
/// key — the outcome the context's [`Assume`] takes (as for a condition on an unknown key).
fn resource_outcome(
    statement: &Statement,
    version: PolicyVersion,
    request: &Request,
) -> ElementMatch {
    let element = resource_element(statement, version, request);
    let patterns = match &statement.resource {
        Some(ResourceSpec::Resource(p) | ResourceSpec::NotResource(p)) => p,
        None => return element,
    };
    if !patterns
        .iter()
        .any(|p| uses_unknown(p, version, &request.context))
    {
        return element;
    }
    let lenient = request.context.assumption() == Assume::Lenient;
    ElementMatch::from_bool(match statement.effect {
        Effect::Allow => lenient || element == ElementMatch::Matched,
        Effect::Deny => !lenient || element == ElementMatch::Matched,
    })
}

fn resource_element(
    statement: &Statement,
    version: PolicyVersion,
    request: &Request,
) -> ElementMatch {
    let resource = request.resource.as_deref().unwrap_or("*");
    let any_matches = |patterns: &[String]| {
        patterns
            .iter()
            .any(|p| match resolve(p, version, &request.context) {
                Resolved::Plain(p) => match_pattern(p, resource, CaseRule::Sensitive),
                Resolved::Substituted { elems, .. } => {
                    match_pattern(elems.as_slice(), resource, CaseRule::Sensitive)
                }
                Resolved::Unresolvable => false,
            })
    };
    match &statement.resource {
        None => ElementMatch::Absent,
        Some(ResourceSpec::Resource(patterns)) => ElementMatch::from_bool(any_matches(patterns)),
        Some(ResourceSpec::NotResource(patterns)) => {
            ElementMatch::from_bool(!any_matches(patterns))
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, reason = "tests")]

    use super::*;
    use crate::request::ContextValue;

    fn policy(json: &str) -> Policy {
        Policy::parse(json).unwrap()
    }

    /// Allow on a PrincipalOrgID condition, Deny on a ResourceTag condition.
    const DOC: &str = r#"{"Version":"2012-10-17","Statement":[
        {"Effect":"Allow","Action":"ecr:PutImage","Resource":"*","Condition":{"StringEquals":{"aws:PrincipalOrgID":"o-abc"}}},
        {"Effect":"Deny","Action":"ecr:PutImage","Resource":"*","Condition":{"StringEquals":{"aws:ResourceTag/env":"prod"}}}]}"#;

    fn request(context: Context) -> Request {
        Request {
            principal: None,
            action: "ecr:PutImage".into(),
            resource: Some("arn:aws:ecr:us-east-1:1:repository/web".into()),
            context,
        }
    }

    #[test]
    fn unknown_keys_are_taken_as_the_assumption_says() {
        let mut ctx = Context::new();
        ctx.mark_unknown("aws:PrincipalOrgID");
        ctx.mark_unknown("aws:ResourceTag/");
        let p = policy(DOC);
        let lenient = evaluate(&p, &request(ctx.assuming(Assume::Lenient)));
        assert_eq!(lenient.decision, PolicyDecision::Allow);
        assert!(lenient.statements.iter().all(|s| s.conditions[0].unknown));
        let strict = evaluate(&p, &request(ctx.assuming(Assume::Strict)));
        assert_eq!(strict.decision, PolicyDecision::ExplicitDeny);
        assert_eq!(
            decide(&p, &request(ctx.assuming(Assume::Lenient))),
            PolicyDecision::Allow
        );
        assert_eq!(
            decide(&p, &request(ctx.assuming(Assume::Strict))),
            PolicyDecision::ExplicitDeny
        );
    }

    #[test]
    fn a_variable_of_an_unknown_key_makes_its_condition_unknown() {
        let p = policy(
            r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"ecr:PutImage","Resource":"*",
                "Condition":{"StringEquals":{"aws:ResourceTag/team":"${aws:PrincipalTag/team}"}}}]}"#,
        );
        let mut ctx = Context::new();
        ctx.insert("aws:ResourceTag/team", ContextValue::Single("web".into()));
        ctx.mark_unknown("aws:PrincipalTag/");
        let lenient = evaluate(&p, &request(ctx.assuming(Assume::Lenient)));
        assert_eq!(lenient.decision, PolicyDecision::Allow);
        assert!(lenient.statements[0].conditions[0].unknown);
        let strict = evaluate(&p, &request(ctx.assuming(Assume::Strict)));
        assert_eq!(strict.decision, PolicyDecision::NotApplicable);
        ctx.insert("aws:PrincipalTag/team", ContextValue::Single("api".into()));
        let known = evaluate(&p, &request(ctx.assuming(Assume::Lenient)));
        assert_eq!(known.decision, PolicyDecision::NotApplicable);
        assert!(!known.statements[0].conditions[0].unknown);
    }

    #[test]
    fn a_resource_naming_a_variable_of_an_unknown_key_is_taken_as_assumed() {
        let p = policy(
            r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"ecr:PutImage",
                "Resource":"arn:aws:ecr:us-east-1:1:repository/${aws:PrincipalTag/team}-*"}]}"#,
        );
        let mut ctx = Context::new();
        ctx.mark_unknown("aws:PrincipalTag/");
        assert_eq!(
            evaluate(&p, &request(ctx.assuming(Assume::Lenient))).decision,
            PolicyDecision::Allow
        );
        assert_eq!(
            evaluate(&p, &request(ctx.assuming(Assume::Strict))).decision,
            PolicyDecision::NotApplicable
        );
        ctx.insert("aws:PrincipalTag/team", ContextValue::Single("api".into()));
        assert_eq!(
            decide(&p, &request(ctx.assuming(Assume::Lenient))),
            PolicyDecision::NotApplicable,
            "known: api-* does not match web"
        );
    }

    #[test]
    fn known_values_and_known_absence_are_not_unknown() {
        let mut ctx = Context::new();
        ctx.mark_unknown("aws:");
        ctx.mark_absent("aws:ResourceTag/env");
        ctx.insert("aws:PrincipalOrgID", ContextValue::Single("o-abc".into()));
        assert!(!ctx.is_unknown("aws:PrincipalOrgID"));
        assert!(!ctx.is_unknown("AWS:RESOURCETAG/ENV"));
        assert!(ctx.is_unknown("aws:SourceVpc"));
        assert!(!ctx.is_unknown("ecr:ResourceTag/env"));
        let p = policy(DOC);
        for assume in [Assume::Strict, Assume::Lenient] {
            let r = evaluate(&p, &request(ctx.assuming(assume)));
            assert_eq!(r.decision, PolicyDecision::Allow, "{assume:?}");
            assert!(r.statements.iter().all(|s| !s.conditions[0].unknown));
        }
    }
}
