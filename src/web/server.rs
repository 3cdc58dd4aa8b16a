//! The HTTP server: hyper's HTTP/1.1 on a tokio runtime of its own (two worker threads and a
//! small blocking pool for file reads and handlers), so nothing the web side does can stall
//! the recorder. Limits, all tested: a request head must arrive within
//! [`HEADER_TIMEOUT`] and fit in [`MAX_HEADER`] (this also closes idle keep-alive
//! connections); a write that makes no progress for [`WRITE_TIMEOUT`] closes the
//! connection; at most a fixed number of connections are served at once and the next ones
//! get a 503 straight away; running out of file descriptors backs off and recovers instead
//! of closing the listener.
//!
//! Memory per connection: a read buffer of at most [`MAX_BUF`] (a few KiB when idle), one
//! body buffer of [`super::body::READ_BUFFER`] while a file streams, and hyper's write
//! queue of about one body buffer.

use super::ctx::Ctx;
use super::deadline::{Connection, Deadline};
use super::service::serve;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::{TokioIo, TokioTimer};
use std::net::SocketAddr;
use std::os::fd::AsRawFd;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;
use tokio::sync::{Semaphore, watch};

/// Time allowed to send a request head (and longest idle time between requests).
pub const HEADER_TIMEOUT: Duration = Duration::from_secs(10);
/// Largest request head.
pub const MAX_HEADER: usize = 64 << 10;
/// Largest read buffer per connection.
const MAX_BUF: usize = MAX_HEADER + (8 << 10);
/// A connection whose client reads nothing for this long is closed. A paused `<video>`
/// that stops reading is closed too; it reconnects with a Range request when it plays on.
/// (A live stream allows [`crate::live::STALL`] instead.)
pub const WRITE_TIMEOUT: Duration = Duration::from_secs(30);
/// Connections served at once, at most; also at most half the open-file limit left.
pub const MAX_CONNECTIONS: usize = 256;
/// What a connection beyond the limit is told.
const REFUSAL: &[u8] = b"HTTP/1.1 503 Service Unavailable\r\nContent-Type: text/plain\r\n\
Content-Length: 57\r\nRetry-After: 5\r\nConnection: close\r\n\r\n\
pinvr: too many connections at once; try again shortly.\r\n";

/// How many connections to serve at once given the open-file limit `nofile`: each takes
/// one descriptor, and one more while a file streams; the recorder keeps a reserve.
pub fn connection_limit(nofile: u64) -> usize {
    (nofile.saturating_sub(128) / 2).clamp(8, MAX_CONNECTIONS as u64) as usize
}

/// Accepts connections on `listener` until `stop` turns true.
pub async fn accept_loop(
    listener: TcpListener,
    ctx: Arc<Ctx>,
    limit: usize,
    mut stop: watch::Receiver<bool>,
) {
    let slots = Arc::new(Semaphore::new(limit));
    // Whether running out of descriptors was logged (once per episode).
    let mut exhausted = false;
    loop {
        let accepted = tokio::select! {
            _ = stop.changed() => break,
            r = listener.accept() => r,
        };
        match accepted {
            Ok((stream, peer)) => {
                if exhausted {
                    log::info!("web: accepting connections again");
                    exhausted = false;
                }
                let Ok(permit) = slots.clone().try_acquire_owned() else {
                    // Refused at once, without a task: one write that fits the socket buffer.
                    let _ = stream.try_write(REFUSAL);
                    ctx.refused();
                    continue;
                };
                let (ctx, stop) = (ctx.clone(), stop.clone());
                tokio::spawn(async move {
                    connection(stream, peer, ctx, stop).await;
                    drop(permit);
                });
            }
            Err(e) if is_exhaustion(&e) => {
                if !exhausted {
                    log::warn!(
                        "web: cannot accept connections ({e}); waiting for descriptors to be freed"
                    );
                    exhausted = true;
                }
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            Err(e) => {
                log::debug!("web: accept: {e}");
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
        }
    }
}

/// True for accept errors that mean "out of descriptors or memory" (retry later).
fn is_exhaustion(e: &std::io::Error) -> bool {
    matches!(
        e.raw_os_error(),
        Some(nix::libc::EMFILE | nix::libc::ENFILE | nix::libc::ENOBUFS | nix::libc::ENOMEM)
    )
}

/// Serves one connection.
async fn connection(
    stream: tokio::net::TcpStream,
    peer: SocketAddr,
    ctx: Arc<Ctx>,
    mut stop: watch::Receiver<bool>,
) {
    let _ = stream.set_nodelay(true);
    let patience = Connection::new(stream.as_raw_fd(), WRITE_TIMEOUT);
    let io = TokioIo::new(Deadline::new(stream, patience.clone()));
    let svc = service_fn(move |req| serve(ctx.clone(), req, peer.ip(), patience.clone()));
    let conn = http1::Builder::new()
        .timer(TokioTimer::new())
        .header_read_timeout(HEADER_TIMEOUT)
        .max_header_size(MAX_HEADER)
        .max_buf_size(MAX_BUF)
        .keep_alive(true)
        .serve_connection(io, svc);
    tokio::pin!(conn);
    tokio::select! {
        r = conn.as_mut() => {
            if let Err(e) = r {
                log::debug!("web: connection from {peer}: {e}");
            }
        }
        _ = stop.changed() => {
            conn.as_mut().graceful_shutdown();
            let _ = tokio::time::timeout(Duration::from_secs(2), conn).await;
        }
    }
}
