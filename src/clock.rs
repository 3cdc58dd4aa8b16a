//! Time as the recorder sees it, behind a trait so that tests can simulate it: wall-clock
//! time (which may step), monotonic time (which never does), and sleeping that a [`Stop`]
//! request cuts short. [`RealClock`] is the system's; [`SimClock`] moves only when told
//! to, or when something sleeps on it, so rotation, liveness, backoff and clock steps are
//! tested frame by frame without waiting.

use crate::time::Micros;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex, OnceLock};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// A source of time.
pub trait Clock: Send + Sync {
    /// Wall-clock time in microseconds since the Unix epoch. It may jump (NTP, a user).
    fn realtime(&self) -> Micros;
    /// Time since an arbitrary origin that only moves forward at a steady rate.
    fn monotonic(&self) -> Duration;
    /// Waits for `d`, or less if `stop` is requested; returns true if it was.
    fn sleep(&self, d: Duration, stop: &Stop) -> bool;
}

/// The system's clocks.
#[derive(Clone, Copy, Debug, Default)]
pub struct RealClock;

impl Clock for RealClock {
    fn realtime(&self) -> Micros {
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_micros() as Micros)
    }

    fn monotonic(&self) -> Duration {
        static ORIGIN: OnceLock<Instant> = OnceLock::new();
        ORIGIN.get_or_init(Instant::now).elapsed()
    }

    fn sleep(&self, d: Duration, stop: &Stop) -> bool {
        stop.wait_timeout(d)
    }
}

/// A simulated clock: starts at a given wall-clock time, advances when slept on or told to,
/// and can step its wall clock without moving monotonic time (a clock correction).
#[derive(Debug)]
pub struct SimClock {
    /// (wall-clock time at monotonic zero, monotonic time).
    state: Mutex<(Micros, Duration)>,
    /// Things to do once monotonic time reaches a given value, in time order.
    schedule: Mutex<Vec<(Duration, Scheduled)>>,
}

/// Something a [`SimClock`] does at a given monotonic time.
pub enum Scheduled {
    /// Steps the wall clock by this many microseconds.
    Step(Micros),
    /// Requests a stop (ends a test run).
    Stop(Stop),
    /// Calls a function (changes the world: frees disk space, say).
    Call(Box<dyn FnOnce() + Send>),
}

impl std::fmt::Debug for Scheduled {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Scheduled::Step(d) => write!(f, "Step({d})"),
            Scheduled::Stop(_) => f.write_str("Stop"),
            Scheduled::Call(_) => f.write_str("Call"),
        }
    }
}

impl SimClock {
    /// A clock reading `realtime` now.
    pub fn new(realtime: Micros) -> SimClock {
        SimClock {
            state: Mutex::new((realtime, Duration::ZERO)),
            schedule: Mutex::new(Vec::new()),
        }
    }

    /// Moves both clocks forward by `d`, doing what is scheduled on the way (at its time:
    /// a wait that spans a scheduled step ends after the step).
    pub fn advance(&self, d: Duration) {
        let end = self.monotonic() + d;
        loop {
            let due = {
                let mut sched = self.schedule.lock().unwrap_or_else(|e| e.into_inner());
                match sched.first() {
                    Some((at, _)) if *at <= end => Some(sched.remove(0)),
                    _ => None,
                }
            };
            let Some((at, what)) = due else { break };
            {
                let mut s = self.state.lock().unwrap_or_else(|e| e.into_inner());
                s.1 = s.1.max(at);
            }
            match what {
                Scheduled::Step(delta) => self.step(delta),
                Scheduled::Stop(stop) => stop.request(),
                Scheduled::Call(f) => f(),
            }
        }
        let mut s = self.state.lock().unwrap_or_else(|e| e.into_inner());
        s.1 = s.1.max(end);
    }

    /// Does `what` once monotonic time reaches `at`.
    pub fn at(&self, at: Duration, what: Scheduled) {
        let mut sched = self.schedule.lock().unwrap_or_else(|e| e.into_inner());
        let i = sched.partition_point(|(t, _)| *t <= at);
        sched.insert(i, (at, what));
    }

    /// Steps the wall clock by `delta` microseconds (either way); monotonic time stays.
    pub fn step(&self, delta: Micros) {
        self.state.lock().unwrap_or_else(|e| e.into_inner()).0 += delta;
    }
}

impl Clock for SimClock {
    fn realtime(&self) -> Micros {
        let (wall0, mono) = *self.state.lock().unwrap_or_else(|e| e.into_inner());
        wall0 + mono.as_micros() as Micros
    }

    fn monotonic(&self) -> Duration {
        self.state.lock().unwrap_or_else(|e| e.into_inner()).1
    }

    fn sleep(&self, d: Duration, stop: &Stop) -> bool {
        if stop.is_requested() {
            return true;
        }
        self.advance(d);
        false
    }
}

/// A request to stop, shared between the thread that asks and the thread that obeys;
/// waited on by blocking code (a condition variable) and by async code (a notification).
#[derive(Clone, Debug, Default)]
pub struct Stop(Arc<StopInner>);

#[derive(Debug, Default)]
struct StopInner {
    /// Set once stop is requested.
    flag: AtomicBool,
    /// Guards the blocking waits.
    lock: Mutex<()>,
    /// Wakes blocking waiters.
    cond: Condvar,
    /// Wakes async waiters.
    notify: tokio::sync::Notify,
}

impl Stop {
    /// Asks whoever holds a clone to stop.
    pub fn request(&self) {
        let _guard = self.0.lock.lock().unwrap_or_else(|e| e.into_inner());
        self.0.flag.store(true, Ordering::SeqCst);
        self.0.cond.notify_all();
        self.0.notify.notify_waiters();
    }

    /// True once stop has been requested.
    pub fn is_requested(&self) -> bool {
        self.0.flag.load(Ordering::SeqCst)
    }

    /// Blocks for up to `d` or until stop is requested; returns true if it was.
    pub fn wait_timeout(&self, d: Duration) -> bool {
        let guard = self.0.lock.lock().unwrap_or_else(|e| e.into_inner());
        let (_guard, _) = self
            .0
            .cond
            .wait_timeout_while(guard, d, |_| !self.is_requested())
            .unwrap_or_else(|e| e.into_inner());
        self.is_requested()
    }

    /// Completes once stop is requested.
    pub async fn requested(&self) {
        loop {
            let notified = self.0.notify.notified();
            tokio::pin!(notified);
            // Registered before the flag is checked, so a request in between is not missed.
            notified.as_mut().enable();
            if self.is_requested() {
                return;
            }
            notified.await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn simulated_time_moves_only_when_asked() {
        let c = SimClock::new(1_000_000);
        let stop = Stop::default();
        assert_eq!(c.realtime(), 1_000_000);
        assert!(!c.sleep(Duration::from_secs(2), &stop));
        assert_eq!(c.realtime(), 3_000_000);
        c.step(-3_600_000_000);
        assert_eq!(c.monotonic(), Duration::from_secs(2));
        assert_eq!(c.realtime(), 3_000_000 - 3_600_000_000);
        stop.request();
        assert!(c.sleep(Duration::from_secs(2), &stop));
        assert_eq!(c.monotonic(), Duration::from_secs(2));
    }

    #[test]
    fn stop_wakes_blocking_and_async_waiters() {
        let stop = Stop::default();
        assert!(!stop.wait_timeout(Duration::from_millis(10)));
        let s2 = stop.clone();
        let t = std::thread::spawn(move || s2.wait_timeout(Duration::from_secs(30)));
        let s3 = stop.clone();
        let a = std::thread::spawn(move || {
            tokio::runtime::Builder::new_current_thread()
                .build()
                .unwrap()
                .block_on(s3.requested())
        });
        let begun = Instant::now();
        stop.request();
        assert!(t.join().unwrap());
        a.join().unwrap();
        assert!(begun.elapsed() < Duration::from_secs(5));
        assert!(RealClock.sleep(Duration::from_secs(30), &stop));
    }
}
