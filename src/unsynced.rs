//! Minutes finished while the system clock was not synchronised (a Pi before the network's
//! time): their names may be wrong, and the day view says so. One small file per stream and
//! day beside the minutes, `<id>.YYYYMMDD.unsynced`, a line `HHMM` per minute.

use crate::error::Result;
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

/// The file of stream `id`'s day `day` (`YYYYMMDD`) under its folder `dir`.
fn day_file(dir: &Path, id: &str, day: &str) -> PathBuf {
    dir.join(day).join(format!("{id}.{day}.unsynced"))
}

/// Records that minute `minute` of stream `id` (folder `dir`) was finished while the clock
/// was not synchronised.
pub fn record(dir: &Path, id: &str, minute: i64) -> Result<()> {
    let (day, hhmm) = crate::time::minute_name(minute);
    // Not synced: a mark lost to a power cut only leaves a minute unmarked.
    crate::fsutil::append_line(&day_file(dir, id, &day), &hhmm, false)
}

/// The minutes of stream `id`'s day `day` (days since the epoch) so marked.
pub fn load(dir: &Path, id: &str, day: i64) -> BTreeSet<i64> {
    let (name, _) = crate::time::minute_name(day * 1440);
    std::fs::read_to_string(day_file(dir, id, &name))
        .unwrap_or_default()
        .lines()
        .filter_map(crate::time::parse_hhmm)
        .map(|m| day * 1440 + m)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_and_loads() {
        let dir = std::env::temp_dir().join(format!("pinvr-unsynced-{}", std::process::id()));
        let day = crate::time::Date::parse("20261123").unwrap().days();
        std::fs::create_dir_all(dir.join("20261123")).unwrap();
        record(&dir, "front", day * 1440 + 61).unwrap();
        record(&dir, "front", day * 1440 + 62).unwrap();
        let got: Vec<i64> = load(&dir, "front", day).into_iter().collect();
        assert_eq!(got, [day * 1440 + 61, day * 1440 + 62]);
        assert!(load(&dir, "back", day).is_empty());
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
