//! `--jq` programs of the common shape evaluated without jaq's interpreter: paths of
//! constant keys and slices, `//`, `|`, `select`, objects with constant keys, constant
//! strings, and `test`, `capture`, `sub` and `gsub` with constant arguments — as in
//! `{repo: ((.userIdentity.userName // "" | capture("^repo:(?<r>[^:]+)").r) // "-"),
//! day: .eventTime[:10]}`. On small records jaq's interpreter (boxed iterators, cloned
//! contexts) costs more than building the record; this walks the program directly.
//!
//! Every step is jaq's own operation on [`Val`] (`index`, `range`, truthiness, object
//! building) or one of [`super::regex`]'s natives, so a result is the one jaq gives. Each
//! part yields at most one value; anything else — an error (jaq would report it), a regex
//! with several matches under `g`, a form not listed above — gives up on the record, which
//! then runs through jaq. Tests hold the two to the same outputs.
//!
//! This module does not decide which records are read nor where outputs go.

use bytes::Bytes;
use jaq_core::load::{self, lex::StrPart, parse::Term};
use jaq_core::path::{Opt, Part};
use jaq_core::ValT as _;
use jaq_json::Val;

use super::regex;

/// A program this module evaluates. It holds no [`Val`] (whose `Rc`s stay on one thread):
/// one copy serves every worker.
#[derive(Debug)]
pub struct Native(Expr);

/// The record needs jaq: an error, or more than one output.
#[derive(Debug, PartialEq, Eq)]
pub struct Defer;

#[derive(Debug)]
enum Expr {
    /// `.`
    Id,
    /// `"text"`
    Str(Bytes),
    /// `null`
    Null,
    /// `true`, `false`
    Bool(bool),
    /// `BASE.a.b[:10]`
    Path(Box<Expr>, Vec<Step>),
    /// `l // r`
    Alt(Box<Expr>, Box<Expr>),
    /// `l | r`
    Pipe(Box<Expr>, Box<Expr>),
    /// `{k: v, …}` (distinct constant keys)
    Obj(Vec<(Bytes, Expr)>),
    /// `select(c)`
    Select(Box<Expr>),
    /// `test(re; flags)`
    Test(String, String),
    /// `capture(re; flags)`
    Capture(String, String),
    /// `sub(re; "text"; flags)` (and `gsub`, with `g`)
    Sub(String, String, Vec<u8>),
}

#[derive(Debug)]
enum Step {
    /// `.k`
    Key(Bytes),
    /// `[from:upto]`
    Slice(Option<isize>, Option<isize>),
}

/// A string value sharing `b`.
fn string(b: &Bytes) -> Val {
    Val::TStr(Box::new(b.clone()))
}

/// jaq's `.k`: the value under `k` of an object (`null` if none), `null` of `null`; an
/// error (here [`Defer`]) for anything else.
fn index(v: &Val, k: &[u8]) -> Result<Val, Defer> {
    match v {
        Val::Null => Ok(Val::Null),
        Val::Obj(map) => Ok(map
            .iter()
            .find(|(key, _)| matches!(key, Val::TStr(key) if ***key == *k))
            .map_or(Val::Null, |(_, v)| v.clone())),
        _ => Err(Defer),
    }
}

impl Native {
    /// The program `code`, if it has the shape this module evaluates.
    pub fn compile(code: &str) -> Option<Native> {
        let term = load::parse(code, |p| p.term())?;
        Expr::of(&term).map(Native)
    }

    /// The program's output for `input`: `Ok(None)` for none, `Err(Defer)` when jaq must
    /// run it.
    pub fn eval(&self, input: &Val) -> Result<Option<Val>, Defer> {
        self.0.eval(input)
    }
}

/// A constant string without escapes or interpolation (`"a"`; also the key of `.a`, `."a"`,
/// `{a}`).
pub(super) fn constant_string(t: &Term<&str>) -> Option<String> {
    match t {
        Term::Str(None, parts) => match &parts[..] {
            [StrPart::Str(s)] => Some((*s).to_owned()),
            [] => Some(String::new()),
            _ => None,
        },
        _ => None,
    }
}

/// A non-negative integer literal.
fn integer(t: &Term<&str>) -> Option<isize> {
    match t {
        Term::Num(n) if !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()) => n.parse().ok(),
        _ => None,
    }
}

impl Expr {
    fn of(t: &Term<&str>) -> Option<Expr> {
        let bytes = |t: &Term<&str>| constant_string(t).map(Bytes::from);
        Some(match t {
            Term::Id => Expr::Id,
            Term::Str(..) => Expr::Str(bytes(t)?),
            Term::Call("null", a) if a.is_empty() => Expr::Null,
            Term::Call("true", a) if a.is_empty() => Expr::Bool(true),
            Term::Call("false", a) if a.is_empty() => Expr::Bool(false),
            Term::Path(base, path) => {
                let steps = path
                    .0
                    .iter()
                    .map(|(part, opt)| match (part, opt) {
                        (Part::Index(k), Opt::Essential) => bytes(k).map(Step::Key),
                        // (`[]`, iterating, is a range without bounds)
                        (Part::Range(from, upto), Opt::Essential)
                            if from.is_some() || upto.is_some() =>
                        {
                            let bound = |b: &Option<Term<&str>>| match b {
                                None => Some(None),
                                Some(b) => integer(b).map(Some),
                            };
                            Some(Step::Slice(bound(from)?, bound(upto)?))
                        }
                        _ => None,
                    })
                    .collect::<Option<Vec<Step>>>()?;
                Expr::Path(Box::new(Expr::of(base)?), steps)
            }
            Term::BinOp(l, op, r) => {
                use load::parse::BinaryOp;
                let (l, r) = (Box::new(Expr::of(l)?), Box::new(Expr::of(r)?));
                match op {
                    BinaryOp::Pipe(None) => Expr::Pipe(l, r),
                    BinaryOp::Alt => Expr::Alt(l, r),
                    _ => return None,
                }
            }
            Term::Obj(entries) => {
                let mut out: Vec<(Bytes, Expr)> = Vec::with_capacity(entries.len());
                for (k, v) in entries {
                    let key = bytes(k)?;
                    let value = match v {
                        // `{a}` is `{a: .a}`
                        None => Expr::Path(Box::new(Expr::Id), vec![Step::Key(key.clone())]),
                        Some(v) => Expr::of(v)?,
                    };
                    if out.iter().any(|(seen, _)| *seen == key) {
                        return None;
                    }
                    out.push((key, value));
                }
                Expr::Obj(out)
            }
            Term::Call("select", args) => match &args[..] {
                [c] => Expr::Select(Box::new(Expr::of(c)?)),
                _ => return None,
            },
            Term::Call(name @ ("test" | "capture" | "sub" | "gsub"), args) => {
                let texts = args
                    .iter()
                    .map(constant_string)
                    .collect::<Option<Vec<String>>>()?;
                // jaq-std: `gsub(re; f; flags)` is `sub(re; f; "g" + flags)`
                let g = if *name == "gsub" { "g" } else { "" };
                let flags = |f: Option<&String>| format!("{g}{}", f.map_or("", |f| f));
                match (*name, &texts[..]) {
                    ("test", [re]) => Expr::Test(re.clone(), flags(None)),
                    ("test", [re, f]) => Expr::Test(re.clone(), flags(Some(f))),
                    ("capture", [re]) => Expr::Capture(re.clone(), flags(None)),
                    ("capture", [re, f]) => Expr::Capture(re.clone(), flags(Some(f))),
                    ("sub" | "gsub", [re, with]) => {
                        Expr::Sub(re.clone(), flags(None), with.clone().into_bytes())
                    }
                    ("sub" | "gsub", [re, with, f]) => {
                        Expr::Sub(re.clone(), flags(Some(f)), with.clone().into_bytes())
                    }
                    _ => return None,
                }
            }
            _ => return None,
        })
    }

    fn eval(&self, input: &Val) -> Result<Option<Val>, Defer> {
        Ok(Some(match self {
            Expr::Id => input.clone(),
            Expr::Str(b) => string(b),
            Expr::Null => Val::Null,
            Expr::Bool(b) => Val::from(*b),
            Expr::Path(base, steps) => {
                let Some(mut v) = base.eval(input)? else {
                    return Ok(None);
                };
                for step in steps {
                    v = match step {
                        Step::Key(k) => index(&v, k)?,
                        Step::Slice(from, upto) => {
                            let (from, upto) = (from.map(Val::from), upto.map(Val::from));
                            v.range(from.as_ref()..upto.as_ref()).map_err(|_| Defer)?
                        }
                    };
                }
                v
            }
            Expr::Alt(l, r) => match l.eval(input)? {
                Some(v) if v.as_bool() => v,
                _ => return r.eval(input),
            },
            Expr::Pipe(l, r) => match l.eval(input)? {
                Some(v) => return r.eval(&v),
                None => return Ok(None),
            },
            Expr::Obj(entries) => {
                let mut map =
                    jaq_json::Map::with_capacity_and_hasher(entries.len(), Default::default());
                for (k, e) in entries {
                    let Some(v) = e.eval(input)? else {
                        return Ok(None);
                    };
                    map.insert(string(k), v);
                }
                Val::obj(map)
            }
            Expr::Select(c) => match c.eval(input)? {
                Some(v) if v.as_bool() => input.clone(),
                _ => return Ok(None),
            },
            Expr::Test(re, flags) => Val::from(regex::test_val(re, flags, input).ok_or(Defer)?),
            Expr::Capture(re, flags) => {
                let mut outs = regex::capture_val(re, flags, input).ok_or(Defer)?;
                match outs.len() {
                    0 => return Ok(None),
                    1 => outs.pop().ok_or(Defer)?,
                    _ => return Err(Defer),
                }
            }
            Expr::Sub(re, flags, with) => regex::sub_val(re, flags, with, input).ok_or(Defer)?,
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::query::jq::JqProgram;
    use crate::query::json;

    const RECORDS: &[&str] = &[
        r#"{"eventTime":"2026-10-01T10:00:00Z","eventName":"AssumeRoleWithWebIdentity","userIdentity":{"type":"WebIdentityUser","userName":"repo:octo/app:ref:refs/heads/main"},"userAgent":"aws-cli/2.15.0 md/run_id#42 ua/2.0"}"#,
        r#"{"eventTime":"2026-10-01T10:00:00Z","eventName":"PutImage","userIdentity":{"type":"AssumedRole","userName":null},"userAgent":"Go-http-client/1.1","errorCode":"AccessDenied"}"#,
        r#"{"eventTime":"2026-10-01T10:00:00Z","userIdentity":{"type":"IAMUser","userName":"alice"},"userAgent":"x"}"#,
        r#"{"eventTime":"é✓x1234567890","userIdentity":"a string","userAgent":["an","array"]}"#,
        r#"{"eventTime":5,"userIdentity":[1],"userAgent":{"k":"v"}}"#,
        r#"{"eventTime":null,"userIdentity":null,"userAgent":null,"errorCode":false}"#,
        r#"{}"#,
    ];

    /// The native outputs, or `None` when it gives the record to jaq.
    fn native(code: &str, rec: &str) -> Option<Vec<String>> {
        let n = Native::compile(code).unwrap_or_else(|| panic!("not native: {code}"));
        let v = json::parse(rec.as_bytes(), None).unwrap();
        n.eval(&v)
            .ok()
            .map(|o| o.iter().map(crate::query::output::to_json).collect())
    }

    fn jaq(code: &str, rec: &str) -> Vec<Result<String, String>> {
        let p = JqProgram::compile(code).unwrap();
        let v = json::parse(rec.as_bytes(), None).unwrap();
        let mut out = Vec::new();
        p.run_jaq(v, |r| {
            out.push(r.map(|v| crate::query::output::to_json(&v)));
            true
        });
        out
    }

    #[test]
    fn same_outputs_as_jaq() {
        let programs = [
            r#"{repo: ((.userIdentity.userName // "" | capture("^repo:(?<r>[^:]+)").r) // "(no OIDC subject)"), day: .eventTime[:10]}"#,
            r#".userAgent | sub("/[0-9.]+"; "")"#,
            r##".userAgent | gsub("[0-9]"; "#")"##,
            r#".userAgent | sub("(?<v>[0-9]+)"; "N"; "g")"#,
            r#"select(.userAgent | test("run_id#")) | {run: (.userAgent | capture("run_id#(?<id>[0-9]+)").id), sub: .userIdentity.userName}"#,
            r#"select(.errorCode) | {eventName, errorCode, who: .userIdentity.type}"#,
            r#".userAgent | test("GO"; "i")"#,
            r#".eventTime[2:5]"#,
            r#".eventTime[11:]"#,
            r#"{t: .eventTime[:10], n: (.eventName // null), x: true, y: false, z: null}"#,
            r#".userIdentity.userName // .userIdentity.type // "none""#,
            r#".userAgent | capture("(?<a>[a-z]+)(?<b>X)?")"#,
            r#".userAgent | capture("[0-9]"; "g")"#,
            r#".userAgent | test("(")"#,
            r#".userAgent | test("x"; "q")"#,
            ".",
            "{a: .missing.deeper}",
        ];
        let mut native_rows = 0;
        for code in programs {
            for rec in RECORDS {
                let want = jaq(code, rec);
                if let Some(got) = native(code, rec) {
                    native_rows += 1;
                    let got: Vec<Result<String, String>> = got.into_iter().map(Ok).collect();
                    assert_eq!(got, want, "{code} on {rec}");
                }
                // whatever the path, `run` gives jaq's outputs
                let p = JqProgram::compile(code).unwrap();
                let mut out = Vec::new();
                p.run(json::parse(rec.as_bytes(), None).unwrap(), |r| {
                    out.push(r.map(|v| crate::query::output::to_json(&v)));
                    true
                });
                assert_eq!(out, want, "{code} on {rec} (run)");
            }
        }
        // most records of these programs take the native path
        assert_eq!(native_rows, 60);
    }

    #[test]
    fn what_is_left_to_jaq() {
        // errors, several outputs, and forms this module does not know
        let capture_g = r#".userAgent | capture("[0-9]"; "g")"#;
        assert_eq!(native(capture_g, RECORDS[0]), None);
        assert_eq!(native(capture_g, RECORDS[2]), Some(vec![]));
        assert_eq!(native(".userIdentity.userName", RECORDS[3]), None);
        assert_eq!(native(".eventTime[:2]", RECORDS[4]), None);
        assert_eq!(native(r#".userAgent | test("(")"#, RECORDS[0]), None);
        assert_eq!(native(r#".userAgent | test("x"; "q")"#, RECORDS[0]), None);
        for code in [
            ".a, .b",
            ".a?",
            ".a[0]",
            ".[\"a\"] | length",
            "{(.a): 1}",
            "{a: 1}",
            r#"{a: "x", a: "y"}"#,
            r#"sub("a"; "\(.x)")"#,
            r#"test("a"; "g"; "x")"#,
            ". as $x | $x",
            "def f: .; f",
            ".a[-1:]",
            ".a[]",
            ".a[] | .b",
            "select(.a; .b)",
        ] {
            assert!(Native::compile(code).is_none(), "{code}");
        }
    }

    /// Generated records full of what differs between spellings (escapes, repeated keys,
    /// secrets, values of every type where objects are expected): the native path on the
    /// record built whole, and on the record of only the parts the program reads, gives
    /// jaq's outputs and errors on the whole record.
    #[test]
    fn generated_records_give_jaqs_outputs() {
        let mut g = crate::query::project::tests::Gen(0x9E37_79B9_7F4A_7C15);
        let programs: Vec<(&str, JqProgram)> = [
            r#"{a: (.a.b // "none"), c: .c}"#,
            r#".a.c // .b // "x""#,
            r#"select(.a) | {t: .token, n: .a.a}"#,
            r#".b | test("a"; "i")"#,
            r#"{x: (.c // "" | capture("(?<d>[0-9])").d)}"#,
            r#".a | sub("[a-z]"; "-")"#,
            r#".c[1:3]"#,
        ]
        .into_iter()
        .map(|code| (code, JqProgram::compile(code).unwrap()))
        .collect();
        let (mut native_used, mut total) = (0, 0);
        for _ in 0..1500 {
            let mut record = g.value(0);
            if !record.starts_with('{') {
                record = format!("{{\"a\":{record}}}");
            }
            let Ok(whole) = json::parse(record.as_bytes(), None) else {
                continue;
            };
            for (code, p) in &programs {
                let outputs = |v: Val, jaq_only: bool| {
                    let mut out = Vec::new();
                    let f = |r: Result<Val, String>| {
                        out.push(r.map(|v| crate::query::output::to_json(&v)));
                        true
                    };
                    if jaq_only {
                        p.run_jaq(v, f)
                    } else {
                        p.run(v, f)
                    }
                    out
                };
                let want = outputs(whole.clone(), true);
                assert_eq!(outputs(whole.clone(), false), want, "{code} on {record}");
                let parts = p.parts().unwrap_or_else(|| panic!("{code}"));
                let part = json::parse(record.as_bytes(), Some(parts)).unwrap();
                assert_eq!(outputs(part, false), want, "{code} on {record} (parts)");
                total += 1;
                if Native::compile(code).unwrap().eval(&whole).is_ok() {
                    native_used += 1;
                }
            }
        }
        // many take the native path (the others meet a value of a type the program fails
        // on, or are not objects where the program looks for keys)
        assert!(native_used * 5 > total, "{native_used} of {total}");
    }
}
