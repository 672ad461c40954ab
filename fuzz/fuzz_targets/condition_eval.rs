//! Structured input: a small policy (statements with actions, resources, principals and
//! conditions whose operators come from IAM's real list, with qualifiers, `IfExists` and a few
//! wrong names) and a request (principal, action, resource, single- and multi-valued context
//! keys), all built from fragments rich in `*`, `?`, `${…}` variables, numbers, dates, IPs and
//! ARNs.
//!
//! Checked: no panic; `evaluate` and `decide` agree; the canonical JSON round trip evaluates the
//! same; without `${` the policy version does not change the outcome; `operator_matches` agrees
//! with a one-condition policy; `authorize` with the policy in several layers keeps its own
//! rules (a deny anywhere is an explicit deny, an allow needs no deny and an allowing layer);
//! `wildcard_match`, `action_matches` and `arn_matches` agree with a dynamic-programming
//! reference on short inputs.
#![no_main]

use arbitrary::Arbitrary;
use iam_policy::{
    action_matches, arn_matches, authorize, decide, evaluate, operator_matches, wildcard_match,
    AuthzInput, BaseOperator, ContextValue, Decision, Policy, PolicyDecision, Request,
    RequestPrincipal,
};
use libfuzzer_sys::fuzz_target;
use serde_json::{json, Map, Value};

/// Every base operator IAM knows, and names it does not.
const OPERATORS: &[&str] = &[
    "StringEquals",
    "StringNotEquals",
    "StringEqualsIgnoreCase",
    "StringNotEqualsIgnoreCase",
    "StringLike",
    "StringNotLike",
    "NumericEquals",
    "NumericNotEquals",
    "NumericLessThan",
    "NumericLessThanEquals",
    "NumericGreaterThan",
    "NumericGreaterThanEquals",
    "DateEquals",
    "DateNotEquals",
    "DateLessThan",
    "DateLessThanEquals",
    "DateGreaterThan",
    "DateGreaterThanEquals",
    "Bool",
    "BinaryEquals",
    "IpAddress",
    "NotIpAddress",
    "ArnEquals",
    "ArnLike",
    "ArnNotEquals",
    "ArnNotLike",
    "Null",
    "stringequals",
    "IfExists",
    "ForSomeValues:StringEquals",
];

const KEYS: &[&str] = &[
    "aws:username",
    "AWS:UserName",
    "aws:SourceIp",
    "aws:CurrentTime",
    "aws:EpochTime",
    "aws:SecureTransport",
    "aws:MultiFactorAuthAge",
    "aws:TagKeys",
    "aws:PrincipalArn",
    "aws:PrincipalAccount",
    "aws:ResourceAccount",
    "aws:PrincipalTag/team",
    "token.actions.githubusercontent.com:sub",
    "token.actions.githubusercontent.com:aud",
    "s3:prefix",
];

const LITERALS: &[&str] = &[
    "",
    "a",
    "B",
    "é",
    "ß",
    "İ",
    ":",
    "/",
    "-",
    ".",
    ",",
    "'",
    "}",
    "${",
    "0",
    "10",
    "-1.5",
    "007",
    "3600",
    "1e3",
    "true",
    "FALSE",
    "2020-01-01",
    "2020-01-01T00:00:00Z",
    "2026-10-01T10:00:00+01:00",
    "1577836800",
    "10.0.0.0/8",
    "203.0.113.5",
    "2001:db8::/32",
    "::ffff:10.1.1.1",
    "0.0.0.0/0",
    "111122223333",
    "arn:aws:iam::111122223333:role/deploy",
    "arn:aws:sts::111122223333:assumed-role/deploy/GitHubActions",
    "arn:aws:iam::111122223333:root",
    "arn:aws:s3:::bucket/key",
    "arn:aws:ecr:eu-west-1:444455556666:repository/web",
    "repo:acme/web:ref:refs/heads/main",
    "repo:acme/*",
    "sts.amazonaws.com",
    "s3:GetObject",
    "ecr:*",
];

#[derive(Arbitrary, Debug)]
enum Frag {
    Lit(u8),
    Char(char),
    Star,
    Question,
    Var(u8),
    VarDefault(u8, u8),
    Escape(u8),
    Unclosed,
}

#[derive(Arbitrary, Debug)]
struct Text(Vec<Frag>);

impl Text {
    fn render(&self) -> String {
        let mut s = String::new();
        for f in self.0.iter().take(6) {
            match f {
                Frag::Lit(i) => s.push_str(pick(LITERALS, *i)),
                Frag::Char(c) => s.push(*c),
                Frag::Star => s.push('*'),
                Frag::Question => s.push('?'),
                Frag::Var(k) => {
                    s.push_str("${");
                    s.push_str(pick(KEYS, *k));
                    s.push('}');
                }
                Frag::VarDefault(k, d) => {
                    s.push_str("${");
                    s.push_str(pick(KEYS, *k));
                    s.push_str(", '");
                    s.push_str(pick(LITERALS, *d));
                    s.push_str("'}");
                }
                Frag::Escape(e) => s.push_str(pick(&["${*}", "${?}", "${$}"], *e)),
                Frag::Unclosed => s.push_str("${aws:username"),
            }
        }
        s
    }
}

/// A condition value as written in JSON.
#[derive(Arbitrary, Debug)]
enum CondValue {
    Text(Text),
    Number(i32),
    Bool(bool),
}

#[derive(Arbitrary, Debug)]
struct Cond {
    qualifier: u8,
    operator: u8,
    if_exists: bool,
    key: u8,
    values: Vec<CondValue>,
    as_array: bool,
}

#[derive(Arbitrary, Debug)]
enum PrincipalGen {
    Star,
    Aws(Vec<Text>),
    Federated(Text),
    Service(Text),
    Mixed(Text, Text),
}

#[derive(Arbitrary, Debug)]
struct Stmt {
    deny: bool,
    not_action: bool,
    actions: Vec<Text>,
    resource: Option<(bool, Vec<Text>)>,
    principal: Option<(bool, PrincipalGen)>,
    conditions: Vec<Cond>,
    sid: bool,
}

#[derive(Arbitrary, Debug)]
enum ContextGen {
    Single(Text),
    Multi(Vec<Text>),
}

#[derive(Arbitrary, Debug)]
struct RequestGen {
    principal: Option<(u8, Text)>,
    action: Text,
    resource: Option<Text>,
    context: Vec<(u8, ContextGen)>,
}

#[derive(Arbitrary, Debug)]
struct Input {
    version: u8,
    statements: Vec<Stmt>,
    request: RequestGen,
    second_policy: Vec<Stmt>,
    /// `operator_matches` probe: operator, expected, actual.
    probe: (u8, Text, Text),
    /// Wildcard probe: pattern and value from a small alphabet.
    pattern: Vec<u8>,
    value: Vec<u8>,
}

fn pick<'a>(list: &[&'a str], i: u8) -> &'a str {
    list[usize::from(i) % list.len()]
}

fn strings_value(texts: &[Text]) -> Value {
    let items: Vec<Value> = texts
        .iter()
        .take(3)
        .map(|t| Value::String(t.render()))
        .collect();
    match items.as_slice() {
        [one] => one.clone(),
        _ => Value::Array(items),
    }
}

fn condition_value(v: &CondValue) -> Value {
    match v {
        CondValue::Text(t) => Value::String(t.render()),
        CondValue::Number(n) => json!(n),
        CondValue::Bool(b) => json!(b),
    }
}

fn operator_name(c: &Cond) -> String {
    let qualifier = ["", "", "ForAnyValue:", "ForAllValues:"][usize::from(c.qualifier) % 4];
    let suffix = if c.if_exists { "IfExists" } else { "" };
    format!("{qualifier}{}{suffix}", pick(OPERATORS, c.operator))
}

fn statement_value(s: &Stmt, index: usize) -> Value {
    let mut obj = Map::new();
    if s.sid {
        obj.insert("Sid".into(), json!(format!("s{index}")));
    }
    obj.insert(
        "Effect".into(),
        json!(if s.deny { "Deny" } else { "Allow" }),
    );
    let action_key = if s.not_action { "NotAction" } else { "Action" };
    obj.insert(action_key.into(), strings_value(&s.actions));
    if let Some((not, resources)) = &s.resource {
        let key = if *not { "NotResource" } else { "Resource" };
        obj.insert(key.into(), strings_value(resources));
    }
    if let Some((not, principal)) = &s.principal {
        let key = if *not { "NotPrincipal" } else { "Principal" };
        let value = match principal {
            PrincipalGen::Star => json!("*"),
            PrincipalGen::Aws(ids) => json!({ "AWS": strings_value(ids) }),
            PrincipalGen::Federated(id) => json!({ "Federated": id.render() }),
            PrincipalGen::Service(id) => json!({ "Service": id.render() }),
            PrincipalGen::Mixed(aws, fed) => {
                json!({ "AWS": aws.render(), "Federated": fed.render() })
            }
        };
        obj.insert(key.into(), value);
    }
    if !s.conditions.is_empty() {
        let mut block = Map::new();
        for c in s.conditions.iter().take(4) {
            let values: Vec<Value> = c.values.iter().take(3).map(condition_value).collect();
            let value = match (values.as_slice(), c.as_array) {
                ([one], false) => one.clone(),
                _ => Value::Array(values),
            };
            let keys = block
                .entry(operator_name(c))
                .or_insert_with(|| Value::Object(Map::new()));
            if let Value::Object(keys) = keys {
                keys.insert(pick(KEYS, c.key).to_owned(), value);
            }
        }
        obj.insert("Condition".into(), Value::Object(block));
    }
    Value::Object(obj)
}

fn policy_value(version: u8, statements: &[Stmt]) -> Value {
    let mut obj = Map::new();
    match version % 3 {
        0 => {
            obj.insert("Version".into(), json!("2012-10-17"));
        }
        1 => {
            obj.insert("Version".into(), json!("2008-10-17"));
        }
        _ => {}
    }
    let list: Vec<Value> = statements
        .iter()
        .take(4)
        .enumerate()
        .map(|(i, s)| statement_value(s, i))
        .collect();
    obj.insert("Statement".into(), Value::Array(list));
    Value::Object(obj)
}

fn build_request(r: &RequestGen) -> Request {
    let mut request = Request::new(r.action.render());
    request.principal = r.principal.as_ref().map(|(kind, id)| {
        let id = id.render();
        match kind % 3 {
            0 => RequestPrincipal::aws(id),
            1 => RequestPrincipal::federated(id),
            _ => RequestPrincipal::service(id),
        }
    });
    request.resource = r.resource.as_ref().map(Text::render);
    for (key, value) in r.context.iter().take(6) {
        let value = match value {
            ContextGen::Single(t) => ContextValue::Single(t.render()),
            ContextGen::Multi(ts) => {
                ContextValue::Multi(ts.iter().take(3).map(Text::render).collect())
            }
        };
        request.context.insert(pick(KEYS, *key), value);
    }
    request
}

fuzz_target!(|input: Input| {
    let request = build_request(&input.request);
    let value = policy_value(input.version, &input.statements);
    let Ok(policy) = Policy::from_value(&value) else {
        // only an empty action list or similar can fail; nothing to evaluate
        return;
    };

    let result = evaluate(&policy, &request);
    assert_eq!(
        result.decision,
        decide(&policy, &request),
        "evaluate and decide disagree"
    );
    assert_eq!(result.statements.len(), policy.statements.len());

    // The canonical JSON evaluates the same.
    match Policy::from_value(&policy.to_value()) {
        Ok(again) => assert_eq!(
            evaluate(&again, &request),
            result,
            "round trip changed evidence"
        ),
        Err(e) => panic!("canonical JSON does not load: {e}"),
    }

    // Without variables the version is irrelevant.
    if !value.to_string().contains("${") {
        let mut other = policy.clone();
        other.version = match policy.version {
            iam_policy::PolicyVersion::V2012_10_17 => iam_policy::PolicyVersion::Missing,
            _ => iam_policy::PolicyVersion::V2012_10_17,
        };
        assert_eq!(
            evaluate(&other, &request),
            result,
            "version changed a policy without variables"
        );
    }

    probe_operator(&input.probe);
    layers(&policy, &input, &request, result.decision);
    wildcards(&input.pattern, &input.value);
});

/// `operator_matches(op, e, a)` is a one-condition policy with key present as `a`.
fn probe_operator((op, expected, actual): &(u8, Text, Text)) {
    let name = pick(OPERATORS, *op);
    let (expected, actual) = (expected.render(), actual.render());
    let base =
        BaseOperator::from_name(name).unwrap_or_else(|| BaseOperator::Unknown(name.to_owned()));
    let single = operator_matches(&base, &expected, &actual);
    let policy = json!({
        "Statement": {"Effect": "Allow", "Action": "*", "Condition": {name: {"k": expected}}}
    });
    let Ok(policy) = Policy::from_value(&policy) else {
        panic!("one-condition policy does not load");
    };
    let mut request = Request::new("s3:GetObject");
    request
        .context
        .insert("k", ContextValue::Single(actual.clone()));
    let allowed = evaluate(&policy, &request).decision == PolicyDecision::Allow;
    assert_eq!(
        single, allowed,
        "operator_matches({name}, {expected:?}, {actual:?})"
    );
}

fn layers(policy: &Policy, input: &Input, request: &Request, decision: PolicyDecision) {
    let second = Policy::from_value(&policy_value(input.version, &input.second_policy)).ok();
    let identity = vec![policy.clone()];
    let both: Vec<Policy> = std::iter::once(policy.clone())
        .chain(second.clone())
        .collect();
    let scps = vec![vec![policy.clone()], both.clone()];
    let inputs = [
        AuthzInput {
            request,
            identity_policies: &identity,
            resource_policy: None,
            permissions_boundary: None,
            session_policy: None,
            scps: &[],
        },
        AuthzInput {
            request,
            identity_policies: &both,
            resource_policy: Some(policy),
            permissions_boundary: second.as_ref(),
            session_policy: Some(policy),
            scps: &scps,
        },
        AuthzInput {
            request,
            identity_policies: &[],
            resource_policy: second.as_ref(),
            permissions_boundary: Some(policy),
            session_policy: None,
            scps: &scps[..1],
        },
    ];
    for (i, authz_input) in inputs.iter().enumerate() {
        let auth = authorize(authz_input);
        let any_deny = auth
            .layers
            .iter()
            .any(|l| l.result.decision == PolicyDecision::ExplicitDeny);
        assert_eq!(
            auth.decision == Decision::ExplicitDeny,
            any_deny,
            "input {i}: explicit deny must come from a denying layer"
        );
        match auth.decision {
            Decision::Allow => {
                assert!(
                    auth.denied_by.is_none(),
                    "input {i}: allowed, yet denied_by"
                );
                assert!(
                    !auth.matched.is_empty(),
                    "input {i}: allowed by no statement"
                );
            }
            Decision::ImplicitDeny | Decision::ExplicitDeny => {
                assert!(auth.denied_by.is_some(), "input {i}: denied by no layer")
            }
        }
        if i == 0 {
            // the policy alone, as the only identity policy
            if decision == PolicyDecision::ExplicitDeny {
                assert_eq!(auth.decision, Decision::ExplicitDeny);
            }
            if auth.decision == Decision::Allow {
                assert_eq!(decision, PolicyDecision::Allow);
            }
        }
    }
}

/// Maps bytes to a small alphabet where wildcards and multi-byte characters are common.
fn small_text(bytes: &[u8], wild: bool) -> String {
    let alphabet: &[char] = if wild {
        &['a', 'b', 'A', '*', '?', ':', 'é', 'É', 'ß']
    } else {
        &['a', 'b', 'A', ':', 'é', 'É', 'ß', '*', '?']
    };
    bytes
        .iter()
        .take(12)
        .map(|b| alphabet[usize::from(*b) % alphabet.len()])
        .collect()
}

/// Obviously correct: `dp[i][j]` says whether `p[i..]` matches `v[j..]`.
fn reference(pattern: &str, value: &str, fold: bool) -> bool {
    let p: Vec<char> = pattern.chars().collect();
    let v: Vec<char> = value.chars().collect();
    let same = |a: char, b: char| a == b || (fold && a.to_lowercase().eq(b.to_lowercase()));
    let mut dp = vec![vec![false; v.len() + 1]; p.len() + 1];
    dp[p.len()][v.len()] = true;
    for i in (0..p.len()).rev() {
        for j in (0..=v.len()).rev() {
            dp[i][j] = match p[i] {
                '*' => dp[i + 1][j] || (j < v.len() && dp[i][j + 1]),
                '?' => j < v.len() && dp[i + 1][j + 1],
                c => j < v.len() && same(c, v[j]) && dp[i + 1][j + 1],
            };
        }
    }
    dp[0][0]
}

fn arn_reference(pattern: &str, arn: &str) -> bool {
    let p: Vec<&str> = pattern.splitn(6, ':').collect();
    let a: Vec<&str> = arn.splitn(6, ':').collect();
    p.len() == 6 && a.len() == 6 && p.iter().zip(&a).all(|(p, a)| reference(p, a, false))
}

fn wildcards(pattern: &[u8], value: &[u8]) {
    let pattern = small_text(pattern, true);
    let value = small_text(value, false);
    assert_eq!(
        wildcard_match(&pattern, &value),
        reference(&pattern, &value, false),
        "wildcard_match({pattern:?}, {value:?})"
    );
    assert_eq!(
        action_matches(&pattern, &value),
        reference(&pattern, &value, true),
        "action_matches({pattern:?}, {value:?})"
    );
    let arn_pattern = format!("arn:aws:s3:{pattern}");
    let arn_value = format!("arn:aws:s3:{value}");
    assert_eq!(
        arn_matches(&arn_pattern, &arn_value),
        arn_reference(&arn_pattern, &arn_value),
        "arn_matches({arn_pattern:?}, {arn_value:?})"
    );
}
