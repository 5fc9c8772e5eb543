//! RFC 3339 timestamps, normalized to UTC (`2024-05-01T08:00:00Z`) so that they sort by time as
//! plain strings. Whole seconds: fractions are dropped.

use std::time::{SystemTime, UNIX_EPOCH};

/// Seconds since 1970 → `YYYY-MM-DDTHH:MM:SSZ`.
pub fn format_utc(unix: i64) -> String {
    let days = unix.div_euclid(86_400);
    let secs = unix.rem_euclid(86_400);
    let (y, m, d) = civil_from_days(days);
    format!("{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z", secs / 3600, secs / 60 % 60, secs % 60)
}

/// Now, as seconds and nanoseconds since 1970.
pub fn now() -> (i64, u128) {
    let since = SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default();
    (i64::try_from(since.as_secs()).unwrap_or(i64::MAX), since.as_nanos())
}

/// Parses `YYYY-MM-DDTHH:MM:SS[.frac](Z|±HH:MM)` (`t`, `z` and a space separator accepted) into
/// seconds since 1970; the reason when it is not one.
pub fn parse_rfc3339(s: &str) -> Result<i64, &'static str> {
    let b = s.trim().as_bytes();
    let digits = |range: std::ops::Range<usize>| -> Result<i64, &'static str> {
        let part = b.get(range).ok_or("too short")?;
        if part.is_empty() || !part.iter().all(u8::is_ascii_digit) {
            return Err("expected digits");
        }
        Ok(part.iter().fold(0, |n, d| n * 10 + i64::from(d - b'0')))
    };
    let sep = |i: usize, allowed: &[u8]| b.get(i).is_some_and(|c| allowed.contains(c));
    if !(sep(4, b"-") && sep(7, b"-") && sep(10, b"Tt ") && sep(13, b":") && sep(16, b":")) {
        return Err("expected YYYY-MM-DDTHH:MM:SS with a time zone");
    }
    let (year, month, day) = (digits(0..4)?, digits(5..7)?, digits(8..10)?);
    let (hour, minute, second) = (digits(11..13)?, digits(14..16)?, digits(17..19)?);
    if !(1..=12).contains(&month) || day < 1 || day > days_in_month(year, month) {
        return Err("no such date");
    }
    if hour > 23 || minute > 59 || second > 60 {
        return Err("no such time");
    }
    let mut i = 19;
    if b.get(i) == Some(&b'.') {
        i += 1;
        let start = i;
        while b.get(i).is_some_and(u8::is_ascii_digit) {
            i += 1;
        }
        if i == start {
            return Err("expected digits after the decimal point");
        }
    }
    let offset = match b.get(i..) {
        Some(b"Z" | b"z") => 0,
        Some([sign @ (b'+' | b'-'), _, _, b':', _, _]) => {
            let (h, m) = (digits(i + 1..i + 3)?, digits(i + 4..i + 6)?);
            if h > 23 || m > 59 {
                return Err("no such time zone offset");
            }
            let minutes = h * 60 + m;
            if *sign == b'-' { -minutes } else { minutes }
        }
        _ => return Err("expected a time zone: Z or ±HH:MM"),
    };
    // A leap second reads as the last second of its minute.
    let seconds = days_from_civil(year, month, day) * 86_400 + hour * 3600 + minute * 60 + second.min(59);
    Ok(seconds - offset * 60)
}

fn days_in_month(year: i64, month: i64) -> i64 {
    match month {
        2 if (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The inverse of [`days_from_civil`].
fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (if m <= 2 { yoe + era * 400 + 1 } else { yoe + era * 400 }, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn utc(s: &str) -> Result<String, &'static str> {
        parse_rfc3339(s).map(format_utc)
    }

    #[test]
    fn timestamps_normalize_to_utc() {
        assert_eq!(utc("1970-01-01T00:00:00Z"), Ok("1970-01-01T00:00:00Z".into()));
        assert_eq!(parse_rfc3339("2024-05-01T10:00:00+02:00"), parse_rfc3339("2024-05-01T08:00:00Z"));
        assert_eq!(utc("2024-05-01t10:30:15.123456+02:00"), Ok("2024-05-01T08:30:15Z".into()));
        assert_eq!(utc("2024-02-29 23:30:00-01:00"), Ok("2024-03-01T00:30:00Z".into()));
        assert_eq!(utc("1999-12-31T23:59:60Z"), Ok("1999-12-31T23:59:59Z".into()));
        assert_eq!(parse_rfc3339("2001-09-09T01:46:40Z"), Ok(1_000_000_000));
        assert_eq!(format_utc(1_700_000_000), "2023-11-14T22:13:20Z");
    }

    #[test]
    fn nonsense_is_refused() {
        for s in [
            "",
            "2024-05-01",
            "2024-05-01T08:00:00",
            "2023-02-29T00:00:00Z",
            "2024-13-01T00:00:00Z",
            "2024-05-01T24:00:00Z",
            "2024-05-01T08:00:00+2:00",
            "2024-05-01T08:00:00.Z",
            "yesterday",
        ] {
            assert!(parse_rfc3339(s).is_err(), "{s}");
        }
    }
}
