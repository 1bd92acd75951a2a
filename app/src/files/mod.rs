//! The files driver (browser only): carries out what `model::files` decides. It seals a file
//! the user picked into storage a segment at a time ([`share`]), answers `/quire/blob/1`
//! requests from the stored pieces ([`answer`]), fetches one range from one holder ([`fetch`])
//! and assembles a stored file to save it to disk without holding it whole ([`save`]).
//! Who may be served, which piece to ask whom, and when a holder is set aside are decided
//! elsewhere (the room session, core's `Download`); nothing here keeps state.

mod fetch;
mod publish;
mod save;
mod serve;

pub use fetch::{FetchError, fetch};
pub use publish::{estimate, share, thumbnail};
pub use save::{object_url, revoke_later, save};
pub use serve::{Outboards, answer, write_answer};

use quire_core::blob::BlobError;

use crate::model::files::NoRoom;
use crate::storage::StorageError;

/// Why sharing or saving a file stopped. Stored pieces are kept either way.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FileError {
    #[error(transparent)]
    NoRoom(#[from] NoRoom),
    #[error(transparent)]
    Storage(#[from] StorageError),
    #[error("{0}")]
    Blob(#[from] BlobError),
    /// The browser would not read the picked file (moved, deleted, permission gone).
    #[error("the file could not be read: {0}")]
    Read(String),
    /// The file's bytes changed between the two passes of sharing it.
    #[error("the file changed while it was being shared; share it again")]
    Changed,
    /// A stored piece is missing or damaged (saving): download the file again.
    #[error("part of the file is missing on this device; download it again")]
    Incomplete,
    /// The browser refused to make the saved file.
    #[error("the browser could not save the file: {0}")]
    Save(String),
}

/// A JS error in words.
fn js_error(value: &wasm_bindgen::JsValue) -> String {
    value
        .as_string()
        .or_else(|| {
            js_sys::Reflect::get(value, &"message".into())
                .ok()
                .and_then(|m| m.as_string())
        })
        .unwrap_or_else(|| "unknown error".to_owned())
}
