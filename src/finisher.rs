//! The finisher thread: closed minutes arrive on a queue and are finished (MP4 + JPEGs) one
//! at a time, off the camera threads, so a camera never stalls while a minute is remuxed.
//! Every finished minute, whether a camera closed it or it was recovered after a crash, is
//! published the same way: into the index, then to the hooks (services that follow the
//! recordings), so the UI and the reaper see it at once.

use crate::ErrorKind;
use crate::error::Result;
use crate::finish::{self, Finished};
use crate::index::Index;
use crate::preview::Previewer;
use crate::recorder::{Closed, Sink};
use std::path::Path;
use std::sync::{Arc, mpsc};
use std::thread::JoinHandle;

/// How often chunks that hit a full disk are tried again.
const RETRY: std::time::Duration = std::time::Duration::from_secs(5);

/// Told of every finished minute, after the index. Must return quickly (queue the work).
pub type Hook = Arc<dyn Fn(&Finished) + Send + Sync>;

/// Whether a minute of this camera gets its preview decoded (false for a main stream
/// whose sub stream is recording: the previews come from the sub's minutes).
pub type Previews = Arc<dyn Fn(&str) -> bool + Send + Sync>;

/// Where finished minutes are announced.
struct Publisher {
    /// The minute index.
    index: Arc<Index>,
    /// Everything else that follows finished minutes.
    hooks: Vec<Hook>,
    /// Which cameras' minutes get previews.
    previews: Previews,
}

impl Publisher {
    /// Finishes `c` and publishes the result; a failure is returned (and logged by the
    /// caller) with nothing published.
    fn finish(&self, c: &Closed, previewer: &mut Previewer) -> Result<Finished> {
        let f = finish::finish_chunk_with(c, previewer, (self.previews)(&c.camera))?;
        // Named by a clock that may be wrong: marked, so the day view says so.
        if crate::clock_sync::synchronized() == Some(false)
            && let Some(dir) = c.chunk.parent().and_then(Path::parent)
            && let Err(e) = crate::unsynced::record(dir, &c.camera, c.minute)
        {
            log::warn!("{e}");
        }
        self.index.add(&f.camera, f.minute);
        for h in &self.hooks {
            h(&f);
        }
        Ok(f)
    }
}

/// Queue of minutes to finish; cheap to clone, one per camera.
#[derive(Clone)]
pub struct Finisher {
    /// Sending side of the queue.
    tx: mpsc::Sender<Closed>,
    /// Publishes what is finished.
    publisher: Arc<Publisher>,
}

impl Finisher {
    /// Starts the finisher thread, publishing into `index` and then to `hooks`. It exits
    /// when every [`Finisher`] clone is dropped and the queue is empty.
    pub fn spawn(index: Arc<Index>, hooks: Vec<Hook>) -> (Finisher, JoinHandle<()>) {
        Finisher::spawn_with(index, hooks, Arc::new(|_: &str| true))
    }

    /// [`spawn`](Self::spawn), with previews decoded only for minutes `previews` approves.
    pub fn spawn_with(
        index: Arc<Index>,
        hooks: Vec<Hook>,
        previews: Previews,
    ) -> (Finisher, JoinHandle<()>) {
        let (tx, rx) = mpsc::channel::<Closed>();
        let publisher = Arc::new(Publisher {
            index,
            hooks,
            previews,
        });
        let p = publisher.clone();
        let handle = std::thread::Builder::new()
            .name("finisher".into())
            .spawn(move || run(&p, &rx))
            .expect("spawning the finisher thread");
        (Finisher { tx, publisher }, handle)
    }

    /// Queues a closed minute.
    pub fn send(&self, c: Closed) {
        if let Err(e) = self.tx.send(c) {
            // Only during shutdown: the chunk stays on disk and is finished at next start.
            log::warn!(
                "finisher gone; {} left for the next start",
                e.0.chunk.display()
            );
        }
    }

    /// Finishes `c` now, on the calling thread, and publishes it.
    pub fn finish_now(&self, c: &Closed) -> Result<Finished> {
        let mut previewer = Previewer::default();
        let r = self.publisher.finish(c, &mut previewer);
        previewer.release();
        r
    }

    /// Finishes and publishes every leftover chunk of `camera` under `dir` (a crash or power
    /// cut left them), on the calling thread; returns how many were finished.
    pub fn recover(&self, camera: &str, dir: &Path) -> usize {
        let mut previewer = Previewer::default();
        let mut done = 0;
        for c in finish::leftovers(camera, dir) {
            match self.publisher.finish(&c, &mut previewer) {
                Ok(f) => {
                    log::info!("recovered {} ({} frames)", f.mp4.display(), f.remux.frames);
                    done += 1;
                }
                Err(e) => log::error!("recovering {}: {e}", c.chunk.display()),
            }
        }
        previewer.release();
        done
    }
}

impl Sink for Finisher {
    fn closed(&self, c: Closed) {
        self.send(c);
    }

    fn finish_now(&self, c: Closed) -> Result<()> {
        Finisher::finish_now(self, &c).map(|_| ())
    }
}

/// The finisher thread's loop.
fn run(publisher: &Publisher, rx: &mpsc::Receiver<Closed>) {
    // Minutes that could not be finished for lack of space, retried as space returns (the
    // reaper frees it).
    let mut waiting: Vec<Closed> = Vec::new();
    // One decoder for a burst of closes; dropped whenever the queue runs dry.
    let mut previewer = Previewer::default();
    let run = |c: Closed, waiting: &mut Vec<Closed>, p: &mut Previewer| {
        match publisher.finish(&c, p) {
            Ok(f) => log::debug!("finished {}", f.mp4.display()),
            Err(e) if e.kind() == ErrorKind::StorageFull => {
                if !waiting.contains(&c) {
                    log::error!("finishing {}: {e}; will retry", c.chunk.display());
                    waiting.push(c);
                }
                return;
            }
            Err(e) => log::error!("finishing {}: {e}", c.chunk.display()),
        }
        waiting.retain(|w| *w != c);
    };
    loop {
        let next = match rx.try_recv() {
            Ok(c) => Ok(c),
            Err(mpsc::TryRecvError::Empty) => {
                previewer.release();
                rx.recv_timeout(RETRY)
            }
            Err(mpsc::TryRecvError::Disconnected) => Err(mpsc::RecvTimeoutError::Disconnected),
        };
        for c in waiting.clone() {
            run(c, &mut waiting, &mut previewer);
        }
        match next {
            Ok(c) => run(c, &mut waiting, &mut previewer),
            Err(mpsc::RecvTimeoutError::Timeout) => {}
            Err(mpsc::RecvTimeoutError::Disconnected) => break,
        }
    }
}
