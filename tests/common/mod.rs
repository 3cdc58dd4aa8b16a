//! Fixtures shared by the integration tests: H.264 and H.265 clips made with ffmpeg (cached
//! per test build), ffprobe/ffmpeg as judges of our MP4s and JPEGs, and the built `pinvr` binary.
#![allow(dead_code)]

pub mod broker;
pub mod browser;
pub mod cameras;
pub mod daemon;
pub mod disk;
pub mod http;
pub mod logcap;
pub mod s3;

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

    /// A camera-like clip made by tests/make_clip.sh once per build and returns its path:
    /// `size` (`"640x360"`), `fps`, `seconds` long, a key frame every `gop` frames, no
    /// B-frames, 500 kbit/s, `codec` `"h264"` or `"h265"`. `name` begins its file name.
    pub fn make(name: &str, size: &str, fps: u32, seconds: u32, gop: u32, codec: &str) -> PathBuf {
        let _guard = ENCODING.lock().unwrap_or_else(|e| e.into_inner());
        let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("clips");
        std::fs::create_dir_all(&dir).unwrap();
        let out = dir.join(format!(
            "{name}-{size}-{fps}fps-{seconds}s-g{gop}-{codec}.mp4"
        ));
        if !out.exists() {
            let tmp = dir.join(format!("{name}-{}.tmp.mp4", std::process::id()));
            let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/make_clip.sh");
            let status = Command::new("bash")
                .arg(script)
                .arg(&tmp)
                .args([
                    size,
                    &fps.to_string(),
                    &seconds.to_string(),
                    &gop.to_string(),
                    "500k",
                    codec,
                ])
                .status()
                .expect("bash and ffmpeg must be installed (see .ci/run)");
            assert!(
                status.success(),
                "make_clip.sh failed to make {}",
                out.display()
            );
            std::fs::rename(&tmp, &out).unwrap();
        }
        out
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

/// What `ffmpeg -v error -i path -enc_time_base -1 -f null -` prints: empty for a clean file.
pub fn decode_errors(path: &Path) -> String {
    let out = Command::new("ffmpeg")
        .args(["-nostdin", "-v", "error", "-i"])
        .arg(path)
        // Frames keep the file's 90 kHz times: re-timed to 1/fps, two frames 0.1 s apart
        // whose times straddle a half tick round to one, and the null muxer complains
        // ("non monotonically increasing dts") though every frame decodes.
        .args(["-enc_time_base", "-1", "-f", "null", "-"])
        .output()
        .expect("ffmpeg must be installed");
    let mut text = String::from_utf8_lossy(&out.stderr).into_owned();
    if !out.status.success() {
        text.push_str(&format!("\n(exit {})", out.status));
    }
    text
}

/// MD5 of each decoded frame of `path` at its own size, in presentation order (ffmpeg's
/// framemd5 with `-autoscale 0`): equal lists mean bit-exact pictures.
pub fn frame_md5s(path: &Path) -> Vec<String> {
    let out = Command::new("ffmpeg")
        .args(["-nostdin", "-v", "error", "-i"])
        .arg(path)
        .args(["-map", "0:v", "-autoscale", "0", "-f", "framemd5", "-"])
        .output()
        .expect("ffmpeg must be installed");
    assert!(
        out.status.success(),
        "ffmpeg could not decode {}",
        path.display()
    );
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter(|l| !l.starts_with('#'))
        .filter_map(|l| l.rsplit(',').next().map(|s| s.trim().to_owned()))
        .collect()
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
    day_files(dir, "mp4")
}

/// The files named `*.<ext>` in the day folders of a camera folder `dir`, sorted.
pub fn day_files(dir: &Path, ext: &str) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for day in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        for f in std::fs::read_dir(day.path())
            .into_iter()
            .flatten()
            .flatten()
        {
            if f.path().extension().is_some_and(|e| e == ext) {
                out.push(f.path());
            }
        }
    }
    out.sort();
    out
}

/// Seconds since the Unix epoch on the real clock.
pub fn now_s() -> f64 {
    pinvr::time::now_micros() as f64 / 1e6
}

/// Waits until `cond` holds, polling every 50 ms, or panics saying `what` after `timeout`.
pub fn wait_until(what: &str, timeout: std::time::Duration, mut cond: impl FnMut() -> bool) {
    let deadline = std::time::Instant::now() + timeout;
    while !cond() {
        assert!(
            std::time::Instant::now() < deadline,
            "timed out waiting for {what} (within {timeout:?})"
        );
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
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

/// Records that a test could not run here, and why: printed, and listed in the summary of
/// scripts/test (which fails on CI for a skip it does not allow).
pub fn skip(test: &str, why: &str) {
    eprintln!("SKIPPED: {test}: {why}");
    if let Ok(path) = std::env::var("PINVR_SKIPS") {
        use std::io::Write;
        if let Ok(mut f) = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
        {
            let _ = writeln!(f, "[tests] SKIPPED: {test}: {why}");
        }
    }
}

/// Writes minute `minute` of `camera` under `data` (`<data>/<camera>/YYYYMMDD/...`) from
/// `clip`, its first frame `offset_us` after the minute begins, as pinvr finishes a minute
/// (MP4 and both JPEGs); returns the MP4's path.
pub fn write_minute(
    data: &Path,
    camera: &str,
    minute: i64,
    clip: &Path,
    offset_us: i64,
) -> PathBuf {
    use pinvr::layout::{FileKind, minute_path};
    let chunk = minute_path(&data.join(camera), camera, minute, FileKind::Chunk);
    std::fs::create_dir_all(chunk.parent().unwrap()).unwrap();
    pinvr::fixture::mp4_to_chunk(&[clip], &chunk, minute * 60_000_000 + offset_us).unwrap();
    pinvr::finish::finish_chunk(&chunk).unwrap().mp4
}

/// Records `clip` as camera `camera` would have: its frames from wall-clock time `t0_us`,
/// cut into minute files at the first key frame of each minute, finished as pinvr finishes
/// a minute (MP4, JPEGs, signature). Minutes in `skip` (minutes since the epoch) are left
/// out, as if the camera had been down. Returns the MP4s.
pub fn write_day(data: &Path, camera: &str, t0_us: i64, clip: &Path, skip: &[i64]) -> Vec<PathBuf> {
    use pinvr::layout::{FileKind, minute_path};
    let c = pinvr::fixture::read_clip(clip).unwrap();
    let mut out = Vec::new();
    let mut writer: Option<(i64, pinvr::chunk::ChunkWriter, PathBuf)> = None;
    let finish = |w: Option<(i64, pinvr::chunk::ChunkWriter, PathBuf)>, out: &mut Vec<PathBuf>| {
        if let Some((_, w, chunk)) = w {
            w.finish().unwrap();
            out.push(pinvr::finish::finish_chunk(&chunk).unwrap().mp4);
        }
    };
    for f in &c.frames {
        let t = t0_us + f.pts * 100 / 9;
        let minute = t.div_euclid(60_000_000);
        let open_minute = writer.as_ref().map(|w| w.0);
        if f.key && open_minute.is_none_or(|m| minute > m) {
            finish(writer.take(), &mut out);
            if !skip.contains(&minute) {
                let chunk = minute_path(&data.join(camera), camera, minute, FileKind::Chunk);
                std::fs::create_dir_all(chunk.parent().unwrap()).unwrap();
                let mut w = pinvr::chunk::ChunkWriter::create(&chunk, 1 << 20).unwrap();
                w.append(t, &c.params.to_access_unit()).unwrap();
                writer = Some((minute, w, chunk));
            }
        }
        if let Some((m, w, _)) = &mut writer
            && (*m == minute || !f.key)
            && !skip.contains(m)
        {
            w.append(t, &f.data).unwrap();
        }
    }
    finish(writer, &mut out);
    out
}
