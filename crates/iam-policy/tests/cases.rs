//! Runs every data-driven case in `tests/cases/` (schema in `tests/cases/README.md`) and reports
//! all failures at once.
#![allow(clippy::unwrap_used, clippy::expect_used, reason = "test harness")]

use std::collections::BTreeSet;
use std::fs;
use std::path::Path;

use iam_policy::{
    authorize, evaluate, AuthzInput, Context, ContextValue, Decision, Layer, Policy,
    PolicyDecision, Request, RequestPrincipal,
};
use serde::Deserialize;
use serde_json::Value;

/// Guards against cases being deleted or the directory not being found.
const MIN_CASES: usize = 300;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Case {
    name: String,
    #[serde(default)]
    #[allow(dead_code, reason = "documentation only")]
    note: Option<String>,
    policy: Option<Value>,
    policies: Option<Layers>,
    request: CaseRequest,
    expect: Expect,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct Layers {
    #[serde(default)]
    identity: Vec<Value>,
    resource: Option<Value>,
    permissions_boundary: Option<Value>,
    session: Option<Value>,
    #[serde(default)]
    scps: Vec<Vec<Value>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CaseRequest {
    principal: Option<Value>,
    action: String,
    resource: Option<String>,
    #[serde(default)]
    context: serde_json::Map<String, Value>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Expect {
    decision: Option<String>,
    statements: Option<Vec<usize>>,
    failed_condition: Option<FailedCondition>,
    problem: Option<String>,
    #[serde(default, deserialize_with = "present_or_null")]
    denied_by: Option<Option<String>>,
    matched: Option<Vec<(String, usize, usize)>>,
    parse_error: Option<String>,
}

/// Distinguishes `"denied_by": null` (Some(None)) from a missing field (None).
fn present_or_null<'de, D: serde::Deserializer<'de>>(
    d: D,
) -> Result<Option<Option<String>>, D::Error> {
    Option::<String>::deserialize(d).map(Some)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FailedCondition {
    key: String,
    operator: String,
}

fn parse_policy(v: &Value) -> Result<Policy, String> {
    match v {
        Value::String(s) => Policy::parse(s),
        other => Policy::from_value(other),
    }
    .map_err(|e| e.to_string())
}

fn build_request(r: &CaseRequest) -> Result<Request, String> {
    let principal = match &r.principal {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) => Some(RequestPrincipal::aws(s.clone())),
        Some(Value::Object(o)) if o.len() == 1 => {
            let (kind, id) = o.iter().next().unwrap();
            let id = id
                .as_str()
                .ok_or("principal id must be a string")?
                .to_owned();
            Some(match kind.as_str() {
                "aws" => RequestPrincipal::aws(id),
                "federated" => RequestPrincipal::federated(id),
                "service" => RequestPrincipal::service(id),
                "canonical_user" => RequestPrincipal {
                    kind: iam_policy::PrincipalKind::CanonicalUser,
                    id,
                },
                other => return Err(format!("unknown principal kind {other:?}")),
            })
        }
        Some(other) => return Err(format!("bad principal {other}")),
    };
    let mut context = Context::new();
    for (k, v) in &r.context {
        let value = match v {
            Value::String(s) => ContextValue::Single(s.clone()),
            Value::Array(items) => ContextValue::Multi(
                items
                    .iter()
                    .map(|i| {
                        i.as_str()
                            .map(str::to_owned)
                            .ok_or("context arrays hold strings")
                    })
                    .collect::<Result<_, _>>()?,
            ),
            other => return Err(format!("bad context value {other}")),
        };
        context.insert(k, value);
    }
    Ok(Request {
        principal,
        action: r.action.clone(),
        resource: r.resource.clone(),
        context,
    })
}

fn policy_decision_name(d: PolicyDecision) -> &'static str {
    match d {
        PolicyDecision::Allow => "allow",
        PolicyDecision::ExplicitDeny => "explicit_deny",
        PolicyDecision::NotApplicable => "not_applicable",
    }
}

fn decision_name(d: Decision) -> &'static str {
    match d {
        Decision::Allow => "allow",
        Decision::ImplicitDeny => "implicit_deny",
        Decision::ExplicitDeny => "explicit_deny",
    }
}

fn layer_name(l: Layer) -> &'static str {
    match l {
        Layer::Identity => "identity",
        Layer::Resource => "resource",
        Layer::PermissionsBoundary => "permissions_boundary",
        Layer::Session => "session",
        Layer::Organization => "organization",
    }
}

fn run_single(case: &Case, policy_value: &Value, request: &Request) -> Result<(), String> {
    let e = &case.expect;
    if e.denied_by.is_some() || e.matched.is_some() {
        return Err("denied_by/matched belong to \"policies\" cases".into());
    }
    let policy = match (parse_policy(policy_value), &e.parse_error) {
        (Err(msg), Some(want)) if msg.contains(want.as_str()) => return Ok(()),
        (Err(msg), Some(want)) => return Err(format!("parse error {msg:?} lacks {want:?}")),
        (Ok(_), Some(want)) => return Err(format!("parsed, but expected error {want:?}")),
        (Err(msg), None) => return Err(format!("parse failed: {msg}")),
        (Ok(p), None) => p,
    };
    let result = evaluate(&policy, request);
    let want_decision = e.decision.as_deref().ok_or("expect.decision missing")?;
    let got = policy_decision_name(result.decision);
    if got != want_decision {
        return Err(format!("decision {got}, expected {want_decision}"));
    }
    let applied: Vec<usize> = result.applied().map(|s| s.index).collect();
    let want_statements = e.statements.as_ref().ok_or("expect.statements missing")?;
    if &applied != want_statements {
        return Err(format!(
            "applied statements {applied:?}, expected {want_statements:?}"
        ));
    }
    // the fast path must agree with the evidence path
    if iam_policy::decide(&policy, request) != result.decision {
        return Err("decide() disagrees with evaluate()".into());
    }
    if let Some(fc) = &e.failed_condition {
        let found = result
            .statements
            .iter()
            .flat_map(|s| &s.conditions)
            .any(|c| {
                !c.matched && c.operator == fc.operator && c.key.eq_ignore_ascii_case(&fc.key)
            });
        if !found {
            return Err(format!(
                "no false condition {} on {} in {:#?}",
                fc.operator, fc.key, result.statements
            ));
        }
    }
    if let Some(problem) = &e.problem {
        let found = result
            .statements
            .iter()
            .flat_map(|s| &s.conditions)
            .filter_map(|c| c.problem.as_deref())
            .any(|p| p.contains(problem.as_str()));
        if !found {
            return Err(format!("no condition problem containing {problem:?}"));
        }
    }
    // canonical JSON round-trips to the same policy
    let again = Policy::from_value(&policy.to_value()).map_err(|e| e.to_string())?;
    if again != policy {
        return Err("to_value() does not round-trip".into());
    }
    Ok(())
}

fn run_layers(case: &Case, layers: &Layers, request: &Request) -> Result<(), String> {
    let e = &case.expect;
    if e.statements.is_some() || e.failed_condition.is_some() || e.parse_error.is_some() {
        return Err("statements/failed_condition/parse_error belong to \"policy\" cases".into());
    }
    let one = |v: &Option<Value>| v.as_ref().map(parse_policy).transpose();
    let identity: Vec<Policy> = layers
        .identity
        .iter()
        .map(parse_policy)
        .collect::<Result<_, _>>()?;
    let resource = one(&layers.resource)?;
    let boundary = one(&layers.permissions_boundary)?;
    let session = one(&layers.session)?;
    let scps: Vec<Vec<Policy>> = layers
        .scps
        .iter()
        .map(|level| {
            level
                .iter()
                .map(parse_policy)
                .collect::<Result<Vec<_>, _>>()
        })
        .collect::<Result<_, _>>()?;
    let auth = authorize(&AuthzInput {
        request,
        identity_policies: &identity,
        resource_policy: resource.as_ref(),
        permissions_boundary: boundary.as_ref(),
        session_policy: session.as_ref(),
        scps: &scps,
    });
    let want_decision = e.decision.as_deref().ok_or("expect.decision missing")?;
    let got = decision_name(auth.decision);
    if got != want_decision {
        return Err(format!(
            "decision {got}, expected {want_decision}; {:?}",
            auth.denied_by
        ));
    }
    let want_denied = e
        .denied_by
        .as_ref()
        .ok_or("expect.denied_by missing (use null)")?;
    let got_denied = auth.denied_by.map(layer_name);
    if got_denied != want_denied.as_deref() {
        return Err(format!(
            "denied_by {got_denied:?}, expected {want_denied:?}"
        ));
    }
    let want_matched = e.matched.as_ref().ok_or("expect.matched missing")?;
    let got_matched: Vec<(String, usize, usize)> = auth
        .matched
        .iter()
        .map(|m| {
            (
                layer_name(m.layer).to_owned(),
                m.policy_index,
                m.statement_index,
            )
        })
        .collect();
    if &got_matched != want_matched {
        return Err(format!(
            "matched {got_matched:?}, expected {want_matched:?}"
        ));
    }
    Ok(())
}

fn run(case: &Case) -> Result<(), String> {
    let request = build_request(&case.request)?;
    match (&case.policy, &case.policies) {
        (Some(p), None) => run_single(case, p, &request),
        (None, Some(layers)) => run_layers(case, layers, &request),
        _ => Err("exactly one of \"policy\" and \"policies\" is required".into()),
    }
}

#[test]
fn data_driven_cases() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/cases");
    let mut files: Vec<_> = fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .collect();
    files.sort();
    let mut names = BTreeSet::new();
    let mut failures = Vec::new();
    for path in &files {
        let text = fs::read_to_string(path).unwrap();
        let case: Case = match serde_json::from_str(&text) {
            Ok(c) => c,
            Err(e) => {
                failures.push(format!("{}: bad case file: {e}", path.display()));
                continue;
            }
        };
        if !names.insert(case.name.clone()) {
            failures.push(format!("{}: duplicate name {}", path.display(), case.name));
        }
        if let Err(msg) = run(&case) {
            failures.push(format!("{} ({}): {msg}", case.name, path.display()));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} cases failed:\n{}",
        failures.len(),
        files.len(),
        failures.join("\n")
    );
    assert!(
        files.len() >= MIN_CASES,
        "only {} cases found in {}",
        files.len(),
        dir.display()
    );
}
