//! Test Connection: the request Entra sends to check a tenant URL and secret token,
//! `GET {tenantUrl}/Users?filter=userName eq "<random GUID>"`, and an explanation of whatever
//! came back (or did not), with what to do about it.

use crate::model::ConnectionResult;
use std::error::Error as _;
use std::time::{Duration, Instant};

/// How long Test Connection waits for an answer unless configured otherwise.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(15);

/// The longest target error detail shown.
const MAX_DETAIL: usize = 400;

#[allow(clippy::expect_used, reason = "the client's settings are static and valid")]
pub fn client(timeout: Duration) -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(timeout)
        .connect_timeout(timeout.min(Duration::from_secs(10)))
        // A redirect means the URL is not the endpoint; following it could send the token elsewhere.
        .redirect(reqwest::redirect::Policy::none())
        // Names resolve only to addresses the outbound policy allows (see crate::outbound).
        .dns_resolver(std::sync::Arc::new(crate::outbound::Resolver))
        .user_agent(concat!("provisio/", env!("CARGO_PKG_VERSION")))
        .build()
        .expect("a reqwest client with static settings builds")
}

/// Whether two Tenant URLs name the same endpoint (scheme and host in any case, a trailing slash
/// or not): the saved token may be sent to the one it was saved with, and to no other.
pub fn same_endpoint(a: &str, b: &str) -> bool {
    let norm = |u: &str| match reqwest::Url::parse(u.trim()) {
        Ok(url) => {
            let mut s = url.to_string();
            while s.ends_with('/') {
                s.pop();
            }
            s
        }
        Err(_) => u.trim().trim_end_matches('/').to_string(),
    };
    norm(a) == norm(b)
}

/// The `/Users` URL with Entra's probe filter.
fn probe_url(tenant_url: &str) -> Result<reqwest::Url, String> {
    let mut url = reqwest::Url::parse(tenant_url).map_err(|e| e.to_string())?;
    let path = format!("{}/Users", url.path().trim_end_matches('/'));
    url.set_path(&path);
    let guid = uuid::Uuid::now_v7();
    url.query_pairs_mut()
        .append_pair("filter", &format!("userName eq \"{guid}\""));
    Ok(url)
}

fn result(
    ok: bool,
    summary: impl Into<String>,
    status: Option<u16>,
    detail: String,
    hint: &str,
    started: Instant,
) -> ConnectionResult {
    ConnectionResult {
        ok,
        summary: summary.into(),
        status,
        detail,
        hint: hint.to_string(),
        elapsed_ms: started.elapsed().as_millis() as u64,
        capabilities: Vec::new(),
    }
}

/// The SCIM error's `detail` (or `scimType`), else the start of the body as plain text.
fn error_detail(body: &str) -> String {
    if let Ok(v) = serde_json::from_str::<serde_json::Value>(body) {
        for key in ["detail", "Detail", "message", "error_description", "error"] {
            if let Some(s) = v.get(key).and_then(|d| d.as_str()) {
                return clip(s);
            }
        }
    }
    clip(body)
}

fn clip(s: &str) -> String {
    let flat: String = s.chars().map(|c| if c.is_control() { ' ' } else { c }).collect();
    let flat = flat.split_whitespace().collect::<Vec<_>>().join(" ");
    if flat.chars().count() > MAX_DETAIL {
        format!("{}…", flat.chars().take(MAX_DETAIL).collect::<String>())
    } else {
        flat
    }
}

/// Why a request failed before an answer came, in an admin's words.
fn transport_failure(
    e: &reqwest::Error,
    url: &reqwest::Url,
    timeout: Duration,
    started: Instant,
) -> ConnectionResult {
    let host = url.host_str().unwrap_or_default().to_string();
    let port = url.port_or_known_default().unwrap_or(0);
    let mut chain = String::new();
    let mut source = e.source();
    while let Some(s) = source {
        chain.push_str(&s.to_string());
        chain.push(' ');
        source = s.source();
    }
    let lower = chain.to_lowercase();
    let detail = clip(&chain);
    if e.is_timeout() {
        return result(
            false,
            format!("No answer from {host} within {} seconds.", timeout.as_secs()),
            None,
            detail,
            "The endpoint accepted the connection but did not respond in time: check that the Tenant URL points at the application's SCIM endpoint and that the application is up.",
            started,
        );
    }
    if lower.contains("dns")
        || lower.contains("failed to lookup")
        || lower.contains("name or service not known")
        || lower.contains("no address")
    {
        return result(
            false,
            format!("The host name {host} could not be resolved."),
            None,
            detail,
            "Check the host name in the Tenant URL, and that this server can resolve it (DNS).",
            started,
        );
    }
    if lower.contains("invalidcontenttype") {
        return result(
            false,
            format!("The TLS connection to {host} failed: the endpoint does not speak TLS."),
            None,
            detail,
            "The endpoint answered in plain HTTP: if it really has no TLS, the Tenant URL starts with http://.",
            started,
        );
    }
    let tls_words = [
        "certificate",
        "tls",
        "handshake",
        "corrupt message",
        "unknownissuer",
        "peer is incompatible",
        "alert",
    ];
    if tls_words.iter().any(|w| lower.contains(w)) {
        return result(
            false,
            format!("The TLS connection to {host} failed."),
            None,
            detail,
            "The endpoint's certificate is not trusted by this server or does not match the host name: install the issuing CA in the system trust store, or fix the certificate.",
            started,
        );
    }
    if lower.contains("connection refused") {
        return result(
            false,
            format!("Nothing is listening at {host}:{port} (connection refused)."),
            None,
            detail,
            "Check the port in the Tenant URL and that the application is running.",
            started,
        );
    }
    if e.is_connect() {
        return result(
            false,
            format!("Could not connect to {host}:{port}."),
            None,
            detail,
            "Check the Tenant URL, and that a firewall or proxy does not block this server from reaching it.",
            started,
        );
    }
    result(
        false,
        format!("The request to {host} failed."),
        None,
        detail,
        "Check the Tenant URL and try again.",
        started,
    )
}

/// Sends Entra's probe with `token` and explains the outcome.
pub async fn test(
    client: &reqwest::Client,
    tenant_url: &str,
    token: &str,
    timeout: Duration,
) -> ConnectionResult {
    let started = Instant::now();
    if let Err(m) = super::config::check_tenant_url(tenant_url) {
        return result(
            false,
            "The Tenant URL is not valid.",
            None,
            m,
            "Enter the SCIM base URL the application gave you.",
            started,
        );
    }
    let url = match probe_url(tenant_url) {
        Ok(u) => u,
        Err(m) => {
            return result(
                false,
                "The Tenant URL is not valid.",
                None,
                m,
                "Enter the SCIM base URL the application gave you.",
                started,
            )
        }
    };
    if let Err(m) = crate::outbound::check_url(&url) {
        return result(
            false,
            "The Tenant URL's address is not allowed.",
            None,
            m,
            "Use the address the application gave you; link-local and cloud metadata addresses are refused.",
            started,
        );
    }
    let response = client
        .get(url.clone())
        .bearer_auth(token)
        .header(reqwest::header::ACCEPT, "application/scim+json, application/json")
        .send()
        .await;
    let response = match response {
        Ok(r) => r,
        Err(e) => return transport_failure(&e, &url, timeout, started),
    };
    let status = response.status();
    let code = Some(status.as_u16());
    let location = response
        .headers()
        .get(reqwest::header::LOCATION)
        .and_then(|l| l.to_str().ok())
        .map(str::to_string);
    let body = match response.text().await {
        Ok(b) => b,
        Err(e) => return transport_failure(&e, &url, timeout, started),
    };
    let detail = error_detail(&body);
    match status.as_u16() {
        200 => {
            let json: Option<serde_json::Value> = serde_json::from_str(&body).ok();
            let is_list = json.as_ref().is_some_and(|v| {
                v.get("Resources").is_some_and(|r| r.is_array())
                    || v.get("totalResults").is_some_and(|t| t.is_number())
            });
            if is_list {
                let capabilities = super::probe::describe(client, tenant_url, token).await;
                ConnectionResult {
                    capabilities,
                    ..result(
                        true,
                        "The supplied credentials are authorized to enable provisioning.",
                        code,
                        String::new(),
                        "",
                        started,
                    )
                }
            } else {
                result(
                    false,
                    "The Tenant URL answered, but not as a SCIM endpoint (no ListResponse).",
                    code,
                    detail,
                    "The tenant URL is not a SCIM endpoint: use the SCIM base URL (the one /Users is appended to), not the application's web address.",
                    started,
                )
            }
        }
        401 | 403 => result(
            false,
            format!("The application rejected the Secret Token (HTTP {}).", status.as_u16()),
            code,
            detail,
            "Check that the Secret Token is the full key, that it has not expired or been revoked, and that its permissions include admin (for Harness: an API key that inherits permissions from a group with Account Admin).",
            started,
        ),
        404 => result(
            false,
            "The Tenant URL was not found (HTTP 404).",
            code,
            detail,
            "The tenant URL is not a SCIM endpoint: check it character by character, including the account ID (for Harness: https://app.harness.io/gateway/api/scim/account/<your_harness_account_ID>).",
            started,
        ),
        301 | 302 | 303 | 307 | 308 => result(
            false,
            format!("The Tenant URL redirects (HTTP {}).", status.as_u16()),
            code,
            location.map(|l| format!("to {}", clip(&l))).unwrap_or_default(),
            "Use the address it redirects to as the Tenant URL: the Secret Token is never sent across a redirect.",
            started,
        ),
        429 => result(
            false,
            "The application is rate limiting requests (HTTP 429).",
            code,
            detail,
            "Wait a minute and test again; if it persists, ask the application's vendor about its rate limits.",
            started,
        ),
        s if s >= 500 => result(
            false,
            format!("The application failed to answer (HTTP {s})."),
            code,
            detail,
            "The endpoint had an internal error: try again later, and contact the application's vendor if it persists.",
            started,
        ),
        s => result(
            false,
            format!("The application refused the request (HTTP {s})."),
            code,
            detail,
            "The endpoint did not accept Entra's standard lookup (GET /Users with a userName filter): check that it is a SCIM 2.0 endpoint.",
            started,
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn probe_url_appends_users_and_encodes_the_filter() {
        let u = probe_url("https://app.harness.io/gateway/api/scim/account/abc/").unwrap();
        assert_eq!(u.path(), "/gateway/api/scim/account/abc/Users");
        let (k, v) = u.query_pairs().next().unwrap();
        assert_eq!(k, "filter");
        assert!(v.starts_with("userName eq \"") && v.ends_with('"'));
        let u = probe_url("https://x.example.com/scim?aadOptscim062020").unwrap();
        assert_eq!(u.path(), "/scim/Users");
        assert!(u.query().unwrap().starts_with("aadOptscim062020&filter="), "{u}");
    }

    #[test]
    fn details_come_from_scim_errors_or_the_body() {
        assert_eq!(
            error_detail(
                r#"{"schemas":["urn:ietf:params:scim:api:messages:2.0:Error"],"detail":"Invalid token","status":"401"}"#
            ),
            "Invalid token"
        );
        assert_eq!(
            error_detail("<html>\n<body>Not Found</body></html>"),
            "<html> <body>Not Found</body></html>"
        );
        assert_eq!(error_detail(&"x".repeat(1000)).chars().count(), MAX_DETAIL + 1);
    }
}
