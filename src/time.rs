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
