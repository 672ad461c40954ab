//! The policy model (`Policy`, `Statement` and their elements), its construction from a parsed
//! JSON object, and its rendering back to canonical JSON.
//!
//! This module is not about text: decoding JSON strings, URL-encoded documents and enforcing the
//! size and nesting caps happens in `document`. Nor does it evaluate anything; see `evaluation`.

use serde::{Serialize, Serializer};
use serde_json::{Map, Value};

use crate::error::{PolicyError, StatementError};
use crate::operator::ConditionOperator;

/// A parsed IAM policy document (identity, resource, trust, boundary, session policy or SCP).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Policy {
    pub version: PolicyVersion,
    pub id: Option<String>,
    pub statements: Vec<Statement>,
}

/// The `Version` element. Only `2012-10-17` enables policy variables.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub enum PolicyVersion {
    #[serde(rename = "2012-10-17")]
    V2012_10_17,
    #[serde(rename = "2008-10-17")]
    V2008_10_17,
    /// No `Version` element (treated like 2008-10-17, as AWS does).
    Missing,
}

impl PolicyVersion {
    /// The `Version` string, or `None` when missing.
    pub fn as_str(self) -> Option<&'static str> {
        match self {
            PolicyVersion::V2012_10_17 => Some("2012-10-17"),
            PolicyVersion::V2008_10_17 => Some("2008-10-17"),
            PolicyVersion::Missing => None,
        }
    }

    /// Whether `${...}` policy variables are substituted under this version.
    pub fn supports_variables(self) -> bool {
        self == PolicyVersion::V2012_10_17
    }
}

/// One statement. `index` is its position in the document's `Statement` list (0 for a lone
/// statement object).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Statement {
    pub index: usize,
    pub sid: Option<String>,
    pub effect: Effect,
    pub principal: Option<PrincipalSpec>,
    /// Always `Some` after parsing (a statement needs Action or NotAction); a hand-built
    /// statement with `None` matches no action.
    pub action: Option<ActionSpec>,
    pub resource: Option<ResourceSpec>,
    pub conditions: Vec<Condition>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub enum Effect {
    Allow,
    Deny,
}

impl Effect {
    pub fn as_str(self) -> &'static str {
        match self {
            Effect::Allow => "Allow",
            Effect::Deny => "Deny",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PrincipalSpec {
    Principal(PrincipalSet),
    NotPrincipal(PrincipalSet),
}

impl PrincipalSpec {
    /// The set named by the element, whether it is `Principal` or `NotPrincipal`.
    pub fn set(&self) -> &PrincipalSet {
        match self {
            PrincipalSpec::Principal(s) | PrincipalSpec::NotPrincipal(s) => s,
        }
    }
}

/// The principals named by a `Principal`/`NotPrincipal` element.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PrincipalSet {
    /// `"Principal": "*"` or an `"AWS": "*"` entry (the latter is also kept in `entries`).
    pub any: bool,
    pub entries: Vec<(PrincipalKind, String)>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum PrincipalKind {
    Aws,
    Federated,
    Service,
    CanonicalUser,
}

impl PrincipalKind {
    /// The key used in a policy `Principal` object.
    pub fn policy_key(self) -> &'static str {
        match self {
            PrincipalKind::Aws => "AWS",
            PrincipalKind::Federated => "Federated",
            PrincipalKind::Service => "Service",
            PrincipalKind::CanonicalUser => "CanonicalUser",
        }
    }

    fn from_policy_key(key: &str) -> Option<Self> {
        match key {
            "AWS" => Some(PrincipalKind::Aws),
            "Federated" => Some(PrincipalKind::Federated),
            "Service" => Some(PrincipalKind::Service),
            "CanonicalUser" => Some(PrincipalKind::CanonicalUser),
            _ => None,
        }
    }

    const ALL: [PrincipalKind; 4] = [
        PrincipalKind::Aws,
        PrincipalKind::Federated,
        PrincipalKind::Service,
        PrincipalKind::CanonicalUser,
    ];
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ActionSpec {
    Action(Vec<String>),
    NotAction(Vec<String>),
}

impl ActionSpec {
    pub fn patterns(&self) -> &[String] {
        match self {
            ActionSpec::Action(v) | ActionSpec::NotAction(v) => v,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ResourceSpec {
    Resource(Vec<String>),
    NotResource(Vec<String>),
}

impl ResourceSpec {
    pub fn patterns(&self) -> &[String] {
        match self {
            ResourceSpec::Resource(v) | ResourceSpec::NotResource(v) => v,
        }
    }
}

/// One key under one operator of a `Condition` block. Boolean and number JSON values are kept as
/// their text (`true`, `3600`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Condition {
    pub operator: ConditionOperator,
    /// The key as written; compared case-insensitively.
    pub key: String,
    pub values: Vec<String>,
}

impl Policy {
    /// Build a policy from a JSON object (the `Version`/`Statement` level).
    pub(crate) fn from_object(obj: &Map<String, Value>) -> Result<Policy, PolicyError> {
        let version = match obj.get("Version") {
            None => PolicyVersion::Missing,
            Some(Value::String(s)) if s == "2012-10-17" => PolicyVersion::V2012_10_17,
            Some(Value::String(s)) if s == "2008-10-17" => PolicyVersion::V2008_10_17,
            Some(other) => return Err(PolicyError::UnsupportedVersion(other.to_string())),
        };
        let id = match obj.get("Id") {
            None => None,
            Some(Value::String(s)) => Some(s.clone()),
            Some(_) => return Err(PolicyError::InvalidId),
        };
        let statements = match obj.get("Statement") {
            None => return Err(PolicyError::MissingStatement),
            Some(Value::Object(one)) => vec![parse_statement(0, one)?],
            Some(Value::Array(many)) => many
                .iter()
                .enumerate()
                .map(|(index, v)| match v {
                    Value::Object(o) => parse_statement(index, o),
                    _ => Err(PolicyError::Statement {
                        index,
                        kind: StatementError::NotAnObject,
                    }),
                })
                .collect::<Result<Vec<_>, _>>()?,
            Some(_) => return Err(PolicyError::InvalidStatementList),
        };
        Ok(Policy {
            version,
            id,
            statements,
        })
    }

    /// The policy as canonical JSON: `Version` (when present), `Id`, and `Statement` always as an
    /// array; single values as strings, several as arrays; condition values as strings.
    pub fn to_value(&self) -> Value {
        let mut obj = Map::new();
        if let Some(v) = self.version.as_str() {
            obj.insert("Version".into(), Value::String(v.into()));
        }
        if let Some(id) = &self.id {
            obj.insert("Id".into(), Value::String(id.clone()));
        }
        let statements = self.statements.iter().map(Statement::to_value).collect();
        obj.insert("Statement".into(), Value::Array(statements));
        Value::Object(obj)
    }
}

/// Serializes as the canonical JSON of [`Policy::to_value`].
impl Serialize for Policy {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.to_value().serialize(serializer)
    }
}

impl Statement {
    /// The statement as canonical JSON (see [`Policy::to_value`]).
    pub fn to_value(&self) -> Value {
        let mut obj = Map::new();
        if let Some(sid) = &self.sid {
            obj.insert("Sid".into(), Value::String(sid.clone()));
        }
        obj.insert("Effect".into(), Value::String(self.effect.as_str().into()));
        match &self.principal {
            Some(PrincipalSpec::Principal(set)) => {
                obj.insert("Principal".into(), principal_set_value(set));
            }
            Some(PrincipalSpec::NotPrincipal(set)) => {
                obj.insert("NotPrincipal".into(), principal_set_value(set));
            }
            None => {}
        }
        match &self.action {
            Some(ActionSpec::Action(v)) => {
                obj.insert("Action".into(), strings_value(v));
            }
            Some(ActionSpec::NotAction(v)) => {
                obj.insert("NotAction".into(), strings_value(v));
            }
            None => {}
        }
        match &self.resource {
            Some(ResourceSpec::Resource(v)) => {
                obj.insert("Resource".into(), strings_value(v));
            }
            Some(ResourceSpec::NotResource(v)) => {
                obj.insert("NotResource".into(), strings_value(v));
            }
            None => {}
        }
        if !self.conditions.is_empty() {
            let mut block = Map::new();
            for c in &self.conditions {
                let keys = block
                    .entry(c.operator.raw.clone())
                    .or_insert_with(|| Value::Object(Map::new()));
                if let Value::Object(keys) = keys {
                    keys.insert(c.key.clone(), strings_value(&c.values));
                }
            }
            obj.insert("Condition".into(), Value::Object(block));
        }
        Value::Object(obj)
    }
}

fn strings_value(values: &[String]) -> Value {
    match values {
        [one] => Value::String(one.clone()),
        many => Value::Array(many.iter().cloned().map(Value::String).collect()),
    }
}

fn principal_set_value(set: &PrincipalSet) -> Value {
    if set.any && set.entries.is_empty() {
        return Value::String("*".into());
    }
    let mut obj = Map::new();
    for kind in PrincipalKind::ALL {
        let values: Vec<String> = set
            .entries
            .iter()
            .filter(|(k, _)| *k == kind)
            .map(|(_, v)| v.clone())
            .collect();
        if !values.is_empty() {
            obj.insert(kind.policy_key().into(), strings_value(&values));
        }
    }
    Value::Object(obj)
}

fn statement_error(index: usize, kind: StatementError) -> PolicyError {
    PolicyError::Statement { index, kind }
}

fn parse_statement(index: usize, obj: &Map<String, Value>) -> Result<Statement, PolicyError> {
    let err = |kind| statement_error(index, kind);
    let sid = match obj.get("Sid") {
        None => None,
        Some(Value::String(s)) => Some(s.clone()),
        Some(_) => return Err(err(StatementError::InvalidSid)),
    };
    let effect = match obj.get("Effect") {
        None => return Err(err(StatementError::MissingEffect)),
        Some(Value::String(s)) if s == "Allow" => Effect::Allow,
        Some(Value::String(s)) if s == "Deny" => Effect::Deny,
        Some(other) => return Err(err(StatementError::InvalidEffect(other.to_string()))),
    };
    let principal = match pick_pair(obj, "Principal", "NotPrincipal").map_err(err)? {
        None => None,
        Some((true, v)) => Some(PrincipalSpec::Principal(
            parse_principal_set("Principal", v).map_err(err)?,
        )),
        Some((false, v)) => Some(PrincipalSpec::NotPrincipal(
            parse_principal_set("NotPrincipal", v).map_err(err)?,
        )),
    };
    let action = match pick_pair(obj, "Action", "NotAction").map_err(err)? {
        None => return Err(err(StatementError::MissingAction)),
        Some((true, v)) => ActionSpec::Action(parse_strings("Action", v).map_err(err)?),
        Some((false, v)) => ActionSpec::NotAction(parse_strings("NotAction", v).map_err(err)?),
    };
    let resource = match pick_pair(obj, "Resource", "NotResource").map_err(err)? {
        None => None,
        Some((true, v)) => Some(ResourceSpec::Resource(
            parse_strings("Resource", v).map_err(err)?,
        )),
        Some((false, v)) => Some(ResourceSpec::NotResource(
            parse_strings("NotResource", v).map_err(err)?,
        )),
    };
    let conditions = match obj.get("Condition") {
        None => Vec::new(),
        Some(v) => parse_conditions(v).map_err(err)?,
    };
    Ok(Statement {
        index,
        sid,
        effect,
        principal,
        action: Some(action),
        resource,
        conditions,
    })
}

/// The value of `positive` (true) or `negative` (false); an error when both are present.
fn pick_pair<'a>(
    obj: &'a Map<String, Value>,
    positive: &'static str,
    negative: &'static str,
) -> Result<Option<(bool, &'a Value)>, StatementError> {
    match (obj.get(positive), obj.get(negative)) {
        (Some(_), Some(_)) => Err(StatementError::Conflict {
            first: positive,
            second: negative,
        }),
        (Some(v), None) => Ok(Some((true, v))),
        (None, Some(v)) => Ok(Some((false, v))),
        (None, None) => Ok(None),
    }
}

fn parse_strings(element: &'static str, v: &Value) -> Result<Vec<String>, StatementError> {
    match v {
        Value::String(s) => Ok(vec![s.clone()]),
        Value::Array(items) => items
            .iter()
            .map(|item| match item {
                Value::String(s) => Ok(s.clone()),
                _ => Err(StatementError::NotStrings { element }),
            })
            .collect(),
        _ => Err(StatementError::NotStrings { element }),
    }
}

fn parse_principal_set(element: &'static str, v: &Value) -> Result<PrincipalSet, StatementError> {
    match v {
        Value::String(s) if s == "*" => Ok(PrincipalSet {
            any: true,
            entries: Vec::new(),
        }),
        Value::Object(map) => {
            let mut set = PrincipalSet::default();
            for (key, values) in map {
                let kind = PrincipalKind::from_policy_key(key).ok_or_else(|| {
                    StatementError::UnknownPrincipalType {
                        element,
                        name: key.clone(),
                    }
                })?;
                for value in parse_strings(element, values)? {
                    if kind == PrincipalKind::Aws && value == "*" {
                        set.any = true;
                    }
                    set.entries.push((kind, value));
                }
            }
            Ok(set)
        }
        _ => Err(StatementError::InvalidPrincipal { element }),
    }
}

fn parse_conditions(v: &Value) -> Result<Vec<Condition>, StatementError> {
    let Value::Object(block) = v else {
        return Err(StatementError::InvalidCondition);
    };
    let mut out = Vec::new();
    for (operator_name, keys) in block {
        let Value::Object(keys) = keys else {
            return Err(StatementError::InvalidConditionBlock {
                operator: operator_name.clone(),
            });
        };
        let operator = ConditionOperator::parse(operator_name);
        for (key, values) in keys {
            let bad = || StatementError::InvalidConditionValue {
                operator: operator_name.clone(),
                key: key.clone(),
            };
            let values = match values {
                Value::Array(items) => items
                    .iter()
                    .map(|item| scalar_text(item).ok_or_else(bad))
                    .collect::<Result<Vec<_>, _>>()?,
                single => vec![scalar_text(single).ok_or_else(bad)?],
            };
            out.push(Condition {
                operator: operator.clone(),
                key: key.clone(),
                values,
            });
        }
    }
    Ok(out)
}

fn scalar_text(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Bool(b) => Some(b.to_string()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}
