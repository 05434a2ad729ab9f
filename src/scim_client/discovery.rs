//! What a target says about itself: its ServiceProviderConfig (PATCH, Bulk, filters) and, where
//! it answers them, `/ResourceTypes` and `/Schemas`: the attributes, sub-attributes and extensions
//! of its users and groups. Strict targets refuse a whole request for one attribute they do not
//! know, so the engine leaves out what is not declared ([`Declared::allows`], [`Declared::trim`])
//! and writes a multi-valued attribute whole where the target cannot select an element by the
//! sub-attribute a mapping filters on ([`Declared::unselectable`]).

use super::{ClientError, Kind, Target};
use serde_json::{Map, Value};
use std::collections::{HashMap, HashSet};

/// What the target says it supports (its ServiceProviderConfig).
#[derive(Debug, Clone, PartialEq)]
pub struct Capabilities {
    pub patch: bool,
    pub bulk: bool,
    pub bulk_max_operations: u64,
    /// Bytes; 0 when not stated.
    pub bulk_max_payload: u64,
    pub filter: bool,
    /// What its `/Schemas` and `/ResourceTypes` declare; unknown when it does not say.
    pub declared: Declared,
}

impl Default for Capabilities {
    /// What to assume of a target that does not describe itself: PATCH and filters, no Bulk.
    fn default() -> Self {
        Capabilities {
            patch: true,
            bulk: false,
            bulk_max_operations: 0,
            bulk_max_payload: 0,
            filter: true,
            declared: Declared::default(),
        }
    }
}

/// The attributes a target declares for users and groups (None: it does not say, so nothing is
/// left out).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Declared {
    pub users: Option<Attributes>,
    pub groups: Option<Attributes>,
}

/// A resource type's declared attributes, all lowercase: the core schema's top-level names, each
/// with its declared sub-attributes (None: a simple attribute, or a complex one whose
/// sub-attributes are not listed, so any goes), and the extension schemas.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Attributes {
    pub core: HashMap<String, Option<HashSet<String>>>,
    pub extensions: HashSet<String>,
    /// The core schema's attributes marked `required` that a client writes (not read-only), as
    /// spelled, in schema order.
    pub required: Vec<String>,
}

/// Where a mapping target's value goes, read with SCIM's path grammar: `emails[type eq
/// "work"].value` is the attribute `emails` (as spelled), filtered on `[type]`, sub-attribute
/// `value`; `name.givenName` is `name`, none, `givenname`. Names lowercase except `spelled`.
struct Parts {
    /// The schema URN it names, if any.
    urn: Option<String>,
    spelled: String,
    top: String,
    filtered_on: Vec<String>,
    sub: Option<String>,
}

fn parts(path: &str) -> Option<Parts> {
    let p = provisio_scim::path::parse(path).ok()?;
    let lower = |s: &str| s.to_ascii_lowercase();
    // Mapping targets select an element with equalities (`type eq "work" and primary eq true`).
    let filtered_on = p
        .filter
        .as_ref()
        .and_then(provisio_scim::patch::seed_from_filter)
        .map(|m| m.keys().map(|k| lower(k)).collect())
        .unwrap_or_default();
    Some(Parts {
        urn: p.attr.urn.as_deref().map(lower),
        top: lower(&p.attr.attr),
        spelled: p.attr.attr,
        filtered_on,
        sub: p.sub.or(p.attr.sub).as_deref().map(lower),
    })
}

impl Declared {
    fn of(&self, kind: Kind) -> Option<&Attributes> {
        match kind {
            Kind::User => self.users.as_ref(),
            Kind::Group => self.groups.as_ref(),
        }
    }

    /// Whether a value at mapping target `path` (`title`, `emails[type eq "work"].value`,
    /// `name.givenName`, `urn:...:enterprise:2.0:User:department`) can go to a resource of
    /// `kind`: its attribute and, where the target lists them, its sub-attribute are declared.
    /// A path SCIM's grammar cannot read is not this check's to refuse.
    pub fn allows(&self, kind: Kind, path: &str) -> bool {
        let Some(a) = self.of(kind) else { return true };
        let Some(p) = parts(path) else { return true };
        if let Some(urn) = p.urn.filter(|u| *u != kind.core_urn().to_ascii_lowercase()) {
            return a.extensions.contains(&urn);
        }
        match a.core.get(&p.top) {
            None => false,
            Some(None) => true,
            Some(Some(subs)) => p.sub.is_none_or(|s| subs.contains(&s)),
        }
    }

    /// For a target like `emails[type eq "work"].value` whose filter names a sub-attribute the
    /// target does not declare (it has emails with a value but no type): the attribute (`emails`,
    /// as spelled in `path`), which must then be written whole. None when the element can be
    /// selected, or nothing is known.
    pub fn unselectable(&self, kind: Kind, path: &str) -> Option<String> {
        let a = self.of(kind)?;
        let p = parts(path)?;
        if p.urn.is_some_and(|u| u != kind.core_urn().to_ascii_lowercase()) {
            return None;
        }
        let subs = a.core.get(&p.top)?.as_ref()?;
        if p.filtered_on.iter().all(|f| subs.contains(f)) {
            return None;
        }
        Some(p.spelled)
    }

    /// The attributes the target marks required that `doc` (a create's document) lacks.
    pub fn missing(&self, kind: Kind, doc: &Map<String, Value>) -> Vec<String> {
        let Some(a) = self.of(kind) else {
            return Vec::new();
        };
        a.required
            .iter()
            .filter(|r| !doc.keys().any(|k| k.eq_ignore_ascii_case(r)))
            .cloned()
            .collect()
    }

    /// Removes from a resource document the sub-attributes its complex attributes do not declare
    /// (the `type` of an email where only `value` is), and elements left empty by it.
    pub fn trim(&self, kind: Kind, doc: &mut Map<String, Value>) {
        let Some(a) = self.of(kind) else { return };
        for (name, value) in doc.iter_mut() {
            let Some(Some(subs)) = a.core.get(&name.to_ascii_lowercase()) else {
                continue;
            };
            let keep = |o: &mut Map<String, Value>| o.retain(|k, _| subs.contains(&k.to_ascii_lowercase()));
            match value {
                Value::Object(o) => keep(o),
                Value::Array(items) => {
                    for item in items.iter_mut() {
                        if let Value::Object(o) = item {
                            keep(o);
                        }
                    }
                    items.retain(|i| i.as_object().is_none_or(|o| !o.is_empty()));
                }
                _ => {}
            }
        }
    }
}

/// How long what a target declares is trusted before it is read again.
const DECLARED_FOR: std::time::Duration = std::time::Duration::from_secs(300);

/// What a lookup of one of the target's own accounts by its own value answered.
#[derive(Debug, Clone, PartialEq)]
pub enum FilterCheck {
    /// The account came back, and only it: lookups can be trusted.
    Works,
    /// Nothing came back: the target does not evaluate the filter.
    NotEvaluated,
    /// Other accounts came back (this many in all): the target ignores the filter.
    Ignored(usize),
}

impl Target {
    /// Looks `account` (one of the target's own) up by its own value of the top-level attribute
    /// `path`; None when the account has no such value.
    pub async fn check_filter(
        &self,
        kind: Kind,
        path: &str,
        account: &Map<String, Value>,
    ) -> Option<Result<FilterCheck, ClientError>> {
        let id = account.get("id").and_then(Value::as_str)?;
        let value = provisio_scim::resource::get_ci(account, path).and_then(Value::as_str)?;
        Some(self.find(kind, path, value).await.map(|found| {
            let own = found
                .iter()
                .any(|r| r.get("id").and_then(Value::as_str) == Some(id));
            match (own, found.len()) {
                (true, 1) => FilterCheck::Works,
                (_, 0) => FilterCheck::NotEvaluated,
                (_, n) => FilterCheck::Ignored(n),
            }
        }))
    }

    /// The target's ServiceProviderConfig (the defaults when it has none), with what it declares
    /// as read in the last few minutes.
    pub async fn discover(&self) -> Result<Capabilities, ClientError> {
        self.discover_with(false).await
    }

    async fn discover_with(&self, fresh: bool) -> Result<Capabilities, ClientError> {
        let url = self.url(&["ServiceProviderConfig"])?;
        match self.send(|| Ok(self.http.get(url.clone()))).await {
            Ok((_, v)) => {
                let supported = |k: &str| v.get(k).and_then(|x| x.get("supported")).and_then(Value::as_bool);
                let d = Capabilities::default();
                Ok(Capabilities {
                    patch: supported("patch").unwrap_or(d.patch),
                    bulk: supported("bulk").unwrap_or(false),
                    bulk_max_operations: v
                        .get("bulk")
                        .and_then(|b| b.get("maxOperations"))
                        .and_then(Value::as_u64)
                        .unwrap_or(0),
                    bulk_max_payload: v
                        .get("bulk")
                        .and_then(|b| b.get("maxPayloadSize"))
                        .and_then(Value::as_u64)
                        .unwrap_or(0),
                    filter: supported("filter").unwrap_or(d.filter),
                    declared: self.declared_cached(fresh).await,
                })
            }
            Err(ClientError::Http { status: 404, .. }) => Ok(Capabilities::default()),
            Err(e) => Err(e),
        }
    }

    /// [`Target::declared`], read again at most every [`DECLARED_FOR`] per endpoint and token: a
    /// cycle starts within a second of each directory change, and two more requests per change
    /// would cost a rate-limited application seconds of its budget each time. (The
    /// ServiceProviderConfig is still read every cycle: it is also the credentials check.)
    async fn declared_cached(&self, fresh: bool) -> Declared {
        use std::hash::{Hash, Hasher};
        type Cache = std::sync::Mutex<HashMap<u64, (std::time::Instant, Declared)>>;
        static CACHE: std::sync::OnceLock<Cache> = std::sync::OnceLock::new();
        let cache = CACHE.get_or_init(Default::default);
        let mut h = std::collections::hash_map::DefaultHasher::new();
        (&self.base, &self.token).hash(&mut h);
        let key = h.finish();
        let lock = || cache.lock().unwrap_or_else(|p| p.into_inner());
        if let Some((at, d)) = lock().get(&key).filter(|_| !fresh) {
            if at.elapsed() < DECLARED_FOR {
                return d.clone();
            }
        }
        let d = self.declared().await;
        let mut map = lock();
        map.retain(|_, (at, _)| at.elapsed() < DECLARED_FOR);
        map.insert(key, (std::time::Instant::now(), d.clone()));
        d
    }

    /// What the target says about itself now, its declared attributes read afresh (Test
    /// Connection), which the next cycles then use.
    pub async fn discover_now(&self) -> Result<Capabilities, ClientError> {
        self.discover_with(true).await
    }

    /// What `/ResourceTypes` and `/Schemas` declare for users and groups. A target that does not
    /// answer them (or not with lists) declares nothing, and nothing is left out.
    async fn declared(&self) -> Declared {
        let list = |v: &Value| v.get("Resources").and_then(Value::as_array).cloned();
        let get = |path: &'static str| async move {
            let url = self.url(&[path]).ok()?;
            self.send(|| Ok(self.http.get(url.clone())))
                .await
                .ok()
                .and_then(|(_, v)| list(&v))
        };
        let (Some(types), Some(schemas)) = (get("ResourceTypes").await, get("Schemas").await) else {
            return Declared::default();
        };
        Declared {
            users: declared_for(Kind::User, &types, &schemas),
            groups: declared_for(Kind::Group, &types, &schemas),
        }
    }
}

fn lower_name(v: &Value) -> Option<String> {
    v.get("name").and_then(Value::as_str).map(str::to_ascii_lowercase)
}

/// One resource type's attributes, from its `/ResourceTypes` entry and its core schema.
fn declared_for(kind: Kind, types: &[Value], schemas: &[Value]) -> Option<Attributes> {
    let t = types.iter().find(|t| {
        t.get("name")
            .and_then(Value::as_str)
            .is_some_and(|n| n.eq_ignore_ascii_case(kind.name()))
    })?;
    let core_urn = t.get("schema").and_then(Value::as_str)?.to_ascii_lowercase();
    let schema = schemas.iter().find(|s| {
        s.get("id")
            .and_then(Value::as_str)
            .is_some_and(|id| id.eq_ignore_ascii_case(&core_urn))
    })?;
    let attributes = schema.get("attributes").and_then(Value::as_array)?;
    let required = attributes
        .iter()
        .filter(|a| a.get("required").and_then(Value::as_bool) == Some(true))
        .filter(|a| {
            a.get("mutability")
                .and_then(Value::as_str)
                .is_none_or(|m| !m.eq_ignore_ascii_case("readOnly"))
        })
        .filter_map(|a| a.get("name").and_then(Value::as_str))
        .filter(|n| {
            !["id", "meta", "schemas"]
                .iter()
                .any(|c| c.eq_ignore_ascii_case(n))
        })
        .map(str::to_string)
        .collect();
    let core = attributes
        .iter()
        .filter_map(|a| {
            let subs = a
                .get("subAttributes")
                .and_then(Value::as_array)
                .filter(|s| !s.is_empty())
                .map(|s| s.iter().filter_map(lower_name).collect());
            Some((lower_name(a)?, subs))
        })
        .chain(["id", "externalid", "meta", "schemas"].map(|n| (n.to_string(), None)))
        .collect();
    let extensions = t
        .get("schemaExtensions")
        .and_then(Value::as_array)
        .map(|list| {
            list.iter()
                .filter_map(|e| {
                    e.get("schema")
                        .and_then(Value::as_str)
                        .map(str::to_ascii_lowercase)
                })
                .collect()
        })
        .unwrap_or_default();
    Some(Attributes {
        core,
        extensions,
        required,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn emails_value_only() -> Declared {
        let core = [
            ("username".to_string(), None),
            ("emails".to_string(), Some(HashSet::from(["value".to_string()]))),
            (
                "name".to_string(),
                Some(HashSet::from(["givenname".to_string(), "familyname".to_string()])),
            ),
        ]
        .into_iter()
        .collect();
        Declared {
            users: Some(Attributes {
                core,
                extensions: HashSet::new(),
                required: Vec::new(),
            }),
            groups: None,
        }
    }

    #[test]
    fn only_what_a_target_declares_is_allowed() {
        let unknown = Declared::default();
        assert!(unknown.allows(Kind::User, "anything"));
        let d = Declared {
            users: Some(Attributes {
                core: ["username", "emails", "name"]
                    .map(|n| (n.to_string(), None))
                    .into(),
                extensions: ["urn:ietf:params:scim:schemas:extension:enterprise:2.0:user".to_string()].into(),
                required: Vec::new(),
            }),
            groups: None,
        };
        assert!(d.allows(Kind::User, "userName"));
        assert!(d.allows(Kind::User, r#"emails[type eq "work"].value"#));
        assert!(d.allows(Kind::User, "name.givenName"));
        assert!(!d.allows(Kind::User, "title"));
        assert!(d.allows(
            Kind::User,
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department"
        ));
        assert!(!d.allows(
            Kind::User,
            "urn:example:params:scim:schemas:extension:other:2.0:User:seat"
        ));
        assert!(d.allows(Kind::User, "urn:ietf:params:scim:schemas:core:2.0:User:userName"));
        assert!(!d.allows(Kind::User, "urn:ietf:params:scim:schemas:core:2.0:User:title"));
        assert!(
            d.allows(Kind::Group, "anything"),
            "groups: nothing declared, nothing left out"
        );
    }

    #[test]
    fn required_attributes_are_read_from_the_schema_and_checked_in_creates() {
        let types = [json!({"name": "User", "endpoint": "/Users", "schema": Kind::User.core_urn()})];
        let schemas = [json!({"id": Kind::User.core_urn(), "attributes": [
            {"name": "id", "required": true, "mutability": "readOnly"},
            {"name": "userName", "required": true},
            {"name": "name", "required": true, "subAttributes": [{"name": "familyName"}]},
            {"name": "title", "required": false},
            {"name": "created", "required": true, "mutability": "readOnly"},
        ]})];
        let d = Declared {
            users: declared_for(Kind::User, &types, &schemas),
            groups: None,
        };
        assert_eq!(d.users.as_ref().unwrap().required, ["userName", "name"]);
        let doc = json!({"UserName": "ann", "title": "x"});
        assert_eq!(d.missing(Kind::User, doc.as_object().unwrap()), ["name"]);
        assert!(d.missing(Kind::Group, doc.as_object().unwrap()).is_empty());
    }

    #[test]
    fn sub_attributes_are_checked_where_the_target_lists_them() {
        let d = emails_value_only();
        assert!(d.allows(Kind::User, "userName"));
        assert!(d.allows(Kind::User, r#"emails[type eq "work"].value"#));
        assert!(!d.allows(Kind::User, r#"emails[type eq "work"].display"#));
        assert!(d.allows(Kind::User, "name.givenName"));
        assert!(!d.allows(Kind::User, "name.formatted"));
        assert!(d.allows(
            Kind::User,
            "urn:ietf:params:scim:schemas:core:2.0:User:name.givenName"
        ));
        assert!(!d.allows(Kind::User, "title"));
        assert!(!d.allows(
            Kind::User,
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department"
        ));
        // Groups: nothing declared, nothing left out.
        assert!(d.allows(Kind::Group, "anything"));
    }

    #[test]
    fn an_element_selected_by_an_undeclared_sub_attribute_is_written_whole() {
        let d = emails_value_only();
        assert_eq!(
            d.unselectable(Kind::User, r#"emails[type eq "work"].value"#)
                .as_deref(),
            Some("emails")
        );
        assert_eq!(
            d.unselectable(Kind::User, r#"Emails[Type eq "work" and primary eq true].value"#)
                .as_deref(),
            Some("Emails")
        );
        assert_eq!(d.unselectable(Kind::User, "name.givenName"), None);
        assert_eq!(d.unselectable(Kind::User, "userName"), None);
        assert_eq!(
            Declared::default().unselectable(Kind::User, r#"emails[type eq "work"].value"#),
            None
        );
    }

    #[test]
    fn trimming_leaves_out_undeclared_sub_attributes_and_empty_elements() {
        let d = emails_value_only();
        let mut doc = json!({
            "userName": "ann",
            "emails": [{"type": "work", "value": "a@x"}, {"type": "home"}],
            "name": {"givenName": "Ann", "formatted": "Ann Lee"},
        })
        .as_object()
        .cloned()
        .unwrap();
        d.trim(Kind::User, &mut doc);
        assert_eq!(
            Value::Object(doc),
            json!({"userName": "ann", "emails": [{"value": "a@x"}], "name": {"givenName": "Ann"}})
        );
    }
}
