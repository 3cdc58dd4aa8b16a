//! Shared, live state of the recorder for the status page and the API: per camera whether
//! it is recording, retrying (and why), when that began and how many frames it has seen.

use crate::time::{Micros, now_micros};
use std::collections::BTreeMap;
use std::sync::Mutex;

/// What a camera is doing.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum State {
    /// Connecting (first attempt).
    Connecting,
    /// Frames are arriving and being written.
    Recording,
    /// The last attempt failed; waiting to try again.
    Retrying,
    /// Disabled in the config.
    Disabled,
}

impl State {
    /// Lower-case name for JSON and pages.
    pub fn name(self) -> &'static str {
        match self {
            State::Connecting => "connecting",
            State::Recording => "recording",
            State::Retrying => "retrying",
            State::Disabled => "disabled",
        }
    }
}

/// One camera's state.
#[derive(Clone, Debug)]
pub struct CameraStatus {
    /// What it is doing.
    pub state: State,
    /// When it entered that state.
    pub since_us: Micros,
    /// The last error, kept after recovery for the status page.
    pub last_error: Option<String>,
    /// Frames received since start.
    pub frames: u64,
}

/// The recorder's shared state.
pub struct Status {
    /// Per camera, by id.
    cameras: Mutex<BTreeMap<String, CameraStatus>>,
    /// When the process started.
    pub started_us: Micros,
}

impl Default for Status {
    fn default() -> Self {
        Status {
            cameras: Mutex::new(BTreeMap::new()),
            started_us: now_micros(),
        }
    }
}

impl Status {
    /// Sets camera `id`'s state (keeping its error and counters).
    pub fn set_state(&self, id: &str, state: State) {
        self.update(id, |c| {
            if c.state != state {
                c.state = state;
                c.since_us = now_micros();
            }
        });
    }

    /// Changes camera `id`'s entry, creating it if needed.
    pub fn update(&self, id: &str, f: impl FnOnce(&mut CameraStatus)) {
        let mut map = self.cameras.lock().unwrap_or_else(|e| e.into_inner());
        // Look up before inserting: this runs per frame and must not allocate.
        if let Some(entry) = map.get_mut(id) {
            return f(entry);
        }
        let entry = map.entry(id.to_owned()).or_insert(CameraStatus {
            state: State::Connecting,
            since_us: now_micros(),
            last_error: None,
            frames: 0,
        });
        f(entry);
    }

    /// Forgets camera `id` (removed from the config).
    pub fn remove(&self, id: &str) {
        self.cameras
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(id);
    }

    /// A copy of every camera's state.
    pub fn snapshot(&self) -> BTreeMap<String, CameraStatus> {
        self.cameras
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }
}
