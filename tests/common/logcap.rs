//! Captures log lines in-process, per thread, for tests that run pinvr's library and count
//! what it logged (a camera loop on the test's own thread logs on that thread).

use std::sync::{Mutex, Once};
use std::thread::ThreadId;

/// Every line logged so far, with the thread that logged it.
static LINES: Mutex<Vec<(ThreadId, String)>> = Mutex::new(Vec::new());

struct Capture;

impl log::Log for Capture {
    fn enabled(&self, m: &log::Metadata) -> bool {
        m.level() <= log::Level::Info
    }

    fn log(&self, r: &log::Record) {
        if !self.enabled(r.metadata()) {
            return;
        }
        let line = format!("[{}] {}", r.level(), r.args());
        eprintln!("{line}");
        LINES
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push((std::thread::current().id(), line));
    }

    fn flush(&self) {}
}

/// Installs the capture (once per test binary).
pub fn init() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        log::set_logger(&Capture).expect("no other logger");
        log::set_max_level(log::LevelFilter::Info);
    });
}

/// The lines the calling thread logged, oldest first.
pub fn mine() -> Vec<String> {
    let me = std::thread::current().id();
    LINES
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .iter()
        .filter(|(t, _)| *t == me)
        .map(|(_, l)| l.clone())
        .collect()
}

/// Every line containing `needle`, from any thread.
pub fn matching(needle: &str) -> Vec<String> {
    LINES
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .iter()
        .filter(|(_, l)| l.contains(needle))
        .map(|(_, l)| l.clone())
        .collect()
}
