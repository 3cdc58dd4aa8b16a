//! Sessions: an HttpOnly, SameSite=Lax cookie naming a random session that carries a CSRF
//! token every form must echo. A visitor who has not logged in gets a short-lived anonymous
//! session (for the login form's token); logging in makes a new session with a new id
//! (the old one is dropped, so an id planted before login is worthless). Logged-in sessions
//! lapse after a day without use and a month in all. The two kinds are kept apart and each
//! is bounded, so anonymous traffic can never push out a logged-in session.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Cookie name.
pub const COOKIE: &str = "pinvr_session";
/// A logged-in session lapses after this long unused.
const IDLE: Duration = Duration::from_secs(24 * 3600);
/// ... and this long after login in any case.
const ABSOLUTE: Duration = Duration::from_secs(30 * 24 * 3600);
/// An anonymous session (a login form's token) lapses after this long unused.
const ANON_IDLE: Duration = Duration::from_secs(3600);
/// Logged-in sessions kept at most (the oldest-used is dropped first).
const MAX_AUTHED: usize = 64;
/// Anonymous sessions kept at most.
const MAX_ANON: usize = 256;

/// One visitor's session.
#[derive(Clone, Debug)]
pub struct Session {
    /// The cookie value.
    pub id: String,
    /// Token every form must carry back.
    pub csrf: String,
    /// True once the admin password was given.
    pub authed: bool,
    /// When it was made.
    created: Instant,
    /// When it was last used.
    used: Instant,
}

impl Session {
    fn new(authed: bool) -> Session {
        let now = Instant::now();
        Session {
            id: crate::random::token(),
            csrf: crate::random::token(),
            authed,
            created: now,
            used: now,
        }
    }

    fn lapsed(&self, now: Instant) -> bool {
        if self.authed {
            now - self.used > IDLE || now - self.created > ABSOLUTE
        } else {
            now - self.used > ANON_IDLE
        }
    }

    /// The `Set-Cookie` value that hands this session to the browser.
    pub fn cookie(&self) -> String {
        let age = if self.authed {
            format!("; Max-Age={}", ABSOLUTE.as_secs())
        } else {
            String::new()
        };
        format!("{COOKIE}={}; Path=/; HttpOnly; SameSite=Lax{age}", self.id)
    }
}

/// All sessions.
#[derive(Default)]
pub struct Sessions {
    /// Logged-in sessions by id.
    authed: Mutex<HashMap<String, Session>>,
    /// Anonymous sessions by id.
    anon: Mutex<HashMap<String, Session>>,
}

/// Drops lapsed sessions, then the least recently used until `max - 1` remain.
fn make_room(map: &mut HashMap<String, Session>, max: usize) {
    let now = Instant::now();
    map.retain(|_, s| !s.lapsed(now));
    while map.len() >= max {
        let Some(oldest) = map.values().min_by_key(|s| s.used).map(|s| s.id.clone()) else {
            break;
        };
        map.remove(&oldest);
    }
}

fn lookup(map: &Mutex<HashMap<String, Session>>, id: &str) -> Option<Session> {
    let mut map = map.lock().unwrap_or_else(|e| e.into_inner());
    let now = Instant::now();
    let s = map.get_mut(id)?;
    if s.lapsed(now) {
        map.remove(id);
        return None;
    }
    s.used = now;
    Some(s.clone())
}

impl Sessions {
    /// The live session named `id`, if any.
    pub fn get(&self, id: &str) -> Option<Session> {
        lookup(&self.authed, id).or_else(|| lookup(&self.anon, id))
    }

    /// A new anonymous session (for a login or setup form).
    pub fn anonymous(&self) -> Session {
        let s = Session::new(false);
        let mut map = self.anon.lock().unwrap_or_else(|e| e.into_inner());
        make_room(&mut map, MAX_ANON);
        map.insert(s.id.clone(), s.clone());
        s
    }

    /// Logs in: a new session with a new id replaces `old` (if any).
    pub fn login(&self, old: Option<&str>) -> Session {
        if let Some(old) = old {
            self.remove(old);
        }
        let s = Session::new(true);
        let mut map = self.authed.lock().unwrap_or_else(|e| e.into_inner());
        make_room(&mut map, MAX_AUTHED);
        map.insert(s.id.clone(), s.clone());
        s
    }

    /// Ends a session.
    pub fn remove(&self, id: &str) {
        self.authed
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(id);
        self.anon
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(id);
    }

    /// Ends every logged-in session but `keep` (the password changed).
    pub fn remove_others(&self, keep: &str) {
        self.authed
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .retain(|id, _| id == keep);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn anonymous_sessions_never_push_out_a_logged_in_one() {
        let s = Sessions::default();
        let planted = s.anonymous();
        let me = s.login(Some(&planted.id));
        assert!(s.get(&planted.id).is_none(), "login rotates the id");
        assert!(me.authed && me.id != planted.id);
        for _ in 0..10 * MAX_ANON {
            s.anonymous();
        }
        assert!(s.get(&me.id).is_some_and(|x| x.authed));
        assert!(me.cookie().contains("HttpOnly") && me.cookie().contains("SameSite=Lax"));
        s.remove(&me.id);
        assert!(s.get(&me.id).is_none());
    }
}
