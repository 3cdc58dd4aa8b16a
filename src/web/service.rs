//! One request, from hyper's to ours and back: the `Host` is checked (DNS rebinding), the
//! path routed, the client identified and let through or sent to log in, a form body read
//! within its limits, and the handler run on the blocking pool. Every answer gets the
//! security headers; every error becomes its status in [`super::status_of`].

use super::auth::Who;
use super::body::HttpBody;
use super::ctx::Ctx;
use super::deadline::Patience;
use super::handlers;
use super::reply::{Reply, prepare};
use super::request::{Request, read_body, refuse_large_body};
use super::route_kinds::Access;
use super::routes::{self, Route};
use crate::app::App;
use crate::error::{Error, ErrorKind, Result};
use hyper::Response;
use hyper::body::Incoming;
use hyper::header::{HeaderMap, HeaderValue};
use std::convert::Infallible;
use std::net::IpAddr;
use std::sync::Arc;
use std::sync::atomic::Ordering;

/// Content Security Policy: everything from this origin only (pictures and video also
/// from the offload store, `{store}`, where minutes only in the store are read), no inline
/// script or style, never inside a frame.
const CSP: &str = "default-src 'self'; img-src 'self' data: blob:{store}; media-src 'self' blob:{store}; \
style-src 'self'; script-src 'self'; connect-src 'self'; object-src 'none'; \
base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

/// The policy with the offload store's origin, if offload is on.
fn csp(ctx: &Ctx) -> HeaderValue {
    let store = ctx.app.with_loaded(|l| {
        l.config
            .offload
            .as_ref()
            .map(|o| format!(" {}", o.endpoint.origin().ascii_serialization()))
            .unwrap_or_default()
    });
    HeaderValue::from_str(&CSP.replace("{store}", &store))
        .unwrap_or_else(|_| HeaderValue::from_static("default-src 'self'"))
}

/// Answers one request.
pub async fn serve(
    ctx: Arc<Ctx>,
    req: hyper::Request<Incoming>,
    remote: IpAddr,
    patience: Patience,
) -> std::result::Result<Response<HttpBody>, Infallible> {
    let (parts, body) = req.into_parts();
    let rq = Request::new(&parts, remote, patience);
    log::debug!("web: {} {} from {remote}", rq.method, rq.path);
    let mut resp = match answer(&ctx, &rq, body).await {
        Ok(r) => r,
        Err(e) => prepare(error_reply(&e), &rq),
    };
    ctx.requests.fetch_add(1, Ordering::Relaxed);
    secure(resp.headers_mut(), csp(&ctx));
    Ok(resp)
}

/// The security headers of every answer.
fn secure(h: &mut HeaderMap, csp: HeaderValue) {
    h.insert("content-security-policy", csp);
    for (k, v) in [
        ("x-content-type-options", "nosniff"),
        ("x-frame-options", "DENY"),
        ("referrer-policy", "same-origin"),
    ] {
        h.insert(k, HeaderValue::from_static(v));
    }
}

/// The answer to an error: its status, its message, and what the status asks for.
pub fn error_reply(e: &Error) -> Reply {
    let mut r = Reply::text(super::status_of(e), e.to_string());
    match e.kind() {
        ErrorKind::TooMany => {
            // The message ends "... in N s".
            let secs = e
                .to_string()
                .rsplit(' ')
                .nth(1)
                .and_then(|n| n.parse::<u64>().ok())
                .unwrap_or(5);
            r = r.header("Retry-After", secs.to_string());
        }
        ErrorKind::Unauthorized => r = r.header("WWW-Authenticate", "Bearer realm=\"pinvr\""),
        ErrorKind::Busy => r = r.header("Retry-After", "5"),
        _ => {}
    }
    r.header("Cache-Control", "no-store")
}

async fn answer(ctx: &Arc<Ctx>, rq: &Request, body: Incoming) -> Result<Response<HttpBody>> {
    if let Some(host) = rq.header("host")
        && !ctx.host_ok(host)
    {
        return Err(Error::new(
            ErrorKind::Forbidden,
            format!(
                "pinvr does not answer to the host name {host:?}; to reach it by that name, \
                 add it to web.hosts in the config"
            ),
        ));
    }
    refuse_large_body(rq)?;
    let route = routes::route(&rq.method, &rq.path, &rq.query)?;
    let who = ctx.auth.identify(rq)?;
    if let Some(reply) = gate(&ctx.app, &route, &who, rq)? {
        return Ok(prepare(reply, rq));
    }
    let form = if route.takes_form() || route.takes_json() {
        Some(read_body(body, route.takes_json()).await?)
    } else {
        None
    };
    let (ctx, rq) = (ctx.clone(), rq.clone());
    tokio::task::spawn_blocking(move || {
        let reply =
            handlers::dispatch(&ctx, &rq, route, &who, form).unwrap_or_else(|e| error_reply(&e));
        prepare(reply, &rq)
    })
    .await
    .map_err(|e| Error::new(ErrorKind::Io, format!("the request's handler failed: {e}")))
}

/// Lets `who` through to `route`, or says where a person goes instead (to set the admin
/// password, or to log in), or why a script is refused.
fn gate(app: &App, route: &Route, who: &Who, rq: &Request) -> Result<Option<Reply>> {
    let loaded = app.loaded();
    let web = &loaded.config.web;
    let allowed = match route.access() {
        Access::Public => true,
        Access::View => who.is_admin() || web.anonymous_view,
        Access::Admin => who.is_admin(),
    };
    if allowed {
        return Ok(None);
    }
    let unset = web.admin_password.is_none() && !loaded.password_unknown;
    if route.is_page() {
        let to = if unset {
            "/setup".to_owned()
        } else {
            let mut here = rq.path.clone();
            if !rq.query.is_empty() {
                here = format!("{here}?{}", rq.query);
            }
            let next: String = url::form_urlencoded::byte_serialize(here.as_bytes()).collect();
            format!("/login?next={next}")
        };
        return Ok(Some(
            Reply::redirect(&to).header("Cache-Control", "no-store"),
        ));
    }
    Err(Error::new(
        ErrorKind::Unauthorized,
        if unset {
            "no admin password is set yet: open /setup in a browser to set one"
        } else {
            "log in first, or send an API token (Authorization: Bearer; tokens are made on the config page)"
        },
    ))
}
