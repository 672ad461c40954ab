//! Secrets that appear in logs never leave the program: `sessionToken`, secret keys, ECR
//! authorization tokens and similar fields are replaced before anything is kept or printed.
//!
//! The rule is on the key *and* the value: a secret-named key's string, array or object is
//! replaced; its `null`, `true`/`false` or number is kept, since a flag such as
//! `forceOverwriteReplicaSecret: false` or a count such as `tokenCount: 3` holds no secret.
//! Every redacting path (`redact_value` here, and `query`'s three readers) asks
//! [`keeps_value`] or its byte form [`keeps_json_value`].

use serde_json::Value;

pub const REDACTED: &str = "<redacted>";

/// Field names (compared case-insensitively) whose values are secrets.
const SECRET_FIELDS: &[&str] = &[
    "sessiontoken",
    "secretaccesskey",
    "secretkey",
    "webidentitytoken",
    "authorizationtoken",
    "accesstoken",
    "refreshtoken",
    "idtoken",
    "clientsecret",
    "password",
    "privatekey",
    "samlassertion",
    "token",
];

pub fn is_secret_field(name: &str) -> bool {
    is_secret_key(name.as_bytes())
}

/// [`is_secret_field`] on a key's bytes, without allocating (it runs on every key `query`
/// reads).
pub fn is_secret_key(name: &[u8]) -> bool {
    // every secret name ends with one of these pairs of letters (…token, …key, …secret,
    // …password, …assertion): most keys are out after one test
    let [.., a, b] = name else {
        return false;
    };
    if !matches!(
        (a.to_ascii_lowercase(), b.to_ascii_lowercase()),
        (b'e', b'n' | b'y' | b't') | (b'r', b'd') | (b'o', b'n')
    ) {
        return false;
    }
    let ends_with = |suffix: &[u8]| {
        name.len() >= suffix.len() && name[name.len() - suffix.len()..].eq_ignore_ascii_case(suffix)
    };
    SECRET_FIELDS
        .iter()
        .any(|f| name.eq_ignore_ascii_case(f.as_bytes()))
        || ends_with(b"password")
        || ends_with(b"secret")
}

/// Whether a secret-named key's value stays as it is: `null`, a boolean or a number.
pub fn keeps_value(v: &Value) -> bool {
    matches!(v, Value::Null | Value::Bool(_) | Value::Number(_))
}

/// [`keeps_value`] on the JSON text of a value (starting at its first byte): `null`, `true`,
/// `false` or a number.
pub fn keeps_json_value(text: &[u8]) -> bool {
    matches!(text.first(), Some(b'n' | b't' | b'f' | b'-' | b'0'..=b'9'))
}

/// Replaces secret values anywhere in `v`.
pub fn redact_value(v: &mut Value) {
    match v {
        Value::Object(map) => {
            for (k, val) in map.iter_mut() {
                if is_secret_field(k) && !keeps_value(val) {
                    *val = Value::String(REDACTED.to_owned());
                } else {
                    redact_value(val);
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(redact_value),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn secret_names_end_with_the_letters_tested_first() {
        for name in SECRET_FIELDS.iter().chain(&["password", "secret"]) {
            assert!(is_secret_field(name), "{name}");
            assert!(is_secret_field(&name.to_ascii_uppercase()), "{name}");
        }
        for name in ["sessionTokenX", "tokens", "eventName", "passwords", "", "n"] {
            assert!(!is_secret_field(name), "{name}");
        }
        assert!(is_secret_field("dbPassword") && is_secret_field("ClientSecret"));
    }

    #[test]
    fn nested_secrets_are_replaced() {
        let mut v = json!({"credentials":{"accessKeyId":"ASIAX","sessionToken":"IQoJb3JpZ2luX2VjSECRET"},
                           "authorizationData":[{"authorizationToken":"QVdTOnNlY3JldA=="}],"SessionToken":"x","n":null});
        redact_value(&mut v);
        assert_eq!(v["credentials"]["sessionToken"], REDACTED);
        assert_eq!(v["credentials"]["accessKeyId"], "ASIAX");
        assert_eq!(v["authorizationData"][0]["authorizationToken"], REDACTED);
        assert_eq!(v["SessionToken"], REDACTED);
        assert!(!v.to_string().contains("SECRET"));
    }

    #[test]
    fn flags_and_numbers_under_secret_names_are_kept() {
        let mut v = json!({"forceOverwriteReplicaSecret":false,"tokenCount":3,"token":7,
                           "clientSecret":{"value":"s3cr3t"},"password":["a"],"secretKey":"k"});
        redact_value(&mut v);
        assert_eq!(
            v,
            json!({"forceOverwriteReplicaSecret":false,"tokenCount":3,"token":7,
                   "clientSecret":REDACTED,"password":REDACTED,"secretKey":REDACTED})
        );
        for (text, kept) in [
            ("null", true),
            ("true", true),
            ("false", true),
            ("-1", true),
            ("0.5", true),
            ("\"x\"", false),
            ("{}", false),
            ("[]", false),
        ] {
            assert_eq!(keeps_json_value(text.as_bytes()), kept, "{text}");
        }
    }
}
