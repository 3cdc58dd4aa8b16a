//! Home Assistant and monitoring against real components: mosquitto as the broker (read
//! with a test subscriber), promtool as the judge of `/metrics`, a GStreamer camera that is
//! killed and restarted, pinvr killed with SIGKILL (its will), a broker that is stopped for
//! a minute, and one that refuses the password.

mod common;

use common::broker::{self, Broker, Subscriber};
use common::cameras::FakeCamera;
use common::daemon::{PASSWORD, Pinvr};
use common::http::{Browser, login, request};
use common::{Clip, scratch};
use serde_json::{Value, json};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// Polls `cond` every 100 ms until it holds, or fails after `secs` with `what`.
fn wait_until(secs: u64, what: &str, mut cond: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(secs);
    while !cond() {
        assert!(Instant::now() < deadline, "{what}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// Skips (returns true) when mosquitto is missing.
fn no_broker(test: &str) -> bool {
    if broker::available() {
        return false;
    }
    common::skip(
        test,
        "mosquitto is not installed (scripts/deps installs it)",
    );
    true
}

fn config(dir: &std::path::Path, cam: &FakeCamera, mqtt: Value) -> Value {
    json!({
        "data_dir": dir.join("data"),
        "retry": { "gap_timeout_s": 3, "retry_delay_s": 1, "retry_max_delay_s": 2 },
        "cameras": [{ "id": "cam", "url": cam.url() }],
        "mqtt": mqtt,
    })
}

/// `/metrics` judged by promtool (Prometheus's own linter); returns the text.
fn check_metrics(b: &Browser) -> String {
    let r = b.get("/metrics");
    assert_eq!(r.status, 200, "{}", r.text());
    assert!(
        r.h("content-type")
            .unwrap()
            .starts_with("text/plain; version=0.0.4")
    );
    let text = r.text();
    if Command::new("promtool").arg("--version").output().is_ok() {
        let mut child = Command::new("promtool")
            .args(["check", "metrics"])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        use std::io::Write;
        child
            .stdin
            .take()
            .unwrap()
            .write_all(text.as_bytes())
            .unwrap();
        let out = child.wait_with_output().unwrap();
        assert!(
            out.status.success(),
            "promtool: {}{}\n{text}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    } else {
        common::skip(
            "promtool check metrics",
            "promtool is not installed (scripts/deps installs prometheus)",
        );
    }
    text
}

/// The value of the sample `series` (name and labels as written) in metrics `text`.
fn sample(text: &str, series: &str) -> Option<f64> {
    text.lines()
        .find_map(|l| l.strip_prefix(series)?.strip_prefix(' ')?.parse().ok())
}

#[test]
fn home_assistant_sees_cameras_states_snapshots_tags_and_the_will() {
    if no_broker("mqtt") {
        return;
    }
    let dir = scratch("mqtt-ha");
    let broker = Broker::start(&dir, None);
    let sub = Subscriber::start(broker.port);
    let mut cam = FakeCamera::start(&Clip::small(10).mp4(), None);
    let mut p = Pinvr::start(&dir, &config(&dir, &cam, json!({ "url": broker.url() })));
    sub.wait("pinvr/available", 20, |m| {
        m.text() == "online" && m.retain || m.text() == "online"
    });
    sub.wait("pinvr/cam/state", 30, |m| m.text() == "recording");

    // Discovery: valid JSON with what Home Assistant requires, one device.
    let configs: Vec<(String, Value)> = sub
        .seen
        .lock()
        .unwrap()
        .iter()
        .filter(|m| m.topic.starts_with("homeassistant/"))
        .map(|m| (m.topic.clone(), serde_json::from_slice(&m.payload).unwrap()))
        .collect();
    let kinds: Vec<&str> = configs
        .iter()
        .map(|(t, _)| t.split('/').nth(1).unwrap())
        .collect();
    for k in ["camera", "binary_sensor", "sensor"] {
        assert!(kinds.contains(&k), "no {k} config: {kinds:?}");
    }
    let device = &configs[0].1["device"]["identifiers"];
    for (t, v) in &configs {
        for f in ["name", "unique_id", "device"] {
            assert!(v.get(f).is_some(), "{t} lacks {f}: {v}");
        }
        assert!(
            v.get("state_topic").or(v.get("topic")).is_some(),
            "{t}: {v}"
        );
        assert_eq!(&v["device"]["identifiers"], device, "{t}: another device");
    }
    let camera = configs
        .iter()
        .find(|(t, _)| t.contains("/camera/"))
        .unwrap();
    assert_eq!(camera.1["topic"], "pinvr/cam/snapshot");
    let disk = sub.wait("pinvr/disk_free_bytes", 10, |_| true);
    assert!(disk.text().parse::<u64>().unwrap() > 0);
    sub.wait("pinvr/clock", 10, |m| {
        ["synchronized", "unsynchronized", "unknown"].contains(&m.text().as_str())
    });

    // /metrics and /healthz while all is well.
    let b = login(p.addr, PASSWORD);
    let text = check_metrics(&b);
    assert_eq!(
        sample(&text, "pinvr_camera_up{camera=\"cam\"}"),
        Some(1.0),
        "{text}"
    );
    assert_eq!(sample(&text, "pinvr_mqtt_connected"), Some(1.0), "{text}");
    assert!(sample(&text, "pinvr_camera_frames_total{camera=\"cam\"}").unwrap() > 0.0);
    assert!(sample(&text, "pinvr_camera_last_frame_age_seconds{camera=\"cam\"}").unwrap() < 3.0);
    for series in [
        "pinvr_disk_free_bytes{",
        "pinvr_web_requests_total ",
        "pinvr_live_skipped_frames_total{",
        "pinvr_reaper_deletions_total ",
    ] {
        assert!(text.contains(series), "{series} missing:\n{text}");
    }
    assert_eq!(common::http::get(p.addr, "/healthz").status, 200);
    assert_eq!(
        common::http::get(p.addr, "/metrics").status,
        401,
        "metrics need a session or token"
    );

    // A tag added in the UI is a change message.
    let tag = json!({ "camera": "cam", "start": "2026-11-23T09:12:44Z", "end": null, "label": "van", "note": "" });
    let r = request(
        p.addr,
        "POST",
        "/api/1/tags",
        &[
            ("Cookie", &b.cookie),
            ("X-CSRF-Token", &b.csrf),
            ("Content-Type", "application/json"),
        ],
        tag.to_string().as_bytes(),
    );
    assert_eq!(r.status, 201, "{}", r.text());
    let change = sub.wait("pinvr/cam/change", 10, |_| true);
    let v: Value = serde_json::from_slice(&change.payload).unwrap();
    assert_eq!(v["label"], "van");
    assert!(!change.retain);

    // A snapshot each time a minute closes, once a minute: two seen arriving, 50 to 70 s
    // apart (a minute closes at the first key frame past its end), each a JPEG of the
    // camera's size.
    let snapshots = || {
        let seen = sub.seen.lock().unwrap();
        seen.iter()
            .filter(|m| m.topic == "pinvr/cam/snapshot" && !m.payload.is_empty())
            .cloned()
            .collect::<Vec<_>>()
    };
    let n0 = snapshots().len();
    let mut arrived = Vec::new();
    for n in [n0 + 1, n0 + 2] {
        wait_until(130, "no snapshot a minute", || snapshots().len() >= n);
        arrived.push(Instant::now());
    }
    let apart = (arrived[1] - arrived[0]).as_secs_f64();
    eprintln!("snapshots {apart:.1} s apart");
    assert!(
        (50.0..=70.0).contains(&apart),
        "snapshots {apart:.1} s apart"
    );
    for (i, snap) in snapshots().iter().enumerate() {
        assert!(snap.payload.starts_with(&[0xff, 0xd8]) && snap.payload.ends_with(&[0xff, 0xd9]));
        let jpg = dir.join(format!("snapshot-{i}.jpg"));
        std::fs::write(&jpg, &snap.payload).unwrap();
        assert_eq!(common::image_size(&jpg), (320, 240));
    }

    // The camera dies: retrying within the gap timeout, /healthz 503 (naming it only to a
    // session), and back when it returns.
    cam.stop();
    let t = Instant::now();
    sub.wait("pinvr/cam/state", 10, |m| m.text() == "retrying");
    let flipped = t.elapsed().as_secs_f64();
    eprintln!("state retrying {flipped:.1} s after the camera died");
    // The gap timeout is 3 s from the last frame, which came at most a frame before the
    // camera stopped; 2 s more for the broker and a loaded machine.
    assert!(
        flipped < 3.0 + 2.0,
        "state retrying only {flipped:.1} s after the camera died"
    );
    wait_until(10, "healthz stayed 200 with a dead camera", || {
        common::http::get(p.addr, "/healthz").status == 503
    });
    let anon = common::http::get(p.addr, "/healthz").text();
    assert!(
        anon.contains("1 camera(s) not recording") && !anon.contains("cam:"),
        "{anon}"
    );
    let detail = b.get("/healthz").text();
    assert!(detail.contains("camera cam: no frame for"), "{detail}");
    cam.restart();
    sub.wait("pinvr/cam/state", 30, |m| m.text() == "recording");
    wait_until(10, "healthz did not come back", || {
        common::http::get(p.addr, "/healthz").status == 200
    });

    // SIGKILL: the broker publishes the will.
    p.kill9();
    sub.wait("pinvr/available", 10, |m| m.text() == "offline");
}

#[test]
fn a_broker_that_was_down_for_a_minute_gets_everything_again() {
    if no_broker("mqtt restart") {
        return;
    }
    let dir = scratch("mqtt-restart");
    let mut broker = Broker::start(&dir, None);
    let cam = FakeCamera::start(&Clip::small(10).mp4(), None);
    let p = Pinvr::start(
        &dir,
        &config(
            &dir,
            &cam,
            json!({ "url": broker.url(), "prefix": "site1/nvr" }),
        ),
    );
    {
        let sub = Subscriber::start(broker.port);
        sub.wait("site1/nvr/cam/state", 30, |m| m.text() == "recording");
    }
    let b = login(p.addr, PASSWORD);
    let frames = |b: &Browser| {
        b.get("/api/1/system.json").json()["payload"]["cameras"]["cam"]["frames"]
            .as_u64()
            .unwrap()
    };
    broker.stop();
    let before = frames(&b);
    wait_until(
        15,
        "the status page does not say the broker is gone",
        || {
            b.get("/status")
                .text()
                .contains("cannot reach the broker at 127.0.0.1")
        },
    );
    let text = check_metrics(&b);
    assert_eq!(sample(&text, "pinvr_mqtt_connected"), Some(0.0));
    std::thread::sleep(Duration::from_secs(60));
    // Recording went on at full rate (10 fps) while the broker was down.
    let during = frames(&b) - before;
    assert!(during > 550, "{during} frames in 60 s without a broker");
    assert_eq!(
        b.get("/api/1/cameras.json").json()["payload"]["cameras"][0]["state"],
        "recording"
    );
    // A restarted broker without persistence: everything is published again, retained.
    broker.restart();
    let t = Instant::now();
    let sub = Subscriber::start(broker.port);
    wait_until(75, "nothing was published again", || {
        sub.last("site1/nvr/cam/state").is_some()
    });
    eprintln!(
        "republished {:.1} s after the broker came back",
        t.elapsed().as_secs_f64()
    );
    let state = sub.wait("site1/nvr/cam/state", 5, |m| m.text() == "recording");
    let _ = state;
    sub.wait("site1/nvr/available", 5, |m| m.text() == "online");
    wait_until(5, "discovery not published again", || {
        sub.seen
            .lock()
            .unwrap()
            .iter()
            .any(|m| m.topic == "homeassistant/binary_sensor/pinvr_site1_nvr/cam_recording/config")
    });
    // Later subscribers get it as retained messages.
    let late = Subscriber::start(broker.port);
    let m = late.wait("site1/nvr/cam/state", 5, |m| m.text() == "recording");
    assert!(m.retain);
}

#[test]
fn a_broker_that_refuses_the_password_is_said_clearly_and_changes_nothing() {
    if no_broker("mqtt auth") {
        return;
    }
    let dir = scratch("mqtt-auth");
    let broker = Broker::start(&dir, Some(("nvr", "right-password")));
    let cam = FakeCamera::start(&Clip::small(10).mp4(), None);
    let p = Pinvr::start(
        &dir,
        &config(
            &dir,
            &cam,
            json!({ "url": broker.url(), "username": "nvr", "password": "wrong-password-xyz" }),
        ),
    );
    let b = login(p.addr, PASSWORD);
    wait_until(20, "the status page does not say why", || {
        b.get("/status")
            .text()
            .contains("refused the user name or password")
    });
    let page = b.get("/status").text();
    assert!(!page.contains("wrong-password-xyz"));
    let text = check_metrics(&b);
    assert_eq!(sample(&text, "pinvr_mqtt_connected"), Some(0.0));
    wait_until(30, "the camera is not recording", || {
        b.get("/api/1/cameras.json").json()["payload"]["cameras"][0]["state"] == "recording"
    });
    // The config page neither shows the password nor loses it on save.
    let form = b.get("/config").text();
    assert!(!form.contains("wrong-password-xyz") && form.contains("mqtt.url"));
    let log = p.log_text();
    assert!(!log.contains("wrong-password-xyz"));
    assert_eq!(
        log.matches("refused the user name or password").count(),
        1,
        "logged once per outage:\n{log}"
    );
}
