//! Fake IP cameras for integration tests: GStreamer's RTSP server (run with Debian's
//! /usr/bin/python3) on a free 127.0.0.1 port, looping pre-encoded H.264 or H.265 clips,
//! one per mount path and optionally with live G.711 audio (tests/fake_camera.py), or
//! encoding a picture that changes colour every wall-clock second as it goes
//! (tests/live_camera.py). A camera can be stopped, restarted on the same port, paused and
//! resumed. A lossy link can be put in front of one (tests/loss_relay.py).

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

/// How long a camera may take to print READY.
const READY_TIMEOUT: Duration = Duration::from_secs(30);

/// A free TCP port on 127.0.0.1, chosen by the kernel.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// One fake camera process.
pub struct FakeCamera {
    /// Its RTSP port.
    pub port: u16,
    /// The script (in tests/) and its arguments but the port.
    script: &'static str,
    args: Vec<std::ffi::OsString>,
    /// The stream's path (the first mount's).
    path: String,
    /// The server process while running.
    child: Option<Child>,
}

impl FakeCamera {
    /// Starts a camera looping `clip`, requiring `auth` (user, password) if given.
    pub fn start(clip: &Path, auth: Option<(&str, &str)>) -> FakeCamera {
        let mut args = vec!["--clip".into(), clip.as_os_str().to_owned()];
        if let Some((u, p)) = auth {
            args.extend(["--user".into(), u.into(), "--password".into(), p.into()]);
        }
        FakeCamera::spawn("fake_camera.py", args, "/stream".into())
    }

    /// Starts a camera looping `clip` over a lossy link: `loss` of its video's RTP
    /// packets are dropped after they were numbered.
    pub fn lossy(clip: &Path, loss: f64) -> FakeCamera {
        let args = vec![
            "--clip".into(),
            clip.as_os_str().to_owned(),
            "--loss".into(),
            loss.to_string().into(),
        ];
        FakeCamera::spawn("fake_camera.py", args, "/stream".into())
    }

    /// Starts `script` (in tests/) with `args` on a free port, serving `path`.
    fn spawn(script: &'static str, args: Vec<std::ffi::OsString>, path: String) -> FakeCamera {
        let mut cam = FakeCamera {
            port: free_port(),
            script,
            args,
            path,
            child: None,
        };
        cam.restart();
        cam
    }

    /// Starts a camera serving each `(path, clip)` of `mounts` at its path, each on its own
    /// timeline (a camera's main and sub streams, say), with a live audio stream beside every
    /// video if `audio`, requiring `auth` (user, password) on every mount if given. `url()` is
    /// the first mount's; `url_of()` names the others.
    pub fn mounts(mounts: &[(&str, &Path)], audio: bool, auth: Option<(&str, &str)>) -> FakeCamera {
        assert!(!mounts.is_empty(), "a camera needs at least one mount");
        let mut args: Vec<std::ffi::OsString> = Vec::new();
        for (path, clip) in mounts {
            let mut mount = std::ffi::OsString::from(mount_path(path));
            mount.push("=");
            mount.push(clip.as_os_str());
            args.extend(["--mount".into(), mount]);
        }
        if audio {
            args.push("--audio".into());
        }
        if let Some((u, p)) = auth {
            args.extend(["--user".into(), u.into(), "--password".into(), p.into()]);
        }
        FakeCamera::spawn("fake_camera.py", args, mount_path(mounts[0].0))
    }

    /// Starts a live-encoding camera (tests/live_camera.py) with `args` (`--size`,
    /// `--fps`, `--gop`, `--switch-every`).
    pub fn live(args: &[&str]) -> FakeCamera {
        FakeCamera::spawn(
            "live_camera.py",
            args.iter().map(Into::into).collect(),
            "/live".into(),
        )
    }

    /// The camera's URL.
    pub fn url(&self) -> String {
        format!("rtsp://127.0.0.1:{}{}", self.port, self.path)
    }

    /// The URL of the mount at `path` on this camera's server (another of the paths given
    /// to `mounts()`), of the same form as `url()`.
    pub fn url_of(&self, path: &str) -> String {
        format!("rtsp://127.0.0.1:{}{}", self.port, mount_path(path))
    }

    /// (Re)starts the server on the same port and waits for it to listen.
    pub fn restart(&mut self) {
        assert!(self.child.is_none(), "camera already running");
        let script = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests")
            .join(self.script);
        let mut cmd = Command::new("/usr/bin/python3");
        cmd.arg(script)
            .args(["--port", &self.port.to_string()])
            .args(&self.args)
            .stdout(Stdio::piped())
            .stderr(std::fs::File::create(self.log_path()).unwrap());
        let mut child = cmd
            .spawn()
            .expect("/usr/bin/python3 with GStreamer (scripts/deps)");
        let stdout = child.stdout.take().unwrap();
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if line.starts_with("READY") {
                    let _ = tx.send(());
                }
            }
        });
        if rx.recv_timeout(READY_TIMEOUT).is_err() {
            let _ = child.kill();
            let _ = child.wait();
            panic!(
                "fake camera on port {} never became ready:\n{}",
                self.port,
                std::fs::read_to_string(self.log_path()).unwrap_or_default()
            );
        }
        self.child = Some(child);
    }

    /// Where the server's stderr goes.
    fn log_path(&self) -> PathBuf {
        let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("cameras");
        std::fs::create_dir_all(&dir).unwrap();
        dir.join(format!("{}.log", self.port))
    }

    /// Stops the server (SIGTERM) and waits for it to exit.
    pub fn stop(&mut self) {
        if let Some(mut c) = self.child.take() {
            signal(&c, "TERM");
            let _ = c.wait();
        }
    }

    /// Freezes the server (SIGSTOP): the connection stays open but goes silent.
    pub fn pause(&self) {
        signal(self.child.as_ref().unwrap(), "STOP");
    }

    /// Resumes a paused server (SIGCONT).
    pub fn resume(&self) {
        signal(self.child.as_ref().unwrap(), "CONT");
    }
}

impl Drop for FakeCamera {
    fn drop(&mut self) {
        if let Some(mut c) = self.child.take() {
            signal(&c, "CONT");
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

/// A lossy network in front of a camera: tests/loss_relay.py passes RTSP through and drops
/// a share of the RTP it relays over UDP.
pub struct LossRelay {
    /// Its RTSP port.
    pub port: u16,
    child: Child,
    lines: mpsc::Receiver<String>,
}

impl LossRelay {
    /// A relay in front of `camera` dropping `loss` of its RTP packets (seeded: the same
    /// packets each run).
    pub fn start(camera: &FakeCamera, loss: f64) -> LossRelay {
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/loss_relay.py");
        let mut child = Command::new("/usr/bin/python3")
            .arg(script)
            .args(["--camera", &format!("127.0.0.1:{}", camera.port)])
            .args(["--loss", &loss.to_string()])
            .stdout(Stdio::piped())
            .spawn()
            .expect("/usr/bin/python3");
        let stdout = child.stdout.take().unwrap();
        let (tx, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                let _ = tx.send(line);
            }
        });
        let port = lines
            .recv_timeout(READY_TIMEOUT)
            .ok()
            .and_then(|l| l.strip_prefix("READY ")?.parse().ok())
            .expect("loss_relay.py did not start");
        LossRelay { port, child, lines }
    }

    /// The camera's URL through the relay (`camera`'s path).
    pub fn url(&self, camera: &FakeCamera) -> String {
        format!("rtsp://127.0.0.1:{}{}", self.port, camera.path)
    }

    /// Stops the relay: the RTP packets it dropped, and all it saw.
    pub fn stop(mut self) -> (u64, u64) {
        signal(&self.child, "TERM");
        let line = self
            .lines
            .recv_timeout(Duration::from_secs(10))
            .expect("loss_relay.py's counts");
        let _ = self.child.wait();
        let words: Vec<&str> = line.split(' ').collect();
        match words.as_slice() {
            ["DROPPED", d, "OF", n] => (d.parse().unwrap(), n.parse().unwrap()),
            _ => panic!("loss_relay.py said {line:?}"),
        }
    }
}

impl Drop for LossRelay {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `path` with a leading `/`, as fake_camera.py mounts it.
fn mount_path(path: &str) -> String {
    if path.starts_with('/') {
        path.to_owned()
    } else {
        format!("/{path}")
    }
}

/// Sends `SIG<name>` to a child process.
pub fn signal(child: &Child, name: &str) {
    let status = Command::new("kill")
        .args([&format!("-{name}"), &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success(), "kill -{name} failed");
}
