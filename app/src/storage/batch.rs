//! Writing pages in all-or-nothing batches, and reading them back.

use std::collections::BTreeMap;
use std::ops::Range;

use indexed_db_futures::KeyRange;
use indexed_db_futures::internals::SystemRepr;
use indexed_db_futures::prelude::*;
use indexed_db_futures::transaction::{
    Transaction, TransactionDurability, TransactionMode, TransactionOptions,
};

use super::error::{StorageError, StorageOp};
use super::handle::Storage;
use super::records::{BookRecord, PageRecord};
use super::schema;

/// Pages to store together with the book heads they produce.
///
/// Durability: pages the user wrote are written with `strict` durability, so "saved on this
/// device" means flushed to disk, not just handed to the OS. Pages copied from peers use
/// `relaxed`: if a crash loses them, sync fetches them again.
#[derive(Debug, Clone, Default)]
pub struct PageBatch {
    books: BTreeMap<String, BookRecord>,
    pages: Vec<PageRecord>,
    own: bool,
}

impl PageBatch {
    /// A batch of pages this device's user wrote (strict durability).
    pub fn own() -> Self {
        Self {
            own: true,
            ..Self::default()
        }
    }

    /// A batch of pages received from peers (relaxed durability).
    pub fn received() -> Self {
        Self::default()
    }

    /// Adds one page of book `before` (the book as stored before this batch; only read on the
    /// book's first page in the batch). Pages must continue the book without gaps; `head` is
    /// the hash of this page.
    pub fn push(
        &mut self,
        from: &BookRecord,
        page: PageRecord,
        head: Vec<u8>,
    ) -> Result<(), StorageError> {
        let book = self
            .books
            .entry(from.id.clone())
            .or_insert_with(|| from.clone());
        if page.book != book.id || page.seq != book.length {
            return Err(StorageError::BatchNotContiguous {
                book: book.id.clone(),
                expected: book.length,
                found: page.seq,
            });
        }
        book.length += 1;
        book.head = head;
        self.pages.push(page);
        Ok(())
    }

    pub fn is_empty(&self) -> bool {
        self.pages.is_empty()
    }

    pub fn len(&self) -> usize {
        self.pages.len()
    }

    /// The book states this batch leaves once committed.
    pub fn books(&self) -> impl Iterator<Item = &BookRecord> {
        self.books.values()
    }
}

impl Storage {
    /// Stores every page of `batch` and the new book heads in one transaction, resolving only
    /// after the browser reports the transaction complete. On any error nothing of the batch
    /// is stored: a page that already exists fails the batch with [`StorageError::PageConflict`].
    pub async fn write_pages(&self, batch: PageBatch) -> Result<(), StorageError> {
        if batch.is_empty() {
            return Ok(());
        }
        let op = StorageOp::WritePages;
        let map = |e| StorageError::from_idb(op, e);
        let durability = if batch.own {
            TransactionDurability::Strict
        } else {
            TransactionDurability::Relaxed
        };
        let tx = self
            .db
            .transaction([schema::PAGES, schema::BOOKS])
            .with_mode(TransactionMode::Readwrite)
            .with_options(TransactionOptions::new().with_durability(durability))
            .build()
            .map_err(map)?;
        let pages = tx.object_store(schema::PAGES).map_err(map)?;
        let books = tx.object_store(schema::BOOKS).map_err(map)?;
        // Fire every request before awaiting anything; `add` (not `put`) makes IndexedDB itself
        // refuse to overwrite a sealed page, which aborts the whole transaction.
        let mut requests = Vec::with_capacity(batch.pages.len() + batch.books.len());
        for page in &batch.pages {
            requests.push(pages.add(page).serde().map_err(map)?);
        }
        for book in batch.books.values() {
            requests.push(books.put(book).serde().map_err(map)?);
        }
        drop((pages, books));
        let result = commit(tx, op).await;
        drop(requests);
        result
    }

    /// The stored pages of `book` with seqs in `seqs`, in seq order.
    pub async fn pages(
        &self,
        book: &str,
        seqs: Range<u64>,
    ) -> Result<Vec<PageRecord>, StorageError> {
        let op = StorageOp::ReadPages;
        let map = |e| StorageError::from_idb(op, e);
        if seqs.is_empty() {
            return Ok(Vec::new());
        }
        let tx = self.db.transaction(schema::PAGES).build().map_err(map)?;
        let store = tx.object_store(schema::PAGES).map_err(map)?;
        let range = KeyRange::Bound((book, seqs.start), false, (book, seqs.end), true);
        let found = store
            .get_all::<PageRecord>()
            .with_query(range)
            .serde()
            .map_err(map)?
            .await
            .map_err(map)?;
        found.map(|p| p.map_err(map)).collect()
    }
}

/// Commits `tx` and waits for `complete`. On abort, reports the transaction's own error (a
/// quota failure surfaces only there, not on any request).
pub(super) async fn commit(tx: Transaction<'_>, op: StorageOp) -> Result<(), StorageError> {
    let raw: web_sys::IdbTransaction = tx.as_sys().clone().into();
    match tx.commit().await {
        Ok(()) => Ok(()),
        Err(err) => Err(match raw.error() {
            Some(dom) => StorageError::from_dom_name(op, &dom.name(), dom.message()),
            None => StorageError::from_idb(op, err),
        }),
    }
}
