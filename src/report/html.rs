//! The HTML form of `trailwhy report`: one self-contained page (inline CSS, an inline SVG
//! chart, no script, no external asset), readable on a phone and in light or dark mode.
//!
//! Every string from a log is hostile: each one goes through [`escape_html`] (after control
//! and bidi characters are made visible), in text and in attribute values alike. As a second
//! wall, the page carries a Content-Security-Policy that allows no script, no external
//! resource and no form, so even a missed escape could not run code or call out.

use std::io::{self, Write};

use chrono::{DateTime, Utc};

use super::describe_evidence;
use super::document::{fix_parts, role_name, Document, FixPart, Group, Ranked, Reported, Timeline};
use super::sanitize::terminal_safe;
use super::{plural, read_counts};

/// The page's Content-Security-Policy: nothing but inline styles and `data:` images.
pub const CSP: &str =
    "default-src 'none'; style-src 'unsafe-inline'; img-src data:; form-action 'none'; base-uri 'none'";

/// Colours of the causes in the chart, the legend and the finding cards (by events, most
/// first); causes past the palette share the last, neutral one.
const PALETTE: [&str; 16] = [
    "#4e79a7", "#f28e2b", "#e15759", "#76b7b2", "#59a14f", "#edc948", "#b07aa1", "#ff9da7",
    "#9c755f", "#a0cbe8", "#ffbe7d", "#8cd17d", "#d4a6c8", "#86bcb6", "#d37295", "#8c96a3",
];

/// `&`, `<`, `>`, `"` and `'` as character references: safe in text and in quoted attributes.
pub fn escape_html(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 16);
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            _ => out.push(c),
        }
    }
    out
}

/// A log string for the page: control and bidi characters made visible, then HTML-escaped.
fn h(s: &str) -> String {
    escape_html(&terminal_safe(s))
}

fn time(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%d %H:%M:%SZ").to_string()
}

fn minute(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%d %H:%MZ").to_string()
}

fn colour(doc: &Document, cause: &str) -> &'static str {
    let i = doc
        .timeline
        .series
        .iter()
        .position(|s| s.cause == cause)
        .unwrap_or(PALETTE.len() - 1);
    PALETTE[i.min(PALETTE.len() - 1)]
}

const STYLE: &str = r#"
:root{--bg:#f4f6f8;--card:#fff;--fg:#1b2027;--muted:#5d6773;--line:#dfe3e8;--soft:#edf0f3;--code:#f5f7f9;--accent:#2f6fd0;--new:#b93a0b;--new-bg:#fdebe1;--warn:#7a5400;--warn-bg:#fff6d6;--warn-line:#e8c463;--shadow:0 1px 2px rgba(20,30,45,.05),0 2px 6px rgba(20,30,45,.05)}
@media (prefers-color-scheme:dark){:root{--bg:#0e1115;--card:#161a20;--fg:#e4e8ed;--muted:#98a2ae;--line:#2a3139;--soft:#20262e;--code:#101419;--accent:#6aa7ff;--new:#ff9b63;--new-bg:#3b2217;--warn:#f0cd6a;--warn-bg:#2e260f;--warn-line:#7c6218;--shadow:none}}
*{box-sizing:border-box}
html{-webkit-text-size-adjust:100%;text-size-adjust:100%}
body{margin:0;background:var(--bg);color:var(--fg);font:15px/1.55 system-ui,-apple-system,"Segoe UI",Roboto,"Helvetica Neue",Arial,sans-serif}
main{max-width:980px;margin:0 auto;padding:28px 16px 56px}
p,li,td,th,h1,h2{overflow-wrap:anywhere}
code,pre{font-family:ui-monospace,SFMono-Regular,"SF Mono",Menlo,Consolas,"Liberation Mono",monospace;font-size:.84em}
code{background:var(--code);border:1px solid var(--line);border-radius:5px;padding:.05em .35em;overflow-wrap:anywhere}
pre{background:var(--code);border:1px solid var(--line);border-radius:8px;padding:10px 12px;margin:8px 0;overflow-x:auto;line-height:1.45}
pre code{background:none;border:0;padding:0;font-size:1em;overflow-wrap:normal}
h1{font-size:1.65rem;line-height:1.2;margin:.15em 0 .25em;letter-spacing:-.01em}
h2{font-size:1.15rem;margin:34px 0 12px}
.eyebrow{margin:0;color:var(--muted);font-size:.8rem;font-weight:600;letter-spacing:.08em;text-transform:uppercase}
.window{margin:0;color:var(--muted)}
.ok{color:#1f883d}
.cards{display:grid;grid-template-columns:repeat(auto-fit,minmax(118px,1fr));gap:10px;margin-top:20px}
.card,.panel,.group,.table-wrap{background:var(--card);border:1px solid var(--line);border-radius:12px;box-shadow:var(--shadow)}
.card{padding:12px 14px}
.card .num{display:block;font-size:1.65rem;font-weight:650;line-height:1.2;font-variant-numeric:tabular-nums}
.card .lbl{color:var(--muted);font-size:.84rem}
.card.new .num{color:var(--new)}
.card.quiet .num{color:var(--muted)}
.tops{display:grid;grid-template-columns:repeat(auto-fit,minmax(250px,1fr));gap:10px;margin-top:10px}
.panel{padding:12px 14px}
.panel h2,.label{margin:0 0 6px;font-size:.76rem;font-weight:650;text-transform:uppercase;letter-spacing:.07em;color:var(--muted)}
.rank{list-style:none;margin:0;padding:0}
.rank li{display:grid;grid-template-columns:1fr auto;gap:3px 10px;padding:5px 0}
.rank .name{overflow-wrap:anywhere;font-size:.9rem}
.rank .n{font-variant-numeric:tabular-nums;color:var(--muted);font-size:.9rem}
.rank .bar{grid-column:1/-1;height:4px;border-radius:2px;background:var(--soft);overflow:hidden}
.rank .bar i{display:block;height:100%;width:var(--w);background:var(--c,var(--accent));border-radius:2px}
.chart{margin:0;padding:14px 14px 12px}
.chart svg{display:block;width:100%;height:170px;color:var(--muted)}
.axis{display:flex;justify-content:space-between;gap:8px;color:var(--muted);font-size:.76rem;margin-top:4px}
.scale{color:var(--muted);font-size:.76rem;margin:0 0 4px}
.legend{list-style:none;padding:0;margin:12px 0 0;display:flex;flex-wrap:wrap;gap:4px 16px;font-size:.84rem}
.legend i,.dot{display:inline-block;width:10px;height:10px;border-radius:3px;margin-right:6px;background:var(--c);vertical-align:-1px}
.legend b{font-weight:600;color:var(--muted);margin-left:4px}
.group{border-left:5px solid var(--c,var(--line));padding:14px 18px;margin:12px 0}
.group>header{display:flex;flex-wrap:wrap;align-items:center;gap:6px 10px}
.group h3{flex-basis:100%;margin:4px 0 0;font-size:1.12rem;line-height:1.3;overflow-wrap:anywhere}
.group h3 .repo{color:var(--muted);font-weight:500}
.count{margin-left:auto;font-weight:650;font-variant-numeric:tabular-nums}
.cause{font-size:.8rem}
.badge{font-size:.7rem;font-weight:700;text-transform:uppercase;letter-spacing:.06em;border-radius:999px;padding:.2em .65em}
.badge.new{background:var(--new-bg);color:var(--new)}
.badge.recurring{background:var(--soft);color:var(--muted)}
.meta{margin:2px 0 0;color:var(--muted);font-size:.86rem}
.finding{margin-top:12px}
.finding+.finding{border-top:1px solid var(--line);padding-top:12px}
.finding h4{margin:0 0 6px;font-size:.9rem}
dl.facts{display:grid;grid-template-columns:max-content minmax(0,1fr);gap:4px 14px;margin:0 0 10px;font-size:.88rem}
dl.facts dt{color:var(--muted)}
dl.facts dd{margin:0;min-width:0}
.why{margin:10px 0}
.fix{background:var(--soft);border-radius:10px;padding:10px 12px;margin-top:10px}
.fix p{margin:4px 0}
details{margin-top:8px;font-size:.88rem}
summary{cursor:pointer;color:var(--muted)}
details ul{margin:6px 0;padding-left:20px}
.table-wrap{overflow-x:auto}
table{border-collapse:collapse;width:100%;font-size:.86rem}
th,td{text-align:left;padding:8px 12px;border-bottom:1px solid var(--line);vertical-align:top}
th{color:var(--muted);font-weight:600;font-size:.76rem;text-transform:uppercase;letter-spacing:.05em}
tr:last-child td{border-bottom:0}
td.num{text-align:right;font-variant-numeric:tabular-nums}
td.t,td.c code{white-space:nowrap}
td.s{min-width:12em}
.alert{border:1px solid var(--warn-line);background:var(--warn-bg);color:var(--fg);border-radius:10px;padding:10px 14px;margin:14px 0 0}
.alert b{color:var(--warn)}
.note{color:var(--muted);margin:14px 0 0}
.empty{padding:28px 18px;text-align:center;font-size:1.05rem}
footer{color:var(--muted);font-size:.8rem;margin-top:40px;border-top:1px solid var(--line);padding-top:12px}
@media (max-width:560px){main{padding:18px 12px 40px}h1{font-size:1.35rem}.cards{grid-template-columns:repeat(2,minmax(0,1fr))}.group{padding:12px 14px}dl.facts{gap:4px 10px;font-size:.84rem}pre{font-size:.78em}.card .num{font-size:1.4rem}.chart svg{height:130px}}
"#;

/// Writes the HTML report.
pub fn write<W: Write>(w: &mut W, doc: &Document) -> io::Result<()> {
    let s = &doc.summary;
    writeln!(
        w,
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">"
    )?;
    writeln!(
        w,
        "<meta http-equiv=\"Content-Security-Policy\" content=\"{}\">",
        escape_html(CSP)
    )?;
    writeln!(
        w,
        "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n<meta name=\"color-scheme\" content=\"light dark\">\n<meta name=\"referrer\" content=\"no-referrer\">"
    )?;
    writeln!(
        w,
        "<title>trailwhy report · {} → {}</title>",
        minute(doc.since),
        minute(doc.until)
    )?;
    writeln!(w, "<style>{STYLE}</style>\n</head>\n<body>\n<main>")?;

    writeln!(
        w,
        "<header id=\"summary\">\n<p class=\"eyebrow\">trailwhy report</p>"
    )?;
    if s.findings == 0 {
        writeln!(w, "<h1>No failures in the window</h1>")?;
    } else {
        writeln!(
            w,
            "<h1>{} · {} new</h1>",
            plural(s.findings as u64, "finding", "findings"),
            s.new
        )?;
    }
    writeln!(
        w,
        "<p class=\"window\">{} → {} · generated {}</p>\n</header>",
        minute(doc.since),
        minute(doc.until),
        time(doc.generated_at)
    )?;
    if let Some(i) = &doc.scan.integrity {
        writeln!(
            w,
            "<p class=\"integrity\"><strong>{}</strong></p>",
            h(&i.line())
        )?;
    }
    write_alerts(w, doc)?;

    writeln!(w, "<section class=\"cards\" aria-label=\"summary\">")?;
    let show_stopped = doc.state.as_ref().is_some_and(|st| !st.first_run) || s.stopped > 0;
    let show_suppressed = !doc.rules.is_empty() || s.suppressed_findings > 0;
    let mut cards: Vec<(&str, u64, &str)> = vec![
        ("", s.failed_events, "failed events"),
        ("", s.findings as u64, "findings"),
        (if s.new > 0 { "new" } else { "quiet" }, s.new as u64, "new"),
        ("quiet", s.recurring as u64, "recurring"),
    ];
    if show_stopped {
        cards.push(("quiet", s.stopped as u64, "stopped"));
    }
    if show_suppressed {
        cards.push(("quiet", s.suppressed_findings as u64, "suppressed"));
    }
    for (class, n, label) in cards {
        writeln!(
            w,
            "<div class=\"card {class}\"><span class=\"num\">{n}</span><span class=\"lbl\">{label}</span></div>"
        )?;
    }
    writeln!(w, "</section>")?;

    if s.findings == 0 {
        writeln!(
            w,
            "<div class=\"panel empty\"><span class=\"ok\">✓</span> No failures in the window{}.</div>",
            if s.suppressed_findings > 0 {
                " apart from the suppressed ones below"
            } else {
                ""
            }
        )?;
        if let Some(sentence) = doc.outside_window() {
            writeln!(w, "<p class=\"meta\">{}.</p>", h(&sentence))?;
        }
    } else {
        writeln!(w, "<section class=\"tops\">")?;
        write_rank(w, doc, "Top causes", &s.top_causes, Rank::Cause)?;
        write_rank(w, doc, "Top repositories", &s.top_repositories, Rank::Plain)?;
        write_rank(w, doc, "Top roles", &s.top_roles, Rank::Role)?;
        writeln!(w, "</section>")?;
        write_timeline(w, doc, &doc.timeline)?;
        writeln!(w, "<section id=\"findings\">\n<h2>Findings</h2>")?;
        for (i, g) in doc.groups.iter().enumerate() {
            write_group(w, doc, i + 1, g)?;
        }
        writeln!(w, "</section>")?;
    }
    write_stopped(w, doc)?;
    write_suppressed(w, doc)?;
    writeln!(
        w,
        "<footer>{} · trailwhy {}</footer>",
        read_counts(&doc.scan.scan),
        env!("CARGO_PKG_VERSION")
    )?;
    writeln!(w, "</main>\n</body>\n</html>")
}

fn write_alerts<W: Write>(w: &mut W, doc: &Document) -> io::Result<()> {
    if doc.scan.partial {
        writeln!(
            w,
            "<p class=\"alert\"><b>Partial scan.</b> {} could not be read, {} read only in part{}; findings may be missing.</p>",
            plural(doc.scan.scan.files_unreadable, "input", "inputs"),
            doc.scan.scan.files_partly_read,
            if doc.scan.scan.interrupted {
                " and the scan was interrupted"
            } else {
                ""
            }
        )?;
    }
    for o in doc.expired_rules() {
        writeln!(
            w,
            "<p class=\"alert\"><b>Suppression rule {} expired</b> ({}): it no longer suppresses anything; it matches {} ({}). Reason: {}</p>",
            o.rule.rule,
            h(o.rule.expires.as_deref().unwrap_or("")),
            plural(o.matched_findings as u64, "finding", "findings"),
            plural(o.matched_events, "event", "events"),
            h(&o.rule.reason)
        )?;
    }
    if let Some(st) = doc.state.as_ref().filter(|st| st.first_run) {
        writeln!(
            w,
            "<p class=\"note\">First run with state file <code>{}</code>: every finding is new.</p>",
            h(&st.file)
        )?;
    }
    Ok(())
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Rank {
    Cause,
    Role,
    Plain,
}

fn write_rank<W: Write>(
    w: &mut W,
    doc: &Document,
    title: &str,
    list: &[Ranked],
    kind: Rank,
) -> io::Result<()> {
    let max = list.iter().map(|r| r.events).max().unwrap_or(1).max(1);
    writeln!(
        w,
        "<div class=\"panel\"><h2>{title}</h2><ol class=\"rank\">"
    )?;
    for r in list {
        let pct = r.events * 100 / max;
        let (name, c) = match kind {
            Rank::Cause => (
                format!("<code>{}</code>", h(&r.name)),
                format!(";--c:{}", colour(doc, &r.name)),
            ),
            Rank::Role => (
                format!(
                    "<span title=\"{}\">{}</span>",
                    h(&r.name),
                    h(&super::document::role_label(&r.name, list))
                ),
                String::new(),
            ),
            Rank::Plain => (h(&r.name), String::new()),
        };
        writeln!(
            w,
            "<li><span class=\"name\">{name}</span><span class=\"n\">{}</span><span class=\"bar\" style=\"--w:{pct}%{c}\"><i></i></span></li>",
            r.events
        )?;
    }
    writeln!(w, "</ol></div>")
}

/// A stacked bar chart: one bar per bucket, one colour per cause; tooltips via `<title>`.
fn write_timeline<W: Write>(w: &mut W, doc: &Document, t: &Timeline) -> io::Result<()> {
    const SLOT: usize = 12;
    const HEIGHT: u64 = 100;
    let n = t.totals.len();
    let max = t.totals.iter().copied().max().unwrap_or(0).max(1);
    let width = n * SLOT;
    writeln!(w, "<section id=\"timeline\">\n<h2>Timeline</h2>")?;
    writeln!(w, "<figure class=\"panel chart\">")?;
    writeln!(
        w,
        "<p class=\"scale\">failed events per {} · highest bar {}</p>",
        t.bucket_label(),
        max
    )?;
    writeln!(
        w,
        "<svg viewBox=\"0 0 {width} {HEIGHT}\" preserveAspectRatio=\"none\" role=\"img\" aria-label=\"failed events per {} by cause\">",
        t.bucket_label()
    )?;
    for y in [0, HEIGHT / 2] {
        writeln!(
            w,
            "<line x1=\"0\" x2=\"{width}\" y1=\"{y}\" y2=\"{y}\" stroke=\"currentColor\" stroke-opacity=\".25\" stroke-dasharray=\"3 3\" vector-effect=\"non-scaling-stroke\"/>"
        )?;
    }
    writeln!(
        w,
        "<line x1=\"0\" x2=\"{width}\" y1=\"{HEIGHT}\" y2=\"{HEIGHT}\" stroke=\"currentColor\" stroke-opacity=\".5\" vector-effect=\"non-scaling-stroke\"/>"
    )?;
    for i in 0..n {
        let mut y = HEIGHT as f64;
        let x = i * SLOT + 2;
        for s in &t.series {
            let c = s.counts[i];
            if c == 0 {
                continue;
            }
            let hgt = c as f64 * HEIGHT as f64 / max as f64;
            y -= hgt;
            writeln!(
                w,
                "<rect x=\"{x}\" y=\"{y:.2}\" width=\"{}\" height=\"{hgt:.2}\" fill=\"{}\"><title>{}: {} · {}</title></rect>",
                SLOT - 4,
                colour(doc, &s.cause),
                h(&s.cause),
                plural(c, "event", "events"),
                minute(t.bucket_start(i))
            )?;
        }
    }
    writeln!(w, "</svg>")?;
    writeln!(
        w,
        "<div class=\"axis\"><span>{}</span><span>{}</span><span>{}</span></div>",
        minute(t.start),
        minute(t.bucket_start(n / 2)),
        minute(t.end)
    )?;
    writeln!(w, "<ul class=\"legend\">")?;
    for s in &t.series {
        writeln!(
            w,
            "<li><i style=\"--c:{}\"></i>{}<b>{}</b></li>",
            colour(doc, &s.cause),
            h(&s.cause),
            s.total
        )?;
    }
    writeln!(w, "</ul>\n</figure>\n</section>")
}

fn write_group<W: Write>(w: &mut W, doc: &Document, n: usize, g: &Group) -> io::Result<()> {
    let status = g.status();
    writeln!(
        w,
        "<article class=\"group\" id=\"finding-{n}\" style=\"--c:{}\">\n<header>",
        colour(doc, g.cause.code())
    )?;
    writeln!(
        w,
        "<span class=\"badge {0}\">{0}</span><code class=\"cause\">{1}</code><span class=\"count\">{2}</span>",
        status.label(),
        h(g.cause.code()),
        plural(g.events, "event", "events")
    )?;
    writeln!(
        w,
        "<h3><span class=\"role\">{}</span> <span class=\"repo\">· {}</span></h3>",
        h(g.role_arn.as_deref().map_or("unknown role", role_name)),
        h(&g.repository)
    )?;
    let span = if g.first_seen == g.last_seen {
        time(g.first_seen)
    } else {
        format!("{} → {}", time(g.first_seen), time(g.last_seen))
    };
    writeln!(
        w,
        "<p class=\"meta\">{span}{}</p>\n</header>",
        if g.findings.len() > 1 {
            format!(" · {} findings", g.findings.len())
        } else {
            String::new()
        }
    )?;
    let several = g.findings.len() > 1;
    for (i, r) in g.findings.iter().enumerate() {
        write_finding(w, r, several.then_some((n, i + 1)))?;
    }
    writeln!(w, "</article>")
}

fn write_finding<W: Write>(
    w: &mut W,
    r: &Reported,
    number: Option<(usize, usize)>,
) -> io::Result<()> {
    let f = &r.finding;
    writeln!(
        w,
        "<div class=\"finding\" data-fingerprint=\"{}\">",
        h(&r.fingerprint)
    )?;
    if let Some((g, i)) = number {
        writeln!(
            w,
            "<h4>{g}.{i} <span class=\"badge {0}\">{0}</span> {1}</h4>",
            r.status.label(),
            plural(f.count, "event", "events")
        )?;
    }
    writeln!(w, "<dl class=\"facts\">")?;
    if let Some(role) = &f.role_arn {
        writeln!(w, "<dt>role</dt><dd><code>{}</code></dd>", h(role))?;
    }
    if let Some(sub) = &f.sub {
        writeln!(w, "<dt>sub</dt><dd><code>{}</code></dd>", h(sub))?;
    }
    if let Some(aud) = &f.aud {
        writeln!(w, "<dt>aud</dt><dd><code>{}</code></dd>", h(aud))?;
    }
    let mut call = format!("<code>{}</code> {}", h(&f.event_name), h(&f.error_code));
    if !f.regions.is_empty() {
        call.push_str(&format!(" · {}", h(&f.regions.join(", "))));
    }
    writeln!(w, "<dt>call</dt><dd>{call}</dd>")?;
    if &*f.action != "sts:AssumeRoleWithWebIdentity" {
        writeln!(w, "<dt>action</dt><dd><code>{}</code></dd>", h(&f.action))?;
    }
    if let Some(res) = f
        .resource
        .as_deref()
        .filter(|x| Some(*x) != f.role_arn.as_deref())
    {
        writeln!(w, "<dt>resource</dt><dd><code>{}</code></dd>", h(res))?;
    }
    if number.is_some() {
        let span = if f.first_seen == f.last_seen {
            time(f.first_seen)
        } else {
            format!("{} → {}", time(f.first_seen), time(f.last_seen))
        };
        writeln!(w, "<dt>seen</dt><dd>{span}</dd>")?;
    }
    if let Some(first) = f.event_ids.first() {
        // the finding lists its first IDs; it counts every event
        let more = (f.count as usize).max(f.event_ids.len()).saturating_sub(1);
        writeln!(
            w,
            "<dt>event</dt><dd><code>{}</code>{}</dd>",
            h(&first.to_string()),
            if more > 0 {
                format!(" +{more} more")
            } else {
                String::new()
            }
        )?;
    }
    writeln!(w, "</dl>")?;
    writeln!(w, "<p class=\"why\">{}</p>", h(&f.explanation))?;
    if let Some(note) = super::integrity_note(f) {
        writeln!(w, "<p class=\"integrity\">{}</p>", h(&note))?;
    }
    if !f.fix.is_empty() {
        writeln!(w, "<div class=\"fix\"><p class=\"label\">Fix</p>")?;
        for part in fix_parts(&f.fix) {
            match part {
                FixPart::Text(t) => {
                    let t = t.trim();
                    if !t.is_empty() {
                        writeln!(w, "<p>{}</p>", h(t))?;
                    }
                }
                FixPart::Json(j) => {
                    let lines: Vec<String> = j.lines().map(h).collect();
                    writeln!(w, "<pre><code>{}</code></pre>", lines.join("\n"))?;
                }
            }
        }
        writeln!(w, "</div>")?;
    }
    if !f.evidence.is_empty() {
        writeln!(
            w,
            "<details><summary>Evidence ({})</summary><ul>",
            f.evidence.len()
        )?;
        for e in &f.evidence {
            writeln!(w, "<li><code>{}</code></li>", h(&describe_evidence(e)))?;
        }
        writeln!(w, "</ul></details>")?;
    }
    writeln!(w, "</div>")
}

fn write_stopped<W: Write>(w: &mut W, doc: &Document) -> io::Result<()> {
    if doc.stopped.is_empty() {
        return Ok(());
    }
    writeln!(
        w,
        "<section id=\"stopped\">\n<h2>Stopped</h2>\n<p class=\"meta\">In the previous report, not in this one.</p>\n<div class=\"table-wrap\"><table>\n<thead><tr><th>cause</th><th>role</th><th>repository</th><th>sub</th><th>last seen</th><th>first reported</th></tr></thead><tbody>"
    )?;
    for s in &doc.stopped {
        let r = &s.remembered;
        writeln!(
            w,
            "<tr><td class=\"c\"><code>{}</code></td><td>{}</td><td>{}</td><td class=\"s\"><code>{}</code></td><td class=\"t\">{}</td><td class=\"t\">{}</td></tr>",
            h(&r.cause),
            h(r.role_arn.as_deref().map_or("unknown", role_name)),
            h(&r.repository),
            h(r.sub.as_deref().unwrap_or("")),
            minute(r.last_seen),
            r.first_reported.format("%Y-%m-%d")
        )?;
    }
    writeln!(w, "</tbody></table></div>\n</section>")
}

fn write_suppressed<W: Write>(w: &mut W, doc: &Document) -> io::Result<()> {
    if doc.rules.is_empty() && doc.suppressed.is_empty() {
        return Ok(());
    }
    writeln!(
        w,
        "<section id=\"suppressed\">\n<h2>Suppressed</h2>\n<p class=\"meta\">{} ({}) matched a suppression rule{}.</p>",
        plural(doc.summary.suppressed_findings as u64, "finding", "findings"),
        plural(doc.summary.suppressed_events, "event", "events"),
        doc.suppression_file
            .as_deref()
            .map(|f| format!(" of <code>{}</code>", h(f)))
            .unwrap_or_default()
    )?;
    if !doc.suppressed.is_empty() {
        writeln!(
            w,
            "<div class=\"table-wrap\"><table>\n<thead><tr><th>cause</th><th>role</th><th>repository</th><th>sub</th><th>events</th><th>rule</th><th>reason</th></tr></thead><tbody>"
        )?;
        for s in &doc.suppressed {
            let f = &s.reported.finding;
            writeln!(
                w,
                "<tr><td class=\"c\"><code>{}</code></td><td>{}</td><td>{}</td><td class=\"s\"><code>{}</code></td><td class=\"num\">{}</td><td class=\"num\">{}</td><td>{}</td></tr>",
                h(f.cause.code()),
                h(f.role_arn.as_deref().map_or("unknown", role_name)),
                h(&s.reported.repository),
                h(f.sub.as_deref().unwrap_or("")),
                f.count,
                s.rule,
                h(&s.reason)
            )?;
        }
        writeln!(w, "</tbody></table></div>")?;
    }
    writeln!(
        w,
        "<h2>Suppression rules</h2>\n<div class=\"table-wrap\"><table>\n<thead><tr><th>rule</th><th>matches</th><th>expires</th><th>reason</th></tr></thead><tbody>"
    )?;
    for o in &doc.rules {
        let expires = match (&o.rule.expires, o.expired) {
            (Some(e), true) => format!("<b>expired</b> {}", h(e)),
            (Some(e), false) => h(e),
            (None, _) => "never".to_owned(),
        };
        writeln!(
            w,
            "<tr><td class=\"num\">{}</td><td>{}{} ({})</td><td>{}</td><td>{}</td></tr>",
            o.rule.rule,
            if o.expired { "would match " } else { "" },
            plural(o.matched_findings as u64, "finding", "findings"),
            plural(o.matched_events, "event", "events"),
            expires,
            h(&o.rule.reason)
        )?;
    }
    writeln!(w, "</tbody></table></div>\n</section>")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_markup_and_quotes() {
        assert_eq!(
            escape_html(r#"<script>x</script> "a" 'b' & c"#),
            "&lt;script&gt;x&lt;/script&gt; &quot;a&quot; &#39;b&#39; &amp; c"
        );
        assert_eq!(h("a\u{202e}b\n"), "a\\u{202e}b\\u{a}");
    }

    #[test]
    fn status_label_is_the_badge_class() {
        assert_eq!(crate::report::document::Status::New.label(), "new");
    }
}
