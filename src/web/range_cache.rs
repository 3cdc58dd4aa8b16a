//! What the API keeps to answer again cheaply: range headers built lately, by entity tag,
//! and the summaries of minute files (start, duration, frames), by file.

use crate::mp4::{Summary, summary};
use crate::range::RangeMp4;
use std::collections::{HashMap, VecDeque};
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::SystemTime;

/// Range headers built lately, by entity tag: seeking in a long download asks for the same
/// range again and again, and building its header reads every minute's header.
#[derive(Default)]
pub struct RangeCache(Mutex<VecDeque<(String, RangeMp4)>>);

/// Ranges whose headers are kept.
const RANGE_CACHE: usize = 8;

impl RangeCache {
    pub fn get(&self, etag: &str) -> Option<RangeMp4> {
        let list = self.0.lock().unwrap_or_else(|e| e.into_inner());
        list.iter().find(|(t, _)| t == etag).map(|(_, m)| m.clone())
    }

    pub fn put(&self, etag: String, mp4: RangeMp4) {
        let mut list = self.0.lock().unwrap_or_else(|e| e.into_inner());
        list.retain(|(t, _)| *t != etag);
        if list.len() >= RANGE_CACHE {
            list.pop_front();
        }
        list.push_back((etag, mp4));
    }
}

/// Minute summaries kept at most (about a month of one camera; each is a few dozen bytes).
const SUMMARIES: usize = 50_000;

/// Minute files' summaries, by path, with the size and modification time they were read
/// at (a minute merged after a restart is read again).
#[derive(Default)]
pub struct SummaryCache(Mutex<HashMap<PathBuf, (u64, SystemTime, Summary)>>);

impl SummaryCache {
    /// The summary of the minute file `path`.
    pub fn get(&self, path: &Path) -> crate::Result<(Summary, u64)> {
        let meta = std::fs::metadata(path).map_err(|e| crate::Error::io(path.display(), e))?;
        let stamp = (
            meta.len(),
            meta.modified().unwrap_or(SystemTime::UNIX_EPOCH),
        );
        if let Some((len, t, s)) = self.0.lock().unwrap_or_else(|e| e.into_inner()).get(path)
            && (*len, *t) == stamp
        {
            return Ok((s.clone(), *len));
        }
        let s = summary(path)?;
        let mut map = self.0.lock().unwrap_or_else(|e| e.into_inner());
        if map.len() >= SUMMARIES {
            map.clear();
        }
        map.insert(path.to_owned(), (stamp.0, stamp.1, s.clone()));
        Ok((s, stamp.0))
    }
}
