//! Drift and orphans: what an application holds that Provisio did not put there, compared with
//! the connector data store (what Provisio last sent) and the directory.

use serde::{Deserialize, Serialize};

/// Findings listed per kind at most (the totals count them all).
pub const DRIFT_LISTED: usize = 1_000;

/// The reconcile report of one application.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct DriftReport {
    /// Users and groups read from the application.
    pub users_read: u64,
    pub groups_read: u64,
    /// Users and groups the connector data store links to an account in the application.
    pub managed_users: u64,
    pub managed_groups: u64,
    /// Accounts in the application that Provisio does not manage.
    pub orphans: Vec<Orphan>,
    pub orphans_total: u64,
    /// Managed accounts whose values differ from what Provisio last sent.
    pub drifted: Vec<Drifted>,
    pub drifted_total: u64,
    /// Managed accounts the application no longer has.
    pub missing: Vec<Missing>,
    pub missing_total: u64,
    /// Why the application could not be read (nothing else is reported then).
    pub error: String,
    /// The groups mapping is on: groups were compared too.
    pub groups_compared: bool,
    pub elapsed_ms: u64,
}

impl DriftReport {
    /// One line: "2 orphans, 1 drifted, 0 missing among 120 users and 4 groups".
    pub fn summary(&self) -> String {
        if !self.error.is_empty() {
            return format!("The application could not be compared: {}", self.error);
        }
        format!(
            "{} not managed by Provisio, {} changed in the application, {} missing, among {}{} read from the application.",
            super::plural(self.orphans_total as i64, "account", "accounts"),
            super::plural(self.drifted_total as i64, "managed account", "managed accounts"),
            self.missing_total,
            super::plural(self.users_read as i64, "user", "users"),
            if self.groups_compared {
                format!(" and {}", super::plural(self.groups_read as i64, "group", "groups"))
            } else {
                String::new()
            },
        )
    }

    /// Nothing found.
    pub fn clean(&self) -> bool {
        self.error.is_empty() && self.orphans_total + self.drifted_total + self.missing_total == 0
    }
}

/// An account in the application that no link of the connector data store points to.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Orphan {
    /// "user" or "group".
    pub object_type: String,
    pub target_id: String,
    /// userName (users) or displayName (groups).
    pub name: String,
    /// Its `active`, when the application says.
    pub active: Option<bool>,
    /// The directory user it would match by the matching attributes, if any.
    pub matches: Option<DirectoryMatch>,
}

/// The directory user an orphan matches.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct DirectoryMatch {
    pub user_id: String,
    pub upn: String,
    pub display_name: String,
    /// The user is in the application's scope now: the next cycle would take the account over.
    pub in_scope: bool,
    /// The matching attribute that matched, e.g. `userName`.
    pub by: String,
}

/// A managed account whose values in the application differ from what Provisio last sent.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Drifted {
    pub object_type: String,
    pub source_id: String,
    pub display_name: String,
    pub target_id: String,
    pub attributes: Vec<DriftedAttribute>,
}

/// One attribute of a drifted account: what Provisio last sent and what the application holds.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DriftedAttribute {
    pub name: String,
    pub sent: String,
    /// "" when the application holds no value.
    pub found: String,
}

/// A managed account the application no longer has.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Missing {
    pub object_type: String,
    pub source_id: String,
    pub display_name: String,
    pub target_id: String,
}

/// The figures of an application's last drift check, for Synchronization details.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct DriftCheck {
    pub checked_at: String,
    pub users_read: i64,
    pub groups_read: i64,
    pub orphans: i64,
    pub drifted: i64,
    pub missing: i64,
    /// Why the application could not be read ("not finished" while it runs).
    pub error: String,
}

/// The `error` of a check that is running (or was cut short by a stop).
pub const DRIFT_CHECK_RUNNING: &str = "not finished";

impl DriftCheck {
    /// "2 accounts not managed by Provisio, 1 changed, 0 missing", or the error.
    pub fn summary(&self) -> String {
        if self.error == DRIFT_CHECK_RUNNING {
            return "a comparison started then and has not finished".into();
        }
        if !self.error.is_empty() {
            return format!("the application could not be compared: {}", self.error);
        }
        if self.orphans + self.drifted + self.missing == 0 {
            return format!("nothing found among {} users read", self.users_read);
        }
        format!(
            "{} not managed by Provisio, {} changed in the application, {} missing",
            super::plural(self.orphans, "account", "accounts"),
            self.drifted,
            self.missing
        )
    }
}

/// What an administrator can do about a finding.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum DriftAction {
    /// A drifted account gets the directory's values again.
    Revert,
    /// An orphan is linked to the directory user it matches and managed from then on.
    Adopt,
    /// An orphan is disabled in the application.
    Disable,
    /// An orphan is deleted from the application.
    Delete,
}

impl DriftAction {
    pub const ALL: [DriftAction; 4] = [
        DriftAction::Revert,
        DriftAction::Adopt,
        DriftAction::Disable,
        DriftAction::Delete,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            DriftAction::Revert => "revert",
            DriftAction::Adopt => "adopt",
            DriftAction::Disable => "disable",
            DriftAction::Delete => "delete",
        }
    }

    pub fn parse(s: &str) -> Option<DriftAction> {
        DriftAction::ALL.into_iter().find(|a| a.as_str() == s.trim())
    }

    /// The audit log's action name.
    pub fn audit_action(self) -> &'static str {
        match self {
            DriftAction::Revert => "app.drift_revert",
            DriftAction::Adopt => "app.drift_adopt",
            DriftAction::Disable => "app.drift_disable",
            DriftAction::Delete => "app.drift_delete",
        }
    }
}
