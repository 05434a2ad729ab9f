//! Small pieces every screen uses: error text, field errors, timestamps, the CSRF field.

use crate::api::ApiError;
use leptos::prelude::*;

/// "2026-11-28T10:55:46.123Z" -> "2026-11-28 10:55:46 UTC".
pub fn when(stored: &str) -> String {
    match (stored.get(..10), stored.get(11..19)) {
        (Some(d), Some(t)) => format!("{d} {t} UTC"),
        _ => stored.to_string(),
    }
}

#[component]
pub fn ErrorText(error: ApiError) -> impl IntoView {
    view! {
        <p class="alert alert-error" role="alert">
            {error.to_string()}
        </p>
    }
}

/// The error of an action's last run, when it did not belong to a particular field.
#[component]
pub fn ActionError<T>(value: Signal<Option<Result<T, ApiError>>>) -> impl IntoView
where
    T: Clone + Send + Sync + 'static,
{
    move || {
        value
            .get()
            .and_then(|r| r.err())
            .filter(|e| e.field().is_none())
            .map(|e| view! { <ErrorText error=e /> })
    }
}

/// The message for one field, shown under its input and linked to it for screen readers.
#[component]
pub fn FieldError<T>(value: Signal<Option<Result<T, ApiError>>>, field: &'static str) -> impl IntoView
where
    T: Clone + Send + Sync + 'static,
{
    move || {
        value
            .get()
            .and_then(|r| r.err())
            .filter(|e| e.field() == Some(field))
            .map(|e| {
                view! {
                    <p class="field-error" id=format!("{field}-error") role="alert">
                        {e.to_string()}
                    </p>
                }
            })
    }
}

/// `aria-invalid` for an input whose field has an error.
pub fn invalid<T: Clone + Send + Sync + 'static>(
    value: Signal<Option<Result<T, ApiError>>>,
    field: &'static str,
) -> impl Fn() -> Option<&'static str> + Send + Sync + Clone + 'static {
    move || {
        value
            .with(|v| matches!(v, Some(Err(e)) if e.field() == Some(field)))
            .then_some("true")
    }
}

/// The session's CSRF token, which every state-changing form must send.
#[component]
pub fn CsrfField() -> impl IntoView {
    let token = super::use_session().csrf;
    view! { <input type="hidden" name="csrf" value=token /> }
}

#[cfg(test)]
mod tests {
    #[test]
    fn when_formats_stored_timestamps() {
        assert_eq!(super::when("2026-11-28T10:55:46.123Z"), "2026-11-28 10:55:46 UTC");
        assert_eq!(super::when("garbage"), "garbage");
    }
}
