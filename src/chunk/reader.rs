//! Reads chunk records back, strictly: a record that ends early at the end of the file is a
//! torn tail (power cut) and is reported, not returned; a record with a bad header or bad
//! NAL framing is an error naming its offset. Nothing here panics or allocates more than
//! [`MAX_RECORD_LEN`] because of what the file says.

use super::{HEADER_LEN, MAX_RECORD_LEN, VERSION};
use crate::error::{Error, IoContext, Result};
use std::io::{ErrorKind, Read};

/// One record's header; its payload is in the caller's buffer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Record {
    /// Microseconds since the Unix epoch.
    pub time_us: i64,
    /// Byte offset of the record's header in the chunk.
    pub offset: u64,
}

/// Reads records from any byte source.
pub struct ChunkReader<R> {
    /// The chunk's bytes.
    inner: R,
    /// Offset of the next record.
    offset: u64,
    /// Bytes of an incomplete last record, once the end was reached.
    torn: u64,
}

impl<R: Read> ChunkReader<R> {
    /// Wraps a reader positioned at the start of a chunk.
    pub fn new(inner: R) -> Self {
        ChunkReader {
            inner,
            offset: 0,
            torn: 0,
        }
    }

    /// Reads the next record's payload into `buf` (replacing its contents). Returns
    /// `Ok(None)` at the end of the chunk, including at a torn last record (see
    /// [`torn_bytes`](Self::torn_bytes)).
    pub fn next_into(&mut self, buf: &mut Vec<u8>) -> Result<Option<Record>> {
        let mut h = [0u8; HEADER_LEN];
        let got = read_full(&mut self.inner, &mut h).ctx("reading chunk")?;
        if got == 0 {
            return Ok(None);
        }
        let at = self.offset;
        if h[0] != VERSION {
            return Err(Error::corrupt(format!(
                "record at byte {at}: version {} (expected {VERSION})",
                h[0]
            )));
        }
        if got < HEADER_LEN {
            self.torn = got as u64;
            return Ok(None);
        }
        let len = u64::from_be_bytes(h[1..9].try_into().expect("8 bytes"));
        let time_us = i64::from_be_bytes(h[9..17].try_into().expect("8 bytes"));
        if len == 0 || len > MAX_RECORD_LEN {
            return Err(Error::corrupt(format!(
                "record at byte {at}: length {len} is outside 1..={MAX_RECORD_LEN}"
            )));
        }
        buf.clear();
        let got = (&mut self.inner)
            .take(len)
            .read_to_end(buf)
            .ctx("reading chunk")?;
        if (got as u64) < len {
            self.torn = (HEADER_LEN + got) as u64;
            return Ok(None);
        }
        crate::nal::validate(buf).map_err(|e| e.context(format_args!("record at byte {at}")))?;
        self.offset += HEADER_LEN as u64 + len;
        Ok(Some(Record {
            time_us,
            offset: at,
        }))
    }

    /// Bytes of the incomplete record dropped at the end (0 if the chunk ended cleanly).
    pub fn torn_bytes(&self) -> u64 {
        self.torn
    }

    /// Offset just past the last whole record returned.
    pub fn offset(&self) -> u64 {
        self.offset
    }
}

/// Reads until `buf` is full or the source ends; returns the bytes read.
fn read_full(r: &mut impl Read, buf: &mut [u8]) -> std::io::Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        match r.read(&mut buf[n..]) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) if e.kind() == ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(n)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::chunk::header;

    fn record(time: i64, nals: &[&[u8]]) -> Vec<u8> {
        let au = crate::nal::access_unit(nals);
        let mut v = header(au.len(), time).to_vec();
        v.extend_from_slice(&au);
        v
    }

    /// Records as (time, payload), and the torn byte count.
    type Records = (Vec<(i64, Vec<u8>)>, u64);

    fn read_all(bytes: &[u8]) -> Result<Records> {
        let mut r = ChunkReader::new(bytes);
        let mut buf = Vec::new();
        let mut out = Vec::new();
        while let Some(rec) = r.next_into(&mut buf)? {
            out.push((rec.time_us, buf.clone()));
        }
        Ok((out, r.torn_bytes()))
    }

    #[test]
    fn torn_tail_at_every_offset_keeps_earlier_records() {
        let mut file = record(1, &[&[0x67, 1, 2, 3], &[0x68, 4]]);
        file.extend(record(2, &[&[0x65, 5, 6, 7, 8]]));
        let whole = file.len();
        let last = record(3, &[&[0x41, 9, 9, 9, 9, 9]]);
        file.extend(&last);
        assert_eq!(read_all(&file).unwrap().0.len(), 3);
        for cut in 1..last.len() {
            let (recs, torn) = read_all(&file[..whole + cut]).unwrap();
            assert_eq!(recs.len(), 2, "cut {cut}");
            assert_eq!(recs[1].0, 2);
            assert_eq!(torn, cut as u64, "cut {cut}");
        }
    }

    #[test]
    fn rejects_garbage_headers_with_offsets() {
        let mut file = record(1, &[&[0x65, 1]]);
        let good = file.len();
        file.extend(record(2, &[&[0x65, 1]]));
        file[good] = 7;
        let e = read_all(&file).unwrap_err().to_string();
        assert!(
            e.contains(&format!("byte {good}")) && e.contains("version 7"),
            "{e}"
        );
        let mut huge = header(0, 0).to_vec();
        huge[1..9].copy_from_slice(&u64::MAX.to_be_bytes());
        assert!(read_all(&huge).unwrap_err().to_string().contains("length"));
        let mut bad_nal = record(1, &[&[0x65, 1, 2]]);
        bad_nal[HEADER_LEN + 3] = 9;
        assert!(read_all(&bad_nal).is_err());
    }

    #[test]
    fn random_bytes_never_panic() {
        // A small xorshift generator: deterministic, no extra crate.
        let mut s: u64 = 0x9e37_79b9_7f4a_7c15;
        let mut next = || {
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            s
        };
        for _ in 0..20_000 {
            let len = (next() % 200) as usize;
            let mut bytes: Vec<u8> = (0..len).map(|_| next() as u8).collect();
            if next() % 2 == 0 && !bytes.is_empty() {
                bytes[0] = 0; // get past the version check more often
                if bytes.len() > 8 {
                    bytes[1..8].fill(0);
                }
            }
            let _ = read_all(&bytes);
        }
    }
}
