//! Shared files on this device: which pieces of a blob are stored, which pieces a request's
//! range needs and how to cut the range out of them, how a file being sealed is cut into
//! pieces, and whether the device has room for a file. Plain Rust, tested natively; the
//! storage and network drivers only carry these decisions out.
//!
//! The unit of storage is the download's piece ([`PIECE_BYTES`], four sealed segments): a
//! download stores each verified piece as it arrives, a publisher stores the file it seals a
//! piece at a time, and a holder answers a range from the pieces that cover it. So no file is
//! ever read, written or served whole.

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::ops::Range;

pub use quire_core::blob::download::PIECE_BYTES;
use quire_core::blob::{BlobId, BlobInfo, SEGMENT_BYTES};
use quire_core::page::body::{MAX_FILE_NAME_BYTES, MAX_MIME_BYTES};

/// The text form of a blob id (storage key, element ids): lower-case hex.
pub fn blob_key(id: &BlobId) -> String {
    hex::encode(id.0)
}

/// The blob id a [`blob_key`] names (`None` for anything else).
pub fn parse_blob_key(key: &str) -> Option<BlobId> {
    let bytes: [u8; 32] = hex::decode(key).ok()?.try_into().ok()?;
    Some(BlobId(bytes))
}

/// Pieces of a sealed blob of `size` bytes (the last may be short; a blob is never empty).
pub fn piece_count(size: u64) -> u64 {
    size.div_ceil(PIECE_BYTES)
}

/// Bytes of piece `index` of a blob of `size` bytes.
pub fn piece_range(index: u64, size: u64) -> Range<u64> {
    let start = index.saturating_mul(PIECE_BYTES).min(size);
    start..start.saturating_add(PIECE_BYTES).min(size)
}

/// The indices of the pieces holding the bytes of `range`.
pub fn pieces_covering(range: &Range<u64>) -> Range<u64> {
    if range.start >= range.end {
        return 0..0;
    }
    range.start / PIECE_BYTES..range.end.div_ceil(PIECE_BYTES)
}

/// Which pieces of one blob are stored: a bit per piece, as the blob record keeps it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PieceSet {
    bits: Vec<u8>,
    total: u64,
}

impl PieceSet {
    /// No piece of a blob of `size` bytes.
    pub fn empty(size: u64) -> Self {
        let total = piece_count(size);
        Self {
            bits: vec![0; usize::try_from(total.div_ceil(8)).unwrap_or(0)],
            total,
        }
    }

    /// The set a blob record stored: bits past the blob's last piece, or missing bytes, are
    /// read as "not stored" (a damaged record costs a re-download, never a wrong answer).
    pub fn from_stored(size: u64, bits: &[u8]) -> Self {
        let mut set = Self::empty(size);
        for index in 0..set.total {
            if bit(bits, index) {
                set.insert(index);
            }
        }
        set
    }

    /// The bytes to store.
    pub fn as_bytes(&self) -> &[u8] {
        &self.bits
    }

    pub fn insert(&mut self, index: u64) {
        if index < self.total
            && let Some(byte) = self
                .bits
                .get_mut(usize::try_from(index / 8).unwrap_or(usize::MAX))
        {
            *byte |= 1 << (index % 8);
        }
    }

    pub fn contains(&self, index: u64) -> bool {
        index < self.total && bit(&self.bits, index)
    }

    /// Stored pieces, in order.
    pub fn iter(&self) -> impl Iterator<Item = u64> + '_ {
        (0..self.total).filter(|&i| bit(&self.bits, i))
    }

    /// Number of stored pieces.
    pub fn len(&self) -> u64 {
        self.iter().count() as u64
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Whether every piece is stored.
    pub fn is_full(&self) -> bool {
        self.len() == self.total
    }

    /// Whether every piece covering `range` is stored.
    pub fn covers(&self, range: &Range<u64>) -> bool {
        pieces_covering(range).all(|i| self.contains(i))
    }
}

fn bit(bits: &[u8], index: u64) -> bool {
    usize::try_from(index / 8)
        .ok()
        .and_then(|byte| bits.get(byte))
        .is_some_and(|byte| byte & (1 << (index % 8)) != 0)
}

/// Why stored pieces could not answer a range.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WindowError {
    /// A piece the range needs is not stored (or was read back with the wrong length).
    #[error("piece {0} of the file is not stored here")]
    Missing(u64),
}

/// The sealed bytes of `range` of a blob of `size` bytes, cut from the stored `pieces`
/// (`(index, bytes)`, in any order; extra pieces are ignored).
pub fn window(
    range: &Range<u64>,
    size: u64,
    pieces: &[(u64, &[u8])],
) -> Result<Vec<u8>, WindowError> {
    let mut out = Vec::with_capacity(usize::try_from(range.end - range.start).unwrap_or(0));
    for index in pieces_covering(range) {
        let held = piece_range(index, size);
        let bytes = pieces
            .iter()
            .find(|(i, _)| *i == index)
            .map(|(_, bytes)| *bytes)
            .filter(|bytes| bytes.len() as u64 == held.end - held.start)
            .ok_or(WindowError::Missing(index))?;
        let from = range.start.max(held.start) - held.start;
        let to = range.end.min(held.end) - held.start;
        out.extend_from_slice(&bytes[from as usize..to as usize]);
    }
    Ok(out)
}

/// Gathers the sealed segments a publisher makes (in order) into pieces to store.
#[derive(Debug)]
pub struct PieceBuffer {
    size: u64,
    next: u64,
    bytes: Vec<u8>,
}

impl PieceBuffer {
    /// For a sealed blob of `size` bytes.
    pub fn new(size: u64) -> Self {
        Self {
            size,
            next: 0,
            bytes: Vec::with_capacity(PIECE_BYTES as usize),
        }
    }

    /// Adds sealed segment `index` (they come in order); returns a piece once one is whole
    /// (the last piece once the last segment is in).
    pub fn push(&mut self, index: u64, sealed: &[u8]) -> Option<(u64, Vec<u8>)> {
        debug_assert_eq!(
            index * SEGMENT_BYTES,
            self.next * PIECE_BYTES + self.bytes.len() as u64
        );
        self.bytes.extend_from_slice(sealed);
        let want = piece_range(self.next, self.size);
        if self.bytes.len() as u64 >= want.end - want.start {
            let piece =
                std::mem::replace(&mut self.bytes, Vec::with_capacity(PIECE_BYTES as usize));
            self.next += 1;
            return Some((self.next - 1, piece));
        }
        None
    }
}

/// What the browser says about this site's storage (`navigator.storage.estimate()`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Space {
    pub usage: u64,
    pub quota: u64,
}

/// Space left free beyond a file, so that messages can still be saved once it is stored.
/// Why 32 MiB: months of messages in busy rooms, and small next to any real quota.
pub const KEEP_FREE_BYTES: u64 = 32 << 20;

/// Why a file cannot be stored here.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum NoRoom {
    #[error(
        "Not enough space on this device: the file needs {}, and only {} is free for Quire.",
        human_size(*needed),
        human_size(*free)
    )]
    Needed { needed: u64, free: u64 },
}

/// Whether `needed` more bytes fit, keeping [`KEEP_FREE_BYTES`] free. Without an estimate
/// (`None`: the browser gives none) the write is tried and a quota error reported if it comes.
pub fn room_for(needed: u64, space: Option<Space>) -> Result<(), NoRoom> {
    let Some(space) = space else { return Ok(()) };
    let free = space.quota.saturating_sub(space.usage);
    if needed.saturating_add(KEEP_FREE_BYTES) > free {
        return Err(NoRoom::Needed {
            needed,
            free: free.saturating_sub(KEEP_FREE_BYTES),
        });
    }
    Ok(())
}

/// Bytes still to store for a blob of which `have` pieces are here.
pub fn still_needed(info: &BlobInfo, have: &PieceSet) -> u64 {
    (0..piece_count(info.size))
        .filter(|i| !have.contains(*i))
        .map(|i| {
            let r = piece_range(i, info.size);
            r.end - r.start
        })
        .sum()
}

/// A size as people read it: "512 B", "1.5 KB", "20.0 MB", "2.10 GB" (powers of 1,024, as
/// file managers show them).
pub fn human_size(bytes: u64) -> String {
    const UNITS: [&str; 4] = ["KB", "MB", "GB", "TB"];
    if bytes < 1024 {
        return format!("{bytes} B");
    }
    let mut value = bytes as f64 / 1024.0;
    let mut unit = 0;
    while value >= 1024.0 && unit + 1 < UNITS.len() {
        value /= 1024.0;
        unit += 1;
    }
    if value >= 100.0 {
        format!("{value:.0} {}", UNITS[unit])
    } else if value >= 10.0 {
        format!("{value:.1} {}", UNITS[unit])
    } else {
        format!("{value:.2} {}", UNITS[unit])
    }
}

/// What this device is doing with one blob, for its file card.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Transfer {
    /// Fetching from holders: `done` of `total` pieces, from `sources` holders now, at `rate`
    /// bytes per second over this run (0 until a piece arrived).
    Downloading {
        done: u64,
        total: u64,
        sources: usize,
        rate: u64,
        /// Seconds left at that rate (`None` until known).
        left_s: Option<u64>,
    },
    /// Stopped by the user at `done` of `total` pieces (stored pieces kept).
    Paused { done: u64, total: u64 },
    /// Assembling the file to save it.
    Saving,
    /// Stopped; the sentence says why and what to do (stored pieces are kept).
    Failed(String),
}

/// Runs of downloads kept for the inspector. Why: a few files' worth of history; older runs
/// are dropped first.
pub const MAX_DOWNLOAD_RUNS: usize = 16;

/// What one run of a download (from its start or resume to its end) asked holders for and
/// stored, as the inspector shows it: how a resumed download shows that it fetches none of
/// the pieces it had stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DownloadRun {
    /// Blob key.
    pub blob: String,
    /// File name, as its page names it.
    pub name: String,
    /// Pieces in the file.
    pub total: u64,
    /// Pieces already stored here when the run started.
    pub stored_at_start: u64,
    /// Requests sent to holders (a piece asked again after a timeout or a lie counts again).
    pub asked: u64,
    /// Requests for a piece that was stored here when it was asked: always 0 unless the
    /// download forgot what it stored.
    pub asked_for_stored: u64,
    /// Pieces this run verified and stored.
    pub fetched: u64,
    /// Whether the run ended with the whole file here.
    pub complete: bool,
}

impl DownloadRun {
    /// A run of `name` (`total` pieces) starting with `stored` pieces here.
    pub fn start(blob: String, name: String, stored: &PieceSet) -> Self {
        Self {
            blob,
            name,
            total: stored.total,
            stored_at_start: stored.len(),
            asked: 0,
            asked_for_stored: 0,
            fetched: 0,
            complete: false,
        }
    }

    /// A request for piece `index` was sent; `stored` is what is stored here now.
    pub fn asked(&mut self, index: u64, stored: &PieceSet) {
        self.asked += 1;
        if stored.contains(index) {
            self.asked_for_stored += 1;
        }
    }
}

/// The latest download runs of this tab, newest last, at most [`MAX_DOWNLOAD_RUNS`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DownloadRuns {
    runs: VecDeque<(u64, DownloadRun)>,
    next: u64,
}

impl DownloadRuns {
    /// Records a new run; returns its handle for [`Self::update`].
    pub fn begin(&mut self, run: DownloadRun) -> u64 {
        let id = self.next;
        self.next += 1;
        if self.runs.len() == MAX_DOWNLOAD_RUNS {
            self.runs.pop_front();
        }
        self.runs.push_back((id, run));
        id
    }

    /// Changes run `id`, if it is still kept.
    pub fn update(&mut self, id: u64, change: impl FnOnce(&mut DownloadRun)) {
        if let Some((_, run)) = self.runs.iter_mut().find(|(i, _)| *i == id) {
            change(run);
        }
    }

    /// The kept runs, newest first.
    pub fn newest_first(&self) -> Vec<DownloadRun> {
        self.runs.iter().rev().map(|(_, run)| run.clone()).collect()
    }
}

/// A file being sealed into storage to be shared (its address is known only at the end).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sharing {
    pub id: u64,
    pub name: String,
    /// Bytes read of `total` (the file is read twice: see the files driver).
    pub done: u64,
    pub total: u64,
}

/// Shared files on this device: what the file cards and the composer show.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FilesHere {
    /// Blobs held whole here (keys): served to members, saved without a download.
    pub held: BTreeSet<String>,
    /// Downloads under way, saving, or stopped, by blob key.
    pub transfers: BTreeMap<String, Transfer>,
    /// Files being shared from this device.
    pub sharing: Vec<Sharing>,
}

/// What a file card offers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CardState {
    /// Held here: save it (open it).
    Held,
    /// Moving: a percentage and what is happening (a download can be paused or cancelled).
    Moving {
        percent: u8,
        label: String,
        downloading: bool,
    },
    /// Paused at a percentage: resume or cancel.
    Paused { percent: u8 },
    /// Stopped with a reason; it can be tried again.
    Failed(String),
    /// Not here; `online` holders could send it now (0: greyed out).
    Available { online: usize },
}

impl FilesHere {
    /// The card of `file` (`online`: its holders linked now).
    pub fn card(&self, blob: &str, online: usize) -> CardState {
        if let Some(transfer) = self.transfers.get(blob) {
            return match transfer {
                Transfer::Downloading {
                    done,
                    total,
                    sources,
                    rate,
                    left_s,
                } => CardState::Moving {
                    percent: percent(*done, *total),
                    label: match sources {
                        0 => "Waiting for someone who has it to come online".to_owned(),
                        n => {
                            let from = match n {
                                1 => "Downloading from 1 member".to_owned(),
                                n => format!("Downloading from {n} members"),
                            };
                            match (rate, left_s) {
                                (0, _) => from,
                                (rate, None) => format!("{from} · {}/s", human_size(*rate)),
                                (rate, Some(left)) => format!(
                                    "{from} · {}/s · {}",
                                    human_size(*rate),
                                    time_left(*left)
                                ),
                            }
                        }
                    },
                    downloading: true,
                },
                Transfer::Paused { done, total } => CardState::Paused {
                    percent: percent(*done, *total),
                },
                Transfer::Saving => CardState::Moving {
                    percent: 100,
                    label: "Preparing the file".to_owned(),
                    downloading: false,
                },
                Transfer::Failed(why) => CardState::Failed(why.clone()),
            };
        }
        if self.held.contains(blob) {
            return CardState::Held;
        }
        CardState::Available { online }
    }
}

/// Transfer speed and time left from `stored` bytes stored in `elapsed_ms` of this run, with
/// `remaining` bytes to go: `(bytes per second, seconds left)`; nothing before a first piece.
pub fn pace(stored: u64, elapsed_ms: u64, remaining: u64) -> (u64, Option<u64>) {
    if stored == 0 || elapsed_ms == 0 {
        return (0, None);
    }
    let rate = stored.saturating_mul(1000) / elapsed_ms;
    if rate == 0 {
        return (0, None);
    }
    (rate, Some(remaining.div_ceil(rate)))
}

/// "12 s left", "3 min left", "2 h 5 min left".
pub fn time_left(seconds: u64) -> String {
    match seconds {
        0..=59 => format!("{seconds} s left"),
        60..=3599 => format!("{} min left", seconds.div_ceil(60)),
        _ => format!("{} h {} min left", seconds / 3600, seconds % 3600 / 60),
    }
}

/// `done` of `total` as a whole percentage (100 when there is nothing to do).
pub fn percent(done: u64, total: u64) -> u8 {
    if total == 0 {
        return 100;
    }
    u8::try_from(done.min(total) * 100 / total).unwrap_or(100)
}

/// A symbol for a file's type, on its card.
pub fn type_icon(mime: &str) -> &'static str {
    match mime.split('/').next().unwrap_or_default() {
        "image" => "🖼️",
        "video" => "🎞️",
        "audio" => "🎵",
        "text" => "📝",
        _ if mime == "application/pdf" => "📄",
        _ if mime.contains("zip") || mime.contains("compressed") || mime.contains("tar") => "🗜️",
        _ => "📁",
    }
}

/// A file's name as its page carries it: at most [`MAX_FILE_NAME_BYTES`], cut on a character
/// boundary, never empty.
pub fn page_name(name: &str) -> String {
    let name = name.trim();
    if name.is_empty() {
        return "file".to_owned();
    }
    let mut end = name.len().min(MAX_FILE_NAME_BYTES);
    while !name.is_char_boundary(end) {
        end -= 1;
    }
    name[..end].to_owned()
}

/// A file's MIME type as its page carries it: what the browser said, or the generic type when
/// it said nothing or something too long to be a type.
pub fn page_mime(mime: &str) -> String {
    if mime.is_empty() || mime.len() > MAX_MIME_BYTES || !mime.is_ascii() {
        return "application/octet-stream".to_owned();
    }
    mime.to_owned()
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use quire_core::blob::{FileKey, Sealer, segment_range};

    use super::*;

    #[test]
    fn a_piece_set_round_trips_through_its_stored_bytes_and_ignores_stray_bits() {
        let size = 10 * PIECE_BYTES + 5;
        let mut set = PieceSet::empty(size);
        assert!(set.is_empty());
        for i in [0, 3, 10, 11, 99] {
            set.insert(i);
        }
        assert_eq!(
            set.iter().collect::<Vec<_>>(),
            [0, 3, 10],
            "11 and 99 are past the end"
        );
        let stored = PieceSet::from_stored(size, set.as_bytes());
        assert_eq!(stored, set);
        // A record with bits past the last piece, or too few bytes, is read conservatively.
        assert_eq!(PieceSet::from_stored(size, &[0xff; 9]).len(), 11);
        assert_eq!(
            PieceSet::from_stored(size, &[0b1000_0001])
                .iter()
                .collect::<Vec<_>>(),
            [0, 7]
        );
        assert!(!PieceSet::from_stored(size, &[]).contains(0));
        let mut full = PieceSet::empty(size);
        (0..11).for_each(|i| full.insert(i));
        assert!(full.is_full());
        assert!(full.covers(&(PIECE_BYTES..size)));
        assert!(!set.covers(&(PIECE_BYTES..2 * PIECE_BYTES + 1)));
    }

    #[test]
    fn a_window_is_cut_from_exactly_the_pieces_that_cover_it() {
        let size = 3 * PIECE_BYTES + 100;
        let blob: Vec<u8> = (0..size).map(|i| (i % 251) as u8).collect();
        let pieces: Vec<(u64, Vec<u8>)> = (0..piece_count(size))
            .map(|i| {
                let r = piece_range(i, size);
                (i, blob[r.start as usize..r.end as usize].to_vec())
            })
            .collect();
        let refs: Vec<(u64, &[u8])> = pieces.iter().map(|(i, b)| (*i, b.as_slice())).collect();
        for range in [
            0..PIECE_BYTES,
            PIECE_BYTES / 2..PIECE_BYTES * 2 + 7,
            3 * PIECE_BYTES..size,
            0..size,
        ] {
            let got = window(&range, size, &refs).unwrap();
            assert!(
                got == blob[range.start as usize..range.end as usize],
                "{range:?}"
            );
        }
        // A missing piece, or one read back short, is named.
        assert_eq!(
            window(&(0..2 * PIECE_BYTES), size, &refs[..1]),
            Err(WindowError::Missing(1))
        );
        let short = [(0, &refs[0].1[1..])];
        assert_eq!(window(&(0..10), size, &short), Err(WindowError::Missing(0)));
    }

    #[test]
    fn a_sealed_file_is_cut_into_the_pieces_a_download_stores() {
        for plain_len in [0, 1, 5 * SEGMENT_BYTES, 9 * SEGMENT_BYTES + 3] {
            let plain: Vec<u8> = (0..plain_len).map(|i| i as u8).collect();
            let mut sealer = Sealer::new(FileKey::from_bytes([4; 32]), plain_len).unwrap();
            let size = quire_core::blob::sealed_len(plain_len);
            let mut buffer = PieceBuffer::new(size);
            let mut sealed = Vec::new();
            let mut pieces = Vec::new();
            while let Some(r) = sealer.next_plain() {
                let (index, bytes) = sealer
                    .push(&plain[r.start as usize..r.end as usize])
                    .unwrap();
                assert_eq!(segment_range(index, size).start, sealed.len() as u64);
                sealed.extend_from_slice(&bytes);
                pieces.extend(buffer.push(index, &bytes));
            }
            assert_eq!(pieces.len() as u64, piece_count(size), "{plain_len}");
            for (index, bytes) in &pieces {
                let r = piece_range(*index, size);
                assert!(bytes[..] == sealed[r.start as usize..r.end as usize]);
            }
        }
    }

    #[test]
    fn a_file_is_refused_when_it_would_leave_too_little_space() {
        let space = Some(Space {
            usage: 100 << 20,
            quota: 200 << 20,
        });
        assert_eq!(room_for(60 << 20, space), Ok(()));
        let refused = room_for(90 << 20, space).unwrap_err();
        assert_eq!(
            refused,
            NoRoom::Needed {
                needed: 90 << 20,
                free: 68 << 20
            }
        );
        assert_eq!(
            refused.to_string(),
            "Not enough space on this device: the file needs 90.0 MB, and only 68.0 MB is free for Quire."
        );
        assert_eq!(room_for(u64::MAX, None), Ok(()), "no estimate: try and see");
        let info = BlobInfo {
            id: BlobId([0; 32]),
            size: 2 * PIECE_BYTES + 10,
        };
        let mut have = PieceSet::empty(info.size);
        have.insert(1);
        assert_eq!(still_needed(&info, &have), PIECE_BYTES + 10);
    }

    #[test]
    fn a_blob_key_reads_back_as_its_blob_and_nothing_else_does() {
        let id = BlobId([0xab; 32]);
        assert_eq!(parse_blob_key(&blob_key(&id)), Some(id));
        assert_eq!(parse_blob_key("ab"), None, "too short");
        assert_eq!(parse_blob_key(&"zz".repeat(32)), None, "not hex");
    }

    #[test]
    fn sizes_read_like_a_file_manager() {
        assert_eq!(human_size(0), "0 B");
        assert_eq!(human_size(1023), "1023 B");
        assert_eq!(human_size(1536), "1.50 KB");
        assert_eq!(human_size(20 << 20), "20.0 MB");
        assert_eq!(human_size(300 << 20), "300 MB");
        assert_eq!(human_size(2 << 30), "2.00 GB");
    }

    #[test]
    fn a_card_says_what_the_device_does_with_the_file() {
        let mut here = FilesHere::default();
        assert_eq!(here.card("b", 0), CardState::Available { online: 0 });
        assert_eq!(here.card("b", 2), CardState::Available { online: 2 });
        here.transfers.insert(
            "b".into(),
            Transfer::Downloading {
                done: 3,
                total: 12,
                sources: 2,
                rate: 3 << 20,
                left_s: Some(75),
            },
        );
        assert_eq!(
            here.card("b", 2),
            CardState::Moving {
                percent: 25,
                label: "Downloading from 2 members · 3.00 MB/s · 2 min left".into(),
                downloading: true,
            }
        );
        here.transfers
            .insert("b".into(), Transfer::Paused { done: 6, total: 12 });
        assert_eq!(here.card("b", 2), CardState::Paused { percent: 50 });
        here.transfers.insert(
            "b".into(),
            Transfer::Downloading {
                done: 3,
                total: 12,
                sources: 0,
                rate: 0,
                left_s: None,
            },
        );
        assert!(
            matches!(here.card("b", 0), CardState::Moving { label, .. } if label.contains("Waiting"))
        );
        here.transfers.remove("b");
        here.held.insert("b".into());
        assert_eq!(here.card("b", 0), CardState::Held);
    }

    #[test]
    fn speed_and_time_left_come_from_this_runs_pieces() {
        assert_eq!(pace(0, 1000, 100), (0, None), "nothing stored yet");
        assert_eq!(pace(2 << 20, 2000, 10 << 20), (1 << 20, Some(10)));
        assert_eq!(pace(1, 10_000, 5), (0, None), "under a byte a second");
        assert_eq!(time_left(0), "0 s left");
        assert_eq!(time_left(59), "59 s left");
        assert_eq!(time_left(61), "2 min left");
        assert_eq!(time_left(7_500), "2 h 5 min left");
    }

    #[test]
    fn names_and_types_fit_the_file_page() {
        assert_eq!(page_name("  report.pdf "), "report.pdf");
        assert_eq!(page_name(""), "file");
        let long = "é".repeat(200);
        let cut = page_name(&long);
        assert!(cut.len() <= MAX_FILE_NAME_BYTES && cut.chars().all(|c| c == 'é'));
        assert_eq!(page_mime("image/png"), "image/png");
        assert_eq!(page_mime(""), "application/octet-stream");
        assert_eq!(page_mime(&"x".repeat(200)), "application/octet-stream");
    }

    #[test]
    fn a_download_run_counts_a_request_for_a_stored_piece_and_what_it_fetched() {
        let size = 10 * PIECE_BYTES;
        let mut stored = PieceSet::empty(size);
        for i in [0, 1, 2] {
            stored.insert(i);
        }
        let mut run = DownloadRun::start("b".into(), "scan.bin".into(), &stored);
        assert_eq!((run.total, run.stored_at_start), (10, 3));
        run.asked(3, &stored);
        run.asked(3, &stored);
        assert_eq!(
            (run.asked, run.asked_for_stored),
            (2, 0),
            "asked twice, stored never"
        );
        stored.insert(3);
        run.fetched += 1;
        // Asking again for a piece stored by this very run counts too.
        run.asked(3, &stored);
        run.asked(1, &stored);
        assert_eq!((run.asked, run.asked_for_stored, run.fetched), (4, 2, 1));
    }

    #[test]
    fn download_runs_keep_the_newest_and_update_only_a_kept_run() {
        let stored = PieceSet::empty(PIECE_BYTES);
        let mut runs = DownloadRuns::default();
        let first = runs.begin(DownloadRun::start("0".into(), "f0".into(), &stored));
        for i in 1..=MAX_DOWNLOAD_RUNS {
            runs.begin(DownloadRun::start(i.to_string(), format!("f{i}"), &stored));
        }
        let kept = runs.newest_first();
        assert_eq!(kept.len(), MAX_DOWNLOAD_RUNS);
        assert_eq!(kept[0].name, format!("f{MAX_DOWNLOAD_RUNS}"));
        assert_eq!(
            kept[MAX_DOWNLOAD_RUNS - 1].name,
            "f1",
            "the oldest went first"
        );
        runs.update(first, |run| run.fetched = 7);
        assert!(runs.newest_first().iter().all(|run| run.fetched == 0));
        let last = runs.begin(DownloadRun::start("x".into(), "fx".into(), &stored));
        runs.update(last, |run| run.complete = true);
        assert!(runs.newest_first()[0].complete);
    }
}
