//! Inputs whose bytes an async task sends through a channel, read by the scan as a plain
//! blocking `Read`: the objects of `s3://`, the events of `lookup://` and `lake://`, the rows
//! `athena://` rebuilds into records.

use std::io::{self, Read};

use bytes::Bytes;
use tokio::sync::{mpsc, oneshot};

use super::Remote;

/// An input whose bytes an async task sends through a channel (a LookupEvents or Lake
/// query's events, Athena's rebuilt records), read once.
pub struct ChannelInput {
    name: String,
    rx: std::sync::Mutex<Option<mpsc::Receiver<io::Result<Bytes>>>>,
}

impl ChannelInput {
    pub fn new(name: String, rx: mpsc::Receiver<io::Result<Bytes>>) -> ChannelInput {
        ChannelInput {
            name,
            rx: std::sync::Mutex::new(Some(rx)),
        }
    }
}

impl Remote for ChannelInput {
    fn name(&self) -> String {
        self.name.clone()
    }

    fn open(&self) -> io::Result<Box<dyn Read + Send>> {
        let rx = self
            .rx
            .lock()
            .ok()
            .and_then(|mut g| g.take())
            .ok_or_else(|| io::Error::other("stream already read"))?;
        Ok(Box::new(ChannelReader::new(rx)))
    }
}

/// A blocking `Read` over chunks sent by an async task.
pub struct ChannelReader {
    rx: mpsc::Receiver<io::Result<Bytes>>,
    current: Bytes,
    /// Dropped with the reader: tells the fetch task its reader is done.
    _reading: Option<oneshot::Sender<()>>,
}

impl ChannelReader {
    pub fn new(rx: mpsc::Receiver<io::Result<Bytes>>) -> ChannelReader {
        ChannelReader {
            rx,
            current: Bytes::new(),
            _reading: None,
        }
    }

    /// A reader that holds `reading` until it is dropped (an S3 fetch slot).
    pub fn holding(
        rx: mpsc::Receiver<io::Result<Bytes>>,
        reading: oneshot::Sender<()>,
    ) -> ChannelReader {
        ChannelReader {
            rx,
            current: Bytes::new(),
            _reading: Some(reading),
        }
    }
}

impl Read for ChannelReader {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        while self.current.is_empty() {
            match self.rx.blocking_recv() {
                Some(Ok(b)) => self.current = b,
                Some(Err(e)) => return Err(e),
                None => return Ok(0),
            }
        }
        let n = buf.len().min(self.current.len());
        buf[..n].copy_from_slice(&self.current[..n]);
        let _ = self.current.split_to(n);
        Ok(n)
    }
}
