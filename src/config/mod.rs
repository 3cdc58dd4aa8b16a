//! Configuration: the JSON file ([`RawConfig`], as on disk) and the validated [`Config`] the
//! program runs on. Parsing and validation are two explicit steps; every error names the
//! field (`cameras[1].id: ...`) and the reason.

mod file;
mod mqtt;
mod offload;
pub mod password;
mod raw;
mod secret;
mod streams;
mod validate;

pub use file::{
    MAX_FILE, Watch, load, parse, patch_admin_password, remove_leftovers, salvage_web, save,
};
pub use mqtt::{DEFAULT_PREFIX as MQTT_DEFAULT_PREFIX, Mqtt, RawMqtt};
pub use offload::{Offload, RawOffload};
pub use raw::{RawCamera, RawConfig, RawReaper, RawRetry, RawWeb};
pub use secret::Secret;
pub use streams::{SUB_SUFFIX, valid_stream_id};
pub use validate::{valid_id, validate};

/// The configuration in force, as a service reads it: a copy each time it is called (the
/// supervisor's handle on the settings, so a service need not see the whole `App`).
pub type Current = std::sync::Arc<dyn Fn() -> Config + Send + Sync>;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

/// Default `data_dir`.
pub const DEFAULT_DATA_DIR: &str = "/data/pinvr";
/// Default `web.listen`.
pub const DEFAULT_LISTEN: &str = "0.0.0.0:8080";

/// The validated configuration.
#[derive(Clone, Debug, PartialEq)]
pub struct Config {
    /// Root folder for recordings.
    pub data_dir: PathBuf,
    /// Folder for archived ranges (never reaped).
    pub archive_dir: PathBuf,
    /// How often the open minute is synced to the disk (`None`: never).
    pub chunk_sync: Option<Duration>,
    /// Web server settings.
    pub web: Web,
    /// Liveness and retry timers.
    pub retry: Retry,
    /// Disk-space keeper; `None` disables deletion.
    pub reaper: Option<Reaper>,
    /// The cameras, in file order.
    pub cameras: Vec<Camera>,
    /// The MQTT broker, if any.
    pub mqtt: Option<Mqtt>,
    /// The object store, if any.
    pub offload: Option<Offload>,
}

/// Validated `web`.
#[derive(Clone, Debug, PartialEq)]
pub struct Web {
    /// Address to listen on.
    pub listen: SocketAddr,
    /// The admin password's hash, once set.
    pub admin_password: Option<Secret>,
    /// Viewing without logging in.
    pub anonymous_view: bool,
    /// Extra host names the UI may be reached by (lower case).
    pub hosts: Vec<String>,
}

/// Validated `retry`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Retry {
    /// How long to wait for the first frame after connecting.
    pub connect_timeout: Duration,
    /// Longest silence tolerated mid-stream.
    pub gap_timeout: Duration,
    /// First retry delay (doubled per failure).
    pub retry_delay: Duration,
    /// Cap on the retry delay.
    pub retry_max_delay: Duration,
}

/// Validated `reaper`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Reaper {
    /// Free-space floor as a percentage of the disk.
    pub min_free_percent: f64,
    /// Free-space floor in bytes.
    pub min_free_bytes: u64,
    /// Age limit in days, if any.
    pub max_age_days: Option<u32>,
    /// Time between passes.
    pub interval: Duration,
}

/// RTP transport.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Transport {
    /// RTP interleaved on the RTSP TCP connection (default; survives NAT and loss).
    Tcp,
    /// RTP over UDP.
    Udp,
}

/// A validated camera.
#[derive(Clone, Debug, PartialEq)]
pub struct Camera {
    /// Identifier, `[a-z0-9_-]{1,32}`.
    pub id: String,
    /// RTSP URL without credentials.
    pub url: url::Url,
    /// The low-resolution stream's URL, if any (see [`Camera::sub`]).
    pub sub_url: Option<url::Url>,
    /// For a sub stream: the id of the camera it belongs to.
    pub sub_of: Option<String>,
    /// RTSP user name.
    pub username: Option<String>,
    /// RTSP password.
    pub password: Option<Secret>,
    /// Whether to record.
    pub enabled: bool,
    /// RTP transport.
    pub transport: Transport,
    /// Folder of this camera's minutes.
    pub dir: PathBuf,
    /// Age limit in days for this camera (overrides the reaper's).
    pub max_age_days: Option<u32>,
}

impl Default for Retry {
    fn default() -> Self {
        Retry {
            connect_timeout: Duration::from_secs(30),
            gap_timeout: Duration::from_secs(5),
            retry_delay: Duration::from_secs(2),
            retry_max_delay: Duration::from_secs(60),
        }
    }
}
