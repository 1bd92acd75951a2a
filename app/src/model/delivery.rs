//! Per-message delivery state, derived from the book lengths peers report.
//!
//! A peer that reports holding `len` pages of my book holds every page with `seq < len` (books
//! are held as contiguous prefixes). So "on k of n devices" needs no per-message receipts: it
//! is read off the latest report of each member's device.

use std::collections::BTreeMap;

use quire_core::identity::UserId;

/// Where a message the local user wrote is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Delivery {
    /// Written, not yet committed to this device's storage: may still be lost.
    Sending,
    /// Committed locally; no other member's device has reported it yet.
    Saved,
    /// Held by `on` of the `of` other members' devices (`on >= 1`).
    OnDevices { on: usize, of: usize },
}

impl Delivery {
    /// The words next to a message.
    pub fn label(self) -> String {
        match self {
            Self::Sending => "Sending…".to_owned(),
            Self::Saved => "Saved on this device".to_owned(),
            Self::OnDevices { on, of } if on >= of => format!("Delivered to all {of}"),
            Self::OnDevices { on, of } => format!("On {on} of {of} members' devices"),
        }
    }

    /// A stable token for styling and tests (`data-delivery`).
    pub fn token(self) -> &'static str {
        match self {
            Self::Sending => "sending",
            Self::Saved => "saved",
            Self::OnDevices { on, of } if on >= of => "delivered",
            Self::OnDevices { .. } => "partial",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct Report {
    lengths: BTreeMap<UserId, u64>,
    seen_at_ms: u64,
}

/// The latest book lengths each peer reported for one room.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PeerHeads {
    by_peer: BTreeMap<UserId, Report>,
}

impl PeerHeads {
    /// Records what `peer` said it holds at `seen_at_ms`. A report older than the one kept is
    /// ignored (reports can arrive out of order over different links). The latest report wins
    /// even when it is lower: a peer that lost its data no longer holds those pages.
    /// Returns whether anything changed.
    pub fn record(
        &mut self,
        peer: UserId,
        lengths: impl IntoIterator<Item = (UserId, u64)>,
        seen_at_ms: u64,
    ) -> bool {
        if self
            .by_peer
            .get(&peer)
            .is_some_and(|r| r.seen_at_ms > seen_at_ms)
        {
            return false;
        }
        let report = Report {
            lengths: lengths.into_iter().collect(),
            seen_at_ms,
        };
        self.by_peer.insert(peer, report.clone()) != Some(report)
    }

    /// Whether `peer` last reported holding page `seq` of `author`'s book.
    pub fn holds(&self, peer: &UserId, author: &UserId, seq: u64) -> bool {
        self.by_peer
            .get(peer)
            .and_then(|r| r.lengths.get(author))
            .is_some_and(|len| *len > seq)
    }

    /// When `peer` last reported, if ever (ms since the Unix epoch): "last seen".
    pub fn last_seen_ms(&self, peer: &UserId) -> Option<u64> {
        self.by_peer.get(peer).map(|r| r.seen_at_ms)
    }

    /// Delivery of page `seq` of `author`'s book, among `members` (the author excluded).
    /// `saved` says whether the page is committed to this device's storage.
    pub fn delivery<'a>(
        &self,
        author: &UserId,
        seq: u64,
        saved: bool,
        members: impl IntoIterator<Item = &'a UserId>,
    ) -> Delivery {
        if !saved {
            return Delivery::Sending;
        }
        let others: Vec<&UserId> = members.into_iter().filter(|m| *m != author).collect();
        let on = others.iter().filter(|m| self.holds(m, author, seq)).count();
        if on == 0 {
            Delivery::Saved
        } else {
            Delivery::OnDevices {
                on,
                of: others.len(),
            }
        }
    }

    /// Every report, for persisting: (peer, lengths, seen_at_ms).
    pub fn reports(
        &self,
    ) -> impl Iterator<Item = (&UserId, impl Iterator<Item = (&UserId, u64)>, u64)> {
        self.by_peer
            .iter()
            .map(|(peer, r)| (peer, r.lengths.iter().map(|(a, l)| (a, *l)), r.seen_at_ms))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn user(n: u8) -> UserId {
        UserId::from_bytes([n; 32])
    }

    #[test]
    fn a_message_moves_from_sending_to_saved_to_delivered() {
        let (me, bo, cy) = (user(1), user(2), user(3));
        let members = [me, bo, cy];
        let mut heads = PeerHeads::default();
        assert_eq!(heads.delivery(&me, 4, false, &members), Delivery::Sending);
        assert_eq!(heads.delivery(&me, 4, true, &members), Delivery::Saved);
        heads.record(bo, [(me, 5)], 10);
        assert_eq!(
            heads.delivery(&me, 4, true, &members),
            Delivery::OnDevices { on: 1, of: 2 }
        );
        assert_eq!(
            heads.delivery(&me, 4, true, &members).label(),
            "On 1 of 2 members' devices"
        );
        heads.record(cy, [(me, 9)], 11);
        assert_eq!(
            heads.delivery(&me, 4, true, &members).label(),
            "Delivered to all 2"
        );
        // Page 5 is beyond what bo reported.
        assert_eq!(
            heads.delivery(&me, 5, true, &members),
            Delivery::OnDevices { on: 1, of: 2 }
        );
    }

    #[test]
    fn an_older_report_does_not_undo_a_newer_one() {
        let (me, bo) = (user(1), user(2));
        let mut heads = PeerHeads::default();
        assert!(heads.record(bo, [(me, 3)], 20));
        assert!(!heads.record(bo, [(me, 1)], 10));
        assert!(heads.holds(&bo, &me, 2));
        assert_eq!(heads.last_seen_ms(&bo), Some(20));
    }

    #[test]
    fn a_newer_report_wins_even_when_it_is_lower() {
        // Bo lost his data (cleared site data, a new device): he no longer holds those pages,
        // so they must stop counting as delivered to him.
        let (me, bo) = (user(1), user(2));
        let mut heads = PeerHeads::default();
        assert!(heads.record(bo, [(me, 3)], 20));
        assert!(heads.record(bo, [(me, 1)], 30));
        assert!(heads.holds(&bo, &me, 0));
        assert!(!heads.holds(&bo, &me, 2));
        assert_eq!(heads.last_seen_ms(&bo), Some(30));
    }

    #[test]
    fn reports_from_non_members_do_not_count() {
        let (me, bo, stranger) = (user(1), user(2), user(9));
        let mut heads = PeerHeads::default();
        heads.record(stranger, [(me, 3)], 1);
        assert_eq!(heads.delivery(&me, 0, true, &[me, bo]), Delivery::Saved);
    }
}
