//! Bounded memory (#23): the failures a scan keeps spill to disk beyond `--memory-limit`, and
//! the answer does not change — the same findings, byte for byte, as keeping everything; the
//! spill directory is removed however the run ends, and one that cannot be written is one
//! error before anything is read.
#![allow(clippy::unwrap_used, clippy::expect_used, reason = "tests")]

mod common;

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::*;
use proptest::prelude::*;
use proptest::strategy::ValueTree;
use serde_json::{json, Value};

use trailwhy::authz::AwsRecords;
use trailwhy::correlate::{SessionIndex, SessionTags};
use trailwhy::decode::DecodeLimits;
use trailwhy::event::Record;
use trailwhy::explain::call::{explain_calls, CallFindings};
use trailwhy::explain::{explain_web_identity, Finding, WebIdFindings};
use trailwhy::inventory::Inventory;
use trailwhy::read::InventoryDoc;
use trailwhy::scan::{scan_with, Failure, FailureStore, ScanExtras};
use trailwhy::select::{Selected, Selector};
use trailwhy::selection::Window;
use trailwhy::source::Inputs;

const ROLES: [&str; 2] = [
    "arn:aws:iam::111122223333:role/deploy",
    "arn:aws:iam::111122223333:role/build",
];
const SUBS: [&str; 3] = [
    "repo:acme/web:ref:refs/heads/main",
    "repo:acme/web:pull_request",
    "repo:Acme/api:environment:prod",
];

/// One generated event: what it is, whose, when, and how often it is retried.
#[derive(Debug, Clone)]
struct Op {
    kind: u8,
    role: usize,
    sub: usize,
    key: usize,
    minute: u32,
    retries: u8,
    file: usize,
}

fn op() -> impl Strategy<Value = Op> {
    (
        0u8..4,
        0usize..2,
        0usize..3,
        0usize..5,
        0u32..50,
        0u8..3,
        0usize..4,
    )
        .prop_map(|(kind, role, sub, key, minute, retries, file)| Op {
            kind,
            role,
            sub,
            key,
            minute,
            retries,
            file,
        })
}

/// The records of `ops`, spread over `files` log files in the order generated.
fn trail(ops: &[Op], files: usize) -> Vec<Vec<Value>> {
    let mut out = vec![Vec::new(); files];
    for (n, op) in ops.iter().enumerate() {
        for r in 0..=op.retries {
            let id = format!("e{n:03}-{r}");
            let time = format!("2026-10-01T10:{:02}:{:02}Z", op.minute, u32::from(r) * 7);
            let (role, sub) = (ROLES[op.role], SUBS[op.sub]);
            let key = format!("ASIAKEY{}", op.key);
            let record = match op.kind {
                0 => {
                    let mut rec = WebId::assumed(&id, &time, role, sub).record();
                    rec["responseElements"]["credentials"]["accessKeyId"] = json!(key);
                    rec
                }
                1 => WebId::denied(&id, &time, role, sub).record(),
                k => {
                    let action = if k == 2 { "PutImage" } else { "BatchGetImage" };
                    let name = role.rsplit('/').next().unwrap();
                    Event::call(Who::session(role, &key), &id, &time, "ecr.amazonaws.com", action)
                        .error(
                            "AccessDeniedException",
                            &format!("User: arn:aws:sts::111122223333:assumed-role/{name}/GitHubActions is not authorized to perform: ecr:{action} on resource: arn:aws:ecr:us-east-1:111122223333:repository/web because no identity-based policy allows the ecr:{action} action"),
                        )
                        .request(json!({"repositoryName": "web", "imageTag": format!("t{n}")}))
                        .record()
                }
            };
            out[op.file % files].push(record);
        }
    }
    out
}

/// Two roles trusting GitHub's provider: `deploy` for main only, `build` for any `acme`
/// repository; neither allows any ECR call.
fn inventory() -> Inventory {
    let main = trust(json!({"StringEquals": {
        "token.actions.githubusercontent.com:aud": "sts.amazonaws.com",
        "token.actions.githubusercontent.com:sub": SUBS[0]}}));
    let acme = trust(json!({"StringLike": {
        "token.actions.githubusercontent.com:sub": "repo:acme/*"}}));
    let doc = InventoryDoc {
        origin: "iam.json".to_owned(),
        value: auth_details(ACCT, &[("deploy", main), ("build", acme)]),
    };
    Inventory::build(&[doc], Vec::new())
}

/// Earliest first, ties by cause, as the pipeline sorts them.
fn sorted(mut findings: Vec<Finding>) -> String {
    findings.sort_by(|a, b| {
        a.first_seen
            .cmp(&b.first_seen)
            .then_with(|| a.cause.cmp(&b.cause))
    });
    serde_json::to_string(&findings).unwrap()
}

/// The straightforward path: every record selected into lists kept whole, the sessions
/// indexed at the end, each list sorted and explained.
fn keep_everything(files: &[Vec<Value>], inv: &Inventory) -> String {
    let selector = Selector::new(Window::default());
    let (mut attempts, mut calls) = (Vec::new(), Vec::new());
    for rec in files.iter().flatten() {
        let text = rec.to_string();
        let rec: Record = serde_json::from_str(&text).unwrap();
        match selector.select(&rec) {
            Ok(Selected::WebId(a)) => attempts.push(*a),
            Ok(Selected::CallFailure(f)) => calls.push(*f),
            Ok(_) | Err(_) => {}
        }
    }
    let sessions = SessionIndex::build(&attempts);
    let mut findings = explain_web_identity(&attempts, inv);
    findings.extend(explain_calls(
        &calls,
        &sessions,
        inv,
        &AwsRecords::default(),
    ));
    sorted(findings)
}

/// The scan's path: the files read in parallel, the sessions indexed as inputs arrive, the
/// failures stored within `budget` bytes (spilled beyond; the sessions too, a small budget
/// writing them after every input), then streamed in time order.
fn streamed(dir: &Path, inv: &Inventory, budget: usize) -> (String, Spilled) {
    let (inputs, skipped) = trailwhy::source::expand(&[dir.to_str().unwrap().to_owned()]);
    let spill = tempfile::tempdir().unwrap();
    let store = FailureStore::new(budget, Some(FailureStore::spill_dir(spill.path()).unwrap()));
    let mut scan = scan_with(
        &Inputs::from(inputs),
        skipped,
        &Selector::new(Window::default()),
        &DecodeLimits::default(),
        Some(2),
        ScanExtras {
            store,
            session_budget: Some(budget),
            ..ScanExtras::default()
        },
    )
    .unwrap();
    let spilled = Spilled {
        failures: scan.failures.spilled().is_some(),
        sessions: scan.sessions.spilled().is_some(),
    };
    let tags = SessionTags::new(&scan.tagged_sessions);
    let aws = AwsRecords::default();
    let mut web_id = WebIdFindings::new(inv);
    let mut calls = CallFindings::new(&scan.sessions, inv, &aws);
    scan.failures
        .for_each(|f| match f {
            Failure::WebId(a) => {
                web_id.add(&a);
            }
            Failure::Call(mut c) => {
                tags.attach(&mut c);
                calls.add(&c);
            }
        })
        .unwrap();
    let mut findings = web_id.finish();
    findings.extend(calls.finish());
    (sorted(findings), spilled)
}

/// What a scan wrote to disk.
#[derive(Debug, PartialEq)]
struct Spilled {
    failures: bool,
    sessions: bool,
}

fn write_trail(tree: &Tree, files: &[Vec<Value>]) {
    for (i, records) in files.iter().enumerate() {
        tree.log_gz(&format!("trail/f{i}.json.gz"), records);
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]

    /// Random interleavings of assumptions, denied assumptions, failed calls and retries,
    /// over random files: the grouped findings are those of keeping everything, whether the
    /// failures stay in memory or spill after every input.
    #[test]
    fn grouped_findings_equal_the_keep_everything_path(
        ops in prop::collection::vec(op(), 1..40),
        files in 1usize..5,
    ) {
        let files = trail(&ops, files);
        let tree = Tree::new();
        write_trail(&tree, &files);
        let inv = inventory();
        let expected = keep_everything(&files, &inv);
        let dir = tree.path().join("trail");
        let (in_memory, spilled) = streamed(&dir, &inv, usize::MAX);
        prop_assert_eq!(spilled, Spilled { failures: false, sessions: false });
        prop_assert_eq!(&in_memory, &expected);
        let (on_disk, spilled) = streamed(&dir, &inv, 0);
        // every session is written, and only those the failed calls use are read back
        let assumed = ops.iter().any(|op| op.kind == 0);
        prop_assert_eq!(spilled.sessions, assumed);
        prop_assert_eq!(&on_disk, &expected);
    }
}

/// A fixed trail of a few hundred events over a dozen files, with the inventory beside it.
fn fixed_trail(tree: &Tree) -> (String, String) {
    let mut runner = proptest::test_runner::TestRunner::deterministic();
    let ops = prop::collection::vec(op(), 300)
        .new_tree(&mut runner)
        .unwrap()
        .current();
    write_trail(tree, &trail(&ops, 12));
    let iam = tree.json(
        "iam.json",
        &auth_details(
            ACCT,
            &[(
                "deploy",
                trust(
                    json!({"StringEquals": {"token.actions.githubusercontent.com:sub": SUBS[0]}}),
                ),
            )],
        ),
    );
    (
        tree.path().join("trail").to_str().unwrap().to_owned(),
        iam.to_str().unwrap().to_owned(),
    )
}

/// What is left in `dir`.
fn entries(dir: &Path) -> Vec<String> {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect()
}

#[test]
fn a_tiny_memory_limit_spills_and_gives_the_same_findings_byte_for_byte() {
    let tree = Tree::new();
    let (trail, iam) = fixed_trail(&tree);
    let temp = tempfile::tempdir().unwrap();
    let t = temp.path().to_str().unwrap();
    let base = [
        "explain",
        &trail,
        "--iam",
        &iam,
        "--format",
        "ndjson",
        "--temp-dir",
        t,
    ];
    let kept = trailwhy(&base);
    assert_eq!(kept.code, 0, "{}", kept.stderr);
    assert!(!kept.stderr.contains("kept on disk"), "{}", kept.stderr);
    let mut tiny = base.to_vec();
    tiny.extend(["--memory-limit", "1K"]);
    let spilled = trailwhy(&tiny);
    assert_eq!(spilled.code, 0, "{}", spilled.stderr);
    let failures: u64 = kept
        .findings()
        .iter()
        .map(|f| f["count"].as_u64().unwrap())
        .sum();
    let n = kept.findings().len();
    assert!(
        n > 10 && failures > 300,
        "{n} findings of {failures} failures"
    );
    assert_eq!(spilled.stdout, kept.stdout);
    assert!(
        spilled.stderr.contains(&format!(
            "trailwhy: {failures} of {failures} failures kept on disk beyond --memory-limit 1K ("
        )),
        "{}",
        spilled.stderr
    );
    // the sessions went to disk too, and the calls still joined through them
    let joined = kept
        .findings()
        .iter()
        .filter(|f| f["details"]["session"]["joined"] == true)
        .count();
    assert!(joined > 5, "{joined} joined findings");
    assert!(
        spilled
            .stderr
            .contains("sessions written to disk beyond --memory-limit 1K ("),
        "{}",
        spilled.stderr
    );
    assert!(
        !kept.stderr.contains("sessions written to disk"),
        "{}",
        kept.stderr
    );
    assert_eq!(entries(temp.path()), Vec::<String>::new());
}

/// `report` over the same trail: its findings, groups and timeline are the same when
/// everything spilled.
#[test]
fn report_with_a_tiny_memory_limit_is_the_same_report() {
    let tree = Tree::new();
    let (trail, iam) = fixed_trail(&tree);
    let temp = tempfile::tempdir().unwrap();
    let base = [
        "report",
        &trail,
        "--iam",
        &iam,
        "--since",
        "2026-10-01T00:00:00Z",
        "--until",
        "2026-10-02T00:00:00Z",
        "--format",
        "json",
        "--temp-dir",
        temp.path().to_str().unwrap(),
    ];
    let kept = trailwhy(&base);
    assert_eq!(kept.code, 0, "{}", kept.stderr);
    let mut tiny = base.to_vec();
    tiny.extend(["--memory-limit", "1K"]);
    let spilled = trailwhy(&tiny);
    assert_eq!(spilled.code, 0, "{}", spilled.stderr);
    assert!(
        spilled.stderr.contains("kept on disk"),
        "{}",
        spilled.stderr
    );
    let (k, s): (Value, Value) = (
        serde_json::from_str(&kept.stdout).unwrap(),
        serde_json::from_str(&spilled.stdout).unwrap(),
    );
    let total: u64 = k["timeline"]["totals"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n.as_u64().unwrap())
        .sum();
    assert!(total > 300, "{total} events on the timeline");
    assert_eq!(total, k["summary"]["failed_events"].as_u64().unwrap());
    for part in ["findings", "groups", "timeline"] {
        assert_eq!(s[part], k[part], "{part}");
    }
    assert_eq!(entries(temp.path()), Vec::<String>::new());
}

#[test]
fn the_spill_directory_is_removed_when_the_run_fails_after_spilling() {
    let tree = Tree::new();
    let (trail, _) = fixed_trail(&tree);
    let temp = tempfile::tempdir().unwrap();
    let out = tree.path().join("no-such-dir/out.json");
    let r = trailwhy(&[
        "explain",
        &trail,
        "--memory-limit",
        "1K",
        "--temp-dir",
        temp.path().to_str().unwrap(),
        "--output",
        out.to_str().unwrap(),
    ]);
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(r.stderr.contains("kept on disk"), "{}", r.stderr);
    assert!(r.stderr.contains("no-such-dir"), "{}", r.stderr);
    assert_eq!(entries(temp.path()), Vec::<String>::new());
}

#[test]
fn the_spill_directory_is_removed_on_ctrl_c() {
    let tree = Tree::new();
    let (trail, _) = fixed_trail(&tree);
    let temp = tempfile::tempdir().unwrap();
    // the trail first, then stdin, held open: the trail's failures spill while stdin waits
    let mut child = Command::new(env!("CARGO_BIN_EXE_trailwhy"))
        .args([
            "explain",
            &trail,
            "-",
            "--memory-limit",
            "1K",
            "--threads",
            "2",
        ])
        .args([
            "--temp-dir",
            temp.path().to_str().unwrap(),
            "--format",
            "ndjson",
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let started = Instant::now();
    let run_written = || {
        entries(temp.path()).iter().any(|d| {
            let dir = temp.path().join(d);
            dir.is_dir() && !entries(&dir).is_empty()
        })
    };
    while !run_written() {
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "nothing spilled"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    assert!(Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap()
        .success());
    // stdin ends too (a reader blocked on it would otherwise wait for it)
    drop(child.stdin.take());
    let out = child.wait_with_output().unwrap();
    assert_eq!(
        out.status.code(),
        Some(130),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(entries(temp.path()), Vec::<String>::new());
}

#[test]
fn an_unwritable_temp_dir_is_one_error_line_before_anything_is_read() {
    let tree = Tree::new();
    let (trail, _) = fixed_trail(&tree);
    let file = tree.json("a-file", &json!({}));
    let r = trailwhy(&[
        "explain",
        &trail,
        "--temp-dir",
        file.to_str().unwrap(),
        "--format",
        "ndjson",
    ]);
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert_eq!(r.stdout, "");
    assert_eq!(r.stderr.lines().count(), 1, "{}", r.stderr);
    assert!(
        r.stderr.contains("cannot make a spill directory in")
            && r.stderr.contains(file.to_str().unwrap()),
        "{}",
        r.stderr
    );
    let r = trailwhy(&["explain", &trail, "--memory-limit", "lots"]);
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(r.stderr.contains("--memory-limit: 'lots'"), "{}", r.stderr);
}
