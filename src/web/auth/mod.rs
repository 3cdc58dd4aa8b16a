//! Who is asking: a session cookie (logged in with the admin password, or anonymous for a
//! form's CSRF token) or an API token (`Authorization: Bearer`). Wrong passwords and wrong
//! tokens count alike against the client's address ([`limiter`]).

pub mod limiter;
mod same;
pub mod sessions;
pub mod tokens;

pub use same::same;

use super::request::Request;
use crate::error::{Error, ErrorKind, Result};
use limiter::Limiter;
use sessions::{COOKIE, Session, Sessions};
use std::path::Path;
use tokens::Tokens;

/// Everything authentication keeps.
pub struct Auth {
    /// Sessions.
    pub sessions: Sessions,
    /// Failed attempts by address.
    pub limiter: Limiter,
    /// API tokens.
    pub tokens: Tokens,
}

/// Who sent a request.
#[derive(Clone, Debug, Default)]
pub struct Who {
    /// Its live session, if it has one.
    pub session: Option<Session>,
    /// The API token's name, if it came with a valid one.
    pub token: Option<String>,
}

impl Who {
    /// The CSRF token pages embed for their forms: the logged-in session's, if any.
    pub fn csrf(&self) -> &str {
        self.session
            .as_ref()
            .filter(|s| s.authed)
            .map_or("", |s| s.csrf.as_str())
    }

    /// True if it may change things (logged in, or a valid token).
    pub fn is_admin(&self) -> bool {
        self.token.is_some() || self.session.as_ref().is_some_and(|s| s.authed)
    }
}

impl Auth {
    /// Authentication for the config file `config` (its tokens live beside it).
    pub fn new(config: &Path) -> Auth {
        Auth {
            sessions: Sessions::default(),
            limiter: Limiter::default(),
            tokens: Tokens::load(tokens::path_for(config)),
        }
    }

    /// Identifies `req`. A bearer token that is wrong is an error (401), and counts as a
    /// failed attempt; too many of those are refused (429) without being checked.
    pub fn identify(&self, req: &Request) -> Result<Who> {
        let session = req.cookie(COOKIE).and_then(|id| self.sessions.get(id));
        let mut who = Who {
            session,
            token: None,
        };
        let Some(auth) = req.header("authorization") else {
            return Ok(who);
        };
        let Some(token) = auth.strip_prefix("Bearer ").map(str::trim) else {
            return Err(Error::new(
                ErrorKind::Unauthorized,
                "Authorization must be \"Bearer <token>\" (tokens are made on the config page)",
            ));
        };
        if let Err(wait) = self.limiter.check(req.remote) {
            return Err(too_many(wait));
        }
        match self.tokens.verify(token) {
            Some(name) => {
                who.token = Some(name);
                Ok(who)
            }
            None => {
                self.limiter.failed(req.remote, "wrong API token");
                Err(Error::new(
                    ErrorKind::Unauthorized,
                    "that API token is not valid",
                ))
            }
        }
    }
}

/// The refusal of an attempt that came before its wait was over.
pub fn too_many(wait: std::time::Duration) -> Error {
    Error::new(
        ErrorKind::TooMany,
        format!(
            "too many failed attempts from this address: try again in {} s",
            wait.as_secs().max(1)
        ),
    )
}
