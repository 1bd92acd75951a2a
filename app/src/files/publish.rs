//! Sharing a picked file: seal it a segment at a time and store it a piece at a time.
//!
//! The blob's address is the hash of the sealed bytes, known only once all are sealed, and
//! pieces are stored under it. So the file is read twice: once to seal and hash it (nothing
//! stored), once to seal it again (the same key and nonces give the same bytes) and store each
//! piece under the address, checking the address again at the end. Why not once, under a
//! temporary name: IndexedDB cannot rename keys, so that would copy every piece afterwards
//! (and leave orphans behind a closed tab); a second read of a local file is cheaper.

use quire_core::blob::{BlobInfo, FileKey, MAX_FILE_BYTES, Sealer, sealed_len};
use quire_core::page::body::MAX_THUMBNAIL_BYTES;
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::JsFuture;
use web_sys::File;

use super::{FileError, js_error};
use crate::model::files::{PieceBuffer, PieceSet, Space, blob_key, room_for};
use crate::storage::{BlobRecord, PieceRecord, Storage};

/// What the browser says about this site's storage, if it says anything.
pub async fn estimate() -> Option<Space> {
    let navigator = web_sys::window()?.navigator();
    if !js_sys::Reflect::has(navigator.as_ref(), &"storage".into()).unwrap_or(false) {
        return None;
    }
    let estimate: web_sys::StorageEstimate = JsFuture::from(navigator.storage().estimate().ok()?)
        .await
        .ok()?
        .unchecked_into();
    Some(Space {
        usage: estimate.get_usage()? as u64,
        quota: estimate.get_quota()? as u64,
    })
}

/// Seals `file` under `key` into storage and returns the blob's address. `progress` hears
/// (bytes done, bytes in all) across both passes.
pub async fn share(
    storage: &Storage,
    file: &File,
    key: &FileKey,
    progress: &dyn Fn(u64, u64),
) -> Result<BlobInfo, FileError> {
    let len = file.size() as u64;
    if len > MAX_FILE_BYTES {
        return Err(quire_core::blob::BlobError::TooLarge(len).into());
    }
    room_for(sealed_len(len), estimate().await)?;
    let total = 2 * len;
    let info = seal_pass(file, key, len, None, &|done| progress(done, total)).await?;
    let stored = seal_pass(file, key, len, Some((storage, info)), &|done| {
        progress(len + done, total)
    })
    .await?;
    if stored != info {
        return Err(FileError::Changed);
    }
    Ok(info)
}

/// One pass over the file: seal every segment, hash, and (with `store`) store every piece
/// under the blob's address and, at the end, the hash tree.
async fn seal_pass(
    file: &File,
    key: &FileKey,
    len: u64,
    store: Option<(&Storage, BlobInfo)>,
    progress: &dyn Fn(u64),
) -> Result<BlobInfo, FileError> {
    let mut sealer = Sealer::new(key.clone(), len)?;
    let size = sealed_len(len);
    let mut buffer = PieceBuffer::new(size);
    let mut record = store.map(|(_, info)| BlobRecord {
        id: blob_key(&info.id),
        size,
        pieces: PieceSet::empty(size).as_bytes().to_vec(),
        outboard: Vec::new(),
        added_at_ms: js_sys::Date::now(),
        paused: false,
    });
    let mut pieces = PieceSet::empty(size);
    while let Some(range) = sealer.next_plain() {
        let plain = read(file, range.start, range.end).await?;
        if plain.len() as u64 != range.end - range.start {
            return Err(FileError::Changed);
        }
        let (index, sealed) = sealer.push(&plain)?;
        progress(range.end);
        let Some((piece, bytes)) = buffer.push(index, &sealed) else {
            continue;
        };
        if let (Some((storage, _)), Some(record)) = (store, record.as_mut()) {
            pieces.insert(piece);
            record.pieces = pieces.as_bytes().to_vec();
            let piece = PieceRecord {
                blob: record.id.clone(),
                index: piece,
                bytes,
            };
            storage.save_pieces(record, &[piece]).await?;
        }
    }
    let outboard = sealer.finish()?;
    if let (Some((storage, info)), Some(mut record)) = (store, record) {
        if outboard.info() != info {
            return Err(FileError::Changed);
        }
        record.outboard = outboard.as_bytes().to_vec();
        storage.save_blob(&record).await?;
    }
    Ok(outboard.info())
}

/// Bytes `start..end` of the picked file.
async fn read(file: &File, start: u64, end: u64) -> Result<Vec<u8>, FileError> {
    let slice = file
        .slice_with_f64_and_f64(start as f64, end as f64)
        .map_err(|e| FileError::Read(js_error(&e)))?;
    let buffer = JsFuture::from(slice.array_buffer())
        .await
        .map_err(|e| FileError::Read(js_error(&e)))?;
    Ok(js_sys::Uint8Array::new(&buffer).to_vec())
}

/// Longest side of a thumbnail, in pixels. Why: a card shows it at about 64 px; twice that is
/// sharp on dense screens and stays well under the file page's 32 KiB cap as a JPEG.
const THUMBNAIL_PX: f64 = 128.0;

/// A small JPEG preview of an image file for its card, if the browser can decode the image and
/// the preview fits the file page ([`MAX_THUMBNAIL_BYTES`]); `None` otherwise (the card then
/// shows the type's symbol).
pub async fn thumbnail(file: &File) -> Option<Vec<u8>> {
    if !file.type_().starts_with("image/") {
        return None;
    }
    let window = web_sys::window()?;
    let bitmap: web_sys::ImageBitmap =
        JsFuture::from(window.create_image_bitmap_with_blob(file).ok()?)
            .await
            .ok()?
            .unchecked_into();
    let (width, height) = (f64::from(bitmap.width()), f64::from(bitmap.height()));
    if width < 1.0 || height < 1.0 {
        return None;
    }
    let scale = (THUMBNAIL_PX / width.max(height)).min(1.0);
    let (w, h) = (
        (width * scale).round().max(1.0),
        (height * scale).round().max(1.0),
    );
    let canvas = web_sys::OffscreenCanvas::new(w as u32, h as u32).ok()?;
    let context: web_sys::OffscreenCanvasRenderingContext2d =
        canvas.get_context("2d").ok()??.unchecked_into();
    context
        .draw_image_with_image_bitmap_and_dw_and_dh(&bitmap, 0.0, 0.0, w, h)
        .ok()?;
    bitmap.close();
    for quality in [0.75, 0.5, 0.3] {
        let options = web_sys::ImageEncodeOptions::new();
        options.set_type("image/jpeg");
        options.set_quality(quality);
        let blob: web_sys::Blob =
            JsFuture::from(canvas.convert_to_blob_with_options(&options).ok()?)
                .await
                .ok()?
                .unchecked_into();
        let bytes =
            js_sys::Uint8Array::new(&JsFuture::from(blob.array_buffer()).await.ok()?).to_vec();
        if bytes.len() <= MAX_THUMBNAIL_BYTES {
            return Some(bytes);
        }
    }
    None
}
