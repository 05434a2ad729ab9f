//! `provisio backup FILE`, `provisio restore FILE`, `provisio rotate-encryption-key`: looking
//! after an installation (see `crate::maintenance`). Restore and key rotation take the data
//! directory's lock exclusively, so they refuse to run under a server.

use crate::audit::{self, Actor, Outcome};
use crate::config::{self, CommonArgs, DatabaseTarget};
use crate::datadir_lock;
use crate::db;
use crate::maintenance;
use crate::secrets::{self, Sealer};
use crate::server::StartError;
use anyhow::anyhow;
use std::path::{Path, PathBuf};

fn locked(data_dir: &Path) -> Result<datadir_lock::DataDirLock, StartError> {
    datadir_lock::exclusive(data_dir).map_err(|m| StartError::Other(anyhow!("{}: {m}", data_dir.display())))
}

/// A consistent copy of the database while the server runs.
pub(super) async fn backup(common: &CommonArgs, file: PathBuf) -> Result<(), StartError> {
    let pool = super::open_db(common).await?;
    let bytes = maintenance::backup(&pool, &file).await?;
    audit::record(
        &pool,
        &Actor::cli(),
        "backup",
        &file.display().to_string(),
        Outcome::Success,
        &format!("{bytes} bytes"),
    )
    .await;
    println!("Wrote {} ({bytes} bytes).", file.display());
    eprintln!(
        "The backup holds stored secrets sealed with the encryption key; keep a copy of the key (secret.key or PROVISIO_ENCRYPTION_KEY) apart from it."
    );
    Ok(())
}

/// Replaces the SQLite database with a backup; no server may run on the data directory.
pub(super) async fn restore(common: &CommonArgs, file: PathBuf) -> Result<(), StartError> {
    let data_dir = config::prepare_data_dir(&common.data_dir)?;
    let DatabaseTarget::Sqlite { path } = config::resolve_database(common, &data_dir)? else {
        return Err(anyhow!(
            "the database is PostgreSQL: restore it with `pg_restore --clean --dbname \"$PROVISIO_DATABASE_URL\" FILE`"
        )
        .into());
    };
    let _lock = locked(&data_dir)?;
    let (checked, kept) = maintenance::restore(&path, &file).await?;
    // Opened once: migrations a backup from an older version lacks run now.
    let pool = db::connect(&DatabaseTarget::Sqlite { path: path.clone() }).await?;
    audit::record(
        &pool,
        &Actor::cli(),
        "restore",
        &file.display().to_string(),
        Outcome::Success,
        &format!(
            "database version {}; the replaced database is {}",
            checked.migration,
            kept.display()
        ),
    )
    .await;
    pool.close().await;
    println!(
        "Restored {} into {}: {} application(s), {} directory user(s).",
        file.display(),
        path.display(),
        checked.apps,
        checked.users
    );
    if kept.exists() {
        println!("The database it replaced is kept as {}.", kept.display());
    }
    Ok(())
}

/// Re-seals every stored secret with a new key and puts the key where the old one was.
pub(super) async fn rotate_key(common: &CommonArgs) -> Result<(), StartError> {
    let data_dir = config::prepare_data_dir(&common.data_dir)?;
    let database = config::resolve_database(common, &data_dir)?;
    let _lock = locked(&data_dir)?;
    let pool = db::connect(&database).await?;
    let now = crate::timefmt::now();
    if let Some(holder) = db::leases::live_holder(&pool, &now)
        .await
        .map_err(anyhow::Error::from)?
    {
        return Err(anyhow!(
            "a Provisio instance is running on this database ({holder} holds a provisioning job): stop every instance first"
        )
        .into());
    }
    let configured = common.encryption_key.as_deref().filter(|k| !k.trim().is_empty());
    let old = Sealer::load(configured, &data_dir)?;
    let key = secrets::generate_key();
    let new = Sealer::from_key(&key);
    let done = match configured {
        Some(_) => {
            let n = maintenance::rotate_key(&pool, &old, &new).await?;
            println!("{}", secrets::key_text(&key));
            eprintln!(
                "Re-sealed {n} secret(s) with the new key printed above. Set PROVISIO_ENCRYPTION_KEY (or --encryption-key) to it on every instance before starting them: the old key no longer opens anything."
            );
            n
        }
        None => {
            let old = maintenance::finish_rotation(&data_dir, &pool, old).await?;
            let (key_file, next_file) = secrets::key_files(&data_dir);
            secrets::write_key_file(&next_file, &key)
                .map_err(|e| anyhow!("cannot write {}: {e}", next_file.display()))?;
            let n = match maintenance::rotate_key(&pool, &old, &new).await {
                Ok(n) => n,
                Err(e) => {
                    let _ = std::fs::remove_file(&next_file);
                    return Err(e.into());
                }
            };
            std::fs::rename(&next_file, &key_file).map_err(|e| {
                anyhow!(
                    "cannot replace {}: {e} (the server finishes this at its next start)",
                    key_file.display()
                )
            })?;
            if let Ok(dir) = std::fs::File::open(&data_dir) {
                let _ = dir.sync_all();
            }
            println!(
                "Re-sealed {n} secret(s) with a new key in {}; the old key no longer opens them. Back the new key file up, apart from the database backups.",
                key_file.display()
            );
            n
        }
    };
    audit::record(
        &pool,
        &Actor::cli(),
        "encryption_key.rotate",
        "encryption key",
        Outcome::Success,
        &format!("{done} secret(s) re-sealed"),
    )
    .await;
    Ok(())
}
