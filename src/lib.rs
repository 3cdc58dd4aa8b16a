//! pinvr: a network video recorder for H.264 RTSP IP cameras.
//!
//! How data moves, one process, one binary (see `DESIGN.md` in the design brief):
//!
//! ```text
//! camera --[source]--> ingest   (one OS thread per camera: connect through an Opener,
//!                                RTSP with retina [source::rtsp] or a clip in tests;
//!                                liveness timeouts, backoff; time from a [clock])
//!   -> recorder [chunk]         (minute rotation at key frames, RTP to wall clock
//!                                [stream_clock], fixed-buffer chunk journal on a [disk],
//!                                frames dropped while it is full [disk_full])
//!   -> finisher [finish]        (chunk -> fast-start MP4 [remux, mp4], the chunk's blocks
//!                                shared where the filesystem can [reflink]; first key
//!                                frame -> JPEGs [preview]; atomic publish; recovery)
//!   -> index                    (minutes per camera; the finisher publishes into it)
//!   -> web                      (hyper on its own runtime: pages, REST API, files and
//!                                ranges [range], auth, limits)
//!   recorder -> [chunk_sink]    (a closed minute and the sink that finishes it; [syncer]
//!                                fdatasyncs open chunks every few seconds, off the camera
//!                                threads)
//!   finisher -> [signature]     (each minute's key-frame signature, for the change search)
//!   finisher -> [events]        (minute finished, tag added: what MQTT tells the house)
//! live: each frame also goes from the camera thread to its [live] feed, a ring of
//!       fragments that live viewers read, while anyone watches
//! reaper: keeps free space above the floor by deleting the oldest minutes (a Plan in, a
//!         Pass out); archive: ranges kept for good
//! change search: [change_search] reads signatures, [changes] finds where a region settled
//!         into a new look, [keyframes] decodes key frames to the second; [tags] keep them
//! offload: [offload] uploads minutes and archives to an S3 store; [blob] reads them back
//! mqtt: [mqtt] states, snapshots and Home Assistant discovery
//! app: the composition root the supervisor and the web share; supervisor: the threads
//! config [config]: one JSON file, validated in two steps
//! ```
//!
//! Supporting modules: [`nal`] (access units), [`codec`] (H.264 or H.265), [`parameters`]
//! (decoder configurations and sample descriptions), [`h264`] and [`h265`] (their parameter
//! sets), [`sps_refs`] (an SPS asking for no reference pictures), [`jpeg`] (previews' JPEG
//! encoder), [`layout`] (file names),
//! [`time`] (UTC calendar), [`fmt`] (labels, sizes, URLs for messages), [`fsutil`]
//! (crash-safe writes), [`error`] (the one error type), [`random`] (secrets), [`status`]
//! (what each camera is doing), [`logging`], [`alloc`] (allocator tuning), [`fixture`]
//! (MP4 clips to chunks, for tests and imports), [`probe`] (the config page's camera Test),
//! [`clock_sync`] (whether the system clock is synchronised) and [`unsynced`] (minutes
//! finished before it was), [`cmds`] (the binary's subcommands).

pub mod alloc;
pub mod app;
pub mod archive;
pub mod blob;
pub mod change_search;
pub mod changes;
pub mod chunk;
pub mod chunk_sink;
pub mod clock;
pub mod clock_sync;
pub mod cmds;
pub mod codec;
pub mod config;
pub mod disk;
pub mod disk_full;
pub mod error;
pub mod events;
pub mod finish;
pub mod finisher;
pub mod fixture;
pub mod fmt;
pub mod fsutil;
pub mod h264;
pub mod h265;
pub mod index;
pub mod ingest;
pub mod jpeg;
pub mod keyframes;
pub mod layout;
pub mod live;
pub mod logging;
pub mod mp4;
pub mod mqtt;
pub mod nal;
pub mod offload;
pub mod parameters;
pub mod preview;
pub mod probe;
pub mod random;
pub mod range;
pub mod reaper;
pub mod recorder;
pub mod reflink;
pub mod remux;
pub mod signature;
pub mod source;
pub mod sps_refs;
pub mod status;
pub mod stream_clock;
pub mod supervisor;
pub mod syncer;
pub mod tags;
pub mod time;
pub mod unsynced;
pub mod web;

pub use error::{Error, ErrorKind, Result};
