//! `pinvr remux [--no-preview] IN.chunk OUT.mp4`: finish a chunk by hand into an MP4 and
//! its JPEGs (`OUT.jpg`, `OUT.thumb.jpg`), leaving the chunk in place.

use super::args::Args;
use crate::error::{Error, Result};
use crate::layout::{FileKind, sibling};
use std::path::Path;

/// Runs the subcommand.
pub fn run(mut args: Args) -> Result<()> {
    let no_preview = args.flag("--no-preview");
    let p = args.positionals(2, 2)?;
    let (input, output) = (Path::new(&p[0]), Path::new(&p[1]));
    let name = |k| {
        sibling(output, FileKind::Mp4, k)
            .ok_or_else(|| Error::invalid(format!("remux: {} must end in .mp4", p[1])))
    };
    let (jpg, thumb) = (name(FileKind::Preview)?, name(FileKind::Thumbnail)?);
    let r = crate::remux::remux(input, output)?;
    println!(
        "{}: {} frames, {:.3} s, {} skipped, {} torn bytes dropped{}",
        output.display(),
        r.frames,
        r.duration_us as f64 / 1e6,
        r.skipped,
        r.torn_bytes,
        r.corrupt
            .as_deref()
            .map(|c| format!(", stopped at damage: {c}"))
            .unwrap_or_default()
    );
    match &r.key_frame {
        _ if no_preview => {}
        Some((params, annex_b)) => {
            let shot = crate::preview::write_previews(params, annex_b, &jpg, &thumb)?;
            let (w, h) = (shot.width, shot.height);
            println!("{}: {w}x{h}; {}", jpg.display(), thumb.display());
        }
        None => println!("no key frame: no preview"),
    }
    Ok(())
}
