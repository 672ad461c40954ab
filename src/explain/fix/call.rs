//! Fixes of denied calls: another role that already trusts the session's token and allows
//! the call, and edits of the role's identity policies, permissions boundary and the
//! repository policy carried to completion — each verified by authorizing the same request
//! again over every layer the inventory holds (`iam_policy::authorize`). A layer the
//! inventory does not hold (SCPs, RCPs, session and VPC endpoint policies) is never edited:
//! a fix that still meets one says so instead of claiming the request passes.

use iam_policy::{authorize, AuthzInput, Decision, Layer, Policy, Request};
use serde_json::{json, Value};

use super::{
    action_step, add_statement, new_policy, policy_change, rank, remove_statement, Breadth, Fix,
    FixKind, Verified,
};
use crate::explain::trust::{diagnose, Token, TrustDecision};
use crate::explain::Cause;
use crate::inventory::{IdentityAt, RepositoryPolicyAt};

/// At most this many edits are chained before a fix is given up.
const MAX_STEPS: usize = 8;
/// At most this many other roles are offered.
const MAX_OTHER_ROLES: usize = 3;

/// Another role of the inventory: its trust policy and identity at the failure.
pub struct OtherRole {
    pub arn: String,
    pub trust: Policy,
    pub identity: IdentityAt,
}

/// One denied call and the policies in force around it.
pub struct Situation<'a> {
    /// The requests that must all pass (a chained assumption with session tags is two), with
    /// conditions on unknown keys taken the way that denies.
    pub requests: Vec<Request>,
    pub role_arn: &'a str,
    pub action: &'a str,
    pub resource: &'a str,
    /// The actions a person grants together with `action` (a push needs all of them).
    pub actions: Vec<&'a str>,
    pub identity: &'a IdentityAt,
    pub repo: &'a RepositoryPolicyAt,
    /// The resource whose policy `repo` is: a repository ARN (its repository policy) or a role
    /// ARN (its trust policy, for `sts:AssumeRole`).
    pub repository: Option<&'a str>,
    /// The web-identity token the session was created with, when the session is joined.
    pub token: Option<Token<'a>>,
    /// Roles that could serve instead (checked here: trust and permissions).
    pub other_roles: &'a [OtherRole],
}

/// The documents being edited: the role's identity policies, its boundary, the repository
/// policy.
#[derive(Clone)]
struct Docs {
    identity: Vec<(String, Policy)>,
    boundary: Option<(String, Policy)>,
    repo: Option<Policy>,
}

impl Docs {
    fn of(identity: &IdentityAt, repo: &RepositoryPolicyAt) -> Docs {
        Docs {
            identity: identity
                .policies
                .iter()
                .map(|p| (p.label.clone(), p.policy.clone()))
                .collect(),
            boundary: identity
                .boundary
                .as_ref()
                .map(|b| (b.label.clone(), b.policy.clone())),
            repo: match repo {
                RepositoryPolicyAt::Known(p, _) => p.clone(),
                RepositoryPolicyAt::Unknown => None,
            },
        }
    }

    fn authorize(&self, request: &Request) -> iam_policy::Authorization {
        let identity: Vec<Policy> = self.identity.iter().map(|(_, p)| p.clone()).collect();
        authorize(&AuthzInput {
            request,
            identity_policies: &identity,
            resource_policy: self.repo.as_ref(),
            permissions_boundary: self.boundary.as_ref().map(|(_, p)| p),
            session_policy: None,
            scps: &[],
        })
    }
}

/// One edited document: what changed in it, in order.
struct Edit {
    kind: FixKind,
    target: String,
    summaries: Vec<String>,
}

/// Every alternative for the failure, least privilege first.
pub fn fixes(s: &Situation<'_>, cause: Cause, closest_allow: Option<&Value>) -> Vec<Fix> {
    if !matches!(
        cause,
        Cause::IdentityPolicyNoAllow
            | Cause::IdentityPolicyWrongResource
            | Cause::GetAuthorizationTokenScoped
            | Cause::IdentityExplicitDeny
            | Cause::ResourcePolicyNoAllow
            | Cause::ResourcePolicyDeny
            | Cause::PermissionsBoundary
            | Cause::ChainedPrincipalNotTrusted
            | Cause::ChainedTagSessionNotAllowed
    ) {
        return Vec::new();
    }
    let mut out = other_roles(s);
    let docs = Docs::of(s.identity, s.repo);
    if let Some(first) = closest_allow.and_then(|c| widen_statement(s, &docs, c)) {
        out.extend(complete(s, first.0, vec![first.1], Breadth::Exact));
    }
    out.extend(complete(s, docs, Vec::new(), Breadth::Nothing));
    rank(out)
}

/// Whether every request already passes the documents as they are.
pub fn passes(s: &Situation<'_>) -> bool {
    let docs = Docs::of(s.identity, s.repo);
    s.requests
        .iter()
        .all(|r| docs.authorize(r).decision == Decision::Allow)
}

/// The role's closest Allow statement (`details.closest_allow`: policy label and statement)
/// with the resource added.
fn widen_statement(s: &Situation<'_>, docs: &Docs, closest: &Value) -> Option<(Docs, Edit)> {
    let label = closest.get("policy")?.as_str()?;
    let index = usize::try_from(closest.get("statement")?.as_u64()?).ok()?;
    let (kind, target) = identity_target(s.role_arn, label)?;
    let mut docs = docs.clone();
    let (_, policy) = docs.identity.iter_mut().find(|(l, _)| l == label)?;
    let mut doc = policy.to_value();
    let st = doc.get_mut("Statement")?.get_mut(index)?;
    let mut resources: Vec<Value> = match st.get("Resource")? {
        Value::String(r) => vec![json!(r)],
        Value::Array(rs) => rs.clone(),
        _ => return None,
    };
    resources.push(json!(s.resource));
    st["Resource"] = Value::Array(resources);
    *policy = Policy::from_value(&doc).ok()?;
    Some((
        docs,
        Edit {
            kind,
            target,
            summaries: vec![format!(
                "add {} to the Resource of statement {index}",
                s.resource
            )],
        },
    ))
}

/// The kind and target of an identity policy by its label: `inline:NAME` (the role's), or a
/// customer managed policy ARN (`@vN` dropped). AWS managed policies cannot be edited.
fn identity_target(role_arn: &str, label: &str) -> Option<(FixKind, String)> {
    if let Some(name) = label.strip_prefix("inline:") {
        return Some((FixKind::IdentityPolicy, format!("{role_arn}#inline:{name}")));
    }
    let arn = label.split('@').next()?;
    (arn.starts_with("arn:") && !arn.contains(":iam::aws:policy/"))
        .then(|| (FixKind::IdentityPolicy, arn.to_owned()))
}

/// The documents carried through as many edits as the request needs.
fn complete(
    s: &Situation<'_>,
    mut docs: Docs,
    mut edits: Vec<Edit>,
    floor: Breadth,
) -> Option<Fix> {
    let mut admits: Vec<String> = Vec::new();
    let mut breadth = floor;
    if !edits.is_empty() {
        admits.push(format!("{} on {}", s.actions.join(", "), s.resource));
    }
    for _ in 0..=MAX_STEPS {
        let denied = s
            .requests
            .iter()
            .map(|r| docs.authorize(r))
            .find(|a| a.decision != Decision::Allow);
        let Some(auth) = denied else {
            return finish(s, &docs, edits, admits, breadth);
        };
        let (edit, wide) = next_step(s, &mut docs, &auth)?;
        if wide {
            breadth = Breadth::Wide;
            admits.push(edit.summaries.join("; "));
        } else {
            breadth = breadth.max(Breadth::Exact);
            let what = format!("{} on {}", s.actions.join(", "), s.resource);
            if !admits.contains(&what) {
                admits.push(what);
            }
        }
        match edits
            .iter_mut()
            .find(|e| e.kind == edit.kind && e.target == edit.target)
        {
            Some(e) => e.summaries.extend(edit.summaries),
            None => edits.push(edit),
        }
    }
    None
}

/// The next edit for what still denies, applied to `docs`: (the edit, whether it removes a
/// Deny). `None` when only a layer the inventory does not hold could be changed.
fn next_step(
    s: &Situation<'_>,
    docs: &mut Docs,
    auth: &iam_policy::Authorization,
) -> Option<(Edit, bool)> {
    let layer = auth.denied_by?;
    if auth.decision == Decision::ExplicitDeny {
        let m = auth
            .matched
            .iter()
            .find(|m| m.layer == layer && m.effect == iam_policy::Effect::Deny)?;
        let summary = format!(
            "remove the Deny statement {}{}",
            m.statement_index,
            m.sid
                .as_deref()
                .map_or(String::new(), |s| format!(" (Sid \"{s}\")"))
        );
        let (kind, target, policy) = match layer {
            Layer::Identity => {
                let (label, policy) = docs.identity.get_mut(m.policy_index)?;
                let (kind, target) = identity_target(s.role_arn, label)?;
                (kind, target, policy)
            }
            Layer::PermissionsBoundary => {
                let (label, policy) = docs.boundary.as_mut()?;
                (
                    FixKind::Boundary,
                    label.split('@').next()?.to_owned(),
                    policy,
                )
            }
            Layer::Resource => (
                resource_kind(s)?,
                s.repository?.to_owned(),
                docs.repo.as_mut()?,
            ),
            Layer::Session | Layer::Organization => return None,
        };
        *policy = remove_statement(policy, m.statement_index)?;
        return Some((
            Edit {
                kind,
                target,
                summaries: vec![summary],
            },
            true,
        ));
    }
    let grant = json!({"Effect": "Allow", "Action": s.actions, "Resource": s.resource});
    match layer {
        Layer::Identity => {
            // the role's first inline policy, else a new one
            let inline = docs
                .identity
                .iter()
                .position(|(l, _)| l.starts_with("inline:"));
            let (label, summary) = match inline {
                Some(i) => {
                    let (label, policy) = &mut docs.identity[i];
                    *policy = add_statement(policy, grant.clone())?;
                    (label.clone(), format!("add the statement {grant}"))
                }
                None => {
                    let name = format!("allow-{}", s.action.split(':').next().unwrap_or("access"));
                    let label = format!("inline:{name}");
                    docs.identity
                        .push((label.clone(), new_policy(grant.clone())?));
                    (
                        label,
                        format!("add the statement {grant} (a new inline policy)"),
                    )
                }
            };
            let (kind, target) = identity_target(s.role_arn, &label)?;
            Some((
                Edit {
                    kind,
                    target,
                    summaries: vec![summary],
                },
                false,
            ))
        }
        Layer::PermissionsBoundary => {
            let (label, policy) = docs.boundary.as_mut()?;
            *policy = add_statement(policy, grant.clone())?;
            Some((
                Edit {
                    kind: FixKind::Boundary,
                    target: label.split('@').next()?.to_owned(),
                    summaries: vec![format!("add the statement {grant}")],
                },
                false,
            ))
        }
        Layer::Resource => {
            let repository = s.repository?;
            let statement = json!({
                "Sid": "AllowRole",
                "Effect": "Allow",
                "Principal": {"AWS": s.role_arn},
                "Action": s.actions,
            });
            let summary = format!("add the statement {statement}");
            docs.repo = Some(match &docs.repo {
                Some(p) => add_statement(p, statement)?,
                None => new_policy(statement)?,
            });
            Some((
                Edit {
                    kind: resource_kind(s)?,
                    target: repository.to_owned(),
                    summaries: vec![summary],
                },
                false,
            ))
        }
        Layer::Session | Layer::Organization => None,
    }
}

/// What kind of document the resource policy is: a repository's, or a role's trust policy.
fn resource_kind(s: &Situation<'_>) -> Option<FixKind> {
    let arn = s.repository?;
    if arn.starts_with("arn:aws:ecr:") || arn.contains(":ecr:") {
        Some(FixKind::RepositoryPolicy)
    } else if arn.contains(":role/") {
        Some(FixKind::TrustPolicy)
    } else {
        None
    }
}

/// The fix from the edited documents: one change per document edited, in order.
fn finish(
    s: &Situation<'_>,
    docs: &Docs,
    edits: Vec<Edit>,
    admits: Vec<String>,
    breadth: Breadth,
) -> Option<Fix> {
    let mut changes = Vec::new();
    for e in edits {
        let doc = match e.kind {
            FixKind::RepositoryPolicy | FixKind::TrustPolicy => docs.repo.clone()?,
            FixKind::Boundary => docs.boundary.as_ref()?.1.clone(),
            _ => docs
                .identity
                .iter()
                .find(|(l, _)| identity_target(s.role_arn, l).is_some_and(|(_, t)| t == e.target))?
                .1
                .clone(),
        };
        let what = match e.kind {
            FixKind::RepositoryPolicy => format!("the repository policy of {}", e.target),
            FixKind::TrustPolicy => format!("the trust policy of {}", e.target),
            FixKind::Boundary => format!("the permissions boundary {}", e.target),
            _ => match e.target.split_once("#inline:") {
                Some((_, name)) => format!("the inline policy {name} of {}", s.role_arn),
                None => format!("the managed policy {} (a new default version)", e.target),
            },
        };
        changes.push(policy_change(
            e.kind,
            &e.target,
            format!("In {what}: {}.", e.summaries.join("; ")),
            &doc,
        ));
    }
    // conditions on keys the tool does not know were taken the way that denies: passing
    // them is passing whatever their value. A repository policy the inventory lacks is
    // another matter: the document holds only the new statement.
    let repo_unknown = matches!(s.repo, RepositoryPolicyAt::Unknown)
        && changes.iter().any(|c| c.kind == FixKind::RepositoryPolicy);
    let (verified, unverified_because) = if repo_unknown {
        (
            Verified::Unverified,
            Some(format!(
                "the repository policy of {} is not in the inventory: the document holds only the new statement; merge it into the policy in force (`aws ecr get-repository-policy`), since set-repository-policy replaces the whole policy",
                s.repository.unwrap_or(s.resource)
            )),
        )
    } else {
        (Verified::Allows, None)
    };
    let mut changes = changes.into_iter();
    let change = changes.next()?;
    Some(Fix {
        change,
        also: changes.collect(),
        scope: format!(
            "newly admits {}; layers the inventory does not hold (SCPs, RCPs, session and VPC endpoint policies) are not checked",
            admits.join("; ")
        ),
        admits,
        verified,
        unverified_because,
        breadth,
    })
}

/// Roles that already trust the session's token and whose policies allow the call.
fn other_roles(s: &Situation<'_>) -> Vec<Fix> {
    let Some(token) = &s.token else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for o in s.other_roles {
        if out.len() >= MAX_OTHER_ROLES || o.arn == s.role_arn {
            continue;
        }
        if diagnose(&o.trust, token, Some(&o.arn)).decision != TrustDecision::Allow {
            continue;
        }
        let docs = Docs::of(&o.identity, s.repo);
        if s.requests
            .iter()
            .any(|r| docs.authorize(&as_role(r, &o.arn)).decision != Decision::Allow)
        {
            continue;
        }
        out.push(Fix::nothing_new(
            action_step(
                FixKind::RoleToAssume,
                &o.arn,
                format!(
                    "Set role-to-assume to {}: its trust policy accepts this job's token and its policies allow {} on {}.",
                    o.arn, s.action, s.resource
                ),
                &o.arn,
                &[],
            ),
            "admits nothing new: an existing role already allows it",
            None,
        ));
    }
    out
}

/// The request as a session of another role would make it: the principal and the keys that
/// name the role replaced.
fn as_role(request: &Request, role_arn: &str) -> Request {
    let mut r = request.clone();
    let name = crate::event::role_name_from_arn(role_arn).unwrap_or_default();
    let account = crate::event::arn_account(role_arn).unwrap_or_default();
    if let Some(p) = &mut r.principal {
        let session = p.id.rsplit('/').next().unwrap_or("session").to_owned();
        p.id = format!("arn:aws:sts::{account}:assumed-role/{name}/{session}");
    }
    r.context.insert(
        "aws:PrincipalArn",
        iam_policy::ContextValue::Single(role_arn.to_owned()),
    );
    // the other role's tags and id are not this one's
    let tags: Vec<String> = r
        .context
        .iter()
        .map(|(k, _)| k.to_owned())
        .filter(|k| {
            k.to_ascii_lowercase().starts_with("aws:principaltag/")
                || k.eq_ignore_ascii_case("aws:userid")
        })
        .collect();
    for k in tags {
        r.context.remove(&k);
    }
    r.context.mark_unknown("aws:PrincipalTag/*");
    r.context.mark_unknown("aws:userid");
    r.context = r.context.assuming(iam_policy::Assume::Strict);
    r
}

/// Role chaining into `target` (its trust policy `trust`) from a session of `caller`, whose
/// identity policies are `identity` when the inventory holds them: the workflow without session
/// tags, and the trust (and the caller's own policy) edits carried until every request passes.
/// `request(action)` is the request for `sts:AssumeRole` or `sts:TagSession`; `tags` whether
/// the request passes session tags.
pub fn chained(
    trust: &Policy,
    target: &str,
    caller: &str,
    identity: Option<&IdentityAt>,
    request: impl Fn(&str) -> Request,
    tags: bool,
) -> Vec<Fix> {
    let Some(identity) = identity else {
        return chained_trust_only(trust, target, caller, request, tags);
    };
    let repo = RepositoryPolicyAt::Known(Some(trust.clone()), None);
    let mut actions = vec!["sts:AssumeRole"];
    if tags {
        actions.push("sts:TagSession");
    }
    let s = Situation {
        requests: actions.iter().map(|a| request(a)).collect(),
        role_arn: caller,
        action: "sts:AssumeRole",
        resource: target,
        actions: actions.clone(),
        identity,
        repo: &repo,
        repository: Some(target),
        token: None,
        other_roles: &[],
    };
    let mut out = Vec::new();
    if tags {
        // without tags only sts:AssumeRole is asked for
        let docs = Docs::of(identity, &repo);
        if docs.authorize(&request("sts:AssumeRole")).decision == Decision::Allow {
            out.push(skip_tagging(target, None));
        }
    }
    out.extend(complete(
        &s,
        Docs::of(identity, &repo),
        Vec::new(),
        Breadth::Nothing,
    ));
    rank(out)
}

/// The workflow change that stops passing session tags (verified unless `because` says why
/// not).
fn skip_tagging(target: &str, because: Option<String>) -> Fix {
    Fix::nothing_new(
        action_step(
            FixKind::Workflow,
            "aws-actions/configure-aws-credentials: role-skip-session-tagging",
            format!("Stop passing session tags when assuming {target}: `role-skip-session-tagging: true`."),
            target,
            &[
                ("role-chaining", "true".to_owned()),
                ("role-skip-session-tagging", "true".to_owned()),
            ],
        ),
        "admits nothing new",
        because,
    )
}

/// As [`chained`], when the caller's own policies are not in the inventory: the target's trust
/// policy alone, evaluated again; the fix says the caller's side is not.
fn chained_trust_only(
    trust: &Policy,
    target: &str,
    caller: &str,
    request: impl Fn(&str) -> Request,
    tags: bool,
) -> Vec<Fix> {
    let allows = |p: &Policy, action: &str| {
        iam_policy::evaluate(p, &request(action)).decision == iam_policy::PolicyDecision::Allow
    };
    let mut out = Vec::new();
    let identity_unchecked = format!(
        "the target's trust policy then allows it; the policies of {caller} are not in the inventory, so whether they allow sts:AssumeRole (and sts:TagSession) on {target} is not evaluated"
    );
    let assume = allows(trust, "sts:AssumeRole");
    if tags && assume {
        out.push(skip_tagging(target, Some(identity_unchecked.clone())));
    }
    let actions: Vec<&str> = match (assume, tags) {
        (false, true) => vec!["sts:AssumeRole", "sts:TagSession"],
        (false, false) => vec!["sts:AssumeRole"],
        (true, true) => vec!["sts:TagSession"],
        (true, false) => return out,
    };
    let statement = json!({"Effect": "Allow", "Principal": {"AWS": caller}, "Action": actions});
    let Some(patched) = add_statement(trust, statement.clone()) else {
        return out;
    };
    let passes =
        allows(&patched, "sts:AssumeRole") && (!tags || allows(&patched, "sts:TagSession"));
    if passes {
        out.push(Fix {
            change: policy_change(
                FixKind::TrustPolicy,
                target,
                format!("In the trust policy of {target}: add the statement {statement}."),
                &patched,
            ),
            also: Vec::new(),
            scope: format!("newly admits sessions of {caller} ({})", actions.join(", ")),
            admits: vec![format!("{caller}: {}", actions.join(", "))],
            verified: Verified::Unverified,
            unverified_because: Some(identity_unchecked),
            breadth: Breadth::Exact,
        });
    }
    rank(out)
}
