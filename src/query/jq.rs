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

type Data = JustLut<Val>;

/// A compiled jq program.
pub struct JqProgram {
    filter: jaq_core::Filter<Data>,
}

impl JqProgram {
    /// Parses and compiles `code`; the error is jaq's message, located in `code`.
    pub fn compile(code: &str) -> Result<JqProgram, String> {
        let defs = jaq_core::defs()
            .chain(jaq_std::defs())
            .chain(jaq_json::defs());
        let funs = jaq_core::funs::<Data>()
            .chain(jaq_std::funs::<Data>())
            .chain(jaq_json::funs::<Data>());
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
        Ok(JqProgram { filter })
    }

    /// Runs the program on `input`, handing each output to `f`: a value, or a runtime error
    /// (the filter's other outputs go on, as in jq). Stops early when `f` returns false.
    pub fn run(&self, input: Val, mut f: impl FnMut(Result<Val, String>) -> bool) {
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

/// A runtime error as jq shows it: a string error as itself, anything else as JSON.
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
    use crate::query::value::{parse, to_json};

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
    fn compile_errors_are_located() {
        let e = JqProgram::compile(".a | nosuchfn").err().unwrap();
        assert_eq!(e, "undefined filter nosuchfn/0 at line 1, column 6");
        let e = JqProgram::compile(".a |").err().unwrap();
        assert!(e.starts_with("syntax error"), "{e}");
        let e = JqProgram::compile("{a: (.b").err().unwrap();
        assert!(e.contains("unclosed"), "{e}");
    }
}
