//! What a chunk writer knows of each record it appended, kept beside the chunk while the
//! minute is open: enough for the minute close to build the MP4's sample table without
//! reading the chunk back (on XFS the samples are then shared, never read at all). The
//! index holds 16 bytes a record and the records' parameter sets; a chunk found on disk
//! (a crash's leftover) has none and is read as before.

use crate::codec::Codec;
use crate::nal::nals;

/// What the minute close needs of one record, found from its bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Summary {
    /// The codec whose complete configuration record this is, if it is one.
    pub config: Option<Codec>,
    /// It holds only parameter sets (of the codec in force).
    pub params_only: bool,
    /// It is a random access point.
    pub key: bool,
    /// Bytes its picture NAL units take in an MP4 sample (length prefixes included).
    pub picture: u64,
    /// Bytes from its start through its last parameter set (0 if it has none): every
    /// parameter set it carries is in this head.
    pub head: usize,
}

impl Summary {
    /// The summary of the access unit `data`, recorded while `codec` was in force.
    pub fn of(codec: Codec, data: &[u8]) -> Summary {
        let config = Codec::of_parameters(data);
        let codec = config.unwrap_or(codec);
        let (mut picture, mut head, mut key) = (0u64, 0usize, false);
        for n in nals(data).flatten() {
            let t = codec.nal_type(n);
            if codec.is_parameter_set(t) {
                head = n.as_ptr() as usize - data.as_ptr() as usize + n.len();
            }
            if !codec.is_out_of_band(t) {
                picture += 4 + n.len() as u64;
            }
            key |= codec.is_key_nal(t);
        }
        Summary {
            config,
            params_only: codec.is_parameters_only(data),
            key,
            picture,
            head,
        }
    }

    /// The codec in force after this record, `before` it.
    pub fn codec_after(&self, before: Codec) -> Codec {
        self.config.unwrap_or(before)
    }
}

/// One record: its time, its payload's length, and its summary packed with it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Entry {
    /// Microseconds since the Unix epoch.
    time_us: i64,
    /// Payload bytes.
    len: u32,
    /// [`Summary::picture`] in the low 28 bits (records are at most 32 MiB), then the
    /// flags below.
    picture_flags: u32,
}

const PICTURE_BITS: u32 = 0x0fff_ffff;
const KEY: u32 = 1 << 28;
const PARAMS_ONLY: u32 = 1 << 29;
const CONFIG_H264: u32 = 1 << 30;
const CONFIG_H265: u32 = 1 << 31;

/// The records of one chunk, in order.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ChunkIndex {
    entries: Vec<Entry>,
    /// The heads of the records that have one ([`Summary::head`]): (record number, end of
    /// its bytes in `head_bytes`).
    heads: Vec<(u32, u32)>,
    head_bytes: Vec<u8>,
    /// Bytes of chunk the records take, headers included.
    len: u64,
}

/// A record as the index gives it back.
#[derive(Clone, Copy, Debug)]
pub struct Indexed<'a> {
    /// Offset of its payload in the chunk.
    pub payload_at: u64,
    /// Payload bytes.
    pub len: u32,
    /// Microseconds since the Unix epoch.
    pub time_us: i64,
    pub summary: Summary,
    /// Its first [`Summary::head`] bytes.
    pub head: &'a [u8],
}

impl ChunkIndex {
    /// Makes room for `records` more records without growing.
    pub fn reserve(&mut self, records: usize) {
        self.entries.reserve_exact(records);
    }

    /// Adds the record of `data` taken at `time_us`, whose summary is `s`. False (nothing
    /// added) for a record it cannot hold; the index is then no longer whole.
    pub fn push(&mut self, time_us: i64, data: &[u8], s: &Summary) -> bool {
        let (Ok(len), Ok(picture)) = (u32::try_from(data.len()), u32::try_from(s.picture)) else {
            return false;
        };
        if picture > PICTURE_BITS || s.head > data.len() {
            return false;
        }
        let mut flags = picture;
        flags |= if s.key { KEY } else { 0 };
        flags |= if s.params_only { PARAMS_ONLY } else { 0 };
        flags |= match s.config {
            None => 0,
            Some(Codec::H264) => CONFIG_H264,
            Some(Codec::H265) => CONFIG_H265,
        };
        if s.head > 0 {
            self.head_bytes.extend_from_slice(&data[..s.head]);
            self.heads
                .push((self.entries.len() as u32, self.head_bytes.len() as u32));
        }
        self.entries.push(Entry {
            time_us,
            len,
            picture_flags: flags,
        });
        self.len += (super::HEADER_LEN + data.len()) as u64;
        true
    }

    /// Records indexed.
    pub fn records(&self) -> usize {
        self.entries.len()
    }

    /// Bytes of chunk the records take: a chunk of any other length is not the one indexed.
    pub fn chunk_len(&self) -> u64 {
        self.len
    }

    /// The records in order.
    pub fn iter(&self) -> impl Iterator<Item = Indexed<'_>> + '_ {
        let mut at = 0u64;
        let mut heads = self.heads.iter().peekable();
        let mut head_start = 0usize;
        self.entries.iter().enumerate().map(move |(i, e)| {
            let f = e.picture_flags;
            let mut head: &[u8] = &[];
            if let Some(&&(n, end)) = heads.peek()
                && n as usize == i
            {
                heads.next();
                head = &self.head_bytes[head_start..end as usize];
                head_start = end as usize;
            }
            let payload_at = at + super::HEADER_LEN as u64;
            at = payload_at + u64::from(e.len);
            Indexed {
                payload_at,
                len: e.len,
                time_us: e.time_us,
                summary: Summary {
                    config: if f & CONFIG_H264 != 0 {
                        Some(Codec::H264)
                    } else if f & CONFIG_H265 != 0 {
                        Some(Codec::H265)
                    } else {
                        None
                    },
                    params_only: f & PARAMS_ONLY != 0,
                    key: f & KEY != 0,
                    picture: u64::from(f & PICTURE_BITS),
                    head: head.len(),
                },
                head,
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::nal::access_unit;

    #[test]
    fn summaries_survive_the_index() {
        let config = access_unit(&[&[0x67, 0x42, 1, 2], &[0x68, 0xce, 3]]);
        let key = access_unit(&[
            &[0x09, 0xf0],
            &[0x67, 0x42, 1, 2],
            &[0x68, 0xce, 3],
            &[0x65, 9, 9],
        ]);
        let p = access_unit(&[&[0x41, 7, 7, 7, 7]]);
        let h265 = access_unit(&[&[0x40, 1, 2], &[0x42, 1, 3], &[0x44, 1, 4]]);
        let mut idx = ChunkIndex::default();
        let mut codec = Codec::H264;
        let mut want = Vec::new();
        for (t, au) in [&config, &key, &p, &h265].into_iter().enumerate() {
            let s = Summary::of(codec, au);
            codec = s.codec_after(codec);
            assert!(idx.push(t as i64 * 50_000, au, &s));
            want.push((s, au.clone()));
        }
        assert_eq!(want[0].0.config, Some(Codec::H264));
        assert!(want[0].0.params_only && !want[0].0.key);
        assert_eq!(want[0].0.head, config.len());
        // Delimiter, SPS and PPS are out of band: the picture is the IDR slice alone.
        assert!(want[1].0.key && !want[1].0.params_only && want[1].0.config.is_none());
        assert_eq!(want[1].0.picture, 4 + 3);
        assert_eq!(want[1].0.head, key.len() - 7);
        assert_eq!((want[2].0.head, want[2].0.picture), (0, p.len() as u64));
        assert_eq!(want[3].0.config, Some(Codec::H265));
        let mut at = 0u64;
        for (got, (s, au)) in idx.iter().zip(&want) {
            assert_eq!(got.summary, *s);
            assert_eq!(got.head, &au[..s.head]);
            assert_eq!(got.payload_at, at + 17);
            assert_eq!(got.len as usize, au.len());
            at = got.payload_at + au.len() as u64;
        }
        assert_eq!(idx.records(), 4);
        assert_eq!(idx.chunk_len(), at);
    }
}
