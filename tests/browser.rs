//! A real browser reads the HTML report: headless Chromium loads a report built from log
//! strings that carry markup and script, and the DOM it builds must hold the summary and every
//! finding, show the hostile strings as text, and hold no element the logs injected.
//!
//! `.ci/run` installs Debian's `chromium` and sets `TRAILWHY_REQUIRE_CHROMIUM`, so CI always
//! runs it; elsewhere, when no Chromium can be found, the test says so on stderr and passes
//! without checking. `TRAILWHY_CHROMIUM` names another binary.
#![allow(clippy::unwrap_used, clippy::expect_used, reason = "tests")]

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::*;
use serde_json::{json, Value};

const SCRIPT: &str = "<script>document.title='pwned'</script>";
const IMG: &str = "<img src=x onerror=alert(1)>";
const SVG: &str = "\"><svg onload=alert(1)>";

fn chromium() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("TRAILWHY_CHROMIUM") {
        return Some(PathBuf::from(p));
    }
    let path = std::env::var_os("PATH")?;
    for dir in std::env::split_paths(&path) {
        for name in ["chromium", "chromium-browser", "google-chrome"] {
            let p = dir.join(name);
            if p.is_file() {
                return Some(p);
            }
        }
    }
    None
}

/// Runs Chromium headless on a file with `args` (a fresh profile, no network chatter) and
/// returns stdout; fails after 90 s.
fn run_chromium(bin: &Path, page: &Path, args: &[&str]) -> String {
    let profile = tempfile::tempdir().unwrap();
    let mut child = Command::new(bin)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--disable-dev-shm-usage",
        ])
        .arg(format!("--user-data-dir={}", profile.path().display()))
        .args(args)
        .arg(format!("file://{}", page.display()))
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let started = Instant::now();
    loop {
        if child.try_wait().unwrap().is_some() {
            break;
        }
        if started.elapsed() > Duration::from_secs(90) {
            let _ = child.kill();
            panic!("chromium did not finish within 90 s");
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "chromium failed: {:?}", out.status);
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// How the DOM serializer writes text: `&`, `<`, `>` (and no-break spaces) escaped.
fn as_dom_text(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

#[test]
fn hostile_log_strings_show_as_text_in_a_real_browser() {
    let Some(bin) = chromium() else {
        assert!(
            std::env::var_os("TRAILWHY_REQUIRE_CHROMIUM").is_none(),
            "TRAILWHY_REQUIRE_CHROMIUM is set but no chromium is on PATH"
        );
        eprintln!(
            "SKIPPED hostile_log_strings_show_as_text_in_a_real_browser: no chromium on PATH (install Debian's `chromium`; .ci/run does)"
        );
        return;
    };
    let t = Tree::new();
    let sub = format!("repo:acme/x{SCRIPT}:ref:refs/heads/main");
    let img_role = format!("arn:aws:iam::111122223333:role/gha-{IMG}");
    let svg_role = format!("arn:aws:iam::111122223333:role/gha-{SVG}");
    let mut records = vec![
        WebId::denied(
            "h1",
            "2026-10-01T10:00:00Z",
            "arn:aws:iam::111122223333:role/gha-a",
            &sub,
        )
        .record(),
        WebId::denied(
            "h2",
            "2026-10-01T11:00:00Z",
            &img_role,
            "repo:acme/a:ref:refs/heads/main",
        )
        .record(),
        WebId::denied(
            "h3",
            "2026-10-01T12:00:00Z",
            &svg_role,
            &format!("repo:acme/{SVG}:ref:refs/heads/main"),
        )
        .record(),
    ];
    for r in &mut records {
        r["userAgent"] = json!(SCRIPT);
        r["errorMessage"] = json!(format!("Not authorized {IMG}"));
    }
    t.log_gz("logs/f.json.gz", &records);
    t.json(
        "iam/111122223333-authorization-details.json",
        &auth_details(
            ACCT,
            &[(
                "gha-a",
                trust(json!({"StringEquals": {"token.actions.githubusercontent.com:sub": "repo:acme/a:ref:refs/heads/main"}})),
            )],
        ),
    );
    let page = t.path().join("report.html");
    let common_args = [
        "report".to_owned(),
        t.path().join("logs").to_str().unwrap().to_owned(),
        "--iam".to_owned(),
        t.path().join("iam").to_str().unwrap().to_owned(),
        "--since".to_owned(),
        "2026-10-01T00:00:00Z".to_owned(),
        "--until".to_owned(),
        "2026-10-02T00:00:00Z".to_owned(),
    ];
    let mut args: Vec<&str> = common_args.iter().map(String::as_str).collect();
    args.extend(["--format", "html", "-o", page.to_str().unwrap()]);
    let run = trailwhy(&args);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let mut args: Vec<&str> = common_args.iter().map(String::as_str).collect();
    args.extend(["--format", "json"]);
    let v = trailwhy(&args).json();
    let findings: &Vec<Value> = v["findings"].as_array().unwrap();
    assert_eq!(findings.len(), 3);

    let dom = run_chromium(&bin, &page, &["--dump-dom"]);
    assert!(dom.contains("<html"), "no DOM: {dom}");

    // the title is the report's: no script ran
    assert!(
        dom.contains("<title>trailwhy report · 2026-10-01 00:00Z → 2026-10-02 00:00Z</title>"),
        "{dom}"
    );
    assert!(!dom.contains("pwned</title>"));
    // no element came from the logs: no script at all, no img, one svg (the chart)
    let lower = dom.to_lowercase();
    assert!(!lower.contains("<script"), "{dom}");
    assert!(!lower.contains("<img"), "{dom}");
    assert_eq!(lower.matches("<svg").count(), 1, "{dom}");
    assert!(!lower.contains("<svg onload"), "{dom}");
    // the summary and every finding, with the hostile strings as text
    assert!(dom.contains("<h1>3 findings · 3 new</h1>"), "{dom}");
    assert!(dom.contains("<span class=\"num\">3</span><span class=\"lbl\">failed events</span>"));
    for f in findings {
        let fp = f["fingerprint"].as_str().unwrap();
        assert!(
            dom.contains(&format!("data-fingerprint=\"{fp}\"")),
            "{fp}: {dom}"
        );
        assert!(dom.contains(&format!(
            "<code class=\"cause\">{}</code>",
            f["cause"].as_str().unwrap()
        )));
        let role = f["role_arn"].as_str().unwrap();
        assert!(
            dom.contains(&format!("<code>{}</code>", as_dom_text(role))),
            "role {role} as text: {dom}"
        );
        let sub = f["sub"].as_str().unwrap();
        assert!(
            dom.contains(&format!("<code>{}</code>", as_dom_text(sub))),
            "sub {sub} as text: {dom}"
        );
    }
    assert!(dom.contains(&as_dom_text(&format!("gha-{IMG}"))));
    assert!(dom.contains(&as_dom_text(&format!("acme/x{SCRIPT}"))));

    // at 400 px the page scrolls only down: a copy with a measuring script (the report's own
    // policy allows none) writes the page's width into its title
    let html = std::fs::read_to_string(&page).unwrap();
    let start = html
        .find("<meta http-equiv=\"Content-Security-Policy\"")
        .unwrap();
    let end = start + html[start..].find('>').unwrap() + 1;
    let measured = format!(
        "{}{}",
        &html[..start],
        html[end..].replace(
            "</body>",
            "<script>document.title='W='+document.documentElement.scrollWidth+'/'+window.innerWidth</script></body>"
        )
    );
    let probe = t.path().join("probe.html");
    std::fs::write(&probe, measured).unwrap();
    let dom = run_chromium(
        &bin,
        &probe,
        &[
            "--window-size=400,900",
            "--virtual-time-budget=2000",
            "--dump-dom",
        ],
    );
    let title = dom
        .split("<title>")
        .nth(1)
        .and_then(|x| x.split("</title>").next())
        .unwrap();
    let (scroll, inner) = title.strip_prefix("W=").unwrap().split_once('/').unwrap();
    let (scroll, inner): (u32, u32) = (scroll.parse().unwrap(), inner.parse().unwrap());
    assert!(
        scroll <= inner,
        "the page is {scroll} px wide in a {inner} px window"
    );
}
