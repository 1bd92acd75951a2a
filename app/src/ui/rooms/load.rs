//! Loading every stored room at start, record by record.
//!
//! A room is loaded whole or listed as damaged (see [`crate::model::damage`]); one damaged
//! record never keeps the other rooms closed or the network from starting. Each record that
//! could not be decoded is returned as a [`SkippedRecord`] for the inspector; none is deleted.

use std::collections::BTreeMap;

use quire_core::crypto::RoomSecret;
use quire_core::identity::Identity;
use quire_core::page::Page;
use quire_core::validate::Equivocation;

use super::Held;
use crate::model::damage::book_problem;
use crate::model::ids::{parse_book_key, parse_room_key, parse_user_key};
use crate::model::{DamagedRoom, ReadMarker, RoomSession};
use crate::storage::{ProofRecord, RoomRecord, SkippedRecord, Storage, schema};

/// What loading found.
#[derive(Debug, Default)]
pub(super) struct Loaded {
    pub(super) held: BTreeMap<String, Held>,
    pub(super) damaged: Vec<DamagedRoom>,
    pub(super) skipped: Vec<SkippedRecord>,
}

/// Reads every room. Fails only when the room store itself cannot be read (the database is
/// unusable); anything wrong inside one room marks just that room damaged.
pub(super) async fn load_rooms(db: &Storage, me: &Identity) -> Result<Loaded, String> {
    let rooms = db.rooms_salvaged().await.map_err(|e| e.to_string())?;
    let mut loaded = Loaded::default();
    for skipped in rooms.skipped {
        loaded.damaged.push(DamagedRoom {
            id: skipped.key.clone(),
            name: None,
            problem: "its record does not decode".to_owned(),
        });
        loaded.skipped.push(skipped);
    }
    for record in rooms.records {
        match load_room(db, me, &record, &mut loaded.skipped).await {
            Ok(session) => {
                loaded
                    .held
                    .insert(record.id.clone(), Held::new(session, record));
            }
            Err(problem) => loaded.damaged.push(DamagedRoom {
                id: record.id.clone(),
                name: Some(record.name.clone()),
                problem,
            }),
        }
    }
    Ok(loaded)
}

/// One room, or why it cannot be loaded. Reads all of the room before giving up, so every
/// unreadable record in it is reported.
async fn load_room(
    db: &Storage,
    me: &Identity,
    record: &RoomRecord,
    skipped: &mut Vec<SkippedRecord>,
) -> Result<RoomSession, String> {
    let room = parse_room_key(&record.id).map_err(|e| format!("its id is damaged: {e}"))?;
    let secret_bytes: [u8; 32] = record
        .key
        .as_slice()
        .try_into()
        .map_err(|_| "its key is damaged".to_owned())?;
    let secret = RoomSecret::from_bytes(secret_bytes);
    let books = db
        .books_in_room_salvaged(&record.id)
        .await
        .map_err(|e| e.to_string())?;
    let mut problem =
        (!books.skipped.is_empty()).then(|| "a book record does not decode".to_owned());
    skipped.extend(books.skipped);
    let mut restored = Vec::new();
    for book in books.records {
        let author = match parse_user_key(&book.author) {
            Ok(author) => author,
            Err(e) => {
                problem.get_or_insert_with(|| format!("a book's author is damaged: {e}"));
                continue;
            }
        };
        let stored = db
            .pages_salvaged(&book.id, 0..book.length)
            .await
            .map_err(|e| e.to_string())?;
        if !stored.skipped.is_empty() {
            problem.get_or_insert_with(|| "a page record does not decode".to_owned());
        }
        skipped.extend(stored.skipped);
        let mut pages = Vec::with_capacity(stored.records.len());
        let mut seqs = Vec::with_capacity(stored.records.len());
        for p in stored.records {
            match Page::decode(&p.bytes) {
                Ok(page) => {
                    seqs.push(p.seq);
                    pages.push(page);
                }
                Err(e) => {
                    problem.get_or_insert_with(|| "a stored page is damaged".to_owned());
                    skipped.push(SkippedRecord {
                        store: schema::PAGES,
                        key: format!("[\"{}\",{}]", p.book, p.seq),
                        reason: format!("its page does not decode ({e})"),
                    });
                }
            }
        }
        if let Some(gap) = book_problem(book.length, seqs) {
            problem.get_or_insert(gap);
        }
        restored.push((author, pages, None));
    }
    if let Some(problem) = problem {
        return Err(problem);
    }
    // A proof that cannot be used costs only itself: the book was already cut when it was
    // stored, and a peer shows the fork again.
    let proofs = db
        .proofs_in_room_salvaged(&record.id)
        .await
        .map_err(|e| e.to_string())?;
    skipped.extend(proofs.skipped);
    for stored in proofs.records {
        match proof_of(&stored, room) {
            Ok(proof) => match restored.iter_mut().find(|(a, ..)| *a == proof.author()) {
                Some((.., slot)) => *slot = Some(proof),
                None => restored.push((proof.author(), Vec::new(), Some(proof))),
            },
            Err(reason) => skipped.push(SkippedRecord {
                store: schema::PROOFS,
                key: stored.book.clone(),
                reason,
            }),
        }
    }
    let read = ReadMarker::from_lengths(
        record
            .read
            .iter()
            .filter_map(|(user, len)| parse_user_key(user).ok().map(|u| (u, *len))),
    );
    let mut session = RoomSession::restore(me, room, &secret, restored, read)
        .map_err(|e| format!("its pages do not fit together: {e}"))?;
    // Only hints for delivery ticks: a read failure must not keep the room closed.
    if let Ok(reports) = db.peer_heads(&record.id).await {
        session.restore_peer_heads(&reports);
    }
    Ok(session)
}

/// The proof a stored record holds, checked as one received from a peer would be (its
/// signatures too: the record is all there is), or why it cannot be used.
fn proof_of(record: &ProofRecord, room: quire_core::page::RoomId) -> Result<Equivocation, String> {
    let book = parse_book_key(&record.book).map_err(|e| format!("its book id is damaged: {e}"))?;
    let decode =
        |bytes: &[u8]| Page::decode(bytes).map_err(|e| format!("its pages do not decode ({e})"));
    let proof = Equivocation::verify(decode(&record.first)?, decode(&record.second)?)
        .map_err(|e| format!("it is not a valid proof ({e})"))?;
    if proof.book() != book || book.room != room || proof.seq() != record.seq {
        return Err("it is the proof of another book".to_owned());
    }
    Ok(proof)
}

#[cfg(all(test, target_arch = "wasm32"))]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use indexed_db_futures::SerialiseToJs;
    use indexed_db_futures::database::Database;
    use indexed_db_futures::prelude::*;
    use indexed_db_futures::transaction::TransactionMode;
    use quire_core::crypto::RoomSecret;
    use quire_core::identity::Identity;
    use quire_core::page::{NONCE_LEN, Page};
    use wasm_bindgen::JsValue;
    use wasm_bindgen_test::wasm_bindgen_test;

    use super::load_rooms;
    use crate::model::RoomSession;
    use crate::model::identity::create_identity;
    use crate::model::ids::room_key;
    use crate::storage::{PageBatch, PageRecord, RoomRecord, Storage};

    /// Creates and stores a room named `name`; returns its id and its first page as stored.
    async fn stored_room(
        db: &Storage,
        me: &Identity,
        name: &str,
        seed: u8,
    ) -> (String, PageRecord) {
        let secret = RoomSecret::from_bytes([seed; 32]);
        let (session, create) =
            RoomSession::create(me, name, &secret, 1_000, [seed; NONCE_LEN]).unwrap();
        let id = room_key(&session.room());
        db.save_room(&room_record(&id, &secret, name))
            .await
            .unwrap();
        let page = create.page.clone();
        let mut batch = PageBatch::own();
        batch
            .push(&create.before, create.page, create.head)
            .unwrap();
        db.write_pages(batch).await.unwrap();
        (id, page)
    }

    /// The record of a room joined long ago, with nothing read, declined or pending.
    fn room_record(id: &str, secret: &RoomSecret, name: &str) -> RoomRecord {
        RoomRecord {
            id: id.to_owned(),
            key: secret.as_bytes().to_vec(),
            name: name.to_owned(),
            joined_at_ms: 1.0,
            read: Vec::new(),
            pending_invite: Vec::new(),
            pending_inviter: String::new(),
            declined: Vec::new(),
            auto_admit_invites: Vec::new(),
            auto_admit_until_ms: Vec::new(),
            auto_admit_single_use: Vec::new(),
            auto_admit_secrets: Vec::new(),
            pending_proof: Vec::new(),
        }
    }

    async fn put_raw(name: &str, store: &str, value: JsValue) {
        let raw = Database::open(name).await.unwrap();
        let tx = raw
            .transaction(store)
            .with_mode(TransactionMode::Readwrite)
            .build()
            .unwrap();
        tx.object_store(store)
            .unwrap()
            .put(value)
            .primitive()
            .unwrap();
        tx.commit().await.unwrap();
        raw.close();
    }

    #[wasm_bindgen_test]
    async fn a_forked_book_loads_cut_at_its_stored_proof_and_a_bad_proof_costs_only_itself() {
        let name = format!("quire-load-test-{}", js_sys::Math::random().to_bits());
        let db = Storage::open(&name).await.unwrap();
        let (ada, bo) = (create_identity().unwrap(), create_identity().unwrap());
        let secret = RoomSecret::from_bytes([3; 32]);
        let (mut adas, create) =
            RoomSession::create(&ada, "Book club", &secret, 1_000, [1; NONCE_LEN]).unwrap();
        let hello = adas
            .send_text(&ada, "hello".into(), 1_001, [2; NONCE_LEN])
            .unwrap();
        let mut other_branch = RoomSession::join(&ada, adas.room(), &secret);
        other_branch.receive(vec![Page::decode(&create.page.bytes).unwrap()], 2_000);
        let goodbye = other_branch
            .send_text(&ada, "goodbye".into(), 1_001, [3; NONCE_LEN])
            .unwrap();
        let id = room_key(&adas.room());
        db.save_room(&room_record(&id, &secret, "Book club"))
            .await
            .unwrap();

        // Bo's device stores Ada's two pages, then is shown the other branch.
        let mut bos = RoomSession::join(&bo, adas.room(), &secret);
        let decode = |o: &crate::model::Outgoing| Page::decode(&o.page.bytes).unwrap();
        bos.receive(vec![decode(&create), decode(&hello)], 2_000);
        let mut batch = PageBatch::received();
        for o in bos.unstored() {
            batch.push(&o.before, o.page, o.head).unwrap();
        }
        db.write_pages(batch).await.unwrap();
        bos.mark_stored(ada.user_id(), 2);
        bos.receive(vec![decode(&goodbye)], 2_000);
        let cuts = bos.pending_cuts();
        db.cut_books(&cuts).await.unwrap();
        let bad = js_sys::JSON::parse(&format!(
            r#"{{"book":"{id}.someone","room":"{id}","seq":0,"first":[],"second":[]}}"#
        ))
        .unwrap();
        put_raw(&name, "proofs", bad).await;

        let loaded = load_rooms(&db, &bo).await.unwrap();
        assert!(loaded.damaged.is_empty(), "{:?}", loaded.damaged);
        let session = &loaded.held[&id].session;
        assert_eq!(session.replica().book(&ada.user_id()).unwrap().len(), 1);
        assert!(session.replica().proof(&ada.user_id()).is_some());
        assert!(session.messages().is_empty(), "hello stays cut at the fork");
        assert!(!session.has_pending_cuts());
        assert_eq!(
            loaded
                .skipped
                .iter()
                .map(|s| (s.store, s.key.clone()))
                .collect::<Vec<_>>(),
            [("proofs", format!("{id}.someone"))]
        );
        db.close();
    }

    #[wasm_bindgen_test]
    async fn damaged_rooms_are_listed_and_every_other_room_loads() {
        let name = format!("quire-load-test-{}", js_sys::Math::random().to_bits());
        let db = Storage::open(&name).await.unwrap();
        let me = create_identity().unwrap();
        let (good, _) = stored_room(&db, &me, "Book club", 1).await;
        let (broken, page) = stored_room(&db, &me, "Chess", 2).await;
        // The second room's only page, damaged on disk: the record reads, the page does not.
        let damaged = PageRecord {
            bytes: b"definitely not a signed page".to_vec(),
            ..page
        };
        put_raw(&name, "pages", damaged.serialise_to_js().unwrap()).await;
        // A room record that does not decode at all.
        let garbage = js_sys::JSON::parse(r#"{"id":"r-bad","key":"no"}"#).unwrap();
        put_raw(&name, "rooms", garbage).await;

        let loaded = load_rooms(&db, &me).await.unwrap();

        assert_eq!(loaded.held.keys().collect::<Vec<_>>(), [&good]);
        let held = &loaded.held[&good];
        assert_eq!(held.session.summary().name, "Book club");
        let mut damaged: Vec<_> = loaded
            .damaged
            .iter()
            .map(|d| (d.id.clone(), d.title().to_owned()))
            .collect();
        damaged.sort();
        let mut expected = vec![
            (broken.clone(), "Chess".to_owned()),
            ("r-bad".to_owned(), "Unreadable room".to_owned()),
        ];
        expected.sort();
        assert_eq!(damaged, expected);
        let mut skipped: Vec<_> = loaded.skipped.iter().map(|s| s.store).collect();
        skipped.sort_unstable();
        assert_eq!(skipped, ["pages", "rooms"]);
        assert!(
            loaded
                .skipped
                .iter()
                .any(|s| s.key == "r-bad" && s.reason.contains("does not decode"))
        );
        db.close();
    }
}
