//! The `provisio` binary: parses the command line, sets up logging, and runs a subcommand.
//! Exit codes: 0 success, 1 runtime failure, 2 bad settings or usage.

use clap::Parser;
use provisio::audit::{self, Actor, Outcome};
use provisio::config::{
    self, AccountCommand, AdminCommand, ApiKeyCommand, Cli, Command, CommonArgs, DemoDataArgs, ImportCommand,
    PublicUrlArg, ServeArgs,
};
use provisio::model::Role;
use provisio::server::{self, StartError};
use provisio::{auth, db};
use std::io::BufRead;
use std::process::ExitCode;

fn main() -> ExitCode {
    let cli = Cli::parse();
    // The server logs to standard output; a command's standard output is its result (scripts
    // capture keys and JSON from it), so commands log to standard error.
    let serving = matches!(cli.command, None | Some(Command::Serve(_)));
    init_logging(&cli.common.log, serving);
    provisio::outbound::init(cli.common.outbound_addresses);
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::from(1);
        }
    };
    let result = runtime.block_on(async {
        match cli
            .command
            .unwrap_or_else(|| Command::Serve(ServeArgs::default()))
        {
            Command::Serve(args) => serve(&cli.common, &args).await,
            Command::Admin { command } => admin(&cli.common, command).await,
            Command::Account { command } => account(&cli.common, command).await,
            Command::ApiKey { command } => api_key(&cli.common, command).await,
            Command::BenchScim(args) => provisio::bench::run_bench(args).await.map_err(StartError::Other),
            Command::Import { command } => import(&cli.common, command).await,
            Command::DemoData(args) => demo_data(&cli.common, args).await,
            Command::App { command } => provisio::provisioning::cli::run(&cli.common, command).await,
            Command::BenchDirectory(args) => provisio::bench::directory::run(args)
                .await
                .map_err(StartError::Other),
            Command::BenchProvisioning(args) => provisio::bench::provisioning::run(args)
                .await
                .map_err(StartError::Other),
        }
    });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(StartError::Settings(e)) => {
            eprintln!("error: {e}");
            ExitCode::from(2)
        }
        Err(StartError::Other(e)) => {
            eprintln!("error: {e:#}");
            ExitCode::from(1)
        }
    }
}

fn init_logging(filter: &str, to_stdout: bool) {
    use tracing_subscriber::EnvFilter;
    let mut filter = EnvFilter::try_new(filter).unwrap_or_else(|e| {
        eprintln!("warning: --log {filter:?} is not a valid filter ({e}); using info");
        EnvFilter::new("info")
    });
    if !filter.to_string().contains("sqlx") {
        // PostgreSQL's notices ("relation ... already exists, skipping" from migrations) are
        // the database's chatter, not events of provisio's.
        if let Ok(d) = "sqlx::postgres::notice=warn".parse() {
            filter = filter.add_directive(d);
        }
    }
    // Colour only on a terminal; log files and collectors get plain text.
    use std::io::IsTerminal;
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_target(false);
    if to_stdout {
        builder.with_ansi(std::io::stdout().is_terminal()).init();
    } else {
        builder
            .with_ansi(std::io::stderr().is_terminal())
            .with_writer(std::io::stderr)
            .init();
    }
}

async fn serve(common: &CommonArgs, args: &ServeArgs) -> Result<(), StartError> {
    let running = server::start(common, args).await?;
    running.until_signal().await?;
    Ok(())
}

async fn open_db(common: &CommonArgs) -> Result<db::Pool, StartError> {
    let data_dir = config::prepare_data_dir(&common.data_dir)?;
    let target = config::resolve_database(common, &data_dir)?;
    Ok(db::connect(&target).await?)
}

/// Reads the password from the first line of stdin, or generates one to print once.
fn new_password(from_stdin: bool, username: &str) -> Result<(String, bool), StartError> {
    if !from_stdin {
        return Ok((auth::password::generate(), true));
    }
    let mut line = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut line)
        .map_err(|e| anyhow::anyhow!("cannot read the password from stdin: {e}"))?;
    let password = line.trim_end_matches(['\r', '\n']).to_string();
    auth::password::validate_new(&password, username)
        .map_err(|m| StartError::Other(anyhow::anyhow!("password not accepted: {m}")))?;
    Ok((password, false))
}

fn show_generated(username: &str, password: &str) {
    println!("Password for {username} (shown only this once): {password}");
}

async fn admin(common: &CommonArgs, command: AdminCommand) -> Result<(), StartError> {
    let pool = open_db(common).await?;
    let now = provisio::timefmt::now();
    let actor = Actor::cli();
    let find = |name: String| {
        let pool = pool.clone();
        async move {
            let name = name.trim().to_lowercase();
            db::console_users::credentials_by_username(&pool, &name)
                .await
                .map_err(anyhow::Error::from)?
                .ok_or_else(|| StartError::Other(anyhow::anyhow!("there is no console user named {name}")))
        }
    };
    match command {
        AdminCommand::Create {
            username,
            role,
            password_stdin,
        } => {
            let username = provisio::api::console_users::normalize_username(&username)
                .map_err(|e| StartError::Other(anyhow::anyhow!("user name not accepted: {e}")))?;
            let role = Role::parse(&role)
                .ok_or_else(|| StartError::Other(anyhow::anyhow!("unknown role {role:?}")))?;
            let (password, generated) = new_password(password_stdin, &username)?;
            let hash = auth::password::hash(password.clone()).await;
            let id = provisio::ids::new();
            match db::console_users::insert(&pool, &id, &username, &hash, role, &now).await {
                Ok(()) => {}
                Err(e) if db::is_unique_violation(&e) => {
                    return Err(anyhow::anyhow!("a console user named {username} already exists").into())
                }
                Err(e) => return Err(anyhow::Error::from(e).into()),
            }
            audit::record(
                &pool,
                &actor,
                "console_user.create",
                &username,
                Outcome::Success,
                &format!("role {}", role.label()),
            )
            .await;
            println!("Created {} {username}.", role.label());
            if generated {
                show_generated(&username, &password);
            }
        }
        AdminCommand::List => {
            let users = db::console_users::list(&pool)
                .await
                .map_err(anyhow::Error::from)?;
            println!(
                "{:<32} {:<14} {:<9} {:<25}",
                "USER NAME", "ROLE", "STATUS", "LAST SIGN-IN"
            );
            for u in users {
                println!(
                    "{:<32} {:<14} {:<9} {:<25}",
                    u.username,
                    u.role.label(),
                    if u.disabled { "disabled" } else { "enabled" },
                    u.last_sign_in_at.unwrap_or_else(|| "never".into())
                );
            }
        }
        AdminCommand::ResetPassword {
            username,
            password_stdin,
        } => {
            let user = find(username).await?;
            let (password, generated) = new_password(password_stdin, &user.username)?;
            let hash = auth::password::hash(password.clone()).await;
            db::console_users::set_password(&pool, &user.id, &hash, &now)
                .await
                .map_err(anyhow::Error::from)?;
            audit::record(
                &pool,
                &actor,
                "console_user.reset_password",
                &user.username,
                Outcome::Success,
                "sessions ended",
            )
            .await;
            println!(
                "Password of {} replaced; their sessions have ended.",
                user.username
            );
            if generated {
                show_generated(&user.username, &password);
            }
        }
        AdminCommand::Disable { username } => {
            let user = find(username).await?;
            db::console_users::set_disabled(&pool, &user.id, true, &now)
                .await
                .map_err(anyhow::Error::from)?;
            audit::record(
                &pool,
                &actor,
                "console_user.disable",
                &user.username,
                Outcome::Success,
                "",
            )
            .await;
            println!("Disabled {}; their sessions have ended.", user.username);
        }
        AdminCommand::Enable { username } => {
            let user = find(username).await?;
            db::console_users::set_disabled(&pool, &user.id, false, &now)
                .await
                .map_err(anyhow::Error::from)?;
            audit::record(
                &pool,
                &actor,
                "console_user.enable",
                &user.username,
                Outcome::Success,
                "",
            )
            .await;
            println!("Enabled {}.", user.username);
        }
    }
    pool.close().await;
    Ok(())
}

fn public_url(arg: &PublicUrlArg) -> Result<String, StartError> {
    let default = std::net::SocketAddr::from(([127, 0, 0, 1], 3000));
    Ok(config::parse_public_url(arg.public_url.as_deref(), default)?)
}

fn account_error(e: provisio::accounts::AccountError) -> StartError {
    StartError::Other(anyhow::anyhow!("{e}"))
}

async fn find_account(pool: &db::Pool, id_or_name: &str) -> Result<db::scim_accounts::Account, StartError> {
    db::scim_accounts::find(pool, id_or_name.trim())
        .await
        .map_err(anyhow::Error::from)?
        .ok_or_else(|| StartError::Other(anyhow::anyhow!("there is no account {id_or_name:?}")))
}

async fn account(common: &CommonArgs, command: AccountCommand) -> Result<(), StartError> {
    let pool = open_db(common).await?;
    match command {
        AccountCommand::Create { name, url } => {
            let url = public_url(&url)?;
            let a = provisio::accounts::create_account(&pool, &name, &Actor::cli())
                .await
                .map_err(account_error)?;
            println!("Created account {} ({}).", a.name, a.id);
            println!("Account id: {}", a.id);
            println!("Tenant URL: {}", provisio::scim_server::tenant_url(&url, &a.id));
        }
        AccountCommand::List { url } => {
            let url = public_url(&url)?;
            let now = provisio::timefmt::now();
            let accounts = db::scim_accounts::list(&pool, &now)
                .await
                .map_err(anyhow::Error::from)?;
            println!(
                "{:<24} {:<30} {:>7} {:>7} {:>5}  TENANT URL",
                "ACCOUNT ID", "NAME", "USERS", "GROUPS", "KEYS"
            );
            for a in accounts {
                println!(
                    "{:<24} {:<30} {:>7} {:>7} {:>5}  {}",
                    a.account.id,
                    a.account.name,
                    a.users,
                    a.groups,
                    a.active_keys,
                    provisio::scim_server::tenant_url(&url, &a.account.id)
                );
            }
        }
    }
    pool.close().await;
    Ok(())
}

async fn api_key(common: &CommonArgs, command: ApiKeyCommand) -> Result<(), StartError> {
    let pool = open_db(common).await?;
    match command {
        ApiKeyCommand::Create {
            account,
            name,
            groups,
            expires_in_days,
        } => {
            let a = find_account(&pool, &account).await?;
            let k = provisio::accounts::create_api_key(
                &pool,
                &a.id,
                &name,
                &groups,
                expires_in_days,
                &Actor::cli(),
            )
            .await
            .map_err(account_error)?;
            eprintln!(
                "Created API key {name} ({}…) for account {}. It is shown only this once:",
                k.prefix, a.name
            );
            println!("{}", k.key);
        }
        ApiKeyCommand::List { account } => {
            let a = find_account(&pool, &account).await?;
            let now = provisio::timefmt::now();
            let keys = db::scim_accounts::keys(&pool, &a.id)
                .await
                .map_err(anyhow::Error::from)?;
            println!(
                "{:<38} {:<24} {:<14} {:<8} {:<25} {:<25} GROUPS",
                "ID", "NAME", "PREFIX", "STATUS", "CREATED", "LAST USED"
            );
            for k in keys {
                println!(
                    "{:<38} {:<24} {:<14} {:<8} {:<25} {:<25} {}",
                    k.id,
                    k.name,
                    k.prefix,
                    k.status(&now),
                    k.created_at,
                    k.last_used_at.clone().unwrap_or_else(|| "never".into()),
                    k.groups.join(", ")
                );
            }
        }
        ApiKeyCommand::Revoke { account, key } => {
            let a = find_account(&pool, &account).await?;
            let name = provisio::accounts::revoke_api_key(&pool, &a.id, &key, &Actor::cli())
                .await
                .map_err(account_error)?;
            println!("Revoked API key {name}.");
        }
    }
    pool.close().await;
    Ok(())
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

async fn import(common: &CommonArgs, command: ImportCommand) -> Result<(), StartError> {
    use provisio::directory::import::{self, Format, Kind};
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

async fn demo_data(common: &CommonArgs, args: DemoDataArgs) -> Result<(), StartError> {
    if provisio::directory::validate::upn(&format!("demo@{}", args.domain)).is_err() {
        return Err(anyhow::anyhow!("--domain {:?} is not a valid domain name", args.domain).into());
    }
    let pool = open_db(common).await?;
    let started = std::time::Instant::now();
    let summary = provisio::directory::demo::run(
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
