//! A client for any SCIM 2.0 endpoint, as the provisioning engine uses it: discovery of what the
//! target supports, lookups by a matching attribute, create, get, replace, patch and delete, with
//! retries (exponential backoff with jitter, `Retry-After` honoured) on what is worth retrying:
//! 429, 5xx, timeouts and connection failures. Errors carry Entra's error codes, so provisioning
//! logs speak the admin's language.

use serde_json::{json, Value};
use std::time::Duration;

const SCIM_JSON: &str = "application/scim+json";
const PATCH_OP: &str = "urn:ietf:params:scim:api:messages:2.0:PatchOp";
const BULK_REQUEST: &str = "urn:ietf:params:scim:api:messages:2.0:BulkRequest";

mod discovery;
mod gate;
pub use discovery::{Attributes, Capabilities, Declared, FilterCheck};
pub use gate::{Failure, Gate};

/// The resource type at the target: the SCIM protocol crate's.
pub use provisio_scim::schema::Kind;

/// How often and how patiently a request is retried.
#[derive(Debug, Clone)]
pub struct RetryPolicy {
    /// Attempts in all, the first included.
    pub attempts: u32,
    pub base: Duration,
    pub cap: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            attempts: 5,
            base: Duration::from_millis(200),
            cap: Duration::from_secs(30),
        }
    }
}

impl RetryPolicy {
    /// The wait before attempt `n + 1` (n >= 1): exponential with full jitter, or what the target
    /// asked for with `Retry-After` (bounded by the cap).
    pub fn delay(&self, n: u32, retry_after: Option<Duration>, jitter: f64) -> Duration {
        if let Some(r) = retry_after {
            return r.min(self.cap);
        }
        let exp = self.base.saturating_mul(1u32 << n.min(16));
        exp.min(self.cap)
            .mul_f64(jitter.clamp(0.0, 1.0))
            .max(self.base / 2)
    }
}

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ClientError {
    #[error("HTTP {status}: {detail}")]
    Http {
        status: u16,
        scim_type: Option<String>,
        detail: String,
        retry_after: Option<Duration>,
    },
    #[error("{0}")]
    Timeout(String),
    /// The target could not be reached: nothing was sent.
    #[error("{0}")]
    Connect(String),
    /// The request was sent but its answer was lost (the connection broke): the target may have
    /// applied it.
    #[error("{0}")]
    Broken(String),
    /// An answer that is not what SCIM promises (not JSON, no id, ...).
    #[error("{0}")]
    Incompatible(String),
}

impl ClientError {
    /// Worth another attempt: throttling, server errors, timeouts, connection failures. Not 501
    /// (Not Implemented) or 505: the same request gets the same answer.
    pub fn is_transient(&self) -> bool {
        match self {
            ClientError::Http { status, .. } => {
                *status == 429 || (*status >= 500 && !matches!(status, 501 | 505))
            }
            ClientError::Timeout(_) | ClientError::Connect(_) | ClientError::Broken(_) => true,
            ClientError::Incompatible(_) => false,
        }
    }

    /// Certainly not applied by the target, so even a create may be sent again: throttled,
    /// unavailable, or never connected.
    pub fn safe_to_repeat(&self) -> bool {
        matches!(
            self,
            ClientError::Http {
                status: 429 | 503,
                ..
            } | ClientError::Connect(_)
        )
    }

    /// The target refused the credentials: the job quarantines at once.
    pub fn is_unauthorized(&self) -> bool {
        matches!(
            self,
            ClientError::Http {
                status: 401 | 403,
                ..
            }
        )
    }

    /// Entra's error code for provisioning logs.
    pub fn code(&self) -> &'static str {
        match self {
            ClientError::Http {
                status: 401 | 403, ..
            } => "Unauthorized",
            ClientError::Http { status: 404, .. } => "InvalidAnchor",
            ClientError::Http { status: 409, .. } => "Conflict",
            ClientError::Http { status: 429, .. } => "TooManyRequests",
            ClientError::Http {
                status: 400 | 422, ..
            } => "UnprocessableEntity",
            ClientError::Http { status, .. } if *status >= 500 => "InternalServerError",
            ClientError::Http { .. } => "UnprocessableEntity",
            ClientError::Timeout(_) => "Timeout",
            ClientError::Connect(_) | ClientError::Broken(_) => "ConnectionFailure",
            ClientError::Incompatible(_) => "SystemForCrossDomainIdentityManagementServiceIncompatible",
        }
    }

    fn retry_after(&self) -> Option<Duration> {
        match self {
            ClientError::Http { retry_after, .. } => *retry_after,
            _ => None,
        }
    }
}

/// `Retry-After` as seconds or an HTTP date.
fn parse_retry_after(v: &str) -> Option<Duration> {
    let v = v.trim();
    if let Ok(s) = v.parse::<u64>() {
        return Some(Duration::from_secs(s));
    }
    let when = time::OffsetDateTime::parse(v, &time::format_description::well_known::Rfc2822).ok()?;
    let secs = (when - time::OffsetDateTime::now_utc()).whole_seconds();
    Some(Duration::from_secs(secs.max(0) as u64))
}

/// One SCIM target: its base URL, its bearer token, a shared HTTP client and the retry policy.
#[derive(Clone)]
pub struct Target {
    base: String,
    token: String,
    http: reqwest::Client,
    pub retry: RetryPolicy,
    /// Paces every request, retries included (the application's requests-per-second setting).
    limit: Option<Limiter>,
    /// Requests in flight at a time, fewer while the application fails under load.
    gate: Option<Gate>,
    /// A preview: reads go out, writes are not sent (see [`Target::dry_run`]); counts the ids
    /// given to resources it pretends to create.
    dry: Option<std::sync::Arc<std::sync::atomic::AtomicU64>>,
    /// The application this target is, for the outbound request metrics.
    app: Option<std::sync::Arc<str>>,
}

/// A requests-per-second budget, shared by everything that sends to one application.
pub type Limiter = std::sync::Arc<governor::DefaultDirectRateLimiter>;

/// A limiter allowing `per_second` requests each second (bursts up to that many); None for 0.
pub fn limiter(per_second: u32) -> Option<Limiter> {
    let rate = std::num::NonZeroU32::new(per_second)?;
    Some(std::sync::Arc::new(governor::RateLimiter::direct(
        governor::Quota::per_second(rate),
    )))
}

impl std::fmt::Debug for Target {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Target")
            .field("base", &self.base)
            .finish_non_exhaustive()
    }
}

impl Target {
    pub fn new(base: &str, token: &str, http: reqwest::Client) -> Self {
        Target {
            base: base.trim_end_matches('/').to_string(),
            token: token.to_string(),
            http,
            retry: RetryPolicy::default(),
            limit: None,
            gate: None,
            dry: None,
            app: None,
        }
    }

    /// The same target, counting its requests under application `app` (see `crate::metrics`).
    pub fn for_app(mut self, app: &str) -> Self {
        self.app = Some(app.into());
        self
    }

    /// The same target for a preview: lookups and reads are sent as usual; creates, replaces,
    /// PATCHes and deletes are not sent at all and answer as a compliant target would (a create
    /// returns what was posted with an id `preview-N`), so the engine carries a plan out without
    /// touching the application.
    pub fn dry_run(mut self) -> Self {
        self.dry = Some(Default::default());
        self
    }

    /// Whether this target only pretends to write (see [`Target::dry_run`]).
    pub fn is_dry_run(&self) -> bool {
        self.dry.is_some()
    }

    /// The id a dry run gives a resource it pretends to create.
    fn dry_id(&self) -> Option<String> {
        self.dry.as_ref().map(|n| {
            let n = n.fetch_add(1, std::sync::atomic::Ordering::Relaxed) + 1;
            format!("preview-{n}")
        })
    }

    /// The same target, with at most `max` requests in flight, fewer while it fails under load.
    pub fn gated(mut self, max: usize) -> Self {
        self.gate = Some(Gate::new(max));
        self
    }

    /// The same target, paced by `limit`.
    pub fn limited(mut self, limit: Option<Limiter>) -> Self {
        self.limit = limit;
        self
    }

    /// The tenant URL with path segments appended (each percent-encoded); a query the tenant URL
    /// carries (Entra's feature flags) stays after them.
    fn url(&self, segments: &[&str]) -> Result<reqwest::Url, ClientError> {
        let mut url = reqwest::Url::parse(&self.base)
            .map_err(|e| ClientError::Incompatible(format!("the tenant URL is invalid: {e}")))?;
        url.path_segments_mut()
            .map_err(|_| ClientError::Incompatible("the tenant URL cannot have a path".into()))?
            .pop_if_empty()
            .extend(segments);
        Ok(url)
    }

    /// Sends a request built by `build`, retrying transient failures; returns the status and the
    /// JSON body (Null when empty).
    async fn send(
        &self,
        build: impl Fn() -> Result<reqwest::RequestBuilder, ClientError>,
    ) -> Result<(u16, Value), ClientError> {
        self.send_with(build, true).await
    }

    /// [`Target::send`]; a request that is not `idempotent` (a create) is repeated only when the
    /// target certainly did not apply it, so a lost answer never makes a second object.
    async fn send_with(
        &self,
        build: impl Fn() -> Result<reqwest::RequestBuilder, ClientError>,
        idempotent: bool,
    ) -> Result<(u16, Value), ClientError> {
        let mut attempt = 1;
        loop {
            if let Some(limit) = &self.limit {
                limit.until_ready().await;
            }
            let slot = match &self.gate {
                Some(g) => Some(g.enter().await),
                None => None,
            };
            let result = self.once(build()?).await;
            drop(slot);
            if let Some(gate) = &self.gate {
                self.adapt(gate, &result, || request_hash(&build));
            }
            match result {
                Err(e)
                    if e.is_transient()
                        && (idempotent || e.safe_to_repeat())
                        && attempt < self.retry.attempts =>
                {
                    let delay = self.retry.delay(attempt, e.retry_after(), jitter());
                    tracing::debug!(attempt, error = %e, ?delay, "retrying a SCIM request");
                    tokio::time::sleep(delay).await;
                    attempt += 1;
                }
                other => return other,
            }
        }
    }

    /// Fewer requests at a time after a failure under load, more again after answers. `request`
    /// identifies the request (only computed for an ambiguous failure).
    fn adapt(&self, gate: &Gate, result: &Result<(u16, Value), ClientError>, request: impl FnOnce() -> u64) {
        let failure = match result {
            Err(ClientError::Http { status, .. }) => match status {
                429 | 503 => Some(Failure::Load),
                500 | 502 | 504 => Some(Failure::Ambiguous(request())),
                _ => None,
            },
            Err(e) if e.is_transient() => Some(Failure::Load),
            Err(_) | Ok(_) => None,
        };
        let Some(failure) = failure else {
            gate.answered();
            return;
        };
        if let Some(limit) = gate.failed(failure) {
            tracing::warn!(
                target_url = %self.base,
                limit,
                "the application is failing under load: {limit} request(s) at a time from now"
            );
        }
    }

    async fn once(&self, request: reqwest::RequestBuilder) -> Result<(u16, Value), ClientError> {
        let (http, request) = request
            .bearer_auth(&self.token)
            .header(reqwest::header::ACCEPT, SCIM_JSON)
            .build_split();
        let request = request.map_err(transport)?;
        // Names are checked as they resolve; a literal address here (see crate::outbound).
        crate::outbound::check_url(request.url()).map_err(ClientError::Incompatible)?;
        let response = http.execute(request).await;
        if let Some(app) = &self.app {
            crate::metrics::outbound(app, response.as_ref().ok().map(|r| r.status().as_u16()));
        }
        let response = response.map_err(transport)?;
        let status = response.status().as_u16();
        let retry_after = response
            .headers()
            .get(reqwest::header::RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(parse_retry_after);
        let text = response.text().await.map_err(transport)?;
        let body: Value = if text.trim().is_empty() {
            Value::Null
        } else {
            match serde_json::from_str(&text) {
                Ok(v) => v,
                Err(_) if status >= 400 => Value::String(text.chars().take(400).collect()),
                Err(e) => {
                    return Err(ClientError::Incompatible(format!(
                        "HTTP {status} with a body that is not JSON ({e})"
                    )))
                }
            }
        };
        if status >= 400 {
            let detail = match &body {
                Value::Object(o) => o
                    .get("detail")
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_string(),
                Value::String(s) => s.clone(),
                _ => String::new(),
            };
            return Err(ClientError::Http {
                status,
                scim_type: body.get("scimType").and_then(Value::as_str).map(str::to_string),
                detail,
                retry_after,
            });
        }
        Ok((status, body))
    }

    /// Resources whose `attribute` equals `value` (a SCIM `eq` filter; at most a few are expected).
    pub async fn find(&self, kind: Kind, attribute: &str, value: &str) -> Result<Vec<Value>, ClientError> {
        let mut url = self.url(&[kind.endpoint()])?;
        let quoted = serde_json::to_string(value).unwrap_or_default();
        url.query_pairs_mut()
            .append_pair("filter", &format!("{attribute} eq {quoted}"));
        let (_, v) = self.send(|| Ok(self.http.get(url.clone()))).await?;
        match v.get("Resources") {
            Some(Value::Array(list)) => Ok(list.clone()),
            None if v.get("totalResults").and_then(Value::as_u64) == Some(0) => Ok(Vec::new()),
            _ => Err(ClientError::Incompatible(
                "the lookup did not answer with a ListResponse".into(),
            )),
        }
    }

    /// Resources whose `attribute` equals any of `values`, in one request (`a eq "x" or a eq
    /// "y" ...`); None when the answer is paged (more matched than it holds), so the caller
    /// cannot tell what is missing.
    pub async fn find_any(
        &self,
        kind: Kind,
        attribute: &str,
        values: &[&str],
    ) -> Result<Option<Vec<Value>>, ClientError> {
        let mut url = self.url(&[kind.endpoint()])?;
        let filter = values
            .iter()
            .map(|v| format!("{attribute} eq {}", serde_json::to_string(v).unwrap_or_default()))
            .collect::<Vec<_>>()
            .join(" or ");
        url.query_pairs_mut()
            .append_pair("filter", &filter)
            .append_pair("count", &(values.len() * 2).to_string());
        let (_, v) = self.send(|| Ok(self.http.get(url.clone()))).await?;
        let total = v.get("totalResults").and_then(Value::as_u64);
        match v.get("Resources") {
            Some(Value::Array(list)) if total.is_none_or(|t| t as usize <= list.len()) => {
                Ok(Some(list.clone()))
            }
            Some(Value::Array(_)) => Ok(None),
            None if total == Some(0) => Ok(Some(Vec::new())),
            _ => Err(ClientError::Incompatible(
                "the lookup did not answer with a ListResponse".into(),
            )),
        }
    }

    /// One page of every resource of `kind`, from the 1-based `start_index`: the resources and
    /// the total the target reports (None when it does not say).
    pub async fn page(
        &self,
        kind: Kind,
        start_index: usize,
        count: Option<usize>,
    ) -> Result<(Vec<Value>, Option<u64>), ClientError> {
        let mut url = self.url(&[kind.endpoint()])?;
        url.query_pairs_mut()
            .append_pair("startIndex", &start_index.to_string());
        if let Some(count) = count {
            url.query_pairs_mut().append_pair("count", &count.to_string());
        }
        let (_, v) = self.send(|| Ok(self.http.get(url.clone()))).await?;
        let total = v.get("totalResults").and_then(Value::as_u64);
        match v.get("Resources") {
            Some(Value::Array(list)) => Ok((list.clone(), total)),
            None if total == Some(0) => Ok((Vec::new(), total)),
            _ => Err(ClientError::Incompatible(
                "the list of resources did not answer with a ListResponse".into(),
            )),
        }
    }

    pub async fn get(&self, kind: Kind, id: &str) -> Result<Value, ClientError> {
        let url = self.url(&[kind.endpoint(), id])?;
        Ok(self.send(|| Ok(self.http.get(url.clone()))).await?.1)
    }

    /// Creates a resource; returns it as the target stored it (with its `id`).
    pub async fn create(
        &self,
        kind: Kind,
        doc: &serde_json::Map<String, Value>,
    ) -> Result<Value, ClientError> {
        if let Some(id) = self.dry_id() {
            let mut v = with_schemas(kind, doc);
            v["id"] = Value::String(id);
            return Ok(v);
        }
        let url = self.url(&[kind.endpoint()])?;
        let v = self.post_once(url, with_schemas(kind, doc).to_string()).await?;
        if v.get("id").and_then(Value::as_str).is_none_or(str::is_empty) {
            return Err(ClientError::Incompatible(
                "the target created the resource but returned no id".into(),
            ));
        }
        Ok(v)
    }

    /// Creates several resources in one Bulk request (RFC 7644 3.7); each gets its own outcome,
    /// in order: the new id, or the error the target gave that operation. The request as a
    /// whole is repeated only when the target certainly did not apply it, as a single create.
    pub async fn create_many(
        &self,
        kind: Kind,
        docs: &[serde_json::Map<String, Value>],
    ) -> Result<Vec<Result<String, ClientError>>, ClientError> {
        if self.is_dry_run() {
            return Ok(docs.iter().filter_map(|_| self.dry_id()).map(Ok).collect());
        }
        let url = self.url(&["Bulk"])?;
        let path = format!("/{}", kind.endpoint());
        let operations: Vec<Value> = docs
            .iter()
            .enumerate()
            .map(|(i, d)| json!({"method": "POST", "path": path, "bulkId": i.to_string(), "data": with_schemas(kind, d)}))
            .collect();
        let body = json!({"schemas": [BULK_REQUEST], "Operations": operations}).to_string();
        let v = self.post_once(url, body).await?;
        bulk_outcomes(&v, docs.len())
    }

    /// POSTs `body`, repeated only when the target certainly did not apply it (it creates).
    async fn post_once(&self, url: reqwest::Url, body: String) -> Result<Value, ClientError> {
        let build = || {
            Ok(self
                .http
                .post(url.clone())
                .header(reqwest::header::CONTENT_TYPE, SCIM_JSON)
                .body(body.clone()))
        };
        Ok(self.send_with(build, false).await?.1)
    }

    /// Replaces a resource (PUT), for targets without PATCH.
    pub async fn replace(
        &self,
        kind: Kind,
        id: &str,
        doc: &serde_json::Map<String, Value>,
    ) -> Result<Value, ClientError> {
        let url = self.url(&[kind.endpoint(), id])?;
        let mut body = with_schemas(kind, doc);
        body["id"] = Value::String(id.to_string());
        if self.is_dry_run() {
            return Ok(body);
        }
        Ok(self
            .send(|| {
                Ok(self
                    .http
                    .put(url.clone())
                    .header(reqwest::header::CONTENT_TYPE, SCIM_JSON)
                    .body(body.to_string()))
            })
            .await?
            .1)
    }

    /// Applies PATCH operations (already in SCIM's JSON form).
    pub async fn patch(&self, kind: Kind, id: &str, operations: &[Value]) -> Result<(), ClientError> {
        if operations.is_empty() || self.is_dry_run() {
            return Ok(());
        }
        let url = self.url(&[kind.endpoint(), id])?;
        let body = json!({"schemas": [PATCH_OP], "Operations": operations});
        self.send(|| {
            Ok(self
                .http
                .patch(url.clone())
                .header(reqwest::header::CONTENT_TYPE, SCIM_JSON)
                .body(body.to_string()))
        })
        .await?;
        Ok(())
    }

    /// Deletes a resource; one that is already gone counts as deleted.
    pub async fn delete(&self, kind: Kind, id: &str) -> Result<(), ClientError> {
        if self.is_dry_run() {
            return Ok(());
        }
        let url = self.url(&[kind.endpoint(), id])?;
        match self.send(|| Ok(self.http.delete(url.clone()))).await {
            Ok(_) | Err(ClientError::Http { status: 404, .. }) => Ok(()),
            Err(e) => Err(e),
        }
    }
}

/// Each create's outcome in a Bulk response, by bulkId. An operation the response does not
/// mention is reported as a broken answer: the target may or may not have applied it.
fn bulk_outcomes(v: &Value, n: usize) -> Result<Vec<Result<String, ClientError>>, ClientError> {
    let ops = v
        .get("Operations")
        .and_then(Value::as_array)
        .ok_or_else(|| ClientError::Incompatible("the Bulk response has no Operations".into()))?;
    let mut out: Vec<Result<String, ClientError>> = (0..n)
        .map(|_| {
            Err(ClientError::Broken(
                "the Bulk response did not report this operation".into(),
            ))
        })
        .collect();
    for op in ops {
        let Some(i) = op
            .get("bulkId")
            .and_then(Value::as_str)
            .and_then(|b| b.parse::<usize>().ok())
            .filter(|i| *i < n)
        else {
            continue;
        };
        let status = match op.get("status") {
            Some(Value::String(s)) => s.trim().parse::<u16>().ok(),
            Some(Value::Number(n)) => n.as_u64().and_then(|n| u16::try_from(n).ok()),
            _ => None,
        };
        let response = op.get("response");
        out[i] = match status {
            Some(200..=299) => {
                let id = response
                    .and_then(|r| r.get("id"))
                    .and_then(Value::as_str)
                    .map(str::to_string)
                    .or_else(|| {
                        let location = op.get("location").and_then(Value::as_str)?;
                        let last = location.trim_end_matches('/').rsplit('/').next()?;
                        Some(last.to_string())
                    })
                    .filter(|id| !id.is_empty());
                id.ok_or_else(|| {
                    ClientError::Incompatible("the target created the resource but returned no id".into())
                })
            }
            Some(status) => Err(ClientError::Http {
                status,
                scim_type: response
                    .and_then(|r| r.get("scimType"))
                    .and_then(Value::as_str)
                    .map(str::to_string),
                detail: response
                    .and_then(|r| r.get("detail"))
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_string(),
                retry_after: None,
            }),
            None => Err(ClientError::Incompatible(
                "a Bulk operation's status is not an HTTP status".into(),
            )),
        };
    }
    Ok(out)
}

fn with_schemas(kind: Kind, doc: &serde_json::Map<String, Value>) -> Value {
    let mut body = serde_json::Map::new();
    let mut schemas = vec![Value::String(kind.core_urn().to_string())];
    for k in doc.keys().filter(|k| k.starts_with("urn:")) {
        schemas.push(Value::String(k.clone()));
    }
    body.insert("schemas".into(), Value::Array(schemas));
    for (k, v) in doc {
        body.insert(k.clone(), v.clone());
    }
    Value::Object(body)
}

fn transport(e: reqwest::Error) -> ClientError {
    if e.is_timeout() {
        ClientError::Timeout(format!("no answer in time: {e}"))
    } else if e.is_connect() {
        ClientError::Connect(format!("could not reach the target: {e}"))
    } else if e.is_request() || e.is_body() || e.is_decode() {
        // The connection broke after the request went out: worth another attempt, not a sign
        // of a target that does not speak SCIM; but the target may have applied the request.
        ClientError::Broken(format!("the connection broke before the answer arrived: {e}"))
    } else {
        ClientError::Incompatible(format!("the answer could not be read: {e}"))
    }
}

/// A request's identity for the gate: a hash of its method, URL and body (0 when it cannot be
/// built again).
fn request_hash(build: &impl Fn() -> Result<reqwest::RequestBuilder, ClientError>) -> u64 {
    use std::hash::{Hash, Hasher};
    let Some(request) = build().ok().and_then(|b| b.build().ok()) else {
        return 0;
    };
    let mut h = std::collections::hash_map::DefaultHasher::new();
    request.method().as_str().hash(&mut h);
    request.url().as_str().hash(&mut h);
    request.body().and_then(reqwest::Body::as_bytes).hash(&mut h);
    h.finish()
}

fn jitter() -> f64 {
    use rand::Rng;
    rand::thread_rng().gen_range(0.5..=1.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_to_the_cap_and_honours_retry_after() {
        let p = RetryPolicy {
            attempts: 5,
            base: Duration::from_millis(100),
            cap: Duration::from_secs(2),
        };
        assert_eq!(p.delay(1, None, 1.0), Duration::from_millis(200));
        assert_eq!(p.delay(3, None, 1.0), Duration::from_millis(800));
        assert_eq!(p.delay(10, None, 1.0), Duration::from_secs(2));
        assert!(p.delay(3, None, 0.0) >= Duration::from_millis(50));
        assert_eq!(
            p.delay(1, Some(Duration::from_secs(1)), 0.7),
            Duration::from_secs(1)
        );
        assert_eq!(
            p.delay(1, Some(Duration::from_secs(600)), 0.7),
            Duration::from_secs(2)
        );
    }

    #[test]
    fn retry_after_reads_seconds_and_dates() {
        assert_eq!(parse_retry_after("7"), Some(Duration::from_secs(7)));
        assert_eq!(
            parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT"),
            Some(Duration::ZERO)
        );
        assert_eq!(parse_retry_after("soon"), None);
    }

    #[test]
    fn bulk_outcomes_follow_bulk_ids_not_positions() {
        let v = json!({"Operations": [
            {"method": "POST", "bulkId": "2", "status": "409", "response": {"scimType": "uniqueness", "detail": "taken"}},
            {"method": "POST", "bulkId": "0", "status": "201", "location": "https://t/scim/v2/Users/abc"},
            {"method": "POST", "bulkId": "9", "status": "201", "location": "https://t/Users/zzz"},
        ]});
        let out = bulk_outcomes(&v, 3).unwrap();
        assert_eq!(out[0], Ok("abc".to_string()));
        assert!(
            matches!(&out[1], Err(ClientError::Broken(_))),
            "an operation left out may have been applied"
        );
        match &out[2] {
            Err(
                e @ ClientError::Http {
                    status: 409,
                    scim_type,
                    detail,
                    ..
                },
            ) => {
                assert_eq!(scim_type.as_deref(), Some("uniqueness"));
                assert_eq!(detail, "taken");
                assert_eq!(e.code(), "Conflict");
            }
            other => panic!("{other:?}"),
        }
        let with_body =
            json!({"Operations": [{"bulkId": "0", "status": 201, "response": {"id": "from-body"}}]});
        assert_eq!(
            bulk_outcomes(&with_body, 1).unwrap()[0],
            Ok("from-body".to_string())
        );
        assert!(bulk_outcomes(&json!({"detail": "no"}), 1).is_err());
    }

    #[test]
    fn errors_map_to_entra_codes() {
        let http = |status| ClientError::Http {
            status,
            scim_type: None,
            detail: String::new(),
            retry_after: None,
        };
        assert_eq!(http(401).code(), "Unauthorized");
        assert!(http(401).is_unauthorized() && !http(401).is_transient());
        assert_eq!(http(404).code(), "InvalidAnchor");
        assert_eq!(http(409).code(), "Conflict");
        assert!(http(429).is_transient() && http(503).is_transient() && !http(400).is_transient());
        assert_eq!(
            ClientError::Incompatible("x".into()).code(),
            "SystemForCrossDomainIdentityManagementServiceIncompatible"
        );
        assert!(ClientError::Timeout("x".into()).is_transient());
    }
}
