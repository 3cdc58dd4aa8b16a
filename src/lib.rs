//! pinvr: a network video recorder for H.264 RTSP IP cameras.
//!
//! How data moves, one process, one binary (see `DESIGN.md` in the design brief):
//!
//! ```text
//! camera --RTSP/RTP--> ingest   (retina session; one OS thread and current-thread
//!                                tokio runtime per camera; liveness timeouts, backoff)
//!   -> record  [chunk]          (minute rotation at key frames; fixed-buffer chunk journal)
//!   -> finish  [finish]         (chunk -> fast-start MP4 [remux, mp4], first key frame ->
//!                                preview and thumbnail JPEG [preview]; atomic publish)
//!   -> index                    (in-memory catalogue of minutes, rebuilt from disk)
//!   -> web                      (tiny_http workers: pages, REST API, files with Range)
//! reaper: keeps free space above the floor by deleting the oldest minutes
//! config [config]: one JSON file, validated in two steps
//! ```
//!
//! Supporting modules: [`h264`] (access units and parameter sets), [`layout`] (file names),
//! [`time`] (UTC calendar), [`fsutil`] (crash-safe writes), [`error`] (the one error type),
//! [`fixture`] (MP4 clips to chunks, for tests and imports).

pub mod alloc;
pub mod app;
pub mod archive;
pub mod chunk;
pub mod clock;
pub mod cmds;
pub mod config;
pub mod error;
pub mod finish;
pub mod finisher;
pub mod fixture;
pub mod fsutil;
pub mod h264;
pub mod index;
pub mod ingest;
pub mod layout;
pub mod logging;
pub mod mp4;
pub mod preview;
pub mod range;
pub mod reaper;
pub mod recorder;
pub mod remux;
pub mod status;
pub mod supervisor;
pub mod time;
pub mod web;

pub use error::{Error, ErrorKind, Result};
