//! The relay node's protocols, composed. Order matters: the limit behaviours come first so a
//! refused connection costs nothing in the others.

use std::num::NonZeroU32;

use libp2p::identity::Keypair;
use libp2p::swarm::NetworkBehaviour;
use libp2p::{connection_limits, identify, ping, relay};

use super::ip_limit::IpLimit;
use super::rate_limit::PerIpRateLimiter;
use crate::limits::{self, Limits};
use crate::metrics::Metrics;
use crate::presence::{self, RegistryLimits};

/// Identify's protocol version string: names the network so that a Quire app can tell a Quire
/// relay from some other libp2p node.
pub(crate) const IDENTIFY_PROTOCOL: &str = "/quire/relay/1.0.0";

#[derive(NetworkBehaviour)]
pub(crate) struct RelayBehaviour {
    pub(crate) connection_limits: connection_limits::Behaviour,
    pub(crate) ip_limit: IpLimit,
    pub(crate) relay: relay::Behaviour,
    pub(crate) presence: presence::Behaviour,
    pub(crate) identify: identify::Behaviour,
    pub(crate) ping: ping::Behaviour,
    /// `/quire/copies/1` streams (served by `crate::copies`).
    pub(crate) streams: libp2p_stream::Behaviour,
}

impl RelayBehaviour {
    pub(crate) fn new(key: &Keypair, limits: &Limits, metrics: &Metrics) -> Self {
        let connection_limits = connection_limits::ConnectionLimits::default()
            .with_max_established_incoming(Some(limits.max_connections))
            .with_max_pending_incoming(Some(limits.max_pending_connections))
            .with_max_established_per_peer(Some(limits::MAX_CONNECTIONS_PER_PEER));
        Self {
            connection_limits: connection_limits::Behaviour::new(connection_limits),
            ip_limit: IpLimit::new(
                limits.max_connections_per_ip,
                limits.limit_loopback,
                metrics.clone(),
            ),
            relay: relay::Behaviour::new(key.public().to_peer_id(), relay_config(limits)),
            presence: presence::Behaviour::new(
                RegistryLimits {
                    max_per_peer: limits.max_presence_per_peer,
                    max_total: limits.max_presence_total,
                    min_ttl_secs: limits::MIN_PRESENCE_TTL_SECS,
                    max_ttl_secs: limits::MAX_PRESENCE_TTL_SECS,
                },
                metrics.clone(),
            ),
            identify: identify::Behaviour::new(
                identify::Config::new(IDENTIFY_PROTOCOL.to_owned(), key.public())
                    .with_agent_version(format!("quire-relay/{}", env!("CARGO_PKG_VERSION"))),
            ),
            ping: ping::Behaviour::default(),
            streams: libp2p_stream::Behaviour::new(),
        }
    }
}

/// Circuit relay v2 sized for signaling and as a fallback data path (libp2p's defaults of 16
/// circuits, 2 minutes and 128 KiB are for hole-punching only; research §5 item 6).
fn relay_config(limits: &Limits) -> relay::Config {
    let per_interval = |count: u32| NonZeroU32::new(count).unwrap_or(NonZeroU32::MIN);
    let mut config = relay::Config {
        max_reservations: limits.max_reservations,
        max_reservations_per_peer: limits::MAX_RESERVATIONS_PER_PEER,
        reservation_duration: limits::RESERVATION_DURATION,
        reservation_rate_limiters: Vec::new(),
        max_circuits: limits.max_circuits,
        max_circuits_per_peer: limits.max_circuits_per_peer,
        max_circuit_duration: limits.max_circuit_duration,
        max_circuit_bytes: limits.max_circuit_bytes,
        circuit_src_rate_limiters: Vec::new(),
    }
    .reservation_rate_per_peer(
        per_interval(limits::RESERVATIONS_PER_INTERVAL),
        limits::RATE_INTERVAL,
    )
    .circuit_src_per_peer(
        per_interval(limits::CIRCUITS_PER_INTERVAL),
        limits::RATE_INTERVAL,
    );
    config
        .reservation_rate_limiters
        .push(Box::new(PerIpRateLimiter::new(
            limits::RESERVATIONS_PER_INTERVAL,
            limits::RATE_INTERVAL,
            limits.limit_loopback,
        )));
    config
        .circuit_src_rate_limiters
        .push(Box::new(PerIpRateLimiter::new(
            limits::CIRCUITS_PER_INTERVAL,
            limits::RATE_INTERVAL,
            limits.limit_loopback,
        )));
    config
}
