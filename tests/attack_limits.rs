//! The web server's limits attacked the way a hostile client on the LAN would, against the
//! real binary on 127.0.0.1: huge bodies, floods of connections, slow and stalled clients,
//! huge headers, idle connections. Recording is checked to go on through all of it.
//! (Logins, secrets and files: tests/attack_auth.rs.)

mod common;

use common::cameras::FakeCamera;
use common::daemon::{PASSWORD, Pinvr};
use common::http::{Browser, get, login};
use common::{camera_clip, scratch};
use serde_json::json;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Raises this process's open-file limit to its hard limit (floods need descriptors).
// rlim_t is u32 on 32-bit ARM, u64 elsewhere.
#[allow(clippy::useless_conversion)]
fn raise_nofile() -> u64 {
    use nix::sys::resource::{Resource, getrlimit, setrlimit};
    let (_, hard) = getrlimit(Resource::RLIMIT_NOFILE).unwrap();
    setrlimit(Resource::RLIMIT_NOFILE, hard, hard).unwrap();
    u64::from(hard)
}

/// Frames camera `id` has recorded so far (system.json).
fn frames(b: &Browser, id: &str) -> u64 {
    b.get("/api/1/system.json").json()["payload"]["cameras"][id]["frames"]
        .as_u64()
        .unwrap_or(0)
}

/// Asserts camera `id` records more frames within a few seconds (it is not held up).
fn still_recording(b: &Browser, id: &str) {
    let before = frames(b, id);
    common::wait_until(
        &format!("camera {id} records on"),
        Duration::from_secs(10),
        || frames(b, id) > before + 5,
    );
}

/// `GET path` with the session, timed; asserts 200 within `limit`.
fn quick(b: &Browser, path: &str, limit: Duration) {
    let t = Instant::now();
    let r = b.get(path);
    let took = t.elapsed();
    assert_eq!(r.status, 200, "{path}: {}", r.text());
    assert!(took < limit, "{path} took {took:?}");
}

/// A recorder with one real camera, logged in.
fn recorder(name: &str, wrapper: &[&str]) -> (FakeCamera, Pinvr, Browser) {
    let dir = scratch(name);
    let cam = FakeCamera::start(&camera_clip(), None);
    let config = json!({
        "data_dir": dir.join("data"),
        "cameras": [ { "id": "cam", "url": cam.url() } ],
    });
    let p = Pinvr::start_with(&dir, &config, &[], wrapper);
    let b = login(p.addr, PASSWORD);
    common::wait_until("the camera records", Duration::from_secs(30), || {
        frames(&b, "cam") > 0
    });
    (cam, p, b)
}

#[test]
fn a_huge_declared_body_is_refused_unread_and_recording_goes_on() {
    let (_cam, mut p, b) = recorder("attack-body", &[]);
    for path in ["/nothing", "/login", "/config"] {
        let mut s = TcpStream::connect(p.addr).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        write!(
            s,
            "POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nCookie: {}\r\n\
             Content-Type: application/x-www-form-urlencoded\r\nContent-Length: 1000000000000\r\n\r\nabc",
            b.cookie
        )
        .unwrap();
        let mut head = [0u8; 12];
        s.read_exact(&mut head).unwrap();
        let status = String::from_utf8_lossy(&head[9..12]).into_owned();
        assert_eq!(status, "413", "{path}");
    }
    assert!(p.alive());
    quick(&b, "/api/1/system.json", Duration::from_secs(1));
    still_recording(&b, "cam");
}

#[test]
fn floods_of_connections_are_refused_and_the_server_recovers() {
    let hard = raise_nofile();
    assert!(
        hard >= 8192,
        "this test needs a hard open-file limit of 8192 ({hard})"
    );
    // pinvr held at 1024 open files, as on a default system.
    let (_cam, mut p, _) = recorder("attack-flood", &["prlimit", "--nofile=1024:1024", "--"]);
    for (n, limit) in [(600, 1024), (2000, 4096)] {
        if limit != 1024 {
            // And again with a raised limit: pinvr lifts its own soft limit to the hard one.
            p.kill9();
            p.wrapper = vec![
                "prlimit".into(),
                format!("--nofile=1024:{limit}"),
                "--".into(),
            ];
            p.restart();
            p.wait_log(
                &format!("limit raised from 1024 to {limit}"),
                0,
                Duration::from_secs(10),
            );
        }
        let b = login(p.addr, PASSWORD);
        let slots = (limit as usize - 128) / 2;
        let slots = slots.min(256);
        let mut held: Vec<(TcpStream, bool)> = Vec::new();
        for _ in 0..n {
            let s = TcpStream::connect(p.addr).unwrap();
            s.set_nonblocking(true).unwrap();
            held.push((s, false));
        }
        // Those beyond the limit are told so at once; the others wait, idle, until the
        // head timeout closes them (which frees their slots for more waiting ones).
        let (mut refused, mut closed) = (0, 0);
        let t = Instant::now();
        loop {
            for (s, done) in held.iter_mut().filter(|(_, d)| !*d) {
                let mut buf = [0u8; 12];
                match s.read(&mut buf) {
                    Ok(0) => (closed, *done) = (closed + 1, true),
                    Ok(n) => {
                        assert!(n == 12 && &buf[9..12] == b"503", "{:?}", &buf[..n]);
                        (refused, *done) = (refused + 1, true);
                    }
                    Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
                    Err(e) => panic!("{e}"),
                }
            }
            let waiting = n - refused - closed;
            if waiting <= slots {
                break;
            }
            assert!(
                t.elapsed() < Duration::from_secs(30),
                "{waiting} connections held"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        assert!(
            refused >= n - slots - closed,
            "{refused} of {n} refused at {limit} files"
        );
        assert!(refused > 0 && t.elapsed() < Duration::from_secs(10) || closed > 0);
        assert!(p.alive());
        drop(held);
        // The slots come back as the clients leave.
        let t = Instant::now();
        common::wait_until(
            "a request answers after the flood",
            Duration::from_secs(1),
            || get(p.addr, "/login").status == 200,
        );
        assert!(t.elapsed() < Duration::from_secs(1));
        quick(&b, "/api/1/system.json", Duration::from_secs(1));
        still_recording(&b, "cam");
    }
    assert!(!p.log_text().contains("panicked"), "{}", p.log_text());
}

#[test]
fn slow_and_stalled_clients_hold_up_nobody() {
    let (_cam, p, b) = recorder("attack-slow", &[]);
    // Some minutes to download: the camera's, once one is finished.
    common::wait_until("a minute is recorded", Duration::from_secs(90), || {
        b.get("/api/1/cameras.json").json()["payload"]["cameras"][0]["latest"].is_string()
    });
    let latest = b.get("/api/1/cameras.json").json()["payload"]["cameras"][0]["latest"]
        .as_str()
        .unwrap()
        .to_owned();
    let minute = format!("/api/1/camera/cam.preview.{latest}.mp4");
    let mut slow = Vec::new();
    for _ in 0..4 {
        // A POST head that promises a body that never comes.
        let mut s = TcpStream::connect(p.addr).unwrap();
        write!(
            s,
            "POST /login HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 5000\r\n\r\n"
        )
        .unwrap();
        slow.push(s);
        // A reader of a download that never reads.
        let mut s = TcpStream::connect(p.addr).unwrap();
        write!(
            s,
            "GET {minute} HTTP/1.1\r\nHost: 127.0.0.1\r\nCookie: {}\r\n\r\n",
            b.cookie
        )
        .unwrap();
        slow.push(s);
    }
    // Four clients sending their heads a byte a second.
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let trickle: Vec<_> = (0..4)
        .map(|_| {
            let (addr, stop) = (p.addr, stop.clone());
            std::thread::spawn(move || {
                let mut s = TcpStream::connect(addr).unwrap();
                for b in b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: aaaaaaaaaaaaaaaaaaaa".iter()
                {
                    if stop.load(std::sync::atomic::Ordering::SeqCst) || s.write_all(&[*b]).is_err()
                    {
                        break;
                    }
                    std::thread::sleep(Duration::from_secs(1));
                }
            })
        })
        .collect();
    // Meanwhile, for 12 s, everything answers within a second.
    let until = Instant::now() + Duration::from_secs(12);
    while Instant::now() < until {
        for path in ["/", "/api/1/cameras.json", minute.as_str()] {
            quick(&b, path, Duration::from_secs(1));
        }
    }
    // The slow senders were cut off by the head timeout (10 s).
    stop.store(true, std::sync::atomic::Ordering::SeqCst);
    for t in trickle {
        t.join().unwrap();
    }
    still_recording(&b, "cam");
    drop(slow);
}

#[test]
fn a_client_that_stops_reading_is_dropped_and_idle_connections_close() {
    let dir = scratch("attack-stall");
    // An hour of a camera "big": a range far larger than any socket buffer.
    let clip = common::Clip {
        width: 640,
        height: 360,
        seconds: 10,
        ..common::Clip::small(10)
    }
    .mp4();
    let data = dir.join("data");
    for m in 0..60 {
        common::write_minute(&data, "big", common::T0_US / 60_000_000 + m, &clip, 0);
    }
    let p = Pinvr::start(
        &dir,
        &json!({ "data_dir": data, "cameras": [ { "id": "big", "url": "rtsp://127.0.0.1:9/x", "enabled": false } ] }),
    );
    let b = login(p.addr, PASSWORD);
    // A connection that sends nothing is closed within the head timeout.
    let mut idle = TcpStream::connect(p.addr).unwrap();
    idle.set_read_timeout(Some(Duration::from_secs(15)))
        .unwrap();
    let t = Instant::now();
    let mut buf = [0u8; 64];
    let n = idle.read(&mut buf).unwrap_or(0);
    let took = t.elapsed();
    assert!(
        n == 0 || String::from_utf8_lossy(&buf[..n]).contains("408"),
        "{:?}",
        String::from_utf8_lossy(&buf[..n])
    );
    assert!(
        took >= Duration::from_secs(9) && took < Duration::from_secs(12),
        "{took:?}"
    );
    // So is a kept-alive connection after its answer.
    let mut ka = TcpStream::connect(p.addr).unwrap();
    ka.set_read_timeout(Some(Duration::from_secs(15))).unwrap();
    write!(ka, "GET /login HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n").unwrap();
    let t = Instant::now();
    let mut all = Vec::new();
    let _ = ka.read_to_end(&mut all);
    assert!(String::from_utf8_lossy(&all).starts_with("HTTP/1.1 200"));
    assert!(t.elapsed() < Duration::from_secs(12), "{:?}", t.elapsed());
    // A reader that stops is dropped after the write timeout, however much is left.
    let fd = nix::sys::socket::socket(
        nix::sys::socket::AddressFamily::Inet,
        nix::sys::socket::SockType::Stream,
        nix::sys::socket::SockFlag::empty(),
        None,
    )
    .unwrap();
    nix::sys::socket::setsockopt(&fd, nix::sys::socket::sockopt::RcvBuf, &4096).unwrap();
    let sa = nix::sys::socket::SockaddrIn::from(match p.addr {
        SocketAddr::V4(a) => a,
        _ => unreachable!(),
    });
    nix::sys::socket::connect(std::os::fd::AsRawFd::as_raw_fd(&fd), &sa).unwrap();
    let mut stalled = TcpStream::from(fd);
    let local = stalled.local_addr().unwrap().port();
    write!(
        stalled,
        "GET /api/1/camera/big.range.20261123.1400.to.20261123.1459.mp4 HTTP/1.1\r\nHost: 127.0.0.1\r\nCookie: {}\r\n\r\n",
        b.cookie
    )
    .unwrap();
    let t = Instant::now();
    // The server's end of this connection, in /proc/net/tcp: gone or no longer
    // established once pinvr gives up on it.
    let established = || {
        let table = std::fs::read_to_string("/proc/net/tcp").unwrap();
        table.lines().skip(1).any(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            let port = |a: &str| u16::from_str_radix(a.rsplit(':').next().unwrap(), 16).unwrap();
            port(f[1]) == p.addr.port() && port(f[2]) == local && f[3] == "01"
        })
    };
    assert!(established());
    common::wait_until(
        "pinvr drops the stalled reader",
        Duration::from_secs(45),
        || !established(),
    );
    let took = t.elapsed();
    assert!(took >= Duration::from_secs(29), "dropped after {took:?}");
    quick(&b, "/", Duration::from_secs(1));
    drop(stalled);
}

#[test]
fn huge_header_lines_cost_no_memory() {
    let (_cam, p, b) = recorder("attack-headers", &[]);
    let before = p.rss_kib();
    let addr = p.addr;
    let senders: Vec<_> = (0..4)
        .map(|_| {
            std::thread::spawn(move || {
                let mut s = TcpStream::connect(addr).unwrap();
                let _ = s.write_all(b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Big: ");
                let chunk = vec![b'a'; 1 << 20];
                let mut sent = 0usize;
                for _ in 0..50 {
                    match s.write_all(&chunk) {
                        Ok(()) => sent += chunk.len(),
                        Err(_) => break,
                    }
                }
                let mut answer = Vec::new();
                s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
                let _ = s.read_to_end(&mut answer);
                (sent, String::from_utf8_lossy(&answer).into_owned())
            })
        })
        .collect();
    let mut peak = before;
    while senders.iter().any(|s| !s.is_finished()) {
        peak = peak.max(p.rss_kib());
        std::thread::sleep(Duration::from_millis(20));
    }
    for s in senders {
        let (sent, answer) = s.join().unwrap();
        assert!(
            sent < 50 << 20 || answer.contains("431"),
            "pinvr read {sent} bytes of one header: {answer:?}"
        );
    }
    peak = peak.max(p.rss_kib());
    assert!(peak < 40 << 10, "RSS {before} KiB -> {peak} KiB");
    quick(&b, "/", Duration::from_secs(1));
}
