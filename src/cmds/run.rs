//! `pinvr run --config FILE`: the daemon. Serves the web UI, finishes leftover minutes, then
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
    args.positionals(0, 0)?;
    let stop = crate::supervisor::stop_on_signals()?;
    let app = Arc::new(App::load(path));
    let loaded = app.loaded();
    log::info!(
        "pinvr {}: {} camera(s), recordings in {}",
        env!("CARGO_PKG_VERSION"),
        loaded.config.cameras.len(),
        loaded.config.data_dir.display()
    );
    let web = crate::web::start(app.clone(), loaded.config.web.listen)?;
    for cam in loaded.config.cameras.iter().filter(|c| !c.enabled) {
        crate::finish::recover(&cam.dir);
    }
    let result = crate::supervisor::run(app, stop);
    web.stop();
    result
}
