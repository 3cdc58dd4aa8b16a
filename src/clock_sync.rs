//! Whether the system clock is synchronised (NTP or another time source has disciplined
//! it), as the kernel says (`adjtimex`): a Pi without a real-time clock starts with a wrong
//! time until the network gives it the right one.

/// `Some(true)` when the kernel's clock is synchronised, `Some(false)` when it says it is
/// not, `None` when it cannot tell. `PINVR_CLOCK_SYNC=yes` or `no` overrides the kernel (a
/// time source it does not know of, such as a GPS receiver; tests).
pub fn synchronized() -> Option<bool> {
    match std::env::var("PINVR_CLOCK_SYNC").as_deref() {
        Ok("yes") => return Some(true),
        Ok("no") => return Some(false),
        _ => {}
    }
    // SAFETY: `adjtimex` with `modes` = 0 only reads the kernel's state into the zeroed
    // struct it is given.
    let (state, status) = unsafe {
        let mut t: nix::libc::timex = std::mem::zeroed();
        let state = nix::libc::adjtimex(&mut t);
        (state, t.status)
    };
    if state < 0 {
        return None;
    }
    Some(state != nix::libc::TIME_ERROR && status & nix::libc::STA_UNSYNC == 0)
}

/// `synchronized`, `unsynchronized` or `unknown`.
pub fn name() -> &'static str {
    match synchronized() {
        Some(true) => "synchronized",
        Some(false) => "unsynchronized",
        None => "unknown",
    }
}
