//! One module per subcommand: stage two of argument handling (typed configuration) and the
//! glue that runs source → decode → select → correlate → explain → render.

pub mod athena;
pub mod check;
pub mod explain;
pub mod pipeline;
pub mod query;
pub mod report;
pub mod simulate;
pub mod verify;
pub mod watch;

use std::fs::File;
use std::io::{self, BufWriter, IsTerminal, Write};
use std::path::Path;

use anyhow::{Context as _, Result};

/// Exit codes of the contract.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exit {
    Ok = 0,
    Findings = 1,
    Fatal = 2,
    Partial = 3,
    /// `--verify`: a log file or digest was altered, deleted or unlisted, or a signature
    /// failed; with `--require-verified`, also a log file read that is not verified. It
    /// beats 3 and 1.
    Untrusted = 4,
    Interrupted = 130,
}

/// stdout (buffered), or a file.
pub fn open_output(path: Option<&Path>) -> Result<Box<dyn Write>> {
    Ok(match path {
        Some(p) => Box::new(BufWriter::new(
            File::create(p).with_context(|| format!("cannot create {}", p.display()))?,
        )),
        None => Box::new(BufWriter::new(io::stdout().lock())),
    })
}

/// Whether text for a person is the right default: stdout is a terminal and not redirected.
pub fn stdout_is_terminal(output: Option<&Path>) -> bool {
    output.is_none() && io::stdout().is_terminal()
}

/// The width output to stdout is laid out to: the terminal's, else `COLUMNS`, else none
/// (nothing wrapped or cut). Output to a file (`-o`) is never fitted.
pub fn output_width(output: Option<&Path>) -> Option<usize> {
    if output.is_some() {
        return None;
    }
    if io::stdout().is_terminal() {
        if let Some((w, _)) = terminal_size::terminal_size() {
            return Some(usize::from(w.0));
        }
    }
    std::env::var("COLUMNS")
        .ok()?
        .trim()
        .parse()
        .ok()
        .filter(|w| *w > 0)
}
