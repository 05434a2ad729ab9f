//! Percent-encoding of values put into URLs, the one encoder the server and the browser share.

use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};

/// Everything but RFC 3986's unreserved characters.
const VALUE: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~');
/// The same, keeping path separators readable.
const PATH: &AsciiSet = &VALUE.remove(b'/');

/// A query parameter's value (or one path segment).
pub fn query_value(s: &str) -> String {
    utf8_percent_encode(s, VALUE).to_string()
}

/// A local path with its query, carried as one parameter's value (`/login?next=...`): slashes
/// stay, everything else that is not unreserved is encoded.
pub fn local_path(s: &str) -> String {
    utf8_percent_encode(s, PATH).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_keep_only_unreserved_characters() {
        assert_eq!(query_value("a b&c=d/é~"), "a%20b%26c%3Dd%2F%C3%A9~");
    }

    #[test]
    fn paths_keep_their_slashes() {
        assert_eq!(
            local_path("/settings/audit-log?actor=a b&x=1"),
            "/settings/audit-log%3Factor%3Da%20b%26x%3D1"
        );
    }
}
