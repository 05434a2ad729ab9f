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
    /// Hours between scheduled drift checks (0: only when an administrator asks); missing in
    /// configurations exported before it existed.
    #[serde(default)]
    pub drift_check_hours: i64,
    /// Policy of scheduled drift checks: send the directory's values again to managed accounts
    /// changed in the application (otherwise they are only reported).
    #[serde(default)]
    pub drift_revert: bool,
    /// Policy of scheduled drift checks: link accounts Provisio does not manage to the directory
    /// user in scope they match (never one out of scope: that would disable it).
    #[serde(default)]
    pub drift_adopt: bool,
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
    /// How the value came about: each call in the order it was entered.
    #[serde(default)]
    pub trace: Vec<TraceStep>,
    /// The evaluation made more calls than the trace keeps.
    #[serde(default)]
    pub trace_cut: bool,
}

/// One call (or comparison) of an expression's evaluation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TraceStep {
    /// 0 for the outermost call.
    pub depth: u32,
    /// Function name, or the comparison's operator.
    pub name: String,
    /// The call as written (canonical form, shortened).
    pub text: String,
    /// Each argument's value; `None`: the function did not need it.
    pub args: Vec<Option<String>>,
    /// Arguments not shown.
    pub more_args: u32,
    /// The result, or the error.
    pub result: String,
    pub failed: bool,
}

/// One attribute of a mapping's what-if: its target and what its mapping gives over the users.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct AttributeSurvey {
    /// The target attribute, e.g. `userName`.
    pub target: String,
    pub survey: ExpressionSurvey,
}

/// What an expression gives over many users: the expression tester's what-if.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ExpressionSurvey {
    /// `Some(n)`: only the first n users in scope were asked for; `None`: all of them.
    pub limit: Option<u64>,
    /// More users were in scope than were evaluated.
    pub cut: bool,
    pub evaluated: u64,
    pub with_value: u64,
    /// Null or empty: nothing is sent (the default value on create, if any).
    pub empty: u64,
    /// IgnoreFlowIfNullOrEmpty left the attribute out.
    pub left_out: u64,
    pub errors: u64,
    pub distinct: u64,
    /// The target attribute must be unique (userName, externalId, a matching attribute).
    pub unique: bool,
    /// Values more than one user would get, and how many users get them.
    pub duplicated_values: u64,
    pub duplicated_users: u64,
    /// The most common values.
    pub common: Vec<SurveyValue>,
    /// The values more than one user would get, most shared first.
    pub duplicates: Vec<SurveyValue>,
    /// The first users whose evaluation failed: (userPrincipalName, error).
    pub failures: Vec<(String, String)>,
    /// The first users who get no value.
    pub empties: Vec<String>,
    /// Redact was used: values are not shown.
    pub redacted: bool,
}

impl ExpressionSurvey {
    /// One line: how many users were evaluated and what stands out.
    pub fn summary(&self) -> String {
        let users = |n: u64| {
            if n == 1 {
                "1 user".to_string()
            } else {
                format!("{n} users")
            }
        };
        let mut out = format!(
            "Evaluated for {}{}: {} with a value ({} distinct)",
            users(self.evaluated),
            if self.cut {
                " (the first in scope)"
            } else {
                " in scope"
            },
            self.with_value,
            self.distinct
        );
        if self.empty > 0 {
            out.push_str(&format!(", {} with none", self.empty));
        }
        if self.left_out > 0 {
            out.push_str(&format!(", {} left out", self.left_out));
        }
        if self.errors > 0 {
            out.push_str(&format!(", {} failed", self.errors));
        }
        if self.unique && self.duplicated_values > 0 {
            out.push_str(&format!(
                "; {} values would be shared by {} (the target attribute must be unique)",
                self.duplicated_values,
                users(self.duplicated_users)
            ));
        }
        out.push('.');
        out
    }
}

/// A value of an expression survey: how many users get it, and the first of them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SurveyValue {
    pub value: String,
    pub count: u64,
    pub users: Vec<String>,
}
