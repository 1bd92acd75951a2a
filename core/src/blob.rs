//! Shared files as content-addressed, encrypted blobs with verified streaming.
//!
//! A file is sealed under its own random [`FileKey`] (carried inside the file page, which the
//! room key seals in turn), in fixed segments: segment `i` holds plaintext bytes
//! `i * SEGMENT_PLAIN_BYTES ..` and is sealed with XChaCha20-Poly1305 under a nonce made of `i`
//! and whether it is the last segment, so segments cannot be reordered, dropped from the end or
//! moved between files. Each sealed segment is exactly [`SEGMENT_BYTES`] long (the last may be
//! shorter), so the sealed blob's segment `i` starts at `i * SEGMENT_BYTES`.
//!
//! The sealed bytes are addressed by their BLAKE3 verified-streaming root ([`BlobId`], computed
//! with `bao-tree` over chunk groups of [`GROUP_BYTES`]). A holder serves byte ranges of the
//! sealed blob without knowing the key ([`Holder::encode`]), and a downloader checks every chunk
//! group against the root as it arrives ([`decode`]), so a holder that lies is caught at the
//! first group it falsifies, with the offset, before anything of it is stored. A segment is four
//! chunk groups, so one segment can be fetched, verified and opened on its own.
//!
//! Why `bao-tree` rather than our own tree: it is BLAKE3's verified streaming with configurable
//! chunk groups and range queries, maintained, and builds for wasm32 with its default features
//! off (no async runtime, no file system).

pub mod download;
pub mod holders;
pub mod stream;
pub mod wire;

pub use stream::{Outboard, Sealer, TreeHasher, serve};

use std::ops::Range;

use bao_tree::io::sync::DecodeResponseIter;
use bao_tree::io::{BaoContentItem, DecodeError};
use bao_tree::{BaoTree, BlockSize, ByteRanges, ChunkRanges};
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use thiserror::Error;

/// BLAKE3 chunks (1 KiB) per chunk group, as a power of two: 16 KiB groups. Why: the outboard
/// (64 bytes per group) stays under 0.4 % of the blob, and one group is the unit a liar is
/// caught at.
const GROUP_LOG: u8 = 4;
const BLOCK: BlockSize = BlockSize::from_chunk_log(GROUP_LOG);

/// Bytes of one chunk group.
pub const GROUP_BYTES: u64 = 1024 << GROUP_LOG;

/// Bytes of one sealed segment (the last may be shorter): four chunk groups.
pub const SEGMENT_BYTES: u64 = 4 * GROUP_BYTES;

/// XChaCha20-Poly1305's tag.
const TAG_BYTES: u64 = 16;

/// Plaintext bytes in one full segment.
pub const SEGMENT_PLAIN_BYTES: u64 = SEGMENT_BYTES - TAG_BYTES;

/// Largest file Quire shares (plaintext). Why: 4 GiB keeps every offset in a u32 of segments
/// with room to spare and is twice what users were promised (2 GiB).
pub const MAX_FILE_BYTES: u64 = 4 << 30;

/// Largest range one request may ask for. Why: a response is decoded in memory before its
/// groups are stored; 1 MiB keeps that small and is still 64 groups per round trip.
pub const MAX_RANGE_BYTES: u64 = 1 << 20;

/// The key one file is sealed with (drawn at random by the app for each file).
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct FileKey([u8; 32]);

impl FileKey {
    pub fn from_bytes(bytes: [u8; 32]) -> Self {
        Self(bytes)
    }

    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }

    fn cipher(&self) -> XChaCha20Poly1305 {
        XChaCha20Poly1305::new(&self.0.into())
    }
}

impl std::fmt::Debug for FileKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("FileKey(..)")
    }
}

/// A sealed blob's address: its BLAKE3 verified-streaming root.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct BlobId(pub [u8; 32]);

/// What a downloader must know to verify a blob: its address and its sealed size (both named
/// in the file page, which its author signed).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct BlobInfo {
    pub id: BlobId,
    pub size: u64,
}

/// Why a blob operation failed.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum BlobError {
    #[error("a file of {0} bytes is larger than the {MAX_FILE_BYTES}-byte cap")]
    TooLarge(u64),
    #[error("the range {start}..{end} is empty, unaligned or outside the blob of {size} bytes")]
    BadRange { start: u64, end: u64, size: u64 },
    #[error("a range of {0} bytes is more than one request may ask for")]
    RangeTooLarge(u64),
    #[error("segment {0} could not be opened: wrong key, or altered")]
    Open(u64),
    #[error("segment {index} has {len} bytes where {expected} belong")]
    SegmentSize { index: u64, len: u64, expected: u64 },
    /// The holder sent bytes that do not hash to the blob's root: it is lying or broken.
    #[error("the data at byte {offset} does not match the file's hash")]
    Mismatch { offset: u64 },
    /// The response ended before the range did.
    #[error("the response ended at byte {offset}, before the range did")]
    Truncated { offset: u64 },
    /// The response went on after the range ended.
    #[error("the response is longer than the range asked for")]
    TrailingBytes,
    /// This holder does not hold the range asked for (it must not be served).
    #[error("the range is not held here")]
    NotHeld,
}

/// Sealed length of a file of `plain_len` bytes.
pub fn sealed_len(plain_len: u64) -> u64 {
    plain_len + segments(plain_len) * TAG_BYTES
}

/// Segments of a file of `plain_len` bytes (an empty file is one empty segment).
pub fn segments(plain_len: u64) -> u64 {
    plain_len.div_ceil(SEGMENT_PLAIN_BYTES).max(1)
}

/// Sealed bytes of segment `index` of a blob of `sealed_size` bytes.
pub fn segment_range(index: u64, sealed_size: u64) -> Range<u64> {
    unit_range(index, SEGMENT_BYTES, sealed_size)
}

/// Bytes of the `index`th run of `unit` bytes in a blob of `size` bytes (the last may be short).
fn unit_range(index: u64, unit: u64, size: u64) -> Range<u64> {
    let start = index.saturating_mul(unit).min(size);
    start..start.saturating_add(unit).min(size)
}

fn nonce(index: u64, last: bool) -> XNonce {
    let mut nonce = [0u8; 24];
    nonce[..8].copy_from_slice(&index.to_le_bytes());
    nonce[8] = u8::from(last);
    nonce.into()
}

/// Seals segment `index` of a file of `plain_len` bytes; `plain` is that segment's plaintext.
pub fn seal_segment(
    key: &FileKey,
    plain_len: u64,
    index: u64,
    plain: &[u8],
) -> Result<Vec<u8>, BlobError> {
    if plain_len > MAX_FILE_BYTES {
        return Err(BlobError::TooLarge(plain_len));
    }
    let count = segments(plain_len);
    let last = index + 1 == count;
    let expected = if last {
        plain_len - (count - 1) * SEGMENT_PLAIN_BYTES
    } else {
        SEGMENT_PLAIN_BYTES
    };
    check_segment(index, count, plain.len(), expected)?;
    key.cipher()
        .encrypt(&nonce(index, last), Payload::from(plain))
        .map_err(|_| BlobError::Open(index))
}

/// Opens segment `index` of a blob of `sealed_size` bytes.
pub fn open_segment(
    key: &FileKey,
    sealed_size: u64,
    index: u64,
    sealed: &[u8],
) -> Result<Vec<u8>, BlobError> {
    let count = sealed_size.div_ceil(SEGMENT_BYTES).max(1);
    let range = segment_range(index, sealed_size);
    let expected = range.end - range.start;
    check_segment(index, count, sealed.len(), expected)?;
    key.cipher()
        .decrypt(&nonce(index, index + 1 == count), Payload::from(sealed))
        .map_err(|_| BlobError::Open(index))
}

/// Refuses a segment index past the last, or bytes of the wrong length for it.
fn check_segment(index: u64, count: u64, len: usize, expected: u64) -> Result<(), BlobError> {
    if index >= count || len as u64 != expected {
        return Err(BlobError::SegmentSize {
            index,
            len: len as u64,
            expected,
        });
    }
    Ok(())
}

/// Seals a whole file held in memory (tests, small files; the app seals segment by segment).
pub fn seal(key: &FileKey, plain: &[u8]) -> Result<Vec<u8>, BlobError> {
    let len = plain.len() as u64;
    let mut out = Vec::with_capacity(usize::try_from(sealed_len(len)).unwrap_or(0));
    for index in 0..segments(len) {
        let start = usize::try_from(index * SEGMENT_PLAIN_BYTES).unwrap_or(usize::MAX);
        let end = plain
            .len()
            .min(start.saturating_add(SEGMENT_PLAIN_BYTES as usize));
        out.extend(seal_segment(key, len, index, &plain[start.min(end)..end])?);
    }
    Ok(out)
}

/// A holder's copy of a sealed blob held in memory: the bytes and their hash tree (tests,
/// benches; the app keeps the bytes in storage and serves with [`serve`]).
#[derive(Debug, Clone)]
pub struct Holder {
    data: Vec<u8>,
    outboard: Outboard,
}

impl Holder {
    /// Hashes a sealed blob held in memory.
    pub fn new(sealed: Vec<u8>) -> Self {
        let mut hasher = TreeHasher::new(sealed.len() as u64);
        let outboard = match hasher.update(&sealed).and_then(|()| hasher.finish()) {
            Ok(outboard) => outboard,
            Err(_) => unreachable!("exactly the blob's bytes were fed"),
        };
        Self {
            data: sealed,
            outboard,
        }
    }

    pub fn info(&self) -> BlobInfo {
        self.outboard.info()
    }

    /// The hash tree (what a holder stores beside the bytes).
    pub fn outboard(&self) -> &Outboard {
        &self.outboard
    }

    /// The verified-streaming response for `range` of the sealed blob: the hashes a downloader
    /// needs to check it against the root, interleaved with the data. The data is checked
    /// against the tree on the way out, so a holder whose copy rotted does not serve it.
    pub fn encode(&self, range: Range<u64>) -> Result<Vec<u8>, BlobError> {
        let size = self.data.len() as u64;
        chunk_ranges(&range, size)?;
        let bytes = &self.data[usize::try_from(range.start).unwrap_or(usize::MAX)
            ..usize::try_from(range.end).unwrap_or(usize::MAX)];
        serve(&self.outboard, range, bytes)
    }
}

/// The chunk ranges covering `range`, which must be non-empty, within the blob, start on a
/// chunk group and end on one (or at the blob's end), and fit one request.
fn chunk_ranges(range: &Range<u64>, size: u64) -> Result<ChunkRanges, BlobError> {
    let bad = || BlobError::BadRange {
        start: range.start,
        end: range.end,
        size,
    };
    if range.start >= range.end || range.end > size {
        return Err(bad());
    }
    if !range.start.is_multiple_of(GROUP_BYTES)
        || (!range.end.is_multiple_of(GROUP_BYTES) && range.end != size)
    {
        return Err(bad());
    }
    if range.end - range.start > MAX_RANGE_BYTES {
        return Err(BlobError::RangeTooLarge(range.end - range.start));
    }
    Ok(bao_tree::io::round_up_to_chunks(&ByteRanges::from(
        range.start..range.end,
    )))
}

/// Checks a holder's `response` for `range` of the blob `info` names, and returns the range's
/// bytes. Every chunk group is checked against the root before it is accepted; the first that
/// fails is reported with its offset ([`BlobError::Mismatch`]), and so is a response cut short
/// ([`BlobError::Truncated`]) or running on ([`BlobError::TrailingBytes`]).
pub fn decode(info: &BlobInfo, range: Range<u64>, response: &[u8]) -> Result<Vec<u8>, BlobError> {
    let chunks = chunk_ranges(&range, info.size)?;
    let tree = BaoTree::new(info.size, BLOCK);
    let root = blake3::Hash::from_bytes(info.id.0);
    let mut reader = response;
    let mut out = Vec::with_capacity(usize::try_from(range.end - range.start).unwrap_or(0));
    let mut next = range.start;
    for item in DecodeResponseIter::new(root, tree, &mut reader, &chunks) {
        match item {
            Ok(BaoContentItem::Leaf(leaf)) => {
                // Leaves come in order and cover exactly the range (both are checked).
                if leaf.offset != next {
                    return Err(BlobError::Mismatch {
                        offset: leaf.offset,
                    });
                }
                next = leaf.offset + leaf.data.len() as u64;
                out.extend_from_slice(&leaf.data);
            }
            Ok(BaoContentItem::Parent(_)) => {}
            Err(error) => return Err(decode_error(error, next)),
        }
    }
    if next != range.end {
        return Err(BlobError::Truncated { offset: next });
    }
    if !reader.is_empty() {
        return Err(BlobError::TrailingBytes);
    }
    Ok(out)
}

fn decode_error(error: DecodeError, at: u64) -> BlobError {
    match error {
        DecodeError::LeafHashMismatch(chunk) => BlobError::Mismatch {
            offset: chunk.to_bytes(),
        },
        DecodeError::LeafNotFound(chunk) => BlobError::Truncated {
            offset: chunk.to_bytes(),
        },
        DecodeError::ParentNotFound(_) => BlobError::Truncated { offset: at },
        // A parent pair that does not hash to what the level above says: the groups below it
        // (from where the decoder stands) cannot be trusted.
        DecodeError::ParentHashMismatch(_) | DecodeError::Io(_) => {
            BlobError::Mismatch { offset: at }
        }
    }
}

#[cfg(test)]
mod tests;
