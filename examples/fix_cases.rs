//! Dev tool for `scripts/crosscheck/fixes.sh`: reads cross-check cases (NDJSON, from
//! `crosscheck gen`), asks trailwhy for the fixes of each denied one, and writes one case per
//! verified alternative with the fix applied. GitHub OIDC trust cases: the patched trust policy
//! as the resource policy, or the subject/audience a workflow fix makes the job send. Calls on
//! an ECR repository or a role without SCPs (trailwhy never edits or checks those): the
//! patched identity policies, boundary and resource policy. Every case it writes should then
//! be allowed by both evaluators.
//!
//! `cargo run --example fix_cases -- CASES` (or `-` for stdin) > PATCHED

use std::io::{BufRead, Write};

use serde_json::{json, Value};
use trailwhy::explain::fix::trust::{fixes, Provider, Situation};
use trailwhy::explain::fix::{FixKind, Verified};
use trailwhy::explain::trust::Token;

const SUB: &str = "token.actions.githubusercontent.com:sub";
const AUD: &str = "token.actions.githubusercontent.com:aud";

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let path = std::env::args().nth(1).ok_or("usage: fix_cases CASES|-")?;
    let input: Box<dyn BufRead> = if path == "-" {
        Box::new(std::io::stdin().lock())
    } else {
        Box::new(std::io::BufReader::new(std::fs::File::open(&path)?))
    };
    let mut out = std::io::stdout().lock();
    let (mut read, mut written) = (0usize, 0usize);
    for line in input.lines() {
        let line = line?;
        if line.trim().is_empty() {
            continue;
        }
        let case: Value = serde_json::from_str(&line)?;
        if case["note"] != "kind=github-oidc-trust" {
            let fixed = call_case(&case);
            read += usize::from(fixed.is_some());
            for patched in fixed.unwrap_or_default() {
                writeln!(out, "{patched}")?;
                written += 1;
            }
            continue;
        }
        let context = case["request"]["context"]
            .as_object()
            .cloned()
            .unwrap_or_default();
        // trailwhy judges a token by its claims; a case with other request keys is not a token's
        let (Some(subject), true) = (
            context.get(SUB).and_then(Value::as_str),
            context.keys().all(|k| k == SUB || k == AUD),
        ) else {
            continue;
        };
        let Some(provider) = case["request"]["principal"]["federated"].as_str() else {
            continue;
        };
        let role = case["request"]["resource"].as_str().unwrap_or_default();
        let Ok(trust) = iam_policy::Policy::from_value(&case["policies"]["resource"]) else {
            continue;
        };
        read += 1;
        let token = Token {
            provider,
            audience: context.get(AUD).and_then(Value::as_str),
            subject,
            session_name: None,
            request: None,
        };
        let s = Situation {
            token,
            role_arn: role,
            trust: Some(&trust),
            provider: Provider::Exists(None),
            max_session: None,
            duration: None,
            other_roles: Vec::new(),
        };
        for (i, fix) in fixes(&s).iter().enumerate() {
            if fix.verified != Verified::Allows {
                continue;
            }
            let mut patched = case.clone();
            // the keys STS sets from the provider, as trailwhy's request has them
            let issuer = trailwhy::event::identity::provider_issuer(provider);
            patched["request"]["context"]["aws:FederatedProvider"] = json!(provider);
            patched["request"]["context"][format!("{issuer}:iss")] =
                json!(format!("https://{issuer}"));
            patched["name"] = json!(format!(
                "{}/fix{i}-{}",
                case["name"].as_str().unwrap_or(""),
                fix.change.kind.code()
            ));
            if let Some(doc) = fix
                .changes()
                .filter(|c| c.kind == FixKind::TrustPolicy)
                .filter_map(|c| c.document.clone())
                .last()
            {
                patched["policies"]["resource"] = doc;
            }
            if fix.change.kind == FixKind::Workflow {
                let summary = &fix.change.summary;
                // the value the workflow change sends is the one quoted in its summary
                let Some(value) = summary.split('"').nth(1) else {
                    continue;
                };
                let key = if summary.contains("audience") {
                    AUD
                } else {
                    SUB
                };
                patched["request"]["context"][key] = json!(value);
            }
            writeln!(out, "{patched}")?;
            written += 1;
        }
    }
    eprintln!("fix_cases: {read} denied cases read, {written} fixed cases written");
    Ok(())
}

/// The fixed variants of a call case trailwhy can fix (`None`: not such a case).
fn call_case(case: &Value) -> Option<Vec<Value>> {
    use iam_policy::{authorize, AuthzInput, Decision, Policy};
    use trailwhy::explain::fix::call::{fixes, Situation};
    use trailwhy::inventory::{IdentityAt, NamedPolicy, PolicySource, RepositoryPolicyAt};
    let policies = &case["policies"];
    if policies["scps"].as_array().is_some_and(|s| !s.is_empty()) {
        return None;
    }
    let resource = case["request"]["resource"].as_str()?;
    if !(resource.contains(":ecr:") && resource.contains(":repository/")
        || resource.contains(":iam::") && resource.contains(":role/"))
    {
        return None;
    }
    let request = build_request(&case["request"])?;
    let principal = request.principal.as_ref()?.id.clone();
    let role_arn = role_of(&principal)?;
    let named = |label: String, v: &Value| -> Option<NamedPolicy> {
        Some(NamedPolicy {
            label,
            policy: Policy::from_value(v).ok()?,
            source: PolicySource::Snapshot("case".into()),
        })
    };
    let identity_docs: Vec<NamedPolicy> = policies["identity"]
        .as_array()?
        .iter()
        .enumerate()
        .map(|(i, v)| named(format!("inline:identity-{i}"), v))
        .collect::<Option<_>>()?;
    let boundary = match &policies["permissions_boundary"] {
        Value::Null => None,
        v => Some(named(
            "arn:aws:iam::111122223333:policy/boundary@v1".into(),
            v,
        )?),
    };
    let identity = IdentityAt {
        policies: identity_docs,
        boundary,
        undecided: Vec::new(),
        uncertain: Vec::new(),
        later_changes: Vec::new(),
    };
    let resource_policy = match &policies["resource"] {
        Value::Null => None,
        v => Some(Policy::from_value(v).ok()?),
    };
    let docs: Vec<Policy> = identity.policies.iter().map(|p| p.policy.clone()).collect();
    let before = authorize(&AuthzInput {
        request: &request,
        identity_policies: &docs,
        resource_policy: resource_policy.as_ref(),
        permissions_boundary: identity.boundary.as_ref().map(|b| &b.policy),
        session_policy: None,
        scps: &[],
    });
    if before.decision == Decision::Allow {
        return None;
    }
    let repo = RepositoryPolicyAt::Known(resource_policy, None);
    let action = request.action.clone();
    let s = Situation {
        requests: vec![request],
        role_arn: &role_arn,
        action: &action,
        resource,
        actions: vec![action.as_str()],
        identity: &identity,
        repo: &repo,
        repository: Some(resource),
        token: None,
        other_roles: &[],
    };
    let cause = match (before.decision, before.denied_by) {
        (Decision::ExplicitDeny, Some(iam_policy::Layer::Identity)) => {
            trailwhy::explain::Cause::IdentityExplicitDeny
        }
        (Decision::ExplicitDeny, Some(iam_policy::Layer::Resource)) => {
            trailwhy::explain::Cause::ResourcePolicyDeny
        }
        (_, Some(iam_policy::Layer::PermissionsBoundary)) => {
            trailwhy::explain::Cause::PermissionsBoundary
        }
        (_, Some(iam_policy::Layer::Resource)) => trailwhy::explain::Cause::ResourcePolicyNoAllow,
        _ => trailwhy::explain::Cause::IdentityPolicyNoAllow,
    };
    let mut out = Vec::new();
    for (i, fix) in fixes(&s, cause, None).iter().enumerate() {
        if fix.verified != Verified::Allows {
            continue;
        }
        let mut patched = case.clone();
        patched["name"] = json!(format!("{}/fix{i}", case["name"].as_str().unwrap_or("")));
        for c in fix.changes() {
            let doc = c.document.clone()?;
            match c.kind {
                FixKind::RepositoryPolicy | FixKind::TrustPolicy => {
                    patched["policies"]["resource"] = doc
                }
                FixKind::Boundary => patched["policies"]["permissions_boundary"] = doc,
                FixKind::IdentityPolicy => {
                    let name = c.target.split_once("#inline:")?.1;
                    let list = patched["policies"]["identity"].as_array_mut()?;
                    match name
                        .strip_prefix("identity-")
                        .and_then(|n| n.parse::<usize>().ok())
                    {
                        Some(i) if i < list.len() => list[i] = doc,
                        _ => list.push(doc),
                    }
                }
                _ => return None,
            }
        }
        out.push(patched);
    }
    Some(out)
}

/// The role of a session ARN (`assumed-role/R/S` → `role/R`), or the ARN itself.
fn role_of(principal: &str) -> Option<String> {
    let Some((head, rest)) = principal.split_once(":assumed-role/") else {
        return Some(principal.to_owned());
    };
    let role = rest.split('/').next()?;
    let account = head.rsplit(':').next()?;
    Some(format!("arn:aws:iam::{account}:role/{role}"))
}

/// The request of a case (the cross-check's shape).
fn build_request(r: &Value) -> Option<iam_policy::Request> {
    use iam_policy::{Context, ContextValue, PrincipalKind, RequestPrincipal};
    let principal = match &r["principal"] {
        Value::String(s) => Some(RequestPrincipal::aws(s.clone())),
        Value::Object(o) => {
            let (kind, id) = o.iter().next()?;
            let kind = match kind.as_str() {
                "aws" => PrincipalKind::Aws,
                "federated" => PrincipalKind::Federated,
                "service" => PrincipalKind::Service,
                _ => return None,
            };
            Some(RequestPrincipal {
                kind,
                id: id.as_str()?.to_owned(),
            })
        }
        _ => None,
    };
    let mut context = Context::new();
    for (k, v) in r["context"].as_object().cloned().unwrap_or_default() {
        let value = match v {
            Value::String(s) => ContextValue::Single(s),
            Value::Array(items) => ContextValue::Multi(
                items
                    .iter()
                    .map(|i| i.as_str().map(str::to_owned))
                    .collect::<Option<_>>()?,
            ),
            _ => return None,
        };
        context.insert(&k, value);
    }
    Some(iam_policy::Request {
        principal,
        action: r["action"].as_str()?.to_owned(),
        resource: r["resource"].as_str().map(str::to_owned),
        context,
    })
}
