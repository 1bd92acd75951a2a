//! The values kept in each object store.
//!
//! Records are serde structs stored as plain JS objects. Adding a field is not a schema change:
//! give it `#[serde(default)]` so records written by older versions still read. Only new stores,
//! new indexes or rewrites of existing data need a new schema version ([`super::schema`]).
//!
//! Ids are strings chosen by the model (core's ids in their text form): IndexedDB compares
//! string keys exactly, they show up readably in the browser's storage inspector, and they
//! keep core's binary id types out of the storage layer.
//!
//! Numbers: IndexedDB keys and values are JS numbers, exact up to 2^53. Sequence numbers and
//! lengths are far below that (a book is capped long before), and timestamps are milliseconds.

use serde::{Deserialize, Serialize};

/// This device's identity: the user's ed25519 key. Exactly one per database.
#[derive(Clone, PartialEq, Serialize, Deserialize)]
pub struct IdentityRecord {
    /// The 32-byte ed25519 secret key (seed), as core's `Identity::from_secret_bytes` takes it.
    #[serde(with = "serde_bytes")]
    pub secret_key: Vec<u8>,
    /// When this identity was created (ms since the Unix epoch), shown in the backup dialog.
    pub created_at_ms: f64,
}

impl std::fmt::Debug for IdentityRecord {
    // The secret key must never reach logs or panic messages.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IdentityRecord")
            .field("secret_key", &"<secret>")
            .field("created_at_ms", &self.created_at_ms)
            .finish()
    }
}

/// What the user tells others about themselves.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProfileRecord {
    pub display_name: String,
}

/// A room this device takes part in (or took part in: left and deleted rooms stay readable).
#[derive(Clone, PartialEq, Serialize, Deserialize)]
pub struct RoomRecord {
    pub id: String,
    /// The room key that encrypts page bodies; never leaves members' devices except in invites.
    #[serde(with = "serde_bytes")]
    pub key: Vec<u8>,
    /// The room's name as last known locally (the control pages are the source of truth).
    pub name: String,
    /// When this device joined or created the room (ms since the Unix epoch); sorts new rooms.
    pub joined_at_ms: f64,
    /// Read markers: (author's user key, number of that author's pages read).
    #[serde(default)]
    pub read: Vec<(String, u64)>,
    /// The invite id (16 bytes) of a join request not written yet: set while this device waits
    /// to hear from a member whether the user is in the room already, empty once the request is
    /// written or the user's own book arrived.
    #[serde(default, with = "serde_bytes")]
    pub pending_invite: Vec<u8>,
    /// Who made that invite (user key): a peer's heads count for the waiting join only if they
    /// name the inviter's book (`model::session::joining`). Empty when stored by an earlier
    /// version.
    #[serde(default)]
    pub pending_inviter: String,
    /// Proof that the user holds that invite's link (32 bytes; `model::invites`), written with
    /// the request. Empty for a link without a secret, or when stored by an earlier version.
    #[serde(default, with = "serde_bytes")]
    pub pending_proof: Vec<u8>,
    /// Join requests an owner on this device declined (user keys): hidden from the list. Core
    /// has no "decline" page: a declined requester simply stays outside.
    #[serde(default)]
    pub declined: Vec<String>,
    /// Invites made here that admit whoever joins through them without asking (16-byte ids).
    #[serde(default)]
    pub auto_admit_invites: Vec<[u8; 16]>,
    /// When each of `auto_admit_invites` expires (ms since the Unix epoch, same order). An
    /// invite stored without one (by an earlier version) admits no one by itself any more: an
    /// owner approves such requests by hand.
    #[serde(default)]
    pub auto_admit_until_ms: Vec<f64>,
    /// Whether each of `auto_admit_invites` lets in one person only (same order; missing
    /// entries, from earlier versions, let in anyone).
    #[serde(default)]
    pub auto_admit_single_use: Vec<bool>,
    /// The secret of each of `auto_admit_invites`' links (same order), which a request must
    /// prove it holds. Missing or empty entries (links kept by earlier versions) admit no one
    /// by themselves.
    #[serde(default)]
    pub auto_admit_secrets: Vec<Option<[u8; 32]>>,
}

impl std::fmt::Debug for RoomRecord {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RoomRecord")
            .field("id", &self.id)
            .field("key", &"<secret>")
            .field("name", &self.name)
            .field("joined_at_ms", &self.joined_at_ms)
            .field("read", &self.read)
            .finish_non_exhaustive()
    }
}

/// Where a book stands locally: how many pages are stored and the hash of the last one.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BookRecord {
    pub id: String,
    pub room: String,
    pub author: String,
    /// Number of pages stored; they have seqs `0..length`, without gaps.
    pub length: u64,
    /// Hash of the page at `length - 1` (empty while the book is empty).
    #[serde(with = "serde_bytes")]
    pub head: Vec<u8>,
}

/// One page as core encoded and signed it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PageRecord {
    pub book: String,
    pub seq: u64,
    #[serde(with = "serde_bytes")]
    pub bytes: Vec<u8>,
}

/// The book lengths a peer last reported for one room: what it has, so delivery ticks
/// ("on k of n devices") survive a reload.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PeerHeadsRecord {
    pub room: String,
    pub peer: String,
    /// (book id, length) pairs.
    pub lengths: Vec<(String, u64)>,
    /// When the peer last reported (ms since the Unix epoch), shown as "last seen".
    pub seen_at_ms: f64,
}

/// Proof that a book's author signed two different pages at one seq: the book is kept cut
/// there. One record per book (a lower proof replaces a higher one).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProofRecord {
    pub book: String,
    pub room: String,
    /// The seq both pages claim; the book holds no page at or above it.
    pub seq: u64,
    /// The two conflicting pages, as core encoded and signed them.
    #[serde(with = "serde_bytes")]
    pub first: Vec<u8>,
    #[serde(with = "serde_bytes")]
    pub second: Vec<u8>,
}

/// A shared file's sealed blob this device holds, whole or in part.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BlobRecord {
    /// The blob's address (hex).
    pub id: String,
    /// Sealed size in bytes.
    pub size: u64,
    /// Which pieces are stored: bit `i` of byte `i / 8` for piece `i` (see `model::files`).
    #[serde(with = "serde_bytes")]
    pub pieces: Vec<u8>,
    /// The hash tree, stored once every piece is here and the whole was checked against the
    /// address (empty until then). A blob with it is whole: this device serves it.
    #[serde(default, with = "serde_bytes")]
    pub outboard: Vec<u8>,
    /// When this device started holding it (ms since the Unix epoch).
    pub added_at_ms: f64,
    /// The user paused its download: the app does not resume it when it starts.
    #[serde(default)]
    pub paused: bool,
}

/// One piece of a blob's sealed bytes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PieceRecord {
    pub blob: String,
    pub index: u64,
    #[serde(with = "serde_bytes")]
    pub bytes: Vec<u8>,
}

#[cfg(test)]
mod tests {
    use super::{IdentityRecord, RoomRecord};

    /// The secret bytes as `Debug` would print them if they were not hidden.
    const SECRET: [u8; 32] = [0xa7; 32];

    /// Whether `printed` shows the secret's bytes, in decimal (as `Debug` prints a `Vec<u8>`)
    /// or in hex.
    fn leaks(printed: &str) -> bool {
        printed.contains("167, 167") || printed.contains("a7a7")
    }

    #[test]
    fn identity_and_room_keys_never_reach_debug_output() {
        let identity = IdentityRecord {
            secret_key: SECRET.to_vec(),
            created_at_ms: 1.0,
        };
        let room = RoomRecord {
            id: "room".into(),
            key: SECRET.to_vec(),
            name: "Trip".into(),
            joined_at_ms: 1.0,
            read: Vec::new(),
            pending_invite: Vec::new(),
            pending_inviter: String::new(),
            declined: Vec::new(),
            auto_admit_invites: Vec::new(),
            auto_admit_until_ms: Vec::new(),
            auto_admit_single_use: Vec::new(),
            auto_admit_secrets: Vec::new(),
            pending_proof: Vec::new(),
        };
        for printed in [format!("{identity:?}"), format!("{room:?}")] {
            assert!(!leaks(&printed), "a key in {printed}");
            assert!(
                printed.contains("<secret>"),
                "{printed} says a secret is hidden"
            );
        }
        // The check itself: the bytes printed plainly are caught.
        assert!(leaks(&format!("{:?}", identity.secret_key)));
    }
}
