//! quire-relay: Quire's self-hostable server. It serves the built app over HTTP and runs a
//! libp2p node that lets browsers find each other (presence) and reach each other (signaling and
//! a relayed fallback path). It never sees message content, room names or room ids.
//!
//! `main.rs` only parses flags; everything else is here so tests can run relays on port 0.

mod config;
mod copies;
mod error;
mod http;
mod limits;
mod metrics;
mod node;
mod presence;
mod server;

pub use config::Config;
pub use error::{Error, KeyError};
pub use limits::Limits;
pub use node::RelayInfo;
pub use server::Server;

/// Largest presence request the relay accepts, in bytes (exported for tests and clients).
pub const MAX_PRESENCE_REQUEST_BYTES: usize = presence::MAX_REQUEST_BYTES;
