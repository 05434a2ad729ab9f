use super::ApiError;
use crate::model::ConsoleUser;
#[cfg(feature = "ssr")]
use crate::model::Role;
use leptos::prelude::*;

/// User names: 3 to 64 characters of letters, digits and `. _ @ -`, compared case-insensitively.
pub fn normalize_username(raw: &str) -> Result<String, ApiError> {
    let name = raw.trim().to_lowercase();
    let valid = (3..=64).contains(&name.chars().count())
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "._@-".contains(c));
    if valid {
        Ok(name)
    } else {
        Err(ApiError::invalid(
            "username",
            "Use 3 to 64 letters, digits, dots, underscores, hyphens or @.",
        ))
    }
}

#[server(endpoint = "console_users/list")]
pub async fn list_console_users() -> Result<Vec<ConsoleUser>, ApiError> {
    use super::guard;
    let state = guard::state()?;
    guard::require(Role::Administrator)?;
    Ok(crate::db::console_users::list(&state.pool).await?)
}

#[server(endpoint = "console_users/add")]
pub async fn add_console_user(
    csrf: String,
    username: String,
    role: String,
    password: String,
) -> Result<String, ApiError> {
    use super::guard;
    use crate::audit::{self, Outcome};
    use crate::db;
    let state = guard::state()?;
    let me = guard::admin_change(&csrf).await?;
    let username = normalize_username(&username)?;
    let role = Role::parse(&role).ok_or_else(|| ApiError::invalid("role", "Choose a role."))?;
    crate::auth::password::validate_new(&password, &username)
        .map_err(|m| ApiError::invalid("password", m))?;
    let hash = crate::auth::password::hash(password).await;
    let id = crate::ids::new();
    match db::console_users::insert(&state.pool, &id, &username, &hash, role, &crate::timefmt::now()).await {
        Ok(()) => {}
        Err(e) if db::is_unique_violation(&e) => {
            return Err(ApiError::invalid(
                "username",
                format!("A console user named {username} already exists."),
            ))
        }
        Err(e) => return Err(e.into()),
    }
    audit::record(
        &state.pool,
        &guard::actor(&me),
        "console_user.create",
        &username,
        Outcome::Success,
        &format!("role {}", role.label()),
    )
    .await;
    Ok(username)
}

/// Looks a user up for a change, or says plainly that it is gone.
#[cfg(feature = "ssr")]
async fn target(pool: &crate::db::Pool, id: &str) -> Result<crate::db::console_users::Credentials, ApiError> {
    crate::db::console_users::credentials_by_id(pool, id)
        .await?
        .ok_or_else(|| ApiError::NotFound("That console user no longer exists.".into()))
}

#[server(endpoint = "console_users/reset_password")]
pub async fn reset_console_password(csrf: String, id: String, password: String) -> Result<(), ApiError> {
    use super::guard;
    use crate::audit::{self, Outcome};
    let state = guard::state()?;
    let me = guard::admin_change(&csrf).await?;
    let user = target(&state.pool, &id).await?;
    crate::auth::password::validate_new(&password, &user.username)
        .map_err(|m| ApiError::invalid("password", m))?;
    let hash = crate::auth::password::hash(password).await;
    crate::db::console_users::set_password(&state.pool, &id, &hash, &crate::timefmt::now()).await?;
    audit::record(
        &state.pool,
        &guard::actor(&me),
        "console_user.reset_password",
        &user.username,
        Outcome::Success,
        "sessions ended",
    )
    .await;
    Ok(())
}

#[server(endpoint = "console_users/set_enabled")]
pub async fn set_console_user_enabled(csrf: String, id: String, enabled: bool) -> Result<(), ApiError> {
    use super::guard;
    use crate::audit::{self, Outcome};
    use crate::db;
    let state = guard::state()?;
    let me = guard::admin_change(&csrf).await?;
    let user = target(&state.pool, &id).await?;
    if !enabled && user.id == me.id {
        return Err(ApiError::Conflict("You cannot disable yourself.".into()));
    }
    let now = crate::timefmt::now();
    if enabled {
        db::console_users::set_disabled(&state.pool, &id, false, &now).await?;
    } else {
        admin_change(
            db::console_users::disable_keeping_an_admin(&state.pool, &id, &now).await?,
            "The last enabled Administrator cannot be disabled.",
        )?;
    }
    let action = if enabled {
        "console_user.enable"
    } else {
        "console_user.disable"
    };
    audit::record(
        &state.pool,
        &guard::actor(&me),
        action,
        &user.username,
        Outcome::Success,
        "",
    )
    .await;
    Ok(())
}

/// The answer to a change the database refused because it would leave no administrator (checked
/// in the change's own transaction, so two at once cannot both pass).
#[cfg(feature = "ssr")]
fn admin_change(done: crate::db::console_users::AdminChange, last: &str) -> Result<(), ApiError> {
    use crate::db::console_users::AdminChange;
    match done {
        AdminChange::Done => Ok(()),
        AdminChange::NoSuchUser => Err(ApiError::NotFound("That user no longer exists.".into())),
        AdminChange::LastAdministrator => Err(ApiError::Conflict(last.into())),
    }
}

#[server(endpoint = "console_users/set_role")]
pub async fn set_console_user_role(csrf: String, id: String, role: String) -> Result<(), ApiError> {
    use super::guard;
    use crate::audit::{self, Outcome};
    use crate::db;
    let state = guard::state()?;
    let me = guard::admin_change(&csrf).await?;
    let role = Role::parse(&role).ok_or_else(|| ApiError::invalid("role", "Choose a role."))?;
    let user = target(&state.pool, &id).await?;
    if user.role == role {
        return Ok(());
    }
    admin_change(
        db::console_users::set_role(&state.pool, &id, role, &crate::timefmt::now()).await?,
        "The last enabled Administrator cannot become a Viewer.",
    )?;
    audit::record(
        &state.pool,
        &guard::actor(&me),
        "console_user.change_role",
        &user.username,
        Outcome::Success,
        &format!("{} -> {}", user.role.label(), role.label()),
    )
    .await;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::normalize_username;

    #[test]
    fn usernames() {
        assert_eq!(
            normalize_username("  Alice.Smith@Example ").unwrap(),
            "alice.smith@example"
        );
        assert!(normalize_username("ab").is_err());
        assert!(normalize_username("has space").is_err());
        assert!(normalize_username("<script>").is_err());
        assert!(normalize_username(&"a".repeat(65)).is_err());
    }
}
