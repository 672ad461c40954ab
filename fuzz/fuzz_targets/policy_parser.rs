//! Arbitrary text → `Policy::parse` (JSON, double-encoded JSON strings, URL-encoded JSON).
//!
//! Checked: no panic; and for documents well below the size cap: a parsed policy's canonical
//! JSON (`to_value`) is accepted by `from_value` and by `parse` (as text), gives back an equal
//! policy and is a fixed point; when the text is a plain JSON object, `from_value` on it agrees
//! with `parse`; `evaluate` and `decide` agree on a few fixed requests.
#![no_main]

use iam_policy::{
    decide, evaluate, Context, ContextValue, Policy, Request, RequestPrincipal, MAX_DOCUMENT_BYTES,
};
use libfuzzer_sys::fuzz_target;
use serde_json::Value;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let parsed = Policy::parse(text);
    // Near the 1 MiB cap the forms legitimately differ in size: `from_value` estimates the size
    // of a JSON value (a number counts 8 bytes) and canonical JSON writes numbers as strings.
    // Far below it they must agree.
    let well_below_cap = text.len() <= MAX_DOCUMENT_BYTES / 16;

    if let (true, Ok(value @ Value::Object(_))) =
        (well_below_cap, serde_json::from_str::<Value>(text))
    {
        if let Ok(p) = &parsed {
            match Policy::from_value(&value) {
                Ok(q) => assert_eq!(p, &q, "parse and from_value disagree"),
                Err(e) => panic!("parse accepted the object, from_value refused it: {e}"),
            }
        }
    }

    let (Ok(policy), true) = (parsed, well_below_cap) else {
        return;
    };
    let canonical = policy.to_value();
    let again = match Policy::from_value(&canonical) {
        Ok(p) => p,
        Err(e) => panic!("canonical JSON of a parsed policy does not load: {e}\n{canonical}"),
    };
    assert_eq!(
        policy, again,
        "to_value/from_value round trip changed the policy"
    );
    assert_eq!(
        canonical,
        again.to_value(),
        "canonical JSON is not a fixed point"
    );
    let text_again = canonical.to_string();
    match Policy::parse(&text_again) {
        Ok(p) => assert_eq!(policy, p, "canonical text round trip changed the policy"),
        Err(e) => panic!("canonical text of a parsed policy does not parse: {e}\n{text_again}"),
    }
    match serde_json::to_value(&policy) {
        Ok(v) => assert_eq!(v, canonical, "Serialize differs from to_value"),
        Err(e) => panic!("a policy does not serialize: {e}"),
    }

    for request in requests() {
        let result = evaluate(&policy, &request);
        assert_eq!(result.statements.len(), policy.statements.len());
        assert_eq!(
            result.decision,
            decide(&policy, &request),
            "evaluate and decide disagree"
        );
    }
});

fn requests() -> [Request; 2] {
    let mut web = Request::new("sts:AssumeRoleWithWebIdentity");
    web.principal = Some(RequestPrincipal::federated(
        "arn:aws:iam::111122223333:oidc-provider/token.actions.githubusercontent.com",
    ));
    web.resource = Some("arn:aws:iam::111122223333:role/deploy".to_owned());
    web.context = Context::from_iter([
        (
            "token.actions.githubusercontent.com:sub",
            ContextValue::from("repo:acme/web:ref:refs/heads/main"),
        ),
        (
            "token.actions.githubusercontent.com:aud",
            ContextValue::from("sts.amazonaws.com"),
        ),
        ("aws:SourceIp", ContextValue::from("203.0.113.5")),
        (
            "aws:CurrentTime",
            ContextValue::from("2026-10-01T10:00:00Z"),
        ),
        ("aws:MultiFactorAuthAge", ContextValue::from("3600")),
        (
            "aws:TagKeys",
            ContextValue::Multi(vec!["team".to_owned(), "env".to_owned()]),
        ),
    ]);
    let mut ecr = Request::new("ecr:PutImage");
    ecr.principal = Some(RequestPrincipal::aws(
        "arn:aws:sts::111122223333:assumed-role/deploy/GitHubActions",
    ));
    ecr.resource = Some("arn:aws:ecr:eu-west-1:111122223333:repository/web".to_owned());
    ecr.context = Context::from_iter([
        ("aws:username", ContextValue::from("deploy")),
        ("aws:SecureTransport", ContextValue::from("true")),
    ]);
    [web, ecr]
}
