//! The viewing pages: camera overview, the status page and the archives (the day view is
//! [`super::day_page`]).

use super::html::{esc, page};
use super::reply::Reply;
use crate::app::App;
use crate::fmt::{human_bytes, minute_label};
use crate::status::State;
use crate::time;

/// `/`: one card per camera with its latest thumbnail and state.
pub fn overview(app: &App) -> Reply {
    let loaded = app.loaded();
    let status = app.status.snapshot();
    let mut body = String::new();
    if let Some(e) = &loaded.error {
        body.push_str(&format!(
            "<p class=\"error\">The config file has an error, so the last good settings are in use: \
             <code>{}</code>. <a href=\"/config\">Fix it in the form</a>.</p>",
            esc(e)
        ));
    }
    if let Some(w) = app.reaper_warning() {
        body.push_str(&format!("<p class=\"error\">Disk space: {}</p>", esc(&w)));
    }
    if loaded.config.cameras.is_empty() {
        body.push_str("<p>No cameras yet. <a href=\"/config\">Add one</a>.</p>");
    }
    body.push_str("<div class=\"cards\">");
    for c in &loaded.config.cameras {
        let s = status.get(&c.id);
        let state = app.status.state(&c.id, c.enabled).name();
        let latest = app.index.latest(&c.id);
        let img = match latest {
            Some(m) => format!(
                "<img src=\"/api/1/camera/{}.thumbnail.{}.jpg\" alt=\"latest picture of {}\" width=\"160\" height=\"90\">",
                esc(&c.id),
                minute_label(m),
                esc(&c.id)
            ),
            None => "<div class=\"noimg\">no recording yet</div>".into(),
        };
        let when = latest.map_or(String::new(), |m| {
            format!(
                "<time data-utc=\"{}\">{} UTC</time>",
                m * 60,
                minute_label(m)
            )
        });
        let err = match s {
            Some(s) if s.state == State::Retrying => format!(
                "<div class=\"why\">{}</div>",
                esc(s.last_error.as_deref().unwrap_or_default())
            ),
            _ => String::new(),
        };
        body.push_str(&format!(
            "<a class=\"card\" href=\"/camera/{id}\">{img}<div class=\"name\">{id}</div>\
             <div><span class=\"badge {state}\">{state}</span> {when}</div>{err}</a>",
            id = esc(&c.id),
        ));
    }
    body.push_str("</div>");
    Reply::ok("text/html; charset=utf-8", page("Cameras", &body))
}

/// `/status`: uptime, load, memory, disks, cameras and recent log lines.
pub fn status(app: &App) -> Reply {
    use sysinfo::System;
    let loaded = app.loaded();
    let mut sys = System::new();
    sys.refresh_memory();
    let load = System::load_average();
    let up = (time::now_micros() - app.status.started_us) / 1_000_000;
    let mut body = format!(
        "<h1>Status</h1><table class=\"kv\">\
         <tr><th>pinvr</th><td>{} up {}h {:02}m</td></tr>\
         <tr><th>system</th><td>up {}h, load {:.2} {:.2} {:.2}</td></tr>\
         <tr><th>memory</th><td>{} used of {}</td></tr>\
         <tr><th>clock</th><td>{}</td></tr>{}</table>",
        env!("CARGO_PKG_VERSION"),
        up / 3600,
        up % 3600 / 60,
        System::uptime() / 3600,
        load.one,
        load.five,
        load.fifteen,
        human_bytes(sys.used_memory()),
        human_bytes(sys.total_memory()),
        crate::clock_sync::name(),
        mqtt_row(app) + &offload_row(app),
    );
    if let Some(e) = &loaded.error {
        body.push_str(&format!(
            "<p class=\"error\">Config error: <code>{}</code></p>",
            esc(e)
        ));
    }
    body.push_str("<h2>Storage</h2><table><tr><th>folder</th><th>free</th><th>size</th></tr>");
    let mut dirs = vec![
        loaded.config.data_dir.clone(),
        loaded.config.archive_dir.clone(),
    ];
    dirs.extend(loaded.config.cameras.iter().map(|c| c.dir.clone()));
    dirs.dedup();
    for d in dirs {
        let usage = crate::disk::usage(&d).map_or(
            "<td colspan=\"2\">not created yet</td>".into(),
            |(free, total)| {
                format!(
                    "<td>{}</td><td>{}</td>",
                    human_bytes(free),
                    human_bytes(total)
                )
            },
        );
        body.push_str(&format!(
            "<tr><td>{}</td>{usage}</tr>",
            esc(&d.display().to_string())
        ));
    }
    // A wide table: whole words in its cells, scrolled sideways on a phone.
    body.push_str("</table><h2>Cameras</h2><div class=\"wide\"><table><tr><th>camera</th><th>state</th><th>since</th><th>frames</th><th>clock<br>drift</th><th>lost packets<br>(damaged frames)</th><th>live viewers<br>(served, frames skipped)</th><th>last error</th></tr>");
    let status = app.status.snapshot();
    // Each camera, then its sub stream (a row of its own: a wrong or dead sub_url shows).
    for c in &loaded.config.streams() {
        let s = status.get(&c.id);
        let live = &app.live.feed(&c.id).counters;
        let n = |a: &std::sync::atomic::AtomicU64| a.load(std::sync::atomic::Ordering::Relaxed);
        body.push_str(&format!(
            "<tr><td>{}</td><td><span class=\"badge {st}\">{st}</span></td><td>{}</td><td>{}</td><td>{}</td><td>{} ({})</td><td>{} ({}, {})</td><td>{}</td></tr>",
            esc(&c.id),
            s.map_or(String::new(), |s| format!("<time data-utc=\"{}\"></time>", s.since_us / 1_000_000)),
            s.map_or(0, |s| s.frames),
            s.and_then(|s| s.drift_ppm)
                .map_or(String::new(), |d| format!("{d:+.0} ppm")),
            s.map_or(0, |s| s.lost_packets),
            s.map_or(0, |s| s.damaged_frames),
            live.viewers.load(std::sync::atomic::Ordering::Relaxed),
            n(&live.served),
            n(&live.skipped),
            esc(s.and_then(|s| s.last_error.as_deref()).unwrap_or("")),
            st = app.status.state(&c.id, c.enabled).name(),
        ));
    }
    body.push_str("</table></div><h2>Recent log</h2><pre class=\"log\">");
    for line in crate::logging::recent().iter().rev().take(100).rev() {
        body.push_str(&esc(line));
        body.push('\n');
    }
    body.push_str("</pre>");
    Reply::ok("text/html; charset=utf-8", page("Status", &body))
}

/// The status page's offload row: the store, the backlog, the last error.
fn offload_row(app: &App) -> String {
    let s = app.offload.status();
    let Some(o) = app.loaded().config.offload else {
        return "<tr><th>Offload</th><td>off</td></tr>".into();
    };
    let state = match &s.last_error {
        Some(e) => format!("<span class=\"badge retrying\">failing</span> {}", esc(e)),
        None if s.last_ok_us > 0 => "<span class=\"badge recording\">uploading</span>".into(),
        None => "<span class=\"badge connecting\">starting</span>".into(),
    };
    let oldest = s
        .oldest_pending
        .map_or(String::from("none"), crate::fmt::minute_label);
    format!(
        "<tr><th>Offload</th><td id=\"offload\">{state} to bucket {} at {}: {} minutes ({}) and {} archives waiting, oldest {oldest}; {} uploaded since start</td></tr>",
        esc(&o.bucket),
        esc(o.endpoint.as_str()),
        s.backlog_minutes,
        crate::fmt::human_bytes(s.backlog_bytes),
        s.backlog_archives,
        crate::fmt::human_bytes(s.uploaded_bytes),
    )
}

/// The status page's MQTT row: connected or why not, and the message counts.
fn mqtt_row(app: &App) -> String {
    let m = app.status.mqtt();
    if !m.configured {
        return "<tr><th>MQTT</th><td>off</td></tr>".into();
    }
    let state = if m.connected {
        "<span class=\"badge recording\">connected</span>".to_owned()
    } else {
        format!(
            "<span class=\"badge retrying\">not connected</span> {}",
            esc(m.last_error.as_deref().unwrap_or("connecting"))
        )
    };
    format!(
        "<tr><th>MQTT</th><td id=\"mqtt\">{state} since <time data-utc=\"{}\"></time>; {} messages sent, {} dropped</td></tr>",
        m.since_us / 1_000_000,
        m.sent,
        m.dropped
    )
}

/// `/archives`: kept ranges, with download and delete.
pub fn archives(app: &App, csrf: &str) -> Reply {
    let dir = app.loaded().config.archive_dir;
    let list = crate::archive::list(&dir);
    let mut body = format!(
        "<h1>Archives</h1><p class=\"muted\">In <code>{}</code>: {} archive(s), {}. The reaper never deletes them.</p>",
        esc(&dir.display().to_string()),
        list.len(),
        human_bytes(crate::disk::dir_size(&dir))
    );
    if let Some(w) = app.reaper_warning() {
        body.push_str(&format!("<p class=\"error\">Disk space: {}</p>", esc(&w)));
    }
    body.push_str("<table class=\"list\"><tr><th>camera</th><th>from</th><th>to</th><th>note</th><th>size</th><th></th></tr>");
    // A label (YYYYMMDD.HHMM[SS], UTC) as a time the page shows in the viewer's words.
    let when = |label: &str| {
        let us = crate::fmt::parse_label(label).unwrap_or(0);
        format!(
            "<time data-iso=\"{}\">{} UTC</time>",
            time::iso8601(us),
            esc(label)
        )
    };
    for a in &list {
        body.push_str(&format!(
            "<tr><td>{cam}</td><td>{s}</td><td>{e}</td><td>{note}</td><td>{size}</td><td>\
             <a class=\"button\" href=\"/api/1/archive/{n}.mp4\">Download</a> \
             <form method=\"post\" action=\"/api/1/archive/{n}/delete\" class=\"inline\" data-confirm=\"Delete this archive for good?\">\
             <input type=\"hidden\" name=\"csrf\" value=\"{csrf}\"><button type=\"submit\">Delete</button></form></td></tr>",
            cam = esc(&a.camera),
            s = when(&a.start),
            e = when(&a.end),
            note = esc(&a.note),
            size = human_bytes(a.bytes),
            n = esc(&a.name),
            csrf = esc(csrf),
        ));
    }
    body.push_str("</table>");
    Reply::ok("text/html; charset=utf-8", page("Archives", &body))
}
