//! Each subcommand's `--help` lists exactly the flags it honours; a flag that does not apply
//! to a command is refused, never silently ignored.
#![allow(clippy::unwrap_used, clippy::expect_used, reason = "tests")]

mod common;

use common::*;

/// The long flags an option line of `trailwhy ARGS --help` names, in order.
fn flags(args: &[&str]) -> Vec<String> {
    let mut all = args.to_vec();
    all.push("--help");
    let r = trailwhy(&all);
    assert_eq!(r.code, 0, "{}", r.stderr);
    r.stdout
        .lines()
        .filter_map(|l| {
            let rest = l.strip_prefix("      --").or_else(|| {
                l.strip_prefix("  -")
                    .and_then(|x| x.split_once(", --").map(|(_, f)| f))
            })?;
            Some(rest.split([' ', '<']).next().unwrap().to_owned())
        })
        .collect()
}

const SCAN: &[&str] = &[
    "since",
    "until",
    "account",
    "region",
    "threads",
    "max-decompressed-size",
];
const VERIFY: &[&str] = &["verify", "public-keys", "require-verified"];
const AWS: &[&str] = &["profile", "endpoint-url", "s3-concurrency", "delivery-lag"];
const PUSHDOWN: &[&str] = &["max-scan", "dry-run"];
const MEMORY: &[&str] = &["memory-limit", "temp-dir"];
const INVENTORY: &[&str] = &[
    "change-lookback",
    "iam-live",
    "iam-role",
    "aws-details",
    "aws-details-dir",
    "save-aws-details",
    "codebuild-live",
];

fn expected(parts: &[&[&str]]) -> Vec<String> {
    parts
        .iter()
        .flat_map(|p| p.iter().map(|s| (*s).to_owned()))
        .collect()
}

#[test]
fn every_help_lists_the_flags_its_command_honours() {
    let explain = expected(&[
        &["iam"],
        SCAN,
        VERIFY,
        AWS,
        PUSHDOWN,
        INVENTORY,
        &["quiet"],
        MEMORY,
        &["format", "output", "fail-on", "write-fixes", "help"],
    ]);
    assert_eq!(flags(&["explain"]), explain);
    let report = expected(&[
        &["iam"],
        SCAN,
        VERIFY,
        AWS,
        PUSHDOWN,
        INVENTORY,
        &["quiet"],
        MEMORY,
        &["format", "output", "state", "suppress", "fail-on", "help"],
    ]);
    assert_eq!(flags(&["report"]), report);
    let query = expected(&[
        SCAN,
        VERIFY,
        AWS,
        PUSHDOWN,
        &[
            "quiet",
            "event-name",
            "event-source",
            "error-code",
            "errors-only",
            "principal",
            "sub",
            "role",
            "jq",
            "fields",
            "group-by",
            "count",
            "limit",
            "format",
            "summary",
            "help",
        ],
    ]);
    assert_eq!(flags(&["query"]), query);
    let verify = expected(&[
        SCAN,
        &["public-keys", "require-verified"],
        AWS,
        &["quiet", "format", "output", "help"],
    ]);
    assert_eq!(flags(&["verify"]), verify);
    assert_eq!(
        flags(&["check"]),
        expected(&[&[
            "trust-policy",
            "sub",
            "aud",
            "provider",
            "role-arn",
            "format",
            "help"
        ]])
    );
    assert_eq!(
        flags(&["simulate"]),
        expected(&[&["request", "format", "help"]])
    );
}

#[test]
fn sources_without_digest_files_are_refused_by_verify_before_any_request() {
    let why = |kind: &str| match kind {
        "lookup" => "LookupEvents returns events, not the trail's files",
        _ => "query results are rows, not the trail's files",
    };
    for (source, kind) in [
        ("lookup://us-east-1", "lookup"),
        ("athena://db.trail", "athena"),
        ("lake://store", "lake"),
    ] {
        for (args, flag) in [
            (vec!["verify", source], ""),
            (vec!["explain", source, "--verify"], "--verify: "),
            (vec!["query", source, "--verify", "--count"], "--verify: "),
        ] {
            let r = trailwhy(&args);
            assert_eq!(
                (r.code, r.stdout.as_str()),
                (2, ""),
                "{args:?}: {}",
                r.stderr
            );
            assert_eq!(
                r.stderr,
                format!(
                    "trailwhy: error: {flag}{source}: {}, so nothing can be verified against digest files; verify the trail bucket (s3://) or a local copy of it instead\n",
                    why(kind)
                ),
                "{args:?}"
            );
        }
    }
}

#[test]
fn a_flag_a_command_does_not_honour_is_refused() {
    let cases: &[(&[&str], &str)] = &[
        (
            &["query", SAMPLE, "--iam", SAMPLE],
            "--iam: query reads no inventory",
        ),
        (
            &["query", SAMPLE, "--iam-live"],
            "--iam-live: query reads no inventory",
        ),
        (
            &["query", SAMPLE, "--change-lookback", "2d"],
            "--change-lookback: query reads no inventory",
        ),
        (
            &["verify", SAMPLE, "--verify"],
            "--verify: verify always verifies",
        ),
        (
            &["verify", SAMPLE, "--iam-live"],
            "--iam-live: verify reads no inventory",
        ),
        (
            &["verify", SAMPLE, "--dry-run"],
            "--dry-run: verify reads no query results",
        ),
    ];
    for (args, message) in cases {
        let r = trailwhy(args);
        assert_eq!(
            (r.code, r.stdout.as_str()),
            (2, ""),
            "{args:?}: {}",
            r.stderr
        );
        assert!(
            r.stderr.starts_with(&format!("trailwhy: error: {message}")),
            "{args:?}: {}",
            r.stderr
        );
    }
}
