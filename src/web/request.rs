//! A request as the handlers see it: method, path, query, headers and the client's address,
//! and its form body read with a size limit (a declared length over it is refused unread)
//! and a time limit (a body that does not come is not waited for).

use super::deadline::Patience;
use crate::error::{Error, ErrorKind, Result};
use http_body_util::BodyExt;
use hyper::body::Incoming;
use hyper::header::HeaderMap;
use hyper::{Method, http};
use std::collections::HashMap;
use std::net::IpAddr;
use std::time::Duration;

/// Largest form accepted.
pub const MAX_FORM: u64 = 1 << 20;
/// Longest wait for a request body.
pub const BODY_TIMEOUT: Duration = Duration::from_secs(10);

/// A request's head.
#[derive(Debug, Clone)]
pub struct Request {
    /// Method.
    pub method: Method,
    /// Path (without the query).
    pub path: String,
    /// Query string (without `?`), possibly empty.
    pub query: String,
    /// Headers.
    pub headers: HeaderMap,
    /// The client's address.
    pub remote: IpAddr,
    /// How long the connection's writes may wait.
    pub patience: Patience,
}

impl Request {
    /// The request's head from hyper's.
    pub fn new(parts: &http::request::Parts, remote: IpAddr, patience: Patience) -> Request {
        Request {
            method: parts.method.clone(),
            path: parts.uri.path().to_owned(),
            query: parts.uri.query().unwrap_or_default().to_owned(),
            headers: parts.headers.clone(),
            remote,
            patience,
        }
    }

    /// A header's value, if it is present and text.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// A cookie's value.
    pub fn cookie(&self, name: &str) -> Option<&str> {
        self.headers
            .get_all(hyper::header::COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(';'))
            .find_map(|kv| {
                let (k, v) = kv.trim().split_once('=')?;
                (k == name).then_some(v)
            })
    }

    /// A query parameter's value.
    pub fn param(&self, name: &str) -> Option<String> {
        url::form_urlencoded::parse(self.query.as_bytes())
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.into_owned())
    }

    /// True for HEAD.
    pub fn is_head(&self) -> bool {
        self.method == Method::HEAD
    }
}

/// A request's body, as the route takes it.
#[derive(Clone, Debug)]
pub enum Submitted {
    /// An `application/x-www-form-urlencoded` form.
    Form(HashMap<String, String>),
    /// A JSON document.
    Json(serde_json::Value),
}

/// Refuses a request whose declared body is over [`MAX_FORM`] bytes: no request to pinvr
/// carries more than a form, so it is refused before routing, unread, whatever the path.
pub fn refuse_large_body(req: &Request) -> Result<()> {
    let declared = req
        .header("content-length")
        .and_then(|v| v.trim().parse::<u64>().ok());
    if declared.is_some_and(|n| n > MAX_FORM) {
        return Err(too_large());
    }
    Ok(())
}

fn too_large() -> Error {
    Error::new(
        ErrorKind::TooLarge,
        format!("a request body may be at most {MAX_FORM} bytes"),
    )
}

/// Reads a form body (`json` false) or a JSON one of at most [`MAX_FORM`] bytes within
/// [`BODY_TIMEOUT`] (a declared length over it was refused by [`refuse_large_body`]; a body
/// sent without one is cut off here).
pub async fn read_body(body: Incoming, json: bool) -> Result<Submitted> {
    let limited = http_body_util::Limited::new(body, MAX_FORM as usize);
    let bytes = match tokio::time::timeout(BODY_TIMEOUT, limited.collect()).await {
        Err(_) => {
            return Err(Error::new(
                ErrorKind::Timeout,
                format!(
                    "the request body did not arrive within {} s",
                    BODY_TIMEOUT.as_secs()
                ),
            ));
        }
        Ok(Err(e)) if e.is::<http_body_util::LengthLimitError>() => return Err(too_large()),
        Ok(Err(e)) => return Err(Error::invalid(format!("reading the form: {e}"))),
        Ok(Ok(c)) => c.to_bytes(),
    };
    if json {
        let v = serde_json::from_slice(&bytes)
            .map_err(|e| Error::invalid(format!("the body is not JSON: {e}")))?;
        return Ok(Submitted::Json(v));
    }
    Ok(Submitted::Form(
        url::form_urlencoded::parse(&bytes).into_owned().collect(),
    ))
}
