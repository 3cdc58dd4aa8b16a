//! The change search over a camera's recordings: the signatures of the minutes asked for
//! are read from their day files (one file a day), the coarse pass of [`crate::changes`]
//! finds the minutes where a region settled into a new look, and the fine pass decodes key
//! frames of the minute before each to find the second. Cost: reading about 3.5 KB per
//! minute, and about log2(key frames per minute) decodes per change found, at most
//! [`REFINE_CAP`] changes refined per query (the rest keep their minute's start).

use crate::changes::{self, Look, Region};
use crate::keyframes::KeyFrames;
use crate::layout::{self, FileKind};
use crate::preview::Previewer;
use crate::signature;
use std::path::PathBuf;
use std::sync::Mutex;

/// Changes refined to the key frame per query, at most.
pub const REFINE_CAP: usize = 50;

/// One key-frame decode at a time across queries (a 1080p decoder takes about 27 MiB).
static DECODER: Mutex<()> = Mutex::new(());

/// What to search.
pub struct Query {
    /// Camera id.
    pub camera: String,
    /// Its folder.
    pub dir: PathBuf,
    /// Its recorded minutes in the range, ascending.
    pub minutes: Vec<i64>,
    /// The region.
    pub region: Region,
}

/// A change found.
#[derive(Clone, Debug, PartialEq)]
pub struct Change {
    /// When the new look first shows, microseconds since the epoch.
    pub start_us: i64,
    /// When the region changed again (the next change's start), if it did.
    pub end_us: Option<i64>,
    /// How different the new look is (0 to 1).
    pub score: f32,
    /// The last minute showing the old look.
    pub before: i64,
    /// The first minute showing the new look.
    pub after: i64,
    /// Whether `start_us` is the key frame (true) or only the minute (false: over the cap,
    /// or the minute before could not be read).
    pub refined: bool,
}

/// What a search found and what it looked at.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Answer {
    /// The changes, in time order.
    pub changes: Vec<Change>,
    /// Minutes compared.
    pub checked: usize,
    /// Minutes without a signature (no preview could be made, or recorded before
    /// signatures existed), left out.
    pub skipped: usize,
    /// Whether more changes were found than [`REFINE_CAP`] refines.
    pub capped: bool,
}

/// Progress of a long search.
#[derive(Clone, Copy, Debug)]
pub enum Progress {
    /// Signatures read for `done` of `of` minutes.
    Reading {
        /// Minutes read so far.
        done: usize,
        /// Minutes in all.
        of: usize,
    },
    /// Refining change `done` of `of`.
    Refining {
        /// Changes refined so far.
        done: usize,
        /// Changes in all (up to the cap).
        of: usize,
    },
}

/// Runs `q`, telling `progress` how it goes.
pub fn search(q: &Query, progress: &mut dyn FnMut(Progress)) -> Answer {
    let mut answer = Answer::default();
    // Signatures, a day file at a time.
    let mut samples: Vec<(i64, Look)> = Vec::with_capacity(q.minutes.len());
    let mut i = 0;
    while i < q.minutes.len() {
        let day = q.minutes[i].div_euclid(1440);
        let (name, _) = crate::time::minute_name(day * 1440);
        let sigs = signature::read_day(&signature::day_file(&q.dir, &q.camera, &name))
            .unwrap_or_else(|e| {
                log::warn!("change search: {e}");
                Vec::new()
            });
        let mut by_minute: Vec<Option<&signature::Signature>> = vec![None; 1440];
        for (m, s) in &sigs {
            by_minute[usize::from(*m)] = Some(s);
        }
        while i < q.minutes.len() && q.minutes[i].div_euclid(1440) == day {
            let m = q.minutes[i];
            match by_minute[m.rem_euclid(1440) as usize] {
                Some(s) => samples.push((m, changes::look(s, &q.region))),
                None => answer.skipped += 1,
            }
            i += 1;
        }
        progress(Progress::Reading {
            done: i,
            of: q.minutes.len(),
        });
    }
    answer.checked = samples.len();
    let looks: Vec<Look> = samples.iter().map(|(_, l)| l.clone()).collect();
    let found = changes::coarse(&looks);
    answer.capped = found.len() > REFINE_CAP;
    let n = found.len().min(REFINE_CAP);
    let mut previewer = Previewer::default();
    for (k, c) in found.iter().enumerate() {
        let (before, after) = (samples[c.index - 1].0, samples[c.index].0);
        let minute_start = mp4_start(q, after).unwrap_or(after * 60_000_000);
        let refined = if k < REFINE_CAP {
            progress(Progress::Refining { done: k, of: n });
            refine(q, before, &c.before, &c.after, &mut previewer)
                .map(|t| t.unwrap_or(minute_start))
        } else {
            None
        };
        answer.changes.push(Change {
            start_us: refined.unwrap_or(minute_start),
            end_us: None,
            score: c.score.min(1.0),
            before,
            after,
            refined: refined.is_some(),
        });
    }
    previewer.release();
    for k in 1..answer.changes.len() {
        answer.changes[k - 1].end_us = Some(answer.changes[k].start_us);
    }
    answer
}

/// The wall-clock start of minute `minute`'s file.
fn mp4_start(q: &Query, minute: i64) -> Option<i64> {
    let path = layout::minute_path(&q.dir, &q.camera, minute, FileKind::Mp4);
    crate::mp4::start_us(&path).ok().flatten()
}

/// The time of the first key frame of minute `before` showing the `new` look: `Some(None)`
/// if none does (the change came after its last key frame: the next minute's first frame is
/// the first to show it), `None` if the minute cannot be read.
fn refine(
    q: &Query,
    before: i64,
    old: &Look,
    new: &Look,
    p: &mut Previewer,
) -> Option<Option<i64>> {
    let path = layout::minute_path(&q.dir, &q.camera, before, FileKind::Mp4);
    let keys = KeyFrames::open(&path)
        .map_err(|e| log::debug!("change search: {e}"))
        .ok()?;
    let _one = DECODER.lock().unwrap_or_else(|e| e.into_inner());
    // The first key frame is the minute's still, which shows the old look.
    let rest = &keys.keys[1.min(keys.keys.len())..];
    let at = changes::first_showing(rest.len(), old, new, |i| {
        let (params, annex_b) = keys.annex_b(&rest[i]).ok()?;
        let sig = p.signature(&params, &annex_b).ok()?;
        Some(changes::look(&sig, &q.region))
    });
    Some(at.map(|i| rest[i].time_us))
}
