//! The chunk file: pinvr's crash journal for the minute being recorded (see DESIGN.md).
//!
//! A chunk is a sequence of records, each `u8 version = 0`, `u64 length` (big-endian),
//! `u64 time` (microseconds since the Unix epoch, big-endian), then `length` bytes holding
//! one access unit as 4-byte-length-prefixed NAL units. A record holding only SPS/PPS is a
//! decoder configuration; every chunk starts with one.

mod index;
mod reader;
mod window;
mod writer;

pub use index::{ChunkIndex, Indexed, Summary};
pub use reader::{ChunkReader, Record};
pub use window::window_for;
pub use writer::ChunkWriter;

/// The only record version written and accepted.
pub const VERSION: u8 = 0;
/// Bytes in a record header (version, length, time).
pub const HEADER_LEN: usize = 17;
/// The largest access unit accepted: far above any camera's key frame (a 4K intra frame at
/// high quality is a few MiB), low enough that garbage cannot make the reader allocate much.
pub const MAX_RECORD_LEN: u64 = 32 << 20;

/// Encodes a record header.
pub fn header(len: usize, time_us: i64) -> [u8; HEADER_LEN] {
    let mut h = [0u8; HEADER_LEN];
    h[0] = VERSION;
    h[1..9].copy_from_slice(&(len as u64).to_be_bytes());
    h[9..17].copy_from_slice(&time_us.to_be_bytes());
    h
}
