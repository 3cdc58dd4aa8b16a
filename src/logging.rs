//! Logging: simplelog writes each line to stderr and into a small in-memory ring of recent
//! lines that the status page shows. simplelog writes one line in several `write` calls
//! (under its own lock), so lines are assembled here and handed on whole.

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

/// Longest line kept whole; a longer one is cut (a log line is a sentence, not a dump).
const MAX_LINE: usize = 4096;

/// Writes whole lines to stderr and remembers them.
#[derive(Default)]
pub struct Tee {
    /// The line being assembled.
    pending: Vec<u8>,
}

impl Tee {
    /// Hands on one complete line (without its newline).
    fn line(&mut self) {
        let mut line = std::mem::take(&mut self.pending);
        line.push(b'\n');
        let _ = std::io::stderr().write_all(&line);
        if let Ok(mut r) = ring().lock() {
            if r.len() == RING_LINES {
                r.pop_front();
            }
            line.pop();
            r.push_back(String::from_utf8_lossy(&line).into_owned());
        }
    }
}

impl Write for Tee {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        for piece in buf.split_inclusive(|b| *b == b'\n') {
            let (text, ends) = match piece.strip_suffix(b"\n") {
                Some(t) => (t, true),
                None => (piece, false),
            };
            let room = MAX_LINE.saturating_sub(self.pending.len());
            self.pending
                .extend_from_slice(&text[..text.len().min(room)]);
            if ends {
                self.line();
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
    let _ = simplelog::WriteLogger::init(level, config(), Tee::default());
}

/// The logger's settings: RFC 3339 times, no thread or module names.
fn config() -> simplelog::Config {
    simplelog::ConfigBuilder::new()
        .set_time_format_rfc3339()
        .set_thread_level(log::LevelFilter::Off)
        .set_target_level(log::LevelFilter::Off)
        .build()
}

#[cfg(test)]
mod tests {
    use super::*;
    use log::Log;

    #[test]
    fn a_line_written_by_simplelog_is_one_line_in_the_ring() {
        let logger = simplelog::WriteLogger::new(log::LevelFilter::Info, config(), Tee::default());
        let marker = format!("ring-test-{}", std::process::id());
        logger.log(
            &log::Record::builder()
                .level(log::Level::Warn)
                .args(format_args!("{marker}: camera front: no frame for 5 s"))
                .build(),
        );
        let lines: Vec<String> = recent()
            .into_iter()
            .filter(|l| l.contains(&marker))
            .collect();
        assert_eq!(lines.len(), 1, "{lines:?}");
        assert!(lines[0].contains("[WARN]"), "{lines:?}");
        assert!(lines[0].ends_with("no frame for 5 s"), "{lines:?}");
        // The time stamp, level and message arrived in separate writes and are one line.
        assert!(lines[0].starts_with("20"), "{lines:?}");
    }
}
