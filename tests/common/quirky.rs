//! A SCIM 2.0 service provider that bends the rules on request: compliant by default (filters,
//! paging, PATCH and PUT through the protocol crate), with one switch per misbehaviour seen in
//! real applications' endpoints. It records every write it receives, so a test can say which
//! accounts the engine touched. Served over real HTTP on a port of its own, in the test process.

use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use provisio::scim::schema::Kind;
use provisio::scim::{eval, filter, patch, resource};
use serde_json::{json, Map, Value};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

const TOKEN: &str = "quirky-secret-token";

/// The misbehaviours, each off by default.
#[derive(Debug, Clone, Default)]
pub struct Quirks {
    /// ServiceProviderConfig says `filter.supported: false`.
    pub filter_unsupported: bool,
    /// `filter` is ignored: every list answers with all resources (paged).
    pub ignores_filter: bool,
    /// Most resources per page, whatever `count` asks for (0: as asked, up to 1,000).
    pub page_size: usize,
    /// A PATCH with an operation on one of these attributes (or without a path) is answered
    /// 501 Not Implemented.
    pub patch_501_paths: Vec<&'static str>,
    /// Every create is refused with this status (0: creates work).
    pub create_status: u16,
    /// No PATCH at all: 501, whatever ServiceProviderConfig says.
    pub no_patch: bool,
    /// PUT is refused (405).
    pub no_put: bool,
    /// The first create of each resource is answered 500 without creating it.
    pub first_create_500: bool,
    /// `/Schemas` and `/ResourceTypes` declare only these User attributes (top-level names) and
    /// no extension, and a write with anything else is refused (400). None: neither endpoint
    /// exists (404) and anything goes.
    pub strict_user_schema: Option<Vec<&'static str>>,
    /// DELETE only deactivates (`active: false`); filtered lookups leave inactive accounts out,
    /// the plain listing shows them, and a create of the same name is a 409.
    pub soft_delete: bool,
    /// These User attributes are accepted and silently dropped.
    pub drops: Vec<&'static str>,
    /// DELETE is answered 204 and does nothing: the account stays, active.
    pub delete_ignored: bool,
    /// Takes 30 ms per request and answers 500 (`database is locked`) when more than this many
    /// requests are in flight at once (0: no limit).
    pub max_in_flight: usize,
    /// A list with `count` is answered 500; without it, pages of 3.
    pub count_refused: bool,
    /// A filtered list is answered 200 with no results (the filter is not evaluated).
    pub zero_for_filters: bool,
    /// Creates are not checked for a name already taken (no 409): duplicates are possible.
    pub duplicates_allowed: bool,
    /// A group created without members is refused (400).
    pub group_requires_members: bool,
    /// PATCH paths with a value filter (`members[value eq "id"]`) are refused (400, invalidPath).
    pub no_filtered_paths: bool,
    /// User attributes its `/Schemas` marks required (with `strict_user_schema`); a user
    /// created without one of them is refused (400).
    pub requires: Vec<&'static str>,
    /// A create of a user with one of these userNames is always answered 500 (that account's own
    /// problem, not load).
    pub fails_for: Vec<&'static str>,
    /// Groups name their members by userName: a group written with a member value that is not
    /// the userName of one of its users is refused (400).
    pub member_user_names: bool,
}

/// One write the target received.
#[derive(Debug, Clone)]
pub struct Write {
    pub method: &'static str,
    /// "Users/{id}" or "Users".
    pub path: String,
    pub body: Value,
}

#[derive(Default)]
struct Store {
    /// Names whose first create was refused (`first_create_500`).
    refused_once: std::collections::HashSet<String>,
    users: Vec<(String, Map<String, Value>)>,
    groups: Vec<(String, Map<String, Value>)>,
    writes: Vec<Write>,
    next: u64,
}

impl Store {
    fn list(&mut self, kind: Kind) -> &mut Vec<(String, Map<String, Value>)> {
        match kind {
            Kind::User => &mut self.users,
            Kind::Group => &mut self.groups,
        }
    }
}

struct Inner {
    quirks: Quirks,
    store: Mutex<Store>,
    in_flight: std::sync::atomic::AtomicUsize,
    /// Requests answered 500 for being one too many.
    refused_under_load: std::sync::atomic::AtomicUsize,
    /// GETs of `/Schemas` answered.
    schema_reads: std::sync::atomic::AtomicUsize,
}

/// `max_in_flight`: a slow application that fails when too many requests arrive together.
async fn under_load(
    State(t): State<Arc<Inner>>,
    req: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    use std::sync::atomic::Ordering;
    if t.quirks.max_in_flight == 0 {
        return next.run(req).await;
    }
    let now = t.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
    let response = if now > t.quirks.max_in_flight {
        t.refused_under_load.fetch_add(1, Ordering::SeqCst);
        tokio::time::sleep(std::time::Duration::from_millis(30)).await;
        error(StatusCode::INTERNAL_SERVER_ERROR, "database is locked")
    } else {
        tokio::time::sleep(std::time::Duration::from_millis(30)).await;
        next.run(req).await
    };
    t.in_flight.fetch_sub(1, Ordering::SeqCst);
    response
}

pub struct QuirkyTarget {
    pub url: String,
    pub token: String,
    inner: Arc<Inner>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for QuirkyTarget {
    fn drop(&mut self) {
        self.task.abort();
    }
}

fn kind_of(endpoint: &str) -> Option<Kind> {
    match endpoint {
        "Users" => Some(Kind::User),
        "Groups" => Some(Kind::Group),
        _ => None,
    }
}

fn rendered(kind: Kind, id: &str, doc: &Map<String, Value>) -> Value {
    let mut v = doc.clone();
    v.insert("id".into(), json!(id));
    v.insert("schemas".into(), json!([kind.core_urn()]));
    v.insert(
        "meta".into(),
        json!({"resourceType": kind.name(), "location": format!("/{}/{id}", kind.endpoint())}),
    );
    Value::Object(v)
}

fn error(status: StatusCode, detail: impl Into<String>) -> Response {
    let body = json!({
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:Error"],
        "status": status.as_u16().to_string(),
        "detail": detail.into(),
    });
    (status, Json(body)).into_response()
}

fn authorised(headers: &HeaderMap) -> bool {
    headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v == format!("Bearer {TOKEN}"))
}

async fn config(State(t): State<Arc<Inner>>) -> Json<Value> {
    Json(json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig"],
        "patch": {"supported": true},
        "bulk": {"supported": false, "maxOperations": 0, "maxPayloadSize": 0},
        "filter": {"supported": !t.quirks.filter_unsupported, "maxResults": 1000},
        "changePassword": {"supported": false},
        "sort": {"supported": false},
        "etag": {"supported": false},
        "authenticationSchemes": [],
    }))
}

async fn schemas(State(t): State<Arc<Inner>>) -> Response {
    t.schema_reads.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
    let Some(attrs) = &t.quirks.strict_user_schema else {
        return error(StatusCode::NOT_FOUND, "no schemas here");
    };
    let attribute = |n: &str| {
        let required = t.quirks.requires.iter().any(|r| r.eq_ignore_ascii_case(n));
        json!({"name": n, "type": "string", "multiValued": false, "required": required})
    };
    let user = json!({
        "id": Kind::User.core_urn(),
        "name": "User",
        "attributes": declared(attrs).into_iter().map(|(top, subs)| match subs {
            None => attribute(&top),
            Some(subs) => json!({
                "name": top, "type": "complex", "multiValued": top == "emails",
                "subAttributes": subs.iter().map(|s| attribute(s)).collect::<Vec<_>>(),
            }),
        }).collect::<Vec<_>>(),
    });
    let group = json!({
        "id": Kind::Group.core_urn(),
        "name": "Group",
        "attributes": [attribute("displayName"), attribute("members")],
    });
    Json(json!({"totalResults": 2, "Resources": [user, group]})).into_response()
}

/// `strict_user_schema`'s entries by attribute: `emails.value` declares `emails` with the
/// sub-attribute `value` (and no other); a plain name declares an attribute without any.
fn declared(list: &[&str]) -> Vec<(String, Option<Vec<String>>)> {
    let mut out: Vec<(String, Option<Vec<String>>)> = Vec::new();
    for entry in list {
        let (top, sub) = match entry.split_once('.') {
            Some((t, s)) => (t, Some(s.to_string())),
            None => (*entry, None),
        };
        match out.iter_mut().find(|(t, _)| t == top) {
            Some((_, subs)) => subs.get_or_insert_with(Vec::new).extend(sub),
            None => out.push((top.to_string(), sub.map(|s| vec![s]))),
        }
    }
    out
}

async fn resource_types(State(t): State<Arc<Inner>>) -> Response {
    if t.quirks.strict_user_schema.is_none() {
        return error(StatusCode::NOT_FOUND, "no resource types here");
    }
    Json(json!({"totalResults": 2, "Resources": [
        {"name": "User", "endpoint": "/Users", "schema": Kind::User.core_urn(), "schemaExtensions": []},
        {"name": "Group", "endpoint": "/Groups", "schema": Kind::Group.core_urn(), "schemaExtensions": []},
    ]}))
    .into_response()
}

/// The first attribute (or `attribute.sub`) of a user write that a strict schema does not
/// declare: in documents, in PATCH paths (their filters included) and in PATCH values.
fn undeclared(q: &Quirks, kind: Kind, body: &Value) -> Option<String> {
    let allowed = declared(q.strict_user_schema.as_ref().filter(|_| kind == Kind::User)?);
    let subs_of = |k: &str| -> Option<Option<&Vec<String>>> {
        if ["schemas", "id", "meta", "externalId"]
            .iter()
            .any(|a| a.eq_ignore_ascii_case(k))
        {
            return Some(None);
        }
        allowed
            .iter()
            .find(|(t, _)| t.eq_ignore_ascii_case(k))
            .map(|(_, s)| s.as_ref())
    };
    let sub_ok = |subs: &Vec<String>, s: &str| subs.iter().any(|x| x.eq_ignore_ascii_case(s));
    // An attribute with its value: the attribute and the keys of its complex values.
    let check = |k: &str, v: &Value| -> Option<String> {
        let Some(subs) = subs_of(k) else {
            return Some(k.to_string());
        };
        let subs = subs?;
        let items: Vec<&Value> = match v {
            Value::Array(a) => a.iter().collect(),
            other => vec![other],
        };
        items
            .iter()
            .filter_map(|i| i.as_object())
            .flat_map(|o| o.keys())
            .find(|key| !sub_ok(subs, key))
            .map(|key| format!("{k}.{key}"))
    };
    let document = |o: &Map<String, Value>| o.iter().find_map(|(k, v)| check(k, v));
    match body.get("Operations").and_then(Value::as_array) {
        Some(ops) => ops.iter().find_map(|op| match op["path"].as_str() {
            None => op["value"].as_object().and_then(document),
            Some(p) => {
                let top = p.split(['.', '[']).next().unwrap_or(p);
                let Some(subs) = subs_of(top) else {
                    return Some(top.to_string());
                };
                let subs = subs?;
                let rest = &p[top.len()..];
                let (filter, after) = match rest.strip_prefix('[').and_then(|r| r.split_once(']')) {
                    Some((f, a)) => (f, a),
                    None => ("", rest),
                };
                let named = filter
                    .split(" and ")
                    .filter_map(|c| c.split_whitespace().next())
                    .chain(after.strip_prefix('.'));
                for n in named {
                    if !sub_ok(subs, n) {
                        return Some(format!("{top}.{n}"));
                    }
                }
                check(top, &op["value"]).filter(|_| after.is_empty())
            }
        }),
        None => body.as_object().and_then(document),
    }
}

async fn list(
    State(t): State<Arc<Inner>>,
    Path(endpoint): Path<String>,
    Query(q): Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> Response {
    let Some(kind) = kind_of(&endpoint) else {
        return error(StatusCode::NOT_FOUND, "no such endpoint");
    };
    if !authorised(&headers) {
        return error(StatusCode::UNAUTHORIZED, "bad token");
    }
    if t.quirks.count_refused && q.contains_key("count") {
        return error(StatusCode::INTERNAL_SERVER_ERROR, "count is not supported");
    }
    if t.quirks.zero_for_filters && q.contains_key("filter") {
        return Json(json!({
            "schemas": ["urn:ietf:params:scim:api:messages:2.0:ListResponse"],
            "totalResults": 0, "startIndex": 1, "itemsPerPage": 0, "Resources": [],
        }))
        .into_response();
    }
    let selected = match q.get("filter").filter(|_| !t.quirks.ignores_filter) {
        Some(text) => match filter::parse(text) {
            Ok(f) => Some(f),
            Err(e) => return error(StatusCode::BAD_REQUEST, format!("invalid filter: {e}")),
        },
        None => None,
    };
    let mut store = t.store.lock().unwrap();
    let all: Vec<Value> = store
        .list(kind)
        .iter()
        .map(|(id, doc)| rendered(kind, id, doc))
        .filter(|r| selected.as_ref().is_none_or(|f| eval::matches(kind, f, r)))
        .filter(|r| !(t.quirks.soft_delete && selected.is_some() && r["active"] == false))
        .collect();
    let start = q
        .get("startIndex")
        .and_then(|s| s.parse::<usize>().ok())
        .unwrap_or(1)
        .max(1);
    let mut count = q
        .get("count")
        .and_then(|s| s.parse::<usize>().ok())
        .unwrap_or(100)
        .min(1000);
    if t.quirks.page_size > 0 {
        count = count.min(t.quirks.page_size);
    }
    let page: Vec<Value> = all.iter().skip(start - 1).take(count).cloned().collect();
    Json(json!({
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:ListResponse"],
        "totalResults": all.len(),
        "startIndex": start,
        "itemsPerPage": page.len(),
        "Resources": page,
    }))
    .into_response()
}

async fn create(
    State(t): State<Arc<Inner>>,
    Path(endpoint): Path<String>,
    headers: HeaderMap,
    Json(body): Json<Value>,
) -> Response {
    let Some(kind) = kind_of(&endpoint) else {
        return error(StatusCode::NOT_FOUND, "no such endpoint");
    };
    if !authorised(&headers) {
        return error(StatusCode::UNAUTHORIZED, "bad token");
    }
    if let Some(k) = undeclared(&t.quirks, kind, &body) {
        return error(StatusCode::BAD_REQUEST, format!("attribute {k} is not supported"));
    }
    if kind == Kind::User {
        if let Some(r) = t.quirks.requires.iter().find(|r| body.get(**r).is_none()) {
            return error(StatusCode::BAD_REQUEST, format!("{r} is required"));
        }
    }
    let no_members = body["members"].as_array().is_none_or(Vec::is_empty);
    if kind == Kind::Group && t.quirks.group_requires_members && no_members {
        return error(StatusCode::BAD_REQUEST, "a group needs at least one member");
    }
    let mut doc = match resource::normalize(kind, &body) {
        Ok(d) => d,
        Err(e) => return error(StatusCode::BAD_REQUEST, e.detail),
    };
    if kind == Kind::User {
        doc.retain(|k, _| !t.quirks.drops.iter().any(|d| d.eq_ignore_ascii_case(k)));
    }
    let mut store = t.store.lock().unwrap();
    if kind == Kind::Group && t.quirks.member_user_names {
        if let Some(v) = not_a_user_name(&store, &doc) {
            return error(StatusCode::BAD_REQUEST, format!("member {v} is not a user"));
        }
    }
    store.writes.push(Write {
        method: "POST",
        path: endpoint.clone(),
        body: body.clone(),
    });
    let key = format!(
        "{endpoint}/{}",
        body["userName"]
            .as_str()
            .or(body["displayName"].as_str())
            .unwrap_or("")
    );
    let user_name = body["userName"].as_str().unwrap_or_default();
    if kind == Kind::User
        && t.quirks
            .fails_for
            .iter()
            .any(|n| n.eq_ignore_ascii_case(user_name))
    {
        return error(StatusCode::INTERNAL_SERVER_ERROR, "cannot create this account");
    }
    if t.quirks.first_create_500 && store.refused_once.insert(key) {
        return error(StatusCode::INTERNAL_SERVER_ERROR, "something went wrong");
    }
    if t.quirks.create_status != 0 {
        let status = StatusCode::from_u16(t.quirks.create_status).unwrap();
        return error(status, "this application refuses the resource");
    }
    let unique = if kind == Kind::User {
        "userName"
    } else {
        "displayName"
    };
    let name = |d: &Map<String, Value>| d.get(unique).and_then(Value::as_str).map(str::to_lowercase);
    if !t.quirks.duplicates_allowed && store.list(kind).iter().any(|(_, d)| name(d) == name(&doc)) {
        return error(StatusCode::CONFLICT, format!("{unique} is taken"));
    }
    store.next += 1;
    let id = format!("q{}", store.next);
    store.list(kind).push((id.clone(), doc.clone()));
    (StatusCode::CREATED, Json(rendered(kind, &id, &doc))).into_response()
}

async fn one(
    State(t): State<Arc<Inner>>,
    Path((endpoint, id)): Path<(String, String)>,
    method: axum::http::Method,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Response {
    let Some(kind) = kind_of(&endpoint) else {
        return error(StatusCode::NOT_FOUND, "no such endpoint");
    };
    if !authorised(&headers) {
        return error(StatusCode::UNAUTHORIZED, "bad token");
    }
    let body: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    let mut store = t.store.lock().unwrap();
    let method_name: &'static str = match method.as_str() {
        "GET" => "GET",
        "PUT" => "PUT",
        "PATCH" => "PATCH",
        "DELETE" => "DELETE",
        _ => return error(StatusCode::METHOD_NOT_ALLOWED, "method not allowed"),
    };
    if method_name != "GET" {
        store.writes.push(Write {
            method: method_name,
            path: format!("{endpoint}/{id}"),
            body: body.clone(),
        });
    }
    let Some(pos) = store.list(kind).iter().position(|(i, _)| *i == id) else {
        return error(StatusCode::NOT_FOUND, format!("{id} not found"));
    };
    let doc = store.list(kind)[pos].1.clone();
    if method_name == "PUT" || method_name == "PATCH" {
        if let Some(k) = undeclared(&t.quirks, kind, &body) {
            return error(StatusCode::BAD_REQUEST, format!("attribute {k} is not supported"));
        }
    }
    let filtered = body["Operations"].as_array().is_some_and(|ops| {
        ops.iter()
            .any(|op| op["path"].as_str().is_some_and(|p| p.contains('[')))
    });
    if method_name == "PATCH" && t.quirks.no_filtered_paths && filtered {
        return error(
            StatusCode::BAD_REQUEST,
            "filters in PATCH paths are not supported",
        );
    }
    let new = match method_name {
        "GET" => return Json(rendered(kind, &id, &doc)).into_response(),
        "DELETE" if t.quirks.delete_ignored => return StatusCode::NO_CONTENT.into_response(),
        "DELETE" if t.quirks.soft_delete => {
            store.list(kind)[pos].1.insert("active".into(), json!(false));
            return StatusCode::NO_CONTENT.into_response();
        }
        "DELETE" => {
            store.list(kind).remove(pos);
            return StatusCode::NO_CONTENT.into_response();
        }
        "PUT" if t.quirks.no_put => return error(StatusCode::METHOD_NOT_ALLOWED, "PUT is not supported"),
        "PUT" => resource::normalize(kind, &body),
        "PATCH" if t.quirks.no_patch || refused_patch(&t.quirks, &body) => {
            return error(StatusCode::NOT_IMPLEMENTED, "this PATCH is not implemented");
        }
        _ => patch::parse_request(&body).and_then(|ops| patch::apply(kind, &doc, &ops)),
    };
    match new {
        Ok(mut new) => {
            if kind == Kind::User {
                // What was there before stays; what was sent for a dropped attribute does not.
                for d in &t.quirks.drops {
                    new.retain(|k, _| !k.eq_ignore_ascii_case(d));
                    if let Some((k, v)) = doc.iter().find(|(k, _)| k.eq_ignore_ascii_case(d)) {
                        new.insert(k.clone(), v.clone());
                    }
                }
            }
            if kind == Kind::Group && t.quirks.member_user_names {
                if let Some(v) = not_a_user_name(&store, &new) {
                    return error(StatusCode::BAD_REQUEST, format!("member {v} is not a user"));
                }
            }
            store.list(kind)[pos].1 = new.clone();
            Json(rendered(kind, &id, &new)).into_response()
        }
        Err(e) => error(
            StatusCode::from_u16(e.status).unwrap_or(StatusCode::BAD_REQUEST),
            e.detail,
        ),
    }
}

/// `member_user_names`: the first member value of a group that is not one of the users'
/// userNames.
fn not_a_user_name(store: &Store, group: &Map<String, Value>) -> Option<String> {
    let members = group.get("members")?.as_array()?;
    members.iter().filter_map(|m| m["value"].as_str()).find_map(|v| {
        let known = store.users.iter().any(|(_, u)| {
            u.get("userName")
                .and_then(Value::as_str)
                .is_some_and(|n| n.eq_ignore_ascii_case(v))
        });
        (!known).then(|| v.to_string())
    })
}

fn refused_patch(q: &Quirks, body: &Value) -> bool {
    let ops = body["Operations"].as_array().cloned().unwrap_or_default();
    ops.iter().any(|op| match op["path"].as_str() {
        Some(path) => q.patch_501_paths.iter().any(|p| path.eq_ignore_ascii_case(p)),
        None => op["value"].as_object().is_some_and(|v| {
            v.keys()
                .any(|k| q.patch_501_paths.iter().any(|p| k.eq_ignore_ascii_case(p)))
        }),
    })
}

impl QuirkyTarget {
    pub async fn start(quirks: Quirks) -> QuirkyTarget {
        let inner = Arc::new(Inner {
            quirks,
            store: Mutex::new(Store::default()),
            in_flight: Default::default(),
            refused_under_load: Default::default(),
            schema_reads: Default::default(),
        });
        let app = Router::new()
            .route("/scim/v2/ServiceProviderConfig", get(config))
            .route("/scim/v2/Schemas", get(schemas))
            .route("/scim/v2/ResourceTypes", get(resource_types))
            .route("/scim/v2/{endpoint}", get(list).post(create))
            .route(
                "/scim/v2/{endpoint}/{id}",
                get(one).put(one).patch(one).delete(one),
            )
            .layer(axum::middleware::from_fn_with_state(inner.clone(), under_load))
            .with_state(inner.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let task = tokio::spawn(async move {
            axum::serve(listener, app).await.ok();
        });
        QuirkyTarget {
            url: format!("http://127.0.0.1:{port}/scim/v2"),
            token: TOKEN.to_string(),
            inner,
            task,
        }
    }

    /// Puts an account there that Provisio did not create (another admin's, say); returns its id.
    pub fn seed(&self, kind: Kind, doc: Value) -> String {
        let doc = resource::normalize(kind, &doc).expect("a valid resource");
        let mut store = self.inner.store.lock().unwrap();
        store.next += 1;
        let id = format!("q{}", store.next);
        store.list(kind).push((id.clone(), doc));
        id
    }

    /// Requests answered 500 for arriving with too many others (`max_in_flight`).
    pub fn refused_under_load(&self) -> usize {
        self.inner
            .refused_under_load
            .load(std::sync::atomic::Ordering::SeqCst)
    }

    /// How many times `/Schemas` was read.
    pub fn schema_reads(&self) -> usize {
        self.inner.schema_reads.load(std::sync::atomic::Ordering::SeqCst)
    }

    /// Every write received so far.
    pub fn writes(&self) -> Vec<Write> {
        self.inner.store.lock().unwrap().writes.clone()
    }

    /// Every resource of `kind`, as the target renders it.
    pub fn all(&self, kind: Kind) -> Vec<Value> {
        let mut store = self.inner.store.lock().unwrap();
        store
            .list(kind)
            .iter()
            .map(|(id, doc)| rendered(kind, id, doc))
            .collect()
    }
}
