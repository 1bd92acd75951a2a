//! Reading stores record by record, so one damaged record costs only itself.
//!
//! The strict readers ([`Storage::rooms`], [`Storage::pages`], ...) fail as a whole when any
//! record does not decode. Loading the messenger must not: a record written by a buggy build,
//! or damaged on disk, would otherwise keep every room closed and the network from starting.
//! These readers take the raw values and their keys in one read-only transaction, decode each
//! value on its own, and return the ones that decode plus a [`SkippedRecord`] for each that
//! does not. Nothing is ever deleted or rewritten here: a skipped record stays on disk exactly
//! as it was, for a later build (or a person) to recover.

use std::ops::Range;

use indexed_db_futures::KeyRange;
use indexed_db_futures::prelude::*;
use wasm_bindgen::JsValue;

use super::error::{StorageError, StorageOp};
use super::handle::Storage;
use super::records::{BookRecord, PageRecord, ProofRecord, RoomRecord};
use super::schema;

/// A stored record that could not be decoded and was left out (and left in place).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SkippedRecord {
    /// The object store it is in (`rooms`, `books`, `pages`, `proofs`).
    pub store: &'static str,
    /// Its key, readably: a room or book id (also for a proof), or `["<book>",<seq>]` for a
    /// page.
    pub key: String,
    /// Why it could not be used.
    pub reason: String,
}

impl std::fmt::Display for SkippedRecord {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "skipped the stored record {} in {}: {}",
            self.key, self.store, self.reason
        )
    }
}

/// The records of a read that decoded, and the ones that did not.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Salvaged<T> {
    pub records: Vec<T>,
    pub skipped: Vec<SkippedRecord>,
}

impl<T> Default for Salvaged<T> {
    fn default() -> Self {
        Self {
            records: Vec::new(),
            skipped: Vec::new(),
        }
    }
}

impl Storage {
    /// Every room record that decodes; the others are reported, not returned.
    pub async fn rooms_salvaged(&self) -> Result<Salvaged<RoomRecord>, StorageError> {
        let op = StorageOp::ReadRooms;
        let map = |e| StorageError::from_idb(op, e);
        let tx = self.db.transaction(schema::ROOMS).build().map_err(map)?;
        let store = tx.object_store(schema::ROOMS).map_err(map)?;
        // Both requests are issued before either is awaited, in one transaction, so keys and
        // values describe the same records in the same (key) order.
        let keys = store.get_all_keys::<JsValue>().primitive().map_err(map)?;
        let values = store.get_all::<JsValue>().primitive().map_err(map)?;
        let keys = keys.await.map_err(map)?;
        let values = values.await.map_err(map)?;
        salvage(schema::ROOMS, keys, values, map)
    }

    /// Every book record of `room` that decodes; the others are reported, not returned.
    pub async fn books_in_room_salvaged(
        &self,
        room: &str,
    ) -> Result<Salvaged<BookRecord>, StorageError> {
        self.in_room_salvaged(schema::BOOKS, StorageOp::ReadBooks, room)
            .await
    }

    /// Every equivocation proof of `room` that decodes; the others are reported, not returned.
    pub async fn proofs_in_room_salvaged(
        &self,
        room: &str,
    ) -> Result<Salvaged<ProofRecord>, StorageError> {
        self.in_room_salvaged(schema::PROOFS, StorageOp::ReadProofs, room)
            .await
    }

    /// The records of `store` whose `by_room` index names `room` and that decode.
    async fn in_room_salvaged<T: serde::de::DeserializeOwned>(
        &self,
        store: &'static str,
        op: StorageOp,
        room: &str,
    ) -> Result<Salvaged<T>, StorageError> {
        let map = |e| StorageError::from_idb(op, e);
        let tx = self.db.transaction(store).build().map_err(map)?;
        let records = tx.object_store(store).map_err(map)?;
        let index = records.index(schema::BY_ROOM).map_err(map)?;
        // Index reads return the records' primary keys, so skipped records name their record;
        // both requests are issued before either is awaited, in one transaction.
        let keys = index
            .get_all_keys::<JsValue>()
            .with_query::<&str, _>(room)
            .primitive()
            .map_err(map)?;
        let values = index
            .get_all::<JsValue>()
            .with_query::<&str, _>(room)
            .primitive()
            .map_err(map)?;
        let keys = keys.await.map_err(map)?;
        let values = values.await.map_err(map)?;
        salvage(store, keys, values, map)
    }

    /// The stored pages of `book` with seqs in `seqs` that decode, in seq order; the others
    /// are reported, not returned.
    pub async fn pages_salvaged(
        &self,
        book: &str,
        seqs: Range<u64>,
    ) -> Result<Salvaged<PageRecord>, StorageError> {
        let op = StorageOp::ReadPages;
        let map = |e| StorageError::from_idb(op, e);
        if seqs.is_empty() {
            return Ok(Salvaged::default());
        }
        let tx = self.db.transaction(schema::PAGES).build().map_err(map)?;
        let store = tx.object_store(schema::PAGES).map_err(map)?;
        // Page keys are `[book, seq]` arrays; built as JS values because the raw (non-serde)
        // readers take only keys that convert to JS directly.
        // Seqs are far below 2^53, so the conversion to a JS number is exact.
        let key = |seq: u64| super::cut::page_key(book, seq as f64);
        let range = || KeyRange::Bound(key(seqs.start), false, key(seqs.end), true);
        let keys = store
            .get_all_keys::<JsValue>()
            .with_query::<JsValue, _>(range())
            .primitive()
            .map_err(map)?;
        let values = store
            .get_all::<JsValue>()
            .with_query::<JsValue, _>(range())
            .primitive()
            .map_err(map)?;
        let keys = keys.await.map_err(map)?;
        let values = values.await.map_err(map)?;
        salvage(schema::PAGES, keys, values, map)
    }
}

/// Decodes each value on its own, pairing it with its key for the report.
fn salvage<T, K, V>(
    store: &'static str,
    keys: K,
    values: V,
    map: impl Fn(indexed_db_futures::error::Error) -> StorageError,
) -> Result<Salvaged<T>, StorageError>
where
    T: serde::de::DeserializeOwned,
    K: IntoIterator<Item = indexed_db_futures::Result<JsValue>>,
    V: IntoIterator<Item = indexed_db_futures::Result<JsValue>>,
{
    let mut out = Salvaged::default();
    for (key, value) in keys.into_iter().zip(values) {
        let (key, value) = (key.map_err(&map)?, value.map_err(&map)?);
        match <T as indexed_db_futures::DeserialiseFromJs>::deserialise_from_js(value) {
            Ok(record) => out.records.push(record),
            Err(e) => out.skipped.push(SkippedRecord {
                store,
                key: key_text(&key),
                reason: format!("it does not decode ({e})"),
            }),
        }
    }
    Ok(out)
}

/// A key as the browser's storage inspector would show it.
fn key_text(key: &JsValue) -> String {
    key.as_string()
        .or_else(|| {
            js_sys::JSON::stringify(key)
                .ok()
                .and_then(|s| s.as_string())
        })
        .unwrap_or_else(|| format!("{key:?}"))
}
