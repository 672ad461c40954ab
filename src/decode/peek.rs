//! A reader that reads its first bytes ahead, so an input's shape can be told from them
//! (JSON or text, which kind of text) before it is split, and gives them back first.

use std::io::{self, Read};

use super::{Decompressed, Whole};

/// How many bytes are looked at to tell text from JSON.
pub const PEEK_BYTES: usize = 8 * 1024;

/// A reader whose first bytes have been read ahead, and which gives them back first. An error
/// met while reading ahead is returned where it happened, so the caller sees the same stream.
pub struct Peeked<R> {
    prefix: Vec<u8>,
    pos: usize,
    pending: Option<io::Error>,
    inner: R,
}

impl<R: Read> Peeked<R> {
    /// Reads up to [`PEEK_BYTES`] ahead (less at the end of the stream or at an error).
    pub fn new(mut inner: R) -> Peeked<R> {
        let mut prefix = vec![0u8; PEEK_BYTES];
        let mut got = 0;
        let mut pending = None;
        while got < prefix.len() {
            match inner.read(&mut prefix[got..]) {
                Ok(0) => break,
                Ok(n) => got += n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => {
                    pending = Some(e);
                    break;
                }
            }
        }
        prefix.truncate(got);
        Peeked {
            prefix,
            pos: 0,
            pending,
            inner,
        }
    }

    /// The bytes read ahead.
    pub fn prefix(&self) -> &[u8] {
        &self.prefix
    }
}

impl<R: Read> Read for Peeked<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.pos < self.prefix.len() {
            let n = buf.len().min(self.prefix.len() - self.pos);
            buf[..n].copy_from_slice(&self.prefix[self.pos..self.pos + n]);
            self.pos += n;
            return Ok(n);
        }
        if let Some(e) = self.pending.take() {
            return Err(e);
        }
        self.inner.read(buf)
    }
}

impl<R: Decompressed> Decompressed for Peeked<R> {
    /// The whole stream from its start, when nothing was handed out yet (the bytes read
    /// ahead are the first bytes of the inner stream's buffer).
    fn take_whole(&mut self) -> Option<Whole> {
        if self.pos != 0 || self.pending.is_some() {
            return None;
        }
        let mut whole = self.inner.take_whole()?;
        whole.start -= self.prefix.len().min(whole.start);
        self.pos = self.prefix.len();
        Some(whole)
    }
}
