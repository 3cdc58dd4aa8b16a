//! The web UI and REST API over real HTTP, on minutes made from fixture clips: every
//! endpoint, hostile paths, Range edge cases, a 2-hour range across a gap and a resolution
//! change judged by ffmpeg, ranges to the second, the config form and archives. (The pages
//! in Chromium: tests/browser.rs.)

mod common;

use common::cameras::FakeCamera;
use common::daemon::{PASSWORD, Pinvr};
use common::http::{Browser, login};
use common::{Clip, T0_US, camera_clip, decode_errors, duration, scratch};
use pinvr::layout::{self, FileKind};
use serde_json::json;
use std::path::{Path, PathBuf};
use std::time::Duration;

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
    fixture_minutes()
        .into_iter()
        .map(|m| {
            let clip = if m < M0 + 60 { &small } else { &big };
            common::write_minute(data, "front", m, clip, 250_000)
        })
        .collect()
}

/// Starts pinvr on the fixture's data with camera `front` (a camera that is not there) and
/// `extra_cameras`, `web` merged into the web section; logs in.
fn start(
    dir: &Path,
    extra_cameras: &[serde_json::Value],
    web: serde_json::Value,
) -> (Pinvr, Browser) {
    let mut cams = vec![
        json!({ "id": "front", "url": "rtsp://127.0.0.1:9/none", "username": "u", "password": "hunter2" }),
    ];
    cams.extend(extra_cameras.iter().cloned());
    let config = json!({
        "data_dir": dir.join("data"),
        "web": web,
        "cameras": cams,
    });
    let p = Pinvr::start(dir, &config);
    let b = login(p.addr, PASSWORD);
    (p, b)
}

#[test]
fn api_files_and_ranges() {
    let dir = scratch("web-api");
    let files = make_minutes(&dir.join("data"));
    let (_p, b) = start(&dir, &[], json!({}));

    let sys = b.get("/api/1/system.json");
    assert_eq!(sys.status, 200);
    let v = sys.json();
    assert_eq!(v["system"]["name"], "pinvr");
    assert_eq!(v["payload"]["status"], "running");
    assert_eq!(v["payload"]["cameras"]["front"]["recording"], false);
    let cams = b.get("/api/1/cameras.json");
    assert_eq!(
        cams.json()["payload"]["cameras"][0]["latest"],
        "20261123.1559"
    );
    assert!(!cams.text().contains("hunter2") && !sys.text().contains("hunter2"));

    for path in [
        "/api/1/cameras/20261123?camera_ids=front",
        "/api/1/cameras/261123",
    ] {
        let day = b.get(path);
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
        let r = b.get(path);
        assert_eq!(r.status, code, "{path}: {}", r.text());
        assert!(!r.text().contains("root:"), "{path} served a system file");
    }

    // A minute's files: validators, HEAD, conditional requests and ranges.
    let jpg = b.get("/api/1/camera/front.preview.20261123.1400.jpg");
    assert_eq!(
        (jpg.status, jpg.h("content-type")),
        (200, Some("image/jpeg"))
    );
    let etag = jpg.h("etag").unwrap().to_owned();
    assert!(jpg.h("last-modified").unwrap().ends_with("GMT"));
    let again = b.request(
        "GET",
        "/api/1/camera/front.preview.20261123.1400.jpg",
        &[("If-None-Match", &etag)],
    );
    assert_eq!((again.status, again.body.len()), (304, 0));
    let thumb = b.get("/api/1/camera/front.thumbnail.261123.1400.jpg");
    assert_eq!(thumb.status, 200);
    let path = "/api/1/camera/front.preview.20261123.1501.mp4";
    let full = b.get(path);
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
    let head = b.request("HEAD", path, &[]);
    assert_eq!((head.status, head.body.len()), (200, 0));
    assert_eq!(head.h("content-length"), Some(len.to_string().as_str()));
    let ranged = |spec: &str| b.request("GET", path, &[("Range", spec)]);
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
    let r = b.request(
        "GET",
        path,
        &[("Range", "bytes=0-9"), ("If-Range", "\"stale\"")],
    );
    assert_eq!((r.status, r.body.len()), (200, len));

    // Two hours as one MP4: across the gap and the resolution change.
    let path = "/api/1/camera/front.range.20261123.1400.to.20261123.1559.mp4";
    let whole = b.get(path);
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
    let r = b.request(
        "GET",
        path,
        &[("Range", &format!("bytes={}-{}", mid, mid + 65_535))],
    );
    assert_eq!(
        (r.status, &r.body[..]),
        (206, &whole.body[mid..mid + 65_536])
    );
    let r = b.request("GET", path, &[("If-None-Match", whole.h("etag").unwrap())]);
    assert_eq!(r.status, 304);
    let empty = b.get("/api/1/camera/front.range.20261122.1400.to.20261122.1500.mp4");
    assert_eq!(empty.status, 404);
}

#[test]
fn config_form_refuses_bad_values_and_applies_good_ones() {
    let dir = scratch("web-config");
    let cam = FakeCamera::start(&camera_clip(), None);
    let (p, b) = start(&dir, &[], json!({}));
    let page = b.get("/config").text();
    assert!(
        !page.contains("hunter2"),
        "a camera password reached the browser"
    );
    let before = std::fs::read_to_string(&p.config).unwrap();
    let url = cam.url();
    let mut fields = vec![
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
        ("cam.0.max_age_days", "9"),
        ("cam.1.orig", ""),
        ("cam.1.id", "Back Yard"),
        ("cam.1.url", url.as_str()),
        ("cam.1.enabled", "on"),
        ("retry.gap_timeout_s", "soon"),
    ];
    let bad = b.post("/config", &fields);
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
    let bad = b.post("/config", &fields);
    let text = bad.text();
    let field = text.find("name=\"cam.1.id\"").unwrap();
    let err = text
        .find("must match [a-z0-9_-]{1,32}")
        .expect("id error shown");
    assert!(
        err > field && err - field < 300,
        "error not beside its field"
    );
    // Without the right CSRF token, nothing happens.
    let forged = Browser {
        csrf: "0".repeat(32),
        ..b.clone()
    }
    .post("/config", &fields);
    assert_eq!(forged.status, 403);

    for f in &mut fields {
        if f.0 == "cam.1.id" {
            f.1 = "back";
        }
    }
    let good = b.post("/config", &fields);
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
    assert_eq!(saved["cameras"][0]["max_age_days"], 9);
    assert!(dir.join("pinvr.json.bak").exists());
    p.wait_log("camera back: recording", 0, Duration::from_secs(30));
    // The form shows what it saved: a round trip keeps every camera's age limit.
    let page = b.get("/config").text();
    assert!(
        page.contains("name=\"cam.0.max_age_days\" value=\"9\""),
        "{page}"
    );
}

#[test]
fn archives_are_made_listed_downloaded_and_deleted() {
    let dir = scratch("web-archive");
    make_minutes(&dir.join("data"));
    let (_p, b) = start(&dir, &[], json!({}));
    let day = b.get("/camera/front");
    assert_eq!(common::between(&day.text(), "data-csrf=\"", "\""), b.csrf);
    let fields = [
        ("camera", "front"),
        ("from", "20261123.1458"),
        ("to", "20261123.1501"),
        ("note", "trash <b>appeared</b>"),
    ];
    let forged = Browser {
        csrf: String::new(),
        ..b.clone()
    };
    assert_eq!(
        forged.post("/api/1/archive", &fields).status,
        403,
        "no CSRF token"
    );
    let bad = [
        ("camera", "front"),
        ("from", "20261123.1501"),
        ("to", "2026"),
    ];
    assert_eq!(b.post("/api/1/archive", &bad).status, 400);
    let made = b.post("/api/1/archive", &fields);
    assert_eq!(made.status, 201, "{}", made.text());
    let name = made.json()["payload"]["archive"]["name"]
        .as_str()
        .unwrap()
        .to_owned();
    let list = b.get("/api/1/archives.json").json();
    assert_eq!(
        list["payload"]["archives"][0]["note"],
        "trash <b>appeared</b>"
    );
    let page = b.get("/archives").text();
    assert!(
        page.contains("trash &lt;b&gt;appeared&lt;/b&gt;"),
        "note not escaped"
    );
    let mp4 = b.get(&format!("/api/1/archive/{name}.mp4"));
    assert_eq!(mp4.status, 200);
    let out = dir.join("archive.mp4");
    std::fs::write(&out, &mp4.body).unwrap();
    assert_eq!(decode_errors(&out), "");
    assert_eq!(
        common::probe(&out).frames,
        4 * 30,
        "four minutes across the resolution change"
    );
    assert_eq!(b.get("/api/1/archive/..%2fpinvr.json.mp4").status, 400);
    assert_eq!(b.get("/api/1/archive/nothing.mp4").status, 404);
    let del = b.post(&format!("/api/1/archive/{name}/delete"), &[]);
    assert_eq!(del.status, 303);
    assert_eq!(b.get(&format!("/api/1/archive/{name}.mp4")).status, 404);
    assert!(
        b.get("/api/1/archives.json").json()["payload"]["archives"]
            .as_array()
            .unwrap()
            .is_empty()
    );
}

#[test]
fn a_range_to_the_second_starts_and_ends_on_its_seconds() {
    let dir = scratch("web-seconds");
    // Five whole minutes, 14:35 to 14:39, 10 fps with a key frame every second.
    let clip = Clip::small(60).mp4();
    let files: Vec<PathBuf> = (35..40)
        .map(|m| common::write_minute(&dir.join("data"), "front", M0 + m, &clip, 0))
        .collect();
    let (_p, b) = start(&dir, &[], json!({}));
    // 14:36:50.000 to 14:38:10.000: 80 s across two minute boundaries.
    let path = "/api/1/camera/front.range.20261123.143650.to.20261123.143810.mp4";
    let r = b.get(path);
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(
        r.h("content-disposition"),
        Some("attachment; filename=\"front 2026-11-23 14.36.50 to 14.38.10 UTC.mp4\"")
    );
    let out = dir.join("seconds.mp4");
    std::fs::write(&out, &r.body).unwrap();
    assert_eq!(decode_errors(&out), "");
    let d = duration(&out);
    assert!((d - 80.0).abs() <= 0.1, "{d} s");
    // The first frame shown is the one of 14:36:50 (frame 500 of minute 14:36), the last
    // the one before 14:38:10 (frame 99 of minute 14:38).
    let got = common::frame_md5s(&out);
    assert!((799..=801).contains(&got.len()), "{} frames", got.len());
    let m36 = common::frame_md5s(&files[1]);
    let m38 = common::frame_md5s(&files[3]);
    assert_eq!(got[0], m36[500], "the first frame is not 14:36:50's");
    assert_eq!(
        got[got.len() - 1],
        m38[99],
        "the last frame is not 14:38:09.9's"
    );
    // Only the frames needed are sent: about 80 s of the minutes' bytes, not 3 minutes.
    let whole: u64 = files[1..4]
        .iter()
        .map(|f| std::fs::metadata(f).unwrap().len())
        .sum();
    assert!(
        (r.body.len() as u64) < whole * 6 / 10,
        "{} of {whole}",
        r.body.len()
    );
    assert!(pinvr::mp4::start_us(&out).unwrap() == Some((M0 + 36) * 60_000_000 + 50_000_000));
    // The day's spans place every minute to the microsecond.
    let spans = b.get("/api/1/camera/front/spans.json?date=20261123").json();
    let spans = spans["payload"]["spans"].as_array().unwrap().clone();
    assert_eq!(spans.len(), 5);
    assert_eq!(spans[1]["minute"], "1436");
    assert_eq!(spans[1]["start_us"], (M0 + 36) * 60_000_000);
    assert_eq!(spans[1]["duration_us"], 60_000_000);
    assert_eq!(spans[1]["frames"], 600);
    assert_eq!(b.get("/api/1/camera/front/spans.json").status, 400);
    // Archived to the second, too.
    let made = b.post(
        "/api/1/archive",
        &[
            ("camera", "front"),
            ("from", "20261123.143650"),
            ("to", "20261123.143810"),
            ("note", ""),
        ],
    );
    assert_eq!(made.status, 201, "{}", made.text());
    let name = made.json()["payload"]["archive"]["name"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(
        name.starts_with("front.20261123.143650-20261123.143810."),
        "{name}"
    );
    let kept = dir.join("kept.mp4");
    std::fs::write(&kept, b.get(&format!("/api/1/archive/{name}.mp4")).body).unwrap();
    assert!((duration(&kept) - 80.0).abs() <= 0.1);
    // A name of the page's choosing, checked.
    let named = b.get(&format!(
        "{path}?name=front%202026-11-23%2015.36.50%20CET.mp4"
    ));
    assert_eq!(
        named.h("content-disposition"),
        Some("attachment; filename=\"front 2026-11-23 15.36.50 CET.mp4\"")
    );
    assert_eq!(b.get(&format!("{path}?name=..%2Fx")).status, 400);
    // A range ending before it starts, or of nothing recorded.
    assert_eq!(
        b.get("/api/1/camera/front.range.20261123.143810.to.20261123.143650.mp4")
            .status,
        400
    );
    assert_eq!(
        b.get("/api/1/camera/front.range.20261123.120000.to.20261123.120100.mp4")
            .status,
        404
    );
}

#[test]
fn every_page_says_when_the_clock_is_not_synchronised_and_its_minutes_are_marked() {
    let dir = scratch("web-clock");
    let config = json!({
        "data_dir": dir.join("data"),
        "cameras": [{ "id": "front", "url": "rtsp://127.0.0.1:9/none" }],
    });
    // A minute left by a crash, finished when pinvr starts: while the clock is not
    // synchronised it is marked.
    let clip = Clip::small(3).mp4();
    let leftover = |minute: i64| {
        let chunk = pinvr::layout::minute_path(
            &dir.join("data/front"),
            "front",
            minute,
            pinvr::layout::FileKind::Chunk,
        );
        std::fs::create_dir_all(chunk.parent().unwrap()).unwrap();
        pinvr::fixture::mp4_to_chunk(&[clip.as_path()], &chunk, minute * 60_000_000).unwrap();
    };
    let spans = |b: &Browser, n: usize| {
        let deadline = std::time::Instant::now() + Duration::from_secs(30);
        loop {
            let v = b.get("/api/1/camera/front/spans.json?date=20261123").json();
            let spans = v["payload"]["spans"].as_array().unwrap().clone();
            if spans.len() >= n {
                return spans;
            }
            assert!(std::time::Instant::now() < deadline, "{v}");
            std::thread::sleep(Duration::from_millis(100));
        }
    };
    leftover(M0);
    // The kernel says the clock is not synchronised (a Pi before the network's time).
    let p = Pinvr::start_with(&dir, &config, &[("PINVR_CLOCK_SYNC", "no")], &[]);
    let b = login(p.addr, PASSWORD);
    assert_eq!(spans(&b, 1)[0]["clock_unsynced"], true);
    for page in [
        "/",
        "/camera/front",
        "/live",
        "/status",
        "/config",
        "/archives",
    ] {
        let text = b.get(page).text();
        assert!(
            text.contains("class=\"clockbanner\"") && text.contains("not synchronised"),
            "{page} does not say the clock is not synchronised"
        );
    }
    let metrics = b.get("/metrics").text();
    assert!(metrics.contains("pinvr_clock_synchronized 0"), "{metrics}");
    drop(p);
    // Synchronised: no banner, and a minute finished now is not marked.
    leftover(M0 + 1);
    let p = Pinvr::start_with(&dir, &config, &[("PINVR_CLOCK_SYNC", "yes")], &[]);
    let b = login(p.addr, PASSWORD);
    assert!(!b.get("/").text().contains("clockbanner"));
    let s = spans(&b, 2);
    assert_eq!(
        (&s[0]["clock_unsynced"], &s[1]["clock_unsynced"]),
        (&json!(true), &json!(false))
    );
    assert!(
        b.get("/metrics")
            .text()
            .contains("pinvr_clock_synchronized 1")
    );
}

#[test]
fn a_minute_recorded_twice_lists_and_serves_both() {
    // Minute 14:35 recorded, then recorded again after the clock was set back: its repeat
    // is listed with the minute in spans.json, served by its own URL, and named on the day
    // page; the minute itself is what the timeline and exports use.
    let dir = scratch("web-repeats");
    let data = dir.join("data");
    let clip = Clip::small(60).mp4();
    let first = common::write_minute(&data, "front", M0 + 35, &clip, 0);
    let other = common::write_minute(&data, "front", M0 + 50, &clip, 20_000_000);
    let cam = data.join("front");
    for kind in [FileKind::Mp4, FileKind::Preview, FileKind::Thumbnail] {
        let from = layout::minute_path(&cam, "front", M0 + 50, kind);
        std::fs::rename(from, layout::repeat_path(&cam, "front", M0 + 35, 1, kind)).unwrap();
    }
    let repeat = layout::repeat_path(&cam, "front", M0 + 35, 1, FileKind::Mp4);
    assert!(!other.exists());
    let (_p, b) = start(&dir, &[], json!({}));
    let spans = b.get("/api/1/camera/front/spans.json?date=20261123").json();
    let spans = spans["payload"]["spans"].as_array().unwrap().clone();
    assert_eq!(spans.len(), 1, "{spans:?}");
    assert_eq!(spans[0]["minute"], "1435");
    assert_eq!(spans[0]["start_us"], (M0 + 35) * 60_000_000);
    let reps = spans[0]["repeats"].as_array().expect("repeats listed");
    assert_eq!(reps.len(), 1);
    assert_eq!(reps[0]["repeat"], 1);
    assert_eq!(reps[0]["start_us"], (M0 + 50) * 60_000_000 + 20_000_000);
    let url = reps[0]["url"].as_str().unwrap();
    assert_eq!(url, "/api/1/camera/front.preview.20261123.1435.r1.mp4");
    let got = b.get(url);
    assert_eq!(got.status, 200);
    assert_eq!(got.h("content-type"), Some("video/mp4"));
    assert!(
        got.body == std::fs::read(&repeat).unwrap(),
        "not the repeat's bytes"
    );
    let own = b.get("/api/1/camera/front.preview.20261123.1435.mp4");
    assert!(
        own.body == std::fs::read(&first).unwrap(),
        "not the minute's own bytes"
    );
    for bad in ["r0", "r01", "x1", "r"] {
        let r = b.get(&format!(
            "/api/1/camera/front.preview.20261123.1435.{bad}.mp4"
        ));
        assert_eq!(r.status, 400, "{bad}: {}", r.text());
    }
    assert_eq!(
        b.get("/api/1/camera/front.preview.20261123.1435.r2.mp4")
            .status,
        404
    );
    // The page has the line the script fills in.
    let page = b.get("/camera/front").text();
    assert!(page.contains("id=\"repeats\""), "{page}");
}
