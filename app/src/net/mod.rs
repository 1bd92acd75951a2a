//! The browser's networking: a libp2p node (relay, presence, streams to peers) and the
//! browser-to-browser `/webrtc` transport it uses for direct links.

pub mod backlog;
pub mod link;
pub mod relay_info;
pub mod webrtc;

#[cfg(target_arch = "wasm32")]
pub mod dev;
#[cfg(target_arch = "wasm32")]
pub mod node;
