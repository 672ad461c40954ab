//! The request being authorized: who (principal), what (action), on what (resource) and the
//! request context (condition keys). These are plain values the caller builds from a CloudTrail
//! record or from simulation input.
//!
//! This module does not know where the values come from and does not validate ARNs; a principal
//! or resource that is not a well-formed ARN simply fails to match ARN-shaped policy entries.

use serde::ser::{SerializeMap, Serializer};
use serde::Serialize;

use crate::policy::PrincipalKind;

/// One authorization request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Request {
    /// The caller; `None` for an anonymous request.
    pub principal: Option<RequestPrincipal>,
    /// `service:Action`, e.g. `sts:AssumeRoleWithWebIdentity`.
    pub action: String,
    /// The resource ARN; `None` behaves like `*` (actions without resource-level permissions).
    pub resource: Option<String>,
    /// Condition keys and their values.
    pub context: Context,
}

impl Request {
    /// A request for `action` with no principal, no resource and an empty context.
    pub fn new(action: impl Into<String>) -> Self {
        Request {
            principal: None,
            action: action.into(),
            resource: None,
            context: Context::new(),
        }
    }
}

/// The calling principal, typed like a policy `Principal` entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RequestPrincipal {
    /// Which `Principal` key this principal is named under.
    pub kind: PrincipalKind,
    /// ARN (AWS, or an OIDC/SAML provider for Federated), service name, or canonical user id.
    pub id: String,
}

impl RequestPrincipal {
    /// An AWS principal (IAM user, role, assumed-role session, account).
    pub fn aws(id: impl Into<String>) -> Self {
        RequestPrincipal {
            kind: PrincipalKind::Aws,
            id: id.into(),
        }
    }

    /// A federated principal (the provider ARN, or a bare provider such as `accounts.google.com`).
    pub fn federated(id: impl Into<String>) -> Self {
        RequestPrincipal {
            kind: PrincipalKind::Federated,
            id: id.into(),
        }
    }

    /// An AWS service principal such as `ecr.amazonaws.com`.
    pub fn service(id: impl Into<String>) -> Self {
        RequestPrincipal {
            kind: PrincipalKind::Service,
            id: id.into(),
        }
    }
}

/// A request-context value: one string or a set of strings (multi-valued keys such as
/// `aws:TagKeys`). An empty `Multi` is a present key with an empty set.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(untagged)]
pub enum ContextValue {
    Single(String),
    Multi(Vec<String>),
}

impl ContextValue {
    /// The values as a slice, without allocating.
    pub fn as_slice(&self) -> &[String] {
        match self {
            ContextValue::Single(s) => std::slice::from_ref(s),
            ContextValue::Multi(v) => v,
        }
    }
}

impl From<&str> for ContextValue {
    fn from(s: &str) -> Self {
        ContextValue::Single(s.to_owned())
    }
}

impl From<String> for ContextValue {
    fn from(s: String) -> Self {
        ContextValue::Single(s)
    }
}

impl From<Vec<String>> for ContextValue {
    fn from(v: Vec<String>) -> Self {
        ContextValue::Multi(v)
    }
}

/// Condition keys of a request. Keys compare case-insensitively (ASCII), as IAM condition keys
/// do; the spelling of the first insertion is kept for display.
///
/// Stored as a small vector: request contexts hold tens of keys, where a linear scan with
/// `eq_ignore_ascii_case` beats hashing a lowercased copy of every looked-up key.
///
/// A caller that could not learn some keys' values marks them unknown
/// ([`Context::mark_unknown`]): a condition on an unknown key is neither true nor false, and is
/// decided by the context's [`Assume`] — the most lenient or the most strict outcome — so that
/// evaluating under both tells whether a decision turns on what is not known. Unknown is not
/// absent: `...IfExists`, `Null` and negated operators follow AWS's rules for absent keys only
/// for keys that are not marked unknown.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Context {
    entries: Vec<(String, ContextValue)>,
    /// Keys (exact, any case) or key prefixes (ending in `/` or `:`) whose value is unknown.
    unknown: Vec<String>,
    /// Keys known to be absent although an `unknown` prefix covers them.
    absent: Vec<String>,
    assume: Assume,
}

/// How a condition on an unknown key is taken.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Assume {
    /// Every such condition is taken in the way that denies: false in an Allow statement, true
    /// in a Deny statement.
    #[default]
    Strict,
    /// Every such condition is taken in the way that allows: true in an Allow statement, false
    /// in a Deny statement.
    Lenient,
}

impl Context {
    /// An empty context.
    pub fn new() -> Self {
        Context::default()
    }

    /// Set `key` to `value`, replacing any value under the same key in any case.
    pub fn insert(&mut self, key: &str, value: ContextValue) {
        match self
            .entries
            .iter_mut()
            .find(|(k, _)| k.eq_ignore_ascii_case(key))
        {
            Some((_, existing)) => *existing = value,
            None => self.entries.push((key.to_owned(), value)),
        }
    }

    /// The value under `key`, case-insensitively.
    pub fn get(&self, key: &str) -> Option<&ContextValue> {
        self.entries
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(key))
            .map(|(_, v)| v)
    }

    /// Remove `key` (any case), returning its value.
    pub fn remove(&mut self, key: &str) -> Option<ContextValue> {
        let pos = self
            .entries
            .iter()
            .position(|(k, _)| k.eq_ignore_ascii_case(key))?;
        Some(self.entries.remove(pos).1)
    }

    /// Marks a key, or every key under a prefix ending in `/` or `:` (`aws:ResourceTag/`,
    /// `aws:`), as unknown where no value is set.
    pub fn mark_unknown(&mut self, pattern: &str) {
        self.unknown.push(pattern.to_owned());
    }

    /// Marks a key, or every key under a prefix ending in `/` or `:`, as known to be absent
    /// where no value is set, even under an unknown prefix.
    pub fn mark_absent(&mut self, key: &str) {
        self.absent.push(key.to_owned());
    }

    /// Forgets every unknown mark: a key without a value is absent again (for a caller that
    /// has learnt the whole context since).
    pub fn clear_unknowns(&mut self) {
        self.unknown.clear();
        self.absent.clear();
    }

    /// Whether `key` has no value here and its value is unknown (rather than absent).
    pub fn is_unknown(&self, key: &str) -> bool {
        if self.unknown.is_empty() || self.get(key).is_some() {
            return false;
        }
        if self.absent.iter().any(|a| covers(a, key)) {
            return false;
        }
        self.unknown.iter().any(|p| covers(p, key))
    }

    /// This context, taking conditions on unknown keys as `assume` says.
    pub fn assuming(&self, assume: Assume) -> Context {
        Context {
            assume,
            ..self.clone()
        }
    }

    /// How conditions on unknown keys are taken.
    pub fn assumption(&self) -> Assume {
        self.assume
    }

    /// Whether any key is marked unknown.
    pub fn has_unknowns(&self) -> bool {
        !self.unknown.is_empty()
    }

    /// Keys (as first inserted) and values, in insertion order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &ContextValue)> {
        self.entries.iter().map(|(k, v)| (k.as_str(), v))
    }

    /// Number of keys.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether there are no keys.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

/// Whether `pattern` (a key, or a prefix ending in `/` or `:`) covers `key`, in any case.
pub fn covers(pattern: &str, key: &str) -> bool {
    if pattern.ends_with('/') || pattern.ends_with(':') {
        key.len() > pattern.len()
            && key.is_char_boundary(pattern.len())
            && key[..pattern.len()].eq_ignore_ascii_case(pattern)
    } else {
        pattern.eq_ignore_ascii_case(key)
    }
}

impl<K: AsRef<str>> FromIterator<(K, ContextValue)> for Context {
    fn from_iter<I: IntoIterator<Item = (K, ContextValue)>>(iter: I) -> Self {
        let mut ctx = Context::new();
        for (k, v) in iter {
            ctx.insert(k.as_ref(), v);
        }
        ctx
    }
}

impl Serialize for Context {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(self.entries.len()))?;
        for (k, v) in &self.entries {
            map.serialize_entry(k, v)?;
        }
        map.end()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_case_insensitive_and_replace() {
        let mut ctx = Context::new();
        ctx.insert("aws:SourceIp", "1.2.3.4".into());
        ctx.insert("AWS:SOURCEIP", "5.6.7.8".into());
        assert_eq!(ctx.len(), 1);
        assert_eq!(
            ctx.get("aws:sourceip"),
            Some(&ContextValue::from("5.6.7.8"))
        );
        assert_eq!(ctx.iter().next().map(|(k, _)| k), Some("aws:SourceIp"));
        assert!(ctx.remove("Aws:SourceIP").is_some());
        assert!(ctx.is_empty());
    }

    #[test]
    fn cleared_unknowns_are_absent() {
        let mut ctx = Context::new();
        ctx.mark_unknown("aws:ResourceTag/");
        ctx.mark_absent("aws:ResourceTag/team");
        ctx.insert("aws:ResourceTag/env", "prod".into());
        assert!(ctx.is_unknown("aws:ResourceTag/owner"));
        assert!(!ctx.is_unknown("aws:ResourceTag/team"));
        ctx.clear_unknowns();
        assert!(!ctx.has_unknowns());
        assert!(!ctx.is_unknown("aws:ResourceTag/owner"));
        assert_eq!(
            ctx.get("aws:ResourceTag/env"),
            Some(&ContextValue::from("prod"))
        );
    }
}
