//! Pages: the signed, sealed entries of a book, and their one wire encoding.
//!
//! A page is `{ head: (book, seq, prev), refs, kind, meta, nonce, data }` plus the author's
//! signature. `data` is ciphertext (see [`crate::crypto`]); everything else is plaintext so that
//! any member can check signatures, chain order and causal dependencies, and forward pages,
//! before (or without) decrypting them.
//!
//! # Wire format, version 1
//!
//! Encoded with the strict canonical codec of [`crate::codec`] (varints are minimal LEB128):
//!
//! ```text
//! content := version:u8 (=1)
//!            room:[32] author:[32] seq:varint
//!            prev: 0 | 1 hash:[32]            -- none exactly when seq == 0
//!            refs: count:varint { author:[32] seq:varint hash:[32] }*
//!                                             -- strictly ascending by author, never the page's own
//!            kind:u8  timestamp_ms:varint
//!            [key:[16]]                        -- version 2 only
//!            nonce:[24]  data: len:varint bytes
//! page    := content signature:[64]
//! ```
//!
//! Version 2 adds `key`, the [`KeyId`] of the room epoch whose key sealed `data` (see
//! [`crate::crypto`] and [`crate::membership`] on epochs). A page sealed under the room's
//! original secret (epoch 0: every room before epochs existed, and every page written before a
//! room's first re-key) has no key id and is written as version 1, byte for byte as before, so
//! stored pages keep their hashes and signatures. Each decoded page has exactly one encoding:
//! version 1 exactly when `key` is `None`.
//!
//! # Hash and signature
//!
//! [`PageHash`] is BLAKE3 in key-derivation mode (context [`PAGE_HASH_CONTEXT`]) over `content`.
//! The author signs [`signed_message`]`(hash)` = [`PAGE_SIGNATURE_DOMAIN`] `||` hash — built by
//! that one function only. Signing the hash rather than the content keeps the ed25519 message
//! short (SHA-512 over a 56 KiB page would cost more than BLAKE3 over it) and makes "the bytes
//! that are signed" a fixed 56-byte layout that no future encoding change can silently alter.
//! Because the codec is canonical, the content re-encoded from a decoded page is byte-identical
//! to what was received, so hash and signature are checked over exactly the received bytes.
//! The hash excludes the signature: a page's identity does not depend on signature encoding.

pub mod body;

use core::fmt;

use crate::codec::{DecodeError, Reader, Writer};
use crate::identity::{Identity, SIGNATURE_LEN, Signature, USER_ID_LEN, UserId, hex_prefix};

pub use body::{
    Body, ControlOp, FileBody, Grant, InviteId, KeysBody, LinkProof, MessageBody, Profile, Role,
};

/// The page format version this build writes for pages sealed under the room's original secret
/// (no [`KeyId`]).
pub const PAGE_FORMAT_VERSION: u8 = 1;
/// The page format version this build writes for pages sealed under a later epoch's key (with
/// a [`KeyId`]).
pub const PAGE_FORMAT_VERSION_KEYED: u8 = 2;

/// BLAKE3 key-derivation context for [`PageHash`]. Unique to Quire pages so no other BLAKE3 use
/// can produce a colliding value.
pub const PAGE_HASH_CONTEXT: &str = "quire 2026-11 page hash v1";

/// Prefix of every page signature's message, so a page signature can never be replayed as a
/// signature over anything else this key signs (invites, libp2p handshakes).
pub const PAGE_SIGNATURE_DOMAIN: &[u8; 24] = b"quire/page/v1/signature\0";

/// Cap on a page's encrypted `data` (ciphertext including the 16-byte tag): 56 KiB.
/// Why: a page must fit, with headroom, in one sync message and in one IndexedDB record without
/// stalling a browser; files travel as blobs outside pages ([`crate::blob`]).
pub const MAX_DATA_BYTES: usize = 56 * 1024;

/// Cap on `refs` per page. Why: refs are a *sparse* vector clock — an author lists only books
/// that advanced since its own previous page, and causality is transitive — so a page needs many
/// refs only in a large, busy room; 64 keeps worst-case refs to ~4.6 KiB and decode work bounded.
/// An author with more new heads than this picks the 64 most recent; the rest stay reachable
/// through its later pages.
pub const MAX_REFS: usize = 64;

/// Cap on an encoded page. Why: the sum of the field caps below it, rounded up to 64 KiB, so a
/// sync peer can reject an oversized frame before decoding it.
pub const MAX_PAGE_BYTES: usize = 64 * 1024;

/// Largest `content` a page can have: the fixed fields, the worst-case refs and data.
const MAX_CONTENT_BYTES: usize = 1
    + 32
    + 32
    + 10
    + 33
    + 10
    + MAX_REFS * (32 + 10 + 32)
    + 1
    + 10
    + KEY_ID_LEN
    + 24
    + 10
    + MAX_DATA_BYTES;
const _: () = assert!(MAX_CONTENT_BYTES + SIGNATURE_LEN <= MAX_PAGE_BYTES);

/// Length of a [`RoomId`].
pub const ROOM_ID_LEN: usize = 32;
/// Length of a [`PageHash`].
pub const HASH_LEN: usize = 32;
/// Length of an XChaCha20-Poly1305 nonce.
pub const NONCE_LEN: usize = 24;
/// Length of a [`KeyId`].
pub const KEY_ID_LEN: usize = 16;

/// Names one epoch's secret without revealing it: the first 16 bytes of a BLAKE3 derivation
/// from the secret ([`crate::crypto::RoomSecret::key_id`]). Plaintext in pages, so every peer
/// can tell which epoch a page uses, and which epochs a member was given, without holding any.
#[derive(
    Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize,
)]
pub struct KeyId(pub [u8; KEY_ID_LEN]);

impl fmt::Debug for KeyId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "KeyId({})", hex_prefix(&self.0))
    }
}

/// A room's id: 32 bytes chosen by its creator (random for group rooms, derived from both
/// user ids for 1:1 rooms), never secret.
#[derive(
    Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize,
)]
pub struct RoomId(pub [u8; ROOM_ID_LEN]);

impl fmt::Debug for RoomId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "RoomId({})", hex_prefix(&self.0))
    }
}

/// A book: the append-only log of one author in one room.
#[derive(
    Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Debug, serde::Serialize, serde::Deserialize,
)]
pub struct BookId {
    /// The room the book belongs to.
    pub room: RoomId,
    /// The only user who writes it.
    pub author: UserId,
}

/// BLAKE3 hash identifying a page (see the module docs for what it covers).
#[derive(
    Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize,
)]
pub struct PageHash(pub [u8; HASH_LEN]);

impl fmt::Debug for PageHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PageHash({})", hex_prefix(&self.0))
    }
}

/// A pointer to one page of the same room: the author's book, the position, and the hash that
/// pins exactly which page (so an equivocating author cannot swap it).
#[derive(
    Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Debug, serde::Serialize, serde::Deserialize,
)]
pub struct PageRef {
    /// Author of the referenced page (its book, within this room).
    pub author: UserId,
    /// Position in that book (0-based).
    pub seq: u64,
    /// Hash of the referenced page.
    pub hash: PageHash,
}

/// Where a page sits: its book, its position, and the hash of its predecessor.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub struct PageHead {
    /// The book (room + author).
    pub book: BookId,
    /// 0-based position; a book of length `n` holds seqs `0..n`.
    pub seq: u64,
    /// Hash of the page at `seq - 1`; `None` exactly for `seq == 0`.
    pub prev: Option<PageHash>,
}

/// What a page is, in plaintext so that validation and the room fold can route a page before
/// decrypting it. Kinds this build does not know decode as [`PageKind::Other`], so older peers
/// still verify, store and forward pages written by newer ones (they just cannot show them).
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Debug)]
pub enum PageKind {
    /// A room control operation ([`ControlOp`]); the only kind a non-member may write (to ask
    /// to join).
    Control,
    /// A chat message, edit or retraction ([`MessageBody`]).
    Message,
    /// A shared file: its description and the sealed blob holding its bytes ([`FileBody`]).
    File,
    /// The author holds (or no longer holds) a copy of a file's blob
    /// ([`crate::blob::holders::HoldingBody`]).
    Holding,
    /// The author's profile within the room, e.g. display name ([`Profile`]).
    Profile,
    /// Epoch keys: a new epoch, and epoch secrets sealed to members ([`KeysBody`]). Its data is
    /// not sealed under a room key (a member must read the grant addressed to it before it
    /// holds any): the body is plaintext except for each grant's sealed secrets.
    Keys,
    /// A kind from a newer format; always a byte not named above.
    Other(u8),
}

impl PageKind {
    /// The kind's byte on the wire.
    pub const fn to_u8(self) -> u8 {
        match self {
            Self::Control => 0,
            Self::Message => 1,
            Self::File => 2,
            Self::Holding => 6,
            Self::Profile => 4,
            Self::Keys => 5,
            Self::Other(byte) => byte,
        }
    }

    /// The kind for a wire byte (total: unknown bytes become [`PageKind::Other`]).
    pub const fn from_u8(byte: u8) -> Self {
        match byte {
            0 => Self::Control,
            1 => Self::Message,
            2 => Self::File,
            6 => Self::Holding,
            4 => Self::Profile,
            5 => Self::Keys,
            other => Self::Other(other),
        }
    }
}

/// Plaintext metadata chosen by the author.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug, Default)]
pub struct PageMeta {
    /// The author's wall clock when writing, in ms since the Unix epoch. Shown next to messages
    /// and used by `causal` only as a display-order hint: a page's order time is the larger of
    /// this and its dependencies' order times, so a lying clock can move the author's own pages
    /// later but never break causal order. Never used for validity.
    pub timestamp_ms: u64,
}

/// Everything in a page except the signature: what the author signs (through its hash).
#[derive(Clone, PartialEq, Eq, Hash, Debug)]
pub struct PageContent {
    /// Book, position, predecessor.
    pub head: PageHead,
    /// Latest pages of other books in the room the author had seen (a sparse vector clock),
    /// strictly ascending by author and never naming the page's own book.
    pub refs: Vec<PageRef>,
    /// What the page is.
    pub kind: PageKind,
    /// Author metadata.
    pub meta: PageMeta,
    /// The epoch whose key sealed `data`; `None` for the room's original secret (and for kinds
    /// whose data is not sealed under a room key).
    pub key: Option<KeyId>,
    /// XChaCha20-Poly1305 nonce used for `data` (an input: the app draws it at random).
    pub nonce: [u8; NONCE_LEN],
    /// The encrypted body.
    pub data: Vec<u8>,
}

impl PageContent {
    /// The canonical encoding of the content (see the module docs).
    pub fn encode(&self) -> Vec<u8> {
        let mut w = Writer::with_capacity(self.encoded_len_hint());
        self.write(&mut w);
        w.finish()
    }

    fn encoded_len_hint(&self) -> usize {
        160 + self.refs.len() * 80 + self.data.len() + SIGNATURE_LEN
    }

    fn write(&self, w: &mut Writer) {
        w.u8(match self.key {
            None => PAGE_FORMAT_VERSION,
            Some(_) => PAGE_FORMAT_VERSION_KEYED,
        });
        w.raw(&self.head.book.room.0);
        w.raw(self.head.book.author.as_bytes());
        w.varint(self.head.seq);
        match &self.head.prev {
            None => w.u8(0),
            Some(hash) => {
                w.u8(1);
                w.raw(&hash.0);
            }
        }
        w.varint(self.refs.len() as u64);
        for r in &self.refs {
            w.raw(r.author.as_bytes());
            w.varint(r.seq);
            w.raw(&r.hash.0);
        }
        w.u8(self.kind.to_u8());
        w.varint(self.meta.timestamp_ms);
        if let Some(key) = &self.key {
            w.raw(&key.0);
        }
        w.raw(&self.nonce);
        w.bytes(&self.data);
    }

    fn read(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let version = r.u8("page version")?;
        if version != PAGE_FORMAT_VERSION && version != PAGE_FORMAT_VERSION_KEYED {
            return Err(DecodeError::UnknownVersion {
                what: "page",
                found: version,
            });
        }
        let room = RoomId(r.array("page room")?);
        let author = UserId::from_bytes(r.array::<USER_ID_LEN>("page author")?);
        let seq = r.varint("page seq")?;
        let prev = match r.u8("page prev tag")? {
            0 => None,
            1 => Some(PageHash(r.array("page prev hash")?)),
            other => {
                return Err(DecodeError::UnknownTag {
                    what: "page prev",
                    found: u64::from(other),
                });
            }
        };
        if prev.is_none() != (seq == 0) {
            return Err(DecodeError::Malformed {
                what: "page prev",
                rule: "a prev hash is present exactly when seq > 0",
            });
        }
        let count = r.len(MAX_REFS, "page refs")?;
        let mut refs: Vec<PageRef> = Vec::with_capacity(count);
        for _ in 0..count {
            let reference = PageRef {
                author: UserId::from_bytes(r.array("ref author")?),
                seq: r.varint("ref seq")?,
                hash: PageHash(r.array("ref hash")?),
            };
            if refs
                .last()
                .is_some_and(|last| last.author >= reference.author)
            {
                return Err(DecodeError::Malformed {
                    what: "page refs",
                    rule: "refs must be strictly ascending by author",
                });
            }
            if reference.author == author {
                return Err(DecodeError::Malformed {
                    what: "page refs",
                    rule: "a page must not ref its own book (prev does that)",
                });
            }
            refs.push(reference);
        }
        let kind = PageKind::from_u8(r.u8("page kind")?);
        let meta = PageMeta {
            timestamp_ms: r.varint("page timestamp")?,
        };
        let key = if version == PAGE_FORMAT_VERSION_KEYED {
            Some(KeyId(r.array("page key id")?))
        } else {
            None
        };
        let nonce = r.array("page nonce")?;
        let data = r.bytes(MAX_DATA_BYTES, "page data")?.to_vec();
        Ok(Self {
            head: PageHead {
                book: BookId { room, author },
                seq,
                prev,
            },
            refs,
            kind,
            meta,
            key,
            nonce,
            data,
        })
    }

    /// The hash of this content (what the author signs, through [`signed_message`]).
    pub fn hash(&self) -> PageHash {
        hash_content_bytes(&self.encode())
    }
}

/// Bytes a LEB128 varint of `value` takes.
const fn varint_len(value: u64) -> usize {
    let bits = 64 - value.leading_zeros() as usize;
    if bits == 0 { 1 } else { bits.div_ceil(7) }
}

fn hash_content_bytes(content: &[u8]) -> PageHash {
    let mut hasher = blake3::Hasher::new_derive_key(PAGE_HASH_CONTEXT);
    hasher.update(content);
    PageHash(*hasher.finalize().as_bytes())
}

/// Length of [`signed_message`]'s output.
pub const SIGNED_MESSAGE_LEN: usize = PAGE_SIGNATURE_DOMAIN.len() + HASH_LEN;

/// The exact bytes an author signs for a page: the page domain followed by the page hash.
/// This is the only place those bytes are built.
pub fn signed_message(hash: &PageHash) -> [u8; SIGNED_MESSAGE_LEN] {
    let mut out = [0u8; SIGNED_MESSAGE_LEN];
    out[..PAGE_SIGNATURE_DOMAIN.len()].copy_from_slice(PAGE_SIGNATURE_DOMAIN);
    out[PAGE_SIGNATURE_DOMAIN.len()..].copy_from_slice(&hash.0);
    out
}

/// A signed page. Immutable: its hash is computed once, when it is built or decoded, and can
/// never disagree with its content. Holding a `Page` says nothing about validity — see
/// [`crate::validate`].
#[derive(Clone, PartialEq, Eq, Hash, Debug)]
pub struct Page {
    content: PageContent,
    signature: Signature,
    hash: PageHash,
}

impl Page {
    /// Signs `content` as `identity`. The caller (normally [`crate::book::Book`]) is responsible
    /// for `content.head.book.author` being `identity`'s id; a mismatch yields a page that
    /// fails verification rather than a panic.
    pub fn sign(content: PageContent, identity: &Identity) -> Self {
        let hash = content.hash();
        let signature = identity.sign(&signed_message(&hash));
        Self {
            content,
            signature,
            hash,
        }
    }

    /// Reassembles a page from its parts (e.g. from storage that kept them apart). The
    /// signature is not checked here.
    pub fn from_parts(content: PageContent, signature: Signature) -> Self {
        let hash = content.hash();
        Self {
            content,
            signature,
            hash,
        }
    }

    /// Decodes a page from its wire/storage bytes. Checks format and structure only, not the
    /// signature or chain (see [`crate::validate`]).
    pub fn decode(bytes: &[u8]) -> Result<Self, DecodeError> {
        if bytes.len() > MAX_PAGE_BYTES {
            return Err(DecodeError::TooLong {
                what: "page",
                len: bytes.len() as u64,
                max: MAX_PAGE_BYTES as u64,
            });
        }
        let mut r = Reader::new(bytes);
        let content = PageContent::read(&mut r)?;
        let content_len = r.position();
        let signature = Signature::from_bytes(r.array("page signature")?);
        r.finish("page")?;
        // Canonical decoding means the received content bytes are exactly the encoding.
        let hash = hash_content_bytes(&bytes[..content_len]);
        Ok(Self {
            content,
            signature,
            hash,
        })
    }

    /// The canonical encoding (content followed by signature).
    pub fn encode(&self) -> Vec<u8> {
        let mut w = Writer::with_capacity(self.content.encoded_len_hint());
        self.content.write(&mut w);
        w.raw(self.signature.as_bytes());
        w.finish()
    }

    /// Exact length of [`Page::encode`]'s output, computed without encoding (for packing
    /// batches under a byte cap).
    pub fn encoded_len(&self) -> usize {
        let c = &self.content;
        let refs: usize = c
            .refs
            .iter()
            .map(|r| USER_ID_LEN + varint_len(r.seq) + HASH_LEN)
            .sum();
        1 + ROOM_ID_LEN
            + USER_ID_LEN
            + varint_len(c.head.seq)
            + 1
            + c.head.prev.map_or(0, |_| HASH_LEN)
            + varint_len(c.refs.len() as u64)
            + refs
            + 1
            + varint_len(c.meta.timestamp_ms)
            + c.key.map_or(0, |_| KEY_ID_LEN)
            + NONCE_LEN
            + varint_len(c.data.len() as u64)
            + c.data.len()
            + SIGNATURE_LEN
    }

    /// Everything but the signature.
    pub fn content(&self) -> &PageContent {
        &self.content
    }
    /// Book, position, predecessor.
    pub fn head(&self) -> &PageHead {
        &self.content.head
    }
    /// The book this page belongs to.
    pub fn book(&self) -> BookId {
        self.content.head.book
    }
    /// The author.
    pub fn author(&self) -> UserId {
        self.content.head.book.author
    }
    /// Position in the book.
    pub fn seq(&self) -> u64 {
        self.content.head.seq
    }
    /// Causal dependencies on other books.
    pub fn refs(&self) -> &[PageRef] {
        &self.content.refs
    }
    /// What the page is.
    pub fn kind(&self) -> PageKind {
        self.content.kind
    }
    /// Author metadata.
    pub fn meta(&self) -> &PageMeta {
        &self.content.meta
    }
    /// The epoch whose key sealed the data (`None`: the room's original secret).
    pub fn key(&self) -> Option<KeyId> {
        self.content.key
    }
    /// The encrypted body.
    pub fn data(&self) -> &[u8] {
        &self.content.data
    }
    /// The author's signature over [`signed_message`]`(self.hash())`.
    pub fn signature(&self) -> &Signature {
        &self.signature
    }
    /// This page's hash.
    pub fn hash(&self) -> PageHash {
        self.hash
    }
    /// A [`PageRef`] naming this page.
    pub fn page_ref(&self) -> PageRef {
        PageRef {
            author: self.author(),
            seq: self.seq(),
            hash: self.hash,
        }
    }
}

/// Pages travel inside serde-encoded messages (e.g. sync) as one byte string holding the
/// canonical encoding, so serde never decides their layout.
impl serde::Serialize for Page {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_bytes(&self.encode())
    }
}

impl<'de> serde::Deserialize<'de> for Page {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct PageVisitor;
        impl serde::de::Visitor<'_> for PageVisitor {
            type Value = Page;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a canonically encoded Quire page")
            }
            fn visit_bytes<E: serde::de::Error>(self, bytes: &[u8]) -> Result<Page, E> {
                Page::decode(bytes).map_err(E::custom)
            }
        }
        deserializer.deserialize_bytes(PageVisitor)
    }
}
