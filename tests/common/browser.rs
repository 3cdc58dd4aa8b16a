//! Runs the Playwright scripts of tests/browser against a running pinvr (skipped, and
//! said, when playwright-core is not installed).

use super::daemon::{PASSWORD, Pinvr};
use std::path::Path;
use std::process::Command;

/// Runs a browser script against pinvr at `p`; returns its RESULTS line, parsed.
pub fn run_script(script: &str, p: &Pinvr, downloads: &Path) -> Option<serde_json::Value> {
    run_script_with(script, p, downloads, &[])
}

/// [`run_script`] with extra environment variables.
pub fn run_script_with(
    script: &str,
    p: &Pinvr,
    downloads: &Path,
    env: &[(&str, String)],
) -> Option<serde_json::Value> {
    let here = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/browser");
    if !here.join("node_modules/playwright-core").exists() {
        super::skip(
            script,
            "playwright-core is not installed (scripts/deps installs it)",
        );
        return None;
    }
    let shots = Path::new(env!("CARGO_TARGET_TMPDIR")).join("screenshots");
    // Ten minutes, plus however long a script is asked to measure.
    let extra: u64 = env
        .iter()
        .find(|(k, _)| *k == "PINVR_LIVE_SECONDS")
        .and_then(|(_, v)| v.parse().ok())
        .unwrap_or(0);
    let out = Command::new("timeout")
        .args(["-k", "10", &(600 + extra).to_string(), "node", script])
        .current_dir(&here)
        .env("PINVR_BASE", format!("http://{}", p.addr))
        .env("PINVR_PASSWORD", PASSWORD)
        .env("PINVR_SHOTS", &shots)
        .env("PINVR_DOWNLOADS", downloads)
        .envs(env.iter().map(|(k, v)| (k, v)))
        .output()
        .expect("node must be installed (scripts/deps)");
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "{script} failed:\n{text}\n{err}\npinvr's log:\n{}",
        p.log_text()
    );
    eprintln!("{text}");
    let line = text.lines().find_map(|l| l.strip_prefix("RESULTS "))?;
    Some(serde_json::from_str(line).unwrap())
}
