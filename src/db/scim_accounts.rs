//! SCIM accounts, their user groups (role bindings) and API keys.

use super::Pool;
use crate::model::{AccountRole, ApiKeyInfo, GroupSource, UserGroupInfo};
use sqlx::Row;

pub const ADMINISTRATORS: &str = "Account Administrators";

#[derive(Debug, Clone)]
pub struct Account {
    pub id: String,
    pub name: String,
    pub created_at: String,
}

#[derive(Debug, Clone)]
pub struct AccountCounts {
    pub account: Account,
    pub users: i64,
    pub groups: i64,
    pub active_keys: i64,
}

/// Creates an account with its built-in Account Administrators group, in one transaction.
pub async fn create(pool: &Pool, id: &str, name: &str, actor: &str, now: &str) -> sqlx::Result<()> {
    // The unique index on the name decides between two creates of one name.
    let mut tx = super::begin(pool, super::Exclusive::Rows).await?;
    sqlx::query(
        "INSERT INTO scim_accounts (id, name, name_lower, created_at, created_by) VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(id)
    .bind(name)
    .bind(name.to_lowercase())
    .bind(now)
    .bind(actor)
    .execute(&mut *tx)
    .await?;
    insert_group(
        &mut tx,
        id,
        &crate::ids::new(),
        GroupSource::BuiltIn,
        AccountRole::AccountAdmin,
        ADMINISTRATORS,
        now,
    )
    .await?;
    tx.commit().await
}

async fn insert_group(
    tx: &mut crate::db::Conn,
    account: &str,
    id: &str,
    source: GroupSource,
    role: AccountRole,
    name: &str,
    now: &str,
) -> sqlx::Result<()> {
    sqlx::query(
        "INSERT INTO scim_groups (id, account_id, source, role, display_name, display_name_lower, doc, version, created_at, last_modified)
         VALUES ($1, $2, $3, $4, $5, $6, $7, 1, $8, $8)",
    )
    .bind(id)
    .bind(account)
    .bind(source.as_str())
    .bind(role.as_str())
    .bind(name)
    .bind(name.to_lowercase())
    .bind(serde_json::json!({"displayName": name}).to_string())
    .bind(now)
    .execute(tx)
    .await
    .map(|_| ())
}

fn account_from(row: &crate::db::Row) -> Account {
    Account {
        id: row.get("id"),
        name: row.get("name"),
        created_at: row.get("created_at"),
    }
}

pub async fn get(pool: &Pool, id: &str) -> sqlx::Result<Option<Account>> {
    Ok(
        sqlx::query("SELECT id, name, created_at FROM scim_accounts WHERE id = $1")
            .bind(id)
            .fetch_optional(pool)
            .await?
            .as_ref()
            .map(account_from),
    )
}

/// Finds an account by id or by name (case-insensitive), for the command line.
pub async fn find(pool: &Pool, id_or_name: &str) -> sqlx::Result<Option<Account>> {
    Ok(
        sqlx::query("SELECT id, name, created_at FROM scim_accounts WHERE id = $1 OR name_lower = $2")
            .bind(id_or_name)
            .bind(id_or_name.to_lowercase())
            .fetch_optional(pool)
            .await?
            .as_ref()
            .map(account_from),
    )
}

/// Accounts with their counts; `$1` is now (for unexpired keys).
const ACCOUNT_COUNTS: &str = "SELECT a.id, a.name, a.created_at,
    (SELECT count(*) FROM scim_users u WHERE u.account_id = a.id) AS users,
    (SELECT count(*) FROM scim_groups g WHERE g.account_id = a.id) AS groups,
    (SELECT count(*) FROM scim_api_keys k WHERE k.account_id = a.id AND k.revoked_at IS NULL
        AND (k.expires_at IS NULL OR k.expires_at > $1)) AS active_keys
    FROM scim_accounts a";

fn counts_from(r: &crate::db::Row) -> AccountCounts {
    AccountCounts {
        account: account_from(r),
        users: r.get("users"),
        groups: r.get("groups"),
        active_keys: r.get("active_keys"),
    }
}

/// Every account with its counts, by name (the command line's list).
pub async fn list(pool: &Pool, now: &str) -> sqlx::Result<Vec<AccountCounts>> {
    let rows = sqlx::query(&format!("{ACCOUNT_COUNTS} ORDER BY a.name_lower"))
        .bind(now)
        .fetch_all(pool)
        .await?;
    Ok(rows.iter().map(counts_from).collect())
}

/// A page of the accounts whose name (or id) contains `q` ignoring case and accents, by name,
/// with how many match in all. Names are compared here (one narrow read of id and name), and
/// only the page's accounts are counted: counting every account's users for a list of thousands
/// would read every account's index.
pub async fn page(
    pool: &Pool,
    now: &str,
    q: &str,
    offset: i64,
    limit: i64,
) -> sqlx::Result<(Vec<AccountCounts>, i64)> {
    let q = crate::mapping::text::search_fold(q);
    let names = sqlx::query("SELECT id, name FROM scim_accounts ORDER BY name_lower, id")
        .fetch_all(pool)
        .await?;
    let matching: Vec<String> = names
        .iter()
        .filter(|r| {
            q.is_empty()
                || crate::mapping::text::search_fold(&r.get::<String, _>("name")).contains(&q)
                || r.get::<String, _>("id").to_lowercase().contains(&q)
        })
        .map(|r| r.get("id"))
        .collect();
    let total = matching.len() as i64;
    let mut rows = Vec::new();
    for id in matching
        .iter()
        .skip(offset.max(0) as usize)
        .take(limit.max(0) as usize)
    {
        if let Some(a) = counts(pool, id, now).await? {
            rows.push(a);
        }
    }
    Ok((rows, total))
}

/// One account with its counts.
pub async fn counts(pool: &Pool, id: &str, now: &str) -> sqlx::Result<Option<AccountCounts>> {
    let row = sqlx::query(&format!("{ACCOUNT_COUNTS} WHERE a.id = $2"))
        .bind(now)
        .bind(id)
        .fetch_optional(pool)
        .await?;
    Ok(row.as_ref().map(counts_from))
}

// ---- user groups ----------------------------------------------------------------------------

const GROUP_COLUMNS: &str = "SELECT g.id, g.display_name, g.source, g.role, g.external_id,
    (SELECT count(*) FROM scim_members m WHERE m.group_id = g.id) AS members FROM scim_groups g";
const GROUP_ORDER: &str =
    "ORDER BY CASE g.source WHEN 'builtin' THEN 0 WHEN 'local' THEN 1 ELSE 2 END, g.display_name_lower, g.id";

/// The user groups whose names start with `q` (all when empty), at most `limit` from `offset`,
/// and how many match in all. Groups are few next to users (Entra pushes the groups assigned to
/// an application), so offset paging is enough here.
pub async fn groups_page(
    pool: &Pool,
    account: &str,
    q: &str,
    limit: i64,
    offset: i64,
) -> sqlx::Result<(Vec<UserGroupInfo>, i64)> {
    let lower = q.trim().to_lowercase();
    let mut upper = lower.clone();
    upper.push(char::MAX);
    let filter =
        "g.account_id = $1 AND ($2 = '' OR (g.display_name_lower >= $2 AND g.display_name_lower < $3))";
    let rows = sqlx::query(&format!(
        "{GROUP_COLUMNS} WHERE {filter} {GROUP_ORDER} LIMIT $4 OFFSET $5"
    ))
    .bind(account)
    .bind(&lower)
    .bind(&upper)
    .bind(limit)
    .bind(offset)
    .fetch_all(pool)
    .await?;
    let total: i64 = sqlx::query_scalar(&format!("SELECT count(*) FROM scim_groups g WHERE {filter}"))
        .bind(account)
        .bind(&lower)
        .bind(&upper)
        .fetch_one(pool)
        .await?;
    Ok((rows.iter().map(group_from).collect(), total))
}

/// The groups a new API key can usefully inherit from: built-in and local groups, and SCIM
/// groups that have been given a role.
pub async fn inheritable_groups(pool: &Pool, account: &str) -> sqlx::Result<Vec<UserGroupInfo>> {
    let rows = sqlx::query(&format!(
        "{GROUP_COLUMNS} WHERE g.account_id = $1 AND (g.source <> 'scim' OR g.role <> 'none') {GROUP_ORDER}"
    ))
    .bind(account)
    .fetch_all(pool)
    .await?;
    Ok(rows.iter().map(group_from).collect())
}

fn group_from(r: &crate::db::Row) -> UserGroupInfo {
    UserGroupInfo {
        id: r.get("id"),
        name: r.get("display_name"),
        source: GroupSource::parse(r.get("source")),
        role: AccountRole::parse(r.get("role")).unwrap_or(AccountRole::None),
        members: r.get("members"),
        external_id: r.get("external_id"),
    }
}

/// One user group of an account.
pub async fn group(pool: &Pool, account: &str, id: &str) -> sqlx::Result<Option<UserGroupInfo>> {
    let row = sqlx::query(&format!("{GROUP_COLUMNS} WHERE g.account_id = $1 AND g.id = $2"))
        .bind(account)
        .bind(id)
        .fetch_optional(pool)
        .await?;
    Ok(row.as_ref().map(group_from))
}

/// Resolves group names or ids of an account (case-insensitive names), for API key creation.
pub async fn group_by_name_or_id(pool: &Pool, account: &str, name: &str) -> sqlx::Result<Vec<UserGroupInfo>> {
    let rows = sqlx::query(
        "SELECT g.id, g.display_name, g.source, g.role, g.external_id, 0 AS members
         FROM scim_groups g WHERE g.account_id = $1 AND (g.id = $2 OR g.display_name_lower = $3)",
    )
    .bind(account)
    .bind(name)
    .bind(name.to_lowercase())
    .fetch_all(pool)
    .await?;
    Ok(rows.iter().map(group_from).collect())
}

pub async fn local_group_name_taken(pool: &Pool, account: &str, name: &str) -> sqlx::Result<bool> {
    let n: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM scim_groups WHERE account_id = $1 AND display_name_lower = $2 AND source <> 'scim'",
    )
    .bind(account)
    .bind(name.to_lowercase())
    .fetch_one(pool)
    .await?;
    Ok(n > 0)
}

pub async fn create_local_group(
    pool: &Pool,
    account: &str,
    id: &str,
    name: &str,
    role: AccountRole,
    now: &str,
) -> sqlx::Result<()> {
    let mut tx = super::begin(pool, super::Exclusive::Rows).await?;
    insert_group(&mut tx, account, id, GroupSource::Local, role, name, now).await?;
    tx.commit().await
}

/// Sets a group's role; the built-in group keeps Account Admin.
pub async fn set_group_role(
    pool: &Pool,
    account: &str,
    group: &str,
    role: AccountRole,
) -> sqlx::Result<bool> {
    let r = super::write(
        pool,
        sqlx::query(
            "UPDATE scim_groups SET role = $3 WHERE account_id = $1 AND id = $2 AND source <> 'builtin'",
        )
        .bind(account)
        .bind(group)
        .bind(role.as_str()),
    )
    .await?;
    Ok(r > 0)
}

/// Deletes a local group (built-in and SCIM groups are not the console's to delete).
pub async fn delete_local_group(pool: &Pool, account: &str, group: &str) -> sqlx::Result<bool> {
    let r = super::write(
        pool,
        sqlx::query("DELETE FROM scim_groups WHERE account_id = $1 AND id = $2 AND source = 'local'")
            .bind(account)
            .bind(group),
    )
    .await?;
    Ok(r > 0)
}

// ---- API keys -------------------------------------------------------------------------------

pub struct NewKey<'a> {
    pub id: &'a str,
    pub account: &'a str,
    pub name: &'a str,
    pub prefix: &'a str,
    pub hash: &'a str,
    pub groups: &'a [String],
    pub expires_at: Option<&'a str>,
    pub created_by: &'a str,
    pub now: &'a str,
}

pub async fn create_key(pool: &Pool, k: &NewKey<'_>) -> sqlx::Result<()> {
    // The key's groups are foreign keys: a group deleted meanwhile fails the insert (or takes
    // its row with it once committed), never leaves a key naming a group that is gone.
    let mut tx = super::begin(pool, super::Exclusive::Rows).await?;
    sqlx::query(
        "INSERT INTO scim_api_keys (id, account_id, name, prefix, hash, created_at, created_by, expires_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(k.id)
    .bind(k.account)
    .bind(k.name)
    .bind(k.prefix)
    .bind(k.hash)
    .bind(k.now)
    .bind(k.created_by)
    .bind(k.expires_at)
    .execute(&mut *tx)
    .await?;
    for g in k.groups {
        sqlx::query("INSERT INTO scim_api_key_groups (key_id, group_id) VALUES ($1, $2)")
            .bind(k.id)
            .bind(g)
            .execute(&mut *tx)
            .await?;
    }
    tx.commit().await
}

pub async fn keys(pool: &Pool, account: &str) -> sqlx::Result<Vec<ApiKeyInfo>> {
    let now = crate::timefmt::now();
    let concat = match super::Backend::of(pool) {
        super::Backend::Sqlite => "group_concat(g.display_name, char(31))",
        super::Backend::Postgres => "string_agg(g.display_name, chr(31))",
    };
    let rows = sqlx::query(&format!(
        "SELECT k.id, k.name, k.prefix, k.created_at, k.created_by, k.last_used_at, k.expires_at, k.revoked_at,
            (SELECT {concat} FROM scim_api_key_groups kg
               JOIN scim_groups g ON g.id = kg.group_id WHERE kg.key_id = k.id) AS groups
         FROM scim_api_keys k WHERE k.account_id = $1 ORDER BY k.created_at DESC, k.id DESC"
    ))
    .bind(account)
    .fetch_all(pool)
    .await?;
    Ok(rows
        .iter()
        .map(|r| {
            let groups: Option<String> = r.get("groups");
            let mut groups: Vec<String> = groups
                .map(|g| g.split('\u{1f}').map(str::to_string).collect())
                .unwrap_or_default();
            groups.sort();
            let mut k = ApiKeyInfo {
                id: r.get("id"),
                name: r.get("name"),
                prefix: r.get("prefix"),
                groups,
                created_at: r.get("created_at"),
                created_by: r.get("created_by"),
                last_used_at: r.get("last_used_at"),
                expires_at: r.get("expires_at"),
                revoked_at: r.get("revoked_at"),
                status: String::new(),
            };
            k.status = k.status(&now).to_string();
            k
        })
        .collect())
}

/// Revokes a key of an account; false when there is no such key or it was already revoked.
pub async fn revoke_key(pool: &Pool, account: &str, key: &str, now: &str) -> sqlx::Result<bool> {
    let statement = sqlx::query(
        "UPDATE scim_api_keys SET revoked_at = $3 WHERE account_id = $1 AND id = $2 AND revoked_at IS NULL",
    )
    .bind(account)
    .bind(key)
    .bind(now);
    let r = super::write(pool, statement).await?;
    Ok(r > 0)
}

/// What a presented key grants: found by its hash through the unique index.
#[derive(Debug, Clone)]
pub struct KeyGrant {
    pub key_id: String,
    pub key_name: String,
    pub account_id: String,
    pub expires_at: Option<String>,
    pub revoked: bool,
    pub role: AccountRole,
}

pub async fn key_by_hash(pool: &Pool, hash: &str) -> sqlx::Result<Option<KeyGrant>> {
    let row = sqlx::query(
        "SELECT k.id, k.name, k.account_id, k.expires_at, k.revoked_at,
            (SELECT max(CASE g.role WHEN 'account_admin' THEN 2 WHEN 'account_viewer' THEN 1 ELSE 0 END)
               FROM scim_api_key_groups kg JOIN scim_groups g ON g.id = kg.group_id WHERE kg.key_id = k.id) AS level
         FROM scim_api_keys k WHERE k.hash = $1",
    )
    .bind(hash)
    .fetch_optional(pool)
    .await?;
    Ok(row.map(|r| {
        let level: Option<i64> = r.get("level");
        let revoked: Option<String> = r.get("revoked_at");
        KeyGrant {
            key_id: r.get("id"),
            key_name: r.get("name"),
            account_id: r.get("account_id"),
            expires_at: r.get("expires_at"),
            revoked: revoked.is_some(),
            role: match level.unwrap_or(0) {
                2 => AccountRole::AccountAdmin,
                1 => AccountRole::AccountViewer,
                _ => AccountRole::None,
            },
        }
    }))
}

/// Records a key's last use. In the write queue: as an autocommit write beside it, on SQLite it
/// would wait in the busy handler while the queued writers of a busy endpoint take the lock one
/// after another, and could give up after the busy timeout.
pub async fn touch_key(pool: &Pool, key: &str, now: &str) -> sqlx::Result<()> {
    let statement = sqlx::query("UPDATE scim_api_keys SET last_used_at = $2 WHERE id = $1")
        .bind(key)
        .bind(now);
    super::write(pool, statement).await.map(|_| ())
}
