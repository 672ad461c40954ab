//! IAM wildcard matching: `*` matches any run of characters (including none, including `/` and
//! `:`), `?` matches exactly one character. This module holds the one matcher every other part of
//! the crate uses (Action, Resource, `StringLike`, `ArnLike`), in a greedy two-pointer form whose
//! cost is bounded by the product of the lengths, never exponential.
//!
//! It is not a glob or regex engine: there are no character classes, no escapes in plain text and
//! no notion of path separators. Literal `*`/`?` produced by the `${*}`/`${?}` policy variables are
//! represented by [`PatternElem::Literal`] in a pre-split pattern, not by escaping.

/// One element of a pattern that has gone through policy-variable substitution.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum PatternElem {
    /// A character that must match itself (possibly `*` or `?` coming from `${*}` / `${?}`).
    Literal(char),
    /// `*`: any run of characters.
    AnyRun,
    /// `?`: exactly one character.
    AnyOne,
}

/// A pattern that can be walked element by element from a position.
pub(crate) trait Pattern {
    /// The element at `pos` and the position after it, or `None` at the end.
    fn elem_at(&self, pos: usize) -> Option<(PatternElem, usize)>;
}

impl Pattern for str {
    fn elem_at(&self, pos: usize) -> Option<(PatternElem, usize)> {
        let c = self.get(pos..)?.chars().next()?;
        let elem = match c {
            '*' => PatternElem::AnyRun,
            '?' => PatternElem::AnyOne,
            other => PatternElem::Literal(other),
        };
        Some((elem, pos + c.len_utf8()))
    }
}

impl Pattern for [PatternElem] {
    fn elem_at(&self, pos: usize) -> Option<(PatternElem, usize)> {
        self.get(pos).map(|e| (*e, pos + 1))
    }
}

/// How literal characters are compared.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum CaseRule {
    Sensitive,
    Insensitive,
}

/// Whether two characters are equal under `rule`, without allocating.
pub(crate) fn chars_equal(a: char, b: char, rule: CaseRule) -> bool {
    if a == b {
        return true;
    }
    match rule {
        CaseRule::Sensitive => false,
        CaseRule::Insensitive => {
            if a.is_ascii() && b.is_ascii() {
                a.eq_ignore_ascii_case(&b)
            } else {
                a.to_lowercase().eq(b.to_lowercase())
            }
        }
    }
}

/// Whether two strings are equal ignoring case (Unicode simple lowercase), without allocating.
pub(crate) fn str_equal_ignore_case(a: &str, b: &str) -> bool {
    if a.is_ascii() && b.is_ascii() {
        return a.eq_ignore_ascii_case(b);
    }
    a.chars()
        .flat_map(char::to_lowercase)
        .eq(b.chars().flat_map(char::to_lowercase))
}

/// The core matcher: greedy two-pointer with a single backtrack point (the last `*` seen).
pub(crate) fn match_pattern<P: Pattern + ?Sized>(pattern: &P, value: &str, rule: CaseRule) -> bool {
    let mut p = 0usize;
    let mut v = 0usize;
    // Position in the pattern just after the last `*`, and the value position it is tried at.
    let mut backtrack: Option<(usize, usize)> = None;
    loop {
        let value_char = value.get(v..).and_then(|rest| rest.chars().next());
        let Some(vc) = value_char else {
            break;
        };
        let step = match pattern.elem_at(p) {
            Some((PatternElem::AnyRun, next)) => {
                backtrack = Some((next, v));
                p = next;
                continue;
            }
            Some((PatternElem::AnyOne, next)) => Some(next),
            Some((PatternElem::Literal(pc), next)) if chars_equal(pc, vc, rule) => Some(next),
            _ => None,
        };
        if let Some(next) = step {
            p = next;
            v += vc.len_utf8();
            continue;
        }
        match backtrack {
            Some((after_star, tried_at)) => {
                // Let the last `*` swallow one more character and retry from there.
                let swallowed = value
                    .get(tried_at..)
                    .and_then(|rest| rest.chars().next())
                    .map_or(1, char::len_utf8);
                let retry_at = tried_at + swallowed;
                backtrack = Some((after_star, retry_at));
                p = after_star;
                v = retry_at;
            }
            None => return false,
        }
    }
    // The value is consumed: only `*` may remain in the pattern.
    while let Some((PatternElem::AnyRun, next)) = pattern.elem_at(p) {
        p = next;
    }
    pattern.elem_at(p).is_none()
}

/// IAM wildcard match: `*` any run (including `/` and `:`), `?` one character, case-sensitive.
///
/// This is the `StringLike` and `Resource` comparison.
pub fn wildcard_match(pattern: &str, value: &str) -> bool {
    match_pattern(pattern, value, CaseRule::Sensitive)
}

/// Whether an `Action` entry (`ecr:*Layer*`, `*`, `sts:AssumeRoleWithWebIdentity`) matches an
/// action name; case-insensitive, with wildcards.
pub fn action_matches(pattern: &str, action: &str) -> bool {
    match_pattern(pattern, action, CaseRule::Insensitive)
}

/// Split an ARN into its six colon-separated parts; the sixth keeps any further colons.
pub(crate) fn split_arn(arn: &str) -> Option<[&str; 6]> {
    let mut parts = arn.splitn(6, ':');
    let out = [
        parts.next()?,
        parts.next()?,
        parts.next()?,
        parts.next()?,
        parts.next()?,
        parts.next()?,
    ];
    Some(out)
}

/// Split a substituted pattern into six parts at literal colons; the sixth keeps the rest.
pub(crate) fn split_arn_elems(elems: &[PatternElem]) -> Option<[&[PatternElem]; 6]> {
    let mut out: [&[PatternElem]; 6] = [&[]; 6];
    let mut rest = elems;
    for slot in out.iter_mut().take(5) {
        let colon = rest.iter().position(|e| *e == PatternElem::Literal(':'))?;
        *slot = &rest[..colon];
        rest = &rest[colon + 1..];
    }
    out[5] = rest;
    Some(out)
}

/// Compare six pattern parts against an ARN, part by part.
pub(crate) fn arn_parts_match<P: Pattern + ?Sized>(parts: [&P; 6], arn: &str) -> bool {
    let Some(value_parts) = split_arn(arn) else {
        return false;
    };
    parts
        .iter()
        .zip(value_parts.iter())
        .all(|(p, v)| match_pattern(*p, v, CaseRule::Sensitive))
}

/// `ArnLike` semantics: both sides split into six colon-separated parts (the resource part keeps
/// its colons) and compared part by part with wildcards, case-sensitive. A pattern or value
/// without six parts never matches.
pub fn arn_matches(pattern: &str, arn: &str) -> bool {
    match split_arn(pattern) {
        Some(parts) => arn_parts_match(parts, arn),
        None => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn star_spans_slash_and_colon() {
        assert!(wildcard_match("arn:aws:s3:::b/*", "arn:aws:s3:::b/x/y:z"));
        assert!(wildcard_match("repo:o/r:*", "repo:o/r:ref:refs/heads/main"));
        assert!(!wildcard_match("repo:o/r:*", "repo:o/other:ref"));
    }

    #[test]
    fn question_mark_is_one_character_not_byte() {
        assert!(wildcard_match("a?c", "aéc"));
        assert!(!wildcard_match("a?c", "ac"));
        assert!(!wildcard_match("a?c", "abbc"));
    }

    #[test]
    fn trailing_stars_match_empty() {
        assert!(wildcard_match("abc**", "abc"));
        assert!(wildcard_match("*", ""));
        assert!(!wildcard_match("", "a"));
        assert!(wildcard_match("", ""));
    }

    #[test]
    fn action_case_insensitive() {
        assert!(action_matches("ECR:*layer*", "ecr:UploadLayerPart"));
        assert!(!action_matches("ecr:*Layer", "ecr:UploadLayerPart"));
    }

    #[test]
    fn arn_partwise() {
        assert!(arn_matches(
            "arn:aws:iam::*:role/*",
            "arn:aws:iam::123456789012:role/a/b"
        ));
        // '*' in the account part must not swallow the colon before the resource part
        assert!(!arn_matches("arn:aws:iam::*", "arn:aws:iam::1:role/x"));
        assert!(!arn_matches("arn:aws:*:role/x", "arn:aws:iam::1:role/x"));
        assert!(arn_matches(
            "arn:aws:s3:::b/*",
            "arn:aws:s3:::b/k:with:colons"
        ));
        assert!(!arn_matches("arn:aws:s3:::b", "not-an-arn"));
    }

    #[test]
    fn elems_split() {
        let elems: Vec<PatternElem> = "arn:aws:s3:::x:y"
            .chars()
            .map(PatternElem::Literal)
            .collect();
        let parts = split_arn_elems(&elems);
        assert_eq!(parts.map(|p| p[5].len()), Some(3));
    }
}
