//! Records as jaq values straight from their bytes, redacted as they are built, and values
//! back to compact JSON text: the hot path of `query`.
//!
//! [`parse`] builds the same [`Val`] that jaq-json's parser followed by the redaction walk
//! of [`super::value::redact`] would build, with far less work: one pass, no hashing growth
//! (objects are collected first and sized once), object keys of the CloudTrail schema shared
//! instead of allocated, strings without escapes copied once, secrets replaced as their
//! key is read. It accepts strict JSON in valid UTF-8 only, and defers everything else (a
//! string with a surrogate escape, a control character, a non-JSON literal…) to the
//! reference path in [`super::value`], so what it returns never differs from that path;
//! tests hold the two to the same results. [`write`] is jaq-json's compact writer (the
//! format `jq -c` prints) into a byte buffer, without the formatting machinery.
//!
//! This module does not decide which records or fields are read; it only converts.

use std::io::Write as _;

use bytes::Bytes;
use jaq_json::{Map, Rc, Val};

use super::value::Wanted;
use crate::event::redact::{is_secret_key, REDACTED};

/// Parses one record and redacts its secrets. With `wanted`, only those parts are built, in
/// the record's order; the others are checked as JSON but not built.
pub fn parse(bytes: &[u8], wanted: Option<&Wanted>) -> Result<Val, String> {
    let fast = std::str::from_utf8(bytes)
        .ok()
        .and_then(|_| Parser::new(bytes, wanted.is_none()).record(wanted).ok());
    if let Some(v) = fast {
        return Ok(v);
    }
    // the reference path: jaq's own parser (then only the parts wanted), then the walk
    let mut v = match wanted {
        Some(wanted) => super::value::parse_fields(bytes, wanted)?,
        None => super::value::parse(bytes)?,
    };
    super::value::redact(&mut v);
    Ok(v)
}

/// Something the fast parser leaves to the reference path.
pub(super) struct Defer;

pub(super) type Parsed<T> = Result<T, Defer>;

/// Nesting the fast parser follows before deferring (the reference path has its own limits).
const MAX_DEPTH: usize = 128;

/// A strict JSON reader over one record's bytes (also driven by [`super::project`]).
pub(super) struct Parser<'a> {
    pub(super) b: &'a [u8],
    /// A copy of `b` that the strings without escapes share (one allocation per record,
    /// not one per string), when the whole record is built; without it (only some parts
    /// are built, or none), each string built is a copy of its own.
    shared: Option<Bytes>,
    pub(super) i: usize,
    depth: usize,
    /// Entries of the objects being built, innermost last (each object drains its own).
    entries: Vec<(Val, Val)>,
    /// Items of the arrays being built, innermost last.
    items: Vec<Val>,
}

impl<'a> Parser<'a> {
    /// A parser building values; `whole`: most of the record will be built.
    fn new(b: &'a [u8], whole: bool) -> Parser<'a> {
        Parser {
            shared: whole.then(|| Bytes::copy_from_slice(b)),
            ..Parser::reader(b)
        }
    }

    /// A parser that only reads (checks, skips, spans), never builds a string value.
    pub(super) fn reader(b: &'a [u8]) -> Parser<'a> {
        Parser {
            b,
            shared: None,
            i: 0,
            depth: 0,
            entries: Vec::new(),
            items: Vec::new(),
        }
    }

    fn record(mut self, wanted: Option<&Wanted>) -> Parsed<Val> {
        self.ws();
        let v = match wanted {
            None => self.value()?,
            Some(wanted) if self.peek()? == b'{' => self.object(Some(wanted))?,
            Some(_) => return Err(Defer),
        };
        self.ws();
        if self.i != self.b.len() {
            return Err(Defer);
        }
        Ok(v)
    }

    pub(super) fn peek(&self) -> Parsed<u8> {
        self.b.get(self.i).copied().ok_or(Defer)
    }

    pub(super) fn ws(&mut self) {
        while let Some(b' ' | b'\t' | b'\n' | b'\r') = self.b.get(self.i) {
            self.i += 1;
        }
    }

    pub(super) fn expect(&mut self, c: u8) -> Parsed<()> {
        self.ws();
        if self.peek()? != c {
            return Err(Defer);
        }
        self.i += 1;
        Ok(())
    }

    pub(super) fn literal(&mut self, text: &[u8]) -> Parsed<()> {
        if self.b[self.i..].starts_with(text) {
            self.i += text.len();
            Ok(())
        } else {
            Err(Defer)
        }
    }

    pub(super) fn leave(&mut self) {
        self.depth -= 1;
    }

    fn value(&mut self) -> Parsed<Val> {
        Ok(match self.peek()? {
            b'{' => self.object(None)?,
            b'[' => self.array()?,
            b'"' => self.string(Interning::Value)?.0,
            b'n' => {
                self.literal(b"null")?;
                Val::Null
            }
            b't' => {
                self.literal(b"true")?;
                Val::Bool(true)
            }
            b'f' => {
                self.literal(b"false")?;
                Val::Bool(false)
            }
            b'-' | b'0'..=b'9' => self.number()?,
            _ => return Err(Defer),
        })
    }

    /// Skips one value, checking it as strictly as [`Self::value`] would.
    pub(super) fn skip(&mut self) -> Parsed<()> {
        match self.peek()? {
            b'{' => {
                self.enter()?;
                self.i += 1;
                self.ws();
                if self.peek()? == b'}' {
                    self.i += 1;
                } else {
                    loop {
                        self.ws();
                        if self.peek()? != b'"' {
                            return Err(Defer);
                        }
                        self.string_span()?;
                        self.expect(b':')?;
                        self.ws();
                        self.skip()?;
                        if self.comma_or(b'}')? {
                            break;
                        }
                    }
                }
                self.depth -= 1;
            }
            b'[' => {
                self.enter()?;
                self.i += 1;
                self.ws();
                if self.peek()? == b']' {
                    self.i += 1;
                } else {
                    loop {
                        self.ws();
                        self.skip()?;
                        if self.comma_or(b']')? {
                            break;
                        }
                    }
                }
                self.depth -= 1;
            }
            b'"' => {
                self.string_span()?;
            }
            b'n' => self.literal(b"null")?,
            b't' => self.literal(b"true")?,
            b'f' => self.literal(b"false")?,
            b'-' | b'0'..=b'9' => {
                self.number_span()?;
            }
            _ => return Err(Defer),
        }
        Ok(())
    }

    pub(super) fn enter(&mut self) -> Parsed<()> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(Defer);
        }
        Ok(())
    }

    /// After a member: true at the closing byte, false after a comma.
    pub(super) fn comma_or(&mut self, close: u8) -> Parsed<bool> {
        self.ws();
        match self.peek()? {
            b',' => {
                self.i += 1;
                Ok(false)
            }
            c if c == close => {
                self.i += 1;
                Ok(true)
            }
            _ => Err(Defer),
        }
    }

    /// The object starting here: all of it, or (`wanted`) only those keys, an unwanted key
    /// not even built, its value only checked.
    fn object(&mut self, wanted: Option<&Wanted>) -> Parsed<Val> {
        self.enter()?;
        self.i += 1;
        let start = self.entries.len();
        self.ws();
        if self.peek()? == b'}' {
            self.i += 1;
        } else {
            loop {
                self.ws();
                if self.peek()? != b'"' {
                    return Err(Defer);
                }
                let open = self.i;
                let span = self.string_span()?;
                // an escaped key is compared decoded, as the program would see it
                let key = if wanted.is_none() || span.escaped {
                    Some(self.string_val(open, &span, Interning::Key)?)
                } else {
                    None
                };
                // `Some(sub)`: the entry is kept, `sub` the parts wanted of its value (`None`:
                // all of it); `None`: skipped
                let want = match (wanted, &key) {
                    (None, _) => Some(None),
                    (Some(w), Some((Val::TStr(k), _))) => w.get(k),
                    (Some(_), Some(_)) => None,
                    (Some(w), None) => w.get(&self.b[span.start..span.end]),
                };
                self.expect(b':')?;
                self.ws();
                if let Some(sub) = want {
                    let (key, secret) = match key {
                        Some(k) => k,
                        None => self.string_val(open, &span, Interning::Key)?,
                    };
                    let v = match sub {
                        Some(sub) if self.peek()? == b'{' => self.object(Some(sub))?,
                        _ => self.value()?,
                    };
                    self.entries.push((key, redacted(secret, v)));
                } else {
                    self.skip()?;
                }
                if self.comma_or(b'}')? {
                    break;
                }
            }
        }
        self.depth -= 1;
        let mut map = Map::with_capacity_and_hasher(self.entries.len() - start, Default::default());
        // `insert`, as jaq's parser does: a repeated key keeps its first place, last value
        for (k, v) in self.entries.drain(start..) {
            map.insert(k, v);
        }
        Ok(Val::obj(map))
    }

    fn array(&mut self) -> Parsed<Val> {
        self.enter()?;
        self.i += 1;
        let start = self.items.len();
        self.ws();
        if self.peek()? == b']' {
            self.i += 1;
        } else {
            loop {
                self.ws();
                let v = self.value()?;
                self.items.push(v);
                if self.comma_or(b']')? {
                    break;
                }
            }
        }
        self.depth -= 1;
        let items: Vec<Val> = self.items.drain(start..).collect();
        Ok(Val::Arr(Rc::new(items)))
    }

    /// The end of a strict JSON number starting here.
    pub(super) fn number_span(&mut self) -> Parsed<usize> {
        let start = self.i;
        let b = self.b;
        let digits = |mut i: usize| {
            while b.get(i).is_some_and(u8::is_ascii_digit) {
                i += 1;
            }
            i
        };
        let mut i = start;
        if b.get(i) == Some(&b'-') {
            i += 1;
        }
        match b.get(i) {
            Some(b'0') => i += 1,
            Some(b'1'..=b'9') => i = digits(i + 1),
            _ => return Err(Defer),
        }
        if b.get(i) == Some(&b'.') {
            let end = digits(i + 1);
            if end == i + 1 {
                return Err(Defer);
            }
            i = end;
        }
        if let Some(b'e' | b'E') = b.get(i) {
            i += 1;
            if let Some(b'+' | b'-') = b.get(i) {
                i += 1;
            }
            let end = digits(i);
            if end == i {
                return Err(Defer);
            }
            i = end;
        }
        self.i = i;
        Ok(start)
    }

    fn number(&mut self) -> Parsed<Val> {
        let start = self.number_span()?;
        // jaq's own number parser: the same Num (integer, big integer or decimal text)
        jaq_json::read::parse_single_num(&self.b[start..self.i])
            .map(Val::Num)
            .ok_or(Defer)
    }

    /// Checks the string starting here (at its quote) and reads past it.
    pub(super) fn string_span(&mut self) -> Parsed<Span> {
        let b = self.b;
        let start = self.i + 1;
        let mut i = start;
        let (mut escaped, mut respell) = (false, false);
        loop {
            let at = i + string_stop(&b[i..]).ok_or(Defer)?;
            match b[at] {
                b'"' => {
                    self.i = at + 1;
                    return Ok(Span {
                        start,
                        end: at,
                        escaped,
                        respell,
                    });
                }
                b'\\' => {}
                0x7f => {
                    respell = true;
                    i = at + 1;
                    continue;
                }
                // a control character, invalid in a JSON string
                _ => return Err(Defer),
            }
            escaped = true;
            i = at + 2;
            match b.get(at + 1) {
                Some(b'"' | b'\\' | b'b' | b'f' | b'n' | b'r' | b't') => {}
                Some(b'/') => respell = true,
                Some(b'u') => {
                    respell = true;
                    let hex = b.get(at + 2..at + 6).ok_or(Defer)?;
                    let text = std::str::from_utf8(hex).map_err(|_| Defer)?;
                    let unit = u16::from_str_radix(text, 16).map_err(|_| Defer)?;
                    // surrogates (pairs or lone) are left to the reference path
                    if (0xD800..=0xDFFF).contains(&unit) || !hex.iter().all(u8::is_ascii_hexdigit) {
                        return Err(Defer);
                    }
                    i = at + 6;
                }
                _ => return Err(Defer),
            }
        }
    }

    /// A string value or key, and whether it names a secret field (keys only).
    fn string(&mut self, interning: Interning) -> Parsed<(Val, bool)> {
        let open = self.i;
        let span = self.string_span()?;
        self.string_val(open, &span, interning)
    }

    /// The string of `span`, whose quote is at `open`, as [`Self::string`] returns it.
    fn string_val(&self, open: usize, span: &Span, interning: Interning) -> Parsed<(Val, bool)> {
        let &Span {
            start,
            end,
            escaped,
            ..
        } = span;
        let text = &self.b[start..end];
        if escaped {
            // jaq decodes the escapes: the same string it would build in place
            let v = jaq_json::read::parse_single(&self.b[open..end + 1]).map_err(|_| Defer)?;
            let secret = match (&v, interning) {
                (Val::TStr(s), Interning::Key) => is_secret_key(s),
                _ => false,
            };
            return Ok((v, secret));
        }
        let own = || {
            Val::TStr(Box::new(match &self.shared {
                Some(shared) => shared.slice(start..end),
                None => Bytes::copy_from_slice(text),
            }))
        };
        Ok(match interning {
            Interning::Key => match known_key(text) {
                Some(k) => (Val::TStr(Box::new(Bytes::from_static(k))), false),
                None => (own(), is_secret_key(text)),
            },
            Interning::Value => (own(), false),
        })
    }
}

/// Where a string's contents are in the record, and how jaq would write them.
pub(super) struct Span {
    pub(super) start: usize,
    pub(super) end: usize,
    /// It holds escapes.
    pub(super) escaped: bool,
    /// jaq writes it otherwise than it is spelt here: it holds `\/` or `\u` escapes, or
    /// DEL (which jaq escapes). Other escapes (`\"`, `\\`, `\n`, …) jaq writes as they are.
    pub(super) respell: bool,
}

#[derive(Clone, Copy)]
enum Interning {
    Key,
    Value,
}

/// The value stored under a key: `"<redacted>"` for a secret that is not null, a boolean or
/// a number.
fn redacted(secret: bool, v: Val) -> Val {
    if secret && !super::value::keeps(&v) {
        Val::TStr(Box::new(Bytes::from_static(REDACTED.as_bytes())))
    } else {
        v
    }
}

/// The first byte that ends a run of plain string text: `"`, `\\`, a control character or
/// DEL. Eight bytes at a time: strings are short, too short for `memchr`'s set-up to pay.
fn string_stop(s: &[u8]) -> Option<usize> {
    const ONES: u64 = u64::from_ne_bytes([0x01; 8]);
    const HIGH: u64 = u64::from_ne_bytes([0x80; 8]);
    let zero_byte = |x: u64| x.wrapping_sub(ONES) & !x & HIGH;
    let mut i = 0;
    while let Some(chunk) = s.get(i..i + 8) {
        let mut word = [0; 8];
        word.copy_from_slice(chunk);
        let x = u64::from_le_bytes(word);
        // bytes below 0x20, equal to '"', '\\' or DEL (the lowest flag is exact)
        let hit = (x.wrapping_sub(ONES * 0x20) & !x & HIGH)
            | zero_byte(x ^ (ONES * u64::from(b'"')))
            | zero_byte(x ^ (ONES * u64::from(b'\\')))
            | zero_byte(x ^ (ONES * 0x7f));
        if hit != 0 {
            return Some(i + (hit.trailing_zeros() / 8) as usize);
        }
        i += 8;
    }
    s[i..]
        .iter()
        .position(|&c| c < 0x20 || c == b'"' || c == b'\\' || c == 0x7f)
        .map(|p| i + p)
}

macro_rules! known_keys {
    ($($k:literal)*) => {
        /// Object keys of the CloudTrail schema, shared rather than allocated per record
        /// (none of them is a secret field).
        fn known_key(k: &[u8]) -> Option<&'static [u8]> {
            match k {
                $($k => Some($k),)*
                _ => None,
            }
        }

        #[cfg(test)]
        const KNOWN_KEYS: &[&[u8]] = &[$($k),*];
    };
}

known_keys! {
    b"eventVersion" b"userIdentity" b"type" b"principalId" b"arn" b"accountId" b"accessKeyId"
    b"userName" b"sessionContext" b"sessionIssuer" b"attributes" b"creationDate"
    b"mfaAuthenticated" b"webIdFederationData" b"federatedProvider" b"invokedBy"
    b"identityProvider" b"sourceIdentity" b"onBehalfOf" b"credentialId" b"inScopeOf"
    b"eventTime" b"eventSource" b"eventName" b"awsRegion" b"sourceIPAddress" b"userAgent"
    b"requestParameters" b"responseElements" b"additionalEventData" b"requestID" b"eventID"
    b"readOnly" b"resources" b"ARN" b"eventType" b"apiVersion" b"managementEvent"
    b"recipientAccountId" b"sharedEventID" b"vpcEndpointId" b"vpcEndpointAccountId"
    b"serviceEventDetails" b"eventCategory" b"tlsDetails" b"tlsVersion" b"cipherSuite"
    b"clientProvidedHostHeader" b"sessionCredentialFromConsole" b"errorCode" b"errorMessage"
    b"edgeDeviceDetails" b"insightDetails" b"name" b"value" b"bucketName" b"Host" b"key"
    b"items" b"roleArn" b"roleSessionName" b"credentials" b"expiration" b"assumedRoleUser"
    b"assumedRoleId" b"durationSeconds" b"subjectFromWebIdentityToken" b"provider"
    b"audience" b"roleName" b"repositoryName" b"registryId" b"policyName" b"policyArn"
    b"policyDocument" b"assumeRolePolicyDocument" b"SignatureVersion" b"CipherSuite"
    b"bytesTransferredIn" b"bytesTransferredOut" b"AuthenticationMethod" b"x-amz-id-2"
    b"encryptionContext" b"encryptionAlgorithm" b"keySpec" b"instanceId" b"instancesSet"
    b"filterSet" b"valueSet" b"logGroupName" b"logStreamName" b"tableName" b"functionName"
    b"prefix" b"limit" b"maxItems" b"startTime" b"endTime"
}

/// Writes `v` as compact JSON, exactly as jaq-json's writer does (the `jq -c` form).
/// Invalid UTF-8 inside strings is written as it is.
pub fn write(buf: &mut Vec<u8>, v: &Val) {
    match v {
        Val::Null => buf.extend_from_slice(b"null"),
        Val::Bool(true) => buf.extend_from_slice(b"true"),
        Val::Bool(false) => buf.extend_from_slice(b"false"),
        // writing to a Vec cannot fail
        Val::Num(n) => drop(write!(buf, "{n}")),
        Val::TStr(s) => write_str(buf, s),
        Val::BStr(_) => {
            drop(jaq_json::write::write(
                buf,
                &jaq_json::write::Pp::default(),
                0,
                v,
            ));
        }
        Val::Arr(items) => {
            buf.push(b'[');
            for (i, x) in items.iter().enumerate() {
                if i > 0 {
                    buf.push(b',');
                }
                write(buf, x);
            }
            buf.push(b']');
        }
        Val::Obj(map) => {
            buf.push(b'{');
            for (i, (k, x)) in map.iter().enumerate() {
                if i > 0 {
                    buf.push(b',');
                }
                write(buf, k);
                buf.push(b':');
                write(buf, x);
            }
            buf.push(b'}');
        }
    }
}

fn is_special(c: u8) -> bool {
    c < 0x20 || c == b'"' || c == b'\\' || c == 0x7f
}

/// A text string with jaq's escapes: `\"`, `\\`, `\b`, `\f`, `\t`, `\n`, `\r`, and
/// `\u00XX` for other control characters and DEL.
pub(super) fn write_str(buf: &mut Vec<u8>, s: &[u8]) {
    buf.push(b'"');
    // no early exit: the loop vectorises
    if !s.iter().fold(false, |acc, &c| acc | is_special(c)) {
        buf.extend_from_slice(s);
    } else {
        let mut run = 0;
        for (i, &c) in s.iter().enumerate() {
            if !is_special(c) {
                continue;
            }
            buf.extend_from_slice(&s[run..i]);
            run = i + 1;
            match c {
                0x08 => buf.extend_from_slice(b"\\b"),
                0x0c => buf.extend_from_slice(b"\\f"),
                b'\t' => buf.extend_from_slice(b"\\t"),
                b'\n' => buf.extend_from_slice(b"\\n"),
                b'\r' => buf.extend_from_slice(b"\\r"),
                b'"' => buf.extend_from_slice(b"\\\""),
                b'\\' => buf.extend_from_slice(b"\\\\"),
                c => drop(write!(buf, "\\u{c:04x}")),
            }
        }
        buf.extend_from_slice(&s[run..]);
    }
    buf.push(b'"');
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::query::value;

    /// The reference path: jaq's parser (then only the parts wanted), then the redaction walk.
    pub(crate) fn reference(bytes: &[u8], wanted: Option<&Wanted>) -> Result<Val, String> {
        let mut v = match wanted {
            Some(k) => value::parse_fields(bytes, k)?,
            None => value::parse(bytes)?,
        };
        value::redact(&mut v);
        Ok(v)
    }

    fn jaq_text(v: &Val) -> Vec<u8> {
        let mut out = Vec::new();
        jaq_json::write::write(&mut out, &jaq_json::write::Pp::default(), 0, v).unwrap();
        out
    }

    pub(crate) fn fast(bytes: &[u8], wanted: Option<&Wanted>) -> Option<Val> {
        std::str::from_utf8(bytes).ok()?;
        Parser::new(bytes, wanted.is_none()).record(wanted).ok()
    }

    /// The parts reached by dotted paths (`a.b`).
    pub(crate) fn wanted(paths: &[&str]) -> Wanted {
        Wanted::from_paths(
            paths
                .iter()
                .map(|p| p.split('.').map(str::to_owned).collect()),
        )
    }

    /// Same value (and the same text, key order included) as the reference, and whether the
    /// fast parser took it.
    fn check(text: &str, paths: Option<&[&str]>) -> bool {
        let wanted = paths.map(wanted);
        let keys = wanted.as_ref();
        let want = reference(text.as_bytes(), keys);
        let got = parse(text.as_bytes(), keys);
        match (&want, &got) {
            (Ok(w), Ok(g)) => {
                assert_eq!(jaq_text(w), jaq_text(g), "{text}");
                // (NaN is not equal to itself)
                assert!(w == g || text.contains("NaN"), "{text}");
                let mut mine = Vec::new();
                write(&mut mine, g);
                assert_eq!(
                    String::from_utf8_lossy(&mine),
                    String::from_utf8_lossy(&jaq_text(w)),
                    "{text}"
                );
            }
            (Err(_), Err(_)) => {}
            _ => panic!("{text}: reference {want:?}, fast {got:?}"),
        }
        fast(text.as_bytes(), keys).is_some()
    }

    #[test]
    fn same_values_as_jaq_and_the_redaction_walk() {
        let taken = [
            r#"{"eventVersion":"1.08","userIdentity":{"type":"AssumedRole","arn":"a"},"n":[1,-2,3.50,1e3,-0,12345678901234567890123,0.1e-2,[],{}],"t":true,"f":false,"z":null}"#,
            r#" { "a" : "x\"y\\z\/\b\f\n\r\t\u0041\u00e9\u20ac" , "b":[ ] , "c" : { } } "#,
            r#"{"responseElements":{"credentials":{"accessKeyId":"ASIAX","sessionToken":"SECRET","expiration":"x"}},"requestParameters":{"SAMLAssertion":"PHN","dbPassword":"h","clientSecret":"s","token":null,"list":[{"authorizationToken":"QVdT"}]}}"#,
            r#"{"requestParameters":{"forceOverwriteReplicaSecret":false,"tokenCount":3,"secretKey":{"k":"v"},"password":[1]}}"#,
            r#"{"a":1,"a":2,"b":{"token":"x","token":null},"c":{"token":null,"token":"y"}}"#,
            r#"{"userAgent":"caf\u00e9 é ✓ \u007f","errorMessage":"line1\nline2 \u001b[31m"}"#,
            r#"{"se\u0073sionToken":"escaped key","Password":"p","x":{"MyPassword":"q","notsecretx":"r"}}"#,
        ];
        for t in taken {
            assert!(check(t, None), "not taken by the fast parser: {t}");
        }
        let deferred = [
            "{\"a\":\"raw\u{1}control\"}",
            r#"{"a":"\ud83d\ude00 pair"}"#,
            r#"{"a":"\ud83d lone"}"#,
            r#"{"a":NaN}"#,
            r#"{"a":+1}"#,
            r#"{"a":01}"#,
            r#"{"a":1.}"#,
            r#"{"a":1,}"#,
            r#"{1:2}"#,
            r#"{"a":"\x41"}"#,
            r#"{"a":1} # comment"#,
            r#"{"a":1} {"b":2}"#,
            r#"{"a":[1,2}"#,
            r#"{"a":"unterminated}"#,
            r#"{"a":tru}"#,
            "",
        ];
        for t in deferred {
            assert!(!check(t, None), "should be deferred: {t}");
        }
        // invalid UTF-8 is the reference path's too
        let bad = b"{\"a\":\"\xff\"}";
        assert!(fast(bad, None).is_none());
        let (want, got) = (reference(bad, None).unwrap(), parse(bad, None).unwrap());
        assert!(want == got);
    }

    #[test]
    fn field_subsets_agree() {
        let rec = r#"{"eventTime":"t","eventName":"PutImage","errorCode":"AccessDenied","a":{"b":[1,{"c":"\u00e9"}],"z":{"y":1,"x":2,"y":3}},"sessionToken":"s","d":[1,2,{"x":null}],"e":"x\ny","eventName":"again","cred\u0065ntials":{"secretKey":"k","n":1},"f":{"accessKeyId":"A","sessionToken":{"t":"s"},"g":"G"}}"#;
        for keys in [
            &["eventTime", "eventName"][..],
            &["a", "d"],
            &["sessionToken", "e"],
            &["missing"],
            &[],
            &["a.b", "a.z.y", "eventName"],
            &["a.z", "a.z.x", "a.missing"],
            &["d.x", "e.x", "eventTime.x"],
            &["credentials.n", "f.sessionToken.t", "f.g"],
            &["credentials.secretKey", "f.accessKeyId"],
            &["a.b.c"],
        ] {
            assert!(check(rec, Some(keys)), "{keys:?}");
        }
        assert_eq!(
            fast(
                rec.as_bytes(),
                Some(&wanted(&["a.z.y", "f.sessionToken.t", "eventName"]))
            )
            .map(|v| String::from_utf8(jaq_text(&v)).unwrap()),
            Some(
                r#"{"eventName":"again","a":{"z":{"y":3}},"f":{"sessionToken":"<redacted>"}}"#
                    .to_owned()
            )
        );
        // a skipped value is checked as strictly as a built one
        for t in [
            r#"{"a":1,"skip":"\ud800"}"#,
            r#"{"a":1,"skip":[1,}"#,
            r#"{"a":1,"skip":NaN}"#,
            "{\"a\":1,\"skip\":\"\u{2}\"}",
            r#"[{"a":1}]"#,
        ] {
            assert!(!check(t, Some(&["a"])), "should be deferred: {t}");
        }
    }

    #[test]
    fn deep_nesting_is_deferred() {
        let deep = format!(
            "{{\"a\":{}1{}}}",
            "[".repeat(MAX_DEPTH + 5),
            "]".repeat(MAX_DEPTH + 5)
        );
        assert!(!check(&deep, None));
        let shallow = format!("{{\"a\":{}1{}}}", "[".repeat(50), "]".repeat(50));
        assert!(check(&shallow, None));
    }

    #[test]
    fn writer_escapes_like_jaq() {
        let mut s = String::new();
        for c in 0u8..=0x7f {
            s.push(char::from(c));
        }
        s.push_str("é€\u{202e}");
        let v = Val::obj(Map::from_iter([(
            Val::utf8_str(s.clone()),
            Val::Arr(Rc::new(vec![
                Val::utf8_str(s),
                Val::Num(jaq_json::Num::Float(1.5)),
                Val::Num(jaq_json::Num::Float(f64::NAN)),
                Val::byte_str(vec![0u8, 0xff, b'a']),
                Val::Bool(true),
                Val::Null,
            ])),
        )]));
        let mut mine = Vec::new();
        write(&mut mine, &v);
        assert_eq!(mine, jaq_text(&v));
    }

    #[test]
    fn string_stop_finds_the_first_stop_byte() {
        let naive = |s: &[u8]| {
            s.iter()
                .position(|&c| c < 0x20 || c == b'"' || c == b'\\' || c == 0x7f)
        };
        // every stop byte (and near misses) at every position of strings up to 20 bytes
        let fill = [b'a', 0x20, 0x21, 0x5b, 0x5d, 0x7e, 0x80, 0xa0, 0xdf, 0xff];
        for len in 0..20 {
            for at in 0..=len {
                for &stop in &[b'"', b'\\', 0x00, 0x01, 0x1f, b'\n', 0x7f] {
                    for &f in &fill {
                        let mut s = vec![f; len];
                        if at < len {
                            s[at] = stop;
                        }
                        assert_eq!(string_stop(&s), naive(&s), "{s:?}");
                    }
                }
            }
        }
        // two stops: the first wins
        assert_eq!(string_stop(b"abcdefg\x01\"zzzzzzzz"), Some(7));
        assert_eq!(string_stop(b"abc\"defg\x01zzzzzzzz"), Some(3));
    }

    #[test]
    fn known_keys_are_not_secrets() {
        for k in KNOWN_KEYS {
            assert!(!is_secret_key(k), "{}", String::from_utf8_lossy(k));
            assert_eq!(known_key(k), Some(*k));
        }
        assert_eq!(known_key(b"eventNam"), None);
    }
}
