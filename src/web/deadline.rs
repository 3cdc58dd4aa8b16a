//! A connection that gives up on a client that stops reading: a write that makes no
//! progress for the write timeout fails, and hyper closes the connection. (hyper bounds the
//! time to read a request head itself; nothing bounds a stalled writer but this.)

use std::future::Future;
use std::io::IoSlice;
use std::os::fd::RawFd;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::time::Sleep;

/// What a handler may change about its connection: how long writes may wait, and how much
/// the kernel buffers for the client (a live stream keeps that to about a second of video,
/// so a slow viewer falls behind in pinvr, where it can skip, not in the socket).
#[derive(Debug)]
pub struct Connection {
    /// Longest wait of a write, milliseconds.
    write_timeout_ms: AtomicU64,
    /// The socket, and whether it was closed (set before its descriptor is closed, so a
    /// handler holding the lock never touches a descriptor reused by another file).
    fd: Mutex<(RawFd, bool)>,
}

/// A connection's settings, shared by its I/O and its requests.
pub type Patience = Arc<Connection>;

/// Bytes the kernel may hold for a live viewer (it doubles the figure for its own use).
const LIVE_SEND_BUFFER: usize = 96 << 10;

impl Connection {
    /// Settings for the connection on socket `fd` with writes timing out after `timeout`.
    pub fn new(fd: RawFd, timeout: Duration) -> Patience {
        Arc::new(Connection {
            write_timeout_ms: AtomicU64::new(timeout.as_millis() as u64),
            fd: Mutex::new((fd, false)),
        })
    }

    /// Makes the connection a live stream's: writes wait up to `stall`, and the kernel's
    /// send buffer is small. Called by a handler while its connection is open, so the
    /// descriptor is the connection's.
    pub fn stream_live(&self, stall: Duration) {
        self.write_timeout_ms
            .store(stall.as_millis() as u64, Ordering::Relaxed);
        let fd = self.fd.lock().unwrap_or_else(|e| e.into_inner());
        if fd.1 {
            return;
        }
        let size = LIVE_SEND_BUFFER as nix::libc::c_int;
        // SAFETY: the descriptor is the connection's socket, still open: it is closed only
        // after `Deadline::drop` marks it so under this lock. `setsockopt` reads the
        // integer passed and nothing else.
        let r = unsafe {
            nix::libc::setsockopt(
                fd.0,
                nix::libc::SOL_SOCKET,
                nix::libc::SO_SNDBUF,
                (&size as *const nix::libc::c_int).cast(),
                std::mem::size_of::<nix::libc::c_int>() as nix::libc::socklen_t,
            )
        };
        if r != 0 {
            log::debug!("web: SO_SNDBUF: {}", std::io::Error::last_os_error());
        }
    }
}

/// An I/O stream whose writes time out after `timeout` without progress.
pub struct Deadline<T> {
    /// The stream.
    io: T,
    /// How long a write may wait for the peer.
    timeout: Patience,
    /// Armed while a write is waiting.
    sleep: Option<Pin<Box<Sleep>>>,
}

impl<T> Deadline<T> {
    /// Wraps `io`.
    pub fn new(io: T, timeout: Patience) -> Deadline<T> {
        Deadline {
            io,
            timeout,
            sleep: None,
        }
    }

    /// Turns a pending write into an error once the timeout has passed without progress.
    fn waiting<R>(
        &mut self,
        cx: &mut Context<'_>,
        r: Poll<std::io::Result<R>>,
    ) -> Poll<std::io::Result<R>> {
        match r {
            Poll::Ready(r) => {
                self.sleep = None;
                Poll::Ready(r)
            }
            Poll::Pending => {
                let timeout =
                    Duration::from_millis(self.timeout.write_timeout_ms.load(Ordering::Relaxed));
                let sleep = self
                    .sleep
                    .get_or_insert_with(|| Box::pin(tokio::time::sleep(timeout)));
                match sleep.as_mut().poll(cx) {
                    Poll::Ready(()) => Poll::Ready(Err(std::io::Error::new(
                        std::io::ErrorKind::TimedOut,
                        "the client stopped reading",
                    ))),
                    Poll::Pending => Poll::Pending,
                }
            }
        }
    }
}

impl<T> Drop for Deadline<T> {
    fn drop(&mut self) {
        // Runs before `io` (the socket) is dropped.
        self.timeout.fd.lock().unwrap_or_else(|e| e.into_inner()).1 = true;
    }
}

impl<T: AsyncRead + Unpin> AsyncRead for Deadline<T> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.io).poll_read(cx, buf)
    }
}

impl<T: AsyncWrite + Unpin> AsyncWrite for Deadline<T> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        let r = Pin::new(&mut self.io).poll_write(cx, buf);
        self.waiting(cx, r)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[IoSlice<'_>],
    ) -> Poll<std::io::Result<usize>> {
        let r = Pin::new(&mut self.io).poll_write_vectored(cx, bufs);
        self.waiting(cx, r)
    }

    fn is_write_vectored(&self) -> bool {
        self.io.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        let r = Pin::new(&mut self.io).poll_flush(cx);
        self.waiting(cx, r)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        let r = Pin::new(&mut self.io).poll_shutdown(cx);
        self.waiting(cx, r)
    }
}
