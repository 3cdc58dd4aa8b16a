//! `/live` (every enabled camera in a grid) and `/live/<id>` (one camera, big): shells whose
//! script (`live.js`) plays each camera's live stream through Media Source Extensions.

use super::html::{esc, page};
use super::reply::Reply;
use crate::app::App;
use crate::error::{Error, Result};

/// The live page of camera `one`, or of every enabled camera.
pub fn live(app: &App, one: Option<&str>) -> Result<Reply> {
    let loaded = app.loaded();
    let cams: Vec<&crate::config::Camera> = loaded
        .config
        .cameras
        .iter()
        .filter(|c| c.enabled && one.is_none_or(|id| c.id == id))
        .collect();
    if let Some(id) = one
        && cams.is_empty()
    {
        return Err(Error::not_found(format!(
            "no enabled camera {id:?}: it has no live picture"
        )));
    }
    let mut tiles = String::new();
    for c in &cams {
        // The grid plays each camera's sub stream when it has one; one camera big plays
        // the main stream, and the sub stream if the browser cannot play the main's codec.
        let (stream, fallback) = match (one, c.sub_url.is_some()) {
            (None, true) => (c.small_id(), String::new()),
            (Some(_), true) => (c.id.clone(), c.small_id()),
            (_, false) => (c.id.clone(), String::new()),
        };
        tiles.push_str(&format!(
            r#"<figure class="tile" data-camera="{id}" data-stream="{stream}" data-fallback="{fallback}" data-state="connecting">
<video muted playsinline autoplay disableremoteplayback aria-label="live picture of {id}"></video>
<div class="tilemsg" role="status"></div>
<figcaption><a href="/live/{id}">{id}</a> <span class="badge livestate">connecting</span> <span class="lag muted"></span> <a class="button small" href="/camera/{id}" data-just="1" title="the day view, a minute ago">What just happened?</a></figcaption>
</figure>
"#,
            id = esc(&c.id),
            stream = esc(&stream),
            fallback = esc(&fallback),
        ));
    }
    if cams.is_empty() {
        tiles.push_str("<p>No enabled cameras. <a href=\"/config\">Add one</a>.</p>");
    }
    let title = one.unwrap_or("Live");
    let body = format!(
        "<section id=\"live\" class=\"live{single}\"><h1>{t}</h1><div class=\"livegrid\">{tiles}</div></section>",
        single = if one.is_some() { " single" } else { "" },
        t = esc(title),
    );
    Ok(Reply::ok(
        "text/html; charset=utf-8",
        page(title, &body).replace(
            "<script type=\"module\" src=\"/static/app.js\"></script>",
            "<script type=\"module\" src=\"/static/app.js\"></script>\n<script type=\"module\" src=\"/static/live.js\"></script>",
        ),
    )
    .header("Cache-Control", "no-store"))
}
