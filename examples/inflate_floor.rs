//! The floor under `explain`'s speed: read each gzip file and inflate it whole with
//! libdeflate, as `explain` does, and do nothing else (no splitting, no search, no decoding).
//! `bench/compare.sh` times it beside `explain` and `pigz`; see BENCHMARKS.md, "Targets".
//!
//! ```text
//! cargo run --release --example inflate_floor -- FILE_LIST THREADS
//! ```
//!
//! FILE_LIST names one `.gz` file per line. Prints the inflated bytes and the time taken.

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};

use anyhow::{bail, Context};

fn main() -> anyhow::Result<()> {
    let mut args = std::env::args().skip(1);
    let (Some(list), threads) = (args.next(), args.next()) else {
        bail!("usage: inflate_floor FILE_LIST [THREADS]");
    };
    let threads: usize = match threads {
        Some(t) => t.parse().context("THREADS is not a number")?,
        None => 2,
    };
    let list = std::fs::read_to_string(&list).with_context(|| format!("reading {list}"))?;
    let files: Vec<&str> = list.lines().filter(|l| !l.is_empty()).collect();
    let started = std::time::Instant::now();
    let next = AtomicUsize::new(0);
    let inflated = AtomicU64::new(0);
    std::thread::scope(|s| -> anyhow::Result<()> {
        let workers: Vec<_> = (0..threads.max(1))
            .map(|_| s.spawn(|| worker(&files, &next, &inflated)))
            .collect();
        for w in workers {
            match w.join() {
                Ok(r) => r?,
                Err(_) => bail!("a worker panicked"),
            }
        }
        Ok(())
    })?;
    println!(
        "{} files, {} bytes inflated in {:.3} s on {threads} thread(s)",
        files.len(),
        inflated.load(Ordering::Relaxed),
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

/// Takes files in list order until none is left; one output buffer per thread, grown as
/// needed, as `explain`'s pool does.
fn worker(files: &[&str], next: &AtomicUsize, inflated: &AtomicU64) -> anyhow::Result<()> {
    let mut inflater = libdeflater::Decompressor::new();
    let mut out = Vec::new();
    loop {
        let Some(&path) = files.get(next.fetch_add(1, Ordering::Relaxed)) else {
            return Ok(());
        };
        let gz = std::fs::read(path).with_context(|| format!("reading {path}"))?;
        // the trailer's last four bytes: the inflated size modulo 2^32
        let Some(tail) = gz.len().checked_sub(4).and_then(|at| gz.get(at..)) else {
            bail!("{path}: too short for gzip");
        };
        let mut size = [0u8; 4];
        size.copy_from_slice(tail);
        let size = u32::from_le_bytes(size) as usize;
        if out.len() < size {
            out.resize(size, 0);
        }
        let n = inflater
            .gzip_decompress(&gz, &mut out[..size])
            .map_err(|e| anyhow::anyhow!("{path}: {e}"))?;
        inflated.fetch_add(n as u64, Ordering::Relaxed);
    }
}
