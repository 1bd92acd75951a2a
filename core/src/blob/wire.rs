//! `/quire/blob/1`: a downloader asks a holder for one range of one blob, one stream per
//! request, over the libp2p connections members already hold.
//!
//! - request, [`REQUEST_LEN`] bytes: `[version, room(32), blob(32), start(8, BE), end(8, BE)]`.
//!   The room names where the requester saw the file page: a holder serves only a member of a
//!   room whose pages name the blob, and only what it holds.
//! - answer: one status byte ([`Status`]); after [`Status::Data`], a 4-byte big-endian length
//!   and that many bytes of verified-streaming response ([`super::Holder::encode`]), at most
//!   [`answer_cap`] for the range asked. The downloader checks every chunk group as it decodes
//!   ([`super::decode`]), so nothing in an answer needs trust.

use std::ops::Range;

use thiserror::Error;

use super::{BlobId, GROUP_BYTES, MAX_RANGE_BYTES};
use crate::page::RoomId;

/// The stream protocol.
pub const PROTOCOL: &str = "/quire/blob/1";

/// The only wire version so far.
pub const VERSION: u8 = 1;

/// Bytes of a request.
pub const REQUEST_LEN: usize = 1 + 32 + 32 + 8 + 8;

/// One range of one blob, asked of a holder.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BlobRequest {
    /// The room whose file page named the blob to the requester.
    pub room: RoomId,
    pub blob: BlobId,
    /// Sealed bytes (chunk-group aligned, at most [`MAX_RANGE_BYTES`]).
    pub range: Range<u64>,
}

/// What a holder answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    /// The range follows.
    Data,
    /// This peer does not hold (that range of) the blob.
    NotHeld,
    /// The requester is not a member of the room, or the room's pages do not name the blob.
    Refused,
    /// The request could not be read.
    BadRequest,
}

/// A frame that is not valid on this protocol.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum BlobWireError {
    #[error("unknown blob protocol version {0}")]
    Version(u8),
    #[error("the range {start}..{end} is empty or larger than one request may ask for")]
    Range { start: u64, end: u64 },
    #[error("unknown answer status {0}")]
    Status(u8),
    #[error("an answer of {len} bytes is more than {cap} for the range asked")]
    Oversized { len: u32, cap: u64 },
}

impl BlobRequest {
    pub fn encode(&self) -> [u8; REQUEST_LEN] {
        let mut out = [0u8; REQUEST_LEN];
        out[0] = VERSION;
        out[1..33].copy_from_slice(&self.room.0);
        out[33..65].copy_from_slice(&self.blob.0);
        out[65..73].copy_from_slice(&self.range.start.to_be_bytes());
        out[73..81].copy_from_slice(&self.range.end.to_be_bytes());
        out
    }

    /// Reads a request; the range is checked for size here, and against the blob by the holder
    /// (alignment and bounds, [`super::Holder::encode`]).
    pub fn decode(bytes: &[u8; REQUEST_LEN]) -> Result<Self, BlobWireError> {
        if bytes[0] != VERSION {
            return Err(BlobWireError::Version(bytes[0]));
        }
        let word = |at: usize| {
            let mut w = [0u8; 8];
            w.copy_from_slice(&bytes[at..at + 8]);
            u64::from_be_bytes(w)
        };
        let (start, end) = (word(65), word(73));
        if start >= end || end - start > MAX_RANGE_BYTES {
            return Err(BlobWireError::Range { start, end });
        }
        let mut room = [0u8; 32];
        room.copy_from_slice(&bytes[1..33]);
        let mut blob = [0u8; 32];
        blob.copy_from_slice(&bytes[33..65]);
        Ok(Self {
            room: RoomId(room),
            blob: BlobId(blob),
            range: start..end,
        })
    }
}

/// The most bytes an honest answer for `range` holds: the data and the hash pairs that prove
/// it (one pair of 64 bytes per chunk group in the range, plus one per tree level above it).
pub fn answer_cap(range: &Range<u64>) -> u64 {
    let len = range.end.saturating_sub(range.start);
    len + (len.div_ceil(GROUP_BYTES) + 64) * 64
}

impl Status {
    pub fn to_u8(self) -> u8 {
        match self {
            Self::Data => 0,
            Self::NotHeld => 1,
            Self::Refused => 2,
            Self::BadRequest => 3,
        }
    }
}

/// The head of an answer without data.
pub fn empty_answer(status: Status) -> [u8; 1] {
    [status.to_u8()]
}

/// The head of an answer with `len` bytes of data.
pub fn data_head(len: u32) -> [u8; 5] {
    let mut out = [0u8; 5];
    out[0] = Status::Data.to_u8();
    out[1..].copy_from_slice(&len.to_be_bytes());
    out
}

/// Reads an answer's status byte: for [`Status::Data`], the driver then reads 4 bytes of length
/// and passes them to [`data_len`].
pub fn read_status(byte: u8) -> Result<Status, BlobWireError> {
    Ok(match byte {
        0 => Status::Data,
        1 => Status::NotHeld,
        2 => Status::Refused,
        3 => Status::BadRequest,
        other => return Err(BlobWireError::Status(other)),
    })
}

/// Checks a data answer's length against what the range asked for can honestly take, before
/// anything of it is read; the bytes of response to read.
pub fn data_len(len: [u8; 4], asked: &Range<u64>) -> Result<u32, BlobWireError> {
    let len = u32::from_be_bytes(len);
    let cap = answer_cap(asked);
    if u64::from(len) > cap {
        return Err(BlobWireError::Oversized { len, cap });
    }
    Ok(len)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::blob::{FileKey, Holder, SEGMENT_PLAIN_BYTES, seal};

    fn request(range: Range<u64>) -> BlobRequest {
        BlobRequest {
            room: RoomId([1; 32]),
            blob: BlobId([2; 32]),
            range,
        }
    }

    #[test]
    fn requests_round_trip_and_bad_ones_are_refused() {
        let ok = request(GROUP_BYTES..3 * GROUP_BYTES);
        assert_eq!(BlobRequest::decode(&ok.encode()), Ok(ok));
        let mut bad = request(0..GROUP_BYTES).encode();
        bad[0] = 9;
        assert_eq!(BlobRequest::decode(&bad), Err(BlobWireError::Version(9)));
        // Empty, backwards, and over the cap.
        for (start, end) in [(5, 5), (9, 3), (0, MAX_RANGE_BYTES + 1)] {
            assert_eq!(
                BlobRequest::decode(&request(start..end).encode()),
                Err(BlobWireError::Range { start, end })
            );
        }
    }

    #[test]
    fn an_honest_answer_fits_its_cap_and_an_oversized_one_is_refused_before_reading() {
        let plain = vec![3u8; 40 * SEGMENT_PLAIN_BYTES as usize];
        let holder = Holder::new(seal(&FileKey::from_bytes([1; 32]), &plain).unwrap_or_default());
        for range in [0..GROUP_BYTES, GROUP_BYTES..MAX_RANGE_BYTES + GROUP_BYTES] {
            let answer = holder.encode(range.clone()).unwrap_or_default();
            assert!(!answer.is_empty());
            let len = u32::try_from(answer.len()).unwrap_or(u32::MAX);
            assert_eq!(data_len(len.to_be_bytes(), &range), Ok(len));
        }
        let range = 0..GROUP_BYTES;
        let cap = answer_cap(&range);
        let too_long = u32::try_from(cap + 1).unwrap_or(u32::MAX);
        assert_eq!(
            data_len(too_long.to_be_bytes(), &range),
            Err(BlobWireError::Oversized { len: too_long, cap })
        );
    }

    #[test]
    fn statuses_round_trip_and_unknown_ones_are_refused() {
        for status in [
            Status::Data,
            Status::NotHeld,
            Status::Refused,
            Status::BadRequest,
        ] {
            assert_eq!(read_status(empty_answer(status)[0]), Ok(status));
        }
        assert_eq!(read_status(data_head(7)[0]), Ok(Status::Data));
        assert_eq!(read_status(4), Err(BlobWireError::Status(4)));
    }
}
