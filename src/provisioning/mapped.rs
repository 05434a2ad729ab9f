//! What the mappings produce, in the forms the engine sends, remembers and shows: SCIM booleans
//! from expression text, the compiled attribute specs and scoping filters of an object type, and
//! the connector data store's stored form of exported values.

use crate::mapping::export::{Exported, Spec, SpecKind};
use crate::mapping::scoping::{self, Operator};
use crate::mapping::Value;
use crate::model::{ApplyOn, MappedObject, MappingKind, ProvisionStep, ProvisioningConfig};
use serde_json::{json, Value as Json};

pub(super) const ENTERPRISE_MANAGER: &str =
    "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager";

pub(super) fn step(
    name: &str,
    status: &str,
    description: impl Into<String>,
    details: Vec<(String, String)>,
) -> ProvisionStep {
    ProvisionStep {
        name: name.into(),
        status: status.into(),
        description: description.into(),
        details,
    }
}

/// SCIM booleans that expressions produce as text ("True"/"False", Entra's Switch idiom).
pub(super) fn coerce(target: &str, v: Json) -> Json {
    let boolean = target.eq_ignore_ascii_case("active") || target.to_ascii_lowercase().ends_with(".primary");
    match (&v, boolean) {
        (Json::String(s), true) if s.eq_ignore_ascii_case("true") => Json::Bool(true),
        (Json::String(s), true) if s.eq_ignore_ascii_case("false") => Json::Bool(false),
        _ => v,
    }
}

pub(super) fn specs(c: &ProvisioningConfig, object: MappedObject) -> Vec<Spec> {
    c.mappings
        .iter()
        .find(|m| m.object == object)
        .map(|m| {
            m.attributes
                .iter()
                .map(|a| Spec {
                    target: a.target.clone(),
                    kind: match a.kind {
                        MappingKind::Direct => SpecKind::Direct,
                        MappingKind::Constant => SpecKind::Constant,
                        MappingKind::Expression => SpecKind::Expression,
                        MappingKind::None => SpecKind::None,
                    },
                    source: a.source.clone(),
                    default_value: a.default_value.clone(),
                    matching: a.matching,
                    create_only: a.apply_on == ApplyOn::Create,
                })
                .collect()
        })
        .unwrap_or_default()
}

pub(super) fn filters(c: &ProvisioningConfig, object: MappedObject) -> Vec<scoping::Filter> {
    c.mappings
        .iter()
        .find(|m| m.object == object)
        .map(|m| {
            m.scoping_filters
                .iter()
                .map(|f| scoping::Filter {
                    title: f.title.clone(),
                    clauses: f
                        .clauses
                        .iter()
                        .filter_map(|c| {
                            Some(scoping::Clause {
                                attribute: c.attribute.clone(),
                                operator: Operator::parse(&c.operator)?,
                                value: c.value.clone(),
                            })
                        })
                        .collect(),
                })
                .collect()
        })
        .unwrap_or_default()
}

pub(super) fn shown(e: &Exported) -> String {
    if e.redacted {
        "[Redact]".into()
    } else {
        e.value.to_json().to_string()
    }
}

/// What a cycle remembers of an object's exported attributes (the connector data store).
/// `redacted` is written only when set: a user's row is a few hundred bytes smaller, and there
/// is one row per managed object.
pub(super) fn exported_json(list: &[Exported]) -> String {
    Json::Array(
        list.iter()
            .map(|e| match e.redacted {
                true => json!({"target": e.target, "value": e.value.to_json(), "redacted": true}),
                false => json!({"target": e.target, "value": e.value.to_json()}),
            })
            .collect(),
    )
    .to_string()
}

/// Reads back what `exported_json` stored.
pub(super) fn exported_from(text: &str) -> Vec<Exported> {
    let list: Vec<Json> = serde_json::from_str(text).unwrap_or_default();
    list.into_iter()
        .filter_map(|e| {
            let value = match e.get("value")? {
                Json::String(s) => Value::Str(s.clone()),
                Json::Bool(b) => Value::Bool(*b),
                Json::Number(n) => n.as_i64().map(Value::Int).unwrap_or(Value::Str(n.to_string())),
                Json::Array(a) => Value::Multi(
                    a.iter()
                        .map(|x| match x {
                            Json::String(s) => Value::Str(s.clone()),
                            other => Value::Json(other.clone()),
                        })
                        .collect(),
                ),
                Json::Null => Value::Null,
                other => Value::Json(other.clone()),
            };
            Some(Exported {
                target: e.get("target")?.as_str()?.to_string(),
                value,
                redacted: e.get("redacted").and_then(Json::as_bool).unwrap_or(false),
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exported_attributes_survive_the_connector_data_store() {
        let list = vec![
            Exported {
                target: "userName".into(),
                value: Value::Str("ann@contoso.com".into()),
                redacted: false,
            },
            Exported {
                target: "password".into(),
                value: Value::Str("s3cret".into()),
                redacted: true,
            },
            Exported {
                target: "active".into(),
                value: Value::Bool(true),
                redacted: false,
            },
        ];
        let text = exported_json(&list);
        assert_eq!(exported_from(&text), list);
        assert_eq!(text.matches("redacted").count(), 1, "{text}");
        // Rows written before `redacted` was left out read the same.
        let old = r#"[{"target":"userName","value":"ann@contoso.com","redacted":false}]"#;
        assert_eq!(exported_from(old), list[..1]);
    }
}
