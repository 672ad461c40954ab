//! A pure IAM policy engine for trailwhy: it parses IAM policy documents in every form they take
//! in CloudTrail and IAM responses (JSON objects, double-encoded JSON strings, URL-encoded JSON),
//! evaluates a request against one policy with per-statement, per-condition evidence
//! ([`evaluate`]), and combines identity, resource, boundary, session and organization layers
//! the way AWS does ([`authorize`]).
//!
//! What it is not: it performs no IO (no files, no environment, no printing, no network), knows
//! nothing about CloudTrail records or the CLI, and never panics on hostile input (documents are
//! capped at 1 MiB and 64 levels of nesting). Evaluation never fails: problems met on the way
//! (an unknown operator, a value that is not a date) are part of the evidence.
//!
//! # Choices where AWS is ambiguous or not modelled
//!
//! - A condition key with several request values but no `ForAnyValue:`/`ForAllValues:` behaves
//!   like `ForAnyValue:` for positive operators; negated operators are then true only when no
//!   request value matches any policy value. An empty set counts as absent for `Null`.
//! - A value that cannot be read for its operator (`abc` under `NumericLessThan`) makes that
//!   comparison fail for positive and negated operators alike, and is reported as a `problem`.
//!   An unknown operator (names are case-sensitive) is false with problem `unknown operator`.
//! - Policy variables (2012-10-17 only) substitute literal text: a `*` in a user name is not a
//!   wildcard. A missing or multi-valued variable makes that policy value unable to match (a
//!   `${key, 'default'}` default is honoured).
//! - A request without a resource is matched as `*`. Principal entries only match principals of
//!   the same kind; `{"AWS": "*"}` is treated like `"*"`; `NotPrincipal` is a plain inversion.
//! - `ArnLike`/`ArnEquals`: a pattern or value without six colon-separated parts never matches.
//! - Numbers compare as exact decimals (no exponents); dates accept RFC 3339, naive ISO 8601
//!   (UTC), plain dates and epoch seconds.
//! - [`authorize`] (its documentation gives the order of reasoning): a caller account comes from the principal ARN
//!   (else `aws:PrincipalAccount`), a resource account from the ARN (else `aws:ResourceAccount`);
//!   unknown accounts count as the same account. With no allow anywhere, `denied_by` is
//!   `Identity` for AWS principals and `Resource` for federated, service or anonymous callers.
//!
//! # Deviations from the agreed API shape
//!
//! [`LayerResult`] has an extra `org_level` field; helpers were added ([`decide`],
//! [`Request::new`], [`RequestPrincipal::aws`], [`Context::iter`], [`StatementError`],
//! `Serialize` for [`Policy`], ...). The `PolicyVersion` variants keep the names `V2012_10_17` /
//! `V2008_10_17` (underscores between digits pass Rust's naming lint).

mod authorization;
mod cidr;
mod condition;
mod decimal;
mod document;
mod error;
mod evaluation;
mod operator;
mod policy;
mod principal;
mod request;
mod timestamp;
mod variable;
mod wildcard;

pub use authorization::{
    authorize, Authorization, AuthzInput, Decision, Layer, LayerResult, MatchedStatement,
};
pub use condition::{operator_matches, BaseOperator, ConditionOperator, SetQualifier};
pub use document::{MAX_DOCUMENT_BYTES, MAX_NESTING};
pub use error::{PolicyError, StatementError};
pub use evaluation::{
    decide, evaluate, ConditionResult, ElementMatch, PolicyDecision, PolicyResult, StatementResult,
};
pub use policy::{
    ActionSpec, Condition, Effect, Policy, PolicyVersion, PrincipalKind, PrincipalSet,
    PrincipalSpec, ResourceSpec, Statement,
};
pub use request::{covers, Assume, Context, ContextValue, Request, RequestPrincipal};
pub use variable::variable_keys;
pub use wildcard::{action_matches, arn_matches, wildcard_match};
