//! One author's append-only book in one room, as this peer holds it.
//!
//! A [`Book`] holds a contiguous, chain-checked prefix `0..len` of verified pages, plus a
//! bounded set of pages that arrived out of order (signature-verified, waiting for the pages
//! before them). It never does I/O: every mutation returns exactly what the driver must persist
//! or delete, and the driver acknowledges a page to the user only after persisting it.
//!
//! # Equivocation policy
//!
//! If the author signs two different pages for one seq, the book keeps the proof (both pages),
//! drops every page at the proof's seq or later, and refuses any further page there or later.
//! Why: peers may have seen either branch first; truncating to the common prefix is the only
//! outcome every peer reaches regardless of arrival order, and an author who forks their own
//! book has lost the benefit of the doubt. Other members' pages that referenced dropped pages
//! are a matter for causal delivery (`causal.rs`), which treats refs into a frozen book at or
//! beyond the fork as satisfied.
//!
//! # Cut at the fork point, not where two peers compared
//!
//! Two peers holding different branches often first compare them above the seq where they
//! diverged (say the branches split at `k` and the peers compare their tips at `n > k`). A
//! proof at `n` whose two pages follow different predecessors shows the fork is lower, so the
//! book treats it as provisional: it is cut at `n` (nothing at or above `n` can survive) and
//! [`Book::fork_walk`] names the [`FORK_WALK_PAGES`] seqs below it, which sync asks every peer
//! for. A peer holding the other branch answers with its own pages there; each one that differs
//! from the page this book holds is a lower proof, which replaces the higher one and cuts the
//! book lower ([`Book::accept_proof`], [`ProofOutcome::Lower`]). Round by round the walk stops
//! at the seq whose two pages share their predecessor with each other and with the page this
//! book holds below them ([`Equivocation::is_fork_point`]): the first seq where the branches
//! differ. That seq is a function of the two branches alone, so every peer that sees both ends
//! with the book cut at the same seq, whichever pair of pages it compared first.
//!
//! When several proofs are known, the one kept is the least by (seq, shares a predecessor,
//! first hash, second hash): lower always wins, and at one seq a proof that still points lower
//! wins over a settled one (a third branch may have forked lower). The order is total, so
//! peers exchanging proofs never swap back and forth.
//!
//! # Pages others built on stay
//!
//! The pages a cut removes are not thrown away: they are held above the fork point (at most
//! [`MAX_ABOVE_FORK_PAGES`]), next to the proof's own two pages and any page of the book at or
//! past the cut that a peer sends later. Which of them count again is the room's decision, made
//! from what other members referenced ([`crate::room`]): [`Book::keep`] rebuilds the book above
//! the cut as the one chain that ends at the page the room chose, and [`Book::chain_to`] and
//! [`Book::descends`] tell whether such a chain can be built from what is held. The book stays
//! frozen for its author whatever is kept.
//!
//! A common honest cause is a user restoring an old backup and writing again. [`Book::append`]
//! refuses to write while it knows of later pages of its own book ([`AppendError::Behind`]);
//! the app should sync the user's own books before writing after a restore.

// See validate.rs: rejections are the cold path and not worth an allocation each.
#![allow(clippy::result_large_err)]

use std::collections::BTreeMap;
use std::ops::Range;

use thiserror::Error;

use crate::crypto::{CryptoError, PageKey};
use crate::identity::{Identity, UserId};
use crate::page::{
    Body, BookId, MAX_REFS, NONCE_LEN, Page, PageContent, PageHash, PageHead, PageMeta, PageRef,
};
use crate::validate::{
    Equivocation, ProofError, ValidationError, VerifiedPage, check_successor, detect_equivocation,
};

/// Cap on out-of-order pages held per book. Why: sync pulls missing ranges in bounded batches
/// and pushes new pages as they are written, so a well-behaved peer never gets far ahead of the
/// gap being filled; 1,024 pages (at most 64 MiB, typically ~1 MiB) bounds what a misbehaving
/// peer can make us buffer. Pages beyond it are simply fetched again later.
pub const MAX_PENDING_PAGES: usize = 1024;

/// Most seqs one round of a fork walk asks for ([`Book::fork_walk`]). Why: a round is one want
/// range per peer; 16 pages (~5 KiB of text pages) keep an answer small, and an author who
/// forked further back costs one round per 16 seqs rather than an unbounded reply.
pub const FORK_WALK_PAGES: u64 = 16;

/// Cap on pages held above a fork point per book (both branches together). Why: only pages
/// other members referenced, and the chains below them, can ever count again; 1,024 pages
/// (at most 64 MiB, typically ~300 KiB) is far more than members build on during the few
/// seconds a fork goes unnoticed, and bounds what a forking author can make peers hold. When
/// full, the highest pages go first: a chain is only ever kept from the fork point up.
pub const MAX_ABOVE_FORK_PAGES: usize = 1024;

/// What [`Book::accept_proof`] did with an equivocation proof.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProofOutcome {
    /// The first proof for this book: it is cut at `truncated_from`.
    New {
        /// First seq no longer part of the book.
        truncated_from: u64,
    },
    /// It replaced a proof held at `replaced` (higher, or at the same seq but settled): the
    /// book is cut at `truncated_from` now.
    Lower {
        /// Seq of the proof it replaced.
        replaced: u64,
        /// First seq no longer part of the book.
        truncated_from: u64,
    },
    /// The book holds this very proof.
    AlreadyKnown,
    /// The book holds a lower (or preferred) proof at `held`: this one is ignored.
    Higher {
        /// Seq of the proof kept.
        held: u64,
    },
}

impl ProofOutcome {
    /// Whether the book's proof changed (the driver must persist it and delete the cut pages).
    pub fn changed(&self) -> bool {
        matches!(self, Self::New { .. } | Self::Lower { .. })
    }
}

/// Why the local user could not write a page.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum AppendError {
    /// The identity is not this book's author.
    #[error("{identity:?} cannot write the book of {author:?}")]
    NotAuthor {
        /// Who tried to write.
        identity: UserId,
        /// Whose book it is.
        author: UserId,
    },
    /// Peers hold later pages of this book than this device (e.g. after restoring a backup):
    /// writing now would fork the book. Sync first.
    #[error("this device is behind its own book: it has {len} pages but peers have page {known}")]
    Behind {
        /// Pages held contiguously.
        len: u64,
        /// Highest seq known from peers.
        known: u64,
    },
    /// The book was forked (by this identity on another device) and is frozen.
    #[error("this book is frozen after an equivocation at seq {0}")]
    Frozen(u64),
    /// More refs than a page may carry.
    #[error("{count} refs, more than the cap of {max}")]
    TooManyRefs {
        /// Refs given (after removing duplicates).
        count: usize,
        /// [`MAX_REFS`].
        max: usize,
    },
    /// The body could not be sealed (too large).
    #[error(transparent)]
    Seal(#[from] CryptoError),
}

/// What happened to a page offered to [`Book::insert`]. The equivocation proof is large, but
/// the status is returned once per page and never stored, so it is not boxed.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum InsertStatus {
    /// It joined the book (see [`Inserted::stored`]).
    Stored,
    /// It is held until the pages before it arrive (see [`Book::gaps`]).
    Held,
    /// The book already holds it.
    Duplicate,
    /// The out-of-order buffer is full and this page is the furthest ahead: not kept; it will be
    /// fetched again when the gap closes.
    Dropped,
    /// It lies at or past the cut of a frozen book: held above the fork point, where the room
    /// may choose to keep it ([`Book::keep`]). Nothing to persist yet.
    AboveFork,
    /// It conflicts with a page held for the same seq: the author equivocated (first proof, or
    /// a lower one replacing the proof held). The driver must delete every stored page of this
    /// book with seq `>= truncated_from` and keep the proof (replacing any earlier one).
    Equivocation {
        /// Both conflicting pages.
        proof: Equivocation,
        /// First seq no longer part of the book.
        truncated_from: u64,
    },
}

/// The outcome of [`Book::insert`]: what to persist.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Inserted {
    /// What happened to the offered page.
    pub status: InsertStatus,
    /// Pages that joined the book, in seq order: the offered page and any held pages it
    /// unblocked. The driver must persist exactly these.
    pub stored: Vec<VerifiedPage>,
    /// Held pages thrown away because they did not chain onto their predecessor (with why).
    pub discarded: Vec<ValidationError>,
}

/// One author's book in one room.
#[derive(Debug, Clone)]
pub struct Book {
    id: BookId,
    pages: Vec<VerifiedPage>,
    pending: BTreeMap<u64, VerifiedPage>,
    equivocation: Option<Equivocation>,
    /// Pages at or past the cut of a frozen book that are not kept (module docs), by seq.
    above: BTreeMap<(u64, PageHash), VerifiedPage>,
}

impl Book {
    /// An empty book.
    pub fn new(id: BookId) -> Self {
        Self {
            id,
            pages: Vec::new(),
            pending: BTreeMap::new(),
            equivocation: None,
            above: BTreeMap::new(),
        }
    }

    /// Rebuilds a book from what the driver persisted: its pages in seq order and, if the
    /// author was caught equivocating, the proof. The chain is re-checked (cheap: hashes only).
    /// Pages at or past the proof are held above the fork point: which of them count is
    /// decided again ([`Book::keep`]).
    pub fn restore(
        id: BookId,
        pages: impl IntoIterator<Item = VerifiedPage>,
        equivocation: Option<Equivocation>,
    ) -> Result<Self, ValidationError> {
        let mut book = Self::new(id);
        let cut = equivocation.as_ref().map_or(u64::MAX, Equivocation::seq);
        for page in pages {
            book.check_belongs(&page)?;
            if page.seq() >= cut {
                book.hold_above(page);
                continue;
            }
            check_successor(book.tip().as_ref(), &page)?;
            book.pages.push(page);
        }
        if let Some(proof) = &equivocation {
            book.pages
                .truncate(usize::try_from(proof.seq()).unwrap_or(usize::MAX));
            book.hold_proof_pages(proof);
        }
        book.equivocation = equivocation;
        Ok(book)
    }

    /// Which book this is.
    pub fn id(&self) -> BookId {
        self.id
    }

    /// Number of contiguous pages held (the next seq).
    pub fn len(&self) -> u64 {
        self.pages.len() as u64
    }

    /// Whether no contiguous page is held.
    pub fn is_empty(&self) -> bool {
        self.pages.is_empty()
    }

    /// The last contiguous page, as a ref (what heads exchanges and other pages' refs name).
    pub fn tip(&self) -> Option<PageRef> {
        self.pages.last().map(|page| page.page_ref())
    }

    /// The page at `seq`, if held contiguously.
    pub fn get(&self, seq: u64) -> Option<&VerifiedPage> {
        self.pages.get(usize::try_from(seq).ok()?)
    }

    /// The contiguous pages with seqs in `range` (clamped to what is held).
    pub fn range(&self, range: Range<u64>) -> &[VerifiedPage] {
        let end = usize::try_from(range.end.min(self.len())).unwrap_or(self.pages.len());
        let start = usize::try_from(range.start).unwrap_or(end).min(end);
        &self.pages[start..end]
    }

    /// Number of out-of-order pages held.
    pub fn pending_len(&self) -> usize {
        self.pending.len()
    }

    /// The equivocation proof, if the author forked this book.
    pub fn equivocation(&self) -> Option<&Equivocation> {
        self.equivocation.as_ref()
    }

    /// While the proof held does not mark the fork point (its pages follow different
    /// predecessors, or not the page this book holds below them), the seqs to ask peers for:
    /// the [`FORK_WALK_PAGES`] just below the proof. A peer on the other branch answers with
    /// its pages there, and the first that differs from ours is a lower proof. `None` when
    /// there is no proof or it is the fork point.
    pub fn fork_walk(&self) -> Option<Range<u64>> {
        let proof = self.equivocation.as_ref()?;
        if proof.is_fork_point(self) {
            return None;
        }
        let at = proof.seq();
        Some(at.saturating_sub(FORK_WALK_PAGES)..at)
    }

    /// Offers an equivocation proof (from a peer, or built here). A proof for another book is
    /// [`ProofError::WrongBook`]. The lowest proof wins (see the module docs): a first or lower
    /// proof cuts the book at its seq; a higher one is ignored.
    pub fn accept_proof(&mut self, proof: Equivocation) -> Result<ProofOutcome, ProofError> {
        if proof.book() != self.id {
            return Err(ProofError::WrongBook {
                expected: self.id,
                found: proof.book(),
            });
        }
        let outcome = match &self.equivocation {
            None => ProofOutcome::New {
                truncated_from: proof.seq(),
            },
            Some(held) if *held == proof => return Ok(ProofOutcome::AlreadyKnown),
            Some(held) if proof_rank(held) <= proof_rank(&proof) => {
                return Ok(ProofOutcome::Higher { held: held.seq() });
            }
            Some(held) => ProofOutcome::Lower {
                replaced: held.seq(),
                truncated_from: proof.seq(),
            },
        };
        let at = proof.seq();
        let cut = self.pages.split_off(
            usize::try_from(at)
                .unwrap_or(usize::MAX)
                .min(self.pages.len()),
        );
        let pending = self.pending.split_off(&at);
        for page in cut.into_iter().chain(pending.into_values()) {
            self.hold_above(page);
        }
        self.hold_proof_pages(&proof);
        self.equivocation = Some(proof);
        Ok(outcome)
    }

    /// Seq ranges missing below the highest page held: what sync should request. Empty when
    /// nothing is held out of order. Pages beyond the highest held are unknown here; compare
    /// [`Book::len`] with the peer's announced length for those ([`Book::missing_below`]).
    pub fn gaps(&self) -> Vec<Range<u64>> {
        let mut gaps = Vec::new();
        let mut next = self.len();
        for &seq in self.pending.keys() {
            if seq > next {
                gaps.push(next..seq);
            }
            next = seq + 1;
        }
        gaps
    }

    /// Seq ranges missing to reach `len` pages (e.g. a peer's announced length), taking held
    /// pages into account, capped at the equivocation point.
    pub fn missing_below(&self, len: u64) -> Vec<Range<u64>> {
        let len = self
            .equivocation
            .as_ref()
            .map_or(len, |proof| len.min(proof.seq()));
        let mut gaps: Vec<Range<u64>> = self
            .gaps()
            .into_iter()
            .filter(|gap| gap.start < len)
            .collect();
        for gap in &mut gaps {
            gap.end = gap.end.min(len);
        }
        let from = self
            .pending
            .keys()
            .next_back()
            .map_or(self.len(), |seq| seq + 1)
            .max(self.len());
        if from < len {
            gaps.push(from..len);
        }
        gaps
    }

    /// Writes the local user's next page: seals `body` with `key` under `nonce`, signs it, and
    /// appends it. Returns the page, which the driver must persist (and sync pushes to peers).
    /// `refs` may be in any order; duplicates keep the highest seq and a ref to this book is
    /// dropped. A keys body is not sealed (see [`crate::page::PageKind::Keys`]): `key` is not
    /// used for it.
    pub fn append(
        &mut self,
        identity: &Identity,
        key: &PageKey,
        body: &Body,
        refs: Vec<PageRef>,
        meta: PageMeta,
        nonce: [u8; NONCE_LEN],
    ) -> Result<VerifiedPage, AppendError> {
        let (head, refs) = self.next_head(identity, refs)?;
        let (data, key_id) = match body {
            Body::Keys(_) => {
                let data = body.encode();
                if data.len() > crate::page::MAX_DATA_BYTES {
                    return Err(CryptoError::TooLarge {
                        len: data.len(),
                        max: crate::page::MAX_DATA_BYTES,
                    }
                    .into());
                }
                (data, None)
            }
            _ => (key.seal_body(&head, &nonce, body)?, key.id()),
        };
        let content = PageContent {
            head,
            refs,
            kind: body.kind(),
            meta,
            key: key_id,
            nonce,
            data,
        };
        let page = VerifiedPage::signed_here(Page::sign(content, identity));
        self.pages.push(page.clone());
        Ok(page)
    }

    /// Writes the local user's next keys page (plaintext but for its sealed grants).
    pub fn append_keys(
        &mut self,
        identity: &Identity,
        keys: crate::page::KeysBody,
        refs: Vec<PageRef>,
        meta: PageMeta,
        nonce: [u8; NONCE_LEN],
    ) -> Result<VerifiedPage, AppendError> {
        // The key is not used for a keys body; any key will do.
        let unused = crate::crypto::RoomSecret::from_bytes([0; 32]).page_key();
        self.append(identity, &unused, &Body::Keys(keys), refs, meta, nonce)
    }

    /// The head of the local user's next page and its normalised refs, after checking that it
    /// may be written.
    fn next_head(
        &self,
        identity: &Identity,
        refs: Vec<PageRef>,
    ) -> Result<(PageHead, Vec<PageRef>), AppendError> {
        if identity.user_id() != self.id.author {
            return Err(AppendError::NotAuthor {
                identity: identity.user_id(),
                author: self.id.author,
            });
        }
        if let Some(proof) = &self.equivocation {
            return Err(AppendError::Frozen(proof.seq()));
        }
        if let Some(&known) = self.pending.keys().next_back() {
            return Err(AppendError::Behind {
                len: self.len(),
                known,
            });
        }
        let refs = normalise_refs(refs, self.id.author);
        if refs.len() > MAX_REFS {
            return Err(AppendError::TooManyRefs {
                count: refs.len(),
                max: MAX_REFS,
            });
        }
        let head = PageHead {
            book: self.id,
            seq: self.len(),
            prev: self.tip().map(|tip| tip.hash),
        };
        Ok((head, refs))
    }

    fn check_belongs(&self, page: &Page) -> Result<(), ValidationError> {
        if page.book() == self.id {
            Ok(())
        } else {
            Err(ValidationError::WrongBook {
                expected: self.id,
                found: page.book(),
            })
        }
    }

    /// Offers a verified page from a peer. Errors: [`ValidationError::WrongBook`],
    /// [`ValidationError::WrongPrev`] (it is the next page but does not chain). A page at or
    /// past the cut of a frozen book is held above it ([`InsertStatus::AboveFork`]).
    pub fn insert(&mut self, page: VerifiedPage) -> Result<Inserted, ValidationError> {
        self.check_belongs(&page)?;
        let seq = page.seq();
        let outcome = |status, stored, discarded| Inserted {
            status,
            stored,
            discarded,
        };
        if let Some(proof) = &self.equivocation
            && seq >= proof.seq()
        {
            let status = if self.lookup(seq, &page.hash()).is_some() {
                InsertStatus::Duplicate
            } else if self.hold_above(page) {
                InsertStatus::AboveFork
            } else {
                InsertStatus::Dropped
            };
            return Ok(outcome(status, Vec::new(), Vec::new()));
        }
        if let Some(existing) = self.get(seq).or_else(|| self.pending.get(&seq)) {
            return Ok(match detect_equivocation(existing, &page) {
                None => outcome(InsertStatus::Duplicate, Vec::new(), Vec::new()),
                Some(proof) => outcome(self.freeze(proof), Vec::new(), Vec::new()),
            });
        }
        if seq > self.len() {
            return Ok(outcome(self.hold(page), Vec::new(), Vec::new()));
        }
        check_successor(self.tip().as_ref(), &page)?;
        self.pages.push(page.clone());
        let mut stored = vec![page];
        let mut discarded = Vec::new();
        while let Some(next) = self.pending.remove(&self.len()) {
            match check_successor(self.tip().as_ref(), &next) {
                Ok(()) => {
                    self.pages.push(next.clone());
                    stored.push(next);
                }
                Err(error) => {
                    discarded.push(error);
                    break;
                }
            }
        }
        Ok(outcome(InsertStatus::Stored, stored, discarded))
    }

    /// Drops every page at seq `len` or later, held out of order or not (the author's pages
    /// beyond what the room lets this peer store). Returns whether anything was dropped.
    pub fn truncate(&mut self, len: u64) -> bool {
        let before = (self.pages.len(), self.pending.len());
        self.pages
            .truncate(usize::try_from(len).unwrap_or(usize::MAX));
        self.pending.retain(|&seq, _| seq < len);
        self.above.retain(|&(seq, _), _| seq < len);
        before != (self.pages.len(), self.pending.len())
    }

    /// Holds a page at or past the cut (module docs). Returns whether it is held: when full,
    /// the highest page held goes to make room for a lower one.
    fn hold_above(&mut self, page: VerifiedPage) -> bool {
        let key = (page.seq(), page.hash());
        if self.above.contains_key(&key) {
            return true;
        }
        if self.above.len() >= MAX_ABOVE_FORK_PAGES {
            match self.above.keys().next_back().copied() {
                Some(highest) if highest > key => {
                    self.above.remove(&highest);
                }
                _ => return false,
            }
        }
        self.above.insert(key, page);
        true
    }

    /// Holds both pages of `proof` above the cut: each may begin a chain others built on.
    fn hold_proof_pages(&mut self, proof: &Equivocation) {
        let (a, b) = proof.pages();
        for page in [a, b] {
            if self.lookup(page.seq(), &page.hash()).is_none() {
                // The proof's pages were verified when it was (it is only built from two).
                self.hold_above(VerifiedPage::assume_verified(page.clone()));
            }
        }
    }

    /// The page at `seq` with `hash`, kept or held above the cut.
    fn lookup(&self, seq: u64, hash: &PageHash) -> Option<&VerifiedPage> {
        self.get(seq)
            .filter(|page| page.hash() == *hash)
            .or_else(|| self.above.get(&(seq, *hash)))
    }

    /// The pages held at or past the cut that are not kept, with seqs in `range`, in seq order.
    pub fn above_fork(&self, range: Range<u64>) -> impl Iterator<Item = &VerifiedPage> + '_ {
        self.above
            .range((range.start, PageHash([0; crate::page::HASH_LEN]))..)
            .take_while(move |((seq, _), _)| *seq < range.end)
            .map(|(_, page)| page)
    }

    /// Number of pages held at or past the cut that are not kept.
    pub fn above_fork_len(&self) -> usize {
        self.above.len()
    }

    /// The pages from `from` up to `target`, walking down from `target` through the pages
    /// held (kept or above the cut), in seq order; `None` if one of them is not held.
    fn walk_down(&self, target: &PageRef, from: u64) -> Option<Vec<&VerifiedPage>> {
        if target.author != self.id.author || target.seq < from {
            return None;
        }
        let mut chain = Vec::new();
        let mut at = self.lookup(target.seq, &target.hash)?;
        loop {
            chain.push(at);
            if at.seq() == from {
                break;
            }
            let prev = at.head().prev?;
            at = self.lookup(at.seq() - 1, &prev)?;
        }
        chain.reverse();
        Some(chain)
    }

    /// The chain from the cut up to `target`, if every page of it is held and it follows the
    /// page held just below the cut (the fork point's predecessor). `None` without a proof.
    pub fn chain_to(&self, target: &PageRef) -> Option<Vec<&VerifiedPage>> {
        let cut = self.equivocation.as_ref()?.seq();
        let chain = self.walk_down(target, cut)?;
        let below = cut.checked_sub(1).map(|seq| self.get(seq));
        let follows = match below {
            None => chain.first()?.head().prev.is_none(),
            Some(held) => held.map(|page| page.hash()) == chain.first()?.head().prev,
        };
        follows.then_some(chain)
    }

    /// Whether `page` is held and its chain, walked down through pages held, passes `through`.
    pub fn descends(&self, page: &PageRef, through: &PageRef) -> bool {
        self.walk_down(page, through.seq)
            .and_then(|chain| chain.first().map(|p| p.hash() == through.hash))
            .unwrap_or(false)
    }

    /// Rebuilds a frozen book above its cut as the chain from the cut up to `target` (none:
    /// nothing past the cut counts). Pages no longer kept are held above the cut again. Returns
    /// the first seq whose page changed, if any did (the driver replaces what it stored from
    /// there on). Does nothing without a proof, or when the chain is not held whole.
    pub fn keep(&mut self, target: Option<&PageRef>) -> Option<u64> {
        let cut = self.equivocation.as_ref()?.seq();
        let chain: Vec<VerifiedPage> = match target {
            None => Vec::new(),
            Some(target) => self.chain_to(target)?.into_iter().cloned().collect(),
        };
        let start = usize::try_from(cut).ok()?.min(self.pages.len());
        let same = self.pages[start..]
            .iter()
            .zip(&chain)
            .take_while(|(a, b)| a.hash() == b.hash())
            .count();
        if same == chain.len() && start + same == self.pages.len() {
            return None;
        }
        let changed = cut + same as u64;
        for page in self.pages.split_off(start + same) {
            self.hold_above(page);
        }
        for page in chain.into_iter().skip(same) {
            self.above.remove(&(page.seq(), page.hash()));
            self.pages.push(page);
        }
        Some(changed)
    }

    fn hold(&mut self, page: VerifiedPage) -> InsertStatus {
        if self.pending.len() >= MAX_PENDING_PAGES {
            match self.pending.keys().next_back() {
                Some(&furthest) if furthest > page.seq() => {
                    self.pending.remove(&furthest);
                }
                _ => return InsertStatus::Dropped,
            }
        }
        self.pending.insert(page.seq(), page);
        InsertStatus::Held
    }

    /// A conflict found by [`Book::insert`] is always below the cut (pages at or above it are
    /// refused first), so its proof is new or lower.
    fn freeze(&mut self, proof: Equivocation) -> InsertStatus {
        let at = proof.seq();
        match self.accept_proof(proof.clone()) {
            Ok(outcome) if outcome.changed() => InsertStatus::Equivocation {
                proof,
                truncated_from: at,
            },
            _ => InsertStatus::Duplicate,
        }
    }
}

/// The order in which proofs are preferred: lower seq first; at one seq, a proof whose pages
/// follow different predecessors (it points lower) before a settled one; then by hashes.
fn proof_rank(proof: &Equivocation) -> (u64, bool, crate::page::PageHash, crate::page::PageHash) {
    let (a, b) = proof.pages();
    (proof.seq(), proof.shares_predecessor(), a.hash(), b.hash())
}

/// Sorts refs by author, keeps the highest seq per author, and drops refs to `own` book.
fn normalise_refs(mut refs: Vec<PageRef>, own: UserId) -> Vec<PageRef> {
    refs.retain(|r| r.author != own);
    // Highest seq first within an author, so dedup keeps it.
    refs.sort_by(|a, b| a.author.cmp(&b.author).then(b.seq.cmp(&a.seq)));
    refs.dedup_by_key(|r| r.author);
    refs
}
