//! Encryption of page bodies with the room key.
//!
//! Every member holds the room's [`RoomSecret`] (it travels in invite links). Page bodies are
//! sealed with XChaCha20-Poly1305 under a [`PageKey`] derived from that secret with BLAKE3's
//! key-derivation mode and the context [`PAGE_KEY_CONTEXT`], so the raw secret is never used as
//! a cipher key and other keys can later be derived from it for other purposes without overlap.
//!
//! The nonce is an input (24 random bytes drawn by the app). XChaCha's 192-bit nonce makes
//! random nonces safe for any realistic number of pages. A nonce derived from (book, seq) would
//! not be: an author who restores an old backup and writes the same seq again would reuse it.
//!
//! The associated data binds the ciphertext to the page's room, author, seq and kind, so a
//! ciphertext cannot be replayed as another page or decoded as another body type. The page
//! signature covers the ciphertext (not the plaintext), so a peer can verify and forward a page
//! without being able to read it.

use core::fmt;

use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use thiserror::Error;

use crate::codec::DecodeError;
use crate::identity::{Identity, IdentityError, UserId};
use crate::page::{Body, MAX_DATA_BYTES, NONCE_LEN, Page, PageHead, PageKind};

/// BLAKE3 key-derivation context for the page-data key.
pub const PAGE_KEY_CONTEXT: &str = "quire 2026-11 room page-data key v1";
/// Prefix of the associated data of every sealed body.
pub const PAGE_DATA_AAD_DOMAIN: &[u8; 19] = b"quire/page-data/v1\0";
/// Length of the Poly1305 tag appended to every ciphertext.
pub const TAG_LEN: usize = 16;
/// Largest plaintext body that fits a page's data cap.
pub const MAX_PLAINTEXT_BYTES: usize = MAX_DATA_BYTES - TAG_LEN;
/// Length of a room secret.
pub const ROOM_SECRET_LEN: usize = 32;

/// Why a body could not be sealed or opened.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum CryptoError {
    /// The plaintext is larger than a page may carry.
    #[error("body of {len} bytes exceeds the {max}-byte page cap")]
    TooLarge {
        /// Plaintext length.
        len: usize,
        /// [`MAX_PLAINTEXT_BYTES`].
        max: usize,
    },
    /// Authentication failed: wrong room key, or the data or its page header was altered.
    #[error("page data does not decrypt with this room key")]
    DecryptFailed,
    /// It decrypted, but the plaintext is not a valid body of the page's kind.
    #[error("decrypted body is malformed: {0}")]
    BadBody(#[from] DecodeError),
}

/// A room's shared secret (random, chosen by the room's creator, carried in invites).
#[derive(Clone, PartialEq, Eq)]
pub struct RoomSecret([u8; ROOM_SECRET_LEN]);

impl RoomSecret {
    /// Wraps secret bytes (drawn by the app from a CSPRNG, or read from an invite).
    pub const fn from_bytes(bytes: [u8; ROOM_SECRET_LEN]) -> Self {
        Self(bytes)
    }

    /// The raw secret, for invites and storage.
    pub const fn as_bytes(&self) -> &[u8; ROOM_SECRET_LEN] {
        &self.0
    }

    /// The key that seals page bodies of this room.
    pub fn page_key(&self) -> PageKey {
        PageKey(blake3::derive_key(PAGE_KEY_CONTEXT, &self.0))
    }
}

impl fmt::Debug for RoomSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("RoomSecret(..)")
    }
}

/// BLAKE3 key-derivation context for the secret of a 1:1 room.
pub const DIRECT_ROOM_SECRET_CONTEXT: &str = "quire 2026-11 direct room secret v1";

/// The room secret of the 1:1 room between `me` and `peer`, computable by either side alone.
///
/// Why: a 1:1 room's id is derived from both user ids so that either side can open it without
/// an invite; its key must be too, and only the two of them may be able to compute it. Both
/// ed25519 identities are converted to X25519 (the standard birational map; the secret scalar is
/// the clamped SHA-512 of the ed25519 seed, as libsodium's `ed25519_sk_to_curve25519`), their
/// Diffie-Hellman value is computed, and the secret is BLAKE3-derived from it and both ids in
/// ascending order, so both sides get the same bytes. Using one key for signing and for this
/// static DH is the well-studied construction behind XEdDSA-style key reuse; the DH output only
/// ever feeds a KDF. There is no forward secrecy, like every room key in Quire.
pub fn direct_room_secret(me: &Identity, peer: &UserId) -> Result<RoomSecret, IdentityError> {
    use curve25519_dalek::edwards::CompressedEdwardsY;
    use sha2::{Digest, Sha512};

    let peer_point = CompressedEdwardsY(*peer.as_bytes())
        .decompress()
        .filter(|point| !point.is_small_order())
        .ok_or(IdentityError::InvalidPublicKey)?;
    let expanded = Sha512::digest(me.secret_bytes());
    let mut scalar = [0u8; 32];
    scalar.copy_from_slice(&expanded[..32]);
    let shared = peer_point.to_montgomery().mul_clamped(scalar);
    let mine = me.user_id();
    let (low, high) = if mine <= *peer {
        (mine, *peer)
    } else {
        (*peer, mine)
    };
    let mut kdf = blake3::Hasher::new_derive_key(DIRECT_ROOM_SECRET_CONTEXT);
    kdf.update(shared.as_bytes());
    kdf.update(low.as_bytes());
    kdf.update(high.as_bytes());
    Ok(RoomSecret(*kdf.finalize().as_bytes()))
}

/// The derived key that seals page bodies.
#[derive(Clone)]
pub struct PageKey([u8; 32]);

impl fmt::Debug for PageKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("PageKey(..)")
    }
}

/// Length of the associated data built by [`associated_data`].
const AAD_LEN: usize = PAGE_DATA_AAD_DOMAIN.len() + 32 + 32 + 8 + 1;

/// The associated data binding a ciphertext to its page: domain, room, author, seq (big
/// endian), kind.
fn associated_data(head: &PageHead, kind: PageKind) -> [u8; AAD_LEN] {
    let mut out = [0u8; AAD_LEN];
    let mut at = 0;
    for part in [
        &PAGE_DATA_AAD_DOMAIN[..],
        &head.book.room.0[..],
        &head.book.author.as_bytes()[..],
        &head.seq.to_be_bytes()[..],
        &[kind.to_u8()][..],
    ] {
        out[at..at + part.len()].copy_from_slice(part);
        at += part.len();
    }
    out
}

impl PageKey {
    fn cipher(&self) -> XChaCha20Poly1305 {
        XChaCha20Poly1305::new(&self.0.into())
    }

    /// Encrypts `plaintext` for the page at `head` of `kind`.
    pub fn seal(
        &self,
        head: &PageHead,
        kind: PageKind,
        nonce: &[u8; NONCE_LEN],
        plaintext: &[u8],
    ) -> Result<Vec<u8>, CryptoError> {
        if plaintext.len() > MAX_PLAINTEXT_BYTES {
            return Err(CryptoError::TooLarge {
                len: plaintext.len(),
                max: MAX_PLAINTEXT_BYTES,
            });
        }
        let aad = associated_data(head, kind);
        self.cipher()
            .encrypt(
                XNonce::from_slice(nonce),
                Payload {
                    msg: plaintext,
                    aad: &aad,
                },
            )
            // The cipher fails only for inputs beyond 256 GiB, which the cap above excludes.
            .map_err(|_| CryptoError::TooLarge {
                len: plaintext.len(),
                max: MAX_PLAINTEXT_BYTES,
            })
    }

    /// Encodes and encrypts `body` for the page at `head` (its kind is the body's).
    pub fn seal_body(
        &self,
        head: &PageHead,
        nonce: &[u8; NONCE_LEN],
        body: &Body,
    ) -> Result<Vec<u8>, CryptoError> {
        self.seal(head, body.kind(), nonce, &body.encode())
    }

    /// Decrypts a page's data to its plaintext bytes.
    pub fn open(&self, page: &Page) -> Result<Vec<u8>, CryptoError> {
        let content = page.content();
        let aad = associated_data(&content.head, content.kind);
        self.cipher()
            .decrypt(
                XNonce::from_slice(&content.nonce),
                Payload {
                    msg: &content.data,
                    aad: &aad,
                },
            )
            .map_err(|_| CryptoError::DecryptFailed)
    }

    /// Decrypts and decodes a page's body.
    pub fn open_body(&self, page: &Page) -> Result<Body, CryptoError> {
        let plaintext = self.open(page)?;
        Ok(Body::decode(page.kind(), &plaintext)?)
    }
}
