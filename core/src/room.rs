//! Rooms: who belongs, with what role, under what name — the fold of control pages.
//!
//! Room state is never stored or sent as such. It is recomputed by applying the room's control
//! pages ([`ControlOp`]) one by one in **fold order**: causal order, ties broken by
//! `(depth, page id)` ([`crate::membership::FoldKey`]). Depth is the longest dependency chain
//! below a page, so every page is folded after everything it depends on; timestamps play no
//! part, so no author can steer the outcome by choosing them, and every peer holding the same
//! pages folds them in the same order. Each operation is judged against the state produced by
//! everything folded before it.
//!
//! # Rules
//!
//! - **Create** must come first. A group room's id is [`group_room_id`]`(creator, nonce of the
//!   create page)`, so only the author of that one page can create the room: a member cannot
//!   later forge an earlier "create" to make itself owner. The same commitment makes that page
//!   the room's **root** ([`is_room_root`]): no other page at seq 0 of the creator's book can
//!   ever stand in for it, so a fork there never takes the room's creation with it. A 1:1 room's id is
//!   [`direct_room_id`]`(a, b)`: either side can open (create) it, both are owners from the
//!   start, and a second create by the other side is accepted as a no-op.
//! - **JoinRequest** may be written by anyone not yet a member (it is the only page a non-member
//!   may write); it is recorded until an owner admits the requester.
//! - **Admit** (with a role; also changes an existing member's role), **Remove**, **Rename** and
//!   **Delete** need an owner. **Leave** needs a member.
//! - Whether an author is a member (or an owner) for one of its pages is decided in the
//!   author's own seq space ([`crate::membership`]): a Remove cuts the removed member at the
//!   book length the remover had seen, a Leave right after itself.
//! - A room never loses its last owner by removal or demotion (refused). When the last owner
//!   *leaves*, the longest-standing remaining member becomes owner, so the room stays manageable.
//! - After **Delete** the room is read-only: every page after it in fold order is void.
//! - A 1:1 room has exactly its two parties: no admits, no join requests.
//! - Content pages (messages, files, profiles) count only when a tenure of their author covers
//!   their seq and the room is not deleted before them.
//!
//! # Conflicts
//!
//! Concurrent operations are resolved by the fold order alone: an operation that is invalid
//! where it lands (its author was cut off before its seq by an earlier-folded operation, the
//! room was deleted, the target is no longer a member...) is void on every peer. So two owners
//! removing each other concurrently: the first folded wins, and the second, written past its
//! author's cut, is void; a concurrent rename pair: the later folded name wins. Because a
//! late-arriving page can land before already-folded ones, [`RoomLog`] refolds from scratch when
//! that happens (control pages are few), and every verdict is recomputed: verdicts are a
//! function of the page set, so all peers converge on them.
//!
//! Removal stops the removed member's later pages from counting, and the re-key that follows it
//! ([`crate::membership::Epochs`]) keeps everything written after it from the removed member;
//! what it could read before stays readable to it.

use std::collections::BTreeMap;

use crate::identity::UserId;
use crate::membership::{Standing, Tenures};
use crate::page::{ControlOp, InviteId, NONCE_LEN, Role, RoomId};

/// BLAKE3 key-derivation context for group room ids.
pub const GROUP_ROOM_ID_CONTEXT: &str = "quire 2026-11 group room id v1";
/// BLAKE3 key-derivation context for 1:1 room ids.
pub const DIRECT_ROOM_ID_CONTEXT: &str = "quire 2026-11 direct room id v1";

/// The id of a group room created by `creator` with a create page sealed under `create_nonce`
/// (that page's random nonce, so every created room gets a fresh id).
pub fn group_room_id(creator: &UserId, create_nonce: &[u8; NONCE_LEN]) -> RoomId {
    let mut hasher = blake3::Hasher::new_derive_key(GROUP_ROOM_ID_CONTEXT);
    hasher.update(creator.as_bytes());
    hasher.update(create_nonce);
    RoomId(*hasher.finalize().as_bytes())
}

/// Whether `page` is the root of `room`: seq 0 of a group room's creator, sealed under the
/// nonce the room id commits to ([`group_room_id`]). Checked on the plaintext header alone, so
/// any peer can tell without the room key. A different page at seq 0 of the creator's book
/// (the creator's restored backup writing a join request, say) is never a fork of the room's
/// root: it is refused wherever the root is known, and the root replaces it wherever it
/// arrives later ([`Replica`] docs). A creator who signs two pages under that nonce gets the
/// lower hash as the root on every peer. 1:1 rooms have no root: their id commits to no page.
pub fn is_room_root(room: &RoomId, page: &crate::page::Page) -> bool {
    page.seq() == 0
        && page.book().room == *room
        && group_room_id(&page.author(), &page.content().nonce) == *room
}

/// The id of the 1:1 room between `a` and `b`; symmetric, so either side derives the same id.
pub fn direct_room_id(a: &UserId, b: &UserId) -> RoomId {
    let (low, high) = if a <= b { (a, b) } else { (b, a) };
    let mut hasher = blake3::Hasher::new_derive_key(DIRECT_ROOM_ID_CONTEXT);
    hasher.update(low.as_bytes());
    hasher.update(high.as_bytes());
    RoomId(*hasher.finalize().as_bytes())
}

/// Why a control operation or content page does not count at its position.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RoomError {
    /// Nothing but a create (or join request) can come before the room is created.
    #[error("the room has not been created yet")]
    NotCreated,
    /// A second create of a group room, or a create of a 1:1 room by an outsider.
    #[error("the room already exists")]
    AlreadyCreated,
    /// The create page's room id is not derived from its author (and nonce or peer).
    #[error("room id does not match its create page")]
    ForeignRoomId,
    /// The operation needs an owner.
    #[error("{0:?} is not an owner")]
    NotOwner(UserId),
    /// The author (or the target of a removal) is not a member.
    #[error("{0:?} is not a member")]
    NotMember(UserId),
    /// A join request from someone who already is a member.
    #[error("{0:?} is already a member")]
    AlreadyMember(UserId),
    /// Removing or demoting the last owner would leave the room unmanageable.
    #[error("the room's last owner cannot be removed or demoted")]
    LastOwner,
    /// 1:1 rooms have exactly their two parties.
    #[error("1:1 rooms cannot admit anyone")]
    DirectRoom,
    /// The room was deleted: it is read-only.
    #[error("the room was deleted")]
    Deleted,
}

/// A member of a room.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Member {
    /// Owner or plain member.
    pub role: Role,
    /// Number of control operations folded before the one that made them a member: the
    /// "longest-standing member" order used when the last owner leaves.
    pub since: u64,
}

/// A pending request to join.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JoinRequest {
    /// How the requester wants to be called.
    pub display_name: String,
    /// The invite used, if any.
    pub invite: Option<InviteId>,
    /// Proof of holding that invite's link, if given ([`crate::page::LinkProof`]).
    pub proof: Option<crate::page::LinkProof>,
}

/// What a valid operation changed (for the UI and for the caller's bookkeeping).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Change {
    /// The room came into being with these owners.
    Created {
        /// Owners (the creator, or both parties of a 1:1 room).
        owners: Vec<UserId>,
    },
    /// Someone asked to join.
    JoinRequested(UserId),
    /// Someone became a member or changed role.
    Admitted(UserId, Role),
    /// Someone stopped being a member (removed or left). `promoted` names whoever became owner
    /// because the last owner left.
    Departed {
        /// Who left or was removed.
        member: UserId,
        /// The member promoted to owner, if any.
        promoted: Option<UserId>,
    },
    /// New name.
    Renamed(String),
    /// The room is now read-only.
    Deleted,
    /// Valid but changed nothing (the second create of a 1:1 room).
    Nothing,
}

/// The state of one room at one point of its display order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RoomState {
    id: RoomId,
    created: bool,
    name: String,
    direct: Option<(UserId, UserId)>,
    members: BTreeMap<UserId, Member>,
    join_requests: BTreeMap<UserId, JoinRequest>,
    /// Seq of each user's latest join request folded (where an admission opens its tenure).
    last_request: BTreeMap<UserId, u64>,
    tenures: Tenures,
    deleted: bool,
    ops: u64,
}

impl RoomState {
    /// A room known only by its id (nothing folded yet).
    pub fn new(id: RoomId) -> Self {
        Self {
            id,
            created: false,
            name: String::new(),
            direct: None,
            members: BTreeMap::new(),
            join_requests: BTreeMap::new(),
            last_request: BTreeMap::new(),
            tenures: Tenures::default(),
            deleted: false,
            ops: 0,
        }
    }

    /// The room id.
    pub fn id(&self) -> RoomId {
        self.id
    }
    /// Whether a valid create has been folded.
    pub fn is_created(&self) -> bool {
        self.created
    }
    /// Current name.
    pub fn name(&self) -> &str {
        &self.name
    }
    /// The two parties, for a 1:1 room.
    pub fn direct(&self) -> Option<(UserId, UserId)> {
        self.direct
    }
    /// Whether the room was deleted (read-only).
    pub fn is_deleted(&self) -> bool {
        self.deleted
    }
    /// Current members.
    pub fn members(&self) -> &BTreeMap<UserId, Member> {
        &self.members
    }
    /// Whether `user` is a member.
    pub fn is_member(&self, user: &UserId) -> bool {
        self.members.contains_key(user)
    }
    /// Whether `user` is an owner.
    pub fn is_owner(&self, user: &UserId) -> bool {
        self.members
            .get(user)
            .is_some_and(|m| m.role == Role::Owner)
    }
    /// Join requests not yet answered.
    pub fn join_requests(&self) -> &BTreeMap<UserId, JoinRequest> {
        &self.join_requests
    }

    /// Every user's tenures, in their own seq space.
    pub fn tenures(&self) -> &Tenures {
        &self.tenures
    }

    /// What the room says about `user` now.
    pub fn standing(&self, user: &UserId) -> Standing {
        Standing::of(&self.tenures, user, self.join_requests.contains_key(user))
    }

    fn owner_count(&self) -> usize {
        self.members
            .values()
            .filter(|m| m.role == Role::Owner)
            .count()
    }

    /// Whether a content page (message, file, profile...) by `author` counts here.
    pub fn check_content(&self, author: &UserId) -> Result<(), RoomError> {
        if self.deleted {
            return Err(RoomError::Deleted);
        }
        if !self.created {
            return Err(RoomError::NotCreated);
        }
        if !self.is_member(author) {
            return Err(RoomError::NotMember(*author));
        }
        Ok(())
    }

    /// Applies one control operation written by `author` at `seq` of its book, in a page sealed
    /// under `nonce`. On error the state is unchanged: the operation is void at this position.
    pub fn apply(
        &mut self,
        author: UserId,
        seq: u64,
        nonce: &[u8; NONCE_LEN],
        op: &ControlOp,
    ) -> Result<Change, RoomError> {
        let change = self.judge(author, seq, nonce, op)?;
        self.ops = self.ops.saturating_add(1);
        Ok(change)
    }

    /// An owner for its page at `seq`: a tenure covering `seq` with the owner role.
    fn require_owner(&self, author: &UserId, seq: u64) -> Result<(), RoomError> {
        match self.tenures.covering(author, seq) {
            Some(t) if t.role == Role::Owner => Ok(()),
            _ => Err(RoomError::NotOwner(*author)),
        }
    }

    fn judge(
        &mut self,
        author: UserId,
        seq: u64,
        nonce: &[u8; NONCE_LEN],
        op: &ControlOp,
    ) -> Result<Change, RoomError> {
        if self.deleted {
            return Err(RoomError::Deleted);
        }
        if let ControlOp::Create { name, direct } = op {
            return self.create(author, nonce, name, *direct);
        }
        if let ControlOp::JoinRequest {
            display_name,
            invite,
            proof,
        } = op
        {
            if self.direct.is_some() {
                return Err(RoomError::DirectRoom);
            }
            if self.is_member(&author) {
                return Err(RoomError::AlreadyMember(author));
            }
            self.join_requests.insert(
                author,
                JoinRequest {
                    display_name: display_name.clone(),
                    invite: *invite,
                    proof: *proof,
                },
            );
            let last = self.last_request.entry(author).or_insert(seq);
            *last = (*last).max(seq);
            return Ok(Change::JoinRequested(author));
        }
        if !self.created {
            return Err(RoomError::NotCreated);
        }
        match op {
            ControlOp::Create { .. } | ControlOp::JoinRequest { .. } => Ok(Change::Nothing),
            ControlOp::Admit { member, role } => {
                self.require_owner(&author, seq)?;
                if self.direct.is_some() {
                    return Err(RoomError::DirectRoom);
                }
                if *role == Role::Member && self.is_owner(member) && self.owner_count() == 1 {
                    return Err(RoomError::LastOwner);
                }
                let since = self.members.get(member).map_or(self.ops, |m| m.since);
                if self.tenures.is_open(member) {
                    self.tenures.set_role(member, *role);
                } else {
                    let start = self.last_request.get(member).map_or(0, |s| s + 1);
                    self.tenures.open(*member, start, *role);
                }
                self.members.insert(*member, Member { role: *role, since });
                self.join_requests.remove(member);
                Ok(Change::Admitted(*member, *role))
            }
            ControlOp::Remove { member, seen } => self.remove(author, seq, *member, *seen),
            // The replica translates a legacy remove into a `Remove` with the length its author
            // had referenced; folded as is, it cuts the member's whole tenure.
            ControlOp::LegacyRemove { member } => self.remove(author, seq, *member, 0),
            ControlOp::Leave => {
                if !self.tenures.is_open(&author) || self.tenures.covering(&author, seq).is_none() {
                    return Err(RoomError::NotMember(author));
                }
                self.tenures.cut(&author, seq.saturating_add(1));
                let Some(leaving) = self.members.remove(&author) else {
                    return Err(RoomError::NotMember(author));
                };
                let mut promoted = None;
                if leaving.role == Role::Owner && self.owner_count() == 0 {
                    let heir = self
                        .members
                        .iter()
                        .min_by_key(|(id, m)| (m.since, **id))
                        .map(|(id, _)| *id);
                    if let Some(heir) = heir {
                        if let Some(m) = self.members.get_mut(&heir) {
                            m.role = Role::Owner;
                        }
                        self.tenures.set_role(&heir, Role::Owner);
                        promoted = Some(heir);
                    }
                }
                Ok(Change::Departed {
                    member: author,
                    promoted,
                })
            }
            ControlOp::Rename { name } => {
                self.require_owner(&author, seq)?;
                self.name.clone_from(name);
                Ok(Change::Renamed(name.clone()))
            }
            ControlOp::Delete => {
                self.require_owner(&author, seq)?;
                self.deleted = true;
                Ok(Change::Deleted)
            }
        }
    }

    fn remove(
        &mut self,
        author: UserId,
        seq: u64,
        member: UserId,
        seen: u64,
    ) -> Result<Change, RoomError> {
        self.require_owner(&author, seq)?;
        if !self.tenures.is_open(&member) {
            return Err(RoomError::NotMember(member));
        }
        if self.is_owner(&member) && self.owner_count() == 1 {
            return Err(RoomError::LastOwner);
        }
        self.tenures.cut(&member, seen);
        self.members.remove(&member);
        Ok(Change::Departed {
            member,
            promoted: None,
        })
    }

    fn create(
        &mut self,
        author: UserId,
        nonce: &[u8; NONCE_LEN],
        name: &str,
        direct: Option<UserId>,
    ) -> Result<Change, RoomError> {
        match direct {
            None => {
                if self.created {
                    return Err(RoomError::AlreadyCreated);
                }
                if group_room_id(&author, nonce) != self.id {
                    return Err(RoomError::ForeignRoomId);
                }
                self.members.insert(
                    author,
                    Member {
                        role: Role::Owner,
                        since: self.ops,
                    },
                );
                self.tenures.open(author, 0, Role::Owner);
                self.finish_create(name, vec![author])
            }
            Some(peer) => {
                if peer == author || direct_room_id(&author, &peer) != self.id {
                    return Err(RoomError::ForeignRoomId);
                }
                if self.created {
                    // The other party opened the room concurrently: same room, nothing to do.
                    return Ok(Change::Nothing);
                }
                let (low, high) = if author < peer {
                    (author, peer)
                } else {
                    (peer, author)
                };
                self.direct = Some((low, high));
                for party in [low, high] {
                    self.members.insert(
                        party,
                        Member {
                            role: Role::Owner,
                            since: self.ops,
                        },
                    );
                    self.tenures.open(party, 0, Role::Owner);
                }
                self.finish_create(name, vec![low, high])
            }
        }
    }

    fn finish_create(&mut self, name: &str, owners: Vec<UserId>) -> Result<Change, RoomError> {
        self.created = true;
        self.name = name.to_owned();
        for owner in &owners {
            self.join_requests.remove(owner);
        }
        Ok(Change::Created { owners })
    }
}

/// One control page as the fold needs it (already decrypted by the caller).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ControlEntry {
    /// Who wrote it.
    pub author: UserId,
    /// The page's seq in its author's book (where the author's tenures are judged).
    pub seq: u64,
    /// The page's nonce (binds a group room's id to its create page).
    pub nonce: [u8; NONCE_LEN],
    /// The operation.
    pub op: ControlOp,
}

/// A room's control pages in fold order, their verdicts, and membership in seq space.
///
/// Generic over the position key `K` (in practice [`crate::membership::FoldKey`]).
#[derive(Debug, Clone)]
pub struct RoomLog<K> {
    initial: RoomState,
    entries: BTreeMap<K, ControlEntry>,
    verdicts: BTreeMap<K, Result<Change, RoomError>>,
    deleted_at: Option<K>,
    state: RoomState,
}

impl<K: Ord + Clone> RoomLog<K> {
    /// An empty log for room `id`.
    pub fn new(id: RoomId) -> Self {
        Self {
            initial: RoomState::new(id),
            entries: BTreeMap::new(),
            verdicts: BTreeMap::new(),
            deleted_at: None,
            state: RoomState::new(id),
        }
    }

    /// The current state (after every control page folded so far).
    pub fn state(&self) -> &RoomState {
        &self.state
    }

    /// Adds a released control page at fold position `key`. Appending is incremental; a page
    /// landing before already-folded pages triggers a refold. Returns whether the page counts.
    pub fn insert(&mut self, key: K, entry: ControlEntry) -> Result<Change, RoomError> {
        let appends = self
            .entries
            .keys()
            .next_back()
            .is_none_or(|last| *last < key);
        self.entries.insert(key.clone(), entry);
        if appends {
            self.fold_one(&key);
        } else {
            self.refold();
        }
        self.verdicts
            .get(&key)
            .cloned()
            .unwrap_or(Err(RoomError::NotCreated))
    }

    fn refold(&mut self) {
        self.state = self.initial.clone();
        self.verdicts.clear();
        self.deleted_at = None;
        let keys: Vec<K> = self.entries.keys().cloned().collect();
        for key in &keys {
            self.fold_one(key);
        }
    }

    fn fold_one(&mut self, key: &K) {
        let Some(entry) = self.entries.get(key) else {
            return;
        };
        let verdict = self
            .state
            .apply(entry.author, entry.seq, &entry.nonce, &entry.op);
        if self.state.deleted && self.deleted_at.is_none() {
            self.deleted_at = Some(key.clone());
        }
        self.verdicts.insert(key.clone(), verdict);
    }

    /// The operations that count, in fold order, with their fold positions.
    pub fn counting(&self) -> impl Iterator<Item = (&K, &ControlEntry)> + '_ {
        self.entries
            .iter()
            .filter(|(key, _)| matches!(self.verdicts.get(key), Some(Ok(_))))
    }

    /// Whether a control page at `key` counts (`None`: no such page in the log).
    pub fn verdict(&self, key: &K) -> Option<&Result<Change, RoomError>> {
        self.verdicts.get(key)
    }

    /// Whether a content page by `author` at `seq` of its book, at fold position `key`, counts:
    /// a tenure of the author covers `seq`, and the room was not deleted before `key`.
    pub fn check_content_at(&self, author: &UserId, seq: u64, key: &K) -> Result<(), RoomError> {
        if self.deleted_at.as_ref().is_some_and(|d| d < key) {
            return Err(RoomError::Deleted);
        }
        if self.state.tenures.counts(author, seq) {
            Ok(())
        } else {
            Err(RoomError::NotMember(*author))
        }
    }

    /// What the room says about `user` now.
    pub fn standing(&self, user: &UserId) -> Standing {
        self.state.standing(user)
    }

    /// Whether `user` has ever been a member or asked to join: the books sync should carry.
    pub fn is_known(&self, user: &UserId) -> bool {
        self.standing(user) != Standing::Unknown
    }

    /// Whether `user` has been a member at any point.
    pub fn was_ever_member(&self, user: &UserId) -> bool {
        self.state.tenures.ever(user)
    }

    /// Control pages folded so far.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether no control page has been folded.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

mod replica;
pub use replica::{BookHead, DisplayChanges, Ingested, KeyWait, Position, Replica, WriteError};

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests;
