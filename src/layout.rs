//! Where a camera's files live and what they are called (UTC, see DESIGN.md):
//! `<camera dir>/YYYYMMDD/<camera>.YYYYMMDD.HHMM.{chunk,mp4,jpg,thumb.jpg}`. A minute
//! recorded again after the clock was set back (its name already taken) is kept beside the
//! first as `<camera>.YYYYMMDD.HHMM.rN.*`, N from 1: a repeat of that minute.

use crate::time;
use std::path::{Path, PathBuf};

/// The kinds of file a minute has.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FileKind {
    /// The journal of a minute being recorded.
    Chunk,
    /// The finished minute.
    Mp4,
    /// Full-size preview of the first frame.
    Preview,
    /// Thumbnail of the first frame.
    Thumbnail,
}

impl FileKind {
    /// The file-name suffix of this kind.
    pub fn suffix(self) -> &'static str {
        match self {
            FileKind::Chunk => ".chunk",
            FileKind::Mp4 => ".mp4",
            FileKind::Preview => ".jpg",
            FileKind::Thumbnail => ".thumb.jpg",
        }
    }
}

/// The path of `kind` for `camera`'s minute `minute` (minutes since the epoch) under `dir`.
pub fn minute_path(dir: &Path, camera: &str, minute: i64, kind: FileKind) -> PathBuf {
    let (day, hhmm) = time::minute_name(minute);
    dir.join(&day)
        .join(format!("{camera}.{day}.{hhmm}{}", kind.suffix()))
}

/// The path of `kind` of repeat `n` (1, 2, ...) of `camera`'s minute `minute` under `dir`.
pub fn repeat_path(dir: &Path, camera: &str, minute: i64, n: u32, kind: FileKind) -> PathBuf {
    let (day, hhmm) = time::minute_name(minute);
    dir.join(&day)
        .join(format!("{camera}.{day}.{hhmm}.r{n}{}", kind.suffix()))
}

/// The repeats with an MP4 of `camera`'s minutes on the UTC day of minute `minute`: (minute,
/// number, MP4), ascending.
pub fn repeats_of_day(dir: &Path, camera: &str, minute: i64) -> Vec<(i64, u32, PathBuf)> {
    let day = minute_path(dir, camera, minute, FileKind::Mp4);
    let mut out: Vec<(i64, u32, PathBuf)> = std::fs::read_dir(day.parent().unwrap_or(dir))
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| {
            let name = e.file_name().into_string().ok()?;
            let n = repeat_number(&name);
            match parse_name(&name)? {
                (c, m, FileKind::Mp4) if c == camera && n > 0 => Some((m, n, e.path())),
                _ => None,
            }
        })
        .collect();
    out.sort();
    out
}

/// Which repeat of its minute a file named `name` is: 0 for the minute's own files.
pub fn repeat_number(name: &str) -> u32 {
    split_repeat(strip_kind(name).map_or(name, |(stem, _)| stem)).1
}

/// `stem` without a repeat's `.rN`, and N (0 if none; N is written without leading zeros).
fn split_repeat(stem: &str) -> (&str, u32) {
    match stem.rsplit_once(".r") {
        Some((rest, n))
            if !n.is_empty() && !n.starts_with('0') && n.bytes().all(|b| b.is_ascii_digit()) =>
        {
            n.parse().map_or((stem, 0), |n| (rest, n))
        }
        _ => (stem, 0),
    }
}

/// `name` without its kind's suffix, and the kind.
fn strip_kind(name: &str) -> Option<(&str, FileKind)> {
    // `.thumb.jpg` before `.jpg`, so a thumbnail is not taken for a preview.
    let kinds = [
        FileKind::Thumbnail,
        FileKind::Preview,
        FileKind::Mp4,
        FileKind::Chunk,
    ];
    kinds
        .iter()
        .find_map(|&k| name.strip_suffix(k.suffix()).map(|s| (s, k)))
}

/// The same minute's file of another kind, from any of its paths.
pub fn sibling(path: &Path, from: FileKind, to: FileKind) -> Option<PathBuf> {
    let name = path.file_name()?.to_str()?;
    let stem = name.strip_suffix(from.suffix())?;
    Some(path.with_file_name(format!("{stem}{}", to.suffix())))
}

/// Parses a file name `<camera>.YYYYMMDD.HHMM<suffix>` (or a repeat's,
/// `<camera>.YYYYMMDD.HHMM.rN<suffix>`: see [`repeat_number`]): the camera id, the minute
/// (since the epoch) and the kind. Anything else (temporary files, strangers) gives `None`.
pub fn parse_name(name: &str) -> Option<(&str, i64, FileKind)> {
    let (stem, kind) = strip_kind(name)?;
    let (rest, hhmm) = split_repeat(stem).0.rsplit_once('.')?;
    let (camera, day) = rest.rsplit_once('.')?;
    if day.len() != 8 || camera.is_empty() {
        return None;
    }
    let date = time::Date::parse(day)?;
    let minute = date.days() * 1440 + time::parse_hhmm(hhmm)?;
    Some((camera, minute, kind))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        let minute = time::Date::parse("20261123").unwrap().days() * 1440 + 14 * 60 + 5;
        let p = minute_path(Path::new("/d/front"), "front", minute, FileKind::Thumbnail);
        assert_eq!(
            p,
            Path::new("/d/front/20261123/front.20261123.1405.thumb.jpg")
        );
        let name = p.file_name().unwrap().to_str().unwrap();
        assert_eq!(
            parse_name(name),
            Some(("front", minute, FileKind::Thumbnail))
        );
        assert_eq!(
            sibling(&p, FileKind::Thumbnail, FileKind::Mp4).unwrap(),
            Path::new("/d/front/20261123/front.20261123.1405.mp4")
        );
        let r2 = repeat_path(Path::new("/d/front"), "front", minute, 2, FileKind::Chunk);
        assert_eq!(
            r2,
            Path::new("/d/front/20261123/front.20261123.1405.r2.chunk")
        );
        let name = r2.file_name().unwrap().to_str().unwrap();
        assert_eq!(parse_name(name), Some(("front", minute, FileKind::Chunk)));
        assert_eq!(repeat_number(name), 2);
        assert_eq!(repeat_number("front.20261123.1405.r2.thumb.jpg"), 2);
        assert_eq!(repeat_number("front.20261123.1405.mp4"), 0);
        assert_eq!(
            sibling(&r2, FileKind::Chunk, FileKind::Mp4).unwrap(),
            Path::new("/d/front/20261123/front.20261123.1405.r2.mp4")
        );
        // A camera named like a repeat is still that camera.
        assert_eq!(
            parse_name("x.r5.20261123.1405.mp4"),
            Some(("x.r5", minute, FileKind::Mp4))
        );
        for bad in [
            "front.20261123.1405.r0.mp4",
            "front.20261123.1405.r01.mp4",
            "front.20261123.1405.r.mp4",
            "front.20261123.1405.mp4.tmp",
            "front.20261123.2405.mp4",
            "front.2026112.1405.mp4",
            ".20261123.1405.mp4",
            "x.mp4",
        ] {
            assert_eq!(parse_name(bad), None, "{bad}");
        }
    }
}
