//! Room sync with one peer: the `/quire/sync/1` state machine.
//!
//! Two members connected for a room each run one [`SyncSession`]. Each sends its book heads;
//! each pulls what it lacks in bounded batches, one request at a time; new pages (written here
//! or received from anyone) are pushed to the peer at once; heads are re-sent periodically so
//! anything lost in transit is repaired. Any member's pages are forwarded: pages are signed, so
//! they need no trust in the forwarder.
//!
//! A peer that sends something an honest peer never would (a malformed message, a page with a
//! bad signature or for another room, a reversed range, requests faster than we can answer) is
//! given up on at once: the session closes with a [`CloseReason`] and the driver drops the
//! stream. A peer that stops answering is given up on after [`MAX_RETRIES`] timeouts.
//!
//! A forked book is walked down to its fork point ([`crate::book`]) with the same messages:
//! the seqs below a provisional proof are ordinary want ranges, proofs travel as their two
//! pages, and [`BookHead::frozen_at`] names the lowest proof each side holds. The walk changed
//! nothing on the wire.
//!
//! Everything a session sends its peer (heads, answers, pushes, proofs) is limited to what the
//! membership policy lets that peer be served ([`crate::membership::SyncRight`], asked of the
//! replica each time, so a removal written or received here takes effect on the next message):
//! a removed member is told of and sent nothing folded after its removal, a stranger or a
//! pending requester is told of no book and sent no page. When the right changes, fresh heads go out at once, so a
//! requester admitted here starts pulling without waiting for the next heads interval.

mod message;

pub use message::{
    MAX_BATCH_BYTES, MAX_BATCH_PAGES, MAX_HEADS, MAX_MESSAGE_BYTES, MAX_WANT_RANGES, MessageError,
    PROTOCOL, SyncMessage, WantRange,
};

use std::collections::{BTreeMap, BTreeSet, VecDeque};

use crate::identity::UserId;
use crate::membership::SyncRight;
use crate::page::{Page, RoomId};
use crate::room::{BookHead, Replica};
use crate::validate::{Equivocation, ValidationError, VerifiedPage};

/// Milliseconds between two heads messages on an idle session. Why: heads are the repair path
/// for lost pushes; 15 s bounds how stale a member can be after a loss, at ~100 bytes per book.
pub const HEADS_INTERVAL_MS: u64 = 15_000;

/// Milliseconds after committing pages the peer holds (it sent them, or holds them already)
/// by which heads tell it so. Why: the sender shows "Delivered" only once a peer reports
/// holding its page; waiting for the next periodic heads left it at "Saved on this device"
/// for up to 15 s after the recipient showed the message. A short delay lets a burst of pages
/// be acknowledged by one heads message (at most one per this delay, ~100 bytes per book).
pub const ACK_DELAY_MS: u64 = 200;

/// Milliseconds to wait for the answer to a want. Why: a batch is at most ~1 MiB; 10 s covers a
/// slow relayed path without leaving a dead peer unnoticed for long.
pub const REQUEST_TIMEOUT_MS: u64 = 10_000;

/// Consecutive unanswered wants before the peer is considered gone.
pub const MAX_RETRIES: u32 = 3;

/// Most messages queued for the driver. Why: bounds memory when the driver (or the link) is
/// slower than the protocol; pushes beyond it are dropped (the next heads repair them), and a
/// peer whose requests would overflow it is flooding.
pub const MAX_OUTBOX: usize = 64;

/// Where a session stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SessionState {
    /// Our heads are sent; the peer's are not known yet.
    Greeting,
    /// Pulling missing pages from the peer.
    CatchingUp,
    /// Nothing to pull: pushing new pages as they come, re-sending heads periodically.
    Live,
    /// Given up; the driver must close the stream.
    Closed(CloseReason),
}

/// Why a session gave up on its peer.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CloseReason {
    /// Undecodable or over-cap message.
    #[error("malformed message: {0}")]
    Malformed(#[from] MessageError),
    /// A message about another room on this room's session.
    #[error("message for another room")]
    WrongRoom,
    /// A page no honest peer would forward.
    #[error("bad page: {0}")]
    BadPage(ValidationError),
    /// A range with `from > to`.
    #[error("invalid range request")]
    BadRange,
    /// Requests arriving faster than we can answer them.
    #[error("peer floods requests")]
    Flooding,
    /// No answer to [`MAX_RETRIES`] consecutive wants.
    #[error("peer stopped answering")]
    Unresponsive,
}

/// What a message did, for the driver: persist `stored` (and apply `equivocations`), then
/// announce both to every other session of the room.
#[derive(Debug, Default)]
pub struct Accepted {
    /// Pages that joined a book.
    pub stored: Vec<VerifiedPage>,
    /// New equivocation proofs.
    pub equivocations: Vec<Equivocation>,
    /// Pages the room's membership policy did not let this peer store, with why
    /// ([`Ingested::refused`](crate::room::Ingested::refused)): not the sender's fault, but
    /// worth showing to whoever wonders why a page did not arrive.
    pub refused: Vec<(crate::page::PageRef, crate::membership::StoreRefusal)>,
}

#[derive(Debug, Clone)]
struct Outstanding {
    ranges: Vec<WantRange>,
    sent_at: u64,
}

/// Sync of one room with one peer.
///
/// # Calling contract
///
/// Time is an input: `now` is the wall clock in milliseconds since the Unix epoch (the clock
/// pages are stamped with), since received pages stamped more than
/// [`crate::membership::MAX_CLOCK_SKEW_MS`] after it are held back by the replica. The replica's
/// own timer ([`Replica::poll_timeout`]) is the driver's to run, once per room.
///
/// 1. [`SyncSession::new`] when a stream for the room is open with the peer (named by its user
///    id, which decides what it may be served); it queues our heads.
/// 2. Feed every frame received with [`SyncSession::handle_bytes`] (or a decoded message with
///    [`SyncSession::handle_message`]). Persist the returned [`Accepted::stored`] pages, then
///    call [`SyncSession::announce`] on **every other** session of the room (this one already
///    knows its peer has them). [`Replica::display_changes`] then says what to show where.
/// 3. When the local user writes a page, persist it, then [`SyncSession::announce`] it to every
///    session; equivocation proofs go to [`SyncSession::announce_proof`].
/// 4. After any of the above, drain [`SyncSession::poll_transmit`] until `None` and send each
///    message, in order, encoded with [`SyncMessage::encode`].
/// 5. Arm a timer for [`SyncSession::poll_timeout`] and call [`SyncSession::handle_timeout`] when
///    it fires (calling it early is harmless), then drain again.
/// 6. When [`SyncSession::state`] is [`SessionState::Closed`], drop the stream and the session.
#[derive(Debug)]
pub struct SyncSession {
    room: RoomId,
    peer: UserId,
    /// What the peer may be served, as of the last look at the replica.
    right: SyncRight,
    state: SessionState,
    peer_heads: BTreeMap<UserId, BookHead>,
    /// Whether the peer has sent its heads at least once.
    heard_heads: bool,
    outstanding: Option<Outstanding>,
    retries: u32,
    refetch: Vec<WantRange>,
    /// Authors whose last requested range yielded nothing new: not asked again until progress.
    exhausted: BTreeSet<UserId>,
    outbox: VecDeque<SyncMessage>,
    next_heads_at: u64,
}

impl SyncSession {
    /// A session for `replica`'s room with `peer`, queueing our heads.
    pub fn new(replica: &Replica, peer: UserId, now: u64) -> Self {
        let mut session = Self {
            room: replica.room(),
            peer,
            right: replica.may_sync(&peer),
            state: SessionState::Greeting,
            peer_heads: BTreeMap::new(),
            heard_heads: false,
            outstanding: None,
            retries: 0,
            refetch: Vec::new(),
            exhausted: BTreeSet::new(),
            outbox: VecDeque::new(),
            next_heads_at: now,
        };
        session.send_heads(replica, now);
        session
    }

    /// The peer this session syncs with.
    pub fn peer(&self) -> UserId {
        self.peer
    }

    /// Where the session stands.
    pub fn state(&self) -> &SessionState {
        &self.state
    }

    /// Whether the session gave up.
    pub fn is_closed(&self) -> bool {
        matches!(self.state, SessionState::Closed(_))
    }

    fn close(&mut self, reason: CloseReason) {
        self.state = SessionState::Closed(reason);
        self.outbox.clear();
        self.outstanding = None;
    }

    fn queue(&mut self, message: SyncMessage) -> bool {
        if self.outbox.len() >= MAX_OUTBOX {
            return false;
        }
        self.outbox.push_back(message);
        true
    }

    /// Looks up what the peer may be served now; if that changed, tells it at once.
    fn refresh_right(&mut self, replica: &Replica, now: u64) {
        let right = replica.may_sync(&self.peer);
        if right != self.right {
            self.right = right;
            self.send_heads(replica, now);
        }
    }

    fn send_heads(&mut self, replica: &Replica, now: u64) {
        let mut heads = replica.heads_for(self.right);
        heads.truncate(MAX_HEADS);
        self.queue(SyncMessage::Heads {
            room: self.room,
            heads,
        });
        self.next_heads_at = now.saturating_add(HEADS_INTERVAL_MS);
    }

    /// The book heads the peer last reported (what its device holds), for delivery ticks.
    pub fn peer_heads(&self) -> impl Iterator<Item = &BookHead> + '_ {
        self.peer_heads.values()
    }

    /// Whether the peer has told us its heads at least once: until then, a book missing from
    /// [`Self::peer_heads`] says nothing about whether the peer holds it.
    pub fn heard_heads(&self) -> bool {
        self.heard_heads
    }

    /// The next message to send, if any.
    pub fn poll_transmit(&mut self) -> Option<SyncMessage> {
        self.outbox.pop_front()
    }

    /// When [`SyncSession::handle_timeout`] should next be called.
    pub fn poll_timeout(&self) -> Option<u64> {
        if self.is_closed() {
            return None;
        }
        let request = self
            .outstanding
            .as_ref()
            .map(|o| o.sent_at.saturating_add(REQUEST_TIMEOUT_MS));
        Some(request.map_or(self.next_heads_at, |r| r.min(self.next_heads_at)))
    }

    /// Timers: re-send heads, retry or give up on an unanswered want.
    pub fn handle_timeout(&mut self, replica: &Replica, now: u64) {
        if self.is_closed() {
            return;
        }
        self.refresh_right(replica, now);
        if let Some(o) = &self.outstanding
            && now >= o.sent_at.saturating_add(REQUEST_TIMEOUT_MS)
        {
            self.retries += 1;
            if self.retries >= MAX_RETRIES {
                self.close(CloseReason::Unresponsive);
                return;
            }
            let ranges = o.ranges.clone();
            self.outstanding = None;
            self.send_want(ranges, now);
        }
        if now >= self.next_heads_at {
            self.send_heads(replica, now);
        }
    }

    /// Decodes and handles one received frame.
    pub fn handle_bytes(&mut self, bytes: &[u8], replica: &mut Replica, now: u64) -> Accepted {
        if self.is_closed() {
            return Accepted::default();
        }
        match SyncMessage::decode(bytes) {
            Ok(message) => self.handle_message(message, replica, now),
            Err(error) => {
                self.close(CloseReason::Malformed(error));
                Accepted::default()
            }
        }
    }

    /// Handles one received message.
    pub fn handle_message(
        &mut self,
        message: SyncMessage,
        replica: &mut Replica,
        now: u64,
    ) -> Accepted {
        if self.is_closed() {
            return Accepted::default();
        }
        if message.room() != self.room {
            self.close(CloseReason::WrongRoom);
            return Accepted::default();
        }
        self.refresh_right(replica, now);
        match message {
            SyncMessage::Heads { heads, .. } => {
                self.peer_heads = heads.into_iter().map(|h| (h.author, h)).collect();
                self.heard_heads = true;
                self.exhausted.clear();
                if self.state == SessionState::Greeting {
                    self.state = SessionState::CatchingUp;
                }
                self.push_missing_proofs(replica, now);
                self.pull(replica, now);
                Accepted::default()
            }
            SyncMessage::Want { ranges, .. } => {
                self.answer(&ranges, replica);
                Accepted::default()
            }
            SyncMessage::Pages { reply, pages, .. } => self.receive(reply, pages, replica, now),
        }
    }

    fn answer(&mut self, ranges: &[WantRange], replica: &Replica) {
        if ranges.iter().any(|r| r.from > r.to) {
            self.close(CloseReason::BadRange);
            return;
        }
        let mut pages: Vec<Page> = Vec::new();
        let mut bytes = 0usize;
        for range in ranges {
            let room_left = MAX_BATCH_PAGES.saturating_sub(pages.len());
            let bytes_left = MAX_BATCH_BYTES.saturating_sub(bytes);
            if room_left == 0 || bytes_left == 0 {
                break;
            }
            for page in replica.pages_for(
                self.right,
                &range.author,
                range.from..range.to,
                room_left,
                bytes_left,
            ) {
                bytes += page.encoded_len();
                pages.push(page);
            }
        }
        pages.truncate(MAX_BATCH_PAGES);
        let reply = SyncMessage::Pages {
            room: self.room,
            reply: true,
            pages,
        };
        if !self.queue(reply) {
            self.close(CloseReason::Flooding);
        }
    }

    fn receive(
        &mut self,
        reply: bool,
        pages: Vec<Page>,
        replica: &mut Replica,
        now: u64,
    ) -> Accepted {
        let answered = if reply { self.outstanding.take() } else { None };
        if answered.is_some() {
            self.retries = 0;
        }
        for page in &pages {
            self.note_peer_has(page);
        }
        let ingested = replica.ingest_at(pages, now);
        if let Some(fault) = ingested.faults.into_iter().next() {
            self.close(CloseReason::BadPage(fault));
            return Accepted::default();
        }
        // Refetches this answer asked for (a page that does not chain onto ours may hide a
        // fork) are sent even if the answer brought nothing new: each is one page, asked only
        // because of what the peer just sent.
        for (author, range) in ingested.refetch {
            if !self.exhausted.contains(&author) {
                self.refetch.push(WantRange {
                    author,
                    from: range.start,
                    to: range.end,
                });
            }
        }
        if ingested.stored.is_empty() && ingested.equivocations.is_empty() {
            if let Some(o) = &answered {
                self.exhausted.extend(o.ranges.iter().map(|r| r.author));
            }
        } else {
            self.exhausted.clear();
        }
        self.refresh_right(replica, now);
        for author in ingested.peer_lacks_proof {
            if let Some(proof) = replica.proof(&author) {
                let proof = proof.clone();
                self.announce_proof(replica, &proof, now);
            }
        }
        if answered.is_some() || self.outstanding.is_none() {
            self.pull(replica, now);
        }
        Accepted {
            stored: ingested.stored,
            equivocations: ingested.equivocations,
            refused: ingested.refused,
        }
    }

    /// Records that the peer holds `page` (it sent it), so it is not pushed back.
    fn note_peer_has(&mut self, page: &Page) {
        let head = self.peer_heads.entry(page.author()).or_insert(BookHead {
            author: page.author(),
            len: 0,
            tip: None,
            frozen_at: None,
        });
        if page.seq() >= head.len {
            head.len = page.seq() + 1;
            head.tip = Some(page.hash());
        }
    }

    /// Sends the next want, or goes live when there is nothing left to pull.
    fn pull(&mut self, replica: &Replica, now: u64) {
        if self.outstanding.is_some() || self.is_closed() {
            return;
        }
        let mut ranges: Vec<WantRange> = std::mem::take(&mut self.refetch);
        for head in self.peer_heads.values() {
            if self.exhausted.contains(&head.author) {
                continue;
            }
            // Only what the membership policy lets us store: of authors we cannot place yet,
            // their first page (it may be the join request that makes them known); of former
            // members, nothing far past their cut.
            let wanted = replica.wanted(head);
            if wanted.is_empty() {
                continue;
            }
            let limit = replica.store_limit(&head.author);
            for range in wanted {
                let to = range.end.min(limit);
                if range.start < to {
                    ranges.push(WantRange {
                        author: head.author,
                        from: range.start,
                        to: to.min(range.start.saturating_add(MAX_BATCH_PAGES as u64)),
                    });
                }
            }
        }
        ranges.truncate(MAX_WANT_RANGES);
        if ranges.is_empty() {
            if self.state == SessionState::CatchingUp {
                self.state = SessionState::Live;
            }
            return;
        }
        if self.state == SessionState::Live {
            self.state = SessionState::CatchingUp;
        }
        self.send_want(ranges, now);
    }

    fn send_want(&mut self, ranges: Vec<WantRange>, now: u64) {
        let message = SyncMessage::Want {
            room: self.room,
            ranges: ranges.clone(),
        };
        if self.queue(message) {
            self.outstanding = Some(Outstanding {
                ranges,
                sent_at: now,
            });
        }
    }

    /// Pushes pages the peer does not hold yet (new local pages, or pages another session
    /// accepted) and may be served. Dropped if the outbox is full: the peer's next heads
    /// exchange repairs it. Pages the peer holds already are acknowledged instead: heads go
    /// out within [`ACK_DELAY_MS`] (see [`SyncSession::poll_timeout`]).
    pub fn announce(&mut self, replica: &Replica, pages: &[VerifiedPage], now: u64) {
        if self.is_closed() {
            return;
        }
        self.refresh_right(replica, now);
        let mut fresh: Vec<Page> = Vec::new();
        let mut acknowledges = false;
        // Pages come book by book: look up each book's bound once.
        let mut bound: Option<(UserId, u64)> = None;
        for page in pages {
            let author = page.author();
            let served = match bound {
                Some((a, len)) if a == author => len,
                _ => {
                    let len = replica.served_len(self.right, &author);
                    bound = Some((author, len));
                    len
                }
            };
            if page.seq() >= served {
                continue;
            }
            let held = self.peer_heads.get(&page.author()).is_some_and(|h| {
                h.len > page.seq() || h.frozen_at.is_some_and(|f| page.seq() >= f)
            });
            if held {
                acknowledges = true;
            } else {
                fresh.push(page.page().clone());
            }
        }
        // The peer holds what was just committed here (most often: it sent it): tell it soon
        // that this device holds it too.
        if acknowledges {
            self.next_heads_at = self.next_heads_at.min(now.saturating_add(ACK_DELAY_MS));
        }
        for page in &fresh {
            self.note_peer_has(page);
        }
        for chunk in fresh.chunks(MAX_BATCH_PAGES) {
            let pushed = self.queue(SyncMessage::Pages {
                room: self.room,
                reply: false,
                pages: chunk.to_vec(),
            });
            if !pushed {
                break;
            }
        }
    }

    /// Pushes an equivocation proof (both pages) so the peer freezes the book too; only to a
    /// member (the two pages are at or past the book's held length, beyond anything a former
    /// member may be served).
    pub fn announce_proof(&mut self, replica: &Replica, proof: &Equivocation, now: u64) {
        if self.is_closed() {
            return;
        }
        self.refresh_right(replica, now);
        if self.right != SyncRight::Full {
            return;
        }
        let (a, b) = proof.pages();
        self.queue(SyncMessage::Pages {
            room: self.room,
            reply: false,
            pages: vec![a.clone(), b.clone()],
        });
    }

    /// For books we hold frozen while the peer's head runs past the fork, or names a higher
    /// fork than ours: send the proof (the lower one replaces the peer's).
    fn push_missing_proofs(&mut self, replica: &Replica, now: u64) {
        let stale: Vec<Equivocation> = self
            .peer_heads
            .values()
            .filter_map(|head| {
                let proof = replica.proof(&head.author)?;
                let behind = head
                    .frozen_at
                    .map_or(head.len > proof.seq(), |at| at > proof.seq());
                behind.then(|| proof.clone())
            })
            .collect();
        for proof in stale {
            self.announce_proof(replica, &proof, now);
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests;
