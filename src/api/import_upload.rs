//! The import upload: a multipart form post (a file does not fit a server function's form
//! encoding). It validates the file, keeps it with its preview, and sends the browser to the
//! preview page; nothing is imported until the admin confirms there.

use crate::auth::session::{csrf_matches, CurrentUser, SessionKeys};
use crate::directory::import::{self, Kind};
use crate::model::Role;
use crate::state::AppState;
use axum::extract::{Multipart, State};
use axum::response::{IntoResponse, Redirect, Response};
use axum::Extension;
use tower_sessions::Session;

fn back(message: &str) -> Response {
    let q = crate::urlenc::query_value(message);
    Redirect::to(&format!("/directory/import?error={q}")).into_response()
}

pub async fn upload(
    State(state): State<AppState>,
    Extension(user): Extension<CurrentUser>,
    session: Session,
    mut form: Multipart,
) -> Response {
    let (mut csrf, mut kind, mut file) = (String::new(), String::new(), None::<(String, Vec<u8>)>);
    loop {
        match form.next_field().await {
            Ok(Some(field)) => {
                let name = field.name().unwrap_or_default().to_string();
                let file_name = field.file_name().map(str::to_string);
                match field.bytes().await {
                    Ok(bytes) => match name.as_str() {
                        "csrf" => csrf = String::from_utf8_lossy(&bytes).into_owned(),
                        "kind" => kind = String::from_utf8_lossy(&bytes).into_owned(),
                        "file" => file = Some((file_name.unwrap_or_else(|| "upload".into()), bytes.to_vec())),
                        _ => {}
                    },
                    Err(e) => return back(&format!("The upload failed: {}", e.body_text())),
                }
            }
            Ok(None) => break,
            Err(e) => return back(&format!("The upload failed: {}", e.body_text())),
        }
    }
    let expected = session.get::<String>(SessionKeys::CSRF).await.ok().flatten();
    if !csrf_matches(expected.as_deref(), &csrf) {
        return back("This form has expired. Reload the page and try again.");
    }
    if user.role != Role::Administrator {
        return back("Only Administrators can import.");
    }
    let Some(kind) = Kind::parse(&kind) else {
        return back("Choose what the file holds: users or memberships.");
    };
    let Some((file_name, bytes)) = file.filter(|(_, b)| !b.is_empty()) else {
        return back("Choose a file to upload.");
    };
    let Ok(content) = String::from_utf8(bytes) else {
        return back("The file is not UTF-8 text. Save it as CSV UTF-8 or JSON lines.");
    };
    match import::stage(&state.pool, kind, &file_name, &content, &user.username).await {
        Ok(id) => Redirect::to(&format!("/directory/import/{id}")).into_response(),
        Err(e) => {
            tracing::error!(error = %e, "staging an import failed");
            back("The file could not be stored; it has been logged. Try again.")
        }
    }
}
