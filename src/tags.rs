//! Tags: labelled time spans of a camera that people and scripts add ("the red box",
//! "delivery"), kept with the minutes they point at: in the day folder of their start,
//! `<camera dir>/YYYYMMDD/<camera>.YYYYMMDD.tags.json`, so they are reaped with the day's
//! minutes and copied into the archives that cover them.

use crate::error::{Error, IoContext, Result};
use crate::fsutil;
use crate::time::{self, Micros};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

/// Longest tag.
pub const MAX_SPAN_US: i64 = 86_400_000_000;
/// Tags per camera-day, at most.
const MAX_PER_DAY: usize = 10_000;

/// One writer of tag files at a time (read, add, write back).
static WRITING: Mutex<()> = Mutex::new(());

/// A tag as stored and served.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Tag {
    /// Its id (random).
    pub id: String,
    /// Camera id.
    pub camera: String,
    /// Start, RFC 3339 UTC.
    pub start: String,
    /// End, RFC 3339 UTC.
    pub end: String,
    /// Short label.
    pub label: String,
    /// Longer note.
    #[serde(default)]
    pub note: String,
    /// When it was made, RFC 3339 UTC.
    pub created: String,
}

impl Tag {
    /// Start and end in microseconds.
    pub fn span(&self) -> Option<(Micros, Micros)> {
        Some((
            time::parse_rfc3339(&self.start)?,
            time::parse_rfc3339(&self.end)?,
        ))
    }
}

/// A tag to be added.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewTag {
    /// Camera id.
    pub camera: String,
    /// Start (RFC 3339).
    pub start: String,
    /// End (RFC 3339); the start if omitted.
    #[serde(default)]
    pub end: Option<String>,
    /// Short label (1 to 100 characters).
    pub label: String,
    /// Longer note (up to 1000 characters).
    #[serde(default)]
    pub note: String,
}

fn day_file(dir: &Path, camera: &str, start_us: Micros) -> PathBuf {
    let (day, _) = time::minute_name(time::minute_of(start_us));
    dir.join(&day).join(format!("{camera}.{day}.tags.json"))
}

fn read(path: &Path) -> Vec<Tag> {
    std::fs::read(path)
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok())
        .unwrap_or_default()
}

/// Checks `new` and stores it under `dir` (the camera's folder), made at `now`.
pub fn add(dir: &Path, new: &NewTag, now: Micros) -> Result<Tag> {
    let start = time::parse_rfc3339(&new.start)
        .ok_or_else(|| Error::invalid(format!("start {:?} is not an RFC 3339 time", new.start)))?;
    let end = match &new.end {
        Some(e) => time::parse_rfc3339(e)
            .ok_or_else(|| Error::invalid(format!("end {e:?} is not an RFC 3339 time")))?,
        None => start,
    };
    if end < start {
        return Err(Error::invalid("the tag ends before it starts"));
    }
    if end - start > MAX_SPAN_US {
        return Err(Error::invalid("a tag may span at most a day"));
    }
    if start > now + 60_000_000 {
        return Err(Error::invalid("the tag starts in the future"));
    }
    let label = new.label.trim();
    if label.is_empty() || label.chars().count() > 100 {
        return Err(Error::invalid("label: 1 to 100 characters"));
    }
    if new.note.chars().count() > 1000 {
        return Err(Error::invalid("note: at most 1000 characters"));
    }
    let tag = Tag {
        id: crate::random::token()[..12].to_owned(),
        camera: new.camera.clone(),
        start: time::rfc3339(start),
        end: time::rfc3339(end),
        label: label.to_owned(),
        note: new.note.clone(),
        created: time::iso8601(now),
    };
    let path = day_file(dir, &new.camera, start);
    let _one = WRITING.lock().unwrap_or_else(|e| e.into_inner());
    let mut all = read(&path);
    if all.len() >= MAX_PER_DAY {
        return Err(Error::invalid(format!("at most {MAX_PER_DAY} tags a day")));
    }
    all.push(tag.clone());
    let day = path.parent().expect("a day folder");
    std::fs::create_dir_all(day).ctx(format_args!("creating {}", day.display()))?;
    let json = serde_json::to_vec_pretty(&all).map_err(|e| Error::invalid(e.to_string()))?;
    fsutil::write_bytes_atomic(&path, &json)?;
    Ok(tag)
}

/// `camera`'s tags under `dir` that overlap `from..=to` (microseconds), by start.
pub fn list(dir: &Path, camera: &str, from: Micros, to: Micros) -> Vec<Tag> {
    let mut out = Vec::new();
    // A tag lives in its start's day, and lasts at most a day: look one day further back.
    let (first, last) = (
        from.div_euclid(86_400_000_000) - 1,
        to.div_euclid(86_400_000_000),
    );
    for d in first..=last.min(first + 400) {
        for t in read(&day_file(dir, camera, d * 86_400_000_000)) {
            if let Some((s, e)) = t.span()
                && s <= to
                && e >= from
            {
                out.push(t);
            }
        }
    }
    out.sort_by(|a, b| a.start.cmp(&b.start));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tags_are_checked_stored_and_found_by_overlap() {
        let dir = std::env::temp_dir().join(format!("pinvr-tags-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let now = time::parse_rfc3339("2026-11-24T12:00:00Z").unwrap();
        let new = |start: &str, end: Option<&str>, label: &str| NewTag {
            camera: "cam".into(),
            start: start.into(),
            end: end.map(str::to_owned),
            label: label.into(),
            note: String::new(),
        };
        let a = add(
            &dir,
            &new("2026-11-23T23:50:00Z", Some("2026-11-24T00:10:00Z"), "late"),
            now,
        )
        .unwrap();
        add(&dir, &new("2026-11-24T09:00:00Z", None, "delivery"), now).unwrap();
        for bad in [
            new("yesterday", None, "x"),
            new("2026-11-24T09:00:00Z", Some("2026-11-24T08:00:00Z"), "x"),
            new("2026-11-24T09:00:00Z", None, ""),
            new("2026-11-22T09:00:00Z", Some("2026-11-24T09:00:00Z"), "x"),
            new("2026-12-24T09:00:00Z", None, "x"),
        ] {
            assert!(add(&dir, &bad, now).is_err(), "{bad:?}");
        }
        let day = |s: &str| time::parse_rfc3339(s).unwrap();
        // The day after the late tag's start still sees it.
        let got = list(
            &dir,
            "cam",
            day("2026-11-24T00:00:00Z"),
            day("2026-11-24T23:59:59Z"),
        );
        assert_eq!(
            got.iter().map(|t| t.label.as_str()).collect::<Vec<_>>(),
            ["late", "delivery"]
        );
        assert_eq!(got[0], a);
        assert!(
            list(
                &dir,
                "cam",
                day("2026-11-24T01:00:00Z"),
                day("2026-11-24T08:00:00Z")
            )
            .is_empty()
        );
        assert!(
            list(
                &dir,
                "other",
                day("2026-11-23T00:00:00Z"),
                day("2026-11-25T00:00:00Z")
            )
            .is_empty()
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
