//! One live viewer's walk through its camera's [`Feed`]: the init segment first (again
//! after a parameter change), then fragments from a key frame; too far behind (more than a
//! second, or past what the ring still holds) it jumps to the newest key frame, counting the
//! frames it skipped. It waits (registering its waker) when it has sent everything.

use super::feed::{Feed, Inner, Watch};
use bytes::Bytes;
use std::sync::Arc;
use std::sync::MutexGuard;
use std::sync::atomic::Ordering;
use std::task::{Context, Poll};
use std::time::Instant;

/// A viewer further behind the newest frame than this (90 kHz ticks) jumps to the newest
/// key frame when there is a newer one.
const BEHIND: i64 = 90_000;

/// One viewer's place in a feed.
pub struct Viewer {
    feed: Arc<Feed>,
    id: u64,
    /// The camera connection it watches.
    session: u64,
    /// The fragment it sends next.
    next: u64,
    /// The init segment it sent last.
    init: Option<u64>,
    /// It must go on from a key frame (it starts, or it fell behind).
    need_key: bool,
}

impl Viewer {
    /// A new viewer of `feed`, starting at its newest key frame (or the next one).
    pub fn join(feed: &Arc<Feed>) -> Viewer {
        let id = feed.next_viewer.fetch_add(1, Ordering::Relaxed);
        let mut inner = feed.lock();
        inner.watch = Watch::Now;
        feed.counters.viewers.fetch_add(1, Ordering::Relaxed);
        feed.counters.served.fetch_add(1, Ordering::Relaxed);
        let next = inner
            .ring
            .iter()
            .rev()
            .find(|f| f.key)
            .map_or(inner.next_seq, |f| f.seq);
        Viewer {
            feed: feed.clone(),
            id,
            session: inner.session,
            next,
            init: None,
            need_key: true,
        }
    }

    /// The next bytes to send: an init segment or a fragment; `None` once the camera's
    /// connection has ended. Pending until the camera sends the next frame.
    pub fn poll_next(&mut self, cx: &mut Context<'_>) -> Poll<Option<Bytes>> {
        let inner = self.feed.lock();
        if inner.session != self.session {
            return Poll::Ready(None);
        }
        let (Some(front), Some(back)) = (inner.ring.front(), inner.ring.back()) else {
            return self.wait(inner, cx);
        };
        let (front_seq, back_seq, newest) = (front.seq, back.seq, back.time);
        loop {
            if self.next > back_seq {
                return self.wait(inner, cx);
            }
            if self.next < front_seq {
                // What it needed is gone: on from the oldest key frame kept.
                self.skip(front_seq - self.next);
                self.next = front_seq;
                self.need_key = true;
            }
            let at = (self.next - front_seq) as usize;
            if self.need_key {
                // On from the first key frame at or after here.
                let Some(k) = inner.ring.iter().skip(at).position(|f| f.key) else {
                    self.skip(back_seq + 1 - self.next);
                    self.next = back_seq + 1;
                    return self.wait(inner, cx);
                };
                self.skip(k as u64);
                self.next += k as u64;
                self.need_key = false;
                continue;
            }
            if newest - inner.ring[at].time > BEHIND
                && let Some(k) = inner.ring.iter().rposition(|f| f.key)
                && k > at
            {
                // Too far behind: on from the newest key frame.
                self.skip((k - at) as u64);
                self.next = inner.ring[k].seq;
                continue;
            }
            let f = &inner.ring[at];
            let Some((n, init)) = &inner.init else {
                return self.wait(inner, cx);
            };
            if f.init != *n {
                // Made for an earlier configuration: on to a key frame of the current one.
                self.next = f.seq + 1;
                self.need_key = true;
                continue;
            }
            if self.init != Some(*n) {
                self.init = Some(*n);
                return Poll::Ready(Some(init.clone()));
            }
            self.next = f.seq + 1;
            self.feed.counters.sent.fetch_add(1, Ordering::Relaxed);
            return Poll::Ready(Some(f.bytes.clone()));
        }
    }

    /// Counts `n` frames this viewer did not get.
    fn skip(&self, n: u64) {
        if n > 0 && self.init.is_some() {
            self.feed.counters.skipped.fetch_add(n, Ordering::Relaxed);
        }
    }

    /// Registers to be woken by the next frame.
    fn wait(&self, mut inner: MutexGuard<'_, Inner>, cx: &mut Context<'_>) -> Poll<Option<Bytes>> {
        match inner.waiting.iter_mut().find(|(id, _)| *id == self.id) {
            Some((_, w)) => w.clone_from(cx.waker()),
            None => inner.waiting.push((self.id, cx.waker().clone())),
        }
        Poll::Pending
    }
}

impl Drop for Viewer {
    fn drop(&mut self) {
        let mut inner = self.feed.lock();
        inner.waiting.retain(|(id, _)| *id != self.id);
        let left = self.feed.counters.viewers.fetch_sub(1, Ordering::Relaxed) - 1;
        if left == 0 {
            inner.watch = Watch::Left(Instant::now());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::live::feed::LINGER;
    use crate::parameters::Parameters;
    use std::sync::atomic::AtomicUsize;
    use std::task::Wake;

    /// A waker that counts its wake-ups.
    #[derive(Default)]
    struct Count(AtomicUsize);
    impl Wake for Count {
        fn wake(self: Arc<Self>) {
            self.0.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// Baseline parameter sets from x264: 320x240, or 160x120 if `small`.
    fn params(small: bool) -> Parameters {
        let sps = if small {
            vec![
                0x67, 0x42, 0xc0, 0x0a, 0xd9, 0x02, 0x84, 0x7e, 0x5c, 0x04, 0x40, 0x00, 0x00, 0x03,
                0x00, 0x40, 0x00, 0x00, 0x05, 0x03, 0xc4, 0x89, 0x92,
            ]
        } else {
            vec![
                0x67, 0x42, 0xc0, 0x0b, 0xd9, 0x01, 0x41, 0xfb, 0x01, 0x10, 0x00, 0x00, 0x03, 0x00,
                0x10, 0x00, 0x00, 0x03, 0x01, 0x40, 0xf1, 0x42, 0xa4, 0x80,
            ]
        };
        Parameters::h264(sps, vec![0x68, 0xcb, 0x83, 0xcb, 0x20])
    }

    fn frame(n: u8) -> Vec<u8> {
        vec![0, 0, 0, 2, 0x65, n]
    }

    /// Everything `v` has to send now.
    fn drain(v: &mut Viewer) -> Vec<Bytes> {
        let waker = Arc::new(Count::default()).into();
        let mut cx = Context::from_waker(&waker);
        let mut out = Vec::new();
        while let Poll::Ready(Some(b)) = v.poll_next(&mut cx) {
            out.push(b);
        }
        out
    }

    fn kind(b: &Bytes) -> &[u8] {
        &b[4..8]
    }

    /// A feed with parameters, a viewer watching it, and `gops` groups of 30 frames.
    fn feed_with(gops: usize) -> (Arc<Feed>, Viewer) {
        let feed = Arc::new(Feed::default());
        feed.session_started();
        feed.set_parameters(&params(false));
        let v = Viewer::join(&feed);
        for i in 0..gops * 30 {
            feed.frame(i as i64 * 3000, i % 30 == 0, &frame(i as u8));
        }
        (feed, v)
    }

    #[test]
    fn a_viewer_gets_the_init_segment_then_frames_from_a_key_frame() {
        let feed = Arc::new(Feed::default());
        feed.session_started();
        feed.set_parameters(&params(false));
        let mut v = Viewer::join(&feed);
        // Not watched before: frames before the first key frame are not kept.
        feed.frame(0, false, &frame(1));
        assert!(drain(&mut v).is_empty());
        feed.frame(3000, true, &frame(2));
        feed.frame(6000, false, &frame(3));
        let got = drain(&mut v);
        assert_eq!(got.len(), 3);
        assert_eq!(kind(&got[0]), b"ftyp");
        assert_eq!(kind(&got[1]), b"moof");
        assert!(got[1].ends_with(&frame(2)));
        assert!(got[2].ends_with(&frame(3)));
        assert_eq!(feed.counters.skipped.load(Ordering::Relaxed), 0);
    }

    #[test]
    fn a_late_viewer_starts_at_the_newest_key_frame_and_a_slow_one_skips_to_it() {
        let (feed, mut slow) = feed_with(3);
        // Joining now: the init segment and the last group of 30.
        let mut late = Viewer::join(&feed);
        let got = drain(&mut late);
        assert_eq!(got.len(), 31);
        assert!(got[1].ends_with(&frame(60)));
        // The one that read nothing meanwhile: its first group is gone; it goes on from the
        // newest key frame, and the frames it missed are counted.
        let got = drain(&mut slow);
        assert!(
            got[1].ends_with(&frame(60)),
            "the slow viewer resumed at the wrong frame"
        );
        assert_eq!(got.len(), 31);
        assert_eq!(
            feed.counters.skipped.load(Ordering::Relaxed),
            0,
            "init not sent yet"
        );
        // Once playing, falling more than a second behind skips and counts.
        for i in 90..160 {
            feed.frame(i * 3000, i % 30 == 0, &frame(i as u8));
        }
        let got = drain(&mut slow);
        assert!(got[0].ends_with(&frame(150)));
        assert_eq!(feed.counters.skipped.load(Ordering::Relaxed), 60);
    }

    #[test]
    fn the_ring_holds_two_groups_of_pictures() {
        let (feed, _v) = feed_with(5);
        let inner = feed.lock();
        assert_eq!(inner.ring.len(), 60);
        assert!(inner.ring[0].key && inner.ring[30].key);
        assert_eq!(
            inner.bytes,
            inner.ring.iter().map(|f| f.bytes.len()).sum::<usize>()
        );
    }

    #[test]
    fn a_parameter_change_sends_a_new_init_segment_in_the_stream() {
        let (feed, mut v) = feed_with(1);
        assert_eq!(kind(&drain(&mut v)[0]), b"ftyp");
        feed.set_parameters(&params(true));
        feed.frame(90_000, true, &frame(9));
        let got = drain(&mut v);
        assert_eq!(got.len(), 2);
        assert_eq!(kind(&got[0]), b"ftyp");
        assert!(got[1].ends_with(&frame(9)));
    }

    #[test]
    fn a_new_camera_connection_ends_the_viewers_streams_and_wakes_them() {
        let (feed, mut v) = feed_with(1);
        drain(&mut v);
        let count = Arc::new(Count::default());
        let waker = count.clone().into();
        let mut cx = Context::from_waker(&waker);
        assert!(v.poll_next(&mut cx).is_pending());
        feed.session_ended();
        assert_eq!(count.0.load(Ordering::Relaxed), 1);
        assert!(matches!(v.poll_next(&mut cx), Poll::Ready(None)));
    }

    #[test]
    fn a_feed_never_watched_builds_no_fragment_from_its_first_frame() {
        let feed = Arc::new(Feed::default());
        feed.session_started();
        feed.set_parameters(&params(false));
        assert!(!feed.watched());
        for i in 0..5u8 {
            assert!(!feed.frame(i64::from(i) * 3000, i == 0, &frame(i)));
        }
        assert!(feed.lock().ring.is_empty());
        assert_eq!(feed.lock().bytes, 0);
        // The first viewer makes it watched at once.
        let _v = Viewer::join(&feed);
        assert!(feed.watched());
        assert!(feed.frame(15000, true, &frame(5)));
        assert_eq!(feed.lock().ring.len(), 1);
    }

    #[test]
    fn nobody_watching_keeps_nothing() {
        let feed = Arc::new(Feed::default());
        feed.session_started();
        feed.set_parameters(&params(false));
        {
            let _v = Viewer::join(&feed);
        }
        // The last viewer left just now: the ring lingers.
        assert!(feed.frame(0, true, &frame(0)));
        feed.lock().watch = Watch::Left(Instant::now() - LINGER);
        assert!(!feed.frame(3000, true, &frame(1)));
        assert!(feed.lock().ring.is_empty());
        assert_eq!(feed.counters.viewers.load(Ordering::Relaxed), 0);
    }
}
