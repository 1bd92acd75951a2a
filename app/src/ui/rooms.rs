//! The rooms this device holds, driven from the UI and the network: load at start, create,
//! join, select, send, manage members, and keep everything stored.
//!
//! # One write path
//! Every page, written here or received from a peer, first lands in memory (core's replica in
//! a [`RoomSession`]); the *persister* task then stores whatever is held but not yet stored
//! ([`RoomSession::unstored`]), one IndexedDB batch per room, in book order. Because it always
//! stores the delta from what storage holds, a failed write (quota, private mode) is simply
//! retried on the next wake with nothing lost or reordered. A message shows "saved on this
//! device" only after its transaction committed. Peers see a page (own or received) only after
//! that commit too: core's replica advertises and serves only each book's committed prefix, and
//! the persister announces pages as they commit, so no peer ever holds a page this device could
//! lose and rewrite differently (core's sync tests and crash simulation check this).
//!
//! Books core cut back (a fork cut at its equivocation proof, pages the membership policy
//! dropped) are cut in storage by the same task, before it stores that room's pages
//! ([`RoomSession::pending_cuts`]), so a reload shows each book as core last held it.
//!
//! # Network
//! On wasm32 the [`net`] driver starts the browser node, announces presence under each room's
//! hashed namespace, links to the members it finds and runs one `/quire/sync/1` session per
//! linked peer per room.

// The network driver is wasm32-only; the framing is tested natively.
#[cfg(target_arch = "wasm32")]
mod copies;
#[cfg(target_arch = "wasm32")]
mod files;
#[cfg_attr(not(target_arch = "wasm32"), allow(dead_code))]
mod frame;
mod load;
#[cfg(target_arch = "wasm32")]
mod net;
mod requests;

use std::collections::{BTreeMap, BTreeSet, VecDeque};

use futures::StreamExt as _;
use futures::channel::mpsc;
use futures::future::{AbortHandle, Abortable};
use leptos::prelude::*;
use leptos::task::spawn_local;
use quire_core::crypto::RoomSecret;
use quire_core::identity::{Identity, UserId};
use quire_core::invite::Invite;
use quire_core::page::{ControlOp, InviteId, LinkProof, NONCE_LEN, Role};
use quire_core::room::direct_room_id;

use super::identity_keeper::Messenger;
use crate::model::chat_requests::ChatRequests;
use crate::model::copies::LiveCopies;
use crate::model::damage::damage_notice;
use crate::model::files::FilesHere;
use crate::model::identity::generate_secret;
use crate::model::ids::{parse_user_key, room_key, user_key};
use crate::model::invites::{self, ActiveInvite, AutoAdmitLink, AutoAdmitLinks, InviteOptions};
use crate::model::room_view::{InspectedError, InspectorSnapshot, Presence, RoomDetails};
use crate::model::session::PendingJoin;
use crate::model::{DamagedRoom, RoomPane, RoomSession, RoomSummary, StorageHealth, WriteFailure};
use crate::shell::ShellState;
use crate::storage::{BookCut, PageBatch, RoomRecord, Storage, StorageError};
pub use requests::ChatRequestView;

/// How often a hand-over to another tab checks whether everything held is stored. Why: a
/// batch commits in milliseconds; 50 ms keeps the hand-over quick without busy-waiting.
const DRAIN_POLL_MS: u32 = 50;

/// Recent errors the inspector keeps. Why: enough to see a pattern, bounded memory.
const MAX_RECENT_ERRORS: usize = 50;

/// The controller's tasks (loading, the persister, the network driver and what they start),
/// aborted together when the app unmounts, so none outlives the signals it writes.
#[derive(Clone, Default)]
pub(crate) struct Tasks(std::rc::Rc<std::cell::RefCell<TaskSet>>);

#[derive(Default)]
struct TaskSet {
    next: u64,
    live: BTreeMap<u64, AbortHandle>,
    stopped: bool,
}

impl Tasks {
    pub(crate) fn spawn(&self, task: impl std::future::Future<Output = ()> + 'static) {
        self.spawn_handle(task);
    }

    /// Like [`Self::spawn`], returning a handle that aborts this task alone (`None` once the
    /// tasks were stopped).
    pub(crate) fn spawn_handle(
        &self,
        task: impl std::future::Future<Output = ()> + 'static,
    ) -> Option<AbortHandle> {
        let (handle, registration) = AbortHandle::new_pair();
        let mine = handle.clone();
        let id = {
            let mut set = self.0.borrow_mut();
            if set.stopped {
                return None;
            }
            set.next += 1;
            let id = set.next;
            set.live.insert(id, handle);
            id
        };
        let tasks = self.clone();
        spawn_local(async move {
            let _ = Abortable::new(task, registration).await;
            tasks.0.borrow_mut().live.remove(&id);
        });
        Some(mine)
    }

    fn stop(&self) {
        let mut set = self.0.borrow_mut();
        set.stopped = true;
        for handle in std::mem::take(&mut set.live).into_values() {
            handle.abort();
        }
    }
}

/// One room as this device holds it.
#[derive(Debug)]
pub(crate) struct Held {
    pub(crate) session: RoomSession,
    pub(crate) record: RoomRecord,
    declined: BTreeSet<UserId>,
    /// Auto-admitting invites made here, with when each expires and whether it is single-use.
    auto_admit: AutoAdmitLinks,
    /// Auto-admissions written but not yet seen folded (so each request is admitted once).
    admitting: BTreeSet<UserId>,
}

impl Held {
    fn new(mut session: RoomSession, record: RoomRecord) -> Self {
        session.set_name_hint(&record.name);
        let declined = record
            .declined
            .iter()
            .filter_map(|u| parse_user_key(u).ok())
            .collect();
        let auto_admit = invites::from_stored(
            &record.auto_admit_invites,
            &record.auto_admit_until_ms,
            &record.auto_admit_single_use,
            &record.auto_admit_secrets,
        );
        Self {
            session,
            record,
            declined,
            auto_admit,
            admitting: BTreeSet::new(),
        }
    }

    /// Writes the auto-admitting invites into the record (the caller saves it).
    fn keep_auto_admits(&mut self) {
        (
            self.record.auto_admit_invites,
            self.record.auto_admit_until_ms,
            self.record.auto_admit_single_use,
            self.record.auto_admit_secrets,
        ) = invites::to_stored(&self.auto_admit);
    }
}

/// What the user asked to do with a shared file.
#[derive(Debug, Clone)]
pub enum FileAction {
    /// Share these files into the open room.
    Share(Vec<web_sys::File>),
    /// Download a file of `room` from its holders.
    Download { room: String, blob: String },
    /// Save a file held here to disk.
    Save { room: String, blob: String },
    /// Delete this device's copy, and say so in every room that counts it as a holder.
    Remove { blob: String },
    /// Stop a download, keeping what it stored.
    Pause { blob: String },
    /// Stop a download and delete what it stored.
    Cancel { blob: String },
    /// Show a held file (images in the viewer, other viewable types in a new tab).
    Open { room: String, blob: String },
}

/// Fills in how many holders of each file in `pane` are linked to this device now.
fn count_online_holders(pane: &mut RoomPane, presence: &impl Fn(&UserId) -> Presence) {
    let RoomPane::Open { messages, .. } = pane else {
        return;
    };
    for file in messages.iter_mut().filter_map(|m| m.file.as_mut()) {
        file.online = online_count(&file.holders, presence);
    }
}

/// How many of `holders` (user keys) are linked to this device now.
fn online_count(holders: &[String], presence: &impl Fn(&UserId) -> Presence) -> usize {
    holders
        .iter()
        .filter_map(|key| parse_user_key(key).ok())
        .filter(|user| {
            matches!(
                presence(user),
                Presence::Direct | Presence::Relayed | Presence::You
            )
        })
        .count()
}

/// Reactive handles for the room list and the open room. `Copy`; provided as context.
#[derive(Debug, Clone, Copy)]
pub struct Rooms {
    pub list: RwSignal<Vec<RoomSummary>>,
    pub selected: RwSignal<Option<String>>,
    pub pane: RwSignal<RoomPane>,
    /// The open room's side panel.
    pub details: RwSignal<Option<RoomDetails>>,
    /// The last action that failed, in words for the user.
    pub notice: RwSignal<Option<String>>,
    /// Whether local storage is keeping up; while it refuses writing, nothing new is written.
    pub health: RwSignal<StorageHealth>,
    /// Rooms that could not be read back from storage (listed, never opened).
    pub damaged: RwSignal<Vec<DamagedRoom>>,
    /// The account's other live copies, as the relay reports them (`None` off the network);
    /// while another copy writes, this one writes nothing.
    pub copies: RwSignal<Option<LiveCopies>>,
    /// Shared files on this device: held, moving, being shared.
    pub files: RwSignal<FilesHere>,
    /// The image shown in the viewer: (object URL, file name).
    pub viewer: RwSignal<Option<(String, String)>>,
    /// 1:1 chats from strangers waiting for the user's answer, oldest first (`requests`).
    pub chat_requests: RwSignal<Vec<ChatRequestView>>,
    requests: StoredValue<ChatRequests<requests::Pending>, LocalStorage>,
    /// Running downloads by blob key, to pause or cancel them.
    #[cfg_attr(not(target_arch = "wasm32"), allow(dead_code))]
    downloads: StoredValue<BTreeMap<String, AbortHandle>, LocalStorage>,
    /// What the latest download runs asked for and stored (the inspector shows them).
    download_runs: StoredValue<crate::model::files::DownloadRuns>,
    /// Hash trees of the blobs served last.
    #[cfg(target_arch = "wasm32")]
    outboards: StoredValue<crate::files::Outboards, LocalStorage>,
    messenger: Messenger,
    shell: ShellState,
    held: StoredValue<BTreeMap<String, Held>, LocalStorage>,
    /// Wakes the persister (capacity 1: a pending wake covers any number of new pages).
    persist_wake: StoredValue<Option<mpsc::Sender<()>>, LocalStorage>,
    refresh_scheduled: StoredValue<bool>,
    /// Rooms whose peer reports changed since they were last saved.
    #[cfg_attr(not(target_arch = "wasm32"), allow(dead_code))]
    heads_dirty: StoredValue<BTreeSet<String>>,
    /// Rooms whose record failed to save (storage full, closed): their current record is saved
    /// again with the peer reports.
    unsaved_records: StoredValue<BTreeSet<String>>,
    tasks: StoredValue<Tasks, LocalStorage>,
    /// Quire is moving to another tab: no new writes (see [`Self::drain`]).
    draining: StoredValue<bool>,
    /// The room open when the tab last closed was opened again (or there was none), so the
    /// open room is kept from now on ([`OPEN_ROOM_KEY`]).
    reopened: StoredValue<bool>,
    /// What the user typed and did not send, per room ([`DRAFTS_KEY`]).
    drafts: StoredValue<crate::model::drafts::Drafts>,
    errors: StoredValue<VecDeque<InspectedError>>,
    #[cfg(target_arch = "wasm32")]
    net: StoredValue<Option<net::Net>, LocalStorage>,
}

impl Rooms {
    /// Creates the handles and, once the identity is ready, loads every stored room, starts
    /// the persister and (in the browser) the network.
    pub fn provide(messenger: Messenger) -> Self {
        let rooms = Self {
            list: RwSignal::new(Vec::new()),
            selected: RwSignal::new(None),
            pane: RwSignal::new(RoomPane::Nothing),
            details: RwSignal::new(None),
            notice: RwSignal::new(None),
            health: RwSignal::new(StorageHealth::default()),
            damaged: RwSignal::new(Vec::new()),
            copies: RwSignal::new(None),
            files: RwSignal::new(FilesHere::default()),
            viewer: RwSignal::new(None),
            chat_requests: RwSignal::new(Vec::new()),
            requests: StoredValue::new_local(ChatRequests::default()),
            downloads: StoredValue::new_local(BTreeMap::new()),
            download_runs: StoredValue::new(crate::model::files::DownloadRuns::default()),
            #[cfg(target_arch = "wasm32")]
            outboards: StoredValue::new_local(crate::files::Outboards::default()),
            messenger,
            shell: ShellState::expect(),
            held: StoredValue::new_local(BTreeMap::new()),
            persist_wake: StoredValue::new_local(None),
            refresh_scheduled: StoredValue::new(false),
            heads_dirty: StoredValue::new(BTreeSet::new()),
            unsaved_records: StoredValue::new(BTreeSet::new()),
            tasks: StoredValue::new_local(Tasks::default()),
            draining: StoredValue::new(false),
            reopened: StoredValue::new(false),
            drafts: StoredValue::new(crate::model::drafts::Drafts::from_text(
                &requests::local_storage()
                    .and_then(|s| s.get_item(DRAFTS_KEY).ok().flatten())
                    .unwrap_or_default(),
            )),
            errors: StoredValue::new(VecDeque::new()),
            #[cfg(target_arch = "wasm32")]
            net: StoredValue::new_local(None),
        };
        provide_context(rooms);
        // The app is single-threaded; the wrapper only satisfies `on_cleanup`'s bounds.
        let tasks = send_wrapper::SendWrapper::new(rooms.tasks.get_value());
        on_cleanup(move || tasks.stop());
        if let Some(lease) = use_context::<crate::lease::TabLease>() {
            lease.set_drain(Some(std::rc::Rc::new(move || Box::pin(rooms.drain()))));
            let lease = send_wrapper::SendWrapper::new(lease);
            on_cleanup(move || lease.set_drain(None));
        }
        let loaded = StoredValue::new(false);
        Effect::new(move |_| {
            // Status first, so the effect tracks it even while the identity is missing.
            let ready = matches!(messenger.status.get(), super::IdentityStatus::Ready);
            if ready && messenger.identity().is_some() && !loaded.get_value() {
                loaded.set_value(true);
                rooms.pane.set(RoomPane::Loading);
                rooms.spawn(rooms.load());
            }
        });
        Effect::new(move |_| {
            rooms.selected.track();
            rooms.refresh();
        });
        // The open room is kept, so a reload opens it again (see `load`).
        Effect::new(move |_| {
            let open = rooms.selected.get();
            if !rooms.reopened.get_value() {
                return;
            }
            if let Some(storage) = requests::local_storage() {
                let kept = match &open {
                    Some(id) => storage.set_item(OPEN_ROOM_KEY, id),
                    None => storage.remove_item(OPEN_ROOM_KEY),
                };
                if kept.is_err() {
                    rooms.report("Could not keep which room is open".to_owned(), false);
                }
            }
        });
        rooms
    }

    /// The draft of the open room (tracks which room is open).
    pub fn draft_of_open(&self) -> String {
        let open = self.selected.get();
        open.map(|room| self.drafts.with_value(|d| d.get(&room).to_owned()))
            .unwrap_or_default()
    }

    /// Keeps `text` as the open room's draft, across reloads.
    pub fn keep_draft(&self, text: &str) {
        let Some(room) = self.selected.get_untracked() else {
            return;
        };
        self.drafts.update_value(|d| d.set(&room, text));
        if let Some(storage) = requests::local_storage() {
            let stored = self.drafts.with_value(|d| d.to_text());
            if storage.set_item(DRAFTS_KEY, &stored).is_err() {
                self.report("Could not keep what you typed".to_owned(), false);
            }
        }
    }

    /// Opens the room that was open when the tab last closed, if it is still held here and no
    /// room was opened meanwhile (an invite link opened at start selects its own).
    fn reopen(self) {
        let kept = requests::local_storage().and_then(|s| s.get_item(OPEN_ROOM_KEY).ok().flatten());
        if let Some(id) = kept
            && self.selected.get_untracked().is_none()
            && self.held.with_value(|held| held.contains_key(&id))
        {
            self.selected.set(Some(id));
        }
        self.reopened.set_value(true);
        // Kept now, whatever was opened while loading.
        self.selected.set(self.selected.get_untracked());
    }

    pub fn expect() -> Self {
        expect_context::<Self>()
    }

    /// Every file shared in every room held here, with how many holders are linked now (for
    /// Explore; reads the rooms without tracking them: callers track `list` and `files`).
    pub fn resources(&self) -> Vec<crate::model::explore::Resource> {
        let presence = self.linked();
        let mut all: Vec<_> = self
            .held
            .with_value(|held| held.values().flat_map(|h| h.session.resources()).collect());
        for resource in &mut all {
            resource.online = online_count(&resource.holders, &presence);
        }
        all
    }

    /// How each user is reachable from here, this device's own user being `You` (a holder
    /// that is this device is always at hand).
    fn linked(&self) -> impl Fn(&UserId) -> Presence + '_ {
        let me = self.me().map(|m| m.user_id());
        move |user: &UserId| {
            if Some(*user) == me {
                Presence::You
            } else {
                self.presence_of(user)
            }
        }
    }

    /// Carries out a file action (in the browser; elsewhere there are no files to act on).
    pub fn file_action(self, action: FileAction) {
        #[cfg(target_arch = "wasm32")]
        match action {
            FileAction::Share(files) => files.into_iter().for_each(|f| self.share_file(f)),
            FileAction::Download { room, blob } => self.download_file(room, blob),
            FileAction::Save { room, blob } => self.save_file(room, blob),
            FileAction::Remove { blob } => self.remove_file(blob),
            FileAction::Pause { blob } => self.stop_download(blob, false),
            FileAction::Cancel { blob } => self.stop_download(blob, true),
            FileAction::Open { room, blob } => self.open_file(room, blob),
        }
        #[cfg(not(target_arch = "wasm32"))]
        let _ = action;
    }

    async fn load(self) {
        let (Some(db), Some(me)) = (self.messenger.storage(), self.messenger.identity()) else {
            return;
        };
        let health = self.health;
        db.on_upgraded_elsewhere(move || {
            health.try_update(StorageHealth::upgraded_elsewhere);
        });
        let loaded = match load::load_rooms(&db, &me).await {
            Ok(loaded) => loaded,
            Err(e) => return self.pane.set(RoomPane::Failed(e)),
        };
        let mut held = loaded.held;
        // A join that was still waiting when the tab closed waits again (`session::joining`).
        for h in held.values_mut() {
            if let Ok(invite) = <[u8; 16]>::try_from(h.record.pending_invite.as_slice()) {
                let inviter = parse_user_key(&h.record.pending_inviter).ok();
                let proof = <[u8; 32]>::try_from(h.record.pending_proof.as_slice())
                    .ok()
                    .map(LinkProof);
                let request = PendingJoin::new(self.my_name(), Some(InviteId(invite)), inviter)
                    .with_proof(proof);
                h.session.resume_join(request);
            }
        }
        self.held.set_value(held);
        self.load_ignored();
        self.reopen();
        for skipped in &loaded.skipped {
            self.report(format!("Loading: {skipped}"), false);
        }
        if let Some(notice) = damage_notice(&loaded.damaged) {
            self.notice.set(Some(notice));
        }
        self.damaged.set(loaded.damaged);
        self.pane.set(RoomPane::Nothing);
        let (wake, woken) = mpsc::channel(1);
        self.persist_wake.set_value(Some(wake));
        self.spawn(self.persist_loop(db, me.user_id(), woken));
        // Pages restored from storage may still need their auto-admissions.
        self.after_change();
        #[cfg(target_arch = "wasm32")]
        {
            self.spawn(self.load_files());
            net::Net::start(self, me);
        }
    }

    /// Quire is moving to another tab of this profile: refuses new writes, waits until every
    /// page held is stored (a batch in flight still counts as unstored until it commits), then
    /// stops the persister and the network, so nothing is written here after the hand-over.
    pub(crate) async fn drain(self) {
        self.draining.set_value(true);
        loop {
            let unstored = self
                .held
                .try_with_value(|held| {
                    held.values()
                        .any(|h| h.session.has_pending_cuts() || h.session.has_unstored())
                })
                .unwrap_or(false);
            if !unstored {
                break;
            }
            self.wake_persister();
            gloo_timers::future::TimeoutFuture::new(DRAIN_POLL_MS).await;
        }
        if let Some(tasks) = self.tasks.try_get_value() {
            tasks.stop();
        }
    }

    /// Runs `task` until it ends or the app unmounts.
    pub(crate) fn spawn(&self, task: impl std::future::Future<Output = ()> + 'static) {
        if let Some(tasks) = self.tasks.try_get_value() {
            tasks.spawn(task);
        }
    }

    /// Like [`Self::spawn`], with a handle that aborts this task alone.
    #[cfg_attr(not(target_arch = "wasm32"), allow(dead_code))]
    pub(crate) fn spawn_handle(
        &self,
        task: impl std::future::Future<Output = ()> + 'static,
    ) -> Option<AbortHandle> {
        self.tasks.try_get_value()?.spawn_handle(task)
    }

    pub(crate) fn me(&self) -> Option<std::rc::Rc<Identity>> {
        self.messenger.identity()
    }

    /// Recomputes the room list, the open room and its side panel, now.
    pub fn refresh(&self) {
        let selected = self.selected.get_untracked();
        let presence = |user: &UserId| self.presence_of(user);
        let linked = self.linked();
        // The open room first: opening it marks it read, which the list then shows.
        let open = self
            .held
            .try_update_value(|held| {
                let h = held.get_mut(selected.as_ref()?)?;
                let newly_read = h.session.mark_all_read();
                let mut pane = h.session.pane();
                count_online_holders(&mut pane, &linked);
                let details = h.session.details(presence, &h.declined);
                let record = newly_read.then(|| {
                    h.record.read = h
                        .session
                        .read_marker()
                        .lengths()
                        .map(|(u, n)| (user_key(u), n))
                        .collect();
                    h.record.clone()
                });
                Some((pane, details, record))
            })
            .flatten();
        self.list.set(self.held.with_value(|held| {
            let mut list: Vec<RoomSummary> = held.values().map(|h| h.session.summary()).collect();
            crate::model::chat::sort_rooms(&mut list);
            list
        }));
        match open {
            Some((pane, details, record)) => {
                self.pane.set(pane);
                self.details.set(Some(details));
                if let Some(record) = record {
                    self.save_record(record);
                }
            }
            None => {
                self.details.set(None);
                if !matches!(
                    self.pane.get_untracked(),
                    RoomPane::Loading | RoomPane::Failed(_)
                ) {
                    self.pane.set(RoomPane::Nothing);
                }
            }
        }
    }

    /// Refreshes once after the current burst of events (frames often arrive in bursts).
    pub(crate) fn schedule_refresh(self) {
        if self.refresh_scheduled.get_value() {
            return;
        }
        self.refresh_scheduled.set_value(true);
        self.spawn(async move {
            gloo_timers::future::TimeoutFuture::new(30).await;
            self.refresh_scheduled.set_value(false);
            self.refresh();
        });
    }

    fn presence_of(&self, user: &UserId) -> Presence {
        #[cfg(target_arch = "wasm32")]
        if let Some(net) = self.net.get_value() {
            return net.presence_of(user);
        }
        let _ = user;
        Presence::Offline { last_seen_ms: None }
    }

    /// Opens a room (and marks it read).
    pub fn select(self, id: String) {
        self.selected.set(Some(id));
    }

    /// Records an error for the inspector and shows it to the user.
    pub(crate) fn report(&self, what: String, tell_user: bool) {
        tracing::warn!("{what}");
        self.errors.update_value(|errors| {
            errors.push_front(InspectedError {
                at_ms: js_sys::Date::now(),
                what: what.clone(),
            });
            errors.truncate(MAX_RECENT_ERRORS);
        });
        if tell_user {
            self.notice.set(Some(what));
        }
    }

    /// A peer's report changed in `room`; saved by [`Self::save_peer_heads`].
    #[cfg_attr(not(target_arch = "wasm32"), allow(dead_code))]
    pub(crate) fn heads_changed(&self, room: &str) {
        self.heads_dirty.update_value(|dirty| {
            dirty.insert(room.to_owned());
        });
    }

    /// Saves the peer reports that changed (called every few seconds, not per frame).
    #[cfg_attr(not(target_arch = "wasm32"), allow(dead_code))]
    pub(crate) fn save_peer_heads(self) {
        let Some(db) = self.messenger.storage() else {
            return;
        };
        let dirty = self
            .heads_dirty
            .try_update_value(std::mem::take)
            .unwrap_or_default();
        let records: Vec<_> = self.held.with_value(|held| {
            dirty
                .iter()
                .filter_map(|room| held.get(room))
                .flat_map(|h| h.session.peer_heads_records())
                .collect()
        });
        let unsaved_rooms = self
            .unsaved_records
            .try_update_value(std::mem::take)
            .unwrap_or_default();
        let unsaved: Vec<RoomRecord> = self.held.with_value(|held| {
            unsaved_rooms
                .iter()
                .filter_map(|room| held.get(room).map(|h| h.record.clone()))
                .collect()
        });
        for record in unsaved {
            self.save_record(record);
        }
        if records.is_empty() {
            return;
        }
        self.spawn(async move {
            for record in records {
                if let Err(e) = db.save_peer_heads(&record).await {
                    self.report(format!("Could not save delivery state: {e}"), false);
                    // Saved again on the next round, with whatever changed meanwhile.
                    self.heads_dirty.update_value(|d| d.extend(dirty));
                    return;
                }
            }
        });
    }

    fn wake_persister(&self) {
        if let Some(mut wake) = self.persist_wake.get_value() {
            // Full means a wake is already pending, which covers these pages too.
            let _ = wake.try_send(());
        }
    }

    /// After pages landed (written or received): store them, answer join requests this device
    /// auto-admits, and redraw.
    pub(crate) fn after_change(self) {
        self.wake_persister();
        self.settle_joins();
        self.auto_admit();
        self.settle_owed_keys();
        self.schedule_refresh();
    }

    /// Writes the keys pages this device owes in any room (an owner's re-key after a leave or
    /// a removal it received, grants to members admitted elsewhere).
    fn settle_owed_keys(self) {
        let Some(me) = self.me() else {
            return;
        };
        // Written later, when storage can keep them again (the next change calls this).
        if self.may_write().is_err() {
            return;
        }
        let owing: Vec<String> = self.held.with_value(|held| {
            held.iter()
                .filter(|(_, h)| h.session.owes_keys(false))
                .map(|(id, _)| id.clone())
                .collect()
        });
        for room in owing {
            let settled = self
                .held
                .try_update_value(|held| {
                    held.get_mut(&room)
                        .map(|h| settle_keys(&mut h.session, &me, false))
                })
                .flatten();
            match settled {
                Some(Ok(true)) => self.wake_persister(),
                Some(Err(why)) => {
                    self.report(format!("Could not share the room key: {why}"), false);
                }
                _ => {}
            }
        }
    }

    /// Stores what is held but not stored (first each room's cut books, then its pages),
    /// whenever woken or when a storage retry is due.
    /// Runs for the app's lifetime. Every pass's outcome goes into [`Self::health`]; while it
    /// says no attempt is due, pages simply stay held (nothing is dropped) until it is.
    async fn persist_loop(self, db: Storage, me: UserId, mut woken: mpsc::Receiver<()>) {
        let me_key = user_key(&me);
        while self.persist_turn(&mut woken).await {
            if !self
                .health
                .try_with_untracked(|h| h.may_attempt(now_ms()))
                .unwrap_or(false)
            {
                continue;
            }
            let mut failure: Option<WriteFailure> = None;
            let cuts: Vec<(String, Vec<BookCut>)> = self.held.with_value(|held| {
                held.iter()
                    .map(|(id, h)| (id.clone(), h.session.pending_cuts()))
                    .filter(|(_, cuts)| !cuts.is_empty())
                    .collect()
            });
            // A room whose cuts failed keeps its pages for the next pass too: a page could
            // otherwise land where a cut page still lies.
            let mut blocked = BTreeSet::new();
            for (room, cuts) in cuts {
                match db.cut_books(&cuts).await {
                    Ok(()) => self.cuts_stored(&room, &cuts),
                    Err(e) => {
                        self.report(format!("Could not cut back a book: {e}"), false);
                        note_failure(&mut failure, &e);
                        blocked.insert(room);
                    }
                }
            }
            let work: Vec<(String, Vec<crate::model::Outgoing>)> = self.held.with_value(|held| {
                held.iter()
                    .filter(|(id, _)| !blocked.contains(*id))
                    .map(|(id, h)| (id.clone(), h.session.unstored()))
                    .filter(|(_, out)| !out.is_empty())
                    .collect()
            });
            for (room, outgoing) in work {
                let own = outgoing.iter().any(|o| o.before.author == me_key);
                let mut batch = if own {
                    PageBatch::own()
                } else {
                    PageBatch::received()
                };
                let mut pushed = Ok(());
                for o in outgoing {
                    pushed = pushed.and_then(|()| batch.push(&o.before, o.page, o.head));
                }
                let ends: Vec<(String, u64)> = batch
                    .books()
                    .map(|b| (b.author.clone(), b.length))
                    .collect();
                let written = match pushed {
                    Ok(()) => db.write_pages(batch).await,
                    Err(e) => Err(e),
                };
                match written {
                    Ok(()) => self.stored(&room, ends),
                    Err(e) => {
                        // The banner tells the user; the inspector keeps each failure.
                        self.report(format!("Could not save messages: {e}"), false);
                        note_failure(&mut failure, &e);
                    }
                }
            }
            let now = now_ms();
            self.health.try_update(|h| match failure {
                Some(failure) => h.write_failed(failure, now),
                None => h.write_ok(),
            });
            self.schedule_refresh();
        }
    }

    /// Waits for new pages to store or for the storage retry timer. False once the app is gone.
    async fn persist_turn(&self, woken: &mut mpsc::Receiver<()>) -> bool {
        let retry_at = self
            .health
            .try_with_untracked(StorageHealth::next_retry_at)
            .flatten();
        let Some(at) = retry_at else {
            return woken.next().await.is_some();
        };
        let wait = u32::try_from(at.saturating_sub(now_ms())).unwrap_or(u32::MAX);
        let timer = std::pin::pin!(gloo_timers::future::TimeoutFuture::new(wait));
        match futures::future::select(woken.next(), timer).await {
            futures::future::Either::Left((wake, _)) => wake.is_some(),
            futures::future::Either::Right(_) => true,
        }
    }

    /// Tries storing again now (the storage banner's Retry button).
    pub fn retry_storage(self) {
        let now = now_ms();
        if self
            .health
            .try_update(|h| h.retry_pressed(now))
            .unwrap_or(false)
        {
            self.wake_persister();
        }
    }

    /// Refuses to start a room afresh over one whose stored data could not be read: its record
    /// would be overwritten and its pages could never be stored again (they are never
    /// overwritten), so it stays as it is on disk.
    fn not_damaged(&self, id: &str) -> Result<(), String> {
        if self
            .damaged
            .try_with_untracked(|d| d.iter().any(|r| r.id == id))
            .unwrap_or(false)
        {
            return Err("this room's stored data is damaged on this device".to_owned());
        }
        Ok(())
    }

    /// Refuses new writing while storage cannot keep it, Quire is moving to another tab, or
    /// another copy of the account writes (the reason is for the user).
    fn may_write(&self) -> Result<(), String> {
        self.may_store()?;
        match self
            .copies
            .try_with_untracked(|c| c.as_ref().and_then(LiveCopies::refusal))
        {
            Some(Some(why)) => Err(why.to_owned()),
            _ => Ok(()),
        }
    }

    /// Refuses to store anything new (a page or a room record) while storage cannot keep it or
    /// Quire is moving to another tab. Storing what writes no page (joining a room, taking the
    /// user's own book back) goes on while another copy of the account writes.
    fn may_store(&self) -> Result<(), String> {
        if self.draining.try_get_value().unwrap_or(false) {
            return Err("Quire is moving to another tab".to_owned());
        }
        match self.health.try_with_untracked(StorageHealth::refusal) {
            Some(Some(why)) => Err(why),
            _ => Ok(()),
        }
    }

    /// `cuts` of `room` are committed.
    fn cuts_stored(&self, room: &str, cuts: &[BookCut]) {
        self.held.try_update_value(|held| {
            if let Some(h) = held.get_mut(room) {
                h.session.cuts_stored(cuts);
            }
        });
    }

    /// Pages up to `ends` are committed: mark them, and announce every page that became
    /// servable (the user's own and those received, committed and placed in the order) to the
    /// room's peers, who may now see them.
    fn stored(&self, room: &str, ends: Vec<(String, u64)>) {
        let servable = self
            .held
            .try_update_value(|held| {
                let h = held.get_mut(room)?;
                for (author, len) in ends {
                    if let Ok(author) = parse_user_key(&author) {
                        h.session.mark_stored(author, len);
                    }
                }
                Some(h.session.take_servable())
            })
            .flatten()
            .unwrap_or_default();
        #[cfg(target_arch = "wasm32")]
        if !servable.is_empty()
            && let Some(net) = self.net.get_value()
        {
            net.announce(*self, room, &servable);
        }
        let _ = servable;
    }

    fn save_record(&self, record: RoomRecord) {
        let Some(db) = self.messenger.storage() else {
            return;
        };
        let rooms = *self;
        self.spawn(async move {
            if let Err(e) = db.save_room(&record).await {
                rooms.report(format!("Could not save the room's settings: {e}"), false);
                // The room's current record is saved again with the peer reports.
                rooms.unsaved_records.update_value(|unsaved| {
                    unsaved.insert(record.id);
                });
            }
        });
    }

    /// Writes one page of the local user into `room` with `write`; it is stored by the
    /// persister and sent to peers once stored.
    fn write(
        self,
        room: &str,
        write: impl FnOnce(&mut RoomSession, &Identity, u64, [u8; NONCE_LEN]) -> Result<(), String>,
    ) -> Result<(), String> {
        let me = self
            .me()
            .ok_or_else(|| "Quire is still starting".to_owned())?;
        self.may_write()?;
        let nonce = nonce()?;
        let result = self
            .held
            .try_update_value(|held| {
                let h = held
                    .get_mut(room)
                    .ok_or_else(|| "That room is not on this device".to_owned())?;
                // A re-key this device owes comes before anything new it seals.
                settle_keys(&mut h.session, &me, true)?;
                write(&mut h.session, &me, now_ms(), nonce)?;
                // What the write made due (a removal's re-key, a new member's grant) goes into
                // the same batch.
                settle_keys(&mut h.session, &me, false).map(drop)
            })
            .unwrap_or_else(|| Err("Quire is shutting down".to_owned()));
        if result.is_ok() {
            self.wake_persister();
            self.schedule_refresh();
        }
        result
    }

    /// Like [`Self::write`] on the open room, reporting a failure in the notice banner too.
    fn write_open(
        self,
        what: &str,
        write: impl FnOnce(&mut RoomSession, &Identity, u64, [u8; NONCE_LEN]) -> Result<(), String>,
    ) -> Result<(), String> {
        let room = self
            .selected
            .get_untracked()
            .ok_or_else(|| "Open a room first".to_owned())?;
        self.write(&room, write).inspect_err(|why| {
            self.notice.set(Some(format!("Could not {what}: {why}")));
        })
    }

    fn my_name(&self) -> String {
        self.shell
            .display_name
            .get_untracked()
            .map(|n| n.to_string())
            .unwrap_or_default()
    }

    /// Creates a group room named `name` and opens it.
    pub fn create_room(self, _messenger: Messenger, name: String) {
        if let Err(why) = self.try_create(name) {
            self.notice
                .set(Some(format!("Could not create the room: {why}")));
        }
    }

    fn try_create(self, name: String) -> Result<(), String> {
        self.may_write()?;
        let me = self
            .me()
            .ok_or_else(|| "Quire is still starting".to_owned())?;
        let name = name.trim().to_owned();
        if name.is_empty() {
            return Err("give the room a name".to_owned());
        }
        let secret = RoomSecret::from_bytes(generate_secret().map_err(|e| e.to_string())?);
        let (mut session, _create) = RoomSession::create(&me, &name, &secret, now_ms(), nonce()?)
            .map_err(|e| e.to_string())?;
        session
            .set_profile(&me, &self.my_name(), now_ms(), nonce()?)
            .map_err(|e| e.to_string())?;
        let id = room_key(&session.room());
        let record = new_record(&id, &secret, name);
        self.adopt(id, session, record);
        Ok(())
    }

    /// Takes a new room into the held set, saves its record and opens it.
    fn adopt(self, id: String, session: RoomSession, record: RoomRecord) {
        self.save_record(record.clone());
        self.held.update_value(|held| {
            held.insert(id.clone(), Held::new(session, record));
        });
        self.selected.set(Some(id.clone()));
        self.after_change();
        #[cfg(target_arch = "wasm32")]
        if let Some(net) = self.net.get_value() {
            net.room_added(self, &id);
        }
    }

    /// Sends `text` in the open room. A refusal is also shown in the notice banner; the
    /// composer keeps the text then.
    pub fn send(self, _messenger: Messenger, text: String) -> Result<(), String> {
        self.write_open("send the message", |s, me, now, nonce| {
            s.send_text(me, text, now, nonce)
                .map(drop)
                .map_err(|e| e.to_string())
        })
    }

    /// The invite link for the open room (any member may make one; an owner approves the
    /// request). With `auto_admit` (owners only), this device admits whoever joins through it
    /// without asking (it must be online to do so).
    pub fn invite_link(
        self,
        _messenger: Messenger,
        options: InviteOptions,
    ) -> Result<String, String> {
        let auto_admit = options.auto_admit;
        let me = self
            .me()
            .ok_or_else(|| "Quire is still starting".to_owned())?;
        let room = self
            .selected
            .get_untracked()
            .ok_or_else(|| "Open a room first".to_owned())?;
        let mut id = [0u8; 16];
        let mut link_secret = [0u8; 32];
        getrandom::fill(&mut id)
            .and_then(|()| getrandom::fill(&mut link_secret))
            .map_err(|_| "this browser cannot generate secure randomness".to_owned())?;
        let relays = self.relay_addrs();
        let made = self
            .held
            .try_update_value(|held| {
                let h = held
                    .get_mut(&room)
                    .ok_or_else(|| "That room is not on this device".to_owned())?;
                h.session.may_invite(auto_admit).map_err(str::to_owned)?;
                let state = h.session.replica().state();
                let secret = RoomSecret::from_bytes(
                    h.record
                        .key
                        .as_slice()
                        .try_into()
                        .map_err(|_| "the stored room key is damaged".to_owned())?,
                );
                let invite = Invite {
                    room: h.session.room(),
                    room_name: state.name().to_owned(),
                    secret,
                    inviter: me.user_id(),
                    id: InviteId(id),
                    relays,
                    expires_at_ms: Some(now_ms().saturating_add(options.expiry.ms())),
                    auto_admit,
                    link_secret: Some(link_secret),
                };
                let link = invite
                    .to_link(&base_url(), &me)
                    .map_err(|e| e.to_string())?;
                let record = auto_admit.then(|| {
                    let link = AutoAdmitLink {
                        until_ms: invite.expires_at_ms.unwrap_or(0),
                        single_use: options.single_use,
                        secret: Some(link_secret),
                    };
                    h.auto_admit.insert(InviteId(id), link);
                    h.keep_auto_admits();
                    h.record.clone()
                });
                Ok((link, record))
            })
            .unwrap_or_else(|| Err("Quire is shutting down".to_owned()));
        let (link, record) = made?;
        if let Some(record) = record {
            self.save_record(record);
        }
        Ok(link)
    }

    /// The open room's links made here that let people in without asking and still do,
    /// soonest to expire first.
    pub fn auto_admit_links(self) -> Vec<ActiveInvite> {
        let Some(room) = self.selected.get_untracked() else {
            return Vec::new();
        };
        self.held.with_value(|held| {
            held.get(&room).map_or_else(Vec::new, |h| {
                crate::model::invites::active(&h.auto_admit, now_ms())
                    .into_iter()
                    .map(|(id, link)| ActiveInvite {
                        id: hex::encode(id.0),
                        until_ms: link.until_ms,
                        single_use: link.single_use,
                    })
                    .collect()
            })
        })
    }

    /// Revokes the open room's auto-admitting link `invite` (hex id): this device no longer
    /// lets anyone in through it (requests through it wait for an owner, like any other).
    pub fn revoke_invite(self, invite: String) {
        let Some(room) = self.selected.get_untracked() else {
            return;
        };
        let Ok(Ok(id)) = hex::decode(&invite).map(<[u8; 16]>::try_from) else {
            return;
        };
        let record = self.held.try_update_value(|held| {
            let h = held.get_mut(&room)?;
            h.auto_admit.remove(&InviteId(id))?;
            h.keep_auto_admits();
            Some(h.record.clone())
        });
        if let Some(Some(record)) = record {
            self.save_record(record);
        }
    }

    /// This copy of the account writes again after another wrote: every room first takes in
    /// the user's own book from a peer (`RoomSession::await_own_book`).
    #[cfg_attr(not(target_arch = "wasm32"), allow(dead_code))]
    pub(crate) fn await_own_books(self) {
        self.held.try_update_value(|held| {
            for h in held.values_mut() {
                h.session.await_own_book();
            }
        });
        self.schedule_refresh();
    }

    /// The user chose "Use here" on the banner about the account's other copy: this copy writes
    /// once the relay confirms, and the other stops.
    pub fn use_here(self) {
        let sent = self
            .copies
            .with_untracked(|c| c.as_ref().map(LiveCopies::use_here))
            .unwrap_or(Err(crate::model::copies::UseHereError::RelayAway));
        let sent: Result<(), String> = sent.map_err(|e| e.to_string()).and_then(|frame| {
            #[cfg(target_arch = "wasm32")]
            if let Some(net) = self.net.get_value() {
                return net.send_copies(frame);
            }
            let _ = frame;
            Err("Quire is not connected".to_owned())
        });
        if let Err(why) = sent {
            self.notice
                .set(Some(format!("Could not switch to this device: {why}")));
        }
    }

    fn relay_addrs(&self) -> Vec<String> {
        #[cfg(target_arch = "wasm32")]
        if let Some(net) = self.net.get_value() {
            return net.relay_addrs();
        }
        Vec::new()
    }

    /// Asks to join the invite's room (or opens it, if this device already holds it).
    pub fn join(self, _messenger: Messenger, invite: Invite) {
        if let Err(why) = self.try_join(invite) {
            self.notice.set(Some(format!("Could not join: {why}")));
        }
    }

    fn try_join(self, invite: Invite) -> Result<(), String> {
        // Joining writes no page (the request waits, see below).
        self.may_store()?;
        let me = self
            .me()
            .ok_or_else(|| "Quire is still starting".to_owned())?;
        let id = room_key(&invite.room);
        self.not_damaged(&id)?;
        if self.held.with_value(|held| held.contains_key(&id)) {
            self.selected.set(Some(id));
            return Ok(());
        }
        // The request waits until a member says whether this user is in the room already
        // (`session::joining`): written at once, it could fork the user's own book.
        let proof = invite.proof_for(&me.user_id());
        let request = PendingJoin::new(self.my_name(), Some(invite.id), Some(invite.inviter))
            .with_proof(proof);
        let session = RoomSession::joining(&me, invite.room, &invite.secret, request);
        let mut record = new_record(&id, &invite.secret, invite.room_name.clone());
        record.pending_invite = invite.id.0.to_vec();
        record.pending_inviter = user_key(&invite.inviter);
        record.pending_proof = proof.map(|p| p.0.to_vec()).unwrap_or_default();
        self.adopt(id.clone(), session, record);
        #[cfg(target_arch = "wasm32")]
        if let Some(net) = self.net.get_value() {
            net.reach(&invite.inviter);
        }
        Ok(())
    }

    fn control_open(self, what: &str, op: ControlOp) {
        // A refusal is in the notice banner; nothing else waits on it.
        let _ = self.write_open(what, |s, me, now, nonce| {
            s.control(me, op, now, nonce)
                .map(drop)
                .map_err(|e| e.to_string())
        });
    }

    /// Lets a requester in (owners only; core voids it otherwise).
    pub fn admit(self, _messenger: Messenger, user: String) {
        match parse_user_key(&user) {
            Ok(member) => self.control_open(
                "let them in",
                ControlOp::Admit {
                    member,
                    role: Role::Member,
                },
            ),
            Err(e) => self.notice.set(Some(e.to_string())),
        }
    }

    /// Hides a join request on this device. There is no "decline" page: the requester just
    /// stays outside, and any other owner may still admit them.
    pub fn decline(self, _messenger: Messenger, user: String) {
        let Ok(user) = parse_user_key(&user) else {
            return;
        };
        let Some(room) = self.selected.get_untracked() else {
            return;
        };
        let record = self
            .held
            .try_update_value(|held| {
                let h = held.get_mut(&room)?;
                h.declined.insert(user).then(|| {
                    h.record.declined.push(user_key(&user));
                    h.record.clone()
                })
            })
            .flatten();
        if let Some(record) = record {
            self.save_record(record);
        }
        self.refresh();
    }

    pub fn remove(self, _messenger: Messenger, user: String) {
        match parse_user_key(&user) {
            // The removal records how much of their book this device holds: those pages count,
            // nothing they write after does, whatever its timestamp.
            Ok(member) => {
                // A refusal is in the notice banner.
                let _ = self.write_open("remove them", move |s, me, now, nonce| {
                    let seen = s.replica().seen_of(&member);
                    s.control(me, ControlOp::Remove { member, seen }, now, nonce)
                        .map(drop)
                        .map_err(|e| e.to_string())
                });
            }
            Err(e) => self.notice.set(Some(e.to_string())),
        }
    }

    pub fn rename(self, _messenger: Messenger, name: String) {
        let name = name.trim().to_owned();
        if name.is_empty() {
            self.notice.set(Some("A room needs a name.".to_owned()));
            return;
        }
        self.control_open("rename the room", ControlOp::Rename { name });
    }

    /// Leaves the open room: it stays on this device, read-only.
    pub fn leave(self, _messenger: Messenger) {
        self.control_open("leave the room", ControlOp::Leave);
    }

    /// Deletes the open room for everyone (owners only): it becomes read-only everywhere.
    pub fn delete(self, _messenger: Messenger) {
        self.control_open("delete the room", ControlOp::Delete);
    }

    /// Opens (creating if needed) the 1:1 chat with `user` and selects it.
    pub fn open_direct(self, _messenger: Messenger, user: String) {
        if let Err(why) = self.try_open_direct(&user) {
            self.notice
                .set(Some(format!("Could not open the chat: {why}")));
        }
    }

    fn try_open_direct(self, user: &str) -> Result<(), String> {
        self.may_write()?;
        let me = self
            .me()
            .ok_or_else(|| "Quire is still starting".to_owned())?;
        let peer = parse_user_key(user).map_err(|e| e.to_string())?;
        if peer == me.user_id() {
            return Err("that's you".to_owned());
        }
        let id = room_key(&direct_room_id(&me.user_id(), &peer));
        self.not_damaged(&id)?;
        if self.held.with_value(|held| held.contains_key(&id)) {
            self.selected.set(Some(id));
            return Ok(());
        }
        // Their request, if one waits, is the chat: accepting it writes no second first page.
        if self
            .chat_requests
            .with_untracked(|list| list.iter().any(|r| r.user == user))
        {
            self.accept_chat(user.to_owned());
            return Ok(());
        }
        self.forget_chat_request(&peer);
        let (mut session, secret, _create) =
            RoomSession::create_direct(&me, &peer, now_ms(), nonce()?)
                .map_err(|e| e.to_string())?;
        session
            .set_profile(&me, &self.my_name(), now_ms(), nonce()?)
            .map_err(|e| e.to_string())?;
        let record = new_record(&id, &secret, String::new());
        self.adopt(id, session, record);
        #[cfg(target_arch = "wasm32")]
        if let Some(net) = self.net.get_value() {
            net.reach(&peer);
        }
        Ok(())
    }

    /// Takes `room`, the 1:1 room between `me` and `peer`, which opened a sync stream for it
    /// (the peer's create page arrives over that stream). The caller checked that it is that
    /// room and not a damaged one (`requests::Rooms::direct_stream`).
    pub(super) fn take_direct(self, room: &str, me: &Identity, peer: &UserId) -> bool {
        // Nothing is written until the peer says whether it holds our book there
        // (`session::joining`); then our profile page follows the peer's create page (see
        // `auto_admit`).
        let Ok((session, secret)) = RoomSession::taking_direct(me, peer) else {
            return false;
        };
        let record = new_record(room, &secret, String::new());
        self.save_record(record.clone());
        self.held.update_value(|held| {
            held.insert(room.to_owned(), Held::new(session, record));
        });
        self.after_change();
        true
    }

    /// Pending joins (`session::joining`): a request that became due is written, and a join
    /// whose user's own book arrived ends; either way the stored pending invite is forgotten.
    fn settle_joins(self) {
        let Some(me) = self.me() else {
            return;
        };
        // Written later, when storage can keep them again (the next change calls this).
        if self.may_store().is_err() {
            return;
        }
        // A request is a page: none while another copy of the account writes (taking the
        // user's own book back writes nothing, so it goes on).
        let may_write = self.may_write().is_ok();
        let settled: Vec<(RoomRecord, Option<String>)> = self
            .held
            .try_update_value(|held| {
                let mut settled = Vec::new();
                for h in held.values_mut() {
                    let failed = if h.session.request_due() {
                        if !may_write {
                            continue;
                        }
                        let written = nonce().and_then(|nonce| {
                            h.session
                                .write_join_request(&me, now_ms(), nonce)
                                .map_err(|e| e.to_string())
                        });
                        written.err()
                    } else if h.session.settle_join() {
                        None
                    } else {
                        continue;
                    };
                    if failed.is_none() {
                        h.record.pending_invite.clear();
                        h.record.pending_inviter.clear();
                        h.record.pending_proof.clear();
                    }
                    settled.push((h.record.clone(), failed));
                }
                settled
            })
            .unwrap_or_default();
        for (record, failed) in settled {
            match failed {
                Some(why) => self.report(format!("Could not ask to join: {why}"), true),
                None => {
                    self.save_record(record);
                    self.wake_persister();
                    self.schedule_refresh();
                }
            }
        }
    }

    /// Join requests this device promised to admit (auto-admit invites) get their admit page,
    /// and rooms where members would not know our name get a profile page.
    fn auto_admit(self) {
        let Some(me) = self.me() else {
            return;
        };
        // Written later, when storage can keep them again (the next change calls this).
        if self.may_write().is_err() {
            return;
        }
        let unnamed: Vec<String> = self.held.with_value(|held| {
            held.iter()
                .filter(|(_, h)| h.session.needs_profile())
                .map(|(id, _)| id.clone())
                .collect()
        });
        let name = self.my_name();
        for room in unnamed {
            let written = self.write(&room, |s, me, now, nonce| {
                s.set_profile(me, &name, now, nonce)
                    .map(drop)
                    .map_err(|e| e.to_string())
            });
            if let Err(why) = written {
                self.report(format!("Could not write your profile: {why}"), false);
            }
        }
        let due: Vec<(String, UserId, InviteId)> = self.held.with_value(|held| {
            held.iter()
                .flat_map(|(id, h)| {
                    h.session
                        .auto_admittable(&h.auto_admit, now_ms())
                        .into_iter()
                        .filter(|(u, _)| !h.admitting.contains(u))
                        .map(|(u, invite)| (id.clone(), u, invite))
                        .collect::<Vec<_>>()
                })
                .collect()
        });
        for (room, member, invite) in due {
            let Ok(nonce) = nonce() else { return };
            let written = self.held.try_update_value(|held| {
                let h = held.get_mut(&room)?;
                // A single-use link that admitted someone already admits no one else.
                if !h.auto_admit.contains_key(&invite) {
                    return None;
                }
                h.admitting.insert(member);
                h.session
                    .control(
                        &me,
                        ControlOp::Admit {
                            member,
                            role: Role::Member,
                        },
                        now_ms(),
                        nonce,
                    )
                    .ok()?;
                let used_up = crate::model::invites::link_used(&mut h.auto_admit, &invite);
                Some(used_up.then(|| {
                    h.keep_auto_admits();
                    h.record.clone()
                }))
            });
            if let Some(Some(record)) = written {
                self.wake_persister();
                self.schedule_refresh();
                if let Some(record) = record {
                    self.save_record(record);
                }
            }
        }
    }

    /// Everything the inspector shows.
    pub fn inspect(self) -> InspectorSnapshot {
        #[cfg_attr(not(target_arch = "wasm32"), allow(unused_mut))]
        let mut snapshot = InspectorSnapshot {
            me: self
                .me()
                .map(|me| user_key(&me.user_id()))
                .unwrap_or_default(),
            rooms: self
                .held
                .with_value(|held| held.values().map(|h| h.session.inspect()).collect()),
            errors: self.errors.with_value(|e| e.iter().cloned().collect()),
            downloads: self.download_runs.with_value(|runs| runs.newest_first()),
            ..InspectorSnapshot::default()
        };
        #[cfg(target_arch = "wasm32")]
        if let Some(net) = self.net.get_value() {
            net.inspect(&mut snapshot);
        }
        snapshot
    }
}

/// Keeps the worst failure of a persister pass (what the storage health hears of).
fn note_failure(failure: &mut Option<WriteFailure>, e: &StorageError) {
    let this = WriteFailure::of(e);
    *failure = Some(match failure.take() {
        Some(before) => before.worst(this),
        None => this,
    });
}

/// Local-storage key of the room open when the tab closed (its room key), opened again at start.
const OPEN_ROOM_KEY: &str = "quire-open-room";

/// Local-storage key of the drafts (`model::drafts`).
const DRAFTS_KEY: &str = "quire-drafts";

fn new_record(id: &str, secret: &RoomSecret, name: String) -> RoomRecord {
    RoomRecord {
        id: id.to_owned(),
        key: secret.as_bytes().to_vec(),
        name,
        joined_at_ms: js_sys::Date::now(),
        read: Vec::new(),
        pending_invite: Vec::new(),
        pending_inviter: String::new(),
        declined: Vec::new(),
        auto_admit_invites: Vec::new(),
        auto_admit_until_ms: Vec::new(),
        auto_admit_single_use: Vec::new(),
        auto_admit_secrets: Vec::new(),
        pending_proof: Vec::new(),
    }
}

/// The app's address without fragment: what invite links are built on.
fn base_url() -> String {
    web_sys::window()
        .and_then(|w| {
            let l = w.location();
            Some(format!("{}{}", l.origin().ok()?, l.pathname().ok()?))
        })
        .unwrap_or_else(|| "/".to_owned())
}

pub(crate) fn now_ms() -> u64 {
    // Date.now() is a non-negative integer number of ms since the epoch.
    js_sys::Date::now().max(0.0) as u64
}

/// Keys pages one turn writes at most. Why: a duty too big for one page (grants to hundreds of
/// members) is split over pages; a few per turn settle any realistic room, and the next change
/// continues a bigger one.
const MAX_KEYS_PAGES_PER_TURN: usize = 4;

/// Writes the keys pages `session` owes ([`RoomSession::owes_keys`]), each with fresh
/// randomness. Returns whether any was written.
fn settle_keys(session: &mut RoomSession, me: &Identity, writing: bool) -> Result<bool, String> {
    let mut wrote = false;
    for _ in 0..MAX_KEYS_PAGES_PER_TURN {
        if !session.owes_keys(writing) {
            break;
        }
        let fresh = RoomSecret::from_bytes(generate_secret().map_err(|e| e.to_string())?);
        if !session
            .settle_keys(me, fresh, now_ms(), nonce()?)
            .map_err(|e| e.to_string())?
        {
            break;
        }
        wrote = true;
    }
    Ok(wrote)
}

fn nonce() -> Result<[u8; NONCE_LEN], String> {
    let mut nonce = [0u8; NONCE_LEN];
    getrandom::fill(&mut nonce)
        .map_err(|_| "this browser cannot generate secure randomness".to_owned())?;
    Ok(nonce)
}
