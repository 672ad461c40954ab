//! The CloudTrail record model: borrowed decoding of the few fields the analyzer needs,
//! identities, `principalId` parsing and the AWS denial-message grammar.
//!
//! This module knows what a record *says*; it does not decide whether a record is
//! interesting (that is `select`) nor why it failed (that is `explain`). Decoding borrows
//! from the record's bytes wherever the JSON has no escapes, so a record that is
//! decoded and dropped costs no allocation beyond the struct itself.

pub mod denial;
pub mod id;
pub mod identity;
pub mod redact;

use std::borrow::Cow;

use serde::Deserialize;
use serde_json::value::RawValue;

pub use id::EventId;
pub use identity::{parse_web_identity_principal, WebIdentityPrincipal};

/// One CloudTrail record, borrowed from the bytes it was decoded from.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Record<'a> {
    #[serde(borrow, default, deserialize_with = "lenient")]
    pub event_version: Option<Cow<'a, str>>,
    #[serde(borrow, default, deserialize_with = "lenient")]
    pub event_time: Option<Cow<'a, str>>,
    #[serde(borrow, default, deserialize_with = "lenient")]
    pub event_source: Option<Cow<'a, str>>,
    #[serde(borrow, default, deserialize_with = "lenient")]
    pub event_name: Option<Cow<'a, str>>,
    #[serde(borrow, default, deserialize_with = "lenient")]
    pub aws_region: Option<Cow<'a, str>>,
    #[serde(borrow, default, deserialize_with = "lenient")]
    pub error_code: Option<Cow<'a, str>>,
    #[serde(borrow, default, deserialize_with = "lenient")]
    pub error_message: Option<Cow<'a, str>>,
    #[serde(borrow, default, deserialize_with = "lenient")]
    pub recipient_account_id: Option<Cow<'a, str>>,
    #[serde(borrow, default, rename = "eventID", deserialize_with = "lenient")]
    pub event_id: Option<Cow<'a, str>>,
    #[serde(borrow, default, deserialize_with = "lenient")]
    pub user_agent: Option<Cow<'a, str>>,
    #[serde(
        borrow,
        default,
        rename = "sourceIPAddress",
        deserialize_with = "lenient"
    )]
    pub source_ip_address: Option<Cow<'a, str>>,
    #[serde(borrow, default, deserialize_with = "lenient")]
    pub vpc_endpoint_id: Option<Cow<'a, str>>,
    /// Present when the call's TLS details were recorded (HTTPS); only its presence is read.
    #[serde(borrow, default, deserialize_with = "lenient")]
    pub tls_details: Option<&'a RawValue>,
    #[serde(borrow, default, deserialize_with = "lenient")]
    pub user_identity: Option<UserIdentity<'a>>,
    #[serde(borrow, default, deserialize_with = "lenient")]
    pub request_parameters: Option<&'a RawValue>,
    #[serde(borrow, default, deserialize_with = "lenient")]
    pub response_elements: Option<&'a RawValue>,
    #[serde(borrow, default, deserialize_with = "lenient")]
    pub resources: Option<Vec<ResourceRef<'a>>>,
    /// Present when the record came from `aws cloudtrail lookup-events` output.
    #[serde(
        borrow,
        default,
        rename = "CloudTrailEvent",
        deserialize_with = "lenient"
    )]
    pub cloudtrail_event: Option<Cow<'a, str>>,
}

impl Record<'_> {
    /// True when this looks like a CloudTrail event at all (not a digest, not some other JSON).
    pub fn is_event(&self) -> bool {
        self.event_name.is_some() && (self.event_source.is_some() || self.event_time.is_some())
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UserIdentity<'a> {
    #[serde(borrow, default, rename = "type", deserialize_with = "lenient")]
    pub kind: Option<Cow<'a, str>>,
    #[serde(borrow, default, deserialize_with = "lenient")]
    pub principal_id: Option<Cow<'a, str>>,
    #[serde(borrow, default, deserialize_with = "lenient")]
    pub arn: Option<Cow<'a, str>>,
    #[serde(borrow, default, deserialize_with = "lenient")]
    pub account_id: Option<Cow<'a, str>>,
    #[serde(borrow, default, deserialize_with = "lenient")]
    pub access_key_id: Option<Cow<'a, str>>,
    #[serde(borrow, default, deserialize_with = "lenient")]
    pub user_name: Option<Cow<'a, str>>,
    #[serde(borrow, default, deserialize_with = "lenient")]
    pub identity_provider: Option<Cow<'a, str>>,
    /// The service that made the call on the principal's behalf.
    #[serde(borrow, default, deserialize_with = "lenient")]
    pub invoked_by: Option<Cow<'a, str>>,
    #[serde(borrow, default, deserialize_with = "lenient")]
    pub session_context: Option<SessionContext<'a>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SessionContext<'a> {
    #[serde(borrow, default, deserialize_with = "lenient")]
    pub session_issuer: Option<SessionIssuer<'a>>,
    #[serde(borrow, default, deserialize_with = "lenient")]
    pub web_id_federation_data: Option<WebIdFederationData<'a>>,
    #[serde(borrow, default, deserialize_with = "lenient")]
    pub attributes: Option<SessionAttributes<'a>>,
    #[serde(borrow, default, deserialize_with = "lenient")]
    pub source_identity: Option<Cow<'a, str>>,
}

/// `sessionContext.attributes`: when the session's credentials were issued, and whether
/// with MFA.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SessionAttributes<'a> {
    #[serde(borrow, default, deserialize_with = "lenient")]
    pub creation_date: Option<Cow<'a, str>>,
    #[serde(borrow, default, deserialize_with = "lenient")]
    pub mfa_authenticated: Option<Cow<'a, str>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SessionIssuer<'a> {
    #[serde(borrow, default, rename = "type", deserialize_with = "lenient")]
    pub kind: Option<Cow<'a, str>>,
    #[serde(borrow, default, deserialize_with = "lenient")]
    pub arn: Option<Cow<'a, str>>,
    #[serde(borrow, default, deserialize_with = "lenient")]
    pub account_id: Option<Cow<'a, str>>,
    #[serde(borrow, default, deserialize_with = "lenient")]
    pub user_name: Option<Cow<'a, str>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct WebIdFederationData<'a> {
    #[serde(borrow, default, deserialize_with = "lenient")]
    pub federated_provider: Option<Cow<'a, str>>,
}

#[derive(Debug, Deserialize)]
pub struct ResourceRef<'a> {
    #[serde(borrow, default, rename = "ARN", deserialize_with = "lenient")]
    pub arn: Option<Cow<'a, str>>,
    #[serde(borrow, default, rename = "type", deserialize_with = "lenient")]
    pub kind: Option<Cow<'a, str>>,
    #[serde(borrow, default, rename = "accountId", deserialize_with = "lenient")]
    pub account_id: Option<Cow<'a, str>>,
}

/// `requestParameters` of `AssumeRoleWithWebIdentity` and `AssumeRole`.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AssumeRoleParams<'a> {
    #[serde(borrow, default, deserialize_with = "lenient")]
    pub role_arn: Option<Cow<'a, str>>,
    #[serde(borrow, default, deserialize_with = "lenient")]
    pub role_session_name: Option<Cow<'a, str>>,
    #[serde(default, deserialize_with = "lenient_u64")]
    pub duration_seconds: Option<u64>,
    #[serde(borrow, default, deserialize_with = "lenient")]
    pub tags: Option<&'a RawValue>,
    #[serde(borrow, default, deserialize_with = "lenient")]
    pub transitive_tag_keys: Option<&'a RawValue>,
    #[serde(borrow, default, deserialize_with = "lenient")]
    pub source_identity: Option<Cow<'a, str>>,
}

/// `responseElements` of a successful web-identity assumption. The session token is
/// deliberately not a field: it is never decoded, kept or printed.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AssumeRoleResponse<'a> {
    #[serde(borrow, default, deserialize_with = "lenient")]
    pub credentials: Option<Credentials<'a>>,
    #[serde(borrow, default, deserialize_with = "lenient")]
    pub subject_from_web_identity_token: Option<Cow<'a, str>>,
    #[serde(borrow, default, deserialize_with = "lenient")]
    pub audience: Option<Cow<'a, str>>,
    #[serde(borrow, default, deserialize_with = "lenient")]
    pub provider: Option<Cow<'a, str>>,
    #[serde(borrow, default, deserialize_with = "lenient")]
    pub assumed_role_user: Option<AssumedRoleUser<'a>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Credentials<'a> {
    #[serde(borrow, default, deserialize_with = "lenient")]
    pub access_key_id: Option<Cow<'a, str>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AssumedRoleUser<'a> {
    #[serde(borrow, default, deserialize_with = "lenient")]
    pub arn: Option<Cow<'a, str>>,
}

/// Decodes a field leniently: a value of the wrong type (a number where a string belongs, a
/// string where an object belongs) becomes `None` instead of failing the whole record. A
/// hostile or broken record keeps every field that is usable.
fn lenient<'de, D, T>(d: D) -> Result<Option<T>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: Deserialize<'de>,
{
    let raw: &'de RawValue = Deserialize::deserialize(d)?;
    Ok(serde_json::from_str(raw.get()).ok())
}

/// Accepts a number or a numeric string; anything else becomes `None` rather than an error,
/// because one odd field must not cost the whole record.
fn lenient_u64<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<u64>, D::Error> {
    let v = serde_json::Value::deserialize(d)?;
    Ok(match v {
        serde_json::Value::Number(n) => n.as_u64(),
        serde_json::Value::String(s) => s.trim().parse().ok(),
        _ => None,
    })
}

/// Decodes a raw JSON fragment into `T`, treating `null`, absence and shape errors as "nothing".
pub fn decode_part<'a, T: Deserialize<'a> + Default>(raw: Option<&'a RawValue>) -> T {
    match raw {
        Some(r) if r.get() != "null" => serde_json::from_str(r.get()).unwrap_or_default(),
        _ => T::default(),
    }
}

/// The six parts of an ARN, `arn:PARTITION:SERVICE:REGION:ACCOUNT:RESOURCE` (the resource may
/// hold more colons).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Arn<'a> {
    pub partition: &'a str,
    pub service: &'a str,
    pub region: &'a str,
    pub account: &'a str,
    pub resource: &'a str,
}

impl<'a> Arn<'a> {
    /// `None` for text that is not `arn:` and five more colon-separated parts.
    pub fn parse(arn: &'a str) -> Option<Arn<'a>> {
        let mut parts = arn.splitn(6, ':');
        if parts.next()? != "arn" {
            return None;
        }
        Some(Arn {
            partition: parts.next()?,
            service: parts.next()?,
            region: parts.next()?,
            account: parts.next()?,
            resource: parts.next()?,
        })
    }
}

/// The partition of a region: `aws-cn` for `cn-…`, `aws-us-gov` for `us-gov-…`, else `aws`.
pub fn partition_of(region: &str) -> &'static str {
    if region.starts_with("cn-") {
        "aws-cn"
    } else if region.starts_with("us-gov-") {
        "aws-us-gov"
    } else {
        "aws"
    }
}

/// The account id inside an ARN (`arn:partition:service:region:ACCOUNT:resource`).
pub fn arn_account(arn: &str) -> Option<&str> {
    Arn::parse(arn).map(|a| a.account).filter(|a| !a.is_empty())
}

/// The role name of `arn:aws:iam::ACCOUNT:role/[path/]NAME`.
pub fn role_name_from_arn(arn: &str) -> Option<&str> {
    let resource = arn.splitn(6, ':').nth(5)?;
    let rest = resource.strip_prefix("role/")?;
    rest.rsplit('/').next().filter(|n| !n.is_empty())
}

/// The role name and session name of `arn:aws:sts::ACCOUNT:assumed-role/ROLE/SESSION`.
pub fn assumed_role_parts(arn: &str) -> Option<(&str, &str)> {
    let resource = arn.splitn(6, ':').nth(5)?;
    let rest = resource.strip_prefix("assumed-role/")?;
    let (role, session) = rest.split_once('/')?;
    Some((role, session))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arn_parts() {
        assert_eq!(
            arn_account("arn:aws:iam::111122223333:role/x"),
            Some("111122223333")
        );
        assert_eq!(
            arn_account("arn:aws:ecr:us-east-1:444455556666:repository/a/b"),
            Some("444455556666")
        );
        assert_eq!(arn_account("not-an-arn"), None);
        assert_eq!(
            role_name_from_arn("arn:aws:iam::1:role/path/to/deploy"),
            Some("deploy")
        );
        assert_eq!(role_name_from_arn("arn:aws:iam::1:user/alice"), None);
        assert_eq!(
            assumed_role_parts("arn:aws:sts::1:assumed-role/gha/GitHubActions"),
            Some(("gha", "GitHubActions"))
        );
    }

    #[test]
    fn wrong_field_types_keep_the_rest_of_the_record() {
        let r: Record = serde_json::from_str(
            r#"{"eventName":"AssumeRoleWithWebIdentity","eventSource":5,"eventTime":"2026-10-01T00:00:00Z",
                "userIdentity":"oops","resources":{"ARN":1},"errorCode":["x"],"recipientAccountId":"111122223333"}"#,
        )
        .unwrap();
        assert_eq!(r.event_name.as_deref(), Some("AssumeRoleWithWebIdentity"));
        assert_eq!(r.event_source, None);
        assert!(r.user_identity.is_none());
        assert!(r.resources.is_none());
        assert_eq!(r.error_code, None);
        assert_eq!(r.recipient_account_id.as_deref(), Some("111122223333"));
    }

    #[test]
    fn escaped_strings_decode() {
        let r: Record =
            serde_json::from_str(r#"{"eventName":"A\u0042","userAgent":"x\"y"}"#).unwrap();
        assert_eq!(r.event_name.as_deref(), Some("AB"));
        assert_eq!(r.user_agent.as_deref(), Some("x\"y"));
    }

    #[test]
    fn lenient_duration() {
        let p: AssumeRoleParams = serde_json::from_str(r#"{"durationSeconds":"900"}"#).unwrap();
        assert_eq!(p.duration_seconds, Some(900));
        let p: AssumeRoleParams = serde_json::from_str(r#"{"durationSeconds":{"x":1}}"#).unwrap();
        assert_eq!(p.duration_seconds, None);
    }
}
