//! `pinvr mp4-to-chunk OUT.chunk IN.mp4...`: write MP4 clips' H.264 frames as one chunk,
//! timed from now (or `--start-us`), for tests, benchmarks and imports.

use super::args::Args;
use crate::error::{Error, Result};
use std::path::Path;

/// Runs the subcommand.
pub fn run(mut args: Args) -> Result<()> {
    let start = match args.value("--start-us")? {
        Some(s) => s.parse().map_err(|_| {
            Error::invalid(format!("mp4-to-chunk: --start-us {s:?} is not an integer"))
        })?,
        None => crate::time::now_micros(),
    };
    let p = args.positionals(2, usize::MAX)?;
    let inputs: Vec<&Path> = p[1..].iter().map(Path::new).collect();
    let n = crate::fixture::mp4_to_chunk(&inputs, Path::new(&p[0]), start)?;
    println!("{}: {n} frames", p[0]);
    Ok(())
}
