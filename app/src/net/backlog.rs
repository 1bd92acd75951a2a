//! Events the node could not hand to the app at once, kept until the app's queue has room.
//!
//! The node reports state (relay up or down, a peer's link, our addresses, what presence
//! returned) through a bounded queue. Dropping an event when that queue is full would leave the
//! app believing an old state, for instance that the relay is still down. So an event that does
//! not fit waits here, and a newer event about the same thing (the same key) replaces it in
//! place: what the app eventually reads is the latest state of everything, in the order things
//! first changed. The backlog holds at most one event per key, so it is bounded by the number of
//! things there are to report on (the relay, our addresses, linked peers, registered
//! namespaces).

use std::collections::{BTreeMap, VecDeque};

/// Events waiting for room in the app's queue, at most one per key.
#[derive(Debug)]
pub struct Backlog<K, E> {
    order: VecDeque<K>,
    latest: BTreeMap<K, E>,
}

impl<K: Ord + Clone, E> Default for Backlog<K, E> {
    fn default() -> Self {
        Self {
            order: VecDeque::new(),
            latest: BTreeMap::new(),
        }
    }
}

impl<K: Ord + Clone, E> Backlog<K, E> {
    /// Keeps `event`, replacing a waiting event with the same key (which keeps its place).
    pub fn push(&mut self, key: K, event: E) {
        if self.latest.insert(key.clone(), event).is_none() {
            self.order.push_back(key);
        }
    }

    /// Puts back an event taken with [`Self::pop`] that still did not fit, ahead of the rest
    /// (unless a newer one with its key arrived meanwhile, which then wins).
    pub fn unpop(&mut self, key: K, event: E) {
        if !self.latest.contains_key(&key) {
            self.latest.insert(key.clone(), event);
            self.order.push_front(key);
        }
    }

    /// The oldest waiting event, with its key.
    pub fn pop(&mut self) -> Option<(K, E)> {
        let key = self.order.pop_front()?;
        let event = self.latest.remove(&key)?;
        Some((key, event))
    }

    pub fn is_empty(&self) -> bool {
        self.order.is_empty()
    }

    pub fn len(&self) -> usize {
        self.order.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn drain(backlog: &mut Backlog<&'static str, u32>) -> Vec<(&'static str, u32)> {
        std::iter::from_fn(|| backlog.pop()).collect()
    }

    #[test]
    fn the_app_reads_the_latest_state_of_everything_in_first_change_order() {
        let mut backlog = Backlog::default();
        backlog.push("relay", 0);
        backlog.push("peer a", 1);
        backlog.push("relay", 2);
        backlog.push("peer b", 3);
        backlog.push("peer a", 4);
        assert_eq!(backlog.len(), 3, "one event per thing");
        assert_eq!(
            drain(&mut backlog),
            [("relay", 2), ("peer a", 4), ("peer b", 3)]
        );
        assert!(backlog.is_empty());
    }

    #[test]
    fn an_event_that_still_did_not_fit_goes_back_first_unless_it_was_superseded() {
        let mut backlog = Backlog::default();
        backlog.push("relay", 1);
        backlog.push("peer a", 2);
        let (key, event) = backlog.pop().unwrap_or(("none", 0));
        backlog.unpop(key, event);
        assert_eq!(backlog.pop(), Some(("relay", 1)));
        backlog.push("relay", 3);
        backlog.unpop("relay", 1);
        assert_eq!(drain(&mut backlog), [("peer a", 2), ("relay", 3)]);
    }
}
