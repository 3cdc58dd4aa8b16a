//! Any request target routed with each method: a route or an error, never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(target) = std::str::from_utf8(data) else {
        return;
    };
    let (path, query) = target.split_once('?').unwrap_or((target, ""));
    for m in [hyper::Method::GET, hyper::Method::POST, hyper::Method::HEAD] {
        let _ = pinvr::web::routes::route(&m, path, query);
    }
});
