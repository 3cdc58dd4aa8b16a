//! Unit tests of [`Recorder`](super::Recorder): rotation, merging, steps and a full disk.

use super::*;
use crate::nal::access_unit as au;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// Collects closed minutes.
#[derive(Default, Clone)]
struct Collect(Arc<Mutex<Vec<Closed>>>);

impl Sink for Collect {
    fn closed(&self, c: Closed) {
        self.0.lock().unwrap().push(c);
    }
    fn finish_now(&self, _: Closed) -> Result<()> {
        Ok(())
    }
}

#[test]
fn rotates_at_the_first_key_frame_after_the_boundary() {
    let dir = std::env::temp_dir().join(format!("pinvr-rec-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let closed = Collect::default();
    let journal = Journal {
        disk: Arc::new(crate::disk::RealDisk),
        buf_size: 4096,
        flush: Duration::from_secs(1),
        sync: None,
    };
    let mut r = Recorder::new("cam", &dir, Box::new(closed.clone()), journal);
    r.session_started();
    // Minimal SPS/PPS bytes are enough: the recorder does not parse them.
    r.set_parameters(Parameters::h264(
        vec![0x67, 0x42, 0, 0x1e],
        vec![0x68, 0xce],
    ));
    let t0 = 1_795_442_400_000_000 + 50_000_000; // 14:00:50
    // A P-frame first is skipped: a minute starts at a key frame.
    r.frame(0, t0, 0, false, &au(&[&[0x41, 1]])).unwrap();
    assert_eq!(r.skipped(), 1);
    // 20 s of frames at 10 fps, key frame every 2 s.
    for i in 0..200i64 {
        let key = i % 20 == 0;
        let data = au(&[if key { &[0x65, 1] } else { &[0x41, 1] }]);
        r.frame(i * 9000, t0 + i * 100_000, i * 100_000, key, &data)
            .unwrap();
    }
    // 14:00:50 + 10 s is the boundary; the key frame at exactly 14:01:00 closes 14:00.
    let minute = t0 / MINUTE_US;
    let list = closed.0.lock().unwrap().clone();
    assert_eq!(list.len(), 1);
    assert_eq!(list[0].minute, minute);
    assert!(
        list[0].chunk.ends_with("20261123/cam.20261123.1400.chunk"),
        "{list:?}"
    );
    r.close().unwrap();
    let list = closed.0.lock().unwrap().clone();
    assert_eq!(list[1].minute, minute + 1);
    assert!(
        list[1].chunk.ends_with("20261123/cam.20261123.1401.chunk"),
        "{list:?}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}
