//! Provisioning health at a glance: one status per application, with the reason, shown on
//! Overview, the applications list and every application page.

use serde::{Deserialize, Serialize};

/// How an application's provisioning stands. Ordered worst first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum HealthStatus {
    /// Paused after failures, or stopped after four weeks of it: nothing reaches the application.
    Quarantine,
    /// Running, but something needs a look: failures in the last cycle, objects waiting for a retry.
    Warning,
    Healthy,
    /// Provisioning is Off (or the mode Manual): nothing is expected to run.
    Off,
}

impl HealthStatus {
    pub fn label(self) -> &'static str {
        match self {
            HealthStatus::Quarantine => "Quarantine",
            HealthStatus::Warning => "Warning",
            HealthStatus::Healthy => "Healthy",
            HealthStatus::Off => "Off",
        }
    }

    /// The CSS modifier of its badge (which also carries an icon: never colour alone).
    pub fn css(self) -> &'static str {
        match self {
            HealthStatus::Quarantine => "health health-quarantine",
            HealthStatus::Warning => "health health-warning",
            HealthStatus::Healthy => "health health-healthy",
            HealthStatus::Off => "health health-off",
        }
    }

    /// A symbol beside the word, for readers who do not tell the colours apart.
    pub fn icon(self) -> &'static str {
        match self {
            HealthStatus::Quarantine => "⛔",
            HealthStatus::Warning => "⚠",
            HealthStatus::Healthy => "✓",
            HealthStatus::Off => "○",
        }
    }
}

/// An application's provisioning health.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AppHealth {
    pub status: HealthStatus,
    /// Why, in the admin's words.
    pub reason: String,
    /// When the last completed cycle ended, and how ("Succeeded", "EntryLevelErrors", "Failed").
    pub last_cycle_at: Option<String>,
    pub last_cycle_state: Option<String>,
    /// Objects waiting in escrow for a retry.
    pub escrowed: i64,
}

/// One application on Overview's "Provisioning health" panel.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AppHealthEntry {
    pub id: String,
    pub name: String,
    pub health: AppHealth,
}
