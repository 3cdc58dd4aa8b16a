//! Response bodies as hyper sends them: nothing, bytes in memory, or a reader (a file, an
//! assembled range) read a bounded buffer at a time on tokio's blocking pool only when the
//! connection is ready for more: a client that stops reading holds one buffer, not the file.

use bytes::Bytes;
use http_body::{Frame, SizeHint};
use std::future::Future;
use std::io::Read;
use std::pin::Pin;
use std::task::{Context, Poll, ready};
use tokio::task::JoinHandle;

/// Bytes read per step from a reader: large enough for few system calls and good
/// read-ahead on an SD card, small enough that many downloads fit in a Pi's memory.
pub const READ_BUFFER: usize = 128 << 10;

/// A source of body bytes that runs on the blocking pool.
pub type Source = Box<dyn Read + Send>;

/// One read in flight: the source comes back with what it read.
type Pending = JoinHandle<(Source, std::io::Result<Bytes>)>;

/// A response body.
pub enum HttpBody {
    /// No body (HEAD, 304, 416).
    Empty,
    /// Bytes in memory, sent as one frame.
    Full(Option<Bytes>),
    /// `left` bytes from a reader.
    Reader {
        /// The source, while no read is in flight.
        source: Option<Source>,
        /// Bytes still to send.
        left: u64,
        /// The read in flight.
        pending: Option<Pending>,
    },
    /// Frames from a channel, until it closes (search progress).
    Channel(tokio::sync::mpsc::Receiver<Bytes>),
    /// A live viewer's fragments, shared with every other viewer (no copy per viewer).
    Live(Box<crate::live::Viewer>),
}

impl HttpBody {
    /// A body of `bytes`.
    pub fn full(bytes: impl Into<Bytes>) -> HttpBody {
        HttpBody::Full(Some(bytes.into()))
    }

    /// A body of `len` bytes read from `source`.
    pub fn reader(source: Source, len: u64) -> HttpBody {
        HttpBody::Reader {
            source: Some(source),
            left: len,
            pending: None,
        }
    }
}

impl http_body::Body for HttpBody {
    type Data = Bytes;
    type Error = std::io::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, std::io::Error>>> {
        match self.get_mut() {
            HttpBody::Empty => Poll::Ready(None),
            HttpBody::Full(b) => Poll::Ready(b.take().map(|b| Ok(Frame::data(b)))),
            HttpBody::Channel(rx) => rx.poll_recv(cx).map(|b| b.map(|b| Ok(Frame::data(b)))),
            HttpBody::Live(v) => v.poll_next(cx).map(|b| b.map(|b| Ok(Frame::data(b)))),
            HttpBody::Reader {
                source,
                left,
                pending,
            } => {
                if pending.is_none() {
                    if *left == 0 {
                        return Poll::Ready(None);
                    }
                    let Some(mut src) = source.take() else {
                        return Poll::Ready(None);
                    };
                    let want = (*left).min(READ_BUFFER as u64) as usize;
                    *pending = Some(tokio::task::spawn_blocking(move || {
                        let mut buf = vec![0u8; want];
                        let r = read_full(&mut src, &mut buf).map(|n| {
                            buf.truncate(n);
                            Bytes::from(buf)
                        });
                        (src, r)
                    }));
                }
                let task = pending.as_mut().expect("set above");
                let done = ready!(Pin::new(task).poll(cx));
                *pending = None;
                let (src, r) = done.map_err(std::io::Error::other)?;
                let bytes = r?;
                if bytes.is_empty() {
                    return Poll::Ready(Some(Err(std::io::Error::new(
                        std::io::ErrorKind::UnexpectedEof,
                        "the file ended before its announced length",
                    ))));
                }
                *left -= bytes.len() as u64;
                *source = Some(src);
                Poll::Ready(Some(Ok(Frame::data(bytes))))
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        match self {
            HttpBody::Empty => true,
            HttpBody::Full(b) => b.is_none(),
            HttpBody::Reader { left, .. } => *left == 0,
            HttpBody::Channel(_) | HttpBody::Live(_) => false,
        }
    }

    fn size_hint(&self) -> SizeHint {
        match self {
            HttpBody::Empty => SizeHint::with_exact(0),
            HttpBody::Full(b) => SizeHint::with_exact(b.as_ref().map_or(0, |b| b.len() as u64)),
            HttpBody::Reader { left, .. } => SizeHint::with_exact(*left),
            HttpBody::Channel(_) | HttpBody::Live(_) => SizeHint::default(),
        }
    }
}

/// Reads until `buf` is full or the source ends.
fn read_full(r: &mut dyn Read, buf: &mut [u8]) -> std::io::Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        match r.read(&mut buf[n..]) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(n)
}
