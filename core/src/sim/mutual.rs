//! Deterministic simulation of two owners removing each other at the same moment.
//!
//! A room of three honest peers (the founder and a second owner, and a member) over a lossy,
//! reordering network. Everyone writes messages throughout; at one tick each owner removes the
//! other, before either removal can have reached the other owner, and carries out its key
//! duties at once (so both start a new epoch). Owners keep doing their duties as they see
//! them; a member re-keys only when it wants to write and the current epoch is not writable.
//!
//! After healing, [`MutualRemovalSim::check`] verifies that exactly one removal counts, the same
//! on every peer, and that the remaining owner and the member agree on the members, the pages,
//! the display order and the epoch chain, owe no key duty, hold the current epoch (which the
//! removed owner does not) and open every page that counts. The removed owner, an unmodified
//! client, learns that it was removed, by the same page. Both removals are checked to have been
//! concurrent, so a run cannot pass without the race it is about.

use std::collections::{BTreeMap, BTreeSet};

use super::wire::{Packet, Wire};
use super::{SplitMix64, Violation, commit_and_announce, timers};
use crate::crypto::RoomSecret;
use crate::identity::{Identity, UserId};
use crate::membership::{KeyDuty, Standing};
use crate::page::{Body, ControlOp, MessageBody, PageRef, Role, RoomId};
use crate::room::{KeyWait, Replica, WriteError, group_room_id};
use crate::sync::SyncSession;

const TICK_MS: u64 = 100;
const PEERS: usize = 3;
/// Virtual milliseconds of chaos (loss, writes, the removals), then of healing.
const CHAOS_MS: u64 = 3_000;
const HEAL_MS: u64 = 30_000;

struct Node {
    identity: Identity,
    replica: Replica,
    sessions: BTreeMap<usize, SyncSession>,
}

/// The world of two owners removing each other.
#[allow(missing_debug_implementations)]
pub struct MutualRemovalSim {
    seed: u64,
    rng: SplitMix64,
    now: u64,
    nodes: Vec<Node>,
    network: Wire<usize>,
    remove_at: u64,
    /// The removal each owner wrote: (owner index, page).
    removals: Vec<(usize, PageRef)>,
    /// What each owner had seen of the other's book when it removed it.
    seens: BTreeMap<usize, u64>,
}

impl MutualRemovalSim {
    /// Builds the room for `seed`: node 0 creates it and admits node 1 as an owner and node 2
    /// as a member.
    pub fn new(seed: u64) -> Self {
        let mut rng = SplitMix64::new(seed ^ 0x00A1_1CE0_B0B0_0002);
        let secret = RoomSecret::from_bytes(rng.bytes());
        let identity = |rng: &mut SplitMix64| loop {
            if let Ok(id) = Identity::from_secret_bytes(rng.bytes()) {
                break id;
            }
        };
        let ids: Vec<Identity> = (0..PEERS).map(|_| identity(&mut rng)).collect();
        let create_nonce = rng.bytes();
        let room: RoomId = group_room_id(&ids[0].user_id(), &create_nonce);
        let mut founder = Replica::new(room, &secret);
        let mut pages = Vec::new();
        let bodies = [
            (
                Body::Control(ControlOp::Create {
                    name: "mutual".into(),
                    direct: None,
                }),
                create_nonce,
            ),
            (
                Body::Control(ControlOp::Admit {
                    member: ids[1].user_id(),
                    role: Role::Owner,
                }),
                rng.bytes(),
            ),
            (
                Body::Control(ControlOp::Admit {
                    member: ids[2].user_id(),
                    role: Role::Member,
                }),
                rng.bytes(),
            ),
        ];
        for (body, nonce) in bodies {
            if let Ok(page) = founder.write(&ids[0], &body, 1, nonce) {
                pages.push(page.into_page());
            }
        }
        let user_ids: Vec<UserId> = ids.iter().map(Identity::user_id).collect();
        let nodes = ids
            .into_iter()
            .enumerate()
            .map(|(i, identity)| {
                let mut replica = Replica::new(room, &secret).with_member(&identity);
                replica.ingest_at(pages.clone(), 1);
                super::commit_everything(&mut replica);
                let sessions = (0..PEERS)
                    .filter(|j| *j != i)
                    .map(|j| (j, SyncSession::new(&replica, user_ids[j], 0)))
                    .collect();
                Node {
                    identity,
                    replica,
                    sessions,
                }
            })
            .collect();
        let remove_at = (5 + rng.below(15)) * TICK_MS;
        let mut sim = Self {
            seed,
            rng,
            now: 0,
            nodes,
            network: Wire::new(),
            remove_at,
            removals: Vec::new(),
            seens: BTreeMap::new(),
        };
        for i in 0..PEERS {
            sim.flush(i);
        }
        sim
    }

    fn send(&mut self, from: usize, to: usize, bytes: Vec<u8>) {
        let chaos = self.now < CHAOS_MS;
        if chaos && self.rng.chance(0.1) {
            return;
        }
        let delay = 1 + self.rng.below(if chaos { 300 } else { 30 });
        self.network.send(self.now + delay, from, to, bytes);
    }

    fn flush(&mut self, i: usize) {
        for (peer, bytes) in super::outbox(&mut self.nodes[i].sessions) {
            self.send(i, peer, bytes);
        }
    }

    fn deliver(&mut self, packet: Packet<usize>) {
        let now = self.now;
        let node = &mut self.nodes[packet.to];
        let Some(session) = node.sessions.get_mut(&packet.from) else {
            return;
        };
        let _accepted = session.handle_bytes(&packet.bytes, &mut node.replica, now);
        commit_and_announce(&mut node.replica, &mut node.sessions, now);
        self.flush(packet.to);
    }

    /// Writes `body` as node `i`, re-keying first when the room asks for it.
    fn write(&mut self, i: usize, body: &Body) -> Option<PageRef> {
        let nonce = self.rng.bytes();
        let now = self.now;
        let node = &mut self.nodes[i];
        let mut written = node.replica.write(&node.identity, body, now, nonce);
        if written == Err(WriteError::Key(KeyWait::RekeyFirst)) {
            self.do_duties(i, true);
            let nonce = self.rng.bytes();
            let node = &mut self.nodes[i];
            written = node.replica.write(&node.identity, body, now, nonce);
        }
        let node = &mut self.nodes[i];
        let page = written.ok()?.page_ref();
        commit_and_announce(&mut node.replica, &mut node.sessions, now);
        self.flush(i);
        Some(page)
    }

    /// Writes the keys pages node `i` owes, as the app does: at once for an owner, for a member
    /// a re-key only when it is about to write (`writing`) and a share at once.
    fn do_duties(&mut self, i: usize, writing: bool) {
        let me = self.nodes[i].identity.user_id();
        let replica = &self.nodes[i].replica;
        let owes = match replica.key_duty() {
            None => false,
            Some(_) if replica.state().is_owner(&me) => true,
            Some(KeyDuty::Share { .. }) => true,
            Some(KeyDuty::Rekey { .. }) => writing,
            Some(KeyDuty::Grant { .. }) => false,
        };
        if !owes {
            return;
        }
        let mut wrote = false;
        // Bounded: each page settles a duty or a share of one.
        for _ in 0..4 {
            let fresh = RoomSecret::from_bytes(self.rng.bytes());
            let nonce = self.rng.bytes();
            let node = &mut self.nodes[i];
            match node
                .replica
                .write_keys(&node.identity, fresh, self.now, nonce)
            {
                Ok(Some(_)) => wrote = true,
                _ => break,
            }
        }
        if wrote {
            let now = self.now;
            let node = &mut self.nodes[i];
            commit_and_announce(&mut node.replica, &mut node.sessions, now);
            self.flush(i);
        }
    }

    fn tick(&mut self) {
        let now = self.now;
        if now < CHAOS_MS {
            for i in 0..PEERS {
                if self.rng.chance(0.1) {
                    let body = Body::Message(MessageBody::Text {
                        text: format!("{i} at {now}"),
                        reply_to: None,
                    });
                    self.write(i, &body);
                }
            }
            if now == self.remove_at {
                // Both owners decide in the same tick: neither removal can have reached the
                // other owner.
                let ids: Vec<UserId> = self.nodes.iter().map(|n| n.identity.user_id()).collect();
                for (i, other) in [(0, 1), (1, 0)] {
                    let member = ids[other];
                    let seen = self.nodes[i].replica.seen_of(&member);
                    self.seens.insert(i, seen);
                    let body = Body::Control(ControlOp::Remove { member, seen });
                    if let Some(page) = self.write(i, &body) {
                        self.removals.push((i, page));
                    }
                    self.do_duties(i, false);
                }
            }
        }
        for i in 0..PEERS {
            self.do_duties(i, false);
            let node = &mut self.nodes[i];
            timers(&mut node.replica, &mut node.sessions, now);
            self.flush(i);
        }
    }

    /// Runs chaos then healing, then checks.
    pub fn run(&mut self) -> Result<(), Violation> {
        while self.now < CHAOS_MS + HEAL_MS {
            self.tick();
            let next = self.now + TICK_MS;
            while let Some(packet) = self.network.next_due(next) {
                self.now = packet.at.max(self.now);
                self.deliver(packet);
            }
            self.now = next;
        }
        self.check()
    }

    fn violation(&self, what: String) -> Violation {
        Violation {
            seed: self.seed,
            what,
        }
    }

    /// The owner whose removal counts (the other was removed), as node 2 sees it.
    pub fn winner(&self) -> Option<usize> {
        let r = &self.nodes[2].replica;
        (0..2).find(|&i| r.state().is_owner(&self.nodes[i].identity.user_id()))
    }

    /// The invariants after healing (see the module docs).
    pub fn check(&self) -> Result<(), Violation> {
        if self.removals.len() != 2 {
            return Err(self.violation(format!(
                "{} of the two removals were written",
                self.removals.len()
            )));
        }
        // Concurrent: each owner removed the other without holding the other's removal page.
        for &(i, page) in &self.removals {
            let other = 1 - i;
            if self.seens.get(&other).is_some_and(|seen| *seen > page.seq) {
                return Err(self.violation(format!(
                    "node {other} had seen node {i}'s removal before writing its own"
                )));
            }
        }
        let Some(winner) = self.winner() else {
            return Err(self.violation("node 2 counts neither owner as an owner".into()));
        };
        let loser = 1 - winner;
        let ids: Vec<UserId> = self.nodes.iter().map(|n| n.identity.user_id()).collect();
        let view = |r: &Replica| {
            let members: Vec<(UserId, bool)> = r
                .state()
                .members()
                .keys()
                .map(|m| (*m, r.state().is_owner(m)))
                .collect();
            let pages: BTreeSet<PageRef> = r
                .books()
                .flat_map(|(_, b)| {
                    b.range(0..b.len())
                        .iter()
                        .map(|p| p.page_ref())
                        .collect::<Vec<_>>()
                })
                .collect();
            let order: Vec<(PageRef, bool)> =
                r.display_order().map(|k| (k.id, r.counts(k))).collect();
            (members, pages, order, r.epochs().chain().to_vec())
        };
        let remaining = [winner, 2];
        let reference = view(&self.nodes[2].replica);
        let expected_members: Vec<(UserId, bool)> = {
            let mut m = vec![(ids[winner], true), (ids[2], false)];
            m.sort();
            m
        };
        if reference.0 != expected_members {
            return Err(self.violation(format!(
                "node 2 ends with members {:?}, not the winner {winner} and itself",
                reference.0
            )));
        }
        for i in remaining {
            let r = &self.nodes[i].replica;
            let mine = view(r);
            if mine.0 != reference.0 {
                return Err(self.violation(format!("node {i} disagrees on the members")));
            }
            if mine.1 != reference.1 {
                return Err(self.violation(format!(
                    "node {i} holds {} pages, node 2 {}",
                    mine.1.len(),
                    reference.1.len()
                )));
            }
            if mine.2 != reference.2 {
                return Err(self.violation(format!("node {i} shows another order than node 2")));
            }
            if mine.3 != reference.3 {
                return Err(self.violation(format!(
                    "node {i} folds another epoch chain ({} epochs, node 2 {})",
                    mine.3.len(),
                    reference.3.len()
                )));
            }
            if r.pending_len() > 0 {
                return Err(self.violation(format!("node {i} still has pages waiting")));
            }
            if !matches!(r.standing(&ids[loser]), Standing::Former { .. }) {
                return Err(self.violation(format!("node {i} did not remove node {loser}")));
            }
            if let Some(duty) = r.key_duty() {
                return Err(self.violation(format!("node {i} still owes {duty:?}")));
            }
            let current = r.epochs().current();
            if current.is_none() || !r.holds_key(current) {
                return Err(self.violation(format!(
                    "node {i} does not hold the current epoch {current:?}"
                )));
            }
            if r.epochs().holds(&ids[loser], current) {
                return Err(self.violation(format!(
                    "node {i}: the removed owner holds the current epoch"
                )));
            }
            for (id, counts) in &mine.2 {
                let Some(page) = r.page(id) else { continue };
                if *counts && r.open(page).is_err() {
                    return Err(self.violation(format!(
                        "node {i} cannot open a counting page ({:?} {} of node {:?})",
                        page.kind(),
                        id.seq,
                        ids.iter().position(|u| *u == id.author)
                    )));
                }
            }
        }
        // Exactly one removal counts, and the same one everywhere.
        let r = &self.nodes[2].replica;
        for &(i, page) in &self.removals {
            let counts = r
                .display_order()
                .find(|k| k.id == page)
                .is_some_and(|k| r.counts(k));
            if counts != (i == winner) {
                return Err(self.violation(format!(
                    "node {i}'s removal {} on node 2",
                    if counts { "counts" } else { "does not count" }
                )));
            }
        }
        // The removed owner learned it, and that the other owner stayed.
        let lost = &self.nodes[loser].replica;
        if !matches!(lost.standing(&ids[loser]), Standing::Former { .. }) {
            return Err(self.violation(format!("node {loser} never learned of its removal")));
        }
        if !lost.state().is_owner(&ids[winner]) {
            return Err(self.violation(format!(
                "node {loser} does not see node {winner} as the owner that removed it"
            )));
        }
        Ok(())
    }
}
