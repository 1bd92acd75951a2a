//! Saving the identity to a file and restoring it from one.
//!
//! Restoring replaces this browser's identity, so it asks first (in-page dialog) when a
//! different one exists, then reloads the page: the network node and every open room restart
//! under the restored identity.

use leptos::prelude::*;
use leptos::task::spawn_local;
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;

use super::confirm::{ConfirmDialog, ConfirmRequest, ConfirmSlot};
use super::identity_keeper::{IdentityStatus, Messenger};
use crate::model::identity::{
    BACKUP_FILE_NAME, MAX_BACKUP_BYTES, Restored, export_backup, import_backup,
};
use crate::shell::{DisplayName, ShellState};

/// "Save a backup" and "Restore from a backup" controls.
#[component]
pub fn IdentityBackup() -> impl IntoView {
    let messenger = Messenger::expect();
    let notice = RwSignal::new(None::<String>);
    let ask: ConfirmSlot = RwSignal::new(None);
    // The backup waiting for the user's answer.
    let pending = StoredValue::new_local(None::<Restored>);
    let install = move |restored: Restored| {
        spawn_local(async move {
            if let Err(why) = replace_identity(messenger, restored).await {
                notice.set(Some(why));
            }
        });
    };

    let save = move |_| {
        spawn_local(async move {
            notice.set(Some(match save_backup(messenger).await {
                Ok(()) => "Backup saved. Keep it private: it is your account.".to_owned(),
                Err(why) => format!("Could not save the backup: {why}"),
            }));
        });
    };
    let restore = move |ev: leptos::ev::Event| {
        let Some(file) = chosen_file(&ev) else {
            return;
        };
        spawn_local(async move {
            let restored = match read_backup(file).await {
                Ok(restored) => restored,
                Err(why) => return notice.set(Some(why)),
            };
            let replaces_someone = messenger
                .identity()
                .is_some_and(|current| current.user_id() != restored.identity.user_id());
            if !replaces_someone {
                return install(restored);
            }
            pending.set_value(Some(restored));
            ask.set(Some(ConfirmRequest {
                title: "Replace your identity in this browser?".to_owned(),
                body: "The backup holds a different identity. Rooms joined with the current \
                       one will no longer be yours here. Save a backup of the current one \
                       first if you may want it back."
                    .to_owned(),
                yes_label: "Replace".to_owned(),
                on_yes: Callback::new(move |()| {
                    if let Some(restored) = pending.try_update_value(Option::take).flatten() {
                        install(restored);
                    }
                }),
            }));
        });
    };

    view! {
        <div class="identity-backup" data-testid="identity-backup">
            <button type="button" data-testid="backup-save" on:click=save
                disabled=move || messenger.status.get() != IdentityStatus::Ready>
                "Save a backup of my identity"
            </button>
            <label class="file-button">
                "Restore from a backup…"
                <input type="file" accept="application/json,.json" data-testid="backup-restore"
                    on:change=restore />
            </label>
            <p class="hint" aria-live="polite" data-testid="backup-notice">{move || notice.get()}</p>
            <ConfirmDialog ask=ask />
        </div>
    }
}

async fn save_backup(messenger: Messenger) -> Result<(), String> {
    let (Some(db), Some(identity)) = (messenger.storage(), messenger.identity()) else {
        return Err("no identity yet".to_owned());
    };
    let profile = db
        .profile()
        .await
        .map_err(|e| e.to_string())?
        .ok_or("no profile yet")?;
    let record = db
        .identity()
        .await
        .map_err(|e| e.to_string())?
        .ok_or("no identity yet")?;
    let text = export_backup(&identity, &profile, record.created_at_ms);
    download(BACKUP_FILE_NAME, &text).map_err(|_| "the browser refused the download".to_owned())
}

/// "Restore from a backup file" on the first-visit screen: a returning user on a new browser
/// gets their identity and name back and goes straight in, without picking a name.
#[component]
pub fn WelcomeRestore() -> impl IntoView {
    let messenger = Messenger::expect();
    let shell = ShellState::expect();
    let notice = RwSignal::new(None::<String>);
    let busy = RwSignal::new(false);
    let restore = move |ev: leptos::ev::Event| {
        let Some(file) = chosen_file(&ev) else {
            return;
        };
        busy.set(true);
        notice.set(None);
        spawn_local(async move {
            if let Err(why) = restore_first_identity(messenger, shell, file).await {
                notice.set(Some(why));
            }
            busy.set(false);
        });
    };
    view! {
        <div class="welcome-restore">
            <p class="hint">"Used Quire in another browser?"</p>
            <label class="file-button" class:busy=move || busy.get()>
                "Restore from a backup file"
                <input type="file" accept="application/json,.json" data-testid="welcome-restore"
                    disabled=move || busy.get() on:change=restore />
            </label>
            <p class="field-error" role="alert" data-testid="welcome-restore-error">
                {move || notice.get()}
            </p>
        </div>
    }
}

/// The file picked in a file input (the input is cleared, so picking the same file again
/// fires `change` again).
fn chosen_file(ev: &leptos::ev::Event) -> Option<web_sys::File> {
    let input = ev
        .target()
        .and_then(|t| t.dyn_into::<web_sys::HtmlInputElement>().ok())?;
    let file = input.files().and_then(|f| f.get(0))?;
    input.set_value("");
    Some(file)
}

/// Reads and checks a backup file.
async fn read_backup(file: web_sys::File) -> Result<Restored, String> {
    if file.size() > MAX_BACKUP_BYTES as f64 {
        return Err("This file is too large to be a Quire identity backup.".to_owned());
    }
    let text = JsFuture::from(file.text())
        .await
        .map_err(|_| "The file could not be read.".to_owned())?;
    let text = text.as_string().unwrap_or_default();
    import_backup(text.as_bytes()).map_err(|e| e.to_string())
}

/// First visit: saves the backup's identity and profile (one transaction), then goes in.
async fn restore_first_identity(
    messenger: Messenger,
    shell: ShellState,
    file: web_sys::File,
) -> Result<(), String> {
    let restored = read_backup(file).await?;
    let db = messenger.storage().ok_or("Storage is not open.")?;
    // import_backup already checked the name; parse again for the shell's type.
    let name = DisplayName::parse(&restored.profile.display_name).map_err(|e| e.to_string())?;
    if messenger.status.get_untracked() != IdentityStatus::NeedsRegistration {
        return Err("Quire is busy setting up this browser; try again in a moment.".to_owned());
    }
    db.register(&restored.record, &restored.profile)
        .await
        .map_err(|e| format!("Could not save the restored identity: {e}"))?;
    messenger.adopt(shell, restored.identity, name);
    Ok(())
}

/// Saves the restored identity and profile over the current ones, then reloads.
async fn replace_identity(messenger: Messenger, restored: Restored) -> Result<(), String> {
    let db = messenger.storage().ok_or("Storage is not open.")?;
    let window = web_sys::window().ok_or("no window")?;
    db.register(&restored.record, &restored.profile)
        .await
        .map_err(|e| e.to_string())?;
    // Restart everything under the restored identity.
    window
        .location()
        .reload()
        .map_err(|_| "Reload the page to finish.".to_owned())
}

/// Offers `text` as a file download named `name`.
fn download(name: &str, text: &str) -> Result<(), JsValue> {
    let parts = js_sys::Array::of1(&JsValue::from_str(text));
    let options = web_sys::BlobPropertyBag::new();
    options.set_type("application/json");
    let blob = web_sys::Blob::new_with_str_sequence_and_options(&parts, &options)?;
    let url = web_sys::Url::create_object_url_with_blob(&blob)?;
    let document = web_sys::window()
        .and_then(|w| w.document())
        .ok_or(JsValue::NULL)?;
    let anchor: web_sys::HtmlAnchorElement = document.create_element("a")?.unchecked_into();
    anchor.set_href(&url);
    anchor.set_download(name);
    anchor.click();
    web_sys::Url::revoke_object_url(&url)
}
