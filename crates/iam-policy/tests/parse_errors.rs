//! Exact parse error messages: each names what is wrong and, for statement errors, the
//! statement's index.
#![allow(clippy::unwrap_used, clippy::expect_used, reason = "tests")]

use iam_policy::{Policy, PolicyError, StatementError};

fn err(text: &str) -> String {
    Policy::parse(text).unwrap_err().to_string()
}

#[test]
fn document_level_messages() {
    assert_eq!(err(""), "policy text is empty");
    assert_eq!(err("   \n"), "policy text is empty");
    assert_eq!(err("[]"), "policy must be a json object, found an array");
    assert_eq!(err("42"), "policy must be a json object, found a number");
    assert_eq!(err("null"), "policy must be a json object, found null");
    assert_eq!(
        err("\"\\\"x\\\"\""),
        "policy must be a json object, found a string"
    );
    assert!(err("{\"Statement\": [").starts_with("policy is not valid json: "));
    assert!(err("not a policy").starts_with("policy is not valid json: "));
    assert_eq!(
        err("%FF%FE"),
        "policy url-encoding does not decode to utf-8 text"
    );
    assert_eq!(
        err("{\"Version\":\"2012-10-17\"}"),
        "policy has no Statement element"
    );
    assert_eq!(
        err("{\"Version\":\"2012-10-18\",\"Statement\":[]}"),
        "unsupported policy Version \"2012-10-18\""
    );
    assert_eq!(
        err("{\"Version\":2012,\"Statement\":[]}"),
        "unsupported policy Version 2012"
    );
    assert_eq!(
        err("{\"Id\":1,\"Statement\":[]}"),
        "the Id element must be a string"
    );
    assert_eq!(
        err("{\"Statement\":\"Allow\"}"),
        "the Statement element must be an object or an array of objects"
    );
    // a string containing a string containing ... more layers than allowed
    let mut text = "{\"Statement\":[]}".to_owned();
    for _ in 0..6 {
        text = serde_json::to_string(&text).unwrap();
    }
    assert_eq!(
        err(&text),
        "policy is wrapped in more than 4 layers of string encoding"
    );
}

#[test]
fn statement_level_messages_name_the_index() {
    let cases = [
        (r#"[1]"#, "statement 0: statement must be a json object"),
        (r#"[{"Action":"*"}]"#, "statement 0: Effect is missing"),
        (
            r#"[{"Effect":"Allow","Action":"*"},{"Effect":"allow","Action":"*"}]"#,
            "statement 1: Effect must be \"Allow\" or \"Deny\", found \"allow\"",
        ),
        (r#"[{"Effect":"Allow","Action":"*","Sid":7}]"#, "statement 0: Sid must be a string"),
        (
            r#"[{"Effect":"Allow","Action":"*","NotAction":"iam:*"}]"#,
            "statement 0: both Action and NotAction are present",
        ),
        (
            r#"[{"Effect":"Allow","Action":"*","Resource":"*","NotResource":"x"}]"#,
            "statement 0: both Resource and NotResource are present",
        ),
        (
            r#"[{"Effect":"Allow","Action":"*","Principal":"*","NotPrincipal":"*"}]"#,
            "statement 0: both Principal and NotPrincipal are present",
        ),
        (r#"[{"Effect":"Deny"}]"#, "statement 0: neither Action nor NotAction is present"),
        (
            r#"[{"Effect":"Allow","Action":["s3:*",3]}]"#,
            "statement 0: Action must be a string or an array of strings",
        ),
        (
            r#"[{"Effect":"Allow","Action":"*","Resource":{}}]"#,
            "statement 0: Resource must be a string or an array of strings",
        ),
        (
            r#"[{"Effect":"Allow","Action":"*","Principal":"arn:aws:iam::1:root"}]"#,
            "statement 0: Principal must be \"*\" or an object mapping principal types to values",
        ),
        (
            r#"[{"Effect":"Allow","Action":"*","NotPrincipal":{"Aws":"1"}}]"#,
            "statement 0: unknown principal type \"Aws\" in NotPrincipal",
        ),
        (
            r#"[{"Effect":"Allow","Action":"*","Principal":{"AWS":[1]}}]"#,
            "statement 0: Principal must be a string or an array of strings",
        ),
        (
            r#"[{"Effect":"Allow","Action":"*","Condition":[]}]"#,
            "statement 0: Condition must be an object mapping operators to keys",
        ),
        (
            r#"[{"Effect":"Allow","Action":"*","Condition":{"StringEquals":"x"}}]"#,
            "statement 0: condition operator \"StringEquals\" must map to an object of keys",
        ),
        (
            r#"[{"Effect":"Allow","Action":"*","Condition":{"StringEquals":{"aws:username":null}}}]"#,
            "statement 0: condition \"StringEquals\" key \"aws:username\" must be a string, boolean or number or an array of them",
        ),
        (
            r#"[{"Effect":"Allow","Action":"*","Condition":{"StringEquals":{"k":[{"a":1}]}}}]"#,
            "statement 0: condition \"StringEquals\" key \"k\" must be a string, boolean or number or an array of them",
        ),
    ];
    for (statements, expected) in cases {
        let text = format!("{{\"Version\":\"2012-10-17\",\"Statement\":{statements}}}");
        assert_eq!(err(&text), expected, "for {statements}");
    }
}

#[test]
fn errors_are_typed() {
    let e = Policy::parse(r#"{"Statement":[{"Effect":"Allow","Action":"*"},{"Action":"*"}]}"#)
        .unwrap_err();
    assert_eq!(
        e,
        PolicyError::Statement {
            index: 1,
            kind: StatementError::MissingEffect
        }
    );
}

#[test]
fn tolerated_forms_parse() {
    // unknown fields, lone statement object, no Version, string-or-array everywhere
    let p = Policy::parse(
        r#"{"Comment":"x","Statement":{"Effect":"Allow","Action":"sts:AssumeRole",
            "Principal":{"AWS":"123456789012"},"Unknown":1}}"#,
    )
    .unwrap();
    assert_eq!(p.statements.len(), 1);
    assert_eq!(p.version, iam_policy::PolicyVersion::Missing);
    assert_eq!(p.statements[0].resource, None);
    // an unknown operator is not a parse error
    let p = Policy::parse(
        r#"{"Statement":[{"Effect":"Allow","Action":"*","Condition":{"StringEqualz":{"k":"v"}}}]}"#,
    )
    .unwrap();
    assert!(matches!(
        p.statements[0].conditions[0].operator.base,
        iam_policy::BaseOperator::Unknown(_)
    ));
}
