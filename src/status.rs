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
    /// Bytes of video received since start.
    pub bytes: u64,
    /// When the last frame arrived (wall clock), 0 before the first.
    pub last_frame_us: Micros,
    /// Connections that delivered frames, counted from the second (reconnects).
    pub reconnects: u64,
    /// RTP packets lost since start (gaps in their sequence numbers).
    pub lost_packets: u64,
    /// Frames that came after a loss (their picture, or the next ones', may be damaged).
    pub damaged_frames: u64,
    /// The camera's clock error as measured, parts per million (positive: fast).
    pub drift_ppm: Option<f64>,
}

/// The link to a service pinvr reports to (the MQTT broker): for the status page and
/// `/metrics`.
#[derive(Clone, Debug, Default)]
pub struct Link {
    /// Configured at all.
    pub configured: bool,
    /// Connected now.
    pub connected: bool,
    /// When it last connected or failed.
    pub since_us: Micros,
    /// Why the last attempt failed, if it did.
    pub last_error: Option<String>,
    /// Messages sent since start.
    pub sent: u64,
    /// Messages dropped because the link was down or slow.
    pub dropped: u64,
}

/// The recorder's shared state.
pub struct Status {
    /// Per camera, by id.
    cameras: Mutex<BTreeMap<String, CameraStatus>>,
    /// When the process started.
    pub started_us: Micros,
    /// The MQTT broker's link.
    pub mqtt: Mutex<Link>,
}

impl Default for Status {
    fn default() -> Self {
        Status {
            cameras: Mutex::new(BTreeMap::new()),
            started_us: now_micros(),
            mqtt: Mutex::default(),
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
            bytes: 0,
            last_frame_us: 0,
            reconnects: 0,
            lost_packets: 0,
            damaged_frames: 0,
            drift_ppm: None,
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

    /// What camera `id` is doing, `enabled` as configured: a camera not yet started is
    /// connecting (or disabled). The one place the state shown anywhere is decided.
    pub fn state(&self, id: &str, enabled: bool) -> State {
        if !enabled {
            return State::Disabled;
        }
        self.cameras
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(id)
            .map_or(State::Connecting, |c| c.state)
    }

    /// The MQTT link's state.
    pub fn mqtt(&self) -> Link {
        self.mqtt.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// Changes the MQTT link's state.
    pub fn update_mqtt(&self, f: impl FnOnce(&mut Link)) {
        f(&mut self.mqtt.lock().unwrap_or_else(|e| e.into_inner()));
    }

    /// A copy of every camera's state.
    pub fn snapshot(&self) -> BTreeMap<String, CameraStatus> {
        self.cameras
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }
}
