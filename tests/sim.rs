//! The camera loop frame by frame on a simulated clock: a clip plays as a camera (scripted
//! outages, hang-ups, refusals, clock steps, a full disk), the real recorder and finisher
//! write real files, and ffprobe judges them. Minutes of camera time take milliseconds.

mod common;

use common::logcap;
use pinvr::clock::{Clock, RealClock, Scheduled, SimClock, Stop};
use pinvr::config::{Camera, Retry, Transport};
use pinvr::disk::{Disk, QuotaDisk, RealDisk};
use pinvr::error::ErrorKind;
use pinvr::finisher::Finisher;
use pinvr::fixture::{Clip, read_clip};
use pinvr::index::Index;
use pinvr::ingest::{self, Deps};
use pinvr::recorder::Journal;
use pinvr::source::clip::{ClipOpener, Plan, Then};
use pinvr::source::{Opener, Stream};
use pinvr::status::{State, Status};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

/// 2026-11-23 14:00:00 UTC.
const T0: i64 = common::T0_US;
const SEC: i64 = 1_000_000;

fn clip() -> Arc<Clip> {
    Arc::new(read_clip(&common::camera_clip()).unwrap())
}

fn camera(dir: &Path) -> Camera {
    Camera {
        id: "cam".into(),
        url: "rtsp://camera.invalid/stream".parse().unwrap(),
        sub_url: None,
        sub_of: None,
        username: None,
        password: None,
        enabled: true,
        transport: Transport::Tcp,
        dir: dir.to_owned(),
        max_age_days: None,
    }
}

fn retry(delay_s: u64, max_s: u64) -> Retry {
    Retry {
        retry_delay: Duration::from_secs(delay_s),
        retry_max_delay: Duration::from_secs(max_s),
        ..Retry::default()
    }
}

/// What a run left.
struct Outcome {
    /// Finished minute files, in time order.
    files: Vec<PathBuf>,
    /// The index after the run.
    index: Arc<Index>,
    /// Lines the camera loop logged.
    log: Vec<String>,
    /// The camera's status at the end.
    status: pinvr::status::CameraStatus,
}

impl Outcome {
    fn names(&self) -> Vec<String> {
        self.files
            .iter()
            .map(|f| f.file_name().unwrap().to_str().unwrap().to_owned())
            .collect()
    }

    fn count(&self, needle: &str) -> usize {
        self.log.iter().filter(|l| l.contains(needle)).count()
    }
}

/// Records camera `cam` from `opener` on a simulated clock starting at `start_us`, until
/// `until` of monotonic time; `setup` schedules events on the clock.
fn run(
    name: &str,
    start_us: i64,
    opener: Arc<dyn Opener>,
    retry: Retry,
    disk: Arc<dyn Disk>,
    until: Duration,
    setup: impl FnOnce(&SimClock),
) -> Outcome {
    let dir = common::scratch(name);
    run_in(&dir, start_us, opener, retry, disk, until, setup)
}

/// [`run`] in the folder `dir` as it is (an earlier run's files stay).
fn run_in(
    dir: &Path,
    start_us: i64,
    opener: Arc<dyn Opener>,
    retry: Retry,
    disk: Arc<dyn Disk>,
    until: Duration,
    setup: impl FnOnce(&SimClock),
) -> Outcome {
    logcap::init();
    let dir = dir.to_owned();
    let clock = Arc::new(SimClock::new(start_us));
    setup(&clock);
    let stop = Stop::default();
    clock.at(until, Scheduled::Stop(stop.clone()));
    let index = Arc::new(Index::default());
    index.ensure(&[("cam".into(), dir.clone())]);
    let (finisher, finisher_thread) = Finisher::spawn(index.clone(), Vec::new());
    let status = Arc::new(Status::default());
    let deps = Deps {
        opener,
        clock: clock.clone(),
        status: status.clone(),
        finisher,
        journal: Journal {
            disk,
            buf_size: 64 << 10,
            flush: Duration::from_secs(1),
            sync: None,
        },
        on_full: Arc::new(|| {}),
        live: Default::default(),
    };
    let skip = logcap::mine().len();
    ingest::record(&camera(&dir), &retry, &deps, &stop);
    drop(deps);
    finisher_thread.join().unwrap();
    Outcome {
        files: common::minutes(&dir),
        index,
        log: logcap::mine()[skip..].to_vec(),
        status: status
            .snapshot()
            .remove("cam")
            .expect("the camera's status"),
    }
}

/// Asserts every frame of `files` lasts `interval` seconds within 0.6% (the most the
/// stream is slewed toward the local clock is 0.5%), but for the last of each file.
fn assert_spacing(files: &[PathBuf], interval: f64) {
    for f in files {
        for w in common::timeline(f).windows(2) {
            let d = w[1] - w[0];
            assert!(
                (d - interval).abs() <= interval * 0.006,
                "{}: a frame of {d:.4} s at {:.3}",
                f.display(),
                w[0]
            );
        }
    }
}

/// Asserts every file decodes silently and no frame in it is longer than `max` seconds.
fn assert_clean(files: &[PathBuf], max: f64) {
    for f in files {
        let errors = common::decode_errors(f);
        assert!(errors.is_empty(), "{}: {errors}", f.display());
        let t = common::timeline(f);
        for w in t.windows(2) {
            assert!(
                w[1] - w[0] <= max + 1e-6,
                "{}: a frame of {:.3} s at {:.3}",
                f.display(),
                w[1] - w[0],
                w[0]
            );
        }
    }
}

#[test]
fn minutes_rotate_at_the_first_key_frame_of_each_boundary() {
    let opener = Arc::new(ClipOpener::new(vec![clip()], vec![Plan::forever()]));
    // 14:00:50 to 14:02:55.
    let out = run(
        "sim-rotate",
        T0 + 50 * SEC,
        opener,
        retry(2, 60),
        Arc::new(RealDisk),
        Duration::from_secs(125),
        |_| {},
    );
    assert_eq!(
        out.names(),
        [
            "cam.20261123.1400.mp4",
            "cam.20261123.1401.mp4",
            "cam.20261123.1402.mp4"
        ]
    );
    assert_clean(&out.files, 0.1);
    // The camera sends a key frame every second, on the second: each minute after the first
    // starts exactly on its boundary, and the minutes meet.
    let starts: Vec<f64> = out.files.iter().map(|f| common::timeline(f)[0]).collect();
    assert_eq!(starts[1], (T0 / SEC + 60) as f64);
    assert_eq!(starts[2], (T0 / SEC + 120) as f64);
    common::assert_minutes_meet(&out.files, 0.001);
    let frames: Vec<u64> = out.files.iter().map(|f| common::probe(f).frames).collect();
    assert_eq!(frames[..2], [100, 600]);
    assert!((549..=551).contains(&frames[2]), "{frames:?}");
    let base = T0 / 60 / SEC;
    assert_eq!(
        out.index.minutes("cam", 0, i64::MAX / 2),
        [base, base + 1, base + 2]
    );
    assert_eq!(out.count("recording"), 1, "{:?}", out.log);
}

#[test]
fn a_reconnect_inside_a_minute_continues_its_file() {
    // The camera hangs up 15 s into the minute; pinvr reconnects 2 s later.
    let opener = Arc::new(ClipOpener::new(
        vec![clip()],
        vec![Plan::frames(150, Then::HangUp), Plan::forever()],
    ));
    let out = run(
        "sim-reconnect",
        T0,
        opener.clone(),
        retry(2, 60),
        Arc::new(RealDisk),
        Duration::from_secs(90),
        |_| {},
    );
    assert_eq!(
        out.names(),
        ["cam.20261123.1400.mp4", "cam.20261123.1401.mp4"]
    );
    assert_eq!(
        opener.open_times(),
        [Duration::ZERO, Duration::from_millis(14_900 + 2_000)]
    );
    // One gap of the retry delay, then frames again.
    let t = common::timeline(&out.files[0]);
    let gaps: Vec<f64> = t
        .windows(2)
        .map(|w| w[1] - w[0])
        .filter(|g| *g > 0.15)
        .collect();
    assert_eq!(gaps.len(), 1, "{gaps:?}");
    assert!((gaps[0] - 2.0).abs() < 0.01, "{gaps:?}");
    assert_eq!(out.count("the camera closed the connection; retrying"), 1);
    assert_eq!(out.count("recording again after 2 s"), 1, "{:?}", out.log);
}

#[test]
fn a_silent_camera_is_dropped_after_the_gap_timeout() {
    let opener = Arc::new(ClipOpener::new(
        vec![clip()],
        vec![Plan::frames(150, Then::Silent), Plan::forever()],
    ));
    let out = run(
        "sim-gap",
        T0,
        opener.clone(),
        retry(2, 60),
        Arc::new(RealDisk),
        Duration::from_secs(40),
        |_| {},
    );
    // Last frame at 14.9 s; 5 s of silence; 2 s of retry delay.
    assert_eq!(
        opener.open_times(),
        [
            Duration::ZERO,
            Duration::from_millis(14_900 + 5_000 + 2_000)
        ]
    );
    assert_eq!(out.count("no frame for 5 s; retrying"), 1, "{:?}", out.log);
    assert_clean(&out.files, 7.1);
}

#[test]
fn retries_back_off_doubling_to_the_cap() {
    let mut plans = vec![Plan::refused(ErrorKind::Network, "connection refused"); 6];
    plans.push(Plan::forever());
    let opener = Arc::new(ClipOpener::new(vec![clip()], plans));
    let out = run(
        "sim-backoff",
        T0,
        opener.clone(),
        retry(1, 8),
        Arc::new(RealDisk),
        Duration::from_secs(45),
        |_| {},
    );
    let secs: Vec<u64> = opener.open_times().iter().map(|d| d.as_secs()).collect();
    // Delays 1, 2, 4, 8, 8, 8.
    assert_eq!(secs, [0, 1, 3, 7, 15, 23, 31]);
    // The outage is logged once, its end once.
    assert_eq!(out.count("connection refused"), 1, "{:?}", out.log);
    assert_eq!(out.count("recording again after 31 s"), 1, "{:?}", out.log);
    assert_eq!(out.names(), ["cam.20261123.1400.mp4"]);
}

#[test]
fn a_clock_step_forward_starts_a_new_minute_at_the_new_time() {
    let opener = Arc::new(ClipOpener::new(vec![clip()], vec![Plan::forever()]));
    // 14:00:30; at 14:00:45.45, in the middle of a GOP, the system clock is stepped
    // forward an hour.
    let out = run(
        "sim-step",
        T0 + 30 * SEC,
        opener,
        retry(2, 60),
        Arc::new(RealDisk),
        Duration::from_secs(60),
        |c| c.at(Duration::from_millis(15_450), Scheduled::Step(3600 * SEC)),
    );
    assert_eq!(
        out.names(),
        [
            "cam.20261123.1400.mp4",
            "cam.20261123.1500.mp4",
            "cam.20261123.1501.mp4"
        ]
    );
    assert_clean(&out.files, 0.1);
    assert_spacing(&out.files, 0.1);
    // The frames up to the next key frame keep the old clock; the stream moves there.
    let first = common::timeline(&out.files[0]);
    assert_eq!(first.len(), 160);
    assert_eq!(common::timeline(&out.files[1])[0], (T0 / SEC + 3646) as f64);
    assert_eq!(
        out.count("system clock stepped +3600.0 s"),
        1,
        "{:?}",
        out.log
    );
    assert_eq!(out.log.len(), 3, "{:?}", out.log);
}

#[test]
fn a_full_disk_drops_frames_and_resumes_at_a_key_frame() {
    full_disk("sim-full", None);
}

#[test]
fn a_full_disk_found_by_the_write_before_a_nap_is_handled_alike() {
    // Here most writes are the ones before each nap ([`pinvr::source::Next::Idle`]).
    full_disk("sim-full-nap", Some(Duration::from_millis(750)));
}

/// The disk fills after about 20 s of stream; at 30 s 8 MiB are freed: one hole, closed at
/// the first key frame after the space came back. The camera naps between reads as `nap`.
fn full_disk(name: &str, nap: Option<Duration>) {
    let disk = QuotaDisk::new(800 << 10);
    let d2 = disk.clone();
    let plan = Plan {
        nap,
        ..Plan::forever()
    };
    let opener = Arc::new(ClipOpener::new(vec![clip()], vec![plan]));
    let out = run(
        name,
        T0,
        opener,
        retry(2, 60),
        Arc::new(disk.clone()),
        Duration::from_secs(55),
        move |c| {
            c.at(
                Duration::from_secs(30),
                Scheduled::Call(Box::new(move || d2.set_quota((800 << 10) + (8 << 20)))),
            )
        },
    );
    assert_eq!(out.names(), ["cam.20261123.1400.mp4"]);
    assert_eq!(out.count("disk full"), 1, "{:?}", out.log);
    assert_eq!(out.count("space is back"), 1, "{:?}", out.log);
    let f = &out.files[0];
    assert!(common::decode_errors(f).is_empty());
    let t = common::timeline(f);
    let holes: Vec<(f64, f64)> = t
        .windows(2)
        .filter(|w| w[1] - w[0] > 0.15)
        .map(|w| (w[0] - (T0 / SEC) as f64, w[1] - (T0 / SEC) as f64))
        .collect();
    assert_eq!(holes.len(), 1, "{holes:?}");
    assert!((15.0..30.0).contains(&holes[0].0), "{holes:?}");
    // The key frame sent at 30 s; a napping camera's is stamped up to a nap late.
    let late = nap.unwrap_or_default().as_secs_f64();
    assert!((30.0..=30.0 + late).contains(&holes[0].1), "{holes:?}");
    assert!(disk.used() > 800 << 10);
}

/// Hands each camera its own opener.
struct ByCamera(Vec<(String, Arc<dyn Opener>)>);

impl Opener for ByCamera {
    fn open(
        &self,
        cam: &Camera,
        timeout: Duration,
        clock: &Arc<dyn Clock>,
        stop: &Stop,
    ) -> pinvr::Result<Option<Box<dyn Stream>>> {
        let o = &self.0.iter().find(|(id, _)| *id == cam.id).unwrap().1;
        o.open(cam, timeout, clock, stop)
    }
}

#[test]
fn a_crashed_camera_thread_is_restarted_and_the_others_keep_recording() {
    logcap::init();
    let dir = common::scratch("sim-panic");
    let config = serde_json::json!({
        "data_dir": dir.join("data"),
        "web": {"listen": "127.0.0.1:0"},
        "cameras": [
            {"id": "crashy", "url": "rtsp://camera.invalid/a"},
            {"id": "steady", "url": "rtsp://camera.invalid/b"},
        ],
    });
    let path = dir.join("pinvr.json");
    std::fs::write(&path, config.to_string()).unwrap();
    let app = Arc::new(pinvr::app::App::load(path));
    // Real time: camera threads, the supervisor and the finisher meet for real.
    let crashy: Arc<dyn Opener> = Arc::new(ClipOpener::new(
        vec![clip()],
        vec![Plan::frames(5, Then::Panic), Plan::forever()],
    ));
    let steady: Arc<dyn Opener> = Arc::new(ClipOpener::new(vec![clip()], vec![Plan::forever()]));
    let services = pinvr::supervisor::Services {
        opener: Arc::new(ByCamera(vec![
            ("crashy".into(), crashy),
            ("steady".into(), steady),
        ])),
        clock: Arc::new(RealClock),
        disk: Arc::new(RealDisk),
        hooks: Vec::new(),
    };
    let stop = Stop::default();
    let (a, s) = (app.clone(), stop.clone());
    let sup = std::thread::spawn(move || pinvr::supervisor::run(a, services, s));
    let frames = |id: &str| app.status.snapshot().get(id).map_or(0, |c| c.frames);
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    let mut steady_seen = Vec::new();
    // The crashed camera records again (more frames than its first connection sent),
    // while the steady one never stops.
    while frames("crashy") <= 5 || app.status.state("crashy", true) != State::Recording {
        assert!(
            std::time::Instant::now() < deadline,
            "crashy never came back"
        );
        steady_seen.push(frames("steady"));
        std::thread::sleep(Duration::from_millis(100));
    }
    let steady_now = frames("steady");
    stop.request();
    sup.join().unwrap().unwrap();
    assert!(steady_now >= 20, "steady sent {steady_now} frames");
    assert!(
        steady_seen.windows(10).all(|w| w[9] > w[0]),
        "{steady_seen:?}"
    );
    assert_eq!(logcap::matching("camera crashy: its thread died").len(), 1);
    assert!(logcap::matching("camera steady: its thread died").is_empty());
}

#[test]
fn drifting_cameras_are_measured_and_followed_for_an_hour() {
    // 0.5% and 3% fast and slow: an hour each; before, 0.5% reached the 10 s re-anchoring
    // limit after 33 minutes and 3% after 6, then re-anchored every 15 s with a 1-tick or a
    // 10 s frame each time.
    let base = T0 / 60 / SEC;
    for ppm in [5_000, -5_000, 30_000, -30_000] {
        let plan = Plan {
            rate_ppm: ppm,
            ..Plan::forever()
        };
        let opener = Arc::new(ClipOpener::new(vec![clip()], vec![plan]));
        let out = run(
            &format!("sim-drift{ppm}"),
            T0,
            opener,
            retry(2, 60),
            Arc::new(RealDisk),
            // To half a second before 15:00 (a frame sent as the run stops is delivered
            // early: a key frame then would open 15:00).
            Duration::from_millis(3_599_500),
            |_| {},
        );
        // Every minute of the hour, named as it was recorded.
        let want: Vec<String> = (0..60)
            .map(|m| {
                let (d, t) = pinvr::time::minute_name(base + m);
                format!("cam.{d}.{t}.mp4")
            })
            .collect();
        assert_eq!(out.names(), want, "{ppm} ppm");
        // No frame longer than three intervals (10 fps), the minutes meet within a frame,
        // and the last one ends within a second of the hour (the stream kept to the
        // local clock).
        assert_clean(&out.files, 0.3);
        common::assert_minutes_meet(&out.files, 0.1);
        let last = out.files.last().unwrap();
        let end = common::timeline(last).last().copied().unwrap() + 0.1;
        assert!(
            (end - (T0 / SEC + 3600) as f64).abs() < 1.0,
            "{ppm} ppm: the hour ends at {end:.2}"
        );
        // Measured, reported, and no re-anchoring said.
        let drift = out.status.drift_ppm.expect("drift measured");
        assert!(
            (drift - ppm as f64).abs() < 200.0,
            "{ppm} ppm measured as {drift:.0}"
        );
        assert_eq!(out.count("re-anchoring"), 0, "{:?}", out.log);
        assert_eq!(
            out.log.len(),
            2,
            "recording and stopped only: {:?}",
            out.log
        );
        eprintln!(
            "{ppm} ppm: measured {drift:.0}, the hour ends at +{:.3} s",
            end - (T0 / SEC + 3600) as f64
        );
    }
}

#[test]
fn long_gops_name_files_by_their_first_frame_and_exports_cover_every_second() {
    // Key frames every 10 s and every 120 s, the first at 14:00:07.4: a minute closes at the
    // first key frame after its end, so the file named 1402 begins at 14:02:07.4, and with
    // the 120 s GOP the minutes 14:01, 14:03... have no file of their own.
    for (gop_s, seconds) in [(10u32, 60u32), (120, 240)] {
        let path = common::Clip::make("gop", "320x240", 10, seconds, gop_s * 10, "h264");
        let clip = Arc::new(read_clip(&path).unwrap());
        let opener = Arc::new(ClipOpener::new(vec![clip], vec![Plan::forever()]));
        let start = T0 + 7_400_000;
        let out = run(
            &format!("sim-gop{gop_s}"),
            start,
            opener,
            retry(2, 60),
            Arc::new(RealDisk),
            Duration::from_secs(365),
            |_| {},
        );
        let base = T0 / 60 / SEC;
        let step = (i64::from(gop_s) + 59) / 60;
        let want: Vec<String> = (0..=6)
            .step_by(step as usize)
            .map(|m| {
                let (d, t) = pinvr::time::minute_name(base + m);
                format!("cam.{d}.{t}.mp4")
            })
            .collect();
        assert_eq!(out.names(), want, "{gop_s} s GOP");
        assert_clean(&out.files, 0.3);
        common::assert_minutes_meet(&out.files, 0.1);
        // Each file starts at its first frame's true time and holds a whole number of GOPs.
        for (i, f) in out.files.iter().enumerate() {
            let first = common::timeline(f)[0];
            let true_start = (start / SEC) as f64 + 0.4 + (i as i64 * step * 60) as f64;
            assert!(
                (first - true_start).abs() < 1e-6,
                "{}: starts at {first:.3}, not {true_start:.3}",
                f.display()
            );
        }
        // An export of every whole minute from 14:01 to 14:05 starts on the minute's first
        // second with that second's picture and lasts the minute, though the minute's
        // first frames (or all of them) are in an earlier file.
        for m in base + 1..=base + 5 {
            let listed = out
                .index
                .minute_files(
                    out.files[0].parent().unwrap().parent().unwrap(),
                    "cam",
                    m - pinvr::range::LEAD_MINUTES,
                    m,
                )
                .into_iter()
                .map(|p| {
                    let name = p.file_name().unwrap().to_str().unwrap().to_owned();
                    (pinvr::layout::parse_name(&name).unwrap().1, p)
                })
                .collect();
            let files = pinvr::range::lead_in(listed, m);
            let (from, to) = (m * 60 * SEC, (m + 1) * 60 * SEC);
            let range = pinvr::range::RangeMp4::build_cut(&files, Some((from, to))).unwrap();
            let cut = common::scratch(&format!("sim-gop{gop_s}-cut")).join("cut.mp4");
            std::fs::write(&cut, pinvr::range::read_all(&range).unwrap()).unwrap();
            assert_eq!(common::decode_errors(&cut), "", "{gop_s} s GOP, minute {m}");
            assert_eq!(pinvr::mp4::start_us(&cut).unwrap(), Some(from));
            let d = common::duration(&cut);
            assert!((d - 60.0).abs() <= 0.1, "{gop_s} s GOP, minute {m}: {d} s");
            // The first picture shown is the source's frame at the minute's start.
            let source = &files[0];
            let at = ((from - pinvr::mp4::start_us(source).unwrap().unwrap()) / 100_000) as usize;
            let shown = common::frame_md5s(&cut);
            assert_eq!(
                shown[0],
                common::frame_md5s(source)[at],
                "{gop_s} s GOP, minute {m}"
            );
            assert!((599..=601).contains(&shown.len()), "{} frames", shown.len());
        }
        assert_eq!(
            out.log.len(),
            2,
            "recording and stopped only: {:?}",
            out.log
        );
    }
}

#[test]
fn a_clock_step_back_onto_recorded_minutes_keeps_both_recordings() {
    // 13:00:00 to 13:02:30 recorded; then from 14:00:30, at 14:00:45.45 the clock is set
    // back an hour (NTP correcting a clock that ran an hour ahead), so 13:00:46 to 13:01:30
    // happen a second time. Before, the new frames were merged after the end of each earlier
    // minute: 13:00:46 came out at 13:01:00 in the file of 13:00, overlapping 13:01's.
    let dir = common::scratch("sim-step-back");
    let opener = || Arc::new(ClipOpener::new(vec![clip()], vec![Plan::forever()]));
    let first = run_in(
        &dir,
        T0 - 3600 * SEC,
        opener(),
        retry(2, 60),
        Arc::new(RealDisk),
        Duration::from_secs(150),
        |_| {},
    );
    let kept: Vec<Vec<u8>> = first
        .files
        .iter()
        .map(|f| std::fs::read(f).unwrap())
        .collect();
    let out = run_in(
        &dir,
        T0 + 30 * SEC,
        opener(),
        retry(2, 60),
        Arc::new(RealDisk),
        Duration::from_secs(60),
        |c| c.at(Duration::from_millis(15_450), Scheduled::Step(-3600 * SEC)),
    );
    assert_eq!(
        out.names(),
        [
            "cam.20261123.1300.mp4",
            "cam.20261123.1300.r1.mp4",
            "cam.20261123.1301.mp4",
            "cam.20261123.1301.r1.mp4",
            "cam.20261123.1302.mp4",
            "cam.20261123.1400.mp4",
        ]
    );
    // The first recording is untouched, byte for byte.
    for (f, bytes) in first.files.iter().zip(&kept) {
        assert!(
            std::fs::read(f).unwrap() == *bytes,
            "{} changed",
            f.display()
        );
    }
    assert_clean(&out.files, 0.1);
    assert_spacing(&out.files, 0.1);
    // The second recording: 14:00:30 to the key frame after the step, then on the new time
    // from 13:00:46 to 13:01:30, continuous, each frame one interval after the last.
    let second: Vec<&PathBuf> = [5, 1, 3].iter().map(|&i| &out.files[i]).collect();
    let mut times: Vec<f64> = Vec::new();
    for f in &second {
        let t = common::timeline(f);
        if let Some(&last) = times.last() {
            let shift = if f.ends_with("cam.20261123.1300.r1.mp4") {
                3600.0
            } else {
                0.0
            };
            let seam = t[0] + shift - last;
            assert!(
                (seam - 0.1).abs() < 1e-3,
                "{}: {seam:.3} s after the last frame",
                f.display()
            );
        }
        times.extend(&t);
    }
    let base = (T0 / SEC) as f64;
    assert_eq!(common::timeline(second[0])[0], base + 30.0);
    assert_eq!(common::timeline(second[1])[0], base - 3600.0 + 46.0);
    assert_eq!(common::timeline(second[2])[0], base - 3600.0 + 60.0);
    let end = *common::timeline(second[2]).last().unwrap();
    assert!((end - (base - 3600.0 + 89.9)).abs() < 0.11, "ends at {end}");
    // Each repeat has its pictures; the change search keeps the first's signature only.
    for f in [second[1], second[2]] {
        for ext in ["jpg", "thumb.jpg"] {
            let jpg =
                f.with_file_name(f.file_name().unwrap().to_str().unwrap().replace("mp4", ext));
            assert!(jpg.exists(), "no {}", jpg.display());
        }
    }
    let m = T0 / 60 / SEC - 60;
    assert_eq!(
        out.index.minutes("cam", 0, i64::MAX / 2),
        [m, m + 1, m + 2, m + 60]
    );
    assert_eq!(
        pinvr::layout::repeats_of_day(&dir, "cam", m)
            .into_iter()
            .filter(|(minute, _, _)| *minute == m)
            .map(|(_, n, _)| n)
            .collect::<Vec<_>>(),
        [1]
    );
    // Said once: the step, and the repeat.
    assert_eq!(
        out.count("system clock stepped -3600.0 s"),
        1,
        "{:?}",
        out.log
    );
    assert_eq!(
        out.count("already holds a recording of this time"),
        1,
        "{:?}",
        out.log
    );
    assert_eq!(out.log.len(), 4, "{:?}", out.log);
}

#[test]
fn a_napping_source_is_written_out_before_each_nap_so_a_kill_loses_only_the_nap() {
    // The camera is read as the RTSP source reads over TCP: a 0.75 s nap between reads,
    // every frame that came meanwhile at once. At 200 moments spread over 45 s (each in the
    // camera thread's nap or its wait for the next frame, where a kill -9 lands), the
    // chunk on disk must hold every frame sent but those of the nap going on: at 10 fps,
    // all but the last 8. The chunk writer's own interval (1 s here) would lose up to 18.
    let nap = Duration::from_millis(750);
    let clip = clip();
    let frame_us = 100_000;
    assert!(
        clip.frames
            .windows(2)
            .all(|w| w[1].dts - w[0].dts == frame_us * 9 / 100),
        "a 10 fps clip in decode order"
    );
    let dir = common::scratch("sim-nap");
    let chunk =
        pinvr::layout::minute_path(&dir, "cam", T0 / 60 / SEC, pinvr::layout::FileKind::Chunk);
    let plan = Plan {
        nap: Some(nap),
        ..Plan::forever()
    };
    let opener = Arc::new(ClipOpener::new(vec![clip], vec![plan]));
    let seen = Arc::new(std::sync::Mutex::new(Vec::new()));
    let out = {
        let seen = seen.clone();
        run_in(
            &dir,
            T0,
            opener,
            retry(2, 60),
            Arc::new(RealDisk),
            Duration::from_secs(55),
            move |c| {
                for i in 0..200u64 {
                    let at = Duration::from_millis(5_000 + i * 227);
                    let (chunk, seen) = (chunk.clone(), seen.clone());
                    c.at(
                        at,
                        Scheduled::Call(Box::new(move || {
                            seen.lock().unwrap().push((at, frame_stamps(&chunk)));
                        })),
                    );
                }
            },
        )
    };
    let seen = seen.lock().unwrap().clone();
    assert_eq!(seen.len(), 200);
    // Frame k was sent at T0 + k x 0.1 s (the camera connects at once).
    let (mut most_lost, mut latest) = (0, i64::MIN);
    for (at, stamps) in &seen {
        let sent = at.as_micros() as i64 / frame_us + 1;
        let lost = sent - stamps.len() as i64;
        assert!(
            (0..=8).contains(&lost),
            "at {at:?}: {lost} frames sent were not on disk"
        );
        most_lost = most_lost.max(lost);
        for (k, t) in stamps.iter().enumerate() {
            latest = latest.max(t - (T0 + k as i64 * frame_us));
        }
    }
    // And it did nap: some moments find the nap's frames still unread.
    assert!(
        most_lost >= 5,
        "never more than {most_lost} frames unread: no nap?"
    );
    // Frames are stamped up to a nap late (the stream clock slews toward their arrival),
    // never more, and still make a steady minute.
    assert!(
        (0..=nap.as_micros() as i64).contains(&latest),
        "stamped up to {latest} µs late"
    );
    assert_eq!(out.names(), ["cam.20261123.1400.mp4"]);
    assert_clean(&out.files, 0.1 * 1.006);
    assert_spacing(&out.files, 0.1);
}

/// The stamps of the frames (not the configuration records) that the chunk at `path`
/// holds whole on disk now.
fn frame_stamps(path: &Path) -> Vec<i64> {
    let Ok(f) = std::fs::File::open(path) else {
        return Vec::new();
    };
    let mut r = pinvr::chunk::ChunkReader::new(std::io::BufReader::new(f));
    let (mut buf, mut stamps) = (Vec::new(), Vec::new());
    while let Some(rec) = r.next_into(&mut buf).unwrap() {
        if !pinvr::chunk::Summary::of(pinvr::codec::Codec::H264, &buf).params_only {
            stamps.push(rec.time_us);
        }
    }
    stamps
}
