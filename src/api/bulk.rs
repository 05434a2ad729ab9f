//! The users list's bulk actions on the ticked users: assign to an application with a role, add
//! to a group, turn sign-in off or on. One server function, the action named by the button that
//! submitted the form, so the list is one plain form that works without JavaScript.

use super::ApiError;
use crate::model::AppChoice;
use leptos::prelude::*;

/// Session key of the outcome of a bulk action posted without JavaScript (see `guard::flash`).
#[cfg(feature = "ssr")]
const OUTCOME: &str = "users_bulk_outcome";

/// The users list shows what the last plain post of a bulk action did.
#[cfg(feature = "ssr")]
pub(crate) async fn take_flashes(f: &mut super::guard::Flashes<'_>) {
    if f.path == "/directory/users" {
        f.take::<String>(OUTCOME).await;
    }
}

#[server(endpoint = "directory/bulk_outcome")]
pub async fn take_bulk_outcome() -> Result<Option<String>, ApiError> {
    use super::guard;
    guard::require(crate::model::Role::Viewer)?;
    Ok(guard::flashed::<String>())
}

/// The applications with their roles, for the users list's "Assign to" and application filter.
#[server(endpoint = "apps/choices")]
pub async fn app_choices() -> Result<Vec<AppChoice>, ApiError> {
    use super::guard;
    let state = guard::state()?;
    guard::require(crate::model::Role::Viewer)?;
    let mut out = Vec::new();
    for a in crate::db::apps::list(&state.pool).await? {
        let roles = crate::db::apps::roles(&state.pool, &a.id).await?;
        out.push(AppChoice {
            id: a.id,
            name: a.name,
            roles,
        });
    }
    Ok(out)
}

/// Acts on the ticked users (`ids`): `action` is "assign" (to `assign_to`, "<app id>|<role>"),
/// "add_to_group" (`group`, by name), "disable" or "enable".
#[server(endpoint = "directory/bulk_users")]
pub async fn bulk_users(
    csrf: String,
    #[server(default)] action: String,
    #[server(default)] ids: Vec<String>,
    #[server(default)] assign_to: String,
    #[server(default)] group: String,
) -> Result<String, ApiError> {
    use super::guard;
    use crate::directory::bulk;
    use crate::model::plural;
    let state = guard::state()?;
    let me = guard::admin_change(&csrf).await?;
    let actor = guard::actor(&me);
    let pool = &state.pool;
    let message = match action.as_str() {
        "assign" => {
            let Some((app, role)) = assign_to.split_once('|') else {
                return Err(ApiError::invalid(
                    "assign_to",
                    "Choose an application and a role.",
                ));
            };
            bulk::selected(&ids)?;
            crate::provisioning::assignments::assign_many(pool, app, &ids, role, &actor)
                .await?
                .message()
        }
        "add_to_group" => {
            let done = bulk::add_to_group(pool, &group, &ids, &actor).await?;
            let mut m = format!(
                "Added {} to {}.",
                plural(done.added as i64, "user", "users"),
                done.group
            );
            if done.already > 0 {
                m.push_str(&format!(
                    " {} already in it.",
                    plural(done.already as i64, "was", "were")
                ));
            }
            m
        }
        "disable" | "enable" => {
            let on = action == "enable";
            let n = bulk::set_enabled(pool, &ids, on, &actor).await?;
            let verb = if on { "Enabled" } else { "Disabled" };
            format!("{verb} sign-in for {}.", plural(n as i64, "user", "users"))
        }
        _ => {
            return Err(ApiError::invalid(
                "action",
                "Choose what to do with the selected users.",
            ))
        }
    };
    guard::flash(OUTCOME, &message).await?;
    Ok(message)
}
