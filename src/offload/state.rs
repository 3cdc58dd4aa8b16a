//! What the uploader knows and tells: which minutes of which stream are in the store (from
//! the journals), and its status for the status page and `/metrics`. Shared by the uploader
//! thread (which writes it), the reaper (which may delete a local minute only once it is
//! uploaded) and the web (which reads minutes only in the store through its client).

use super::journal::Uploaded;
use super::store::Store;
use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};

/// The uploader's state as others see it.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct OffloadStatus {
    /// An `offload` section is in force.
    pub configured: bool,
    /// The last failure, if the last attempt failed.
    pub last_error: Option<String>,
    /// When an upload last succeeded (µs since the epoch), 0 never.
    pub last_ok_us: i64,
    /// Minutes waiting to be uploaded.
    pub backlog_minutes: usize,
    /// Their bytes.
    pub backlog_bytes: u64,
    /// The oldest waiting minute (minutes since the epoch).
    pub oldest_pending: Option<i64>,
    /// Archives waiting.
    pub backlog_archives: usize,
    /// Bytes uploaded since start.
    pub uploaded_bytes: u64,
    /// Files uploaded since start.
    pub uploaded_files: u64,
    /// Minutes uploaded since start.
    pub uploaded_minutes: u64,
    /// Failed attempts since start.
    pub errors: u64,
    /// Bytes per second over the last upload.
    pub rate: f64,
}

/// Shared uploader state.
#[derive(Default)]
pub struct Shared {
    inner: Mutex<Inner>,
}

#[derive(Default)]
struct Inner {
    /// Uploaded minutes per stream id; `None` until the journals are read.
    uploaded: Option<HashMap<String, BTreeMap<i64, Uploaded>>>,
    status: OffloadStatus,
    /// The store's client, while offload is configured.
    store: Option<Arc<Store>>,
}

impl Shared {
    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// True if minute `minute` of stream `id` is in the store as its MP4 of `size` bytes is
    /// now (false until the journals are read: nothing is taken for uploaded that is not
    /// known to be; false for a minute finished again since, bigger).
    pub fn is_uploaded(&self, id: &str, minute: i64, size: u64) -> bool {
        self.lock()
            .uploaded
            .as_ref()
            .and_then(|u| u.get(id))
            .is_some_and(|s| s.get(&minute).is_some_and(|u| u.size == size))
    }

    /// Sets what the journals say (at start, or when the streams change).
    pub fn set_uploaded(&self, uploaded: HashMap<String, BTreeMap<i64, Uploaded>>) {
        self.lock().uploaded = Some(uploaded);
    }

    /// Marks one more minute uploaded.
    pub fn mark(&self, id: &str, minute: i64, u: Uploaded) {
        let mut g = self.lock();
        g.uploaded
            .get_or_insert_with(HashMap::new)
            .entry(id.to_owned())
            .or_default()
            .insert(minute, u);
        g.status.uploaded_minutes += 1;
    }

    /// For each of `minutes` of stream `id`, the size of the MP4 sent, `None` if it is not
    /// uploaded (looked up under one lock, nothing of the journals copied).
    pub fn sizes_sent(&self, id: &str, minutes: &[i64]) -> Vec<Option<u64>> {
        let g = self.lock();
        let of = g.uploaded.as_ref().and_then(|u| u.get(id));
        minutes
            .iter()
            .map(|m| of.and_then(|s| s.get(m)).map(|u| u.size))
            .collect()
    }

    /// The uploaded minutes of `id` in `[from, to]`.
    pub fn uploaded_in(&self, id: &str, from: i64, to: i64) -> BTreeMap<i64, Uploaded> {
        self.lock()
            .uploaded
            .as_ref()
            .and_then(|u| u.get(id))
            .map(|m| m.range(from..=to).map(|(k, v)| (*k, v.clone())).collect())
            .unwrap_or_default()
    }

    /// The store's client, if offload is on.
    pub fn store(&self) -> Option<Arc<Store>> {
        self.lock().store.clone()
    }

    /// Sets the store's client (`None`: offload is off).
    pub fn set_store(&self, store: Option<Arc<Store>>) {
        self.lock().store = store;
    }

    /// The status now.
    pub fn status(&self) -> OffloadStatus {
        self.lock().status.clone()
    }

    /// Changes the status.
    pub fn update(&self, f: impl FnOnce(&mut OffloadStatus)) {
        f(&mut self.lock().status);
    }
}
