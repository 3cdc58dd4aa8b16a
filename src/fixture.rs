//! MP4 files back into chunk records, as if a camera had sent their frames. The recorder
//! uses [`append_minute`] to merge a minute that already has an MP4 (a restart or
//! reconnect within the same minute) with what follows, read with pinvr's own parser
//! (H.264 or H.265, each frame after its own sample description's parameters); tests,
//! benchmarks and `pinvr mp4-to-chunk` make chunks from encoder output, read with the
//! `mp4` crate.

use crate::chunk::ChunkWriter;
use crate::error::{Error, IoContext, Result};
use crate::parameters::Parameters;
use std::fs::File;
use std::io::{BufReader, Read, Seek, SeekFrom};
use std::path::Path;

/// A clip's H.264 track in memory: its decoder configuration and its frames in decode
/// order, timed in 90 kHz ticks from the first presented frame.
#[derive(Clone, Debug)]
pub struct Clip {
    /// SPS/PPS of the track.
    pub params: Parameters,
    /// Frames in decode order.
    pub frames: Vec<ClipFrame>,
    /// Ticks from the first presented frame to the end of the last.
    pub duration: i64,
}

/// One frame of a [`Clip`].
#[derive(Clone, Debug)]
pub struct ClipFrame {
    /// Presentation time, ticks from the first presented frame.
    pub pts: i64,
    /// Decode time, ticks from the first presented frame (may be negative with B-frames).
    pub dts: i64,
    /// True for a sync sample.
    pub key: bool,
    /// The sample: length-prefixed NAL units.
    pub data: Vec<u8>,
}

/// Reads the first H.264 track of `input` (any MP4 with an `avc1` track and one sample
/// description, as encoders write them).
pub fn read_clip(input: &Path) -> Result<Clip> {
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
                codec: crate::codec::Codec::H264,
                vps: Vec::new(),
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
    let ticks = |t: i64| ((t - media_time) as i128 * 90_000 / timescale as i128) as i64;
    let mut clip = Clip {
        params,
        frames: Vec::new(),
        duration: 0,
    };
    for i in 1..=reader.sample_count(id).map_err(mp4err)? {
        let Some(s) = reader.read_sample(id, i).map_err(mp4err)? else {
            continue;
        };
        let dts = s.start_time as i64;
        clip.frames.push(ClipFrame {
            pts: ticks(dts + i64::from(s.rendering_offset)),
            dts: ticks(dts),
            key: s.is_sync,
            data: s.bytes.to_vec(),
        });
        clip.duration = clip
            .duration
            .max(ticks(dts + i64::from(s.duration) + media_time));
    }
    Ok(clip)
}

/// Appends the H.264 track of `input` to `writer`: a configuration record, then every
/// frame, the first presented frame at `origin_us`. Returns the frame count and the end
/// time (after the last frame's duration).
pub fn append_mp4(writer: &mut ChunkWriter, input: &Path, origin_us: i64) -> Result<(usize, i64)> {
    let clip = read_clip(input)?;
    let to_us = |ticks: i64| origin_us + (i128::from(ticks) * 1_000_000 / 90_000) as i64;
    writer.append(origin_us, &clip.params.to_access_unit())?;
    for f in &clip.frames {
        writer.append(to_us(f.pts), &f.data)?;
    }
    Ok((clip.frames.len(), to_us(clip.duration)))
}

/// Appends minute file `mp4` (written by pinvr) to `writer` as it was recorded: every
/// frame at its own wall-clock time, each run of frames after the parameter sets of its
/// own sample description (a minute with a parameter change keeps both; an in-band
/// description's frames carry theirs). Returns the frame count and the end time (after
/// the last frame's duration).
pub fn append_minute(writer: &mut ChunkWriter, mp4: &Path) -> Result<(usize, i64)> {
    let parsed = crate::mp4::parse(mp4)?;
    let t = &parsed.track;
    if t.start_us == 0 {
        return Err(Error::corrupt(format!(
            "{}: no pinvr start time",
            mp4.display()
        )));
    }
    let times = t.presentation_us();
    let mut f = File::open(mp4).ctx(format_args!("opening {}", mp4.display()))?;
    let mut current = None;
    let mut end = i64::MIN;
    let mut buf = Vec::new();
    let kept = t.sample_offsets().into_iter().zip(&t.samples).zip(&times);
    for (((off, entry), s), &(pts, dur)) in kept {
        if current != Some(entry) {
            let e = t.entries.get(entry as usize).ok_or_else(|| {
                Error::corrupt(format!("{}: no sample description {entry}", mp4.display()))
            })?;
            writer.append(pts, &Parameters::from_entry(e)?.to_access_unit())?;
            current = Some(entry);
        }
        buf.resize(s.size as usize, 0);
        f.seek(SeekFrom::Start(parsed.data_start + off))
            .and_then(|_| f.read_exact(&mut buf))
            .ctx(format_args!("reading {}", mp4.display()))?;
        writer.append(pts, &buf)?;
        end = end.max(pts + dur);
    }
    Ok((t.samples.len(), end))
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
