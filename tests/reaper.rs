//! The reaper and a full disk on a real (loop-mounted ext4) filesystem: oldest minutes go
//! first, archives and the open minute stay, recording goes on through deletions, and a
//! full disk costs frames, never a damaged MP4; with offload on, a small disk deletes
//! uploaded minutes and loses (and counts) only what the floor takes before upload.

mod common;

use common::cameras::FakeCamera;
use common::daemon::Pinvr;
use common::disk::SmallDisk;
use common::{Clip, camera_clip, decode_errors, duration, minutes, scratch};
use pinvr::layout::{FileKind, minute_path};
use serde_json::json;
use std::path::Path;
use std::time::{Duration, Instant};

/// Writes a minute of `camera` from `clip` at `minute` under `data` (MP4 and JPEGs).
fn minute(data: &Path, camera: &str, minute: i64, clip: &Path) {
    common::write_minute(data, camera, minute, clip, 0);
}

/// One reaper pass over what `app`'s config says, as the reaper thread runs it.
fn reap(app: &pinvr::app::App) -> Vec<pinvr::reaper::Freed> {
    let plan = app.reaper.plan().expect("a reaper section");
    let now = pinvr::time::minute_of(pinvr::time::now_micros());
    pinvr::reaper::pass(&plan, &app.index, &pinvr::disk::RealDisk, now).freed
}

/// Archives `camera`'s minutes `from..=to` with `note`, as the web form does.
fn archive(
    app: &pinvr::app::App,
    camera: &str,
    from: i64,
    to: i64,
    note: &str,
) -> pinvr::archive::Archive {
    let files = app.minute_files(camera, from, to).unwrap();
    let mp4 = pinvr::range::RangeMp4::build(&files).unwrap();
    let (start, end) = (pinvr::fmt::minute_label(from), pinvr::fmt::minute_label(to));
    let req = pinvr::archive::Request {
        camera,
        start: &start,
        end: &end,
        mp4: &mp4,
        note,
        tags: &[],
    };
    pinvr::archive::create(
        &app.loaded().config.archive_dir,
        &req,
        pinvr::time::now_micros(),
    )
    .unwrap()
}

#[test]
fn reaper_deletes_oldest_first_and_keeps_archives_and_the_open_minute() {
    let dir = scratch("reaper-pass");
    let Some(disk) = SmallDisk::new(&dir, 32) else {
        return;
    };
    let data = disk.dir.join("data");
    let clip = Clip::small(3).mp4();
    let now = pinvr::time::minute_of(pinvr::time::now_micros());
    let day = now - now.rem_euclid(1440);
    // Two days ago: three minutes of a (that whole day folder should go).
    let mut made = Vec::new();
    for m in [
        day - 2 * 1440 + 600,
        day - 2 * 1440 + 601,
        day - 2 * 1440 + 602,
    ] {
        minute(&data, "a", m, &clip);
        made.push(("a", m));
    }
    // Yesterday: a and b interleaved.
    for k in 0..10 {
        let (cam, m) = if k % 2 == 0 {
            ("a", day - 1440 + 100 + k)
        } else {
            ("b", day - 1440 + 100 + k)
        };
        minute(&data, cam, m, &clip);
        made.push((cam, m));
    }
    // The minute being recorded: its chunk is there, and an MP4 merged from a restart.
    minute(&data, "a", now, &clip);
    let open_chunk = minute_path(&data.join("a"), "a", now, FileKind::Chunk);
    std::fs::write(&open_chunk, b"").unwrap();
    let config_path = dir.join("pinvr.json");
    let write_config = |floor: u64| {
        let c = json!({
            "data_dir": data,
            "reaper": { "min_free_bytes": floor, "min_free_percent": 0, "max_age_days": 3 },
            "cameras": [ { "id": "a", "url": "rtsp://127.0.0.1:9/" }, { "id": "b", "url": "rtsp://127.0.0.1:9/" } ]
        });
        std::fs::write(&config_path, c.to_string()).unwrap();
    };
    write_config(0);
    let app = pinvr::app::App::load(config_path.clone());
    // An archive of yesterday's first minutes, on the same disk.
    let archive = archive(&app, "a", day - 1440 + 100, day - 1440 + 102, "kept");
    assert!(
        reap(&app).iter().all(|f| f.minutes.is_empty()),
        "nothing to do above the floor"
    );

    // A per-camera age limit: b keeps minutes for one day, so yesterday's b minutes older
    // than 24 hours go even above the floor (the global limit of 3 days spares a's).
    let c = json!({
        "data_dir": data,
        "reaper": { "min_free_bytes": 0, "min_free_percent": 0, "max_age_days": 3 },
        "cameras": [ { "id": "a", "url": "rtsp://127.0.0.1:9/" },
                     { "id": "b", "url": "rtsp://127.0.0.1:9/", "max_age_days": 1 } ]
    });
    std::fs::write(&config_path, c.to_string()).unwrap();
    let aged = pinvr::app::App::load(config_path.clone());
    let gone: Vec<(String, i64)> = reap(&aged).into_iter().flat_map(|f| f.minutes).collect();
    let old_b: Vec<(String, i64)> = made
        .iter()
        .filter(|(c, m)| *c == "b" && *m < now - 1440)
        .map(|(c, m)| (c.to_string(), *m))
        .collect();
    assert_eq!(gone, old_b, "age limit");
    made.retain(|(c, m)| !(*c == "b" && *m < now - 1440));

    // Ask for about six minutes' worth of space back.
    let size = std::fs::metadata(minute_path(&data.join("a"), "a", made[0].1, FileKind::Mp4))
        .unwrap()
        .len();
    let floor = disk.free() + 5 * size + size / 2;
    write_config(floor);
    let app = pinvr::app::App::load(config_path.clone());
    let freed = reap(&app);
    let deleted: Vec<(String, i64)> = freed.iter().flat_map(|f| f.minutes.clone()).collect();
    let expected: Vec<(String, i64)> = made
        .iter()
        .take(deleted.len())
        .map(|(c, m)| (c.to_string(), *m))
        .collect();
    // Each minute frees its MP4 and JPEGs, so five or six minutes make the room.
    assert!((5..=6).contains(&deleted.len()), "{deleted:?}");
    assert_eq!(deleted, expected, "not oldest first");
    assert!(
        disk.free() >= floor,
        "floor {floor} not held: {} free",
        disk.free()
    );
    for (cam, m) in &deleted {
        for kind in [FileKind::Mp4, FileKind::Preview, FileKind::Thumbnail] {
            assert!(!minute_path(&data.join(cam.as_str()), cam, *m, kind).exists());
        }
        assert!(
            app.index.minutes(cam, *m, *m).is_empty(),
            "index still offers {cam} {m}"
        );
    }
    let old_day = minute_path(&data.join("a"), "a", made[0].1, FileKind::Mp4);
    assert!(
        !old_day.parent().unwrap().exists(),
        "empty day folder left behind"
    );
    assert!(
        minute_path(&data.join("a"), "a", now, FileKind::Mp4).exists(),
        "the open minute was deleted"
    );
    assert!(open_chunk.exists());
    let archive_dir = data.join("archive");
    assert!(
        archive_dir.join(format!("{}.mp4", archive.name)).exists(),
        "an archive was deleted"
    );
    assert_eq!(
        decode_errors(&archive_dir.join(format!("{}.mp4", archive.name))),
        ""
    );

    // Everything left is still there: asking for the impossible deletes all but what is
    // protected and says so.
    write_config(u64::MAX / 2);
    let app = pinvr::app::App::load(config_path);
    reap(&app);
    assert!(minute_path(&data.join("a"), "a", now, FileKind::Mp4).exists());
    assert!(archive_dir.join(format!("{}.mp4", archive.name)).exists());
    assert_eq!(pinvr::archive::list(&archive_dir).len(), 1);
}

#[test]
fn recording_goes_on_through_deletions_on_a_small_disk() {
    let dir = scratch("reaper-live");
    let Some(disk) = SmallDisk::new(&dir, 32) else {
        return;
    };
    let data = disk.dir.join("data");
    // Yesterday's recordings fill part of the disk; the reaper makes room from them.
    let clip = Clip::small(6).mp4();
    let now = pinvr::time::minute_of(pinvr::time::now_micros());
    for k in 0..40 {
        minute(&data, "cam", now - 1440 + k, &clip);
    }
    let cam = FakeCamera::start(&camera_clip(), None);
    // Room for about one minute of this stream above the floor.
    let floor = disk.free().saturating_sub(2_500_000);
    let config = json!({
        "data_dir": data,
        "reaper": { "min_free_bytes": floor, "min_free_percent": 0, "interval_s": 2 },
        "cameras": [ { "id": "cam", "url": cam.url() } ]
    });
    let mut p = Pinvr::start(&dir, &config);
    p.wait_log("camera cam: recording", 0, Duration::from_secs(30));
    // Record across two minute boundaries and until the reaper has deleted three minutes,
    // sampling free space. A test started late in a minute records for little more than a
    // minute past its first boundary, too little to need three deletions (CI, stop 28).
    let started = pinvr::time::now_micros() as f64 / 1e6;
    let end = ((started / 60.0).floor() + 2.0) * 60.0 + 8.0;
    let mut lowest = u64::MAX;
    let deadline = Instant::now() + Duration::from_secs(200);
    while (pinvr::time::now_micros() as f64 / 1e6) < end || minutes_freed(&p.log_text()) < 3 {
        assert!(
            Instant::now() < deadline,
            "only {} minutes deleted in 200 s:\n{}",
            minutes_freed(&p.log_text()),
            p.log_text()
        );
        lowest = lowest.min(disk.free());
        std::thread::sleep(Duration::from_millis(500));
    }
    assert!(p.terminate(Duration::from_secs(30)));
    let log = p.log_text();
    let deleted = minutes_freed(&log);
    assert!(deleted >= 3, "only {deleted} minutes deleted:\n{log}");
    // The reaper restores the floor within a pass: the dip is at most what the camera
    // writes between passes plus the minute being finished (its MP4 beside its chunk).
    assert!(
        lowest + 2_500_000 >= floor,
        "free fell to {lowest}, floor {floor}"
    );
    let live: Vec<_> = minutes(&data.join("cam"))
        .into_iter()
        .filter(|f| pinvr::mp4::start_us(f).unwrap().unwrap() as f64 / 1e6 > started - 5.0)
        .collect();
    assert!(live.len() >= 3, "{live:?}");
    for f in &live {
        assert_eq!(decode_errors(f), "", "{}", f.display());
    }
    common::assert_minutes_meet(&live, 0.15);
}

#[test]
fn a_full_disk_drops_frames_and_recording_resumes_when_space_returns() {
    let dir = scratch("enospc");
    let Some(disk) = SmallDisk::new(&dir, 16) else {
        return;
    };
    let data = disk.dir.join("data");
    std::fs::create_dir_all(&data).unwrap();
    let cam = FakeCamera::start(&camera_clip(), None);
    let config = json!({
        "data_dir": data,
        "cameras": [ { "id": "cam", "url": cam.url() } ]
    });
    // Ballast leaves about half a megabyte: a few seconds of this stream.
    let ballast = disk.dir.join("ballast");
    let room = disk.free().saturating_sub(500_000);
    let f = std::fs::File::create(&ballast).unwrap();
    nix::fcntl::posix_fallocate(&f, 0, room as i64).unwrap();
    drop(f);
    let mut p = Pinvr::start(&dir, &config);
    p.wait_log("camera cam: disk full", 0, Duration::from_secs(60));
    let skip = p.log_text().len();
    std::thread::sleep(Duration::from_secs(3));
    assert!(
        !p.log_text()[skip..].contains("disk full"),
        "the full disk was logged more than once"
    );
    std::fs::remove_file(&ballast).unwrap();
    p.wait_log("camera cam: space is back", skip, Duration::from_secs(15));
    // Let a minute close normally after that, then stop.
    let resumed = pinvr::time::now_micros() as f64 / 1e6;
    let boundary = ((resumed / 60.0).floor() + 1.0) * 60.0 + 5.0;
    let deadline = Instant::now() + Duration::from_secs(80);
    while (pinvr::time::now_micros() as f64 / 1e6) < boundary {
        assert!(Instant::now() < deadline);
        std::thread::sleep(Duration::from_millis(300));
    }
    assert!(p.terminate(Duration::from_secs(30)));
    assert!(
        !p.log_text().contains("retrying until it is back"),
        "the stream must stay connected"
    );
    let files = minutes(&data.join("cam"));
    assert!(files.len() >= 2, "{files:?}");
    for f in &files {
        assert_eq!(decode_errors(f), "", "{}", f.display());
    }
    let last = files.last().unwrap();
    assert!(duration(last) > 3.0);
}

#[test]
fn with_offload_a_small_disk_loses_only_what_the_floor_takes_before_upload() {
    let dir = scratch("reaper-offload");
    let Some(disk) = SmallDisk::new(&dir, 32) else {
        return;
    };
    let data = disk.dir.join("data");
    let clip = Clip::small(3).mp4();
    let now = pinvr::time::minute_of(pinvr::time::now_micros());
    let first = now - 30;
    for k in 0..10 {
        minute(&data, "a", first + k, &clip);
    }
    let mp4 = |m: i64| minute_path(&data.join("a"), "a", m, FileKind::Mp4);
    let size = std::fs::metadata(mp4(first)).unwrap().len();
    let config_path = dir.join("pinvr.json");
    // pinvr with offload on (keep_local_days 0) whose uploader has sent the first four
    // minutes, as its journal says.
    let load = |floor: u64| {
        let c = json!({
            "data_dir": data,
            "reaper": { "min_free_bytes": floor, "min_free_percent": 0 },
            "cameras": [ { "id": "a", "url": "rtsp://127.0.0.1:9/" } ],
            "offload": { "endpoint": "http://127.0.0.1:9", "bucket": "pinvr",
                         "access_key": "AK", "secret_key": "SK", "keep_local_days": 0 },
        });
        std::fs::write(&config_path, c.to_string()).unwrap();
        let app = pinvr::app::App::load(config_path.clone());
        for m in first..first + 4 {
            let u = pinvr::offload::journal::Uploaded {
                size: std::fs::metadata(mp4(m)).map_or(size, |md| md.len()),
                summary: None,
                preview: true,
                thumbnail: true,
            };
            app.offload.mark("a", m, u);
        }
        app
    };
    // Above the floor: the four uploaded minutes leave the disk, the rest stay.
    let freed = reap(&load(0));
    let gone: Vec<i64> = freed
        .iter()
        .flat_map(|f| f.minutes.iter().map(|m| m.1))
        .collect();
    assert_eq!(gone, (first..first + 4).collect::<Vec<_>>());
    let counted = |f: &[pinvr::reaper::Freed]| {
        f.iter()
            .fold((0, 0), |(o, l), f| (o + f.offloaded, l + f.lost))
    };
    assert_eq!(counted(&freed), (4, 0));
    assert!((first + 4..first + 10).all(|m| mp4(m).exists()));
    // The floor asks for about three minutes' more room: the oldest minutes not yet
    // uploaded go, each counted as lost.
    let freed = reap(&load(disk.free() + 2 * size + size / 2));
    let gone: Vec<i64> = freed
        .iter()
        .flat_map(|f| f.minutes.iter().map(|m| m.1))
        .collect();
    assert_eq!(
        gone,
        (first + 4..first + 4 + gone.len() as i64).collect::<Vec<_>>()
    );
    assert!((2..=4).contains(&gone.len()), "{gone:?}");
    assert_eq!(counted(&freed), (0, gone.len()));
}

#[test]
fn a_minute_recorded_twice_goes_with_its_repeats_and_a_younger_one_stays() {
    // A minute four days old was recorded twice (the clock was set back): deleting it by
    // age takes the minute and its repeat with their JPEGs; one four minutes younger, on
    // the right side of the limit with a repeat of its own, stays whole.
    let dir = scratch("reaper-repeats");
    let data = dir.join("data");
    let clip = Clip::small(3).mp4();
    let now = pinvr::time::minute_of(pinvr::time::now_micros());
    let (old, young) = (now - 4 * 1440 - 2, now - 4 * 1440 + 2);
    let cam = data.join("a");
    for m in [old, young] {
        minute(&data, "a", m, &clip);
        // The repeat: a minute written elsewhere, moved to the repeat's names.
        let again = common::write_minute(&dir.join(format!("again{m}")), "a", m, &clip, 0);
        for kind in [FileKind::Mp4, FileKind::Preview, FileKind::Thumbnail] {
            let from = pinvr::layout::sibling(&again, FileKind::Mp4, kind).unwrap();
            let to = pinvr::layout::repeat_path(&cam, "a", m, 1, kind);
            std::fs::rename(from, to).unwrap();
        }
    }
    let config_path = dir.join("pinvr.json");
    let c = json!({
        "data_dir": data,
        "reaper": { "min_free_bytes": 0, "min_free_percent": 0, "max_age_days": 4 },
        "cameras": [ { "id": "a", "url": "rtsp://127.0.0.1:9/" } ]
    });
    std::fs::write(&config_path, c.to_string()).unwrap();
    let app = pinvr::app::App::load(config_path);
    let freed = reap(&app);
    let gone: Vec<(String, i64)> = freed.iter().flat_map(|f| f.minutes.clone()).collect();
    assert_eq!(gone, [("a".to_owned(), old)]);
    let kinds = [FileKind::Mp4, FileKind::Preview, FileKind::Thumbnail];
    for kind in kinds {
        for (m, there) in [(old, false), (young, true)] {
            for p in [
                minute_path(&cam, "a", m, kind),
                pinvr::layout::repeat_path(&cam, "a", m, 1, kind),
            ] {
                assert_eq!(p.exists(), there, "{}", p.display());
            }
        }
    }
}

/// How many minutes the reaper's log lines say it deleted.
fn minutes_freed(log: &str) -> usize {
    log.lines()
        .filter_map(|l| l.split("reaper: freed ").nth(1))
        .filter_map(|l| {
            l.split('(')
                .nth(1)?
                .split(' ')
                .next()?
                .parse::<usize>()
                .ok()
        })
        .sum()
}
