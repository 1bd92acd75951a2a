//! The relay's transports: WebSocket (what browsers dial; TLS is the reverse proxy's job) and
//! WebRTC-direct, each authenticated and multiplexed.

use std::time::Duration;

use libp2p::core::muxing::StreamMuxerBox;
use libp2p::core::transport::Boxed;
use libp2p::core::upgrade::Version;
use libp2p::identity::Keypair;
use libp2p::{PeerId, Transport as _, noise, tcp, websocket, yamux};
use libp2p_webrtc::tokio::Certificate;

/// Largest WebSocket message accepted. libp2p's default is 256 MiB, which would let one peer
/// make us buffer that much; Noise frames are at most 64 KiB and a browser's writes are split
/// into frames, so 1 MiB is generous.
pub(crate) const MAX_WEBSOCKET_MESSAGE: usize = 1024 * 1024;
/// Streams one connection may open: identify, ping, presence requests and a few dozen
/// circuits fit easily; more is an abuse of our memory.
const MAX_STREAMS_PER_CONNECTION: usize = 256;
/// A connection must finish its WebSocket, Noise and Yamux handshakes within this time, so
/// half-open connections (garbage senders, slow-loris) release their slot.
pub(crate) const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// WebSocket over TCP, upgraded with Noise and Yamux.
pub(crate) fn websocket(key: &Keypair) -> Result<Boxed<(PeerId, StreamMuxerBox)>, noise::Error> {
    let tcp = tcp::tokio::Transport::new(tcp::Config::default().nodelay(true));
    let mut ws = websocket::Config::new(tcp);
    ws.set_max_data_size(MAX_WEBSOCKET_MESSAGE);
    let mut yamux = yamux::Config::default();
    yamux.set_max_num_streams(MAX_STREAMS_PER_CONNECTION);
    Ok(ws
        .upgrade(Version::V1)
        .authenticate(noise::Config::new(key)?)
        .multiplex(yamux)
        .timeout(HANDSHAKE_TIMEOUT)
        .map(|(peer, muxer), _| (peer, StreamMuxerBox::new(muxer)))
        .boxed())
}

/// WebRTC-direct with the persisted certificate (its hash is part of the dial address).
pub(crate) fn webrtc(key: &Keypair, certificate: Certificate) -> Boxed<(PeerId, StreamMuxerBox)> {
    libp2p_webrtc::tokio::Transport::new(key.clone(), certificate)
        .map(|(peer, connection), _| (peer, StreamMuxerBox::new(connection)))
        .boxed()
}
