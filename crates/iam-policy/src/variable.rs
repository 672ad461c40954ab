//! Policy variables: `${aws:username}`, `${token.actions.githubusercontent.com:sub}`,
//! `${aws:PrincipalTag/team, 'default'}` and the escapes `${*}`, `${?}`, `${$}`, substituted from
//! the request context in `Resource`/`NotResource` entries and condition values, and only under
//! `Version` `2012-10-17`. Under 2008-10-17 or with no Version, `${...}` is literal text.
//!
//! This module does not match anything. It produces a pattern in which substituted text and the
//! escapes are literal characters (a `*` inside a user name never acts as a wildcard), and says
//! when a variable has no value, in which case the policy value cannot match.

use crate::policy::PolicyVersion;
use crate::request::{Context, ContextValue};
use crate::wildcard::PatternElem;

/// A policy value after variable substitution.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Resolved<'a> {
    /// No substitution happened: the text is used as written (wildcards active).
    Plain(&'a str),
    /// Variables were substituted: `text` for literal comparisons, `elems` for pattern ones.
    Substituted {
        text: String,
        elems: Vec<PatternElem>,
    },
    /// A variable had no (single) value in the request: this value cannot match.
    Unresolvable,
}

impl Resolved<'_> {
    /// The literal text, or `None` when unresolvable.
    pub(crate) fn text(&self) -> Option<&str> {
        match self {
            Resolved::Plain(s) => Some(s),
            Resolved::Substituted { text, .. } => Some(text),
            Resolved::Unresolvable => None,
        }
    }
}

/// Substitute the variables in `value` when `version` allows them. Allocates only when the value
/// contains `${`.
pub(crate) fn resolve<'a>(
    value: &'a str,
    version: PolicyVersion,
    context: &Context,
) -> Resolved<'a> {
    if !version.supports_variables() || !value.contains("${") {
        return Resolved::Plain(value);
    }
    let mut text = String::with_capacity(value.len());
    let mut elems = Vec::with_capacity(value.len());
    let mut rest = value;
    while !rest.is_empty() {
        if let Some(after) = rest.strip_prefix("${") {
            if let Some(close) = after.find('}') {
                let inner = &after[..close];
                match substitution(inner, context) {
                    Some(Substitution::Escape(c)) => {
                        text.push(c);
                        elems.push(PatternElem::Literal(c));
                    }
                    Some(Substitution::Text(s)) => {
                        text.push_str(s);
                        elems.extend(s.chars().map(PatternElem::Literal));
                    }
                    None => return Resolved::Unresolvable,
                }
                rest = &after[close + 1..];
                continue;
            }
        }
        let Some(c) = rest.chars().next() else {
            break;
        };
        text.push(c);
        elems.push(match c {
            '*' => PatternElem::AnyRun,
            '?' => PatternElem::AnyOne,
            other => PatternElem::Literal(other),
        });
        rest = &rest[c.len_utf8()..];
    }
    Resolved::Substituted { text, elems }
}

/// The keys of the policy variables in `value` (`${key}` and `${key, 'default'}`; the escapes
/// `${*}`, `${?}`, `${$}` are not variables), in order.
pub fn variable_keys(value: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut rest = value;
    while let Some(start) = rest.find("${") {
        let after = &rest[start + 2..];
        let Some(close) = after.find('}') else {
            break;
        };
        let inner = &after[..close];
        let key = inner.split_once(',').map_or(inner, |(k, _)| k).trim();
        if !matches!(key, "*" | "?" | "$") {
            out.push(key);
        }
        rest = &after[close + 1..];
    }
    out
}

/// Whether `value` substitutes a variable whose key the context marks unknown
/// ([`Context::is_unknown`]): its outcome then depends on that key as much as the condition's own.
pub(crate) fn uses_unknown(value: &str, version: PolicyVersion, context: &Context) -> bool {
    context.has_unknowns()
        && version.supports_variables()
        && variable_keys(value).iter().any(|k| context.is_unknown(k))
}

enum Substitution<'a> {
    Escape(char),
    Text(&'a str),
}

fn substitution<'a>(inner: &'a str, context: &'a Context) -> Option<Substitution<'a>> {
    match inner {
        "*" => return Some(Substitution::Escape('*')),
        "?" => return Some(Substitution::Escape('?')),
        "$" => return Some(Substitution::Escape('$')),
        _ => {}
    }
    let (name, default) = match inner.split_once(',') {
        Some((name, default)) => {
            let default = default.trim();
            let unquoted = default
                .strip_prefix('\'')
                .and_then(|d| d.strip_suffix('\''));
            match unquoted {
                Some(d) => (name.trim(), Some(d)),
                None => (inner, None),
            }
        }
        None => (inner, None),
    };
    match context.get(name) {
        Some(ContextValue::Single(s)) => Some(Substitution::Text(s)),
        // multi-valued keys cannot be used as policy variables
        Some(ContextValue::Multi(_)) | None => default.map(Substitution::Text),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ctx() -> Context {
        let mut c = Context::new();
        c.insert("aws:username", "alice".into());
        c.insert("aws:TagKeys", ContextValue::Multi(vec!["a".into()]));
        c
    }

    #[test]
    fn substitutes_only_under_2012() {
        let c = ctx();
        let r = resolve("home/${aws:UserName}/*", PolicyVersion::V2012_10_17, &c);
        assert_eq!(r.text(), Some("home/alice/*"));
        let r = resolve("home/${aws:username}/*", PolicyVersion::V2008_10_17, &c);
        assert_eq!(r, Resolved::Plain("home/${aws:username}/*"));
        let r = resolve("home/${aws:username}/*", PolicyVersion::Missing, &c);
        assert_eq!(r, Resolved::Plain("home/${aws:username}/*"));
    }

    #[test]
    fn escapes_are_literal() {
        let r = resolve(
            "a${*}b${?}${$}*",
            PolicyVersion::V2012_10_17,
            &Context::new(),
        );
        let Resolved::Substituted { text, elems } = r else {
            panic!("expected substitution");
        };
        assert_eq!(text, "a*b?$*");
        assert_eq!(elems[1], PatternElem::Literal('*'));
        assert_eq!(elems[5], PatternElem::AnyRun);
    }

    #[test]
    fn missing_multi_and_default() {
        let c = ctx();
        let v = PolicyVersion::V2012_10_17;
        assert_eq!(resolve("${aws:nope}", v, &c), Resolved::Unresolvable);
        assert_eq!(resolve("${aws:TagKeys}", v, &c), Resolved::Unresolvable);
        assert_eq!(resolve("${aws:nope, 'x y'}", v, &c).text(), Some("x y"));
        assert_eq!(resolve("${unclosed", v, &c).text(), Some("${unclosed"));
    }
}
