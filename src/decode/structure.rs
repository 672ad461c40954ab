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
        // Blocks before this index are left to the byte-wise walk (one held a backslash).
        let mut bytewise_until = p;
        loop {
            if p >= bytewise_until && !self.in_string_with_escape() && !self.stack.is_empty() {
                match self.run_blocks(buf, &mut p, outer, max_depth) {
                    Ok(Some(end)) => {
                        *pos = end;
                        return Ok(Some(end));
                    }
                    Ok(None) => bytewise_until = p + BLOCK,
                    Err(fault) => {
                        *pos = p;
                        return Err(fault);
                    }
                }
            }
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
            if b == b'"' {
                self.in_string = true;
                continue;
            }
            match self.bracket(b, at, outer, max_depth) {
                Ok(false) => {}
                Ok(true) => {
                    *pos = p;
                    return Ok(Some(p));
                }
                Err(fault) => {
                    *pos = at;
                    return Err(fault);
                }
            }
        }
    }

    fn in_string_with_escape(&self) -> bool {
        self.in_string && self.escape
    }

    /// Takes a `{`, `[`, `}` or `]` outside strings at `at`; true when it closes the value.
    #[inline]
    fn bracket(&mut self, b: u8, at: usize, outer: usize, max_depth: usize) -> Result<bool, Fault> {
        if b == b'{' || b == b'[' {
            if outer + self.stack.len() >= max_depth {
                return Err(Fault::TooDeep { at });
            }
            self.stack.push(b);
            return Ok(false);
        }
        let opener = if b == b'}' { b'{' } else { b'[' };
        if self.stack.pop() != Some(opener) {
            return Err(Fault::Mismatch { at, found: b });
        }
        Ok(self.stack.is_empty())
    }

    /// Walks whole 64-byte blocks from `*p` with bit masks: the quotes give which bytes are
    /// inside strings (a running XOR), and only the brackets outside strings are visited.
    /// Stops at the first block holding a backslash (escapes are left to the byte-wise walk)
    /// or too close to the end of `buf`, with `*p` at that block. Returns the end of the value
    /// if it closes in a block. Same results, errors and positions as the byte-wise walk.
    fn run_blocks(
        &mut self,
        buf: &[u8],
        p: &mut usize,
        outer: usize,
        max_depth: usize,
    ) -> Result<Option<usize>, Fault> {
        while let Some(block) = buf.get(*p..*p + BLOCK) {
            let Some(m) = block_masks(block) else {
                return Ok(None);
            };
            if m.backslash != 0 {
                return Ok(None);
            }
            // Bit i: inside a string after byte i (a quote toggles; brackets are never quotes).
            let mut inside = prefix_xor(m.quote);
            if self.in_string {
                inside = !inside;
            }
            let mut brackets = m.bracket & !inside;
            while brackets != 0 {
                let i = brackets.trailing_zeros() as usize;
                brackets &= brackets - 1;
                let at = *p + i;
                let closed = self
                    .bracket(buf[at], at, outer, max_depth)
                    .inspect_err(|_| {
                        *p = at;
                    })?;
                if closed {
                    self.in_string = false;
                    return Ok(Some(at + 1));
                }
            }
            self.in_string = inside >> 63 == 1;
            *p += BLOCK;
        }
        Ok(None)
    }
}

/// Bytes per block of the mask walk.
const BLOCK: usize = 64;

/// Bit `i` set where byte `i` of a block is a quote, a backslash, or a bracket.
struct Masks {
    quote: u64,
    backslash: u64,
    bracket: u64,
}

/// Bit `i` of the result is the XOR of bits `0..=i` of `x`.
fn prefix_xor(mut x: u64) -> u64 {
    x ^= x << 1;
    x ^= x << 2;
    x ^= x << 4;
    x ^= x << 8;
    x ^= x << 16;
    x ^= x << 32;
    x
}

/// The masks of a 64-byte block with SSE2 (always present on x86_64).
#[cfg(target_arch = "x86_64")]
#[inline]
fn block_masks(block: &[u8]) -> Option<Masks> {
    use safe_arch::{
        bitor_m128i, cmp_eq_mask_i8_m128i, load_unaligned_m128i, move_mask_i8_m128i,
        set_splat_i8_m128i,
    };
    let quote = set_splat_i8_m128i(b'"' as i8);
    let backslash = set_splat_i8_m128i(b'\\' as i8);
    // `{`/`[` and `}`/`]` differ only in bit 5: one comparison each with that bit set.
    let fold = set_splat_i8_m128i(0x20);
    let open = set_splat_i8_m128i(b'{' as i8);
    let close = set_splat_i8_m128i(b'}' as i8);
    let mut m = Masks {
        quote: 0,
        backslash: 0,
        bracket: 0,
    };
    for (k, chunk) in block.chunks_exact(16).enumerate() {
        let bytes: &[u8; 16] = chunk.try_into().ok()?;
        let v = load_unaligned_m128i(bytes);
        let folded = bitor_m128i(v, fold);
        let bits = |x| u64::from(move_mask_i8_m128i(x) as u16) << (16 * k);
        m.quote |= bits(cmp_eq_mask_i8_m128i(v, quote));
        m.backslash |= bits(cmp_eq_mask_i8_m128i(v, backslash));
        m.bracket |= bits(bitor_m128i(
            cmp_eq_mask_i8_m128i(folded, open),
            cmp_eq_mask_i8_m128i(folded, close),
        ));
    }
    Some(m)
}

/// Elsewhere the byte-wise walk does all the work.
#[cfg(not(target_arch = "x86_64"))]
fn block_masks(_block: &[u8]) -> Option<Masks> {
    None
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

    /// Runs the walk over `data` (its first byte opens the value) handed over in growing
    /// prefixes of `step` bytes: with `step` < 64 no whole block is ever ahead, so this is the
    /// byte-wise walk alone.
    fn walk(data: &[u8], step: usize, max_depth: usize) -> (Result<Option<usize>, Fault>, usize) {
        let mut scan = NestScan::default();
        scan.start(data[0]);
        let mut pos = 1;
        let mut end = 1;
        loop {
            end = (end + step).min(data.len());
            let r = scan.run(&data[..end], &mut pos, 0, max_depth);
            if !matches!(r, Ok(None)) || end == data.len() {
                return (r, pos);
            }
        }
    }

    proptest::proptest! {
        /// The block walk (whole buffer at once) agrees with the byte-wise walk on anything:
        /// valid or not, escapes anywhere, strings across blocks.
        #[test]
        fn block_walk_equals_byte_walk(
            body in proptest::collection::vec(proptest::sample::select(
                b"{}[]\"\\a,: xyz0123456789".to_vec()), 0..400),
            opener in proptest::sample::select(b"{[\"".to_vec()),
            depth in 2usize..20,
        ) {
            let mut data = vec![opener];
            data.extend(body);
            let whole = walk(&data, data.len(), depth);
            let bytewise = walk(&data, 50, depth);
            proptest::prop_assert_eq!(whole, bytewise);
        }

        /// The same on record-like text, where most blocks hold no backslash.
        #[test]
        fn block_walk_equals_byte_walk_on_records(
            fields in proptest::collection::vec(("[a-zA-Z]{1,12}", "[a-zA-Z0-9 {}\\[\\]:,.]{0,40}", 0u8..6), 1..40),
        ) {
            let mut text = String::from("{");
            for (i, (k, v, shape)) in fields.iter().enumerate() {
                if i > 0 {
                    text.push(',');
                }
                match shape {
                    0 => text.push_str(&format!("\"{k}\":{{\"{k}\":\"{v}\"}}")),
                    1 => text.push_str(&format!("\"{k}\":[\"{v}\",1,true]")),
                    2 => text.push_str(&format!("\"{k}\":\"{v}\\\"q\\\\\"")),
                    _ => text.push_str(&format!("\"{k}\":\"{v}\"")),
                }
            }
            text.push_str("} tail");
            let data = text.as_bytes();
            let whole = walk(data, data.len(), 64);
            proptest::prop_assert_eq!(whole.0, Ok(Some(text.len() - 5)));
            proptest::prop_assert_eq!(whole, walk(data, 50, 64));
        }
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
