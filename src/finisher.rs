//! The finisher thread: closed chunks arrive on a queue and are finished (MP4 + JPEGs) one
//! at a time, off the camera threads, so a camera never stalls while a minute is remuxed.

use crate::ErrorKind;
use crate::finish::{self, Finished};
use crate::preview::Previewer;
use std::path::PathBuf;
use std::sync::mpsc;
use std::thread::JoinHandle;

/// How often chunks that hit a full disk are tried again.
const RETRY: std::time::Duration = std::time::Duration::from_secs(5);

/// Called after each chunk is finished (or failed), e.g. to update the index.
pub type OnFinished = Box<dyn Fn(&PathBuf, &crate::Result<Finished>) + Send>;

/// Queue of chunks to finish; cheap to clone, one per camera.
#[derive(Clone)]
pub struct Finisher {
    /// Sending side of the queue.
    tx: mpsc::Sender<PathBuf>,
}

impl Finisher {
    /// Starts the finisher thread. It exits when every [`Finisher`] clone is dropped and the
    /// queue is empty.
    pub fn spawn(on_finished: OnFinished) -> (Finisher, JoinHandle<()>) {
        let (tx, rx) = mpsc::channel::<PathBuf>();
        let handle = std::thread::Builder::new()
            .name("finisher".into())
            .spawn(move || {
                // Chunks that could not be finished for lack of space, retried as space
                // returns (the reaper frees it).
                let mut waiting: Vec<PathBuf> = Vec::new();
                // One decoder for a burst of closes; dropped whenever the queue runs dry.
                let mut previewer = Previewer::default();
                let run = |chunk: PathBuf, waiting: &mut Vec<PathBuf>, p: &mut Previewer| {
                    let result = finish::finish_chunk_with(&chunk, p);
                    match &result {
                        Ok(f) => log::debug!("finished {}", f.mp4.display()),
                        Err(e) if e.kind() == ErrorKind::StorageFull => {
                            if !waiting.contains(&chunk) {
                                log::error!("finishing {}: {e}; will retry", chunk.display());
                                waiting.push(chunk);
                            }
                            return;
                        }
                        Err(e) => log::error!("finishing {}: {e}", chunk.display()),
                    }
                    waiting.retain(|w| *w != chunk);
                    on_finished(&chunk, &result);
                };
                loop {
                    let next = match rx.try_recv() {
                        Ok(chunk) => Ok(chunk),
                        Err(mpsc::TryRecvError::Empty) => {
                            previewer.release();
                            rx.recv_timeout(RETRY)
                        }
                        Err(mpsc::TryRecvError::Disconnected) => {
                            Err(mpsc::RecvTimeoutError::Disconnected)
                        }
                    };
                    for chunk in waiting.clone() {
                        run(chunk, &mut waiting, &mut previewer);
                    }
                    match next {
                        Ok(chunk) => run(chunk, &mut waiting, &mut previewer),
                        Err(mpsc::RecvTimeoutError::Timeout) => {}
                        Err(mpsc::RecvTimeoutError::Disconnected) => break,
                    }
                }
            })
            .expect("spawning the finisher thread");
        (Finisher { tx }, handle)
    }

    /// Queues a closed chunk.
    pub fn send(&self, chunk: PathBuf) {
        if let Err(e) = self.tx.send(chunk) {
            // Only during shutdown: the chunk stays on disk and is finished at next start.
            log::warn!("finisher gone; {} left for the next start", e.0.display());
        }
    }

    /// A sink for a [`crate::recorder::Recorder`].
    pub fn sink(&self) -> crate::recorder::Sink {
        let me = self.clone();
        Box::new(move |p| me.send(p))
    }
}
