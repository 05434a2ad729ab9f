//! The SCIM 2.0 endpoint of each account, at `/gateway/api/scim/account/{account}` (the seed's
//! tenant URL) and `/gateway/ng/api/scim/account/{account}` (Harness's newer path).
//!
//! Everything here answers in SCIM terms: `application/scim+json`, RFC 7644 error bodies for every
//! failure (including unknown routes, wrong methods, oversized and malformed bodies), ETags.
//! Requests may arrive as `application/scim+json`, `application/json`, `text/json` or with no
//! content type at all, and without a User-Agent.

pub mod auth;
mod bulk;
pub mod query;
pub mod service;
pub mod turns;
mod writer;

use crate::scim::error::{ScimError, ScimResult, ScimType};
use crate::scim::resource::{self};
use crate::scim::schema::{self, Kind};
use crate::state::AppState;
use auth::{AuthRejection, Authed};
use axum::body::Bytes;
use axum::extract::rejection::{BytesRejection, QueryRejection};
use axum::extract::{DefaultBodyLimit, Path, Query, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use serde_json::Value;
use service::{Ctx, ListParams, Rendered};

pub const CONTENT_TYPE: &str = "application/scim+json";
/// The tenant URL paths; `{account}` is the account id.
pub const PATHS: [&str; 2] = [
    "/gateway/api/scim/account/{account}",
    "/gateway/ng/api/scim/account/{account}",
];

pub fn tenant_url(public_url: &str, account: &str) -> String {
    format!("{public_url}/gateway/api/scim/account/{account}")
}

fn scim_json(status: StatusCode, body: &Value) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, HeaderValue::from_static(CONTENT_TYPE))],
        body.to_string(),
    )
        .into_response()
}

/// A SCIM error as an HTTP response: its status and RFC 7644 body.
pub fn error_response(e: ScimError) -> Response {
    let status = StatusCode::from_u16(e.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    scim_json(status, &e.body())
}

impl IntoResponse for AuthRejection {
    fn into_response(self) -> Response {
        match self {
            AuthRejection::Unauthorized(u) => {
                let mut r = error_response(u.error);
                let challenge = if u.presented {
                    "Bearer realm=\"provisio\", error=\"invalid_token\""
                } else {
                    "Bearer realm=\"provisio\""
                };
                r.headers_mut()
                    .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static(challenge));
                r
            }
            AuthRejection::Busy => {
                let mut r = error_response(ScimError::new(
                    429,
                    None,
                    "this account has too many requests in progress; try again shortly",
                ));
                r.headers_mut()
                    .insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
                r
            }
            AuthRejection::Other(e) => error_response(e),
        }
    }
}

fn ctx<'a>(st: &'a AppState, a: &'a Authed) -> Ctx<'a> {
    Ctx {
        pool: &st.pool,
        rt: &st.scim,
        account: &a.account,
        base: &a.base,
        source: &a.key_name,
    }
}

fn body_json(body: Result<Bytes, BytesRejection>) -> ScimResult<Value> {
    let bytes = body.map_err(|e| {
        if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
            ScimError::new(
                413,
                None,
                format!(
                    "the request body is larger than {} bytes",
                    schema::BULK_MAX_PAYLOAD
                ),
            )
        } else {
            ScimError::bad(
                ScimType::InvalidSyntax,
                format!("the request body could not be read: {e}"),
            )
        }
    })?;
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Err(ScimError::bad(
            ScimType::InvalidSyntax,
            "the request body is empty",
        ));
    }
    let v = serde_json::from_slice(&bytes).map_err(|e| {
        ScimError::bad(
            ScimType::InvalidSyntax,
            format!("the request body is not valid JSON: {e}"),
        )
    })?;
    refuse_nul(&v)?;
    Ok(v)
}

fn query_pairs(q: Result<Query<Vec<(String, String)>>, QueryRejection>) -> ScimResult<Vec<(String, String)>> {
    q.map(|Query(v)| v)
        .map_err(|e| ScimError::invalid_value(format!("the query string is not valid: {e}")))
}

fn header_str(h: &HeaderMap, name: header::HeaderName) -> Option<&str> {
    h.get(name).and_then(|v| v.to_str().ok())
}

/// A single resource with its ETag (and `Location` on create).
fn resource_response(status: StatusCode, r: Rendered, created: bool) -> Response {
    let location = r.body["meta"]["location"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    let mut resp = scim_json(status, &r.body);
    if let Ok(v) = HeaderValue::from_str(&resource::etag(r.version)) {
        resp.headers_mut().insert(header::ETAG, v);
    }
    if created {
        if let Ok(v) = HeaderValue::from_str(&location) {
            resp.headers_mut().insert(header::LOCATION, v);
        }
    }
    resp
}

fn projected(kind: Kind, mut r: Rendered, pairs: &[(String, String)]) -> ScimResult<Rendered> {
    let p = ListParams::from_query(pairs)?;
    resource::project(kind, &mut r.body, &p.attributes, &p.excluded);
    Ok(r)
}

fn has_projection(pairs: &[(String, String)]) -> bool {
    pairs
        .iter()
        .any(|(k, _)| k.eq_ignore_ascii_case("attributes") || k.eq_ignore_ascii_case("excludedAttributes"))
}

async fn list(st: &AppState, a: &Authed, kind: Kind, pairs: Vec<(String, String)>) -> ScimResult<Response> {
    let p = ListParams::from_query(&pairs)?;
    let page = service::list(&ctx(st, a), kind, &p).await?;
    Ok(scim_json(StatusCode::OK, &page.body()))
}

async fn search(
    st: &AppState,
    a: &Authed,
    kind: Option<Kind>,
    body: Result<Bytes, BytesRejection>,
) -> ScimResult<Response> {
    let body = body_json(body)?;
    let p = ListParams::from_body(&body)?;
    let page = match kind {
        Some(k) => service::list(&ctx(st, a), k, &p).await?,
        None => service::search_all(&ctx(st, a), &p).await?,
    };
    Ok(scim_json(StatusCode::OK, &page.body()))
}

async fn create(
    st: &AppState,
    a: &Authed,
    kind: Kind,
    body: Result<Bytes, BytesRejection>,
) -> ScimResult<Response> {
    a.require_admin()?;
    let body = body_json(body)?;
    let r = service::create(&ctx(st, a), kind, &body).await?;
    Ok(resource_response(StatusCode::CREATED, r, true))
}

async fn get_one(
    st: &AppState,
    a: &Authed,
    kind: Kind,
    id: &str,
    h: &HeaderMap,
    pairs: Vec<(String, String)>,
) -> ScimResult<Response> {
    let r = service::get(&ctx(st, a), kind, id).await?;
    if let Some(inm) = header_str(h, header::IF_NONE_MATCH) {
        let current = resource::etag(r.version);
        if inm.split(',').map(str::trim).any(|t| t == "*" || t == current) {
            let mut resp = StatusCode::NOT_MODIFIED.into_response();
            if let Ok(v) = HeaderValue::from_str(&current) {
                resp.headers_mut().insert(header::ETAG, v);
            }
            return Ok(resp);
        }
    }
    Ok(resource_response(
        StatusCode::OK,
        projected(kind, r, &pairs)?,
        false,
    ))
}

async fn put_one(
    st: &AppState,
    a: &Authed,
    kind: Kind,
    id: &str,
    h: &HeaderMap,
    pairs: Vec<(String, String)>,
    body: Result<Bytes, BytesRejection>,
) -> ScimResult<Response> {
    a.require_admin()?;
    let body = body_json(body)?;
    let r = service::replace(&ctx(st, a), kind, id, &body, header_str(h, header::IF_MATCH)).await?;
    Ok(resource_response(
        StatusCode::OK,
        projected(kind, r, &pairs)?,
        false,
    ))
}

/// PATCH answers 200 with the resource for users and 204 for groups, unless the client asked for
/// specific attributes. Entra's documentation expects 204 for group PATCH (and a group with many
/// members is expensive to send back for every membership change); RFC 7644 allows either.
async fn patch_one(
    st: &AppState,
    a: &Authed,
    kind: Kind,
    id: &str,
    h: &HeaderMap,
    pairs: Vec<(String, String)>,
    body: Result<Bytes, BytesRejection>,
) -> ScimResult<Response> {
    a.require_admin()?;
    let body = body_json(body)?;
    let if_match = header_str(h, header::IF_MATCH);
    if kind == Kind::Group && !has_projection(&pairs) {
        let version = service::patch_version(&ctx(st, a), kind, id, &body, if_match).await?;
        let mut resp = StatusCode::NO_CONTENT.into_response();
        if let Ok(v) = HeaderValue::from_str(&resource::etag(version)) {
            resp.headers_mut().insert(header::ETAG, v);
        }
        return Ok(resp);
    }
    let r = service::patch(&ctx(st, a), kind, id, &body, if_match).await?;
    Ok(resource_response(
        StatusCode::OK,
        projected(kind, r, &pairs)?,
        false,
    ))
}

async fn delete_one(st: &AppState, a: &Authed, kind: Kind, id: &str, h: &HeaderMap) -> ScimResult<Response> {
    a.require_admin()?;
    service::delete(&ctx(st, a), kind, id, header_str(h, header::IF_MATCH)).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

fn respond(r: ScimResult<Response>) -> Response {
    r.unwrap_or_else(error_response)
}

type Pairs = Result<Query<Vec<(String, String)>>, QueryRejection>;
type Body = Result<Bytes, BytesRejection>;

macro_rules! resource_routes {
    ($kind:expr) => {{
        let collection = get(|a: Authed, State(st): State<AppState>, q: Pairs| async move {
            respond(async { list(&st, &a, $kind, query_pairs(q)?).await }.await)
        })
        .post(|a: Authed, State(st): State<AppState>, b: Body| async move {
            respond(create(&st, &a, $kind, b).await)
        });
        let search = post(|a: Authed, State(st): State<AppState>, b: Body| async move {
            respond(search(&st, &a, Some($kind), b).await)
        });
        let one =
            get(
                |a: Authed,
                 State(st): State<AppState>,
                 Path((_, id)): Path<(String, String)>,
                 h: HeaderMap,
                 q: Pairs| async move {
                    respond(async { get_one(&st, &a, $kind, &id, &h, query_pairs(q)?).await }.await)
                },
            )
            .put(
                |a: Authed,
                 State(st): State<AppState>,
                 Path((_, id)): Path<(String, String)>,
                 h: HeaderMap,
                 q: Pairs,
                 b: Body| async move {
                    respond(async { put_one(&st, &a, $kind, &id, &h, query_pairs(q)?, b).await }.await)
                },
            )
            .patch(
                |a: Authed,
                 State(st): State<AppState>,
                 Path((_, id)): Path<(String, String)>,
                 h: HeaderMap,
                 q: Pairs,
                 b: Body| async move {
                    respond(async { patch_one(&st, &a, $kind, &id, &h, query_pairs(q)?, b).await }.await)
                },
            )
            .delete(
                |a: Authed,
                 State(st): State<AppState>,
                 Path((_, id)): Path<(String, String)>,
                 h: HeaderMap| async move { respond(delete_one(&st, &a, $kind, &id, &h).await) },
            );
        (collection, search, one)
    }};
}

fn discovery(a: &Authed, what: &str, id: Option<&str>) -> ScimResult<Response> {
    let all = match what {
        "Schemas" => schema::schemas(&a.base),
        "ResourceTypes" => schema::resource_types(&a.base),
        _ => {
            return Ok(scim_json(
                StatusCode::OK,
                &schema::service_provider_config(&a.base),
            ))
        }
    };
    match id {
        Some(id) => all
            .into_iter()
            .find(|r| r["id"].as_str().is_some_and(|x| x.eq_ignore_ascii_case(id)))
            .map(|r| scim_json(StatusCode::OK, &r))
            .ok_or_else(|| ScimError::not_found(format!("{what} {id} not found"))),
        None => {
            let body = serde_json::json!({
                "schemas": [schema::LIST_RESPONSE],
                "totalResults": all.len(),
                "startIndex": 1,
                "itemsPerPage": all.len(),
                "Resources": all,
            });
            Ok(scim_json(StatusCode::OK, &body))
        }
    }
}

/// The routes of one account's endpoint, to be nested under each of [`PATHS`].
fn routes() -> Router<AppState> {
    let (users, users_search, user) = resource_routes!(Kind::User);
    let (groups, groups_search, group) = resource_routes!(Kind::Group);
    Router::new()
        .route("/Users", users)
        .route("/Users/.search", users_search)
        .route("/Users/{id}", user)
        .route("/Groups", groups)
        .route("/Groups/.search", groups_search)
        .route("/Groups/{id}", group)
        .route(
            "/.search",
            post(|a: Authed, State(st): State<AppState>, b: Body| async move {
                respond(search(&st, &a, None, b).await)
            }),
        )
        .route(
            "/Bulk",
            post(|a: Authed, State(st): State<AppState>, b: Body| async move {
                respond(bulk::run(&st, &a, b).await)
            }),
        )
        .route(
            "/ServiceProviderConfig",
            get(|a: Authed| async move { respond(discovery(&a, "ServiceProviderConfig", None)) }),
        )
        .route(
            "/Schemas",
            get(|a: Authed| async move { respond(discovery(&a, "Schemas", None)) }),
        )
        .route(
            "/Schemas/{id}",
            get(|a: Authed, Path((_, id)): Path<(String, String)>| async move {
                respond(discovery(&a, "Schemas", Some(&id)))
            }),
        )
        .route(
            "/ResourceTypes",
            get(|a: Authed| async move { respond(discovery(&a, "ResourceTypes", None)) }),
        )
        .route(
            "/ResourceTypes/{id}",
            get(|a: Authed, Path((_, id)): Path<(String, String)>| async move {
                respond(discovery(&a, "ResourceTypes", Some(&id)))
            }),
        )
        .fallback(|| async { error_response(ScimError::not_found("no such SCIM endpoint")) })
        .method_not_allowed_fallback(|| async {
            error_response(ScimError::new(
                405,
                None,
                "this method is not supported on this endpoint",
            ))
        })
        .layer(DefaultBodyLimit::max(schema::BULK_MAX_PAYLOAD))
}

/// Both tenant URL paths, ready to merge into the application router.
pub fn router() -> Router<AppState> {
    let mut r = Router::new();
    for p in PATHS {
        r = r.nest(p, routes());
    }
    r.layer(axum::middleware::from_fn(refuse_nul_in_uri))
        .layer(axum::middleware::from_fn(crate::metrics::http::track_scim))
}

/// No text of a request may hold the NUL character: PostgreSQL cannot store it, and one such
/// value in a group-committed batch would fail every create in the batch, other accounts' too.
/// Paths and queries are checked here (account and resource ids, filters), bodies in [`body_json`].
async fn refuse_nul_in_uri(req: axum::extract::Request, next: axum::middleware::Next) -> Response {
    if crate::input::uri_carries_nul(req.uri()) {
        return error_response(ScimError::invalid_value(
            "the request's path or query contains the NUL character (%00), which cannot be stored",
        ));
    }
    next.run(req).await
}

/// Refuses a document with the NUL character in any string or member name (see
/// [`refuse_nul_in_uri`]).
fn refuse_nul(v: &Value) -> ScimResult<()> {
    let bad = || {
        Err(ScimError::invalid_value(
            "a value contains the NUL character (\\u0000), which cannot be stored",
        ))
    };
    match v {
        Value::String(s) if s.contains('\0') => bad(),
        Value::Array(items) => items.iter().try_for_each(refuse_nul),
        Value::Object(o) => o
            .iter()
            .try_for_each(|(k, x)| if k.contains('\0') { bad() } else { refuse_nul(x) }),
        _ => Ok(()),
    }
}
