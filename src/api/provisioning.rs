//! An application's provisioning configuration: the Provisioning page (mode, Admin Credentials
//! with Test Connection, notifications, settings), the users and groups mappings with the Edit
//! attribute page and its expression tester, and scoping filters. Forms post their fields; a form
//! with two buttons (Save, Test) tells them apart by the button's `intent`.

// A server function takes one argument per form field, and these forms have many fields.
#![allow(clippy::too_many_arguments)]

use super::ApiError;
use crate::model::{ChangePreview, ConnectionResult, ExpressionSurvey, ExpressionTest, ProvisioningView};
use leptos::prelude::*;
use serde::{Deserialize, Serialize};

/// What a Save or Test Connection press produced.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct SaveOutcome {
    pub message: String,
    pub connection: Option<ConnectionResult>,
    pub expression: Option<ExpressionTest>,
    /// The expression tester's what-if over many users.
    #[serde(default)]
    pub survey: Option<ExpressionSurvey>,
    /// The expression the tester evaluated (unsaved): the page shown after a plain form post
    /// keeps it in the form, with its result.
    #[serde(default)]
    pub tested: Option<String>,
    /// Preview: what saving the form's change would make the next cycle do (nothing saved).
    #[serde(default)]
    pub change: Option<ChangePreview>,
    /// The attribute as the form had it when Preview was pressed (unsaved): the page shown after
    /// a plain form post shows it again.
    #[serde(default)]
    pub unsaved: Option<crate::model::AttributeMapping>,
}

pub use super::provisioning_on_demand::{
    provision_group_on_demand, provision_on_demand, take_on_demand_group_reports, take_on_demand_report,
    ProvisionGroupOnDemand, ProvisionOnDemand,
};
#[cfg(feature = "ssr")]
use super::provisioning_on_demand::{ON_DEMAND, ON_DEMAND_GROUP};

/// Session key of the outcome of a provisioning form posted without JavaScript (see
/// `guard::flash`).
#[cfg(feature = "ssr")]
pub const OUTCOME: &str = "provisioning_outcome";

/// Provision on demand shows its reports; the provisioning pages show a save's outcome.
#[cfg(feature = "ssr")]
pub(crate) async fn take_flashes(f: &mut super::guard::Flashes<'_>) {
    if f.path.contains("/provision-on-demand") {
        f.take::<crate::model::ProvisionReport>(ON_DEMAND).await;
        f.take::<Vec<crate::model::ProvisionReport>>(ON_DEMAND_GROUP)
            .await;
    }
    if f.path.contains("/provisioning") {
        f.take::<SaveOutcome>(OUTCOME).await;
    }
}

/// The outcome of the last plain form post of a provisioning form (Test Connection's result, the
/// expression tester's, "Saved"), for the page view that follows its redirect.
#[server(endpoint = "provisioning/flashed")]
pub async fn take_provisioning_outcome() -> Result<Option<SaveOutcome>, ApiError> {
    use ssr::*;
    guard::require(Role::Viewer)?;
    Ok(guard::flashed::<SaveOutcome>())
}

/// The note shown wherever mappings or scoping filters are edited.
pub const INITIAL_CYCLE_NOTE: &str = "Saving changes to mappings or scoping filters starts a new initial cycle: every user and group in scope is evaluated again.";

#[cfg(feature = "ssr")]
pub(super) mod ssr {
    pub(crate) use super::super::guard;
    use super::ApiError;
    pub use crate::model::{
        ApplyOn, AttributeMapping, MappedObject, MappingKind, NotAChoice, Role, ScopingClause, ScopingFilter,
    };
    pub use crate::provisioning::config;

    /// Who makes a change: an administrator for Save; for Preview (read-only) anyone signed in,
    /// and then nobody (`None`).
    pub async fn change_author(
        intent: &str,
        csrf: &str,
    ) -> Result<Option<crate::auth::session::CurrentUser>, ApiError> {
        match intent {
            "preview" => {
                guard::require(Role::Viewer)?;
                guard::csrf(csrf).await?;
                Ok(None)
            }
            _ => Ok(Some(guard::admin_change(csrf).await?)),
        }
    }

    /// Preview: what saving `change` would make the next cycle do, nothing saved; flashed for the
    /// page after a plain form post. `fields` maps a refused change onto the form's fields.
    pub async fn previewed(
        state: &crate::state::AppState,
        app: &str,
        change: impl FnOnce(&mut crate::model::ProvisioningConfig) -> Result<(), crate::directory::DirError>,
        fields: impl FnOnce(crate::directory::DirError) -> ApiError,
        unsaved: Option<AttributeMapping>,
    ) -> Result<super::SaveOutcome, ApiError> {
        let (config, changes) = config::changed(&state.pool, app, change).await.map_err(fields)?;
        let change = super::super::provisioning_preview::preview_change(state, app, config, changes).await?;
        let outcome = super::SaveOutcome {
            message: change.summary(),
            change: Some(change),
            unsaved,
            ..Default::default()
        };
        guard::flash(super::OUTCOME, &outcome).await?;
        Ok(outcome)
    }

    /// An expression short enough to be a valid one, kept for the page after a plain form post.
    pub fn kept_expression(e: &str) -> Option<String> {
        (e.chars().count() <= crate::mapping::expr::MAX_LEN).then(|| e.to_string())
    }

    pub fn checked(v: &str) -> bool {
        matches!(v, "on" | "true" | "1" | "yes")
    }

    pub fn number(field: &str, v: &str, what: &str) -> Result<i64, ApiError> {
        v.trim()
            .parse()
            .map_err(|_| ApiError::invalid(field, format!("{what} must be a whole number")))
    }

    /// The mapping a URL or form names: "user(s)" or "group(s)".
    pub fn object_kind(v: &str) -> Result<MappedObject, ApiError> {
        v.strip_suffix('s')
            .unwrap_or(v)
            .parse()
            .map_err(|e: NotAChoice| ApiError::invalid("object", e.to_string()))
    }

    /// A closed-set form field: missing keeps `current`; anything else must be one of the set.
    pub fn choice<T: std::str::FromStr<Err = NotAChoice>>(
        field: &str,
        posted: &str,
        current: T,
    ) -> Result<T, crate::directory::DirError> {
        if posted.trim().is_empty() {
            return Ok(current);
        }
        posted
            .parse()
            .map_err(|e: NotAChoice| crate::directory::invalid(field, e.to_string()))
    }

    /// An error about a path of the configuration (`user.scoping.0.1.value`) as an error on the
    /// form field its last part names, through `fields` (path part, form field); other errors
    /// are shown above the form.
    pub fn form_field(e: crate::directory::DirError, fields: &[(&str, &str)]) -> ApiError {
        match e {
            crate::directory::DirError::Invalid { field, message } => {
                let last = field.rsplit('.').next().unwrap_or_default();
                ApiError::Invalid {
                    field: fields
                        .iter()
                        .find(|(part, _)| *part == last)
                        .map(|(_, f)| f.to_string()),
                    message,
                }
            }
            other => other.into(),
        }
    }

    pub fn saved(changes: &[String], mappings: bool) -> String {
        match (changes.is_empty(), mappings) {
            (true, _) => "No changes to save.".into(),
            (false, true) => format!(
                "Saved ({} change{}). The next provisioning cycle is an initial cycle.",
                changes.len(),
                if changes.len() == 1 { "" } else { "s" }
            ),
            (false, false) => format!(
                "Saved ({} change{}).",
                changes.len(),
                if changes.len() == 1 { "" } else { "s" }
            ),
        }
    }
}

#[server(endpoint = "provisioning/get")]
pub async fn get_provisioning(app: String) -> Result<ProvisioningView, ApiError> {
    use ssr::*;
    let state = guard::state()?;
    guard::require(Role::Viewer)?;
    Ok(config::view(&state.pool, &app).await?)
}

/// The Provisioning page's form. `intent` "test" runs Test Connection with the values in the form
/// (the saved token when the field is empty) and saves nothing; anything else saves.
#[server(endpoint = "provisioning/save")]
pub async fn save_provisioning(
    csrf: String,
    app: String,
    #[server(default)] intent: String,
    mode: String,
    #[server(default)] tenant_url: String,
    #[server(default)] secret_token: String,
    #[server(default)] notification_email: String,
    #[server(default)] notify_on_failure: String,
    #[server(default)] scope: String,
    #[server(default)] provisioning_status: String,
    #[server(default)] prevent_deletions: String,
    #[server(default)] deletion_threshold: String,
    #[server(default)] skip_out_of_scope_deletions: String,
    #[server(default)] reconciliation_interval_minutes: String,
    #[server(default)] max_requests_per_second: String,
    #[server(default)] drift_check_hours: String,
    #[server(default)] drift_revert: String,
    #[server(default)] drift_adopt: String,
) -> Result<SaveOutcome, ApiError> {
    use ssr::*;
    let state = guard::state()?;
    let me = guard::admin_change(&csrf).await?;
    let token = (!secret_token.trim().is_empty()).then(|| secret_token.trim().to_string());
    if intent == "test" {
        let url = tenant_url.trim();
        let token = match token {
            Some(t) => t,
            None => {
                // The saved token is only sent to the URL it was saved with.
                let saved_url = config::export(&state.pool, &app).await?.tenant_url;
                let saved = config::secret_token(&state.pool, &state.sealer, &app).await?;
                match saved {
                    Some(t) if crate::provisioning::connection::same_endpoint(&saved_url, url) => t,
                    Some(_) => {
                        return Err(ApiError::invalid(
                            "secret_token",
                            "The Tenant URL differs from the saved one: enter the Secret Token to test it (the saved token is only sent to the URL it was saved with).",
                        ))
                    }
                    None => {
                        return Err(ApiError::invalid(
                            "secret_token",
                            "Enter the Secret Token to test the connection.",
                        ))
                    }
                }
            }
        };
        if url.is_empty() {
            return Err(ApiError::invalid(
                "tenant_url",
                "Enter the Tenant URL to test the connection.",
            ));
        }
        let result = crate::provisioning::connection::test(
            &state.outbound,
            url,
            &token,
            state.settings.outbound_timeout,
        )
        .await;
        let name = crate::db::apps::get(&state.pool, &app)
            .await?
            .map(|a| a.name)
            .unwrap_or_default();
        let outcome = if result.ok {
            crate::audit::Outcome::Success
        } else {
            crate::audit::Outcome::Failure
        };
        crate::audit::record(
            &state.pool,
            &guard::actor(&me),
            "app.test_connection",
            &name,
            outcome,
            &format!("{url}: {}", result.summary),
        )
        .await;
        let outcome = SaveOutcome {
            message: result.summary.clone(),
            connection: Some(result),
            ..Default::default()
        };
        guard::flash(OUTCOME, &outcome).await?;
        return Ok(outcome);
    }
    let threshold = number("deletion_threshold", &deletion_threshold, "The threshold")?;
    let interval = number(
        "reconciliation_interval_minutes",
        &reconciliation_interval_minutes,
        "The interval",
    )?;
    // Left out of the form (a script posting the older fields): unchanged.
    let rate = match max_requests_per_second.trim() {
        "" => None,
        v => Some(number("max_requests_per_second", v, "The limit")?),
    };
    let drift_hours = match drift_check_hours.trim() {
        "" => None,
        v => Some(number("drift_check_hours", v, "The interval")?),
    };
    let changes = config::update(
        &state.pool,
        &state.sealer,
        &app,
        token.as_deref(),
        &guard::actor(&me),
        |c| {
            c.mode = mode
                .parse()
                .map_err(|e: NotAChoice| crate::directory::invalid("mode", e.to_string()))?;
            c.tenant_url = tenant_url;
            c.notification_email = notification_email;
            c.notify_on_failure = checked(&notify_on_failure);
            let s = &mut c.settings;
            s.scope = choice("scope", &scope, s.scope)?;
            s.provisioning_status =
                choice("provisioning_status", &provisioning_status, s.provisioning_status)?;
            s.prevent_accidental_deletions = checked(&prevent_deletions);
            s.deletion_threshold = threshold;
            s.skip_out_of_scope_deletions = checked(&skip_out_of_scope_deletions);
            s.reconciliation_interval_minutes = interval;
            if let Some(rate) = rate {
                s.max_requests_per_second = rate;
            }
            if let Some(hours) = drift_hours {
                s.drift_check_hours = hours;
                // The policy's boxes are on the form with the interval.
                s.drift_revert = checked(&drift_revert);
                s.drift_adopt = checked(&drift_adopt);
            }
            Ok(())
        },
    )
    .await?;
    let outcome = SaveOutcome {
        message: saved(&changes, false),
        ..Default::default()
    };
    guard::flash(OUTCOME, &outcome).await?;
    Ok(outcome)
}

/// A mapping's own settings: enabled (groups only) and the target object actions.
#[server(endpoint = "provisioning/object")]
pub async fn save_object_mapping(
    csrf: String,
    app: String,
    object: String,
    #[server(default)] enabled: String,
    #[server(default)] action_create: String,
    #[server(default)] action_update: String,
    #[server(default)] action_delete: String,
) -> Result<String, ApiError> {
    use ssr::*;
    let state = guard::state()?;
    let me = guard::admin_change(&csrf).await?;
    let object = ssr::object_kind(&object)?;
    let changes = config::update(&state.pool, &state.sealer, &app, None, &guard::actor(&me), |c| {
        let m = config::object_mut(c, object)?;
        m.enabled = object == MappedObject::User || checked(&enabled);
        m.create = checked(&action_create);
        m.update = checked(&action_update);
        m.delete = checked(&action_delete);
        Ok(())
    })
    .await?;
    Ok(saved(&changes, !changes.is_empty()))
}

/// The Edit attribute page. `original` is the target being edited ("" adds a mapping). The
/// source field used depends on the mapping type. `intent` "test" evaluates the expression for
/// `test_user` with its trace, "survey" over the users in scope (`survey_size`: "all" or how many
/// of them); neither saves anything.
#[server(endpoint = "provisioning/attribute")]
pub async fn save_attribute(
    csrf: String,
    app: String,
    object: String,
    #[server(default)] intent: String,
    #[server(default)] original: String,
    kind: String,
    #[server(default)] source_attribute: String,
    #[server(default)] constant: String,
    #[server(default)] expression: String,
    #[server(default)] default_value: String,
    #[server(default)] matching: String,
    #[server(default)] precedence: String,
    #[server(default)] apply_on: String,
    target: String,
    #[server(default)] test_user: String,
    #[server(default)] survey_size: String,
) -> Result<SaveOutcome, ApiError> {
    use ssr::*;
    let state = guard::state()?;
    let object = ssr::object_kind(&object)?;
    if intent == "test" {
        guard::require(Role::Viewer)?;
        guard::csrf(&csrf).await?;
        let test = crate::provisioning::expression::test(&state.pool, &app, &expression, &test_user).await?;
        let message = match &test.error {
            Some(e) => format!("The expression failed: {e}"),
            None => "Expression evaluated.".to_string(),
        };
        let outcome = SaveOutcome {
            message,
            expression: Some(test),
            tested: kept_expression(&expression),
            ..Default::default()
        };
        guard::flash(OUTCOME, &outcome).await?;
        return Ok(outcome);
    }
    if intent == "survey" {
        guard::require(Role::Viewer)?;
        guard::csrf(&csrf).await?;
        use crate::provisioning::survey;
        let population = survey::Population::parse(&survey_size)?;
        let unique = checked(&matching) || survey::unique_target(&target);
        let survey = survey::survey(&state.pool, &app, &expression, population, unique).await?;
        let outcome = SaveOutcome {
            message: survey.summary(),
            survey: Some(survey),
            tested: kept_expression(&expression),
            ..Default::default()
        };
        guard::flash(OUTCOME, &outcome).await?;
        return Ok(outcome);
    }
    // Preview builds the change exactly as Save does and shows what it would do.
    let me = change_author(&intent, &csrf).await?;
    let precedence = if checked(&matching) {
        let p = number(
            "precedence",
            if precedence.trim().is_empty() {
                "1"
            } else {
                &precedence
            },
            "Matching precedence",
        )?;
        if p < 1 {
            return Err(ApiError::invalid(
                "precedence",
                "Matching precedence starts at 1.",
            ));
        }
        p
    } else {
        0
    };
    let kind: MappingKind = kind
        .parse()
        .map_err(|e: NotAChoice| ApiError::invalid("kind", e.to_string()))?;
    let apply_on = choice("apply_on", &apply_on, ApplyOn::Always)?;
    let mut mapping = AttributeMapping {
        target,
        source: match kind {
            MappingKind::Direct => source_attribute,
            MappingKind::Constant => constant,
            MappingKind::Expression => expression,
            MappingKind::None => String::new(),
        },
        kind,
        default_value,
        matching: precedence,
        apply_on,
    };
    // Field errors of the dialog name the dialog's fields.
    config::normalize_attribute(object, &mut mapping).map_err(|e| match e {
        crate::directory::DirError::Invalid { field, message } => {
            let field = match (field.as_str(), mapping.kind) {
                ("source", MappingKind::Direct) => "source_attribute",
                ("source", MappingKind::Constant) => "constant",
                ("source", MappingKind::Expression) => "expression",
                ("matching", _) => "precedence",
                (f, _) => f,
            };
            ApiError::invalid(field, message)
        }
        other => other.into(),
    })?;
    let original = original.trim().to_string();
    let unsaved = mapping.clone();
    let change = move |c: &mut crate::model::ProvisioningConfig| {
        let m = config::object_mut(c, object)?;
        if original.is_empty() {
            m.attributes.push(mapping);
        } else {
            let slot = m
                .attributes
                .iter_mut()
                .find(|a| a.target == original)
                .ok_or_else(|| {
                    crate::directory::DirError::NotFound(format!(
                        "the mapping of {original} no longer exists"
                    ))
                })?;
            *slot = mapping;
        }
        Ok(())
    };
    // A whole-configuration error about this attribute belongs next to the dialog's fields.
    let fields = |e| form_field(e, &[("matching", "precedence"), ("target", "target")]);
    let Some(me) = me else {
        return previewed(&state, &app, change, fields, Some(unsaved)).await;
    };
    let changes = config::update(&state.pool, &state.sealer, &app, None, &guard::actor(&me), change)
        .await
        .map_err(fields)?;
    if !changes.is_empty() {
        leptos_axum::redirect(&format!("/apps/{app}/provisioning/{object}"));
    }
    Ok(SaveOutcome {
        message: saved(&changes, true),
        ..Default::default()
    })
}

#[server(endpoint = "provisioning/attribute/delete")]
pub async fn delete_attribute(
    csrf: String,
    app: String,
    object: String,
    target: String,
) -> Result<String, ApiError> {
    use ssr::*;
    let state = guard::state()?;
    let me = guard::admin_change(&csrf).await?;
    let object = ssr::object_kind(&object)?;
    let changes = config::update(&state.pool, &state.sealer, &app, None, &guard::actor(&me), |c| {
        let m = config::object_mut(c, object)?;
        let before = m.attributes.len();
        m.attributes.retain(|a| a.target != target);
        if m.attributes.len() == before {
            return Err(crate::directory::DirError::NotFound(format!(
                "{target} is not mapped"
            )));
        }
        Ok(())
    })
    .await?;
    Ok(saved(&changes, true))
}

#[server(endpoint = "provisioning/restore")]
pub async fn restore_default_mappings(csrf: String, app: String, object: String) -> Result<String, ApiError> {
    use ssr::*;
    let state = guard::state()?;
    let me = guard::admin_change(&csrf).await?;
    let object = ssr::object_kind(&object)?;
    let defaults = config::template_defaults(&state.pool, &app, object).await?;
    let changes = config::update(&state.pool, &state.sealer, &app, None, &guard::actor(&me), |c| {
        config::object_mut(c, object)?.attributes = defaults;
        Ok(())
    })
    .await?;
    Ok(saved(&changes, true))
}

/// Adds a clause to scoping filter `filter` (its position), or to a new filter when `filter` is
/// "new" (with `title`). `intent` "preview" shows what adding it would do instead (nothing saved;
/// Viewers may ask).
#[server(endpoint = "provisioning/scoping/add")]
pub async fn add_scoping_clause(
    csrf: String,
    app: String,
    object: String,
    #[server(default)] intent: String,
    filter: String,
    #[server(default)] title: String,
    attribute: String,
    operator: String,
    #[server(default)] value: String,
) -> Result<SaveOutcome, ApiError> {
    use ssr::*;
    let state = guard::state()?;
    let me = change_author(&intent, &csrf).await?;
    let object = ssr::object_kind(&object)?;
    let clause = ScopingClause {
        attribute,
        operator,
        value,
    };
    let change = move |c: &mut crate::model::ProvisioningConfig| {
        let m = config::object_mut(c, object)?;
        if filter == "new" {
            m.scoping_filters.push(ScopingFilter {
                title,
                clauses: vec![clause],
            });
        } else {
            let i: usize = filter
                .parse()
                .map_err(|_| crate::directory::invalid("filter", "choose a scoping filter"))?;
            m.scoping_filters
                .get_mut(i)
                .ok_or_else(|| crate::directory::invalid("filter", "that scoping filter no longer exists"))?
                .clauses
                .push(clause);
        }
        Ok(())
    };
    let fields = |e| {
        form_field(
            e,
            &[
                ("attribute", "attribute"),
                ("operator", "operator"),
                ("value", "value"),
                ("filter", "filter"),
            ],
        )
    };
    let Some(me) = me else {
        return previewed(&state, &app, change, fields, None).await;
    };
    let changes = config::update(&state.pool, &state.sealer, &app, None, &guard::actor(&me), change)
        .await
        .map_err(fields)?;
    Ok(SaveOutcome {
        message: saved(&changes, true),
        ..Default::default()
    })
}

/// Removes a clause; a filter left without clauses is removed with it. `clause` "all" removes
/// the whole filter.
#[server(endpoint = "provisioning/scoping/delete")]
pub async fn delete_scoping_clause(
    csrf: String,
    app: String,
    object: String,
    filter: usize,
    clause: String,
) -> Result<String, ApiError> {
    use ssr::*;
    let state = guard::state()?;
    let me = guard::admin_change(&csrf).await?;
    let object = ssr::object_kind(&object)?;
    let changes = config::update(&state.pool, &state.sealer, &app, None, &guard::actor(&me), |c| {
        let m = config::object_mut(c, object)?;
        let gone = || crate::directory::DirError::NotFound("that scoping filter no longer exists".into());
        let f = m.scoping_filters.get_mut(filter).ok_or_else(gone)?;
        if clause == "all" {
            f.clauses.clear();
        } else {
            let i: usize = clause.parse().map_err(|_| gone())?;
            if i >= f.clauses.len() {
                return Err(gone());
            }
            f.clauses.remove(i);
        }
        if f.clauses.is_empty() {
            m.scoping_filters.remove(filter);
        }
        Ok(())
    })
    .await?;
    Ok(saved(&changes, true))
}

/// Synchronization details: the job, its current cycle with progress, statistics and history.
#[server(endpoint = "provisioning/status")]
pub async fn sync_details(app: String) -> Result<crate::model::SyncDetails, ApiError> {
    use ssr::*;
    let state = guard::state()?;
    guard::require(Role::Viewer)?;
    Ok(crate::provisioning::status::details(&state.pool, &app).await?)
}

/// Restart provisioning: a new initial cycle; `reset` takes Graph's resetScope names, comma
/// separated (Watermark, Escrows, QuarantineState, Full, ForceDeletes; none = the first three).
/// "Allow deletes" is a restart with ForceDeletes.
#[server(endpoint = "provisioning/restart")]
pub async fn restart_provisioning(
    csrf: String,
    app: String,
    #[server(default)] reset: String,
) -> Result<String, ApiError> {
    use ssr::*;
    let state = guard::state()?;
    let me = guard::admin_change(&csrf).await?;
    let options = crate::provisioning::status::parse_reset(&[reset])?;
    crate::provisioning::status::restart(&state.pool, &app, &options, &guard::actor(&me)).await?;
    state.scheduler.wake();
    let message = if options.force_deletes {
        "Deletes allowed: the held deletions run in the next cycle."
    } else {
        "Provisioning restarted: the next cycle is an initial cycle."
    };
    guard::flash(
        OUTCOME,
        &SaveOutcome {
            message: message.into(),
            ..Default::default()
        },
    )
    .await?;
    Ok(message.into())
}
