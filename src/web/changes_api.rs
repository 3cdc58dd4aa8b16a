//! The change search and the tags over HTTP: `changes.json` (the answer at once, or with
//! `stream=1` as lines of JSON: progress, then the answer), `POST /api/1/tags` and
//! `tags.json`.

use super::api::envelope;
use super::ctx::Ctx;
use super::reply::{Body, Reply};
use super::routes::ChangeQuery;
use crate::change_search::{self, Answer, Progress, Query};
use crate::changes::Region;
use crate::error::{Error, ErrorKind, Result};
use crate::fmt::minute_label;
use crate::time;
use serde_json::{Value, json};
use std::sync::atomic::{AtomicUsize, Ordering};

/// Change searches running at once, at most (each may hold a decoder).
const SEARCHES: usize = 2;
/// Searches running now.
static RUNNING: AtomicUsize = AtomicUsize::new(0);

/// A slot among [`SEARCHES`], freed on drop.
struct Slot;

impl Slot {
    fn take() -> Result<Slot> {
        if RUNNING.fetch_add(1, Ordering::SeqCst) >= SEARCHES {
            RUNNING.fetch_sub(1, Ordering::SeqCst);
            return Err(Error::new(
                ErrorKind::Busy,
                format!("{SEARCHES} change searches are running already: try again shortly"),
            ));
        }
        Ok(Slot)
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        RUNNING.fetch_sub(1, Ordering::SeqCst);
    }
}

fn still(id: &str, minute: i64) -> String {
    format!("/api/1/camera/{id}.preview.{}.jpg", minute_label(minute))
}

/// The answer's payload, as DESIGN.md's contract has it, with what was looked at.
fn payload(id: &str, region: &Region, q: &ChangeQuery, a: &Answer) -> Value {
    let changes: Vec<Value> = a
        .changes
        .iter()
        .map(|c| {
            json!({
                "start": time::rfc3339(c.start_us),
                "end": c.end_us.map(time::rfc3339),
                "score": (f64::from(c.score) * 100.0).round() / 100.0,
                "before": still(id, c.before),
                "after": still(id, c.after),
                "refined": c.refined,
            })
        })
        .collect();
    json!({
        "camera": id,
        "region": [region.x, region.y, region.w, region.h],
        "from": minute_label(q.from),
        "to": minute_label(q.to),
        "changes": changes,
        "checked": a.checked,
        "skipped": a.skipped,
        "refine_cap": change_search::REFINE_CAP,
        "capped": a.capped,
    })
}

/// `camera/<id>/changes.json`.
pub fn changes(ctx: &Ctx, id: &str, q: ChangeQuery) -> Result<Reply> {
    let region = Region::parse(&q.region)?;
    if !super::api::known(&ctx.app, id) {
        return Err(Error::not_found(format!("no camera {id:?}")));
    }
    // A camera with a sub stream is searched in the sub's minutes (their signatures and
    // key frames are the small ones), unless the sub recorded nothing of the range.
    let sub = format!("{id}{}", crate::config::SUB_SUFFIX);
    let searched = if !id.ends_with(crate::config::SUB_SUFFIX)
        && super::api::known(&ctx.app, &sub)
        && !ctx.app.index.minutes(&sub, q.from, q.to).is_empty()
    {
        sub
    } else {
        id.to_owned()
    };
    let dir = ctx
        .app
        .index
        .dir(&searched)
        .ok_or_else(|| Error::not_found(format!("no camera {id:?}")))?;
    let query = Query {
        minutes: ctx.app.index.minutes(&searched, q.from, q.to),
        camera: searched,
        dir,
        region,
    };
    let slot = Slot::take()?;
    if !q.stream {
        let a = change_search::search(&query, &mut |_| {});
        drop(slot);
        return Ok(envelope(payload(id, &region, &q, &a)));
    }
    let (tx, rx) = tokio::sync::mpsc::channel::<bytes::Bytes>(8);
    let id = id.to_owned();
    std::thread::Builder::new()
        .name("change-search".into())
        .spawn(move || {
            let _slot = slot;
            let line = |v: Value| bytes::Bytes::from(format!("{v}\n"));
            let mut last = std::time::Instant::now();
            let a = change_search::search(&query, &mut |p| {
                // A line at most every 100 ms: progress, not a flood.
                if last.elapsed() < std::time::Duration::from_millis(100) {
                    return;
                }
                last = std::time::Instant::now();
                let v = match p {
                    Progress::Reading { done, of } => {
                        json!({"progress": {"reading": done, "of": of}})
                    }
                    Progress::Refining { done, of } => {
                        json!({"progress": {"refining": done, "of": of}})
                    }
                };
                let _ = tx.blocking_send(line(v));
            });
            let _ = tx.blocking_send(line(json!({ "payload": payload(&id, &region, &q, &a) })));
        })
        .map_err(|e| Error::io("starting a change search", e))?;
    Ok(Reply {
        status: 200,
        content_type: "application/x-ndjson",
        headers: vec![("Cache-Control".into(), "no-store".into())],
        body: Body::Stream(rx),
    })
}

/// `POST /api/1/tags` (JSON: camera, start, end, label, note).
pub fn create_tag(ctx: &Ctx, body: Value) -> Result<Reply> {
    let new: crate::tags::NewTag = serde_json::from_value(body).map_err(|e| {
        Error::invalid(format!("a tag is {{camera, start, end, label, note}}: {e}"))
    })?;
    let dir = ctx
        .app
        .index
        .dir(&new.camera)
        .filter(|_| super::api::known(&ctx.app, &new.camera))
        .ok_or_else(|| Error::not_found(format!("no camera {:?}", new.camera)))?;
    let tag = crate::tags::add(&dir, &new, time::now_micros())?;
    log::info!(
        "tag {:?} added to camera {} at {}",
        tag.label,
        tag.camera,
        tag.start
    );
    ctx.app.events.publish(crate::events::Event::Tag {
        camera: tag.camera.clone(),
        tag: json!(tag),
    });
    Ok(envelope(json!({ "tag": tag })).status(201))
}

/// `tags.json?camera=&from=&to=`.
pub fn tags(ctx: &Ctx, id: &str, from: i64, to: i64) -> Result<Reply> {
    let dir = ctx
        .app
        .index
        .dir(id)
        .filter(|_| super::api::known(&ctx.app, id))
        .ok_or_else(|| Error::not_found(format!("no camera {id:?}")))?;
    let list = crate::tags::list(&dir, id, from * 60_000_000, to * 60_000_000 + 59_999_999);
    Ok(envelope(json!({ "camera": id, "tags": list })))
}
