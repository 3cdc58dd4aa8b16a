//! What the recorder hands on, and how it writes: a closed minute, the sink that finishes
//! it (the finisher), and the chunk journal's settings.

use crate::chunk::ChunkIndex;
use crate::disk::Disk;
use crate::error::Result;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

/// A minute whose chunk is closed and waits to be finished.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Closed {
    /// Camera id.
    pub camera: String,
    /// The minute (since the epoch) the chunk is named after.
    pub minute: i64,
    /// The chunk file.
    pub chunk: PathBuf,
    /// What the recorder wrote into it, record by record, when it knows (see
    /// [`ChunkIndex`]): a leftover found on disk has none.
    pub index: Option<Arc<ChunkIndex>>,
}

/// Where closed minutes go (the finisher).
pub trait Sink: Send {
    /// Queues a closed minute to be finished off this thread.
    fn closed(&self, c: Closed);
    /// Finishes a leftover chunk now, on this thread (a minute being reopened must be
    /// finished before it is continued).
    fn finish_now(&self, c: Closed) -> Result<()>;
}

/// How the recorder writes its chunks.
#[derive(Clone)]
pub struct Journal {
    /// The disk (free space, journal files).
    pub disk: Arc<dyn Disk>,
    /// Size of the chunk writer's buffer.
    pub buf_size: usize,
    /// Flush at least this often (stream time).
    pub flush: Duration,
    /// Have the chunk synced to the disk this often, if at all (bounds a power cut's loss).
    pub sync: Option<Duration>,
}
