//! The room's membership policy: who may have pages stored, who may be served which books,
//! where a removal or a leave cuts a member off, and which key epoch a page must use. The room fold ([`crate::room`]) keeps the
//! [`Tenures`]; the replica and sync ask this module, and nothing else re-derives membership.
//!
//! # Tenures live in each author's own seq space
//!
//! A member's tenure runs from the seq its Create or Admit opened it at to the seq a Remove or
//! Leave cut it at (exclusive). A page of `author` at `seq` counts when a tenure of `author`
//! covers `seq`; its timestamp plays no part. A `Remove { member, seen }` cuts at `seen`, the
//! member's book length the remover had seen: pages the remover saw count, every later page of
//! the member does not, so a removed member gains nothing by back-dating (it can only write at
//! seqs at or past its cut). A Leave at seq `s` cuts at `s + 1`.
//!
//! An Admit opens a tenure at the seq after the member's latest join request folded so far (a
//! requester's book starts with its request), and never below a previous cut, so pages written
//! while outside do not count after a re-admission that followed a new request.
//!
//! # What may be stored
//!
//! - From a member: everything.
//! - From a former member: pages below `cut + MAX_PAGES_PAST_CUT` (pages written concurrently
//!   with the removal, before the member learned of it, must reach every peer alike; a removed
//!   member cannot flood beyond that). A peer that stored more before it learned of the cut
//!   drops the excess, so every peer ends with the same pages.
//! - From a pending requester: nothing beyond its request.
//! - From an author nobody has heard of: only a seq-0 control page that decrypts to a join
//!   request (or a create), and at most [`MAX_PENDING_REQUESTS`] such requesters per room. When
//!   full, the requests of the lowest user ids are kept (a rule every peer applies alike, so all
//!   peers converge on the same requests), except a request some held page depends on (an owner
//!   admitted it), which is always kept.
//!
//! # Key epochs
//!
//! Which secret a page is sealed under, who holds which, and the re-keys and grants a member
//! owes: [`Epochs`] (see its module docs).
//!
//! # Who may be served what
//!
//! [`SyncRight`] (asked through `Replica::may_sync`, enforced by [`crate::sync::SyncSession`]
//! on everything it sends: heads, answers, pushes and proofs):
//!
//! - a member: every committed page;
//! - a former member: only the pages folded at or before the operation that cut it off (its
//!   removal and what that removal depends on, so it learns it was removed, plus pages written
//!   concurrently with it, which it may read anyway), never a page written by someone who had
//!   folded the removal;
//! - a pending requester or a stranger: nothing. Everything a requester needs arrives once it
//!   is admitted (it is then a member); its own request reaches the owners because it serves it.
//! - Anyone, while this peer has not folded the room's creation: it knows nothing of who
//!   belongs, and holds nothing but its own request and pages it cannot place yet.

use std::collections::BTreeMap;

pub mod auto_admit;
mod epochs;
pub use epochs::{Epochs, KeyDuty, KeysEntry};

use crate::identity::UserId;
use crate::page::{PageRef, Role};

/// Most join requests held from authors who are not members. Why: anyone who knows a room id
/// can sign a request from a fresh identity; 32 unanswered requests is more than any room's
/// owners answer at once, and bounds what strangers can make every member store.
pub const MAX_PENDING_REQUESTS: usize = 32;

/// Pages accepted from a former member beyond its cut. Why: an honest member keeps writing
/// until the removal reaches it (a few pages); 64 covers a long offline stretch, and bounds what
/// a removed member can make every peer store.
pub const MAX_PAGES_PAST_CUT: u64 = 64;

/// How far in the future of the receiver's clock a page's timestamp may be before the page is
/// held back (not stored, not shown) until that time. Why: device clocks drift by seconds to
/// minutes; five minutes tolerates that while a page stamped in the far future cannot sort
/// after everything written meanwhile.
pub const MAX_CLOCK_SKEW_MS: u64 = 5 * 60 * 1000;

/// Most pages held back for their timestamp at once. Why: each is at most 64 KiB, so this
/// bounds the hold to 64 MiB per room; an honest peer never has more than a handful.
pub const MAX_HELD_PAGES: usize = 1024;

/// Where a control page sits in the fold order: causal depth, then page id. Depth is
/// `1 + max(depth of dependencies)`, so this is a topological order, and it is computed from the
/// page set alone (no timestamp enters it).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct FoldKey {
    /// Longest dependency chain below the page.
    pub depth: u64,
    /// The page.
    pub id: PageRef,
}

impl FoldKey {
    /// The fold position of a released page at display position `key`.
    pub fn of(key: &crate::causal::DisplayKey<PageRef>) -> Self {
        Self {
            depth: key.depth,
            id: key.id,
        }
    }
}

/// One stretch of membership, in the member's own seq space.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Tenure {
    /// First seq that counts.
    pub start: u64,
    /// First seq that no longer counts (`None`: still a member).
    pub cut: Option<u64>,
    /// Role held (the latest, for a tenure that was cut).
    pub role: Role,
}

impl Tenure {
    /// Whether a page at `seq` falls within this tenure.
    pub fn covers(&self, seq: u64) -> bool {
        seq >= self.start && self.cut.is_none_or(|cut| seq < cut)
    }
}

/// Every user's tenures, as the room fold built them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Tenures {
    by_user: BTreeMap<UserId, Vec<Tenure>>,
}

impl Tenures {
    /// Opens a tenure for `user` at `start` (no-op if one is open).
    pub fn open(&mut self, user: UserId, start: u64, role: Role) {
        let spans = self.by_user.entry(user).or_default();
        if spans.last().is_some_and(|t| t.cut.is_none()) {
            return;
        }
        let start = spans
            .last()
            .and_then(|t| t.cut)
            .map_or(start, |c| start.max(c));
        spans.push(Tenure {
            start,
            cut: None,
            role,
        });
    }

    /// Cuts `user`'s open tenure at `at` (never below its start). Returns whether one was open.
    pub fn cut(&mut self, user: &UserId, at: u64) -> bool {
        match self.by_user.get_mut(user).and_then(|s| s.last_mut()) {
            Some(t) if t.cut.is_none() => {
                t.cut = Some(at.max(t.start));
                true
            }
            _ => false,
        }
    }

    /// Changes the role of `user`'s open tenure.
    pub fn set_role(&mut self, user: &UserId, role: Role) {
        if let Some(t) = self.by_user.get_mut(user).and_then(|s| s.last_mut())
            && t.cut.is_none()
        {
            t.role = role;
        }
    }

    /// The tenure of `user` covering `seq`, if any.
    pub fn covering(&self, user: &UserId, seq: u64) -> Option<&Tenure> {
        self.by_user
            .get(user)
            .and_then(|s| s.iter().find(|t| t.covers(seq)))
    }

    /// Whether a page of `user` at `seq` counts.
    pub fn counts(&self, user: &UserId, seq: u64) -> bool {
        self.covering(user, seq).is_some()
    }

    /// `user`'s tenures, oldest first.
    pub fn of(&self, user: &UserId) -> &[Tenure] {
        self.by_user.get(user).map_or(&[], Vec::as_slice)
    }

    /// Where `user` was last cut off, if it is not a member now but was one.
    pub fn cut_at(&self, user: &UserId) -> Option<u64> {
        self.by_user
            .get(user)
            .and_then(|s| s.last())
            .and_then(|t| t.cut)
    }

    /// Whether `user` has an open tenure.
    pub fn is_open(&self, user: &UserId) -> bool {
        self.by_user
            .get(user)
            .and_then(|s| s.last())
            .is_some_and(|t| t.cut.is_none())
    }

    /// Whether `user` ever held a tenure.
    pub fn ever(&self, user: &UserId) -> bool {
        self.by_user.get(user).is_some_and(|s| !s.is_empty())
    }

    /// Whether anyone who was a member is not one now (removed or left, not re-admitted).
    pub fn anyone_left(&self) -> bool {
        self.by_user
            .values()
            .any(|s| s.last().is_some_and(|t| t.cut.is_some()))
    }
}

/// What the room says about an author now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Standing {
    /// Holds an open tenure.
    Member,
    /// Was a member; cut off at `cut` in its own seq space.
    Former {
        /// First seq that no longer counts.
        cut: u64,
    },
    /// Asked to join; not answered yet.
    Pending,
    /// Never a member and no request held.
    Unknown,
}

impl Standing {
    /// The standing of `user` given the tenures and whether a join request of theirs is held.
    pub fn of(tenures: &Tenures, user: &UserId, requested: bool) -> Self {
        if tenures.is_open(user) {
            Self::Member
        } else if let Some(cut) = tenures.cut_at(user) {
            Self::Former { cut }
        } else if requested {
            Self::Pending
        } else {
            Self::Unknown
        }
    }

    /// One past the highest seq of this author's book that may be stored (`u64::MAX`: no bound).
    pub fn store_limit(self) -> u64 {
        match self {
            Self::Member => u64::MAX,
            Self::Former { cut } => cut.saturating_add(MAX_PAGES_PAST_CUT),
            Self::Pending | Self::Unknown => 1,
        }
    }
}

/// Which pages a peer may be served.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SyncRight {
    /// Every committed page.
    Full,
    /// The pages at or before this fold position: that of the operation that cut the peer off.
    UntilCut(FoldKey),
    /// Nothing.
    None,
}

impl SyncRight {
    /// The right of a peer of `standing`, given whether the room's creation has been folded here
    /// and the fold position of the operation that last cut the peer off (for a former member).
    pub fn of(standing: Standing, created: bool, cut_at: Option<FoldKey>) -> Self {
        if !created {
            return Self::Full;
        }
        match (standing, cut_at) {
            (Standing::Member, _) => Self::Full,
            (Standing::Former { .. }, Some(key)) => Self::UntilCut(key),
            (Standing::Former { .. }, None) | (Standing::Pending | Standing::Unknown, _) => {
                Self::None
            }
        }
    }

    /// Whether a page placed at fold position `key` may be served under this right. (A page
    /// not placed in the order yet is served to nobody: `Replica::served_len`.)
    pub fn covers(self, key: FoldKey) -> bool {
        match self {
            Self::Full => true,
            Self::UntilCut(cut) => key <= cut,
            Self::None => false,
        }
    }
}

/// Why a page from a peer was not stored.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StoreRefusal {
    /// Nobody has heard of the author and the page is not a seq-0 join request.
    #[error("{author:?} is not known to the room and page {seq} is not a join request")]
    Stranger {
        /// The author.
        author: UserId,
        /// The page's seq.
        seq: u64,
    },
    /// A pending requester may write nothing but its request until admitted.
    #[error("{author:?} has not been admitted; page {seq} refused")]
    NotAdmitted {
        /// The author.
        author: UserId,
        /// The page's seq.
        seq: u64,
    },
    /// A former member's page too far past its cut.
    #[error(
        "{author:?} was cut off at seq {cut}; page {seq} is beyond the {MAX_PAGES_PAST_CUT} accepted after it"
    )]
    PastCut {
        /// The author.
        author: UserId,
        /// Where the author was cut off.
        cut: u64,
        /// The page's seq.
        seq: u64,
    },
    /// [`MAX_PENDING_REQUESTS`] requests from lower user ids are already held.
    #[error("{MAX_PENDING_REQUESTS} join requests are already held")]
    TooManyRequests {
        /// The requester.
        author: UserId,
    },
    /// A page at seq 0 of the room creator's book that is not the room's root
    /// ([`crate::room::is_room_root`]): the creator's device wrote without holding its own
    /// book (a restored backup, cleared site data). It never counts, and it is no fork.
    #[error("{author:?} created this room; page {page:?} is not the room's first page")]
    NotRoot {
        /// The room's creator.
        author: UserId,
        /// The refused page.
        page: PageRef,
    },
    /// [`MAX_HELD_PAGES`] pages stamped in the future are already held back.
    #[error("{MAX_HELD_PAGES} future-dated pages are already held back")]
    HoldFull {
        /// The page.
        page: PageRef,
    },
}

/// Whether a page of `author` at `seq` may be stored, given the author's standing and whether
/// the page is a seq-0 join request (or create). The request cap is the replica's to apply,
/// since it needs every held request.
pub fn may_store(
    standing: Standing,
    author: UserId,
    seq: u64,
    is_request: bool,
) -> Result<(), StoreRefusal> {
    match standing {
        Standing::Member => Ok(()),
        Standing::Former { cut } => {
            if seq < standing.store_limit() {
                Ok(())
            } else {
                Err(StoreRefusal::PastCut { author, cut, seq })
            }
        }
        Standing::Pending => Err(StoreRefusal::NotAdmitted { author, seq }),
        Standing::Unknown => {
            if seq == 0 && is_request {
                Ok(())
            } else {
                Err(StoreRefusal::Stranger { author, seq })
            }
        }
    }
}

/// Which of the `held` requesters to give up so that `newcomer` fits under
/// [`MAX_PENDING_REQUESTS`]: `Ok(None)` if there is room, `Ok(Some(evicted))` if the newcomer's
/// id is lower than the highest evictable one held, else the refusal. `held` must not contain
/// requests that held pages depend on (those are never evicted).
pub fn admit_request(held: &[UserId], newcomer: UserId) -> Result<Option<UserId>, StoreRefusal> {
    if held.len() < MAX_PENDING_REQUESTS {
        return Ok(None);
    }
    match held.iter().max() {
        Some(highest) if newcomer < *highest => Ok(Some(*highest)),
        _ => Err(StoreRefusal::TooManyRequests { author: newcomer }),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests;
