//! One room as the messenger holds it: core's [`Replica`] (which also tracks what is committed
//! to storage) plus what only the app knows — what peers reported holding, what the user has
//! read, and the names to show.
//!
//! # Calling contract (the browser driver)
//! 1. Build with [`RoomSession::create`] (new room), [`RoomSession::joining`] (an invite
//!    opened: nothing is written until [`RoomSession::request_due`] or
//!    [`RoomSession::settle_join`] says so, see the `joining` module) or [`RoomSession::restore`] (from
//!    storage).
//! 2. [`RoomSession::send_text`] (and every other local write) returns an [`Outgoing`]: store it
//!    with `Storage::write_pages` in one batch, then call [`RoomSession::mark_stored`]. Only then
//!    does the message show "saved on this device", and only then may peers see it.
//! 3. Pages from peers go through [`RoomSession::receive`]; it returns the pages to store
//!    (relaxed durability: they can be fetched again). They too are offered to other peers only
//!    once stored.
//! 4. Peers' head reports go to [`RoomSession::peer_reported`].
//! 5. Books core cut back (an equivocation proof truncated a forked book, or the membership
//!    policy dropped pages past a removed member's cap) are queued as [`BookCut`]s: before
//!    storing a room's unstored pages, apply [`RoomSession::pending_cuts`] with
//!    `Storage::cut_books` and report them with [`RoomSession::cuts_stored`].
//! 6. The UI reads [`RoomSession::pane`] and [`RoomSession::summary`].

use std::collections::BTreeMap;

use quire_core::crypto::{CryptoError, RoomSecret, direct_room_secret};
use quire_core::identity::{Identity, UserId};
use quire_core::membership::KeyDuty;
use quire_core::page::{
    Body, ControlOp, MessageBody, NONCE_LEN, Page, PageHash, PageKind, Profile, RoomId,
};
use quire_core::plan::{PresencePlan, presence_plan};
#[cfg(test)]
use quire_core::room::KeyWait;
use quire_core::room::{Replica, WriteError, direct_room_id, group_room_id};
use quire_core::sync::{Accepted, SyncSession};
use quire_core::validate::{Equivocation, ValidationError, VerifiedPage};

use super::chat::{MessageView, RoomPane, RoomSummary, preview};
use super::delivery::PeerHeads;
use super::ids::{book_key, room_key, user_key};
use super::unread::ReadMarker;

mod files;
mod joining;
mod roster;

use crate::storage::{BookCut, BookRecord, PageRecord, PeerHeadsRecord, ProofRecord};
pub use joining::{JoinStatus, PendingJoin};
pub use roster::INSPECTOR_PAGES_PER_BOOK;

/// A page the session wrote or accepted, ready for `PageBatch::push`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outgoing {
    /// The book as stored before this page.
    pub before: BookRecord,
    pub page: PageRecord,
    /// This page's hash: the book's new head.
    pub head: Vec<u8>,
}

/// One book as storage held it: its author, its pages in seq order, and the equivocation
/// proof it was cut at, if its author forked it.
pub type StoredBook = (UserId, Vec<Page>, Option<Equivocation>);

/// Why a message could not be sent.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SendError {
    #[error("you can't write in this room: {0}")]
    NotAllowed(#[from] WriteError),
    #[error("that person's id is not a valid key, so no private chat can be opened")]
    BadPeer,
    #[error("your earlier pages in this room are still on their way from its members")]
    Joining,
    #[error("there is no join request waiting to be written")]
    NoPendingJoin,
}

/// One room, for the messenger.
#[derive(Debug, Clone)]
pub struct RoomSession {
    me: UserId,
    replica: Replica,
    heads: PeerHeads,
    read: ReadMarker,
    /// The name to show while the room's create page has not arrived (a joiner knows it from
    /// the invite; the device keeps it in the room record).
    name_hint: String,
    /// Books whose stored copy must be cut back, by author: the seq from which stored pages
    /// go. A later cut of the same book merges into its entry, so the queue holds at most one
    /// entry per book core holds.
    cuts: BTreeMap<UserId, u64>,
    /// Each book as last seen, so a book that got shorter, began anew, or has a new (or lower)
    /// proof is noticed whichever call caused it.
    seen: BTreeMap<UserId, SeenBook>,
    /// How many times a cut was queued, so a driver can tell whether a call queued one.
    cuts_queued: u64,
    /// A join request not written yet (the `joining` module): nothing is written while it waits.
    join: Option<PendingJoin>,
}

/// What the inspector says about pages a peer sent that the room's membership rules kept out
/// (`None` when there were none): how many, and why the first was refused.
pub fn refusal_note(
    peer: &str,
    refused: &[(
        quire_core::page::PageRef,
        quire_core::membership::StoreRefusal,
    )],
) -> Option<String> {
    let ((page, why), rest) = refused.split_first()?;
    let more = match rest.len() {
        0 => String::new(),
        n => format!(" (and {n} more)"),
    };
    Some(format!(
        "Did not keep page {} of {} from {peer}: {why}{more}",
        page.seq,
        page.author.short()
    ))
}

/// A book as [`RoomSession`] last saw it.
#[derive(Debug, Clone, Default)]
struct SeenBook {
    len: u64,
    /// Hash of its first page.
    first: Option<PageHash>,
    proof: Option<Equivocation>,
    /// Hashes of the pages it keeps past its proof (core's fork rule may change them).
    past_cut: Vec<PageHash>,
}

impl RoomSession {
    /// Creates a group room named `name`. `nonce` must be fresh randomness: it seals the create
    /// page and derives the room id.
    pub fn create(
        identity: &Identity,
        name: &str,
        secret: &RoomSecret,
        now_ms: u64,
        nonce: [u8; NONCE_LEN],
    ) -> Result<(Self, Outgoing), SendError> {
        let room = group_room_id(&identity.user_id(), &nonce);
        let mut session = Self::empty(identity, room, secret);
        let body = Body::Control(ControlOp::Create {
            name: name.to_owned(),
            direct: None,
        });
        let out = session.write(identity, &body, now_ms, nonce)?;
        Ok((session, out))
    }

    /// Opens the 1:1 room with `peer` (either side may; both get the same room and key).
    pub fn create_direct(
        identity: &Identity,
        peer: &UserId,
        now_ms: u64,
        nonce: [u8; NONCE_LEN],
    ) -> Result<(Self, RoomSecret, Outgoing), SendError> {
        let me = identity.user_id();
        let secret = direct_room_secret(identity, peer).map_err(|_| SendError::BadPeer)?;
        let room = direct_room_id(&me, peer);
        let mut session = Self::empty(identity, room, &secret);
        let body = Body::Control(ControlOp::Create {
            name: String::new(),
            direct: Some(*peer),
        });
        let out = session.write(identity, &body, now_ms, nonce)?;
        Ok((session, secret, out))
    }

    /// Writes the user's display name into this room (a profile page), so members who never
    /// saw a join request from them (the creator's) know what to call them.
    pub fn set_profile(
        &mut self,
        identity: &Identity,
        display_name: &str,
        now_ms: u64,
        nonce: [u8; NONCE_LEN],
    ) -> Result<Outgoing, SendError> {
        let body = Body::Profile(Profile {
            display_name: display_name.to_owned(),
        });
        self.write(identity, &body, now_ms, nonce)
    }

    /// A room the user is joining (its pages arrive by sync).
    pub fn join(identity: &Identity, room: RoomId, secret: &RoomSecret) -> Self {
        Self::empty(identity, room, secret)
    }

    /// Rebuilds a session from stored books (each book's pages in seq order, and its proof).
    /// A forked book is shown cut at its proof; pages storage still holds past a cut are queued
    /// for deletion ([`Self::pending_cuts`]).
    pub fn restore(
        identity: &Identity,
        room: RoomId,
        secret: &RoomSecret,
        books: Vec<StoredBook>,
        read: ReadMarker,
    ) -> Result<Self, Box<ValidationError>> {
        let seen: BTreeMap<UserId, SeenBook> = books
            .iter()
            .map(|(author, pages, proof)| {
                let cut = proof.as_ref().map_or(u64::MAX, Equivocation::seq);
                let seen = SeenBook {
                    len: pages.len() as u64,
                    first: pages.first().map(Page::hash),
                    proof: proof.clone(),
                    past_cut: pages
                        .iter()
                        .filter(|p| p.seq() >= cut)
                        .map(Page::hash)
                        .collect(),
                };
                (*author, seen)
            })
            .collect();
        // Stored pages were verified before they were stored.
        let books = books.into_iter().map(|(author, pages, proof)| {
            (
                author,
                pages
                    .into_iter()
                    .map(VerifiedPage::assume_verified)
                    .collect(),
                proof,
            )
        });
        let replica = Replica::restore(room, secret, books)
            .map_err(Box::new)?
            .with_member(identity);
        let mut session = Self {
            me: identity.user_id(),
            replica,
            heads: PeerHeads::default(),
            read,
            name_hint: String::new(),
            cuts: BTreeMap::new(),
            seen,
            cuts_queued: 0,
            join: None,
        };
        session.note_cuts();
        Ok(session)
    }

    fn empty(identity: &Identity, room: RoomId, secret: &RoomSecret) -> Self {
        Self {
            me: identity.user_id(),
            replica: Replica::new(room, secret).with_member(identity),
            heads: PeerHeads::default(),
            read: ReadMarker::default(),
            name_hint: String::new(),
            cuts: BTreeMap::new(),
            seen: BTreeMap::new(),
            cuts_queued: 0,
            join: None,
        }
    }

    pub fn room(&self) -> RoomId {
        self.replica.room()
    }

    pub fn replica(&self) -> &Replica {
        &self.replica
    }

    /// Sets the name shown until the room's own create page says otherwise.
    pub fn set_name_hint(&mut self, name: &str) {
        name.clone_into(&mut self.name_hint);
    }

    /// Writes a text message. Returns the page to store; it shows as "sending" until
    /// [`Self::mark_stored`].
    pub fn send_text(
        &mut self,
        identity: &Identity,
        text: String,
        now_ms: u64,
        nonce: [u8; NONCE_LEN],
    ) -> Result<Outgoing, SendError> {
        let body = Body::Message(MessageBody::Text {
            text,
            reply_to: None,
        });
        self.write(identity, &body, now_ms, nonce)
    }

    /// Writes a room control operation (admit, remove, rename, leave, delete).
    pub fn control(
        &mut self,
        identity: &Identity,
        op: ControlOp,
        now_ms: u64,
        nonce: [u8; NONCE_LEN],
    ) -> Result<Outgoing, SendError> {
        self.write(identity, &Body::Control(op), now_ms, nonce)
    }

    fn write(
        &mut self,
        identity: &Identity,
        body: &Body,
        now_ms: u64,
        nonce: [u8; NONCE_LEN],
    ) -> Result<Outgoing, SendError> {
        if self.join.is_some() {
            return Err(SendError::Joining);
        }
        let before = self.book_record(&self.me);
        let page = self.replica.write(identity, body, now_ms, nonce)?;
        // The user's own removal of a member may cut that member's book back.
        self.note_cuts();
        Ok(self.outgoing(before, &page))
    }

    /// Whether this device owes the room a keys page now: an owner settles every duty (a
    /// re-key after a removal or a leave, grants to new members) as soon as it sees it; any
    /// other member re-keys only when it is about to write (`writing`) and cannot otherwise,
    /// and shares at once the secret of an epoch off the chain that it wrote under
    /// (`KeyDuty::Share`: only it may hold it).
    pub fn owes_keys(&self, writing: bool) -> bool {
        if self.join.is_some() {
            return false;
        }
        match self.replica.key_duty() {
            None => false,
            Some(_) if self.replica.state().is_owner(&self.me) => true,
            Some(KeyDuty::Share { .. }) => true,
            Some(duty) => writing && matches!(duty, KeyDuty::Rekey { .. }),
        }
    }

    /// Writes one keys page this device owes ([`Self::owes_keys`]); `fresh` is a new random
    /// secret (used only by a re-key) and `nonce` fresh randomness. Returns whether a page was
    /// written; it is stored and offered like any own page.
    pub fn settle_keys(
        &mut self,
        identity: &Identity,
        fresh: RoomSecret,
        now_ms: u64,
        nonce: [u8; NONCE_LEN],
    ) -> Result<bool, SendError> {
        let written = self.replica.write_keys(identity, fresh, now_ms, nonce)?;
        self.note_cuts();
        Ok(written.is_some())
    }

    /// Where this device announces itself for this room and where it looks for the others at
    /// `now_ms` ([`quire_core::plan::presence_plan`]): keyed by the newest epoch secret it
    /// holds, so someone who knows only the room id, or a key the room has replaced, finds
    /// nobody.
    pub fn presence_plan(&self, now_ms: u64) -> Option<PresencePlan> {
        let newest = self.replica.newest_secret()?;
        Some(presence_plan(
            &self.room(),
            newest,
            self.replica.original_secret(),
            now_ms,
        ))
    }

    /// Pages from a peer: verified and placed by core. `now_ms` is this device's wall clock
    /// (core holds back pages stamped too far after it). Returns what to store, in order.
    pub fn receive(&mut self, pages: Vec<Page>, now_ms: u64) -> Vec<Outgoing> {
        let mut lengths: BTreeMap<UserId, u64> = self
            .replica
            .books()
            .map(|(author, book)| (*author, book.len()))
            .collect();
        let ingested = self.replica.ingest_at(pages, now_ms);
        self.note_cuts();
        let mut out = Vec::with_capacity(ingested.stored.len());
        for page in &ingested.stored {
            let author = page.author();
            let len = lengths.entry(author).or_insert(0);
            let before = BookRecord {
                length: *len,
                ..self.book_record_at(&author, *len)
            };
            *len += 1;
            out.push(self.outgoing(before, page));
        }
        out
    }

    /// Releases pages core held back because their timestamp was too far ahead of this
    /// device's clock, once `now_ms` has caught up. They are stored like any received page
    /// (the persister, [`Self::unstored`]) and offered to peers once committed. Returns
    /// whether anything is new to store (pages or cuts).
    pub fn release_held(&mut self, now_ms: u64) -> bool {
        if self.replica.poll_timeout().is_none_or(|at| at > now_ms) {
            return false;
        }
        let released = self.replica.handle_timeout(now_ms);
        let cut = self.note_cuts();
        cut || !released.stored.is_empty()
    }

    /// `author`'s pages `0..len` are committed to storage. Returns the pages this committed
    /// (each book's in seq order): announce them to the room's peers, who may now see them.
    pub fn mark_stored(&mut self, author: UserId, len: u64) -> Vec<VerifiedPage> {
        self.replica.mark_committed(&author, len)
    }

    /// Whether any page is held in memory but not yet committed to storage.
    pub fn has_unstored(&self) -> bool {
        self.replica.uncommitted().next().is_some()
    }

    /// Every page held in memory but not yet committed to storage, each book's in seq order
    /// (so they can go into one `PageBatch`). Pages arrive from sync and local writes at any
    /// time; the persister stores this delta, so storage order always follows book order.
    pub fn unstored(&self) -> Vec<Outgoing> {
        let mut out = Vec::new();
        let mut before: Option<BookRecord> = None;
        for page in self.replica.uncommitted() {
            let author = page.author();
            let same_book = before
                .as_ref()
                .is_some_and(|b| b.author == user_key(&author));
            if !same_book {
                let from = self.replica.committed_len(&author);
                before = Some(self.book_record_at(&author, from));
            }
            if let Some(before) = &before {
                out.push(self.outgoing(before.clone(), page));
            }
        }
        out
    }

    /// Feeds one frame received on `sync` (this room's session with one peer) to the replica.
    /// Persist with [`Self::pending_cuts`] and [`Self::unstored`] afterwards. Proofs it
    /// brought are queued as cuts even when the frame also held a bad page (which ends the
    /// sync and leaves `Accepted` empty, though core kept the proof).
    pub fn sync_bytes(&mut self, sync: &mut SyncSession, bytes: &[u8], now: u64) -> Accepted {
        let accepted = sync.handle_bytes(bytes, &mut self.replica, now);
        self.note_cuts();
        self.note_join_heads(sync);
        accepted
    }

    /// Queues a cut for every book that got shorter (core dropped its end) or has a new or
    /// lower proof since last looked at. Returns whether any was queued.
    fn note_cuts(&mut self) -> bool {
        let mut queued = false;
        for (author, book) in self.replica.books() {
            let len = book.len();
            let first = book.get(0).map(|p| p.hash());
            let proof = book.equivocation();
            let past_cut: Vec<PageHash> = proof.map_or(Vec::new(), |p| {
                book.range(p.seq()..len).iter().map(|p| p.hash()).collect()
            });
            let seen = self.seen.entry(*author).or_default();
            let mut from = None;
            // The fork rule chose other pages past the cut: stored ones from the first that
            // changed go (growing the kept chain changes none).
            if let Some(proof) = proof
                && seen.proof.as_ref() == Some(proof)
            {
                let same = seen
                    .past_cut
                    .iter()
                    .zip(&past_cut)
                    .take_while(|(a, b)| a == b)
                    .count();
                if same < seen.past_cut.len() {
                    from = Some(proof.seq() + same as u64);
                }
            }
            if len < seen.len {
                from = Some(from.map_or(len, |f: u64| f.min(len)));
            }
            // The room's root replaced another first page (core's root rule): everything
            // stored of the book was of the other branch.
            if seen.first.is_some() && first.is_some() && seen.first != first {
                from = Some(0);
            }
            if let Some(proof) = proof
                && seen.proof.as_ref() != Some(proof)
            {
                from = Some(from.unwrap_or(len).min(proof.seq()));
                seen.proof = Some(proof.clone());
            }
            seen.len = len;
            seen.first = first.or(seen.first);
            seen.past_cut = past_cut;
            if let Some(from) = from {
                let cut = self.cuts.entry(*author).or_insert(from);
                *cut = (*cut).min(from);
                queued = true;
            }
        }
        if queued {
            self.cuts_queued += 1;
        }
        queued
    }

    /// A counter that grows whenever a cut is queued: compare it before and after a call to
    /// see whether the call left something new to cut in storage.
    pub fn cuts_queued(&self) -> u64 {
        self.cuts_queued
    }

    /// The books whose stored copy must be cut back, as storage applies them: for each, the
    /// book as it stands after the cut and its proof (if a fork cut it). Apply them before
    /// storing this room's [`Self::unstored`] pages, then call [`Self::cuts_stored`].
    pub fn pending_cuts(&self) -> Vec<BookCut> {
        self.cuts
            .iter()
            .map(|(author, from)| self.cut_of(author, *from))
            .collect()
    }

    /// Whether any cut waits to be stored.
    pub fn has_pending_cuts(&self) -> bool {
        !self.cuts.is_empty()
    }

    /// `done` (from [`Self::pending_cuts`]) is committed. A cut that changed meanwhile (a lower
    /// proof arrived) stays queued and is applied again, which is harmless.
    pub fn cuts_stored(&mut self, done: &[BookCut]) {
        let finished: Vec<UserId> = self
            .cuts
            .iter()
            .filter(|(author, from)| done.contains(&self.cut_of(author, **from)))
            .map(|(author, _)| *author)
            .collect();
        for author in finished {
            self.cuts.remove(&author);
        }
    }

    fn cut_of(&self, author: &UserId, from: u64) -> BookCut {
        // Stored pages are a prefix of what the book held, so any stored page at or past the
        // book's length now was cut off too: the cut reaches down to that length.
        let held = self.replica.book(author).map_or(0, |b| b.len());
        BookCut {
            book: self.book_record_at(author, from.min(held)),
            proof: self.replica.proof(author).map(|p| self.proof_record(p)),
        }
    }

    fn proof_record(&self, proof: &Equivocation) -> ProofRecord {
        let (first, second) = proof.pages();
        ProofRecord {
            book: book_key(&proof.book()),
            room: room_key(&self.room()),
            seq: proof.seq(),
            first: first.encode(),
            second: second.encode(),
        }
    }

    /// Runs a sync session's timer against this room's replica.
    pub fn sync_timeout(&self, sync: &mut SyncSession, now: u64) {
        sync.handle_timeout(&self.replica, now);
    }

    /// A new sync session for this room with `peer`, who is served only what the room's
    /// membership lets it have.
    pub fn sync_session(&self, peer: UserId, now: u64) -> SyncSession {
        SyncSession::new(&self.replica, peer, now)
    }

    /// Pushes newly servable pages on a sync session (what its peer may have of them).
    pub fn announce(&self, sync: &mut SyncSession, pages: &[VerifiedPage], now: u64) {
        sync.announce(&self.replica, pages, now);
    }

    /// Pushes an equivocation proof on a sync session (to a member only).
    pub fn announce_proof(&self, sync: &mut SyncSession, proof: &Equivocation, now: u64) {
        sync.announce_proof(&self.replica, proof, now);
    }

    /// Pages that became servable to peers since last asked: committed, and placed in the
    /// room's order here (a page stored before what it depends on goes out once that arrives).
    pub fn take_servable(&mut self) -> Vec<VerifiedPage> {
        self.replica.take_servable()
    }

    /// A peer said which book lengths it holds.
    pub fn peer_reported(
        &mut self,
        peer: UserId,
        lengths: impl IntoIterator<Item = (UserId, u64)>,
        now_ms: u64,
    ) -> bool {
        self.heads.record(peer, lengths, now_ms)
    }

    /// What peers reported holding, as stored records (so delivery ticks and "last seen"
    /// survive a reload).
    pub fn peer_heads_records(&self) -> Vec<PeerHeadsRecord> {
        let room = self.room();
        self.heads
            .reports()
            .map(|(peer, lengths, seen_at_ms)| PeerHeadsRecord {
                room: room_key(&room),
                peer: user_key(peer),
                lengths: lengths
                    .map(|(author, len)| {
                        (
                            book_key(&quire_core::page::BookId {
                                room,
                                author: *author,
                            }),
                            len,
                        )
                    })
                    .collect(),
                seen_at_ms: seen_at_ms as f64,
            })
            .collect()
    }

    /// Takes back stored peer reports (unreadable ones are skipped: they are only hints).
    pub fn restore_peer_heads(&mut self, records: &[PeerHeadsRecord]) {
        for record in records {
            let Ok(peer) = super::ids::parse_user_key(&record.peer) else {
                continue;
            };
            let lengths: Vec<(UserId, u64)> = record
                .lengths
                .iter()
                .filter_map(|(book, len)| {
                    super::ids::parse_book_key(book)
                        .ok()
                        .map(|b| (b.author, *len))
                })
                .collect();
            self.heads
                .record(peer, lengths, record.seen_at_ms.max(0.0) as u64);
        }
    }

    /// When `peer`'s device last reported to this one (ms since the Unix epoch).
    pub fn last_seen_ms(&self, peer: &UserId) -> Option<u64> {
        self.heads.last_seen_ms(peer)
    }

    /// The room is on screen: everything in it is read. Returns whether to save the markers.
    pub fn mark_all_read(&mut self) -> bool {
        let lengths: Vec<_> = self
            .replica
            .books()
            .map(|(author, book)| (*author, book.len()))
            .collect();
        self.read.mark_read(lengths)
    }

    pub fn read_marker(&self) -> &ReadMarker {
        &self.read
    }

    /// Messages that count, in display order.
    pub fn messages(&self) -> Vec<MessageView> {
        let members: Vec<UserId> = self.replica.state().members().keys().copied().collect();
        let names = self.names();
        let saved_len = self.replica.committed_len(&self.me);
        // Only a room with files needs its holders (they open every file and holding page).
        let mut holders = None;
        let mut out = Vec::new();
        for position in self.replica.display_order() {
            if !self.replica.counts(position) {
                continue;
            }
            let Some(page) = self.replica.page(&position.id) else {
                continue;
            };
            if !matches!(page.kind(), PageKind::Message | PageKind::File) {
                continue;
            }
            let mut file = None;
            let text = match self.replica.open(page.page()) {
                Ok(Body::Message(MessageBody::Text { text, .. })) => text,
                Ok(Body::File(body)) => {
                    let holders = holders.get_or_insert_with(|| self.holders());
                    file = Some(self.file_view(&body, holders));
                    body.description
                }
                // Edits and retractions are applied by later versions of this view.
                Ok(_) => continue,
                // Sealed under an epoch this device was not given: a member waits for an
                // owner's grant; someone who is no longer a member was not meant to read it.
                Err(ValidationError::Decrypt {
                    source: CryptoError::NoKey,
                    ..
                }) => {
                    if !self.replica.state().is_member(&self.me) {
                        continue;
                    }
                    "(waiting for the room key to read this)".to_owned()
                }
                // A body that does not open is shown as such rather than hidden.
                Err(_) => "(this message could not be decrypted)".to_owned(),
            };
            let author = page.author();
            let own = author == self.me;
            let seq = page.seq();
            out.push(MessageView {
                key: format!("{}.{seq}", user_key(&author)),
                author_name: names
                    .get(&author)
                    .cloned()
                    .unwrap_or_else(|| author.short()),
                own,
                text,
                timestamp_ms: page.meta().timestamp_ms,
                delivery: own.then(|| self.heads.delivery(&author, seq, seq < saved_len, &members)),
                file,
            });
        }
        out
    }

    pub fn pane(&self) -> RoomPane {
        let state = self.replica.state();
        RoomPane::Open {
            name: self.title(),
            messages: self.messages(),
            read_only: state.is_deleted() || !state.is_member(&self.me),
            forks: self.fork_notices(),
        }
    }

    pub fn summary(&self) -> RoomSummary {
        let messages = self.messages();
        let keys: Vec<(UserId, u64)> = self
            .replica
            .display_order()
            .filter(|p| self.replica.counts(p))
            .filter_map(|p| self.replica.page(&p.id))
            .filter(|p| matches!(p.kind(), PageKind::Message | PageKind::File))
            .map(|p| (p.author(), p.seq()))
            .collect();
        let state = self.replica.state();
        RoomSummary {
            id: room_key(&self.room()),
            name: self.title(),
            unread: self.read.unread(&self.me, &keys),
            preview: messages
                .last()
                .map(|m| match &m.file {
                    Some(file) => preview(&format!("📎 {}", file.name)),
                    None => preview(&m.text),
                })
                .unwrap_or_default(),
            read_only: state.is_deleted() || !state.is_member(&self.me),
        }
    }

    fn book_record(&self, author: &UserId) -> BookRecord {
        let len = self.replica.book(author).map_or(0, |b| b.len());
        self.book_record_at(author, len)
    }

    fn book_record_at(&self, author: &UserId, length: u64) -> BookRecord {
        let book = quire_core::page::BookId {
            room: self.room(),
            author: *author,
        };
        let head = match length
            .checked_sub(1)
            .and_then(|s| self.replica.book(author).and_then(|b| b.get(s)))
        {
            Some(page) => page.hash().0.to_vec(),
            None => Vec::new(),
        };
        BookRecord {
            id: book_key(&book),
            room: room_key(&book.room),
            author: user_key(author),
            length,
            head,
        }
    }

    fn outgoing(&self, before: BookRecord, page: &VerifiedPage) -> Outgoing {
        Outgoing {
            page: PageRecord {
                book: before.id.clone(),
                seq: page.seq(),
                bytes: page.page().encode(),
            },
            head: page.hash().0.to_vec(),
            before,
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::model::Delivery;
    use quire_core::page::Role;

    /// The receiver's clock in these tests: later than every page's timestamp.
    pub(super) const TEST_NOW_MS: u64 = 1_000_000;

    pub(super) fn person(n: u8) -> Identity {
        Identity::from_secret_bytes([n; 32]).unwrap()
    }

    pub(super) fn pages(out: &[Outgoing]) -> Vec<Page> {
        out.iter()
            .map(|o| Page::decode(&o.page.bytes).unwrap())
            .collect()
    }

    /// Ada creates "Book club", admits Bo and says "hello": the room and those three pages.
    pub(super) fn club_with_bo() -> (Identity, Identity, RoomSecret, RoomSession, [Outgoing; 3]) {
        let (ada, bo) = (person(1), person(2));
        let secret = RoomSecret::from_bytes([7; 32]);
        let (mut room, create) =
            RoomSession::create(&ada, "Book club", &secret, 1_000, [1; 24]).unwrap();
        let admit = room
            .control(
                &ada,
                ControlOp::Admit {
                    member: bo.user_id(),
                    role: Role::Member,
                },
                1_001,
                [2; 24],
            )
            .unwrap();
        let hello = room
            .send_text(&ada, "hello".into(), 1_002, [3; 24])
            .unwrap();
        (ada, bo, secret, room, [create, admit, hello])
    }

    fn texts(session: &RoomSession) -> Vec<(String, Option<Delivery>)> {
        session
            .messages()
            .into_iter()
            .map(|m| (m.text, m.delivery))
            .collect()
    }

    #[test]
    fn a_sent_message_is_sending_until_stored_then_delivered_when_a_member_reports_it() {
        let (ada, bo) = (person(1), person(2));
        let secret = RoomSecret::from_bytes([7; 32]);
        let (mut room, create) =
            RoomSession::create(&ada, "Book club", &secret, 1_000, [1; 24]).unwrap();
        assert_eq!((create.before.length, create.page.seq), (0, 0));
        room.mark_stored(ada.user_id(), 1);
        let admit = room
            .control(
                &ada,
                ControlOp::Admit {
                    member: bo.user_id(),
                    role: Role::Member,
                },
                1_001,
                [2; 24],
            )
            .unwrap();
        room.mark_stored(ada.user_id(), admit.page.seq + 1);

        let hello = room
            .send_text(&ada, "hello".into(), 1_002, [3; 24])
            .unwrap();
        assert_eq!(
            hello.before.length, 2,
            "stored after the create and admit pages"
        );
        assert_eq!(
            texts(&room),
            [("hello".to_string(), Some(Delivery::Sending))]
        );
        room.mark_stored(ada.user_id(), hello.page.seq + 1);
        assert_eq!(texts(&room), [("hello".to_string(), Some(Delivery::Saved))]);
        room.peer_reported(bo.user_id(), [(ada.user_id(), 3)], 2_000);
        assert_eq!(
            texts(&room),
            [(
                "hello".to_string(),
                Some(Delivery::OnDevices { on: 1, of: 1 })
            )]
        );
        assert_eq!(
            room.pane(),
            RoomPane::Open {
                name: "Book club".into(),
                messages: room.messages(),
                read_only: false,
                forks: Vec::new(),
            }
        );
    }

    #[test]
    fn a_joining_member_receives_the_history_and_sees_it_unread() {
        let (_, bo, secret, mut room, history) = club_with_bo();

        let mut bos = RoomSession::join(&bo, room.room(), &secret);
        let to_store = bos.receive(pages(&history), TEST_NOW_MS);
        assert_eq!(
            to_store
                .iter()
                .map(|o| (o.before.length, o.page.seq))
                .collect::<Vec<_>>(),
            [(0, 0), (1, 1), (2, 2)]
        );
        assert_eq!(
            to_store[2].page.bytes, history[2].page.bytes,
            "pages are stored exactly as signed"
        );
        let view = bos.messages();
        assert_eq!(
            (view[0].text.as_str(), view[0].own, view[0].delivery),
            ("hello", false, None)
        );
        assert_eq!(bos.summary().name, "Book club");
        assert_eq!(bos.summary().unread, 1);
        assert!(bos.mark_all_read());
        assert_eq!(bos.summary().unread, 0);

        // Bo is a member now and can answer.
        let reply = bos.send_text(&bo, "hi Ada".into(), 1_003, [4; 24]).unwrap();
        room.receive(pages(&[reply]), TEST_NOW_MS);
        assert_eq!(
            room.messages()
                .iter()
                .map(|m| m.text.as_str())
                .collect::<Vec<_>>(),
            ["hello", "hi Ada"]
        );
        assert_eq!(room.summary().unread, 1, "Bo's reply is unread for Ada");
    }

    #[test]
    fn a_restored_room_shows_the_same_messages_as_saved() {
        let ada = person(1);
        let secret = RoomSecret::from_bytes([7; 32]);
        let (mut room, create) =
            RoomSession::create(&ada, "Notes", &secret, 1_000, [1; 24]).unwrap();
        let note = room
            .send_text(&ada, "remember milk".into(), 1_001, [2; 24])
            .unwrap();
        let stored = vec![(ada.user_id(), pages(&[create, note]), None)];
        let back = RoomSession::restore(&ada, room.room(), &secret, stored, ReadMarker::default())
            .unwrap();
        assert_eq!(
            texts(&back),
            [("remember milk".to_string(), Some(Delivery::Saved))]
        );
    }

    /// Ada's book in Bo's session as stored: the first `n` of `history` and `proof`.
    fn stored_book(
        ada: &Identity,
        history: &[Outgoing],
        n: usize,
        proof: Option<Equivocation>,
    ) -> Vec<StoredBook> {
        vec![(ada.user_id(), pages(&history[..n]), proof)]
    }

    #[test]
    fn the_fork_notice_says_after_which_message_the_authors_pages_are_hidden() {
        let (ada, bo, secret, mut room, history) = club_with_bo();
        let later = room
            .send_text(&ada, "see you at seven".into(), 1_003, [5; 24])
            .unwrap();
        let history: Vec<Outgoing> = history.into_iter().chain([later]).collect();
        // Ada's other device, holding her first three pages, writes a different page 3.
        let books = stored_book(&ada, &history, 3, None);
        let mut other =
            RoomSession::restore(&ada, room.room(), &secret, books, ReadMarker::default()).unwrap();
        let other_page = other
            .send_text(&ada, "see you at eight".into(), 1_003, [6; 24])
            .unwrap();
        let mut bos = RoomSession::join(&bo, room.room(), &secret);
        bos.receive(pages(&history), TEST_NOW_MS);
        bos.receive(pages(&[other_page]), TEST_NOW_MS);
        let who = ada.user_id().short();
        assert!(
            matches!(bos.pane(), RoomPane::Open { forks, .. } if forks == [format!(
                "{who}'s device wrote two different histories, so what {who} wrote after \
                 “hello” is hidden."
            )]),
            "the notice names the last message still shown: {:?}",
            bos.fork_notices()
        );
        // The inspector names the fork point on Ada's book, and nothing on Bo's.
        let inspected = bos.inspect();
        let forked: Vec<_> = inspected
            .books
            .iter()
            .map(|b| (b.author_name.clone(), b.forked_at))
            .collect();
        assert!(
            forked.contains(&(who.clone(), Some((3, true)))),
            "{forked:?}"
        );
        assert!(inspected.books.iter().all(|b| b.cut_at.is_none()));
    }

    /// Ada signs a second page 2 ("goodbye") on the same two pages as "hello".
    fn forked_hello(ada: &Identity, secret: &RoomSecret, history: &[Outgoing]) -> Outgoing {
        let room = Page::decode(&history[0].page.bytes).unwrap().book().room;
        let books = stored_book(ada, history, 2, None);
        let mut other_branch =
            RoomSession::restore(ada, room, secret, books, ReadMarker::default()).unwrap();
        other_branch
            .send_text(ada, "goodbye".into(), 1_002, [4; 24])
            .unwrap()
    }

    fn proof_of(record: &ProofRecord) -> Equivocation {
        let decode = |bytes: &[u8]| Page::decode(bytes).unwrap();
        Equivocation::verify(decode(&record.first), decode(&record.second)).unwrap()
    }

    #[test]
    fn a_forked_page_bo_built_on_stays_shown_stored_and_kept_across_a_reload() {
        let (ada, bo, secret, room, history) = club_with_bo();
        let goodbye = forked_hello(&ada, &secret, &history);
        let mut bos = RoomSession::join(&bo, room.room(), &secret);
        bos.receive(pages(&history), TEST_NOW_MS);
        bos.mark_stored(ada.user_id(), 3);
        let reply = bos.send_text(&bo, "hi Ada".into(), 1_010, [9; 24]).unwrap();
        bos.mark_stored(bo.user_id(), 1);

        bos.receive(pages(std::slice::from_ref(&goodbye)), TEST_NOW_MS);
        let shown: Vec<String> = bos.messages().into_iter().map(|m| m.text).collect();
        assert_eq!(shown, ["hello", "hi Ada"], "Bo built on hello: it stays");
        let cuts = bos.pending_cuts();
        assert_eq!(cuts.len(), 1);
        assert_eq!(
            cuts[0].book.length, 2,
            "stored pages from the fork on are replaced"
        );
        let again: Vec<u64> = bos
            .unstored()
            .iter()
            .filter(|o| o.page.book == history[2].page.book)
            .map(|o| o.page.seq)
            .collect();
        assert_eq!(again, [2], "the kept page is stored again after the cut");
        let who = ada.user_id().short();
        assert!(
            matches!(bos.pane(), RoomPane::Open { forks, .. } if forks == [format!(
                "{who}'s device wrote two different histories, so what {who} wrote after \
                 “hello” is hidden."
            )]),
            "{:?}",
            bos.fork_notices()
        );

        // A reload: what storage holds after the cut and the store (Ada's three pages, the
        // proof, Bo's reply) loads with hello kept and nothing left to store or cut.
        let proof = proof_of(cuts[0].proof.as_ref().unwrap());
        let mut stored = stored_book(&ada, &history, 3, Some(proof.clone()));
        stored.push((bo.user_id(), pages(std::slice::from_ref(&reply)), None));
        let back =
            RoomSession::restore(&bo, room.room(), &secret, stored, ReadMarker::default()).unwrap();
        let shown: Vec<String> = back.messages().into_iter().map(|m| m.text).collect();
        assert_eq!(shown, ["hello", "hi Ada"]);
        assert!(!back.has_pending_cuts());
        assert!(back.unstored().is_empty());

        // Without Bo's reply nobody built on hello: on load it is cut from storage.
        let lone = RoomSession::restore(
            &bo,
            room.room(),
            &secret,
            stored_book(&ada, &history, 3, Some(proof)),
            ReadMarker::default(),
        )
        .unwrap();
        assert!(lone.messages().is_empty());
        let cuts = lone.pending_cuts();
        assert_eq!(cuts.len(), 1);
        assert_eq!(cuts[0].book.length, 2);
    }

    #[test]
    fn an_equivocation_received_is_queued_for_storage_and_a_restore_keeps_the_book_cut() {
        let (ada, bo, secret, room, history) = club_with_bo();
        let goodbye = forked_hello(&ada, &secret, &history);
        let mut bos = RoomSession::join(&bo, room.room(), &secret);
        bos.receive(pages(&history), TEST_NOW_MS);
        bos.mark_stored(ada.user_id(), 3);
        assert!(!bos.has_pending_cuts(), "an honest book needs no cut");
        let queued = bos.cuts_queued();

        bos.receive(pages(std::slice::from_ref(&goodbye)), TEST_NOW_MS);
        assert!(
            bos.cuts_queued() > queued,
            "the driver can tell a cut was queued"
        );
        let cuts = bos.pending_cuts();
        assert_eq!(cuts.len(), 1);
        let cut = &cuts[0];
        assert_eq!(
            (cut.book.length, &cut.book.head),
            (2, &history[1].head),
            "the book is stored cut at the fork, its head the page below it"
        );
        let proof = cut
            .proof
            .as_ref()
            .expect("the proof is stored with the cut");
        assert_eq!((proof.seq, &proof.book), (2, &cut.book.id));
        let mut both = [proof.first.clone(), proof.second.clone()];
        both.sort();
        let mut expected = [history[2].page.bytes.clone(), goodbye.page.bytes.clone()];
        expected.sort();
        assert_eq!(both, expected, "both signed pages are kept");
        assert!(bos.messages().is_empty(), "hello is gone with the fork");
        let who = ada.user_id().short();
        assert!(
            matches!(bos.pane(), RoomPane::Open { forks, .. } if forks == [format!(
                "{who}'s device wrote two different histories, so what {who} wrote from that \
                 point on is hidden."
            )]),
            "the room says whose history forked and what that hides"
        );

        bos.cuts_stored(&cuts);
        assert!(!bos.has_pending_cuts());
        assert!(bos.unstored().is_empty());

        // A reload from what storage now holds: two pages and the proof.
        let proof = proof_of(proof);
        let mut back = RoomSession::restore(
            &bo,
            room.room(),
            &secret,
            stored_book(&ada, &history, 2, Some(proof)),
            ReadMarker::default(),
        )
        .unwrap();
        assert_eq!(back.replica().book(&ada.user_id()).unwrap().len(), 2);
        assert!(back.messages().is_empty(), "the book stays cut at the fork");
        assert!(
            !back.has_pending_cuts(),
            "the stored proof is not stored again"
        );
        // A peer on either branch offers the forked page again: it does not come back.
        back.receive(pages(&history[2..]), TEST_NOW_MS);
        assert!(back.messages().is_empty());
        assert!(back.unstored().is_empty());
        assert!(!back.has_pending_cuts());
    }

    #[test]
    fn a_restore_with_pages_stored_past_the_proof_queues_their_deletion() {
        let (ada, bo, secret, room, history) = club_with_bo();
        let goodbye = forked_hello(&ada, &secret, &history);
        let mut bos = RoomSession::join(&bo, room.room(), &secret);
        bos.receive(pages(&history), TEST_NOW_MS);
        bos.receive(pages(&[goodbye]), TEST_NOW_MS);
        let proof = proof_of(bos.pending_cuts()[0].proof.as_ref().unwrap());

        let back = RoomSession::restore(
            &bo,
            room.room(),
            &secret,
            stored_book(&ada, &history, 3, Some(proof)),
            ReadMarker::default(),
        )
        .unwrap();
        assert!(back.messages().is_empty());
        let cuts = back.pending_cuts();
        assert_eq!(
            cuts.iter().map(|c| c.book.length).collect::<Vec<_>>(),
            [2],
            "the page past the fork is deleted from storage"
        );
    }

    #[test]
    fn refusals_are_told_with_the_page_and_the_reason() {
        use quire_core::membership::StoreRefusal;
        assert_eq!(refusal_note("peer", &[]), None);
        let ada = person(1).user_id();
        let page = quire_core::page::PageRef {
            author: ada,
            seq: 0,
            hash: quire_core::page::PageHash([1; 32]),
        };
        let not_root = StoreRefusal::NotRoot { author: ada, page };
        let note = refusal_note(
            "12D3Koo",
            &[(page, not_root.clone()), (page, not_root.clone())],
        )
        .unwrap();
        assert_eq!(
            note,
            format!(
                "Did not keep page 0 of {} from 12D3Koo: {not_root} (and 1 more)",
                ada.short()
            )
        );
    }

    #[test]
    fn a_restored_creators_request_is_deleted_when_the_root_replaces_it() {
        let (ada, _, secret, room, history) = club_with_bo();
        // Ada's backup in a fresh browser: the join flow writes a request at seq 0.
        let mut fresh = RoomSession::join(&ada, room.room(), &secret);
        let request = fresh
            .control(
                &ada,
                ControlOp::JoinRequest {
                    display_name: "Ada".into(),
                    invite: None,
                    proof: None,
                },
                2_000,
                [8; 24],
            )
            .unwrap();
        fresh.mark_stored(ada.user_id(), 1);
        fresh.receive(pages(&history), TEST_NOW_MS);
        let book = fresh.replica().book(&ada.user_id()).unwrap();
        assert_eq!(book.len(), 3, "her own book, from the room's root on");
        assert_ne!(book.get(0).unwrap().hash().0.to_vec(), request.head);
        assert!(fresh.replica().proof(&ada.user_id()).is_none());
        // Storage still holds the request at seq 0: the whole stored book goes before the
        // root is stored in its place (storage adds pages and would refuse a second seq 0).
        let cuts = fresh.pending_cuts();
        assert_eq!(
            cuts.iter()
                .map(|c| (c.book.author.clone(), c.book.length, c.proof.is_some()))
                .collect::<Vec<_>>(),
            [(user_key(&ada.user_id()), 0, false)]
        );
        let unstored: Vec<u64> = fresh.unstored().iter().map(|o| o.page.seq).collect();
        assert_eq!(unstored, [0, 1, 2]);
    }

    #[test]
    fn a_cut_that_changed_while_being_stored_stays_queued() {
        let (ada, bo, secret, room, history) = club_with_bo();
        let goodbye = forked_hello(&ada, &secret, &history);
        let mut bos = RoomSession::join(&bo, room.room(), &secret);
        bos.receive(pages(&history), TEST_NOW_MS);
        bos.mark_stored(ada.user_id(), 3);
        bos.receive(pages(&[goodbye]), TEST_NOW_MS);
        let in_flight = bos.pending_cuts();
        // Meanwhile the book changes again: a cut of the same book taken from a stale
        // snapshot does not clear the queue.
        let stale = vec![BookCut {
            book: BookRecord {
                length: 3,
                ..in_flight[0].book.clone()
            },
            proof: None,
        }];
        bos.cuts_stored(&stale);
        assert!(bos.has_pending_cuts());
        bos.cuts_stored(&in_flight);
        assert!(!bos.has_pending_cuts());
    }

    #[test]
    fn pages_dropped_past_a_removed_members_cap_are_queued_for_deletion() {
        let (ada, bo, secret, mut room, history) = club_with_bo();
        let mut bos = RoomSession::join(&bo, room.room(), &secret);
        bos.receive(pages(&history), TEST_NOW_MS);
        let past_cap = quire_core::membership::MAX_PAGES_PAST_CUT + 3;
        let bo_pages: Vec<Outgoing> = (0..past_cap)
            .map(|n| {
                bos.send_text(&bo, format!("note {n}"), 1_010 + n, [n as u8; 24])
                    .unwrap()
            })
            .collect();
        let cy = person(3);
        let mut cys = RoomSession::join(&cy, room.room(), &secret);
        cys.receive(pages(&history), TEST_NOW_MS);
        cys.receive(pages(&bo_pages), TEST_NOW_MS);
        assert_eq!(cys.replica().book(&bo.user_id()).unwrap().len(), past_cap);
        assert!(!cys.has_pending_cuts());

        // Ada removes Bo having seen none of his pages: Cy may keep 64 of them.
        let remove = room
            .control(
                &ada,
                ControlOp::Remove {
                    member: bo.user_id(),
                    seen: 0,
                },
                2_000,
                [9; 24],
            )
            .unwrap();
        cys.receive(pages(&[remove]), TEST_NOW_MS);
        let cuts = cys.pending_cuts();
        assert_eq!(
            cuts.iter()
                .map(|c| (c.book.author.clone(), c.book.length, c.proof.is_some()))
                .collect::<Vec<_>>(),
            [(
                user_key(&bo.user_id()),
                quire_core::membership::MAX_PAGES_PAST_CUT,
                false
            )]
        );
    }

    #[test]
    fn a_non_member_cannot_send() {
        let (ada, eve) = (person(1), person(9));
        let secret = RoomSecret::from_bytes([7; 32]);
        let (room, create) = RoomSession::create(&ada, "Private", &secret, 1_000, [1; 24]).unwrap();
        let mut eves = RoomSession::join(&eve, room.room(), &secret);
        eves.receive(pages(&[create]), TEST_NOW_MS);
        assert!(
            eves.send_text(&eve, "let me in".into(), 1_001, [2; 24])
                .is_err()
        );
        assert!(eves.summary().read_only);
    }

    #[test]
    fn after_a_removal_the_owner_rekeys_and_the_removed_member_sees_nothing_new() {
        let (ada, bo, secret, mut room, history) = club_with_bo();
        let cy = person(3);
        let admit = room
            .control(
                &ada,
                ControlOp::Admit {
                    member: cy.user_id(),
                    role: Role::Member,
                },
                1_003,
                [4; 24],
            )
            .unwrap();
        let mut bos = RoomSession::join(&bo, room.room(), &secret);
        let mut cys = RoomSession::join(&cy, room.room(), &secret);
        let mut everything = pages(&history);
        everything.extend(pages(&[admit]));
        bos.receive(everything.clone(), TEST_NOW_MS);
        cys.receive(everything, TEST_NOW_MS);
        assert!(!room.owes_keys(false), "nobody left: nothing owed");
        room.control(
            &ada,
            ControlOp::Remove {
                member: cy.user_id(),
                seen: 0,
            },
            2_000,
            [9; 24],
        )
        .unwrap();
        // Until the owner re-keys, nothing new can be sealed.
        assert!(room.owes_keys(false));
        assert!(matches!(
            room.send_text(&ada, "too soon".into(), 2_001, [10; 24]),
            Err(SendError::NotAllowed(WriteError::Key(KeyWait::RekeyFirst)))
        ));
        assert!(
            room.settle_keys(&ada, RoomSecret::from_bytes([77; 32]), 2_002, [11; 24])
                .unwrap()
        );
        assert!(!room.owes_keys(false));
        room.send_text(&ada, "just us now".into(), 2_003, [12; 24])
            .unwrap();
        let news = pages(&room.unstored());
        bos.receive(news.clone(), TEST_NOW_MS);
        cys.receive(news, TEST_NOW_MS);
        let shown = |s: &RoomSession| texts(s).into_iter().map(|(t, _)| t).collect::<Vec<_>>();
        assert_eq!(shown(&bos), ["hello", "just us now"]);
        assert_eq!(
            shown(&cys),
            ["hello"],
            "the removed member reads nothing new"
        );
        assert!(cys.summary().read_only);
        // Presence moved with the key: Carol can no longer find or follow the others.
        let now = TEST_NOW_MS;
        let members = room.presence_plan(now).unwrap();
        assert_eq!(bos.presence_plan(now).unwrap().register, members.register);
        let carols = cys.presence_plan(now).unwrap();
        assert!(!carols.discover.contains(&members.register));
        assert_ne!(carols.register, members.register);
        // The others still look where she (like any requester) announces herself, and do not
        // link to her there (she is no longer a participant).
        assert!(members.discover.contains(&carols.register));
        // Bo, a member but not an owner, owes nothing and writes under the new epoch.
        assert!(!bos.owes_keys(true));
        bos.send_text(&bo, "agreed".into(), 2_004, [13; 24])
            .unwrap();
    }
}
