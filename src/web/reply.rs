//! What a handler answers, and how it goes out: status, headers, and a body that is bytes,
//! a file or an assembled range. Files and ranges get the full treatment in one place:
//! HEAD, `Range` (206, 416), `If-Range`, `ETag`/`If-None-Match`, `Last-Modified`/
//! `If-Modified-Since`, and an exact `Content-Length` (never chunked). Files are opened
//! without following symbolic links.

use super::body::HttpBody;
use super::request::Request;
use crate::range::RangeMp4;
use crate::time;
use hyper::Response;
use hyper::header::{HeaderName, HeaderValue};
use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::path::PathBuf;
use std::time::{SystemTime, UNIX_EPOCH};

/// A response body.
pub enum Body {
    /// In-memory bytes.
    Bytes(Vec<u8>),
    /// A file on disk (never reached through a symbolic link), served with validators and
    /// ranges.
    File(PathBuf),
    /// An assembled range MP4, with its validators.
    Range {
        /// The assembled range.
        mp4: RangeMp4,
        /// Entity tag (quoted).
        etag: String,
        /// Newest modification time of its sources.
        modified: SystemTime,
    },
    /// A body produced as it goes (search progress), of unknown length.
    Stream(tokio::sync::mpsc::Receiver<bytes::Bytes>),
    /// A live stream: a viewer of a camera's feed, sent as the camera sends frames.
    Live(crate::live::Viewer),
}

/// A handler's answer.
pub struct Reply {
    /// HTTP status.
    pub status: u16,
    /// Content type.
    pub content_type: &'static str,
    /// Extra headers.
    pub headers: Vec<(String, String)>,
    /// The body.
    pub body: Body,
}

impl Reply {
    /// A 200 with in-memory content.
    pub fn ok(content_type: &'static str, body: impl Into<Vec<u8>>) -> Reply {
        Reply {
            status: 200,
            content_type,
            headers: Vec::new(),
            body: Body::Bytes(body.into()),
        }
    }

    /// A plain-text answer with `status`.
    pub fn text(status: u16, msg: impl Into<String>) -> Reply {
        let mut m = msg.into();
        m.push('\n');
        Reply {
            status,
            ..Reply::ok("text/plain; charset=utf-8", m)
        }
    }

    /// A redirect (303 See Other) to `to`.
    pub fn redirect(to: &str) -> Reply {
        Reply::text(303, format!("see {to}")).header("Location", to)
    }

    /// Adds a header.
    pub fn header(mut self, name: &str, value: impl Into<String>) -> Reply {
        self.headers.push((name.to_owned(), value.into()));
        self
    }

    /// Sets the status.
    pub fn status(mut self, status: u16) -> Reply {
        self.status = status;
        self
    }
}

/// A byte range request's outcome.
#[derive(Debug, PartialEq, Eq)]
pub enum RangeAsk {
    /// Serve everything (no Range, multiple ranges or an unparsable header).
    Whole,
    /// Serve `start..start+len`.
    Part(u64, u64),
    /// Nothing of it exists (416).
    Unsatisfiable,
}

/// Interprets a `Range` header against a body of `len` bytes. Only single `bytes=` ranges
/// are honoured; several ranges are answered with the whole body (RFC 9110 allows it).
pub fn parse_range(value: Option<&str>, len: u64) -> RangeAsk {
    let Some(spec) = value.and_then(|v| v.trim().strip_prefix("bytes=")) else {
        return RangeAsk::Whole;
    };
    if spec.contains(',') {
        return RangeAsk::Whole;
    }
    let Some((a, b)) = spec.trim().split_once('-') else {
        return RangeAsk::Whole;
    };
    let num = |s: &str| -> Option<u64> {
        (!s.is_empty() && s.bytes().all(|c| c.is_ascii_digit()))
            .then(|| s.parse().ok())
            .flatten()
    };
    match (a.trim(), b.trim()) {
        ("", n) => match num(n) {
            Some(0) => RangeAsk::Unsatisfiable,
            Some(_) if len == 0 => RangeAsk::Unsatisfiable,
            Some(n) => RangeAsk::Part(len - n.min(len), n.min(len)),
            None => RangeAsk::Whole,
        },
        (s, "") => match num(s) {
            Some(s) if s < len => RangeAsk::Part(s, len - s),
            Some(_) => RangeAsk::Unsatisfiable,
            None => RangeAsk::Whole,
        },
        (s, e) => match (num(s), num(e)) {
            (Some(s), Some(e)) if s > e => RangeAsk::Whole,
            (Some(s), Some(_)) if s >= len => RangeAsk::Unsatisfiable,
            (Some(s), Some(e)) => RangeAsk::Part(s, e.min(len - 1) - s + 1),
            _ => RangeAsk::Whole,
        },
    }
}

/// Formats a time as an HTTP date (`Sun, 06 Nov 1994 08:49:37 GMT`).
pub fn http_date(t: SystemTime) -> String {
    let secs = t
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64);
    let days = secs.div_euclid(86_400);
    let d = time::civil_from_days(days);
    let rem = secs.rem_euclid(86_400);
    const WD: [&str; 7] = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"];
    const MON: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    format!(
        "{}, {:02} {} {:04} {:02}:{:02}:{:02} GMT",
        WD[days.rem_euclid(7) as usize],
        d.day,
        MON[(d.month - 1) as usize],
        d.year,
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

/// Parses an IMF-fixdate HTTP date into seconds since the epoch.
pub fn parse_http_date(s: &str) -> Option<i64> {
    const MON: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let mut it = s.split_whitespace().skip(1);
    let day: u32 = it.next()?.parse().ok()?;
    let mon = it.next()?;
    let month = MON.iter().position(|m| *m == mon)? as u32 + 1;
    let year: i32 = it.next()?.parse().ok()?;
    let hms: Vec<i64> = it
        .next()?
        .split(':')
        .map(|x| x.parse().ok())
        .collect::<Option<_>>()?;
    if hms.len() != 3 || it.next()? != "GMT" {
        return None;
    }
    Some(time::days_from_civil(year, month, day) * 86_400 + hms[0] * 3600 + hms[1] * 60 + hms[2])
}

fn unix_secs(t: SystemTime) -> i64 {
    t.duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}

/// Opens a body at an offset for a length.
type Opener = Box<dyn FnOnce(u64, u64) -> std::io::Result<super::body::Source> + Send>;

/// A response from parts.
fn response(status: u16, headers: Vec<(String, String)>, body: HttpBody) -> Response<HttpBody> {
    let mut r = Response::new(body);
    *r.status_mut() = hyper::StatusCode::from_u16(status).unwrap_or(hyper::StatusCode::OK);
    let h = r.headers_mut();
    for (k, v) in headers {
        if let (Ok(k), Ok(v)) = (HeaderName::try_from(k), HeaderValue::try_from(v)) {
            h.append(k, v);
        }
    }
    r
}

/// Opens `path` for reading without following a symbolic link at its last component.
pub fn open_no_follow(path: &std::path::Path) -> std::io::Result<File> {
    use std::os::unix::fs::OpenOptionsExt;
    std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(nix::libc::O_NOFOLLOW)
        .open(path)
}

/// Turns `reply` into the response to `req` (blocking: it may stat and open files).
pub fn prepare(reply: Reply, req: &Request) -> Response<HttpBody> {
    let mut headers = reply.headers;
    headers.push(("Content-Type".into(), reply.content_type.into()));
    let head = req.is_head();
    let (len, etag, modified, open): (u64, String, SystemTime, Opener) = match reply.body {
        Body::Bytes(b) => {
            if matches!(reply.status, 204 | 304) {
                return response(reply.status, headers, HttpBody::Empty);
            }
            headers.push(("Content-Length".into(), b.len().to_string()));
            let body = if head {
                HttpBody::Empty
            } else {
                HttpBody::full(b)
            };
            return response(reply.status, headers, body);
        }
        Body::Stream(rx) => {
            let body = if head {
                HttpBody::Empty
            } else {
                HttpBody::Channel(rx)
            };
            return response(reply.status, headers, body);
        }
        Body::Live(viewer) => {
            let body = if head {
                HttpBody::Empty
            } else {
                HttpBody::Live(Box::new(viewer))
            };
            return response(reply.status, headers, body);
        }
        Body::File(path) => {
            let file = match open_no_follow(&path).and_then(|f| {
                let m = f.metadata()?;
                if m.is_file() {
                    Ok((f, m))
                } else {
                    Err(std::io::Error::from(std::io::ErrorKind::NotFound))
                }
            }) {
                Ok(f) => f,
                Err(_) => return prepare(Reply::text(404, "no such file"), req),
            };
            let (mut f, meta) = file;
            let modified = meta.modified().unwrap_or(UNIX_EPOCH);
            let nanos = modified
                .duration_since(UNIX_EPOCH)
                .map_or(0, |d| d.as_nanos());
            let etag = format!("\"{:x}-{:x}\"", meta.len(), nanos);
            let open = move |start: u64, len: u64| -> std::io::Result<super::body::Source> {
                f.seek(SeekFrom::Start(start))?;
                Ok(Box::new(f.take(len)))
            };
            (meta.len(), etag, modified, Box::new(open))
        }
        Body::Range {
            mp4,
            etag,
            modified,
        } => {
            let len = mp4.len();
            let open = move |start: u64, n: u64| -> std::io::Result<super::body::Source> {
                Ok(Box::new(mp4.reader(start, n)))
            };
            (len, etag, modified, Box::new(open))
        }
    };
    headers.push(("ETag".into(), etag.clone()));
    headers.push(("Last-Modified".into(), http_date(modified)));
    headers.push(("Accept-Ranges".into(), "bytes".into()));
    if not_modified(req, &etag, modified) {
        return response(304, headers, HttpBody::Empty);
    }
    let if_range_ok = req.header("if-range").is_none_or(|v| v.trim() == etag);
    let ask = if if_range_ok {
        parse_range(req.header("range"), len)
    } else {
        RangeAsk::Whole
    };
    let (status, start, n) = match ask {
        RangeAsk::Whole => (reply.status, 0, len),
        RangeAsk::Part(s, n) => {
            headers.push((
                "Content-Range".into(),
                format!("bytes {}-{}/{len}", s, s + n - 1),
            ));
            (206, s, n)
        }
        RangeAsk::Unsatisfiable => {
            headers.push(("Content-Range".into(), format!("bytes */{len}")));
            return response(416, headers, HttpBody::Empty);
        }
    };
    headers.push(("Content-Length".into(), n.to_string()));
    if head {
        return response(status, headers, HttpBody::Empty);
    }
    match open(start, n) {
        Ok(source) => response(status, headers, HttpBody::reader(source, n)),
        Err(e) => prepare(Reply::text(500, format!("reading: {e}")), req),
    }
}

/// True if `req`'s validators say the client's copy (`etag`, `modified`) is current.
pub fn not_modified(req: &Request, etag: &str, modified: SystemTime) -> bool {
    match req.header("if-none-match") {
        Some(tags) => tags.split(',').any(|t| t.trim() == etag || t.trim() == "*"),
        None => req
            .header("if-modified-since")
            .and_then(parse_http_date)
            .is_some_and(|since| unix_secs(modified) <= since),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges() {
        use RangeAsk::*;
        assert_eq!(parse_range(None, 100), Whole);
        assert_eq!(parse_range(Some("bytes=0-9"), 100), Part(0, 10));
        assert_eq!(parse_range(Some("bytes=90-"), 100), Part(90, 10));
        assert_eq!(parse_range(Some("bytes=-10"), 100), Part(90, 10));
        assert_eq!(parse_range(Some("bytes=-1000"), 100), Part(0, 100));
        assert_eq!(parse_range(Some("bytes=95-200"), 100), Part(95, 5));
        assert_eq!(parse_range(Some("bytes=100-"), 100), Unsatisfiable);
        assert_eq!(parse_range(Some("bytes=100-200"), 100), Unsatisfiable);
        assert_eq!(parse_range(Some("bytes=-0"), 100), Unsatisfiable);
        assert_eq!(parse_range(Some("bytes=0-1,5-6"), 100), Whole);
        assert_eq!(parse_range(Some("bytes=5-1"), 100), Whole);
        assert_eq!(parse_range(Some("items=0-1"), 100), Whole);
        assert_eq!(parse_range(Some("bytes=x-1"), 100), Whole);
        assert_eq!(parse_range(Some("bytes=+1-2"), 100), Whole);
    }

    #[test]
    fn http_dates_round_trip() {
        let t = UNIX_EPOCH + std::time::Duration::from_secs(784_111_777);
        assert_eq!(http_date(t), "Sun, 06 Nov 1994 08:49:37 GMT");
        assert_eq!(
            parse_http_date("Sun, 06 Nov 1994 08:49:37 GMT"),
            Some(784_111_777)
        );
        assert_eq!(parse_http_date("garbage"), None);
    }
}
