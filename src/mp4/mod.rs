//! Fast-start MP4 (ISO/IEC 14496-12 and -14, `avc1` per 14496-15) as pinvr emits it: one
//! H.264 video track, timescale 90000, `moov` before `mdat`, `ctts` and an edit list when
//! B-frames are present, `co64` and 64-bit box sizes once offsets pass 4 GiB.
//!
//! The caller describes the track ([`Track`]: sample entries, samples, chunks of contiguous
//! samples) and the length of the media data; [`header`] returns every byte that precedes
//! the media data, which the caller then writes (or streams) itself.

mod boxes;
mod fragment;
mod moov;
mod parse;
mod read;
mod track;

pub use fragment::{FRAGMENT_HEADER, fragment, init_segment};
pub use moov::{header, header_aligned};
pub use parse::{Parsed, parse, parse_bytes, parse_from};
pub use read::{Summary, start_us, summary};
pub use track::{Chunk, Sample, SampleEntry, Track};

/// Media timescale: the 90 kHz RTP clock of H.264.
pub const TIMESCALE: u32 = 90_000;
