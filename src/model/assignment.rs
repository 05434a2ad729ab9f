//! What an assignment did in its application (the Users and groups tab's Provisioning column)
//! and who can be assigned (the Add assignment page).

use serde::{Deserialize, Serialize};

/// Where provisioning stands for one assigned user or group, from the connector data store's
/// link and the newest provisioning log entry about it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum ProvisionState {
    /// The application holds it, enabled.
    Provisioned,
    /// The application holds it, disabled (it left scope, or sign-in is off).
    Disabled,
    /// The newest cycle looked at it and wrote nothing (out of scope, a role not provisioned...).
    Skipped,
    /// The newest attempt failed.
    Failed,
    /// Deleted from the application by a cycle.
    Removed,
    /// No cycle has looked at it yet.
    Pending,
}

impl ProvisionState {
    /// From the link's state ("active"/"disabled", none without a link) and the newest log
    /// entry's status and action. A failure newer than the link wins: the admin must see it.
    pub fn of(link: Option<&str>, status: Option<&str>, action: Option<&str>) -> Self {
        match (status, link) {
            (Some("Failure"), _) => Self::Failed,
            (_, Some("active")) => Self::Provisioned,
            (_, Some(_)) => Self::Disabled,
            (Some("Skipped"), None) => Self::Skipped,
            (Some(_), None) if action == Some("Delete") => Self::Removed,
            // A success without a link: written by provision on demand and forgotten since, or
            // the link was reset by Restart (Full); the next cycle decides.
            _ => Self::Pending,
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Self::Provisioned => "Provisioned",
            Self::Disabled => "Disabled in the application",
            Self::Skipped => "Skipped",
            Self::Failed => "Failed",
            Self::Removed => "Removed from the application",
            Self::Pending => "Not provisioned yet",
        }
    }

    /// The badge's classes (the health badges' tints: the word says it, the tint repeats it).
    pub fn badge(self) -> &'static str {
        match self {
            Self::Provisioned => "health health-healthy",
            Self::Disabled | Self::Removed | Self::Pending => "health health-off",
            Self::Skipped => "health health-warning",
            Self::Failed => "health health-quarantine",
        }
    }
}

/// Provisioning's view of one assignment.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AssignmentState {
    pub state: ProvisionState,
    /// Why it was skipped or failed, as the log entry says.
    pub reason: String,
    /// The newest log entry about the user or group (id, time), for the link to it.
    pub entry: Option<(String, String)>,
    /// For a group: how many of its direct user members the application holds enabled, of how
    /// many.
    pub members: Option<(i64, i64)>,
}

/// A user or group the Add assignment page offers, with the roles it already has in the
/// application (empty: not assigned).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AssignCandidate {
    pub principal: super::PrincipalRef,
    pub enabled: bool,
    pub roles: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CandidatePage {
    pub rows: Vec<AssignCandidate>,
    /// More match than are shown: the search should be narrowed.
    pub more: bool,
}

/// An application and its roles, for choosing one (and a role) outside its own pages.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AppChoice {
    pub id: String,
    pub name: String,
    pub roles: Vec<super::AppRoleInfo>,
}

#[cfg(test)]
mod tests {
    use super::ProvisionState::{self, *};

    #[test]
    fn state_from_link_and_newest_entry() {
        let of = ProvisionState::of;
        assert_eq!(of(None, None, None), Pending);
        assert_eq!(of(Some("active"), Some("Success"), Some("Create")), Provisioned);
        assert_eq!(of(Some("active"), None, None), Provisioned);
        assert_eq!(of(Some("disabled"), Some("Success"), Some("Disable")), Disabled);
        assert_eq!(of(None, Some("Skipped"), Some("Create")), Skipped);
        // A failure newer than the link is what the admin must see.
        assert_eq!(of(Some("active"), Some("Failure"), Some("Update")), Failed);
        assert_eq!(of(None, Some("Failure"), Some("Create")), Failed);
        assert_eq!(of(None, Some("Success"), Some("Delete")), Removed);
        // Linked but skipped since (e.g. nothing to update): still provisioned.
        assert_eq!(of(Some("active"), Some("Skipped"), Some("Update")), Provisioned);
        assert_eq!(of(None, Some("Success"), Some("Create")), Pending);
    }
}
