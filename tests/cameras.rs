//! Real cameras' streams from GStreamer's RTSP server (tests/fake_camera.py): an H.265 main
//! stream with an H.264 sub stream and audio behind a password, an H.264 main with an H.264
//! sub, and a camera whose sub_url is wrong. Judged by ffprobe and ffmpeg and through the
//! API a user's browser uses.

mod common;

use common::cameras::{FakeCamera, LossRelay};
use common::daemon::{PASSWORD, Pinvr};
use common::http::login;
use common::{Clip, camera_clip, decode_errors, ffprobe, image_size, minutes, scratch};
use serde_json::json;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// Waits (up to `secs`) until `dir` holds at least `n` finished minutes; returns them.
fn wait_minutes(dir: &Path, n: usize, secs: u64, p: &Pinvr) -> Vec<PathBuf> {
    let end = Instant::now() + Duration::from_secs(secs);
    loop {
        let m = minutes(dir);
        if m.len() >= n {
            return m;
        }
        assert!(
            Instant::now() < end,
            "{}: {} of {n} minutes after {secs} s\n{}",
            dir.display(),
            m.len(),
            p.log_text()
        );
        std::thread::sleep(Duration::from_millis(500));
    }
}

/// `(codec_name, codec_tag_string, width, height)` of the video stream of `mp4`.
fn video(mp4: &Path) -> (String, String, u64, u64) {
    let v = ffprobe(mp4, &["-show_streams", "-select_streams", "v"]);
    let s = &v["streams"][0];
    (
        s["codec_name"].as_str().unwrap_or_default().to_owned(),
        s["codec_tag_string"]
            .as_str()
            .unwrap_or_default()
            .to_owned(),
        s["width"].as_u64().unwrap_or(0),
        s["height"].as_u64().unwrap_or(0),
    )
}

/// The minute label (`YYYYMMDD.HHMM`) of a minute file's name.
fn label(mp4: &Path) -> String {
    let name = mp4.file_name().unwrap().to_str().unwrap();
    let (rest, _) = name.rsplit_once(".mp4").unwrap();
    let mut parts = rest.rsplitn(3, '.');
    let (hhmm, day) = (parts.next().unwrap(), parts.next().unwrap());
    format!("{day}.{hhmm}")
}

#[test]
fn main_and_sub_streams_of_h265_and_h264_cameras_are_recorded_and_used() {
    let dir = scratch("cameras");
    let data = dir.join("data");
    let hevc = Clip::make("main", "640x360", 10, 10, 10, "h265");
    let avc = Clip::make("main", "640x360", 10, 10, 10, "h264");
    let small = Clip::make("sub", "320x180", 10, 10, 10, "h264");
    // An H.265 camera with an H.264 sub stream and audio, behind a password; an H.264 one
    // with a sub stream; one whose sub_url names a stream the camera does not have.
    let a = FakeCamera::mounts(
        &[("/main", &hevc), ("/sub", &small)],
        true,
        Some(("admin", "cam-secret")),
    );
    let b = FakeCamera::mounts(&[("/main", &avc), ("/sub", &small)], false, None);
    let c = FakeCamera::mounts(&[("/main", &avc)], false, None);
    let p = Pinvr::start(
        &dir,
        &json!({
            "data_dir": data,
            "cameras": [
                { "id": "a", "url": a.url_of("/main"), "sub_url": a.url_of("/sub"),
                  "username": "admin", "password": "cam-secret" },
                { "id": "b", "url": b.url_of("/main"), "sub_url": b.url_of("/sub") },
                { "id": "c", "url": c.url_of("/main"), "sub_url": c.url_of("/nothing") },
            ],
        }),
    );
    // Two minutes of each stream: the first partial, the second whole.
    let a_main = wait_minutes(&data.join("a"), 2, 200, &p);
    let a_sub = wait_minutes(&data.join("a/sub"), 2, 30, &p);
    let b_main = wait_minutes(&data.join("b"), 2, 30, &p);
    let b_sub = wait_minutes(&data.join("b/sub"), 2, 30, &p);
    let c_main = wait_minutes(&data.join("c"), 2, 30, &p);

    // H.265 recorded as it came: hvc1, its size, every frame decodes silently.
    for m in &a_main {
        assert_eq!(
            video(m),
            ("hevc".into(), "hvc1".into(), 640, 360),
            "{}",
            m.display()
        );
        assert_eq!(decode_errors(m), "", "{}", m.display());
        // No preview decoded from the main stream: the sub's are the camera's.
        assert!(!m.with_extension("jpg").exists(), "{}", m.display());
    }
    for m in a_sub.iter().chain(&b_sub) {
        assert_eq!(video(m).0, "h264", "{}", m.display());
        assert_eq!((video(m).2, video(m).3), (320, 180));
        assert_eq!(decode_errors(m), "");
        assert_eq!(image_size(&m.with_extension("jpg")), (320, 180));
    }
    for m in &b_main {
        assert_eq!(video(m), ("h264".into(), "avc1".into(), 640, 360));
        assert!(
            !m.with_extension("jpg").exists(),
            "the sub stream makes b's previews"
        );
    }
    // c's sub stream is wrong: its main stream makes the previews.
    for m in &c_main[1..] {
        assert_eq!(
            image_size(&m.with_extension("jpg")),
            (640, 360),
            "{}",
            m.display()
        );
    }

    let web = login(p.addr, PASSWORD);
    // The camera's stills are the sub stream's, under the camera's own URLs.
    let m = label(&a_main[1]);
    let r = web.get(&format!("/api/1/camera/a.preview.{m}.jpg"));
    assert_eq!(r.status, 200, "{}", r.text());
    let still = dir.join("a-still.jpg");
    std::fs::write(&still, &r.body).unwrap();
    assert_eq!(image_size(&still), (320, 180));

    // A range across the two minutes of the H.265 stream plays (ffmpeg) and is H.265.
    let (from, to) = (label(&a_main[0]), label(&a_main[1]));
    let d0 = from.split_once('.').unwrap().0;
    let r = web.get(&format!("/api/1/camera/a.range.{from}.to.{to}.mp4"));
    assert_eq!(r.status, 200, "{}", r.text());
    let range = dir.join("a-range.mp4");
    std::fs::write(&range, &r.body).unwrap();
    assert_eq!(video(&range).0, "hevc");
    assert_eq!(decode_errors(&range), "");
    let frames: u64 = [&a_main[0], &a_main[1]]
        .iter()
        .map(|m| common::probe(m).frames)
        .sum();
    assert_eq!(common::probe(&range).frames, frames);

    // What the UI is told: codecs, the sub streams' state, where previews come from.
    let cams = web.get("/api/1/cameras.json").json();
    let cam = |id: &str| {
        cams["payload"]["cameras"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["id"] == id)
            .unwrap()
            .clone()
    };
    let (ca, cb, cc) = (cam("a"), cam("b"), cam("c"));
    assert!(ca["codec"].as_str().unwrap().starts_with("hvc1."), "{ca}");
    assert!(
        ca["sub"]["codec"].as_str().unwrap().starts_with("avc1."),
        "{ca}"
    );
    assert_eq!(ca["sub"]["state"], "recording");
    assert_eq!(ca["previews"], "sub");
    assert_eq!(cb["previews"], "sub");
    assert_eq!(cc["previews"], "main");
    assert_eq!(cc["sub"]["state"], "retrying", "{cc}");
    assert!(
        !cc["sub"]["last_error"].as_str().unwrap_or("").is_empty(),
        "{cc}"
    );
    let spans = web
        .get(&format!("/api/1/camera/a/spans.json?date={d0}"))
        .json();
    assert!(
        spans["payload"]["spans"][0]["codec"]
            .as_str()
            .unwrap()
            .starts_with("hvc1"),
        "{spans}"
    );
    // The status page shows the sub streams, the dead one with its error.
    let status = web.get("/status").text();
    assert!(status.contains("c~sub"), "{status}");

    // Audio is ignored without a word; no secret reaches the log.
    let log = p.log_text();
    assert!(!log.contains("cam-secret"), "{log}");
    let warnings = log
        .lines()
        .filter(|l| l.contains("[WARN] camera a"))
        .count();
    assert!(warnings <= 1, "{log}");
}

#[test]
fn a_camera_test_says_which_problem_it_is_within_the_timeout() {
    let dir = scratch("camera-test");
    let clip = Clip::small(10).mp4();
    let cam = FakeCamera::start(&clip, Some(("admin", "pw")));
    let p = Pinvr::start(
        &dir,
        &json!({ "data_dir": dir.join("data"), "cameras": [] }),
    );
    let web = login(p.addr, PASSWORD);
    let test = |body: serde_json::Value| {
        let started = Instant::now();
        let r = common::http::request(
            p.addr,
            "POST",
            "/api/1/camera-test",
            &[
                ("Cookie", &web.cookie),
                ("X-CSRF-Token", &web.csrf),
                ("Content-Type", "application/json"),
            ],
            body.to_string().as_bytes(),
        );
        (r, started.elapsed())
    };
    let dead = format!("rtsp://127.0.0.1:{}/x", common::cameras::free_port());
    let path = cam.url().replace("/stream", "/nothing");
    for (url, user, want) in [
        (dead.as_str(), "admin:pw", "nothing answers"),
        (
            cam.url().as_str(),
            "admin:wrong",
            "refused the user name or password",
        ),
        (path.as_str(), "admin:pw", "no stream at that path"),
    ] {
        let (u, pw) = user.split_once(':').unwrap();
        let (r, took) = test(json!({ "url": url, "username": u, "password": pw }));
        assert_eq!(r.status, 200, "{}", r.text());
        let main = &r.json()["payload"]["main"];
        assert_eq!(main["ok"], false, "{main}");
        let e = main["error"].as_str().unwrap();
        assert!(e.contains(want), "{url}: {e}");
        assert!(
            !e.contains(&format!(":{pw}")) && !e.contains("wrong"),
            "{e}"
        );
        assert!(took < Duration::from_secs(16), "{url}: {took:?}");
    }
    // The right password, pasted in the URL: split out, and the stream described.
    let pasted = cam.url().replace("rtsp://", "rtsp://admin:pw@");
    let (r, _) = test(json!({ "url": pasted }));
    let v = r.json();
    let main = &v["payload"]["main"];
    assert_eq!(main["ok"], true, "{v}");
    assert_eq!(
        (main["codec"].as_str(), main["width"].as_u64()),
        (Some("H.264"), Some(320))
    );
    assert_eq!(v["payload"]["url"], cam.url());
    assert_eq!(v["payload"]["username"], "admin");
    assert!(
        !r.text().contains("admin:pw"),
        "the answer echoes the password"
    );
    // Without the CSRF header a page's script cannot use it.
    let r = common::http::request(
        p.addr,
        "POST",
        "/api/1/camera-test",
        &[
            ("Cookie", &web.cookie),
            ("Content-Type", "application/json"),
        ],
        json!({ "url": cam.url() }).to_string().as_bytes(),
    );
    assert_eq!(r.status, 403, "{}", r.text());
    assert!(!p.log_text().contains(":pw@"));
}

#[test]
fn lost_packets_are_counted_shown_and_said_once_per_episode() {
    let dir = scratch("camera-loss");
    // A lossy link: 5% of the video's RTP packets never arrive.
    let cam = FakeCamera::lossy(&Clip::small(10).mp4(), 0.05);
    let p = Pinvr::start(
        &dir,
        &json!({ "data_dir": dir.join("data"), "cameras": [{ "id": "lossy", "url": cam.url() }] }),
    );
    let web = login(p.addr, PASSWORD);
    let deadline = Instant::now() + Duration::from_secs(90);
    let c = loop {
        let c = web.get("/api/1/cameras.json").json()["payload"]["cameras"][0].clone();
        if c["lost_packets"].as_u64().unwrap() >= 5 {
            break c;
        }
        assert!(Instant::now() < deadline, "no loss counted in 90 s: {c}");
        std::thread::sleep(Duration::from_millis(250));
    };
    let (lost, damaged) = (
        c["lost_packets"].as_u64().unwrap(),
        c["damaged_frames"].as_u64().unwrap(),
    );
    eprintln!("lossy link: {lost} packets lost, {damaged} frames after a loss");
    assert!(damaged >= 1 && damaged <= lost, "{c}");
    // Recording goes on: the frames after a loss are kept.
    assert_eq!(c["state"], "recording", "{c}");
    let metrics = web.get("/metrics").text();
    let sample = metrics
        .lines()
        .find_map(|l| l.strip_prefix("pinvr_camera_rtp_packets_lost_total{camera=\"lossy\"} "))
        .and_then(|v| v.trim().parse::<f64>().ok())
        .unwrap_or_else(|| panic!("no loss in /metrics:\n{metrics}"));
    assert!(sample >= lost as f64, "{sample} < {lost}");
    assert!(web.get("/status").text().contains("lost packets"));
    // Said once for the whole episode, not once per loss.
    let log = p.log_text();
    assert_eq!(log.matches("RTP packet(s) lost").count(), 1, "{log}");
}

#[test]
fn a_udp_camera_behind_a_lossy_link_has_its_loss_counted() {
    // 2% of the RTP packets dropped on the way by a relay on 127.0.0.1, over UDP as the
    // camera sends them: before, 43 frames a minute were lost and neither the log nor the
    // API said anything.
    let dir = scratch("camera-udp-loss");
    let cam = FakeCamera::start(&camera_clip(), None);
    let relay = LossRelay::start(&cam, 0.02);
    let mut p = Pinvr::start(
        &dir,
        &json!({
            "data_dir": dir.join("data"),
            "cameras": [{ "id": "udp", "url": relay.url(&cam), "transport": "udp" }],
        }),
    );
    p.wait_log("camera udp: recording", 0, Duration::from_secs(30));
    let web = login(p.addr, PASSWORD);
    let deadline = Instant::now() + Duration::from_secs(90);
    loop {
        let c = web.get("/api/1/cameras.json").json()["payload"]["cameras"][0].clone();
        if c["lost_packets"].as_u64().unwrap() >= 10 {
            break;
        }
        assert!(Instant::now() < deadline, "no loss counted in 90 s: {c}");
        std::thread::sleep(Duration::from_millis(250));
    }
    // Freeze the camera, so nothing more flows, and let the count settle: then every
    // packet the relay dropped had a successor that pinvr saw, but for the last few.
    cam.pause();
    let count = || {
        web.get("/api/1/cameras.json").json()["payload"]["cameras"][0]["lost_packets"]
            .as_u64()
            .unwrap()
    };
    let mut lost = count();
    let settle = Instant::now() + Duration::from_secs(3);
    loop {
        std::thread::sleep(Duration::from_millis(500));
        let now = count();
        if now == lost || Instant::now() > settle {
            lost = now;
            break;
        }
        lost = now;
    }
    let (dropped, seen) = relay.stop();
    cam.resume();
    let log = p.log_text();
    eprintln!("udp through a 2% lossy relay: {dropped} of {seen} dropped, pinvr counted {lost}");
    assert!(dropped >= 10, "{dropped} of {seen}");
    assert!(
        lost <= dropped && lost + 3 >= dropped,
        "pinvr counted {lost} lost, the relay dropped {dropped}"
    );
    assert_eq!(log.matches("RTP packet(s) lost").count(), 1, "{log}");
    // Frames hit by a loss that retina could still assemble are counted as damaged (kept:
    // a damaged picture until the next key frame beats a hole); a frame missing a fragment
    // cannot be assembled and is gone. Recording goes on through it all: a clean stop
    // finishes the minute, and its frames run to the stop.
    let damaged = web.get("/api/1/cameras.json").json()["payload"]["cameras"][0]["damaged_frames"]
        .as_u64()
        .unwrap();
    assert!(
        damaged <= lost,
        "{damaged} damaged frames, {lost} packets lost"
    );
    assert!(p.terminate(Duration::from_secs(20)));
    // A lost packet costs at most its own frame: the frames missing from the timeline (10
    // fps) are no more than the packets lost.
    let mut times: Vec<f64> = minutes(&dir.join("data/udp"))
        .iter()
        .flat_map(|f| common::timeline(f))
        .collect();
    times.sort_by(f64::total_cmp);
    // (From the span, not frame by frame: the test camera's frames are stamped when its
    // thread sends them, a few ms late on a loaded machine, but it sends every one.)
    let span = times[times.len() - 1] - times[0];
    let missing = (span / 0.1).round() + 1.0 - times.len() as f64;
    assert!(times.len() > 50, "{} frames", times.len());
    assert!(
        missing <= lost as f64,
        "{missing} frames missing, {lost} packets lost"
    );
    eprintln!(
        "{damaged} frames kept damaged, {missing} missing, {} recorded over {span:.1} s",
        times.len()
    );
}

/// The picture sizes of `mp4`'s frames, in order, as ffprobe decodes them.
fn frame_sizes(mp4: &Path) -> Vec<String> {
    let v = ffprobe(mp4, &["-show_entries", "frame=width,height"]);
    v["frames"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| format!("{}x{}", f["width"], f["height"]))
        .collect()
}

#[test]
fn an_h265_minute_continued_after_a_restart_keeps_each_frames_description() {
    // An H.265 camera changing its picture size every 3 s; pinvr restarts inside a minute,
    // so the minute's first part is merged into the new chunk. Before, the merge gave every
    // frame the first sample description: the frames of the other size decoded wrong.
    let dir = scratch("camera-h265-merge");
    let data = dir.join("data");
    let cam = FakeCamera::live(&[
        "--codec",
        "h265",
        "--fps",
        "10",
        "--gop",
        "10",
        "--size",
        "320x180",
        "--switch-every",
        "3",
        "--switch-size",
        "256x144",
    ]);
    // Both parts inside one minute: start in its first half.
    let deadline = Instant::now() + Duration::from_secs(70);
    while pinvr::time::now_micros() / 1_000_000 % 60 > 25 {
        assert!(Instant::now() < deadline);
        std::thread::sleep(Duration::from_millis(200));
    }
    let config = json!({ "data_dir": data, "cameras": [{ "id": "cam", "url": cam.url() }] });
    let mut p = Pinvr::start(&dir, &config);
    p.wait_log("camera cam: recording", 0, Duration::from_secs(30));
    std::thread::sleep(Duration::from_secs(8));
    assert!(p.terminate(Duration::from_secs(20)));
    let files = minutes(&data.join("cam"));
    assert_eq!(files.len(), 1, "{files:?}");
    let first = dir.join("first.mp4");
    std::fs::copy(&files[0], &first).unwrap();
    let before = frame_sizes(&first);
    assert!(
        before.iter().any(|s| s == "320x180") && before.iter().any(|s| s == "256x144"),
        "the first part has one size: {before:?}"
    );
    p.restart();
    p.wait_log("continuing minute", 0, Duration::from_secs(30));
    std::thread::sleep(Duration::from_secs(8));
    assert!(p.terminate(Duration::from_secs(20)));
    let files = minutes(&data.join("cam"));
    assert_eq!(files.len(), 1, "the restart left the minute: {files:?}");
    let merged = &files[0];
    assert_eq!(decode_errors(merged), "", "{}", merged.display());
    // The first part's frames come out of the merged minute exactly as before, sizes and
    // pixels; the second part follows.
    let (a, b) = (common::frame_md5s(&first), common::frame_md5s(merged));
    assert!(
        b.len() > a.len() + 50,
        "{} frames after the merge, {} before",
        b.len(),
        a.len()
    );
    assert_eq!(
        b[..a.len()],
        a[..],
        "the merged part does not decode as it did"
    );
    assert_eq!(frame_sizes(merged)[..before.len()], before[..]);
    let v = ffprobe(merged, &["-show_streams"]);
    eprintln!(
        "h265 merge: {} frames before the restart, {} after; sample entry {}",
        a.len(),
        b.len(),
        v["streams"][0]["codec_tag_string"]
    );
}

#[test]
fn the_rtsp_source_says_idle_before_each_nap_and_a_stop_mid_nap_still_hands_over_what_came() {
    use pinvr::clock::{Clock, RealClock, Stop};
    use pinvr::source::rtsp::{RtspOpener, TCP_NAP};
    use pinvr::source::{Next, Opener};
    use std::sync::Arc;
    let cam = FakeCamera::start(&camera_clip(), None);
    let camera = pinvr::config::Camera {
        id: "t".into(),
        url: cam.url().parse().unwrap(),
        sub_url: None,
        sub_of: None,
        username: None,
        password: None,
        enabled: true,
        transport: pinvr::config::Transport::Tcp,
        dir: scratch("rtsp-nap"),
        max_age_days: None,
    };
    let clock: Arc<dyn Clock> = Arc::new(RealClock);
    let stop = Stop::default();
    let mut s = RtspOpener
        .open(&camera, Duration::from_secs(10), &clock, &stop)
        .unwrap()
        .expect("not stopped");
    // A few naps: each begins with one Idle, after the frames that had come, before any
    // wait (so the recorder writes out what it holds).
    let (mut frames, mut idles, mut said) = (0, 0, false);
    while idles < 3 {
        match s.next(Duration::from_secs(5)).unwrap() {
            Next::Frame(_) => (frames, said) = (frames + 1, false),
            Next::Idle => {
                assert!(!said, "Idle twice without a frame between");
                (idles, said) = (idles + 1, true);
            }
            other => panic!("{other:?} from a healthy camera"),
        }
    }
    assert!(frames >= 2, "{frames} frames");
    // The next call naps. A stop 0.3 s into the nap ends it at once, and the frames that
    // came meanwhile (three at 10 fps) are still handed over before Stopped.
    let stopper = stop.clone();
    let asked = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(300));
        stopper.request();
        Instant::now()
    });
    let mut came = 0;
    loop {
        match s.next(Duration::from_secs(5)).unwrap() {
            Next::Frame(_) => came += 1,
            Next::Stopped => break,
            other => panic!("{other:?} after a stop"),
        }
    }
    let late = asked.join().unwrap().elapsed();
    assert!(
        late < TCP_NAP / 3,
        "stopped {late:?} after it was asked: the nap was waited out"
    );
    assert!(
        came >= 2,
        "{came} frames of the nap handed over at the stop"
    );
}
