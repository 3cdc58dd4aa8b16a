//! Minutes that are only in the offload store, as the web reads them: which they are (the
//! journals say uploaded, the disk no longer has them), what the day view shows of them,
//! a presigned URL a browser is sent to for one of their files, and a [`Blob`] that range
//! exports read by byte range, so an export across local and remote minutes is one file.

use super::journal::Uploaded;
use super::store::Store;
use crate::blob::Blob;
use crate::config::Config;
use crate::index::Index;
use crate::layout::{self, FileKind};
use crate::range::{self, Input};
use std::collections::BTreeMap;
use std::io::Read;
use std::sync::Arc;

/// What reads of offloaded minutes look at.
pub struct Reads<'a> {
    /// What has been uploaded, and the store.
    pub offload: &'a super::state::Shared,
    /// The minutes still on the disk.
    pub index: &'a Index,
    /// The configuration in force.
    pub config: &'a Config,
}

/// A minute's MP4 in the store.
pub struct RemoteMinute {
    /// The object key (no secret in it).
    key: String,
    size: u64,
    store: Arc<Store>,
}

impl std::fmt::Debug for RemoteMinute {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} ({} bytes, in the store)", self.key, self.size)
    }
}

impl Blob for RemoteMinute {
    fn name(&self) -> &str {
        &self.key
    }

    fn len(&self) -> u64 {
        self.size
    }

    fn open(&self, from: u64, len: u64) -> std::io::Result<Box<dyn Read + Send>> {
        let r = self
            .store
            .read_range(&self.key, from, len)
            .map_err(std::io::Error::other)?;
        Ok(Box::new(r))
    }
}

/// The minutes of stream `id` in `[from, to]` that are only in the store (none while
/// offload is off: the store is not known then).
pub fn minutes(r: &Reads<'_>, id: &str, from: i64, to: i64) -> BTreeMap<i64, Uploaded> {
    if r.offload.store().is_none() {
        return BTreeMap::new();
    }
    let mut up = r.offload.uploaded_in(id, from, to);
    for m in r.index.minutes(id, from, to) {
        up.remove(&m);
    }
    up
}

/// Where stream `id`'s objects are: the store, and the recordings folder and the stream's
/// folder their keys are made from (looked up once for many minutes).
struct Place {
    store: Arc<Store>,
    data_dir: std::path::PathBuf,
    dir: std::path::PathBuf,
}

impl Place {
    fn of(r: &Reads<'_>, id: &str) -> Option<Place> {
        let store = r.offload.store()?;
        let (data_dir, dir) = (r.config.data_dir.clone(), r.config.stream(id)?.dir);
        Some(Place {
            store,
            data_dir,
            dir,
        })
    }

    /// The object key of stream `id`'s file of `kind` for `minute`.
    fn key(&self, id: &str, minute: i64, kind: FileKind) -> String {
        super::minute_key(&self.store, &self.data_dir, id, &self.dir, minute, kind)
    }
}

/// A URL (no credentials needed; see [`Store::presigned_get`] for how long it is valid) of
/// stream `id`'s file of `kind` for `minute`, if that minute is only in the store and the
/// file went there.
pub fn url(r: &Reads<'_>, id: &str, minute: i64, kind: FileKind) -> Option<String> {
    let u = minutes(r, id, minute, minute).remove(&minute)?;
    let sent = match kind {
        FileKind::Preview => u.preview,
        FileKind::Thumbnail => u.thumbnail,
        _ => true,
    };
    if !sent {
        return None;
    }
    let place = Place::of(r, id)?;
    Some(place.store.presigned_get(&place.key(id, minute, kind)))
}

/// The minutes of stream `id` in `[from, to]` to assemble, local and remote, in time order,
/// and when `lead` is set the latest one before `from` within [`range::LEAD_MINUTES`] (its
/// frames may run into `from`); `None` for an unknown stream.
pub fn inputs(r: &Reads<'_>, id: &str, from: i64, to: i64, lead: bool) -> Option<Vec<Input>> {
    let first = from;
    let from = if lead {
        from - range::LEAD_MINUTES
    } else {
        from
    };
    let dir = r.config.stream(id)?.dir;
    let local = r.index.minute_files(&dir, id, from, to);
    let mut all: Vec<(i64, Input)> = local
        .into_iter()
        .filter_map(|p| {
            let (_, m, _) = p.file_name()?.to_str().and_then(layout::parse_name)?;
            Some((m, Input::File(p)))
        })
        .collect();
    let remote = minutes(r, id, from, to);
    if let Some(place) = Place::of(r, id).filter(|_| !remote.is_empty()) {
        for (m, u) in remote {
            let blob = RemoteMinute {
                key: place.key(id, m, FileKind::Mp4),
                size: u.size,
                store: place.store.clone(),
            };
            all.push((m, Input::Blob(Arc::new(blob))));
        }
    }
    all.sort_by_key(|(m, _)| *m);
    Some(range::lead_in(all, first))
}
