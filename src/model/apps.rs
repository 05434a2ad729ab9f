//! Enterprise applications: gallery items, summaries, roles, mappings and assignments.

use super::PrincipalRef;
use serde::{Deserialize, Serialize};

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

/// A page of the applications list.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AppPage {
    pub rows: Vec<AppSummary>,
    /// How many applications match the search in all.
    pub total: i64,
    /// How many matching applications come before this page.
    pub offset: i64,
}

/// Applications shown on one page of the console's list.
pub const APP_PAGE: i64 = 50;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AppSummary {
    pub id: String,
    pub name: String,
    pub template: String,
    pub template_name: String,
    pub logo: String,
    pub provisioning_on: bool,
    pub health: super::AppHealth,
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
    pub provisioning: super::AssignmentState,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AssignmentPage {
    pub rows: Vec<AssignmentRow>,
    pub total: i64,
    pub offset: i64,
}
