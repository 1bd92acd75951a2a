//! Security headers on every HTTP response of the relay: the app shell, its assets,
//! `/relay.json`, `/metrics`, errors.
//!
//! The Content Security Policy allows only what the app does: its own scripts (the wasm-bindgen
//! glue and a loader file; Trunk is configured so `index.html` has no inline script, see
//! `Trunk.toml`), compiling its own wasm (`'wasm-unsafe-eval'`), its own stylesheet (the views
//! set no `style` attributes), its own images and manifest, `fetch` to its own origin
//! (`/relay.json`, the wasm module) and WebSockets to exactly the addresses `/relay.json` tells
//! the browser to dial. WebRTC is not governed by CSP. Nothing may frame the app, and no form
//! or `<base>` may redirect it elsewhere.

use axum::extract::{Request, State};
use axum::http::{HeaderName, HeaderValue, header};
use axum::middleware::Next;
use axum::response::Response;
use libp2p::Multiaddr;
use libp2p::core::multiaddr::Protocol;

use super::HttpState;
use crate::node::RelayInfo;

/// The policy before `connect-src`.
const CSP_HEAD: &str = "default-src 'none'; script-src 'self' 'wasm-unsafe-eval'; \
     style-src 'self'; img-src 'self' data: blob:; manifest-src 'self'; connect-src 'self'";
/// The policy after `connect-src`.
const CSP_TAIL: &str = "; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

/// Adds the headers; computed per response because the relay's addresses can change while it
/// runs, and `connect-src` must follow what `/relay.json` says at that moment.
pub(super) async fn security_headers(
    State(state): State<HttpState>,
    request: Request,
    next: Next,
) -> Response {
    let mut response = next.run(request).await;
    let policy = content_security_policy(&state.info.borrow());
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_SECURITY_POLICY, policy);
    // Another window (a page that opened the app, or that the app opens) gets no handle on it.
    headers.insert(
        HeaderName::from_static("cross-origin-opener-policy"),
        HeaderValue::from_static("same-origin"),
    );
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    // Invite links live in the fragment, which browsers never send; no-referrer also keeps
    // the path of the app from leaking to anything the app links to.
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    response
}

pub(crate) fn content_security_policy(info: &RelayInfo) -> HeaderValue {
    let mut sources: Vec<String> = info.addrs.iter().filter_map(websocket_source).collect();
    sources.sort();
    sources.dedup();
    let mut policy = String::from(CSP_HEAD);
    for source in sources {
        policy.push(' ');
        policy.push_str(&source);
    }
    policy.push_str(CSP_TAIL);
    // Cannot fail: the constants are ASCII and `websocket_source` writes checked hosts only. If
    // it ever did, the answer would be the strictest policy rather than none.
    HeaderValue::from_str(&policy).unwrap_or(HeaderValue::from_static("default-src 'none'"))
}

/// The CSP source that lets a browser open a WebSocket to `addr` (`ws://203.0.113.7:9090`,
/// `wss://quire.example.org`), or `None` for an address browsers do not dial by WebSocket.
///
/// CSP host sources cannot name an IPv6 literal, and a host name with characters outside
/// `[A-Za-z0-9.-]` could not be written safely; for those the source is the scheme alone
/// (`ws:` or `wss:`), which still keeps every other kind of connection to the origin.
fn websocket_source(addr: &Multiaddr) -> Option<String> {
    let mut host: Option<String> = None;
    let mut port: Option<u16> = None;
    let mut tls = false;
    let mut scheme = None;
    for protocol in addr.iter() {
        match protocol {
            Protocol::Ip4(ip) => host = Some(ip.to_string()),
            Protocol::Ip6(_) => host = None,
            Protocol::Dns(name) | Protocol::Dns4(name) | Protocol::Dns6(name) => {
                host = Some(name.to_string()).filter(|name| is_plain_host(name));
            }
            Protocol::Tcp(number) => port = Some(number),
            Protocol::Tls => tls = true,
            Protocol::Ws(_) => scheme = Some(if tls { "wss" } else { "ws" }),
            Protocol::Wss(_) => scheme = Some("wss"),
            _ => {}
        }
    }
    let scheme = scheme?;
    let Some(host) = host else {
        return Some(format!("{scheme}:"));
    };
    let default_port = if scheme == "wss" { 443 } else { 80 };
    Some(match port {
        Some(port) if port != default_port => format!("{scheme}://{host}:{port}"),
        _ => format!("{scheme}://{host}"),
    })
}

fn is_plain_host(name: &str) -> bool {
    !name.is_empty()
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'-')
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn source(addr: &str) -> Option<String> {
        websocket_source(&addr.parse().unwrap())
    }

    #[test]
    fn websocket_addresses_become_connect_sources() {
        let peer = "/p2p/12D3KooWDpJ7As7BWAwRMfu1VU2WCqNjvq387JEYKDBj4kx6nXTN";
        let cases = [
            ("/ip4/127.0.0.1/tcp/9090/ws", Some("ws://127.0.0.1:9090")),
            ("/ip4/203.0.113.7/tcp/80/ws", Some("ws://203.0.113.7")),
            (
                "/dns4/quire.example.org/tcp/443/wss",
                Some("wss://quire.example.org"),
            ),
            (
                "/dns/quire.example.org/tcp/8443/tls/ws",
                Some("wss://quire.example.org:8443"),
            ),
            ("/ip6/::1/tcp/9090/ws", Some("ws:")),
            ("/ip4/203.0.113.7/udp/9091/webrtc-direct", None),
            ("/ip4/203.0.113.7/tcp/9000", None),
        ];
        for (addr, expected) in cases {
            assert_eq!(source(addr).as_deref(), expected, "{addr}");
            assert_eq!(
                source(&format!("{addr}{peer}")).as_deref(),
                expected,
                "{addr}"
            );
        }
    }

    #[test]
    fn the_policy_names_each_websocket_address_once() {
        let info = RelayInfo {
            peer_id: libp2p::PeerId::random(),
            addrs: [
                "/ip4/127.0.0.1/tcp/9090/ws",
                "/ip4/127.0.0.1/tcp/9090/ws",
                "/ip4/127.0.0.1/udp/9091/webrtc-direct",
            ]
            .iter()
            .map(|a| a.parse().unwrap())
            .collect(),
        };
        let policy = content_security_policy(&info);
        assert_eq!(
            policy.to_str().unwrap(),
            "default-src 'none'; script-src 'self' 'wasm-unsafe-eval'; style-src 'self'; \
             img-src 'self' data: blob:; manifest-src 'self'; connect-src 'self' \
             ws://127.0.0.1:9090; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
        );
    }
}
