//! Why a relay could not start. Every variant is fatal at start-up; the operator fixes the
//! configuration or the environment and starts again.

use std::net::SocketAddr;

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
}
