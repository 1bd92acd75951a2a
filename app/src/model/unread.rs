//! Unread counts: what the user has seen, per author, as book positions.
//!
//! A marker per author ("read the first n pages of this book") is exact even when a late page
//! lands earlier in the display order, which a single "read up to position k" would miscount.

use std::collections::BTreeMap;

use quire_core::identity::UserId;

/// How much of each author's book the user has read in one room.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ReadMarker {
    read: BTreeMap<UserId, u64>,
}

impl ReadMarker {
    pub fn from_lengths(lengths: impl IntoIterator<Item = (UserId, u64)>) -> Self {
        Self {
            read: lengths.into_iter().collect(),
        }
    }

    pub fn lengths(&self) -> impl Iterator<Item = (&UserId, u64)> {
        self.read.iter().map(|(a, l)| (a, *l))
    }

    pub fn is_read(&self, author: &UserId, seq: u64) -> bool {
        self.read.get(author).is_some_and(|len| *len > seq)
    }

    /// Messages (author, seq) by others that the user has not read. Own messages are never
    /// unread.
    pub fn unread<'a>(
        &self,
        me: &UserId,
        messages: impl IntoIterator<Item = &'a (UserId, u64)>,
    ) -> usize {
        messages
            .into_iter()
            .filter(|(author, seq)| author != me && !self.is_read(author, *seq))
            .count()
    }

    /// Marks everything up to the given book lengths as read (the room is open and visible).
    /// Markers only move forward. Returns whether anything changed (and should be saved).
    pub fn mark_read(&mut self, lengths: impl IntoIterator<Item = (UserId, u64)>) -> bool {
        let mut changed = false;
        for (author, len) in lengths {
            let entry = self.read.entry(author).or_insert(0);
            if len > *entry {
                *entry = len;
                changed = true;
            }
        }
        changed
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn new_messages_from_others_are_unread_until_the_room_is_read() {
        let (me, bo) = (UserId::from_bytes([1; 32]), UserId::from_bytes([2; 32]));
        let mut marker = ReadMarker::default();
        let messages = [(bo, 0), (me, 0), (bo, 1)];
        assert_eq!(marker.unread(&me, &messages), 2);
        assert!(marker.mark_read([(bo, 2), (me, 1)]));
        assert_eq!(marker.unread(&me, &messages), 0);
        assert!(!marker.mark_read([(bo, 1)]), "markers never move back");
        assert_eq!(marker.unread(&me, &[(bo, 2)]), 1);
    }
}
