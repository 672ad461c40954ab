//! The one reader: every command reads an input here, once — open, decompress (whole or
//! streamed), hash when verifying, tell what the input is, split it into records, count what
//! could not be read — and hands what it finds to the command's [`Sink`]: the selector of
//! `explain` and `report` (`scan`), the rows of `query`, nothing at all for `verify`
//! ([`hash_input`]). [`drive`] runs the readers in parallel and delivers their results in
//! input order.
//!
//! What an input is, is decided here and nowhere else: build log text by its first bytes
//! (read line by line, not split), other text skipped by design; JSON by its first record —
//! a log (it has `eventName`, or is a lookup-events element), an inventory document, CodeBuild
//! build records, a digest file or some other JSON (skipped by design). A sink that takes no
//! documents (`query`) has inventory and build inputs skipped by design, saying what they are.
//! How an input is counted once read is in [`count`].

pub mod count;
pub mod drive;

use serde_json::Value;

use crate::codebuild::log::{self as build_log, TextKind};
use crate::codebuild::record::{builds_from_value, is_build_document};
use crate::codebuild::Build;
use crate::decode::{self, DecodeLimits, Peeked, RecordKind, RecordSplitter};
use crate::integrity::HashSink;
use crate::interrupt;
use crate::source::{io_reason, Input, Skipped};
pub use count::{Damage, InputRead, Problem, RecordProblem, ScanStats, PROBLEMS_PER_FILE};
pub use drive::drive;

/// Why a record that had to be placed in time could not be (`explain` and `query` alike).
pub const BAD_TIME: &str = "eventTime is missing or not an RFC 3339 time";

/// An inventory document found among the inputs (authorization details, OIDC provider
/// listings, ECR repository policies).
#[derive(Debug, Clone)]
pub struct InventoryDoc {
    pub origin: String,
    pub value: Value,
}

/// A document met among the inputs, for a sink that takes documents.
pub enum Document {
    /// An inventory document (one page of it).
    Inventory(Value),
    /// CodeBuild builds: batch-get-builds output, EventBridge build events, a build log.
    Builds(Vec<Build>),
}

/// One record of a log as the splitter found it.
#[derive(Clone, Copy)]
pub struct Raw<'a> {
    /// The record's bytes: one JSON object.
    pub bytes: &'a [u8],
    /// Its decompressed byte offset in the input.
    pub offset: u64,
    /// Its index among the input's records, from 0.
    pub index: u64,
}

/// What a command does with the records of one input.
pub trait Sink {
    /// Whether the command reads documents (inventory, CodeBuild builds, build logs); when
    /// not, an input holding them is skipped by design, saying what it is.
    fn takes_documents(&self) -> bool;

    /// The whole decompressed input, before it is split, when it was inflated in one piece
    /// (`offset` is the stream offset of `bytes`).
    fn whole(&mut self, _offset: u64, _bytes: &[u8]) {}

    /// One record of a log (a JSON object). An error counts the record as not read, with
    /// the reason.
    fn event(&mut self, name: &str, raw: Raw<'_>) -> Result<(), (RecordProblem, String)>;

    /// A document of `origin` (only when [`takes_documents`](Self::takes_documents)).
    fn document(&mut self, _origin: &str, _doc: Document) {}

    /// False once no further record of this input is wanted (`query --limit`).
    fn wants_more(&self) -> bool {
        true
    }
}

/// Why an input could not be opened for reading (it is counted unreadable, named with the
/// reason).
pub enum Unopened {
    /// Ctrl-C came before it was opened.
    Interrupted(Skipped),
    /// It could not be opened or its compression read.
    Failed(Skipped),
}

/// Opens one input for reading: noted for `--verify` (`hashes`), opened, its compression
/// recognised, hashed as it is read when verifying; a failure is recorded for `--verify` too.
pub fn open_input<'a>(
    input: &Input,
    limits: &DecodeLimits,
    hashes: Option<&'a HashSink>,
) -> Result<Box<dyn decode::Decompressed + 'a>, Unopened> {
    let name = input.display_name();
    if let Some(h) = hashes {
        h.note_input(input);
    }
    if interrupt::requested() {
        return Err(Unopened::Interrupted(Skipped {
            name,
            reason: "not read: interrupted".to_owned(),
            by_design: false,
        }));
    }
    match input.open().and_then(|r| decode::decompress(r, limits)) {
        Ok((_, r)) => Ok(HashSink::wrap(hashes, &name, r)),
        Err(e) => {
            if let Some(h) = hashes {
                h.record_failure(&name, io_reason(&e));
            }
            Err(Unopened::Failed(Skipped {
                name,
                reason: io_reason(&e),
                by_design: false,
            }))
        }
    }
}

/// Reads one input through `sink`: never fatal, everything that could not be read counted
/// in the result.
pub fn read_input<S: Sink>(
    input: &Input,
    limits: &DecodeLimits,
    hashes: Option<&HashSink>,
    sink: &mut S,
) -> InputRead {
    let mut read = InputRead::new(input.display_name());
    let reader = match open_input(input, limits, hashes) {
        Ok(r) => r,
        Err(Unopened::Interrupted(skip)) => {
            read.interrupted = true;
            read.skipped = Some(skip);
            return read;
        }
        Err(Unopened::Failed(skip)) => {
            read.skipped = Some(skip);
            return read;
        }
    };
    let reader = Peeked::new(reader);
    match build_log::sniff(reader.prefix(), &read.name) {
        Some(TextKind::BuildLog) if sink.takes_documents() => {
            return read_build_log(reader, read, limits, sink)
        }
        Some(TextKind::BuildLog) => {
            return skipped(read, "CodeBuild build log, not a CloudTrail log".to_owned())
        }
        Some(TextKind::OtherText) => {
            return skipped(read, "not a CloudTrail log or build log".to_owned())
        }
        None => {}
    }
    let mut splitter = RecordSplitter::new_whole(reader, limits);
    if let Some((offset, bytes)) = splitter.whole_unsplit() {
        sink.whole(offset, bytes);
    }
    // what the first record says the input is
    let mut kind: Option<Kind> = None;
    while sink.wants_more() {
        let index = read.records;
        // An error is not necessarily the end: the splitter resyncs where it can (NDJSON)
        // and returns None once nothing more can be read.
        let raw = match splitter.next_record() {
            // checked after the read: a record that arrives after Ctrl-C is not used
            Ok(Some(r)) if interrupt::requested() => {
                read.interrupted = true;
                let name = &read.name;
                read.damage
                    .stream(name, index, r.offset, "interrupted".to_owned());
                break;
            }
            Ok(Some(r)) => r,
            Ok(None) => break,
            Err(e) => {
                read.damage
                    .stream(&read.name, index, e.offset(), e.to_string());
                continue;
            }
        };
        read.records += 1;
        if raw.kind != RecordKind::Object {
            read.damage.record(
                &read.name,
                index,
                raw.offset,
                RecordProblem::Undecodable,
                "not a JSON object".to_owned(),
            );
            continue;
        }
        let at = Raw {
            bytes: raw.bytes,
            offset: raw.offset,
            index,
        };
        let k = match kind {
            Some(k) => k,
            // the first record decides what the input is
            None => match first_record(at, &mut read, sink) {
                // a document's first record is handed on already
                Ok(k) if k != Kind::Log => {
                    kind = Some(k);
                    continue;
                }
                Ok(k) => *kind.insert(k),
                Err(reason) => return skipped(read, reason),
            },
        };
        match k {
            Kind::Log => {
                if let Err((why, reason)) = sink.event(&read.name, at) {
                    read.damage
                        .record(&read.name, index, raw.offset, why, reason);
                }
            }
            Kind::Inventory | Kind::Builds => further_document(k, at, &mut read, sink),
        }
    }
    read.bytes = splitter.bytes_read();
    read
}

/// Reads one input to its end for its hash only (`verify`): nothing is split or counted
/// beyond what `hashes` records (an input that fails is recorded there, by
/// [`open_input`] or by the hashing reader).
pub fn hash_input(input: &Input, limits: &DecodeLimits, hashes: &HashSink) {
    let Ok(mut r) = open_input(input, limits, Some(hashes)) else {
        return;
    };
    // a whole-object inflate is hashed in place, with no copy
    if r.take_whole().is_some() {
        return;
    }
    let mut buf = vec![0u8; 256 * 1024];
    loop {
        match std::io::Read::read(&mut r, &mut buf) {
            Ok(0) => break,
            Ok(_) => {}
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(_) => break, // recorded by the hashing reader
        }
    }
}

/// What the first record (a JSON object) says the input is; a document it holds is handed
/// on. `Err`: the input is skipped by design, for that reason.
fn first_record<S: Sink>(at: Raw<'_>, read: &mut InputRead, sink: &mut S) -> Result<Kind, String> {
    match classify_first(at.bytes) {
        FirstRecord::Event => Ok(Kind::Log),
        FirstRecord::Inventory(_) if !sink.takes_documents() => {
            Err("inventory document, not a log".to_owned())
        }
        FirstRecord::Builds(_) if !sink.takes_documents() => {
            Err("CodeBuild build document, not a CloudTrail log".to_owned())
        }
        FirstRecord::Inventory(v) => {
            sink.document(&read.name, Document::Inventory(v));
            Ok(Kind::Inventory)
        }
        FirstRecord::Builds(v) => {
            builds(&v, at, read, sink);
            Ok(Kind::Builds)
        }
        FirstRecord::NotALog(reason) => Err(reason),
    }
}

/// A further record of an inventory or build input: further pages of an inventory listing
/// (NDJSON or concatenated documents), further build events (an array or one per line).
fn further_document<S: Sink>(kind: Kind, at: Raw<'_>, read: &mut InputRead, sink: &mut S) {
    let value = serde_json::from_slice::<Value>(at.bytes).ok();
    match (kind, value) {
        (Kind::Inventory, Some(v)) if is_inventory_doc(&v) => {
            sink.document(&read.name, Document::Inventory(v));
        }
        (Kind::Builds, Some(v)) if is_build_document(&v) => builds(&v, at, read, sink),
        _ => read.damage.record(
            &read.name,
            at.index,
            at.offset,
            RecordProblem::Undecodable,
            match kind {
                Kind::Inventory => "not an inventory document",
                _ => "not a CodeBuild build record",
            }
            .to_owned(),
        ),
    }
}

/// What an input turned out to be, from its first record.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    Log,
    Inventory,
    Builds,
}

/// The input skipped by design, for `reason`; nothing of it counts as read.
fn skipped(mut read: InputRead, reason: String) -> InputRead {
    read.records = 0;
    read.bytes = 0;
    read.damage = Damage::default();
    read.skipped = Some(Skipped {
        name: read.name.clone(),
        reason,
        by_design: true,
    });
    read
}

/// The builds of one build document; a malformed one counts as undecodable.
fn builds<S: Sink>(v: &Value, at: Raw<'_>, read: &mut InputRead, sink: &mut S) {
    match builds_from_value(v) {
        Ok(builds) if builds.is_empty() => {}
        Ok(builds) => sink.document(&read.name, Document::Builds(builds)),
        Err(why) => read.damage.record(
            &read.name,
            at.index,
            at.offset,
            RecordProblem::Undecodable,
            why.to_string(),
        ),
    }
}

/// Reads CodeBuild build log text into one build.
fn read_build_log<R: std::io::Read, S: Sink>(
    reader: R,
    mut read: InputRead,
    limits: &DecodeLimits,
    sink: &mut S,
) -> InputRead {
    let (build, bytes, err) =
        build_log::read_build_log(reader, &read.name, limits.max_record_bytes);
    read.bytes = bytes;
    sink.document(&read.name, Document::Builds(vec![build]));
    if let Some(e) = err {
        read.skipped = Some(Skipped {
            name: read.name.clone(),
            reason: e.to_string(),
            by_design: false,
        });
    }
    read
}

/// The inventory document kinds recognised by their top-level keys.
pub fn is_inventory_doc(v: &Value) -> bool {
    let Some(o) = v.as_object() else { return false };
    o.contains_key("RoleDetailList")
        || o.contains_key("OpenIDConnectProviderList")
        || (o.contains_key("policyText")
            && o.contains_key("repositoryName")
            && o.contains_key("registryId"))
        || (o.contains_key("Url") && o.contains_key("ClientIDList"))
        || o.contains_key("ResourceTagMappingList")
        || o.get("Organization")
            .is_some_and(|org| org.get("MasterAccountId").is_some())
        || o.get("Accounts")
            .and_then(Value::as_array)
            .is_some_and(|a| {
                a.first()
                    .and_then(|x| x.get("Arn"))
                    .and_then(Value::as_str)
                    .is_some_and(|arn| arn.starts_with("arn:") && arn.contains(":organizations::"))
            })
}

/// What the first record of an input says the input is.
pub enum FirstRecord {
    Event,
    Inventory(Value),
    Builds(Value),
    NotALog(String),
}

/// Classifies an input by its first record (a JSON object).
pub fn classify_first(bytes: &[u8]) -> FirstRecord {
    #[derive(serde::Deserialize)]
    struct Probe<'a> {
        #[serde(default, rename = "eventName", borrow)]
        event_name: Option<std::borrow::Cow<'a, str>>,
        #[serde(default, rename = "CloudTrailEvent", borrow)]
        cloudtrail_event: Option<std::borrow::Cow<'a, str>>,
        #[serde(default, rename = "digestStartTime")]
        digest_start: Option<serde::de::IgnoredAny>,
    }
    match serde_json::from_slice::<Probe>(bytes) {
        Ok(p) if p.event_name.is_some() || p.cloudtrail_event.is_some() => FirstRecord::Event,
        Ok(p) if p.digest_start.is_some() => {
            FirstRecord::NotALog("CloudTrail digest file".to_owned())
        }
        Ok(_) => match serde_json::from_slice::<Value>(bytes) {
            Ok(v) if is_inventory_doc(&v) => FirstRecord::Inventory(v),
            Ok(v) if is_build_document(&v) => FirstRecord::Builds(v),
            _ => FirstRecord::NotALog(
                "not a CloudTrail log (the first record has no eventName)".to_owned(),
            ),
        },
        // An undecodable first record is left to the main loop, which counts it.
        Err(_) => FirstRecord::Event,
    }
}
