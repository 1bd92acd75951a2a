//! The presence server as a libp2p `NetworkBehaviour`: answers rendezvous requests from the
//! [`Registry`], drops a peer's registrations when its last connection closes, keeps present
//! peers' connections open, and rate-limits requests per connection.

use std::collections::{HashMap, VecDeque};
use std::convert::Infallible;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use either::Either;
use libp2p::PeerId;
use libp2p::core::transport::PortUse;
use libp2p::core::{Endpoint, Multiaddr, PeerRecord, SignedEnvelope};
use libp2p::request_response::{self, ProtocolSupport};
use libp2p::swarm::behaviour::{ConnectionClosed, ConnectionEstablished};
use libp2p::swarm::{
    ConnectionDenied, ConnectionHandler, ConnectionHandlerSelect, ConnectionId, FromSwarm,
    NetworkBehaviour, NotifyHandler, THandler, THandlerInEvent, THandlerOutEvent, ToSwarm,
};

use super::codec::{COMPONENT, Codec, PROTOCOL};
use super::keep_alive::KeepAliveHandler;
use super::registry::{Registry, RegistryLimits};
use super::wire::{Request, Response, Status};
use crate::metrics::Metrics;

/// How often expired registrations are dropped. Expired entries are already hidden from
/// discovery, so this only bounds how long their memory lingers.
const SWEEP_INTERVAL: Duration = Duration::from_secs(30);
/// Requests one connection may send in a burst. An app joining many rooms registers and
/// discovers once per room at start-up.
const REQUEST_BURST: f64 = 64.0;
/// Sustained requests per second per connection: refreshing registrations and polling
/// discovery for a few dozen rooms stays far below this.
const REQUESTS_PER_SECOND: f64 = 4.0;
/// Requests one connection may have in flight; each may buffer up to `MAX_REQUEST_BYTES`.
const MAX_CONCURRENT_REQUESTS: usize = 4;
/// A request must arrive and be answered within this time, or its stream is reset.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);

type RpcHandler = <request_response::Behaviour<Codec> as NetworkBehaviour>::ConnectionHandler;

/// Token bucket of one connection's requests.
#[derive(Debug)]
struct RequestBudget {
    tokens: f64,
    refilled: Instant,
}

impl RequestBudget {
    fn new(now: Instant) -> Self {
        Self {
            tokens: REQUEST_BURST,
            refilled: now,
        }
    }

    fn try_spend(&mut self, now: Instant) -> bool {
        let elapsed = now.saturating_duration_since(self.refilled).as_secs_f64();
        self.tokens = (self.tokens + elapsed * REQUESTS_PER_SECOND).min(REQUEST_BURST);
        self.refilled = now;
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            true
        } else {
            false
        }
    }
}

/// Rendezvous server for presence. Emits no events: its effects are responses and metrics.
pub(crate) struct Behaviour {
    rpc: request_response::Behaviour<Codec>,
    registry: Registry,
    connections: HashMap<PeerId, Vec<ConnectionId>>,
    budgets: HashMap<ConnectionId, RequestBudget>,
    pending: VecDeque<ToSwarm<Infallible, THandlerInEvent<Self>>>,
    sweep: tokio::time::Interval,
    metrics: Metrics,
}

impl std::fmt::Debug for Behaviour {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("presence::Behaviour")
            .field("registrations", &self.registry.len())
            .field("peers", &self.connections.len())
            .finish_non_exhaustive()
    }
}

impl Behaviour {
    pub(crate) fn new(limits: RegistryLimits, metrics: Metrics) -> Self {
        let config = request_response::Config::default()
            .with_request_timeout(REQUEST_TIMEOUT)
            .with_max_concurrent_streams(MAX_CONCURRENT_REQUESTS);
        let mut sweep = tokio::time::interval(SWEEP_INTERVAL);
        sweep.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        Self {
            rpc: request_response::Behaviour::with_codec(
                Codec::new(metrics.clone()),
                [(PROTOCOL, ProtocolSupport::Inbound)],
                config,
            ),
            registry: Registry::new(limits),
            connections: HashMap::new(),
            budgets: HashMap::new(),
            pending: VecDeque::new(),
            sweep,
            metrics,
        }
    }

    fn on_rpc_event(&mut self, event: request_response::Event<Request, Response>) {
        match event {
            request_response::Event::Message {
                peer,
                connection_id,
                message:
                    request_response::Message::Request {
                        request, channel, ..
                    },
            } => {
                let now = Instant::now();
                let allowed = self
                    .budgets
                    .entry(connection_id)
                    .or_insert_with(|| RequestBudget::new(now))
                    .try_spend(now);
                let response = if allowed {
                    self.answer(peer, request, now)
                } else {
                    self.metrics.reject(COMPONENT, "rate_limited");
                    refusal(&request, Status::Unavailable)
                };
                // `None` (unregister) drops the channel, which closes the stream as the
                // protocol expects: unregistering has no response.
                if let Some(response) = response {
                    // Fails only if the peer has gone meanwhile; nothing left to do then.
                    let _gone = self.rpc.send_response(channel, response);
                }
            }
            // Unreadable requests are counted by the codec; closed connections, peers leaving
            // mid-response and our own omitted unregister responses are normal.
            request_response::Event::InboundFailure {
                error: request_response::InboundFailure::Timeout,
                ..
            } => self.metrics.reject(COMPONENT, "timeout"),
            // Server only: no outbound requests, so no responses or outbound failures.
            _ => {}
        }
        self.metrics
            .presence_registrations
            .set(i64::try_from(self.registry.len()).unwrap_or(i64::MAX));
    }

    fn answer(&mut self, peer: PeerId, request: Request, now: Instant) -> Option<Response> {
        match request {
            Request::Register {
                namespace,
                signed_record,
                ttl,
            } => {
                if !record_is_signed_by(&signed_record, &peer) {
                    self.metrics.reject(COMPONENT, "bad_record");
                    return Some(Response::RegisterRefused(Status::InvalidSignedPeerRecord));
                }
                let was_present = self.registry.is_present(&peer);
                match self
                    .registry
                    .register(peer, &namespace, signed_record, ttl, now)
                {
                    Ok(ttl) => {
                        if !was_present {
                            self.set_keep_alive(peer, true);
                        }
                        tracing::debug!(%peer, "presence registered");
                        Some(Response::Registered { ttl })
                    }
                    Err(status) => {
                        self.metrics.reject(COMPONENT, status_reason(status));
                        Some(Response::RegisterRefused(status))
                    }
                }
            }
            Request::Unregister { namespace } => {
                if self.registry.unregister(&peer, &namespace) && !self.registry.is_present(&peer) {
                    self.set_keep_alive(peer, false);
                }
                None
            }
            Request::Discover {
                namespace,
                limit,
                cookie,
            } => match self
                .registry
                .discover(namespace.as_deref(), cookie.as_deref(), limit, now)
            {
                Ok((registrations, cookie)) => Some(Response::Discovered {
                    registrations,
                    cookie,
                }),
                Err(status) => {
                    self.metrics.reject(COMPONENT, status_reason(status));
                    Some(Response::DiscoverRefused(status))
                }
            },
        }
    }

    fn set_keep_alive(&mut self, peer: PeerId, present: bool) {
        for &connection in self.connections.get(&peer).into_iter().flatten() {
            self.pending.push_back(ToSwarm::NotifyHandler {
                peer_id: peer,
                handler: NotifyHandler::One(connection),
                event: Either::Right(present),
            });
        }
    }

    fn on_connection_established(&mut self, event: &ConnectionEstablished<'_>) {
        self.connections
            .entry(event.peer_id)
            .or_default()
            .push(event.connection_id);
    }

    fn on_connection_closed(&mut self, event: &ConnectionClosed<'_>) {
        self.budgets.remove(&event.connection_id);
        if let Some(connections) = self.connections.get_mut(&event.peer_id) {
            connections.retain(|id| *id != event.connection_id);
            if connections.is_empty() {
                self.connections.remove(&event.peer_id);
            }
        }
        if event.remaining_established == 0 {
            let removed = self.registry.remove_peer(&event.peer_id);
            if removed > 0 {
                tracing::debug!(peer = %event.peer_id, removed, "peer offline; presence dropped");
            }
            self.metrics
                .presence_registrations
                .set(i64::try_from(self.registry.len()).unwrap_or(i64::MAX));
        }
    }

    fn handler_for(&self, rpc: RpcHandler, peer: &PeerId) -> THandler<Self> {
        rpc.select(KeepAliveHandler::new(self.registry.is_present(peer)))
    }
}

/// The refusal matching a request's kind (unregister has no response).
fn refusal(request: &Request, status: Status) -> Option<Response> {
    match request {
        Request::Register { .. } => Some(Response::RegisterRefused(status)),
        Request::Discover { .. } => Some(Response::DiscoverRefused(status)),
        Request::Unregister { .. } => None,
    }
}

fn status_reason(status: Status) -> &'static str {
    match status {
        Status::InvalidNamespace => "bad_namespace",
        Status::InvalidSignedPeerRecord => "bad_record",
        Status::InvalidTtl => "bad_ttl",
        Status::InvalidCookie => "bad_cookie",
        Status::NotAuthorized => "not_authorized",
        Status::Unavailable => "over_capacity",
        Status::Ok | Status::InternalError => "other",
    }
}

/// A registration must carry a peer record signed by the registering peer itself, so nobody can
/// announce someone else as present.
fn record_is_signed_by(signed_record: &[u8], peer: &PeerId) -> bool {
    SignedEnvelope::from_protobuf_encoding(signed_record)
        .ok()
        .and_then(|envelope| PeerRecord::from_signed_envelope(envelope).ok())
        .is_some_and(|record| record.peer_id() == *peer)
}

/// The request-response behaviour never generates events of its own kind for us to forward;
/// they are all consumed in `poll` before this conversion is reached.
fn consumed(event: request_response::Event<Request, Response>) -> Infallible {
    unreachable!("request-response event {event:?} escaped presence::Behaviour::poll")
}

impl NetworkBehaviour for Behaviour {
    type ConnectionHandler = ConnectionHandlerSelect<RpcHandler, KeepAliveHandler>;
    type ToSwarm = Infallible;

    fn handle_established_inbound_connection(
        &mut self,
        connection_id: ConnectionId,
        peer: PeerId,
        local_addr: &Multiaddr,
        remote_addr: &Multiaddr,
    ) -> Result<THandler<Self>, ConnectionDenied> {
        let rpc = self.rpc.handle_established_inbound_connection(
            connection_id,
            peer,
            local_addr,
            remote_addr,
        )?;
        Ok(self.handler_for(rpc, &peer))
    }

    fn handle_established_outbound_connection(
        &mut self,
        connection_id: ConnectionId,
        peer: PeerId,
        addr: &Multiaddr,
        role_override: Endpoint,
        port_use: PortUse,
    ) -> Result<THandler<Self>, ConnectionDenied> {
        let rpc = self.rpc.handle_established_outbound_connection(
            connection_id,
            peer,
            addr,
            role_override,
            port_use,
        )?;
        Ok(self.handler_for(rpc, &peer))
    }

    fn on_swarm_event(&mut self, event: FromSwarm<'_>) {
        match &event {
            FromSwarm::ConnectionEstablished(established) => {
                self.on_connection_established(established);
            }
            FromSwarm::ConnectionClosed(closed) => self.on_connection_closed(closed),
            _ => {}
        }
        self.rpc.on_swarm_event(event);
    }

    fn on_connection_handler_event(
        &mut self,
        peer: PeerId,
        connection: ConnectionId,
        event: THandlerOutEvent<Self>,
    ) {
        match event {
            Either::Left(event) => self
                .rpc
                .on_connection_handler_event(peer, connection, event),
            Either::Right(never) => match never {},
        }
    }

    fn poll(&mut self, cx: &mut Context<'_>) -> Poll<ToSwarm<Infallible, THandlerInEvent<Self>>> {
        loop {
            if let Some(event) = self.pending.pop_front() {
                return Poll::Ready(event);
            }
            if self.sweep.poll_tick(cx).is_ready() {
                let (gone, expired) = self.registry.sweep(Instant::now());
                for peer in gone {
                    self.set_keep_alive(peer, false);
                }
                if expired > 0 {
                    self.metrics
                        .presence_registrations
                        .set(i64::try_from(self.registry.len()).unwrap_or(i64::MAX));
                }
                continue;
            }
            match self.rpc.poll(cx) {
                Poll::Ready(ToSwarm::GenerateEvent(event)) => self.on_rpc_event(event),
                Poll::Ready(other) => {
                    return Poll::Ready(other.map_out(consumed).map_in(Either::Left));
                }
                Poll::Pending => return Poll::Pending,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use libp2p::identity::Keypair;

    use super::*;

    #[test]
    fn only_a_record_signed_by_the_registering_peer_counts() {
        let key = Keypair::generate_ed25519();
        let addr: Multiaddr = "/ip4/192.0.2.1/tcp/1/ws".parse().unwrap();
        let record = PeerRecord::new(&key, vec![addr]).unwrap();
        let bytes = record.to_signed_envelope().into_protobuf_encoding();
        assert!(record_is_signed_by(&bytes, &key.public().to_peer_id()));
        assert!(!record_is_signed_by(&bytes, &PeerId::random()));
        assert!(!record_is_signed_by(
            b"not an envelope",
            &key.public().to_peer_id()
        ));
    }
}
