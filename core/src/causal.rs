//! Causal delivery and the display order of a room's pages.
//!
//! A page is *released* for display only once every page it depends on (its `refs` and its
//! predecessor in its own book) has been released. Pages whose dependencies are missing wait in a
//! bounded buffer and their missing dependencies are reported so the sync layer can fetch them.
//!
//! # Display order
//!
//! Every released page gets a [`DisplayKey`] computed from the page and its dependencies only:
//!
//! - `time = max(author timestamp, time of every dependency)`: a hybrid logical clock. A reply is
//!   never shown before what it answers even when the replier's clock runs behind;
//! - `depth = 1 + max(depth of every dependency)` (0 without dependencies): separates a page from
//!   a dependency that has the same `time`;
//! - `id`: the page id's own `Ord` (for a `PageRef`-like id: author, then seq, then hash) breaks the
//!   remaining ties, and also orders the two sides of an equivocation.
//!
//! Pages are displayed in ascending key order. Since a dependency always has a strictly smaller
//! `(time, depth)`, that order is a topological order of the dependency graph, and since keys are a
//! function of the page set alone, **two peers holding the same pages show them in the same order,
//! whatever order they arrived in**.
//!
//! # Late arrivals
//!
//! A page written concurrently with pages already on screen (its author had not seen them, e.g.
//! they were offline) can have a smaller key than pages already displayed. It is then *inserted*
//! at its place rather than appended: [`Released::follows`] names the page it is displayed right
//! after, so a UI can insert it there (and may mark it as late). The order still converges because
//! it is the sorted order of a set. A page cannot jump above anything it depends on, and no
//! displayed page moves relative to another displayed page.
//!
//! Clock skew: a page stamped in the far future drags its descendants' `time` up with it, so
//! replies stay below it; pages concurrent with it are unaffected. How far ahead a timestamp
//! may be is bounded by the replica, which holds back pages stamped more than
//! [`crate::membership::MAX_CLOCK_SKEW_MS`] after the receiver's clock until that time. Room
//! state does not depend on this order at all: it folds in [`crate::membership::FoldKey`] order.

use std::collections::{BTreeMap, BTreeSet};

/// Most pages that may wait for missing dependencies at once.
///
/// Why: each entry costs about a hundred bytes, so this bounds the buffer to a few megabytes per
/// room. Sync pulls each book from its start in order and requests gaps as they are reported, so an
/// honest catch-up of a 10,000-page room stays well below it; a peer that feeds pages referring to
/// pages that never come is stopped here instead of growing memory without limit.
pub const MAX_PENDING: usize = 32_768;

/// Where a released page sits in the display order. Ascending keys are the display order.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct DisplayKey<I> {
    /// Hybrid logical time: max of the author's timestamp and the times of all dependencies.
    pub time: u64,
    /// Longest dependency chain below this page.
    pub depth: u64,
    /// The page itself; last tie-break.
    pub id: I,
}

/// A page that just became displayable.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Released<I> {
    /// Its place in the display order.
    pub key: DisplayKey<I>,
    /// The page displayed right before it at release time (`None`: it is now the first page).
    /// When this is not the previously last page, the page is a late arrival inserted mid-history.
    pub follows: Option<I>,
}

/// Why a page could not be taken into the causal buffer.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CausalError {
    /// More than [`MAX_PENDING`] pages are already waiting; the page must be offered again later
    /// (the sync layer will pull it again).
    #[error("too many pages waiting for dependencies ({MAX_PENDING})")]
    PendingFull,
    /// A page listed itself as a dependency; it could never be released.
    #[error("page depends on itself")]
    SelfDependency,
}

#[derive(Debug, Clone)]
struct Pending<I> {
    timestamp: u64,
    deps: Vec<I>,
    missing: usize,
}

/// The causal buffer and display order of one room. Generic over the page id so it can be tested
/// and reasoned about on its own.
#[derive(Debug, Clone)]
pub struct CausalOrder<I> {
    released: BTreeMap<I, (u64, u64)>,
    order: BTreeSet<DisplayKey<I>>,
    pending: BTreeMap<I, Pending<I>>,
    /// Unreleased dependency -> pending pages waiting on it.
    waiters: BTreeMap<I, BTreeSet<I>>,
}

impl<I: Ord + Clone> Default for CausalOrder<I> {
    fn default() -> Self {
        Self::new()
    }
}

impl<I: Ord + Clone> CausalOrder<I> {
    /// An empty room.
    pub fn new() -> Self {
        Self {
            released: BTreeMap::new(),
            order: BTreeSet::new(),
            pending: BTreeMap::new(),
            waiters: BTreeMap::new(),
        }
    }

    /// Offers a page: its id, its author timestamp and the ids it depends on (refs and predecessor).
    ///
    /// Returns the pages released by this call in release order: this page, if its dependencies are
    /// all released, followed by any waiting pages it unblocked. Offering a page already released
    /// or waiting is a no-op, so duplicates from the network are harmless.
    pub fn insert(
        &mut self,
        id: I,
        timestamp: u64,
        deps: impl IntoIterator<Item = I>,
    ) -> Result<Vec<Released<I>>, CausalError> {
        self.offer(id, timestamp, deps, MAX_PENDING)
    }

    /// Like [`CausalOrder::insert`] but without the [`MAX_PENDING`] cap, for rebuilding from
    /// local storage (bounded by what was stored), where pages come in storage order rather than
    /// causal order. A self-dependent page is ignored.
    pub fn insert_unbounded(
        &mut self,
        id: I,
        timestamp: u64,
        deps: impl IntoIterator<Item = I>,
    ) -> Vec<Released<I>> {
        self.offer(id, timestamp, deps, usize::MAX)
            .unwrap_or_default()
    }

    fn offer(
        &mut self,
        id: I,
        timestamp: u64,
        deps: impl IntoIterator<Item = I>,
        max_pending: usize,
    ) -> Result<Vec<Released<I>>, CausalError> {
        if self.released.contains_key(&id) || self.pending.contains_key(&id) {
            return Ok(Vec::new());
        }
        let mut deps: Vec<I> = deps.into_iter().collect();
        deps.sort();
        deps.dedup();
        if deps.contains(&id) {
            return Err(CausalError::SelfDependency);
        }
        let missing: Vec<&I> = deps
            .iter()
            .filter(|d| !self.released.contains_key(*d))
            .collect();
        if missing.is_empty() {
            let mut out = Vec::new();
            self.release(id, timestamp, &deps, &mut out);
            return Ok(out);
        }
        if self.pending.len() >= max_pending {
            return Err(CausalError::PendingFull);
        }
        let missing_count = missing.len();
        for dep in missing {
            self.waiters
                .entry(dep.clone())
                .or_default()
                .insert(id.clone());
        }
        self.pending.insert(
            id,
            Pending {
                timestamp,
                deps,
                missing: missing_count,
            },
        );
        Ok(Vec::new())
    }

    /// Releases `id` and then, breadth first, everything that was waiting only on released pages.
    fn release(&mut self, id: I, timestamp: u64, deps: &[I], out: &mut Vec<Released<I>>) {
        let mut ready = vec![(id, timestamp, deps.to_vec())];
        while let Some((id, timestamp, deps)) = ready.pop() {
            let (time, depth) = deps
                .iter()
                .filter_map(|d| self.released.get(d))
                .fold((timestamp, 0), |(t, h), (dt, dh)| {
                    (t.max(*dt), h.max(dh.saturating_add(1)))
                });
            let key = DisplayKey {
                time,
                depth,
                id: id.clone(),
            };
            let follows = self.order.range(..&key).next_back().map(|k| k.id.clone());
            self.order.insert(key.clone());
            self.released.insert(id.clone(), (time, depth));
            out.push(Released { key, follows });
            for waiter in self.waiters.remove(&id).unwrap_or_default() {
                let unblocked = match self.pending.get_mut(&waiter) {
                    Some(p) => {
                        p.missing = p.missing.saturating_sub(1);
                        p.missing == 0
                    }
                    None => false,
                };
                if unblocked && let Some(p) = self.pending.remove(&waiter) {
                    ready.push((waiter, p.timestamp, p.deps));
                }
            }
        }
    }

    /// Ids that waiting pages depend on and that this room has not seen at all (neither released
    /// nor waiting): what the sync layer should fetch.
    pub fn missing(&self) -> impl Iterator<Item = &I> + '_ {
        self.waiters
            .keys()
            .filter(|d| !self.pending.contains_key(*d) && !self.released.contains_key(*d))
    }

    /// Whether a waiting page depends on `id` (which is itself not released).
    pub fn is_awaited(&self, id: &I) -> bool {
        self.waiters.contains_key(id)
    }

    /// Whether a page has been released for display.
    pub fn is_released(&self, id: &I) -> bool {
        self.released.contains_key(id)
    }

    /// Whether a page is known (released or waiting).
    pub fn contains(&self, id: &I) -> bool {
        self.released.contains_key(id) || self.pending.contains_key(id)
    }

    /// The display key of a released page.
    pub fn key_of(&self, id: &I) -> Option<DisplayKey<I>> {
        self.released.get(id).map(|(time, depth)| DisplayKey {
            time: *time,
            depth: *depth,
            id: id.clone(),
        })
    }

    /// Released pages in display order.
    pub fn iter(&self) -> impl DoubleEndedIterator<Item = &DisplayKey<I>> + '_ {
        self.order.iter()
    }

    /// Released pages displayed strictly after `key` (for re-evaluating state after a late insert).
    pub fn after<'a>(
        &'a self,
        key: &'a DisplayKey<I>,
    ) -> impl DoubleEndedIterator<Item = &'a DisplayKey<I>> + 'a {
        self.order
            .range((std::ops::Bound::Excluded(key), std::ops::Bound::Unbounded))
    }

    /// Number of released pages.
    pub fn released_len(&self) -> usize {
        self.released.len()
    }

    /// Number of pages waiting for dependencies.
    pub fn pending_len(&self) -> usize {
        self.pending.len()
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// A random DAG: page i depends on a few earlier pages.
    fn dag() -> impl Strategy<Value = Vec<(u32, u64, Vec<u32>)>> {
        (1usize..40).prop_flat_map(|n| {
            proptest::collection::vec((0u64..50, proptest::collection::vec(any::<u32>(), 0..4)), n)
                .prop_map(|raw| {
                    raw.into_iter()
                        .enumerate()
                        .map(|(i, (ts, deps))| {
                            let i = i as u32;
                            let deps = if i == 0 {
                                vec![]
                            } else {
                                deps.into_iter().map(|d| d % i).collect()
                            };
                            (i, ts, deps)
                        })
                        .collect()
                })
        })
    }

    fn order_of(pages: &[(u32, u64, Vec<u32>)]) -> (Vec<u32>, CausalOrder<u32>) {
        let mut c = CausalOrder::new();
        for (id, ts, deps) in pages {
            c.insert(*id, *ts, deps.clone()).unwrap();
        }
        (c.iter().map(|k| k.id).collect(), c)
    }

    #[test]
    fn at_most_max_pending_pages_wait_and_the_cap_frees_as_they_are_released() {
        let mut c = CausalOrder::new();
        // Pages 1..=MAX_PENDING all wait on page 0, which never came.
        let cap = MAX_PENDING as u32;
        for id in 1..=cap {
            assert!(c.insert(id, 1, [0]).unwrap().is_empty());
        }
        assert_eq!(c.pending_len(), MAX_PENDING);
        assert_eq!(c.insert(cap + 1, 1, [0]), Err(CausalError::PendingFull));
        // A page whose dependencies are all present is never refused: it waits for nothing.
        let released = c.insert(0, 0, std::iter::empty()).unwrap();
        assert_eq!(
            released.len(),
            MAX_PENDING + 1,
            "page 0 and all that waited on it"
        );
        assert_eq!(c.pending_len(), 0);
        assert!(c.insert(cap + 1, 1, [0]).unwrap().len() == 1);
        // Rebuilding from storage is not capped.
        let mut rebuilt = CausalOrder::new();
        for id in 1..=cap + 1 {
            assert!(rebuilt.insert_unbounded(id, 1, [0]).is_empty());
        }
        assert_eq!(rebuilt.pending_len(), MAX_PENDING + 1);
    }

    #[test]
    fn waits_for_dependencies_then_releases_in_a_cascade() {
        let mut c = CausalOrder::new();
        assert!(c.insert(3, 30, [2]).unwrap().is_empty());
        assert!(c.insert(2, 20, [1]).unwrap().is_empty());
        assert_eq!(c.missing().collect::<Vec<_>>(), vec![&1]);
        let released: Vec<u32> = c
            .insert(1, 10, [])
            .unwrap()
            .iter()
            .map(|r| r.key.id)
            .collect();
        assert_eq!(released, vec![1, 2, 3]);
        assert_eq!(c.pending_len(), 0);
        assert_eq!(c.missing().count(), 0);
    }

    #[test]
    fn reply_from_a_slow_clock_still_follows_what_it_answers() {
        let mut c = CausalOrder::new();
        c.insert(1, 1_000, []).unwrap();
        c.insert(2, 5, [1]).unwrap();
        c.insert(3, 900, []).unwrap();
        assert_eq!(c.iter().map(|k| k.id).collect::<Vec<_>>(), vec![3, 1, 2]);
    }

    #[test]
    fn late_concurrent_page_is_inserted_mid_history() {
        let mut c = CausalOrder::new();
        c.insert(1, 10, []).unwrap();
        c.insert(2, 30, [1]).unwrap();
        let late = c.insert(7, 20, [1]).unwrap();
        assert_eq!(late[0].follows, Some(1), "shown between 1 and 2");
        assert_eq!(c.iter().map(|k| k.id).collect::<Vec<_>>(), vec![1, 7, 2]);
    }

    #[test]
    fn duplicates_are_ignored_and_self_dependency_rejected() {
        let mut c = CausalOrder::new();
        assert_eq!(c.insert(1, 1, []).unwrap().len(), 1);
        assert!(c.insert(1, 1, []).unwrap().is_empty());
        assert_eq!(c.insert(2, 1, [2]), Err(CausalError::SelfDependency));
    }

    proptest! {
        #[test]
        fn order_is_a_function_of_the_set_and_respects_dependencies(
            pages in dag(),
            seed in any::<u64>(),
        ) {
            let (expected, _) = order_of(&pages);
            prop_assert_eq!(expected.len(), pages.len());
            let position: BTreeMap<u32, usize> =
                expected.iter().enumerate().map(|(i, id)| (*id, i)).collect();
            for (id, _, deps) in &pages {
                for d in deps {
                    prop_assert!(position[d] < position[id], "{d} must precede {id}");
                }
            }
            // Any arrival order, with duplicates, yields the same display order.
            let mut shuffled = pages.clone();
            let mut s = seed;
            for i in (1..shuffled.len()).rev() {
                s = s.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
                shuffled.swap(i, (s >> 33) as usize % (i + 1));
            }
            shuffled.extend(pages.iter().take(3).cloned());
            let (again, c) = order_of(&shuffled);
            prop_assert_eq!(again, expected);
            prop_assert_eq!(c.pending_len(), 0);
        }

        #[test]
        fn follows_reconstructs_the_display_order(pages in dag(), seed in any::<u64>()) {
            let mut shuffled = pages.clone();
            let mut s = seed;
            for i in (1..shuffled.len()).rev() {
                s = s.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
                shuffled.swap(i, (s >> 33) as usize % (i + 1));
            }
            let mut c = CausalOrder::new();
            let mut screen: Vec<u32> = Vec::new();
            for (id, ts, deps) in shuffled {
                for r in c.insert(id, ts, deps).unwrap() {
                    let at = match r.follows {
                        None => 0,
                        Some(f) => screen.iter().position(|x| *x == f).unwrap() + 1,
                    };
                    screen.insert(at, r.key.id);
                }
            }
            prop_assert_eq!(screen, c.iter().map(|k| k.id).collect::<Vec<_>>());
        }
    }
}
