//! Formatting for people and for URLs, shared by every layer: byte counts (`1.5 MiB`),
//! minute labels (`YYYYMMDD.HHMM`, UTC) with the one parser of those labels, and URLs with
//! their credentials removed. Depends only on the calendar in [`crate::time`].

use crate::time::{self, Date};

/// Formats a byte count for people: `512.0 B`, `1.5 MiB`.
pub fn human_bytes(n: u64) -> String {
    let units = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut v = n as f64;
    let mut u = 0;
    while v >= 1024.0 && u + 1 < units.len() {
        v /= 1024.0;
        u += 1;
    }
    format!("{v:.1} {}", units[u])
}

/// `YYYYMMDD.HHMM` (UTC) of a minute since the epoch.
pub fn minute_label(minute: i64) -> String {
    let (d, t) = time::minute_name(minute);
    format!("{d}.{t}")
}

/// Parses `date` (YYYYMMDD or YYMMDD) and `hhmm` into minutes since the epoch; the error
/// says which part is wrong.
pub fn parse_minute(date: &str, hhmm: &str) -> Result<i64, String> {
    let d =
        Date::parse(date).ok_or_else(|| format!("{date:?} is not a date (YYYYMMDD or YYMMDD)"))?;
    let m = time::parse_hhmm(hhmm).ok_or_else(|| format!("{hhmm:?} is not a time (HHMM, UTC)"))?;
    Ok(d.days() * 1440 + m)
}

/// Parses `date` (YYYYMMDD or YYMMDD) and `hhmmss` into microseconds since the epoch.
pub fn parse_second(date: &str, hhmmss: &str) -> Result<i64, String> {
    let bad = || format!("{hhmmss:?} is not a time (HHMMSS, UTC)");
    if hhmmss.len() != 6 || !hhmmss.bytes().all(|b| b.is_ascii_digit()) {
        return Err(bad());
    }
    let minute =
        parse_minute(date, &hhmmss[..4]).map_err(|e| if e.contains("HHMM") { bad() } else { e })?;
    let sec: i64 = hhmmss[4..].parse().map_err(|_| bad())?;
    if sec > 59 {
        return Err(bad());
    }
    Ok((minute * 60 + sec) * 1_000_000)
}

/// Microseconds since the epoch of a label `YYYYMMDD.HHMM` or `YYYYMMDD.HHMMSS`.
pub fn parse_label(s: &str) -> Result<i64, String> {
    match s.split_once('.') {
        Some((d, t)) if t.len() == 6 => parse_second(d, t),
        _ => parse_minute_label(s).map(|m| m * 60_000_000),
    }
}

/// `YYYYMMDD.HHMMSS` (UTC) of a time in microseconds (whole seconds, rounded down).
pub fn second_label(us: i64) -> String {
    let secs = us.div_euclid(1_000_000);
    format!(
        "{}{:02}",
        minute_label(secs.div_euclid(60)),
        secs.rem_euclid(60)
    )
}

/// Parses a minute label `YYYYMMDD.HHMM` (or `YYMMDD.HHMM`) into minutes since the epoch.
pub fn parse_minute_label(s: &str) -> Result<i64, String> {
    let (d, t) = s
        .split_once('.')
        .ok_or_else(|| format!("{s:?} is not YYYYMMDD.HHMM"))?;
    parse_minute(d, t)
}

/// `url` with any user name and password removed, for messages.
pub fn redact_url(url: &str) -> String {
    let Some(scheme_end) = url.find("://") else {
        return url.to_owned();
    };
    let rest = &url[scheme_end + 3..];
    let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    match rest[..authority_end].rfind('@') {
        Some(at) => format!("{}{}", &url[..scheme_end + 3], &rest[at + 1..]),
        None => url.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_and_parses() {
        assert_eq!(human_bytes(512), "512.0 B");
        assert_eq!(human_bytes(3 << 19), "1.5 MiB");
        let m = parse_minute_label("20261123.1405").unwrap();
        assert_eq!(minute_label(m), "20261123.1405");
        assert_eq!(parse_minute_label("261123.1405"), Ok(m));
        assert!(parse_minute_label("20261123").is_err());
        assert!(
            parse_minute_label("20261123.2400")
                .unwrap_err()
                .contains("HHMM")
        );
        assert!(
            parse_minute_label("2026-11-23.1400")
                .unwrap_err()
                .contains("date")
        );
    }
}
