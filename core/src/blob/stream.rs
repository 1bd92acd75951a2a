//! Sealing, hashing and serving a blob piece by piece, so a device never holds a whole file in
//! memory: [`Sealer`] seals a file segment by segment as the app reads it, [`TreeHasher`]
//! computes the blob's root and its [`Outboard`] (the hash tree, 64 bytes per chunk group) from
//! sealed bytes fed in order, and [`serve`] answers a request from the outboard and only the
//! bytes of the range asked for, read from wherever the device stores them.
//!
//! Why our own loop rather than `bao_tree::io::sync::outboard_post_order`: that function pulls
//! from a blocking reader, and in a browser the bytes arrive asynchronously (a `File` slice, a
//! database read). [`TreeHasher`] walks bao-tree's own post-order iterator instead, pushing one
//! chunk group at a time, with the same hashing (BLAKE3's subtree functions), so its outboard is
//! bao-tree's post-order outboard byte for byte (tested against `Holder`).

use std::io;
use std::ops::Range;

use bao_tree::io::outboard::PostOrderMemOutboard;
use bao_tree::io::sync::{ReadAt, encode_ranges_validated};
use bao_tree::iter::{BaoChunk, PostOrderChunkIter};
use bao_tree::{BaoTree, ChunkNum};
use blake3::hazmat::{
    ChainingValue, HasherExt, Mode, merge_subtrees_non_root, merge_subtrees_root,
};

use super::{
    BLOCK, BlobError, BlobId, BlobInfo, FileKey, GROUP_BYTES, SEGMENT_PLAIN_BYTES, chunk_ranges,
    seal_segment, segments, unit_range,
};

/// The hash tree of one blob: what a holder keeps beside the sealed bytes to prove any range of
/// them (64 bytes per chunk group, 0.4 % of the blob).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outboard(PostOrderMemOutboard);

impl Outboard {
    /// The blob it proves.
    pub fn info(&self) -> BlobInfo {
        BlobInfo {
            id: BlobId(*self.0.root.as_bytes()),
            size: self.0.tree.size(),
        }
    }

    /// Its hashes, to store.
    pub fn as_bytes(&self) -> &[u8] {
        &self.0.data
    }

    /// Rebuilds a stored outboard for `info`. Refuses hashes of the wrong length; hashes that
    /// were altered are caught when serving, which checks every group against them and the
    /// root ([`serve`] fails with [`BlobError::NotHeld`]).
    pub fn from_stored(info: BlobInfo, hashes: Vec<u8>) -> Result<Self, BlobError> {
        let tree = BaoTree::new(info.size, BLOCK);
        if hashes.len() as u64 != tree.outboard_size() {
            return Err(BlobError::NotHeld);
        }
        Ok(Self(PostOrderMemOutboard {
            root: blake3::Hash::from_bytes(info.id.0),
            tree,
            data: hashes,
        }))
    }
}

/// Computes a blob's root and outboard from its sealed bytes, pushed in order in slices of any
/// length.
#[derive(Debug)]
pub struct TreeHasher {
    tree: BaoTree,
    chunks: PostOrderChunkIter,
    stack: Vec<blake3::Hash>,
    hashes: Vec<u8>,
    /// Bytes of the current chunk group not yet hashed.
    group: Vec<u8>,
    fed: u64,
}

impl TreeHasher {
    /// A hasher for a sealed blob of `size` bytes.
    pub fn new(size: u64) -> Self {
        let tree = BaoTree::new(size, BLOCK);
        Self {
            tree,
            chunks: tree.post_order_chunks_iter(),
            stack: Vec::new(),
            hashes: Vec::with_capacity(usize::try_from(tree.outboard_size()).unwrap_or(0)),
            group: Vec::with_capacity(GROUP_BYTES as usize),
            fed: 0,
        }
    }

    /// Bytes fed so far.
    pub fn fed(&self) -> u64 {
        self.fed
    }

    /// Feeds the next bytes of the blob. More bytes than the blob has is
    /// [`BlobError::TrailingBytes`].
    pub fn update(&mut self, mut bytes: &[u8]) -> Result<(), BlobError> {
        if self.fed + bytes.len() as u64 > self.tree.size() {
            return Err(BlobError::TrailingBytes);
        }
        self.fed += bytes.len() as u64;
        while !bytes.is_empty() {
            let group_end = unit_range(
                (self.fed - bytes.len() as u64) / GROUP_BYTES,
                GROUP_BYTES,
                self.tree.size(),
            )
            .end;
            let want =
                usize::try_from(group_end - (self.fed - bytes.len() as u64)).unwrap_or(usize::MAX);
            let take = want.min(bytes.len());
            self.group.extend_from_slice(&bytes[..take]);
            bytes = &bytes[take..];
            if take == want {
                self.hash_group();
            }
        }
        Ok(())
    }

    /// Hashes the buffered (complete) chunk group, after the parents that come before it in
    /// post order (those that come after the last group are hashed in [`TreeHasher::finish`]).
    fn hash_group(&mut self) {
        for item in self.chunks.by_ref() {
            match item {
                BaoChunk::Parent { is_root, .. } => {
                    parent(&mut self.stack, &mut self.hashes, is_root)
                }
                BaoChunk::Leaf {
                    is_root,
                    start_chunk,
                    ..
                } => {
                    self.stack
                        .push(leaf_hash(start_chunk, &self.group, is_root));
                    self.group.clear();
                    return;
                }
            }
        }
    }

    /// The root and outboard, once every byte was fed; fewer is [`BlobError::Truncated`].
    pub fn finish(mut self) -> Result<Outboard, BlobError> {
        if self.fed != self.tree.size() {
            return Err(BlobError::Truncated { offset: self.fed });
        }
        if self.tree.size() == 0 {
            // The empty blob is one empty leaf.
            self.hash_group();
        }
        for item in self.chunks.by_ref() {
            if let BaoChunk::Parent { is_root, .. } = item {
                parent(&mut self.stack, &mut self.hashes, is_root);
            }
        }
        let [root] = self.stack[..] else {
            return Err(BlobError::Truncated { offset: self.fed });
        };
        Ok(Outboard(PostOrderMemOutboard {
            root,
            tree: self.tree,
            data: self.hashes,
        }))
    }
}

/// Pops two children, records them in the outboard and pushes their parent.
fn parent(stack: &mut Vec<blake3::Hash>, hashes: &mut Vec<u8>, is_root: bool) {
    let (Some(right), Some(left)) = (stack.pop(), stack.pop()) else {
        return;
    };
    hashes.extend_from_slice(left.as_bytes());
    hashes.extend_from_slice(right.as_bytes());
    let left: ChainingValue = *left.as_bytes();
    let right: ChainingValue = *right.as_bytes();
    stack.push(if is_root {
        merge_subtrees_root(&left, &right, Mode::Hash)
    } else {
        blake3::Hash::from(merge_subtrees_non_root(&left, &right, Mode::Hash))
    });
}

fn leaf_hash(start: ChunkNum, data: &[u8], is_root: bool) -> blake3::Hash {
    if is_root {
        return blake3::hash(data);
    }
    let mut hasher = blake3::Hasher::new();
    hasher.set_input_offset(start.0 * 1024);
    hasher.update(data);
    blake3::Hash::from(hasher.finalize_non_root())
}

/// The bytes of one requested range, readable at their offsets in the blob (what [`serve`]
/// reads; nothing outside the range is ever asked for, and is refused if it were).
struct Window<'a> {
    start: u64,
    bytes: &'a [u8],
}

impl ReadAt for Window<'_> {
    fn read_at(&self, pos: u64, buf: &mut [u8]) -> io::Result<usize> {
        let outside = || io::Error::new(io::ErrorKind::UnexpectedEof, "outside the range held");
        let from = pos.checked_sub(self.start).ok_or_else(outside)?;
        let from = usize::try_from(from).map_err(|_| outside())?;
        let available = self.bytes.get(from..).ok_or_else(outside)?;
        let n = available.len().min(buf.len());
        buf[..n].copy_from_slice(&available[..n]);
        Ok(n)
    }
}

/// The verified-streaming answer for `range` of the blob `outboard` proves, from `bytes`, the
/// sealed bytes of exactly that range. The bytes are checked against the tree on the way out:
/// a copy that rotted, or bytes of the wrong length, are [`BlobError::NotHeld`] and are not
/// served.
pub fn serve(outboard: &Outboard, range: Range<u64>, bytes: &[u8]) -> Result<Vec<u8>, BlobError> {
    let chunks = chunk_ranges(&range, outboard.0.tree.size())?;
    if bytes.len() as u64 != range.end - range.start {
        return Err(BlobError::NotHeld);
    }
    let window = Window {
        start: range.start,
        bytes,
    };
    let mut out = Vec::new();
    encode_ranges_validated(window, &outboard.0, &chunks, &mut out)
        .map_err(|_| BlobError::NotHeld)?;
    Ok(out)
}

/// Seals a file segment by segment, in order, as the app reads it, and hashes the sealed bytes
/// as they are made: publishing never holds more than one segment.
#[derive(Debug)]
pub struct Sealer {
    key: FileKey,
    plain_len: u64,
    next: u64,
    hasher: TreeHasher,
}

impl Sealer {
    /// Starts sealing a file of `plain_len` bytes under `key`; over the cap is
    /// [`BlobError::TooLarge`].
    pub fn new(key: FileKey, plain_len: u64) -> Result<Self, BlobError> {
        if plain_len > super::MAX_FILE_BYTES {
            return Err(BlobError::TooLarge(plain_len));
        }
        Ok(Self {
            key,
            plain_len,
            next: 0,
            hasher: TreeHasher::new(super::sealed_len(plain_len)),
        })
    }

    /// The plaintext bytes of the file to read next (`None` once every segment is sealed).
    pub fn next_plain(&self) -> Option<Range<u64>> {
        (self.next < segments(self.plain_len))
            .then(|| unit_range(self.next, SEGMENT_PLAIN_BYTES, self.plain_len))
    }

    /// Seals the next segment (`plain` = the bytes [`Sealer::next_plain`] named) and returns
    /// its sealed bytes, which start at `index * SEGMENT_BYTES` of the blob.
    pub fn push(&mut self, plain: &[u8]) -> Result<(u64, Vec<u8>), BlobError> {
        let index = self.next;
        let sealed = seal_segment(&self.key, self.plain_len, index, plain)?;
        self.hasher.update(&sealed)?;
        self.next += 1;
        Ok((index, sealed))
    }

    /// The blob's root and outboard, once every segment was pushed.
    pub fn finish(self) -> Result<Outboard, BlobError> {
        self.hasher.finish()
    }
}
