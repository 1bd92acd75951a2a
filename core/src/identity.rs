//! Who writes: user identities and their signing keys.
//!
//! A user is an ed25519 key pair, the same kind libp2p uses, so a user's id *is* their libp2p
//! `PeerId` and a browser's network identity and its authorship identity are one key.
//! On the wire and in pages a [`UserId`] is the raw 32-byte ed25519 public key, not the 38-byte
//! multihash `PeerId`: it is shorter, it is exactly what signature verification needs, and it
//! converts to and from the `PeerId` losslessly.
//!
//! The secret key is always an input ([`Identity::from_secret_bytes`]): generating it needs
//! randomness, which the sans-IO core never draws itself.

use core::fmt;

use libp2p_identity::{PeerId, ed25519};
use thiserror::Error;

/// Length of an ed25519 public key, and so of a [`UserId`] on the wire.
pub const USER_ID_LEN: usize = 32;
/// Length of an ed25519 secret key (the seed from which the key pair is derived).
pub const SECRET_KEY_LEN: usize = 32;
/// Length of an ed25519 signature.
pub const SIGNATURE_LEN: usize = 64;

/// Why an id or key could not be used.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum IdentityError {
    /// The 32 bytes are not a valid ed25519 public key (not a curve point).
    #[error("not a valid ed25519 public key")]
    InvalidPublicKey,
    /// The 32 bytes are not a usable ed25519 secret key.
    #[error("not a valid ed25519 secret key")]
    InvalidSecretKey,
    /// The `PeerId` is not an inline ed25519 key (e.g. RSA or a hashed key), so it cannot be a
    /// Quire user.
    #[error("peer id {0} does not carry an ed25519 public key")]
    NotEd25519PeerId(String),
}

/// A user's id: their ed25519 public key. Ordered by its bytes, which is the order the
/// connection plan's ring and every deterministic tie-break use.
#[derive(
    Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize,
)]
pub struct UserId([u8; USER_ID_LEN]);

impl UserId {
    /// Wraps raw public-key bytes. The bytes are not checked to be a curve point here (that
    /// costs a point decompression); signature verification rejects invalid keys.
    pub const fn from_bytes(bytes: [u8; USER_ID_LEN]) -> Self {
        Self(bytes)
    }

    /// The raw public-key bytes.
    pub const fn as_bytes(&self) -> &[u8; USER_ID_LEN] {
        &self.0
    }

    /// The libp2p peer id of this user.
    pub fn to_peer_id(&self) -> Result<PeerId, IdentityError> {
        let key = ed25519::PublicKey::try_from_bytes(&self.0)
            .map_err(|_| IdentityError::InvalidPublicKey)?;
        Ok(libp2p_identity::PublicKey::from(key).to_peer_id())
    }

    /// The user behind a libp2p peer id, if that peer id inlines an ed25519 key (all Quire
    /// peers do: libp2p inlines keys of up to 42 bytes with the identity multihash).
    pub fn from_peer_id(peer: &PeerId) -> Result<Self, IdentityError> {
        let not_ed25519 = || IdentityError::NotEd25519PeerId(peer.to_base58());
        let multihash = peer.as_ref();
        // Multihash code 0 is "identity": the digest is the protobuf-encoded public key itself.
        if multihash.code() != 0 {
            return Err(not_ed25519());
        }
        let key = libp2p_identity::PublicKey::try_decode_protobuf(multihash.digest())
            .map_err(|_| not_ed25519())?
            .try_into_ed25519()
            .map_err(|_| not_ed25519())?;
        Ok(Self(key.to_bytes()))
    }

    /// A short, stable label for logs and debugging (first 8 hex digits).
    pub fn short(&self) -> String {
        hex_prefix(&self.0)
    }
}

impl fmt::Debug for UserId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "UserId({})", self.short())
    }
}

impl fmt::Display for UserId {
    /// The libp2p peer id in base58 (`12D3KooW...`), the form users and logs see; falls back
    /// to hex for bytes that are not a valid key.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.to_peer_id() {
            Ok(peer) => write!(f, "{peer}"),
            Err(_) => {
                for byte in self.0 {
                    write!(f, "{byte:02x}")?;
                }
                Ok(())
            }
        }
    }
}

pub(crate) fn hex_prefix(bytes: &[u8]) -> String {
    bytes.iter().take(4).map(|b| format!("{b:02x}")).collect()
}

/// An ed25519 signature over a domain-separated message.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Signature([u8; SIGNATURE_LEN]);

impl Signature {
    /// Wraps raw signature bytes (checked only when verified).
    pub const fn from_bytes(bytes: [u8; SIGNATURE_LEN]) -> Self {
        Self(bytes)
    }

    /// The raw signature bytes.
    pub const fn as_bytes(&self) -> &[u8; SIGNATURE_LEN] {
        &self.0
    }
}

impl fmt::Debug for Signature {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Signature({})", hex_prefix(&self.0))
    }
}

/// The local user's key pair: signs pages and invites.
///
/// Deliberately not `Clone`, `Serialize` or `Debug`-printing the secret: it leaves only through
/// [`Identity::secret_bytes`] (for the backup the app offers) and [`Identity::to_libp2p_keypair`].
pub struct Identity {
    keypair: ed25519::Keypair,
    id: UserId,
}

impl Identity {
    /// The identity whose secret key (ed25519 seed) is `secret`. The app draws it from the
    /// browser's CSPRNG at registration and keeps it in IndexedDB.
    pub fn from_secret_bytes(secret: [u8; SECRET_KEY_LEN]) -> Result<Self, IdentityError> {
        let secret = ed25519::SecretKey::try_from_bytes(secret)
            .map_err(|_| IdentityError::InvalidSecretKey)?;
        let keypair = ed25519::Keypair::from(secret);
        let id = UserId(keypair.public().to_bytes());
        Ok(Self { keypair, id })
    }

    /// The secret key, for the user's backup. Handle with care.
    pub fn secret_bytes(&self) -> [u8; SECRET_KEY_LEN] {
        let mut out = [0u8; SECRET_KEY_LEN];
        out.copy_from_slice(&self.keypair.to_bytes()[..SECRET_KEY_LEN]);
        out
    }

    /// This user's id.
    pub const fn user_id(&self) -> UserId {
        self.id
    }

    /// The libp2p key pair, so the network node runs under the same identity.
    pub fn to_libp2p_keypair(&self) -> libp2p_identity::Keypair {
        libp2p_identity::Keypair::from(self.keypair.clone())
    }

    /// Signs `message`. Crate-private: callers sign typed things (pages, invites) whose exact,
    /// domain-separated message is built by one function each.
    pub(crate) fn sign(&self, message: &[u8]) -> Signature {
        let bytes = self.keypair.sign(message);
        let mut out = [0u8; SIGNATURE_LEN];
        // ed25519 signatures are always 64 bytes; a shorter vector would leave zeros, which
        // then fail verification instead of panicking.
        let len = bytes.len().min(SIGNATURE_LEN);
        out[..len].copy_from_slice(&bytes[..len]);
        Signature(out)
    }
}

impl fmt::Debug for Identity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Identity")
            .field("id", &self.id)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn user_id_roundtrips_through_peer_id() {
        let me = Identity::from_secret_bytes([7; 32]).unwrap();
        let peer = me.user_id().to_peer_id().unwrap();
        assert_eq!(peer, me.to_libp2p_keypair().public().to_peer_id());
        assert_eq!(UserId::from_peer_id(&peer).unwrap(), me.user_id());
        assert!(me.user_id().to_string().starts_with("12D3KooW"));
    }

    #[test]
    fn secret_bytes_restore_the_same_identity() {
        let me = Identity::from_secret_bytes([9; 32]).unwrap();
        let again = Identity::from_secret_bytes(me.secret_bytes()).unwrap();
        assert_eq!(me.user_id(), again.user_id());
    }

    #[test]
    fn non_ed25519_peer_id_is_rejected() {
        let sha_peer = PeerId::from_bytes(
            &[0x12, 0x20]
                .iter()
                .copied()
                .chain([1u8; 32])
                .collect::<Vec<_>>(),
        )
        .unwrap();
        assert!(matches!(
            UserId::from_peer_id(&sha_peer),
            Err(IdentityError::NotEd25519PeerId(_))
        ));
    }
}
