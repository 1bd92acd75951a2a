//! `/relay.json` (how a browser reaches the relay that served it) and `/metrics`.

use axum::extract::State;
use axum::http::header;
use axum::response::IntoResponse;
use serde::Serialize;

use super::HttpState;

#[derive(Serialize)]
struct RelayJson {
    peer_id: String,
    addrs: Vec<String>,
}

/// The relay's PeerId and the multiaddrs to dial, WebSocket first. Read fresh on every request
/// because listen addresses can change while the relay runs.
pub(super) async fn relay_json(State(state): State<HttpState>) -> impl IntoResponse {
    let info = state.info.borrow().clone();
    axum::Json(RelayJson {
        peer_id: info.peer_id.to_string(),
        addrs: info.addrs.iter().map(ToString::to_string).collect(),
    })
}

/// Prometheus text exposition format.
pub(super) async fn metrics(State(state): State<HttpState>) -> impl IntoResponse {
    (
        [(
            header::CONTENT_TYPE,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
        )],
        state.metrics.render(),
    )
}
