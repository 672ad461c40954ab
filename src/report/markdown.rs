//! The Markdown form of `trailwhy report`, made to be pasted into a GitHub issue or a chat:
//! a summary, a text sparkline per cause, a table of finding groups, then each group with its
//! explanation and fix (JSON in fenced blocks).
//!
//! Every string from a log is hostile. Identifiers (roles, subjects, ARNs, event ids) are shown
//! as code spans sized to their backticks, with `|` escaped inside tables; prose that embeds
//! log strings (explanations, fixes) has every Markdown-active character backslash-escaped;
//! control, bidi and newline characters are shown as `\u{…}` escapes first. So no log string
//! can open a link, an HTML tag, a table cell or a new block.

use std::io::{self, Write};

use chrono::{DateTime, Utc};

use super::document::{fix_parts, role_name, Document, FixPart, Group, Reported, Status};
use super::sanitize::terminal_safe;
use super::{plural, read_counts};

const SPARKS: [char; 8] = ['▁', '▂', '▃', '▄', '▅', '▆', '▇', '█'];

/// Prose: control characters escaped, then every character Markdown could act on.
pub fn text(s: &str) -> String {
    let safe = terminal_safe(s);
    let mut out = String::with_capacity(safe.len() + 8);
    for c in safe.chars() {
        if matches!(
            c,
            '\\' | '`' | '*' | '_' | '[' | ']' | '<' | '>' | '|' | '~' | '&' | '$'
        ) {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// Where a code span stands: a table cell also needs `|` escaped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Place {
    Inline,
    Cell,
}

/// A code span holding `s` verbatim, whatever backticks it contains.
pub fn code(s: &str, place: Place) -> String {
    let safe = terminal_safe(s);
    if safe.is_empty() {
        return "(none)".to_owned();
    }
    let mut body = safe.into_owned();
    if place == Place::Cell {
        body = body.replace('|', "\\|");
    }
    let ticks = "`".repeat(longest_run(&body, '`') + 1);
    let pad = if body.starts_with('`') || body.ends_with('`') || body.starts_with(' ') {
        " "
    } else {
        ""
    };
    format!("{ticks}{pad}{body}{pad}{ticks}")
}

fn longest_run(s: &str, c: char) -> usize {
    let (mut best, mut run) = (0, 0);
    for x in s.chars() {
        if x == c {
            run += 1;
            best = best.max(run);
        } else {
            run = 0;
        }
    }
    best
}

/// A fenced block whose fence no line of `body` can close.
fn fenced<W: Write>(w: &mut W, lang: &str, body: &str) -> io::Result<()> {
    let lines: Vec<String> = body
        .lines()
        .map(|l| terminal_safe(l).into_owned())
        .collect();
    let longest = lines.iter().map(|l| longest_run(l, '`')).max().unwrap_or(0);
    let fence = "`".repeat((longest + 1).max(3));
    writeln!(w, "{fence}{lang}")?;
    for l in &lines {
        writeln!(w, "{l}")?;
    }
    writeln!(w, "{fence}")
}

fn time(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%d %H:%M:%SZ").to_string()
}

fn minute(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%d %H:%MZ").to_string()
}

fn role_cell(arn: Option<&str>) -> String {
    match arn {
        Some(a) => code(role_name(a), Place::Cell),
        None => "unknown".to_owned(),
    }
}

/// A sparkline of `counts`, scaled to its own maximum; an empty bucket is `▁`, any event at
/// least `▂`.
pub fn sparkline(counts: &[u64]) -> String {
    let max = counts.iter().copied().max().unwrap_or(0);
    counts
        .iter()
        .map(|&n| {
            if n == 0 {
                SPARKS[0]
            } else if max == 1 {
                SPARKS[7]
            } else {
                // 1 → ▂, max → █, rounded in between
                let level = 1 + ((n - 1) * 12 + (max - 1)) / (2 * (max - 1));
                SPARKS[usize::try_from(level).unwrap_or(7).min(7)]
            }
        })
        .collect()
}

/// Writes the Markdown report.
pub fn write<W: Write>(w: &mut W, doc: &Document) -> io::Result<()> {
    let s = &doc.summary;
    writeln!(
        w,
        "# trailwhy report: {} → {}\n",
        minute(doc.since),
        minute(doc.until)
    )?;
    if let Some(i) = &doc.scan.integrity {
        writeln!(w, "> **{}**\n", text(&i.line()))?;
    }
    if s.findings == 0 {
        writeln!(w, "**No failures in the window.**")?;
        if let Some(sentence) = doc.outside_window() {
            writeln!(w, "\n{}.", text(&sentence))?;
        }
    } else {
        writeln!(
            w,
            "**{} in {}**: **{} new**, {} recurring",
            plural(s.failed_events, "failed event", "failed events"),
            plural(s.findings as u64, "finding", "findings"),
            s.new,
            s.recurring
        )?;
    }
    let mut also = Vec::new();
    if doc.state.as_ref().is_some_and(|st| !st.first_run) || s.stopped > 0 {
        also.push(format!("{} stopped", s.stopped));
    }
    if s.suppressed_findings > 0 || !doc.rules.is_empty() {
        also.push(format!(
            "{} suppressed ({})",
            s.suppressed_findings,
            plural(s.suppressed_events, "event", "events")
        ));
    }
    if s.expired_rules > 0 {
        also.push(format!(
            "**{} expired suppression rule{}**",
            s.expired_rules,
            if s.expired_rules == 1 { "" } else { "s" }
        ));
    }
    if !also.is_empty() {
        writeln!(w, "\n{}", also.join(" · "))?;
    }
    writeln!(w)?;
    if doc.scan.partial {
        writeln!(
            w,
            "> **Partial scan:** {} input(s) could not be read, {} read only in part{}; findings may be missing.\n",
            doc.scan.scan.files_unreadable,
            doc.scan.scan.files_partly_read,
            if doc.scan.scan.interrupted {
                " and the scan was interrupted"
            } else {
                ""
            }
        )?;
    }
    if let Some(st) = doc.state.as_ref().filter(|st| st.first_run) {
        writeln!(
            w,
            "_First run with state file {}: every finding is new._\n",
            code(&st.file, Place::Inline)
        )?;
    }
    for o in doc.expired_rules() {
        writeln!(
            w,
            "> **Expired suppression rule {}** (expires {}): it no longer suppresses anything; it matches {} ({}). Reason: {}\n",
            o.rule.rule,
            code(o.rule.expires.as_deref().unwrap_or(""), Place::Inline),
            plural(o.matched_findings as u64, "finding", "findings"),
            plural(o.matched_events, "event", "events"),
            text(&o.rule.reason)
        )?;
    }
    if s.findings > 0 {
        let tops = [
            ("Top causes", &s.top_causes, false),
            ("Top repositories", &s.top_repositories, false),
            ("Top roles", &s.top_roles, true),
        ];
        for (label, list, roles) in tops {
            let items: Vec<String> = list
                .iter()
                .map(|r| {
                    let name = if roles {
                        super::document::role_label(&r.name, list)
                    } else {
                        r.name.clone()
                    };
                    format!("{} {}", code(&name, Place::Inline), r.events)
                })
                .collect();
            writeln!(w, "- **{label}:** {}", items.join(" · "))?;
        }
        writeln!(w)?;
        write_timeline(w, doc)?;
        write_table(w, &doc.groups)?;
        for (i, g) in doc.groups.iter().enumerate() {
            write_group(w, i + 1, g)?;
        }
    }
    write_stopped(w, doc)?;
    write_suppressed(w, doc)?;
    writeln!(w, "---\n")?;
    writeln!(
        w,
        "_{} · generated {} by trailwhy {}_",
        read_counts(&doc.scan.scan),
        time(doc.generated_at),
        env!("CARGO_PKG_VERSION")
    )
}

fn write_timeline<W: Write>(w: &mut W, doc: &Document) -> io::Result<()> {
    let t = &doc.timeline;
    writeln!(w, "## Timeline\n")?;
    let width = t
        .series
        .iter()
        .map(|s| s.cause.len())
        .max()
        .unwrap_or(0)
        .max("all failures".len());
    writeln!(w, "```text")?;
    writeln!(
        w,
        "{:width$}  {} → {}, one mark = {}",
        "",
        minute(t.start),
        minute(t.end),
        t.bucket_label()
    )?;
    writeln!(
        w,
        "{:width$}  {}  {}",
        "all failures",
        sparkline(&t.totals),
        t.totals.iter().sum::<u64>()
    )?;
    for s in &t.series {
        writeln!(
            w,
            "{:width$}  {}  {}",
            s.cause,
            sparkline(&s.counts),
            s.total
        )?;
    }
    writeln!(w, "```\n")
}

fn write_table<W: Write>(w: &mut W, groups: &[Group]) -> io::Result<()> {
    writeln!(w, "## Findings\n")?;
    writeln!(
        w,
        "| # | status | cause | role | repository | events | first seen | last seen |"
    )?;
    writeln!(w, "|--:|---|---|---|---|--:|---|---|")?;
    for (i, g) in groups.iter().enumerate() {
        let status = match g.status() {
            Status::New => "**new**".to_owned(),
            Status::Recurring => "recurring".to_owned(),
        };
        writeln!(
            w,
            "| {} | {} | `{}` | {} | {} | {} | {} | {} |",
            i + 1,
            status,
            g.cause.code(),
            role_cell(g.role_arn.as_deref()),
            code(&g.repository, Place::Cell),
            g.events,
            minute(g.first_seen),
            minute(g.last_seen)
        )?;
    }
    writeln!(w)
}

fn write_group<W: Write>(w: &mut W, n: usize, g: &Group) -> io::Result<()> {
    let role = g.role_arn.as_deref().map_or("unknown", role_name);
    writeln!(
        w,
        "### {n}. `{}` · {} · {}{}\n",
        g.cause.code(),
        code(role, Place::Inline),
        code(&g.repository, Place::Inline),
        if g.status() == Status::New {
            " · **new**"
        } else {
            " · recurring"
        }
    )?;
    let several = g.findings.len() > 1;
    if several {
        writeln!(
            w,
            "{} in {}, {} → {}\n",
            plural(g.events, "event", "events"),
            plural(g.findings.len() as u64, "finding", "findings"),
            time(g.first_seen),
            time(g.last_seen)
        )?;
    }
    for (i, r) in g.findings.iter().enumerate() {
        if several {
            writeln!(w, "#### {n}.{} {}\n", i + 1, r.status.label())?;
        }
        write_finding(w, r)?;
    }
    Ok(())
}

/// One finding: counts, status, role, sub, call, event, explanation and fixes (also `watch`'s
/// Markdown and Slack bodies).
pub fn write_finding<W: Write>(w: &mut W, r: &Reported) -> io::Result<()> {
    let f = &r.finding;
    let span = if f.first_seen == f.last_seen {
        time(f.first_seen)
    } else {
        format!("{} → {}", time(f.first_seen), time(f.last_seen))
    };
    writeln!(
        w,
        "- **{}** · {} · {}",
        plural(f.count, "event", "events"),
        span,
        if r.status == Status::New {
            "**new**"
        } else {
            "recurring"
        }
    )?;
    if let Some(role) = &f.role_arn {
        writeln!(w, "- role {}", code(role, Place::Inline))?;
    }
    if let Some(sub) = &f.sub {
        writeln!(w, "- sub {}", code(sub, Place::Inline))?;
    }
    let mut call = format!(
        "- call {} {}",
        code(&f.event_name, Place::Inline),
        code(&f.error_code, Place::Inline)
    );
    if &*f.action != "sts:AssumeRoleWithWebIdentity" {
        call.push_str(&format!(" · action {}", code(&f.action, Place::Inline)));
    }
    if let Some(res) = f
        .resource
        .as_deref()
        .filter(|x| Some(*x) != f.role_arn.as_deref())
    {
        call.push_str(&format!(" on {}", code(res, Place::Inline)));
    }
    if !f.regions.is_empty() {
        call.push_str(&format!(" · {}", text(&f.regions.join(", "))));
    }
    writeln!(w, "{call}")?;
    if let Some(first) = f.event_ids.first() {
        // the finding lists its first IDs; it counts every event
        let more = (f.count as usize).max(f.event_ids.len()).saturating_sub(1);
        writeln!(
            w,
            "- event {}{}",
            code(&first.to_string(), Place::Inline),
            if more > 0 {
                format!(" (+{more} more)")
            } else {
                String::new()
            }
        )?;
    }
    writeln!(w, "\n{}\n", text(&f.explanation))?;
    if let Some(note) = super::integrity_note(f) {
        writeln!(w, "**Integrity:** {}\n", text(&note))?;
    }
    if !f.fix.is_empty() {
        write!(w, "**Fix:**")?;
        let mut first = true;
        for part in fix_parts(&f.fix) {
            match part {
                FixPart::Text(t) => {
                    let t = t.trim();
                    if !t.is_empty() {
                        let sep = if first { " " } else { "" };
                        writeln!(w, "{sep}{}\n", text(t))?;
                        first = false;
                    }
                }
                FixPart::Json(j) => {
                    if first {
                        writeln!(w, "\n")?;
                        first = false;
                    }
                    fenced(w, "json", &j)?;
                    writeln!(w)?;
                }
            }
        }
    }
    if f.fixes.len() > 1 {
        let others: Vec<String> = f.fixes[1..]
            .iter()
            .map(|x| {
                format!(
                    "{} {} ({})",
                    code(x.change.kind.code(), Place::Inline),
                    text(&x.line()),
                    x.verified.word()
                )
            })
            .collect();
        writeln!(w, "**Other fixes:**\n")?;
        for o in others {
            writeln!(w, "- {o}")?;
        }
        writeln!(w)?;
    }
    Ok(())
}

fn write_stopped<W: Write>(w: &mut W, doc: &Document) -> io::Result<()> {
    if doc.stopped.is_empty() {
        return Ok(());
    }
    writeln!(
        w,
        "## Stopped\n\nIn the previous report, not in this one:\n"
    )?;
    writeln!(
        w,
        "| cause | role | repository | sub | last seen | first reported |"
    )?;
    writeln!(w, "|---|---|---|---|---|---|")?;
    for s in &doc.stopped {
        let r = &s.remembered;
        writeln!(
            w,
            "| {} | {} | {} | {} | {} | {} |",
            code(&r.cause, Place::Cell),
            role_cell(r.role_arn.as_deref()),
            code(&r.repository, Place::Cell),
            code(r.sub.as_deref().unwrap_or(""), Place::Cell),
            minute(r.last_seen),
            r.first_reported.format("%Y-%m-%d")
        )?;
    }
    writeln!(w)
}

fn write_suppressed<W: Write>(w: &mut W, doc: &Document) -> io::Result<()> {
    if doc.rules.is_empty() && doc.suppressed.is_empty() {
        return Ok(());
    }
    writeln!(
        w,
        "## Suppressed\n\n{} ({}) matched a suppression rule{}.\n",
        plural(
            doc.summary.suppressed_findings as u64,
            "finding",
            "findings"
        ),
        plural(doc.summary.suppressed_events, "event", "events"),
        doc.suppression_file
            .as_deref()
            .map(|f| format!(" of {}", code(f, Place::Inline)))
            .unwrap_or_default()
    )?;
    if !doc.suppressed.is_empty() {
        writeln!(
            w,
            "| cause | role | repository | sub | events | last seen | rule | reason |"
        )?;
        writeln!(w, "|---|---|---|---|--:|---|--:|---|")?;
        for s in &doc.suppressed {
            let f = &s.reported.finding;
            writeln!(
                w,
                "| `{}` | {} | {} | {} | {} | {} | {} | {} |",
                f.cause.code(),
                role_cell(f.role_arn.as_deref()),
                code(&s.reported.repository, Place::Cell),
                code(f.sub.as_deref().unwrap_or(""), Place::Cell),
                f.count,
                minute(f.last_seen),
                s.rule,
                text(&s.reason)
            )?;
        }
        writeln!(w)?;
    }
    writeln!(w, "| rule | matched | expires | reason |")?;
    writeln!(w, "|--:|---|---|---|")?;
    for o in &doc.rules {
        let expires = match (&o.rule.expires, o.expired) {
            (Some(e), true) => format!("**expired** {}", code(e, Place::Cell)),
            (Some(e), false) => code(e, Place::Cell),
            (None, _) => "never".to_owned(),
        };
        writeln!(
            w,
            "| {} | {}{} ({}) | {} | {} |",
            o.rule.rule,
            if o.expired { "would match " } else { "" },
            plural(o.matched_findings as u64, "finding", "findings"),
            plural(o.matched_events, "event", "events"),
            expires,
            text(&o.rule.reason)
        )?;
    }
    writeln!(w)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hostile_strings_stay_text() {
        assert_eq!(
            text("<img src=x onerror=alert(1)> [a](b) `c` |d|\n"),
            "\\<img src=x onerror=alert(1)\\> \\[a\\](b) \\`c\\` \\|d\\|\\\\u{a}"
        );
        assert_eq!(code("a`b", Place::Inline), "``a`b``");
        assert_eq!(code("`x", Place::Inline), "`` `x ``");
        assert_eq!(code("a|b", Place::Cell), "`a\\|b`");
        assert_eq!(code("a|b", Place::Inline), "`a|b`");
    }

    #[test]
    fn sparklines_scale_to_their_maximum() {
        assert_eq!(sparkline(&[0, 1, 2, 4, 0]), "▁▂▄█▁");
        assert_eq!(sparkline(&[0, 0]), "▁▁");
        assert_eq!(sparkline(&[3]), "█");
    }
}
