//! Selection: which records matter, decided once per record, as cheaply as possible.
//!
//! A [`Selector`] is compiled once from the command line (time window, accounts, regions).
//! Each raw record is first checked with a byte search for the few needles that any
//! interesting record must contain; only those are decoded, classified and turned into
//! small owned values ([`Selected`]). Everything else is counted and dropped. This module
//! does not join sessions or evaluate policies.

use aho_corasick::{AhoCorasick, MatchKind};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::event::{
    self, assumed_role_parts, decode_part, parse_web_identity_principal, AssumeRoleParams,
    AssumeRoleResponse, Record, WebIdentityPrincipal,
};
use crate::selection::{is_access_denied, is_change_event, time, Window};

/// A web-identity assumption, failed or successful.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct WebIdAttempt {
    pub time: DateTime<Utc>,
    pub event_id: String,
    pub account: Option<String>,
    pub region: Option<String>,
    pub error_code: Option<String>,
    pub error_message: Option<String>,
    pub role_arn: Option<String>,
    pub session_name: Option<String>,
    pub duration_seconds: Option<u64>,
    pub principal: Option<WebIdentityPrincipal>,
    pub user_agent: Option<String>,
    /// Set on success: the key that every later call of the session carries.
    pub access_key_id: Option<String>,
    pub assumed_role_arn: Option<String>,
    /// Where a failed attempt came from (kept for failures only: the trust policy's network
    /// conditions are judged on it).
    pub network: Option<Box<Network>>,
}

/// The network side of a request as its record says: the condition keys `aws:SourceIp`,
/// `aws:SourceVpce`, `aws:VpcSourceIp` and `aws:SecureTransport` take their values from it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Network {
    pub source_ip: Option<String>,
    pub vpc_endpoint_id: Option<String>,
    pub tls: TlsRecorded,
}

/// A successful IAM/ECR/CodeBuild change that alters the policy history.
#[derive(Debug, Clone)]
pub struct ChangeEvent {
    pub time: DateTime<Utc>,
    pub event_id: String,
    pub account: Option<String>,
    pub region: Option<String>,
    pub event_source: String,
    pub event_name: String,
    /// Who made the change (`userIdentity.arn`, else the principal id).
    pub actor: Option<String>,
    pub request: Value,
    pub response: Value,
}

/// A failed call made by a role session (ECR, STS AssumeRole, any service).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CallFailure {
    pub time: DateTime<Utc>,
    pub event_id: String,
    pub account: Option<String>,
    pub region: Option<String>,
    pub event_source: String,
    pub event_name: String,
    pub error_code: String,
    pub error_message: Option<String>,
    pub caller_arn: Option<String>,
    pub access_key_id: Option<String>,
    pub issuer_role_arn: Option<String>,
    pub federated_provider: Option<String>,
    pub resources: Vec<String>,
    /// `requestParameters` (kept as JSON text when the failure is stored: `scan::store`).
    #[serde(with = "json_text")]
    pub request: Value,
    /// What the record says of where and how the call was made: the facts the request
    /// context of its authorization is built from (`explain::context`).
    pub origin: CallOrigin,
}

/// The fields of a failed call's record that AWS's global condition keys take their values
/// from; `None` where the record does not carry the field.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct CallOrigin {
    /// `userIdentity.type` (`AssumedRole`, `IAMUser`, …).
    pub identity_type: Option<String>,
    /// `userIdentity.principalId` (`AROA…:session` for a role session).
    pub principal_id: Option<String>,
    /// `userIdentity.accountId`.
    pub principal_account: Option<String>,
    /// Where the call came from: `sourceIPAddress`, `vpcEndpointId`, `tlsDetails`.
    pub network: Network,
    pub user_agent: Option<String>,
    /// `userIdentity.invokedBy`: the service that called on the principal's behalf.
    pub invoked_by: Option<String>,
    /// `sessionContext.attributes.creationDate`.
    pub session_created: Option<String>,
    /// `sessionContext.attributes.mfaAuthenticated`.
    pub mfa_authenticated: Option<String>,
    /// `sessionContext.sourceIdentity`.
    pub source_identity: Option<String>,
    /// The session tags of the `AssumeRole` that created the session, when it was read and
    /// carried tags (set by `correlate::attach_session_tags`, never from the call's record).
    pub session_tags: Option<Tags>,
}

/// Whether a record carries `tlsDetails` (so the call used TLS).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum TlsRecorded {
    #[default]
    NotRecorded,
    Recorded,
}

/// A session created by a successful `sts:AssumeRole` that carried session tags — passed in
/// the request (`tags`) or carried over from the calling session (`incomingTransitiveTags`):
/// what `aws:PrincipalTag/*` of the session's calls holds beyond the role's own tags.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TaggedSession {
    pub time: DateTime<Utc>,
    pub event_id: String,
    /// `responseElements.credentials.accessKeyId`: every call of the session carries it.
    pub access_key_id: String,
    pub role_arn: Option<String>,
    /// The session's tags, key and value: the incoming transitive tags, then the passed
    /// tags (a passed tag cannot repeat a transitive key: STS refuses that request).
    pub tags: Tags,
}

/// Tags, key and value, in order.
pub type Tags = Vec<(String, String)>;

/// A JSON value written as its compact text: the encoding of a stored failure has no
/// self-describing values.
mod json_text {
    use serde::{Deserialize, Deserializer, Serializer};
    use serde_json::Value;

    pub fn serialize<S: Serializer>(v: &Value, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(v)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Value, D::Error> {
        let text = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        serde_json::from_str(&text).map_err(serde::de::Error::custom)
    }
}

/// What a record turned into.
#[derive(Debug, Clone)]
pub enum Selected {
    WebId(Box<WebIdAttempt>),
    Change(Box<ChangeEvent>),
    CallFailure(Box<CallFailure>),
    TaggedSession(Box<TaggedSession>),
}

/// Why a decoded record was not selected; only used for counting.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rejected {
    /// Not one of the record kinds the analysis uses.
    Uninteresting,
    /// Outside the time window, account or region filter.
    OutOfWindow,
    /// A failure the analysis would explain (a failed web-identity request or denied call of
    /// the accounts and regions asked for), at this time outside the window.
    FailureOutsideWindow(DateTime<Utc>),
    /// Not a CloudTrail event at all.
    NotAnEvent,
    /// A record the analysis needs whose `eventTime` is missing or invalid: counted as lost.
    BadTime,
}

/// The places in one whole input where a needle may be ([`Selector::hits`]), for its
/// records in order.
///
/// Why a record that touches none of them holds no needle: each needle holds one of
/// [`NEEDLE_PARTS`] or is `\u` (every `\u` is found), and a leftmost-first search that
/// resumes after each match reports, for every occurrence of a part, a match that overlaps it (the last match
/// starting at or before the occurrence either reaches into it, or ended before it, and
/// then the search from there would have found a match starting no later than the
/// occurrence). So a record holding a needle overlaps a reported span; one that does not is
/// rejected, and one that does gets the exact per-record test, whatever its shape.
pub struct Hits<'s> {
    selector: &'s Selector,
    /// The spans found, in stream offsets, sorted by start.
    spans: Vec<(u64, u64)>,
    /// Spans before this one end before the records still to come.
    next: usize,
    /// Start of the last record asked about.
    last: u64,
}

impl Hits<'_> {
    /// [`Selector::may_match`] for the record `bytes` at stream offset `offset`, records
    /// being asked about in order.
    pub fn may_match(&mut self, offset: u64, bytes: &[u8]) -> bool {
        if offset < self.last {
            // not in order: the spans skipped may matter again
            return self.selector.may_match(bytes);
        }
        self.last = offset;
        while self
            .spans
            .get(self.next)
            .is_some_and(|&(_, end)| end <= offset)
        {
            self.next += 1;
        }
        // the first span (by start) not ending before the record: if it starts after the
        // record, so do all later ones
        let end = offset + bytes.len() as u64;
        let touched = self
            .spans
            .get(self.next)
            .is_some_and(|&(start, _)| start < end);
        touched && self.selector.may_match(bytes)
    }
}

/// Byte strings of which every record [`Selector::select`] can keep holds at least one: the
/// web-identity event name, the error codes of a denied call (every [`is_access_denied`]
/// code holds `AccessDenied` or `UnauthorizedOperation`; `ValidationError` is `AssumeRole`'s),
/// the sources of the change events (IAM, ECR repository policies, CodeBuild,
/// CodeConnections), the session tags of an `AssumeRole` (`tags`, `incomingTransitiveTags`),
/// and the `CloudTrailEvent` wrapper of `lookup-events` output, whose inner keys are escaped. Other errors (throttling, missing keys, …) are not decoded.
///
/// None of them holds `"`, `\\` or `/`, so the only way JSON can spell one of them
/// differently is a `\u` escape: `\u` is a needle too, and a record using that spelling is
/// decoded and judged on its decoded fields like any other.
pub const NEEDLES: &[&str] = &[
    "AssumeRoleWithWebIdentity",
    "AccessDenied",
    "UnauthorizedOperation",
    "ValidationError",
    "iam.amazonaws.com",
    "RepositoryPolicy",
    "CreateRepository",
    // TagResource and UntagResource
    "agResource",
    "codebuild.amazonaws.com",
    "connections.amazonaws.com",
    "CloudTrailEvent",
    // the session tags of an AssumeRole: passed (`tags`) or transitive
    // (`incomingTransitiveTags`)
    "tags",
    "TransitiveTags",
    "\\u",
];

/// For the search over a whole input ([`Selector::hits`]): a part of each of [`NEEDLES`]
/// but `\u` (which is searched for alone), so any text holding a needle holds one of these,
/// chosen to start with bytes that are rare in CloudTrail text (`"e`, `ia`, `co` start many
/// keys, ARNs and sources; every candidate start costs a check).
pub const NEEDLE_PARTS: &[&str] = &[
    "WebIdentity",
    "Denied",
    "Unauthorized",
    "ValidationE",
    "am.amazonaws.com",
    "RepositoryPolicy",
    "CreateRepository",
    // TagResource and UntagResource
    "agResource",
    "codebuild.amazonaws.com",
    "nections.amazonaws.com",
    "CloudTrailEvent",
    "tags",
    "TransitiveTags",
];

/// The compiled selection.
pub struct Selector {
    pub window: Window,
    /// All of [`NEEDLES`] in one automaton: one pass over each record (`None` only if it
    /// could not be built, and then every record is decoded).
    needles: Option<AhoCorasick>,
    /// [`NEEDLE_PARTS`] in one automaton, for [`Selector::hits`].
    parts: Option<AhoCorasick>,
}

impl Selector {
    pub fn new(window: Window) -> Selector {
        let automaton = |needles: &[&str]| {
            AhoCorasick::builder()
                .match_kind(MatchKind::LeftmostFirst)
                .build(needles)
                .ok()
        };
        Selector {
            window,
            needles: automaton(NEEDLES),
            parts: automaton(NEEDLE_PARTS),
        }
    }

    /// Cheap byte test: false means the record cannot be selected, whatever it holds.
    pub fn may_match(&self, bytes: &[u8]) -> bool {
        self.needles.as_ref().is_none_or(|n| n.is_match(bytes))
    }

    /// Where needles may be in a whole input (`bytes`, starting at stream offset `offset`),
    /// found in one pass over it, so that the records touching none of those places need no
    /// test of their own ([`Hits::may_match`]). `None` when the automaton could not be built.
    pub fn hits(&self, offset: u64, bytes: &[u8]) -> Option<Hits<'_>> {
        let parts = self.parts.as_ref()?;
        let at = |start: usize, end: usize| (offset + start as u64, offset + end as u64);
        let mut spans: Vec<(u64, u64)> = parts
            .find_iter(bytes)
            .map(|m| at(m.start(), m.end()))
            .collect();
        let before = spans.len();
        // backslashes are rarer than `u`s: find them, then look at the next byte
        let escapes =
            memchr::memchr_iter(b'\\', bytes).filter(|&i| bytes.get(i + 1) == Some(&b'u'));
        spans.extend(escapes.map(|i| at(i, i + 2)));
        if before > 0 && spans.len() > before {
            spans.sort_unstable();
        }
        Some(Hits {
            selector: self,
            spans,
            next: 0,
            last: 0,
        })
    }

    /// Classifies a decoded record.
    pub fn select(&self, rec: &Record<'_>) -> Result<Selected, Rejected> {
        if !rec.is_event() {
            return Err(Rejected::NotAnEvent);
        }
        let name = rec.event_name.as_deref().unwrap_or_default();
        let source = rec.event_source.as_deref().unwrap_or_default();
        let error_code = rec.error_code.as_deref().filter(|c| !c.is_empty());
        // a successful AssumeRole's session tags, read once (most have none)
        let mut tagged =
            (error_code.is_none() && name == "AssumeRole" && source == "sts.amazonaws.com")
                .then(|| session_tags(rec))
                .flatten();
        let kind = if name == "AssumeRoleWithWebIdentity" {
            Kind::WebId
        } else if error_code.is_none() && is_change_event(name, source) {
            Kind::Change
        } else if tagged.is_some() {
            Kind::TaggedSession
        } else if is_role_session(rec)
            && (error_code.is_some_and(is_access_denied)
                || (name == "AssumeRole" && error_code == Some("ValidationError")))
        {
            Kind::CallFailure
        } else {
            return Err(Rejected::Uninteresting);
        };
        let account = record_account(rec);
        // Policy history is needed from before the window too: changes ignore the window.
        // A record of another account or region is not wanted, whatever its time says (as
        // `query` decides it); one that is wanted must have a time.
        let windowed = kind != Kind::Change;
        if windowed
            && (!self.window.accepts_account(account.as_deref())
                || !self.window.accepts_region(rec.aws_region.as_deref()))
        {
            return Err(Rejected::OutOfWindow);
        }
        let time = rec
            .event_time
            .as_deref()
            .and_then(time::parse_event_time)
            .ok_or(Rejected::BadTime)?;
        if windowed && !self.window.contains_time(time) {
            let failure = kind == Kind::CallFailure || error_code.is_some();
            return Err(if failure {
                Rejected::FailureOutsideWindow(time)
            } else {
                Rejected::OutOfWindow
            });
        }
        let event_id = rec.event_id.as_deref().unwrap_or_default().to_owned();
        Ok(match kind {
            Kind::WebId => Selected::WebId(Box::new(web_id_attempt(rec, time, event_id, account))),
            Kind::Change => Selected::Change(Box::new(ChangeEvent {
                time,
                event_id,
                account,
                region: rec.aws_region.as_deref().map(str::to_owned),
                event_source: source.to_owned(),
                event_name: name.to_owned(),
                actor: actor(rec),
                request: raw_to_value(rec.request_parameters),
                response: raw_to_value(rec.response_elements),
            })),
            Kind::CallFailure => {
                Selected::CallFailure(Box::new(call_failure(rec, time, event_id, account)))
            }
            Kind::TaggedSession => {
                let resp: AssumeRoleResponse = decode_part(rec.response_elements);
                let key = resp
                    .credentials
                    .and_then(|c| c.access_key_id)
                    .filter(|k| !k.is_empty())
                    .ok_or(Rejected::Uninteresting)?;
                let (role_arn, tags) = tagged.take().unwrap_or_default();
                Selected::TaggedSession(Box::new(TaggedSession {
                    time,
                    event_id,
                    access_key_id: key.into_owned(),
                    role_arn,
                    tags,
                }))
            }
        })
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    WebId,
    Change,
    CallFailure,
    TaggedSession,
}

/// The role and session tags of an `AssumeRole` request: its incoming transitive tags
/// (`{key: value}`), then the tags it passed (`[{key, value}]`, either case); `None` when it
/// has no tag.
fn session_tags(rec: &Record<'_>) -> Option<(Option<String>, Tags)> {
    #[derive(serde::Deserialize, Default)]
    #[serde(rename_all = "camelCase")]
    struct Tagged {
        #[serde(default)]
        incoming_transitive_tags: Option<serde_json::Map<String, Value>>,
        #[serde(default)]
        tags: Option<Vec<Value>>,
        #[serde(default)]
        role_arn: Option<String>,
    }
    let raw = rec.request_parameters?;
    let t: Tagged = serde_json::from_str(raw.get()).ok()?;
    let mut out = Vec::new();
    for (k, v) in t.incoming_transitive_tags.iter().flatten() {
        if let Some(v) = v.as_str() {
            out.push((k.clone(), v.to_owned()));
        }
    }
    for tag in t.tags.iter().flatten() {
        let field = |a: &str, b: &str| {
            tag.get(a)
                .or_else(|| tag.get(b))
                .and_then(Value::as_str)
                .map(str::to_owned)
        };
        if let (Some(k), Some(v)) = (field("key", "Key"), field("value", "Value")) {
            out.push((k, v));
        }
    }
    (!out.is_empty()).then_some((t.role_arn, out))
}

fn is_role_session(rec: &Record<'_>) -> bool {
    rec.user_identity
        .as_ref()
        .is_some_and(|u| u.kind.as_deref() == Some("AssumedRole"))
}

/// The account a record belongs to: the trail's recipient, else the caller's account.
fn record_account(rec: &Record<'_>) -> Option<String> {
    rec.recipient_account_id
        .as_deref()
        .or_else(|| {
            rec.user_identity
                .as_ref()
                .and_then(|u| u.account_id.as_deref())
        })
        .map(str::to_owned)
}

fn actor(rec: &Record<'_>) -> Option<String> {
    let u = rec.user_identity.as_ref()?;
    u.arn
        .as_deref()
        .or(u.principal_id.as_deref())
        .map(str::to_owned)
}

/// Request and response fragments are small for change events; they are copied, except
/// for any `sessionToken`, which is removed.
fn raw_to_value(raw: Option<&serde_json::value::RawValue>) -> Value {
    let mut v = raw
        .and_then(|r| serde_json::from_str::<Value>(r.get()).ok())
        .unwrap_or(Value::Null);
    crate::event::redact::redact_value(&mut v);
    v
}

fn web_id_attempt(
    rec: &Record<'_>,
    time: DateTime<Utc>,
    event_id: String,
    account: Option<String>,
) -> WebIdAttempt {
    let params: AssumeRoleParams = decode_part(rec.request_parameters);
    let ident = rec.user_identity.as_ref();
    let mut principal = parse_web_identity_principal(
        ident.and_then(|u| u.principal_id.as_deref()),
        ident.and_then(|u| u.identity_provider.as_deref()),
        ident.and_then(|u| u.user_name.as_deref()),
    );
    let error_code = rec
        .error_code
        .as_deref()
        .filter(|c| !c.is_empty())
        .map(str::to_owned);
    let (access_key_id, assumed_role_arn) = if error_code.is_none() {
        let resp: AssumeRoleResponse = decode_part(rec.response_elements);
        if let Some(p) = principal.as_mut() {
            if p.audience.is_none() {
                p.audience = resp.audience.as_deref().map(str::to_owned);
            }
        } else if let (Some(provider), Some(sub)) = (
            resp.provider.as_deref(),
            resp.subject_from_web_identity_token.as_deref(),
        ) {
            principal = Some(WebIdentityPrincipal {
                provider: provider.to_owned(),
                audience: resp.audience.as_deref().map(str::to_owned),
                subject: sub.to_owned(),
            });
        }
        (
            resp.credentials
                .and_then(|c| c.access_key_id.map(|k| k.into_owned())),
            resp.assumed_role_user
                .and_then(|u| u.arn.map(|a| a.into_owned())),
        )
    } else {
        (None, None)
    };
    let role_arn = params
        .role_arn
        .as_deref()
        .filter(|a| !a.is_empty())
        .map(str::to_owned)
        .or_else(|| {
            rec.resources.as_ref().and_then(|rs| {
                rs.iter()
                    .filter_map(|r| r.arn.as_deref())
                    .find(|a| event::role_name_from_arn(a).is_some())
                    .map(str::to_owned)
            })
        })
        .or_else(|| {
            // the assumed-role ARN of a success names the role too
            let (role, _) = assumed_role_parts(assumed_role_arn.as_deref()?)?;
            let acct = event::arn_account(assumed_role_arn.as_deref()?)?;
            Some(format!("arn:aws:iam::{acct}:role/{role}"))
        });
    let network = error_code.is_some().then(|| Box::new(Network::of(rec)));
    WebIdAttempt {
        time,
        event_id,
        account,
        region: rec.aws_region.as_deref().map(str::to_owned),
        error_code,
        error_message: rec.error_message.as_deref().map(str::to_owned),
        role_arn,
        session_name: params.role_session_name.as_deref().map(str::to_owned),
        duration_seconds: params.duration_seconds,
        principal,
        user_agent: rec.user_agent.as_deref().map(str::to_owned),
        network,
        access_key_id,
        assumed_role_arn,
    }
}

impl Network {
    /// The network side of `rec`.
    fn of(rec: &Record<'_>) -> Network {
        Network {
            source_ip: rec.source_ip_address.as_deref().map(str::to_owned),
            vpc_endpoint_id: rec.vpc_endpoint_id.as_deref().map(str::to_owned),
            tls: if rec.tls_details.is_some_and(|t| t.get() != "null") {
                TlsRecorded::Recorded
            } else {
                TlsRecorded::NotRecorded
            },
        }
    }
}

fn call_failure(
    rec: &Record<'_>,
    time: DateTime<Utc>,
    event_id: String,
    account: Option<String>,
) -> CallFailure {
    let ident = rec.user_identity.as_ref();
    let ctx = ident.and_then(|u| u.session_context.as_ref());
    CallFailure {
        time,
        event_id,
        account,
        region: rec.aws_region.as_deref().map(str::to_owned),
        event_source: rec.event_source.as_deref().unwrap_or_default().to_owned(),
        event_name: rec.event_name.as_deref().unwrap_or_default().to_owned(),
        error_code: rec.error_code.as_deref().unwrap_or_default().to_owned(),
        error_message: rec.error_message.as_deref().map(str::to_owned),
        caller_arn: ident.and_then(|u| u.arn.as_deref()).map(str::to_owned),
        access_key_id: ident
            .and_then(|u| u.access_key_id.as_deref())
            .map(str::to_owned),
        issuer_role_arn: ctx
            .and_then(|c| c.session_issuer.as_ref())
            .and_then(|i| i.arn.as_deref())
            .map(str::to_owned),
        federated_provider: ctx
            .and_then(|c| c.web_id_federation_data.as_ref())
            .and_then(|w| w.federated_provider.as_deref())
            .map(str::to_owned),
        resources: rec
            .resources
            .as_ref()
            .map(|rs| {
                rs.iter()
                    .filter_map(|r| r.arn.as_deref().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default(),
        request: raw_to_value(rec.request_parameters),
        origin: CallOrigin {
            identity_type: ident.and_then(|u| u.kind.as_deref()).map(str::to_owned),
            principal_id: ident
                .and_then(|u| u.principal_id.as_deref())
                .map(str::to_owned),
            principal_account: ident
                .and_then(|u| u.account_id.as_deref())
                .map(str::to_owned),
            network: Network::of(rec),
            user_agent: rec.user_agent.as_deref().map(str::to_owned),
            invoked_by: ident
                .and_then(|u| u.invoked_by.as_deref())
                .map(str::to_owned),
            session_created: ctx
                .and_then(|c| c.attributes.as_ref())
                .and_then(|a| a.creation_date.as_deref())
                .map(str::to_owned),
            mfa_authenticated: ctx
                .and_then(|c| c.attributes.as_ref())
                .and_then(|a| a.mfa_authenticated.as_deref())
                .map(str::to_owned),
            source_identity: ctx
                .and_then(|c| c.source_identity.as_deref())
                .map(str::to_owned),
            session_tags: None,
        },
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;
    use crate::selection::{DENIED_CODES, DENIED_SUFFIXES};

    /// A JSON string literal with the characters whose flag is set spelled as `\u00XX`.
    fn json_str(s: &str, escape: &[bool]) -> String {
        let mut out = String::from("\"");
        for (i, c) in s.chars().enumerate() {
            if escape
                .get(i % escape.len().max(1))
                .copied()
                .unwrap_or(false)
                && c.is_ascii()
            {
                out.push_str(&format!("\\u{:04x}", c as u32));
            } else {
                out.push(c);
            }
        }
        out.push('"');
        out
    }

    fn record(name: &str, source: &str, error: Option<&str>, escape: &[bool]) -> String {
        let mut fields = vec![
            ("eventVersion", "1.08".to_owned()),
            ("eventTime", "2026-01-01T00:00:00Z".to_owned()),
            ("eventSource", source.to_owned()),
            ("eventName", name.to_owned()),
            ("awsRegion", "us-east-1".to_owned()),
            ("eventID", "0b5e2a52-2c1b-4c56-8a0e-1b0f3c2b9e51".to_owned()),
            ("recipientAccountId", "111122223333".to_owned()),
        ];
        if let Some(code) = error {
            fields.push(("errorCode", code.to_owned()));
        }
        let mut out = String::from(
            r#"{"userIdentity":{"type":"AssumedRole","principalId":"AROAEXAMPLE:s","arn":"arn:aws:sts::111122223333:assumed-role/r/s","accountId":"111122223333","accessKeyId":"ASIAEXAMPLE"}"#,
        );
        for (k, v) in fields {
            out.push(',');
            out.push_str(&json_str(k, escape));
            out.push(':');
            out.push_str(&json_str(&v, escape));
        }
        out.push('}');
        out
    }

    fn selected(selector: &Selector, bytes: &str) -> bool {
        let rec: Record = serde_json::from_str(bytes).expect("test records are valid JSON");
        selector.select(&rec).is_ok()
    }

    #[test]
    fn an_assume_role_with_session_tags_is_kept_with_them() {
        let text = r#"{"eventVersion":"1.08","eventTime":"2026-01-01T00:00:00Z","eventSource":"sts.amazonaws.com","eventName":"AssumeRole","awsRegion":"us-east-1","eventID":"e1","recipientAccountId":"111122223333",
            "userIdentity":{"type":"AssumedRole","accessKeyId":"ASIAA"},
            "requestParameters":{"roleArn":"arn:aws:iam::111122223333:role/deployer","incomingTransitiveTags":{"Department":"Engineering"},"tags":[{"key":"team","value":"web"},{"Key":"cost","Value":"7"}]},
            "responseElements":{"credentials":{"accessKeyId":"ASIAB","sessionToken":"x"}}}"#;
        let rec: Record = serde_json::from_str(text).unwrap();
        let sel = Selector::new(Window::default());
        assert!(sel.may_match(text.as_bytes()));
        let Ok(Selected::TaggedSession(t)) = sel.select(&rec) else {
            panic!("not kept");
        };
        assert_eq!(t.access_key_id, "ASIAB");
        assert_eq!(
            t.role_arn.as_deref(),
            Some("arn:aws:iam::111122223333:role/deployer")
        );
        let tags: Vec<(&str, &str)> = t
            .tags
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        assert_eq!(
            tags,
            [
                ("Department", "Engineering"),
                ("team", "web"),
                ("cost", "7")
            ]
        );
        // without tags, or failed, it is not kept
        for (from, to) in [
            (
                r#""tags":[{"key":"team","value":"web"},{"Key":"cost","Value":"7"}]"#,
                r#""tags":[]"#,
            ),
            (
                r#""eventName":"AssumeRole""#,
                r#""eventName":"AssumeRole","errorCode":"AccessDenied""#,
            ),
        ] {
            let other = text
                .replace(
                    r#""incomingTransitiveTags":{"Department":"Engineering"},"#,
                    "",
                )
                .replace(from, to);
            let rec: Record = serde_json::from_str(&other).unwrap();
            assert!(
                !matches!(sel.select(&rec), Ok(Selected::TaggedSession(_))),
                "{other}"
            );
        }
    }

    #[test]
    fn escaped_keywords_still_pass_the_byte_test() {
        let selector = Selector::new(Window::default());
        let escape_all = [true];
        for (name, source, error) in [
            (
                "AssumeRoleWithWebIdentity",
                "sts.amazonaws.com",
                Some("AccessDenied"),
            ),
            ("UpdateAssumeRolePolicy", "iam.amazonaws.com", None),
            ("SetRepositoryPolicy", "ecr.amazonaws.com", None),
            ("ImportSourceCredentials", "codebuild.amazonaws.com", None),
            ("PutImage", "ecr.amazonaws.com", Some("AccessDenied")),
        ] {
            let plain = record(name, source, error, &[false]);
            let escaped = record(name, source, error, &escape_all);
            assert!(!escaped.contains(name), "{escaped}");
            assert!(selected(&selector, &plain), "{plain}");
            assert!(selected(&selector, &escaped), "{escaped}");
            assert!(selector.may_match(plain.as_bytes()), "{plain}");
            assert!(selector.may_match(escaped.as_bytes()), "{escaped}");
        }
        let boring = record("GetObject", "s3.amazonaws.com", None, &[false]);
        assert!(!selector.may_match(boring.as_bytes()));
    }

    #[test]
    fn every_denied_code_holds_a_needle() {
        let codes = DENIED_CODES.iter().chain(DENIED_SUFFIXES);
        for code in codes.chain(&["ValidationError", "Foo.AccessDeniedException"]) {
            assert!(NEEDLES.iter().any(|n| code.contains(n)), "{code}");
        }
        assert!(!is_access_denied("ThrottlingException"));
    }

    #[test]
    fn every_needle_holds_a_part() {
        for needle in NEEDLES {
            assert!(
                *needle == "\\u" || NEEDLE_PARTS.iter().any(|p| needle.contains(p)),
                "{needle}"
            );
        }
    }

    /// Hands the records of `pieces` (each a list of fragments, then its separator) to
    /// [`Hits`] over their concatenation and to [`Selector::may_match`] alone.
    fn hits_against_records(records: &[(Vec<&str>, &str)]) -> Result<(), String> {
        let selector = Selector::new(Window::default());
        let mut text = String::from("xx");
        let mut spans = Vec::new();
        for (fragments, separator) in records {
            let start = text.len();
            text.push_str(&fragments.concat());
            spans.push((start, text.len()));
            text.push_str(separator);
        }
        let mut hits = selector
            .hits(100, &text.as_bytes()[2..])
            .ok_or("no automaton")?;
        for &(start, end) in &spans {
            let bytes = &text.as_bytes()[start..end];
            let whole = hits.may_match(98 + start as u64, bytes);
            if whole != selector.may_match(bytes) {
                return Err(format!("{:?} in {text:?}", &text[start..end]));
            }
        }
        Ok(())
    }

    proptest! {
        /// The search over a whole input rejects exactly the records the per-record test
        /// rejects, whatever the records are (needles split across records, escapes, parts
        /// of needles, records back to back).
        #[test]
        fn hits_agree_with_the_record_test(
            records in prop::collection::vec((
                prop::collection::vec(prop::sample::select(vec![
                    "{", "}", "\"", ",", "x", "\\", "u", "\\u00", "AssumeRole", "WithWeb",
                    "Identity", "WebIdentity", "Access", "Denied", "AccessDenied", "Unauthorized",
                    "Operation", "Validation", "ValidationE", "Error", "i", "am",
                    ".amazonaws.com", "iam.amazonaws.com", "ssm.amazonaws.com", "Repository",
                    "Policy", "codebuild", "code", "build.amazonaws.com", "con", "nections",
                    "connections.amazonaws.com", "CloudTrail", "Event", "CloudTrailEvent",
                ]), 0..12),
                prop::sample::select(vec!["", ",", "\n", " ,\n"]),
            ), 0..30),
        ) {
            prop_assert_eq!(hits_against_records(&records), Ok(()));
        }

        /// The byte test never rejects a record the selection keeps, however its keys and
        /// values are escaped.
        #[test]
        fn may_match_never_rejects_a_selected_record(
            name in prop::sample::select(vec![
                "AssumeRoleWithWebIdentity", "UpdateAssumeRolePolicy", "CreateRole",
                "CreateOpenIDConnectProvider", "SetRepositoryPolicy", "DeleteRepositoryPolicy",
                "ImportSourceCredentials", "CreateWebhook", "CreateConnection", "PutImage",
                "GetObject", "AssumeRole", "InitiateLayerUpload",
            ]),
            source in prop::sample::select(vec![
                "sts.amazonaws.com", "iam.amazonaws.com", "ecr.amazonaws.com",
                "codebuild.amazonaws.com", "codestar-connections.amazonaws.com",
                "codeconnections.amazonaws.com", "s3.amazonaws.com",
            ]),
            error in prop::option::of(prop::sample::select(vec![
                "AccessDenied", "AccessDeniedException", "ValidationError", "ThrottlingException",
                "Client.UnauthorizedOperation", "UnauthorizedOperation", "S3.AccessDenied",
                "NoSuchEntity",
            ])),
            escape in prop::collection::vec(prop::bool::weighted(0.05), 1..40),
        ) {
            let selector = Selector::new(Window::default());
            let bytes = record(name, source, error, &escape);
            if selected(&selector, &bytes) {
                prop_assert!(selector.may_match(bytes.as_bytes()), "{}", bytes);
            }
        }
    }
}
