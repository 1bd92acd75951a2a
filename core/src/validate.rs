//! Page validation: free functions, each checking one property and failing with one precise
//! [`ValidationError`], so a bad page from a peer can be diagnosed from a single log line.
//!
//! The order a receiver applies them: [`decode`] (size, format) -> [`verify_signature`] or
//! [`verify_signatures`] (authenticity; yields [`VerifiedPage`]) -> [`check_successor`] (chain,
//! done by [`crate::book::Book`]) -> the room's membership policy ([`crate::membership`],
//! applied by the replica) -> [`open`] (decryption, for members who display the page). Forwarders without the room key
//! stop before `open`.
//!
//! # Signature rule (ZIP-215)
//!
//! Signatures are verified with the ZIP-215 rules (cofactored equation, any point encoding),
//! implemented by `ed25519-zebra`, instead of libp2p's own `verify` (ed25519-dalek,
//! cofactorless). Why: validity must be a pure function of the bytes, identical on every peer
//! and for every batch. Under cofactorless rules a crafted signature can pass batch
//! verification and fail single verification (or pass in one batch and not in another), which
//! would let a malicious member make peers disagree about which pages exist. Under ZIP-215,
//! single and batch verification accept exactly the same signatures, so batching — about twice
//! as fast for catch-up — is safe. Every signature produced by libp2p/ed25519-dalek signing is
//! valid under both rules.

// Rejections are the cold path, and the error names both sides of each mismatch (e.g. both
// books), which makes it ~140 bytes; boxing it would cost an allocation for no measurable gain.
#![allow(clippy::result_large_err)]

use core::fmt;
use core::ops::Deref;

use ed25519_zebra::batch;
use ed25519_zebra::{VerificationKey, VerificationKeyBytes};
use rand_chacha::ChaCha20Rng;
use rand_chacha::rand_core::SeedableRng;
use thiserror::Error;

use crate::book::Book;
use crate::codec::DecodeError;
use crate::crypto::{CryptoError, PageKey};
use crate::identity::UserId;
use crate::page::{Body, BookId, MAX_PAGE_BYTES, Page, PageHash, PageRef, RoomId, signed_message};

/// BLAKE3 key-derivation context for seeding batch verification's random coefficients.
/// Deriving them from the batch itself (Fiat-Shamir) keeps verification deterministic and free
/// of an RNG input while forcing a forger to commit to its signatures before learning them.
const BATCH_SEED_CONTEXT: &str = "quire 2026-11 batch verification seed v1";

/// Why a page was rejected.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum ValidationError {
    /// The encoded page is bigger than any valid page can be.
    #[error("page of {len} bytes exceeds the cap of {max} bytes")]
    Oversized {
        /// Encoded length.
        len: usize,
        /// [`MAX_PAGE_BYTES`].
        max: usize,
    },
    /// The bytes are not a well-formed page.
    #[error("malformed page: {0}")]
    Malformed(#[from] DecodeError),
    /// The signature does not verify under the author's key (or the key is not a curve point).
    #[error("bad signature on page {seq} of {author:?}")]
    BadSignature {
        /// Claimed author.
        author: UserId,
        /// Position.
        seq: u64,
    },
    /// The page is for another book than the one it was offered to.
    #[error("page belongs to {found:?}, not {expected:?}")]
    WrongBook {
        /// The book being extended.
        expected: BookId,
        /// The page's book.
        found: BookId,
    },
    /// The page is not the next one of its book.
    #[error("seq gap: expected seq {expected}, found {found}")]
    SeqGap {
        /// The book's length (next seq).
        expected: u64,
        /// The page's seq.
        found: u64,
    },
    /// The page's prev hash is not the hash of the book's page before it.
    #[error("wrong prev hash at seq {seq}: expected {expected:?}, found {found:?}")]
    WrongPrev {
        /// The page's seq.
        seq: u64,
        /// Hash of the book's page at `seq - 1`.
        expected: Option<PageHash>,
        /// The page's prev field.
        found: Option<PageHash>,
    },
    /// The author forked this book at `frozen_at`; nothing at or after it is accepted any more.
    #[error("{author:?} equivocated at seq {frozen_at}; page {seq} refused")]
    Equivocated {
        /// The author.
        author: UserId,
        /// Where the book forked.
        frozen_at: u64,
        /// The refused page's seq.
        seq: u64,
    },
    /// The body did not decrypt or decode.
    #[error("cannot open page {seq} of {author:?}: {source}")]
    Decrypt {
        /// The author.
        author: UserId,
        /// Position.
        seq: u64,
        /// What went wrong.
        source: CryptoError,
    },
}

/// A page whose signature has been verified. Only this module, the book (for pages it signs
/// itself) and [`VerifiedPage::assume_verified`] create one.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct VerifiedPage(Page);

impl VerifiedPage {
    /// Trusts a page without checking its signature. Only for pages read back from this
    /// device's own storage, which holds nothing but pages verified (or signed) before they were
    /// stored; re-verifying them at every start would cost ~30 µs per page.
    pub fn assume_verified(page: Page) -> Self {
        Self(page)
    }

    pub(crate) fn signed_here(page: Page) -> Self {
        Self(page)
    }

    /// The page.
    pub fn page(&self) -> &Page {
        &self.0
    }

    /// The page, giving up the proof of verification.
    pub fn into_page(self) -> Page {
        self.0
    }
}

impl Deref for VerifiedPage {
    type Target = Page;
    fn deref(&self) -> &Page {
        &self.0
    }
}

impl fmt::Debug for VerifiedPage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "VerifiedPage({:?} #{} {:?})",
            self.0.author(),
            self.0.seq(),
            self.0.hash()
        )
    }
}

/// Rejects encoded pages above [`MAX_PAGE_BYTES`] (before any decoding work).
pub fn check_size(encoded_len: usize) -> Result<(), ValidationError> {
    if encoded_len > MAX_PAGE_BYTES {
        Err(ValidationError::Oversized {
            len: encoded_len,
            max: MAX_PAGE_BYTES,
        })
    } else {
        Ok(())
    }
}

/// Decodes a page received from a peer: [`ValidationError::Oversized`] or
/// [`ValidationError::Malformed`].
pub fn decode(bytes: &[u8]) -> Result<Page, ValidationError> {
    check_size(bytes.len())?;
    Ok(Page::decode(bytes)?)
}

fn bad_signature(page: &Page) -> ValidationError {
    ValidationError::BadSignature {
        author: page.author(),
        seq: page.seq(),
    }
}

fn zebra_signature(page: &Page) -> ed25519_zebra::Signature {
    ed25519_zebra::Signature::from_bytes(page.signature().as_bytes())
}

/// Verifies one page's signature: [`ValidationError::BadSignature`].
pub fn verify_signature(page: Page) -> Result<VerifiedPage, ValidationError> {
    let key =
        VerificationKey::try_from(*page.author().as_bytes()).map_err(|_| bad_signature(&page))?;
    key.verify(&zebra_signature(&page), &signed_message(&page.hash()))
        .map_err(|_| bad_signature(&page))?;
    Ok(VerifiedPage(page))
}

/// Verifies many pages' signatures at once (ed25519 batch verification), with the same result
/// per page as [`verify_signature`] (see the module docs). If the batch fails, pages are
/// checked one by one to find the culprits, so one bad page costs the batch its speed-up but
/// never rejects good pages.
pub fn verify_signatures(pages: Vec<Page>) -> Vec<Result<VerifiedPage, ValidationError>> {
    if pages.len() < 2 {
        return pages.into_iter().map(verify_signature).collect();
    }
    let mut verifier = batch::Verifier::new();
    let mut seed = blake3::Hasher::new_derive_key(BATCH_SEED_CONTEXT);
    for page in &pages {
        let message = signed_message(&page.hash());
        let key = VerificationKeyBytes::from(*page.author().as_bytes());
        seed.update(page.author().as_bytes());
        seed.update(page.signature().as_bytes());
        seed.update(&message);
        verifier.queue((key, zebra_signature(page), &message));
    }
    let rng = ChaCha20Rng::from_seed(*seed.finalize().as_bytes());
    if verifier.verify(rng).is_ok() {
        pages
            .into_iter()
            .map(|page| Ok(VerifiedPage(page)))
            .collect()
    } else {
        pages.into_iter().map(verify_signature).collect()
    }
}

/// Checks that `page` extends a book whose last page is `tip` (`None` for an empty book):
/// [`ValidationError::SeqGap`] if it is not the next seq, [`ValidationError::WrongPrev`] if its
/// prev hash does not name `tip`. The book itself (room, author) is checked by the caller.
pub fn check_successor(tip: Option<&PageRef>, page: &Page) -> Result<(), ValidationError> {
    let expected_seq = tip.map_or(0, |tip| tip.seq + 1);
    if page.seq() != expected_seq {
        return Err(ValidationError::SeqGap {
            expected: expected_seq,
            found: page.seq(),
        });
    }
    let expected = tip.map(|tip| tip.hash);
    if page.head().prev != expected {
        return Err(ValidationError::WrongPrev {
            seq: page.seq(),
            expected,
            found: page.head().prev,
        });
    }
    Ok(())
}

/// Decrypts and decodes a page's body: [`ValidationError::Decrypt`].
pub fn open(page: &Page, key: &PageKey) -> Result<Body, ValidationError> {
    key.open_body(page)
        .map_err(|source| ValidationError::Decrypt {
            author: page.author(),
            seq: page.seq(),
            source,
        })
}

/// Why two pages are not a proof of equivocation.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum ProofError {
    /// The two pages have different authors: nobody signed both.
    #[error("the pages are by {first:?} and {second:?}, not one author")]
    WrongAuthor {
        /// Author of the first page.
        first: UserId,
        /// Author of the second page.
        second: UserId,
    },
    /// The two pages are one author's pages in different rooms (different books).
    #[error("the pages are in different rooms")]
    WrongRoom {
        /// Room of the first page.
        first: RoomId,
        /// Room of the second page.
        second: RoomId,
    },
    /// The proof is about another book than the one it was offered to.
    #[error("the proof is about {found:?}, not {expected:?}")]
    WrongBook {
        /// The book being checked.
        expected: BookId,
        /// The book both pages belong to.
        found: BookId,
    },
    /// The two pages are at different positions: writing two pages is not forking.
    #[error("the pages are at seqs {first} and {second}, not one seq")]
    DifferentSeq {
        /// Seq of the first page.
        first: u64,
        /// Seq of the second page.
        second: u64,
    },
    /// The same page twice (the hash covers everything but the signature).
    #[error("both pages are the same page {seq}")]
    SamePage {
        /// Their seq.
        seq: u64,
    },
    /// One of the pages does not carry the author's valid signature.
    #[error("bad signature on page {seq} of {author:?}")]
    BadSignature {
        /// Claimed author.
        author: UserId,
        /// Position.
        seq: u64,
    },
}

/// Proof that an author signed two different pages at the same position of the same book.
/// Both pages are kept, in canonical order (lower hash first), so every peer builds the same
/// proof whichever page it saw first, and anyone can re-check it with [`Equivocation::verify`].
///
/// A proof at seq `n` shows the author forked at `n` or earlier. It marks the *fork point*
/// only if both pages follow the same predecessor ([`Equivocation::shares_predecessor`]):
/// otherwise the two branches already differ below `n`, and a lower proof exists (see
/// [`crate::book`] on how a book walks down to it).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Equivocation {
    first: Page,
    second: Page,
}

impl Equivocation {
    /// The author who equivocated.
    pub fn author(&self) -> UserId {
        self.first.author()
    }
    /// The book that forked.
    pub fn book(&self) -> BookId {
        self.first.book()
    }
    /// The seq of the two conflicting pages (the fork is here or lower).
    pub fn seq(&self) -> u64 {
        self.first.seq()
    }
    /// The two conflicting pages, lower hash first.
    pub fn pages(&self) -> (&Page, &Page) {
        (&self.first, &self.second)
    }

    /// Re-checks a proof received from a peer: one author, one room, one seq, two different
    /// pages, both signatures valid (checked last: they are the expensive part).
    pub fn verify(first: Page, second: Page) -> Result<Self, ProofError> {
        check_pair(&first, &second)?;
        let signed = |page: Page| {
            let (author, seq) = (page.author(), page.seq());
            verify_signature(page).map_err(|_| ProofError::BadSignature { author, seq })
        };
        let first = signed(first)?;
        let second = signed(second)?;
        check_equivocation(&first, &second)
    }

    /// Whether both pages follow the same predecessor (or are both first pages): then every
    /// branch containing either page agrees on every page below [`Equivocation::seq`], so the
    /// book truly forked here. Intrinsic to the proof: needs no other page.
    pub fn shares_predecessor(&self) -> bool {
        self.first.head().prev == self.second.head().prev
    }

    /// The predecessor both pages follow, if they share one and are not first pages.
    pub fn predecessor(&self) -> Option<PageRef> {
        let seq = self.seq().checked_sub(1)?;
        let hash = self.first.head().prev?;
        self.shares_predecessor().then_some(PageRef {
            author: self.author(),
            seq,
            hash,
        })
    }

    /// Whether this proof is the fork point as far as `book` can tell: both pages follow the
    /// same predecessor and, if the book holds the page just before the proof's seq, it is that
    /// predecessor (a different held page there means the held branch forked lower still).
    /// Always true at seq 0.
    pub fn is_fork_point(&self, book: &Book) -> bool {
        let Some(below) = self.seq().checked_sub(1) else {
            return true;
        };
        self.shares_predecessor()
            && book
                .get(below)
                .is_none_or(|held| Some(held.hash()) == self.first.head().prev)
    }
}

/// The checks on a pair that need no signature.
fn check_pair(a: &Page, b: &Page) -> Result<(), ProofError> {
    if a.author() != b.author() {
        return Err(ProofError::WrongAuthor {
            first: a.author(),
            second: b.author(),
        });
    }
    if a.book().room != b.book().room {
        return Err(ProofError::WrongRoom {
            first: a.book().room,
            second: b.book().room,
        });
    }
    if a.seq() != b.seq() {
        return Err(ProofError::DifferentSeq {
            first: a.seq(),
            second: b.seq(),
        });
    }
    if a.hash() == b.hash() {
        return Err(ProofError::SamePage { seq: a.seq() });
    }
    Ok(())
}

/// Builds the proof from two verified pages: [`ProofError::WrongAuthor`],
/// [`ProofError::WrongRoom`], [`ProofError::DifferentSeq`] or [`ProofError::SamePage`] if
/// they are not one book's two different pages at one seq.
pub fn check_equivocation(a: &VerifiedPage, b: &VerifiedPage) -> Result<Equivocation, ProofError> {
    check_pair(a, b)?;
    let (first, second) = if a.hash() < b.hash() { (a, b) } else { (b, a) };
    Ok(Equivocation {
        first: first.page().clone(),
        second: second.page().clone(),
    })
}

/// Two verified pages at the same (book, seq) with different hashes are an equivocation.
pub fn detect_equivocation(a: &VerifiedPage, b: &VerifiedPage) -> Option<Equivocation> {
    check_equivocation(a, b).ok()
}
