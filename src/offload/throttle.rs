//! The upload rate limit (`offload.max_mbit`): a reader that sleeps so that the bytes read
//! through it, over any second or more, stay under the rate, across files; and that ends an
//! upload at once when pinvr stops (the store keeps nothing of a PUT cut short).

use std::io::Read;
use std::time::{Duration, Instant};

/// At most this much is read in one go (the granularity of the limit).
const PIECE: usize = 64 << 10;

/// A rate in bytes per second, and how far ahead of it reading is.
pub struct Throttle {
    /// Bytes per second.
    rate: f64,
    /// When the bytes read so far may all have been sent at the rate.
    due: Instant,
    /// pinvr is stopping.
    stop: crate::clock::Stop,
}

impl Throttle {
    /// A limit of `rate` bytes per second, until `stop`.
    pub fn new(rate: f64, stop: crate::clock::Stop) -> Throttle {
        let now = Instant::now();
        Throttle {
            rate: rate.max(1.0),
            due: now.checked_sub(Duration::from_secs(1)).unwrap_or(now),
            stop,
        }
    }

    /// Accounts for `n` bytes, sleeping while reading is ahead of the rate (with a second's
    /// worth of credit for a start after idling).
    fn take(&mut self, n: usize) {
        let now = Instant::now();
        let credit = now.checked_sub(Duration::from_secs(1)).unwrap_or(now);
        self.due = self.due.max(credit) + Duration::from_secs_f64(n as f64 / self.rate);
        if let Some(ahead) = self.due.checked_duration_since(now) {
            std::thread::sleep(ahead.min(Duration::from_millis(500)));
        }
    }

    /// `inner`, read through this limit.
    pub fn reader<R: Read>(&mut self, inner: R) -> Limited<'_, R> {
        Limited {
            throttle: self,
            inner,
        }
    }
}

/// A reader under a [`Throttle`].
pub struct Limited<'a, R> {
    throttle: &'a mut Throttle,
    inner: R,
}

impl<R: Read> Read for Limited<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        if self.throttle.stop.is_requested() {
            return Err(std::io::Error::other("pinvr is stopping"));
        }
        let n = buf.len().min(PIECE);
        let got = self.inner.read(&mut buf[..n])?;
        self.throttle.take(got);
        Ok(got)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_to_the_rate_after_a_second_of_burst() {
        let mut t = Throttle::new(1_000_000.0, crate::clock::Stop::default());
        let data = vec![0u8; 1_500_000];
        let start = Instant::now();
        let mut sink = Vec::new();
        t.reader(&data[..]).read_to_end(&mut sink).unwrap();
        let took = start.elapsed().as_secs_f64();
        // 1.5 MB at 1 MB/s with a second's allowance: about half a second, not at once.
        assert!(took > 0.4 && took < 1.5, "{took}");
        assert_eq!(sink.len(), data.len());
    }
}
