//! Any bytes as a chunk file: records come out or an error does, never a panic or a huge
//! allocation.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let mut r = pinvr::chunk::ChunkReader::new(data);
    let mut buf = Vec::new();
    while let Ok(Some(_)) = r.next_into(&mut buf) {}
});
