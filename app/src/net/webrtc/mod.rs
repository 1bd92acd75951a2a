//! The libp2p `/webrtc` (browser-to-browser) transport, written from the libp2p specs
//! (`webrtc/webrtc.md`, `webrtc/README.md`) and checked against js-libp2p's `@libp2p/webrtc`.
//!
//! Self-contained: any rust-libp2p wasm app can use it. It needs a
//! [`libp2p_stream::Behaviour`] in the swarm (signaling streams run over relayed connections
//! through its [`libp2p_stream::Control`]) and a relayed connection to the peer before a
//! `/webrtc/p2p/<peer>` dial (see [`transport`]).
//!
//! - [`proto`], [`codec`], [`stream_state`]: pure wire format and close/reset state machine
//!   (compile and test natively).
//! - `stream`, `connection`, `signaling`, `transport`: browser parts (wasm32 only).

pub mod codec;
pub mod proto;
pub mod stream_state;

#[cfg(target_arch = "wasm32")]
pub mod connection;
#[cfg(target_arch = "wasm32")]
pub mod signaling;
#[cfg(target_arch = "wasm32")]
pub mod stream;
#[cfg(target_arch = "wasm32")]
pub mod transport;
