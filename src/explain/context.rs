//! The request context of a denied call, as AWS builds it: every global condition key the
//! record, the session that made the call and the inventory can give a value, each with where
//! the value came from — and every key none of them can give marked *unknown*, never guessed.
//!
//! This is the one place that builds a call's context (for `call`'s evaluation of identity,
//! boundary and repository policies). Unknown is not absent: a key AWS would not have set for
//! this request (`aws:username` for a role session, `aws:SourceVpce` for a call that came over
//! the internet) is absent, so `...IfExists`, `Null` and negated operators follow AWS's rules;
//! a key AWS would have set but the tool cannot know (`aws:PrincipalOrgID` without the
//! organization, `aws:ResourceTag/…` without the repository's tags) is unknown, and the
//! policy engine takes conditions on it both ways (`iam_policy::Assume`), so `call` can tell
//! when a decision turns on it. It evaluates nothing and reads no files.

use std::collections::BTreeMap;
use std::net::IpAddr;

use iam_policy::{Context, ContextValue};
use serde::Serialize;
use serde_json::Value;

use crate::correlate::Session;
use crate::event::arn_account;
use crate::inventory::{Inventory, RoleArn};
use crate::select::{CallFailure, Network, TlsRecorded};

/// Where a key's value came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Origin {
    /// A field of the failed call's record.
    Event,
    /// The session that made the call (`sessionContext`, or its joined assumption).
    Session,
    /// The inventory (role tags, the organization, a role's path).
    Inventory,
    /// A rule of AWS's for this kind of caller (a role session is not an AWS service).
    Rule,
    /// AWS's own record of the denied request (`--aws-details`).
    Aws,
}

/// A call's request context, with the origin of every value and what would decide the keys
/// left unknown.
#[derive(Debug, Clone)]
pub struct CallContext {
    pub context: Context,
    pub origins: BTreeMap<String, Origin>,
    /// Key (or prefix) → what the tool would need to know it.
    pub unknown: BTreeMap<String, String>,
}

impl CallContext {
    fn new() -> CallContext {
        CallContext {
            context: Context::new(),
            origins: BTreeMap::new(),
            unknown: BTreeMap::new(),
        }
    }

    fn set(&mut self, key: &str, value: impl Into<String>, origin: Origin) {
        self.context.insert(key, ContextValue::Single(value.into()));
        self.origins.insert(key.to_owned(), origin);
    }

    fn set_many(&mut self, key: &str, values: Vec<String>, origin: Origin) {
        self.context.insert(key, ContextValue::Multi(values));
        self.origins.insert(key.to_owned(), origin);
    }

    fn unknown(&mut self, pattern: &str, needed: impl Into<String>) {
        self.context.mark_unknown(pattern);
        self.unknown.insert(pattern.to_owned(), needed.into());
    }

    /// Takes AWS's record of the request context (`--aws-details`): its values replace the
    /// tool's, and since AWS records the whole context it evaluated, a key the tool could not
    /// know and AWS does not list was absent.
    pub fn adopt_aws(&mut self, values: &BTreeMap<String, Value>) {
        for (key, value) in values {
            match value {
                Value::Null => {}
                Value::Array(items) => {
                    let items = items.iter().map(scalar_text).collect();
                    self.set_many(key, items, Origin::Aws);
                }
                other => self.set(key, scalar_text(other), Origin::Aws),
            }
        }
        self.context.clear_unknowns();
        self.unknown.clear();
    }

    fn absent(&mut self, pattern: &str) {
        self.context.mark_absent(pattern);
    }

    /// Where `key`'s value came from, for evidence.
    pub fn origin(&self, key: &str) -> Option<Origin> {
        self.origins
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(key))
            .map(|(_, o)| *o)
    }

    /// `KEY: what would decide it`, for each of `keys`.
    pub fn what_decides(&self, keys: &[String]) -> Vec<String> {
        keys.iter()
            .map(|k| {
                format!(
                    "{k}: {}",
                    self.needed_for(k)
                        .unwrap_or("a value CloudTrail does not record")
                )
            })
            .collect()
    }

    /// What would decide an unknown `key` (the entry of the pattern that covers it).
    pub fn needed_for(&self, key: &str) -> Option<&str> {
        // the most specific pattern that covers the key
        self.unknown
            .iter()
            .filter(|(p, _)| iam_policy::covers(p, key))
            .max_by_key(|(p, _)| p.len())
            .map(|(_, n)| n.as_str())
    }
}

/// A JSON scalar as a condition value: strings as they are, numbers and booleans as written.
fn scalar_text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// The service prefix of a resource ARN or an action (`ecr` of `ecr:PutImage`).
fn action_service(action: &str) -> Option<&str> {
    action.split_once(':').map(|(s, _)| s)
}

/// The context AWS builds for the failed call `f` on `resource` (`*` for none), made by the
/// session of `role_arn` (the role's full ARN when known).
pub fn for_call(
    f: &CallFailure,
    action: &str,
    resource: &str,
    role_arn: Option<&str>,
    session: Option<&Session>,
    inv: &Inventory,
) -> CallContext {
    let mut c = CallContext::new();
    let o = &f.origin;
    // Every global key not set or ruled out below is unknown, as are the called service's own
    // keys; keys of other services are absent.
    c.unknown(
        "aws:",
        "a global condition key CloudTrail does not record for this call",
    );
    if let Some(svc) = action_service(action) {
        c.unknown(
            &format!("{svc}:"),
            format!("a condition key of {svc} that CloudTrail does not record"),
        );
    }

    // the time and place of the request
    c.set(
        "aws:CurrentTime",
        f.time.format("%Y-%m-%dT%H:%M:%SZ").to_string(),
        Origin::Event,
    );
    c.set(
        "aws:EpochTime",
        f.time.timestamp().to_string(),
        Origin::Event,
    );
    if let Some(r) = &f.region {
        c.set("aws:RequestedRegion", r.clone(), Origin::Event);
    }
    if let Some(ua) = &o.user_agent {
        c.set("aws:UserAgent", ua.clone(), Origin::Event);
    }
    network_into(&mut c, &o.network);
    match &o.invoked_by {
        Some(_) => {
            c.set("aws:ViaAWSService", "true", Origin::Event);
        }
        None => {
            c.set("aws:ViaAWSService", "false", Origin::Event);
            for k in [
                "aws:CalledVia",
                "aws:CalledViaFirst",
                "aws:CalledViaLast",
                "aws:SourceAccount",
                "aws:SourceArn",
                "aws:SourceOrgID",
                "aws:SourceOrgPaths",
            ] {
                c.absent(k);
            }
        }
    }

    // the principal
    principal(&mut c, f, role_arn, session, inv);

    // the resource
    if let Some(account) = arn_account(resource) {
        c.set("aws:ResourceAccount", account, Origin::Event);
        match inv.organization_of(account) {
            Some(org) => c.set("aws:ResourceOrgID", org, Origin::Inventory),
            None => c.unknown(
                "aws:ResourceOrgID",
                format!("the organization of account {account} (pass `aws organizations list-accounts` output with --iam)"),
            ),
        }
    }
    let service_tags = action_service(action).map(|svc| format!("{svc}:ResourceTag/"));
    match inv.resource_tags_at(resource, f.time) {
        Some(tags) => {
            for (k, v) in &tags {
                c.set(
                    &format!("aws:ResourceTag/{k}"),
                    v.clone(),
                    Origin::Inventory,
                );
                if let Some(p) = &service_tags {
                    c.set(&format!("{p}{k}"), v.clone(), Origin::Inventory);
                }
            }
            c.absent("aws:ResourceTag/");
            if let Some(p) = &service_tags {
                c.absent(p);
            }
        }
        None => {
            let needed = "the resource's tags at the time (pass `aws resourcegroupstaggingapi get-resources` output with --iam, use --iam-live, or include the logs of its CreateRepository; a TagResource/UntagResource after the failure makes them unknown)";
            c.unknown("aws:ResourceTag/", needed);
            if let Some(p) = &service_tags {
                c.unknown(p, needed);
            }
        }
    }

    // the request itself
    request_tags(&mut c, f);
    if f.event_source == "sts.amazonaws.com" {
        if let Some(n) = f.request.get("roleSessionName").and_then(Value::as_str) {
            c.set("sts:RoleSessionName", n, Origin::Event);
        }
        match f.request.get("sourceIdentity").and_then(Value::as_str) {
            Some(s) => c.set("sts:SourceIdentity", s, Origin::Event),
            None if f.request.is_object() => c.absent("sts:SourceIdentity"),
            None => {}
        }
    }
    c
}

/// The network keys of a request from its record: `aws:SourceIp` for a call from an address,
/// or `aws:SourceVpce` and `aws:VpcSourceIp` through a VPC endpoint (where `aws:SourceIp` is
/// absent), and `aws:SecureTransport`. The same for a call and for a web-identity request
/// (`trust`).
pub fn network(n: &Network) -> CallContext {
    let mut c = CallContext::new();
    network_into(&mut c, n);
    c
}

fn network_into(c: &mut CallContext, n: &Network) {
    match (&n.vpc_endpoint_id, &n.source_ip) {
        (Some(vpce), ip) => {
            c.set("aws:SourceVpce", vpce.clone(), Origin::Event);
            // Through an endpoint, sourceIPAddress is the caller's private address, which AWS
            // gives as aws:VpcSourceIp (IAM User Guide, "Use VPC condition keys to control
            // federated access": aws:VpcSourceIp yes, aws:SourceIp no through a VPC endpoint).
            // A service name or "AWS Internal" there is no address: unknown, not a value that
            // IpAddress conditions would read as a problem.
            match ip {
                Some(ip) if ip.parse::<IpAddr>().is_ok() => {
                    c.set("aws:VpcSourceIp", ip.clone(), Origin::Event);
                }
                _ => c.unknown(
                    "aws:VpcSourceIp",
                    "the caller's private address (the record's sourceIPAddress is not an address)",
                ),
            }
            c.absent("aws:SourceIp");
            c.unknown(
                "aws:SourceVpc",
                "the VPC of endpoint (CloudTrail records the endpoint, not its VPC)",
            );
        }
        (None, Some(ip)) if ip.parse::<IpAddr>().is_ok() => {
            c.set("aws:SourceIp", ip.clone(), Origin::Event);
            for k in ["aws:SourceVpce", "aws:SourceVpc", "aws:VpcSourceIp"] {
                c.absent(k);
            }
        }
        (None, _) => {
            // a service name or "AWS Internal": the caller's address is not recorded
            c.unknown(
                "aws:SourceIp",
                "the caller's IP address (the record's sourceIPAddress is not an address)",
            );
        }
    }
    if n.tls == TlsRecorded::Recorded {
        c.set("aws:SecureTransport", "true", Origin::Event);
    }
}

fn principal(
    c: &mut CallContext,
    f: &CallFailure,
    role_arn: Option<&str>,
    session: Option<&Session>,
    inv: &Inventory,
) {
    let o = &f.origin;
    let kind = o.identity_type.as_deref().unwrap_or_default();
    c.set("aws:PrincipalIsAWSService", "false", Origin::Rule);
    c.absent("aws:PrincipalServiceName");
    c.absent("aws:PrincipalServiceNamesList");
    if let Some(t) = match kind {
        "AssumedRole" => Some("AssumedRole"),
        "IAMUser" => Some("User"),
        "Root" => Some("Account"),
        "FederatedUser" => Some("FederatedUser"),
        _ => None,
    } {
        c.set("aws:PrincipalType", t, Origin::Event);
    }
    if let Some(id) = &o.principal_id {
        c.set("aws:userid", id.clone(), Origin::Event);
    }
    let account = o.principal_account.clone().or_else(|| {
        f.caller_arn
            .as_deref()
            .and_then(arn_account)
            .map(str::to_owned)
    });
    if let Some(a) = &account {
        c.set("aws:PrincipalAccount", a.clone(), Origin::Event);
        match inv.organization_of(a) {
            Some(org) => c.set("aws:PrincipalOrgID", org, Origin::Inventory),
            None => c.unknown(
                "aws:PrincipalOrgID",
                format!("the organization of account {a} (pass `aws organizations list-accounts` output with --iam)"),
            ),
        }
        c.unknown(
            "aws:PrincipalOrgPaths",
            "the organization path of the account (trailwhy does not read organizational units)",
        );
    }
    match kind {
        "AssumedRole" => {
            c.absent("aws:username");
            // AWS sets aws:PrincipalArn of a role session to the role's ARN, with its path.
            match (&f.issuer_role_arn, role_arn) {
                (Some(issuer), _) => c.set("aws:PrincipalArn", issuer.clone(), Origin::Session),
                (None, Some(arn)) if inventory_knows_arn(inv, arn) => {
                    c.set("aws:PrincipalArn", arn, Origin::Inventory)
                }
                _ => c.unknown(
                    "aws:PrincipalArn",
                    "the role's full ARN with its path (the record has no sessionIssuer; supply the role in the inventory)",
                ),
            }
            role_tags(c, f, role_arn, session, inv);
            if let Some(created) = &o.session_created {
                c.set("aws:TokenIssueTime", created.clone(), Origin::Session);
            }
            match o.mfa_authenticated.as_deref() {
                Some("true") => c.set("aws:MultiFactorAuthPresent", "true", Origin::Session),
                _ => c.unknown(
                    "aws:MultiFactorAuthPresent",
                    "whether the session's credentials were issued with MFA",
                ),
            }
            match &o.source_identity {
                Some(s) => {
                    c.set("aws:SourceIdentity", s.clone(), Origin::Session);
                }
                None => c.absent("aws:SourceIdentity"),
            }
            match &f.federated_provider {
                Some(p) => c.set("aws:FederatedProvider", p.clone(), Origin::Session),
                None => c.absent("aws:FederatedProvider"),
            }
        }
        "IAMUser" => {
            if let Some(arn) = &f.caller_arn {
                c.set("aws:PrincipalArn", arn.clone(), Origin::Event);
                if let Some(name) = arn.rsplit('/').next() {
                    c.set("aws:username", name, Origin::Event);
                }
            }
            c.absent("aws:FederatedProvider");
            c.absent("aws:TokenIssueTime");
        }
        _ => {}
    }
}

/// Whether the inventory records `arn` (with its path) as a role's ARN.
fn inventory_knows_arn(inv: &Inventory, arn: &str) -> bool {
    RoleArn::parse(arn)
        .and_then(|r| inv.role_arn(r.account, r.name))
        .is_some_and(|known| known == arn)
}

/// `aws:PrincipalTag/*`: the role's tags from the inventory, and the session's own tags: none
/// for a GitHub OIDC session (its token has no AWS tags claim), those of the `AssumeRole` that
/// created the session when it was read (`session_tags`: passed and transitive tags, which
/// override the role's tags of the same key); unknown otherwise.
fn role_tags(
    c: &mut CallContext,
    f: &CallFailure,
    role_arn: Option<&str>,
    session: Option<&Session>,
    inv: &Inventory,
) {
    let tags = role_arn
        .and_then(RoleArn::parse)
        .and_then(|r| inv.role_tags_at(r.account, r.name, f.time));
    let from_github = session.is_some_and(|s| {
        s.provider
            .as_deref()
            .is_some_and(|p| p.ends_with("oidc-provider/token.actions.githubusercontent.com"))
    });
    let session_tags = f.origin.session_tags.as_deref();
    let own =
        |k: &str| session_tags.is_some_and(|st| st.iter().any(|(s, _)| s.eq_ignore_ascii_case(k)));
    if let Some(st) = session_tags {
        for (k, v) in st {
            c.set(&format!("aws:PrincipalTag/{k}"), v.clone(), Origin::Session);
        }
    }
    match tags {
        Some(tags) if from_github || session_tags.is_some() => {
            for (k, v) in tags.iter().filter(|(k, _)| !own(k)) {
                c.set(&format!("aws:PrincipalTag/{k}"), v.clone(), Origin::Inventory);
            }
            c.absent("aws:PrincipalTag/");
        }
        Some(_) => c.unknown(
            "aws:PrincipalTag/",
            "the session's tags (the assumption that created the session is not in the scanned window, or it may have passed session tags)",
        ),
        None => c.unknown(
            "aws:PrincipalTag/",
            "the role's tags at the time (supply authorization details with Tags; a TagRole/UntagRole after the failure makes them unknown)",
        ),
    }
}

/// `aws:RequestTag/*` and `aws:TagKeys` from the request's `tags` (ECR's `[{Key, Value}]`,
/// STS's `[{key, value}]`, or a plain map); absent when the recorded request has none.
fn request_tags(c: &mut CallContext, f: &CallFailure) {
    let Some(req) = f.request.as_object() else {
        c.unknown(
            "aws:RequestTag/",
            "the request's tags (requestParameters not recorded)",
        );
        c.unknown(
            "aws:TagKeys",
            "the request's tag keys (requestParameters not recorded)",
        );
        return;
    };
    let mut pairs: Vec<(String, String)> = Vec::new();
    match req.get("tags") {
        list @ Some(Value::Array(_)) => pairs = crate::inventory::tag_list(list),
        Some(Value::Object(map)) => {
            for (k, v) in map {
                if let Some(v) = v.as_str() {
                    pairs.push((k.clone(), v.to_owned()));
                }
            }
        }
        _ => {}
    }
    for (k, v) in &pairs {
        c.set(&format!("aws:RequestTag/{k}"), v.clone(), Origin::Event);
    }
    c.absent("aws:RequestTag/");
    if pairs.is_empty() {
        c.absent("aws:TagKeys");
    } else {
        c.set_many(
            "aws:TagKeys",
            pairs.into_iter().map(|(k, _)| k).collect(),
            Origin::Event,
        );
    }
}

#[cfg(test)]
mod tests {
    //! Per-key cases from `tests/cases/context-keys.json`: the record of a denied role-session
    //! call goes through the real selection into a [`CallFailure`], [`for_call`] builds its
    //! context, and each case checks the key's value against the one AWS documents for that
    //! record and the decision of the policy conditioned on it against the independent
    //! evaluator's (recorded in the file; see `scripts/crosscheck/README.md`).

    use super::*;
    use crate::event::Record;
    use crate::inventory::RoleSnapshot;
    use crate::select::{Selected, Selector};
    use crate::selection::Window;
    use iam_policy::{evaluate, Assume, Policy, PolicyDecision, Request, RequestPrincipal};

    const FIXTURE: &str = include_str!("../../tests/cases/context-keys.json");

    /// RFC 7386 JSON merge patch: objects merge, `null` removes, anything else replaces.
    fn merge_patch(target: &mut Value, patch: &Value) {
        let Value::Object(patch) = patch else {
            *target = patch.clone();
            return;
        };
        if !target.is_object() {
            *target = Value::Object(serde_json::Map::new());
        }
        if let Value::Object(t) = target {
            for (k, v) in patch {
                if v.is_null() {
                    t.remove(k);
                } else {
                    merge_patch(t.entry(k.clone()).or_insert(Value::Null), v);
                }
            }
        }
    }

    /// What the tool knows besides the record: `{"organization": "o-…"}` (a list-accounts
    /// document for the caller's account), `{"role_tags": {…}}` (the role's tags in an
    /// authorization-details snapshot, and the GitHub web-identity session of the call).
    fn inventory(f: &CallFailure, spec: Option<&Value>) -> (Inventory, Option<Session>) {
        let mut inv = Inventory::default();
        let mut session = None;
        let Some(spec) = spec else {
            return (inv, session);
        };
        let account = f.origin.principal_account.clone().unwrap_or_default();
        if let Some(org) = spec.get("organization").and_then(Value::as_str) {
            inv.accounts
                .entry(account.clone())
                .or_default()
                .organization = Some(org.to_owned());
        }
        if let Some(Value::Object(tags)) = spec.get("role_tags") {
            let arn = f.issuer_role_arn.clone().unwrap_or_default();
            let name = arn.rsplit('/').next().unwrap_or_default().to_owned();
            let role = RoleSnapshot {
                name: name.clone(),
                arn: arn.clone(),
                tags: Some(
                    tags.iter()
                        .map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_owned()))
                        .collect(),
                ),
                ..RoleSnapshot::default()
            };
            let a = inv.accounts.entry(account).or_default();
            a.roles.get_or_insert_with(BTreeMap::new).insert(name, role);
            session = Some(Session {
                access_key_id: f.access_key_id.clone().unwrap_or_default(),
                role_arn: Some(arn),
                assumed_role_arn: f.caller_arn.clone(),
                provider: f.federated_provider.clone(),
                sub: Some("repo:acme/app:ref:refs/heads/main".to_owned()),
                aud: Some("sts.amazonaws.com".to_owned()),
                assumed_at: f.time,
                region: f.region.clone(),
                event_id: "assumption".to_owned(),
            });
        }
        (inv, session)
    }

    fn decision_name(d: PolicyDecision) -> &'static str {
        match d {
            PolicyDecision::Allow => "allow",
            PolicyDecision::ExplicitDeny => "explicit_deny",
            PolicyDecision::NotApplicable => "implicit_deny",
        }
    }

    /// What one case found, or why it failed.
    fn check(fixture: &Value, case: &Value) -> Result<(), String> {
        let key = case["key"].as_str().ok_or("no key")?;
        let mut record = fixture["base"].clone();
        if let Some(patch) = case.get("record") {
            merge_patch(&mut record, patch);
        }
        let text = record.to_string();
        let rec: Record = serde_json::from_str(&text).map_err(|e| e.to_string())?;
        let f = match Selector::new(Window::default()).select(&rec) {
            Ok(Selected::CallFailure(f)) => f,
            other => return Err(format!("not selected as a failed call: {other:?}")),
        };
        let service = f.event_source.trim_end_matches(".amazonaws.com");
        let action = format!("{service}:{}", f.event_name);
        let resource = case
            .get("resource")
            .or_else(|| fixture.get("resource"))
            .and_then(Value::as_str)
            .ok_or("no resource")?;
        let (inv, session) = inventory(&f, case.get("inventory"));
        let role_arn = session.as_ref().and_then(|s| s.role_arn.clone());
        let built = for_call(
            &f,
            &action,
            resource,
            role_arn.as_deref(),
            session.as_ref(),
            &inv,
        );
        let ctx = &built.context;
        let policy = Policy::from_value(&case["policy"]).map_err(|e| e.to_string())?;
        let decide = |context: Context| {
            let request = Request {
                principal: f.caller_arn.clone().map(RequestPrincipal::aws),
                action: action.clone(),
                resource: Some(resource.to_owned()),
                context,
            };
            decision_name(evaluate(&policy, &request).decision)
        };
        let expect = case["expect"].as_str().ok_or("no expect")?;
        if expect == "unknown" {
            // the tool cannot know the value: it must say so, and the decision turns on it
            if !ctx.is_unknown(key) || ctx.get(key).is_some() {
                return Err(format!("{key} is not unknown: {:?}", ctx.get(key)));
            }
            let strict = decide(ctx.assuming(Assume::Strict));
            let lenient = decide(ctx.assuming(Assume::Lenient));
            if strict == lenient {
                return Err(format!("the decision does not turn on {key}: {strict}"));
            }
            return Ok(());
        }
        // the value AWS documents for this record
        let want: Option<Vec<&str>> = match &case["value"] {
            Value::Null => None,
            Value::String(s) => Some(vec![s.as_str()]),
            Value::Array(a) => Some(a.iter().filter_map(Value::as_str).collect()),
            other => return Err(format!("bad value {other}")),
        };
        let got: Option<Vec<&str>> = ctx
            .get(key)
            .map(|v| v.as_slice().iter().map(String::as_str).collect());
        if got != want {
            return Err(format!("{key}: built {got:?}, AWS documents {want:?}"));
        }
        if want.is_none() && ctx.is_unknown(key) {
            return Err(format!("{key} is unknown, AWS documents it absent"));
        }
        let ours = decide(ctx.clone());
        if ours != expect {
            return Err(format!("decision {ours}, the evaluator's {expect}"));
        }
        Ok(())
    }

    #[test]
    fn context_keys_match_the_reference() {
        let fixture: Value = serde_json::from_str(FIXTURE).expect("the fixture is JSON");
        let cases = fixture["cases"].as_array().expect("cases");
        let failures: Vec<String> = cases
            .iter()
            .filter_map(|c| {
                check(&fixture, c)
                    .err()
                    .map(|e| format!("{}: {e}", c["name"].as_str().unwrap_or("?")))
            })
            .collect();
        assert!(failures.is_empty(), "{}", failures.join("\n"));
        // every key of issue #27 is covered, with a value and without one (or as unknown)
        for key in [
            "aws:PrincipalArn",
            "aws:PrincipalAccount",
            "aws:PrincipalType",
            "aws:userid",
            "aws:username",
            "aws:PrincipalTag/team",
            "aws:PrincipalIsAWSService",
            "aws:FederatedProvider",
            "aws:TokenIssueTime",
            "aws:SourceIp",
            "aws:SourceVpce",
            "aws:VpcSourceIp",
            "aws:ViaAWSService",
            "aws:CalledVia",
            "aws:SecureTransport",
            "aws:CurrentTime",
            "aws:EpochTime",
            "aws:RequestedRegion",
            "aws:ResourceAccount",
            "aws:ResourceTag/team",
            "aws:RequestTag/team",
            "aws:TagKeys",
            "aws:PrincipalOrgID",
            "sts:RoleSessionName",
            "aws:SourceIdentity",
        ] {
            let of_key: Vec<&Value> = cases.iter().filter(|c| c["key"] == key).collect();
            assert!(!of_key.is_empty(), "{key}: no case");
            let unknown = of_key.iter().any(|c| c["expect"] == "unknown");
            let decisions: std::collections::BTreeSet<&str> = of_key
                .iter()
                .filter_map(|c| c["expect"].as_str())
                .filter(|e| *e != "unknown")
                .collect();
            assert!(
                unknown || decisions.len() >= 2,
                "{key}: needs a case that allows and one that does not"
            );
        }
    }
}
