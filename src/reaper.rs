//! The reaper: keeps free space on every disk that holds camera folders above the floor
//! (`reaper.min_free_bytes` and `reaper.min_free_percent`, whichever is larger) by deleting
//! whole minutes (MP4 and both JPEGs), oldest first across the cameras sharing that disk,
//! and deletes minutes past the age limit. It never touches the current minute, any minute
//! that still has a chunk (being recorded or finished), the archive folder, or anything
//! reached through a symbolic link. It runs every `interval_s`, and at once when woken (a
//! writer found the disk full). It works on what it is given ([`Plan`]) and returns what it
//! did ([`Pass`]); it knows nothing of the program around it.

use crate::clock::{Clock, Stop};
use crate::config::Reaper as Settings;
use crate::disk::{Disk, dir_size};
use crate::fmt::{human_bytes, minute_label};
use crate::index::Index;
use crate::layout::{self, FileKind};
use crate::time::minute_of;
use std::collections::BTreeMap;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Condvar, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

/// One camera as the reaper sees it.
#[derive(Clone, Debug, PartialEq)]
pub struct Camera {
    /// Camera id.
    pub id: String,
    /// Its folder.
    pub dir: PathBuf,
    /// Its own age limit (overrides the settings').
    pub max_age_days: Option<u32>,
}

/// What to keep within bounds: the settings in force and the cameras they apply to.
#[derive(Clone, Debug, PartialEq)]
pub struct Plan {
    /// Floors, age limit, interval.
    pub settings: Settings,
    /// The cameras.
    pub cameras: Vec<Camera>,
    /// The archive folder (never reaped; counted against the floor).
    pub archive_dir: PathBuf,
    /// With offload on: which minutes are in the object store, and for how long uploaded
    /// minutes stay on the disk.
    pub offload: Option<Retention>,
}

/// Whether minute `minute` of stream `id` is safely in the object store as its MP4 of the
/// given size is now.
pub type Uploaded = Arc<dyn Fn(&str, i64, u64) -> bool + Send + Sync>;

/// Local retention with offload on: an uploaded minute is deleted locally once older than
/// `keep_local_days`; a minute not yet uploaded only when the free-space floor demands it
/// (and then it is counted as lost).
#[derive(Clone)]
pub struct Retention {
    /// Days uploaded minutes stay local.
    pub keep_local_days: u32,
    /// What is uploaded.
    pub uploaded: Uploaded,
}

impl PartialEq for Retention {
    fn eq(&self, o: &Retention) -> bool {
        self.keep_local_days == o.keep_local_days && Arc::ptr_eq(&self.uploaded, &o.uploaded)
    }
}

impl std::fmt::Debug for Retention {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "Retention {{ keep_local_days: {} }}",
            self.keep_local_days
        )
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
    /// Of the minutes deleted, those whose local copy went after upload (in the store).
    pub offloaded: usize,
    /// Of the minutes deleted with offload on, those never uploaded (lost to the floor).
    pub lost: usize,
}

/// What one pass did.
#[derive(Debug, Default, PartialEq)]
pub struct Pass {
    /// Per disk.
    pub freed: Vec<Freed>,
    /// Why the floor cannot be kept (archives alone breach it), for the UI.
    pub warning: Option<String>,
}

/// The reaper's state shared with the rest of the program: the plan in force, a wake-up
/// request, and the last pass's warning.
#[derive(Default)]
pub struct Shared {
    /// (plan, woken): the plan (none: reaping is off) and whether a pass is wanted now.
    state: Mutex<(Option<Plan>, bool)>,
    /// Signalled when woken or the plan changes.
    cond: Condvar,
    /// The last pass's warning.
    warning: Mutex<Option<String>>,
    /// Minutes deleted since start.
    pub reaped: std::sync::atomic::AtomicU64,
    /// Minutes deleted since start before they were uploaded (offload on, floor breached).
    pub lost: std::sync::atomic::AtomicU64,
}

impl Shared {
    /// Replaces the plan (`None` turns reaping off).
    pub fn set_plan(&self, plan: Option<Plan>) {
        let mut s = self.state.lock().unwrap_or_else(|e| e.into_inner());
        s.0 = plan;
        self.cond.notify_all();
    }

    /// Asks for a pass now.
    pub fn wake(&self) {
        self.state.lock().unwrap_or_else(|e| e.into_inner()).1 = true;
        self.cond.notify_all();
    }

    /// The last pass's warning, if any.
    pub fn warning(&self) -> Option<String> {
        self.warning
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// Waits up to `timeout` or until woken; clears the request and says if there was one.
    fn wait(&self, timeout: Duration) -> bool {
        let guard = self.state.lock().unwrap_or_else(|e| e.into_inner());
        let (mut guard, _) = self
            .cond
            .wait_timeout_while(guard, timeout, |s| !s.1)
            .unwrap_or_else(|e| e.into_inner());
        std::mem::replace(&mut guard.1, false)
    }

    /// The plan in force.
    pub fn plan(&self) -> Option<Plan> {
        self.state
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .0
            .clone()
    }
}

/// Starts the reaper thread; it ends when `stop` is requested (checked every second).
pub fn spawn(
    shared: Arc<Shared>,
    index: Arc<Index>,
    disk: Arc<dyn Disk>,
    clock: Arc<dyn Clock>,
    stop: Stop,
) -> JoinHandle<()> {
    std::thread::Builder::new()
        .name("reaper".into())
        .spawn(move || {
            let mut said_off = false;
            while !stop.is_requested() {
                let plan = shared.plan();
                match &plan {
                    None if !said_off => {
                        log::info!(
                            "reaper: off (no reaper section in the config): recordings are never deleted"
                        );
                        said_off = true;
                    }
                    None => {}
                    Some(p) => {
                        said_off = false;
                        let done = pass(p, &index, &*disk, minute_of(clock.realtime()));
                        let n: usize = done.freed.iter().map(|d| d.minutes.len()).sum();
                        shared
                            .reaped
                            .fetch_add(n as u64, std::sync::atomic::Ordering::Relaxed);
                        let lost: usize = done.freed.iter().map(|d| d.lost).sum();
                        shared
                            .lost
                            .fetch_add(lost as u64, std::sync::atomic::Ordering::Relaxed);
                        *shared.warning.lock().unwrap_or_else(|e| e.into_inner()) = done.warning;
                    }
                }
                let interval = plan.map_or(Duration::from_secs(5), |p| p.settings.interval);
                // Wake at least every second to notice `stop`.
                let deadline = std::time::Instant::now() + interval;
                while !stop.is_requested() && std::time::Instant::now() < deadline {
                    let left = deadline.saturating_duration_since(std::time::Instant::now());
                    if shared.wait(left.min(Duration::from_secs(1))) {
                        break;
                    }
                }
            }
        })
        .expect("spawning the reaper thread")
}

/// One pass over every disk of `plan`, with `now_minute` the current minute.
pub fn pass(plan: &Plan, index: &Index, disk: &dyn Disk, now_minute: i64) -> Pass {
    // Cameras grouped by the device their folder is on.
    let mut disks: BTreeMap<u64, Vec<&Camera>> = BTreeMap::new();
    for c in &plan.cameras {
        if let Ok(m) = std::fs::metadata(&c.dir) {
            disks.entry(m.dev()).or_default().push(c);
        }
    }
    let archive_dev = std::fs::metadata(&plan.archive_dir).ok().map(|m| m.dev());
    let mut out = Pass::default();
    for (dev, cams) in disks {
        let freed = reap_disk(plan, &cams, index, disk, now_minute);
        if Some(dev) == archive_dev {
            let archives = dir_size(&plan.archive_dir);
            if let Some((_, total)) = disk.usage(&cams[0].dir)
                && total.saturating_sub(archives) < freed.floor
            {
                out.warning = Some(format!(
                    "archives take {} of the {} disk: with them alone the free-space floor of {} cannot be kept",
                    human_bytes(archives),
                    human_bytes(total),
                    human_bytes(freed.floor)
                ));
            }
        }
        if !freed.minutes.is_empty() {
            let (c0, m0) = &freed.minutes[0];
            let (c1, m1) = &freed.minutes[freed.minutes.len() - 1];
            log::info!(
                "reaper: freed {} ({} minutes, {c0} {} .. {c1} {}) on the disk of {}; {} free, floor {}",
                human_bytes(freed.bytes),
                freed.minutes.len(),
                minute_label(*m0),
                minute_label(*m1),
                freed.dir.display(),
                human_bytes(freed.free),
                human_bytes(freed.floor)
            );
        }
        out.freed.push(freed);
    }
    out
}

/// Reaps one disk shared by `cams`.
fn reap_disk(
    plan: &Plan,
    cams: &[&Camera],
    index: &Index,
    disk: &dyn Disk,
    now_minute: i64,
) -> Freed {
    let settings = &plan.settings;
    let mut freed = Freed {
        dir: cams[0].dir.clone(),
        ..Default::default()
    };
    // Never the current minute; minutes with a chunk are skipped below.
    let newest_allowed = now_minute - 1;
    let has_chunk =
        |c: &Camera, m: i64| layout::minute_path(&c.dir, &c.id, m, FileKind::Chunk).exists();
    // Age limit first: per camera, or the global one.
    for c in cams {
        if let Some(days) = c.max_age_days.or(settings.max_age_days) {
            let cutoff = (now_minute - i64::from(days) * 1440).min(newest_allowed + 1);
            for m in index.minutes(&c.id, i64::MIN / 2, cutoff - 1) {
                if !has_chunk(c, m) {
                    delete_minute(index, c, m, &mut freed);
                }
            }
        }
    }
    // With offload: uploaded minutes past keep_local_days leave the disk (not the store).
    if let Some(r) = &plan.offload {
        let cutoff = (now_minute - i64::from(r.keep_local_days) * 1440).min(newest_allowed + 1);
        for c in cams {
            for m in index.minutes(&c.id, i64::MIN / 2, cutoff - 1) {
                if uploaded(r, c, m) && !has_chunk(c, m) {
                    delete_minute(index, c, m, &mut freed);
                    freed.offloaded += 1;
                }
            }
        }
    }
    let Some((free, total)) = disk.usage(&cams[0].dir) else {
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
            .filter_map(|c| {
                index
                    .minutes(&c.id, i64::MIN / 2, newest_allowed)
                    .into_iter()
                    .find(|m| !skip.contains(&(c.id.clone(), *m)))
                    .map(|m| (m, c.id.as_str(), *c))
            })
            .min_by_key(|(m, id, _)| (*m, *id));
        let Some((m, _, c)) = oldest else {
            log::warn!(
                "reaper: {} free on the disk of {} is under the floor of {}, and no minute is left that may be deleted",
                human_bytes(estimate),
                cams[0].dir.display(),
                human_bytes(freed.floor)
            );
            break;
        };
        if has_chunk(c, m) {
            skip.push((c.id.clone(), m));
            continue;
        }
        let before = freed.bytes;
        if let Some(r) = &plan.offload {
            if uploaded(r, c, m) {
                freed.offloaded += 1;
            } else {
                freed.lost += 1;
                log::warn!(
                    "reaper: the free-space floor forces deleting {} {} before it was uploaded: it is lost",
                    c.id,
                    minute_label(m)
                );
            }
        }
        delete_minute(index, c, m, &mut freed);
        estimate += freed.bytes - before;
    }
    freed.free = estimate.max(disk.usage(&cams[0].dir).map_or(0, |u| u.0));
    freed
}

/// True if minute `m` of `c` is in the store as it is on the disk.
fn uploaded(r: &Retention, c: &Camera, m: i64) -> bool {
    let mp4 = layout::minute_path(&c.dir, &c.id, m, FileKind::Mp4);
    std::fs::metadata(mp4).is_ok_and(|md| (r.uploaded)(&c.id, m, md.len()))
}

/// Deletes a minute's MP4 and JPEGs and those of its repeats (regular files only, never
/// through a symbolic link), its day folder if now empty, and its index entry. The day
/// folder is listed once, after the minute's own files are gone: for its repeats, then for
/// what is left.
fn delete_minute(index: &Index, c: &Camera, minute: i64, freed: &mut Freed) {
    let remove = |path: &Path, freed: &mut Freed| {
        if let Ok(meta) = path.symlink_metadata()
            && meta.is_file()
        {
            match std::fs::remove_file(path) {
                Ok(()) => {
                    freed.bytes += meta.blocks() * 512;
                    return true;
                }
                Err(e) => log::warn!("reaper: removing {}: {e}", path.display()),
            }
        }
        false
    };
    for kind in [FileKind::Mp4, FileKind::Preview, FileKind::Thumbnail] {
        let path = layout::minute_path(&c.dir, &c.id, minute, kind);
        if inside(&c.dir, &path) {
            remove(&path, freed);
        }
    }
    index.remove(&c.id, minute);
    freed.minutes.push((c.id.clone(), minute));
    let day = layout::minute_path(&c.dir, &c.id, minute, FileKind::Mp4);
    if let Some(parent) = day.parent()
        && inside(&c.dir, &day)
    {
        let mut left = Vec::new();
        for e in std::fs::read_dir(parent).into_iter().flatten().flatten() {
            let name = e.file_name().to_string_lossy().into_owned();
            let repeat = layout::repeat_number(&name) > 0
                && matches!(
                    layout::parse_name(&name),
                    Some((cam, m, FileKind::Mp4 | FileKind::Preview | FileKind::Thumbnail))
                        if cam == c.id && m == minute
                );
            if !(repeat && remove(&e.path(), freed)) {
                left.push(e);
            }
        }
        forget_day(parent, &left);
    }
}

/// Removes a day folder once it holds no minute (`entries`: what it holds now): with the
/// last minute go the day's signatures and tags (they describe nothing any more). Other
/// files keep it.
fn forget_day(day: &Path, entries: &[std::fs::DirEntry]) {
    let name = |e: &std::fs::DirEntry| e.file_name().to_string_lossy().into_owned();
    let minutes_left = entries.iter().any(|e| {
        let n = name(e);
        n.ends_with(FileKind::Mp4.suffix()) || n.ends_with(FileKind::Chunk.suffix())
    });
    if minutes_left {
        return;
    }
    // The offload journal lists minutes still in the store: their marks stay with it.
    let offloaded = entries.iter().any(|e| name(e).ends_with(".uploaded"));
    for e in entries {
        let n = name(e);
        if (n.ends_with(".sig")
            || n.ends_with(".tags.json")
            || (n.ends_with(".unsynced") && !offloaded))
            && e.file_type().is_ok_and(|t| t.is_file())
        {
            let _ = std::fs::remove_file(e.path());
        }
    }
    // Fails (and stays) while the folder still holds other files.
    let _ = std::fs::remove_dir(day);
}

/// True if `path`'s day folder is a real folder of `dir` (not a symbolic link elsewhere).
fn inside(dir: &Path, path: &Path) -> bool {
    path.parent()
        .is_some_and(|day| day.symlink_metadata().is_ok_and(|m| m.is_dir()) && day.starts_with(dir))
}
