//! Joining without forking one's own book.
//!
//! A device that opens an invite link may already belong to the room: the user restored a
//! backup in a fresh browser, cleared the site's data, or copied a profile. Their book then
//! exists on the members' devices, and a join request written at once would be a second page
//! at its seq 0: a fork, which hides everything the user ever wrote there and costs their
//! standing. So the request is not written when the link is opened. It waits until a peer has
//! told this device what it holds (its heads, [`SyncSession::heard_heads`]):
//!
//! - a peer names the user's own book: the device takes it back by sync, and the join is over
//!   once it holds at least as much of it as any peer named. Nothing is written meanwhile; the
//!   user then writes after the last page, as a member, with no approval.
//! - a peer that holds the room told its heads without naming the user's own book, and none
//!   named it: the user is new to the room (a member tells a stranger of no book at all), so
//!   the request is written.
//!
//! "Holds the room": the peer is the inviter, or its heads name a page of the inviter's book.
//! The inviter was a member when it made the link, so every device holding the room holds
//! some of its book. Heads from anyone else decide nothing: another requester names only its
//! own request, and a member tells a stranger of no book at all, which from a device holding
//! nothing of the room looks the same. So a returning member whose first answer comes from
//! another requester keeps waiting for a member instead of forking her book, and a newcomer's
//! request waits for the inviter, who is the one to let it in (or an owner it reaches through
//! the inviter). A join stored by an earlier version, which did not keep the inviter, takes any
//! peer's heads.
//!
//! A 1:1 chat a peer opens with this device ([`RoomSession::taking_direct`]) waits the same
//! way, with no request to write: the user may have chatted with that peer before, and the
//! profile page the device would write at once could fork her book there too. There the peer
//! itself vouches: it opened the chat, so it holds its own first page.
//!
//! What remains possible: a member that is behind (it holds the inviter's book but not yet the
//! user's) answering first makes a returning member write a request; for the room's creator
//! core's root rule makes that harmless (`quire_core::room::is_room_root`), for anyone else it
//! forks their book.

use quire_core::identity::{Identity, UserId};
use quire_core::page::{ControlOp, InviteId, LinkProof, NONCE_LEN};
use quire_core::sync::SyncSession;

use super::{Outgoing, RoomSession, SendError};

/// A join request this device has not written yet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PendingJoin {
    /// The request to write (display name, invite) when the user turns out to be new; `None`
    /// for a 1:1 chat, where there is nothing to ask.
    request: Option<(String, Option<InviteId>)>,
    /// Proof that the user holds the invite's link, written with the request.
    proof: Option<LinkProof>,
    /// The peer whose heads count, and whose book other peers' heads must name to count
    /// (module docs): the inviter, or the peer of a 1:1 chat; `None` when any peer's heads
    /// count.
    vouch: Option<UserId>,
    /// A peer that holds the room sent its heads and named no page of the user's own book.
    heard_without_us: bool,
    /// The first peer that named the user's own book, and the longest length any peer named.
    held: Option<(UserId, u64)>,
}

/// Where a join that has not written its request stands, for the screen.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JoinStatus {
    /// No peer has said what it holds yet.
    Looking,
    /// `from` holds the user's own book: it is being fetched before anything is written.
    Fetching {
        /// The peer that first named it.
        from: UserId,
    },
}

impl PendingJoin {
    /// A request to write as `display_name`, through `invite`, made by `inviter` (when known).
    pub fn new(display_name: String, invite: Option<InviteId>, inviter: Option<UserId>) -> Self {
        Self::waiting(Some((display_name, invite)), inviter)
    }

    /// The same request, carrying `proof` that the user holds the invite's link (see
    /// `model::invites`): without it an auto-admitting link does not let the user in.
    pub fn with_proof(mut self, proof: Option<LinkProof>) -> Self {
        self.proof = proof;
        self
    }

    fn waiting(request: Option<(String, Option<InviteId>)>, vouch: Option<UserId>) -> Self {
        Self {
            request,
            proof: None,
            vouch,
            heard_without_us: false,
            held: None,
        }
    }
}

impl RoomSession {
    /// A room the user opened an invite for: nothing is written until a peer that holds the
    /// room says whether it holds the user's own book (module docs).
    pub fn joining(
        identity: &Identity,
        room: quire_core::page::RoomId,
        secret: &quire_core::crypto::RoomSecret,
        request: PendingJoin,
    ) -> Self {
        let mut session = Self::join(identity, room, secret);
        session.join = Some(request);
        session
    }

    /// The 1:1 room a peer opened with this device, and its secret: nothing is written until
    /// the peer says whether it holds the user's own book there (module docs).
    pub fn taking_direct(
        identity: &Identity,
        peer: &UserId,
    ) -> Result<(Self, quire_core::crypto::RoomSecret), SendError> {
        let secret = quire_core::crypto::direct_room_secret(identity, peer)
            .map_err(|_| SendError::BadPeer)?;
        let room = quire_core::room::direct_room_id(&identity.user_id(), peer);
        let mut session = Self::join(identity, room, &secret);
        session.join = Some(PendingJoin::waiting(None, Some(*peer)));
        Ok((session, secret))
    }

    /// This device had stopped writing while another copy of the account wrote
    /// (`crate::model::copies`) and writes again: nothing more is written in this room until a
    /// peer has said how much of the user's own book it holds and that much of it is here (the
    /// other copy may have written pages this device has not seen; writing before them would
    /// fork the book). A join already waiting stays as it is.
    pub fn await_own_book(&mut self) {
        if self.join.is_none() {
            self.join = Some(PendingJoin::waiting(None, None));
        }
    }

    /// After a reload: the join was still waiting. Ignored once the user's own book is held.
    pub fn resume_join(&mut self, request: PendingJoin) {
        if self.own_len() == 0 {
            self.join = Some(request);
        }
    }

    fn own_len(&self) -> u64 {
        self.replica.book(&self.me).map_or(0, |b| b.len())
    }

    /// Takes what `sync`'s peer said it holds into a pending join (called after each frame,
    /// and by the driver for every open session when a join starts on a room already synced:
    /// the heads the peer last sent count at once).
    pub fn note_join_heads(&mut self, sync: &SyncSession) {
        let (me, peer) = (self.me, sync.peer());
        let Some(join) = &mut self.join else { return };
        if !sync.heard_heads() {
            return;
        }
        match sync.peer_heads().find(|h| h.author == me && h.len > 0) {
            Some(head) => {
                let (from, len) = join.held.unwrap_or((peer, 0));
                join.held = Some((from, len.max(head.len)));
            }
            None => {
                let holds_room = join.vouch.is_none_or(|v| {
                    peer == v || sync.peer_heads().any(|h| h.author == v && h.len > 0)
                });
                join.heard_without_us |= holds_room;
            }
        }
    }

    /// The pending join, if this device opened an invite and has written nothing yet.
    pub fn join_status(&self) -> Option<JoinStatus> {
        let join = self.join.as_ref()?;
        Some(match join.held {
            Some((from, _)) => JoinStatus::Fetching { from },
            None => JoinStatus::Looking,
        })
    }

    /// Whether the join request is to be written now: a peer that holds the room told its
    /// heads, none named the user's own book, and none of it arrived.
    pub fn request_due(&self) -> bool {
        self.join.as_ref().is_some_and(|j| {
            j.request.is_some() && j.heard_without_us && j.held.is_none() && self.own_len() == 0
        })
    }

    /// Writes the pending join request ([`Self::request_due`]); stored and offered like any
    /// own page.
    pub fn write_join_request(
        &mut self,
        identity: &Identity,
        now_ms: u64,
        nonce: [u8; NONCE_LEN],
    ) -> Result<Outgoing, SendError> {
        let join = self.join.take().ok_or(SendError::NoPendingJoin)?;
        let Some((display_name, invite)) = join.request.clone() else {
            self.join = Some(join);
            return Err(SendError::NoPendingJoin);
        };
        let op = ControlOp::JoinRequest {
            display_name,
            invite,
            proof: join.proof.filter(|_| invite.is_some()),
        };
        self.write(
            identity,
            &quire_core::page::Body::Control(op),
            now_ms,
            nonce,
        )
        .inspect_err(|_| self.join = Some(join))
    }

    /// Ends a pending join whose user's own book arrived, at least as long as any peer named
    /// it, or a 1:1 chat whose peer named none of it. Returns whether it ended (the driver
    /// forgets the stored pending invite).
    pub fn settle_join(&mut self) -> bool {
        let own = self.own_len();
        let done = self.join.as_ref().is_some_and(|j| match j.held {
            Some((_, len)) => own >= len,
            None => j.request.is_none() && j.heard_without_us,
        });
        if done {
            self.join = None;
        }
        done
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use quire_core::page::InviteId;
    use quire_core::sync::SyncSession;

    use super::{JoinStatus, PendingJoin};
    use crate::model::session::tests::{TEST_NOW_MS, club_with_bo, pages, person};
    use crate::model::session::{RoomSession, SendError};

    /// Runs the sync between two sessions until nothing moves (both directions), as the
    /// driver would: frames through `sync_bytes`, stored pages marked stored.
    fn pump(
        a: &mut RoomSession,
        a_sync: &mut SyncSession,
        b: &mut RoomSession,
        b_sync: &mut SyncSession,
    ) {
        for _ in 0..50 {
            let mut moved = false;
            while let Some(m) = a_sync.poll_transmit() {
                b.sync_bytes(b_sync, &m.encode(), TEST_NOW_MS);
                store_all(b);
                moved = true;
            }
            while let Some(m) = b_sync.poll_transmit() {
                a.sync_bytes(a_sync, &m.encode(), TEST_NOW_MS);
                store_all(a);
                moved = true;
            }
            if !moved {
                return;
            }
        }
    }

    fn store_all(s: &mut RoomSession) {
        let lens: Vec<_> = s.replica().books().map(|(a, b)| (*a, b.len())).collect();
        for (author, len) in lens {
            s.mark_stored(author, len);
        }
    }

    /// Ada's club, in which Bo joined and wrote "hi": Ada's session holds (and stored) it all.
    fn bo_said_hi() -> (
        quire_core::identity::Identity,
        quire_core::identity::Identity,
        quire_core::crypto::RoomSecret,
        RoomSession,
    ) {
        let (ada, bo, secret, mut room, history) = club_with_bo();
        let mut bos = RoomSession::join(&bo, room.room(), &secret);
        bos.receive(pages(&history), TEST_NOW_MS);
        let said = bos.send_text(&bo, "hi".into(), 1_100, [20; 24]).unwrap();
        room.receive(pages(&[said]), TEST_NOW_MS);
        store_all(&mut room);
        (ada, bo, secret, room)
    }

    #[test]
    fn a_returning_member_takes_her_book_back_and_writes_no_request() {
        let (ada, bo, secret, mut room) = bo_said_hi();
        // Bo's backup in a fresh browser opens a link to the room.
        let mut fresh = RoomSession::joining(
            &bo,
            room.room(),
            &secret,
            PendingJoin::new("Bo".into(), Some(InviteId([3; 16])), Some(ada.user_id())),
        );
        assert_eq!(fresh.join_status(), Some(JoinStatus::Looking));
        assert!(!fresh.request_due(), "nothing heard yet");
        assert!(
            matches!(
                fresh.send_text(&bo, "too early".into(), 1_200, [21; 24]),
                Err(SendError::Joining)
            ),
            "nothing is written while the join waits"
        );
        let mut to_ada = SyncSession::new(fresh.replica(), ada.user_id(), TEST_NOW_MS);
        let mut to_bo = SyncSession::new(room.replica(), bo.user_id(), TEST_NOW_MS);
        pump(&mut fresh, &mut to_ada, &mut room, &mut to_bo);
        assert!(!fresh.request_due(), "Ada holds Bo's book");
        assert!(fresh.settle_join(), "his whole book arrived");
        assert_eq!(fresh.join_status(), None);
        assert_eq!(fresh.replica().book(&bo.user_id()).unwrap().len(), 1);
        assert!(fresh.replica().state().is_member(&bo.user_id()));
        let next = fresh
            .send_text(&bo, "back again".into(), 1_300, [22; 24])
            .unwrap();
        assert_eq!(next.page.seq, 1, "after his last page: no fork");
        assert!(room.receive(pages(&[next]), TEST_NOW_MS).len() == 1);
        assert!(room.replica().proof(&bo.user_id()).is_none());
    }

    #[test]
    fn a_returning_member_first_answered_by_another_requester_keeps_waiting_for_a_member() {
        let (ada, bo, secret, mut room) = bo_said_hi();
        // Cy, a newcomer who has written his request and holds nothing else of the room.
        let cy = person(3);
        let request = PendingJoin::new("Cy".into(), Some(InviteId([3; 16])), Some(ada.user_id()));
        let mut cys = RoomSession::joining(&cy, room.room(), &secret, request);
        let mut cy_to_ada = SyncSession::new(cys.replica(), ada.user_id(), TEST_NOW_MS);
        let mut ada_to_cy = SyncSession::new(room.replica(), cy.user_id(), TEST_NOW_MS);
        pump(&mut cys, &mut cy_to_ada, &mut room, &mut ada_to_cy);
        cys.write_join_request(&cy, TEST_NOW_MS, [30; 24]).unwrap();
        store_all(&mut cys);
        // Bo's restored backup hears from Cy first.
        let request = PendingJoin::new("Bo".into(), Some(InviteId([3; 16])), Some(ada.user_id()));
        let mut fresh = RoomSession::joining(&bo, room.room(), &secret, request);
        let mut to_cy = SyncSession::new(fresh.replica(), cy.user_id(), TEST_NOW_MS);
        let mut to_bo = SyncSession::new(cys.replica(), bo.user_id(), TEST_NOW_MS);
        pump(&mut fresh, &mut to_cy, &mut cys, &mut to_bo);
        assert!(to_cy.heard_heads(), "Cy told what he holds");
        assert!(
            !fresh.request_due(),
            "Cy holds nothing of the room: his heads decide nothing"
        );
        assert_eq!(fresh.join_status(), Some(JoinStatus::Looking));
        // Then Ada answers: Bo's book comes back and nothing was forked.
        let mut to_ada = SyncSession::new(fresh.replica(), ada.user_id(), TEST_NOW_MS);
        let mut ada_to_bo = SyncSession::new(room.replica(), bo.user_id(), TEST_NOW_MS);
        pump(&mut fresh, &mut to_ada, &mut room, &mut ada_to_bo);
        assert!(!fresh.request_due());
        assert!(fresh.settle_join());
        let next = fresh
            .send_text(&bo, "back again".into(), 1_300, [22; 24])
            .unwrap();
        assert_eq!(next.page.seq, 1, "after his last page: no fork");
    }

    #[test]
    fn a_copy_that_writes_again_first_takes_in_what_the_other_copy_wrote() {
        let (ada, bo, secret, mut room, history) = club_with_bo();
        // Bo's account on two devices: the laptop wrote while the phone was stopped.
        let mut phone = RoomSession::join(&bo, room.room(), &secret);
        phone.receive(pages(&history), TEST_NOW_MS);
        store_all(&mut phone);
        let mut laptop = RoomSession::join(&bo, room.room(), &secret);
        laptop.receive(pages(&history), TEST_NOW_MS);
        let said = laptop
            .send_text(&bo, "from the laptop".into(), 1_100, [20; 24])
            .unwrap();
        room.receive(pages(std::slice::from_ref(&said)), TEST_NOW_MS);
        store_all(&mut room);
        // "Use here" on the phone: it writes nothing before it holds the laptop's page.
        phone.await_own_book();
        assert!(matches!(
            phone.send_text(&bo, "too early".into(), 1_200, [21; 24]),
            Err(SendError::Joining)
        ));
        let mut to_ada = SyncSession::new(phone.replica(), ada.user_id(), TEST_NOW_MS);
        let mut to_bo = SyncSession::new(room.replica(), bo.user_id(), TEST_NOW_MS);
        pump(&mut phone, &mut to_ada, &mut room, &mut to_bo);
        assert!(phone.settle_join(), "Ada named Bo's book and it arrived");
        let next = phone
            .send_text(&bo, "from the phone".into(), 1_300, [22; 24])
            .unwrap();
        assert_eq!(next.page.seq, said.page.seq + 1, "after the laptop's page");
        room.receive(pages(&[next]), TEST_NOW_MS);
        assert!(room.replica().proof(&bo.user_id()).is_none(), "no fork");
    }

    /// Ada opened a 1:1 chat with Bo, who wrote in it; returns Ada's session and Bo's.
    fn chat() -> (
        quire_core::identity::Identity,
        quire_core::identity::Identity,
        RoomSession,
        RoomSession,
    ) {
        let (ada, bo) = (person(1), person(2));
        let (mut adas, _, _create) =
            RoomSession::create_direct(&ada, &bo.user_id(), 1_000, [1; 24]).unwrap();
        let (mut bos, _) = RoomSession::taking_direct(&bo, &ada.user_id()).unwrap();
        store_all(&mut adas);
        let mut to_bo = SyncSession::new(adas.replica(), bo.user_id(), TEST_NOW_MS);
        let mut to_ada = SyncSession::new(bos.replica(), ada.user_id(), TEST_NOW_MS);
        pump(&mut bos, &mut to_ada, &mut adas, &mut to_bo);
        assert!(
            bos.settle_join(),
            "Ada named no book of Bo's: he is new here"
        );
        assert!(bos.needs_profile());
        let profile = bos.set_profile(&bo, "Bo", 1_001, [2; 24]).unwrap();
        let hi = bos.send_text(&bo, "hi".into(), 1_002, [3; 24]).unwrap();
        adas.receive(pages(&[profile, hi]), TEST_NOW_MS);
        store_all(&mut adas);
        (ada, bo, adas, bos)
    }

    #[test]
    fn a_returning_user_takes_a_chat_back_without_writing_a_first_page_again() {
        let (ada, bo, mut adas, _) = chat();
        // Bo's backup in a fresh browser; Ada opens a stream for their chat.
        let (mut fresh, _) = RoomSession::taking_direct(&bo, &ada.user_id()).unwrap();
        assert!(!fresh.needs_profile(), "nothing before Ada has answered");
        let mut to_bo = SyncSession::new(adas.replica(), bo.user_id(), TEST_NOW_MS);
        let mut to_ada = SyncSession::new(fresh.replica(), ada.user_id(), TEST_NOW_MS);
        pump(&mut fresh, &mut to_ada, &mut adas, &mut to_bo);
        assert!(!fresh.request_due(), "a chat has nothing to ask");
        assert!(fresh.settle_join());
        assert_eq!(fresh.replica().book(&bo.user_id()).unwrap().len(), 2);
        assert!(!fresh.needs_profile(), "his profile is back");
        let next = fresh
            .send_text(&bo, "new laptop".into(), 1_100, [9; 24])
            .unwrap();
        assert_eq!(next.page.seq, 2);
        adas.receive(pages(&[next]), TEST_NOW_MS);
        assert!(adas.replica().proof(&bo.user_id()).is_none());
    }

    #[test]
    fn a_newcomer_writes_the_request_once_a_member_said_what_it_holds() {
        let (ada, _, secret, mut room, _) = club_with_bo();
        store_all(&mut room);
        let cy = person(3);
        let mut cys = RoomSession::joining(
            &cy,
            room.room(),
            &secret,
            PendingJoin::new("Cy".into(), Some(InviteId([3; 16])), Some(ada.user_id())),
        );
        let mut to_ada = SyncSession::new(cys.replica(), ada.user_id(), TEST_NOW_MS);
        let mut to_cy = SyncSession::new(room.replica(), cy.user_id(), TEST_NOW_MS);
        assert!(!cys.request_due());
        pump(&mut cys, &mut to_ada, &mut room, &mut to_cy);
        assert!(cys.request_due(), "Ada named no book of Cy's");
        assert!(!cys.settle_join());
        let request = cys.write_join_request(&cy, TEST_NOW_MS, [30; 24]).unwrap();
        assert_eq!(request.page.seq, 0);
        assert_eq!(cys.join_status(), None);
        assert!(
            cys.replica()
                .state()
                .join_requests()
                .contains_key(&cy.user_id())
        );
        room.receive(pages(&[request]), TEST_NOW_MS);
        assert!(
            room.replica()
                .state()
                .join_requests()
                .contains_key(&cy.user_id())
        );
        assert!(matches!(
            cys.write_join_request(&cy, TEST_NOW_MS, [31; 24]),
            Err(SendError::NoPendingJoin)
        ));
    }

    #[test]
    fn a_newcomers_request_waits_for_a_peer_that_shows_it_holds_the_room() {
        let (ada, bo, secret, mut room, _) = club_with_bo();
        store_all(&mut room);
        let cy = person(3);
        // Bo made the link; Ada, who tells a stranger of no book, answers first.
        let request = PendingJoin::new("Cy".into(), Some(InviteId([3; 16])), Some(bo.user_id()));
        let mut cys = RoomSession::joining(&cy, room.room(), &secret, request);
        let mut to_ada = SyncSession::new(cys.replica(), ada.user_id(), TEST_NOW_MS);
        let mut to_cy = SyncSession::new(room.replica(), cy.user_id(), TEST_NOW_MS);
        pump(&mut cys, &mut to_ada, &mut room, &mut to_cy);
        assert!(to_ada.heard_heads());
        assert!(
            !cys.request_due(),
            "empty heads from someone other than the inviter decide nothing"
        );
        // Bo, the inviter, answers: now the request is due.
        let mut bos = RoomSession::join(&bo, room.room(), &secret);
        let mut to_bo = SyncSession::new(cys.replica(), bo.user_id(), TEST_NOW_MS);
        let mut bo_to_cy = SyncSession::new(bos.replica(), cy.user_id(), TEST_NOW_MS);
        pump(&mut cys, &mut to_bo, &mut bos, &mut bo_to_cy);
        assert!(cys.request_due(), "the inviter named no book of Cy's");
    }
}
