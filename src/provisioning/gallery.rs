//! The application gallery: templates are data files compiled into the binary, read once.

use crate::model::{AppRoleInfo, ApplyOn, GalleryItem, MappingKind};
use base64::Engine;
use serde::Deserialize;
use std::sync::OnceLock;

const SOURCES: &[(&str, &str)] = &[
    ("harness", include_str!("gallery/harness.json")),
    ("scim2", include_str!("gallery/scim2.json")),
];

#[derive(Debug, Clone, Deserialize)]
pub struct Template {
    pub id: String,
    pub name: String,
    pub publisher: String,
    pub category: String,
    pub description: String,
    pub tenant_url_hint: String,
    pub notes: Vec<String>,
    pub logo_svg: String,
    pub roles: Vec<TemplateRole>,
    pub mappings: TemplateMappings,
}

#[derive(Debug, Clone, Deserialize)]
pub struct TemplateRole {
    pub value: String,
    pub display_name: String,
    #[serde(default)]
    pub description: String,
    pub provisioned: bool,
}

#[derive(Debug, Clone, Deserialize)]
pub struct TemplateMappings {
    pub user: Vec<TemplateMapping>,
    pub group: Vec<TemplateMapping>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct TemplateMapping {
    pub target: String,
    pub kind: MappingKind,
    pub source: String,
    #[serde(default)]
    pub default_value: String,
    #[serde(default)]
    pub matching: i64,
    #[serde(default = "always")]
    pub apply_on: ApplyOn,
}

fn always() -> ApplyOn {
    ApplyOn::Always
}

impl Template {
    /// What an application added from this template starts with, as storage takes it.
    pub fn new_app(&self) -> crate::db::apps::NewApp<'_> {
        use crate::db::apps::{NewApp, NewMapping, NewRole};
        fn mappings(list: &[TemplateMapping]) -> Vec<NewMapping<'_>> {
            list.iter()
                .map(|m| NewMapping {
                    target: &m.target,
                    kind: m.kind.as_str(),
                    source: &m.source,
                    default_value: &m.default_value,
                    matching: m.matching,
                    apply_on: m.apply_on.as_str(),
                })
                .collect()
        }
        NewApp {
            template: &self.id,
            roles: self
                .roles
                .iter()
                .map(|r| NewRole {
                    value: &r.value,
                    display_name: &r.display_name,
                    description: &r.description,
                    provisioned: r.provisioned,
                })
                .collect(),
            user_mappings: mappings(&self.mappings.user),
            group_mappings: mappings(&self.mappings.group),
        }
    }
}

/// Every template. A template that does not parse is a build defect, caught by the tests.
pub fn templates() -> &'static [Template] {
    static ALL: OnceLock<Vec<Template>> = OnceLock::new();
    ALL.get_or_init(|| {
        SOURCES
            .iter()
            .map(|(id, json)| {
                let t: Template =
                    serde_json::from_str(json).unwrap_or_else(|e| panic!("gallery template {id}: {e}"));
                assert_eq!(&t.id, id, "gallery template id");
                t
            })
            .collect()
    })
}

pub fn template(id: &str) -> Option<&'static Template> {
    templates().iter().find(|t| t.id == id)
}

pub fn logo_data_url(t: &Template) -> String {
    format!(
        "data:image/svg+xml;base64,{}",
        base64::engine::general_purpose::STANDARD.encode(t.logo_svg.as_bytes())
    )
}

pub fn role_info(r: &TemplateRole) -> AppRoleInfo {
    AppRoleInfo {
        value: r.value.clone(),
        display_name: r.display_name.clone(),
        description: r.description.clone(),
        provisioned: r.provisioned,
    }
}

pub fn item(t: &Template) -> GalleryItem {
    GalleryItem {
        id: t.id.clone(),
        name: t.name.clone(),
        publisher: t.publisher.clone(),
        category: t.category.clone(),
        description: t.description.clone(),
        logo: logo_data_url(t),
        tenant_url_hint: t.tenant_url_hint.clone(),
        notes: t.notes.clone(),
        roles: t.roles.iter().map(role_info).collect(),
        user_mappings: t.mappings.user.len(),
        group_mappings: t.mappings.group.len(),
    }
}

/// Templates whose name, publisher, category or description contains `q` (any case).
pub fn search(q: &str) -> Vec<GalleryItem> {
    let q = q.trim().to_lowercase();
    templates()
        .iter()
        .filter(|t| {
            q.is_empty()
                || [&t.name, &t.publisher, &t.category, &t.description, &t.id]
                    .iter()
                    .any(|s| s.to_lowercase().contains(&q))
        })
        .map(item)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn templates_parse_and_are_complete() {
        let all = templates();
        assert!(all.len() >= 2);
        for t in all {
            assert!(!t.mappings.user.is_empty(), "{}", t.id);
            let matching: Vec<_> = t.mappings.user.iter().filter(|m| m.matching > 0).collect();
            assert_eq!(matching.len(), 1, "{} has one matching user attribute", t.id);
            for m in t.mappings.user.iter().chain(&t.mappings.group) {
                assert_ne!(m.kind, MappingKind::None, "{}", m.target);
                if m.kind == MappingKind::Direct && m.source != "members" && m.source != "objectId" {
                    assert!(
                        crate::model::user_attr(&m.source).is_some() || m.source == "displayName",
                        "{}: unknown source {}",
                        t.id,
                        m.source
                    );
                }
            }
        }
        let h = template("harness").unwrap();
        assert!(h
            .tenant_url_hint
            .ends_with("/gateway/api/scim/account/<your_harness_account_ID>"));
        assert!(h
            .roles
            .iter()
            .any(|r| r.display_name == "Default Access" && !r.provisioned));
        assert!(template("scim2").unwrap().roles.is_empty());
        assert_eq!(search("HARNESS").len(), 1);
        assert_eq!(search("").len(), all.len());
        assert!(search("no such app").is_empty());
    }
}
