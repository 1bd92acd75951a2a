//! Shared files' sealed blobs: pieces written as they arrive (or as a file is sealed), read
//! back a range at a time, deleted whole.

use std::ops::Range;

use indexed_db_futures::KeyRange;
use indexed_db_futures::prelude::*;
use indexed_db_futures::transaction::TransactionMode;
use wasm_bindgen::JsValue;

use super::error::{StorageError, StorageOp};
use super::handle::Storage;
use super::records::{BlobRecord, PieceRecord};
use super::schema;

impl Storage {
    /// The record of one blob, if this device holds any of it.
    pub async fn blob(&self, id: &str) -> Result<Option<BlobRecord>, StorageError> {
        let op = StorageOp::ReadBlobs;
        let map = |e| StorageError::from_idb(op, e);
        let tx = self.db.transaction(schema::BLOBS).build().map_err(map)?;
        let store = tx.object_store(schema::BLOBS).map_err(map)?;
        store.get(id).serde().map_err(map)?.await.map_err(map)
    }

    /// Every blob this device holds, whole or in part.
    pub async fn blobs(&self) -> Result<Vec<BlobRecord>, StorageError> {
        let op = StorageOp::ReadBlobs;
        let map = |e| StorageError::from_idb(op, e);
        let tx = self.db.transaction(schema::BLOBS).build().map_err(map)?;
        let store = tx.object_store(schema::BLOBS).map_err(map)?;
        let found = store
            .get_all::<BlobRecord>()
            .serde()
            .map_err(map)?
            .await
            .map_err(map)?;
        found.map(|b| b.map_err(map)).collect()
    }

    /// Stores pieces and the blob record that names them, in one transaction: after a crash
    /// either both are there or neither. The caller computes the record (its piece set
    /// includes these pieces); resolves once committed.
    pub async fn save_pieces(
        &self,
        record: &BlobRecord,
        pieces: &[PieceRecord],
    ) -> Result<(), StorageError> {
        let op = StorageOp::WriteBlob;
        let map = |e| StorageError::from_idb(op, e);
        let tx = self
            .db
            .transaction([schema::BLOBS, schema::BLOB_PIECES])
            .with_mode(TransactionMode::Readwrite)
            .build()
            .map_err(map)?;
        let blobs = tx.object_store(schema::BLOBS).map_err(map)?;
        let stored = tx.object_store(schema::BLOB_PIECES).map_err(map)?;
        let mut requests = Vec::with_capacity(pieces.len() + 1);
        for piece in pieces {
            requests.push(stored.put(piece).serde().map_err(map)?);
        }
        requests.push(blobs.put(record).serde().map_err(map)?);
        drop((blobs, stored));
        let result = super::batch::commit(tx, op).await;
        drop(requests);
        result
    }

    /// Saves a blob record alone (its hash tree once whole).
    pub async fn save_blob(&self, record: &BlobRecord) -> Result<(), StorageError> {
        self.save_pieces(record, &[]).await
    }

    /// The stored pieces of `blob` with indices in `indices`, in order (missing ones are
    /// simply absent).
    pub async fn pieces(
        &self,
        blob: &str,
        indices: Range<u64>,
    ) -> Result<Vec<PieceRecord>, StorageError> {
        let op = StorageOp::ReadBlobs;
        let map = |e| StorageError::from_idb(op, e);
        if indices.is_empty() {
            return Ok(Vec::new());
        }
        let tx = self
            .db
            .transaction(schema::BLOB_PIECES)
            .build()
            .map_err(map)?;
        let store = tx.object_store(schema::BLOB_PIECES).map_err(map)?;
        let range = KeyRange::Bound((blob, indices.start), false, (blob, indices.end), true);
        let found = store
            .get_all::<PieceRecord>()
            .with_query(range)
            .serde()
            .map_err(map)?
            .await
            .map_err(map)?;
        found.map(|p| p.map_err(map)).collect()
    }

    /// Deletes a blob and every stored piece of it, in one transaction.
    pub async fn delete_blob(&self, blob: &str) -> Result<(), StorageError> {
        let op = StorageOp::DeleteBlob;
        let map = |e| StorageError::from_idb(op, e);
        let tx = self
            .db
            .transaction([schema::BLOBS, schema::BLOB_PIECES])
            .with_mode(TransactionMode::Readwrite)
            .build()
            .map_err(map)?;
        let blobs = tx.object_store(schema::BLOBS).map_err(map)?;
        let stored = tx.object_store(schema::BLOB_PIECES).map_err(map)?;
        let from = piece_key(blob, 0.0);
        let end = piece_key(blob, f64::INFINITY);
        let requests = (
            stored
                .delete::<JsValue, _>(KeyRange::Bound(from, false, end, false))
                .primitive()
                .map_err(map)?,
            blobs.delete(blob).primitive().map_err(map)?,
        );
        drop((blobs, stored));
        let result = super::batch::commit(tx, op).await;
        drop(requests);
        result
    }
}

/// A piece key `[blob, index]` as a JS value.
fn piece_key(blob: &str, index: f64) -> JsValue {
    js_sys::Array::of2(&JsValue::from_str(blob), &JsValue::from_f64(index)).into()
}
