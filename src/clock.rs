//! The wall clock, read in one place, and UTC text of a timestamp both ways. Pure logic (evaluators, alert
//! decisions, formatting) takes `now` as a parameter instead; clippy's `disallowed-methods` keeps
//! `SystemTime::now` here.

use crate::domain::Millis;

/// Milliseconds since the Unix epoch.
#[allow(clippy::disallowed_methods)]
pub fn now_millis() -> Millis {
    let since_epoch =
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
    i64::try_from(since_epoch.as_millis()).unwrap_or(i64::MAX)
}

/// Days since 1970-01-01 → (year, month, day), proleptic Gregorian (Howard Hinnant's algorithm).
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

/// The UTC date of `at` as `YYYYMMDD`.
pub fn utc_date_digits(at: Millis) -> String {
    let (year, month, day) = civil_from_days(at.div_euclid(86_400_000));
    format!("{year:04}{month:02}{day:02}")
}

pub fn utc_text(at: Millis) -> String {
    let secs = at.div_euclid(1000);
    let (year, month, day) = civil_from_days(secs.div_euclid(86_400));
    let rem = secs.rem_euclid(86_400);
    format!(
        "{year:04}-{month:02}-{day:02} {:02}:{:02}:{:02} UTC",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

/// RFC 3339 in UTC with milliseconds, `2026-12-02T23:41:32.120Z`: what JSON APIs (PagerDuty,
/// Alertmanager) read.
pub fn rfc3339(at: Millis) -> String {
    let secs = at.div_euclid(1000);
    let (year, month, day) = civil_from_days(secs.div_euclid(86_400));
    let rem = secs.rem_euclid(86_400);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{:03}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60,
        at.rem_euclid(1000)
    )
}

/// Epoch milliseconds, or a UTC date and time `YYYY-MM-DD[ HH:MM[:SS]]`.
pub fn parse_utc(text: &str) -> Result<Millis, String> {
    let text = text.trim();
    if let Ok(ms) = text.parse::<i64>() {
        return Ok(ms);
    }
    let bad = || format!("{text:?} is not epoch milliseconds or YYYY-MM-DD HH:MM:SS (UTC)");
    let (date, time) = text.split_once([' ', 'T']).unwrap_or((text, "00:00:00"));
    let d: Vec<i64> =
        date.split('-').map(|p| p.parse().map_err(|_| bad())).collect::<Result<_, _>>()?;
    let t: Vec<i64> = time
        .trim_end_matches('Z')
        .split(':')
        .map(|p| p.parse().map_err(|_| bad()))
        .collect::<Result<_, _>>()?;
    let (&[y, m, day], [h, min, rest @ ..]) = (d.as_slice(), t.as_slice()) else {
        return Err(bad());
    };
    if !(1..=12).contains(&m) || !(1..=31).contains(&day) {
        return Err(bad());
    }
    // Days from the civil date (Howard Hinnant's algorithm, the inverse of `civil_from_days`).
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    let secs = rest.first().copied().unwrap_or(0);
    Ok(((days * 86_400) + h * 3600 + min * 60 + secs) * 1000)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn instants_read_the_same_in_every_text() {
        let at = parse_utc("2027-01-15 08:00:00").unwrap() + 42;
        assert_eq!(at, 1_800_000_000_042);
        assert_eq!(rfc3339(at), "2027-01-15T08:00:00.042Z");
        assert_eq!(utc_text(at), "2027-01-15 08:00:00 UTC");
        assert_eq!(utc_date_digits(at), "20270115");
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00.000Z");
        assert_eq!(rfc3339(-1), "1969-12-31T23:59:59.999Z");
    }
}
