//! The `/webrtc` [`Transport`]: dials `/webrtc/p2p/<peer>` by signaling over an existing relayed
//! connection, and, once `listen_on("/webrtc")` was called, answers peers that signal to us.
//!
//! A transport cannot open streams on connections, so signaling streams come from
//! [`libp2p_stream::Control`]. Addresses containing `/p2p-circuit` are claimed by the relay client
//! transport (it sits first in the SwarmBuilder stack), so callers dial in two steps: the circuit
//! address first, then the bare `/webrtc/p2p/<peer>` (with `PeerCondition::Always`, because the
//! peer is already connected through the relay).

use std::{
    collections::VecDeque,
    pin::Pin,
    sync::Arc,
    task::{Context, Poll},
    time::Duration,
};

use futures::{StreamExt as _, future::LocalBoxFuture, stream::FuturesUnordered};
use libp2p::{
    Multiaddr, PeerId, StreamProtocol,
    core::{
        Endpoint,
        multiaddr::Protocol,
        transport::{DialOpts, ListenerId, TransportError, TransportEvent},
    },
};
use send_wrapper::SendWrapper;

use super::{
    connection::{Connection, IceConfig},
    signaling::{self, SIGNALING_PROTOCOL, SignalingError},
};

/// Inbound handshakes running at once. Each holds an `RTCPeerConnection`; a burst of signaling
/// streams beyond this is refused instead of creating browser objects without bound.
pub const MAX_CONCURRENT_INBOUND_HANDSHAKES: usize = 8;

#[derive(Clone, Debug)]
pub struct Config {
    pub ice: IceConfig,
    /// Whole outbound handshake (signaling stream + ICE). Keep the swarm's connection timeout
    /// above it.
    pub dial_timeout: Duration,
    /// Whole inbound handshake. js-libp2p aborts its side after 10 s, so stay below.
    pub answer_timeout: Duration,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            ice: IceConfig::default(),
            dial_timeout: Duration::from_secs(15),
            answer_timeout: Duration::from_secs(9),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("could not open a signaling stream (is there a relayed connection?): {0}")]
    NoSignalingStream(String),
    #[error(transparent)]
    Signaling(#[from] SignalingError),
    #[error("/webrtc listener already registered")]
    AlreadyListening,
    #[error("/webrtc connections cannot be the listener side of a dial")]
    ListenerRoleDial,
}

type Handshake = SendWrapper<LocalBoxFuture<'static, (PeerId, Result<Connection, SignalingError>)>>;

struct Listener {
    id: ListenerId,
    incoming: libp2p_stream::IncomingStreams,
    handshakes: FuturesUnordered<Handshake>,
    announced: bool,
}

/// The `/webrtc` transport. Output is a [`Connection`] muxer per peer.
pub struct Transport {
    config: Arc<Config>,
    control: libp2p_stream::Control,
    listener: Option<Listener>,
    events: VecDeque<TransportEvent<<Self as libp2p::Transport>::ListenerUpgrade, Error>>,
}

impl std::fmt::Debug for Transport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Transport")
            .field("listening", &self.listener.is_some())
            .finish()
    }
}

impl Transport {
    pub fn new(config: Config, control: libp2p_stream::Control) -> Self {
        Self {
            config: Arc::new(config),
            control,
            listener: None,
            events: VecDeque::new(),
        }
    }
}

/// The address a `/webrtc` listener announces, and the address peers are reached at once the
/// relayed connection exists.
pub fn webrtc_addr() -> Multiaddr {
    Multiaddr::empty().with(Protocol::WebRTC)
}

/// `/webrtc/p2p/<peer>` → `peer`; anything else is not ours to dial.
pub fn parse_dial_addr(addr: &Multiaddr) -> Option<PeerId> {
    let mut iter = addr.iter();
    match (iter.next(), iter.next(), iter.next()) {
        (Some(Protocol::WebRTC), Some(Protocol::P2p(peer)), None) => Some(peer),
        _ => None,
    }
}

fn signaling_protocol() -> StreamProtocol {
    StreamProtocol::new(SIGNALING_PROTOCOL)
}

impl libp2p::Transport for Transport {
    type Output = (PeerId, Connection);
    type Error = Error;
    type ListenerUpgrade = futures::future::Ready<Result<Self::Output, Self::Error>>;
    type Dial = SendWrapper<LocalBoxFuture<'static, Result<Self::Output, Self::Error>>>;

    fn listen_on(
        &mut self,
        id: ListenerId,
        addr: Multiaddr,
    ) -> Result<(), TransportError<Self::Error>> {
        if addr != webrtc_addr() {
            return Err(TransportError::MultiaddrNotSupported(addr));
        }
        if self.listener.is_some() {
            return Err(TransportError::Other(Error::AlreadyListening));
        }
        let incoming = self
            .control
            .accept(signaling_protocol())
            .map_err(|_| TransportError::Other(Error::AlreadyListening))?;
        self.listener = Some(Listener {
            id,
            incoming,
            handshakes: FuturesUnordered::new(),
            announced: false,
        });
        Ok(())
    }

    fn remove_listener(&mut self, id: ListenerId) -> bool {
        if self.listener.as_ref().is_some_and(|l| l.id == id) {
            self.listener = None;
            self.events.push_back(TransportEvent::ListenerClosed {
                listener_id: id,
                reason: Ok(()),
            });
            true
        } else {
            false
        }
    }

    fn dial(
        &mut self,
        addr: Multiaddr,
        opts: DialOpts,
    ) -> Result<Self::Dial, TransportError<Self::Error>> {
        let Some(peer) = parse_dial_addr(&addr) else {
            return Err(TransportError::MultiaddrNotSupported(addr));
        };
        if opts.role == Endpoint::Listener {
            return Err(TransportError::Other(Error::ListenerRoleDial));
        }
        let mut control = self.control.clone();
        let config = self.config.clone();
        Ok(SendWrapper::new(Box::pin(async move {
            let stream = control
                .open_stream(peer, signaling_protocol())
                .await
                .map_err(|e| Error::NoSignalingStream(e.to_string()))?;
            let conn = signaling::initiate(stream, &config.ice, config.dial_timeout).await?;
            Ok((peer, conn))
        })))
    }

    fn poll(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<TransportEvent<Self::ListenerUpgrade, Self::Error>> {
        if let Some(event) = self.events.pop_front() {
            return Poll::Ready(event);
        }
        let config = self.config.clone();
        let Some(listener) = self.listener.as_mut() else {
            return Poll::Pending;
        };
        if !listener.announced {
            listener.announced = true;
            return Poll::Ready(TransportEvent::NewAddress {
                listener_id: listener.id,
                listen_addr: webrtc_addr(),
            });
        }
        // Finish running handshakes before taking new ones.
        while let Poll::Ready(Some((peer, result))) = listener.handshakes.poll_next_unpin(cx) {
            match result {
                Ok(conn) => {
                    return Poll::Ready(TransportEvent::Incoming {
                        listener_id: listener.id,
                        upgrade: futures::future::ready(Ok((peer, conn))),
                        local_addr: webrtc_addr(),
                        send_back_addr: webrtc_addr().with(Protocol::P2p(peer)),
                    });
                }
                Err(e) => tracing::debug!(%peer, "inbound /webrtc handshake failed: {e}"),
            }
        }
        while let Poll::Ready(Some((peer, stream))) = listener.incoming.poll_next_unpin(cx) {
            if listener.handshakes.len() >= MAX_CONCURRENT_INBOUND_HANDSHAKES {
                tracing::debug!(%peer, "refusing /webrtc signaling: too many handshakes");
                continue;
            }
            let config = config.clone();
            listener
                .handshakes
                .push(SendWrapper::new(Box::pin(async move {
                    let result =
                        signaling::respond(stream, &config.ice, config.answer_timeout).await;
                    (peer, result)
                })));
            // Poll it once now so it registers its wakers.
            cx.waker().wake_by_ref();
        }
        Poll::Pending
    }
}
