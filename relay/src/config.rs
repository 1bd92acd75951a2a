//! What an operator can choose about a running relay. `main.rs` fills this from flags and
//! environment variables; tests build it directly with [`Config::for_tests`].

use std::net::SocketAddr;
use std::path::PathBuf;

use libp2p::Multiaddr;

use crate::limits::Limits;

/// Everything [`crate::Server::spawn`] needs. Plain data: no parsing, no I/O.
#[derive(Debug, Clone)]
pub struct Config {
    /// Where the HTTP side (app, `/healthz`, `/relay.json`, `/metrics`) listens. Port 0 picks one.
    pub listen: SocketAddr,
    /// The built app (Trunk's `dist/`). Served read-only; a missing directory only logs a warning
    /// so that a relay can run as a pure signaling node.
    pub dist: PathBuf,
    /// Holds the relay's identity key and WebRTC certificate so that its PeerId and certhash
    /// survive restarts (browsers and invite links remember them).
    pub data_dir: PathBuf,
    /// libp2p WebSocket listener; the browsers' primary way in.
    pub ws_listen: SocketAddr,
    /// libp2p WebRTC-direct listener (UDP).
    pub webrtc_listen: SocketAddr,
    /// Multiaddrs at which browsers reach this relay from outside (a reverse proxy's `wss`
    /// address, say); announced in `/relay.json` and in relay reservations.
    pub public_addrs: Vec<Multiaddr>,
    /// Connection, relay and presence caps.
    pub limits: Limits,
}

impl Config {
    /// Loopback on free ports with the given directories, the shape every integration test needs.
    pub fn for_tests(dist: PathBuf, data_dir: PathBuf) -> Self {
        Self {
            listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            dist,
            data_dir,
            ws_listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            webrtc_listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            public_addrs: Vec::new(),
            limits: Limits::default(),
        }
    }
}
