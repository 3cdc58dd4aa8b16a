//! The web side: an HTTP/1.1 server on hyper with its own small tokio runtime (`server`:
//! limits and timeouts), one service that routes, authenticates and answers (`service`,
//! [`routes`], `auth`), the handlers (`api`, `pages`, the forms) and the replies
//! ([`reply`], `body`). Errors become HTTP statuses in one place: [`status_of`].

mod api;
mod auth;
mod body;
mod camera_test;
mod changes_api;
mod config_camera;
mod config_form;
mod config_mqtt;
mod config_save;
mod ctx;
mod day_page;
mod deadline;
mod form_fields;
mod handlers;
mod health;
mod html;
mod live_page;
mod live_stream;
mod login;
mod metrics;
mod pages;
mod range_cache;
pub mod reply;
mod request;
mod route_kinds;
pub mod routes;
mod server;
mod service;

use crate::app::App;
use crate::error::{Error, ErrorKind, Result};
use std::sync::Arc;

/// Worker threads of the web runtime.
const WORKERS: usize = 2;
/// Threads for blocking work (file reads, handlers): bounds the memory of many downloads.
const BLOCKING: usize = 16;

/// A running web server.
pub struct Web {
    /// Its runtime (dropped to stop it).
    runtime: Option<tokio::runtime::Runtime>,
    /// Tells the accept loop and the connections to stop.
    stop: tokio::sync::watch::Sender<bool>,
    /// The address actually bound.
    pub addr: std::net::SocketAddr,
}

impl Web {
    /// Stops serving: no new connections, requests in flight get two seconds to finish.
    pub fn stop(mut self) {
        let _ = self.stop.send(true);
        if let Some(rt) = self.runtime.take() {
            rt.shutdown_timeout(std::time::Duration::from_secs(2));
        }
    }
}

/// Starts serving `app` on `listen` (port 0 picks a free port: see [`Web::addr`]), with at
/// most `max_connections` connections at once.
pub fn start(app: Arc<App>, listen: std::net::SocketAddr, max_connections: usize) -> Result<Web> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(WORKERS)
        .max_blocking_threads(BLOCKING)
        .thread_name("web")
        .enable_all()
        .build()
        .map_err(|e| Error::io("web: starting the runtime", e))?;
    let listener = runtime.block_on(async { bind(listen) }).map_err(|e| {
        Error::new(
            ErrorKind::Io,
            format!("web: cannot listen on {listen}: {e}"),
        )
    })?;
    let addr = listener
        .local_addr()
        .map_err(|e| Error::io("web: the bound address", e))?;
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let ctx = Arc::new(ctx::Ctx::new(app));
    runtime.spawn(server::accept_loop(listener, ctx, max_connections, stopped));
    log::info!("web UI on http://{addr}/ (at most {max_connections} connections at once)");
    Ok(Web {
        runtime: Some(runtime),
        stop,
        addr,
    })
}

/// Binds `listen` with a long accept queue: a burst of connections waits there to be
/// accepted (or refused with a 503) instead of being retried by the client's kernel.
fn bind(listen: std::net::SocketAddr) -> std::io::Result<tokio::net::TcpListener> {
    let socket = if listen.is_ipv4() {
        tokio::net::TcpSocket::new_v4()?
    } else {
        tokio::net::TcpSocket::new_v6()?
    };
    socket.set_reuseaddr(true)?;
    socket.bind(listen)?;
    socket.listen(4096)
}

/// How many connections to serve at once with `nofile` open files allowed.
pub fn connection_limit(nofile: u64) -> usize {
    server::connection_limit(nofile)
}

/// Maps an error kind to its HTTP status: the one place this is decided.
pub fn status_of(e: &Error) -> u16 {
    match e.kind() {
        ErrorKind::InvalidInput => 400,
        ErrorKind::Unauthorized => 401,
        ErrorKind::Forbidden => 403,
        ErrorKind::NotFound => 404,
        ErrorKind::NotAllowed => 405,
        ErrorKind::Timeout => 408,
        ErrorKind::TooLarge => 413,
        ErrorKind::TooMany => 429,
        ErrorKind::Busy => 503,
        ErrorKind::StorageFull => 507,
        ErrorKind::Corrupt | ErrorKind::Unsupported | ErrorKind::Io | ErrorKind::Network => 500,
    }
}
