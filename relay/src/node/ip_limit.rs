//! Caps concurrent connections per remote IP address, so one host cannot take every slot.
//!
//! Decision: loopback addresses are exempt by default. A relay behind a reverse proxy on the
//! same host (the documented way to get `wss://`) sees every browser as 127.0.0.1 or ::1, so a
//! per-IP cap there would cap the whole relay; the proxy limits per client instead (see the
//! README). Counts live only in memory, keyed by IP, and are never logged.

use std::collections::HashMap;
use std::convert::Infallible;
use std::net::IpAddr;
use std::task::{Context, Poll};

use libp2p::PeerId;
use libp2p::core::transport::PortUse;
use libp2p::core::{Endpoint, Multiaddr, multiaddr::Protocol};
use libp2p::swarm::{
    ConnectionDenied, ConnectionId, FromSwarm, NetworkBehaviour, THandler, THandlerInEvent,
    THandlerOutEvent, ToSwarm, dummy,
};

use crate::metrics::Metrics;

/// Why a connection was refused.
#[derive(Debug, thiserror::Error)]
#[error("too many connections from one address (limit {limit})")]
pub(crate) struct PerIpLimitReached {
    limit: u32,
}

/// The per-IP connection cap as a behaviour that only ever says yes or no.
#[derive(Debug)]
pub(crate) struct IpLimit {
    max_per_ip: u32,
    limit_loopback: bool,
    counts: HashMap<IpAddr, u32>,
    by_connection: HashMap<ConnectionId, IpAddr>,
    metrics: Metrics,
}

impl IpLimit {
    pub(crate) fn new(max_per_ip: u32, limit_loopback: bool, metrics: Metrics) -> Self {
        Self {
            max_per_ip,
            limit_loopback,
            counts: HashMap::new(),
            by_connection: HashMap::new(),
            metrics,
        }
    }

    fn release(&mut self, connection: ConnectionId) {
        let Some(ip) = self.by_connection.remove(&connection) else {
            return;
        };
        if let Some(count) = self.counts.get_mut(&ip) {
            *count -= 1;
            if *count == 0 {
                self.counts.remove(&ip);
            }
        }
    }
}

/// The IP a multiaddr starts from, if it names one.
pub(crate) fn ip_of(addr: &Multiaddr) -> Option<IpAddr> {
    addr.iter().find_map(|protocol| match protocol {
        Protocol::Ip4(ip) => Some(IpAddr::V4(ip)),
        Protocol::Ip6(ip) => Some(IpAddr::V6(ip)),
        _ => None,
    })
}

impl NetworkBehaviour for IpLimit {
    type ConnectionHandler = dummy::ConnectionHandler;
    type ToSwarm = Infallible;

    fn handle_pending_inbound_connection(
        &mut self,
        connection_id: ConnectionId,
        _local_addr: &Multiaddr,
        remote_addr: &Multiaddr,
    ) -> Result<(), ConnectionDenied> {
        let Some(ip) = ip_of(remote_addr) else {
            return Ok(());
        };
        if ip.is_loopback() && !self.limit_loopback {
            return Ok(());
        }
        let count = self.counts.entry(ip).or_default();
        if *count >= self.max_per_ip {
            self.metrics.reject("connections", "per_ip");
            return Err(ConnectionDenied::new(PerIpLimitReached {
                limit: self.max_per_ip,
            }));
        }
        *count += 1;
        self.by_connection.insert(connection_id, ip);
        Ok(())
    }

    fn handle_established_inbound_connection(
        &mut self,
        _: ConnectionId,
        _: PeerId,
        _: &Multiaddr,
        _: &Multiaddr,
    ) -> Result<THandler<Self>, ConnectionDenied> {
        Ok(dummy::ConnectionHandler)
    }

    fn handle_established_outbound_connection(
        &mut self,
        _: ConnectionId,
        _: PeerId,
        _: &Multiaddr,
        _: Endpoint,
        _: PortUse,
    ) -> Result<THandler<Self>, ConnectionDenied> {
        Ok(dummy::ConnectionHandler)
    }

    fn on_swarm_event(&mut self, event: FromSwarm<'_>) {
        match event {
            FromSwarm::ConnectionClosed(closed) => self.release(closed.connection_id),
            FromSwarm::ListenFailure(failure) => self.release(failure.connection_id),
            _ => {}
        }
    }

    fn on_connection_handler_event(
        &mut self,
        _: PeerId,
        _: ConnectionId,
        event: THandlerOutEvent<Self>,
    ) {
        match event {}
    }

    fn poll(&mut self, _: &mut Context<'_>) -> Poll<ToSwarm<Infallible, THandlerInEvent<Self>>> {
        Poll::Pending
    }
}
