//! The filter parser and evaluator: any input parses or is refused, never panics; what parses
//! prints back to an equivalent filter and evaluates against a resource without panicking.
#![no_main]

use libfuzzer_sys::fuzz_target;
use provisio_scim::{eval, filter, schema::Kind};

fuzz_target!(|data: &[u8]| {
    let Ok(s) = std::str::from_utf8(data) else { return };
    if let Ok(f) = filter::parse(s) {
        let printed = f.to_string();
        // Printing may escape (and so lengthen) quoted values past the length limit.
        if printed.len() <= filter::MAX_LEN {
            assert_eq!(filter::parse(&printed).ok(), Some(f.clone()), "{s:?} printed as {printed:?}");
        }
        let user = serde_json::json!({
            "id": "1", "userName": "Alice@x.com", "active": true,
            "emails": [{"value": "a@x.com", "type": "work", "primary": true}],
            "name": {"givenName": "Å"}, "meta": {"lastModified": "2026-01-01T00:00:00.000Z"},
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {"manager": {"value": "m"}},
        });
        let _ = eval::matches(Kind::User, &f, &user);
        let _ = eval::matches(Kind::Group, &f, &user);
    }
});
