//! Dev tool for `scripts/crosscheck/fixes.sh`: reads cross-check cases (NDJSON, from
//! `crosscheck gen`), takes each GitHub OIDC trust case, asks trailwhy for its fixes, and writes
//! one case per verified alternative with the fix applied (the patched trust policy as the
//! resource policy, or the subject/audience a workflow fix makes the job send). Every case it
//! writes should then be allowed by both evaluators.
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
            continue;
        }
        let context = case["request"]["context"].as_object().cloned().unwrap_or_default();
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
            patched["request"]["context"][format!("{issuer}:iss")] = json!(format!("https://{issuer}"));
            patched["name"] = json!(format!("{}/fix{i}-{}", case["name"].as_str().unwrap_or(""), fix.change.kind.code()));
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
                let key = if summary.contains("audience") { AUD } else { SUB };
                patched["request"]["context"][key] = json!(value);
            }
            writeln!(out, "{patched}")?;
            written += 1;
        }
    }
    eprintln!("fix_cases: {read} trust cases read, {written} fixed cases written");
    Ok(())
}
