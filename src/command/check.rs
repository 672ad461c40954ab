//! `trailwhy check`: would this trust policy accept this token? Offline, no logs needed.

use std::io::Write;

use anyhow::{bail, Context as _, Result};
use iam_policy::{Policy, PrincipalKind, PrincipalSpec};
use serde_json::json;

use super::{open_output, stdout_is_terminal, Exit};
use crate::cli::{CheckArgs, OfflineFormat};
use trailwhy::explain::trust::{diagnose, Token};
use trailwhy::report::{describe_evidence, sanitize::terminal_safe};

pub fn run(args: &CheckArgs) -> Result<Exit> {
    let text = std::fs::read_to_string(&args.trust_policy)
        .with_context(|| format!("cannot read {}", args.trust_policy.display()))?;
    let policy = Policy::parse(&text)
        .with_context(|| format!("{}: not a valid policy", args.trust_policy.display()))?;
    let provider = match &args.provider {
        Some(p) => p.clone(),
        None => default_provider(&policy)?,
    };
    let token = Token {
        provider: &provider,
        audience: Some(&args.aud),
        subject: &args.sub,
        session_name: None,
        request: None,
    };
    let d = diagnose(&policy, &token, None);
    let role_arn = args.role_arn.clone().unwrap_or_else(|| {
        format!(
            "arn:aws:iam::{}:role/ROLE",
            trailwhy::event::arn_account(&provider).unwrap_or("ACCOUNT")
        )
    });
    // the trust policy alone: the provider is taken to exist and register the audience
    let fixes = trailwhy::explain::fix::trust::fixes(&trailwhy::explain::fix::trust::Situation {
        token: token.clone(),
        role_arn: &role_arn,
        trust: Some(&policy),
        provider: trailwhy::explain::fix::trust::Provider::Exists(None),
        max_session: None,
        duration: None,
        other_roles: Vec::new(),
    });
    let fix = fixes.first().map_or_else(|| d.fix.clone(), |f| f.text());
    let mut out = open_output(None)?;
    match args.format.unwrap_or(if stdout_is_terminal(None) {
        OfflineFormat::Table
    } else {
        OfflineFormat::Json
    }) {
        OfflineFormat::Json => {
            let v = json!({
                "decision": d.decision,
                "cause": d.cause,
                "evidence": d.evidence,
                "explanation": d.explanation,
                "fix": fix,
                "fixes": fixes,
                "provider": provider,
                "sub": args.sub,
                "aud": args.aud,
            });
            serde_json::to_writer_pretty(&mut out, &v)?;
            writeln!(out)?;
        }
        OfflineFormat::Table => {
            let decision = serde_json::to_value(d.decision)?;
            writeln!(out, "decision  {}", decision.as_str().unwrap_or_default())?;
            writeln!(out, "cause     {}", d.cause.code())?;
            writeln!(out, "why       {}", terminal_safe(&d.explanation))?;
            for e in &d.evidence {
                writeln!(out, "evidence  {}", terminal_safe(&describe_evidence(e)))?;
            }
            if !fix.is_empty() {
                writeln!(out, "fix       {}", terminal_safe(&fix))?;
            }
            for other in fixes.iter().skip(1) {
                writeln!(out, "or        {}", terminal_safe(&other.change.summary))?;
            }
        }
    }
    out.flush()?;
    Ok(Exit::Ok)
}

/// The provider the policy trusts: the GitHub one if present, else the only Federated principal.
fn default_provider(policy: &Policy) -> Result<String> {
    let mut federated: Vec<&str> = Vec::new();
    for s in &policy.statements {
        if let Some(PrincipalSpec::Principal(set)) = &s.principal {
            for (k, v) in &set.entries {
                if *k == PrincipalKind::Federated && !federated.contains(&v.as_str()) {
                    federated.push(v);
                }
            }
        }
    }
    if let Some(gh) = federated
        .iter()
        .find(|f| f.ends_with("oidc-provider/token.actions.githubusercontent.com"))
    {
        return Ok((*gh).to_owned());
    }
    match federated.as_slice() {
        [one] => Ok((*one).to_owned()),
        [] => bail!("the policy trusts no federated provider: pass --provider ARN"),
        _ => bail!(
            "the policy trusts several federated providers ({}): pass --provider ARN",
            federated.join(", ")
        ),
    }
}
