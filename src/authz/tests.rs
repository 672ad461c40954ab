#![allow(clippy::unwrap_used, clippy::expect_used, reason = "tests")]

use super::*;
use serde_json::json;

const REPO: &str = "arn:aws:ecr:us-east-1:111122223333:repository/web";

fn record(v: &Value) -> AwsRecord {
    AwsRecord::from_json("abc1", RecordSource::File(PathBuf::from("abc1.json")), v).unwrap()
}

#[test]
fn reads_the_api_shape_with_documents_as_objects_or_text() {
    let r = record(&json!({
        "requestContext": {"aws:SourceVpce": "vpce-1", "aws:TagKeys": ["a", "b"]},
        "evaluations": [{
            "action": "ecr:PutImage", "resource": REPO, "evaluatedEffect": "EXPLICIT_DENY",
            "context": {"ecr:ImageTag": "v1"},
            "matchedPolicies": [{"uri": "arn:aws:iam::111122223333:policy/D",
                                 "matchedStatements": [{"sid": "S", "evaluatedEffect": "DENY"}]}]
        }],
        "policies": [
            {"type": "IDENTITY_BASED_POLICY", "inline": false, "uri": "arn:aws:iam::111122223333:policy/D",
             "attachedTo": [{"arn": "arn:aws:iam::111122223333:role/r"}],
             "policyDocument": "{\"Version\":\"2012-10-17\",\"Statement\":[]}"},
            {"type": "SERVICE_CONTROL_POLICY", "uri": "p-1", "policyDocument": {"Statement": []}},
            {"type": "SOMETHING_NEW", "uri": "x"}
        ]
    }));
    assert_eq!(r.evaluations[0].effect, Some(Effect::ExplicitDeny));
    assert_eq!(
        r.evaluations[0].matched[0].statements[0].sid.as_deref(),
        Some("S")
    );
    assert_eq!(
        r.policies[0].document,
        Some(json!({"Version": "2012-10-17", "Statement": []}))
    );
    assert_eq!(
        r.policies[0].attached_to,
        ["arn:aws:iam::111122223333:role/r"]
    );
    assert_eq!(r.policies[1].kind, PolicyKind::ServiceControlPolicy);
    assert!(r.policies[1].document.is_some());
    assert_eq!(
        r.policies[2].kind,
        PolicyKind::Other("SOMETHING_NEW".to_owned())
    );
    assert_eq!(
        r.policies[2].document_missing.as_deref(),
        Some("no policyDocument was recorded")
    );
    // the evaluation's own keys apply over the request context
    let ctx = r.context_of(r.evaluations.first());
    assert_eq!(ctx["ecr:ImageTag"], "v1");
    assert_eq!(ctx["aws:TagKeys"], json!(["a", "b"]));
}

#[test]
fn a_document_that_is_not_a_record_is_refused() {
    let e = AwsRecord::from_json(
        "a",
        RecordSource::File("a.json".into()),
        &json!({"Records": []}),
    );
    assert!(e
        .unwrap_err()
        .to_string()
        .contains("get-request-authorization-details"));
    assert!(AwsRecord::from_json("a", RecordSource::File("a.json".into()), &json!([])).is_err());
}

#[test]
fn the_denied_evaluation_of_the_action_is_chosen() {
    let r = record(&json!({
        "requestContext": {},
        "evaluations": [
            {"action": "ecr:PutImage", "resource": "arn:aws:ecr:us-east-1:111122223333:repository/other", "evaluatedEffect": "IMPLICIT_DENY"},
            {"action": "ecr:PutImage", "resource": REPO, "evaluatedEffect": "ALLOW"},
            {"action": "ecr:PutImage", "resource": REPO, "evaluatedEffect": "EXPLICIT_DENY"},
            {"action": "kms:Decrypt", "resource": "", "evaluatedEffect": "IMPLICIT_DENY"}
        ]
    }));
    let e = r.evaluation_for("ecr:putimage", REPO).unwrap();
    assert_eq!(
        (e.resource.as_str(), e.effect.clone()),
        (REPO, Some(Effect::ExplicitDeny))
    );
    // another action's denial when this one's was allowed everywhere
    let e = r.evaluation_for("ecr:BatchGetImage", REPO).unwrap();
    assert_eq!(e.effect, Some(Effect::ImplicitDeny));
}

#[test]
fn only_ids_of_the_documented_alphabet_are_taken() {
    assert!(valid_id("abc123def456"));
    for bad in ["", "ABC", "../x", "a b", "a/b", &"a".repeat(257)] {
        assert!(!valid_id(bad), "{bad}");
    }
}
