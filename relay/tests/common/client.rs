//! A native libp2p client like the browser app: WebSocket to the relay, relay client
//! (reservations and relayed dials), rendezvous client (presence), and an echo protocol to
//! prove that a relayed connection carries data both ways.
#![allow(dead_code, clippy::unwrap_used)]

use std::io;
use std::time::Duration;

use futures::{AsyncRead, AsyncReadExt as _, AsyncWrite, AsyncWriteExt as _, StreamExt as _};
use libp2p::core::multiaddr::Protocol;
use libp2p::core::upgrade::Version;
use libp2p::request_response::{self, ProtocolSupport};
use libp2p::swarm::{NetworkBehaviour, SwarmEvent};
use libp2p::{
    Multiaddr, PeerId, StreamProtocol, Swarm, SwarmBuilder, Transport as _, noise, relay,
    rendezvous, tcp, websocket, yamux,
};

/// Every wait in a test is bounded by this.
pub const STEP: Duration = Duration::from_secs(10);

pub const ECHO: StreamProtocol = StreamProtocol::new("/quire-test/echo/1");

/// Length-prefixed bytes both ways; the responder answers with its own payload.
#[derive(Debug, Clone, Default)]
pub struct EchoCodec;

async fn read_blob<T: AsyncRead + Unpin>(io: &mut T) -> io::Result<Vec<u8>> {
    let mut len = [0u8; 4];
    io.read_exact(&mut len).await?;
    let mut body = vec![0; u32::from_be_bytes(len).min(1 << 20) as usize];
    io.read_exact(&mut body).await?;
    Ok(body)
}

async fn write_blob<T: AsyncWrite + Unpin>(io: &mut T, body: &[u8]) -> io::Result<()> {
    io.write_all(&(body.len() as u32).to_be_bytes()).await?;
    io.write_all(body).await?;
    io.flush().await
}

impl request_response::Codec for EchoCodec {
    type Protocol = StreamProtocol;
    type Request = Vec<u8>;
    type Response = Vec<u8>;
    async fn read_request<T: AsyncRead + Unpin + Send>(
        &mut self,
        _: &StreamProtocol,
        io: &mut T,
    ) -> io::Result<Vec<u8>> {
        read_blob(io).await
    }
    async fn read_response<T: AsyncRead + Unpin + Send>(
        &mut self,
        _: &StreamProtocol,
        io: &mut T,
    ) -> io::Result<Vec<u8>> {
        read_blob(io).await
    }
    async fn write_request<T: AsyncWrite + Unpin + Send>(
        &mut self,
        _: &StreamProtocol,
        io: &mut T,
        body: Vec<u8>,
    ) -> io::Result<()> {
        write_blob(io, &body).await
    }
    async fn write_response<T: AsyncWrite + Unpin + Send>(
        &mut self,
        _: &StreamProtocol,
        io: &mut T,
        body: Vec<u8>,
    ) -> io::Result<()> {
        write_blob(io, &body).await
    }
}

/// Sends arbitrary bytes on the relay's presence protocol, to test what it does with garbage.
#[derive(Debug, Clone, Default)]
pub struct RawCodec;

impl request_response::Codec for RawCodec {
    type Protocol = StreamProtocol;
    type Request = Vec<u8>;
    type Response = Vec<u8>;
    async fn read_request<T: AsyncRead + Unpin + Send>(
        &mut self,
        _: &StreamProtocol,
        _: &mut T,
    ) -> io::Result<Vec<u8>> {
        Err(io::ErrorKind::Unsupported.into())
    }
    async fn read_response<T: AsyncRead + Unpin + Send>(
        &mut self,
        _: &StreamProtocol,
        io: &mut T,
    ) -> io::Result<Vec<u8>> {
        let mut all = Vec::new();
        io.read_to_end(&mut all).await?;
        if all.is_empty() {
            return Err(io::ErrorKind::UnexpectedEof.into());
        }
        Ok(all)
    }
    async fn write_request<T: AsyncWrite + Unpin + Send>(
        &mut self,
        _: &StreamProtocol,
        io: &mut T,
        body: Vec<u8>,
    ) -> io::Result<()> {
        io.write_all(&body).await?;
        io.flush().await
    }
    async fn write_response<T: AsyncWrite + Unpin + Send>(
        &mut self,
        _: &StreamProtocol,
        _: &mut T,
        _: Vec<u8>,
    ) -> io::Result<()> {
        Err(io::ErrorKind::Unsupported.into())
    }
}

#[derive(NetworkBehaviour)]
pub struct ClientBehaviour {
    pub relay: relay::client::Behaviour,
    pub rendezvous: rendezvous::client::Behaviour,
    pub echo: request_response::Behaviour<EchoCodec>,
    pub raw: request_response::Behaviour<RawCodec>,
    pub streams: libp2p_stream::Behaviour,
}

pub struct Client {
    pub swarm: Swarm<ClientBehaviour>,
    pub relay: PeerId,
    pub relay_addr: Multiaddr,
}

impl Client {
    /// Connects to the relay at `relay_addr` (which ends in `/p2p/<relay>`).
    pub async fn connect(relay_addr: &Multiaddr) -> Self {
        Self::try_connect(relay_addr)
            .await
            .unwrap_or_else(|error| panic!("cannot reach relay: {error}"))
    }

    /// Like [`Client::connect`], but reports a refused or dropped connection.
    pub async fn try_connect(relay_addr: &Multiaddr) -> Result<Self, String> {
        Self::try_connect_as(relay_addr, libp2p::identity::Keypair::generate_ed25519()).await
    }

    /// Like [`Client::connect`], with a given identity (two clients may share one, as two
    /// browsers with one restored account do).
    pub async fn connect_as(relay_addr: &Multiaddr, key: libp2p::identity::Keypair) -> Self {
        Self::try_connect_as(relay_addr, key)
            .await
            .unwrap_or_else(|error| panic!("cannot reach relay: {error}"))
    }

    pub async fn try_connect_as(
        relay_addr: &Multiaddr,
        key: libp2p::identity::Keypair,
    ) -> Result<Self, String> {
        let mut swarm = SwarmBuilder::with_existing_identity(key)
            .with_tokio()
            .with_other_transport(|key| {
                let ws = websocket::Config::new(tcp::tokio::Transport::new(tcp::Config::default()));
                ws.upgrade(Version::V1Lazy)
                    .authenticate(noise::Config::new(key).unwrap())
                    .multiplex(yamux::Config::default())
            })
            .unwrap()
            .with_relay_client(noise::Config::new, yamux::Config::default)
            .unwrap()
            .with_behaviour(|key, relay| ClientBehaviour {
                relay,
                rendezvous: rendezvous::client::Behaviour::new(key.clone()),
                echo: request_response::Behaviour::new(
                    [(ECHO, ProtocolSupport::Full)],
                    request_response::Config::default(),
                ),
                raw: request_response::Behaviour::new(
                    [(
                        StreamProtocol::new("/rendezvous/1.0.0"),
                        ProtocolSupport::Outbound,
                    )],
                    request_response::Config::default(),
                ),
                streams: libp2p_stream::Behaviour::new(),
            })
            .unwrap()
            .with_swarm_config(|c| c.with_idle_connection_timeout(Duration::from_secs(60)))
            .build();
        let relay = match relay_addr.iter().last() {
            Some(Protocol::P2p(peer)) => peer,
            _ => panic!("relay address without /p2p: {relay_addr}"),
        };
        swarm.dial(relay_addr.clone()).unwrap();
        let mut client = Self {
            swarm,
            relay,
            relay_addr: relay_addr.clone(),
        };
        client
            .until(|event| match event {
                SwarmEvent::ConnectionEstablished { peer_id, .. } if *peer_id == relay => {
                    Some(Ok(()))
                }
                SwarmEvent::OutgoingConnectionError { error, .. } => Some(Err(error.to_string())),
                _ => None,
            })
            .await?;
        Ok(client)
    }

    /// Sends raw bytes on the presence protocol; `Ok` holds whatever the relay answered.
    pub async fn send_raw_presence(&mut self, bytes: Vec<u8>) -> Result<Vec<u8>, String> {
        let relay = self.relay;
        let id = self.swarm.behaviour_mut().raw.send_request(&relay, bytes);
        self.until(|event| match event {
            SwarmEvent::Behaviour(ClientBehaviourEvent::Raw(
                request_response::Event::Message {
                    message:
                        request_response::Message::Response {
                            request_id,
                            response,
                        },
                    ..
                },
            )) if *request_id == id => Some(Ok(response.clone())),
            SwarmEvent::Behaviour(ClientBehaviourEvent::Raw(
                request_response::Event::OutboundFailure {
                    request_id, error, ..
                },
            )) if *request_id == id => Some(Err(error.to_string())),
            _ => None,
        })
        .await
    }

    /// Hands the swarm to a task that polls it until the handle is aborted (or dropped with the
    /// runtime), for tests that only use streams; returns the stream control and the relay.
    pub fn run_in_background(
        mut self,
    ) -> (libp2p_stream::Control, PeerId, tokio::task::JoinHandle<()>) {
        let control = self.swarm.behaviour().streams.new_control();
        let relay = self.relay;
        let task = tokio::spawn(async move {
            loop {
                self.swarm.select_next_some().await;
            }
        });
        (control, relay, task)
    }

    pub fn peer_id(&self) -> PeerId {
        *self.swarm.local_peer_id()
    }

    /// Polls the swarm until `pick` returns a value, answering echo requests meanwhile.
    pub async fn until<T>(
        &mut self,
        mut pick: impl FnMut(&SwarmEvent<ClientBehaviourEvent>) -> Option<T>,
    ) -> T {
        tokio::time::timeout(STEP, async {
            loop {
                let event = self.swarm.select_next_some().await;
                if let Some(value) = pick(&event) {
                    return value;
                }
                self.answer_echo(event);
            }
        })
        .await
        .expect("timed out waiting for a client event")
    }

    fn answer_echo(&mut self, event: SwarmEvent<ClientBehaviourEvent>) {
        if let SwarmEvent::Behaviour(ClientBehaviourEvent::Echo(
            request_response::Event::Message {
                message:
                    request_response::Message::Request {
                        request, channel, ..
                    },
                ..
            },
        )) = event
        {
            let mut reply = b"echo:".to_vec();
            reply.extend_from_slice(&request);
            let _ = self
                .swarm
                .behaviour_mut()
                .echo
                .send_response(channel, reply);
        }
    }

    /// Reserves a relay slot and returns our relayed address.
    pub async fn reserve(&mut self) -> Multiaddr {
        self.swarm
            .listen_on(self.relay_addr.clone().with(Protocol::P2pCircuit))
            .unwrap();
        let relay = self.relay;
        self.until(|event| match event {
            SwarmEvent::Behaviour(ClientBehaviourEvent::Relay(
                relay::client::Event::ReservationReqAccepted { relay_peer_id, .. },
            )) if *relay_peer_id == relay => Some(()),
            SwarmEvent::ListenerClosed { reason, .. } => panic!("reservation failed: {reason:?}"),
            _ => None,
        })
        .await;
        let me = self.peer_id();
        self.relay_addr
            .clone()
            .with(Protocol::P2pCircuit)
            .with(Protocol::P2p(me))
    }

    /// Starts a reservation and waits for the relay's answer: `Ok(addr)` or `Err(reason)`.
    pub async fn try_reserve(&mut self) -> Result<(), String> {
        self.swarm
            .listen_on(self.relay_addr.clone().with(Protocol::P2pCircuit))
            .unwrap();
        self.until(|event| match event {
            SwarmEvent::Behaviour(ClientBehaviourEvent::Relay(
                relay::client::Event::ReservationReqAccepted { .. },
            )) => Some(Ok(())),
            SwarmEvent::ListenerClosed { reason, .. } => Some(Err(format!("{reason:?}"))),
            _ => None,
        })
        .await
    }

    /// Registers presence under `namespace`, announcing `addr` as where we can be reached.
    pub async fn register(&mut self, namespace: &str, addr: Multiaddr) -> Result<u64, String> {
        self.swarm.add_external_address(addr);
        let relay = self.relay;
        self.swarm
            .behaviour_mut()
            .rendezvous
            .register(
                rendezvous::Namespace::new(namespace.into()).unwrap(),
                relay,
                None,
            )
            .unwrap();
        self.until(|event| match event {
            SwarmEvent::Behaviour(ClientBehaviourEvent::Rendezvous(
                rendezvous::client::Event::Registered { ttl, .. },
            )) => Some(Ok(*ttl)),
            SwarmEvent::Behaviour(ClientBehaviourEvent::Rendezvous(
                rendezvous::client::Event::RegisterFailed { error, .. },
            )) => Some(Err(format!("{error:?}"))),
            _ => None,
        })
        .await
    }

    /// The peers present under `namespace`, as the relay reports them.
    pub async fn discover(&mut self, namespace: &str) -> Result<Vec<PeerId>, String> {
        let relay = self.relay;
        self.swarm.behaviour_mut().rendezvous.discover(
            Some(rendezvous::Namespace::new(namespace.into()).unwrap()),
            None,
            None,
            relay,
        );
        self.until(|event| match event {
            SwarmEvent::Behaviour(ClientBehaviourEvent::Rendezvous(
                rendezvous::client::Event::Discovered { registrations, .. },
            )) => Some(Ok(registrations
                .iter()
                .map(|r| r.record.peer_id())
                .collect())),
            SwarmEvent::Behaviour(ClientBehaviourEvent::Rendezvous(
                rendezvous::client::Event::DiscoverFailed { error, .. },
            )) => Some(Err(format!("{error:?}"))),
            _ => None,
        })
        .await
    }

    /// Keeps polling (answering echo requests) for `duration`.
    pub async fn serve_for(&mut self, duration: Duration) {
        let _ = tokio::time::timeout(duration, async {
            loop {
                let event = self.swarm.select_next_some().await;
                self.answer_echo(event);
            }
        })
        .await;
    }

    /// Sends `body` to `peer` on the echo protocol and returns the reply.
    pub async fn echo(&mut self, peer: PeerId, body: &[u8]) -> Vec<u8> {
        let id = self
            .swarm
            .behaviour_mut()
            .echo
            .send_request(&peer, body.to_vec());
        self.until(|event| match event {
            SwarmEvent::Behaviour(ClientBehaviourEvent::Echo(
                request_response::Event::Message {
                    message:
                        request_response::Message::Response {
                            request_id,
                            response,
                        },
                    ..
                },
            )) if *request_id == id => Some(response.clone()),
            SwarmEvent::Behaviour(ClientBehaviourEvent::Echo(
                request_response::Event::OutboundFailure {
                    request_id, error, ..
                },
            )) if *request_id == id => panic!("echo failed: {error}"),
            _ => None,
        })
        .await
    }
}

/// The relay's WebSocket address from its description.
pub fn ws_addr(addrs: &[Multiaddr]) -> Multiaddr {
    addrs
        .iter()
        .find(|a| a.iter().any(|p| matches!(p, Protocol::Ws(_))))
        .cloned()
        .expect("relay announces a WebSocket address")
}
