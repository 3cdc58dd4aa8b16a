//! The tables of a baseline JPEG: ITU T.81 Annex K's quantisation tables (scaled to a
//! quality as the IJG library does) and Huffman tables, the zigzag order, and Huffman codes
//! made from counts and symbols.

/// Quantisation tables of Annex K (K.1 luminance, K.2 chrominance), row by row.
pub const LUMA_Q: [u16; 64] = [
    16, 11, 10, 16, 24, 40, 51, 61, 12, 12, 14, 19, 26, 58, 60, 55, 14, 13, 16, 24, 40, 57, 69, 56,
    14, 17, 22, 29, 51, 87, 80, 62, 18, 22, 37, 56, 68, 109, 103, 77, 24, 35, 55, 64, 81, 104, 113,
    92, 49, 64, 78, 87, 103, 121, 120, 101, 72, 92, 95, 98, 112, 100, 103, 99,
];
pub const CHROMA_Q: [u16; 64] = [
    17, 18, 24, 47, 99, 99, 99, 99, 18, 21, 26, 66, 99, 99, 99, 99, 24, 26, 56, 99, 99, 99, 99, 99,
    47, 66, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99,
    99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99,
];

/// Huffman tables of Annex K.3: code counts per length 1 to 16, then the symbols.
pub const DC_LUMA_BITS: [u8; 16] = [0, 1, 5, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0];
pub const DC_CHROMA_BITS: [u8; 16] = [0, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0];
pub const DC_SYMBOLS: [u8; 12] = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11];
pub const AC_LUMA_BITS: [u8; 16] = [0, 2, 1, 3, 3, 2, 4, 3, 5, 5, 4, 4, 0, 0, 1, 0x7d];
pub const AC_CHROMA_BITS: [u8; 16] = [0, 2, 1, 2, 4, 4, 3, 4, 7, 5, 4, 4, 0, 1, 2, 0x77];
/// The first symbols of Table K.5; the rest are every other (run, size) symbol in
/// increasing order ([`ac_symbols`]).
pub const AC_LUMA_HEAD: [u8; 41] = [
    0x01, 0x02, 0x03, 0x00, 0x04, 0x11, 0x05, 0x12, 0x21, 0x31, 0x41, 0x06, 0x13, 0x51, 0x61, 0x07,
    0x22, 0x71, 0x14, 0x32, 0x81, 0x91, 0xa1, 0x08, 0x23, 0x42, 0xb1, 0xc1, 0x15, 0x52, 0xd1, 0xf0,
    0x24, 0x33, 0x62, 0x72, 0x82, 0x09, 0x0a, 0x16, 0x17,
];
/// The first symbols of Table K.6.
pub const AC_CHROMA_HEAD: [u8; 45] = [
    0x00, 0x01, 0x02, 0x03, 0x11, 0x04, 0x05, 0x21, 0x31, 0x06, 0x12, 0x41, 0x51, 0x07, 0x61, 0x71,
    0x13, 0x22, 0x32, 0x81, 0x08, 0x14, 0x42, 0x91, 0xa1, 0xb1, 0xc1, 0x09, 0x23, 0x33, 0x52, 0xf0,
    0x15, 0x62, 0x72, 0xd1, 0x0a, 0x16, 0x24, 0x34, 0xe1, 0x25, 0xf1, 0x17, 0x18,
];

/// The 162 AC symbols in table order: `head`, then every symbol not in it (end of block,
/// sixteen zeros, and each run 0-15 with size 1-10), in increasing order.
pub fn ac_symbols(head: &[u8]) -> Vec<u8> {
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
pub fn zigzag() -> [usize; 64] {
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
pub fn scaled(table: &[u16; 64], quality: u8, zz: &[usize; 64]) -> [u8; 64] {
    let q = u32::from(quality.clamp(1, 100));
    let scale = if q < 50 { 5000 / q } else { 200 - 2 * q };
    let mut out = [0u8; 64];
    for (o, &n) in out.iter_mut().zip(zz) {
        *o = ((u32::from(table[n]) * scale + 50) / 100).clamp(1, 255) as u8;
    }
    out
}

/// One Huffman table as (code, length) per symbol.
pub struct Huffman {
    pub codes: [(u16, u8); 256],
}

impl Huffman {
    pub fn new(bits: &[u8; 16], symbols: &[u8]) -> Huffman {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zigzag_visits_every_coefficient_once_in_order() {
        let zz = zigzag();
        assert_eq!(&zz[..10], &[0, 1, 8, 16, 9, 2, 3, 10, 17, 24]);
        assert_eq!(&zz[58..], &[61, 54, 47, 55, 62, 63]);
        let mut seen = zz.to_vec();
        seen.sort_unstable();
        assert_eq!(seen, (0..64).collect::<Vec<_>>());
    }
}
