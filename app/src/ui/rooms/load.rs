//! Loading every stored room at start, record by record.
//!
//! A room is loaded whole or listed as damaged (see [`crate::model::damage`]); one damaged
//! record never keeps the other rooms closed or the network from starting. Each record that
//! could not be decoded is returned as a [`SkippedRecord`] for the inspector; none is deleted.

use std::collections::BTreeMap;

use quire_core::crypto::RoomSecret;
use quire_core::identity::UserId;
use quire_core::page::Page;

use super::Held;
use crate::model::damage::book_problem;
use crate::model::ids::{parse_room_key, parse_user_key};
use crate::model::{DamagedRoom, ReadMarker, RoomSession};
use crate::storage::{RoomRecord, SkippedRecord, Storage, schema};

/// What loading found.
#[derive(Debug, Default)]
pub(super) struct Loaded {
    pub(super) held: BTreeMap<String, Held>,
    pub(super) damaged: Vec<DamagedRoom>,
    pub(super) skipped: Vec<SkippedRecord>,
}

/// Reads every room. Fails only when the room store itself cannot be read (the database is
/// unusable); anything wrong inside one room marks just that room damaged.
pub(super) async fn load_rooms(db: &Storage, me: UserId) -> Result<Loaded, String> {
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
    me: UserId,
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
        restored.push((author, pages));
    }
    if let Some(problem) = problem {
        return Err(problem);
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
