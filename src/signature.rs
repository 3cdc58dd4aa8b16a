//! A minute's signature: its first key frame shrunk to a 64x36 grid of luma (and 32x18 of
//! each chroma), made at finish time from the picture the preview decoder already has
//! (about a millisecond), and kept per day in `<camera>.YYYYMMDD.sig` beside the minutes:
//! fixed-size records appended by the finisher, the last record of a minute winning. The
//! change search compares regions of these grids instead of decoding video.

use crate::error::{Error, IoContext, Result};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

/// Grid width (luma cells).
pub const W: usize = 64;
/// Grid height (luma cells).
pub const H: usize = 36;
/// Chroma grid size.
const CW: usize = W / 2;
/// See [`CW`].
const CH: usize = H / 2;
/// Bytes of one record: minute of the day (u16, big-endian), then luma, U and V.
pub const RECORD: usize = 2 + W * H + 2 * CW * CH;

/// The shrunk picture.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Signature {
    /// Luma, `W` x `H`, row by row.
    pub y: Vec<u8>,
    /// Cb, `CW` x `CH`.
    pub u: Vec<u8>,
    /// Cr, `CW` x `CH`.
    pub v: Vec<u8>,
}

/// Area-averages a plane of `w` x `h` pixels (row stride `stride`) onto an `ow` x `oh` grid.
fn shrink(src: &[u8], stride: usize, (w, h): (usize, usize), (ow, oh): (usize, usize)) -> Vec<u8> {
    let mut out = vec![0u8; ow * oh];
    if w == 0 || h == 0 || src.len() < stride * (h - 1) + w {
        return out;
    }
    let xs: Vec<(usize, usize)> = (0..ow)
        .map(|i| (i * w / ow, ((i + 1) * w / ow).max(i * w / ow + 1).min(w)))
        .collect();
    let mut sums = vec![0u32; ow];
    for oy in 0..oh {
        let (y0, y1) = (oy * h / oh, ((oy + 1) * h / oh).max(oy * h / oh + 1).min(h));
        sums.fill(0);
        for row in y0..y1 {
            let r = &src[row * stride..row * stride + w];
            for (s, &(a, b)) in sums.iter_mut().zip(&xs) {
                *s += r[a..b].iter().map(|&p| u32::from(p)).sum::<u32>();
            }
        }
        let rows = (y1 - y0) as u32;
        for ((o, s), &(a, b)) in out[oy * ow..(oy + 1) * ow].iter_mut().zip(&sums).zip(&xs) {
            *o = (s / (rows * (b - a) as u32)) as u8;
        }
    }
    out
}

impl Signature {
    /// The signature of a 4:2:0 picture of `width` x `height` given as planes and strides.
    pub fn from_planes(
        (y, u, v): (&[u8], &[u8], &[u8]),
        (ys, cs): (usize, usize),
        (width, height): (usize, usize),
    ) -> Signature {
        let (cw, ch) = (width.div_ceil(2), height.div_ceil(2));
        Signature {
            y: shrink(y, ys, (width, height), (W, H)),
            u: shrink(u, cs, (cw, ch), (CW, CH)),
            v: shrink(v, cs, (cw, ch), (CW, CH)),
        }
    }

    /// How colourful the picture is: the mean distance of chroma from grey (a camera's
    /// night mode, infrared, gives about 0).
    pub fn colourfulness(&self) -> f32 {
        let n = self.u.len().max(1) as f32;
        self.u
            .iter()
            .zip(&self.v)
            .map(|(&u, &v)| (i32::from(u) - 128).abs() + (i32::from(v) - 128).abs())
            .sum::<i32>() as f32
            / n
    }

    /// The record of minute `minute_of_day`.
    pub fn record(&self, minute_of_day: u16) -> Vec<u8> {
        let mut r = Vec::with_capacity(RECORD);
        r.extend_from_slice(&minute_of_day.to_be_bytes());
        r.extend_from_slice(&self.y);
        r.extend_from_slice(&self.u);
        r.extend_from_slice(&self.v);
        r
    }

    /// A record read back: (minute of the day, signature).
    pub fn parse(record: &[u8]) -> Option<(u16, Signature)> {
        if record.len() != RECORD {
            return None;
        }
        let m = u16::from_be_bytes([record[0], record[1]]);
        let (y, rest) = record[2..].split_at(W * H);
        let (u, v) = rest.split_at(CW * CH);
        (m < 1440).then(|| {
            (
                m,
                Signature {
                    y: y.to_vec(),
                    u: u.to_vec(),
                    v: v.to_vec(),
                },
            )
        })
    }
}

/// The signature file of `camera`'s UTC day `YYYYMMDD` under its folder `dir`.
pub fn day_file(dir: &Path, camera: &str, day: &str) -> PathBuf {
    dir.join(day).join(format!("{camera}.{day}.sig"))
}

/// Appends the signature of `camera`'s minute `minute` (since the epoch) to its day file.
/// The record is written with one `write` of a file opened to append, so a crash leaves
/// whole records and at most a torn last one (which readers drop). It is synced, as the
/// minute's MP4 is: unsynced, a power cut within the kernel's write-back delay (30 s) lost
/// the last minutes' records while their MP4s stayed (`scripts/power-cut`, stop 27), and
/// nothing makes them again. One 3.5 KB record a camera-minute.
pub fn append(dir: &Path, camera: &str, minute: i64, sig: &Signature) -> Result<()> {
    let (day, _) = crate::time::minute_name(minute);
    let path = day_file(dir, camera, &day);
    let mut f = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&path)
        .ctx(format_args!("opening {}", path.display()))?;
    let len = f.metadata().ctx("stat")?.len();
    if len % RECORD as u64 != 0 {
        // A torn record from a crash: cut it off so the records stay aligned.
        f.set_len(len - len % RECORD as u64)
            .ctx(format_args!("trimming {}", path.display()))?;
    }
    f.write_all(&sig.record(minute.rem_euclid(1440) as u16))
        .ctx(format_args!("writing {}", path.display()))?;
    f.sync_data()
        .ctx(format_args!("syncing {}", path.display()))
}

/// The signatures of a day file by minute of the day (the last record of each wins); a
/// missing file gives none.
pub fn read_day(path: &Path) -> Result<Vec<(u16, Signature)>> {
    let mut bytes = Vec::new();
    match std::fs::File::open(path) {
        Ok(mut f) => {
            f.read_to_end(&mut bytes)
                .ctx(format_args!("reading {}", path.display()))?;
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(Error::io(format_args!("opening {}", path.display()), e)),
    }
    let mut by_minute: Vec<Option<Signature>> = vec![None; 1440];
    for r in bytes.chunks_exact(RECORD) {
        if let Some((m, s)) = Signature::parse(r) {
            by_minute[usize::from(m)] = Some(s);
        }
    }
    Ok(by_minute
        .into_iter()
        .enumerate()
        .filter_map(|(m, s)| s.map(|s| (m as u16, s)))
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shrinks_by_area_and_round_trips_through_a_day_file() {
        // A 1920x1080 picture, left half black, right half white: the grid splits in two.
        let (w, h) = (1920, 1080);
        let y: Vec<u8> = (0..w * h)
            .map(|i| if i % w < w / 2 { 0 } else { 255 })
            .collect();
        let c = vec![128u8; (w / 2) * (h / 2)];
        let s = Signature::from_planes((&y, &c, &c), (w, w / 2), (w, h));
        assert_eq!(s.y.len(), W * H);
        assert!(s.y[..W / 2].iter().all(|&p| p == 0));
        assert!(s.y[W / 2..W].iter().all(|&p| p == 255));
        assert_eq!(s.colourfulness(), 0.0);
        let dir = std::env::temp_dir().join(format!("pinvr-sig-{}", std::process::id()));
        std::fs::create_dir_all(dir.join("20261123")).unwrap();
        let m = crate::time::Date::parse("20261123").unwrap().days() * 1440 + 600;
        append(&dir, "cam", m, &s).unwrap();
        let mut other = s.clone();
        other.y[0] = 7;
        append(&dir, "cam", m, &other).unwrap();
        append(&dir, "cam", m + 1, &s).unwrap();
        let path = day_file(&dir, "cam", "20261123");
        // A torn record at the end is dropped, and the next append realigns.
        let mut f = std::fs::OpenOptions::new()
            .append(true)
            .open(&path)
            .unwrap();
        f.write_all(&[1, 2, 3]).unwrap();
        let got = read_day(&path).unwrap();
        assert_eq!(got, vec![(600, other.clone()), (601, s.clone())]);
        append(&dir, "cam", m + 2, &s).unwrap();
        assert_eq!(read_day(&path).unwrap().len(), 3);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
