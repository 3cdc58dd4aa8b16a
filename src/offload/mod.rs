//! Offload: a thread that copies every finished minute (MP4 and both JPEGs) of every stream
//! and every archive to an S3-compatible store, archives first (a person chose them), then
//! minutes oldest first, within `max_mbit`, retrying with backoff (1 s doubling to 60 s)
//! while the store is down or refuses. What is uploaded is kept in journals beside the
//! minutes ([`journal`]), so a restart knows without listing the bucket. The thread never
//! touches a camera's path: recording cannot wait on it. It follows config changes.

pub mod journal;
pub mod remote;
pub mod state;
pub mod store;
pub mod throttle;

use crate::clock::Stop;
use crate::config::{Current, Offload};
use crate::error::Result;
use crate::events::Events;
use crate::index::Index;
use crate::layout::{self, FileKind};
use std::collections::{BTreeSet, HashMap, VecDeque};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::mpsc::RecvTimeoutError;
use std::thread::JoinHandle;
use std::time::Duration;
use store::Store;
use throttle::Throttle;

/// How many of a stream's newest minutes are checked for having been finished again.
const RECHECK: usize = 3;

/// How long a listing of what is waiting is worked through before it is made again (new
/// minutes are newer than the rest, so they may wait their turn; an archive waits at most
/// this long).
const RELIST: Duration = Duration::from_secs(10);

/// Longest wait between retries.
const MAX_BACKOFF: Duration = Duration::from_secs(60);

/// What the uploader reads and reports to.
pub struct Inputs {
    /// The settings in force (the `offload` section, the streams, the data folder).
    pub config: Current,
    /// Finished minutes: a wake-up to upload them.
    pub events: Arc<Events>,
    /// The finished minutes of every stream.
    pub index: Arc<Index>,
    /// What has been uploaded, and the uploader's status.
    pub offload: Arc<state::Shared>,
}

/// Starts the uploader thread.
pub fn spawn(deps: Inputs, stop: Stop) -> JoinHandle<()> {
    std::thread::Builder::new()
        .name("offload".into())
        .spawn(move || run(&deps, &stop))
        .expect("spawning the offload thread")
}

/// The object key of a file of stream folder `dir`: its path under the recordings folder
/// (`front/20261123/front.20261123.1400.mp4`, `front/sub/...`), or under the stream's id for
/// a folder elsewhere.
fn key_of(data_dir: &Path, id: &str, dir: &Path, file: &Path) -> String {
    let rel = file
        .strip_prefix(data_dir)
        .map(Path::to_path_buf)
        .or_else(|_| file.strip_prefix(dir).map(|r| Path::new(id).join(r)))
        .unwrap_or_else(|_| PathBuf::from(id).join(file.file_name().unwrap_or_default()));
    rel.to_string_lossy().replace('\\', "/")
}

/// The object key of stream `id`'s minute file of `kind` (with the prefix).
pub fn minute_key(
    store: &Store,
    data_dir: &Path,
    id: &str,
    dir: &Path,
    minute: i64,
    kind: FileKind,
) -> String {
    store.key(&key_of(
        data_dir,
        id,
        dir,
        &layout::minute_path(dir, id, minute, kind),
    ))
}

/// What is waiting.
enum Job {
    /// An archive, by name.
    Archive(String),
    /// A minute of a stream: (minute, id, folder, its MP4's size when listed).
    Minute(i64, String, PathBuf, u64),
}

fn run(deps: &Inputs, stop: &Stop) {
    let events = deps.events.subscribe();
    let mut current: Option<(Offload, Arc<Store>, Throttle)> = None;
    let mut streams_seen: Vec<(String, PathBuf)> = Vec::new();
    let mut archives_done: Option<(PathBuf, BTreeSet<String>)> = None;
    let mut backoff = Duration::from_secs(1);
    // Whether the bucket was found since the store was set up or last failed.
    let mut checked = false;
    // What is waiting, in upload order, and when it was listed: listing reads every
    // stream's minutes, so it is not done again for every upload of a long backlog.
    let mut queue: VecDeque<Job> = VecDeque::new();
    let mut listed: Option<std::time::Instant> = None;
    while !stop.is_requested() {
        let config = (deps.config)();
        let Some(cfg) = config.offload.clone() else {
            deps.offload.update(|s| s.configured = false);
            deps.offload.set_store(None);
            current = None;
            wait(&events, stop, Duration::from_secs(2));
            continue;
        };
        if current.as_ref().is_none_or(|(c, _, _)| *c != cfg) {
            match Store::new(&cfg) {
                Ok(s) => {
                    log::info!("offload: to bucket {} at {}", cfg.bucket, cfg.endpoint);
                    let t = Throttle::new(cfg.max_bytes_per_s, stop.clone());
                    let s = Arc::new(s);
                    deps.offload.set_store(Some(s.clone()));
                    current = Some((cfg.clone(), s, t));
                    checked = false;
                }
                Err(e) => {
                    deps.offload.set_store(None);
                    deps.offload.update(|s| s.last_error = Some(e.to_string()));
                    wait(&events, stop, Duration::from_secs(5));
                    continue;
                }
            }
            deps.offload.update(|s| s.configured = true);
        }
        let streams: Vec<(String, PathBuf)> = config
            .streams()
            .into_iter()
            .map(|c| (c.id, c.dir))
            .collect();
        if streams != streams_seen {
            let loaded: HashMap<String, std::collections::BTreeMap<i64, journal::Uploaded>> =
                streams
                    .iter()
                    .map(|(id, dir)| (id.clone(), journal::load(dir, id)))
                    .collect();
            deps.offload.set_uploaded(loaded);
            streams_seen = streams.clone();
            listed = None;
        }
        if archives_done
            .as_ref()
            .is_none_or(|(d, _)| *d != config.archive_dir)
        {
            let done = journal::load_archives(&config.archive_dir);
            archives_done = Some((config.archive_dir.clone(), done));
            listed = None;
        }
        let (archive_dir, done) = archives_done.as_mut().expect("set above");
        if queue.is_empty() || listed.is_none_or(|t| t.elapsed() >= RELIST) {
            queue = pending(deps, &streams, archive_dir, done);
            listed = Some(std::time::Instant::now());
        }
        let Some(job) = queue.front() else {
            wait(&events, stop, Duration::from_secs(5));
            continue;
        };
        let (_, store, throttle) = current.as_mut().expect("set above");
        let started = std::time::Instant::now();
        // After a failure or a new store, the bucket is looked for first: a typo in its
        // name is said as such, not as the first upload's refusal.
        let r = if !checked {
            store.check_bucket().map(|()| None)
        } else {
            match job {
                Job::Archive(name) => {
                    upload_archive(store, throttle, archive_dir, name).inspect(|_| {
                        done.insert(name.clone());
                    })
                }
                Job::Minute(m, id, dir, _) => {
                    upload_minute(deps, store, throttle, &config.data_dir, id, dir, *m)
                }
            }
            .map(Some)
        };
        match r {
            Ok(None) => checked = true,
            Ok(Some(bytes)) => {
                queue.pop_front();
                report(deps, &queue);
                backoff = Duration::from_secs(1);
                let secs = started.elapsed().as_secs_f64().max(1e-3);
                deps.offload.update(|s| {
                    s.last_error = None;
                    s.last_ok_us = crate::time::now_micros();
                    s.uploaded_bytes += bytes;
                    s.rate = bytes as f64 / secs;
                });
            }
            Err(e) => {
                let text = e.to_string();
                if deps.offload.status().last_error.as_deref() != Some(&text) {
                    log::warn!("offload: {text}; retrying in {} s", backoff.as_secs());
                }
                deps.offload.update(|s| {
                    s.last_error = Some(text);
                    s.errors += 1;
                });
                checked = false;
                wait_stop(stop, backoff);
                backoff = (backoff * 2).min(MAX_BACKOFF);
            }
        }
    }
}

/// Waits up to `d` for a new minute or stop.
fn wait(events: &std::sync::mpsc::Receiver<crate::events::Event>, stop: &Stop, d: Duration) {
    let end = std::time::Instant::now() + d;
    while !stop.is_requested() {
        let left = end.saturating_duration_since(std::time::Instant::now());
        if left.is_zero() {
            return;
        }
        match events.recv_timeout(left.min(Duration::from_millis(500))) {
            Ok(crate::events::Event::Minute { .. }) => return,
            Ok(_) | Err(RecvTimeoutError::Timeout) => {}
            Err(RecvTimeoutError::Disconnected) => {
                std::thread::sleep(left.min(Duration::from_millis(500)))
            }
        }
    }
}

/// Sleeps `d`, or less if stop is requested.
fn wait_stop(stop: &Stop, d: Duration) {
    let end = std::time::Instant::now() + d;
    while !stop.is_requested() && std::time::Instant::now() < end {
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// Everything not yet uploaded, in upload order; the backlog goes to the status.
fn pending(
    deps: &Inputs,
    streams: &[(String, PathBuf)],
    archive_dir: &Path,
    done: &BTreeSet<String>,
) -> VecDeque<Job> {
    let mut jobs: VecDeque<Job> = crate::archive::list(archive_dir)
        .into_iter()
        .rev()
        .filter(|a| !done.contains(&a.name))
        .map(|a| Job::Archive(a.name))
        .collect();
    let mut minutes: Vec<(i64, String, PathBuf)> = Vec::new();
    for (id, dir) in streams {
        let all = deps.index.minutes(id, i64::MIN / 2, i64::MAX / 2);
        let sent = deps.offload.sizes_sent(id, &all);
        // Only the newest minutes can be finished again (merged after a restart): their
        // size is compared with what was sent; older ones are done once recorded.
        let recent = all.len().saturating_sub(RECHECK);
        for (i, (&m, sent)) in all.iter().zip(&sent).enumerate() {
            let again = || {
                let mp4 = layout::minute_path(dir, id, m, FileKind::Mp4);
                std::fs::metadata(mp4).is_ok_and(|md| *sent != Some(md.len()))
            };
            if sent.is_none() || (i >= recent && again()) {
                minutes.push((m, id.clone(), dir.clone()));
            }
        }
    }
    minutes.sort();
    jobs.extend(minutes.into_iter().map(|(m, id, dir)| {
        let size = std::fs::metadata(layout::minute_path(&dir, &id, m, FileKind::Mp4))
            .map_or(0, |md| md.len());
        Job::Minute(m, id, dir, size)
    }));
    report(deps, &jobs);
    jobs
}

/// Puts what `queue` still holds into the status (the backlog).
fn report(deps: &Inputs, queue: &VecDeque<Job>) {
    let (mut minutes, mut bytes, mut archives, mut oldest) = (0, 0, 0, None);
    for j in queue {
        match j {
            Job::Archive(_) => archives += 1,
            Job::Minute(m, _, _, size) => {
                minutes += 1;
                bytes += size;
                oldest = Some(oldest.map_or(*m, |o: i64| o.min(*m)));
            }
        }
    }
    deps.offload.update(|s| {
        s.backlog_minutes = minutes;
        s.backlog_bytes = bytes;
        s.oldest_pending = oldest;
        s.backlog_archives = archives;
    });
}

/// Uploads a minute's files (those that exist), then records it. Returns the bytes sent.
fn upload_minute(
    deps: &Inputs,
    store: &Store,
    throttle: &mut Throttle,
    data_dir: &Path,
    id: &str,
    dir: &Path,
    minute: i64,
) -> Result<u64> {
    let mut bytes = 0;
    let mp4 = layout::minute_path(dir, id, minute, FileKind::Mp4);
    let Ok(size) = std::fs::metadata(&mp4).map(|m| m.len()) else {
        // Deleted meanwhile (the reaper, under the floor): nothing left to send.
        return Ok(0);
    };
    let summary = crate::mp4::summary(&mp4)
        .inspect_err(|e| log::debug!("offload: {e}"))
        .ok();
    let mut sent = [false; 2];
    for (i, kind) in [FileKind::Preview, FileKind::Thumbnail, FileKind::Mp4]
        .into_iter()
        .enumerate()
    {
        let path = layout::minute_path(dir, id, minute, kind);
        if !crate::fsutil::plain_file_under(dir, &path) {
            continue;
        }
        if let Some(s) = sent.get_mut(i) {
            *s = true;
        }
        bytes += store.put_file(
            &store.key(&key_of(data_dir, id, dir, &path)),
            &path,
            throttle,
        )?;
        deps.offload.update(|s| s.uploaded_files += 1);
    }
    // Finished again while it was sent (a merge): it goes again at the next pass.
    if std::fs::metadata(&mp4).map_or(0, |m| m.len()) != size {
        return Ok(bytes);
    }
    let u = journal::Uploaded {
        size,
        summary,
        preview: sent[0],
        thumbnail: sent[1],
    };
    journal::record(dir, id, minute, &u)?;
    deps.offload.mark(id, minute, u);
    log::debug!("offload: {} uploaded", mp4.display());
    Ok(bytes)
}

/// Uploads an archive's MP4 and sidecar, then records it.
fn upload_archive(store: &Store, throttle: &mut Throttle, dir: &Path, name: &str) -> Result<u64> {
    let mut bytes = 0;
    for ext in ["json", "mp4"] {
        let path = dir.join(format!("{name}.{ext}"));
        if !path.is_file() {
            continue;
        }
        bytes += store.put_file(
            &store.key(&format!("archive/{name}.{ext}")),
            &path,
            throttle,
        )?;
    }
    journal::append(&dir.join("uploaded.txt"), name)?;
    log::info!("offload: archive {name} uploaded");
    Ok(bytes)
}
