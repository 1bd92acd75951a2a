//! The browser's networking: a libp2p node (relay, presence, streams to peers) and the
//! browser-to-browser `/webrtc` transport it uses for direct links.

pub mod webrtc;
