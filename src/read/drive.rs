//! The one parallel driver: workers on a rayon pool take the inputs in list order (so remote
//! sources prefetch in the same order and no worker waits on a far-away object), each reads
//! one input at a time and sends what it found over that input's own channel; the calling
//! thread receives the inputs strictly in input order, so what a command prints or merges
//! does not depend on thread or network timing. When the consumer stops (a closed pipe,
//! `--limit`), the workers stop and nothing more is listed or fetched.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;
use std::time::Duration;

use crossbeam_channel::{bounded, unbounded, Receiver, SendTimeoutError, Sender};

use crate::source::{Input, Inputs};

/// Messages one input may have waiting for the consumer.
pub const BATCHES: usize = 4;
/// How often a blocked worker looks at the stop flag.
const POLL: Duration = Duration::from_millis(50);

/// How far the workers may get ahead of the consumer.
#[derive(Debug, Clone, Copy)]
pub enum Ahead {
    /// At most this many inputs per worker are claimed and not yet consumed (for output
    /// streamed as it is read: memory stays bounded).
    PerWorker(usize),
    /// No bound (each input sends one small result: a slow input never holds the others).
    Unbounded,
}

/// Where a worker sends what one input produced.
pub struct Emit<'a, T> {
    tx: Sender<T>,
    stop: &'a AtomicBool,
}

impl<T> Emit<'_, T> {
    /// Sends unless the consumer has stopped; false when the message could not be delivered
    /// (nothing more of this input is wanted).
    pub fn send(&self, mut msg: T) -> bool {
        loop {
            match self.tx.send_timeout(msg, POLL) {
                Ok(()) => return true,
                Err(SendTimeoutError::Disconnected(_)) => return false,
                Err(SendTimeoutError::Timeout(m)) => {
                    if self.stop.load(Ordering::Relaxed) {
                        return false;
                    }
                    msg = m;
                }
            }
        }
    }

    /// The consumer has stopped.
    pub fn stopped(&self) -> bool {
        self.stop.load(Ordering::Relaxed)
    }
}

/// Reads every input with `work` on a pool of `threads` workers (one per core when `None`);
/// `consume` gets each input's messages on the calling thread, in input order, and returns
/// false to stop. `work` returns false when no further input should be claimed. However the
/// run ends early, `inputs` are cancelled.
pub fn drive<T: Send>(
    inputs: &Inputs,
    threads: Option<usize>,
    ahead: Ahead,
    work: impl Fn(usize, Input, &Emit<'_, T>) -> bool + Sync,
    mut consume: impl FnMut(usize, T) -> bool,
) -> anyhow::Result<()> {
    let workers = threads.unwrap_or_else(|| {
        std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get)
    });
    let next = Mutex::new(0usize);
    let stop = AtomicBool::new(false);
    let (claim_tx, claim_rx) = match ahead {
        Ahead::PerWorker(n) => bounded::<(usize, Receiver<T>)>(workers.max(1) * n.max(1)),
        Ahead::Unbounded => unbounded(),
    };
    let worker = |claims: &Sender<(usize, Receiver<T>)>| loop {
        if stop.load(Ordering::Relaxed) {
            return;
        }
        let (index, input, tx) = {
            let mut next = next
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            let index = *next;
            // waits for an input still being listed; none after the last or a cancel
            let Some(input) = inputs.take(index) else {
                return;
            };
            *next += 1;
            let (tx, rx) = bounded(BATCHES);
            // announced while holding the lock, so claims reach the consumer in input order
            let claim = Emit {
                tx: claims.clone(),
                stop: &stop,
            };
            if !claim.send((index, rx)) {
                return;
            }
            (index, input, tx)
        };
        let emit = Emit { tx, stop: &stop };
        if !work(index, input, &emit) {
            return;
        }
    };
    std::thread::scope(|s| {
        let workers = s.spawn(|| {
            let claims = claim_tx;
            in_pool(threads, || {
                rayon::broadcast(|_| worker(&claims));
            })
        });
        let mut stopped_early = false;
        'inputs: for (index, rx) in claim_rx.iter() {
            for msg in rx.iter() {
                if !consume(index, msg) {
                    stopped_early = true;
                    break 'inputs;
                }
            }
        }
        // whatever the reason the consumer stopped, the workers stop too
        stop.store(true, Ordering::Relaxed);
        if stopped_early {
            inputs.cancel();
        }
        while claim_rx.try_recv().is_ok() {}
        drop(claim_rx);
        workers
            .join()
            .unwrap_or_else(|_| Err(anyhow::anyhow!("a worker thread panicked")))
    })
}

/// Runs `f` inside a rayon pool of `threads` workers (rayon's default, one per core, when
/// `None`).
fn in_pool<T: Send>(threads: Option<usize>, f: impl FnOnce() -> T + Send) -> anyhow::Result<T> {
    let mut b = rayon::ThreadPoolBuilder::new();
    if let Some(n) = threads {
        b = b.num_threads(n);
    }
    let pool = b
        .build()
        .map_err(|e| anyhow::anyhow!("cannot start worker threads: {e}"))?;
    Ok(pool.install(f))
}
