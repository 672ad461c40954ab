//! Web-identity principals as CloudTrail writes them.
//!
//! `userIdentity.principalId` of a web-identity call is `<identityProvider>:<aud>:<sub>`. The
//! provider ARN, the audience (often a URL) and the subject all contain colons, so the
//! string is never split on `:`: the known provider prefix and the known subject suffix
//! are stripped, and what remains is the audience.

/// The claims recovered from a web-identity record.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct WebIdentityPrincipal {
    pub provider: String,
    pub audience: Option<String>,
    pub subject: String,
}

/// Recovers provider, audience and subject from `principalId`, `identityProvider` and
/// `userName` (the subject). Any of the three may be missing or malformed in a hostile or
/// partial record; whatever can be recovered is returned.
pub fn parse_web_identity_principal(
    principal_id: Option<&str>,
    identity_provider: Option<&str>,
    user_name: Option<&str>,
) -> Option<WebIdentityPrincipal> {
    let provider = identity_provider.filter(|p| !p.is_empty());
    let subject = user_name.filter(|s| !s.is_empty());
    match (principal_id, provider, subject) {
        (Some(pid), Some(provider), Some(subject)) => {
            let audience = pid
                .strip_prefix(provider)
                .and_then(|rest| rest.strip_prefix(':'))
                .and_then(|rest| rest.strip_suffix(subject))
                .and_then(|rest| rest.strip_suffix(':'))
                .filter(|aud| !aud.is_empty())
                .map(str::to_owned);
            Some(WebIdentityPrincipal {
                provider: provider.to_owned(),
                audience,
                subject: subject.to_owned(),
            })
        }
        (Some(pid), Some(provider), None) => {
            // No userName: the audience cannot be told apart from the subject reliably
            // unless the audience is the usual one.
            let rest = pid.strip_prefix(provider)?.strip_prefix(':')?;
            let (audience, subject) = split_known_audience(rest)?;
            Some(WebIdentityPrincipal {
                provider: provider.to_owned(),
                audience: Some(audience),
                subject,
            })
        }
        (_, Some(provider), Some(subject)) => Some(WebIdentityPrincipal {
            provider: provider.to_owned(),
            audience: None,
            subject: subject.to_owned(),
        }),
        _ => None,
    }
}

/// Splits `<aud>:<sub>` when the subject starts with a recognisable GitHub form.
fn split_known_audience(rest: &str) -> Option<(String, String)> {
    let idx = rest.find(":repo:")?;
    Some((rest[..idx].to_owned(), rest[idx + 1..].to_owned()))
}

/// The issuer host (and path) of an OIDC provider ARN or bare provider name, which is also
/// the prefix of its condition keys: `arn:aws:iam::1:oidc-provider/token.actions.githubusercontent.com`
/// → `token.actions.githubusercontent.com`.
pub fn provider_issuer(provider: &str) -> &str {
    let issuer = match provider.split_once(":oidc-provider/") {
        Some((_, issuer)) => issuer,
        None => provider,
    };
    issuer.strip_prefix("https://").unwrap_or(issuer)
}

#[cfg(test)]
mod tests {
    use super::*;

    const GH: &str = "arn:aws:iam::111122223333:oidc-provider/token.actions.githubusercontent.com";

    #[test]
    fn url_audience_with_colons_is_recovered() {
        let sub = "repo:acme/docs:ref:refs/heads/main";
        let pid = format!("{GH}:https://github.com/acme:{sub}");
        let p = parse_web_identity_principal(Some(&pid), Some(GH), Some(sub)).unwrap();
        assert_eq!(p.audience.as_deref(), Some("https://github.com/acme"));
        assert_eq!(p.subject, sub);
        assert_eq!(p.provider, GH);
    }

    #[test]
    fn legacy_bare_provider() {
        let p = parse_web_identity_principal(
            Some("accounts.google.com:app.apps.googleusercontent.com:12345"),
            Some("accounts.google.com"),
            Some("12345"),
        )
        .unwrap();
        assert_eq!(
            p.audience.as_deref(),
            Some("app.apps.googleusercontent.com")
        );
    }

    #[test]
    fn mismatched_principal_id_keeps_subject() {
        let p =
            parse_web_identity_principal(Some("garbage"), Some(GH), Some("repo:a/b:pull_request"))
                .unwrap();
        assert_eq!(p.audience, None);
        assert_eq!(p.subject, "repo:a/b:pull_request");
    }

    #[test]
    fn missing_user_name_with_github_subject() {
        let pid = format!("{GH}:sts.amazonaws.com:repo:a/b:ref:refs/heads/main");
        let p = parse_web_identity_principal(Some(&pid), Some(GH), None).unwrap();
        assert_eq!(p.audience.as_deref(), Some("sts.amazonaws.com"));
        assert_eq!(p.subject, "repo:a/b:ref:refs/heads/main");
    }

    #[test]
    fn issuer_of_provider() {
        assert_eq!(provider_issuer(GH), "token.actions.githubusercontent.com");
        assert_eq!(
            provider_issuer("accounts.google.com"),
            "accounts.google.com"
        );
        assert_eq!(
            provider_issuer("arn:aws:iam::1:oidc-provider/oidc.eks.us-east-1.amazonaws.com/id/ABC"),
            "oidc.eks.us-east-1.amazonaws.com/id/ABC"
        );
    }
}
