//! `/camera/<id>`: the day view, a shell that its script (`day.js`, with `player.js`,
//! `timeline.js`, `changes.js` and `timefmt.js`) fills from the API, so that it shows the browser's day
//! in the browser's time zone. It has one `<video>` (the player) and, once something is
//! selected, an `<a download>` whose `href` is the selection's range URL.

use super::html::{esc, page};
use super::reply::Reply;
use crate::app::App;
use crate::error::{Error, Result};

/// The day view of camera `id`; `csrf` is the logged-in session's token (archiving needs
/// it; empty when the viewer is not logged in).
pub fn day(app: &App, id: &str, csrf: &str) -> Result<Reply> {
    if !app.loaded().config.cameras.iter().any(|c| c.id == id) {
        return Err(Error::not_found(format!("no camera {id:?}")));
    }
    let body = format!(
        r#"<section id="day" class="day" data-camera="{id}" data-csrf="{csrf}">
<div class="dayhead">
<h1>{id} <span id="state" class="badge"></span></h1>
<div class="daynav">
<button type="button" id="prev" aria-label="previous day">&larr;</button>
<input type="date" id="date" aria-label="day">
<button type="button" id="next" aria-label="next day">&rarr;</button>
<button type="button" id="zone" class="zone" title="show times in UTC or in this browser's time zone"></button>
</div>
</div>
<p id="notice" class="notice" role="status" hidden></p>
<p id="offline" class="error" hidden></p>
<div class="viewer" id="viewer">
<video id="player" muted playsinline preload="none" aria-label="recorded video"></video>
<div id="clock" class="when" aria-live="off"></div>
<div id="nodata" class="nodata" hidden>Nothing recorded here.</div>
<div id="drawlayer" class="drawlayer" hidden aria-label="draw a rectangle around the part of the picture to search"><div id="regionbox" class="regionbox" hidden></div></div>
</div>
<div class="controls" role="toolbar" aria-label="player">
<button type="button" id="prevmin" title="previous minute (Home: start of the day)" aria-label="previous minute"><svg viewBox="0 0 24 24" width="20" height="20" aria-hidden="true"><path d="M6 5h2v14H6zM20 5v14L9 12z"/></svg></button>
<button type="button" id="back" title="back a frame when paused, 5 s when playing (&larr;)" aria-label="back"><svg viewBox="0 0 24 24" width="20" height="20" aria-hidden="true"><path d="M11 5v14L2 12zM22 5v14l-9-7z"/></svg></button>
<button type="button" id="play" class="play" title="play or pause (space)" aria-label="play"><svg viewBox="0 0 24 24" width="20" height="20" aria-hidden="true"><path d="M7 4v16l13-8z"/></svg></button>
<button type="button" id="fwd" title="forward a frame when paused, 5 s when playing (&rarr;)" aria-label="forward"><svg viewBox="0 0 24 24" width="20" height="20" aria-hidden="true"><path d="M13 5v14l9-7zM2 5v14l9-7z"/></svg></button>
<button type="button" id="nextmin" title="next minute" aria-label="next minute"><svg viewBox="0 0 24 24" width="20" height="20" aria-hidden="true"><path d="M16 5h2v14h-2zM4 5v14l11-7z"/></svg></button>
<select id="speed" aria-label="speed" title="playback speed">
<option value="0.25">&frac14;&times;</option><option value="1" selected>1&times;</option><option value="2">2&times;</option><option value="4">4&times;</option><option value="8">8&times;</option>
</select>
<input type="range" id="seek" min="0" max="1000" value="0" step="1" aria-label="position in the minute or the selection">
<span id="pos" class="pos"></span>
<button type="button" id="full" title="full screen" aria-label="full screen"><svg viewBox="0 0 24 24" width="20" height="20" aria-hidden="true"><path d="M3 3h7v2H5v5H3zM14 3h7v7h-2V5h-5zM3 14h2v5h5v2H3zM19 14h2v7h-7v-2h5z"/></svg></button>
<button type="button" id="helpbtn" title="keyboard keys (?)" aria-label="keyboard keys">?</button>
</div>
<div id="timeline" class="timeline" aria-label="the day: drag to select, click to play, hover to see; wheel to zoom">
<div class="tl-track"></div>
<div class="tl-axis"></div>
<div id="hoverbox" class="hoverbox" hidden><img id="hoverimg" alt=""><span id="hovertime"></span></div>
</div>
<p id="remotenote" class="remotenote" hidden><i></i> striped: only in the offload store (played and downloaded from there)</p>
<p id="repeats" class="remotenote" hidden></p>
<div class="zoombar">
<button type="button" id="zoomout" aria-label="zoom out" title="zoom out (-)">&minus;</button>
<button type="button" id="zoomday" title="the whole day">day</button>
<button type="button" id="zoomin" aria-label="zoom in" title="zoom in (+)">+</button>
<span id="viewlabel" class="muted"></span>
<button type="button" id="findchange" title="draw a rectangle on the picture: when did that part change?">What changed here?</button>
</div>
<div id="changes" class="changes" hidden>
<p id="changestatus" class="muted" role="status"></p>
<ol id="changelist" class="changelist"></ol>
</div>
<div class="selection" id="selpanel">
<button type="button" id="setstart" title="start the selection here ([)">[ start</button>
<input type="text" id="selfrom" inputmode="numeric" aria-label="selection start" placeholder="start" size="8">
<span>&ndash;</span>
<input type="text" id="selto" inputmode="numeric" aria-label="selection end" placeholder="end" size="8">
<button type="button" id="setend" title="end the selection here (])">end ]</button>
<span id="seldur" class="muted"></span>
<a id="download" class="button" hidden>Download MP4</a>
<button type="button" id="archive" hidden>Archive&hellip;</button>
<button type="button" id="clearsel" hidden>Clear</button>
</div>
<form id="archiveform" class="archiveform" hidden>
<label>Note for the archive<input type="text" id="archivenote" maxlength="1000"></label>
<button type="submit">Keep it</button> <button type="button" id="archivecancel">Cancel</button>
<span id="archived" role="status"></span>
</form>
<div id="help" class="help" role="dialog" aria-label="keyboard keys" hidden>
<h2>Keys</h2>
<table>
<tr><th>space, K</th><td>play or pause</td></tr>
<tr><th>&larr; &rarr;</th><td>a frame back or forward when paused, 5 s when playing</td></tr>
<tr><th>J, L</th><td>10 s back; play (again: faster)</td></tr>
<tr><th>[ ]</th><td>start or end the selection here</td></tr>
<tr><th>Home, End</th><td>first or last recording of the day</td></tr>
<tr><th>+ &minus;</th><td>zoom the timeline in or out</td></tr>
<tr><th>C</th><td>what changed here? (draw a rectangle on the picture)</td></tr>
<tr><th>?</th><td>this help (Esc closes it)</td></tr>
</table>
</div>
</section>"#,
        id = esc(id),
        csrf = esc(csrf)
    );
    Ok(Reply::ok(
        "text/html; charset=utf-8",
        page(id, &body).replace(
            "<script type=\"module\" src=\"/static/app.js\"></script>",
            "<script type=\"module\" src=\"/static/app.js\"></script>\n<script type=\"module\" src=\"/static/day.js\"></script>",
        ),
    )
    .header("Cache-Control", "no-store"))
}
