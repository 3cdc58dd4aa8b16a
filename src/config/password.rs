//! The admin password as it is stored: an Argon2id hash in PHC form (`$argon2id$v=19$...`),
//! never the password itself. A password typed in clear into the file (edited from a PC) is
//! recognised as not being a hash, and replaced by its hash when pinvr first reads it.
//!
//! Parameters: 7 MiB of memory and 5 passes, one lane: OWASP's lowest-memory Argon2id
//! setting, so a login costs a Pi 3 a fraction of a second and 7 MiB, and at most one hash
//! is computed at a time.

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use std::sync::Mutex;

/// Memory cost in KiB.
const M_COST: u32 = 7 * 1024;
/// Passes.
const T_COST: u32 = 5;
/// Shortest password accepted when one is set.
pub const MIN_LEN: usize = 8;

/// One hash at a time: a burst of logins cannot take more than one hash's memory.
static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());

fn argon2() -> Argon2<'static> {
    let params = Params::new(M_COST, T_COST, 1, None).expect("valid Argon2 parameters");
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
}

/// True if `stored` is a password hash (rather than a password in clear).
pub fn is_hash(stored: &str) -> bool {
    stored.starts_with("$argon2")
        && PasswordHash::new(stored).is_ok_and(|h| h.salt.is_some() && h.hash.is_some())
}

/// Hashes `password` with a fresh random salt.
pub fn hash(password: &str) -> String {
    let mut salt = [0u8; 16];
    crate::random::bytes(&mut salt);
    let salt = SaltString::encode_b64(&salt).expect("16 bytes make a valid salt");
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    argon2()
        .hash_password(password.as_bytes(), &salt)
        .expect("hashing with valid parameters")
        .to_string()
}

/// True if `password` matches `stored` (a hash; a stored value that is not one never
/// matches).
pub fn verify(password: &str, stored: &str) -> bool {
    let Ok(parsed) = PasswordHash::new(stored) else {
        return false;
    };
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    // The parameters come from the stored hash, so older hashes keep verifying.
    Argon2::default()
        .verify_password(password.as_bytes(), &parsed)
        .is_ok()
}

/// Why `password` cannot be the admin password, if it cannot.
pub fn weakness(password: &str) -> Option<String> {
    if password.chars().count() < MIN_LEN {
        return Some(format!("must be at least {MIN_LEN} characters"));
    }
    if password.trim() != password {
        return Some("must not start or end with a space".into());
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_verify_and_are_told_from_passwords() {
        let h = hash("correct horse");
        assert!(is_hash(&h), "{h}");
        assert!(h.starts_with("$argon2id$v=19$m=7168,t=5,p=1$"), "{h}");
        assert!(verify("correct horse", &h));
        assert!(!verify("correct horsE", &h));
        assert!(!verify("correct horse", "correct horse"));
        assert!(!is_hash("correct horse"));
        assert!(!is_hash("$argon2id$garbage"));
        assert_ne!(hash("correct horse"), h, "salts differ");
        assert!(weakness("short").is_some());
        assert!(weakness("long enough").is_none());
    }
}
