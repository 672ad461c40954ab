//! A real local AWS-compatible server for the tests: `moto_server` (PyPI `moto[server]`),
//! started once per test binary on a free loopback port and stopped when the test process
//! exits, plus a small fault-injecting, request-counting HTTP proxy of our own in front of it.
#![allow(dead_code, reason = "each test binary uses a subset")]
#![allow(clippy::unwrap_used, clippy::expect_used, reason = "test helpers")]

pub mod proxy;

use std::net::TcpListener;
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

pub struct Moto {
    pub url: String,
    pub port: u16,
    /// The watchdog shell; it ends moto when the test process is gone.
    _watchdog: std::sync::Mutex<std::process::Child>,
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// The shared server, or `None` (with a message) when moto is not installed outside CI.
pub fn moto() -> Option<&'static Moto> {
    static MOTO: OnceLock<Option<Moto>> = OnceLock::new();
    MOTO.get_or_init(|| {
        let have = Command::new("sh").args(["-c", "command -v moto_server"]).output().map(|o| o.status.success()).unwrap_or(false);
        if !have {
            assert!(
                std::env::var_os("CI").is_none(),
                "moto_server is not installed: .ci/run installs it with `pip install 'moto[server]'`"
            );
            eprintln!("SKIPPED: moto_server not installed (pip install 'moto[server]'); AWS tests did not run");
            return None;
        }
        let port = free_port();
        // A watchdog shell ends moto when this test process ($PPID of the shell) is gone.
        let script = format!(
            "MOTO_ACCOUNT_ID=111122223333 moto_server -H 127.0.0.1 -p {port} >/dev/null 2>&1 & m=$!; while kill -0 $PPID 2>/dev/null; do sleep 1; done; kill $m"
        );
        let mut watchdog = Command::new("sh").args(["-c", &script]).stdin(Stdio::null()).spawn().unwrap();
        let url = format!("http://127.0.0.1:{port}");
        let started = Instant::now();
        while started.elapsed() < Duration::from_secs(30) {
            if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
                return Some(Moto { url, port, _watchdog: std::sync::Mutex::new(watchdog) });
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        let _ = watchdog.kill();
        let _ = watchdog.wait();
        panic!("moto_server did not start on port {port}");
    })
    .as_ref()
}

/// Runs a Python (boto3) snippet against `endpoint` to seed the server; returns what it
/// printed.
pub fn python(endpoint: &str, code: &str) -> String {
    let out = Command::new("python3")
        .arg("-c")
        .arg(code)
        .env("ENDPOINT", endpoint)
        .env("AWS_ACCESS_KEY_ID", "testing")
        .env("AWS_SECRET_ACCESS_KEY", "testing")
        .env("AWS_DEFAULT_REGION", "us-east-1")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "python failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Environment for trailwhy talking to the local server.
pub fn aws_env() -> Vec<(&'static str, &'static str)> {
    vec![
        ("AWS_ACCESS_KEY_ID", "testing"),
        ("AWS_SECRET_ACCESS_KEY", "testing"),
        ("AWS_REGION", "us-east-1"),
        ("AWS_EC2_METADATA_DISABLED", "true"),
        ("AWS_CONFIG_FILE", "/dev/null"),
        ("AWS_SHARED_CREDENTIALS_FILE", "/dev/null"),
    ]
}
