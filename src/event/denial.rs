//! The AWS denial-message grammar:
//! `User: <arn> is not authorized to perform: <svc:Action> [on resource: <arn>] because no <type> policy allows the <svc:Action> action`
//! or `... with an explicit deny in a <type> policy`.
//!
//! Also the parts IAM Access Troubleshooter adds (the policy named for an explicit deny, the
//! console link and the authorization ID) and EC2's encoded authorization message.
//!
//! The parsed message is evidence, not a verdict: `explain` still evaluates the policies.

/// Which policy layer AWS named in the denial message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PolicyLayer {
    IdentityBased,
    ResourceBased,
    PermissionsBoundary,
    Session,
    ServiceControl,
    ResourceControl,
    VpcEndpoint,
}

impl PolicyLayer {
    pub fn phrase(self) -> &'static str {
        match self {
            PolicyLayer::IdentityBased => "identity-based",
            PolicyLayer::ResourceBased => "resource-based",
            PolicyLayer::PermissionsBoundary => "permissions boundary",
            PolicyLayer::Session => "session",
            PolicyLayer::ServiceControl => "service control",
            PolicyLayer::ResourceControl => "resource control",
            PolicyLayer::VpcEndpoint => "VPC endpoint",
        }
    }
}

/// Whether the message says an allow was missing or a deny matched.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DenialKind {
    NoAllow,
    ExplicitDeny,
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Denial {
    pub principal: Option<String>,
    pub action: Option<String>,
    pub resource: Option<String>,
    pub kind: Option<DenialKind>,
    pub layer: Option<PolicyLayer>,
    /// The policy AWS named for an explicit deny (`… identity-based policy: arn:…`).
    pub policy_arn: Option<String>,
    /// IAM Access Troubleshooter's authorization ID (`… authorization id: ID`).
    pub authorization_id: Option<String>,
    /// EC2's `Encoded authorization failure message: …` (decoded only with
    /// `sts:DecodeAuthorizationMessage`).
    pub encoded_message: Option<String>,
}

/// The layer names AWS writes after `because no` / `with an explicit deny in a|an|the`, longest
/// first (`permissions boundary` appears with and without `policy`).
const LAYER_PHRASES: &[(&str, PolicyLayer)] = &[
    (
        "permissions boundary policy",
        PolicyLayer::PermissionsBoundary,
    ),
    ("permissions boundary", PolicyLayer::PermissionsBoundary),
    ("identity-based policy", PolicyLayer::IdentityBased),
    ("resource-based policy", PolicyLayer::ResourceBased),
    ("service control policy", PolicyLayer::ServiceControl),
    ("resource control policy", PolicyLayer::ResourceControl),
    ("vpc endpoint policy", PolicyLayer::VpcEndpoint),
    ("session policy", PolicyLayer::Session),
];

/// The layer named at the start of `rest`, and the text after its name.
fn layer_at(rest: &str) -> Option<(PolicyLayer, &str)> {
    LAYER_PHRASES.iter().find_map(|(phrase, layer)| {
        let head = rest.get(..phrase.len())?;
        head.eq_ignore_ascii_case(phrase)
            .then(|| (*layer, &rest[phrase.len()..]))
    })
}

/// The first whitespace-delimited token of `s`, without a sentence's closing period.
fn token(s: &str) -> Option<String> {
    let t = s
        .split_whitespace()
        .next()?
        .trim_end_matches(['.', ',', ';']);
    (!t.is_empty()).then(|| t.to_owned())
}

/// Parses the parts of a denial message that are present; unknown text yields `None`s.
pub fn parse_denial(message: &str) -> Denial {
    let principal = message
        .find("User: ")
        .map(|i| &message[i + 6..])
        .and_then(|rest| rest.split_once(" is not authorized"))
        .map(|(p, _)| p.trim().to_owned());
    let after_perform = message.find("to perform: ").map(|i| &message[i + 12..]);
    let action = after_perform.map(|rest| {
        rest.split(|c: char| c.is_whitespace() || c == ',')
            .next()
            .unwrap_or_default()
            .trim_end_matches('.')
            .to_owned()
    });
    let resource = message.find(" on resource: ").map(|i| {
        let rest = &message[i + 14..];
        let end = [rest.find(" because "), rest.find(" with an explicit")]
            .into_iter()
            .flatten()
            .min()
            .unwrap_or(rest.len());
        // S3 quotes the resource: `on resource: "arn:aws:s3:::bucket/key"`
        rest[..end]
            .trim()
            .trim_end_matches('.')
            .trim_matches('"')
            .to_owned()
    });
    let mut policy_arn = None;
    // the clause that comes first is the message's own; text after it may quote anything
    let implicit = message.find("because no ");
    let explicit = message.find("with an explicit deny");
    let (kind, layer) = if let Some(i) = implicit.filter(|i| explicit.is_none_or(|e| *i < e)) {
        let layer = layer_at(&message[i + 11..]).map(|(l, _)| l);
        (Some(DenialKind::NoAllow), layer)
    } else if let Some(i) = explicit {
        let rest = message[i + 21..].trim_start();
        let rest = rest
            .strip_prefix("in ")
            .map(|r| {
                let r = r.trim_start();
                r.strip_prefix("an ")
                    .or_else(|| r.strip_prefix("a "))
                    .or_else(|| r.strip_prefix("the "))
                    .unwrap_or(r)
            })
            .unwrap_or(rest);
        let layer = layer_at(rest).map(|(l, after)| {
            policy_arn = after
                .strip_prefix(':')
                .and_then(token)
                .filter(|a| a.starts_with("arn:"));
            l
        });
        (Some(DenialKind::ExplicitDeny), layer)
    } else {
        (None, None)
    };
    let lower = message.to_ascii_lowercase();
    let authorization_id = lower
        .find("authorization id: ")
        .and_then(|i| token(&message[i + 18..]));
    let encoded_message = message
        .find("Encoded authorization failure message: ")
        .and_then(|i| token(&message[i + 39..]));
    Denial {
        principal,
        action: action.filter(|a| !a.is_empty()),
        resource,
        kind,
        layer,
        policy_arn,
        authorization_id,
        encoded_message,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_identity_allow_with_resource() {
        let d = parse_denial("User: arn:aws:sts::754256621582:assumed-role/r/GitHubActions is not authorized to perform: ecr:InitiateLayerUpload on resource: arn:aws:ecr:eu-west-2:754256621582:repository/laa-pcuam/csv-converter because no identity-based policy allows the ecr:InitiateLayerUpload action");
        assert_eq!(
            d.principal.as_deref(),
            Some("arn:aws:sts::754256621582:assumed-role/r/GitHubActions")
        );
        assert_eq!(d.action.as_deref(), Some("ecr:InitiateLayerUpload"));
        assert_eq!(
            d.resource.as_deref(),
            Some("arn:aws:ecr:eu-west-2:754256621582:repository/laa-pcuam/csv-converter")
        );
        assert_eq!(d.kind, Some(DenialKind::NoAllow));
        assert_eq!(d.layer, Some(PolicyLayer::IdentityBased));
    }

    #[test]
    fn explicit_deny_in_scp() {
        let d = parse_denial("User: arn:aws:sts::1:assumed-role/r/s is not authorized to perform: ecr:PutImage on resource: arn:aws:ecr:eu-west-1:1:repository/web with an explicit deny in a service control policy");
        assert_eq!(d.kind, Some(DenialKind::ExplicitDeny));
        assert_eq!(d.layer, Some(PolicyLayer::ServiceControl));
        assert_eq!(
            d.resource.as_deref(),
            Some("arn:aws:ecr:eu-west-1:1:repository/web")
        );
    }

    #[test]
    fn ec2_prefix_and_encoded_message() {
        let d = parse_denial("You are not authorized to perform this operation. User: arn:aws:sts::7:assumed-role/r/s is not authorized to perform: ec2:RunInstances on resource: arn:aws:ec2:ca-south-3r:7:instance/* because no identity-based policy allows the ec2:RunInstances action. Encoded authorization failure message: T-k");
        assert_eq!(d.action.as_deref(), Some("ec2:RunInstances"));
        assert_eq!(
            d.resource.as_deref(),
            Some("arn:aws:ec2:ca-south-3r:7:instance/*")
        );
        assert_eq!(d.layer, Some(PolicyLayer::IdentityBased));
    }

    #[test]
    fn vpc_endpoint_and_no_resource() {
        let d = parse_denial("User: x is not authorized to perform: ecr:GetAuthorizationToken because no VPC endpoint policy allows the ecr:GetAuthorizationToken action");
        assert_eq!(d.resource, None);
        assert_eq!(d.layer, Some(PolicyLayer::VpcEndpoint));
    }

    #[test]
    fn unrelated_text() {
        let d = parse_denial("An unknown error occurred");
        assert_eq!(d, Denial::default());
    }

    /// Every form AWS writes: implicit and explicit, every layer name, a policy ARN, the
    /// console link and authorization ID, the encoded message.
    #[test]
    fn every_form_parses_exactly() {
        let user = "User: arn:aws:sts::111122223333:assumed-role/gha-web/GitHubActions is not authorized to perform: ecr:PutImage on resource: arn:aws:ecr:us-east-1:111122223333:repository/web";
        let link = " Go to https://us-east-1.console.aws.amazon.com/iam/home?region=us-east-1#/authorization-details/abc123def456 for complete details, or call the GetRequestAuthorizationDetails API with the following authorization id: abc123def456";
        use DenialKind::{ExplicitDeny as E, NoAllow as N};
        use PolicyLayer as L;
        /// message, kind, layer, policy ARN, authorization ID
        type Case<'a> = (
            String,
            DenialKind,
            PolicyLayer,
            Option<&'a str>,
            Option<&'a str>,
        );
        let cases: Vec<Case<'_>> = vec![
            (format!("{user} because no identity-based policy allows the ecr:PutImage action"), N, L::IdentityBased, None, None),
            (format!("{user} because no resource-based policy allows the ecr:PutImage action"), N, L::ResourceBased, None, None),
            (format!("{user} because no permissions boundary allows the ecr:PutImage action"), N, L::PermissionsBoundary, None, None),
            (format!("{user} because no session policy allows the ecr:PutImage action"), N, L::Session, None, None),
            (format!("{user} because no service control policy allows the ecr:PutImage action"), N, L::ServiceControl, None, None),
            (format!("{user} because no resource control policy allows the ecr:PutImage action"), N, L::ResourceControl, None, None),
            (format!("{user} because no VPC endpoint policy allows the ecr:PutImage action"), N, L::VpcEndpoint, None, None),
            (format!("{user} with an explicit deny in an identity-based policy"), E, L::IdentityBased, None, None),
            (format!("{user} with an explicit deny in a resource-based policy"), E, L::ResourceBased, None, None),
            (format!("{user} with an explicit deny in a permissions boundary"), E, L::PermissionsBoundary, None, None),
            (format!("{user} with an explicit deny in a session policy"), E, L::Session, None, None),
            (format!("{user} with an explicit deny in a service control policy"), E, L::ServiceControl, None, None),
            (format!("{user} with an explicit deny in a resource control policy"), E, L::ResourceControl, None, None),
            (format!("{user} with an explicit deny in a VPC endpoint policy"), E, L::VpcEndpoint, None, None),
            (format!("{user} with an explicit deny in an identity-based policy: arn:aws:iam::111122223333:policy/DenyProdPush.{link}"), E, L::IdentityBased, Some("arn:aws:iam::111122223333:policy/DenyProdPush"), Some("abc123def456")),
            (format!("{user} with an explicit deny in a service control policy: arn:aws:organizations::999999999999:policy/o-abc/service_control_policy/p-123{link}"), E, L::ServiceControl, Some("arn:aws:organizations::999999999999:policy/o-abc/service_control_policy/p-123"), Some("abc123def456")),
            (format!("{user} because no identity-based policy allows the ecr:PutImage action.{link}"), N, L::IdentityBased, None, Some("abc123def456")),
        ];
        for (message, kind, layer, policy, id) in cases {
            let d = parse_denial(&message);
            assert_eq!(d.kind, Some(kind), "{message}");
            assert_eq!(d.layer, Some(layer), "{message}");
            assert_eq!(d.policy_arn.as_deref(), policy, "{message}");
            assert_eq!(d.authorization_id.as_deref(), id, "{message}");
            assert_eq!(d.action.as_deref(), Some("ecr:PutImage"), "{message}");
            assert_eq!(
                d.resource.as_deref(),
                Some("arn:aws:ecr:us-east-1:111122223333:repository/web"),
                "{message}"
            );
            assert_eq!(
                d.principal.as_deref(),
                Some("arn:aws:sts::111122223333:assumed-role/gha-web/GitHubActions")
            );
        }
        let ec2 = parse_denial("You are not authorized to perform this operation. User: arn:aws:sts::7:assumed-role/r/s is not authorized to perform: ec2:RunInstances on resource: arn:aws:ec2:us-east-1:7:instance/* because no identity-based policy allows the ec2:RunInstances action. Encoded authorization failure message: AbC-123_x");
        assert_eq!(ec2.encoded_message.as_deref(), Some("AbC-123_x"));
    }

    use proptest::strategy::Strategy;

    proptest::proptest! {
        /// Text after a whole message never changes what was parsed of it.
        #[test]
        fn trailing_text_changes_nothing(
            tail in proptest::prop_oneof![
                "\\PC{0,80}",
                "\\PC{0,20}".prop_map(|t| format!(". {t} because no session policy allows it")),
                "\\PC{0,20}".prop_map(|t| format!(" {t} with an explicit deny in a permissions boundary")),
                "\\PC{0,20}".prop_map(|t| format!(" on resource: {t} User: x is not authorized to perform: y")),
            ],
            explicit in proptest::bool::ANY,
        ) {
            let base = if explicit {
                "User: arn:aws:sts::1:assumed-role/r/s is not authorized to perform: ecr:PutImage on resource: arn:aws:ecr:eu-west-1:1:repository/a/b with an explicit deny in a service control policy"
            } else {
                "User: arn:aws:sts::1:assumed-role/r/s is not authorized to perform: ecr:PutImage on resource: arn:aws:ecr:eu-west-1:1:repository/a/b because no identity-based policy allows the ecr:PutImage action"
            };
            let alone = parse_denial(base);
            let with_tail = parse_denial(&format!("{base}{tail}"));
            proptest::prop_assert_eq!(&alone.action, &with_tail.action);
            proptest::prop_assert_eq!(&alone.resource, &with_tail.resource);
            proptest::prop_assert_eq!(alone.kind, with_tail.kind);
            proptest::prop_assert_eq!(alone.layer, with_tail.layer);
            proptest::prop_assert_eq!(&alone.principal, &with_tail.principal);
        }
    }
}
