//! Secrets that appear in logs never leave the program: `sessionToken`, secret keys, ECR
//! authorization tokens and similar fields are replaced before anything is kept or printed.

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

/// Replaces secret values anywhere in `v`.
pub fn redact_value(v: &mut Value) {
    match v {
        Value::Object(map) => {
            for (k, val) in map.iter_mut() {
                if is_secret_field(k) && !val.is_null() {
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
}
