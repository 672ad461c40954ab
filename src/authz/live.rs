//! `--aws-details`: AWS's record of each denial through the AWS SDK for Rust
//! (`aws-sdk-iamtoolbox`), in the denial's own region, one ID at a time per task and at most
//! [`CONCURRENCY`] at once. Throttling and server errors are retried by the SDK's standard
//! retry policy (the run's `AwsContext`).
//!
//! `GetRequestAuthorizationDetails` is read page by page (`nextToken`) and the pages merged.
//! `GetRequestAuthorizationPolicy` is not in the Rust SDK yet (1.11 models only the details
//! operation); it is the same service, protocol, signing and errors at a longer path
//! (`GET /authorization-details/{id}/policy?policyUri=…`), so it is sent as the details
//! operation with its path changed before signing, and its body (`{"policyDocument": …}`) read
//! as it arrived. The answers are written as the API's JSON, which
//! [`super::AwsRecord::from_json`] reads like a saved file.

use std::sync::Arc;

use aws_config::{Region, SdkConfig};
use aws_sdk_iamtoolbox::error::SdkError;
use aws_sdk_iamtoolbox::operation::get_request_authorization_details::GetRequestAuthorizationDetailsError;
use aws_smithy_types::Document;
use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};
use serde_json::{json, Map, Value};

use super::{Missing, Wanted};
use crate::aws::{AwsContext, KeepBody};

/// Authorization IDs fetched at once.
const CONCURRENCY: usize = 4;

/// RFC 3986 unreserved characters stay; everything else in a query value is escaped.
const QUERY_VALUE: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~');

type Fetched = Result<Value, (Missing, String)>;

/// Fetches each wanted record: the merged details with every policy's document (or the
/// decoded message), or why not.
pub fn fetch(ctx: &Arc<AwsContext>, wanted: &[Wanted]) -> Vec<(String, String, Fetched)> {
    ctx.block_on(async {
        let gate = Arc::new(tokio::sync::Semaphore::new(CONCURRENCY));
        let mut tasks = tokio::task::JoinSet::new();
        for (index, w) in wanted.iter().enumerate() {
            let region = if w.region.is_empty() {
                ctx.region()
            } else {
                w.region.clone()
            };
            let (w, gate, config) = (w.clone(), gate.clone(), ctx.config.clone());
            tasks.spawn(async move {
                let _permit = gate.acquire_owned().await;
                let got = one(&config, &region, &w).await;
                (index, w.key, region, got)
            });
        }
        let mut out = Vec::new();
        while let Some(done) = tasks.join_next().await {
            if let Ok(r) = done {
                out.push(r);
            }
        }
        // in the order asked, whatever order they finished in
        out.sort_by_key(|(index, ..)| *index);
        out.into_iter()
            .map(|(_, id, region, got)| (id, region, got))
            .collect()
    })
}

/// One wanted record, asked in `region`: a decoded message from STS, else the details from
/// IAM Toolbox.
async fn one(config: &SdkConfig, region: &str, w: &Wanted) -> Fetched {
    let region = Region::new(region.to_owned());
    match &w.encoded {
        Some(message) => {
            let conf = aws_sdk_sts::config::Builder::from(config)
                .region(region)
                .build();
            decoded(&aws_sdk_sts::Client::from_conf(conf), message).await
        }
        None => {
            let conf = aws_sdk_iamtoolbox::config::Builder::from(config)
                .region(region)
                .build();
            record(&aws_sdk_iamtoolbox::Client::from_conf(conf), &w.key).await
        }
    }
}

/// One ID: every page of its details, then each listed policy's document.
async fn record(client: &aws_sdk_iamtoolbox::Client, id: &str) -> Fetched {
    let mut next: Option<String> = None;
    let mut request_context = Map::new();
    let mut evaluations: Vec<Value> = Vec::new();
    let mut policies: Vec<Value> = Vec::new();
    loop {
        let page = client
            .get_request_authorization_details()
            .authorization_id(id)
            .set_next_token(next.clone())
            .send()
            .await
            .map_err(|e| classify(&e))?;
        for (k, v) in page.request_context() {
            request_context.insert(k.clone(), json_of(v));
        }
        evaluations.extend(page.evaluations().iter().map(|e| {
            json!({
                "action": e.action(),
                "resource": e.resource(),
                "context": e.context().map(|c| c.iter().map(|(k, v)| (k.clone(), json_of(v))).collect::<Map<_, _>>()),
                "evaluatedEffect": e.evaluated_effect().map(|x| x.as_str()),
                "matchedPolicies": e.matched_policies().iter().map(|m| json!({
                    "uri": m.uri(),
                    "matchedStatements": m.matched_statements().iter().map(|s| json!({
                        "sid": s.sid(),
                        "evaluatedEffect": s.evaluated_effect().map(|x| x.as_str()),
                    })).collect::<Vec<_>>(),
                })).collect::<Vec<_>>(),
            })
        }));
        for p in page.policies() {
            let uri = p.uri().unwrap_or_default();
            if policies.iter().any(|q| q["uri"] == uri) {
                continue;
            }
            policies.push(json!({
                "type": p.r#type().map(|t| t.as_str()),
                "inline": p.inline(),
                "uri": uri,
                "attachedTo": p.attached_to().iter().map(|a| json!({"arn": a.arn()})).collect::<Vec<_>>(),
            }));
        }
        next = page
            .next_token()
            .map(str::to_owned)
            .filter(|t| !t.is_empty());
        if next.is_none() {
            break;
        }
    }
    for p in &mut policies {
        let Some(uri) = p["uri"].as_str().map(str::to_owned) else {
            continue;
        };
        match policy_document(client, id, &uri).await {
            Ok(doc) => p["policyDocument"] = doc,
            Err((why, detail)) => {
                p["policyDocumentError"] = json!(format!("{}: {detail}", why.describe()));
            }
        }
    }
    Ok(json!({
        "requestContext": request_context,
        "evaluations": evaluations,
        "policies": policies,
    }))
}

/// `sts:DecodeAuthorizationMessage`, as the AWS CLI prints it (`{"DecodedMessage": "…"}`).
async fn decoded(client: &aws_sdk_sts::Client, message: &str) -> Fetched {
    use aws_sdk_sts::error::{ProvideErrorMetadata, SdkError as StsError};
    let out = client
        .decode_authorization_message()
        .encoded_message(message)
        .send()
        .await
        .map_err(|e| match &e {
            StsError::ServiceError(se) => {
                let err = se.err();
                let code = err.code().unwrap_or("error");
                let why = if code.contains("AccessDenied") {
                    Missing::Refused
                } else if code == "InvalidAuthorizationMessageException" {
                    Missing::Expired
                } else {
                    Missing::Failed
                };
                (
                    why,
                    format!("{code}: {}", err.message().unwrap_or_default()),
                )
            }
            StsError::DispatchFailure(_) | StsError::TimeoutError(_) => (
                Missing::Unavailable,
                aws_smithy_types::error::display::DisplayErrorContext(&e).to_string(),
            ),
            other => (Missing::Failed, other.to_string()),
        })?;
    Ok(json!({"DecodedMessage": out.decoded_message().unwrap_or_default()}))
}

/// `GetRequestAuthorizationPolicy(id, uri)`: the policy as captured with the denied request.
async fn policy_document(client: &aws_sdk_iamtoolbox::Client, id: &str, uri: &str) -> Fetched {
    let from = format!("/authorization-details/{id}");
    let to = format!(
        "/authorization-details/{id}/policy?policyUri={}",
        utf8_percent_encode(uri, QUERY_VALUE)
    );
    let body = KeepBody::default();
    client
        .get_request_authorization_details()
        .authorization_id(id)
        .customize()
        .mutate_request(move |req| {
            let target = req.uri().replacen(&from, &to, 1);
            // a URI made from a valid one by adding an escaped path and query stays valid
            let _ = req.set_uri(target);
        })
        .interceptor(body.clone())
        .send()
        .await
        .map_err(|e| classify(&e))?;
    let bytes = body.take().unwrap_or_default();
    let v: Value = serde_json::from_slice(&bytes)
        .map_err(|e| (Missing::Failed, format!("the answer is not JSON: {e}")))?;
    match v.get("policyDocument") {
        Some(Value::String(text)) => serde_json::from_str(text).map_err(|e| {
            (
                Missing::Failed,
                format!("its policyDocument is not JSON: {e}"),
            )
        }),
        Some(doc) if !doc.is_null() => Ok(doc.clone()),
        _ => Err((
            Missing::Failed,
            "the answer has no policyDocument".to_owned(),
        )),
    }
}

fn classify<R: std::fmt::Debug>(
    e: &SdkError<GetRequestAuthorizationDetailsError, R>,
) -> (Missing, String) {
    use aws_sdk_iamtoolbox::error::ProvideErrorMetadata;
    match e {
        SdkError::ServiceError(se) => {
            let err = se.err();
            let why = match err {
                GetRequestAuthorizationDetailsError::ResourceNotFoundException(_) => {
                    Missing::Expired
                }
                GetRequestAuthorizationDetailsError::AccessDeniedException(_) => Missing::Refused,
                _ => Missing::Failed,
            };
            (
                why,
                format!(
                    "{}: {}",
                    err.code().unwrap_or("error"),
                    err.message().unwrap_or_default()
                ),
            )
        }
        SdkError::DispatchFailure(_) => (
            Missing::Unavailable,
            aws_smithy_types::error::display::DisplayErrorContext(e).to_string(),
        ),
        SdkError::TimeoutError(_) => (Missing::Unavailable, "timed out".to_owned()),
        other => (Missing::Failed, other.to_string()),
    }
}

/// A smithy `Document` as JSON.
fn json_of(d: &Document) -> Value {
    use aws_smithy_types::Number;
    match d {
        Document::Object(m) => {
            Value::Object(m.iter().map(|(k, v)| (k.clone(), json_of(v))).collect())
        }
        Document::Array(a) => Value::Array(a.iter().map(json_of).collect()),
        Document::Number(Number::PosInt(n)) => json!(n),
        Document::Number(Number::NegInt(n)) => json!(n),
        Document::Number(Number::Float(f)) => json!(f),
        Document::String(s) => json!(s),
        Document::Bool(b) => json!(b),
        Document::Null => Value::Null,
    }
}
