//! Live view: each camera's frames as an endless fragmented MP4, straight from the camera
//! thread ([`feed`]), with caps on viewers per camera and in total. A Pi 3 sends a 1080p
//! 3 Mbit/s camera to [`MAX_PER_CAMERA`] viewers in about a tenth of its USB 2.0 bus.

pub mod feed;
pub mod viewer;

pub use feed::Feed;
pub use viewer::Viewer;

use crate::error::{Error, ErrorKind, Result};
use std::collections::BTreeMap;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};

/// Viewers of one camera at once, at most.
pub const MAX_PER_CAMERA: usize = 8;
/// Viewers of all cameras at once, at most (the `/live` grid of 16 cameras is 16).
pub const MAX_TOTAL: usize = 32;
/// A live viewer whose client reads nothing for this long is disconnected (the web's
/// usual write timeout is shorter): a stalled viewer that reads again within it skips to
/// the newest key frame and plays on.
pub const STALL: std::time::Duration = std::time::Duration::from_secs(120);

/// Every camera's feed, by id.
#[derive(Default)]
pub struct Hub {
    feeds: Mutex<BTreeMap<String, Arc<Feed>>>,
}

impl Hub {
    /// Camera `id`'s feed, made on first use; it outlives restarts of the camera.
    pub fn feed(&self, id: &str) -> Arc<Feed> {
        let mut feeds = self.feeds.lock().unwrap_or_else(|e| e.into_inner());
        feeds.entry(id.to_owned()).or_default().clone()
    }

    /// Every feed, by camera id.
    pub fn feeds(&self) -> Vec<(String, Arc<Feed>)> {
        let feeds = self.feeds.lock().unwrap_or_else(|e| e.into_inner());
        feeds.iter().map(|(k, v)| (k.clone(), v.clone())).collect()
    }

    /// A new viewer of camera `id`, or why not: too many viewers.
    pub fn watch(&self, id: &str) -> Result<Viewer> {
        let feeds = self.feeds.lock().unwrap_or_else(|e| e.into_inner());
        let count = |f: &Feed| f.counters.viewers.load(Ordering::Relaxed);
        let total: usize = feeds.values().map(|f| count(f)).sum();
        let feed = feeds.get(id).ok_or_else(|| {
            Error::new(ErrorKind::Busy, format!("camera {id} has not started yet"))
        })?;
        if count(feed) >= MAX_PER_CAMERA {
            return Err(Error::new(
                ErrorKind::Busy,
                format!(
                    "camera {id} already has {MAX_PER_CAMERA} live viewers, the most pinvr \
                     serves; close one and try again"
                ),
            ));
        }
        if total >= MAX_TOTAL {
            return Err(Error::new(
                ErrorKind::Busy,
                format!(
                    "pinvr already serves {MAX_TOTAL} live viewers, the most it serves at \
                     once; close one and try again"
                ),
            ));
        }
        Ok(Viewer::join(feed))
    }
}
