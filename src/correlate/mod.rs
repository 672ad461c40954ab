//! Correlation: joining a role session's calls back to the web-identity assumption that
//! created the session, through `userIdentity.accessKeyId` =
//! `responseElements.credentials.accessKeyId`.
//!
//! The index holds one small entry per successful assumption in the whole scan, whatever
//! file, region or account it came from, so the join does not depend on the order in which
//! files were read. It decides nothing about causes.

pub mod intern;
mod spill;

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::event::EventId;
use crate::select::{CallFailure, TaggedSession, WebIdAttempt};
use intern::{Interner, Sym};

/// What a session inherited from its web-identity assumption.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Session {
    pub access_key_id: String,
    pub role_arn: Option<String>,
    pub assumed_role_arn: Option<String>,
    pub provider: Option<String>,
    pub sub: Option<String>,
    pub aud: Option<String>,
    pub assumed_at: DateTime<Utc>,
    pub region: Option<String>,
    pub event_id: String,
}

/// accessKeyId → session, kept compactly: one entry per successful assumption (its key
/// inline, time and event ID), the strings that sessions share (role, subject, provider,
/// audience, region) kept once. Entries are appended as inputs arrive and sorted by key once
/// the scan is over ([`SessionIndex::finish`]): a list has no hash table's empty slots.
#[derive(Debug, Default)]
pub struct SessionIndex {
    entries: Vec<(Key, Entry)>,
    strings: Interner,
    /// Sorted by key, one entry per key (the last added).
    sorted: bool,
    /// Where the sessions go beyond their budget ([`SessionIndex::spill_beyond`]).
    spill: Option<Spill>,
}

/// The sessions written to disk: each run sorted by key, the runs in the order written.
#[derive(Debug)]
struct Spill {
    /// Entries kept in memory before they are written as a run.
    budget: usize,
    dir: PathBuf,
    runs: Vec<PathBuf>,
    /// Sessions written (one per key and run).
    written: u64,
}

/// What was written to disk, for the note on stderr.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SessionSpill {
    pub runs: usize,
    pub sessions: u64,
}

/// An access key: inline when it is short (AWS's are 20 characters), else on the heap.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Key {
    Inline { len: u8, bytes: [u8; 23] },
    Heap(Box<str>),
}

impl Key {
    fn new(key: &str) -> Key {
        let b = key.as_bytes();
        match u8::try_from(b.len()) {
            Ok(len) if b.len() <= 23 => {
                let mut bytes = [0u8; 23];
                bytes[..b.len()].copy_from_slice(b);
                Key::Inline { len, bytes }
            }
            _ => Key::Heap(key.into()),
        }
    }

    fn as_str(&self) -> &str {
        match self {
            // made from a whole `&str`: valid UTF-8
            Key::Inline { len, bytes } => {
                std::str::from_utf8(&bytes[..usize::from(*len)]).unwrap_or_default()
            }
            Key::Heap(s) => s,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct Entry {
    role_arn: Option<Sym>,
    assumed_role_arn: Option<Sym>,
    provider: Option<Sym>,
    sub: Option<Sym>,
    aud: Option<Sym>,
    region: Option<Sym>,
    assumed_at: DateTime<Utc>,
    event_id: EventId,
}

impl SessionIndex {
    pub fn build(attempts: &[WebIdAttempt]) -> SessionIndex {
        let mut index = SessionIndex::default();
        for a in attempts {
            index.add(a);
        }
        index.finish();
        index
    }

    /// Keeps the session a successful assumption issued (a failed one, or one without a key,
    /// issued none); a later assumption that issued the same key replaces it.
    pub fn add(&mut self, a: &WebIdAttempt) {
        if a.error_code.is_some() {
            return;
        }
        let Some(key) = a.access_key_id.as_deref().filter(|k| !k.is_empty()) else {
            return;
        };
        let p = a.principal.as_ref();
        let s = &mut self.strings;
        let entry = Entry {
            role_arn: s.intern_opt(a.role_arn.as_deref()),
            assumed_role_arn: s.intern_opt(a.assumed_role_arn.as_deref()),
            provider: s.intern_opt(p.map(|p| p.provider.as_str())),
            sub: s.intern_opt(p.map(|p| p.subject.as_str())),
            aud: s.intern_opt(p.and_then(|p| p.audience.as_deref())),
            region: s.intern_opt(a.region.as_deref()),
            assumed_at: a.time,
            event_id: EventId::new(&a.event_id),
        };
        self.entries.push((Key::new(key), entry));
        self.sorted = false;
    }

    /// Adds every session of `other`, after those already kept (later ones replace earlier
    /// ones with the same key). Spilling ([`SessionIndex::spill_beyond`]), the sessions are
    /// then written as a run when they reach the budget (an error is the run's).
    pub fn merge(&mut self, other: SessionIndex) -> anyhow::Result<()> {
        if self.entries.is_empty() && self.strings.is_empty() && self.spill.is_none() {
            *self = other;
            self.sorted = false;
            return Ok(());
        }
        let o = &other.strings;
        let s = &mut self.strings;
        self.entries
            .extend(other.entries.into_iter().map(|(key, e)| {
                let entry = Entry {
                    role_arn: s.intern_opt(o.get_opt(e.role_arn)),
                    assumed_role_arn: s.intern_opt(o.get_opt(e.assumed_role_arn)),
                    provider: s.intern_opt(o.get_opt(e.provider)),
                    sub: s.intern_opt(o.get_opt(e.sub)),
                    aud: s.intern_opt(o.get_opt(e.aud)),
                    region: s.intern_opt(o.get_opt(e.region)),
                    assumed_at: e.assumed_at,
                    event_id: e.event_id,
                };
                (key, entry)
            }));
        self.sorted = false;
        match &self.spill {
            Some(sp) if self.entries.len() >= sp.budget => self.write_run(),
            _ => Ok(()),
        }
    }

    /// Beyond `budget_bytes` of sessions, [`SessionIndex::merge`] writes them to `dir` as a
    /// run sorted by key; [`SessionIndex::finish_wanted`] reads back only the sessions some
    /// failure needs.
    pub fn spill_beyond(&mut self, budget_bytes: usize, dir: &Path) {
        let each = std::mem::size_of::<(Key, Entry)>();
        let budget = (budget_bytes / each).max(1);
        self.spill = Some(Spill {
            budget,
            dir: dir.to_owned(),
            runs: Vec::new(),
            written: 0,
        });
    }

    fn write_run(&mut self) -> anyhow::Result<()> {
        let Some(sp) = &mut self.spill else {
            return Ok(());
        };
        sort_keeping_last(&mut self.entries);
        let path = sp.dir.join(format!("sessions-{:06}", sp.runs.len()));
        spill::write_run(&path, &self.entries)?;
        sp.written += self.entries.len() as u64;
        sp.runs.push(path);
        // the memory stays for the next run: it is within the budget
        self.entries.clear();
        Ok(())
    }

    /// What was written to disk, if anything was.
    pub fn spilled(&self) -> Option<SessionSpill> {
        self.spill
            .as_ref()
            .filter(|sp| !sp.runs.is_empty())
            .map(|sp| SessionSpill {
                runs: sp.runs.len(),
                sessions: sp.written,
            })
    }

    /// Sorts the sessions by key, keeping for each key the one added last. Sessions written
    /// to disk are not read back: use [`SessionIndex::finish_wanted`] when some were.
    pub fn finish(&mut self) {
        if self.sorted {
            return;
        }
        // in place: no copy to shrink the list (its unwritten pages are not resident)
        sort_keeping_last(&mut self.entries);
        self.sorted = true;
    }

    /// Finishes the index with only the sessions of the access keys in `wanted` (the keys of
    /// the failed calls: nothing else is ever looked up), read back from the runs written and
    /// from memory, the last of each key winning as in [`SessionIndex::finish`].
    pub fn finish_wanted(&mut self, wanted: &HashSet<String>) -> anyhow::Result<()> {
        let runs = match &self.spill {
            Some(sp) if !sp.runs.is_empty() => sp.runs.clone(),
            _ => {
                self.finish();
                return Ok(());
            }
        };
        let mut kept = Vec::new();
        for run in &runs {
            spill::read_run(run, |key, entry| {
                if wanted.contains(key) {
                    kept.push((Key::new(key), entry));
                }
            })?;
            // read once: the space is free for what comes next
            let _ = std::fs::remove_file(run);
        }
        // memory holds the latest sessions: after every run
        let latest = std::mem::take(&mut self.entries);
        kept.extend(
            latest
                .into_iter()
                .filter(|(k, _)| wanted.contains(k.as_str())),
        );
        self.entries = kept;
        self.sorted = false;
        self.finish();
        Ok(())
    }

    /// The session that `access_key_id` belongs to, if its assumption was read.
    pub fn get(&self, access_key_id: &str) -> Option<Session> {
        let (key, e) = if self.sorted {
            let i = self
                .entries
                .binary_search_by(|(k, _)| k.as_str().cmp(access_key_id))
                .ok()?;
            &self.entries[i]
        } else {
            // not finished yet: the last added wins
            self.entries
                .iter()
                .rev()
                .find(|(k, _)| k.as_str() == access_key_id)?
        };
        let s = &self.strings;
        let text = |sym: Option<Sym>| s.get_opt(sym).map(str::to_owned);
        Some(Session {
            access_key_id: key.as_str().to_owned(),
            role_arn: text(e.role_arn),
            assumed_role_arn: text(e.assumed_role_arn),
            provider: text(e.provider),
            sub: text(e.sub),
            aud: text(e.aud),
            assumed_at: e.assumed_at,
            region: text(e.region),
            event_id: e.event_id.to_string(),
        })
    }

    /// The access keys of the sessions kept.
    pub fn keys(&self) -> impl Iterator<Item = &str> {
        self.entries.iter().map(|(k, _)| k.as_str())
    }

    /// Sessions kept (once finished: one per key).
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

/// Sorts by key, stably, keeping the last of each key (in place).
fn sort_keeping_last(entries: &mut Vec<(Key, Entry)>) {
    // stable: the sessions of one key stay in the order added
    entries.sort_by(|a, b| a.0.as_str().cmp(b.0.as_str()));
    // keep the last of each key, in place: reversed, the last comes first
    entries.reverse();
    entries.dedup_by(|later, first| later.0 == first.0);
    entries.reverse();
}

/// The sessions that a tagged `AssumeRole` created, by the access key it issued: gives each
/// failed call of such a session that assumption's session tags (joined as [`SessionIndex`]
/// joins web-identity sessions).
pub struct SessionTags<'t> {
    by_key: HashMap<&'t str, &'t TaggedSession>,
}

impl<'t> SessionTags<'t> {
    pub fn new(tagged: &'t [TaggedSession]) -> SessionTags<'t> {
        SessionTags {
            by_key: tagged
                .iter()
                .map(|t| (t.access_key_id.as_str(), t))
                .collect(),
        }
    }

    pub fn attach(&self, f: &mut CallFailure) {
        let Some(t) = f.access_key_id.as_deref().and_then(|k| self.by_key.get(k)) else {
            return;
        };
        // the session's calls come after the assumption that created it
        if t.time <= f.time {
            f.origin.session_tags = Some(t.tags.clone());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn assumed(id: &str, key: &str, sub: &str) -> WebIdAttempt {
        WebIdAttempt {
            time: "2026-01-01T10:00:00Z".parse().unwrap_or_default(),
            event_id: id.to_owned(),
            account: None,
            region: Some("us-east-1".to_owned()),
            error_code: None,
            error_message: None,
            role_arn: Some("arn:aws:iam::111122223333:role/deploy".to_owned()),
            session_name: None,
            duration_seconds: None,
            principal: Some(crate::event::WebIdentityPrincipal {
                provider: "token.actions.githubusercontent.com".to_owned(),
                audience: None,
                subject: sub.to_owned(),
            }),
            user_agent: None,
            access_key_id: Some(key.to_owned()),
            assumed_role_arn: None,
            network: None,
        }
    }

    #[test]
    fn the_last_assumption_of_a_key_wins_across_inputs_and_long_keys_are_kept_whole() {
        let long = "ASIA".to_owned() + &"Z".repeat(60);
        let mut first = SessionIndex::default();
        first.add(&assumed("e1", "ASIAB", "repo:a/b:ref:refs/heads/main"));
        first.add(&assumed("e2", &long, "repo:a/b:pull_request"));
        first.add(&assumed("e3", "ASIAA", "repo:a/b:environment:prod"));
        let mut second = SessionIndex::default();
        second.add(&assumed("e4", "ASIAB", "repo:a/c:ref:refs/heads/dev"));
        let mut failed = assumed("e5", "ASIAA", "repo:x/y:ref:refs/heads/main");
        failed.error_code = Some("AccessDenied".to_owned());
        second.add(&failed);
        let mut all = SessionIndex::default();
        all.merge(first).unwrap();
        all.merge(second).unwrap();
        // before it is finished too
        assert_eq!(all.get("ASIAB").unwrap().event_id, "e4");
        all.finish();
        assert_eq!(all.len(), 3);
        let b = all.get("ASIAB").unwrap();
        assert_eq!(
            (b.event_id.as_str(), b.sub.as_deref()),
            ("e4", Some("repo:a/c:ref:refs/heads/dev"))
        );
        assert_eq!(all.get("ASIAA").unwrap().event_id, "e3");
        assert_eq!(all.get(&long).unwrap().access_key_id, long);
        assert!(all.get("ASIAC").is_none());
        assert_eq!(
            all.keys().collect::<Vec<_>>(),
            ["ASIAA", "ASIAB", long.as_str()]
        );
    }

    #[test]
    fn sessions_written_to_disk_read_back_as_kept_in_memory_for_the_keys_wanted() {
        let dir = tempfile::tempdir().unwrap();
        let long = "ASIA".to_owned() + &"L".repeat(40);
        let keys = [
            "ASIAB",
            "ASIAA",
            long.as_str(),
            "ASIAC",
            "ASIAB",
            "ASIAA",
            "ASIAD",
        ];
        let wanted: HashSet<String> = ["ASIAA", "ASIAB", long.as_str(), "ASIAX"]
            .iter()
            .map(|k| (*k).to_owned())
            .collect();
        for budget in [1, 2, 3, 1000] {
            let (mut spilled, mut kept) = (SessionIndex::default(), SessionIndex::default());
            spilled.spill_beyond(budget * std::mem::size_of::<(Key, Entry)>(), dir.path());
            for (i, key) in keys.iter().enumerate() {
                let mut part = SessionIndex::default();
                let mut a = assumed(
                    &format!("e{i}"),
                    key,
                    &format!("repo:a/b:ref:refs/heads/{i}"),
                );
                a.time += chrono::Duration::seconds(i as i64);
                part.add(&a);
                let copy = SessionIndex::build(std::slice::from_ref(&a));
                spilled.merge(part).unwrap();
                kept.merge(copy).unwrap();
            }
            let written = spilled.spilled();
            spilled.finish_wanted(&wanted).unwrap();
            kept.finish();
            assert_eq!(
                written.map(|w| w.runs),
                (budget < keys.len()).then_some(keys.len() / budget),
                "budget {budget}"
            );
            // nothing written: everything stays, as `finish` keeps it
            let got: Vec<_> = spilled.keys().map(|k| spilled.get(k)).collect();
            let want: Vec<_> = kept
                .keys()
                .filter(|k| written.is_none() || wanted.contains(*k))
                .map(|k| kept.get(k))
                .collect();
            assert_eq!(got, want, "budget {budget}");
            assert_eq!(spilled.get("ASIAA").unwrap().event_id, "e5");
            assert_eq!(spilled.get("ASIAB").unwrap().event_id, "e4");
            assert_eq!(spilled.get("ASIAC").is_none(), written.is_some());
            // the runs were read once and removed
            assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
        }
    }

    #[test]
    fn a_call_gets_the_tags_of_the_assumption_that_issued_its_key_and_only_after_it() {
        let t = |s: &str| s.parse::<DateTime<Utc>>().unwrap();
        let tagged = [TaggedSession {
            time: t("2026-01-01T10:00:00Z"),
            event_id: "a1".to_owned(),
            access_key_id: "ASIAB".to_owned(),
            role_arn: None,
            tags: vec![("team".to_owned(), "web".to_owned())],
        }];
        let call = |key: &str, time: &str| CallFailure {
            time: t(time),
            event_id: String::new(),
            account: None,
            region: None,
            event_source: String::new(),
            event_name: String::new(),
            error_code: String::new(),
            error_message: None,
            caller_arn: None,
            access_key_id: Some(key.to_owned()),
            issuer_role_arn: None,
            federated_provider: None,
            resources: Vec::new(),
            request: serde_json::Value::Null,
            origin: Default::default(),
        };
        let mut calls = [
            call("ASIAB", "2026-01-01T10:01:00Z"),
            call("ASIAB", "2026-01-01T09:59:00Z"),
            call("ASIAC", "2026-01-01T10:01:00Z"),
        ];
        let tags = SessionTags::new(&tagged);
        for c in &mut calls {
            tags.attach(c);
        }
        let got: Vec<_> = calls
            .iter()
            .map(|c| c.origin.session_tags.clone())
            .collect();
        assert_eq!(
            got,
            [
                Some(vec![("team".to_owned(), "web".to_owned())]),
                None,
                None
            ]
        );
    }
}
