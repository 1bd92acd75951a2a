//! Deterministic simulation of many peers syncing one room over a hostile network.
//!
//! One process, one seeded PRNG, virtual time: every run with the same [`Scenario`] is
//! identical, so a failing seed replays exactly. The simulated driver follows the calling
//! contracts of [`Replica`] and [`SyncSession`] like the app's driver must: persist, then
//! mark committed, then acknowledge and announce; drain every outbox after every input; call
//! timers. Persisting is slow during chaos (a page may wait several ticks for its commit), so a
//! crash loses what was held but not committed, as a closed database or a full disk would.
//!
//! Faults injected during the chaos phase: packet loss, duplication and reordering (random
//! delays), a partition that later heals, crashes (all in-memory state lost) and restarts from
//! what was persisted, members joining (join request, auto-admitted by the owner) and leaving,
//! and one member that signs two different pages for the same seq and shows each to a different
//! half of its peers. Then the network heals and everyone restarts; [`Sim::check`] verifies the
//! invariants.

pub mod fork;
mod mutual;
mod removal;
mod replay;
mod rng;
mod wire;

pub use mutual::MutualRemovalSim;
pub use removal::RemovalSim;
pub use replay::ReplaySim;

pub use rng::SplitMix64;

use std::collections::{BTreeMap, BTreeSet};

use crate::crypto::RoomSecret;
use crate::identity::{Identity, UserId};
use crate::page::{Body, ControlOp, MessageBody, PageRef, Role, RoomId};
use crate::plan::planned_links;
use crate::room::{Replica, group_room_id};
use crate::sync::{SyncMessage, SyncSession};
use crate::validate::{Equivocation, VerifiedPage};
use wire::{Packet, Wire};

/// Virtual milliseconds between two driver ticks (actions, timers, link reconciliation).
const TICK_MS: u64 = 100;

/// Virtual milliseconds between two full causal-order checks of every node.
const CAUSALITY_CHECK_MS: u64 = 1_000;

/// What to simulate.
#[derive(Debug, Clone)]
pub struct Scenario {
    /// Seed of every random choice.
    pub seed: u64,
    /// Peers in total (members from the start, plus `joiners`).
    pub peers: usize,
    /// Peers that are not members at first and ask to join during the run.
    pub joiners: usize,
    /// Virtual milliseconds of chaos.
    pub chaos_ms: u64,
    /// Virtual milliseconds after healing before checking.
    pub heal_ms: u64,
    /// Probability a packet is lost during chaos.
    pub loss: f64,
    /// Probability a packet is delivered twice during chaos.
    pub duplication: f64,
    /// Largest extra delay of a packet during chaos (reordering).
    pub max_delay_ms: u64,
    /// Probability per tick that a given online member writes a message during chaos.
    pub write_rate: f64,
    /// Probability per tick that a given online peer crashes during chaos.
    pub crash_rate: f64,
    /// Whether a partition happens (and heals) during chaos.
    pub partition: bool,
    /// Whether one member equivocates.
    pub equivocator: bool,
    /// Whether one member leaves during chaos.
    pub leaver: bool,
    /// Probability that a node's held pages are persisted right away, and per tick while any
    /// wait, during chaos (1.0: every page is committed as soon as it is held).
    pub commit_rate: f64,
}

impl Scenario {
    /// The standard hostile scenario for `seed`: 20 members plus 2 joiners.
    pub fn hostile(seed: u64) -> Self {
        Self {
            seed,
            peers: 22,
            joiners: 2,
            chaos_ms: 20_000,
            heal_ms: 35_000,
            loss: 0.1,
            duplication: 0.03,
            max_delay_ms: 300,
            write_rate: 0.002,
            crash_rate: 0.0005,
            partition: true,
            equivocator: true,
            leaver: true,
            commit_rate: 0.3,
        }
    }

    /// A room whose store is slow (a page waits about 2 s for its commit) while peers crash
    /// often: what an honest author held but had not committed is lost at each crash.
    pub fn slow_disk(seed: u64) -> Self {
        Self {
            seed,
            peers: 6,
            joiners: 0,
            chaos_ms: 20_000,
            heal_ms: 30_000,
            loss: 0.05,
            duplication: 0.0,
            max_delay_ms: 100,
            write_rate: 0.03,
            crash_rate: 0.01,
            partition: false,
            equivocator: false,
            leaver: false,
            commit_rate: 0.05,
        }
    }

    /// A calm room of `peers` members where everyone writes: for the overlay test.
    pub fn calm(seed: u64, peers: usize) -> Self {
        Self {
            seed,
            peers,
            joiners: 0,
            chaos_ms: 3_000,
            heal_ms: 40_000,
            loss: 0.0,
            duplication: 0.0,
            max_delay_ms: 20,
            write_rate: 0.01,
            crash_rate: 0.0,
            partition: false,
            equivocator: false,
            leaver: false,
            commit_rate: 1.0,
        }
    }
}

/// What a driver whose store never fails does after any write or ingest: every page held is
/// committed at once. Returns the pages that became servable, to announce.
pub(crate) fn commit_everything(replica: &mut Replica) -> Vec<VerifiedPage> {
    let lens: Vec<(UserId, u64)> = replica.books().map(|(a, b)| (*a, b.len())).collect();
    for (author, len) in lens {
        replica.mark_committed(&author, len);
    }
    replica.take_servable()
}

/// What a node's driver does after any input: commit everything held, then push what became
/// servable on every session.
pub(crate) fn commit_and_announce(
    replica: &mut Replica,
    sessions: &mut BTreeMap<usize, SyncSession>,
    now: u64,
) {
    let servable = commit_everything(replica);
    for session in sessions.values_mut() {
        session.announce(replica, &servable, now);
    }
}

/// A node's timers: the replica's (held-back pages), then each session's.
pub(crate) fn timers(replica: &mut Replica, sessions: &mut BTreeMap<usize, SyncSession>, now: u64) {
    replica.handle_timeout(now);
    commit_and_announce(replica, sessions, now);
    for session in sessions.values_mut() {
        session.handle_timeout(replica, now);
    }
}

/// Every message the sessions queued, encoded, with the peer each goes to.
pub(crate) fn outbox(sessions: &mut BTreeMap<usize, SyncSession>) -> Vec<(usize, Vec<u8>)> {
    let mut out = Vec::new();
    for (peer, session) in sessions {
        while let Some(message) = session.poll_transmit() {
            out.push((*peer, message.encode()));
        }
    }
    out
}

/// What a node persisted: the only thing that survives a crash.
#[derive(Debug, Default, Clone)]
struct Persisted {
    books: BTreeMap<UserId, BTreeMap<u64, VerifiedPage>>,
    proofs: BTreeMap<UserId, Equivocation>,
}

impl Persisted {
    fn store(&mut self, page: &VerifiedPage) {
        self.books
            .entry(page.author())
            .or_default()
            .insert(page.seq(), page.clone());
    }

    fn freeze(&mut self, proof: &Equivocation) {
        if let Some(book) = self.books.get_mut(&proof.author()) {
            book.retain(|seq, _| *seq < proof.seq());
        }
        self.proofs.insert(proof.author(), proof.clone());
    }
}

#[derive(Debug)]
struct Node {
    identity: Identity,
    replica: Option<Replica>,
    persisted: Persisted,
    sessions: BTreeMap<usize, SyncSession>,
    /// Own pages acknowledged to the user (committed).
    acked: Vec<PageRef>,
    joined: bool,
    left: bool,
    /// The join request or leave written during the run: they count once acknowledged (a
    /// crash before their commit loses them, as it loses any page).
    join_page: Option<PageRef>,
    leave_page: Option<PageRef>,
    group: u8,
    /// Own pages a crash lost before their commit, by seq: the seq is written again later.
    lost: BTreeMap<u64, crate::page::PageHash>,
}

/// The simulated world.
#[derive(Debug)]
pub struct Sim {
    scenario: Scenario,
    rng: SplitMix64,
    now: u64,
    room: RoomId,
    secret: RoomSecret,
    nodes: Vec<Node>,
    network: Wire<usize>,
    chaos: bool,
    partitioned: bool,
    equivocator: Option<usize>,
    /// The equivocator's second page, which it keeps showing to half of its peers.
    fork: Option<VerifiedPage>,
    /// Largest number of links any node held at any time.
    pub max_links: usize,
    /// Messages delivered.
    pub delivered: u64,
    /// Crashes injected (each followed by a restart from persisted state).
    pub crashes: u64,
    /// Own pages honest nodes held but had not committed when they crashed (lost with it).
    pub lost_before_commit: u64,
    /// Seqs an honest node wrote again, with a different page, after a crash lost the first.
    pub seqs_reused: u64,
    /// Messages sent, by kind (heads, want, pages reply, pages push).
    pub sent: BTreeMap<&'static str, u64>,
}

/// An invariant that did not hold.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("seed {seed}: {what}")]
pub struct Violation {
    /// The scenario seed (replay with `QUIRE_SIM_SEED`).
    pub seed: u64,
    /// What went wrong.
    pub what: String,
}

impl Sim {
    /// Builds the world: node 0 creates the room and admits every non-joiner.
    pub fn new(scenario: Scenario) -> Self {
        let mut rng = SplitMix64::new(scenario.seed);
        let secret = RoomSecret::from_bytes(rng.bytes());
        let mut nodes = Vec::new();
        for i in 0..scenario.peers {
            let mut seed = [0u8; 32];
            seed[..8].copy_from_slice(&(i as u64 + 1).to_le_bytes());
            seed[8..16].copy_from_slice(&scenario.seed.to_le_bytes());
            let identity = match Identity::from_secret_bytes(seed) {
                Ok(identity) => identity,
                Err(_) => continue,
            };
            nodes.push(Node {
                identity,
                replica: None,
                persisted: Persisted::default(),
                sessions: BTreeMap::new(),
                acked: Vec::new(),
                joined: i < scenario.peers - scenario.joiners,
                left: false,
                join_page: None,
                leave_page: None,
                group: 0,
                lost: BTreeMap::new(),
            });
        }
        let create_nonce = rng.bytes();
        let room = group_room_id(&nodes[0].identity.user_id(), &create_nonce);
        for node in &mut nodes {
            node.replica = Some(Replica::new(room, &secret).with_member(&node.identity));
        }
        let equivocator = (scenario.equivocator && nodes.len() > 3).then_some(1);
        let mut sim = Self {
            scenario,
            rng,
            now: 0,
            room,
            secret,
            nodes,
            network: Wire::new(),
            chaos: true,
            partitioned: false,
            equivocator,
            fork: None,
            max_links: 0,
            delivered: 0,
            crashes: 0,
            lost_before_commit: 0,
            seqs_reused: 0,
            sent: BTreeMap::new(),
        };
        let create = Body::Control(ControlOp::Create {
            name: "sim".into(),
            direct: None,
        });
        sim.write_with_nonce(0, &create, create_nonce);
        let members: Vec<UserId> = sim
            .nodes
            .iter()
            .filter(|n| n.joined)
            .skip(1)
            .map(|n| n.identity.user_id())
            .collect();
        for member in members {
            let admit = Body::Control(ControlOp::Admit {
                member,
                role: Role::Member,
            });
            sim.write(0, &admit);
        }
        sim
    }

    fn online(&self, i: usize) -> bool {
        self.nodes[i].replica.is_some()
    }

    /// Online peers of the room. A member who left keeps syncing (so its leave page spreads);
    /// it only stops writing.
    fn participants(&self) -> Vec<usize> {
        (0..self.nodes.len()).filter(|i| self.online(*i)).collect()
    }

    /// Writes a page at node `i` (commit, ack and announce follow). Returns the page written.
    fn write(&mut self, i: usize, body: &Body) -> Option<PageRef> {
        let nonce = self.rng.bytes();
        self.write_with_nonce(i, body, nonce)
    }

    fn write_with_nonce(&mut self, i: usize, body: &Body, nonce: [u8; 24]) -> Option<PageRef> {
        let now = self.now;
        let node = &mut self.nodes[i];
        let replica = node.replica.as_mut()?;
        let mut written = replica.write(&node.identity, body, now, nonce);
        if written
            == Err(crate::room::WriteError::Key(
                crate::room::KeyWait::RekeyFirst,
            ))
        {
            // Someone left: the writer re-keys the room before it seals anything new.
            self.write_keys(i);
            let node = &mut self.nodes[i];
            let replica = node.replica.as_mut()?;
            written = replica.write(&node.identity, body, now, self.rng.bytes());
        }
        let page = written.ok()?;
        self.note_written(i, &page);
        self.maybe_commit(i);
        Some(page.page_ref())
    }

    /// Counts a page written at a seq a crash had lost a different page at.
    fn note_written(&mut self, i: usize, page: &VerifiedPage) {
        if let Some(lost) = self.nodes[i].lost.remove(&page.seq())
            && lost != page.hash()
        {
            self.seqs_reused += 1;
        }
    }

    /// Writes the keys pages node `i` owes ([`Replica::key_duty`]).
    fn write_keys(&mut self, i: usize) {
        for _ in 0..4 {
            let fresh = RoomSecret::from_bytes(self.rng.bytes());
            let nonce = self.rng.bytes();
            let now = self.now;
            let node = &mut self.nodes[i];
            let Some(replica) = node.replica.as_mut() else {
                return;
            };
            let Ok(Some(page)) = replica.write_keys(&node.identity, fresh, now, nonce) else {
                break;
            };
            self.note_written(i, &page);
            self.maybe_commit(i);
        }
    }

    /// Persists node `i`'s held pages now with probability [`Scenario::commit_rate`] (always
    /// once the chaos is over); otherwise they wait for a later tick.
    fn maybe_commit(&mut self, i: usize) {
        if !self.chaos || self.rng.chance(self.scenario.commit_rate) {
            self.commit(i);
        }
    }

    /// Node `i`'s driver persists every held page not committed yet, marks the books committed,
    /// acknowledges its own pages and announces what became committed to every session.
    fn commit(&mut self, i: usize) {
        let node = &mut self.nodes[i];
        let Some(replica) = node.replica.as_mut() else {
            return;
        };
        let mut lens: BTreeMap<UserId, u64> = BTreeMap::new();
        for page in replica.uncommitted() {
            node.persisted.store(page);
            lens.insert(page.author(), page.seq() + 1);
        }
        let me = node.identity.user_id();
        let mut committed = Vec::new();
        for (author, len) in lens {
            committed.extend(replica.mark_committed(&author, len));
        }
        node.acked.extend(
            committed
                .iter()
                .filter(|p| p.author() == me)
                .map(|page| page.page_ref()),
        );
        let servable = replica.take_servable();
        if servable.is_empty() {
            return;
        }
        let now = self.now;
        for session in node.sessions.values_mut() {
            session.announce(replica, &servable, now);
        }
        self.flush(i);
    }

    /// The equivocator signs two pages for its next seq: it keeps the first in its book and
    /// shows the second to every other peer it is linked to, again on every tick (a cheater
    /// spreading its fork), so the fork survives losses and crashes.
    fn equivocate(&mut self, i: usize) {
        let now = self.now;
        let (nonce_a, nonce_b) = (self.rng.bytes(), self.rng.bytes());
        let node = &mut self.nodes[i];
        if node.sessions.len() < 2 {
            return;
        }
        let Some(replica) = node.replica.as_mut() else {
            return;
        };
        let mut twin = replica.clone();
        let text = |t: &str| {
            Body::Message(MessageBody::Text {
                text: t.into(),
                reply_to: None,
            })
        };
        let (Ok(a), Ok(b)) = (
            replica.write(&node.identity, &text("to the left"), now, nonce_a),
            twin.write(&node.identity, &text("to the right"), now, nonce_b),
        ) else {
            return;
        };
        node.persisted.store(&a);
        replica.mark_committed(&a.author(), a.seq() + 1);
        node.acked.push(a.page_ref());
        for (k, session) in node.sessions.values_mut().enumerate() {
            if k % 2 == 0 {
                session.announce(replica, std::slice::from_ref(&a), now);
            }
        }
        self.fork = Some(b);
        self.flush(i);
        self.spread_fork(i);
    }

    fn spread_fork(&mut self, i: usize) {
        let Some(b) = self.fork.clone() else { return };
        let peers: Vec<usize> = self.nodes[i]
            .sessions
            .keys()
            .copied()
            .skip(1)
            .step_by(2)
            .collect();
        let bytes = SyncMessage::Pages {
            room: self.room,
            reply: false,
            pages: vec![b.page().clone()],
        }
        .encode();
        for peer in peers {
            self.send(i, peer, bytes.clone());
        }
    }

    /// Moves every queued message of node `i` into the network.
    fn flush(&mut self, i: usize) {
        let mut out = Vec::new();
        for (peer, session) in &mut self.nodes[i].sessions {
            while let Some(message) = session.poll_transmit() {
                let kind = match &message {
                    SyncMessage::Heads { .. } => "heads",
                    SyncMessage::Want { .. } => "want",
                    SyncMessage::Pages { reply: true, .. } => "pages reply",
                    SyncMessage::Pages { reply: false, .. } => "pages push",
                };
                *self.sent.entry(kind).or_default() += 1;
                out.push((*peer, message.encode()));
            }
        }
        for (peer, bytes) in out {
            self.send(i, peer, bytes);
        }
    }

    fn send(&mut self, from: usize, to: usize, bytes: Vec<u8>) {
        let cut = self.partitioned && self.nodes[from].group != self.nodes[to].group;
        if cut || (self.chaos && self.rng.chance(self.scenario.loss)) {
            return;
        }
        let copies = if self.chaos && self.rng.chance(self.scenario.duplication) {
            2
        } else {
            1
        };
        for _ in 0..copies {
            let delay = 1 + self.rng.below(self.scenario.max_delay_ms.max(1));
            self.network.send(self.now + delay, from, to, bytes.clone());
        }
    }

    fn deliver(&mut self, packet: Packet<usize>) {
        let (from, to) = (packet.from, packet.to);
        if !self.online(to) || !self.nodes[to].sessions.contains_key(&from) {
            return;
        }
        self.delivered += 1;
        let now = self.now;
        let node = &mut self.nodes[to];
        let (Some(replica), Some(session)) = (node.replica.as_mut(), node.sessions.get_mut(&from))
        else {
            return;
        };
        let accepted = session.handle_bytes(&packet.bytes, replica, now);
        for proof in &accepted.equivocations {
            node.persisted.freeze(proof);
        }
        for session in node.sessions.values_mut() {
            for proof in &accepted.equivocations {
                session.announce_proof(replica, proof, now);
            }
        }
        if !accepted.stored.is_empty() {
            self.maybe_commit(to);
        }
        self.flush(to);
    }

    /// Opens and closes sessions to match every node's connection plan.
    fn reconcile_links(&mut self) {
        let participants = self.participants();
        let ids: Vec<UserId> = participants
            .iter()
            .map(|i| self.nodes[*i].identity.user_id())
            .collect();
        let index: BTreeMap<UserId, usize> = ids
            .iter()
            .copied()
            .zip(participants.iter().copied())
            .collect();
        for &i in &participants {
            let me = self.nodes[i].identity.user_id();
            let wanted: BTreeMap<usize, UserId> = planned_links(&me, &ids)
                .iter()
                .filter_map(|id| index.get(id).map(|i| (*i, *id)))
                .collect();
            self.max_links = self.max_links.max(wanted.len());
            let now = self.now;
            let node = &mut self.nodes[i];
            node.sessions
                .retain(|peer, s| wanted.contains_key(peer) && !s.is_closed());
            if let Some(replica) = node.replica.as_ref() {
                for (peer, id) in wanted {
                    node.sessions
                        .entry(peer)
                        .or_insert_with(|| SyncSession::new(replica, id, now));
                }
            }
            self.flush(i);
        }
        for i in 0..self.nodes.len() {
            if !participants.contains(&i) {
                self.nodes[i].sessions.clear();
            }
        }
    }

    fn crash(&mut self, i: usize) {
        self.crashes += 1;
        let node = &mut self.nodes[i];
        let me = node.identity.user_id();
        if let Some(replica) = &node.replica {
            for page in replica.uncommitted().filter(|p| p.author() == me) {
                node.lost.insert(page.seq(), page.hash());
                self.lost_before_commit += 1;
            }
        }
        node.replica = None;
        node.sessions.clear();
    }

    fn restart(&mut self, i: usize) -> Result<(), Violation> {
        let node = &mut self.nodes[i];
        if node.replica.is_some() {
            return Ok(());
        }
        let books = node.persisted.books.iter().map(|(author, pages)| {
            (
                *author,
                pages.values().cloned().collect::<Vec<_>>(),
                node.persisted.proofs.get(author).cloned(),
            )
        });
        let replica = Replica::restore(self.room, &self.secret, books).map_err(|e| Violation {
            seed: self.scenario.seed,
            what: format!("node {i} cannot restore its persisted state: {e}"),
        })?;
        node.replica = Some(replica.with_member(&node.identity));
        Ok(())
    }

    fn tick(&mut self) -> Result<(), Violation> {
        let n = self.nodes.len();
        if self.chaos {
            for i in 0..n {
                if self.online(i) {
                    let immune = i == 0 || Some(i) == self.equivocator;
                    if !immune && self.rng.chance(self.scenario.crash_rate) {
                        self.crash(i);
                        continue;
                    }
                    if self.nodes[i].joined
                        && !self.nodes[i].left
                        && self.rng.chance(self.scenario.write_rate)
                    {
                        let body = Body::Message(MessageBody::Text {
                            text: format!("hello from {i} at {}", self.now),
                            reply_to: None,
                        });
                        self.write(i, &body);
                    }
                    if self.rng.chance(self.scenario.commit_rate) {
                        self.commit(i);
                    }
                } else if self.rng.chance(0.01) {
                    self.restart(i)?;
                }
            }
            self.scheduled_events();
        }
        self.owner_duties();
        if !self.chaos {
            for i in 0..n {
                self.commit(i);
            }
        }
        let now = self.now;
        for i in 0..n {
            let node = &mut self.nodes[i];
            if let Some(replica) = node.replica.as_ref() {
                for session in node.sessions.values_mut() {
                    session.handle_timeout(replica, now);
                }
            }
            self.flush(i);
        }
        self.reconcile_links();
        Ok(())
    }

    /// Joins, the leave, the partition and the equivocation, at fixed fractions of the chaos.
    fn scheduled_events(&mut self) {
        let chaos = self.scenario.chaos_ms.max(TICK_MS);
        let at = |fraction: u64| (chaos * fraction / 10) / TICK_MS * TICK_MS;
        let n = self.nodes.len();
        if self.now == at(2) {
            for i in n - self.scenario.joiners..n {
                let body = Body::Control(ControlOp::JoinRequest {
                    display_name: format!("joiner {i}"),
                    invite: None,
                    proof: None,
                });
                if let Some(page) = self.write(i, &body) {
                    self.nodes[i].joined = true;
                    self.nodes[i].join_page = Some(page);
                }
            }
        }
        if self.scenario.partition && self.now == at(3) {
            self.partitioned = true;
            for node in &mut self.nodes {
                node.group = u8::from(self.rng.chance(0.5));
            }
        }
        if self.scenario.partition && self.now == at(6) {
            self.partitioned = false;
        }
        if let Some(e) = self.equivocator
            && self.now >= at(5)
        {
            if self.fork.is_none() {
                self.equivocate(e);
            } else {
                self.spread_fork(e);
            }
        }
        if self.scenario.leaver
            && self.now == at(7)
            && n > 3
            && let Some(page) = self.write(2, &Body::Control(ControlOp::Leave))
        {
            self.nodes[2].left = true;
            self.nodes[2].leave_page = Some(page);
        }
    }

    /// The owner (node 0) auto-admits join requests it sees and writes the keys pages it owes.
    fn owner_duties(&mut self) {
        self.write_keys(0);
        let Some(replica) = self.nodes[0].replica.as_ref() else {
            return;
        };
        let requests: Vec<UserId> = replica.state().join_requests().keys().copied().collect();
        for member in requests {
            self.write(
                0,
                &Body::Control(ControlOp::Admit {
                    member,
                    role: Role::Member,
                }),
            );
        }
    }

    /// Runs chaos then healing (everyone restarts, no loss, no partition) and checks.
    pub fn run(&mut self) -> Result<(), Violation> {
        let chaos_end = self.scenario.chaos_ms;
        let end = chaos_end + self.scenario.heal_ms;
        while self.now < end {
            if self.chaos && self.now >= chaos_end {
                self.chaos = false;
                self.partitioned = false;
                for i in 0..self.nodes.len() {
                    self.restart(i)?;
                }
            }
            self.tick()?;
            let next = self.now + TICK_MS;
            while let Some(packet) = self.network.next_due(next) {
                self.now = packet.at.max(self.now);
                self.deliver(packet);
            }
            self.now = next;
            // Keys never change once assigned, so a violation, once present, stays visible:
            // checking every second (and at the end) catches every one at a tenth of the cost.
            if self.now.is_multiple_of(CAUSALITY_CHECK_MS) {
                self.check_causality()?;
            }
        }
        self.check_causality()?;
        self.check()
    }

    fn violation(&self, what: String) -> Violation {
        Violation {
            seed: self.scenario.seed,
            what,
        }
    }

    /// Every released page comes after all its dependencies, on every node, at every tick.
    fn check_causality(&self) -> Result<(), Violation> {
        for (i, node) in self.nodes.iter().enumerate() {
            let Some(replica) = node.replica.as_ref() else {
                continue;
            };
            let mut seen = BTreeSet::new();
            for key in replica.display_order() {
                let Some(page) = replica.page(&key.id) else {
                    return Err(
                        self.violation(format!("node {i} displays a page it does not hold"))
                    );
                };
                if let (Some(prev), Some(seq)) = (page.head().prev, page.seq().checked_sub(1)) {
                    let r = PageRef {
                        author: page.author(),
                        seq,
                        hash: prev,
                    };
                    if !seen.contains(&r) {
                        return Err(self.violation(format!(
                            "node {i} shows {:?} before its predecessor",
                            key.id
                        )));
                    }
                }
                for r in page.refs() {
                    let frozen = replica.proof(&r.author).is_some_and(|p| r.seq >= p.seq());
                    if !frozen && !seen.contains(r) {
                        return Err(self.violation(format!(
                            "node {i} shows {:?} before its ref {r:?}",
                            key.id
                        )));
                    }
                }
                seen.insert(key.id);
            }
        }
        Ok(())
    }

    /// The convergence, no-loss and equivocation invariants, after healing.
    pub fn check(&self) -> Result<(), Violation> {
        let everyone: Vec<usize> = self.participants();
        let Some(&first) = everyone.iter().find(|i| !self.nodes[**i].left) else {
            return Err(self.violation("no member online".into()));
        };
        let view = |i: usize| {
            self.nodes[i].replica.as_ref().map(|r| {
                r.display_order()
                    .map(|k| (k.id, r.counts(k)))
                    .collect::<Vec<_>>()
            })
        };
        // Members converge; a member that left is served only what came before its leave
        // (`SyncRight::UntilCut`), so it holds a part of the same pages and nothing else.
        let (online, former): (Vec<usize>, Vec<usize>) = everyone.iter().partition(|i| {
            let id = self.nodes[**i].identity.user_id();
            self.nodes[first]
                .replica
                .as_ref()
                .is_some_and(|r| r.state().is_member(&id))
        });
        let reference = view(first);
        for &i in &online {
            let replica = self.nodes[i].replica.as_ref();
            let pending = replica.map_or(0, Replica::pending_len);
            if pending > 0 {
                return Err(self.violation(format!("node {i} still has {pending} pages waiting")));
            }
            if view(i) != reference {
                return Err(self.violation(format!(
                    "node {i} and node {first} differ: {} vs {} pages",
                    view(i).map_or(0, |v| v.len()),
                    reference.as_ref().map_or(0, Vec::len)
                )));
            }
        }
        for &i in &former {
            let (Some(theirs), Some(ours)) = (
                self.nodes[i].replica.as_ref(),
                self.nodes[first].replica.as_ref(),
            ) else {
                continue;
            };
            // (A fork's proof is never sent to a former member: it may keep a branch the
            // members cut.)
            let cut = |k: &crate::causal::DisplayKey<PageRef>| {
                ours.proof(&k.id.author)
                    .is_some_and(|p| k.id.seq >= p.seq())
            };
            if let Some(k) = theirs
                .display_order()
                .find(|k| ours.page(&k.id).is_none() && !cut(k))
            {
                return Err(self.violation(format!(
                    "node {i}, which left, holds {:?} that node {first} does not",
                    k.id
                )));
            }
        }
        let reference = self.nodes[first].replica.as_ref();
        for (author, node) in self.nodes.iter().enumerate() {
            for acked in &node.acked {
                let frozen = reference
                    .and_then(|r| r.proof(&acked.author))
                    .is_some_and(|p| acked.seq >= p.seq());
                let held = reference.is_some_and(|r| r.page(acked).is_some());
                if !frozen && !held {
                    return Err(self
                        .violation(format!("acknowledged page {acked:?} of node {author} lost")));
                }
            }
        }
        if let Some(state) = reference.map(Replica::state) {
            for (i, node) in self.nodes.iter().enumerate() {
                let id = node.identity.user_id();
                let acked = |page: Option<PageRef>| page.is_some_and(|p| node.acked.contains(&p));
                if acked(node.leave_page) && state.is_member(&id) {
                    return Err(self.violation(format!("node {i} left but is still a member")));
                }
                let asked = node.joined && (node.join_page.is_none() || acked(node.join_page));
                if asked && !node.left && !state.is_member(&id) {
                    return Err(
                        self.violation(format!("node {i} asked to join but was not admitted"))
                    );
                }
            }
        }
        // An honest author that crashed with pages held but not committed reuses their seqs;
        // had a peer copied one, the two versions would meet as a fork of an honest book.
        for &i in &online {
            let Some(replica) = self.nodes[i].replica.as_ref() else {
                continue;
            };
            for (author, node) in self.nodes.iter().enumerate() {
                let honest = Some(author) != self.equivocator;
                if honest && replica.proof(&node.identity.user_id()).is_some() {
                    return Err(self.violation(format!(
                        "node {i} holds a fork of honest node {author}'s book"
                    )));
                }
            }
        }
        if let (Some(e), Some(_)) = (self.equivocator, &self.fork) {
            let cheater = self.nodes[e].identity.user_id();
            for &i in &online {
                if self.nodes[i]
                    .replica
                    .as_ref()
                    .and_then(|r| r.proof(&cheater))
                    .is_none()
                {
                    return Err(self.violation(format!("node {i} did not detect the equivocation")));
                }
            }
        }
        Ok(())
    }

    /// Whether the equivocator got to sign its two pages.
    pub fn equivocated(&self) -> bool {
        self.fork.is_some()
    }

    /// Join requests and leaves written during the run: (joins, leaves).
    pub fn joins_and_leaves(&self) -> (usize, usize) {
        let joins = self.nodes.iter().filter(|n| n.join_page.is_some()).count();
        let leaves = self.nodes.iter().filter(|n| n.leave_page.is_some()).count();
        (joins, leaves)
    }

    /// Number of pages every online member holds (after [`Sim::run`]).
    pub fn pages_held(&self) -> Vec<u64> {
        self.participants()
            .iter()
            .filter_map(|i| self.nodes[*i].replica.as_ref().map(Replica::page_count))
            .collect()
    }

    /// Every online member's display order, page by page (after [`Sim::run`]).
    pub fn display_orders(&self) -> Vec<Vec<crate::page::PageRef>> {
        self.participants()
            .iter()
            .filter_map(|i| self.nodes[*i].replica.as_ref())
            .map(|r| r.display_order().map(|k| k.id).collect())
            .collect()
    }

    /// Pages written and acknowledged across the run.
    pub fn acked(&self) -> usize {
        self.nodes.iter().map(|n| n.acked.len()).sum()
    }

    /// Whether the messages addressed to one peer decode (used by codec tests on real traffic).
    pub fn sample_message(&self) -> Option<SyncMessage> {
        self.network
            .peek()
            .and_then(|p| SyncMessage::decode(&p.bytes).ok())
    }
}
