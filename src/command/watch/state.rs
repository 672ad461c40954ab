//! The `--state` file of `watch`: what makes it exactly-once across restarts.
//!
//! It holds the objects already read (a redelivered notification reads nothing twice), the
//! files kept of them (the selected records, the rolling window correlation runs over), the
//! event IDs already emitted (a finding's events are delivered once), the events held for
//! evidence (`--settle`), the fingerprints seen (new vs recurring) and the outbox: emitted
//! findings not yet accepted by the webhook. It is JSON, written atomically (a temporary
//! file in the same directory, fsync, rename, fsync of the directory) before any message is
//! deleted. A file that cannot be parsed is an error naming it, never silently reset.

use std::collections::BTreeMap;
use std::fs;
use std::path::Path;

use anyhow::{bail, Context as _, Result};
use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use trailwhy::report::state::write_atomically;

/// The format version this build reads and writes.
pub const VERSION: u32 = 1;

/// How long emitted event IDs are remembered: SQS keeps a message at most 14 days, so no
/// notification of an object read longer ago can come back.
pub const REMEMBER: Duration = Duration::days(14);

#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WatchState {
    pub version: u32,
    /// `bucket/key` of every object read (or given up on), and what was kept of it.
    pub objects: BTreeMap<String, ObjectEntry>,
    /// Event IDs already emitted (delivered or suppressed), with when.
    pub emitted: BTreeMap<String, DateTime<Utc>>,
    /// Events whose finding waits for evidence, with when they were first held.
    pub held: BTreeMap<String, DateTime<Utc>>,
    /// Fingerprints of findings emitted, with when last: a later one is recurring.
    pub fingerprints: BTreeMap<String, DateTime<Utc>>,
    /// Emitted findings the webhook has not accepted yet, oldest first.
    pub outbox: Vec<Delivery>,
    /// The number of the next kept file and of the next delivery.
    pub next_file: u64,
    pub next_delivery: u64,
}

/// An object read.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ObjectEntry {
    /// In seconds since the epoch: there is one entry per object of the window.
    #[serde(with = "chrono::serde::ts_seconds")]
    pub read_at: DateTime<Utc>,
    /// The kept file (selected records) in the window directory, if any record was kept.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kept: Option<String>,
    /// Whether the kept file holds policy change events (kept longer: `--change-window`).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub changes: bool,
    /// Why it was not read, when it was given up on.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub skipped: Option<String>,
}

/// A webhook delivery: its findings as JSON, and their Markdown for a Slack-style body.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Delivery {
    /// Stable across retries and restarts: the receiver's idempotency key.
    pub id: String,
    pub created: DateTime<Utc>,
    pub attempts: u32,
    pub next_attempt: DateTime<Utc>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_error: Option<String>,
    pub findings: Vec<Value>,
    pub markdown: String,
}

impl WatchState {
    /// Reads the state, or a new one when the file does not exist.
    pub fn load(path: &Path) -> Result<WatchState> {
        let text = match fs::read_to_string(path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Ok(WatchState {
                    version: VERSION,
                    ..WatchState::default()
                })
            }
            Err(e) => return Err(e).with_context(|| format!("cannot read {}", path.display())),
        };
        let state: WatchState = serde_json::from_str(&text).with_context(|| {
            format!(
                "state file {} is not a trailwhy watch state (remove it to start afresh: objects already read would then be read again)",
                path.display()
            )
        })?;
        if state.version != VERSION {
            bail!(
                "state file {} has version {}; this trailwhy reads version {VERSION}",
                path.display(),
                state.version
            );
        }
        Ok(state)
    }

    /// Writes the state atomically (`report::state::write_atomically`).
    pub fn save(&self, path: &Path) -> Result<()> {
        write_atomically(path, |w| Ok(serde_json::to_writer(w, self)?))
            .with_context(|| format!("cannot write the state file {}", path.display()))
    }

    /// Forgets what can no longer matter at `now`: emitted IDs and fingerprints after
    /// [`REMEMBER`]; objects read longer than `window` ago whose records are no longer kept
    /// (a notification of one comes back within minutes — another route, a message not
    /// deleted — and one that comes later has its object read again, its events, remembered
    /// as emitted, not emitted again).
    pub fn prune(&mut self, now: DateTime<Utc>, window: Duration) {
        let horizon = now - REMEMBER;
        self.emitted.retain(|_, t| *t >= horizon);
        self.fingerprints.retain(|_, t| *t >= horizon);
        self.objects
            .retain(|_, o| o.read_at >= now - window || o.kept.is_some());
    }

    /// Kept files older than the window (or, holding change events, than `change_window`):
    /// taken out of their entries and returned, to be removed once the state is saved.
    pub fn expired_files(
        &mut self,
        now: DateTime<Utc>,
        window: Duration,
        change_window: Duration,
    ) -> Vec<String> {
        let mut gone = Vec::new();
        for o in self.objects.values_mut() {
            let keep_for = if o.changes { change_window } else { window };
            if o.read_at < now - keep_for {
                if let Some(f) = o.kept.take() {
                    gone.push(f);
                }
            }
        }
        gone
    }

    /// Every kept file, by name.
    pub fn kept_files(&self) -> impl Iterator<Item = &str> {
        self.objects.values().filter_map(|o| o.kept.as_deref())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn saved_state_reads_back_and_a_broken_one_is_named() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("w.json");
        let mut s = WatchState::load(&path).unwrap();
        assert_eq!(s.version, VERSION);
        s.emitted.insert("e1".into(), Utc::now());
        s.objects.insert(
            "b/k".into(),
            ObjectEntry {
                read_at: Utc::now(),
                kept: Some("1.json.gz".into()),
                changes: false,
                skipped: None,
            },
        );
        s.save(&path).unwrap();
        let back = WatchState::load(&path).unwrap();
        assert_eq!(back.emitted.len(), 1);
        assert_eq!(back.kept_files().collect::<Vec<_>>(), ["1.json.gz"]);
        fs::write(&path, "{\"version\":1,\"objects\":").unwrap();
        let err = format!("{:#}", WatchState::load(&path).unwrap_err());
        assert!(
            err.contains("w.json") && err.contains("not a trailwhy watch state"),
            "{err}"
        );
    }

    #[test]
    fn objects_are_forgotten_after_the_window_emitted_ids_after_fourteen_days() {
        let now = Utc::now();
        let mut s = WatchState::default();
        let entry = |age_h: i64, kept: Option<&str>| ObjectEntry {
            read_at: now - Duration::hours(age_h),
            kept: kept.map(str::to_owned),
            changes: kept.is_some(),
            skipped: None,
        };
        s.objects.insert("recent".into(), entry(1, None));
        s.objects.insert("old".into(), entry(13, None));
        s.objects
            .insert("old-with-changes".into(), entry(13, Some("c.json.gz")));
        s.emitted.insert("e-13d".into(), now - Duration::days(13));
        s.emitted.insert("e-15d".into(), now - Duration::days(15));
        s.prune(now, Duration::hours(12));
        assert_eq!(
            s.objects.keys().collect::<Vec<_>>(),
            ["old-with-changes", "recent"]
        );
        assert_eq!(s.emitted.keys().collect::<Vec<_>>(), ["e-13d"]);
    }

    #[test]
    fn old_files_expire_by_their_kind() {
        let now = Utc::now();
        let mut s = WatchState::default();
        for (name, age_h, changes) in [("old", 13, false), ("new", 1, false), ("oldchg", 13, true)]
        {
            s.objects.insert(
                name.into(),
                ObjectEntry {
                    read_at: now - Duration::hours(age_h),
                    kept: Some(format!("{name}.json.gz")),
                    changes,
                    skipped: None,
                },
            );
        }
        let gone = s.expired_files(now, Duration::hours(12), Duration::days(7));
        assert_eq!(gone, ["old.json.gz"]);
        assert_eq!(s.kept_files().count(), 2);
        assert!(
            s.objects.contains_key("old"),
            "the object is still known as read"
        );
    }
}
