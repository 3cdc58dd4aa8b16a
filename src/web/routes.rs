//! Turns a request line into a [`Route`], strictly: only the characters our URLs use are
//! accepted (no percent-encoding in paths, so no encoded `..` or `/` can sneak through),
//! dates and times are checked, and every failure is a 4xx that says what was wrong. File
//! paths are never taken from the URL: they are built from a validated camera id and minute.

use crate::config::valid_id;
use crate::time::{self, Date};
use tiny_http::Method;

/// Which file of a minute.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MinuteFile {
    /// Full-size preview JPEG.
    Preview,
    /// Thumbnail JPEG.
    Thumbnail,
    /// The minute's MP4.
    Video,
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
    /// `GET /api/1/camera/<id>.range.<date>.<HHMM>.to.<date>.<HHMM>.mp4`.
    Range(String, i64, i64),
    /// `GET /archives`: the archives page.
    Archives,
    /// `GET /api/1/archives.json`.
    ArchiveList,
    /// `POST /api/1/archive`: archive a range (form: camera, from, to, note).
    ArchiveCreate,
    /// `GET /api/1/archive/<name>.mp4`.
    ArchiveFile(String),
    /// `POST /api/1/archive/<name>/delete`.
    ArchiveDelete(String),
}

/// A rejected request: status and message.
pub type Reject = (u16, String);

fn bad(msg: impl Into<String>) -> Reject {
    (400, msg.into())
}

/// Parses `YYYYMMDD.HHMM` (or `YYMMDD.HHMM`) into minutes since the epoch.
pub fn minute_label(s: &str) -> Result<i64, Reject> {
    let (d, t) = s
        .split_once('.')
        .ok_or_else(|| bad(format!("{s:?} is not YYYYMMDD.HHMM")))?;
    minute(d, t)
}

/// Parses `date` (YYYYMMDD or YYMMDD) and `hhmm` into minutes since the epoch.
fn minute(date: &str, hhmm: &str) -> Result<i64, Reject> {
    let d = Date::parse(date)
        .ok_or_else(|| bad(format!("{date:?} is not a date (YYYYMMDD or YYMMDD)")))?;
    let m =
        time::parse_hhmm(hhmm).ok_or_else(|| bad(format!("{hhmm:?} is not a time (HHMM, UTC)")))?;
    Ok(d.days() * 1440 + m)
}

fn camera(id: &str) -> Result<String, Reject> {
    if valid_id(id) {
        Ok(id.to_owned())
    } else {
        Err(bad(format!("{id:?} is not a camera id")))
    }
}

/// Maps a method and URL (path and query) to a route.
pub fn route(method: &Method, url: &str) -> Result<Route, Reject> {
    let (path, query) = url.split_once('?').unwrap_or((url, ""));
    if !path
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b"/._-".contains(&b))
    {
        return Err(bad("the path has characters no pinvr URL uses"));
    }
    if path.split('/').any(|s| s == ".." || s == ".") {
        return Err(bad("the path has a . or .. segment"));
    }
    let get = matches!(method, Method::Get | Method::Head);
    let post = *method == Method::Post;
    let segs: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    let r = match (segs.as_slice(), get, post) {
        ([""], true, _) => Route::Overview,
        (["camera", id], true, _) => Route::Day(camera(id)?),
        (["status"], true, _) => Route::Status,
        (["config"], true, _) => Route::ConfigForm,
        (["config"], _, true) => Route::ConfigSave,
        (["login"], true, _) => Route::LoginForm,
        (["login"], _, true) => Route::Login,
        (["logout"], _, true) => Route::Logout,
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
                            .collect::<Result<_, _>>()?;
                        ids = Some(list);
                    }
                    other => return Err(bad(format!("unknown query parameter {other:?}"))),
                }
            }
            Route::DayMinutes(d, ids)
        }
        (["api", "1", "camera", name], true, _) => file_route(name)?,
        (["archives"], true, _) => Route::Archives,
        (["api", "1", "archives.json"], true, _) => Route::ArchiveList,
        (["api", "1", "archive"], _, true) => Route::ArchiveCreate,
        (["api", "1", "archive", file], true, _) => {
            let name = file
                .strip_suffix(".mp4")
                .filter(|n| crate::archive::valid_name(n));
            Route::ArchiveFile(
                name.ok_or_else(|| (404, format!("{file:?} is not an archive")))?
                    .to_owned(),
            )
        }
        (["api", "1", "archive", name, "delete"], _, true) if crate::archive::valid_name(name) => {
            Route::ArchiveDelete((*name).to_owned())
        }
        (_, false, false) => return Err((405, "method not allowed".into())),
        _ => return Err((404, "no such page".into())),
    };
    Ok(r)
}

fn file_route(name: &str) -> Result<Route, Reject> {
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
        [id, "range", d1, t1, "to", d2, t2, "mp4"] => {
            let (from, to) = (minute(d1, t1)?, minute(d2, t2)?);
            if from > to {
                return Err(bad("the range ends before it starts"));
            }
            if to - from >= 31 * 1440 {
                return Err(bad("a range may span at most 31 days"));
            }
            Ok(Route::Range(camera(id)?, from, to))
        }
        _ => Err((404, format!("{name:?} is not a camera file name"))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_rejects() {
        let g = |u: &str| route(&Method::Get, u);
        let m = Date::parse("20261123").unwrap().days() * 1440 + 14 * 60;
        assert_eq!(
            g("/api/1/camera/front.preview.20261123.1400.mp4"),
            Ok(Route::File("front".into(), MinuteFile::Video, m))
        );
        assert_eq!(
            g("/api/1/camera/front.thumbnail.261123.1400.jpg"),
            Ok(Route::File("front".into(), MinuteFile::Thumbnail, m))
        );
        assert_eq!(
            g("/api/1/camera/front.range.20261123.1400.to.20261124.0100.mp4"),
            Ok(Route::Range("front".into(), m, m + 660))
        );
        assert_eq!(
            g("/api/1/cameras/20261123?camera_ids=a,b"),
            Ok(Route::DayMinutes(
                Date::parse("20261123").unwrap(),
                Some(vec!["a".into(), "b".into()])
            ))
        );
        for (url, code) in [
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
            assert_eq!(g(url).map_err(|e| e.0), Err(code), "{url}");
        }
        assert_eq!(route(&Method::Delete, "/").map_err(|e| e.0), Err(405));
    }
}
