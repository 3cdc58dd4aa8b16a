//! Wall-clock times for frames of one RTSP connection: RTP timestamps (90 kHz) give the
//! spacing, the local clock at the first frame gives the anchor. A camera's clock is rarely
//! exact (0.5% off is common, 3% is seen): the camera's rate against the local clock is
//! measured from the lower envelope of the arrival times (the earliest frame of each 5 s,
//! which network delay has touched least), fitted over up to an hour, and followed; what
//! remains is slewed toward the local clock by at most 0.5% of elapsed stream time (a
//! 50 ms frame lasts 49.75 to 50.25 ms: nothing a person sees). So
//! consecutive minutes neither overlap nor leave gaps, and a drifting camera never reaches
//! the re-anchoring limit.

/// RTP clock rate of video.
const RTP_HZ: i128 = 90_000;
/// Maximum slew, as a fraction of elapsed stream time: 5 / 1000 = 0.5%.
const SLEW_NUM: i64 = 5;
/// Denominator of [`SLEW_NUM`].
const SLEW_DEN: i64 = 1000;
/// Beyond this disagreement with the local clock the stream is re-anchored (a camera that
/// jumped its RTP clock, or a local clock step).
pub const REANCHOR_US: i64 = 10_000_000;
/// Stream time per envelope sample.
const WINDOW_US: i64 = 5_000_000;
/// Envelope samples kept (an hour).
const WINDOWS: usize = 720;
/// Stream time measured before the rate is first followed.
const LEARN_US: i64 = 20_000_000;
/// Rates beyond ±5% are not a clock's error: such a stream is re-anchored instead.
const MAX_RATE: f64 = 0.05;

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
    /// Local microseconds per nominal stream microsecond, minus one (positive: the camera's
    /// clock is slow, each of its seconds lasts longer).
    rate: f64,
    /// Envelope samples: (nominal stream µs since the anchor, least arrival error in the
    /// window), oldest first.
    envelope: std::collections::VecDeque<(i64, i64)>,
    /// The window being filled: its start and least error so far.
    window: Option<(i64, i64)>,
}

fn rtp_to_us(ticks: i64) -> i64 {
    (i128::from(ticks) * 1_000_000 / RTP_HZ) as i64
}

impl StreamClock {
    /// Anchors the frame with RTP timestamp `rtp` at wall-clock time `wall_us`, following
    /// the camera's rate `rate` as measured before (0 for a camera not yet measured).
    pub fn new(rtp: i64, wall_us: i64, rate: f64) -> StreamClock {
        StreamClock {
            rtp0: rtp,
            wall0: wall_us,
            offset: 0,
            max_rtp: rtp,
            rate,
            envelope: std::collections::VecDeque::new(),
            window: None,
        }
    }

    /// Moves the mapping by `delta` microseconds (the local clock stepped). The envelope
    /// stays: its arrival errors are relative to the anchor, which moves with the clock.
    /// (Moving them too made an hour's step look like a camera 5% off: frames of 105 ms at
    /// 10 fps for the rest of the connection after a step back, 95 ms after one forward.)
    pub fn shift(&mut self, delta: i64) {
        self.wall0 += delta;
    }

    /// The camera's measured clock error in parts per million (positive: it runs fast).
    pub fn drift_ppm(&self) -> f64 {
        -self.rate / (1.0 + self.rate) * 1e6
    }

    /// The rate followed now (for the next anchor of the same camera).
    pub fn rate(&self) -> f64 {
        self.rate
    }

    /// Stream time of `rtp` on the local clock, before slewing.
    fn base(&self, rtp: i64) -> i64 {
        let nominal = rtp_to_us(rtp - self.rtp0);
        self.wall0 + nominal + (nominal as f64 * self.rate) as i64
    }

    /// The wall-clock time of the frame with timestamp `rtp`, received at `now_us`, and
    /// whether the stream disagrees with the local clock by more than [`REANCHOR_US`].
    pub fn time(&mut self, rtp: i64, now_us: i64) -> (i64, bool) {
        if rtp > self.max_rtp {
            self.observe(rtp, now_us);
            let base = self.base(rtp);
            let step = rtp_to_us(rtp - self.max_rtp) * SLEW_NUM / SLEW_DEN;
            let err = now_us - (base + self.offset);
            self.offset += err.clamp(-step, step);
            self.max_rtp = rtp;
        }
        let t = self.base(rtp) + self.offset;
        (t, (now_us - t).abs() > REANCHOR_US)
    }

    /// Takes the arrival of `rtp` at `now_us` into the envelope; at each window's end, fits
    /// the rate to the envelope and follows it, keeping the current time where it is.
    fn observe(&mut self, rtp: i64, now_us: i64) {
        let x = rtp_to_us(rtp - self.rtp0);
        let e = now_us - self.wall0 - x;
        match &mut self.window {
            Some((start, least)) if x - *start < WINDOW_US => *least = (*least).min(e),
            _ => {
                if let Some(done) = self.window.take() {
                    self.envelope.push_back(done);
                    if self.envelope.len() > WINDOWS {
                        self.envelope.pop_front();
                    }
                    self.refit(x);
                }
                self.window = Some((x, e));
            }
        }
    }

    /// Least-squares slope of the envelope: local µs gained per stream µs.
    fn refit(&mut self, x_now: i64) {
        let n = self.envelope.len();
        let (first, last) = (self.envelope[0].0, self.envelope[n - 1].0);
        if n < 3 || last - first < LEARN_US {
            return;
        }
        let mx = self.envelope.iter().map(|e| e.0 as f64).sum::<f64>() / n as f64;
        let me = self.envelope.iter().map(|e| e.1 as f64).sum::<f64>() / n as f64;
        let (mut sxy, mut sxx) = (0.0, 0.0);
        for &(x, e) in &self.envelope {
            sxy += (x as f64 - mx) * (e as f64 - me);
            sxx += (x as f64 - mx).powi(2);
        }
        if sxx <= 0.0 {
            return;
        }
        let rate = (sxy / sxx).clamp(-MAX_RATE, MAX_RATE);
        // The same time now under the new rate: what it adds from here on is the change.
        self.offset -= ((rate - self.rate) * x_now as f64) as i64;
        self.rate = rate;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn follows_rtp_spacing_exactly_when_clocks_agree() {
        let mut c = StreamClock::new(1000, 5_000_000, 0.0);
        for i in 0..100 {
            let (t, far) = c.time(1000 + i * 4500, 5_000_000 + i * 50_000);
            assert_eq!(t, 5_000_000 + i * 50_000);
            assert!(!far);
        }
    }

    /// What [`drifting`] saw: the worst disagreement with the local clock, and the
    /// shortest and longest frame, from 5 minutes on; the shortest and longest before; the
    /// final drift estimate.
    #[derive(Debug)]
    struct Seen {
        worst: i64,
        frames: (i64, i64),
        early: (i64, i64),
        ppm: f64,
    }

    /// Plays `minutes` of 20 fps frames from a camera `ppm` fast, arriving with up to
    /// 30 ms of network delay.
    fn drifting(ppm: i64, minutes: i64) -> Seen {
        let mut c = StreamClock::new(0, 0, 0.0);
        let mut s = Seen {
            worst: 0,
            frames: (i64::MAX, 0),
            early: (i64::MAX, 0),
            ppm: 0.0,
        };
        let mut last = 0;
        for i in 1..=minutes * 60 * 20 {
            let real = i * 50_000;
            let rtp =
                (i128::from(real) * 90 * (1_000_000 + i128::from(ppm)) / 1_000_000_000) as i64;
            let delay = (i * 7919 % 31) * 1000;
            let (t, far) = c.time(rtp, real + delay);
            assert!(!far, "re-anchoring at frame {i}");
            let r = if real > 300_000_000 {
                s.worst = s.worst.max((t - real).abs());
                &mut s.frames
            } else {
                &mut s.early
            };
            *r = (r.0.min(t - last), r.1.max(t - last));
            last = t;
        }
        s.ppm = c.drift_ppm();
        s
    }

    #[test]
    fn a_drifting_camera_is_measured_and_followed() {
        for ppm in [5_000, -5_000, 30_000, -30_000] {
            let s = drifting(ppm, 60);
            eprintln!("{ppm} ppm: {s:?}");
            // From 5 minutes on: within 50 ms of the local clock for the rest of the hour,
            // every frame within 1% of 50 ms; before, within 3.5% (the camera's own
            // spacing, slewed, while its rate is measured).
            assert!(s.worst < 50_000, "{ppm} ppm: {s:?}");
            assert!(
                s.frames.0 > 49_500 && s.frames.1 < 50_500,
                "{ppm} ppm: {s:?}"
            );
            assert!(s.early.0 > 48_200 && s.early.1 < 51_800, "{ppm} ppm: {s:?}");
            assert!((s.ppm - ppm as f64).abs() < 100.0, "{ppm} ppm: {s:?}");
        }
        // A camera that keeps time: frames of exactly 50 ms but for the network's jitter.
        let s = drifting(0, 10);
        assert!(s.frames.0 > 49_700 && s.frames.1 < 50_300, "{s:?}");
        assert!(s.ppm.abs() < 100.0, "{s:?}");
    }

    #[test]
    fn a_step_of_the_local_clock_moves_the_stream_and_leaves_its_rate() {
        // An exact 10 fps camera for 60 s; after 20 s the local clock steps by an hour,
        // either way: the frames move with it and stay 100 ms apart.
        for step in [3_600_000_000i64, -3_600_000_000] {
            let mut c = StreamClock::new(0, 0, 0.0);
            let mut last = None;
            for i in 0..600i64 {
                let moved = if i >= 200 { step } else { 0 };
                if i == 200 {
                    c.shift(step);
                }
                let (t, far) = c.time(i * 9000, i * 100_000 + moved);
                assert!(!far, "step {step}: re-anchoring at frame {i}");
                if let Some(l) = last {
                    let d = t - l - if i == 200 { step } else { 0 };
                    assert_eq!(d, 100_000, "step {step}: frame {i} lasts {d} µs");
                }
                last = Some(t);
            }
            assert!(
                c.drift_ppm().abs() < 1.0,
                "step {step}: {} ppm",
                c.drift_ppm()
            );
        }
    }

    #[test]
    fn flags_large_disagreement() {
        let mut c = StreamClock::new(0, 0, 0.0);
        let (_, far) = c.time(90_000 * 60, 1_000_000);
        assert!(far);
    }
}
