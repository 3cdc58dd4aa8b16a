//! Where a camera's files live and what they are called (UTC, see DESIGN.md):
//! `<camera dir>/YYYYMMDD/<camera>.YYYYMMDD.HHMM.{chunk,mp4,jpg,thumb.jpg}`.

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

/// The same minute's file of another kind, from any of its paths.
pub fn sibling(path: &Path, from: FileKind, to: FileKind) -> Option<PathBuf> {
    let name = path.file_name()?.to_str()?;
    let stem = name.strip_suffix(from.suffix())?;
    Some(path.with_file_name(format!("{stem}{}", to.suffix())))
}

/// Parses a file name `<camera>.YYYYMMDD.HHMM<suffix>`: the camera id, the minute (since
/// the epoch) and the kind. Anything else (temporary files, strangers) gives `None`.
pub fn parse_name(name: &str) -> Option<(&str, i64, FileKind)> {
    // `.thumb.jpg` before `.jpg`, so a thumbnail is not taken for a preview.
    let kinds = [
        FileKind::Thumbnail,
        FileKind::Preview,
        FileKind::Mp4,
        FileKind::Chunk,
    ];
    let (stem, kind) = kinds
        .iter()
        .find_map(|&k| name.strip_suffix(k.suffix()).map(|s| (s, k)))?;
    let (rest, hhmm) = stem.rsplit_once('.')?;
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
        for bad in [
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
