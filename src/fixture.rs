//! MP4 files back into chunk records, as if a camera had sent their frames. The recorder
//! uses it to merge a minute that already has an MP4 (a restart or reconnect within the
//! same minute) with what follows; tests, benchmarks and `pinvr mp4-to-chunk` use it to
//! make chunks from encoder output. Reads with the `mp4` crate.

use crate::chunk::ChunkWriter;
use crate::error::{Error, IoContext, Result};
use crate::h264::Parameters;
use std::fs::File;
use std::io::BufReader;
use std::path::Path;

/// Appends the H.264 track of `input` to `writer`: a configuration record, then every
/// frame, the first presented frame at `origin_us`. Returns the frame count and the end
/// time (after the last frame's duration).
pub fn append_mp4(writer: &mut ChunkWriter, input: &Path, origin_us: i64) -> Result<(usize, i64)> {
    let mp4err = |e: ::mp4::Error| Error::corrupt(format!("{}: {e}", input.display()));
    let f = File::open(input).ctx(format_args!("opening {}", input.display()))?;
    let size = f.metadata().ctx("stat")?.len();
    let mut reader = ::mp4::Mp4Reader::read_header(BufReader::new(f), size).map_err(mp4err)?;
    let (id, params, timescale, media_time) = reader
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
            let media_time = t
                .trak
                .edts
                .as_ref()
                .and_then(|e| e.elst.as_ref())
                .and_then(|e| e.entries.first())
                .map_or(0, |e| e.media_time as i64);
            Some((id, params, i64::from(t.timescale()).max(1), media_time))
        })
        .ok_or_else(|| Error::invalid(format!("{}: no H.264 track", input.display())))?;
    let to_us = |ticks: i64| {
        origin_us + ((ticks - media_time) as i128 * 1_000_000 / timescale as i128) as i64
    };
    writer.append(origin_us, &params.to_access_unit())?;
    let (mut frames, mut end) = (0, origin_us);
    for i in 1..=reader.sample_count(id).map_err(mp4err)? {
        let Some(s) = reader.read_sample(id, i).map_err(mp4err)? else {
            continue;
        };
        let dts = s.start_time as i64;
        writer.append(to_us(dts + i64::from(s.rendering_offset)), &s.bytes)?;
        end = end.max(to_us(dts + i64::from(s.duration) + media_time));
        frames += 1;
    }
    Ok((frames, end))
}

/// Writes the H.264 track of each file in `inputs`, one after another, to a new chunk
/// `out`, starting at `start_us`. Inputs with different parameters make a chunk with a
/// parameter change. Returns the number of frames written.
pub fn mp4_to_chunk(inputs: &[&Path], out: &Path, start_us: i64) -> Result<usize> {
    let mut writer = ChunkWriter::create(out, 1 << 20)?;
    let (mut origin, mut frames) = (start_us, 0);
    for input in inputs {
        let (n, end) = append_mp4(&mut writer, input, origin)?;
        frames += n;
        origin = end;
    }
    writer.finish()?;
    Ok(frames)
}
