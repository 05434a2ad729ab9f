//! The directory that provisioning reads from: users with Entra's attributes, groups with nested
//! members, imports and demo data. Validation and the audit trail live here so the console, the
//! command line and imports behave the same; SQL lives in `db::directory`.

pub mod bulk;
pub mod demo;
pub mod groups;
pub mod import;
pub mod users;
pub mod validate;

/// How long a soft-deleted user can be restored before it is purged, as in Entra.
pub const RESTORE_DAYS: i64 = 30;

#[derive(Debug, thiserror::Error)]
pub enum DirError {
    /// Bad input; `field` names the attribute or form field it belongs to.
    #[error("{message}")]
    Invalid { field: String, message: String },
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    Conflict(String),
    #[error("database error: {0}")]
    Db(#[from] sqlx::Error),
}

/// A write transaction on the directory: every directory write appends to its change sequence
/// (see [`crate::db::Exclusive::Directory`]).
pub(crate) async fn begin(pool: &crate::db::Pool) -> Result<crate::db::WriteTx, DirError> {
    Ok(crate::db::begin(pool, crate::db::Exclusive::Directory).await?)
}

pub fn invalid(field: &str, message: impl Into<String>) -> DirError {
    DirError::Invalid {
        field: field.to_string(),
        message: message.into(),
    }
}
