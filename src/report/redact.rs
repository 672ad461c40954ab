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
    let lower = name.to_ascii_lowercase();
    SECRET_FIELDS.contains(&lower.as_str())
        || lower.ends_with("password")
        || lower.ends_with("secret")
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
