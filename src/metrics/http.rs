//! Middleware that counts requests: every request by route family, SCIM requests also by account
//! and operation.

use axum::extract::Request;
use axum::http::Method;
use axum::middleware::Next;
use axum::response::Response;
use std::sync::{Arc, OnceLock};
use std::time::Instant;

/// Every request: its route family, status and time to the response head.
pub async fn track(req: Request, next: Next) -> Response {
    let family = super::RouteFamily::of(req.uri().path());
    let started = Instant::now();
    let res = next.run(req).await;
    super::http_request(family, res.status().as_u16(), started.elapsed());
    res
}

/// Where the SCIM endpoint's authentication leaves the account a request was authenticated for,
/// for [`track_scim`] to label the request with (an unauthenticated request names no account).
#[derive(Clone, Default)]
pub struct AuthenticatedAccount(Arc<OnceLock<String>>);

impl AuthenticatedAccount {
    pub fn set(&self, account: &str) {
        let _ = self.0.set(account.to_string());
    }
}

/// SCIM requests: by the account they were authenticated for, their operation and status.
pub async fn track_scim(mut req: Request, next: Next) -> Response {
    let operation = operation(req.method(), req.uri().path());
    let account = AuthenticatedAccount::default();
    req.extensions_mut().insert(account.clone());
    let res = next.run(req).await;
    super::scim_operation(
        account.0.get().map(String::as_str),
        operation,
        res.status().as_u16(),
    );
    res
}

/// The SCIM operation a request asks for, from its method and the path after the account.
pub fn operation(method: &Method, path: &str) -> &'static str {
    let rest = path
        .split_once("/account/")
        .and_then(|(_, r)| r.split_once('/'))
        .map(|(_, r)| r.trim_end_matches('/'))
        .unwrap_or_default();
    let mut parts = rest.split('/');
    let (first, second) = (parts.next().unwrap_or_default(), parts.next());
    let resource = matches!(first, "Users" | "Groups");
    match (method, first, second) {
        (&Method::POST, _, Some(".search")) | (&Method::POST, ".search", None) => "search",
        (&Method::POST, "Bulk", None) => "bulk",
        (&Method::POST, _, None) if resource => "create",
        (&Method::GET, _, None) if resource => "list",
        (&Method::GET, _, Some(_)) if resource => "get",
        (&Method::PUT, _, Some(_)) if resource => "replace",
        (&Method::PATCH, _, Some(_)) if resource => "patch",
        (&Method::DELETE, _, Some(_)) if resource => "delete",
        (&Method::GET, "ServiceProviderConfig" | "Schemas" | "ResourceTypes", _) => "discovery",
        _ => "other",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn operations_are_named_from_method_and_path() {
        let base = "/gateway/api/scim/account/abc";
        for (method, path, want) in [
            (Method::GET, "/Users", "list"),
            (Method::GET, "/Users/", "list"),
            (Method::POST, "/Users", "create"),
            (Method::GET, "/Groups/g1", "get"),
            (Method::PUT, "/Users/u1", "replace"),
            (Method::PATCH, "/Groups/g1", "patch"),
            (Method::DELETE, "/Users/u1", "delete"),
            (Method::POST, "/Users/.search", "search"),
            (Method::POST, "/.search", "search"),
            (Method::POST, "/Bulk", "bulk"),
            (Method::GET, "/Schemas/urn:x", "discovery"),
            (Method::GET, "/ServiceProviderConfig", "discovery"),
            (Method::GET, "/Nothing", "other"),
            (Method::PATCH, "/Users", "other"),
        ] {
            assert_eq!(
                operation(&method, &format!("{base}{path}")),
                want,
                "{method} {path}"
            );
        }
        assert_eq!(operation(&Method::GET, "/gateway/api/scim/account/abc"), "other");
    }
}
