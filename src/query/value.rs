//! Records as jq values ([`Val`], jaq's JSON value, which keeps the key order of the log, as
//! jq does): the reference parsing and redaction (what [`super::json`]'s fast path must
//! agree with, and falls back to), dotted paths, and rendering as JSON text or as a cell.
//!
//! Redaction here walks a [`Val`] with the secret-field rule of [`crate::event::redact`]
//! (`is_secret_field`, `REDACTED`), so a `query` row hides exactly what `redact_value` hides
//! in a `serde_json::Value`; a test below holds the two walks to the same result.

use jaq_json::{Rc, Val};

use crate::event::redact::{is_secret_field, REDACTED};

/// Parses one record's JSON bytes.
pub fn parse(bytes: &[u8]) -> Result<Val, String> {
    jaq_json::read::parse_single(bytes).map_err(|e| e.to_string())
}

/// The parts of a record a program can see: of an object, only some keys, each wanted whole
/// (`None`) or, when its value is an object too, only some of that object's keys in turn.
/// A value that is not an object is always kept whole, so a program indexing it still meets
/// what it would meet in the whole record (a string, an array, an error).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Wanted(Vec<(String, Option<Wanted>)>);

impl Wanted {
    /// The parts that the paths of constant keys `paths` reach (`["a", "b"]` is `.a.b`, `[]`
    /// would be the whole record and is not a part of it): a path wanted whole wins over any
    /// longer path through it.
    pub fn from_paths(paths: impl IntoIterator<Item = Vec<String>>) -> Wanted {
        let mut w = Wanted::default();
        for path in paths {
            w.add(&path);
        }
        w
    }

    fn add(&mut self, path: &[String]) {
        let Some((first, rest)) = path.split_first() else {
            return;
        };
        let at = match self.0.binary_search_by(|(k, _)| k.as_str().cmp(first)) {
            Ok(at) => at,
            Err(at) => {
                let sub = (!rest.is_empty()).then(Wanted::default);
                self.0.insert(at, (first.clone(), sub));
                at
            }
        };
        let slot = &mut self.0[at].1;
        match slot {
            Some(_) if rest.is_empty() => *slot = None,
            Some(sub) => sub.add(rest),
            None => {}
        }
    }

    /// Whether `key` is wanted, and if so which of its value's keys (`None`: all of it).
    pub fn get(&self, key: &[u8]) -> Option<Option<&Wanted>> {
        self.0
            .iter()
            .find(|(k, _)| k.as_bytes() == key)
            .map(|(_, sub)| sub.as_ref())
    }

    /// The wanted paths, dotted (`a.b`), in key order: for tests and messages.
    pub fn paths(&self) -> Vec<String> {
        let mut out = Vec::new();
        for (k, sub) in &self.0 {
            match sub {
                None => out.push(k.clone()),
                Some(sub) => out.extend(sub.paths().into_iter().map(|p| format!("{k}.{p}"))),
            }
        }
        out
    }

    /// Drops from the object `v` what is not wanted (a value that is not an object stays).
    pub fn prune(&self, v: &mut Val) {
        let Val::Obj(map) = v else {
            return;
        };
        let map = Rc::make_mut(map);
        map.retain(|k, _| match k {
            Val::TStr(k) => self.get(k).is_some(),
            _ => false,
        });
        for (k, val) in map.iter_mut() {
            if let Val::TStr(k) = k {
                if let Some(Some(sub)) = self.get(k) {
                    sub.prune(val);
                }
            }
        }
    }
}

/// Parses one record's JSON bytes as [`parse`] does, keeping only the `wanted` parts (the
/// reference for [`super::json`]'s parser, which builds only those).
pub fn parse_fields(bytes: &[u8], wanted: &Wanted) -> Result<Val, String> {
    let mut v = parse(bytes)?;
    wanted.prune(&mut v);
    Ok(v)
}

/// Whether a secret-named key's value stays (see [`crate::event::redact::keeps_value`]).
pub(crate) fn keeps(v: &Val) -> bool {
    matches!(v, Val::Null | Val::Bool(_) | Val::Num(_))
}

/// Replaces every secret value in `v` (see [`crate::event::redact::redact_value`]).
pub fn redact(v: &mut Val) {
    match v {
        Val::Obj(map) => {
            for (k, val) in Rc::make_mut(map).iter_mut() {
                let secret = match k {
                    Val::TStr(name) => std::str::from_utf8(name).is_ok_and(is_secret_field),
                    _ => false,
                };
                if secret && !keeps(val) {
                    *val = Val::utf8_str(REDACTED);
                } else {
                    redact(val);
                }
            }
        }
        Val::Arr(items) => Rc::make_mut(items).iter_mut().for_each(redact),
        _ => {}
    }
}

/// A dotted path (`userIdentity.sessionContext.sessionIssuer.userName`, `resources.0.ARN`),
/// parsed once from the command line.
#[derive(Debug, Clone)]
pub struct Path {
    /// The path as the user wrote it: the column name and output key.
    pub name: String,
    steps: Vec<Step>,
}

#[derive(Debug, Clone)]
enum Step {
    Key(String),
    /// An array index, also tried as an object key.
    Index(usize, String),
}

impl Path {
    pub fn parse(text: &str) -> Result<Path, String> {
        let body = text.trim().strip_prefix('.').unwrap_or(text.trim());
        if body.is_empty() {
            return Err(format!("'{text}' is not a path (e.g. userIdentity.arn)"));
        }
        let steps = body
            .split('.')
            .map(|seg| {
                if seg.is_empty() {
                    return Err(format!(
                        "'{text}' has an empty segment (use --jq for keys with dots)"
                    ));
                }
                Ok(match seg.parse::<usize>() {
                    Ok(i) => Step::Index(i, seg.to_owned()),
                    Err(_) => Step::Key(seg.to_owned()),
                })
            })
            .collect::<Result<_, _>>()?;
        Ok(Path {
            name: text.trim().to_owned(),
            steps,
        })
    }

    /// The value at this path; `None` when any step is missing.
    pub fn get<'v>(&self, v: &'v Val) -> Option<&'v Val> {
        let mut cur = v;
        for step in &self.steps {
            cur = match (step, cur) {
                (Step::Key(k) | Step::Index(_, k), Val::Obj(map)) => map
                    .iter()
                    .find(|(key, _)| matches!(key, Val::TStr(b) if **b == *k.as_bytes()))
                    .map(|(_, x)| x)?,
                (Step::Index(i, _), Val::Arr(items)) => items.get(*i)?,
                _ => return None,
            };
        }
        Some(cur)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::redact::redact_value;
    use crate::query::output::{to_json, Cell};

    #[test]
    fn redaction_agrees_with_redact_value() {
        let text = r#"{"z":1,"responseElements":{"credentials":{"accessKeyId":"ASIAX","sessionToken":"IQoJb3JpZ2luX2VjSECRET","expiration":"x"}},
            "requestParameters":{"SAMLAssertion":"PHNhbWw+","dbPassword":"hunter2","clientSecret":"s","token":null,"list":[{"authorizationToken":"QVdT"}]},
            "a":"plain"}"#;
        let mut val = parse(text.as_bytes()).unwrap();
        redact(&mut val);
        let mut expected: serde_json::Value = serde_json::from_str(text).unwrap();
        redact_value(&mut expected);
        let got: serde_json::Value = serde_json::from_str(&to_json(&val)).unwrap();
        assert_eq!(got, expected);
        assert!(!to_json(&val).contains("SECRET"));
        // the log's key order is kept
        assert!(to_json(&val).starts_with(r#"{"z":1,"responseElements""#));
    }

    #[test]
    fn paths_walk_objects_and_arrays() {
        let v = parse(br#"{"a":{"b":[{"c":"x"}],"0":"zero"},"n":null}"#).unwrap();
        let get = |p: &str| Path::parse(p).unwrap().get(&v).map(to_json);
        assert_eq!(get("a.b.0.c").as_deref(), Some(r#""x""#));
        assert_eq!(get(".a.0").as_deref(), Some(r#""zero""#));
        assert_eq!(get("a.missing"), None);
        assert_eq!(get("n").as_deref(), Some("null"));
        assert!(Path::parse("a..b").is_err());
        assert!(Path::parse("").is_err());
        assert_eq!(Cell::of(Path::parse("n").unwrap().get(&v)), Cell::Null);
        assert_eq!(Cell::of(None), Cell::Null);
        assert_eq!(Cell::of_json(r#""a\u001b""#), Cell::Text("a\u{1b}".into()));
    }
}
