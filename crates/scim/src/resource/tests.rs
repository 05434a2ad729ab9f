use super::*;
use crate::schema::{ENTERPRISE, USER};
use serde_json::json;

#[test]
fn normalises_what_entra_and_okta_send() {
    let d = normalize(
        Kind::User,
        &json!({
            "schemas": [USER, "urn:ietf:params:scim:schemas:extension:enterprise:2.0User"],
            "USERNAME": "alice@x.com",
            "active": "True",
            "addresses": null,
            "password": "secret",
            "groups": [],
            "id": "client-chosen",
            "emails": {"value": "a@x.com", "type": "work", "primary": "true"},
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0User": {"department": "Sales"},
            "urn:ietf:params:scim:schemas:extension:CustomExt:2.0:User:costCenter": "CC-1",
            "name": {"givenName": "Alice", "middleName": null},
            "nickName": 7,
            "unknownThing": "ignored",
        }),
    )
    .unwrap();
    assert_eq!(d["userName"], "alice@x.com");
    assert_eq!(d["active"], json!(true));
    assert_eq!(
        d["emails"],
        json!([{"value": "a@x.com", "type": "work", "primary": true}])
    );
    assert_eq!(d[ENTERPRISE]["department"], "Sales");
    assert_eq!(
        d["urn:ietf:params:scim:schemas:extension:CustomExt:2.0:User"]["costCenter"],
        "CC-1"
    );
    assert_eq!(d["name"], json!({"givenName": "Alice"}));
    assert_eq!(d["nickName"], "7");
    for gone in ["addresses", "password", "groups", "id", "unknownThing", "schemas"] {
        assert!(!d.contains_key(gone), "{gone}");
    }
}

#[test]
fn group_with_microsoft_schema_and_members() {
    let d = normalize(
        Kind::Group,
        &json!({
            "schemas": [schema::GROUP, "http://schemas.microsoft.com/2006/11/ResourceManagement/ADSCIM/2.0/Group"],
            "displayName": "Team",
            "members": [{"value": "u1", "display": "x", "$ref": null}, "u2", {"value": "u1"}],
        }),
    )
    .unwrap();
    // The same member twice is one member.
    assert_eq!(
        d["members"],
        json!([{"value": "u1", "display": "x"}, {"value": "u2"}, {"value": "u1"}])
    );
}

#[test]
fn only_one_primary() {
    let d = normalize(
        Kind::User,
        &json!({"userName": "a", "emails": [{"value": "a", "primary": true}, {"value": "b", "primary": "True"}]}),
    )
    .unwrap();
    assert_eq!(d["emails"][1]["primary"], json!(false));
}

#[test]
fn bad_values_are_refused() {
    for body in [
        json!("x"),
        json!({"userName": "a", "schemas": "x"}),
        json!({"userName": "a", "active": "yes"}),
        json!({"userName": {"a": 1}}),
    ] {
        assert!(normalize(Kind::User, &body).is_err(), "{body}");
    }
    let d = normalize(Kind::User, &json!({"displayName": "x"})).unwrap();
    assert_eq!(
        validate_required(Kind::User, &d).unwrap_err().detail,
        "userName is required"
    );
}

fn rendered() -> Value {
    let d = normalize(
        Kind::User,
        &json!({
            "userName": "alice", "displayName": "Alice", "name": {"givenName": "A", "familyName": "S"},
            "emails": [{"value": "a@x", "type": "work"}],
            ENTERPRISE: {"department": "Sales", "employeeNumber": "1"},
        }),
    )
    .unwrap();
    render(
        Kind::User,
        &d,
        &Meta {
            id: "id1",
            created: "c",
            last_modified: "m",
            version: 3,
            location: "http://x/Users/id1".into(),
        },
        Some(vec![json!({"value": "g1", "display": "G"})]),
    )
}

#[test]
fn render_adds_schemas_id_meta_and_computed_groups() {
    let r = rendered();
    assert_eq!(r["schemas"], json!([USER, ENTERPRISE]));
    assert_eq!(r["meta"]["version"], "W/\"3\"");
    assert_eq!(r["meta"]["resourceType"], "User");
    assert_eq!(r["groups"][0]["value"], "g1");
}

#[test]
fn attributes_and_excluded_attributes() {
    let mut r = rendered();
    let sel = AttrSel::parse_list(
        "userName, name.givenName,urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department",
    )
    .unwrap();
    project(Kind::User, &mut r, &sel, &[]);
    let keys: Vec<&String> = r.as_object().unwrap().keys().collect();
    assert_eq!(keys.len(), 6, "{r}");
    assert_eq!(r["name"], json!({"givenName": "A"}));
    assert_eq!(r[ENTERPRISE], json!({"department": "Sales"}));
    assert!(r.get("id").is_some() && r.get("meta").is_some() && r.get("schemas").is_some());

    let mut r = rendered();
    let ex = AttrSel::parse_list("groups,emails.type,name,id,meta").unwrap();
    project(Kind::User, &mut r, &[], &ex);
    assert!(r.get("groups").is_none() && r.get("name").is_none());
    assert_eq!(r["emails"], json!([{"value": "a@x"}]));
    assert!(r.get("id").is_some() && r.get("meta").is_some());

    let mut r = rendered();
    project(Kind::User, &mut r, &[], &AttrSel::parse_list(ENTERPRISE).unwrap());
    assert!(r.get(ENTERPRISE).is_none());
    assert!(AttrSel::parse_list("a b").is_err());
}
