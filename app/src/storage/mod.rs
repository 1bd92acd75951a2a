//! Durable local state in IndexedDB: identity, profile, rooms, books and their pages.
//!
//! Why this shape:
//! - One database per browser profile (`quire`), opened once and shared through [`Storage`],
//!   which is cheap to clone. Browser handles are `!Send`, so UI code keeps it in a local
//!   `StoredValue`.
//! - Pages are stored as core's encoded, signed bytes under the key `[book, seq]`: storage never
//!   interprets them, so a page read back is exactly the page that was verified and signed.
//! - Every batch of pages and the matching book heads are written in **one** readwrite
//!   transaction, and [`Storage::write_pages`] resolves only after IndexedDB reports `complete`.
//!   The UI marks a message "saved on this device" only then, so nothing acknowledged is lost.
//! - IndexedDB commits a transaction as soon as the event loop runs with no request pending, so
//!   no function here awaits anything but its own transaction's requests while one is open.
//!   All async work (crypto, network) happens before a transaction starts.
//! - A forked book is cut back to its equivocation proof, and a book the membership policy cut
//!   back loses its pages past the cut, each in one transaction with the book record
//!   ([`Storage::cut_books`]), so a reload shows the book exactly as it was cut.
//! - Shared files are kept as their sealed blobs, one record per piece (`blob_pieces`) beside
//!   a record of which pieces are here (`blobs`); a piece and the record that names it are
//!   written in one transaction, so the record never names a piece that is not stored.
//! - Schema changes are numbered migrations in [`schema`]; see its docs for the upgrade path.
//! - Loading reads record by record (`salvage`): a record that does not decode is skipped and
//!   reported ([`SkippedRecord`]), never deleted, so one damaged record cannot keep the rest
//!   of the messenger from starting.
//! - When another tab upgrades or deletes the database, this tab's connection closes at once
//!   and [`Storage::on_upgraded_elsewhere`] listeners hear of it; an open that has to wait for
//!   another tab says so ([`Storage::open_noting_blocked`]).

mod batch;
mod blobs;
mod cut;
mod error;
mod handle;
mod persist;
mod records;
mod salvage;
pub mod schema;

pub use batch::PageBatch;
pub use cut::BookCut;
pub use error::{StorageError, StorageOp};
pub use handle::{DEFAULT_DB_NAME, Storage};
pub use persist::{Persistence, request_persistence};
pub use records::{
    BlobRecord, BookRecord, IdentityRecord, PageRecord, PeerHeadsRecord, PieceRecord,
    ProfileRecord, ProofRecord, RoomRecord,
};
pub use salvage::{Salvaged, SkippedRecord};
