//! The output of `trailwhy verify`.

use std::io::{self, Write};

use super::sanitize::terminal_safe;
use crate::integrity::{Integrity, Verdict};
use crate::source::Skipped;

/// On stderr: each input that could not be read, then what verification could not check.
pub fn write_problems<W: Write>(
    err: &mut W,
    skipped: &[Skipped],
    integrity: &Integrity,
) -> io::Result<()> {
    for s in skipped.iter().filter(|s| !s.by_design) {
        writeln!(
            err,
            "trailwhy: {}: {}",
            terminal_safe(&s.name),
            terminal_safe(&s.reason)
        )?;
    }
    super::write_integrity_problems(err, Some(integrity))
}

/// `verify --format json`: the integrity summary and the inputs that could not be read.
pub fn write_json<W: Write>(
    w: &mut W,
    integrity: &Integrity,
    skipped: &[Skipped],
) -> io::Result<()> {
    #[derive(serde::Serialize)]
    struct Out<'a> {
        integrity: &'a Integrity,
        skipped: Vec<&'a Skipped>,
    }
    serde_json::to_writer_pretty(
        &mut *w,
        &Out {
            integrity,
            skipped: skipped.iter().filter(|s| !s.by_design).collect(),
        },
    )?;
    writeln!(w)
}

/// `verify --format table`: every file not verified, with its reason, then the summary line.
pub fn write_table<W: Write>(w: &mut W, integrity: &Integrity) -> io::Result<()> {
    for f in integrity
        .files
        .iter()
        .filter(|f| f.verdict != Verdict::Verified)
    {
        writeln!(
            w,
            "{:<12} {}{}",
            f.verdict.word(),
            terminal_safe(&f.file),
            f.reason
                .as_deref()
                .map(|r| format!("\n             {}", terminal_safe(r)))
                .unwrap_or_default()
        )?;
    }
    writeln!(w, "{}", terminal_safe(&integrity.line()))
}
