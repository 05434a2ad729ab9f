//! Types shared by the server and the browser: what server functions return.

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
    pub recent: Vec<AuditEntry>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LoginContext {
    pub csrf: String,
}

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

// ---- Directory ----

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

/// The keyset cursor of the users list: the last row's lower-cased display name and id.
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

// ---- Enterprise applications ----

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AppRoleInfo {
    pub value: String,
    pub display_name: String,
    pub description: String,
    /// False for roles whose users provisioning skips (Harness's Default Access).
    pub provisioned: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GalleryItem {
    pub id: String,
    pub name: String,
    pub publisher: String,
    pub category: String,
    pub description: String,
    /// A data: URL of the logo.
    pub logo: String,
    pub tenant_url_hint: String,
    pub notes: Vec<String>,
    pub roles: Vec<AppRoleInfo>,
    pub user_mappings: usize,
    pub group_mappings: usize,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AppSummary {
    pub id: String,
    pub name: String,
    pub template: String,
    pub template_name: String,
    pub logo: String,
    pub provisioning_on: bool,
    pub users: i64,
    pub groups: i64,
    pub created_at: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AppDetail {
    pub summary: AppSummary,
    pub description: String,
    pub tenant_url_hint: String,
    pub notes: Vec<String>,
    pub roles: Vec<AppRoleInfo>,
    pub mappings: Vec<MappingInfo>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MappingInfo {
    /// "user" or "group".
    pub object: String,
    pub target: String,
    pub kind: String,
    pub source: String,
    pub matching: i64,
    pub apply_on: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AssignmentRow {
    pub id: String,
    pub principal: PrincipalRef,
    pub role: String,
    pub role_name: String,
    pub role_provisioned: bool,
    pub created_at: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AssignmentPage {
    pub rows: Vec<AssignmentRow>,
    pub total: i64,
    pub offset: i64,
}

// ---- Provisioning configuration ----

/// An application's whole provisioning configuration: what the Provisioning page edits and what
/// `provisio app export` prints and `provisio app apply` reads. The secret token is never part of
/// it; [`ProvisioningView::token_set`] says whether one is stored.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProvisioningConfig {
    /// "manual" or "automatic".
    pub mode: String,
    #[serde(default)]
    pub tenant_url: String,
    #[serde(default)]
    pub notification_email: String,
    #[serde(default)]
    pub notify_on_failure: bool,
    pub settings: ProvisioningSettings,
    /// The users mapping, then the groups mapping.
    pub mappings: Vec<ObjectMapping>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProvisioningSettings {
    /// "assigned" (Sync only assigned users and groups) or "all".
    pub scope: String,
    /// "on" or "off".
    pub provisioning_status: String,
    pub prevent_accidental_deletions: bool,
    pub deletion_threshold: i64,
    pub skip_out_of_scope_deletions: bool,
    pub reconciliation_interval_minutes: i64,
    /// Requests per second sent to the application (0: no limit); missing in configurations
    /// exported before it existed.
    #[serde(default)]
    pub max_requests_per_second: i64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ObjectMapping {
    /// "user" or "group".
    pub object: String,
    pub enabled: bool,
    /// The SCIM resource type written: "User" or "Group".
    pub target_object: String,
    pub create: bool,
    pub update: bool,
    pub delete: bool,
    pub attributes: Vec<AttributeMapping>,
    #[serde(default)]
    pub scoping_filters: Vec<ScopingFilter>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AttributeMapping {
    pub target: String,
    /// "direct", "constant", "expression" or "none".
    pub kind: String,
    /// The source attribute, the constant or the expression.
    #[serde(default)]
    pub source: String,
    #[serde(default)]
    pub default_value: String,
    /// Matching precedence; 0 when the attribute is not used for matching.
    #[serde(default)]
    pub matching: i64,
    /// "always" or "create" (Only during object creation).
    #[serde(default = "apply_always")]
    pub apply_on: String,
}

fn apply_always() -> String {
    "always".into()
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScopingFilter {
    #[serde(default)]
    pub title: String,
    pub clauses: Vec<ScopingClause>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScopingClause {
    pub attribute: String,
    /// Entra's operator name: EQUALS, NOT EQUALS, IS TRUE, ..., REGEX MATCH.
    pub operator: String,
    #[serde(default)]
    pub value: String,
}

/// The Provisioning page's data: the configuration plus what is not part of it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProvisioningView {
    pub config: ProvisioningConfig,
    pub token_set: bool,
    /// Mappings or scoping changed since the last initial cycle: the next cycle is an initial one.
    pub needs_initial_cycle: bool,
    pub updated_at: String,
    /// Source attributes mappings may read, per object ("user", "group").
    pub user_sources: Vec<String>,
    pub group_sources: Vec<String>,
}

/// What Test Connection found.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ConnectionResult {
    pub ok: bool,
    /// One line: "The supplied credentials are authorized..." or what went wrong.
    pub summary: String,
    /// The HTTP status, when an answer came.
    pub status: Option<u16>,
    /// The target's own error detail (its SCIM `detail`, or the start of its body).
    pub detail: String,
    /// What to do about it.
    pub hint: String,
    pub elapsed_ms: u64,
}

/// One result of the expression tester.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ExpressionTest {
    pub user: String,
    /// The value as the target would receive it (JSON), or empty when nothing flows.
    pub value: String,
    pub error: Option<String>,
    pub note: String,
}

// ---- Provisioning engine ----

/// One step of provisioning an object (import, scoping, matching, action), as provision on demand
/// and the provisioning log show it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProvisionStep {
    pub name: String,
    /// Success, Skipped or Failure.
    pub status: String,
    pub description: String,
    pub details: Vec<(String, String)>,
}

/// What provisioning one object did.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProvisionReport {
    pub display_name: String,
    pub source_id: String,
    pub target_id: String,
    /// Create, Update, Disable, Delete, Other.
    pub action: String,
    /// Success, Skipped, Failure.
    pub status: String,
    pub error_code: String,
    pub steps: Vec<ProvisionStep>,
}

/// One provisioning log entry as the list shows it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProvisionLogRow {
    pub id: String,
    pub app_id: String,
    pub app_name: String,
    pub cycle_id: Option<String>,
    pub at: String,
    pub duration_ms: i64,
    pub object_type: String,
    pub display_name: String,
    pub source_id: String,
    pub target_id: String,
    pub action: String,
    pub status: String,
    pub error_code: String,
}

/// A provisioning log entry with its steps, modified properties and error.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProvisionLogDetail {
    pub row: ProvisionLogRow,
    pub steps: Vec<ProvisionStep>,
    /// (name, old value, new value)
    pub modified: Vec<(String, String, String)>,
    pub error_reason: String,
    pub error_action: String,
}

/// Filters of the provisioning logs; empty (or absent) fields do not filter.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct ProvisionLogFilter {
    pub app: String,
    /// Display name (starts with), source id or target id.
    pub identity: String,
    pub action: String,
    pub status: String,
    /// Inclusive days, YYYY-MM-DD (UTC).
    pub from: String,
    pub to: String,
    pub cycle: String,
}

/// One page of provisioning logs, newest first; `older` continues it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProvisionLogPage {
    pub rows: Vec<ProvisionLogRow>,
    pub older: Option<String>,
    /// How long entries are kept.
    pub retention_days: i64,
}

/// A cycle's counts (Entra's task execution statistics).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct CycleCounts {
    /// Objects to evaluate: the progress denominator.
    pub total: i64,
    pub processed: i64,
    pub imported: i64,
    /// In scope.
    pub entitled: i64,
    pub created: i64,
    pub updated: i64,
    pub disabled: i64,
    pub deleted: i64,
    pub skipped: i64,
    /// Failed, into escrow.
    pub failed: i64,
    /// Deletions held by accidental-deletion prevention.
    pub staged: i64,
}

impl CycleCounts {
    /// Objects exported to the target.
    pub fn exported(&self) -> i64 {
        self.created + self.updated + self.disabled + self.deleted
    }
}

/// One provisioning cycle.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CycleInfo {
    /// The activity id.
    pub id: String,
    /// "initial" or "incremental".
    pub kind: String,
    pub began_at: String,
    pub ended_at: Option<String>,
    /// Running, Succeeded, EntryLevelErrors or Failed.
    pub state: String,
    pub duration_ms: Option<i64>,
    /// 0-100.
    pub percent: u8,
    pub counts: CycleCounts,
    pub error: String,
}

/// Synchronization details of an application's provisioning job.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SyncDetails {
    pub app_id: String,
    pub app_name: String,
    /// Provisioning Status On (and mode Automatic).
    pub on: bool,
    /// Empty until the job first runs.
    pub job_id: String,
    /// NotRun, Active, Paused, Quarantine or Disabled.
    pub state: String,
    pub quarantine_reason: String,
    pub quarantine_since: Option<String>,
    pub next_attempt: Option<String>,
    /// The latest cycle: running, or the last completed.
    pub current: Option<CycleInfo>,
    /// The last completed cycle.
    pub last_completed: Option<CycleInfo>,
    /// Newest first.
    pub history: Vec<CycleInfo>,
    pub users_managed: i64,
    pub groups_managed: i64,
    /// Every cycle's counts added up: statistics to date.
    pub totals: CycleCounts,
    /// Objects waiting in escrow for a retry.
    pub escrowed: i64,
    /// The next initial cycle is pending (new job, restart, configuration change).
    pub initial_pending: bool,
}

/// Settings > Notifications: the SMTP server failure emails go through (never its password) and
/// the latest emails of the outbox.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NotificationSettings {
    /// Empty: no SMTP server, emails wait in the outbox.
    pub host: String,
    pub port: i64,
    /// "none", "starttls" or "tls".
    pub tls: String,
    pub username: String,
    pub password_set: bool,
    pub from_address: String,
    pub updated_at: String,
    /// Emails not sent yet.
    pub pending: i64,
    pub outbox: Vec<OutboxEntry>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OutboxEntry {
    pub to_address: String,
    pub subject: String,
    pub created_at: String,
    pub attempts: i64,
    pub last_error: String,
    pub sent_at: Option<String>,
}
