//! Who holds a copy of which blob, from the members' own books.
//!
//! A member with a complete copy writes a holding page ([`HoldingBody`], `held: true`) into its
//! book, and one with `held: false` when it deletes the copy. Each member's latest statement
//! about a blob (highest seq in its own book) is what counts, so every member computes the same
//! holder list from the same pages, offline, in whatever order they arrived; there is no
//! registry to ask. Who of them is online, and still a member, is the app's to intersect.

use std::collections::{BTreeMap, BTreeSet};

use super::BlobId;
use crate::identity::UserId;

/// A member's statement about its copy of a blob (a page of kind `Holding`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct HoldingBody {
    pub blob: BlobId,
    /// It holds a complete, verified copy (`false`: it deleted its copy).
    pub held: bool,
}

/// Every member's latest statement per blob.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Holders {
    /// (blob, member) -> (seq of the statement, held).
    latest: BTreeMap<(BlobId, UserId), (u64, bool)>,
}

impl Holders {
    /// Takes `author`'s statement at `seq` of its book into account (an older one than what is
    /// known changes nothing).
    pub fn apply(&mut self, author: UserId, seq: u64, holding: &HoldingBody) {
        let entry = self
            .latest
            .entry((holding.blob, author))
            .or_insert((seq, holding.held));
        if seq >= entry.0 {
            *entry = (seq, holding.held);
        }
    }

    /// The holders every statement in a page set names (after a book was cut, by a fork or a
    /// removal, rebuild from the pages that still count: an older statement may count again).
    pub fn rebuild<'a>(
        statements: impl IntoIterator<Item = (UserId, u64, &'a HoldingBody)>,
    ) -> Self {
        let mut holders = Self::default();
        for (author, seq, holding) in statements {
            holders.apply(author, seq, holding);
        }
        holders
    }

    /// Members whose latest statement says they hold `blob`.
    pub fn of(&self, blob: &BlobId) -> BTreeSet<UserId> {
        self.latest
            .range((*blob, UserId::from_bytes([0; 32]))..)
            .take_while(|((b, _), _)| b == blob)
            .filter(|(_, (_, held))| *held)
            .map(|((_, member), _)| *member)
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn user(n: u8) -> UserId {
        UserId::from_bytes([n; 32])
    }

    fn holding(n: u8, held: bool) -> HoldingBody {
        HoldingBody {
            blob: BlobId([n; 32]),
            held,
        }
    }

    #[test]
    fn the_latest_statement_of_each_member_counts_in_any_arrival_order() {
        let statements = [
            (user(1), 4, holding(9, true)),
            (user(2), 7, holding(9, true)),
            (user(2), 9, holding(9, false)),
            (user(3), 2, holding(9, true)),
            (user(3), 5, holding(8, true)),
        ];
        let forward = Holders::rebuild(statements.iter().map(|(a, s, h)| (*a, *s, h)));
        let backward = Holders::rebuild(statements.iter().rev().map(|(a, s, h)| (*a, *s, h)));
        assert_eq!(forward, backward);
        assert_eq!(
            forward.of(&BlobId([9; 32])),
            BTreeSet::from([user(1), user(3)])
        );
        assert_eq!(forward.of(&BlobId([8; 32])), BTreeSet::from([user(3)]));
        assert!(forward.of(&BlobId([7; 32])).is_empty());
    }
}
