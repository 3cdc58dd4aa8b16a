//! Turns MP4 files (as ffmpeg writes them) into a chunk journal, as if a camera had sent
//! their frames: the tests and benchmarks use it to make chunks from encoder output, and
//! `pinvr mp4-to-chunk` exposes it for importing clips. Reads with the `mp4` crate.

use crate::chunk::ChunkWriter;
use crate::error::{Error, IoContext, Result};
use crate::h264::Parameters;
use std::fs::File;
use std::io::BufReader;
use std::path::Path;

/// Writes the H.264 track of each file in `inputs`, one after another, to the chunk `out`,
/// with presentation times starting at `start_us`. Each input begins with a configuration
/// record, so inputs with different parameters make a chunk with a parameter change.
/// Returns the number of frames written.
pub fn mp4_to_chunk(inputs: &[&Path], out: &Path, start_us: i64) -> Result<usize> {
    let mut writer = ChunkWriter::create(out, 1 << 20)?;
    let mut origin = start_us;
    let mut frames = 0;
    for input in inputs {
        let mp4err = |e: ::mp4::Error| Error::corrupt(format!("{}: {e}", input.display()));
        let f = File::open(input).ctx(format_args!("opening {}", input.display()))?;
        let size = f.metadata().ctx("stat")?.len();
        let mut reader = ::mp4::Mp4Reader::read_header(BufReader::new(f), size).map_err(mp4err)?;
        let (id, params, timescale) = reader
            .tracks()
            .iter()
            .find_map(|(&id, t)| {
                let avcc = &t.trak.mdia.minf.stbl.stsd.avc1.as_ref()?.avcc;
                let params = Parameters {
                    sps: avcc
                        .sequence_parameter_sets
                        .iter()
                        .map(|n| n.bytes.clone())
                        .collect(),
                    pps: avcc
                        .picture_parameter_sets
                        .iter()
                        .map(|n| n.bytes.clone())
                        .collect(),
                };
                Some((id, params, u64::from(t.timescale())))
            })
            .ok_or_else(|| Error::invalid(format!("{}: no H.264 track", input.display())))?;
        writer.append(origin, &params.to_access_unit())?;
        let mut end = origin;
        for i in 1..=reader.sample_count(id).map_err(mp4err)? {
            let Some(s) = reader.read_sample(id, i).map_err(mp4err)? else {
                continue;
            };
            let pts = s.start_time as i64 + i64::from(s.rendering_offset);
            let t = origin + pts * 1_000_000 / timescale as i64;
            let t_end = origin
                + (s.start_time as i64 + i64::from(s.duration)) * 1_000_000 / timescale as i64;
            writer.append(t, &s.bytes)?;
            end = end.max(t_end);
            frames += 1;
        }
        origin = end;
    }
    writer.finish()?;
    Ok(frames)
}
