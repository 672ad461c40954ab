//! Programs that only copy parts of the record — no `--jq` at all, `.`, `.a.b`,
//! `{eventName, who: .userIdentity.arn}` — written straight from the record's bytes to the
//! output line, without building a value: the bytes are checked and re-spelt as jq's compact
//! output spells them (whitespace dropped, escapes and numbers as jaq writes them, secrets
//! redacted), in one pass.
//!
//! Whatever this path does not handle the same way — a key with escapes, a key repeated in
//! an object, invalid UTF-8, anything not strict JSON, a path through a value that is not an
//! object (jq's error) — makes it give up on the record, and the record takes the value
//! path (parse, redact, jq, write), which is the reference: tests hold the two to the same
//! lines.
//!
//! This module does not decide when a program is a projection (`jq::projection` does) nor
//! where lines go.

use super::json::{self, Defer, Parsed, Parser};
use crate::event::redact::{is_secret_key, keeps_json_value};

/// What a projection program outputs for each record (exactly one value).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Projection {
    /// The value at a path of constant keys: `.` (no keys), `.a.b`.
    Path(Vec<String>),
    /// An object of such values: `{a, b: .c.d, "e f": .}` (keys distinct).
    Object(Vec<(String, Vec<String>)>),
}

impl Projection {
    /// Appends the output of the program for `record` to `out`, as compact JSON (no
    /// newline). False, with `out` unchanged, when the record must take the value path.
    pub fn write(&self, record: &[u8], out: &mut Vec<u8>) -> bool {
        let mark = out.len();
        let done = read_whole(record, |r| self.write_from(r, out)).is_ok();
        if !done {
            out.truncate(mark);
        }
        done
    }

    fn write_from(&self, r: &mut Reader<'_>, out: &mut Vec<u8>) -> Parsed<()> {
        match self {
            Projection::Path(path) if path.is_empty() => r.emit(out)?,
            Projection::Path(path) => {
                let mut slots = [None];
                let mut scratch = Vec::new();
                r.extract(&[(path, 0)], &mut scratch, &mut slots)?;
                put(out, &scratch, slots[0]);
            }
            Projection::Object(entries) => {
                let wants: Vec<(&[String], usize)> = entries
                    .iter()
                    .enumerate()
                    .map(|(slot, (_, path))| (path.as_slice(), slot))
                    .collect();
                let mut slots = vec![None; entries.len()];
                let mut scratch = Vec::new();
                r.extract(&wants, &mut scratch, &mut slots)?;
                out.push(b'{');
                for (i, ((key, _), slot)) in entries.iter().zip(&slots).enumerate() {
                    if i > 0 {
                        out.push(b',');
                    }
                    json::write_str(out, key.as_bytes());
                    out.push(b':');
                    put(out, &scratch, *slot);
                }
                out.push(b'}');
            }
        }
        Ok(())
    }
}

/// Reads `record` with `f`, which must consume its one value: the record must be UTF-8 and
/// hold nothing after that value but whitespace. `Err(Defer)` otherwise, and for anything
/// the fast reader leaves to the value path.
fn read_whole<T>(record: &[u8], f: impl FnOnce(&mut Reader<'_>) -> Parsed<T>) -> Parsed<T> {
    std::str::from_utf8(record).map_err(|_| Defer)?;
    let mut r = Reader {
        p: Parser::reader(record),
        keys: Vec::new(),
        copied: 0,
    };
    r.p.ws();
    let out = f(&mut r)?;
    r.p.ws();
    if r.p.i != record.len() {
        return Err(Defer);
    }
    Ok(out)
}

/// A six-bit hash of a key, for the filter of keys seen in an object.
fn key_hash(key: &[u8]) -> u32 {
    let mut word = [0; 8];
    let n = key.len().min(8);
    word[..n].copy_from_slice(&key[..n]);
    let last = key.last().copied().unwrap_or(0);
    let x = u64::from_le_bytes(word) ^ ((key.len() as u64) << 56) ^ (u64::from(last) << 48);
    // the top six bits of a multiplicative hash
    (x.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 58) as u32
}

/// The string at `path` (constant keys) of `record`, as the value path would hand it to jq
/// (redacted under a secret-named key), or `default` where the value is missing, null or
/// false (jq's `PATH // "TEXT"`); `None` for anything else, or a record the fast reader leaves
/// to the value path (then so must the caller).
pub fn string_at(record: &[u8], path: &[String], default: Option<&str>) -> Option<String> {
    let mut scratch = Vec::new();
    let slot = read_whole(record, |r| {
        let mut slots = [None];
        r.extract(&[(path, 0)], &mut scratch, &mut slots)?;
        Ok(slots[0])
    })
    .ok()?;
    let text = match slot {
        Some((a, b)) => &scratch[a..b],
        None => b"null",
    };
    match text {
        b"null" | b"false" => default.map(str::to_owned),
        [b'"', inner @ .., b'"'] if !inner.contains(&b'\\') => {
            std::str::from_utf8(inner).ok().map(str::to_owned)
        }
        [b'"', ..] => serde_json::from_slice::<String>(text).ok(),
        _ => None,
    }
}

/// A value written into `scratch`, or `null` for a path that is missing.
fn put(out: &mut Vec<u8>, scratch: &[u8], slot: Option<(usize, usize)>) {
    match slot {
        Some((a, b)) => out.extend_from_slice(&scratch[a..b]),
        None => out.extend_from_slice(b"null"),
    }
}

/// `event::redact::REDACTED` as JSON text.
const REDACTED_JSON: &[u8] = b"\"<redacted>\"";

struct Reader<'a> {
    p: Parser<'a>,
    /// Keys of the objects being read, innermost last (to find repeated keys).
    keys: Vec<(usize, usize)>,
    /// While a value is written: the record's bytes before this are in the output already.
    copied: usize,
}

impl Reader<'_> {
    /// Whether the value under the cursor is `null`.
    /// Whether the value under the cursor stays under a secret-named key (`null`, a boolean
    /// or a number: `event::redact::keeps_json_value`).
    fn at_kept(&self) -> bool {
        keeps_json_value(&self.p.b[self.p.i..])
    }

    /// Reads the key under the cursor (at its quote), up to its closing quote; its span in
    /// the record. Defers for a key with escapes or a key already seen in this object
    /// (its keys start at `keys_from`; `seen` is a one-word filter of them).
    fn key(&mut self, keys_from: usize, seen: &mut u64) -> Parsed<(usize, usize)> {
        if self.p.peek()? != b'"' {
            return Err(Defer);
        }
        let span = self.p.string_span()?;
        if span.escaped {
            return Err(Defer);
        }
        let b = self.p.b;
        let key = &b[span.start..span.end];
        let bit = 1u64 << key_hash(key);
        if *seen & bit != 0
            && self.keys[keys_from..]
                .iter()
                .any(|&(s, e)| e - s == key.len() && &b[s..e] == key)
        {
            return Err(Defer);
        }
        *seen |= bit;
        self.keys.push((span.start, span.end));
        Ok((span.start, span.end))
    }

    /// Writes the value under the cursor as jaq writes it, redacted. The output is the
    /// record's own text except at the few places jaq spells differently (whitespace,
    /// some escapes and numbers, DEL, secrets): the text between them is copied in runs.
    fn emit(&mut self, out: &mut Vec<u8>) -> Parsed<()> {
        self.copied = self.p.i;
        self.walk(out)?;
        self.copy_to(out, self.p.i);
        Ok(())
    }

    /// Copies the record's text up to `at`.
    fn copy_to(&mut self, out: &mut Vec<u8>, at: usize) {
        out.extend_from_slice(&self.p.b[self.copied..at]);
        self.copied = at;
    }

    /// Replaces the record's text from `from` to the cursor by what `write` writes.
    fn respell(&mut self, out: &mut Vec<u8>, from: usize, write: impl FnOnce(&mut Vec<u8>)) {
        self.copy_to(out, from);
        write(out);
        self.copied = self.p.i;
    }

    /// Skips whitespace, which jaq does not write.
    fn ws(&mut self, out: &mut Vec<u8>) {
        if let Some(b' ' | b'\t' | b'\n' | b'\r') = self.p.b.get(self.p.i) {
            let from = self.p.i;
            self.p.ws();
            self.respell(out, from, |_| {});
        }
    }

    /// After a member: true at the closing byte, false after a comma.
    fn comma_or(&mut self, out: &mut Vec<u8>, close: u8) -> Parsed<bool> {
        self.ws(out);
        let c = self.p.peek()?;
        self.p.i += 1;
        match c {
            b',' => Ok(false),
            c if c == close => Ok(true),
            _ => Err(Defer),
        }
    }

    fn walk(&mut self, out: &mut Vec<u8>) -> Parsed<()> {
        let b = self.p.b;
        match self.p.peek()? {
            b'{' => {
                self.p.enter()?;
                self.p.i += 1;
                let keys_from = self.keys.len();
                let mut seen = 0;
                self.ws(out);
                if self.p.peek()? == b'}' {
                    self.p.i += 1;
                } else {
                    loop {
                        self.ws(out);
                        let (ks, ke) = self.key(keys_from, &mut seen)?;
                        self.ws(out);
                        if self.p.peek()? != b':' {
                            return Err(Defer);
                        }
                        self.p.i += 1;
                        self.ws(out);
                        if is_secret_key(&b[ks..ke]) && !self.at_kept() {
                            let from = self.p.i;
                            self.p.skip()?;
                            self.respell(out, from, |o| o.extend_from_slice(REDACTED_JSON));
                        } else {
                            self.walk(out)?;
                        }
                        if self.comma_or(out, b'}')? {
                            break;
                        }
                    }
                }
                self.keys.truncate(keys_from);
                self.p.leave();
            }
            b'[' => {
                self.p.enter()?;
                self.p.i += 1;
                self.ws(out);
                if self.p.peek()? == b']' {
                    self.p.i += 1;
                } else {
                    loop {
                        self.ws(out);
                        self.walk(out)?;
                        if self.comma_or(out, b']')? {
                            break;
                        }
                    }
                }
                self.p.leave();
            }
            b'"' => {
                let open = self.p.i;
                if self.p.string_span()?.respell {
                    // jaq decodes the escapes; the writer spells the result
                    let v = jaq_json::read::parse_single(&b[open..self.p.i]).map_err(|_| Defer)?;
                    self.respell(out, open, |o| json::write(o, &v));
                }
            }
            b'n' | b't' | b'f' => self.p.skip()?,
            _ => {
                let start = self.p.number_span()?;
                let text = &b[start..self.p.i];
                let plain_int = text.len() <= 18
                    && text != b"-0"
                    && !text.iter().any(|c| matches!(c, b'.' | b'e' | b'E'));
                // an integer jaq keeps as a machine integer is written as it is spelt
                if !plain_int {
                    let n = jaq_json::read::parse_single_num(text).ok_or(Defer)?;
                    self.respell(out, start, |o| json::write(o, &jaq_json::Val::Num(n)));
                }
            }
        }
        Ok(())
    }

    /// For each `(path, slot)` of `wants`, writes the value at `path` below the value under
    /// the cursor into `scratch` and its span into `slots[slot]` (left `None` when the path
    /// is missing: `null`). Reads (and checks) the whole value.
    fn extract(
        &mut self,
        wants: &[(&[String], usize)],
        scratch: &mut Vec<u8>,
        slots: &mut [Option<(usize, usize)>],
    ) -> Parsed<()> {
        let start = self.p.i;
        let mut end = None;
        for &(_, slot) in wants.iter().filter(|(path, _)| path.is_empty()) {
            self.p.i = start;
            let from = scratch.len();
            self.emit(scratch)?;
            slots[slot] = Some((from, scratch.len()));
            end = Some(self.p.i);
        }
        let deeper: Vec<(&[String], usize)> = wants
            .iter()
            .filter(|(path, _)| !path.is_empty())
            .copied()
            .collect();
        if !deeper.is_empty() {
            self.p.i = start;
            match self.p.peek()? {
                b'{' => self.members(&deeper, scratch, slots)?,
                // `.a.b` of a null `.a` is null
                b'n' => self.p.literal(b"null")?,
                // indexing anything else is jq's error: the value path reports it
                _ => return Err(Defer),
            }
            end = Some(self.p.i);
        }
        match end {
            Some(e) => self.p.i = e,
            None => self.p.skip()?,
        }
        Ok(())
    }

    /// [`Self::extract`] on the members of the object under the cursor.
    fn members(
        &mut self,
        wants: &[(&[String], usize)],
        scratch: &mut Vec<u8>,
        slots: &mut [Option<(usize, usize)>],
    ) -> Parsed<()> {
        let b = self.p.b;
        self.p.enter()?;
        self.p.i += 1;
        let keys_from = self.keys.len();
        self.p.ws();
        if self.p.peek()? == b'}' {
            self.p.i += 1;
        } else {
            let mut seen = 0;
            loop {
                self.p.ws();
                let (ks, ke) = self.key(keys_from, &mut seen)?;
                self.p.expect(b':')?;
                self.p.ws();
                let key = &b[ks..ke];
                let here: Vec<(&[String], usize)> = wants
                    .iter()
                    .filter(|(path, _)| path[0].as_bytes() == key)
                    .map(|&(path, slot)| (&path[1..], slot))
                    .collect();
                if here.is_empty() {
                    self.p.skip()?;
                } else if is_secret_key(key) && !self.at_kept() {
                    // the value is "<redacted>": below it there is nothing to index
                    if here.iter().any(|(path, _)| !path.is_empty()) {
                        return Err(Defer);
                    }
                    self.p.skip()?;
                    for (_, slot) in here {
                        let from = scratch.len();
                        scratch.extend_from_slice(REDACTED_JSON);
                        slots[slot] = Some((from, scratch.len()));
                    }
                } else {
                    self.extract(&here, scratch, slots)?;
                }
                if self.p.comma_or(b'}')? {
                    break;
                }
            }
        }
        self.keys.truncate(keys_from);
        self.p.leave();
        Ok(())
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::query::jq::JqProgram;
    use crate::query::output::to_json;

    /// The lines of the value path: parse, redact, run the program, write.
    fn value_path(p: &JqProgram, record: &str) -> Result<Vec<String>, String> {
        let v = json::parse(record.as_bytes(), None)?;
        let mut out = Vec::new();
        let mut err = None;
        p.run(v, |r| {
            match r {
                Ok(v) => out.push(to_json(&v)),
                Err(e) => err = Some(e),
            }
            true
        });
        match err {
            Some(e) => Err(e),
            None => Ok(out),
        }
    }

    /// Checks the projection of `code` against the value path on `record`; true when the
    /// projection took the record.
    fn check(code: &str, record: &str) -> bool {
        let program = JqProgram::compile(code).unwrap();
        check_compiled(code, &program, record)
    }

    fn check_compiled(code: &str, program: &JqProgram, record: &str) -> bool {
        let proj = program.projection().unwrap_or_else(|| panic!("{code}"));
        let mut out = b"previous line\n".to_vec();
        let took = proj.write(record.as_bytes(), &mut out);
        let mine = String::from_utf8(out).unwrap();
        let Some(line) = mine.strip_prefix("previous line\n") else {
            panic!("{code}: the buffer's earlier contents changed: {mine}");
        };
        if took {
            let want =
                value_path(program, record).unwrap_or_else(|e| panic!("{code} {record}: {e}"));
            assert_eq!(vec![line.to_owned()], want, "{code} on {record}");
        } else {
            assert_eq!(line, "", "{code}: output left behind");
        }
        took
    }

    const REC: &str = r#" {"eventVersion":"1.08", "userIdentity" : {"type":"AssumedRole","arn":"arn:aws:sts::1:assumed-role/r/s","sessionContext":{"sessionIssuer":{"userName":"r"}}},
        "eventName":"AssumeRole","n":[1,-0,3.50,1e3,-12,123456789012345678901234,0.1E-2,true,false,null,[],{}],
        "requestParameters":{"roleArn":"arn:aws:iam::1:role/x","policy":"{\"Version\":\"2012-10-17\"}","token":null},
        "responseElements":{"credentials":{"accessKeyId":"ASIA","sessionToken":"SECRET","expiration":"x"}},
        "sessionToken":{"nested":"secret object"},"odd":"caf\u00e9 é ✓ \u007f del \/ slash","errorCode":null} "#;

    #[test]
    fn projections_write_what_the_value_path_writes() {
        for code in [
            ".",
            ".eventName",
            ".userIdentity.sessionContext.sessionIssuer.userName",
            ".userIdentity.missing.deeper",
            ".missing",
            ".errorCode.x",
            ".responseElements",
            ".responseElements.credentials.sessionToken",
            ".sessionToken",
            ".n",
            ".odd",
            r#".["requestParameters"]"#,
            ".userIdentity?.arn",
            "{eventName, userIdentity}",
            "{eventName, who: .userIdentity.arn, all: ., missing: .x.y, \"a b\": .n}",
            "{sessionToken, c: .responseElements.credentials, t: .requestParameters.token}",
            "{a: .userIdentity.type, b: .userIdentity.arn, c: .userIdentity}",
        ] {
            assert!(check(code, REC), "not taken: {code}");
        }
    }

    #[test]
    fn what_differs_takes_the_value_path() {
        for (code, record) in [
            // jq's error: indexing a string, an array, a redacted secret
            (".eventName.x", REC),
            (".n.x", REC),
            (".sessionToken.nested", REC),
            // a key with escapes, a repeated key
            (".", r#"{"\u0061":1}"#),
            (".", r#"{"a":1,"a":2}"#),
            (".a", r#"{"a":{"b":1,"b":2}}"#),
            // not strict JSON, or not UTF-8
            (".", r#"{"a":NaN}"#),
            (".a", r#"{"a":1,"b":tru}"#),
            (".", "{\"a\":\"\u{1}\"}"),
            (".", r#"{"a":"\ud83d\ude00"}"#),
            (".", r#"{"a":1} {"b":2}"#),
        ] {
            assert!(
                !check(code, record),
                "should take the value path: {code} {record}"
            );
        }
        let bad = b"{\"a\":\"\xff\"}";
        assert!(!Projection::Path(Vec::new()).write(bad, &mut Vec::new()));
    }

    /// A small deterministic generator of JSON texts full of what differs between
    /// spellings: whitespace, escapes, DEL, numbers, secrets, repeated keys.
    pub(crate) struct Gen(pub(crate) u64);

    impl Gen {
        fn next(&mut self, n: usize) -> usize {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            (self.0 % n as u64) as usize
        }

        fn pick<'a>(&mut self, xs: &[&'a str]) -> &'a str {
            xs[self.next(xs.len())]
        }

        pub(crate) fn ws(&mut self) -> &'static str {
            self.pick(&["", "", "", "", " ", "\n  ", "\t"])
        }

        pub(crate) fn value(&mut self, depth: usize) -> String {
            let kind = if depth > 3 {
                2 + self.next(3)
            } else {
                self.next(5)
            };
            match kind {
                0 => {
                    let n = self.next(5);
                    let members: Vec<String> = (0..n)
                        .map(|_| {
                            let key = self.pick(&[
                                "\"a\"",
                                "\"b\"",
                                "\"c\"",
                                "\"token\"",
                                "\"dbPassword\"",
                                "\"sessionToken\"",
                                "\"eventName\"",
                                "\"x\\u0079\"",
                                "\"\"",
                            ]);
                            let v = self.value(depth + 1);
                            format!(
                                "{}{key}{}:{}{v}{}",
                                self.ws(),
                                self.ws(),
                                self.ws(),
                                self.ws()
                            )
                        })
                        .collect();
                    format!("{{{}{}}}", members.join(","), self.ws())
                }
                1 => {
                    let n = self.next(4);
                    let items: Vec<String> = (0..n)
                        .map(|_| format!("{}{}", self.ws(), self.value(depth + 1)))
                        .collect();
                    format!("[{}{}]", items.join(","), self.ws())
                }
                2 => {
                    let parts: Vec<&str> = (0..self.next(4))
                        .map(|_| {
                            self.pick(&[
                                "plain",
                                "\\\"",
                                "\\\\",
                                "\\/",
                                "\\n",
                                "\\b\\f\\r\\t",
                                "\\u0041",
                                "\\u00e9",
                                "\\u001f",
                                "\\u007f",
                                "\u{7f}",
                                "é✓",
                                "\u{202e}",
                                "\\u20ac",
                                " ",
                            ])
                        })
                        .collect();
                    format!("\"{}\"", parts.concat())
                }
                3 => self
                    .pick(&[
                        "0",
                        "-0",
                        "12",
                        "-7",
                        "3.50",
                        "1e3",
                        "1E+2",
                        "-0.0",
                        "0.1e-2",
                        "123456789012345678",
                        "1234567890123456789",
                        "99999999999999999999999",
                    ])
                    .to_owned(),
                _ => self.pick(&["null", "true", "false"]).to_owned(),
            }
        }
    }

    #[test]
    fn generated_records_agree_with_the_value_path() {
        let mut g = Gen(0x2545_F491_4F6C_DD1D);
        let programs: Vec<(&str, JqProgram)> = [
            ".",
            ".a",
            ".a.b",
            ".token",
            "{a, z: .c.a, t: .token, all: .}",
        ]
        .into_iter()
        .map(|code| (code, JqProgram::compile(code).unwrap()))
        .collect();
        let (mut taken, mut total) = (0, 0);
        for _ in 0..3000 {
            let mut record = g.value(0);
            if !record.starts_with('{') {
                record = format!("{{\"a\":{record}}}");
            }
            let record = format!("{}{record}{}", g.ws(), g.ws());
            // the fast parser against the reference
            let want = crate::query::json::tests::reference(record.as_bytes(), None);
            let got = json::parse(record.as_bytes(), None);
            match (&want, &got) {
                (Ok(w), Ok(g)) => assert_eq!(to_json(w), to_json(g), "{record}"),
                (Err(_), Err(_)) => {}
                _ => panic!("{record}: {want:?} / {got:?}"),
            }
            for (code, program) in &programs {
                total += 1;
                if check_compiled(code, program, &record) {
                    taken += 1;
                }
            }
        }
        // most records are taken by the projection (the rest: repeated or escaped keys,
        // paths through non-objects)
        assert!(taken * 2 > total, "{taken} of {total}");
    }

    #[test]
    fn redacted_text_is_the_shared_one() {
        let text = serde_json::to_string(crate::event::redact::REDACTED).unwrap();
        assert_eq!(REDACTED_JSON, text.as_bytes());
    }

    #[test]
    fn repeated_keys_in_other_objects_are_fine() {
        // the repeated key is inside a value that is skipped, or in a sibling object
        assert!(check(".a", r#"{"a":1,"b":{"x":1,"x":2}}"#));
        assert!(check(".", r#"{"a":{"x":1},"b":{"x":2}}"#));
        assert!(check(".", r#"[{"x":1},{"x":2}]"#));
    }
}
