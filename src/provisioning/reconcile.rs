//! Acting on the drift report, for the console and the command line: revert a changed account,
//! adopt an orphan, disable or delete an orphan. Each action holds the application's lease (it
//! never runs beside a cycle or provision on demand), is audited, and shows in the provisioning
//! logs (revert and adopt through the provision-on-demand run that follows them). Disabling and
//! deleting count against the accidental-deletion threshold like a cycle's deprovisions.

use super::engine::{self, Tuning};
use super::on_demand::{self, Exclusive};
use crate::audit::{self, Actor, Outcome};
use crate::db::Pool;
use crate::directory::{invalid, DirError};
use crate::model::DriftAction;
use crate::secrets::Sealer;

/// A finding to act on: the action, the account's id in the application, and for adopt the
/// directory user (object id or user principal name).
pub struct Finding {
    pub action: DriftAction,
    pub target_id: String,
    pub user: String,
}

/// Acts on `f`; what it did, in a sentence.
pub async fn act(
    pool: &Pool,
    sealer: &Sealer,
    http: &reqwest::Client,
    app: &str,
    f: &Finding,
    actor: &Actor,
) -> Result<String, DirError> {
    let (action, target_id, user_id) = (f.action, f.target_id.trim(), f.user.as_str());
    if target_id.is_empty() || target_id.len() > 1_000 {
        return Err(invalid("target_id", "choose an account of the application"));
    }
    if user_id.len() > 1_000 {
        return Err(invalid("user_id", "choose a directory user"));
    }
    let name = crate::db::apps::get(pool, app)
        .await?
        .ok_or_else(|| DirError::NotFound("there is no such application".into()))?
        .name;
    let result = run(pool, sealer, http, app, action, target_id, user_id.trim()).await;
    let (outcome, detail) = match &result {
        Ok(m) => (Outcome::Success, m.clone()),
        Err(e) => (Outcome::Failure, e.to_string()),
    };
    audit::record(
        pool,
        actor,
        action.audit_action(),
        &format!("{name} / {target_id}"),
        outcome,
        &detail,
    )
    .await;
    result
}

async fn run(
    pool: &Pool,
    sealer: &Sealer,
    http: &reqwest::Client,
    app: &str,
    action: DriftAction,
    target_id: &str,
    user_id: &str,
) -> Result<String, DirError> {
    if matches!(action, DriftAction::Disable | DriftAction::Delete) {
        check_threshold(pool, app).await?;
    }
    let lease = Exclusive::take_for(pool, app, "an action on drift").await?;
    let result = leased(pool, sealer, http, app, action, target_id, user_id, &lease).await;
    lease.release().await;
    result
}

#[allow(clippy::too_many_arguments)]
async fn leased(
    pool: &Pool,
    sealer: &Sealer,
    http: &reqwest::Client,
    app: &str,
    action: DriftAction,
    target_id: &str,
    user_id: &str,
    lease: &Exclusive,
) -> Result<String, DirError> {
    let tuning = Tuning::default();
    match action {
        DriftAction::Revert => {
            let user = engine::prepare_revert(pool, sealer, http, app, &tuning, target_id).await?;
            let r = on_demand::provision_user_leased(pool, sealer, http, app, &user, lease).await?;
            Ok(format!(
                "{}: {} {} (the directory's values sent again where the application differed).",
                r.display_name, r.action, r.status
            ))
        }
        DriftAction::Adopt => {
            if user_id.is_empty() {
                return Err(invalid(
                    "user_id",
                    "choose the directory user to link the account to",
                ));
            }
            // By object id (the report's) or user principal name (the command line's).
            let mut conn = pool.acquire().await?;
            let user = crate::db::directory::user_by_ref(&mut conn, user_id)
                .await?
                .ok_or_else(|| {
                    invalid(
                        "user_id",
                        format!("there is no user {user_id:?} in the directory"),
                    )
                })?;
            drop(conn);
            engine::adopt(pool, sealer, http, app, &tuning, target_id, &user.id).await?;
            let r = on_demand::provision_user_leased(pool, sealer, http, app, &user.id, lease).await?;
            Ok(format!(
                "Linked to {}; now managed by Provisio: {} {}.",
                r.display_name, r.action, r.status
            ))
        }
        DriftAction::Disable | DriftAction::Delete => {
            let delete = action == DriftAction::Delete;
            let e = engine::remove_orphan(pool, sealer, http, app, &tuning, target_id, delete).await?;
            match e.status {
                "Success" => Ok(format!(
                    "{} {} in the application.",
                    e.display_name,
                    if delete { "deleted" } else { "disabled" }
                )),
                _ => Err(DirError::Conflict(format!(
                    "The application refused: {} ({})",
                    e.error_reason, e.error_code
                ))),
            }
        }
    }
}

/// Disabling or deleting an orphan is a deprovision: with accidental-deletion prevention on, it
/// is refused once the deprovisions of the reconciliation interval (the cycles' and the orphans'
/// removed by hand) reach the threshold.
async fn check_threshold(pool: &Pool, app: &str) -> Result<(), DirError> {
    let cfg = super::config::export(pool, app).await?;
    let s = &cfg.settings;
    let window = time::Duration::minutes(s.reconciliation_interval_minutes.max(1));
    let since = crate::timefmt::ago(window);
    let recent = crate::db::prov_log::recent_deprovisions(pool, app, &since).await?
        + crate::db::prov_log::recent_orphan_removals(pool, app, &since).await?;
    if super::rules::hold_deletes(
        s.prevent_accidental_deletions,
        s.deletion_threshold,
        recent + 1,
        false,
    ) {
        return Err(DirError::Conflict(format!(
            "Accidental-deletion prevention: {recent} accounts were already disabled or deleted in the last {} minutes, and the threshold is {}.",
            s.reconciliation_interval_minutes, s.deletion_threshold
        )));
    }
    Ok(())
}
