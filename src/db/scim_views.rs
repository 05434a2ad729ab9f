//! What the console shows of an account's SCIM users and groups: the users list searched and
//! paged, a group's member names, where a resource came from. The SCIM endpoint's own reads and
//! writes are in `scim_resources`.

use super::scim_resources::Table;
use super::Pool;
use crate::db::sql::Sql;
use sqlx::Row;

/// Prefix search on userName, displayName or any email, keyset-paged by id: each page is an
/// index range scan, so page 2,000 costs what page 1 does.
fn push_user_search(qb: &mut Sql<'_>, account: &str, q: Option<&str>) {
    qb.push(" FROM scim_users WHERE account_id = ")
        .push_bind(account.to_string());
    if let Some(q) = q.map(str::to_lowercase).filter(|q| !q.is_empty()) {
        let mut upper = q.clone();
        upper.push(char::MAX);
        qb.push(" AND ((user_name_lower >= ")
            .push_bind(q.clone())
            .push(" AND user_name_lower < ")
            .push_bind(upper.clone());
        qb.push(") OR (display_name_lower >= ")
            .push_bind(q.clone())
            .push(" AND display_name_lower < ")
            .push_bind(upper.clone());
        qb.push(") OR id IN (SELECT user_id FROM scim_user_emails WHERE account_id = ")
            .push_bind(account.to_string());
        qb.push(" AND value_lower >= ")
            .push_bind(q)
            .push(" AND value_lower < ")
            .push_bind(upper)
            .push("))");
    }
}

pub async fn console_user_page(
    pool: &Pool,
    account: &str,
    q: Option<&str>,
    after: Option<&str>,
    limit: i64,
) -> sqlx::Result<(Vec<crate::model::ScimUserRow>, bool)> {
    let mut qb = Sql::new(
        "SELECT id, user_name, display_name, primary_email, active, external_id, created_by, last_modified",
    );
    push_user_search(&mut qb, account, q);
    if let Some(a) = after {
        qb.push(" AND id > ").push_bind(a.to_string());
    }
    qb.push(" ORDER BY id LIMIT ").push_bind(limit + 1);
    let rows = qb.build().fetch_all(pool).await?;
    let more = rows.len() as i64 > limit;
    Ok((
        rows.iter()
            .take(limit as usize)
            .map(|r| crate::model::ScimUserRow {
                id: r.get("id"),
                user_name: r.get("user_name"),
                display_name: r.get("display_name"),
                email: r.get("primary_email"),
                active: r.get::<Option<i64>, _>("active").map(|a| a != 0),
                external_id: r.get("external_id"),
                source: r.get("created_by"),
                last_modified: r.get("last_modified"),
            })
            .collect(),
        more,
    ))
}

pub async fn console_user_count(pool: &Pool, account: &str, q: Option<&str>) -> sqlx::Result<i64> {
    let mut qb = Sql::new("SELECT count(*)");
    push_user_search(&mut qb, account, q);
    qb.build_query_scalar().fetch_one(pool).await
}

/// Who provisioned a resource (the API key's name).
pub async fn source_of(pool: &Pool, table: Table, account: &str, id: &str) -> sqlx::Result<Option<String>> {
    let sql = match table {
        Table::Users => "SELECT created_by FROM scim_users WHERE account_id = $1 AND id = $2",
        Table::Groups => "SELECT created_by FROM scim_groups WHERE account_id = $1 AND id = $2",
    };
    Ok(sqlx::query_scalar::<_, Option<String>>(sql)
        .bind(account)
        .bind(id)
        .fetch_optional(pool)
        .await?
        .flatten())
}

/// The first members of a group with their current names, and how many there are.
pub async fn member_names(
    pool: &Pool,
    group: &str,
    limit: i64,
) -> sqlx::Result<(Vec<(String, String)>, i64)> {
    let rows = sqlx::query(
        "SELECT m.member_id, COALESCE(u.user_name, g.display_name, m.member_id) AS name
         FROM scim_members m
         LEFT JOIN scim_users u ON m.member_type = 'User' AND u.id = m.member_id
         LEFT JOIN scim_groups g ON m.member_type = 'Group' AND g.id = m.member_id
         WHERE m.group_id = $1 ORDER BY name LIMIT $2",
    )
    .bind(group)
    .bind(limit)
    .fetch_all(pool)
    .await?;
    let total: i64 = sqlx::query_scalar("SELECT count(*) FROM scim_members WHERE group_id = $1")
        .bind(group)
        .fetch_one(pool)
        .await?;
    Ok((
        rows.iter().map(|r| (r.get("member_id"), r.get("name"))).collect(),
        total,
    ))
}
