//! The relay's libp2p node: transports, protocols, and the task that drives them.

mod behaviour;
mod ip_limit;
pub(crate) mod keys;
mod rate_limit;
mod transport;

use std::net::SocketAddr;
use std::time::Duration;

use futures::StreamExt as _;
use libp2p::core::multiaddr::Protocol;
use libp2p::metrics::Recorder as _;
use libp2p::swarm::{ListenError, SwarmEvent};
use libp2p::{Multiaddr, PeerId, StreamProtocol, Swarm, SwarmBuilder, connection_limits, relay};
use tokio::sync::watch;
use tokio::task::JoinHandle;

use self::behaviour::{RelayBehaviour, RelayBehaviourEvent};
use crate::config::Config;
use crate::error::Error;
use crate::metrics::Metrics;

pub use self::keys::KeyError;

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// A connection that no protocol needs (no reservation, no presence, no open stream) is closed
/// after this long. Browsers keep theirs through their reservation; abandoned sockets go.
const IDLE_CONNECTION_TIMEOUT: Duration = Duration::from_secs(60);
/// How long start-up waits for the listeners to report their addresses.
const LISTEN_TIMEOUT: Duration = Duration::from_secs(10);

/// What `/relay.json` tells browsers: who the relay is and where to dial it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RelayInfo {
    pub peer_id: PeerId,
    /// Dialable addresses ending in `/p2p/<peer_id>`, WebSocket ones first.
    pub addrs: Vec<Multiaddr>,
}

/// A started node: its description (updated as listen addresses change) and its task.
pub(crate) struct StartedNode {
    pub(crate) info: watch::Receiver<RelayInfo>,
    pub(crate) task: JoinHandle<()>,
}

/// Builds the swarm, binds both listeners, publishes the relay's addresses, and spawns the task
/// that runs the node until `stop` turns true.
pub(crate) async fn start(
    config: &Config,
    metrics: Metrics,
    libp2p_metrics: libp2p::metrics::Metrics,
    stop: watch::Receiver<bool>,
) -> Result<StartedNode, Error> {
    let identity = keys::load_or_create_identity(&config.data_dir)?;
    let certificate = keys::load_or_create_certificate(&config.data_dir)?;
    let certhash = certificate.fingerprint().to_multihash();
    let limits = config.limits.clone();
    let behaviour_metrics = metrics.clone();
    let mut swarm = SwarmBuilder::with_existing_identity(identity)
        .with_tokio()
        .with_other_transport(|key| {
            transport::websocket(key).map_err(|error| Box::new(error) as BoxError)
        })
        .map_err(|error| Error::Transport(error.to_string()))?
        .with_other_transport(|key| transport::webrtc(key, certificate))
        .unwrap_or_else(|never| match never {})
        .with_behaviour(|key| RelayBehaviour::new(key, &limits, &behaviour_metrics))
        .unwrap_or_else(|never| match never {})
        .with_swarm_config(|swarm| swarm.with_idle_connection_timeout(IDLE_CONNECTION_TIMEOUT))
        .build();

    let ws = swarm
        .listen_on(ws_multiaddr(config.ws_listen))
        .map_err(|error| Error::Listen {
            addr: config.ws_listen,
            reason: error.to_string(),
        })?;
    let webrtc = swarm
        .listen_on(webrtc_multiaddr(config.webrtc_listen))
        .map_err(|error| Error::Listen {
            addr: config.webrtc_listen,
            reason: error.to_string(),
        })?;

    let mut listen_addrs = Vec::new();
    let (mut ws_ready, mut webrtc_ready) = (false, false);
    let deadline = tokio::time::Instant::now() + LISTEN_TIMEOUT;
    while !(ws_ready && webrtc_ready) {
        let event = tokio::time::timeout_at(deadline, swarm.select_next_some())
            .await
            .map_err(|_| Error::ListenTimeout)?;
        match event {
            SwarmEvent::NewListenAddr {
                listener_id,
                address,
            } => {
                ws_ready |= listener_id == ws;
                webrtc_ready |= listener_id == webrtc;
                listen_addrs.push(address);
            }
            SwarmEvent::ListenerClosed {
                listener_id,
                reason,
                ..
            } => {
                let addr = if listener_id == ws {
                    config.ws_listen
                } else {
                    config.webrtc_listen
                };
                return Err(Error::Listen {
                    addr,
                    reason: format!("{reason:?}"),
                });
            }
            _ => {}
        }
    }

    let public: Vec<Multiaddr> = config
        .public_addrs
        .iter()
        .map(|addr| with_certhash(addr.clone(), &certhash))
        .collect();
    let announced = if public.is_empty() {
        listen_addrs
    } else {
        public.clone()
    };
    for addr in &announced {
        // Relay reservations carry these; without any, clients fail with
        // `NoAddressesInReservation` (research pitfall 5).
        swarm.add_external_address(addr.clone());
    }
    let peer_id = *swarm.local_peer_id();
    for addr in swarm.listeners() {
        tracing::info!(%addr, "libp2p listening");
    }
    let (info_tx, info) = watch::channel(describe(peer_id, swarm.external_addresses()));
    for addr in &info.borrow().addrs {
        tracing::info!(%addr, "announcing to browsers");
    }
    let copies = swarm
        .behaviour()
        .streams
        .new_control()
        .accept(StreamProtocol::new(quire_core::copies::PROTOCOL))
        .map_err(|error| Error::Transport(error.to_string()))?;
    let copies = tokio::spawn(crate::copies::serve(copies, config.limits.clone()));
    let node = NodeTask {
        swarm,
        copies,
        metrics,
        libp2p_metrics,
        info: info_tx,
        fixed_public_addrs: !public.is_empty(),
    };
    let task = tokio::spawn(node.run(stop));
    Ok(StartedNode { info, task })
}

struct NodeTask {
    swarm: Swarm<RelayBehaviour>,
    /// Serves `/quire/copies/1`; stopped with the node.
    copies: JoinHandle<()>,
    metrics: Metrics,
    libp2p_metrics: libp2p::metrics::Metrics,
    info: watch::Sender<RelayInfo>,
    fixed_public_addrs: bool,
}

impl NodeTask {
    async fn run(mut self, stop: watch::Receiver<bool>) {
        let stopped = crate::server::wait_for_stop(stop);
        tokio::pin!(stopped);
        loop {
            tokio::select! {
                () = &mut stopped => break,
                event = self.swarm.select_next_some() => self.on_event(event),
            }
        }
        self.copies.abort();
        // Dropping the swarm closes every connection and listener.
        tracing::debug!("libp2p node stopped");
    }

    fn on_event(&mut self, event: SwarmEvent<RelayBehaviourEvent>) {
        self.libp2p_metrics.record(&event);
        match event {
            SwarmEvent::ConnectionEstablished { peer_id, .. } => {
                self.metrics.connections.inc();
                // Peer ids only: no addresses, so logs never map peers to IPs.
                tracing::debug!(%peer_id, "connection established");
            }
            SwarmEvent::ConnectionClosed { peer_id, .. } => {
                self.metrics.connections.dec();
                tracing::debug!(%peer_id, "connection closed");
            }
            SwarmEvent::IncomingConnectionError { error, .. } => {
                self.metrics
                    .reject("connections", listen_error_reason(&error));
            }
            SwarmEvent::NewListenAddr { address, .. } if !self.fixed_public_addrs => {
                self.swarm.add_external_address(address);
                self.publish();
            }
            SwarmEvent::ExpiredListenAddr { address, .. } if !self.fixed_public_addrs => {
                self.swarm.remove_external_address(&address);
                self.publish();
            }
            SwarmEvent::Behaviour(RelayBehaviourEvent::Relay(event)) => self.on_relay(event),
            _ => {}
        }
    }

    fn on_relay(&mut self, event: relay::Event) {
        self.libp2p_metrics.record(&event);
        match event {
            relay::Event::ReservationReqAccepted { renewed: false, .. } => {
                self.metrics.reservations.inc();
            }
            relay::Event::ReservationClosed { .. } | relay::Event::ReservationTimedOut { .. } => {
                self.metrics.reservations.dec();
            }
            relay::Event::ReservationReqDenied { .. } => {
                self.metrics.reject("relay", "reservation_denied");
            }
            relay::Event::CircuitReqAccepted { .. } => {
                self.metrics.circuits.inc();
            }
            relay::Event::CircuitClosed { .. } => {
                self.metrics.circuits.dec();
            }
            relay::Event::CircuitReqDenied { .. } => {
                self.metrics.reject("relay", "circuit_denied");
            }
            _ => {}
        }
    }

    fn publish(&self) {
        let info = describe(*self.swarm.local_peer_id(), self.swarm.external_addresses());
        self.info.send_replace(info);
    }
}

fn listen_error_reason(error: &ListenError) -> &'static str {
    match error {
        ListenError::Denied { cause } => {
            if cause
                .downcast_ref::<ip_limit::PerIpLimitReached>()
                .is_some()
            {
                "per_ip"
            } else if cause
                .downcast_ref::<connection_limits::Exceeded>()
                .is_some()
            {
                "max_connections"
            } else {
                "denied"
            }
        }
        // Garbage bytes, aborted or timed-out handshakes, TLS/Noise failures.
        _ => "handshake_failed",
    }
}

/// Dialable addresses with our peer id, WebSocket first (the browsers' primary transport).
fn describe<'a>(peer_id: PeerId, external: impl Iterator<Item = &'a Multiaddr>) -> RelayInfo {
    let mut addrs: Vec<Multiaddr> = external
        .map(|addr| {
            let mut addr = addr.clone();
            if !matches!(addr.iter().last(), Some(Protocol::P2p(_))) {
                addr.push(Protocol::P2p(peer_id));
            }
            addr
        })
        .collect();
    addrs.sort_by_key(|addr| {
        let websocket = addr
            .iter()
            .any(|p| matches!(p, Protocol::Ws(_) | Protocol::Wss(_)));
        (!websocket, addr.to_string())
    });
    addrs.dedup();
    RelayInfo { peer_id, addrs }
}

/// Public `/webrtc-direct` addresses need our certhash; operators rarely know it, so it is
/// appended when missing.
fn with_certhash(mut addr: Multiaddr, certhash: &libp2p::multihash::Multihash<64>) -> Multiaddr {
    let is_webrtc = addr.iter().any(|p| matches!(p, Protocol::WebRTCDirect));
    let has_hash = addr.iter().any(|p| matches!(p, Protocol::Certhash(_)));
    if is_webrtc && !has_hash {
        let peer = match addr.iter().last() {
            Some(Protocol::P2p(peer)) => {
                addr.pop();
                Some(peer)
            }
            _ => None,
        };
        addr.push(Protocol::Certhash(*certhash));
        if let Some(peer) = peer {
            addr.push(Protocol::P2p(peer));
        }
    }
    addr
}

fn ws_multiaddr(addr: SocketAddr) -> Multiaddr {
    Multiaddr::from(addr.ip())
        .with(Protocol::Tcp(addr.port()))
        .with(Protocol::Ws("/".into()))
}

fn webrtc_multiaddr(addr: SocketAddr) -> Multiaddr {
    Multiaddr::from(addr.ip())
        .with(Protocol::Udp(addr.port()))
        .with(Protocol::WebRTCDirect)
}
