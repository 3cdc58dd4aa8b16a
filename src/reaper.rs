//! The reaper: keeps free space on every disk that holds camera folders above the floor
//! (`reaper.min_free_bytes` and `reaper.min_free_percent`, whichever is larger) by deleting
//! whole minutes (MP4 and both JPEGs), oldest first across the cameras sharing that disk,
//! and deletes minutes past the age limit. It never touches the current minute, any minute
//! that still has a chunk (being recorded or finished), or the archive folder. It runs every `interval_s`, and
//! at once when a writer finds the disk full.

use crate::app::App;
use crate::config::Reaper as Settings;
use crate::layout::{self, FileKind};
use crate::time::{self, now_micros};
use std::collections::BTreeMap;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

/// Wakes the reaper early (a writer found the disk full).
#[derive(Default)]
pub struct Wake {
    /// Set when a pass is wanted now.
    flag: Mutex<bool>,
    /// Signalled with `flag`.
    cond: Condvar,
}

impl Wake {
    /// Asks for a pass now.
    pub fn now(&self) {
        *self.flag.lock().unwrap_or_else(|e| e.into_inner()) = true;
        self.cond.notify_all();
    }

    /// Waits up to `timeout` or until woken; clears the request and says if there was one.
    fn wait(&self, timeout: Duration) -> bool {
        let guard = self.flag.lock().unwrap_or_else(|e| e.into_inner());
        let (mut guard, _) = self
            .cond
            .wait_timeout_while(guard, timeout, |woken| !*woken)
            .unwrap_or_else(|e| e.into_inner());
        std::mem::replace(&mut *guard, false)
    }
}

/// What one pass did on one disk.
#[derive(Debug, Default, PartialEq)]
pub struct Freed {
    /// A folder on that disk (for messages).
    pub dir: PathBuf,
    /// Minutes deleted, as (camera, minute), oldest first.
    pub minutes: Vec<(String, i64)>,
    /// Bytes freed (allocated size of the deleted files).
    pub bytes: u64,
    /// Free bytes after the pass (estimated from what was deleted).
    pub free: u64,
    /// The floor in bytes.
    pub floor: u64,
}

/// Free and total bytes of the filesystem holding `path`.
pub fn usage(path: &Path) -> Option<(u64, u64)> {
    let s = nix::sys::statvfs::statvfs(path).ok()?;
    // The fields are 32-bit on armv7: widen before multiplying.
    let frag = s.fragment_size() as u64;
    Some((s.blocks_available() as u64 * frag, s.blocks() as u64 * frag))
}

/// Starts the reaper thread; it ends when `stop` is set (checked at least every second).
pub fn spawn(app: Arc<App>, stop: Arc<AtomicBool>) -> JoinHandle<()> {
    std::thread::Builder::new()
        .name("reaper".into())
        .spawn(move || {
            let mut said_off = false;
            while !stop.load(Ordering::SeqCst) {
                let settings = app.loaded().config.reaper;
                match settings {
                    None if !said_off => {
                        log::info!("reaper: off (no reaper section in the config): recordings are never deleted");
                        said_off = true;
                    }
                    None => {}
                    Some(_) => {
                        said_off = false;
                        pass(&app);
                    }
                }
                let interval = settings.map_or(Duration::from_secs(5), |s| s.interval);
                // Wake at least every second to notice `stop`.
                let deadline = std::time::Instant::now() + interval;
                while !stop.load(Ordering::SeqCst) && std::time::Instant::now() < deadline {
                    let left = deadline.saturating_duration_since(std::time::Instant::now());
                    if app.reaper_wake.wait(left.min(Duration::from_secs(1))) {
                        break;
                    }
                }
            }
        })
        .expect("spawning the reaper thread")
}

/// One pass over every disk; returns what it freed on each. Does nothing without a
/// `reaper` section.
pub fn pass(app: &App) -> Vec<Freed> {
    let loaded = app.loaded();
    let Some(settings) = loaded.config.reaper else {
        return Vec::new();
    };
    let now_minute = time::minute_of(now_micros());
    // Cameras grouped by the device their folder is on.
    let mut disks: BTreeMap<u64, Vec<(String, PathBuf, Option<u32>)>> = BTreeMap::new();
    for c in &loaded.config.cameras {
        if let Ok(m) = std::fs::metadata(&c.dir) {
            disks
                .entry(m.dev())
                .or_default()
                .push((c.id.clone(), c.dir.clone(), c.max_age_days));
        }
    }
    let archive_dev = std::fs::metadata(&loaded.config.archive_dir)
        .ok()
        .map(|m| m.dev());
    let mut warning = None;
    let mut out = Vec::new();
    for (dev, cams) in disks {
        let freed = reap_disk(app, &settings, &cams, now_minute);
        if Some(dev) == archive_dev {
            let archives = dir_size(&loaded.config.archive_dir);
            if let Some((_, total)) = usage(&cams[0].1)
                && total.saturating_sub(archives) < freed.floor
            {
                warning = Some(format!(
                    "archives take {} of the {} disk: with them alone the free-space floor of {} cannot be kept",
                    crate::web::human_bytes(archives),
                    crate::web::human_bytes(total),
                    crate::web::human_bytes(freed.floor)
                ));
            }
        }
        if !freed.minutes.is_empty() {
            let (c0, m0) = &freed.minutes[0];
            let (c1, m1) = &freed.minutes[freed.minutes.len() - 1];
            log::info!(
                "reaper: freed {} ({} minutes, {c0} {} .. {c1} {}) on the disk of {}; {} free, floor {}",
                crate::web::human_bytes(freed.bytes),
                freed.minutes.len(),
                crate::web::minute_label(*m0),
                crate::web::minute_label(*m1),
                freed.dir.display(),
                crate::web::human_bytes(freed.free),
                crate::web::human_bytes(freed.floor)
            );
        }
        out.push(freed);
    }
    app.set_reaper_warning(warning);
    out
}

/// Reaps one disk shared by `cams` (id, folder, per-camera age limit).
fn reap_disk(
    app: &App,
    settings: &Settings,
    cams: &[(String, PathBuf, Option<u32>)],
    now_minute: i64,
) -> Freed {
    let mut freed = Freed {
        dir: cams[0].1.clone(),
        ..Default::default()
    };
    // Never the current minute; minutes with a chunk are skipped below.
    let newest_allowed = now_minute - 1;
    // Age limit first: per camera, or the global one.
    for (id, dir, own) in cams {
        if let Some(days) = own.or(settings.max_age_days) {
            let cutoff = (now_minute - i64::from(days) * 1440).min(newest_allowed + 1);
            for m in app.index.minutes(id, i64::MIN / 2, cutoff - 1) {
                if !layout::minute_path(dir, id, m, FileKind::Chunk).exists() {
                    delete_minute(app, id, dir, m, &mut freed);
                }
            }
        }
    }
    let Some((free, total)) = usage(&cams[0].1) else {
        return freed;
    };
    let pct = (total as f64 * settings.min_free_percent / 100.0) as u64;
    freed.floor = settings.min_free_bytes.max(pct);
    // Free space reported now; deletions are counted as they happen, since a journaling
    // filesystem may report freed blocks only after its next commit.
    let mut estimate = free;
    let mut skip: Vec<(String, i64)> = Vec::new();
    while estimate < freed.floor {
        let oldest = cams
            .iter()
            .filter_map(|(id, dir, _)| {
                app.index
                    .minutes(id, i64::MIN / 2, newest_allowed)
                    .into_iter()
                    .find(|m| !skip.contains(&(id.clone(), *m)))
                    .map(|m| (m, id, dir))
            })
            .min();
        let Some((m, id, dir)) = oldest else {
            log::warn!(
                "reaper: {} free on the disk of {} is under the floor of {}, and no minute is left that may be deleted",
                crate::web::human_bytes(estimate),
                cams[0].1.display(),
                crate::web::human_bytes(freed.floor)
            );
            break;
        };
        if layout::minute_path(dir, id, m, FileKind::Chunk).exists() {
            skip.push((id.clone(), m));
            continue;
        }
        let before = freed.bytes;
        delete_minute(app, id, dir, m, &mut freed);
        estimate += freed.bytes - before;
    }
    freed.free = estimate.max(usage(&cams[0].1).map_or(0, |u| u.0));
    freed
}

/// Deletes a minute's MP4 and JPEGs, its day folder if now empty, and its index entry.
fn delete_minute(app: &App, id: &str, dir: &Path, minute: i64, freed: &mut Freed) {
    for kind in [FileKind::Mp4, FileKind::Preview, FileKind::Thumbnail] {
        let path = layout::minute_path(dir, id, minute, kind);
        if let Ok(meta) = std::fs::metadata(&path) {
            match std::fs::remove_file(&path) {
                Ok(()) => freed.bytes += meta.blocks() * 512,
                Err(e) => log::warn!("reaper: removing {}: {e}", path.display()),
            }
        }
    }
    app.index.remove(id, minute);
    freed.minutes.push((id.to_owned(), minute));
    let day = layout::minute_path(dir, id, minute, FileKind::Mp4);
    if let Some(parent) = day.parent() {
        // Fails (and stays) while the folder still holds files.
        let _ = std::fs::remove_dir(parent);
    }
}

/// Total allocated size of the files in a folder tree.
pub fn dir_size(dir: &Path) -> u64 {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return 0;
    };
    entries
        .flatten()
        .map(|e| match e.metadata() {
            Ok(m) if m.is_dir() => dir_size(&e.path()),
            Ok(m) => m.blocks() * 512,
            Err(_) => 0,
        })
        .sum()
}
