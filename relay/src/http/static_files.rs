//! Serving Trunk's `dist/` with a single-page-app fallback, precompressed variants and a cache
//! policy per file.
//!
//! Decision: only extension-less paths fall back to `index.html` (they are app routes such as
//! `/rooms`); a missing `/app-1234.wasm` or `/style.css` stays a 404, so a stale or broken
//! deployment shows up as a clear error instead of HTML parsed as JavaScript or wasm.
//!
//! Compression: the build writes `<file>.br` and `<file>.gz` beside each compressible file
//! (`quire-precompress`, run by `scripts/build-app.sh`), and `ServeDir` sends the variant the
//! request's `Accept-Encoding` prefers (brotli, then gzip) with its `Content-Encoding`, or the
//! file itself. Decision: precompressed files rather than `CompressionLayer`, because the
//! files never change after the build, so the densest (slowest) settings cost nothing per
//! request. Files without variants (small ones) are sent as they are.

use std::path::Path;
use std::sync::Arc;

use axum::Router;
use axum::extract::Request;
use axum::handler::HandlerWithoutStateExt;
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use tower_http::services::ServeDir;

/// Content-hashed files never change under their name: a new build has new names.
const IMMUTABLE: HeaderValue = HeaderValue::from_static("public, max-age=31536000, immutable");
/// Everything else (the app shell, copied files, errors) is revalidated on every use, so an
/// upgraded relay never leaves browsers on an old shell that names assets no longer served.
const REVALIDATE: HeaderValue = HeaderValue::from_static("no-cache");

/// Fewest hex digits accepted as Trunk's content hash; see [`is_hashed_asset`].
const MIN_HASH_DIGITS: usize = 12;
/// Trunk's hash is a 64-bit seahash.
const MAX_HASH_DIGITS: usize = 16;

/// `dist/` as a router with only a fallback: files get content types from their extension
/// (`.wasm` is `application/wasm`, which browsers require for streaming compilation),
/// directories get their `index.html`, anything else goes to [`spa_fallback`].
pub(super) fn router(dist: &Path) -> Router {
    let index = Arc::new(dist.join("index.html"));
    let fallback = move |request: Request| {
        let index = Arc::clone(&index);
        let path = request.uri().path().to_owned();
        async move { spa_fallback(&index, &path).await }
    };
    let files = ServeDir::new(dist)
        .append_index_html_on_directories(true)
        .precompressed_br()
        .precompressed_gzip()
        .fallback(fallback.into_service());
    Router::new()
        .fallback_service(files)
        .layer(middleware::from_fn(cache_policy))
}

/// Sets `Cache-Control` by name (immutable only for a hashed file that was found) and
/// `Vary: accept-encoding`, since any file may have been answered with a compressed variant.
async fn cache_policy(request: Request, next: Next) -> Response {
    let hashed = is_hashed_asset(request.uri().path());
    let mut response = next.run(request).await;
    let found = response.status().is_success() || response.status() == StatusCode::NOT_MODIFIED;
    let headers = response.headers_mut();
    let policy = if hashed && found {
        IMMUTABLE
    } else {
        REVALIDATE
    };
    headers.insert(header::CACHE_CONTROL, policy);
    headers.insert(header::VARY, HeaderValue::from_static("accept-encoding"));
    response
}

/// Whether the last segment of `path` is a name Trunk derived from the file's content:
/// `<stem>-<hash>.<ext>`, or `<stem>-<hash>_bg.wasm` for the wasm module (wasm-bindgen's
/// suffix after Trunk's hash), e.g. `quire-app-3f1c0a9e5b7d2468_bg.wasm`,
/// `quire-app-3f1c0a9e5b7d2468.js`, `quire-0c9d8e7f6a5b4c3d.css`.
///
/// Trunk prints the 64-bit hash in lowercase hex without leading zeros, so it has 16 digits
/// fifteen builds in sixteen and fewer otherwise. At least 12 are required, so that copied,
/// unhashed files such as `icons/quire-192.png` are never cached as immutable; the one hash in
/// 65,536 that is shorter only means that file is revalidated like the shell.
pub(crate) fn is_hashed_asset(path: &str) -> bool {
    let name = path.rsplit('/').next().unwrap_or_default();
    let Some((stem, _extension)) = name.rsplit_once('.') else {
        return false;
    };
    let stem = stem.strip_suffix("_bg").unwrap_or(stem);
    let Some((prefix, hash)) = stem.rsplit_once('-') else {
        return false;
    };
    !prefix.is_empty()
        && (MIN_HASH_DIGITS..=MAX_HASH_DIGITS).contains(&hash.len())
        && hash.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

async fn spa_fallback(index: &Path, path: &str) -> Response {
    let last_segment = path.rsplit('/').next().unwrap_or_default();
    if last_segment.contains('.') {
        return (StatusCode::NOT_FOUND, "not found").into_response();
    }
    match tokio::fs::read(index).await {
        Ok(html) => ([(header::CONTENT_TYPE, "text/html; charset=utf-8")], html).into_response(),
        Err(error) => {
            tracing::warn!(%error, path = %index.display(), "app shell missing; was the app built?");
            (StatusCode::NOT_FOUND, "the app is not built on this relay").into_response()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::is_hashed_asset;

    #[test]
    fn trunks_hashed_names_are_recognised() {
        for name in [
            "/quire-app-3f1c0a9e5b7d2468_bg.wasm",
            "/quire-app-3f1c0a9e5b7d2468.js",
            "/quire-0c9d8e7f6a5b4c3d.css",
            "/loader-f1c0a9e5b7d2468.js",
            "/nested/quire-0c9d8e7f6a5b.svg",
        ] {
            assert!(is_hashed_asset(name), "{name}");
        }
    }

    #[test]
    fn the_shell_copied_files_and_variants_are_not_hashed() {
        for name in [
            "/",
            "/index.html",
            "/manifest.webmanifest",
            "/icons/quire-192.png",
            "/icons/quire-maskable-512.png",
            "/rooms",
            "/quire-app-3f1c0a9e5b7d2468_bg.wasm.br",
            "/quire-app-3F1C0A9E5B7D2468.js",
            "/quire-app-3f1c0a9e5b7d24680.js",
            "/-3f1c0a9e5b7d2468.js",
            "/quire-app-3f1c0a9e5b7d2468",
        ] {
            assert!(!is_hashed_asset(name), "{name}");
        }
    }
}
