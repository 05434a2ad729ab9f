//! Settings from flags and `PROVISIO_*` environment variables, and their validation.
//!
//! Bad settings are reported as [`SettingsError`], which the binary turns into a clear message
//! and exit code 2 (the same code clap uses for bad flags).

use clap::{Args, Parser, Subcommand};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::str::FromStr;

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

/// Settings every subcommand needs: where the data lives and how much to log.
#[derive(Debug, Clone, Args)]
pub struct CommonArgs {
    /// Directory for the SQLite database, the encryption key file and other state.
    #[arg(long, env = "PROVISIO_DATA_DIR", default_value = "./data", global = true)]
    pub data_dir: PathBuf,
    /// Database URL; default: a SQLite file `provisio.db` in the data directory.
    #[arg(long, env = "PROVISIO_DATABASE_URL", global = true)]
    pub database_url: Option<String>,
    /// Key that encrypts stored secrets (applications' secret tokens, the SMTP password): 32 bytes
    /// as base64. Without it a key file `secret.key` (mode 0600) in the data directory is used,
    /// created on first start. Instances sharing a database must share the key.
    #[arg(long, env = "PROVISIO_ENCRYPTION_KEY", global = true, hide_env_values = true)]
    pub encryption_key: Option<String>,
    /// How long requests to applications' SCIM endpoints (Test Connection, provisioning) wait for
    /// an answer, in seconds.
    #[arg(long, env = "PROVISIO_OUTBOUND_TIMEOUT_SECONDS", default_value_t = 15, global = true,
          value_parser = clap::value_parser!(u64).range(1..=300))]
    pub outbound_timeout_seconds: u64,
    /// Where requests to applications and the SMTP server may go: `private` (public and private
    /// addresses; link-local and cloud metadata addresses are refused), `public` (public only) or
    /// `any`.
    #[arg(
        long,
        env = "PROVISIO_OUTBOUND_ADDRESSES",
        default_value = "private",
        global = true,
        value_enum
    )]
    pub outbound_addresses: crate::outbound::AddressPolicy,
    /// Log filter: a level (error, warn, info, debug, trace) or tracing directives.
    #[arg(long = "log", env = "PROVISIO_LOG", default_value = "info", global = true)]
    pub log: String,
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
    /// Import directory users or group memberships from a CSV or JSON-lines file.
    Import {
        #[command(subcommand)]
        command: ImportCommand,
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
}

#[derive(Debug, Subcommand)]
pub enum ImportCommand {
    /// Users, upserted by userPrincipalName. The header row (or JSON keys) names the attributes;
    /// a `groups` column adds memberships (names separated by `;`).
    Users(ImportArgs),
    /// Memberships: columns `group`, `member` (a userPrincipalName, or a group name when
    /// `memberType` is `group`) and optionally `memberType`.
    Memberships(ImportArgs),
}

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
        #[arg(long)]
        secret_token_env: Option<String>,
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
    /// statistics and recent cycles. Exit code 0 unless the job is in quarantine or disabled.
    Status {
        /// Application id or name.
        app: String,
        /// Print the details as JSON.
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

/// How tenant URLs are printed by the command line: the server's public URL.
#[derive(Debug, Clone, Args)]
pub struct PublicUrlArg {
    /// The server's public URL, to print tenant URLs with; default http://127.0.0.1:3000.
    #[arg(long, env = "PROVISIO_PUBLIC_URL")]
    pub public_url: Option<String>,
}

#[derive(Debug, Subcommand)]
pub enum AccountCommand {
    /// Create an account; prints its id and tenant URL.
    Create {
        #[arg(long)]
        name: String,
        #[command(flatten)]
        url: PublicUrlArg,
    },
    /// List accounts with their tenant URLs.
    List {
        #[command(flatten)]
        url: PublicUrlArg,
    },
}

#[derive(Debug, Subcommand)]
pub enum ApiKeyCommand {
    /// Create an API key; prints it once.
    Create {
        /// Account id (or name).
        #[arg(long, allow_hyphen_values = true)]
        account: String,
        #[arg(long)]
        name: String,
        /// A user group whose permissions the key inherits (repeat for several).
        #[arg(long = "group", required = true)]
        groups: Vec<String>,
        /// Days until the key expires; without it the key does not expire.
        #[arg(long)]
        expires_in_days: Option<u32>,
    },
    /// List an account's API keys (never the keys themselves).
    List {
        #[arg(long, allow_hyphen_values = true)]
        account: String,
    },
    /// Revoke an API key, by id or by its prefix.
    Revoke {
        #[arg(long, allow_hyphen_values = true)]
        account: String,
        key: String,
    },
}

#[derive(Debug, Clone, Args)]
pub struct ServeArgs {
    /// Address and port to listen on.
    #[arg(long, env = "PROVISIO_BIND", default_value = "127.0.0.1:3000")]
    pub bind: String,
    /// The URL users and identity providers reach this server at (used to build tenant URLs and
    /// to decide whether cookies are Secure); default: http://{bind}.
    #[arg(long, env = "PROVISIO_PUBLIC_URL")]
    pub public_url: Option<String>,
    /// Sign a console user out after this many minutes without a request.
    #[arg(long, env = "PROVISIO_SESSION_IDLE_MINUTES", default_value_t = 60)]
    pub session_idle_minutes: u32,
    /// Take the client address for logs and the audit log from X-Forwarded-For. Only set this
    /// behind a reverse proxy that overwrites that header.
    #[arg(long, env = "PROVISIO_TRUST_FORWARDED_FOR", default_value_t = false)]
    pub trust_forwarded_for: bool,
    /// Directory holding the compiled browser assets (`pkg/`); cargo-leptos sets LEPTOS_SITE_ROOT.
    #[arg(long, env = "PROVISIO_SITE_ROOT")]
    pub site_root: Option<PathBuf>,
    /// Provisioning jobs that run cycles at the same time (the others wait their turn).
    #[arg(long, env = "PROVISIO_PROVISIONING_JOBS", default_value_t = 4,
          value_parser = clap::value_parser!(u32).range(1..=64))]
    pub provisioning_jobs: u32,
    /// Requests each provisioning job keeps in flight to its application.
    #[arg(long, env = "PROVISIO_PROVISIONING_CONCURRENCY", default_value_t = 8,
          value_parser = clap::value_parser!(u32).range(1..=64))]
    pub provisioning_concurrency: u32,
    /// The escrow base period in seconds: failed objects are retried this long after the first
    /// failure, then at 2x, 4x and every 4x (Entra: 6 h, 12 h, 24 h, then daily for 28 days);
    /// a quarantined job retries every 4x. Shorten it only for tests.
    #[arg(long, env = "PROVISIO_ESCROW_BASE_SECONDS", default_value_t = 21_600,
          value_parser = clap::value_parser!(u64).range(1..=604_800))]
    pub escrow_base_seconds: u64,
    /// Days provisioning log entries, cycles and sent emails are kept.
    #[arg(long, env = "PROVISIO_LOG_RETENTION_DAYS", default_value_t = 30,
          value_parser = clap::value_parser!(u32).range(1..=3650))]
    pub log_retention_days: u32,
    /// Days audit log entries are kept.
    #[arg(long, env = "PROVISIO_AUDIT_RETENTION_DAYS", default_value_t = 365,
          value_parser = clap::value_parser!(u32).range(1..=36_500))]
    pub audit_retention_days: u32,
    /// Resources one SCIM list may examine one by one when its filter (or sortBy) is not answered
    /// by the index; past it the client gets 400 tooMany and is asked to narrow the filter.
    #[arg(long, env = "PROVISIO_SCIM_SCAN_LIMIT", default_value_t = 100_000,
          value_parser = clap::value_parser!(u32).range(500..=10_000_000))]
    pub scim_scan_limit: u32,
}

impl Default for ServeArgs {
    fn default() -> Self {
        ServeArgs::parse_from(["serve"])
    }
}

impl ServeArgs {
    fn parse_from<I: IntoIterator<Item = &'static str>>(args: I) -> Self {
        #[derive(Parser)]
        struct Wrapper {
            #[command(flatten)]
            serve: ServeArgs,
        }
        Wrapper::parse_from(args).serve
    }
}

#[derive(Debug, Subcommand)]
pub enum AdminCommand {
    /// Add a console user. The password is read from stdin with --password-stdin, otherwise one
    /// is generated and printed once.
    Create {
        username: String,
        #[arg(long, default_value = "administrator", value_parser = ["administrator", "viewer"])]
        role: String,
        #[arg(long)]
        password_stdin: bool,
    },
    /// List console users.
    List,
    /// Set a new password (from stdin with --password-stdin, or generated and printed once) and
    /// end the user's sessions.
    ResetPassword {
        username: String,
        #[arg(long)]
        password_stdin: bool,
    },
    /// Disable a console user and end their sessions.
    Disable { username: String },
    /// Enable a disabled console user.
    Enable { username: String },
}

/// A setting that cannot work. Reported plainly; the process exits with code 2.
#[derive(Debug, thiserror::Error)]
pub enum SettingsError {
    #[error("the data directory {path} cannot be used: {reason}")]
    DataDir { path: PathBuf, reason: String },
    #[error("--bind {value:?} is not an address and port such as 127.0.0.1:3000")]
    Bind { value: String },
    #[error("cannot listen on {addr}: {reason}")]
    Listen { addr: SocketAddr, reason: String },
    #[error("--public-url {value:?} must be an absolute http:// or https:// URL without query or fragment")]
    PublicUrl { value: String },
    #[error("--database-url {value:?}: {reason}")]
    DatabaseUrl { value: String, reason: String },
    #[error("--session-idle-minutes must be between 1 and 10080 (a week)")]
    SessionIdle,
    #[error("PROVISIO_ADMIN_PASSWORD is not acceptable: {0}")]
    AdminPassword(String),
    #[error("the encryption key cannot be used: {0}")]
    EncryptionKey(String),
}

pub use crate::db::DatabaseTarget;

/// Create the data directory if needed and prove it is writable, so a bad setting fails at
/// start-up with a clear message rather than at the first write.
pub fn prepare_data_dir(dir: &Path) -> Result<PathBuf, SettingsError> {
    let err = |reason: String| SettingsError::DataDir {
        path: dir.to_path_buf(),
        reason,
    };
    // Created readable by its owner only: it holds the database and the encryption key file.
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder.create(dir).map_err(|e| err(e.to_string()))?;
    let probe = dir.join(".provisio-write-test");
    std::fs::write(&probe, b"ok").map_err(|e| err(format!("not writable ({e})")))?;
    let _ = std::fs::remove_file(&probe);
    dir.canonicalize().map_err(|e| err(e.to_string()))
}

pub fn resolve_database(common: &CommonArgs, data_dir: &Path) -> Result<DatabaseTarget, SettingsError> {
    let Some(url) = common.database_url.as_deref().filter(|u| !u.trim().is_empty()) else {
        return Ok(DatabaseTarget::Sqlite {
            path: data_dir.join("provisio.db"),
        });
    };
    let bad = |reason: &str| SettingsError::DatabaseUrl {
        value: crate::db::redact_url(url),
        reason: reason.to_string(),
    };
    if let Some(rest) = url
        .strip_prefix("sqlite://")
        .or_else(|| url.strip_prefix("sqlite:"))
    {
        let path = rest.split('?').next().unwrap_or_default();
        if path.is_empty() || path == ":memory:" {
            return Err(bad(
                "give a file path, e.g. sqlite:///var/lib/provisio/provisio.db",
            ));
        }
        return Ok(DatabaseTarget::Sqlite {
            path: PathBuf::from(path),
        });
    }
    if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        let parsed = reqwest::Url::parse(url).map_err(|e| bad(&e.to_string()))?;
        if parsed.path().trim_start_matches('/').is_empty() {
            return Err(bad(
                "name the database, e.g. postgres://provisio:PASSWORD@db.example.com/provisio",
            ));
        }
        return Ok(DatabaseTarget::Postgres {
            url: url.to_string(),
            max_connections: 16,
        });
    }
    Err(bad(
        "unsupported scheme; use sqlite://PATH or postgres://USER:PASSWORD@HOST/DATABASE",
    ))
}

/// Hides a password in a database URL so it can appear in an error message.
pub fn parse_bind(value: &str) -> Result<SocketAddr, SettingsError> {
    SocketAddr::from_str(value.trim()).map_err(|_| SettingsError::Bind {
        value: value.to_string(),
    })
}

/// Validates the public URL and strips a trailing slash, so tenant URLs can be built by appending.
/// Without one, the URL is that of the address actually bound (`bound`, known once listening), with
/// an unspecified address (`0.0.0.0`, `::`) replaced by loopback.
pub fn parse_public_url(value: Option<&str>, bound: SocketAddr) -> Result<String, SettingsError> {
    let Some(value) = value.map(str::trim).filter(|v| !v.is_empty()) else {
        let mut addr = bound;
        if addr.ip().is_unspecified() {
            addr.set_ip(if addr.is_ipv4() {
                std::net::Ipv4Addr::LOCALHOST.into()
            } else {
                std::net::Ipv6Addr::LOCALHOST.into()
            });
        }
        return Ok(format!("http://{addr}"));
    };
    let bad = || SettingsError::PublicUrl {
        value: value.to_string(),
    };
    let rest = value
        .strip_prefix("https://")
        .or_else(|| value.strip_prefix("http://"))
        .ok_or_else(bad)?;
    let host = rest.split('/').next().unwrap_or_default();
    if host.is_empty() || value.contains(['?', '#', ' ']) || host.contains('@') {
        return Err(bad());
    }
    Ok(value.trim_end_matches('/').to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn public_url_defaults_to_bind_and_drops_trailing_slash() {
        let bind = parse_bind("127.0.0.1:3000").unwrap();
        assert_eq!(parse_public_url(None, bind).unwrap(), "http://127.0.0.1:3000");
        assert_eq!(
            parse_public_url(Some("https://idm.example.com/"), bind).unwrap(),
            "https://idm.example.com"
        );
        assert!(parse_public_url(Some("idm.example.com"), bind).is_err());
        assert!(parse_public_url(Some("https://x.example.com/?a=b"), bind).is_err());
        assert!(parse_public_url(Some("https://"), bind).is_err());
        let any = parse_bind("0.0.0.0:8080").unwrap();
        assert_eq!(parse_public_url(None, any).unwrap(), "http://127.0.0.1:8080");
    }

    #[test]
    fn bind_must_be_address_and_port() {
        assert!(parse_bind("0.0.0.0:8080").is_ok());
        assert!(parse_bind("[::1]:8080").is_ok());
        assert!(parse_bind("localhost").is_err());
        assert!(parse_bind("127.0.0.1").is_err());
    }

    #[test]
    fn database_url_resolution() {
        let common = |url: Option<&str>| CommonArgs {
            data_dir: "./d".into(),
            database_url: url.map(String::from),
            encryption_key: None,
            outbound_timeout_seconds: 15,
            outbound_addresses: crate::outbound::AddressPolicy::Private,
            log: "info".into(),
        };
        let d = Path::new("/data");
        let sqlite = |url| match resolve_database(&common(url), d).unwrap() {
            DatabaseTarget::Sqlite { path } => path,
            other => panic!("{other:?}"),
        };
        assert_eq!(sqlite(None), Path::new("/data/provisio.db"));
        assert_eq!(sqlite(Some("sqlite:///tmp/x.db")), Path::new("/tmp/x.db"));
        assert!(resolve_database(&common(Some("sqlite::memory:")), d).is_err());
        let pg = resolve_database(&common(Some("postgres://u:pw@h/db")), d).unwrap();
        assert!(matches!(&pg, DatabaseTarget::Postgres { url, .. } if url == "postgres://u:pw@h/db"));
        assert_eq!(pg.describe(), "PostgreSQL (postgres://u:***@h/db)");
        // Without a database name PostgreSQL would pick the user's; say which one instead.
        let e = resolve_database(&common(Some("postgresql://u:pw@h")), d).unwrap_err();
        assert!(!e.to_string().contains("pw"), "{e}");
        assert!(resolve_database(&common(Some("mysql://h/db")), d).is_err());
    }

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

    #[test]
    fn unwritable_data_dir_is_a_settings_error() {
        let e = prepare_data_dir(Path::new("/proc/provisio-cannot-exist")).unwrap_err();
        assert!(matches!(e, SettingsError::DataDir { .. }));
    }
}
