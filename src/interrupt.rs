//! Ctrl-C: the first SIGINT (or SIGTERM) asks the scan to stop reading, so that what was found
//! so far is still explained and printed, marked partial (exit code 130); a second one ends
//! the process at once.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock};

static FLAG: OnceLock<Arc<AtomicBool>> = OnceLock::new();

/// Installs the handlers. Called once by the binary; library users (tests, benches) that do
/// not call it are simply never interrupted.
pub fn install() -> std::io::Result<()> {
    let flag = FLAG
        .get_or_init(|| Arc::new(AtomicBool::new(false)))
        .clone();
    for sig in [signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM] {
        // second signal: exit immediately with 130
        signal_hook::flag::register_conditional_shutdown(sig, 130, flag.clone())?;
        signal_hook::flag::register(sig, flag.clone())?;
    }
    Ok(())
}

/// Whether a stop was requested.
pub fn requested() -> bool {
    FLAG.get().is_some_and(|f| f.load(Ordering::Relaxed))
}
