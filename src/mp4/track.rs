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

/// One sample description: `avc1`/`avc3` (H.264, `avcC`) or `hvc1`/`hev1` (H.265, `hvcC`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SampleEntry {
    /// The entry's type. `avc1`/`hvc1`: the parameter sets are here only; `avc3`/`hev1`:
    /// key frame samples carry their own (a track whose parameters change).
    pub fourcc: [u8; 4],
    /// Picture width in pixels.
    pub width: u16,
    /// Picture height in pixels.
    pub height: u16,
    /// The decoder configuration record (the body of `avcC` or `hvcC`).
    pub config: Vec<u8>,
}

impl SampleEntry {
    /// True for H.265 (`hvc1`, `hev1`).
    pub fn is_hevc(&self) -> bool {
        matches!(&self.fourcc, b"hvc1" | b"hev1")
    }

    /// True when key frame samples carry their parameter sets (`avc3`, `hev1`).
    pub fn in_band(&self) -> bool {
        matches!(&self.fourcc, b"avc3" | b"hev1")
    }

    /// The same description with parameter sets in band (`avc3`/`hev1`).
    pub fn to_in_band(&self) -> SampleEntry {
        SampleEntry {
            fourcc: if self.is_hevc() { *b"hev1" } else { *b"avc3" },
            ..self.clone()
        }
    }

    /// The type of the box holding the configuration record.
    pub fn config_box(&self) -> &'static [u8; 4] {
        if self.is_hevc() { b"hvcC" } else { b"avcC" }
    }

    /// The codec string of RFC 6381 (`avc1.PPCCLL`, `hvc1.1.6.L93.B0`), as
    /// `MediaSource.isTypeSupported` and the `codecs` parameter of `video/mp4` take it.
    pub fn codec(&self) -> String {
        let fourcc = String::from_utf8_lossy(&self.fourcc);
        if self.is_hevc() {
            crate::h265::codec_string(&fourcc, &self.config)
        } else {
            crate::h264::codec_string(&fourcc, &self.config)
        }
    }
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
    /// without B-frames (and without a cut at the start).
    pub media_time: u32,
    /// How much of the media is presented (the edit list's duration), in ticks, when less
    /// than all of it: a range cut to the second hides the frames before its start (from
    /// the key frame it needs) and after its end. `None`: all of it.
    pub edit_duration: Option<u64>,
    /// Wall-clock time of the first presented frame, microseconds since the Unix epoch;
    /// stored in `mvhd` (seconds) and in pinvr's own `udta/pnvr` box (microseconds).
    pub start_us: i64,
    /// Where the last sample [`push`](Self::push)ed ends in the media data.
    pub end: u64,
}

impl Track {
    /// Sum of sample durations, in ticks.
    pub fn duration(&self) -> u64 {
        self.samples.iter().map(|s| u64::from(s.duration)).sum()
    }

    /// Appends a sample, extending the last chunk or opening a new one when the
    /// description changes or the sample does not follow the last one in the media data
    /// (bytes between them, unreferenced). `offset` is where the sample starts in the
    /// media data.
    pub fn push(&mut self, sample: Sample, entry: u32, offset: u64) {
        match self.chunks.last_mut() {
            Some(c) if c.entry == entry && offset == self.end => c.samples += 1,
            _ => self.chunks.push(Chunk {
                offset,
                samples: 1,
                entry,
            }),
        }
        self.end = offset + u64::from(sample.size);
        self.samples.push(sample);
    }

    /// Each sample's wall-clock presentation time and duration, microseconds, in decode
    /// order.
    pub fn presentation_us(&self) -> Vec<(i64, i64)> {
        let mut dts = 0i64;
        let us = |ticks: i64| (i128::from(ticks) * 100 / 9) as i64;
        self.samples
            .iter()
            .map(|s| {
                let comp = dts + i64::from(s.cts_offset) - i64::from(self.media_time);
                dts += i64::from(s.duration);
                (self.start_us + us(comp), us(i64::from(s.duration)))
            })
            .collect()
    }

    /// Each sample's offset in the media data and its sample description, in decode order.
    pub fn sample_offsets(&self) -> Vec<(u64, u32)> {
        let mut out = Vec::with_capacity(self.samples.len());
        let mut i = 0;
        for c in &self.chunks {
            let mut off = c.offset;
            for s in &self.samples[i..i + c.samples as usize] {
                out.push((off, c.entry));
                off += u64::from(s.size);
            }
            i += c.samples as usize;
        }
        out
    }
}
