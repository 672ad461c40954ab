//! Property tests: the wildcard matcher against a naive reference, literal patterns, ARN and
//! action matching against their definitions, Deny-beats-Allow under any statement order, and
//! parsing that never panics on arbitrary text or JSON.
#![allow(clippy::unwrap_used, clippy::expect_used, reason = "tests")]

use iam_policy::{
    action_matches, arn_matches, evaluate, wildcard_match, Context, ContextValue, Policy,
    PolicyDecision, Request,
};
use proptest::prelude::*;
use serde_json::{json, Value};

/// Obviously-correct exponential reference: `*` tries every split, `?` takes one char.
fn reference(pattern: &[char], value: &[char]) -> bool {
    match pattern.split_first() {
        None => value.is_empty(),
        Some(('*', rest)) => (0..=value.len()).any(|i| reference(rest, &value[i..])),
        Some(('?', rest)) => !value.is_empty() && reference(rest, &value[1..]),
        Some((c, rest)) => value.first() == Some(c) && reference(rest, &value[1..]),
    }
}

fn chars(s: &str) -> Vec<char> {
    s.chars().collect()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn wildcard_agrees_with_reference(pattern in "[ab*?/:]{0,9}", value in "[ab/:é]{0,12}") {
        prop_assert_eq!(
            wildcard_match(&pattern, &value),
            reference(&chars(&pattern), &chars(&value)),
            "pattern {:?} value {:?}", pattern, value
        );
    }

    #[test]
    fn wildcard_agrees_with_reference_on_related_values(pattern in "[ab*?:]{0,8}", fill in "[ab:]{0,3}") {
        // values built from the pattern itself hit the matching cases far more often
        let value: String = pattern.replace('*', &fill).replace('?', "b");
        prop_assert!(wildcard_match(&pattern, &value));
        prop_assert_eq!(wildcard_match(&pattern, &value), reference(&chars(&pattern), &chars(&value)));
    }

    #[test]
    fn literal_pattern_matches_exactly_itself(literal in "[a-zA-Z0-9/:._-]{0,16}", other in "[a-zA-Z0-9/:._-]{0,16}") {
        prop_assert!(wildcard_match(&literal, &literal));
        prop_assert_eq!(wildcard_match(&literal, &other), literal == other);
    }

    #[test]
    fn action_matching_ignores_ascii_case(pattern in "[aBc*?:]{0,8}", value in "[AbC:]{0,10}") {
        prop_assert_eq!(
            action_matches(&pattern, &value),
            wildcard_match(&pattern.to_ascii_lowercase(), &value.to_ascii_lowercase())
        );
    }

    #[test]
    fn arn_matching_is_partwise(
        pattern_parts in proptest::collection::vec("[ab*?/]{0,4}", 6),
        value_parts in proptest::collection::vec("[ab/]{0,4}", 6),
    ) {
        let pattern = pattern_parts.join(":");
        let value = value_parts.join(":");
        let expected = pattern_parts.iter().zip(&value_parts).all(|(p, v)| wildcard_match(p, v));
        prop_assert_eq!(arn_matches(&pattern, &value), expected);
    }

    #[test]
    fn arn_with_too_few_parts_never_matches(parts in proptest::collection::vec("[ab*]{0,4}", 1..6), value in "[ab:]{0,20}") {
        prop_assert!(!arn_matches(&parts.join(":"), &value));
    }

    #[test]
    fn deny_beats_allow_in_any_order(
        allows in proptest::collection::vec((any::<bool>(), any::<bool>()), 0..6),
        deny_at in any::<prop::sample::Index>(),
        seed in any::<u64>(),
    ) {
        // allow statements: (matches the action?, condition true?)
        let mut statements: Vec<Value> = allows
            .iter()
            .map(|(action_hit, cond_hit)| json!({
                "Effect": "Allow",
                "Action": if *action_hit { "s3:Get*" } else { "s3:Put*" },
                "Resource": "*",
                "Condition": {"StringEquals": {"aws:username": if *cond_hit { "alice" } else { "bob" }}}
            }))
            .collect();
        let deny = json!({"Effect": "Deny", "Action": "s3:*", "Resource": "arn:aws:s3:::b/*"});
        let pos = deny_at.index(statements.len() + 1);
        statements.insert(pos, deny);
        // a deterministic shuffle of the remaining order
        let mut order: Vec<usize> = (0..statements.len()).collect();
        let mut state = seed | 1;
        for i in (1..order.len()).rev() {
            state ^= state << 13; state ^= state >> 7; state ^= state << 17;
            order.swap(i, usize::try_from(state % (i as u64 + 1)).unwrap());
        }
        let shuffled: Vec<Value> = order.iter().map(|i| statements[*i].clone()).collect();
        let deny_index = order.iter().position(|i| *i == pos).unwrap();
        let policy = Policy::from_value(&json!({"Version": "2012-10-17", "Statement": shuffled})).unwrap();

        let mut request = Request::new("s3:GetObject");
        request.resource = Some("arn:aws:s3:::b/k".into());
        request.context.insert("aws:username", ContextValue::from("alice"));
        let result = evaluate(&policy, &request);
        prop_assert_eq!(result.decision, PolicyDecision::ExplicitDeny);
        prop_assert!(result.statements[deny_index].applies);
        prop_assert_eq!(iam_policy::decide(&policy, &request), PolicyDecision::ExplicitDeny);

        // without the deny's resource, the allows decide
        request.resource = Some("arn:aws:s3:::other/k".into());
        let any_allow = allows.iter().any(|(a, c)| *a && *c);
        let expected = if any_allow { PolicyDecision::Allow } else { PolicyDecision::NotApplicable };
        prop_assert_eq!(evaluate(&policy, &request).decision, expected);
    }

    #[test]
    fn parse_never_panics_on_text(text in any::<String>()) {
        let _ = Policy::parse(&text);
    }

    #[test]
    fn parse_never_panics_on_jsonish_text(text in r#"[{}\[\]":,%+ 0-9a-zA-Z*]{0,64}"#) {
        let _ = Policy::parse(&text);
        let _ = Policy::parse(&format!("{{\"Statement\":{text}}}"));
    }

    #[test]
    fn from_value_never_panics_and_round_trips(value in arb_json()) {
        let _ = Policy::from_value(&value);
        let doc = json!({"Version": "2012-10-17", "Statement": value});
        if let Ok(policy) = Policy::from_value(&doc) {
            let again = Policy::from_value(&policy.to_value()).unwrap();
            prop_assert_eq!(again, policy);
        }
    }

    #[test]
    fn statements_with_generated_elements_parse_or_fail_cleanly(stmt in arb_statement()) {
        let doc = json!({"Version": "2012-10-17", "Statement": [stmt]});
        if let Ok(policy) = Policy::from_value(&doc) {
            let _ = evaluate(&policy, &Request::new("s3:GetObject"));
            let text = serde_json::to_string(&policy.to_value()).unwrap();
            prop_assert_eq!(Policy::parse(&text).unwrap(), policy);
        }
    }
}

fn arb_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(|n| json!(n)),
        "[A-Za-z*:/ ]{0,8}".prop_map(Value::String),
        prop_oneof![
            Just("Effect"),
            Just("Allow"),
            Just("Deny"),
            Just("Action"),
            Just("Resource"),
            Just("Principal"),
            Just("Condition"),
            Just("StringEquals"),
            Just("*"),
        ]
        .prop_map(|s| Value::String(s.into())),
    ];
    leaf.prop_recursive(6, 64, 6, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            proptest::collection::btree_map(
                prop_oneof![
                    Just("Effect".to_owned()),
                    Just("Action".to_owned()),
                    Just("NotAction".to_owned()),
                    Just("Resource".to_owned()),
                    Just("Principal".to_owned()),
                    Just("Condition".to_owned()),
                    Just("AWS".to_owned()),
                    Just("StringLike".to_owned()),
                    "[a-z:]{1,6}",
                ],
                inner,
                0..6,
            )
            .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

fn arb_statement() -> impl Strategy<Value = Value> {
    let strings = prop_oneof![
        "[a-z0-9:*?/]{0,10}".prop_map(Value::String),
        proptest::collection::vec("[a-z0-9:*?/]{0,10}".prop_map(Value::String), 0..3)
            .prop_map(Value::Array),
    ];
    let scalar = prop_oneof![
        "[a-z0-9.]{0,6}".prop_map(Value::String),
        any::<bool>().prop_map(Value::Bool),
        any::<u32>().prop_map(|n| json!(n)),
        Just(json!(1.5)),
    ];
    let values = prop_oneof![
        scalar.clone(),
        proptest::collection::vec(scalar, 0..3).prop_map(Value::Array),
    ];
    let operator = prop_oneof![
        Just("StringEquals"),
        Just("ForAnyValue:StringLike"),
        Just("NumericLessThanIfExists"),
        Just("Null"),
        Just("Bogus"),
        Just("DateGreaterThan"),
        Just("IpAddress"),
        Just("Bool"),
    ];
    (
        prop_oneof![Just("Allow"), Just("Deny")],
        strings.clone(),
        proptest::option::of(strings),
        proptest::collection::btree_map(
            operator,
            proptest::collection::btree_map("[a-z:]{1,8}", values, 1..3),
            0..3,
        ),
        proptest::option::of(prop_oneof![
            Just(json!("*")),
            Just(json!({"AWS": ["123456789012", "arn:aws:iam::123456789012:role/r"]})),
            Just(json!({"Federated": "accounts.google.com", "Service": "ec2.amazonaws.com"})),
        ]),
    )
        .prop_map(|(effect, action, resource, conditions, principal)| {
            let mut s = json!({"Effect": effect, "Action": action});
            if let Some(r) = resource {
                s["Resource"] = r;
            }
            if let Some(p) = principal {
                s["Principal"] = p;
            }
            if !conditions.is_empty() {
                s["Condition"] = serde_json::to_value(conditions).unwrap();
            }
            s
        })
}

#[test]
fn deep_nesting_is_rejected_not_overflowed() {
    for depth in [65usize, 1_000, 200_000] {
        let text = format!(
            "{{\"Statement\":{}{}}}",
            "[".repeat(depth),
            "]".repeat(depth)
        );
        let err = Policy::parse(&text).unwrap_err();
        assert_eq!(
            err.to_string(),
            "policy document nests deeper than 64 levels"
        );
    }
    // deep value built by hand (serde_json's own parser would refuse it)
    let mut v = json!("x");
    for _ in 0..500 {
        v = Value::Array(vec![v]);
    }
    let doc = json!({"Statement": v});
    assert_eq!(
        Policy::from_value(&doc).unwrap_err().to_string(),
        "policy document nests deeper than 64 levels"
    );
}

#[test]
fn oversized_documents_are_rejected() {
    let big = format!(
        "{{\"Statement\":{{\"Effect\":\"Allow\",\"Action\":\"*\",\"Sid\":\"{}\"}}}}",
        "a".repeat(1024 * 1024)
    );
    let err = Policy::parse(&big).unwrap_err();
    assert!(err.to_string().starts_with("policy document is "), "{err}");
    let value: Value = serde_json::from_str(&big).unwrap();
    assert!(Policy::from_value(&value).is_err());
}

#[test]
fn pathological_wildcards_stay_fast() {
    let pattern = format!("{}b", "*a".repeat(40));
    let value = "a".repeat(20_000);
    let start = std::time::Instant::now();
    assert!(!wildcard_match(&pattern, &value));
    assert!(wildcard_match(&format!("{}*", "*a".repeat(40)), &value));
    assert!(start.elapsed() < std::time::Duration::from_secs(2));
}

#[test]
fn context_lookup_is_case_insensitive() {
    let mut ctx = Context::new();
    ctx.insert("aws:SourceIp", ContextValue::from("1.2.3.4"));
    assert!(ctx.get("AWS:SOURCEIP").is_some());
}
