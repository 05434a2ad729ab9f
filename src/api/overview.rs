use super::ApiError;
use crate::model::Overview;
use leptos::prelude::*;

#[server(endpoint = "overview")]
pub async fn get_overview() -> Result<Overview, ApiError> {
    use super::guard;
    use crate::db;
    use crate::model::{AppHealthEntry, AuditFilter, Role};
    let state = guard::state()?;
    guard::require(Role::Viewer)?;
    let day_ago = crate::timefmt::ago(time::Duration::hours(24));
    let db::directory::Counts {
        users,
        deleted_users,
        groups,
    } = db::directory::directory_counts(&state.pool).await?;
    let db::apps::Counts {
        apps,
        provisioning_on: apps_provisioning,
    } = db::apps::counts(&state.pool).await?;
    let mut health: Vec<AppHealthEntry> = db::health::all(&state.pool)
        .await?
        .iter()
        .map(|h| AppHealthEntry {
            id: h.app_id.clone(),
            name: h.app_name.clone(),
            health: crate::provisioning::health::assess(h),
        })
        .collect();
    health.sort_by(|a, b| {
        (a.health.status, a.name.to_lowercase()).cmp(&(b.health.status, b.name.to_lowercase()))
    });
    Ok(Overview {
        version: env!("CARGO_PKG_VERSION").to_string(),
        database: state.settings.database.describe(),
        console_users: db::console_users::count(&state.pool).await?,
        administrators: db::console_users::count_active_admins(&state.pool).await?,
        sign_ins_24h: db::audit::count_since(&state.pool, "sign_in", "success", &day_ago).await?,
        failed_sign_ins_24h: db::audit::count_since(&state.pool, "sign_in", "failure", &day_ago).await?,
        users,
        deleted_users,
        groups,
        apps,
        apps_provisioning,
        health,
        recent: db::audit::page(&state.pool, &AuditFilter::default(), None, None, None, 8).await?,
    })
}
