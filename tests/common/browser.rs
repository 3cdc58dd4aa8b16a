//! Headless Chromium (Debian's package) for page checks: screenshots at a given width, the
//! DOM after scripts ran, and the console messages pages logged (which must be none).

use std::path::Path;
use std::process::Command;

/// The browser binary.
pub const CHROMIUM: &str = "/usr/bin/chromium";

/// Runs Chromium headless on `url` with `args`; returns (stdout, console lines).
fn run(url: &str, args: &[String]) -> (String, Vec<String>) {
    let profile = tempdir();
    // Bounded: a browser that hangs is killed and the test fails with what it printed.
    let out = Command::new("timeout")
        .args(["-k", "5", "60", CHROMIUM])
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
    assert!(
        out.status.code() != Some(124),
        "chromium hung on {url}:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let console = String::from_utf8_lossy(&out.stderr)
        .lines()
        .filter(|l| l.contains("CONSOLE"))
        .map(str::to_owned)
        .collect();
    (String::from_utf8_lossy(&out.stdout).into_owned(), console)
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
