//! The browser bundle (wasm, JS, style sheet, icons) embedded in the binary by `build.rs` when it
//! was built with `PROVISIO_EMBED_SITE` (scripts/build.sh does): served from memory with the
//! right content type, brotli or gzip as the browser accepts (compressed once, at build time),
//! an ETag, and under `/pkg/{version}/` with a year's `immutable` caching, since a new bundle
//! gets a new version and so new URLs. Without an embedded bundle, or with `--site-root` given,
//! the site is served from disk as before.

use axum::body::Body;
use axum::extract::Path;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};

/// One file of the bundle; an empty `brotli`/`gzip` means no smaller compressed copy.
pub struct Asset {
    pub path: &'static str,
    pub raw: &'static [u8],
    pub brotli: &'static [u8],
    pub gzip: &'static [u8],
}

include!(concat!(env!("OUT_DIR"), "/site.rs"));

/// Whether this binary carries the bundle.
pub fn embedded() -> bool {
    !FILES.is_empty()
}

/// The directory the pages link the bundle from: versioned when embedded.
pub fn pkg_dir() -> String {
    match embedded() {
        true => format!("pkg/{VERSION}"),
        false => "pkg".into(),
    }
}

fn find(path: &str) -> Option<&'static Asset> {
    FILES.iter().find(|a| a.path == path)
}

fn content_type(path: &str) -> &'static str {
    match path.rsplit('.').next().unwrap_or_default() {
        "js" | "mjs" => "text/javascript; charset=utf-8",
        "wasm" => "application/wasm",
        "css" => "text/css; charset=utf-8",
        "svg" => "image/svg+xml",
        "ico" => "image/x-icon",
        "png" => "image/png",
        "txt" => "text/plain; charset=utf-8",
        "json" => "application/json",
        "html" => "text/html; charset=utf-8",
        _ => "application/octet-stream",
    }
}

/// The encodings the request accepts (`br`, `gzip`), a `q=0` refusing one.
fn accepts(headers: &HeaderMap, coding: &str) -> bool {
    headers
        .get_all(header::ACCEPT_ENCODING)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|item| {
            let mut parts = item.split(';');
            let name = parts.next().unwrap_or_default().trim();
            let refused = parts.any(|p| {
                p.trim()
                    .strip_prefix("q=")
                    .and_then(|q| q.trim().parse::<f32>().ok())
                    .is_some_and(|q| q <= 0.0)
            });
            (name.eq_ignore_ascii_case(coding) || name == "*") && !refused
        })
}

/// The response for `asset`, `immutable` for versioned URLs.
fn respond(asset: &'static Asset, headers: &HeaderMap, immutable: bool) -> Response {
    let etag = format!("\"{VERSION}\"");
    let cache = match immutable {
        true => "public, max-age=31536000, immutable",
        false => "public, max-age=3600",
    };
    let mut response = if headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|t| t.trim() == etag || t.trim() == "*"))
    {
        StatusCode::NOT_MODIFIED.into_response()
    } else {
        let (body, encoding) = if !asset.brotli.is_empty() && accepts(headers, "br") {
            (asset.brotli, Some("br"))
        } else if !asset.gzip.is_empty() && accepts(headers, "gzip") {
            (asset.gzip, Some("gzip"))
        } else {
            (asset.raw, None)
        };
        let mut r = Response::new(Body::from(body));
        let h = r.headers_mut();
        h.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static(content_type(asset.path)),
        );
        if let Some(e) = encoding {
            h.insert(header::CONTENT_ENCODING, HeaderValue::from_static(e));
        }
        r
    };
    let h = response.headers_mut();
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static(cache));
    h.insert(header::VARY, HeaderValue::from_static("Accept-Encoding"));
    if let Ok(v) = HeaderValue::from_str(&etag) {
        h.insert(header::ETAG, v);
    }
    response
}

fn not_found() -> Response {
    crate::server::plain_error(StatusCode::NOT_FOUND, "Not found.")
}

/// `GET /pkg/{version}/{file}`: the bundle; an old version's URL is answered with this
/// version's file (an open page loading after an upgrade), not cached for long.
pub async fn pkg(Path((version, file)): Path<(String, String)>, headers: HeaderMap) -> Response {
    match find(&format!("pkg/{file}")) {
        Some(a) => respond(a, &headers, version == VERSION),
        None => not_found(),
    }
}

/// `GET /favicon.svg`, `/robots.txt` and the other top-level public files.
pub async fn public(uri: axum::http::Uri, headers: HeaderMap) -> Response {
    match find(uri.path().trim_start_matches('/')) {
        Some(a) => respond(a, &headers, false),
        None => not_found(),
    }
}

/// The routes of the embedded bundle (none when nothing is embedded).
pub fn router<S: Clone + Send + Sync + 'static>() -> axum::Router<S> {
    let mut r = axum::Router::new();
    if !embedded() {
        return r;
    }
    r = r.route("/pkg/{version}/{file}", axum::routing::get(pkg));
    for a in FILES.iter().filter(|a| !a.path.contains('/')) {
        r = r.route(&format!("/{}", a.path), axum::routing::get(public));
    }
    r
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(accept: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(header::ACCEPT_ENCODING, HeaderValue::from_str(accept).unwrap());
        h
    }

    #[test]
    fn encodings_are_read_with_their_weights() {
        assert!(accepts(&headers("gzip, deflate, br, zstd"), "br"));
        assert!(accepts(&headers("gzip;q=1.0, br;q=0.5"), "br"));
        assert!(!accepts(&headers("gzip, br;q=0"), "br"));
        assert!(accepts(&headers("*"), "gzip"));
        assert!(!accepts(&headers("identity"), "gzip"));
        assert!(!accepts(&HeaderMap::new(), "br"));
    }

    static JS: Asset = Asset {
        path: "pkg/provisio.js",
        raw: b"console.log(1)",
        brotli: b"BR",
        gzip: b"GZ",
    };

    #[tokio::test]
    async fn the_smallest_accepted_encoding_is_sent_with_its_headers() {
        let bytes = |r: Response| axum::body::to_bytes(r.into_body(), usize::MAX);
        let r = respond(&JS, &headers("gzip, br"), true);
        assert_eq!(r.headers()[header::CONTENT_ENCODING], "br");
        assert_eq!(
            r.headers()[header::CONTENT_TYPE],
            "text/javascript; charset=utf-8"
        );
        assert_eq!(
            r.headers()[header::CACHE_CONTROL],
            "public, max-age=31536000, immutable"
        );
        assert_eq!(r.headers()[header::VARY], "Accept-Encoding");
        assert_eq!(bytes(r).await.unwrap(), "BR");
        let r = respond(&JS, &headers("gzip"), false);
        assert_eq!(r.headers()[header::CONTENT_ENCODING], "gzip");
        assert_eq!(r.headers()[header::CACHE_CONTROL], "public, max-age=3600");
        let r = respond(&JS, &HeaderMap::new(), true);
        assert!(r.headers().get(header::CONTENT_ENCODING).is_none());
        assert_eq!(bytes(r).await.unwrap(), "console.log(1)");
        let mut h = HeaderMap::new();
        h.insert(
            header::IF_NONE_MATCH,
            HeaderValue::from_str(&format!("\"{VERSION}\"")).unwrap(),
        );
        assert_eq!(respond(&JS, &h, true).status(), StatusCode::NOT_MODIFIED);
    }
}
