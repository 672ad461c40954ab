//! Writing `query` rows: NDJSON, an aligned table, or CSV, to a writer handed in.
//!
//! Rows arrive already rendered by the workers ([`Row`]); this module only lays them out.
//! Table text passes through [`terminal_safe`]; CSV follows RFC 4180 and neutralises
//! spreadsheet formulas. It keeps a bounded number of rows (the first [`TABLE_SAMPLE`] of a
//! table, to size its columns), never the whole output.

use std::io::{self, Write};

use jaq_json::Val;
use tabled::builder::Builder;
use tabled::settings::object::Columns;
use tabled::settings::{Padding, Style, Width};
use tabled::Table;

use crate::report::sanitize::terminal_safe;

/// Compact JSON text, like `jq -c` (invalid UTF-8 replaced).
pub fn to_json(v: &Val) -> String {
    let mut buf = Vec::with_capacity(256);
    super::json::write(&mut buf, v);
    match String::from_utf8(buf) {
        Ok(s) => s,
        Err(e) => String::from_utf8_lossy(e.as_bytes()).into_owned(),
    }
}

/// What a cell of a table or CSV shows: a string as itself, null as nothing, anything else
/// as its JSON text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Cell {
    Null,
    Text(String),
}

impl Cell {
    pub fn of(v: Option<&Val>) -> Cell {
        match v {
            None | Some(Val::Null) => Cell::Null,
            Some(Val::TStr(s)) => Cell::Text(String::from_utf8_lossy(s).into_owned()),
            Some(other) => Cell::Text(to_json(other)),
        }
    }

    /// The cell for a value given as JSON text (group keys are kept as JSON text).
    pub fn of_json(text: &str) -> Cell {
        match serde_json::from_str::<serde_json::Value>(text) {
            Ok(serde_json::Value::Null) => Cell::Null,
            Ok(serde_json::Value::String(s)) => Cell::Text(s),
            _ => Cell::Text(text.to_owned()),
        }
    }
}

/// Output formats of `query`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// One JSON value per line
    Ndjson,
    /// Aligned columns for --fields and --group-by, one JSON value per line otherwise
    Table,
    /// RFC 4180 CSV with a header row
    Csv,
}

/// One output row, rendered by a worker for the chosen format.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Row {
    /// A JSON value as one line of compact JSON.
    Json(String),
    /// The cells of a row with known columns (`--fields`, `--group-by`).
    Cells(Vec<Cell>),
    /// An object whose keys become CSV columns (CSV of `--jq` output without `--fields`).
    Object(Vec<(String, Cell)>),
    /// A value that is not an object (CSV of `--jq` output without `--fields`).
    Value(Cell),
}

/// Rows of a table used to size its columns; later rows reuse those widths.
pub const TABLE_SAMPLE: usize = 1000;

/// Widest column a later block of a table is padded to; longer cells are printed whole and
/// widen their column.
const MAX_WIDTH: usize = 60;

pub struct RowWriter<W: Write> {
    out: W,
    format: Format,
    /// Known columns, else learned from the first CSV row.
    columns: Option<Vec<String>>,
    header_written: bool,
    pending: Vec<Vec<String>>,
    widths: Option<Vec<usize>>,
    /// The width a table must fit (the terminal's, or `COLUMNS`); `None`: as wide as it is.
    fit: Option<usize>,
    /// CSV rows that did not fit the columns of the first row.
    pub misfits: u64,
}

impl<W: Write> RowWriter<W> {
    pub fn new(out: W, format: Format, columns: Option<Vec<String>>) -> RowWriter<W> {
        RowWriter {
            out,
            format,
            columns,
            header_written: false,
            pending: Vec::new(),
            widths: None,
            fit: None,
            misfits: 0,
        }
    }

    /// Tables fit `width` columns: long cells are cut with `…`, and when not even a few
    /// characters of every column fit, each row is printed as `column: value` lines.
    pub fn fit_to(mut self, width: Option<usize>) -> RowWriter<W> {
        self.fit = width;
        self
    }

    pub fn row(&mut self, row: Row) -> io::Result<()> {
        match (self.format, row) {
            (Format::Ndjson, Row::Json(line)) => writeln!(self.out, "{line}"),
            (Format::Table, Row::Json(line)) => writeln!(self.out, "{}", terminal_safe(&line)),
            (Format::Table, Row::Cells(cells)) => self.table_row(cells),
            (Format::Csv, Row::Cells(cells)) => self.csv_cells(&cells),
            (Format::Csv, Row::Object(pairs)) => self.csv_object(pairs),
            (Format::Csv, Row::Value(cell)) => {
                if self.columns.is_none() {
                    self.columns = Some(vec!["value".to_owned()]);
                }
                if self.columns.as_deref() != Some(&["value".to_owned()]) {
                    self.misfits += 1;
                    return Ok(());
                }
                self.csv_cells(&[cell])
            }
            // a worker renders for the writer's format; anything else is a bug, shown as JSON
            (_, other) => writeln!(self.out, "{other:?}"),
        }
    }

    /// Writes what is still held (a short table) and flushes.
    pub fn finish(&mut self) -> io::Result<()> {
        if self.format == Format::Table && !self.pending.is_empty() {
            self.flush_table()?;
        }
        if self.format == Format::Csv && !self.header_written {
            if let Some(cols) = self.columns.clone() {
                self.csv_header(&cols)?;
            }
        }
        self.out.flush()
    }

    /// NDJSON rows already written as lines by a worker.
    pub fn lines(&mut self, bytes: &[u8]) -> io::Result<()> {
        self.out.write_all(bytes)
    }

    pub fn write_line(&mut self, line: &str) -> io::Result<()> {
        writeln!(self.out, "{line}")
    }

    fn table_row(&mut self, cells: Vec<Cell>) -> io::Result<()> {
        let texts: Vec<String> = cells
            .into_iter()
            .map(|c| match c {
                Cell::Null => "-".to_owned(),
                Cell::Text(t) => terminal_safe(&t).into_owned(),
            })
            .collect();
        self.pending.push(texts);
        if self.pending.len() >= TABLE_SAMPLE {
            self.flush_table()?;
        }
        Ok(())
    }

    /// Lays out the rows held (with the header, the first time) as one `tabled` table:
    /// no borders, two spaces between columns, each column at least as wide as in the
    /// first block (so later blocks line up with it unless a cell is wider).
    fn flush_table(&mut self) -> io::Result<()> {
        if let Some(fit) = self.fit {
            let columns = self
                .pending
                .iter()
                .map(Vec::len)
                .chain(self.columns.iter().map(Vec::len))
                .max()
                .unwrap_or(0);
            if columns > 0 && columns * (MIN_FIT + 2) > fit + 2 {
                return self.vertical(fit);
            }
        }
        let mut builder = Builder::new();
        if self.widths.is_none() {
            let header = self.columns.clone().unwrap_or_default();
            builder.push_record(header.iter().map(|c| terminal_safe(c).into_owned()));
        }
        let rows = std::mem::take(&mut self.pending);
        let columns = rows
            .iter()
            .map(Vec::len)
            .chain([builder.count_columns()])
            .max()
            .unwrap_or(0);
        for row in rows {
            let missing = columns.saturating_sub(row.len());
            builder.push_record(
                row.into_iter()
                    .chain(std::iter::repeat_n(String::new(), missing)),
            );
        }
        let mut table = builder.build();
        table.with(Style::empty()).with(Padding::new(0, 2, 0, 0));
        table.modify(Columns::last(), Padding::new(0, 0, 0, 0));
        let fit = self.fit;
        let widths = self
            .widths
            .get_or_insert_with(|| {
                let natural: Vec<usize> = (0..columns).map(|i| column_width(&table, i)).collect();
                match fit {
                    Some(fit) => fitted(&natural, fit),
                    None => natural,
                }
            })
            .clone();
        for (i, w) in widths.iter().enumerate().take(columns) {
            if fit.is_some() {
                table.modify(Columns::one(i), Width::truncate(*w).suffix("…"));
                table.modify(Columns::one(i), Width::increase(*w));
            } else {
                table.modify(Columns::one(i), Width::increase((*w).min(MAX_WIDTH)));
            }
        }
        for line in table.to_string().lines() {
            writeln!(self.out, "{}", line.trim_end())?;
        }
        Ok(())
    }

    /// Each held row as `column: value` lines (values cut to the width), rows apart by a
    /// blank line: for tables too wide to fit even cut.
    fn vertical(&mut self, fit: usize) -> io::Result<()> {
        let names = self.columns.clone().unwrap_or_default();
        let label = names.iter().map(|n| n.chars().count()).max().unwrap_or(0);
        let rows = std::mem::take(&mut self.pending);
        for (r, row) in rows.iter().enumerate() {
            if r > 0 || self.header_written {
                writeln!(self.out)?;
            }
            for (i, value) in row.iter().enumerate() {
                let name = names
                    .get(i)
                    .map_or_else(|| format!("{i}"), |n| terminal_safe(n).into_owned());
                if label + 2 + MIN_FIT <= fit {
                    let room = fit - label - 2;
                    writeln!(self.out, "{name:>label$}  {}", cut(value, room))?;
                } else {
                    // names too long to stand beside their values: each on its own line
                    writeln!(self.out, "{name}")?;
                    writeln!(
                        self.out,
                        "  {}",
                        cut(value, fit.saturating_sub(2).max(MIN_FIT))
                    )?;
                }
            }
        }
        self.header_written = true;
        Ok(())
    }

    fn csv_header(&mut self, cols: &[String]) -> io::Result<()> {
        self.header_written = true;
        let cells: Vec<Cell> = cols.iter().map(|c| Cell::Text(c.clone())).collect();
        self.csv_line(&cells)
    }

    fn csv_cells(&mut self, cells: &[Cell]) -> io::Result<()> {
        if !self.header_written {
            let cols = self.columns.clone().unwrap_or_default();
            self.csv_header(&cols)?;
        }
        self.csv_line(cells)
    }

    fn csv_object(&mut self, pairs: Vec<(String, Cell)>) -> io::Result<()> {
        let cols = match &self.columns {
            Some(c) => c.clone(),
            None => {
                let c: Vec<String> = pairs.iter().map(|(k, _)| k.clone()).collect();
                self.columns = Some(c.clone());
                c
            }
        };
        if pairs.iter().any(|(k, _)| !cols.contains(k)) {
            self.misfits += 1;
        }
        let mut cells = vec![Cell::Null; cols.len()];
        for (k, cell) in pairs {
            if let Some(i) = cols.iter().position(|c| *c == k) {
                cells[i] = cell;
            }
        }
        self.csv_cells(&cells)
    }

    fn csv_line(&mut self, cells: &[Cell]) -> io::Result<()> {
        let mut line = String::new();
        for (i, cell) in cells.iter().enumerate() {
            if i > 0 {
                line.push(',');
            }
            if let Cell::Text(t) = cell {
                push_csv_field(&mut line, t);
            }
        }
        line.push_str("\r\n");
        self.out.write_all(line.as_bytes())
    }
}

/// The fewest characters of a column a fitted table shows.
const MIN_FIT: usize = 6;

/// Column widths that fit `fit` with two spaces between columns: the widest column is
/// narrowed first, none below [`MIN_FIT`] (or its natural width, when narrower).
fn fitted(natural: &[usize], fit: usize) -> Vec<usize> {
    let mut widths = natural.to_vec();
    let gaps = 2 * widths.len().saturating_sub(1);
    while widths.iter().sum::<usize>() + gaps > fit {
        let Some((i, w)) = widths
            .iter()
            .enumerate()
            .max_by_key(|(_, w)| **w)
            .map(|(i, w)| (i, *w))
        else {
            break;
        };
        if w <= MIN_FIT {
            break;
        }
        widths[i] = w - 1;
    }
    widths
}

/// `text` cut to `width` characters, the last one `…` when cut.
fn cut(text: &str, width: usize) -> String {
    if text.chars().count() <= width {
        return text.to_owned();
    }
    let mut out: String = text.chars().take(width.saturating_sub(1)).collect();
    out.push('…');
    out
}

/// The widest cell of column `i` (header included), in terminal columns.
fn column_width(table: &Table, i: usize) -> usize {
    let records = table.get_records();
    records
        .iter()
        .filter_map(|row| row.get(i))
        .map(|cell| tabled::grid::util::string::get_text_width(cell.as_ref()))
        .max()
        .unwrap_or(0)
}

/// One CSV field: a leading `'` when a spreadsheet would read it as a formula (`=`, `+`,
/// `-`, `@`, tab, CR), then RFC 4180 quoting when it holds `,`, `"`, CR or LF.
pub fn push_csv_field(line: &mut String, text: &str) {
    let formula = text.starts_with(['=', '+', '-', '@', '\t', '\r']);
    let quote = text.contains([',', '"', '\r', '\n']);
    if quote {
        line.push('"');
    }
    if formula {
        line.push('\'');
    }
    if quote {
        line.push_str(&text.replace('"', "\"\""));
        line.push('"');
    } else {
        line.push_str(text);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn csv(text: &str) -> String {
        let mut s = String::new();
        push_csv_field(&mut s, text);
        s
    }

    #[test]
    fn csv_quoting_and_formulas() {
        assert_eq!(csv("plain"), "plain");
        assert_eq!(csv("a,b"), "\"a,b\"");
        assert_eq!(csv("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(csv("two\nlines"), "\"two\nlines\"");
        assert_eq!(
            csv("=HYPERLINK(\"http://x\",\"y\")"),
            "\"'=HYPERLINK(\"\"http://x\"\",\"\"y\"\")\""
        );
        assert_eq!(csv("+1"), "'+1");
        assert_eq!(csv("-2"), "'-2");
        assert_eq!(csv("@SUM(A1)"), "'@SUM(A1)");
        assert_eq!(csv("\tx"), "'\tx");
        assert_eq!(csv("\rx"), "\"'\rx\"");
        assert_eq!(csv(""), "");
    }

    #[test]
    fn table_aligns_and_escapes() {
        let mut w = RowWriter::new(
            Vec::new(),
            Format::Table,
            Some(vec!["name".into(), "count".into()]),
        );
        w.row(Row::Cells(vec![
            Cell::Text("a\x1b[31m".into()),
            Cell::Text("12".into()),
        ]))
        .unwrap();
        w.row(Row::Cells(vec![Cell::Null, Cell::Text("3".into())]))
            .unwrap();
        w.finish().unwrap();
        let text = String::from_utf8(w.out).unwrap();
        assert_eq!(
            text,
            "name         count\na\\u{1b}[31m  12\n-            3\n"
        );
    }

    #[test]
    fn csv_columns_from_the_first_object() {
        let mut w = RowWriter::new(Vec::new(), Format::Csv, None);
        w.row(Row::Object(vec![
            ("a".into(), Cell::Text("1".into())),
            ("b".into(), Cell::Null),
        ]))
        .unwrap();
        w.row(Row::Object(vec![
            ("b".into(), Cell::Text("x,y".into())),
            ("c".into(), Cell::Text("lost".into())),
        ]))
        .unwrap();
        w.finish().unwrap();
        assert_eq!(w.misfits, 1);
        assert_eq!(
            String::from_utf8(w.out).unwrap(),
            "a,b\r\n1,\r\n,\"x,y\"\r\n"
        );
    }
}
