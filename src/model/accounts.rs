//! SCIM accounts as the console shows them: roles, API keys, users and groups, resource details.

use serde::{Deserialize, Serialize};

/// The permission a user group grants on its SCIM account.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub enum AccountRole {
    None,
    /// Read users and user groups.
    AccountViewer,
    /// Manage users and user groups (what SCIM writes need).
    AccountAdmin,
}

impl AccountRole {
    pub const ALL: [AccountRole; 3] = [
        AccountRole::AccountAdmin,
        AccountRole::AccountViewer,
        AccountRole::None,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            AccountRole::None => "none",
            AccountRole::AccountViewer => "account_viewer",
            AccountRole::AccountAdmin => "account_admin",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            AccountRole::None => "No permissions",
            AccountRole::AccountViewer => "Account Viewer",
            AccountRole::AccountAdmin => "Account Admin",
        }
    }

    pub fn parse(s: &str) -> Option<AccountRole> {
        match s.trim().to_ascii_lowercase().replace([' ', '-'], "_").as_str() {
            "none" | "no_permissions" => Some(AccountRole::None),
            "account_viewer" | "viewer" => Some(AccountRole::AccountViewer),
            "account_admin" | "admin" => Some(AccountRole::AccountAdmin),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AccountSummary {
    pub id: String,
    pub name: String,
    pub created_at: String,
    pub tenant_url: String,
    pub users: i64,
    pub groups: i64,
    pub active_keys: i64,
}

/// A page of the accounts list.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AccountPage {
    pub rows: Vec<AccountSummary>,
    /// How many accounts match the search in all.
    pub total: i64,
    /// How many matching accounts come before this page.
    pub offset: i64,
}

/// Accounts shown on one page of the console's list.
pub const ACCOUNT_PAGE: i64 = 50;

/// Where a user group came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum GroupSource {
    /// Account Administrators, created with the account.
    BuiltIn,
    /// Made in the console.
    Local,
    /// Provisioned through the SCIM endpoint.
    Scim,
}

impl GroupSource {
    pub fn as_str(self) -> &'static str {
        match self {
            GroupSource::BuiltIn => "builtin",
            GroupSource::Local => "local",
            GroupSource::Scim => "scim",
        }
    }

    pub fn parse(s: &str) -> GroupSource {
        match s {
            "builtin" => GroupSource::BuiltIn,
            "scim" => GroupSource::Scim,
            _ => GroupSource::Local,
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            GroupSource::BuiltIn => "Built-in",
            GroupSource::Local => "Local",
            GroupSource::Scim => "SCIM",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UserGroupInfo {
    pub id: String,
    pub name: String,
    pub source: GroupSource,
    pub role: AccountRole,
    pub members: i64,
    pub external_id: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ApiKeyInfo {
    pub id: String,
    pub name: String,
    pub prefix: String,
    pub groups: Vec<String>,
    pub created_at: String,
    pub created_by: String,
    pub last_used_at: Option<String>,
    pub expires_at: Option<String>,
    pub revoked_at: Option<String>,
    /// Active, Expired or Revoked when it was read.
    pub status: String,
}

impl ApiKeyInfo {
    /// Active, Expired or Revoked, as of `now` (stored timestamp form).
    pub fn status(&self, now: &str) -> &'static str {
        if self.revoked_at.is_some() {
            "Revoked"
        } else if self.expires_at.as_deref().is_some_and(|e| e <= now) {
            "Expired"
        } else {
            "Active"
        }
    }
}

/// A freshly created API key: shown once, never again.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NewApiKey {
    pub name: String,
    pub key: String,
    pub tenant_url: String,
}

/// One row of an account's Users list.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ScimUserRow {
    pub id: String,
    pub user_name: String,
    pub display_name: Option<String>,
    pub email: Option<String>,
    pub active: Option<bool>,
    pub external_id: Option<String>,
    /// The API key that created it.
    pub source: Option<String>,
    pub last_modified: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ScimUserPage {
    pub rows: Vec<ScimUserRow>,
    pub total: i64,
    /// The id to continue after, when there are more rows.
    pub next: Option<String>,
}

/// A user or group as SCIM clients see it, with its memberships for the console.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ScimResourceDetail {
    pub id: String,
    pub name: String,
    /// The resource exactly as GET returns it, pretty-printed.
    pub json: String,
    /// (id, name) of the groups a user is in, or of a group's first members.
    pub related: Vec<(String, String)>,
    pub related_total: i64,
    pub source: Option<String>,
}

/// A page of an account's user groups.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UserGroupPage {
    pub rows: Vec<UserGroupInfo>,
    /// How many groups match the search in all.
    pub total: i64,
    /// How many matching groups come before this page.
    pub offset: i64,
}
