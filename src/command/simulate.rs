//! `trailwhy simulate --request FILE`: one request against given policies, every layer.

use std::io::Write;

use anyhow::{anyhow, Context as _, Result};
use iam_policy::{
    authorize, AuthzInput, Context, ContextValue, Policy, PrincipalKind, Request, RequestPrincipal,
};
use serde_json::{json, Value};

use super::{open_output, stdout_is_terminal, Exit};
use crate::cli::{OfflineFormat, SimulateArgs};

/// Parses the request file into the engine's request and policy lists.
struct Parsed {
    request: Request,
    identity: Vec<Policy>,
    resource: Option<Policy>,
    boundary: Option<Policy>,
    session: Option<Policy>,
    scps: Vec<Vec<Policy>>,
}

fn policy_field(v: &Value, field: &str) -> Result<Option<Policy>> {
    match v.get(field) {
        None | Some(Value::Null) => Ok(None),
        Some(p) => Policy::from_value(p)
            .map(Some)
            .map_err(|e| anyhow!("{field}: {e}")),
    }
}

fn parse(v: &Value) -> Result<Parsed> {
    let action = v
        .get("action")
        .and_then(Value::as_str)
        .ok_or_else(|| anyhow!("\"action\" is required"))?;
    let principal = v
        .get("principal")
        .and_then(Value::as_str)
        .map(|p| RequestPrincipal {
            kind: if p.contains(":oidc-provider/") || p.contains(":saml-provider/") {
                PrincipalKind::Federated
            } else if p.ends_with(".amazonaws.com") {
                PrincipalKind::Service
            } else {
                PrincipalKind::Aws
            },
            id: p.to_owned(),
        });
    let mut context = Context::new();
    if let Some(obj) = v.get("context").and_then(Value::as_object) {
        for (k, val) in obj {
            let cv = match val {
                Value::Array(items) => {
                    ContextValue::Multi(items.iter().map(scalar).collect::<Result<_>>()?)
                }
                other => ContextValue::Single(scalar(other)?),
            };
            context.insert(k, cv);
        }
    }
    let identity = match v.get("identity_policies") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(items)) => items
            .iter()
            .enumerate()
            .map(|(i, p)| Policy::from_value(p).map_err(|e| anyhow!("identity_policies[{i}]: {e}")))
            .collect::<Result<_>>()?,
        Some(_) => {
            return Err(anyhow!(
                "\"identity_policies\" must be an array of policies"
            ))
        }
    };
    let scps = match v.get("scps") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(levels)) => levels
            .iter()
            .enumerate()
            .map(|(i, level)| match level {
                Value::Array(ps) => ps
                    .iter()
                    .map(|p| Policy::from_value(p).map_err(|e| anyhow!("scps[{i}]: {e}")))
                    .collect::<Result<Vec<_>>>(),
                p => Ok(vec![
                    Policy::from_value(p).map_err(|e| anyhow!("scps[{i}]: {e}"))?
                ]),
            })
            .collect::<Result<_>>()?,
        Some(_) => return Err(anyhow!("\"scps\" must be an array of arrays of policies")),
    };
    Ok(Parsed {
        request: Request {
            principal,
            action: action.to_owned(),
            resource: v.get("resource").and_then(Value::as_str).map(str::to_owned),
            context,
        },
        identity,
        resource: policy_field(v, "resource_policy")?,
        boundary: policy_field(v, "permissions_boundary")?,
        session: policy_field(v, "session_policy")?,
        scps,
    })
}

fn scalar(v: &Value) -> Result<String> {
    match v {
        Value::String(s) => Ok(s.clone()),
        Value::Bool(b) => Ok(b.to_string()),
        Value::Number(n) => Ok(n.to_string()),
        _ => Err(anyhow!(
            "context values must be strings or arrays of strings"
        )),
    }
}

pub fn run(args: &SimulateArgs) -> Result<Exit> {
    let text = std::fs::read_to_string(&args.request)
        .with_context(|| format!("cannot read {}", args.request.display()))?;
    let v: Value = serde_json::from_str(&text)
        .with_context(|| format!("{}: not JSON", args.request.display()))?;
    let p = parse(&v).with_context(|| format!("{}", args.request.display()))?;
    let input = AuthzInput {
        request: &p.request,
        identity_policies: &p.identity,
        resource_policy: p.resource.as_ref(),
        permissions_boundary: p.boundary.as_ref(),
        session_policy: p.session.as_ref(),
        scps: &p.scps,
    };
    let auth = authorize(&input);
    let matched: Vec<Value> = auth
        .matched
        .iter()
        .map(|m| {
            json!({"layer": m.layer, "policy_index": m.policy_index, "statement": m.statement_index.to_string(),
                   "sid": m.sid, "effect": m.effect})
        })
        .collect();
    let out_v = json!({"decision": auth.decision, "matched": matched, "denied_by": auth.denied_by});
    let mut out = open_output(None)?;
    match args.format.unwrap_or(if stdout_is_terminal(None) {
        OfflineFormat::Table
    } else {
        OfflineFormat::Json
    }) {
        OfflineFormat::Json => {
            serde_json::to_writer_pretty(&mut out, &out_v)?;
            writeln!(out)?;
        }
        OfflineFormat::Table => {
            writeln!(
                out,
                "decision  {}",
                out_v["decision"].as_str().unwrap_or_default()
            )?;
            if let Some(l) = out_v["denied_by"].as_str() {
                writeln!(out, "denied by {l}")?;
            }
            for m in &matched {
                writeln!(
                    out,
                    "matched   {} policy {} statement {} ({})",
                    m["layer"].as_str().unwrap_or_default(),
                    m["policy_index"],
                    m["statement"].as_str().unwrap_or_default(),
                    m["effect"].as_str().unwrap_or_default()
                )?;
            }
        }
    }
    out.flush()?;
    Ok(Exit::Ok)
}
