//! Log file integrity: which of the files a run read are proven intact by CloudTrail's
//! digest files, which were altered or deleted, and which cannot be proven.
//!
//! The scan hashes each input's decompressed bytes as it reads them (`hash`, the one hook
//! in the scan). This module then finds the digests beside the logs (`locate`: local
//! `CloudTrail-Digest/` folders or the bucket's digest prefixes), parses them (`digest`),
//! gets the public keys (`keys`: `ListPublicKeys` or `--public-keys`) and checks signatures,
//! the chain and each log file (`verify`). It never re-reads a log file, and it decides no
//! causes: findings only learn which of their files are not verified.

pub mod digest;
pub mod hash;
pub mod keys;
pub mod locate;
pub mod verify;

use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;
use std::sync::Arc;

use anyhow::Result;
use chrono::{DateTime, Duration as ChronoDuration, Utc};
use serde::Serialize;

pub use hash::HashSink;
use keys::KeyRing;
use locate::RawDigest;
use verify::{ScannedLog, Scope};

use crate::aws::AwsContext;
use crate::decode::DecodeLimits;
use crate::selection::Window;
use crate::source::{Place, Source};

/// How one file ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    Verified,
    Altered,
    Deleted,
    Unlisted,
    Unverifiable,
}

impl Verdict {
    pub fn word(self) -> &'static str {
        match self {
            Verdict::Verified => "verified",
            Verdict::Altered => "altered",
            Verdict::Deleted => "deleted",
            Verdict::Unlisted => "unlisted",
            Verdict::Unverifiable => "unverifiable",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum FileKind {
    Log,
    Digest,
}

/// Why a log file read is not verified (or verified by hash and chain only), in one word:
/// the grouping of the stderr line and of `not_verified` in the JSON summary.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum NotVerified {
    /// Altered, per the digest that lists it.
    Altered,
    /// No digest lists it, though digests cover its delivery time (an added file).
    Unlisted,
    /// The digest that would list it is missing (deleted, or not delivered).
    DigestMissing,
    /// The digest that would list it could not be read.
    DigestUnreadable,
    /// The digest that lists it was altered or its signature failed.
    DigestUntrusted,
    /// No digest files at all for its account and region (log file validation off?).
    NoDigests,
    /// Delivered after the newest digest read: not yet covered.
    NotYetCovered,
    /// Delivered before the first digest read.
    BeforeFirstDigest,
    /// Not a trail log file name, or read from stdin: no digest can name it.
    NotATrailFile,
    /// It could not be read to its end.
    NotRead,
    /// Its digest uses a hash algorithm other than SHA-256.
    HashAlgorithm,
    /// Its hash and chain verified, but no signature did (a local copy, or no keys).
    HashOnly,
}

impl NotVerified {
    pub fn words(self) -> &'static str {
        match self {
            NotVerified::Altered => "altered",
            NotVerified::Unlisted => "listed by no digest",
            NotVerified::DigestMissing => "their digest is missing",
            NotVerified::DigestUnreadable => "their digest could not be read",
            NotVerified::DigestUntrusted => "their digest is altered or its signature failed",
            NotVerified::NoDigests => "no digest files for their account and region",
            NotVerified::NotYetCovered => "delivered after the newest digest read",
            NotVerified::BeforeFirstDigest => "delivered before the first digest read",
            NotVerified::NotATrailFile => "not a trail log file (no digest can list it)",
            NotVerified::NotRead => "not read to the end",
            NotVerified::HashAlgorithm => "their digest uses another hash algorithm",
            NotVerified::HashOnly => {
                "hash and chain only, no signature checked (local copy or no public keys)"
            }
        }
    }
}

/// One file's verdict.
#[derive(Debug, Clone, Serialize)]
pub struct FileResult {
    pub file: String,
    pub kind: FileKind,
    pub verdict: Verdict,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// Log files: why it is not verified (or verified by hash and chain only), in one word.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason_code: Option<NotVerified>,
    /// The digest behind the verdict carries a valid signature.
    pub signature_verified: bool,
    /// The digest that lists this log file.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub digest: Option<String>,
}

/// Files per verdict.
#[derive(Debug, Clone, Copy, Default, Serialize)]
pub struct Counts {
    pub verified: u64,
    pub altered: u64,
    pub deleted: u64,
    pub unlisted: u64,
    pub unverifiable: u64,
}

impl Counts {
    fn add(&mut self, v: Verdict) {
        match v {
            Verdict::Verified => self.verified += 1,
            Verdict::Altered => self.altered += 1,
            Verdict::Deleted => self.deleted += 1,
            Verdict::Unlisted => self.unlisted += 1,
            Verdict::Unverifiable => self.unverifiable += 1,
        }
    }

    fn bad(&self) -> u64 {
        self.altered + self.deleted + self.unlisted
    }
}

/// Whether the digests' signatures were checked.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Signatures {
    Verified,
    PartlyVerified,
    #[default]
    NotVerified,
}

/// The result of a verification: the JSON summary's `integrity` object.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Integrity {
    pub signatures: Signatures,
    pub log_files: Counts,
    pub digest_files: Counts,
    /// Digests whose signature did not verify (bad signature, unknown key, key outside its
    /// validity, signature missing or replaced).
    pub signature_failures: u64,
    /// Digests that could not be read (exit code 3).
    pub unreadable: u64,
    /// One readable line per problem met (digests ignored or unreadable, keys unavailable).
    pub problems: Vec<String>,
    /// Log files read.
    pub log_files_read: u64,
    /// Log files read that are not verified with a verified signature, by reason
    /// (`reason_code`); empty only when every log file read is verified.
    pub not_verified: BTreeMap<NotVerified, u64>,
    /// `--require-verified`: every log file read must be verified (signature included), or
    /// the exit code is 4.
    pub require_verified: bool,
    /// Every file and its verdict (in summaries of `explain`/`report`: those not verified).
    pub files: Vec<FileResult>,
    /// Event id → the input its record was read from (findings name their files).
    #[serde(skip)]
    pub event_files: HashMap<String, String>,
}

impl Integrity {
    /// Evidence that cannot be trusted: a file altered, deleted or unlisted, or a signature
    /// that failed (exit code 4).
    pub fn untrusted(&self) -> bool {
        self.log_files.bad() + self.digest_files.bad() + self.signature_failures > 0
    }

    /// Log files read that are not verified with a verified signature.
    pub fn not_verified_count(&self) -> u64 {
        self.not_verified.values().sum()
    }

    /// Exit code 4: evidence that cannot be trusted, or, with `--require-verified`, a log
    /// file read that is not verified.
    pub fn fails(&self) -> bool {
        self.untrusted() || (self.require_verified && self.not_verified_count() > 0)
    }

    /// The stderr line when some log files read are not verified: how many, and why.
    pub fn not_verified_line(&self) -> Option<String> {
        let n = self.not_verified_count();
        if n == 0 {
            return None;
        }
        let why: Vec<String> = self
            .not_verified
            .iter()
            .map(|(k, c)| format!("{c} {}", k.words()))
            .collect();
        Some(format!(
            "integrity: {n} of {} log file(s) read not verified: {}{}",
            self.log_files_read,
            why.join(", "),
            if self.require_verified {
                " (--require-verified: exit code 4)"
            } else {
                " (--require-verified makes this exit code 4)"
            }
        ))
    }

    /// The same object with only the files that are not verified (for summaries).
    pub fn summary(&self) -> Integrity {
        Integrity {
            files: self
                .files
                .iter()
                .filter(|f| f.verdict != Verdict::Verified)
                .cloned()
                .collect(),
            event_files: HashMap::new(),
            ..self.clone()
        }
    }

    /// One line for the top of the text outputs.
    pub fn line(&self) -> String {
        let l = &self.log_files;
        let d = &self.digest_files;
        let mut s = format!(
            "integrity: {} log file(s) verified, {} altered, {} deleted, {} unlisted, {} unverifiable; {} digest(s) verified, {} altered, {} deleted, {} unverifiable",
            l.verified, l.altered, l.deleted, l.unlisted, l.unverifiable,
            d.verified, d.altered, d.deleted, d.unverifiable
        );
        if self.signature_failures > 0 {
            s.push_str(&format!(
                "; {} signature failure(s)",
                self.signature_failures
            ));
        }
        let read = d.verified + d.altered + d.unverifiable;
        s.push_str(match self.signatures {
            _ if read == 0 => "; no digest files found (is log file validation on for the trail?)",
            Signatures::Verified => "; signatures verified",
            Signatures::PartlyVerified => "; partly verified: some log files or digests not signature-verified",
            Signatures::NotVerified => {
                "; not signature-verified (hashes and chain only: local copies carry no S3 signature metadata)"
            }
        });
        if self.untrusted() {
            s.insert_str(0, "EVIDENCE NOT INTACT — ");
        }
        s
    }
}

/// What `--verify` asks of the files read.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Requirement {
    /// Exit code 4 only on evidence of tampering (altered, deleted, unlisted, signature
    /// failed); files that cannot be verified are counted and named.
    #[default]
    Intact,
    /// `--require-verified`: also exit code 4 when any log file read is not verified.
    EveryFileVerified,
}

/// `--verify` settings.
#[derive(Debug, Clone, Default)]
pub struct VerifyOptions {
    /// `--public-keys FILE`.
    pub public_keys: Option<PathBuf>,
    pub requirement: Requirement,
}

/// What verification needs from the run that read the logs.
pub struct Run<'a> {
    pub sources: &'a [Source],
    pub aws: Option<&'a Arc<AwsContext>>,
    pub window: &'a Window,
    pub delivery_lag: ChronoDuration,
    pub limits: &'a DecodeLimits,
}

/// Finds the digests for the run's SOURCEs, gets the keys, and verifies every input the scan
/// took (noted in `sink`) against them with the hashes `sink` collected.
pub fn run(opts: &VerifyOptions, r: &Run<'_>, sink: &HashSink) -> Result<Integrity> {
    let ring = match &opts.public_keys {
        Some(p) => Some(KeyRing::from_file(p)?),
        None => None,
    };
    // the inputs the scan took first: the digest folders of each log file read are listed
    let hashes = sink.take();
    let logs: Vec<ScannedLog> = sink
        .take_inputs()
        .into_iter()
        .map(|(name, id)| ScannedLog {
            hash: hashes.get(&name).cloned(),
            name,
            id,
        })
        .collect();
    let local: Vec<PathBuf> = r
        .sources
        .iter()
        .filter_map(|s| match &s.place {
            Place::Local(p) => Some(locate::absolute(p)),
            _ => None,
        })
        .collect();
    let mut digests: Vec<RawDigest> = locate::local_digests(&local);
    let mut scopes = vec![Scope::Local {
        roots: local.clone(),
    }];
    for url in r.sources.iter().filter_map(|s| match &s.place {
        Place::S3(url) => Some(url),
        _ => None,
    }) {
        if let Some(ctx) = r.aws {
            let head = format!("s3://{}/", url.bucket);
            let read: Vec<String> = logs
                .iter()
                .filter_map(|l| l.id.strip_prefix(head.as_str()).map(str::to_owned))
                .collect();
            digests.extend(locate::s3_digests(
                ctx,
                url,
                r.window,
                r.delivery_lag,
                &read,
            )?);
        }
        scopes.push(Scope::S3 {
            bucket: url.bucket.clone(),
            prefix: url.prefix.clone(),
            window: r.window.clone(),
            lag: r.delivery_lag,
        });
    }
    // the same digest named by two SOURCEs is read once
    digests.sort_by(|a, b| a.name.cmp(&b.name));
    digests.dedup_by(|a, b| a.name == b.name);
    let mut keys_problem: Option<String> = None;
    let ring = match (ring, r.aws) {
        (Some(ring), _) => Some(ring),
        (None, Some(ctx)) if digests.iter().any(|d| d.signature.is_some()) => {
            match fetch_keys(ctx, &digests) {
                Ok(k) => Some(k),
                Err(e) => {
                    keys_problem = Some(format!("{e:#}"));
                    None
                }
            }
        }
        (None, _) => None,
    };
    let mut result = verify::verify(
        digests,
        &logs,
        ring.as_ref(),
        keys_problem.as_deref(),
        &scopes,
        r.limits,
    );
    if let Some(p) = keys_problem {
        result.problems.push(format!("signatures not checked: {p}"));
        result.unreadable += 1;
    }
    result.event_files = sink.take_events().into_iter().collect();
    result.require_verified = opts.requirement == Requirement::EveryFileVerified;
    Ok(result)
}

/// `ListPublicKeys` for the regions and time range of the signed digests. A digest is
/// signed with a key of the region whose logs it lists (the REGION of its name, not the
/// trail's home region): AWS's own validator, run for one region's digests, asks that
/// region's `ListPublicKeys`. A backfill digest is signed when it is made, which its
/// metadata says.
fn fetch_keys(ctx: &AwsContext, digests: &[RawDigest]) -> Result<KeyRing> {
    let mut regions: Vec<String> = Vec::new();
    let mut range: Option<(DateTime<Utc>, DateTime<Utc>)> = None;
    for d in digests.iter().filter(|d| d.signature.is_some()) {
        if let Some(n) = digest::parse_name(&d.name) {
            if !regions.contains(&n.region) {
                regions.push(n.region.clone());
            }
            let made = d
                .backfill_generated
                .as_deref()
                .and_then(digest::metadata_time);
            for t in [Some(n.end), made].into_iter().flatten() {
                range = Some(match range {
                    None => (t, t),
                    Some((a, b)) => (a.min(t), b.max(t)),
                });
            }
        }
    }
    let Some((start, end)) = range else {
        return Ok(KeyRing::default());
    };
    regions.sort();
    KeyRing::fetch(
        ctx,
        &regions,
        start - ChronoDuration::hours(2),
        end + ChronoDuration::hours(1),
    )
}
