//! Event IDs kept compactly: CloudTrail writes them as lowercase UUIDs (36 characters), which
//! fit in 16 bytes; any other text is kept as it is.

use std::fmt;

use serde::{Serialize, Serializer};

/// An `eventID`, read back exactly as the record wrote it; ordered as its text is.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct EventId(Repr);

#[derive(Clone, PartialEq, Eq, Hash)]
enum Repr {
    /// The canonical lowercase hyphenated form, as 16 bytes.
    Uuid([u8; 16]),
    Text(Box<str>),
}

const GROUPS: [usize; 5] = [8, 4, 4, 4, 12];

impl EventId {
    pub fn new(text: &str) -> EventId {
        EventId(match parse_uuid(text) {
            Some(bytes) => Repr::Uuid(bytes),
            None => Repr::Text(text.into()),
        })
    }
}

impl EventId {
    /// Calls `f` with the text, written out on the stack for a packed UUID.
    fn with_text<R>(&self, f: impl FnOnce(&str) -> R) -> R {
        match &self.0 {
            Repr::Text(t) => f(t),
            Repr::Uuid(bytes) => {
                const HEX: &[u8; 16] = b"0123456789abcdef";
                let mut buf = [b'-'; 36];
                let (mut at, mut byte) = (0, 0);
                for (g, len) in GROUPS.iter().enumerate() {
                    if g > 0 {
                        at += 1;
                    }
                    for _ in 0..len / 2 {
                        buf[at] = HEX[usize::from(bytes[byte] >> 4)];
                        buf[at + 1] = HEX[usize::from(bytes[byte] & 15)];
                        at += 2;
                        byte += 1;
                    }
                }
                // hex digits and hyphens: ASCII, borrowed as it is
                f(&String::from_utf8_lossy(&buf))
            }
        }
    }
}

impl Ord for EventId {
    fn cmp(&self, other: &EventId) -> std::cmp::Ordering {
        match (&self.0, &other.0) {
            // lowercase hex in fixed groups orders as its bytes do
            (Repr::Uuid(a), Repr::Uuid(b)) => a.cmp(b),
            (Repr::Text(a), Repr::Text(b)) => a.cmp(b),
            _ => self.with_text(|a| other.with_text(|b| a.cmp(b))),
        }
    }
}

impl PartialOrd for EventId {
    fn partial_cmp(&self, other: &EventId) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl From<&str> for EventId {
    fn from(text: &str) -> EventId {
        EventId::new(text)
    }
}

/// The 16 bytes of a UUID written in lowercase hex with hyphens (8-4-4-4-12); `None` for any
/// other text (uppercase included, so that the text reads back unchanged).
fn parse_uuid(text: &str) -> Option<[u8; 16]> {
    let b = text.as_bytes();
    if b.len() != 36 {
        return None;
    }
    let mut out = [0u8; 16];
    let mut nibbles = 0;
    let mut at = 0;
    for (g, len) in GROUPS.iter().enumerate() {
        if g > 0 {
            if b[at] != b'-' {
                return None;
            }
            at += 1;
        }
        for &c in &b[at..at + len] {
            let v = match c {
                b'0'..=b'9' => c - b'0',
                b'a'..=b'f' => c - b'a' + 10,
                _ => return None,
            };
            out[nibbles / 2] |= if nibbles % 2 == 0 { v << 4 } else { v };
            nibbles += 1;
        }
        at += len;
    }
    Some(out)
}

impl fmt::Display for EventId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.with_text(|t| f.write_str(t))
    }
}

impl fmt::Debug for EventId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?}", self.to_string())
    }
}

impl Serialize for EventId {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn a_lowercase_uuid_is_packed_and_anything_else_kept_as_text() {
        let uuid = "3f2a9c1e-0b7d-4e6f-9a8b-1c2d3e4f5a6b";
        assert!(matches!(EventId::new(uuid).0, Repr::Uuid(_)));
        assert_eq!(EventId::new(uuid).to_string(), uuid);
        for other in [
            "3F2A9C1E-0B7D-4E6F-9A8B-1C2D3E4F5A6B",
            "3f2a9c1e0b7d4e6f9a8b1c2d3e4f5a6b",
            "3f2a9c1e-0b7d-4e6f-9a8b-1c2d3e4f5a6",
            "3f2a9c1e-0b7d-4e6f-9a8b-1c2d3e4f5a6g",
            "3f2a9c1e+0b7d-4e6f-9a8b-1c2d3e4f5a6b",
            "",
            "escaped-17",
        ] {
            assert!(matches!(EventId::new(other).0, Repr::Text(_)), "{other}");
            assert_eq!(EventId::new(other).to_string(), other);
        }
        assert_eq!(
            serde_json::to_string(&EventId::new(uuid)).unwrap(),
            format!("\"{uuid}\"")
        );
        assert_eq!(std::mem::size_of::<EventId>(), 24);
    }

    proptest! {
        #[test]
        fn every_text_reads_back_unchanged(s in "[0-9a-fA-F-]{30,40}|\\PC{0,40}") {
            prop_assert_eq!(EventId::new(&s).to_string(), s);
        }

        #[test]
        fn every_uuid_reads_back_unchanged(bytes in any::<[u8; 16]>()) {
            let text = format!(
                "{}-{}-{}-{}-{}",
                hex(&bytes[..4]), hex(&bytes[4..6]), hex(&bytes[6..8]), hex(&bytes[8..10]), hex(&bytes[10..])
            );
            let id = EventId::new(&text);
            prop_assert!(matches!(id.0, Repr::Uuid(_)));
            prop_assert_eq!(id.to_string(), text);
        }

        #[test]
        fn ids_order_as_their_texts(a in "[0-9a-f-]{36}|[0-9a-f]{0,9}", b in any::<[u8; 16]>(), c in any::<[u8; 16]>()) {
            let uuid = |b: &[u8; 16]| format!(
                "{}-{}-{}-{}-{}",
                hex(&b[..4]), hex(&b[4..6]), hex(&b[6..8]), hex(&b[8..10]), hex(&b[10..])
            );
            let texts = [a, uuid(&b), uuid(&c)];
            for x in &texts {
                for y in &texts {
                    prop_assert_eq!(EventId::new(x).cmp(&EventId::new(y)), x.cmp(y));
                }
            }
        }
    }

    fn hex(b: &[u8]) -> String {
        b.iter().map(|x| format!("{x:02x}")).collect()
    }
}
