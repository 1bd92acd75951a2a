//! Connection plan: which online members of a room a peer should hold links to.
//!
//! Small rooms use a full mesh: every page reaches every member in one hop and the link count is
//! trivially bounded. Beyond [`FULL_MESH_MAX`] online members, each peer keeps its two ring
//! neighbours (online members sorted by id, wrapping around) plus one skip link per power of two:
//! the member at distance `2^k` in id order. Pages flood through this overlay, so any page reaches
//! any member in at most `2 * ceil(log2 n)` hops.
//!
//! # Symmetry
//!
//! A link is one connection used in both directions, so the plan must be symmetric: if `a` plans a
//! link to `b`, then `b` plans a link to `a` (otherwise one side would keep dialling a peer that
//! keeps closing the connection). Ring neighbours are symmetric by definition. For the skip links a
//! naive "forward by 2^k" rule would be symmetric only by also keeping the backward links, doubling
//! the degree. Instead the skip link at distance `2^k` goes to rank `r XOR 2^k` (forward when bit
//! `k` of my rank is clear, backward when set): XOR is an involution, so the partner's skip link at
//! the same level points back at me, and each level costs exactly one link. Ranks whose partner
//! would fall outside the room (`r XOR 2^k >= n`, only when `n` is not a power of two) simply have
//! no link at that level; the overlay stays connected because from any rank clearing its set bits
//! one at a time reaches rank 0 through ranks that all exist.
//!
//! # Degree bound
//!
//! With `K = ceil(log2 n)` levels the level-0 partner `r XOR 1` is always a ring neighbour, so a
//! member holds at most `2 + (K - 1) = K + 1 <= log2(n) + 2` links. For a 64-member room that is 7.
//!
//! The plan is a pure function of the online set: every member computes the same overlay from the
//! same presence information, and when presence changes each member just reconciles its open links
//! against the new plan.

use std::collections::BTreeSet;

use crate::crypto::RoomSecret;
use crate::page::RoomId;

/// BLAKE3 key-derivation context for presence namespaces.
pub const PRESENCE_NAMESPACE_CONTEXT: &str = "quire 2026-12 presence namespace v2";

/// How long one presence namespace lasts: a day (UTC days since the Unix epoch). Why: the relay
/// (and anyone watching it) sees a label that changes daily, so it cannot follow a room's
/// members from one day to the next, while a member registers once a day and looks up two
/// labels; a clock off by minutes still meets the others in one of them.
pub const PRESENCE_WINDOW_MS: u64 = 24 * 60 * 60 * 1000;

/// The rendezvous namespace under which a room's members announce themselves to the relay in
/// time window `window` (`now_ms / PRESENCE_WINDOW_MS`), keyed by an epoch secret of the room.
///
/// Why keyed by the secret: the relay must not learn room ids (they name rooms in pages and
/// invites), and nobody who merely knows a room id (1:1 room ids follow from two public user
/// ids) or held a key the room has since replaced may find or track its members. 128 bits keep it
/// short (the rendezvous limit is 255 bytes) and collision-free in practice.
pub fn presence_namespace(room: &RoomId, secret: &RoomSecret, window: u64) -> String {
    let mut kdf = blake3::Hasher::new_derive_key(PRESENCE_NAMESPACE_CONTEXT);
    kdf.update(secret.as_bytes());
    kdf.update(&room.0);
    kdf.update(&window.to_be_bytes());
    let hash = kdf.finalize();
    let mut out = String::from("quire/");
    for byte in &hash.as_bytes()[..16] {
        out.push_str(&format!("{byte:02x}"));
    }
    out
}

/// Where a member announces itself and where it looks for others, at `now_ms`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PresencePlan {
    /// The one namespace to be registered under: the current window's, from the newest epoch
    /// secret held.
    pub register: String,
    /// Namespaces to look up: the current and previous window's of the newest secret, and of
    /// the room's original secret when that is another one (requesters, who hold only it, are
    /// found there; members do not register there once the room was re-keyed).
    pub discover: Vec<String>,
}

/// The presence plan of `room` for a device whose newest epoch secret is `newest`, and which
/// also holds the room's `original` secret (epoch 0) if that differs.
pub fn presence_plan(
    room: &RoomId,
    newest: &RoomSecret,
    original: Option<&RoomSecret>,
    now_ms: u64,
) -> PresencePlan {
    let window = now_ms / PRESENCE_WINDOW_MS;
    let mut discover = Vec::with_capacity(4);
    for secret in std::iter::once(newest).chain(original.filter(|o| *o != newest)) {
        for w in [window, window.saturating_sub(1)] {
            let ns = presence_namespace(room, secret, w);
            if !discover.contains(&ns) {
                discover.push(ns);
            }
        }
    }
    PresencePlan {
        register: presence_namespace(room, newest, window),
        discover,
    }
}

/// Up to this many online members (including me) every member links to every other one.
///
/// Why 10: browsers comfortably hold that many WebRTC peer connections, and at 10 a full mesh is 9
/// links per member, about what the skip overlay needs for rooms in the hundreds anyway.
pub const FULL_MESH_MAX: usize = 10;

/// Members I should hold links to, given my id and the ids of the room's online members.
///
/// `online` may or may not contain `me` and may contain duplicates; I am always part of the
/// overlay (I am online by definition when I compute a plan) and never linked to myself.
pub fn planned_links<T: Ord + Clone>(me: &T, online: &[T]) -> BTreeSet<T> {
    let mut members: BTreeSet<&T> = online.iter().collect();
    members.insert(me);
    let sorted: Vec<&T> = members.into_iter().collect();
    let n = sorted.len();
    let mut links = BTreeSet::new();
    if n <= FULL_MESH_MAX {
        links.extend(sorted.iter().filter(|m| **m != me).map(|m| (*m).clone()));
        return links;
    }
    // `me` was inserted above, so the search cannot fail; treat failure as "no plan".
    let Ok(rank) = sorted.binary_search(&me) else {
        return links;
    };
    links.insert(sorted[(rank + 1) % n].clone());
    links.insert(sorted[(rank + n - 1) % n].clone());
    let mut distance = 2usize;
    while distance < n {
        let partner = rank ^ distance;
        if partner < n {
            links.insert(sorted[partner].clone());
        }
        distance <<= 1;
    }
    links
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::collections::{BTreeMap, VecDeque};

    #[test]
    fn presence_namespaces_need_the_secret_and_change_per_room_epoch_and_day() {
        let secret = RoomSecret::from_bytes([9; 32]);
        let a = presence_namespace(&RoomId([1; 32]), &secret, 7);
        assert_eq!(a, presence_namespace(&RoomId([1; 32]), &secret, 7));
        assert_eq!(a.len(), "quire/".len() + 32);
        assert!(!a.contains("0101010101"), "the room id is not in the label");
        // Another room, another epoch's secret, another day: another label.
        assert_ne!(a, presence_namespace(&RoomId([2; 32]), &secret, 7));
        let rekeyed = RoomSecret::from_bytes([10; 32]);
        assert_ne!(a, presence_namespace(&RoomId([1; 32]), &rekeyed, 7));
        assert_ne!(a, presence_namespace(&RoomId([1; 32]), &secret, 8));
    }

    #[test]
    fn a_member_registers_today_and_looks_up_today_and_yesterday() {
        let room = RoomId([1; 32]);
        let (newest, original) = (
            RoomSecret::from_bytes([2; 32]),
            RoomSecret::from_bytes([3; 32]),
        );
        let noon_day_5 = 5 * PRESENCE_WINDOW_MS + PRESENCE_WINDOW_MS / 2;
        let plan = presence_plan(&room, &newest, None, noon_day_5);
        assert_eq!(plan.register, presence_namespace(&room, &newest, 5));
        assert_eq!(
            plan.discover,
            [
                presence_namespace(&room, &newest, 5),
                presence_namespace(&room, &newest, 4)
            ]
        );
        // Someone whose clock is a little behind, just before midnight, is still found.
        let late_day_4 = 5 * PRESENCE_WINDOW_MS - 60_000;
        assert!(
            plan.discover
                .contains(&presence_plan(&room, &newest, None, late_day_4).register)
        );
        // After a re-key, requesters (who hold only the original secret) are looked for too,
        // but nobody registers there.
        let plan = presence_plan(&room, &newest, Some(&original), noon_day_5);
        assert_eq!(plan.discover.len(), 4);
        assert!(
            plan.discover
                .contains(&presence_namespace(&room, &original, 5))
        );
        assert_eq!(plan.register, presence_namespace(&room, &newest, 5));
        assert_eq!(
            presence_plan(&room, &newest, Some(&newest), 0)
                .discover
                .len(),
            1
        );
    }

    fn plan_all(n: u32) -> BTreeMap<u32, BTreeSet<u32>> {
        let online: Vec<u32> = (0..n).map(|i| i * 7 + 3).collect();
        online
            .iter()
            .map(|m| (*m, planned_links(m, &online)))
            .collect()
    }

    fn reaches_everyone(plan: &BTreeMap<u32, BTreeSet<u32>>) -> bool {
        let Some(start) = plan.keys().next() else {
            return true;
        };
        let mut seen = BTreeSet::from([*start]);
        let mut queue = VecDeque::from([*start]);
        while let Some(at) = queue.pop_front() {
            for next in &plan[&at] {
                if seen.insert(*next) {
                    queue.push_back(*next);
                }
            }
        }
        seen.len() == plan.len()
    }

    fn hop_diameter(plan: &BTreeMap<u32, BTreeSet<u32>>) -> Option<usize> {
        let mut worst = 0;
        for start in plan.keys() {
            let mut seen = BTreeMap::from([(*start, 0usize)]);
            let mut queue = VecDeque::from([*start]);
            while let Some(at) = queue.pop_front() {
                let d = seen[&at];
                for next in &plan[&at] {
                    if !seen.contains_key(next) {
                        seen.insert(*next, d + 1);
                        queue.push_back(*next);
                    }
                }
            }
            if seen.len() != plan.len() {
                return None;
            }
            worst = worst.max(seen.values().copied().max().unwrap_or(0));
        }
        Some(worst)
    }

    #[test]
    fn small_rooms_are_a_full_mesh() {
        let online = [5u32, 1, 9, 3];
        assert_eq!(
            planned_links(&1, &online),
            BTreeSet::from([3, 5, 9]),
            "everyone but me"
        );
        assert_eq!(
            planned_links(&7, &online).len(),
            4,
            "me not yet in the list"
        );
        assert!(planned_links(&1, &[1]).is_empty(), "alone: no links");
    }

    #[test]
    fn sixty_four_members_hold_at_most_log2_plus_two_links() {
        let plan = plan_all(64);
        for (member, links) in &plan {
            assert!(links.len() <= 8, "{member} holds {} links", links.len());
        }
        assert!(hop_diameter(&plan).unwrap() <= 6);
    }

    #[test]
    fn eleven_members_leave_the_full_mesh() {
        let plan = plan_all(11);
        assert!(plan.values().all(|l| l.len() < 10));
        assert!(hop_diameter(&plan).is_some());
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]
        #[test]
        fn plan_is_symmetric_connected_and_bounded(n in 1u32..200) {
            let plan = plan_all(n);
            for (a, links) in &plan {
                prop_assert!(!links.contains(a));
                for b in links {
                    prop_assert!(plan[b].contains(a), "{a}->{b} not mirrored");
                }
                let bound = (f64::from(n)).log2().floor() as usize + 2;
                prop_assert!(links.len() <= bound.max(FULL_MESH_MAX - 1));
                if n as usize > FULL_MESH_MAX {
                    prop_assert!(links.len() as f64 <= f64::from(n).log2() + 2.0);
                }
            }
            prop_assert!(reaches_everyone(&plan), "overlay disconnected at n={n}");
        }
    }
}
