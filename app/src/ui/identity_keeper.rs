//! Registration and return visits: ties the shell's display name to the stored identity.
//!
//! - First visit: the shell's welcome screen sets a display name; this then creates an ed25519
//!   identity from the browser's CSPRNG and saves identity and profile in one transaction.
//! - Return visit: the stored profile's name is put into the shell, so the user goes straight in.
//! - Storage problems (private mode, quota, a newer Quire) are shown, never swallowed.

use std::rc::Rc;

use leptos::prelude::*;
use leptos::task::spawn_local;
use quire_core::identity::Identity;

use crate::model::identity::{create_identity, identity_from_record, identity_record};
use crate::shell::{DisplayName, ShellState};
use crate::storage::{DEFAULT_DB_NAME, Persistence, ProfileRecord, Storage, request_persistence};

/// Where registration stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IdentityStatus {
    /// The database is being opened and read.
    Opening,
    /// No identity stored yet: waiting for the user to pick a name.
    NeedsRegistration,
    /// Creating and saving the identity.
    Registering,
    /// The identity is loaded (or was just created and saved).
    Ready,
    /// Storage cannot be used; the text says why and what to do.
    Failed(String),
}

/// The messenger's handles, provided as context by [`provide_messenger`].
#[derive(Debug, Clone, Copy)]
pub struct Messenger {
    pub status: RwSignal<IdentityStatus>,
    /// The browser's answer to the persistence request, once known.
    pub persistence: RwSignal<Option<Persistence>>,
    /// Opening the database waits for another tab that holds an older version of it.
    pub open_blocked: RwSignal<bool>,
    storage: StoredValue<Option<Storage>, LocalStorage>,
    identity: StoredValue<Option<Rc<Identity>>, LocalStorage>,
}

impl Messenger {
    pub fn expect() -> Self {
        expect_context::<Self>()
    }

    /// The open database, once opened.
    pub fn storage(&self) -> Option<Storage> {
        self.storage.get_value()
    }

    /// The local user's identity, once loaded or created.
    pub fn identity(&self) -> Option<Rc<Identity>> {
        self.identity.get_value()
    }

    /// Takes `identity`, already saved with its profile, as this browser's, and goes in with
    /// `name`. Used when a first visit restores a backup instead of registering.
    pub(super) fn adopt(&self, shell: ShellState, identity: Identity, name: DisplayName) {
        self.identity.set_value(Some(Rc::new(identity)));
        // Ready before the name reaches the shell, so the name does not trigger registration.
        self.status.set(IdentityStatus::Ready);
        shell.display_name.set(Some(name));
    }
}

/// Opens storage, loads the identity and provides [`Messenger`]; call once inside the app root,
/// after the [`ShellState`] is provided.
pub fn provide_messenger() -> Messenger {
    provide_messenger_in(DEFAULT_DB_NAME)
}

/// [`provide_messenger`] over the IndexedDB database named `database` (tests give each app
/// its own, so one test's registration does not leak into the next).
pub fn provide_messenger_in(database: &str) -> Messenger {
    let shell = ShellState::expect();
    let database = database.to_owned();
    let messenger = Messenger {
        status: RwSignal::new(IdentityStatus::Opening),
        persistence: RwSignal::new(None),
        open_blocked: RwSignal::new(false),
        storage: StoredValue::new_local(None),
        identity: StoredValue::new_local(None),
    };
    provide_context(messenger);
    spawn_local(load(messenger, shell, database));
    Effect::new(move |_| {
        let name = shell.display_name.get();
        if let (Some(name), IdentityStatus::NeedsRegistration) = (name, messenger.status.get()) {
            messenger.status.set(IdentityStatus::Registering);
            spawn_local(register(messenger, name));
        }
    });
    messenger
}

async fn load(messenger: Messenger, shell: ShellState, database: String) {
    let blocked = messenger.open_blocked;
    let opened = Storage::open_noting_blocked(&database, move || {
        blocked.try_set(true);
    })
    .await;
    messenger.open_blocked.try_set(false);
    let db = match opened {
        Ok(db) => db,
        Err(e) => return messenger.status.set(IdentityStatus::Failed(e.to_string())),
    };
    messenger.storage.set_value(Some(db.clone()));
    let (identity, profile) = match (db.identity().await, db.profile().await) {
        (Ok(identity), Ok(profile)) => (identity, profile),
        (Err(e), _) | (_, Err(e)) => {
            return messenger.status.set(IdentityStatus::Failed(e.to_string()));
        }
    };
    match (identity, profile) {
        (Some(record), Some(profile)) => match identity_from_record(&record) {
            Ok(identity) => {
                messenger.identity.set_value(Some(Rc::new(identity)));
                // Ready before the name reaches the shell, so the name does not trigger a
                // second registration.
                messenger.status.set(IdentityStatus::Ready);
                // A stored name always passed these rules when it was saved; if it somehow no
                // longer does, the welcome screen asks again rather than showing it.
                shell
                    .display_name
                    .set(DisplayName::parse(&profile.display_name).ok());
            }
            Err(e) => messenger.status.set(IdentityStatus::Failed(e.to_string())),
        },
        // No identity, or an identity without a profile (never written that way; registration
        // saves both in one transaction): register afresh.
        _ => messenger.status.set(IdentityStatus::NeedsRegistration),
    }
    messenger.persistence.set(Some(request_persistence().await));
}

async fn register(messenger: Messenger, name: DisplayName) {
    let Some(db) = messenger.storage() else {
        return messenger
            .status
            .set(IdentityStatus::Failed("storage is not open".to_owned()));
    };
    // Never replace a stored identity: if one exists (its profile was lost), keep it.
    let stored = match db.identity().await {
        Ok(stored) => stored,
        Err(e) => return messenger.status.set(IdentityStatus::Failed(e.to_string())),
    };
    let made = match &stored {
        Some(record) => identity_from_record(record).map(|identity| (identity, record.clone())),
        None => create_identity().map(|identity| {
            let record = identity_record(&identity, js_sys::Date::now());
            (identity, record)
        }),
    };
    let (identity, record) = match made {
        Ok(made) => made,
        Err(e) => return messenger.status.set(IdentityStatus::Failed(e.to_string())),
    };
    let profile = ProfileRecord {
        display_name: name.as_str().to_owned(),
    };
    match db.register(&record, &profile).await {
        Ok(()) => {
            messenger.identity.set_value(Some(Rc::new(identity)));
            messenger.status.set(IdentityStatus::Ready);
        }
        Err(e) => messenger.status.set(IdentityStatus::Failed(e.to_string())),
    }
}

/// A banner that says why storage is unusable, or that data may be evicted.
#[component]
pub fn StorageNotice() -> impl IntoView {
    let messenger = Messenger::expect();
    let failure = move || match messenger.status.get() {
        IdentityStatus::Failed(why) => Some(why),
        _ => None,
    };
    view! {
        {move || failure().map(|why| view! {
            <p class="notice error" role="alert" data-testid="storage-error">
                {format!("Quire cannot save anything in this browser: {why}")}
            </p>
        })}
    }
}
