//! Logging: simplelog writes each line to stderr and into a small in-memory ring of recent
//! lines that the status page shows.

use std::collections::VecDeque;
use std::io::Write;
use std::sync::{Mutex, OnceLock};

/// Lines kept for the status page.
const RING_LINES: usize = 200;

fn ring() -> &'static Mutex<VecDeque<String>> {
    static RING: OnceLock<Mutex<VecDeque<String>>> = OnceLock::new();
    RING.get_or_init(|| Mutex::new(VecDeque::with_capacity(RING_LINES)))
}

/// The most recent log lines, oldest first.
pub fn recent() -> Vec<String> {
    ring()
        .lock()
        .map(|r| r.iter().cloned().collect())
        .unwrap_or_default()
}

/// Writes to stderr and remembers whole lines.
struct Tee;

impl Write for Tee {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        std::io::stderr().write_all(buf)?;
        if let Ok(mut r) = ring().lock() {
            for line in String::from_utf8_lossy(buf).lines() {
                if r.len() == RING_LINES {
                    r.pop_front();
                }
                r.push_back(line.to_owned());
            }
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        std::io::stderr().flush()
    }
}

/// Installs the logger; the level comes from `PINVR_LOG` (error, warn, info, debug, trace).
pub fn init() {
    let level = match std::env::var("PINVR_LOG").as_deref() {
        Ok("error") => log::LevelFilter::Error,
        Ok("warn") => log::LevelFilter::Warn,
        Ok("debug") => log::LevelFilter::Debug,
        Ok("trace") => log::LevelFilter::Trace,
        _ => log::LevelFilter::Info,
    };
    let config = simplelog::ConfigBuilder::new()
        .set_time_format_rfc3339()
        .set_thread_level(log::LevelFilter::Off)
        .set_target_level(log::LevelFilter::Off)
        .build();
    let _ = simplelog::WriteLogger::init(level, config, Tee);
}
