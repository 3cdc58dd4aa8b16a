//! Authentication and secrets attacked the way a hostile client on the LAN would, against
//! the real binary on 127.0.0.1: password guessing, a fresh appliance, a camera-password
//! harvest, secrets in config typos, missing and unreadable configs, symbolic links among
//! the recordings, a foreign Host. (The server's limits: tests/attack_limits.rs.)

mod common;

use common::daemon::{PASSWORD, Pinvr};
use common::http::{csrf_of, form, get, login, request, set_cookie};
use common::scratch;
use serde_json::json;
use std::io::{Read, Write};
use std::net::TcpListener;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

#[test]
fn password_guessing_is_slowed_and_logged_a_few_times() {
    let dir = scratch("attack-guess");
    let p = Pinvr::start(&dir, &json!({ "data_dir": dir.join("data") }));
    let page = get(p.addr, "/login");
    let cookie = set_cookie(&page);
    let csrf = csrf_of(&page.text());
    let try_login = |password: &str| {
        request(
            p.addr,
            "POST",
            "/login",
            &[
                ("Cookie", &cookie),
                ("Content-Type", "application/x-www-form-urlencoded"),
            ],
            &form(&[("csrf", &csrf), ("password", password)]),
        )
    };
    let skip = p.log_text().len();
    let mut codes = std::collections::BTreeMap::new();
    let mut retry_after = 0u64;
    for i in 0..200 {
        let r = try_login(&format!("guess {i}"));
        *codes.entry(r.status).or_insert(0) += 1;
        if r.status == 429 {
            retry_after = r.h("retry-after").unwrap().parse().unwrap();
        }
    }
    assert!(codes.get(&403).is_some_and(|n| *n >= 5), "{codes:?}");
    assert!(codes.get(&429).is_some_and(|n| *n >= 150), "{codes:?}");
    assert!(retry_after > 0 && retry_after <= 30, "{retry_after}");
    // The right password works once the wait is over.
    assert_eq!(try_login(PASSWORD).status, 429);
    let deadline = Instant::now() + Duration::from_secs(40);
    let ok = loop {
        let r = try_login(PASSWORD);
        if r.status == 303 {
            break r;
        }
        assert_eq!(r.status, 429, "{}", r.text());
        assert!(Instant::now() < deadline, "still refused");
        let wait: u64 = r.h("retry-after").unwrap().parse().unwrap();
        std::thread::sleep(Duration::from_secs(wait.min(30)));
    };
    assert!(set_cookie(&ok).starts_with("pinvr_session="));
    let log = &p.log_text()[skip..];
    let lines = log.lines().filter(|l| l.contains("from 127.0.0.1")).count();
    assert!((1..=5).contains(&lines), "{lines} lines:\n{log}");
    assert!(!log.contains("guess 1"), "a password reached the log");
}

#[test]
fn a_fresh_appliance_is_closed_until_its_password_is_set() {
    let dir = scratch("attack-fresh");
    std::fs::create_dir_all(dir.join("data/x/20261123")).unwrap();
    std::fs::write(dir.join("data/x/20261123/x.20261123.1400.jpg"), b"jpeg").unwrap();
    let config = json!({
        "data_dir": dir.join("data"),
        "web": { "admin_password": null },
        "cameras": [ { "id": "x", "url": "rtsp://127.0.0.1:9/x" } ],
    });
    let p = Pinvr::start(&dir, &config);
    let a = p.addr;
    for path in ["/", "/camera/x", "/status", "/config", "/archives"] {
        let r = get(a, path);
        assert_eq!((r.status, r.h("location")), (303, Some("/setup")), "{path}");
    }
    for path in [
        "/api/1/cameras.json",
        "/api/1/system.json",
        "/api/1/camera/x.preview.20261123.1400.jpg",
    ] {
        let r = get(a, path);
        assert_eq!(r.status, 401, "{path}");
        assert!(r.text().contains("/setup"), "{path}: {}", r.text());
    }
    let r = request(a, "POST", "/config", &[], &form(&[("cam.0.orig", "")]));
    assert_eq!(r.status, 401);
    // The first visitor sets the password.
    let page = get(a, "/setup");
    assert_eq!(page.status, 200);
    let anon = set_cookie(&page);
    let post = |fields: &[(&str, &str)]| {
        request(
            a,
            "POST",
            "/setup",
            &[
                ("Cookie", &anon),
                ("Content-Type", "application/x-www-form-urlencoded"),
            ],
            &form(fields),
        )
    };
    let csrf = csrf_of(&page.text());
    let short = post(&[("csrf", &csrf), ("password", "short"), ("confirm", "short")]);
    assert_eq!(short.status, 400);
    assert!(short.text().contains("at least 8"));
    let set = post(&[
        ("csrf", &csrf),
        ("password", PASSWORD),
        ("confirm", PASSWORD),
    ]);
    assert_eq!(set.status, 303, "{}", set.text());
    let session = set_cookie(&set);
    assert_ne!(session, anon);
    let saved = std::fs::read_to_string(&p.config).unwrap();
    assert!(
        saved.contains("$argon2id$") && !saved.contains(PASSWORD),
        "{saved}"
    );
    // Now setup is closed, and everything wants the session or a token.
    assert_eq!(get(a, "/setup").h("location"), Some("/login"));
    let again = post(&[("csrf", &csrf), ("password", "x"), ("confirm", "x")]);
    assert!(
        again.status == 403 || again.status == 303,
        "{}",
        again.status
    );
    let b = login(a, PASSWORD);
    for path in [
        "/",
        "/camera/x",
        "/api/1/cameras.json",
        "/api/1/camera/x.preview.20261123.1400.jpg",
    ] {
        assert_eq!(b.get(path).status, 200, "{path}");
        let r = get(a, path);
        assert!(
            r.status == 401 || r.h("location").is_some_and(|l| l.starts_with("/login")),
            "{path}"
        );
    }
    let made = b.post("/tokens", &[("name", "script")]);
    assert_eq!(made.status, 200);
    let token = common::between(&made.text(), "<code class=\"token\">", "</code>");
    assert!(token.starts_with("pinvr_"));
    let bearer = format!("Bearer {token}");
    let r = request(
        a,
        "GET",
        "/api/1/cameras.json",
        &[("Authorization", &bearer)],
        b"",
    );
    assert_eq!(r.status, 200);
    let r = request(
        a,
        "GET",
        "/api/1/cameras.json",
        &[("Authorization", "Bearer pinvr_nope")],
        b"",
    );
    assert_eq!(r.status, 401);
    let listed = b.get("/config").text();
    assert!(
        listed.contains("script") && !listed.contains(&token),
        "a token was shown twice"
    );
    // A logged-out visitor posting a form gets nothing done.
    let r = request(
        a,
        "POST",
        "/config",
        &[("Content-Type", "application/x-www-form-urlencoded")],
        &form(&[("csrf", "x")]),
    );
    assert_eq!(r.status, 401);
    let tokens = std::fs::read_to_string(dir.join("pinvr.tokens.json")).unwrap();
    assert!(!tokens.contains(&token[6..]));
    for f in ["pinvr.json", "pinvr.json.bak", "pinvr.tokens.json"] {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(dir.join(f)).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600, "{f}");
    }
}

/// A server that asks every client for Basic credentials and keeps what it is sent.
fn harvester() -> (u16, Arc<Mutex<Vec<u8>>>) {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = l.local_addr().unwrap().port();
    let seen = Arc::new(Mutex::new(Vec::new()));
    let s2 = seen.clone();
    std::thread::spawn(move || {
        for c in l.incoming().flatten() {
            let seen = s2.clone();
            std::thread::spawn(move || {
                let mut c = c;
                let mut buf = [0u8; 4096];
                while let Ok(n) = c.read(&mut buf) {
                    if n == 0 {
                        break;
                    }
                    seen.lock().unwrap().extend_from_slice(&buf[..n]);
                    let cseq = String::from_utf8_lossy(&buf[..n])
                        .lines()
                        .find_map(|l| l.strip_prefix("CSeq:").map(|v| v.trim().to_owned()))
                        .unwrap_or_else(|| "1".into());
                    let _ = write!(
                        c,
                        "RTSP/1.0 401 Unauthorized\r\nCSeq: {cseq}\r\nWWW-Authenticate: Basic realm=\"cam\"\r\n\r\n"
                    );
                }
            });
        }
    });
    (port, seen)
}

#[test]
fn a_changed_camera_address_never_gets_the_old_password() {
    let dir = scratch("attack-harvest");
    let (port, seen) = harvester();
    let config = json!({
        "data_dir": dir.join("data"),
        "cameras": [ { "id": "door", "url": "rtsp://127.0.0.1:9/live", "username": "admin", "password": "old-cam-secret" } ],
    });
    let p = Pinvr::start(&dir, &config);
    let b = login(p.addr, PASSWORD);
    let before = std::fs::read_to_string(&p.config).unwrap();
    let evil = format!("rtsp://127.0.0.1:{port}/live");
    let fields = |password: &'static str| {
        [
            ("cam.0.orig", "door"),
            ("cam.0.id", "door"),
            ("cam.0.url", evil.as_str()),
            ("cam.0.username", "admin"),
            ("cam.0.password", password),
            ("cam.0.enabled", "on"),
        ]
    };
    let r = b.post("/config", &fields(""));
    assert_eq!(r.status, 400);
    assert!(r.text().contains("the address changed"), "{}", r.text());
    assert!(!r.text().contains("old-cam-secret"));
    assert_eq!(std::fs::read_to_string(&p.config).unwrap(), before);
    // With a new password typed, the camera is tried there with that one only.
    assert_eq!(b.post("/config", &fields("new-cam-secret")).status, 303);
    common::wait_until(
        "pinvr tries the new address",
        Duration::from_secs(30),
        || String::from_utf8_lossy(&seen.lock().unwrap()).contains("Authorization"),
    );
    let got = String::from_utf8_lossy(&seen.lock().unwrap()).into_owned();
    assert!(got.contains(&base64("admin:new-cam-secret")), "{got}");
    assert!(!got.contains(&base64("admin:old-cam-secret")) && !got.contains("old-cam-secret"));
}

/// Base64 (RFC 4648), to recognise Basic credentials.
fn base64(s: &str) -> String {
    {
        const T: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
        let b = s.as_bytes();
        let mut out = String::new();
        for c in b.chunks(3) {
            let n = (u32::from(c[0]) << 16)
                | (u32::from(*c.get(1).unwrap_or(&0)) << 8)
                | u32::from(*c.get(2).unwrap_or(&0));
            for i in 0..4 {
                if i <= c.len() {
                    out.push(T[(n >> (18 - 6 * i) & 63) as usize] as char);
                } else {
                    out.push('=');
                }
            }
        }
        out
    }
}

#[test]
fn config_typos_never_show_a_secret() {
    for (name, cameras) in [
        (
            "typo-number",
            json!([{ "id": "a", "url": "rtsp://127.0.0.1:9/a", "password": 87654321 }]),
        ),
        (
            "typo-url",
            json!([{ "id": "a", "url": "rtsp://admin:87654321@bad host/a" }]),
        ),
    ] {
        let dir = scratch(&format!("attack-{name}"));
        let config = common::daemon::with_defaults(
            &json!({ "data_dir": dir.join("data"), "web": { "listen": "127.0.0.1:0" }, "cameras": cameras }),
        );
        std::fs::write(dir.join("pinvr.json"), config.to_string()).unwrap();
        let mut p = Pinvr::on_file(&dir, &dir.join("pinvr.json"), &[], &[]);
        // Without --listen: the address must come from the file's readable web section.
        p.kill9();
        p.args.clear();
        p.restart();
        assert_eq!(
            p.addr.ip().to_string(),
            "127.0.0.1",
            "the configured address is kept"
        );
        let b = login(p.addr, PASSWORD);
        let sys = b.get("/api/1/system.json");
        assert_eq!(sys.json()["payload"]["status"], "error", "{}", sys.text());
        for path in [
            "/",
            "/status",
            "/config",
            "/api/1/system.json",
            "/api/1/cameras.json",
        ] {
            let text = b.get(path).text();
            assert!(
                !text.contains("87654321"),
                "{name}: {path} shows the secret:\n{text}"
            );
        }
        p.wait_log("cameras[0]", 0, Duration::from_secs(5));
        assert!(
            !p.log_text().contains("87654321"),
            "{name}: {}",
            p.log_text()
        );
    }
}

#[test]
fn missing_or_unreadable_configs_are_reported() {
    // No file at all: a fresh appliance. The setup page says so, and setting the password
    // writes the file.
    let dir = scratch("attack-missing");
    let path = dir.join("pinvr.json");
    let p = Pinvr::on_file(&dir, &path, &[], &[]);
    p.wait_log("No such file", 0, Duration::from_secs(5));
    let setup = get(p.addr, "/setup");
    assert!(setup.text().contains("No such file"), "{}", setup.text());
    let anon = set_cookie(&setup);
    let set = request(
        p.addr,
        "POST",
        "/setup",
        &[
            ("Cookie", &anon),
            ("Content-Type", "application/x-www-form-urlencoded"),
        ],
        &form(&[
            ("csrf", &csrf_of(&setup.text())),
            ("password", PASSWORD),
            ("confirm", PASSWORD),
        ]),
    );
    assert_eq!(set.status, 303, "{}", set.text());
    assert!(
        std::fs::read_to_string(&path)
            .unwrap()
            .contains("$argon2id$")
    );
    let b = login(p.addr, PASSWORD);
    common::wait_until("the new file is in force", Duration::from_secs(5), || {
        b.get("/api/1/system.json").json()["payload"]["status"] == "running"
    });
    // A file that cannot be read (a folder in its place): reported once, and nobody can
    // set a password over the web, since the real one is not known.
    let dir = scratch("attack-unreadable");
    let path = dir.join("pinvr.json");
    std::fs::create_dir_all(&path).unwrap();
    let p = Pinvr::on_file(&dir, &path, &[], &[]);
    p.wait_log("Is a directory", 0, Duration::from_secs(5));
    assert_eq!(get(p.addr, "/setup").h("location"), Some("/login"));
    assert!(get(p.addr, "/login").text().contains("cannot be read"));
    assert_eq!(get(p.addr, "/api/1/system.json").status, 401);
    std::thread::sleep(Duration::from_secs(2));
    let n = p
        .log_text()
        .lines()
        .filter(|l| l.contains("Is a directory"))
        .count();
    assert_eq!(n, 1, "{}", p.log_text());
}

#[test]
fn symbolic_links_among_recordings_are_neither_served_nor_reaped() {
    let dir = scratch("attack-links");
    let data = dir.join("data");
    let clip = common::Clip::small(2).mp4();
    let now = pinvr::time::minute_of(pinvr::time::now_micros());
    let (m1, m2) = (now - 100, now - 99);
    let make = |m: i64| common::write_minute(&data, "cam", m, &clip, 0);
    let real = make(m1);
    // Elsewhere: a file the links point at, which must survive.
    let outside = dir.join("outside");
    std::fs::create_dir_all(&outside).unwrap();
    let precious = outside.join("precious.mp4");
    std::fs::copy(&real, &precious).unwrap();
    // A minute file that is a link.
    let linked =
        pinvr::layout::minute_path(&data.join("cam"), "cam", m2, pinvr::layout::FileKind::Mp4);
    std::fs::create_dir_all(linked.parent().unwrap()).unwrap();
    std::os::unix::fs::symlink(&precious, &linked).unwrap();
    // A day folder that is a link to a folder holding a minute.
    let day = "20000101";
    let other_day = outside.join(day);
    std::fs::create_dir_all(&other_day).unwrap();
    std::fs::copy(&real, other_day.join("cam.20000101.0000.mp4")).unwrap();
    std::os::unix::fs::symlink(&other_day, data.join("cam").join(day)).unwrap();
    let p = Pinvr::start(
        &dir,
        &json!({
            "data_dir": data,
            "reaper": { "min_free_bytes": u64::MAX / 4, "min_free_percent": 0, "interval_s": 1 },
            "cameras": [ { "id": "cam", "url": "rtsp://127.0.0.1:9/x", "enabled": false } ],
        }),
    );
    let b = login(p.addr, PASSWORD);
    let label = |m: i64| pinvr::fmt::minute_label(m);
    assert_eq!(
        b.get(&format!("/api/1/camera/cam.preview.{}.mp4", label(m2)))
            .status,
        404
    );
    assert_eq!(
        b.get("/api/1/camera/cam.preview.20000101.0000.mp4").status,
        404
    );
    let range = b.get(&format!(
        "/api/1/camera/cam.range.{}.to.{}.mp4",
        label(m2),
        label(m2)
    ));
    assert_eq!(range.status, 404);
    // The reaper wants everything gone: it deletes the real minute and nothing behind a link.
    common::wait_until("the reaper runs", Duration::from_secs(20), || {
        !real.exists()
    });
    p.wait_log("reaper", 0, Duration::from_secs(5));
    assert!(precious.exists() && other_day.join("cam.20000101.0000.mp4").exists());
    assert!(
        std::fs::symlink_metadata(&linked).is_ok(),
        "the link itself is left alone"
    );
}

#[test]
fn foreign_host_names_are_refused_and_pages_carry_security_headers() {
    let dir = scratch("attack-host");
    let p = Pinvr::start(
        &dir,
        &json!({ "data_dir": dir.join("data"), "web": { "hosts": ["nvr.example.net"] } }),
    );
    let b = login(p.addr, PASSWORD);
    for (host, ok) in [
        ("evil.example", false),
        ("127.0.0.1", true),
        ("localhost:8080", true),
        ("[::1]:8080", true),
        ("nvr.example.net", true),
        ("NVR.example.net:80", true),
        ("nvr.example.net.evil.example", false),
    ] {
        let r = b.request("GET", "/", &[("Host", host)]);
        assert_eq!(r.status == 200, ok, "{host}: {} {}", r.status, r.text());
    }
    let r = b.get("/");
    assert_eq!(r.h("x-content-type-options"), Some("nosniff"));
    assert_eq!(r.h("x-frame-options"), Some("DENY"));
    assert!(
        r.h("content-security-policy")
            .unwrap()
            .contains("frame-ancestors 'none'")
    );
    assert!(r.h("referrer-policy").is_some());
}
