//! Encryption of page bodies with the room's epoch keys, and of epoch secrets to members.
//!
//! A room's secrets come in **epochs** ([`crate::membership`] says which is current). Epoch 0
//! is the room's original [`RoomSecret`] (it travels in invite links; a 1:1 room computes it).
//! Every removal and leave starts a new epoch with a fresh random secret, which reaches each
//! remaining member sealed to that member alone in a keys page ([`seal_grant`]). Page bodies
//! are sealed with XChaCha20-Poly1305 under a [`PageKey`] derived from an epoch's secret with
//! BLAKE3's key-derivation mode and the context [`PAGE_KEY_CONTEXT`], so the raw secret is
//! never used as a cipher key. A page names the epoch it used by [`KeyId`] (none for epoch 0).
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
use crate::page::body::{GRANT_SECRET_LEN, Grant, MAX_GRANT_EPOCHS};
use crate::page::{
    Body, KEY_ID_LEN, KeyId, MAX_DATA_BYTES, NONCE_LEN, Page, PageHead, PageKind, RoomId,
};

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
    /// The page is sealed under an epoch this peer was never given.
    #[error("this device was not given the key of the page's epoch")]
    NoKey,
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

    /// The key that seals page bodies under this secret as the room's original secret
    /// (epoch 0: pages name no key id).
    pub fn page_key(&self) -> PageKey {
        PageKey {
            key: blake3::derive_key(PAGE_KEY_CONTEXT, &self.0),
            id: None,
        }
    }

    /// The key that seals page bodies under this secret as a later epoch's (pages name
    /// [`RoomSecret::key_id`]).
    pub fn epoch_key(&self) -> PageKey {
        PageKey {
            key: blake3::derive_key(PAGE_KEY_CONTEXT, &self.0),
            id: Some(self.key_id()),
        }
    }

    /// The public name of this secret: 16 bytes of a BLAKE3 derivation, from which the secret
    /// cannot be recovered.
    pub fn key_id(&self) -> KeyId {
        let full = blake3::derive_key(KEY_ID_CONTEXT, &self.0);
        let mut id = [0u8; KEY_ID_LEN];
        id.copy_from_slice(&full[..KEY_ID_LEN]);
        KeyId(id)
    }
}

/// BLAKE3 key-derivation context for [`RoomSecret::key_id`].
pub const KEY_ID_CONTEXT: &str = "quire 2026-12 epoch key id v1";

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
    let shared = KeyAgreement::of(me).dh(peer)?;
    let mine = me.user_id();
    let (low, high) = if mine <= *peer {
        (mine, *peer)
    } else {
        (*peer, mine)
    };
    let mut kdf = blake3::Hasher::new_derive_key(DIRECT_ROOM_SECRET_CONTEXT);
    kdf.update(&shared);
    kdf.update(low.as_bytes());
    kdf.update(high.as_bytes());
    Ok(RoomSecret(*kdf.finalize().as_bytes()))
}

/// The X25519 half of an identity: what seals and opens grants (and computes 1:1 secrets).
/// The scalar is the clamped SHA-512 of the ed25519 seed (see [`direct_room_secret`]).
#[derive(Clone)]
pub struct KeyAgreement {
    id: UserId,
    scalar: [u8; 32],
}

impl KeyAgreement {
    /// The key agreement half of `identity`.
    pub fn of(identity: &Identity) -> Self {
        use sha2::{Digest, Sha512};
        let expanded = Sha512::digest(identity.secret_bytes());
        let mut scalar = [0u8; 32];
        scalar.copy_from_slice(&expanded[..32]);
        Self {
            id: identity.user_id(),
            scalar,
        }
    }

    /// Whose it is.
    pub fn user_id(&self) -> UserId {
        self.id
    }

    /// The Diffie-Hellman value with `peer`'s identity converted to X25519; symmetric, and only
    /// ever fed to a KDF.
    fn dh(&self, peer: &UserId) -> Result<[u8; 32], IdentityError> {
        use curve25519_dalek::edwards::CompressedEdwardsY;
        let peer_point = CompressedEdwardsY(*peer.as_bytes())
            .decompress()
            .filter(|point| !point.is_small_order())
            .ok_or(IdentityError::InvalidPublicKey)?;
        Ok(peer_point
            .to_montgomery()
            .mul_clamped(self.scalar)
            .to_bytes())
    }
}

impl fmt::Debug for KeyAgreement {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "KeyAgreement({:?})", self.id)
    }
}

/// BLAKE3 key-derivation context for the key sealing one grant.
pub const GRANT_KEY_CONTEXT: &str = "quire 2026-12 epoch grant key v1";

/// Where a grant sits: the keys page's room, author, seq and nonce, and the recipient.
#[derive(Debug, Clone, Copy)]
pub struct GrantPlace<'a> {
    /// The page's room.
    pub room: RoomId,
    /// The page's author (the granter).
    pub author: UserId,
    /// The page's seq.
    pub seq: u64,
    /// The page's nonce.
    pub nonce: &'a [u8; NONCE_LEN],
    /// Who the grant is for.
    pub recipient: UserId,
}

/// The one-use key of a grant: derived from the static DH of granter and recipient and from
/// everything that places the grant, so no two grants share a key (the page nonce is random)
/// and a grant cannot be moved to another page, seq, room or recipient.
fn grant_cipher(dh: &[u8; 32], place: &GrantPlace<'_>) -> XChaCha20Poly1305 {
    let mut kdf = blake3::Hasher::new_derive_key(GRANT_KEY_CONTEXT);
    kdf.update(dh);
    kdf.update(&place.room.0);
    kdf.update(place.author.as_bytes());
    kdf.update(&place.seq.to_be_bytes());
    kdf.update(place.nonce);
    kdf.update(place.recipient.as_bytes());
    XChaCha20Poly1305::new(&(*kdf.finalize().as_bytes()).into())
}

/// Seals `secrets` (epoch, secret) to `place.recipient`, as `place.author` = `granter`. The result is
/// a [`Grant`] for a keys page; epochs must be strictly ascending.
pub fn seal_grant(
    granter: &KeyAgreement,
    place: &GrantPlace<'_>,
    secrets: &[(Option<KeyId>, RoomSecret)],
) -> Result<Grant, GrantError> {
    if secrets.len() > MAX_GRANT_EPOCHS {
        return Err(GrantError::TooManyEpochs {
            count: secrets.len(),
        });
    }
    let dh = granter.dh(&place.recipient)?;
    let mut plaintext = Vec::with_capacity(secrets.len() * GRANT_SECRET_LEN);
    for (_, secret) in secrets {
        plaintext.extend_from_slice(secret.as_bytes());
    }
    let sealed = grant_cipher(&dh, place)
        .encrypt(XNonce::from_slice(place.nonce), plaintext.as_slice())
        // Encryption fails only beyond 256 GiB of input, which the cap above excludes.
        .map_err(|_| GrantError::TooManyEpochs {
            count: secrets.len(),
        })?;
    Ok(Grant {
        recipient: place.recipient,
        epochs: secrets.iter().map(|(epoch, _)| *epoch).collect(),
        sealed,
    })
}

/// Why a grant addressed to this user gave it nothing.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum GrantError {
    /// The granter's id is not a usable X25519 point.
    #[error(transparent)]
    Identity(#[from] IdentityError),
    /// The sealed bytes do not open: altered, or not sealed to this user by this granter.
    #[error("the grant does not open")]
    DoesNotOpen,
    /// A secret does not match the key id the grant names for it: a granter lying about what
    /// it grants.
    #[error("a granted secret does not match its key id")]
    WrongSecret,
    /// More epochs than one grant may hold ([`MAX_GRANT_EPOCHS`]).
    #[error("{count} epochs exceed the {MAX_GRANT_EPOCHS} one grant may hold")]
    TooManyEpochs {
        /// Epochs asked for.
        count: usize,
    },
}

/// Opens a grant sealed to `me` (= `place.recipient`) by `place.author`; returns the secrets it
/// holds with their epochs. Each later epoch's secret must derive the key id it is named by.
pub fn open_grant(
    me: &KeyAgreement,
    place: &GrantPlace<'_>,
    grant: &Grant,
) -> Result<Vec<(Option<KeyId>, RoomSecret)>, GrantError> {
    let dh = me.dh(&place.author)?;
    let plaintext = grant_cipher(&dh, place)
        .decrypt(XNonce::from_slice(place.nonce), grant.sealed.as_slice())
        .map_err(|_| GrantError::DoesNotOpen)?;
    let mut out = Vec::with_capacity(grant.epochs.len());
    for (epoch, bytes) in grant
        .epochs
        .iter()
        .zip(plaintext.chunks_exact(GRANT_SECRET_LEN))
    {
        let mut secret = [0u8; GRANT_SECRET_LEN];
        secret.copy_from_slice(bytes);
        let secret = RoomSecret(secret);
        if epoch.is_some_and(|id| id != secret.key_id()) {
            return Err(GrantError::WrongSecret);
        }
        out.push((*epoch, secret));
    }
    Ok(out)
}

/// The derived key that seals page bodies, and the epoch it belongs to.
#[derive(Clone)]
pub struct PageKey {
    key: [u8; 32],
    id: Option<KeyId>,
}

impl PageKey {
    /// The epoch pages sealed under this key name (`None`: the room's original secret).
    pub fn id(&self) -> Option<KeyId> {
        self.id
    }
}

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
        XChaCha20Poly1305::new(&self.key.into())
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
        if content.key != self.id {
            return Err(CryptoError::DecryptFailed);
        }
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
