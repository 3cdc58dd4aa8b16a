//! The subcommands of the `pinvr` binary, one file each, and the few lines of argument
//! handling they share. `main.rs` only dispatches.

pub mod args;
pub mod check_config;
pub mod init;
pub mod mp4_to_chunk;
pub mod remux;
pub mod run;

/// Usage text printed by `pinvr help` and on a bad command line.
pub const USAGE: &str = "\
usage: pinvr <command> [options]

commands:
  run --config FILE [--listen ADDR]
                               record the configured cameras and serve the web UI
                               (--listen overrides web.listen)
  init [--output FILE] [--data-dir DIR] [--listen ADDR] [--camera ID=RTSP_URL]...
                               write a starting config (asks questions on a terminal)
  check-config FILE            validate a config file and print what it means
  remux [--no-preview] IN.chunk OUT.mp4
                               finish a chunk by hand: MP4 plus OUT.jpg and OUT.thumb.jpg
  mp4-to-chunk OUT.chunk IN.mp4...
                               write MP4 clips' H.264 frames as a chunk (tests, imports)
  help                         show this text
";
