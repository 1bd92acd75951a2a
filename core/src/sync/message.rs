//! Sync wire messages of `/quire/sync/1` and their size caps.
//!
//! Encoded with postcard (serde). These messages are never signed or hashed, so postcard's
//! compact, stable format is enough here; pages inside them are carried as one byte string each
//! holding their canonical signed encoding ([`crate::page`]), so serde never decides a page's
//! layout. Every list is capped, and a frame larger than [`MAX_MESSAGE_BYTES`] is refused before
//! decoding; a new incompatible layout gets a new protocol id (`/quire/sync/2`).

use serde::{Deserialize, Serialize};

use crate::identity::UserId;
use crate::page::{MAX_PAGE_BYTES, Page, RoomId};
use crate::room::BookHead;

/// The libp2p protocol id of room sync.
pub const PROTOCOL: &str = "/quire/sync/1";

/// Most books a heads message may list. Why: one book per member; 1,024 members is far beyond
/// what the connection plan and a browser are designed for, and 1,024 heads are ~90 KiB.
pub const MAX_HEADS: usize = 1024;

/// Most ranges one want message may carry. Why: one per book that needs pages; bounded so the
/// responder's work per request is bounded.
pub const MAX_WANT_RANGES: usize = 64;

/// Most pages in one pages message. Why: a catch-up batch; 512 small text pages (~300 B each)
/// make ~150 KiB, a good unit of work for verification and for one IndexedDB transaction.
pub const MAX_BATCH_PAGES: usize = 512;

/// Most page bytes a responder packs into one pages message. Why: keeps one message (and the
/// memory it pins on both sides) around a megabyte; a single page is always allowed.
pub const MAX_BATCH_BYTES: usize = 1024 * 1024;

/// Largest encoded message accepted. Why: a batch at its byte cap plus one maximal page that
/// may overshoot it, plus framing.
pub const MAX_MESSAGE_BYTES: usize = MAX_BATCH_BYTES + MAX_PAGE_BYTES + 4096;

/// A request for `from..to` of `author`'s book.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct WantRange {
    /// Whose book.
    pub author: UserId,
    /// First seq wanted.
    pub from: u64,
    /// One past the last seq wanted.
    pub to: u64,
}

/// One message of `/quire/sync/1`. Each carries the room id so a driver may multiplex rooms
/// over one stream.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum SyncMessage {
    /// The sender's book heads: sent first, and again periodically (anti-entropy).
    Heads {
        /// The room.
        room: RoomId,
        /// One per book held.
        heads: Vec<BookHead>,
    },
    /// Please send these ranges.
    Want {
        /// The room.
        room: RoomId,
        /// Ranges, each answered as far as the batch caps allow.
        ranges: Vec<WantRange>,
    },
    /// Pages: an answer to a want (`reply`), or new pages pushed as soon as they are known.
    Pages {
        /// The room.
        room: RoomId,
        /// Whether this answers the receiver's outstanding want.
        reply: bool,
        /// The pages, each in its canonical encoding.
        pages: Vec<Page>,
    },
}

/// Why bytes are not a valid sync message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MessageError {
    /// Larger than [`MAX_MESSAGE_BYTES`].
    #[error("sync message of {0} bytes exceeds the cap")]
    TooLarge(usize),
    /// Not a message (or a page inside it is malformed).
    #[error("malformed sync message: {0}")]
    Malformed(String),
    /// A list is longer than its cap.
    #[error("sync message {what} has {len} entries, cap {max}")]
    TooMany {
        /// Which list.
        what: &'static str,
        /// Entries found.
        len: usize,
        /// The cap.
        max: usize,
    },
}

impl SyncMessage {
    /// The room the message is about.
    pub fn room(&self) -> RoomId {
        match self {
            Self::Heads { room, .. } | Self::Want { room, .. } | Self::Pages { room, .. } => *room,
        }
    }

    /// Encodes the message (one frame; the driver adds length-prefix framing).
    pub fn encode(&self) -> Vec<u8> {
        // Serializing plain data into a Vec cannot fail; an empty frame would be refused by
        // the peer rather than panic here.
        postcard::to_allocvec(self).unwrap_or_default()
    }

    /// Decodes one frame, enforcing every cap.
    pub fn decode(bytes: &[u8]) -> Result<Self, MessageError> {
        if bytes.len() > MAX_MESSAGE_BYTES {
            return Err(MessageError::TooLarge(bytes.len()));
        }
        let message: Self =
            postcard::from_bytes(bytes).map_err(|e| MessageError::Malformed(e.to_string()))?;
        let (what, len, max) = match &message {
            Self::Heads { heads, .. } => ("heads", heads.len(), MAX_HEADS),
            Self::Want { ranges, .. } => ("ranges", ranges.len(), MAX_WANT_RANGES),
            Self::Pages { pages, .. } => ("pages", pages.len(), MAX_BATCH_PAGES),
        };
        if len > max {
            return Err(MessageError::TooMany { what, len, max });
        }
        Ok(message)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests;
