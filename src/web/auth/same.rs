//! Comparing secrets (CSRF tokens, token hashes) in time independent of where they differ.

/// True if `a` equals `b`, looking at every byte whatever the first difference.
pub fn same(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0u8, |acc, (x, y)| acc | (x ^ y))
            == 0
}
