//! Fixes: the changes that would let a denied request pass, each checked by evaluating the
//! same request again with the change applied, and ranked by how much wider access becomes.
//!
//! A fix is a list of changes (`Fix::change` and `Fix::also`): a trust-policy edit, a new
//! provider, a workflow setting, another role to assume. Policy changes carry the whole patched
//! document (the policy in force with the change applied, in canonical JSON, parsed back by the
//! policy engine before it is evaluated) and the `aws` command that applies it. `trust` builds
//! the fixes of web-identity failures, `call` those of denied calls; this module holds the
//! shapes, the policy edits both use, the commands and the ranking. Nothing here reads files,
//! calls AWS or prints: `--write-fixes` writes what `files` returns.

pub mod call;
pub mod trust;

use iam_policy::{ConditionOperator, Policy, PolicyVersion};
use serde::Serialize;
use serde_json::Value;
use sha2::{Digest, Sha256};

/// What a change edits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum FixKind {
    /// A setting of the GitHub workflow (environment, trigger, audience, duration).
    Workflow,
    /// Another existing role that already allows the request.
    RoleToAssume,
    TrustPolicy,
    IdentityPolicy,
    RepositoryPolicy,
    Boundary,
    /// An IAM OIDC identity provider (create it, register an audience).
    Provider,
    /// A setting of the role itself (maximum session duration).
    Role,
}

impl FixKind {
    /// The contract's name of the kind.
    pub fn code(self) -> &'static str {
        match self {
            FixKind::Workflow => "workflow",
            FixKind::RoleToAssume => "role_to_assume",
            FixKind::TrustPolicy => "trust_policy",
            FixKind::IdentityPolicy => "identity_policy",
            FixKind::RepositoryPolicy => "repository_policy",
            FixKind::Boundary => "boundary",
            FixKind::Provider => "provider",
            FixKind::Role => "role",
        }
    }
}

/// One change.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Change {
    pub kind: FixKind,
    /// The ARN changed, or the workflow setting (`jobs.<job>.environment`).
    pub target: String,
    /// One sentence: what changes.
    pub summary: String,
    /// The whole patched document, for policy changes.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub document: Option<Value>,
    /// The file name `--write-fixes` gives `document` (the `apply` command names it).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub file: Option<String>,
    /// The `aws` command that applies the change.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub apply: Option<String>,
    /// The workflow change, as YAML.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub workflow: Option<String>,
}

/// Whether the request was evaluated again with the fix applied.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Verified {
    /// The same request, evaluated with every change applied, passes every layer the tool holds.
    Allows,
    /// Not checked: `unverified_because` says what the tool lacks.
    Unverified,
}

/// How much wider access becomes: the ranking's first key (least privilege first).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Default)]
pub enum Breadth {
    /// Nothing new is admitted (a workflow change, a role that already allows it).
    #[default]
    Nothing,
    /// Exactly this request's subject, resource or value.
    Exact,
    /// A pattern: every subject or resource it matches.
    Pattern,
    /// A Deny removed, or a principal or provider trusted anew.
    Wide,
}

/// One alternative: the changes that together let the request pass.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Fix {
    #[serde(flatten)]
    pub change: Change,
    /// Further changes the request needs besides the first (all of them, in order).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub also: Vec<Change>,
    /// What the fix newly admits, in words.
    pub scope: String,
    /// The subjects, resources or values it newly admits (empty: nothing new).
    pub admits: Vec<String>,
    pub verified: Verified,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub unverified_because: Option<String>,
    #[serde(skip)]
    pub breadth: Breadth,
}

impl Fix {
    /// A fix of one change that admits nothing new (a workflow setting, another role):
    /// verified, unless `because` says what could not be checked.
    pub fn nothing_new(change: Change, scope: &str, because: Option<String>) -> Fix {
        Fix {
            change,
            also: Vec::new(),
            scope: scope.to_owned(),
            admits: Vec::new(),
            verified: if because.is_some() {
                Verified::Unverified
            } else {
                Verified::Allows
            },
            unverified_because: because,
            breadth: Breadth::Nothing,
        }
    }

    /// The fix in one line: its changes' summaries (no documents).
    pub fn line(&self) -> String {
        let mut out = self.change.summary.clone();
        for c in &self.also {
            out.push_str(" Also: ");
            out.push_str(&c.summary);
        }
        out
    }

    /// Every change of the fix, in order.
    pub fn changes(&self) -> impl Iterator<Item = &Change> {
        std::iter::once(&self.change).chain(self.also.iter())
    }

    /// The text `fix` of a finding: the first alternative in a sentence or two.
    pub fn text(&self) -> String {
        let mut out = self.line();
        if let Some(doc) = &self.change.document {
            out.push_str(&format!(" Patched document: {doc}"));
        }
        match self.verified {
            Verified::Allows => {
                out.push_str(" (verified: the request is allowed with this change)")
            }
            Verified::Unverified => {
                if let Some(why) = &self.unverified_because {
                    out.push_str(&format!(" (not verified: {why})"));
                }
            }
        }
        out
    }
}

impl Verified {
    /// The word the table and the report show.
    pub fn word(self) -> &'static str {
        match self {
            Verified::Allows => "verified",
            Verified::Unverified => "not verified",
        }
    }
}

/// A change of the workflow's `aws-actions/configure-aws-credentials` step (`kind` workflow or
/// role_to_assume): `role` as `role-to-assume`, then the `with` settings, as YAML.
pub fn action_step(
    kind: FixKind,
    target: &str,
    summary: String,
    role: &str,
    with: &[(&str, String)],
) -> Change {
    let mut yaml = format!(
        "- uses: aws-actions/configure-aws-credentials@v4\n  with:\n    role-to-assume: {}\n",
        yaml_scalar(role)
    );
    for (key, value) in with {
        yaml.push_str(&format!("    {key}: {}\n", yaml_scalar(value)));
    }
    Change {
        kind,
        target: target.to_owned(),
        summary,
        document: None,
        file: None,
        apply: None,
        workflow: Some(yaml),
    }
}

/// A YAML scalar, quoted when it is not plain.
pub fn yaml_scalar(s: &str) -> String {
    if !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | '/'))
    {
        s.to_owned()
    } else {
        serde_json::Value::String(s.to_owned()).to_string()
    }
}

/// Sorts alternatives least privilege first (stable within a breadth) and drops repeats.
pub fn rank(mut fixes: Vec<Fix>) -> Vec<Fix> {
    fixes.sort_by_key(|f| (f.verified != Verified::Allows, f.breadth));
    let mut out: Vec<Fix> = Vec::new();
    for f in fixes {
        if !out.iter().any(|o| o.change == f.change && o.also == f.also) {
            out.push(f);
        }
    }
    out
}

/// A policy change of `kind` to `target`, with the whole patched document, its file name and
/// the command that applies it.
pub fn policy_change(kind: FixKind, target: &str, summary: String, doc: &Policy) -> Change {
    let document = doc.to_value();
    let file = file_name(kind, target, &document);
    let apply = command(kind, target, &file);
    Change {
        kind,
        target: target.to_owned(),
        summary,
        document: Some(document),
        file: Some(file),
        apply,
        workflow: None,
    }
}

/// A file name for a patched document: the kind, the target's last name part and a digest of
/// the document, in characters safe for any file system and shell.
fn file_name(kind: FixKind, target: &str, document: &Value) -> String {
    let kind = match kind {
        FixKind::TrustPolicy => "trust-policy",
        FixKind::IdentityPolicy => "identity-policy",
        FixKind::RepositoryPolicy => "repository-policy",
        FixKind::Boundary => "boundary",
        _ => "document",
    };
    let name: String = target
        .rsplit(['/', ':'])
        .next()
        .unwrap_or_default()
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
        .take(64)
        .collect();
    let name = name.trim_start_matches('.');
    let digest = Sha256::digest(document.to_string().as_bytes());
    let hex: String = digest.iter().take(4).map(|b| format!("{b:02x}")).collect();
    format!(
        "{kind}-{}-{hex}.json",
        if name.is_empty() { "policy" } else { name }
    )
}

/// The `aws` command that applies a document change (`target` as the change names it:
/// `arn:…:role/NAME`, `arn:…:role/NAME#inline:POLICY`, a managed policy ARN, a repository ARN).
fn command(kind: FixKind, target: &str, file: &str) -> Option<String> {
    let doc = format!("file://{file}");
    match kind {
        FixKind::TrustPolicy => Some(format!(
            "aws iam update-assume-role-policy --role-name {} --policy-document {doc}",
            shell_word(crate::event::role_name_from_arn(target)?)
        )),
        FixKind::IdentityPolicy | FixKind::Boundary => match target.split_once("#inline:") {
            Some((role, policy)) => Some(format!(
                "aws iam put-role-policy --role-name {} --policy-name {} --policy-document {doc}",
                shell_word(crate::event::role_name_from_arn(role)?),
                shell_word(policy)
            )),
            None => Some(format!(
                "aws iam create-policy-version --policy-arn {} --policy-document {doc} --set-as-default",
                shell_word(target)
            )),
        },
        FixKind::RepositoryPolicy => {
            let arn = crate::event::Arn::parse(target)?;
            let name = arn.resource.strip_prefix("repository/")?;
            Some(format!(
                "aws ecr set-repository-policy --region {} --registry-id {} --repository-name {} --policy-text {doc}",
                shell_word(arn.region),
                shell_word(arn.account),
                shell_word(name)
            ))
        }
        _ => None,
    }
}

/// `s` as one shell word: bare when it holds only safe characters, else single-quoted.
pub fn shell_word(s: &str) -> String {
    if !s.is_empty()
        && s.chars().all(|c| {
            c.is_ascii_alphanumeric()
                || matches!(c, '-' | '_' | '.' | '/' | ':' | '@' | '=' | ',' | '+')
        })
    {
        s.to_owned()
    } else {
        format!("'{}'", s.replace('\'', r"'\''"))
    }
}

/// The policy re-read from its canonical JSON: statement indices follow the edited list, and a
/// document the engine cannot parse is never offered.
pub fn reparse(p: &Policy) -> Option<Policy> {
    Policy::from_value(&p.to_value()).ok()
}

/// `value` as a literal under `operator` in a policy of `version`: wildcards and `$` escaped
/// where they would mean something else.
pub fn literal(operator: &ConditionOperator, version: PolicyVersion, value: &str) -> String {
    let like = matches!(
        operator.base,
        iam_policy::BaseOperator::StringLike | iam_policy::BaseOperator::ArnLike
    );
    let variables = version.supports_variables();
    let mut out = String::new();
    for c in value.chars() {
        match c {
            '*' if like && variables => out.push_str("${*}"),
            '?' if like && variables => out.push_str("${?}"),
            '$' if variables => out.push_str("${$}"),
            c => out.push(c),
        }
    }
    out
}

/// Adds `value`, taken literally, to the values of `key` under `operator` in statement `index`.
pub fn add_condition_value(
    p: &Policy,
    index: usize,
    key: &str,
    operator: &str,
    value: &str,
) -> Option<Policy> {
    add_value(p, index, key, operator, |op, version| {
        literal(op, version, value)
    })
}

/// Adds `pattern` as written (its wildcards stay wildcards) to the values of `key` under
/// `operator` in statement `index`.
pub fn add_condition_pattern(
    p: &Policy,
    index: usize,
    key: &str,
    operator: &str,
    pattern: &str,
) -> Option<Policy> {
    add_value(p, index, key, operator, |_, _| pattern.to_owned())
}

fn add_value(
    p: &Policy,
    index: usize,
    key: &str,
    operator: &str,
    text: impl FnOnce(&ConditionOperator, PolicyVersion) -> String,
) -> Option<Policy> {
    let mut p = p.clone();
    let version = p.version;
    let st = p.statements.iter_mut().find(|s| s.index == index)?;
    let c = st
        .conditions
        .iter_mut()
        .find(|c| c.key.eq_ignore_ascii_case(key) && c.operator.raw == operator)?;
    let v = text(&c.operator, version);
    if c.values.contains(&v) {
        return None;
    }
    c.values.push(v);
    reparse(&p)
}

/// Removes the values of `key` under `operator` in statement `index` that `drop` selects; the
/// condition goes when no value is left.
pub fn remove_condition_values(
    p: &Policy,
    index: usize,
    key: &str,
    operator: &str,
    drop: impl Fn(&str) -> bool,
) -> Option<Policy> {
    let mut p = p.clone();
    let st = p.statements.iter_mut().find(|s| s.index == index)?;
    let before: usize = st.conditions.iter().map(|c| c.values.len()).sum();
    for c in st
        .conditions
        .iter_mut()
        .filter(|c| c.key.eq_ignore_ascii_case(key) && c.operator.raw == operator)
    {
        c.values.retain(|v| !drop(v));
    }
    st.conditions.retain(|c| !c.values.is_empty());
    let after: usize = st.conditions.iter().map(|c| c.values.len()).sum();
    (after < before).then(|| reparse(&p)).flatten()
}

/// Moves `key` from operator `from` to operator `to` in statement `index`.
pub fn change_operator(
    p: &Policy,
    index: usize,
    key: &str,
    from: &str,
    to: &str,
) -> Option<Policy> {
    let mut p = p.clone();
    let st = p.statements.iter_mut().find(|s| s.index == index)?;
    let c = st
        .conditions
        .iter_mut()
        .find(|c| c.key.eq_ignore_ascii_case(key) && c.operator.raw == from)?;
    c.operator = ConditionOperator::parse(to);
    reparse(&p)
}

/// Removes statement `index`.
pub fn remove_statement(p: &Policy, index: usize) -> Option<Policy> {
    let mut p = p.clone();
    let before = p.statements.len();
    p.statements.retain(|s| s.index != index);
    if p.statements.len() == before {
        return None;
    }
    reparse(&p)
}

/// Adds a statement given as JSON.
pub fn add_statement(p: &Policy, statement: Value) -> Option<Policy> {
    let mut doc = p.to_value();
    doc.get_mut("Statement")?.as_array_mut()?.push(statement);
    Policy::from_value(&doc).ok()
}

/// A new policy holding one statement.
pub fn new_policy(statement: Value) -> Option<Policy> {
    Policy::from_value(&serde_json::json!({"Version": "2012-10-17", "Statement": [statement]})).ok()
}

/// The files `--write-fixes` writes for these findings' fixes: each patched document, and
/// `apply.sh` with the commands in order (commented by finding and alternative).
pub fn files(findings: &[super::Finding]) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = Vec::new();
    let mut script = String::from(
        "#!/bin/sh\n# Written by trailwhy explain --write-fixes. Review every file before running;\n# trailwhy never runs it. Each finding lists its alternatives, least privilege first:\n# only the first runs; to take another, uncomment it and comment out the first.\nset -eu\ncd \"$(dirname \"$0\")\"\n",
    );
    // documents already set by a live command: a second patch of one starts from the policy
    // in force too, so running both would undo the first
    let mut applied: Vec<(String, usize)> = Vec::new();
    for (n, f) in findings.iter().enumerate() {
        if f.fixes.is_empty() {
            continue;
        }
        script.push_str(&format!(
            "\n# finding {}: {} {}\n",
            n + 1,
            f.cause.code(),
            comment(f.role_arn.as_deref().unwrap_or_default())
        ));
        for (a, fix) in f.fixes.iter().enumerate() {
            script.push_str(&format!(
                "# alternative {} ({}): {}\n",
                a + 1,
                fix.verified.word(),
                comment(&fix.scope)
            ));
            for c in fix.changes() {
                if let (Some(doc), Some(file)) = (&c.document, &c.file) {
                    if !out.iter().any(|(name, _)| name == file) {
                        let text = serde_json::to_string_pretty(doc).unwrap_or_default();
                        out.push((file.clone(), text + "\n"));
                    }
                }
                // only the first alternative runs; the others are there to swap in
                let mut off = if a == 0 { "" } else { "# " };
                if a == 0 && fix.verified != Verified::Allows && c.document.is_some() {
                    script.push_str(&format!(
                        "# not verified, so not run: {}\n",
                        comment(fix.unverified_because.as_deref().unwrap_or_default())
                    ));
                    off = "# ";
                }
                if a == 0 && c.document.is_some() {
                    if let Some((_, first)) = applied.iter().find(|(t, _)| *t == c.target) {
                        script.push_str(&format!(
                            "# finding {first} already replaces this document, and each patch starts from the policy in force: merge the two by hand\n"
                        ));
                        off = "# ";
                    } else {
                        applied.push((c.target.clone(), n + 1));
                    }
                }
                match &c.apply {
                    Some(cmd) => script.push_str(&format!("{off}{cmd}\n")),
                    None => script.push_str(&format!("# by hand: {}\n", comment(&c.summary))),
                }
            }
        }
    }
    out.push(("apply.sh".to_owned(), script));
    out
}

/// `s` on one comment line: no line breaks or control characters.
fn comment(s: &str) -> String {
    s.chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect()
}

#[cfg(test)]
mod tests;
