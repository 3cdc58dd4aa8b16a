//! Any bytes as a minute file: a sample table or an error, never a panic; a table that
//! parses describes samples inside the media data.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(p) = pinvr::mp4::parse_bytes(data) {
        assert!(p.data_start + p.data_len <= data.len() as u64);
    }
});
