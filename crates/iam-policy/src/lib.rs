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
//! Semantics chosen where AWS is ambiguous are documented on the modules that implement them:
//! condition combination in `condition`, principal matching in `principal`, policy variables in
//! `variable`, layer combination in [`authorize`]. Deviations from the agreed API shape:
//! [`LayerResult`] has an extra `org_level` field, and a few helpers were added
//! ([`decide`], [`Request::new`], [`Context::iter`], ...). The `PolicyVersion` variants keep the
//! names `V2012_10_17` / `V2008_10_17` (underscores between digits are allowed by Rust's naming
//! lint).

mod authorization;
mod cidr;
mod condition;
mod decimal;
mod document;
mod error;
mod evaluation;
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
    decide, evaluate, ConditionResult, ElementMatch, PolicyDecision, PolicyResult,
    StatementResult,
};
pub use policy::{
    ActionSpec, Condition, Effect, Policy, PolicyVersion, PrincipalKind, PrincipalSet,
    PrincipalSpec, ResourceSpec, Statement,
};
pub use request::{Context, ContextValue, Request, RequestPrincipal};
pub use wildcard::{action_matches, arn_matches, wildcard_match};
