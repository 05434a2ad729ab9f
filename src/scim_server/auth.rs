//! API keys: generation, hashing, and the `Authorization: Bearer` check of every SCIM request.
//!
//! A key is `pvs_` followed by 43 URL-safe characters (256 random bits). Only its SHA-256 is
//! stored; a fast hash is right here because the key is random and long, so there is nothing to
//! brute-force, and it lets the lookup be a single indexed equality. "Last used" is written at
//! most once a minute per key rather than on every request.

use crate::db::scim_accounts::{self, KeyGrant};
use crate::model::AccountRole;
use crate::scim::error::ScimError;
use crate::state::AppState;
use axum::extract::{FromRequestParts, RawPathParams};
use axum::http::request::Parts;
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

pub const KEY_PREFIX: &str = "pvs_";
/// How many leading characters of a key are kept to recognise it in lists.
const SHOWN_PREFIX: usize = 12;

/// A new random key, its displayed prefix and its hash.
pub fn generate_key() -> (String, String, String) {
    let key = format!("{KEY_PREFIX}{}", crate::auth::random_token::<32>());
    let prefix = key[..SHOWN_PREFIX].to_string();
    let hash = hash_key(&key);
    (key, prefix, hash)
}

pub fn hash_key(key: &str) -> String {
    format!("{:x}", Sha256::digest(key.as_bytes()))
}

/// A new account id: 22 URL-safe characters (128 random bits). Ids that start with `-` or `_`
/// are drawn again: a leading `-` reads as an option on command lines (`--account -bZd...`).
pub fn new_account_id() -> String {
    loop {
        let id = crate::auth::random_token::<16>();
        if id.starts_with(|c: char| c.is_ascii_alphanumeric()) {
            return id;
        }
    }
}

/// Remembers when each key's "last used" was last written.
#[derive(Default)]
pub struct LastUsed {
    written: Mutex<HashMap<String, Instant>>,
}

impl LastUsed {
    const EVERY: Duration = Duration::from_secs(60);

    fn due(&self, key: &str) -> bool {
        let mut map = self.written.lock().unwrap_or_else(|e| e.into_inner());
        let now = Instant::now();
        match map.get(key) {
            Some(t) if now.duration_since(*t) < Self::EVERY => false,
            _ => {
                map.insert(key.to_string(), now);
                true
            }
        }
    }
}

/// An authenticated SCIM request: the account and what the key may do there.
pub struct Authed {
    pub account: String,
    pub key_name: String,
    pub role: AccountRole,
    /// The base URL the request addressed, `{public_url}/gateway/.../account/{id}`.
    pub base: String,
    /// One of the account's turns, held until the request is answered (see `turns`).
    _turn: tokio::sync::OwnedSemaphorePermit,
}

impl Authed {
    pub fn require_admin(&self) -> Result<(), ScimError> {
        if self.role >= AccountRole::AccountAdmin {
            Ok(())
        } else {
            Err(ScimError::new(
                403,
                None,
                "the key's groups lack admin permissions: writing users and groups needs a key that inherits Account Admin (e.g. from Account Administrators)",
            ))
        }
    }
}

/// 401 with the reason; `presented` says whether a token came at all (for WWW-Authenticate).
pub struct Unauthorized {
    pub error: ScimError,
    pub presented: bool,
}

fn unauthorized(detail: &str, presented: bool) -> Unauthorized {
    Unauthorized {
        error: ScimError::new(401, None, detail),
        presented,
    }
}

pub enum AuthRejection {
    Unauthorized(Unauthorized),
    /// The account's turns stayed busy (see `turns`): 429 with Retry-After.
    Busy,
    Other(ScimError),
}

impl FromRequestParts<AppState> for Authed {
    type Rejection = AuthRejection;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let params = RawPathParams::from_request_parts(parts, state)
            .await
            .map_err(|_| AuthRejection::Other(ScimError::not_found("not found")))?;
        let account = params
            .iter()
            .find(|(k, _)| *k == "account")
            .map(|(_, v)| v.to_string())
            .ok_or_else(|| AuthRejection::Other(ScimError::not_found("not found")))?;
        let header = parts
            .headers
            .get(axum::http::header::AUTHORIZATION)
            .and_then(|h| h.to_str().ok())
            .map(str::trim);
        let token = match header {
            None | Some("") => return Err(AuthRejection::Unauthorized(unauthorized(
                "authentication required: send an API key of this account as 'Authorization: Bearer <key>'",
                false,
            ))),
            Some(h) => match h.split_once(' ') {
                Some((scheme, t)) if scheme.eq_ignore_ascii_case("bearer") && !t.trim().is_empty() => {
                    t.trim()
                }
                _ => {
                    return Err(AuthRejection::Unauthorized(unauthorized(
                        "the Authorization header must be 'Bearer <API key>'",
                        true,
                    )))
                }
            },
        };
        let grant: Option<KeyGrant> = scim_accounts::key_by_hash(&state.pool, &hash_key(token))
            .await
            .map_err(|e| AuthRejection::Other(super::service::internal(e)))?;
        let Some(grant) = grant else {
            return Err(AuthRejection::Unauthorized(unauthorized(
                "the API key is not valid",
                true,
            )));
        };
        if grant.revoked {
            return Err(AuthRejection::Unauthorized(unauthorized(
                "the API key has been revoked",
                true,
            )));
        }
        let now = crate::timefmt::now();
        if grant.expires_at.as_deref().is_some_and(|e| e <= now.as_str()) {
            return Err(AuthRejection::Unauthorized(unauthorized(
                "the API key has expired",
                true,
            )));
        }
        if grant.account_id != account {
            // Another account's URL: say nothing about whether it exists.
            return Err(AuthRejection::Other(ScimError::not_found("not found")));
        }
        if grant.role == AccountRole::None {
            return Err(AuthRejection::Other(ScimError::new(
                403,
                None,
                "the key's groups grant no permissions on this account: inherit a group with Account Viewer (read) or Account Admin (write)",
            )));
        }
        if let Some(slot) = parts
            .extensions
            .get::<crate::metrics::http::AuthenticatedAccount>()
        {
            slot.set(&account);
        }
        let turn = state.scim.turns.take(&account).await.ok_or(AuthRejection::Busy)?;
        if state.scim_last_used.due(&grant.key_id) {
            let pool = state.pool.clone();
            let key = grant.key_id.clone();
            tokio::spawn(async move {
                if let Err(e) = scim_accounts::touch_key(&pool, &key, &now).await {
                    tracing::warn!("could not record an API key's last use: {e}");
                }
            });
        }
        // Inside the nested router the URI has lost its prefix; the original one has it.
        let path = parts
            .extensions
            .get::<axum::extract::OriginalUri>()
            .map(|u| u.0.path().to_string())
            .unwrap_or_else(|| parts.uri.path().to_string());
        let path = path.as_str();
        let base_path = match path.find(&format!("/account/{account}")) {
            Some(i) => &path[..i + "/account/".len() + account.len()],
            None => path,
        };
        Ok(Authed {
            base: format!("{}{base_path}", state.settings.public_url),
            account,
            key_name: grant.key_name,
            role: grant.role,
            _turn: turn,
        })
    }
}
