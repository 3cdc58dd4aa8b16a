//! What every request is served with: the program's state, authentication, the range
//! cache, counters, and which host names the server answers to.

use super::auth::Auth;
use super::range_cache::{RangeCache, SummaryCache};
use crate::app::App;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

/// What every request is served with.
pub struct Ctx {
    /// The program's state.
    pub app: Arc<App>,
    /// Sessions, tokens, failed attempts.
    pub auth: Auth,
    /// This machine's host name (lower case), accepted in `Host` with common suffixes.
    hostname: String,
    /// Assembled range headers, by entity tag.
    pub ranges: RangeCache,
    /// Minute files' summaries.
    pub summaries: SummaryCache,
    /// Requests answered.
    pub requests: AtomicU64,
    /// Connections refused at the connection limit.
    pub refusals: AtomicU64,
}

impl Ctx {
    /// The context for `app`.
    pub fn new(app: Arc<App>) -> Ctx {
        let hostname = std::fs::read_to_string("/proc/sys/kernel/hostname")
            .map(|h| h.trim().to_ascii_lowercase())
            .unwrap_or_default();
        Ctx {
            auth: Auth::new(&app.config_path),
            app,
            hostname,
            ranges: Default::default(),
            summaries: Default::default(),
            requests: AtomicU64::new(0),
            refusals: AtomicU64::new(0),
        }
    }

    /// Counts a connection refused at the limit.
    pub fn refused(&self) {
        self.refusals.fetch_add(1, Ordering::Relaxed);
    }

    /// True if a request naming `host` (its `Host` header) may be answered: IP addresses,
    /// `localhost`, this machine's name (also with `.local`, `.lan`, `.home`,
    /// `.localdomain`, `.home.arpa`), and the names in `web.hosts`. A browser sent here by
    /// a DNS rebinding attack names the attacker's domain, and is refused.
    pub fn host_ok(&self, host: &str) -> bool {
        let host = host.trim().to_ascii_lowercase();
        if host.starts_with('[') {
            return host
                .split(']')
                .next()
                .is_some_and(|h| h[1..].parse::<std::net::Ipv6Addr>().is_ok());
        }
        let name = host.rsplit_once(':').map_or(host.as_str(), |(n, _)| n);
        let name = name.trim_end_matches('.');
        if name.parse::<std::net::Ipv4Addr>().is_ok() || name == "localhost" {
            return true;
        }
        if !self.hostname.is_empty() {
            let local = ["", ".local", ".lan", ".home", ".localdomain", ".home.arpa"];
            if local
                .iter()
                .any(|s| name.strip_suffix(s) == Some(self.hostname.as_str()))
            {
                return true;
            }
        }
        self.app.loaded().config.web.hosts.iter().any(|h| h == name)
    }
}
