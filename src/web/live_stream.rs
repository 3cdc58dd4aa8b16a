//! `GET /api/1/camera/<id>/live.mp4`: a camera's live feed as an endless fragmented MP4,
//! or, instead of a stream that would hang, why not: no such camera or disabled (404),
//! offline with its state and last error, or too many viewers (503).

use super::ctx::Ctx;
use super::reply::{Body, Reply};
use super::request::Request;
use crate::error::{Error, ErrorKind, Result};
use crate::status::State;

/// Answers a live stream request for camera `id`.
pub fn stream(ctx: &Ctx, rq: &Request, id: &str) -> Result<Reply> {
    let app = &ctx.app;
    let enabled = app
        .loaded()
        .config
        .stream(id)
        .map(|c| c.enabled)
        .ok_or_else(|| Error::not_found(format!("no camera {id:?}")))?;
    if !enabled {
        return Err(Error::not_found(format!(
            "camera {id} is disabled in the config: it has no live picture"
        )));
    }
    let status = app.status.snapshot();
    let s = status.get(id);
    let feed = app.live.feed(id);
    let (online, codec) = feed.online();
    if !online || s.is_none_or(|s| s.state != State::Recording) {
        let (state, since, why) = s.map_or(("connecting", 0, None), |s| {
            (s.state.name(), s.since_us, s.last_error.clone())
        });
        let mut msg = format!("camera {id} is offline ({state}");
        if since > 0 {
            msg.push_str(&format!(" since {}", crate::time::rfc3339(since)));
        }
        msg.push(')');
        if let Some(w) = why.filter(|_| state == "retrying") {
            msg.push_str(&format!(": {w}"));
        }
        msg.push_str("; pinvr keeps trying to reach it");
        return Err(Error::new(ErrorKind::Busy, msg));
    }
    let viewer = app.live.watch(id)?;
    rq.patience.stream_live(crate::live::STALL);
    Ok(Reply {
        status: 200,
        content_type: "video/mp4",
        headers: vec![
            ("Cache-Control".into(), "no-store".into()),
            ("X-Codec".into(), codec),
        ],
        body: Body::Live(viewer),
    })
}
