//! The directory as the console shows it: attribute definitions, users, groups, members, imports.

use serde::{Deserialize, Serialize};

/// How long deleted users can be restored, in words (the server's `directory::RESTORE_DAYS`).
pub const RESTORE_DAYS_LABEL: &str = "30 days";

/// A user attribute that forms, imports and mappings know by its Entra name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AttrDef {
    pub name: &'static str,
    pub label: &'static str,
    pub max: usize,
}

const fn attr(name: &'static str, label: &'static str, max: usize) -> AttrDef {
    AttrDef { name, label, max }
}

/// The string attributes of a directory user besides userPrincipalName, displayName, mail, manager
/// and accountEnabled, in the order forms show them.
pub const USER_ATTRS: &[AttrDef] = &[
    attr("givenName", "First name", 64),
    attr("surname", "Last name", 64),
    attr("mailNickname", "Mail nickname", 64),
    attr("jobTitle", "Job title", 128),
    attr("department", "Department", 64),
    attr("companyName", "Company name", 64),
    attr("employeeId", "Employee ID", 16),
    attr("officeLocation", "Office location", 128),
    attr("streetAddress", "Street address", 1024),
    attr("city", "City", 128),
    attr("state", "State or province", 128),
    attr("postalCode", "ZIP or postal code", 40),
    attr("country", "Country or region", 128),
    attr("telephoneNumber", "Business phone", 64),
    attr("mobile", "Mobile phone", 64),
    attr("facsimileTelephoneNumber", "Fax number", 64),
    attr("preferredLanguage", "Preferred language", 16),
    attr("extensionAttribute1", "Extension attribute 1", 1024),
    attr("extensionAttribute2", "Extension attribute 2", 1024),
    attr("extensionAttribute3", "Extension attribute 3", 1024),
    attr("extensionAttribute4", "Extension attribute 4", 1024),
    attr("extensionAttribute5", "Extension attribute 5", 1024),
    attr("extensionAttribute6", "Extension attribute 6", 1024),
    attr("extensionAttribute7", "Extension attribute 7", 1024),
    attr("extensionAttribute8", "Extension attribute 8", 1024),
    attr("extensionAttribute9", "Extension attribute 9", 1024),
    attr("extensionAttribute10", "Extension attribute 10", 1024),
    attr("extensionAttribute11", "Extension attribute 11", 1024),
    attr("extensionAttribute12", "Extension attribute 12", 1024),
    attr("extensionAttribute13", "Extension attribute 13", 1024),
    attr("extensionAttribute14", "Extension attribute 14", 1024),
    attr("extensionAttribute15", "Extension attribute 15", 1024),
];

/// The attributes stored in their own columns, with their form labels.
pub const CORE_USER_ATTRS: &[AttrDef] = &[
    attr("userPrincipalName", "User principal name", 113),
    attr("displayName", "Display name", 256),
    attr("mail", "Email", 256),
    attr("manager", "Manager", 256),
    attr("accountEnabled", "Account enabled", 5),
];

/// The canonical spelling of a user attribute name given in any case; `None` when unknown.
pub fn user_attr(name: &str) -> Option<&'static AttrDef> {
    CORE_USER_ATTRS
        .iter()
        .chain(USER_ATTRS)
        .find(|a| a.name.eq_ignore_ascii_case(name.trim()))
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DirUserRow {
    pub id: String,
    pub upn: String,
    pub display_name: String,
    pub mail: String,
    pub job_title: String,
    pub department: String,
    pub account_enabled: bool,
    pub deleted_at: Option<String>,
}

/// The users list's order: by display name or by userPrincipalName, either way ("name",
/// "-name", "upn", "-upn" in the address).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub enum UserSort {
    #[default]
    Name,
    NameDesc,
    Upn,
    UpnDesc,
}

impl UserSort {
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "" | "name" => Self::Name,
            "-name" => Self::NameDesc,
            "upn" => Self::Upn,
            "-upn" => Self::UpnDesc,
            _ => return None,
        })
    }

    pub fn param(self) -> &'static str {
        match self {
            Self::Name => "name",
            Self::NameDesc => "-name",
            Self::Upn => "upn",
            Self::UpnDesc => "-upn",
        }
    }

    pub fn descending(self) -> bool {
        matches!(self, Self::NameDesc | Self::UpnDesc)
    }

    pub fn by_upn(self) -> bool {
        matches!(self, Self::Upn | Self::UpnDesc)
    }

    /// The order a column's heading switches to: its own ascending, or descending when the list
    /// is already in its ascending order.
    pub fn toggled(self, upn: bool) -> Self {
        match (upn, self) {
            (false, Self::Name) => Self::NameDesc,
            (false, _) => Self::Name,
            (true, Self::Upn) => Self::UpnDesc,
            (true, _) => Self::Upn,
        }
    }
}

/// The groups list's order: by name or by direct member count, either way ("name", "-name",
/// "members", "-members" in the address).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub enum GroupSort {
    #[default]
    Name,
    NameDesc,
    Members,
    MembersDesc,
}

impl GroupSort {
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "" | "name" => Self::Name,
            "-name" => Self::NameDesc,
            "members" => Self::Members,
            "-members" => Self::MembersDesc,
            _ => return None,
        })
    }

    pub fn param(self) -> &'static str {
        match self {
            Self::Name => "name",
            Self::NameDesc => "-name",
            Self::Members => "members",
            Self::MembersDesc => "-members",
        }
    }

    pub fn descending(self) -> bool {
        matches!(self, Self::NameDesc | Self::MembersDesc)
    }

    pub fn by_members(self) -> bool {
        matches!(self, Self::Members | Self::MembersDesc)
    }

    /// What a heading switches to: names A to Z first, member counts largest first; the other
    /// way when the list is already in that order.
    pub fn toggled(self, members: bool) -> Self {
        match (members, self) {
            (false, Self::Name) => Self::NameDesc,
            (false, _) => Self::Name,
            (true, Self::MembersDesc) => Self::Members,
            (true, _) => Self::MembersDesc,
        }
    }
}

/// `aria-sort` for a column heading: whether the list is in its order, and which way.
pub fn aria_sort(active: bool, descending: bool) -> &'static str {
    match (active, descending) {
        (false, _) => "none",
        (true, false) => "ascending",
        (true, true) => "descending",
    }
}

/// How the users list narrows to one application's users.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum AppRelation {
    /// Assigned to it, directly or as a direct member of an assigned group.
    Assigned,
    /// Not assigned to it either way.
    NotAssigned,
    /// Held by it: the connector data store links the user, enabled.
    Provisioned,
    /// In its scope as the next cycle would decide it: assigned with a provisioned role (or
    /// everyone, when the application syncs all users), enabled, passing the scoping filters.
    InScope,
}

impl AppRelation {
    /// The filter's value in the address: "assigned:<app id>" and so on.
    pub fn parse(s: &str) -> Option<(Self, &str)> {
        let (r, app) = s.split_once(':')?;
        let r = match r {
            "assigned" => Self::Assigned,
            "unassigned" => Self::NotAssigned,
            "provisioned" => Self::Provisioned,
            "inscope" => Self::InScope,
            _ => return None,
        };
        (!app.is_empty()).then_some((r, app))
    }

    pub fn param(self, app: &str) -> String {
        let r = match self {
            Self::Assigned => "assigned",
            Self::NotAssigned => "unassigned",
            Self::Provisioned => "provisioned",
            Self::InScope => "inscope",
        };
        format!("{r}:{app}")
    }

    pub fn label(self, app: &str) -> String {
        match self {
            Self::Assigned => format!("Assigned to {app}"),
            Self::NotAssigned => format!("Not assigned to {app}"),
            Self::Provisioned => format!("Provisioned in {app}"),
            Self::InScope => format!("In scope of {app}"),
        }
    }
}

/// The keyset cursor of the users list: the last row's lower-cased display name (or
/// userPrincipalName, in that order) and id.
pub fn user_cursor(display_lower: &str, id: &str) -> String {
    format!("{display_lower}\u{1f}{id}")
}

pub fn parse_user_cursor(cursor: &str) -> (String, String) {
    match cursor.split_once('\u{1f}') {
        Some((d, id)) => (d.to_string(), id.to_string()),
        None => (cursor.to_string(), String::new()),
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DirUserPage {
    pub rows: Vec<DirUserRow>,
    pub total: i64,
    /// The cursor of the next page, when there is one.
    pub next: Option<String>,
}

/// A user or group named somewhere (a manager, a member, an assignee).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PrincipalRef {
    pub id: String,
    /// "user" or "group".
    pub kind: String,
    pub name: String,
    /// The UPN of a user, the description of a group.
    pub detail: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DirUser {
    pub id: String,
    pub upn: String,
    pub display_name: String,
    pub mail: String,
    pub account_enabled: bool,
    /// Every other non-empty attribute by Entra name.
    pub attrs: std::collections::BTreeMap<String, String>,
    pub manager: Option<PrincipalRef>,
    pub reports: Vec<PrincipalRef>,
    pub groups: Vec<PrincipalRef>,
    pub assignments: Vec<AppAssignmentRef>,
    pub created_at: String,
    pub updated_at: String,
    pub deleted_at: Option<String>,
    /// When a soft-deleted user will be purged.
    pub purge_at: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AppAssignmentRef {
    pub app_id: String,
    pub app_name: String,
    pub role: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DirGroupRow {
    pub id: String,
    pub display_name: String,
    pub description: String,
    pub members: i64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DirGroupPage {
    pub rows: Vec<DirGroupRow>,
    pub total: i64,
    pub offset: i64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DirMember {
    pub member: PrincipalRef,
    pub enabled: bool,
    /// A soft-deleted user, still a member until purged.
    pub deleted: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DirGroup {
    pub id: String,
    pub display_name: String,
    pub description: String,
    pub mail_nickname: String,
    pub members: Vec<DirMember>,
    pub member_total: i64,
    pub member_of: Vec<PrincipalRef>,
    pub assignments: Vec<AppAssignmentRef>,
    pub created_at: String,
    pub updated_at: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DirectoryCounts {
    pub users: i64,
    pub deleted_users: i64,
    pub groups: i64,
    pub last_change: i64,
}

/// What an uploaded import file will do, shown before the admin confirms it.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ImportPreview {
    pub id: String,
    /// "users" or "memberships".
    pub kind: String,
    pub file_name: String,
    pub format: String,
    /// Each column (CSV header or JSON key) and the attribute it maps to, or why it is refused.
    pub columns: Vec<ImportColumn>,
    /// The first rows as read, one cell per column.
    pub sample: Vec<Vec<String>>,
    pub rows: usize,
    pub creates: usize,
    pub updates: usize,
    pub new_groups: usize,
    pub memberships: usize,
    pub errors: Vec<ImportError>,
    /// How many errors there were in all (only the first ones are listed).
    pub error_total: usize,
    /// "staged", "running", "done" or "failed".
    pub status: String,
    pub result: String,
    pub progress: Option<(u64, u64)>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ImportColumn {
    pub header: String,
    pub attribute: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ImportError {
    /// 1-based line of the file.
    pub line: usize,
    pub message: String,
}

#[cfg(test)]
mod sort_tests {
    use super::{AppRelation, GroupSort, UserSort};

    #[test]
    fn sorts_and_app_filters_read_back_what_they_write() {
        for s in [
            UserSort::Name,
            UserSort::NameDesc,
            UserSort::Upn,
            UserSort::UpnDesc,
        ] {
            assert_eq!(UserSort::parse(s.param()), Some(s));
        }
        assert_eq!(UserSort::parse(""), Some(UserSort::Name));
        assert_eq!(UserSort::parse("mail"), None);
        assert_eq!(UserSort::Name.toggled(false), UserSort::NameDesc);
        assert_eq!(UserSort::NameDesc.toggled(false), UserSort::Name);
        assert_eq!(UserSort::NameDesc.toggled(true), UserSort::Upn);
        assert_eq!(UserSort::Upn.toggled(true), UserSort::UpnDesc);
        for r in [
            AppRelation::Assigned,
            AppRelation::NotAssigned,
            AppRelation::Provisioned,
        ] {
            assert_eq!(AppRelation::parse(&r.param("a1")), Some((r, "a1")));
        }
        for s in [
            GroupSort::Name,
            GroupSort::NameDesc,
            GroupSort::Members,
            GroupSort::MembersDesc,
        ] {
            assert_eq!(GroupSort::parse(s.param()), Some(s));
        }
        assert_eq!(GroupSort::Name.toggled(true), GroupSort::MembersDesc);
        assert_eq!(GroupSort::MembersDesc.toggled(true), GroupSort::Members);
        assert_eq!(GroupSort::parse("size"), None);
        assert_eq!(AppRelation::parse("assigned:"), None);
        assert_eq!(AppRelation::parse("owner:a1"), None);
        assert_eq!(AppRelation::parse("a1"), None);
    }
}
