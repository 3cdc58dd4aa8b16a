//! Fixtures shared by the integration tests: H.264 clips made with ffmpeg (cached per test
//! build), ffprobe/ffmpeg as judges of our MP4s and JPEGs, and the built `pinvr` binary.
#![allow(dead_code)]

pub mod browser;
pub mod cameras;
pub mod daemon;
pub mod disk;
pub mod http;

use std::path::{Path, PathBuf};
use std::process::Command;

/// Serialises fixture encoding between the tests of one binary (they run as threads of one
/// process, so a per-process temporary name alone would collide).
static ENCODING: std::sync::Mutex<()> = std::sync::Mutex::new(());

/// The `pinvr` binary cargo built for these tests.
pub fn pinvr() -> Command {
    Command::new(env!("CARGO_BIN_EXE_pinvr"))
}

/// A fresh, empty scratch folder for one test.
pub fn scratch(name: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join("scratch")
        .join(name);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// How to encode a test clip.
#[derive(Clone, Debug)]
pub struct Clip {
    /// Width in pixels.
    pub width: u32,
    /// Height in pixels.
    pub height: u32,
    /// Frames per second.
    pub fps: u32,
    /// Length in seconds.
    pub seconds: u32,
    /// x264 profile: baseline, main, high, high444.
    pub profile: &'static str,
    /// Maximum consecutive B-frames (0 for none).
    pub bframes: u32,
    /// ffmpeg pixel format.
    pub pix_fmt: &'static str,
    /// Key frame interval in frames.
    pub gop: u32,
}

impl Clip {
    /// A small baseline clip: 320x240, 10 fps.
    pub fn small(seconds: u32) -> Clip {
        Clip {
            width: 320,
            height: 240,
            fps: 10,
            seconds,
            profile: "baseline",
            bframes: 0,
            pix_fmt: "yuv420p",
            gop: 10,
        }
    }

    /// The number of frames the clip holds.
    pub fn frames(&self) -> u32 {
        self.fps * self.seconds
    }

    /// Encodes the clip (once per build) and returns its path.
    pub fn mp4(&self) -> PathBuf {
        let _guard = ENCODING.lock().unwrap_or_else(|e| e.into_inner());
        let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("clips");
        std::fs::create_dir_all(&dir).unwrap();
        let name = format!(
            "{}x{}-{}fps-{}s-{}-bf{}-{}-g{}.mp4",
            self.width,
            self.height,
            self.fps,
            self.seconds,
            self.profile,
            self.bframes,
            self.pix_fmt,
            self.gop
        );
        let out = dir.join(name);
        if out.exists() {
            return out;
        }
        let tmp = out.with_extension(format!("{}.mp4", std::process::id()));
        let src = format!(
            "testsrc2=size={}x{}:rate={}:duration={}",
            self.width, self.height, self.fps, self.seconds
        );
        let status = Command::new("ffmpeg")
            .args([
                "-v", "error", "-y", "-f", "lavfi", "-i", &src, "-c:v", "libx264",
            ])
            .args([
                "-profile:v",
                self.profile,
                "-pix_fmt",
                self.pix_fmt,
                "-preset",
                "veryfast",
            ])
            .args([
                "-bf",
                &self.bframes.to_string(),
                "-g",
                &self.gop.to_string(),
            ])
            .args(["-keyint_min", &self.gop.to_string(), "-sc_threshold", "0"])
            .args(["-b:v", "400k", "-movflags", "+faststart"])
            .arg(&tmp)
            .status()
            .expect("ffmpeg must be installed (see .ci/run)");
        assert!(status.success(), "ffmpeg failed to make {}", out.display());
        std::fs::rename(&tmp, &out).unwrap();
        out
    }
}

/// Runs ffprobe and returns its JSON output.
pub fn ffprobe(path: &Path, extra: &[&str]) -> serde_json::Value {
    let out = Command::new("ffprobe")
        .args(["-v", "error", "-print_format", "json"])
        .args(extra)
        .arg(path)
        .output()
        .expect("ffprobe must be installed");
    assert!(
        out.status.success(),
        "ffprobe {}: {}",
        path.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

/// Facts ffprobe reports about the video stream of an MP4.
#[derive(Debug)]
pub struct Probe {
    /// Codec name (`h264`).
    pub codec: String,
    /// Width of the first sample description.
    pub width: u64,
    /// Height of the first sample description.
    pub height: u64,
    /// Frames counted by decoding.
    pub frames: u64,
    /// Container duration in seconds.
    pub duration: f64,
    /// Stream start time in seconds.
    pub start: f64,
    /// Profile name.
    pub profile: String,
}

/// Probes the first video stream of `path`, counting frames by decoding.
pub fn probe(path: &Path) -> Probe {
    let v = ffprobe(
        path,
        &[
            "-count_frames",
            "-show_streams",
            "-show_format",
            "-select_streams",
            "v:0",
        ],
    );
    let s = &v["streams"][0];
    let num = |x: &serde_json::Value| -> f64 {
        x.as_str().and_then(|s| s.parse().ok()).unwrap_or(f64::NAN)
    };
    Probe {
        codec: s["codec_name"].as_str().unwrap_or_default().to_owned(),
        width: s["width"].as_u64().unwrap_or(0),
        height: s["height"].as_u64().unwrap_or(0),
        frames: num(&s["nb_read_frames"]) as u64,
        duration: num(&v["format"]["duration"]),
        start: num(&s["start_time"]),
        profile: s["profile"].as_str().unwrap_or_default().to_owned(),
    }
}

/// What `ffmpeg -v error -i path -f null -` prints: empty for a clean file.
pub fn decode_errors(path: &Path) -> String {
    let out = Command::new("ffmpeg")
        .args(["-nostdin", "-v", "error", "-i"])
        .arg(path)
        .args(["-f", "null", "-"])
        .output()
        .expect("ffmpeg must be installed");
    let mut text = String::from_utf8_lossy(&out.stderr).into_owned();
    if !out.status.success() {
        text.push_str(&format!("\n(exit {})", out.status));
    }
    text
}

/// Width and height of a JPEG, as decoded by ffprobe.
pub fn image_size(path: &Path) -> (u64, u64) {
    let v = ffprobe(path, &["-show_streams"]);
    let s = &v["streams"][0];
    assert_eq!(s["codec_name"], "mjpeg", "{}", path.display());
    (s["width"].as_u64().unwrap(), s["height"].as_u64().unwrap())
}

/// Fixed start time used for chunks made from clips: 2026-11-23 14:00:00 UTC.
pub const T0_US: i64 = 1_795_442_400_000_000;

/// A camera-like clip for the fake cameras: 320x240, 10 fps, 10 s, 1 s GOP, no B-frames,
/// made by tests/make_clip.sh once per build.
pub fn camera_clip() -> PathBuf {
    let _guard = ENCODING.lock().unwrap_or_else(|e| e.into_inner());
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("clips");
    std::fs::create_dir_all(&dir).unwrap();
    let out = dir.join("camera-320x240-10fps.mp4");
    if !out.exists() {
        let tmp = dir.join(format!("camera-{}.mp4", std::process::id()));
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/make_clip.sh");
        let status = Command::new("bash")
            .arg(script)
            .arg(&tmp)
            .args(["320x240", "10", "10", "10", "300k"])
            .status()
            .unwrap();
        assert!(status.success());
        std::fs::rename(&tmp, &out).unwrap();
    }
    out
}

/// Wall-clock presentation times (seconds since the epoch) of every frame of a minute file
/// pinvr wrote, from its recorded start and ffprobe's packet times, sorted.
pub fn timeline(mp4: &Path) -> Vec<f64> {
    let start = pinvr::mp4::start_us(mp4)
        .unwrap()
        .expect("pinvr start time") as f64
        / 1e6;
    let out = Command::new("ffprobe")
        .args([
            "-v",
            "error",
            "-select_streams",
            "v:0",
            "-show_entries",
            "packet=pts_time",
        ])
        .args(["-of", "csv=p=0"])
        .arg(mp4)
        .output()
        .unwrap();
    let mut t: Vec<f64> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| l.trim().trim_end_matches(',').parse::<f64>().ok())
        .map(|p| start + p)
        .collect();
    t.sort_by(f64::total_cmp);
    t
}

/// Container duration of an MP4 in seconds (ffprobe).
pub fn duration(mp4: &Path) -> f64 {
    let v = ffprobe(mp4, &["-show_format"]);
    v["format"]["duration"].as_str().unwrap().parse().unwrap()
}

/// The finished minute files of `camera` under `dir` (`<dir>/<day>/*.mp4`), in time order.
pub fn minutes(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for day in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        for f in std::fs::read_dir(day.path())
            .into_iter()
            .flatten()
            .flatten()
        {
            if f.path().extension().is_some_and(|e| e == "mp4") {
                out.push(f.path());
            }
        }
    }
    out.sort();
    out
}

/// Asserts that each minute file ends where the next begins, within `tolerance` seconds
/// (wall-clock start from pinvr's udta box plus ffprobe's duration).
pub fn assert_minutes_meet(files: &[PathBuf], tolerance: f64) {
    let start = |f: &Path| pinvr::mp4::start_us(f).unwrap().unwrap() as f64 / 1e6;
    for pair in files.windows(2) {
        let end = start(&pair[0]) + duration(&pair[0]);
        let next = start(&pair[1]);
        assert!(
            (next - end).abs() <= tolerance,
            "{} ends at {end:.3}, {} starts at {next:.3}",
            pair[0].display(),
            pair[1].display()
        );
    }
}

/// The text between the first `before` and the next `after` in `text`.
pub fn between(text: &str, before: &str, after: &str) -> String {
    let rest = text
        .split(before)
        .nth(1)
        .unwrap_or_else(|| panic!("no {before:?} in {text}"));
    rest.split(after).next().unwrap().to_owned()
}
