//! UTC calendar arithmetic for file names (`YYYYMMDD`, `HHMM`): days-from-civil and back, so
//! no time-zone crate is needed; the web UI shows local time in the browser.

/// Microseconds since the Unix epoch.
pub type Micros = i64;

/// A UTC calendar date.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Date {
    /// Year, e.g. 2026.
    pub year: i32,
    /// Month, 1..=12.
    pub month: u32,
    /// Day of month, 1..=31.
    pub day: u32,
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
pub fn days_from_civil(year: i32, month: u32, day: u32) -> i64 {
    let y = i64::from(year) - i64::from(month <= 2);
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let m = i64::from(month);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(day) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The date of `days` since 1970-01-01.
pub fn civil_from_days(days: i64) -> Date {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = (yoe + era * 400 + i64::from(month <= 2)) as i32;
    Date { year, month, day }
}

impl Date {
    /// The date as `YYYYMMDD`.
    pub fn compact(&self) -> String {
        format!("{:04}{:02}{:02}", self.year, self.month, self.day)
    }

    /// Parses `YYYYMMDD` or `YYMMDD` (20YY), checking that the date exists.
    pub fn parse(s: &str) -> Option<Date> {
        if !s.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        let (year, rest) = match s.len() {
            8 => (s[..4].parse().ok()?, &s[4..]),
            6 => (2000 + s[..2].parse::<i32>().ok()?, &s[2..]),
            _ => return None,
        };
        let month: u32 = rest[..2].parse().ok()?;
        let day: u32 = rest[2..].parse().ok()?;
        let d = Date { year, month, day };
        (month >= 1 && day >= 1 && civil_from_days(d.days()) == d).then_some(d)
    }

    /// Days since 1970-01-01.
    pub fn days(&self) -> i64 {
        days_from_civil(self.year, self.month, self.day)
    }
}

/// Whole minutes since the Unix epoch of a time in microseconds (floor).
pub fn minute_of(t: Micros) -> i64 {
    t.div_euclid(60_000_000)
}

/// `YYYYMMDD` and `HHMM` (UTC) of the minute `minute` (minutes since the epoch).
pub fn minute_name(minute: i64) -> (String, String) {
    let days = minute.div_euclid(1440);
    let m = minute.rem_euclid(1440);
    (
        civil_from_days(days).compact(),
        format!("{:02}{:02}", m / 60, m % 60),
    )
}

/// Parses `HHMM` into minutes after midnight.
pub fn parse_hhmm(s: &str) -> Option<i64> {
    if s.len() != 4 || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let h: i64 = s[..2].parse().ok()?;
    let m: i64 = s[2..].parse().ok()?;
    (h < 24 && m < 60).then_some(h * 60 + m)
}

/// A time as `YYYY-MM-DDTHH:MM:SSZ` (UTC).
pub fn iso8601(t: Micros) -> String {
    let secs = t.div_euclid(1_000_000);
    let d = civil_from_days(secs.div_euclid(86_400));
    let s = secs.rem_euclid(86_400);
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}Z",
        d.year,
        d.month,
        d.day,
        s / 3600,
        s % 3600 / 60,
        s % 60
    )
}

/// Parses an RFC 3339 time (`2026-11-23T14:36:50Z`, `2026-11-23T15:36:50.5+01:00`) into
/// microseconds since the epoch.
pub fn parse_rfc3339(s: &str) -> Option<Micros> {
    let s = s.trim();
    let b = s.as_bytes();
    if b.len() < 20 || b[4] != b'-' || b[7] != b'-' || !matches!(b[10], b'T' | b't' | b' ') {
        return None;
    }
    if b[13] != b':' || b[16] != b':' {
        return None;
    }
    let num = |r: std::ops::Range<usize>| -> Option<i64> {
        let t = s.get(r)?;
        t.bytes()
            .all(|c| c.is_ascii_digit())
            .then(|| t.parse().ok())
            .flatten()
    };
    let (year, month, day) = (num(0..4)?, num(5..7)?, num(8..10)?);
    let (h, mi, sec) = (num(11..13)?, num(14..16)?, num(17..19)?);
    let date = Date::parse(&format!("{year:04}{month:02}{day:02}"))?;
    if h > 23 || mi > 59 || sec > 60 {
        return None;
    }
    let mut rest = &s[19..];
    let mut frac_us = 0i64;
    if let Some(f) = rest.strip_prefix('.') {
        let digits = f.bytes().take_while(u8::is_ascii_digit).count();
        if digits == 0 {
            return None;
        }
        let d = &f[..digits.min(6)];
        frac_us = d.parse::<i64>().ok()? * 10i64.pow(6 - d.len() as u32);
        rest = &f[digits..];
    }
    let offset_s = match rest {
        "Z" | "z" => 0,
        o if o.len() == 6 && (o.starts_with('+') || o.starts_with('-')) && &o[3..4] == ":" => {
            let oh: i64 = o[1..3].parse().ok()?;
            let om: i64 = o[4..6].parse().ok()?;
            if oh > 23 || om > 59 {
                return None;
            }
            let v = oh * 3600 + om * 60;
            if o.starts_with('-') { -v } else { v }
        }
        _ => return None,
    };
    let secs = date.days() * 86_400 + h * 3600 + mi * 60 + sec.min(59) - offset_s;
    Some(secs * 1_000_000 + frac_us)
}

/// A time as `YYYY-MM-DDTHH:MM:SS.mmmZ` when it has a fraction of a second, else as
/// [`iso8601`].
pub fn rfc3339(t: Micros) -> String {
    let ms = t.rem_euclid(1_000_000) / 1000;
    let base = iso8601(t);
    if ms == 0 {
        base
    } else {
        format!("{}.{ms:03}Z", &base[..19])
    }
}

/// The current time in microseconds since the Unix epoch.
pub fn now_micros() -> Micros {
    let d = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    d.as_micros() as Micros
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_every_day_for_centuries() {
        for days in -100_000..100_000 {
            let d = civil_from_days(days);
            assert_eq!(days_from_civil(d.year, d.month, d.day), days);
        }
        assert_eq!(days_from_civil(1970, 1, 1), 0);
        assert_eq!(civil_from_days(20_415).compact(), "20251123");
    }

    #[test]
    fn parses_dates_and_rejects_impossible_ones() {
        assert_eq!(Date::parse("20261123").unwrap().compact(), "20261123");
        assert_eq!(Date::parse("261123").unwrap().compact(), "20261123");
        assert_eq!(Date::parse("20240229").unwrap().compact(), "20240229");
        for bad in [
            "20230229", "20261301", "20261100", "2026112", "2026-1-1", "", "+0261123",
        ] {
            assert!(Date::parse(bad).is_none(), "{bad}");
        }
    }

    #[test]
    fn parses_rfc3339() {
        let t =
            days_from_civil(2026, 11, 23) * 86_400_000_000 + (14 * 3600 + 36 * 60 + 50) * 1_000_000;
        assert_eq!(parse_rfc3339("2026-11-23T14:36:50Z"), Some(t));
        assert_eq!(parse_rfc3339("2026-11-23T15:36:50+01:00"), Some(t));
        assert_eq!(parse_rfc3339("2026-11-23T14:36:50.25Z"), Some(t + 250_000));
        assert_eq!(rfc3339(t + 250_000), "2026-11-23T14:36:50.250Z");
        assert_eq!(rfc3339(t), "2026-11-23T14:36:50Z");
        for bad in [
            "",
            "2026-11-23",
            "2026-11-23T14:36Z",
            "2026-02-30T00:00:00Z",
            "2026-11-23T24:00:00Z",
            "2026-11-23T14:36:50",
            "2026-11-23T14:36:50+1:00",
            "yesterday",
        ] {
            assert_eq!(parse_rfc3339(bad), None, "{bad}");
        }
    }

    #[test]
    fn names_minutes() {
        let t = days_from_civil(2026, 11, 23) * 86_400_000_000 + (14 * 60 + 5) * 60_000_000 + 7;
        assert_eq!(
            minute_name(minute_of(t)),
            ("20261123".into(), "1405".into())
        );
        assert_eq!(iso8601(t), "2026-11-23T14:05:00Z");
        assert_eq!(parse_hhmm("2359"), Some(1439));
        assert_eq!(parse_hhmm("2400"), None);
        assert_eq!(parse_hhmm("12a0"), None);
    }
}
