//! The one error type of pinvr: a kind (what went wrong, for callers that branch on it, such
//! as the web layer choosing an HTTP status) and a message that says what and where.

use std::fmt;

/// What kind of failure an [`Error`] is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ErrorKind {
    /// The caller's input is malformed: a config field, a CLI flag, an HTTP path or query.
    InvalidInput,
    /// A file, camera or minute that was asked for does not exist.
    NotFound,
    /// Stored data is damaged: a chunk record with a bad header, an MP4 we cannot parse.
    Corrupt,
    /// Valid input that pinvr does not handle, such as a 4:4:4 stream for previews.
    Unsupported,
    /// The disk is full (ENOSPC or EDQUOT).
    StorageFull,
    /// Any other I/O failure.
    Io,
    /// The camera or network misbehaved (RTSP errors, timeouts).
    Network,
    /// The request carries no valid credentials (a login or token is needed).
    Unauthorized,
    /// The request is refused whoever sends it this way (wrong password, stale form).
    Forbidden,
    /// The request (or what it asks for) is larger than allowed.
    TooLarge,
    /// Too many attempts: try again later.
    TooMany,
    /// A limit of concurrent use is reached (connections, viewers).
    Busy,
    /// The client was too slow (a request body that does not arrive).
    Timeout,
    /// The method is not one this path answers.
    NotAllowed,
}

/// pinvr's error: a kind and a message naming the file, field or camera concerned.
#[derive(Debug)]
pub struct Error {
    /// What kind of failure this is.
    kind: ErrorKind,
    /// Human-readable description, including where the failure happened.
    msg: String,
}

/// Result with pinvr's [`Error`].
pub type Result<T> = std::result::Result<T, Error>;

impl Error {
    /// An error of `kind` with the message `msg`.
    pub fn new(kind: ErrorKind, msg: impl Into<String>) -> Self {
        Error {
            kind,
            msg: msg.into(),
        }
    }

    /// Shorthand for an [`ErrorKind::InvalidInput`] error.
    pub fn invalid(msg: impl Into<String>) -> Self {
        Self::new(ErrorKind::InvalidInput, msg)
    }

    /// Shorthand for an [`ErrorKind::NotFound`] error.
    pub fn not_found(msg: impl Into<String>) -> Self {
        Self::new(ErrorKind::NotFound, msg)
    }

    /// Shorthand for an [`ErrorKind::Corrupt`] error.
    pub fn corrupt(msg: impl Into<String>) -> Self {
        Self::new(ErrorKind::Corrupt, msg)
    }

    /// An I/O error with context (usually "verb path"), classified by its OS error.
    pub fn io(context: impl fmt::Display, e: std::io::Error) -> Self {
        let kind = match e.kind() {
            std::io::ErrorKind::NotFound => ErrorKind::NotFound,
            std::io::ErrorKind::StorageFull | std::io::ErrorKind::QuotaExceeded => {
                ErrorKind::StorageFull
            }
            std::io::ErrorKind::InvalidData | std::io::ErrorKind::UnexpectedEof => {
                ErrorKind::Corrupt
            }
            _ => ErrorKind::Io,
        };
        Error::new(kind, format!("{context}: {e}"))
    }

    /// The kind of this error.
    pub fn kind(&self) -> ErrorKind {
        self.kind
    }

    /// This error with `context` put in front of its message.
    pub fn context(self, context: impl fmt::Display) -> Self {
        Error {
            kind: self.kind,
            msg: format!("{context}: {}", self.msg),
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.msg)
    }
}

impl std::error::Error for Error {}

/// Adds "what we were doing" context to `io::Result`s.
pub trait IoContext<T> {
    /// Maps an I/O error to [`Error::io`] with the given context.
    fn ctx(self, context: impl fmt::Display) -> Result<T>;
}

impl<T> IoContext<T> for std::io::Result<T> {
    fn ctx(self, context: impl fmt::Display) -> Result<T> {
        self.map_err(|e| Error::io(context, e))
    }
}
