//! Frames on a `/quire/sync/1` stream: an unsigned LEB128 length, then that many bytes of one
//! encoded `SyncMessage`. A length over the protocol's cap ends the stream before anything is
//! allocated, so a peer cannot make us buffer more than one maximal message, and the buffer of
//! a frame grows only as its bytes arrive.

use futures::{AsyncRead, AsyncReadExt as _, AsyncWrite, AsyncWriteExt as _};
use quire_core::sync::MAX_MESSAGE_BYTES;

use crate::net::webrtc::codec::put_varint;

/// Why a stream stopped yielding frames.
#[derive(Debug, thiserror::Error)]
pub enum FrameError {
    #[error("the peer closed the stream")]
    Closed,
    #[error("frame of {0} bytes is over the {MAX_MESSAGE_BYTES}-byte cap")]
    TooLarge(u64),
    #[error("malformed frame length")]
    BadLength,
    #[error("stream error: {0}")]
    Io(#[from] std::io::Error),
}

/// Longest LEB128 encoding of a length up to [`MAX_MESSAGE_BYTES`] (< 2^28).
const MAX_LENGTH_BYTES: usize = 4;

/// Reads one frame.
pub async fn read_frame<R: AsyncRead + Unpin>(reader: &mut R) -> Result<Vec<u8>, FrameError> {
    let mut len: u64 = 0;
    let mut byte = [0u8; 1];
    for i in 0..=MAX_LENGTH_BYTES {
        if i == MAX_LENGTH_BYTES {
            return Err(FrameError::BadLength);
        }
        if reader.read(&mut byte).await? == 0 {
            return Err(FrameError::Closed);
        }
        len |= u64::from(byte[0] & 0x7f) << (7 * i);
        if byte[0] & 0x80 == 0 {
            break;
        }
    }
    if len > MAX_MESSAGE_BYTES as u64 {
        return Err(FrameError::TooLarge(len));
    }
    // The buffer grows with what arrives: a peer that declares a large frame and sends little
    // costs only what it sent.
    let mut frame = Vec::new();
    reader.take(len).read_to_end(&mut frame).await?;
    if frame.len() as u64 != len {
        return Err(FrameError::Closed);
    }
    Ok(frame)
}

/// Writes one frame and flushes it.
pub async fn write_frame<W: AsyncWrite + Unpin>(
    writer: &mut W,
    frame: &[u8],
) -> Result<(), FrameError> {
    if frame.len() > MAX_MESSAGE_BYTES {
        return Err(FrameError::TooLarge(frame.len() as u64));
    }
    let mut prefix = bytes::BytesMut::with_capacity(MAX_LENGTH_BYTES);
    put_varint(frame.len(), &mut prefix);
    writer.write_all(&prefix).await?;
    writer.write_all(frame).await?;
    writer.flush().await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use futures::executor::block_on;
    use futures::io::Cursor;

    #[test]
    fn frames_round_trip_back_to_back() {
        let mut wire = Cursor::new(Vec::new());
        block_on(async {
            write_frame(&mut wire, b"hello").await.unwrap();
            write_frame(&mut wire, &vec![7u8; 300]).await.unwrap();
            write_frame(&mut wire, b"").await.unwrap();
        });
        let mut wire = Cursor::new(wire.into_inner());
        block_on(async {
            assert_eq!(read_frame(&mut wire).await.unwrap(), b"hello");
            assert_eq!(read_frame(&mut wire).await.unwrap(), vec![7u8; 300]);
            assert!(read_frame(&mut wire).await.unwrap().is_empty());
            assert!(matches!(
                read_frame(&mut wire).await,
                Err(FrameError::Closed)
            ));
        });
    }

    #[test]
    fn an_oversized_length_is_refused_before_reading_the_body() {
        // 2^28 - 1, over the cap, followed by no body at all.
        let mut wire = Cursor::new(vec![0xff, 0xff, 0xff, 0x7f]);
        let got = block_on(read_frame(&mut wire));
        assert!(matches!(got, Err(FrameError::TooLarge(n)) if n == (1 << 28) - 1));
        let mut endless = Cursor::new(vec![0x80; 16]);
        assert!(matches!(
            block_on(read_frame(&mut endless)),
            Err(FrameError::BadLength)
        ));
    }

    #[test]
    fn a_stream_cut_inside_a_frame_reads_as_closed() {
        let mut wire = Cursor::new(vec![5, b'a', b'b']);
        assert!(matches!(
            block_on(read_frame(&mut wire)),
            Err(FrameError::Closed)
        ));
    }
}
