//! ARCHITECTURE.md's layering, checked: the crate's top-level modules import only modules
//! before them in `ORDER` (so no two import each other), the source kinds under `src/source/`
//! import no one another but what they share, and the policy engine's modules form no circle.
//! An import is any `crate::NAME` path (and `super::NAME` between siblings) in a module's files.
#![allow(clippy::unwrap_used, clippy::expect_used, reason = "tests")]

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// The top-level modules in dependency order, as ARCHITECTURE.md lists them: each imports
/// only modules before it.
const ORDER: &[&str] = &[
    "event",
    "interrupt",
    "aws",
    "selection",
    "source",
    "decode",
    "select",
    "authz",
    "codebuild",
    "integrity",
    "read",
    "correlate",
    "scan",
    "inventory",
    "explain",
    "report",
    "query",
    "cli",
    "command",
];

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Every `.rs` file below `dir`.
fn files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            out.extend(files(&p));
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push(p);
        }
    }
    out.sort();
    out
}

/// The names that follow `prefix` in `text` (`crate::` → `event`, `select`, …).
fn names_after<'a>(text: &'a str, prefix: &str) -> Vec<&'a str> {
    text.match_indices(prefix)
        .filter(|(at, _)| {
            // not the tail of a longer path (`super::super::x` is found by its own prefix)
            !text[..*at].ends_with("::")
                && !text[..*at].ends_with(|c: char| c.is_alphanumeric() || c == '_')
        })
        .map(|(at, _)| {
            let rest = &text[at + prefix.len()..];
            let end = rest
                .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                .unwrap_or(rest.len());
            &rest[..end]
        })
        .filter(|n| !n.is_empty())
        .collect()
}

/// The module of `dir` a file belongs to (its first path component, without `.rs`).
fn module_of(dir: &Path, file: &Path) -> String {
    let first = file.strip_prefix(dir).unwrap().components().next().unwrap();
    first
        .as_os_str()
        .to_str()
        .unwrap()
        .trim_end_matches(".rs")
        .to_owned()
}

/// Edges between the modules directly in `dir`: from the paths `crate_path` (`crate::` or
/// `crate::source::`) and the sibling paths (`super::` from a module's own file,
/// `super::super::` from the files below it).
fn edges(dir: &Path, crate_path: &str) -> BTreeMap<String, BTreeSet<String>> {
    let modules: BTreeSet<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| {
            e.unwrap()
                .file_name()
                .to_str()
                .unwrap()
                .trim_end_matches(".rs")
                .to_owned()
        })
        .filter(|m| !["main", "lib", "mod", "tests"].contains(&m.as_str()))
        .collect();
    let mut out: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for f in files(dir) {
        let from = module_of(dir, &f);
        if !modules.contains(&from) {
            continue;
        }
        let text = std::fs::read_to_string(&f).unwrap();
        let depth = f.strip_prefix(dir).unwrap().components().count();
        let own_file = depth == 1 || f.file_name().unwrap() == "mod.rs" && depth == 2;
        let sibling = if own_file {
            "super::"
        } else {
            "super::super::"
        };
        let mut names = names_after(&text, crate_path);
        if crate_path != "crate::" || own_file {
            names.extend(names_after(&text, sibling));
        }
        for to in names {
            if to != from && modules.contains(to) {
                out.entry(from.clone()).or_default().insert(to.to_owned());
            }
        }
    }
    out
}

/// Every pair of modules that import each other, directly or round a circle.
fn circles(edges: &BTreeMap<String, BTreeSet<String>>) -> Vec<Vec<String>> {
    fn walk(
        n: &str,
        edges: &BTreeMap<String, BTreeSet<String>>,
        path: &mut Vec<String>,
        out: &mut Vec<Vec<String>>,
    ) {
        if let Some(at) = path.iter().position(|p| p == n) {
            out.push(path[at..].to_vec());
            return;
        }
        if path.len() > 16 {
            return;
        }
        path.push(n.to_owned());
        for m in edges.get(n).into_iter().flatten() {
            walk(m, edges, path, out);
        }
        path.pop();
    }
    let mut out = Vec::new();
    for n in edges.keys() {
        walk(n, edges, &mut Vec::new(), &mut out);
    }
    out
}

#[test]
fn top_level_modules_import_only_modules_before_them() {
    let src = root().join("src");
    let graph = edges(&src, "crate::");
    let mut wrong = Vec::new();
    for (from, tos) in &graph {
        let Some(rank) = ORDER.iter().position(|m| m == from) else {
            wrong.push(format!("{from} is not in ORDER (and ARCHITECTURE.md)"));
            continue;
        };
        for to in tos {
            match ORDER.iter().position(|m| m == to) {
                Some(r) if r < rank => {}
                _ => wrong.push(format!("{from} imports {to}, which comes after it")),
            }
        }
    }
    assert!(wrong.is_empty(), "{wrong:#?}");
    // every module is placed, so a new one cannot slip past the check
    for e in std::fs::read_dir(&src).unwrap() {
        let name = e
            .unwrap()
            .file_name()
            .to_str()
            .unwrap()
            .trim_end_matches(".rs")
            .to_owned();
        if !["main", "lib"].contains(&name.as_str()) {
            assert!(ORDER.contains(&name.as_str()), "{name} is not in ORDER");
        }
    }
}

#[test]
fn the_source_kinds_and_the_policy_engine_have_no_circles() {
    let source = edges(&root().join("src/source"), "crate::source::");
    assert_eq!(circles(&source), Vec::<Vec<String>>::new(), "{source:#?}");
    // the query engines share what they share through `pushdown`, not through each other
    assert!(
        !source.get("lake").is_some_and(|t| t.contains("athena")),
        "{source:#?}"
    );
    assert!(
        !source.get("athena").is_some_and(|t| t.contains("lake")),
        "{source:#?}"
    );
    let engine = edges(&root().join("crates/iam-policy/src"), "crate::");
    assert_eq!(circles(&engine), Vec::<Vec<String>>::new(), "{engine:#?}");
}

#[test]
fn the_checker_sees_imports() {
    let text = "use crate::select::Window;\nuse super::s3::ChannelInput;\nlet x = crate::event::arn_account(a);\nsuper::super::table::x();";
    assert_eq!(names_after(text, "crate::"), ["select", "event"]);
    assert_eq!(names_after(text, "super::"), ["s3", "super"]);
    assert_eq!(names_after(text, "super::super::"), ["table"]);
    let mut g = BTreeMap::new();
    g.insert("a".to_owned(), BTreeSet::from(["b".to_owned()]));
    g.insert("b".to_owned(), BTreeSet::from(["a".to_owned()]));
    assert!(!circles(&g).is_empty());
}
