//! The description of a video track that [`super::header`] turns into a `moov`.

/// One sample (access unit) of the track.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Sample {
    /// Bytes in `mdat`.
    pub size: u32,
    /// Decode duration in 90 kHz ticks.
    pub duration: u32,
    /// Composition offset (presentation minus decode time), ticks, never negative.
    pub cts_offset: u32,
    /// True for key frames (listed in `stss`).
    pub sync: bool,
}

/// One `avc1` sample description.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SampleEntry {
    /// Picture width in pixels.
    pub width: u16,
    /// Picture height in pixels.
    pub height: u16,
    /// The `AVCDecoderConfigurationRecord` (body of `avcC`).
    pub avcc: Vec<u8>,
}

/// A run of samples that lie back to back in the media data and share a description.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Chunk {
    /// Offset of the first sample from the start of the media data (not of the file).
    pub offset: u64,
    /// Number of samples in the run.
    pub samples: u32,
    /// Index into [`Track::entries`].
    pub entry: u32,
}

/// A video track, ready to be described.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Track {
    /// Sample descriptions; a parameter change adds one.
    pub entries: Vec<SampleEntry>,
    /// Samples in decode order.
    pub samples: Vec<Sample>,
    /// Runs of samples, covering `samples` in order.
    pub chunks: Vec<Chunk>,
    /// Composition time at which presentation starts (the edit list's media time); zero
    /// without B-frames.
    pub media_time: u32,
    /// Wall-clock time of the first presented frame, microseconds since the Unix epoch;
    /// stored in `mvhd` (seconds) and in pinvr's own `udta/pnvr` box (microseconds).
    pub start_us: i64,
}

impl Track {
    /// Sum of sample durations, in ticks.
    pub fn duration(&self) -> u64 {
        self.samples.iter().map(|s| u64::from(s.duration)).sum()
    }

    /// Appends a sample, extending the last chunk or opening a new one when the
    /// description changes. `offset` is where the sample starts in the media data.
    pub fn push(&mut self, sample: Sample, entry: u32, offset: u64) {
        match self.chunks.last_mut() {
            Some(c) if c.entry == entry => c.samples += 1,
            _ => self.chunks.push(Chunk {
                offset,
                samples: 1,
                entry,
            }),
        }
        self.samples.push(sample);
    }
}
