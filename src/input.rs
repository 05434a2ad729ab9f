//! Checks on raw request input shared by the console and the SCIM endpoint.

/// Whether request text carries the NUL character, raw or percent-encoded (`%00`): no text
/// Provisio stores may hold it (PostgreSQL cannot), so requests with it are refused at the edge.
pub fn carries_nul(bytes: &[u8]) -> bool {
    bytes.contains(&0) || bytes.windows(3).any(|w| w == b"%00")
}

/// [`carries_nul`] for a request's path and query, without copying them.
pub fn uri_carries_nul(uri: &axum::http::Uri) -> bool {
    carries_nul(uri.path().as_bytes()) || uri.query().is_some_and(|q| carries_nul(q.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nul_raw_or_encoded() {
        assert!(carries_nul(b"a\0b") && carries_nul(b"x=%00") && !carries_nul(b"x=%2500&y=%0A"));
        assert!(uri_carries_nul(&"/Users?filter=a%00".parse().unwrap()));
        assert!(uri_carries_nul(&"/Users/ab%00cd".parse().unwrap()));
        assert!(!uri_carries_nul(
            &"/Users?filter=userName%20eq%20%22a%22".parse().unwrap()
        ));
    }
}
