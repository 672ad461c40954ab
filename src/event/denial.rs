//! The AWS denial-message grammar:
//! `User: <arn> is not authorized to perform: <svc:Action> [on resource: <arn>] because no <type> policy allows the <svc:Action> action`
//! or `... with an explicit deny in a <type> policy`.
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

    fn from_phrase(s: &str) -> Option<PolicyLayer> {
        let s = s.trim().to_ascii_lowercase();
        Some(match s.as_str() {
            "identity-based" => PolicyLayer::IdentityBased,
            "resource-based" => PolicyLayer::ResourceBased,
            "permissions boundary" => PolicyLayer::PermissionsBoundary,
            "session" => PolicyLayer::Session,
            "service control" => PolicyLayer::ServiceControl,
            "resource control" => PolicyLayer::ResourceControl,
            "vpc endpoint" => PolicyLayer::VpcEndpoint,
            _ => return None,
        })
    }
}

/// Whether the message says an allow was missing or a deny matched.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DenialKind {
    NoAllow,
    ExplicitDeny,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Denial {
    pub principal: Option<String>,
    pub action: Option<String>,
    pub resource: Option<String>,
    pub kind: Option<DenialKind>,
    pub layer: Option<PolicyLayer>,
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
        let end = rest
            .find(" because ")
            .or_else(|| rest.find(" with an explicit"))
            .unwrap_or(rest.len());
        // S3 quotes the resource: `on resource: "arn:aws:s3:::bucket/key"`
        rest[..end]
            .trim()
            .trim_end_matches('.')
            .trim_matches('"')
            .to_owned()
    });
    let (kind, layer) = if let Some(i) = message.find("because no ") {
        let rest = &message[i + 11..];
        let layer = rest
            .find(" policy")
            .and_then(|end| PolicyLayer::from_phrase(&rest[..end]));
        (Some(DenialKind::NoAllow), layer)
    } else if let Some(i) = message.find("with an explicit deny in a") {
        let rest = message[i + 26..].trim_start_matches('n').trim_start();
        let layer = rest
            .find(" policy")
            .and_then(|end| PolicyLayer::from_phrase(&rest[..end]));
        (Some(DenialKind::ExplicitDeny), layer)
    } else {
        (None, None)
    };
    Denial {
        principal,
        action: action.filter(|a| !a.is_empty()),
        resource,
        kind,
        layer,
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
        assert_eq!(
            d,
            Denial {
                principal: None,
                action: None,
                resource: None,
                kind: None,
                layer: None
            }
        );
    }
}
