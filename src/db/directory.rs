//! The directory: users, groups, direct memberships and the change sequence (imports: `imports`).
//!
//! Writers pass a connection inside their transaction; every write function that changes a user,
//! group or membership also appends to `dir_changes` in that transaction, so the sequence can never
//! disagree with the data.

use super::Pool;
use crate::db::sql::Sql;
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

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChangeKind {
    User,
    Group,
    Membership,
    Assignment,
}

impl ChangeKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ChangeKind::User => "user",
            ChangeKind::Group => "group",
            ChangeKind::Membership => "membership",
            ChangeKind::Assignment => "assignment",
        }
    }
}

/// Appends to the change sequence; call inside the transaction of the change.
pub async fn record_change(
    conn: &mut crate::db::Conn,
    kind: ChangeKind,
    object_id: &str,
    related_id: &str,
    op: &str,
    at: &str,
) -> sqlx::Result<()> {
    sqlx::query(
        "INSERT INTO dir_changes (at, object_type, object_id, related_id, op) VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(at)
    .bind(kind.as_str())
    .bind(object_id)
    .bind(related_id)
    .bind(op)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Change records collected during a bulk write and appended in a few multi-row statements, still
/// inside the bulk write's transaction.
#[derive(Default)]
pub struct ChangeBuffer(Vec<(ChangeKind, String, String, &'static str)>);

impl ChangeBuffer {
    pub fn push(&mut self, kind: ChangeKind, object_id: &str, related_id: &str, op: &'static str) {
        self.0
            .push((kind, object_id.to_string(), related_id.to_string(), op));
    }

    pub async fn flush(&mut self, conn: &mut crate::db::Conn, at: &str) -> sqlx::Result<()> {
        for chunk in self.0.chunks(150) {
            let mut qb = Sql::new("INSERT INTO dir_changes (at, object_type, object_id, related_id, op) ");
            qb.push_values(chunk, |mut b, (kind, object, related, op)| {
                b.push_bind(at.to_string())
                    .push_bind(kind.as_str())
                    .push_bind(object.clone())
                    .push_bind(related.clone())
                    .push_bind(*op);
            });
            qb.build().execute(&mut *conn).await?;
        }
        self.0.clear();
        Ok(())
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Change {
    pub seq: i64,
    pub at: String,
    pub object_type: String,
    pub object_id: String,
    pub related_id: String,
    pub op: String,
}

/// Changes after `since`, in order: an indexed range read whose cost follows the number of changes.
pub async fn changes_since(pool: &Pool, since: i64, limit: i64) -> sqlx::Result<Vec<Change>> {
    let rows = sqlx::query(
        "SELECT seq, at, object_type, object_id, related_id, op FROM dir_changes
         WHERE seq > $1 ORDER BY seq LIMIT $2",
    )
    .bind(since)
    .bind(limit)
    .fetch_all(pool)
    .await?;
    Ok(rows
        .iter()
        .map(|r| Change {
            seq: r.get(0),
            at: r.get(1),
            object_type: r.get(2),
            object_id: r.get(3),
            related_id: r.get(4),
            op: r.get(5),
        })
        .collect())
}

pub async fn last_change(pool: &Pool) -> sqlx::Result<i64> {
    Ok(
        sqlx::query_scalar::<_, Option<i64>>("SELECT max(seq) FROM dir_changes")
            .fetch_one(pool)
            .await?
            .unwrap_or(0),
    )
}

// ---- users ----

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
             account_enabled, attrs, created_at, updated_at, deleted_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)
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
    .execute(&mut *conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

pub async fn update_user(conn: &mut crate::db::Conn, u: &UserRecord) -> sqlx::Result<()> {
    sqlx::query(
        "UPDATE dir_users SET upn = $2, upn_lower = $3, display_name = $4, display_lower = $5, mail = $6,
             mail_lower = $7, manager_id = $8, account_enabled = $9, attrs = $10, updated_at = $11,
             deleted_at = $12
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
    .execute(&mut *conn)
    .await?;
    Ok(())
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

async fn remove_assignments_of(conn: &mut crate::db::Conn, principal: &str, at: &str) -> sqlx::Result<()> {
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

/// `(display_lower, id)` of live users whose display name, UPN or mail starts with `q`: three index
/// ranges, each covering, so neither the search nor its count reads a row.
fn push_hits(qb: &mut Sql<'_>, q: &str) {
    let mut upper = q.to_string();
    upper.push(char::MAX);
    qb.push("SELECT display_lower, id FROM dir_users WHERE deleted_at IS NULL AND display_lower >= ")
        .push_bind(q.to_string())
        .push(" AND display_lower < ")
        .push_bind(upper.clone());
    qb.push(" UNION SELECT display_lower, id FROM dir_users WHERE deleted_at IS NULL AND upn_lower >= ")
        .push_bind(q.to_string())
        .push(" AND upn_lower < ")
        .push_bind(upper.clone());
    qb.push(" UNION SELECT display_lower, id FROM dir_users WHERE deleted_at IS NULL AND mail_lower >= ")
        .push_bind(q.to_string())
        .push(" AND mail_lower < ")
        .push_bind(upper);
}

/// Deleted users are few: their filter is a plain condition over the deleted ones.
fn push_deleted_filter(qb: &mut Sql<'_>, q: Option<&str>) {
    qb.push(" FROM dir_users u WHERE u.deleted_at IS NOT NULL");
    if let Some(q) = q {
        let mut upper = q.to_string();
        upper.push(char::MAX);
        qb.push(" AND (");
        for (i, col) in ["u.display_lower", "u.upn_lower", "u.mail_lower"]
            .iter()
            .enumerate()
        {
            if i > 0 {
                qb.push(" OR ");
            }
            qb.push(format!("({col} >= "))
                .push_bind(q.to_string())
                .push(format!(" AND {col} < "))
                .push_bind(upper.clone())
                .push(")");
        }
        qb.push(")");
    }
}

fn normalise(q: Option<&str>) -> Option<String> {
    q.map(|q| q.trim().to_lowercase()).filter(|q| !q.is_empty())
}

/// One page of users ordered by display name, after the keyset cursor `(display_lower, id)`.
pub async fn user_page(
    pool: &Pool,
    q: Option<&str>,
    after: Option<(&str, &str)>,
    deleted: bool,
    limit: i64,
) -> sqlx::Result<(Vec<UserListRow>, bool)> {
    let q = normalise(q);
    const COLS: &str =
        "u.id, u.upn, u.display_name, u.display_lower, u.mail, u.account_enabled, u.attrs, u.deleted_at";
    let mut qb = Sql::new("");
    let cursor = |qb: &mut Sql<'_>, prefix: &str| {
        if let Some((d, id)) = after {
            qb.push(format!(" AND ({prefix}display_lower, {prefix}id) > ("))
                .push_bind(d.to_string())
                .push(", ")
                .push_bind(id.to_string())
                .push(")");
        }
    };
    match (&q, deleted) {
        (Some(q), false) => {
            qb.push(format!(
                "SELECT {COLS} FROM dir_users u JOIN (SELECT display_lower, id FROM ("
            ));
            push_hits(&mut qb, q);
            qb.push(") h WHERE 1 = 1");
            cursor(&mut qb, "h.");
            qb.push(" ORDER BY h.display_lower, h.id LIMIT ")
                .push_bind(limit + 1)
                .push(") p ON u.id = p.id");
        }
        (None, false) => {
            qb.push(format!(
                "SELECT {COLS} FROM dir_users u WHERE u.deleted_at IS NULL"
            ));
            cursor(&mut qb, "u.");
        }
        (q, true) => {
            qb.push(format!("SELECT {COLS}"));
            push_deleted_filter(&mut qb, q.as_deref());
            cursor(&mut qb, "u.");
        }
    }
    qb.push(" ORDER BY u.display_lower, u.id LIMIT ")
        .push_bind(limit + 1);
    let rows = qb.build().fetch_all(pool).await?;
    let more = rows.len() as i64 > limit;
    Ok((
        rows.iter()
            .take(limit as usize)
            .map(|r| UserListRow {
                id: r.get("id"),
                upn: r.get("upn"),
                display_name: r.get("display_name"),
                display_lower: r.get("display_lower"),
                mail: r.get("mail"),
                account_enabled: r.get::<i64, _>("account_enabled") != 0,
                attrs: r.get("attrs"),
                deleted_at: r.get("deleted_at"),
            })
            .collect(),
        more,
    ))
}

pub async fn user_count(pool: &Pool, q: Option<&str>, deleted: bool) -> sqlx::Result<i64> {
    let q = normalise(q);
    let mut qb = Sql::new("SELECT count(*)");
    match (&q, deleted) {
        (Some(q), false) => {
            qb.push(" FROM (");
            push_hits(&mut qb, q);
            qb.push(") h");
        }
        (None, false) => {
            return sqlx::query_scalar("SELECT live FROM dir_user_counts")
                .fetch_one(pool)
                .await
        }
        (None, true) => {
            return sqlx::query_scalar("SELECT deleted FROM dir_user_counts")
                .fetch_one(pool)
                .await
        }
        (q, true) => push_deleted_filter(&mut qb, q.as_deref()),
    }
    qb.build_query_scalar().fetch_one(pool).await
}

/// (id, upn, display name) of users, for names shown next to ids.
pub async fn user_names(pool: &Pool, ids: &[String]) -> sqlx::Result<Vec<(String, String, String)>> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let mut qb = Sql::new("SELECT id, upn, display_name FROM dir_users WHERE id IN ");
    qb.push_in_list(ids);
    let rows = qb.build().fetch_all(pool).await?;
    Ok(rows.iter().map(|r| (r.get(0), r.get(1), r.get(2))).collect())
}

pub async fn direct_reports(
    pool: &Pool,
    id: &str,
    limit: i64,
) -> sqlx::Result<Vec<(String, String, String)>> {
    let rows = sqlx::query(
        "SELECT id, upn, display_name FROM dir_users WHERE manager_id = $1 AND deleted_at IS NULL
         ORDER BY display_lower, id LIMIT $2",
    )
    .bind(id)
    .bind(limit)
    .fetch_all(pool)
    .await?;
    Ok(rows.iter().map(|r| (r.get(0), r.get(1), r.get(2))).collect())
}

// ---- groups ----

#[derive(Debug, Clone, PartialEq)]
pub struct GroupRecord {
    pub id: String,
    pub display_name: String,
    pub description: String,
    pub mail_nickname: String,
    pub created_at: String,
    pub updated_at: String,
}

fn group_from(r: &crate::db::Row) -> GroupRecord {
    GroupRecord {
        id: r.get("id"),
        display_name: r.get("display_name"),
        description: r.get("description"),
        mail_nickname: r.get("mail_nickname"),
        created_at: r.get("created_at"),
        updated_at: r.get("updated_at"),
    }
}

pub async fn group(conn: &mut crate::db::Conn, id: &str) -> sqlx::Result<Option<GroupRecord>> {
    Ok(sqlx::query(
        "SELECT id, display_name, description, mail_nickname, created_at, updated_at FROM dir_groups WHERE id = $1",
    )
    .bind(id)
    .fetch_optional(&mut *conn)
    .await?
    .as_ref()
    .map(group_from))
}

pub async fn group_by_name(conn: &mut crate::db::Conn, name: &str) -> sqlx::Result<Option<GroupRecord>> {
    Ok(sqlx::query(
        "SELECT id, display_name, description, mail_nickname, created_at, updated_at FROM dir_groups
         WHERE display_lower = $1",
    )
    .bind(name.to_lowercase())
    .fetch_optional(&mut *conn)
    .await?
    .as_ref()
    .map(group_from))
}

pub async fn insert_group(conn: &mut crate::db::Conn, g: &GroupRecord) -> sqlx::Result<()> {
    sqlx::query(
        "INSERT INTO dir_groups (id, display_name, display_lower, description, mail_nickname, created_at, updated_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(&g.id)
    .bind(&g.display_name)
    .bind(g.display_name.to_lowercase())
    .bind(&g.description)
    .bind(&g.mail_nickname)
    .bind(&g.created_at)
    .bind(&g.updated_at)
    .execute(&mut *conn)
    .await?;
    record_change(conn, ChangeKind::Group, &g.id, "", "create", &g.created_at).await
}

pub async fn update_group(conn: &mut crate::db::Conn, g: &GroupRecord) -> sqlx::Result<()> {
    sqlx::query(
        "UPDATE dir_groups SET display_name = $2, display_lower = $3, description = $4, mail_nickname = $5,
             updated_at = $6 WHERE id = $1",
    )
    .bind(&g.id)
    .bind(&g.display_name)
    .bind(g.display_name.to_lowercase())
    .bind(&g.description)
    .bind(&g.mail_nickname)
    .bind(&g.updated_at)
    .execute(&mut *conn)
    .await?;
    record_change(conn, ChangeKind::Group, &g.id, "", "update", &g.updated_at).await
}

/// Deletes a group with its memberships, its membership in other groups and its assignments.
pub async fn delete_group(conn: &mut crate::db::Conn, id: &str, at: &str) -> sqlx::Result<()> {
    let parents: Vec<String> = sqlx::query_scalar("SELECT group_id FROM dir_members WHERE member_id = $1")
        .bind(id)
        .fetch_all(&mut *conn)
        .await?;
    for p in &parents {
        record_change(conn, ChangeKind::Membership, p, id, "remove", at).await?;
    }
    sqlx::query("DELETE FROM dir_members WHERE member_id = $1 OR group_id = $1")
        .bind(id)
        .execute(&mut *conn)
        .await?;
    remove_assignments_of(conn, id, at).await?;
    sqlx::query("DELETE FROM dir_groups WHERE id = $1")
        .bind(id)
        .execute(&mut *conn)
        .await?;
    record_change(conn, ChangeKind::Group, id, "", "delete", at).await
}

/// Would adding group `member` to group `group` make a group contain itself (directly or through
/// nesting)? True when `group` is `member` or is nested somewhere below `member`.
pub async fn nesting_cycle(conn: &mut crate::db::Conn, group: &str, member: &str) -> sqlx::Result<bool> {
    if group == member {
        return Ok(true);
    }
    let hit: Option<i64> = sqlx::query_scalar(
        // As in the manager chain: the first term reads the id from its table.
        "WITH RECURSIVE below (id) AS (
             SELECT id FROM dir_groups WHERE id = $1
             UNION
             SELECT m.member_id FROM dir_members m JOIN below b ON m.group_id = b.id WHERE m.member_type = 'group'
         )
         SELECT 1 FROM below WHERE id = $2 LIMIT 1",
    )
    .bind(member)
    .bind(group)
    .fetch_optional(&mut *conn)
    .await?;
    Ok(hit.is_some())
}

/// Adds a direct member; false (and nothing recorded) when it already was one.
pub async fn add_member(
    conn: &mut crate::db::Conn,
    group: &str,
    member: &str,
    member_type: &str,
    at: &str,
) -> sqlx::Result<bool> {
    let done = sqlx::query(
        "INSERT INTO dir_members (group_id, member_id, member_type, added_at) VALUES ($1, $2, $3, $4)
         ON CONFLICT (group_id, member_id) DO NOTHING",
    )
    .bind(group)
    .bind(member)
    .bind(member_type)
    .bind(at)
    .execute(&mut *conn)
    .await?;
    if done.rows_affected() == 0 {
        return Ok(false);
    }
    record_change(conn, ChangeKind::Membership, group, member, "add", at).await?;
    Ok(true)
}

/// Adds many direct members at once; returns the (group, member) pairs that were new. The caller
/// records their changes.
pub async fn add_members(
    conn: &mut crate::db::Conn,
    rows: &[(String, String, &'static str)],
    at: &str,
) -> sqlx::Result<Vec<(String, String)>> {
    let mut added = Vec::new();
    for chunk in rows.chunks(200) {
        let mut qb = Sql::new("INSERT INTO dir_members (group_id, member_id, member_type, added_at) ");
        qb.push_values(chunk, |mut b, (group, member, kind)| {
            b.push_bind(group.clone())
                .push_bind(member.clone())
                .push_bind(*kind)
                .push_bind(at.to_string());
        });
        qb.push(" ON CONFLICT (group_id, member_id) DO NOTHING RETURNING group_id, member_id");
        let rows = qb.build().fetch_all(&mut *conn).await?;
        added.extend(
            rows.iter()
                .map(|r| (r.get::<String, _>(0), r.get::<String, _>(1))),
        );
    }
    Ok(added)
}

pub async fn remove_member(
    conn: &mut crate::db::Conn,
    group: &str,
    member: &str,
    at: &str,
) -> sqlx::Result<bool> {
    let done = sqlx::query("DELETE FROM dir_members WHERE group_id = $1 AND member_id = $2")
        .bind(group)
        .bind(member)
        .execute(&mut *conn)
        .await?;
    if done.rows_affected() == 0 {
        return Ok(false);
    }
    record_change(conn, ChangeKind::Membership, group, member, "remove", at).await?;
    Ok(true)
}

pub struct GroupListRow {
    pub id: String,
    pub display_name: String,
    pub description: String,
    pub members: i64,
}

fn push_group_filter(qb: &mut Sql<'_>, q: Option<&str>) {
    qb.push(" FROM dir_groups g WHERE 1 = 1");
    if let Some(q) = q.map(str::to_lowercase).filter(|q| !q.is_empty()) {
        let mut upper = q.clone();
        upper.push(char::MAX);
        qb.push(" AND g.display_lower >= ")
            .push_bind(q)
            .push(" AND g.display_lower < ")
            .push_bind(upper);
    }
}

pub async fn group_page(
    pool: &Pool,
    q: Option<&str>,
    offset: i64,
    limit: i64,
) -> sqlx::Result<Vec<GroupListRow>> {
    let mut qb = Sql::new("SELECT g.id, g.display_name, g.description, g.member_count AS members");
    push_group_filter(&mut qb, q);
    qb.push(" ORDER BY g.display_lower LIMIT ")
        .push_bind(limit)
        .push(" OFFSET ")
        .push_bind(offset);
    let rows = qb.build().fetch_all(pool).await?;
    Ok(rows
        .iter()
        .map(|r| GroupListRow {
            id: r.get("id"),
            display_name: r.get("display_name"),
            description: r.get("description"),
            members: r.get("members"),
        })
        .collect())
}

pub async fn group_count(pool: &Pool, q: Option<&str>) -> sqlx::Result<i64> {
    let mut qb = Sql::new("SELECT count(*)");
    push_group_filter(&mut qb, q);
    qb.build_query_scalar().fetch_one(pool).await
}

/// A direct member with its name. Soft-deleted users stay members (a restore brings them back
/// with their groups) and are listed as deleted.
pub struct MemberListRow {
    pub id: String,
    pub member_type: String,
    pub name: String,
    pub detail: String,
    pub enabled: bool,
    pub deleted: bool,
}

pub async fn members(pool: &Pool, group: &str, limit: i64) -> sqlx::Result<(Vec<MemberListRow>, i64)> {
    let rows = sqlx::query(
        "SELECT m.member_id, m.member_type,
             COALESCE(u.display_name, g.display_name, m.member_id) AS name,
             COALESCE(u.upn, g.description, '') AS detail,
             COALESCE(u.account_enabled, 1) AS enabled,
             CASE WHEN u.deleted_at IS NOT NULL THEN 1 ELSE 0 END AS deleted
         FROM dir_members m
         LEFT JOIN dir_users u ON m.member_type = 'user' AND u.id = m.member_id
         LEFT JOIN dir_groups g ON m.member_type = 'group' AND g.id = m.member_id
         WHERE m.group_id = $1
         ORDER BY m.member_type DESC, lower(COALESCE(u.display_name, g.display_name, m.member_id)) LIMIT $2",
    )
    .bind(group)
    .bind(limit)
    .fetch_all(pool)
    .await?;
    let total: i64 = sqlx::query_scalar("SELECT member_count FROM dir_groups WHERE id = $1")
        .bind(group)
        .fetch_optional(pool)
        .await?
        .unwrap_or(0);
    Ok((
        rows.iter()
            .map(|r| MemberListRow {
                id: r.get(0),
                member_type: r.get(1),
                name: r.get(2),
                detail: r.get(3),
                enabled: r.get::<i64, _>(4) != 0,
                deleted: r.get::<i64, _>(5) != 0,
            })
            .collect(),
        total,
    ))
}

/// The groups a user or group is a direct member of: (id, name).
pub async fn groups_of(pool: &Pool, member: &str) -> sqlx::Result<Vec<(String, String)>> {
    let rows = sqlx::query(
        "SELECT g.id, g.display_name FROM dir_members m JOIN dir_groups g ON g.id = m.group_id
         WHERE m.member_id = $1 ORDER BY g.display_lower",
    )
    .bind(member)
    .fetch_all(pool)
    .await?;
    Ok(rows.iter().map(|r| (r.get(0), r.get(1))).collect())
}

/// Users and groups whose names start with `q`, for pickers: (type, id, name, detail).
pub async fn suggest(
    pool: &Pool,
    q: &str,
    groups_too: bool,
    limit: i64,
) -> sqlx::Result<Vec<(String, String, String, String)>> {
    let q = q.trim().to_lowercase();
    let mut upper = q.clone();
    upper.push(char::MAX);
    let mut out: Vec<(String, String, String, String)> = sqlx::query(
        "SELECT u.id, u.display_name, u.upn FROM dir_users u JOIN (
             SELECT display_lower, id FROM dir_users WHERE deleted_at IS NULL AND display_lower >= $1 AND display_lower < $2
             UNION SELECT display_lower, id FROM dir_users WHERE deleted_at IS NULL AND upn_lower >= $1 AND upn_lower < $2
             ORDER BY 1, 2 LIMIT $3) p ON u.id = p.id
         ORDER BY p.display_lower, p.id",
    )
    .bind(&q)
    .bind(&upper)
    .bind(limit)
    .fetch_all(pool)
    .await?
    .iter()
    .map(|r| ("user".to_string(), r.get(0), r.get(1), r.get(2)))
    .collect();
    if groups_too {
        let rows = sqlx::query(
            "SELECT id, display_name, description FROM dir_groups WHERE display_lower >= $1 AND display_lower < $2
             ORDER BY display_lower LIMIT $3",
        )
        .bind(&q)
        .bind(&upper)
        .bind(limit)
        .fetch_all(pool)
        .await?;
        out.extend(
            rows.iter()
                .map(|r| ("group".to_string(), r.get(0), r.get(1), r.get(2))),
        );
    }
    Ok(out)
}

pub async fn directory_counts(pool: &Pool) -> sqlx::Result<(i64, i64, i64)> {
    let r = sqlx::query("SELECT live, deleted, (SELECT count(*) FROM dir_groups) FROM dir_user_counts")
        .fetch_one(pool)
        .await?;
    Ok((r.get(0), r.get(1), r.get(2)))
}

/// Deletes directory changes older than `before` that every provisioning job has read (at or below
/// the lowest watermark; a job without one runs an initial cycle and reads none), a batch at a
/// time. The newest change always stays, so the sequence never starts again below a watermark.
pub async fn prune_changes(pool: &Pool, before: &str) -> sqlx::Result<u64> {
    const BATCH: i64 = 5_000;
    super::delete_in_batches(pool, BATCH as u64, || {
        sqlx::query(
            "DELETE FROM dir_changes WHERE seq IN (
                 SELECT seq FROM dir_changes
                 WHERE at < $1
                   AND seq < (SELECT max(seq) FROM dir_changes)
                   AND seq <= COALESCE((SELECT min(watermark) FROM prov_jobs WHERE watermark IS NOT NULL),
                                       (SELECT max(seq) FROM dir_changes))
                 ORDER BY seq LIMIT $2)",
        )
        .bind(before)
        .bind(BATCH)
    })
    .await
}
