//! Headless Chromium (Debian's package) for page checks: screenshots at a given width, the
//! DOM after scripts ran, and the console messages pages logged (which must be none).

use std::path::Path;
use std::process::Command;

/// The browser binary.
pub const CHROMIUM: &str = "/usr/bin/chromium";

/// Runs Chromium headless on `url` with `args`; returns (stdout, console lines). Headless
/// Chromium's virtual-time budget now and then never settles even though every request
/// was answered (seen under load), so a run that hangs is killed and tried again, twice.
fn run(url: &str, args: &[String]) -> (String, Vec<String>) {
    for attempt in 1..=3 {
        match run_once(url, args) {
            Some(r) => return r,
            None => eprintln!("chromium hung on {url} (attempt {attempt} of 3)"),
        }
    }
    panic!("chromium hung three times on {url}");
}

fn run_once(url: &str, args: &[String]) -> Option<(String, Vec<String>)> {
    let profile = tempdir();
    // Bounded: a browser that hangs is killed and the test fails with what it printed.
    let out = Command::new("timeout")
        .args(["-k", "5", "30", CHROMIUM])
        .env("TZ", "UTC")
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--hide-scrollbars",
            "--mute-audio",
            "--autoplay-policy=no-user-gesture-required",
            "--enable-logging=stderr",
            "--v=0",
            "--virtual-time-budget=8000",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .args(args)
        .arg(url)
        .output()
        .expect("chromium must be installed (scripts/deps)");
    let _ = std::fs::remove_dir_all(&profile);
    if out.status.code() == Some(124) {
        return None;
    }
    let console = String::from_utf8_lossy(&out.stderr)
        .lines()
        .filter(|l| l.contains("CONSOLE"))
        .map(str::to_owned)
        .collect();
    Some((String::from_utf8_lossy(&out.stdout).into_owned(), console))
}

fn tempdir() -> std::path::PathBuf {
    use std::sync::atomic::{AtomicU32, Ordering};
    static N: AtomicU32 = AtomicU32::new(0);
    let d = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!(
        "chromium-{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::SeqCst)
    ));
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// Saves a screenshot of `url` at `width` x `height` to `out`; returns console lines.
pub fn screenshot(url: &str, width: u32, height: u32, out: &Path) -> Vec<String> {
    let (_, console) = run(
        url,
        &[
            format!("--window-size={width},{height}"),
            format!("--screenshot={}", out.display()),
        ],
    );
    assert!(out.exists(), "no screenshot of {url}");
    console
}

/// The DOM of `url` after its scripts ran; and console lines.
pub fn dom(url: &str) -> (String, Vec<String>) {
    run(url, &["--dump-dom".to_owned()])
}
