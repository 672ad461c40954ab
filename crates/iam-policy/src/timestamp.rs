//! Points in time for the `Date*` condition operators: ISO 8601 / RFC 3339 date-times (with `Z`,
//! an offset, or no zone meaning UTC; seconds and fractions optional), plain dates (midnight UTC)
//! and epoch seconds (optionally fractional or negative).
//!
//! This is not a calendar library: it only turns condition text into a comparable UTC instant and
//! says `None` for anything else.

use chrono::{DateTime, NaiveDate, NaiveDateTime, Utc};

/// Parse a condition date value into a UTC instant.
pub(crate) fn parse_instant(text: &str) -> Option<DateTime<Utc>> {
    if let Some(epoch) = parse_epoch(text) {
        return Some(epoch);
    }
    if let Ok(dt) = DateTime::parse_from_rfc3339(text) {
        return Some(dt.with_timezone(&Utc));
    }
    let naive = text
        .strip_suffix('Z')
        .or_else(|| text.strip_suffix('z'))
        .unwrap_or(text);
    for format in [
        "%Y-%m-%dT%H:%M:%S%.f",
        "%Y-%m-%dT%H:%M",
        "%Y-%m-%d %H:%M:%S%.f",
    ] {
        if let Ok(dt) = NaiveDateTime::parse_from_str(naive, format) {
            return Some(dt.and_utc());
        }
    }
    if naive.len() == text.len() {
        if let Ok(date) = NaiveDate::parse_from_str(text, "%Y-%m-%d") {
            return date.and_hms_opt(0, 0, 0).map(|dt| dt.and_utc());
        }
    }
    None
}

fn parse_epoch(text: &str) -> Option<DateTime<Utc>> {
    let unsigned = text.strip_prefix('-').unwrap_or(text);
    let (int, frac) = unsigned.split_once('.').unwrap_or((unsigned, ""));
    if int.is_empty() || !int.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    if !frac.bytes().all(|b| b.is_ascii_digit()) || frac.len() > 9 {
        return None;
    }
    let secs: i64 = int.parse().ok()?;
    let mut nanos: i64 = 0;
    if !frac.is_empty() {
        nanos = frac.parse::<i64>().ok()? * 10i64.pow(9 - u32::try_from(frac.len()).ok()?);
    }
    let negative = unsigned.len() != text.len();
    let (secs, nanos) = if negative {
        // -1.5 is 1.5 seconds before the epoch: -2 s + 0.5 s.
        if nanos == 0 {
            (-secs, 0)
        } else {
            (-secs - 1, 1_000_000_000 - nanos)
        }
    } else {
        (secs, nanos)
    };
    DateTime::from_timestamp(secs, u32::try_from(nanos).ok()?)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secs(text: &str) -> Option<i64> {
        parse_instant(text).map(|d| d.timestamp())
    }

    #[test]
    fn accepted_forms() {
        assert_eq!(secs("2020-01-01T00:00:00Z"), Some(1_577_836_800));
        assert_eq!(secs("2020-01-01T01:00:00+01:00"), Some(1_577_836_800));
        assert_eq!(secs("2020-01-01T00:00:00.250Z"), Some(1_577_836_800));
        assert_eq!(secs("2020-01-01T00:00:00"), Some(1_577_836_800));
        assert_eq!(secs("2020-01-01T00:00Z"), Some(1_577_836_800));
        assert_eq!(secs("2020-01-01"), Some(1_577_836_800));
        assert_eq!(secs("1577836800"), Some(1_577_836_800));
        assert_eq!(secs("-1.5"), Some(-2));
    }

    #[test]
    fn rejected_forms() {
        for bad in [
            "",
            "yesterday",
            "2020-13-01",
            "2020-01-01Z",
            "12:00",
            "1.2.3",
        ] {
            assert_eq!(secs(bad), None, "{bad}");
        }
    }
}
