//! Baseline JPEG straight from a decoder's 4:2:0 planes: the picture is never converted or
//! subsampled again, each 8x8 block goes through a float AAN DCT whose scale is folded
//! into the quantiser, written so that the compiler vectorises it over the block's eight
//! rows (NEON on the Pi, SSE here), and the coefficients are Huffman-coded with the
//! standard tables of ITU T.81 Annex K.
//!
//! It replaced the jpeg-encoder crate for previews: that crate takes one chroma sample per
//! pixel (so the planes were widened and then subsampled again), and has SIMD only on x86.
//! See BENCHMARKS.md, "Performance round two", for what each costs.

mod dct;
mod tables;

use dct::{aan_scale, dct_lanes, transpose};
use tables::{
    AC_CHROMA_BITS, AC_CHROMA_HEAD, AC_LUMA_BITS, AC_LUMA_HEAD, CHROMA_Q, DC_CHROMA_BITS,
    DC_LUMA_BITS, DC_SYMBOLS, Huffman, LUMA_Q, ac_symbols, scaled, zigzag,
};

/// Collects the entropy-coded bits, stuffing a zero after each 0xFF byte.
struct Bits {
    out: Vec<u8>,
    acc: u64,
    n: u32,
}

impl Bits {
    #[inline]
    fn put(&mut self, value: u32, len: u32) {
        debug_assert!(len <= 32);
        self.acc = (self.acc << len) | u64::from(value & ((1u64 << len) - 1) as u32);
        self.n += len;
        while self.n >= 8 {
            self.n -= 8;
            let b = (self.acc >> self.n) as u8;
            self.out.push(b);
            if b == 0xff {
                self.out.push(0);
            }
        }
    }

    /// Pads the last byte with ones, as T.81 F.1.2.3 asks.
    fn finish(mut self) -> Vec<u8> {
        if self.n > 0 {
            let pad = 8 - self.n;
            self.put((1 << pad) - 1, pad);
        }
        self.out
    }
}

/// A component's tables: the quantiser's reciprocals (with the DCT's scale folded in), in
/// the order the DCT leaves its coefficients (column-major), the zigzag order as indexes
/// into that, the same as bits (see [`to_zigzag`]), and its Huffman codes.
struct Component {
    recip: [f32; 64],
    order: [u8; 64],
    zigzag_bits: Box<[[u64; 256]; 8]>,
    dc: Huffman,
    ac: Huffman,
}

impl Component {
    fn new(q: &[u8; 64], zz: &[usize; 64], dc: Huffman, ac: Huffman) -> Component {
        let s = aan_scale();
        let mut recip = [0f32; 64];
        let mut order = [0u8; 64];
        for (i, &n) in zz.iter().enumerate() {
            let (row, col) = (n / 8, n % 8);
            let at = col * 8 + row;
            recip[at] = 1.0 / (f32::from(q[i]) * s[row] * s[col] * 8.0);
            order[i] = at as u8;
        }
        // Entry [k][v]: the zigzag positions of the coefficients 8k..8k+8 (DCT order) whose
        // bits are set in v, as bits.
        let mut zigzag_bits = Box::new([[0u64; 256]; 8]);
        for (i, &at) in order.iter().enumerate() {
            let (k, bit) = (usize::from(at) / 8, usize::from(at) % 8);
            for (v, bits) in zigzag_bits[k].iter_mut().enumerate() {
                if v & 1 << bit != 0 {
                    *bits |= 1 << i;
                }
            }
        }
        Component {
            recip,
            order,
            zigzag_bits,
            dc,
            ac,
        }
    }
}

/// 1.5 x 2^23: see [`encode_block`].
const ROUNDER: f32 = 12_582_912.0;

/// A plane to read blocks from: samples, stride, size.
struct Plane<'a> {
    data: &'a [u8],
    stride: usize,
    width: usize,
    height: usize,
}

impl Plane<'_> {
    /// The 8x8 block at (x, y), level-shifted; rows and columns past the edge repeat the
    /// last ones.
    #[inline]
    fn block(&self, x: usize, y: usize, out: &mut [[f32; 8]; 8]) {
        let inside = x + 8 <= self.width && y + 8 <= self.height;
        for (r, row) in out.iter_mut().enumerate() {
            let sy = (y + r).min(self.height - 1);
            let line = &self.data[sy * self.stride..];
            if inside {
                // Eight samples as one array, widened to integers, then to floats: each step
                // a few vector instructions (converting straight from bytes was one
                // sample at a time).
                let src: &[u8; 8] = line[x..x + 8].try_into().expect("eight samples");
                let wide = src.map(|p| i32::from(p) - 128);
                for (o, &v) in row.iter_mut().zip(&wide) {
                    *o = v as f32;
                }
            } else {
                for (c, o) in row.iter_mut().enumerate() {
                    *o = f32::from(line[(x + c).min(self.width - 1)]) - 128.0;
                }
            }
        }
    }
}

/// Encodes one block: DCT, quantisation, Huffman. `prev_dc` is the component's last DC.
fn encode_block(block: &mut [[f32; 8]; 8], comp: &Component, prev_dc: &mut i32, bits: &mut Bits) {
    dct_lanes(block);
    transpose(block);
    dct_lanes(block);
    // block[c][r] now holds the coefficient of row frequency r, column frequency c:
    // quantised in that order (a loop the compiler vectorises), then read out in zigzag.
    let mut quantised = [0i32; 64];
    for ((o, &x), &r) in quantised
        .iter_mut()
        .zip(block.as_flattened())
        .zip(&comp.recip)
    {
        // To the nearest integer by the float unit itself: adding 1.5 x 2^23 leaves it in
        // the low mantissa bits (|x| is at most 2^14 here, far under 2^22). `round` is a
        // libm call on x86-64's baseline and `as i32` saturates; neither vectorises.
        *o = ((x * r + ROUNDER).to_bits() as i32).wrapping_sub(ROUNDER.to_bits() as i32);
    }
    // Bit i set: the coefficient at zigzag position i is not zero. Most are zero, so only
    // those that are not are read out in zigzag order.
    let nonzero = to_zigzag(nonzero_mask(&quantised), comp);
    let q = |i: u32| quantised[usize::from(comp.order[i as usize] & 63)];
    let dc = q(0);
    let diff = dc - *prev_dc;
    *prev_dc = dc;
    let (size, extra) = magnitude(diff);
    let (code, len) = comp.dc.codes[size as usize];
    bits.put(u32::from(code) << size | extra, u32::from(len) + size);
    // The AC coefficients that are not zero, each after its run of zeros.
    let mut ac = nonzero & !1;
    let mut last = 0u32;
    while ac != 0 {
        let i = ac.trailing_zeros();
        let mut run = i - last - 1;
        while run >= 16 {
            let (code, len) = comp.ac.codes[0xf0];
            bits.put(u32::from(code), u32::from(len));
            run -= 16;
        }
        let (size, extra) = magnitude(q(i));
        let (code, len) = comp.ac.codes[(run << 4 | size) as usize];
        bits.put(u32::from(code) << size | extra, u32::from(len) + size);
        last = i;
        ac &= ac - 1;
    }
    if last != 63 {
        let (code, len) = comp.ac.codes[0x00];
        bits.put(u32::from(code), u32::from(len));
    }
}

/// Bit i set: `q[i]` is not zero. The comparisons vectorise; each eight of them, one byte
/// each, are gathered into eight bits by one multiplication (bytes of 0 or 1 times
/// 0x0102_0408_1020_4080 leave byte j's value at bit 56 + j, without carries). A loop
/// setting one bit per coefficient was half of the JPEG's instructions.
#[inline]
fn nonzero_mask(q: &[i32; 64]) -> u64 {
    let mut flags = [0u8; 64];
    for (f, &v) in flags.iter_mut().zip(q) {
        *f = u8::from(v != 0);
    }
    let mut mask = 0u64;
    for (k, eight) in flags.chunks_exact(8).enumerate() {
        let x = u64::from_le_bytes(eight.try_into().expect("eight flags"));
        mask |= (x.wrapping_mul(0x0102_0408_1020_4080) >> 56) << (8 * k);
    }
    mask
}

/// The mask of coefficients in DCT order, `mask`, as the same coefficients' zigzag
/// positions: a table lookup per byte.
#[inline]
fn to_zigzag(mask: u64, comp: &Component) -> u64 {
    mask.to_le_bytes()
        .iter()
        .zip(comp.zigzag_bits.iter())
        .fold(0, |z, (&b, table)| z | table[usize::from(b)])
}

/// A value's size category and its extra bits (T.81 F.1.2.1).
#[inline]
fn magnitude(v: i32) -> (u32, u32) {
    let size = 32 - v.unsigned_abs().leading_zeros();
    let extra = if v < 0 { (v - 1) as u32 } else { v as u32 };
    (size, extra & ((1u32 << size) - 1))
}

/// The picture's three 4:2:0 planes: luma `width` x `height`, chroma half that (rounded
/// up), each with its stride.
pub struct Picture<'a> {
    pub y: &'a [u8],
    pub u: &'a [u8],
    pub v: &'a [u8],
    /// Strides of the luma and the chroma planes.
    pub strides: (usize, usize),
    pub width: usize,
    pub height: usize,
}

/// The picture as a baseline JPEG (JFIF, 4:2:0) at `quality` (1-100, as the IJG library
/// scales its tables). Sizes must be 1 to 65535 and the planes hold them (checked).
pub fn encode(p: &Picture<'_>, quality: u8) -> Option<Vec<u8>> {
    let (w, h) = (p.width, p.height);
    let (cw, ch) = (w.div_ceil(2), h.div_ceil(2));
    let holds = |data: &[u8], stride: usize, pw: usize, ph: usize| {
        stride >= pw && data.len() >= stride * (ph - 1) + pw
    };
    if w == 0
        || h == 0
        || w > 65_535
        || h > 65_535
        || !holds(p.y, p.strides.0, w, h)
        || !holds(p.u, p.strides.1, cw, ch)
        || !holds(p.v, p.strides.1, cw, ch)
    {
        return None;
    }
    let zz = zigzag();
    let (lq, cq) = (
        scaled(&LUMA_Q, quality, &zz),
        scaled(&CHROMA_Q, quality, &zz),
    );
    let luma_ac = ac_symbols(&AC_LUMA_HEAD);
    let chroma_ac = ac_symbols(&AC_CHROMA_HEAD);
    let mut out = Vec::with_capacity(w * h / 4 + 1024);
    headers(&mut out, (w, h), (&lq, &cq), (&luma_ac, &chroma_ac));
    let luma = Component::new(
        &lq,
        &zz,
        Huffman::new(&DC_LUMA_BITS, &DC_SYMBOLS),
        Huffman::new(&AC_LUMA_BITS, &luma_ac),
    );
    let chroma = Component::new(
        &cq,
        &zz,
        Huffman::new(&DC_CHROMA_BITS, &DC_SYMBOLS),
        Huffman::new(&AC_CHROMA_BITS, &chroma_ac),
    );
    let planes = [
        Plane {
            data: p.y,
            stride: p.strides.0,
            width: w,
            height: h,
        },
        Plane {
            data: p.u,
            stride: p.strides.1,
            width: cw,
            height: ch,
        },
        Plane {
            data: p.v,
            stride: p.strides.1,
            width: cw,
            height: ch,
        },
    ];
    let mut bits = Bits { out, acc: 0, n: 0 };
    let mut dc = [0i32; 3];
    let mut block = [[0f32; 8]; 8];
    for my in 0..h.div_ceil(16) {
        for mx in 0..w.div_ceil(16) {
            for (bx, by) in [(0, 0), (8, 0), (0, 8), (8, 8)] {
                planes[0].block(mx * 16 + bx, my * 16 + by, &mut block);
                encode_block(&mut block, &luma, &mut dc[0], &mut bits);
            }
            for c in 1..3 {
                planes[c].block(mx * 8, my * 8, &mut block);
                encode_block(&mut block, &chroma, &mut dc[c], &mut bits);
            }
        }
    }
    let mut out = bits.finish();
    out.extend_from_slice(&[0xff, 0xd9]);
    Some(out)
}

/// SOI, JFIF, the quantisation tables, the frame header, the Huffman tables and the scan
/// header.
fn headers(
    out: &mut Vec<u8>,
    (w, h): (usize, usize),
    q: (&[u8; 64], &[u8; 64]),
    ac: (&[u8], &[u8]),
) {
    out.extend_from_slice(&[0xff, 0xd8]);
    out.extend_from_slice(&[
        0xff, 0xe0, 0, 16, b'J', b'F', b'I', b'F', 0, 1, 1, 0, 0, 1, 0, 1, 0, 0,
    ]);
    for (id, table) in [q.0, q.1].into_iter().enumerate() {
        out.extend_from_slice(&[0xff, 0xdb, 0, 67, id as u8]);
        out.extend_from_slice(table);
    }
    out.extend_from_slice(&[0xff, 0xc0, 0, 17, 8]);
    out.extend_from_slice(&(h as u16).to_be_bytes());
    out.extend_from_slice(&(w as u16).to_be_bytes());
    out.extend_from_slice(&[3, 1, 0x22, 0, 2, 0x11, 1, 3, 0x11, 1]);
    let tables: [(u8, &[u8; 16], &[u8]); 4] = [
        (0x00, &DC_LUMA_BITS, &DC_SYMBOLS),
        (0x10, &AC_LUMA_BITS, ac.0),
        (0x01, &DC_CHROMA_BITS, &DC_SYMBOLS),
        (0x11, &AC_CHROMA_BITS, ac.1),
    ];
    for (class_id, bits, symbols) in tables {
        let len = 2 + 1 + 16 + symbols.len();
        out.extend_from_slice(&[0xff, 0xc4]);
        out.extend_from_slice(&(len as u16).to_be_bytes());
        out.push(class_id);
        out.extend_from_slice(bits);
        out.extend_from_slice(symbols);
    }
    out.extend_from_slice(&[0xff, 0xda, 0, 12, 3, 1, 0x00, 2, 0x11, 3, 0x11, 0, 63, 0]);
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The segments of a JPEG with marker `m`, as (marker, payload) in order.
    fn segments(jpeg: &[u8], m: u8) -> Vec<Vec<u8>> {
        let mut out = Vec::new();
        let mut i = 2;
        while i + 4 <= jpeg.len() && jpeg[i] == 0xff && jpeg[i + 1] != 0xda {
            let len = usize::from(u16::from_be_bytes([jpeg[i + 2], jpeg[i + 3]]));
            if jpeg[i + 1] == m {
                out.push(jpeg[i + 4..i + 2 + len].to_vec());
            }
            i += 2 + len;
        }
        out
    }

    /// A 4:2:0 picture of `w` x `h` with a pattern in every plane.
    fn picture(w: usize, h: usize) -> (Vec<u8>, Vec<u8>, Vec<u8>) {
        let (cw, ch) = (w.div_ceil(2), h.div_ceil(2));
        let y = (0..w * h)
            .map(|i| ((i % w) * 3 + (i / w) * 5) as u8)
            .collect();
        let u = (0..cw * ch).map(|i| (i * 7 % 251) as u8).collect();
        let v = (0..cw * ch).map(|i| (255 - i % 200) as u8).collect();
        (y, u, v)
    }

    #[test]
    fn tables_are_annex_ks_as_jpeg_encoder_writes_them() {
        // jpeg-encoder writes the standard tables; ours must be the same bytes, the
        // quantisation tables scaled alike at the previews' quality.
        let (y, u, v) = picture(16, 16);
        let pic = Picture {
            y: &y,
            u: &u,
            v: &v,
            strides: (16, 8),
            width: 16,
            height: 16,
        };
        let ours = encode(&pic, 80).unwrap();
        let mut theirs = Vec::new();
        let rgb = vec![128u8; 16 * 16 * 3];
        jpeg_encoder::Encoder::new(&mut theirs, 80)
            .encode(&rgb, 16, 16, jpeg_encoder::ColorType::Rgb)
            .unwrap();
        let mut a = segments(&ours, 0xc4);
        let mut b: Vec<Vec<u8>> = segments(&theirs, 0xc4)
            .into_iter()
            .flat_map(|seg| {
                // A DHT segment may hold several tables: split them.
                let mut tables = Vec::new();
                let mut i = 0;
                while i < seg.len() {
                    let n: usize = seg[i + 1..i + 17].iter().map(|&c| usize::from(c)).sum();
                    tables.push(seg[i..i + 17 + n].to_vec());
                    i += 17 + n;
                }
                tables
            })
            .collect();
        a.sort();
        b.sort();
        assert_eq!(a.len(), 4);
        assert_eq!(a, b);
        let q = |j: &[u8]| {
            segments(j, 0xdb)
                .into_iter()
                .flat_map(|seg| seg.chunks(65).map(<[u8]>::to_vec).collect::<Vec<_>>())
                .collect::<Vec<_>>()
        };
        assert_eq!(q(&ours).len(), 2);
        assert_eq!(q(&ours), q(&theirs));
    }

    #[test]
    fn the_nonzero_mask_has_a_bit_for_each_coefficient_that_is_not_zero() {
        let mut s: u64 = 0x2545_f491_4f6c_dd1d;
        for round in 0..2000 {
            let mut q = [0i32; 64];
            for v in q.iter_mut() {
                s ^= s << 13;
                s ^= s >> 7;
                s ^= s << 17;
                // Mostly zeros, as after quantisation; any value otherwise.
                if s & 3 == 0 || round < 2 {
                    *v = (s >> 20) as i32 >> (s % 24);
                }
            }
            if round == 1 {
                q = [-1; 64];
            }
            let want = q
                .iter()
                .enumerate()
                .fold(0u64, |m, (i, &v)| m | u64::from(v != 0) << i);
            assert_eq!(nonzero_mask(&q), want, "{q:?}");
        }
    }

    #[test]
    fn magnitude_categories() {
        assert_eq!(magnitude(0), (0, 0));
        assert_eq!(magnitude(1), (1, 1));
        assert_eq!(magnitude(-1), (1, 0));
        assert_eq!(magnitude(-3), (2, 0));
        assert_eq!(magnitude(5), (3, 5));
        assert_eq!(magnitude(-1024), (11, 1023));
    }

    #[test]
    fn sizes_the_planes_cannot_hold_are_refused() {
        let (y, u, v) = picture(16, 16);
        for (w, h) in [(0, 16), (16, 0), (17, 16), (16, 17)] {
            let pic = Picture {
                y: &y,
                u: &u,
                v: &v,
                strides: (16, 8),
                width: w,
                height: h,
            };
            assert!(encode(&pic, 80).is_none(), "{w}x{h}");
        }
    }
}
