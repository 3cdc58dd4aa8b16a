//! Login attempts per client address: the first few failures are free, then each attempt
//! must wait twice as long as the last (up to half a minute), and attempts that come too
//! early are refused without looking at the password. The right password still works once
//! the wait is over. Failures are logged once per burst, with a count every hundred, rather
//! than once per try. The table is bounded, forgetting the quietest addresses first.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Failures allowed before attempts are spaced out.
const FREE: u32 = 5;
/// Longest wait imposed between attempts.
const MAX_WAIT: Duration = Duration::from_secs(30);
/// A quiet address is forgotten (its burst ends) after this long.
const FORGET: Duration = Duration::from_secs(15 * 60);
/// Addresses remembered at most.
const MAX_ADDRS: usize = 4096;

/// One address's record.
#[derive(Clone, Copy, Debug)]
struct Entry {
    /// Failures in this burst.
    failures: u32,
    /// No attempt is looked at before this.
    next: Instant,
    /// The last attempt.
    last: Instant,
}

/// Failed logins by address.
#[derive(Default)]
pub struct Limiter {
    /// By address.
    map: Mutex<HashMap<IpAddr, Entry>>,
}

impl Limiter {
    /// `Ok` if `ip` may try now, or how long it must wait.
    pub fn check(&self, ip: IpAddr) -> Result<(), Duration> {
        let map = self.map.lock().unwrap_or_else(|e| e.into_inner());
        let now = Instant::now();
        match map.get(&ip) {
            Some(e) if e.next > now && now - e.last < FORGET => Err(e.next - now),
            _ => Ok(()),
        }
    }

    /// Records a failed attempt from `ip` (logged at the first of a burst, then per 100).
    pub fn failed(&self, ip: IpAddr, what: &str) {
        let mut map = self.map.lock().unwrap_or_else(|e| e.into_inner());
        let now = Instant::now();
        if map.len() >= MAX_ADDRS && !map.contains_key(&ip) {
            map.retain(|_, e| now - e.last < FORGET);
            if map.len() >= MAX_ADDRS
                && let Some(quiet) = map.iter().min_by_key(|(_, e)| e.last).map(|(k, _)| *k)
            {
                map.remove(&quiet);
            }
        }
        let e = map.entry(ip).or_insert(Entry {
            failures: 0,
            next: now,
            last: now,
        });
        if now - e.last >= FORGET {
            e.failures = 0;
        }
        e.failures += 1;
        e.last = now;
        let over = e.failures.saturating_sub(FREE);
        let wait = if over == 0 {
            Duration::ZERO
        } else {
            Duration::from_secs(1u64 << over.min(10).saturating_sub(1)).min(MAX_WAIT)
        };
        e.next = now + wait;
        if e.failures == 1 {
            log::warn!("web: {what} from {ip}");
        } else if e.failures.is_multiple_of(100) {
            log::warn!(
                "web: {} failed attempts from {ip} so far; each now waits {} s",
                e.failures,
                wait.as_secs()
            );
        }
    }

    /// Records a success from `ip`: its record is cleared.
    pub fn succeeded(&self, ip: IpAddr) {
        let mut map = self.map.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(e) = map.remove(&ip)
            && e.failures > 1
        {
            log::info!("web: login from {ip} after {} failed attempts", e.failures);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failures_space_out_attempts_up_to_the_cap() {
        let l = Limiter::default();
        let ip: IpAddr = "192.0.2.7".parse().unwrap();
        let other: IpAddr = "192.0.2.8".parse().unwrap();
        for _ in 0..FREE {
            assert!(l.check(ip).is_ok());
            l.failed(ip, "wrong admin password");
        }
        assert!(l.check(ip).is_ok(), "the first failures are free");
        l.failed(ip, "wrong admin password");
        let wait = l.check(ip).unwrap_err();
        assert!(wait <= Duration::from_secs(1) && wait > Duration::ZERO);
        for _ in 0..50 {
            l.failed(ip, "wrong admin password");
        }
        let wait = l.check(ip).unwrap_err();
        assert!(
            wait > Duration::from_secs(25) && wait <= MAX_WAIT,
            "{wait:?}"
        );
        assert!(l.check(other).is_ok(), "other addresses are not held up");
        l.succeeded(ip);
        assert!(l.check(ip).is_ok());
    }
}
