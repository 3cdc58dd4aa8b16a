//! A minute's bytes that are not in a local file (an object in the offload store): what a
//! range export needs of one (its length, a reader from any offset), and a `Read + Seek`
//! over it that fetches 64 KiB blocks, for parsing its header.

use std::io::{Read, Seek, SeekFrom};

/// The bytes of a minute held elsewhere.
pub trait Blob: Send + Sync + std::fmt::Debug {
    /// What it is, for log lines and errors (never a secret).
    fn name(&self) -> &str;
    /// Its length in bytes.
    fn len(&self) -> u64;
    /// True if it holds nothing.
    fn is_empty(&self) -> bool {
        self.len() == 0
    }
    /// A reader of `len` bytes from `from`.
    fn open(&self, from: u64, len: u64) -> std::io::Result<Box<dyn Read + Send>>;
}

/// Bytes fetched at once when parsing.
const BLOCK: u64 = 64 << 10;

/// Random access to a [`Blob`], one block kept (the header of a minute is read in a few
/// small jumps; each block is one request).
pub struct Cursor<'a> {
    blob: &'a dyn Blob,
    pos: u64,
    /// The block held: its offset and bytes.
    block: Option<(u64, Vec<u8>)>,
}

impl<'a> Cursor<'a> {
    /// A cursor at the start of `blob`.
    pub fn new(blob: &'a dyn Blob) -> Cursor<'a> {
        Cursor {
            blob,
            pos: 0,
            block: None,
        }
    }
}

impl Read for Cursor<'_> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        if self.pos >= self.blob.len() || buf.is_empty() {
            return Ok(0);
        }
        let held = |b: &Option<(u64, Vec<u8>)>, pos: u64| {
            b.as_ref()
                .is_some_and(|(at, v)| pos >= *at && pos < at + v.len() as u64)
        };
        if !held(&self.block, self.pos) {
            let at = self.pos / BLOCK * BLOCK;
            let n = BLOCK.min(self.blob.len() - at);
            let mut v = Vec::with_capacity(n as usize);
            self.blob.open(at, n)?.read_to_end(&mut v)?;
            if v.len() as u64 != n {
                return Err(std::io::Error::new(
                    std::io::ErrorKind::UnexpectedEof,
                    format!("{}: {} bytes at {at}, not {n}", self.blob.name(), v.len()),
                ));
            }
            self.block = Some((at, v));
        }
        let (at, v) = self.block.as_ref().expect("fetched above");
        let from = (self.pos - at) as usize;
        let n = buf.len().min(v.len() - from);
        buf[..n].copy_from_slice(&v[from..from + n]);
        self.pos += n as u64;
        Ok(n)
    }
}

impl Seek for Cursor<'_> {
    fn seek(&mut self, to: SeekFrom) -> std::io::Result<u64> {
        let pos = match to {
            SeekFrom::Start(p) => Some(p),
            SeekFrom::End(d) => self.blob.len().checked_add_signed(d),
            SeekFrom::Current(d) => self.pos.checked_add_signed(d),
        };
        self.pos = pos.ok_or_else(|| std::io::Error::other("seek before the start"))?;
        Ok(self.pos)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    /// Bytes in memory, counting the requests.
    #[derive(Debug)]
    struct Counted(Vec<u8>, AtomicUsize);

    impl Blob for Counted {
        fn name(&self) -> &str {
            "counted"
        }
        fn len(&self) -> u64 {
            self.0.len() as u64
        }
        fn open(&self, from: u64, len: u64) -> std::io::Result<Box<dyn Read + Send>> {
            self.1.fetch_add(1, Ordering::Relaxed);
            let v = self.0[from as usize..(from + len) as usize].to_vec();
            Ok(Box::new(std::io::Cursor::new(v)))
        }
    }

    #[test]
    fn reads_anywhere_a_block_at_a_time() {
        let bytes: Vec<u8> = (0..200_000u32).map(|i| (i % 251) as u8).collect();
        let blob = Counted(bytes.clone(), AtomicUsize::new(0));
        let mut c = Cursor::new(&blob);
        let mut got = [0u8; 100];
        c.seek(SeekFrom::Start(70_000)).unwrap();
        c.read_exact(&mut got).unwrap();
        assert_eq!(&got[..], &bytes[70_000..70_100]);
        c.seek(SeekFrom::Current(-50)).unwrap();
        c.read_exact(&mut got).unwrap();
        assert_eq!(&got[..], &bytes[70_050..70_150]);
        assert_eq!(blob.1.load(Ordering::Relaxed), 1, "one block held");
        // Across a block boundary, and to the end.
        c.seek(SeekFrom::Start(131_000)).unwrap();
        let mut rest = Vec::new();
        c.read_to_end(&mut rest).unwrap();
        assert_eq!(rest, &bytes[131_000..]);
        assert!(c.seek(SeekFrom::Current(-300_000)).is_err());
    }
}
