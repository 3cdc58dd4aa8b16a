//! Baseline JPEG straight from a decoder's 4:2:0 planes: the picture is never converted or
//! subsampled again, each 8x8 block goes through a float AAN DCT whose scale is folded
//! into the quantiser, written so that the compiler vectorises it over the block's eight
//! rows (NEON on the Pi, SSE here), and the coefficients are Huffman-coded with the
//! standard tables of ITU T.81 Annex K.
//!
//! It replaced the jpeg-encoder crate for previews: that crate takes one chroma sample per
//! pixel (so the planes were widened and then subsampled again), and has SIMD only on x86.
//! See BENCHMARKS.md, "Performance round two", for what each costs.

/// Quantisation tables of Annex K (K.1 luminance, K.2 chrominance), row by row.
const LUMA_Q: [u16; 64] = [
    16, 11, 10, 16, 24, 40, 51, 61, 12, 12, 14, 19, 26, 58, 60, 55, 14, 13, 16, 24, 40, 57, 69, 56,
    14, 17, 22, 29, 51, 87, 80, 62, 18, 22, 37, 56, 68, 109, 103, 77, 24, 35, 55, 64, 81, 104, 113,
    92, 49, 64, 78, 87, 103, 121, 120, 101, 72, 92, 95, 98, 112, 100, 103, 99,
];
const CHROMA_Q: [u16; 64] = [
    17, 18, 24, 47, 99, 99, 99, 99, 18, 21, 26, 66, 99, 99, 99, 99, 24, 26, 56, 99, 99, 99, 99, 99,
    47, 66, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99,
    99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99,
];

/// Huffman tables of Annex K.3: code counts per length 1 to 16, then the symbols.
const DC_LUMA_BITS: [u8; 16] = [0, 1, 5, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0];
const DC_CHROMA_BITS: [u8; 16] = [0, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0];
const DC_SYMBOLS: [u8; 12] = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11];
const AC_LUMA_BITS: [u8; 16] = [0, 2, 1, 3, 3, 2, 4, 3, 5, 5, 4, 4, 0, 0, 1, 0x7d];
const AC_CHROMA_BITS: [u8; 16] = [0, 2, 1, 2, 4, 4, 3, 4, 7, 5, 4, 4, 0, 1, 2, 0x77];
/// The first symbols of Table K.5; the rest are every other (run, size) symbol in
/// increasing order ([`ac_symbols`]).
const AC_LUMA_HEAD: [u8; 41] = [
    0x01, 0x02, 0x03, 0x00, 0x04, 0x11, 0x05, 0x12, 0x21, 0x31, 0x41, 0x06, 0x13, 0x51, 0x61, 0x07,
    0x22, 0x71, 0x14, 0x32, 0x81, 0x91, 0xa1, 0x08, 0x23, 0x42, 0xb1, 0xc1, 0x15, 0x52, 0xd1, 0xf0,
    0x24, 0x33, 0x62, 0x72, 0x82, 0x09, 0x0a, 0x16, 0x17,
];
/// The first symbols of Table K.6.
const AC_CHROMA_HEAD: [u8; 45] = [
    0x00, 0x01, 0x02, 0x03, 0x11, 0x04, 0x05, 0x21, 0x31, 0x06, 0x12, 0x41, 0x51, 0x07, 0x61, 0x71,
    0x13, 0x22, 0x32, 0x81, 0x08, 0x14, 0x42, 0x91, 0xa1, 0xb1, 0xc1, 0x09, 0x23, 0x33, 0x52, 0xf0,
    0x15, 0x62, 0x72, 0xd1, 0x0a, 0x16, 0x24, 0x34, 0xe1, 0x25, 0xf1, 0x17, 0x18,
];

/// The 162 AC symbols in table order: `head`, then every symbol not in it (end of block,
/// sixteen zeros, and each run 0-15 with size 1-10), in increasing order.
fn ac_symbols(head: &[u8]) -> Vec<u8> {
    let mut all = head.to_vec();
    let rest = std::iter::once(0x00u8)
        .chain(std::iter::once(0xf0))
        .chain((0u8..16).flat_map(|run| (1u8..=10).map(move |size| run << 4 | size)));
    let mut rest: Vec<u8> = rest.filter(|s| !head.contains(s)).collect();
    rest.sort_unstable();
    all.extend(rest);
    all
}

/// Natural (row-major) index of each coefficient in zigzag order.
fn zigzag() -> [usize; 64] {
    let mut order = [0; 64];
    let (mut r, mut c) = (0usize, 0usize);
    for slot in &mut order {
        *slot = r * 8 + c;
        if (r + c) % 2 == 0 {
            if c == 7 {
                r += 1;
            } else if r == 0 {
                c += 1;
            } else {
                r -= 1;
                c += 1;
            }
        } else if r == 7 {
            c += 1;
        } else if c == 0 {
            r += 1;
        } else {
            r += 1;
            c -= 1;
        }
    }
    order
}

/// A table scaled to `quality` (1-100) as the IJG library does it, in zigzag order.
fn scaled(table: &[u16; 64], quality: u8, zz: &[usize; 64]) -> [u8; 64] {
    let q = u32::from(quality.clamp(1, 100));
    let scale = if q < 50 { 5000 / q } else { 200 - 2 * q };
    let mut out = [0u8; 64];
    for (o, &n) in out.iter_mut().zip(zz) {
        *o = ((u32::from(table[n]) * scale + 50) / 100).clamp(1, 255) as u8;
    }
    out
}

/// One Huffman table as (code, length) per symbol.
struct Huffman {
    codes: [(u16, u8); 256],
}

impl Huffman {
    fn new(bits: &[u8; 16], symbols: &[u8]) -> Huffman {
        let mut codes = [(0u16, 0u8); 256];
        let mut code = 0u16;
        let mut k = 0;
        for (len, &n) in bits.iter().enumerate() {
            for _ in 0..n {
                codes[usize::from(symbols[k])] = (code, len as u8 + 1);
                code += 1;
                k += 1;
            }
            code <<= 1;
        }
        Huffman { codes }
    }
}

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

/// Scale factors of the AAN DCT's outputs: cos(k pi / 16) x sqrt 2, 1 for k = 0.
fn aan_scale() -> [f32; 8] {
    let mut s = [1f32; 8];
    for (k, v) in s.iter_mut().enumerate().skip(1) {
        *v = ((k as f64 * std::f64::consts::PI / 16.0).cos() * std::f64::consts::SQRT_2) as f32;
    }
    s
}

/// A component's tables: the quantiser's reciprocals (with the DCT's scale folded in), in
/// the order the DCT leaves its coefficients (column-major), the zigzag order as indexes
/// into that, and its Huffman codes.
struct Component {
    recip: [f32; 64],
    order: [u8; 64],
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
        Component {
            recip,
            order,
            dc,
            ac,
        }
    }
}

/// 1.5 x 2^23: see [`encode_block`].
const ROUNDER: f32 = 12_582_912.0;

/// One pass of the AAN DCT over the eight lanes of `v`: lane `i` transforms the column
/// `v[0][i]..v[7][i]`. The loop over lanes is what the compiler vectorises.
// Lane i reads and writes row k's element i for every k: indices are the algorithm here.
#[allow(clippy::needless_range_loop)]
#[inline]
fn dct_lanes(v: &mut [[f32; 8]; 8]) {
    const C4: f32 = std::f32::consts::FRAC_1_SQRT_2;
    const C6: f32 = 0.382_683_43;
    const C2_MINUS_C6: f32 = 0.541_196_1;
    const C2_PLUS_C6: f32 = 1.306_563;
    for i in 0..8 {
        let t0 = v[0][i] + v[7][i];
        let t7 = v[0][i] - v[7][i];
        let t1 = v[1][i] + v[6][i];
        let t6 = v[1][i] - v[6][i];
        let t2 = v[2][i] + v[5][i];
        let t5 = v[2][i] - v[5][i];
        let t3 = v[3][i] + v[4][i];
        let t4 = v[3][i] - v[4][i];
        // Even part.
        let t10 = t0 + t3;
        let t13 = t0 - t3;
        let t11 = t1 + t2;
        let t12 = t1 - t2;
        v[0][i] = t10 + t11;
        v[4][i] = t10 - t11;
        let z1 = (t12 + t13) * C4;
        v[2][i] = t13 + z1;
        v[6][i] = t13 - z1;
        // Odd part.
        let t10 = t4 + t5;
        let t11 = t5 + t6;
        let t12 = t6 + t7;
        let z5 = (t10 - t12) * C6;
        let z2 = C2_MINUS_C6 * t10 + z5;
        let z4 = C2_PLUS_C6 * t12 + z5;
        let z3 = t11 * C4;
        let z11 = t7 + z3;
        let z13 = t7 - z3;
        v[5][i] = z13 + z2;
        v[3][i] = z13 - z2;
        v[1][i] = z11 + z4;
        v[7][i] = z11 - z4;
    }
}

#[allow(clippy::needless_range_loop)]
fn transpose(v: &mut [[f32; 8]; 8]) {
    for r in 0..8 {
        for c in r + 1..8 {
            let t = v[r][c];
            v[r][c] = v[c][r];
            v[c][r] = t;
        }
    }
}

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
                for (o, &p) in row.iter_mut().zip(&line[x..x + 8]) {
                    *o = f32::from(p) - 128.0;
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
    let mut q = [0i32; 64];
    // Bit i set: the coefficient at zigzag position i is not zero.
    let mut nonzero = 0u64;
    for (i, (o, &at)) in q.iter_mut().zip(&comp.order).enumerate() {
        *o = quantised[usize::from(at & 63)];
        nonzero |= u64::from(*o != 0) << i;
    }
    let diff = q[0] - *prev_dc;
    *prev_dc = q[0];
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
        let (size, extra) = magnitude(q[i as usize]);
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
    fn zigzag_visits_every_coefficient_once_in_order() {
        let zz = zigzag();
        assert_eq!(&zz[..10], &[0, 1, 8, 16, 9, 2, 3, 10, 17, 24]);
        assert_eq!(&zz[58..], &[61, 54, 47, 55, 62, 63]);
        let mut seen = zz.to_vec();
        seen.sort_unstable();
        assert_eq!(seen, (0..64).collect::<Vec<_>>());
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
