//! Typed errors for policy parsing. Every error that concerns one statement names its index.
//!
//! Evaluation never fails and has no error type here: problems met while evaluating (an unknown
//! operator, a value that is not a date) are evidence in the result, not errors.

/// Why a policy document could not be parsed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PolicyError {
    #[error("policy text is empty")]
    Empty,
    #[error("policy document is {size} bytes, over the limit of {limit} bytes")]
    TooLarge { size: usize, limit: usize },
    #[error("policy document nests deeper than {limit} levels")]
    TooDeep { limit: usize },
    #[error("policy is not valid json: {0}")]
    Json(String),
    #[error("policy url-encoding does not decode to utf-8 text")]
    UrlEncoding,
    #[error("policy is wrapped in more than {limit} layers of string encoding")]
    TooManyEncodings { limit: usize },
    #[error("policy must be a json object, found {found}")]
    NotAnObject { found: &'static str },
    #[error("unsupported policy Version {0}")]
    UnsupportedVersion(String),
    #[error("the Id element must be a string")]
    InvalidId,
    #[error("policy has no Statement element")]
    MissingStatement,
    #[error("the Statement element must be an object or an array of objects")]
    InvalidStatementList,
    #[error("statement {index}: {kind}")]
    Statement { index: usize, kind: StatementError },
}

/// What is wrong with one statement.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StatementError {
    #[error("statement must be a json object")]
    NotAnObject,
    #[error("Effect is missing")]
    MissingEffect,
    #[error("Effect must be \"Allow\" or \"Deny\", found {0}")]
    InvalidEffect(String),
    #[error("Sid must be a string")]
    InvalidSid,
    #[error("both {first} and {second} are present")]
    Conflict {
        first: &'static str,
        second: &'static str,
    },
    #[error("neither Action nor NotAction is present")]
    MissingAction,
    #[error("{element} must be a string or an array of strings")]
    NotStrings { element: &'static str },
    #[error("{element} must be \"*\" or an object mapping principal types to values")]
    InvalidPrincipal { element: &'static str },
    #[error("unknown principal type {name:?} in {element}")]
    UnknownPrincipalType { element: &'static str, name: String },
    #[error("Condition must be an object mapping operators to keys")]
    InvalidCondition,
    #[error("condition operator {operator:?} must map to an object of keys")]
    InvalidConditionBlock { operator: String },
    #[error(
        "condition {operator:?} key {key:?} must be a string, boolean or number or an array of them"
    )]
    InvalidConditionValue { operator: String, key: String },
}
