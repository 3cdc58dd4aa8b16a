//! `pinvr run --config FILE [--listen ADDR]`: the daemon (`--listen` overrides
//! `web.listen`, e.g. when the file cannot be read). Serves the web UI, finishes leftover minutes, then
//! records every enabled camera until SIGTERM or SIGINT, when it finishes the open minutes
//! and exits. An invalid config file does not stop it: the web UI shows the error and offers
//! the form, and recording starts once the file is valid.

use super::args::Args;
use crate::app::App;
use crate::error::{Error, Result};
use std::path::PathBuf;
use std::sync::Arc;

/// Runs the subcommand.
pub fn run(mut args: Args) -> Result<()> {
    let path = args
        .value("--config")?
        .map(PathBuf::from)
        .ok_or_else(|| Error::invalid("run: --config FILE is required"))?;
    let listen = args
        .value("--listen")?
        .map(|a| {
            a.parse::<std::net::SocketAddr>()
                .map_err(|_| Error::invalid(format!("run: --listen {a:?} is not address:port")))
        })
        .transpose()?;
    args.positionals(0, 0)?;
    let stop = crate::supervisor::stop_on_signals()?;
    for f in crate::config::remove_leftovers(&path) {
        log::info!(
            "removed {}, left by a save that a crash or power cut interrupted",
            f.display()
        );
    }
    let app = Arc::new(App::load(path));
    let loaded = app.loaded();
    log::info!(
        "pinvr {}: {} camera(s), recordings in {}",
        env!("CARGO_PKG_VERSION"),
        loaded.config.cameras.len(),
        loaded.config.data_dir.display()
    );
    let nofile = raise_open_files();
    let web = crate::web::start(
        app.clone(),
        listen.unwrap_or(loaded.config.web.listen),
        crate::web::connection_limit(nofile),
    )?;
    // Tests and scripts read the bound address here (a listen port of 0 picks a free one).
    println!("listening on http://{}/", web.addr);
    let result = crate::supervisor::run(app, crate::supervisor::Services::real(), stop);
    web.stop();
    result
}

/// Raises the open-file limit to the hard limit (connections, cameras and files each take
/// one) and returns the limit in force.
// rlim_t is u32 on 32-bit ARM (the armv7 build) and u64 elsewhere, where `from` changes
// nothing.
#[allow(clippy::useless_conversion)]
fn raise_open_files() -> u64 {
    use nix::sys::resource::{Resource, getrlimit, setrlimit};
    let Ok((soft, hard)) = getrlimit(Resource::RLIMIT_NOFILE) else {
        return 1024;
    };
    if soft < hard {
        match setrlimit(Resource::RLIMIT_NOFILE, hard, hard) {
            Ok(()) => {
                log::info!("open files: limit raised from {soft} to {hard}");
                return u64::from(hard);
            }
            Err(e) => log::warn!("open files: cannot raise the limit of {soft}: {e}"),
        }
    }
    u64::from(soft)
}
