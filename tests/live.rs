//! Live streams as clients meet them, over raw HTTP against a live-encoding GStreamer
//! camera: what is refused and how fast, four viewers and one that stops reading for 60 s
//! (the four keep up, recording stays complete, memory stays bounded, the stalled one comes
//! back at a key frame and is counted).

mod common;

use common::cameras::FakeCamera;
use common::daemon::{PASSWORD, Pinvr};
use common::http::{Browser, login};
use common::scratch;
use serde_json::json;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

/// One fragment as a viewer received it.
#[derive(Clone, Copy, Debug)]
struct Fragment {
    /// `mfhd` sequence number.
    seq: u32,
    /// `tfdt`, 90 kHz ticks.
    time: u64,
    /// The first sample is a key frame.
    key: bool,
    /// When its last byte arrived.
    at: Instant,
}

/// A viewer reading `live.mp4` over its own connection: HTTP head, then the chunked body
/// split into boxes.
struct Viewer {
    r: BufReader<TcpStream>,
    /// Body bytes not yet split into boxes.
    buf: Vec<u8>,
    /// Init segments seen.
    inits: usize,
}

impl Viewer {
    /// Connects as `b` to camera `id`'s live stream; `rcvbuf` shrinks the socket's
    /// receive buffer (a slow phone). Returns the status and the viewer.
    fn open(b: &Browser, id: &str, rcvbuf: Option<usize>) -> (u16, String, Viewer) {
        let s = TcpStream::connect(b.addr).unwrap();
        if let Some(n) = rcvbuf {
            nix::sys::socket::setsockopt(&s, nix::sys::socket::sockopt::RcvBuf, &n).unwrap();
        }
        s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
        let mut w = s.try_clone().unwrap();
        write!(
            w,
            "GET /api/1/camera/{id}/live.mp4 HTTP/1.1\r\nHost: {}\r\nCookie: {}\r\n\r\n",
            b.addr, b.cookie
        )
        .unwrap();
        let mut r = BufReader::new(s);
        let mut line = String::new();
        r.read_line(&mut line).unwrap();
        let status: u16 = line.split(' ').nth(1).unwrap().parse().unwrap();
        let mut head = String::new();
        let mut len = None;
        loop {
            let mut h = String::new();
            r.read_line(&mut h).unwrap();
            if h == "\r\n" {
                break;
            }
            if let Some(v) = h.to_ascii_lowercase().strip_prefix("content-length:") {
                len = v.trim().parse::<usize>().ok();
            }
            head.push_str(&h);
        }
        let mut v = Viewer {
            r,
            buf: Vec::new(),
            inits: 0,
        };
        if let Some(n) = len {
            let mut body = vec![0; n];
            v.r.read_exact(&mut body).unwrap();
            head.push_str(&String::from_utf8_lossy(&body));
        }
        (status, head, v)
    }

    /// Reads until the next fragment (counting init segments on the way).
    fn next(&mut self) -> Fragment {
        loop {
            if self.buf.len() >= 8 {
                let len = u32::from_be_bytes(self.buf[..4].try_into().unwrap()) as usize;
                if self.buf.len() >= len {
                    let b: Vec<u8> = self.buf.drain(..len).collect();
                    match &b[4..8] {
                        b"ftyp" => self.inits += 1,
                        b"moof" => return parse_moof(&b),
                        _ => {}
                    }
                    continue;
                }
            }
            // One chunk of the chunked body.
            let mut size = String::new();
            self.r.read_line(&mut size).unwrap();
            let n = usize::from_str_radix(size.trim(), 16).unwrap_or_else(|_| panic!("{size:?}"));
            assert!(n > 0, "the live stream ended");
            let at = self.buf.len();
            self.buf.resize(at + n + 2, 0);
            self.r.read_exact(&mut self.buf[at..]).unwrap();
            self.buf.truncate(at + n);
        }
    }
}

/// Index of the first fragment of `got` that reached its viewer live: from the second key
/// frame after its first. A viewer joins at the ring's oldest key frame, and the ring holds
/// the group of pictures before the current one as well as the current one, so both come at
/// once at the join; and one that joins while the camera thread naps gets the next group's
/// first frames a nap late (0.75 s) in one batch. That is join latency (the browser test
/// bounds it), not a stalled viewer holding others back.
fn live_from(got: &[Fragment]) -> usize {
    got.iter()
        .enumerate()
        .skip(1)
        .filter(|(_, f)| f.key)
        .nth(1)
        .expect("three key frames")
        .0
}

/// The fields of a `moof` (as pinvr writes it: one `traf` with `tfdt` v1 and one `trun`).
fn parse_moof(b: &[u8]) -> Fragment {
    let find = |t: &[u8]| b.windows(4).position(|w| w == t).unwrap() - 4;
    let u32_at = |i: usize| u32::from_be_bytes(b[i..i + 4].try_into().unwrap());
    let mfhd = find(b"mfhd");
    let tfdt = find(b"tfdt");
    let trun = find(b"trun");
    Fragment {
        seq: u32_at(mfhd + 12),
        time: u64::from_be_bytes(b[tfdt + 12..tfdt + 20].try_into().unwrap()),
        key: u32_at(trun + 20) == 0x0200_0000,
        at: Instant::now(),
    }
}

/// Polls `cond` every 50 ms until it holds or `secs` pass.
fn wait_until(secs: u64, what: &str, mut cond: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(secs);
    while !cond() {
        assert!(Instant::now() < deadline, "{what}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn live_refuses_what_it_cannot_show_at_once_and_says_why() {
    let dir = scratch("live-refusals");
    let cam = FakeCamera::live(&[]);
    let p = Pinvr::start(
        &dir,
        &json!({
            "data_dir": dir.join("data"),
            "cameras": [
                { "id": "up", "url": cam.url() },
                { "id": "off", "url": "rtsp://127.0.0.1:9/none" },
                { "id": "idle", "url": cam.url(), "enabled": false },
            ],
        }),
    );
    // Without a session: 401.
    let r = common::http::get(p.addr, "/api/1/camera/up/live.mp4");
    assert_eq!(r.status, 401, "{}", r.text());
    let b = login(p.addr, PASSWORD);
    wait_until(30, "camera up never recorded", || {
        b.get("/api/1/cameras.json").json()["payload"]["cameras"][0]["state"] == "recording"
    });
    for (path, status, says) in [
        ("/api/1/camera/nope/live.mp4", 404, "no camera"),
        ("/api/1/camera/idle/live.mp4", 404, "disabled"),
        ("/api/1/camera/off/live.mp4", 503, "offline"),
        ("/api/1/camera/NOPE/live.mp4", 400, "not a camera id"),
        ("/live/nope", 404, "no enabled camera"),
    ] {
        let t = Instant::now();
        let r = b.get(path);
        assert_eq!(r.status, status, "{path}: {}", r.text());
        assert!(r.text().contains(says), "{path}: {}", r.text());
        assert!(
            t.elapsed() < Duration::from_secs(2),
            "{path} took {:?}",
            t.elapsed()
        );
    }
    let r = b.get("/api/1/camera/off/live.mp4");
    assert!(r.h("retry-after").is_some());
    assert!(
        r.text().contains("127.0.0.1:9") || r.text().contains("refused"),
        "{}",
        r.text()
    );
    // HEAD: the stream's head, no body.
    let r = b.request("HEAD", "/api/1/camera/up/live.mp4", &[]);
    assert_eq!(r.status, 200);
    assert_eq!(r.h("content-type"), Some("video/mp4"));
    assert!(
        r.h("x-codec").unwrap().starts_with("avc1."),
        "{:?}",
        r.h("x-codec")
    );
    // The cap: eight viewers of one camera; the ninth is told why; a place freed is taken.
    let mut viewers: Vec<Viewer> = (0..pinvr::live::MAX_PER_CAMERA)
        .map(|_| {
            let (status, head, mut v) = Viewer::open(&b, "up", None);
            assert_eq!(status, 200, "{head}");
            assert!(v.next().key, "a viewer starts at a key frame");
            v
        })
        .collect();
    let (status, text, _) = Viewer::open(&b, "up", None);
    assert_eq!(status, 503, "{text}");
    assert!(text.contains("already has 8 live viewers"), "{text}");
    drop(viewers.pop());
    wait_until(10, "a freed place was not given back", || {
        Viewer::open(&b, "up", None).0 == 200
    });
    let cams = b.get("/api/1/cameras.json").json();
    assert!(
        cams["payload"]["cameras"][0]["live"]["served"]
            .as_u64()
            .unwrap()
            >= 9
    );
}

#[test]
fn a_stalled_viewer_slows_no_one_and_comes_back_at_a_key_frame() {
    let dir = scratch("live-stall");
    // 640x360 at 30 fps, a key frame a second: ~50 KB/s.
    let cam = FakeCamera::live(&["--size", "640x360"]);
    let p = Pinvr::start(
        &dir,
        &json!({ "data_dir": dir.join("data"), "cameras": [{ "id": "cam", "url": cam.url() }] }),
    );
    let b = login(p.addr, PASSWORD);
    wait_until(30, "camera never recorded", || {
        b.get("/api/1/cameras.json").json()["payload"]["cameras"][0]["state"] == "recording"
    });
    let rss0 = p.rss_kib();
    let started = Instant::now();
    let stall = Duration::from_secs(60);
    // Four viewers reading as fast as frames come, each on its own thread.
    let watchers: Vec<_> = (0..4)
        .map(|_| {
            let b = b.clone();
            std::thread::spawn(move || {
                let (status, head, mut v) = Viewer::open(&b, "cam", None);
                assert_eq!(status, 200, "{head}");
                let mut got = Vec::new();
                while started.elapsed() < stall + Duration::from_secs(15) {
                    got.push(v.next());
                }
                got
            })
        })
        .collect();
    // The fifth reads one fragment, then nothing for 60 s, with a small receive buffer.
    let (status, head, mut slow) = Viewer::open(&b, "cam", Some(16 << 10));
    assert_eq!(status, 200, "{head}");
    let first = slow.next();
    std::thread::sleep(Duration::from_secs(5));
    let rss_watched = p.rss_kib();
    std::thread::sleep(stall - Duration::from_secs(5));
    let skipped_before =
        b.get("/api/1/cameras.json").json()["payload"]["cameras"][0]["live"]["skipped_frames"]
            .as_u64()
            .unwrap();
    // It reads again: first what the kernel held, then a jump to a key frame, then live.
    let resumed = Instant::now();
    let mut after = vec![first];
    while resumed.elapsed() < Duration::from_secs(10) {
        after.push(slow.next());
    }
    let jump = after
        .windows(2)
        .position(|w| w[1].seq != w[0].seq + 1)
        .expect("the stalled viewer never skipped");
    let landed = after[jump + 1];
    assert!(
        landed.key,
        "after the skip it goes on from a key frame: {landed:?}"
    );
    let cams = b.get("/api/1/cameras.json").json();
    let skipped = cams["payload"]["cameras"][0]["live"]["skipped_frames"]
        .as_u64()
        .unwrap();
    assert!(
        skipped > skipped_before,
        "the skip was not counted: {skipped}"
    );

    let watched: Vec<Vec<Fragment>> = watchers.into_iter().map(|w| w.join().unwrap()).collect();
    // Caught up: its last 30 fragments reached it within 0.5 s of reaching the healthy
    // viewers (the same frames, by sequence number), whatever pace the camera kept.
    for f in &after[after.len() - 30..] {
        let w = watched[0]
            .iter()
            .find(|g| g.seq == f.seq)
            .unwrap_or_else(|| panic!("frame {} never reached a healthy viewer", f.seq));
        let behind = f.at.saturating_duration_since(w.at).as_secs_f64();
        assert!(
            behind < 0.5,
            "frame {} reached the stalled viewer {behind:.2} s after the others: still draining a backlog",
            f.seq
        );
    }
    // The four kept up: every fragment in order, and no skip.
    let mut first_seen: std::collections::HashMap<u32, Instant> = Default::default();
    for got in &watched {
        assert!(
            got.len() > 30 * 70,
            "a viewer got only {} fragments",
            got.len()
        );
        // Leave out the start: what the ring held when it joined, sent at once.
        for pair in got[live_from(got)..].windows(2) {
            assert_eq!(pair[1].seq, pair[0].seq + 1, "a healthy viewer skipped");
        }
        for f in got {
            let e = first_seen.entry(f.seq).or_insert(f.at);
            *e = (*e).min(f.at);
        }
    }
    // None held back against the others: each frame reached every healthy viewer within
    // 0.5 s of the first one it reached.
    for got in &watched {
        let worst = got[live_from(got)..]
            .iter()
            .map(|f| f.at.duration_since(first_seen[&f.seq]).as_secs_f64())
            .fold(0.0, f64::max);
        assert!(
            worst < 0.5,
            "a healthy viewer fell {worst:.3} s behind the others"
        );
    }
    // And all of them together not held back: the first arrival of each frame against the
    // camera's own timing (its decode time), relative to the best frame. A camera thread
    // blocked by the stalled viewer's full socket would hold everyone back for many
    // seconds; the live-encoding camera itself lags up to about 1 s on a loaded machine
    // (1.08 s seen with six tests at once), so the bound here is 2 s. Latency as a person
    // sees it (under a second) is the browser test's. Counted from where each viewer's
    // stream is live ([`live_from`]).
    let start_seq = watched
        .iter()
        .map(|got| got[live_from(got)].seq)
        .max()
        .unwrap();
    let lateness: Vec<f64> = watched[0]
        .iter()
        .filter(|f| f.seq >= start_seq)
        .map(|f| {
            first_seen[&f.seq].duration_since(started).as_secs_f64() - f.time as f64 / 90_000.0
        })
        .collect();
    let best = lateness.iter().cloned().fold(f64::MAX, f64::min);
    let worst = lateness.iter().map(|l| l - best).fold(0.0, f64::max);
    eprintln!("healthy viewers: worst first arrival {worst:.3} s behind the camera's timing");
    assert!(worst < 2.0, "every healthy viewer fell {worst:.3} s behind");
    // Memory: each of the five viewers costs little.
    let per_viewer = rss_watched.saturating_sub(rss0) / 5;
    eprintln!("RSS {rss0} KiB before viewers, {rss_watched} KiB with five: {per_viewer} KiB each");
    assert!(per_viewer < 2048, "{per_viewer} KiB per viewer");
    // Recording went on: the minutes finished meanwhile meet, frames at 30 fps.
    drop(slow);
    let minutes = common::minutes(&dir.join("data/cam"));
    assert!(!minutes.is_empty(), "no minute finished");
    common::assert_minutes_meet(&minutes, 0.2);
    let frames = b.get("/api/1/cameras.json").json();
    eprintln!("{}", frames["payload"]["cameras"][0]);
}
