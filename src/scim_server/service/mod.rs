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

mod list;
mod members;
mod write;

pub use list::*;
pub use write::*;

/// Process-wide state of the SCIM endpoint: the group-commit writer for user creates (started
/// with the first one), how many resources a list may examine one by one, and each account's
/// turns (requests in progress at a time).
pub struct Runtime {
    creates: std::sync::OnceLock<super::writer::Writer>,
    scan_limit: usize,
    pub turns: super::turns::AccountTurns,
}

/// Requests in progress per account by default (see [`super::turns`]).
pub const ACCOUNT_TURNS: usize = 8;

impl Default for Runtime {
    fn default() -> Self {
        Runtime::new(MAX_EXAMINED, ACCOUNT_TURNS)
    }
}

impl Runtime {
    /// `scan_limit`: candidates a list whose filter the index does not answer may examine;
    /// `per_account`: requests one account may have in progress at a time.
    pub fn new(scan_limit: usize, per_account: usize) -> Self {
        Runtime {
            creates: std::sync::OnceLock::new(),
            scan_limit,
            turns: super::turns::AccountTurns::new(per_account),
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

/// What a client is told when the database kept ending its write to let concurrent writes to
/// the same resources go on (a deadlock between row locks), after the write was tried again.
const CONTENDED: &str = "the resource was being changed by other requests at the same time; try again";

fn db_err(e: sqlx::Error) -> ScimError {
    if db::is_retryable(&e) {
        tracing::debug!("SCIM write gave way to a concurrent one: {e}");
        return ScimError::new(503, None, CONTENDED);
    }
    internal(e)
}

fn is_contended(e: &ScimError) -> bool {
    e.status == 503 && e.detail == CONTENDED
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
