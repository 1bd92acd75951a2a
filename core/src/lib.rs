//! quire-core: the Quire protocol as a deterministic, sans-IO library.
//!
//! No clock, randomness, storage or sockets in here: time, nonces and keys are inputs, and
//! effects (pages to store, messages to send) are outputs that the app's drivers carry out.
//! Everything compiles for `wasm32-unknown-unknown` as well as natively.
//!
//! # Modules
//!
//! Data model and cryptography:
//! - [`identity`]: users ([`identity::UserId`] = ed25519 key = libp2p `PeerId`), signing keys.
//! - [`page`]: ids, [`page::Page`] and its canonical, versioned, signed encoding;
//!   [`page::body`]: the plaintext bodies (room control operations, messages, files).
//! - [`crypto`]: room and epoch secrets, the page-data key, XChaCha20-Poly1305 sealing of
//!   bodies, epoch secrets sealed to one member (grants).
//! - [`validate`]: free functions that check one property of a page each; equivocation proofs.
//! - [`book`]: one author's append-only book in one room: append, insert out of order, gaps.
//! - [`invite`]: the signed, versioned invite payload carried in a URL fragment.
//! - [`blob`]: shared files as sealed, content-addressed blobs with BLAKE3 verified streaming.
//! - [`copies`]: `/quire/copies/1`, how a relay tells the live copies of one account apart.
//! - `codec` (private): the strict canonical binary codec all of the above use.
//!
//! Ordering, membership and networking: `causal` (causal delivery and display
//! order), `membership` (who may store, sync and count, in each author's seq space), `room`
//! (room state as the fold of control pages), `sync` (the per-peer sync state
//! machine, `/quire/sync/1`), `plan` (which members to hold links to), `sim` (deterministic
//! multi-peer simulation).

pub mod blob;
pub mod book;
mod codec;
pub mod copies;
pub mod crypto;
pub mod identity;
pub mod invite;
pub mod page;
pub mod validate;

pub use codec::DecodeError;
pub mod causal;
pub mod membership;
pub mod plan;
pub mod room;
#[cfg(any(test, feature = "sim"))]
pub mod sim;
pub mod sync;
