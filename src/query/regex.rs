//! jq's regular-expression filters for `--jq`, on the `regex` crate with one compiled
//! expression per pattern and flags, kept per thread.
//!
//! jaq-std compiles the pattern again for every record it is applied to (with `regex-bites`,
//! a small engine without a literal prefilter), which made `select(.userAgent |
//! test("…"))` several times slower than a field comparison. These natives replace its
//! three regex primitives under the same names and with the same outputs (`matches`,
//! `split_matches`, `split_`, on which jaq-std's `match` and `split/2` are defined) and the
//! filters jaq-std defines in jq over them: `test/2` (which only asks whether there is a
//! match instead of building match objects), `capture/2`, `scan/2` and `sub/3` (so also
//! `capture/1`, `scan/1`, `sub/2` and `gsub`), which build their results straight from the
//! match spans instead of from match objects. `tests` holds them to jaq-std's output.
//!
//! `capture`, `scan` and `sub` follow jq 1.7 where jaq-std differs: a named group that took
//! no part is `null` in `capture`'s object (and in `sub`'s replacement input), a group that
//! took no part is `null` in `scan`'s array, and a `sub` replacement with several outputs
//! gives one result per output index, as jq 1.7's definition does (the *i*-th output of
//! every match's replacement in the *i*-th result), an empty one drops its match and the
//! text before it, and with no replacement at all the input is the result.
//!
//! A match is an array of match objects, the whole match first, then each capture group, as
//! jq writes them: `{"offset", "length", "string"}` (offsets and lengths in characters),
//! plus `"name"` (`null` for an unnamed group) for a group; a group that took no part is
//! `{"offset": -1, "string": null, "length": 0, "name"}` and an empty one lists its string
//! before its length, as jq does (jaq-std leaves out the groups that took no part and the
//! names of unnamed ones).

use std::cell::RefCell;
use std::rc::Rc;

use jaq_core::box_iter::box_once;
use jaq_core::native::{run, v, Fun};
use jaq_core::{Bind, Cv, Error, Exn, ValT as _, ValXs};
use jaq_json::Val;
use jaq_std::ValT as _;

/// Compiled expressions kept per thread; past this many, the cache starts again.
const CACHED: usize = 64;

/// One compiled expression: its pattern, flags, whether it is for UTF-8 text, and itself.
/// (Shared, not cloned: a cloned `Regex` starts with an empty search cache of its own.)
type Entry = (Box<str>, Box<str>, bool, Rc<Compiled>);

thread_local! {
    /// A program holds a handful of patterns: a short list searched without allocating
    /// beats a map whose key would be built for every lookup.
    static CACHE: RefCell<Vec<Entry>> = const { RefCell::new(Vec::new()) };
}

/// A compiled expression and its groups' names as jq strings (`capture`'s keys, made once).
struct Compiled {
    engine: Engine,
    keys: Box<[Option<Val>]>,
}

/// The expression: over `str` for UTF-8 text (so an empty match never falls inside a
/// character, as with jaq-std), over bytes for the rare string that is not UTF-8.
enum Engine {
    Text(regex::Regex),
    Bytes(regex::bytes::Regex),
}

/// The byte spans of one match's groups (`None` for a group that took no part).
type Spans = Vec<Option<(usize, usize)>>;

impl Compiled {
    fn is_match(&self, text: &[u8]) -> bool {
        match (&self.engine, std::str::from_utf8(text)) {
            (Engine::Text(re), Ok(s)) => re.is_match(s),
            (Engine::Bytes(re), _) => re.is_match(text),
            (Engine::Text(_), Err(_)) => false,
        }
    }

    /// jq's `test`: whether there is a match (with `n`, a non-empty one).
    fn test(&self, text: &[u8], flags: Flags) -> bool {
        if !flags.ignore_empty {
            return self.is_match(text);
        }
        let mut found = false;
        self.each(text, |spans| {
            found = spans.first().copied().flatten().is_some_and(|(a, b)| a < b);
            !found
        });
        found
    }

    fn names(&self) -> Vec<Option<&str>> {
        match &self.engine {
            Engine::Text(re) => re.capture_names().collect(),
            Engine::Bytes(re) => re.capture_names().collect(),
        }
    }

    /// Calls `f` with each match in order until it returns false.
    fn each(&self, text: &[u8], mut f: impl FnMut(Spans) -> bool) {
        let spans = |it: &mut dyn Iterator<Item = Option<(usize, usize)>>| it.collect::<Spans>();
        match (&self.engine, std::str::from_utf8(text)) {
            (Engine::Text(re), Ok(s)) => {
                for caps in re.captures_iter(s) {
                    if !f(spans(
                        &mut caps.iter().map(|m| m.map(|m| (m.start(), m.end()))),
                    )) {
                        return;
                    }
                }
            }
            (Engine::Bytes(re), _) => {
                for caps in re.captures_iter(text) {
                    if !f(spans(
                        &mut caps.iter().map(|m| m.map(|m| (m.start(), m.end()))),
                    )) {
                        return;
                    }
                }
            }
            (Engine::Text(_), Err(_)) => {}
        }
    }

    /// Calls `f` with each match jq's flags ask for: the first or (`g`) every one, without
    /// the empty ones with `n`. The whole match's span is always there.
    fn each_wanted(&self, text: &[u8], flags: Flags, mut f: impl FnMut(Spans)) {
        self.each(text, |spans| {
            let Some((start, end)) = spans.first().copied().flatten() else {
                return true;
            };
            if flags.ignore_empty && start == end {
                return true;
            }
            f(spans);
            flags.global
        });
    }
}

/// jq's regex flags.
#[derive(Debug, Clone, Copy, Default)]
struct Flags {
    /// `g`: every match, not only the first
    global: bool,
    /// `n`: empty matches are left out
    ignore_empty: bool,
    /// `i`, `m`, `s`, `l`, `x` (`p` is `m` and `s`)
    case_insensitive: bool,
    multi_line: bool,
    dot_all: bool,
    lazy: bool,
    extended: bool,
}

impl Flags {
    fn parse(text: &str) -> Result<Flags, char> {
        let mut f = Flags::default();
        for c in text.chars() {
            match c {
                'g' => f.global = true,
                'n' => f.ignore_empty = true,
                'i' => f.case_insensitive = true,
                'm' => f.multi_line = true,
                's' => f.dot_all = true,
                'l' => f.lazy = true,
                'x' => f.extended = true,
                'p' => {
                    f.multi_line = true;
                    f.dot_all = true;
                }
                other => return Err(other),
            }
        }
        Ok(f)
    }
}

/// The compiled expression for `pattern` and `flags` (for `text`: UTF-8 or not), from this
/// thread's cache.
fn compiled(
    pattern: &str,
    flags_text: &str,
    flags: Flags,
    utf8: bool,
) -> Result<Rc<Compiled>, String> {
    let cached = CACHE
        .try_with(|c| {
            c.borrow()
                .iter()
                .find(|(p, f, u, _)| **p == *pattern && **f == *flags_text && *u == utf8)
                .map(|(.., re)| re.clone())
        })
        .ok()
        .flatten();
    if let Some(re) = cached {
        return Ok(re);
    }
    let fail = |e: regex::Error| format!("invalid regex: {e}");
    // the same options on either kind of builder
    macro_rules! build {
        ($builder:expr) => {
            $builder
                .case_insensitive(flags.case_insensitive)
                .multi_line(flags.multi_line)
                .dot_matches_new_line(flags.dot_all)
                .swap_greed(flags.lazy)
                .ignore_whitespace(flags.extended)
                .build()
                .map_err(fail)?
        };
    }
    let engine = if utf8 {
        Engine::Text(build!(regex::RegexBuilder::new(pattern)))
    } else {
        Engine::Bytes(build!(regex::bytes::RegexBuilder::new(pattern)))
    };
    let mut re = Compiled {
        engine,
        keys: Box::default(),
    };
    re.keys = re
        .names()
        .into_iter()
        .map(|n| n.map(|n| Val::from(n.to_owned())))
        .collect();
    let re = Rc::new(re);
    let _ = CACHE.try_with(|c| {
        let mut c = c.borrow_mut();
        if c.len() >= CACHED {
            c.clear();
        }
        c.push((pattern.into(), flags_text.into(), utf8, re.clone()));
    });
    Ok(re)
}

type Data = jaq_core::data::JustLut<Val>;

/// The natives, to chain after jaq-std's (whose same-named ones they must replace: see
/// [`replaced`] and [`replaced_def`]).
pub fn funs() -> impl Iterator<Item = Fun<Data>> {
    let natives: [jaq_core::native::Filter<jaq_core::RunPtr<Data>>; 7] = [
        ("test", v(2), |cv| outcome(apply(cv, Want::Test))),
        ("matches", v(2), |cv| outcome(apply(cv, Want::Matches))),
        ("split_matches", v(2), |cv| outcome(apply(cv, Want::Both))),
        ("split_", v(2), |cv| outcome(apply(cv, Want::Gaps))),
        ("capture", v(2), |cv| outcomes(capture(cv))),
        ("scan", v(2), |cv| outcomes(scan(cv))),
        (
            "sub",
            [Bind::Var(()), Bind::Fun(()), Bind::Var(())].into(),
            sub,
        ),
    ];
    natives.into_iter().map(run::<Data>)
}

/// Whether jaq-std's native `name` is one of ours.
pub fn replaced(name: &str) -> bool {
    matches!(name, "matches" | "split_matches" | "split_")
}

/// Whether a jaq-std definition is replaced by one of ours (`test/2`, `capture/2`, `scan/2`
/// and `sub/3`, which jaq-std defines in jq over `matches` and `split_matches`; the
/// shorter forms and `gsub` stay jaq-std's, calling these).
pub fn replaced_def(name: &str, arity: usize) -> bool {
    matches!(
        (name, arity),
        ("test", 2) | ("capture", 2) | ("scan", 2) | ("sub", 3)
    )
}

fn outcome<'a>(r: Result<Val, Error<Val>>) -> ValXs<'a, Val> {
    box_once(r.map_err(Exn::from))
}

fn outcomes<'a>(r: Result<Vec<Val>, Error<Val>>) -> ValXs<'a, Val> {
    match r {
        Ok(vs) => Box::new(vs.into_iter().map(Ok)),
        Err(e) => box_once(Err(Exn::from(e))),
    }
}

/// What a regex filter runs with: the compiled expression, the flags, the input's bytes.
type Prepared<'v> = (Rc<Compiled>, Flags, &'v [u8]);

/// The expression, flags and text of a regex filter, checked in jaq-std's order: flags,
/// pattern, then the input. `extra` adds flags (`g` for `scan`).
fn prepare<'v>(
    pattern_val: &Val,
    flags_val: &Val,
    input: &'v Val,
    extra: Flags,
) -> Result<Prepared<'v>, Error<Val>> {
    let flags_text = as_str(flags_val)?;
    // jaq-std's order: the flags are checked before the pattern
    Flags::parse(flags_text).map_err(flag_error)?;
    prepare_str(as_str(pattern_val)?, flags_text, input, extra)
}

fn flag_error(c: char) -> Error<Val> {
    Error::str(format_args!("invalid regex flag: {c}"))
}

/// [`prepare`] with the pattern and flags as text.
fn prepare_str<'v>(
    pattern: &str,
    flags_text: &str,
    input: &'v Val,
    extra: Flags,
) -> Result<Prepared<'v>, Error<Val>> {
    let flags = Flags::parse(flags_text).map_err(flag_error)?;
    let flags = Flags {
        global: flags.global || extra.global,
        ..flags
    };
    let utf8 = input
        .as_utf8_bytes()
        .is_none_or(|t| std::str::from_utf8(t).is_ok());
    let re = compiled(pattern, flags_text, flags, utf8).map_err(Error::str)?;
    let text = input.try_as_utf8_bytes()?;
    Ok((re, flags, text))
}

/// jq's capture object of one match: each named group's text, `null` for one that took
/// no part.
fn capture_object(re: &Compiled, input: &Val, text: &[u8], spans: &Spans) -> Val {
    let fields = spans.iter().zip(&re.keys).filter_map(|(span, key)| {
        let value = match *span {
            Some((s, e)) => input.as_sub_str(&text[s..e]),
            None => Val::Null,
        };
        Some((key.clone()?, value))
    });
    Val::obj(fields.collect())
}

/// `capture(re; flags)`: a capture object per match.
fn capture(mut cv: Cv<'_, Data>) -> Result<Vec<Val>, Error<Val>> {
    let flags_val = cv.0.pop_var();
    let pattern_val = cv.0.pop_var();
    let input = &cv.1;
    let prepared = prepare(&pattern_val, &flags_val, input, Flags::default())?;
    Ok(captures(prepared, input))
}

/// The capture object of each match the flags ask for.
fn captures((re, flags, text): Prepared<'_>, input: &Val) -> Vec<Val> {
    let mut out = Vec::new();
    re.each_wanted(text, flags, |spans| {
        out.push(capture_object(&re, input, text, &spans));
    });
    out
}

/// `scan(re; flags)`: every match (`g` is implied), as its text when the expression has
/// no groups, else as the array of its groups' texts (`null` for one that took no part).
fn scan(mut cv: Cv<'_, Data>) -> Result<Vec<Val>, Error<Val>> {
    let flags_val = cv.0.pop_var();
    let pattern_val = cv.0.pop_var();
    let input = &cv.1;
    let global = Flags {
        global: true,
        ..Flags::default()
    };
    let (re, flags, text) = prepare(&pattern_val, &flags_val, input, global)?;
    let text_of = |span: Option<(usize, usize)>| match span {
        Some((s, e)) => input.as_sub_str(&text[s..e]),
        None => Val::Null,
    };
    let mut out = Vec::new();
    re.each_wanted(text, flags, |spans| {
        out.push(if spans.len() > 1 {
            spans[1..].iter().map(|s| text_of(*s)).collect()
        } else {
            text_of(spans[0])
        });
    });
    Ok(out)
}

/// `sub(re; f; flags)` as jq 1.7 defines it: each match is replaced by the outputs of `f`
/// run on its capture object; the *i*-th result joins the text between matches and the
/// *i*-th output of each match's `f` (a match whose `f` has fewer outputs adds nothing to
/// the results past them, and its text and the text before it are dropped there); no
/// match, or no output of `f` for any match, gives the input.
fn sub(mut cv: Cv<'_, Data>) -> ValXs<'_, Val> {
    let flags_val = cv.0.pop_var();
    let (f, fc) = cv.0.pop_fun();
    let pattern_val = cv.0.pop_var();
    let input = cv.1;
    let (re, flags, text) = match prepare(&pattern_val, &flags_val, &input, Flags::default()) {
        Ok(p) => p,
        Err(e) => return outcome(Err(e)),
    };
    let mut matches = Vec::new();
    re.each_wanted(text, flags, |spans| matches.push(spans));
    let mut results: Vec<Vec<u8>> = Vec::new();
    let mut previous = 0;
    for spans in &matches {
        let Some((start, end)) = spans[0] else {
            continue;
        };
        let gap = &text[previous..start];
        let captures = capture_object(&re, &input, text, spans);
        for (ix, insert) in f.run((fc.clone(), captures)).enumerate() {
            let insert = match insert {
                Ok(v) => v,
                Err(exn) => return box_once(Err(exn)),
            };
            if ix == results.len() {
                results.push(Vec::new());
            }
            let result = &mut results[ix];
            match insert {
                Val::TStr(b) => {
                    result.extend_from_slice(gap);
                    result.extend_from_slice(&b);
                }
                Val::Null => result.extend_from_slice(gap),
                // jq's `$gap + $insert`, which fails for anything else
                other => {
                    if let Err(e) = input.as_sub_str(gap) + other {
                        return outcome(Err(e));
                    }
                }
            }
        }
        previous = end;
    }
    if results.is_empty() {
        return box_once(Ok(input));
    }
    let tail = &text[previous..];
    let results: Vec<Val> = results
        .into_iter()
        .map(|mut r| {
            r.extend_from_slice(tail);
            Val::utf8_str(r)
        })
        .collect();
    Box::new(results.into_iter().map(Ok))
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Want {
    /// `true` or `false`
    Test,
    /// the matches
    Matches,
    /// the text between matches
    Gaps,
    /// both, in order: text, match, text, …, text
    Both,
}

fn apply(mut cv: Cv<'_, Data>, want: Want) -> Result<Val, Error<Val>> {
    let flags_val = cv.0.pop_var();
    let pattern_val = cv.0.pop_var();
    let input = &cv.1;
    let (re, flags, text) = prepare(&pattern_val, &flags_val, input, Flags::default())?;
    if want == Want::Test {
        return Ok(Val::from(re.test(text, flags)));
    }
    let names = re.names();
    let mut out = Vec::new();
    let mut chars = CharCount::new(text);
    let mut last = 0;
    let mut failed = None;
    re.each(text, |spans| {
        let Some((start, end)) = spans.first().copied().flatten() else {
            return true;
        };
        if flags.ignore_empty && start == end {
            return true;
        }
        if matches!(want, Want::Gaps | Want::Both) {
            out.push(input.as_sub_str(&text[last..start]));
            last = end;
        }
        if matches!(want, Want::Matches | Want::Both) {
            let mut groups = Vec::new();
            for (i, (span, name)) in spans.iter().zip(&names).enumerate() {
                let key = |k: &str| Val::from(k.to_owned());
                // jq's match objects: a group that took no part is at offset -1 with a null
                // string, an empty one lists its string before its length, and every group
                // has a name (null if unnamed); the whole match has none
                let mut fields = match *span {
                    Some((s, e)) if s < e || i == 0 => vec![
                        (key("offset"), Val::from(chars.at(s) as isize)),
                        (key("length"), Val::from(count_chars(&text[s..e]) as isize)),
                        (key("string"), input.as_sub_str(&text[s..e])),
                    ],
                    Some((s, e)) => vec![
                        (key("offset"), Val::from(chars.at(s) as isize)),
                        (key("string"), input.as_sub_str(&text[s..e])),
                        (key("length"), Val::from(0isize)),
                    ],
                    None => vec![
                        (key("offset"), Val::from(-1isize)),
                        (key("string"), Val::Null),
                        (key("length"), Val::from(0isize)),
                    ],
                };
                if i > 0 {
                    let name = name.map_or(Val::Null, &key);
                    fields.push((key("name"), name));
                }
                match Val::from_map(fields) {
                    Ok(v) => groups.push(v),
                    Err(e) => {
                        failed = Some(e);
                        return false;
                    }
                }
            }
            out.push(groups.into_iter().collect());
        }
        flags.global
    });
    if let Some(e) = failed {
        return Err(e);
    }
    if matches!(want, Want::Gaps | Want::Both) {
        out.push(input.as_sub_str(&text[last..]));
    }
    Ok(out.into_iter().collect())
}

/// `input | test(pattern; flags)`, as the native `test` answers it; `None` where it fails
/// (the program then runs and reports the error).
pub fn test_val(pattern: &str, flags: &str, input: &Val) -> Option<bool> {
    let (re, flags, text) = prepare_str(pattern, flags, input, Flags::default()).ok()?;
    Some(re.test(text, flags))
}

/// `input | capture(pattern; flags)`: its outputs, as the native `capture` gives them;
/// `None` where it fails.
pub fn capture_val(pattern: &str, flags: &str, input: &Val) -> Option<Vec<Val>> {
    let prepared = prepare_str(pattern, flags, input, Flags::default()).ok()?;
    Some(captures(prepared, input))
}

/// `input | sub(pattern; "TEXT"; flags)` with a constant replacement, as the native `sub`
/// gives it (each match replaced, the input itself when nothing matches); `None` where it
/// fails.
pub fn sub_val(pattern: &str, flags: &str, replacement: &[u8], input: &Val) -> Option<Val> {
    let (re, flags, text) = prepare_str(pattern, flags, input, Flags::default()).ok()?;
    let mut out = Vec::new();
    let mut previous = 0;
    let mut matched = false;
    re.each_wanted(text, flags, |spans| {
        if let Some((start, end)) = spans[0] {
            out.extend_from_slice(&text[previous..start]);
            out.extend_from_slice(replacement);
            previous = end;
            matched = true;
        }
    });
    if !matched {
        return Some(input.clone());
    }
    out.extend_from_slice(&text[previous..]);
    Some(Val::utf8_str(out))
}

/// `text | test(pattern; flags)` for a string, as the native `test` answers it; `None` for
/// a pattern or flags that are an error (left to the program, which reports it).
pub fn test_str(pattern: &str, flags_text: &str, text: &str) -> Option<bool> {
    let flags = Flags::parse(flags_text).ok()?;
    let re = compiled(pattern, flags_text, flags, true).ok()?;
    Some(re.test(text.as_bytes(), flags))
}

/// A string argument as `str` (jaq-std's rule: a UTF-8 string, else an error).
fn as_str(v: &Val) -> Result<&str, Error<Val>> {
    v.try_as_utf8_bytes()
        .and_then(|s| std::str::from_utf8(s).map_err(Error::str))
}

/// Characters in `bytes`, each invalid UTF-8 sequence counting as one (as the replacement
/// character that stands for it).
fn count_chars(bytes: &[u8]) -> usize {
    bytes
        .utf8_chunks()
        .map(|c| c.valid().chars().count() + usize::from(!c.invalid().is_empty()))
        .sum()
}

/// Character offsets of increasing byte offsets into one text.
struct CharCount<'t> {
    text: &'t [u8],
    byte: usize,
    chars: usize,
}

impl<'t> CharCount<'t> {
    fn new(text: &'t [u8]) -> Self {
        Self {
            text,
            byte: 0,
            chars: 0,
        }
    }

    /// The character offset of byte offset `at` (on a character boundary, `>=` the last).
    fn at(&mut self, at: usize) -> usize {
        if at < self.byte {
            self.byte = 0;
            self.chars = 0;
        }
        self.chars += count_chars(&self.text[self.byte..at]);
        self.byte = at;
        self.chars
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::query::jq::JqProgram;
    use crate::query::output::to_json;

    /// Runs `code` on `input` with our natives and with jaq-std's alone.
    fn both(code: &str, input: &str) -> (Vec<String>, Vec<String>) {
        let run = |p: JqProgram| {
            let mut outs = Vec::new();
            let v = crate::query::value::parse(input.as_bytes()).unwrap();
            p.run(v, |r| {
                outs.push(match r {
                    Ok(v) => to_json(&v),
                    Err(e) => format!("error: {e}"),
                });
                true
            });
            outs
        };
        let ours = run(JqProgram::compile(code).unwrap());
        let theirs = run(JqProgram::compile_with_jaq_regex(code).unwrap());
        (ours, theirs)
    }

    #[test]
    fn same_outputs_as_jaq_std() {
        let inputs = [
            r#""GitHubActions run_id#1234 caf\u00e9 ✓ abc abc""#,
            r#""repo:acme/web:ref:refs/heads/main""#,
            r#""""#,
            r#""line1\nline2\nLINE3""#,
            r#"{"a":1}"#,
            "12",
        ];
        let programs = [
            r#"test("run_id#")"#,
            r#"test("RUN"; "i")"#,
            r#"test("RUN")"#,
            r#"test("x*"; "n")"#,
            r#"test("^line"; "gm")"#,
            r#"[match("abc"; "g")]"#,
            r#"capture("(?<org>[^:/]+)/(?<repo>[^:]+):ref:(?<ref>.*)")"#,
            r#"[scan("[a-z]+")]"#,
            r#"[scan("(a)(b)")]"#,
            r#"sub("abc"; "X")"#,
            r#"gsub("abc"; "X")"#,
            r#"gsub("(?<l>[a-z])bc"; "<\(.l)>")"#,
            r#"gsub(""; "-")"#,
            r#"[splits(":")]"#,
            r#"split(", *"; null)"#,
            r#"[match(""; "g")]"#,
            r#"test("(")"#,
            r#"test("a"; "q")"#,
            r#"[match("line.line"; "s")]"#,
            r#"ascii_downcase | test("line3")"#,
            r#"[capture("(?<w>[a-z]+)"; "g")]"#,
            r#"[capture("(?<w>[a-z]+)")]"#,
            r#"[capture("(?<e>)"; "g")]"#,
            r#"[capture("(?<e>)"; "gn")]"#,
            r#"[capture("(?<c>é) (?<t>✓)")]"#,
            r#"[capture("(?<A> A B C)"; "xi")]"#,
            r#"[capture("(?<l>^l[a-z]+)(?<n>[0-9])"; "gm")]"#,
            r#"[capture("(?<l>line.)(?<r>line)"; "s")]"#,
            r#"[capture("[a-z]+(?<d>[0-9]+)"; "g")]"#,
            r#"[capture("(a)(?<two>b)")]"#,
            r#"[scan("[A-Z]+"; "i")]"#,
            r#"[scan("")]"#,
            r#"[scan(""; "n")]"#,
            r#"[scan("(é)(.)")]"#,
            r#"[scan("(?<d>[0-9])")]"#,
            r#"sub("(?<x>a)"; "\(.x)!")"#,
            r#"sub("a"; "X"; "g")"#,
            r#"sub("nomatch"; "X")"#,
            r#"sub("^"; ">")"#,
            r#"sub("$"; "<")"#,
            r#"gsub("(?<c>[a-z])"; "\(.c | ascii_upcase)")"#,
            r#"gsub("x*"; "-")"#,
            r#"gsub("x*"; "-"; "n")"#,
            r#"gsub("é"; "e")"#,
            r#"gsub("(?<u>[✓é])"; "<\(.u)>")"#,
            r#"gsub("$"; "<"; "m")"#,
            r#"gsub("^L"; "l"; "im")"#,
            r#"gsub("A B"; "-"; "xi")"#,
            r#"gsub("[a-z]"; null)"#,
            r#"gsub("[a-z]"; "")"#,
            r#"gsub(""; ""; "n")"#,
            r#"gsub("(?<all>.*)"; "[\(.all)]")"#,
            r#"sub("("; "x")"#,
            r#"sub("a"; "x"; "q")"#,
        ];
        for input in inputs {
            for code in programs {
                let (ours, theirs) = both(code, input);
                if code.contains(r#""(""#) && theirs[0].starts_with("error: invalid regex") {
                    // the engines word a bad pattern differently; both fail
                    assert!(
                        ours[0].starts_with("error: invalid regex"),
                        "{code}: {ours:?}"
                    );
                    assert!(theirs[0].starts_with("error: invalid regex"), "{code}");
                    continue;
                }
                assert_eq!(ours, theirs, "{code} on {input}");
            }
        }
    }

    /// Where jq 1.7 and jaq-std differ, ours give jq 1.7's outputs: a group that took no
    /// part is `null`, and several outputs of a `sub` replacement make one result per
    /// output index (jq 1.7's `sub/3` definition; jq 1.6, installed here, agrees on the
    /// single-output rows).
    #[test]
    fn jq_outputs_where_jaq_std_differs() {
        let run = |code: &str, input: &str| {
            let mut outs = Vec::new();
            let v = crate::query::value::parse(input.as_bytes()).unwrap();
            JqProgram::compile(code).unwrap().run(v, |r| {
                outs.push(match r {
                    Ok(v) => to_json(&v),
                    Err(e) => format!("error: {e}"),
                });
                true
            });
            outs.join(" ")
        };
        let cases = [
            (r#"capture("(?<x>a)?b")"#, r#""b""#, r#"{"x":null}"#),
            // `\w` and `\b` know Unicode letters, as in jq (regex-bites' do not)
            (r#"[scan("\\w+")]"#, r#""café ✓ abc""#, r#"["café","abc"]"#),
            (r#"gsub("\\b"; "|")"#, r#""é ab""#, r#""|é| |ab|""#),
            (
                r#"[capture("(?<x>a)(?<y>z)?"; "g")]"#,
                r#""ab a""#,
                r#"[{"x":"a","y":null},{"x":"a","y":null}]"#,
            ),
            (r#"[scan("(a)?b")]"#, r#""ab b""#, r#"[["a"],[null]]"#),
            (r#"[scan("(a)?(b)")]"#, r#""b""#, r#"[[null,"b"]]"#),
            (r#"sub("(?<x>a)?b"; "[\(.x)]")"#, r#""cb""#, r#""c[null]""#),
            (r#"sub("(?<x>a)?b"; keys | join(","))"#, r#""b""#, r#""x""#),
            (
                r#"[sub("(?<x>.)"; "\(.x)1", "\(.x)2")]"#,
                r#""abc""#,
                r#"["a1bc","a2bc"]"#,
            ),
            (
                r#"[gsub("(?<x>.)"; "\(.x)1", "\(.x)2")]"#,
                r#""abc""#,
                r#"["a1b1c1","a2b2c2"]"#,
            ),
            // a match with fewer outputs adds nothing past them: "b" has one, so the second
            // result lacks "-b" (the text before it, and it)
            (
                r#"[gsub("(?<x>[a-z])"; if .x == "b" then "B" else (.x, .x + .x) end)]"#,
                r#""a-b-c""#,
                r#"["a-B-c","aa-cc"]"#,
            ),
            // no output drops the match and the text before it (jq 1.7.1's own example)
            (
                r#"gsub("(?<x>[aeiou])"; if .x == "e" then empty else "[" + .x + "]" end)"#,
                r#""hello world""#,
                r#""ll[o] w[o]rld""#,
            ),
            (r#"[sub("a"; empty)]"#, r#""xay""#, r#"["xay"]"#),
            (r#"[gsub("a"; empty)]"#, r#""aa""#, r#"["aa"]"#),
            (r#"[sub("a"; "x", "y"; "g")]"#, r#""aa""#, r#"["xx","yy"]"#),
            (
                r#"sub("a"; 1)"#,
                r#""xa""#,
                r#"error: cannot calculate "x" + 1"#,
            ),
            (r#"sub("a"; 1)"#, r#""xy""#, r#""xy""#),
            (r#"sub("a"; "b")"#, "1", "error: cannot use 1 as string"),
            // flags (and patterns) are bound one value at a time, as jq's `$flags`
            (r#"[sub("a"; "1"; "g", "")]"#, r#""aa""#, r#"["11","1a"]"#),
            // match objects as jq 1.6 prints them: every group, a name on each
            (
                r#"[match("a(b)?(?<c>c)"; "g")]"#,
                r#""abc ac é ✓ a""#,
                r#"[{"offset":0,"length":3,"string":"abc","captures":[{"offset":1,"length":1,"string":"b","name":null},{"offset":2,"length":1,"string":"c","name":"c"}]},{"offset":4,"length":2,"string":"ac","captures":[{"offset":-1,"string":null,"length":0,"name":null},{"offset":5,"length":1,"string":"c","name":"c"}]}]"#,
            ),
            (
                r#"[match("é ✓ (a)")]"#,
                r#""abc ac é ✓ a""#,
                r#"[{"offset":7,"length":5,"string":"é ✓ a","captures":[{"offset":11,"length":1,"string":"a","name":null}]}]"#,
            ),
            (
                r#"[match("(x)?b")]"#,
                r#""b xb""#,
                r#"[{"offset":0,"length":1,"string":"b","captures":[{"offset":-1,"string":null,"length":0,"name":null}]}]"#,
            ),
            (
                r#"[match("a(?<n>b)(x?)(?<u>y)?")]"#,
                r#""abc ac é ✓ a""#,
                r#"[{"offset":0,"length":2,"string":"ab","captures":[{"offset":1,"length":1,"string":"b","name":"n"},{"offset":2,"string":"","length":0,"name":null},{"offset":-1,"string":null,"length":0,"name":"u"}]}]"#,
            ),
        ];
        for (code, input, expected) in cases {
            assert_eq!(run(code, input), expected, "{code} on {input}");
        }
    }

    #[test]
    fn compiled_once_per_thread() {
        CACHE.with(|c| c.borrow_mut().clear());
        let p = JqProgram::compile(r#"test("run_id#[0-9]+")"#).unwrap();
        for i in 0..100 {
            let v = Val::from(format!("GitHubActions run_id#{i}"));
            p.run(v, |r| {
                assert_eq!(to_json(&r.unwrap()), "true");
                true
            });
        }
        CACHE.with(|c| assert_eq!(c.borrow().len(), 1));
    }
}
