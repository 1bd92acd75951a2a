//! Answering one `/quire/blob/1` request from the stored pieces (the caller has checked that
//! the requester may be served).

use futures::{AsyncWrite, AsyncWriteExt as _};
use quire_core::blob::wire::{BlobRequest, Status, data_head, empty_answer};
use quire_core::blob::{BlobError, BlobInfo, Outboard, serve};

use crate::model::files::{blob_key, pieces_covering, window};
use crate::storage::Storage;

/// The verified-streaming bytes for `request`, or the status to answer instead: only a blob
/// held whole is served (its hash tree is stored), and only bytes that check against it.
pub async fn answer(storage: &Storage, request: &BlobRequest) -> Result<Vec<u8>, Status> {
    let key = blob_key(&request.blob);
    let record = match storage.blob(&key).await {
        Ok(Some(record)) if !record.outboard.is_empty() => record,
        _ => return Err(Status::NotHeld),
    };
    let info = BlobInfo {
        id: request.blob,
        size: record.size,
    };
    if request.range.end > info.size {
        return Err(Status::BadRequest);
    }
    let outboard = Outboard::from_stored(info, record.outboard).map_err(|_| Status::NotHeld)?;
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
