//! Sessions for the config form: an HttpOnly, SameSite=Strict cookie naming a random
//! session, which carries a CSRF token that every POST must echo, and whether the visitor
//! has given the admin password (needed only when one is set).

use std::collections::HashMap;
use std::io::Read;
use std::sync::Mutex;
use std::time::{Duration, Instant};
use tiny_http::Request;

/// Cookie name.
const COOKIE: &str = "pinvr_session";
/// Idle lifetime of a session.
const LIFETIME: Duration = Duration::from_secs(12 * 3600);
/// Sessions kept at most (oldest dropped first), so visitors cannot grow memory.
const MAX_SESSIONS: usize = 256;

/// One visitor's session.
#[derive(Clone, Debug)]
pub struct Session {
    /// The cookie value.
    pub id: String,
    /// Token every form must carry back.
    pub csrf: String,
    /// True once the admin password was given.
    pub authed: bool,
    /// When it lapses.
    expires: Instant,
}

/// All sessions.
#[derive(Default)]
pub struct Sessions {
    /// By id.
    map: Mutex<HashMap<String, Session>>,
}

/// 128 random bits as hex, from the kernel.
pub fn random_token() -> String {
    let mut b = [0u8; 16];
    if std::fs::File::open("/dev/urandom")
        .and_then(|mut f| f.read_exact(&mut b))
        .is_err()
    {
        // Never expected on Linux; fall back to time and address entropy rather than fail.
        let t = crate::time::now_micros() as u128 ^ (&b as *const _ as usize as u128);
        b = t.to_le_bytes();
    }
    b.iter().map(|x| format!("{x:02x}")).collect()
}

/// Compares secrets in time independent of where they differ.
pub fn same(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0u8, |acc, (x, y)| acc | (x ^ y))
            == 0
}

fn cookie_value(req: &Request) -> Option<String> {
    req.headers()
        .iter()
        .filter(|h| h.field.equiv("Cookie"))
        .flat_map(|h| h.value.as_str().split(';'))
        .find_map(|kv| {
            kv.trim()
                .strip_prefix(&format!("{COOKIE}="))
                .map(str::to_owned)
        })
}

impl Sessions {
    /// The request's live session, if it has one.
    pub fn get(&self, req: &Request) -> Option<Session> {
        let id = cookie_value(req)?;
        let mut map = self.map.lock().unwrap_or_else(|e| e.into_inner());
        let s = map.get_mut(&id)?;
        if s.expires < Instant::now() {
            map.remove(&id);
            return None;
        }
        s.expires = Instant::now() + LIFETIME;
        Some(s.clone())
    }

    /// The request's session, or a new one with the `Set-Cookie` value to send.
    pub fn get_or_create(&self, req: &Request) -> (Session, Option<String>) {
        if let Some(s) = self.get(req) {
            return (s, None);
        }
        let s = Session {
            id: random_token(),
            csrf: random_token(),
            authed: false,
            expires: Instant::now() + LIFETIME,
        };
        let mut map = self.map.lock().unwrap_or_else(|e| e.into_inner());
        if map.len() >= MAX_SESSIONS {
            let now = Instant::now();
            map.retain(|_, s| s.expires > now);
            if map.len() >= MAX_SESSIONS
                && let Some(oldest) = map.values().min_by_key(|s| s.expires).map(|s| s.id.clone())
            {
                map.remove(&oldest);
            }
        }
        map.insert(s.id.clone(), s.clone());
        let cookie = format!("{COOKIE}={}; Path=/; HttpOnly; SameSite=Strict", s.id);
        (s, Some(cookie))
    }

    /// Marks a session as having given the admin password.
    pub fn authenticate(&self, id: &str) {
        if let Some(s) = self
            .map
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get_mut(id)
        {
            s.authed = true;
        }
    }

    /// Ends a session.
    pub fn remove(&self, id: &str) {
        self.map
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(id);
    }
}
