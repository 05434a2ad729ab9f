//! One object now, outside a cycle (provision on demand): the same policy, plan and execution as
//! a cycle's, with detailed narration (every step carries its details) and the outcome recorded
//! like a cycle's batch, without a cycle. A user leaving scope is disabled (or deleted) at once
//! instead of in a later phase, and a failure is reported rather than escrowed: the next cycle
//! looks at the object anyway.

use super::{
    cycle, deprovision, exported_from, member_targets, members_of, process_group, process_user, skip, step,
    Ctx, Done, EngineError, Log, Run, Tuning,
};
use crate::db::prov_log::LogWrite;
use crate::db::sources::{GroupSource, SourceRow};
use crate::db::vocab::ObjectType;
use crate::db::Pool;
use crate::model::ProvisioningConfig;
use crate::scim_client::{Capabilities, Target};
use std::sync::Arc;

/// An application's engine, opened for objects one at a time.
pub(in crate::provisioning) struct Single {
    ctx: Arc<Ctx>,
    run: Run,
}

impl Single {
    /// Compiles the application's policy against a target whose capabilities are known.
    pub(in crate::provisioning) async fn open(
        pool: &Pool,
        app: &str,
        cfg: &ProvisioningConfig,
        target: Target,
        caps: Capabilities,
    ) -> Result<Single, EngineError> {
        let (mut ctx, _) = cycle::context(pool, app, cfg, target, caps, None, &Tuning::default()).await?;
        ctx.detailed = true;
        let ctx = Arc::new(ctx);
        Ok(Single {
            run: Run::new(ctx.clone()),
            ctx,
        })
    }

    /// Provisions one directory user and records the outcome; returns its log entry.
    pub(in crate::provisioning) async fn user(
        &mut self,
        row: SourceRow,
    ) -> Result<Option<LogWrite>, EngineError> {
        let id = row.user.id.clone();
        let manager = row.user.manager_id.clone();
        let ids: Vec<String> = std::iter::once(id.clone()).chain(manager.clone()).collect();
        self.run.ensure(ObjectType::User, &ids).await?;
        let roles = self.run.roles.get(&id).cloned().unwrap_or_default();
        let managed = self.run.users_managed.get(&id).cloned();
        let manager_target = manager
            .as_ref()
            .and_then(|m| self.run.users_managed.get(m))
            .map(|m| m.target_id.clone());
        let eval = self
            .ctx
            .evaluate(&row, &roles, managed.is_none(), manager_target.as_deref());
        let managed = self.run.link_for(&id, managed, &eval);
        let mut done = process_user(self.ctx.clone(), row, eval, managed, false, None).await;
        if let Some(d) = done.deprovision.take() {
            done = deprovision(self.ctx.clone(), d, false).await;
        }
        self.finish(done).await
    }

    /// Provisions one directory group with `members` (direct members, provisioned already):
    /// created or updated with them added; members it already has in the target stay.
    pub(in crate::provisioning) async fn group(
        &mut self,
        source: GroupSource,
        members: &[String],
    ) -> Result<Option<LogWrite>, EngineError> {
        self.run
            .ensure(ObjectType::Group, std::slice::from_ref(&source.id))
            .await?;
        self.run.ensure(ObjectType::User, members).await?;
        let policy = &self.ctx.policy;
        let done = if policy.groups.is_none() || !policy.group_in_scope(&source) {
            let why = if policy.groups.is_none() {
                "The groups mapping is not enabled."
            } else {
                "The group is not assigned to the application, or does not match the groups' scoping filters."
            };
            let log = Log::new(ObjectType::Group, &source.id, &source.display_name);
            let steps = vec![
                step(
                    "Import group",
                    "Success",
                    format!("Retrieved {} from the directory.", source.display_name),
                    vec![],
                ),
                step("Determine if group is in scope", "Skipped", why, vec![]),
            ];
            let mut done = Done::default();
            skip(
                &log,
                &mut done,
                steps,
                "Other",
                "Out of scope: nothing in the target is touched.",
                None,
            );
            done
        } else {
            let managed = self.run.groups_managed.get(&source.id).cloned();
            let mut wanted = managed
                .as_ref()
                .map(|m| members_of(&exported_from(&m.exported)))
                .unwrap_or_default();
            wanted.extend(member_targets(members, &self.run.users_managed));
            process_group(self.ctx.clone(), source, managed, wanted).await
        };
        self.finish(done).await
    }

    /// Records an outcome (a failure is not escrowed) and what was learned about the target.
    async fn finish(&mut self, mut done: Done) -> Result<Option<LogWrite>, EngineError> {
        if done.escrow.as_ref().is_some_and(|e| e.retry.is_some()) {
            done.escrow = None;
        }
        let log = done.log.clone();
        self.run.record(vec![done]).await?;
        self.run.flush().await?;
        // What one object taught about the target holds for the cycles too.
        self.ctx.learned.save(&self.ctx.pool, &self.ctx.app).await;
        Ok(log)
    }
}
