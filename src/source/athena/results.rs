//! An Athena query's rows, from either of the two places they can be read: the CSV file
//! Athena writes to `<OutputLocation>/<QueryExecutionId>.csv` (one GET, the fast way), or
//! `GetQueryResults` pages (1,000 rows a page, the header row first on the first page).
//!
//! Athena's CSV quotes every value (`"a","b"`), doubles quotes inside values, may hold line
//! breaks inside quotes, and writes SQL NULL as an empty field without quotes: a value is
//! `None` exactly when it was NULL. Both readers yield rows as `Vec<Option<String>>`,
//! header first.

use std::io::{self, BufRead};

use anyhow::{bail, Result};

/// One result row: a value per column, `None` for SQL NULL.
pub type Row = Vec<Option<String>>;

/// Reads Athena's CSV, one row at a time (RFC 4180, with NULL told from `""`).
pub struct CsvRows<R> {
    input: R,
    /// Line number of the next row's start (1-based), for messages.
    line: u64,
    done: bool,
}

impl<R: BufRead> CsvRows<R> {
    pub fn new(input: R) -> CsvRows<R> {
        CsvRows {
            input,
            line: 1,
            done: false,
        }
    }

    fn next_byte(&mut self) -> io::Result<Option<u8>> {
        let buf = self.input.fill_buf()?;
        let Some(&b) = buf.first() else {
            return Ok(None);
        };
        self.input.consume(1);
        Ok(Some(b))
    }

    /// The next row, or `None` at the end of the input.
    pub fn next_row(&mut self) -> Result<Option<Row>> {
        if self.done {
            return Ok(None);
        }
        let start = self.line;
        let mut row: Row = Vec::new();
        let mut field: Vec<u8> = Vec::new();
        // whether the field being read began with a quote
        let mut quoted = false;
        let mut in_quotes = false;
        let mut at_field_start = true;
        let mut any = false;
        let finish = |field: &mut Vec<u8>, quoted: bool, row: &mut Row| -> Result<()> {
            let bytes = std::mem::take(field);
            if !quoted && bytes.is_empty() {
                row.push(None);
            } else {
                match String::from_utf8(bytes) {
                    Ok(s) => row.push(Some(s)),
                    Err(_) => bail!("line {start}: a value is not UTF-8"),
                }
            }
            Ok(())
        };
        loop {
            let Some(b) = self.next_byte()? else {
                self.done = true;
                if in_quotes {
                    bail!("line {start}: a quoted value is not closed before the end");
                }
                if !any {
                    return Ok(None);
                }
                finish(&mut field, quoted, &mut row)?;
                return Ok(Some(row));
            };
            any = true;
            if in_quotes {
                if b == b'"' {
                    // a doubled quote is a quote; a single one closes the value
                    let next = self.input.fill_buf()?.first().copied();
                    if next == Some(b'"') {
                        self.input.consume(1);
                        field.push(b'"');
                    } else {
                        in_quotes = false;
                    }
                } else {
                    if b == b'\n' {
                        self.line += 1;
                    }
                    field.push(b);
                }
                continue;
            }
            match b {
                b'"' if at_field_start => {
                    quoted = true;
                    in_quotes = true;
                    at_field_start = false;
                }
                b'"' => bail!("line {start}: a quote inside an unquoted value"),
                b',' => {
                    finish(&mut field, quoted, &mut row)?;
                    quoted = false;
                    at_field_start = true;
                }
                b'\r' if self.input.fill_buf()?.first() == Some(&b'\n') => {}
                b'\n' => {
                    self.line += 1;
                    finish(&mut field, quoted, &mut row)?;
                    return Ok(Some(row));
                }
                _ if quoted => bail!("line {start}: text after a quoted value"),
                _ => {
                    at_field_start = false;
                    field.push(b);
                }
            }
        }
    }
}

/// The rows of one `GetQueryResults` page as [`Row`]s (a datum without `VarCharValue` is
/// NULL).
pub fn page_rows(rows: &[aws_sdk_athena::types::Row]) -> Vec<Row> {
    rows.iter()
        .map(|r| {
            r.data()
                .iter()
                .map(|d| d.var_char_value().map(str::to_owned))
                .collect()
        })
        .collect()
}

/// Checks a result's header row against the columns the statement selects, and gives the
/// position of each wanted column in the rows. Names match without regard to case: Athena
/// reports every column name in lower case.
pub fn column_positions(header: &Row, wanted: &[String]) -> Result<Vec<usize>> {
    wanted
        .iter()
        .map(|w| {
            header
                .iter()
                .position(|h| h.as_deref().is_some_and(|h| h.eq_ignore_ascii_case(w)))
                .ok_or_else(|| {
                    let got: Vec<&str> =
                        header.iter().map(|h| h.as_deref().unwrap_or("")).collect();
                    anyhow::anyhow!(
                        "the query's result has no column '{w}' (its columns: {})",
                        got.join(", ")
                    )
                })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rows(text: &str) -> Result<Vec<Row>> {
        let mut r = CsvRows::new(text.as_bytes());
        let mut out = Vec::new();
        while let Some(row) = r.next_row()? {
            out.push(row);
        }
        Ok(out)
    }

    fn s(v: &str) -> Option<String> {
        Some(v.to_owned())
    }

    #[test]
    fn athena_csv_as_athena_writes_it() {
        // every value quoted, quotes doubled, NULL as an empty unquoted field, a line break
        // and a comma inside values
        let text = "\"eventid\",\"$path\",\"requestparameters\"\n\
                    \"e-1\",\"s3://b/AWSLogs/1/x.json.gz\",\"{\"\"roleArn\"\":\"\"a,b\"\"}\"\n\
                    \"e-2\",,\"\"\n\
                    \"e-3\",\"two\nlines\",\"\"\"\"\n";
        assert_eq!(
            rows(text).unwrap(),
            vec![
                vec![s("eventid"), s("$path"), s("requestparameters")],
                vec![
                    s("e-1"),
                    s("s3://b/AWSLogs/1/x.json.gz"),
                    s("{\"roleArn\":\"a,b\"}")
                ],
                vec![s("e-2"), None, s("")],
                vec![s("e-3"), s("two\nlines"), s("\"")],
            ]
        );
    }

    #[test]
    fn crlf_and_a_missing_final_newline() {
        assert_eq!(
            rows("\"a\",\"b\"\r\n\"1\",\r\n\"2\",\"3\"").unwrap(),
            vec![
                vec![s("a"), s("b")],
                vec![s("1"), None],
                vec![s("2"), s("3")]
            ]
        );
        assert!(rows("").unwrap().is_empty());
    }

    #[test]
    fn malformed_csv_names_the_line() {
        let e = rows("\"a\"\n\"unclosed\n").unwrap_err().to_string();
        assert!(e.contains("line 2") && e.contains("not closed"), "{e}");
        let e = rows("\"a\"\n\"x\"y\n").unwrap_err().to_string();
        assert!(
            e.contains("line 2") && e.contains("after a quoted value"),
            "{e}"
        );
        // moto's CSV does not double quotes: such a file is refused, not misread
        let e = rows("\"a\"\n\"{\"k\":1}\"\n").unwrap_err().to_string();
        assert!(e.contains("line 2"), "{e}");
    }

    #[test]
    fn header_positions() {
        let header = vec![s("$path"), s("eventid"), s("useridentity.accesskeyid")];
        assert_eq!(
            column_positions(&header, &["userIdentity.accessKeyId".to_owned()]).unwrap(),
            vec![2]
        );
        assert_eq!(
            column_positions(&header, &["eventid".to_owned(), "$path".to_owned()]).unwrap(),
            vec![1, 0]
        );
        let e = column_positions(&header, &["x".to_owned()])
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("no column 'x'") && e.contains("$path, eventid,"),
            "{e}"
        );
    }

    /// Rows written as Athena writes them: every value quoted, quotes doubled, NULL empty.
    fn athena_csv(rows: &[Row]) -> String {
        let mut out = String::new();
        for r in rows {
            let fields: Vec<String> = r
                .iter()
                .map(|v| {
                    v.as_ref()
                        .map_or(String::new(), |t| format!("\"{}\"", t.replace('"', "\"\"")))
                })
                .collect();
            out.push_str(&fields.join(","));
            out.push('\n');
        }
        out
    }

    proptest::proptest! {
        /// Any rows Athena could write (quotes, commas, line breaks, empty strings, NULLs,
        /// any Unicode) read back exactly.
        #[test]
        fn athena_csv_round_trips(rows in proptest::collection::vec(
            proptest::collection::vec(proptest::option::of("(\\PC|[\",\r\n])*"), 1..5),
            0..6,
        )) {
            // a row of one NULL is an empty line, which CSV cannot tell from no row
            let rows: Vec<Row> = rows.into_iter().filter(|r| !(r.len() == 1 && r[0].is_none())).collect();
            proptest::prop_assert_eq!(super::tests::rows(&athena_csv(&rows)).unwrap(), rows);
        }

        /// Arbitrary bytes never panic: rows or an error naming a line.
        #[test]
        fn arbitrary_text_is_rows_or_a_named_error(text in "(\\PC|[\",\r\n])*") {
            if let Err(e) = super::tests::rows(&text) {
                proptest::prop_assert!(e.to_string().starts_with("line "), "{}", e);
            }
        }
    }

    #[test]
    fn get_query_results_pages() {
        use aws_sdk_athena::types::{Datum, Row as ARow};
        let row = ARow::builder()
            .data(Datum::builder().var_char_value("e-1").build())
            .data(Datum::builder().build())
            .build();
        assert_eq!(page_rows(&[row]), vec![vec![s("e-1"), None]]);
    }
}
