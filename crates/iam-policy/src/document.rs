//! Policy documents as they appear in the wild: a JSON object, a JSON string holding policy JSON
//! (double-encoded, as in CloudTrail `requestParameters`), or URL-encoded JSON (as IAM `GetRole`
//! and `CreateRole` `responseElements` return it). This module peels those layers off, enforces
//! the size and nesting caps, and hands the object to the policy model.
//!
//! It is not the policy model and knows nothing about statements. It treats all input as hostile:
//! documents over [`MAX_DOCUMENT_BYTES`] or nesting beyond [`MAX_NESTING`] are rejected before any
//! recursive parsing, so no input can exhaust the stack.

use std::borrow::Cow;

use serde_json::Value;

use crate::error::PolicyError;
use crate::policy::Policy;

/// Largest accepted document, in bytes (of text, or of string content for JSON values).
pub const MAX_DOCUMENT_BYTES: usize = 1024 * 1024;
/// Deepest accepted nesting of JSON objects and arrays.
pub const MAX_NESTING: usize = 64;
/// How many string/URL encoding layers are peeled off before giving up.
const MAX_ENCODING_LAYERS: usize = 4;

impl Policy {
    /// Parse policy text: a JSON object, a JSON string whose content is policy text
    /// (double-encoded), or URL-encoded JSON. In URL-encoded text `+` is kept as a literal plus;
    /// only when that fails to parse are `+` signs outside JSON strings read as spaces (the one
    /// place where they cannot be literal).
    pub fn parse(text: &str) -> Result<Policy, PolicyError> {
        let mut current: Cow<'_, str> = Cow::Borrowed(text);
        let mut url_decoded = false;
        let mut unwrapped_string = false;
        for _ in 0..=MAX_ENCODING_LAYERS {
            check_size(current.len())?;
            let trimmed = current.trim();
            let first = trimmed.chars().next().ok_or(PolicyError::Empty)?;
            let next = match first {
                '{' | '"' | '[' => {
                    let value = match parse_json(trimmed) {
                        Ok(v) => v,
                        Err(e) if url_decoded && trimmed.contains('+') => {
                            let spaced = plus_outside_strings_as_space(trimmed);
                            parse_json(&spaced).map_err(|_| e)?
                        }
                        Err(e) => return Err(e),
                    };
                    match value {
                        Value::Object(obj) => return Policy::from_object(&obj),
                        Value::String(s) => {
                            unwrapped_string = true;
                            s
                        }
                        other => {
                            return Err(PolicyError::NotAnObject {
                                found: json_kind(&other),
                            })
                        }
                    }
                }
                '+' => {
                    url_decoded = true;
                    plus_outside_strings_as_space(trimmed)
                }
                '%' => {
                    url_decoded = true;
                    percent_encoding::percent_decode_str(trimmed)
                        .decode_utf8()
                        .map_err(|_| PolicyError::UrlEncoding)?
                        .into_owned()
                }
                _ => {
                    return Err(match parse_json(trimmed) {
                        Ok(other) => PolicyError::NotAnObject {
                            found: json_kind(&other),
                        },
                        // plain text inside a JSON string: the document was a string
                        Err(_) if unwrapped_string => {
                            PolicyError::NotAnObject { found: "a string" }
                        }
                        Err(e) => e,
                    });
                }
            };
            current = Cow::Owned(next);
        }
        Err(PolicyError::TooManyEncodings {
            limit: MAX_ENCODING_LAYERS,
        })
    }

    /// Build a policy from an already-parsed JSON value: an object, or a string holding any of
    /// the text forms [`Policy::parse`] accepts. The value is checked against the same size and
    /// nesting caps (without recursion).
    pub fn from_value(v: &Value) -> Result<Policy, PolicyError> {
        match v {
            Value::Object(obj) => {
                check_value_limits(v)?;
                Policy::from_object(obj)
            }
            Value::String(s) => Policy::parse(s),
            other => Err(PolicyError::NotAnObject {
                found: json_kind(other),
            }),
        }
    }
}

fn check_size(len: usize) -> Result<(), PolicyError> {
    if len > MAX_DOCUMENT_BYTES {
        return Err(PolicyError::TooLarge {
            size: len,
            limit: MAX_DOCUMENT_BYTES,
        });
    }
    Ok(())
}

/// Parse JSON after checking its nesting with a non-recursive scan.
fn parse_json(text: &str) -> Result<Value, PolicyError> {
    check_text_nesting(text)?;
    serde_json::from_str(text).map_err(|e| PolicyError::Json(e.to_string()))
}

/// Reject text whose brackets (outside strings) nest deeper than [`MAX_NESTING`].
fn check_text_nesting(text: &str) -> Result<(), PolicyError> {
    let mut depth = 0usize;
    let mut in_string = false;
    let mut escaped = false;
    for b in text.bytes() {
        if in_string {
            match b {
                _ if escaped => escaped = false,
                b'\\' => escaped = true,
                b'"' => in_string = false,
                _ => {}
            }
            continue;
        }
        match b {
            b'"' => in_string = true,
            b'{' | b'[' => {
                depth += 1;
                if depth > MAX_NESTING {
                    return Err(PolicyError::TooDeep { limit: MAX_NESTING });
                }
            }
            b'}' | b']' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    Ok(())
}

/// Walk a value with an explicit stack, checking nesting depth and approximate encoded size.
fn check_value_limits(root: &Value) -> Result<(), PolicyError> {
    let mut stack: Vec<(&Value, usize)> = vec![(root, 1)];
    let mut size = 0usize;
    while let Some((v, depth)) = stack.pop() {
        if depth > MAX_NESTING {
            return Err(PolicyError::TooDeep { limit: MAX_NESTING });
        }
        size = size.saturating_add(match v {
            Value::String(s) => s.len() + 2,
            Value::Number(_) => 8,
            _ => 4,
        });
        check_size(size)?;
        match v {
            Value::Array(items) => stack.extend(items.iter().map(|i| (i, depth + 1))),
            Value::Object(map) => {
                for (k, item) in map {
                    size = size.saturating_add(k.len() + 3);
                    stack.push((item, depth + 1));
                }
            }
            _ => {}
        }
    }
    Ok(())
}

/// Replace `+` outside JSON string literals with a space (form-encoding of spaces between tokens).
fn plus_outside_strings_as_space(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut in_string = false;
    let mut escaped = false;
    for c in text.chars() {
        if in_string {
            match c {
                _ if escaped => escaped = false,
                '\\' => escaped = true,
                '"' => in_string = false,
                _ => {}
            }
            out.push(c);
            continue;
        }
        match c {
            '"' => {
                in_string = true;
                out.push(c);
            }
            '+' => out.push(' '),
            other => out.push(other),
        }
    }
    out
}

fn json_kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nesting_scan_ignores_brackets_in_strings() {
        let text = format!("{{\"a\":\"{}\"}}", "[".repeat(200));
        assert_eq!(check_text_nesting(&text), Ok(()));
        let deep = format!("{}{}", "[".repeat(65), "]".repeat(65));
        assert_eq!(
            check_text_nesting(&deep),
            Err(PolicyError::TooDeep { limit: MAX_NESTING })
        );
    }

    #[test]
    fn plus_inside_strings_is_kept() {
        assert_eq!(
            plus_outside_strings_as_space("{+\"a+b\":+\"c\\\"+\"}"),
            "{ \"a+b\": \"c\\\"+\"}"
        );
    }
}
