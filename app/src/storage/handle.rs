//! [`Storage`]: the open database and the reads and single-record writes on it.

use std::cell::{Cell, RefCell};
use std::rc::Rc;

use indexed_db_futures::database::Database;
use indexed_db_futures::error::Error as IdbError;
use indexed_db_futures::internals::SystemRepr;
use indexed_db_futures::prelude::*;
use indexed_db_futures::transaction::{TransactionDurability, TransactionMode, TransactionOptions};
use wasm_bindgen::JsValue;
use wasm_bindgen::closure::Closure;
use web_sys::IdbOpenDbRequest;

use super::error::{StorageError, StorageOp};
use super::records::{BookRecord, IdentityRecord, PeerHeadsRecord, ProfileRecord, RoomRecord};
use super::schema::{self, SCHEMA_VERSION};

/// The database every Quire tab in a browser profile shares.
pub const DEFAULT_DB_NAME: &str = "quire";

/// The open local database. Cheap to clone; every clone uses the same connection.
#[derive(Clone)]
pub struct Storage {
    pub(super) db: Database,
    closed: Rc<ClosedElsewhere>,
}

impl std::fmt::Debug for Storage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Storage")
            .field("name", &self.db.name())
            .field("upgraded_elsewhere", &self.upgraded_elsewhere())
            .finish()
    }
}

/// Whether another tab closed this connection by upgrading (or deleting) the database, and who
/// wants to hear about it. Shared by every clone of one [`Storage`].
#[derive(Default)]
struct ClosedElsewhere {
    closed: Cell<bool>,
    listeners: RefCell<Vec<Box<dyn Fn()>>>,
}

impl ClosedElsewhere {
    fn close(&self) {
        self.closed.set(true);
        // Taken out first, so a listener may register another without a double borrow.
        let listeners = std::mem::take(&mut *self.listeners.borrow_mut());
        for listener in &listeners {
            listener();
        }
    }
}

impl Storage {
    /// Opens (creating or upgrading as needed) the database called `name`.
    pub async fn open(name: &str) -> Result<Self, StorageError> {
        Self::open_at_version(name, SCHEMA_VERSION).await
    }

    /// Like [`Storage::open`], calling `on_blocked` if the open has to wait because another
    /// tab still holds the database at an older version (an older Quire that does not close
    /// it when asked, or a frozen tab). The open keeps waiting; it completes once that tab
    /// closes the database or is closed, so the caller should tell the user what to close.
    pub async fn open_noting_blocked(
        name: &str,
        on_blocked: impl Fn() + 'static,
    ) -> Result<Self, StorageError> {
        Self::open_with(name, SCHEMA_VERSION, Box::new(on_blocked)).await
    }

    /// Opens the database at an older schema `version`, applying only the migrations up to it.
    ///
    /// Exists so tests can create a database exactly as an older Quire left it and then check
    /// that [`Storage::open`] upgrades it without losing data. The app always uses `open`.
    #[doc(hidden)]
    pub async fn open_at_version(name: &str, version: u32) -> Result<Self, StorageError> {
        Self::open_with(name, version, Box::new(|| ())).await
    }

    async fn open_with(
        name: &str,
        version: u32,
        on_blocked: Box<dyn Fn()>,
    ) -> Result<Self, StorageError> {
        // The wrapper hands the upgrade callback the database but not the version-change
        // transaction, which migrations need to reach existing stores; take it from the request.
        let request: Rc<RefCell<Option<IdbOpenDbRequest>>> = Rc::default();
        let request_in_upgrade = Rc::clone(&request);
        let open = Database::open(name)
            .with_version(version)
            .with_on_upgrade_needed(move |event, db| {
                let old = version_number(event.old_version());
                let new = event.new_version().map_or(version, version_number);
                let tx = request_in_upgrade
                    .borrow()
                    .as_ref()
                    .and_then(|r| r.transaction())
                    .ok_or_else(|| {
                        IdbError::from(JsValue::from_str("upgrade without a transaction"))
                    })?;
                schema::upgrade(db.as_sys(), &tx, old, new).map_err(IdbError::from)
            })
            .with_on_blocked(move |_| {
                on_blocked();
                Ok(())
            })
            .build()
            .map_err(StorageError::from_open)?;
        *request.borrow_mut() = Some(open.as_sys().clone());
        let db = open.await.map_err(StorageError::from_open)?;
        let closed = Rc::new(ClosedElsewhere::default());
        close_when_upgraded_elsewhere(&db, Rc::clone(&closed));
        Ok(Self { db, closed })
    }

    /// Whether another tab closed this connection by upgrading or deleting the database.
    /// Every later call on this handle fails with [`StorageError::Closed`].
    pub fn upgraded_elsewhere(&self) -> bool {
        self.closed.closed.get()
    }

    /// Calls `listener` once when another tab closes this connection by upgrading or deleting
    /// the database (at once, if that already happened).
    pub fn on_upgraded_elsewhere(&self, listener: impl Fn() + 'static) {
        if self.upgraded_elsewhere() {
            listener();
        } else {
            self.closed.listeners.borrow_mut().push(Box::new(listener));
        }
    }

    /// Closes this connection. Other clones become unusable (their calls fail with `Closed`).
    pub fn close(self) {
        self.db.close();
    }

    /// Deletes the database called `name` (used by "remove this identity from this browser").
    pub async fn delete_database(name: &str) -> Result<(), StorageError> {
        Database::delete_by_name(name)
            .map_err(StorageError::from_open)?
            .await
            .map_err(|e| StorageError::from_idb(StorageOp::Open, e))
    }

    /// The schema version of the open database.
    pub fn schema_version(&self) -> u32 {
        version_number(self.db.version())
    }

    pub async fn identity(&self) -> Result<Option<IdentityRecord>, StorageError> {
        self.get_meta(schema::META_IDENTITY, StorageOp::ReadIdentity)
            .await
    }

    pub async fn save_identity(&self, identity: &IdentityRecord) -> Result<(), StorageError> {
        self.put_meta(schema::META_IDENTITY, identity, StorageOp::WriteIdentity)
            .await
    }

    pub async fn profile(&self) -> Result<Option<ProfileRecord>, StorageError> {
        self.get_meta(schema::META_PROFILE, StorageOp::ReadProfile)
            .await
    }

    pub async fn save_profile(&self, profile: &ProfileRecord) -> Result<(), StorageError> {
        self.put_meta(schema::META_PROFILE, profile, StorageOp::WriteProfile)
            .await
    }

    /// Saves identity and profile together: registration either happened or it did not.
    /// Strict durability: losing the identity after the user was told it exists loses the
    /// account.
    pub async fn register(
        &self,
        identity: &IdentityRecord,
        profile: &ProfileRecord,
    ) -> Result<(), StorageError> {
        let op = StorageOp::WriteIdentity;
        let map = |e| StorageError::from_idb(op, e);
        let tx = self
            .db
            .transaction(schema::META)
            .with_mode(TransactionMode::Readwrite)
            .with_options(TransactionOptions::new().with_durability(TransactionDurability::Strict))
            .build()
            .map_err(map)?;
        let store = tx.object_store(schema::META).map_err(map)?;
        let _identity = store
            .put(identity)
            .with_key(schema::META_IDENTITY)
            .without_key_type()
            .serde()
            .map_err(map)?;
        let _profile = store
            .put(profile)
            .with_key(schema::META_PROFILE)
            .without_key_type()
            .serde()
            .map_err(map)?;
        drop(store);
        super::batch::commit(tx, op).await
    }

    pub async fn rooms(&self) -> Result<Vec<RoomRecord>, StorageError> {
        let op = StorageOp::ReadRooms;
        let map = |e| StorageError::from_idb(op, e);
        let tx = self.db.transaction(schema::ROOMS).build().map_err(map)?;
        let store = tx.object_store(schema::ROOMS).map_err(map)?;
        let rooms = store
            .get_all::<RoomRecord>()
            .serde()
            .map_err(map)?
            .await
            .map_err(map)?;
        rooms.map(|r| r.map_err(map)).collect()
    }

    pub async fn save_room(&self, room: &RoomRecord) -> Result<(), StorageError> {
        let op = StorageOp::WriteRoom;
        let map = |e| StorageError::from_idb(op, e);
        let tx = self
            .db
            .transaction(schema::ROOMS)
            .with_mode(TransactionMode::Readwrite)
            .build()
            .map_err(map)?;
        let store = tx.object_store(schema::ROOMS).map_err(map)?;
        let _put = store.put(room).serde().map_err(map)?;
        drop(store);
        super::batch::commit(tx, op).await
    }

    pub async fn book(&self, id: &str) -> Result<Option<BookRecord>, StorageError> {
        let op = StorageOp::ReadBooks;
        let map = |e| StorageError::from_idb(op, e);
        let tx = self.db.transaction(schema::BOOKS).build().map_err(map)?;
        let store = tx.object_store(schema::BOOKS).map_err(map)?;
        store.get(id).serde().map_err(map)?.await.map_err(map)
    }

    /// Every book of a room stored on this device (one per member who wrote anything).
    pub async fn books_in_room(&self, room: &str) -> Result<Vec<BookRecord>, StorageError> {
        let op = StorageOp::ReadBooks;
        let map = |e| StorageError::from_idb(op, e);
        let tx = self.db.transaction(schema::BOOKS).build().map_err(map)?;
        let store = tx.object_store(schema::BOOKS).map_err(map)?;
        let index = store.index(schema::BY_ROOM).map_err(map)?;
        let books = index
            .get_all::<BookRecord>()
            .with_query::<&str, _>(room)
            .serde()
            .map_err(map)?
            .await
            .map_err(map)?;
        books.map(|b| b.map_err(map)).collect()
    }

    pub async fn peer_heads(&self, room: &str) -> Result<Vec<PeerHeadsRecord>, StorageError> {
        let op = StorageOp::ReadPeerHeads;
        let map = |e| StorageError::from_idb(op, e);
        let tx = self
            .db
            .transaction(schema::PEER_HEADS)
            .build()
            .map_err(map)?;
        let store = tx.object_store(schema::PEER_HEADS).map_err(map)?;
        let index = store.index(schema::BY_ROOM).map_err(map)?;
        let heads = index
            .get_all::<PeerHeadsRecord>()
            .with_query::<&str, _>(room)
            .serde()
            .map_err(map)?
            .await
            .map_err(map)?;
        heads.map(|h| h.map_err(map)).collect()
    }

    pub async fn save_peer_heads(&self, heads: &PeerHeadsRecord) -> Result<(), StorageError> {
        let op = StorageOp::WritePeerHeads;
        let map = |e| StorageError::from_idb(op, e);
        let tx = self
            .db
            .transaction(schema::PEER_HEADS)
            .with_mode(TransactionMode::Readwrite)
            .build()
            .map_err(map)?;
        let store = tx.object_store(schema::PEER_HEADS).map_err(map)?;
        let _put = store.put(heads).serde().map_err(map)?;
        drop(store);
        super::batch::commit(tx, op).await
    }

    async fn get_meta<T>(&self, key: &str, op: StorageOp) -> Result<Option<T>, StorageError>
    where
        T: serde::de::DeserializeOwned,
    {
        let map = |e| StorageError::from_idb(op, e);
        let tx = self.db.transaction(schema::META).build().map_err(map)?;
        let store = tx.object_store(schema::META).map_err(map)?;
        store.get(key).serde().map_err(map)?.await.map_err(map)
    }

    async fn put_meta<T>(&self, key: &str, value: &T, op: StorageOp) -> Result<(), StorageError>
    where
        T: serde::Serialize,
    {
        let map = |e| StorageError::from_idb(op, e);
        let tx = self
            .db
            .transaction(schema::META)
            .with_mode(TransactionMode::Readwrite)
            .build()
            .map_err(map)?;
        let store = tx.object_store(schema::META).map_err(map)?;
        let _put = store
            .put(value)
            .with_key(key)
            .without_key_type()
            .serde()
            .map_err(map)?;
        drop(store);
        super::batch::commit(tx, op).await
    }
}

/// IndexedDB versions are integers carried in JS numbers; anything else is not ours.
fn version_number(v: f64) -> u32 {
    if v.is_finite() && v >= 0.0 && v <= f64::from(u32::MAX) {
        // In range and integral by IndexedDB's contract, so the cast is exact.
        v as u32
    } else {
        u32::MAX
    }
}

/// When another tab opens the database at a newer version (or deletes it), this connection
/// must close or the other tab waits forever. Closing makes this tab's later calls fail with
/// [`StorageError::Closed`]; the listeners hear of it at once, so the UI can stop taking new
/// writing and ask for a reload before the user types into a tab that cannot save.
fn close_when_upgraded_elsewhere(db: &Database, closed: Rc<ClosedElsewhere>) {
    let conn = db.as_sys().clone();
    let on_change = Closure::<dyn FnMut()>::new(move || {
        conn.close();
        closed.close();
    });
    db.as_sys()
        .set_onversionchange(Some(wasm_bindgen::JsCast::unchecked_ref(
            on_change.as_ref(),
        )));
    // The handler must live as long as the connection, which lives for the page: leak one small
    // closure per open instead of tracking it.
    on_change.forget();
}
