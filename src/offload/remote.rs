//! Minutes that are only in the offload store, as the web reads them: which they are (the
//! journals say uploaded, the disk no longer has them), what the day view shows of them,
//! a presigned URL a browser is sent to for one of their files, and a [`Blob`] that range
//! exports read by byte range, so an export across local and remote minutes is one file.

use super::journal::Uploaded;
use super::store::Store;
use crate::app::App;
use crate::blob::Blob;
use crate::layout::{self, FileKind};
use crate::range::Input;
use std::collections::BTreeMap;
use std::io::Read;
use std::sync::Arc;

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
pub fn minutes(app: &App, id: &str, from: i64, to: i64) -> BTreeMap<i64, Uploaded> {
    if app.offload.store().is_none() {
        return BTreeMap::new();
    }
    let mut up = app.offload.uploaded_in(id, from, to);
    for m in app.index.minutes(id, from, to) {
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
    fn of(app: &App, id: &str) -> Option<Place> {
        let store = app.offload.store()?;
        let (data_dir, dir) =
            app.with_loaded(|l| Some((l.config.data_dir.clone(), l.config.stream(id)?.dir)))?;
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
pub fn url(app: &App, id: &str, minute: i64, kind: FileKind) -> Option<String> {
    let u = minutes(app, id, minute, minute).remove(&minute)?;
    let sent = match kind {
        FileKind::Preview => u.preview,
        FileKind::Thumbnail => u.thumbnail,
        _ => true,
    };
    if !sent {
        return None;
    }
    let place = Place::of(app, id)?;
    Some(place.store.presigned_get(&place.key(id, minute, kind)))
}

/// The minutes of stream `id` in `[from, to]` to assemble, local and remote, in time order;
/// `None` for an unknown stream.
pub fn inputs(app: &App, id: &str, from: i64, to: i64) -> Option<Vec<Input>> {
    let local = app.minute_files(id, from, to)?;
    let mut all: Vec<(i64, Input)> = local
        .into_iter()
        .filter_map(|p| {
            let (_, m, _) = p.file_name()?.to_str().and_then(layout::parse_name)?;
            Some((m, Input::File(p)))
        })
        .collect();
    let remote = minutes(app, id, from, to);
    if let Some(place) = Place::of(app, id).filter(|_| !remote.is_empty()) {
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
    Some(all.into_iter().map(|(_, i)| i).collect())
}
