//! Directory users: reads, writes (each with its change), purge, and the console's pages.

use super::*;
use crate::db::sql::Sql;
use crate::model::{AppRelation, UserSort};
use sqlx::Row;

/// A user as stored. `attrs` is the JSON object of every other non-empty attribute.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct UserRecord {
    pub id: String,
    pub upn: String,
    pub display_name: String,
    pub mail: Option<String>,
    pub manager_id: Option<String>,
    pub account_enabled: bool,
    pub attrs: String,
    pub created_at: String,
    pub updated_at: String,
    pub deleted_at: Option<String>,
}

const USER_COLS: &str =
    "id, upn, display_name, mail, manager_id, account_enabled, attrs, created_at, updated_at, deleted_at";

/// A user from a row with the columns of `USER_COLS` (by name).
pub fn user_from(r: &crate::db::Row) -> UserRecord {
    UserRecord {
        id: r.get("id"),
        upn: r.get("upn"),
        display_name: r.get("display_name"),
        mail: r.get("mail"),
        manager_id: r.get("manager_id"),
        account_enabled: r.get::<i64, _>("account_enabled") != 0,
        attrs: r.get("attrs"),
        created_at: r.get("created_at"),
        updated_at: r.get("updated_at"),
        deleted_at: r.get("deleted_at"),
    }
}

pub async fn user(conn: &mut crate::db::Conn, id: &str) -> sqlx::Result<Option<UserRecord>> {
    let sql = format!("SELECT {USER_COLS} FROM dir_users WHERE id = $1");
    Ok(sqlx::query(&sql)
        .bind(id)
        .fetch_optional(&mut *conn)
        .await?
        .as_ref()
        .map(user_from))
}

/// A user named by object id or userPrincipalName (how every form and command names one).
pub async fn user_by_ref(conn: &mut crate::db::Conn, reference: &str) -> sqlx::Result<Option<UserRecord>> {
    match user(conn, reference).await? {
        Some(u) => Ok(Some(u)),
        None => user_by_upn(conn, reference).await,
    }
}

pub async fn user_by_upn(conn: &mut crate::db::Conn, upn: &str) -> sqlx::Result<Option<UserRecord>> {
    let sql = format!("SELECT {USER_COLS} FROM dir_users WHERE upn_lower = $1");
    Ok(sqlx::query(&sql)
        .bind(upn.to_lowercase())
        .fetch_optional(&mut *conn)
        .await?
        .as_ref()
        .map(user_from))
}

/// The users with these userPrincipalNames (any case), looked up a few hundred at a time.
pub async fn users_by_upns(conn: &mut crate::db::Conn, upns: &[String]) -> sqlx::Result<Vec<UserRecord>> {
    let mut out = Vec::new();
    for chunk in upns.chunks(500) {
        let mut qb = Sql::new(format!("SELECT {USER_COLS} FROM dir_users WHERE upn_lower IN ("));
        let mut sep = qb.separated(", ");
        for u in chunk {
            sep.push_bind(u.to_lowercase());
        }
        qb.push(")");
        out.extend(qb.build().fetch_all(&mut *conn).await?.iter().map(user_from));
    }
    Ok(out)
}

/// Inserts or overwrites a user row (the caller decides which and records the change).
/// Inserts a user; false when the userPrincipalName is taken (the statement then changes nothing
/// and, unlike a failed insert on PostgreSQL, leaves the transaction usable).
pub async fn insert_user(conn: &mut crate::db::Conn, u: &UserRecord) -> sqlx::Result<bool> {
    let done = sqlx::query(
        "INSERT INTO dir_users (id, upn, upn_lower, display_name, display_lower, mail, mail_lower, manager_id,
             account_enabled, attrs, created_at, updated_at, deleted_at, search_fold, department_fold)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)
         ON CONFLICT (upn_lower) DO NOTHING",
    )
    .bind(&u.id)
    .bind(&u.upn)
    .bind(u.upn.to_lowercase())
    .bind(&u.display_name)
    .bind(u.display_name.to_lowercase())
    .bind(&u.mail)
    .bind(u.mail.as_ref().map(|m| m.to_lowercase()))
    .bind(&u.manager_id)
    .bind(i64::from(u.account_enabled))
    .bind(&u.attrs)
    .bind(&u.created_at)
    .bind(&u.updated_at)
    .bind(&u.deleted_at)
    .bind(search_text(u))
    .bind(department_of(&u.attrs))
    .execute(&mut *conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

pub async fn update_user(conn: &mut crate::db::Conn, u: &UserRecord) -> sqlx::Result<()> {
    sqlx::query(
        "UPDATE dir_users SET upn = $2, upn_lower = $3, display_name = $4, display_lower = $5, mail = $6,
             mail_lower = $7, manager_id = $8, account_enabled = $9, attrs = $10, updated_at = $11,
             deleted_at = $12, search_fold = $13, department_fold = $14
         WHERE id = $1",
    )
    .bind(&u.id)
    .bind(&u.upn)
    .bind(u.upn.to_lowercase())
    .bind(&u.display_name)
    .bind(u.display_name.to_lowercase())
    .bind(&u.mail)
    .bind(u.mail.as_ref().map(|m| m.to_lowercase()))
    .bind(&u.manager_id)
    .bind(i64::from(u.account_enabled))
    .bind(&u.attrs)
    .bind(&u.updated_at)
    .bind(&u.deleted_at)
    .bind(search_text(u))
    .bind(department_of(&u.attrs))
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// What the users list's search looks in, folded: display name, UPN and mail.
fn search_text(u: &UserRecord) -> String {
    let mail = u.mail.as_deref().unwrap_or("");
    crate::mapping::text::search_fold(&format!("{} {} {mail}", u.display_name, u.upn))
}

/// The folded department of a user's attributes (NULL without one).
fn department_of(attrs: &str) -> Option<String> {
    let map: std::collections::BTreeMap<String, String> = serde_json::from_str(attrs).unwrap_or_default();
    map.get("department")
        .map(|d| crate::mapping::text::search_fold(d))
        .filter(|d| !d.is_empty())
}

/// Folds the search columns of users written before they existed, a thousand at a time; runs
/// when the database is opened (a no-op once every row has them).
pub async fn backfill_search(pool: &Pool) -> sqlx::Result<u64> {
    let mut done = 0;
    loop {
        let sql =
            format!("SELECT {USER_COLS} FROM dir_users WHERE search_fold IS NULL ORDER BY id LIMIT 1000");
        let rows: Vec<UserRecord> = sqlx::query(&sql)
            .fetch_all(pool)
            .await?
            .iter()
            .map(user_from)
            .collect();
        if rows.is_empty() {
            return Ok(done);
        }
        let mut tx = crate::db::begin(pool, crate::db::Exclusive::Directory).await?;
        for u in &rows {
            sqlx::query("UPDATE dir_users SET search_fold = $2, department_fold = $3 WHERE id = $1")
                .bind(&u.id)
                .bind(search_text(u))
                .bind(department_of(&u.attrs))
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        done += rows.len() as u64;
    }
}

/// Would making `manager` the manager of `user` close a loop? True when `user` is `manager` or
/// appears in the chain of managers above `manager`.
pub async fn manager_cycle(conn: &mut crate::db::Conn, user: &str, manager: &str) -> sqlx::Result<bool> {
    if user == manager {
        return Ok(true);
    }
    let hit: Option<i64> = sqlx::query_scalar(
        // The first term reads the id from its table rather than selecting $1 itself: on
        // PostgreSQL both terms must then agree on the column's collation.
        "WITH RECURSIVE chain (id, depth) AS (
             SELECT id, 0 FROM dir_users WHERE id = $1
             UNION
             SELECT u.manager_id, c.depth + 1 FROM dir_users u JOIN chain c ON u.id = c.id
             WHERE u.manager_id IS NOT NULL AND c.depth < 10000
         )
         SELECT 1 FROM chain WHERE id = $2 LIMIT 1",
    )
    .bind(manager)
    .bind(user)
    .fetch_optional(&mut *conn)
    .await?;
    Ok(hit.is_some())
}

/// Removes a user for good: its memberships and assignments go with it (each recorded), and the
/// users it managed lose their manager (recorded as updates of those users).
pub async fn purge_user(conn: &mut crate::db::Conn, id: &str, at: &str) -> sqlx::Result<()> {
    let groups: Vec<String> = sqlx::query_scalar("SELECT group_id FROM dir_members WHERE member_id = $1")
        .bind(id)
        .fetch_all(&mut *conn)
        .await?;
    for g in &groups {
        record_change(conn, ChangeKind::Membership, g, id, "remove", at).await?;
    }
    sqlx::query("DELETE FROM dir_members WHERE member_id = $1")
        .bind(id)
        .execute(&mut *conn)
        .await?;
    remove_assignments_of(conn, id, at).await?;
    let reports: Vec<String> = sqlx::query_scalar("SELECT id FROM dir_users WHERE manager_id = $1")
        .bind(id)
        .fetch_all(&mut *conn)
        .await?;
    sqlx::query("UPDATE dir_users SET manager_id = NULL, updated_at = $2 WHERE manager_id = $1")
        .bind(id)
        .bind(at)
        .execute(&mut *conn)
        .await?;
    for r in &reports {
        record_change(conn, ChangeKind::User, r, "", "update", at).await?;
    }
    sqlx::query("DELETE FROM dir_users WHERE id = $1")
        .bind(id)
        .execute(&mut *conn)
        .await?;
    record_change(conn, ChangeKind::User, id, "", "purge", at).await
}

pub(super) async fn remove_assignments_of(
    conn: &mut crate::db::Conn,
    principal: &str,
    at: &str,
) -> sqlx::Result<()> {
    let apps: Vec<String> =
        sqlx::query_scalar("SELECT DISTINCT app_id FROM app_assignments WHERE principal_id = $1")
            .bind(principal)
            .fetch_all(&mut *conn)
            .await?;
    sqlx::query("DELETE FROM app_assignments WHERE principal_id = $1")
        .bind(principal)
        .execute(&mut *conn)
        .await?;
    for a in &apps {
        record_change(conn, ChangeKind::Assignment, a, principal, "remove", at).await?;
    }
    Ok(())
}

/// Soft-deleted users whose 30 days are over.
pub async fn expired_deleted_users(pool: &Pool, before: &str) -> sqlx::Result<Vec<String>> {
    sqlx::query_scalar("SELECT id FROM dir_users WHERE deleted_at IS NOT NULL AND deleted_at < $1")
        .bind(before)
        .fetch_all(pool)
        .await
}

/// A row of the users list.
pub struct UserListRow {
    pub id: String,
    pub upn: String,
    pub display_name: String,
    pub display_lower: String,
    pub mail: Option<String>,
    pub account_enabled: bool,
    pub attrs: String,
    pub deleted_at: Option<String>,
}

/// What the users list shows: live or deleted users, narrowed by a search and filters.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct UserFilter {
    /// Deleted users (Deleted users page) instead of live ones.
    pub deleted: bool,
    /// Text the display name, UPN or mail contains, ignoring case and accents.
    pub q: Option<String>,
    /// Sign-in enabled (true) or disabled (false).
    pub enabled: Option<bool>,
    /// The department, ignoring case and accents.
    pub department: Option<String>,
    /// Users assigned to (or not, or provisioned in) an application (its id).
    pub app: Option<(AppRelation, String)>,
}

impl UserFilter {
    /// Only live or deleted users: the counts table answers, no row is read.
    fn is_plain(&self) -> bool {
        self.q.is_none() && self.enabled.is_none() && self.department.is_none() && self.app.is_none()
    }
}

/// `%text%` for LIKE, with LIKE's own characters taken literally.
pub fn contains_pattern(text: &str) -> String {
    let escaped = text.replace('\\', "\\\\").replace('%', "\\%").replace('_', "\\_");
    format!("%{escaped}%")
}

/// ` FROM dir_users u WHERE ...` for `f`. A contains-search reads every row's folded text (a
/// scan, measured in BENCHMARKS.md); the filters narrow it.
fn push_where(qb: &mut Sql<'_>, f: &UserFilter) {
    qb.push(match f.deleted {
        true => " FROM dir_users u WHERE u.deleted_at IS NOT NULL",
        false => " FROM dir_users u WHERE u.deleted_at IS NULL",
    });
    if let Some(q) =
        f.q.as_deref()
            .map(crate::mapping::text::search_fold)
            .filter(|q| !q.is_empty())
    {
        qb.push(" AND u.search_fold LIKE ")
            .push_bind(contains_pattern(&q))
            .push(" ESCAPE '\\'");
    }
    if let Some(enabled) = f.enabled {
        qb.push(" AND u.account_enabled = ").push_bind(i64::from(enabled));
    }
    if let Some(d) = f.department.as_deref().map(crate::mapping::text::search_fold) {
        qb.push(" AND u.department_fold = ").push_bind(d);
    }
    if let Some((relation, app)) = &f.app {
        // Assigned: directly, or as a direct member of an assigned group (the engine's scope).
        let assigned = |qb: &mut Sql<'_>, not: bool| {
            qb.push(if not { " AND NOT (" } else { " AND (" })
                .push("EXISTS (SELECT 1 FROM app_assignments s WHERE s.app_id = ")
                .push_bind(app.clone())
                .push(" AND s.principal_id = u.id) OR EXISTS (SELECT 1 FROM dir_members m JOIN app_assignments s")
                .push(" ON s.principal_id = m.group_id AND s.app_id = ")
                .push_bind(app.clone())
                .push(" WHERE m.member_id = u.id))");
        };
        match relation {
            // In scope: assigned here, narrowed further by the engine's own check (the caller's).
            AppRelation::Assigned | AppRelation::InScope => assigned(qb, false),
            AppRelation::NotAssigned => assigned(qb, true),
            AppRelation::Provisioned => {
                qb.push(" AND EXISTS (SELECT 1 FROM prov_objects o WHERE o.app_id = ")
                    .push_bind(app.clone())
                    .push(" AND o.object_type = 'user' AND o.source_id = u.id AND o.state = 'active')");
            }
        }
    }
}

/// One page of users in `order` (display name or userPrincipalName, either way), after the
/// keyset cursor `(key, id)` where the key is the lower-cased column of the order.
pub async fn user_page(
    pool: &Pool,
    f: &UserFilter,
    order: UserSort,
    after: Option<(&str, &str)>,
    limit: i64,
) -> sqlx::Result<(Vec<UserListRow>, bool)> {
    let key = if order.by_upn() {
        "upn_lower"
    } else {
        "display_lower"
    };
    let (dir, cmp) = if order.descending() {
        ("DESC", "<")
    } else {
        ("ASC", ">")
    };
    // The page's keys first, from the index alone (dir_users_search holds every column the
    // search and filters test), then those rows: a search that matches few users walks the index,
    // not the wide rows.
    let mut qb = Sql::new(format!(
        "SELECT {LIST_COLS} FROM dir_users u JOIN (SELECT u.{key} AS k, u.id"
    ));
    push_where(&mut qb, f);
    if let Some((d, id)) = after {
        qb.push(format!(" AND (u.{key}, u.id) {cmp} ("))
            .push_bind(d.to_string())
            .push(", ")
            .push_bind(id.to_string())
            .push(")");
    }
    qb.push(format!(" ORDER BY u.{key} {dir}, u.id {dir} LIMIT "))
        .push_bind(limit + 1)
        .push(format!(") p ON u.id = p.id ORDER BY p.k {dir}, p.id {dir}"));
    let rows = qb.build().fetch_all(pool).await?;
    let more = rows.len() as i64 > limit;
    Ok((rows.iter().take(limit as usize).map(list_row).collect(), more))
}

const LIST_COLS: &str =
    "u.id, u.upn, u.display_name, u.display_lower, u.mail, u.account_enabled, u.attrs, u.deleted_at";

fn list_row(r: &crate::db::Row) -> UserListRow {
    UserListRow {
        id: r.get("id"),
        upn: r.get("upn"),
        display_name: r.get("display_name"),
        display_lower: r.get("display_lower"),
        mail: r.get("mail"),
        account_enabled: r.get::<i64, _>("account_enabled") != 0,
        attrs: r.get("attrs"),
        deleted_at: r.get("deleted_at"),
    }
}

/// Every user `f` selects, as (sort key, id) in `order`: for a filter decided outside SQL (the
/// scope of an application), which then pages over the ids itself. From the index alone.
pub async fn user_keys(pool: &Pool, f: &UserFilter, order: UserSort) -> sqlx::Result<Vec<(String, String)>> {
    let key = if order.by_upn() {
        "upn_lower"
    } else {
        "display_lower"
    };
    let dir = if order.descending() { "DESC" } else { "ASC" };
    let mut qb = Sql::new(format!("SELECT u.{key} AS k, u.id"));
    push_where(&mut qb, f);
    qb.push(format!(" ORDER BY u.{key} {dir}, u.id {dir}"));
    let rows = qb.build().fetch_all(pool).await?;
    Ok(rows.iter().map(|r| (r.get("k"), r.get("id"))).collect())
}

/// The list rows of these users, in the order of `ids`.
pub async fn user_rows(pool: &Pool, ids: &[String]) -> sqlx::Result<Vec<UserListRow>> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let mut qb = Sql::new(format!("SELECT {LIST_COLS} FROM dir_users u WHERE u.id IN "));
    qb.push_in_list(ids);
    let mut by_id: std::collections::HashMap<String, UserListRow> = qb
        .build()
        .fetch_all(pool)
        .await?
        .iter()
        .map(|r| {
            let row = list_row(r);
            (row.id.clone(), row)
        })
        .collect();
    Ok(ids.iter().filter_map(|id| by_id.remove(id)).collect())
}

pub async fn user_count(pool: &Pool, f: &UserFilter) -> sqlx::Result<i64> {
    if f.is_plain() {
        let column = if f.deleted { "deleted" } else { "live" };
        return sqlx::query_scalar(&format!("SELECT {column} FROM dir_user_counts"))
            .fetch_one(pool)
            .await;
    }
    let mut qb = Sql::new("SELECT count(*)");
    push_where(&mut qb, f);
    qb.build_query_scalar().fetch_one(pool).await
}

/// The departments of live users (one spelling of each, as a user has it) with how many users
/// are in each, for the filter's suggestions; at most 200. The counts come from the index alone;
/// one row per department is read for its spelling.
pub async fn departments(pool: &Pool) -> sqlx::Result<Vec<(String, i64)>> {
    let counts = sqlx::query(
        "SELECT department_fold AS d, count(*) AS n FROM dir_users
         WHERE department_fold IS NOT NULL AND deleted_at IS NULL
         GROUP BY department_fold ORDER BY department_fold LIMIT 200",
    )
    .fetch_all(pool)
    .await?;
    let mut out = Vec::with_capacity(counts.len());
    for r in &counts {
        let folded: String = r.get("d");
        let attrs: Option<String> =
            sqlx::query_scalar("SELECT attrs FROM dir_users WHERE department_fold = $1 LIMIT 1")
                .bind(&folded)
                .fetch_optional(pool)
                .await?;
        let map: std::collections::BTreeMap<String, String> = attrs
            .and_then(|a| serde_json::from_str(&a).ok())
            .unwrap_or_default();
        let spelled = map.get("department").cloned().unwrap_or(folded);
        out.push((spelled, r.get("n")));
    }
    Ok(out)
}

/// Users by id, for names shown next to ids.
pub async fn user_names(pool: &Pool, ids: &[String]) -> sqlx::Result<Vec<Named>> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let mut qb = Sql::new("SELECT id, display_name AS name, upn AS detail FROM dir_users WHERE id IN ");
    qb.push_in_list(ids);
    let rows = qb.build().fetch_all(pool).await?;
    Ok(rows.iter().map(|r| Named::read(ObjectType::User, r)).collect())
}

pub async fn direct_reports(pool: &Pool, id: &str, limit: i64) -> sqlx::Result<Vec<Named>> {
    let rows = sqlx::query(
        "SELECT id, display_name AS name, upn AS detail FROM dir_users WHERE manager_id = $1 AND deleted_at IS NULL
         ORDER BY display_lower, id LIMIT $2",
    )
    .bind(id)
    .bind(limit)
    .fetch_all(pool)
    .await?;
    Ok(rows.iter().map(|r| Named::read(ObjectType::User, r)).collect())
}
