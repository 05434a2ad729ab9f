//! Test Connection's capability probe, after the connection itself worked: what the application
//! says it supports (ServiceProviderConfig, `/Schemas`, `/ResourceTypes`) and whether its lookups
//! can be trusted (one of its own users looked up by its own userName). Read-only: nothing is
//! created or changed in the application.

use crate::scim_client::{FilterCheck, Kind, Target};

/// One line per finding, in the admin's words.
pub async fn describe(client: &reqwest::Client, tenant_url: &str, token: &str) -> Vec<String> {
    let mut target = Target::new(tenant_url, token, client.clone());
    // Test Connection answers at once: no retries.
    target.retry.attempts = 1;
    let caps = match target.discover_now().await {
        Ok(c) => c,
        Err(e) => return vec![format!("Its ServiceProviderConfig could not be read: {e}.")],
    };
    let mut out = vec![
        match caps.patch {
            true => "PATCH: supported.".to_string(),
            false => "PATCH: not supported; changes are written with GET and PUT.".to_string(),
        },
        match caps.bulk {
            true => format!(
                "Bulk: supported, up to {} operations per request.",
                caps.bulk_max_operations
            ),
            false => "Bulk: not supported; one request per create.".to_string(),
        },
        match &caps.declared.users {
            // Four of the names are SCIM's common attributes (id, externalId, meta, schemas).
            Some(a) => format!(
                "Schemas: {} user attributes declared{}; others are not sent.{}",
                a.core.len().saturating_sub(4),
                if a.extensions.is_empty() {
                    ", no extension"
                } else {
                    ""
                },
                match a.required.is_empty() {
                    true => String::new(),
                    false => format!(
                        " Required in every user: {}; map a value to each.",
                        a.required.join(", ")
                    ),
                }
            ),
            None => "Schemas: not published; every mapped attribute is sent.".to_string(),
        },
    ];
    out.push(match caps.filter {
        true => lookups(&target).await,
        false => "Filters: not supported; accounts are matched from a full read.".to_string(),
    });
    out
}

/// Whether one of the application's users is found by its own userName, and only it.
async fn lookups(target: &Target) -> String {
    let first = match target.page(Kind::User, 1, Some(1)).await {
        Ok((page, _)) => page.into_iter().next(),
        Err(e) => return format!("Filters: a page of its users could not be read ({e})."),
    };
    let checked = match first.as_ref().and_then(|r| r.as_object()) {
        Some(account) => target.check_filter(Kind::User, "userName", account).await,
        None => None,
    };
    match checked {
        None => "Filters: supported, not checked (it holds no user with a userName yet).".to_string(),
        Some(Ok(FilterCheck::Works)) => {
            "Filters: supported; one of its users was found by its userName, and only it.".to_string()
        }
        Some(Ok(FilterCheck::NotEvaluated)) => "Filters: not evaluated (one of its users was not found by its own userName); accounts will be matched from a full read.".to_string(),
        Some(Ok(FilterCheck::Ignored(n))) => format!(
            "Filters: ignored (a lookup by one userName answered {n} accounts); accounts will be matched from a full read."
        ),
        Some(Err(e)) => format!("Filters: a lookup by userName failed ({e})."),
    }
}
