//! The provisioning service: the application gallery and the enterprise applications added from
//! it, with their assignments and provisioning configuration (credentials, mappings, scoping,
//! settings, Test Connection). The engine: cycles, the scheduler, provision on demand.

pub mod apps;
pub mod assignments;
mod bulk;
pub mod config;
pub mod connection;
pub mod drift_checks;
pub mod engine;
pub mod expression;
pub mod gallery;
pub mod health;
pub mod limits;
pub mod mapped;
pub mod on_demand;
pub mod probe;
pub mod reconcile;
pub mod rules;
pub mod source;
pub mod status;
pub mod survey;
pub mod turns;
pub mod worker;
