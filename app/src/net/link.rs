//! Per-peer link state for the UI: which path reaches a peer right now.
//!
//! Pure bookkeeping (generic over the peer and connection ids, so it is tested natively): the
//! node reports dials, connections and failures; [`LinkTable::state`] answers what the user sees.

use std::collections::HashMap;
use std::hash::Hash;

/// What the UI shows for a peer.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum LinkState {
    /// A browser-to-browser `/webrtc` connection is up.
    Direct,
    /// Only the relayed circuit is up (WebRTC not attempted yet, still in progress elsewhere, or
    /// ICE found no path): traffic goes through the relay.
    Relayed,
    /// A connection attempt is running and nothing is up yet, or the relayed circuit is up and the
    /// direct upgrade is in progress.
    Connecting,
    Offline,
}

/// The path a connection takes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Path {
    Direct,
    Relayed,
}

#[derive(Debug)]
struct PeerLinks<C> {
    connections: HashMap<C, Path>,
    /// Dials in flight (circuit or `/webrtc`).
    dialing: u32,
    /// The last `/webrtc` upgrade failed: stay on the relay without calling it "connecting".
    direct_failed: bool,
}

impl<C> Default for PeerLinks<C> {
    fn default() -> Self {
        Self {
            connections: HashMap::new(),
            dialing: 0,
            direct_failed: false,
        }
    }
}

/// Link bookkeeping for every peer the node knows about.
#[derive(Debug)]
pub struct LinkTable<P, C> {
    peers: HashMap<P, PeerLinks<C>>,
}

impl<P, C> Default for LinkTable<P, C> {
    fn default() -> Self {
        Self {
            peers: HashMap::new(),
        }
    }
}

impl<P: Eq + Hash + Clone, C: Eq + Hash> LinkTable<P, C> {
    pub fn state(&self, peer: &P) -> LinkState {
        let Some(links) = self.peers.get(peer) else {
            return LinkState::Offline;
        };
        let direct = links.connections.values().any(|p| *p == Path::Direct);
        let relayed = links.connections.values().any(|p| *p == Path::Relayed);
        match (direct, relayed, links.dialing > 0) {
            (true, _, _) => LinkState::Direct,
            (false, true, true) if !links.direct_failed => LinkState::Connecting,
            (false, true, _) => LinkState::Relayed,
            (false, false, true) => LinkState::Connecting,
            (false, false, false) => LinkState::Offline,
        }
    }

    /// Every peer with a state other than offline.
    pub fn snapshot(&self) -> Vec<(P, LinkState)> {
        self.peers
            .keys()
            .map(|p| (p.clone(), self.state(p)))
            .filter(|(_, s)| *s != LinkState::Offline)
            .collect()
    }

    pub fn dial_started(&mut self, peer: P, direct: bool) {
        let links = self.peers.entry(peer).or_default();
        links.dialing += 1;
        if direct {
            links.direct_failed = false;
        }
    }

    pub fn dial_failed(&mut self, peer: &P, direct: bool) {
        if let Some(links) = self.peers.get_mut(peer) {
            links.dialing = links.dialing.saturating_sub(1);
            if direct {
                links.direct_failed = true;
            }
        }
        self.forget_if_idle(peer);
    }

    pub fn established(&mut self, peer: P, connection: C, path: Path, we_dialed: bool) {
        let links = self.peers.entry(peer).or_default();
        if we_dialed {
            links.dialing = links.dialing.saturating_sub(1);
        }
        if path == Path::Direct {
            links.direct_failed = false;
        }
        links.connections.insert(connection, path);
    }

    pub fn closed(&mut self, peer: &P, connection: &C) {
        if let Some(links) = self.peers.get_mut(peer) {
            links.connections.remove(connection);
        }
        self.forget_if_idle(peer);
    }

    /// The relayed connections of `peer`, e.g. to close once a direct one is up.
    pub fn relayed_connections(&self, peer: &P) -> impl Iterator<Item = &C> {
        self.peers
            .get(peer)
            .into_iter()
            .flat_map(|l| l.connections.iter())
            .filter(|(_, p)| **p == Path::Relayed)
            .map(|(c, _)| c)
    }

    pub fn has_direct(&self, peer: &P) -> bool {
        self.state(peer) == LinkState::Direct
    }

    pub fn is_connected(&self, peer: &P) -> bool {
        self.peers
            .get(peer)
            .is_some_and(|l| !l.connections.is_empty())
    }

    fn forget_if_idle(&mut self, peer: &P) {
        if self
            .peers
            .get(peer)
            .is_some_and(|l| l.connections.is_empty() && l.dialing == 0)
        {
            self.peers.remove(peer);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    type Table = LinkTable<&'static str, u32>;

    #[test]
    fn unknown_peer_is_offline() {
        assert_eq!(Table::default().state(&"bob"), LinkState::Offline);
    }

    #[test]
    fn upgrade_goes_connecting_then_direct() {
        let mut t = Table::default();
        t.dial_started("bob", false);
        assert_eq!(t.state(&"bob"), LinkState::Connecting);
        t.established("bob", 1, Path::Relayed, true);
        assert_eq!(t.state(&"bob"), LinkState::Relayed);
        t.dial_started("bob", true);
        assert_eq!(t.state(&"bob"), LinkState::Connecting);
        t.established("bob", 2, Path::Direct, true);
        assert_eq!(t.state(&"bob"), LinkState::Direct);
        t.closed(&"bob", &1);
        assert_eq!(t.state(&"bob"), LinkState::Direct);
        assert_eq!(t.relayed_connections(&"bob").count(), 0);
    }

    #[test]
    fn failed_ice_stays_relayed_and_says_so() {
        let mut t = Table::default();
        t.established("bob", 1, Path::Relayed, false);
        t.dial_started("bob", true);
        t.dial_failed(&"bob", true);
        assert_eq!(t.state(&"bob"), LinkState::Relayed);
    }

    #[test]
    fn losing_the_last_connection_means_offline() {
        let mut t = Table::default();
        t.established("bob", 2, Path::Direct, false);
        t.closed(&"bob", &2);
        assert_eq!(t.state(&"bob"), LinkState::Offline);
        assert!(t.snapshot().is_empty());
    }

    #[test]
    fn failed_first_dial_is_offline() {
        let mut t = Table::default();
        t.dial_started("bob", false);
        t.dial_failed(&"bob", false);
        assert_eq!(t.state(&"bob"), LinkState::Offline);
    }
}
