//! Export: Entra's default user mapping applied to a directory user gives the SCIM document Entra
//! would send; defaults, create-only mappings, IgnoreFlowIfNullOrEmpty and matching order.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use provisio_mapping::export::{diff, to_resource, Mapping, PatchOp, Spec, SpecKind};
use provisio_mapping::expr::Context;
use provisio_mapping::Value;
use serde_json::json;
use std::collections::HashMap;
use time::OffsetDateTime;

struct User(HashMap<String, Value>);

impl Context for User {
    fn attribute(&self, name: &str) -> Value {
        self.0.get(name).cloned().unwrap_or(Value::Null)
    }
    fn now(&self) -> OffsetDateTime {
        OffsetDateTime::UNIX_EPOCH
    }
    fn fill_random(&self, buf: &mut [u8]) {
        buf.fill(1);
    }
}

fn spec(target: &str, kind: &str, source: &str) -> Spec {
    Spec {
        target: target.into(),
        kind: match kind {
            "direct" => SpecKind::Direct,
            "constant" => SpecKind::Constant,
            "expression" => SpecKind::Expression,
            _ => SpecKind::None,
        },
        source: source.into(),
        default_value: String::new(),
        matching: 0,
        create_only: false,
    }
}

fn entra_defaults() -> Vec<Spec> {
    let mut v = vec![
        Spec {
            matching: 1,
            ..spec("userName", "direct", "userPrincipalName")
        },
        spec(
            "active",
            "expression",
            r#"Switch([IsSoftDeleted], , "False", "True", "True", "False")"#,
        ),
        spec("displayName", "direct", "displayName"),
        spec("title", "direct", "jobTitle"),
        spec("emails[type eq \"work\"].value", "direct", "mail"),
        spec("name.givenName", "direct", "givenName"),
        spec("name.familyName", "direct", "surname"),
        spec(
            "name.formatted",
            "expression",
            r#"Join(" ", [givenName], [surname])"#,
        ),
        spec("addresses[type eq \"work\"].locality", "direct", "city"),
        spec("addresses[type eq \"work\"].country", "direct", "country"),
        spec(
            "phoneNumbers[type eq \"work\"].value",
            "direct",
            "telephoneNumber",
        ),
        spec("phoneNumbers[type eq \"mobile\"].value", "direct", "mobile"),
        spec("externalId", "direct", "mailNickname"),
        spec(
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department",
            "direct",
            "department",
        ),
    ];
    v.push(Spec {
        matching: 2,
        ..spec(
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber",
            "direct",
            "employeeId",
        )
    });
    v
}

fn user(pairs: &[(&str, Value)]) -> User {
    User(pairs.iter().map(|(k, v)| (k.to_string(), v.clone())).collect())
}

#[test]
fn entra_default_mapping_builds_the_document_entra_sends() {
    let m = Mapping::new(&entra_defaults()).unwrap();
    let u = user(&[
        ("userPrincipalName", Value::str("ann@contoso.com")),
        ("IsSoftDeleted", Value::Bool(false)),
        ("displayName", Value::str("Ann Lee")),
        ("mail", Value::str("ann@contoso.com")),
        ("givenName", Value::str("Ann")),
        ("surname", Value::str("Lee")),
        ("city", Value::str("Redmond")),
        ("country", Value::str("US")),
        ("mobile", Value::str("+1 555 0100")),
        ("mailNickname", Value::str("ann")),
        ("department", Value::str("Sales")),
        ("employeeId", Value::str("42")),
    ]);
    let exported = m.export(&u, true).unwrap();
    assert!(
        !exported.iter().any(|e| e.target == "title"),
        "null values are left out"
    );
    let doc = serde_json::Value::Object(to_resource(&exported));
    assert_eq!(
        doc,
        json!({
            "userName": "ann@contoso.com",
            "active": "True",
            "displayName": "Ann Lee",
            "emails": [{"type": "work", "value": "ann@contoso.com"}],
            "name": {"givenName": "Ann", "familyName": "Lee", "formatted": "Ann Lee"},
            "addresses": [{"type": "work", "locality": "Redmond", "country": "US"}],
            "phoneNumbers": [{"type": "mobile", "value": "+1 555 0100"}],
            "externalId": "ann",
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {"department": "Sales", "employeeNumber": "42"}
        })
    );
    let matching: Vec<_> = m
        .matching(&exported)
        .into_iter()
        .map(|(t, v)| (t.to_string(), v.clone()))
        .collect();
    assert_eq!(
        matching,
        vec![
            ("userName".to_string(), Value::str("ann@contoso.com")),
            (
                "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber".to_string(),
                Value::str("42")
            ),
        ]
    );
}

#[test]
fn defaults_create_only_and_ignored_flows() {
    let specs = vec![
        Spec {
            default_value: "Staff".into(),
            ..spec("title", "direct", "jobTitle")
        },
        Spec {
            create_only: true,
            ..spec("password", "expression", "RandomString(12, 2, 2, 2, 2)")
        },
        spec(
            "nickName",
            "expression",
            "IgnoreFlowIfNullOrEmpty([mailNickname])",
        ),
        spec("locale", "none", ""),
        spec("preferredLanguage", "constant", "en-US"),
    ];
    let m = Mapping::new(&specs).unwrap();
    let u = user(&[]);
    let created: Vec<String> = m
        .export(&u, true)
        .unwrap()
        .into_iter()
        .map(|e| e.target)
        .collect();
    assert_eq!(created, ["title", "password", "preferredLanguage"]);
    let updated = m.export(&u, false).unwrap();
    assert_eq!(
        updated.len(),
        1,
        "no defaults and no create-only mappings on update: {updated:?}"
    );
    assert_eq!(updated[0].value, Value::str("en-US"));
    assert!(!m.writes("locale") && m.writes("TITLE"));
}

#[test]
fn a_failing_expression_names_its_mapping() {
    let m = Mapping::new(&[spec("displayName", "expression", r#"CDate([hireDate])"#)]).unwrap();
    let e = m
        .export(&user(&[("hireDate", Value::str("soon"))]), true)
        .unwrap_err();
    assert_eq!(e.target, "displayName");
    assert!(e.to_string().contains("not a date"), "{e}");
    assert!(Mapping::new(&[spec("id", "direct", "objectId")]).is_err());
}

#[test]
fn value_filters_share_an_element_and_redaction_is_kept() {
    let m = Mapping::new(&[
        spec("emails[type eq \"work\"].value", "direct", "mail"),
        spec("emails[type eq \"work\"].display", "expression", "Redact([mail])"),
        spec("emails[type eq \"home\"].value", "direct", "otherMail"),
    ])
    .unwrap();
    let exported = m
        .export(
            &user(&[
                ("mail", Value::str("a@x.com")),
                ("otherMail", Value::str("a@home.com")),
            ]),
            true,
        )
        .unwrap();
    assert!(exported[1].redacted && !exported[0].redacted);
    assert_eq!(
        serde_json::Value::Object(to_resource(&exported)),
        json!({"emails": [
            {"type": "work", "value": "a@x.com", "display": "a@x.com"},
            {"type": "home", "value": "a@home.com"}
        ]})
    );
}

#[test]
fn diff_sends_only_what_changed() {
    let m = Mapping::new(&entra_defaults()).unwrap();
    let before = user(&[
        ("userPrincipalName", Value::str("ann@contoso.com")),
        ("IsSoftDeleted", Value::Bool(false)),
        ("displayName", Value::str("Ann Lee")),
        ("mail", Value::str("ann@contoso.com")),
        ("mobile", Value::str("+1 555 0100")),
    ]);
    let mut after = User(before.0.clone());
    after.0.insert("displayName".into(), Value::str("Ann Lee-Smith"));
    after.0.insert("IsSoftDeleted".into(), Value::Bool(true));
    after.0.remove("mobile");
    after.0.insert("department".into(), Value::str("Sales"));
    let old = m.export(&before, false).unwrap();
    assert!(diff(&old, &old, &|_| true).is_empty(), "in sync: nothing to send");
    let new = m.export(&after, false).unwrap();
    let ops = diff(&old, &new, &|_| true);
    assert_eq!(
        ops,
        vec![
            PatchOp::Replace {
                path: "active".into(),
                value: json!("False")
            },
            PatchOp::Replace {
                path: "displayName".into(),
                value: json!("Ann Lee-Smith")
            },
            PatchOp::Replace {
                path: "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department".into(),
                value: json!("Sales")
            },
            PatchOp::Remove {
                path: "phoneNumbers[type eq \"mobile\"].value".into()
            },
        ]
    );
    assert_eq!(
        ops[3].to_json(),
        json!({"op": "remove", "path": "phoneNumbers[type eq \"mobile\"].value"})
    );
    let unmapped = diff(&old, &new, &|t| !t.starts_with("phoneNumbers"));
    assert_eq!(
        unmapped.len(),
        3,
        "a value whose mapping was deleted is left alone"
    );
}
