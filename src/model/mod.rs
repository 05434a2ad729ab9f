//! Types shared by the server and the browser: what server functions return. This file holds
//! the console's own (sessions, console users, audit, overview); the rest is by area, re-exported
//! here so `model::X` names each type wherever it lives.

mod accounts;
mod adaptation;
mod apps;
mod assignment;
mod audit_label;
mod choices;
mod directory;
mod drift;
mod engine;
mod health;
mod provisioning;

pub use accounts::*;
pub use adaptation::*;
pub use apps::*;
pub use assignment::*;
pub use audit_label::audit_action_label;
pub use choices::*;
pub use directory::*;
pub use drift::*;
pub use engine::*;
pub use health::*;
pub use provisioning::*;

use serde::{Deserialize, Serialize};
use std::fmt;

/// A console role. Administrators change configuration; Viewers only look.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Role {
    Administrator,
    Viewer,
}

impl Role {
    pub const ALL: [Role; 2] = [Role::Administrator, Role::Viewer];

    /// The stable name stored in the database and used in forms and on the command line.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Administrator => "administrator",
            Role::Viewer => "viewer",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Role::Administrator => "Administrator",
            Role::Viewer => "Viewer",
        }
    }

    pub fn parse(s: &str) -> Option<Role> {
        match s.trim().to_ascii_lowercase().as_str() {
            "administrator" | "admin" => Some(Role::Administrator),
            "viewer" => Some(Role::Viewer),
            _ => None,
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.label())
    }
}

/// Who is signed in, and the token that every state-changing form must echo back.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SessionInfo {
    pub user_id: String,
    pub username: String,
    pub role: Role,
    pub csrf: String,
}

impl SessionInfo {
    pub fn is_admin(&self) -> bool {
        self.role == Role::Administrator
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ConsoleUser {
    pub id: String,
    pub username: String,
    pub role: Role,
    pub disabled: bool,
    pub created_at: String,
    pub last_sign_in_at: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AuditEntry {
    pub id: i64,
    pub at: String,
    pub actor: String,
    pub action: String,
    pub target: String,
    pub outcome: String,
    pub detail: String,
    pub source_ip: String,
}

/// Filters of the audit log page; every field is optional and they are ANDed.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct AuditFilter {
    pub actor: Option<String>,
    pub action: Option<String>,
    pub outcome: Option<String>,
    /// Inclusive lower bound, `YYYY-MM-DD` (UTC).
    pub from: Option<String>,
    /// Inclusive upper bound, `YYYY-MM-DD` (UTC).
    pub to: Option<String>,
}

/// One page of the audit log, newest first. `before` pages by id (keyset), so a page costs the
/// same however long the log has grown.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AuditPage {
    pub entries: Vec<AuditEntry>,
    /// Pass as `before` to get the next (older) page; `None` on the last page.
    pub older: Option<i64>,
    pub actions: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Overview {
    pub version: String,
    pub database: String,
    pub console_users: i64,
    pub administrators: i64,
    pub sign_ins_24h: i64,
    pub failed_sign_ins_24h: i64,
    /// Directory users (not deleted), deleted users, groups.
    pub users: i64,
    pub deleted_users: i64,
    pub groups: i64,
    /// Enterprise applications, and how many have provisioning On.
    pub apps: i64,
    pub apps_provisioning: i64,
    /// Every application's provisioning health, worst first (then by name).
    pub health: Vec<AppHealthEntry>,
    pub recent: Vec<AuditEntry>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LoginContext {
    pub csrf: String,
}

/// "1 user", "3 users".
pub fn plural(n: i64, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

/// A paged list's status line: "56 accounts · 1–50 shown", or "6 accounts" when all are shown.
pub fn page_status(total: i64, offset: i64, shown: i64, one: &str, many: &str) -> String {
    match shown < total {
        true => format!(
            "{} · {}–{} shown",
            plural(total, one, many),
            offset + 1,
            offset + shown
        ),
        false => plural(total, one, many),
    }
}
