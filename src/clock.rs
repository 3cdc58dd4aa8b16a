//! Wall-clock times for frames of one RTSP connection: RTP timestamps (90 kHz) give the
//! spacing, the local clock at the first frame gives the anchor, and the estimate is slewed
//! toward the local clock by at most 0.05% of elapsed stream time, so that consecutive
//! minutes neither overlap nor leave gaps even when the camera's clock runs fast or slow.

/// RTP clock rate of H.264 video.
const RTP_HZ: i128 = 90_000;
/// Maximum slew, as a fraction of elapsed stream time: 5 / 10 000 = 0.05%.
const SLEW_NUM: i64 = 5;
/// Denominator of [`SLEW_NUM`].
const SLEW_DEN: i64 = 10_000;
/// Beyond this disagreement with the local clock the stream is re-anchored (a camera that
/// jumped its RTP clock, or a local clock step).
pub const REANCHOR_US: i64 = 10_000_000;

/// Maps one connection's RTP timestamps to wall-clock microseconds.
#[derive(Clone, Debug)]
pub struct StreamClock {
    /// RTP timestamp of the anchor frame.
    rtp0: i64,
    /// Wall-clock time given to the anchor frame.
    wall0: i64,
    /// Accumulated slew correction, microseconds.
    offset: i64,
    /// Highest RTP timestamp seen (B-frames arrive out of presentation order).
    max_rtp: i64,
}

fn rtp_to_us(ticks: i64) -> i64 {
    (i128::from(ticks) * 1_000_000 / RTP_HZ) as i64
}

impl StreamClock {
    /// Anchors the frame with RTP timestamp `rtp` at wall-clock time `wall_us`.
    pub fn new(rtp: i64, wall_us: i64) -> StreamClock {
        StreamClock {
            rtp0: rtp,
            wall0: wall_us,
            offset: 0,
            max_rtp: rtp,
        }
    }

    /// The wall-clock time of the frame with timestamp `rtp`, received at `now_us`, and
    /// whether the stream disagrees with the local clock by more than [`REANCHOR_US`].
    pub fn time(&mut self, rtp: i64, now_us: i64) -> (i64, bool) {
        let base = self.wall0 + rtp_to_us(rtp - self.rtp0);
        if rtp > self.max_rtp {
            let step = rtp_to_us(rtp - self.max_rtp) * SLEW_NUM / SLEW_DEN;
            let err = now_us - (base + self.offset);
            self.offset += err.clamp(-step, step);
            self.max_rtp = rtp;
        }
        let t = base + self.offset;
        (t, (now_us - t).abs() > REANCHOR_US)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn follows_rtp_spacing_exactly_when_clocks_agree() {
        let mut c = StreamClock::new(1000, 5_000_000);
        for i in 0..100 {
            let (t, far) = c.time(1000 + i * 4500, 5_000_000 + i * 50_000);
            assert_eq!(t, 5_000_000 + i * 50_000);
            assert!(!far);
        }
    }

    #[test]
    fn slews_a_fast_camera_by_at_most_the_limit() {
        // The camera's clock runs 0.1% fast: each real 50 ms frame is 4504.5 ticks.
        let mut c = StreamClock::new(0, 0);
        let mut last = 0;
        let mut worst = 0i64;
        for i in 1..=20 * 600 {
            let now = i * 50_000;
            let rtp = i * 45045 / 10;
            let (t, _) = c.time(rtp, now);
            let step = t - last;
            // Slewing never shortens a frame by more than 0.05% of its stream duration.
            let nominal = rtp_to_us(rtp - (i - 1) * 45045 / 10);
            assert!(
                step >= nominal - nominal * 5 / 10_000 - 1,
                "{step} vs {nominal}"
            );
            last = t;
            worst = worst.max(t - now);
        }
        // Uncorrected, ten minutes at +0.1% would be 600 ms ahead; slewed, it stays
        // within 0.05% of elapsed time.
        assert!(worst <= 300_000 + 1000, "{worst}");
    }

    #[test]
    fn flags_large_disagreement() {
        let mut c = StreamClock::new(0, 0);
        let (_, far) = c.time(90_000 * 60, 1_000_000);
        assert!(far);
    }
}
