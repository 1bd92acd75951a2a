//! Frames rendezvous messages on a libp2p stream for `request-response`, with a hard size cap
//! applied before any allocation.

use std::io;

use futures::{AsyncRead, AsyncReadExt as _, AsyncWrite, AsyncWriteExt as _};
use libp2p::StreamProtocol;

use super::wire::{Request, Response};
use crate::metrics::Metrics;

/// Metrics label for inputs refused by presence.
pub(crate) const COMPONENT: &str = "presence";

/// The protocol id the libp2p rendezvous client speaks.
pub(crate) const PROTOCOL: StreamProtocol = StreamProtocol::new("/rendezvous/1.0.0");

/// Largest request frame accepted. A registration is a namespace (at most 255 bytes) plus a
/// signed peer record (key, signature and a browser's few relayed addresses, well under 1 KiB);
/// 4 KiB leaves room for a dozen addresses while keeping what a peer can make us buffer small.
pub(crate) const MAX_REQUEST_BYTES: usize = 4096;

/// A uvarint of a length up to [`MAX_REQUEST_BYTES`] fits in two bytes; reading at most this
/// many stops an endless varint early.
const MAX_LENGTH_PREFIX_BYTES: usize = 3;

/// Why a request frame was refused before decoding.
#[derive(Debug, thiserror::Error)]
pub(crate) enum FrameError {
    #[error("request of {0} bytes exceeds the {MAX_REQUEST_BYTES}-byte cap")]
    Oversized(u64),
    #[error("length prefix is not a valid uvarint")]
    BadLengthPrefix,
    #[error(transparent)]
    Malformed(#[from] super::wire::DecodeError),
}

impl FrameError {
    fn into_io(self) -> io::Error {
        io::Error::new(io::ErrorKind::InvalidData, self)
    }
}

/// The rendezvous server side of the protocol: reads requests, writes responses.
///
/// It counts the requests it refuses itself: request-response drops a stream whose request
/// cannot be read without telling the behaviour.
#[derive(Debug, Clone)]
pub(crate) struct Codec {
    metrics: Metrics,
}

impl Codec {
    pub(crate) fn new(metrics: Metrics) -> Self {
        Self { metrics }
    }

    async fn read_frame<T: AsyncRead + Unpin>(io: &mut T) -> io::Result<Request> {
        let length = read_length(io).await?;
        if length > MAX_REQUEST_BYTES as u64 {
            return Err(FrameError::Oversized(length).into_io());
        }
        let mut frame = vec![0; usize::try_from(length).unwrap_or(MAX_REQUEST_BYTES)];
        io.read_exact(&mut frame).await?;
        Request::decode(&frame).map_err(|error| FrameError::from(error).into_io())
    }
}

impl libp2p::request_response::Codec for Codec {
    type Protocol = StreamProtocol;
    type Request = Request;
    type Response = Response;

    async fn read_request<T>(&mut self, _: &StreamProtocol, io: &mut T) -> io::Result<Request>
    where
        T: AsyncRead + Unpin + Send,
    {
        let result = Self::read_frame(io).await;
        if let Err(error) = &result {
            self.metrics.reject(COMPONENT, rejection_reason(error));
        }
        result
    }

    async fn read_response<T>(&mut self, _: &StreamProtocol, _: &mut T) -> io::Result<Response>
    where
        T: AsyncRead + Unpin + Send,
    {
        Err(server_only())
    }

    async fn write_request<T>(
        &mut self,
        _: &StreamProtocol,
        _: &mut T,
        _: Request,
    ) -> io::Result<()>
    where
        T: AsyncWrite + Unpin + Send,
    {
        Err(server_only())
    }

    async fn write_response<T>(
        &mut self,
        _: &StreamProtocol,
        io: &mut T,
        response: Response,
    ) -> io::Result<()>
    where
        T: AsyncWrite + Unpin + Send,
    {
        let body = response.encode();
        let mut frame = Vec::with_capacity(body.len() + 10);
        write_uvarint(&mut frame, body.len() as u64);
        frame.extend_from_slice(&body);
        io.write_all(&frame).await?;
        io.flush().await
    }
}

/// The relay only serves rendezvous (`ProtocolSupport::Inbound`), so libp2p never asks it to
/// send requests; this error documents that instead of panicking if that ever changes.
fn server_only() -> io::Error {
    io::Error::new(
        io::ErrorKind::Unsupported,
        "the relay answers rendezvous requests but never sends them",
    )
}

async fn read_length<T: AsyncRead + Unpin>(io: &mut T) -> io::Result<u64> {
    let mut value = 0u64;
    for index in 0..MAX_LENGTH_PREFIX_BYTES {
        let mut byte = [0u8; 1];
        io.read_exact(&mut byte).await?;
        value |= u64::from(byte[0] & 0x7f) << (7 * index);
        if byte[0] & 0x80 == 0 {
            return Ok(value);
        }
    }
    // Three continuation bytes already mean more than 2^21 bytes: far past the cap.
    Err(FrameError::BadLengthPrefix.into_io())
}

fn write_uvarint(out: &mut Vec<u8>, mut value: u64) {
    loop {
        let byte = (value & 0x7f) as u8;
        value >>= 7;
        if value == 0 {
            out.push(byte);
            return;
        }
        out.push(byte | 0x80);
    }
}

/// Tells why an inbound request failed, for the rejected-inputs metric.
fn rejection_reason(error: &io::Error) -> &'static str {
    match error
        .get_ref()
        .and_then(|inner| inner.downcast_ref::<FrameError>())
    {
        Some(FrameError::Oversized(_)) => "oversized",
        Some(FrameError::BadLengthPrefix | FrameError::Malformed(_)) => "malformed",
        // The peer closed or reset the stream mid-request.
        None => "truncated",
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use libp2p::request_response::Codec as _;

    fn read(bytes: &[u8]) -> io::Result<Request> {
        let mut io = futures::io::Cursor::new(bytes.to_vec());
        let metrics = Metrics::register(&mut prometheus_client::registry::Registry::default());
        futures::executor::block_on(Codec::new(metrics).read_request(&PROTOCOL, &mut io))
    }

    #[test]
    fn oversized_frames_are_refused_before_reading_the_body() {
        let mut frame = Vec::new();
        write_uvarint(&mut frame, MAX_REQUEST_BYTES as u64 + 1);
        let error = read(&frame).unwrap_err();
        assert_eq!(rejection_reason(&error), "oversized");
    }

    #[test]
    fn endless_length_prefixes_and_garbage_are_malformed() {
        assert_eq!(
            rejection_reason(&read(&[0xff; 8]).unwrap_err()),
            "malformed"
        );
        let mut frame = Vec::new();
        write_uvarint(&mut frame, 3);
        frame.extend_from_slice(&[0xff, 0xff, 0xff]);
        assert_eq!(rejection_reason(&read(&frame).unwrap_err()), "malformed");
    }

    #[test]
    fn uvarint_matches_the_multiformats_encoding() {
        let mut out = Vec::new();
        write_uvarint(&mut out, 300);
        assert_eq!(out, [0xac, 0x02]);
    }
}
