//! The forward DCT of an 8x8 block: the AAN factorisation in floats, one pass over eight
//! lanes at a time so that the compiler vectorises it (NEON on aarch64, SSE on x86-64), and
//! the scale factors its outputs carry (folded into the quantiser by the caller).

/// Scale factors of the AAN DCT's outputs: cos(k pi / 16) x sqrt 2, 1 for k = 0.
pub fn aan_scale() -> [f32; 8] {
    let mut s = [1f32; 8];
    for (k, v) in s.iter_mut().enumerate().skip(1) {
        *v = ((k as f64 * std::f64::consts::PI / 16.0).cos() * std::f64::consts::SQRT_2) as f32;
    }
    s
}

/// One pass of the AAN DCT over the eight lanes of `v`: lane `i` transforms the column
/// `v[0][i]..v[7][i]`. The loop over lanes is what the compiler vectorises.
// Lane i reads and writes row k's element i for every k: indices are the algorithm here.
#[allow(clippy::needless_range_loop)]
#[inline]
pub fn dct_lanes(v: &mut [[f32; 8]; 8]) {
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
pub fn transpose(v: &mut [[f32; 8]; 8]) {
    for r in 0..8 {
        for c in r + 1..8 {
            let t = v[r][c];
            v[r][c] = v[c][r];
            v[c][r] = t;
        }
    }
}
