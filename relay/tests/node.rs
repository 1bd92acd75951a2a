//! The relay's libp2p side as native clients see it: reservations, presence scoped by
//! namespace and gone on disconnect, relayed connections, stable identity, and defences.
#![allow(clippy::unwrap_used)]

mod common;

use std::time::Duration;

use common::client::{Client, ClientBehaviourEvent, STEP, ws_addr};
use common::http_get;
use libp2p::Multiaddr;
use libp2p::core::multiaddr::Protocol;
use libp2p::swarm::SwarmEvent;
use quire_relay::{Config, Limits, Server};

struct Relay {
    server: Server,
    _dist: tempfile::TempDir,
    data: tempfile::TempDir,
}

impl Relay {
    async fn start(limits: Limits) -> Self {
        let dist = tempfile::tempdir().unwrap();
        let data = tempfile::tempdir().unwrap();
        common::write_fake_dist(dist.path());
        let mut config = Config::for_tests(dist.path().to_owned(), data.path().to_owned());
        config.limits = limits;
        let server = Server::spawn(config).await.unwrap();
        Self {
            server,
            _dist: dist,
            data,
        }
    }

    fn ws(&self) -> Multiaddr {
        ws_addr(&self.server.relay_addrs())
    }

    async fn metric(&self, line_start: &str) -> f64 {
        let text = http_get(self.server.local_addr(), "/metrics").await.text();
        text.lines()
            .find(|line| line.starts_with(line_start))
            .and_then(|line| line.rsplit(' ').next())
            .map_or(0.0, |value| value.parse().unwrap())
    }
}

/// Any valid address to announce: presence tests do not dial it.
fn announced(client: &Client) -> Multiaddr {
    client
        .relay_addr
        .clone()
        .with(Protocol::P2pCircuit)
        .with(Protocol::P2p(client.peer_id()))
}

#[tokio::test]
async fn relay_json_lists_websocket_first_and_webrtc_with_certhash() {
    let relay = Relay::start(Limits::default()).await;
    let json = http_get(relay.server.local_addr(), "/relay.json").await;
    assert_eq!(json.status, 200);
    let value: serde_json::Value = serde_json::from_slice(&json.body).unwrap();
    assert_eq!(value["peer_id"], relay.server.peer_id().to_string());
    let addrs: Vec<String> = value["addrs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a.as_str().unwrap().to_owned())
        .collect();
    assert!(addrs[0].contains("/ws/p2p/"), "{addrs:?}");
    assert!(
        addrs.iter().any(|a| a.contains("/webrtc-direct/certhash/")
            && a.ends_with(&relay.server.peer_id().to_string())),
        "{addrs:?}"
    );
    relay.server.shutdown().await;
}

#[tokio::test]
async fn a_client_gets_a_reservation() {
    let relay = Relay::start(Limits::default()).await;
    let mut client = Client::connect(&relay.ws()).await;
    let relayed = client.reserve().await;
    assert!(relayed.to_string().contains("/p2p-circuit/p2p/"));
    client.serve_for(Duration::from_millis(100)).await;
    assert_eq!(relay.metric("quire_relay_reservations ").await, 1.0);
    relay.server.shutdown().await;
}

#[tokio::test]
async fn presence_is_visible_only_within_its_namespace() {
    let relay = Relay::start(Limits::default()).await;
    let mut a = Client::connect(&relay.ws()).await;
    let mut b = Client::connect(&relay.ws()).await;
    let mut c = Client::connect(&relay.ws()).await;
    let room = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08";
    let other = "60303ae22b998861bce3b28f33eec1be758a213c86c93c076dbe9f558c11c752";
    a.register(room, announced(&a)).await.unwrap();
    b.register(room, announced(&b)).await.unwrap();
    c.register(other, announced(&c)).await.unwrap();

    let mut seen_by_a = a.discover(room).await.unwrap();
    seen_by_a.sort();
    let mut expected = vec![a.peer_id(), b.peer_id()];
    expected.sort();
    assert_eq!(seen_by_a, expected);
    assert_eq!(b.discover(room).await.unwrap().len(), 2);
    assert_eq!(c.discover(other).await.unwrap(), vec![c.peer_id()]);
    assert!(
        !c.discover(room).await.unwrap().is_empty(),
        "discovery needs only the namespace"
    );
    assert!(!a.discover(other).await.unwrap().contains(&a.peer_id()));
    assert_eq!(relay.metric("quire_presence_registrations ").await, 3.0);
    relay.server.shutdown().await;
}

#[tokio::test]
async fn listing_every_namespace_is_refused() {
    let relay = Relay::start(Limits::default()).await;
    let mut a = Client::connect(&relay.ws()).await;
    a.register("room", announced(&a)).await.unwrap();
    let relay_peer = a.relay;
    a.swarm
        .behaviour_mut()
        .rendezvous
        .discover(None, None, None, relay_peer);
    let failed = a
        .until(|event| match event {
            SwarmEvent::Behaviour(ClientBehaviourEvent::Rendezvous(event)) => {
                Some(format!("{event:?}"))
            }
            _ => None,
        })
        .await;
    assert!(
        failed.contains("DiscoverFailed") && failed.contains("NotAuthorized"),
        "{failed}"
    );
    relay.server.shutdown().await;
}

#[tokio::test]
async fn presence_disappears_when_a_client_disconnects() {
    let relay = Relay::start(Limits::default()).await;
    let mut a = Client::connect(&relay.ws()).await;
    let mut b = Client::connect(&relay.ws()).await;
    a.register("room", announced(&a)).await.unwrap();
    a.register("second-room", announced(&a)).await.unwrap();
    b.register("room", announced(&b)).await.unwrap();
    assert_eq!(b.discover("room").await.unwrap().len(), 2);
    let gone = a.peer_id();
    drop(a);
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    loop {
        let present = b.discover("room").await.unwrap();
        if !present.contains(&gone) {
            assert_eq!(present, vec![b.peer_id()]);
            break;
        }
        assert!(tokio::time::Instant::now() < deadline, "a is still present");
        b.serve_for(Duration::from_millis(50)).await;
    }
    assert!(b.discover("second-room").await.unwrap().is_empty());
    assert_eq!(relay.metric("quire_presence_registrations ").await, 1.0);
    relay.server.shutdown().await;
}

#[tokio::test]
async fn a_relayed_connection_carries_a_stream_both_ways() {
    let relay = Relay::start(Limits::default()).await;
    let mut a = Client::connect(&relay.ws()).await;
    let mut b = Client::connect(&relay.ws()).await;
    let b_relayed = b.reserve().await;
    let b_id = b.peer_id();
    let a_id = a.peer_id();

    a.swarm.dial(b_relayed).unwrap();
    tokio::select! {
        () = a.until(|event: &SwarmEvent<ClientBehaviourEvent>| match event {
            SwarmEvent::ConnectionEstablished { peer_id, .. } if *peer_id == b_id => Some(()),
            SwarmEvent::OutgoingConnectionError { error, .. } => panic!("relayed dial: {error}"),
            _ => None,
        }) => {}
        () = b.serve_for(STEP) => panic!("b stopped"),
    }
    let reply = tokio::select! {
        reply = a.echo(b_id, b"hello from a") => reply,
        () = b.serve_for(STEP) => panic!("b stopped"),
    };
    assert_eq!(reply, b"echo:hello from a");
    let reply = tokio::select! {
        reply = b.echo(a_id, b"hello from b") => reply,
        () = a.serve_for(STEP) => panic!("a stopped"),
    };
    assert_eq!(reply, b"echo:hello from b");
    assert!(relay.metric("quire_relay_circuits ").await >= 1.0);
    relay.server.shutdown().await;
}

#[tokio::test]
async fn restarting_with_the_same_data_dir_keeps_peer_id_and_certhash() {
    let relay = Relay::start(Limits::default()).await;
    let certhash = |addrs: &[Multiaddr]| {
        addrs
            .iter()
            .flat_map(|a| a.iter())
            .find_map(|p| match p {
                Protocol::Certhash(hash) => Some(hash),
                _ => None,
            })
            .unwrap()
    };
    let peer = relay.server.peer_id();
    let hash = certhash(&relay.server.relay_addrs());
    let data = relay.data;
    relay.server.shutdown().await;

    let dist = tempfile::tempdir().unwrap();
    let again = Server::spawn(Config::for_tests(
        dist.path().to_owned(),
        data.path().to_owned(),
    ))
    .await
    .unwrap();
    assert_eq!(again.peer_id(), peer);
    assert_eq!(certhash(&again.relay_addrs()), hash);
    again.shutdown().await;

    use std::os::unix::fs::PermissionsExt as _;
    for file in std::fs::read_dir(data.path()).unwrap() {
        let mode = file.unwrap().metadata().unwrap().permissions().mode();
        assert_eq!(mode & 0o077, 0, "key files must be private");
    }

    let fresh = tempfile::tempdir().unwrap();
    let other = Server::spawn(Config::for_tests(
        dist.path().to_owned(),
        fresh.path().to_owned(),
    ))
    .await
    .unwrap();
    assert_ne!(other.peer_id(), peer);
    other.shutdown().await;
}

#[tokio::test]
async fn oversized_and_malformed_input_is_rejected_while_others_keep_working() {
    let relay = Relay::start(Limits::default()).await;
    let mut honest = Client::connect(&relay.ws()).await;
    honest.register("room", announced(&honest)).await.unwrap();

    let mut attacker = Client::connect(&relay.ws()).await;
    let size = quire_relay::MAX_PRESENCE_REQUEST_BYTES + 1;
    let mut oversized = vec![(size & 0x7f) as u8 | 0x80, (size >> 7) as u8];
    oversized.extend(std::iter::repeat_n(0u8, size));
    assert!(attacker.send_raw_presence(oversized).await.is_err());
    assert!(
        attacker
            .send_raw_presence(vec![3, 0xff, 0xff, 0xff])
            .await
            .is_err()
    );
    assert!(attacker.send_raw_presence(vec![0xff; 16]).await.is_err());
    assert!(
        relay
            .metric("quire_rejected_inputs_total{component=\"presence\",reason=\"oversized\"}")
            .await
            >= 1.0
    );
    assert!(
        relay
            .metric("quire_rejected_inputs_total{component=\"presence\",reason=\"malformed\"}")
            .await
            >= 2.0
    );

    // Garbage on every port: the connection is dropped, the relay stays up.
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
    let ws_port = relay
        .ws()
        .iter()
        .find_map(|p| match p {
            Protocol::Tcp(port) => Some(port),
            _ => None,
        })
        .unwrap();
    for port in [ws_port, relay.server.local_addr().port()] {
        let mut socket = tokio::net::TcpStream::connect(("127.0.0.1", port))
            .await
            .unwrap();
        socket
            .write_all(&[
                0x16, 0x03, 0x01, 0xde, 0xad, 0xbe, 0xef, b'\n', b'\r', b'\n', b'\r', b'\n',
            ])
            .await
            .unwrap();
        let mut buffer = [0u8; 256];
        let closed = tokio::time::timeout(Duration::from_secs(5), async {
            loop {
                match socket.read(&mut buffer).await {
                    Ok(0) | Err(_) => break,
                    Ok(_) => {}
                }
            }
        })
        .await;
        assert!(
            closed.is_ok(),
            "garbage connection on port {port} left open"
        );
    }
    let webrtc_port = relay
        .server
        .relay_addrs()
        .iter()
        .flat_map(|a| a.iter())
        .find_map(|p| match p {
            Protocol::Udp(port) => Some(port),
            _ => None,
        })
        .unwrap();
    let udp = tokio::net::UdpSocket::bind("127.0.0.1:0").await.unwrap();
    for _ in 0..100 {
        udp.send_to(&[0xab; 512], ("127.0.0.1", webrtc_port))
            .await
            .unwrap();
    }

    assert_eq!(
        http_get(relay.server.local_addr(), "/healthz").await.text(),
        "ok"
    );
    let mut newcomer = Client::connect(&relay.ws()).await;
    newcomer
        .register("room", announced(&newcomer))
        .await
        .unwrap();
    assert_eq!(honest.discover("room").await.unwrap().len(), 2);
    assert!(
        relay
            .metric(
                "quire_rejected_inputs_total{component=\"connections\",reason=\"handshake_failed\"}"
            )
            .await
            >= 1.0
    );
    relay.server.shutdown().await;
}

#[tokio::test]
async fn connection_reservation_and_presence_limits_hold() {
    let relay = Relay::start(Limits {
        max_connections_per_ip: 3,
        limit_loopback: true,
        max_reservations: 1,
        max_presence_per_peer: 2,
        ..Limits::default()
    })
    .await;
    let mut first = Client::connect(&relay.ws()).await;
    let mut second = Client::connect(&relay.ws()).await;
    first.reserve().await;
    assert!(
        second.try_reserve().await.is_err(),
        "second reservation beyond the cap"
    );

    first.register("one", announced(&first)).await.unwrap();
    first.register("two", announced(&first)).await.unwrap();
    let refused = first
        .register("three", announced(&first))
        .await
        .unwrap_err();
    assert!(refused.contains("Unavailable"), "{refused}");
    first.register("one", announced(&first)).await.unwrap();

    let _third = Client::connect(&relay.ws()).await;
    assert!(
        Client::try_connect(&relay.ws()).await.is_err(),
        "fourth connection from one IP"
    );
    assert!(
        relay
            .metric("quire_rejected_inputs_total{component=\"connections\",reason=\"per_ip\"}")
            .await
            >= 1.0
    );
    assert_eq!(first.discover("two").await.unwrap(), vec![first.peer_id()]);

    // A connection that floods presence requests is refused once its burst is spent.
    let mut refused = 0;
    for _ in 0..100 {
        if second.discover("one").await.is_err() {
            refused += 1;
        }
    }
    assert!(
        refused > 0,
        "a flood of presence requests was never refused"
    );
    assert!(
        relay
            .metric("quire_rejected_inputs_total{component=\"presence\",reason=\"rate_limited\"}")
            .await
            >= 1.0
    );
    assert_eq!(first.discover("one").await.unwrap(), vec![first.peer_id()]);
    relay.server.shutdown().await;
}
