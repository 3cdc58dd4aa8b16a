//! The web UI and REST API over real HTTP, on minutes made from fixture clips: every
//! endpoint, hostile paths, Range edge cases, a 2-hour range across a gap and a resolution
//! change judged by ffmpeg, the config form, and the pages in headless Chromium.

mod common;

use common::browser;
use common::cameras::{FakeCamera, free_port};
use common::daemon::Pinvr;
use common::http::{get, request};
use common::{Clip, T0_US, camera_clip, decode_errors, duration, scratch};
use serde_json::json;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// First fixture minute: 2026-11-23 14:00 UTC.
const M0: i64 = T0_US / 60_000_000;
/// Fixture minutes: 14:00 to 15:59 without 14:30..=14:34; 320x240 before 15:00, 640x360 after.
fn fixture_minutes() -> Vec<i64> {
    (M0..M0 + 120)
        .filter(|m| !(M0 + 30..M0 + 35).contains(m))
        .collect()
}

/// Writes the fixture minutes of camera `front` under `data`; each holds 3 s of video.
fn make_minutes(data: &Path) -> Vec<PathBuf> {
    let small = Clip {
        seconds: 3,
        ..Clip::small(3)
    }
    .mp4();
    let big = Clip {
        width: 640,
        height: 360,
        ..Clip::small(3)
    }
    .mp4();
    let mut out = Vec::new();
    for m in fixture_minutes() {
        let chunk = pinvr::layout::minute_path(
            &data.join("front"),
            "front",
            m,
            pinvr::layout::FileKind::Chunk,
        );
        std::fs::create_dir_all(chunk.parent().unwrap()).unwrap();
        let clip = if m < M0 + 60 { &small } else { &big };
        pinvr::fixture::mp4_to_chunk(&[clip], &chunk, m * 60_000_000 + 250_000).unwrap();
        out.push(pinvr::finish::finish_chunk(&chunk).unwrap().mp4);
    }
    out
}

fn start(
    dir: &Path,
    extra_cameras: &[serde_json::Value],
    admin: Option<&str>,
) -> (Pinvr, SocketAddr) {
    let port = free_port();
    let mut cams = vec![
        json!({ "id": "front", "url": format!("rtsp://127.0.0.1:{}/none", free_port()), "username": "u", "password": "hunter2" }),
    ];
    cams.extend(extra_cameras.iter().cloned());
    let config = json!({
        "data_dir": dir.join("data"),
        "web": { "listen": format!("127.0.0.1:{port}"), "admin_password": admin },
        "cameras": cams,
    });
    let p = Pinvr::start(dir, &config);
    p.wait_log("web UI on", 0, Duration::from_secs(20));
    (p, SocketAddr::from(([127, 0, 0, 1], port)))
}

#[test]
fn api_files_and_ranges() {
    let dir = scratch("web-api");
    let files = make_minutes(&dir.join("data"));
    let (_p, addr) = start(&dir, &[], None);

    let sys = get(addr, "/api/1/system.json");
    assert_eq!(sys.status, 200);
    let v = sys.json();
    assert_eq!(v["system"]["name"], "pinvr");
    assert_eq!(v["payload"]["status"], "running");
    assert_eq!(v["payload"]["cameras"]["front"]["recording"], false);
    let cams = get(addr, "/api/1/cameras.json");
    assert_eq!(
        cams.json()["payload"]["cameras"][0]["latest"],
        "20261123.1559"
    );
    assert!(!cams.text().contains("hunter2") && !sys.text().contains("hunter2"));

    for path in [
        "/api/1/cameras/20261123?camera_ids=front",
        "/api/1/cameras/261123",
    ] {
        let day = get(addr, path);
        assert_eq!(day.status, 200, "{path}");
        let f = &day.json()["payload"]["cameras"]["front"];
        assert_eq!(f["count"], 115);
        assert_eq!(
            (f["min"].as_str(), f["max"].as_str()),
            (Some("1400"), Some("1559"))
        );
        assert!(!f["minutes"].as_array().unwrap().contains(&json!("1432")));
    }
    for (path, code) in [
        ("/api/1/cameras/20261131", 400),
        ("/api/1/cameras/2026113", 400),
        ("/api/1/cameras/20261123?camera_ids=nobody", 404),
        ("/api/1/camera/nobody.preview.20261123.1400.jpg", 404),
        ("/api/1/camera/front.preview.20261123.1432.jpg", 404),
        ("/api/1/camera/front.preview.20261123.1499.jpg", 400),
        ("/api/1/camera/../../../etc/passwd", 400),
        ("/api/1/camera/%2e%2e%2f%2e%2e%2fetc%2fpasswd", 400),
        ("/api/1/camera/front.preview.20261123.1400.jpg%00", 400),
        ("//etc/passwd", 404),
        ("/etc/passwd", 404),
        ("/static/../../etc/passwd", 400),
        ("/static/passwd", 404),
        ("/camera/nobody", 404),
        (
            "/api/1/camera/front.range.20261123.1500.to.20261123.1400.mp4",
            400,
        ),
    ] {
        let r = get(addr, path);
        assert_eq!(r.status, code, "{path}: {}", r.text());
        assert!(!r.text().contains("root:"), "{path} served a system file");
    }

    // A minute's files: validators, HEAD, conditional requests and ranges.
    let jpg = get(addr, "/api/1/camera/front.preview.20261123.1400.jpg");
    assert_eq!(
        (jpg.status, jpg.h("content-type")),
        (200, Some("image/jpeg"))
    );
    let etag = jpg.h("etag").unwrap().to_owned();
    assert!(jpg.h("last-modified").unwrap().ends_with("GMT"));
    let again = request(
        addr,
        "GET",
        "/api/1/camera/front.preview.20261123.1400.jpg",
        &[("If-None-Match", &etag)],
        b"",
    );
    assert_eq!((again.status, again.body.len()), (304, 0));
    let thumb = get(addr, "/api/1/camera/front.thumbnail.261123.1400.jpg");
    assert_eq!(thumb.status, 200);
    let path = "/api/1/camera/front.preview.20261123.1501.mp4";
    let full = get(addr, path);
    assert_eq!(
        (full.status, full.h("content-type")),
        (200, Some("video/mp4"))
    );
    let len = full.body.len();
    assert_eq!(full.h("content-length"), Some(len.to_string().as_str()));
    assert_eq!(
        full.body,
        std::fs::read(
            &files[fixture_minutes()
                .iter()
                .position(|&m| m == M0 + 61)
                .unwrap()]
        )
        .unwrap()
    );
    let head = request(addr, "HEAD", path, &[], b"");
    assert_eq!((head.status, head.body.len()), (200, 0));
    assert_eq!(head.h("content-length"), Some(len.to_string().as_str()));
    let ranged = |spec: &str| request(addr, "GET", path, &[("Range", spec)], b"");
    let r = ranged("bytes=0-99");
    assert_eq!((r.status, &r.body[..]), (206, &full.body[..100]));
    assert_eq!(
        r.h("content-range"),
        Some(format!("bytes 0-99/{len}").as_str())
    );
    let r = ranged("bytes=-100");
    assert_eq!((r.status, &r.body[..]), (206, &full.body[len - 100..]));
    let r = ranged("bytes=100-");
    assert_eq!((r.status, &r.body[..]), (206, &full.body[100..]));
    let r = ranged("bytes=0-1,5-6");
    assert_eq!((r.status, r.body.len()), (200, len));
    let r = ranged(&format!("bytes={len}-"));
    assert_eq!(r.status, 416);
    assert_eq!(
        r.h("content-range"),
        Some(format!("bytes */{len}").as_str())
    );
    let r = request(
        addr,
        "GET",
        path,
        &[("Range", "bytes=0-9"), ("If-Range", "\"stale\"")],
        b"",
    );
    assert_eq!((r.status, r.body.len()), (200, len));

    // Two hours as one MP4: across the gap and the resolution change.
    let path = "/api/1/camera/front.range.20261123.1400.to.20261123.1559.mp4";
    let whole = get(addr, path);
    assert_eq!(whole.status, 200);
    assert!(
        whole.first_byte < Duration::from_millis(100),
        "first byte after {:?}",
        whole.first_byte
    );
    assert_eq!(
        whole.h("content-length"),
        Some(whole.body.len().to_string().as_str())
    );
    assert_eq!(
        whole.h("content-disposition"),
        Some("attachment; filename=\"front.20261123.1400-1559.mp4\"")
    );
    let out = dir.join("range.mp4");
    std::fs::write(&out, &whole.body).unwrap();
    assert_eq!(decode_errors(&out), "");
    let summed: f64 = files.iter().map(|f| duration(f)).sum();
    assert!(
        (duration(&out) - summed).abs() < 0.05,
        "{} vs {summed}",
        duration(&out)
    );
    assert_eq!(common::probe(&out).frames, 115 * 30);
    let mid = whole.body.len() / 2;
    let r = request(
        addr,
        "GET",
        path,
        &[("Range", &format!("bytes={}-{}", mid, mid + 65_535))],
        b"",
    );
    assert_eq!(
        (r.status, &r.body[..]),
        (206, &whole.body[mid..mid + 65_536])
    );
    let r = request(
        addr,
        "GET",
        path,
        &[("If-None-Match", whole.h("etag").unwrap())],
        b"",
    );
    assert_eq!(r.status, 304);
    let empty = get(
        addr,
        "/api/1/camera/front.range.20261122.1400.to.20261122.1500.mp4",
    );
    assert_eq!(empty.status, 404);
}

/// Fetches `/config` and returns (cookie, csrf).
fn open_form(addr: SocketAddr, cookie: Option<&str>) -> (String, String, String) {
    let headers: Vec<(&str, &str)> = cookie.map(|c| vec![("Cookie", c)]).unwrap_or_default();
    let r = request(addr, "GET", "/config", &headers, b"");
    assert_eq!(r.status, 200);
    let cookie = r
        .h("set-cookie")
        .map(|c| c.split(';').next().unwrap().to_owned())
        .or(cookie.map(str::to_owned))
        .unwrap();
    let page = r.text();
    let csrf = common::between(&page, "name=\"csrf\" value=\"", "\"");
    (cookie, csrf, page)
}

fn post(addr: SocketAddr, path: &str, cookie: &str, fields: &[(&str, &str)]) -> common::http::Resp {
    let body: String = url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs(fields)
        .finish();
    request(
        addr,
        "POST",
        path,
        &[
            ("Cookie", cookie),
            ("Content-Type", "application/x-www-form-urlencoded"),
        ],
        body.as_bytes(),
    )
}

#[test]
fn config_form_refuses_bad_values_and_applies_good_ones() {
    let dir = scratch("web-config");
    let cam = FakeCamera::start(&camera_clip(), None);
    let (p, addr) = start(&dir, &[], None);
    let (cookie, csrf, page) = open_form(addr, None);
    assert!(
        !page.contains("hunter2"),
        "a camera password reached the browser"
    );
    let before = std::fs::read_to_string(&p.config).unwrap();
    let url = cam.url();
    let mut fields = vec![
        ("csrf", csrf.as_str()),
        (
            "data_dir",
            before
                .split("\"data_dir\": \"")
                .nth(1)
                .unwrap()
                .split('"')
                .next()
                .unwrap(),
        ),
        ("cam.0.orig", "front"),
        ("cam.0.id", "front"),
        ("cam.0.url", "rtsp://127.0.0.1:9/none"),
        ("cam.0.enabled", "on"),
        ("cam.1.orig", ""),
        ("cam.1.id", "Back Yard"),
        ("cam.1.url", url.as_str()),
        ("cam.1.enabled", "on"),
        ("retry.gap_timeout_s", "soon"),
    ];
    let bad = post(addr, "/config", &cookie, &fields);
    assert_eq!(bad.status, 400);
    let text = bad.text();
    assert!(text.contains("&quot;soon&quot; is not a number"), "{text}");
    assert_eq!(
        std::fs::read_to_string(&p.config).unwrap(),
        before,
        "a refused form changed the file"
    );
    // The id error is shown beside the id field of that row.
    fields.retain(|(k, _)| *k != "retry.gap_timeout_s");
    let bad = post(addr, "/config", &cookie, &fields);
    let text = bad.text();
    let field = text.find("name=\"cam.1.id\"").unwrap();
    let err = text
        .find("must match [a-z0-9_-]{1,32}")
        .expect("id error shown");
    assert!(
        err > field && err - field < 300,
        "error not beside its field"
    );
    // Without the CSRF token, nothing happens.
    let forged = post(addr, "/config", &cookie, &fields[1..]);
    assert_eq!(forged.status, 403);

    for f in &mut fields {
        if f.0 == "cam.1.id" {
            f.1 = "back";
        }
    }
    let good = post(addr, "/config", &cookie, &fields);
    assert_eq!(
        (good.status, good.h("location")),
        (303, Some("/config?saved=1"))
    );
    let saved: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&p.config).unwrap()).unwrap();
    assert_eq!(saved["cameras"][1]["id"], "back");
    assert_eq!(
        saved["cameras"][0]["password"], "hunter2",
        "a blank password must keep the old one"
    );
    assert!(dir.join("pinvr.json.bak").exists());
    p.wait_log("camera back: recording", 0, Duration::from_secs(30));
}

#[test]
fn admin_password_guards_the_form() {
    let dir = scratch("web-admin");
    let (_p, addr) = start(&dir, &[], Some("s3cret"));
    let (cookie, csrf, page) = open_form(addr, None);
    assert!(page.contains("Log in") && !page.contains("cam.0.id"));
    let r = post(
        addr,
        "/config",
        &cookie,
        &[("csrf", &csrf), ("cam.0.orig", "")],
    );
    assert_eq!((r.status, r.h("location")), (303, Some("/login")));
    let r = post(
        addr,
        "/login",
        &cookie,
        &[("csrf", &csrf), ("password", "wrong")],
    );
    assert!(r.text().contains("Wrong password"));
    let r = post(
        addr,
        "/login",
        &cookie,
        &[("csrf", &csrf), ("password", "s3cret")],
    );
    assert_eq!(r.status, 303);
    let (_, _, page) = open_form(addr, Some(&cookie));
    assert!(page.contains("name=\"cam.0.id\""));
    assert!(!page.contains("s3cret"));
}

#[test]
fn pages_render_in_chromium_and_play_a_minute() {
    let dir = scratch("web-pages");
    make_minutes(&dir.join("data"));
    let (_p, addr) = start(&dir, &[], None);
    let shots = Path::new(env!("CARGO_TARGET_TMPDIR")).join("screenshots");
    std::fs::create_dir_all(&shots).unwrap();
    let base = format!("http://{addr}");
    for (name, path) in [
        ("overview", "/".to_owned()),
        ("day", "/camera/front?day=2026-11-23".to_owned()),
        ("config", "/config".to_owned()),
        ("status", "/status".to_owned()),
    ] {
        for width in [1280, 360] {
            let out = shots.join(format!("{name}-{width}.png"));
            let _ = std::fs::remove_file(&out);
            let console = browser::screenshot(&format!("{base}{path}"), width, 900, &out);
            assert!(
                console.is_empty(),
                "{name} at {width}px logged: {console:?}"
            );
        }
    }
    let started = Instant::now();
    let (dom, console) = browser::dom(&format!("{base}/camera/front?day=2026-11-23&probe=1"));
    assert!(console.is_empty(), "{console:?}");
    assert!(
        dom.contains("data-loaded=\"115\""),
        "the day view did not load the minutes"
    );
    let ready: u32 = dom
        .split("data-video-ready=\"")
        .nth(1)
        .and_then(|s| s.split('"').next())
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("video never loaded ({:?})", started.elapsed()));
    assert!(ready >= 2, "video.readyState {ready}");
}

#[test]
fn archives_are_made_listed_downloaded_and_deleted() {
    let dir = scratch("web-archive");
    make_minutes(&dir.join("data"));
    let (_p, addr) = start(&dir, &[], None);
    let day = get(addr, "/camera/front");
    let cookie = day
        .h("set-cookie")
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_owned();
    let csrf = common::between(&day.text(), "data-csrf=\"", "\"");
    let fields = [
        ("csrf", csrf.as_str()),
        ("camera", "front"),
        ("from", "20261123.1458"),
        ("to", "20261123.1501"),
        ("note", "trash <b>appeared</b>"),
    ];
    assert_eq!(
        post(addr, "/api/1/archive", &cookie, &fields[1..]).status,
        403,
        "no CSRF token"
    );
    let bad = [
        ("csrf", csrf.as_str()),
        ("camera", "front"),
        ("from", "20261123.1501"),
        ("to", "2026"),
    ];
    assert_eq!(post(addr, "/api/1/archive", &cookie, &bad).status, 400);
    let made = post(addr, "/api/1/archive", &cookie, &fields);
    assert_eq!(made.status, 201, "{}", made.text());
    let name = made.json()["payload"]["archive"]["name"]
        .as_str()
        .unwrap()
        .to_owned();
    let list = get(addr, "/api/1/archives.json").json();
    assert_eq!(
        list["payload"]["archives"][0]["note"],
        "trash <b>appeared</b>"
    );
    let page = get(addr, "/archives").text();
    assert!(
        page.contains("trash &lt;b&gt;appeared&lt;/b&gt;"),
        "note not escaped"
    );
    let mp4 = get(addr, &format!("/api/1/archive/{name}.mp4"));
    assert_eq!(mp4.status, 200);
    let out = dir.join("archive.mp4");
    std::fs::write(&out, &mp4.body).unwrap();
    assert_eq!(decode_errors(&out), "");
    assert_eq!(
        common::probe(&out).frames,
        4 * 30,
        "four minutes across the resolution change"
    );
    assert_eq!(get(addr, "/api/1/archive/..%2fpinvr.json.mp4").status, 400);
    assert_eq!(get(addr, "/api/1/archive/nothing.mp4").status, 404);
    let del = post(
        addr,
        &format!("/api/1/archive/{name}/delete"),
        &cookie,
        &[("csrf", &csrf)],
    );
    assert_eq!(del.status, 303);
    assert_eq!(get(addr, &format!("/api/1/archive/{name}.mp4")).status, 404);
    assert!(
        get(addr, "/api/1/archives.json").json()["payload"]["archives"]
            .as_array()
            .unwrap()
            .is_empty()
    );
}
