//! Who is in the room as people see it: display names, members with roles and presence,
//! pending join requests, and the inspector's decoded view of every book.

use std::collections::{BTreeMap, BTreeSet};

use quire_core::identity::UserId;
use quire_core::page::{Body, ControlOp, MessageBody, PageKind, Role};

use super::RoomSession;
use crate::model::chat::preview;
use crate::model::ids::user_key;
use crate::model::room_view::{
    InspectedBook, InspectedPage, InspectedRoom, JoinRequestView, MemberView, Presence, RoomDetails,
};

/// Pages per book the inspector decodes. Why: a long-lived room holds many thousands of pages;
/// the newest few hundred say what is going on without stalling the page every second.
pub const INSPECTOR_PAGES_PER_BOOK: u64 = 200;

impl RoomSession {
    /// Display names: the name in each author's newest profile page, else the name they asked
    /// to join with, else a short id. The local user is "You".
    pub fn names(&self) -> BTreeMap<UserId, String> {
        let mut names = BTreeMap::new();
        for position in self.replica.display_order() {
            let Some(page) = self.replica.page(&position.id) else {
                continue;
            };
            if !matches!(page.kind(), PageKind::Control | PageKind::Profile) {
                continue;
            }
            match self.replica.open(page.page()) {
                Ok(Body::Control(ControlOp::JoinRequest { display_name, .. })) => {
                    names.entry(page.author()).or_insert(display_name);
                }
                Ok(Body::Profile(profile)) if self.replica.counts(position) => {
                    names.insert(page.author(), profile.display_name);
                }
                _ => {}
            }
        }
        names.insert(self.me, "You".to_owned());
        names
    }

    /// The room's name as shown: a 1:1 chat is named after the other person; a room whose
    /// create page has not arrived yet goes by its name hint.
    pub fn title(&self) -> String {
        let state = self.replica.state();
        match state.direct() {
            Some((a, b)) => {
                let other = if a == self.me { b } else { a };
                Self::name_of(&self.names(), &other)
            }
            None if state.is_created() => state.name().to_owned(),
            None => self.name_hint.clone(),
        }
    }

    pub(super) fn name_of(names: &BTreeMap<UserId, String>, user: &UserId) -> String {
        names.get(user).cloned().unwrap_or_else(|| user.short())
    }

    /// Whether members of this room have no name for the local user yet: neither a join request
    /// nor a profile page of theirs is held, and they may write one.
    pub fn needs_profile(&self) -> bool {
        if !self.writable() || self.join_status().is_some() {
            return false;
        }
        let Some(book) = self.replica.book(&self.me) else {
            return true;
        };
        !book.range(0..book.len()).iter().any(|page| {
            matches!(
                self.replica.open(page.page()),
                Ok(Body::Profile(_) | Body::Control(ControlOp::JoinRequest { .. }))
            )
        })
    }

    /// Whether the local user may make an invite link for this room, and why not. Any member
    /// may share the room (members hold its key anyway) and an owner approves the request; only
    /// an owner's device may promise to admit by itself (`auto_admit`).
    pub fn may_invite(&self, auto_admit: bool) -> Result<(), &'static str> {
        let state = self.replica.state();
        if state.direct().is_some() {
            return Err("A private chat has no invite links");
        }
        if state.is_deleted() {
            return Err("This room was deleted");
        }
        if !state.is_member(&self.me) {
            return Err("Only the room's members can invite");
        }
        if auto_admit && !state.is_owner(&self.me) {
            return Err("Only owners can make links that let people in without asking");
        }
        Ok(())
    }

    /// Whether the local user asked to join and no owner has answered yet.
    pub fn waiting_for_approval(&self) -> bool {
        let state = self.replica.state();
        !state.is_member(&self.me) && state.join_requests().contains_key(&self.me)
    }

    /// Whether the local user belongs to the room and it is not deleted (may write).
    pub fn writable(&self) -> bool {
        let state = self.replica.state();
        state.is_created() && !state.is_deleted() && state.is_member(&self.me)
    }

    /// The side panel: members (owners first, then by name) with `presence`, and the pending
    /// join requests an owner has not declined.
    pub fn details(
        &self,
        presence: impl Fn(&UserId) -> Presence,
        declined: &BTreeSet<UserId>,
    ) -> RoomDetails {
        let state = self.replica.state();
        let names = self.names();
        let mut members: Vec<MemberView> = state
            .members()
            .iter()
            .map(|(user, member)| MemberView {
                user: user_key(user),
                name: Self::name_of(&names, user),
                owner: member.role == Role::Owner,
                me: *user == self.me,
                presence: if *user == self.me {
                    Presence::You
                } else {
                    match presence(user) {
                        // The driver knows when the peer was last linked this session; a report
                        // stored before a reload still says when they were last seen.
                        Presence::Offline { last_seen_ms: None } => Presence::Offline {
                            last_seen_ms: self.last_seen_ms(user).map(|at| at as f64),
                        },
                        other => other,
                    }
                },
            })
            .collect();
        members.sort_by(|a, b| {
            b.owner
                .cmp(&a.owner)
                .then_with(|| a.name.to_lowercase().cmp(&b.name.to_lowercase()))
                .then_with(|| a.user.cmp(&b.user))
        });
        let i_own = state.is_owner(&self.me);
        let join_requests = if i_own && !state.is_deleted() {
            state
                .join_requests()
                .iter()
                .filter(|(user, _)| !declined.contains(user))
                .map(|(user, request)| JoinRequestView {
                    user: user_key(user),
                    name: request.display_name.clone(),
                })
                .collect()
        } else {
            Vec::new()
        };
        RoomDetails {
            id: crate::model::ids::room_key(&self.room()),
            name: self.title(),
            direct: state.direct().is_some(),
            i_own,
            i_am_member: state.is_member(&self.me),
            waiting_for_approval: self.waiting_for_approval(),
            joining: self.join_status().map(|status| match status {
                super::JoinStatus::Looking => "Looking for the room's members…".to_owned(),
                super::JoinStatus::Fetching { from } => format!(
                    "Getting your earlier messages from {}… You can write once they are here.",
                    Self::name_of(&names, &from)
                ),
            }),
            deleted: state.is_deleted(),
            members,
            join_requests,
        }
    }

    /// Join requests that came through one of `invites` and are still unanswered: the ones an
    /// auto-admitting inviter's device admits on its own, by core's rule
    /// (`quire_core::membership::auto_admit`: an unexpired link by this device's clock, proof
    /// of holding the link, never someone an owner removed, one person per single-use link).
    /// Each requester comes with the invite it named.
    pub fn auto_admittable(
        &self,
        invites: &crate::model::invites::AutoAdmitLinks,
        now_ms: u64,
    ) -> Vec<(UserId, quire_core::page::InviteId)> {
        self.replica.auto_admittable(&self.me, invites, now_ms)
    }

    /// Everyone this room gives a reason to sync with: current and former members and anyone
    /// who asked to join (their pages may still be needed by others).
    pub fn participants(&self) -> BTreeSet<UserId> {
        let state = self.replica.state();
        let mut out: BTreeSet<UserId> = state.members().keys().copied().collect();
        out.extend(state.join_requests().keys().copied());
        out.extend(self.replica.books().map(|(author, _)| *author));
        out.remove(&self.me);
        out
    }

    /// What the room says about authors caught writing two different histories: their book is
    /// cut where it forked, so what they wrote from there on is hidden on every device, but for
    /// the pages other members built on that core's fork rule keeps.
    pub fn fork_notices(&self) -> Vec<String> {
        let names = self.names();
        self.replica
            .books()
            .filter_map(|(author, book)| {
                book.equivocation()?;
                let who = Self::name_of(&names, author);
                // Where the hidden part starts, in words the reader recognises: the last of
                // the author's messages still shown (the book holds only pages below the fork
                // and those kept past it).
                let last_shown = book
                    .range(0..book.len())
                    .iter()
                    .rev()
                    .find_map(|page| match self.replica.open(page.page()) {
                        Ok(Body::Message(MessageBody::Text { text, .. })) => Some(preview(&text)),
                        _ => None,
                    });
                Some(match last_shown {
                    Some(text) => format!(
                        "{who}'s device wrote two different histories, so what {who} wrote \
                         after “{text}” is hidden."
                    ),
                    None => format!(
                        "{who}'s device wrote two different histories, so what {who} wrote \
                         from that point on is hidden."
                    ),
                })
            })
            .collect()
    }

    /// Whom to link to for this room among the peers presence finds online: its members and
    /// the people waiting for approval, never strangers who merely know the room's presence
    /// namespace. A removed member is linked to only until it reports holding the page that
    /// removed it, so that it learns of its removal (everything written after that is sealed
    /// under a key it was not given); then never again. `None` while this device knows nothing
    /// of the room yet (a joiner before the room's first page arrives): then anyone present may
    /// be the member that lets it in.
    pub fn link_candidates(&self) -> Option<BTreeSet<UserId>> {
        let state = self.replica.state();
        if !state.is_created() {
            return None;
        }
        let mut out: BTreeSet<UserId> = state.members().keys().copied().collect();
        out.extend(state.join_requests().keys().copied());
        for (removed, removal) in self.replica.removed_by_owners() {
            if !self.heads.holds(&removed, &removal.author, removal.seq) {
                out.insert(removed);
            }
        }
        out.remove(&self.me);
        Some(out)
    }

    /// Every book, decoded, for the inspector.
    pub fn inspect(&self) -> InspectedRoom {
        let names = self.names();
        let counted: BTreeSet<_> = self
            .replica
            .display_order()
            .filter(|p| self.replica.counts(p))
            .map(|p| (p.id.author, p.id.seq))
            .collect();
        let books = self
            .replica
            .books()
            .map(|(author, book)| {
                let from = book.len().saturating_sub(INSPECTOR_PAGES_PER_BOOK);
                let pages = book
                    .range(from..book.len())
                    .iter()
                    .map(|page| InspectedPage {
                        seq: page.seq(),
                        kind: format!("{:?}", page.kind()),
                        timestamp_ms: page.meta().timestamp_ms,
                        body: match self.replica.open(page.page()) {
                            Ok(body) => format!("{body:?}"),
                            Err(e) => format!("(does not open: {e})"),
                        },
                        counts: counted.contains(&(page.author(), page.seq())),
                    })
                    .collect();
                InspectedBook {
                    author: user_key(author),
                    author_name: Self::name_of(&names, author),
                    length: book.len(),
                    pages,
                    forked_at: book
                        .equivocation()
                        .map(|proof| (proof.seq(), proof.is_fork_point(book))),
                    cut_at: self.replica.cut_at(author),
                }
            })
            .collect();
        InspectedRoom {
            id: crate::model::ids::room_key(&self.room()),
            name: self.title(),
            books,
            sessions: Vec::new(),
            pending: self.replica.pending_len(),
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::super::tests::{TEST_NOW_MS, pages, person};
    use super::*;
    use quire_core::crypto::RoomSecret;
    use quire_core::identity::Identity;

    fn offline(_: &UserId) -> Presence {
        Presence::Offline { last_seen_ms: None }
    }

    /// The secret of the link of invite 5.
    const LINK_SECRET: [u8; 32] = [9; 32];

    /// Ada creates "Book club" with her profile; Bo asks to join through invite 5, with proof
    /// that he holds its link.
    fn club() -> (Identity, Identity, RoomSession, RoomSession) {
        let (ada, bo) = (person(1), person(2));
        let secret = RoomSecret::from_bytes([7; 32]);
        let (mut room, create) =
            RoomSession::create(&ada, "Book club", &secret, 1_000, [1; 24]).unwrap();
        let profile = room.set_profile(&ada, "Ada", 1_001, [2; 24]).unwrap();
        let mut bos = RoomSession::join(&bo, room.room(), &secret);
        let proof = quire_core::invite::link_proof(&LINK_SECRET, &room.room(), &bo.user_id());
        let request = bos
            .control(
                &bo,
                ControlOp::JoinRequest {
                    display_name: "Bo".into(),
                    invite: Some(quire_core::page::InviteId([5; 16])),
                    proof: Some(proof),
                },
                1_002,
                [3; 24],
            )
            .unwrap();
        bos.receive(pages(&[create, profile]), TEST_NOW_MS);
        room.receive(pages(&[request]), TEST_NOW_MS);
        (ada, bo, room, bos)
    }

    #[test]
    fn an_owner_sees_a_join_request_by_name_and_the_requester_waits() {
        let (_, bo, room, bos) = club();
        let details = room.details(offline, &BTreeSet::new());
        assert!(details.i_own);
        assert_eq!(
            details.join_requests,
            [JoinRequestView {
                user: user_key(&bo.user_id()),
                name: "Bo".into()
            }]
        );
        let waiting = bos.details(offline, &BTreeSet::new());
        assert!(waiting.waiting_for_approval && !waiting.i_am_member);
        assert!(waiting.join_requests.is_empty(), "only owners see requests");
        assert_eq!(waiting.members.len(), 1);
        assert_eq!(
            waiting.members[0].name, "Ada",
            "the creator is named by her profile"
        );
        // A declined request is hidden on the owner's device.
        let declined = BTreeSet::from([bo.user_id()]);
        assert!(room.details(offline, &declined).join_requests.is_empty());
    }

    #[test]
    fn members_may_invite_but_only_owners_let_people_in_without_asking() {
        let (ada, bo, mut room, bos) = club();
        assert_eq!(
            bos.may_invite(false),
            Err("Only the room's members can invite")
        );
        let admit = room
            .control(
                &ada,
                ControlOp::Admit {
                    member: bo.user_id(),
                    role: Role::Member,
                },
                1_003,
                [4; 24],
            )
            .unwrap();
        assert_eq!(room.may_invite(true), Ok(()));
        let mut bos = bos;
        bos.receive(pages(&[admit]), TEST_NOW_MS);
        assert_eq!(bos.may_invite(false), Ok(()));
        assert_eq!(
            bos.may_invite(true),
            Err("Only owners can make links that let people in without asking")
        );
        room.control(&ada, ControlOp::Delete, 1_004, [5; 24])
            .unwrap();
        assert_eq!(room.may_invite(false), Err("This room was deleted"));
    }

    #[test]
    fn a_joiner_sees_the_invite_name_until_the_room_itself_arrives() {
        let (ada, bo) = (person(1), person(2));
        let secret = RoomSecret::from_bytes([7; 32]);
        let (room, create) =
            RoomSession::create(&ada, "Book club", &secret, 1_000, [1; 24]).unwrap();
        let mut bos = RoomSession::join(&bo, room.room(), &secret);
        bos.set_name_hint("Book club (invite)");
        assert_eq!(bos.summary().name, "Book club (invite)");
        bos.receive(pages(&[create]), TEST_NOW_MS);
        assert_eq!(bos.summary().name, "Book club", "the room's own name wins");
    }

    /// One auto-admitting, multi-use invite `[n; 16]` until `until_ms`.
    fn auto_admits(n: u8, until_ms: u64) -> crate::model::invites::AutoAdmitLinks {
        BTreeMap::from([(
            quire_core::page::InviteId([n; 16]),
            crate::model::invites::AutoAdmitLink {
                until_ms,
                single_use: false,
                secret: Some(LINK_SECRET),
            },
        )])
    }

    #[test]
    fn a_request_naming_an_auto_admit_invite_without_holding_its_link_waits_for_an_owner() {
        let (_, bo, mut room, _) = club();
        let cy = person(3);
        let mut cys = RoomSession::join(&cy, room.room(), &RoomSecret::from_bytes([7; 32]));
        // Cy saw invite 5 named in Bo's request: she names it too, with Bo's proof or none.
        let bos_proof = quire_core::invite::link_proof(&LINK_SECRET, &room.room(), &bo.user_id());
        let request = cys
            .control(
                &cy,
                ControlOp::JoinRequest {
                    display_name: "Cy".into(),
                    invite: Some(quire_core::page::InviteId([5; 16])),
                    proof: Some(bos_proof),
                },
                1_002,
                [7; 24],
            )
            .unwrap();
        room.receive(pages(&[request]), TEST_NOW_MS);
        let invite = auto_admits(5, u64::MAX);
        assert_eq!(
            room.auto_admittable(&invite, TEST_NOW_MS),
            [(bo.user_id(), quire_core::page::InviteId([5; 16]))],
            "Bo's proof is his own: only he is let in"
        );
        assert!(
            room.replica()
                .state()
                .join_requests()
                .contains_key(&cy.user_id()),
            "Cy's request waits for an owner"
        );
        // A link kept by an earlier version (no secret) admits no one by itself.
        let mut legacy = invite.clone();
        for link in legacy.values_mut() {
            link.secret = None;
        }
        assert!(room.auto_admittable(&legacy, TEST_NOW_MS).is_empty());
    }

    #[test]
    fn only_requests_through_an_auto_admit_invite_are_admitted_on_their_own() {
        let (ada, bo, mut room, _) = club();
        let other = auto_admits(6, u64::MAX);
        assert!(room.auto_admittable(&other, TEST_NOW_MS).is_empty());
        let invite = auto_admits(5, TEST_NOW_MS + 1);
        assert_eq!(
            room.auto_admittable(&invite, TEST_NOW_MS),
            [(bo.user_id(), quire_core::page::InviteId([5; 16]))]
        );
        assert!(
            room.auto_admittable(&invite, TEST_NOW_MS + 1).is_empty(),
            "an expired invite admits no one"
        );
        room.control(
            &ada,
            ControlOp::Admit {
                member: bo.user_id(),
                role: Role::Member,
            },
            1_003,
            [4; 24],
        )
        .unwrap();
        assert!(
            room.auto_admittable(&invite, TEST_NOW_MS).is_empty(),
            "admitted once"
        );
        let details = room.details(offline, &BTreeSet::new());
        let names: Vec<_> = details
            .members
            .iter()
            .map(|m| (m.name.as_str(), m.owner))
            .collect();
        assert_eq!(names, [("You", true), ("Bo", false)], "owners first");
        assert_eq!(details.members[0].presence, Presence::You);
    }

    #[test]
    fn a_removed_member_is_not_let_back_in_by_an_auto_admit_link() {
        let (ada, bo, mut room, mut bos) = club();
        let invite = auto_admits(5, u64::MAX);
        let admit = room
            .control(
                &ada,
                ControlOp::Admit {
                    member: bo.user_id(),
                    role: Role::Member,
                },
                1_003,
                [4; 24],
            )
            .unwrap();
        bos.receive(pages(&[admit]), TEST_NOW_MS);
        let remove = room
            .control(
                &ada,
                ControlOp::Remove {
                    member: bo.user_id(),
                    seen: 1,
                },
                1_004,
                [5; 24],
            )
            .unwrap();
        bos.receive(pages(&[remove]), TEST_NOW_MS);
        // The inspector says from where Bo's pages stop counting.
        let cut: Vec<_> = room.inspect().books.iter().map(|b| b.cut_at).collect();
        assert!(cut.contains(&Some(1)), "{cut:?}");
        // Bo asks again through the same auto-admitting link.
        let again = bos
            .control(
                &bo,
                ControlOp::JoinRequest {
                    display_name: "Bo".into(),
                    invite: Some(quire_core::page::InviteId([5; 16])),
                    proof: None,
                },
                1_005,
                [6; 24],
            )
            .unwrap();
        room.receive(pages(&[again]), TEST_NOW_MS);
        assert!(
            room.replica()
                .state()
                .join_requests()
                .contains_key(&bo.user_id()),
            "his request is there for an owner to answer"
        );
        assert!(room.auto_admittable(&invite, TEST_NOW_MS).is_empty());
    }

    #[test]
    fn a_member_without_a_name_in_the_room_writes_a_profile_once() {
        let (ada, bo) = (person(1), person(2));
        let (mut ada_side, _, create) =
            RoomSession::create_direct(&ada, &bo.user_id(), 1_000, [1; 24]).unwrap();
        let secret = quire_core::crypto::direct_room_secret(&bo, &ada.user_id()).unwrap();
        let mut bo_side = RoomSession::join(&bo, ada_side.room(), &secret);
        assert!(
            !bo_side.needs_profile(),
            "not writable before the create arrives"
        );
        bo_side.receive(pages(&[create]), TEST_NOW_MS);
        assert!(bo_side.needs_profile());
        let profile = bo_side.set_profile(&bo, "Bo", 1_001, [2; 24]).unwrap();
        assert!(!bo_side.needs_profile());
        ada_side.receive(pages(&[profile]), TEST_NOW_MS);
        assert_eq!(
            ada_side.title(),
            "Bo",
            "a 1:1 chat is named after the other person"
        );
        assert!(ada_side.details(offline, &BTreeSet::new()).direct);
    }

    #[test]
    fn unstored_pages_come_in_book_order_from_what_storage_holds() {
        let (ada, bo, mut room, _) = club();
        // Ada's create and profile, and Bo's request, are all in memory only.
        let first = room.unstored();
        let mut seqs: Vec<_> = first
            .iter()
            .map(|o| (o.before.author.clone(), o.before.length, o.page.seq))
            .collect();
        let (a, b) = (user_key(&ada.user_id()), user_key(&bo.user_id()));
        // Within a book, seq order; every page names the book as storage holds it (empty).
        let ada_pages: Vec<_> = seqs.iter().filter(|s| s.0 == a).cloned().collect();
        assert_eq!(ada_pages, [(a.clone(), 0, 0), (a.clone(), 0, 1)]);
        seqs.sort();
        let mut expected = vec![(a.clone(), 0, 0), (a.clone(), 0, 1), (b.clone(), 0, 0)];
        expected.sort();
        assert_eq!(seqs, expected);
        // Storage committed Ada's book; a failed write of Bo's is simply offered again.
        room.mark_stored(ada.user_id(), 2);
        let again: Vec<_> = room
            .unstored()
            .iter()
            .map(|o| (o.before.author.clone(), o.page.seq))
            .collect();
        assert_eq!(again, [(b.clone(), 0)]);
        assert!(room.has_unstored());
        room.mark_stored(bo.user_id(), 1);
        assert!(room.unstored().is_empty());
        assert!(!room.has_unstored());
        // A new message continues from the stored head.
        let out = room.send_text(&ada, "hi".into(), 1_005, [9; 24]).unwrap();
        let next = room.unstored();
        assert_eq!(next.len(), 1);
        assert_eq!((next[0].before.length, next[0].page.seq), (2, 2));
        assert_eq!(next[0].head, out.head);
    }
}

#[cfg(test)]
mod linking {
    #![allow(clippy::unwrap_used)]
    use super::super::tests::{club_with_bo, person};
    use super::*;
    use quire_core::page::ControlOp;

    #[test]
    fn only_members_and_requesters_are_linked_to_and_a_removed_member_no_longer() {
        let (ada, bo, secret, mut room, _) = club_with_bo();
        let candidates = room.link_candidates().unwrap();
        assert!(candidates.contains(&bo.user_id()));
        assert!(!candidates.contains(&ada.user_id()), "never oneself");
        let stranger = person(9).user_id();
        assert!(!candidates.contains(&stranger));
        let seen = room.replica().seen_of(&bo.user_id());
        room.control(
            &ada,
            ControlOp::Remove {
                member: bo.user_id(),
                seen,
            },
            9_000,
            [42; 24],
        )
        .unwrap();
        // Bo is linked to until he reports holding his removal, then never again.
        assert!(room.link_candidates().unwrap().contains(&bo.user_id()));
        let removal_len = room.replica().seen_of(&ada.user_id());
        room.peer_reported(bo.user_id(), [(ada.user_id(), removal_len - 1)], 9_500);
        assert!(room.link_candidates().unwrap().contains(&bo.user_id()));
        room.peer_reported(bo.user_id(), [(ada.user_id(), removal_len)], 9_600);
        assert!(!room.link_candidates().unwrap().contains(&bo.user_id()));
        // A device that has no page of the room yet cannot tell members from strangers.
        let joining = RoomSession::join(&person(3), room.room(), &secret);
        assert_eq!(joining.link_candidates(), None);
    }
}

#[cfg(test)]
mod persisted_reports {
    #![allow(clippy::unwrap_used)]
    use super::super::tests::{club_with_bo, pages};
    use super::*;
    use crate::model::{Delivery, ReadMarker};

    #[test]
    fn delivery_ticks_and_last_seen_survive_a_reload() {
        let (ada, bo, secret, mut room, history) = club_with_bo();
        room.mark_stored(ada.user_id(), 3);
        room.peer_reported(bo.user_id(), [(ada.user_id(), 3)], 5_000);
        let records = room.peer_heads_records();

        let mut back = RoomSession::restore(
            &ada,
            room.room(),
            &secret,
            vec![(ada.user_id(), pages(&history), None)],
            ReadMarker::default(),
        )
        .unwrap();
        assert_eq!(
            back.messages()[0].delivery,
            Some(Delivery::Saved),
            "nothing known before the reports are restored"
        );
        back.restore_peer_heads(&records);
        assert_eq!(
            back.messages()[0].delivery,
            Some(Delivery::OnDevices { on: 1, of: 1 })
        );
        let bo_row = back
            .details(
                |_| Presence::Offline { last_seen_ms: None },
                &BTreeSet::new(),
            )
            .members
            .into_iter()
            .find(|m| m.user == user_key(&bo.user_id()))
            .unwrap();
        assert_eq!(
            bo_row.presence,
            Presence::Offline {
                last_seen_ms: Some(5_000.0)
            }
        );
    }
}
