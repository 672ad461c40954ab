//! The session index's runs on disk: each entry as its key, its six symbols (the strings stay
//! in memory, interned), its time and its event ID, in a fixed layout of little-endian
//! numbers and length-prefixed text.

use std::fs::File;
use std::io::{self, BufReader, BufWriter, Read, Write};
use std::path::Path;

use anyhow::{Context, Result};
use chrono::{DateTime, Utc};

use super::intern::Sym;
use super::{Entry, Key};
use crate::event::EventId;

pub(super) fn write_run(path: &Path, entries: &[(Key, Entry)]) -> Result<()> {
    let context = || format!("spill: {}", path.display());
    let mut out = BufWriter::new(File::create(path).with_context(context)?);
    for (key, e) in entries {
        write_entry(&mut out, key, e).with_context(context)?;
    }
    out.flush().with_context(context)
}

fn write_entry(out: &mut impl Write, key: &Key, e: &Entry) -> io::Result<()> {
    write_text(out, key.as_str())?;
    for sym in [
        e.role_arn,
        e.assumed_role_arn,
        e.provider,
        e.sub,
        e.aud,
        e.region,
    ] {
        out.write_all(&Sym::to_u32(sym).to_le_bytes())?;
    }
    out.write_all(&e.assumed_at.timestamp().to_le_bytes())?;
    out.write_all(&e.assumed_at.timestamp_subsec_nanos().to_le_bytes())?;
    write_text(out, &e.event_id.to_string())
}

fn write_text(out: &mut impl Write, text: &str) -> io::Result<()> {
    let len = u32::try_from(text.len()).map_err(|_| io::Error::other("a text of 4 GiB"))?;
    out.write_all(&len.to_le_bytes())?;
    out.write_all(text.as_bytes())
}

/// Calls `each` with every entry of the run at `path`, in the order written.
pub(super) fn read_run(path: &Path, mut each: impl FnMut(&str, Entry)) -> Result<()> {
    let context = || format!("spill: {}", path.display());
    let mut input = BufReader::new(File::open(path).with_context(context)?);
    let (mut key, mut id) = (String::new(), String::new());
    while read_text(&mut input, &mut key).with_context(context)? {
        let mut syms = [None; 6];
        for s in &mut syms {
            *s = Sym::from_u32(u32::from_le_bytes(read_array(&mut input)?));
        }
        let secs = i64::from_le_bytes(read_array(&mut input)?);
        let nanos = u32::from_le_bytes(read_array(&mut input)?);
        let assumed_at = DateTime::<Utc>::from_timestamp(secs, nanos)
            .with_context(|| format!("spill: {}: a time out of range", path.display()))?;
        if !read_text(&mut input, &mut id).with_context(context)? {
            anyhow::bail!("spill: {}: cut short", path.display());
        }
        let [role_arn, assumed_role_arn, provider, sub, aud, region] = syms;
        each(
            &key,
            Entry {
                role_arn,
                assumed_role_arn,
                provider,
                sub,
                aud,
                region,
                assumed_at,
                event_id: EventId::new(&id),
            },
        );
    }
    Ok(())
}

fn read_array<const N: usize>(input: &mut impl Read) -> io::Result<[u8; N]> {
    let mut b = [0u8; N];
    input.read_exact(&mut b)?;
    Ok(b)
}

/// Reads one length-prefixed text into `text`; `false` at the end of the run.
fn read_text(input: &mut impl Read, text: &mut String) -> io::Result<bool> {
    let mut len = [0u8; 4];
    match input.read_exact(&mut len) {
        Ok(()) => {}
        Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => return Ok(false),
        Err(e) => return Err(e),
    }
    let mut bytes = vec![0u8; u32::from_le_bytes(len) as usize];
    input.read_exact(&mut bytes)?;
    text.clear();
    text.push_str(std::str::from_utf8(&bytes).map_err(io::Error::other)?);
    Ok(true)
}
