//! Turns a request line into a [`Route`], strictly: only the characters our URLs use are
//! accepted (no percent-encoding in paths, so no encoded `..` or `/` can sneak through),
//! dates and times are checked, and every failure is a 4xx that says what was wrong. File
//! paths are never taken from the URL: they are built from a validated camera id and minute.

use crate::config::{valid_id, valid_stream_id};
use crate::error::{Error, ErrorKind, Result};
use crate::fmt;
use crate::time::Date;
use hyper::Method;

/// Which file of a minute.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MinuteFile {
    /// Full-size preview JPEG.
    Preview,
    /// Thumbnail JPEG.
    Thumbnail,
    /// The minute's MP4.
    Video,
    /// The MP4 of a repeat of the minute (recorded again after the clock was set back).
    Repeat(u32),
}

/// A recognised request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Route {
    /// `GET /`: camera overview.
    Overview,
    /// `GET /camera/<id>`: day view (the day is chosen in the page, local time).
    Day(String),
    /// `GET /status`.
    Status,
    /// `GET /config`.
    ConfigForm,
    /// `POST /config`.
    ConfigSave,
    /// `GET /login`.
    LoginForm,
    /// `POST /login`.
    Login,
    /// `POST /logout`.
    Logout,
    /// `GET /setup`: set the admin password (only while none is set).
    SetupForm,
    /// `POST /setup`.
    Setup,
    /// `POST /tokens`: make an API token (form: name).
    TokenCreate,
    /// `POST /tokens/<name>/delete`.
    TokenDelete(String),
    /// `GET /static/<name>`.
    Asset(String),
    /// `GET /api/1/system.json`.
    System,
    /// `GET /api/1/cameras.json`.
    Cameras,
    /// `GET /api/1/cameras/YYYYMMDD[?camera_ids=a,b]`.
    DayMinutes(Date, Option<Vec<String>>),
    /// `GET /api/1/camera/<id>.<kind>.<date>.<HHMM>.<ext>`.
    File(String, MinuteFile, i64),
    /// `GET /api/1/camera/<id>.range.<date>.<HHMM[SS]>.to.<date>.<HHMM[SS]>.mp4`.
    Range(String, Span),
    /// `GET /archives`: the archives page.
    Archives,
    /// `GET /api/1/camera/<id>/spans.json?date=YYYYMMDD`: each minute's exact start,
    /// duration, frames and bytes on a UTC day.
    Spans(String, Date),
    /// `GET /api/1/archives.json`.
    ArchiveList,
    /// `GET /api/1/camera/<id>/changes.json?from=&to=&region=[&stream=1]`.
    Changes(String, ChangeQuery),
    /// `POST /api/1/tags` (JSON).
    TagCreate,
    /// `POST /api/1/camera-test` (JSON): the config page's "Test" of a camera URL.
    CameraTest,
    /// `GET /api/1/tags.json?camera=&from=&to=`.
    Tags(String, i64, i64),
    /// `POST /api/1/archive`: archive a range (form: camera, from, to, note).
    ArchiveCreate,
    /// `GET /api/1/archive/<name>.mp4`.
    ArchiveFile(String),
    /// `POST /api/1/archive/<name>/delete`.
    ArchiveDelete(String),
    /// `/live` (every camera) or `/live/<id>`.
    Live(Option<String>),
    /// `/api/1/camera/<id>/live.mp4`: the endless fragmented MP4.
    LiveStream(String),
    /// `/metrics`: Prometheus text.
    Metrics,
    /// `/healthz`.
    Health,
}

/// The time a range covers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Span {
    /// Whole minutes (since the epoch), both ends included: the minutes that exist.
    Minutes(i64, i64),
    /// From one instant to another (microseconds since the epoch, the end excluded).
    Seconds(i64, i64),
}

/// A change search: minutes `from..=to`, a region (`x,y,w,h`, checked), and whether to
/// stream the answer as it is found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ChangeQuery {
    /// First minute.
    pub from: i64,
    /// Last minute.
    pub to: i64,
    /// The region as given (checked to parse).
    pub region: String,
    /// Stream progress and results as lines of JSON.
    pub stream: bool,
}

/// Longest span of a change search or a tag listing, in minutes.
pub const MAX_SEARCH_MINUTES: i64 = 31 * 1440;

/// `from` and `to` (YYYYMMDD.HHMM) of a query, checked as a span of at most 31 days.
fn minute_span(from: Option<String>, to: Option<String>) -> Result<(i64, i64)> {
    let from = fmt::parse_minute_label(&from.ok_or_else(|| bad("from=YYYYMMDD.HHMM is needed"))?)
        .map_err(bad)?;
    let to = fmt::parse_minute_label(&to.ok_or_else(|| bad("to=YYYYMMDD.HHMM is needed"))?)
        .map_err(bad)?;
    if from > to {
        return Err(bad("the range ends before it starts"));
    }
    if to - from >= MAX_SEARCH_MINUTES {
        return Err(bad("a range may span at most 31 days"));
    }
    Ok((from, to))
}

/// The query's parameters by name; an unknown one is an error.
fn params(query: &str, known: &[&str]) -> Result<std::collections::HashMap<String, String>> {
    let mut out = std::collections::HashMap::new();
    for (k, v) in url::form_urlencoded::parse(query.as_bytes()) {
        if !known.contains(&k.as_ref()) {
            return Err(bad(format!("unknown query parameter {k:?}")));
        }
        out.insert(k.into_owned(), v.into_owned());
    }
    Ok(out)
}

fn bad(msg: impl Into<String>) -> Error {
    Error::invalid(msg)
}

/// Parses `date` (YYYYMMDD or YYMMDD) and `hhmm` into minutes since the epoch.
fn minute(date: &str, hhmm: &str) -> Result<i64> {
    fmt::parse_minute(date, hhmm).map_err(bad)
}

fn camera(id: &str) -> Result<String> {
    if valid_stream_id(id) {
        Ok(id.to_owned())
    } else {
        Err(bad(format!("{id:?} is not a camera id")))
    }
}

/// True for names the token routes accept (`[a-z0-9_-]{1,32}`, like camera ids).
pub fn valid_token_name(name: &str) -> bool {
    valid_id(name)
}

/// Maps a method, path and query to a route.
pub fn route(method: &Method, path: &str, query: &str) -> Result<Route> {
    if !path
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b"/._-~".contains(&b))
    {
        return Err(bad("the path has characters no pinvr URL uses"));
    }
    if path.split('/').any(|s| s == ".." || s == ".") {
        return Err(bad("the path has a . or .. segment"));
    }
    let get = *method == Method::GET || *method == Method::HEAD;
    let post = *method == Method::POST;
    let segs: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    let r = match (segs.as_slice(), get, post) {
        ([""], true, _) => Route::Overview,
        (["camera", id], true, _) => Route::Day(camera(id)?),
        (["status"], true, _) => Route::Status,
        (["live"], true, _) => Route::Live(None),
        (["metrics"], true, _) => Route::Metrics,
        (["healthz"], true, _) => Route::Health,
        (["live", id], true, _) => Route::Live(Some(camera(id)?)),
        (["api", "1", "camera", id, "live.mp4"], true, _) => Route::LiveStream(camera(id)?),
        (["config"], true, _) => Route::ConfigForm,
        (["config"], _, true) => Route::ConfigSave,
        (["login"], true, _) => Route::LoginForm,
        (["login"], _, true) => Route::Login,
        (["logout"], _, true) => Route::Logout,
        (["setup"], true, _) => Route::SetupForm,
        (["setup"], _, true) => Route::Setup,
        (["tokens"], _, true) => Route::TokenCreate,
        (["tokens", name, "delete"], _, true) if valid_token_name(name) => {
            Route::TokenDelete((*name).to_owned())
        }
        (["static", name], true, _) => Route::Asset((*name).to_owned()),
        (["api", "1", "system.json"], true, _) => Route::System,
        (["api", "1", "cameras.json"], true, _) => Route::Cameras,
        (["api", "1", "cameras", date], true, _) => {
            let d = Date::parse(date)
                .ok_or_else(|| bad(format!("{date:?} is not a date (YYYYMMDD or YYMMDD)")))?;
            let mut ids = None;
            for (k, v) in url::form_urlencoded::parse(query.as_bytes()) {
                match k.as_ref() {
                    "camera_ids" => {
                        let list: Vec<String> = v
                            .split(',')
                            .filter(|s| !s.is_empty())
                            .map(camera)
                            .collect::<Result<_>>()?;
                        ids = Some(list);
                    }
                    other => return Err(bad(format!("unknown query parameter {other:?}"))),
                }
            }
            Route::DayMinutes(d, ids)
        }
        (["api", "1", "camera", name], true, _) => file_route(name)?,
        (["api", "1", "camera", id, "changes.json"], true, _) => {
            let mut p = params(query, &["from", "to", "region", "stream"])?;
            let (from, to) = minute_span(p.remove("from"), p.remove("to"))?;
            let region = p
                .remove("region")
                .ok_or_else(|| bad("region=x,y,w,h is needed (fractions of the picture)"))?;
            crate::changes::Region::parse(&region)?;
            let stream = p.remove("stream").is_some_and(|v| v == "1" || v == "true");
            Route::Changes(
                camera(id)?,
                ChangeQuery {
                    from,
                    to,
                    region,
                    stream,
                },
            )
        }
        (["api", "1", "tags"], _, true) => Route::TagCreate,
        (["api", "1", "camera-test"], _, true) => Route::CameraTest,
        (["api", "1", "tags.json"], true, _) => {
            let mut p = params(query, &["camera", "from", "to"])?;
            let id = camera(&p.remove("camera").ok_or_else(|| bad("camera= is needed"))?)?;
            let (from, to) = minute_span(p.remove("from"), p.remove("to"))?;
            Route::Tags(id, from, to)
        }
        (["api", "1", "camera", id, "spans.json"], true, _) => {
            let mut date = None;
            for (k, v) in url::form_urlencoded::parse(query.as_bytes()) {
                match k.as_ref() {
                    "date" => {
                        date = Some(Date::parse(&v).ok_or_else(|| {
                            bad(format!("{v:?} is not a date (YYYYMMDD or YYMMDD)"))
                        })?)
                    }
                    other => return Err(bad(format!("unknown query parameter {other:?}"))),
                }
            }
            Route::Spans(
                camera(id)?,
                date.ok_or_else(|| bad("spans.json needs ?date=YYYYMMDD"))?,
            )
        }
        (["archives"], true, _) => Route::Archives,
        (["api", "1", "archives.json"], true, _) => Route::ArchiveList,
        (["api", "1", "archive"], _, true) => Route::ArchiveCreate,
        (["api", "1", "archive", file], true, _) => {
            let name = file
                .strip_suffix(".mp4")
                .filter(|n| crate::archive::valid_name(n));
            Route::ArchiveFile(
                name.ok_or_else(|| Error::not_found(format!("{file:?} is not an archive")))?
                    .to_owned(),
            )
        }
        (["api", "1", "archive", name, "delete"], _, true) if crate::archive::valid_name(name) => {
            Route::ArchiveDelete((*name).to_owned())
        }
        (_, false, false) => {
            return Err(Error::new(
                ErrorKind::NotAllowed,
                format!("{method} is not a method pinvr answers"),
            ));
        }
        _ => return Err(Error::not_found("no such page")),
    };
    Ok(r)
}

fn file_route(name: &str) -> Result<Route> {
    let parts: Vec<&str> = name.split('.').collect();
    match parts.as_slice() {
        [id, "preview", d, t, "jpg"] => {
            Ok(Route::File(camera(id)?, MinuteFile::Preview, minute(d, t)?))
        }
        [id, "thumbnail", d, t, "jpg"] => Ok(Route::File(
            camera(id)?,
            MinuteFile::Thumbnail,
            minute(d, t)?,
        )),
        [id, "preview", d, t, "mp4"] => {
            Ok(Route::File(camera(id)?, MinuteFile::Video, minute(d, t)?))
        }
        [id, "preview", d, t, r, "mp4"] => {
            let n = r
                .strip_prefix('r')
                .filter(|n| !n.starts_with('0'))
                .and_then(|n| n.parse::<u32>().ok())
                .filter(|n| *n > 0)
                .ok_or_else(|| bad(format!("{r:?} is not a repeat (r1, r2, ...)")))?;
            Ok(Route::File(
                camera(id)?,
                MinuteFile::Repeat(n),
                minute(d, t)?,
            ))
        }
        [id, "range", d1, t1, "to", d2, t2, "mp4"] if t1.len() == 6 && t2.len() == 6 => {
            let from = fmt::parse_second(d1, t1).map_err(bad)?;
            let to = fmt::parse_second(d2, t2).map_err(bad)?;
            if from >= to {
                return Err(bad("the range ends before it starts"));
            }
            if to - from > 31 * 86_400_000_000 {
                return Err(bad("a range may span at most 31 days"));
            }
            Ok(Route::Range(camera(id)?, Span::Seconds(from, to)))
        }
        [id, "range", d1, t1, "to", d2, t2, "mp4"] => {
            let (from, to) = (minute(d1, t1)?, minute(d2, t2)?);
            if from > to {
                return Err(bad("the range ends before it starts"));
            }
            if to - from >= 31 * 1440 {
                return Err(bad("a range may span at most 31 days"));
            }
            Ok(Route::Range(camera(id)?, Span::Minutes(from, to)))
        }
        _ => Err(Error::not_found(format!(
            "{name:?} is not a camera file name"
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn code(e: Error) -> u16 {
        super::super::status_of(&e)
    }

    #[test]
    fn parses_and_rejects() {
        let g = |u: &str| {
            let (p, q) = u.split_once('?').unwrap_or((u, ""));
            route(&Method::GET, p, q)
        };
        let m = Date::parse("20261123").unwrap().days() * 1440 + 14 * 60;
        assert_eq!(
            g("/api/1/camera/front.preview.20261123.1400.mp4").unwrap(),
            Route::File("front".into(), MinuteFile::Video, m)
        );
        assert_eq!(
            g("/api/1/camera/front.thumbnail.261123.1400.jpg").unwrap(),
            Route::File("front".into(), MinuteFile::Thumbnail, m)
        );
        assert_eq!(
            g("/api/1/camera/front.range.20261123.1400.to.20261124.0100.mp4").unwrap(),
            Route::Range("front".into(), Span::Minutes(m, m + 660))
        );
        // A sub stream's URLs, and nothing else with a ~ in it.
        assert_eq!(
            g("/api/1/camera/front~sub/spans.json?date=20261123").unwrap(),
            Route::Spans("front~sub".into(), Date::parse("20261123").unwrap())
        );
        assert_eq!(
            g("/api/1/camera/front~sub/live.mp4").unwrap(),
            Route::LiveStream("front~sub".into())
        );
        assert!(g("/api/1/camera/front~main/live.mp4").is_err());
        assert!(g("/api/1/camera/~sub/live.mp4").is_err());
        assert_eq!(
            g("/api/1/cameras/20261123?camera_ids=a,b").unwrap(),
            Route::DayMinutes(
                Date::parse("20261123").unwrap(),
                Some(vec!["a".into(), "b".into()])
            )
        );
        for (url, status) in [
            ("/api/1/camera/../../etc/passwd", 400),
            ("/api/1/camera/%2e%2e%2fetc.preview.20261123.1400.jpg", 400),
            ("//etc/passwd", 404),
            ("/api/1/camera/front.preview.20261323.1400.jpg", 400),
            ("/api/1/camera/front.preview.20261123.2460.jpg", 400),
            ("/api/1/camera/Front.preview.20261123.1400.jpg", 400),
            (
                "/api/1/camera/front.range.20261123.1400.to.20261123.1300.mp4",
                400,
            ),
            ("/api/1/camera/front.exe", 404),
            ("/api/1/cameras/2026-11-23", 400),
            ("/api/1/cameras/20261123?evil=1", 400),
            ("/api/1/cameras/20261123?camera_ids=A%20B", 400),
            ("/nothing", 404),
        ] {
            assert_eq!(g(url).map_err(code), Err(status), "{url}");
        }
        assert_eq!(
            g("/api/1/camera/front.range.20261123.140005.to.20261123.140125.mp4").unwrap(),
            Route::Range(
                "front".into(),
                Span::Seconds(
                    m * 60_000_000 + 5_000_000,
                    (m + 1) * 60_000_000 + 25_000_000
                )
            )
        );
        for bad in [
            "/api/1/camera/front.range.20261123.140005.to.20261123.140005.mp4",
            "/api/1/camera/front.range.20261123.140005.to.20261123.1401.mp4",
            "/api/1/camera/front.range.20261123.140061.to.20261123.140100.mp4",
        ] {
            assert_eq!(g(bad).map_err(code), Err(400), "{bad}");
        }
        assert_eq!(route(&Method::DELETE, "/", "").map_err(code), Err(405));
    }
}
