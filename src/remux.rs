//! Chunk to fast-start MP4, in process: one pass over the chunk builds the sample table
//! (memory grows with the number of frames, never with their bytes), a second pass copies
//! the picture NAL units into `mdat` behind the header. Parameter changes become new sample
//! descriptions; B-frames get `ctts` and an edit list; durations come from timestamps.

use crate::chunk::ChunkReader;
use crate::error::{Error, IoContext, Result};
use crate::fsutil;
use crate::h264::{self, Parameters};
use crate::mp4::{Sample, SampleEntry, Track};
use std::fs::File;
use std::io::{BufReader, Write};
use std::path::Path;

/// Duration given to the last frame when there is no earlier frame to copy (1/20 s).
const LONE_FRAME_TICKS: u32 = 4500;

/// What a remux found and wrote.
#[derive(Debug, Default)]
pub struct Remuxed {
    /// Frames written.
    pub frames: usize,
    /// Frames dropped because they came before any parameters or key frame.
    pub skipped: usize,
    /// Bytes of a torn record dropped at the end of the chunk.
    pub torn_bytes: u64,
    /// Description of the corrupt record that ended the chunk early, if any.
    pub corrupt: Option<String>,
    /// Duration in microseconds.
    pub duration_us: i64,
    /// Wall-clock time of the first presented frame, microseconds since the epoch.
    pub start_us: i64,
    /// Decoder configuration and Annex B bytes of the first key frame, for the preview.
    pub key_frame: Option<(Parameters, Vec<u8>)>,
}

/// The sample table of a chunk, from the first pass.
struct Scan {
    track: Track,
    /// Presentation time of each sample, microseconds since the epoch.
    pts_us: Vec<i64>,
    /// Bytes of media data.
    mdat_len: u64,
    /// For each whole record before any damage: true if it becomes a sample. The second
    /// pass follows this rather than deciding again.
    keep: Vec<bool>,
    report: Remuxed,
}

/// Remuxes the chunk at `chunk` into a fast-start MP4 at `out` (written atomically).
/// Damage at the end of the chunk (a torn or corrupt record) is reported in the result and
/// everything before it is kept; a chunk with no decodable frame is an error.
pub fn remux(chunk: &Path, out: &Path) -> Result<Remuxed> {
    let mut scan = scan(chunk)?;
    if scan.track.samples.is_empty() {
        return Err(Error::corrupt(format!(
            "{}: no key frame with parameters to start an MP4",
            chunk.display()
        )));
    }
    let delay = assign_times(&mut scan.track, &scan.pts_us);
    scan.track.media_time = delay;
    scan.report.frames = scan.track.samples.len();
    scan.report.start_us = scan.pts_us.iter().copied().min().unwrap_or(0);
    scan.report.duration_us = (scan.track.duration() * 100 / 9) as i64;
    scan.track.start_us = scan.report.start_us;
    let header = crate::mp4::header(&scan.track, scan.mdat_len);
    fsutil::write_atomic(out, |w| {
        w.write_all(&header)
            .ctx(format_args!("writing {}", out.display()))?;
        copy_samples(chunk, &scan.keep, scan.mdat_len, w)
            .map_err(|e| e.context(format_args!("writing {}", out.display())))
    })?;
    Ok(scan.report)
}

fn open(chunk: &Path) -> Result<ChunkReader<BufReader<File>>> {
    let f = File::open(chunk).ctx(format_args!("opening {}", chunk.display()))?;
    Ok(ChunkReader::new(BufReader::with_capacity(64 << 10, f)))
}

/// Bytes of `data` that go into the MP4 sample: picture NALs with their length prefixes.
fn sample_size(data: &[u8]) -> u64 {
    h264::nals(data)
        .filter_map(|n| n.ok())
        .filter(|n| !h264::is_out_of_band(h264::nal_type(n)))
        .map(|n| 4 + n.len() as u64)
        .sum()
}

fn scan(chunk: &Path) -> Result<Scan> {
    let mut reader = open(chunk)?;
    let mut buf = Vec::new();
    let mut params = Parameters::default();
    let mut entries: Vec<Parameters> = Vec::new();
    let mut current: Option<u32> = None;
    let mut s = Scan {
        track: Track::default(),
        pts_us: Vec::new(),
        mdat_len: 0,
        keep: Vec::new(),
        report: Remuxed::default(),
    };
    loop {
        let rec = match reader.next_into(&mut buf) {
            Ok(Some(r)) => r,
            Ok(None) => break,
            Err(e) => {
                s.report.corrupt = Some(e.to_string());
                break;
            }
        };
        s.keep.push(false);
        let inband = Parameters::from_access_unit(&buf)?;
        if !inband.sps.is_empty() || !inband.pps.is_empty() {
            let mut next = params.clone();
            if !inband.sps.is_empty() {
                next.sps = inband.sps;
            }
            if !inband.pps.is_empty() {
                next.pps = inband.pps;
            }
            if next != params {
                params = next;
                current = None;
            }
        }
        if h264::is_parameters_only(&buf) {
            continue;
        }
        let key = h264::is_key(&buf);
        if current.is_none() && params.is_complete() && key {
            current = Some(match entries.iter().position(|p| *p == params) {
                Some(i) => i as u32,
                None => {
                    let info = params.sps_info()?;
                    s.track.entries.push(SampleEntry {
                        width: info.width as u16,
                        height: info.height as u16,
                        avcc: params.avc_decoder_config(&info)?,
                    });
                    entries.push(params.clone());
                    (entries.len() - 1) as u32
                }
            });
        }
        let size = sample_size(&buf);
        let Some(entry) = current.filter(|_| size > 0) else {
            s.report.skipped += 1;
            continue;
        };
        if key && s.report.key_frame.is_none() {
            let mut annex_b = Vec::new();
            params.to_annex_b(&mut annex_b);
            h264::append_annex_b(&buf, &mut annex_b)?;
            s.report.key_frame = Some((params.clone(), annex_b));
        }
        let sample = Sample {
            size: size as u32,
            duration: 0,
            cts_offset: 0,
            sync: key,
        };
        *s.keep.last_mut().expect("pushed above") = true;
        s.track.push(sample, entry, s.mdat_len);
        s.pts_us.push(rec.time_us);
        s.mdat_len += size;
    }
    s.report.torn_bytes = reader.torn_bytes();
    Ok(s)
}

/// Sets durations and composition offsets from presentation times; returns the delay
/// (edit-list media time) that keeps every composition offset non-negative.
fn assign_times(track: &mut Track, pts_us: &[i64]) -> u32 {
    let origin = pts_us.iter().copied().min().unwrap_or(0);
    let pts: Vec<i64> = pts_us
        .iter()
        .map(|&t| ((t - origin) as i128 * 9 / 100) as i64)
        .collect();
    // Decode times: the presentation times in order, forced strictly increasing so that a
    // camera repeating a timestamp cannot produce a zero-length sample.
    let mut dts = pts.clone();
    dts.sort_unstable();
    for i in 1..dts.len() {
        dts[i] = dts[i].max(dts[i - 1] + 1);
    }
    let delay = pts
        .iter()
        .zip(&dts)
        .map(|(p, d)| d - p)
        .max()
        .unwrap_or(0)
        .max(0);
    let n = dts.len();
    for i in 0..n {
        let dur = if i + 1 < n {
            dts[i + 1] - dts[i]
        } else if n > 1 {
            dts[n - 1] - dts[n - 2]
        } else {
            i64::from(LONE_FRAME_TICKS)
        };
        let s = &mut track.samples[i];
        s.duration = dur.clamp(1, i64::from(u32::MAX)) as u32;
        s.cts_offset = (pts[i] + delay - dts[i]).clamp(0, i64::from(u32::MAX)) as u32;
    }
    delay.clamp(0, i64::from(u32::MAX)) as u32
}

/// Second pass: copies the picture NALs of the records marked in `keep` into `w`.
fn copy_samples(chunk: &Path, keep: &[bool], expect: u64, w: &mut impl Write) -> Result<()> {
    let mut reader = open(chunk)?;
    let mut buf = Vec::new();
    let mut written = 0u64;
    for &k in keep {
        if reader.next_into(&mut buf)?.is_none() {
            break;
        }
        if !k {
            continue;
        }
        for nal in h264::nals(&buf) {
            let nal = nal?;
            if !h264::is_out_of_band(h264::nal_type(nal)) {
                w.write_all(&(nal.len() as u32).to_be_bytes())
                    .and_then(|_| w.write_all(nal))
                    .ctx("copying samples")?;
                written += 4 + nal.len() as u64;
            }
        }
    }
    if written != expect {
        return Err(Error::corrupt(format!(
            "{} changed while being remuxed ({written} bytes of media, expected {expect})",
            chunk.display()
        )));
    }
    Ok(())
}
