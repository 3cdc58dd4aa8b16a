//! The live recorder against real RTSP servers (GStreamer's, looping a clip): minutes
//! across boundaries, outages, a frozen camera, bad peers, a crash and a clean shutdown.
//! They need real minutes, so they run concurrently (about 2 minutes in all).

mod common;

use common::cameras::{FakeCamera, free_port};
use common::daemon::Pinvr;
use common::{camera_clip, decode_errors, minutes, scratch, timeline};
use serde_json::json;
use std::path::Path;
use std::time::{Duration, Instant};

/// Every finished minute under `dir` decodes silently and has both JPEGs.
fn assert_minutes_clean(dir: &Path) -> Vec<std::path::PathBuf> {
    let files = minutes(dir);
    assert!(!files.is_empty(), "no minutes in {}", dir.display());
    for f in &files {
        assert_eq!(decode_errors(f), "", "{}", f.display());
        for ext in ["jpg", "thumb.jpg"] {
            let name = f.file_name().unwrap().to_str().unwrap().replace("mp4", ext);
            assert!(
                f.with_file_name(name).exists(),
                "no {ext} for {}",
                f.display()
            );
        }
    }
    files
}

/// The largest gap between consecutive frames over all of a camera's minutes.
fn largest_gap(files: &[std::path::PathBuf]) -> f64 {
    let mut all: Vec<f64> = files.iter().flat_map(|f| timeline(f)).collect();
    all.sort_by(f64::total_cmp);
    all.windows(2).map(|w| w[1] - w[0]).fold(0.0, f64::max)
}

#[test]
fn cameras_record_through_minutes_outages_and_bad_peers() {
    let dir = scratch("live");
    let data = dir.join("data");
    let clip = camera_clip();
    let a = FakeCamera::start(&clip, None);
    let mut b = FakeCamera::start(&clip, None);
    let c = FakeCamera::start(&clip, None);
    let locked = FakeCamera::start(&clip, Some(("admin", "right")));
    let config = json!({
        "data_dir": data,
        "retry": { "retry_delay_s": 1, "retry_max_delay_s": 1 },
        "cameras": [
            { "id": "a", "url": a.url() },
            { "id": "b", "url": b.url() },
            { "id": "c", "url": c.url() },
            { "id": "wrongpass", "url": locked.url(), "username": "admin", "password": "wrong" },
            { "id": "noserver", "url": format!("rtsp://127.0.0.1:{}/stream", free_port()) },
            { "id": "badpath", "url": format!("rtsp://127.0.0.1:{}/nope", a.port) },
        ]
    });
    let started = common::now_s();
    let mut p = Pinvr::start(&dir, &config);
    for id in ["a", "b", "c"] {
        p.wait_log(
            &format!("camera {id}: recording"),
            0,
            Duration::from_secs(30),
        );
    }

    // Bad peers: one clear line each, naming the cause in pinvr's words, with what to check.
    p.wait_log(
        "camera wrongpass: the camera refused the user name or password (check",
        0,
        Duration::from_secs(30),
    );
    p.wait_log(
        "camera noserver: nothing answers at that address and port (connection refused: check",
        0,
        Duration::from_secs(30),
    );
    p.wait_log(
        "camera badpath: the camera has no stream at that path (check",
        0,
        Duration::from_secs(30),
    );

    // Camera b goes away for 20 s; camera c freezes (SIGSTOP) meanwhile.
    b.stop();
    let b_down = Instant::now();
    let skip = p.log_text().len();
    c.pause();
    let paused = Instant::now();
    let seen = p.wait_log("camera c: no frame for 5 s", skip, Duration::from_secs(10));
    let detect = seen.duration_since(paused).as_secs_f64();
    assert!(detect <= 5.0 + 1.0, "SIGSTOP detected after {detect:.1} s");
    c.resume();
    p.wait_log("camera c: recording again", skip, Duration::from_secs(15));
    std::thread::sleep(Duration::from_secs(20).saturating_sub(b_down.elapsed()));
    b.restart();
    let outage = b_down.elapsed().as_secs_f64();
    p.wait_log("camera b: recording again", skip, Duration::from_secs(15));

    // Run past two minute boundaries, then stop cleanly: open minutes are finished.
    let second_boundary = ((started / 60.0).floor() + 2.0) * 60.0;
    common::wait_until(
        "the second minute boundary",
        Duration::from_secs(190),
        || common::now_s() > second_boundary + 8.0,
    );
    assert!(
        p.terminate(Duration::from_secs(30)),
        "pinvr exited with an error"
    );

    // Camera a: every minute clean, consecutive minutes meet within one frame (0.1 s).
    let files = assert_minutes_clean(&data.join("a"));
    assert!(files.len() >= 3, "{files:?}");
    common::assert_minutes_meet(&files, 0.1 + 0.01);
    assert!(largest_gap(&files) < 0.3, "camera a was affected");

    // Camera b: the hole in its recording matches the outage.
    let b_files = assert_minutes_clean(&data.join("b"));
    let gap = largest_gap(&b_files);
    assert!(
        (gap - outage).abs() <= 2.0,
        "gap {gap:.1} s for an outage of {outage:.1} s"
    );
    assert_minutes_clean(&data.join("c"));

    // Each outage was logged once, not once per retry.
    let log = p.log_text();
    for id in ["wrongpass", "noserver", "badpath"] {
        let n = log
            .lines()
            .filter(|l| l.contains("WARN") && l.contains(&format!("camera {id}:")))
            .count();
        assert_eq!(n, 1, "camera {id} warned {n} times:\n{log}");
    }
    assert!(!log.contains("password: \"wrong\"") && !log.contains("wrong@"));
    drop((a, locked));
}

/// Seconds since midnight (UTC) of a log line's timestamp (`2026-12-03T13:03:05.076Z ...`).
fn log_time(line: &str) -> Option<f64> {
    let t = line.get(11..line.find('Z')?)?;
    let mut parts = t.split(':').map(|p| p.parse::<f64>().ok());
    Some(parts.next()?? * 3600.0 + parts.next()?? * 60.0 + parts.next()??)
}

#[test]
fn sigterm_stops_every_camera_at_once_even_mid_nap() {
    let dir = scratch("sigterm");
    let clip = camera_clip();
    let cams: Vec<FakeCamera> = (0..4).map(|_| FakeCamera::start(&clip, None)).collect();
    let config = json!({
        "data_dir": dir.join("data"),
        "cameras": cams.iter().enumerate()
            .map(|(i, c)| json!({ "id": format!("c{i}"), "url": c.url() }))
            .collect::<Vec<_>>(),
    });
    let mut p = Pinvr::start(&dir, &config);
    for i in 0..cams.len() {
        p.wait_log(
            &format!("camera c{i}: recording"),
            0,
            Duration::from_secs(30),
        );
    }
    // Record a few naps' worth (half a second each, nobody watching), so that every camera
    // is somewhere in a nap when the signal comes.
    std::thread::sleep(Duration::from_secs(2));
    let skip = p.log_text().len();
    assert!(p.terminate(Duration::from_secs(30)));
    let log = p.log_text()[skip..].to_owned();
    let at = |needle: &str| {
        log.lines()
            .find(|l| l.contains(needle))
            .and_then(log_time)
            .unwrap_or_else(|| panic!("no {needle:?} in:\n{log}"))
    };
    let signalled = at("SIGTERM: finishing open minutes");
    // One by one, each camera waited out its nap after the one before had stopped: about
    // a second for four. Told at once and woken from the nap, all stop within a nap.
    // Seconds after the signal, across midnight too (the stamps are times of day).
    let took = (0..cams.len())
        .map(|i| (at(&format!("camera c{i}: stopped")) - signalled).rem_euclid(86_400.0))
        .fold(f64::MIN, f64::max);
    assert!(
        took < 0.4,
        "the last camera stopped {took:.2} s after SIGTERM:\n{log}"
    );
    for i in 0..cams.len() {
        assert_minutes_clean(&dir.join("data").join(format!("c{i}")));
    }
}

#[test]
fn kill_9_mid_minute_keeps_all_but_the_last_second() {
    let dir = scratch("crash");
    kill_9_mid_minute(&dir, &dir.join("data"));
}

#[test]
fn on_xfs_kill_9_mid_minute_keeps_all_but_the_last_second_and_minutes_share_their_blocks() {
    // The same on XFS with reflink, where a finished minute's MP4 shares its chunk's blocks
    // (written once): the crash guarantees hold as with a copy.
    let dir = scratch("crash-xfs");
    let Some(disk) = common::disk::SmallDisk::xfs(&dir, 320) else {
        return;
    };
    let data = disk.dir.join("data");
    let log = kill_9_mid_minute(&dir, &data);
    assert!(!log.contains("cannot share blocks"), "{log}");
    // Every finished minute is the shared layout: a sample-table chunk per frame (the chunk
    // records' headers lie between them), not the packed one of a copy.
    for f in minutes(&data.join("k")) {
        let t = pinvr::mp4::parse(&f).unwrap().track;
        assert!(
            t.chunks.len() * 2 > t.samples.len(),
            "{}: {} runs for {} frames: copied, not shared",
            f.display(),
            t.chunks.len(),
            t.samples.len()
        );
    }
}

/// Records camera `k` under `data`, kills pinvr -9 mid-minute and restarts it; checks that
/// all but the last second before the kill was kept and the restart merged into the
/// minute. Returns pinvr's log.
fn kill_9_mid_minute(dir: &Path, data: &Path) -> String {
    let cam = FakeCamera::start(&camera_clip(), None);
    let config = json!({
        "data_dir": data,
        "cameras": [ { "id": "k", "url": cam.url() } ]
    });
    let mut p = Pinvr::start(dir, &config);
    p.wait_log("camera k: recording", 0, Duration::from_secs(30));
    // Kill between 20 and 45 s into a minute, after at least 12 s of recording.
    let since = Instant::now();
    common::wait_until("a mid-minute moment", Duration::from_secs(80), || {
        let s = common::now_s() % 60.0;
        since.elapsed() > Duration::from_secs(12) && (20.0..45.0).contains(&s)
    });
    let killed = common::now_s();
    p.kill9();
    let minute = (killed / 60.0).floor() as i64;
    let (day, hhmm) = pinvr::time::minute_name(minute);
    let stem = data.join("k").join(&day).join(format!("k.{day}.{hhmm}"));
    assert!(stem.with_extension(format!("{hhmm}.chunk")).exists());

    // Restart: the leftover chunk is finished first, then recording continues into the
    // same minute, merging with what was recovered.
    let skip = p.log_text().len();
    p.restart();
    p.wait_log("recovered", skip, Duration::from_secs(30));
    p.wait_log("camera k: recording", skip, Duration::from_secs(30));
    std::thread::sleep(Duration::from_secs(3));
    assert!(p.terminate(Duration::from_secs(30)));

    let files = assert_minutes_clean(&data.join("k"));
    let mp4 = stem.with_extension(format!("{hhmm}.mp4"));
    assert!(files.contains(&mp4), "{files:?}");
    let t = timeline(&mp4);
    let before_kill = t
        .iter()
        .copied()
        .filter(|&x| x <= killed)
        .fold(0.0, f64::max);
    assert!(
        before_kill >= killed - 1.1,
        "last frame kept is {:.2} s before the kill",
        killed - before_kill
    );
    assert!(
        t.iter().any(|&x| x > killed),
        "the restart was not merged into the minute"
    );
    p.log_text()
}

#[test]
fn config_edits_restart_only_the_cameras_they_touch() {
    let dir = scratch("reload");
    let clip = camera_clip();
    let (x, y) = (
        FakeCamera::start(&clip, None),
        FakeCamera::start(&clip, None),
    );
    let mut config = json!({
        "data_dir": dir.join("data"),
        "cameras": [ { "id": "x", "url": x.url() } ]
    });
    let mut p = Pinvr::start(&dir, &config);
    p.wait_log("camera x: recording", 0, Duration::from_secs(30));

    // An invalid edit is refused and the running settings kept.
    let skip = p.log_text().len();
    std::fs::write(
        &p.config,
        r#"{"cameras":[{"id":"Bad Id","url":"rtsp://h/"}]}"#,
    )
    .unwrap();
    p.wait_log(
        "invalid, keeping the running settings",
        skip,
        Duration::from_secs(10),
    );
    p.wait_log("cameras[0].id", skip, Duration::from_secs(1));

    // Adding a camera starts it and leaves the other one alone.
    config["cameras"]
        .as_array_mut()
        .unwrap()
        .push(json!({ "id": "y", "url": y.url() }));
    let tmp = dir.join("pinvr.json.new");
    std::fs::write(&tmp, serde_json::to_string(&config).unwrap()).unwrap();
    std::fs::rename(&tmp, &p.config).unwrap();
    p.wait_log("camera y: recording", skip, Duration::from_secs(30));
    assert!(!p.log_text()[skip..].contains("camera x: stopped"));

    // Changing a camera's settings restarts just that camera.
    config["cameras"][1]["transport"] = json!("tcp");
    config["cameras"][1]["username"] = json!("someone");
    let skip = p.log_text().len();
    std::fs::write(&tmp, serde_json::to_string(&config).unwrap()).unwrap();
    std::fs::rename(&tmp, &p.config).unwrap();
    p.wait_log("camera y: stopped", skip, Duration::from_secs(15));
    p.wait_log("camera y: recording", skip, Duration::from_secs(30));
    assert!(!p.log_text()[skip..].contains("camera x: stopped"));
    assert!(p.terminate(Duration::from_secs(30)));
}

#[test]
fn a_minute_recovered_after_a_crash_is_listed_at_once() {
    let dir = scratch("crash-later");
    let data = dir.join("data");
    let cam = FakeCamera::start(&camera_clip(), None);
    let config = json!({
        "data_dir": data,
        "cameras": [ { "id": "r", "url": cam.url() } ]
    });
    let mut p = Pinvr::start(&dir, &config);
    p.wait_log("camera r: recording", 0, Duration::from_secs(30));
    // Crash late in a minute, after a few seconds of it are recorded...
    let since = Instant::now();
    common::wait_until("a late moment of a minute", Duration::from_secs(80), || {
        since.elapsed() > Duration::from_secs(5) && common::now_s() % 60.0 >= 50.0
    });
    let killed = common::now_s();
    p.kill9();
    let minute = (killed / 60.0).floor() as i64;
    let (day, hhmm) = pinvr::time::minute_name(minute);
    // ...and come back in the next one: the crashed minute is finished from its chunk.
    common::wait_until("the next minute", Duration::from_secs(15), || {
        (common::now_s() / 60.0).floor() as i64 > minute
    });
    let skip = p.log_text().len();
    p.restart();
    p.wait_log(
        "camera r: finished 1 leftover",
        skip,
        Duration::from_secs(30),
    );
    let b = common::http::login(p.addr, common::daemon::PASSWORD);
    let listed = b.get(&format!("/api/1/cameras/{day}?camera_ids=r")).json();
    let minutes = &listed["payload"]["cameras"]["r"]["minutes"];
    assert!(
        minutes.as_array().unwrap().contains(&json!(hhmm)),
        "{hhmm} not listed: {listed}"
    );
    let mp4 = b.get(&format!("/api/1/camera/r.preview.{day}.{hhmm}.mp4"));
    assert_eq!(mp4.status, 200);
    let out = dir.join("recovered.mp4");
    std::fs::write(&out, &mp4.body).unwrap();
    assert_eq!(decode_errors(&out), "");
}
