//! The `--state` file of `trailwhy report`: the findings already reported, by fingerprint, so
//! that the next run can tell new findings from recurring ones and list those that stopped.
//!
//! A fingerprint identifies a finding by what it is about — cause, role, `sub`, action and
//! resource — never by its counts or times, so the same problem seen in two windows has the
//! same fingerprint. The file is JSON, written atomically (a temporary file in the same
//! directory, then a rename). A file that cannot be parsed is an error naming it: it is
//! never silently reset, which would report every known finding as new again.
//!
//! This module does not decide what is shown; [`super::document`] does.

use std::collections::{BTreeMap, HashSet};
use std::fs::{self, File};
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use anyhow::{bail, Context as _, Result};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::explain::Finding;

/// The format version this build reads and writes.
pub const STATE_VERSION: u32 = 1;

/// The stable identity of a finding: FNV-1a (64 bit, hex) of its cause, role ARN, `sub`,
/// action and resource, separated by NUL bytes.
pub fn fingerprint(f: &Finding) -> String {
    let parts = [
        f.cause.code(),
        f.role_arn.as_deref().unwrap_or(""),
        f.sub.as_deref().unwrap_or(""),
        &f.action,
        f.resource.as_deref().unwrap_or(""),
    ];
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for (i, part) in parts.iter().enumerate() {
        if i > 0 {
            hash = fnv1a_byte(hash, 0);
        }
        for b in part.bytes() {
            hash = fnv1a_byte(hash, b);
        }
    }
    format!("{hash:016x}")
}

fn fnv1a_byte(hash: u64, b: u8) -> u64 {
    (hash ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3)
}

/// The state file.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct State {
    pub version: u32,
    /// How many runs have updated the file.
    pub runs: u64,
    /// When the last run updated the file.
    pub last_run: Option<DateTime<Utc>>,
    /// Every finding ever reported, by fingerprint.
    pub findings: BTreeMap<String, Remembered>,
}

/// What the state remembers of one reported finding.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Remembered {
    pub cause: String,
    pub role_arn: Option<String>,
    pub sub: Option<String>,
    pub action: String,
    pub resource: Option<String>,
    pub repository: String,
    /// The run that first reported it.
    pub first_reported: DateTime<Utc>,
    /// The last run that saw it.
    pub last_reported: DateTime<Utc>,
    /// The number of the last run that saw it (compared with [`State::runs`]).
    pub last_run: u64,
    /// The earliest and latest event of it, over every run.
    pub first_seen: DateTime<Utc>,
    pub last_seen: DateTime<Utc>,
}

impl State {
    pub fn new() -> State {
        State {
            version: STATE_VERSION,
            ..State::default()
        }
    }

    /// Reads the state at `path`; `None` when the file does not exist yet (the first run).
    pub fn load(path: &Path) -> Result<Option<State>> {
        let text = match fs::read_to_string(path) {
            Ok(t) => t,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
            Err(e) => {
                return Err(e).with_context(|| format!("cannot read state file {}", path.display()))
            }
        };
        let state: State = serde_json::from_str(&text).with_context(|| {
            format!(
                "state file {} is corrupt (fix or delete it to start afresh)",
                path.display()
            )
        })?;
        if state.version != STATE_VERSION {
            bail!(
                "state file {} has version {}; this trailwhy reads version {STATE_VERSION}",
                path.display(),
                state.version
            );
        }
        Ok(Some(state))
    }

    /// Whether a finding with this fingerprint was reported by an earlier run.
    pub fn knows(&self, fingerprint: &str) -> bool {
        self.findings.contains_key(fingerprint)
    }

    /// The findings the previous run saw that are not in `seen`: they stopped.
    pub fn stopped(&self, seen: &HashSet<&str>) -> Vec<(&String, &Remembered)> {
        self.findings
            .iter()
            .filter(|(fp, r)| {
                self.runs > 0 && r.last_run == self.runs && !seen.contains(fp.as_str())
            })
            .collect()
    }

    /// Records one run that reported `findings` (fingerprint, repository, finding).
    pub fn record<'a>(
        &mut self,
        run_at: DateTime<Utc>,
        findings: impl IntoIterator<Item = (&'a str, &'a str, &'a Finding)>,
    ) {
        let run = self.runs + 1;
        for (fp, repository, f) in findings {
            let entry = self
                .findings
                .entry(fp.to_owned())
                .or_insert_with(|| Remembered {
                    cause: f.cause.code().to_owned(),
                    role_arn: f.role_arn.as_deref().map(str::to_owned),
                    sub: f.sub.as_deref().map(str::to_owned),
                    action: f.action.to_string(),
                    resource: f.resource.as_deref().map(str::to_owned),
                    repository: repository.to_owned(),
                    first_reported: run_at,
                    last_reported: run_at,
                    last_run: run,
                    first_seen: f.first_seen,
                    last_seen: f.last_seen,
                });
            entry.last_reported = run_at;
            entry.last_run = run;
            entry.first_seen = entry.first_seen.min(f.first_seen);
            entry.last_seen = entry.last_seen.max(f.last_seen);
        }
        self.version = STATE_VERSION;
        self.runs = run;
        self.last_run = Some(run_at);
    }

    /// Writes the state atomically ([`write_atomically`]).
    pub fn save(&self, path: &Path) -> Result<()> {
        write_atomically(path, |w| {
            serde_json::to_writer_pretty(&mut *w, self)?;
            w.write_all(b"\n")
        })
        .with_context(|| format!("cannot write state file {}", path.display()))
    }
}

/// The directory `path` is in (`.` for a bare file name).
pub fn parent_dir(path: &Path) -> PathBuf {
    match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    }
}

/// Writes a file atomically, for every state file (`report`'s, `watch`'s): `write` fills a
/// temporary file beside `path`, which is flushed to disk, renamed over `path`, and its
/// directory flushed (best effort: not every platform can), so readers — and a crash — see
/// the old file or the new one whole, never a part. The temporary file is removed on failure.
pub fn write_atomically(
    path: &Path,
    write: impl FnOnce(&mut dyn Write) -> io::Result<()>,
) -> io::Result<()> {
    let dir = parent_dir(path);
    let tmp = tempfile::NamedTempFile::new_in(&dir)?;
    {
        let mut w = io::BufWriter::new(tmp.as_file());
        write(&mut w)?;
        w.flush()?;
    }
    tmp.as_file().sync_all()?;
    tmp.persist(path).map_err(|e| e.error)?;
    if let Ok(d) = File::open(&dir) {
        let _ = d.sync_all();
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fnv1a_matches_the_reference_vectors() {
        let h = |s: &str| s.bytes().fold(0xcbf2_9ce4_8422_2325, fnv1a_byte);
        assert_eq!(h(""), 0xcbf2_9ce4_8422_2325);
        assert_eq!(h("a"), 0xaf63_dc4c_8601_ec8c);
        assert_eq!(h("foobar"), 0x8594_4171_f739_67e8);
    }
}
