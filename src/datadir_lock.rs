//! The data directory's lock file (`provisio.lock`): a serving process holds it shared for as
//! long as it runs; restoring a backup and rotating the encryption key take it exclusively, so
//! they refuse to run under a server that would keep the old database open or the old key in
//! memory. An advisory lock the operating system drops when the process ends, however it ends.

use std::fs::{File, OpenOptions, TryLockError};
use std::path::Path;

const LOCK_FILE: &str = "provisio.lock";

/// A held lock; released when dropped (or when the process ends).
#[derive(Debug)]
pub struct DataDirLock {
    _file: File,
}

fn open(dir: &Path) -> std::io::Result<File> {
    let mut options = OpenOptions::new();
    options.create(true).truncate(false).write(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    options.open(dir.join(LOCK_FILE))
}

/// Taken by a serving process. Never waits: a maintenance command holding it exclusively makes
/// the server refuse to start instead.
pub fn shared(dir: &Path) -> Result<DataDirLock, String> {
    let file = open(dir).map_err(|e| format!("cannot open its lock file: {e}"))?;
    match file.try_lock_shared() {
        Ok(()) => Ok(DataDirLock { _file: file }),
        Err(TryLockError::WouldBlock) => {
            Err("a maintenance command (restore, key rotation) is running on it".into())
        }
        Err(TryLockError::Error(e)) => Err(format!("cannot lock it: {e}")),
    }
}

/// Taken by a maintenance command: refused while any server runs on the directory.
pub fn exclusive(dir: &Path) -> Result<DataDirLock, String> {
    let file = open(dir).map_err(|e| format!("cannot open its lock file: {e}"))?;
    match file.try_lock() {
        Ok(()) => Ok(DataDirLock { _file: file }),
        Err(TryLockError::WouldBlock) => Err(
            "a Provisio server is running on this data directory: stop it first (and every other instance sharing the database)"
                .into(),
        ),
        Err(TryLockError::Error(e)) => Err(format!("cannot lock it: {e}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn servers_share_it_and_maintenance_waits_for_none() {
        let dir = tempfile::tempdir().unwrap();
        let a = shared(dir.path()).unwrap();
        let b = shared(dir.path()).unwrap();
        assert!(exclusive(dir.path()).unwrap_err().contains("server is running"));
        drop((a, b));
        let m = exclusive(dir.path()).unwrap();
        assert!(shared(dir.path()).unwrap_err().contains("maintenance"));
        drop(m);
        assert!(shared(dir.path()).is_ok());
    }
}
