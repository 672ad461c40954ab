//! CodeBuild build log text: telling it from JSON by its first bytes, and reading its
//! `[Container]` lines into a [`Build`]:
//!
//! ```text
//! [Container] 2025/09/05 06:49:02.706838 Phase is DOWNLOAD_SOURCE
//! [Container] 2025/09/05 06:49:10.480928 Phase complete: DOWNLOAD_SOURCE State: FAILED
//! [Container] 2025/09/05 06:49:10.480942 Phase context status code: CLIENT_ERROR Message: …
//! ```
//!
//! Lines may carry a prefix (`aws logs tail` adds a time and the stream name). The log itself
//! names neither the project nor the build: they come from the file name (`PROJECT:UUID.log`,
//! or `PROJECT/UUID.log` as a log group export lays it out). Memory is bounded: lines are read
//! one at a time and cut at a maximum length.

use std::io::{self, BufRead, BufReader, Read};

use chrono::{DateTime, NaiveDateTime, TimeZone, Utc};

use super::{is_runner_text, Build, Phase, PhaseContext};
use crate::decode::DecodeError;

const CONTAINER: &str = "[Container] ";

/// What a non-JSON input is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TextKind {
    /// CodeBuild build log text.
    BuildLog,
    /// Text with a text file name (`.log`, `.txt`) that is not a build log.
    OtherText,
}

/// Tells build log text (and other text with a text file name) from JSON by the first bytes;
/// `None` means "read it as JSON".
pub fn sniff(prefix: &[u8], name: &str) -> Option<TextKind> {
    let body = prefix.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(prefix);
    let start = body.iter().position(|b| !b.is_ascii_whitespace())?;
    let body = &body[start..];
    if body.starts_with(CONTAINER.as_bytes()) {
        return Some(TextKind::BuildLog);
    }
    if body[0] == b'{' || body[0] == b'[' {
        return None;
    }
    if memchr::memmem::find(body, CONTAINER.as_bytes()).is_some() {
        return Some(TextKind::BuildLog);
    }
    let lower = name.to_ascii_lowercase();
    let lower = lower.strip_suffix(".gz").unwrap_or(&lower);
    (lower.ends_with(".log") || lower.ends_with(".txt")).then_some(TextKind::OtherText)
}

/// The build id and project a log's file name gives: `…/PROJECT:UUID.log`, or
/// `…/PROJECT/UUID.log` (a log group export).
pub fn build_from_name(name: &str) -> Build {
    let path = std::path::Path::new(name);
    let file = path
        .file_name()
        .and_then(|f| f.to_str())
        .unwrap_or_default();
    let mut stem = file;
    for ext in [".gz", ".log", ".txt"] {
        stem = stem.strip_suffix(ext).unwrap_or(stem);
    }
    if stem.contains(':') {
        return Build::named(stem);
    }
    if is_uuid(stem) {
        if let Some(project) = path
            .parent()
            .and_then(|p| p.file_name())
            .and_then(|p| p.to_str())
            .filter(|p| !p.is_empty())
        {
            return Build::named(&format!("{project}:{stem}"));
        }
    }
    Build::default()
}

fn is_uuid(s: &str) -> bool {
    let groups: Vec<&str> = s.split('-').collect();
    groups.len() == 5
        && groups
            .iter()
            .zip([8, 4, 4, 4, 12])
            .all(|(g, n)| g.len() == n && g.chars().all(|c| c.is_ascii_hexdigit()))
}

/// Reads build log text into one build. A read error ends the reading; what was read is
/// still returned with it.
pub fn read_build_log<R: Read>(
    reader: R,
    name: &str,
    max_line: usize,
) -> (Build, u64, Option<DecodeError>) {
    let mut parser = LogParser::new(name);
    let mut reader = BufReader::with_capacity(64 * 1024, reader);
    let mut line = Vec::new();
    let mut offset: u64 = 0;
    loop {
        line.clear();
        match read_line(&mut reader, &mut line, max_line) {
            Ok(0) => break,
            Ok(n) => {
                offset += n as u64;
                parser.feed(&String::from_utf8_lossy(&line));
            }
            Err(e) => {
                return (
                    parser.finish(),
                    offset,
                    Some(DecodeError::from_read(e, offset)),
                )
            }
        }
    }
    (parser.finish(), offset, None)
}

/// One line into `buf` (at most `max` bytes kept; the rest of a longer line is skipped).
/// Returns the bytes consumed, 0 at the end.
fn read_line<R: BufRead>(r: &mut R, buf: &mut Vec<u8>, max: usize) -> io::Result<usize> {
    let mut consumed = 0;
    loop {
        let chunk = match r.fill_buf() {
            Ok(c) => c,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        if chunk.is_empty() {
            return Ok(consumed);
        }
        let (take, done) = match memchr::memchr(b'\n', chunk) {
            Some(i) => (i + 1, true),
            None => (chunk.len(), false),
        };
        let room = max.saturating_sub(buf.len());
        buf.extend_from_slice(&chunk[..take.min(room)]);
        r.consume(take);
        consumed += take;
        if done {
            return Ok(consumed);
        }
    }
}

/// The state of one log being read.
struct LogParser {
    build: Build,
    /// The phase the last `Phase complete:` line closed, where a context line belongs.
    last_completed: Option<String>,
}

impl LogParser {
    fn new(name: &str) -> LogParser {
        let mut build = build_from_name(name);
        build.origins.push(name.to_owned());
        LogParser {
            build,
            last_completed: None,
        }
    }

    fn feed(&mut self, line: &str) {
        let line = line.trim_end_matches(['\n', '\r']);
        if !self.build.runner && is_runner_text(&line.to_ascii_lowercase()) {
            self.build.runner = true;
        }
        let Some(at) = line.find(CONTAINER) else {
            return;
        };
        let rest = &line[at + CONTAINER.len()..];
        // "2025/09/05 06:49:02.098320 message"
        let mut parts = rest.splitn(3, ' ');
        let (Some(day), Some(time), Some(message)) = (parts.next(), parts.next(), parts.next())
        else {
            return;
        };
        let when = parse_log_time(day, time);
        if self.build.start.is_none() {
            self.build.start = when;
            self.build.start_from_log = when.is_some();
        }
        if let Some(phase) = message.strip_prefix("Phase is ") {
            self.build.add_phase(Phase {
                kind: phase.trim().to_owned(),
                status: None,
                start: when,
                contexts: Vec::new(),
            });
        } else if let Some(rest) = message.strip_prefix("Phase complete: ") {
            // "DOWNLOAD_SOURCE State: FAILED"
            let (phase, state) = match rest.split_once(" State: ") {
                Some((p, s)) => (p.trim(), Some(s.trim().to_owned())),
                None => (rest.trim(), None),
            };
            self.build.add_phase(Phase {
                kind: phase.to_owned(),
                status: state,
                start: None,
                contexts: Vec::new(),
            });
            self.last_completed = Some(phase.to_owned());
        } else if let Some(rest) = message.strip_prefix("Phase context status code: ") {
            // "CLIENT_ERROR Message: …"
            let (code, msg) = match rest.split_once(" Message: ") {
                Some((c, m)) => (c.trim(), m.trim()),
                None => (rest.trim(), ""),
            };
            let context = PhaseContext {
                status_code: Some(code.to_owned()).filter(|c| !c.is_empty()),
                message: Some(msg.to_owned()).filter(|m| !m.is_empty()),
            };
            if context.status_code.is_none() && context.message.is_none() {
                return;
            }
            let target = self
                .last_completed
                .clone()
                .or_else(|| self.build.phases.last().map(|p| p.kind.clone()));
            if let Some(p) = target.and_then(|k| self.build.phases.iter_mut().find(|p| p.kind == k))
            {
                p.contexts.push(context);
            }
        }
    }

    fn finish(mut self) -> Build {
        if self.build.failed_phase().is_some() {
            self.build.status = Some("FAILED".to_owned());
        }
        self.build
    }
}

/// `2025/09/05` `06:49:02.098320`, in UTC as CodeBuild writes it.
fn parse_log_time(day: &str, time: &str) -> Option<DateTime<Utc>> {
    NaiveDateTime::parse_from_str(&format!("{day} {time}"), "%Y/%m/%d %H:%M:%S%.f")
        .ok()
        .map(|t| Utc.from_utc_datetime(&t))
}

#[cfg(test)]
mod tests {
    use super::*;

    const SEED: &str = "[Container] 2025/09/05 06:49:02.098320 Running on CodeBuild On-demand
[Container] 2025/09/05 06:49:02.098330 Waiting for agent ping
[Container] 2025/09/05 06:49:02.199392 Waiting for DOWNLOAD_SOURCE
[Container] 2025/09/05 06:49:02.706838 Phase is DOWNLOAD_SOURCE
[Container] 2025/09/05 06:49:02.707850 CODEBUILD_SRC_DIR=/codebuild/output/src48989638/src
[Container] 2025/09/05 06:49:02.707969 YAML location is /codebuild/readonly/buildspec.yml
[Container] 2025/09/05 06:49:02.710408 Processing environment variables
[Container] 2025/09/05 06:49:02.846944 No runtime version selected in buildspec.
[Container] 2025/09/05 06:49:10.480905 Error while fetching runner token: error code 400: GitHub runner JIT configuration unavailable: ResourceNotFoundException: Unexpected error from GitHub while creating runner JIT configuration, please try again later
[Container] 2025/09/05 06:49:10.480928 Phase complete: DOWNLOAD_SOURCE State: FAILED
[Container] 2025/09/05 06:49:10.480942 Phase context status code: CLIENT_ERROR Message: Error while fetching runner token: error code 400: GitHub runner JIT configuration unavailable: ResourceNotFoundException: Unexpected error from GitHub while creating runner JIT configuration, please try again later
";

    #[test]
    fn the_seed_log_is_a_jit_failure_in_download_source() {
        let (b, bytes, err) = read_build_log(
            SEED.as_bytes(),
            "logs/acme-web-runner:0b6f1d3c-4a52-4f0e-8d7e-2c9a51e7b8f4.log",
            1 << 20,
        );
        assert!(err.is_none());
        assert_eq!(bytes, SEED.len() as u64);
        assert_eq!(
            b.id.as_deref(),
            Some("acme-web-runner:0b6f1d3c-4a52-4f0e-8d7e-2c9a51e7b8f4")
        );
        assert_eq!(b.status.as_deref(), Some("FAILED"));
        assert!(b.runner);
        let (phase, ctx) = b.jit_failure().unwrap();
        assert_eq!(phase.kind, "DOWNLOAD_SOURCE");
        assert_eq!(ctx.status_code.as_deref(), Some("CLIENT_ERROR"));
        assert!(ctx
            .message
            .as_deref()
            .unwrap()
            .starts_with("Error while fetching runner token"));
        assert_eq!(
            b.start.unwrap().to_rfc3339(),
            "2025-09-05T06:49:02.098320+00:00"
        );
    }

    #[test]
    fn text_is_told_from_json() {
        assert_eq!(sniff(SEED.as_bytes(), "x"), Some(TextKind::BuildLog));
        let tailed = "2025-09-05T06:49:02.098000+00:00 p/u [Container] 2025/09/05 06:49:02.098320 Phase is BUILD";
        assert_eq!(sniff(tailed.as_bytes(), "x"), Some(TextKind::BuildLog));
        assert_eq!(sniff(b"  {\"Records\":[]}", "a.log"), None);
        assert_eq!(sniff(b"[{\"eventName\":\"x\"}]", "a.txt"), None);
        assert_eq!(sniff(b"hello", "notes.txt"), Some(TextKind::OtherText));
        assert_eq!(sniff(b"hello", "notes.log.gz"), Some(TextKind::OtherText));
        assert_eq!(sniff(b"hello", "x.json"), None);
        assert_eq!(sniff(b"", "x.log"), None);
    }

    #[test]
    fn names_give_the_build() {
        let b = build_from_name("/x/my-proj/0b6f1d3c-4a52-4f0e-8d7e-2c9a51e7b8f4.log.gz");
        assert_eq!(
            b.id.as_deref(),
            Some("my-proj:0b6f1d3c-4a52-4f0e-8d7e-2c9a51e7b8f4")
        );
        assert_eq!(build_from_name("/x/build.log").id, None);
    }

    #[test]
    fn peeking_gives_every_byte_back() {
        let data: Vec<u8> = (0..20_000u32).map(|i| (i % 251) as u8).collect();
        let mut p = crate::decode::Peeked::new(&data[..]);
        assert_eq!(p.prefix().len(), crate::decode::PEEK_BYTES);
        let mut out = Vec::new();
        p.read_to_end(&mut out).unwrap();
        assert_eq!(out, data);
    }

    #[test]
    fn long_lines_are_cut() {
        let text = format!(
            "{}\n[Container] 2025/09/05 06:49:02.1 Phase is BUILD\n",
            "x".repeat(5000)
        );
        let (b, bytes, _) = read_build_log(text.as_bytes(), "p:1.log", 100);
        assert_eq!(bytes, text.len() as u64);
        assert_eq!(b.phases[0].kind, "BUILD");
    }
}
