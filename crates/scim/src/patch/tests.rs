use super::*;
use proptest::prelude::*;
use serde_json::json;

const ENT: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";

fn doc(v: Value) -> Map<String, Value> {
    resource::normalize(Kind::User, &v).unwrap()
}

fn patch(kind: Kind, d: &Map<String, Value>, ops: Value) -> ScimResult<Map<String, Value>> {
    let ops = parse_request(&json!({"schemas": [schema::PATCH_OP], "Operations": ops}))?;
    apply(kind, d, &ops)
}

fn alice() -> Map<String, Value> {
    doc(json!({
        "userName": "alice@x.com",
        "active": true,
        "name": {"givenName": "Alice", "familyName": "Smith"},
        "emails": [{"value": "alice@home.example", "type": "home", "primary": true}],
    }))
}

#[test]
fn capitalised_ops_and_string_booleans() {
    let d = patch(
        Kind::User,
        &alice(),
        json!([{"op": "Replace", "path": "active", "value": "False"}]),
    )
    .unwrap();
    assert_eq!(d["active"], json!(false));
    let d = patch(
        Kind::User,
        &d,
        json!([{"op": "REPLACE", "path": "active", "value": "True"}]),
    )
    .unwrap();
    assert_eq!(d["active"], json!(true));
    let d = patch(
        Kind::User,
        &d,
        json!([{"op": "Add", "path": "emails[type eq \"home\"].primary", "value": "True"}]),
    )
    .unwrap();
    assert_eq!(d["emails"][0]["primary"], json!(true));
}

#[test]
fn pathless_replace_with_dotted_and_urn_keys() {
    let d = patch(
        Kind::User,
        &alice(),
        json!([{"op": "replace", "value": {
            "displayName": "x",
            "name.givenName": "y",
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber": "7",
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager": {"value": "m-1"},
        }}]),
    )
    .unwrap();
    assert_eq!(d["displayName"], "x");
    assert_eq!(d["name"]["givenName"], "y");
    assert_eq!(d["name"]["familyName"], "Smith");
    assert_eq!(d[ENT]["employeeNumber"], "7");
    assert_eq!(d[ENT]["manager"]["value"], "m-1");
}

#[test]
fn pathless_deactivation_and_okta_rename_with_id() {
    let d = patch(
        Kind::User,
        &alice(),
        json!([{"op": "replace", "value": {"active": false}}]),
    )
    .unwrap();
    assert_eq!(d["active"], json!(false));
    let g = resource::normalize(Kind::Group, &json!({"displayName": "Old"})).unwrap();
    let g = patch(
        Kind::Group,
        &g,
        json!([{"op": "replace", "value": {"id": "abc", "displayName": "New"}}]),
    )
    .unwrap();
    assert_eq!(g["displayName"], "New");
    assert!(!g.contains_key("id"));
}

#[test]
fn filtered_replace_adds_when_missing() {
    let d = patch(
        Kind::User,
        &alice(),
        json!([{"op": "replace", "path": "emails[type eq \"work\"].value", "value": "alice@work.example"}]),
    )
    .unwrap();
    let emails = d["emails"].as_array().unwrap();
    assert_eq!(emails.len(), 2);
    assert!(emails.contains(&json!({"type": "work", "value": "alice@work.example"})));
    // Replacing it again changes it in place.
    let d = patch(
        Kind::User,
        &d,
        json!([{"op": "Replace", "path": "emails[type eq \"work\"].value", "value": "new@work.example"}]),
    )
    .unwrap();
    assert_eq!(d["emails"].as_array().unwrap().len(), 2);
    assert!(d["emails"]
        .as_array()
        .unwrap()
        .iter()
        .any(|e| e["value"] == "new@work.example"));
    // A filter that does not describe a value cannot add one.
    let e = patch(
        Kind::User,
        &d,
        json!([{"op": "replace", "path": "emails[value co \"zzz\"].type", "value": "other"}]),
    )
    .unwrap_err();
    assert_eq!(e.scim_type, Some(ScimType::NoTarget));
}

fn team() -> Map<String, Value> {
    resource::normalize(
        Kind::Group,
        &json!({"displayName": "Team", "members": [{"value": "u1"}, {"value": "u2"}, {"value": "u3"}]}),
    )
    .unwrap()
}

fn member_ids(g: &Map<String, Value>) -> Vec<String> {
    g.get("members")
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .map(|m| m["value"].as_str().unwrap().to_string())
                .collect()
        })
        .unwrap_or_default()
}

#[test]
fn entra_member_removal_removes_only_those() {
    let g = patch(
        Kind::Group,
        &team(),
        json!([{"op": "Remove", "path": "members", "value": [{"value": "u2"}]}]),
    )
    .unwrap();
    assert_eq!(member_ids(&g), ["u1", "u3"]);
    let g = patch(
        Kind::Group,
        &team(),
        json!([{"op": "remove", "path": "members[value eq \"u1\"]"}]),
    )
    .unwrap();
    assert_eq!(member_ids(&g), ["u2", "u3"]);
    // Removing a member that is not there is not an error.
    let g = patch(
        Kind::Group,
        &team(),
        json!([{"op": "remove", "path": "members[value eq \"nobody\"]"}]),
    )
    .unwrap();
    assert_eq!(member_ids(&g).len(), 3);
    // Without a value, remove clears the attribute (RFC 7644).
    let g = patch(Kind::Group, &team(), json!([{"op": "remove", "path": "members"}])).unwrap();
    assert!(member_ids(&g).is_empty());
}

#[test]
fn adding_members_is_idempotent_and_mixed_operations_apply_in_order() {
    let g = patch(
        Kind::Group,
        &team(),
        json!([{"op": "Add", "path": "members", "value": [{"$ref": null, "value": "u3"}, {"$ref": null, "value": "u4"}]}]),
    )
    .unwrap();
    assert_eq!(member_ids(&g), ["u1", "u2", "u3", "u4"]);
    let g = patch(
        Kind::Group,
        &team(),
        json!([
            {"op": "remove", "path": "members[value eq \"u1\"]"},
            {"op": "add", "path": "members", "value": [{"value": "u9", "display": "nine@x.com"}]},
            {"op": "remove", "path": "members[value eq \"u2\"]"},
        ]),
    )
    .unwrap();
    assert_eq!(member_ids(&g), ["u3", "u9"]);
    assert_eq!(g["members"][1]["display"], "nine@x.com");
}

#[test]
fn role_values_as_json_strings_are_kept_verbatim() {
    let role = r#"{"id":"7b3b9a1e","value":"25","displayName":"Role1234"}"#;
    let d = patch(
        Kind::User,
        &alice(),
        json!([{"op": "Add", "path": "roles", "value": [{"value": role}]}]),
    )
    .unwrap();
    assert_eq!(d["roles"][0]["value"], role);
}

#[test]
fn custom_extension_attributes() {
    let urn = "urn:ietf:params:scim:schemas:extension:CustomExt:2.0:User";
    let d = patch(
        Kind::User,
        &alice(),
        json!([{"op": "add", "path": format!("{urn}:costCenter"), "value": "CC-1"}]),
    )
    .unwrap();
    assert_eq!(d[urn]["costCenter"], "CC-1");
    let d = patch(
        Kind::User,
        &d,
        json!([{"op": "remove", "path": format!("{urn}:costCenter")}]),
    )
    .unwrap();
    assert!(!d.contains_key(urn));
}

#[test]
fn remove_and_sub_attributes() {
    let d = patch(
        Kind::User,
        &alice(),
        json!([{"op": "remove", "path": "name.givenName"}]),
    )
    .unwrap();
    assert_eq!(d["name"], json!({"familyName": "Smith"}));
    let d = patch(
        Kind::User,
        &d,
        json!([{"op": "remove", "path": "emails[type eq \"home\"]"}]),
    )
    .unwrap();
    assert!(!d.contains_key("emails"));
    let d = patch(
        Kind::User,
        &d,
        json!([{"op": "add", "path": "name", "value": {"givenName": "A"}}]),
    )
    .unwrap();
    assert_eq!(d["name"], json!({"familyName": "Smith", "givenName": "A"}));
    let d = patch(
        Kind::User,
        &d,
        json!([{"op": "replace", "path": "nickName", "value": null}]),
    )
    .unwrap();
    assert!(!d.contains_key("nickName"));
}

#[test]
fn errors_change_nothing_and_are_typed() {
    let a = alice();
    let cases = [
        (
            json!([{"op": "replace", "path": "userName"}]),
            ScimType::InvalidValue,
        ),
        (
            json!([{"op": "jump", "path": "userName", "value": "x"}]),
            ScimType::InvalidSyntax,
        ),
        (json!([{"op": "remove"}]), ScimType::NoTarget),
        (
            json!([{"op": "replace", "path": "nosuch", "value": "x"}]),
            ScimType::InvalidPath,
        ),
        (
            json!([{"op": "replace", "path": "emails[type eq", "value": "x"}]),
            ScimType::InvalidPath,
        ),
        (
            json!([{"op": "replace", "path": "id", "value": "x"}]),
            ScimType::Mutability,
        ),
        (
            json!([{"op": "add", "path": "groups", "value": [{"value": "g"}]}]),
            ScimType::Mutability,
        ),
        (
            json!([{"op": "remove", "path": "userName"}]),
            ScimType::InvalidValue,
        ),
        (
            json!([{"op": "replace", "path": "active", "value": "maybe"}]),
            ScimType::InvalidValue,
        ),
        (
            json!([{"op": "replace", "path": "displayName[value eq \"x\"]", "value": "x"}]),
            ScimType::InvalidPath,
        ),
    ];
    for (ops, want) in cases {
        let e = patch(Kind::User, &a, ops.clone()).unwrap_err();
        assert_eq!(e.scim_type, Some(want), "{ops}: {e}");
        assert_eq!(e.status, 400);
    }
    assert_eq!(patch(Kind::User, &a, json!([])).unwrap(), a);
}

#[test]
fn password_is_accepted_and_never_stored() {
    let d = patch(
        Kind::User,
        &alice(),
        json!([{"op": "replace", "path": "password", "value": "secret"}]),
    )
    .unwrap();
    assert!(!d.contains_key("password"));
}

fn arb_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i32>().prop_map(Value::from),
        "[a-zA-Z0-9 @.\"]{0,8}".prop_map(Value::String),
    ];
    leaf.prop_recursive(3, 24, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::btree_map(
                prop_oneof![
                    Just("value".to_string()),
                    Just("type".to_string()),
                    Just("primary".to_string()),
                    Just("givenName".to_string()),
                    "[a-zA-Z.:]{1,8}"
                ],
                inner,
                0..4
            )
            .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

fn arb_path() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("emails".to_string()),
        Just("emails[type eq \"work\"].value".to_string()),
        Just("members".to_string()),
        Just("members[value eq \"u1\"]".to_string()),
        Just("name.givenName".to_string()),
        Just("active".to_string()),
        Just(format!("{ENT}:manager")),
        Just("urn:ietf:params:scim:schemas:extension:X:2.0:User:y".to_string()),
        "[a-zA-Z\\[\\]. \"=]{0,20}",
    ]
}

proptest! {
    #[test]
    fn arbitrary_operations_never_panic(
        op in prop_oneof![Just("add"), Just("Remove"), Just("replace"), Just("x")],
        path in prop::option::of(arb_path()),
        value in prop::option::of(arb_json()),
        group in any::<bool>(),
    ) {
        let mut o = Map::new();
        o.insert("op".into(), json!(op));
        if let Some(p) = path { o.insert("path".into(), json!(p)); }
        if let Some(v) = value { o.insert("value".into(), v); }
        let kind = if group { Kind::Group } else { Kind::User };
        let base = if group { team() } else { alice() };
        if let Ok(d) = patch(kind, &base, Value::Array(vec![Value::Object(o)])) {
            // Whatever applies leaves a valid, normalised document.
            prop_assert!(resource::validate_required(kind, &d).is_ok());
            prop_assert_eq!(resource::normalize(kind, &Value::Object(d.clone())).unwrap(), d);
        }
    }
}

#[test]
fn a_whole_extension_as_the_path() {
    let d = patch(
        Kind::User,
        &alice(),
        json!([{"op": "add", "path": ENT, "value": {"department": "Sales", "manager": {"value": "m"}}}]),
    )
    .unwrap();
    assert_eq!(d[ENT]["department"], "Sales");
    let d = patch(
        Kind::User,
        &d,
        json!([{"op": "replace", "path": ENT, "value": {"department": "Ops"}}]),
    )
    .unwrap();
    assert_eq!(d[ENT]["department"], "Ops");
    let d = patch(Kind::User, &d, json!([{"op": "remove", "path": ENT}])).unwrap();
    assert!(!d.contains_key(ENT));
}

proptest! {
    /// Adding and removing members (found through an index, not a scan) behaves as a set that
    /// keeps first-seen order, whatever the duplicates in the request.
    #[test]
    fn member_adds_and_removes_are_set_operations(
        start in proptest::collection::vec(0u8..20, 0..15),
        add in proptest::collection::vec(0u8..20, 0..15),
        remove in proptest::collection::vec(0u8..20, 0..15),
    ) {
        let ids = |v: &[u8]| v.iter().map(|i| format!("u{i}")).collect::<Vec<_>>();
        let as_members = |v: &[String]| Value::Array(v.iter().map(|i| json!({"value": i})).collect());
        let group = resource::normalize(
            Kind::Group,
            &json!({"displayName": "G", "members": as_members(&ids(&start))}),
        )
        .unwrap();
        let mut expected: Vec<String> = Vec::new();
        for id in ids(&start).into_iter().chain(ids(&add)) {
            if !expected.contains(&id) {
                expected.push(id);
            }
        }
        let gone = ids(&remove);
        expected.retain(|i| !gone.contains(i));
        let mut ops = vec![json!({"op": "add", "path": "members", "value": as_members(&ids(&add))})];
        if !gone.is_empty() {
            ops.push(json!({"op": "remove", "path": "members", "value": as_members(&gone)}));
        }
        let g = patch(Kind::Group, &group, Value::Array(ops)).unwrap();
        prop_assert_eq!(member_ids(&g), expected);
    }
}

#[test]
fn equal_elements_in_another_key_order_are_one() {
    let g = resource::normalize(
        Kind::User,
        &json!({"userName": "a", "emails": [
            {"value": "a@x.com", "type": "work"},
            {"type": "work", "value": "a@x.com"},
        ]}),
    )
    .unwrap();
    assert_eq!(g["emails"].as_array().unwrap().len(), 1);
}

#[test]
fn a_foreign_resource_keeps_what_this_crate_does_not_know() {
    let resource = json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User", "urn:vendor:app:1.0:User"],
        "id": "7",
        "meta": {"resourceType": "User", "version": "W/\"3\""},
        "userName": "ann",
        "title": "Engineer",
        "urn:vendor:app:1.0:User": {"seat": "A-12"},
    });
    let ops = parse_request(&json!({"Operations": [
        {"op": "replace", "path": "title", "value": "Lead"},
        {"op": "add", "path": "emails[type eq \"work\"].value", "value": "ann@x.com"},
    ]}))
    .unwrap();
    let out = apply_to_foreign(Kind::User, resource.as_object().unwrap(), &ops).unwrap();
    assert_eq!(out["title"], "Lead");
    assert_eq!(out["emails"], json!([{"type": "work", "value": "ann@x.com"}]));
    assert_eq!(out["urn:vendor:app:1.0:User"], json!({"seat": "A-12"}));
    assert_eq!(out["id"], "7");
    assert!(!out.contains_key("meta"));
}
