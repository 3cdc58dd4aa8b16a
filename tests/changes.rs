//! The change search on recorded days with known answers, made with ffmpeg and recorded as
//! pinvr records (minute files, previews, signatures): an object that appears at a known
//! second and is removed later, a vehicle that drives through, light that drifts by a fifth
//! over the day, a change outside the region, a day with gaps; then tags, over HTTP.

mod common;

use common::daemon::{PASSWORD, Pinvr};
use common::http::login;
use common::{T0_US, scratch};
use serde_json::json;
use std::path::{Path, PathBuf};
use std::process::Command;

/// Seconds of the recorded day.
const LENGTH: u32 = 3 * 3600;
/// The box appears (seconds into the day) and goes.
const APPEARS: u32 = 3917;
const REMOVED: u32 = 7217;
/// A car drives through the region, across the minute boundary at 5040 s.
const CAR: (u32, u32) = (5034, 5046);
/// The region around the box, and one elsewhere.
const REGION: &str = "0.6,0.45,0.22,0.33";
const ELSEWHERE: &str = "0.05,0.05,0.25,0.25";

/// Three hours of a still scene at 2 fps with sensor noise and light drifting by a fifth,
/// the box and the car, 320x180, a key frame every second. Cached per build.
fn day_clip() -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("clips");
    std::fs::create_dir_all(&dir).unwrap();
    let out = dir.join("changes-day.mp4");
    if out.exists() {
        return out;
    }
    let graph = format!(
        "smptebars=size=320x180:rate=2:duration={LENGTH},format=yuv420p[bg];\
         color=c=blue:size=40x30:rate=2:duration={LENGTH}[car];\
         [bg]eq=brightness='0.09*sin(2*PI*t/{LENGTH})':contrast='1+0.1*sin(2*PI*t/{LENGTH})':eval=frame,\
         noise=alls=5:allf=t,\
         drawbox=x=200:y=90:w=50:h=40:color=red:t=fill:enable='between(t,{APPEARS},{REMOVED})'[lit];\
         [lit][car]overlay=x='(t-{a})*28':y=100:enable='between(t,{a},{b})'",
        a = CAR.0,
        b = CAR.1,
    );
    let tmp = dir.join(format!("changes-day.{}.mp4", std::process::id()));
    let ok = Command::new("ffmpeg")
        .args(["-v", "error", "-y", "-filter_complex", &graph])
        .args([
            "-c:v", "libx264", "-preset", "veryfast", "-pix_fmt", "yuv420p",
        ])
        .args([
            "-g",
            "2",
            "-keyint_min",
            "2",
            "-sc_threshold",
            "0",
            "-b:v",
            "150k",
        ])
        .arg(&tmp)
        .status()
        .unwrap()
        .success();
    assert!(ok, "ffmpeg could not make the day");
    std::fs::rename(&tmp, &out).unwrap();
    out
}

/// Seconds into the day of an RFC 3339 time.
fn secs(t: &serde_json::Value) -> f64 {
    (pinvr::time::parse_rfc3339(t.as_str().unwrap()).unwrap() - T0_US) as f64 / 1e6
}

#[test]
fn changes_are_found_to_the_gop_and_passers_by_and_light_are_not() {
    let dir = scratch("changes");
    let data = dir.join("data");
    let clip = day_clip();
    let m0 = T0_US / 60_000_000;
    common::write_day(&data, "yard", T0_US, &clip, &[]);
    // The same day with the camera down for half an hour and ten minutes.
    let gaps: Vec<i64> = (m0 + 30..m0 + 60).chain(m0 + 100..m0 + 110).collect();
    common::write_day(&data, "gappy", T0_US, &clip, &gaps);
    let p = Pinvr::start(
        &dir,
        &json!({
            "data_dir": data,
            "cameras": [
                { "id": "yard", "url": "rtsp://127.0.0.1:9/yard", "enabled": false },
                { "id": "gappy", "url": "rtsp://127.0.0.1:9/gappy", "enabled": false },
            ],
        }),
    );
    let b = login(p.addr, PASSWORD);
    let ask = |cam: &str, region: &str| {
        let r = b.get(&format!(
            "/api/1/camera/{cam}/changes.json?from=20261123.1400&to=20261123.1659&region={region}"
        ));
        assert_eq!(r.status, 200, "{}", r.text());
        r.json()["payload"].clone()
    };
    let got = ask("yard", REGION);
    let changes = got["changes"].as_array().unwrap();
    // The box appears and later goes: two changes, each to within a GOP (1 s); the first
    // ends where the second starts; the second lasts to the end.
    assert_eq!(changes.len(), 2, "{got:#}");
    let (s0, s1) = (secs(&changes[0]["start"]), secs(&changes[1]["start"]));
    assert!(
        (s0 - f64::from(APPEARS)).abs() <= 1.0,
        "appeared at {s0}, not {APPEARS}"
    );
    assert!(
        (s1 - f64::from(REMOVED)).abs() <= 1.0,
        "removed at {s1}, not {REMOVED}"
    );
    assert_eq!(changes[0]["end"], changes[1]["start"]);
    assert!(changes[1]["end"].is_null());
    assert!(
        changes
            .iter()
            .all(|c| c["refined"] == true && c["score"].as_f64().unwrap() > 0.3)
    );
    assert_eq!(got["checked"], 180);
    assert_eq!(got["skipped"], 0);
    // Before and after are the stills of the minutes either side, and they are there.
    let before = changes[0]["before"].as_str().unwrap();
    assert_eq!(before, "/api/1/camera/yard.preview.20261123.1505.jpg");
    assert_eq!(b.get(before).status, 200);
    assert_eq!(
        changes[0]["after"],
        "/api/1/camera/yard.preview.20261123.1506.jpg"
    );
    // Elsewhere nothing changed: the car, the light and the noise are no changes.
    let elsewhere = ask("yard", ELSEWHERE);
    assert_eq!(elsewhere["changes"], json!([]), "{elsewhere:#}");
    // The car crosses the region in a minute's still, and is no change either: nor is it
    // reported as one by a region that is the car's path only.
    let path = ask("yard", "0.0,0.5,1.0,0.25");
    let starts: Vec<f64> = path["changes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| secs(&c["start"]))
        .collect();
    assert!(
        starts.iter().all(|s| (s - f64::from(CAR.0)).abs() > 60.0),
        "{starts:?}"
    );
    // With gaps the same changes are found, and the minutes not recorded are not counted.
    let g = ask("gappy", REGION);
    let gc = g["changes"].as_array().unwrap();
    assert_eq!(gc.len(), 2, "{g:#}");
    assert!((secs(&gc[0]["start"]) - f64::from(APPEARS)).abs() <= 1.0);
    assert_eq!(g["checked"], 140);
    // Streamed: progress lines, then the same answer.
    let s = b.get(&format!(
        "/api/1/camera/yard/changes.json?from=20261123.1400&to=20261123.1659&region={REGION}&stream=1"
    ));
    assert_eq!(s.h("content-type"), Some("application/x-ndjson"));
    let lines: Vec<serde_json::Value> = s
        .text()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.last().unwrap()["payload"]["changes"], got["changes"]);
    // Bad questions get a one-line reason.
    for (q, says) in [
        (
            "from=20261123.1400&to=20261123.1659&region=0.5,0.5,0.6,0.1",
            "inside the picture",
        ),
        (
            "from=20261123.1400&to=20261123.1659&region=0,0,0,0",
            "too small",
        ),
        ("from=20261123.1400&to=20261123.1659&region=a,b", "x,y,w,h"),
        (
            "from=20261123.1659&to=20261123.1400&region=0,0,1,1",
            "ends before it starts",
        ),
        (
            "from=20261101.0000&to=20261215.0000&region=0,0,1,1",
            "31 days",
        ),
        ("to=20261123.1659&region=0,0,1,1", "from="),
    ] {
        let r = b.get(&format!("/api/1/camera/yard/changes.json?{q}"));
        assert_eq!(r.status, 400, "{q}");
        assert!(
            r.text().contains(says) && r.text().lines().count() == 1,
            "{q}: {}",
            r.text()
        );
    }
    assert_eq!(
        b.get(
            "/api/1/camera/nobody/changes.json?from=20261123.1400&to=20261123.1659&region=0,0,1,1"
        )
        .status,
        404
    );

    // A change saved as a tag, by a script with a token or by the page (with its CSRF
    // token); listed, and kept with an archive of its range.
    let tag = json!({
        "camera": "yard", "start": changes[0]["start"], "end": changes[0]["end"],
        "label": "the red box", "note": "found by the change search"
    });
    let body = tag.to_string();
    let csrf = b.csrf.clone();
    let post = |headers: &[(&str, &str)]| {
        let mut h = vec![
            ("Cookie", b.cookie.as_str()),
            ("Content-Type", "application/json"),
        ];
        h.extend_from_slice(headers);
        common::http::request(p.addr, "POST", "/api/1/tags", &h, body.as_bytes())
    };
    assert_eq!(post(&[]).status, 403, "a session needs its CSRF token");
    let made = post(&[("X-CSRF-Token", &csrf)]);
    assert_eq!(made.status, 201, "{}", made.text());
    let listed = b
        .get("/api/1/tags.json?camera=yard&from=20261123.1500&to=20261123.1600")
        .json();
    assert_eq!(listed["payload"]["tags"][0]["label"], "the red box");
    assert_eq!(
        b.get("/api/1/tags.json?camera=yard&from=20261123.1400&to=20261123.1500")
            .json()["payload"]["tags"],
        json!([])
    );
    let bad = common::http::request(
        p.addr,
        "POST",
        "/api/1/tags",
        &[
            ("Cookie", &b.cookie),
            ("X-CSRF-Token", &csrf),
            ("Content-Type", "application/json"),
        ],
        br#"{"camera":"yard","start":"not a time","label":"x"}"#,
    );
    assert_eq!(bad.status, 400);
    let kept = b.post(
        "/api/1/archive",
        &[
            ("camera", "yard"),
            ("from", "20261123.1500"),
            ("to", "20261123.1510"),
            ("note", ""),
        ],
    );
    assert_eq!(kept.status, 201, "{}", kept.text());
    assert_eq!(
        kept.json()["payload"]["archive"]["tags"][0]["label"],
        "the red box"
    );
}
