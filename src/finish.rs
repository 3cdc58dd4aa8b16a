//! Finishing a minute: its chunk becomes an MP4 and two JPEGs beside it, published
//! atomically; only then is the chunk removed, so a crash at any point loses nothing.

use crate::error::{ErrorKind, IoContext, Result};
use crate::fsutil;
use crate::layout::{FileKind, sibling};
use crate::preview::Previewer;
use crate::remux::{self, Remuxed};
use std::path::{Path, PathBuf};

/// What finishing a chunk produced.
#[derive(Debug)]
pub struct Finished {
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
    let mut previewer = Previewer::default();
    let result = finish_chunk_with(chunk, &mut previewer);
    previewer.release();
    result
}

/// [`finish_chunk`] with the caller's [`Previewer`], kept for the next minutes.
pub fn finish_chunk_with(chunk: &Path, previewer: &mut Previewer) -> Result<Finished> {
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
    let report = match remux::remux(chunk, &mp4) {
        Ok(r) => r,
        Err(e) if e.kind() == ErrorKind::Corrupt => {
            if std::fs::metadata(chunk).is_ok_and(|m| m.len() == 0) {
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
        Some((params, annex_b)) => previewer
            .write(params, annex_b, &jpg, &thumb)
            .err()
            .map(|e| e.to_string()),
        None => Some("no key frame".to_owned()),
    };
    if let Some(why) = &no_preview {
        log::warn!("{}: {why}", mp4.display());
    }
    remove(chunk)?;
    Ok(Finished {
        mp4,
        remux: report,
        no_preview,
    })
}

fn remove(chunk: &Path) -> Result<()> {
    std::fs::remove_file(chunk).ctx(format_args!("removing {}", chunk.display()))?;
    fsutil::sync_dir(chunk.parent().unwrap_or(Path::new(".")))
}

/// Finishes every leftover chunk under a camera folder (`<dir>/YYYYMMDD/*.chunk`) and
/// removes temporary files of interrupted writes. Returns how many chunks were finished.
pub fn recover(dir: &Path) -> usize {
    let Ok(days) = std::fs::read_dir(dir) else {
        return 0;
    };
    let mut done = 0;
    let mut previewer = Previewer::default();
    for day in days.flatten() {
        let Ok(files) = std::fs::read_dir(day.path()) else {
            continue;
        };
        let mut files: Vec<PathBuf> = files.flatten().map(|f| f.path()).collect();
        files.sort();
        for path in files {
            let name = path
                .file_name()
                .and_then(|n| n.to_str())
                .unwrap_or_default();
            if name.ends_with(fsutil::TMP_SUFFIX) {
                let _ = std::fs::remove_file(&path);
            } else if name.ends_with(FileKind::Chunk.suffix()) {
                match finish_chunk_with(&path, &mut previewer) {
                    Ok(f) => {
                        log::info!("recovered {} ({} frames)", f.mp4.display(), f.remux.frames);
                        done += 1;
                    }
                    Err(e) => log::error!("recovering {}: {e}", path.display()),
                }
            }
        }
    }
    previewer.release();
    done
}
