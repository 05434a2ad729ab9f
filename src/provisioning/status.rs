//! What the admin sees of a provisioning job (synchronization details) and what they can do to it
//! (restart provisioning, allow deletes).

use crate::audit::{self, Actor, Outcome};
use crate::db::cycles::{self, CycleRow};
use crate::db::escrows;
use crate::db::jobs::{self, Reset};
use crate::db::vocab::{CycleState, JobState};
use crate::db::{apps, Pool};
use crate::directory::{invalid, DirError};
use crate::model::{
    Adaptation, AdaptationChoice, AdaptationInfo, AdaptationRule, CycleInfo, ProvisioningMode,
    ProvisioningStatus, SyncDetails,
};

/// Cycles shown in the history table and chart.
pub const HISTORY: i64 = 20;

fn info(r: &CycleRow) -> CycleInfo {
    // A running cycle's duration is how long it has run so far.
    let now = crate::timefmt::now();
    let end = r.ended_at.as_deref().unwrap_or(&now);
    let duration_ms = crate::timefmt::parse(&r.began_at)
        .zip(crate::timefmt::parse(end))
        .map(|(b, e)| (e - b).whole_milliseconds() as i64);
    let share = match r.counters.total {
        0 => 0,
        t => (r.counters.processed * 100 / t).clamp(0, 100) as u8,
    };
    // A finished cycle is complete; a failed one shows how far it got.
    let percent = match r.state {
        CycleState::Running => share.min(99),
        CycleState::Failed => share,
        CycleState::Succeeded | CycleState::EntryLevelErrors => 100,
    };
    CycleInfo {
        id: r.id.clone(),
        kind: r.kind.as_str().to_string(),
        began_at: r.began_at.clone(),
        ended_at: r.ended_at.clone(),
        state: r.state.as_str().to_string(),
        duration_ms,
        percent,
        phase: r.phase.map(|p| p.as_str().to_string()).unwrap_or_default(),
        counts: r.counters.clone(),
        error: r.error.clone(),
    }
}

pub async fn details(pool: &Pool, app: &str) -> Result<SyncDetails, DirError> {
    let a = apps::get(pool, app)
        .await?
        .ok_or_else(|| DirError::NotFound("there is no such application".into()))?;
    let stored = crate::db::provisioning::load_pool(pool, app)
        .await?
        .ok_or_else(|| DirError::NotFound("there is no such application".into()))?;
    let job = jobs::job(pool, app).await?;
    let history: Vec<CycleInfo> = cycles::cycles(pool, app, HISTORY)
        .await?
        .iter()
        .map(info)
        .collect();
    let managed = crate::db::links::managed_counts(pool, app).await?;
    let escrowed = escrows::escrow_counts(pool, app).await?.escrowed;
    let on = stored.config.settings.provisioning_status == ProvisioningStatus::On
        && stored.config.mode == ProvisioningMode::Automatic;
    Ok(SyncDetails {
        drift: crate::db::drift_checks::last(pool, app).await?,
        app_id: app.to_string(),
        app_name: a.name,
        on,
        job_id: job.as_ref().map(|j| j.job_id.clone()).unwrap_or_default(),
        state: job
            .as_ref()
            .map(|j| j.state.as_str())
            .unwrap_or("NotRun")
            .to_string(),
        quarantine_reason: job
            .as_ref()
            .map(|j| j.quarantine_reason.clone())
            .unwrap_or_default(),
        quarantine_since: job.as_ref().and_then(|j| j.quarantine_since.clone()),
        next_attempt: job
            .as_ref()
            .filter(|j| j.state == JobState::Quarantine)
            .and_then(|j| j.next_attempt.clone()),
        current: history.first().cloned(),
        last_completed: history.iter().find(|c| c.state != "Running").cloned(),
        history,
        users_managed: managed.users,
        groups_managed: managed.groups,
        totals: cycles::totals(pool, app).await?,
        escrowed,
        adaptations: profile(
            crate::db::adaptations::current(pool, app).await?,
            &stored.config.compatibility,
        ),
        initial_pending: stored.needs_initial_cycle
            || job
                .as_ref()
                .is_none_or(|j| j.initial_requested || j.watermark.is_none()),
        rate_limit: stored.config.settings.max_requests_per_second,
    })
}

/// The compatibility profile as shown: what was learned, with the admin's choices over it, in
/// the order adaptations are listed.
fn profile(learned: Vec<crate::db::adaptations::Learned>, rules: &[AdaptationRule]) -> Vec<AdaptationInfo> {
    Adaptation::ALL
        .iter()
        .filter_map(|a| {
            let fact = learned.iter().find(|l| l.adaptation == *a);
            let choice = rules
                .iter()
                .find(|r| r.adaptation == *a)
                .map_or(AdaptationChoice::Auto, |r| r.choice);
            let (reason, since) = match (choice, fact) {
                (AdaptationChoice::Auto, None) => return None,
                (AdaptationChoice::Auto, Some(f)) => (f.reason.clone(), f.learned_at.clone()),
                (_, Some(f)) => (
                    format!("Chosen by an admin (learned: {})", f.reason),
                    f.learned_at.clone(),
                ),
                (_, None) => ("Chosen by an admin".to_string(), String::new()),
            };
            Some(AdaptationInfo {
                adaptation: a.as_str().to_string(),
                effect: match choice {
                    AdaptationChoice::Never => a.standard(),
                    _ => a.effect(),
                }
                .to_string(),
                reason,
                since,
                choice,
            })
        })
        .collect()
}

/// The reset options of Restart provisioning, by their Graph resetScope names (any case):
/// Watermark, Escrows, QuarantineState, Full, ForceDeletes. No option = Watermark, Escrows and
/// QuarantineState, which is what the console's Restart provisioning does.
pub fn parse_reset(options: &[String]) -> Result<Reset, DirError> {
    let mut r = Reset {
        watermark: false,
        escrows: false,
        quarantine: false,
        full: false,
        force_deletes: false,
    };
    if options.iter().all(|o| o.trim().is_empty()) {
        r.watermark = true;
        r.escrows = true;
        r.quarantine = true;
        return Ok(r);
    }
    for o in options
        .iter()
        .flat_map(|o| o.split(','))
        .map(str::trim)
        .filter(|o| !o.is_empty())
    {
        match o.to_ascii_lowercase().replace(['-', '_'], "").as_str() {
            "watermark" => r.watermark = true,
            "escrows" => r.escrows = true,
            "quarantinestate" | "quarantine" => r.quarantine = true,
            "full" => r.full = true,
            "forcedeletes" => r.force_deletes = true,
            _ => {
                return Err(invalid(
                    "reset",
                    format!("unknown reset option {o:?}: use Watermark, Escrows, QuarantineState, Full or ForceDeletes"),
                ))
            }
        }
    }
    Ok(r)
}

/// Restart provisioning (or Allow deletes, which is a restart with ForceDeletes).
pub async fn restart(pool: &Pool, app: &str, reset: &Reset, actor: &Actor) -> Result<(), DirError> {
    let a = apps::get(pool, app)
        .await?
        .ok_or_else(|| DirError::NotFound("there is no such application".into()))?;
    // Setting the links aside (Full) under a running cycle would change what it reads and writes:
    // with the job's lease it happens now, otherwise when the next cycle starts.
    let lease = super::on_demand::Exclusive::try_take(pool, app).await?;
    jobs::restart(
        pool,
        app,
        reset,
        &crate::ids::new(),
        &crate::timefmt::now(),
        lease.is_some(),
    )
    .await?;
    if let Some(l) = lease {
        l.release().await;
    }
    let mut what = Vec::new();
    for (on, name) in [
        (reset.watermark, "Watermark"),
        (reset.escrows, "Escrows"),
        (reset.quarantine, "QuarantineState"),
        (reset.full, "Full"),
        (reset.force_deletes, "ForceDeletes"),
    ] {
        if on {
            what.push(name);
        }
    }
    audit::record(
        pool,
        actor,
        "provisioning.restart",
        &a.name,
        Outcome::Success,
        &format!("reset: {}", what.join(", ")),
    )
    .await;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reset_options_take_graphs_names() {
        let r = parse_reset(&[]).unwrap();
        assert!(r.watermark && r.escrows && r.quarantine && !r.full && !r.force_deletes);
        let r = parse_reset(&["ForceDeletes".into()]).unwrap();
        assert!(r.force_deletes && !r.watermark);
        let r = parse_reset(&["watermark,full".into(), "quarantine-state".into()]).unwrap();
        assert!(r.watermark && r.full && r.quarantine && !r.escrows);
        assert!(parse_reset(&["everything".into()]).is_err());
    }
}
