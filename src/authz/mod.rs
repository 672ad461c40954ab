//! AWS's own record of a denial: IAM Access Troubleshooter's authorization details
//! (`GetRequestAuthorizationDetails`) and the policies captured with the denied request
//! (`GetRequestAuthorizationPolicy`), for denials whose message carries an authorization ID.
//!
//! One shape everywhere: a record is the JSON the API returns (and the AWS CLI prints) for
//! `get-request-authorization-details`, every page merged, with each entry of `policies`
//! carrying the `policyDocument` that `get-request-authorization-policy` returned for its
//! `uri`. `--aws-details` builds that JSON from the SDK's answers (`live.rs`),
//! `--aws-details-dir` reads it from `DIR/ID.json`, `--save-aws-details` writes it there, and
//! all three go through [`AwsRecord::from_json`], so a record read weeks later is read exactly
//! as it was fetched. `explain::call` uses a record as the policies in force and the request
//! context, and checks its own evaluation against AWS's.

pub mod live;

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

use anyhow::{anyhow, Context as _, Result};
use serde::Serialize;
use serde_json::Value;

use sha2::{Digest, Sha256};

use crate::event::denial::{parse_denial, Denial};
use crate::select::CallFailure;

/// `EvaluatedEffect` of one evaluation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Effect {
    Allow,
    ExplicitDeny,
    ImplicitDeny,
    /// A value this version does not know, kept as AWS wrote it.
    #[serde(untagged)]
    Other(String),
}

impl Effect {
    fn parse(s: &str) -> Effect {
        match s {
            "ALLOW" => Effect::Allow,
            "EXPLICIT_DENY" => Effect::ExplicitDeny,
            "IMPLICIT_DENY" => Effect::ImplicitDeny,
            other => Effect::Other(other.to_owned()),
        }
    }

    pub fn as_str(&self) -> &str {
        match self {
            Effect::Allow => "ALLOW",
            Effect::ExplicitDeny => "EXPLICIT_DENY",
            Effect::ImplicitDeny => "IMPLICIT_DENY",
            Effect::Other(s) => s,
        }
    }
}

/// `PolicyType` of an evaluated policy.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum PolicyKind {
    IdentityBasedPolicy,
    PermissionsBoundary,
    ResourceBasedPolicy,
    ResourceControlPolicy,
    ServiceControlPolicy,
    SessionPolicy,
    VpcEndpointPolicy,
    #[serde(untagged)]
    Other(String),
}

impl PolicyKind {
    fn parse(s: &str) -> PolicyKind {
        match s {
            "IDENTITY_BASED_POLICY" => PolicyKind::IdentityBasedPolicy,
            "PERMISSIONS_BOUNDARY" => PolicyKind::PermissionsBoundary,
            "RESOURCE_BASED_POLICY" => PolicyKind::ResourceBasedPolicy,
            "RESOURCE_CONTROL_POLICY" => PolicyKind::ResourceControlPolicy,
            "SERVICE_CONTROL_POLICY" => PolicyKind::ServiceControlPolicy,
            "SESSION_POLICY" => PolicyKind::SessionPolicy,
            "VPC_ENDPOINT_POLICY" => PolicyKind::VpcEndpointPolicy,
            other => PolicyKind::Other(other.to_owned()),
        }
    }

    /// The layer's name as AWS's denial messages write it.
    pub fn phrase(&self) -> &str {
        match self {
            PolicyKind::IdentityBasedPolicy => "identity-based policy",
            PolicyKind::PermissionsBoundary => "permissions boundary",
            PolicyKind::ResourceBasedPolicy => "resource-based policy",
            PolicyKind::ResourceControlPolicy => "resource control policy",
            PolicyKind::ServiceControlPolicy => "service control policy",
            PolicyKind::SessionPolicy => "session policy",
            PolicyKind::VpcEndpointPolicy => "VPC endpoint policy",
            PolicyKind::Other(s) => s,
        }
    }
}

/// A statement AWS says matched.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct MatchedStatement {
    pub sid: Option<String>,
    /// `ALLOW` or `DENY`.
    pub effect: Option<String>,
}

/// A policy AWS says matched, with its matched statements.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct MatchedPolicy {
    pub uri: String,
    pub statements: Vec<MatchedStatement>,
}

/// One evaluation: an action on a resource, and AWS's decision.
#[derive(Debug, Clone, PartialEq)]
pub struct Evaluation {
    pub action: String,
    pub resource: String,
    /// Keys specific to this evaluation, applied over the request context.
    pub context: BTreeMap<String, Value>,
    pub effect: Option<Effect>,
    pub matched: Vec<MatchedPolicy>,
}

/// A policy AWS evaluated, with its document as captured with the request when it was read.
#[derive(Debug, Clone, PartialEq)]
pub struct PolicyInfo {
    pub kind: PolicyKind,
    pub inline: bool,
    pub uri: String,
    pub attached_to: Vec<String>,
    pub document: Option<Value>,
    /// Why the document is missing, when it is.
    pub document_missing: Option<String>,
}

/// Where a record came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RecordSource {
    /// Fetched in this run, from this region.
    Live { region: String },
    /// Read from a saved file.
    File(PathBuf),
}

impl RecordSource {
    pub fn code(&self) -> &'static str {
        match self {
            RecordSource::Live { .. } => "live",
            RecordSource::File(_) => "file",
        }
    }

    pub fn describe(&self) -> String {
        match self {
            RecordSource::Live { region } => format!("fetched from AWS in {region}"),
            RecordSource::File(p) => format!("read from {}", p.display()),
        }
    }
}

/// Which of AWS's records it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RecordKind {
    /// IAM Access Troubleshooter's authorization details, with the captured policies.
    Troubleshooter,
    /// An encoded authorization message (EC2's `Encoded authorization failure message: …`)
    /// decoded by `sts:DecodeAuthorizationMessage`: the decision, the matched statements and
    /// the request context, but no policy documents.
    Decoded,
}

/// AWS's record of one denied request.
#[derive(Debug, Clone, PartialEq)]
pub struct AwsRecord {
    /// The authorization ID, or for a decoded message its key ([`key_of`]).
    pub authorization_id: String,
    pub kind: RecordKind,
    pub source: RecordSource,
    pub request_context: BTreeMap<String, Value>,
    pub evaluations: Vec<Evaluation>,
    pub policies: Vec<PolicyInfo>,
}

fn str_of(v: &Value, key: &str) -> Option<String> {
    v.get(key).and_then(Value::as_str).map(str::to_owned)
}

fn map_of(v: Option<&Value>) -> BTreeMap<String, Value> {
    v.and_then(Value::as_object)
        .map(|m| m.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
        .unwrap_or_default()
}

fn list_of<'a>(v: &'a Value, key: &str) -> &'a [Value] {
    v.get(key)
        .and_then(Value::as_array)
        .map_or(&[], Vec::as_slice)
}

impl AwsRecord {
    /// Reads a record in the API's JSON shape (see the module documentation); `policyDocument`
    /// may be the document itself or its JSON text.
    pub fn from_json(id: &str, source: RecordSource, v: &Value) -> Result<AwsRecord> {
        let obj = v.as_object().ok_or_else(|| anyhow!("not a JSON object"))?;
        // `aws sts decode-authorization-message` output, or the decoded message itself
        if let Some(text) = obj.get("DecodedMessage").and_then(Value::as_str) {
            let decoded: Value = serde_json::from_str(text)
                .map_err(|e| anyhow!("its DecodedMessage is not JSON: {e}"))?;
            return Ok(AwsRecord::from_decoded(id, source, &decoded));
        }
        if obj.contains_key("allowed") && obj.contains_key("context") {
            return Ok(AwsRecord::from_decoded(id, source, v));
        }
        if !obj.contains_key("evaluations") && !obj.contains_key("requestContext") {
            return Err(anyhow!(
                "not the output of get-request-authorization-details (no evaluations, no requestContext)"
            ));
        }
        let evaluations = list_of(v, "evaluations")
            .iter()
            .map(|e| Evaluation {
                action: str_of(e, "action").unwrap_or_default(),
                resource: str_of(e, "resource").unwrap_or_default(),
                context: map_of(e.get("context")),
                effect: e
                    .get("evaluatedEffect")
                    .and_then(Value::as_str)
                    .map(Effect::parse),
                matched: list_of(e, "matchedPolicies")
                    .iter()
                    .map(|m| MatchedPolicy {
                        uri: str_of(m, "uri").unwrap_or_default(),
                        statements: list_of(m, "matchedStatements")
                            .iter()
                            .map(|s| MatchedStatement {
                                sid: str_of(s, "sid"),
                                effect: str_of(s, "evaluatedEffect"),
                            })
                            .collect(),
                    })
                    .collect(),
            })
            .collect();
        let policies = list_of(v, "policies")
            .iter()
            .map(|p| {
                let (document, document_missing) = match p.get("policyDocument") {
                    Some(Value::String(text)) => match serde_json::from_str::<Value>(text) {
                        Ok(d) => (Some(d), None),
                        Err(e) => (None, Some(format!("its policyDocument is not JSON: {e}"))),
                    },
                    Some(Value::Null) | None => (
                        None,
                        Some(
                            str_of(p, "policyDocumentError")
                                .unwrap_or_else(|| "no policyDocument was recorded".to_owned()),
                        ),
                    ),
                    Some(d) => (Some(d.clone()), None),
                };
                PolicyInfo {
                    kind: PolicyKind::parse(&str_of(p, "type").unwrap_or_default()),
                    inline: p.get("inline").and_then(Value::as_bool).unwrap_or(false),
                    uri: str_of(p, "uri").unwrap_or_default(),
                    attached_to: list_of(p, "attachedTo")
                        .iter()
                        .filter_map(|a| str_of(a, "arn"))
                        .collect(),
                    document,
                    document_missing,
                }
            })
            .collect();
        Ok(AwsRecord {
            authorization_id: id.to_owned(),
            kind: RecordKind::Troubleshooter,
            source,
            request_context: map_of(v.get("requestContext")),
            evaluations,
            policies,
        })
    }

    /// A decoded authorization message: `allowed`, `explicitDeny`, `matchedStatements`
    /// (`statementId`, `effect`) and `context` (`action`, `resource`, `conditions` as
    /// `{key, values: {items: [{value}]}}`), read as one evaluation without policies.
    fn from_decoded(id: &str, source: RecordSource, v: &Value) -> AwsRecord {
        let items = |v: Option<&Value>| -> Vec<Value> {
            v.and_then(|x| x.get("items"))
                .and_then(Value::as_array)
                .cloned()
                .unwrap_or_default()
        };
        let context = v.get("context").cloned().unwrap_or(Value::Null);
        let mut request_context = BTreeMap::new();
        for c in items(context.get("conditions")) {
            let Some(key) = str_of(&c, "key") else {
                continue;
            };
            let values: Vec<Value> = items(c.get("values"))
                .iter()
                .filter_map(|x| x.get("value").cloned())
                .collect();
            request_context.insert(
                key,
                match <[Value; 1]>::try_from(values) {
                    Ok([one]) => one,
                    Err(many) => Value::Array(many),
                },
            );
        }
        let effect = if v.get("allowed").and_then(Value::as_bool) == Some(true) {
            Effect::Allow
        } else if v.get("explicitDeny").and_then(Value::as_bool) == Some(true) {
            Effect::ExplicitDeny
        } else {
            Effect::ImplicitDeny
        };
        let statements: Vec<MatchedStatement> = items(v.get("matchedStatements"))
            .iter()
            .map(|m| MatchedStatement {
                sid: str_of(m, "statementId"),
                effect: str_of(m, "effect"),
            })
            .collect();
        AwsRecord {
            authorization_id: id.to_owned(),
            kind: RecordKind::Decoded,
            source,
            request_context,
            evaluations: vec![Evaluation {
                action: str_of(&context, "action").unwrap_or_default(),
                resource: str_of(&context, "resource").unwrap_or_default(),
                context: BTreeMap::new(),
                effect: Some(effect),
                matched: if statements.is_empty() {
                    Vec::new()
                } else {
                    vec![MatchedPolicy {
                        uri: "decoded authorization message".to_owned(),
                        statements,
                    }]
                },
            }],
            policies: Vec::new(),
        }
    }

    /// The evaluation of `action` (on `resource` where AWS names one) that denied: AWS may
    /// evaluate several action/resource pairs for one request.
    pub fn evaluation_for(&self, action: &str, resource: &str) -> Option<&Evaluation> {
        let denied = |e: &&Evaluation| e.effect.as_ref().is_some_and(|x| *x != Effect::Allow);
        // a decoded message names the action without its service prefix (`RunInstances`)
        let same_action = |e: &&Evaluation| {
            e.action.eq_ignore_ascii_case(action)
                || action
                    .split_once(':')
                    .is_some_and(|(_, name)| e.action.eq_ignore_ascii_case(name))
        };
        let same_resource = |e: &&Evaluation| e.resource.is_empty() || e.resource == resource;
        self.evaluations
            .iter()
            .filter(same_action)
            .filter(same_resource)
            .find(denied)
            .or_else(|| self.evaluations.iter().filter(same_action).find(denied))
            .or_else(|| self.evaluations.iter().find(denied))
            .or_else(|| self.evaluations.iter().find(same_action))
    }

    /// The policy AWS lists under `uri`.
    pub fn policy(&self, uri: &str) -> Option<&PolicyInfo> {
        self.policies.iter().find(|p| p.uri == uri)
    }

    /// The request context with `evaluation`'s own keys applied over it.
    pub fn context_of(&self, evaluation: Option<&Evaluation>) -> BTreeMap<String, Value> {
        let mut out = self.request_context.clone();
        if let Some(e) = evaluation {
            out.extend(e.context.iter().map(|(k, v)| (k.clone(), v.clone())));
        }
        out
    }
}

/// Whether `id` is an authorization ID as the API defines it (`[0-9a-z]+`, at most 256
/// characters): one read from a log is hostile text until it passes this, and it names a file.
pub fn valid_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= 256
        && id
            .bytes()
            .all(|b| b.is_ascii_digit() || b.is_ascii_lowercase())
}

/// Why AWS's record of an ID is not available.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Missing {
    /// `ResourceNotFoundException`: expired (kept for at least 24 hours), another region, or
    /// another account or organization.
    Expired,
    /// `AccessDeniedException`: the caller lacks `iam:GetRequestAuthorizationDetails`, or is
    /// outside the denied principal's account or organization.
    Refused,
    /// The API could not be reached in the denial's region.
    Unavailable,
    /// Anything else (throttled past the retries, a server error, an answer not understood).
    Failed,
    /// `--aws-details-dir` without `--aws-details`: no `ID.json` for it.
    NotSaved,
}

impl Missing {
    /// The name the summary counts it under.
    pub fn code(self) -> &'static str {
        match self {
            Missing::Expired => "expired",
            Missing::Refused => "refused",
            Missing::Unavailable => "unavailable",
            Missing::Failed => "failed",
            Missing::NotSaved => "not_saved",
        }
    }

    pub fn describe(self) -> &'static str {
        match self {
            Missing::Expired => "not found: expired (AWS keeps them for at least 24 hours), or not of this region, account or organization",
            Missing::Refused => "access denied: iam:GetRequestAuthorizationDetails is needed, and the caller must belong to the denied principal's account or organization",
            Missing::Unavailable => "the IAM Toolbox API could not be reached in the denial's region",
            Missing::Failed => "the call failed",
            Missing::NotSaved => "no saved record in --aws-details-dir",
        }
    }
}

/// What `--aws-details` and `--aws-details-dir` found: the records by ID, and the summary.
#[derive(Debug, Clone, Default)]
pub struct AwsRecords {
    pub by_id: HashMap<String, AwsRecord>,
    pub summary: AwsDetailsSummary,
}

/// The summary's `aws_details` (contract): counts of authorization IDs.
#[derive(Debug, Clone, Default, Serialize, PartialEq, Eq)]
pub struct AwsDetailsSummary {
    /// Distinct authorization IDs in the denials read.
    pub ids_seen: usize,
    /// Fetched from the API in this run.
    pub fetched: usize,
    /// Read from `--aws-details-dir`.
    pub from_file: usize,
    pub expired: usize,
    pub refused: usize,
    pub unavailable: usize,
    pub failed: usize,
    pub not_saved: usize,
    /// IDs whose record came without the document of some evaluated policy.
    pub incomplete: usize,
    /// Failures where the tool's own evaluation disagrees with AWS's (set by `explain`).
    pub disagreements: usize,
    /// One line per reason a record is missing, with an example.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub problems: Vec<String>,
}

impl AwsDetailsSummary {
    /// The count of records missing for `why`.
    fn missing(&mut self, why: Missing) -> &mut usize {
        match why {
            Missing::Expired => &mut self.expired,
            Missing::Refused => &mut self.refused,
            Missing::Unavailable => &mut self.unavailable,
            Missing::Failed => &mut self.failed,
            Missing::NotSaved => &mut self.not_saved,
        }
    }

    /// Counts a missing record; the first of each reason is named in `problems`.
    fn note_missing(&mut self, id: &str, why: Missing, detail: &str) {
        let count = self.missing(why);
        *count += 1;
        if *count == 1 {
            let detail = if detail.is_empty() {
                String::new()
            } else {
                format!(": {detail}")
            };
            self.problems.push(format!(
                "{}: {}{detail} (e.g. {id})",
                why.code(),
                why.describe()
            ));
        }
    }
}

/// How `explain` and `report` get AWS's record.
#[derive(Debug, Clone, Default)]
pub struct DetailsOptions {
    /// `--aws-details`: fetch through the API.
    pub live: bool,
    /// `--aws-details-dir`: read saved records first.
    pub dir: Option<PathBuf>,
    /// `--save-aws-details`: write what was fetched.
    pub save: Option<PathBuf>,
}

impl DetailsOptions {
    pub fn wanted(&self) -> bool {
        self.live || self.dir.is_some()
    }
}

/// The key of AWS's record of a denial: its authorization ID when it is one, else for an
/// encoded authorization message `encoded` and the first 32 hex digits of its SHA-256 (the
/// message itself may be 10 KiB; the key names a file).
pub fn key_of(denial: &Denial) -> Option<String> {
    if let Some(id) = denial.authorization_id.as_deref().filter(|id| valid_id(id)) {
        return Some(id.to_owned());
    }
    let message = denial.encoded_message.as_deref()?;
    let digest = Sha256::digest(message.as_bytes());
    let hex: String = digest[..16].iter().map(|b| format!("{b:02x}")).collect();
    Some(format!("encoded{hex}"))
}

/// One record to get: its key, the region of the first denial that carried it (the APIs
/// answer only in the denial's region), and for an encoded message the message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Wanted {
    pub key: String,
    pub region: String,
    pub encoded: Option<String>,
}

/// The distinct records `failures`' denial messages point at.
pub fn ids_of(failures: &[CallFailure]) -> Vec<Wanted> {
    let mut wanted = WantedIds::default();
    for f in failures {
        wanted.add(f);
    }
    wanted.into_vec()
}

/// The distinct records the denial messages of failed calls point at, gathered call by call.
#[derive(Debug, Default)]
pub struct WantedIds {
    seen: BTreeMap<String, Wanted>,
}

impl WantedIds {
    pub fn add(&mut self, f: &CallFailure) {
        let Some(message) = f.error_message.as_deref() else {
            return;
        };
        // only IAM Access Troubleshooter's and encoded messages carry one
        if !message.contains("uthorization") {
            return;
        }
        let denial = parse_denial(message);
        let Some(key) = key_of(&denial) else {
            return;
        };
        let encoded = key
            .starts_with("encoded")
            .then_some(denial.encoded_message)
            .flatten();
        self.seen.entry(key.clone()).or_insert_with(|| Wanted {
            key,
            region: f.region.clone().unwrap_or_default(),
            encoded,
        });
    }

    pub fn into_vec(self) -> Vec<Wanted> {
        self.seen.into_values().collect()
    }
}

/// Gets AWS's record of every authorization ID `wanted`: from `opts.dir` where saved,
/// else (with `opts.live`) through the API, saving what was fetched to `opts.save`. A record
/// that cannot be had is counted by reason, never an error; a saved file that cannot be read
/// is an error naming it.
pub fn gather(
    wanted: WantedIds,
    opts: &DetailsOptions,
    ctx: Option<&std::sync::Arc<crate::aws::AwsContext>>,
) -> Result<AwsRecords> {
    let ids = wanted.into_vec();
    let mut out = AwsRecords {
        summary: AwsDetailsSummary {
            ids_seen: ids.len(),
            ..AwsDetailsSummary::default()
        },
        ..AwsRecords::default()
    };
    let mut to_fetch: Vec<Wanted> = Vec::new();
    for wanted in ids {
        if let Some(dir) = &opts.dir {
            if let Some(record) = read_saved(dir, &wanted.key)? {
                out.summary.from_file += 1;
                out.by_id.insert(wanted.key, record);
                continue;
            }
        }
        if opts.live {
            to_fetch.push(wanted);
        } else {
            out.summary.note_missing(&wanted.key, Missing::NotSaved, "");
        }
    }
    if let (false, Some(ctx)) = (to_fetch.is_empty(), ctx) {
        for (id, region, got) in live::fetch(ctx, &to_fetch) {
            match got {
                Ok(v) => {
                    if let Some(dir) = &opts.save {
                        save(dir, &id, &v)?;
                    }
                    let record = AwsRecord::from_json(&id, RecordSource::Live { region }, &v)
                        .with_context(|| format!("authorization details of {id}"))?;
                    out.summary.fetched += 1;
                    out.by_id.insert(id, record);
                }
                Err((why, detail)) => out.summary.note_missing(&id, why, &detail),
            }
        }
    }
    out.summary.incomplete = out
        .by_id
        .values()
        .filter(|r| r.policies.iter().any(|p| p.document.is_none()))
        .count();
    Ok(out)
}

/// `DIR/ID.json`, if saved.
fn read_saved(dir: &Path, id: &str) -> Result<Option<AwsRecord>> {
    let path = dir.join(format!("{id}.json"));
    let text = match std::fs::read_to_string(&path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(anyhow!("--aws-details-dir: {}: {e}", path.display())),
    };
    let v: Value = serde_json::from_str(&text)
        .map_err(|e| anyhow!("--aws-details-dir: {}: not JSON: {e}", path.display()))?;
    AwsRecord::from_json(id, RecordSource::File(path.clone()), &v)
        .map(Some)
        .map_err(|e| anyhow!("--aws-details-dir: {}: {e}", path.display()))
}

/// Writes `DIR/ID.json` (the directory is made if needed).
fn save(dir: &Path, id: &str, v: &Value) -> Result<()> {
    std::fs::create_dir_all(dir)
        .map_err(|e| anyhow!("--save-aws-details: {}: {e}", dir.display()))?;
    let path = dir.join(format!("{id}.json"));
    let text = serde_json::to_string_pretty(v)?;
    std::fs::write(&path, text + "\n")
        .map_err(|e| anyhow!("--save-aws-details: {}: {e}", path.display()))
}

#[cfg(test)]
mod tests;
