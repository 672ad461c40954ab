//! Condition operators as data: a name as written (`ForAnyValue:StringLikeIfExists`) split
//! into qualifier, base operator and `IfExists`, and the positive comparison behind each base
//! operator. The policy model holds these; `condition` evaluates with them.

/// A condition operator as written, split into qualifier, base operator and `IfExists`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConditionOperator {
    /// The name as written in the policy, e.g. `ForAnyValue:StringLike`.
    pub raw: String,
    pub base: BaseOperator,
    pub qualifier: Option<SetQualifier>,
    pub if_exists: bool,
}

/// The operator without qualifier and `IfExists`. Names are case-sensitive, as in AWS.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum BaseOperator {
    StringEquals,
    StringNotEquals,
    StringEqualsIgnoreCase,
    StringNotEqualsIgnoreCase,
    StringLike,
    StringNotLike,
    NumericEquals,
    NumericNotEquals,
    NumericLessThan,
    NumericLessThanEquals,
    NumericGreaterThan,
    NumericGreaterThanEquals,
    DateEquals,
    DateNotEquals,
    DateLessThan,
    DateLessThanEquals,
    DateGreaterThan,
    DateGreaterThanEquals,
    Bool,
    BinaryEquals,
    IpAddress,
    NotIpAddress,
    ArnEquals,
    ArnLike,
    ArnNotEquals,
    ArnNotLike,
    Null,
    /// An operator name IAM does not know; holds the whole raw name. Evaluates to false.
    Unknown(String),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SetQualifier {
    ForAnyValue,
    ForAllValues,
}

/// The positive comparison behind an operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Comparison {
    StringEquals,
    StringEqualsIgnoreCase,
    StringLike,
    Numeric(Order),
    Date(Order),
    Bool,
    BinaryEquals,
    IpAddress,
    ArnEquals,
    ArnLike,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Order {
    Equal,
    Less,
    LessEqual,
    Greater,
    GreaterEqual,
}

impl Order {
    pub(crate) fn holds(self, ord: std::cmp::Ordering) -> bool {
        use std::cmp::Ordering as O;
        match self {
            Order::Equal => ord == O::Equal,
            Order::Less => ord == O::Less,
            Order::LessEqual => ord != O::Greater,
            Order::Greater => ord == O::Greater,
            Order::GreaterEqual => ord != O::Less,
        }
    }
}

impl BaseOperator {
    /// The operator named `name` (no qualifier, no `IfExists`), or `None`.
    pub fn from_name(name: &str) -> Option<BaseOperator> {
        use BaseOperator as B;
        Some(match name {
            "StringEquals" => B::StringEquals,
            "StringNotEquals" => B::StringNotEquals,
            "StringEqualsIgnoreCase" => B::StringEqualsIgnoreCase,
            "StringNotEqualsIgnoreCase" => B::StringNotEqualsIgnoreCase,
            "StringLike" => B::StringLike,
            "StringNotLike" => B::StringNotLike,
            "NumericEquals" => B::NumericEquals,
            "NumericNotEquals" => B::NumericNotEquals,
            "NumericLessThan" => B::NumericLessThan,
            "NumericLessThanEquals" => B::NumericLessThanEquals,
            "NumericGreaterThan" => B::NumericGreaterThan,
            "NumericGreaterThanEquals" => B::NumericGreaterThanEquals,
            "DateEquals" => B::DateEquals,
            "DateNotEquals" => B::DateNotEquals,
            "DateLessThan" => B::DateLessThan,
            "DateLessThanEquals" => B::DateLessThanEquals,
            "DateGreaterThan" => B::DateGreaterThan,
            "DateGreaterThanEquals" => B::DateGreaterThanEquals,
            "Bool" => B::Bool,
            "BinaryEquals" => B::BinaryEquals,
            "IpAddress" => B::IpAddress,
            "NotIpAddress" => B::NotIpAddress,
            "ArnEquals" => B::ArnEquals,
            "ArnLike" => B::ArnLike,
            "ArnNotEquals" => B::ArnNotEquals,
            "ArnNotLike" => B::ArnNotLike,
            "Null" => B::Null,
            _ => return None,
        })
    }

    /// Whether this is a negated operator: true only when the request value matches none of the
    /// policy values, and true when the key is missing.
    pub fn is_negated(&self) -> bool {
        use BaseOperator as B;
        matches!(
            self,
            B::StringNotEquals
                | B::StringNotEqualsIgnoreCase
                | B::StringNotLike
                | B::NumericNotEquals
                | B::DateNotEquals
                | B::NotIpAddress
                | B::ArnNotEquals
                | B::ArnNotLike
        )
    }

    /// The positive comparison; `None` for `Null` and unknown operators.
    pub(crate) fn comparison(&self) -> Option<Comparison> {
        use BaseOperator as B;
        use Comparison as C;
        Some(match self {
            B::StringEquals | B::StringNotEquals => C::StringEquals,
            B::StringEqualsIgnoreCase | B::StringNotEqualsIgnoreCase => C::StringEqualsIgnoreCase,
            B::StringLike | B::StringNotLike => C::StringLike,
            B::NumericEquals | B::NumericNotEquals => C::Numeric(Order::Equal),
            B::NumericLessThan => C::Numeric(Order::Less),
            B::NumericLessThanEquals => C::Numeric(Order::LessEqual),
            B::NumericGreaterThan => C::Numeric(Order::Greater),
            B::NumericGreaterThanEquals => C::Numeric(Order::GreaterEqual),
            B::DateEquals | B::DateNotEquals => C::Date(Order::Equal),
            B::DateLessThan => C::Date(Order::Less),
            B::DateLessThanEquals => C::Date(Order::LessEqual),
            B::DateGreaterThan => C::Date(Order::Greater),
            B::DateGreaterThanEquals => C::Date(Order::GreaterEqual),
            B::Bool => C::Bool,
            B::BinaryEquals => C::BinaryEquals,
            B::IpAddress | B::NotIpAddress => C::IpAddress,
            B::ArnEquals | B::ArnNotEquals => C::ArnEquals,
            B::ArnLike | B::ArnNotLike => C::ArnLike,
            B::Null | B::Unknown(_) => return None,
        })
    }
}

impl ConditionOperator {
    /// Parse an operator name. Never fails: an unknown name gives [`BaseOperator::Unknown`] with
    /// no qualifier and no `IfExists`.
    pub fn parse(raw: &str) -> ConditionOperator {
        let (qualifier, rest) = if let Some(rest) = raw.strip_prefix("ForAnyValue:") {
            (Some(SetQualifier::ForAnyValue), rest)
        } else if let Some(rest) = raw.strip_prefix("ForAllValues:") {
            (Some(SetQualifier::ForAllValues), rest)
        } else {
            (None, raw)
        };
        let (rest, if_exists) = match rest.strip_suffix("IfExists") {
            Some(base) => (base, true),
            None => (rest, false),
        };
        match BaseOperator::from_name(rest) {
            Some(base) => ConditionOperator {
                raw: raw.to_owned(),
                base,
                qualifier,
                if_exists,
            },
            None => ConditionOperator {
                raw: raw.to_owned(),
                base: BaseOperator::Unknown(raw.to_owned()),
                qualifier: None,
                if_exists: false,
            },
        }
    }
}
