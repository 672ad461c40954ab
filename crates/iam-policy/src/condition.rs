//! Condition operators and their evaluation: parsing operator names (`ForAnyValue:StringLikeIfExists`),
//! comparing one policy value with one request value under an operator, and combining those
//! comparisons over a key's values with IAM's rules for negation, missing keys, `...IfExists`,
//! `Null` and the `ForAnyValue:` / `ForAllValues:` set qualifiers.
//!
//! It does not combine conditions into a statement decision (`evaluation` does) and does not own
//! the evidence types. The per-comparison path allocates nothing unless a policy variable must be
//! substituted.
//!
//! Rules where AWS leaves room, as implemented:
//! - a key without a qualifier but with several request values behaves like `ForAnyValue:` for
//!   positive operators, and for negated operators is true only when no request value matches
//!   any policy value;
//! - a value that cannot be read for its operator (`abc` under `NumericEquals`) makes that one
//!   comparison fail for positive *and* negated operators, and is reported as a problem;
//! - a request key present with an empty set of values counts as absent for `Null` and as an
//!   empty set for the qualifiers (`ForAllValues:` true, `ForAnyValue:` false).

use std::fmt;

use crate::cidr::{parse_address, Cidr};
use crate::decimal::Decimal;
use crate::operator::Comparison;
pub use crate::operator::{BaseOperator, ConditionOperator, SetQualifier};
use crate::policy::{Condition, PolicyVersion};
use crate::request::{Context, ContextValue};
use crate::timestamp::parse_instant;
use crate::variable::{resolve, Resolved};
use crate::wildcard::{
    arn_matches, arn_parts_match, match_pattern, split_arn_elems, str_equal_ignore_case, CaseRule,
};

/// Something that kept a condition from being evaluated as written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Problem {
    UnknownOperator,
    PolicyValue(ValueKind),
    RequestValue(ValueKind),
    NullNotBool,
    UnresolvedVariable,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ValueKind {
    Number,
    Date,
    Bool,
    IpAddress,
}

impl fmt::Display for ValueKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ValueKind::Number => "a number",
            ValueKind::Date => "a date",
            ValueKind::Bool => "a boolean",
            ValueKind::IpAddress => "an ip address or cidr block",
        })
    }
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Problem::UnknownOperator => f.write_str("unknown operator"),
            Problem::PolicyValue(kind) => write!(f, "policy value is not {kind}"),
            Problem::RequestValue(kind) => write!(f, "value is not {kind}"),
            Problem::NullNotBool => f.write_str("Null expects \"true\" or \"false\""),
            Problem::UnresolvedVariable => {
                f.write_str("policy variable has no single value in the request")
            }
        }
    }
}

/// Result of one policy-value/request-value comparison under the positive operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Cmp {
    Match,
    NoMatch,
    Invalid(Problem),
}

fn parse_bool(text: &str) -> Option<bool> {
    if text.eq_ignore_ascii_case("true") {
        Some(true)
    } else if text.eq_ignore_ascii_case("false") {
        Some(false)
    } else {
        None
    }
}

fn from_bool(b: bool) -> Cmp {
    if b {
        Cmp::Match
    } else {
        Cmp::NoMatch
    }
}

fn compare(comparison: Comparison, expected: &Resolved<'_>, actual: &str) -> Cmp {
    let Some(text) = expected.text() else {
        return Cmp::NoMatch;
    };
    match comparison {
        Comparison::StringEquals | Comparison::BinaryEquals => from_bool(text == actual),
        Comparison::StringEqualsIgnoreCase => from_bool(str_equal_ignore_case(text, actual)),
        Comparison::StringLike => from_bool(match expected {
            Resolved::Substituted { elems, .. } => {
                match_pattern(elems.as_slice(), actual, CaseRule::Sensitive)
            }
            _ => match_pattern(text, actual, CaseRule::Sensitive),
        }),
        Comparison::ArnEquals | Comparison::ArnLike => from_bool(match expected {
            Resolved::Substituted { elems, .. } => match split_arn_elems(elems) {
                Some(parts) => arn_parts_match(parts, actual),
                None => false,
            },
            _ => arn_matches(text, actual),
        }),
        Comparison::Numeric(order) => {
            let Some(e) = Decimal::parse(text) else {
                return Cmp::Invalid(Problem::PolicyValue(ValueKind::Number));
            };
            let Some(a) = Decimal::parse(actual) else {
                return Cmp::Invalid(Problem::RequestValue(ValueKind::Number));
            };
            from_bool(order.holds(a.cmp(&e)))
        }
        Comparison::Date(order) => {
            let Some(e) = parse_instant(text) else {
                return Cmp::Invalid(Problem::PolicyValue(ValueKind::Date));
            };
            let Some(a) = parse_instant(actual) else {
                return Cmp::Invalid(Problem::RequestValue(ValueKind::Date));
            };
            from_bool(order.holds(a.cmp(&e)))
        }
        Comparison::Bool => {
            let Some(e) = parse_bool(text) else {
                return Cmp::Invalid(Problem::PolicyValue(ValueKind::Bool));
            };
            let Some(a) = parse_bool(actual) else {
                return Cmp::Invalid(Problem::RequestValue(ValueKind::Bool));
            };
            from_bool(a == e)
        }
        Comparison::IpAddress => {
            let Some(block) = Cidr::parse(text) else {
                return Cmp::Invalid(Problem::PolicyValue(ValueKind::IpAddress));
            };
            let Some(addr) = parse_address(actual) else {
                return Cmp::Invalid(Problem::RequestValue(ValueKind::IpAddress));
            };
            from_bool(block.contains(addr))
        }
    }
}

/// Single-value comparison under `op`, as used by explainers ("would this match under
/// `StringLike`?"). No policy variables are substituted. Negated operators return true when the
/// values do not match (and false when either cannot be read); `Null` answers for a present key
/// (`"false"` → true); unknown operators are false.
pub fn operator_matches(op: &BaseOperator, expected: &str, actual: &str) -> bool {
    if *op == BaseOperator::Null {
        return parse_bool(expected) == Some(false);
    }
    let Some(comparison) = op.comparison() else {
        return false;
    };
    match compare(comparison, &Resolved::Plain(expected), actual) {
        Cmp::Match => !op.is_negated(),
        Cmp::NoMatch => op.is_negated(),
        Cmp::Invalid(_) => false,
    }
}

/// Outcome of one condition (one operator, one key).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Outcome {
    pub(crate) matched: bool,
    pub(crate) problem: Option<Problem>,
}

impl Outcome {
    fn new(matched: bool, problem: Option<Problem>) -> Self {
        Outcome { matched, problem }
    }
}

/// How one request value fared against all the policy values.
enum ValueFate {
    /// Matched at least one policy value.
    Hit,
    /// Validly compared with every policy value and matched none.
    Miss,
    /// Matched none, and at least one comparison could not be made.
    Unreadable,
}

/// Evaluate one condition against the request context.
pub(crate) fn evaluate_condition(
    condition: &Condition,
    version: PolicyVersion,
    context: &Context,
) -> Outcome {
    let op = &condition.operator;
    let actual = context.get(&condition.key);
    let comparison = match &op.base {
        BaseOperator::Null => return evaluate_null(&condition.values, actual),
        other => match other.comparison() {
            Some(c) => c,
            None => return Outcome::new(false, Some(Problem::UnknownOperator)),
        },
    };
    let negated = op.base.is_negated();
    let Some(actual) = actual else {
        let matched = op.if_exists
            || match op.qualifier {
                Some(SetQualifier::ForAllValues) => true,
                Some(SetQualifier::ForAnyValue) => false,
                None => negated,
            };
        return Outcome::new(matched, None);
    };

    let mut problem = None;
    let mut fate = |value: &str| -> ValueFate {
        let mut unreadable = false;
        for expected in &condition.values {
            let resolved = resolve(expected, version, context);
            if resolved == Resolved::Unresolvable && problem.is_none() {
                problem = Some(Problem::UnresolvedVariable);
            }
            match compare(comparison, &resolved, value) {
                Cmp::Match => return ValueFate::Hit,
                Cmp::NoMatch => {}
                Cmp::Invalid(p) => {
                    unreadable = true;
                    problem.get_or_insert(p);
                }
            }
        }
        if unreadable {
            ValueFate::Unreadable
        } else {
            ValueFate::Miss
        }
    };
    let values = actual.as_slice();
    let matched = match (negated, op.qualifier) {
        (false, Some(SetQualifier::ForAllValues)) => {
            values.iter().all(|v| matches!(fate(v), ValueFate::Hit))
        }
        (false, _) => values.iter().any(|v| matches!(fate(v), ValueFate::Hit)),
        (true, Some(SetQualifier::ForAnyValue)) => {
            values.iter().any(|v| matches!(fate(v), ValueFate::Miss))
        }
        (true, _) => values.iter().all(|v| matches!(fate(v), ValueFate::Miss)),
    };
    Outcome::new(matched, problem)
}

fn evaluate_null(expected: &[String], actual: Option<&ContextValue>) -> Outcome {
    let absent = match actual {
        None => true,
        Some(v) => v.as_slice().is_empty(),
    };
    let mut problem = None;
    let matched = expected.iter().any(|e| match parse_bool(e) {
        Some(want_absent) => want_absent == absent,
        None => {
            problem = Some(Problem::NullNotBool);
            false
        }
    });
    Outcome::new(matched, problem)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_operator_names() {
        let op = ConditionOperator::parse("ForAnyValue:StringLikeIfExists");
        assert_eq!(op.base, BaseOperator::StringLike);
        assert_eq!(op.qualifier, Some(SetQualifier::ForAnyValue));
        assert!(op.if_exists);
        let op = ConditionOperator::parse("stringequals");
        assert_eq!(op.base, BaseOperator::Unknown("stringequals".into()));
        let op = ConditionOperator::parse("ForSomeValues:StringEquals");
        assert!(matches!(op.base, BaseOperator::Unknown(_)));
        assert!(!ConditionOperator::parse("IfExists").if_exists);
    }

    #[test]
    fn single_value_comparisons() {
        use BaseOperator as B;
        assert!(operator_matches(&B::StringLike, "repo:o/*", "repo:o/r:ref"));
        assert!(!operator_matches(&B::StringEquals, "repo:o/*", "repo:o/r"));
        assert!(operator_matches(&B::StringEquals, "a*", "a*"));
        assert!(operator_matches(&B::StringNotEquals, "a", "b"));
        assert!(operator_matches(&B::StringEqualsIgnoreCase, "ABC", "abc"));
        assert!(operator_matches(&B::NumericLessThan, "10", "9.5"));
        assert!(!operator_matches(&B::NumericNotEquals, "10", "x"));
        assert!(operator_matches(&B::Bool, "TRUE", "true"));
        assert!(operator_matches(&B::Null, "false", "anything"));
        assert!(!operator_matches(&B::Unknown("X".into()), "a", "a"));
    }
}
