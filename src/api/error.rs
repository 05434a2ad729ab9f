use leptos::server_fn::codec::JsonEncoding;
use leptos::server_fn::error::{FromServerFnError, ServerFnErrorErr};
use serde::{Deserialize, Serialize};

/// The one error type of the console's server functions. Its `Display` is the message shown on the
/// form that caused it, so it never carries internals: server faults are logged and shown as
/// [`ApiError::Internal`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, thiserror::Error)]
pub enum ApiError {
    #[error("Your session has ended. Sign in again.")]
    Unauthenticated,
    #[error("Only Administrators can do this. Ask an Administrator if you need a change.")]
    Forbidden,
    #[error("This form has expired or did not come from this console. Reload the page and try again.")]
    Csrf,
    /// Invalid input; `field` names the form field the message belongs next to.
    #[error("{message}")]
    Invalid { field: Option<String>, message: String },
    #[error("{0}")]
    Conflict(String),
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    Throttled(String),
    #[error("Something went wrong on the server; it has been logged. Try again.")]
    Internal,
    #[error("The request could not be completed: {0}")]
    Transport(String),
}

impl ApiError {
    pub fn invalid(field: &str, message: impl Into<String>) -> Self {
        ApiError::Invalid {
            field: Some(field.to_string()),
            message: message.into(),
        }
    }

    /// The form field this error belongs to, if any.
    pub fn field(&self) -> Option<&str> {
        match self {
            ApiError::Invalid { field, .. } => field.as_deref(),
            _ => None,
        }
    }

    #[cfg(feature = "ssr")]
    pub fn status(&self) -> axum::http::StatusCode {
        use axum::http::StatusCode;
        match self {
            ApiError::Unauthenticated => StatusCode::UNAUTHORIZED,
            ApiError::Forbidden | ApiError::Csrf => StatusCode::FORBIDDEN,
            ApiError::Invalid { .. } | ApiError::Transport(_) => StatusCode::BAD_REQUEST,
            ApiError::Conflict(_) => StatusCode::CONFLICT,
            ApiError::NotFound(_) => StatusCode::NOT_FOUND,
            ApiError::Throttled(_) => StatusCode::TOO_MANY_REQUESTS,
            ApiError::Internal => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }
}

impl FromServerFnError for ApiError {
    type Encoder = JsonEncoding;

    fn from_server_fn_error(value: ServerFnErrorErr) -> Self {
        match value {
            ServerFnErrorErr::Args(m) | ServerFnErrorErr::MissingArg(m) => ApiError::Invalid {
                field: None,
                message: format!("The form was incomplete or malformed ({m})."),
            },
            other => ApiError::Transport(other.to_string()),
        }
    }
}

#[cfg(feature = "ssr")]
impl From<sqlx::Error> for ApiError {
    fn from(e: sqlx::Error) -> Self {
        tracing::error!(error = %e, "database error in a server function");
        ApiError::Internal
    }
}

#[cfg(feature = "ssr")]
impl From<tower_sessions::session::Error> for ApiError {
    fn from(e: tower_sessions::session::Error) -> Self {
        tracing::error!(error = %e, "session store error in a server function");
        ApiError::Internal
    }
}

#[cfg(feature = "ssr")]
impl From<crate::accounts::AccountError> for ApiError {
    fn from(e: crate::accounts::AccountError) -> Self {
        use crate::accounts::AccountError;
        match e {
            AccountError::Invalid { field, message } => ApiError::invalid(field, message),
            AccountError::NotFound(m) => ApiError::NotFound(m),
            AccountError::Conflict(m) => ApiError::Conflict(m),
            AccountError::Db(e) => e.into(),
        }
    }
}

#[cfg(feature = "ssr")]
impl From<crate::directory::DirError> for ApiError {
    fn from(e: crate::directory::DirError) -> Self {
        use crate::directory::DirError;
        match e {
            DirError::Invalid { field, message } => ApiError::Invalid {
                field: Some(field),
                message: capitalise(&message),
            },
            DirError::NotFound(m) => ApiError::NotFound(capitalise(&m)),
            DirError::Conflict(m) => ApiError::Conflict(capitalise(&m)),
            DirError::Db(e) => e.into(),
        }
    }
}

/// Service messages are written to follow a field name ("userPrincipalName: enter ..."); on a form
/// they stand alone as a sentence.
#[cfg(feature = "ssr")]
fn capitalise(m: &str) -> String {
    let mut c = m.chars();
    let mut out: String = c.next().map(|f| f.to_uppercase().collect()).unwrap_or_default();
    out.push_str(c.as_str());
    if !out.ends_with('.') {
        out.push('.');
    }
    out
}
