//! Archives: time ranges of a camera that the user keeps. Each is one MP4 (assembled like a
//! range download) and a JSON sidecar (camera, start, end, created, note) in the archive
//! folder, named `<camera>.<YYYYMMDD.HHMM>-<YYYYMMDD.HHMM>.<created>`; the reaper never
//! deletes them.

use crate::error::{Error, ErrorKind, IoContext, Result};
use crate::fsutil;
use crate::range::RangeMp4;
use crate::time;
use serde::{Deserialize, Serialize};
use std::io::Write;
use std::path::{Path, PathBuf};

/// An archive's sidecar.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Archive {
    /// File name stem (without `.mp4`/`.json`).
    pub name: String,
    /// Camera id.
    pub camera: String,
    /// First minute, `YYYYMMDD.HHMM` UTC.
    pub start: String,
    /// Last minute, `YYYYMMDD.HHMM` UTC.
    pub end: String,
    /// When it was made, `YYYY-MM-DDTHH:MM:SSZ`.
    pub created: String,
    /// The user's note.
    pub note: String,
    /// Size of the MP4 in bytes.
    pub bytes: u64,
    /// The camera's tags within the range, kept with it.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tags: Vec<crate::tags::Tag>,
}

/// True for names that can only be archive names (safe in paths).
pub fn valid_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 100
        && !name.starts_with('.')
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"_-.T".contains(&b))
}

/// What to archive: `camera`'s range from `start` to `end` (labels `YYYYMMDD.HHMM` for
/// whole minutes, `YYYYMMDD.HHMMSS` for seconds), assembled as `mp4`.
pub struct Request<'a> {
    /// Camera id.
    pub camera: &'a str,
    /// Label of the start.
    pub start: &'a str,
    /// Label of the end.
    pub end: &'a str,
    /// The range, assembled from the minute files.
    pub mp4: &'a RangeMp4,
    /// The user's note.
    pub note: &'a str,
    /// The camera's tags within the range.
    pub tags: &'a [crate::tags::Tag],
}

/// Copies the requested minutes into `dir`, the archive folder, as made at `now`.
pub fn create(dir: &Path, req: &Request, now: time::Micros) -> Result<Archive> {
    let Request {
        camera,
        start,
        end,
        mp4,
        note,
        tags,
    } = *req;
    if note.len() > 1000 {
        return Err(Error::invalid("note: at most 1000 characters"));
    }
    let created = time::iso8601(now);
    // The name's timestamp is the same instant, compacted: 20261123T150203.
    let stamp: String = created
        .chars()
        .filter(|c| c.is_ascii_digit() || *c == 'T')
        .collect();
    let name = format!("{camera}.{start}-{end}.{stamp}");
    std::fs::create_dir_all(dir).ctx(format_args!("creating {}", dir.display()))?;
    let path = dir.join(format!("{name}.mp4"));
    fsutil::write_atomic(&path, |w| {
        let mut r = mp4.reader(0, mp4.len());
        std::io::copy(&mut r, w).ctx(format_args!("writing {}", path.display()))?;
        Ok(())
    })?;
    let a = Archive {
        name: name.clone(),
        camera: camera.to_owned(),
        start: start.to_owned(),
        end: end.to_owned(),
        created,
        note: note.to_owned(),
        bytes: mp4.len(),
        tags: tags.to_vec(),
    };
    let json = serde_json::to_vec_pretty(&a).map_err(|e| Error::invalid(e.to_string()))?;
    fsutil::write_atomic(&dir.join(format!("{name}.json")), |w| {
        w.write_all(&json).ctx("writing the archive sidecar")
    })?;
    log::info!("archived {name} ({} bytes)", a.bytes);
    Ok(a)
}

/// The archives in `dir`, newest first. Sidecars that do not parse are skipped.
pub fn list(dir: &Path) -> Vec<Archive> {
    let mut out: Vec<Archive> = std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .filter(|e| e.path().extension().is_some_and(|x| x == "json"))
        .filter_map(|e| serde_json::from_slice::<Archive>(&std::fs::read(e.path()).ok()?).ok())
        .filter(|a| valid_name(&a.name) && dir.join(format!("{}.mp4", a.name)).is_file())
        .collect();
    out.sort_by(|a, b| b.created.cmp(&a.created).then(b.name.cmp(&a.name)));
    out
}

/// The MP4 of archive `name` in `dir`, if it exists.
pub fn mp4_path(dir: &Path, name: &str) -> Option<PathBuf> {
    let p = dir.join(format!("{name}.mp4"));
    (valid_name(name) && p.is_file() && dir.join(format!("{name}.json")).is_file()).then_some(p)
}

/// Deletes archive `name` from `dir`.
pub fn delete(dir: &Path, name: &str) -> Result<()> {
    let mp4 = mp4_path(dir, name)
        .ok_or_else(|| Error::new(ErrorKind::NotFound, format!("no archive {name:?}")))?;
    std::fs::remove_file(&mp4).ctx(format_args!("removing {}", mp4.display()))?;
    let json = dir.join(format!("{name}.json"));
    std::fs::remove_file(&json).ctx(format_args!("removing {}", json.display()))?;
    log::info!("deleted archive {name}");
    fsutil::sync_dir(dir)
}
