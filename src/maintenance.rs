//! Looking after an installation: a consistent copy of the SQLite database while it serves
//! ([`backup`]), putting one back ([`restore`]), and re-sealing every stored secret under a new
//! encryption key ([`rotate_key`], [`finish_rotation`]). PostgreSQL has its own tools for the
//! first two (`pg_dump`, `pg_restore`).

use crate::db::sealed::{self, Owner};
use crate::db::{self, Backend, Pool};
use crate::secrets::Sealer;
use anyhow::{anyhow, bail, Context};
use std::path::{Path, PathBuf};

const PG_BACKUP: &str = "the database is PostgreSQL: back it up with its own tools, e.g. `pg_dump --format=custom --file provisio.dump \"$PROVISIO_DATABASE_URL\"`, and restore with `pg_restore --clean --dbname ...`";

/// Writes a consistent copy of the SQLite database to `file` (a new file, mode 0600) while the
/// server keeps serving (`VACUUM INTO`: one read transaction, compacted). Returns its size.
pub async fn backup(pool: &Pool, file: &Path) -> anyhow::Result<u64> {
    if Backend::of(pool) == Backend::Postgres {
        bail!(PG_BACKUP);
    }
    if file.exists() {
        bail!("{} exists: choose a new file name", file.display());
    }
    let path = file
        .to_str()
        .ok_or_else(|| anyhow!("{}: the path must be valid UTF-8", file.display()))?;
    sqlx::query("VACUUM INTO $1")
        .bind(path)
        .execute(pool)
        .await
        .with_context(|| format!("cannot write {}", file.display()))?;
    private(file)?;
    Ok(std::fs::metadata(file)?.len())
}

fn private(file: &Path) -> anyhow::Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(file, std::fs::Permissions::from_mode(0o600))
            .with_context(|| format!("cannot make {} private", file.display()))?;
    }
    Ok(())
}

/// What a backup file holds, checked before it replaces anything.
pub struct Checked {
    pub migration: i64,
    pub apps: i64,
    pub users: i64,
}

/// Opens `file` read-only and checks it is a sound Provisio database this version can run:
/// SQLite's integrity check, Provisio's tables, no migration newer than this build's.
async fn check_backup(file: &Path) -> anyhow::Result<Checked> {
    use sqlx::sqlite::{SqliteConnectOptions, SqlitePoolOptions};
    use sqlx::Row;
    if !file.is_file() {
        bail!("{}: no such file", file.display());
    }
    let pool = SqlitePoolOptions::new()
        .max_connections(1)
        .connect_with(SqliteConnectOptions::new().filename(file).read_only(true))
        .await
        .with_context(|| format!("{} cannot be opened as a SQLite database", file.display()))?;
    let not_provisio = || format!("{} is not a Provisio database", file.display());
    let integrity: String = sqlx::query("PRAGMA integrity_check")
        .fetch_one(&pool)
        .await
        .with_context(not_provisio)?
        .get(0);
    if integrity != "ok" {
        bail!("{} is damaged: {integrity}", file.display());
    }
    let migration: i64 = sqlx::query("SELECT COALESCE(MAX(version), 0) FROM _sqlx_migrations WHERE success")
        .fetch_one(&pool)
        .await
        .with_context(not_provisio)?
        .get(0);
    let count = |table: &'static str| {
        let pool = pool.clone();
        async move {
            sqlx::query(&format!("SELECT COUNT(*) FROM {table}"))
                .fetch_one(&pool)
                .await
                .map(|r| r.get::<i64, _>(0))
        }
    };
    let apps = count("apps").await.with_context(not_provisio)?;
    let users = count("dir_users").await.with_context(not_provisio)?;
    pool.close().await;
    if migration > db::latest_sqlite_migration() {
        bail!(
            "{} was written by a newer Provisio (database version {migration}, this one knows up to {}): restore it with that version",
            file.display(),
            db::latest_sqlite_migration()
        );
    }
    Ok(Checked {
        migration,
        apps,
        users,
    })
}

/// Replaces the SQLite database at `database` with the backup `file` (checked first). The
/// database it replaces is kept beside it, renamed `*.before-restore-<time>`; returns what the
/// backup holds and that path. The caller holds the data directory's exclusive lock (no server
/// runs on it).
pub async fn restore(database: &Path, file: &Path) -> anyhow::Result<(Checked, PathBuf)> {
    let checked = check_backup(file).await?;
    let stamp = time::OffsetDateTime::now_utc().unix_timestamp();
    let kept = PathBuf::from(format!("{}.before-restore-{stamp}", database.display()));
    let beside = |p: &Path, suffix: &str| PathBuf::from(format!("{}{suffix}", p.display()));
    if database.exists() {
        for suffix in ["", "-wal", "-shm"] {
            let from = beside(database, suffix);
            if from.exists() {
                std::fs::rename(&from, beside(&kept, suffix))
                    .with_context(|| format!("cannot move {} aside", from.display()))?;
            }
        }
    }
    let incoming = beside(database, ".restoring");
    std::fs::copy(file, &incoming).with_context(|| format!("cannot copy {}", file.display()))?;
    private(&incoming)?;
    std::fs::File::open(&incoming)?.sync_all()?;
    std::fs::rename(&incoming, database)?;
    Ok((checked, kept))
}

/// The associated data a secret was sealed with.
fn context(owner: &Owner) -> String {
    match owner {
        Owner::AppToken(app) => crate::provisioning::config::token_context(app),
        Owner::SmtpPassword => crate::notify::PASSWORD_CONTEXT.to_string(),
    }
}

fn describe(owner: &Owner) -> String {
    match owner {
        Owner::AppToken(app) => format!("the secret token of application {app}"),
        Owner::SmtpPassword => "the SMTP password".into(),
    }
}

/// Re-seals every stored secret from `old` to `new` in one transaction: all or nothing. A secret
/// `old` cannot open stops it with nothing changed. Returns how many were re-sealed.
pub async fn rotate_key(pool: &Pool, old: &Sealer, new: &Sealer) -> anyhow::Result<usize> {
    let mut tx = db::begin(pool, db::Exclusive::Rows).await?;
    // Every sealed column's table, locked against writes until the commit: a secret saved
    // meanwhile would be sealed with the old key, or missed.
    sealed::lock(&mut tx).await?;
    let all = sealed::all(&mut tx).await?;
    for (owner, value) in &all {
        let context = context(owner);
        let plain = old.open(value, &context).map_err(|_| {
            anyhow!(
                "{} cannot be opened with the current key: nothing was changed (is the configured key the one in use?)",
                describe(owner)
            )
        })?;
        sealed::replace(&mut tx, owner, &new.seal(&plain, &context)).await?;
    }
    tx.commit().await?;
    Ok(all.len())
}

/// At start, with the data directory's key file: a rotation interrupted between re-sealing the
/// database and replacing the key file left the next key in `secret.key.next`. Whichever key
/// opens the stored secrets is the one in use: the next key then replaces the key file,
/// otherwise it is removed. Returns the sealer to use.
pub async fn finish_rotation(data_dir: &Path, pool: &Pool, current: Sealer) -> anyhow::Result<Sealer> {
    let (key_file, next_file) = crate::secrets::key_files(data_dir);
    if !next_file.exists() {
        return Ok(current);
    }
    let next = Sealer::from_key(&crate::secrets::read_key_file(&next_file).map_err(|m| anyhow!(m))?);
    let mut conn = pool.acquire().await?;
    let stored = sealed::all(&mut conn).await?;
    drop(conn);
    let next_opens = stored
        .first()
        .is_some_and(|(owner, value)| next.open(value, &context(owner)).is_ok());
    if next_opens {
        std::fs::rename(&next_file, &key_file)
            .with_context(|| format!("cannot replace {}", key_file.display()))?;
        tracing::warn!("finished an interrupted encryption key rotation: the new key is in use");
        Ok(next)
    } else {
        std::fs::remove_file(&next_file)?;
        tracing::warn!(
            "an encryption key rotation was interrupted before it changed anything: the key is unchanged"
        );
        Ok(current)
    }
}
