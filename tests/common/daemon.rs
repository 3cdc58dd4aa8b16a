//! Runs `pinvr run` against a config for integration tests: it listens on a port of its
//! own choosing on 127.0.0.1 and prints the address, which is read back; stderr goes to a
//! log file that tests poll for expected lines, with deadlines rather than sleeps. The
//! config gets the test admin password unless the test says otherwise.

use super::cameras::signal;
use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

/// The admin password of test configs (written in clear: pinvr hashes it on first read).
pub const PASSWORD: &str = "correct horse battery";

/// A running pinvr daemon.
pub struct Pinvr {
    /// The process.
    child: Option<Child>,
    /// Its stderr.
    pub log: PathBuf,
    /// Its config file.
    pub config: PathBuf,
    /// Extra environment for the process.
    pub env: Vec<(String, String)>,
    /// A wrapper to start it under (`prlimit --nofile=...`), if any.
    pub wrapper: Vec<String>,
    /// Extra arguments of `pinvr run`.
    pub args: Vec<String>,
    /// The address it listens on.
    pub addr: SocketAddr,
}

/// `config` with what every test needs unless it says otherwise: listening on a free port
/// of 127.0.0.1, and the test admin password.
pub fn with_defaults(config: &serde_json::Value) -> serde_json::Value {
    let mut c = config.clone();
    let web = c
        .as_object_mut()
        .expect("a config object")
        .entry("web")
        .or_insert_with(|| serde_json::json!({}));
    let web = web.as_object_mut().expect("web is an object");
    web.entry("listen").or_insert("127.0.0.1:0".into());
    web.entry("admin_password").or_insert(PASSWORD.into());
    c
}

impl Pinvr {
    /// Writes `config` (JSON, with [`with_defaults`]) to `dir/pinvr.json` and starts pinvr on
    /// it, logging to `dir/pinvr.log` (appending, so restarts keep one log).
    pub fn start(dir: &Path, config: &serde_json::Value) -> Pinvr {
        Pinvr::start_with(dir, config, &[], &[])
    }

    /// [`Pinvr::start`] with extra environment variables and a wrapper command.
    pub fn start_with(
        dir: &Path,
        config: &serde_json::Value,
        env: &[(&str, &str)],
        wrapper: &[&str],
    ) -> Pinvr {
        let path = dir.join("pinvr.json");
        let config = with_defaults(config);
        std::fs::write(&path, serde_json::to_string_pretty(&config).unwrap()).unwrap();
        Pinvr::on_file(dir, &path, env, wrapper)
    }

    /// Starts pinvr on the config file `path` as it is (missing, broken, anything),
    /// logging to `dir/pinvr.log`.
    pub fn on_file(dir: &Path, path: &Path, env: &[(&str, &str)], wrapper: &[&str]) -> Pinvr {
        let mut p = Pinvr {
            child: None,
            log: dir.join("pinvr.log"),
            config: path.to_owned(),
            // The host's NTP state is not the test's business: pinvr takes its clock for
            // synchronised unless a test says otherwise (the banner it shows otherwise).
            env: std::iter::once(("PINVR_CLOCK_SYNC", "yes"))
                .filter(|(k, _)| !env.iter().any(|(e, _)| e == k))
                .chain(env.iter().copied())
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            wrapper: wrapper.iter().map(|s| s.to_string()).collect(),
            // Whatever the file says (or cannot say), tests listen on 127.0.0.1 only.
            args: vec!["--listen".into(), "127.0.0.1:0".into()],
            addr: SocketAddr::from(([127, 0, 0, 1], 0)),
        };
        p.restart();
        p
    }

    /// Starts pinvr again on the same config and log, and waits until it listens.
    pub fn restart(&mut self) {
        assert!(self.child.is_none());
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.log)
            .unwrap();
        let mut cmd = match self.wrapper.split_first() {
            Some((w, args)) => {
                let mut c = std::process::Command::new(w);
                c.args(args).arg(env!("CARGO_BIN_EXE_pinvr"));
                c
            }
            None => super::pinvr(),
        };
        let mut child = cmd
            .envs(self.env.iter().map(|(k, v)| (k, v)))
            .args(["run", "--config"])
            .arg(&self.config)
            .args(&self.args)
            .stdout(Stdio::piped())
            .stderr(log)
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if let Some(a) = line
                    .strip_prefix("listening on http://")
                    .and_then(|a| a.trim_end_matches('/').parse::<SocketAddr>().ok())
                {
                    let _ = tx.send(a);
                }
            }
        });
        self.child = Some(child);
        match rx.recv_timeout(Duration::from_secs(30)) {
            Ok(a) => self.addr = a,
            Err(_) => panic!("pinvr did not start listening:\n{}", self.log_text()),
        }
    }

    /// The process id.
    pub fn pid(&self) -> u32 {
        self.child.as_ref().expect("running").id()
    }

    /// Resident memory of the process, in KiB (`VmRSS`).
    pub fn rss_kib(&self) -> u64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.pid())).unwrap();
        status
            .lines()
            .find_map(|l| l.strip_prefix("VmRSS:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
            .unwrap()
    }

    /// True while the process runs.
    pub fn alive(&mut self) -> bool {
        self.child
            .as_mut()
            .is_some_and(|c| c.try_wait().ok().flatten().is_none())
    }

    /// The log so far.
    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Waits until the log contains `needle` (after skipping `skip` bytes); returns the
    /// time it was seen, or panics with the log after `timeout`.
    pub fn wait_log(&self, needle: &str, skip: usize, timeout: Duration) -> Instant {
        let deadline = Instant::now() + timeout;
        loop {
            let text = self.log_text();
            if text.get(skip..).is_some_and(|t| t.contains(needle)) {
                return Instant::now();
            }
            assert!(
                Instant::now() < deadline,
                "no {needle:?} in the log within {timeout:?}:\n{text}"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// Kills pinvr with SIGKILL (a crash).
    pub fn kill9(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// Stops pinvr with SIGTERM and waits; returns whether it exited with success.
    pub fn terminate(&mut self, timeout: Duration) -> bool {
        let mut c = self.child.take().expect("running");
        signal(&c, "TERM");
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(status) = c.try_wait().unwrap() {
                return status.success();
            }
            if Instant::now() > deadline {
                let _ = c.kill();
                panic!("pinvr did not exit within {timeout:?} of SIGTERM");
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Pinvr {
    fn drop(&mut self) {
        self.kill9();
    }
}
