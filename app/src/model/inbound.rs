//! How many sync streams peers may have waiting on this device before they say which room
//! they are for.
//!
//! An inbound `/quire/sync/1` stream names its room in its first frame; until then it costs a
//! task and a buffer and says nothing about who may use it. A hostile peer could open streams
//! and never write, so the network driver admits each one through [`InboundBudget`] (bounded
//! per peer and in total), gives it [`FIRST_FRAME_DEADLINE_MS`] to speak, and releases its
//! place once it spoke or gave up.

use std::collections::BTreeMap;

/// Most streams one peer may have waiting for their first frame. Why: a well-behaved peer
/// opens one stream per shared room and writes at once; 8 covers several rooms opened together.
pub const MAX_WAITING_PER_PEER: usize = 8;

/// Most streams all peers together may have waiting. Why: bounds the tasks and buffers strangers
/// can make this tab hold, well above what a room's full mesh (10 peers) opens at once.
pub const MAX_WAITING: usize = 64;

/// How long an inbound stream may stay silent before its first frame. Why: the opener writes
/// its heads at once; 10 s covers a slow relayed path.
pub const FIRST_FRAME_DEADLINE_MS: u32 = 10_000;

/// Why an inbound stream was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InboundRefusal {
    #[error("the peer already has {MAX_WAITING_PER_PEER} streams waiting to say their room")]
    PeerBusy,
    #[error("{MAX_WAITING} streams are already waiting to say their room")]
    Full,
}

/// Streams waiting for their first frame, by peer (`P`: however the driver names peers).
#[derive(Debug, Clone)]
pub struct InboundBudget<P> {
    waiting: BTreeMap<P, usize>,
    total: usize,
}

impl<P: Ord + Clone> Default for InboundBudget<P> {
    fn default() -> Self {
        Self {
            waiting: BTreeMap::new(),
            total: 0,
        }
    }
}

impl<P: Ord + Clone> InboundBudget<P> {
    /// Takes a place for a new stream from `peer`, or says why not (then drop the stream).
    pub fn admit(&mut self, peer: &P) -> Result<(), InboundRefusal> {
        if self.total >= MAX_WAITING {
            return Err(InboundRefusal::Full);
        }
        let waiting = self.waiting.get(peer).copied().unwrap_or(0);
        if waiting >= MAX_WAITING_PER_PEER {
            return Err(InboundRefusal::PeerBusy);
        }
        self.waiting.insert(peer.clone(), waiting + 1);
        self.total += 1;
        Ok(())
    }

    /// Gives back the place of one of `peer`'s admitted streams (it spoke, failed or timed out).
    pub fn release(&mut self, peer: &P) {
        if let Some(waiting) = self.waiting.get_mut(peer) {
            *waiting -= 1;
            self.total -= 1;
            if *waiting == 0 {
                self.waiting.remove(peer);
            }
        }
    }

    /// Streams waiting now, in total.
    pub fn waiting(&self) -> usize {
        self.total
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn one_peer_cannot_hold_more_than_its_share_of_silent_streams() {
        let mut budget = InboundBudget::default();
        for _ in 0..MAX_WAITING_PER_PEER {
            budget.admit(&"mallory").unwrap();
        }
        assert_eq!(budget.admit(&"mallory"), Err(InboundRefusal::PeerBusy));
        assert_eq!(budget.admit(&"ada"), Ok(()), "others still get in");
        budget.release(&"mallory");
        assert_eq!(
            budget.admit(&"mallory"),
            Ok(()),
            "a stream that spoke frees its place"
        );
    }

    #[test]
    fn many_peers_together_are_capped_too() {
        let mut budget = InboundBudget::default();
        let mut peer = 0u32;
        while budget.waiting() < MAX_WAITING {
            budget.admit(&peer).unwrap();
            peer += 1;
        }
        assert_eq!(budget.admit(&peer), Err(InboundRefusal::Full));
        budget.release(&0);
        assert_eq!(budget.admit(&peer), Ok(()));
        assert_eq!(budget.waiting(), MAX_WAITING);
    }

    #[test]
    fn releasing_what_was_never_admitted_changes_nothing() {
        let mut budget: InboundBudget<u32> = InboundBudget::default();
        budget.release(&7);
        assert_eq!(budget.waiting(), 0);
        budget.admit(&1).unwrap();
        budget.release(&1);
        budget.release(&1);
        assert_eq!(budget.waiting(), 0);
        for _ in 0..MAX_WAITING_PER_PEER {
            budget.admit(&1).unwrap();
        }
        assert_eq!(budget.admit(&1), Err(InboundRefusal::PeerBusy));
    }
}
