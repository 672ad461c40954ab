//! `--jq EXPR`: the jq language, through jaq (jaq-core, jaq-std, jaq-json). The program is
//! parsed and compiled once; the compiled filter holds no values, so one copy serves every
//! worker thread, each running it on its own records.
//!
//! This module does not read records nor decide what a row is; it turns one value into the
//! stream of the filter's outputs, and runtime errors into messages.

use jaq_core::data::JustLut;
use jaq_core::load::{self, Arena, File, Loader};
use jaq_core::{Compiler, Ctx, Vars};
use jaq_json::Val;

use super::eval::{constant_string, Native};
use super::project::Projection;
use super::regex;
use super::value::Wanted;

type Data = JustLut<Val>;

/// A compiled jq program.
pub struct JqProgram {
    filter: jaq_core::Filter<Data>,
    /// The only parts of the record the program can see, when it provably looks at nothing
    /// else (see [`read_parts`]).
    parts: Option<Wanted>,
    /// What it outputs, when it only copies parts of the record (see [`projection`]).
    projection: Option<Projection>,
    /// The program as a regex `select` then a projection (see [`regex_select`]).
    regex_select: Option<RegexSelect>,
    /// The program evaluated without jaq's interpreter, when it has that shape (see
    /// [`super::eval`]).
    native: Option<Native>,
}

/// `select(PATH [// "TEXT"] | test("RE"[; "FLAGS"])) [| REST]`: no rows when the string at
/// `path` (or `default`, for a missing, null or false value) does not match; when it does,
/// the rows are `then`'s if REST is a projection (or absent), else the program's.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RegexSelect {
    pub path: Vec<String>,
    pub default: Option<String>,
    pub pattern: String,
    pub flags: String,
    pub then: Option<Projection>,
}

impl JqProgram {
    /// Parses and compiles `code`; the error is jaq's message, located in `code`.
    pub fn compile(code: &str) -> Result<JqProgram, String> {
        Self::compile_regex(code, true)
    }

    /// [`compile`](Self::compile) with jaq-std's own regex filters, for comparing.
    #[cfg(test)]
    pub fn compile_with_jaq_regex(code: &str) -> Result<JqProgram, String> {
        Self::compile_regex(code, false)
    }

    /// `ours`: with the cached regex natives of [`super::regex`] in place of jaq-std's.
    fn compile_regex(code: &str, ours: bool) -> Result<JqProgram, String> {
        let defs = jaq_core::defs()
            .chain(jaq_std::defs().filter(|d| !(ours && regex::replaced_def(d.name, d.args.len()))))
            .chain(jaq_json::defs());
        let funs = jaq_core::funs::<Data>()
            .chain(jaq_std::funs::<Data>().filter(|f| !(ours && regex::replaced(f.0))))
            .chain(jaq_json::funs::<Data>().filter(|f| f.0 != "fromjson"))
            .chain(std::iter::once(fromjson()))
            .chain(regex::funs().filter(move |_| ours));
        let arena = Arena::default();
        let modules = Loader::new(defs)
            .load(&arena, File { code, path: () })
            .map_err(|errs| load_message(code, errs))?;
        load::import(
            &modules,
            |_| Err("modules cannot be loaded here".to_owned()),
        )
        .map_err(|errs| load_message(code, errs))?;
        let filter = Compiler::default()
            .with_funs(funs)
            .compile(modules)
            .map_err(|errs| {
                let msgs: Vec<String> = errs
                    .into_iter()
                    .flat_map(|(_, es)| es)
                    .map(|(found, undefined)| {
                        let what = match undefined {
                            jaq_core::compile::Undefined::Filter(arity) => {
                                format!("filter {found}/{arity}")
                            }
                            other => format!("{} {found}", other.as_str()),
                        };
                        format!("undefined {what} at {}", position(code, found))
                    })
                    .collect();
                msgs.join("; ")
            })?;
        Ok(JqProgram {
            filter,
            parts: read_parts(code),
            projection: projection(code),
            regex_select: regex_select(code),
            // (it calls this module's regex natives: not when comparing with jaq-std's)
            native: Native::compile(code).filter(|_| ours),
        })
    }

    /// The parts of the record the program outputs, when that is all it does.
    pub fn projection(&self) -> Option<&Projection> {
        self.projection.as_ref()
    }

    /// The program as a regex `select` and a projection, when that is all it does.
    pub fn regex_select(&self) -> Option<&RegexSelect> {
        self.regex_select.as_ref()
    }

    /// The parts of the record the program reads, if it reads nothing else of it (so a
    /// record holding only those parts gives the same outputs and errors); `None` when it
    /// may use the whole record.
    pub fn parts(&self) -> Option<&Wanted> {
        self.parts.as_ref()
    }

    /// Runs the program on `input`, handing each output to `f`: a value, or a runtime error
    /// (the filter's other outputs go on, as in jq). Stops early when `f` returns false.
    pub fn run(&self, input: Val, mut f: impl FnMut(Result<Val, String>) -> bool) {
        match self.native.as_ref().map(|n| n.eval(&input)) {
            Some(Ok(Some(v))) => {
                f(Ok(v));
            }
            Some(Ok(None)) => {}
            // not of the native shape, or an error or several outputs: jaq's to give
            None | Some(Err(_)) => self.run_jaq(input, f),
        }
    }

    /// [`run`](Self::run) through jaq's interpreter only.
    pub fn run_jaq(&self, input: Val, mut f: impl FnMut(Result<Val, String>) -> bool) {
        let ctx = Ctx::<Data>::new(&self.filter.lut, Vars::new([]));
        for item in self.filter.id.run((ctx, input)) {
            let more = match item {
                Ok(v) => f(Ok(v)),
                Err(exn) => match exn.get_err() {
                    Ok(e) => f(Err(error_text(&e))),
                    // `halt` and `halt_error` end the program for this record
                    Err(_) => false,
                },
            };
            if !more {
                break;
            }
        }
    }
}

/// The parts of the record a program reads, when the record reaches it only through paths
/// of constant keys (`{eventTime, eventName}`, `select(.errorCode) | [.a, .b.c]`,
/// `.userIdentity.userName | test("x")`): each path is wanted up to its last constant key
/// (`.b.c` wants `c` of `b`, `.d[0].e` and `.d | keys` want all of `d`). `None` as soon as
/// the record itself may be output, bound to a variable, passed to a function or updated.
/// A conservative syntactic analysis: whatever it does not know means `None`.
pub fn read_parts(code: &str) -> Option<Wanted> {
    let term = load::parse(code, |p| p.term())?;
    let reads = root_reads(&term)?;
    if reads.outputs_root {
        return None;
    }
    Some(Wanted::from_paths(reads.paths))
}

/// The program as a [`Projection`], when it only copies parts of the record: `.`, a path
/// of constant keys (`.a.b`, `.["a"]`, `.a?`), or an object of those with distinct
/// constant keys (`{eventName, who: .userIdentity.arn}`). Exactly one output per record,
/// unless indexing fails, which the projection leaves to the program.
pub fn projection(code: &str) -> Option<Projection> {
    projection_of(&load::parse(code, |p| p.term())?)
}

/// The program as a [`RegexSelect`]: `select(PATH | test("RE"))`, `select(PATH | test("RE";
/// "FLAGS"))`, `select(PATH // "TEXT" | test(…))` (constant strings, a path of constant
/// keys), alone (the record is the row) or followed by `| REST`. For a record whose `PATH`
/// is a string (or, with `// "TEXT"`, missing, null or false), there are no rows when it does
/// not match; when it does, the rows are REST's: written from the bytes when REST is a
/// [`projection`], else the program's. Any other record (a value that makes `test` fail)
/// goes to the program.
pub fn regex_select(code: &str) -> Option<RegexSelect> {
    use load::parse::{BinaryOp, Term};
    let term = load::parse(code, |p| p.term())?;
    let (head, then) = match &term {
        Term::BinOp(l, BinaryOp::Pipe(None), r) => (&**l, projection_of(r)),
        t => (t, Some(Projection::Path(Vec::new()))),
    };
    let Term::Call("select", args) = head else {
        return None;
    };
    let [Term::BinOp(value, BinaryOp::Pipe(None), test)] = &args[..] else {
        return None;
    };
    let (path, default) = match &**value {
        Term::BinOp(path, BinaryOp::Alt, text) => (&**path, Some(constant_string(text)?)),
        path => (path, None),
    };
    let path = key_path(path).filter(|p| !p.is_empty())?;
    let Term::Call("test", test_args) = &**test else {
        return None;
    };
    let (pattern, flags) = match &test_args[..] {
        [re] => (constant_string(re)?, String::new()),
        [re, flags] => (constant_string(re)?, constant_string(flags)?),
        _ => return None,
    };
    Some(RegexSelect {
        path,
        default,
        pattern,
        flags,
        then,
    })
}

fn projection_of(term: &load::parse::Term<&str>) -> Option<Projection> {
    use load::parse::Term;
    match term {
        Term::Obj(entries) => {
            let mut out: Vec<(String, Vec<String>)> = Vec::with_capacity(entries.len());
            for (k, v) in entries {
                let key = constant_string(k)?;
                let path = match v {
                    None => vec![key.clone()],
                    Some(v) => key_path(v)?,
                };
                if out.iter().any(|(seen, _)| *seen == key) {
                    return None;
                }
                out.push((key, path));
            }
            Some(Projection::Object(out))
        }
        t => key_path(t).map(Projection::Path),
    }
}

/// `[]` for `.`, `["a", "b"]` for `.a.b` (constant keys only).
fn key_path(t: &load::parse::Term<&str>) -> Option<Vec<String>> {
    use jaq_core::path::Part;
    use load::parse::Term;
    match t {
        Term::Id => Some(Vec::new()),
        Term::Path(base, path) if matches!(**base, Term::Id) => path
            .0
            .iter()
            .map(|(part, _)| match part {
                Part::Index(k) => constant_string(k),
                Part::Range(..) => None,
            })
            .collect(),
        _ => None,
    }
}

/// What a term does with its input when that input is the record.
struct Reads {
    /// Paths of constant keys read (each read whole).
    paths: Vec<Vec<String>>,
    /// Some output may be the record itself.
    outputs_root: bool,
}

impl Reads {
    fn none() -> Reads {
        Reads {
            paths: Vec::new(),
            outputs_root: false,
        }
    }

    /// Reads of a sub-term whose outputs are used as values (never the record whole).
    fn value(t: &load::parse::Term<&str>) -> Option<Reads> {
        let r = root_reads(t)?;
        (!r.outputs_root).then_some(r)
    }

    fn and(mut self, other: Reads) -> Reads {
        self.paths.extend(other.paths);
        self.outputs_root |= other.outputs_root;
        self
    }
}

/// [`Reads`] of `t` run on the record; `None` when the record may be used otherwise.
fn root_reads(t: &load::parse::Term<&str>) -> Option<Reads> {
    use jaq_core::path::Part;
    use load::lex::StrPart;
    use load::parse::{BinaryOp, Term};
    let index_reads = |parts: &[(Part<Term<&str>>, jaq_core::path::Opt)]| {
        // index terms of a path run on the path's input: the record
        let mut r = Reads::none();
        for (part, _) in parts {
            match part {
                Part::Index(i) => r = r.and(Reads::value(i)?),
                Part::Range(a, b) => {
                    for x in [a, b].into_iter().flatten() {
                        r = r.and(Reads::value(x)?);
                    }
                }
            }
        }
        Some(r)
    };
    match t {
        Term::Id => Some(Reads {
            paths: Vec::new(),
            outputs_root: true,
        }),
        Term::Num(_) | Term::Var(_) => Some(Reads::none()),
        Term::Call("null" | "true" | "false" | "empty", args) if args.is_empty() => {
            Some(Reads::none())
        }
        Term::Str(None, parts) => {
            let mut r = Reads::none();
            for p in parts {
                if let StrPart::Term(x) = p {
                    r = r.and(Reads::value(x)?);
                }
            }
            Some(r)
        }
        Term::Arr(None) => Some(Reads::none()),
        Term::Arr(Some(x)) | Term::Neg(x) => Reads::value(x),
        Term::Obj(entries) => {
            let mut r = Reads::none();
            for (k, v) in entries {
                match (k, v) {
                    (Term::Var(_), None) => {}
                    (k, None) => {
                        // `{a}` reads `.a`
                        r.paths.push(vec![constant_string(k)?]);
                    }
                    (k, Some(v)) => {
                        r = r.and(Reads::value(k)?).and(Reads::value(v)?);
                    }
                }
            }
            Some(r)
        }
        Term::Path(base, path) => match (&**base, &path.0[..]) {
            (Term::Id, [(Part::Index(k), _), rest @ ..]) => {
                let mut path = vec![constant_string(k)?];
                // up to the last constant key: `.a.b[0]` reads all of `.a.b`
                path.extend(rest.iter().map_while(|(part, _)| match part {
                    Part::Index(k) => constant_string(k),
                    Part::Range(..) => None,
                }));
                let mut r = index_reads(rest)?;
                r.paths.push(path);
                Some(r)
            }
            (Term::Id, _) => None,
            (base, parts) => Some(Reads::value(base)?.and(index_reads(parts)?)),
        },
        Term::TryCatch(x, None) => root_reads(x),
        Term::IfThenElse(branches, otherwise) => {
            let mut r = match otherwise {
                Some(e) => root_reads(e)?,
                // `if c then x end` outputs its input otherwise
                None => Reads {
                    paths: Vec::new(),
                    outputs_root: true,
                },
            };
            for (cond, then) in branches {
                r = r.and(Reads::value(cond)?).and(root_reads(then)?);
            }
            Some(r)
        }
        Term::Call("select", args) if args.len() == 1 => {
            let mut r = Reads::value(&args[0])?;
            r.outputs_root = true;
            Some(r)
        }
        Term::BinOp(l, op, r) => match op {
            BinaryOp::Pipe(None) => {
                let left = root_reads(l)?;
                if left.outputs_root {
                    // the right side sees the record too
                    Some(
                        Reads {
                            paths: left.paths,
                            outputs_root: false,
                        }
                        .and(root_reads(r)?),
                    )
                } else {
                    // the right side sees values built from the fields read
                    Some(left)
                }
            }
            BinaryOp::Comma | BinaryOp::Alt => Some(root_reads(l)?.and(root_reads(r)?)),
            BinaryOp::Or | BinaryOp::And | BinaryOp::Cmp(_) | BinaryOp::Math(_) => {
                Some(Reads::value(l)?.and(Reads::value(r)?))
            }
            _ => None,
        },
        _ => None,
    }
}

/// Byte needles a record must hold for the program to output anything for it, as groups
/// (every group must have one of its needles in the record): what a leading
/// `select(COND)` needs, for conditions on top-level fields that cannot fail (`.k`,
/// `.k != null`, `.k == "text"`, `and`, `or`). Anything else requires nothing.
///
/// Used as a byte pre-filter before a record is parsed: a record without the needles would
/// give `select` a false condition, so skipping it changes no output and hides no error.
pub fn required_needles(code: &str) -> Vec<Vec<String>> {
    use load::parse::Term;
    let Some(term) = load::parse(code, |p| p.term()) else {
        return Vec::new();
    };
    // the head of a pipe: when it outputs nothing, the pipe outputs nothing
    let mut head = &term;
    while let Term::BinOp(l, load::parse::BinaryOp::Pipe(_), _) = head {
        head = l;
    }
    match head {
        Term::Call("select", args) if args.len() == 1 => condition(&args[0]).unwrap_or_default(),
        _ => Vec::new(),
    }
}

/// Needles (AND of OR-groups) without which `cond` is false; `None` when unknown.
fn condition(cond: &load::parse::Term<&str>) -> Option<Vec<Vec<String>>> {
    use jaq_core::ops::Cmp;
    use load::parse::{BinaryOp, Term};
    match cond {
        Term::BinOp(l, BinaryOp::And, r) => {
            let mut all = condition(l).unwrap_or_default();
            all.extend(condition(r).unwrap_or_default());
            (!all.is_empty()).then_some(all)
        }
        Term::BinOp(l, BinaryOp::Or, r) => {
            // (a1 ∧ a2) ∨ (b1 ∧ b2) needs (a1 ∨ b1) ∧ (a1 ∨ b2) ∧ …
            let (a, b) = (condition(l)?, condition(r)?);
            Some(
                a.iter()
                    .flat_map(|ga| b.iter().map(move |gb| [ga.clone(), gb.clone()].concat()))
                    .collect(),
            )
        }
        Term::BinOp(l, BinaryOp::Cmp(Cmp::Ne), r) if is_null(r) => {
            top_field(l).map(|k| vec![vec![k]])
        }
        Term::BinOp(l, BinaryOp::Cmp(Cmp::Eq), r) => {
            let (field, lit) = match (top_field(l), top_field(r)) {
                (Some(k), None) => (k, literal(r)?),
                (None, Some(k)) => (k, literal(l)?),
                _ => return None,
            };
            Some(vec![vec![field], vec![lit]])
        }
        other => top_field(other).map(|k| vec![vec![k]]),
    }
}

fn is_null(t: &load::parse::Term<&str>) -> bool {
    matches!(t, load::parse::Term::Call("null", args) if args.is_empty())
}

/// `k` for `.k` or `.k?` (a field of the record, which is an object: never an error), when
/// `k` is plain text that JSON writes as itself.
fn top_field(t: &load::parse::Term<&str>) -> Option<String> {
    use jaq_core::path::Part;
    use load::parse::Term;
    let Term::Path(base, path) = t else {
        return None;
    };
    match (&**base, &path.0[..]) {
        (Term::Id, [(Part::Index(key), _)]) => literal(key),
        _ => None,
    }
}

/// The text of a string literal without escapes or interpolation, if JSON writes it as
/// itself (printable, no quote or backslash).
fn literal(t: &load::parse::Term<&str>) -> Option<String> {
    use load::lex::StrPart;
    use load::parse::Term;
    let Term::Str(None, parts) = t else {
        return None;
    };
    let [StrPart::Str(text)] = &parts[..] else {
        return None;
    };
    let plain = !text.is_empty() && text.bytes().all(|b| b >= 0x20 && b != b'"' && b != b'\\');
    plain.then(|| (*text).to_owned())
}

/// A runtime error as jq shows it: a string error as itself, anything else as JSON.
/// `fromjson` (and `tonumber`, which jaq defines over it): one JSON value, or one error.
/// jaq-json's own reads a stream of values and, on text that is not JSON (`"aws-cli/2"`),
/// yields errors without end, so a program like `.userAgent | tonumber` never finished.
fn fromjson() -> jaq_core::native::Fun<Data> {
    use jaq_core::box_iter::box_once;
    use jaq_core::native::{run, v};
    use jaq_core::{Error, Exn};
    run::<Data>(("fromjson", v(0), |cv| {
        let input = &cv.1;
        let parsed = input.try_as_utf8_bytes_owned().and_then(|text| {
            super::value::parse(&text)
                .map_err(|e| Error::str(format_args!("cannot parse {input} as JSON: {e}")))
        });
        box_once(parsed.map_err(Exn::from))
    }))
}

fn error_text(e: &jaq_core::Error<Val>) -> String {
    let text = e.to_string();
    text.strip_prefix('"')
        .and_then(|t| t.strip_suffix('"'))
        .map_or(text.clone(), str::to_owned)
}

/// `line L, column C` of a slice of `code` (jaq reports errors as slices of the program).
fn position(code: &str, part: &str) -> String {
    let start = if part.is_empty() && !code.is_empty() {
        code.len()
    } else {
        load::span(code, part).start.min(code.len())
    };
    let before = &code[..start];
    let line = before.matches('\n').count() + 1;
    let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    format!("line {line}, column {column}")
}

fn load_message(code: &str, errs: load::Errors<&str, ()>) -> String {
    let mut msgs = Vec::new();
    for (_, err) in errs {
        match err {
            load::Error::Io(es) => {
                for (path, e) in es {
                    msgs.push(format!("cannot load module {path}: {e}"));
                }
            }
            load::Error::Lex(es) => {
                for (expected, found) in es {
                    let what = match expected {
                        load::lex::Expect::Delim(open) => format!("unclosed {open}"),
                        other => format!("expected {}", other.as_str()),
                    };
                    msgs.push(format!("syntax error: {what} at {}", position(code, found)));
                }
            }
            load::Error::Parse(es) => {
                for (expected, found) in es {
                    let got = if found.is_empty() {
                        "the end".to_owned()
                    } else {
                        format!("'{}'", found.chars().take(20).collect::<String>())
                    };
                    msgs.push(format!(
                        "syntax error: expected {}, found {got} at {}",
                        expected.as_str(),
                        position(code, found)
                    ));
                }
            }
        }
    }
    msgs.join("; ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::query::output::to_json;
    use crate::query::value::parse;

    fn outputs(code: &str, input: &str) -> (Vec<String>, Vec<String>) {
        let p = JqProgram::compile(code).unwrap();
        let (mut out, mut errs) = (Vec::new(), Vec::new());
        p.run(parse(input.as_bytes()).unwrap(), |r| {
            match r {
                Ok(v) => out.push(to_json(&v)),
                Err(e) => errs.push(e),
            }
            true
        });
        (out, errs)
    }

    #[test]
    fn runs_like_jq() {
        let rec = r#"{"eventName":"PutImage","userAgent":"x md/run_id#42 y","eventTime":"2026-10-01T10:00:00Z","n":[1,2]}"#;
        assert_eq!(
            outputs(
                r#"select(.userAgent|test("run_id#42")) | {e: .eventName, day: .eventTime[:10]}"#,
                rec
            )
            .0,
            [r#"{"e":"PutImage","day":"2026-10-01"}"#]
        );
        assert_eq!(outputs(".n[]", rec).0, ["1", "2"]);
        assert!(outputs("empty", rec).0.is_empty());
        let (out, errs) = outputs(".n[], error(\"boom\"), 3", rec);
        assert_eq!(out, ["1", "2", "3"]);
        assert_eq!(errs, ["boom"]);
        let (_, errs) = outputs(".eventName | .x", rec);
        assert_eq!(errs.len(), 1);
        assert!(errs[0].contains("cannot index"), "{errs:?}");
    }

    #[test]
    fn needles_of_a_leading_select() {
        let n = |code: &str| required_needles(code);
        let v = |g: &[&[&str]]| -> Vec<Vec<String>> {
            g.iter()
                .map(|x| x.iter().map(|s| s.to_string()).collect())
                .collect()
        };
        assert_eq!(
            n("select(.errorCode != null) | {eventName}"),
            v(&[&["errorCode"]])
        );
        assert_eq!(n("select(.errorCode)"), v(&[&["errorCode"]]));
        assert_eq!(
            n(r#"select(.eventName == "PutImage" and .errorCode?) | .a | .b"#),
            v(&[&["eventName"], &["PutImage"], &["errorCode"]])
        );
        assert_eq!(
            n(r#"select("x" == .a or .b)"#),
            v(&[&["a", "b"], &["x", "b"]])
        );
        // anything that could fail, or is not understood, requires nothing
        assert!(n(r#"select(.a.b == "x")"#).is_empty());
        assert!(n(r#"select(.a | test("x"))"#).is_empty());
        assert!(n(r#"select(.a == "x\"y")"#).is_empty());
        assert!(n(r#"select(.a or (.b | not))"#).is_empty());
        assert!(n(r#"def select(f): .; select(.a)"#).is_empty());
        assert!(n(r#".a | select(.b)"#).is_empty());
        assert!(n(r#"select(.a == 1)"#).is_empty());
        assert!(n(".").is_empty());
    }

    #[test]
    fn read_parts_only_when_nothing_else_is_read() {
        let f = |code: &str| read_parts(code).map(|w| w.paths());
        let v = |k: &[&str]| Some(k.iter().map(|s| s.to_string()).collect::<Vec<_>>());
        assert_eq!(
            f("{eventTime, eventName, errorCode}"),
            v(&["errorCode", "eventName", "eventTime"])
        );
        assert_eq!(
            f("select(.errorCode != null) | {t: .eventTime}"),
            v(&["errorCode", "eventTime"])
        );
        assert_eq!(f(r#".userAgent | test("x") | not"#), v(&["userAgent"]));
        assert_eq!(
            f(r#"[.a.b[0], ."c", .d[.e]] | join("/")"#),
            v(&["a.b", "c", "d", "e"])
        );
        assert_eq!(
            f(r#"select(.a) | select(.b == "x") | "\(.c)-\(.d.e)""#),
            v(&["a", "b", "c", "d.e"])
        );
        // a path read whole wins over longer ones through it, wherever they are
        assert_eq!(
            f(r#"[.u.s.i.a, .u.s.n, .u.t, (.u.s.n | length), .x.y?, .x["z"], .w[1:].v, .k[]?.m]"#),
            v(&["k", "u.s.i.a", "u.s.n", "u.t", "w", "x.y", "x.z"])
        );
        assert_eq!(f("{a}, .a.b, .c.d, .c"), v(&["a", "c"]));
        assert_eq!(
            f(
                r#"{repo: ((.userIdentity.userName // "" | capture("^repo:(?<r>[^:]+)").r) // "-"), day: .eventTime[:10]}"#
            ),
            v(&["eventTime", "userIdentity.userName"])
        );
        assert_eq!(
            f("if .a then .b else empty end, .c // 1"),
            v(&["a", "b", "c"])
        );
        assert_eq!(f(".a | keys | length"), v(&["a"]));
        // the record itself escapes, or is used in a way not understood: everything
        for code in [
            ".",
            "select(.a)",
            "if .a then .b end",
            ".a, .",
            "keys",
            "to_entries",
            "tojson",
            ". as $r | $r.a",
            "del(.a)",
            ".a = 1",
            "..",
            ".[]",
            r#".["a" + "b"]"#,
            "{(.a): .}",
            "length",
            "map(.a)",
            "paths",
            "[.] | .[0].a",
            ". + {}",
            "def f: .a; f",
            "try . catch .",
            r#"@json "\(.)""#,
            r#"."a\u0041""#,
        ] {
            assert_eq!(f(code), None, "{code}");
        }
    }

    #[test]
    fn pruned_records_give_the_same_outputs() {
        use crate::query::value::parse_fields;
        let records = [
            r#"{"eventTime":"2026-10-01T10:00:00Z","eventName":"PutImage","errorCode":"AccessDenied","userAgent":"x md/run_id#42","a":{"b":[1,{"c":2}]},"d":{"x":1},"e":"x","c":null,"sessionToken":"s"}"#,
            r#"{"eventName":"GetObject","a":"str","userAgent":7,"e":5,"d":[1,2]}"#,
            r#"{"userIdentity":{"type":"WebIdentityUser","userName":"repo:o/r:ref:refs/heads/main","sessionContext":{"attributes":{"mfa":"false"},"x":[1]}},"a":{"b":{"c":[3],"q":"Q"},"c":1},"d":{"x":{"y":2},"z":3},"eventTime":"2026-10-01T10:00:00Z"}"#,
            r#"{"userIdentity":"a string","a":[{"b":1}],"d":null,"eventTime":5}"#,
            r#"{"userIdentity":["x"],"a":{"b":"s"},"d":{"x":[{"y":1}]},"sessionToken":{"x":1}}"#,
        ];
        let programs = [
            "{eventTime, eventName, errorCode}",
            "select(.errorCode != null) | {t: .eventTime, c: .errorCode}",
            r#".userAgent | test("run_id")"#,
            "[.a.b[1].c, .d[.e]?] | tostring",
            ".a.b",
            r#"if .errorCode then .eventName else "ok" end"#,
            ".sessionToken, .missing, (.c // 3)",
            r#"select(.eventName == "GetObject") | .a"#,
            ".userIdentity.userName",
            r#"{repo: ((.userIdentity.userName // "" | capture("^repo:(?<r>[^:]+)").r) // "-"), day: .eventTime[:10]?}"#,
            "[.a.b.c?, .a.b.q?, .a.c?] | tostring",
            "{u: .userIdentity.sessionContext.attributes?}",
            r#".d.x.y? // "none""#,
            "[.a.b?] | length",
            ".sessionToken.x, (.d | type)",
            ".d.x, .d.x.y?",
        ];
        for code in programs {
            let p = JqProgram::compile(code).unwrap();
            let keys = p.parts().unwrap_or_else(|| panic!("{code}")).clone();
            for rec in records {
                let full = {
                    let mut v = parse(rec.as_bytes()).unwrap();
                    crate::query::value::redact(&mut v);
                    v
                };
                let part = {
                    let mut v = parse_fields(rec.as_bytes(), &keys).unwrap();
                    crate::query::value::redact(&mut v);
                    v
                };
                let fast = crate::query::json::parse(rec.as_bytes(), Some(&keys)).unwrap();
                assert!(fast == part, "{code} on {rec}: {fast:?}, {part:?}");
                let run = |v| {
                    let mut out = Vec::new();
                    p.run(v, |r| {
                        out.push(r.map(|v| to_json(&v)));
                        true
                    });
                    out
                };
                let want = run(full);
                assert_eq!(want, run(part), "{code} on {rec}");
                assert_eq!(want, run(fast), "{code} on {rec}");
            }
        }
    }

    #[test]
    fn regex_selects_are_recognised() {
        let rs = regex_select(r#"select(.userAgent | test("run_id#")) | .eventID"#).unwrap();
        assert_eq!(rs.path, ["userAgent"]);
        assert_eq!((rs.pattern.as_str(), rs.flags.as_str()), ("run_id#", ""));
        assert_eq!(rs.then, Some(Projection::Path(vec!["eventID".into()])));
        assert_eq!(rs.default, None);
        let rs = regex_select(r#"select(.a.b | test("x"; "gi"))"#).unwrap();
        assert_eq!(rs.path, ["a", "b"]);
        assert_eq!(rs.flags, "gi");
        assert_eq!(rs.then, Some(Projection::Path(vec![])));
        let rs = regex_select(r#"select(.a | test("x")) | {eventID, u: .userAgent}"#).unwrap();
        assert!(matches!(rs.then, Some(Projection::Object(_))));
        // any other REST: the rows are the program's when the test passes
        let rs = regex_select(r#"select(.a | test("x")) | .b | length"#).unwrap();
        assert_eq!(rs.then, None);
        let rs = regex_select(r#"select(.u.n // "" | test("^repo:")) | .u"#).unwrap();
        assert_eq!((rs.path.len(), rs.default.as_deref()), (2, Some("")));
        for not in [
            r#"select(.a // .b | test("x"))"#,
            r#"select(.a | test("x")), .b"#,
            r#"select(.a | test("x")) as $x | $x"#,
            r#"select(. | test("x"))"#,
            r#"select(.a | test($x))"#,
            r#"select(.a | test("\(.b)"))"#,
            r#"select(.a | test("x") | not)"#,
            r#"select(.a | match("x")) | .b"#,
            r#"def test(x): true; select(.a | test("x"))"#,
            r#"select(.a | ascii_downcase | test("x"))"#,
        ] {
            assert_eq!(regex_select(not), None, "{not}");
        }
    }

    #[test]
    fn compile_errors_are_located() {
        let e = JqProgram::compile(".a | nosuchfn").err().unwrap();
        assert_eq!(e, "undefined filter nosuchfn/0 at line 1, column 6");
        let e = JqProgram::compile(".a |").err().unwrap();
        assert!(e.starts_with("syntax error"), "{e}");
        let e = JqProgram::compile("{a: (.b").err().unwrap();
        assert!(e.contains("unclosed"), "{e}");
    }
}
