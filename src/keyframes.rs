//! The key frames of a minute file, each readable on its own as a decoder wants it (SPS,
//! PPS and the frame, Annex B): what the change search decodes to find the second a region
//! changed, when the minute's signature says it changed in that minute.

use crate::error::{IoContext, Result};
use crate::mp4::{self, Parsed};
use crate::parameters::Parameters;
use std::io::{Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};

/// One key frame of a minute file.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Key {
    /// Wall-clock presentation time, microseconds since the epoch.
    pub time_us: i64,
    /// Offset of its sample in the file.
    offset: u64,
    /// Bytes of the sample.
    size: u32,
    /// Its sample description.
    entry: u32,
}

/// A minute file's key frames.
pub struct KeyFrames {
    /// The file.
    path: PathBuf,
    /// Its sample table.
    parsed: Parsed,
    /// The key frames, in time order.
    pub keys: Vec<Key>,
}

impl KeyFrames {
    /// Reads the sample table of `path`.
    pub fn open(path: &Path) -> Result<KeyFrames> {
        let parsed = mp4::parse(path)?;
        let t = &parsed.track;
        let times = t.presentation_us();
        let offsets = t.sample_offsets();
        let mut keys: Vec<Key> = t
            .samples
            .iter()
            .zip(times)
            .zip(offsets)
            .filter(|((s, _), _)| s.sync)
            .map(|((s, (time_us, _)), (off, entry))| Key {
                time_us,
                offset: parsed.data_start + off,
                size: s.size,
                entry,
            })
            .collect();
        keys.sort_by_key(|k| k.time_us);
        Ok(KeyFrames {
            path: path.to_owned(),
            parsed,
            keys,
        })
    }

    /// The parameters and Annex B bytes (parameter sets, then the frame) of key frame `k`.
    pub fn annex_b(&self, k: &Key) -> Result<(Parameters, Vec<u8>)> {
        let entry = &self.parsed.track.entries[k.entry as usize];
        let params = Parameters::from_entry(entry)?;
        let mut f =
            std::fs::File::open(&self.path).ctx(format_args!("opening {}", self.path.display()))?;
        f.seek(SeekFrom::Start(k.offset)).ctx("seek")?;
        let mut sample = vec![0u8; k.size as usize];
        f.read_exact(&mut sample)
            .ctx(format_args!("reading {}", self.path.display()))?;
        // A track whose parameters change carries them in its key frames' samples.
        let inband = Parameters::from_access_unit(params.codec, &sample)?;
        let params = params.updated(&inband);
        let out = params.annex_b_of(&sample)?;
        Ok((params, out))
    }
}
