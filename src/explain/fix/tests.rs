use super::*;

#[test]
fn shell_words_are_quoted_when_not_plain() {
    assert_eq!(shell_word("gha-deploy"), "gha-deploy");
    assert_eq!(shell_word("a b"), "'a b'");
    assert_eq!(shell_word("x'; rm -rf /"), r"'x'\''; rm -rf /'");
    assert_eq!(shell_word(""), "''");
}

#[test]
fn kind_codes_match_serde_names() {
    for k in [
        FixKind::Workflow,
        FixKind::RoleToAssume,
        FixKind::TrustPolicy,
        FixKind::IdentityPolicy,
        FixKind::RepositoryPolicy,
        FixKind::Boundary,
        FixKind::Provider,
        FixKind::Role,
    ] {
        assert_eq!(serde_json::to_value(k).unwrap(), k.code());
    }
}

/// Generated trust policies and tokens: every fix offered as verified lets the same token pass
/// when applied, and the alternatives come least privilege first.
mod generated {
    use iam_policy::Policy;
    use proptest::prelude::*;
    use serde_json::{json, Value};

    use crate::explain::fix::trust::{fixes, Provider, Situation};
    use crate::explain::fix::{Breadth, FixKind, Verified};
    use crate::explain::trust::{diagnose, Token, TrustDecision};

    const GH: &str = "arn:aws:iam::111122223333:oidc-provider/token.actions.githubusercontent.com";
    const GH_ACME: &str =
        "arn:aws:iam::111122223333:oidc-provider/token.actions.githubusercontent.com/acme";
    const OTHER_ACCOUNT: &str =
        "arn:aws:iam::444455556666:oidc-provider/token.actions.githubusercontent.com";
    const ROLE: &str = "arn:aws:iam::111122223333:role/deploy";

    const SUBJECTS: &[&str] = &[
        "repo:acme/app:ref:refs/heads/main",
        "repo:acme/app:ref:refs/heads/feature/x",
        "repo:acme/app:ref:refs/tags/v1",
        "repo:acme/app:environment:prod",
        "repo:acme/app:pull_request",
        "repo:Acme/app:ref:refs/heads/main",
        "repo:acme@1/app@2:ref:refs/heads/main",
        "repo:acme/other:ref:refs/heads/main",
    ];
    const PATTERNS: &[&str] = &[
        "repo:acme/app:*",
        "repo:acme/*:ref:refs/heads/main",
        "repo:acme/app:ref:refs/heads/*",
        "repo:acme/app:ref:refs/heads/main",
        "repo:acme/app:environment:prod",
        "repo:acme/app:pull_request",
        "repo:ACME/app:*",
        "repo:acme/ap?:*",
    ];
    const AUDIENCES: &[&str] = &["sts.amazonaws.com", "https://github.com/acme", "sigstore"];

    fn statement() -> impl Strategy<Value = Value> {
        (
            prop::sample::select(vec![GH, GH, GH, GH_ACME, OTHER_ACCOUNT]),
            prop::sample::select(vec![
                json!("sts:AssumeRoleWithWebIdentity"),
                json!("sts:AssumeRoleWithWebIdentity"),
                json!(["sts:AssumeRoleWithWebIdentity", "sts:TagSession"]),
                json!("sts:AssumeRole"),
            ]),
            prop::sample::select(vec![
                "StringEquals",
                "StringLike",
                "ForAnyValue:StringLike",
                "StringLikeIfExists",
            ]),
            prop::sample::subsequence(PATTERNS.to_vec(), 1..=2),
            prop::option::of(prop::sample::select(AUDIENCES.to_vec())),
            any::<bool>(),
        )
            .prop_map(|(provider, action, op, subs, aud, deny)| {
                let issuer = crate::event::identity::provider_issuer(provider).to_owned();
                let mut block = serde_json::Map::new();
                if deny {
                    block.insert(
                        "StringLike".into(),
                        json!({format!("{issuer}:sub"): "repo:*:pull_request"}),
                    );
                    return json!({"Effect": "Deny", "Principal": "*", "Action": "sts:*", "Condition": block});
                }
                block.insert(op.into(), json!({format!("{issuer}:sub"): subs}));
                if let Some(a) = aud {
                    block.insert(
                        "StringEquals".into(),
                        json!({format!("{issuer}:aud"): a}),
                    );
                }
                json!({"Effect": "Allow", "Principal": {"Federated": provider}, "Action": action, "Condition": block})
            })
    }

    fn policy() -> impl Strategy<Value = Value> {
        prop::collection::vec(statement(), 1..=3)
            .prop_map(|s| json!({"Version": "2012-10-17", "Statement": s}))
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(400))]

        #[test]
        fn every_verified_fix_lets_the_token_pass(
            doc in policy(),
            subject in prop::sample::select(SUBJECTS.to_vec()),
            audience in prop::sample::select(AUDIENCES.to_vec()),
            provider in prop::sample::select(vec![GH, GH, GH_ACME]),
            absent in any::<bool>(),
        ) {
            let trust = Policy::from_value(&doc).unwrap();
            let token = Token { provider, audience: Some(audience), subject, session_name: None, request: None };
            let s = Situation {
                token: token.clone(),
                role_arn: ROLE,
                trust: Some(&trust),
                provider: if absent { Provider::Absent } else { Provider::Exists(None) },
                max_session: None,
                duration: None,
                other_roles: Vec::new(),
            };
            let before = diagnose(&trust, &token, Some(ROLE)).decision;
            let all = fixes(&s);
            let mut last = Breadth::Nothing;
            for fix in &all {
                prop_assert!(fix.verified == Verified::Allows, "{fix:#?}");
                prop_assert!(fix.breadth >= last, "not least privilege first: {all:#?}");
                last = fix.breadth;
                // the trust policy after every change of the fix
                let patched = fix
                    .changes()
                    .filter(|c| c.kind == FixKind::TrustPolicy)
                    .last()
                    .map(|c| Policy::from_value(c.document.as_ref().unwrap()).unwrap())
                    .unwrap_or_else(|| trust.clone());
                let mut after = token.clone();
                if fix.change.kind == FixKind::Workflow {
                    let yaml = fix.change.workflow.clone().unwrap_or_default();
                    // the subject or audience the workflow change makes the job send
                    let sent = SUBJECTS.iter().chain(PATTERNS).find(|v| fix.change.summary.contains(&format!("\"{v}\"")));
                    if let Some(v) = sent {
                        after.subject = v;
                    }
                    if let Some(a) = AUDIENCES.iter().find(|a| yaml.contains(&format!("audience: {a}")) || yaml.contains(&format!("audience: \"{a}\""))) {
                        after.audience = Some(a);
                    }
                }
                prop_assert_eq!(
                    diagnose(&patched, &after, Some(ROLE)).decision,
                    TrustDecision::Allow,
                    "{:#?}", fix
                );
                if absent {
                    prop_assert!(fix.changes().any(|c| c.kind == FixKind::Provider), "the provider is missing: {fix:#?}");
                }
            }
            if before == TrustDecision::Allow && !absent {
                prop_assert!(all.is_empty(), "nothing to fix: {all:#?}");
            }
        }
    }
}

#[test]
fn an_action_step_is_the_yaml_of_the_configure_aws_credentials_step() {
    let c = action_step(
        FixKind::Workflow,
        "aws-actions/configure-aws-credentials: audience",
        "Request the audience.".to_owned(),
        "arn:aws:iam::111122223333:role/deploy",
        &[
            ("audience", "sts.amazonaws.com".to_owned()),
            ("role-chaining", "true".to_owned()),
        ],
    );
    assert_eq!(
        c.workflow.as_deref(),
        Some("- uses: aws-actions/configure-aws-credentials@v4\n  with:\n    role-to-assume: \"arn:aws:iam::111122223333:role/deploy\"\n    audience: sts.amazonaws.com\n    role-chaining: true\n")
    );
    assert_eq!((&c.document, &c.apply), (&None, &None));
    let f = Fix::nothing_new(c.clone(), "admits nothing new", None);
    assert_eq!(
        (f.verified, f.breadth, f.admits.len()),
        (Verified::Allows, Breadth::Nothing, 0)
    );
    let f = Fix::nothing_new(c, "admits nothing new", Some("unknown provider".to_owned()));
    assert_eq!(f.verified, Verified::Unverified);
}
