//! The rooms this device holds, driven from the UI: load at start, create, select, send.
//!
//! Every local write follows the same path: core writes the page ([`RoomSession`]), the view
//! shows it as "sending", one IndexedDB batch stores it, and only after that transaction
//! commits is it marked saved. Writes are serialised through one lock so a book is never stored
//! with a gap: if a write fails, the room shows the error and later writes wait for a reload.

use std::collections::BTreeMap;

use futures::lock::Mutex;
use leptos::prelude::*;
use leptos::task::spawn_local;
use quire_core::crypto::RoomSecret;
use quire_core::page::{NONCE_LEN, Page};

use super::identity_keeper::Messenger;
use crate::model::identity::generate_secret;
use crate::model::ids::{parse_room_key, parse_user_key, room_key};
use crate::model::{Outgoing, ReadMarker, RoomPane, RoomSession, RoomSummary};
use crate::storage::{PageBatch, RoomRecord, Storage, StorageError};

/// Reactive handles for the room list and the open room. `Copy`; provided as context.
#[derive(Debug, Clone, Copy)]
pub struct Rooms {
    pub list: RwSignal<Vec<RoomSummary>>,
    pub selected: RwSignal<Option<String>>,
    pub pane: RwSignal<RoomPane>,
    sessions: StoredValue<BTreeMap<String, RoomSession>, LocalStorage>,
    write_lock: StoredValue<std::rc::Rc<Mutex<()>>, LocalStorage>,
    /// Set when a write failed: the in-memory books are then ahead of storage, and writing on
    /// would store a gap.
    write_failed: StoredValue<Option<StorageError>>,
}

impl Rooms {
    /// Creates the handles and loads every stored room once the identity is ready.
    pub fn provide(messenger: Messenger) -> Self {
        let rooms = Self {
            list: RwSignal::new(Vec::new()),
            selected: RwSignal::new(None),
            pane: RwSignal::new(RoomPane::Nothing),
            sessions: StoredValue::new_local(BTreeMap::new()),
            write_lock: StoredValue::new_local(std::rc::Rc::new(Mutex::new(()))),
            write_failed: StoredValue::new(None),
        };
        provide_context(rooms);
        let loaded = StoredValue::new(false);
        Effect::new(move |_| {
            if messenger.identity().is_some()
                && matches!(messenger.status.get(), super::IdentityStatus::Ready)
                && !loaded.get_value()
            {
                loaded.set_value(true);
                rooms.pane.set(RoomPane::Loading);
                spawn_local(rooms.load(messenger));
            }
        });
        Effect::new(move |_| {
            rooms.selected.track();
            rooms.refresh();
        });
        rooms
    }

    async fn load(self, messenger: Messenger) {
        let (Some(db), Some(me)) = (messenger.storage(), messenger.identity()) else {
            return;
        };
        match load_sessions(&db, me.user_id()).await {
            Ok(sessions) => self.sessions.set_value(sessions),
            Err(e) => return self.pane.set(RoomPane::Failed(e.to_string())),
        }
        self.pane.set(RoomPane::Nothing);
        self.refresh();
    }

    /// Recomputes the room list and the open room from the sessions.
    pub fn refresh(&self) {
        let selected = self.selected.get_untracked();
        let (list, pane) = self.sessions.with_value(|sessions| {
            let mut list: Vec<RoomSummary> = sessions.values().map(RoomSession::summary).collect();
            crate::model::chat::sort_rooms(&mut list);
            let pane = selected
                .as_ref()
                .and_then(|id| sessions.get(id))
                .map(RoomSession::pane);
            (list, pane)
        });
        self.list.set(list);
        if let Some(pane) = pane {
            self.pane.set(pane);
        }
    }

    /// Creates a group room named `name` and opens it.
    pub fn create_room(self, messenger: Messenger, name: String) {
        spawn_local(async move {
            if let Err(why) = self.try_create(messenger, name).await {
                self.pane.set(RoomPane::Failed(why));
            }
        });
    }

    async fn try_create(self, messenger: Messenger, name: String) -> Result<(), String> {
        let (Some(db), Some(me)) = (messenger.storage(), messenger.identity()) else {
            return Err("Quire is still starting".to_owned());
        };
        let secret = RoomSecret::from_bytes(generate_secret().map_err(|e| e.to_string())?);
        let (session, out) = RoomSession::create(&me, &name, &secret, now_ms(), nonce()?)
            .map_err(|e| e.to_string())?;
        let id = room_key(&session.room());
        let record = RoomRecord {
            id: id.clone(),
            key: secret.as_bytes().to_vec(),
            name,
            joined_at_ms: js_sys::Date::now(),
            read: Vec::new(),
            pending_invite: Vec::new(),
        };
        let lock = self.write_lock.get_value();
        let _guard = lock.lock().await;
        db.save_room(&record).await.map_err(|e| e.to_string())?;
        self.sessions.update_value(|s| {
            s.insert(id.clone(), session);
        });
        self.store(&db, &id, out).await.map_err(|e| e.to_string())?;
        self.selected.set(Some(id));
        Ok(())
    }

    /// Sends `text` in the open room.
    pub fn send(self, messenger: Messenger, text: String) {
        spawn_local(async move {
            let (Some(db), Some(me), Some(id)) = (
                messenger.storage(),
                messenger.identity(),
                self.selected.get_untracked(),
            ) else {
                return;
            };
            let Ok(nonce) = nonce() else { return };
            let written = self
                .sessions
                .try_update_value(|s| {
                    s.get_mut(&id)
                        .map(|room| room.send_text(&me, text, now_ms(), nonce))
                })
                .flatten();
            match written {
                Some(Ok(out)) => {
                    self.refresh();
                    let lock = self.write_lock.get_value();
                    let _guard = lock.lock().await;
                    if let Err(e) = self.store(&db, &id, out).await {
                        self.pane.set(RoomPane::Failed(e.to_string()));
                    }
                }
                Some(Err(e)) => self.pane.set(RoomPane::Failed(e.to_string())),
                None => {}
            }
        });
    }

    /// Stores one written page and marks it saved once the transaction committed.
    async fn store(&self, db: &Storage, room: &str, out: Outgoing) -> Result<(), StorageError> {
        if let Some(why) = self.write_failed.get_value() {
            return Err(why);
        }
        let seq = out.page.seq;
        let mut batch = PageBatch::own();
        let written = match batch.push(&out.before, out.page, out.head) {
            Ok(()) => db.write_pages(batch).await,
            Err(e) => Err(e),
        };
        if let Err(e) = written {
            self.write_failed.set_value(Some(e.clone()));
            return Err(e);
        }
        self.sessions.update_value(|s| {
            if let Some(session) = s.get_mut(room) {
                session.mark_saved(seq);
            }
        });
        self.refresh();
        Ok(())
    }
}

async fn load_sessions(
    db: &Storage,
    me: quire_core::identity::UserId,
) -> Result<BTreeMap<String, RoomSession>, String> {
    let mut sessions = BTreeMap::new();
    for record in db.rooms().await.map_err(|e| e.to_string())? {
        let room = parse_room_key(&record.id).map_err(|e| e.to_string())?;
        let secret_bytes: [u8; 32] = record
            .key
            .as_slice()
            .try_into()
            .map_err(|_| "a stored room key is damaged".to_owned())?;
        let secret = RoomSecret::from_bytes(secret_bytes);
        let mut books = Vec::new();
        for book in db
            .books_in_room(&record.id)
            .await
            .map_err(|e| e.to_string())?
        {
            let author = parse_user_key(&book.author).map_err(|e| e.to_string())?;
            let pages = db
                .pages(&book.id, 0..book.length)
                .await
                .map_err(|e| e.to_string())?;
            let pages = pages
                .iter()
                .map(|p| Page::decode(&p.bytes))
                .collect::<Result<Vec<_>, _>>()
                .map_err(|e| format!("a stored page is damaged: {e}"))?;
            books.push((author, pages));
        }
        let read = ReadMarker::from_lengths(
            record
                .read
                .iter()
                .filter_map(|(user, len)| parse_user_key(user).ok().map(|u| (u, *len))),
        );
        let session =
            RoomSession::restore(me, room, &secret, books, read).map_err(|e| e.to_string())?;
        sessions.insert(record.id.clone(), session);
    }
    Ok(sessions)
}

fn now_ms() -> u64 {
    // Date.now() is a non-negative integer number of ms since the epoch.
    js_sys::Date::now().max(0.0) as u64
}

fn nonce() -> Result<[u8; NONCE_LEN], String> {
    let mut nonce = [0u8; NONCE_LEN];
    getrandom::fill(&mut nonce)
        .map_err(|_| "this browser cannot generate secure randomness".to_owned())?;
    Ok(nonce)
}
