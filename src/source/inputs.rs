//! [`Inputs`]: the inputs of a scan in their final order, some of which may still be
//! arriving. Local paths are all known at once; an `s3://` listing releases its keys day
//! folder by day folder (in key order) while the scan already reads the first ones.
//!
//! Consumers take each index once, in order ([`Inputs::take`] waits for an index that is
//! not there yet), so a remote input is dropped as soon as it has been read. A producer ends
//! the list ([`Inputs::finish`]), with an error when a listing failed: the consumer stops
//! taking and the caller reports it ([`Inputs::result`]). A consumer that needs nothing more
//! (`query --limit` reached, output closed) calls [`Inputs::cancel`], which stops listings
//! and fetches that have not started. This module knows nothing of S3 or of scanning.

use std::sync::{Condvar, Mutex, MutexGuard, PoisonError};

use anyhow::Result;

use super::Input;

/// A stop hook of a producer (close a fetch queue, abort a listing).
type Hook = Box<dyn FnOnce() + Send>;

/// Inputs in order, growing until the producers finish (see the module documentation).
pub struct Inputs {
    state: Mutex<State>,
    grown: Condvar,
}

#[derive(Default)]
struct State {
    /// `None` once taken.
    items: Vec<Option<Input>>,
    /// No input after this index is wanted ([`Inputs::cancel_after`]).
    last_wanted: Option<usize>,
    end: Option<End>,
    hooks: Vec<Hook>,
}

enum End {
    /// Every input is in the list.
    Complete,
    /// A listing failed: the list is incomplete (the error, until [`Inputs::result`] takes it).
    Failed(Option<anyhow::Error>),
    /// The consumer wants nothing more.
    Cancelled,
}

impl From<Vec<Input>> for Inputs {
    /// A complete list.
    fn from(inputs: Vec<Input>) -> Inputs {
        Inputs {
            state: Mutex::new(State {
                items: inputs.into_iter().map(Some).collect(),
                last_wanted: None,
                end: Some(End::Complete),
                hooks: Vec::new(),
            }),
            grown: Condvar::new(),
        }
    }
}

impl Inputs {
    /// A list that starts with `first` and grows until [`Inputs::finish`].
    pub fn growing(first: Vec<Input>) -> Inputs {
        Inputs {
            state: Mutex::new(State {
                items: first.into_iter().map(Some).collect(),
                ..State::default()
            }),
            grown: Condvar::new(),
        }
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Appends an input (dropped once the list has ended or the rest is not wanted).
    pub fn push(&self, input: Input) {
        let mut s = self.lock();
        if s.end.is_none() && s.last_wanted.is_none() {
            s.items.push(Some(input));
            self.grown.notify_all();
        }
    }

    /// Ends the list: complete, or failed with the producer's error.
    pub fn finish(&self, result: Result<()>) {
        let mut s = self.lock();
        if s.end.is_none() {
            s.end = Some(match result {
                Ok(()) => End::Complete,
                Err(e) => {
                    // what was not taken will not be read: its fetches end
                    s.items.iter_mut().for_each(|i| *i = None);
                    End::Failed(Some(e))
                }
            });
        }
        self.grown.notify_all();
    }

    /// Runs `hook` when the consumer cancels (at once if it already has).
    pub fn on_cancel(&self, hook: Hook) {
        let mut s = self.lock();
        if matches!(s.end, Some(End::Cancelled)) {
            drop(s);
            hook();
        } else {
            s.hooks.push(hook);
        }
    }

    /// Nothing more is wanted: [`Inputs::take`] returns `None` from now on, and producers
    /// stop listing and fetching (what they already started ends when its reader is gone).
    pub fn cancel(&self) {
        self.stop();
    }

    /// Stops the list for a Ctrl-C: as [`Inputs::cancel`], and returns how many inputs had
    /// arrived but were not taken (they are not read; the caller counts them).
    pub fn interrupt(&self) -> usize {
        self.stop()
    }

    /// Cancels; returns how many arrived inputs were not taken, counted in the same step.
    fn stop(&self) -> usize {
        let (untaken, hooks) = {
            let mut s = self.lock();
            if s.end.is_none() || matches!(s.end, Some(End::Complete)) {
                s.end = Some(End::Cancelled);
            }
            let untaken = s.items.iter().filter(|i| i.is_some()).count();
            // what was not taken will not be read: its fetches end. Dropped last first: a
            // fetcher walking the list meanwhile meets the open ones first, so whatever it
            // still starts is the next in order, never one far down the list.
            s.items.iter_mut().rev().for_each(|i| *i = None);
            self.grown.notify_all();
            (untaken, std::mem::take(&mut s.hooks))
        };
        for hook in hooks {
            hook();
        }
        untaken
    }

    /// No input after `index` is wanted (every input up to it is taken, and they hold all
    /// that is needed): [`Inputs::take`] returns `None` after it, and the inputs after it,
    /// arrived or not, are dropped, so their fetches stop or never start. What is taken
    /// goes on being read.
    pub fn cancel_after(&self, index: usize) {
        let mut s = self.lock();
        let last = s.last_wanted.map_or(index, |w| w.min(index));
        s.last_wanted = Some(last);
        // last first, as in `stop`
        s.items
            .iter_mut()
            .skip(last + 1)
            .rev()
            .for_each(|i| *i = None);
        self.grown.notify_all();
    }

    /// The input at `index`, waiting until it arrives; `None` past the end of a complete
    /// list, after a failure or a cancellation. Each index is taken once.
    pub fn take(&self, index: usize) -> Option<Input> {
        let mut s = self.lock();
        loop {
            if s.last_wanted.is_some_and(|w| index > w) {
                return None;
            }
            match s.end {
                Some(End::Failed(_) | End::Cancelled) => return None,
                Some(End::Complete) => return s.items.get_mut(index).and_then(Option::take),
                None if index < s.items.len() => return s.items[index].take(),
                None => s = self.grown.wait(s).unwrap_or_else(PoisonError::into_inner),
            }
        }
    }

    /// How many inputs have arrived so far.
    pub fn arrived(&self) -> usize {
        self.lock().items.len()
    }

    /// Whether every input has arrived (the list is complete and cannot grow).
    pub fn is_complete(&self) -> bool {
        matches!(self.lock().end, Some(End::Complete))
    }

    /// The producers' error, once: a failed listing fails the run, whatever was read before.
    pub fn result(&self) -> Result<()> {
        match &mut self.lock().end {
            Some(End::Failed(e)) => e.take().map_or(Ok(()), Err),
            _ => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::PathBuf;
    use std::sync::Arc;

    fn file(n: &str) -> Input {
        Input::File(PathBuf::from(n))
    }

    #[test]
    fn a_complete_list_is_taken_once_in_any_order() {
        let inputs = Inputs::from(vec![file("a"), file("b")]);
        assert_eq!(inputs.take(1).unwrap().display_name(), "b");
        assert!(inputs.take(1).is_none());
        assert_eq!(inputs.take(0).unwrap().display_name(), "a");
        assert!(inputs.take(2).is_none());
        assert!(inputs.result().is_ok());
    }

    #[test]
    fn take_waits_for_inputs_that_arrive_later() {
        let inputs = Arc::new(Inputs::growing(vec![file("a")]));
        let reader = {
            let inputs = inputs.clone();
            std::thread::spawn(move || {
                let mut names = Vec::new();
                let mut i = 0;
                while let Some(input) = inputs.take(i) {
                    names.push(input.display_name());
                    i += 1;
                }
                names
            })
        };
        inputs.push(file("b"));
        std::thread::sleep(std::time::Duration::from_millis(20));
        inputs.push(file("c"));
        inputs.finish(Ok(()));
        assert_eq!(reader.join().unwrap(), ["a", "b", "c"]);
        assert!(inputs.is_complete());
    }

    #[test]
    fn a_failed_listing_stops_the_takers_and_is_reported_once() {
        let inputs = Arc::new(Inputs::growing(vec![file("a")]));
        let waiting = {
            let inputs = inputs.clone();
            std::thread::spawn(move || inputs.take(1).is_none())
        };
        inputs.finish(Err(anyhow::anyhow!("s3://b/x/: access denied")));
        assert!(waiting.join().unwrap());
        assert!(inputs.take(0).is_none());
        assert_eq!(
            inputs.result().unwrap_err().to_string(),
            "s3://b/x/: access denied"
        );
        assert!(inputs.result().is_ok());
    }

    #[test]
    fn inputs_after_the_last_wanted_are_dropped_and_not_taken() {
        let inputs = Arc::new(Inputs::growing(vec![file("a"), file("b"), file("c")]));
        assert!(inputs.take(0).is_some());
        let waiting = {
            let inputs = inputs.clone();
            std::thread::spawn(move || inputs.take(3).is_none())
        };
        inputs.cancel_after(0);
        assert!(waiting.join().unwrap());
        assert!(inputs.take(1).is_none());
        inputs.push(file("d"));
        assert_eq!(inputs.arrived(), 3);
        inputs.finish(Ok(()));
        assert!(inputs.take(2).is_none());
        assert!(inputs.result().is_ok());
    }

    #[test]
    fn cancel_runs_the_hooks_once_and_wakes_takers() {
        let inputs = Arc::new(Inputs::growing(Vec::new()));
        let ran = Arc::new(std::sync::atomic::AtomicU32::new(0));
        let r = ran.clone();
        inputs.on_cancel(Box::new(move || {
            r.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        }));
        let waiting = {
            let inputs = inputs.clone();
            std::thread::spawn(move || inputs.take(0).is_none())
        };
        inputs.cancel();
        inputs.cancel();
        assert!(waiting.join().unwrap());
        assert_eq!(ran.load(std::sync::atomic::Ordering::Relaxed), 1);
        inputs.push(file("late"));
        assert_eq!(inputs.arrived(), 0);
        assert!(inputs.result().is_ok());
    }
}
