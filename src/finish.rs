//! Finishing a minute: its chunk becomes an MP4 and two JPEGs beside it, published
//! atomically; only then is the chunk removed, so a crash at any point loses nothing.

use crate::error::{ErrorKind, IoContext, Result};
use crate::fsutil;
use crate::layout::{self, FileKind, sibling};
use crate::preview::Previewer;
use crate::recorder::Closed;
use crate::remux::{self, Remuxed};
use crate::signature;
use std::path::{Path, PathBuf};

/// Why a main stream's minute has no preview while its sub stream records.
pub const FROM_SUB: &str = "previews come from the sub stream";

/// How the preview's refusal of a codec openh264 cannot decode begins.
pub const NO_DECODER: &str = "no preview: H.265";

/// A finished minute, as published to the index (and whoever else listens).
#[derive(Debug)]
pub struct Finished {
    /// Camera id.
    pub camera: String,
    /// The minute (since the epoch).
    pub minute: i64,
    /// The MP4 written.
    pub mp4: PathBuf,
    /// The remux's report.
    pub remux: Remuxed,
    /// Why there is no preview, when there is none.
    pub no_preview: Option<String>,
}

/// Turns `chunk` (`<stem>.chunk`) into `<stem>.mp4`, `<stem>.jpg` and `<stem>.thumb.jpg`,
/// then deletes the chunk. A chunk without any usable frame is reported as a
/// [`ErrorKind::Corrupt`] error and set aside as `<stem>.chunk.corrupt` (removed if empty),
/// so it is never finished again and never lost; other failures leave the chunk in place.
pub fn finish_chunk(chunk: &Path) -> Result<Finished> {
    let closed = closed_of(chunk).ok_or_else(|| {
        crate::Error::invalid(format!(
            "{} is not named <camera>.YYYYMMDD.HHMM.chunk",
            chunk.display()
        ))
    })?;
    let mut previewer = Previewer::default();
    let result = finish_chunk_with(&closed, &mut previewer, true);
    previewer.release();
    result
}

/// The [`Closed`] minute a chunk file on disk stands for, from its name.
fn closed_of(chunk: &Path) -> Option<Closed> {
    let name = chunk.file_name()?.to_str()?;
    match layout::parse_name(name)? {
        (camera, minute, FileKind::Chunk) => Some(Closed {
            camera: camera.to_owned(),
            minute,
            chunk: chunk.to_owned(),
            index: None,
        }),
        _ => None,
    }
}

/// [`finish_chunk`] of a closed minute with the caller's [`Previewer`], kept for the next
/// minutes; without a preview (and change-search signature) unless `preview`.
pub fn finish_chunk_with(
    closed: &Closed,
    previewer: &mut Previewer,
    preview: bool,
) -> Result<Finished> {
    let chunk = closed.chunk.as_path();
    let to = |k| {
        sibling(chunk, FileKind::Chunk, k).ok_or_else(|| {
            crate::Error::invalid(format!("{} is not named *.chunk", chunk.display()))
        })
    };
    let (mp4, jpg, thumb) = (
        to(FileKind::Mp4)?,
        to(FileKind::Preview)?,
        to(FileKind::Thumbnail)?,
    );
    let mut index = closed.index.as_deref();
    if mp4.exists() && rebuild_from_covering_mp4(chunk, &mp4)? {
        log::info!(
            "{}: its MP4 already held every frame of it (a power cut after the MP4 was \
             published); finishing it from the MP4",
            chunk.display()
        );
        index = None;
    }
    let report = match remux::remux_indexed(chunk, &mp4, index) {
        Ok(r) => r,
        Err(e) if e.kind() == ErrorKind::Corrupt => {
            if no_frame(chunk) {
                // Empty, cut in its first record, or only its configuration record: a power
                // cut just after the minute began. Nothing to keep.
                remove(chunk)?;
            } else {
                let aside = fsutil::with_suffix(chunk, ".corrupt");
                log::warn!("{e}; moved aside to {}", aside.display());
                std::fs::rename(chunk, &aside).ctx(format_args!("renaming {}", chunk.display()))?;
            }
            return Err(e);
        }
        Err(e) => return Err(e),
    };
    if report.torn_bytes > 0 {
        log::info!(
            "{}: dropped a torn last record of {} bytes",
            chunk.display(),
            report.torn_bytes
        );
    }
    if let Some(c) = &report.corrupt {
        log::warn!("{}: kept the frames before damage: {c}", chunk.display());
    }
    let no_preview = match &report.key_frame {
        _ if !preview => Some(FROM_SUB.to_owned()),
        Some((params, annex_b)) => match previewer.write(params, annex_b, &jpg, &thumb) {
            Ok(shot) => {
                // The camera folder is the day folder's parent.
                let dir = chunk
                    .parent()
                    .and_then(Path::parent)
                    .unwrap_or(Path::new("."));
                // A repeat of a minute (recorded again after the clock was set back) adds
                // no signature: the change search reads one per minute, the first's.
                let repeat = chunk
                    .file_name()
                    .and_then(|n| n.to_str())
                    .is_some_and(|n| layout::repeat_number(n) > 0);
                if !repeat
                    && let Err(e) =
                        signature::append(dir, &closed.camera, closed.minute, &shot.signature)
                {
                    log::warn!("{}: no signature for the change search: {e}", mp4.display());
                }
                None
            }
            Err(e) => Some(e.to_string()),
        },
        None => Some("no key frame".to_owned()),
    };
    match &no_preview {
        // Said once on the camera's status, not once a minute in the log.
        Some(why) if why == FROM_SUB || why.starts_with(NO_DECODER) => {
            log::debug!("{}: {why}", mp4.display())
        }
        Some(why) => log::warn!("{}: {why}", mp4.display()),
        None => {}
    }
    remove(chunk)?;
    Ok(Finished {
        camera: closed.camera.clone(),
        minute: closed.minute,
        mp4,
        remux: report,
        no_preview,
    })
}

/// True if `chunk` holds no frame: empty, torn within its first record, or whole records
/// that are all configuration records (and maybe a torn one after them).
fn no_frame(chunk: &Path) -> bool {
    let Ok(f) = std::fs::File::open(chunk) else {
        return false;
    };
    let mut r = crate::chunk::ChunkReader::new(std::io::BufReader::new(f));
    let mut buf = Vec::new();
    loop {
        match r.next_into(&mut buf) {
            Ok(None) => return true,
            Ok(Some(_)) if crate::codec::Codec::of_parameters(&buf).is_some() => {}
            _ => return false,
        }
    }
}

/// If the minute's MP4 at `mp4` holds every frame `chunk` holds (a power cut after the MP4
/// was renamed into place and before the chunk was removed, whose last seconds may never
/// have reached the disk), rewrites the chunk from the MP4 and returns true, so that
/// finishing it again loses nothing and still makes the previews. A chunk that goes on past
/// the MP4 (a minute continued after a restart: the MP4's frames, then new ones) or an MP4
/// that cannot be read is left to be finished as it is.
fn rebuild_from_covering_mp4(chunk: &Path, mp4: &Path) -> Result<bool> {
    let Ok(parsed) = crate::mp4::parse(mp4) else {
        return Ok(false);
    };
    let Some(mp4_last) = parsed.track.presentation_us().iter().map(|p| p.0).max() else {
        return Ok(false);
    };
    let chunk_last = {
        let f = std::fs::File::open(chunk).ctx(format_args!("opening {}", chunk.display()))?;
        let mut r = crate::chunk::ChunkReader::new(std::io::BufReader::new(f));
        let (mut buf, mut last) = (Vec::new(), None::<i64>);
        while let Ok(Some(rec)) = r.next_into(&mut buf) {
            last = Some(last.map_or(rec.time_us, |l| l.max(rec.time_us)));
        }
        last
    };
    if chunk_last.is_some_and(|c| c > mp4_last) {
        return Ok(false);
    }
    let tmp = fsutil::tmp_path(chunk);
    let mut w = crate::chunk::ChunkWriter::create(&tmp, 1 << 20)?;
    crate::fixture::append_minute(&mut w, mp4)?;
    w.finish()?;
    std::fs::File::open(&tmp)
        .and_then(|f| f.sync_all())
        .ctx(format_args!("syncing {}", tmp.display()))?;
    std::fs::rename(&tmp, chunk).ctx(format_args!("renaming {}", tmp.display()))?;
    fsutil::sync_dir(chunk.parent().unwrap_or(Path::new(".")))?;
    Ok(true)
}

fn remove(chunk: &Path) -> Result<()> {
    std::fs::remove_file(chunk).ctx(format_args!("removing {}", chunk.display()))?;
    fsutil::sync_dir(chunk.parent().unwrap_or(Path::new(".")))
}

/// Leftovers of a crash under a camera folder (`<dir>/YYYYMMDD/*.chunk` of `camera`), in
/// time order; temporary files of interrupted writes are removed on the way.
pub fn leftovers(camera: &str, dir: &Path) -> Vec<Closed> {
    let mut out = Vec::new();
    let real_dirs = |d: &std::fs::DirEntry| d.file_type().is_ok_and(|t| t.is_dir());
    for day in std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .filter(real_dirs)
    {
        for f in std::fs::read_dir(day.path())
            .into_iter()
            .flatten()
            .flatten()
        {
            if !f.file_type().is_ok_and(|t| t.is_file()) {
                continue;
            }
            let path = f.path();
            let name = path
                .file_name()
                .and_then(|n| n.to_str())
                .unwrap_or_default();
            if name.ends_with(fsutil::TMP_SUFFIX) {
                let _ = std::fs::remove_file(&path);
            } else if let Some(c) = closed_of(&path).filter(|c| c.camera == camera) {
                out.push(c);
            }
        }
    }
    out.sort_by_key(|c| c.minute);
    out
}
