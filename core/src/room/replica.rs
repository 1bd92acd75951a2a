//! A room as one peer holds it: every member's [`Book`], the causal buffer and display order,
//! and the folded room state. Pure: every mutation returns what the driver must persist.
//!
//! # Calling contract
//!
//! - Build with [`Replica::new`] (a room just joined or created) or [`Replica::restore`] (what
//!   the driver persisted: every stored page, and every equivocation proof).
//! - The local user writes with [`Replica::write`]; pages from peers go through
//!   [`Replica::ingest_at`] with the receiver's wall clock (normally called by
//!   [`crate::sync::SyncSession`]).
//! - Both return the pages that joined a book: the driver persists exactly those (and deletes
//!   the pages a new equivocation truncated, and those in [`DisplayChanges::dropped`]), then
//!   reports each book's persisted length with [`Replica::mark_committed`], acknowledges the
//!   local user's page only once it is committed, and announces committed pages to every sync
//!   session so they are pushed and forwarded.
//! - Pages stamped more than [`MAX_CLOCK_SKEW_MS`] ahead of the receiver's clock are held back:
//!   arm a timer for [`Replica::poll_timeout`] and call [`Replica::handle_timeout`] when it
//!   fires; what it returns is handled like the result of an ingest.
//!
//! Who may have pages stored, and who is served what, is [`crate::membership`]'s to say.
//!
//! # Peers see only what is committed
//!
//! A page held in memory but not yet persisted may still be lost (a quota error, a closed
//! database, a crash). If a peer had copied it, the author would later reuse its seq for a
//! different page and every peer would see a fork of an honest author's book. So
//! [`Replica::heads`] advertises, and [`Replica::pages_for`] serves, only each book's committed
//! prefix; pages above it are used locally (display, fold) but never offered.
//!
//! # What counts as the page set
//!
//! The pages held are each book's chain-checked prefix. An author caught equivocating has its
//! book truncated at the fork point, walked down to from wherever two branches were first
//! compared ([`crate::book`]), and then extended past it by the fork rule
//! ([`Replica::kept_target`]): the chain other members built on keeps counting. References into
//! a frozen book at or beyond the cut to pages it does not keep are treated as satisfied, and
//! the display order is rebuilt whenever a cut or the kept chain changes, so that it stays a
//! function of the page set on every peer.
//!
//! The room's root ([`is_room_root`]: seq 0 of a group room's creator, the page its id commits
//! to) is never part of a fork: another page at that seq (the creator's restored backup writing
//! a join request) is refused where the root is held ([`StoreRefusal::NotRoot`]), and the root
//! replaces it, with everything chained on it, where it was held first
//! ([`DisplayChanges::dropped`] names the book from seq 0). A proof of such a pair, stored by an
//! earlier version, is dropped on [`Replica::restore`] and the book starts again from the root.

use std::collections::{BTreeMap, BTreeSet};

use crate::book::{AppendError, Book, InsertStatus};
use crate::causal::{CausalOrder, DisplayKey, Released};
use crate::crypto::{CryptoError, GrantPlace, KeyAgreement, PageKey, RoomSecret};
use crate::identity::{Identity, UserId};
use crate::membership::auto_admit::{AutoAdmitLinks, Candidate, auto_admittable};
use crate::membership::{
    Epochs, FoldKey, KeyDuty, KeysEntry, MAX_CLOCK_SKEW_MS, MAX_HELD_PAGES, Standing, StoreRefusal,
    SyncRight, admit_request, may_store,
};
use crate::page::body::{Grant, KeysBody, MAX_GRANTS};
use crate::page::{
    Body, BookId, KeyId, MAX_DATA_BYTES, MAX_REFS, NONCE_LEN, Page, PageKind, PageMeta, PageRef,
    RoomId,
};
use crate::page::{ControlOp, InviteId, PageHash};
use crate::room::{ControlEntry, RoomError, RoomLog, RoomState, is_room_root};
use crate::validate::{
    Equivocation, ValidationError, VerifiedPage, check_equivocation, open, verify_signatures,
};

/// A book as stored, with a proof of a fork at seq 0 between the room's root and another page
/// (what earlier versions stored, cutting the room's creation away; the root being the lower
/// hash when the creator signed two pages under its nonce): no such proof counts
/// under the root rule, so it is dropped, and the book starts again from the root, taken from
/// the proof when the stored pages no longer begin with it. Returns the pages, the proof that
/// stands, and whether the root came from the proof (and so is not stored as a page).
fn without_root_fork(
    room: &RoomId,
    pages: Vec<VerifiedPage>,
    proof: Option<Equivocation>,
) -> (Vec<VerifiedPage>, Option<Equivocation>, bool) {
    let Some(fork) = proof.as_ref().filter(|p| p.seq() == 0) else {
        return (pages, proof, false);
    };
    let (a, b) = fork.pages();
    // Two pages under the root's nonce: the lower hash is the root (the proof's first page).
    let root = match (is_room_root(room, a), is_room_root(room, b)) {
        (true, _) => a,
        (false, true) => b,
        (false, false) => return (pages, proof, false),
    };
    if pages.first().is_some_and(|p| p.hash() == root.hash()) {
        return (pages, None, false);
    }
    // The proof's pages were verified when it was (it is only ever built from two).
    (
        vec![VerifiedPage::assume_verified(root.clone())],
        None,
        true,
    )
}

/// Display position of a page in a room.
pub type Position = DisplayKey<PageRef>;

/// One book's head as advertised to peers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct BookHead {
    /// The book's author.
    pub author: UserId,
    /// Pages held contiguously (`0..len`).
    pub len: u64,
    /// The last of them.
    pub tip: Option<crate::page::PageHash>,
    /// Seq of the lowest equivocation proof held for the book (truncated there), if any: the
    /// fork point once the walk down to it is over ([`crate::book`]).
    pub frozen_at: Option<u64>,
}

/// What [`Replica::ingest_at`] did with a batch of pages from a peer.
#[derive(Debug, Default)]
pub struct Ingested {
    /// Pages that joined a book, in order: persist them, then announce them.
    pub stored: Vec<VerifiedPage>,
    /// New equivocation proofs, or lower ones replacing a book's proof (see [`crate::book`]):
    /// persist each in place of that book's earlier proof and delete the book's pages from its
    /// seq on.
    pub equivocations: Vec<Equivocation>,
    /// Failures that are the sending peer's fault (it must have verified before forwarding).
    pub faults: Vec<ValidationError>,
    /// Books whose next pages could not be placed yet (gap, unknown author, wrong predecessor
    /// that may hide a fork): seq ranges to ask the same peer for.
    pub refetch: Vec<(UserId, std::ops::Range<u64>)>,
    /// Authors whose pages the peer sent beyond a fork we know of: it lacks the proof.
    pub peer_lacks_proof: BTreeSet<UserId>,
    /// Pages the room's membership policy does not let this peer store, with why. Not the
    /// peer's fault: it may know of an admission this peer has not folded yet.
    pub refused: Vec<(PageRef, StoreRefusal)>,
}

/// How the display changed during the last [`Replica::write`] or [`Replica::ingest_at`].
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct DisplayChanges {
    /// Pages that became displayable, in release order, each with the page it follows (a UI
    /// inserts each after that one; see [`crate::causal`] on late arrivals).
    pub released: Vec<Released<PageRef>>,
    /// The whole order was rebuilt (an equivocation truncated a book): redraw from
    /// [`Replica::display_order`] instead of applying `released`.
    pub rebuilt: bool,
    /// Books cut back because the membership policy no longer lets this peer store their end (a
    /// removed member past its cap, a join request displaced under the cap): delete each
    /// author's stored pages from that seq on.
    pub dropped: Vec<(UserId, u64)>,
}

/// Why the local user could not write.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WriteError {
    /// The room state does not allow this page (not a member, room deleted...).
    #[error(transparent)]
    Room(#[from] RoomError),
    /// The book refused the append.
    #[error(transparent)]
    Append(#[from] AppendError),
    /// The current epoch may not be written under yet: a former member still holds it (write
    /// the re-key first, [`Replica::write_keys`]), or this member has not been given it.
    #[error("the room's current key is not usable here yet: {0}")]
    Key(KeyWait),
}

/// A recipient and the epoch secrets it is to be granted.
type GrantWanted = (UserId, Vec<(Option<KeyId>, RoomSecret)>);

/// Why the local member cannot seal content under the current epoch now.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum KeyWait {
    /// Someone who left or was removed holds the current epoch: a member must re-key.
    #[error("someone who left still holds it; the room must be re-keyed first")]
    RekeyFirst,
    /// This member has not received the current epoch's secret from an owner yet.
    #[error("waiting for an owner to share the room key with this device")]
    NotGiven,
}

/// A room as one peer holds it.
#[derive(Debug, Clone)]
pub struct Replica {
    room: RoomId,
    /// Every epoch secret this peer holds (`None`: the room's original secret).
    secrets: BTreeMap<Option<KeyId>, RoomSecret>,
    /// The local member's key agreement half, to open grants addressed to it.
    me: Option<KeyAgreement>,
    /// Every released keys page in fold order (whether it counts is asked of the log when the
    /// chain is folded, since a refold can change that).
    keys: BTreeMap<FoldKey, (PageRef, [u8; NONCE_LEN], KeysBody)>,
    /// Control pages sealed under an epoch this peer does not hold (yet): folded as void until
    /// a grant brings the key, then the fold is rebuilt.
    locked: BTreeSet<PageRef>,
    /// A grant brought a secret since the fold last looked at `locked`.
    learned: bool,
    books: BTreeMap<UserId, Book>,
    causal: CausalOrder<PageRef>,
    log: RoomLog<FoldKey>,
    /// Stored pages the causal buffer could not take yet ([`crate::causal::MAX_PENDING`]).
    unindexed: BTreeSet<PageRef>,
    /// Per other author, the seq this peer's own latest page referenced (sparse vector clock).
    referenced: BTreeMap<UserId, u64>,
    /// Display changes of the current call only (reset by each write and ingest: bounded).
    changes: DisplayChanges,
    /// Per book, how many pages (`0..len`) the driver reported persisted. Only these are
    /// advertised and served to peers (module docs). Clamped to the held length on read and
    /// when a fork truncates a book, so a truncated book never claims pages it no longer holds.
    committed: BTreeMap<UserId, u64>,
    /// Per book, the servable length [`Replica::take_servable`] last handed out.
    offered: BTreeMap<UserId, u64>,
    /// Per forked book, the seqs to ask peers for: the chains up to pages other members
    /// referenced past the cut that this peer cannot build yet ([`Replica::settle_forks`]).
    fork_wants: BTreeMap<UserId, std::ops::Range<u64>>,
    /// Per forked book, the references other members' stored pages make to it at or past its
    /// cut, each with the referencing page's hash: the fork rule's anchors. Kept up to date as
    /// pages are indexed, rebuilt by every reindex (which every cut causes).
    anchors: BTreeMap<UserId, BTreeSet<(PageHash, PageRef)>>,
    /// Something the fork rule depends on changed since [`Replica::settle_forks`] last ran.
    forks_dirty: bool,
    /// Verified pages stamped too far in the future, by (timestamp, page), until their time.
    held: BTreeMap<(u64, PageRef), VerifiedPage>,
    /// Former members' store limits as of the last complete fold: refs at or past them are
    /// satisfied (those pages are gone everywhere). Kept apart from the log, which a rebuild
    /// refolds from scratch, so a rebuild sees the same dependencies throughout.
    cut_limits: BTreeMap<UserId, u64>,
    /// Held control pages, decrypted (`None`: void, it does not open), so a rebuild of the
    /// order does not decrypt them again.
    opened: BTreeMap<PageRef, Option<ControlOp>>,
}

impl Replica {
    /// An empty replica of `room`, whose pages are sealed under `secret`.
    pub fn new(room: RoomId, secret: &RoomSecret) -> Self {
        Self {
            room,
            secrets: BTreeMap::from([(None, secret.clone())]),
            me: None,
            keys: BTreeMap::new(),
            locked: BTreeSet::new(),
            learned: false,
            books: BTreeMap::new(),
            causal: CausalOrder::new(),
            log: RoomLog::new(room),
            unindexed: BTreeSet::new(),
            referenced: BTreeMap::new(),
            changes: DisplayChanges::default(),
            committed: BTreeMap::new(),
            offered: BTreeMap::new(),
            fork_wants: BTreeMap::new(),
            anchors: BTreeMap::new(),
            forks_dirty: false,
            held: BTreeMap::new(),
            cut_limits: BTreeMap::new(),
            opened: BTreeMap::new(),
        }
    }

    /// Rebuilds a replica from persisted books (pages in seq order per author, and the proof if
    /// the author equivocated). Pages were verified before they were persisted, and being
    /// persisted, they count as committed.
    // The error is validate's own type; a restore happens once per start, so its size is moot.
    #[allow(clippy::result_large_err)]
    pub fn restore(
        room: RoomId,
        secret: &RoomSecret,
        books: impl IntoIterator<Item = (UserId, Vec<VerifiedPage>, Option<Equivocation>)>,
    ) -> Result<Self, ValidationError> {
        let mut replica = Self::new(room, secret);
        let mut stored_past_cut: BTreeMap<UserId, Vec<PageHash>> = BTreeMap::new();
        for (author, pages, proof) in books {
            let (pages, proof, from_proof) = without_root_fork(&room, pages, proof);
            if let Some(cut) = proof.as_ref().map(Equivocation::seq) {
                let past: Vec<PageHash> = pages
                    .iter()
                    .filter(|p| p.seq() >= cut)
                    .map(|p| p.hash())
                    .collect();
                stored_past_cut.insert(author, past);
            }
            let book = Book::restore(BookId { room, author }, pages, proof)?;
            // A root taken back from a proof is not stored as a page yet: the driver stores it.
            let committed = if from_proof { 0 } else { book.len() };
            replica.committed.insert(author, committed);
            replica.books.insert(author, book);
        }
        replica.reindex();
        replica.settle_forks();
        // What a forked book keeps is decided again: the part of it that storage already holds
        // in the same place is committed, the rest is for the driver to store.
        for (author, stored) in stored_past_cut {
            let Some(book) = replica.books.get(&author) else {
                continue;
            };
            let cut = book.equivocation().map_or(0, Equivocation::seq);
            let same = book
                .range(cut..book.len())
                .iter()
                .zip(&stored)
                .take_while(|(page, hash)| page.hash() == **hash)
                .count() as u64;
            replica.committed.insert(author, cut + same);
        }
        replica.enforce_limits();
        Ok(replica)
    }

    /// The room id.
    pub fn room(&self) -> RoomId {
        self.room
    }

    /// Makes this the replica of member `identity`: grants sealed to it are opened (those held
    /// already and every later one), so it holds the epochs it was given.
    pub fn with_member(mut self, identity: &Identity) -> Self {
        self.me = Some(KeyAgreement::of(identity));
        let keys: Vec<_> = self.keys.values().cloned().collect();
        for (r, nonce, body) in &keys {
            self.open_grants(r, nonce, body);
        }
        self.unlock();
        self
    }

    /// Takes the secrets a keys page grants to the local member.
    fn open_grants(&mut self, r: &PageRef, nonce: &[u8; NONCE_LEN], body: &KeysBody) {
        let Some(me) = &self.me else { return };
        let Some(grant) = body.grants.iter().find(|g| g.recipient == me.user_id()) else {
            return;
        };
        let place = GrantPlace {
            room: self.room,
            author: r.author,
            seq: r.seq,
            nonce,
            recipient: me.user_id(),
        };
        // A grant that does not open gives nothing; the author is at fault, not this peer.
        if let Ok(secrets) = crate::crypto::open_grant(me, &place, grant) {
            for (epoch, secret) in secrets {
                if let std::collections::btree_map::Entry::Vacant(slot) = self.secrets.entry(epoch)
                {
                    slot.insert(secret);
                    self.learned = true;
                }
            }
        }
    }

    /// After a grant brought new secrets: pages sealed under them open now, so the display
    /// must be redrawn, and control pages that were void for want of a key count after all.
    fn unlock(&mut self) {
        if !std::mem::take(&mut self.learned) {
            return;
        }
        self.changes.rebuilt = true;
        if !self.locked.is_empty() {
            self.reindex();
            self.learned = false;
        }
    }

    /// The room's epoch chain and who holds each epoch ([`crate::membership::Epochs`]).
    pub fn epochs(&self) -> Epochs {
        let counting: Vec<KeysEntry> = self
            .keys
            .iter()
            .filter(|(key, (r, _, _))| self.log.check_content_at(&r.author, r.seq, key).is_ok())
            .map(|(_, (r, _, body))| KeysEntry::of(r.author, body))
            .collect();
        Epochs::fold(&counting)
    }

    /// The newest epoch secret this peer holds: the current epoch's, else the latest of the
    /// chain it was given, else the room's original secret (what presence is keyed by,
    /// [`crate::plan::presence_plan`]).
    pub fn newest_secret(&self) -> Option<&RoomSecret> {
        let epochs = self.epochs();
        epochs
            .chain()
            .iter()
            .rev()
            .find_map(|id| self.secrets.get(&Some(*id)))
            .or_else(|| self.secrets.get(&None))
    }

    /// The room's original secret (epoch 0), if this peer holds it.
    pub fn original_secret(&self) -> Option<&RoomSecret> {
        self.secrets.get(&None)
    }

    /// Whether this peer holds the secret of epoch `id` (`None`: the original secret).
    pub fn holds_key(&self, id: Option<KeyId>) -> bool {
        self.secrets.contains_key(&id)
    }

    fn page_key(&self, id: Option<KeyId>) -> Option<PageKey> {
        self.secrets.get(&id).map(|secret| match id {
            None => secret.page_key(),
            Some(_) => secret.epoch_key(),
        })
    }

    /// Decrypts and decodes a page's body with the epoch key it names (a keys page's body is
    /// plaintext). [`CryptoError::NoKey`] when this peer was not given that epoch.
    // The error is validate's own type.
    #[allow(clippy::result_large_err)]
    pub fn open(&self, page: &Page) -> Result<Body, ValidationError> {
        if page.kind() == PageKind::Keys {
            return Body::decode(PageKind::Keys, page.data()).map_err(|e| {
                ValidationError::Decrypt {
                    author: page.author(),
                    seq: page.seq(),
                    source: CryptoError::BadBody(e),
                }
            });
        }
        match self.page_key(page.key()) {
            Some(key) => open(page, &key),
            None => Err(ValidationError::Decrypt {
                author: page.author(),
                seq: page.seq(),
                source: CryptoError::NoKey,
            }),
        }
    }

    /// The members now and whether anyone has left (the inputs of the epoch rules).
    fn members_now(&self) -> (BTreeSet<UserId>, bool) {
        let state = self.state();
        (
            state.members().keys().copied().collect(),
            state.tenures().anyone_left(),
        )
    }

    /// The key the local member seals content and control pages under: the current epoch's, if
    /// it is writable and held.
    fn write_key(&self, me: &UserId) -> Result<PageKey, WriteError> {
        if !self.state().is_member(me) {
            // A join request (or a create) is written before its author holds any epoch.
            return self
                .page_key(None)
                .ok_or(WriteError::Key(KeyWait::NotGiven));
        }
        let epochs = self.epochs();
        let (members, anyone_left) = self.members_now();
        if !epochs.writable(&members, anyone_left) {
            return Err(WriteError::Key(KeyWait::RekeyFirst));
        }
        self.page_key(epochs.current())
            .ok_or(WriteError::Key(KeyWait::NotGiven))
    }

    /// What the local member must write for the room's keys to be right (see
    /// [`crate::membership::Epochs::duty`]); `None` also when this is not a member's replica.
    pub fn key_duty(&self) -> Option<KeyDuty> {
        let me = self.me.as_ref()?.user_id();
        if self.state().direct().is_some() || self.state().is_deleted() {
            return None;
        }
        let (members, anyone_left) = self.members_now();
        let held: BTreeSet<KeyId> = self.secrets.keys().flatten().copied().collect();
        let epochs = self.epochs();
        let off_chain = self.sealed_off_chain(&epochs, &held);
        let owners: BTreeSet<UserId> = members
            .iter()
            .filter(|m| self.state().is_owner(m))
            .copied()
            .collect();
        epochs.duty(&me, &members, &owners, anyone_left, &held, &off_chain)
    }

    /// The epochs in `held` outside `epochs`' chain that pages which count are sealed under
    /// ([`KeyDuty::Share`]). Only an epoch started by a keys page that does not count can be
    /// one, so the books are read only when this peer holds such an epoch (rare: after two
    /// owners removed each other at once).
    fn sealed_off_chain(&self, epochs: &Epochs, held: &BTreeSet<KeyId>) -> BTreeSet<KeyId> {
        let candidates: BTreeSet<KeyId> = self
            .keys
            .values()
            .filter_map(|(_, _, body)| body.new_epoch)
            .filter(|id| held.contains(id) && !epochs.chain().contains(id))
            .collect();
        if candidates.is_empty() {
            return candidates;
        }
        let tenures = self.state().tenures();
        self.books
            .iter()
            .flat_map(|(author, book)| {
                book.range(0..book.len())
                    .iter()
                    .filter(move |page| tenures.counts(author, page.seq()))
                    .filter_map(|page| page.page().key())
            })
            .filter(|id| candidates.contains(id))
            .collect()
    }

    /// Writes one keys page for [`Replica::key_duty`], if there is one: a re-key to a new epoch
    /// with secret `fresh` (an input, drawn by the app from a CSPRNG), or grants of epochs
    /// members lack. A duty too big for one page is split: call again while a duty remains.
    pub fn write_keys(
        &mut self,
        identity: &Identity,
        fresh: RoomSecret,
        timestamp_ms: u64,
        nonce: [u8; NONCE_LEN],
    ) -> Result<Option<VerifiedPage>, WriteError> {
        let agreement = match &self.me {
            Some(me) if me.user_id() == identity.user_id() => me.clone(),
            _ => {
                let agreement = KeyAgreement::of(identity);
                self.me = Some(agreement.clone());
                agreement
            }
        };
        let Some(duty) = self.key_duty() else {
            return Ok(None);
        };
        let me = identity.user_id();
        let seq = self.books.get(&me).map_or(0, Book::len);
        let (new_epoch, wanted): (Option<KeyId>, Vec<GrantWanted>) = match duty {
            KeyDuty::Rekey { members } => {
                let id = fresh.key_id();
                self.secrets.insert(Some(id), fresh.clone());
                (
                    Some(id),
                    members
                        .into_iter()
                        .map(|m| (m, vec![(Some(id), fresh.clone())]))
                        .collect(),
                )
            }
            KeyDuty::Grant { missing } | KeyDuty::Share { missing } => (
                None,
                missing
                    .into_iter()
                    .map(|(m, ids)| {
                        let secrets = ids
                            .into_iter()
                            .filter_map(|id| {
                                self.secrets.get(&Some(id)).map(|s| (Some(id), s.clone()))
                            })
                            .take(crate::page::body::MAX_GRANT_EPOCHS)
                            .collect();
                        (m, secrets)
                    })
                    .collect(),
            ),
        };
        let mut grants: Vec<Grant> = Vec::new();
        let mut size = 1 + crate::page::KEY_ID_LEN + 3;
        for (recipient, secrets) in wanted {
            let bound = Grant::encoded_len_bound(secrets.len());
            if grants.len() >= MAX_GRANTS || size + bound > MAX_DATA_BYTES {
                break;
            }
            let place = GrantPlace {
                room: self.room,
                author: me,
                seq,
                nonce: &nonce,
                recipient,
            };
            // A member whose id is no X25519 point cannot be given anything; skip it rather
            // than hold back everyone else's keys.
            if let Ok(grant) = crate::crypto::seal_grant(&agreement, &place, &secrets) {
                size += bound;
                grants.push(grant);
            }
        }
        grants.sort_by_key(|g| g.recipient);
        let body = Body::Keys(KeysBody { new_epoch, grants });
        self.write(identity, &body, timestamp_ms, nonce).map(Some)
    }

    /// The folded room state.
    pub fn state(&self) -> &RoomState {
        self.log.state()
    }

    /// The control log (verdicts and membership in seq space).
    pub fn log(&self) -> &RoomLog<FoldKey> {
        &self.log
    }

    /// Former members an owner removed (and who were not admitted again), each with the
    /// counting page that removed them (the last in fold order, if several did).
    pub fn removed_by_owners(&self) -> BTreeMap<UserId, PageRef> {
        self.log
            .counting()
            .filter_map(|(key, entry)| match entry.op {
                ControlOp::Remove { member, .. }
                    if matches!(self.standing(&member), Standing::Former { .. }) =>
                {
                    Some((member, key.id))
                }
                _ => None,
            })
            .collect()
    }

    /// The held join requests that `me`'s device admits on its own through `links` at
    /// `now_ms` ([`crate::membership::auto_admit`]), each with the invite it came through.
    /// Nothing unless `me` is an owner of a room that is not deleted.
    pub fn auto_admittable(
        &self,
        me: &UserId,
        links: &AutoAdmitLinks,
        now_ms: u64,
    ) -> Vec<(UserId, InviteId)> {
        let state = self.state();
        if !state.is_owner(me) || state.is_deleted() {
            return Vec::new();
        }
        let removed = self.removed_by_owners();
        let candidates = state
            .join_requests()
            .iter()
            .map(|(user, request)| Candidate {
                user: *user,
                invite: request.invite,
                proof: request.proof,
                removed: removed.contains_key(user),
            });
        auto_admittable(links, &self.room, candidates, now_ms)
    }

    /// A book, if any of its pages are held.
    pub fn book(&self, author: &UserId) -> Option<&Book> {
        self.books.get(author)
    }

    /// Every book held, by author.
    pub fn books(&self) -> impl Iterator<Item = (&UserId, &Book)> + '_ {
        self.books.iter()
    }

    /// Every book's committed head: what peers are told this replica holds.
    pub fn heads(&self) -> Vec<BookHead> {
        self.heads_for(SyncRight::Full)
    }

    /// The heads a peer with `right` is told: each book it may be served, up to
    /// [`Replica::served_len`]; a fork's proof only to a member (its pages lie at or past the
    /// book's held length, beyond what a former member may be served).
    pub fn heads_for(&self, right: SyncRight) -> Vec<BookHead> {
        self.books
            .iter()
            .filter_map(|(author, book)| {
                let len = self.served_len(right, author);
                if len == 0 && right != SyncRight::Full {
                    return None;
                }
                Some(BookHead {
                    author: *author,
                    len,
                    tip: len
                        .checked_sub(1)
                        .and_then(|seq| book.get(seq))
                        .map(|page| page.hash()),
                    frozen_at: book
                        .equivocation()
                        .filter(|_| right == SyncRight::Full)
                        .map(Equivocation::seq),
                })
            })
            .collect()
    }

    /// Records that the driver persisted `author`'s pages `0..len`. Returns the pages this made
    /// committed (in seq order), which the driver announces to peers; reporting a length at or
    /// below the committed one returns nothing. A length beyond the held pages counts up to the
    /// held length only.
    pub fn mark_committed(&mut self, author: &UserId, len: u64) -> Vec<VerifiedPage> {
        let Some(book) = self.books.get(author) else {
            return Vec::new();
        };
        let was = self.committed_len(author);
        let now = len.min(book.len());
        if now <= was {
            return Vec::new();
        }
        self.committed.insert(*author, now);
        book.range(was..now).to_vec()
    }

    /// Pages that became servable to members since the last call (committed, and placed in the
    /// order here), book by book in seq order: what the driver announces to every session after
    /// each commit and each ingest. A page committed before its dependencies arrived is handed
    /// out here once they do.
    pub fn take_servable(&mut self) -> Vec<VerifiedPage> {
        let mut out = Vec::new();
        let authors: Vec<UserId> = self.books.keys().copied().collect();
        for author in authors {
            let now = self.served_len(SyncRight::Full, &author);
            let was = self.offered.get(&author).map_or(0, |len| (*len).min(now));
            if let Some(book) = self.books.get(&author)
                && was < now
            {
                out.extend(book.range(was..now).iter().cloned());
            }
            self.offered.insert(author, now);
        }
        out
    }

    /// How many of `author`'s pages (`0..len`) are committed.
    pub fn committed_len(&self, author: &UserId) -> u64 {
        let held = self.books.get(author).map_or(0, Book::len);
        self.committed.get(author).map_or(0, |len| (*len).min(held))
    }

    /// Pages held but not committed yet, book by book in seq order: what the driver still has
    /// to persist.
    pub fn uncommitted(&self) -> impl Iterator<Item = &VerifiedPage> + '_ {
        self.books.iter().flat_map(|(author, book)| {
            let from = self.committed_len(author);
            book.range(from..book.len()).iter()
        })
    }

    /// A stored page.
    pub fn page(&self, r: &PageRef) -> Option<&VerifiedPage> {
        self.books
            .get(&r.author)
            .and_then(|b| b.get(r.seq))
            .filter(|p| p.hash() == r.hash)
    }

    /// Released pages in display order.
    pub fn display_order(&self) -> impl DoubleEndedIterator<Item = &Position> + '_ {
        self.causal.iter()
    }

    /// Whether the page at `position` counts (its author was a member there, the room was not
    /// deleted before it; for a control page, whether the operation was valid).
    pub fn counts(&self, position: &Position) -> bool {
        let Some(page) = self.page(&position.id) else {
            return false;
        };
        let key = FoldKey::of(position);
        if page.kind() == PageKind::Control {
            return matches!(self.log.verdict(&key), Some(Ok(_)));
        }
        self.log
            .check_content_at(&page.author(), page.seq(), &key)
            .is_ok()
    }

    /// How the display changed during the last [`Replica::write`] or [`Replica::ingest_at`].
    pub fn display_changes(&self) -> &DisplayChanges {
        &self.changes
    }

    /// Pages stored but waiting for dependencies.
    pub fn pending_len(&self) -> usize {
        self.causal.pending_len() + self.unindexed.len()
    }

    /// What the room says about `author` now ([`crate::membership`]).
    pub fn standing(&self, author: &UserId) -> Standing {
        self.log.standing(author)
    }

    /// What `peer` may be served ([`crate::membership`]).
    pub fn may_sync(&self, peer: &UserId) -> SyncRight {
        let standing = self.standing(peer);
        let cut_at = match standing {
            Standing::Former { .. } => self.cut_position(peer),
            _ => None,
        };
        SyncRight::of(standing, self.state().is_created(), cut_at)
    }

    /// The fold position of the counting operation that last cut `member` off (a removal of
    /// it, or its own leave).
    fn cut_position(&self, member: &UserId) -> Option<FoldKey> {
        self.log
            .counting()
            .filter(|(_, entry)| match &entry.op {
                ControlOp::Remove { member: m, .. } | ControlOp::LegacyRemove { member: m } => {
                    m == member
                }
                ControlOp::Leave => entry.author == *member,
                _ => false,
            })
            .map(|(key, _)| *key)
            .last()
    }

    /// How many of `author`'s pages (`0..len`) a peer with `right` may be served: committed
    /// pages this replica has placed in its order (so folded: a page that follows a removal
    /// this replica holds but has not folded yet never goes out as if nobody had been removed),
    /// and for a former member only those folded at or before its cut. Both grow along a book
    /// (each page depends on the one before), so the result is a prefix.
    pub fn served_len(&self, right: SyncRight, author: &UserId) -> u64 {
        let committed = self.committed_len(author);
        match right {
            SyncRight::None => 0,
            SyncRight::Full | SyncRight::UntilCut(_) => {
                let Some(book) = self.books.get(author) else {
                    return 0;
                };
                let served = |seq: u64| {
                    book.get(seq)
                        .and_then(|page| self.causal.key_of(&page.page_ref()))
                        .is_some_and(|key| right.covers(FoldKey::of(&key)))
                };
                let (mut low, mut high) = (0, committed);
                while low < high {
                    let mid = low + (high - low) / 2;
                    if served(mid) {
                        low = mid + 1;
                    } else {
                        high = mid;
                    }
                }
                low
            }
        }
    }

    /// Where `author` was cut off in its own seq space, if it was a member and is not now.
    pub fn cut_at(&self, author: &UserId) -> Option<u64> {
        match self.standing(author) {
            Standing::Former { cut } => Some(cut),
            _ => None,
        }
    }

    /// How many of `author`'s pages this peer holds contiguously: what a `Remove` of `author`
    /// written here records as `seen`.
    pub fn seen_of(&self, author: &UserId) -> u64 {
        self.books.get(author).map_or(0, Book::len)
    }

    /// One past the highest seq of `author`'s book this peer may store (what sync asks for).
    /// Zero for a stranger whose request the request cap would refuse.
    pub fn store_limit(&self, author: &UserId) -> u64 {
        let standing = self.standing(author);
        if standing == Standing::Unknown && self.request_cap_refuses(author) {
            return 0;
        }
        standing.store_limit()
    }

    /// Requesters whose requests count against the cap: books of non-members that no waiting
    /// page depends on.
    fn held_requests(&self) -> Vec<UserId> {
        self.books
            .iter()
            .filter(|(a, b)| {
                !b.is_empty()
                    && matches!(self.log.standing(a), Standing::Pending | Standing::Unknown)
                    && b.tip().is_some_and(|t| !self.causal.is_awaited(&t))
            })
            .map(|(a, _)| *a)
            .collect()
    }

    /// Whether a request from stranger `author` would be refused by the request cap now.
    fn request_cap_refuses(&self, author: &UserId) -> bool {
        if self.books.len() <= crate::membership::MAX_PENDING_REQUESTS {
            return false;
        }
        let held = self.held_requests();
        !held.contains(author) && admit_request(&held, *author).is_err()
    }

    /// Writes the local user's next page with `body`; `timestamp_ms` and `nonce` are inputs.
    /// Returns the page to persist (acknowledge it to the user once persisted) and announce.
    pub fn write(
        &mut self,
        identity: &Identity,
        body: &Body,
        timestamp_ms: u64,
        nonce: [u8; NONCE_LEN],
    ) -> Result<VerifiedPage, WriteError> {
        let me = identity.user_id();
        self.changes = DisplayChanges::default();
        match body {
            Body::Control(ControlOp::Leave) if !self.state().is_member(&me) => {
                return Err(RoomError::NotMember(me).into());
            }
            Body::Control(_) => {}
            _ => self.state().check_content(&me)?,
        }
        // Keys pages are not sealed; everything else under the epoch the rules name.
        let key = match body {
            Body::Keys(_) => None,
            _ => Some(self.write_key(&me)?),
        };
        let refs = self.fresh_refs(&me);
        let book = self.books.entry(me).or_insert_with(|| {
            Book::new(BookId {
                room: self.room,
                author: me,
            })
        });
        let meta = PageMeta { timestamp_ms };
        let page = match (key, body) {
            (Some(key), _) => book.append(identity, &key, body, refs.clone(), meta, nonce)?,
            (None, Body::Keys(keys)) => {
                book.append_keys(identity, keys.clone(), refs.clone(), meta, nonce)?
            }
            (None, _) => return Err(WriteError::Key(KeyWait::NotGiven)),
        };
        for r in refs {
            self.referenced.insert(r.author, r.seq);
        }
        self.index(page.page_ref());
        self.retry_unindexed();
        self.unlock();
        self.enforce_limits();
        self.settle_forks();
        Ok(page)
    }

    /// Released tips of other books that advanced since this peer's previous page, the most
    /// recent [`MAX_REFS`] of them.
    fn fresh_refs(&self, me: &UserId) -> Vec<PageRef> {
        let mut tips: Vec<(Position, PageRef)> = Vec::new();
        for (author, book) in &self.books {
            // Never a request that is not answered yet: a page of ours must not depend on a
            // page the request cap may make peers drop.
            if author == me
                || matches!(self.standing(author), Standing::Pending | Standing::Unknown)
            {
                continue;
            }
            let mut seq = book.len();
            while seq > 0 {
                seq -= 1;
                let Some(page) = book.get(seq) else { break };
                let r = page.page_ref();
                if self.referenced.get(author).is_some_and(|s| *s >= seq) {
                    break;
                }
                if let Some(key) = self.causal.key_of(&r) {
                    tips.push((key, r));
                    break;
                }
            }
        }
        tips.sort_by(|a, b| b.0.cmp(&a.0));
        tips.truncate(MAX_REFS);
        tips.into_iter().map(|(_, r)| r).collect()
    }

    /// Verifies and stores pages received from a peer; `now_ms` is the receiver's wall clock
    /// (milliseconds since the Unix epoch, the clock pages are stamped with). Pages stamped more
    /// than [`MAX_CLOCK_SKEW_MS`] after it are held back until [`Replica::handle_timeout`] at
    /// their time (see [`Replica::poll_timeout`]).
    pub fn ingest_at(&mut self, pages: Vec<Page>, now_ms: u64) -> Ingested {
        let mut out = Ingested::default();
        self.changes = DisplayChanges::default();
        let batch: BTreeSet<PageHash> = pages.iter().map(Page::hash).collect();
        // Flooding delivers most pages several times: a page whose hash we already hold is the
        // same content (the hash covers everything but the signature, and ours was verified),
        // so it is skipped before the expensive signature check.
        let mut fresh: Vec<Page> = Vec::with_capacity(pages.len());
        for page in pages {
            let r = page.page_ref();
            if self.page(&r).is_some() || self.held.contains_key(&(page.meta().timestamp_ms, r)) {
                continue;
            }
            // A former member's page past what it may have stored, and a stranger's request the
            // full request cap would refuse, are refused before the signature check, so a flood
            // costs a lookup per page. (A standing can change within the batch, e.g. a create
            // followed by its admits: a page refused here too early is fetched again later.)
            let standing = self.standing(&r.author);
            let refusal = match standing {
                Standing::Former { .. } => may_store(standing, r.author, r.seq, false).err(),
                Standing::Unknown
                    if !self.causal.is_awaited(&r) && self.request_cap_refuses(&r.author) =>
                {
                    Some(StoreRefusal::TooManyRequests { author: r.author })
                }
                _ => None,
            };
            if let Some(refusal) = refusal {
                out.refused.push((r, refusal));
                continue;
            }
            fresh.push(page);
        }
        let mut verified = Vec::new();
        for page in verify_signatures(fresh) {
            let page = match page {
                Ok(page) => page,
                Err(fault) => {
                    out.faults.push(fault);
                    continue;
                }
            };
            if page.book().room != self.room {
                out.faults.push(ValidationError::WrongBook {
                    expected: BookId {
                        room: self.room,
                        author: page.author(),
                    },
                    found: page.book(),
                });
                continue;
            }
            if page.meta().timestamp_ms > now_ms.saturating_add(MAX_CLOCK_SKEW_MS) {
                self.hold(page, &mut out);
                continue;
            }
            verified.push(page);
        }
        self.accept_proofs(&verified, &mut out);
        for page in verified {
            self.ingest_one(page, &batch, &mut out);
        }
        self.release_held(now_ms, &batch, &mut out);
        self.finish(&mut out);
        out
    }

    /// Two pages of one book at one seq in one batch (how proofs travel) are a proof, taken
    /// even when neither page can be placed in the book yet (neither follows the page held
    /// before it): a lower proof then cuts the book at once.
    fn accept_proofs(&mut self, pages: &[VerifiedPage], out: &mut Ingested) {
        let mut seen: BTreeMap<(UserId, u64), &VerifiedPage> = BTreeMap::new();
        for page in pages {
            let author = page.author();
            let Some(other) = seen.get(&(author, page.seq())) else {
                seen.insert((author, page.seq()), page);
                continue;
            };
            let Ok(proof) = check_equivocation(other, page) else {
                continue;
            };
            // A pair at seq 0 of the creator's book is no fork: the root rule settles it page
            // by page.
            if is_room_root(&self.room, other) || is_room_root(&self.room, page) {
                continue;
            }
            if may_store(self.standing(&author), author, page.seq(), false).is_err() {
                continue;
            }
            let book = self.books.entry(author).or_insert_with(|| {
                Book::new(BookId {
                    room: self.room,
                    author,
                })
            });
            if book
                .accept_proof(proof.clone())
                .is_ok_and(|outcome| outcome.changed())
            {
                self.after_cut(&author, proof.seq());
                out.equivocations.push(proof);
                self.reindex();
            }
        }
    }

    /// When [`Replica::handle_timeout`] should next be called (wall-clock milliseconds): the
    /// time the earliest held-back page stops being too far in the future.
    pub fn poll_timeout(&self) -> Option<u64> {
        self.held
            .keys()
            .next()
            .map(|(timestamp, _)| timestamp.saturating_sub(MAX_CLOCK_SKEW_MS))
    }

    /// Releases held-back pages whose time has come (calling it early is harmless). The result
    /// is handled like [`Replica::ingest_at`]'s: persist `stored`, then announce them.
    pub fn handle_timeout(&mut self, now_ms: u64) -> Ingested {
        let mut out = Ingested::default();
        if self.poll_timeout().is_none_or(|at| at > now_ms) {
            return out;
        }
        self.changes = DisplayChanges::default();
        self.release_held(now_ms, &BTreeSet::new(), &mut out);
        self.finish(&mut out);
        out
    }

    /// Number of pages held back for their timestamp.
    pub fn held_len(&self) -> usize {
        self.held.len()
    }

    fn hold(&mut self, page: VerifiedPage, out: &mut Ingested) {
        let key = (page.meta().timestamp_ms, page.page_ref());
        if self.held.len() >= MAX_HELD_PAGES {
            match self.held.keys().next_back().copied() {
                Some(furthest) if furthest > key => {
                    self.held.remove(&furthest);
                }
                _ => {
                    out.refused
                        .push((key.1, StoreRefusal::HoldFull { page: key.1 }));
                    return;
                }
            }
        }
        self.held.insert(key, page);
    }

    fn release_held(&mut self, now_ms: u64, batch: &BTreeSet<PageHash>, out: &mut Ingested) {
        let horizon = now_ms.saturating_add(MAX_CLOCK_SKEW_MS);
        let due: Vec<(u64, PageRef)> = self
            .held
            .keys()
            .take_while(|(timestamp, _)| *timestamp <= horizon)
            .copied()
            .collect();
        for key in due {
            let Some(page) = self.held.remove(&key) else {
                continue;
            };
            if self.page(&page.page_ref()).is_none() {
                self.ingest_one(page, batch, out);
            }
        }
    }

    /// End of an ingest: retry what the causal buffer could not take, apply the membership
    /// policy's storage bounds, and drop refused pages from what the driver must persist.
    fn finish(&mut self, out: &mut Ingested) {
        self.retry_unindexed();
        self.unlock();
        self.enforce_limits();
        out.stored.extend(self.settle_forks());
        if !self.changes.dropped.is_empty() {
            out.stored.retain(|p| {
                self.books
                    .get(&p.author())
                    .and_then(|b| b.get(p.seq()))
                    .is_some_and(|held| held.hash() == p.hash())
            });
        }
    }

    /// Cuts the books of former members back to what they may store (cut plus
    /// [`crate::membership::MAX_PAGES_PAST_CUT`]) and rebuilds the order if anything went.
    /// Repeats while a rebuild moves a cut (bounded: cuts only come from folded removes).
    fn enforce_limits(&mut self) {
        for _ in 0..4 {
            let limits: BTreeMap<UserId, u64> = self
                .books
                .keys()
                .filter_map(|author| match self.log.standing(author) {
                    standing @ Standing::Former { .. } => Some((*author, standing.store_limit())),
                    _ => None,
                })
                .collect();
            let mut dropped = Vec::new();
            for (author, limit) in &limits {
                if let Some(book) = self.books.get_mut(author)
                    && book.truncate(*limit)
                {
                    dropped.push((*author, *limit));
                }
            }
            if dropped.is_empty() && limits == self.cut_limits {
                return;
            }
            self.cut_limits = limits;
            self.changes.dropped.extend(dropped);
            self.reindex();
        }
    }

    /// A proof cut `author`'s book at `at`: what was committed or offered past it is decided
    /// again (the driver deletes it and stores what the book keeps there).
    fn after_cut(&mut self, author: &UserId, at: u64) {
        for lens in [&mut self.committed, &mut self.offered] {
            if let Some(len) = lens.get_mut(author) {
                *len = (*len).min(at);
            }
        }
    }

    /// Applies the fork rule to every forked book: each keeps, past its cut, the chain the
    /// room chose ([`Replica::kept_target`]). Returns the pages that became kept, for the
    /// driver to store; a book whose kept pages changed is named in
    /// [`DisplayChanges::dropped`] from the first changed seq, and the order is rebuilt.
    fn settle_forks(&mut self) -> Vec<VerifiedPage> {
        let mut kept = Vec::new();
        // A kept chain's own refs may anchor another forked book: repeat while one changes
        // (bounded; what is left is settled by the next call).
        for _ in 0..4 {
            if !self.forks_dirty {
                break;
            }
            self.forks_dirty = false;
            let forked: Vec<(UserId, u64)> = self
                .books
                .iter()
                .filter_map(|(author, book)| Some((*author, book.equivocation()?.seq())))
                .collect();
            self.fork_wants.clear();
            for (author, cut) in forked {
                let (target, wants) = self.kept_target(&author, cut);
                if let Some(wants) = wants {
                    self.fork_wants.insert(author, wants);
                }
                let Some(book) = self.books.get_mut(&author) else {
                    continue;
                };
                let Some(from) = book.keep(target.as_ref()) else {
                    continue;
                };
                kept.extend(book.range(from..book.len()).iter().cloned());
                self.after_cut(&author, from);
                self.changes.dropped.push((author, from));
                self.reindex();
            }
        }
        kept
    }

    /// The fork rule: which page past the cut at `cut` of `author`'s book the chain it keeps
    /// ends at, and the seqs still to fetch to decide it.
    ///
    /// Anchors are the references other members' pages held here make to the book at or past
    /// the cut. Taken in order of the referencing page's hash (never the forking author's to
    /// choose), the first anchor whose chain down to the cut is held decides the branch; then,
    /// repeatedly, the first anchor further up whose chain passes through the chosen page
    /// extends it. The result is a function of the pages held, so every peer holding the same
    /// pages keeps the same chain, whichever it saw first.
    fn kept_target(
        &self,
        author: &UserId,
        cut: u64,
    ) -> (Option<PageRef>, Option<std::ops::Range<u64>>) {
        let Some(book) = self.books.get(author) else {
            return (None, None);
        };
        let mut anchors: Vec<(PageHash, PageRef)> = self
            .anchors
            .get(author)
            .into_iter()
            .flatten()
            .filter(|(_, r)| r.seq >= cut)
            .copied()
            .collect();
        // One walk per referenced page, at its first (least) anchor.
        let mut seen = BTreeSet::new();
        anchors.retain(|(_, r)| seen.insert(*r));
        // Each anchor's chain is walked once: whether it is held whole decides both what to
        // fetch and where the kept chain may start.
        let whole: Vec<(PageRef, bool)> = anchors
            .iter()
            .map(|(_, r)| (*r, book.chain_to(r).is_some()))
            .collect();
        let wants = whole
            .iter()
            .filter(|(_, held)| !held)
            .map(|(r, _)| r.seq.saturating_add(1))
            .max()
            .map(|end| cut..end);
        let mut tip = whole.iter().find(|(_, held)| *held).map(|(r, _)| *r);
        while let Some(t) = tip {
            match whole
                .iter()
                .find(|(r, _)| r.seq > t.seq && book.descends(r, &t))
            {
                Some((r, _)) => tip = Some(*r),
                None => break,
            }
        }
        (tip, wants)
    }

    /// Whether the membership policy lets `page` be stored; a join request that displaces a
    /// held one (under [`crate::membership::MAX_PENDING_REQUESTS`]) drops the displaced book.
    fn admissible(&mut self, page: &VerifiedPage) -> Result<(), StoreRefusal> {
        let author = page.author();
        let standing = self.standing(&author);
        let is_request = page.seq() == 0
            && page.kind() == PageKind::Control
            && matches!(
                self.open(page),
                Ok(Body::Control(
                    ControlOp::JoinRequest { .. } | ControlOp::Create { .. }
                ))
            );
        may_store(standing, author, page.seq(), is_request)?;
        if standing != Standing::Unknown || self.causal.is_awaited(&page.page_ref()) {
            return Ok(());
        }
        // A request no held page depends on counts against the cap.
        let held = self.held_requests();
        if let Some(evicted) = admit_request(&held, author)?
            && let Some(book) = self.books.get_mut(&evicted)
            && book.truncate(0)
        {
            self.changes.dropped.push((evicted, 0));
            self.reindex();
        }
        Ok(())
    }

    fn ingest_one(
        &mut self,
        page: VerifiedPage,
        batch: &BTreeSet<crate::page::PageHash>,
        out: &mut Ingested,
    ) {
        let author = page.author();
        let seq = page.seq();
        if seq == 0 && !self.settle_root(&page, out) {
            return;
        }
        if let Err(refusal) = self.admissible(&page) {
            // Possibly admitted by a page we have not folded yet: asked again later.
            out.refused.push((page.page_ref(), refusal));
            return;
        }
        let book = self.books.entry(author).or_insert_with(|| {
            Book::new(BookId {
                room: self.room,
                author,
            })
        });
        match book.insert(page) {
            Ok(inserted) => {
                match inserted.status {
                    InsertStatus::Equivocation { proof, .. } => {
                        self.after_cut(&author, proof.seq());
                        out.equivocations.push(proof);
                        self.reindex();
                        return;
                    }
                    // A peer that sends both pages of the proof along with pages past the cut
                    // has it; one that sends pages past the cut otherwise does not.
                    InsertStatus::AboveFork => {
                        let has_proof = self.proof(&author).is_some_and(|proof| {
                            let (a, b) = proof.pages();
                            batch.contains(&a.hash()) && batch.contains(&b.hash())
                        });
                        if !has_proof {
                            out.peer_lacks_proof.insert(author);
                        }
                        self.forks_dirty = true;
                        return;
                    }
                    _ => {}
                }
                for stored in inserted.stored {
                    self.index(stored.page_ref());
                    out.stored.push(stored);
                }
                if !inserted.discarded.is_empty()
                    && let Some(b) = self.books.get(&author)
                {
                    out.refetch
                        .extend(b.gaps().into_iter().map(|g| (author, g)));
                }
            }
            Err(ValidationError::WrongPrev { .. }) => {
                // Either the peer's chain forked from ours (an equivocation we have not seen
                // yet: fetching its version of the predecessor reveals it) or it is garbage.
                out.refetch.push((author, seq.saturating_sub(1)..seq));
            }
            Err(fault) => out.faults.push(fault),
        }
    }

    /// The root rule at seq 0 ([`is_room_root`]): where the room's root is held, another page
    /// at seq 0 of its author's book is refused (returns false); where another page is held
    /// there, the root replaces it, and with it everything chained on it and any proof naming
    /// it. Either way nobody sees a fork of the root, whichever page arrived first.
    fn settle_root(&mut self, page: &VerifiedPage, out: &mut Ingested) -> bool {
        let author = page.author();
        let Some(held) = self.books.get(&author).and_then(|b| b.get(0)) else {
            return true;
        };
        if held.hash() == page.hash() {
            return true;
        }
        let held_root = is_room_root(&self.room, held);
        let new_root = is_room_root(&self.room, page);
        // A creator who signed two pages under the root's nonce gets the lower hash as the
        // root, on every peer, whichever arrived first.
        let replaces = new_root && (!held_root || page.hash() < held.hash());
        if held_root && !replaces {
            let r = page.page_ref();
            out.refused
                .push((r, StoreRefusal::NotRoot { author, page: r }));
            return false;
        }
        if replaces {
            let room = self.room;
            self.books
                .insert(author, Book::new(BookId { room, author }));
            self.changes.dropped.push((author, 0));
            self.reindex();
        }
        true
    }

    /// Feeds a stored page to the causal buffer and, when released, to the room fold.
    fn index(&mut self, r: PageRef) {
        self.note_anchors(&r);
        let Some(page) = self.page(&r) else { return };
        let timestamp = page.meta().timestamp_ms;
        let deps = self.deps_of(page);
        match self.causal.insert(r, timestamp, deps) {
            Ok(released) => {
                for rel in released {
                    self.fold(rel.key.clone());
                    self.changes.released.push(rel);
                }
            }
            Err(_) => {
                self.unindexed.insert(r);
            }
        }
    }

    /// Records the fork rule's anchors among the refs of stored page `r` (and notes that the
    /// rule must run again when `r` is one of a forked book's own pages).
    fn note_anchors(&mut self, r: &PageRef) {
        // A page of a forked book below its cut may complete a chain the rule can keep.
        if self.proof(&r.author).is_some() {
            self.forks_dirty = true;
        }
        let Some(page) = self.page(r) else { return };
        let hash = page.hash();
        let found: Vec<PageRef> = page
            .refs()
            .iter()
            .filter(|to| {
                to.author != r.author
                    && self
                        .proof(&to.author)
                        .is_some_and(|proof| to.seq >= proof.seq())
            })
            .copied()
            .collect();
        for to in found {
            if self
                .anchors
                .entry(to.author)
                .or_default()
                .insert((hash, to))
            {
                self.forks_dirty = true;
            }
        }
    }

    fn retry_unindexed(&mut self) {
        if self.unindexed.is_empty() || self.causal.pending_len() >= crate::causal::MAX_PENDING {
            return;
        }
        for r in std::mem::take(&mut self.unindexed) {
            self.index(r);
        }
    }

    /// A page's dependencies: its predecessor and its refs, minus refs into a frozen book at or
    /// beyond the fork (those pages are gone everywhere; see the module docs).
    fn deps_of(&self, page: &Page) -> Vec<PageRef> {
        let mut deps = Vec::with_capacity(page.refs().len() + 1);
        if let (Some(prev), Some(seq)) = (page.head().prev, page.seq().checked_sub(1)) {
            deps.push(PageRef {
                author: page.author(),
                seq,
                hash: prev,
            });
        }
        for r in page.refs() {
            // Past a fork only the pages the room keeps count (module docs).
            let frozen = self
                .books
                .get(&r.author)
                .and_then(Book::equivocation)
                .is_some_and(|proof| r.seq >= proof.seq())
                && self.page(r).is_none();
            // Pages of a former member beyond what may be stored are gone everywhere too.
            let past_cut = self.cut_limits.get(&r.author).is_some_and(|l| r.seq >= *l);
            // A seq-0 page of the creator's book other than the root never counts anywhere.
            let not_root = r.seq == 0
                && self
                    .books
                    .get(&r.author)
                    .and_then(|b| b.get(0))
                    .is_some_and(|held| held.hash() != r.hash && is_room_root(&self.room, held));
            if !frozen && !past_cut && !not_root {
                deps.push(*r);
            }
        }
        deps
    }

    fn fold(&mut self, key: Position) {
        let Some(page) = self.page(&key.id) else {
            return;
        };
        if page.kind() == PageKind::Keys {
            if let Ok(Body::Keys(body)) = self.open(page) {
                let (r, nonce) = (page.page_ref(), page.content().nonce);
                self.open_grants(&r, &nonce, &body);
                self.keys.insert(FoldKey::of(&key), (r, nonce, body));
            }
            return;
        }
        if page.kind() != PageKind::Control {
            return;
        }
        // A control page that does not decrypt is void: it cannot say anything.
        let op = match self.opened.get(&key.id) {
            Some(op) => op.clone(),
            None => {
                let op = match self.open(page) {
                    Ok(Body::Control(op)) => Some(op),
                    Err(ValidationError::Decrypt {
                        source: CryptoError::NoKey,
                        ..
                    }) => {
                        self.locked.insert(key.id);
                        return;
                    }
                    _ => None,
                };
                self.opened.insert(key.id, op.clone());
                op
            }
        };
        let Some(page) = self.page(&key.id) else {
            return;
        };
        if let Some(op) = op {
            let op = match op {
                ControlOp::LegacyRemove { member } => ControlOp::Remove {
                    member,
                    seen: self.legacy_seen(page, &member),
                },
                op => op,
            };
            let entry = ControlEntry {
                author: page.author(),
                seq: page.seq(),
                nonce: page.content().nonce,
                op,
            };
            // The verdict is kept in the log; a void operation is not an error of this peer.
            let _verdict = self.log.insert(FoldKey::of(&key), entry);
        }
    }

    /// What a legacy remove (no `seen` on the wire) cuts `member` at: one past the highest page
    /// of `member` that the remover's book referenced up to the remove page.
    fn legacy_seen(&self, remove: &Page, member: &UserId) -> u64 {
        let Some(book) = self.books.get(&remove.author()) else {
            return 0;
        };
        book.range(0..remove.seq().saturating_add(1))
            .iter()
            .flat_map(|p| p.refs())
            .filter(|r| r.author == *member)
            .map(|r| r.seq.saturating_add(1))
            .max()
            .unwrap_or(0)
    }

    /// Rebuilds the display order and room fold from the books (after a restore or a fork).
    fn reindex(&mut self) {
        self.changes.rebuilt = true;
        // A truncated book keeps only what it still holds committed: pages it takes later (a
        // book never regrows past a fork, but the rule must not depend on that) are committed
        // only when the driver says so.
        for (author, len) in &mut self.committed {
            *len = (*len).min(self.books.get(author).map_or(0, Book::len));
        }
        self.causal = CausalOrder::new();
        self.log = RoomLog::new(self.room);
        self.keys.clear();
        self.locked.clear();
        self.unindexed.clear();
        let books = &self.books;
        self.opened.retain(|r, _| {
            books
                .get(&r.author)
                .and_then(|b| b.get(r.seq))
                .is_some_and(|p| p.hash() == r.hash)
        });
        let all: Vec<PageRef> = self
            .books
            .values()
            .flat_map(|b| b.range(0..b.len()).iter().map(|p| p.page_ref()))
            .collect();
        self.anchors.clear();
        self.forks_dirty = true;
        for r in all {
            self.note_anchors(&r);
            let Some(page) = self.page(&r) else { continue };
            let timestamp = page.meta().timestamp_ms;
            let deps = self.deps_of(page);
            for rel in self.causal.insert_unbounded(r, timestamp, deps) {
                self.fold(rel.key);
            }
        }
    }

    /// Ranges of `author`'s book this replica lacks compared with a peer's head, plus the
    /// peer's tip when it is not the page held at its seq (that reveals a fork), the seqs just
    /// below a provisional proof ([`Book::fork_walk`]), and the seq of a lower proof the peer
    /// holds.
    pub fn wanted(&self, head: &BookHead) -> Vec<std::ops::Range<u64>> {
        let book = self.books.get(&head.author);
        let mut wanted = match book {
            None => {
                if head.len > 0 {
                    std::iter::once(0..head.len).collect()
                } else {
                    Vec::new()
                }
            }
            Some(book) => {
                let mut wanted = book.missing_below(head.len);
                // The peer's tip is not the page we hold at its seq: it holds another branch
                // (also below a fork we know of: then that branch forked lower still), and its
                // tip conflicts with ours.
                if let Some(seq) = head.len.checked_sub(1)
                    && let Some(ours) = book.get(seq)
                    && head.tip != Some(ours.hash())
                    && !wanted.iter().any(|r| r.contains(&seq))
                {
                    wanted.push(seq..head.len);
                }
                // The peer holds more of a book than we may store past its first page, and
                // ours does not begin with the room's root: its first page may be the root
                // (we are the creator's restored device and hold only a new request), which
                // would replace ours. One page, asked before the rest can be.
                if head.len > book.len()
                    && self.store_limit(&head.author) <= book.len()
                    && book.get(0).is_some_and(|p| !is_room_root(&self.room, p))
                    && !wanted.iter().any(|r| r.start == 0)
                {
                    wanted.insert(0, 0..1);
                }
                // Walking a provisional proof down to the fork point: the peer's pages just
                // below it, where we hold ours to compare them with (see `crate::book`).
                if let Some(walk) = book.fork_walk() {
                    let end = walk.end.min(book.len()).min(head.len);
                    if walk.start < end
                        && !wanted.iter().any(|r| r.start < end && walk.start < r.end)
                    {
                        wanted.push(walk.start..end);
                    }
                }
                wanted
            }
        };
        // Chains up to pages past a fork that other members referenced: the peer serves what it
        // holds of them, kept or not.
        if let Some(want) = self.fork_wants.get(&head.author)
            && (head.frozen_at.is_some() || head.len > want.start)
        {
            // It covers the peer's tip there, asked above when it conflicts with ours.
            wanted.retain(|r| r.end <= want.start || want.end <= r.start);
            wanted.push(want.clone());
        }
        if let Some(at) = head.frozen_at
            && book
                .and_then(Book::equivocation)
                .is_none_or(|proof| at < proof.seq())
        {
            // The peer holds a proof we lack, or a lower one: its answer for `at` carries both
            // pages.
            wanted.retain(|r| r.end <= at);
            wanted.push(at..at.saturating_add(1));
        }
        wanted
    }

    /// Pages of `author` in `range` for a peer with `right`, up to [`Replica::served_len`], at
    /// most `max_pages` and `max_bytes` (always at least one page if any may be served). A
    /// requested range over a frozen seq yields the proof, to a member only. Below a fork these
    /// are the pages of the branch this replica holds, which is what lets a peer on the other
    /// branch build lower proofs.
    pub fn pages_for(
        &self,
        right: SyncRight,
        author: &UserId,
        range: std::ops::Range<u64>,
        max_pages: usize,
        max_bytes: usize,
    ) -> Vec<Page> {
        let Some(book) = self.books.get(author) else {
            return Vec::new();
        };
        let mut out = Vec::new();
        let mut bytes = 0usize;
        let served = range.start..range.end.min(self.served_len(right, author));
        // Past a fork, to a member: what is kept, then the other pages held there (a peer
        // deciding the fork rule needs the chains others referenced), then the proof, so the
        // peer never takes pages past the cut for a book it believes whole.
        let proof = book.equivocation().filter(|_| right == SyncRight::Full);
        let above = proof
            .into_iter()
            .flat_map(|_| book.above_fork(range.clone()));
        let proof_room = usize::from(proof.is_some_and(|p| range.end > p.seq())) * 2;
        for page in book.range(served).iter().chain(above) {
            let len = page.encoded_len();
            if !out.is_empty() && (out.len() + proof_room >= max_pages || bytes + len > max_bytes) {
                break;
            }
            bytes += len;
            out.push(page.page().clone());
        }
        if let Some(proof) = proof
            && range.end > proof.seq()
            && out.len() + 2 <= max_pages.max(2)
        {
            let (a, b) = proof.pages();
            let fits = bytes + a.encoded_len() + b.encoded_len() <= max_bytes;
            if out.is_empty() || fits {
                for page in [a, b] {
                    if !out.iter().any(|p| p.hash() == page.hash()) {
                        out.push(page.clone());
                    }
                }
            }
        }
        out
    }

    /// The equivocation proof for `author`'s book, if any.
    pub fn proof(&self, author: &UserId) -> Option<&Equivocation> {
        self.books.get(author).and_then(Book::equivocation)
    }

    /// Number of pages held across all books.
    pub fn page_count(&self) -> u64 {
        self.books.values().map(Book::len).sum()
    }
}
