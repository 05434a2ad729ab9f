//! Users and groups of SCIM accounts: JSON documents plus indexed columns, memberships, and the
//! SQL side of filtering and paging. The filter planner (`scim_server::query`) speaks the small
//! vocabulary below ([`Cond`], [`Col`]); only this module turns it into SQL.

use crate::db::sql::Sql;
use serde_json::{Map, Value};
use sqlx::Row;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Table {
    Users,
    Groups,
}

/// A stored resource: its document and what is not in it.
#[derive(Debug, Clone)]
pub struct Stored {
    pub id: String,
    pub doc: Map<String, Value>,
    pub version: i64,
    pub created: String,
    pub last_modified: String,
}

/// The indexed columns of a user, derived from its document.
#[derive(Debug, Clone, Default)]
pub struct UserCols {
    pub user_name: String,
    pub external_id: Option<String>,
    pub display_name: Option<String>,
    pub primary_email: Option<String>,
    pub active: Option<bool>,
    /// Every email value, lower-cased and deduplicated.
    pub emails: Vec<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Col {
    Id,
    /// userName, lower-cased (users only).
    UserName,
    ExternalId,
    /// displayName, lower-cased.
    DisplayName,
    /// 1, 0 or NULL (users only).
    Active,
    Created,
    LastModified,
}

impl Col {
    fn sql(self, table: Table) -> &'static str {
        match (self, table) {
            (Col::Id, _) => "id",
            (Col::UserName, Table::Users) => "user_name_lower",
            (Col::UserName, Table::Groups) => "NULL",
            (Col::ExternalId, _) => "external_id",
            (Col::DisplayName, _) => "display_name_lower",
            (Col::Active, Table::Users) => "active",
            (Col::Active, Table::Groups) => "NULL",
            (Col::Created, _) => "created_at",
            (Col::LastModified, _) => "last_modified",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SqlOp {
    Eq,
    Ne,
    Gt,
    Ge,
    Lt,
    Le,
}

impl SqlOp {
    fn sql(self) -> &'static str {
        match self {
            SqlOp::Eq => " = ",
            SqlOp::Ne => " <> ",
            SqlOp::Gt => " > ",
            SqlOp::Ge => " >= ",
            SqlOp::Lt => " < ",
            SqlOp::Le => " <= ",
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub enum SqlVal {
    Text(String),
    Int(i64),
}

/// A condition on the indexed columns. NULL columns satisfy no comparison, which is what the
/// SCIM evaluator does with absent attributes.
#[derive(Debug, Clone, PartialEq)]
pub enum Cond {
    Cmp(Col, SqlOp, SqlVal),
    /// `col LIKE pattern ESCAPE '\'` on a lower-cased column with a lower-cased pattern.
    Like(Col, String),
    NotNull(Col),
    /// Absent or different: SCIM's `ne`.
    NullOrNe(Col, SqlVal),
    /// A user with this email value (lower-cased).
    Email(String),
    /// A group with this member.
    HasMember(String),
    And(Vec<Cond>),
    Or(Vec<Cond>),
}

fn push_val(qb: &mut Sql<'_>, v: &SqlVal) {
    match v {
        SqlVal::Text(s) => qb.push_bind(s.clone()),
        SqlVal::Int(i) => qb.push_bind(*i),
    };
}

fn push_cond(qb: &mut Sql<'_>, table: Table, account: &str, c: &Cond) {
    match c {
        Cond::Cmp(col, op, v) => {
            qb.push(col.sql(table)).push(op.sql());
            push_val(qb, v);
        }
        Cond::Like(col, pattern) => {
            qb.push(col.sql(table)).push(" LIKE ");
            qb.push_bind(pattern.clone()).push(" ESCAPE '\\'");
        }
        Cond::NotNull(col) => {
            qb.push(col.sql(table)).push(" IS NOT NULL");
        }
        Cond::NullOrNe(col, v) => {
            qb.push("(")
                .push(col.sql(table))
                .push(" IS NULL OR ")
                .push(col.sql(table))
                .push(" <> ");
            push_val(qb, v);
            qb.push(")");
        }
        Cond::Email(e) => match table {
            Table::Users => {
                qb.push("id IN (SELECT user_id FROM scim_user_emails WHERE account_id = ");
                qb.push_bind(account.to_string()).push(" AND value_lower = ");
                qb.push_bind(e.clone()).push(")");
            }
            Table::Groups => {
                qb.push("0 = 1");
            }
        },
        Cond::HasMember(m) => match table {
            Table::Groups => {
                qb.push("id IN (SELECT group_id FROM scim_members WHERE member_id = ");
                qb.push_bind(m.clone()).push(")");
            }
            Table::Users => {
                qb.push("0 = 1");
            }
        },
        Cond::And(items) | Cond::Or(items) => {
            let joiner = if matches!(c, Cond::And(_)) {
                " AND "
            } else {
                " OR "
            };
            qb.push("(");
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    qb.push(joiner);
                }
                push_cond(qb, table, account, item);
            }
            qb.push(")");
        }
    }
}

/// Whether `c` matches at most a few rows, found through an index: equality on a unique or
/// near-unique column (id, userName, externalId, displayName, an email), or alternatives of such.
fn selective(c: &Cond) -> bool {
    match c {
        Cond::Cmp(Col::Id | Col::UserName | Col::ExternalId | Col::DisplayName, SqlOp::Eq, _) => true,
        Cond::Email(_) => true,
        Cond::Or(items) => items.iter().all(selective),
        Cond::And(items) => items.iter().any(selective),
        _ => false,
    }
}

fn select_from(table: Table, what: &str, account: &str, cond: Option<&Cond>) -> Sql<'static> {
    let mut qb = Sql::new("");
    push_select(&mut qb, table, what, account, cond);
    qb
}

fn push_select(qb: &mut Sql<'_>, table: Table, what: &str, account: &str, cond: Option<&Cond>) {
    qb.push(format!("SELECT {what} FROM "));
    match table {
        Table::Users => qb.push("scim_users WHERE account_id = "),
        Table::Groups => qb.push("scim_groups WHERE source = 'scim' AND account_id = "),
    };
    qb.push_bind(account.to_string());
    if let Some(c) = cond {
        qb.push(" AND ");
        push_cond(qb, table, account, c);
    }
}

/// Sort order: a column (ties broken by id) or id alone.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Order {
    pub col: Col,
    pub desc: bool,
}

impl Order {
    pub const STABLE: Order = Order {
        col: Col::Id,
        desc: false,
    };
}

fn push_order(qb: &mut Sql<'_>, table: Table, order: Order) {
    let dir = if order.desc { " DESC" } else { " ASC" };
    qb.push(" ORDER BY ");
    if order.col != Col::Id {
        let col = order.col.sql(table);
        // Absent values sort last ascending and first descending, on either database.
        qb.push(format!("({col} IS NULL){dir}, {col}{dir}, "));
    }
    qb.push(format!("id{dir}"));
}

const COLUMNS: &str = "id, doc, version, created_at, last_modified";

fn stored_from(row: &crate::db::Row) -> Stored {
    let doc: String = row.get("doc");
    Stored {
        id: row.get("id"),
        doc: serde_json::from_str(&doc).unwrap_or_default(),
        version: row.get("version"),
        created: row.get("created_at"),
        last_modified: row.get("last_modified"),
    }
}

pub async fn count(
    conn: &mut crate::db::Conn,
    table: Table,
    account: &str,
    cond: Option<&Cond>,
) -> sqlx::Result<i64> {
    let mut qb = select_from(table, "count(*)", account, cond);
    qb.build_query_scalar().fetch_one(conn).await
}

pub async fn page(
    conn: &mut crate::db::Conn,
    table: Table,
    account: &str,
    cond: Option<&Cond>,
    order: Order,
    limit: i64,
    offset: i64,
) -> sqlx::Result<Vec<Stored>> {
    // The page's ids first, from the index alone; then only those rows. A plain OFFSET would
    // read (and discard) every skipped row's document: 50,000 of them for a page deep in.
    let mut qb = Sql::new(format!("SELECT {COLUMNS} FROM "));
    qb.push(match table {
        Table::Users => "scim_users",
        Table::Groups => "scim_groups",
    });
    qb.push(" WHERE id IN (");
    push_select(&mut qb, table, "id", account, cond);
    if cond.is_some_and(selective)
        && order == Order::STABLE
        && super::Backend::of_conn(conn) == super::Backend::Sqlite
    {
        // Without this, SQLite walks the (account, id) index to avoid sorting and tests every
        // row against the condition: a batched lookup (`userName eq .. or ..`) read the whole
        // account. Finding the few matching rows through their index and sorting those is
        // what a selective condition wants. (PostgreSQL's planner weighs this itself, and `+` is
        // not a no-op on text there.)
        qb.push(" ORDER BY +id");
    } else {
        push_order(&mut qb, table, order);
    }
    qb.push(" LIMIT ")
        .push_bind(limit)
        .push(" OFFSET ")
        .push_bind(offset);
    qb.push(")");
    push_order(&mut qb, table, order);
    Ok(qb
        .build()
        .fetch_all(conn)
        .await?
        .iter()
        .map(stored_from)
        .collect())
}

/// Every candidate of a narrowing, in order, for filters finished in Rust.
pub async fn all(
    conn: &mut crate::db::Conn,
    table: Table,
    account: &str,
    cond: Option<&Cond>,
    order: Order,
) -> sqlx::Result<Vec<Stored>> {
    let mut qb = select_from(table, COLUMNS, account, cond);
    push_order(&mut qb, table, order);
    Ok(qb
        .build()
        .fetch_all(conn)
        .await?
        .iter()
        .map(stored_from)
        .collect())
}

pub async fn get(
    conn: &mut crate::db::Conn,
    table: Table,
    account: &str,
    id: &str,
) -> sqlx::Result<Option<Stored>> {
    read_one(conn, table, account, id, "").await
}

/// [`get`] for a read-modify-write of the resource in a write transaction: on PostgreSQL the row
/// stays locked until the commit, so a concurrent write to it waits and then reads the new
/// version (two PATCHes of one group's members both land; of two PUTs with the same `If-Match`
/// the second finds the version moved on). SQLite's one writer gives the same.
pub async fn get_for_update(
    conn: &mut crate::db::Conn,
    table: Table,
    account: &str,
    id: &str,
) -> sqlx::Result<Option<Stored>> {
    let lock = match crate::db::Backend::of_conn(conn) {
        crate::db::Backend::Postgres => " FOR UPDATE",
        crate::db::Backend::Sqlite => "",
    };
    read_one(conn, table, account, id, lock).await
}

async fn read_one(
    conn: &mut crate::db::Conn,
    table: Table,
    account: &str,
    id: &str,
    lock: &str,
) -> sqlx::Result<Option<Stored>> {
    let sql = match table {
        Table::Users => "SELECT id, doc, version, created_at, last_modified FROM scim_users WHERE account_id = $1 AND id = $2",
        Table::Groups => "SELECT id, doc, version, created_at, last_modified FROM scim_groups WHERE account_id = $1 AND id = $2 AND source = 'scim'",
    };
    Ok(sqlx::query(&format!("{sql}{lock}"))
        .bind(account)
        .bind(id)
        .fetch_optional(conn)
        .await?
        .as_ref()
        .map(stored_from))
}

/// Inserts a user; false (and nothing written) when its userName is taken in the account, so
/// a batch of inserts in one transaction survives one duplicate.
pub async fn insert_user(
    conn: &mut crate::db::Conn,
    account: &str,
    id: &str,
    cols: &UserCols,
    doc: &str,
    now: &str,
    source: &str,
) -> sqlx::Result<bool> {
    let r = sqlx::query(
        "INSERT INTO scim_users (id, account_id, user_name, user_name_lower, external_id, display_name,
            display_name_lower, primary_email, active, doc, version, created_at, last_modified, created_by)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, 1, $11, $11, $12)
         ON CONFLICT DO NOTHING",
    )
    .bind(id)
    .bind(account)
    .bind(&cols.user_name)
    .bind(cols.user_name.to_lowercase())
    .bind(&cols.external_id)
    .bind(&cols.display_name)
    .bind(cols.display_name.as_ref().map(|d| d.to_lowercase()))
    .bind(&cols.primary_email)
    .bind(cols.active.map(i64::from))
    .bind(doc)
    .bind(now)
    .bind(source)
    .execute(&mut *conn)
    .await?;
    if r.rows_affected() == 0 {
        return Ok(false);
    }
    insert_emails(conn, account, id, &cols.emails).await?;
    Ok(true)
}

async fn insert_emails(
    conn: &mut crate::db::Conn,
    account: &str,
    id: &str,
    emails: &[String],
) -> sqlx::Result<()> {
    for e in emails {
        sqlx::query("INSERT INTO scim_user_emails (user_id, account_id, value_lower) VALUES ($1, $2, $3)")
            .bind(id)
            .bind(account)
            .bind(e)
            .execute(&mut *conn)
            .await?;
    }
    Ok(())
}

/// Replaces a user's document and columns; the version goes up by one.
pub async fn update_user(
    conn: &mut crate::db::Conn,
    account: &str,
    id: &str,
    cols: &UserCols,
    doc: &str,
    now: &str,
) -> sqlx::Result<()> {
    sqlx::query(
        "UPDATE scim_users SET user_name = $3, user_name_lower = $4, external_id = $5, display_name = $6,
            display_name_lower = $7, primary_email = $8, active = $9, doc = $10, version = version + 1,
            last_modified = $11
         WHERE account_id = $1 AND id = $2",
    )
    .bind(account)
    .bind(id)
    .bind(&cols.user_name)
    .bind(cols.user_name.to_lowercase())
    .bind(&cols.external_id)
    .bind(&cols.display_name)
    .bind(cols.display_name.as_ref().map(|d| d.to_lowercase()))
    .bind(&cols.primary_email)
    .bind(cols.active.map(i64::from))
    .bind(doc)
    .bind(now)
    .execute(&mut *conn)
    .await?;
    sqlx::query("DELETE FROM scim_user_emails WHERE user_id = $1")
        .bind(id)
        .execute(&mut *conn)
        .await?;
    insert_emails(conn, account, id, &cols.emails).await
}

/// The indexed columns of a SCIM group.
#[derive(Debug, Clone, Default)]
pub struct GroupCols {
    pub display_name: String,
    pub external_id: Option<String>,
}

pub async fn insert_group(
    conn: &mut crate::db::Conn,
    account: &str,
    id: &str,
    cols: &GroupCols,
    doc: &str,
    now: &str,
    source: &str,
) -> sqlx::Result<()> {
    sqlx::query(
        "INSERT INTO scim_groups (id, account_id, source, role, display_name, display_name_lower, external_id,
            doc, version, created_at, last_modified, created_by)
         VALUES ($1, $2, 'scim', 'none', $3, $4, $5, $6, 1, $7, $7, $8)",
    )
    .bind(id)
    .bind(account)
    .bind(&cols.display_name)
    .bind(cols.display_name.to_lowercase())
    .bind(&cols.external_id)
    .bind(doc)
    .bind(now)
    .bind(source)
    .execute(conn)
    .await
    .map(|_| ())
}

pub async fn update_group(
    conn: &mut crate::db::Conn,
    account: &str,
    id: &str,
    cols: &GroupCols,
    doc: &str,
    now: &str,
) -> sqlx::Result<()> {
    sqlx::query(
        "UPDATE scim_groups SET display_name = $3, display_name_lower = $4, external_id = $5, doc = $6,
            version = version + 1, last_modified = $7
         WHERE account_id = $1 AND id = $2 AND source = 'scim'",
    )
    .bind(account)
    .bind(id)
    .bind(&cols.display_name)
    .bind(cols.display_name.to_lowercase())
    .bind(&cols.external_id)
    .bind(doc)
    .bind(now)
    .execute(conn)
    .await
    .map(|_| ())
}

/// Deletes a user or SCIM group and every membership naming it; false when there was none.
pub async fn delete(conn: &mut crate::db::Conn, table: Table, account: &str, id: &str) -> sqlx::Result<bool> {
    let sql = match table {
        Table::Users => "DELETE FROM scim_users WHERE account_id = $1 AND id = $2",
        Table::Groups => "DELETE FROM scim_groups WHERE account_id = $1 AND id = $2 AND source = 'scim'",
    };
    let r = sqlx::query(sql)
        .bind(account)
        .bind(id)
        .execute(&mut *conn)
        .await?;
    if r.rows_affected() == 0 {
        return Ok(false);
    }
    sqlx::query("DELETE FROM scim_members WHERE member_id = $1")
        .bind(id)
        .execute(&mut *conn)
        .await?;
    Ok(true)
}

/// A member of a group: id, type, the display the client sent, and the member's current name.
#[derive(Debug, Clone)]
pub struct MemberRow {
    pub group_id: String,
    pub member_id: String,
    pub member_type: String,
    pub client_display: Option<String>,
    pub name: Option<String>,
}

/// Members of the given groups, in a stable order.
pub async fn members_of(conn: &mut crate::db::Conn, groups: &[String]) -> sqlx::Result<Vec<MemberRow>> {
    if groups.is_empty() {
        return Ok(Vec::new());
    }
    let mut qb = Sql::new(
        "SELECT m.group_id, m.member_id, m.member_type, m.display,
            COALESCE(u.display_name, u.user_name, g.display_name) AS name
         FROM scim_members m
         LEFT JOIN scim_users u ON m.member_type = 'User' AND u.id = m.member_id
         LEFT JOIN scim_groups g ON m.member_type = 'Group' AND g.id = m.member_id
         WHERE m.group_id IN ",
    );
    qb.push_in_list(groups).push(" ORDER BY m.group_id, m.member_id");
    Ok(qb
        .build()
        .fetch_all(conn)
        .await?
        .iter()
        .map(|r| MemberRow {
            group_id: r.get("group_id"),
            member_id: r.get("member_id"),
            member_type: r.get("member_type"),
            client_display: r.get("display"),
            name: r.get("name"),
        })
        .collect())
}

/// The SCIM groups the given users (or groups) are direct members of: (member, group, name).
pub async fn groups_of(
    conn: &mut crate::db::Conn,
    members: &[String],
) -> sqlx::Result<Vec<(String, String, String)>> {
    if members.is_empty() {
        return Ok(Vec::new());
    }
    let mut qb = Sql::new(
        "SELECT m.member_id, g.id, g.display_name FROM scim_members m JOIN scim_groups g ON g.id = m.group_id
         WHERE m.member_id IN ",
    );
    qb.push_in_list(members)
        .push(" ORDER BY m.member_id, g.display_name_lower, g.id");
    Ok(qb
        .build()
        .fetch_all(conn)
        .await?
        .iter()
        .map(|r| (r.get("member_id"), r.get("id"), r.get("display_name")))
        .collect())
}

/// Which of `ids` are users or SCIM groups of the account: (id, "User" | "Group"), for a write
/// that is about to make them members. On PostgreSQL the rows found stay share-locked until the
/// commit, so a member deleted at the same time is deleted either before (and not found here) or
/// after (and its new membership deleted with it): never a membership naming nobody.
pub async fn resolve_members(
    conn: &mut crate::db::Conn,
    account: &str,
    ids: &[String],
) -> sqlx::Result<Vec<(String, String)>> {
    let lock = match crate::db::Backend::of_conn(conn) {
        crate::db::Backend::Postgres => " FOR KEY SHARE",
        crate::db::Backend::Sqlite => "",
    };
    let mut out = Vec::new();
    for chunk in ids.chunks(500) {
        for (kind, from) in [
            ("User", "scim_users WHERE account_id = "),
            ("Group", "scim_groups WHERE source = 'scim' AND account_id = "),
        ] {
            let mut qb = Sql::new("SELECT id FROM ");
            qb.push(from)
                .push_bind(account.to_string())
                .push(" AND id IN ")
                .push_in_list(chunk)
                .push(lock);
            for r in qb.build().fetch_all(&mut *conn).await? {
                out.push((r.get("id"), kind.to_string()));
            }
        }
    }
    Ok(out)
}

/// Adds a member, or updates the display of one that is already there.
pub async fn add_member(
    conn: &mut crate::db::Conn,
    group: &str,
    member: &str,
    member_type: &str,
    display: Option<&str>,
) -> sqlx::Result<()> {
    sqlx::query(
        "INSERT INTO scim_members (group_id, member_id, member_type, display) VALUES ($1, $2, $3, $4)
         ON CONFLICT (group_id, member_id) DO UPDATE SET display = excluded.display",
    )
    .bind(group)
    .bind(member)
    .bind(member_type)
    .bind(display)
    .execute(conn)
    .await
    .map(|_| ())
}

/// Removes a member; false when it was not one.
pub async fn remove_member(conn: &mut crate::db::Conn, group: &str, member: &str) -> sqlx::Result<bool> {
    let done = sqlx::query("DELETE FROM scim_members WHERE group_id = $1 AND member_id = $2")
        .bind(group)
        .bind(member)
        .execute(conn)
        .await?;
    Ok(done.rows_affected() > 0)
}

/// Which of `members` the group has, with the display each was given: the rows a membership
/// change touches, without reading a large group's other members.
pub async fn members_among(
    conn: &mut crate::db::Conn,
    group: &str,
    members: &[String],
) -> sqlx::Result<Vec<(String, Option<String>)>> {
    let mut out = Vec::new();
    for chunk in members.chunks(500) {
        let mut qb = Sql::new("SELECT member_id, display FROM scim_members WHERE group_id = ");
        qb.push_bind(group.to_string())
            .push(" AND member_id IN ")
            .push_in_list(chunk);
        for r in qb.build().fetch_all(&mut *conn).await? {
            out.push((r.get("member_id"), r.get("display")));
        }
    }
    Ok(out)
}

/// Sets the display a member was given.
pub async fn set_member_display(
    conn: &mut crate::db::Conn,
    group: &str,
    member: &str,
    display: Option<&str>,
) -> sqlx::Result<()> {
    sqlx::query("UPDATE scim_members SET display = $3 WHERE group_id = $1 AND member_id = $2")
        .bind(group)
        .bind(member)
        .bind(display)
        .execute(conn)
        .await
        .map(|_| ())
}

/// A new version of a group whose members changed (its document did not).
pub async fn touch_group(conn: &mut crate::db::Conn, account: &str, id: &str, now: &str) -> sqlx::Result<()> {
    sqlx::query(
        "UPDATE scim_groups SET version = version + 1, last_modified = $3
         WHERE account_id = $1 AND id = $2 AND source = 'scim'",
    )
    .bind(account)
    .bind(id)
    .bind(now)
    .execute(conn)
    .await
    .map(|_| ())
}
