//! The cycle itself: what it knows before it starts, which objects it looks at, its phases in
//! order, and how it ends (succeeded, failed, quarantined).

use super::*;

/// What a cycle (or provision on demand, with no cycle) knows before it looks at objects: the
/// compiled mappings and scoping filters, target object actions, app roles and the groups'
/// entitlement. Also returns each assigned group's roles.
pub(super) async fn context(
    pool: &Pool,
    app: &str,
    cfg: &ProvisioningConfig,
    target: Target,
    caps: Capabilities,
    cycle: Option<String>,
    tuning: &Tuning,
) -> Result<(Ctx, HashMap<String, Roles>), EngineError> {
    let app_roles = crate::db::apps::roles(pool, app).await?;
    let known: Vec<Adaptation> = crate::db::adaptations::current(pool, app)
        .await?
        .into_iter()
        .map(|l| l.adaptation)
        .collect();
    let learned = learned::Learned::from(&known, &cfg.compatibility);
    let group_assignments = sources::group_assignments(pool, app).await?;
    let (policy, group_roles) = Policy::compile(cfg, &app_roles, group_assignments)?;
    let escrowed: HashMap<(ObjectType, String), escrows::Escrow> = escrows::escrows(pool, app)
        .await?
        .into_iter()
        .map(|e| ((e.object_type, e.source_id.clone()), e))
        .collect();

    let permits = Arc::new(tokio::sync::Semaphore::new(tuning.concurrency.max(1)));
    // Provision on demand creates one user: a plain POST, as Entra sends.
    let bulk = match (&cycle, caps.bulk) {
        (Some(_), true) => crate::provisioning::bulk::BulkCreates::start(
            target.clone(),
            permits.clone(),
            caps.bulk_max_operations,
            caps.bulk_max_payload,
        ),
        _ => None,
    };
    let ctx = Ctx {
        pool: pool.clone(),
        app: app.to_string(),
        cycle,
        target,
        matcher: Matcher::new(caps.filter && !learned.has(Adaptation::IgnoresFilters)),
        learned,
        caps,
        policy,
        escrow_base: tuning.escrow_base,
        escrowed,
        permits,
        detailed: false,
        undeclared: Default::default(),
        bulk,
        preview: None,
    };
    Ok((ctx, group_roles))
}

/// Which objects an incremental cycle looks at: those the changes after `since` (up to `upto`)
/// touched.
pub(super) async fn changed(
    pool: &Pool,
    app: &str,
    since: i64,
    upto: i64,
) -> Result<(BTreeSet<String>, BTreeSet<String>, BTreeSet<String>), EngineError> {
    let mut users = BTreeSet::new();
    let mut groups = BTreeSet::new();
    // Principals whose assignment changed: a group's members change scope with it.
    let mut assigned = BTreeSet::new();
    let mut cursor = since;
    while cursor < upto {
        let batch = dir::changes_since(pool, cursor, 5_000).await?;
        let Some(last) = batch.last() else { break };
        cursor = last.seq;
        for c in batch.iter().filter(|c| c.seq <= upto) {
            match c.kind {
                ChangeKind::User => {
                    users.insert(c.object_id.clone());
                }
                ChangeKind::Group => {
                    groups.insert(c.object_id.clone());
                }
                ChangeKind::Membership => {
                    groups.insert(c.object_id.clone());
                    users.insert(c.related_id.clone());
                }
                ChangeKind::Assignment if c.object_id == app => {
                    users.insert(c.related_id.clone());
                    groups.insert(c.related_id.clone());
                    assigned.insert(c.related_id.clone());
                }
                // Another application's assignment.
                ChangeKind::Assignment => {}
            }
        }
    }
    Ok((users, groups, assigned))
}

/// The application's target as a cycle (or a preview, a drift report) talks to it: its token,
/// within its rate limit, with the engine's concurrency.
pub(super) async fn target(
    pool: &Pool,
    sealer: &Sealer,
    http: &reqwest::Client,
    app: &str,
    cfg: &ProvisioningConfig,
    tuning: &Tuning,
) -> Result<Target, EngineError> {
    let token = config::secret_token(pool, sealer, app).await?.unwrap_or_default();
    Ok(Target::new(&cfg.tenant_url, &token, http.clone())
        .for_app(app)
        .limited(crate::provisioning::limits::for_app(
            app,
            cfg.settings.max_requests_per_second,
        ))
        .gated(tuning.concurrency))
}

/// Runs one cycle of `app` now: initial when the job has none completed, was restarted, or the
/// configuration changed since; incremental otherwise.
pub async fn run(
    pool: &Pool,
    sealer: &Sealer,
    http: &reqwest::Client,
    app: &str,
    tuning: &Tuning,
) -> Result<CycleReport, EngineError> {
    let now = crate::timefmt::now();
    let job = jobs::ensure_job(pool, app, &crate::ids::new(), &now).await?;
    if jobs::apply_pending_full_reset(pool, app).await? {
        tracing::info!(app = %app, "Restart (Full) asked for during the last cycle: links set aside now");
    }
    let stored = crate::db::provisioning::load_pool(pool, app)
        .await?
        .ok_or(EngineError::NoApplication)?;
    let initial = job.watermark.is_none() || job.initial_requested || stored.needs_initial_cycle;
    let version = jobs::config_version(pool, app).await?;
    let upto = dir::last_change(pool).await?;
    let cfg = stored.config;
    let loaded = stored.updated_at;
    let id = crate::ids::new();
    let kind = if initial {
        CycleKind::Initial
    } else {
        CycleKind::Incremental
    };
    cycles::start_cycle(pool, &id, app, kind, &now).await?;
    let mut report = CycleReport {
        id: id.clone(),
        kind,
        state: CycleState::Running,
        counters: Counters::default(),
        quarantine: None,
        error: String::new(),
    };

    let target = target(pool, sealer, http, app, &cfg, tuning).await?;
    let caps = match target.discover().await {
        Ok(c) => c,
        Err(e) => {
            return fail_cycle(pool, app, report, &e, &loaded, tuning).await;
        }
    };
    let (ctx, group_roles) = context(pool, app, &cfg, target, caps, Some(id.clone()), tuning).await?;
    let ctx = Arc::new(ctx);
    let Phased { mut run, held } = phases(
        pool,
        app,
        &cfg,
        Scan {
            initial,
            watermark: job.watermark,
            upto,
            force_deletes: job.force_deletes,
        },
        ctx.clone(),
        group_roles,
    )
    .await?;
    let mut quarantine = held.then_some(rules::TOO_MANY_DELETES);
    ctx.learned.save(pool, app).await;

    let end = crate::timefmt::now();
    report.counters = run.counters.clone();
    if let Some(f) = run.fatal.take() {
        report.state = CycleState::Failed;
        report.error = f;
        report.quarantine = Some(rules::QUARANTINE_EXCEPTION);
        cycles::end_cycle(
            pool,
            &id,
            &report.counters,
            CycleState::Failed,
            &report.error,
            &end,
        )
        .await?;
        enter_quarantine(pool, app, rules::QUARANTINE_EXCEPTION, &loaded, tuning).await?;
        return Ok(report);
    }
    report.state = if report.counters.failed > 0 {
        CycleState::EntryLevelErrors
    } else {
        CycleState::Succeeded
    };
    cycles::end_cycle(pool, &id, &report.counters, report.state, "", &end).await?;
    // An initial cycle that held deletes has not done its work: it stays requested (see below).
    jobs::complete_cycle(
        pool,
        app,
        upto,
        (initial && quarantine.is_none()).then_some(version),
        job.requests,
        &end,
    )
    .await?;
    if quarantine.is_none() {
        let escrowed = escrows::escrow_counts(pool, app).await?;
        let c = &report.counters;
        let succeeded = c.created + c.updated + c.disabled + c.deleted + c.skipped;
        quarantine = rules::quarantine_for(escrowed.escrowed, escrowed.reference, succeeded)
            .or_else(|| rules::cycle_failed_too_much(c.failed, succeeded).then_some(rules::CYCLE_FAILURES));
    }
    if report.counters.failed > 0 {
        tracing::warn!(
            app = %app,
            cycle = %id,
            failed = report.counters.failed,
            quarantine = quarantine.unwrap_or(""),
            "the cycle ended with failures: see the provisioning log"
        );
    }
    match quarantine {
        Some(reason) => {
            report.quarantine = Some(reason);
            if reason == rules::TOO_MANY_DELETES {
                // The held deletes are not in the change sequence any more: the next cycle
                // evaluates everything again.
                jobs::request_initial(pool, app).await?;
            }
            enter_quarantine(pool, app, reason, &loaded, tuning).await?;
        }
        None if job.state == JobState::Quarantine => jobs::leave_quarantine(pool, app, &end).await?,
        None => {}
    }
    Ok(report)
}

/// What a cycle looks at: everything (initial) or the changes after the watermark up to `upto`
/// (incremental); and whether "Allow deletes" releases deletes over the threshold.
pub(super) struct Scan {
    pub(super) initial: bool,
    pub(super) watermark: Option<i64>,
    pub(super) upto: i64,
    pub(super) force_deletes: bool,
}

/// What the phases leave: the run (its counters, a fatal error) and whether the accidental-
/// deletion threshold held the cycle's deprovisions.
pub(super) struct Phased {
    pub(super) run: Run,
    pub(super) held: bool,
}

/// The phases of the module documentation over the objects `scan` names, for a cycle and for a
/// preview alike (the preview's target only pretends to write and its context keeps what would be
/// recorded, see `preview`).
pub(super) async fn phases(
    pool: &Pool,
    app: &str,
    cfg: &ProvisioningConfig,
    scan: Scan,
    ctx: Arc<Ctx>,
    group_roles: HashMap<String, Roles>,
) -> Result<Phased, EngineError> {
    let mut run = Run::new(ctx.clone());
    if scan.initial {
        // Everything in bulk: an initial cycle looks at every object.
        for g in sources::user_assignments(pool, app).await? {
            let role = ctx.policy.role(g.role, g.display);
            run.roles.entry(g.principal).or_default().push(role);
        }
        for m in sources::assigned_group_members(pool, app).await? {
            if let Some(roles) = group_roles.get(&m.group) {
                let list = run.roles.entry(m.user).or_default();
                for r in roles {
                    add_role(list, r.clone());
                }
            }
        }
        // Users' exported documents are read per batch: a large directory's would not fit the
        // memory budget.
        run.users_managed = links::managed_all(pool, app, ObjectType::User, false).await?;
        run.users_unconfirmed = links::unconfirmed_users(pool, app, None).await?;
        run.groups_managed = links::managed_all(pool, app, ObjectType::Group, true).await?;
        run.complete = true;
        run.slim = true;
    }

    // What to look at.
    let due_now = crate::timefmt::now();
    let due: Vec<escrows::Escrow> = ctx
        .escrowed
        .values()
        .filter(|e| e.next_at <= due_now)
        .cloned()
        .collect();
    let (group_list, gone_groups) = if scan.initial {
        if let Some(path) = ctx.policy.users.first_matching() {
            probe_filters(&ctx, Kind::User, path).await;
        }
        if let Some(path) = ctx.policy.groups.as_ref().and_then(|g| g.first_matching()) {
            probe_filters(&ctx, Kind::Group, path).await;
        }
        let d = dir::directory_counts(pool).await?;
        run.counters.total = d.users + d.deleted_users + d.groups;
        run.phase(CyclePhase::Users).await?;
        // Users, page by page in id order.
        let mut seen: HashSet<String> = HashSet::new();
        let mut after = String::new();
        let mut running = None;
        loop {
            let rows = sources::users_after(pool, &after, BATCH as i64).await?;
            let last = rows.last().map(|r| r.user.id.clone());
            seen.extend(rows.iter().map(|r| r.user.id.clone()));
            running = run.users_pipelined(running, rows).await?;
            match last {
                Some(last) if run.fatal.is_none() => after = last,
                _ => break,
            }
        }
        run.users_pipelined(running, Vec::new()).await?;
        let gone: Vec<String> = run
            .users_managed
            .keys()
            .chain(run.users_unconfirmed.keys())
            .filter(|k| !seen.contains(*k))
            .cloned()
            .collect::<BTreeSet<String>>()
            .into_iter()
            .collect();
        run.hard_deleted(gone).await?;
        let groups = sources::groups(pool, None).await?;
        let present: HashSet<&str> = groups.iter().map(|g| g.id.as_str()).collect();
        let gone_groups: Vec<String> = run
            .groups_managed
            .keys()
            .filter(|k| !present.contains(k.as_str()))
            .cloned()
            .collect();
        (groups, gone_groups)
    } else {
        let (mut users, mut group_ids, assigned) =
            changed(pool, app, scan.watermark.unwrap_or(0), scan.upto).await?;
        for e in &due {
            if e.object_type == ObjectType::User {
                users.insert(e.source_id.clone());
            } else {
                group_ids.insert(e.source_id.clone());
            }
        }
        let ids: Vec<String> = group_ids.iter().cloned().collect();
        let groups = sources::groups(pool, Some(&ids)).await?;
        for g in groups.iter().filter(|g| assigned.contains(&g.id)) {
            users.extend(g.members.iter().cloned());
        }
        let ids: Vec<String> = users.iter().cloned().collect();
        run.counters.total = (ids.len() + group_ids.len()) as i64;
        run.phase(CyclePhase::Users).await?;
        let mut found: HashSet<String> = HashSet::new();
        let mut running = None;
        for chunk in ids.chunks(BATCH) {
            let rows = sources::users_by_ids(pool, chunk).await?;
            found.extend(rows.iter().map(|r| r.user.id.clone()));
            running = run.users_pipelined(running, rows).await?;
            if run.fatal.is_some() {
                break;
            }
        }
        run.users_pipelined(running, Vec::new()).await?;
        // Ids that are no longer users: hard deleted (group ids are never managed as users).
        let gone: Vec<String> = ids.iter().filter(|i| !found.contains(*i)).cloned().collect();
        run.hard_deleted(gone).await?;
        let present: HashSet<String> = groups.iter().map(|g| g.id.clone()).collect();
        let gone_groups: Vec<String> = group_ids
            .iter()
            .filter(|g| !present.contains(*g) && !found.contains(*g))
            .cloned()
            .collect();
        (groups, gone_groups)
    };

    // The references pass reads users' connector data store rows back.
    run.flush().await?;
    if run.fatal.is_none() && (!run.unresolved.is_empty() || !run.created_users.is_empty()) {
        run.phase(CyclePhase::References).await?;
    }
    if run.fatal.is_none() {
        run.references().await?;
    }
    let in_scope_groups = if run.fatal.is_none() {
        let ids: Vec<String> = group_list
            .iter()
            .map(|g| g.id.clone())
            .chain(gone_groups.iter().cloned())
            .collect();
        run.ensure(ObjectType::Group, &ids).await?;
        run.plan_groups(group_list, gone_groups)
    } else {
        Vec::new()
    };
    let mut held = false;
    if run.fatal.is_none() {
        // The threshold counts over a sliding window (the reconciliation interval), across
        // cycles: cycles start within a second of a change, so deletions arriving a few at a
        // time would otherwise never trip it.
        let recent = if run.deprovisions.is_empty() {
            0
        } else {
            let window = time::Duration::minutes(cfg.settings.reconciliation_interval_minutes.max(1));
            crate::db::prov_log::recent_deprovisions(pool, app, &crate::timefmt::ago(window)).await?
        };
        held = rules::hold_deletes(
            cfg.settings.prevent_accidental_deletions,
            cfg.settings.deletion_threshold,
            recent + run.deprovisions.len() as i64,
            scan.force_deletes,
        );
        if !run.deprovisions.is_empty() {
            run.phase(CyclePhase::Deprovisions).await?;
        }
        run.deprovisions(held).await?;
    }
    if run.fatal.is_none() && ctx.policy.groups.is_some() {
        let mut in_scope_groups = in_scope_groups;
        if !scan.initial {
            // Groups whose members appeared in or vanished from the target (created, enabled,
            // disabled, deleted users) need their member lists looked at too.
            let planned: HashSet<String> = in_scope_groups.iter().map(|g| g.id.clone()).collect();
            let extra: Vec<String> = sources::groups_of_users(pool, &run.presence_changed)
                .await?
                .into_iter()
                .filter(|g| !planned.contains(g))
                .collect();
            for g in sources::groups(pool, Some(&extra)).await? {
                if ctx.policy.group_in_scope(&g) {
                    run.counters.total += 1;
                    in_scope_groups.push(g);
                }
            }
        }
        run.phase(CyclePhase::Groups).await?;
        run.groups(in_scope_groups).await?;
    }
    if scan.initial && run.fatal.is_none() {
        run.counters.total = run.counters.processed;
    }
    run.flush().await?;
    Ok(Phased { run, held })
}

/// The target could not be used at all (discovery failed).
pub(super) async fn fail_cycle(
    pool: &Pool,
    app: &str,
    mut report: CycleReport,
    e: &ClientError,
    loaded: &str,
    tuning: &Tuning,
) -> Result<CycleReport, EngineError> {
    report.state = CycleState::Failed;
    report.error = format!("{}: {e}", e.code());
    cycles::end_cycle(
        pool,
        &report.id,
        &report.counters,
        CycleState::Failed,
        &report.error,
        &crate::timefmt::now(),
    )
    .await?;
    if fatal(e) {
        report.quarantine = Some(rules::QUARANTINE_EXCEPTION);
        enter_quarantine(pool, app, rules::QUARANTINE_EXCEPTION, loaded, tuning).await?;
    }
    Ok(report)
}

/// `loaded`: the `updated_at` of the configuration the failed cycle ran with.
pub(super) async fn enter_quarantine(
    pool: &Pool,
    app: &str,
    reason: &str,
    loaded: &str,
    tuning: &Tuning,
) -> Result<(), EngineError> {
    let now = OffsetDateTime::now_utc();
    let next = now + rules::quarantine_backoff(tuning.escrow_base);
    jobs::quarantine(
        pool,
        app,
        reason,
        &crate::timefmt::format(next),
        &crate::timefmt::format(now),
        loaded,
    )
    .await?;
    if let Some(job) = jobs::job(pool, app).await? {
        // One email when quarantine starts, and again when its reason changes.
        if job.last_notified_reason != reason {
            crate::notify::quarantine_email(pool, app, reason, &tuning.public_url).await?;
            jobs::set_notified(pool, app, reason).await?;
        }
        let expired = job
            .quarantine_since
            .as_deref()
            .and_then(crate::timefmt::parse)
            .is_some_and(|since| rules::quarantine_expired(since, now, tuning.escrow_base));
        if expired {
            jobs::set_state(pool, app, JobState::Disabled, &crate::timefmt::format(now)).await?;
        }
    }
    Ok(())
}
