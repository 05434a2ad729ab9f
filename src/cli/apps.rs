//! `provisio app ...`: the console's application and provisioning screens for scripts and
//! GitOps. Everything goes through the same services as the console, so validation, audit and
//! the initial-cycle rule are the same.

use crate::audit::Actor;
use crate::config::CommonArgs;
use crate::db::{self, Pool};
use crate::directory::DirError;
use crate::model::ProvisioningConfig;
use crate::provisioning::{apps, config, connection};
use crate::secrets::Sealer;
use crate::server::StartError;
use clap::Subcommand;
use std::time::Duration;

#[derive(Debug, Subcommand)]
pub enum AppCommand {
    /// Add an application from the gallery; prints its id.
    Create {
        /// Gallery template id: harness, scim2.
        #[arg(long)]
        template: String,
        /// Name; default: the template's.
        #[arg(long, default_value = "")]
        name: String,
    },
    /// List applications: id, name, template, provisioning status.
    List,
    /// Assign a user or a group to an application with an app role.
    Assign {
        /// Application id or name.
        app: String,
        #[arg(long, conflicts_with = "group", required_unless_present = "group")]
        user: Option<String>,
        #[arg(long)]
        group: Option<String>,
        /// App role, by value or display name (required when the application has roles).
        #[arg(long, default_value = "")]
        role: String,
    },
    /// Print the provisioning configuration as JSON (never the secret token).
    Export {
        /// Application id or name.
        app: String,
    },
    /// Validate and store a provisioning configuration (JSON, as printed by export); prints what
    /// changed.
    Apply {
        /// Application id or name.
        app: String,
        /// The JSON file; `-` reads standard input.
        file: String,
        /// Read the secret token from this environment variable (it never goes in the file).
        #[arg(long, conflicts_with = "preview")]
        secret_token_env: Option<String>,
        /// Save nothing: show what the change would do to the next cycle (per attribute, how many
        /// objects it would update and how many would get an empty value), then each object.
        #[arg(long)]
        preview: bool,
    },
    /// Provision one user now, through the whole pipeline, and print each step (exit code 0 unless
    /// the user failed).
    OnDemand {
        /// Application id or name.
        app: String,
        /// The user's userPrincipalName or object id.
        #[arg(long, conflicts_with = "group", required_unless_present = "group")]
        user: Option<String>,
        /// A group (name or object id), provisioned with the members given by --member.
        #[arg(long)]
        group: Option<String>,
        /// With --group: a member to provision with it (up to 5; repeat the option).
        #[arg(long = "member", requires = "group")]
        members: Vec<String>,
    },
    /// Run Test Connection with the stored tenant URL and token; exit code 0 only on success.
    TestConnection {
        /// Application id or name.
        app: String,
    },
    /// Print the synchronization details: job state, quarantine, current cycle with progress,
    /// statistics and recent cycles. Exit code 0 only when the job is healthy: not in quarantine or
    /// disabled, and its last completed cycle had no failures.
    Status {
        /// Application id or name.
        app: String,
        /// Print the details as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Show what the next cycle would do, without doing it: its totals, whether the accidental-
    /// deletion threshold would stop it, and each object's action with the attributes it would
    /// change. Lookups are sent to the application; nothing is written to it or saved.
    Preview {
        /// Application id or name.
        app: String,
        /// Objects listed at most (the totals count them all).
        #[arg(long, default_value_t = 100)]
        limit: usize,
        /// Objects left out before those listed (the next page: --skip 100).
        #[arg(long, default_value_t = 0)]
        skip: usize,
        /// Print the preview as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Compare the application with what Provisio manages there: accounts it does not manage
    /// (orphans, with the directory user each would match), managed accounts changed in the
    /// application (drift, attribute by attribute) and managed accounts it no longer has
    /// (missing). Reads every user and group, within the application's rate limit; writes nothing.
    Drift {
        /// Application id or name.
        app: String,
        /// Print the report as JSON.
        #[arg(long)]
        json: bool,
        /// Act on one finding instead of reporting: revert (a changed account), adopt (an orphan,
        /// with --user), disable or delete (an orphan). Audited; shown in the provisioning logs.
        #[arg(long, value_parser = ["revert", "adopt", "disable", "delete"], requires = "account")]
        act: Option<String>,
        /// The account's id in the application (the report's target_id).
        #[arg(long, requires = "act")]
        account: Option<String>,
        /// The directory user (object id or user principal name) an orphan is adopted for.
        #[arg(long, requires = "act")]
        user: Option<String>,
    },
    /// Evaluate an expression of the users mapping without provisioning anything: for one user,
    /// with the trace of every call it makes; or over the users in scope (--all, or --sample N of
    /// them), with the distribution of the values it gives. Exit code 0 unless it fails for a user.
    TestExpression {
        /// Application id or name.
        app: String,
        /// The expression, e.g. 'Join("@", [mailNickname], "contoso.com")'.
        #[arg(long, required_unless_present = "mapping", conflicts_with = "mapping")]
        expression: Option<String>,
        /// Every attribute of the users mapping that reads the directory, over the users in
        /// scope (with --all or --sample): each attribute's distribution.
        #[arg(long, conflicts_with = "user")]
        mapping: bool,
        /// The user's userPrincipalName or object id.
        #[arg(long, required_unless_present_any = ["all", "sample"], conflicts_with_all = ["all", "sample"])]
        user: Option<String>,
        /// Every user in scope.
        #[arg(long, conflicts_with = "sample")]
        all: bool,
        /// The first N users in scope.
        #[arg(long)]
        sample: Option<usize>,
        /// The target attribute the expression maps to: for userName, externalId or a matching
        /// attribute, values more than one user would get are reported as a problem.
        #[arg(long, default_value = "")]
        target: String,
        /// Print the result as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Restart provisioning: the next cycle is an initial cycle. `--reset` takes Graph's
    /// resetScope names (Watermark, Escrows, QuarantineState, Full, ForceDeletes), comma
    /// separated or repeated; without it: Watermark, Escrows and QuarantineState. ForceDeletes is
    /// "Allow deletes" after accidental-deletion prevention held a cycle's deletes.
    Restart {
        /// Application id or name.
        app: String,
        #[arg(long)]
        reset: Vec<String>,
    },
}

pub(super) fn fail(message: impl std::fmt::Display) -> StartError {
    StartError::Other(anyhow::anyhow!("{message}"))
}

/// A service error as the command line says it: the field, then the message.
pub(super) fn service(e: DirError) -> StartError {
    match e {
        DirError::Invalid { field, message } => fail(format!("{field}: {message}")),
        other => fail(other),
    }
}

/// An application by id, or by name in any case.
pub(super) async fn find(pool: &Pool, app: &str) -> Result<db::apps::AppRow, StartError> {
    if let Some(a) = db::apps::get(pool, app.trim()).await.map_err(fail)? {
        return Ok(a);
    }
    db::apps::list(pool)
        .await
        .map_err(fail)?
        .into_iter()
        .find(|a| a.name.eq_ignore_ascii_case(app.trim()))
        .ok_or_else(|| fail(format!("there is no application with the id or name {app:?}")))
}

fn read_input(file: &str) -> Result<String, StartError> {
    if file == "-" {
        let mut s = String::new();
        std::io::Read::read_to_string(&mut std::io::stdin(), &mut s)
            .map_err(|e| fail(format!("cannot read standard input: {e}")))?;
        Ok(s)
    } else {
        std::fs::read_to_string(file).map_err(|e| fail(format!("cannot read {file}: {e}")))
    }
}

pub async fn run(common: &CommonArgs, command: AppCommand) -> Result<(), StartError> {
    let data_dir = crate::config::prepare_data_dir(&common.data_dir)?;
    let target = crate::config::resolve_database(common, &data_dir)?;
    let pool = db::connect(&target).await?;
    let actor = Actor::cli();
    match command {
        AppCommand::Create { template, name } => {
            let id = apps::create(&pool, &template, &name, &actor)
                .await
                .map_err(service)?;
            println!("{id}");
        }
        AppCommand::List => {
            for a in db::apps::list(&pool).await.map_err(fail)? {
                println!(
                    "{}\t{}\t{}\tprovisioning {}",
                    a.id,
                    a.name,
                    a.template,
                    if a.provisioning_on { "on" } else { "off" }
                );
            }
        }
        AppCommand::Assign {
            app,
            user,
            group,
            role,
        } => {
            let a = find(&pool, &app).await?;
            let roles = db::apps::roles(&pool, &a.id).await.map_err(fail)?;
            let role_value = roles
                .iter()
                .find(|r| r.value == role.trim() || r.display_name.eq_ignore_ascii_case(role.trim()))
                .map(|r| r.value.clone())
                .unwrap_or_else(|| role.trim().to_string());
            let (principal, want) = match (&user, &group) {
                (Some(u), _) => (u.as_str(), "user"),
                (_, Some(g)) => (g.as_str(), "group"),
                _ => return Err(fail("give --user UPN or --group NAME")),
            };
            let done = apps::assign_as(&pool, &a.id, principal, Some(want), &role_value, &actor)
                .await
                .map_err(service)?;
            println!(
                "Assigned {} to {}{}",
                done.principal_name,
                a.name,
                if done.role_name.is_empty() {
                    String::new()
                } else {
                    format!(" with the role {}", done.role_name)
                }
            );
            if !done.provisioned {
                println!("Users with this role are not provisioned.");
            }
        }
        AppCommand::Export { app } => {
            let a = find(&pool, &app).await?;
            let c = config::export(&pool, &a.id).await.map_err(service)?;
            println!("{}", serde_json::to_string_pretty(&c).map_err(fail)?);
        }
        AppCommand::Apply {
            app,
            file,
            secret_token_env,
            preview,
        } => {
            let a = find(&pool, &app).await?;
            let text = read_input(&file)?;
            let mut new: ProvisioningConfig = serde_json::from_str(&text)
                .map_err(|e| fail(format!("{file}: not a provisioning configuration: {e}")))?;
            if preview {
                let changes = config::check(&pool, &a.id, &mut new).await.map_err(service)?;
                // The first 100 entries are listed; the per-attribute counts cover them all.
                let options = crate::provisioning::engine::PreviewOptions {
                    limit: super::preview::LISTED,
                    skip: 0,
                    action: None,
                    config: Some(new),
                };
                let p = super::preview::run(common, &data_dir, &pool, &a.id, options).await?;
                return super::preview::print_change(&changes, &p);
            }
            let token = match &secret_token_env {
                Some(var) => Some(
                    std::env::var(var)
                        .map_err(|_| fail(format!("the environment variable {var} is not set")))?,
                ),
                None => None,
            };
            let sealer = Sealer::load(common.encryption_key.as_deref(), &data_dir)?;
            let changes = config::apply(&pool, &sealer, &a.id, new, token.as_deref(), &actor)
                .await
                .map_err(service)?;
            if changes.is_empty() {
                println!("No changes.");
            }
            for c in changes {
                println!("{c}");
            }
        }
        AppCommand::TestExpression {
            app,
            expression,
            mapping,
            user,
            all: _,
            sample,
            target,
            json,
        } => {
            let a = find(&pool, &app).await?;
            let population = match sample {
                Some(n) => crate::provisioning::survey::Population::parse(&n.to_string()).map_err(service)?,
                None => crate::provisioning::survey::Population::All,
            };
            let how = super::expression::How {
                user,
                population,
                target,
                json,
            };
            match expression {
                Some(expression) if !mapping => {
                    super::expression::test(&pool, &a.id, &expression, how).await?
                }
                _ => super::expression::test_mapping(&pool, &a.id, how).await?,
            }
        }
        AppCommand::Preview {
            app,
            limit,
            skip,
            json,
        } => {
            let a = find(&pool, &app).await?;
            let options = crate::provisioning::engine::PreviewOptions {
                limit,
                skip,
                action: None,
                config: None,
            };
            let p = super::preview::run(common, &data_dir, &pool, &a.id, options).await?;
            super::preview::print(&p, json)?;
        }
        AppCommand::Drift {
            app,
            json,
            act,
            account,
            user,
        } => {
            let a = find(&pool, &app).await?;
            match (act.as_deref().and_then(crate::model::DriftAction::parse), account) {
                (Some(action), Some(account)) => {
                    let what = crate::provisioning::reconcile::Finding {
                        action,
                        target_id: account,
                        user: user.unwrap_or_default(),
                    };
                    super::drift::act(common, &data_dir, &pool, &a.id, what).await?;
                }
                _ => {
                    let r = super::drift::run(common, &data_dir, &pool, &a.id).await?;
                    super::drift::print(&r, json)?;
                }
            }
        }
        AppCommand::OnDemand {
            app,
            user,
            group,
            members,
        } => {
            let a = find(&pool, &app).await?;
            let sealer = Sealer::load(common.encryption_key.as_deref(), &data_dir)?;
            let timeout = Duration::from_secs(common.outbound_timeout_seconds);
            let http = connection::client(timeout);
            let reports = match (user, group) {
                (Some(user), _) => {
                    vec![
                        crate::provisioning::on_demand::provision_user(&pool, &sealer, &http, &a.id, &user)
                            .await
                            .map_err(service)?,
                    ]
                }
                (None, Some(group)) => crate::provisioning::on_demand::provision_group(
                    &pool, &sealer, &http, &a.id, &group, &members,
                )
                .await
                .map_err(service)?,
                (None, None) => return Err(fail("give --user or --group")),
            };
            for r in &reports {
                for (i, s) in r.steps.iter().enumerate() {
                    println!("{}. {} [{}]: {}", i + 1, s.name, s.status, s.description);
                    for (k, v) in &s.details {
                        println!("     {k}: {v}");
                    }
                }
                println!(
                    "{} {}: {}{}\n",
                    r.display_name,
                    r.action,
                    r.status,
                    if r.error_code.is_empty() {
                        String::new()
                    } else {
                        format!(" ({})", r.error_code)
                    }
                );
            }
            if reports.iter().any(|r| r.status == "Failure") {
                return Err(fail("provisioning failed"));
            }
        }
        AppCommand::TestConnection { app } => {
            let a = find(&pool, &app).await?;
            let sealer = Sealer::load(common.encryption_key.as_deref(), &data_dir)?;
            let c = config::export(&pool, &a.id).await.map_err(service)?;
            if c.tenant_url.is_empty() {
                return Err(fail(format!("{} has no Tenant URL", a.name)));
            }
            let token = config::secret_token(&pool, &sealer, &a.id)
                .await
                .map_err(service)?
                .ok_or_else(|| fail(format!("{} has no Secret Token", a.name)))?;
            let timeout = Duration::from_secs(common.outbound_timeout_seconds);
            let r = connection::test(&connection::client(timeout), &c.tenant_url, &token, timeout).await;
            println!("{}", r.summary);
            if let Some(s) = r.status {
                println!("HTTP status: {s}");
            }
            if !r.detail.is_empty() {
                println!("Details from the application: {}", r.detail);
            }
            if !r.hint.is_empty() {
                println!("{}", r.hint);
            }
            for c in &r.capabilities {
                println!("  {c}");
            }
            if !r.ok {
                return Err(fail("the connection test failed"));
            }
        }
        AppCommand::Status { app, json } => {
            let a = find(&pool, &app).await?;
            let d = crate::provisioning::status::details(&pool, &a.id)
                .await
                .map_err(service)?;
            if json {
                println!("{}", serde_json::to_string_pretty(&d).map_err(fail)?);
            } else {
                print_status(&d);
            }
            // Scripts and monitoring read the exit code: anything but a healthy job is non-zero.
            if d.state == "Quarantine" || d.state == "Disabled" {
                return Err(fail(format!("the provisioning job is {}", d.state)));
            }
            if let Some(c) = d.last_completed.as_ref().filter(|c| c.counts.failed > 0) {
                return Err(fail(format!(
                    "the last cycle ({}) had {} failure(s); see the provisioning log",
                    c.id, c.counts.failed
                )));
            }
        }
        AppCommand::Restart { app, reset } => {
            let a = find(&pool, &app).await?;
            let options = crate::provisioning::status::parse_reset(&reset).map_err(service)?;
            crate::provisioning::status::restart(&pool, &a.id, &options, &actor)
                .await
                .map_err(service)?;
            println!(
                "Restarted provisioning of {}: the next cycle is an initial cycle{}.",
                a.name,
                if options.force_deletes {
                    ", with deletes allowed"
                } else {
                    ""
                }
            );
        }
    }
    Ok(())
}

fn print_status(d: &crate::model::SyncDetails) {
    println!(
        "{}: provisioning {}, job {}",
        d.app_name,
        if d.on { "On" } else { "Off" },
        d.state
    );
    if !d.job_id.is_empty() {
        println!("Job id: {}", d.job_id);
    }
    if d.state == "Quarantine" {
        println!(
            "Quarantine: {} (since {}; next attempt {})",
            d.quarantine_reason,
            d.quarantine_since.as_deref().unwrap_or("-"),
            d.next_attempt.as_deref().unwrap_or("-")
        );
    }
    match &d.current {
        None => println!("No cycle has run yet."),
        Some(c) => println!(
            "Current cycle: {} {} ({}%, {} of {} objects), began {}, activity id {}",
            c.kind, c.state, c.percent, c.counts.processed, c.counts.total, c.began_at, c.id
        ),
    }
    if let Some(c) = &d.last_completed {
        println!(
            "Last completed: {} at {} in {} ms",
            c.kind,
            c.ended_at.as_deref().unwrap_or("-"),
            c.duration_ms.unwrap_or(0)
        );
    }
    println!(
        "Connector data store: {} users, {} groups; {} waiting for a retry",
        d.users_managed, d.groups_managed, d.escrowed
    );
    if !d.adaptations.is_empty() {
        println!("Adapted to this application (until its configuration changes):");
        for a in &d.adaptations {
            println!("  {} since {}: {}", a.effect, a.since, a.reason);
        }
    }
    let t = &d.totals;
    println!(
        "To date: {} created, {} updated, {} disabled, {} deleted, {} skipped, {} failed, {} held",
        t.created, t.updated, t.disabled, t.deleted, t.skipped, t.failed, t.staged
    );
    for c in d.history.iter().take(10) {
        println!(
            "  {}  {:<11} {:<16} {:>7} ms  created {}, updated {}, disabled {}, deleted {}, failed {}, held {}",
            c.began_at,
            c.kind,
            c.state,
            c.duration_ms.unwrap_or(0),
            c.counts.created,
            c.counts.updated,
            c.counts.disabled,
            c.counts.deleted,
            c.counts.failed,
            c.counts.staged
        );
    }
}
