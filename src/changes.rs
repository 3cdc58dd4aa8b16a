//! The change search: when did this part of the picture become what it is now? A change
//! is the region settling into a new look that lasts (something appeared, disappeared or
//! moved and stayed), not motion: a passer-by that leaves the region as it was is none.
//!
//! Coarse pass, over the minutes' signatures (no video decoded): each minute's region is a
//! *look*: its luma cells with their mean and contrast taken out (so slow lighting changes
//! over a day, which scale the whole region, leave it as it is), plus the region's
//! brightness relative to the whole picture's (so a uniform object still counts, while a
//! cloud over everything does not). Looks are compared with the settled look, not with the
//! previous minute: a minute that differs is a candidate, and becomes a change only when
//! the next minute confirms the new look; the settled look follows small drifts. A camera's
//! switch between colour and infrared (grey) re-bases the settled look instead of counting
//! as a change, since everything looks different in infrared.
//!
//! Fine pass, for each change found: the key frames of the last minute that still showed
//! the old look are decoded (openh264, one at a time), by bisection, to find the first one
//! that shows the new look: the change's start, to within a GOP.

use crate::error::{Error, Result};
use crate::signature::{H, Signature, W};

/// How different two looks must be to be different looks.
pub const THRESHOLD: f32 = 0.3;
/// Below this colourfulness a picture is taken for infrared (grey).
const GREY: f32 = 4.0;

/// A rectangle of the picture in fractions of its size, origin top left.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Region {
    /// Left edge.
    pub x: f64,
    /// Top edge.
    pub y: f64,
    /// Width.
    pub w: f64,
    /// Height.
    pub h: f64,
}

impl Region {
    /// Parses `x,y,w,h` (fractions, inside 0..1, not empty).
    pub fn parse(s: &str) -> Result<Region> {
        let v: Vec<f64> = s
            .split(',')
            .map(|p| p.trim().parse::<f64>())
            .collect::<std::result::Result<_, _>>()
            .map_err(|_| Error::invalid(format!("region {s:?} is not x,y,w,h (numbers)")))?;
        let [x, y, w, h] = v[..] else {
            return Err(Error::invalid(format!(
                "region {s:?} is not x,y,w,h: four numbers"
            )));
        };
        let ok = |a: f64| a.is_finite() && (0.0..=1.0).contains(&a);
        if !(ok(x) && ok(y) && ok(w) && ok(h)) || x + w > 1.0 + 1e-9 || y + h > 1.0 + 1e-9 {
            return Err(Error::invalid(format!(
                "region {s:?} must lie inside the picture (fractions 0 to 1)"
            )));
        }
        if w * (W as f64) < 0.5 || h * (H as f64) < 0.5 {
            return Err(Error::invalid(format!(
                "region {s:?} is too small: at least 1/{W} of the width and 1/{H} of the height"
            )));
        }
        Ok(Region { x, y, w, h })
    }

    /// The grid cells it covers: columns `x0..x1`, rows `y0..y1`.
    fn cells(&self) -> (usize, usize, usize, usize) {
        let c = |a: f64, n: usize| ((a * n as f64).round() as usize).min(n);
        let (x0, y0) = (c(self.x, W), c(self.y, H));
        let (x1, y1) = (
            c(self.x + self.w, W).max(x0 + 1),
            c(self.y + self.h, H).max(y0 + 1),
        );
        (x0.min(W - 1), x1.min(W), y0.min(H - 1), y1.min(H))
    }
}

/// What a region looks like in one picture.
#[derive(Clone, Debug, PartialEq)]
pub struct Look {
    /// The cells' luma, mean and contrast removed.
    z: Vec<f32>,
    /// The region's mean luma over the picture's.
    relative: f32,
    /// The region's chroma cells (Cb, Cr), distance from grey.
    chroma: Vec<(f32, f32)>,
    /// The picture is grey (infrared).
    grey: bool,
}

/// The look of `region` in `sig`.
pub fn look(sig: &Signature, region: &Region) -> Look {
    let (x0, x1, y0, y1) = region.cells();
    let cells: Vec<f32> = (y0..y1)
        .flat_map(|r| (x0..x1).map(move |c| f32::from(sig.y[r * W + c])))
        .collect();
    let n = cells.len() as f32;
    let mean = cells.iter().sum::<f32>() / n;
    let sd = (cells.iter().map(|v| (v - mean).powi(2)).sum::<f32>() / n).sqrt();
    let whole = sig.y.iter().map(|&v| f32::from(v)).sum::<f32>() / sig.y.len() as f32;
    // Chroma cells are twice as large: the ones the region touches.
    let (cx0, cx1, cy0, cy1) = (x0 / 2, x1.div_ceil(2), y0 / 2, y1.div_ceil(2));
    let cw = W / 2;
    let chroma = (cy0..cy1)
        .flat_map(|r| (cx0..cx1).map(move |c| r * cw + c))
        .map(|i| (f32::from(sig.u[i]) - 128.0, f32::from(sig.v[i]) - 128.0))
        .collect();
    Look {
        z: cells.iter().map(|v| (v - mean) / sd.max(6.0)).collect(),
        relative: mean / whole.max(8.0),
        chroma,
        grey: sig.colourfulness() < GREY,
    }
}

/// How different two looks are: 0 for the same, about 1 and more for a different thing.
pub fn distance(a: &Look, b: &Look) -> f32 {
    let n = a.z.len().max(1) as f32;
    let structure =
        a.z.iter()
            .zip(&b.z)
            .map(|(x, y)| (x - y).abs())
            .sum::<f32>()
            / n
            / 2.0;
    let brightness =
        ((a.relative - b.relative).abs() / a.relative.max(b.relative).max(0.05) - 0.15).max(0.0);
    // Colour, when both pictures have it: a red thing on a magenta wall has nearly the
    // wall's luma.
    let colour = if a.grey || b.grey {
        0.0
    } else {
        let m = a.chroma.len().max(1) as f32;
        a.chroma
            .iter()
            .zip(&b.chroma)
            .map(|(p, q)| (p.0 - q.0).abs() + (p.1 - q.1).abs())
            .sum::<f32>()
            / m
            / 64.0
    };
    structure + brightness + colour
}

/// A change the coarse pass found.
#[derive(Clone, Debug, PartialEq)]
pub struct Coarse {
    /// Index of the first sample showing the new look.
    pub index: usize,
    /// How different the new look is from the old one.
    pub score: f32,
    /// The look before.
    pub before: Look,
    /// The look after.
    pub after: Look,
}

/// The coarse pass over looks in time order (one per minute, gaps allowed).
pub fn coarse(looks: &[Look]) -> Vec<Coarse> {
    let mut out = Vec::new();
    let Some(first) = looks.first() else {
        return out;
    };
    let mut settled = first.clone();
    let mut candidate: Option<usize> = None;
    for (i, l) in looks.iter().enumerate().skip(1) {
        if l.grey != settled.grey {
            // Colour to infrared or back: everything looks different; start afresh.
            settled = l.clone();
            candidate = None;
            continue;
        }
        let d = distance(l, &settled);
        if d < THRESHOLD {
            // Still the settled look: follow small drifts, and a candidate was a passer-by.
            for (s, v) in settled.z.iter_mut().zip(&l.z) {
                *s = (*s + v) / 2.0;
            }
            settled.relative = (settled.relative + l.relative) / 2.0;
            candidate = None;
            continue;
        }
        match candidate {
            Some(c) if distance(l, &looks[c]) < THRESHOLD => {
                out.push(Coarse {
                    index: c,
                    score: distance(&looks[c], &settled),
                    before: settled.clone(),
                    after: l.clone(),
                });
                settled = l.clone();
                candidate = None;
            }
            _ => candidate = Some(i),
        }
    }
    out
}

/// The fine pass: of `keys` (key frames' times, in order) of the last minute that showed
/// `before`, the first that shows `after`, by bisection; `look_at(i)` decodes key frame `i`
/// and gives its look. `None` if none does (the change came after the minute's last key
/// frame, or while nothing was recorded).
pub fn first_showing(
    keys: usize,
    before: &Look,
    after: &Look,
    mut look_at: impl FnMut(usize) -> Option<Look>,
) -> Option<usize> {
    let new = |l: &Look| distance(l, after) < distance(l, before);
    let (mut lo, mut hi) = (0usize, keys);
    // Invariant: key frames before `lo` show the old look, from `hi` on the new one.
    while lo < hi {
        let mid = (lo + hi) / 2;
        match look_at(mid) {
            Some(l) if new(&l) => hi = mid,
            Some(_) => lo = mid + 1,
            // A frame that does not decode says nothing: look further on.
            None => lo = mid + 1,
        }
    }
    (hi < keys).then_some(hi)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sig(f: impl Fn(usize, usize) -> u8, colour: bool) -> Signature {
        let c = if colour { 160 } else { 128 };
        Signature {
            y: (0..W * H).map(|i| f(i % W, i / W)).collect(),
            u: vec![c; W * H / 4],
            v: vec![128; W * H / 4],
        }
    }

    #[test]
    fn regions_are_checked() {
        assert!(Region::parse("0.1,0.2,0.3,0.4").is_ok());
        for bad in [
            "",
            "1,2,3",
            "0,0,0,0",
            "0.5,0.5,0.6,0.1",
            "-0.1,0,0.5,0.5",
            "a,b,c,d",
            "0,0,0.001,0.5",
        ] {
            assert!(Region::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn lighting_does_not_change_a_look_and_an_object_does() {
        let region = Region::parse("0.5,0.5,0.25,0.25").unwrap();
        let scene = |gain: f32, object: bool| {
            sig(
                move |x, y| {
                    let base = 60.0 + ((x * 7 + y * 13) % 40) as f32;
                    let v = if object && (36..44).contains(&x) && (20..26).contains(&y) {
                        230.0
                    } else {
                        base
                    };
                    (v * gain).min(255.0) as u8
                },
                true,
            )
        };
        let a = look(&scene(1.0, false), &region);
        assert!(distance(&a, &look(&scene(1.2, false), &region)) < 0.05);
        assert!(distance(&a, &look(&scene(0.8, false), &region)) < 0.05);
        assert!(distance(&a, &look(&scene(1.0, true), &region)) > THRESHOLD * 2.0);
        // A look needs a second minute to count; a passer-by of one minute is none.
        let seq = |objects: &[bool]| -> Vec<Look> {
            objects
                .iter()
                .map(|&o| look(&scene(1.0, o), &region))
                .collect()
        };
        assert!(coarse(&seq(&[false, false, true, false, false])).is_empty());
        let found = coarse(&seq(&[false, false, true, true, true, false, false]));
        assert_eq!(found.iter().map(|c| c.index).collect::<Vec<_>>(), [2, 5]);
        // Infrared re-bases instead of counting.
        let mut looks = seq(&[false, false]);
        looks.push(look(
            &sig(|x, y| ((x * 11 + y * 5) % 200) as u8, false),
            &region,
        ));
        looks.push(look(
            &sig(|x, y| ((x * 11 + y * 5) % 200) as u8, false),
            &region,
        ));
        assert!(coarse(&looks).is_empty());
    }

    #[test]
    fn bisection_finds_the_first_new_key_frame() {
        let region = Region::parse("0,0,1,1").unwrap();
        let old = look(&sig(|x, _| (x * 3) as u8, true), &region);
        let new = look(&sig(|_, y| (y * 6) as u8, true), &region);
        for at in 0..=20 {
            let mut decoded = 0;
            let got = first_showing(20, &old, &new, |i| {
                decoded += 1;
                Some(if i >= at { new.clone() } else { old.clone() })
            });
            assert_eq!(got, (at < 20).then_some(at), "change at {at}");
            assert!(decoded <= 5, "{decoded} decodes for 20 key frames");
        }
    }
}
