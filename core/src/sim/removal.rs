//! Deterministic simulation of removal under attack.
//!
//! A small room (an owner, a second owner, a member) over a lossy, reordering network, plus
//! two adversaries that push pages straight at the honest peers:
//!
//! - a member the owners remove, which never accepts it: after the removal it writes pages
//!   back-dated to before the removal, and floods more than
//!   [`MAX_PAGES_PAST_CUT`] of them past its cut; and on another device of its own it keeps
//!   syncing with every honest peer as before (the lurker), taking whatever they send;
//! - a stranger who signs more than [`MAX_PENDING_REQUESTS`] join requests from fresh identities,
//!   some followed by further control pages.
//!
//! In half of the runs both owners remove the member concurrently (each with the length it had
//! seen). Owners carry out key duties (re-key, grants) as soon as they see them; a member re-keys
//! only when it wants to write and the room's current epoch is not writable. After healing,
//! [`RemovalSim::check`] verifies that the honest peers agree on the members, the page set and
//! the display order, that none stores more of the removed member's pages past its cut than the
//! cap nor counts any of them, and that strangers' storage stays under its cap; that the key
//! epochs converged (no duty left, every honest member holds the current epoch and opens every
//! honest page); that the removed member, handed every page the honest peers hold, opens
//! none written by an author who already knew of the removal; and that the lurker learned of
//! its removal but was sent no page written by an author who knew of it. The attacks are
//! checked to have happened, so a run cannot pass vacuously.

use std::collections::{BTreeMap, BTreeSet};

use super::wire::{Packet, Wire};
use super::{SplitMix64, commit_and_announce, timers};
use crate::crypto::RoomSecret;
use crate::identity::{Identity, UserId};
use crate::membership::{MAX_PAGES_PAST_CUT, MAX_PENDING_REQUESTS, Standing};
use crate::page::{Body, ControlOp, MessageBody, PageRef, Role, RoomId};
use crate::room::{KeyWait, Replica, WriteError, group_room_id};
use crate::sync::{SyncMessage, SyncSession};
use crate::validate::VerifiedPage;

use super::Violation;

const TICK_MS: u64 = 100;
const HONEST: usize = 3;
/// Virtual milliseconds of chaos (loss, writes, attacks), then of healing.
const CHAOS_MS: u64 = 4_000;
const HEAL_MS: u64 = 36_000;
/// Pages the removed member writes after its removal.
const FLOOD: u64 = MAX_PAGES_PAST_CUT + 8;
/// Identities the stranger signs join requests from.
const STRANGERS: usize = MAX_PENDING_REQUESTS + 8;
/// The lurker's index on the wire (the honest peers are `0..HONEST`).
const LURKER: usize = HONEST;

struct Honest {
    identity: Identity,
    replica: Replica,
    /// Sessions with the other honest peers, and with the lurker (at [`LURKER`]).
    sessions: BTreeMap<usize, SyncSession>,
    /// Inbound-only sessions on which adversaries push pages (their replies are discarded).
    inbox: SyncSession,
}

/// The removal world.
#[allow(missing_debug_implementations)]
pub struct RemovalSim {
    seed: u64,
    rng: SplitMix64,
    now: u64,
    room: RoomId,
    secret: RoomSecret,
    honest: Vec<Honest>,
    network: Wire<Option<usize>>,
    /// The removed member: its own view of the room, which never learns of the removal.
    removed: Identity,
    removed_view: Replica,
    /// The removed member's syncing device: an unmodified client that never stops syncing.
    lurker: Replica,
    /// The lurker's sessions, by honest peer.
    lurker_sessions: BTreeMap<usize, SyncSession>,
    remove_at: u64,
    /// Whether the second owner removes concurrently.
    double_removal: bool,
    /// The `seen` of each remove written.
    seens: Vec<u64>,
    /// Timestamps and seqs the removed member used after its removal.
    backdated: Vec<(u64, u64)>,
    stranger_pages: u64,
    /// Honest pages written by an author that had folded the removal.
    after_removal: Vec<PageRef>,
    /// Keys pages written by honest peers.
    keys_written: u64,
}

impl RemovalSim {
    /// Builds the room for `seed`: node 0 creates it, admits node 1 as owner, node 2 and
    /// the member to be removed as members.
    pub fn new(seed: u64) -> Self {
        let mut rng = SplitMix64::new(seed ^ 0x0005_EED0_F4E4_07A1);
        let secret = RoomSecret::from_bytes(rng.bytes());
        let identity = |rng: &mut SplitMix64| loop {
            if let Ok(id) = Identity::from_secret_bytes(rng.bytes()) {
                break id;
            }
        };
        let ids: Vec<Identity> = (0..HONEST).map(|_| identity(&mut rng)).collect();
        let removed = identity(&mut rng);
        let create_nonce = rng.bytes();
        let room = group_room_id(&ids[0].user_id(), &create_nonce);
        let mut founder = Replica::new(room, &secret);
        let mut pages = Vec::new();
        let mut write = |replica: &mut Replica, body: Body, nonce| {
            if let Ok(page) = replica.write(&ids[0], &body, 1, nonce) {
                pages.push(page.into_page());
            }
        };
        write(
            &mut founder,
            Body::Control(ControlOp::Create {
                name: "removal".into(),
                direct: None,
            }),
            create_nonce,
        );
        let admitted = (1..HONEST)
            .map(|i| {
                (
                    ids[i].user_id(),
                    if i == 1 { Role::Owner } else { Role::Member },
                )
            })
            .chain([(removed.user_id(), Role::Member)]);
        for (member, role) in admitted {
            write(
                &mut founder,
                Body::Control(ControlOp::Admit { member, role }),
                rng.bytes(),
            );
        }
        let view = |pages: &[crate::page::Page], me: &Identity| {
            let mut r = Replica::new(room, &secret).with_member(me);
            r.ingest_at(pages.to_vec(), 1);
            super::commit_everything(&mut r);
            r
        };
        let removed_view = view(&pages, &removed);
        let mut honest: Vec<Honest> = ids
            .into_iter()
            .map(|identity| {
                let replica = view(&pages, &identity);
                let inbox = SyncSession::new(&replica, removed.user_id(), 0);
                Honest {
                    identity,
                    replica,
                    sessions: BTreeMap::new(),
                    inbox,
                }
            })
            .collect();
        let honest_ids: Vec<UserId> = honest.iter().map(|h| h.identity.user_id()).collect();
        for (i, node) in honest.iter_mut().enumerate() {
            for j in (0..HONEST).filter(|j| *j != i) {
                let session = SyncSession::new(&node.replica, honest_ids[j], 0);
                node.sessions.insert(j, session);
            }
            let session = SyncSession::new(&node.replica, removed.user_id(), 0);
            node.sessions.insert(LURKER, session);
        }
        let lurker = view(&pages, &removed);
        let lurker_sessions = honest_ids
            .iter()
            .enumerate()
            .map(|(j, id)| (j, SyncSession::new(&lurker, *id, 0)))
            .collect();
        let remove_at = (10 + rng.below(10)) * TICK_MS;
        let double_removal = rng.chance(0.5);
        let mut sim = Self {
            seed,
            rng,
            now: 0,
            room,
            secret,
            honest,
            network: Wire::new(),
            removed,
            removed_view,
            lurker,
            lurker_sessions,
            remove_at,
            double_removal,
            seens: Vec::new(),
            backdated: Vec::new(),
            stranger_pages: 0,
            after_removal: Vec::new(),
            keys_written: 0,
        };
        for i in 0..=LURKER {
            sim.flush(i);
        }
        sim
    }

    fn send(&mut self, from: Option<usize>, to: usize, bytes: Vec<u8>) {
        let chaos = self.now < CHAOS_MS;
        // Adversaries have a perfect link (the worst case); honest traffic is lossy in chaos.
        if chaos && from.is_some() && self.rng.chance(0.1) {
            return;
        }
        let delay = 1 + self.rng.below(if chaos { 300 } else { 30 });
        self.network.send(self.now + delay, from, to, bytes);
    }

    fn flush(&mut self, i: usize) {
        if i == LURKER {
            for (peer, bytes) in super::outbox(&mut self.lurker_sessions) {
                self.send(Some(LURKER), peer, bytes);
            }
            return;
        }
        let out = super::outbox(&mut self.honest[i].sessions);
        // Replies to adversaries go nowhere.
        while self.honest[i].inbox.poll_transmit().is_some() {}
        for (peer, bytes) in out {
            self.send(Some(i), peer, bytes);
        }
    }

    fn push_to_all(&mut self, pages: Vec<crate::page::Page>) {
        let bytes = SyncMessage::Pages {
            room: self.room,
            reply: false,
            pages,
        }
        .encode();
        for to in 0..HONEST {
            self.send(None, to, bytes.clone());
        }
    }

    fn deliver(&mut self, packet: Packet<Option<usize>>) {
        let now = self.now;
        if packet.to == LURKER {
            let Some(session) = packet.from.and_then(|j| self.lurker_sessions.get_mut(&j)) else {
                return;
            };
            let _accepted = session.handle_bytes(&packet.bytes, &mut self.lurker, now);
            commit_and_announce(&mut self.lurker, &mut self.lurker_sessions, now);
            self.flush(LURKER);
            return;
        }
        let node = &mut self.honest[packet.to];
        let session = match packet.from {
            Some(from) => node.sessions.get_mut(&from),
            None => Some(&mut node.inbox),
        };
        let Some(session) = session else { return };
        let _accepted = session.handle_bytes(&packet.bytes, &mut node.replica, now);
        commit_and_announce(&mut node.replica, &mut node.sessions, now);
        self.flush(packet.to);
    }

    fn write_honest(&mut self, i: usize, body: &Body) {
        let nonce = self.rng.bytes();
        let now = self.now;
        let node = &mut self.honest[i];
        // The removal page itself is sealed under the epoch the removed member holds: it may
        // read that it was removed.
        let knew = matches!(
            node.replica.standing(&self.removed.user_id()),
            Standing::Former { .. }
        );
        let mut written = node.replica.write(&node.identity, body, now, nonce);
        if written == Err(WriteError::Key(KeyWait::RekeyFirst)) {
            self.do_duties(i, true);
            let nonce = self.rng.bytes();
            let node = &mut self.honest[i];
            written = node.replica.write(&node.identity, body, now, nonce);
        }
        let node = &mut self.honest[i];
        let Ok(page) = written else { return };
        if knew {
            self.after_removal.push(page.page_ref());
        }
        commit_and_announce(&mut node.replica, &mut node.sessions, now);
        self.flush(i);
    }

    /// Writes the keys pages node `i` owes: at once for an owner, for a member only when it
    /// is about to write (`writing`).
    fn do_duties(&mut self, i: usize, writing: bool) {
        let me = self.honest[i].identity.user_id();
        if !writing && !self.honest[i].replica.state().is_owner(&me) {
            return;
        }
        let mut wrote = false;
        // Bounded: each page settles a duty or a share of one.
        for _ in 0..4 {
            let fresh = RoomSecret::from_bytes(self.rng.bytes());
            let nonce = self.rng.bytes();
            let node = &mut self.honest[i];
            match node
                .replica
                .write_keys(&node.identity, fresh, self.now, nonce)
            {
                Ok(Some(page)) => {
                    wrote = true;
                    self.keys_written += 1;
                    if matches!(
                        node.replica.standing(&self.removed.user_id()),
                        Standing::Former { .. }
                    ) {
                        self.after_removal.push(page.page_ref());
                    }
                }
                _ => break,
            }
        }
        if wrote {
            let now = self.now;
            let node = &mut self.honest[i];
            commit_and_announce(&mut node.replica, &mut node.sessions, now);
            self.flush(i);
        }
    }

    fn write_removed(&mut self, timestamp: u64) -> Option<VerifiedPage> {
        let body = Body::Message(MessageBody::Text {
            text: format!("still here at {}", self.now),
            reply_to: None,
        });
        let nonce = self.rng.bytes();
        self.removed_view
            .write(&self.removed, &body, timestamp, nonce)
            .ok()
    }

    fn tick(&mut self) {
        let now = self.now;
        if now < CHAOS_MS {
            for i in 0..HONEST {
                if self.rng.chance(0.08) {
                    let body = Body::Message(MessageBody::Text {
                        text: format!("{i} at {now}"),
                        reply_to: None,
                    });
                    self.write_honest(i, &body);
                }
            }
            if now < self.remove_at {
                if self.rng.chance(0.3)
                    && let Some(page) = self.write_removed(now)
                {
                    self.push_to_all(vec![page.into_page()]);
                }
            } else if (self.backdated.len() as u64) < FLOOD {
                // Back-dated to before the removal, several per tick.
                let mut batch = Vec::new();
                for _ in 0..8 {
                    let stamp = self.rng.below(self.remove_at.max(1));
                    if let Some(page) = self.write_removed(stamp) {
                        self.backdated.push((stamp, page.seq()));
                        batch.push(page.into_page());
                    }
                }
                self.push_to_all(batch);
            }
            if now == self.remove_at {
                let member = self.removed.user_id();
                let removers: &[usize] = if self.double_removal { &[0, 1] } else { &[0] };
                for &i in removers {
                    let seen = self.honest[i].replica.seen_of(&member);
                    self.seens.push(seen);
                    self.write_honest(i, &Body::Control(ControlOp::Remove { member, seen }));
                    self.do_duties(i, false);
                }
            }
            if now == CHAOS_MS / 2 {
                self.stranger_flood();
            }
        }
        timers(&mut self.lurker, &mut self.lurker_sessions, now);
        self.flush(LURKER);
        for i in 0..HONEST {
            self.do_duties(i, false);
            let node = &mut self.honest[i];
            timers(&mut node.replica, &mut node.sessions, now);
            self.flush(i);
        }
    }

    /// Join requests from fresh identities, each pushed to one honest peer; every other one is
    /// followed by a rename (a control page no stranger may have stored).
    fn stranger_flood(&mut self) {
        for k in 0..STRANGERS {
            let Ok(stranger) = Identity::from_secret_bytes(self.rng.bytes()) else {
                continue;
            };
            let mut view = Replica::new(self.room, &self.secret);
            let mut pages = Vec::new();
            let request = Body::Control(ControlOp::JoinRequest {
                display_name: format!("stranger {k}"),
                invite: None,
                proof: None,
            });
            let rename = Body::Control(ControlOp::Rename {
                name: "taken".into(),
            });
            let bodies = if k % 2 == 0 {
                vec![request, rename]
            } else {
                vec![request]
            };
            for body in bodies {
                if let Ok(page) = view.write(&stranger, &body, self.now, self.rng.bytes()) {
                    pages.push(page.into_page());
                }
            }
            self.stranger_pages += pages.len() as u64;
            let to = self.rng.below(HONEST as u64) as usize;
            let bytes = SyncMessage::Pages {
                room: self.room,
                reply: false,
                pages,
            }
            .encode();
            self.send(None, to, bytes);
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

    /// The invariants after healing (see the module docs).
    pub fn check(&self) -> Result<(), Violation> {
        let member = self.removed.user_id();
        if (self.backdated.len() as u64) < FLOOD || self.seens.is_empty() {
            return Err(self.violation("the removed member's attack did not happen".into()));
        }
        if self.stranger_pages <= MAX_PENDING_REQUESTS as u64 {
            return Err(self.violation("the stranger's flood did not happen".into()));
        }
        let view = |r: &Replica| {
            let members: Vec<UserId> = r.state().members().keys().copied().collect();
            let pages: BTreeSet<PageRef> = r
                .heads()
                .iter()
                .flat_map(|h| {
                    r.book(&h.author)
                        .map(|b| {
                            b.range(0..b.len())
                                .iter()
                                .map(|p| p.page_ref())
                                .collect::<Vec<_>>()
                        })
                        .unwrap_or_default()
                })
                .collect();
            let order: Vec<(PageRef, bool)> =
                r.display_order().map(|k| (k.id, r.counts(k))).collect();
            (members, pages, order)
        };
        let reference = view(&self.honest[0].replica);
        for (i, node) in self.honest.iter().enumerate() {
            let r = &node.replica;
            let mine = view(r);
            if mine.0 != reference.0 {
                return Err(self.violation(format!("node {i} disagrees on the members")));
            }
            if mine.1 != reference.1 {
                return Err(self.violation(format!(
                    "node {i} holds {} pages, node 0 {}",
                    mine.1.len(),
                    reference.1.len()
                )));
            }
            if mine.2 != reference.2 {
                let at = mine.2.iter().zip(&reference.2).position(|(a, b)| a != b);
                let show = |v: &[(PageRef, bool)], at: Option<usize>| {
                    at.and_then(|at| v.get(at))
                        .map(|(id, c)| (id.author == member, id.seq, *c))
                };
                return Err(self.violation(format!(
                    "node {i} shows another order: first difference at {at:?}: {:?} vs {:?} on node 0 ({:?} vs {} shown; {:?})",
                    show(&mine.2, at),
                    show(&reference.2, at),
                    (mine.2.len(), r.pending_len(), r.held_len()),
                    reference.2.len(),
                    mine.2.iter().filter(|x| !reference.2.contains(x)).map(|(id, c)| (id.author == member, id.seq, *c, r.standing(&id.author))).chain(reference.2.iter().filter(|x| !mine.2.contains(x)).map(|(id, c)| (id.author == member, id.seq, *c, self.honest[0].replica.standing(&id.author)))).collect::<Vec<_>>()
                )));
            }
            if r.pending_len() > 0 {
                return Err(self.violation(format!("node {i} still has pages waiting")));
            }
            let Standing::Former { cut } = r.standing(&member) else {
                return Err(self.violation(format!("node {i} did not remove the member")));
            };
            if !self.seens.contains(&cut) {
                return Err(self.violation(format!(
                    "node {i} cut at {cut}, not at a seen length {:?}",
                    self.seens
                )));
            }
            let held = r
                .book(&member)
                .map_or(0, |b| b.len() + b.pending_len() as u64);
            if held > cut + MAX_PAGES_PAST_CUT {
                return Err(self.violation(format!(
                    "node {i} stores {held} pages of the member cut at {cut}"
                )));
            }
            for (id, counts) in &mine.2 {
                if id.author == member && *counts && id.seq >= cut {
                    return Err(self.violation(format!(
                        "node {i} shows the removed member's page {} past its cut {cut}",
                        id.seq
                    )));
                }
            }
            let outsiders: Vec<UserId> = r
                .heads()
                .iter()
                .filter(|h| h.len > 0)
                .map(|h| h.author)
                .filter(|a| matches!(r.standing(a), Standing::Pending | Standing::Unknown))
                .collect();
            if outsiders.len() > MAX_PENDING_REQUESTS
                || r.state().join_requests().len() > MAX_PENDING_REQUESTS
            {
                return Err(self.violation(format!(
                    "node {i} holds {} strangers' books",
                    outsiders.len()
                )));
            }
            if let Some(a) = outsiders
                .iter()
                .find(|a| r.book(a).is_some_and(|b| b.len() > 1))
            {
                return Err(self.violation(format!("node {i} stores more than a request of {a:?}")));
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
            for (id, _) in &mine.2 {
                let Some(page) = r.page(id) else { continue };
                let honest_author = self
                    .honest
                    .iter()
                    .any(|h| h.identity.user_id() == id.author);
                if honest_author && r.open(page).is_err() {
                    return Err(self.violation(format!(
                        "node {i} cannot open an honest page ({:?} {})",
                        page.kind(),
                        id.seq
                    )));
                }
            }
        }
        if self.keys_written == 0 || self.after_removal.is_empty() {
            return Err(self.violation("nobody re-keyed or wrote after the removal".into()));
        }
        // The lurker learned that it was removed, and was sent nothing written after it.
        if !matches!(self.lurker.standing(&member), Standing::Former { .. }) {
            return Err(self.violation("the lurker never learned of its removal".into()));
        }
        if let Some(id) = self
            .after_removal
            .iter()
            .find(|id| self.lurker.page(id).is_some())
        {
            let who = self
                .honest
                .iter()
                .position(|h| h.identity.user_id() == id.author);
            return Err(self.violation(format!(
                "the lurker was sent page {} of node {who:?}, written after its removal",
                id.seq
            )));
        }
        // The removed member is handed every page the honest peers hold.
        let r = &self.honest[0].replica;
        let mut leaked = Replica::new(self.room, &self.secret).with_member(&self.removed);
        let everything: Vec<crate::page::Page> = r
            .books()
            .flat_map(|(_, b)| b.range(0..b.len()).to_vec())
            .map(VerifiedPage::into_page)
            .collect();
        for _ in 0..3 {
            leaked.ingest_at(everything.clone(), self.now);
        }
        for id in &self.after_removal {
            let Some(page) = leaked.page(id).or_else(|| r.page(id)) else {
                continue;
            };
            if page.kind() != crate::page::PageKind::Keys && leaked.open(page).is_ok() {
                return Err(self.violation(format!(
                    "the removed member reads a page written after its removal ({:?} {})",
                    page.kind(),
                    id.seq
                )));
            }
        }
        Ok(())
    }

    /// Whether both owners removed the member in this run.
    pub fn double_removal(&self) -> bool {
        self.double_removal
    }

    /// Back-dated pages of the removed member that every honest peer holds (below the cap)
    /// and displays before the removal page yet does not count.
    pub fn backdated_held(&self) -> usize {
        let r = &self.honest[0].replica;
        let member = self.removed.user_id();
        let Some(remove_pos) = r.display_order().position(|k| {
            r.page(&k.id).is_some_and(|p| {
                p.kind() == crate::page::PageKind::Control
                    && matches!(r.open(p), Ok(Body::Control(ControlOp::Remove { .. })))
            })
        }) else {
            return 0;
        };
        r.display_order()
            .take(remove_pos)
            .filter(|k| k.id.author == member && self.backdated.iter().any(|(_, s)| *s == k.id.seq))
            .count()
    }
}
