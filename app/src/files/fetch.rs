//! Asking one holder for one range: one stream per request.

use futures::{AsyncReadExt as _, AsyncWriteExt as _};
use libp2p::PeerId;
use quire_core::blob::wire::{BlobRequest, BlobWireError, PROTOCOL, Status, data_len, read_status};

use crate::net::node::NodeHandle;

/// Why a request got no answer to verify.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FetchError {
    #[error("could not reach the holder: {0}")]
    Stream(String),
    #[error("the holder broke the blob protocol: {0}")]
    Wire(#[from] BlobWireError),
    #[error("the holder could not read our request")]
    BadRequest,
}

fn io(e: std::io::Error) -> FetchError {
    FetchError::Stream(e.to_string())
}

/// The holder's answer to `request`: `Some(bytes)` to verify, `None` if it does not hold the
/// blob or will not serve it to us.
pub async fn fetch(
    handle: &NodeHandle,
    peer: PeerId,
    request: &BlobRequest,
) -> Result<Option<Vec<u8>>, FetchError> {
    let mut stream = handle
        .open_stream(peer, PROTOCOL)
        .await
        .map_err(|e| FetchError::Stream(e.to_string()))?;
    stream.write_all(&request.encode()).await.map_err(io)?;
    stream.flush().await.map_err(io)?;
    let mut status = [0u8; 1];
    stream.read_exact(&mut status).await.map_err(io)?;
    let answer = match read_status(status[0])? {
        Status::Data => {
            let mut len = [0u8; 4];
            stream.read_exact(&mut len).await.map_err(io)?;
            let len = data_len(len, &request.range)?;
            // Grows with what arrives: a holder that announces much and sends little costs
            // only what it sent.
            let mut bytes = Vec::new();
            (&mut stream)
                .take(u64::from(len))
                .read_to_end(&mut bytes)
                .await
                .map_err(io)?;
            // A short answer is left to verification, which names where it stopped.
            Some(bytes)
        }
        Status::NotHeld | Status::Refused => None,
        Status::BadRequest => return Err(FetchError::BadRequest),
    };
    let _ = stream.close().await;
    Ok(answer)
}
