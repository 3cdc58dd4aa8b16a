//! `pinvr run --config FILE`: the daemon. Finishes leftover minutes, then records every
//! enabled camera until SIGTERM or SIGINT, when it finishes the open minutes and exits.

use super::args::Args;
use crate::error::{Error, Result};
use crate::status::Status;
use std::path::PathBuf;
use std::sync::Arc;

/// Runs the subcommand.
pub fn run(mut args: Args) -> Result<()> {
    let path = args
        .value("--config")?
        .map(PathBuf::from)
        .ok_or_else(|| Error::invalid("run: --config FILE is required"))?;
    args.positionals(0, 0)?;
    let stop = crate::supervisor::stop_on_signals()?;
    let (_, config) = crate::config::load(&path)?;
    log::info!(
        "pinvr {}: {} camera(s), recordings in {}",
        env!("CARGO_PKG_VERSION"),
        config.cameras.len(),
        config.data_dir.display()
    );
    for cam in config.cameras.iter().filter(|c| !c.enabled) {
        crate::finish::recover(&cam.dir);
    }
    let status = Arc::new(Status::default());
    crate::supervisor::run(&path, config, status, stop)
}
