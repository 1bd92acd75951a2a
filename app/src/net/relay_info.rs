//! `/relay.json`: how the relay that served the app tells the browser where to reach it.

use serde::Deserialize;

/// The body of `GET /relay.json` (contract with quire-relay: websocket addresses first).
#[derive(Clone, Debug, Deserialize, PartialEq, Eq)]
pub struct RelayInfo {
    pub peer_id: String,
    /// Full multiaddrs ending in `/p2p/<peer_id>`.
    pub addrs: Vec<String>,
    /// Optional STUN/TURN URLs the relay operator recommends; none = host candidates only.
    #[serde(default)]
    pub ice_servers: Vec<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum RelayInfoError {
    #[error("could not fetch {url}: {reason}")]
    Fetch { url: String, reason: String },
    #[error("{url} is not valid relay info: {reason}")]
    Invalid { url: String, reason: String },
}

impl RelayInfo {
    pub fn parse(url: &str, body: &str) -> Result<Self, RelayInfoError> {
        serde_json::from_str(body).map_err(|e| RelayInfoError::Invalid {
            url: url.to_owned(),
            reason: e.to_string(),
        })
    }
}

/// Fetches and parses the relay description from the page's origin (or any URL).
#[cfg(target_arch = "wasm32")]
pub async fn fetch(url: &str) -> Result<RelayInfo, RelayInfoError> {
    use wasm_bindgen::JsCast as _;
    use wasm_bindgen_futures::JsFuture;
    let fail = |reason: String| RelayInfoError::Fetch {
        url: url.to_owned(),
        reason,
    };
    let window = web_sys::window().ok_or_else(|| fail("no window".into()))?;
    let response = JsFuture::from(window.fetch_with_str(url))
        .await
        .map_err(|e| fail(format!("{e:?}")))?
        .dyn_into::<web_sys::Response>()
        .map_err(|_| fail("not a Response".into()))?;
    if !response.ok() {
        return Err(fail(format!("HTTP {}", response.status())));
    }
    let text = JsFuture::from(response.text().map_err(|e| fail(format!("{e:?}")))?)
        .await
        .map_err(|e| fail(format!("{e:?}")))?
        .as_string()
        .ok_or_else(|| fail("body is not text".into()))?;
    RelayInfo::parse(url, &text)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_relay_contract_and_tolerates_extra_fields() {
        let info = RelayInfo::parse(
            "/relay.json",
            r#"{"peer_id":"12D3","addrs":["/ip4/127.0.0.1/tcp/1/ws/p2p/12D3"],"version":1}"#,
        )
        .unwrap();
        assert_eq!(info.addrs.len(), 1);
        assert!(info.ice_servers.is_empty());
        assert!(RelayInfo::parse("/relay.json", "{}").is_err());
    }
}
