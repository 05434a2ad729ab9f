//! Scheduled drift checks: every application whose settings ask for one (every N hours) is
//! compared with what Provisio manages there (`engine::drift`), one instance per check (claimed
//! in the database), one at a time per application beside its previews. The figures are kept
//! for Synchronization details; when something is found and failure emails are on, the admin
//! gets one email per check that found something new.

use super::engine::{self, Tuning};
use crate::db::Pool;
use crate::secrets::Sealer;
use std::sync::Arc;
use std::time::Duration;

/// Looks for due checks every `every` until the process ends.
pub async fn run(pool: Pool, sealer: Arc<Sealer>, http: reqwest::Client, tuning: Tuning, every: Duration) {
    loop {
        tokio::time::sleep(every).await;
        if let Err(e) = look(&pool, &sealer, &http, &tuning).await {
            tracing::warn!(error = %e, "scheduled drift checks could not run");
        }
    }
}

/// Runs every due check once.
pub async fn look(
    pool: &Pool,
    sealer: &Sealer,
    http: &reqwest::Client,
    tuning: &Tuning,
) -> Result<(), crate::directory::DirError> {
    let hours_ago = |h: i64| crate::timefmt::ago(time::Duration::hours(h.max(1)));
    for (app, before) in crate::db::drift_checks::due(pool, hours_ago).await? {
        let previous = crate::db::drift_checks::last(pool, &app).await?;
        let now = crate::timefmt::now();
        if !crate::db::drift_checks::claim(pool, &app, before.as_deref(), &now).await? {
            continue;
        }
        if let Err(e) = check(pool, sealer, http, &app, tuning, Some(previous)).await {
            tracing::warn!(app = %app, error = %e, "the scheduled drift check failed");
        }
    }
    Ok(())
}

/// Compares one application now and records the figures. A scheduled check (`scheduled`: the
/// check before it, if any) also emails the admin what it found, when failure emails are on and
/// the findings differ from the previous check's.
pub async fn check(
    pool: &Pool,
    sealer: &Sealer,
    http: &reqwest::Client,
    app: &str,
    tuning: &Tuning,
    scheduled: Option<Option<crate::model::DriftCheck>>,
) -> Result<crate::model::DriftReport, crate::directory::DirError> {
    let _turn = super::turns::wait(app).await;
    let report = engine::drift(pool, sealer, http, app, tuning).await?;
    let now = crate::timefmt::now();
    crate::db::drift_checks::record(pool, app, &report, &now).await?;
    let found = (
        report.orphans_total as i64,
        report.drifted_total as i64,
        report.missing_total as i64,
    );
    let news = match &scheduled {
        None => false,
        Some(previous) => previous
            .as_ref()
            .is_none_or(|p| !p.error.is_empty() || (p.orphans, p.drifted, p.missing) != found),
    };
    if news && !report.clean() && report.error.is_empty() {
        crate::notify::drift_email(pool, app, &report, &tuning.public_url).await?;
    }
    tracing::info!(app = %app, summary = %report.summary(), "drift check");
    if scheduled.is_some() && report.error.is_empty() {
        policy(pool, sealer, http, app, &report).await?;
    }
    Ok(report)
}

/// What the application's policy does by itself after a scheduled check, while provisioning is
/// On: revert the users changed in the application, adopt the accounts that match a directory
/// user in scope. Each is
/// an audited action of "scheduled drift check"; one that fails is logged and the rest go on.
/// Orphans matching nobody or a user out of scope are never touched by a policy.
async fn policy(
    pool: &Pool,
    sealer: &Sealer,
    http: &reqwest::Client,
    app: &str,
    report: &crate::model::DriftReport,
) -> Result<(), crate::directory::DirError> {
    use super::reconcile::{act, Finding};
    use crate::model::DriftAction;
    let s = super::config::export(pool, app).await?.settings;
    if s.provisioning_status != crate::model::ProvisioningStatus::On && (s.drift_revert || s.drift_adopt) {
        // Provisioning is Off: the policy waits, as the cycles do; the check only reports.
        return Ok(());
    }
    let mut findings = Vec::new();
    if s.drift_revert {
        findings.extend(
            report
                .drifted
                .iter()
                .filter(|d| d.object_type == "user")
                .map(|d| Finding {
                    action: DriftAction::Revert,
                    target_id: d.target_id.clone(),
                    user: String::new(),
                }),
        );
    }
    if s.drift_adopt {
        findings.extend(
            report
                .orphans
                .iter()
                .filter(|o| o.object_type == "user")
                .filter_map(|o| {
                    let m = o.matches.as_ref().filter(|m| m.in_scope)?;
                    Some(Finding {
                        action: DriftAction::Adopt,
                        target_id: o.target_id.clone(),
                        user: m.user_id.clone(),
                    })
                }),
        );
    }
    let actor = crate::audit::Actor {
        name: "scheduled drift check".into(),
        source_ip: String::new(),
    };
    for f in &findings {
        if let Err(e) = act(pool, sealer, http, app, f, &actor).await {
            tracing::warn!(app = %app, account = %f.target_id, error = %e, "the drift policy could not act");
        }
    }
    Ok(())
}
