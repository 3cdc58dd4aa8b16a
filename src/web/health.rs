//! `GET /healthz`: 200 `ok` when every enabled camera received a frame within the gap
//! timeout and every storage folder is writable; 503 with the reasons otherwise. It answers
//! without a session (a container or monitoring probe has none), so without one it names
//! no camera: only how many are failing; with a session or token it says which and why.

use super::ctx::Ctx;
use super::reply::Reply;

/// The health answer; `detail` when the caller may see camera names.
pub fn health(ctx: &Ctx, detail: bool) -> Reply {
    let app = &ctx.app;
    let loaded = app.loaded();
    let status = app.status.snapshot();
    let now = crate::time::now_micros();
    let gap = loaded.config.retry.gap_timeout.as_micros() as i64;
    let mut problems = Vec::new();
    let mut failing = 0;
    for c in loaded.config.cameras.iter().filter(|c| c.enabled) {
        let s = status.get(&c.id);
        let age = s
            .filter(|s| s.last_frame_us > 0)
            .map(|s| now - s.last_frame_us);
        if age.is_none_or(|a| a > gap) {
            failing += 1;
            let why = match (age, s.and_then(|s| s.last_error.as_deref())) {
                (None, Some(e)) => format!("no frame yet ({e})"),
                (None, None) => "no frame yet".to_owned(),
                (Some(a), e) => format!(
                    "no frame for {:.0} s{}",
                    a as f64 / 1e6,
                    e.map_or(String::new(), |e| format!(" ({e})"))
                ),
            };
            problems.push(format!("camera {}: {why}", c.id));
        }
    }
    let mut dirs = vec![loaded.config.data_dir.clone()];
    dirs.extend(
        loaded
            .config
            .cameras
            .iter()
            .filter(|c| c.enabled)
            .map(|c| c.dir.clone()),
    );
    dirs.sort();
    dirs.dedup();
    let mut disks = 0;
    for d in &dirs {
        if let Err(why) = writable(d) {
            disks += 1;
            problems.push(format!("{}: {why}", d.display()));
        }
    }
    if problems.is_empty() {
        return Reply::text(200, "ok").header("Cache-Control", "no-store");
    }
    let body = if detail {
        problems.join("\n")
    } else {
        let mut parts = Vec::new();
        if failing > 0 {
            parts.push(format!("{failing} camera(s) not recording"));
        }
        if disks > 0 {
            parts.push(format!("{disks} storage folder(s) not writable"));
        }
        format!("{} (log in for details)", parts.join("; "))
    };
    Reply::text(503, body).header("Cache-Control", "no-store")
}

/// Whether pinvr can write in `dir`: it exists (or its parent does, for a camera that has
/// not recorded yet), the filesystem is not read-only and has space.
fn writable(dir: &std::path::Path) -> Result<(), &'static str> {
    let at = if dir.exists() {
        dir
    } else {
        dir.parent()
            .filter(|p| p.exists())
            .ok_or("does not exist")?
    };
    let s = nix::sys::statvfs::statvfs(at).map_err(|_| "cannot be read")?;
    if s.flags().contains(nix::sys::statvfs::FsFlags::ST_RDONLY) {
        return Err("read-only");
    }
    if s.blocks_available() == 0 {
        return Err("full");
    }
    Ok(())
}
