//! Per-thread reuse of what decoding allocates per file: the inflaters of
//! [`decompress`](super::decompress) (zlib-rs's with its 32 KiB window for streams, and
//! libdeflate's for whole objects), its compressed-side and output buffers, and the buffer
//! of each [`RecordSplitter`](super::RecordSplitter).
//!
//! A scan opens thousands of small files one after another on each worker thread. Allocating
//! and zero-filling fresh quarter-megabyte buffers for each of them cost time (the fill) and
//! memory (freed buffers interleaved with the small values a scan keeps fragment the heap).
//! Here a buffer given back is kept for the next file on the same thread, with its length
//! (its bytes are already initialised, so growing it into that length costs nothing).
//! Contents are never read back: every user tracks its own valid range.

use std::cell::RefCell;

use flate2::Decompress;

/// Buffers kept per thread; a scan holds at most two at a time on one thread.
const KEPT: usize = 4;
/// Larger buffers (grown for one huge record) are freed rather than kept.
const LARGEST_KEPT: usize = 4 << 20;

thread_local! {
    static FREE: RefCell<Vec<Vec<u8>>> = const { RefCell::new(Vec::new()) };
    static INFLATERS: RefCell<Vec<Decompress>> = const { RefCell::new(Vec::new()) };
    static LIBDEFLATE: RefCell<Option<libdeflater::Decompressor>> = const { RefCell::new(None) };
}

/// Runs `f` with this thread's libdeflate decompressor (made on first use).
pub(crate) fn with_libdeflate<T>(f: impl FnOnce(&mut libdeflater::Decompressor) -> T) -> T {
    let mut d = LIBDEFLATE
        .try_with(|cell| cell.borrow_mut().take())
        .ok()
        .flatten()
        .unwrap_or_default();
    let out = f(&mut d);
    // during thread teardown the slot may be gone: the decompressor is simply dropped
    let _ = LIBDEFLATE.try_with(|cell| *cell.borrow_mut() = Some(d));
    out
}

/// A raw-deflate inflater, reused when the thread has one (the caller resets it).
pub(crate) fn take_inflater() -> Decompress {
    INFLATERS
        .try_with(|free| free.borrow_mut().pop())
        .ok()
        .flatten()
        .unwrap_or_else(|| Decompress::new(false))
}

/// Hands an inflater back for reuse on this thread.
pub(crate) fn give_inflater(inflate: Decompress) {
    let _ = INFLATERS.try_with(|free| {
        let mut free = free.borrow_mut();
        if free.len() < KEPT {
            free.push(inflate);
        }
    });
}

/// A buffer of at least `len` initialised bytes (zeros or leftovers), reused when the
/// thread has one.
pub(crate) fn take(len: usize) -> Vec<u8> {
    let reused = FREE
        .try_with(|free| {
            let mut free = free.borrow_mut();
            // the smallest that fits: a small request must not take the large buffer a
            // whole-object inflate needs next (it would be zero-filled again)
            let fits = (0..free.len())
                .filter(|&i| free[i].len() >= len)
                .min_by_key(|&i| free[i].len());
            // else the largest, grown: only the new part is zero-filled
            let best = fits.or_else(|| (0..free.len()).max_by_key(|&i| free[i].len()))?;
            Some(free.swap_remove(best))
        })
        .ok()
        .flatten();
    match reused {
        Some(mut buf) => {
            if buf.len() < len {
                buf.resize(len, 0);
            }
            buf
        }
        None => vec![0; len],
    }
}

/// The largest kept buffer, or an empty one: for users that grow their buffer themselves.
pub(crate) fn take_any() -> Vec<u8> {
    FREE.try_with(|free| {
        let mut free = free.borrow_mut();
        let largest = (0..free.len()).max_by_key(|&i| free[i].len())?;
        Some(free.swap_remove(largest))
    })
    .ok()
    .flatten()
    .unwrap_or_default()
}

/// Hands a buffer back for reuse on this thread.
pub(crate) fn give(buf: Vec<u8>) {
    if buf.is_empty() || buf.capacity() > LARGEST_KEPT {
        return;
    }
    // During thread teardown the pool may be gone: the buffer is simply freed.
    let _ = FREE.try_with(|free| {
        let mut free = free.borrow_mut();
        if free.len() < KEPT {
            free.push(buf);
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buffers_are_reused_with_their_length_and_bounded() {
        let a = take(1000);
        assert_eq!(a.len(), 1000);
        let ptr = a.as_ptr();
        give(a);
        let b = take(10);
        assert_eq!(b.as_ptr(), ptr, "the kept buffer is handed out again");
        assert_eq!(b.len(), 1000, "with its initialised length");
        give(b);
        assert_eq!(take_any().len(), 1000);
        give(vec![0; LARGEST_KEPT + 1]);
        assert!(take_any().is_empty(), "oversized buffers are not kept");
        for _ in 0..KEPT + 3 {
            give(vec![0; 8]);
        }
        let kept = FREE.with(|f| f.borrow().len());
        assert_eq!(kept, KEPT);
    }
}
