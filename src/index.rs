//! The in-memory catalogue of finished minutes: per camera, per UTC day, a bitmap of the
//! 1440 minutes that have an MP4 (184 bytes a day, so a year of eight cameras fits in about
//! half a megabyte). Rebuilt from file names at start, kept current by the finisher and
//! the reaper, read by the web UI.

use crate::layout::{self, FileKind};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::RwLock;

/// Minutes in a day.
const DAY: i64 = 1440;
/// Words of a day's bitmap.
const WORDS: usize = (DAY as usize).div_ceil(64);

/// One day's minutes as a bitmap.
type DayBits = [u64; WORDS];

/// One camera's minutes.
#[derive(Debug, Default)]
struct CameraMinutes {
    /// The camera's folder.
    dir: PathBuf,
    /// Days (since the epoch) with at least one minute.
    days: BTreeMap<i64, DayBits>,
}

/// All cameras' minutes; shared between threads.
#[derive(Debug, Default)]
pub struct Index {
    /// By camera id.
    cameras: RwLock<BTreeMap<String, CameraMinutes>>,
}

impl Index {
    /// Makes sure each `(id, dir)` camera is indexed: cameras not yet known are scanned
    /// from disk, cameras whose folder changed are rescanned. Others are left as they are.
    pub fn ensure(&self, cameras: &[(String, PathBuf)]) {
        for (id, dir) in cameras {
            let known = self.read(|m| m.get(id).is_some_and(|c| c.dir == *dir));
            if !known {
                let scanned = scan(id, dir);
                self.write(|m| m.insert(id.clone(), scanned));
            }
        }
    }

    fn read<T>(&self, f: impl FnOnce(&BTreeMap<String, CameraMinutes>) -> T) -> T {
        f(&self.cameras.read().unwrap_or_else(|e| e.into_inner()))
    }

    fn write<T>(&self, f: impl FnOnce(&mut BTreeMap<String, CameraMinutes>) -> T) -> T {
        f(&mut self.cameras.write().unwrap_or_else(|e| e.into_inner()))
    }

    /// Records that `camera` has minute `minute` (minutes since the epoch).
    pub fn add(&self, camera: &str, minute: i64) {
        self.write(|m| {
            if let Some(c) = m.get_mut(camera) {
                let day = c.days.entry(minute.div_euclid(DAY)).or_insert([0; WORDS]);
                set(day, minute.rem_euclid(DAY), true);
            }
        });
    }

    /// Forgets `camera`'s minute `minute`.
    pub fn remove(&self, camera: &str, minute: i64) {
        self.write(|m| {
            if let Some(c) = m.get_mut(camera) {
                let d = minute.div_euclid(DAY);
                if let Some(day) = c.days.get_mut(&d) {
                    set(day, minute.rem_euclid(DAY), false);
                    if day.iter().all(|w| *w == 0) {
                        c.days.remove(&d);
                    }
                }
            }
        });
    }

    /// The MP4 files (regular files, reached without a symbolic link) of `camera`'s minutes
    /// in `[from, to]` under its folder `dir`, in time order.
    pub fn minute_files(&self, dir: &Path, camera: &str, from: i64, to: i64) -> Vec<PathBuf> {
        self.minutes(camera, from, to)
            .into_iter()
            .map(|m| layout::minute_path(dir, camera, m, FileKind::Mp4))
            .filter(|p| crate::fsutil::plain_file_under(dir, p))
            .collect()
    }

    /// `camera`'s minutes in `[from, to]` (minutes since the epoch), ascending.
    pub fn minutes(&self, camera: &str, from: i64, to: i64) -> Vec<i64> {
        self.read(|m| {
            let mut out = Vec::new();
            let Some(c) = m.get(camera) else {
                return out;
            };
            for (&d, bits) in c.days.range(from.div_euclid(DAY)..=to.div_euclid(DAY)) {
                for i in 0..DAY {
                    let minute = d * DAY + i;
                    if (from..=to).contains(&minute) && get(bits, i) {
                        out.push(minute);
                    }
                }
            }
            out
        })
    }

    /// The most recent minute of `camera`.
    pub fn latest(&self, camera: &str) -> Option<i64> {
        self.read(|m| {
            let (&d, bits) = m.get(camera)?.days.iter().next_back()?;
            (0..DAY).rev().find(|&i| get(bits, i)).map(|i| d * DAY + i)
        })
    }

    /// The oldest minute of `camera`.
    pub fn oldest(&self, camera: &str) -> Option<i64> {
        self.read(|m| {
            let (&d, bits) = m.get(camera)?.days.iter().next()?;
            (0..DAY).find(|&i| get(bits, i)).map(|i| d * DAY + i)
        })
    }

    /// Days (since the epoch) on which `camera` has minutes.
    pub fn days(&self, camera: &str) -> Vec<i64> {
        self.read(|m| {
            m.get(camera)
                .map(|c| c.days.keys().copied().collect())
                .unwrap_or_default()
        })
    }

    /// The folder indexed for `camera`.
    pub fn dir(&self, camera: &str) -> Option<PathBuf> {
        self.read(|m| m.get(camera).map(|c| c.dir.clone()))
    }

    /// Total minutes indexed (all cameras).
    pub fn len(&self) -> usize {
        self.read(|m| {
            m.values()
                .flat_map(|c| c.days.values())
                .flat_map(|d| d.iter())
                .map(|w| w.count_ones() as usize)
                .sum()
        })
    }

    /// True if no minute is indexed.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

fn set(bits: &mut DayBits, i: i64, on: bool) {
    let (w, b) = ((i / 64) as usize, i % 64);
    if on {
        bits[w] |= 1 << b;
    } else {
        bits[w] &= !(1 << b);
    }
}

fn get(bits: &DayBits, i: i64) -> bool {
    bits[(i / 64) as usize] & (1 << (i % 64)) != 0
}

/// Reads a camera's minutes from its folder: `<dir>/YYYYMMDD/<id>.YYYYMMDD.HHMM.mp4`.
fn scan(id: &str, dir: &Path) -> CameraMinutes {
    let mut c = CameraMinutes {
        dir: dir.to_owned(),
        days: BTreeMap::new(),
    };
    let Ok(days) = std::fs::read_dir(dir) else {
        return c;
    };
    // Only real folders and files count: a symbolic link planted among the recordings
    // could point anywhere.
    for day in days
        .flatten()
        .filter(|d| d.file_type().is_ok_and(|t| t.is_dir()))
    {
        let Ok(files) = std::fs::read_dir(day.path()) else {
            continue;
        };
        for f in files
            .flatten()
            .filter(|f| f.file_type().is_ok_and(|t| t.is_file()))
        {
            let name = f.file_name();
            if let Some((cam, minute, FileKind::Mp4)) = name.to_str().and_then(layout::parse_name)
                && cam == id
            {
                let d = c.days.entry(minute.div_euclid(DAY)).or_insert([0; WORDS]);
                set(d, minute.rem_euclid(DAY), true);
            }
        }
    }
    c
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn adds_removes_and_queries() {
        let dir = std::env::temp_dir().join(format!("pinvr-index-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let base = crate::time::Date::parse("20261123").unwrap().days() * DAY;
        for (m, kind) in [
            (600, FileKind::Mp4),
            (601, FileKind::Mp4),
            (602, FileKind::Chunk),
        ] {
            let p = layout::minute_path(&dir, "cam", base + m, kind);
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            std::fs::write(p, b"x").unwrap();
        }
        let index = Index::default();
        index.ensure(&[("cam".into(), dir.clone())]);
        assert_eq!(
            index.minutes("cam", base, base + DAY - 1),
            vec![base + 600, base + 601]
        );
        index.add("cam", base + DAY + 5);
        index.remove("cam", base + 600);
        assert_eq!(index.oldest("cam"), Some(base + 601));
        assert_eq!(index.latest("cam"), Some(base + DAY + 5));
        assert_eq!(index.minutes("cam", base + 601, base + DAY + 5).len(), 2);
        index.remove("cam", base + 601);
        assert_eq!(index.days("cam"), vec![base / DAY + 1]);
        assert!(index.minutes("nobody", 0, i64::MAX / 2).is_empty());
        let _ = std::fs::remove_dir_all(&dir);
    }
}
