//! Keeps a connection open while its peer is present. Presence means "this peer is online"; if
//! the relay closed an idle but registered connection, the peer would silently vanish from its
//! rooms, so registration is a reason to keep the connection, like a relay reservation is.

use std::convert::Infallible;
use std::task::{Context, Poll};

use libp2p::core::upgrade::DeniedUpgrade;
use libp2p::swarm::handler::ConnectionEvent;
use libp2p::swarm::{ConnectionHandler, ConnectionHandlerEvent, SubstreamProtocol};

/// A handler without protocols whose only job is its keep-alive flag.
#[derive(Debug)]
pub(crate) struct KeepAliveHandler {
    present: bool,
}

impl KeepAliveHandler {
    pub(crate) fn new(present: bool) -> Self {
        Self { present }
    }
}

impl ConnectionHandler for KeepAliveHandler {
    type FromBehaviour = bool;
    type ToBehaviour = Infallible;
    type InboundProtocol = DeniedUpgrade;
    type OutboundProtocol = DeniedUpgrade;
    type InboundOpenInfo = ();
    type OutboundOpenInfo = Infallible;

    fn listen_protocol(&self) -> SubstreamProtocol<DeniedUpgrade, ()> {
        SubstreamProtocol::new(DeniedUpgrade, ())
    }

    fn connection_keep_alive(&self) -> bool {
        self.present
    }

    fn poll(
        &mut self,
        _: &mut Context<'_>,
    ) -> Poll<ConnectionHandlerEvent<DeniedUpgrade, Infallible, Infallible>> {
        Poll::Pending
    }

    fn on_behaviour_event(&mut self, present: bool) {
        self.present = present;
    }

    fn on_connection_event(
        &mut self,
        _: ConnectionEvent<'_, DeniedUpgrade, DeniedUpgrade, (), Infallible>,
    ) {
        // No protocols, so no streams: address changes and protocol updates do not concern us.
    }
}
