//! Settings from flags and `PROVISIO_*` environment variables, and their validation.
//!
//! Bad settings are reported as [`SettingsError`], which the binary turns into a clear message
//! and exit code 2 (the same code clap uses for bad flags).

use clap::{Args, Parser};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::str::FromStr;

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
    /// How often scheduled drift checks are looked for, in seconds (each application's own
    /// interval, in hours, is in its settings). Shorten it only for tests.
    #[arg(long, env = "PROVISIO_DRIFT_LOOK_SECONDS", default_value_t = 60,
          value_parser = clap::value_parser!(u64).range(1..=3_600))]
    pub drift_look_seconds: u64,
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
    /// SCIM requests one account may have in progress at a time on this instance (the rest of
    /// its requests wait their turn), so one account's bulk load cannot take every database
    /// connection from the others; default: half the database pool.
    #[arg(long, env = "PROVISIO_SCIM_ACCOUNT_CONCURRENCY",
          value_parser = clap::value_parser!(u32).range(1..=1024))]
    pub scim_account_concurrency: Option<u32>,
    /// Serve `GET /metrics` (Prometheus text format) on the main address to scrapers presenting
    /// this bearer token (at least 32 characters).
    #[arg(long, env = "PROVISIO_METRICS_TOKEN", hide_env_values = true)]
    pub metrics_token: Option<String>,
    /// Serve `GET /metrics` (only) on this address as well, e.g. 127.0.0.1:9300 or an address on
    /// the monitoring network; it asks for the token only when --metrics-token is set.
    #[arg(long, env = "PROVISIO_METRICS_BIND")]
    pub metrics_bind: Option<String>,
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
    #[error(
        "--metrics-token must be at least {0} characters (a random secret, e.g. from `openssl rand -hex 32`)"
    )]
    MetricsToken(usize),
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
    fn unwritable_data_dir_is_a_settings_error() {
        let e = prepare_data_dir(Path::new("/proc/provisio-cannot-exist")).unwrap_err();
        assert!(matches!(e, SettingsError::DataDir { .. }));
    }
}
