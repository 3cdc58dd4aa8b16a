//! The viewing pages: camera overview, a camera's day view and the status page. The day view
//! is a shell that the script fills from the API, so it can show the browser's local day.

use super::api::minute_label;
use super::html::{esc, page};
use super::reply::Reply;
use crate::app::App;
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
        let state = s.map_or(if c.enabled { "connecting" } else { "disabled" }, |s| {
            s.state.name()
        });
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

/// `/camera/<id>`: the day view shell.
pub fn day(id: &str, csrf: &str) -> Reply {
    let body = format!(
        r#"<section id="day" data-camera="{id}" data-csrf="{csrf}">
<h1>{id}</h1>
<div class="daynav">
<button type="button" id="prev" aria-label="previous day">&larr;</button>
<input type="date" id="date" aria-label="day">
<button type="button" id="next" aria-label="next day">&rarr;</button>
<span id="count"></span>
</div>
<div class="viewer">
<img id="preview" alt="preview of the minute under the pointer">
<div id="when" class="when"></div>
</div>
<div id="timeline" class="timeline" aria-label="minutes of the day; hover or drag to scrub, click to play"></div>
<div id="strip" class="strip"></div>
<div class="select">
<button type="button" id="setstart">Start here</button>
<button type="button" id="setend">End here</button>
<span id="sel"></span>
<a id="download" class="button" hidden>Download MP4</a>
<button type="button" id="archive" hidden>Archive…</button>
<span id="archived"></span>
</div>
</section>"#,
        id = esc(id),
        csrf = esc(csrf)
    );
    Reply::ok("text/html; charset=utf-8", page(id, &body)).header("Cache-Control", "no-store")
}

/// Formats a byte count for people.
pub fn human_bytes(n: u64) -> String {
    let units = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut v = n as f64;
    let mut u = 0;
    while v >= 1024.0 && u + 1 < units.len() {
        v /= 1024.0;
        u += 1;
    }
    format!("{v:.1} {}", units[u])
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
         <tr><th>memory</th><td>{} used of {}</td></tr></table>",
        env!("CARGO_PKG_VERSION"),
        up / 3600,
        up % 3600 / 60,
        System::uptime() / 3600,
        load.one,
        load.five,
        load.fifteen,
        human_bytes(sys.used_memory()),
        human_bytes(sys.total_memory()),
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
        let usage = crate::reaper::usage(&d).map_or("-".into(), |(free, total)| {
            format!(
                "<td>{}</td><td>{}</td>",
                human_bytes(free),
                human_bytes(total)
            )
        });
        body.push_str(&format!(
            "<tr><td>{}</td>{usage}</tr>",
            esc(&d.display().to_string())
        ));
    }
    body.push_str("</table><h2>Cameras</h2><table><tr><th>camera</th><th>state</th><th>since</th><th>frames</th><th>last error</th></tr>");
    let status = app.status.snapshot();
    for c in &loaded.config.cameras {
        let s = status.get(&c.id);
        body.push_str(&format!(
            "<tr><td>{}</td><td><span class=\"badge {st}\">{st}</span></td><td>{}</td><td>{}</td><td>{}</td></tr>",
            esc(&c.id),
            s.map_or(String::new(), |s| format!("<time data-utc=\"{}\"></time>", s.since_us / 1_000_000)),
            s.map_or(0, |s| s.frames),
            esc(s.and_then(|s| s.last_error.as_deref()).unwrap_or("")),
            st = s.map_or(if c.enabled { "connecting" } else { "disabled" }, |s| s.state.name()),
        ));
    }
    body.push_str("</table><h2>Recent log</h2><pre class=\"log\">");
    for line in crate::logging::recent().iter().rev().take(100).rev() {
        body.push_str(&esc(line));
        body.push('\n');
    }
    body.push_str("</pre>");
    Reply::ok("text/html; charset=utf-8", page("Status", &body))
}

/// `/archives`: kept ranges, with download and delete.
pub fn archives(app: &App, csrf: &str) -> Reply {
    let dir = app.loaded().config.archive_dir;
    let list = crate::archive::list(&dir);
    let mut body = format!(
        "<h1>Archives</h1><p class=\"muted\">In <code>{}</code>: {} archive(s), {}. The reaper never deletes them.</p>",
        esc(&dir.display().to_string()),
        list.len(),
        human_bytes(crate::reaper::dir_size(&dir))
    );
    if let Some(w) = app.reaper_warning() {
        body.push_str(&format!("<p class=\"error\">Disk space: {}</p>", esc(&w)));
    }
    body.push_str("<table><tr><th>camera</th><th>from</th><th>to</th><th>note</th><th>size</th><th></th></tr>");
    for a in &list {
        body.push_str(&format!(
            "<tr><td>{cam}</td><td>{s} UTC</td><td>{e} UTC</td><td>{note}</td><td>{size}</td><td>\
             <a class=\"button\" href=\"/api/1/archive/{n}.mp4\">Download</a> \
             <form method=\"post\" action=\"/api/1/archive/{n}/delete\" style=\"display:inline\">\
             <input type=\"hidden\" name=\"csrf\" value=\"{csrf}\"><button type=\"submit\">Delete</button></form></td></tr>",
            cam = esc(&a.camera),
            s = esc(&a.start),
            e = esc(&a.end),
            note = esc(&a.note),
            size = human_bytes(a.bytes),
            n = esc(&a.name),
            csrf = esc(csrf),
        ));
    }
    body.push_str("</table>");
    Reply::ok("text/html; charset=utf-8", page("Archives", &body))
}
