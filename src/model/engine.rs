//! What the provisioning engine reports: steps, on-demand reports, the provisioning log, cycles,
//! synchronization details and failure notifications.

use serde::{Deserialize, Serialize};

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
    /// What it is doing (or last did): "users", "references", "deprovisions", "groups"; empty
    /// before its first phase.
    pub phase: String,
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
    /// What the engine adapted to in this application (its compatibility profile).
    pub adaptations: Vec<super::AdaptationInfo>,
    /// The application's requests-per-second limit (0: none).
    pub rate_limit: i64,
    /// The last drift check (scheduled or asked for), if any.
    #[serde(default)]
    pub drift: Option<super::DriftCheck>,
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

/// What a quarantine reason means, in the admin's words.
pub fn quarantine_text(reason: &str) -> &'static str {
    match reason {
        "TooManyDeletes" => "This cycle's disables and deletes exceed the accidental-deletion threshold; they are held. Review them in the provisioning logs (action StagedDelete), then choose Allow deletes, or correct the cause and restart provisioning.",
        "EncounteredQuarantineException" => "The application refused the credentials or did not answer like a SCIM endpoint. Check the Tenant URL and Secret Token with Test Connection, then restart provisioning.",
        "EncounteredEscrowProportionThreshold" => "More than 40% of provisioning operations failed. Look at the failures in the provisioning logs.",
        "EncounteredTotalEscrowThreshold" => "Too many provisioning operations failed. Look at the failures in the provisioning logs.",
        "EncounteredCycleFailureThreshold" => "The last cycle failed for most of the users and groups it acted on (at least 40% of 10 or more, or all of them). Look at the failures in the provisioning logs, correct the cause, then restart provisioning.",
        _ => "Provisioning is paused after failures.",
    }
}

/// What the next cycle would do (a preview: nothing was sent or saved).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct CyclePreview {
    /// The next cycle is initial (every object) rather than incremental (the changes).
    pub initial: bool,
    /// What it would count: created, updated, disabled, deleted, skipped, failed, staged.
    pub counters: CycleCounts,
    /// The accidental-deletion threshold would hold the cycle's deprovisions (and quarantine).
    pub held: bool,
    /// The threshold, when accidental-deletion prevention is on.
    pub threshold: Option<i64>,
    /// Why the cycle could not run or would stop (no tenant URL, credentials refused, ...).
    pub error: String,
    /// The log entries the cycle would write, in order (the first ones, up to the limit asked).
    pub entries: Vec<PreviewEntry>,
    /// All the entries it would write.
    pub total_entries: u64,
    /// Entries left out before those returned (a later page).
    #[serde(default)]
    pub offset: u64,
    pub elapsed_ms: u64,
    /// What the updates would change, attribute by attribute (over every object, not only the
    /// entries returned).
    #[serde(default)]
    pub attributes: Vec<AttributeEffect>,
}

/// How many objects an update would change one attribute of, and for how many of them the new
/// value is empty: "emails[type eq \"work\"].value: updates 9812 users; 3 would get an empty value".
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AttributeEffect {
    /// "user" or "group".
    pub object_type: String,
    pub attribute: String,
    pub updated: u64,
    pub emptied: u64,
}

impl AttributeEffect {
    /// The line the CLI and the console show.
    pub fn summary(&self) -> String {
        let noun = match (self.object_type.as_str(), self.updated) {
            ("group", 1) => "group",
            ("group", _) => "groups",
            (_, 1) => "user",
            _ => "users",
        };
        let mut line = format!("{}: updates {} {noun}", self.attribute, self.updated);
        if self.emptied > 0 {
            line.push_str(&format!("; {} would get an empty value", self.emptied));
        }
        line
    }
}

/// A configuration change not saved yet, and what the next cycle would do with it.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ChangePreview {
    /// The change, as the audit log would describe it (empty: it is what is saved).
    pub changes: Vec<String>,
    pub preview: CyclePreview,
}

impl ChangePreview {
    /// One sentence: what the change would do, or why nothing can be said.
    pub fn summary(&self) -> String {
        let p = &self.preview;
        if self.changes.is_empty() {
            return "Nothing changed: this is what is saved.".into();
        }
        if !p.error.is_empty() {
            return format!("The preview could not finish: {}", p.error);
        }
        let c = &p.counters;
        let kind = if p.initial { "initial cycle" } else { "next cycle" };
        let acted = c.created + c.updated + c.disabled + c.deleted;
        match acted {
            0 => format!("Saving this changes nothing in the application: the {kind} would create, update, disable or delete no object."),
            _ => format!(
                "Saving this, the {kind} would create {}, update {}, disable {} and delete {} (nothing is saved or sent yet).",
                c.created, c.updated, c.disabled, c.deleted
            ),
        }
    }
}

/// One object in a preview: the action and its attribute changes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PreviewEntry {
    /// "User" or "Group".
    pub object_type: String,
    pub source_id: String,
    pub display_name: String,
    /// The object's id in the application (`preview-N` for one it would create).
    pub target_id: String,
    /// Create, Update, Disable, Delete, StagedDelete, Other (skipped) ... as in the logs.
    pub action: String,
    pub status: String,
    /// Attribute, value before (as last sent or as found in the application), value to send;
    /// `[Redact]` where the mapping redacts.
    pub modified: Vec<ModifiedProperty>,
    /// Why it is skipped or would fail.
    pub reason: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ModifiedProperty {
    pub name: String,
    pub old: String,
    pub new: String,
}
