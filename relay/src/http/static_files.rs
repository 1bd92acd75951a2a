//! Serving Trunk's `dist/` with a single-page-app fallback.
//!
//! Decision: only extension-less paths fall back to `index.html` (they are app routes such as
//! `/rooms`); a missing `/app-1234.wasm` or `/style.css` stays a 404, so a stale or broken
//! deployment shows up as a clear error instead of HTML parsed as JavaScript or wasm.

use std::path::Path;
use std::sync::Arc;

use axum::Router;
use axum::extract::Request;
use axum::handler::HandlerWithoutStateExt;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use tower_http::services::ServeDir;

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
        .fallback(fallback.into_service());
    Router::new().fallback_service(files)
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
