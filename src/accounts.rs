//! Account administration shared by the console and the command line: accounts, user groups'
//! role bindings and API keys. Validation and the audit trail live here so that both front ends
//! behave the same.

use crate::audit::{self, Actor, Outcome};
use crate::db::scim_accounts::{self as store, Account, NewKey};
use crate::db::{self, Pool};
use crate::model::{AccountRole, GroupSource};
use crate::scim_server::auth;

#[derive(Debug, thiserror::Error)]
pub enum AccountError {
    #[error("{message}")]
    Invalid { field: &'static str, message: String },
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    Conflict(String),
    #[error("database error: {0}")]
    Db(#[from] sqlx::Error),
}

fn invalid(field: &'static str, message: impl Into<String>) -> AccountError {
    AccountError::Invalid {
        field,
        message: message.into(),
    }
}

pub const NAME_MAX: usize = 100;

fn clean_name(field: &'static str, name: &str) -> Result<String, AccountError> {
    let n = name.trim();
    if n.is_empty() {
        return Err(invalid(field, "enter a name"));
    }
    if n.chars().count() > NAME_MAX {
        return Err(invalid(field, format!("use at most {NAME_MAX} characters")));
    }
    if n.chars().any(char::is_control) {
        return Err(invalid(field, "the name contains control characters"));
    }
    Ok(n.to_string())
}

pub async fn create_account(pool: &Pool, name: &str, actor: &Actor) -> Result<Account, AccountError> {
    let name = clean_name("name", name)?;
    let id = auth::new_account_id();
    let now = crate::timefmt::now();
    match store::create(pool, &id, &name, &actor.name, &now).await {
        Ok(()) => {}
        Err(e) if db::is_unique_violation(&e) => {
            return Err(invalid(
                "name",
                format!("an account named {name:?} already exists"),
            ))
        }
        Err(e) => return Err(e.into()),
    }
    audit::record(
        pool,
        actor,
        "scim_account.create",
        &name,
        Outcome::Success,
        &format!("account {id}"),
    )
    .await;
    Ok(Account {
        id,
        name,
        created_at: now,
    })
}

pub async fn account(pool: &Pool, id: &str) -> Result<Account, AccountError> {
    store::get(pool, id)
        .await?
        .ok_or_else(|| AccountError::NotFound(format!("there is no account {id}")))
}

pub async fn create_group(
    pool: &Pool,
    account_id: &str,
    name: &str,
    role: AccountRole,
    actor: &Actor,
) -> Result<String, AccountError> {
    let a = account(pool, account_id).await?;
    let name = clean_name("name", name)?;
    if store::local_group_name_taken(pool, account_id, &name).await? {
        return Err(invalid(
            "name",
            format!("a user group named {name:?} already exists"),
        ));
    }
    let id = crate::ids::new();
    store::create_local_group(pool, account_id, &id, &name, role, &crate::timefmt::now()).await?;
    audit::record(
        pool,
        actor,
        "scim_group.create",
        &name,
        Outcome::Success,
        &format!("account {}; role {}", a.name, role.label()),
    )
    .await;
    Ok(id)
}

async fn group(
    pool: &Pool,
    account_id: &str,
    group_id: &str,
) -> Result<crate::model::UserGroupInfo, AccountError> {
    store::group(pool, account_id, group_id)
        .await?
        .ok_or_else(|| AccountError::NotFound("there is no such user group in this account".into()))
}

pub async fn set_group_role(
    pool: &Pool,
    account_id: &str,
    group_id: &str,
    role: AccountRole,
    actor: &Actor,
) -> Result<(), AccountError> {
    let g = group(pool, account_id, group_id).await?;
    if g.source == GroupSource::BuiltIn {
        return Err(invalid("role", "Account Administrators always has Account Admin"));
    }
    store::set_group_role(pool, account_id, group_id, role).await?;
    audit::record(
        pool,
        actor,
        "scim_group.set_role",
        &g.name,
        Outcome::Success,
        &format!("role {}", role.label()),
    )
    .await;
    Ok(())
}

pub async fn delete_group(
    pool: &Pool,
    account_id: &str,
    group_id: &str,
    actor: &Actor,
) -> Result<(), AccountError> {
    let g = group(pool, account_id, group_id).await?;
    if g.source != GroupSource::Local {
        return Err(invalid(
            "group",
            match g.source {
                GroupSource::BuiltIn => "the built-in Account Administrators group cannot be deleted",
                _ => "groups provisioned through SCIM are deleted by their identity provider",
            },
        ));
    }
    store::delete_local_group(pool, account_id, group_id).await?;
    audit::record(pool, actor, "scim_group.delete", &g.name, Outcome::Success, "").await;
    Ok(())
}

/// A new API key: what to show once.
pub struct CreatedKey {
    pub id: String,
    pub key: String,
    pub prefix: String,
}

/// Creates a key that inherits the named (or id'd) groups' permissions. `expires_in_days`: none
/// for a key that does not expire.
pub async fn create_api_key(
    pool: &Pool,
    account_id: &str,
    name: &str,
    groups: &[String],
    expires_in_days: Option<u32>,
    actor: &Actor,
) -> Result<CreatedKey, AccountError> {
    let a = account(pool, account_id).await?;
    let name = clean_name("name", name)?;
    if groups.is_empty() {
        return Err(invalid(
            "groups",
            "choose at least one user group to inherit permissions from",
        ));
    }
    let mut group_ids = Vec::new();
    for g in groups {
        let found = store::group_by_name_or_id(pool, account_id, g.trim()).await?;
        match found.len() {
            0 => {
                return Err(invalid(
                    "groups",
                    format!("there is no user group {g:?} in this account"),
                ))
            }
            1 => group_ids.push(found[0].id.clone()),
            _ => {
                return Err(invalid(
                    "groups",
                    format!("several user groups are named {g:?}; use the group's id"),
                ))
            }
        }
    }
    group_ids.sort();
    group_ids.dedup();
    let expires_at = match expires_in_days {
        None | Some(0) => None,
        Some(d) if d > 3650 => return Err(invalid("expires", "a key can live at most 3650 days")),
        Some(d) => Some(crate::timefmt::format(
            time::OffsetDateTime::now_utc() + time::Duration::days(i64::from(d)),
        )),
    };
    let (key, prefix, hash) = auth::generate_key();
    let id = crate::ids::new();
    store::create_key(
        pool,
        &NewKey {
            id: &id,
            account: account_id,
            name: &name,
            prefix: &prefix,
            hash: &hash,
            groups: &group_ids,
            expires_at: expires_at.as_deref(),
            created_by: &actor.name,
            now: &crate::timefmt::now(),
        },
    )
    .await?;
    audit::record(
        pool,
        actor,
        "scim_api_key.create",
        &name,
        Outcome::Success,
        &format!(
            "account {}; key {prefix}…; inherits {}; {}",
            a.name,
            groups.join(", "),
            expires_at
                .map(|e| format!("expires {e}"))
                .unwrap_or_else(|| "no expiry".into())
        ),
    )
    .await;
    Ok(CreatedKey { id, key, prefix })
}

/// Revokes a key, found by id or by its displayed prefix.
pub async fn revoke_api_key(
    pool: &Pool,
    account_id: &str,
    key: &str,
    actor: &Actor,
) -> Result<String, AccountError> {
    let keys = store::keys(pool, account_id).await?;
    let k = keys
        .iter()
        .find(|k| k.id == key || k.prefix == key)
        .ok_or_else(|| AccountError::NotFound(format!("there is no API key {key} in this account")))?;
    if k.revoked_at.is_some() {
        return Err(AccountError::Conflict(format!(
            "the API key {} is already revoked",
            k.name
        )));
    }
    store::revoke_key(pool, account_id, &k.id, &crate::timefmt::now()).await?;
    audit::record(
        pool,
        actor,
        "scim_api_key.revoke",
        &k.name,
        Outcome::Success,
        &format!("key {}…", k.prefix),
    )
    .await;
    Ok(k.name.clone())
}
