//! Access Management: SCIM accounts, their user groups and API keys, and what has been
//! provisioned into them.

use super::ApiError;
use crate::model::{
    AccountPage, AccountSummary, ApiKeyInfo, NewApiKey, ScimResourceDetail, ScimUserPage, UserGroupInfo,
    UserGroupPage,
};
use leptos::prelude::*;

#[cfg(feature = "ssr")]
mod ssr {
    pub(crate) use super::super::guard;
    pub use crate::accounts;
    pub use crate::db::scim_accounts as store;
    pub use crate::model::{AccountRole, Role};
    pub use crate::state::AppState;

    pub async fn summary(
        state: &AppState,
        a: crate::db::scim_accounts::AccountCounts,
    ) -> crate::model::AccountSummary {
        crate::model::AccountSummary {
            tenant_url: crate::scim_server::tenant_url(&state.settings.public_url, &a.account.id),
            id: a.account.id,
            name: a.account.name,
            created_at: a.account.created_at,
            users: a.users,
            groups: a.groups,
            active_keys: a.active_keys,
        }
    }

    pub fn parse_role(s: &str) -> Result<AccountRole, super::ApiError> {
        AccountRole::parse(s).ok_or_else(|| super::ApiError::invalid("role", "Choose a role."))
    }
}

/// A page of the accounts whose name or id contains `q` (case and accents aside), 50 a page.
#[server(endpoint = "access/accounts")]
pub async fn list_accounts(
    #[server(default)] q: String,
    #[server(default)] page: u32,
) -> Result<AccountPage, ApiError> {
    use ssr::*;
    let state = guard::state()?;
    guard::require(Role::Viewer)?;
    let q = q.trim();
    if q.chars().count() > 200 {
        return Err(ApiError::invalid("q", "Search for at most 200 characters."));
    }
    let offset = i64::from(page.min(100_000)) * crate::model::ACCOUNT_PAGE;
    let (rows, total) = store::page(
        &state.pool,
        &crate::timefmt::now(),
        q,
        offset,
        crate::model::ACCOUNT_PAGE,
    )
    .await?;
    let mut out = Vec::new();
    for a in rows {
        out.push(summary(&state, a).await);
    }
    Ok(AccountPage {
        rows: out,
        total,
        offset,
    })
}

#[server(endpoint = "access/account")]
pub async fn get_account(id: String) -> Result<AccountSummary, ApiError> {
    use ssr::*;
    let state = guard::state()?;
    guard::require(Role::Viewer)?;
    let a = store::counts(&state.pool, &id, &crate::timefmt::now())
        .await?
        .ok_or_else(|| ApiError::NotFound("There is no such account.".into()))?;
    Ok(summary(&state, a).await)
}

#[server(endpoint = "access/create_account")]
pub async fn create_account(csrf: String, name: String) -> Result<String, ApiError> {
    use ssr::*;
    let state = guard::state()?;
    let me = guard::admin_change(&csrf).await?;
    let a = accounts::create_account(&state.pool, &name, &guard::actor(&me)).await?;
    // Without JavaScript the form posts and the browser follows this to the new account.
    leptos_axum::redirect(&format!("/access/accounts/{}", a.id));
    Ok(a.id)
}

pub const GROUP_PAGE: i64 = 200;

/// User groups whose names start with `q`: built-in and local first, then SCIM groups.
#[server(endpoint = "access/user_groups")]
pub async fn list_user_groups(
    account: String,
    #[server(default)] q: String,
    #[server(default)] page: u32,
) -> Result<UserGroupPage, ApiError> {
    use ssr::*;
    let state = guard::state()?;
    guard::require(Role::Viewer)?;
    accounts::account(&state.pool, &account).await?;
    let offset = i64::from(page) * GROUP_PAGE;
    let (rows, total) = store::groups_page(&state.pool, &account, &q, GROUP_PAGE, offset).await?;
    Ok(UserGroupPage { rows, total, offset })
}

/// The groups offered under "Permissions Inherited from".
#[server(endpoint = "access/inheritable_groups")]
pub async fn list_inheritable_groups(account: String) -> Result<Vec<UserGroupInfo>, ApiError> {
    use ssr::*;
    let state = guard::state()?;
    guard::require(Role::Viewer)?;
    accounts::account(&state.pool, &account).await?;
    Ok(store::inheritable_groups(&state.pool, &account).await?)
}

#[server(endpoint = "access/create_user_group")]
pub async fn create_user_group(
    csrf: String,
    account: String,
    name: String,
    role: String,
) -> Result<String, ApiError> {
    use ssr::*;
    let state = guard::state()?;
    let me = guard::admin_change(&csrf).await?;
    let role = ssr::parse_role(&role)?;
    accounts::create_group(&state.pool, &account, &name, role, &guard::actor(&me)).await?;
    Ok(name.trim().to_string())
}

#[server(endpoint = "access/set_user_group_role")]
pub async fn set_user_group_role(
    csrf: String,
    account: String,
    group: String,
    role: String,
) -> Result<(), ApiError> {
    use ssr::*;
    let state = guard::state()?;
    let me = guard::admin_change(&csrf).await?;
    let role = ssr::parse_role(&role)?;
    accounts::set_group_role(&state.pool, &account, &group, role, &guard::actor(&me)).await?;
    Ok(())
}

#[server(endpoint = "access/delete_user_group")]
pub async fn delete_user_group(csrf: String, account: String, group: String) -> Result<(), ApiError> {
    use ssr::*;
    let state = guard::state()?;
    let me = guard::admin_change(&csrf).await?;
    accounts::delete_group(&state.pool, &account, &group, &guard::actor(&me)).await?;
    Ok(())
}

/// An account's API keys: those whose name, prefix or groups contain `q` (ignoring case and
/// accents), `status` "active", "inactive" (revoked or expired) or any.
#[server(endpoint = "access/api_keys")]
pub async fn list_api_keys(
    account: String,
    #[server(default)] q: String,
    #[server(default)] status: String,
) -> Result<Vec<ApiKeyInfo>, ApiError> {
    use crate::mapping::text::search_fold;
    use ssr::*;
    let state = guard::state()?;
    guard::require(Role::Viewer)?;
    if q.chars().count() > 200 {
        return Err(ApiError::invalid("q", "Search for at most 200 characters."));
    }
    let active = match status.as_str() {
        "" | "any" => None,
        "active" => Some(true),
        "inactive" => Some(false),
        _ => return Err(ApiError::invalid("status", "Choose active, inactive or any.")),
    };
    accounts::account(&state.pool, &account).await?;
    let q = search_fold(q.trim());
    Ok(store::keys(&state.pool, &account)
        .await?
        .into_iter()
        .filter(|k| active.is_none_or(|a| (k.status == "Active") == a))
        .filter(|k| {
            q.is_empty()
                || search_fold(&format!("{} {} {}", k.name, k.prefix, k.groups.join(" "))).contains(&q)
        })
        .collect())
}

/// Session key of a new API key created by a form post without JavaScript (see `guard::flash`).
#[cfg(feature = "ssr")]
pub const NEW_KEY: &str = "new_api_key";

/// The API keys page shows the key a plain form post just created.
#[cfg(feature = "ssr")]
pub(crate) async fn take_flashes(f: &mut super::guard::Flashes<'_>) {
    if f.path.ends_with("/api-keys") {
        f.take::<crate::model::NewApiKey>(NEW_KEY).await;
    }
}

#[server(endpoint = "access/create_api_key")]
pub async fn create_api_key(
    csrf: String,
    account: String,
    name: String,
    #[server(default)] groups: Vec<String>,
    #[server(default)] expires_in_days: String,
) -> Result<NewApiKey, ApiError> {
    use ssr::*;
    let state = guard::state()?;
    let me = guard::admin_change(&csrf).await?;
    let days = match expires_in_days.trim() {
        "" | "never" => None,
        d => Some(
            d.parse::<u32>()
                .map_err(|_| ApiError::invalid("expires", "Enter a number of days, or leave it empty."))?,
        ),
    };
    let k = accounts::create_api_key(&state.pool, &account, &name, &groups, days, &guard::actor(&me)).await?;
    let created = NewApiKey {
        name: name.trim().to_string(),
        key: k.key,
        tenant_url: crate::scim_server::tenant_url(&state.settings.public_url, &account),
    };
    // A plain form post (no JavaScript) gets a redirect and would lose the result: keep the key
    // in the session for the one page view that shows it.
    guard::flash(NEW_KEY, &created).await?;
    Ok(created)
}

/// The key created by the last plain form post, for the page view that follows it.
#[server(endpoint = "access/take_new_api_key")]
pub async fn take_new_api_key() -> Result<Option<NewApiKey>, ApiError> {
    use ssr::*;
    guard::require(Role::Administrator)?;
    Ok(guard::flashed::<NewApiKey>())
}

#[server(endpoint = "access/revoke_api_key")]
pub async fn revoke_api_key(csrf: String, account: String, key: String) -> Result<String, ApiError> {
    use ssr::*;
    let state = guard::state()?;
    let me = guard::admin_change(&csrf).await?;
    Ok(accounts::revoke_api_key(&state.pool, &account, &key, &guard::actor(&me)).await?)
}

pub const USER_PAGE: i64 = 50;

#[server(endpoint = "access/users")]
pub async fn list_scim_users(
    account: String,
    #[server(default)] q: String,
    #[server(default)] after: String,
) -> Result<ScimUserPage, ApiError> {
    use ssr::*;
    let state = guard::state()?;
    guard::require(Role::Viewer)?;
    accounts::account(&state.pool, &account).await?;
    let q = Some(q.trim()).filter(|q| !q.is_empty());
    let after = Some(after.trim()).filter(|a| !a.is_empty());
    let (rows, more) =
        crate::db::scim_views::console_user_page(&state.pool, &account, q, after, USER_PAGE).await?;
    let total = crate::db::scim_views::console_user_count(&state.pool, &account, q).await?;
    let next = if more {
        rows.last().map(|r| r.id.clone())
    } else {
        None
    };
    Ok(ScimUserPage { rows, total, next })
}

/// A user or SCIM group exactly as SCIM clients see it.
#[server(endpoint = "access/resource")]
pub async fn get_scim_resource(
    account: String,
    kind: String,
    id: String,
) -> Result<ScimResourceDetail, ApiError> {
    use crate::db::scim_resources::Table;
    use crate::scim::schema::Kind;
    use crate::scim_server::service::{self, Ctx};
    use ssr::*;
    let state = guard::state()?;
    guard::require(Role::Viewer)?;
    accounts::account(&state.pool, &account).await?;
    let (kind, table) = match kind.as_str() {
        "group" => (Kind::Group, Table::Groups),
        _ => (Kind::User, Table::Users),
    };
    let base = crate::scim_server::tenant_url(&state.settings.public_url, &account);
    let ctx = Ctx {
        pool: &state.pool,
        rt: &state.scim,
        account: &account,
        base: &base,
        source: "",
    };
    let r = service::get(&ctx, kind, &id).await.map_err(|e| match e.status {
        404 => ApiError::NotFound(format!(
            "There is no such {} in this account.",
            kind.name().to_lowercase()
        )),
        _ => ApiError::Internal,
    })?;
    let name_attr = if kind == Kind::User {
        "userName"
    } else {
        "displayName"
    };
    let name = r.body[name_attr].as_str().unwrap_or_default().to_string();
    let (related, related_total) = match kind {
        Kind::User => {
            let groups: Vec<(String, String)> = r.body["groups"]
                .as_array()
                .map(|gs| {
                    gs.iter()
                        .map(|g| {
                            (
                                g["value"].as_str().unwrap_or_default().to_string(),
                                g["display"].as_str().unwrap_or_default().to_string(),
                            )
                        })
                        .collect()
                })
                .unwrap_or_default();
            let n = groups.len() as i64;
            (groups, n)
        }
        Kind::Group => crate::db::scim_views::member_names(&state.pool, &id, 200).await?,
    };
    let mut body = r.body;
    if kind == Kind::Group {
        // A large group's member list would drown the page; the table below lists them.
        if let Some(members) = body.get_mut("members").and_then(|m| m.as_array_mut()) {
            members.truncate(20);
        }
    }
    Ok(ScimResourceDetail {
        id: r.id,
        name,
        json: serde_json::to_string_pretty(&body).unwrap_or_default(),
        related,
        related_total,
        source: crate::db::scim_views::source_of(&state.pool, table, &account, &id).await?,
    })
}
