//! Plaintext page bodies: what `data` decrypts to, one body type per [`PageKind`].
//!
//! Bodies use the same strict codec as pages (not serde), for the same reason: stored pages
//! must decode identically years later, whatever the Rust types look like then. A body has no
//! version byte of its own: the page format version (which is signed) covers it, and the
//! body type is chosen by the page's signed `kind`, so a body can never be read as another kind.
//!
//! # Control op wire tags
//!
//! `0` create, `1` join request, `2` admit, `3` legacy remove (member only; decoded, never
//! written), `4` leave, `5` rename, `6` delete, `7` remove (member, then the varint book length
//! of the member the remover had seen). Tag 7 replaced tag 3 when removal became causal: old
//! clients refuse tag 7 as an unknown tag (the page is void for them) rather than misreading it.
//!
//! File pages (kind 2) name a sealed blob ([`FileBody`]); the bytes never travel in pages.
//! Holding pages (kind 6, [`HoldingBody`]) say the author holds a copy of one (or no longer).
//! Kind 3 (chunk pages of an inline design that nothing ever wrote) is retired: a page of that
//! kind decodes as an unknown kind.
//!
//! Edits and deletions never modify a page (pages are sealed); they are new pages pointing at
//! the old one with a [`PageRef`].

use crate::blob::holders::HoldingBody;
use crate::blob::{BlobId, BlobInfo, FileKey, MAX_FILE_BYTES};
use crate::codec::{DecodeError, Reader, Writer};
use crate::identity::UserId;
use crate::page::{KEY_ID_LEN, KeyId, PageHash, PageKind, PageRef};

/// Cap on room names and display names, in UTF-8 bytes. Why: they are shown in lists and
/// headers; 256 bytes hold the 64 characters the app lets a name have in any script (at most
/// 4 bytes each: 85 CJK characters, 64 emoji), and bound every membership list.
pub const MAX_NAME_BYTES: usize = 256;
/// Cap on a message's text, in UTF-8 bytes. Why: a chat message is read on a phone-sized
/// screen; anything longer is better shared as a file, and it keeps a text page far below
/// [`crate::page::MAX_DATA_BYTES`].
pub const MAX_TEXT_BYTES: usize = 16 * 1024;
/// Cap on a file's MIME type, in bytes (the longest registered types are well under 128).
pub const MAX_MIME_BYTES: usize = 128;
/// Cap on a file's name, in UTF-8 bytes. Why: the longest name most file systems allow.
pub const MAX_FILE_NAME_BYTES: usize = 255;
/// Cap on a file's description, in UTF-8 bytes (a caption, like a short message).
pub const MAX_DESCRIPTION_BYTES: usize = 4 * 1024;
/// Cap on an image's thumbnail, in bytes. Why: it travels in the file page to every member;
/// 32 KiB is a sharp preview (a 256 px WebP) and keeps the page far below
/// [`crate::page::MAX_DATA_BYTES`].
pub const MAX_THUMBNAIL_BYTES: usize = 32 * 1024;

/// Identifies one invite link, so its issuer can recognise (and auto-admit) join requests that
/// came through it. Chosen at random by the issuing app.
#[derive(
    Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Debug, serde::Serialize, serde::Deserialize,
)]
pub struct InviteId(pub [u8; 16]);

/// Proof that a join request's author holds the invite link it names, not merely its id
/// ([`crate::invite::Invite::proof_for`]): a keyed hash under the link's secret of the room and
/// the requester. Bound to the requester, so a member who saw another's request cannot replay
/// it for itself; needing the link's secret, so one who saw only the invite id cannot make one.
#[derive(
    Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Debug, serde::Serialize, serde::Deserialize,
)]
pub struct LinkProof(pub [u8; 32]);

/// A member's role.
#[derive(
    Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Debug, serde::Serialize, serde::Deserialize,
)]
pub enum Role {
    /// Reads and writes.
    Member,
    /// Also admits, removes, renames and deletes.
    Owner,
}

/// Room control operations. Room state is the fold of these in causal order (`room.rs`).
#[derive(Clone, PartialEq, Eq, Hash, Debug)]
pub enum ControlOp {
    /// Creates the room; the author becomes its first owner. `direct` is `Some(peer)` for a 1:1
    /// room with `peer` (whose id is derived from both user ids).
    Create {
        /// Room name.
        name: String,
        /// The other party of a 1:1 room.
        direct: Option<UserId>,
    },
    /// Asks to join (written by a non-member into its own book, which is allowed only for
    /// control pages).
    JoinRequest {
        /// How the requester wants to be called.
        display_name: String,
        /// The invite used, if any, so its issuer can auto-admit.
        invite: Option<InviteId>,
        /// Proof of holding that invite's link (links made before links had a secret give
        /// none). On the wire: 32 bytes after the invite id, or nothing.
        proof: Option<LinkProof>,
    },
    /// Makes `member` a member with `role` (also changes the role of an existing member).
    Admit {
        /// Who is admitted.
        member: UserId,
        /// With what role.
        role: Role,
    },
    /// Removes `member`: its pages below seq `seen` count, none at or past it
    /// ([`crate::membership`]). Wire tag 7.
    Remove {
        /// Who is removed.
        member: UserId,
        /// The removed member's book length the remover had seen.
        seen: u64,
    },
    /// The remove operation of rooms written before removal was causal (wire tag 3, still
    /// decoded so stored rooms load; never written any more). It carries no length: the
    /// replica cuts the member at the highest of its pages the remover's book had referenced.
    LegacyRemove {
        /// Who is removed.
        member: UserId,
    },
    /// The author leaves.
    Leave,
    /// Renames the room.
    Rename {
        /// The new name.
        name: String,
    },
    /// Deletes the room: it becomes read-only for everyone.
    Delete,
}

/// Chat content.
#[derive(Clone, PartialEq, Eq, Hash, Debug)]
pub enum MessageBody {
    /// A text message, optionally replying to another page.
    Text {
        /// The text (UTF-8, at most [`MAX_TEXT_BYTES`]).
        text: String,
        /// The page replied to.
        reply_to: Option<PageRef>,
    },
    /// Replaces the text of an earlier message of the same author.
    Edit {
        /// The message edited.
        target: PageRef,
        /// Its new text.
        text: String,
    },
    /// Withdraws an earlier message of the same author (shown as "message deleted").
    Retract {
        /// The message withdrawn.
        target: PageRef,
    },
}

/// A shared file: what the room's members see of it, and what they need to fetch and open it.
/// The bytes are not in the page: they are a sealed blob ([`crate::blob`]) that moves only on
/// demand, from any member holding a copy.
#[derive(Clone, PartialEq, Eq, Hash, Debug)]
pub struct FileBody {
    /// File name as shown (at most [`MAX_FILE_NAME_BYTES`]).
    pub name: String,
    /// MIME type (at most [`MAX_MIME_BYTES`]).
    pub mime: String,
    /// Size of the file in bytes (at most [`crate::blob::MAX_FILE_BYTES`]).
    pub size: u64,
    /// The sealed blob's address.
    pub blob: BlobId,
    /// The key the blob is sealed with (this page is itself sealed under the room's key).
    pub key: FileKey,
    /// A caption (at most [`MAX_DESCRIPTION_BYTES`]; empty for none).
    pub description: String,
    /// A small preview image for images (at most [`MAX_THUMBNAIL_BYTES`]).
    pub thumbnail: Option<Vec<u8>>,
}

impl FileBody {
    /// What a downloader verifies the blob against.
    pub fn blob_info(&self) -> BlobInfo {
        BlobInfo {
            id: self.blob,
            size: crate::blob::sealed_len(self.size),
        }
    }
}

/// The author's profile in this room.
#[derive(Clone, PartialEq, Eq, Hash, Debug)]
pub struct Profile {
    /// How the author wants to be called.
    pub display_name: String,
}

/// A decrypted page body.
#[derive(Clone, PartialEq, Eq, Hash, Debug)]
pub enum Body {
    /// See [`ControlOp`].
    Control(ControlOp),
    /// See [`MessageBody`].
    Message(MessageBody),
    /// See [`FileBody`].
    File(FileBody),
    /// See [`HoldingBody`].
    Holding(HoldingBody),
    /// See [`Profile`].
    Profile(Profile),
    /// See [`KeysBody`].
    Keys(KeysBody),
}

/// Cap on grants in one keys page. Why: a grant of one epoch is under 100 bytes, so a re-key
/// of a room this large still fits a page with room to spare; bigger rooms split their grants
/// over several keys pages.
pub const MAX_GRANTS: usize = 256;

/// Cap on epochs in one grant. Why: a grant of every epoch of a long-lived room to a new member
/// is 48 bytes per epoch; 256 of them (about 12 KiB) fits a page, and a room with more epochs
/// grants its history in several pages.
pub const MAX_GRANT_EPOCHS: usize = 256;

/// Length of one epoch secret inside a grant's sealed bytes.
pub const GRANT_SECRET_LEN: usize = 32;

/// Length of the authentication tag closing a grant's sealed bytes.
pub const GRANT_TAG_LEN: usize = 16;

/// A keys page: optionally a new epoch, and epoch secrets sealed to members.
///
/// Everything but the secrets is plaintext, so every peer (also one that holds none of the
/// secrets) folds the same epoch chain and knows who was given which epoch
/// ([`crate::membership`]).
#[derive(Clone, PartialEq, Eq, Hash, Debug)]
pub struct KeysBody {
    /// The epoch this page starts (its secret reaches members through `grants`), if any.
    pub new_epoch: Option<KeyId>,
    /// Secrets for members, strictly ascending by recipient.
    pub grants: Vec<Grant>,
}

/// Epoch secrets sealed to one recipient ([`crate::crypto::seal_grant`]).
#[derive(Clone, PartialEq, Eq, Hash, Debug)]
pub struct Grant {
    /// Who can open it.
    pub recipient: UserId,
    /// Which epochs' secrets it holds, strictly ascending (`None`: the room's original secret).
    pub epochs: Vec<Option<KeyId>>,
    /// The secrets in the order of `epochs`, sealed: exactly
    /// `epochs.len() * GRANT_SECRET_LEN + GRANT_TAG_LEN` bytes.
    pub sealed: Vec<u8>,
}

impl Grant {
    /// The sealed length a grant of `epochs` epochs has.
    pub const fn sealed_len(epochs: usize) -> usize {
        epochs * GRANT_SECRET_LEN + GRANT_TAG_LEN
    }

    /// Bytes the grant takes in a keys page's encoding (an upper bound, for packing pages).
    pub fn encoded_len_bound(epochs: usize) -> usize {
        32 + 2 + epochs * (1 + KEY_ID_LEN) + 3 + Self::sealed_len(epochs)
    }
}

fn write_keys(w: &mut Writer, keys: &KeysBody) {
    match &keys.new_epoch {
        None => w.u8(0),
        Some(id) => {
            w.u8(1);
            w.raw(&id.0);
        }
    }
    w.varint(keys.grants.len() as u64);
    for grant in &keys.grants {
        write_user(w, &grant.recipient);
        w.varint(grant.epochs.len() as u64);
        for epoch in &grant.epochs {
            write_epoch(w, epoch);
        }
        w.bytes(&grant.sealed);
    }
}

fn write_epoch(w: &mut Writer, epoch: &Option<KeyId>) {
    match epoch {
        None => w.u8(0),
        Some(id) => {
            w.u8(1);
            w.raw(&id.0);
        }
    }
}

fn read_epoch(r: &mut Reader<'_>, what: &'static str) -> Result<Option<KeyId>, DecodeError> {
    match r.u8(what)? {
        0 => Ok(None),
        1 => Ok(Some(KeyId(r.array(what)?))),
        other => Err(DecodeError::UnknownTag {
            what,
            found: u64::from(other),
        }),
    }
}

fn read_keys(r: &mut Reader<'_>) -> Result<KeysBody, DecodeError> {
    let new_epoch = read_epoch(r, "new epoch")?;
    let count = r.len(MAX_GRANTS, "grants")?;
    let mut grants: Vec<Grant> = Vec::with_capacity(count);
    for _ in 0..count {
        let recipient = read_user(r, "grant recipient")?;
        if grants
            .last()
            .is_some_and(|last| last.recipient >= recipient)
        {
            return Err(DecodeError::Malformed {
                what: "grants",
                rule: "grants must be strictly ascending by recipient",
            });
        }
        let epochs_len = r.len(MAX_GRANT_EPOCHS, "grant epochs")?;
        let mut epochs: Vec<Option<KeyId>> = Vec::with_capacity(epochs_len);
        for _ in 0..epochs_len {
            let epoch = read_epoch(r, "grant epoch")?;
            if epochs.last().is_some_and(|last| *last >= epoch) {
                return Err(DecodeError::Malformed {
                    what: "grant epochs",
                    rule: "a grant's epochs must be strictly ascending",
                });
            }
            epochs.push(epoch);
        }
        let sealed = r
            .bytes(Grant::sealed_len(MAX_GRANT_EPOCHS), "grant secrets")?
            .to_vec();
        if sealed.len() != Grant::sealed_len(epochs.len()) {
            return Err(DecodeError::Malformed {
                what: "grant secrets",
                rule: "a grant seals exactly one secret per epoch it names",
            });
        }
        grants.push(Grant {
            recipient,
            epochs,
            sealed,
        });
    }
    Ok(KeysBody { new_epoch, grants })
}

impl Body {
    /// The page kind that carries this body.
    pub fn kind(&self) -> PageKind {
        match self {
            Self::Control(_) => PageKind::Control,
            Self::Message(_) => PageKind::Message,
            Self::File(_) => PageKind::File,
            Self::Holding(_) => PageKind::Holding,
            Self::Profile(_) => PageKind::Profile,
            Self::Keys(_) => PageKind::Keys,
        }
    }

    /// The canonical plaintext encoding (what gets encrypted into `data`).
    pub fn encode(&self) -> Vec<u8> {
        let mut w = Writer::default();
        match self {
            Self::Control(op) => write_control(&mut w, op),
            Self::Message(message) => write_message(&mut w, message),
            Self::File(file) => {
                w.str(&file.name);
                w.str(&file.mime);
                w.varint(file.size);
                w.raw(&file.blob.0);
                w.raw(file.key.as_bytes());
                w.str(&file.description);
                match &file.thumbnail {
                    None => w.u8(0),
                    Some(bytes) => {
                        w.u8(1);
                        w.bytes(bytes);
                    }
                }
            }
            Self::Holding(holding) => {
                w.raw(&holding.blob.0);
                w.u8(u8::from(holding.held));
            }
            Self::Profile(profile) => w.str(&profile.display_name),
            Self::Keys(keys) => write_keys(&mut w, keys),
        }
        w.finish()
    }

    /// Decodes the plaintext of a page of `kind`.
    pub fn decode(kind: PageKind, bytes: &[u8]) -> Result<Self, DecodeError> {
        let mut r = Reader::new(bytes);
        let body = match kind {
            PageKind::Control => Self::Control(read_control(&mut r)?),
            PageKind::Message => Self::Message(read_message(&mut r)?),
            PageKind::File => {
                let name = r.string(MAX_FILE_NAME_BYTES, "file name")?;
                let mime = r.string(MAX_MIME_BYTES, "file mime")?;
                let size = r.varint_max(MAX_FILE_BYTES, "file size")?;
                let blob = BlobId(r.array("file blob")?);
                let key = FileKey::from_bytes(r.array("file key")?);
                let description = r.string(MAX_DESCRIPTION_BYTES, "file description")?;
                let thumbnail = match r.u8("file thumbnail tag")? {
                    0 => None,
                    1 => Some(r.bytes(MAX_THUMBNAIL_BYTES, "file thumbnail")?.to_vec()),
                    other => {
                        return Err(DecodeError::UnknownTag {
                            what: "file thumbnail",
                            found: u64::from(other),
                        });
                    }
                };
                Self::File(FileBody {
                    name,
                    mime,
                    size,
                    blob,
                    key,
                    description,
                    thumbnail,
                })
            }
            PageKind::Holding => {
                let blob = BlobId(r.array("held blob")?);
                let held = match r.u8("held flag")? {
                    0 => false,
                    1 => true,
                    other => {
                        return Err(DecodeError::UnknownTag {
                            what: "held flag",
                            found: u64::from(other),
                        });
                    }
                };
                Self::Holding(HoldingBody { blob, held })
            }
            PageKind::Profile => Self::Profile(Profile {
                display_name: r.string(MAX_NAME_BYTES, "display name")?,
            }),
            PageKind::Keys => Self::Keys(read_keys(&mut r)?),
            PageKind::Other(byte) => {
                return Err(DecodeError::UnknownTag {
                    what: "page kind",
                    found: u64::from(byte),
                });
            }
        };
        r.finish("page body")?;
        Ok(body)
    }
}

fn write_user(w: &mut Writer, user: &UserId) {
    w.raw(user.as_bytes());
}

fn read_user(r: &mut Reader<'_>, what: &'static str) -> Result<UserId, DecodeError> {
    Ok(UserId::from_bytes(r.array(what)?))
}

fn write_ref(w: &mut Writer, reference: &PageRef) {
    write_user(w, &reference.author);
    w.varint(reference.seq);
    w.raw(&reference.hash.0);
}

fn read_ref(r: &mut Reader<'_>, what: &'static str) -> Result<PageRef, DecodeError> {
    Ok(PageRef {
        author: read_user(r, what)?,
        seq: r.varint(what)?,
        hash: PageHash(r.array(what)?),
    })
}

fn write_role(w: &mut Writer, role: Role) {
    w.u8(match role {
        Role::Member => 0,
        Role::Owner => 1,
    });
}

fn read_role(r: &mut Reader<'_>) -> Result<Role, DecodeError> {
    match r.u8("role")? {
        0 => Ok(Role::Member),
        1 => Ok(Role::Owner),
        other => Err(DecodeError::UnknownTag {
            what: "role",
            found: u64::from(other),
        }),
    }
}

fn write_control(w: &mut Writer, op: &ControlOp) {
    match op {
        ControlOp::Create { name, direct } => {
            w.u8(0);
            w.str(name);
            match direct {
                None => w.u8(0),
                Some(peer) => {
                    w.u8(1);
                    write_user(w, peer);
                }
            }
        }
        ControlOp::JoinRequest {
            display_name,
            invite,
            proof,
        } => {
            w.u8(1);
            w.str(display_name);
            match invite {
                None => w.u8(0),
                Some(id) => {
                    w.u8(1);
                    w.raw(&id.0);
                    if let Some(proof) = proof {
                        w.raw(&proof.0);
                    }
                }
            }
        }
        ControlOp::Admit { member, role } => {
            w.u8(2);
            write_user(w, member);
            write_role(w, *role);
        }
        ControlOp::LegacyRemove { member } => {
            w.u8(3);
            write_user(w, member);
        }
        ControlOp::Remove { member, seen } => {
            w.u8(7);
            write_user(w, member);
            w.varint(*seen);
        }
        ControlOp::Leave => w.u8(4),
        ControlOp::Rename { name } => {
            w.u8(5);
            w.str(name);
        }
        ControlOp::Delete => w.u8(6),
    }
}

fn read_option_tag(r: &mut Reader<'_>, what: &'static str) -> Result<bool, DecodeError> {
    r.bool(what)
}

fn read_control(r: &mut Reader<'_>) -> Result<ControlOp, DecodeError> {
    Ok(match r.u8("control op")? {
        0 => ControlOp::Create {
            name: r.string(MAX_NAME_BYTES, "room name")?,
            direct: if read_option_tag(r, "create direct")? {
                Some(read_user(r, "create direct peer")?)
            } else {
                None
            },
        },
        1 => {
            let display_name = r.string(MAX_NAME_BYTES, "display name")?;
            let invite = if read_option_tag(r, "join invite")? {
                Some(InviteId(r.array("join invite id")?))
            } else {
                None
            };
            // A request written before links had a secret ends here.
            let proof = if invite.is_some() && !r.is_at_end() {
                Some(LinkProof(r.array("join link proof")?))
            } else {
                None
            };
            ControlOp::JoinRequest {
                display_name,
                invite,
                proof,
            }
        }
        2 => ControlOp::Admit {
            member: read_user(r, "admit member")?,
            role: read_role(r)?,
        },
        3 => ControlOp::LegacyRemove {
            member: read_user(r, "remove member")?,
        },
        4 => ControlOp::Leave,
        5 => ControlOp::Rename {
            name: r.string(MAX_NAME_BYTES, "room name")?,
        },
        6 => ControlOp::Delete,
        7 => ControlOp::Remove {
            member: read_user(r, "remove member")?,
            seen: r.varint("remove seen")?,
        },
        other => {
            return Err(DecodeError::UnknownTag {
                what: "control op",
                found: u64::from(other),
            });
        }
    })
}

fn write_message(w: &mut Writer, message: &MessageBody) {
    match message {
        MessageBody::Text { text, reply_to } => {
            w.u8(0);
            w.str(text);
            match reply_to {
                None => w.u8(0),
                Some(reference) => {
                    w.u8(1);
                    write_ref(w, reference);
                }
            }
        }
        MessageBody::Edit { target, text } => {
            w.u8(1);
            write_ref(w, target);
            w.str(text);
        }
        MessageBody::Retract { target } => {
            w.u8(2);
            write_ref(w, target);
        }
    }
}

fn read_message(r: &mut Reader<'_>) -> Result<MessageBody, DecodeError> {
    Ok(match r.u8("message type")? {
        0 => MessageBody::Text {
            text: r.string(MAX_TEXT_BYTES, "message text")?,
            reply_to: if read_option_tag(r, "reply tag")? {
                Some(read_ref(r, "reply ref")?)
            } else {
                None
            },
        },
        1 => MessageBody::Edit {
            target: read_ref(r, "edit target")?,
            text: r.string(MAX_TEXT_BYTES, "message text")?,
        },
        2 => MessageBody::Retract {
            target: read_ref(r, "retract target")?,
        },
        other => {
            return Err(DecodeError::UnknownTag {
                what: "message type",
                found: u64::from(other),
            });
        }
    })
}
