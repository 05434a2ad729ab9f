//! Provision on demand, as Entra runs it: one user, or one group with up to five of its direct
//! members, now, whatever the provisioning status. This module finds the objects, holds the
//! application's lease and reports; the engine ([`Single`]) plans, executes and records each
//! object as a cycle would, with every step's details.

use super::config;
use super::engine::{Log, Problem, Single};
use super::mapped::step;
use crate::db::cycles::Counters;
use crate::db::directory as dir;
use crate::db::prov_log::LogWrite;
use crate::db::vocab::ObjectType;
use crate::db::Pool;
use crate::db::{cycles, sources};
use crate::directory::{invalid, DirError};
use crate::model::{ProvisionReport, ProvisioningConfig};
use crate::scim_client::{Capabilities, Target};
use crate::secrets::Sealer;
use std::time::Instant;

/// Most members provision on demand takes with a group (Entra's limit).
pub const ON_DEMAND_MEMBERS: usize = 5;

/// How long provision on demand waits for a running cycle of the application to end.
pub const WAIT_FOR_CYCLE: std::time::Duration = std::time::Duration::from_secs(10);

/// Provision on demand holds the application's job lease while it runs, as a cycle does, so the
/// two never run at once on any instance (both would look up, create and record the same objects:
/// two creates of one user make a duplicate). Released when dropped.
pub(crate) struct Exclusive {
    pool: Pool,
    app: String,
    holder: String,
}

impl Exclusive {
    async fn take(pool: &Pool, app: &str) -> Result<Exclusive, DirError> {
        Exclusive::take_for(pool, app, "provision on demand").await
    }

    /// The lease if no cycle holds it now (one try).
    pub(crate) async fn try_take(pool: &Pool, app: &str) -> Result<Option<Exclusive>, DirError> {
        let holder = format!("on-demand/{}", uuid::Uuid::now_v7().simple());
        let now = time::OffsetDateTime::now_utc();
        let until = crate::timefmt::format(now + time::Duration::minutes(5));
        let got = crate::db::leases::acquire(pool, app, &holder, &crate::timefmt::format(now), &until, None)
            .await?;
        Ok(got.then(|| Exclusive {
            pool: pool.clone(),
            app: app.to_string(),
            holder,
        }))
    }

    /// The lease, for `what` (an action on drift ...): waits for a running cycle to end (at most
    /// [`WAIT_FOR_CYCLE`]).
    pub(crate) async fn take_for(pool: &Pool, app: &str, what: &str) -> Result<Exclusive, DirError> {
        // Not an instance's name (host/pid/...), so no instance mistakes it for its own.
        let holder = format!("on-demand/{}", uuid::Uuid::now_v7().simple());
        let deadline = Instant::now() + WAIT_FOR_CYCLE;
        loop {
            let now = time::OffsetDateTime::now_utc();
            let until = crate::timefmt::format(now + time::Duration::minutes(5));
            if crate::db::leases::acquire(pool, app, &holder, &crate::timefmt::format(now), &until, None)
                .await?
            {
                return Ok(Exclusive {
                    pool: pool.clone(),
                    app: app.to_string(),
                    holder,
                });
            }
            if Instant::now() >= deadline {
                return Err(DirError::Conflict(format!(
                    "A provisioning cycle of this application is running, and {what} never runs beside one \
                     (both would write the same objects). Try again when the cycle has finished."
                )));
            }
            tokio::time::sleep(std::time::Duration::from_millis(200)).await;
        }
    }
}

impl Exclusive {
    /// Gives the lease back now. Every caller does, so that a command-line process, whose runtime
    /// ends right after, does not leave it to expire (five minutes without cycles).
    pub(crate) async fn release(mut self) {
        let (app, holder) = (std::mem::take(&mut self.app), std::mem::take(&mut self.holder));
        if let Err(e) = crate::db::leases::release(&self.pool, &app, &holder).await {
            tracing::warn!(app = %app, error = %e, "cannot release provision on demand's lease; it expires");
        }
    }
}

/// A lease not given back by [`Exclusive::release`] (an error or a panic on the way) is released
/// in the background.
impl Drop for Exclusive {
    fn drop(&mut self) {
        if self.holder.is_empty() {
            return;
        }
        let (pool, app, holder) = (
            self.pool.clone(),
            std::mem::take(&mut self.app),
            std::mem::take(&mut self.holder),
        );
        tokio::spawn(async move {
            if let Err(e) = crate::db::leases::release(&pool, &app, &holder).await {
                tracing::warn!(app = %app, error = %e, "cannot release provision on demand's lease; it expires");
            }
        });
    }
}

/// The application's configuration and a client for its target; `field` names the form field
/// that a missing credential is reported on.
async fn target(
    pool: &Pool,
    sealer: &Sealer,
    http: &reqwest::Client,
    app: &str,
    field: &str,
) -> Result<(ProvisioningConfig, Target), DirError> {
    let cfg = config::export(pool, app).await?;
    if cfg.tenant_url.is_empty() {
        return Err(invalid(field, "set the Tenant URL and Secret Token first"));
    }
    let token = config::secret_token(pool, sealer, app)
        .await?
        .ok_or_else(|| invalid(field, "set the Secret Token first"))?;
    let target = Target::new(&cfg.tenant_url, &token, http.clone())
        .for_app(app)
        .limited(super::limits::for_app(app, cfg.settings.max_requests_per_second));
    Ok((cfg, target))
}

/// Asks the target for its capabilities; when it does not answer, the run ends here with a
/// Test connection step in the log and the report.
async fn discover(
    pool: &Pool,
    app: &str,
    target: &Target,
    log: &Log<'_>,
) -> Result<Result<Capabilities, ProvisionReport>, DirError> {
    let e = match target.discover().await {
        Ok(caps) => return Ok(Ok(caps)),
        Err(e) => e,
    };
    let steps = vec![step(
        "Test connection",
        "Failure",
        format!("The application could not be reached: {e}"),
        vec![],
    )];
    let entry = log.entry(
        "Other",
        "Failure",
        steps,
        &[],
        Some(Problem::new(
            e.code(),
            e.to_string(),
            "Check the Admin Credentials with Test Connection.",
        )),
    );
    let report = report_of(Some(&entry), log.display_name, log.source_id);
    cycles::record_batch(
        pool,
        app,
        None,
        &cycles::Batch {
            logs: vec![entry],
            ..cycles::Batch::default()
        },
        &Counters::default(),
        &crate::timefmt::now(),
    )
    .await?;
    Ok(Err(report))
}

/// The report of one object's run, from its log entry.
fn report_of(entry: Option<&LogWrite>, display_name: &str, source_id: &str) -> ProvisionReport {
    ProvisionReport {
        display_name: display_name.to_string(),
        source_id: source_id.to_string(),
        target_id: entry.map(|l| l.target_id.clone()).unwrap_or_default(),
        action: entry.map(|l| l.action.to_string()).unwrap_or_default(),
        status: entry.map(|l| l.status.to_string()).unwrap_or_default(),
        error_code: entry.map(|l| l.error_code.clone()).unwrap_or_default(),
        steps: entry
            .and_then(|l| serde_json::from_str(&l.steps).ok())
            .unwrap_or_default(),
    }
}

/// Provisions one directory user (by userPrincipalName or object id) now: the cycle's user
/// pipeline, with a user leaving scope disabled (or deleted) at once instead of in a later phase.
pub async fn provision_user(
    pool: &Pool,
    sealer: &Sealer,
    http: &reqwest::Client,
    app: &str,
    user_ref: &str,
) -> Result<ProvisionReport, DirError> {
    let (cfg, target) = target(pool, sealer, http, app, "secret_token").await?;
    let exclusive = Exclusive::take(pool, app).await?;
    let report = user_now(pool, app, cfg, target, user_ref).await;
    exclusive.release().await;
    report
}

/// [`provision_user`] for a caller that already holds the application's lease (`_lease`).
pub(crate) async fn provision_user_leased(
    pool: &Pool,
    sealer: &Sealer,
    http: &reqwest::Client,
    app: &str,
    user_ref: &str,
    _lease: &Exclusive,
) -> Result<ProvisionReport, DirError> {
    let (cfg, target) = target(pool, sealer, http, app, "secret_token").await?;
    user_now(pool, app, cfg, target, user_ref).await
}

/// [`provision_user`] for a caller that holds the application's lease (a group's members).
async fn user_now(
    pool: &Pool,
    app: &str,
    cfg: ProvisioningConfig,
    target: Target,
    user_ref: &str,
) -> Result<ProvisionReport, DirError> {
    let r = user_ref.trim();
    let mut conn = pool.acquire().await?;
    let user = dir::user_by_ref(&mut conn, r).await?;
    drop(conn);
    let user = user.ok_or_else(|| invalid("user", format!("there is no user {r:?} in the directory")))?;
    let row = sources::users_by_ids(pool, std::slice::from_ref(&user.id))
        .await?
        .pop()
        .ok_or_else(|| invalid("user", "the user was just deleted"))?;
    let log = Log::new(ObjectType::User, &user.id, &user.display_name);
    let caps = match discover(pool, app, &target, &log).await? {
        Ok(caps) => caps,
        Err(report) => return Ok(report),
    };
    let log = Single::open(pool, app, &cfg, target, caps)
        .await?
        .user(row)
        .await?;
    Ok(report_of(log.as_ref(), &user.display_name, &user.id))
}

/// Provision on demand for a group: the chosen members (at most five, direct members) each
/// through the user pipeline, then the group itself, created or updated with those members added;
/// members it already has in the target stay. Returns the members' reports, then the group's.
pub async fn provision_group(
    pool: &Pool,
    sealer: &Sealer,
    http: &reqwest::Client,
    app: &str,
    group_ref: &str,
    member_refs: &[String],
) -> Result<Vec<ProvisionReport>, DirError> {
    if member_refs.len() > ON_DEMAND_MEMBERS {
        return Err(invalid(
            "members",
            format!("choose at most {ON_DEMAND_MEMBERS} members"),
        ));
    }
    let (cfg, target) = target(pool, sealer, http, app, "group").await?;
    let exclusive = Exclusive::take(pool, app).await?;
    let result = group_now(pool, app, cfg, target, group_ref, member_refs).await;
    exclusive.release().await;
    result
}

/// [`provision_group`] once the lease is held.
async fn group_now(
    pool: &Pool,
    app: &str,
    cfg: ProvisioningConfig,
    target: Target,
    group_ref: &str,
    member_refs: &[String],
) -> Result<Vec<ProvisionReport>, DirError> {
    let r = group_ref.trim();
    let mut conn = pool.acquire().await?;
    let found = match dir::group(&mut conn, r).await? {
        Some(g) => Some(g),
        None => dir::group_by_name(&mut conn, r).await?,
    };
    let g = found.ok_or_else(|| invalid("group", format!("there is no group {r:?} in the directory")))?;
    let source = sources::groups(pool, Some(std::slice::from_ref(&g.id)))
        .await?
        .pop()
        .ok_or_else(|| invalid("group", "the group was just deleted"))?;
    let mut member_ids = Vec::new();
    for m in member_refs {
        let u = dir::user_by_ref(&mut conn, m.trim()).await?;
        match u {
            Some(u) if source.members.contains(&u.id) => member_ids.push(u.id),
            _ => {
                return Err(invalid(
                    "members",
                    format!("{m:?} is not a user who is a direct member of {}", g.display_name),
                ))
            }
        }
    }
    drop(conn);

    let mut reports = Vec::new();
    for m in &member_ids {
        // This group's lease covers its members.
        reports.push(user_now(pool, app, cfg.clone(), target.clone(), m).await?);
    }
    let log = Log::new(ObjectType::Group, &source.id, &source.display_name);
    let caps = match discover(pool, app, &target, &log).await? {
        Ok(caps) => caps,
        Err(report) => {
            reports.push(report);
            return Ok(reports);
        }
    };
    let done = Single::open(pool, app, &cfg, target, caps)
        .await?
        .group(source.clone(), &member_ids)
        .await?;
    reports.push(report_of(done.as_ref(), &source.display_name, &source.id));
    Ok(reports)
}
