//! Web-identity failures at the event level: the error code decides first (token-level
//! errors need no policy), then the inventory says which role and trust policy were in force
//! at the event's time, then `trust` diagnoses the request against that policy. Also notes
//! how later policy changes would have judged the same token.

use std::collections::HashMap;

use serde_json::{json, Value};

use super::trust::{self, RequestFacts, Token};
use super::{fix, Cause, Details, Evidence, Verdict};
use crate::correlate::intern::{Interner, Sym};
use crate::event::{arn_account, role_name_from_arn};
use crate::inventory::{Absence, Inventory, ProviderAt, RoleArn, RoleAt, RoleView, Unknown};
use crate::select::{TlsRecorded, WebIdAttempt};

/// The most verdicts a [`VerdictCache`] keeps.
const VERDICTS_KEPT: usize = 1024;

/// Memoizes verdicts: the retries of one job share everything but their ids and times.
/// Keyed by the request's facts as interned symbols (each distinct string kept once), not
/// by a text of them; bounded by [`VERDICTS_KEPT`], the strings with the verdicts.
#[derive(Default)]
pub struct VerdictCache {
    strings: Interner,
    map: HashMap<VerdictKey, Verdict>,
}

/// What a verdict depends on: the request facts the trust policy's conditions read (the
/// time only through the policy state in force, `epoch`: retries of one job are seconds
/// apart).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct VerdictKey {
    /// role, provider, subject, audience, error code, message, session name, source IP,
    /// VPC endpoint, region, user agent
    facts: [Option<Sym>; 11],
    principal: bool,
    network: bool,
    duration_seconds: Option<u64>,
    tls: TlsRecorded,
    /// The role's recorded changes and the account's, up to the event.
    epoch: (usize, usize),
}

impl VerdictCache {
    pub fn verdict(&mut self, a: &WebIdAttempt, inv: &Inventory) -> &Verdict {
        // bounded: a window of distinct requests (each job's own address) must not grow it
        // without end; a verdict dropped is computed again when asked
        let mut key = self.key(a, inv);
        if self.map.len() >= VERDICTS_KEPT && !self.map.contains_key(&key) {
            self.map.clear();
            self.strings = Interner::default();
            // the symbols were the old table's
            key = self.key(a, inv);
        }
        self.map.entry(key).or_insert_with(|| verdict(a, inv))
    }

    fn key(&mut self, a: &WebIdAttempt, inv: &Inventory) -> VerdictKey {
        let s = &mut self.strings;
        let p = a.principal.as_ref();
        let n = a.network.as_deref();
        VerdictKey {
            facts: [
                s.intern_opt(a.role_arn.as_deref()),
                s.intern_opt(p.map(|p| p.provider.as_str())),
                s.intern_opt(p.map(|p| p.subject.as_str())),
                s.intern_opt(p.and_then(|p| p.audience.as_deref())),
                s.intern_opt(a.error_code.as_deref()),
                s.intern_opt(a.error_message.as_deref()),
                s.intern_opt(a.session_name.as_deref()),
                s.intern_opt(n.and_then(|n| n.source_ip.as_deref())),
                s.intern_opt(n.and_then(|n| n.vpc_endpoint_id.as_deref())),
                s.intern_opt(a.region.as_deref()),
                s.intern_opt(a.user_agent.as_deref()),
            ],
            principal: p.is_some(),
            network: n.is_some(),
            duration_seconds: a.duration_seconds,
            tls: n.map_or(TlsRecorded::NotRecorded, |n| n.tls),
            epoch: role_of(a).map_or((0, 0), |(account, name)| {
                (
                    inv.role_epoch(account, name, a.time),
                    inv.changes_before(account, a.time),
                )
            }),
        }
    }
}

fn role_of(a: &WebIdAttempt) -> Option<(&str, &str)> {
    let arn = a.role_arn.as_deref()?;
    Some((arn_account(arn)?, role_name_from_arn(arn)?))
}

fn simple(cause: Cause, explanation: impl Into<String>, fix: impl Into<String>) -> Verdict {
    Verdict {
        cause,
        explanation: explanation.into(),
        fix: fix.into(),
        fixes: Vec::new(),
        evidence: Vec::new(),
        details: Details::default(),
    }
}

/// The verdict for one failed attempt, with its fixes (each verified by diagnosing the same
/// token again with the change applied); `fix` summarises the first.
pub fn verdict(a: &WebIdAttempt, inv: &Inventory) -> Verdict {
    let mut v = judged(a, inv);
    let (fixes, note) = fixes_of(a, inv, &v);
    v.fixes = fixes;
    if let Some(first) = v.fixes.first() {
        v.fix = first.text();
    } else if let Some(note) = note {
        v.fix = note;
    }
    v
}

/// The alternatives for a judged attempt ([`fix::trust::Situation`]): the provider as the
/// inventory holds it at the attempt's time, and the role's trust policy as it stands now — a
/// fix is applied today, so a trust policy changed after the failure is patched in its latest
/// version (and when that version already accepts the token, the note says nothing is left to
/// change).
fn fixes_of(a: &WebIdAttempt, inv: &Inventory, v: &Verdict) -> (Vec<fix::Fix>, Option<String>) {
    let none = (Vec::new(), None);
    use fix::trust::Provider;
    let (Some(principal), Some(role_arn)) = (a.principal.as_ref(), a.role_arn.as_deref()) else {
        return none;
    };
    let Some(requested) = RoleArn::parse(role_arn) else {
        return none;
    };
    let account = requested.account;
    let provider = match v.cause {
        Cause::ProviderNotFound => Provider::Absent,
        Cause::AudienceNotRegistered => {
            match inv.provider_at(account, &principal.provider, a.time) {
                ProviderAt::Exists {
                    client_ids: Some(ids),
                } => Provider::Exists(Some(ids)),
                // STS said the audience is not registered, whatever else is
                _ => Provider::Exists(Some(Vec::new())),
            }
        }
        // the token was validated: the provider exists and registers its audience
        Cause::RoleNotFound | Cause::DurationExceedsMax => Provider::Exists(None),
        c if c.is_trust_policy_cause() => Provider::Exists(None),
        _ => return none,
    };
    let token = token_of(a, principal);
    let view = match inv.role_at_arn(&requested, a.time) {
        RoleAt::Known(view) => Some(view),
        _ => None,
    };
    // the role does not exist: the nearest role (or the same name under its path), when it
    // accepts the token
    let other_roles: Vec<(String, iam_policy::Policy)> = v
        .details
        .get("nearest_role")
        .and_then(|n| n.get("arn"))
        .and_then(Value::as_str)
        .and_then(RoleArn::parse)
        .and_then(|near| match inv.role_at_arn(&near, a.time) {
            RoleAt::Known(o) => Some((o.arn, o.trust?)),
            _ => None,
        })
        .into_iter()
        .collect();
    // the version a fix is applied to: the latest recorded
    let latest = view.as_ref().and_then(|v| v.later_changes.last());
    let trust_now = match latest {
        Some((_, Some(p))) => Some(p),
        Some((_, None)) => return none, // the latest version could not be parsed
        None => view.as_ref().and_then(|v| v.trust.as_ref()),
    };
    if let (Some((change, _)), Some(p)) = (latest, trust_now) {
        if trust::diagnose(p, &token, Some(role_arn)).decision == trust::TrustDecision::Allow
            && v.cause.is_trust_policy_cause()
        {
            return (
                Vec::new(),
                Some(format!(
                    "Nothing to change in the trust policy: the version set at {} already accepts this token.",
                    change.describe()
                )),
            );
        }
    }
    let s = fix::trust::Situation {
        token,
        role_arn,
        trust: trust_now,
        provider,
        max_session: view.as_ref().and_then(|v| v.max_session_duration),
        duration: a.duration_seconds,
        other_roles,
    };
    let mut fixes = fix::trust::fixes(&s);
    if let Some((change, _)) = latest {
        for f in &mut fixes {
            for c in std::iter::once(&mut f.change).chain(f.also.iter_mut()) {
                if c.kind == fix::FixKind::TrustPolicy {
                    c.summary.push_str(&format!(
                        " (patched from the latest version, set at {})",
                        change.describe()
                    ));
                }
            }
        }
    }
    (fixes, None)
}

/// The token of an attempt and the request facts its record gives.
fn token_of<'a>(
    a: &'a WebIdAttempt,
    principal: &'a crate::event::identity::WebIdentityPrincipal,
) -> Token<'a> {
    Token {
        provider: &principal.provider,
        audience: principal.audience.as_deref(),
        subject: &principal.subject,
        session_name: a.session_name.as_deref(),
        request: Some(RequestFacts {
            time: a.time,
            region: a.region.as_deref(),
            user_agent: a.user_agent.as_deref(),
            network: a.network.as_deref(),
        }),
    }
}

/// The verdict for one failed attempt, before its fixes.
fn judged(a: &WebIdAttempt, inv: &Inventory) -> Verdict {
    let code = a.error_code.as_deref().unwrap_or_default();
    let message = a.error_message.as_deref().unwrap_or_default();
    let provider = a
        .principal
        .as_ref()
        .map(|p| p.provider.as_str())
        .unwrap_or("the identity provider");
    match code {
        "InvalidIdentityToken" => invalid_identity_token(a, inv, message, provider),
        "ExpiredTokenException" | "ExpiredToken" => simple(
            Cause::TokenExpired,
            "The OIDC token had expired when STS received it (GitHub's tokens are valid for a few minutes).",
            "Request the token right before assuming the role (do not cache it between steps), and check the runner's clock.",
        ),
        "IDPRejectedClaim" => simple(
            Cause::IdpRejectedClaim,
            format!("The identity provider rejected a claim: {}", if message.is_empty() { "no message" } else { message }),
            "Check the token's claims against the provider's configuration.",
        ),
        "IDPCommunicationError" => simple(
            Cause::IdpUnreachable,
            format!("STS could not reach {provider} to fetch its signing keys; this is usually transient."),
            "Retry the job; if it persists, check the provider URL and that its .well-known/openid-configuration and JWKS are reachable.",
        ),
        "RegionDisabledException" => simple(
            Cause::RegionDisabled,
            format!(
                "STS is not activated in {} for this account.",
                a.region.as_deref().unwrap_or("this region")
            ),
            "Activate the region's STS endpoint (IAM → Account settings → Security Token Service regions), or use another regional endpoint.",
        ),
        "ValidationError" if message.contains("DurationSeconds") => duration(a, inv),
        _ => access_denied(a, inv),
    }
}

fn invalid_identity_token(
    a: &WebIdAttempt,
    inv: &Inventory,
    message: &str,
    provider: &str,
) -> Verdict {
    let lower = message.to_ascii_lowercase();
    let account = a
        .role_arn
        .as_deref()
        .and_then(arn_account)
        .or(a.account.as_deref())
        .unwrap_or("the account");
    if lower.contains("no openidconnect provider found") {
        return simple(
            Cause::ProviderNotFound,
            format!("Account {account} has no IAM OIDC identity provider for the token's issuer: \"{message}\"."),
            format!(
                "Create it: aws iam create-open-id-connect-provider --url https://{} --client-id-list {}",
                crate::event::identity::provider_issuer(provider),
                a.principal.as_ref().and_then(|p| p.audience.as_deref()).unwrap_or("sts.amazonaws.com")
            ),
        );
    }
    if lower.contains("incorrect token audience") {
        let aud = a.principal.as_ref().and_then(|p| p.audience.as_deref());
        let mut v = simple(
            Cause::AudienceNotRegistered,
            format!(
                "The token's audience {} is not in the client-ID list of {provider}.",
                aud.map_or("(not recorded)".to_owned(), |x| format!("\"{x}\""))
            ),
            format!(
                "Add the audience to the provider: aws iam add-client-id-to-open-id-connect-provider --open-id-connect-provider-arn {provider} --client-id {}; or request audience sts.amazonaws.com in the workflow.",
                aud.unwrap_or("AUDIENCE")
            ),
        );
        if let Some(ProviderAt::Exists {
            client_ids: Some(ids),
        }) = a
            .principal
            .as_ref()
            .map(|p| inv.provider_at(account, &p.provider, a.time))
        {
            v.evidence.push(Evidence {
                policy: "oidc_provider".to_owned(),
                statement: None,
                sid: None,
                key: Some("ClientIDList".to_owned()),
                operator: Some("Contains".to_owned()),
                expected: ids,
                actual: aud.map(str::to_owned),
                value_source: None,
            });
        }
        return v;
    }
    if lower.contains("couldn't retrieve verification key") {
        return simple(
            Cause::IdpUnreachable,
            format!("STS could not retrieve the signing keys of {provider}: \"{message}\"."),
            "Check that the issuer's JWKS endpoint is reachable from AWS; retry.",
        );
    }
    simple(
        Cause::InvalidToken,
        format!("STS rejected the token itself: \"{message}\"."),
        "Check the token's issuer, signature, audience and (if used) roles claim against the IAM OIDC provider.",
    )
}

fn duration(a: &WebIdAttempt, inv: &Inventory) -> Verdict {
    let max = role_of(a).and_then(|(acct, name)| match inv.role_at(acct, name, a.time) {
        RoleAt::Known(v) => v.max_session_duration,
        _ => None,
    });
    duration_verdict(a, max)
}

fn duration_verdict(a: &WebIdAttempt, max: Option<u64>) -> Verdict {
    let asked = a
        .duration_seconds
        .map_or("a duration".to_owned(), |d| format!("{d} s"));
    let mut v = simple(
        Cause::DurationExceedsMax,
        format!(
            "The job asked for {asked}, more than the role's maximum session duration{}.",
            max.map_or(String::new(), |m| format!(" of {m} s"))
        ),
        format!(
            "Lower role-duration-seconds in the workflow{}, or raise the role's MaxSessionDuration (aws iam update-role --role-name {} --max-session-duration N, at most 43200).",
            max.map_or(String::new(), |m| format!(" to at most {m}")),
            role_of(a).map_or("ROLE", |(_, n)| n)
        ),
    );
    v.evidence.push(Evidence {
        policy: "role".to_owned(),
        statement: None,
        sid: None,
        key: Some("MaxSessionDuration".to_owned()),
        operator: Some("NumericLessThanEquals".to_owned()),
        expected: max.map(|m| vec![m.to_string()]).unwrap_or_default(),
        actual: a.duration_seconds.map(|d| d.to_string()),
        value_source: None,
    });
    v
}

fn access_denied(a: &WebIdAttempt, inv: &Inventory) -> Verdict {
    let Some(role_arn) = a.role_arn.as_deref() else {
        return simple(
            Cause::NoPolicyData,
            "The record does not name the role (requestParameters.roleArn is null and resources[] is empty), so its trust policy cannot be looked up.",
            "Find the role in the workflow's role-to-assume and run `trailwhy check --trust-policy FILE --sub SUB` against its trust policy.",
        );
    };
    let Some(requested) = RoleArn::parse(role_arn) else {
        return simple(
            Cause::NoPolicyData,
            format!("\"{role_arn}\" is not a role ARN."),
            "Check role-to-assume in the workflow.",
        );
    };
    let (account, name) = (requested.account, requested.name);
    let Some(principal) = a.principal.as_ref() else {
        return simple(
            Cause::NoPolicyData,
            "The record carries no web-identity principal (no identityProvider/userName), so the token's claims are unknown.",
            "Check the raw record.",
        );
    };
    let token = token_of(a, principal);
    match inv.role_at_arn(&requested, a.time) {
        RoleAt::Unknown(Unknown::AccountNotInInventory) => simple(
            Cause::NoPolicyData,
            format!("Nothing is known about account {account}'s roles: its trust policies are not in the inventory and the logs hold no change to role {name}."),
            format!("Supply the account's IAM state: `aws iam get-account-authorization-details > {account}-authorization-details.json` and pass it with --iam (or use --iam-live)."),
        ),
        RoleAt::Unknown(Unknown::ReplacedLater { first_change, policy_after }) => {
            let mut v = simple(
                Cause::NoPolicyData,
                format!(
                    "The trust policy of role {name} in force at {} is not recorded: it was replaced at {}, and neither the logs nor the inventory hold the earlier version.",
                    a.time.format("%Y-%m-%dT%H:%M:%SZ"),
                    first_change.describe()
                ),
                "Include older logs (with the role's CreateRole or an earlier UpdateAssumeRolePolicy) or an inventory snapshot taken before the change.",
            );
            if let Some(p) = policy_after {
                let d = trust::diagnose(&p, &token, Some(role_arn));
                v.explanation.push_str(&format!(" The version set then would give: {}.", d.cause.code()));
            }
            v.details.insert("policy_changes".into(), json!([first_change]));
            v
        }
        RoleAt::Absent(abs) => role_not_found(a, inv, &requested, &abs),
        RoleAt::Known(view) => known_role(a, &token, role_arn, &view),
    }
}

fn role_not_found(
    a: &WebIdAttempt,
    inv: &Inventory,
    requested: &RoleArn<'_>,
    abs: &Absence,
) -> Verdict {
    let (account, name) = (requested.account, requested.name);
    let asked = a.role_arn.as_deref().unwrap_or(name);
    if let Some(actual) = &abs.other_path {
        return path_differs(requested, asked, actual);
    }
    let names = inv.role_names(account);
    let mut scored: Vec<(usize, &String)> = names
        .iter()
        .filter(|n| n.as_str() != name)
        .map(|n| {
            (
                strsim::levenshtein(&n.to_lowercase(), &name.to_lowercase()),
                n,
            )
        })
        .collect();
    scored.sort();
    let nearest = scored
        .first()
        .filter(|(d, n)| *d <= (n.len().max(name.len()) / 3).max(3))
        .map(|(d, n)| {
            let arn = inv
                .role_arn(account, n)
                .unwrap_or_else(|| format!("arn:aws:iam::{account}:role/{n}"));
            ((*n).clone(), arn, *d)
        });
    let others = inv.accounts_with_role(name, account);
    let when = match (&abs.deleted, &abs.created_later) {
        (Some(d), _) => format!(
            " at {}: it was deleted at {}",
            a.time.format("%Y-%m-%dT%H:%M:%SZ"),
            d.describe()
        ),
        (_, Some(c)) => format!(
            " at {}: it was only created at {}",
            a.time.format("%Y-%m-%dT%H:%M:%SZ"),
            c.describe()
        ),
        _ => String::new(),
    };
    let mut explanation = format!("Role {name} does not exist in account {account}{when}.");
    if let Some((n, arn, d)) = &nearest {
        explanation.push_str(&format!(" The nearest existing role is {n} ({arn}, edit distance {d}): likely a typo in role-to-assume or in the role's name."));
    }
    if !others.is_empty() {
        explanation.push_str(&format!(
            " A role named {name} exists in account(s) {}.",
            others.join(", ")
        ));
    }
    let fix = match &nearest {
        Some((_, arn, _)) => format!(
            "Set role-to-assume to {arn} in the workflow (or rename/create the role {name})."
        ),
        None if !others.is_empty() => format!("Point role-to-assume at the account that holds {name} ({}), or create the role in {account}.", others.join(", ")),
        None => format!("Create role {name} in account {account}, or fix role-to-assume in the workflow."),
    };
    let mut v = simple(Cause::RoleNotFound, explanation, fix);
    v.evidence.push(Evidence {
        policy: "inventory".to_owned(),
        statement: None,
        sid: None,
        key: Some("RoleName".to_owned()),
        operator: Some("Exists".to_owned()),
        expected: nearest.iter().map(|(n, _, _)| n.clone()).collect(),
        actual: Some(name.to_owned()),
        value_source: None,
    });
    if let Some((n, arn, d)) = nearest {
        v.details.insert(
            "nearest_role".into(),
            json!({"name": n, "arn": arn, "distance": d}),
        );
    }
    if !others.is_empty() {
        v.details.insert("accounts_with_role".into(), json!(others));
    }
    v
}

/// The role exists under another path than the one the request's ARN names.
fn path_differs(requested: &RoleArn<'_>, asked: &str, actual: &str) -> Verdict {
    let name = requested.name;
    let actual_path = RoleArn::parse(actual).map_or_else(|| "?".to_owned(), |r| r.path);
    let mut v = simple(
        Cause::RoleNotFound,
        format!(
            "No role has the ARN {asked}: role {name} exists in account {}, but under path {actual_path} ({actual}), and a role's ARN includes its path. Only the path differs{}.",
            requested.account,
            if requested.path == "/" {
                " (the ARN asked for has none)".to_owned()
            } else {
                format!(" (the ARN asked for has {})", requested.path)
            }
        ),
        format!("Set role-to-assume to the full ARN, with the path: {actual}"),
    );
    v.evidence.push(Evidence {
        policy: "inventory".to_owned(),
        statement: None,
        sid: None,
        key: Some("RoleArn".to_owned()),
        operator: Some("Equals".to_owned()),
        expected: vec![actual.to_owned()],
        actual: Some(asked.to_owned()),
        value_source: None,
    });
    v.details.insert(
        "nearest_role".into(),
        json!({"name": name, "arn": actual, "distance": 0, "only_path_differs": true}),
    );
    v
}

fn known_role(a: &WebIdAttempt, token: &Token<'_>, role_arn: &str, view: &RoleView) -> Verdict {
    let source = match &view.trust_set_by {
        Some(c) => format!("the version set at {}", c.describe()),
        None => "the version in the inventory snapshot".to_owned(),
    };
    let Some(policy) = view.trust.as_ref() else {
        return simple(
            Cause::NoPolicyData,
            format!(
                "The trust policy of role {} ({source}) could not be parsed.",
                view.name
            ),
            "Check the policy document in the inventory; run `trailwhy check` on it.",
        );
    };
    if let (Some(asked), Some(max)) = (a.duration_seconds, view.max_session_duration) {
        if asked > max {
            return duration_verdict(a, Some(max));
        }
    }
    let d = trust::diagnose(policy, token, Some(role_arn));
    let mut explanation = if d.cause == Cause::TrustAllows {
        format!(
            "The trust policy of role {} in force at {} ({source}) allows this token, so the denial comes from elsewhere: a condition AWS checks on a claim or context CloudTrail does not record, an SCP/RCP denying sts:AssumeRoleWithWebIdentity, or an inventory that is not the policy actually in force.",
            view.name,
            a.time.format("%Y-%m-%dT%H:%M:%SZ")
        )
    } else {
        format!(
            "Role {} (trust policy: {source}): {}",
            view.name, d.explanation
        )
    };
    let mut changes = Vec::new();
    for (c, p) in &view.later_changes {
        let outcome = match p {
            Some(p) => {
                let later = trust::diagnose(p, token, Some(role_arn));
                if later.cause == Cause::TrustAllows {
                    "would allow this token".to_owned()
                } else {
                    format!("would still reject it ({})", later.cause.code())
                }
            }
            None => "could not be parsed".to_owned(),
        };
        explanation.push_str(&format!(
            " The trust policy was changed afterwards, at {}; that version {outcome}.",
            c.describe()
        ));
        changes.push(json!({"change": c, "outcome": outcome}));
    }
    let mut v = Verdict {
        cause: d.cause,
        explanation,
        fix: d.fix,
        fixes: Vec::new(),
        evidence: d.evidence,
        details: Details::default(),
    };
    if let Some(c) = &view.trust_set_by {
        v.details.insert("trust_policy_set_by".into(), json!(c));
    }
    if !changes.is_empty() {
        v.details
            .insert("later_policy_changes".into(), Value::Array(changes));
    }
    v
}
