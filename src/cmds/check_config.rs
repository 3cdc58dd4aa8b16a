//! `pinvr check-config FILE`: validate a config file and print the effective settings
//! (passwords redacted).

use super::args::Args;
use crate::error::Result;
use std::path::Path;

/// Runs the subcommand.
pub fn run(args: Args) -> Result<()> {
    let file = args.positionals(1, 1)?.remove(0);
    let (_, config) = crate::config::load(Path::new(&file))?;
    println!("{file}: OK");
    println!("data_dir: {}", config.data_dir.display());
    println!("archive_dir: {}", config.archive_dir.display());
    println!("web.listen: {}", config.web.listen);
    match &config.reaper {
        Some(r) => println!(
            "reaper: keep {}% and {} bytes free, max age {:?} days, every {:?}",
            r.min_free_percent, r.min_free_bytes, r.max_age_days, r.interval
        ),
        None => println!("reaper: off (recordings are never deleted)"),
    }
    for c in &config.cameras {
        println!(
            "camera {}: {} {:?} user={} {} -> {}",
            c.id,
            c.url,
            c.transport,
            c.username.as_deref().unwrap_or("-"),
            if c.enabled { "enabled" } else { "disabled" },
            c.dir.display()
        );
    }
    Ok(())
}
