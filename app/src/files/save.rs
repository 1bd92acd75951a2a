//! Saving a stored file to the user's disk: each piece is opened and turned into a small
//! browser `Blob` at once, and the file is the concatenation of those, so wasm holds one piece
//! at a time (where the browser keeps `Blob` data is up to the browser).

use quire_core::blob::{SEGMENT_BYTES, open_segment};
use quire_core::page::FileBody;
use wasm_bindgen::JsCast;
use web_sys::{Blob, BlobPropertyBag, HtmlAnchorElement, Url};

use super::{FileError, js_error};
use crate::model::files::{blob_key, piece_count, piece_range};
use crate::storage::Storage;

/// Assembles `file` from storage and hands it to the browser's download.
pub async fn save(storage: &Storage, file: &FileBody) -> Result<(), FileError> {
    let url = object_url(storage, file).await?;
    let document = web_sys::window()
        .and_then(|w| w.document())
        .ok_or_else(|| FileError::Save("no document".to_owned()))?;
    let anchor: HtmlAnchorElement = document
        .create_element("a")
        .map_err(|e| save_error(&e))?
        .unchecked_into();
    anchor.set_href(&url);
    anchor.set_download(&file.name);
    anchor.click();
    revoke_later(url);
    Ok(())
}

/// Releases an object URL once whatever it was handed to (a download, a new tab) has had
/// time to read it.
pub fn revoke_later(url: String) {
    gloo_timers::callback::Timeout::new(60_000, move || {
        let _ = Url::revoke_object_url(&url);
    })
    .forget();
}

/// An object URL of `file` assembled from storage (the caller revokes it).
pub async fn object_url(storage: &Storage, file: &FileBody) -> Result<String, FileError> {
    let info = file.blob_info();
    let key = blob_key(&info.id);
    let parts = js_sys::Array::new();
    for index in 0..piece_count(info.size) {
        let piece = storage
            .pieces(&key, index..index + 1)
            .await?
            .pop()
            .ok_or(FileError::Incomplete)?;
        let range = piece_range(index, info.size);
        if piece.bytes.len() as u64 != range.end - range.start {
            return Err(FileError::Incomplete);
        }
        let mut plain = Vec::with_capacity(piece.bytes.len());
        for (at, sealed) in piece.bytes.chunks(SEGMENT_BYTES as usize).enumerate() {
            let segment = range.start / SEGMENT_BYTES + at as u64;
            plain.extend(open_segment(&file.key, info.size, segment, sealed)?);
        }
        let bytes = js_sys::Array::of1(&js_sys::Uint8Array::from(plain.as_slice()));
        let part = Blob::new_with_u8_array_sequence(&bytes).map_err(|e| save_error(&e))?;
        parts.push(&part);
    }
    let options = BlobPropertyBag::new();
    options.set_type(&file.mime);
    let whole =
        Blob::new_with_blob_sequence_and_options(&parts, &options).map_err(|e| save_error(&e))?;
    Url::create_object_url_with_blob(&whole).map_err(|e| save_error(&e))
}

fn save_error(value: &wasm_bindgen::JsValue) -> FileError {
    FileError::Save(js_error(value))
}
