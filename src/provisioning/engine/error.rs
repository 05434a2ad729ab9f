//! The engine's own errors: what stops a cycle (or provision on demand) as a whole. A target's
//! refusal of one object is not one of them: it is that object's outcome (a log entry and an
//! escrow), and a target that cannot be used at all ends the cycle as Failed with a quarantine.

use super::policy::Invalid;
use crate::directory::DirError;

#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    /// The database failed (a cycle repeats the work when it runs again).
    #[error("database error: {0}")]
    Db(#[from] sqlx::Error),
    /// The stored configuration does not compile (a mapping or scoping filter).
    #[error("{}: {}", .0.part, .0.message)]
    Configuration(Invalid),
    /// The configuration could not be read (e.g. the Secret Token does not decrypt).
    #[error(transparent)]
    Config(#[from] DirError),
    /// The application is gone.
    #[error("there is no such application")]
    NoApplication,
    /// One of the cycle's own tasks failed (a panic, or a write that did not finish).
    #[error("{0}")]
    Task(String),
}

impl From<Invalid> for EngineError {
    fn from(e: Invalid) -> Self {
        EngineError::Configuration(e)
    }
}

/// The console's and the command line's view of an engine error.
impl From<EngineError> for DirError {
    fn from(e: EngineError) -> Self {
        match e {
            EngineError::Db(e) => DirError::Db(e),
            EngineError::Configuration(i) => crate::directory::invalid(i.part, i.message),
            EngineError::Config(e) => e,
            EngineError::NoApplication => DirError::NotFound("there is no such application".into()),
            EngineError::Task(m) => DirError::Conflict(m),
        }
    }
}
