//! IndexedDB storage in a real browser (headless Chromium via wasm-bindgen-test-runner).
//!
//! Every test uses its own randomly named database, so tests never see each other's data.
#![cfg(target_arch = "wasm32")]
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::cell::{Cell, RefCell};
use std::rc::Rc;

use indexed_db_futures::database::Database;
use indexed_db_futures::prelude::*;
use indexed_db_futures::transaction::TransactionMode;
use quire_app::storage::SkippedRecord;
use quire_app::storage::{
    BlobRecord, BookCut, BookRecord, IdentityRecord, PageBatch, PageRecord, PeerHeadsRecord,
    Persistence, PieceRecord, ProfileRecord, ProofRecord, RoomRecord, Storage, StorageError,
    request_persistence, schema::SCHEMA_VERSION,
};
use wasm_bindgen_test::{wasm_bindgen_test, wasm_bindgen_test_configure};

wasm_bindgen_test_configure!(run_in_browser);

fn fresh_name() -> String {
    format!("quire-test-{}", js_sys::Math::random().to_bits())
}

fn identity() -> IdentityRecord {
    IdentityRecord {
        secret_key: (0..32).collect(),
        created_at_ms: 1_700_000_000_000.0,
    }
}

fn profile() -> ProfileRecord {
    ProfileRecord {
        display_name: "Ada".into(),
    }
}

fn room(id: &str) -> RoomRecord {
    RoomRecord {
        id: id.into(),
        key: vec![9; 32],
        name: "Book club".into(),
        joined_at_ms: 1_700_000_000_500.0,
        read: vec![("someone".into(), 3)],
        pending_invite: Vec::new(),
        pending_inviter: String::new(),
        declined: Vec::new(),
        auto_admit_invites: Vec::new(),
        auto_admit_until_ms: Vec::new(),
        auto_admit_single_use: Vec::new(),
        auto_admit_secrets: vec![Some([5; 32]), None],
        pending_proof: vec![6; 32],
    }
}

fn empty_book(id: &str, room: &str) -> BookRecord {
    BookRecord {
        id: id.into(),
        room: room.into(),
        author: format!("author-of-{id}"),
        length: 0,
        head: Vec::new(),
    }
}

fn page_bytes(book: &str, seq: u64) -> Vec<u8> {
    format!("signed page {seq} of {book}").into_bytes()
}

/// A batch appending `count` pages to `book` as stored in `before`.
fn batch_of(before: &BookRecord, count: u64) -> PageBatch {
    let mut batch = PageBatch::own();
    for seq in before.length..before.length + count {
        let page = PageRecord {
            book: before.id.clone(),
            seq,
            bytes: page_bytes(&before.id, seq),
        };
        batch.push(before, page, vec![seq as u8; 32]).unwrap();
    }
    batch
}

#[wasm_bindgen_test]
async fn everything_written_survives_closing_and_reopening() {
    let name = fresh_name();
    let db = Storage::open(&name).await.unwrap();
    assert_eq!(
        db.identity().await.unwrap(),
        None,
        "a new database has no identity"
    );
    db.register(&identity(), &profile()).await.unwrap();
    db.save_room(&room("r1")).await.unwrap();
    db.write_pages(batch_of(&empty_book("b1", "r1"), 3))
        .await
        .unwrap();
    let heads = PeerHeadsRecord {
        room: "r1".into(),
        peer: "p1".into(),
        lengths: vec![("b1".into(), 2)],
        seen_at_ms: 5.0,
    };
    db.save_peer_heads(&heads).await.unwrap();
    db.close();

    let db = Storage::open(&name).await.unwrap();
    assert_eq!(db.identity().await.unwrap(), Some(identity()));
    assert_eq!(db.profile().await.unwrap(), Some(profile()));
    assert_eq!(db.rooms().await.unwrap(), vec![room("r1")]);
    let book = db.book("b1").await.unwrap().expect("book stored");
    assert_eq!((book.length, book.head.clone()), (3, vec![2; 32]));
    let pages = db.pages("b1", 0..10).await.unwrap();
    let bytes: Vec<_> = pages.iter().map(|p| p.bytes.clone()).collect();
    assert_eq!(
        bytes,
        (0..3).map(|s| page_bytes("b1", s)).collect::<Vec<_>>()
    );
    assert_eq!(db.peer_heads("r1").await.unwrap(), vec![heads]);
    db.close();
}

#[wasm_bindgen_test]
async fn a_batch_with_a_failing_page_stores_nothing_of_the_batch() {
    let name = fresh_name();
    let db = Storage::open(&name).await.unwrap();
    let stale_a = empty_book("a", "r1");
    db.write_pages(batch_of(&stale_a, 2)).await.unwrap();

    // One batch: two pages of a new book B and, in the middle, a page of A at a seq that is
    // already stored (the writer worked from a stale head).
    let b = empty_book("b", "r1");
    let mut batch = PageBatch::received();
    batch
        .push(
            &b,
            PageRecord {
                book: "b".into(),
                seq: 0,
                bytes: vec![1],
            },
            vec![1],
        )
        .unwrap();
    let mut a_after_one = stale_a.clone();
    a_after_one.length = 1;
    batch
        .push(
            &a_after_one,
            PageRecord {
                book: "a".into(),
                seq: 1,
                bytes: b"forged".to_vec(),
            },
            vec![7],
        )
        .unwrap();
    batch
        .push(
            &b,
            PageRecord {
                book: "b".into(),
                seq: 1,
                bytes: vec![2],
            },
            vec![2],
        )
        .unwrap();

    let err = db.write_pages(batch).await.unwrap_err();
    assert_eq!(err, StorageError::PageConflict);

    assert_eq!(
        db.pages("b", 0..10).await.unwrap(),
        vec![],
        "no page of B was kept"
    );
    assert_eq!(db.book("b").await.unwrap(), None, "B's head was not kept");
    let a = db.book("a").await.unwrap().unwrap();
    assert_eq!(a.length, 2, "A's head is unchanged");
    assert_eq!(
        db.pages("a", 1..2).await.unwrap()[0].bytes,
        page_bytes("a", 1),
        "A's page is unchanged"
    );
    db.close();
}

#[wasm_bindgen_test]
async fn pages_written_are_visible_to_another_connection_once_the_write_resolves() {
    let name = fresh_name();
    let writer = Storage::open(&name).await.unwrap();
    let reader = Storage::open(&name).await.unwrap();
    writer
        .write_pages(batch_of(&empty_book("b", "r"), 5))
        .await
        .unwrap();
    assert_eq!(reader.pages("b", 0..5).await.unwrap().len(), 5);
    assert_eq!(
        reader
            .pages("b", 2..4)
            .await
            .unwrap()
            .iter()
            .map(|p| p.seq)
            .collect::<Vec<_>>(),
        vec![2, 3]
    );
    writer.close();
    reader.close();
}

#[wasm_bindgen_test]
async fn a_batch_with_a_gap_is_refused_before_touching_the_database() {
    let mut batch = PageBatch::own();
    let b = empty_book("b", "r");
    let err = batch
        .push(
            &b,
            PageRecord {
                book: "b".into(),
                seq: 1,
                bytes: vec![],
            },
            vec![],
        )
        .unwrap_err();
    assert_eq!(
        err,
        StorageError::BatchNotContiguous {
            book: "b".into(),
            expected: 0,
            found: 1
        }
    );
}

#[wasm_bindgen_test]
async fn upgrading_from_schema_v1_keeps_all_data() {
    let name = fresh_name();
    let old = Storage::open_at_version(&name, 1).await.unwrap();
    assert_eq!(old.schema_version(), 1);
    old.register(&identity(), &profile()).await.unwrap();
    old.save_room(&room("r1")).await.unwrap();
    old.write_pages(batch_of(&empty_book("b1", "r1"), 2))
        .await
        .unwrap();
    old.write_pages(batch_of(&empty_book("b2", "other"), 1))
        .await
        .unwrap();
    old.close();

    let db = Storage::open(&name).await.unwrap();
    assert_eq!(db.schema_version(), SCHEMA_VERSION);
    assert_eq!(db.identity().await.unwrap(), Some(identity()));
    assert_eq!(db.rooms().await.unwrap(), vec![room("r1")]);
    assert_eq!(db.pages("b1", 0..2).await.unwrap().len(), 2);
    // The index added in v2 covers books written before it existed.
    let books: Vec<_> = db
        .books_in_room("r1")
        .await
        .unwrap()
        .into_iter()
        .map(|b| b.id)
        .collect();
    assert_eq!(books, vec!["b1".to_string()]);
    db.close();
}

#[wasm_bindgen_test]
async fn upgrading_from_schema_v2_keeps_every_page_and_starts_without_proofs() {
    let name = fresh_name();
    let old = Storage::open_at_version(&name, 2).await.unwrap();
    assert_eq!(old.schema_version(), 2);
    old.register(&identity(), &profile()).await.unwrap();
    old.save_room(&room("r1")).await.unwrap();
    old.write_pages(batch_of(&empty_book("b1", "r1"), 4))
        .await
        .unwrap();
    old.write_pages(batch_of(&empty_book("b2", "r1"), 2))
        .await
        .unwrap();
    old.close();

    let db = Storage::open(&name).await.unwrap();
    assert_eq!(db.schema_version(), SCHEMA_VERSION);
    assert_eq!(db.rooms().await.unwrap(), vec![room("r1")]);
    for (book, length) in [("b1", 4), ("b2", 2)] {
        assert_eq!(db.book(book).await.unwrap().unwrap().length, length);
        let seqs: Vec<_> = db
            .pages(book, 0..10)
            .await
            .unwrap()
            .iter()
            .map(|p| p.seq)
            .collect();
        assert_eq!(
            seqs,
            (0..length).collect::<Vec<_>>(),
            "every page of {book}"
        );
    }
    let proofs = db.proofs_in_room_salvaged("r1").await.unwrap();
    assert!(proofs.records.is_empty() && proofs.skipped.is_empty());
    db.close();
}

fn proof(book: &str, seq: u64) -> ProofRecord {
    ProofRecord {
        book: book.into(),
        room: "r1".into(),
        seq,
        first: format!("page {seq} of {book}, one branch").into_bytes(),
        second: format!("page {seq} of {book}, the other").into_bytes(),
    }
}

/// `book` as stored after its first `length` pages of [`batch_of`].
fn book_at(book: &str, length: u64) -> BookRecord {
    BookRecord {
        length,
        head: length
            .checked_sub(1)
            .map_or(Vec::new(), |s| vec![s as u8; 32]),
        ..empty_book(book, "r1")
    }
}

async fn stored_seqs(db: &Storage, book: &str) -> Vec<u64> {
    db.pages(book, 0..100)
        .await
        .unwrap()
        .iter()
        .map(|p| p.seq)
        .collect()
}

#[wasm_bindgen_test]
async fn a_saved_proof_cuts_its_book_and_a_reopen_returns_the_proof_and_the_cut_book() {
    let name = fresh_name();
    let db = Storage::open(&name).await.unwrap();
    db.save_room(&room("r1")).await.unwrap();
    db.write_pages(batch_of(&empty_book("b1", "r1"), 6))
        .await
        .unwrap();
    // A book whose id extends the forked one's: its pages sort right after b1's.
    db.write_pages(batch_of(&empty_book("b10", "r1"), 2))
        .await
        .unwrap();

    db.cut_books(&[BookCut {
        book: book_at("b1", 4),
        proof: Some(proof("b1", 4)),
    }])
    .await
    .unwrap();
    assert_eq!(stored_seqs(&db, "b1").await, [0, 1, 2, 3]);
    db.close();

    let db = Storage::open(&name).await.unwrap();
    assert_eq!(db.book("b1").await.unwrap(), Some(book_at("b1", 4)));
    assert_eq!(stored_seqs(&db, "b1").await, [0, 1, 2, 3]);
    assert_eq!(
        stored_seqs(&db, "b10").await,
        [0, 1],
        "other books untouched"
    );
    let proofs = db.proofs_in_room_salvaged("r1").await.unwrap();
    assert_eq!(proofs.records, [proof("b1", 4)]);

    // A lower proof replaces it and cuts lower; a higher one never replaces it.
    db.cut_books(&[BookCut {
        book: book_at("b1", 2),
        proof: Some(proof("b1", 2)),
    }])
    .await
    .unwrap();
    db.cut_books(&[BookCut {
        book: book_at("b1", 2),
        proof: Some(proof("b1", 3)),
    }])
    .await
    .unwrap();
    assert_eq!(db.proof("b1").await.unwrap(), Some(proof("b1", 2)));
    assert_eq!(stored_seqs(&db, "b1").await, [0, 1]);
    assert_eq!(db.book("b1").await.unwrap(), Some(book_at("b1", 2)));

    // Pages the membership policy dropped: deleted from their seq, no proof involved; a
    // shorter stored book is never lengthened by a cut.
    db.cut_books(&[
        BookCut {
            book: book_at("b10", 1),
            proof: None,
        },
        BookCut {
            book: book_at("b1", 5),
            proof: None,
        },
    ])
    .await
    .unwrap();
    assert_eq!(stored_seqs(&db, "b10").await, [0]);
    assert_eq!(db.book("b10").await.unwrap(), Some(book_at("b10", 1)));
    assert_eq!(db.book("b1").await.unwrap(), Some(book_at("b1", 2)));
    assert_eq!(db.proof("b1").await.unwrap(), Some(proof("b1", 2)));
    // The cut book grows again from where it was cut.
    db.write_pages(batch_of(&book_at("b10", 1), 1))
        .await
        .unwrap();
    assert_eq!(stored_seqs(&db, "b10").await, [0, 1]);
    db.close();
}

#[wasm_bindgen_test]
async fn an_unreadable_proof_is_skipped_and_reported_and_the_others_read() {
    let name = fresh_name();
    let db = Storage::open(&name).await.unwrap();
    db.cut_books(&[BookCut {
        book: book_at("b1", 0),
        proof: Some(proof("b1", 0)),
    }])
    .await
    .unwrap();
    put_raw(&name, "proofs", r#"{"book":"b-bad","room":"r1","seq":"x"}"#).await;
    let proofs = db.proofs_in_room_salvaged("r1").await.unwrap();
    assert_eq!(proofs.records, [proof("b1", 0)]);
    assert_eq!(
        proofs
            .skipped
            .iter()
            .map(|s| (s.store, s.key.as_str()))
            .collect::<Vec<_>>(),
        [("proofs", "b-bad")]
    );
    assert_eq!(count_raw(&name, "proofs").await, 2, "nothing is deleted");
    db.close();
}

#[wasm_bindgen_test]
async fn a_database_from_a_newer_quire_is_reported_not_damaged() {
    let name = fresh_name();
    let newer = Database::open(name.as_str())
        .with_version(SCHEMA_VERSION + 1)
        .await
        .unwrap();
    newer.close();
    let err = Storage::open(&name).await.unwrap_err();
    assert_eq!(
        err,
        StorageError::NewerSchema {
            supported: SCHEMA_VERSION
        }
    );
    assert!(err.to_string().contains("reload"));
}

#[wasm_bindgen_test]
async fn an_upgrade_in_another_tab_closes_this_connection_instead_of_hanging() {
    let name = fresh_name();
    let old_tab = Storage::open_at_version(&name, 1).await.unwrap();
    let told = Rc::new(Cell::new(0));
    let told_in_listener = Rc::clone(&told);
    old_tab.on_upgraded_elsewhere(move || told_in_listener.set(told_in_listener.get() + 1));
    assert!(!old_tab.upgraded_elsewhere());
    // Would wait forever if the old connection did not close itself on `versionchange`.
    let new_tab = Storage::open(&name).await.unwrap();
    assert_eq!(old_tab.identity().await.unwrap_err(), StorageError::Closed);
    assert!(old_tab.upgraded_elsewhere());
    assert_eq!(told.get(), 1, "the listener heard of it once");
    // A listener registered afterwards hears of it at once.
    let late = Rc::new(Cell::new(false));
    let late_in_listener = Rc::clone(&late);
    old_tab.on_upgraded_elsewhere(move || late_in_listener.set(true));
    assert!(late.get());
    new_tab.close();
}

#[wasm_bindgen_test]
async fn an_open_blocked_by_another_tab_says_so_and_completes_once_that_tab_closes() {
    let name = fresh_name();
    Storage::open_at_version(&name, 1).await.unwrap().close();
    // A connection that ignores `versionchange`, like an older build or a frozen tab.
    let stubborn = Database::open(name.as_str())
        .with_version(1u32)
        .await
        .unwrap();
    let blocked = Rc::new(Cell::new(false));
    let opened = Rc::new(RefCell::new(None));
    {
        let (blocked, opened, name) = (Rc::clone(&blocked), Rc::clone(&opened), name.clone());
        wasm_bindgen_futures::spawn_local(async move {
            let result = Storage::open_noting_blocked(&name, move || blocked.set(true)).await;
            *opened.borrow_mut() = Some(result);
        });
    }
    let mut waited = 0;
    while !blocked.get() {
        assert!(waited < 200, "the blocked open was never reported");
        gloo_timers::future::sleep(std::time::Duration::from_millis(10)).await;
        waited += 1;
    }
    assert!(
        opened.borrow().is_none(),
        "still waiting while the other tab holds on"
    );
    stubborn.close();
    let mut waited = 0;
    while opened.borrow().is_none() {
        assert!(
            waited < 200,
            "the open did not complete after the other tab closed"
        );
        gloo_timers::future::sleep(std::time::Duration::from_millis(10)).await;
        waited += 1;
    }
    let db = opened.borrow_mut().take().unwrap().unwrap();
    assert_eq!(db.schema_version(), SCHEMA_VERSION);
    db.close();
}

/// Stores `json` as it is into `store`, as a buggy build or a damaged disk might have left it.
async fn put_raw(name: &str, store: &str, json: &str) {
    let raw = Database::open(name).await.unwrap();
    let tx = raw
        .transaction(store)
        .with_mode(TransactionMode::Readwrite)
        .build()
        .unwrap();
    let value = js_sys::JSON::parse(json).unwrap();
    tx.object_store(store)
        .unwrap()
        .put(value)
        .primitive()
        .unwrap();
    tx.commit().await.unwrap();
    raw.close();
}

async fn count_raw(name: &str, store: &str) -> u32 {
    let raw = Database::open(name).await.unwrap();
    let tx = raw.transaction(store).build().unwrap();
    let n = tx.object_store(store).unwrap().count().await.unwrap();
    drop(tx);
    raw.close();
    n
}

#[wasm_bindgen_test]
async fn undecodable_records_are_skipped_and_reported_while_the_rest_reads_and_none_is_deleted() {
    let name = fresh_name();
    let db = Storage::open(&name).await.unwrap();
    db.save_room(&room("r1")).await.unwrap();
    db.save_room(&room("r2")).await.unwrap();
    let book = empty_book("b1", "r1");
    db.write_pages(batch_of(&book, 3)).await.unwrap();
    put_raw(&name, "rooms", r#"{"id":"r-bad","key":42}"#).await;
    put_raw(
        &name,
        "books",
        r#"{"id":"b-bad","room":"r1","length":"many"}"#,
    )
    .await;
    put_raw(
        &name,
        "pages",
        r#"{"book":"b1","seq":3,"bytes":"not bytes"}"#,
    )
    .await;

    let rooms = db.rooms_salvaged().await.unwrap();
    let ids: Vec<_> = rooms.records.iter().map(|r| r.id.as_str()).collect();
    assert_eq!(ids, ["r1", "r2"], "every readable room is read");
    assert_eq!(rooms.skipped.len(), 1);
    let SkippedRecord { store, key, reason } = &rooms.skipped[0];
    assert_eq!((*store, key.as_str()), ("rooms", "r-bad"));
    assert!(reason.contains("does not decode"), "{reason}");

    let books = db.books_in_room_salvaged("r1").await.unwrap();
    assert_eq!(books.records.len(), 1);
    assert_eq!(books.records[0].id, "b1");
    assert_eq!(
        books
            .skipped
            .iter()
            .map(|s| (s.store, s.key.as_str()))
            .collect::<Vec<_>>(),
        [("books", "b-bad")]
    );

    let pages = db.pages_salvaged("b1", 0..4).await.unwrap();
    assert_eq!(
        pages.records.iter().map(|p| p.seq).collect::<Vec<_>>(),
        [0, 1, 2]
    );
    assert_eq!(pages.skipped.len(), 1);
    assert_eq!(pages.skipped[0].store, "pages");
    assert_eq!(pages.skipped[0].key, r#"["b1",3]"#);

    // The strict reader still refuses, and nothing was deleted.
    assert!(matches!(
        db.rooms().await.unwrap_err(),
        StorageError::Corrupt { .. }
    ));
    assert_eq!(count_raw(&name, "rooms").await, 3);
    assert_eq!(count_raw(&name, "books").await, 2);
    assert_eq!(count_raw(&name, "pages").await, 4);
    db.close();
}

#[wasm_bindgen_test]
async fn persistence_is_requested_and_answered() {
    let answer = request_persistence().await;
    assert_ne!(
        answer,
        Persistence::Unsupported,
        "Chromium has navigator.storage.persist()"
    );
}

fn blob_record(id: &str, pieces: u8) -> BlobRecord {
    BlobRecord {
        id: id.into(),
        size: 3 * 256 * 1024,
        pieces: vec![pieces],
        outboard: Vec::new(),
        added_at_ms: 1_700_000_000_000.0,
        paused: false,
    }
}

fn piece(blob: &str, index: u64) -> PieceRecord {
    PieceRecord {
        blob: blob.into(),
        index,
        bytes: vec![index as u8 + 1; 1000],
    }
}

#[wasm_bindgen_test]
async fn blob_pieces_are_stored_with_their_record_read_by_range_and_deleted_whole() {
    let name = fresh_name();
    let db = Storage::open(&name).await.unwrap();
    assert_eq!(db.blob("f1").await.unwrap(), None);
    db.save_pieces(&blob_record("f1", 0b001), &[piece("f1", 0)])
        .await
        .unwrap();
    db.save_pieces(&blob_record("f1", 0b101), &[piece("f1", 2)])
        .await
        .unwrap();
    db.save_pieces(&blob_record("f2", 0b010), &[piece("f2", 1)])
        .await
        .unwrap();
    db.close();

    let db = Storage::open(&name).await.unwrap();
    assert_eq!(db.blob("f1").await.unwrap(), Some(blob_record("f1", 0b101)));
    let indices = |pieces: Vec<PieceRecord>| pieces.iter().map(|p| p.index).collect::<Vec<_>>();
    assert_eq!(indices(db.pieces("f1", 0..3).await.unwrap()), [0, 2]);
    assert_eq!(
        indices(db.pieces("f1", 1..2).await.unwrap()),
        Vec::<u64>::new()
    );
    assert_eq!(db.pieces("f1", 2..3).await.unwrap(), vec![piece("f1", 2)]);
    assert_eq!(db.blobs().await.unwrap().len(), 2);

    // Whole: the hash tree is saved with the record.
    let mut whole = blob_record("f1", 0b111);
    whole.outboard = vec![9; 64];
    db.save_pieces(&whole, &[piece("f1", 1)]).await.unwrap();
    assert_eq!(db.blob("f1").await.unwrap(), Some(whole));

    // Removing one file deletes its record and every piece, and nothing of the other.
    db.delete_blob("f1").await.unwrap();
    assert_eq!(db.blob("f1").await.unwrap(), None);
    assert!(db.pieces("f1", 0..10).await.unwrap().is_empty());
    assert_eq!(db.pieces("f2", 0..10).await.unwrap(), vec![piece("f2", 1)]);
    db.close();
}

#[wasm_bindgen_test]
async fn upgrading_from_schema_v3_keeps_every_page_and_starts_without_files() {
    let name = fresh_name();
    let old = Storage::open_at_version(&name, 3).await.unwrap();
    old.save_room(&room("r1")).await.unwrap();
    old.write_pages(batch_of(&empty_book("b1", "r1"), 3))
        .await
        .unwrap();
    old.close();

    let db = Storage::open(&name).await.unwrap();
    assert_eq!(db.schema_version(), SCHEMA_VERSION);
    assert_eq!(db.book("b1").await.unwrap().unwrap().length, 3);
    assert_eq!(db.pages("b1", 0..10).await.unwrap().len(), 3);
    assert!(db.blobs().await.unwrap().is_empty());
    db.save_pieces(&blob_record("f1", 1), &[piece("f1", 0)])
        .await
        .unwrap();
    assert_eq!(db.pieces("f1", 0..1).await.unwrap(), vec![piece("f1", 0)]);
    db.close();
}
