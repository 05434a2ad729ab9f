//! `provisio import ...` and `provisio demo-data`: filling the directory from files or made-up data.

use super::open_db;
use crate::audit::{self, Actor, Outcome};
use crate::config::CommonArgs;
use crate::server::StartError;
use clap::Subcommand;

use clap::Args;

#[derive(Debug, Subcommand)]
pub enum ImportCommand {
    /// Users, upserted by userPrincipalName. The header row (or JSON keys) names the attributes;
    /// a `groups` column adds memberships (names separated by `;`).
    Users(ImportArgs),
    /// Memberships: columns `group`, `member` (a userPrincipalName, or a group name when
    /// `memberType` is `group`) and optionally `memberType`.
    Memberships(ImportArgs),
}

#[derive(Debug, Args)]
pub struct ImportArgs {
    /// The file to import; `-` reads standard input.
    pub file: String,
    /// csv or jsonl; by default from the file name or content.
    #[arg(long)]
    pub format: Option<String>,
    /// Validate and report what would change, without importing.
    #[arg(long)]
    pub dry_run: bool,
}

#[derive(Debug, Args)]
pub struct DemoDataArgs {
    #[arg(long, default_value_t = 200)]
    pub users: usize,
    #[arg(long, default_value_t = 20)]
    pub groups: usize,
    /// The domain of the users' principal names and mail addresses.
    #[arg(long, default_value = "contoso.com")]
    pub domain: String,
    /// The same seed gives the same directory.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
}

/// Prints progress on standard error, at most every half second, when it is a terminal or the run is long.
fn progress_printer(what: &'static str) -> impl Fn(u64, u64) + Sync {
    let last = std::sync::Mutex::new(std::time::Instant::now());
    move |done, total| {
        let mut l = last.lock().unwrap_or_else(|e| e.into_inner());
        if done == total || l.elapsed() >= std::time::Duration::from_millis(500) {
            *l = std::time::Instant::now();
            eprintln!("{what}: {done}/{total} rows written");
        }
    }
}

pub(super) async fn import(common: &CommonArgs, command: ImportCommand) -> Result<(), StartError> {
    use crate::directory::import::{self, Format, Kind};
    let (kind, args) = match command {
        ImportCommand::Users(a) => (Kind::Users, a),
        ImportCommand::Memberships(a) => (Kind::Memberships, a),
    };
    let content = if args.file == "-" {
        let mut s = String::new();
        std::io::Read::read_to_string(&mut std::io::stdin(), &mut s)
            .map_err(|e| anyhow::anyhow!("cannot read standard input: {e}"))?;
        s
    } else {
        std::fs::read_to_string(&args.file).map_err(|e| anyhow::anyhow!("cannot read {}: {e}", args.file))?
    };
    let format = match &args.format {
        Some(f) => {
            Format::parse(f).ok_or_else(|| StartError::Other(anyhow::anyhow!("--format is csv or jsonl")))?
        }
        None => Format::detect(&args.file, &content),
    };
    let pool = open_db(common).await?;
    let started = std::time::Instant::now();
    let (table, errors) = import::read(format, &content);
    let plan = import::plan(&pool, kind, &table, errors)
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    if !plan.errors.is_empty() {
        for e in plan.errors.iter().take(import::MAX_LISTED_ERRORS) {
            eprintln!("{}:{}: {}", args.file, e.line, e.message);
        }
        if plan.errors.len() > import::MAX_LISTED_ERRORS {
            eprintln!(
                "... and {} more errors",
                plan.errors.len() - import::MAX_LISTED_ERRORS
            );
        }
        return Err(anyhow::anyhow!(
            "{} errors in {} rows; nothing was imported",
            plan.errors.len(),
            plan.row_count()
        )
        .into());
    }
    let intro = match kind {
        Kind::Users => format!(
            "{} rows: {} users to create, {} to update; {} new groups, {} group memberships",
            plan.row_count(),
            plan.creates,
            plan.updates,
            plan.new_groups,
            plan.memberships
        ),
        Kind::Memberships => format!(
            "{} rows: {} new groups, {} memberships",
            plan.row_count(),
            plan.new_groups,
            plan.memberships
        ),
    };
    println!("{intro}");
    if args.dry_run {
        println!("Dry run: nothing was imported.");
        return Ok(());
    }
    let run = import::Run::start(&pool, kind, &args.file, format, "cli")
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    let outcome = import::apply(&run, &pool, &plan, &progress_printer("import")).await;
    let text = match &outcome {
        Ok(s) => format!("Imported: {s}."),
        Err(e) => format!("Nothing was imported. {e}"),
    };
    run.finish(&pool, outcome.is_ok(), &text).await;
    let summary = outcome.map_err(|e| anyhow::anyhow!("{e}; nothing was imported"))?;
    audit::record(
        &pool,
        &Actor::cli(),
        "directory.import",
        &args.file,
        Outcome::Success,
        &summary.to_string(),
    )
    .await;
    println!("Imported in {:.1} s: {summary}.", started.elapsed().as_secs_f64());
    Ok(())
}

pub(super) async fn demo_data(common: &CommonArgs, args: DemoDataArgs) -> Result<(), StartError> {
    if crate::directory::validate::upn(&format!("demo@{}", args.domain)).is_err() {
        return Err(anyhow::anyhow!("--domain {:?} is not a valid domain name", args.domain).into());
    }
    let pool = open_db(common).await?;
    let started = std::time::Instant::now();
    let summary = crate::directory::demo::run(
        &pool,
        args.users,
        args.groups,
        &args.domain,
        args.seed,
        &progress_printer("demo-data"),
    )
    .await
    .map_err(|e| anyhow::anyhow!("{e}"))?;
    audit::record(
        &pool,
        &Actor::cli(),
        "directory.demo_data",
        &format!("{} users, {} groups", args.users, args.groups),
        Outcome::Success,
        &summary.to_string(),
    )
    .await;
    println!(
        "Demo directory ready in {:.1} s: {summary}.",
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

/// One change to a directory object, for scripts (the same rules, audit and change sequence as
/// the console's buttons; provisioning picks each change up like any other).
#[derive(Debug, Subcommand)]
pub enum DirectoryCommand {
    /// Block sign-in (accountEnabled false): the user leaves scope and is disabled in applications.
    DisableUser { user: String },
    /// Allow sign-in again.
    EnableUser { user: String },
    /// Soft-delete a user (restorable for 30 days; disabled in applications meanwhile).
    DeleteUser { user: String },
    /// Restore a soft-deleted user.
    RestoreUser { user: String },
    /// Delete a soft-deleted user for good (deleted in applications).
    PurgeUser { user: String },
    /// Add a user (userPrincipalName or id) or group (name or id) to a group.
    AddMember { group: String, member: String },
    /// Remove a member from a group.
    RemoveMember { group: String, member: String },
}

pub(super) async fn directory(common: &CommonArgs, command: DirectoryCommand) -> Result<(), StartError> {
    use crate::directory::{groups, users, DirError};
    let pool = open_db(common).await?;
    let actor = Actor::cli();
    let fail = |e: DirError| StartError::Other(anyhow::anyhow!("{e}"));
    let mut conn = pool.acquire().await.map_err(|e| fail(e.into()))?;
    let done = match command {
        DirectoryCommand::DisableUser { user: r } => {
            let u = find_user(&mut conn, &r).await?;
            users::set_enabled(&pool, &u.id, false, &actor)
                .await
                .map_err(fail)?;
            format!("{} can no longer sign in.", u.upn)
        }
        DirectoryCommand::EnableUser { user: r } => {
            let u = find_user(&mut conn, &r).await?;
            users::set_enabled(&pool, &u.id, true, &actor)
                .await
                .map_err(fail)?;
            format!("{} can sign in again.", u.upn)
        }
        DirectoryCommand::DeleteUser { user: r } => {
            let u = find_user(&mut conn, &r).await?;
            users::soft_delete(&pool, &u.id, &actor).await.map_err(fail)?;
            format!("{} is deleted (restorable for 30 days).", u.upn)
        }
        DirectoryCommand::RestoreUser { user: r } => {
            let u = find_user(&mut conn, &r).await?;
            users::restore(&pool, &u.id, &actor).await.map_err(fail)?;
            format!("{} is restored.", u.upn)
        }
        DirectoryCommand::PurgeUser { user: r } => {
            let u = find_user(&mut conn, &r).await?;
            users::purge(&pool, &u.id, &actor).await.map_err(fail)?;
            format!("{} is deleted for good.", u.upn)
        }
        DirectoryCommand::AddMember { group: gr, member } => {
            let g = find_group(&mut conn, &gr).await?;
            groups::add_member(&pool, &g.id, &member, &actor)
                .await
                .map_err(fail)?;
            format!("{} is a member of {}.", member.trim(), g.display_name)
        }
        DirectoryCommand::RemoveMember { group: gr, member } => {
            let g = find_group(&mut conn, &gr).await?;
            let (_, id, name) = groups::resolve_principal(&mut conn, &member)
                .await
                .map_err(fail)?;
            groups::remove_member(&pool, &g.id, &id, &actor)
                .await
                .map_err(fail)?;
            format!("{name} is no longer a member of {}.", g.display_name)
        }
    };
    println!("{done}");
    Ok(())
}

async fn find_user(
    conn: &mut crate::db::Conn,
    r: &str,
) -> Result<crate::db::directory::UserRecord, StartError> {
    crate::db::directory::user_by_ref(conn, r.trim())
        .await
        .map_err(|e| StartError::Other(e.into()))?
        .ok_or_else(|| StartError::Other(anyhow::anyhow!("there is no user {r:?} in the directory")))
}

async fn find_group(
    conn: &mut crate::db::Conn,
    r: &str,
) -> Result<crate::db::directory::GroupRecord, StartError> {
    use crate::db::directory as store;
    let found = match store::group(conn, r.trim())
        .await
        .map_err(|e| StartError::Other(e.into()))?
    {
        Some(g) => Some(g),
        None => store::group_by_name(conn, r.trim())
            .await
            .map_err(|e| StartError::Other(e.into()))?,
    };
    found.ok_or_else(|| StartError::Other(anyhow::anyhow!("there is no group {r:?} in the directory")))
}
