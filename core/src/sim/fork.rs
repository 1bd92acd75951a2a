//! Deterministic simulation of a forked book: an author forks at seq `k` and shows each branch
//! to a different group of peers, who then sync with each other over a lossy network.
//!
//! Setup: peer 0 creates the room and admits every honest peer and the author; the author
//! writes `k` common pages, then two branches from `k` on (each at least one page long). Every
//! honest peer is given a random prefix of one branch (each branch reaches at least one peer
//! beyond `k`), writes a few messages that refer to what it holds of the author's book, and
//! opens sessions to the others at random times. During the chaos phase messages are lost,
//! duplicated and delayed at random (so peers compare the branches at different seqs, in a
//! random order); then the network heals.
//!
//! [`ForkSim::check`] then requires every honest peer to hold the author's book cut at exactly
//! `k` with a proof at `k`, the same pages in every book, and the same display order; every
//! honest page shown and counting; and past the cut exactly the chain the fork rule names
//! ([`crate::room`]), worked out here from the branches as written: the branch of the reference
//! (into the book past `k`) whose referencing page has the least hash, up to the highest page of
//! that branch any honest page referenced.

use std::collections::BTreeMap;

use super::wire::{Packet, Wire};
use super::{SplitMix64, Violation};
use crate::crypto::RoomSecret;
use crate::identity::{Identity, UserId};
use crate::page::{Body, ControlOp, MessageBody, Page, PageRef, Role};
use crate::room::{Replica, group_room_id};
use crate::sync::SyncSession;

/// Virtual milliseconds between two driver ticks.
const TICK_MS: u64 = 100;

/// What to simulate.
#[derive(Debug, Clone)]
pub struct ForkScenario {
    /// Seed of every random choice.
    pub seed: u64,
    /// Honest peers (peer 0 owns the room).
    pub honest: usize,
    /// Pages both branches share (the fork is at this seq).
    pub common: u64,
    /// Pages of each branch from the fork on (each at least 1).
    pub branches: (u64, u64),
    /// Probability a message is lost during chaos.
    pub loss: f64,
    /// Probability a message is delivered twice during chaos.
    pub duplication: f64,
    /// Largest delay of a message during chaos.
    pub max_delay_ms: u64,
    /// Virtual milliseconds of chaos.
    pub chaos_ms: u64,
    /// Virtual milliseconds after healing before checking.
    pub heal_ms: u64,
}

impl ForkScenario {
    /// A random fork for `seed`: 3 to 6 honest peers, a fork at 0..=40 with branches of 1..=40
    /// pages (so a walk may take several rounds), up to 30 % loss.
    pub fn random(seed: u64) -> Self {
        let mut rng = SplitMix64::new(seed ^ 0xF02C_5EED);
        Self {
            seed,
            honest: 3 + rng.below(4) as usize,
            common: rng.below(41),
            branches: (1 + rng.below(40), 1 + rng.below(40)),
            loss: rng.below(31) as f64 / 100.0,
            duplication: 0.05,
            max_delay_ms: 300,
            chaos_ms: 10_000,
            heal_ms: 50_000,
        }
    }
}

#[derive(Debug)]
struct Peer {
    identity: Identity,
    replica: Replica,
    /// Sessions by peer index.
    sessions: BTreeMap<usize, SyncSession>,
    /// When to open the session to each peer not yet linked.
    opens_at: BTreeMap<usize, u64>,
}

/// The simulated world of one forked book.
#[derive(Debug)]
pub struct ForkSim {
    scenario: ForkScenario,
    rng: SplitMix64,
    now: u64,
    chaos: bool,
    cheater: UserId,
    /// Each branch's pages from the fork on.
    sides: [Vec<PageRef>; 2],
    peers: Vec<Peer>,
    network: Wire<usize>,
    /// Proofs the honest peers reported (new or lower), for the report.
    pub proofs_reported: u64,
    /// Messages delivered.
    pub delivered: u64,
}

impl ForkSim {
    /// Builds the world (room, both branches, what each peer holds).
    pub fn new(scenario: ForkScenario) -> Self {
        let mut rng = SplitMix64::new(scenario.seed);
        let secret = RoomSecret::from_bytes(rng.bytes());
        let identity = |i: u64| {
            let mut seed = [0u8; 32];
            seed[..8].copy_from_slice(&(i + 1).to_le_bytes());
            seed[8..16].copy_from_slice(&scenario.seed.to_le_bytes());
            seed[16] = 0xF0;
            Identity::from_secret_bytes(seed)
        };
        let mut honest: Vec<Identity> = (0..=scenario.honest as u64)
            .filter_map(|i| identity(i).ok())
            .collect();
        let Some(cheater) = honest.pop() else {
            unreachable!("ed25519 accepts every 32-byte secret")
        };
        let create_nonce = rng.bytes();
        let room = group_room_id(&honest[0].user_id(), &create_nonce);

        // The owner creates the room and admits everyone, the author included.
        let mut owner = Replica::new(room, &secret);
        let create = Body::Control(ControlOp::Create {
            name: "fork".into(),
            direct: None,
        });
        let mut room_pages: Vec<Page> = Vec::new();
        let written =
            |replica: &mut Replica, who: &Identity, body: &Body, rng: &mut SplitMix64, t| {
                replica
                    .write(who, body, t, rng.bytes())
                    .ok()
                    .map(|p| p.into_page())
            };
        // The room id commits to the create page's nonce.
        room_pages.extend(
            owner
                .write(&honest[0], &create, 1, create_nonce)
                .ok()
                .map(|p| p.into_page()),
        );
        for member in honest.iter().skip(1).chain(std::iter::once(&cheater)) {
            let admit = Body::Control(ControlOp::Admit {
                member: member.user_id(),
                role: Role::Member,
            });
            room_pages.extend(written(&mut owner, &honest[0], &admit, &mut rng, 2));
        }

        // The author: common pages, then two branches.
        let mut author = Replica::new(room, &secret);
        author.ingest_at(room_pages.clone(), 0);
        let message = |text: String| {
            Body::Message(MessageBody::Text {
                text,
                reply_to: None,
            })
        };
        let mut common = Vec::new();
        for seq in 0..scenario.common {
            common.extend(written(
                &mut author,
                &cheater,
                &message(format!("common {seq}")),
                &mut rng,
                10 + seq,
            ));
        }
        let branch = |mut replica: Replica, side: &str, len: u64, rng: &mut SplitMix64| {
            let mut pages = common.clone();
            for i in 0..len {
                pages.extend(written(
                    &mut replica,
                    &cheater,
                    &message(format!("{side} {i}")),
                    rng,
                    100 + i,
                ));
            }
            pages
        };
        let left = branch(author.clone(), "left", scenario.branches.0, &mut rng);
        let right = branch(author, "right", scenario.branches.1, &mut rng);
        let past_fork = |pages: &[Page]| -> Vec<PageRef> {
            pages
                .iter()
                .filter(|p| p.seq() >= scenario.common)
                .map(Page::page_ref)
                .collect()
        };
        let sides = [past_fork(&left), past_fork(&right)];

        // Who holds what: peers alternate sides from a random start, so both sides have at
        // least one peer; the first of each side holds its whole branch.
        let start = rng.below(2) as usize;
        let mut peers = Vec::new();
        let mut first_of_side = [true, true];
        for (i, me) in honest.into_iter().enumerate() {
            let side = (i + start) % 2;
            let pages = if side == 0 { &left } else { &right };
            let held = if first_of_side[side] {
                pages.len()
            } else {
                rng.below(pages.len() as u64 + 1) as usize
            };
            first_of_side[side] = false;
            let mut replica = Replica::new(room, &secret);
            if i != 0 {
                replica.ingest_at(room_pages.clone(), 0);
            } else {
                replica = owner.clone();
            }
            replica.ingest_at(pages[..held].to_vec(), 0);
            for m in 0..1 + rng.below(3) {
                let _ = replica.write(
                    &me,
                    &message(format!("peer {i} says {m}")),
                    200 + m,
                    rng.bytes(),
                );
            }
            super::commit_everything(&mut replica);
            peers.push(Peer {
                identity: me,
                replica,
                sessions: BTreeMap::new(),
                opens_at: BTreeMap::new(),
            });
        }
        let n = peers.len();
        for i in 0..n {
            for j in i + 1..n {
                // The pair links once, at a random time early in the chaos.
                let at = rng.below(scenario.chaos_ms / 2) / TICK_MS * TICK_MS;
                peers[i].opens_at.insert(j, at);
                peers[j].opens_at.insert(i, at);
            }
        }
        Self {
            scenario,
            rng,
            now: 0,
            chaos: true,
            cheater: cheater.user_id(),
            sides,
            peers,
            network: Wire::new(),
            proofs_reported: 0,
            delivered: 0,
        }
    }

    fn send(&mut self, from: usize, to: usize, bytes: Vec<u8>) {
        if self.chaos && self.rng.chance(self.scenario.loss) {
            return;
        }
        let copies = if self.chaos && self.rng.chance(self.scenario.duplication) {
            2
        } else {
            1
        };
        let max_delay = if self.chaos {
            self.scenario.max_delay_ms
        } else {
            20
        };
        for _ in 0..copies {
            let delay = 1 + self.rng.below(max_delay.max(1));
            self.network.send(self.now + delay, from, to, bytes.clone());
        }
    }

    fn flush(&mut self, i: usize) {
        for (peer, bytes) in super::outbox(&mut self.peers[i].sessions) {
            self.send(i, peer, bytes);
        }
    }

    fn deliver(&mut self, packet: Packet<usize>) {
        let (from, to) = (packet.from, packet.to);
        let now = self.now;
        let peer = &mut self.peers[to];
        let Some(session) = peer.sessions.get_mut(&from) else {
            return;
        };
        self.delivered += 1;
        let accepted = session.handle_bytes(&packet.bytes, &mut peer.replica, now);
        self.proofs_reported += accepted.equivocations.len() as u64;
        let committed = super::commit_everything(&mut peer.replica);
        for session in peer.sessions.values_mut() {
            session.announce(&peer.replica, &committed, now);
            for proof in &accepted.equivocations {
                session.announce_proof(&peer.replica, proof, now);
            }
        }
        self.flush(to);
    }

    fn tick(&mut self) {
        let now = self.now;
        let ids: Vec<UserId> = self.peers.iter().map(|p| p.identity.user_id()).collect();
        for i in 0..self.peers.len() {
            let peer = &mut self.peers[i];
            // A closed session (the far end stopped answering during the chaos) is reopened.
            peer.sessions.retain(|_, s| !s.is_closed());
            let due: Vec<usize> = peer
                .opens_at
                .iter()
                .filter(|(j, at)| **at <= now && !peer.sessions.contains_key(j))
                .map(|(j, _)| *j)
                .collect();
            for j in due {
                if let Some(id) = ids.get(j) {
                    peer.sessions
                        .insert(j, SyncSession::new(&peer.replica, *id, now));
                }
            }
            for session in peer.sessions.values_mut() {
                session.handle_timeout(&peer.replica, now);
            }
            self.flush(i);
        }
    }

    /// Runs chaos then healing, and checks.
    pub fn run(&mut self) -> Result<(), Violation> {
        let end = self.scenario.chaos_ms + self.scenario.heal_ms;
        while self.now < end {
            if self.chaos && self.now >= self.scenario.chaos_ms {
                self.chaos = false;
            }
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
            seed: self.scenario.seed,
            what,
        }
    }

    /// What the fork rule keeps past the fork, worked out from the branches as written and the
    /// honest pages `replica` holds (module docs).
    fn expected_kept(&self, replica: &Replica) -> Vec<PageRef> {
        let k = self.scenario.common;
        let mut anchors: Vec<(crate::page::PageHash, PageRef)> = Vec::new();
        for peer in &self.peers {
            let Some(book) = replica.book(&peer.identity.user_id()) else {
                continue;
            };
            for page in book.range(0..book.len()) {
                for r in page.refs() {
                    if r.author == self.cheater && r.seq >= k {
                        anchors.push((page.hash(), *r));
                    }
                }
            }
        }
        anchors.sort();
        let Some((_, first)) = anchors.first() else {
            return Vec::new();
        };
        let Some(side) = self.sides.iter().find(|side| side.contains(first)) else {
            return Vec::new();
        };
        let top = anchors
            .iter()
            .filter(|(_, r)| side.contains(r))
            .map(|(_, r)| r.seq)
            .max()
            .unwrap_or(k);
        side.iter().filter(|r| r.seq <= top).copied().collect()
    }

    /// Every honest peer cut the author's book at exactly the fork, keeps past it what the fork
    /// rule names, holds the same pages, shows every honest page, and shows them all in the
    /// same order.
    pub fn check(&self) -> Result<(), Violation> {
        let k = self.scenario.common;
        let pages = |replica: &Replica| -> Vec<PageRef> {
            let mut all: Vec<PageRef> = Vec::new();
            for author in self
                .peers
                .iter()
                .map(|p| p.identity.user_id())
                .chain([self.cheater])
            {
                if let Some(book) = replica.book(&author) {
                    all.extend(book.range(0..book.len()).iter().map(|p| p.page_ref()));
                }
            }
            all
        };
        let view = |replica: &Replica| -> Vec<(PageRef, bool)> {
            replica
                .display_order()
                .map(|key| (key.id, replica.counts(key)))
                .collect()
        };
        let reference = &self.peers[0].replica;
        for (i, peer) in self.peers.iter().enumerate() {
            let replica = &peer.replica;
            let cut = replica.proof(&self.cheater).map(|p| p.seq());
            if cut != Some(k) {
                return Err(self.violation(format!(
                    "peer {i} cut the forked book at {cut:?}, not at the fork {k}"
                )));
            }
            let kept: Vec<PageRef> = replica.book(&self.cheater).map_or(Vec::new(), |b| {
                b.range(k..b.len()).iter().map(|p| p.page_ref()).collect()
            });
            let expected = self.expected_kept(replica);
            if kept != expected {
                return Err(self.violation(format!(
                    "peer {i} keeps {} pages past the fork, the rule names {}",
                    kept.len(),
                    expected.len()
                )));
            }
            for other in &self.peers {
                let Some(book) = replica.book(&other.identity.user_id()) else {
                    continue;
                };
                for page in book.range(0..book.len()) {
                    let shown = replica
                        .display_order()
                        .find(|key| key.id == page.page_ref());
                    if !shown.is_some_and(|key| replica.counts(key)) {
                        return Err(self.violation(format!(
                            "peer {i} hides page {} of an honest member",
                            page.seq()
                        )));
                    }
                }
            }
            if replica.pending_len() > 0 {
                return Err(self.violation(format!(
                    "peer {i} still has {} pages waiting",
                    replica.pending_len()
                )));
            }
            if pages(replica) != pages(reference) {
                return Err(self.violation(format!("peer {i} and peer 0 hold different pages")));
            }
            if view(replica) != view(reference) {
                return Err(self.violation(format!(
                    "peer {i} and peer 0 show different orders ({} vs {} pages)",
                    view(replica).len(),
                    view(reference).len()
                )));
            }
        }
        Ok(())
    }

    /// The scenario simulated.
    pub fn scenario(&self) -> &ForkScenario {
        &self.scenario
    }

    /// Whether honest pages referenced both branches past the fork (the fork rule had to
    /// choose), as peer 0 holds them after [`ForkSim::run`].
    pub fn both_branches_built_on(&self) -> bool {
        let k = self.scenario.common;
        let replica = &self.peers[0].replica;
        let mut built_on = [false, false];
        for peer in &self.peers {
            let Some(book) = replica.book(&peer.identity.user_id()) else {
                continue;
            };
            for r in book.range(0..book.len()).iter().flat_map(|p| p.refs()) {
                for (side, pages) in self.sides.iter().enumerate() {
                    built_on[side] |= r.author == self.cheater && r.seq >= k && pages.contains(r);
                }
            }
        }
        built_on == [true, true]
    }

    /// Whether some peer had to walk down after [`ForkSim::run`]: the peers reported more new
    /// or lower proofs than one each, so at least one of them first held a proof above the fork.
    pub fn walked(&self) -> bool {
        self.proofs_reported > self.peers.len() as u64
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn a_fork_compared_far_above_its_seq_is_cut_at_the_seq() {
        // Branches of 37 and 20 pages: peers first compare them some 20 to 37 seqs above the
        // fork, so walking down takes more than one round of 16 pages.
        let mut scenario = ForkScenario::random(1);
        scenario.common = 3;
        scenario.branches = (37, 20);
        let mut sim = ForkSim::new(scenario);
        sim.run().unwrap();
        assert!(sim.walked());
    }
}
