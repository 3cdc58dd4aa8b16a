//! Random bytes from the kernel, for session ids, CSRF and API tokens, and password salts.

use std::io::Read;

/// Fills `buf` from `/dev/urandom`. Linux always has it; if it cannot be read the process
/// cannot make secrets safely, so this panics rather than fall back to guessable bytes.
pub fn bytes(buf: &mut [u8]) {
    std::fs::File::open("/dev/urandom")
        .and_then(|mut f| f.read_exact(buf))
        .expect("reading /dev/urandom");
}

/// 128 random bits as 32 lowercase hex digits.
pub fn token() -> String {
    let mut b = [0u8; 16];
    bytes(&mut b);
    b.iter().map(|x| format!("{x:02x}")).collect()
}

#[cfg(test)]
mod tests {
    #[test]
    fn tokens_are_hex_and_differ() {
        let (a, b) = (super::token(), super::token());
        assert_eq!(a.len(), 32);
        assert!(a.bytes().all(|c| c.is_ascii_hexdigit()));
        assert_ne!(a, b);
    }
}
