//! An application's compatibility choices: an admin forces an adaptation (`always`, for an
//! application known to need it) or forbids it (`never`: the standard SCIM form only), or leaves
//! it to be learned (`auto`). Part of the provisioning configuration, so it is audited, exported
//! and applied with the rest, and it does not start a new initial cycle.

use super::ApiError;
use leptos::prelude::*;

#[server(endpoint = "provisioning/compatibility")]
pub async fn save_compatibility(
    csrf: String,
    app: String,
    adaptation: String,
    choice: String,
) -> Result<String, ApiError> {
    use super::guard;
    use super::provisioning::{SaveOutcome, OUTCOME};
    use crate::model::{Adaptation, AdaptationChoice, AdaptationRule, NotAChoice};
    let state = guard::state()?;
    let me = guard::admin_change(&csrf).await?;
    let adaptation: Adaptation = adaptation
        .parse()
        .map_err(|e: NotAChoice| ApiError::invalid("adaptation", e.to_string()))?;
    let choice: AdaptationChoice = choice
        .parse()
        .map_err(|e: NotAChoice| ApiError::invalid("choice", e.to_string()))?;
    let changes = crate::provisioning::config::update(
        &state.pool,
        &state.sealer,
        &app,
        None,
        &guard::actor(&me),
        |c| {
            c.compatibility.retain(|r| r.adaptation != adaptation);
            c.compatibility.push(AdaptationRule { adaptation, choice });
            Ok(())
        },
    )
    .await?;
    let message = match changes.is_empty() {
        true => "No changes to save.".to_string(),
        false => format!("Saved: {}.", changes.join("; ")),
    };
    guard::flash(
        OUTCOME,
        &SaveOutcome {
            message: message.clone(),
            ..Default::default()
        },
    )
    .await?;
    Ok(message)
}
