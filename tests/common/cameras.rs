//! Fake IP cameras for integration tests: GStreamer's RTSP server (tests/fake_camera.py,
//! run with Debian's /usr/bin/python3) looping a pre-encoded clip on a free 127.0.0.1
//! port. A camera can be stopped, restarted on the same port, paused and resumed.

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
    /// The clip it loops.
    clip: PathBuf,
    /// Required credentials, if any.
    auth: Option<(String, String)>,
    /// The server process while running.
    child: Option<Child>,
}

impl FakeCamera {
    /// Starts a camera looping `clip`, requiring `auth` (user, password) if given.
    pub fn start(clip: &Path, auth: Option<(&str, &str)>) -> FakeCamera {
        let mut cam = FakeCamera {
            port: free_port(),
            clip: clip.to_owned(),
            auth: auth.map(|(u, p)| (u.to_owned(), p.to_owned())),
            child: None,
        };
        cam.restart();
        cam
    }

    /// The camera's URL.
    pub fn url(&self) -> String {
        format!("rtsp://127.0.0.1:{}/stream", self.port)
    }

    /// (Re)starts the server on the same port and waits for it to listen.
    pub fn restart(&mut self) {
        assert!(self.child.is_none(), "camera already running");
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fake_camera.py");
        let mut cmd = Command::new("/usr/bin/python3");
        cmd.arg(script)
            .args(["--port", &self.port.to_string(), "--clip"])
            .arg(&self.clip)
            .stdout(Stdio::piped())
            .stderr(std::fs::File::create(self.log_path()).unwrap());
        if let Some((u, p)) = &self.auth {
            cmd.args(["--user", u, "--password", p]);
        }
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

/// Sends `SIG<name>` to a child process.
pub fn signal(child: &Child, name: &str) {
    let status = Command::new("kill")
        .args([&format!("-{name}"), &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success(), "kill -{name} failed");
}
