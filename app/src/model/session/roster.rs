//! Who is in the room as people see it: display names, members with roles and presence,
//! pending join requests, and the inspector's decoded view of every book.

use std::collections::{BTreeMap, BTreeSet};

use quire_core::identity::UserId;
use quire_core::page::{Body, ControlOp, PageKind, Role};

use super::RoomSession;
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
            match self.key.open_body(page.page()) {
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

    /// The room's name as shown: a 1:1 chat is named after the other person.
    pub fn title(&self) -> String {
        let state = self.replica.state();
        match state.direct() {
            Some((a, b)) => {
                let other = if a == self.me { b } else { a };
                Self::name_of(&self.names(), &other)
            }
            None => state.name().to_owned(),
        }
    }

    fn name_of(names: &BTreeMap<UserId, String>, user: &UserId) -> String {
        names.get(user).cloned().unwrap_or_else(|| user.short())
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
                    presence(user)
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
            deleted: state.is_deleted(),
            members,
            join_requests,
        }
    }

    /// Join requests that came through one of `invites` and are still unanswered: the ones an
    /// auto-admitting inviter's device admits on its own.
    pub fn auto_admittable(&self, invites: &BTreeSet<quire_core::page::InviteId>) -> Vec<UserId> {
        let state = self.replica.state();
        if !state.is_owner(&self.me) || state.is_deleted() {
            return Vec::new();
        }
        state
            .join_requests()
            .iter()
            .filter(|(_, request)| request.invite.is_some_and(|id| invites.contains(&id)))
            .map(|(user, _)| *user)
            .collect()
    }

    /// Everyone this room gives a reason to sync with: current and former members and anyone
    /// who asked to join (their pages may still be needed by others).
    pub fn participants(&self) -> BTreeSet<UserId> {
        let state = self.replica.state();
        let mut out: BTreeSet<UserId> = state.members().keys().copied().collect();
        out.extend(state.join_requests().keys().copied());
        for head in self.replica.heads() {
            out.insert(head.author);
        }
        out.remove(&self.me);
        out
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
            .heads()
            .into_iter()
            .filter_map(|head| {
                let book = self.replica.book(&head.author)?;
                let from = head.len.saturating_sub(INSPECTOR_PAGES_PER_BOOK);
                let pages = book
                    .range(from..head.len)
                    .iter()
                    .map(|page| InspectedPage {
                        seq: page.seq(),
                        kind: format!("{:?}", page.kind()),
                        timestamp_ms: page.meta().timestamp_ms,
                        body: match self.key.open_body(page.page()) {
                            Ok(body) => format!("{body:?}"),
                            Err(e) => format!("(does not open: {e})"),
                        },
                        counts: counted.contains(&(page.author(), page.seq())),
                    })
                    .collect();
                Some(InspectedBook {
                    author: user_key(&head.author),
                    author_name: Self::name_of(&names, &head.author),
                    length: head.len,
                    pages,
                })
            })
            .collect();
        InspectedRoom {
            id: crate::model::ids::room_key(&self.room()),
            name: self.replica.state().name().to_owned(),
            books,
            sessions: Vec::new(),
            pending: self.replica.pending_len(),
        }
    }
}
