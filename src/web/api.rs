//! The REST API under `/api/1/`: JSON about the system, the cameras and a day's minutes, and
//! the minute files and ranges themselves. Every JSON answer has the same envelope:
//! `{"date": ..., "system": {"name", "version"}, "payload": ...}`.

use super::reply::{Body, Reply};
use super::routes::MinuteFile;
use crate::app::App;
use crate::layout::{self, FileKind};
use crate::range::RangeMp4;
use crate::time::{self, Date};
use serde_json::{Value, json};
use std::time::{SystemTime, UNIX_EPOCH};

/// Wraps `payload` in the API envelope.
pub fn envelope(payload: Value) -> Reply {
    let body = json!({
        "date": time::iso8601(time::now_micros()),
        "system": { "name": "pinvr", "version": env!("CARGO_PKG_VERSION") },
        "payload": payload,
    });
    Reply::ok("application/json", body.to_string()).header("Cache-Control", "no-store")
}

/// `YYYYMMDD.HHMM` of a minute.
pub fn minute_label(minute: i64) -> String {
    let (d, t) = time::minute_name(minute);
    format!("{d}.{t}")
}

/// `system.json`: running or error, uptime, and per camera whether it is recording.
pub fn system(app: &App) -> Reply {
    let loaded = app.loaded();
    let status = app.status.snapshot();
    let cameras: serde_json::Map<String, Value> = loaded
        .config
        .cameras
        .iter()
        .map(|c| {
            let s = status.get(&c.id);
            let state = s.map_or(if c.enabled { "connecting" } else { "disabled" }, |s| {
                s.state.name()
            });
            (
                c.id.clone(),
                json!({
                    "recording": state == "recording",
                    "state": state,
                    "last_error": s.and_then(|s| s.last_error.clone()),
                }),
            )
        })
        .collect();
    envelope(json!({
        "status": if loaded.error.is_some() { "error" } else { "running" },
        "error": loaded.error,
        "uptime_s": (time::now_micros() - app.status.started_us) / 1_000_000,
        "cameras": cameras,
    }))
}

/// `cameras.json`: the configured cameras (never their passwords), state, newest minute.
pub fn cameras(app: &App) -> Reply {
    let status = app.status.snapshot();
    let list: Vec<Value> = app
        .loaded()
        .config
        .cameras
        .iter()
        .map(|c| {
            let s = status.get(&c.id);
            json!({
                "id": c.id,
                "url": c.url.as_str(),
                "enabled": c.enabled,
                "transport": format!("{:?}", c.transport).to_lowercase(),
                "state": s.map_or(if c.enabled { "connecting" } else { "disabled" }, |s| s.state.name()),
                "recording": s.is_some_and(|s| s.state == crate::status::State::Recording),
                "latest": app.index.latest(&c.id).map(minute_label),
                "oldest": app.index.oldest(&c.id).map(minute_label),
            })
        })
        .collect();
    envelope(json!({ "cameras": list }))
}

/// True if `id` is a configured camera.
pub fn known(app: &App, id: &str) -> bool {
    app.loaded().config.cameras.iter().any(|c| c.id == id)
}

/// `cameras/YYYYMMDD`: which minutes exist that UTC day, per camera, with min and max.
pub fn day(app: &App, date: Date, ids: Option<Vec<String>>) -> Reply {
    let ids = ids.unwrap_or_else(|| {
        app.loaded()
            .config
            .cameras
            .iter()
            .map(|c| c.id.clone())
            .collect()
    });
    if let Some(unknown) = ids.iter().find(|id| !known(app, id)) {
        return Reply::text(404, format!("no camera {unknown:?}"));
    }
    let from = date.days() * 1440;
    let mut cams = serde_json::Map::new();
    for id in ids {
        let minutes: Vec<String> = app
            .index
            .minutes(&id, from, from + 1439)
            .into_iter()
            .map(|m| time::minute_name(m).1)
            .collect();
        cams.insert(
            id,
            json!({
                "count": minutes.len(),
                "min": minutes.first(),
                "max": minutes.last(),
                "minutes": minutes,
            }),
        );
    }
    envelope(json!({ "date": date.compact(), "cameras": cams }))
}

/// A minute's preview, thumbnail or MP4.
pub fn file(app: &App, id: &str, which: MinuteFile, minute: i64) -> Reply {
    let Some(dir) = app.index.dir(id).filter(|_| known(app, id)) else {
        return Reply::text(404, format!("no camera {id:?}"));
    };
    let (kind, content_type) = match which {
        MinuteFile::Preview => (FileKind::Preview, "image/jpeg"),
        MinuteFile::Thumbnail => (FileKind::Thumbnail, "image/jpeg"),
        MinuteFile::Video => (FileKind::Mp4, "video/mp4"),
    };
    let path = layout::minute_path(&dir, id, minute, kind);
    if !path.is_file() {
        return Reply::text(
            404,
            format!(
                "no {} for camera {id} at {}",
                kind.suffix(),
                minute_label(minute)
            ),
        );
    }
    Reply {
        status: 200,
        content_type,
        headers: vec![("Cache-Control".into(), "max-age=60".into())],
        body: Body::File(path),
    }
}

/// A range of minutes as one MP4, named like `front.20261123.1400-1530.mp4`.
pub fn range(app: &App, id: &str, from: i64, to: i64) -> Reply {
    let Some(files) = app.minute_files(id, from, to) else {
        return Reply::text(404, format!("no camera {id:?}"));
    };
    let mut tag: u64 = 0xcbf2_9ce4_8422_2325;
    let mut newest = UNIX_EPOCH;
    for f in &files {
        let meta = std::fs::metadata(f).ok();
        let modified = meta
            .as_ref()
            .and_then(|m| m.modified().ok())
            .unwrap_or(UNIX_EPOCH);
        newest = newest.max(modified);
        let stamp = format!(
            "{}{}{:?}",
            f.display(),
            meta.map_or(0, |m| m.len()),
            modified
        );
        for b in stamp.bytes() {
            tag = (tag ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3); // FNV-1a
        }
    }
    let mp4 = match RangeMp4::build(&files) {
        Ok(m) => m,
        Err(e) => return Reply::text(404, format!("camera {id}: {e}")),
    };
    let (d1, t1) = time::minute_name(from);
    let (d2, t2) = time::minute_name(to);
    let name = if d1 == d2 {
        format!("{id}.{d1}.{t1}-{t2}.mp4")
    } else {
        format!("{id}.{d1}.{t1}-{d2}.{t2}.mp4")
    };
    Reply {
        status: 200,
        content_type: "video/mp4",
        headers: vec![
            (
                "Content-Disposition".into(),
                format!("attachment; filename=\"{name}\""),
            ),
            ("Cache-Control".into(), "no-cache".into()),
        ],
        body: Body::Range {
            mp4,
            etag: format!("\"r{tag:016x}\""),
            modified: newest.max(SystemTime::UNIX_EPOCH),
        },
    }
}

/// `archives.json`: the archives, newest first.
pub fn archives(app: &App) -> Reply {
    let list = crate::archive::list(&app.loaded().config.archive_dir);
    envelope(json!({ "archives": list }))
}

/// An archive's MP4, as a download.
pub fn archive_file(app: &App, name: &str) -> Reply {
    match crate::archive::mp4_path(&app.loaded().config.archive_dir, name) {
        Some(path) => Reply {
            status: 200,
            content_type: "video/mp4",
            headers: vec![(
                "Content-Disposition".into(),
                format!("attachment; filename=\"{name}.mp4\""),
            )],
            body: Body::File(path),
        },
        None => Reply::text(404, format!("no archive {name:?}")),
    }
}
