//! Bounded loss at a power cut: every few seconds the recorder asks for its open chunk to be
//! synced to the disk (`fdatasync`), and one thread does it, so a camera's thread never
//! waits for the card. Requests come with their own handle of the file; if the thread is
//! still busy with earlier ones, a request is dropped (the next one comes a few seconds
//! later and covers it).

use std::fs::File;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{SyncSender, TrySendError, sync_channel};

/// Requests waiting at most.
const QUEUE: usize = 64;

/// Syncs done, requests dropped (the syncer was behind).
static DONE: AtomicU64 = AtomicU64::new(0);
/// See [`DONE`].
static DROPPED: AtomicU64 = AtomicU64::new(0);

fn sender() -> &'static SyncSender<File> {
    static TX: OnceLock<SyncSender<File>> = OnceLock::new();
    TX.get_or_init(|| {
        let (tx, rx) = sync_channel::<File>(QUEUE);
        std::thread::Builder::new()
            .name("syncer".into())
            .spawn(move || {
                for f in rx {
                    if let Err(e) = f.sync_data() {
                        log::debug!("syncing a chunk: {e}");
                    }
                    DONE.fetch_add(1, Ordering::Relaxed);
                }
            })
            .expect("spawning the syncer thread");
        tx
    })
}

/// Asks for `f`'s data to be synced to the disk, soon.
pub fn request(f: File) {
    if let Err(TrySendError::Full(_)) = sender().try_send(f) {
        DROPPED.fetch_add(1, Ordering::Relaxed);
    }
}

/// Syncs done and requests dropped so far.
pub fn counts() -> (u64, u64) {
    (
        DONE.load(Ordering::Relaxed),
        DROPPED.load(Ordering::Relaxed),
    )
}
