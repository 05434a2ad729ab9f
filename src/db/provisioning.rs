//! An application's provisioning configuration: the `app_provisioning` row, its object mappings
//! with their attribute mappings, and scoping clauses. Written whole, in the caller's transaction.

use super::vocab::column;
use super::Pool;
use crate::model::{
    Adaptation, AdaptationChoice, AdaptationRule, AttributeMapping, MappedObject, ObjectMapping,
    ProvisioningConfig, ProvisioningSettings, ScopingClause, ScopingFilter,
};
use sqlx::Row;

pub struct Stored {
    pub config: ProvisioningConfig,
    /// The sealed secret token.
    pub secret_token: Option<String>,
    pub needs_initial_cycle: bool,
    /// An initial cycle has completed since the application was added.
    pub initial_cycle_ran: bool,
    pub updated_at: String,
}

pub async fn load(conn: &mut crate::db::Conn, app: &str) -> sqlx::Result<Option<Stored>> {
    let Some(r) = sqlx::query(
        "SELECT p.mode, p.tenant_url, p.secret_token, p.notification_email, p.notify_on_failure, p.scope,
                p.prevent_deletions, p.deletion_threshold, p.skip_out_of_scope_deletions, p.interval_minutes,
                p.max_requests_per_second, p.drift_check_hours, p.drift_revert, p.drift_adopt,
                CASE WHEN p.config_version > p.initial_cycle_version THEN 1 ELSE 0 END AS needs_initial,
                CASE WHEN p.initial_cycle_version > 0 THEN 1 ELSE 0 END AS initial_ran,
                p.updated_at, a.provisioning_status
         FROM app_provisioning p JOIN apps a ON a.id = p.app_id WHERE p.app_id = $1",
    )
    .bind(app)
    .fetch_optional(&mut *conn)
    .await?
    else {
        return Ok(None);
    };
    let objects = sqlx::query(
        "SELECT object, enabled, target_object, action_create, action_update, action_delete
         FROM app_object_mappings WHERE app_id = $1 ORDER BY object DESC",
    )
    .bind(app)
    .fetch_all(&mut *conn)
    .await?;
    let attrs = sqlx::query(
        "SELECT object, target, kind, source, default_value, matching, apply_on
         FROM app_mappings WHERE app_id = $1 ORDER BY position",
    )
    .bind(app)
    .fetch_all(&mut *conn)
    .await?;
    let clauses = sqlx::query(
        "SELECT object, filter_no, filter_title, attribute, operator, value
         FROM app_scoping_clauses WHERE app_id = $1 ORDER BY filter_no, clause_no",
    )
    .bind(app)
    .fetch_all(&mut *conn)
    .await?;
    let mut mappings = Vec::with_capacity(objects.len());
    for o in &objects {
        let object: MappedObject = column(o, "object")?;
        let mut filters: Vec<(i64, ScopingFilter)> = Vec::new();
        for c in &clauses {
            if column::<MappedObject>(c, "object")? != object {
                continue;
            }
            let no: i64 = c.get("filter_no");
            if filters.last().is_none_or(|(n, _)| *n != no) {
                filters.push((
                    no,
                    ScopingFilter {
                        title: c.get("filter_title"),
                        clauses: Vec::new(),
                    },
                ));
            }
            if let Some((_, f)) = filters.last_mut() {
                f.clauses.push(ScopingClause {
                    attribute: c.get("attribute"),
                    operator: c.get("operator"),
                    value: c.get("value"),
                });
            }
        }
        let mut attributes = Vec::new();
        for a in &attrs {
            if column::<MappedObject>(a, "object")? != object {
                continue;
            }
            attributes.push(AttributeMapping {
                target: a.get("target"),
                kind: column(a, "kind")?,
                source: a.get("source"),
                default_value: a.get("default_value"),
                matching: a.get("matching"),
                apply_on: column(a, "apply_on")?,
            });
        }
        mappings.push(ObjectMapping {
            object,
            enabled: o.get::<i64, _>("enabled") != 0,
            target_object: o.get("target_object"),
            create: o.get::<i64, _>("action_create") != 0,
            update: o.get::<i64, _>("action_update") != 0,
            delete: o.get::<i64, _>("action_delete") != 0,
            attributes,
            scoping_filters: filters.into_iter().map(|(_, f)| f).collect(),
        });
    }
    let compatibility = adaptation_rules(&mut *conn, app).await?;
    Ok(Some(Stored {
        config: ProvisioningConfig {
            mode: column(&r, "mode")?,
            tenant_url: r.get("tenant_url"),
            notification_email: r.get("notification_email"),
            notify_on_failure: r.get::<i64, _>("notify_on_failure") != 0,
            settings: ProvisioningSettings {
                scope: column(&r, "scope")?,
                provisioning_status: column(&r, "provisioning_status")?,
                prevent_accidental_deletions: r.get::<i64, _>("prevent_deletions") != 0,
                deletion_threshold: r.get("deletion_threshold"),
                skip_out_of_scope_deletions: r.get::<i64, _>("skip_out_of_scope_deletions") != 0,
                reconciliation_interval_minutes: r.get("interval_minutes"),
                max_requests_per_second: r.get("max_requests_per_second"),
                drift_check_hours: r.get("drift_check_hours"),
                drift_revert: r.get::<i64, _>("drift_revert") != 0,
                drift_adopt: r.get::<i64, _>("drift_adopt") != 0,
            },
            mappings,
            compatibility,
        },
        secret_token: r.get("secret_token"),
        needs_initial_cycle: r.get::<i64, _>("needs_initial") != 0,
        initial_cycle_ran: r.get::<i64, _>("initial_ran") != 0,
        updated_at: r.get("updated_at"),
    }))
}

/// The admin's adaptation choices, in the order of [`Adaptation::ALL`]; a name this version does
/// not know (written by a newer one) is left out.
async fn adaptation_rules(conn: &mut crate::db::Conn, app: &str) -> sqlx::Result<Vec<AdaptationRule>> {
    let rows = sqlx::query("SELECT adaptation, choice FROM prov_adaptation_rules WHERE app_id = $1")
        .bind(app)
        .fetch_all(&mut *conn)
        .await?;
    let mut rules: Vec<AdaptationRule> = rows
        .iter()
        .filter_map(|r| {
            Some(AdaptationRule {
                adaptation: Adaptation::from_spelling(r.get::<String, _>("adaptation").as_str())?,
                choice: AdaptationChoice::from_spelling(r.get::<String, _>("choice").as_str())?,
            })
        })
        .collect();
    rules.sort_by_key(|r| Adaptation::ALL.iter().position(|a| *a == r.adaptation));
    Ok(rules)
}

pub async fn load_pool(pool: &Pool, app: &str) -> sqlx::Result<Option<Stored>> {
    let mut conn = pool.acquire().await?;
    load(&mut conn, app).await
}

/// Creates the configuration row of a new application (mappings come with the application).
pub async fn insert_defaults(conn: &mut crate::db::Conn, app: &str, now: &str) -> sqlx::Result<()> {
    sqlx::query("INSERT INTO app_provisioning (app_id, updated_at) VALUES ($1, $2)")
        .bind(app)
        .bind(now)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// Writes a validated configuration. `token`: `Some` replaces the sealed secret token.
/// `mappings_changed` moves the configuration version on, so the next cycle is an initial one.
pub async fn save(
    conn: &mut crate::db::Conn,
    app: &str,
    c: &ProvisioningConfig,
    token: Option<&str>,
    mappings_changed: bool,
    now: &str,
) -> sqlx::Result<()> {
    let s = &c.settings;
    // A new endpoint or token may be another application: what was learned about the old one
    // is forgotten (mapping changes move the configuration version, which retires it too).
    sqlx::query(
        "DELETE FROM prov_adaptations WHERE app_id = $1 AND ($3 = 1 OR EXISTS (
             SELECT 1 FROM app_provisioning WHERE app_id = $1 AND tenant_url <> $2))",
    )
    .bind(app)
    .bind(&c.tenant_url)
    .bind(i64::from(token.is_some()))
    .execute(&mut *conn)
    .await?;
    sqlx::query("DELETE FROM prov_adaptation_rules WHERE app_id = $1")
        .bind(app)
        .execute(&mut *conn)
        .await?;
    for r in &c.compatibility {
        sqlx::query("INSERT INTO prov_adaptation_rules (app_id, adaptation, choice) VALUES ($1, $2, $3)")
            .bind(app)
            .bind(r.adaptation.as_str())
            .bind(r.choice.as_str())
            .execute(&mut *conn)
            .await?;
    }
    sqlx::query("UPDATE apps SET provisioning_status = $2, updated_at = $3 WHERE id = $1")
        .bind(app)
        .bind(s.provisioning_status.as_str())
        .bind(now)
        .execute(&mut *conn)
        .await?;
    sqlx::query(
        "UPDATE app_provisioning SET mode = $2, tenant_url = $3, secret_token = COALESCE($4, secret_token),
             notification_email = $5, notify_on_failure = $6, scope = $7, prevent_deletions = $8,
             deletion_threshold = $9, skip_out_of_scope_deletions = $10, interval_minutes = $11,
             config_version = config_version + $12, updated_at = $13, max_requests_per_second = $14,
             drift_check_hours = $15, drift_revert = $16, drift_adopt = $17
         WHERE app_id = $1",
    )
    .bind(app)
    .bind(c.mode.as_str())
    .bind(&c.tenant_url)
    .bind(token)
    .bind(&c.notification_email)
    .bind(i64::from(c.notify_on_failure))
    .bind(s.scope.as_str())
    .bind(i64::from(s.prevent_accidental_deletions))
    .bind(s.deletion_threshold)
    .bind(i64::from(s.skip_out_of_scope_deletions))
    .bind(s.reconciliation_interval_minutes)
    .bind(mappings_changed as i64)
    .bind(now)
    .bind(s.max_requests_per_second)
    .bind(s.drift_check_hours)
    .bind(i64::from(s.drift_revert))
    .bind(i64::from(s.drift_adopt))
    .execute(&mut *conn)
    .await?;
    if !mappings_changed {
        return Ok(());
    }
    sqlx::query("DELETE FROM app_mappings WHERE app_id = $1")
        .bind(app)
        .execute(&mut *conn)
        .await?;
    sqlx::query("DELETE FROM app_scoping_clauses WHERE app_id = $1")
        .bind(app)
        .execute(&mut *conn)
        .await?;
    for m in &c.mappings {
        sqlx::query(
            "UPDATE app_object_mappings SET enabled = $3, target_object = $4, action_create = $5,
                 action_update = $6, action_delete = $7
             WHERE app_id = $1 AND object = $2",
        )
        .bind(app)
        .bind(m.object.as_str())
        .bind(i64::from(m.enabled))
        .bind(&m.target_object)
        .bind(i64::from(m.create))
        .bind(i64::from(m.update))
        .bind(i64::from(m.delete))
        .execute(&mut *conn)
        .await?;
        for (i, a) in m.attributes.iter().enumerate() {
            sqlx::query(
                "INSERT INTO app_mappings (app_id, object, position, target, kind, source, default_value, matching, apply_on)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
            )
            .bind(app)
            .bind(m.object.as_str())
            .bind(i as i64)
            .bind(&a.target)
            .bind(a.kind.as_str())
            .bind(&a.source)
            .bind(&a.default_value)
            .bind(a.matching)
            .bind(a.apply_on.as_str())
            .execute(&mut *conn)
            .await?;
        }
        for (f_no, f) in m.scoping_filters.iter().enumerate() {
            for (c_no, c) in f.clauses.iter().enumerate() {
                sqlx::query(
                    "INSERT INTO app_scoping_clauses (app_id, object, filter_no, filter_title, clause_no, attribute, operator, value)
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
                )
                .bind(app)
                .bind(m.object.as_str())
                .bind(f_no as i64)
                .bind(&f.title)
                .bind(c_no as i64)
                .bind(&c.attribute)
                .bind(&c.operator)
                .bind(&c.value)
                .execute(&mut *conn)
                .await?;
            }
        }
    }
    Ok(())
}

/// The app roles a user holds in an application, directly or through a group it is a direct
/// member of: (value, display name).
pub async fn roles_of_user(pool: &Pool, app: &str, user: &str) -> sqlx::Result<Vec<(String, String)>> {
    let rows = sqlx::query(
        "SELECT DISTINCT s.role, COALESCE(r.display_name, s.role) AS display FROM app_assignments s
         LEFT JOIN app_roles r ON r.app_id = s.app_id AND r.value = s.role
         WHERE s.app_id = $1 AND (s.principal_id = $2 OR s.principal_id IN
             (SELECT group_id FROM dir_members WHERE member_id = $2))
         ORDER BY 1",
    )
    .bind(app)
    .bind(user)
    .fetch_all(pool)
    .await?;
    Ok(rows.iter().map(|r| (r.get("role"), r.get("display"))).collect())
}
