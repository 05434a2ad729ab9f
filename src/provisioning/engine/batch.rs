//! A cycle's per-run state: what it has read of the connector data store, the batches of users it
//! starts and records, references, deprovisions and groups.

use super::*;

/// How often a running batch's progress is written.
const LIVE_PROGRESS_EVERY: std::time::Duration = std::time::Duration::from_secs(2);

impl Run {
    pub(super) fn new(ctx: Arc<Ctx>) -> Run {
        Run {
            ctx,
            users_managed: HashMap::new(),
            users_unconfirmed: HashMap::new(),
            groups_managed: HashMap::new(),
            roles: HashMap::new(),
            complete: false,
            slim: false,
            looked_up: HashSet::new(),
            counters: Counters::default(),
            fatal: None,
            created_users: Vec::new(),
            unresolved: HashSet::new(),
            processed_users: HashSet::new(),
            presence_changed: Vec::new(),
            deprovisions: Vec::new(),
            pending: None,
            progress_at: std::time::Instant::now(),
        }
    }

    /// A cycle begins a phase (shown with its live progress).
    pub(super) async fn phase(&mut self, phase: crate::db::vocab::CyclePhase) -> Result<(), EngineError> {
        if let Some(cycle) = &self.ctx.cycle {
            cycles::set_phase(&self.ctx.pool, cycle, phase, &self.counters).await?;
            self.progress_at = std::time::Instant::now();
        }
        Ok(())
    }

    /// Waits for the last batch's write.
    pub(super) async fn flush(&mut self) -> Result<(), EngineError> {
        match self.pending.take() {
            Some(write) => write
                .await
                .map_err(|e| EngineError::Task(format!("a provisioning write failed: {e}")))?,
            None => Ok(()),
        }
    }

    /// Applies finished objects to the in-memory connector data store and starts writing the
    /// batch (one at a time, in order); the next batch's requests go out meanwhile. Nothing
    /// reads a batch's rows back before `flush`, and the watermark moves only after it.
    pub(super) async fn record(&mut self, results: Vec<Done>) -> Result<(), EngineError> {
        let mut batch = cycles::Batch::default();
        for mut d in results {
            if let Some(f) = d.fatal.take() {
                self.fatal.get_or_insert(f);
            }
            if let Some(dep) = d.deprovision.take() {
                self.deprovisions.push(dep);
                continue;
            }
            tally(&mut self.counters, &d);
            if let Some(o) = d.object.take() {
                let map = if o.object_type == ObjectType::Group {
                    &mut self.groups_managed
                } else {
                    &mut self.users_managed
                };
                match &o.exported {
                    Some(exported) => {
                        let slim = self.slim && o.object_type == ObjectType::User;
                        map.insert(
                            o.source_id.clone(),
                            Managed {
                                target_id: o.target_id.clone(),
                                exported: if slim { String::new() } else { exported.clone() },
                                state: o.state,
                                unconfirmed: false,
                            },
                        );
                    }
                    None => {
                        map.remove(&o.source_id);
                    }
                }
                if o.object_type == ObjectType::User {
                    if d.created {
                        self.created_users.push(o.source_id.clone());
                    }
                    if d.presence_changed {
                        self.presence_changed.push(o.source_id.clone());
                    }
                }
                batch.objects.push(o);
            }
            if let Some(e) = d.escrow.take() {
                batch.escrows.push(e);
            }
            if let Some(l) = d.log.take() {
                batch.logs.push(l);
            }
        }
        if let Some(preview) = &self.ctx.preview {
            let mut kept = preview.lock().unwrap_or_else(|p| p.into_inner());
            kept.record(batch.logs, batch.objects);
            return Ok(());
        }
        self.flush().await?;
        let (ctx, counters) = (self.ctx.clone(), self.counters.clone());
        self.pending = Some(tokio::spawn(async move {
            let now = crate::timefmt::now();
            cycles::record_batch(&ctx.pool, &ctx.app, ctx.cycle.as_deref(), &batch, &counters, &now).await?;
            Ok(())
        }));
        Ok(())
    }

    /// Reads the connector data store rows (and, for users, the app roles) of `ids` not read yet.
    pub(super) async fn ensure(
        &mut self,
        object_type: ObjectType,
        ids: &[String],
    ) -> Result<(), EngineError> {
        if self.complete {
            return Ok(());
        }
        let mut missing: Vec<String> = ids
            .iter()
            .filter(|id| !self.looked_up.contains(&(object_type, (*id).clone())))
            .cloned()
            .collect();
        missing.sort();
        missing.dedup();
        if missing.is_empty() {
            return Ok(());
        }
        let pool = &self.ctx.pool;
        let mut found = links::managed_some(pool, &self.ctx.app, object_type, &missing).await?;
        self.ctx.overlay(object_type, &mut found, &missing);
        let map = if object_type == ObjectType::Group {
            &mut self.groups_managed
        } else {
            &mut self.users_managed
        };
        for (k, v) in found {
            map.entry(k).or_insert(v);
        }
        if object_type == ObjectType::User {
            for (k, v) in links::unconfirmed_users(pool, &self.ctx.app, Some(&missing)).await? {
                self.users_unconfirmed.entry(k).or_insert(v);
            }
            for g in sources::roles_of_users(pool, &self.ctx.app, &missing).await? {
                let role = self.ctx.policy.role(g.role, g.display);
                add_role(self.roles.entry(g.principal).or_default(), role);
            }
        }
        self.looked_up
            .extend(missing.into_iter().map(|id| (object_type, id)));
        Ok(())
    }

    /// The link a user is processed with: its own; or, for a user out of scope without one, the
    /// link from before a `Restart (Full)`, so the user goes out of the target. (A user in scope
    /// is matched again instead.)
    pub(super) fn link_for(&self, user: &str, own: Option<Managed>, eval: &UserEval) -> Option<Managed> {
        match own {
            None if !eval.in_scope => self.users_unconfirmed.get(user).cloned(),
            own => own,
        }
    }

    pub(super) async fn users(
        &mut self,
        rows: Vec<SourceRow>,
        quiet_in_sync: bool,
    ) -> Result<(), EngineError> {
        let set = self.start_users(rows, quiet_in_sync).await?;
        self.finish(set).await
    }

    /// [`Run::users`] for a stream of batches, one batch ahead: the next batch is read, evaluated
    /// and looked up while the previous one's requests are out, and both share the request
    /// permits, so the target is never idle between batches. Batches are still recorded in
    /// order. A user whose manager is in the batch before it finds no target id for the manager
    /// yet and gets the reference in the references pass, as any unresolved manager does.
    pub(super) async fn users_pipelined(
        &mut self,
        mut running: Option<UserTasks>,
        rows: Vec<SourceRow>,
    ) -> Result<Option<UserTasks>, EngineError> {
        let next = if self.fatal.is_none() && !rows.is_empty() {
            Some(self.start_users(rows, false).await?)
        } else {
            None
        };
        if let Some(set) = running.take() {
            self.finish(set).await?;
        }
        Ok(next)
    }

    /// Reads, evaluates and looks up a batch of users and starts their tasks.
    pub(super) async fn start_users(
        &mut self,
        rows: Vec<SourceRow>,
        quiet_in_sync: bool,
    ) -> Result<UserTasks, EngineError> {
        let ids: Vec<String> = rows
            .iter()
            .flat_map(|r| std::iter::once(r.user.id.clone()).chain(r.user.manager_id.clone()))
            .collect();
        self.ensure(ObjectType::User, &ids).await?;
        let mut full = if self.slim {
            let known: Vec<String> = rows
                .iter()
                .map(|r| r.user.id.clone())
                .filter(|id| self.users_managed.contains_key(id))
                .collect();
            let mut full =
                links::managed_some(&self.ctx.pool, &self.ctx.app, ObjectType::User, &known).await?;
            self.ctx.overlay(ObjectType::User, &mut full, &known);
            full
        } else {
            HashMap::new()
        };
        let mut inputs = Vec::with_capacity(rows.len());
        for row in rows {
            self.processed_users.insert(row.user.id.clone());
            let roles = self.roles.get(&row.user.id).cloned().unwrap_or_default();
            let managed = if self.slim {
                full.remove(&row.user.id)
            } else {
                self.users_managed.get(&row.user.id).cloned()
            };
            let manager_target = row
                .user
                .manager_id
                .as_ref()
                .and_then(|m| self.users_managed.get(m))
                .map(|m| m.target_id.clone());
            inputs.push((row, roles, managed, manager_target));
        }
        // Mapping expressions are CPU work (bounded by their output budget): the batch is
        // evaluated on the blocking pool, so the async workers keep serving requests meanwhile.
        let ctx = self.ctx.clone();
        let evaluated = tokio::task::spawn_blocking(move || {
            inputs
                .into_iter()
                .map(|(row, roles, managed, manager_target)| {
                    let eval = ctx.evaluate(&row, &roles, managed.is_none(), manager_target.as_deref());
                    (row, eval, managed)
                })
                .collect::<Vec<_>>()
        })
        .await
        .map_err(|e| EngineError::Task(format!("evaluating the mappings failed: {e}")))?;
        let work: Vec<_> = evaluated
            .into_iter()
            .map(|(row, eval, managed)| {
                let managed = self.link_for(&row.user.id, managed, &eval);
                (row, eval, managed)
            })
            .collect();
        let mut found = prefetch(&self.ctx, &work).await;
        let mut set = tokio::task::JoinSet::new();
        for (row, eval, managed) in work {
            let id = row.user.id.clone();
            let (ctx, prefound) = (self.ctx.clone(), found.remove(&id));
            set.spawn(async move {
                let done = process_user(ctx, row, eval, managed, quiet_in_sync, prefound).await;
                (id, done)
            });
        }
        Ok(set)
    }

    /// Waits for a batch's tasks and records their outcomes.
    pub(super) async fn finish(&mut self, mut set: UserTasks) -> Result<(), EngineError> {
        let mut results = Vec::new();
        while let Some(r) = set.join_next().await {
            let (id, d) = r.map_err(|e| EngineError::Task(format!("a provisioning task failed: {e}")))?;
            if d.manager_unresolved {
                self.unresolved.insert(id);
            }
            results.push(d);
            self.live_progress(results.len()).await;
        }
        self.record(results).await
    }

    /// While a batch is out, every few seconds: how many of its objects are done. A batch is
    /// recorded only once all of it is back, which against a rate-limited application takes
    /// minutes; without this the progress stood still meanwhile. A failed write only delays it.
    async fn live_progress(&mut self, done_in_batch: usize) {
        let Some(cycle) = &self.ctx.cycle else { return };
        if self.progress_at.elapsed() < LIVE_PROGRESS_EVERY {
            return;
        }
        self.progress_at = std::time::Instant::now();
        let processed = self.counters.processed + done_in_batch as i64;
        if let Err(e) = cycles::processed(&self.ctx.pool, cycle, processed).await {
            tracing::debug!(error = %e, "could not write a cycle's live progress");
        }
    }

    /// Managed users whose source is gone (hard deleted): deleted in the target.
    pub(super) async fn hard_deleted(&mut self, ids: Vec<String>) -> Result<(), EngineError> {
        self.ensure(ObjectType::User, &ids).await?;
        for id in ids {
            let link = self
                .users_managed
                .get(&id)
                .or_else(|| self.users_unconfirmed.get(&id));
            if let Some(m) = link.cloned() {
                if self.ctx.policy.user_actions.delete {
                    self.deprovisions.push(Deprovision {
                        object_type: ObjectType::User,
                        source_id: id.clone(),
                        display_name: id.clone(),
                        managed: m,
                        delete: true,
                        reason: "The user was deleted from the directory for good.".into(),
                        steps: Vec::new(),
                    });
                }
            }
        }
        Ok(())
    }

    /// Phase 2: users whose manager had no target id when they were processed.
    pub(super) async fn references(&mut self) -> Result<(), EngineError> {
        let mut candidates: BTreeSet<String> = self.unresolved.drain().collect();
        if !self.created_users.is_empty() {
            for id in sources::reports_of(&self.ctx.pool, &self.created_users).await? {
                if !self.processed_users.contains(&id) {
                    candidates.insert(id);
                }
            }
        }
        let candidates: Vec<String> = candidates.into_iter().collect();
        self.ensure(ObjectType::User, &candidates).await?;
        let candidates: Vec<String> = candidates
            .into_iter()
            .filter(|id| self.users_managed.contains_key(id))
            .collect();
        for chunk in candidates.chunks(BATCH) {
            let rows = sources::users_by_ids(&self.ctx.pool, chunk).await?;
            let rows = rows
                .into_iter()
                .filter(|r| {
                    r.user
                        .manager_id
                        .as_ref()
                        .is_some_and(|m| self.users_managed.contains_key(m))
                })
                .collect();
            self.users(rows, true).await?;
            if self.fatal.is_some() {
                break;
            }
        }
        Ok(())
    }

    /// Phase 3: executes the cycle's deprovisions, or holds them all.
    pub(super) async fn deprovisions(&mut self, held: bool) -> Result<(), EngineError> {
        let list = std::mem::take(&mut self.deprovisions);
        for chunk in list.chunks(BATCH) {
            let mut set = tokio::task::JoinSet::new();
            for d in chunk {
                let (ctx, d) = (self.ctx.clone(), d.clone());
                set.spawn(async move { (d.source_id.clone(), deprovision(ctx, d, held).await) });
            }
            self.finish(set).await?;
            if self.fatal.is_some() {
                break;
            }
        }
        Ok(())
    }

    /// Phase 4 input: groups that left scope are queued for deletion; returns those in scope.
    pub(super) fn plan_groups(
        &mut self,
        groups: Vec<sources::GroupSource>,
        gone: Vec<String>,
    ) -> Vec<sources::GroupSource> {
        let mut keep = Vec::new();
        for g in groups {
            if self.ctx.policy.groups.is_some() && self.ctx.policy.group_in_scope(&g) {
                keep.push(g);
                continue;
            }
            match self.groups_managed.get(&g.id).cloned() {
                Some(m) if self.ctx.policy.group_actions.delete && !self.ctx.policy.skip_out_of_scope => {
                    self.deprovisions.push(Deprovision {
                        object_type: ObjectType::Group,
                        source_id: g.id.clone(),
                        display_name: g.display_name.clone(),
                        managed: m,
                        delete: true,
                        reason: "The group left scope.".into(),
                        steps: Vec::new(),
                    });
                }
                // Looked at and left alone: progress all the same.
                _ => self.counters.processed += 1,
            }
        }
        for id in gone {
            if let Some(m) = self.groups_managed.get(&id).cloned() {
                if self.ctx.policy.group_actions.delete {
                    self.deprovisions.push(Deprovision {
                        object_type: ObjectType::Group,
                        source_id: id.clone(),
                        display_name: id.clone(),
                        managed: m,
                        delete: true,
                        reason: "The group was deleted from the directory.".into(),
                        steps: Vec::new(),
                    });
                }
            }
        }
        keep
    }

    pub(super) async fn groups(&mut self, groups: Vec<sources::GroupSource>) -> Result<(), EngineError> {
        for chunk in groups.chunks(BATCH / 4) {
            let ids: Vec<String> = chunk.iter().map(|g| g.id.clone()).collect();
            self.ensure(ObjectType::Group, &ids).await?;
            let members: Vec<String> = chunk.iter().flat_map(|g| g.members.iter().cloned()).collect();
            self.ensure(ObjectType::User, &members).await?;
            let mut set = tokio::task::JoinSet::new();
            for g in chunk {
                let members = member_targets(&g.members, &self.users_managed);
                let managed = self.groups_managed.get(&g.id).cloned();
                let ctx = self.ctx.clone();
                let group = sources::GroupSource {
                    id: g.id.clone(),
                    display_name: g.display_name.clone(),
                    description: g.description.clone(),
                    mail_nickname: g.mail_nickname.clone(),
                    members: Vec::new(),
                };
                set.spawn(async move {
                    (
                        group.id.clone(),
                        process_group(ctx, group, managed, members).await,
                    )
                });
            }
            self.finish(set).await?;
            if self.fatal.is_some() {
                break;
            }
        }
        Ok(())
    }
}
