//! The size of a chunk's write window for a stream of a given rate.

use std::time::Duration;

/// The smallest chunk window: a page.
const MIN_WINDOW: usize = 4 << 10;

/// The chunk window for a stream of `bytes_per_s`: the largest power of two, at most `max`,
/// that the stream fills in half the flush interval; never under a page, even if `max` (the
/// configured buffer) is smaller. A window the interval cuts short is written in pieces; a
/// sub stream of 500 kbit/s gets 16 KiB, a 3 Mbit/s main stream 64 KiB, and the memory a
/// slow stream's buffer would hold idle is not taken.
pub fn window_for(bytes_per_s: u64, flush: Duration, max: usize) -> usize {
    let fill = (bytes_per_s as u128 * flush.as_micros() / 2_000_000) as usize;
    let w = fill.checked_ilog2().map_or(1, |bits| 1 << bits);
    w.clamp(MIN_WINDOW, max.max(MIN_WINDOW))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_chunk_window_is_what_the_stream_fills_in_half_a_flush_interval() {
        let flush = Duration::from_millis(750);
        let max = 64 << 10;
        // A 3 Mbit/s main stream fills 140 KB in 375 ms: the largest window.
        assert_eq!(window_for(375_000, flush, max), 64 << 10);
        // A 500 kbit/s sub stream fills 23 KB: 16 KiB, a quarter of the memory.
        assert_eq!(window_for(62_500, flush, max), 16 << 10);
        assert_eq!(window_for(43_691, flush, max), 16 << 10);
        assert_eq!(window_for(43_690, flush, max), 8 << 10);
        // Never below a page, never above the configured buffer.
        assert_eq!(window_for(0, flush, max), 4 << 10);
        assert_eq!(window_for(u64::MAX / 1_000_000, flush, max), max);
        assert_eq!(window_for(375_000, flush, 1024), 4 << 10);
    }
}
