//! The command line: clap's definitions, dispatch and output, one file per command group
//! (`admin`, `accounts`, `directory`, `apps`). Exit codes: 0 success, 1 runtime failure, 2 bad
//! settings or usage. The benchmarks define their own arguments (`crate::bench`).

use crate::config::{self, CommonArgs, ServeArgs};
use crate::db;
use crate::server::{self, StartError};
use clap::{Parser, Subcommand};
use std::process::ExitCode;

mod accounts;
mod admin;
mod apps;
mod directory;
mod drift;
mod expression;
mod maintenance;
mod preview;

pub use accounts::{AccountCommand, ApiKeyCommand, PublicUrlArg};
pub use admin::AdminCommand;
pub use apps::AppCommand;
pub use directory::{DemoDataArgs, DirectoryCommand, ImportArgs, ImportCommand};

#[derive(Debug, Parser)]
#[command(
    name = "provisio",
    version,
    about = "Self-hosted identity provisioning and SCIM 2.0 service provider"
)]
pub struct Cli {
    #[command(flatten)]
    pub common: CommonArgs,
    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Serve the console and the APIs (the default when no subcommand is given).
    Serve(ServeArgs),
    /// Manage console users from the command line (for the first sign-in or a lost password).
    Admin {
        #[command(subcommand)]
        command: AdminCommand,
    },
    /// Manage SCIM accounts: the tenants identity providers provision into.
    Account {
        #[command(subcommand)]
        command: AccountCommand,
    },
    /// Manage the API keys of SCIM accounts (the identity provider's secret token).
    ApiKey {
        #[command(subcommand)]
        command: ApiKeyCommand,
    },
    /// Benchmark the SCIM endpoint side by side with scim2-server (see BENCHMARKS.md).
    BenchScim(crate::bench::BenchArgs),
    /// Benchmark the SCIM lookup path against a minimal baseline server with wrk (see
    /// BENCHMARKS.md).
    BenchLookup(crate::bench::lookup::LookupArgs),
    /// Import directory users or group memberships from a CSV or JSON-lines file.
    Import {
        #[command(subcommand)]
        command: ImportCommand,
    },
    /// Change one directory user or membership: disable, enable, delete, restore, purge,
    /// add or remove a member (for scripts; provisioning follows like any change).
    Directory {
        #[command(subcommand)]
        command: DirectoryCommand,
    },
    /// Enterprise applications and their provisioning configuration, for scripts and GitOps.
    App {
        #[command(subcommand)]
        command: AppCommand,
    },
    /// Fill the directory with a realistic made-up organisation (for demos, tests and benchmarks).
    DemoData(DemoDataArgs),
    /// Benchmark the directory: import of generated users and the users page (see BENCHMARKS.md).
    BenchDirectory(crate::bench::directory::BenchArgs),
    /// Benchmark the provisioning engine: initial cycle, propagation, empty incremental cycle (see
    /// BENCHMARKS.md).
    BenchProvisioning(crate::bench::provisioning::BenchArgs),
    /// Write a consistent copy of the SQLite database to a new FILE while the server runs
    /// (PostgreSQL: use pg_dump). Keep the encryption key apart from it.
    Backup { file: std::path::PathBuf },
    /// Replace the SQLite database with a backup (checked first; the replaced database is kept
    /// beside it). Stop the server first.
    Restore { file: std::path::PathBuf },
    /// Re-seal every stored secret (applications' tokens, the SMTP password) with a new
    /// encryption key, in one transaction; the key file is replaced (or, with a configured key,
    /// the new key is printed). Stop the server first.
    RotateEncryptionKey,
}

/// Parses the command line and runs the command; what the binary's `main` returns.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    // The server logs to standard output; a command's standard output is its result (scripts
    // capture keys and JSON from it), so commands log to standard error.
    let serving = matches!(cli.command, None | Some(Command::Serve(_)));
    // Held until the process ends: dropping it writes out the lines still queued.
    let _log_writer = init_logging(&cli.common.log, serving);
    crate::outbound::init(cli.common.outbound_addresses);
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
            Command::Admin { command } => admin::run(&cli.common, command).await,
            Command::Account { command } => accounts::account(&cli.common, command).await,
            Command::ApiKey { command } => accounts::api_key(&cli.common, command).await,
            Command::BenchScim(args) => crate::bench::run_bench(args).await.map_err(StartError::Other),
            Command::BenchLookup(args) => crate::bench::lookup::run(args).await.map_err(StartError::Other),
            Command::Import { command } => directory::import(&cli.common, command).await,
            Command::DemoData(args) => directory::demo_data(&cli.common, args).await,
            Command::Directory { command } => directory::directory(&cli.common, command).await,
            Command::App { command } => apps::run(&cli.common, command).await,
            Command::BenchDirectory(args) => crate::bench::directory::run(args)
                .await
                .map_err(StartError::Other),
            Command::BenchProvisioning(args) => crate::bench::provisioning::run(args)
                .await
                .map_err(StartError::Other),
            Command::Backup { file } => maintenance::backup(&cli.common, file).await,
            Command::Restore { file } => maintenance::restore(&cli.common, file).await,
            Command::RotateEncryptionKey => maintenance::rotate_key(&cli.common).await,
        }
    });
    // Work still running on the runtime's blocking threads (a password hash, an expression test)
    // is bounded; nothing may keep the process from exiting once the command is done.
    runtime.shutdown_timeout(std::time::Duration::from_secs(2));
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

/// The server's log goes to standard output through a thread of its own (`tracing_appender`): a
/// request formats its line and queues it, and never waits for the write; under load the thread
/// writes many lines per system call. Nothing is dropped (a full queue makes the logger wait).
/// Commands log to standard error directly.
fn init_logging(filter: &str, to_stdout: bool) -> Option<tracing_appender::non_blocking::WorkerGuard> {
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
        let (writer, guard) = tracing_appender::non_blocking::NonBlockingBuilder::default()
            .lossy(false)
            .thread_name("provisio-log")
            .finish(std::io::BufWriter::new(std::io::stdout()));
        builder
            .with_ansi(std::io::stdout().is_terminal())
            .with_writer(writer)
            .init();
        Some(guard)
    } else {
        builder
            .with_ansi(std::io::stderr().is_terminal())
            .with_writer(std::io::stderr)
            .init();
        None
    }
}

async fn serve(common: &CommonArgs, args: &ServeArgs) -> Result<(), StartError> {
    let running = server::start(common, args).await?;
    running.until_signal().await?;
    Ok(())
}

pub(crate) async fn open_db(common: &CommonArgs) -> Result<db::Pool, StartError> {
    let data_dir = config::prepare_data_dir(&common.data_dir)?;
    let target = config::resolve_database(common, &data_dir)?;
    Ok(db::connect(&target).await?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn account_ids_may_start_with_a_hyphen() {
        let cli = Cli::try_parse_from([
            "provisio",
            "api-key",
            "create",
            "--account",
            "-bZdrGdtstzmccymxNfxuQ",
            "--name",
            "idp",
            "--group",
            "Account Administrators",
        ])
        .unwrap();
        match cli.command {
            Some(Command::ApiKey {
                command: ApiKeyCommand::Create { account, .. },
            }) => {
                assert_eq!(account, "-bZdrGdtstzmccymxNfxuQ")
            }
            other => panic!("{other:?}"),
        }
        for _ in 0..2000 {
            let id = crate::scim_server::auth::new_account_id();
            assert!(id.starts_with(|c: char| c.is_ascii_alphanumeric()), "{id}");
        }
    }
}
