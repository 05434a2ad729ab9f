//! Which directory users are in an application's scope now, as the next cycle would decide it
//! (assigned with a provisioned role, or everyone when the scope is all users; enabled and not
//! deleted; passing the scoping filters), without looking at the target: the users list's
//! "In scope of" filter.

use super::*;

/// How many users are evaluated per read.
const CHUNK: usize = 500;

/// The application's scope compiled once, then asked about users a chunk at a time.
pub struct ScopeCheck {
    app: String,
    policy: Policy,
}

impl ScopeCheck {
    pub async fn open(pool: &Pool, app: &str) -> Result<ScopeCheck, EngineError> {
        let cfg = config::export(pool, app).await?;
        let app_roles = crate::db::apps::roles(pool, app).await?;
        let group_assignments = sources::group_assignments(pool, app).await?;
        let (policy, _) =
            Policy::compile(&cfg, &app_roles, group_assignments).map_err(EngineError::Configuration)?;
        Ok(ScopeCheck {
            app: app.to_string(),
            policy,
        })
    }

    /// "Sync all users and groups": every user is a candidate, assigned or not.
    pub fn all_users(&self) -> bool {
        self.policy.all
    }

    /// The ids among `ids` that are in scope, in the order given.
    pub async fn in_scope(&self, pool: &Pool, ids: &[String]) -> Result<Vec<String>, EngineError> {
        let mut out = Vec::new();
        for chunk in ids.chunks(CHUNK) {
            let rows = sources::users_by_ids(pool, chunk).await?;
            let passing: HashSet<String> = self
                .scoped(pool, rows)
                .await?
                .into_iter()
                .filter(|u| u.in_scope)
                .map(|u| u.id)
                .collect();
            out.extend(chunk.iter().filter(|id| passing.contains(*id)).cloned());
        }
        Ok(out)
    }

    /// Up to `limit` directory users after the id `after`, in id order (the order an initial cycle
    /// reads them in), each with its scope and the context its mappings evaluate against.
    pub async fn users_after(
        &self,
        pool: &Pool,
        after: &str,
        limit: usize,
    ) -> Result<Vec<ScopedUser>, EngineError> {
        let rows = sources::users_after(pool, after, limit.min(CHUNK) as i64).await?;
        self.scoped(pool, rows).await
    }

    async fn scoped(&self, pool: &Pool, rows: Vec<SourceRow>) -> Result<Vec<ScopedUser>, EngineError> {
        scoped(pool, &self.app, &self.policy, rows).await
    }
}

/// Directory users (`rows`) as the next cycle of `app` would see them: scope and mapping context.
pub(super) async fn scoped(
    pool: &Pool,
    app: &str,
    policy: &Policy,
    rows: Vec<SourceRow>,
) -> Result<Vec<ScopedUser>, EngineError> {
    let ids: Vec<String> = rows.iter().map(|r| r.user.id.clone()).collect();
    let mut roles: HashMap<String, Roles> = HashMap::new();
    for g in sources::roles_of_users(pool, app, &ids).await? {
        let role = policy.role(g.role, g.display);
        add_role(roles.entry(g.principal).or_default(), role);
    }
    Ok(rows
        .into_iter()
        .map(|row| {
            let r = roles.get(&row.user.id).map(Vec::as_slice).unwrap_or(&[]);
            let scoped = scope_user(policy, &row.user, row.manager_upn, r);
            ScopedUser {
                in_scope: scoped.in_scope(),
                context: scoped.context,
                display_name: row.user.display_name,
                id: row.user.id,
                upn: row.user.upn,
            }
        })
        .collect())
}

/// A directory user as the next cycle would see it, before mapping.
pub struct ScopedUser {
    pub id: String,
    pub upn: String,
    pub display_name: String,
    pub in_scope: bool,
    /// What the users mapping's expressions read.
    pub context: crate::provisioning::source::UserContext,
}
