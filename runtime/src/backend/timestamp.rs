//! Timestamp text forms: parsing what SQLite databases hold, writing hoist's canonical forms.
//!
//! hoist writes SQLite timestamps as `YYYY-MM-DD HH:MM:SS.ffffff`: UTC, a space separator, always
//! six fraction digits and no offset. That is SQLite's own `datetime()` layout with microseconds,
//! and within one fixed width its text order is time order. Reading accepts the forms apps and
//! SQLite write: `T` or space separator, no seconds, any number of fraction digits, and a `Z`
//! or `±HH[:MM]` offset; and a bare date (midnight UTC). Values are truncated to microseconds,
//! the precision every backend keeps.

use chrono::{DateTime, FixedOffset, NaiveDate, NaiveDateTime, NaiveTime, Timelike, Utc};

/// Canonical SQLite text for a timestamp (see the module docs).
pub(crate) fn format_sqlite(ts: &DateTime<Utc>) -> String {
    ts.format("%Y-%m-%d %H:%M:%S%.6f").to_string()
}

/// PostgreSQL input text for `timestamptz` / `timestamp` columns (`+00` offset, ignored by
/// `timestamp`), with PostgreSQL's year forms: no `+` before years past 9999, `BC` before year 1.
pub(crate) fn format_postgres(ts: &DateTime<Utc>) -> String {
    use chrono::Datelike;
    let year = ts.year();
    let rest = ts.format("-%m-%d %H:%M:%S%.6f+00");
    if year >= 1 {
        format!("{year:04}{rest}")
    } else {
        format!("{:04}{rest} BC", 1 - year)
    }
}

/// Append [`format_postgres`]'s text to `buf` (the COPY path writes one per timestamp value;
/// `strftime` parsing cost more than the rest of the row).
pub(crate) fn write_postgres(buf: &mut Vec<u8>, ts: &DateTime<Utc>) {
    if !write_fixed(buf, ts, b' ', b"+00") {
        buf.extend_from_slice(format_postgres(ts).as_bytes());
    }
}

/// Append `YYYY-MM-DD<sep>HH:MM:SS.ffffff<suffix>` digit by digit, for years 1–9999 and no leap
/// second; `false` (nothing appended) otherwise, where each form has its own spelling.
pub(crate) fn write_fixed(buf: &mut Vec<u8>, ts: &DateTime<Utc>, sep: u8, suffix: &[u8]) -> bool {
    use chrono::Datelike;
    fn digits(buf: &mut Vec<u8>, value: u32, width: usize) {
        let mut out = [b'0'; 6];
        let mut v = value;
        for slot in out[..width].iter_mut().rev() {
            *slot = b'0' + (v % 10) as u8;
            v /= 10;
        }
        buf.extend_from_slice(&out[..width]);
    }
    let (year, nanos) = (ts.year(), ts.nanosecond());
    let (Ok(year @ 1..=9999), true) = (u32::try_from(year), nanos < 1_000_000_000) else {
        return false;
    };
    for (value, width, after) in [
        (year, 4, b'-'),
        (ts.month(), 2, b'-'),
        (ts.day(), 2, sep),
        (ts.hour(), 2, b':'),
        (ts.minute(), 2, b':'),
        (ts.second(), 2, b'.'),
    ] {
        digits(buf, value, width);
        buf.push(after);
    }
    digits(buf, nanos / 1_000, 6);
    buf.extend_from_slice(suffix);
    true
}

/// Drop sub-microsecond precision.
pub(crate) fn truncate_micros(ts: DateTime<Utc>) -> DateTime<Utc> {
    let nanos = ts.nanosecond();
    ts.with_nanosecond(nanos - nanos % 1_000).unwrap_or(ts)
}

/// Parse SQLite timestamp text (see the module docs for the accepted forms).
pub(crate) fn parse_text(text: &str) -> Result<DateTime<Utc>, String> {
    let bad = || format!("`{text}` is not an ISO 8601 timestamp");
    let s = text.trim();
    let (date_part, time_part) = match s.get(10..11) {
        Some("T" | "t" | " ") => (&s[..10], s[11..].trim_start()),
        None if s.len() == 10 => (s, ""),
        _ => return Err(bad()),
    };
    let date = NaiveDate::parse_from_str(date_part, "%Y-%m-%d").map_err(|_| bad())?;
    if time_part.is_empty() {
        return Ok(date.and_time(NaiveTime::MIN).and_utc());
    }
    // The offset starts at the first `Z`, `+` or `-` (the time itself has none of them).
    let (clock, offset) = match time_part.find(['Z', 'z', '+', '-']) {
        Some(at) => (time_part[..at].trim_end(), &time_part[at..]),
        None => (time_part, ""),
    };
    let time = NaiveTime::parse_from_str(clock, "%H:%M:%S%.f")
        .or_else(|_| NaiveTime::parse_from_str(clock, "%H:%M"))
        .map_err(|_| bad())?;
    let offset = parse_offset(offset).ok_or_else(bad)?;
    let local = NaiveDateTime::new(date, time);
    let utc = local
        .and_local_timezone(offset)
        .single()
        .ok_or_else(bad)?
        .with_timezone(&Utc);
    Ok(truncate_micros(utc))
}

/// `""`, `Z`, `±HH`, `±HHMM`, `±HH:MM`.
fn parse_offset(s: &str) -> Option<FixedOffset> {
    if s.is_empty() || s.eq_ignore_ascii_case("z") {
        return FixedOffset::east_opt(0);
    }
    let (sign, digits) = match s.as_bytes().first()? {
        b'+' => (1, &s[1..]),
        b'-' => (-1, &s[1..]),
        _ => return None,
    };
    let digits: String = digits.chars().filter(|c| *c != ':').collect();
    if !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let (h, m) = match digits.len() {
        2 => (digits.parse::<i32>().ok()?, 0),
        4 => (
            digits[..2].parse::<i32>().ok()?,
            digits[2..].parse::<i32>().ok()?,
        ),
        _ => return None,
    };
    if m >= 60 {
        return None;
    }
    FixedOffset::east_opt(sign * (h * 3600 + m * 60))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn utc(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s)
            .expect("valid rfc3339")
            .with_timezone(&Utc)
    }

    #[test]
    fn parses_the_forms_apps_write() {
        let t = utc("2024-03-05T07:08:09.123456Z");
        for text in [
            "2024-03-05 07:08:09.123456",
            "2024-03-05T07:08:09.123456",
            "2024-03-05T07:08:09.123456Z",
            "2024-03-05T07:08:09.123456+00:00",
            "2024-03-05 07:08:09.123456789",
            "2024-03-05T09:08:09.123456+02:00",
            "2024-03-05T09:08:09.123456+0200",
            "2024-03-05T05:08:09.123456-02",
            " 2024-03-05 07:08:09.1234567 ",
        ] {
            assert_eq!(parse_text(text), Ok(t), "{text}");
        }
        assert_eq!(
            parse_text("2024-03-05 07:08:09"),
            Ok(utc("2024-03-05T07:08:09Z"))
        );
        assert_eq!(
            parse_text("2024-03-05 07:08"),
            Ok(utc("2024-03-05T07:08:00Z"))
        );
        assert_eq!(parse_text("2024-03-05"), Ok(utc("2024-03-05T00:00:00Z")));
    }

    #[test]
    fn rejects_garbage() {
        for text in [
            "",
            "yesterday",
            "2024-13-01 00:00:00",
            "2024-03-05X07:08",
            "2024-03-05 07:08:09+5",
        ] {
            assert!(parse_text(text).is_err(), "{text}");
        }
    }

    proptest::proptest! {
        /// Every microsecond timestamp survives hoist's SQLite text form and the RFC 3339 form
        /// other apps write.
        #[test]
        fn text_forms_round_trip(secs in 0i64..253_402_300_798, micros in 0u32..1_000_000) {
            let t = DateTime::from_timestamp(secs, micros * 1_000).expect("in range");
            proptest::prop_assert_eq!(parse_text(&format_sqlite(&t)), Ok(t));
            let rfc = t.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true);
            proptest::prop_assert_eq!(parse_text(&rfc), Ok(t));
            // Fixed-width canonical text sorts like time.
            let later = t + chrono::Duration::microseconds(1);
            proptest::prop_assert!(format_sqlite(&t) < format_sqlite(&later));
        }

        /// The digit-by-digit PostgreSQL form is exactly `format_postgres`'s, over chrono's whole
        /// range (BC years, years past 9999, sub-microsecond parts).
        #[test]
        fn postgres_text_is_written_as_formatted(
            secs in -8_334_601_228_800i64..8_210_266_876_799,
            nanos in 0u32..1_000_000_000,
        ) {
            let t = DateTime::from_timestamp(secs, nanos).expect("in range");
            let mut buf = b"x".to_vec();
            write_postgres(&mut buf, &t);
            proptest::prop_assert_eq!(buf, format!("x{}", format_postgres(&t)).into_bytes());
        }
    }

    #[test]
    fn canonical_forms() {
        let t = utc("2024-03-05T07:08:09.1234Z");
        assert_eq!(format_sqlite(&t), "2024-03-05 07:08:09.123400");
        assert_eq!(parse_text(&format_sqlite(&t)), Ok(t));
        assert_eq!(format_postgres(&t), "2024-03-05 07:08:09.123400+00");
        let bc = NaiveDate::from_ymd_opt(0, 1, 1)
            .expect("valid")
            .and_time(NaiveTime::MIN)
            .and_utc();
        assert_eq!(format_postgres(&bc), "0001-01-01 00:00:00.000000+00 BC");
        let far = NaiveDate::from_ymd_opt(12345, 1, 1)
            .expect("valid")
            .and_time(NaiveTime::MIN)
            .and_utc();
        assert_eq!(format_postgres(&far), "12345-01-01 00:00:00.000000+00");
        for t in [t, bc, far] {
            let mut buf = Vec::new();
            write_postgres(&mut buf, &t);
            assert_eq!(buf, format_postgres(&t).into_bytes());
        }
    }
}
