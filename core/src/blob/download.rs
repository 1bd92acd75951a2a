//! One blob's download from every holder online at once: which piece to ask whom, when to ask
//! someone else, and whom never to ask again. Sans-IO: the driver reports holders coming and
//! going and the responses it got, asks [`Download::requests`] what to send on each tick, and
//! stores the pieces [`Download::response`] hands back (they are verified).
//!
//! - **Pieces** of [`PIECE_BYTES`] (4 segments) are the unit of work; a download that resumes
//!   after a reload starts from the pieces already stored ([`Download::new`]).
//! - **Multi-source**: each holder gets up to [`MAX_IN_FLIGHT`] pieces at once, lowest missing
//!   first, so a fast holder takes more of the file than a slow one.
//! - **Work stealing**: when nothing is left unasked, an idle holder also asks for a piece that
//!   has been in flight elsewhere for [`STEAL_AFTER_MS`]; the first verified answer wins.
//! - **Timeouts**: a request unanswered for [`REQUEST_TIMEOUT_MS`] is given up (the piece is
//!   asked elsewhere); a holder that times out [`MAX_TIMEOUTS`] times in a row is set aside.
//! - **Liars**: a response that fails verification ([`super::decode`]) marks its holder as
//!   lying for the rest of the download; the piece is asked elsewhere. So is a holder that
//!   says it does not hold the blob.

use std::collections::{BTreeMap, BTreeSet};
use std::ops::Range;

use super::{BlobError, BlobInfo, MAX_RANGE_BYTES, SEGMENT_BYTES, decode};

/// Bytes one request asks for: four sealed segments.
pub const PIECE_BYTES: u64 = 4 * SEGMENT_BYTES;
const _: () = assert!(PIECE_BYTES <= MAX_RANGE_BYTES);

/// Requests in flight per holder. Why: each request is a stream of its own and the holder
/// reads its piece from storage before answering, so a few must overlap to keep a WebRTC
/// channel busy (4 × 256 KiB = 1 MiB, the streams' send high-water mark); few enough that a
/// holder that stalls holds back little (its pieces are stolen after `STEAL_AFTER_MS`).
pub const MAX_IN_FLIGHT: usize = 4;

/// A piece in flight this long may also be asked of an idle holder.
pub const STEAL_AFTER_MS: u64 = 3_000;

/// A request unanswered this long is given up.
pub const REQUEST_TIMEOUT_MS: u64 = 20_000;

/// Timeouts in a row after which a holder is set aside for this download.
pub const MAX_TIMEOUTS: u32 = 3;

/// Why a holder is no longer asked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SetAside {
    /// It sent bytes that failed verification.
    Lied(BlobError),
    /// It said it does not hold the blob.
    NotHeld,
    /// It timed out [`MAX_TIMEOUTS`] times in a row.
    Unresponsive,
    /// Its answer broke the `/quire/blob/1` framing (an unknown status, a length beyond the
    /// range's cap) or it refused a well-formed request as malformed: it is not a holder this
    /// download can use, however often it is asked.
    BrokeProtocol,
}

/// What to do with a response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Verified bytes of the sealed blob at `offset`: store them.
    Store { offset: u64, bytes: Vec<u8> },
    /// Nothing to do (the piece arrived from another holder first, or was never asked).
    Ignored,
    /// The holder is set aside for this download (say so in the inspector).
    SetAside(SetAside),
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Piece {
    Missing,
    /// Asked of these holders, each since when.
    Asked(BTreeMap<usize, u64>),
    Have,
}

#[derive(Debug, Clone)]
struct Source<P> {
    id: P,
    online: bool,
    set_aside: Option<SetAside>,
    timeouts: u32,
}

/// One blob's download.
#[derive(Debug, Clone)]
pub struct Download<P> {
    info: BlobInfo,
    pieces: Vec<Piece>,
    sources: Vec<Source<P>>,
}

impl<P: Ord + Clone> Download<P> {
    /// A download of `info`, with the pieces already stored (by index) skipped.
    pub fn new(info: BlobInfo, stored: &BTreeSet<u64>) -> Self {
        let count = info.size.div_ceil(PIECE_BYTES).max(1);
        let pieces = (0..count)
            .map(|i| {
                if stored.contains(&i) {
                    Piece::Have
                } else {
                    Piece::Missing
                }
            })
            .collect();
        Self {
            info,
            pieces,
            sources: Vec::new(),
        }
    }

    /// Sealed bytes of piece `index`.
    pub fn piece_range(&self, index: u64) -> Range<u64> {
        super::unit_range(index, PIECE_BYTES, self.info.size)
    }

    /// Whether every piece is stored.
    pub fn is_complete(&self) -> bool {
        self.pieces.iter().all(|p| *p == Piece::Have)
    }

    /// Pieces stored so far, of how many.
    pub fn progress(&self) -> (u64, u64) {
        let have = self.pieces.iter().filter(|p| **p == Piece::Have).count();
        (have as u64, self.pieces.len() as u64)
    }

    /// Holders set aside, and why.
    pub fn set_aside(&self) -> impl Iterator<Item = (&P, &SetAside)> {
        self.sources
            .iter()
            .filter_map(|s| s.set_aside.as_ref().map(|why| (&s.id, why)))
    }

    /// Whether any holder may still be asked (online and not set aside).
    pub fn has_source(&self) -> bool {
        self.sources
            .iter()
            .any(|s| s.online && s.set_aside.is_none())
    }

    fn source(&mut self, id: &P) -> usize {
        match self.sources.iter().position(|s| s.id == *id) {
            Some(at) => at,
            None => {
                self.sources.push(Source {
                    id: id.clone(),
                    online: false,
                    set_aside: None,
                    timeouts: 0,
                });
                self.sources.len() - 1
            }
        }
    }

    /// A holder of the blob is online (again).
    pub fn holder_online(&mut self, id: &P) {
        let at = self.source(id);
        self.sources[at].online = true;
    }

    /// A holder went offline: what it was asked is asked elsewhere.
    pub fn holder_gone(&mut self, id: &P) {
        let at = self.source(id);
        self.sources[at].online = false;
        self.forget(at);
    }

    /// Takes `source` off every piece it was asked for.
    fn forget(&mut self, source: usize) {
        for piece in &mut self.pieces {
            if let Piece::Asked(by) = piece {
                by.remove(&source);
                if by.is_empty() {
                    *piece = Piece::Missing;
                }
            }
        }
    }

    fn in_flight(&self, source: usize) -> usize {
        self.pieces
            .iter()
            .filter(|p| matches!(p, Piece::Asked(by) if by.contains_key(&source)))
            .count()
    }

    /// What to send now: (holder, piece index, sealed byte range). Gives up requests that
    /// timed out first.
    pub fn requests(&mut self, now_ms: u64) -> Vec<(P, u64, Range<u64>)> {
        self.expire(now_ms);
        let mut out = Vec::new();
        for at in 0..self.sources.len() {
            if !self.sources[at].online || self.sources[at].set_aside.is_some() {
                continue;
            }
            while self.in_flight(at) < MAX_IN_FLIGHT {
                let Some(index) = self.pick(at, now_ms) else {
                    break;
                };
                match &mut self.pieces[index] {
                    Piece::Asked(by) => {
                        by.insert(at, now_ms);
                    }
                    piece => *piece = Piece::Asked(BTreeMap::from([(at, now_ms)])),
                }
                let index = index as u64;
                out.push((self.sources[at].id.clone(), index, self.piece_range(index)));
            }
        }
        out
    }

    /// The lowest missing piece, else the piece asked longest ago (past [`STEAL_AFTER_MS`])
    /// of other holders only.
    fn pick(&self, source: usize, now_ms: u64) -> Option<usize> {
        if let Some(index) = self.pieces.iter().position(|p| *p == Piece::Missing) {
            return Some(index);
        }
        self.pieces
            .iter()
            .enumerate()
            .filter_map(|(i, p)| match p {
                Piece::Asked(by) if !by.contains_key(&source) => {
                    let since = by.values().copied().min()?;
                    (now_ms.saturating_sub(since) >= STEAL_AFTER_MS).then_some((since, i))
                }
                _ => None,
            })
            .min()
            .map(|(_, i)| i)
    }

    fn expire(&mut self, now_ms: u64) {
        let mut timed_out = BTreeSet::new();
        for piece in &mut self.pieces {
            if let Piece::Asked(by) = piece {
                by.retain(|source, since| {
                    let alive = now_ms.saturating_sub(*since) < REQUEST_TIMEOUT_MS;
                    if !alive {
                        timed_out.insert(*source);
                    }
                    alive
                });
                if by.is_empty() {
                    *piece = Piece::Missing;
                }
            }
        }
        for at in timed_out {
            let source = &mut self.sources[at];
            source.timeouts += 1;
            if source.timeouts >= MAX_TIMEOUTS && source.set_aside.is_none() {
                source.set_aside = Some(SetAside::Unresponsive);
                self.forget(at);
            }
        }
    }

    /// `holder` answered the request for piece `index` with `response` (the verified-streaming
    /// bytes), or `None` if it said it does not hold the blob.
    pub fn response(&mut self, holder: &P, index: u64, response: Option<&[u8]>) -> Outcome {
        let at = self.source(holder);
        let Some(piece) = usize::try_from(index)
            .ok()
            .filter(|i| *i < self.pieces.len())
        else {
            return Outcome::Ignored;
        };
        let asked = matches!(&self.pieces[piece], Piece::Asked(by) if by.contains_key(&at));
        if !asked || self.sources[at].set_aside.is_some() {
            return Outcome::Ignored;
        }
        let Some(response) = response else {
            return self.put_aside(at, SetAside::NotHeld);
        };
        let range = self.piece_range(index);
        match decode(&self.info, range.clone(), response) {
            Ok(bytes) => {
                self.sources[at].timeouts = 0;
                self.pieces[piece] = Piece::Have;
                Outcome::Store {
                    offset: range.start,
                    bytes,
                }
            }
            Err(error) => self.put_aside(at, SetAside::Lied(error)),
        }
    }

    /// `holder` answered the request for piece `index` outside the protocol
    /// ([`SetAside::BrokeProtocol`]): it is set aside like a holder that lied, and its pieces
    /// are asked elsewhere. An answer for a piece not asked of it is ignored.
    pub fn broke_protocol(&mut self, holder: &P, index: u64) -> Outcome {
        let at = self.source(holder);
        let asked = usize::try_from(index)
            .ok()
            .and_then(|i| self.pieces.get(i))
            .is_some_and(|p| matches!(p, Piece::Asked(by) if by.contains_key(&at)));
        if !asked || self.sources[at].set_aside.is_some() {
            return Outcome::Ignored;
        }
        self.put_aside(at, SetAside::BrokeProtocol)
    }

    /// The request for piece `index` to `holder` failed without an answer (the stream could
    /// not be opened, or broke): the piece is asked elsewhere (or of it again), and the failure
    /// counts like a timeout, so a holder that keeps failing is set aside.
    pub fn failed(&mut self, holder: &P, index: u64) {
        let at = self.source(holder);
        let Some(Piece::Asked(by)) = usize::try_from(index)
            .ok()
            .and_then(|i| self.pieces.get_mut(i))
        else {
            return;
        };
        if by.remove(&at).is_none() {
            return;
        }
        if by.is_empty() {
            self.pieces[index as usize] = Piece::Missing;
        }
        let source = &mut self.sources[at];
        source.timeouts += 1;
        if source.timeouts >= MAX_TIMEOUTS && source.set_aside.is_none() {
            source.set_aside = Some(SetAside::Unresponsive);
            self.forget(at);
        }
    }

    /// Gives holders set aside as [`SetAside::Unresponsive`] another chance (their timeout
    /// count starts again): for when no other source is left and they are still online, since
    /// a holder that was busy or briefly cut off would otherwise never be asked again in this
    /// download. Liars, holders that broke the protocol and holders that said they hold nothing
    /// stay set aside. Returns whether
    /// any holder came back.
    pub fn retry_unresponsive(&mut self) -> bool {
        let mut any = false;
        for source in &mut self.sources {
            if source.set_aside == Some(SetAside::Unresponsive) {
                source.set_aside = None;
                source.timeouts = 0;
                any = true;
            }
        }
        any
    }

    fn put_aside(&mut self, at: usize, why: SetAside) -> Outcome {
        self.sources[at].set_aside = Some(why.clone());
        self.forget(at);
        Outcome::SetAside(why)
    }
}

#[cfg(test)]
mod tests;
