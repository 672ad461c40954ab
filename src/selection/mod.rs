//! What a run asks for, as data: the time window and the accounts and regions (`Window`),
//! the typed record filters of `query` (`filter`), the time flags (`time`), the change
//! events and "denied" error codes the analysis needs. `select` matches records against it;
//! the `athena://` and `lake://` sources push the same data down into SQL. Nothing here reads
//! a record.

pub mod record_filter;
pub mod time;

use chrono::{DateTime, Utc};

/// The window and scope compiled from flags.
#[derive(Debug, Clone, Default)]
pub struct Window {
    pub since: Option<DateTime<Utc>>,
    pub until: Option<DateTime<Utc>>,
    /// Empty means every account.
    pub accounts: Vec<String>,
    /// Empty means every region.
    pub regions: Vec<String>,
}

impl Window {
    pub fn contains_time(&self, t: DateTime<Utc>) -> bool {
        self.since.is_none_or(|s| t >= s) && self.until.is_none_or(|u| t <= u)
    }

    pub fn accepts_account(&self, account: Option<&str>) -> bool {
        self.accounts.is_empty() || account.is_some_and(|a| self.accounts.iter().any(|x| x == a))
    }

    pub fn accepts_region(&self, region: Option<&str>) -> bool {
        self.regions.is_empty() || region.is_some_and(|r| self.regions.iter().any(|x| x == r))
    }
}

/// The event source of CodeBuild's change events.
pub const CODEBUILD_SOURCE: &str = "codebuild.amazonaws.com";
/// The event sources of CodeConnections (and its former name, CodeStar Connections).
pub const CONNECTION_SOURCES: &[&str] = &[
    "codestar-connections.amazonaws.com",
    "codeconnections.amazonaws.com",
];

/// The events that change the policy or credential history, by the event sources allowed
/// to emit them. A name counts only from its own sources: the CodeBuild and CodeConnections
/// names are common in other services (SageMaker `CreateProject`, Glue `CreateConnection`, …),
/// and a record claiming `UpdateAssumeRolePolicy` from another source did not change a role.
pub const CHANGE_EVENTS: &[(&[&str], &[&str])] = &[
    (
        &["iam.amazonaws.com"],
        &[
            "CreateRole",
            "UpdateAssumeRolePolicy",
            "UpdateRole",
            "DeleteRole",
            "TagRole",
            "UntagRole",
            "PutRolePolicy",
            "DeleteRolePolicy",
            "AttachRolePolicy",
            "DetachRolePolicy",
            "CreatePolicy",
            "CreatePolicyVersion",
            "DeletePolicyVersion",
            "SetDefaultPolicyVersion",
            "DeletePolicy",
            "PutRolePermissionsBoundary",
            "DeleteRolePermissionsBoundary",
            "CreateOpenIDConnectProvider",
            "AddClientIDToOpenIDConnectProvider",
            "RemoveClientIDFromOpenIDConnectProvider",
            "UpdateOpenIDConnectProviderThumbprint",
            "DeleteOpenIDConnectProvider",
        ],
    ),
    (
        &["ecr.amazonaws.com"],
        &[
            "SetRepositoryPolicy",
            "DeleteRepositoryPolicy",
            "CreateRepository",
            "TagResource",
            "UntagResource",
        ],
    ),
    // CodeBuild: the GitHub credential, source and webhook of projects
    (
        &[CODEBUILD_SOURCE],
        &[
            "ImportSourceCredentials",
            "DeleteSourceCredentials",
            "CreateProject",
            "UpdateProject",
            "DeleteProject",
            "CreateWebhook",
            "UpdateWebhook",
            "DeleteWebhook",
        ],
    ),
    (
        CONNECTION_SOURCES,
        &[
            "CreateConnection",
            "DeleteConnection",
            "UpdateConnectionInstallation",
            "CreateHost",
        ],
    ),
];

/// Whether `name` from `source` is one of [`CHANGE_EVENTS`].
pub fn is_change_event(name: &str, source: &str) -> bool {
    CHANGE_EVENTS
        .iter()
        .any(|(sources, names)| sources.contains(&source) && names.contains(&name))
}

/// Error codes that mean "denied" rather than "broken request": these, and any code ending
/// in one of [`DENIED_SUFFIXES`] (the SQL of `athena://` and `lake://` says the same).
pub const DENIED_CODES: &[&str] = &[
    "AccessDenied",
    "AccessDeniedException",
    "Client.UnauthorizedOperation",
    "UnauthorizedOperation",
];
/// See [`DENIED_CODES`].
pub const DENIED_SUFFIXES: &[&str] = &["AccessDenied", "AccessDeniedException"];

/// Whether `code` means "denied" ([`DENIED_CODES`], [`DENIED_SUFFIXES`]).
pub fn is_access_denied(code: &str) -> bool {
    DENIED_CODES.contains(&code) || DENIED_SUFFIXES.iter().any(|s| code.ends_with(s))
}
