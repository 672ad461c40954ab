//! jq's regular-expression filters for `--jq`, on the `regex` crate with one compiled
//! expression per pattern and flags, kept per thread.
//!
//! jaq-std compiles the pattern again for every record it is applied to (with `regex-bites`,
//! a small engine without a literal prefilter), which made `select(.userAgent |
//! test("…"))` several times slower than a field comparison. These natives replace its
//! three regex primitives under the same names and with the same outputs (`matches`,
//! `split_matches`, `split_`, on which jaq-std's `match`, `capture`, `scan`, `split/2`,
//! `sub` and `gsub` are defined) and add a native `test/2`, which only asks whether there
//! is a match instead of building match objects. `tests` holds them to jaq-std's output.
//!
//! A match is an array of match objects, the whole match first, then each capture group
//! that took part: `{"offset", "length", "string"}` (offsets and lengths in characters)
//! plus `"name"` for a named group.

use std::cell::RefCell;
use std::rc::Rc;

use jaq_core::box_iter::box_once;
use jaq_core::native::{run, v, Fun};
use jaq_core::{Cv, Error, Exn, ValT as _, ValXs};
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

/// A compiled expression: over `str` for UTF-8 text (so an empty match never falls inside
/// a character, as with jaq-std), over bytes for the rare string that is not UTF-8.
enum Compiled {
    Text(regex::Regex),
    Bytes(regex::bytes::Regex),
}

/// The byte spans of one match's groups (`None` for a group that took no part).
type Spans = Vec<Option<(usize, usize)>>;

impl Compiled {
    fn is_match(&self, text: &[u8]) -> bool {
        match (self, std::str::from_utf8(text)) {
            (Compiled::Text(re), Ok(s)) => re.is_match(s),
            (Compiled::Bytes(re), _) => re.is_match(text),
            (Compiled::Text(_), Err(_)) => false,
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
        match self {
            Compiled::Text(re) => re.capture_names().collect(),
            Compiled::Bytes(re) => re.capture_names().collect(),
        }
    }

    /// Calls `f` with each match in order until it returns false.
    fn each(&self, text: &[u8], mut f: impl FnMut(Spans) -> bool) {
        let spans = |it: &mut dyn Iterator<Item = Option<(usize, usize)>>| it.collect::<Spans>();
        match (self, std::str::from_utf8(text)) {
            (Compiled::Text(re), Ok(s)) => {
                for caps in re.captures_iter(s) {
                    if !f(spans(
                        &mut caps.iter().map(|m| m.map(|m| (m.start(), m.end()))),
                    )) {
                        return;
                    }
                }
            }
            (Compiled::Bytes(re), _) => {
                for caps in re.captures_iter(text) {
                    if !f(spans(
                        &mut caps.iter().map(|m| m.map(|m| (m.start(), m.end()))),
                    )) {
                        return;
                    }
                }
            }
            (Compiled::Text(_), Err(_)) => {}
        }
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
    let re = Rc::new(if utf8 {
        Compiled::Text(build!(regex::RegexBuilder::new(pattern)))
    } else {
        Compiled::Bytes(build!(regex::bytes::RegexBuilder::new(pattern)))
    });
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
/// [`replaced`]).
pub fn funs() -> impl Iterator<Item = Fun<Data>> {
    let natives: [jaq_core::native::Filter<jaq_core::RunPtr<Data>>; 4] = [
        ("test", v(2), |cv| outcome(apply(cv, Want::Test))),
        ("matches", v(2), |cv| outcome(apply(cv, Want::Matches))),
        ("split_matches", v(2), |cv| outcome(apply(cv, Want::Both))),
        ("split_", v(2), |cv| outcome(apply(cv, Want::Gaps))),
    ];
    natives.into_iter().map(run::<Data>)
}

/// Whether jaq-std's native `name` is one of ours.
pub fn replaced(name: &str) -> bool {
    matches!(name, "matches" | "split_matches" | "split_")
}

/// Whether a jaq-std definition is replaced by one of ours (`test/2`, which jaq-std defines
/// in jq over `matches`).
pub fn replaced_def(name: &str, arity: usize) -> bool {
    name == "test" && arity == 2
}

fn outcome<'a>(r: Result<Val, Error<Val>>) -> ValXs<'a, Val> {
    box_once(r.map_err(Exn::from))
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
    // jaq-std's order of checks: flags, pattern, then the input
    let flags_text = as_str(&flags_val)?;
    let flags = Flags::parse(flags_text)
        .map_err(|c| Error::str(format_args!("invalid regex flag: {c}")))?;
    let pattern = as_str(&pattern_val)?;
    let utf8 = input
        .as_utf8_bytes()
        .is_none_or(|t| std::str::from_utf8(t).is_ok());
    let re = compiled(pattern, flags_text, flags, utf8).map_err(Error::str)?;
    let text = input.try_as_utf8_bytes()?;
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
            for (span, name) in spans.iter().zip(&names) {
                let Some((s, e)) = *span else { continue };
                let mut fields = vec![
                    (
                        Val::from("offset".to_owned()),
                        Val::from(chars.at(s) as isize),
                    ),
                    (
                        Val::from("length".to_owned()),
                        Val::from(count_chars(&text[s..e]) as isize),
                    ),
                    (
                        Val::from("string".to_owned()),
                        input.as_sub_str(&text[s..e]),
                    ),
                ];
                if let Some(name) = name {
                    fields.push((Val::from("name".to_owned()), Val::from((*name).to_owned())));
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
            r#"[match("a(b)?(?<c>c)"; "g")]"#,
            r#"[match("é ✓ (a)")]"#,
            r#"[match("(x)?b")]"#,
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
