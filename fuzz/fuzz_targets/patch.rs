//! The PATCH applier: any JSON body applied to a user and to a group either fails with a SCIM
//! error or yields a valid, normalised document; nothing panics.
#![no_main]

use libfuzzer_sys::fuzz_target;
use provisio_scim::{patch, resource, schema::Kind};
use serde_json::{json, Value};

fuzz_target!(|data: &[u8]| {
    let Ok(body) = serde_json::from_slice::<Value>(data) else { return };
    let user = resource::normalize(
        Kind::User,
        &json!({"userName": "alice", "emails": [{"value": "a@x.com", "type": "work"}], "name": {"givenName": "A"}}),
    )
    .expect("a valid user");
    let group = resource::normalize(Kind::Group, &json!({"displayName": "G", "members": [{"value": "u1"}]}))
        .expect("a valid group");
    let Ok(ops) = patch::parse_request(&body) else { return };
    for (kind, doc) in [(Kind::User, &user), (Kind::Group, &group)] {
        if let Ok(out) = patch::apply(kind, doc, &ops) {
            assert!(resource::validate_required(kind, &out).is_ok());
            assert_eq!(resource::normalize(kind, &Value::Object(out.clone())).ok(), Some(out));
        }
    }
    // Whole bodies as resources, too.
    let _ = resource::normalize(Kind::User, &body);
    let _ = resource::normalize(Kind::Group, &body);
});
