//! `GET /metrics`: Prometheus text format (version 0.0.4), written by hand: a few lines per
//! metric, `pinvr_` prefix, units in the names, `_total` counters. Per camera: state, age of
//! the last frame, frames, bytes, reconnects, live viewers and their skips; per storage
//! folder: free and total bytes; minutes reaped; web requests and refusals; the MQTT link;
//! whether the clock is synchronised.

use super::ctx::Ctx;
use super::reply::Reply;
use crate::status::State;
use std::fmt::Write;
use std::sync::atomic::Ordering;

/// One metric family being written.
struct Family<'a> {
    out: &'a mut String,
}

impl Family<'_> {
    fn new<'a>(out: &'a mut String, name: &str, kind: &str, help: &str) -> Family<'a> {
        let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} {kind}");
        Family { out }
    }

    fn sample(&mut self, name: &str, labels: &[(&str, &str)], value: f64) {
        self.out.push_str(name);
        if !labels.is_empty() {
            self.out.push('{');
            for (i, (k, v)) in labels.iter().enumerate() {
                if i > 0 {
                    self.out.push(',');
                }
                let _ = write!(self.out, "{k}=\"{}\"", escape(v));
            }
            self.out.push('}');
        }
        let _ = writeln!(self.out, " {value}");
    }
}

/// A label value with `\`, `"` and newlines escaped.
fn escape(v: &str) -> String {
    v.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

/// Writes a family named `name` with one sample per `(labels, value)`.
fn family(
    out: &mut String,
    name: &str,
    kind: &str,
    help: &str,
    samples: &[(Vec<(&str, &str)>, f64)],
) {
    let mut f = Family::new(out, name, kind, help);
    for (labels, v) in samples {
        f.sample(name, labels, *v);
    }
}

/// The metrics page.
pub fn metrics(ctx: &Ctx) -> Reply {
    let app = &ctx.app;
    let loaded = app.loaded();
    let status = app.status.snapshot();
    let now = crate::time::now_micros();
    let mut o = String::with_capacity(4096);
    let n = |a: &std::sync::atomic::AtomicU64| a.load(Ordering::Relaxed) as f64;

    family(
        &mut o,
        "pinvr_build_info",
        "gauge",
        "pinvr's version.",
        &[(vec![("version", env!("CARGO_PKG_VERSION"))], 1.0)],
    );
    family(
        &mut o,
        "pinvr_start_time_seconds",
        "gauge",
        "When pinvr started, Unix time.",
        &[(vec![], app.status.started_us as f64 / 1e6)],
    );

    let cams: Vec<_> = loaded.config.cameras.iter().collect();
    let per = |f: &dyn Fn(&crate::config::Camera) -> Option<f64>| -> Vec<(Vec<(&str, &str)>, f64)> {
        cams.iter()
            .filter_map(|c| f(c).map(|v| (vec![("camera", c.id.as_str())], v)))
            .collect()
    };
    family(
        &mut o,
        "pinvr_camera_up",
        "gauge",
        "1 while the camera is recording.",
        &per(&|c| {
            Some(f64::from(u8::from(
                app.status.state(&c.id, c.enabled) == State::Recording,
            )))
        }),
    );
    let states = ["connecting", "recording", "retrying", "disabled"];
    let mut f = Family::new(
        &mut o,
        "pinvr_camera_state",
        "gauge",
        "What the camera is doing (1 for its state).",
    );
    for c in &cams {
        let s = app.status.state(&c.id, c.enabled).name();
        for st in states {
            f.sample(
                "pinvr_camera_state",
                &[("camera", &c.id), ("state", st)],
                f64::from(u8::from(s == st)),
            );
        }
    }
    family(
        &mut o,
        "pinvr_camera_last_frame_age_seconds",
        "gauge",
        "Seconds since the camera's last frame arrived (absent before the first).",
        &per(&|c| {
            status
                .get(&c.id)
                .filter(|s| s.last_frame_us > 0)
                .map(|s| (now - s.last_frame_us).max(0) as f64 / 1e6)
        }),
    );
    family(
        &mut o,
        "pinvr_camera_frames_total",
        "counter",
        "Frames received since start.",
        &per(&|c| Some(status.get(&c.id).map_or(0.0, |s| s.frames as f64))),
    );
    family(
        &mut o,
        "pinvr_camera_received_bytes_total",
        "counter",
        "Bytes of video received since start.",
        &per(&|c| Some(status.get(&c.id).map_or(0.0, |s| s.bytes as f64))),
    );
    family(
        &mut o,
        "pinvr_camera_reconnects_total",
        "counter",
        "Connections after the first that delivered frames.",
        &per(&|c| Some(status.get(&c.id).map_or(0.0, |s| s.reconnects as f64))),
    );
    family(
        &mut o,
        "pinvr_camera_rtp_packets_lost_total",
        "counter",
        "RTP packets lost (sequence gaps) since start.",
        &per(&|c| Some(status.get(&c.id).map_or(0.0, |s| s.lost_packets as f64))),
    );
    family(
        &mut o,
        "pinvr_camera_clock_drift_ppm",
        "gauge",
        "The camera's clock error as measured against pinvr's, parts per million (positive: fast).",
        &per(&|c| status.get(&c.id).and_then(|s| s.drift_ppm)),
    );
    family(
        &mut o,
        "pinvr_camera_damaged_frames_total",
        "counter",
        "Frames received after a packet loss (kept; their picture may be damaged).",
        &per(&|c| Some(status.get(&c.id).map_or(0.0, |s| s.damaged_frames as f64))),
    );
    family(
        &mut o,
        "pinvr_live_viewers",
        "gauge",
        "Live viewers now.",
        &per(&|c| {
            Some(
                app.live
                    .feed(&c.id)
                    .counters
                    .viewers
                    .load(Ordering::Relaxed) as f64,
            )
        }),
    );
    family(
        &mut o,
        "pinvr_live_viewers_served_total",
        "counter",
        "Live viewers served since start.",
        &per(&|c| Some(n(&app.live.feed(&c.id).counters.served))),
    );
    family(
        &mut o,
        "pinvr_live_skipped_frames_total",
        "counter",
        "Frames live viewers skipped to catch up.",
        &per(&|c| Some(n(&app.live.feed(&c.id).counters.skipped))),
    );

    let mut dirs = vec![
        loaded.config.data_dir.clone(),
        loaded.config.archive_dir.clone(),
    ];
    dirs.extend(cams.iter().map(|c| c.dir.clone()));
    dirs.sort();
    dirs.dedup();
    let usage: Vec<(String, (u64, u64))> = dirs
        .iter()
        .filter_map(|d| crate::disk::usage(d).map(|u| (d.display().to_string(), u)))
        .collect();
    let disk = |pick: fn((u64, u64)) -> u64| -> Vec<(Vec<(&str, &str)>, f64)> {
        usage
            .iter()
            .map(|(d, u)| (vec![("path", d.as_str())], pick(*u) as f64))
            .collect()
    };
    family(
        &mut o,
        "pinvr_disk_free_bytes",
        "gauge",
        "Free bytes of the filesystem of each storage folder.",
        &disk(|u| u.0),
    );
    family(
        &mut o,
        "pinvr_disk_size_bytes",
        "gauge",
        "Size of the filesystem of each storage folder.",
        &disk(|u| u.1),
    );
    family(
        &mut o,
        "pinvr_reaper_deletions_total",
        "counter",
        "Minutes deleted by the reaper since start (each minute counts once).",
        &[(vec![], n(&app.reaper.reaped))],
    );
    family(
        &mut o,
        "pinvr_web_requests_total",
        "counter",
        "Web requests answered.",
        &[(vec![], n(&ctx.requests))],
    );
    family(
        &mut o,
        "pinvr_web_refused_connections_total",
        "counter",
        "Connections refused at the connection limit.",
        &[(vec![], n(&ctx.refusals))],
    );

    let m = app.status.mqtt();
    if m.configured {
        family(
            &mut o,
            "pinvr_mqtt_connected",
            "gauge",
            "1 while connected to the MQTT broker.",
            &[(vec![], f64::from(u8::from(m.connected)))],
        );
        family(
            &mut o,
            "pinvr_mqtt_messages_sent_total",
            "counter",
            "MQTT messages queued for the broker.",
            &[(vec![], m.sent as f64)],
        );
        family(
            &mut o,
            "pinvr_mqtt_messages_dropped_total",
            "counter",
            "MQTT messages dropped (broker down or slow).",
            &[(vec![], m.dropped as f64)],
        );
    }
    offload_families(&mut o, app, now);
    if let Some(s) = crate::clock_sync::synchronized() {
        family(
            &mut o,
            "pinvr_clock_synchronized",
            "gauge",
            "1 when the system clock is synchronised (NTP).",
            &[(vec![], f64::from(u8::from(s)))],
        );
    }
    Reply::ok("text/plain; version=0.0.4; charset=utf-8", o).header("Cache-Control", "no-store")
}

/// The uploader's families, when an `offload` section is in force.
fn offload_families(o: &mut String, app: &crate::app::App, now: i64) {
    let s = app.offload.status();
    if !s.configured {
        return;
    }
    let oldest = s
        .oldest_pending
        .map_or(0.0, |m| ((now / 1_000_000 - m * 60).max(0)) as f64);
    let rows: [(&str, &str, &str, f64); 8] = [
        (
            "pinvr_offload_up",
            "gauge",
            "1 when the last upload attempt succeeded.",
            f64::from(u8::from(s.last_error.is_none() && s.last_ok_us > 0)),
        ),
        (
            "pinvr_offload_backlog_minutes",
            "gauge",
            "Minutes waiting to be uploaded.",
            s.backlog_minutes as f64,
        ),
        (
            "pinvr_offload_backlog_bytes",
            "gauge",
            "Bytes of the minutes waiting to be uploaded.",
            s.backlog_bytes as f64,
        ),
        (
            "pinvr_offload_oldest_pending_seconds",
            "gauge",
            "Age of the oldest minute waiting (0: none).",
            oldest,
        ),
        (
            "pinvr_offload_uploaded_bytes_total",
            "counter",
            "Bytes uploaded since start.",
            s.uploaded_bytes as f64,
        ),
        (
            "pinvr_offload_uploaded_minutes_total",
            "counter",
            "Minutes uploaded since start.",
            s.uploaded_minutes as f64,
        ),
        (
            "pinvr_offload_errors_total",
            "counter",
            "Failed upload attempts since start.",
            s.errors as f64,
        ),
        (
            "pinvr_reaper_deleted_before_upload_total",
            "counter",
            "Minutes the free-space floor forced out before they were uploaded (lost).",
            app.reaper.lost.load(Ordering::Relaxed) as f64,
        ),
    ];
    for (name, kind, help, v) in rows {
        family(o, name, kind, help, &[(vec![], v)]);
    }
}
