//! Answering one `/quire/blob/1` request from the stored pieces (the caller has checked that
//! the requester may be served).

use std::cell::RefCell;
use std::rc::Rc;

use futures::{AsyncWrite, AsyncWriteExt as _};
use quire_core::blob::wire::{BlobRequest, Status, data_head, empty_answer};
use quire_core::blob::{BlobError, BlobInfo, Outboard, serve};

use crate::model::files::{blob_key, pieces_covering, window};
use crate::storage::Storage;

/// Hash trees of the blobs served last, so that a download's stream of requests reads each
/// tree from storage once rather than with every piece. Why 4: a few downloads at once; a tree
/// is 0.4 % of its blob (8 MiB for 2 GiB), so the cache stays small.
#[derive(Debug, Default, Clone)]
pub struct Outboards(Rc<RefCell<Vec<Cached>>>);

/// A blob's key and its hash tree.
type Cached = (String, Rc<Outboard>);

const CACHED_OUTBOARDS: usize = 4;

impl Outboards {
    fn get(&self, key: &str) -> Option<Rc<Outboard>> {
        let mut cached = self.0.borrow_mut();
        let at = cached.iter().position(|(k, _)| k == key)?;
        let entry = cached.remove(at);
        let outboard = Rc::clone(&entry.1);
        cached.push(entry);
        Some(outboard)
    }

    fn put(&self, key: String, outboard: Rc<Outboard>) {
        let mut cached = self.0.borrow_mut();
        cached.retain(|(k, _)| *k != key);
        if cached.len() >= CACHED_OUTBOARDS {
            cached.remove(0);
        }
        cached.push((key, outboard));
    }

    /// Forgets a blob this device no longer holds.
    pub fn forget(&self, key: &str) {
        self.0.borrow_mut().retain(|(k, _)| k != key);
    }
}

/// The verified-streaming bytes for `request`, or the status to answer instead: only a blob
/// held whole is served (its hash tree is stored), and only bytes that check against it.
pub async fn answer(
    storage: &Storage,
    outboards: &Outboards,
    request: &BlobRequest,
) -> Result<Vec<u8>, Status> {
    let key = blob_key(&request.blob);
    let outboard = match outboards.get(&key) {
        Some(outboard) => outboard,
        None => {
            let record = match storage.blob(&key).await {
                Ok(Some(record)) if !record.outboard.is_empty() => record,
                _ => return Err(Status::NotHeld),
            };
            let info = BlobInfo {
                id: request.blob,
                size: record.size,
            };
            let outboard =
                Rc::new(Outboard::from_stored(info, record.outboard).map_err(|_| Status::NotHeld)?);
            outboards.put(key.clone(), Rc::clone(&outboard));
            outboard
        }
    };
    let info = outboard.info();
    if request.range.end > info.size {
        return Err(Status::BadRequest);
    }
    let pieces = storage
        .pieces(&key, pieces_covering(&request.range))
        .await
        .map_err(|_| Status::NotHeld)?;
    let held: Vec<(u64, &[u8])> = pieces
        .iter()
        .map(|p| (p.index, p.bytes.as_slice()))
        .collect();
    let bytes = window(&request.range, info.size, &held).map_err(|_| Status::NotHeld)?;
    serve(&outboard, request.range.clone(), &bytes).map_err(|e| match e {
        BlobError::BadRange { .. } | BlobError::RangeTooLarge(_) => Status::BadRequest,
        _ => Status::NotHeld,
    })
}

/// Writes an answer: the data with its length, or the status alone.
pub async fn write_answer<W: AsyncWrite + Unpin>(
    stream: &mut W,
    answer: Result<Vec<u8>, Status>,
) -> std::io::Result<()> {
    match answer {
        Ok(bytes) => {
            let len = u32::try_from(bytes.len()).map_err(std::io::Error::other)?;
            stream.write_all(&data_head(len)).await?;
            stream.write_all(&bytes).await?;
        }
        Err(status) => stream.write_all(&empty_answer(status)).await?,
    }
    stream.flush().await?;
    stream.close().await
}
