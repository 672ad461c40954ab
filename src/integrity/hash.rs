//! The scan's hook: SHA-256 over each input's decompressed bytes, computed while the scan
//! reads them (CloudTrail's digest lists the hash of the *uncompressed* log file content).
//!
//! [`HashSink::wrap`] puts a [`HashingReader`] between the inflater and the record splitter;
//! bytes are hashed once, in the same buffer pass, and never re-read. When the scan stops
//! early (a file that is not a log, `query --limit`), the rest is drained into the hash when
//! the reader is dropped, so every input read has a whole-file hash. This module decides no
//! verdicts: that is `verify`'s job.

use std::collections::HashMap;
use std::io::{self, Read};
use std::sync::Mutex;

use sha2::{Digest as _, Sha256};

use crate::decode::{DecodeError, Decompressed, Whole};
use crate::source::Input;

/// How reading an input ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReadEnd {
    /// Every byte was read and hashed.
    Complete,
    /// The bytes are not a well-formed gzip stream (corrupt, truncated, bad checksum):
    /// they cannot be what CloudTrail delivered.
    DataError(String),
    /// Reading failed for another reason (transport, size cap, Ctrl-C): nothing is known.
    Failed(String),
}

/// The hash of one input's decompressed bytes.
#[derive(Debug, Clone)]
pub struct FileHash {
    pub sha256: [u8; 32],
    pub bytes: u64,
    pub end: ReadEnd,
}

/// Collects the hash of every input read, by the input's display name.
#[derive(Debug, Default)]
pub struct HashSink {
    hashes: Mutex<HashMap<String, FileHash>>,
    /// (event id, input name) of the records the scan kept.
    events: Mutex<Vec<(String, String)>>,
    /// (name, id) of every input the scan took: its display name and what digests call it
    /// (`s3://bucket/key`, or the absolute local path).
    inputs: Mutex<Vec<(String, String)>>,
}

impl HashSink {
    pub fn new() -> HashSink {
        HashSink::default()
    }

    /// Wraps the decompressed reader of input `name` so that its bytes are hashed as they are
    /// read. Without a sink the reader is returned unchanged.
    pub fn wrap<'a>(
        sink: Option<&'a HashSink>,
        name: &str,
        reader: Box<dyn Decompressed + 'a>,
    ) -> Box<dyn Decompressed + 'a> {
        match sink {
            None => reader,
            Some(sink) => Box::new(HashingReader {
                inner: reader,
                hasher: Sha256::new(),
                bytes: 0,
                end: None,
                sink,
                name: name.to_owned(),
            }),
        }
    }

    /// Records how an input that could not even be opened ended.
    pub fn record_failure(&self, name: &str, why: String) {
        self.put(
            name,
            FileHash {
                sha256: [0; 32],
                bytes: 0,
                end: ReadEnd::Failed(why),
            },
        );
    }

    fn put(&self, name: &str, h: FileHash) {
        if let Ok(mut m) = self.hashes.lock() {
            m.insert(name.to_owned(), h);
        }
    }

    /// Notes an input the scan takes (before it is read).
    pub fn note_input(&self, input: &Input) {
        let name = input.display_name();
        let id = match input {
            Input::File(p) => super::locate::absolute(p).to_string_lossy().into_owned(),
            _ => name.clone(),
        };
        if let Ok(mut v) = self.inputs.lock() {
            v.push((name, id));
        }
    }

    /// (name, id) of every input noted, sorted by name.
    pub fn take_inputs(&self) -> Vec<(String, String)> {
        let mut v = self
            .inputs
            .lock()
            .map(|mut v| std::mem::take(&mut *v))
            .unwrap_or_default();
        v.sort();
        v.dedup();
        v
    }

    /// Notes which input the kept records `event_ids` came from (findings name their files).
    pub fn note_events<'e>(&self, name: &str, event_ids: impl Iterator<Item = &'e str>) {
        if let Ok(mut v) = self.events.lock() {
            v.extend(event_ids.map(|id| (id.to_owned(), name.to_owned())));
        }
    }

    /// (event id, input name) of every kept record.
    pub fn take_events(&self) -> Vec<(String, String)> {
        self.events
            .lock()
            .map(|mut v| std::mem::take(&mut *v))
            .unwrap_or_default()
    }

    /// Every hash collected, by input name.
    pub fn take(&self) -> HashMap<String, FileHash> {
        self.hashes
            .lock()
            .map(|mut m| std::mem::take(&mut *m))
            .unwrap_or_default()
    }
}

/// Hashes what passes through; see the module documentation.
pub struct HashingReader<'a> {
    inner: Box<dyn Decompressed + 'a>,
    hasher: Sha256,
    bytes: u64,
    end: Option<ReadEnd>,
    sink: &'a HashSink,
    name: String,
}

impl HashingReader<'_> {
    fn finish(&mut self, end: ReadEnd) {
        if self.end.is_some() {
            return;
        }
        let hasher = std::mem::replace(&mut self.hasher, Sha256::new());
        let sha256: [u8; 32] = hasher.finalize().into();
        self.sink.put(
            &self.name,
            FileHash {
                sha256,
                bytes: self.bytes,
                end: end.clone(),
            },
        );
        self.end = Some(end);
    }

    fn classify(&self, e: &io::Error) -> ReadEnd {
        if DecodeError::is_gzip_data_error(e) {
            ReadEnd::DataError(e.to_string())
        } else {
            ReadEnd::Failed(e.to_string())
        }
    }
}

impl Read for HashingReader<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self.inner.read(buf) {
            Ok(0) => {
                if !buf.is_empty() {
                    self.finish(ReadEnd::Complete);
                }
                Ok(0)
            }
            Ok(n) => {
                if self.end.is_none() {
                    self.hasher.update(&buf[..n]);
                    self.bytes += n as u64;
                }
                Ok(n)
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => Err(e),
            Err(e) => {
                let end = self.classify(&e);
                self.finish(end);
                Err(e)
            }
        }
    }
}

/// A whole-object inflate hands its buffer over instead of being read: the unread part is
/// hashed in one pass, and the stream is complete.
impl Decompressed for HashingReader<'_> {
    fn take_whole(&mut self) -> Option<Whole> {
        if self.end.is_some() {
            return None;
        }
        let whole = self.inner.take_whole()?;
        let rest = &whole.buf[whole.start..whole.end];
        self.hasher.update(rest);
        self.bytes += rest.len() as u64;
        self.finish(ReadEnd::Complete);
        Some(whole)
    }
}

impl Drop for HashingReader<'_> {
    fn drop(&mut self) {
        if self.end.is_some() {
            return;
        }
        // the scan stopped early: hash the rest, so the file is judged whole
        let mut buf = vec![0u8; 64 * 1024];
        loop {
            if crate::interrupt::requested() {
                self.finish(ReadEnd::Failed(
                    "not read to the end: interrupted".to_owned(),
                ));
                return;
            }
            match self.read(&mut buf) {
                Ok(0) => return,
                Ok(_) => {}
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(_) => return,
            }
        }
    }
}

/// Lowercase hex of `bytes`.
pub fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        s.push(DIGITS[usize::from(b >> 4)] as char);
        s.push(DIGITS[usize::from(b & 15)] as char);
    }
    s
}

/// Bytes of a hex string (either case); `None` when it is not hex.
pub fn unhex(s: &str) -> Option<Vec<u8>> {
    let s = s.trim().as_bytes();
    if s.len() % 2 != 0 {
        return None;
    }
    let val = |c: u8| match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        b'A'..=b'F' => Some(c - b'A' + 10),
        _ => None,
    };
    s.chunks(2)
        .map(|p| Some(val(p[0])? << 4 | val(p[1])?))
        .collect()
}

/// SHA-256 of `bytes`.
pub fn sha256(bytes: &[u8]) -> [u8; 32] {
    Sha256::digest(bytes).into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_what_is_read_and_the_rest_on_drop() {
        let sink = HashSink::new();
        let data = b"{\"Records\":[]}".repeat(10_000);
        {
            let (_, inner) =
                crate::decode::decompress(std::io::Cursor::new(data.clone()), &Default::default())
                    .unwrap();
            let mut r = HashSink::wrap(Some(&sink), "a", inner);
            let mut first = [0u8; 10];
            r.read_exact(&mut first).unwrap();
        } // dropped after 10 bytes: the rest is drained
        let h = sink.take().remove("a").unwrap();
        assert_eq!(h.end, ReadEnd::Complete);
        assert_eq!(h.bytes, data.len() as u64);
        assert_eq!(h.sha256, sha256(&data));
    }

    #[test]
    fn hex_round_trip() {
        assert_eq!(hex(&[0, 0xab, 0xff]), "00abff");
        assert_eq!(unhex("00ABff"), Some(vec![0, 0xab, 0xff]));
        assert_eq!(unhex("0g"), None);
        assert_eq!(unhex("abc"), None);
    }
}
