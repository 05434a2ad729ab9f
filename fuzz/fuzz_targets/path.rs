//! The PATCH path parser: never panics; what parses prints back to the same path.
#![no_main]

use libfuzzer_sys::fuzz_target;
use provisio_scim::path;

fuzz_target!(|data: &[u8]| {
    let Ok(s) = std::str::from_utf8(data) else { return };
    if let Ok(p) = path::parse(s) {
        let printed = p.to_string();
        assert_eq!(path::parse(&printed).ok(), Some(p), "{s:?} printed as {printed:?}");
    }
});
