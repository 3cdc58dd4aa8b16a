//! Runs `pinvr run` against a config for integration tests: stderr goes to a log file that
//! tests poll for expected lines, with deadlines rather than sleeps.

use super::cameras::signal;
use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

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
}

impl Pinvr {
    /// Writes `config` (JSON) to `dir/pinvr.json` and starts pinvr on it, logging to
    /// `dir/pinvr.log` (appending, so restarts keep one log).
    pub fn start(dir: &Path, config: &serde_json::Value) -> Pinvr {
        Pinvr::start_with_env(dir, config, &[])
    }

    /// [`Pinvr::start`] with extra environment variables.
    pub fn start_with_env(dir: &Path, config: &serde_json::Value, env: &[(&str, &str)]) -> Pinvr {
        let path = dir.join("pinvr.json");
        std::fs::write(&path, serde_json::to_string_pretty(config).unwrap()).unwrap();
        let mut p = Pinvr {
            child: None,
            log: dir.join("pinvr.log"),
            config: path,
            env: env
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        };
        p.restart();
        p
    }

    /// Starts pinvr again on the same config and log.
    pub fn restart(&mut self) {
        assert!(self.child.is_none());
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.log)
            .unwrap();
        let child = super::pinvr()
            .envs(self.env.iter().map(|(k, v)| (k, v)))
            .args(["run", "--config"])
            .arg(&self.config)
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .unwrap();
        self.child = Some(child);
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
