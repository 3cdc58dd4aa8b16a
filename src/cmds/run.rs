//! `pinvr run --config FILE`: the daemon.

use super::args::Args;
use crate::error::{Error, Result};
use std::path::PathBuf;

/// Runs the subcommand.
pub fn run(mut args: Args) -> Result<()> {
    let config = args
        .value("--config")?
        .map(PathBuf::from)
        .ok_or_else(|| Error::invalid("run: --config FILE is required"))?;
    args.positionals(0, 0)?;
    let (_, config) = crate::config::load(&config)?;
    log::info!("{} camera(s) configured", config.cameras.len());
    Ok(())
}
