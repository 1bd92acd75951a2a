//! The browser's libp2p node: reaches the relay that served the app over WebSocket, holds a
//! relay reservation (listening on `…/p2p-circuit` and advertising `…/p2p-circuit/webrtc`),
//! registers and discovers presence through rendezvous, and upgrades every peer link it dials to
//! a direct `/webrtc` connection, closing the relayed one once the direct one is up.
//!
//! Calling contract: [`Node::start`] returns the owner of the node's task (dropping it stops the
//! node) and a receiver of [`NetEvent`]s; [`NodeHandle`] clones are cheap and give the app
//! `connect`, `register`, `discover`, `open_stream` and `accept`.
//!
//! Decisions: connections stay up until the app disconnects or the peer goes away (a messenger
//! pushes new pages at once, so idle links are kept); the node does not redial peers by itself
//! (the app knows whom it cares about), but it does redial the relay with backoff. If the
//! `/webrtc` upgrade fails (ICE found no path) the relayed connection is kept and the link state
//! says `relayed`.

use std::{
    cell::RefCell,
    collections::{BTreeSet, HashMap},
    rc::Rc,
    time::Duration,
};

use futures::{
    FutureExt as _, StreamExt as _,
    channel::mpsc,
    future::{AbortHandle, Abortable},
};
use futures_timer::Delay;
use libp2p::{
    Multiaddr, PeerId, Stream, StreamProtocol, Swarm, SwarmBuilder, identify,
    identity::Keypair,
    multiaddr::Protocol,
    noise, ping, relay, rendezvous,
    swarm::{
        ConnectionId, NetworkBehaviour, SwarmEvent,
        dial_opts::{DialOpts, PeerCondition},
    },
    yamux,
};

use super::{
    backlog::Backlog,
    link::{LinkState, LinkTable, Path},
    relay_info::{self, RelayInfo, RelayInfoError},
    webrtc::transport::{self as webrtc, webrtc_addr},
};

/// Where the app finds its relay: the origin that served it.
pub const RELAY_INFO_PATH: &str = "/relay.json";

/// Commands from the app waiting for the node's task; the task handles them in microseconds,
/// so a full queue means the app is looping, and it is told so instead of queueing forever.
const COMMAND_QUEUE: usize = 64;

/// Events waiting for the app. When the app falls behind, events are dropped (the snapshot in
/// [`NodeHandle::links`] stays authoritative).
const EVENT_QUEUE: usize = 256;

/// Namespaces the node keeps registered (a user is in a bounded number of rooms at once).
const MAX_NAMESPACES: usize = 256;

/// Relay redial backoff.
const RELAY_BACKOFF_MIN: Duration = Duration::from_secs(1);
const RELAY_BACKOFF_MAX: Duration = Duration::from_secs(30);

/// Presence registrations are refreshed this often (the rendezvous default TTL is 2 h).
const REGISTRATION_REFRESH: Duration = Duration::from_secs(30 * 60);

/// Links stay up while both ends are online; this only reaps connections nobody uses for a day.
const IDLE_CONNECTION_TIMEOUT: Duration = Duration::from_secs(24 * 60 * 60);

/// Covers the `/webrtc` handshake (15 s) plus the relay hop; the SwarmBuilder default of 10 s
/// would cut the handshake short.
const CONNECTION_TIMEOUT: Duration = Duration::from_secs(30);

/// Liveness: every peer connection is pinged this often...
const PING_INTERVAL: Duration = Duration::from_secs(1);
/// ...and closed when no ping succeeded for this long. A closed tab takes Chromium well over
/// 10 s to notice on its own (no SCTP abort is sent); with this the peer shows offline within
/// LIVENESS_TIMEOUT + LIVENESS_CHECK (7 s), under the 10 s the UI promises, while a busy main
/// thread or a bulk transfer sharing the association still has seconds to answer.
const LIVENESS_TIMEOUT: Duration = Duration::from_secs(6);
const LIVENESS_CHECK: Duration = Duration::from_secs(1);
/// One ping may take this long (libp2p-ping opens a new stream after a timeout).
const PING_TIMEOUT: Duration = Duration::from_secs(4);

const IDENTIFY_PROTOCOL: &str = "/quire/id/1";

#[derive(NetworkBehaviour)]
struct Behaviour {
    relay: relay::client::Behaviour,
    rendezvous: rendezvous::client::Behaviour,
    identify: identify::Behaviour,
    ping: ping::Behaviour,
    streams: libp2p_stream::Behaviour,
}

/// Something the app may want to show or act on.
#[derive(Clone, Debug)]
pub enum NetEvent {
    /// Connected to (or lost) the relay.
    Relay {
        connected: bool,
    },
    /// Our addresses, as peers should dial them.
    Listening {
        addrs: Vec<Multiaddr>,
    },
    Link {
        peer: PeerId,
        state: LinkState,
    },
    Discovered {
        namespace: String,
        peers: Vec<(PeerId, Vec<Multiaddr>)>,
    },
    DiscoverFailed {
        namespace: String,
    },
    Registered {
        namespace: String,
    },
    RegisterFailed {
        namespace: String,
        reason: String,
    },
}

/// What a [`NetEvent`] is about: a newer event about the same thing supersedes an older one
/// that is still waiting for the app.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
enum EventKey {
    Relay,
    Listening,
    Link(PeerId),
    Discovery(String),
    Registration(String),
}

impl EventKey {
    fn of(event: &NetEvent) -> Self {
        match event {
            NetEvent::Relay { .. } => Self::Relay,
            NetEvent::Listening { .. } => Self::Listening,
            NetEvent::Link { peer, .. } => Self::Link(*peer),
            NetEvent::Discovered { namespace, .. } | NetEvent::DiscoverFailed { namespace } => {
                Self::Discovery(namespace.clone())
            }
            NetEvent::Registered { namespace } | NetEvent::RegisterFailed { namespace, .. } => {
                Self::Registration(namespace.clone())
            }
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum NodeError {
    #[error(transparent)]
    RelayInfo(#[from] RelayInfoError),
    #[error("relay info has no address a browser can dial (need /ws or /wss): {0:?}")]
    NoBrowserAddress(Vec<String>),
    #[error("bad relay peer id {0:?}")]
    BadRelayPeer(String),
    #[error("could not build the libp2p node: {0}")]
    Build(String),
    #[error("the node is busy; try again")]
    Busy,
    #[error("the node has stopped")]
    Stopped,
    #[error("namespace too long or too many namespaces")]
    BadNamespace,
    #[error("address does not name a peer (no /p2p/<id>): {0}")]
    BadAddress(Multiaddr),
    #[error("already accepting {0}")]
    AlreadyAccepting(String),
    #[error("could not open {protocol} to {peer}: {reason}")]
    OpenStream {
        peer: PeerId,
        protocol: String,
        reason: String,
    },
}

/// How the node finds its relay.
#[derive(Clone, Debug)]
pub enum RelaySource {
    /// Fetch a `/relay.json`-shaped document from this URL.
    Url(String),
    Info(RelayInfo),
}

#[derive(Clone, Debug)]
pub struct NodeConfig {
    pub relay: RelaySource,
    /// `/webrtc` settings; when `ice.servers` is empty the relay's recommendation is used.
    pub webrtc: webrtc::Config,
}

impl Default for NodeConfig {
    fn default() -> Self {
        Self {
            relay: RelaySource::Url(RELAY_INFO_PATH.to_owned()),
            webrtc: webrtc::Config::default(),
        }
    }
}

#[derive(Debug)]
enum Command {
    Connect {
        peer: PeerId,
        via: Option<Multiaddr>,
    },
    Disconnect(PeerId),
    Register(String),
    Unregister(String),
    Discover(String),
}

/// State the task publishes for synchronous reads by the UI.
#[derive(Debug, Default)]
struct Published {
    links: LinkTable<PeerId, ConnectionId>,
    /// Remote address of every live peer connection (relay excluded).
    connections: HashMap<PeerId, Vec<(ConnectionId, Multiaddr)>>,
    listen_addrs: Vec<Multiaddr>,
    relay_connected: bool,
}

/// A cheap handle to the node for the app.
#[derive(Clone)]
pub struct NodeHandle {
    peer_id: PeerId,
    relay: PeerId,
    commands: mpsc::Sender<Command>,
    control: libp2p_stream::Control,
    published: Rc<RefCell<Published>>,
}

impl std::fmt::Debug for NodeHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NodeHandle")
            .field("peer_id", &self.peer_id)
            .finish()
    }
}

/// Owns the node's task; dropping it stops the node.
#[derive(Debug)]
pub struct Node {
    handle: NodeHandle,
    abort: AbortHandle,
}

impl Drop for Node {
    fn drop(&mut self) {
        self.abort.abort();
    }
}

/// The node's libp2p identity from the user's ed25519 secret key (32 bytes). The app keeps its
/// identity with `libp2p-identity` 0.2 (quire-core) while libp2p 0.57 uses 0.3; the raw secret is
/// the stable bridge, and both derive the same PeerId from it.
pub fn keypair_from_ed25519_secret(mut secret: [u8; 32]) -> Result<Keypair, NodeError> {
    Keypair::ed25519_from_bytes(&mut secret).map_err(|e| NodeError::Build(e.to_string()))
}

impl Node {
    /// Fetches the relay info, builds the swarm, and starts the node's task.
    pub async fn start(
        keypair: Keypair,
        mut config: NodeConfig,
    ) -> Result<(Node, mpsc::Receiver<NetEvent>), NodeError> {
        let info = match config.relay {
            RelaySource::Url(url) => relay_info::fetch(&url).await?,
            RelaySource::Info(info) => info,
        };
        let relay = RelayTarget::from_info(&info)?;
        let relay_peer = relay.peer;
        if config.webrtc.ice.servers.is_empty() {
            config.webrtc.ice.servers = info.ice_servers.clone();
        }
        let peer_id = keypair.public().to_peer_id();
        let streams = libp2p_stream::Behaviour::new();
        let control = streams.new_control();
        let webrtc_control = streams.new_control();
        let webrtc_config = config.webrtc.clone();
        let swarm = build_swarm(keypair, streams, webrtc_config, webrtc_control)?;

        let (command_tx, command_rx) = mpsc::channel(COMMAND_QUEUE);
        let (event_tx, event_rx) = mpsc::channel(EVENT_QUEUE);
        let published = Rc::new(RefCell::new(Published::default()));
        let task = Task {
            swarm,
            relay,
            events: event_tx,
            backlog: Backlog::default(),
            published: published.clone(),
            namespaces: BTreeSet::new(),
            pending_dials: HashMap::new(),
            circuit_listener: None,
            relay_backoff: RELAY_BACKOFF_MIN,
            relay_redial: None,
            have_external_addr: false,
            last_alive: HashMap::new(),
            direct: HashMap::new(),
        };
        let (abort, registration) = AbortHandle::new_pair();
        wasm_bindgen_futures::spawn_local(
            Abortable::new(task.run(command_rx), registration).map(|_| ()),
        );
        Ok((
            Node {
                handle: NodeHandle {
                    peer_id,
                    relay: relay_peer,
                    commands: command_tx,
                    control,
                    published,
                },
                abort,
            },
            event_rx,
        ))
    }

    pub fn handle(&self) -> NodeHandle {
        self.handle.clone()
    }
}

fn build_swarm(
    keypair: Keypair,
    streams: libp2p_stream::Behaviour,
    webrtc_config: webrtc::Config,
    webrtc_control: libp2p_stream::Control,
) -> Result<Swarm<Behaviour>, NodeError> {
    let build = |e: &dyn std::fmt::Display| NodeError::Build(e.to_string());
    let swarm = SwarmBuilder::with_existing_identity(keypair)
        .with_wasm_bindgen()
        .with_other_transport(|key| {
            use libp2p::core::{Transport as _, upgrade::Version};
            Ok::<_, Box<dyn std::error::Error + Send + Sync>>(
                libp2p::websocket_websys::Transport::default()
                    .upgrade(Version::V1Lazy)
                    .authenticate(noise::Config::new(key)?)
                    .multiplex(yamux::Config::default()),
            )
        })
        .map_err(|e| build(&e))?
        // After the relay client transport in the stack, so `/p2p-circuit` dials never reach it.
        .with_other_transport(|_| webrtc::Transport::new(webrtc_config, webrtc_control))
        .map_err(|e| build(&e))?
        .with_relay_client(noise::Config::new, yamux::Config::default)
        .map_err(|e| build(&e))?
        .with_behaviour(|key, relay| Behaviour {
            relay,
            rendezvous: rendezvous::client::Behaviour::new(key.clone()),
            identify: identify::Behaviour::new(identify::Config::new(
                IDENTIFY_PROTOCOL.to_owned(),
                key.public(),
            )),
            ping: ping::Behaviour::new(
                ping::Config::new()
                    .with_interval(PING_INTERVAL)
                    .with_timeout(PING_TIMEOUT),
            ),
            streams,
        })
        .map_err(|e| build(&e))?
        .with_swarm_config(|c| c.with_idle_connection_timeout(IDLE_CONNECTION_TIMEOUT))
        .with_connection_timeout(CONNECTION_TIMEOUT)
        .build();
    Ok(swarm)
}

/// The relay as the node dials it.
#[derive(Debug, Clone)]
struct RelayTarget {
    peer: PeerId,
    /// WebSocket addresses ending in `/p2p/<relay>`.
    addrs: Vec<Multiaddr>,
}

impl RelayTarget {
    fn from_info(info: &RelayInfo) -> Result<Self, NodeError> {
        let peer: PeerId = info
            .peer_id
            .parse()
            .map_err(|_| NodeError::BadRelayPeer(info.peer_id.clone()))?;
        let addrs: Vec<Multiaddr> = info
            .addrs
            .iter()
            .filter_map(|a| a.parse::<Multiaddr>().ok())
            .filter(|a| {
                a.iter()
                    .any(|p| matches!(p, Protocol::Ws(_) | Protocol::Wss(_)))
            })
            .map(|a| {
                if a.iter().any(|p| matches!(p, Protocol::P2p(_))) {
                    a
                } else {
                    a.with(Protocol::P2p(peer))
                }
            })
            .collect();
        if addrs.is_empty() {
            return Err(NodeError::NoBrowserAddress(info.addrs.clone()));
        }
        Ok(Self { peer, addrs })
    }

    /// `<relay>/p2p-circuit/p2p/<peer>`.
    fn circuit_to(&self, peer: PeerId) -> Option<Multiaddr> {
        self.addrs.first().map(|a| {
            a.clone()
                .with(Protocol::P2pCircuit)
                .with(Protocol::P2p(peer))
        })
    }
}

impl NodeHandle {
    pub fn peer_id(&self) -> PeerId {
        self.peer_id
    }

    fn send(&self, command: Command) -> Result<(), NodeError> {
        self.commands.clone().try_send(command).map_err(|e| {
            if e.is_full() {
                NodeError::Busy
            } else {
                NodeError::Stopped
            }
        })
    }

    /// Connects to `peer` through the relay and upgrades to a direct `/webrtc` link.
    pub fn connect(&self, peer: PeerId) -> Result<(), NodeError> {
        self.send(Command::Connect { peer, via: None })
    }

    /// Connects through a given address: a circuit address, optionally ending in
    /// `/webrtc/p2p/<peer>` as js-libp2p advertises it.
    pub fn connect_addr(&self, addr: Multiaddr) -> Result<PeerId, NodeError> {
        let peer = addr
            .iter()
            .filter_map(|p| match p {
                Protocol::P2p(id) => Some(id),
                _ => None,
            })
            .last()
            .ok_or_else(|| NodeError::BadAddress(addr.clone()))?;
        self.send(Command::Connect {
            peer,
            via: Some(addr),
        })?;
        Ok(peer)
    }

    pub fn disconnect(&self, peer: PeerId) -> Result<(), NodeError> {
        self.send(Command::Disconnect(peer))
    }

    /// Announces presence under `namespace` (kept registered until [`Self::unregister`]).
    pub fn register(&self, namespace: &str) -> Result<(), NodeError> {
        rendezvous::Namespace::new(namespace.to_owned()).map_err(|_| NodeError::BadNamespace)?;
        self.send(Command::Register(namespace.to_owned()))
    }

    pub fn unregister(&self, namespace: &str) -> Result<(), NodeError> {
        self.send(Command::Unregister(namespace.to_owned()))
    }

    /// Asks the relay who is registered under `namespace`; answered by [`NetEvent::Discovered`].
    pub fn discover(&self, namespace: &str) -> Result<(), NodeError> {
        rendezvous::Namespace::new(namespace.to_owned()).map_err(|_| NodeError::BadNamespace)?;
        self.send(Command::Discover(namespace.to_owned()))
    }

    pub fn link_state(&self, peer: &PeerId) -> LinkState {
        self.published.borrow().links.state(peer)
    }

    /// Every peer that is not offline.
    pub fn links(&self) -> Vec<(PeerId, LinkState)> {
        self.published.borrow().links.snapshot()
    }

    /// Remote addresses of the live connections to `peer` (a `/webrtc/...` one is direct).
    pub fn connection_addrs(&self, peer: &PeerId) -> Vec<Multiaddr> {
        self.published
            .borrow()
            .connections
            .get(peer)
            .map(|c| c.iter().map(|(_, a)| a.clone()).collect())
            .unwrap_or_default()
    }

    pub fn listen_addrs(&self) -> Vec<Multiaddr> {
        self.published.borrow().listen_addrs.clone()
    }

    /// The relay's peer id.
    pub fn relay_peer(&self) -> PeerId {
        self.relay
    }

    pub fn relay_connected(&self) -> bool {
        self.published.borrow().relay_connected
    }

    /// Opens a stream to a connected peer (call [`Self::connect`] first).
    pub async fn open_stream(
        &self,
        peer: PeerId,
        protocol: &'static str,
    ) -> Result<Stream, NodeError> {
        self.control
            .clone()
            .open_stream(peer, StreamProtocol::new(protocol))
            .await
            .map_err(|e| NodeError::OpenStream {
                peer,
                protocol: protocol.to_owned(),
                reason: e.to_string(),
            })
    }

    /// Starts accepting inbound streams for `protocol` (once per protocol).
    pub fn accept(
        &self,
        protocol: &'static str,
    ) -> Result<libp2p_stream::IncomingStreams, NodeError> {
        self.control
            .clone()
            .accept(StreamProtocol::new(protocol))
            .map_err(|_| NodeError::AlreadyAccepting(protocol.to_owned()))
    }
}

struct Task {
    swarm: Swarm<Behaviour>,
    relay: RelayTarget,
    events: mpsc::Sender<NetEvent>,
    /// Events that did not fit in `events` yet (latest per subject; see [`Backlog`]).
    backlog: Backlog<EventKey, NetEvent>,
    published: Rc<RefCell<Published>>,
    namespaces: BTreeSet<String>,
    /// Our dials in flight: which peer, and whether it is the `/webrtc` upgrade.
    pending_dials: HashMap<ConnectionId, (PeerId, bool)>,
    circuit_listener: Option<libp2p::core::transport::ListenerId>,
    relay_backoff: Duration,
    relay_redial: Option<Delay>,
    have_external_addr: bool,
    /// Peer connections and when they last proved alive (ms, `performance.now()` clock).
    last_alive: HashMap<ConnectionId, f64>,
    /// Direct connections per peer and whether we dialed them (to drop duplicates).
    direct: HashMap<PeerId, Vec<(ConnectionId, bool)>>,
}

fn now_ms() -> f64 {
    web_sys::window()
        .and_then(|w| w.performance())
        .map(|p| p.now())
        .unwrap_or_else(js_sys::Date::now)
}

enum Step {
    Swarm(Box<SwarmEvent<BehaviourEvent>>),
    Command(Option<Command>),
    RedialRelay,
    Refresh,
    CheckLiveness,
}

fn path_of(addr: &Multiaddr) -> Option<Path> {
    if addr.iter().any(|p| p == Protocol::P2pCircuit) {
        Some(Path::Relayed)
    } else if addr.iter().any(|p| p == Protocol::WebRTC) {
        Some(Path::Direct)
    } else {
        None
    }
}

impl Task {
    async fn run(mut self, mut commands: mpsc::Receiver<Command>) {
        if let Err(e) = self.swarm.listen_on(webrtc_addr()) {
            tracing::warn!("cannot listen on /webrtc: {e}");
        }
        self.dial_relay();
        let mut refresh = Delay::new(REGISTRATION_REFRESH);
        let mut liveness = Delay::new(LIVENESS_CHECK);
        loop {
            // At least every LIVENESS_CHECK, so waiting events reach the app soon after it
            // drained its queue.
            self.drain_backlog();
            let step = {
                let redial = async {
                    match self.relay_redial.as_mut() {
                        Some(t) => t.await,
                        None => futures::future::pending().await,
                    }
                };
                futures::select_biased! {
                    c = commands.next() => Step::Command(c),
                    e = self.swarm.select_next_some() => Step::Swarm(Box::new(e)),
                    () = redial.fuse() => Step::RedialRelay,
                    () = (&mut refresh).fuse() => Step::Refresh,
                    () = (&mut liveness).fuse() => Step::CheckLiveness,
                }
            };
            match step {
                Step::Command(None) => return,
                Step::Command(Some(c)) => self.on_command(c),
                Step::Swarm(e) => self.on_swarm_event(*e),
                Step::RedialRelay => {
                    self.relay_redial = None;
                    self.dial_relay();
                }
                Step::Refresh => {
                    refresh = Delay::new(REGISTRATION_REFRESH);
                    self.register_all();
                }
                Step::CheckLiveness => {
                    liveness = Delay::new(LIVENESS_CHECK);
                    self.close_silent_connections();
                }
            }
        }
    }

    /// When both peers dialed each other at once there are two direct connections. Both sides
    /// keep the same one without talking: the one dialed by the smaller PeerId.
    fn drop_duplicate_direct(&mut self, peer: PeerId, connection: ConnectionId, we_dialed: bool) {
        let list = self.direct.entry(peer).or_default();
        list.push((connection, we_dialed));
        if list.len() < 2 {
            return;
        }
        let keep_ours = *self.swarm.local_peer_id() < peer;
        let (keep, drop): (Vec<_>, Vec<_>) = list
            .iter()
            .copied()
            .partition(|(_, dialed)| *dialed == keep_ours);
        if keep.is_empty() {
            return;
        }
        *list = keep;
        for (id, _) in drop {
            tracing::debug!(%peer, "closing a duplicate direct connection");
            self.swarm.close_connection(id);
        }
    }

    fn close_silent_connections(&mut self) {
        let now = now_ms();
        let limit = LIVENESS_TIMEOUT.as_secs_f64() * 1000.0;
        let silent: Vec<ConnectionId> = self
            .last_alive
            .iter()
            .filter(|(_, seen)| now - **seen > limit)
            .map(|(id, _)| *id)
            .collect();
        for id in silent {
            tracing::debug!(?id, "no ping answered for {LIVENESS_TIMEOUT:?}: closing");
            self.last_alive.remove(&id);
            self.swarm.close_connection(id);
        }
    }

    /// Hands `event` to the app, or keeps it in the backlog (after anything already waiting,
    /// so the app sees changes in order) until the app's queue has room.
    fn emit(&mut self, event: NetEvent) {
        if self.backlog.is_empty() {
            match self.events.try_send(event) {
                Ok(()) => {}
                Err(e) if e.is_full() => {
                    let event = e.into_inner();
                    self.backlog.push(EventKey::of(&event), event);
                }
                // The app is gone: nobody to tell.
                Err(_) => {}
            }
        } else {
            self.backlog.push(EventKey::of(&event), event);
        }
    }

    /// Moves waiting events into the app's queue while it has room.
    fn drain_backlog(&mut self) {
        while let Some((key, event)) = self.backlog.pop() {
            match self.events.try_send(event) {
                Ok(()) => {}
                Err(e) if e.is_full() => {
                    self.backlog.unpop(key, e.into_inner());
                    return;
                }
                Err(_) => {
                    self.backlog = Backlog::default();
                    return;
                }
            }
        }
    }

    fn emit_link(&mut self, peer: PeerId) {
        let state = self.published.borrow().links.state(&peer);
        self.emit(NetEvent::Link { peer, state });
    }

    fn dial_relay(&mut self) {
        let opts = DialOpts::peer_id(self.relay.peer)
            .addresses(self.relay.addrs.clone())
            .condition(PeerCondition::DisconnectedAndNotDialing)
            .build();
        if let Err(e) = self.swarm.dial(opts) {
            tracing::debug!("relay dial not started: {e}");
        }
    }

    fn schedule_relay_redial(&mut self) {
        if self.relay_redial.is_none() {
            self.relay_redial = Some(Delay::new(self.relay_backoff));
            self.relay_backoff = (self.relay_backoff * 2).min(RELAY_BACKOFF_MAX);
        }
    }

    fn dial_tracked(&mut self, peer: PeerId, addr: Multiaddr, direct: bool) {
        let opts = DialOpts::peer_id(peer)
            .addresses(vec![addr])
            // The `/webrtc` dial happens while the relayed connection is up.
            .condition(if direct {
                PeerCondition::Always
            } else {
                PeerCondition::DisconnectedAndNotDialing
            })
            .build();
        let id = opts.connection_id();
        match self.swarm.dial(opts) {
            Ok(()) => {
                self.pending_dials.insert(id, (peer, direct));
                self.published.borrow_mut().links.dial_started(peer, direct);
            }
            Err(e) => tracing::debug!(%peer, "dial not started: {e}"),
        }
        self.emit_link(peer);
    }

    fn dial_direct(&mut self, peer: PeerId) {
        self.dial_tracked(peer, webrtc_addr().with(Protocol::P2p(peer)), true);
    }

    fn on_command(&mut self, command: Command) {
        match command {
            Command::Connect { peer, via } => {
                if peer == self.relay.peer || peer == *self.swarm.local_peer_id() {
                    return;
                }
                let (connected, direct) = {
                    let p = self.published.borrow();
                    (p.links.is_connected(&peer), p.links.has_direct(&peer))
                };
                if direct {
                    return;
                }
                if connected {
                    self.dial_direct(peer);
                    return;
                }
                let circuit = via
                    .map(|a| {
                        a.iter()
                            .take_while(|p| *p != Protocol::WebRTC)
                            .filter(|p| !matches!(p, Protocol::P2p(id) if *id == peer))
                            .collect::<Multiaddr>()
                            .with(Protocol::P2p(peer))
                    })
                    .filter(|a| a.iter().any(|p| p == Protocol::P2pCircuit))
                    .or_else(|| self.relay.circuit_to(peer));
                if let Some(circuit) = circuit {
                    self.dial_tracked(peer, circuit, false);
                }
            }
            Command::Disconnect(peer) => {
                let _ = self.swarm.disconnect_peer_id(peer);
            }
            Command::Register(ns) => {
                if self.namespaces.len() < MAX_NAMESPACES || self.namespaces.contains(&ns) {
                    self.namespaces.insert(ns.clone());
                    self.register(&ns);
                } else {
                    self.emit(NetEvent::RegisterFailed {
                        namespace: ns,
                        reason: "too many namespaces".into(),
                    });
                }
            }
            Command::Unregister(ns) => {
                if self.namespaces.remove(&ns)
                    && let Ok(namespace) = rendezvous::Namespace::new(ns)
                {
                    let relay = self.relay.peer;
                    self.swarm
                        .behaviour_mut()
                        .rendezvous
                        .unregister(namespace, relay);
                }
            }
            Command::Discover(ns) => {
                if let Ok(namespace) = rendezvous::Namespace::new(ns) {
                    let relay = self.relay.peer;
                    self.swarm.behaviour_mut().rendezvous.discover(
                        Some(namespace),
                        None,
                        None,
                        relay,
                    );
                }
            }
        }
    }

    fn register(&mut self, ns: &str) {
        if !self.have_external_addr {
            // Registered as soon as the reservation gives us an address.
            return;
        }
        let Ok(namespace) = rendezvous::Namespace::new(ns.to_owned()) else {
            return;
        };
        let relay = self.relay.peer;
        if let Err(e) = self
            .swarm
            .behaviour_mut()
            .rendezvous
            .register(namespace, relay, None)
        {
            self.emit(NetEvent::RegisterFailed {
                namespace: ns.to_owned(),
                reason: e.to_string(),
            });
        }
    }

    fn register_all(&mut self) {
        for ns in self.namespaces.clone() {
            self.register(&ns);
        }
    }

    fn on_swarm_event(&mut self, event: SwarmEvent<BehaviourEvent>) {
        match event {
            SwarmEvent::ConnectionEstablished {
                peer_id,
                connection_id,
                endpoint,
                ..
            } => {
                self.pending_dials.remove(&connection_id);
                if peer_id == self.relay.peer {
                    self.on_relay_connected();
                    return;
                }
                // An inbound relayed connection shows the circuit only in its local address
                // (the remote one is just `/p2p/<peer>`).
                let addr = match &endpoint {
                    libp2p::core::ConnectedPoint::Listener { local_addr, .. }
                        if local_addr.iter().any(|p| p == Protocol::P2pCircuit) =>
                    {
                        local_addr.clone().with(Protocol::P2p(peer_id))
                    }
                    other => other.get_remote_address().clone(),
                };
                let Some(path) = path_of(&addr) else {
                    return;
                };
                self.last_alive.insert(connection_id, now_ms());
                {
                    let mut p = self.published.borrow_mut();
                    p.links
                        .established(peer_id, connection_id, path, endpoint.is_dialer());
                    p.connections
                        .entry(peer_id)
                        .or_default()
                        .push((connection_id, addr));
                }
                match path {
                    Path::Relayed if endpoint.is_dialer() => {
                        // The side that opened the circuit initiates WebRTC (spec step 4).
                        if !self.published.borrow().links.has_direct(&peer_id) {
                            self.dial_direct(peer_id);
                        }
                    }
                    Path::Relayed => {}
                    Path::Direct => {
                        self.drop_duplicate_direct(peer_id, connection_id, endpoint.is_dialer());
                        let relayed: Vec<ConnectionId> = self
                            .published
                            .borrow()
                            .links
                            .relayed_connections(&peer_id)
                            .copied()
                            .collect();
                        for id in relayed {
                            self.swarm.close_connection(id);
                        }
                    }
                }
                self.emit_link(peer_id);
            }
            SwarmEvent::ConnectionClosed {
                peer_id,
                connection_id,
                num_established,
                ..
            } => {
                if peer_id == self.relay.peer {
                    if num_established == 0 {
                        self.published.borrow_mut().relay_connected = false;
                        self.have_external_addr = false;
                        self.emit(NetEvent::Relay { connected: false });
                        self.schedule_relay_redial();
                    }
                    return;
                }
                self.last_alive.remove(&connection_id);
                if let Some(list) = self.direct.get_mut(&peer_id) {
                    list.retain(|(id, _)| *id != connection_id);
                    if list.is_empty() {
                        self.direct.remove(&peer_id);
                    }
                }
                {
                    let mut p = self.published.borrow_mut();
                    p.links.closed(&peer_id, &connection_id);
                    if let Some(list) = p.connections.get_mut(&peer_id) {
                        list.retain(|(id, _)| *id != connection_id);
                        if list.is_empty() {
                            p.connections.remove(&peer_id);
                        }
                    }
                }
                self.emit_link(peer_id);
            }
            SwarmEvent::OutgoingConnectionError {
                connection_id,
                peer_id,
                error,
            } => {
                if let Some((peer, direct)) = self.pending_dials.remove(&connection_id) {
                    tracing::debug!(%peer, direct, "dial failed: {error}");
                    self.published.borrow_mut().links.dial_failed(&peer, direct);
                    self.emit_link(peer);
                } else if peer_id == Some(self.relay.peer) {
                    tracing::debug!("relay dial failed: {error}");
                    self.schedule_relay_redial();
                }
            }
            SwarmEvent::ExternalAddrConfirmed { address } => {
                let is_circuit = address.iter().any(|p| p == Protocol::P2pCircuit);
                let is_webrtc = address.iter().any(|p| p == Protocol::WebRTC);
                if is_circuit && !is_webrtc {
                    let base: Multiaddr = address
                        .iter()
                        .take_while(|p| *p != Protocol::P2pCircuit)
                        .chain([Protocol::P2pCircuit])
                        .collect();
                    let webrtc = base.clone().with(Protocol::WebRTC);
                    self.swarm.add_external_address(webrtc.clone());
                    let me = *self.swarm.local_peer_id();
                    let addrs = vec![base.with(Protocol::P2p(me)), webrtc.with(Protocol::P2p(me))];
                    self.published.borrow_mut().listen_addrs = addrs.clone();
                    self.have_external_addr = true;
                    self.emit(NetEvent::Listening { addrs });
                    self.register_all();
                }
            }
            SwarmEvent::ExternalAddrExpired { address }
                if address.iter().any(|p| p == Protocol::P2pCircuit)
                    && !address.iter().any(|p| p == Protocol::WebRTC) =>
            {
                // The reservation is gone: stop advertising its /webrtc twin too.
                let base: Multiaddr = address
                    .iter()
                    .take_while(|p| *p != Protocol::P2pCircuit)
                    .chain([Protocol::P2pCircuit])
                    .collect();
                self.swarm
                    .remove_external_address(&base.with(Protocol::WebRTC));
                self.published.borrow_mut().listen_addrs.clear();
            }
            SwarmEvent::ListenerClosed { listener_id, .. }
                if self.circuit_listener == Some(listener_id) =>
            {
                self.circuit_listener = None;
            }
            SwarmEvent::Behaviour(BehaviourEvent::Rendezvous(event)) => self.on_rendezvous(event),
            SwarmEvent::Behaviour(BehaviourEvent::Ping(ping::Event {
                connection,
                result: Ok(_),
                ..
            })) => {
                if let Some(seen) = self.last_alive.get_mut(&connection) {
                    *seen = now_ms();
                }
            }
            _ => {}
        }
    }

    fn on_relay_connected(&mut self) {
        self.relay_backoff = RELAY_BACKOFF_MIN;
        self.published.borrow_mut().relay_connected = true;
        self.emit(NetEvent::Relay { connected: true });
        if self.circuit_listener.is_none()
            && let Some(addr) = self.relay.addrs.first()
        {
            match self
                .swarm
                .listen_on(addr.clone().with(Protocol::P2pCircuit))
            {
                Ok(id) => self.circuit_listener = Some(id),
                Err(e) => tracing::warn!("cannot reserve a relay slot: {e}"),
            }
        }
    }

    fn on_rendezvous(&mut self, event: rendezvous::client::Event) {
        use rendezvous::client::Event as E;
        match event {
            E::Discovered { registrations, .. } => {
                let me = *self.swarm.local_peer_id();
                let mut by_ns: HashMap<String, Vec<(PeerId, Vec<Multiaddr>)>> = HashMap::new();
                for r in registrations {
                    let peer = r.record.peer_id();
                    if peer == me {
                        continue;
                    }
                    by_ns
                        .entry(r.namespace.to_string())
                        .or_default()
                        .push((peer, r.record.addresses().to_vec()));
                }
                for (namespace, peers) in by_ns {
                    self.emit(NetEvent::Discovered { namespace, peers });
                }
            }
            E::DiscoverFailed { namespace, .. } => {
                let namespace = namespace.map(|n| n.to_string()).unwrap_or_default();
                self.emit(NetEvent::DiscoverFailed { namespace });
            }
            E::Registered { namespace, .. } => {
                self.emit(NetEvent::Registered {
                    namespace: namespace.to_string(),
                });
            }
            E::RegisterFailed {
                namespace, error, ..
            } => {
                self.emit(NetEvent::RegisterFailed {
                    namespace: namespace.to_string(),
                    reason: format!("{error:?}"),
                });
            }
            _ => {}
        }
    }
}
