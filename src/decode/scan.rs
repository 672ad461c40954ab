//! Byte-level scanning primitives for the record splitter: the end of a string, of a scalar,
//! or of a nested value, found resumably so a value may span any number of buffer refills.
//!
//! This is not a parser. It tracks string state (with `\"` and `\\` escapes), bracket pairing
//! and nesting depth, and nothing else: numbers, literals, commas inside a value and UTF-8 are
//! left to whoever decodes the record. Nesting is tracked on a heap stack, never by recursion.

use memchr::memchr2;

/// Bytes that matter outside strings while walking through a nested value.
static STRUCTURAL: [bool; 256] = byte_table(b"\"{}[]");

/// Bytes that may continue a number or a `true`/`false`/`null` literal.
static SCALAR: [bool; 256] =
    byte_table(b"0123456789+-.eEabcdfghijklmnopqrstuvwxyzABCDFGHIJKLMNOPQRSTUVWXYZ");

const fn byte_table(members: &[u8]) -> [bool; 256] {
    let mut table = [false; 256];
    let mut i = 0;
    while i < members.len() {
        table[members[i] as usize] = true;
        i += 1;
    }
    table
}

/// JSON insignificant whitespace.
pub(crate) fn is_whitespace(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | b'\r')
}

/// First byte of a number or a literal.
pub(crate) fn starts_scalar(b: u8) -> bool {
    matches!(b, b'-' | b'0'..=b'9' | b't' | b'f' | b'n')
}

/// Index of the first byte at or after `pos` that cannot continue a scalar, if any.
pub(crate) fn scalar_end(buf: &[u8], pos: usize) -> Option<usize> {
    buf[pos..]
        .iter()
        .position(|&b| !SCALAR[usize::from(b)])
        .map(|i| pos + i)
}

/// Finds the closing quote of a string whose body continues at `pos`.
///
/// Returns the index just past the closing quote, or `None` when `buf` ends first; then
/// `escape` says whether the last byte was an unfinished backslash escape, and must be passed
/// back unchanged when scanning resumes in the refilled buffer.
pub(crate) fn string_end(buf: &[u8], mut pos: usize, escape: &mut bool) -> Option<usize> {
    if *escape {
        if pos >= buf.len() {
            return None;
        }
        pos += 1;
        *escape = false;
    }
    while let Some(i) = memchr2(b'"', b'\\', &buf[pos..]) {
        let at = pos + i;
        if buf[at] == b'"' {
            return Some(at + 1);
        }
        if at + 1 >= buf.len() {
            *escape = true;
            return None;
        }
        pos = at + 2;
    }
    None
}

/// Why a nested scan stopped early.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Fault {
    /// A `}` closed a `[` or a `]` closed a `{`.
    Mismatch { at: usize, found: u8 },
    /// An opening bracket would pass the depth limit.
    TooDeep { at: usize },
}

/// Resumable walk through one value that opened with `{`, `[` or `"`.
#[derive(Debug, Default)]
pub(crate) struct NestScan {
    stack: Vec<u8>,
    in_string: bool,
    escape: bool,
}

impl NestScan {
    /// Starts a value whose first byte (`{`, `[` or `"`) has just been consumed.
    pub(crate) fn start(&mut self, first: u8) {
        self.stack.clear();
        self.escape = false;
        self.in_string = first == b'"';
        if !self.in_string {
            self.stack.push(first);
        }
    }

    /// Forgets any value in progress.
    pub(crate) fn reset(&mut self) {
        self.stack.clear();
        self.in_string = false;
        self.escape = false;
    }

    /// Continues the walk at `*pos`.
    ///
    /// Returns the index just past the value when it closes, or `None` after consuming all of
    /// `buf`. `outer` is the nesting depth around the value and `max_depth` the limit for
    /// `outer` plus the value's own depth. `*pos` is left where scanning stopped.
    pub(crate) fn run(
        &mut self,
        buf: &[u8],
        pos: &mut usize,
        outer: usize,
        max_depth: usize,
    ) -> Result<Option<usize>, Fault> {
        let mut p = *pos;
        loop {
            if self.in_string {
                match string_end(buf, p, &mut self.escape) {
                    Some(after) => {
                        self.in_string = false;
                        p = after;
                        if self.stack.is_empty() {
                            *pos = p;
                            return Ok(Some(p));
                        }
                    }
                    None => {
                        *pos = buf.len();
                        return Ok(None);
                    }
                }
            }
            let Some(i) = buf[p..].iter().position(|&b| STRUCTURAL[usize::from(b)]) else {
                *pos = buf.len();
                return Ok(None);
            };
            let at = p + i;
            let b = buf[at];
            p = at + 1;
            match b {
                b'"' => self.in_string = true,
                b'{' | b'[' => {
                    if outer + self.stack.len() >= max_depth {
                        *pos = at;
                        return Err(Fault::TooDeep { at });
                    }
                    self.stack.push(b);
                }
                _ => {
                    let opener = if b == b'}' { b'{' } else { b'[' };
                    if self.stack.pop() != Some(opener) {
                        *pos = at;
                        return Err(Fault::Mismatch { at, found: b });
                    }
                    if self.stack.is_empty() {
                        *pos = p;
                        return Ok(Some(p));
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn string_end_handles_escapes_split_anywhere() {
        let body = br#"a\"b\\"rest"#;
        assert_eq!(string_end(body, 0, &mut false), Some(7));
        for cut in 0..7 {
            let mut escape = false;
            let first = string_end(&body[..cut], 0, &mut escape);
            assert_eq!(first, None, "cut {cut}");
            assert_eq!(string_end(body, cut, &mut escape), Some(7), "cut {cut}");
        }
    }

    #[test]
    fn nested_scan_ignores_brackets_in_strings_and_counts_depth() {
        let value = br#"{"a":"}]\"{[","b":[{"c":"\\"}]} tail"#;
        let mut scan = NestScan::default();
        scan.start(b'{');
        let mut pos = 1;
        assert_eq!(scan.run(value, &mut pos, 0, 3), Ok(Some(31)));
        scan.start(b'{');
        let mut pos = 1;
        assert_eq!(
            scan.run(value, &mut pos, 0, 2),
            Err(Fault::TooDeep { at: 19 })
        );
    }

    #[test]
    fn nested_scan_reports_mismatched_brackets() {
        let mut scan = NestScan::default();
        scan.start(b'[');
        let mut pos = 1;
        assert_eq!(
            scan.run(b"[1,{]", &mut pos, 0, 9),
            Err(Fault::Mismatch { at: 4, found: b']' })
        );
    }
}
