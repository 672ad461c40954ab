//! `trailwhy watch sqs://QUEUE`: the bucket's notifications in, explained findings out,
//! exactly once.
//!
//! The loop: receive a few messages (long polling), say which objects they name
//! (`source::notify`), read each object once through the one reader, keeping its selected
//! records (failures, assumptions, change events) as a small file in the window directory,
//! then explain over every kept file of the rolling window (`pipeline::findings_with`: the
//! same findings `explain` gives over the same objects). A failure's events not emitted
//! before are emitted — at once when the finding's evidence is complete, after `--settle`
//! with what is known when it is not (the session's assumption or the account's policies
//! may be in an object that arrives later). The state file ([`state`]) is written, then
//! stdout, then the messages are deleted and the outbox delivered ([`webhook`]).
//!
//! Order of durability: a kept file is on disk before the state names it; the state is on
//! disk before a message is deleted; a delivery leaves the outbox only after a 2xx. A crash
//! anywhere re-reads at most the objects of undeleted messages, whose events the state
//! already knows as emitted.

mod setup;
pub mod state;
mod webhook;

use std::collections::HashMap;
use std::io::{BufWriter, Write as _};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use anyhow::{anyhow, bail, Context as _, Result};
use chrono::{DateTime, Duration, Utc};
use serde_json::json;

use super::pipeline::{check_accounts, findings_with, Memory, ScanConfig};
use super::Exit;
use crate::cli::{parse_size, AwsArgs, ScanArgs, WatchArgs, WatchFormat};
use state::{Delivery, ObjectEntry, WatchState};
use trailwhy::aws::{AwsContext, AwsOptions};
use trailwhy::decode::DecodeLimits;
use trailwhy::event::EventId;
use trailwhy::explain::{Cause, Finding};
use trailwhy::read::{self, Raw, RecordProblem, ScanStats, Sink};
use trailwhy::report::document::{repository_of, Reported, Status};
use trailwhy::report::sanitize::terminal_safe;
use trailwhy::report::state::fingerprint;
use trailwhy::report::suppress::{Rules, Verdict};
use trailwhy::report::{self, markdown};
use trailwhy::scan::with_record;
use trailwhy::select::{Rejected, Selected, Selector};
use trailwhy::selection::time::parse_duration;
use trailwhy::selection::Window;
use trailwhy::source::notify::{self, Notice, ObjectRef};
use trailwhy::source::queue::{queue_spec, Message, Queue};
use trailwhy::source::s3::{GetError, ObjectGetter};
use trailwhy::source::{Input, Remote};

pub fn run(args: &WatchArgs) -> Result<Exit> {
    if args.print_setup {
        return setup::print(args);
    }
    let mut w = Watcher::start(args)?;
    w.run()
}

/// Messages done with but not yet deleted (their objects not yet explained) at which an
/// explanation comes whatever `--explain-every` says: in-flight messages are few, their
/// visibility kept in a few requests (SQS allows 120,000 in flight per queue).
const MAX_UNDELETED: usize = 1_000;

/// An object downloaded to a temporary file, or why not.
type Fetched = std::result::Result<tempfile::NamedTempFile, GetError>;

/// What happened to one object a message named.
enum Fate {
    /// Read (or given up on for good): recorded in the state.
    Done(ObjectEntry),
    /// Not read this time (network, access): the message stays on the queue.
    Retry(String),
    /// A stop was asked for while it was read.
    Interrupted,
}

struct Watcher<'a> {
    args: &'a WatchArgs,
    ctx: Arc<AwsContext>,
    queue: Arc<Queue>,
    getter: Arc<ObjectGetter>,
    state: WatchState,
    state_path: PathBuf,
    window_dir: PathBuf,
    selector: Selector,
    limits: DecodeLimits,
    settle: Duration,
    /// `--memory-limit`, `--temp-dir` of each explanation.
    memory: Memory,
    /// While messages keep coming, how often the window is explained.
    explain_every: std::time::Duration,
    window: Duration,
    change_window: Duration,
    rules: Option<Rules>,
    webhook: Option<webhook::Webhook>,
    /// What stdout gets once the state naming it is saved.
    stdout: Vec<u8>,
    /// Objects were read since the last explanation.
    unexplained: bool,
    /// Receipts of the messages received and not yet deleted or let go: kept invisible by a
    /// task that extends their visibility every half timeout ([`keep_invisible`]).
    in_flight: Arc<std::sync::Mutex<Vec<String>>>,
    /// Messages done with, deleted after the next explanation is saved.
    to_delete: Vec<String>,
    explained_at: Instant,
    /// The `--iam` inputs' problems were said (at the first explanation).
    iam_told: bool,
    /// Counts for the closing line.
    received: u64,
    objects_read: u64,
    objects_unreadable: u64,
    emitted: u64,
}

fn duration_flag(flag: &str, text: &str) -> Result<Duration> {
    parse_duration(text).ok_or_else(|| anyhow!("{flag}: '{text}' is not a duration (e.g. 10m)"))
}

impl<'a> Watcher<'a> {
    fn start(args: &'a WatchArgs) -> Result<Watcher<'a>> {
        let spec = queue_spec(&queue_arg(args)?)?;
        let state_path = args.state.clone().ok_or_else(|| {
            anyhow!("--state FILE is needed: it is what makes watch exactly-once across restarts")
        })?;
        check_accounts(&args.account)?;
        for p in &args.iam {
            if !Path::new(p).exists() {
                bail!("--iam: {p}: no such file or directory");
            }
        }
        let settle = duration_flag("--settle", &args.settle)?;
        let window = duration_flag("--window", &args.window)?;
        let change_window = duration_flag("--change-window", &args.change_window)?.max(window);
        let max = parse_size(&args.max_decompressed_size)
            .map_err(|e| anyhow!("--max-decompressed-size: {e}"))?;
        // checked now, not at the first explanation
        let memory = Memory::from_args(&args.memory)?;
        let rules = args.suppress.as_deref().map(Rules::load).transpose()?;
        let timeout = duration_flag("--webhook-timeout", &args.webhook_timeout)?
            .to_std()
            .unwrap_or_default()
            .max(std::time::Duration::from_millis(100));
        let webhook = args
            .webhook
            .as_deref()
            .map(|u| webhook::Webhook::new(u, args.webhook_format, timeout))
            .transpose()?;
        let state = WatchState::load(&state_path)?;
        let window_dir = window_dir(&state_path);
        std::fs::create_dir_all(&window_dir)
            .with_context(|| format!("cannot create {}", window_dir.display()))?;
        remove_strays(&window_dir, &state)?;
        let ctx = Arc::new(AwsContext::new(AwsOptions {
            profile: args.profile.clone(),
            region: None,
            endpoint_url: args.endpoint_url.clone(),
        })?);
        ctx.check_credentials()?;
        let queue = Arc::new(Queue::open(&ctx, &spec)?);
        let getter = Arc::new(ObjectGetter::new(&ctx));
        Ok(Watcher {
            args,
            selector: Selector::new(Window {
                since: None,
                until: None,
                accounts: args.account.clone(),
                regions: args.region.clone(),
            }),
            limits: DecodeLimits {
                max_decompressed_bytes: max,
                ..DecodeLimits::default()
            },
            ctx,
            queue,
            getter,
            state,
            state_path,
            window_dir,
            settle,
            memory,
            explain_every: duration_flag("--explain-every", &args.explain_every)?
                .to_std()
                .unwrap_or_default(),
            window,
            change_window,
            rules,
            webhook,
            stdout: Vec::new(),
            unexplained: false,
            in_flight: Arc::default(),
            to_delete: Vec::new(),
            explained_at: Instant::now(),
            iam_told: false,
            received: 0,
            objects_read: 0,
            objects_unreadable: 0,
            emitted: 0,
        })
    }

    fn note(&self, text: &str) {
        if !self.args.quiet {
            eprintln!("trailwhy: {text}");
        }
    }

    fn run(&mut self) -> Result<Exit> {
        let started = Instant::now();
        self.note(&format!(
            "watching {} ({}; state {})",
            terminal_safe(&self.queue.url),
            match &self.queue.redrive {
                Some(_) => "a dead-letter queue takes what keeps failing",
                None => "no redrive policy: unreadable messages are deleted once named",
            },
            self.state_path.display()
        ));
        let keeper = keep_invisible(&self.ctx, self.queue.clone(), self.in_flight.clone());
        let result = self.work();
        keeper.abort();
        result?;
        self.closing_note(started);
        Ok(Exit::Ok)
    }

    fn work(&mut self) -> Result<()> {
        // kept files of a previous run whose events were not all emitted
        self.explain_and_save()?;
        self.deliver_due()?;
        while !trailwhy::interrupt::requested() {
            let wait = self.wait_seconds();
            let msgs = match self.receive(wait) {
                Ok(m) => m,
                Err(e) if !self.args.once => {
                    eprintln!(
                        "trailwhy: {}; trying again in 5 s",
                        terminal_safe(&format!("{e:#}"))
                    );
                    self.pause(std::time::Duration::from_secs(5));
                    continue;
                }
                Err(e) => return Err(e),
            };
            if msgs.is_empty() {
                if self.unexplained {
                    self.explain_or_wait()?;
                } else {
                    self.delete_done();
                }
                self.settle_due()?;
                self.deliver_due()?;
                if self.args.once {
                    break;
                }
                continue;
            }
            self.batch(msgs)?;
            // while messages keep coming, an explanation every --explain-every
            if !self.unexplained {
                self.delete_done();
            } else if self.explained_at.elapsed() >= self.explain_every
                || self.to_delete.len() >= MAX_UNDELETED
            {
                self.explain_or_wait()?;
            }
            self.deliver_due()?;
        }
        // in-flight work finished: explained, saved, its messages deleted
        if self.unexplained || !self.to_delete.is_empty() {
            self.explain_and_save()?;
        }
        self.state.save(&self.state_path)?;
        self.flush_stdout()
    }

    fn closing_note(&self, started: Instant) {
        let mut text = format!(
            "{} message(s) received, {} object(s) read, {}{} finding(s) emitted in {:.1} s",
            self.received,
            self.objects_read,
            match self.objects_unreadable {
                0 => String::new(),
                n => format!("{n} not readable (named above), "),
            },
            self.emitted,
            started.elapsed().as_secs_f64()
        );
        if !self.state.held.is_empty() {
            text.push_str(&format!(
                "; {} event(s) wait for their evidence (up to --settle {}; a later run emits them)",
                self.state.held.len(),
                self.args.settle
            ));
        }
        if !self.state.outbox.is_empty() {
            text.push_str(&format!(
                "; {} delivery(ies) wait in the state for the webhook",
                self.state.outbox.len()
            ));
        }
        self.note(&text);
    }

    /// How long the next receive may wait: `--wait`, less when a held finding settles or a
    /// delivery is due sooner, not at all while objects wait for their explanation; 1 s with
    /// `--once` (long polling asks every server: an empty answer means an empty queue).
    fn wait_seconds(&self) -> i32 {
        if self.args.once {
            return 1;
        }
        // objects read and not yet explained: a short poll (an empty answer explains them now)
        if self.unexplained {
            return 0;
        }
        let now = Utc::now();
        let mut due: Option<DateTime<Utc>> = self.state.outbox.first().map(|d| d.next_attempt);
        if let Some(first) = self.state.held.values().min() {
            let t = *first + self.settle;
            due = Some(due.map_or(t, |d| d.min(t)));
        }
        let max = i32::from(self.args.wait.min(20));
        match due {
            Some(t) => ((t - now).num_seconds().clamp(0, i64::from(max)) as i32).max(1),
            None => max,
        }
    }

    /// Waits `d`, waking early for a stop.
    fn pause(&self, d: std::time::Duration) {
        let until = Instant::now() + d;
        while Instant::now() < until && !trailwhy::interrupt::requested() {
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
    }

    /// One receive; a stop asked for meanwhile ends it early (what it would have returned
    /// is received again after the visibility timeout).
    fn receive(&self, wait: i32) -> Result<Vec<Message>> {
        let queue = self.queue.clone();
        self.ctx.block_on(async move {
            tokio::select! {
                r = queue.receive(wait) => r,
                () = stopped() => Ok(Vec::new()),
            }
        })
    }

    /// Reads the objects of `msgs`; the messages done with are deleted once the state names
    /// their objects' kept records and findings ([`Watcher::explain_and_save`]).
    fn batch(&mut self, msgs: Vec<Message>) -> Result<()> {
        let receipts: Vec<String> = msgs.iter().map(|m| m.receipt.clone()).collect();
        // held at once: the keeper's next renewal may be most of a period away
        if let Err(e) = self.ctx.block_on(
            self.queue
                .set_visibility(&receipts, hold_seconds(&self.queue)),
        ) {
            eprintln!("trailwhy: {}", terminal_safe(&format!("{e:#}")));
        }
        self.in_flight
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .extend(receipts);
        self.received += msgs.len() as u64;
        let now = Utc::now();
        let notices: Vec<Result<Notice, String>> =
            msgs.iter().map(|m| notify::parse(&m.body)).collect();
        let mut fetched = self.fetch(&notices);
        let mut done: Vec<String> = Vec::new();
        let mut let_go: Vec<String> = Vec::new();
        for (m, notice) in msgs.iter().zip(notices) {
            let id = terminal_safe(&m.id).into_owned();
            match notice {
                Err(why) => {
                    let fate = if self.queue.redrive.is_some() {
                        let_go.push(m.receipt.clone());
                        "left to the queue's redrive policy (dead-letter queue)"
                    } else {
                        done.push(m.receipt.clone());
                        "deleted (the queue has no redrive policy)"
                    };
                    eprintln!(
                        "trailwhy: message {id} (received {} time(s)): {}; {fate}",
                        m.receive_count,
                        terminal_safe(&why)
                    );
                }
                Ok(Notice::Test) => {
                    self.note(&format!("message {id}: s3:TestEvent, acknowledged"));
                    done.push(m.receipt.clone());
                }
                Ok(Notice::Sns(what)) => {
                    eprintln!("trailwhy: message {id}: {}", terminal_safe(&what));
                    done.push(m.receipt.clone());
                }
                Ok(Notice::Objects(objects)) => {
                    let mut all = true;
                    for o in &objects {
                        match self.object(o, now, &mut fetched) {
                            None | Some(Fate::Done(_)) => {}
                            Some(Fate::Retry(why)) => {
                                all = false;
                                eprintln!(
                                    "trailwhy: s3://{}/{}: {}; message {id} stays on the queue (received {} time(s){})",
                                    terminal_safe(&o.bucket),
                                    terminal_safe(&o.key),
                                    terminal_safe(&why),
                                    m.receive_count,
                                    if self.queue.redrive.is_some() {
                                        "; the redrive policy moves it to the dead-letter queue after its maximum"
                                    } else {
                                        ""
                                    }
                                );
                            }
                            Some(Fate::Interrupted) => {
                                all = false;
                                break;
                            }
                        }
                    }
                    if all {
                        done.push(m.receipt.clone());
                    } else {
                        let_go.push(m.receipt.clone());
                    }
                }
            }
        }
        // the state names what was kept at the next explanation, which deletes these (a
        // crash before it: the messages come back, the unnamed kept files are removed at
        // the start, the objects read again)
        self.to_delete.extend(done);
        // a message not done with is let go: received again after the queue's visibility
        // timeout (at once after a stop), its objects read this time known as read
        self.forget(&let_go);
        let again = if trailwhy::interrupt::requested() {
            0
        } else {
            self.queue.visibility_timeout
        };
        for chunk in let_go.chunks(trailwhy::source::queue::BATCH as usize) {
            let _ = self.ctx.block_on(self.queue.set_visibility(chunk, again));
        }
        Ok(())
    }

    /// Downloads, at once, the objects these notices name that were not read before and are
    /// trail logs (each once), to temporary files in the window directory.
    fn fetch(&self, notices: &[Result<Notice, String>]) -> HashMap<String, Fetched> {
        let mut wanted: Vec<(String, ObjectRef)> = Vec::new();
        for n in notices {
            let Ok(Notice::Objects(objects)) = n else {
                continue;
            };
            for o in objects {
                let id = format!("{}/{}", o.bucket, o.key);
                let new = !self.state.objects.contains_key(&id)
                    && notify::log_key(&o.key)
                    && !wanted.iter().any(|(w, _)| *w == id);
                if new {
                    wanted.push((id, o.clone()));
                }
            }
        }
        let max = self.limits.max_decompressed_bytes;
        let (getter, dir) = (self.getter.clone(), self.window_dir.clone());
        self.ctx.block_on(async move {
            // a delivery notification may name many objects: 16 downloads at a time
            let permits = Arc::new(tokio::sync::Semaphore::new(16));
            let mut set = tokio::task::JoinSet::new();
            for (id, o) in wanted {
                let (getter, dir, permits) = (getter.clone(), dir.clone(), permits.clone());
                set.spawn(async move {
                    let _permit = permits.acquire_owned().await;
                    let got = match tempfile::NamedTempFile::new_in(&dir) {
                        Err(e) => Err(GetError::Failed(format!(
                            "cannot make a temporary file: {e}"
                        ))),
                        Ok(mut f) => getter
                            .get_to(&o.bucket, &o.key, f.as_file_mut(), max)
                            .await
                            .map(|_| f),
                    };
                    (id, got)
                });
            }
            let mut out = HashMap::new();
            while let Some(r) = set.join_next().await {
                if let Ok((id, got)) = r {
                    out.insert(id, got);
                }
            }
            out
        })
    }

    /// These messages are no longer kept invisible.
    fn forget(&self, receipts: &[String]) {
        let gone: std::collections::HashSet<&str> = receipts.iter().map(String::as_str).collect();
        self.in_flight
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .retain(|r| !gone.contains(r.as_str()));
    }

    /// Deletes the messages done with: their objects' records and findings are saved. A
    /// message not deleted comes back; its objects are known as read, so nothing is read or
    /// emitted twice.
    fn delete_done(&mut self) {
        let done = std::mem::take(&mut self.to_delete);
        for chunk in done.chunks(trailwhy::source::queue::BATCH as usize) {
            match self.ctx.block_on(self.queue.delete_batch(chunk)) {
                Err(e) => eprintln!("trailwhy: {}", terminal_safe(&format!("{e:#}"))),
                Ok(failed) => {
                    for (_, why) in failed {
                        eprintln!(
                            "trailwhy: a message was not deleted: {}",
                            terminal_safe(&why)
                        );
                    }
                }
            }
        }
        self.forget(&done);
    }

    /// Reads one object unless it was read before or is not a trail log (`None` then).
    fn object(
        &mut self,
        o: &ObjectRef,
        now: DateTime<Utc>,
        fetched: &mut HashMap<String, Fetched>,
    ) -> Option<Fate> {
        let id = format!("{}/{}", o.bucket, o.key);
        if self.state.objects.contains_key(&id) || !notify::log_key(&o.key) {
            return None;
        }
        let got = fetched
            .remove(&id)
            .unwrap_or_else(|| Err(GetError::Failed("its download did not finish".to_owned())));
        let fate = self.read_object(o, now, got);
        if let Fate::Done(entry) = &fate {
            self.unexplained = true;
            match entry.skipped {
                None => self.objects_read += 1,
                Some(_) => self.objects_unreadable += 1,
            }
            self.state.objects.insert(id, entry.clone());
        }
        Some(fate)
    }

    fn read_object(&mut self, o: &ObjectRef, now: DateTime<Utc>, got: Fetched) -> Fate {
        let name = format!("s3://{}/{}", o.bucket, o.key);
        let download = match got {
            Ok(d) => d,
            Err(GetError::Permanent(why)) => {
                eprintln!(
                    "trailwhy: {}: {}; not read",
                    terminal_safe(&name),
                    terminal_safe(&why)
                );
                return Fate::Done(ObjectEntry {
                    read_at: now,
                    kept: None,
                    changes: false,
                    skipped: Some(why),
                });
            }
            Err(GetError::Failed(why)) => return Fate::Retry(why),
        };
        let input = Input::Remote(Arc::new(Downloaded {
            name: name.clone(),
            path: download.path().to_owned(),
        }));
        let mut sink = KeepSink {
            selector: &self.selector,
            records: Vec::new(),
            kept: 0,
            changes: false,
        };
        let read = read::read_input(&input, &self.limits, None, &mut sink);
        if read.interrupted {
            return Fate::Interrupted;
        }
        let (kept, changes, records) = (sink.kept, sink.changes, sink.records);
        let mut stats = ScanStats::default();
        read.count(&mut stats);
        let _ = report::write_problems(&mut std::io::stderr().lock(), &stats, &[]);
        if let Some(s) = stats.skipped.first() {
            if s.by_design {
                self.note(&format!(
                    "{}: {}",
                    terminal_safe(&name),
                    terminal_safe(&s.reason)
                ));
            }
            return Fate::Done(ObjectEntry {
                read_at: now,
                kept: None,
                changes: false,
                skipped: Some(s.reason.clone()),
            });
        }
        let kept = if kept == 0 {
            None
        } else {
            match self.write_kept(&records) {
                Ok(f) => Some(f),
                Err(e) => return Fate::Retry(format!("cannot keep its records: {e:#}")),
            }
        };
        Fate::Done(ObjectEntry {
            read_at: now,
            kept,
            changes,
            skipped: None,
        })
    }

    /// Writes the selected records of one object as a gzipped log file in the window
    /// directory, on disk before the state names it.
    fn write_kept(&mut self, records: &[u8]) -> Result<String> {
        let name = format!("{:010}.json.gz", self.state.next_file);
        self.state.next_file += 1;
        let path = self.window_dir.join(&name);
        let file = std::fs::File::create(&path)
            .with_context(|| format!("cannot create {}", path.display()))?;
        let mut gz =
            flate2::write::GzEncoder::new(BufWriter::new(file), flate2::Compression::fast());
        gz.write_all(b"{\"Records\":[")?;
        gz.write_all(records)?;
        gz.write_all(b"]}")?;
        let file = gz.finish()?.into_inner().map_err(|e| e.into_error())?;
        file.sync_all()?;
        Ok(name)
    }

    /// Emits the held findings whose time has come (nothing is read).
    fn settle_due(&mut self) -> Result<()> {
        let now = Utc::now();
        let due = self
            .state
            .held
            .values()
            .min()
            .is_some_and(|first| *first + self.settle <= now);
        if due {
            self.explain_or_wait()?;
        }
        Ok(())
    }

    /// [`Watcher::explain_and_save`]; when it fails in a long-running watch (the IAM API
    /// unreachable for `--iam-live`, a full disk), says so and goes on: the messages stay
    /// in flight, the explanation is tried again.
    fn explain_or_wait(&mut self) -> Result<()> {
        match self.explain_and_save() {
            Err(e) if !self.args.once => {
                eprintln!(
                    "trailwhy: cannot explain the window: {}; trying again in 5 s",
                    terminal_safe(&format!("{e:#}"))
                );
                self.unexplained = true;
                self.pause(std::time::Duration::from_secs(5));
                Ok(())
            }
            other => other,
        }
    }

    /// Explains the window, saves the state, then deletes the messages done with.
    fn explain_and_save(&mut self) -> Result<()> {
        let now = Utc::now();
        self.explain(now)?;
        self.unexplained = false;
        self.explained_at = Instant::now();
        self.save(now)?;
        self.delete_done();
        Ok(())
    }

    /// Explains over the window's kept files; emits the events not emitted before.
    fn explain(&mut self, now: DateTime<Utc>) -> Result<()> {
        let files: Vec<String> = self
            .state
            .kept_files()
            .map(|f| self.window_dir.join(f).display().to_string())
            .collect();
        if files.is_empty() {
            // nothing kept: nothing can be held either
            self.state.held.clear();
            return Ok(());
        }
        let scan_args = self.scan_args(files);
        let mut cfg = ScanConfig::from_args(&scan_args)?;
        cfg.memory = self.memory.clone();
        let (findings, scan, inventory) = findings_with(&scan_args, &cfg, None, true)?;
        if !self.iam_told {
            // the --iam inputs' problems, once (they are read at every explanation)
            self.iam_told = true;
            report::write_problems(
                &mut std::io::stderr().lock(),
                &scan.stats,
                &inventory.problems,
            )?;
        }
        // events held whose finding is gone (their object left the window, a filter changed)
        // are not waited for
        let mut still_held = std::collections::HashSet::new();
        let mut out: Vec<Reported> = Vec::new();
        let mut suppressed = 0usize;
        for mut f in findings {
            // each event as its ID and its text, spelled once; an event CloudTrail delivered
            // twice (in two objects) is one event
            let mut seen = std::collections::HashSet::new();
            let fresh: Vec<(EventId, String)> = f
                .event_ids
                .iter()
                .filter(|id| seen.insert(*id))
                .map(|id| (id.clone(), id.to_string()))
                .filter(|(_, text)| !self.state.emitted.contains_key(text))
                .collect();
            if fresh.is_empty() {
                continue;
            }
            let missing = missing_evidence(&f);
            if let Some(why) = &missing {
                let mut first = now;
                for (_, text) in &fresh {
                    let held = *self.state.held.entry(text.clone()).or_insert(now);
                    first = first.min(held);
                }
                if now - first < self.settle {
                    still_held.extend(fresh.into_iter().map(|(_, text)| text));
                    continue;
                }
                f.details.insert(
                    "watch".to_owned(),
                    json!({"settled": true, "missing_evidence": why, "waited_seconds": (now - first).num_seconds()}),
                );
            }
            let mut ids = Vec::with_capacity(fresh.len());
            for (id, text) in fresh {
                self.state.held.remove(&text);
                self.state.emitted.insert(text, now);
                ids.push(id);
            }
            let in_window = f.count;
            f.count = ids.len() as u64;
            f.event_ids = ids;
            if in_window > f.count {
                f.details
                    .insert("watch_window_events".to_owned(), json!(in_window));
            }
            let repository = repository_of(&f);
            if let Some(rules) = &self.rules {
                if let Verdict::Suppressed(_) = rules.judge(&f, &repository, now) {
                    suppressed += 1;
                    continue;
                }
            }
            let print = fingerprint(&f);
            let status = if self.state.fingerprints.contains_key(&print) {
                Status::Recurring
            } else {
                Status::New
            };
            self.state.fingerprints.insert(print.clone(), now);
            out.push(Reported {
                fingerprint: print,
                status,
                repository,
                finding: f,
            });
        }
        self.state.held.retain(|id, _| still_held.contains(id));
        if suppressed > 0 {
            self.note(&format!(
                "{suppressed} finding(s) suppressed by {}",
                self.args
                    .suppress
                    .as_deref()
                    .map(Path::display)
                    .map(|d| d.to_string())
                    .unwrap_or_default()
            ));
        }
        if !out.is_empty() {
            self.emit(&out, now)?;
        }
        Ok(())
    }

    /// Stdout (written after the state is saved) and the outbox.
    fn emit(&mut self, out: &[Reported], now: DateTime<Utc>) -> Result<()> {
        self.emitted += out.len() as u64;
        let mut md = Vec::new();
        for r in out {
            write_markdown(&mut md, r)?;
        }
        match self.args.format {
            WatchFormat::Ndjson => {
                for r in out {
                    serde_json::to_writer(&mut self.stdout, r)?;
                    self.stdout.push(b'\n');
                }
            }
            WatchFormat::Markdown => self.stdout.extend_from_slice(&md),
        }
        if self.webhook.is_some() {
            let n = self.state.next_delivery;
            self.state.next_delivery += 1;
            self.state.outbox.push(Delivery {
                id: format!("{}-{n}", now.format("%Y%m%dT%H%M%SZ")),
                created: now,
                attempts: 0,
                next_attempt: now,
                last_error: None,
                findings: out
                    .iter()
                    .map(serde_json::to_value)
                    .collect::<Result<_, _>>()?,
                markdown: String::from_utf8_lossy(&md).into_owned(),
            });
        }
        Ok(())
    }

    /// Saves the state, then removes the kept files it no longer names and prints what was
    /// emitted.
    fn save(&mut self, now: DateTime<Utc>) -> Result<()> {
        self.state.prune(now, self.window);
        let expired = self
            .state
            .expired_files(now, self.window, self.change_window);
        self.state.save(&self.state_path)?;
        for f in expired {
            let _ = std::fs::remove_file(self.window_dir.join(f));
        }
        self.flush_stdout()
    }

    fn flush_stdout(&mut self) -> Result<()> {
        if !self.stdout.is_empty() {
            let mut o = std::io::stdout().lock();
            o.write_all(&self.stdout)?;
            o.flush()?;
            self.stdout.clear();
        }
        Ok(())
    }

    /// Delivers the outbox, oldest first, while deliveries are due and accepted.
    fn deliver_due(&mut self) -> Result<()> {
        let Some(hook) = &self.webhook else {
            return Ok(());
        };
        loop {
            let now = Utc::now();
            let Some(d) = self.state.outbox.first() else {
                return Ok(());
            };
            if d.next_attempt > now || trailwhy::interrupt::requested() {
                return Ok(());
            }
            let result = self.ctx.block_on(hook.post(d));
            match result {
                Ok(()) => {
                    self.state.outbox.remove(0);
                }
                Err(e) => {
                    let d = &mut self.state.outbox[0];
                    d.attempts += 1;
                    d.next_attempt = webhook::next_attempt(Utc::now(), d.attempts);
                    d.last_error = Some(format!("{e:#}"));
                    eprintln!(
                        "trailwhy: webhook: delivery {} (attempt {}): {}; retried at {}",
                        d.id,
                        d.attempts,
                        terminal_safe(&format!("{e:#}")),
                        d.next_attempt.format("%H:%M:%SZ")
                    );
                    self.state.save(&self.state_path)?;
                    return Ok(());
                }
            }
            self.state.save(&self.state_path)?;
        }
    }

    /// The scan flags of one explanation over the window's kept files.
    fn scan_args(&self, files: Vec<String>) -> ScanArgs {
        let a = self.args;
        ScanArgs {
            sources: files,
            iam: a.iam.clone(),
            since: None,
            until: None,
            account: a.account.clone(),
            region: a.region.clone(),
            threads: a.threads,
            max_decompressed_size: a.max_decompressed_size.clone(),
            verify: false,
            public_keys: None,
            require_verified: false,
            aws: AwsArgs {
                profile: a.profile.clone(),
                endpoint_url: a.endpoint_url.clone(),
                s3_concurrency: 16,
                delivery_lag: "30m".to_owned(),
                max_scan: None,
                dry_run: false,
                change_lookback: None,
                iam_live: a.iam_live,
                iam_role: Vec::new(),
                aws_details: false,
                aws_details_dir: None,
                save_aws_details: None,
                codebuild_live: Vec::new(),
                quiet: a.quiet,
            },
        }
    }
}

/// The queue as given: QUEUE (`sqs://NAME`, `sqs://URL` or a URL), or `--queue` (which also
/// takes a bare name).
fn queue_arg(args: &WatchArgs) -> Result<String> {
    match (&args.queue, &args.queue_flag) {
        (Some(q), None) => Ok(q.clone()),
        (None, Some(q)) if q.contains("://") => Ok(q.clone()),
        (None, Some(name)) => Ok(format!("sqs://{name}")),
        (Some(_), Some(_)) => bail!("give the queue once: as QUEUE or as --queue"),
        (None, None) => bail!("no queue given: trailwhy watch sqs://QUEUE --state FILE"),
    }
}

/// Resolves once a stop was asked for.
async fn stopped() {
    while !trailwhy::interrupt::requested() {
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
}

/// What evidence a finding still lacks that a later object could bring, if any.
fn missing_evidence(f: &Finding) -> Option<String> {
    if f.details.session().is_some_and(|s| s.awaits_assumption()) {
        return Some(
            "the web-identity assumption that issued the session (its sub, the role's policies at that time) was not read"
                .to_owned(),
        );
    }
    if f.cause == Cause::NoPolicyData {
        return Some(
            "the account's policies are not known (give --iam or --iam-live; change events in the stream supply them as they come)"
                .to_owned(),
        );
    }
    None
}

/// One emitted finding in Markdown: a heading, then report's rendering of it.
fn write_markdown(w: &mut Vec<u8>, r: &Reported) -> std::io::Result<()> {
    writeln!(
        w,
        "### {} {}\n",
        markdown::code(r.finding.cause.code(), markdown::Place::Inline),
        r.finding
            .role_arn
            .as_deref()
            .map(|a| markdown::code(a, markdown::Place::Inline))
            .unwrap_or_default()
    )?;
    markdown::write_finding(w, r)?;
    writeln!(w)
}

/// `FILE.window/` beside the state file.
fn window_dir(state: &Path) -> PathBuf {
    let mut name = state
        .file_name()
        .map(|n| n.to_os_string())
        .unwrap_or_default();
    name.push(".window");
    trailwhy::report::state::parent_dir(state).join(name)
}

/// Removes what a crash left in the window directory: kept files the state does not name
/// (written before a state that never got saved), downloads in progress.
fn remove_strays(dir: &Path, state: &WatchState) -> Result<()> {
    let named: std::collections::HashSet<&str> = state.kept_files().collect();
    for entry in std::fs::read_dir(dir).with_context(|| format!("cannot read {}", dir.display()))? {
        let entry = entry?;
        let name = entry.file_name();
        if !named.contains(name.to_string_lossy().as_ref()) {
            let _ = std::fs::remove_file(entry.path());
        }
    }
    Ok(())
}

/// A downloaded object, read under its `s3://` name.
struct Downloaded {
    name: String,
    path: PathBuf,
}

impl Remote for Downloaded {
    fn name(&self) -> String {
        self.name.clone()
    }

    fn open(&self) -> std::io::Result<Box<dyn std::io::Read + Send>> {
        Ok(Box::new(std::fs::File::open(&self.path)?))
    }
}

/// Keeps the records `explain` would select, as the bytes of a log file's `Records` list;
/// the records it would count as undecodable or unplaced are counted so here too.
struct KeepSink<'s> {
    selector: &'s Selector,
    records: Vec<u8>,
    kept: usize,
    changes: bool,
}

impl Sink for KeepSink<'_> {
    fn takes_documents(&self) -> bool {
        false
    }

    fn event(&mut self, _name: &str, raw: Raw<'_>) -> Result<(), (RecordProblem, String)> {
        if !self.selector.may_match(raw.bytes) {
            return Ok(());
        }
        // decoded as `explain` decodes it; one it cannot decode is named with the object
        let selected = with_record(raw.bytes, |rec| {
            self.selector
                .select(rec)
                .map(|s| matches!(s, Selected::Change(_)))
        })?;
        match selected {
            Ok(change) => {
                self.changes |= change;
                self.keep(raw.bytes);
                Ok(())
            }
            // named with the object, as `explain` names it; it cannot be placed in time
            Err(Rejected::BadTime) => Err((RecordProblem::Unplaced, read::BAD_TIME.to_owned())),
            Err(_) => Ok(()),
        }
    }
}

impl KeepSink<'_> {
    fn keep(&mut self, bytes: &[u8]) {
        if self.kept > 0 {
            self.records.push(b',');
        }
        self.records.extend_from_slice(bytes);
        self.kept += 1;
    }
}

/// How long a message being worked on is kept invisible at a time: twice the queue's
/// visibility timeout (at least 4 s), renewed every half of it, so a renewal that comes late
/// (a loaded machine, many receipts) still comes before the message reappears.
fn hold_seconds(queue: &Queue) -> i32 {
    queue.visibility_timeout.max(2) * 2
}

/// Keeps the messages in `in_flight` invisible while they are worked on: every half hold
/// ([`hold_seconds`]), another hold. (A batch is held once as it is received.)
fn keep_invisible(
    ctx: &AwsContext,
    queue: Arc<Queue>,
    in_flight: Arc<std::sync::Mutex<Vec<String>>>,
) -> tokio::task::JoinHandle<()> {
    let hold = hold_seconds(&queue);
    ctx.spawn(async move {
        let period = std::time::Duration::from_secs((hold / 2) as u64);
        loop {
            tokio::time::sleep(period).await;
            let receipts = in_flight
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .clone();
            for chunk in receipts.chunks(trailwhy::source::queue::BATCH as usize) {
                let _ = queue.set_visibility(chunk, hold).await;
            }
        }
    })
}
