//! Provision on demand: one user (or a group with up to five of its members) through the
//! provisioning pipeline now, with each step's report; flashed for the page after a plain form
//! post.

use super::ApiError;
use crate::model::ProvisionReport;
use leptos::prelude::*;

#[cfg(feature = "ssr")]
mod ssr {
    pub(crate) use super::super::guard;
    pub use super::super::provisioning::ssr::form_field;
    pub use crate::model::Role;
}

/// Session key of a provision-on-demand report posted without JavaScript (see `guard::flash`).
#[cfg(feature = "ssr")]
pub const ON_DEMAND: &str = "provisioning_on_demand";

/// The report of the last plain form post of provision on demand, for the page view after it.
#[server(endpoint = "provisioning/on_demand_flashed")]
pub async fn take_on_demand_report() -> Result<Option<ProvisionReport>, ApiError> {
    use ssr::*;
    guard::require(Role::Viewer)?;
    Ok(guard::flashed::<ProvisionReport>())
}

/// Provision on demand: one user through the whole pipeline now, with each step's details.
#[server(endpoint = "provisioning/on_demand")]
pub async fn provision_on_demand(
    csrf: String,
    app: String,
    user: String,
) -> Result<ProvisionReport, ApiError> {
    use ssr::*;
    let state = guard::state()?;
    let me = guard::admin_change(&csrf).await?;
    let report = crate::provisioning::on_demand::provision_user(
        &state.pool,
        &state.sealer,
        &state.outbound,
        &app,
        &user,
    )
    .await
    .map_err(|e| form_field(e, &[("user", "user")]))?;
    let name = crate::db::apps::get(&state.pool, &app)
        .await?
        .map(|a| a.name)
        .unwrap_or_default();
    let outcome = if report.status == "Failure" {
        crate::audit::Outcome::Failure
    } else {
        crate::audit::Outcome::Success
    };
    crate::audit::record(
        &state.pool,
        &guard::actor(&me),
        "app.provision_on_demand",
        &name,
        outcome,
        &format!("{}: {} {}", report.display_name, report.action, report.status),
    )
    .await;
    guard::flash(ON_DEMAND, &report).await?;
    Ok(report)
}

/// Session key of provision on demand's reports for a group (see `guard::flash`).
#[cfg(feature = "ssr")]
pub const ON_DEMAND_GROUP: &str = "provisioning_on_demand_group";

/// The reports of the last plain form post of group provision on demand.
#[server(endpoint = "provisioning/on_demand_group_flashed")]
pub async fn take_on_demand_group_reports() -> Result<Option<Vec<ProvisionReport>>, ApiError> {
    use ssr::*;
    guard::require(Role::Viewer)?;
    Ok(guard::flashed::<Vec<ProvisionReport>>())
}

/// Provision on demand for a group (by name or id) and up to five of its members (user principal
/// names, separated by commas, semicolons or new lines): the members first, then the group.
#[server(endpoint = "provisioning/on_demand_group")]
pub async fn provision_group_on_demand(
    csrf: String,
    app: String,
    group: String,
    #[server(default)] members: String,
) -> Result<Vec<ProvisionReport>, ApiError> {
    use ssr::*;
    let state = guard::state()?;
    let me = guard::admin_change(&csrf).await?;
    let members: Vec<String> = members
        .split([',', ';', '\n', ' ', '\t', '\r'])
        .map(str::trim)
        .filter(|m| !m.is_empty())
        .map(str::to_string)
        .collect();
    let reports = crate::provisioning::on_demand::provision_group(
        &state.pool,
        &state.sealer,
        &state.outbound,
        &app,
        &group,
        &members,
    )
    .await
    .map_err(|e| form_field(e, &[("group", "group"), ("members", "members")]))?;
    let name = crate::db::apps::get(&state.pool, &app)
        .await?
        .map(|a| a.name)
        .unwrap_or_default();
    let failed = reports.iter().any(|r| r.status == "Failure");
    crate::audit::record(
        &state.pool,
        &guard::actor(&me),
        "app.provision_on_demand",
        &name,
        if failed {
            crate::audit::Outcome::Failure
        } else {
            crate::audit::Outcome::Success
        },
        &reports
            .iter()
            .map(|r| format!("{}: {} {}", r.display_name, r.action, r.status))
            .collect::<Vec<_>>()
            .join("; "),
    )
    .await;
    guard::flash(ON_DEMAND_GROUP, &reports).await?;
    Ok(reports)
}
