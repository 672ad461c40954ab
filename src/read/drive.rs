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
/// run ends early, `inputs` are cancelled. After Ctrl-C no further input is claimed (the
/// inputs being read end between two records, and the producers end their lists); the result
/// is how many inputs had arrived but were left unread (the caller counts them).
pub fn drive<T: Send>(
    inputs: &Inputs,
    threads: Option<usize>,
    ahead: Ahead,
    work: impl Fn(usize, Input, &Emit<'_, T>) -> bool + Sync,
    consume: impl FnMut(usize, T) -> bool,
) -> anyhow::Result<usize> {
    drive_until(
        inputs,
        threads,
        ahead,
        &crate::interrupt::requested,
        work,
        consume,
    )
}

/// [`drive`], stopped by `interrupted` instead of Ctrl-C.
fn drive_until<T: Send>(
    inputs: &Inputs,
    threads: Option<usize>,
    ahead: Ahead,
    interrupted: &(dyn Fn() -> bool + Sync),
    work: impl Fn(usize, Input, &Emit<'_, T>) -> bool + Sync,
    mut consume: impl FnMut(usize, T) -> bool,
) -> anyhow::Result<usize> {
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
        if stop.load(Ordering::Relaxed) || interrupted() {
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
        // After Ctrl-C the producers end their lists themselves (a query engine stops its
        // query first): what had arrived and was not taken is counted here (unless the
        // consumer had stopped wanting it anyway).
        let unread = (!stopped_early && interrupted()).then(|| inputs.interrupt());
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
            .map(|()| unread.unwrap_or(0))
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

#[cfg(test)]
mod tests {
    use std::sync::atomic::AtomicBool;

    use super::*;

    fn files(n: usize) -> Vec<Input> {
        (0..n)
            .map(|i| Input::File(format!("/nowhere/{i}").into()))
            .collect()
    }

    /// Drives `inputs` on one worker, interrupted (`stop` set) once input `at` is consumed;
    /// the indexes consumed and how many were left unread.
    fn interrupted_at(inputs: &Inputs, at: usize, stop: &AtomicBool) -> (Vec<usize>, usize) {
        let mut seen = Vec::new();
        let unread = drive_until(
            inputs,
            Some(1),
            Ahead::PerWorker(1),
            &|| stop.load(Ordering::Relaxed),
            |i, _input, emit: &Emit<'_, usize>| emit.send(i),
            |i, _| {
                seen.push(i);
                if i == at {
                    stop.store(true, Ordering::Relaxed);
                }
                true
            },
        )
        .unwrap();
        (seen, unread)
    }

    #[test]
    fn an_interrupt_stops_claiming_and_counts_the_inputs_left() {
        // a list still growing: without the interrupt the worker would wait for more
        let inputs = Inputs::growing(files(50));
        let (seen, unread) = interrupted_at(&inputs, 2, &AtomicBool::new(false));
        assert_eq!(seen, (0..seen.len()).collect::<Vec<_>>(), "in input order");
        assert!(seen.len() >= 3 && seen.len() < 50, "{seen:?}");
        assert_eq!(seen.len() + unread, 50, "every input consumed or counted");
        assert!(inputs.take(49).is_none(), "the list is stopped");
    }

    #[test]
    fn a_worker_waiting_for_a_listing_ends_when_the_producer_ends_it() {
        // the worker waits for input 3; the producer, seeing the interrupt, ends its list
        let inputs = Inputs::growing(files(3));
        let stop = AtomicBool::new(false);
        let (seen, unread) = std::thread::scope(|s| {
            s.spawn(|| {
                while !stop.load(Ordering::Relaxed) {
                    std::thread::sleep(Duration::from_millis(5));
                }
                inputs.finish(Ok(()));
            });
            interrupted_at(&inputs, 2, &stop)
        });
        assert_eq!((seen, unread), (vec![0, 1, 2], 0));
    }

    #[test]
    fn without_an_interrupt_every_input_is_consumed_in_order() {
        let inputs = Inputs::from(files(40));
        let mut seen = Vec::new();
        let unread = drive(
            &inputs,
            Some(2),
            Ahead::PerWorker(1),
            |i, _input, emit: &Emit<'_, usize>| emit.send(i),
            |i, _| {
                seen.push(i);
                true
            },
        )
        .unwrap();
        assert_eq!((seen, unread), ((0..40).collect::<Vec<_>>(), 0));
    }
}
