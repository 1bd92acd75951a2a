//! Why a relay could not start. Every variant is fatal at start-up; the operator fixes the
//! configuration or the environment and starts again.

use std::net::SocketAddr;

pub use crate::node::KeyError;

/// A failure of [`crate::Server::spawn`].
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The HTTP port is taken or not ours to bind.
    #[error("cannot listen for HTTP on {addr}: {source}")]
    HttpBind {
        addr: SocketAddr,
        #[source]
        source: std::io::Error,
    },
    /// The identity key or WebRTC certificate in the data directory is unusable.
    #[error(transparent)]
    Keys(#[from] KeyError),
    /// A libp2p transport could not be built.
    #[error("cannot set up libp2p transports: {0}")]
    Transport(String),
    /// A libp2p listener (WebSocket or WebRTC-direct) could not bind.
    #[error("cannot listen for libp2p on {addr}: {reason}")]
    Listen { addr: SocketAddr, reason: String },
    /// A listener never reported its address.
    #[error("libp2p listeners did not come up in time")]
    ListenTimeout,
}
