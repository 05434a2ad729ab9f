//! Directory groups and their direct members: reads, writes (each with its change) and pages.

use super::*;
use crate::db::sql::Sql;
use sqlx::Row;

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
        "INSERT INTO dir_groups (id, display_name, display_lower, description, mail_nickname, created_at, updated_at,
             search_fold)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(&g.id)
    .bind(&g.display_name)
    .bind(g.display_name.to_lowercase())
    .bind(&g.description)
    .bind(&g.mail_nickname)
    .bind(&g.created_at)
    .bind(&g.updated_at)
    .bind(search_text(g))
    .execute(&mut *conn)
    .await?;
    record_change(conn, ChangeKind::Group, &g.id, "", "create", &g.created_at).await
}

pub async fn update_group(conn: &mut crate::db::Conn, g: &GroupRecord) -> sqlx::Result<()> {
    sqlx::query(
        "UPDATE dir_groups SET display_name = $2, display_lower = $3, description = $4, mail_nickname = $5,
             updated_at = $6, search_fold = $7 WHERE id = $1",
    )
    .bind(&g.id)
    .bind(&g.display_name)
    .bind(g.display_name.to_lowercase())
    .bind(&g.description)
    .bind(&g.mail_nickname)
    .bind(&g.updated_at)
    .bind(search_text(g))
    .execute(&mut *conn)
    .await?;
    record_change(conn, ChangeKind::Group, &g.id, "", "update", &g.updated_at).await
}

/// What the groups list's search looks in, folded: display name, description and mail nickname.
fn search_text(g: &GroupRecord) -> String {
    crate::mapping::text::search_fold(&format!(
        "{} {} {}",
        g.display_name, g.description, g.mail_nickname
    ))
}

/// Folds the search column of groups written before it existed (see the users' backfill).
pub async fn backfill_group_search(pool: &Pool) -> sqlx::Result<u64> {
    let mut done = 0;
    loop {
        let rows: Vec<GroupRecord> = sqlx::query(
            "SELECT id, display_name, description, mail_nickname, created_at, updated_at FROM dir_groups
             WHERE search_fold IS NULL ORDER BY id LIMIT 1000",
        )
        .fetch_all(pool)
        .await?
        .iter()
        .map(group_from)
        .collect();
        if rows.is_empty() {
            return Ok(done);
        }
        let mut tx = crate::db::begin(pool, crate::db::Exclusive::Directory).await?;
        for g in &rows {
            sqlx::query("UPDATE dir_groups SET search_fold = $2 WHERE id = $1")
                .bind(&g.id)
                .bind(search_text(g))
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        done += rows.len() as u64;
    }
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
                .map(|r| (r.get::<String, _>("group_id"), r.get::<String, _>("member_id"))),
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

/// ` FROM dir_groups g WHERE ...`: the groups whose name, description or mail nickname contains
/// `q`, ignoring case and accents.
fn push_group_filter(qb: &mut Sql<'_>, q: Option<&str>) {
    qb.push(" FROM dir_groups g WHERE 1 = 1");
    if let Some(q) = q.map(crate::mapping::text::search_fold).filter(|q| !q.is_empty()) {
        qb.push(" AND g.search_fold LIKE ")
            .push_bind(super::users::contains_pattern(&q))
            .push(" ESCAPE '\\'");
    }
}

pub async fn group_page(
    pool: &Pool,
    q: Option<&str>,
    order: crate::model::GroupSort,
    offset: i64,
    limit: i64,
) -> sqlx::Result<Vec<GroupListRow>> {
    let mut qb = Sql::new("SELECT g.id, g.display_name, g.description, g.member_count AS members");
    push_group_filter(&mut qb, q);
    let dir = if order.descending() { "DESC" } else { "ASC" };
    qb.push(match order.by_members() {
        true => format!(" ORDER BY g.member_count {dir}, g.display_lower, g.id"),
        false => format!(" ORDER BY g.display_lower {dir}, g.id {dir}"),
    });
    qb.push(" LIMIT ")
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

/// One page of a group's direct members (users first, then groups, each by name), those whose
/// name, UPN or mail contains `q` (ignoring case and accents) when given; and how many match.
pub async fn members(
    pool: &Pool,
    group: &str,
    q: Option<&str>,
    offset: i64,
    limit: i64,
) -> sqlx::Result<(Vec<MemberListRow>, i64)> {
    let pattern = q
        .map(crate::mapping::text::search_fold)
        .filter(|q| !q.is_empty())
        .map(|q| super::users::contains_pattern(&q));
    let from = |qb: &mut Sql<'_>| {
        qb.push(
            " FROM dir_members m
             LEFT JOIN dir_users u ON m.member_type = 'user' AND u.id = m.member_id
             LEFT JOIN dir_groups g ON m.member_type = 'group' AND g.id = m.member_id
             WHERE m.group_id = ",
        )
        .push_bind(group.to_string());
        if let Some(p) = &pattern {
            qb.push(" AND (u.search_fold LIKE ")
                .push_bind(p.clone())
                .push(" ESCAPE '\\' OR g.search_fold LIKE ")
                .push_bind(p.clone())
                .push(" ESCAPE '\\')");
        }
    };
    let mut qb = Sql::new(
        "SELECT m.member_id, m.member_type,
             COALESCE(u.display_name, g.display_name, m.member_id) AS name,
             COALESCE(u.upn, g.description, '') AS detail,
             COALESCE(u.account_enabled, 1) AS enabled,
             CASE WHEN u.deleted_at IS NOT NULL THEN 1 ELSE 0 END AS deleted",
    );
    from(&mut qb);
    qb.push(" ORDER BY m.member_type DESC, lower(COALESCE(u.display_name, g.display_name, m.member_id)), m.member_id LIMIT ")
        .push_bind(limit)
        .push(" OFFSET ")
        .push_bind(offset);
    let rows = qb.build().fetch_all(pool).await?;
    let total: i64 = match &pattern {
        None => sqlx::query_scalar("SELECT member_count FROM dir_groups WHERE id = $1")
            .bind(group)
            .fetch_optional(pool)
            .await?
            .unwrap_or(0),
        Some(_) => {
            let mut qb = Sql::new("SELECT count(*)");
            from(&mut qb);
            qb.build_query_scalar().fetch_one(pool).await?
        }
    };
    Ok((
        rows.iter()
            .map(|r| MemberListRow {
                id: r.get("member_id"),
                member_type: r.get("member_type"),
                name: r.get("name"),
                detail: r.get("detail"),
                enabled: r.get::<i64, _>("enabled") != 0,
                deleted: r.get::<i64, _>("deleted") != 0,
            })
            .collect(),
        total,
    ))
}

/// The groups a user or group is a direct member of.
pub async fn groups_of(pool: &Pool, member: &str) -> sqlx::Result<Vec<Named>> {
    let rows = sqlx::query(
        "SELECT g.id, g.display_name AS name, g.description AS detail FROM dir_members m JOIN dir_groups g ON g.id = m.group_id
         WHERE m.member_id = $1 ORDER BY g.display_lower",
    )
    .bind(member)
    .fetch_all(pool)
    .await?;
    Ok(rows.iter().map(|r| Named::read(ObjectType::Group, r)).collect())
}
