//! Invite links: everything a new member needs to join a room, in a URL fragment.
//!
//! A link looks like `https://<relay>/#/join/<payload>`. The fragment is never sent to a server,
//! so the room secret inside it reaches only whoever the link is given to. The payload is the
//! canonical encoding below, signed by the inviter, in unpadded base64url (the URL-safe alphabet
//! needs no escaping in a fragment).
//!
//! ```text
//! body    := version:u8 (=2) room:[32] room_name:str secret:[32] inviter:[32] invite_id:[16]
//!            relays: count:varint { multiaddr:str }*  expires_at_ms: 0 | 1 varint  auto_admit:u8
//!            link_secret:[32]      -- absent in version 1
//! payload := body signature:[64]       -- ed25519 by `inviter` over INVITE_SIGNATURE_DOMAIN || body
//! ```
//!
//! The link secret is random per link and appears in no page: a join request proves its
//! author holds the link by a keyed hash of the room and the requester under it
//! ([`Invite::proof_for`], checked with [`link_proof`]), so someone who only saw the invite id
//! (in another member's request) cannot claim the link, and a request cannot be replayed for
//! another identity.
//!
//! The signature makes any alteration (a typo, a truncated copy-paste, a tampered relay
//! address or expiry) fail with a clear error instead of producing a subtly different invite.
//! It cannot stop someone who holds the link from re-signing an altered copy under their own
//! key — but then the invite names them, not the original inviter, as the inviter.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use thiserror::Error;

use crate::codec::{DecodeError, Reader, Writer};
use crate::crypto::{ROOM_SECRET_LEN, RoomSecret};
use crate::identity::{Identity, Signature, UserId};
use crate::page::body::MAX_NAME_BYTES;
use crate::page::{InviteId, LinkProof, RoomId};

/// The invite format version this build writes (it also reads version 1, without a link
/// secret).
pub const INVITE_FORMAT_VERSION: u8 = 2;
/// Length of a link's secret.
pub const LINK_SECRET_LEN: usize = 32;
/// Context of the keyed hash that proves holding a link.
const LINK_PROOF_CONTEXT: &str = "quire 2026 join request link proof v1";
/// Prefix of the message an inviter signs, so an invite signature is never valid for a page.
pub const INVITE_SIGNATURE_DOMAIN: &[u8; 26] = b"quire/invite/v1/signature\0";
/// Cap on relay addresses in an invite. Why: a room needs one reachable relay; a few more give
/// fallbacks; more only lengthen the link.
pub const MAX_RELAY_ADDRS: usize = 4;
/// Cap on one relay multiaddr, in bytes. Why: a `/dns/.../tcp/.../wss/p2p/<id>` address with a
/// long host name is about 150 bytes; a webrtc-direct one with certhash about 200.
pub const MAX_RELAY_ADDR_BYTES: usize = 256;
/// Cap on the payload string. Why: the biggest valid payload is 2,016 characters of base64url
/// (a 256-byte room name, four 256-byte relay addresses, a link secret);
/// refusing longer input before decoding bounds the work a pasted string can cause, and keeps
/// links within the ~2,000 characters that every browser and messenger handles.
pub const MAX_PAYLOAD_CHARS: usize = 2048;
/// What precedes the payload in a link's fragment.
pub const LINK_FRAGMENT_PREFIX: &str = "#/join/";

/// Why an invite could not be read or made.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum InviteError {
    /// The text is not an invite payload (wrong characters): probably a mangled link.
    #[error("this is not a Quire invite link (it contains characters an invite cannot have)")]
    NotAnInvite,
    /// Longer than any invite.
    #[error("invite is {len} characters, longer than any valid invite ({max})")]
    TooLong {
        /// Characters given.
        len: usize,
        /// [`MAX_PAYLOAD_CHARS`].
        max: usize,
    },
    /// The link was cut short (e.g. an incomplete copy-paste).
    #[error("the invite link is incomplete; ask for the whole link again")]
    Truncated,
    /// The payload decodes, but not to a valid invite.
    #[error("the invite link is damaged: {0}")]
    Malformed(DecodeError),
    /// The signature does not match: the link was altered.
    #[error("the invite link was altered or damaged (signature check failed)")]
    Tampered,
    /// The invite is past its expiry.
    #[error("the invite expired at {expires_at_ms} ms (now {now_ms} ms)")]
    Expired {
        /// When it expired (ms since the Unix epoch).
        expires_at_ms: u64,
        /// The `now` it was checked against.
        now_ms: u64,
    },
    /// An invite cannot be signed by someone other than its inviter.
    #[error("only the inviter can sign this invite")]
    NotInviter,
    /// A field exceeds its cap, so the invite cannot be encoded.
    #[error("cannot make invite: {what} exceeds its cap")]
    FieldTooLong {
        /// Which field.
        what: &'static str,
    },
}

/// The content of an invite.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invite {
    /// The room.
    pub room: RoomId,
    /// The room's name when the invite was made, shown before joining.
    pub room_name: String,
    /// The room secret (the room key).
    pub secret: RoomSecret,
    /// Who made the invite (and can be asked to admit).
    pub inviter: UserId,
    /// Chosen at random by the inviter; a join request names it.
    pub id: InviteId,
    /// Relay multiaddrs to reach the room's members (at most [`MAX_RELAY_ADDRS`]).
    pub relays: Vec<String>,
    /// When the invite stops working (ms since the Unix epoch), if ever.
    pub expires_at_ms: Option<u64>,
    /// Whether the inviter's device admits whoever joins through this invite without asking.
    pub auto_admit: bool,
    /// Random per link, in no page ([`Invite::proof_for`]); `None` in a version-1 link.
    pub link_secret: Option<[u8; LINK_SECRET_LEN]>,
}

/// The proof that `requester` holds the link whose secret is `secret`, for `room`.
pub fn link_proof(secret: &[u8; LINK_SECRET_LEN], room: &RoomId, requester: &UserId) -> LinkProof {
    let key = blake3::derive_key(LINK_PROOF_CONTEXT, secret);
    let mut hasher = blake3::Hasher::new_keyed(&key);
    hasher.update(&room.0);
    hasher.update(requester.as_bytes());
    LinkProof(*hasher.finalize().as_bytes())
}

/// Exactly the bytes an inviter signs. The only place they are built.
fn signed_message(body: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(INVITE_SIGNATURE_DOMAIN.len() + body.len());
    out.extend_from_slice(INVITE_SIGNATURE_DOMAIN);
    out.extend_from_slice(body);
    out
}

impl Invite {
    /// What a join request by `requester` through this link carries to prove it holds the link
    /// (`None` for a version-1 link, which has no secret).
    pub fn proof_for(&self, requester: &UserId) -> Option<LinkProof> {
        self.link_secret
            .as_ref()
            .map(|secret| link_proof(secret, &self.room, requester))
    }

    fn encode_body(&self) -> Result<Vec<u8>, InviteError> {
        if self.room_name.len() > MAX_NAME_BYTES {
            return Err(InviteError::FieldTooLong { what: "room name" });
        }
        if self.relays.len() > MAX_RELAY_ADDRS {
            return Err(InviteError::FieldTooLong { what: "relay list" });
        }
        if self.relays.iter().any(|a| a.len() > MAX_RELAY_ADDR_BYTES) {
            return Err(InviteError::FieldTooLong {
                what: "relay address",
            });
        }
        let mut w = Writer::default();
        // A link without a secret is written as version 1, which has no place for one.
        let version = if self.link_secret.is_some() {
            INVITE_FORMAT_VERSION
        } else {
            1
        };
        w.u8(version);
        w.raw(&self.room.0);
        w.str(&self.room_name);
        w.raw(self.secret.as_bytes());
        w.raw(self.inviter.as_bytes());
        w.raw(&self.id.0);
        w.varint(self.relays.len() as u64);
        for addr in &self.relays {
            w.str(addr);
        }
        match self.expires_at_ms {
            None => w.u8(0),
            Some(at) => {
                w.u8(1);
                w.varint(at);
            }
        }
        w.bool(self.auto_admit);
        if let Some(secret) = &self.link_secret {
            w.raw(secret);
        }
        Ok(w.finish())
    }

    /// Signs and encodes the invite as a link payload. `identity` must be the inviter.
    pub fn to_payload(&self, identity: &Identity) -> Result<String, InviteError> {
        if identity.user_id() != self.inviter {
            return Err(InviteError::NotInviter);
        }
        let mut bytes = self.encode_body()?;
        let signature = identity.sign(&signed_message(&bytes));
        bytes.extend_from_slice(signature.as_bytes());
        Ok(URL_SAFE_NO_PAD.encode(bytes))
    }

    /// The full link for a relay's base URL (e.g. `https://relay.example/`).
    pub fn to_link(&self, base_url: &str, identity: &Identity) -> Result<String, InviteError> {
        let base = base_url.split('#').next().unwrap_or(base_url);
        Ok(format!(
            "{base}{LINK_FRAGMENT_PREFIX}{}",
            self.to_payload(identity)?
        ))
    }

    /// Reads an invite from a payload, a `#/join/<payload>` fragment or a whole link, checking
    /// its signature and, against `now_ms`, its expiry.
    pub fn parse(text: &str, now_ms: u64) -> Result<Self, InviteError> {
        let text = text.trim();
        let payload = match text.rfind(LINK_FRAGMENT_PREFIX) {
            Some(at) => &text[at + LINK_FRAGMENT_PREFIX.len()..],
            None => text,
        };
        if payload.len() > MAX_PAYLOAD_CHARS {
            return Err(InviteError::TooLong {
                len: payload.len(),
                max: MAX_PAYLOAD_CHARS,
            });
        }
        let bytes = URL_SAFE_NO_PAD
            .decode(payload)
            .map_err(|error| match error {
                // A base64 string cut at a bad place has an impossible length or last symbol.
                base64::DecodeError::InvalidLength(_)
                | base64::DecodeError::InvalidLastSymbol(..) => InviteError::Truncated,
                _ => InviteError::NotAnInvite,
            })?;
        let invite = Self::decode_verified(&bytes)?;
        if let Some(expires_at_ms) = invite.expires_at_ms
            && now_ms >= expires_at_ms
        {
            return Err(InviteError::Expired {
                expires_at_ms,
                now_ms,
            });
        }
        Ok(invite)
    }

    fn decode_verified(bytes: &[u8]) -> Result<Self, InviteError> {
        let malformed = |error: DecodeError| match error {
            DecodeError::Truncated { .. } => InviteError::Truncated,
            other => InviteError::Malformed(other),
        };
        let mut r = Reader::new(bytes);
        let version = r.u8("invite version").map_err(malformed)?;
        if !(1..=INVITE_FORMAT_VERSION).contains(&version) {
            return Err(InviteError::Malformed(DecodeError::UnknownVersion {
                what: "invite",
                found: version,
            }));
        }
        let mut invite = Self::read_fields(&mut r).map_err(malformed)?;
        if version >= 2 {
            invite.link_secret = Some(r.array("invite link secret").map_err(malformed)?);
        }
        let body_len = r.position();
        let signature = Signature::from_bytes(r.array("invite signature").map_err(malformed)?);
        r.finish("invite").map_err(malformed)?;
        let key = ed25519_zebra::VerificationKey::try_from(*invite.inviter.as_bytes())
            .map_err(|_| InviteError::Tampered)?;
        key.verify(
            &ed25519_zebra::Signature::from_bytes(signature.as_bytes()),
            &signed_message(&bytes[..body_len]),
        )
        .map_err(|_| InviteError::Tampered)?;
        Ok(invite)
    }

    fn read_fields(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let room = RoomId(r.array("invite room")?);
        let room_name = r.string(MAX_NAME_BYTES, "invite room name")?;
        let secret = RoomSecret::from_bytes(r.array::<ROOM_SECRET_LEN>("invite secret")?);
        let inviter = UserId::from_bytes(r.array("invite inviter")?);
        let id = InviteId(r.array("invite id")?);
        let count = r.len(MAX_RELAY_ADDRS, "invite relays")?;
        let mut relays = Vec::with_capacity(count);
        for _ in 0..count {
            relays.push(r.string(MAX_RELAY_ADDR_BYTES, "invite relay address")?);
        }
        let expires_at_ms = if r.bool("invite expiry tag")? {
            Some(r.varint("invite expiry")?)
        } else {
            None
        };
        let auto_admit = r.bool("invite auto-admit")?;
        Ok(Self {
            room,
            room_name,
            secret,
            inviter,
            id,
            relays,
            expires_at_ms,
            auto_admit,
            link_secret: None,
        })
    }
}
