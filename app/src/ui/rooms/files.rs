//! Shared files in the controller: sharing a picked file into the open room, downloading a
//! file from every holder online (core's `Download` decides whom to ask for what; this only
//! carries it out), saving a held file, and answering other members' `/quire/blob/1`
//! requests for blobs held here.

use std::collections::BTreeSet;

use futures::StreamExt as _;
use futures::channel::mpsc;
use futures::{AsyncReadExt as _, FutureExt as _, SinkExt as _};
use leptos::prelude::*;
use libp2p::{PeerId, Stream};
use quire_core::blob::download::{Download, Outcome, REQUEST_TIMEOUT_MS, SetAside};
use quire_core::blob::wire::{BlobRequest, REQUEST_LEN, Status};
use quire_core::blob::{BlobId, FileKey, TreeHasher};
use quire_core::identity::UserId;
use quire_core::page::FileBody;

use super::net::{peer_of, user_of};
use super::{Rooms, now_ms};
use crate::files::{self, FetchError};
use crate::model::files::{
    DownloadRun, PieceSet, Sharing, Transfer, blob_key, pace, page_mime, page_name, parse_blob_key,
    piece_count, piece_range, room_for, still_needed,
};
use crate::model::ids::{parse_room_key, room_key};
use crate::model::inbound::FIRST_FRAME_DEADLINE_MS;
use crate::model::room_view::Presence;
use crate::storage::{BlobRecord, PieceRecord, Storage, StorageError};

/// How often a download looks at who is online and what to ask, while no answer comes.
const DOWNLOAD_TICK_MS: u32 = 250;

/// A download with holders online but none left to ask (all set aside for not answering)
/// gives them another chance after this long. Why: a holder that was busy or briefly cut off
/// is usually back within seconds; asking again every 5 s costs one request each.
const RETRY_UNRESPONSIVE_MS: u64 = 5_000;

/// Blob requests answered at once. Why: each holds at most one answer (about 1 MiB) in
/// memory; eight keep several downloaders busy without letting a crowd fill the tab's memory.
const MAX_SERVING: usize = 8;

/// Blob requests that may wait for a slot beyond [`MAX_SERVING`]. Why: a few downloaders'
/// worth of requests; a waiting request holds only its stream.
const MAX_WAITING: usize = 32;

/// How often a waiting request looks for a free slot.
const SLOT_POLL_MS: u32 = 20;

/// Longest one answer may take, from its request to its last byte written. Why: a piece is
/// 256 KiB; a requester that does not take it in 30 s has stopped reading (or left).
const SERVE_DEADLINE_MS: u32 = 30_000;

/// Verified pieces waiting to be stored. Why: storing runs beside fetching (a transaction per
/// piece on the download's path capped it at the storage's pace), and 16 pieces (4 MiB) keep
/// the store busy while bounding what a download holds in memory.
const STORE_QUEUE: usize = 16;

/// Most pieces stored in one transaction. Why: a transaction's fixed cost is paid once for
/// several pieces when they arrive faster than they are stored; 8 pieces is 2 MiB per write.
const STORE_BATCH: usize = 8;

/// Bytes read from the picked file between two progress updates of the composer's line.
const SHARE_PROGRESS_STEP: u64 = 4 << 20;

/// Marks the unfinished download of `blob` as paused by the user, so the next start leaves
/// it paused.
async fn keep_paused(db: &Storage, blob: &str) -> Result<(), StorageError> {
    if let Some(mut record) = db.blob(blob).await?
        && record.outboard.is_empty()
        && !record.paused
    {
        record.paused = true;
        db.save_blob(&record).await?;
    }
    Ok(())
}

fn file_key() -> Result<FileKey, String> {
    let mut key = [0u8; 32];
    getrandom::fill(&mut key)
        .map_err(|_| "this browser cannot generate secure randomness".to_owned())?;
    Ok(FileKey::from_bytes(key))
}

/// Stores the verified pieces of one download as they come, several per transaction when they
/// queue up, each batch with the record's bitmap in the same transaction (so the bitmap never
/// names a piece that is not stored). Counts the pieces stored in `written`; returns the record
/// naming every piece stored once the queue closes.
async fn store_pieces(
    db: &Storage,
    mut record: BlobRecord,
    mut pieces: PieceSet,
    mut queue: mpsc::Receiver<PieceRecord>,
    written: &std::cell::Cell<u64>,
) -> Result<BlobRecord, String> {
    while let Some(first) = queue.next().await {
        let mut batch = vec![first];
        while batch.len() < STORE_BATCH
            && let Ok(next) = queue.try_recv()
        {
            batch.push(next);
        }
        for piece in &batch {
            pieces.insert(piece.index);
        }
        record.pieces = pieces.as_bytes().to_vec();
        db.save_pieces(&record, &batch)
            .await
            .map_err(|e| e.to_string())?;
        written.set(written.get() + batch.len() as u64);
    }
    Ok(record)
}

impl Rooms {
    /// Reads which blobs are held whole here (at start).
    pub(super) async fn load_files(self) {
        let Some(db) = self.messenger.storage() else {
            return;
        };
        let blobs = match db.blobs().await {
            Ok(blobs) => blobs,
            Err(e) => {
                return self.report(
                    format!("Could not read the shared files stored here: {e}"),
                    true,
                );
            }
        };
        let (whole, partial): (Vec<BlobRecord>, Vec<BlobRecord>) =
            blobs.into_iter().partition(|b| !b.outboard.is_empty());
        self.files
            .update(|files| files.held = whole.into_iter().map(|b| b.id).collect());
        // A download the last visit did not finish goes on from the pieces it stored, in a
        // room that still names the file (none left: the pieces stay until removed), unless
        // the user paused it.
        for record in partial {
            let Some(blob) = parse_blob_key(&record.id) else {
                continue;
            };
            if record.paused {
                let pieces = PieceSet::from_stored(record.size, &record.pieces);
                let paused = Transfer::Paused {
                    done: pieces.len(),
                    total: piece_count(record.size),
                };
                self.files
                    .update(|files| drop(files.transfers.insert(record.id, paused)));
                continue;
            }
            let room = self.held.with_value(|held| {
                held.iter()
                    .find(|(_, h)| h.session.file(&blob).is_some())
                    .map(|(room, _)| room.clone())
            });
            if let Some(room) = room {
                self.download_file(room, record.id);
            }
        }
    }

    /// Deletes this device's copy of `blob` and writes "no longer held" in every room whose
    /// pages count this device as a holder.
    pub fn remove_file(self, blob: String) {
        let Some(id) = parse_blob_key(&blob) else {
            return;
        };
        let (Some(db), Some(me)) = (self.messenger.storage(), self.me()) else {
            return;
        };
        self.spawn(async move {
            if let Err(e) = db.delete_blob(&blob).await {
                return self.notice.set(Some(format!(
                    "Could not remove the file from this device: {e}"
                )));
            }
            self.outboards.get_value().forget(&blob);
            self.files.update(|f| {
                f.held.remove(&blob);
                f.transfers.remove(&blob);
            });
            let rooms: Vec<String> = self.held.with_value(|held| {
                held.iter()
                    .filter(|(_, h)| h.session.holders().of(&id).contains(&me.user_id()))
                    .map(|(room, _)| room.clone())
                    .collect()
            });
            for room in rooms {
                if let Err(why) = self.write(&room, |s, me, now, nonce| {
                    s.state_holding(me, id, false, now, nonce)
                        .map(drop)
                        .map_err(|e| e.to_string())
                }) {
                    self.report(
                        format!("Could not say that this device dropped a file: {why}"),
                        false,
                    );
                }
            }
        });
    }

    /// Shares `file` into the open room: seals it into storage, then writes its file page.
    pub fn share_file(self, file: web_sys::File) {
        if let Err(why) = self.try_share(file) {
            self.notice
                .set(Some(format!("Could not share the file: {why}")));
        }
    }

    fn try_share(self, file: web_sys::File) -> Result<(), String> {
        self.may_write()?;
        let room = self
            .selected
            .get_untracked()
            .ok_or_else(|| "Open a room first".to_owned())?;
        let db = self
            .messenger
            .storage()
            .ok_or_else(|| "Quire is still starting".to_owned())?;
        let key = file_key()?;
        let name = page_name(&file.name());
        let total = 2 * file.size() as u64;
        let id = now_ms();
        self.files.update(|f| {
            f.sharing.push(Sharing {
                id,
                name: name.clone(),
                done: 0,
                total,
            });
        });
        let files_signal = self.files;
        self.spawn(async move {
            let last = std::cell::Cell::new(0u64);
            let progress = |done: u64, total: u64| {
                if done >= last.get() + SHARE_PROGRESS_STEP || done == total {
                    last.set(done);
                    files_signal.update(|f| {
                        if let Some(s) = f.sharing.iter_mut().find(|s| s.id == id) {
                            s.done = done;
                        }
                    });
                }
            };
            let shared = files::share(&db, &file, &key, &progress).await;
            self.files.update(|f| f.sharing.retain(|s| s.id != id));
            let info = match shared {
                Ok(info) => info,
                Err(e) => {
                    return self
                        .notice
                        .set(Some(format!("Could not share “{name}”: {e}")));
                }
            };
            let body = FileBody {
                name: name.clone(),
                mime: page_mime(&file.type_()),
                size: file.size() as u64,
                blob: info.id,
                key,
                description: String::new(),
                thumbnail: files::thumbnail(&file).await,
            };
            self.files.update(|f| {
                f.held.insert(blob_key(&info.id));
            });
            if let Err(why) = self.write(&room, |s, me, now, nonce| {
                s.send_file(me, body, now, nonce)
                    .map(drop)
                    .map_err(|e| e.to_string())
            }) {
                self.notice
                    .set(Some(format!("Could not share “{name}”: {why}")));
            }
        });
        Ok(())
    }

    /// The file page naming `blob` in `room`, and the members (not this device) whose latest
    /// statement says they hold it.
    fn file_and_holders(&self, room: &str, blob: &BlobId) -> Option<(FileBody, BTreeSet<UserId>)> {
        let me = self.me()?.user_id();
        self.held.with_value(|held| {
            let session = &held.get(room)?.session;
            let file = session.file(blob)?;
            let state = session.replica().state();
            let holders = session
                .holders()
                .of(blob)
                .into_iter()
                .filter(|m| *m != me && state.is_member(m))
                .collect();
            Some((file, holders))
        })
    }

    /// Downloads the file `blob` of `room` from its holders (resuming from the pieces stored).
    pub fn download_file(self, room: String, blob: String) {
        let Some(id) = parse_blob_key(&blob) else {
            return;
        };
        let busy = self.files.with_untracked(|f| {
            f.held.contains(&blob)
                || matches!(
                    f.transfers.get(&blob),
                    Some(Transfer::Downloading { .. } | Transfer::Saving)
                )
        });
        if busy {
            return;
        }
        self.files.update(|f| {
            // A resumed download starts from where it was paused, not from 0 %.
            let (done, total) = match f.transfers.get(&blob) {
                Some(Transfer::Paused { done, total }) => (*done, *total),
                _ => (0, 0),
            };
            f.transfers.insert(
                blob.clone(),
                Transfer::Downloading {
                    done,
                    total,
                    sources: 0,
                    rate: 0,
                    left_s: None,
                },
            );
        });
        let key = blob.clone();
        let handle = self.spawn_handle(async move {
            let outcome = self.run_download(&room, id).await;
            self.downloads.update_value(|d| {
                d.remove(&blob);
            });
            self.files.update(|f| match outcome {
                Ok(()) => {
                    f.transfers.remove(&blob);
                    f.held.insert(blob.clone());
                }
                Err(why) => {
                    f.transfers.insert(blob.clone(), Transfer::Failed(why));
                }
            });
        });
        if let Some(handle) = handle {
            self.downloads.update_value(|d| {
                d.insert(key, handle);
            });
        }
    }

    /// Stops the download of `blob`: `cancel` also deletes what it stored, otherwise it is
    /// paused (Resume continues from the stored pieces).
    pub fn stop_download(self, blob: String, cancel: bool) {
        if let Some(handle) = self
            .downloads
            .try_update_value(|d| d.remove(&blob))
            .flatten()
        {
            handle.abort();
        }
        let held = self.files.with_untracked(|f| f.held.contains(&blob));
        if held {
            return;
        }
        if !cancel {
            let paused = self.files.with_untracked(|f| match f.transfers.get(&blob) {
                Some(Transfer::Downloading { done, total, .. }) => Some(Transfer::Paused {
                    done: *done,
                    total: *total,
                }),
                _ => None,
            });
            self.files.update(|f| {
                if let Some(paused) = paused {
                    f.transfers.insert(blob.clone(), paused);
                }
            });
            // Kept paused across reloads (`load_files`).
            if let Some(db) = self.messenger.storage() {
                self.spawn(async move {
                    if let Err(e) = keep_paused(&db, &blob).await {
                        self.report(format!("Could not keep the download paused: {e}"), false);
                    }
                });
            }
            return;
        }
        self.files.update(|f| {
            f.transfers.remove(&blob);
        });
        let Some(db) = self.messenger.storage() else {
            return;
        };
        self.spawn(async move {
            if let Err(e) = db.delete_blob(&blob).await {
                self.report(format!("Could not delete a cancelled download: {e}"), false);
            }
        });
    }

    /// Shows the held file `blob` of `room`: an image in the viewer, another viewable type in
    /// a new tab.
    pub fn open_file(self, room: String, blob: String) {
        let Some(id) = parse_blob_key(&blob) else {
            return;
        };
        let (Some((file, _)), Some(db)) =
            (self.file_and_holders(&room, &id), self.messenger.storage())
        else {
            return;
        };
        self.spawn(async move {
            match files::object_url(&db, &file).await {
                Ok(url) if file.mime.starts_with("image/") => {
                    self.viewer.set(Some((url, file.name.clone())));
                }
                Ok(url) => {
                    let opened = web_sys::window()
                        .and_then(|w| w.open_with_url_and_target(&url, "_blank").ok())
                        .flatten();
                    if opened.is_none() {
                        self.notice.set(Some(
                            "The browser blocked the new tab; use Save instead.".to_owned(),
                        ));
                    }
                    files::revoke_later(url);
                }
                Err(e) => self
                    .notice
                    .set(Some(format!("Could not open “{}”: {e}", file.name))),
            }
        });
    }

    async fn run_download(self, room: &str, blob: BlobId) -> Result<(), String> {
        let db = self
            .messenger
            .storage()
            .ok_or_else(|| "Quire is still starting".to_owned())?;
        let (file, _) = self
            .file_and_holders(room, &blob)
            .ok_or_else(|| "this file is no longer shared in the room".to_owned())?;
        let info = file.blob_info();
        let key = blob_key(&blob);
        let mut record = match db.blob(&key).await.map_err(|e| e.to_string())? {
            Some(record) if record.size == info.size => record,
            _ => BlobRecord {
                id: key.clone(),
                size: info.size,
                pieces: PieceSet::empty(info.size).as_bytes().to_vec(),
                outboard: Vec::new(),
                added_at_ms: js_sys::Date::now(),
                paused: false,
            },
        };
        if record.paused {
            // Resumed: a reload from here on continues it by itself.
            record.paused = false;
            db.save_blob(&record).await.map_err(|e| e.to_string())?;
        }
        let mut pieces = PieceSet::from_stored(info.size, &record.pieces);
        room_for(still_needed(&info, &pieces), files::estimate().await)
            .map_err(|e| e.to_string())?;
        let stored: BTreeSet<u64> = pieces.iter().collect();
        let mut download = Download::<PeerId>::new(info, &stored);
        let run = self.download_runs.try_update_value(|runs| {
            runs.begin(DownloadRun::start(key.clone(), file.name.clone(), &pieces))
        });
        let count = |change: &dyn Fn(&mut DownloadRun)| {
            if let Some(run) = run {
                self.download_runs
                    .update_value(|runs| runs.update(run, |r| change(r)));
            }
        };
        let (to_store, store_queue) = mpsc::channel::<PieceRecord>(STORE_QUEUE);
        let written = std::cell::Cell::new(0u64);
        let stored_at_start = pieces.len();
        let writer = store_pieces(&db, record, pieces.clone(), store_queue, &written);
        let (answers, mut answered) =
            mpsc::channel::<(PeerId, u64, Result<Option<Vec<u8>>, FetchError>)>(16);
        let mut online: BTreeSet<PeerId> = BTreeSet::new();
        let room_id = parse_room_key(room).map_err(|e| e.to_string())?;
        let started_ms = now_ms();
        let mut stored_now = 0u64;
        let mut stalled_since: Option<u64> = None;
        // The holder list, recomputed only when the room's pages changed (it opens every file
        // and holding page of the room).
        let mut holders: (Option<u64>, BTreeSet<UserId>) = (None, BTreeSet::new());
        let fetch = async {
            let mut to_store = to_store;
            while !download.is_complete() {
                let pages = self
                    .held
                    .with_value(|held| held.get(room).map(|h| h.session.replica().page_count()));
                if pages != holders.0 {
                    let now = self
                        .file_and_holders(room, &blob)
                        .map(|(_, h)| h)
                        .unwrap_or_default();
                    holders = (pages, now);
                }
                let now: BTreeSet<PeerId> = holders
                    .1
                    .iter()
                    .filter(|user| {
                        matches!(self.presence_of(user), Presence::Direct | Presence::Relayed)
                    })
                    .filter_map(peer_of)
                    .collect();
                for peer in now.difference(&online) {
                    download.holder_online(peer);
                }
                for peer in online.difference(&now) {
                    download.holder_gone(peer);
                }
                online = now;
                if online.is_empty() || download.has_source() {
                    stalled_since = None;
                } else {
                    let since = *stalled_since.get_or_insert(now_ms());
                    if now_ms().saturating_sub(since) >= RETRY_UNRESPONSIVE_MS
                        && download.retry_unresponsive()
                    {
                        stalled_since = None;
                    }
                }
                let handle = self.net.get_value().and_then(|net| net.handle());
                for (peer, index, range) in download.requests(now_ms()) {
                    let Some(handle) = handle.clone() else { break };
                    count(&|r| r.asked(index, &pieces));
                    let request = BlobRequest {
                        room: room_id,
                        blob,
                        range,
                    };
                    let mut answers = answers.clone();
                    self.spawn(async move {
                        let fetch = files::fetch(&handle, peer, &request).fuse();
                        let limit = gloo_timers::future::TimeoutFuture::new(
                            u32::try_from(REQUEST_TIMEOUT_MS).unwrap_or(u32::MAX),
                        )
                        .fuse();
                        futures::pin_mut!(fetch, limit);
                        let result = futures::select! {
                            result = fetch => result,
                            () = limit => return,
                        };
                        let _ = answers.try_send((peer, index, result));
                    });
                }
                // What is stored, not what was verified: a pause keeps exactly what it showed.
                let (_, total) = download.progress();
                let done = stored_at_start + written.get();
                let sources = online.len();
                let (rate, left_s) = pace(
                    stored_now,
                    now_ms().saturating_sub(started_ms),
                    still_needed(&info, &pieces),
                );
                self.files.update(|f| {
                    f.transfers.insert(
                        blob_key(&blob),
                        Transfer::Downloading {
                            done,
                            total,
                            sources,
                            rate,
                            left_s,
                        },
                    );
                });
                let tick = gloo_timers::future::TimeoutFuture::new(DOWNLOAD_TICK_MS).fuse();
                futures::pin_mut!(tick);
                let next = futures::select! {
                    next = answered.next() => next,
                    () = tick => None,
                };
                let Some((peer, index, result)) = next else {
                    continue;
                };
                let outcome = match result {
                    Ok(answer) => download.response(&peer, index, answer.as_deref()),
                    Err(e @ (FetchError::Wire(_) | FetchError::BadRequest)) => {
                        tracing::debug!("blob request to {peer}: {e}");
                        download.broke_protocol(&peer, index)
                    }
                    Err(e @ FetchError::Stream(_)) => {
                        tracing::debug!("blob request to {peer}: {e}");
                        download.failed(&peer, index);
                        continue;
                    }
                };
                match outcome {
                    Outcome::Store { bytes, .. } => {
                        stored_now += bytes.len() as u64;
                        pieces.insert(index);
                        count(&|r| r.fetched += 1);
                        let piece = PieceRecord {
                            blob: key.clone(),
                            index,
                            bytes,
                        };
                        // Waits while the store is behind; fails only once storing failed (its
                        // own error is the one reported).
                        if to_store.send(piece).await.is_err() {
                            return Err(String::new());
                        }
                    }
                    Outcome::SetAside(why) => {
                        let what = match why {
                            SetAside::Lied(e) => format!("sent data that does not match: {e}"),
                            SetAside::NotHeld => "does not have it".to_owned(),
                            SetAside::Unresponsive => "did not answer".to_owned(),
                            SetAside::BrokeProtocol => "answered outside the protocol".to_owned(),
                        };
                        self.report(
                            format!("Downloading “{}”: {peer} {what}; asking others", file.name),
                            false,
                        );
                    }
                    Outcome::Ignored => {}
                }
            }
            Ok(())
        };
        let (fetched, stored) = futures::join!(fetch, writer);
        let mut record = stored?;
        fetched?;
        // Every piece verified on arrival; the hash tree is computed from what is stored, so
        // what is served later is checked against the address once more.
        let mut hasher = TreeHasher::new(info.size);
        for index in 0..piece_count(info.size) {
            let piece = db
                .pieces(&key, index..index + 1)
                .await
                .map_err(|e| e.to_string())?
                .pop()
                .ok_or_else(|| "a stored piece is missing".to_owned())?;
            let range = piece_range(index, info.size);
            if piece.bytes.len() as u64 != range.end - range.start {
                return Err("a stored piece is damaged".to_owned());
            }
            hasher.update(&piece.bytes).map_err(|e| e.to_string())?;
        }
        let outboard = hasher.finish().map_err(|e| e.to_string())?;
        if outboard.info() != info {
            let _ = db.delete_blob(&key).await;
            return Err("the stored copy did not match the file; download it again".to_owned());
        }
        record.outboard = outboard.as_bytes().to_vec();
        db.save_blob(&record).await.map_err(|e| e.to_string())?;
        count(&|r| r.complete = true);
        // Say so, so that others can fetch it from here too.
        if let Err(why) = self.write(room, |s, me, now, nonce| {
            s.state_holding(me, blob, true, now, nonce)
                .map(drop)
                .map_err(|e| e.to_string())
        }) {
            self.report(
                format!("Could not say that this device holds a file: {why}"),
                false,
            );
        }
        Ok(())
    }

    /// Saves the held file `blob` of `room` to the user's disk.
    pub fn save_file(self, room: String, blob: String) {
        let Some(id) = parse_blob_key(&blob) else {
            return;
        };
        let Some((file, _)) = self.file_and_holders(&room, &id) else {
            return;
        };
        let Some(db) = self.messenger.storage() else {
            return;
        };
        self.files.update(|f| {
            f.transfers.insert(blob.clone(), Transfer::Saving);
        });
        self.spawn(async move {
            let saved = files::save(&db, &file).await;
            self.files.update(|f| match saved {
                Ok(()) => {
                    f.transfers.remove(&blob);
                }
                Err(e) => {
                    f.transfers
                        .insert(blob.clone(), Transfer::Failed(e.to_string()));
                }
            });
        });
    }

    /// Whether `peer` may be sent bytes of the blob `request` names: a member of the room it
    /// names, whose pages name the blob.
    fn may_serve(&self, peer: &PeerId, request: &BlobRequest) -> bool {
        let Some(user) = user_of(peer) else {
            return false;
        };
        self.held.with_value(|held| {
            held.get(&room_key(&request.room))
                .is_some_and(|h| h.session.may_serve(&user, &request.blob))
        })
    }

    /// Answers blob requests: at most [`MAX_SERVING`] at once, up to [`MAX_WAITING`] more wait
    /// for a slot (a busy holder is slow, not absent), and beyond that a stream is closed
    /// unanswered. Each answer must be written within [`SERVE_DEADLINE_MS`], so a requester that
    /// stopped reading does not keep its slot.
    pub(super) async fn serve_blobs(self, mut incoming: libp2p_stream::IncomingStreams) {
        let serving = std::rc::Rc::new(std::cell::Cell::new(0usize));
        let waiting = std::rc::Rc::new(std::cell::Cell::new(0usize));
        while let Some((peer, stream)) = incoming.next().await {
            if waiting.get() >= MAX_WAITING {
                continue;
            }
            waiting.set(waiting.get() + 1);
            let (serving, waiting) = (std::rc::Rc::clone(&serving), std::rc::Rc::clone(&waiting));
            self.spawn(async move {
                while serving.get() >= MAX_SERVING {
                    gloo_timers::future::TimeoutFuture::new(SLOT_POLL_MS).await;
                }
                waiting.set(waiting.get() - 1);
                serving.set(serving.get() + 1);
                let serve = self.serve_one(peer, stream).fuse();
                let deadline = gloo_timers::future::TimeoutFuture::new(SERVE_DEADLINE_MS).fuse();
                futures::pin_mut!(serve, deadline);
                futures::select! {
                    () = serve => {},
                    () = deadline => tracing::debug!("blob answer to {peer} took too long"),
                }
                serving.set(serving.get() - 1);
            });
        }
    }

    async fn serve_one(self, peer: PeerId, mut stream: Stream) {
        let mut bytes = [0u8; REQUEST_LEN];
        let read = stream.read_exact(&mut bytes).fuse();
        let deadline = gloo_timers::future::TimeoutFuture::new(FIRST_FRAME_DEADLINE_MS).fuse();
        futures::pin_mut!(read, deadline);
        let read = futures::select! {
            read = read => read,
            () = deadline => return,
        };
        if read.is_err() {
            return;
        }
        let answer = match BlobRequest::decode(&bytes) {
            Err(_) => Err(Status::BadRequest),
            Ok(request) if !self.may_serve(&peer, &request) => Err(Status::Refused),
            Ok(request) => match self.messenger.storage() {
                Some(db) => {
                    let outboards = self.outboards.get_value();
                    files::answer(&db, &outboards, &request).await
                }
                None => Err(Status::NotHeld),
            },
        };
        if let Err(e) = files::write_answer(&mut stream, answer).await {
            tracing::debug!("blob answer to {peer}: {e}");
        }
    }
}
