//! The pages in Chromium, driven with Playwright as a person would (tests/browser/*.mjs):
//! the day view's player, timeline, keyboard, selection, download, deep links and every page
//! at 1280x800 and 390x844. This file makes the recordings, starts pinvr, runs the scripts,
//! and judges what they downloaded with ffprobe and ffmpeg.

mod common;

use common::browser::{run_script, run_script_with};
use common::cameras::{FakeCamera, free_port};
use common::daemon::Pinvr;
use common::{T0_US, decode_errors, duration, scratch};
use pinvr::layout::{self, FileKind};
use serde_json::json;
use std::path::{Path, PathBuf};
use std::process::Command;

/// 2026-11-23 14:00 UTC, in minutes.
const M0: i64 = T0_US / 60_000_000;

/// A 60 s, 320x240, 10 fps clip with a key frame every second, and a red box in its lower
/// right from `box_from` seconds on (never if `None`). Cached per build.
fn clip(name: &str, box_from: Option<u32>) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("clips");
    std::fs::create_dir_all(&dir).unwrap();
    let out = dir.join(format!("{name}.mp4"));
    if out.exists() {
        return out;
    }
    let filter = match box_from {
        Some(t) => format!("drawbox=x=236:y=164:w=56:h=48:color=red:t=fill:enable='gte(t,{t})'"),
        None => "null".into(),
    };
    let tmp = dir.join(format!("{name}.{}.mp4", std::process::id()));
    let ok = Command::new("ffmpeg")
        .args(["-v", "error", "-y", "-f", "lavfi", "-i"])
        .arg("testsrc2=size=320x240:rate=10:duration=60")
        .args([
            "-vf",
            &filter,
            "-c:v",
            "libx264",
            "-pix_fmt",
            "yuv420p",
            "-profile:v",
            "baseline",
        ])
        .args([
            "-g",
            "10",
            "-keyint_min",
            "10",
            "-sc_threshold",
            "0",
            "-b:v",
            "300k",
        ])
        .arg(&tmp)
        .status()
        .unwrap()
        .success();
    assert!(ok, "ffmpeg could not make {name}");
    std::fs::rename(&tmp, &out).unwrap();
    out
}

#[test]
fn the_day_view_finds_plays_selects_and_takes_the_moment() {
    let dir = scratch("browser-day");
    let data = dir.join("data");
    let (plain, appears, there) = (
        clip("plain-60s", None),
        clip("box-at-12s", Some(12)),
        clip("box-60s", Some(0)),
    );
    let mut files = Vec::new();
    for m in 30..45 {
        let c = match m {
            ..37 => &plain,
            37 => &appears,
            _ => &there,
        };
        files.push(common::write_minute(&data, "front", M0 + m, c, 0));
    }
    // 14:44:20 to 14:45:20 recorded again after the clock was set back: a repeat of 14:44.
    let again = common::write_minute(&dir.join("again"), "front", M0 + 44, &there, 20_000_000);
    for kind in [FileKind::Mp4, FileKind::Preview, FileKind::Thumbnail] {
        let from = layout::sibling(&again, FileKind::Mp4, kind).unwrap();
        let to = layout::repeat_path(&data.join("front"), "front", M0 + 44, 1, kind);
        std::fs::rename(from, to).unwrap();
    }
    let repeat = layout::repeat_path(&data.join("front"), "front", M0 + 44, 1, FileKind::Mp4);
    let p = Pinvr::start(
        &dir,
        &json!({
            "data_dir": data,
            "cameras": [
                { "id": "front", "url": "rtsp://127.0.0.1:9/front", "enabled": false },
                { "id": "gone", "url": "rtsp://127.0.0.1:9/gone" },
            ],
        }),
    );
    let downloads = dir.join("downloads");
    std::fs::create_dir_all(&downloads).unwrap();
    let Some(results) = run_script("day.test.mjs", &p, &downloads) else {
        return;
    };
    // The selection 15:36:50 to 15:38:10 Berlin time downloaded as shown: 80 s, its first
    // frame 14:36:50 UTC's (frame 500 of minute 14:36) and its last the one before 14:38:10.
    let sel = downloads.join("selection.mp4");
    assert_eq!(decode_errors(&sel), "");
    let d = duration(&sel);
    assert!((d - 80.0).abs() <= 0.1, "the download is {d} s");
    let got = common::frame_md5s(&sel);
    assert_eq!(
        got[0],
        common::frame_md5s(&files[6])[500],
        "does not start at 14:36:50"
    );
    assert_eq!(
        got[got.len() - 1],
        common::frame_md5s(&files[8])[99],
        "does not end at 14:38:10"
    );
    assert!(
        std::fs::read(downloads.join("repeat.mp4")).unwrap() == std::fs::read(&repeat).unwrap(),
        "the repeat's download is not the repeat"
    );
    let story = downloads.join("story.mp4");
    assert_eq!(decode_errors(&story), "");
    let s = &results["the user's story: find when the box appeared, watch who did it, take it"];
    eprintln!(
        "the user's story: {} actions, {:.1} s; its clip is {:.1} s",
        s["clicks"],
        s["seconds"].as_f64().unwrap_or(0.0),
        duration(&story)
    );
    assert!(duration(&story) > 15.0);
}

#[test]
fn live_view_is_under_a_second_behind_and_survives_outages_and_size_changes() {
    let dir = scratch("browser-live");
    let cams: Vec<FakeCamera> = (0..4).map(|_| FakeCamera::live(&[])).collect();
    let ids = ["lat", "g2", "g3", "g4"];
    let p = Pinvr::start(
        &dir,
        &json!({
            "data_dir": dir.join("data"),
            "cameras": ids.iter().zip(&cams).map(|(id, c)| json!({ "id": id, "url": c.url() }))
                .collect::<Vec<_>>(),
        }),
    );
    // A second pinvr: a camera the script kills and restarts, and one that changes size.
    let dir2 = dir.join("two");
    std::fs::create_dir_all(&dir2).unwrap();
    let switch = FakeCamera::live(&["--switch-every", "4"]);
    let flap_port = free_port();
    let p2 = Pinvr::start(
        &dir2,
        &json!({
            "data_dir": dir2.join("data"),
            "retry": { "gap_timeout_s": 3, "retry_delay_s": 1, "retry_max_delay_s": 2 },
            "cameras": [
                { "id": "switch", "url": switch.url() },
                { "id": "flap", "url": format!("rtsp://127.0.0.1:{flap_port}/live") },
            ],
        }),
    );
    let seconds = std::env::var("PINVR_LIVE_SECONDS").unwrap_or_else(|_| "40".into());
    let Some(results) = run_script_with(
        "live.test.mjs",
        &p,
        &dir,
        &[
            ("PINVR_BASE2", format!("http://{}", p2.addr)),
            ("PINVR_FLAP_PORT", flap_port.to_string()),
            ("PINVR_LIVE_SECONDS", seconds),
        ],
    ) else {
        return;
    };
    let l = &results["latency"];
    eprintln!(
        "live latency: median {:.3} s, p90 {:.3} s, worst {:.3} s over {} flips",
        l["median"].as_f64().unwrap(),
        l["p90"].as_f64().unwrap(),
        l["max"].as_f64().unwrap(),
        l["flips"]
    );
    assert!(l["median"].as_f64().unwrap() < 1.5);
}

/// Waits up to `secs` for `dir` to hold a finished minute; returns the first.
fn first_minute(dir: &Path, secs: u64, p: &Pinvr) -> PathBuf {
    let end = std::time::Instant::now() + std::time::Duration::from_secs(secs);
    loop {
        if let Some(m) = common::minutes(dir).into_iter().next() {
            return m;
        }
        assert!(
            std::time::Instant::now() < end,
            "no minute in {} after {secs} s\n{}",
            dir.display(),
            p.log_text()
        );
        std::thread::sleep(std::time::Duration::from_millis(500));
    }
}

#[test]
fn real_cameras_play_where_the_browser_can_and_a_camera_is_added_with_a_test() {
    let dir = scratch("browser-cameras");
    let data = dir.join("data");
    let hevc = common::Clip::make("main", "640x360", 10, 10, 10, "h265");
    let avc = common::Clip::make("main", "640x360", 10, 10, 10, "h264");
    let small = common::Clip::make("sub", "320x180", 10, 10, 10, "h264");
    let front = FakeCamera::mounts(&[("/main", &hevc), ("/sub", &small)], false, None);
    let new = FakeCamera::mounts(
        &[("/main", &avc), ("/sub", &small)],
        true,
        Some(("admin", "pw")),
    );
    // "shift": one minute whose picture changes from 320x240 to 640x360 after 30 s.
    let (a, b) = (
        common::Clip {
            seconds: 30,
            ..common::Clip::small(30)
        },
        common::Clip {
            width: 640,
            height: 360,
            ..common::Clip::small(30)
        },
    );
    let minute = M0 + 40;
    let chunk = pinvr::layout::minute_path(
        &data.join("shift"),
        "shift",
        minute,
        pinvr::layout::FileKind::Chunk,
    );
    std::fs::create_dir_all(chunk.parent().unwrap()).unwrap();
    pinvr::fixture::mp4_to_chunk(
        &[a.mp4().as_path(), b.mp4().as_path()],
        &chunk,
        minute * 60_000_000,
    )
    .unwrap();
    let shifted = pinvr::finish::finish_chunk(&chunk).unwrap().mp4;
    assert_eq!(decode_errors(&shifted), "");
    let p = Pinvr::start(
        &dir,
        &json!({
            "data_dir": data,
            "cameras": [
                { "id": "front", "url": front.url_of("/main"), "sub_url": front.url_of("/sub") },
                { "id": "shift", "url": "rtsp://127.0.0.1:9/shift", "enabled": false },
            ],
        }),
    );
    // A finished minute of both streams with a few seconds in it (the first may be short).
    let m = first_minute(&data.join("front"), 150, &p);
    let m = if duration(&m) >= 5.0 {
        m
    } else {
        let end = std::time::Instant::now() + std::time::Duration::from_secs(70);
        loop {
            let all = common::minutes(&data.join("front"));
            if all.len() >= 2 {
                break all[1].clone();
            }
            assert!(std::time::Instant::now() < end, "{}", p.log_text());
            std::thread::sleep(std::time::Duration::from_millis(500));
        }
    };
    let at = pinvr::mp4::start_us(&m).unwrap().unwrap() + 1_500_000;
    let sub_name = m
        .file_name()
        .unwrap()
        .to_str()
        .unwrap()
        .replace("front.", "front~sub.");
    let sub_dir = data
        .join("front/sub")
        .join(m.parent().unwrap().file_name().unwrap());
    let end = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while !sub_dir.join(&sub_name).exists() {
        assert!(std::time::Instant::now() < end, "no {sub_name}");
        std::thread::sleep(std::time::Duration::from_millis(200));
    }
    let port = new
        .url()
        .split(':')
        .nth(2)
        .unwrap()
        .split('/')
        .next()
        .unwrap()
        .to_owned();
    let Some(results) = run_script_with(
        "cameras.test.mjs",
        &p,
        &dir,
        &[
            (
                "PINVR_SHIFT_AT",
                pinvr::time::rfc3339(minute * 60_000_000 + 30_000_000),
            ),
            ("PINVR_FRONT_AT", pinvr::time::rfc3339(at)),
            ("PINVR_NEW_PORT", port),
        ],
    ) else {
        return;
    };
    eprintln!(
        "camera test answered in {} s",
        results["adding a camera: paste a URL with its password, Test shows the picture and the facts, save, it records"]
            ["test_s"]
    );
    // Saved as typed: the URL without credentials, the user and password in their fields.
    let saved: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("pinvr.json")).unwrap()).unwrap();
    let porch = saved["cameras"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["id"] == "porch")
        .unwrap()
        .clone();
    assert_eq!(porch["url"], new.url_of("/main"), "{porch}");
    assert_eq!(porch["username"], "admin");
    assert_eq!(porch["sub_url"], new.url_of("/sub"));
    assert!(!p.log_text().contains(":pw@"), "{}", p.log_text());
}
