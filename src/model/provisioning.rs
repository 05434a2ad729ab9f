//! An application's provisioning configuration (also the export format), and the results of
//! Test Connection and the expression tester.

use super::{ApplyOn, MappedObject, MappingKind, ProvisioningMode, ProvisioningStatus, SyncScope};
use serde::{Deserialize, Serialize};

/// An application's whole provisioning configuration: what the Provisioning page edits and what
/// `provisio app export` prints and `provisio app apply` reads. The secret token is never part of
/// it; [`ProvisioningView::token_set`] says whether one is stored.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProvisioningConfig {
    pub mode: ProvisioningMode,
    #[serde(default)]
    pub tenant_url: String,
    #[serde(default)]
    pub notification_email: String,
    #[serde(default)]
    pub notify_on_failure: bool,
    pub settings: ProvisioningSettings,
    /// The users mapping, then the groups mapping.
    pub mappings: Vec<ObjectMapping>,
    /// Adaptations to the application the admin forced or forbade (the rest are learned by
    /// trying); missing in configurations exported before it existed.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub compatibility: Vec<super::AdaptationRule>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProvisioningSettings {
    pub scope: SyncScope,
    pub provisioning_status: ProvisioningStatus,
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
    pub object: MappedObject,
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
    pub kind: MappingKind,
    /// The source attribute, the constant or the expression.
    #[serde(default)]
    pub source: String,
    #[serde(default)]
    pub default_value: String,
    /// Matching precedence; 0 when the attribute is not used for matching.
    #[serde(default)]
    pub matching: i64,
    #[serde(default = "apply_always")]
    pub apply_on: ApplyOn,
}

fn apply_always() -> ApplyOn {
    ApplyOn::Always
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
    /// An initial cycle ran before (a new application's first cycle is initial anyway: nothing
    /// "changed" then).
    pub initial_cycle_ran: bool,
    /// An SMTP server is set (failure emails wait in the outbox otherwise).
    pub smtp_configured: bool,
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
    /// After a successful test: what the application supports, one finding each (the probe).
    #[serde(default)]
    pub capabilities: Vec<String>,
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
