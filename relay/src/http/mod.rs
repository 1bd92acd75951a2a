//! The relay's HTTP side: the built app, a health probe, and (with the libp2p node) the relay's
//! own description and metrics. Browsers load the app from here and learn where to dial.

mod capped_listener;
mod headers;
mod relay_info;
mod static_files;

use std::path::Path;

use axum::Router;
use axum::http::{HeaderValue, header};
use axum::middleware;
use axum::routing::get;
use tokio::sync::watch;
use tower_http::set_header::SetResponseHeaderLayer;
use tower_http::trace::TraceLayer;

pub(crate) use self::capped_listener::CappedListener;
use crate::metrics::MetricsRegistry;
use crate::node::RelayInfo;

/// What the HTTP handlers read from the rest of the relay.
#[derive(Debug, Clone)]
pub(crate) struct HttpState {
    pub(crate) info: watch::Receiver<RelayInfo>,
    pub(crate) metrics: MetricsRegistry,
}

/// Builds the whole HTTP surface. Request logs carry method and path only (tower-http's
/// defaults, at debug level): never client addresses, and URL fragments never reach a server.
pub(crate) fn router(dist: &Path, state: HttpState) -> Router {
    Router::new()
        .route("/healthz", get(healthz))
        .route("/relay.json", get(relay_info::relay_json))
        .route("/metrics", get(relay_info::metrics))
        .with_state(state.clone())
        .merge(static_files::router(dist))
        // The app's files set their own cache policy (immutable hashed assets, a revalidated
        // shell: see static_files.rs); everything else describes the running relay and is
        // revalidated on every use.
        .layer(SetResponseHeaderLayer::if_not_present(
            header::CACHE_CONTROL,
            HeaderValue::from_static("no-cache"),
        ))
        .layer(middleware::from_fn_with_state(
            state,
            headers::security_headers,
        ))
        .layer(TraceLayer::new_for_http())
}

/// Liveness for load balancers and scripts: answers as long as the HTTP task runs.
async fn healthz() -> &'static str {
    "ok"
}
