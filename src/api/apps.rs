//! Enterprise applications: the gallery, the application list and overview, assignments.

use super::ApiError;
use crate::model::{AppDetail, AppPage, AssignmentPage, CandidatePage, GalleryItem};
use leptos::prelude::*;

pub const ASSIGNMENT_PAGE: i64 = 50;

#[cfg(feature = "ssr")]
mod ssr {
    pub(crate) use super::super::guard;
    pub use crate::db::apps as store;
    pub use crate::model::Role;
    pub use crate::provisioning::{apps, gallery};

    /// An application as listed, with its provisioning health (`Off` when none was read).
    pub fn summary(
        a: store::AppRow,
        health: Option<&crate::db::health::HealthRow>,
    ) -> crate::model::AppSummary {
        let t = gallery::template(&a.template);
        let health = health
            .map(crate::provisioning::health::assess)
            .unwrap_or(crate::model::AppHealth {
                status: crate::model::HealthStatus::Off,
                reason: "Provisioning Status is Off".into(),
                last_cycle_at: None,
                last_cycle_state: None,
                escrowed: 0,
            });
        crate::model::AppSummary {
            template_name: t.map(|t| t.name.clone()).unwrap_or_else(|| a.template.clone()),
            logo: t.map(gallery::logo_data_url).unwrap_or_default(),
            id: a.id,
            name: a.name,
            template: a.template,
            provisioning_on: a.provisioning_on,
            health,
            users: a.users,
            groups: a.groups,
            created_at: a.created_at,
        }
    }
}

#[server(endpoint = "apps/gallery")]
pub async fn gallery(#[server(default)] q: String) -> Result<Vec<GalleryItem>, ApiError> {
    use ssr::*;
    guard::require(Role::Viewer)?;
    Ok(gallery::search(&q))
}

#[server(endpoint = "apps/list")]
pub async fn list_apps(
    #[server(default)] q: String,
    #[server(default)] page: u32,
) -> Result<AppPage, ApiError> {
    use ssr::*;
    let state = guard::state()?;
    guard::require(Role::Viewer)?;
    let q = q.trim();
    if q.chars().count() > 200 {
        return Err(ApiError::invalid("q", "Search for at most 200 characters."));
    }
    let offset = i64::from(page.min(100_000)) * crate::model::APP_PAGE;
    let (rows, total) = store::page(&state.pool, q, offset, crate::model::APP_PAGE).await?;
    let mut out = Vec::with_capacity(rows.len());
    for a in rows {
        let h = crate::db::health::one(&state.pool, &a.id).await?;
        out.push(summary(a, h.as_ref()));
    }
    Ok(AppPage {
        rows: out,
        total,
        offset,
    })
}

#[server(endpoint = "apps/get")]
pub async fn get_app(id: String) -> Result<AppDetail, ApiError> {
    use ssr::*;
    let state = guard::state()?;
    guard::require(Role::Viewer)?;
    let a = store::get(&state.pool, &id)
        .await?
        .ok_or_else(|| ApiError::NotFound("There is no such application.".into()))?;
    let t = gallery::template(&a.template);
    Ok(AppDetail {
        description: t.map(|t| t.description.clone()).unwrap_or_default(),
        tenant_url_hint: t.map(|t| t.tenant_url_hint.clone()).unwrap_or_default(),
        notes: t.map(|t| t.notes.clone()).unwrap_or_default(),
        roles: store::roles(&state.pool, &id).await?,
        mappings: store::mappings(&state.pool, &id).await?,
        summary: summary(a, crate::db::health::one(&state.pool, &id).await?.as_ref()),
    })
}

/// Adds an application from the gallery; an empty name takes the template's.
#[server(endpoint = "apps/create")]
pub async fn create_app(
    csrf: String,
    template: String,
    #[server(default)] name: String,
) -> Result<String, ApiError> {
    use ssr::*;
    let state = guard::state()?;
    let me = guard::admin_change(&csrf).await?;
    let id = apps::create(&state.pool, &template, &name, &guard::actor(&me)).await?;
    leptos_axum::redirect(&format!("/apps/{id}"));
    Ok(id)
}

#[server(endpoint = "apps/rename")]
pub async fn rename_app(csrf: String, id: String, name: String) -> Result<(), ApiError> {
    use ssr::*;
    let state = guard::state()?;
    let me = guard::admin_change(&csrf).await?;
    apps::rename(&state.pool, &id, &name, &guard::actor(&me)).await?;
    Ok(())
}

/// Deletes an application; `confirm` must repeat its name.
#[server(endpoint = "apps/delete")]
pub async fn delete_app(
    csrf: String,
    id: String,
    #[server(default)] confirm: String,
) -> Result<(), ApiError> {
    use ssr::*;
    let state = guard::state()?;
    let me = guard::admin_change(&csrf).await?;
    let a = store::get(&state.pool, &id)
        .await?
        .ok_or_else(|| ApiError::NotFound("There is no such application.".into()))?;
    if confirm.trim() != a.name {
        return Err(ApiError::invalid(
            "confirm",
            format!("Type the application's name, {}, to confirm.", a.name),
        ));
    }
    apps::delete(&state.pool, &id, &guard::actor(&me)).await?;
    leptos_axum::redirect("/apps");
    Ok(())
}

#[server(endpoint = "apps/assignments")]
pub async fn list_assignments(
    app: String,
    #[server(default)] q: String,
    #[server(default)] page: u32,
) -> Result<AssignmentPage, ApiError> {
    use ssr::*;
    let state = guard::state()?;
    guard::require(Role::Viewer)?;
    let q = q.trim();
    let q = (!q.is_empty()).then_some(q);
    let offset = i64::from(page) * ASSIGNMENT_PAGE;
    let rows = store::assignment_page(&state.pool, &app, q, offset, ASSIGNMENT_PAGE).await?;
    let principals: Vec<(String, String)> = rows
        .iter()
        .map(|r| (r.principal.id.clone(), r.principal.kind.clone()))
        .collect();
    let mut states = crate::db::assignments::provisioning_states(&state.pool, &app, &principals).await?;
    Ok(AssignmentPage {
        rows: rows
            .into_iter()
            .map(|r| crate::model::AssignmentRow {
                provisioning: states
                    .remove(&r.principal.id)
                    .unwrap_or(crate::model::AssignmentState {
                        state: crate::model::ProvisionState::Pending,
                        reason: String::new(),
                        entry: None,
                        members: None,
                    }),
                id: r.id,
                principal: r.principal,
                role: r.role,
                role_name: r.role_name,
                role_provisioned: r.role_provisioned,
                created_at: r.created_at,
            })
            .collect(),
        total: store::assignment_count(&state.pool, &app, q).await?,
        offset,
    })
}

/// Assigns a user (userPrincipalName) or group (name); the message says what provisioning will do.
#[server(endpoint = "apps/assign")]
pub async fn assign(
    csrf: String,
    app: String,
    principal: String,
    #[server(default)] role: String,
) -> Result<String, ApiError> {
    use ssr::*;
    let state = guard::state()?;
    let me = guard::admin_change(&csrf).await?;
    let a = apps::assign(&state.pool, &app, &principal, &role, &guard::actor(&me)).await?;
    Ok(match (a.role_name.is_empty(), a.provisioned) {
        (true, _) => format!("Assigned {}.", a.principal_name),
        (false, true) => format!("Assigned {} with the role {}.", a.principal_name, a.role_name),
        (false, false) => format!(
            "Assigned {} with the role {}. Users with this role are not provisioned.",
            a.principal_name, a.role_name
        ),
    })
}

/// Session key of the outcome of an assignment form posted without JavaScript (see
/// `guard::flash`).
#[cfg(feature = "ssr")]
const ASSIGNMENT_OUTCOME: &str = "assignment_outcome";

/// The Users and groups pages show what the last plain form post on them did.
#[cfg(feature = "ssr")]
pub(crate) async fn take_flashes(f: &mut super::guard::Flashes<'_>) {
    if f.path.contains("/users-and-groups") {
        f.take::<String>(ASSIGNMENT_OUTCOME).await;
    }
}

/// What the last plain form post of an assignment form did, for the page view after its redirect.
#[server(endpoint = "apps/assignment_outcome")]
pub async fn take_assignment_outcome() -> Result<Option<String>, ApiError> {
    use ssr::*;
    guard::require(Role::Viewer)?;
    Ok(guard::flashed::<String>())
}

/// Who the Add assignment page offers: users and groups whose names contain `q` (ignoring case
/// and accents), `kind` "user", "group" or both, with the roles they already have.
#[server(endpoint = "apps/assign_candidates")]
pub async fn assign_candidates(
    app: String,
    #[server(default)] q: String,
    #[server(default)] kind: String,
) -> Result<CandidatePage, ApiError> {
    use ssr::*;
    let state = guard::state()?;
    guard::require(Role::Viewer)?;
    if q.chars().count() > 200 {
        return Err(ApiError::invalid("q", "Search for at most 200 characters."));
    }
    let kind = match kind.as_str() {
        "user" | "group" => kind.as_str(),
        _ => "",
    };
    let (rows, more) =
        crate::db::assignments::candidates(&state.pool, &app, q.trim(), kind, ASSIGNMENT_PAGE).await?;
    Ok(CandidatePage { rows, more })
}

/// Assigns the selected users and groups (object ids) with one role, all or nothing.
#[server(endpoint = "apps/assign_many")]
pub async fn assign_many(
    csrf: String,
    app: String,
    #[server(default)] principals: Vec<String>,
    #[server(default)] role: String,
) -> Result<String, ApiError> {
    use ssr::*;
    let state = guard::state()?;
    let me = guard::admin_change(&csrf).await?;
    let done = crate::provisioning::assignments::assign_many(
        &state.pool,
        &app,
        &principals,
        &role,
        &guard::actor(&me),
    )
    .await?;
    let message = done.message();
    guard::flash(ASSIGNMENT_OUTCOME, &message).await?;
    Ok(message)
}

/// Gives an existing assignment another of the application's roles.
#[server(endpoint = "apps/set_assignment_role")]
pub async fn set_assignment_role(
    csrf: String,
    app: String,
    assignment: String,
    role: String,
) -> Result<String, ApiError> {
    use ssr::*;
    let state = guard::state()?;
    let me = guard::admin_change(&csrf).await?;
    let message =
        crate::provisioning::assignments::set_role(&state.pool, &app, &assignment, &role, &guard::actor(&me))
            .await?;
    guard::flash(ASSIGNMENT_OUTCOME, &message).await?;
    Ok(message)
}

#[server(endpoint = "apps/unassign")]
pub async fn unassign(csrf: String, app: String, assignment: String) -> Result<(), ApiError> {
    use ssr::*;
    let state = guard::state()?;
    let me = guard::admin_change(&csrf).await?;
    apps::unassign(&state.pool, &app, &assignment, &guard::actor(&me)).await?;
    Ok(())
}
