//! Cutting stored books back: a forked book to its equivocation proof, a book the membership
//! policy no longer lets this device keep to what it may keep.

use indexed_db_futures::KeyRange;
use indexed_db_futures::prelude::*;
use indexed_db_futures::transaction::{TransactionDurability, TransactionMode, TransactionOptions};
use wasm_bindgen::JsValue;

use super::error::{StorageError, StorageOp};
use super::handle::Storage;
use super::records::{BookRecord, ProofRecord};
use super::schema;

/// One book to cut back in storage.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BookCut {
    /// The book as it stands after the cut. Every stored page at seq `book.length` or above is
    /// deleted, and a stored book record that is longer is replaced by this one.
    pub book: BookRecord,
    /// The proof that cut the book, saved unless a proof at a lower seq is already stored for
    /// it. `None` for a book cut back by the membership policy.
    pub proof: Option<ProofRecord>,
}

impl Storage {
    /// Applies every cut in one transaction (strict durability: a lost cut would bring the
    /// fork or the dropped pages back after a reload), resolving only after it commits. On any
    /// error nothing of it is kept. Applying a cut again changes nothing.
    pub async fn cut_books(&self, cuts: &[BookCut]) -> Result<(), StorageError> {
        if cuts.is_empty() {
            return Ok(());
        }
        let op = StorageOp::CutBooks;
        let map = |e| StorageError::from_idb(op, e);
        let tx = self
            .db
            .transaction([schema::PAGES, schema::BOOKS, schema::PROOFS])
            .with_mode(TransactionMode::Readwrite)
            .with_options(TransactionOptions::new().with_durability(TransactionDurability::Strict))
            .build()
            .map_err(map)?;
        let pages = tx.object_store(schema::PAGES).map_err(map)?;
        let books = tx.object_store(schema::BOOKS).map_err(map)?;
        let proofs = tx.object_store(schema::PROOFS).map_err(map)?;
        let mut requests = Vec::with_capacity(cuts.len() * 3);
        for cut in cuts {
            // Only this transaction's own requests are awaited, so it stays open throughout.
            let stored: Option<BookRecord> = books
                .get(cut.book.id.as_str())
                .serde()
                .map_err(map)?
                .await
                .map_err(map)?;
            if stored.is_some_and(|b| b.length > cut.book.length) {
                requests.push(books.put(&cut.book).serde().map_err(map)?);
            }
            let from = page_key(&cut.book.id, cut.book.length as f64);
            let end = page_key(&cut.book.id, f64::INFINITY);
            requests.push(
                pages
                    .delete::<JsValue, _>(KeyRange::Bound(from, false, end, false))
                    .primitive()
                    .map_err(map)?,
            );
            let Some(proof) = &cut.proof else {
                continue;
            };
            let kept: Option<ProofRecord> = proofs
                .get(proof.book.as_str())
                .serde()
                .map_err(map)?
                .await
                .map_err(map)?;
            if kept.is_none_or(|kept| kept.seq >= proof.seq) {
                requests.push(proofs.put(proof).serde().map_err(map)?);
            }
        }
        drop((pages, books, proofs));
        let result = super::batch::commit(tx, op).await;
        drop(requests);
        result
    }

    /// The stored proof of `book`, if any.
    pub async fn proof(&self, book: &str) -> Result<Option<ProofRecord>, StorageError> {
        let op = StorageOp::ReadProofs;
        let map = |e| StorageError::from_idb(op, e);
        let tx = self.db.transaction(schema::PROOFS).build().map_err(map)?;
        let store = tx.object_store(schema::PROOFS).map_err(map)?;
        store.get(book).serde().map_err(map)?.await.map_err(map)
    }
}

/// A page key `[book, seq]`, as a JS value (the raw readers and deletes take only those).
pub(super) fn page_key(book: &str, seq: f64) -> JsValue {
    js_sys::Array::of2(&JsValue::from_str(book), &JsValue::from_f64(seq)).into()
}
