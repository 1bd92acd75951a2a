//! The network driver: the browser node, presence, links and one `/quire/sync/1` session per
//! linked peer per room.
//!
//! - **Presence.** Every held room is registered under its namespace of the day, keyed by the
//!   newest epoch secret held ([`quire_core::plan::presence_plan`]), and looked up (today's and
//!   yesterday's, and the original secret's for requesters) as often as the relay's request
//!   budget allows, at most every 5 s ([`PresenceSchedule`]); the
//!   peers found there are the room's online members and requesters (the relay never learns
//!   room ids, and nobody without the secret can compute the label); anyone else found there
//!   (a former member still holding the original secret) is not linked to.
//! - **Links.** For each room, [`planned_links`] over its online members says whom to link to
//!   (full mesh up to 10, a log-degree overlay beyond); the node dials through the relay and
//!   upgrades to a direct `/webrtc` connection. Once a link is up it carries every room the two
//!   share, so conversations continue when the relay goes away.
//! - **Streams.** One stream per (peer, room) and direction at most. The peer with the lower peer
//!   id opens at once; the other opens only if none arrived after [`OPEN_GRACE_MS`] (it may know
//!   of a room the lower one does not, like a new 1:1 chat). If both open, both streams run:
//!   sync is idempotent, and no agreement is needed on which one to keep (an agreement that a
//!   stream whose far end silently vanished would break). A newer stream in the same direction
//!   replaces the older one, since the peer opens again only when it lost the old one. A stream
//!   that never greets within [`GREETING_TIMEOUT_MS`], or goes silent for [`SILENCE_TIMEOUT_MS`]
//!   (heads flow every 15 s), is dropped and reopened.
//! - **Sync.** Frames go to core's `SyncSession` through the room's `RoomSession`; accepted pages
//!   go to the persister, which forwards them to the room's sessions once stored, like the
//!   user's own pages (see the module above); they are signed by their authors, so forwarding
//!   needs no trust. Equivocation proofs are forwarded at once: they are evidence, not pages.
//!
//! Every task is owned: stream tasks are aborted when their link is dropped; the node, tick and
//! accept tasks live as long as the app.

use std::cell::RefCell;
use std::collections::{BTreeMap, BTreeSet};
use std::rc::Rc;

use futures::channel::mpsc;
use futures::future::{AbortHandle, Abortable};
use futures::{AsyncReadExt as _, FutureExt as _, StreamExt as _};
use leptos::prelude::*;
use libp2p::multiaddr::Protocol;
use libp2p::{Multiaddr, PeerId, Stream};
use quire_core::copies::{ClientFrame, INSTANCE_LEN, InstanceId};
use quire_core::identity::{Identity, UserId};
use quire_core::invite::MAX_RELAY_ADDRS;
use quire_core::plan::{PresencePlan, planned_links};
use quire_core::sync::{PROTOCOL, SessionState, SyncMessage, SyncSession};
use quire_core::validate::VerifiedPage;

use super::frame::{FrameError, read_frame, write_frame};
use super::requests::{DirectStream, read_chat_request};
use super::{Rooms, now_ms};
use crate::model::copies::LiveCopies;
use crate::model::ids::{copy_key, parse_copy_key, room_key, user_key};
use crate::model::inbound::{FIRST_FRAME_DEADLINE_MS, InboundBudget};
use crate::model::presence_schedule::PresenceSchedule;
use crate::model::room_view::{InspectedLink, InspectedSession, InspectorSnapshot, Presence};
use crate::model::session::refusal_note;
use crate::model::write_budget::{MAX_QUEUED_BYTES, WriteBudget};
use crate::net::link::LinkState;
use crate::net::node::{NetEvent, Node, NodeConfig, NodeHandle, keypair_from_ed25519_secret};
use crate::shell::ConnectionStatus;

/// Sync timers, stream reconciliation and redials run on this tick.
const TICK_MS: u32 = 1_000;
/// The higher peer id waits this long for the lower one to open a room's stream.
const OPEN_GRACE_MS: f64 = 1_000.0;
/// The higher peer id waits this long before dialling a planned peer itself.
const DIAL_GRACE_MS: f64 = 4_000.0;
/// A peer that could not be reached is dialled again after this long.
const REDIAL_MS: f64 = 5_000.0;
/// Ticks between redraws for "last seen" labels alone.
const LAST_SEEN_REDRAW_TICKS: u32 = 10;
/// Node start is retried this often while the relay is unreachable.
const START_RETRY_MS: u32 = 5_000;
/// A new stream whose peer sent nothing for this long is dropped (and reopened).
const GREETING_TIMEOUT_MS: f64 = 10_000.0;
/// A stream silent for this long while we wait for pages we asked for has stalled. Why 8 s:
/// an answer is at most ~1 MiB, seconds even over a slow relayed path.
const STALL_TIMEOUT_MS: f64 = 8_000.0;
/// A stream silent for this long is dead: a live one carries heads every 15 s.
const SILENCE_TIMEOUT_MS: f64 = 50_000.0;
/// Frames queued for one stream's writer. Why: matches core's outbox bound; beyond it the
/// stream cannot keep up and dropped pushes are repaired by the next heads exchange.
const STREAM_QUEUE: usize = 64;

/// The `/quire/copies/1` stream to the relay while it is connected (`model::copies`).
struct CopiesLink {
    task: AbortHandle,
    /// "Use here" frames for the stream's writer (one at a time: the user presses a button).
    frames: mpsc::Sender<ClientFrame>,
}

impl Drop for CopiesLink {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// A (peer, room) pair.
type Pair = (PeerId, String);
/// A stream: its pair, and whether this device opened it.
type Key = (PeerId, String, bool);

struct Link {
    id: u64,
    sync: SyncSession,
    out: mpsc::Sender<Vec<u8>>,
    /// Bytes in `out` not yet written (shared with the stream's writer task).
    budget: Rc<RefCell<WriteBudget>>,
    tasks: AbortHandle,
    created_at: f64,
    /// When the peer last sent a frame on this stream (0 = never).
    last_frame_at: f64,
}

impl Drop for Link {
    fn drop(&mut self) {
        self.tasks.abort();
    }
}

#[derive(Default)]
struct State {
    node: Option<Node>,
    handle: Option<NodeHandle>,
    relay_connected: bool,
    copies: Option<CopiesLink>,
    links: BTreeMap<Key, Link>,
    opening: BTreeSet<Pair>,
    /// When a (peer, room) pair was first seen without a stream (for [`OPEN_GRACE_MS`]).
    waiting: BTreeMap<Pair, f64>,
    /// Online members per room key, from presence: the union of what its namespaces showed.
    present: BTreeMap<String, BTreeSet<PeerId>>,
    /// Who each looked-up namespace showed last.
    found: BTreeMap<String, BTreeSet<PeerId>>,
    /// The room key each looked-up namespace belongs to.
    namespaces: BTreeMap<String, String>,
    registered: BTreeSet<String>,
    /// Which presence requests to send when, within the relay's request budget.
    schedule: Option<PresenceSchedule>,
    last_dial: BTreeMap<PeerId, f64>,
    /// The last link state reported per peer (to see the switch to a direct link).
    link_states: BTreeMap<PeerId, LinkState>,
    /// Peers to dial as soon as the relay is up (an inviter, the other side of a new 1:1).
    reach: BTreeSet<PeerId>,
    /// When a planned peer was first seen unlinked (for [`DIAL_GRACE_MS`]).
    dial_wait: BTreeMap<PeerId, f64>,
    last_seen: BTreeMap<UserId, f64>,
    next_link: u64,
    /// Inbound streams that have not said their room yet, per peer and in total.
    inbound: InboundBudget<PeerId>,
}

/// The driver's handle (cheap to clone, single-threaded).
#[derive(Clone)]
pub(super) struct Net {
    state: Rc<RefCell<State>>,
    me: PeerId,
}

pub(super) fn peer_of(user: &UserId) -> Option<PeerId> {
    libp2p::identity::ed25519::PublicKey::try_from_bytes(user.as_bytes())
        .ok()
        .map(|k| libp2p::identity::PublicKey::from(k).to_peer_id())
}

pub(super) fn user_of(peer: &PeerId) -> Option<UserId> {
    let multihash = peer.as_ref();
    if multihash.code() != 0 {
        return None;
    }
    let key = libp2p::identity::PublicKey::try_decode_protobuf(multihash.digest())
        .ok()?
        .try_into_ed25519()
        .ok()?;
    Some(UserId::from_bytes(key.to_bytes()))
}

/// A new sync session for `room` with `peer` (served what its user may have), if the room is
/// held and the peer is a user.
fn sync_with(rooms: Rooms, peer: &PeerId, room: &str) -> Option<SyncSession> {
    let user = user_of(peer)?;
    rooms.held.with_value(|held| {
        held.get(room)
            .map(|h| h.session.sync_session(user, now_ms()))
    })
}

/// Where this browser profile keeps its copy id.
const COPY_ID_KEY: &str = "quire.copy-id";

/// This browser profile's copy id (`model::copies`): drawn once and kept, so the tabs and
/// reloads of one profile, which share its storage, are one copy to the relay; a restored
/// backup in a fresh browser, or after clearing site data, draws a new one. Without local
/// storage it is drawn afresh for this run.
fn copy_id() -> Option<InstanceId> {
    let storage = web_sys::window().and_then(|w| w.local_storage().ok().flatten());
    let kept = storage
        .as_ref()
        .and_then(|s| s.get_item(COPY_ID_KEY).ok().flatten())
        .and_then(|text| parse_copy_key(&text).ok());
    if kept.is_some() {
        return kept;
    }
    let mut id = [0u8; INSTANCE_LEN];
    getrandom::fill(&mut id).ok()?;
    let id = InstanceId(id);
    if let Some(storage) = storage {
        let _ = storage.set_item(COPY_ID_KEY, &copy_key(&id));
    }
    Some(id)
}

fn now() -> f64 {
    js_sys::Date::now()
}

impl Net {
    /// Starts the node (retrying while the relay is unreachable) and the driver's tasks.
    pub(super) fn start(rooms: Rooms, identity: Rc<Identity>) {
        let Some(me) = peer_of(&identity.user_id()) else {
            rooms.report(
                "this identity's key cannot be used on the network".into(),
                true,
            );
            return;
        };
        let net = Self {
            state: Rc::new(RefCell::new(State::default())),
            me,
        };
        match copy_id() {
            Some(instance) => rooms.copies.set(Some(LiveCopies::new(instance))),
            None => rooms.report(
                "This browser cannot draw random numbers, so Quire cannot tell this copy of your \
                 account from another"
                    .to_owned(),
                true,
            ),
        }
        rooms.net.set_value(Some(net.clone()));
        rooms.shell.connection.set(ConnectionStatus::Connecting);
        rooms.spawn(async move {
            let (node, events) = loop {
                let keypair = match keypair_from_ed25519_secret(identity.secret_bytes()) {
                    Ok(k) => k,
                    Err(e) => return rooms.report(format!("Cannot start networking: {e}"), true),
                };
                match Node::start(keypair, NodeConfig::default()).await {
                    Ok(started) => break started,
                    Err(e) => {
                        rooms.shell.connection.set(ConnectionStatus::Offline);
                        rooms.report(format!("Cannot reach the relay: {e}; retrying"), false);
                        gloo_timers::future::TimeoutFuture::new(START_RETRY_MS).await;
                    }
                }
            };
            let handle = node.handle();
            let incoming = handle.accept(PROTOCOL);
            match handle.accept(quire_core::blob::wire::PROTOCOL) {
                Ok(blobs) => rooms.spawn(rooms.serve_blobs(blobs)),
                Err(e) => rooms.report(format!("Cannot serve shared files: {e}"), true),
            }
            {
                let mut state = net.state.borrow_mut();
                state.handle = Some(handle);
                state.node = Some(node);
            }
            match incoming {
                Ok(incoming) => rooms.spawn(net.clone().accept_loop(rooms, incoming)),
                Err(e) => rooms.report(format!("Cannot accept sync streams: {e}"), true),
            }
            rooms.spawn(net.clone().tick_loop(rooms));
            net.event_loop(rooms, events).await;
        });
    }

    pub(super) fn handle(&self) -> Option<NodeHandle> {
        self.state.borrow().handle.clone()
    }

    async fn event_loop(self, rooms: Rooms, mut events: mpsc::Receiver<NetEvent>) {
        while let Some(event) = events.next().await {
            match event {
                NetEvent::Relay { connected } => {
                    self.state.borrow_mut().relay_connected = connected;
                    if connected {
                        self.start_copies(rooms);
                    } else {
                        self.stop_copies(rooms);
                    }
                    if connected {
                        // A new connection: the relay's budget for it starts full. Announce and
                        // look around now, not at the next tick.
                        self.state.borrow_mut().schedule = Some(PresenceSchedule::new(now_ms()));
                        self.presence(rooms);
                        self.dial_reach();
                    }
                }
                NetEvent::Link { peer, state } => {
                    let before = self.state.borrow_mut().link_states.insert(peer, state);
                    if state == LinkState::Offline {
                        self.peer_gone(&peer);
                    } else if state == LinkState::Direct && before != Some(LinkState::Direct) {
                        // The relayed circuit that streams may have been opened over is being
                        // closed now; a stream on it can stall instead of failing, so reopen
                        // them all over the direct connection (a heads exchange each).
                        self.peer_gone(&peer);
                    }
                    // Presence dots.
                    rooms.schedule_refresh();
                }
                NetEvent::Discovered { namespace, peers } => {
                    let mut state = self.state.borrow_mut();
                    if let Some(room) = state.namespaces.get(&namespace).cloned() {
                        let online: BTreeSet<PeerId> = peers
                            .into_iter()
                            .map(|(p, _)| p)
                            .filter(|p| *p != self.me)
                            .collect();
                        state.found.insert(namespace, online);
                        let union: BTreeSet<PeerId> = state
                            .namespaces
                            .iter()
                            .filter(|(_, r)| **r == room)
                            .filter_map(|(ns, _)| state.found.get(ns))
                            .flatten()
                            .copied()
                            .collect();
                        state.present.insert(room, union);
                    }
                }
                NetEvent::RegisterFailed { namespace, reason } => {
                    self.state.borrow_mut().registered.remove(&namespace);
                    rooms.report(format!("Presence registration failed: {reason}"), false);
                }
                NetEvent::DiscoverFailed { namespace } => {
                    if let Some(schedule) = &mut self.state.borrow_mut().schedule {
                        schedule.failed(&namespace);
                    }
                    rooms.report(
                        "A presence lookup failed; it is sent again".to_owned(),
                        false,
                    );
                }
                NetEvent::Registered { .. } | NetEvent::Listening { .. } => {}
            }
            self.update_status(rooms);
            self.reconcile(rooms);
        }
    }

    /// Opens the copies stream on a new relay connection (replacing any earlier one).
    fn start_copies(&self, rooms: Rooms) {
        let Some(handle) = self.handle() else { return };
        let Some(Some(hello)) = rooms
            .copies
            .try_with_untracked(|c| c.as_ref().map(LiveCopies::hello))
        else {
            return;
        };
        let update = move |f: &dyn Fn(&mut LiveCopies)| {
            rooms.copies.try_update(|c| {
                if let Some(c) = c {
                    f(c);
                }
            });
        };
        let (frames, frames_rx) = mpsc::channel(1);
        let (task, registration) = AbortHandle::new_pair();
        let net = self.clone();
        let run = async move {
            let result = super::copies::run(
                &handle,
                hello,
                frames_rx,
                || update(&LiveCopies::connected),
                |report| {
                    let resumed = rooms
                        .copies
                        .try_update(|c| c.as_mut().is_some_and(|c| c.report(report)))
                        .unwrap_or(false);
                    if resumed {
                        rooms.await_own_books();
                        net.note_own_heads(rooms);
                    }
                    // Writing may resume: what waited for it (a join request, duties) goes now.
                    if report.writer {
                        rooms.after_change();
                    }
                },
            )
            .await;
            update(&LiveCopies::lost);
            if let Err(e) = result {
                rooms.report(format!("Copies of this account: {e}"), false);
            }
        };
        rooms.spawn(Abortable::new(run, registration).map(drop));
        self.state.borrow_mut().copies = Some(CopiesLink { task, frames });
    }

    /// Every room's open sessions count the heads their peers last sent toward a pending join
    /// (a copy that writes again need not wait for the next heads exchange).
    fn note_own_heads(&self, rooms: Rooms) {
        let state = self.state.borrow();
        rooms.held.try_update_value(|held| {
            for ((_, room, _), link) in &state.links {
                if let Some(h) = held.get_mut(room) {
                    h.session.note_join_heads(&link.sync);
                }
            }
        });
    }

    /// The relay connection is gone: so is the copies stream.
    fn stop_copies(&self, rooms: Rooms) {
        if self.state.borrow_mut().copies.take().is_some() {
            rooms.copies.try_update(|c| {
                if let Some(c) = c {
                    c.lost();
                }
            });
        }
    }

    /// Sends "Use here" on the copies stream.
    pub(super) fn send_copies(&self, frame: ClientFrame) -> Result<(), String> {
        let mut state = self.state.borrow_mut();
        let link = state
            .copies
            .as_mut()
            .ok_or_else(|| "the relay is not reachable".to_owned())?;
        link.frames
            .try_send(frame)
            .map_err(|_| "already asked; waiting for the relay".to_owned())
    }

    fn update_status(&self, rooms: Rooms) {
        let Some(handle) = self.handle() else { return };
        let peers = handle
            .links()
            .into_iter()
            .filter(|(_, s)| matches!(s, LinkState::Direct | LinkState::Relayed))
            .count();
        let status = if self.state.borrow().relay_connected {
            ConnectionStatus::Online { peers }
        } else if peers > 0 {
            ConnectionStatus::Direct { peers }
        } else {
            ConnectionStatus::Offline
        };
        if rooms.shell.connection.get_untracked() != status {
            rooms.shell.connection.set(status);
        }
    }

    fn peer_gone(&self, peer: &PeerId) {
        let mut state = self.state.borrow_mut();
        state.links.retain(|(p, _, _), _| p != peer);
        state.waiting.retain(|(p, _), _| p != peer);
    }

    async fn tick_loop(self, rooms: Rooms) {
        let mut ticks: u32 = 0;
        loop {
            gloo_timers::future::TimeoutFuture::new(TICK_MS).await;
            self.update_status(rooms);
            self.presence(rooms);
            self.reconcile(rooms);
            self.run_timers(rooms);
            ticks = ticks.wrapping_add(1);
            // Frames and link events redraw at once; this only ages "last seen" labels.
            if ticks.is_multiple_of(LAST_SEEN_REDRAW_TICKS) {
                rooms.schedule_refresh();
                rooms.save_peer_heads();
            }
        }
    }

    /// Registers every held room under its presence namespace of the day (and drops the
    /// registrations no room wants any more: yesterday's, a replaced epoch's, a room that went)
    /// and re-reads who is there.
    fn presence(&self, rooms: Rooms) {
        let Some(handle) = self.handle() else { return };
        let plans: Vec<(String, PresencePlan)> = rooms.held.with_value(|held| {
            held.iter()
                .filter_map(|(id, h)| Some((id.clone(), h.session.presence_plan(now() as u64)?)))
                .collect()
        });
        let mut state = self.state.borrow_mut();
        if !state.relay_connected {
            return;
        }
        state.namespaces.clear();
        for (id, plan) in &plans {
            for ns in &plan.discover {
                state.namespaces.insert(ns.clone(), id.clone());
            }
        }
        let State {
            found, namespaces, ..
        } = &mut *state;
        found.retain(|ns, _| namespaces.contains_key(ns));
        let at = now_ms();
        let State {
            registered,
            schedule,
            namespaces,
            ..
        } = &mut *state;
        let schedule = schedule.get_or_insert_with(|| PresenceSchedule::new(at));
        let wanted: BTreeSet<String> = plans.iter().map(|(_, p)| p.register.clone()).collect();
        let stale: Vec<String> = registered.difference(&wanted).cloned().collect();
        for ns in stale {
            if let Err(e) = handle.unregister(&ns) {
                tracing::warn!("unregister {ns}: {e}");
            }
            schedule.spent_elsewhere(at);
            registered.remove(&ns);
        }
        let unregistered: Vec<String> = wanted.difference(registered).cloned().collect();
        let lookups: Vec<String> = namespaces.keys().cloned().collect();
        let due = schedule.due(&unregistered, &lookups, at);
        for ns in due.register {
            match handle.register(&ns) {
                Ok(()) => {
                    registered.insert(ns);
                }
                Err(e) => tracing::warn!("register {ns}: {e}"),
            }
        }
        for ns in due.discover {
            if let Err(e) = handle.discover(&ns) {
                tracing::warn!("discover {ns}: {e}");
                schedule.failed(&ns);
            }
        }
    }

    /// A room was just created or joined: announce it and look for its members now.
    pub(super) fn room_added(&self, rooms: Rooms, _room: &str) {
        // Its namespaces were never looked up, so they go first.
        self.presence(rooms);
        self.reconcile(rooms);
    }

    /// Dials `user` through the relay (an inviter, the other side of a new 1:1 chat).
    /// (Dialled as soon as the relay is up, if it is not yet.)
    pub(super) fn reach(&self, user: &UserId) {
        let Some(peer) = peer_of(user) else { return };
        self.state.borrow_mut().reach.insert(peer);
        self.dial_reach();
    }

    fn dial_reach(&self) {
        let Some(handle) = self.handle() else { return };
        let mut state = self.state.borrow_mut();
        if !state.relay_connected {
            return;
        }
        for peer in std::mem::take(&mut state.reach) {
            if handle.link_state(&peer) == LinkState::Offline {
                state.last_dial.insert(peer, now());
                if let Err(e) = handle.connect(peer) {
                    tracing::warn!("connect {peer}: {e}");
                }
            }
        }
    }

    /// Dials the planned peers of every room and opens the streams that are missing.
    fn reconcile(&self, rooms: Rooms) {
        let Some(handle) = self.handle() else { return };
        let wanted: Vec<(String, BTreeSet<PeerId>)> = rooms.held.with_value(|held| {
            let state = self.state.borrow();
            held.iter()
                .map(|(id, h)| {
                    // Presence finds whoever registered the room's namespace; only members and
                    // people waiting for approval are linked to (anyone, while this device
                    // knows nothing of the room yet).
                    let candidates = h.session.link_candidates();
                    let mut peers: BTreeSet<PeerId> = state
                        .present
                        .get(id)
                        .into_iter()
                        .flatten()
                        .filter(|peer| {
                            candidates.as_ref().is_none_or(|users| {
                                user_of(peer).is_some_and(|user| users.contains(&user))
                            })
                        })
                        .copied()
                        .collect();
                    // Linked participants count as online even when presence is unknown
                    // (the relay is down).
                    let linkable = candidates.unwrap_or_else(|| h.session.participants());
                    for user in linkable {
                        if let Some(peer) = peer_of(&user)
                            && is_up(&handle, &peer)
                        {
                            peers.insert(peer);
                        }
                    }
                    (id.clone(), peers)
                })
                .collect()
        });
        let now = now();
        for (room, online) in wanted {
            let online: Vec<PeerId> = online.into_iter().collect();
            let planned = planned_links(&self.me, &online);
            for peer in planned {
                let link = handle.link_state(&peer);
                if link != LinkState::Offline {
                    self.state.borrow_mut().dial_wait.remove(&peer);
                }
                match link {
                    LinkState::Direct | LinkState::Relayed => {
                        self.ensure_stream(rooms, &peer, &room)
                    }
                    // The relayed circuit can be up while the direct upgrade is still being
                    // negotiated (or failing slowly): sync over it meanwhile rather than wait.
                    LinkState::Connecting => {
                        if is_up(&handle, &peer) {
                            self.ensure_stream(rooms, &peer, &room);
                        }
                    }
                    LinkState::Offline => {
                        let mut state = self.state.borrow_mut();
                        let due = state
                            .last_dial
                            .get(&peer)
                            .is_none_or(|at| now - at >= REDIAL_MS);
                        // Both sides find each other through presence; the lower id dials
                        // first, so two dials do not race. The higher one dials only if still
                        // unlinked after the grace (the lower may not have seen it yet).
                        let first_seen = *state.dial_wait.entry(peer).or_insert(now);
                        let my_turn = self.me < peer || now - first_seen >= DIAL_GRACE_MS;
                        if due && my_turn && state.relay_connected {
                            state.last_dial.insert(peer, now);
                            if let Err(e) = handle.connect(peer) {
                                tracing::warn!("connect {peer}: {e}");
                            }
                        }
                    }
                }
            }
        }
    }

    fn ensure_stream(&self, rooms: Rooms, peer: &PeerId, room: &str) {
        let key = (*peer, room.to_owned());
        {
            let mut state = self.state.borrow_mut();
            let linked = [true, false]
                .iter()
                .any(|mine| state.links.contains_key(&(key.0, key.1.clone(), *mine)));
            if linked || state.opening.contains(&key) {
                state.waiting.remove(&key);
                return;
            }
            if self.me > *peer {
                let since = *state.waiting.entry(key.clone()).or_insert_with(now);
                if now() - since < OPEN_GRACE_MS {
                    return;
                }
            }
            state.opening.insert(key.clone());
            state.waiting.remove(&key);
        }
        let Some(handle) = self.handle() else { return };
        let net = self.clone();
        rooms.spawn(async move {
            let opened = handle.open_stream(key.0, PROTOCOL).await;
            net.state.borrow_mut().opening.remove(&key);
            match opened {
                Ok(stream) => {
                    if let Some(sync) = sync_with(rooms, &key.0, &key.1) {
                        net.add_link(rooms, (key.0, key.1, true), stream, sync, None);
                    }
                }
                Err(e) => tracing::debug!("open sync stream: {e}"),
            }
        });
    }

    async fn accept_loop(self, rooms: Rooms, mut incoming: libp2p_stream::IncomingStreams) {
        while let Some((peer, stream)) = incoming.next().await {
            let admitted = self.state.borrow_mut().inbound.admit(&peer);
            match admitted {
                Ok(()) => rooms.spawn(self.clone().accept_one(rooms, peer, stream)),
                // Dropping the stream closes it.
                Err(why) => {
                    rooms.report(format!("Refused a sync stream from {peer}: {why}"), false)
                }
            }
        }
    }

    /// An inbound stream, admitted by the budget: its first frame, due within
    /// [`FIRST_FRAME_DEADLINE_MS`], names the room.
    async fn accept_one(self, rooms: Rooms, peer: PeerId, mut stream: Stream) {
        let first = {
            let read = read_frame(&mut stream);
            let deadline = gloo_timers::future::TimeoutFuture::new(FIRST_FRAME_DEADLINE_MS);
            futures::pin_mut!(read);
            let spoke = futures::future::select(read, deadline).await;
            self.state.borrow_mut().inbound.release(&peer);
            match spoke {
                futures::future::Either::Left((read, _)) => read,
                futures::future::Either::Right(_) => {
                    return rooms.report(
                        format!(
                            "Dropped a sync stream from {peer}: it said nothing for {} s",
                            FIRST_FRAME_DEADLINE_MS / 1000
                        ),
                        false,
                    );
                }
            }
        };
        let first = match first {
            Ok(frame) => frame,
            Err(e) => return stream_ended(rooms, &peer, &e),
        };
        let room = match SyncMessage::decode(&first) {
            Ok(message) => room_key(&message.room()),
            Err(e) => {
                return rooms.report(format!("A peer sent a malformed sync message: {e}"), false);
            }
        };
        let held = rooms.held.with_value(|h| h.contains_key(&room));
        if !held {
            let Some(user) = user_of(&peer) else { return };
            match rooms.direct_stream(&room, &user) {
                DirectStream::Taken => {}
                DirectStream::Read => {
                    return read_chat_request(rooms, user, stream, first).await;
                }
                // Not a room of ours: say nothing about it (dropping closes the stream).
                DirectStream::Drop => return,
            }
        }
        let Some(sync) = sync_with(rooms, &peer, &room) else {
            return;
        };
        self.add_link(rooms, (peer, room, false), stream, sync, Some(first));
    }

    /// Registers a stream as the link for `key` (replacing an older one in the same direction)
    /// and starts its reader and writer.
    fn add_link(
        &self,
        rooms: Rooms,
        key: Key,
        stream: Stream,
        sync: SyncSession,
        first: Option<Vec<u8>>,
    ) {
        let (out, queued) = mpsc::channel(STREAM_QUEUE);
        let budget = Rc::new(RefCell::new(WriteBudget::default()));
        let (tasks, registration) = AbortHandle::new_pair();
        let id = {
            let mut state = self.state.borrow_mut();
            state.next_link += 1;
            let id = state.next_link;
            state.links.insert(
                key.clone(),
                Link {
                    id,
                    sync,
                    out,
                    budget: budget.clone(),
                    tasks,
                    created_at: now(),
                    last_frame_at: 0.0,
                },
            );
            // The new session's greeting (our heads) waits in its writer's queue.
            if let Some(link) = state.links.get_mut(&key) {
                flush(link);
            }
            id
        };
        let (reader, writer) = stream.split();
        let net = self.clone();
        let run = async move {
            let write = write_loop(writer, queued, budget);
            let read = net.read_loop(rooms, key, id, reader, first);
            futures::pin_mut!(write, read);
            futures::future::select(write, read).await;
        };
        rooms.spawn(Abortable::new(run, registration).map(drop));
    }

    async fn read_loop(
        &self,
        rooms: Rooms,
        key: Key,
        id: u64,
        mut reader: futures::io::ReadHalf<Stream>,
        first: Option<Vec<u8>>,
    ) {
        if let Some(frame) = first {
            self.on_frame(rooms, &key, id, &frame);
        }
        loop {
            match read_frame(&mut reader).await {
                Ok(frame) => {
                    if !self.on_frame(rooms, &key, id, &frame) {
                        break;
                    }
                }
                Err(e) => {
                    stream_ended(rooms, &key.0, &e);
                    break;
                }
            }
        }
        let mut state = self.state.borrow_mut();
        if state.links.get(&key).is_some_and(|l| l.id == id) {
            state.links.remove(&key);
        }
    }

    /// One frame from `key`'s peer. Returns whether the link lives on.
    fn on_frame(&self, rooms: Rooms, key: &Key, id: u64, frame: &[u8]) -> bool {
        let (peer, room, _) = key;
        let at = now_ms();
        let user = user_of(peer);
        let mut state = self.state.borrow_mut();
        let Some(link) = state.links.get_mut(key).filter(|l| l.id == id) else {
            return false;
        };
        link.last_frame_at = now();
        let outcome = rooms.held.try_update_value(|held| {
            let h = held.get_mut(room)?;
            let cuts_before = h.session.cuts_queued();
            let accepted = h.session.sync_bytes(&mut link.sync, frame, at);
            let cut = h.session.cuts_queued() != cuts_before;
            // A pending join may have heard what it waited for (`session::joining`).
            let joining = h.session.join_status().is_some();
            let changed = user.is_some_and(|user| {
                let heads: Vec<(UserId, u64)> =
                    link.sync.peer_heads().map(|h| (h.author, h.len)).collect();
                h.session.peer_reported(user, heads, at)
            });
            Some((accepted, changed, cut, joining))
        });
        let closed = match link.sync.state() {
            SessionState::Closed(why) => Some(why.to_string()),
            _ => None,
        };
        if let Some(user) = user {
            state.last_seen.insert(user, now());
        }
        let Some(Some((accepted, heads_changed, cut, joining))) = outcome else {
            return false;
        };
        if heads_changed {
            rooms.heads_changed(room);
        }
        if let Some(note) = refusal_note(&key.0.to_string(), &accepted.refused) {
            rooms.report(note, false);
        }
        // Proofs go to the room's other sessions now; pages once stored (the persister).
        if !accepted.equivocations.is_empty() {
            rooms.held.with_value(|held| {
                let Some(h) = held.get(room) else { return };
                for ((other, r, _), l) in state.links.iter_mut() {
                    if r == room && other != peer {
                        for proof in &accepted.equivocations {
                            h.session.announce_proof(&mut l.sync, proof, at);
                        }
                    }
                }
            });
        }
        drop(state);
        self.flush_room(room);
        if let Some(why) = closed {
            rooms.report(format!("Stopped syncing with {}: {why}", key.0), false);
            self.state.borrow_mut().links.remove(key);
            return false;
        }
        if cut || joining || !accepted.stored.is_empty() {
            rooms.after_change();
        } else {
            rooms.schedule_refresh();
        }
        true
    }

    /// Pages that just became servable: push them to every session of the room (a session
    /// skips what its peer already holds, such as the pages it sent, and what its peer may not
    /// have).
    pub(super) fn announce(&self, rooms: Rooms, room: &str, pages: &[VerifiedPage]) {
        {
            let mut state = self.state.borrow_mut();
            let now = now_ms();
            rooms.held.with_value(|held| {
                let Some(h) = held.get(room) else { return };
                for ((_, r, _), link) in state.links.iter_mut() {
                    if r == room {
                        h.session.announce(&mut link.sync, pages, now);
                    }
                }
            });
        }
        self.flush_room(room);
    }

    fn flush_room(&self, room: &str) {
        let mut state = self.state.borrow_mut();
        for ((_, r, _), link) in state.links.iter_mut() {
            if r == room {
                flush(link);
            }
        }
    }

    /// Heads re-sends and request retries; drops streams that went quiet. Also releases pages
    /// core held back for a timestamp ahead of this device's clock, once their time has come.
    fn run_timers(&self, rooms: Rooms) {
        let at = now_ms();
        let wall = now();
        // Released pages are stored by the persister, which offers them to peers once committed.
        let released = rooms
            .held
            .try_update_value(|held| {
                let mut any = false;
                for h in held.values_mut() {
                    any |= h.session.release_held(at);
                }
                any
            })
            .unwrap_or(false);
        if released {
            rooms.after_change();
        }
        let mut closed = Vec::new();
        {
            let mut state = self.state.borrow_mut();
            rooms.held.with_value(|held| {
                for (key, link) in state.links.iter_mut() {
                    if link.sync.poll_timeout().is_some_and(|t| t <= at)
                        && let Some(h) = held.get(&key.1)
                    {
                        h.session.sync_timeout(&mut link.sync, at);
                    }
                    let never_greeted =
                        link.last_frame_at == 0.0 && wall - link.created_at > GREETING_TIMEOUT_MS;
                    let silent =
                        link.last_frame_at > 0.0 && wall - link.last_frame_at > SILENCE_TIMEOUT_MS;
                    // A peer answers a want at once; silence while we wait for one means the
                    // stream stalled (the session itself would retry for 30 s).
                    let stalled = link.sync.state() == &SessionState::CatchingUp
                        && wall - link.last_frame_at.max(link.created_at) > STALL_TIMEOUT_MS;
                    let unread = link.budget.borrow().overflowed();
                    if unread {
                        rooms.report(
                            format!(
                                "Dropped a sync stream with {}: it left {} MiB unread",
                                key.0,
                                MAX_QUEUED_BYTES / (1024 * 1024)
                            ),
                            false,
                        );
                    }
                    if link.sync.is_closed() || never_greeted || silent || stalled || unread {
                        closed.push(key.clone());
                    } else {
                        flush(link);
                    }
                }
            });
            for key in &closed {
                state.links.remove(key);
            }
        }
        for key in closed {
            tracing::debug!("sync stream with {} went quiet; reopening", key.0);
        }
    }

    /// How `user`'s device is reachable, for the presence dot.
    pub(super) fn presence_of(&self, user: &UserId) -> Presence {
        let state = self.state.borrow();
        let link = match (state.handle.as_ref(), peer_of(user)) {
            (Some(handle), Some(peer)) => handle.link_state(&peer),
            _ => LinkState::Offline,
        };
        let circuit_only = link == LinkState::Connecting
            && state
                .handle
                .as_ref()
                .zip(peer_of(user))
                .is_some_and(|(h, p)| is_up(h, &p));
        match link {
            LinkState::Direct => Presence::Direct,
            LinkState::Relayed => Presence::Relayed,
            LinkState::Connecting if circuit_only => Presence::Relayed,
            LinkState::Connecting | LinkState::Offline => Presence::Offline {
                last_seen_ms: state.last_seen.get(user).copied(),
            },
        }
    }

    /// The relay addresses peers can reach this device through (for invites).
    pub(super) fn relay_addrs(&self) -> Vec<String> {
        let Some(handle) = self.handle() else {
            return Vec::new();
        };
        let mut out: Vec<String> = Vec::new();
        for addr in handle.listen_addrs() {
            let relay: Multiaddr = addr
                .iter()
                .take_while(|p| *p != Protocol::P2pCircuit)
                .collect();
            let text = relay.to_string();
            if !relay.is_empty() && !out.contains(&text) {
                out.push(text);
            }
        }
        out.truncate(MAX_RELAY_ADDRS);
        out
    }

    /// Links and sync sessions, for the inspector.
    pub(super) fn inspect(&self, snapshot: &mut InspectorSnapshot) {
        let state = self.state.borrow();
        snapshot.peer_id = self.me.to_string();
        snapshot.relay_connected = state.relay_connected;
        if let Some(handle) = &state.handle {
            snapshot.links = handle
                .links()
                .into_iter()
                .map(|(peer, link)| InspectedLink {
                    peer: peer.to_string(),
                    state: match link {
                        LinkState::Direct => "direct",
                        LinkState::Relayed => "relayed",
                        LinkState::Connecting => "connecting",
                        LinkState::Offline => "offline",
                    }
                    .to_owned(),
                    addrs: handle
                        .connection_addrs(&peer)
                        .iter()
                        .map(ToString::to_string)
                        .collect(),
                })
                .collect();
        }
        for room in &mut snapshot.rooms {
            room.sessions = state
                .links
                .iter()
                .filter(|((_, r, _), _)| *r == room.id)
                .map(|((peer, _, mine), link)| InspectedSession {
                    peer: user_of(peer).map_or_else(|| peer.to_string(), |u| user_key(&u)),
                    opened_here: *mine,
                    state: match link.sync.state() {
                        SessionState::Greeting => "greeting".to_owned(),
                        SessionState::CatchingUp => "catching up".to_owned(),
                        SessionState::Live => "live".to_owned(),
                        SessionState::Closed(why) => format!("closed: {why}"),
                    },
                    peer_heads: link
                        .sync
                        .peer_heads()
                        .map(|h| (user_key(&h.author), h.len))
                        .collect(),
                })
                .collect();
        }
    }
}

/// A stream stopped yielding frames. A close is routine; an oversized or malformed frame is
/// a misbehaving peer, which the inspector's error list shows.
fn stream_ended(rooms: Rooms, peer: &PeerId, error: &FrameError) {
    match error {
        FrameError::Closed | FrameError::Io(_) => {
            tracing::debug!("sync stream with {peer} ended: {error}");
        }
        FrameError::TooLarge(_) | FrameError::BadLength => {
            rooms.report(format!("Dropped a sync stream from {peer}: {error}"), false);
        }
    }
}

/// Whether some connection to `peer` is up (direct, relayed, or the relayed circuit while the
/// direct upgrade is still being negotiated).
fn is_up(handle: &NodeHandle, peer: &PeerId) -> bool {
    match handle.link_state(peer) {
        LinkState::Direct | LinkState::Relayed => true,
        LinkState::Connecting => !handle.connection_addrs(peer).is_empty(),
        LinkState::Offline => false,
    }
}

/// Moves a session's queued messages to its stream's writer. A full writer queue drops the
/// message: the peer's next heads exchange repairs what it missed.
fn flush(link: &mut Link) {
    while let Some(message) = link.sync.poll_transmit() {
        let frame = message.encode();
        let len = frame.len();
        if !link.budget.borrow_mut().try_queue(len) {
            // The peer is not reading; the timer drops the stream.
            continue;
        }
        if link.out.try_send(frame).is_err() {
            link.budget.borrow_mut().written(len);
            tracing::debug!("sync stream queue full; the next heads exchange repairs it");
        }
    }
}

async fn write_loop(
    mut writer: futures::io::WriteHalf<Stream>,
    mut queued: mpsc::Receiver<Vec<u8>>,
    budget: Rc<RefCell<WriteBudget>>,
) {
    while let Some(frame) = queued.next().await {
        let written = write_frame(&mut writer, &frame).await;
        budget.borrow_mut().written(frame.len());
        if let Err(e) = written {
            tracing::debug!("sync stream write failed: {e}");
            return;
        }
    }
}
