//! The checks: digest signatures, the digest chain, and every log file against the digests
//! that list it. Pure: the digests, the hashes the scan computed and the keys come in, a
//! verdict per file comes out.
//!
//! 1. Each digest is read where CloudTrail wrote it (its `digestS3Bucket`/`digestS3Object`
//!    must name the place it was read from; a local copy keeps the account-relative part),
//!    else it is another trail's or account's digest, or a moved one, and is ignored.
//! 2. Its signature (S3 metadata) is checked over the data-signing string with the key it
//!    names, valid at its end time. Local copies have no metadata: "not signature-verified".
//! 3. The chain: each digest's `previousDigestHashValue` and `previousDigestSignature` must
//!    match the digest it names; a named digest missing inside the range read is deleted.
//! 4. Each log file's SHA-256 (uncompressed content) is compared with the digest entry; an
//!    entry whose file should have been read but was not is deleted; a file read that no
//!    digest lists, inside the time the digests cover, is unlisted — unless the digest of
//!    its hour is missing or unreadable: then it is unverifiable, with that reason.
//! 5. `signatures` is `verified` only when every digest and every log file read is
//!    signature-verified; each log file read that is not gets a reason code.

use std::collections::{BTreeMap, HashMap};
use std::io::Read;
use std::path::{Path, PathBuf};

use chrono::{DateTime, Duration as ChronoDuration, Utc};

use super::digest::{
    parse_log_name, parse_name, signing_string, trail_relative, DigestBody, DigestName,
};
use super::hash::{hex, sha256, unhex, FileHash, ReadEnd};
use super::keys::{KeyRing, SignatureCheck};
use super::locate::{Location, RawDigest};
use super::{Counts, FileKind, FileResult, Integrity, NotVerified, Signatures, Verdict};
use crate::decode::{DecodeError, DecodeLimits};
use crate::selection::Window;

/// A log file the scan read.
#[derive(Debug, Clone)]
pub struct ScannedLog {
    /// The input's display name (messages, findings).
    pub name: String,
    /// What digests call it: `s3://bucket/key`, or the absolute local path.
    pub id: String,
    pub hash: Option<FileHash>,
}

/// Which listed log files the scan was expected to read (the rest are out of its range,
/// not deleted).
#[derive(Debug, Clone)]
pub enum Scope {
    S3 {
        bucket: String,
        prefix: String,
        window: Window,
        lag: ChronoDuration,
    },
    Local {
        roots: Vec<PathBuf>,
    },
}

impl Scope {
    fn expects(&self, id: &str) -> bool {
        match self {
            Scope::S3 {
                bucket,
                prefix,
                window,
                lag,
            } => {
                let Some(key) = id
                    .strip_prefix("s3://")
                    .and_then(|r| r.strip_prefix(bucket.as_str()))
                    .and_then(|r| r.strip_prefix('/'))
                else {
                    return false;
                };
                if !key.starts_with(prefix.as_str()) {
                    return false;
                }
                let Some(name) = parse_log_name(key) else {
                    return false;
                };
                (window.accounts.is_empty() || window.accounts.contains(&name.account))
                    && (window.regions.is_empty() || window.regions.contains(&name.region))
                    && crate::source::s3::may_hold(name.delivered, window, *lag)
            }
            Scope::Local { roots } => {
                let p = Path::new(id);
                roots.iter().any(|r| p.starts_with(r))
            }
        }
    }
}

/// Account, region, trail name, home region.
type ChainKey = (String, String, String, String);

#[derive(Debug, Clone)]
enum SigState {
    Valid,
    /// Local copy: no S3 metadata.
    Unsigned,
    /// Signatures could not be checked (no keys); why.
    NotChecked(String),
    Failed(String),
}

struct Parsed {
    raw: RawDigest,
    name: DigestName,
    body: DigestBody,
    hex: String,
    id: String,
    /// Local copies: the path up to the account-relative part.
    base: Option<String>,
    end: DateTime<Utc>,
    sig: SigState,
    altered: Option<String>,
}

impl Parsed {
    fn signed(&self) -> bool {
        matches!(self.sig, SigState::Valid)
    }

    /// What this digest calls the object `bucket/key`.
    fn id_of(&self, bucket: &str, key: &str) -> Option<String> {
        match (&self.raw.location, &self.base) {
            (Location::S3 { .. }, _) => Some(format!("s3://{bucket}/{key}")),
            (Location::Local(_), Some(base)) => {
                Some(format!("{base}{}", &key[trail_relative(key)?..]))
            }
            (Location::Local(_), None) => None,
        }
    }

    /// The chain this digest belongs to: one per account, region and trail (a trail is
    /// known by its name and home region).
    fn chain(&self) -> ChainKey {
        (
            self.name.account.clone(),
            self.name.region.clone(),
            self.name.trail.clone(),
            self.name.home_region.clone(),
        )
    }
}

/// Uncompressed bytes of a digest (gzip or plain), with the same limits as the scan.
fn inflate(bytes: &[u8], limits: &DecodeLimits) -> Result<Vec<u8>, String> {
    // a digest lists an hour's files: a record's size cap is ample, and keeps a hostile
    // "digest" from inflating to the whole --max-decompressed-size in memory
    let limits = DecodeLimits {
        max_decompressed_bytes: limits
            .max_decompressed_bytes
            .min(limits.max_record_bytes as u64),
        ..*limits
    };
    let (_, mut r) = crate::decode::decompress(std::io::Cursor::new(bytes.to_vec()), &limits)
        .map_err(|e| e.to_string())?;
    let mut out = Vec::new();
    r.read_to_end(&mut out)
        .map_err(|e| DecodeError::from_read(e, out.len() as u64).to_string())?;
    Ok(out)
}

fn stamp(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%dT%H:%M:%SZ").to_string()
}

/// Runs every check; see the module documentation.
pub fn verify(
    digests: Vec<RawDigest>,
    logs: &[ScannedLog],
    keys: Option<&KeyRing>,
    keys_problem: Option<&str>,
    scopes: &[Scope],
    limits: &DecodeLimits,
) -> Integrity {
    let mut out = Integrity::default();
    // 1. read, parse, check the location
    let DigestsRead {
        mut parsed,
        unreadable,
        mut digest_results,
    } = read_digests(digests, limits, &mut out);
    // 2. signatures
    for d in &mut parsed {
        d.sig = signature_state(d, keys, keys_problem);
    }
    // 3. the chain
    let Chain { deleted, missing } = check_chain(&mut parsed, &unreadable);
    // 4. digest verdicts
    digest_results.extend(digest_verdicts(&parsed, deleted, &mut out));
    // 5. log files against the digests
    let (mut log_results, deleted_logs) = listed_logs(&parsed, logs, scopes);
    // 6. log files no digest lists
    unlisted_logs(&parsed, logs, &mut log_results, &unreadable, &missing);
    let mut files: Vec<FileResult> = log_results.into_iter().flatten().collect();
    for (id, reason) in deleted_logs {
        files.push(FileResult {
            file: id,
            kind: FileKind::Log,
            verdict: Verdict::Deleted,
            reason: Some(reason),
            reason_code: None,
            signature_verified: false,
            digest: None,
        });
    }
    files.extend(digest_results);
    let mut log_counts = Counts::default();
    let mut digest_counts = Counts::default();
    for f in &files {
        match f.kind {
            FileKind::Log => log_counts.add(f.verdict),
            FileKind::Digest => digest_counts.add(f.verdict),
        }
    }
    // every log file read, and why each that is not verified is not
    for f in files
        .iter()
        .filter(|f| f.kind == FileKind::Log && f.verdict != Verdict::Deleted)
    {
        out.log_files_read += 1;
        if let Some(code) = f.reason_code {
            *out.not_verified.entry(code).or_insert(0) += 1;
        }
    }
    // "verified" only when every digest read and every log file read is signature-verified
    let every_log = out.not_verified.is_empty();
    out.signatures = if parsed.is_empty() {
        Signatures::NotVerified
    } else if every_log && parsed.iter().all(Parsed::signed) {
        Signatures::Verified
    } else if parsed.iter().any(Parsed::signed) {
        Signatures::PartlyVerified
    } else {
        Signatures::NotVerified
    };
    out.log_files = log_counts;
    out.digest_files = digest_counts;
    out.files = files;
    out
}

/// The digests read (phase 1): those parsed and in place, the ids and names of those that
/// could not be read (not deleted: the logs they would list cannot be judged), and the
/// verdicts of those ignored or unreadable.
struct DigestsRead {
    parsed: Vec<Parsed>,
    unreadable: Vec<(String, DigestName)>,
    digest_results: Vec<FileResult>,
}

/// Reads and parses every digest and checks it is where it says it is.
fn read_digests(
    digests: Vec<RawDigest>,
    limits: &DecodeLimits,
    out: &mut Integrity,
) -> DigestsRead {
    let mut digest_results: Vec<FileResult> = Vec::new();
    let mut parsed: Vec<Parsed> = Vec::new();
    let mut unreadable: Vec<(String, DigestName)> = Vec::new();
    for raw in digests {
        let fail = |reason: String| FileResult {
            file: raw.name.clone(),
            kind: FileKind::Digest,
            verdict: Verdict::Unverifiable,
            reason: Some(reason),
            reason_code: None,
            signature_verified: false,
            digest: None,
        };
        let Some(name) = parse_name(&raw.name) else {
            out.problems.push(format!(
                "{}: not a CloudTrail digest file name; ignored",
                raw.name
            ));
            digest_results.push(fail(
                "not a CloudTrail digest file name; ignored".to_owned(),
            ));
            continue;
        };
        // a digest that could not be fetched and one that cannot be inflated are alike
        let read = match &raw.bytes {
            Ok(bytes) => inflate(bytes, limits),
            Err(e) => Err(e.to_string()),
        };
        let plain = match read {
            Ok(p) => p,
            Err(e) => {
                let reason = format!("cannot be read: {e}");
                out.problems.push(format!("{}: {reason}", raw.name));
                out.unreadable += 1;
                unreadable.push((raw_id(&raw), name.clone()));
                digest_results.push(fail(reason));
                continue;
            }
        };
        let body = match DigestBody::parse(&plain) {
            Ok(b) => b,
            Err(e) => {
                let reason = format!("cannot be read: {e}");
                out.problems.push(format!("{}: {reason}", raw.name));
                out.unreadable += 1;
                unreadable.push((raw_id(&raw), name.clone()));
                digest_results.push(fail(reason));
                continue;
            }
        };
        let (id, base, placed) = match &raw.location {
            Location::S3 { bucket, key } => (
                raw.name.clone(),
                None,
                body.digest_s3_bucket == *bucket && body.digest_s3_object == *key,
            ),
            Location::Local(path) => {
                let text = path.to_string_lossy().into_owned();
                let here = trail_relative(&text);
                let named = trail_relative(&body.digest_s3_object);
                let placed = matches!((here, named), (Some(h), Some(n)) if text[h..] == body.digest_s3_object[n..]);
                (text.clone(), here.map(|h| text[..h].to_owned()), placed)
            }
        };
        if !placed {
            let reason = format!(
                "names itself s3://{}/{}, not the place it was read from: a digest of another trail or account, or moved; ignored",
                body.digest_s3_bucket, body.digest_s3_object
            );
            out.problems.push(format!("{}: {reason}", raw.name));
            digest_results.push(fail(reason));
            continue;
        }
        let end = body.end().unwrap_or(name.end);
        let digest_hex = hex(&sha256(&plain));
        parsed.push(Parsed {
            raw,
            name,
            body,
            hex: digest_hex,
            id,
            base,
            end,
            sig: SigState::Unsigned,
            altered: None,
        });
    }
    DigestsRead {
        parsed,
        unreadable,
        digest_results,
    }
}

/// What the chain says is gone (phase 3): digests it names that are missing, with why, and
/// their names (the logs they listed cannot be judged).
struct Chain {
    deleted: BTreeMap<String, String>,
    missing: Vec<(String, DigestName)>,
}

/// Follows each digest's link to the previous one: a previous digest whose hash or
/// signature differs from what the next one records is altered (or its signature failed);
/// one that is missing, within the chain's span, is deleted.
fn check_chain(parsed: &mut [Parsed], unreadable: &[(String, DigestName)]) -> Chain {
    let by_id: HashMap<String, usize> = parsed
        .iter()
        .enumerate()
        .map(|(i, d)| (d.id.clone(), i))
        .collect();
    let mut earliest: HashMap<ChainKey, DateTime<Utc>> = HashMap::new();
    for d in parsed.iter().filter(|d| !d.name.backfill) {
        let e = earliest.entry(d.chain()).or_insert(d.end);
        *e = (*e).min(d.end);
    }
    let mut deleted: BTreeMap<String, String> = BTreeMap::new();
    // digests the chain names but that are missing: the logs they listed cannot be judged
    let mut missing: Vec<(String, DigestName)> = Vec::new();
    for i in 0..parsed.len() {
        let (Some(pb), Some(pk)) = (
            parsed[i].body.previous_digest_s3_bucket.clone(),
            parsed[i].body.previous_digest_s3_object.clone(),
        ) else {
            continue;
        };
        let Some(prev_id) = parsed[i].id_of(&pb, &pk) else {
            continue;
        };
        let next_name = parsed[i].raw.name.clone();
        match by_id.get(&prev_id) {
            Some(&p) => {
                let recorded = parsed[i]
                    .body
                    .previous_digest_hash_value
                    .as_deref()
                    .unwrap_or_default()
                    .to_ascii_lowercase();
                if recorded != parsed[p].hex {
                    parsed[p].altered = Some(format!(
                        "its SHA-256 differs from the one the next digest records ({next_name})"
                    ));
                } else if let (Some(have), Some(recorded_sig)) = (
                    parsed[p].raw.signature.as_deref(),
                    parsed[i].body.previous_digest_signature.as_deref(),
                ) {
                    if !have.eq_ignore_ascii_case(recorded_sig)
                        && !matches!(parsed[p].sig, SigState::Failed(_))
                    {
                        parsed[p].sig = SigState::Failed(format!(
                            "its signature differs from the one the next digest records ({next_name})"
                        ));
                    }
                }
            }
            None if unreadable.iter().any(|(id, _)| *id == prev_id) => {}
            None => {
                let prev_end = parse_name(&pk).map(|n| n.end);
                let first = earliest.get(&parsed[i].chain());
                if let (Some(pe), Some(first)) = (prev_end, first) {
                    if pe >= *first {
                        if let Some(n) = parse_name(&pk) {
                            missing.push((prev_id.clone(), n));
                        }
                        deleted.insert(
                            prev_id,
                            format!("the next digest names it as its previous digest ({next_name}), but it is missing"),
                        );
                    }
                }
            }
        }
    }
    Chain { deleted, missing }
}

/// Each digest's verdict (phase 4), and those of the digests the chain found deleted.
fn digest_verdicts(
    parsed: &[Parsed],
    deleted: BTreeMap<String, String>,
    out: &mut Integrity,
) -> Vec<FileResult> {
    let mut digest_results = Vec::new();
    for d in parsed {
        let (verdict, reason) = if let Some(why) = &d.altered {
            (Verdict::Altered, Some(why.clone()))
        } else {
            match &d.sig {
                SigState::Valid => (Verdict::Verified, None),
                SigState::Unsigned => (
                    Verdict::Verified,
                    Some("hash and chain only: not signature-verified (no S3 signature metadata on a local copy)".to_owned()),
                ),
                SigState::NotChecked(why) => (Verdict::Verified, Some(format!("hash and chain only: signature not checked ({why})"))),
                SigState::Failed(why) => (Verdict::Unverifiable, Some(why.clone())),
            }
        };
        if matches!(d.sig, SigState::Failed(_)) {
            out.signature_failures += 1;
        }
        digest_results.push(FileResult {
            file: d.raw.name.clone(),
            kind: FileKind::Digest,
            verdict,
            reason,
            reason_code: None,
            signature_verified: d.signed(),
            digest: None,
        });
    }
    for (id, reason) in deleted {
        digest_results.push(FileResult {
            file: id,
            kind: FileKind::Digest,
            verdict: Verdict::Deleted,
            reason: Some(reason),
            reason_code: None,
            signature_verified: false,
            digest: None,
        });
    }
    digest_results
}

/// Each log file read that a digest lists, against the digest (phase 5): its verdict, the
/// best of several digests listing it; and the files a digest lists within a scope read
/// that were not read (deleted).
fn listed_logs(
    parsed: &[Parsed],
    logs: &[ScannedLog],
    scopes: &[Scope],
) -> (Vec<Option<FileResult>>, BTreeMap<String, String>) {
    let log_index: HashMap<&str, usize> = logs
        .iter()
        .enumerate()
        .map(|(i, l)| (l.id.as_str(), i))
        .collect();
    let mut log_results: Vec<Option<FileResult>> = vec![None; logs.len()];
    let mut deleted_logs: BTreeMap<String, String> = BTreeMap::new();
    for d in parsed {
        let untrusted_why = match (&d.altered, &d.sig) {
            (Some(why), _) => Some(format!(
                "listed by digest {}, which was altered ({why})",
                d.raw.name
            )),
            (None, SigState::Failed(why)) => Some(format!(
                "listed by digest {}, whose signature failed ({why})",
                d.raw.name
            )),
            _ => None,
        };
        for entry in &d.body.log_files {
            let Some(id) = d.id_of(&entry.s3_bucket, &entry.s3_object) else {
                continue;
            };
            let Some(&li) = log_index.get(id.as_str()) else {
                if untrusted_why.is_none() && scopes.iter().any(|s| s.expects(&id)) {
                    deleted_logs
                        .insert(id, format!("listed by digest {}, but missing", d.raw.name));
                }
                continue;
            };
            let log = &logs[li];
            let (verdict, reason) = match (&untrusted_why, &log.hash) {
                (Some(why), _) => (Verdict::Unverifiable, Some(why.clone())),
                (None, None) => (Verdict::Unverifiable, Some("was not read".to_owned())),
                // a hash algorithm we do not know decides nothing
                (None, Some(h))
                    if matches!(h.end, ReadEnd::Complete)
                        && entry
                            .hash_algorithm
                            .as_deref()
                            .is_some_and(|a| !a.eq_ignore_ascii_case("SHA-256")) =>
                {
                    (
                        Verdict::Unverifiable,
                        Some(format!(
                            "digest {} uses hash algorithm {:?}",
                            d.raw.name, entry.hash_algorithm
                        )),
                    )
                }
                (None, Some(h)) => match &h.end {
                    ReadEnd::Complete
                        if hex(&h.sha256) == entry.hash_value.to_ascii_lowercase() =>
                    {
                        (Verdict::Verified, None)
                    }
                    ReadEnd::Complete => (
                        Verdict::Altered,
                        Some(format!(
                            "its SHA-256 differs from the one digest {} records",
                            d.raw.name
                        )),
                    ),
                    ReadEnd::DataError(e) => (
                        Verdict::Altered,
                        Some(format!("not the bytes CloudTrail delivered ({e})")),
                    ),
                    ReadEnd::Failed(e) => (
                        Verdict::Unverifiable,
                        Some(format!("could not be read to the end: {e}")),
                    ),
                },
            };
            let signed = verdict == Verdict::Verified && d.signed();
            let reason = match (&reason, verdict, signed) {
                (None, Verdict::Verified, false) => {
                    Some("hash and chain only: not signature-verified".to_owned())
                }
                _ => reason,
            };
            let reason_code = match (verdict, &untrusted_why, &log.hash) {
                (Verdict::Verified, _, _) if signed => None,
                (Verdict::Verified, _, _) => Some(NotVerified::HashOnly),
                (Verdict::Altered, _, _) => Some(NotVerified::Altered),
                (_, Some(_), _) => Some(NotVerified::DigestUntrusted),
                (_, None, Some(h)) if matches!(h.end, ReadEnd::Complete) => {
                    Some(NotVerified::HashAlgorithm)
                }
                _ => Some(NotVerified::NotRead),
            };
            let candidate = FileResult {
                file: log.name.clone(),
                kind: FileKind::Log,
                verdict,
                reason,
                reason_code,
                signature_verified: signed,
                digest: Some(d.raw.name.clone()),
            };
            let slot = &mut log_results[li];
            if slot.as_ref().is_none_or(|old| rank(&candidate) > rank(old)) {
                *slot = Some(candidate);
            }
        }
    }
    (log_results, deleted_logs)
}

/// The log files read that no digest lists (phase 6): why each cannot be verified.
fn unlisted_logs(
    parsed: &[Parsed],
    logs: &[ScannedLog],
    log_results: &mut [Option<FileResult>],
    unreadable: &[(String, DigestName)],
    missing: &[(String, DigestName)],
) {
    let mut spans: HashMap<(String, String), (DateTime<Utc>, DateTime<Utc>)> = HashMap::new();
    for d in parsed {
        let start = d.body.start().unwrap_or(d.end);
        let e = spans
            .entry((d.name.account.clone(), d.name.region.clone()))
            .or_insert((start, d.end));
        e.0 = e.0.min(start);
        e.1 = e.1.max(d.end);
    }
    for (i, log) in logs.iter().enumerate() {
        if log_results[i].is_some() {
            continue;
        }
        let unverifiable =
            |code: NotVerified, reason: String| (Verdict::Unverifiable, code, reason);
        // the unreadable or missing digest whose hour holds this delivery time
        let hour_of = |list: &[(String, DigestName)], n: &super::digest::LogName| {
            list.iter()
                .find(|(_, d)| {
                    d.account == n.account
                        && d.region == n.region
                        && n.delivered >= d.end - ChronoDuration::minutes(65)
                        && n.delivered <= d.end + ChronoDuration::minutes(5)
                })
                .map(|(id, _)| id.clone())
        };
        let (verdict, code, reason) = match (log.id == "<stdin>", parse_log_name(&log.id)) {
            (true, _) => unverifiable(
                NotVerified::NotATrailFile,
                "read from stdin: no digest can name it".to_owned(),
            ),
            (false, None) => unverifiable(
                NotVerified::NotATrailFile,
                "not a trail log file name: no digest can list it".to_owned(),
            ),
            (false, Some(n)) => match spans.get(&(n.account.clone(), n.region.clone())) {
                None => unverifiable(
                    NotVerified::NoDigests,
                    format!(
                        "no digest files found for account {} in {}",
                        n.account, n.region
                    ),
                ),
                Some((_, last)) if n.delivered + ChronoDuration::minutes(1) > *last => {
                    unverifiable(
                        NotVerified::NotYetCovered,
                        format!(
                        "delivered after the newest digest read ({}): not yet covered by a digest",
                        stamp(*last)
                    ),
                    )
                }
                Some((first, _)) if n.delivered < *first => unverifiable(
                    NotVerified::BeforeFirstDigest,
                    format!("delivered before the first digest read ({})", stamp(*first)),
                ),
                Some(_) => match (hour_of(unreadable, &n), hour_of(missing, &n)) {
                    (Some(id), _) => unverifiable(
                        NotVerified::DigestUnreadable,
                        format!("the digest that would list it could not be read ({id})"),
                    ),
                    (None, Some(id)) => unverifiable(
                        NotVerified::DigestMissing,
                        format!("the digest that would list it is missing ({id})"),
                    ),
                    (None, None) => (
                        Verdict::Unlisted,
                        NotVerified::Unlisted,
                        "no digest lists it, though the digests read cover its delivery time"
                            .to_owned(),
                    ),
                },
            },
        };
        log_results[i] = Some(FileResult {
            file: log.name.clone(),
            kind: FileKind::Log,
            verdict,
            reason: Some(reason),
            reason_code: Some(code),
            signature_verified: false,
            digest: None,
        });
    }
}

/// The id a digest is known by (see [`Parsed::id_of`]).
fn raw_id(raw: &RawDigest) -> String {
    match &raw.location {
        Location::S3 { .. } => raw.name.clone(),
        Location::Local(p) => p.to_string_lossy().into_owned(),
    }
}

/// Which of two verdicts for one log file (listed by two digests) stands.
fn rank(f: &FileResult) -> u8 {
    match (f.verdict, f.signature_verified) {
        (Verdict::Altered, _) => 4,
        (Verdict::Verified, true) => 3,
        (Verdict::Verified, false) => 2,
        _ => 1,
    }
}

/// When a digest was signed: its end time, or for a backfill digest (made later, for files
/// delivered earlier) the generation time CloudTrail puts in its S3 metadata, without which
/// AWS's own validator rejects it too.
fn signing_time(d: &Parsed) -> Result<DateTime<Utc>, String> {
    if !d.name.backfill {
        return Ok(d.end);
    }
    let Some(text) = d.raw.backfill_generated.as_deref() else {
        return match d.raw.location {
            Location::Local(_) => Ok(d.end),
            Location::S3 { .. } => Err(
                "a backfill digest whose S3 object has no x-amz-meta-backfill-generation-timestamp metadata"
                    .to_owned(),
            ),
        };
    };
    super::digest::metadata_time(text)
        .ok_or_else(|| format!("its backfill-generation-timestamp metadata {text:?} is not a time"))
}

fn signature_state(d: &Parsed, keys: Option<&KeyRing>, keys_problem: Option<&str>) -> SigState {
    let Some(sig_hex) = d.raw.signature.as_deref() else {
        return match d.raw.location {
            Location::Local(_) => SigState::Unsigned,
            Location::S3 { .. } => {
                SigState::Failed("the S3 object has no x-amz-meta-signature metadata".to_owned())
            }
        };
    };
    let Some(keys) = keys else {
        return SigState::NotChecked(
            keys_problem
                .unwrap_or("no public keys (give --public-keys FILE)")
                .to_owned(),
        );
    };
    for alg in [
        d.body.digest_signature_algorithm.as_deref(),
        d.raw.signature_algorithm.as_deref(),
    ]
    .into_iter()
    .flatten()
    {
        if alg != "SHA256withRSA" {
            return SigState::Failed(format!("unsupported signature algorithm {alg}"));
        }
    }
    let Some(fp) = d.body.digest_public_key_fingerprint.as_deref() else {
        return SigState::Failed("names no public key (digestPublicKeyFingerprint)".to_owned());
    };
    let Some(sig) = unhex(sig_hex) else {
        return SigState::Failed("its signature metadata is not hex".to_owned());
    };
    let at = match signing_time(d) {
        Ok(t) => t,
        Err(why) => return SigState::Failed(why),
    };
    let signing = signing_string(&d.body, &d.hex);
    match keys.check(fp, &d.name.region, at, signing.as_bytes(), &sig) {
        SignatureCheck::Valid => SigState::Valid,
        SignatureCheck::Failed(why) => SigState::Failed(why),
    }
}
