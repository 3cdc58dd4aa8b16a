//! The configuration file as written on disk (JSON): every field optional except a camera's
//! `id` and `url`, unknown fields refused. [`super::validate`] turns it into a [`super::Config`].

use super::secret::Secret;
use serde::{Deserialize, Serialize};

/// The whole file.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawConfig {
    /// Root folder for recordings; default `/data/pinvr`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data_dir: Option<String>,
    /// Folder for archived ranges; default `<data_dir>/archive`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub archive_dir: Option<String>,
    /// Seconds between syncs of the minute being recorded to the disk, which bounds what a
    /// power cut loses of it; 0 turns syncing off (the kernel writes back within about
    /// 30 s). Default 5.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub chunk_sync_s: Option<f64>,
    /// Web server settings.
    #[serde(default)]
    pub web: RawWeb,
    /// Connection liveness and retry timers.
    #[serde(default)]
    pub retry: RawRetry,
    /// Disk-space keeper; absent means recordings are never deleted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reaper: Option<RawReaper>,
    /// The cameras.
    #[serde(default)]
    pub cameras: Vec<RawCamera>,
    /// The MQTT broker (Home Assistant); absent: off.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mqtt: Option<super::mqtt::RawMqtt>,
    /// The S3-compatible store minutes and archives are copied to; absent: off.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub offload: Option<super::offload::RawOffload>,
}

/// `web`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawWeb {
    /// Address and port to listen on; default `0.0.0.0:8080`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub listen: Option<String>,
    /// The admin password's hash (a password typed here in clear is replaced by its hash
    /// when pinvr reads the file); null means none is set yet, and the first visit sets it.
    #[serde(default)]
    pub admin_password: Option<Secret>,
    /// Let anyone on the network view (pages, API reads, images, video, live) without
    /// logging in; changing anything still needs the password. Default false.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub anonymous_view: Option<bool>,
    /// Host names the web UI is reached by, besides IP addresses, `localhost` and this
    /// machine's own name (requests naming another host are refused: DNS rebinding).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub hosts: Vec<String>,
}

/// `retry`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawRetry {
    /// Seconds to wait for the first frame after connecting; default 30.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub connect_timeout_s: Option<f64>,
    /// Seconds of silence mid-stream before reconnecting; default 5.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gap_timeout_s: Option<f64>,
    /// First delay before a retry, doubled after each failure; default 2.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry_delay_s: Option<f64>,
    /// Cap on the retry delay; default 60.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry_max_delay_s: Option<f64>,
}

/// `reaper`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawReaper {
    /// Keep at least this percentage of each disk free; default 10.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_free_percent: Option<f64>,
    /// Keep at least this many bytes of each disk free; default 1 GiB.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_free_bytes: Option<u64>,
    /// Delete minutes older than this many days; default null (no age limit).
    #[serde(default)]
    pub max_age_days: Option<u32>,
    /// Seconds between checks; default 30.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub interval_s: Option<f64>,
}

/// One entry of `cameras`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawCamera {
    /// `[a-z0-9_-]{1,32}`: used in file names and URLs.
    pub id: String,
    /// `rtsp://host[:port]/path`, without credentials.
    pub url: String,
    /// The camera's low-resolution stream (same credentials): previews, the live grid and
    /// the change search use it, and it is recorded too, small; default none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sub_url: Option<String>,
    /// RTSP user name; default none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
    /// RTSP password; default none. Never logged or sent to a browser.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub password: Option<Secret>,
    /// Record this camera; default true.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enabled: Option<bool>,
    /// `tcp` (default) or `udp`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub transport: Option<String>,
    /// Folder for this camera's minutes; default `<data_dir>/<id>`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dir: Option<String>,
    /// Delete this camera's minutes older than this many days (overrides
    /// `reaper.max_age_days`); default null.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_age_days: Option<u32>,
}
