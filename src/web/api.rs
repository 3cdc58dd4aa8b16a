//! The REST API under `/api/1/`: JSON about the system, the cameras and a day's minutes, and
//! the minute files and ranges themselves. Every JSON answer has the same envelope:
//! `{"date": ..., "system": {"name", "version"}, "payload": ...}`.

use super::ctx::Ctx;
use super::reply::{Body, Reply};
use super::request::Request;
use super::routes::{MinuteFile, Span};
use crate::app::App;
use crate::error::{Error, Result};
use crate::fmt::minute_label;
use crate::layout::{self, FileKind};
use crate::range::{Input, RangeMp4};
use crate::time::{self, Date};
use serde_json::{Value, json};
use std::time::UNIX_EPOCH;

/// Wraps `payload` in the API envelope.
pub fn envelope(payload: Value) -> Reply {
    let body = json!({
        "date": time::iso8601(time::now_micros()),
        "system": { "name": "pinvr", "version": env!("CARGO_PKG_VERSION") },
        "payload": payload,
    });
    Reply::ok("application/json", body.to_string()).header("Cache-Control", "no-store")
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
            let state = app.status.state(&c.id, c.enabled).name();
            (
                c.id.clone(),
                json!({
                    "recording": state == "recording",
                    "state": state,
                    "last_error": s.and_then(|s| s.last_error.clone()),
                    "frames": s.map_or(0, |s| s.frames),
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
            let state = app.status.state(&c.id, c.enabled);
            let s = status.get(&c.id);
            let live = app.live.feed(&c.id);
            let n = |a: &std::sync::atomic::AtomicU64| a.load(std::sync::atomic::Ordering::Relaxed);
            json!({
                "id": c.id,
                "url": c.url.as_str(),
                "enabled": c.enabled,
                "transport": format!("{:?}", c.transport).to_lowercase(),
                "state": state.name(),
                "recording": state == crate::status::State::Recording,
                "since": s.map(|s| time::iso8601(s.since_us)),
                "last_error": s.and_then(|s| s.last_error.clone()),
                "lost_packets": s.map_or(0, |s| s.lost_packets),
                "damaged_frames": s.map_or(0, |s| s.damaged_frames),
                "drift_ppm": s.and_then(|s| s.drift_ppm).map(|d| d.round()),
                "latest": app.index.latest(&c.id).map(minute_label),
                "oldest": app.index.oldest(&c.id).map(minute_label),
                "live": {
                    "viewers": live.counters.viewers.load(std::sync::atomic::Ordering::Relaxed),
                    "served": n(&live.counters.served),
                    "skipped_frames": n(&live.counters.skipped),
                },
                "codec": codec_of(app, &c.id),
                "sub": c.sub().map(|sub| stream_json(app, &status, &sub)),
                "previews": previews(app, &status, c),
            })
        })
        .collect();
    envelope(json!({ "cameras": list }))
}

/// The RFC 6381 codec string of what stream `id` sends now, once it has connected.
fn codec_of(app: &App, id: &str) -> Option<String> {
    let (_, codec) = app.live.feed(id).online();
    (!codec.is_empty()).then_some(codec)
}

/// A sub stream as `cameras.json` shows it.
fn stream_json(
    app: &App,
    status: &std::collections::BTreeMap<String, crate::status::CameraStatus>,
    c: &crate::config::Camera,
) -> Value {
    let state = app.status.state(&c.id, c.enabled);
    let s = status.get(&c.id);
    json!({
        "id": c.id,
        "url": c.url.as_str(),
        "state": state.name(),
        "recording": state == crate::status::State::Recording,
        "since": s.map(|s| time::iso8601(s.since_us)),
        "last_error": s.and_then(|s| s.last_error.clone()),
        "codec": codec_of(app, &c.id),
        "latest": app.index.latest(&c.id).map(minute_label),
    })
}

/// Where the camera's previews (stills, thumbnails, change search) come from now: `"sub"`,
/// `"main"`, or `"none: <why>"`.
fn previews(
    app: &App,
    status: &std::collections::BTreeMap<String, crate::status::CameraStatus>,
    c: &crate::config::Camera,
) -> String {
    let sub_recording = c.sub().is_some_and(|s| {
        status
            .get(&s.id)
            .is_some_and(|s| s.state == crate::status::State::Recording)
    });
    let hevc = codec_of(app, &c.id).is_some_and(|k| k.starts_with("hvc1") || k.starts_with("hev1"));
    if sub_recording {
        "sub".into()
    } else if hevc {
        "none: the main stream is H.265, which pinvr does not decode; an H.264 sub stream (sub_url) gives previews".into()
    } else {
        "main".into()
    }
}

/// True if `id` is a configured camera or a camera's sub stream.
pub fn known(app: &App, id: &str) -> bool {
    app.loaded().config.stream(id).is_some()
}

/// `cameras/YYYYMMDD`: which minutes exist that UTC day, per camera, with min and max.
pub fn day(app: &App, date: Date, ids: Option<Vec<String>>) -> Result<Reply> {
    let ids = ids.unwrap_or_else(|| {
        app.loaded()
            .config
            .cameras
            .iter()
            .map(|c| c.id.clone())
            .collect()
    });
    if let Some(unknown) = ids.iter().find(|id| !known(app, id)) {
        return Err(Error::not_found(format!("no camera {unknown:?}")));
    }
    let from = date.days() * 1440;
    let mut cams = serde_json::Map::new();
    for id in ids {
        // Local minutes and those only in the offload store (also listed as `remote`).
        let remote = app.remote(|r| crate::offload::remote::minutes(r, &id, from, from + 1439));
        let mut all = app.index.minutes(&id, from, from + 1439);
        all.extend(remote.keys());
        all.sort_unstable();
        let name = |m: &i64| time::minute_name(*m).1;
        let minutes: Vec<String> = all.iter().map(name).collect();
        let remote: Vec<String> = remote.keys().map(name).collect();
        cams.insert(
            id,
            json!({
                "count": minutes.len(),
                "min": minutes.first(),
                "max": minutes.last(),
                "minutes": minutes,
                "remote": remote,
            }),
        );
    }
    Ok(envelope(json!({ "date": date.compact(), "cameras": cams })))
}

/// A minute's preview, thumbnail or MP4. A camera's still that its main stream did not make
/// (the sub stream records) is the sub stream's.
pub fn file(app: &App, id: &str, which: MinuteFile, minute: i64) -> Result<Reply> {
    let r = file_of(app, id, which, minute);
    let sub = format!("{id}{}", crate::config::SUB_SUFFIX);
    match r {
        Err(e)
            if e.kind() == crate::ErrorKind::NotFound
                && matches!(which, MinuteFile::Preview | MinuteFile::Thumbnail)
                && !id.ends_with(crate::config::SUB_SUFFIX)
                && known(app, &sub) =>
        {
            file_of(app, &sub, which, minute).map_err(|_| e)
        }
        r => r,
    }
}

fn file_of(app: &App, id: &str, which: MinuteFile, minute: i64) -> Result<Reply> {
    let Some(dir) = app.index.dir(id).filter(|_| known(app, id)) else {
        return Err(Error::not_found(format!("no camera {id:?}")));
    };
    let (kind, content_type) = match which {
        MinuteFile::Preview => (FileKind::Preview, "image/jpeg"),
        MinuteFile::Thumbnail => (FileKind::Thumbnail, "image/jpeg"),
        MinuteFile::Video | MinuteFile::Repeat(_) => (FileKind::Mp4, "video/mp4"),
    };
    let path = match which {
        MinuteFile::Repeat(n) => layout::repeat_path(&dir, id, minute, n, kind),
        _ => layout::minute_path(&dir, id, minute, kind),
    };
    if !crate::fsutil::plain_file_under(&dir, &path) {
        // Only in the offload store: the browser reads it there, by a presigned URL, so
        // the Pi's one USB bus does not carry the bytes in and out again.
        // (A repeat is never uploaded: the store's file of its minute is the first's.)
        let remote = match which {
            MinuteFile::Repeat(_) => None,
            _ => app.remote(|r| crate::offload::remote::url(r, id, minute, kind)),
        };
        if let Some(url) = remote {
            return Ok(Reply {
                status: 307,
                content_type: "text/plain; charset=utf-8",
                headers: vec![
                    ("Location".into(), url),
                    ("Cache-Control".into(), "no-store".into()),
                ],
                body: Body::Bytes(b"in the offload store".to_vec()),
            });
        }
        return Err(Error::not_found(format!(
            "no {} for camera {id} at {}",
            kind.suffix(),
            minute_label(minute)
        )));
    }
    Ok(Reply {
        status: 200,
        content_type,
        headers: vec![("Cache-Control".into(), "max-age=60".into())],
        body: Body::File(path),
    })
}

/// The file name a download of `span` gets: what it is, in the UI's words, in UTC
/// (`front 2026-11-23 14.36.50 to 14.38.10 UTC.mp4`), or for whole minutes the file names'
/// style (`front.20261123.1400-1530.mp4`).
fn range_name(id: &str, span: Span) -> String {
    match span {
        Span::Minutes(from, to) => {
            let (d1, t1) = time::minute_name(from);
            let (d2, t2) = time::minute_name(to);
            if d1 == d2 {
                format!("{id}.{d1}.{t1}-{t2}.mp4")
            } else {
                format!("{id}.{d1}.{t1}-{d2}.{t2}.mp4")
            }
        }
        Span::Seconds(from, to) => {
            let words = |us: i64| {
                let iso = time::iso8601(us);
                (iso[..10].to_owned(), iso[11..19].replace(':', "."))
            };
            let ((d1, t1), (d2, t2)) = (words(from), words(to));
            if d1 == d2 {
                format!("{id} {d1} {t1} to {t2} UTC.mp4")
            } else {
                format!("{id} {d1} {t1} to {d2} {t2} UTC.mp4")
            }
        }
    }
}

/// True for a download name a page may ask for (`?name=`): letters, digits, spaces and
/// `._+-`, ending `.mp4`.
fn valid_download_name(n: &str) -> bool {
    n.len() <= 120
        && n.ends_with(".mp4")
        && n.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b" ._+-".contains(&b))
}

/// The minutes of `id` that may hold frames of `span`, local or in the offload store: for
/// a span of seconds, also the latest file before its first minute (a minute file starts
/// at a key frame, so the frames at the span's start are in an earlier file; with a long
/// GOP, minutes earlier).
pub fn span_files(app: &App, id: &str, span: Span) -> Option<Vec<Input>> {
    let (from, to, lead) = match span {
        Span::Minutes(from, to) => (from, to, false),
        Span::Seconds(from, to) => (time::minute_of(from), time::minute_of(to - 1), true),
    };
    app.remote(|r| crate::offload::remote::inputs(r, id, from, to, lead))
}

/// Builds the MP4 of `span` from its minutes `files`.
pub fn build_span(files: &[Input], span: Span) -> Result<RangeMp4> {
    match span {
        Span::Minutes(..) => RangeMp4::build(files),
        Span::Seconds(from, to) => RangeMp4::build_cut(files, Some((from, to))),
    }
}

/// A range of minutes, or of seconds, as one MP4. Its entity tag comes from the minute
/// files' metadata and the span, so a client's current copy is answered (304) without
/// building anything, and a header built lately is reused. `?name=` sets the download's
/// file name (the page names it in the browser's time zone).
pub fn range(ctx: &Ctx, rq: &Request, id: &str, span: Span) -> Result<Reply> {
    let Some(files) = span_files(&ctx.app, id, span) else {
        return Err(Error::not_found(format!("no camera {id:?}")));
    };
    let name = match rq.param("name") {
        Some(n) if valid_download_name(&n) => n,
        Some(n) => {
            return Err(Error::invalid(format!(
                "{n:?} is not a download name (letters, digits, spaces, ._+- and .mp4)"
            )));
        }
        None => range_name(id, span),
    };
    let mut tag: u64 = 0xcbf2_9ce4_8422_2325;
    let mut newest = UNIX_EPOCH;
    let mut stamp = format!("{span:?}");
    for f in &files {
        match f {
            Input::File(f) => {
                let meta = std::fs::metadata(f).ok();
                let modified = meta
                    .as_ref()
                    .and_then(|m| m.modified().ok())
                    .unwrap_or(UNIX_EPOCH);
                newest = newest.max(modified);
                stamp.push_str(&format!(
                    "{}{}{:?}",
                    f.display(),
                    meta.map_or(0, |m| m.len()),
                    modified
                ));
            }
            // An object in the store is written once: its key and size name it.
            Input::Blob(b) => stamp.push_str(&format!("{}{}", b.name(), b.len())),
        }
    }
    for b in stamp.bytes() {
        tag = (tag ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3); // FNV-1a
    }
    let etag = format!("\"r{tag:016x}\"");
    let headers = vec![
        (
            "Content-Disposition".into(),
            format!("attachment; filename=\"{name}\""),
        ),
        ("Cache-Control".into(), "no-cache".into()),
    ];
    if !files.is_empty() && super::reply::not_modified(rq, &etag, newest) {
        return Ok(Reply {
            status: 304,
            content_type: "video/mp4",
            headers: vec![("ETag".into(), etag)],
            body: Body::Bytes(Vec::new()),
        });
    }
    let mp4 = match ctx.ranges.get(&etag) {
        Some(m) => m,
        None => {
            let m = build_span(&files, span).map_err(|e| e.context(format_args!("camera {id}")))?;
            ctx.ranges.put(etag.clone(), m.clone());
            m
        }
    };
    Ok(Reply {
        status: 200,
        content_type: "video/mp4",
        headers,
        body: Body::Range {
            mp4,
            etag,
            modified: newest,
        },
    })
}

/// `camera/<id>/spans.json?date=`: each minute of a UTC day with its exact start, duration,
/// frames and bytes, so the day view places frames to the second.
pub fn spans(ctx: &Ctx, id: &str, date: Date) -> Result<Reply> {
    let from = date.days() * 1440;
    let Some(files) = ctx.app.minute_files(id, from, from + 1439) else {
        return Err(Error::not_found(format!("no camera {id:?}")));
    };
    let unsynced = ctx
        .app
        .loaded()
        .config
        .stream(id)
        .map(|c| crate::unsynced::load(&c.dir, id, date.days()))
        .unwrap_or_default();
    let mut list = Vec::with_capacity(files.len());
    for f in &files {
        let Some((_, minute, _)) = f
            .file_name()
            .and_then(|n| n.to_str())
            .and_then(layout::parse_name)
        else {
            continue;
        };
        match ctx.summaries.get(f) {
            Ok((s, bytes)) => list.push((minute, span_json(minute, &s, bytes, false))),
            Err(e) => log::debug!("spans: {e}"),
        }
    }
    // Repeats of minutes (recorded again after the clock was set back), with their minute.
    if let Some(dir) = ctx.app.index.dir(id) {
        for (minute, n, path) in layout::repeats_of_day(&dir, id, from) {
            let Ok((s, bytes)) = ctx.summaries.get(&path) else {
                continue;
            };
            if let Some((_, span)) = list.iter_mut().find(|(m, _)| *m == minute) {
                let (day, hhmm) = time::minute_name(minute);
                let mut v = span_json(minute, &s, bytes, false);
                v["repeat"] = json!(n);
                v["url"] = json!(format!("/api/1/camera/{id}.preview.{day}.{hhmm}.r{n}.mp4"));
                match span["repeats"].as_array_mut() {
                    Some(a) => a.push(v),
                    None => span["repeats"] = json!([v]),
                }
            }
        }
    }
    // Minutes only in the offload store, as their journal lines describe them.
    for (minute, u) in ctx
        .app
        .remote(|r| crate::offload::remote::minutes(r, id, from, from + 1439))
    {
        let s = u.summary.unwrap_or_else(|| crate::mp4::Summary {
            codec: String::new(),
            start_us: minute * 60_000_000,
            duration_us: 60_000_000,
            frames: 0,
        });
        list.push((minute, span_json(minute, &s, u.size, true)));
    }
    list.sort_by_key(|(m, _)| *m);
    let list: Vec<Value> = list
        .into_iter()
        .map(|(m, mut v)| {
            v["clock_unsynced"] = json!(unsynced.contains(&m));
            v
        })
        .collect();
    Ok(envelope(
        json!({ "camera": id, "date": date.compact(), "spans": list }),
    ))
}

/// One minute of `spans.json`; `remote`: only in the offload store.
fn span_json(minute: i64, s: &crate::mp4::Summary, bytes: u64, remote: bool) -> Value {
    json!({
        "minute": time::minute_name(minute).1,
        "start_us": s.start_us,
        "duration_us": s.duration_us,
        "frames": s.frames,
        "bytes": bytes,
        "codec": s.codec,
        "remote": remote,
    })
}

/// `archives.json`: the archives, newest first.
pub fn archives(app: &App) -> Reply {
    let list = crate::archive::list(&app.loaded().config.archive_dir);
    envelope(json!({ "archives": list }))
}

/// An archive's MP4, as a download.
pub fn archive_file(app: &App, name: &str) -> Result<Reply> {
    let dir = app.loaded().config.archive_dir;
    match crate::archive::mp4_path(&dir, name).filter(|p| crate::fsutil::plain_file_under(&dir, p))
    {
        Some(path) => Ok(Reply {
            status: 200,
            content_type: "video/mp4",
            headers: vec![(
                "Content-Disposition".into(),
                format!("attachment; filename=\"{name}.mp4\""),
            )],
            body: Body::File(path),
        }),
        None => Err(Error::not_found(format!("no archive {name:?}"))),
    }
}
