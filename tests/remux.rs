//! Chunk to MP4 end to end: clips encoded by ffmpeg/libx264 are written as chunks, finished
//! by pinvr, and judged by ffprobe and ffmpeg.

mod common;

use common::{Clip, T0_US, decode_errors, image_size, pinvr, probe, scratch};
use pinvr::fixture::mp4_to_chunk;
use std::path::Path;

/// Remuxes `clips` (concatenated) through the CLI; returns the MP4's path.
fn remux_clips(dir: &Path, clips: &[&Clip]) -> std::path::PathBuf {
    let mp4s: Vec<_> = clips.iter().map(|c| c.mp4()).collect();
    let inputs: Vec<&Path> = mp4s.iter().map(|p| p.as_path()).collect();
    let chunk = dir.join("cam.20261123.1400.chunk");
    let n = mp4_to_chunk(&inputs, &chunk, T0_US).unwrap();
    assert_eq!(n as u32, clips.iter().map(|c| c.frames()).sum::<u32>());
    let out = dir.join("cam.20261123.1400.mp4");
    let o = pinvr().arg("remux").arg(&chunk).arg(&out).output().unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    out
}

fn assert_plays(out: &Path, clip: &Clip, frames: u32, seconds: f64) {
    let p = probe(out);
    assert_eq!(p.codec, "h264");
    assert_eq!(
        (p.width, p.height),
        (u64::from(clip.width), u64::from(clip.height))
    );
    assert_eq!(p.frames, u64::from(frames), "{p:?}");
    let frame = 1.0 / f64::from(clip.fps);
    assert!((p.duration - seconds).abs() <= frame + 1e-6, "{p:?}");
    assert!(p.start.abs() <= 1e-6, "presentation must start at 0: {p:?}");
    assert_eq!(decode_errors(out), "");
}

#[test]
fn baseline_clip_becomes_a_clean_mp4_with_previews() {
    let dir = scratch("baseline");
    let clip = Clip::small(6);
    let out = remux_clips(&dir, &[&clip]);
    assert_plays(&out, &clip, clip.frames(), 6.0);
    // Fast start: moov before mdat.
    let bytes = std::fs::read(&out).unwrap();
    let moov = bytes.windows(4).position(|w| w == b"moov").unwrap();
    let mdat = bytes.windows(4).position(|w| w == b"mdat").unwrap();
    assert!(moov < mdat);
    assert_eq!(image_size(&dir.join("cam.20261123.1400.jpg")), (320, 240));
    assert_eq!(
        image_size(&dir.join("cam.20261123.1400.thumb.jpg")),
        (160, 120)
    );
}

#[test]
fn b_frames_get_ctts_and_play_in_order() {
    let dir = scratch("bframes");
    for profile in ["main", "high"] {
        let clip = Clip {
            profile,
            bframes: 2,
            gop: 20,
            ..Clip::small(5)
        };
        let out = remux_clips(&dir, &[&clip]);
        let bytes = std::fs::read(&out).unwrap();
        assert!(bytes.windows(4).any(|w| w == b"ctts"), "{profile}: no ctts");
        assert!(
            bytes.windows(4).any(|w| w == b"elst"),
            "{profile}: no edit list"
        );
        assert_plays(&out, &clip, clip.frames(), 5.0);
        let v = common::ffprobe(&out, &["-show_streams"]);
        assert!(v["streams"][0]["has_b_frames"].as_u64().unwrap() > 0);
    }
}

#[test]
fn resolution_change_half_way_plays_through() {
    let dir = scratch("reschange");
    let a = Clip::small(3);
    let b = Clip {
        width: 640,
        height: 360,
        ..Clip::small(3)
    };
    let out = remux_clips(&dir, &[&a, &b]);
    assert_plays(&out, &a, a.frames() + b.frames(), 6.0);
    let v = common::ffprobe(&out, &["-show_frames", "-show_entries", "frame=width"]);
    let widths: Vec<u64> = v["frames"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["width"].as_u64().unwrap())
        .collect();
    assert_eq!(widths.iter().filter(|&&w| w == 320).count(), 30);
    assert_eq!(widths.iter().filter(|&&w| w == 640).count(), 30);
}

#[test]
fn torn_chunk_keeps_every_whole_frame() {
    let dir = scratch("torn");
    let clip = Clip::small(4);
    let chunk = dir.join("cam.20261123.1400.chunk");
    mp4_to_chunk(&[&clip.mp4()], &chunk, T0_US).unwrap();
    let len = std::fs::metadata(&chunk).unwrap().len();
    // Cut 5 bytes into the last record's payload.
    let f = std::fs::OpenOptions::new()
        .write(true)
        .open(&chunk)
        .unwrap();
    let last_len = {
        let bytes = std::fs::read(&chunk).unwrap();
        let mut r = pinvr::chunk::ChunkReader::new(&bytes[..]);
        let mut buf = Vec::new();
        let mut last = 0;
        while let Some(rec) = r.next_into(&mut buf).unwrap() {
            last = rec.offset;
        }
        len - last
    };
    f.set_len(len - last_len + 22).unwrap();
    let done = pinvr::finish::finish_chunk(&chunk).unwrap();
    assert_eq!(done.remux.torn_bytes, 22);
    assert!(!chunk.exists(), "the chunk is removed once finished");
    assert_plays(&done.mp4, &clip, clip.frames() - 1, 3.9);
    assert!(done.no_preview.is_none());
}

#[test]
fn four_four_four_stream_gets_an_mp4_but_no_preview() {
    let dir = scratch("yuv444");
    let clip = Clip {
        profile: "high444",
        pix_fmt: "yuv444p",
        ..Clip::small(2)
    };
    let chunk = dir.join("cam.20261123.1400.chunk");
    mp4_to_chunk(&[&clip.mp4()], &chunk, T0_US).unwrap();
    let done = pinvr::finish::finish_chunk(&chunk).unwrap();
    assert!(
        done.no_preview.as_deref().unwrap().contains("4:2:0"),
        "{done:?}"
    );
    assert!(!dir.join("cam.20261123.1400.jpg").exists());
    assert_eq!(decode_errors(&done.mp4), "");
    assert_eq!(probe(&done.mp4).frames, 20);
}

#[test]
fn garbage_chunk_is_set_aside_not_lost() {
    let dir = scratch("garbage");
    let chunk = dir.join("cam.20261123.1400.chunk");
    std::fs::write(&chunk, b"this is not a chunk file at all").unwrap();
    let e = pinvr::finish::finish_chunk(&chunk).unwrap_err();
    assert_eq!(e.kind(), pinvr::ErrorKind::Corrupt, "{e}");
    assert!(dir.join("cam.20261123.1400.chunk.corrupt").exists());
    assert!(!dir.join("cam.20261123.1400.mp4").exists());
}

#[test]
fn a_kept_decoder_gives_the_same_previews_as_fresh_ones() {
    // The finisher keeps one decoder for a burst of minutes from different cameras: each
    // preview must be exactly what a fresh decoder makes of that minute, whatever came
    // before it (another size, another encoding of a similar picture).
    let dir = scratch("previewer");
    let clips = [
        Clip::small(2),
        Clip {
            width: 640,
            height: 360,
            ..Clip::small(2)
        },
        Clip {
            profile: "high",
            ..Clip::small(2)
        },
    ];
    let mut key_frames = Vec::new();
    for (i, clip) in clips.iter().enumerate() {
        let chunk = dir.join(format!("c{i}.20261123.1400.chunk"));
        mp4_to_chunk(&[&clip.mp4()], &chunk, T0_US).unwrap();
        let r = pinvr::remux::remux(&chunk, &dir.join(format!("c{i}.mp4"))).unwrap();
        key_frames.push(r.key_frame.expect("a key frame"));
    }
    let write = |p: &mut pinvr::preview::Previewer, i: usize, tag: &str| {
        let (jpg, thumb) = (
            dir.join(format!("{tag}{i}.jpg")),
            dir.join(format!("{tag}{i}.t.jpg")),
        );
        let (params, annex_b) = &key_frames[i];
        p.write(params, annex_b, &jpg, &thumb).unwrap();
        (std::fs::read(jpg).unwrap(), std::fs::read(thumb).unwrap())
    };
    let fresh: Vec<_> = (0..3)
        .map(|i| {
            let mut p = pinvr::preview::Previewer::default();
            write(&mut p, i, "fresh")
        })
        .collect();
    assert_ne!(fresh[0], fresh[2], "the two 320x240 encodings must differ");
    let mut kept = pinvr::preview::Previewer::default();
    for (n, i) in [0, 1, 2, 0, 2, 1].into_iter().enumerate() {
        assert!(
            write(&mut kept, i, &format!("kept{n}-")) == fresh[i],
            "minute {i} (call {n})"
        );
    }
    kept.release();
    assert_eq!(image_size(&dir.join("kept1-1.jpg")), (640, 360));
}
