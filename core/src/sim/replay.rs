//! Deterministic simulation of auto-admitting links under replay.
//!
//! An owner's device keeps two auto-admitting links of its room: one that works (single-use
//! or not, by the seed) and one that has expired. Join requests reach it in a random order and
//! in random batches, some several times over, and after each batch it admits what
//! [`Replica::auto_admittable`] names, as the app does. Besides two honest newcomers holding
//! the working link, the requests come from:
//!
//! - a member's second identity, which copies a newcomer's proof (the member saw the invite id
//!   and the proof in that newcomer's request page);
//! - a former member the owner removed, which holds the working link and proves it;
//! - strangers: one with a proof under a secret of its own, one with none, one that names the
//!   working link with the proof of the expired one, and one holding the expired link.
//!
//! [`ReplaySim::check`] verifies that the honest newcomers (one of them, for a single-use
//! link) are members and nobody else was admitted, and that every replayed request was held
//! and weighed, so a run cannot pass because an attack never arrived.

use std::collections::{BTreeMap, BTreeSet};

use super::SplitMix64;
use super::Violation;
use crate::crypto::RoomSecret;
use crate::identity::{Identity, UserId};
use crate::invite::link_proof;
use crate::membership::auto_admit::{AutoAdmitLink, AutoAdmitLinks, link_used};
use crate::page::{Body, ControlOp, InviteId, LinkProof, Page, Role};
use crate::room::{Replica, group_room_id};

/// The owner's key duties (the re-key after the removal, grants to whoever it admits), as
/// its device carries them out at once; then everything is committed.
fn settle_keys(replica: &mut Replica, owner: &Identity, rng: &mut SplitMix64, now: u64) {
    // Bounded: each page settles a duty or a share of one.
    for _ in 0..4 {
        let fresh = RoomSecret::from_bytes(rng.bytes());
        if !matches!(
            replica.write_keys(owner, fresh, now, rng.bytes()),
            Ok(Some(_))
        ) {
            break;
        }
    }
    super::commit_everything(replica);
}

/// Who sent a request, and whether it should get in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Who {
    Newcomer,
    MembersPuppet,
    Removed,
    Stranger,
}

/// The replay world.
#[allow(missing_debug_implementations)]
pub struct ReplaySim {
    seed: u64,
    rng: SplitMix64,
    owner: Identity,
    replica: Replica,
    links: AutoAdmitLinks,
    working: InviteId,
    single_use: bool,
    /// Each requester and who it is.
    requesters: BTreeMap<UserId, Who>,
    /// Request pages still to arrive (a page may be in here several times).
    to_arrive: Vec<Page>,
    /// Requesters whose request the owner's replica held at some point.
    weighed: BTreeSet<UserId>,
    /// Requesters the owner's device admitted.
    admitted: Vec<UserId>,
    now: u64,
}

impl ReplaySim {
    /// Builds the room for `seed`: the owner creates it, admits a member and a member it then
    /// removes, and makes the two links; every requester signs its request.
    pub fn new(seed: u64) -> Self {
        let mut rng = SplitMix64::new(seed ^ 0x0000_4E71_A7ED_5EED);
        let secret = RoomSecret::from_bytes(rng.bytes());
        let identity = |rng: &mut SplitMix64| loop {
            if let Ok(id) = Identity::from_secret_bytes(rng.bytes()) {
                break id;
            }
        };
        let owner = identity(&mut rng);
        let member = identity(&mut rng);
        let removed = identity(&mut rng);
        let create_nonce = rng.bytes();
        let room = group_room_id(&owner.user_id(), &create_nonce);
        let mut replica = Replica::new(room, &secret).with_member(&owner);
        let setup = [
            Body::Control(ControlOp::Create {
                name: "replay".into(),
                direct: None,
            }),
            Body::Control(ControlOp::Admit {
                member: member.user_id(),
                role: Role::Member,
            }),
            Body::Control(ControlOp::Admit {
                member: removed.user_id(),
                role: Role::Member,
            }),
            Body::Control(ControlOp::Remove {
                member: removed.user_id(),
                seen: 0,
            }),
        ];
        for (k, body) in setup.iter().enumerate() {
            let nonce = if k == 0 { create_nonce } else { rng.bytes() };
            let _written = replica.write(&owner, body, 1, nonce);
        }
        settle_keys(&mut replica, &owner, &mut rng, 1);

        let single_use = rng.chance(0.5);
        let (working, expired) = (InviteId(rng.bytes()), InviteId(rng.bytes()));
        let (working_secret, expired_secret) = (rng.bytes(), rng.bytes());
        let links = BTreeMap::from([
            (
                working,
                AutoAdmitLink {
                    until_ms: u64::MAX,
                    single_use,
                    secret: Some(working_secret),
                },
            ),
            (
                expired,
                AutoAdmitLink {
                    until_ms: 1,
                    single_use: false,
                    secret: Some(expired_secret),
                },
            ),
        ]);

        let proof = |secret: &[u8; 32], user: &Identity| link_proof(secret, &room, &user.user_id());
        let newcomers = [identity(&mut rng), identity(&mut rng)];
        let puppet = identity(&mut rng);
        let strangers: Vec<Identity> = (0..4).map(|_| identity(&mut rng)).collect();
        let own_secret: [u8; 32] = rng.bytes();
        let mut requests: Vec<(&Identity, Who, InviteId, Option<LinkProof>)> = newcomers
            .iter()
            .map(|n| (n, Who::Newcomer, working, Some(proof(&working_secret, n))))
            .collect();
        requests.extend([
            (
                &puppet,
                Who::MembersPuppet,
                working,
                Some(proof(&working_secret, &newcomers[0])),
            ),
            (
                &removed,
                Who::Removed,
                working,
                Some(proof(&working_secret, &removed)),
            ),
            (
                &strangers[0],
                Who::Stranger,
                working,
                Some(proof(&own_secret, &strangers[0])),
            ),
            (&strangers[1], Who::Stranger, working, None),
            (
                &strangers[2],
                Who::Stranger,
                working,
                Some(proof(&expired_secret, &strangers[2])),
            ),
            (
                &strangers[3],
                Who::Stranger,
                expired,
                Some(proof(&expired_secret, &strangers[3])),
            ),
        ]);
        let mut requesters = BTreeMap::new();
        let mut to_arrive = Vec::new();
        // The removed member asks again from the view it had (its request follows its
        // removal); everyone else from nothing.
        let owner_pages: Vec<Page> = replica
            .book(&owner.user_id())
            .map(|b| {
                b.range(0..b.len())
                    .iter()
                    .cloned()
                    .map(|p| p.into_page())
                    .collect()
            })
            .unwrap_or_default();
        for (k, (who, role, invite, proof)) in requests.into_iter().enumerate() {
            let mut view = Replica::new(room, &secret);
            if role == Who::Removed {
                view.ingest_at(owner_pages.clone(), 1);
                super::commit_everything(&mut view);
            }
            let body = Body::Control(ControlOp::JoinRequest {
                display_name: format!("requester {k}"),
                invite: Some(invite),
                proof,
            });
            if let Ok(page) = view.write(who, &body, 2, rng.bytes()) {
                requesters.insert(who.user_id(), role);
                // Replayed: each request may arrive more than once.
                let copies = 1 + rng.below(3);
                for _ in 0..copies {
                    to_arrive.push(page.clone().into_page());
                }
            }
        }
        // A seeded shuffle.
        for i in (1..to_arrive.len()).rev() {
            let j = rng.below(i as u64 + 1) as usize;
            to_arrive.swap(i, j);
        }
        Self {
            seed,
            rng,
            owner,
            replica,
            links,
            working,
            single_use,
            requesters,
            to_arrive,
            weighed: BTreeSet::new(),
            admitted: Vec::new(),
            now: 10,
        }
    }

    /// Delivers the requests in random batches; after each, the owner's device admits what
    /// the rule names.
    pub fn run(&mut self) -> Result<(), Violation> {
        while !self.to_arrive.is_empty() {
            let n = 1 + self.rng.below(self.to_arrive.len() as u64) as usize;
            let batch: Vec<Page> = self.to_arrive.drain(..n).collect();
            self.now += 100;
            let _ingested = self.replica.ingest_at(batch, self.now);
            super::commit_everything(&mut self.replica);
            self.weighed
                .extend(self.replica.state().join_requests().keys().copied());
            let me = self.owner.user_id();
            for (user, invite) in self.replica.auto_admittable(&me, &self.links, self.now) {
                let admit = Body::Control(ControlOp::Admit {
                    member: user,
                    role: Role::Member,
                });
                let nonce = self.rng.bytes();
                if self
                    .replica
                    .write(&self.owner, &admit, self.now, nonce)
                    .is_ok()
                {
                    self.admitted.push(user);
                    link_used(&mut self.links, &invite);
                }
            }
            settle_keys(&mut self.replica, &self.owner, &mut self.rng, self.now);
        }
        self.check()
    }

    fn violation(&self, what: String) -> Violation {
        Violation {
            seed: self.seed,
            what,
        }
    }

    /// Whether the working link let in one person only in this run.
    pub fn single_use(&self) -> bool {
        self.single_use
    }

    /// The invariants (see the module docs).
    pub fn check(&self) -> Result<(), Violation> {
        if self.requesters.len() != 8 {
            return Err(self.violation(format!(
                "{} of 8 requests were signed",
                self.requesters.len()
            )));
        }
        if let Some(user) = self.requesters.keys().find(|u| !self.weighed.contains(u)) {
            return Err(self.violation(format!(
                "the request of {:?} ({:?}) was never held",
                user, self.requesters[user]
            )));
        }
        for user in &self.admitted {
            let who = self.requesters.get(user).copied();
            if who != Some(Who::Newcomer) {
                return Err(self.violation(format!("{who:?} {user:?} was admitted")));
            }
        }
        let state = self.replica.state();
        let newcomers: Vec<UserId> = self
            .requesters
            .iter()
            .filter(|(_, w)| **w == Who::Newcomer)
            .map(|(u, _)| *u)
            .collect();
        let in_now = newcomers.iter().filter(|u| state.is_member(u)).count();
        let expected = if self.single_use { 1 } else { 2 };
        if in_now != expected || self.admitted.len() != expected {
            return Err(self.violation(format!(
                "{in_now} newcomers are members after {} admissions through a {} link",
                self.admitted.len(),
                if self.single_use {
                    "single-use"
                } else {
                    "multi-use"
                }
            )));
        }
        let others = self
            .requesters
            .iter()
            .filter(|(u, w)| **w != Who::Newcomer && state.is_member(u))
            .count();
        if others > 0 {
            return Err(self.violation(format!("{others} replayers are members")));
        }
        if self.single_use && self.links.contains_key(&self.working) {
            return Err(self.violation("the single-use link was not used up".into()));
        }
        Ok(())
    }
}
