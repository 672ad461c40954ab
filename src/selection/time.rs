//! Time bounds from the command line: RFC 3339 instants, plain dates, or durations relative
//! to now (`90m`, `2h`, `7d`, `1w`, `30s`).

use chrono::{DateTime, Duration, NaiveDate, Utc};

/// Parses one `--since` / `--until` value against `now`.
pub fn parse_time_bound(text: &str, now: DateTime<Utc>) -> Result<DateTime<Utc>, String> {
    let t = text.trim();
    if let Ok(dt) = DateTime::parse_from_rfc3339(t) {
        return Ok(dt.with_timezone(&Utc));
    }
    if let Ok(d) = NaiveDate::parse_from_str(t, "%Y-%m-%d") {
        if let Some(dt) = d.and_hms_opt(0, 0, 0) {
            return Ok(dt.and_utc());
        }
    }
    if let Ok(dt) = chrono::NaiveDateTime::parse_from_str(t, "%Y-%m-%dT%H:%M:%S") {
        return Ok(dt.and_utc());
    }
    if let Ok(dt) = chrono::NaiveDateTime::parse_from_str(t, "%Y-%m-%dT%H:%M") {
        return Ok(dt.and_utc());
    }
    let d = parse_duration(t).ok_or_else(|| {
        format!("'{t}' is neither an RFC 3339 time (2026-10-01T10:00:00Z), a date (2026-10-01) nor a relative duration (90m, 2h, 7d)")
    })?;
    now.checked_sub_signed(d)
        .ok_or_else(|| format!("'{t}' is too far in the past"))
}

/// `90m`, `2h`, `7d`, `1w`, `45s`, also with a leading `-` or a trailing ` ago`.
pub fn parse_duration(text: &str) -> Option<Duration> {
    let t = text
        .trim()
        .trim_start_matches('-')
        .trim_end_matches(" ago")
        .trim();
    let split = t.find(|c: char| !c.is_ascii_digit())?;
    let (num, unit) = t.split_at(split);
    let n: i64 = num.parse().ok()?;
    let d = match unit.trim() {
        "s" | "sec" | "secs" | "second" | "seconds" => Duration::try_seconds(n)?,
        "m" | "min" | "mins" | "minute" | "minutes" => Duration::try_minutes(n)?,
        "h" | "hr" | "hrs" | "hour" | "hours" => Duration::try_hours(n)?,
        "d" | "day" | "days" => Duration::try_days(n)?,
        "w" | "week" | "weeks" => Duration::try_weeks(n)?,
        _ => return None,
    };
    Some(d)
}

/// Parses CloudTrail's `eventTime` (always UTC, `Z`), tolerating fractional seconds and offsets.
pub fn parse_event_time(text: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(text)
        .ok()
        .map(|d| d.with_timezone(&Utc))
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn now() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 10, 2, 12, 0, 0).unwrap()
    }

    #[test]
    fn relative_and_absolute() {
        assert_eq!(
            parse_time_bound("90m", now()).unwrap(),
            Utc.with_ymd_and_hms(2026, 10, 2, 10, 30, 0).unwrap()
        );
        assert_eq!(
            parse_time_bound("2d", now()).unwrap(),
            Utc.with_ymd_and_hms(2026, 9, 30, 12, 0, 0).unwrap()
        );
        assert_eq!(
            parse_time_bound("1w", now()).unwrap(),
            Utc.with_ymd_and_hms(2026, 9, 25, 12, 0, 0).unwrap()
        );
        assert_eq!(
            parse_time_bound("2026-10-01T10:00:00+02:00", now()).unwrap(),
            Utc.with_ymd_and_hms(2026, 10, 1, 8, 0, 0).unwrap()
        );
        assert_eq!(
            parse_time_bound("2026-10-01", now()).unwrap(),
            Utc.with_ymd_and_hms(2026, 10, 1, 0, 0, 0).unwrap()
        );
    }

    #[test]
    fn rejects_nonsense() {
        let e = parse_time_bound("yesterday", now()).unwrap_err();
        assert!(e.contains("'yesterday'"), "{e}");
        assert!(parse_time_bound("5x", now()).is_err());
    }
}
