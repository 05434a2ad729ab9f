//! The resource operations behind the SCIM routes: create, read, replace, patch, delete, list.
//! Writes run one at a time per process (SQLite has one writer; queueing here instead of in
//! SQLite's busy handler keeps latency flat) and each in one transaction, so a failed request
//! changes nothing.

use super::query;
use crate::db::scim_resources::{self as store, Order, Stored, Table, UserCols};
use crate::db::{self, Pool};
use crate::scim::error::{ScimError, ScimResult, ScimType};
use crate::scim::eval;
use crate::scim::filter::{self, Filter};
use crate::scim::patch;
use crate::scim::resource::{self, AttrSel, Meta};
use crate::scim::schema::{self, Kind};
use serde_json::{json, Map, Value};
use std::collections::{HashMap, HashSet};

/// Process-wide state of the SCIM endpoint: the group-commit writer for user creates (started
/// with the first one), and how many resources a list may examine one by one.
pub struct Runtime {
    creates: std::sync::OnceLock<super::writer::Writer>,
    scan_limit: usize,
}

impl Default for Runtime {
    fn default() -> Self {
        Runtime::new(MAX_EXAMINED)
    }
}

impl Runtime {
    /// `scan_limit`: candidates a list whose filter the index does not answer may examine.
    pub fn new(scan_limit: usize) -> Self {
        Runtime {
            creates: std::sync::OnceLock::new(),
            scan_limit,
        }
    }

    fn creates(&self, pool: &Pool) -> &super::writer::Writer {
        self.creates
            .get_or_init(|| super::writer::Writer::start(pool.clone()))
    }
}

/// One request's view: the account, and the base URL it was addressed through.
pub struct Ctx<'a> {
    pub pool: &'a Pool,
    pub rt: &'a Runtime,
    pub account: &'a str,
    pub base: &'a str,
    /// The name of the API key making the request, recorded as the source of what it creates.
    pub source: &'a str,
}

fn table(kind: Kind) -> Table {
    match kind {
        Kind::User => Table::Users,
        Kind::Group => Table::Groups,
    }
}

pub fn internal(e: impl std::fmt::Display) -> ScimError {
    tracing::error!("SCIM storage error: {e}");
    ScimError::new(
        500,
        None,
        "the server could not complete the request; see its log",
    )
}

fn db_err(e: sqlx::Error) -> ScimError {
    internal(e)
}

fn not_found(kind: Kind, id: &str) -> ScimError {
    ScimError::not_found(format!("{} {id} not found", kind.name()))
}

/// The indexed columns of a user document.
fn user_cols(doc: &Map<String, Value>) -> UserCols {
    let s = |k: &str| doc.get(k).and_then(Value::as_str).map(str::to_string);
    let mut emails: Vec<String> = Vec::new();
    let mut primary = None;
    if let Some(Value::Array(items)) = doc.get("emails") {
        for e in items {
            if let Some(v) = e.get("value").and_then(Value::as_str) {
                let lower = eval::fold(v);
                if !emails.contains(&lower) {
                    emails.push(lower);
                }
                if primary.is_none() || e.get("primary") == Some(&Value::Bool(true)) {
                    primary = Some(v.to_string());
                }
            }
        }
    }
    UserCols {
        user_name: s("userName").unwrap_or_default(),
        external_id: s("externalId"),
        display_name: s("displayName"),
        primary_email: primary,
        active: doc.get("active").and_then(Value::as_bool),
        emails,
    }
}

pub fn location(ctx: &Ctx, kind: Kind, id: &str) -> String {
    format!("{}/{}/{id}", ctx.base, kind.endpoint())
}

fn render_one(ctx: &Ctx, kind: Kind, s: &Stored, computed: Option<Vec<Value>>) -> Value {
    resource::render(
        kind,
        &s.doc,
        &Meta {
            id: &s.id,
            created: &s.created,
            last_modified: &s.last_modified,
            version: s.version,
            location: location(ctx, kind, &s.id),
        },
        computed,
    )
}

/// Renders stored resources, computing `groups`/`members` only when `with_computed`.
async fn render_all(
    ctx: &Ctx<'_>,
    conn: &mut crate::db::Conn,
    kind: Kind,
    rows: &[Stored],
    with_computed: bool,
) -> ScimResult<Vec<Value>> {
    if !with_computed {
        return Ok(rows.iter().map(|s| render_one(ctx, kind, s, None)).collect());
    }
    let ids: Vec<String> = rows.iter().map(|s| s.id.clone()).collect();
    let mut computed: HashMap<String, Vec<Value>> = HashMap::new();
    match kind {
        Kind::User => {
            for (member, group, name) in store::groups_of(conn, &ids).await.map_err(db_err)? {
                computed.entry(member).or_default().push(json!({
                    "value": group,
                    "$ref": location(ctx, Kind::Group, &group),
                    "display": name,
                    "type": "direct",
                }));
            }
        }
        Kind::Group => {
            for m in store::members_of(conn, &ids).await.map_err(db_err)? {
                let member_kind = if m.member_type == "Group" {
                    Kind::Group
                } else {
                    Kind::User
                };
                let mut v = json!({
                    "value": m.member_id,
                    "$ref": location(ctx, member_kind, &m.member_id),
                    "type": m.member_type,
                });
                // The display the client sent: Okta sends one, Entra none; tools that compare
                // what they wrote with what they read expect it back unchanged.
                if let Some(d) = m.client_display {
                    v["display"] = Value::String(d);
                }
                computed.entry(m.group_id).or_default().push(v);
            }
        }
    }
    Ok(rows
        .iter()
        .map(|s| render_one(ctx, kind, s, Some(computed.remove(&s.id).unwrap_or_default())))
        .collect())
}

/// A resource as the client sees it, with its ETag.
pub struct Rendered {
    pub body: Value,
    pub version: i64,
    pub id: String,
}

#[allow(clippy::expect_used, reason = "render_all returns one document per row")]
async fn load(ctx: &Ctx<'_>, conn: &mut crate::db::Conn, kind: Kind, id: &str) -> ScimResult<Rendered> {
    let s = store::get(conn, table(kind), ctx.account, id)
        .await
        .map_err(db_err)?
        .ok_or_else(|| not_found(kind, id))?;
    let body = render_all(ctx, conn, kind, std::slice::from_ref(&s), true)
        .await?
        .pop()
        .expect("one row in, one out");
    Ok(Rendered {
        body,
        version: s.version,
        id: s.id,
    })
}

pub async fn get(ctx: &Ctx<'_>, kind: Kind, id: &str) -> ScimResult<Rendered> {
    let mut conn = ctx.pool.acquire().await.map_err(db_err)?;
    load(ctx, &mut conn, kind, id).await
}

/// `If-Match` (RFC 7644 section 3.14): `*` or one of the listed ETags must match.
pub fn check_if_match(if_match: Option<&str>, version: i64) -> ScimResult<()> {
    let Some(header) = if_match else { return Ok(()) };
    let current = resource::etag(version);
    let ok = header
        .split(',')
        .map(str::trim)
        .any(|t| t == "*" || t == current || t.trim_start_matches("W/") == current.trim_start_matches("W/"));
    if ok {
        Ok(())
    } else {
        Err(ScimError::new(
            412,
            None,
            format!("the resource has changed: its version is now {current}"),
        ))
    }
}

fn uniqueness(e: sqlx::Error, user_name: &str) -> ScimError {
    if db::is_unique_violation(&e) {
        ScimError::uniqueness(format!("userName {user_name:?} is already taken in this account"))
    } else {
        db_err(e)
    }
}

/// The indexed columns of a group document: displayName and externalId.
fn group_cols(doc: &Map<String, Value>) -> store::GroupCols {
    let s = |k: &str| doc.get(k).and_then(Value::as_str).map(str::to_string);
    store::GroupCols {
        display_name: s("displayName").unwrap_or_default(),
        external_id: s("externalId"),
    }
}

/// A member as a request names it: id and the optional display the client sent.
#[derive(Debug, Clone, PartialEq)]
struct Member {
    id: String,
    display: Option<String>,
    /// "User" or "Group", known for stored members.
    kind: Option<String>,
}

/// Splits a group document into the stored document and its members (first mention of an id
/// wins).
fn take_members(doc: &mut Map<String, Value>) -> Option<Vec<Member>> {
    let members = doc.remove("members")?;
    let mut out: Vec<Member> = Vec::new();
    let mut seen: HashSet<&str> = HashSet::new();
    for m in members.as_array().into_iter().flatten() {
        let Some(id) = m.get("value").and_then(Value::as_str) else {
            continue;
        };
        if !seen.insert(id) {
            continue;
        }
        out.push(Member {
            id: id.to_string(),
            display: m.get("display").and_then(Value::as_str).map(str::to_string),
            kind: None,
        });
    }
    Some(out)
}

/// Checks that every member exists in the account and returns (id, type) pairs.
async fn resolve_members(
    ctx: &Ctx<'_>,
    conn: &mut crate::db::Conn,
    group_id: &str,
    ids: &[String],
) -> ScimResult<Vec<(String, String)>> {
    if ids.iter().any(|m| m == group_id) {
        return Err(ScimError::invalid_value("a group cannot be a member of itself"));
    }
    let found = store::resolve_members(conn, ctx.account, ids)
        .await
        .map_err(db_err)?;
    if found.len() < ids.len() {
        let known: HashSet<&str> = found.iter().map(|(id, _)| id.as_str()).collect();
        let missing: Vec<&str> = ids
            .iter()
            .map(String::as_str)
            .filter(|i| !known.contains(i))
            .take(5)
            .collect();
        return Err(ScimError::invalid_value(format!(
            "members must be users or groups of this account; not found: {}",
            missing.join(", ")
        )));
    }
    Ok(found)
}

/// A user create handed to the group-commit writer, waiting for its commit.
pub struct PendingUser {
    id: String,
    doc: Map<String, Value>,
    user_name: String,
    now: String,
    outcome: tokio::sync::oneshot::Receiver<super::writer::Outcome>,
}

/// Validates a user and queues its insert; [`finish_user`] waits for the commit. Several users
/// submitted before any is finished are committed together (a Bulk request's creates).
pub async fn submit_user(ctx: &Ctx<'_>, body: &Value) -> ScimResult<PendingUser> {
    let doc = resource::normalize(Kind::User, body)?;
    resource::validate_required(Kind::User, &doc)?;
    let id = crate::ids::new();
    let now = crate::timefmt::now();
    let cols = user_cols(&doc);
    let user_name = cols.user_name.clone();
    let job = super::writer::CreateUser {
        account: ctx.account.to_string(),
        id: id.clone(),
        cols,
        doc: Value::Object(doc.clone()).to_string(),
        now: now.clone(),
        source: ctx.source.to_string(),
    };
    let outcome = ctx.rt.creates(ctx.pool).submit(job).await;
    Ok(PendingUser {
        id,
        doc,
        user_name,
        now,
        outcome,
    })
}

pub async fn finish_user(ctx: &Ctx<'_>, p: PendingUser) -> ScimResult<Rendered> {
    use super::writer::Outcome;
    let outcome = p
        .outcome
        .await
        .unwrap_or_else(|_| Outcome::Failed("the writer has stopped".into()));
    match outcome {
        Outcome::Created => {}
        Outcome::Duplicate => {
            return Err(ScimError::uniqueness(format!(
                "userName {:?} is already taken in this account",
                p.user_name
            )))
        }
        Outcome::Failed(e) => return Err(internal(e)),
    }
    // A new user belongs to no group yet: render it without reading it back.
    let stored = Stored {
        id: p.id.clone(),
        doc: p.doc,
        version: 1,
        created: p.now.clone(),
        last_modified: p.now,
    };
    Ok(Rendered {
        body: render_one(ctx, Kind::User, &stored, Some(Vec::new())),
        version: 1,
        id: p.id,
    })
}

pub async fn create(ctx: &Ctx<'_>, kind: Kind, body: &Value) -> ScimResult<Rendered> {
    if kind == Kind::User {
        let pending = submit_user(ctx, body).await?;
        return finish_user(ctx, pending).await;
    }
    let mut doc = resource::normalize(kind, body)?;
    resource::validate_required(kind, &doc)?;
    let id = crate::ids::new();
    let now = crate::timefmt::now();
    let mut tx = begin_write(ctx).await?;
    // Groups.
    let members = take_members(&mut doc).unwrap_or_default();
    let ids: Vec<String> = members.iter().map(|m| m.id.clone()).collect();
    let types: HashMap<String, String> = resolve_members(ctx, &mut tx, &id, &ids)
        .await?
        .into_iter()
        .collect();
    let cols = group_cols(&doc);
    store::insert_group(
        &mut tx,
        ctx.account,
        &id,
        &cols,
        &Value::Object(doc).to_string(),
        &now,
        ctx.source,
    )
    .await
    .map_err(db_err)?;
    for m in &members {
        store::add_member(&mut tx, &id, &m.id, &types[&m.id], m.display.as_deref())
            .await
            .map_err(db_err)?;
    }
    let out = load(ctx, &mut tx, kind, &id).await?;
    tx.commit().await.map_err(db_err)?;
    Ok(out)
}

type WriteTx = crate::db::WriteTx;

async fn begin_write(ctx: &Ctx<'_>) -> ScimResult<WriteTx> {
    crate::db::begin(ctx.pool).await.map_err(db_err)
}

/// Starts a write to an existing resource: it must exist and match `If-Match`.
async fn begin_change(
    ctx: &Ctx<'_>,
    kind: Kind,
    id: &str,
    if_match: Option<&str>,
) -> ScimResult<(WriteTx, Stored)> {
    let mut tx = begin_write(ctx).await?;
    let current = store::get(&mut tx, table(kind), ctx.account, id)
        .await
        .map_err(db_err)?
        .ok_or_else(|| not_found(kind, id))?;
    check_if_match(if_match, current.version)?;
    Ok((tx, current))
}

/// Stores a changed document (and member changes for a group); `members` is the new member set,
/// or `None` when membership is untouched.
async fn store_update(
    ctx: &Ctx<'_>,
    tx: &mut crate::db::Conn,
    kind: Kind,
    id: &str,
    mut doc: Map<String, Value>,
    old_members: &[Member],
    members: Option<Vec<Member>>,
) -> ScimResult<()> {
    let now = crate::timefmt::now();
    match kind {
        Kind::User => {
            let cols = user_cols(&doc);
            store::update_user(tx, ctx.account, id, &cols, &Value::Object(doc).to_string(), &now)
                .await
                .map_err(|e| uniqueness(e, &cols.user_name))?;
        }
        Kind::Group => {
            doc.remove("members");
            if let Some(new) = members {
                let old: HashMap<&str, &Member> = old_members.iter().map(|m| (m.id.as_str(), m)).collect();
                let new_ids: HashSet<&str> = new.iter().map(|m| m.id.as_str()).collect();
                let added: Vec<String> = new
                    .iter()
                    .filter(|m| !old.contains_key(m.id.as_str()))
                    .map(|m| m.id.clone())
                    .collect();
                let types: HashMap<String, String> =
                    resolve_members(ctx, tx, id, &added).await?.into_iter().collect();
                for m in &new {
                    let t = match old.get(m.id.as_str()) {
                        None => types[&m.id].clone(),
                        Some(o) if o.display != m.display => o.kind.clone().unwrap_or_else(|| "User".into()),
                        Some(_) => continue,
                    };
                    store::add_member(tx, id, &m.id, &t, m.display.as_deref())
                        .await
                        .map_err(db_err)?;
                }
                for m in old_members.iter().filter(|m| !new_ids.contains(m.id.as_str())) {
                    store::remove_member(tx, id, &m.id).await.map_err(db_err)?;
                }
            }
            let cols = group_cols(&doc);
            store::update_group(tx, ctx.account, id, &cols, &Value::Object(doc).to_string(), &now)
                .await
                .map_err(db_err)?;
        }
    }
    Ok(())
}

async fn stored_members(tx: &mut crate::db::Conn, id: &str) -> ScimResult<Vec<Member>> {
    Ok(store::members_of(tx, &[id.to_string()])
        .await
        .map_err(db_err)?
        .into_iter()
        .map(|m| Member {
            id: m.member_id,
            display: m.client_display,
            kind: Some(m.member_type),
        })
        .collect())
}

/// PUT: replaces every client-writable attribute. A Group's members are replaced when the body
/// has `members` and kept when it has none: a rename must never empty a group by accident.
pub async fn replace(
    ctx: &Ctx<'_>,
    kind: Kind,
    id: &str,
    body: &Value,
    if_match: Option<&str>,
) -> ScimResult<Rendered> {
    let mut doc = resource::normalize(kind, body)?;
    resource::validate_required(kind, &doc)?;
    let has_members = kind == Kind::Group
        && body
            .as_object()
            .is_some_and(|o| resource::get_ci(o, "members").is_some());
    let members = if has_members {
        Some(take_members(&mut doc).unwrap_or_default())
    } else {
        None
    };
    let (mut tx, _current) = begin_change(ctx, kind, id, if_match).await?;
    let old_members = if kind == Kind::Group {
        stored_members(&mut tx, id).await?
    } else {
        Vec::new()
    };
    store_update(ctx, &mut tx, kind, id, doc, &old_members, members).await?;
    let out = load(ctx, &mut tx, kind, id).await?;
    tx.commit().await.map_err(db_err)?;
    Ok(out)
}

/// PATCH. Returns the resource after the change; nothing is written when the operations leave
/// it as it was (Entra re-sends `active=true` on every cycle).
pub async fn patch(
    ctx: &Ctx<'_>,
    kind: Kind,
    id: &str,
    body: &Value,
    if_match: Option<&str>,
) -> ScimResult<Rendered> {
    let (mut tx, _) = apply_patch(ctx, kind, id, body, if_match).await?;
    let out = load(ctx, &mut tx, kind, id).await?;
    tx.commit().await.map_err(db_err)?;
    Ok(out)
}

/// PATCH answered without the resource (a group's 204): only its version after the change, so
/// a large group's members are not read back for every membership change.
pub async fn patch_version(
    ctx: &Ctx<'_>,
    kind: Kind,
    id: &str,
    body: &Value,
    if_match: Option<&str>,
) -> ScimResult<i64> {
    let (tx, version) = apply_patch(ctx, kind, id, body, if_match).await?;
    tx.commit().await.map_err(db_err)?;
    Ok(version)
}

/// Applies a PATCH in a write transaction, returned open for the answer to be read, with the
/// resource's version after it (a write moves it on by one).
async fn apply_patch(
    ctx: &Ctx<'_>,
    kind: Kind,
    id: &str,
    body: &Value,
    if_match: Option<&str>,
) -> ScimResult<(WriteTx, i64)> {
    let ops = patch::parse_request(body)?;
    let (mut tx, current) = begin_change(ctx, kind, id, if_match).await?;
    if kind == Kind::Group {
        if let Some(changes) = member_changes(&ops) {
            let changed = change_members(ctx, &mut tx, id, changes).await?;
            return Ok((tx, current.version + i64::from(changed)));
        }
    }
    let mut doc = current.doc.clone();
    let old_members = if kind == Kind::Group {
        let members = stored_members(&mut tx, id).await?;
        if !members.is_empty() {
            let items = members
                .iter()
                .map(|m| match &m.display {
                    Some(d) => json!({"value": m.id, "display": d}),
                    None => json!({"value": m.id}),
                })
                .collect();
            doc.insert("members".into(), Value::Array(items));
        }
        members
    } else {
        Vec::new()
    };
    let mut new_doc = patch::apply(kind, &doc, &ops)?;
    let new_members = if kind == Kind::Group {
        take_members(&mut new_doc).or(Some(Vec::new()))
    } else {
        None
    };
    let key = |m: &Member| (m.id.clone(), m.display.clone());
    let members_changed = new_members.as_ref().is_some_and(|m| {
        m.len() != old_members.len()
            || m.iter().map(key).collect::<HashSet<_>>()
                != old_members.iter().map(key).collect::<HashSet<_>>()
    });
    let changed = new_doc != current.doc || members_changed;
    if changed {
        store_update(
            ctx,
            &mut tx,
            kind,
            id,
            new_doc,
            &old_members,
            if members_changed { new_members } else { None },
        )
        .await?;
    }
    Ok((tx, current.version + i64::from(changed)))
}

/// A membership change in the shapes identity providers send for groups: Entra's `add` and
/// `remove` with `path: members` and values, Okta's `remove` of `members[value eq "id"]`.
enum MemberChange {
    Add(Vec<Member>),
    Remove(Vec<String>),
}

/// The operations as membership changes, when every one of them is one; otherwise (a rename,
/// a `replace` of all members, a filter of another shape) the general path applies them.
fn member_changes(ops: &[patch::Op]) -> Option<Vec<MemberChange>> {
    ops.iter().map(member_change).collect()
}

fn member_change(op: &patch::Op) -> Option<MemberChange> {
    let p = op.path.as_ref()?;
    let core = match &p.attr.urn {
        None => true,
        Some(u) => u.eq_ignore_ascii_case(Kind::Group.core_urn()),
    };
    if !core || !p.attr.attr.eq_ignore_ascii_case("members") || p.attr.sub.is_some() || p.sub.is_some() {
        return None;
    }
    match (op.kind, &p.filter, &op.value) {
        (patch::OpKind::Add, None, Some(v)) => member_values(v).map(MemberChange::Add),
        (patch::OpKind::Remove, None, Some(v)) => {
            member_values(v).map(|list| MemberChange::Remove(list.into_iter().map(|m| m.id).collect()))
        }
        (
            patch::OpKind::Remove,
            Some(Filter::Compare(a, filter::CompareOp::Eq, filter::CompValue::Str(id))),
            None,
        ) if a.urn.is_none() && a.sub.is_none() && a.attr.eq_ignore_ascii_case("value") => {
            Some(MemberChange::Remove(vec![id.clone()]))
        }
        _ => None,
    }
}

/// `[{"value": id, "display": ...}, ...]` (or one such object) as members.
fn member_values(v: &Value) -> Option<Vec<Member>> {
    let items: Vec<&Value> = match v {
        Value::Array(a) => a.iter().collect(),
        Value::Object(_) => vec![v],
        _ => return None,
    };
    items
        .into_iter()
        .map(|m| {
            let obj = m.as_object()?;
            let id = resource::get_ci(obj, "value")?.as_str()?;
            let display = match resource::get_ci(obj, "display") {
                None | Some(Value::Null) => None,
                Some(Value::String(d)) => Some(d.clone()),
                Some(_) => return None,
            };
            Some(Member {
                id: id.to_string(),
                display,
                kind: None,
            })
        })
        .collect()
}

/// Applies membership changes to the member rows they name, as the general path would: an added
/// member must exist (and not be the group), adding one already there only updates a display
/// sent with it, removing one that is not there is no change. The group gets a new version when
/// anything changed (the result).
async fn change_members(
    ctx: &Ctx<'_>,
    tx: &mut crate::db::Conn,
    id: &str,
    changes: Vec<MemberChange>,
) -> ScimResult<bool> {
    let mut changed = false;
    for change in changes {
        match change {
            MemberChange::Add(list) => {
                let mut wanted: Vec<Member> = Vec::with_capacity(list.len());
                let mut at: HashMap<String, usize> = HashMap::new();
                for m in list {
                    match at.get(&m.id) {
                        Some(&i) => {
                            if m.display.is_some() {
                                wanted[i].display = m.display;
                            }
                        }
                        None => {
                            at.insert(m.id.clone(), wanted.len());
                            wanted.push(m);
                        }
                    }
                }
                let ids: Vec<String> = wanted.iter().map(|m| m.id.clone()).collect();
                let present: HashMap<String, Option<String>> = store::members_among(tx, id, &ids)
                    .await
                    .map_err(db_err)?
                    .into_iter()
                    .collect();
                let added: Vec<String> = ids.into_iter().filter(|m| !present.contains_key(m)).collect();
                let types: HashMap<String, String> =
                    resolve_members(ctx, tx, id, &added).await?.into_iter().collect();
                for m in &wanted {
                    match present.get(&m.id) {
                        None => {
                            store::add_member(tx, id, &m.id, &types[&m.id], m.display.as_deref())
                                .await
                                .map_err(db_err)?;
                            changed = true;
                        }
                        Some(old) if m.display.is_some() && *old != m.display => {
                            store::set_member_display(tx, id, &m.id, m.display.as_deref())
                                .await
                                .map_err(db_err)?;
                            changed = true;
                        }
                        Some(_) => {}
                    }
                }
            }
            MemberChange::Remove(ids) => {
                for m in ids {
                    changed |= store::remove_member(tx, id, &m).await.map_err(db_err)?;
                }
            }
        }
    }
    if changed {
        store::touch_group(tx, ctx.account, id, &crate::timefmt::now())
            .await
            .map_err(db_err)?;
    }
    Ok(changed)
}

pub async fn delete(ctx: &Ctx<'_>, kind: Kind, id: &str, if_match: Option<&str>) -> ScimResult<()> {
    let (mut tx, _current) = begin_change(ctx, kind, id, if_match).await?;
    store::delete(&mut tx, table(kind), ctx.account, id)
        .await
        .map_err(db_err)?;
    tx.commit().await.map_err(db_err)?;
    Ok(())
}

/// List parameters from a query string or a SearchRequest body.
#[derive(Debug, Default)]
pub struct ListParams {
    pub filter: Option<String>,
    pub sort_by: Option<String>,
    pub descending: bool,
    pub start_index: i64,
    pub count: Option<i64>,
    pub attributes: Vec<AttrSel>,
    pub excluded: Vec<AttrSel>,
}

fn int_param(name: &str, v: &Value) -> ScimResult<i64> {
    let n = match v {
        Value::Number(n) => n.as_i64().or_else(|| n.as_f64().map(|f| f as i64)),
        Value::String(s) => s.trim().parse::<i64>().ok(),
        _ => None,
    };
    n.ok_or_else(|| ScimError::invalid_value(format!("{name} must be an integer")))
}

impl ListParams {
    /// From query parameters (names case-insensitive; unknown ones such as Entra's
    /// `aadOptscim062020` ignored).
    pub fn from_query(pairs: &[(String, String)]) -> ScimResult<ListParams> {
        let mut body = Map::new();
        for (k, v) in pairs {
            body.insert(k.clone(), Value::String(v.clone()));
        }
        Self::from_body(&Value::Object(body))
    }

    pub fn from_body(body: &Value) -> ScimResult<ListParams> {
        let obj = body.as_object().ok_or_else(|| {
            ScimError::bad(ScimType::InvalidSyntax, "a search request must be a JSON object")
        })?;
        let get = |k: &str| resource::get_ci(obj, k).filter(|v| !v.is_null());
        let text = |k: &str| -> ScimResult<Option<String>> {
            match get(k) {
                None => Ok(None),
                Some(Value::String(s)) => Ok(Some(s.clone())),
                Some(_) => Err(ScimError::invalid_value(format!("{k} must be a string"))),
            }
        };
        let list = |k: &str| -> ScimResult<Vec<AttrSel>> {
            match get(k) {
                None => Ok(Vec::new()),
                Some(Value::String(s)) => AttrSel::parse_list(s),
                Some(Value::Array(items)) => {
                    let joined: Vec<&str> = items.iter().filter_map(Value::as_str).collect();
                    AttrSel::parse_list(&joined.join(","))
                }
                Some(_) => Err(ScimError::invalid_value(format!(
                    "{k} must be a list of attribute names"
                ))),
            }
        };
        let descending = match text("sortOrder")?.map(|s| s.to_ascii_lowercase()) {
            None => false,
            Some(s) if s == "ascending" || s.is_empty() => false,
            Some(s) if s == "descending" => true,
            Some(_) => {
                return Err(ScimError::invalid_value(
                    "sortOrder must be ascending or descending",
                ))
            }
        };
        Ok(ListParams {
            filter: text("filter")?.filter(|f| !f.trim().is_empty()),
            sort_by: text("sortBy")?.filter(|s| !s.trim().is_empty()),
            descending,
            start_index: match get("startIndex") {
                Some(v) => int_param("startIndex", v)?.max(1),
                None => 1,
            },
            count: get("count").map(|v| int_param("count", v)).transpose()?,
            attributes: list("attributes")?,
            excluded: list("excludedAttributes")?,
        })
    }

    fn page_size(&self) -> usize {
        match self.count {
            Some(c) => c.clamp(0, schema::MAX_RESULTS as i64) as usize,
            None => schema::DEFAULT_COUNT,
        }
    }
}

pub fn parse_filter(s: &str) -> ScimResult<Filter> {
    filter::parse(s).map_err(|e| {
        let t = if e.message.contains("longer than") || e.message.contains("nested more than") {
            ScimType::TooMany
        } else {
            ScimType::InvalidFilter
        };
        ScimError::bad(t, format!("the filter is not valid: {e}"))
    })
}

pub struct Page {
    pub total: usize,
    pub start_index: i64,
    pub resources: Vec<Value>,
}

impl Page {
    pub fn body(&self) -> Value {
        json!({
            "schemas": [schema::LIST_RESPONSE],
            "totalResults": self.total,
            "startIndex": self.start_index,
            "itemsPerPage": self.resources.len(),
            "Resources": self.resources,
        })
    }
}

/// Lists resources: SQL does the filtering, ordering and paging when the filter translates
/// exactly; otherwise the candidates stream through the evaluator and only the page is kept.
pub async fn list(ctx: &Ctx<'_>, kind: Kind, p: &ListParams) -> ScimResult<Page> {
    let filter = p.filter.as_deref().map(parse_filter).transpose()?;
    let sort_path = match &p.sort_by {
        Some(s) => Some(
            filter::parse_attr_path(s.trim())
                .ok_or_else(|| ScimError::invalid_value(format!("sortBy {s:?} is not an attribute name")))?,
        ),
        None => None,
    };
    let plan = match &filter {
        Some(f) => query::plan(kind, f),
        None => query::Plan {
            cond: None,
            exact: true,
        },
    };
    let computed_name = if kind == Kind::User { "groups" } else { "members" };
    let want_computed = resource::wants(kind, &p.attributes, &p.excluded, computed_name);
    let size = p.page_size();
    let offset = (p.start_index - 1) as usize;
    let sql_order = query::order(kind, sort_path.as_ref(), p.descending);
    let t = table(kind);

    let (total, mut resources) = match (plan.exact, sql_order) {
        (true, Some(order)) => {
            let mut conn = ctx.pool.acquire().await.map_err(db_err)?;
            let rows = if size == 0 {
                Vec::new()
            } else {
                candidates(&mut conn, ctx, t, &plan, Some(order), size, offset).await?
            };
            // A first page that is not full is everything there is (every lookup by userName or
            // externalId): no need to count.
            let total = if offset == 0 && size > 0 && rows.len() < size {
                rows.len()
            } else {
                store::count(&mut conn, t, ctx.account, plan.cond.as_ref())
                    .await
                    .map_err(db_err)? as usize
            };
            (
                total,
                render_all(ctx, &mut conn, kind, &rows, want_computed).await?,
            )
        }
        (_, order) => {
            scan(
                ctx,
                kind,
                p,
                filter.as_ref(),
                &plan,
                order,
                sort_path.as_ref(),
                want_computed,
            )
            .await?
        }
    };
    for r in resources.iter_mut() {
        if !want_computed {
            if let Some(o) = r.as_object_mut() {
                o.remove(computed_name);
            }
        }
        resource::project(kind, r, &p.attributes, &p.excluded);
    }
    Ok(Page {
        total,
        start_index: p.start_index,
        resources,
    })
}

/// Candidates a list may examine in Rust when its filter is not answered by the index, by default
/// (`serve --scim-scan-limit`); past it the request gets `400 tooMany` (RFC 7644 3.12) asking for a
/// narrower filter.
pub const MAX_EXAMINED: usize = 100_000;
/// Matches a `sortBy` the index cannot order may sort in memory.
pub const MAX_SORTED: usize = 10_000;
/// Candidates read and rendered per step of a scan, each step on a connection of its own.
const SCAN_CHUNK: usize = 500;
/// Scans (lists not answered by the index) running at once, server-wide: each keeps a core busy
/// and a connection for a moment at a time, so lookups, the console and the engine keep theirs.
const CONCURRENT_SCANS: usize = 2;
static SCANS: tokio::sync::Semaphore = tokio::sync::Semaphore::const_new(CONCURRENT_SCANS);
const SCAN_WAIT: std::time::Duration = std::time::Duration::from_secs(30);

/// The candidates of a scan from `offset` on, at most `limit`, in the scan's order.
async fn candidates(
    conn: &mut crate::db::Conn,
    ctx: &Ctx<'_>,
    t: Table,
    plan: &query::Plan,
    order: Option<Order>,
    limit: usize,
    offset: usize,
) -> ScimResult<Vec<Stored>> {
    let order = order.unwrap_or(Order::STABLE);
    store::page(
        conn,
        t,
        ctx.account,
        plan.cond.as_ref(),
        order,
        limit as i64,
        offset as i64,
    )
    .await
    .map_err(db_err)
}

fn too_many(what: String) -> ScimError {
    ScimError::bad(
        crate::scim::error::ScimType::TooMany,
        format!(
            "{what}; narrow the filter with an attribute the server indexes \
             (id, userName, externalId, displayName, active, meta.created, meta.lastModified)"
        ),
    )
}

/// A list whose filter (or sortBy) the index does not answer exactly: candidates are read a chunk
/// at a time, evaluated, and only the page is kept (or, for an in-memory sort, the matches up to
/// [`MAX_SORTED`]); at most [`MAX_EXAMINED`] candidates.
#[allow(clippy::too_many_arguments)]
async fn scan(
    ctx: &Ctx<'_>,
    kind: Kind,
    p: &ListParams,
    filter: Option<&crate::scim::filter::Filter>,
    plan: &query::Plan,
    order: Option<Order>,
    sort_path: Option<&crate::scim::filter::AttrPath>,
    want_computed: bool,
) -> ScimResult<(usize, Vec<Value>)> {
    let _turn = tokio::time::timeout(SCAN_WAIT, SCANS.acquire())
        .await
        .map_err(|_| {
            ScimError::new(
                503,
                None,
                "the server is busy answering other filters it cannot look up in its index; retry later",
            )
        })?
        .map_err(|_| ScimError::new(503, None, "the server is shutting down"))?;
    let computed_name = if kind == Kind::User { "groups" } else { "members" };
    let filter_needs_computed = filter.is_some_and(|f| query::mentions(f, computed_name));
    let size = p.page_size();
    let offset = (p.start_index - 1) as usize;
    let t = table(kind);
    let mut matched: Vec<Value> = Vec::new();
    let mut total = 0usize;
    let mut examined = 0usize;
    loop {
        let chunk = {
            let mut conn = ctx.pool.acquire().await.map_err(db_err)?;
            let rows = candidates(&mut conn, ctx, t, plan, order, SCAN_CHUNK, examined).await?;
            render_all(
                ctx,
                &mut conn,
                kind,
                &rows,
                filter_needs_computed || want_computed,
            )
            .await?
        };
        examined += chunk.len();
        let last = chunk.len() < SCAN_CHUNK;
        for r in chunk {
            if filter.is_none_or(|f| eval::matches(kind, f, &r)) {
                // With an SQL order only the page is kept; a Rust sort needs every match.
                if order.is_some() {
                    if total >= offset && matched.len() < size {
                        matched.push(r);
                    }
                } else if matched.len() < MAX_SORTED {
                    matched.push(r);
                } else {
                    return Err(too_many(format!(
                        "more than {MAX_SORTED} resources match, too many to sort by an attribute the index does not order"
                    )));
                }
                total += 1;
            }
        }
        if last {
            break;
        }
        // A scan that read exactly the limit may be complete: it is only too many if more follow.
        if examined >= ctx.rt.scan_limit && {
            let mut conn = ctx.pool.acquire().await.map_err(db_err)?;
            !candidates(&mut conn, ctx, t, plan, order, 1, examined)
                .await?
                .is_empty()
        } {
            return Err(too_many(format!(
                "the filter would have the server examine more than {} resources one by one",
                ctx.rt.scan_limit
            )));
        }
    }
    if let (None, Some(path)) = (order, sort_path) {
        let mut keyed: Vec<(Option<eval::SortKey>, Value)> = matched
            .into_iter()
            .map(|r| (eval::sort_key(kind, path, &r), r))
            .collect();
        keyed.sort_by(|(a, _), (b, _)| match (a, b) {
            (Some(x), Some(y)) => {
                let o = x.partial_cmp(y).unwrap_or(std::cmp::Ordering::Equal);
                if p.descending {
                    o.reverse()
                } else {
                    o
                }
            }
            (Some(_), None) => std::cmp::Ordering::Less,
            (None, Some(_)) => std::cmp::Ordering::Greater,
            (None, None) => std::cmp::Ordering::Equal,
        });
        matched = keyed
            .into_iter()
            .skip(offset)
            .take(size)
            .map(|(_, r)| r)
            .collect();
    }
    Ok((total, matched))
}

/// `POST /.search` at the root: Users then Groups, paged together. Each type is paged by its own
/// list, so every page (however deep) is exact and the total counts every match of both.
pub async fn search_all(ctx: &Ctx<'_>, p: &ListParams) -> ScimResult<Page> {
    let sub = |start_index: i64, count: i64| ListParams {
        filter: p.filter.clone(),
        sort_by: None,
        descending: false,
        start_index,
        count: Some(count),
        attributes: p.attributes.clone(),
        excluded: p.excluded.clone(),
    };
    let offset = p.start_index - 1;
    let mut wanted = p.page_size() as i64;
    let users_total = list(ctx, Kind::User, &sub(1, 0)).await?.total as i64;
    let mut resources = Vec::new();
    if offset < users_total && wanted > 0 {
        let page = list(
            ctx,
            Kind::User,
            &sub(offset + 1, wanted.min(users_total - offset)),
        )
        .await?;
        wanted -= page.resources.len() as i64;
        resources.extend(page.resources);
    }
    let group_start = (offset - users_total).max(0) + 1;
    let groups = list(ctx, Kind::Group, &sub(group_start, wanted.max(0))).await?;
    resources.extend(groups.resources);
    Ok(Page {
        total: users_total as usize + groups.total,
        start_index: p.start_index,
        resources,
    })
}
