//! The database schema and its numbered migrations.
//!
//! # Upgrade path
//! IndexedDB stores an integer version per database. When Quire opens a database whose version is
//! older than [`SCHEMA_VERSION`], the browser runs an `upgradeneeded` transaction and
//! [`upgrade`] applies every migration from the stored version + 1 up to the current one, in
//! order, inside that single transaction. If any step fails the whole upgrade rolls back and the
//! database stays at its old version with its data intact (opening then reports an error).
//!
//! Rules for adding a version:
//! 1. Never edit a released migration; append `to_vN` to [`MIGRATIONS`] and bump
//!    [`SCHEMA_VERSION`]. A user may jump several versions at once, so every step must work from
//!    the state the previous step left, not from "the latest".
//! 2. Migrations run synchronously in the version-change transaction: create/delete stores and
//!    indexes, or issue requests without awaiting anything else (auto-commit pitfall).
//! 3. New record fields are not migrations: use `#[serde(default)]` (see [`super::records`]).
//! 4. Add a browser test that opens the database at the previous version, writes data, and
//!    reopens at the new version (see `app/tests/storage.rs`).
//!
//! # History
//! - v1: `meta` (identity, profile; out-of-line keys), `rooms` (key `id`), `books` (key `id`),
//!   `pages` (key `[book, seq]`).
//! - v2: `books.by_room` index, so opening a room reads only its books; `peer_heads`
//!   (key `[room, peer]`, index `by_room`), so delivery ticks survive a reload.
//! - v3: `proofs` (key `book`, index `by_room`): one equivocation proof per forked book, so a
//!   reload keeps the book cut at the fork instead of showing it whole again.
//! - v4: `blobs` (key `id`): the shared files this device holds, whole or in part (which
//!   pieces, and the hash tree once whole); `blob_pieces` (key `[blob, index]`): their sealed
//!   bytes, one record per piece, so no file is ever read or written whole.

use wasm_bindgen::{JsCast, JsValue};
use web_sys::{IdbDatabase, IdbIndexParameters, IdbObjectStoreParameters, IdbTransaction};

/// The schema version this build writes. See the module docs before changing it.
pub const SCHEMA_VERSION: u32 = 4;

pub(crate) const META: &str = "meta";
pub(crate) const ROOMS: &str = "rooms";
pub(crate) const BOOKS: &str = "books";
pub(crate) const PAGES: &str = "pages";
pub(crate) const PEER_HEADS: &str = "peer_heads";
pub(crate) const PROOFS: &str = "proofs";
pub(crate) const BLOBS: &str = "blobs";
pub(crate) const BLOB_PIECES: &str = "blob_pieces";
/// Index on `room`, in `books`, `peer_heads` and `proofs`.
pub(crate) const BY_ROOM: &str = "by_room";

/// Keys of the single records in `meta`.
pub(crate) const META_IDENTITY: &str = "identity";
pub(crate) const META_PROFILE: &str = "profile";

type Migration = fn(&IdbDatabase, &IdbTransaction) -> Result<(), JsValue>;

/// `MIGRATIONS[n]` upgrades a database from version `n` to version `n + 1`.
const MIGRATIONS: [Migration; SCHEMA_VERSION as usize] = [to_v1, to_v2, to_v3, to_v4];

/// Applies the migrations that take a database from `old` to `new`.
pub(crate) fn upgrade(
    db: &IdbDatabase,
    tx: &IdbTransaction,
    old: u32,
    new: u32,
) -> Result<(), JsValue> {
    if new > SCHEMA_VERSION {
        return Err(JsValue::from_str(
            "no migration to a schema newer than this build",
        ));
    }
    for from in old..new {
        let step = MIGRATIONS
            .get(from as usize)
            .ok_or_else(|| JsValue::from_str("missing schema migration"))?;
        step(db, tx)?;
    }
    Ok(())
}

fn key_path(path: &[&str]) -> JsValue {
    match path {
        [one] => JsValue::from_str(one),
        many => many
            .iter()
            .map(|p| JsValue::from_str(p))
            .collect::<js_sys::Array>()
            .unchecked_into(),
    }
}

fn create_store(db: &IdbDatabase, name: &str, path: Option<&[&str]>) -> Result<(), JsValue> {
    let params = IdbObjectStoreParameters::new();
    if let Some(path) = path {
        params.set_key_path(&key_path(path));
    }
    db.create_object_store_with_optional_parameters(name, &params)?;
    Ok(())
}

fn to_v1(db: &IdbDatabase, _tx: &IdbTransaction) -> Result<(), JsValue> {
    create_store(db, META, None)?;
    create_store(db, ROOMS, Some(&["id"]))?;
    create_store(db, BOOKS, Some(&["id"]))?;
    create_store(db, PAGES, Some(&["book", "seq"]))?;
    Ok(())
}

fn to_v2(db: &IdbDatabase, tx: &IdbTransaction) -> Result<(), JsValue> {
    // An existing store is reached through the version-change transaction, not the database.
    let params = IdbIndexParameters::new();
    params.set_unique(false);
    let books = tx.object_store(BOOKS)?;
    books.create_index_with_str_and_optional_parameters(BY_ROOM, "room", &params)?;
    create_store(db, PEER_HEADS, Some(&["room", "peer"]))?;
    let heads = tx.object_store(PEER_HEADS)?;
    heads.create_index_with_str_and_optional_parameters(BY_ROOM, "room", &params)?;
    Ok(())
}

fn to_v3(db: &IdbDatabase, tx: &IdbTransaction) -> Result<(), JsValue> {
    create_store(db, PROOFS, Some(&["book"]))?;
    let params = IdbIndexParameters::new();
    params.set_unique(false);
    let proofs = tx.object_store(PROOFS)?;
    proofs.create_index_with_str_and_optional_parameters(BY_ROOM, "room", &params)?;
    Ok(())
}

fn to_v4(db: &IdbDatabase, _tx: &IdbTransaction) -> Result<(), JsValue> {
    create_store(db, BLOBS, Some(&["id"]))?;
    create_store(db, BLOB_PIECES, Some(&["blob", "index"]))?;
    Ok(())
}
