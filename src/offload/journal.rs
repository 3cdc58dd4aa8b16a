//! What has been uploaded, known after a restart without listing the bucket: one small
//! file per stream and day beside the minutes (`<id>.YYYYMMDD.uploaded`), a line per minute
//! whose files are all in the store, appended and synced after the minute's last upload:
//! `HHMM SIZE START_US DURATION_US FRAMES CODEC STILLS`, the size of the MP4 sent (a minute
//! merged after a restart is finished again, bigger, and goes again), what the day view
//! shows of it once it is only in the store, and which stills went (`pt`, `p`, `t` or `-`).
//! `uploaded.txt` in the archive folder has a line per archive. A crash between an upload
//! and its line only makes the minute go again (the same bytes to the same key).

use crate::error::Result;
use crate::mp4::Summary;
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// The journal of stream `id`'s day `day` (`YYYYMMDD`) under its folder `dir`.
pub fn day_file(dir: &Path, id: &str, day: &str) -> PathBuf {
    dir.join(day).join(format!("{id}.{day}.uploaded"))
}

/// A minute in the store.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Uploaded {
    /// Bytes of the MP4 sent.
    pub size: u64,
    /// What the day view shows of it (`None` in a line without it).
    pub summary: Option<Summary>,
    /// The preview and the thumbnail went too.
    pub preview: bool,
    pub thumbnail: bool,
}

impl Uploaded {
    /// The journal line of minute `hhmm`.
    fn line(&self, hhmm: &str) -> String {
        let stills = match (self.preview, self.thumbnail) {
            (true, true) => "pt",
            (true, false) => "p",
            (false, true) => "t",
            (false, false) => "-",
        };
        match &self.summary {
            Some(s) => format!(
                "{hhmm} {} {} {} {} {} {stills}",
                self.size, s.start_us, s.duration_us, s.frames, s.codec
            ),
            None => format!("{hhmm} {}", self.size),
        }
    }

    /// A journal line's fields after `HHMM`.
    fn parse<'a>(mut f: impl Iterator<Item = &'a str>) -> Option<Uploaded> {
        let size = f.next()?.parse().ok()?;
        let mut summary = || {
            Some(Summary {
                start_us: f.next()?.parse().ok()?,
                duration_us: f.next()?.parse().ok()?,
                frames: f.next()?.parse().ok()?,
                codec: f.next()?.to_owned(),
            })
        };
        let summary = summary();
        let stills = f.next().unwrap_or("-");
        Some(Uploaded {
            size,
            preview: summary.is_some() && stills.contains('p'),
            thumbnail: summary.is_some() && stills.contains('t'),
            summary,
        })
    }
}

/// Every minute of stream `id` in its journals under `dir`.
pub fn load(dir: &Path, id: &str) -> BTreeMap<i64, Uploaded> {
    let mut out = BTreeMap::new();
    for day in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let name = day.file_name();
        let Some(d) = name.to_str().and_then(crate::time::Date::parse) else {
            continue;
        };
        let Ok(text) = std::fs::read_to_string(day_file(dir, id, &d.compact())) else {
            continue;
        };
        // A torn last line (a crash while appending) is not a minute.
        for line in text.split_inclusive('\n').filter(|l| l.ends_with('\n')) {
            let mut parts = line.split_whitespace();
            let (Some(m), Some(u)) = (
                parts.next().and_then(crate::time::parse_hhmm),
                Uploaded::parse(&mut parts),
            ) else {
                continue;
            };
            out.insert(d.days() * 1440 + m, u);
        }
    }
    out
}

/// Appends `line` to the journal at `path` and syncs it.
pub fn append(path: &Path, line: &str) -> Result<()> {
    crate::fsutil::append_line(path, line, true)
}

/// Records that minute `minute` of stream `id` is uploaded as `u`.
pub fn record(dir: &Path, id: &str, minute: i64, u: &Uploaded) -> Result<()> {
    let (day, hhmm) = crate::time::minute_name(minute);
    append(&day_file(dir, id, &day), &u.line(&hhmm))
}

/// The archives recorded as uploaded (their names).
pub fn load_archives(archive_dir: &Path) -> BTreeSet<String> {
    std::fs::read_to_string(archive_dir.join("uploaded.txt"))
        .unwrap_or_default()
        .split_inclusive('\n')
        .filter(|l| l.ends_with('\n'))
        .map(|l| l.trim().to_owned())
        .filter(|l| !l.is_empty())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_survive_and_a_torn_line_does_not_count() {
        let dir = std::env::temp_dir().join(format!("pinvr-journal-{}", std::process::id()));
        let m = crate::time::Date::parse("20261123").unwrap().days() * 1440 + 14 * 60;
        std::fs::create_dir_all(dir.join("20261123")).unwrap();
        let u = |size, summary: Option<Summary>| Uploaded {
            size,
            preview: summary.is_some(),
            thumbnail: summary.is_some(),
            summary,
        };
        let s = Summary {
            codec: "avc1.64001f".into(),
            start_us: m * 60_000_000 + 1_500,
            duration_us: 59_900_000,
            frames: 599,
        };
        record(&dir, "front", m, &u(100, None)).unwrap();
        record(&dir, "front", m + 1, &u(200, Some(s.clone()))).unwrap();
        record(&dir, "front", m + 1, &u(300, Some(s.clone()))).unwrap();
        let f = day_file(&dir, "front", "20261123");
        let mut text = std::fs::read_to_string(&f).unwrap();
        assert!(
            text.ends_with("1401 300 1795442400001500 59900000 599 avc1.64001f pt\n"),
            "{text}"
        );
        text.push_str("14");
        std::fs::write(&f, text).unwrap();
        // The last line of a minute counts: it went again, bigger.
        assert_eq!(
            load(&dir, "front").into_iter().collect::<Vec<_>>(),
            vec![(m, u(100, None)), (m + 1, u(300, Some(s)))]
        );
        assert!(load(&dir, "back").is_empty());
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
