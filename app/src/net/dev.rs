//! Debug and test hooks: a JS-callable wrapper around [`Node`] so Playwright tests, the interop
//! suite and the benchmark can drive the real browser node (connect, echo, measure).
//!
//! Exposed through `wasm_bindgen` as `QuireNetDev`; nothing in the app calls it. The echo and sink
//! protocols exist only here; the messenger's own protocols live elsewhere.

use std::{cell::RefCell, rc::Rc};

use futures::{
    AsyncReadExt as _, AsyncWriteExt as _, FutureExt as _, StreamExt as _,
    channel::mpsc,
    future::{AbortHandle, Abortable},
};
use libp2p::{Multiaddr, PeerId, identity::Keypair};
use wasm_bindgen::prelude::*;

use super::{
    node::{NetEvent, Node, NodeConfig, NodeHandle, RelaySource},
    relay_info::RelayInfo,
};

/// Echoes every byte back as it arrives, then closes when the remote closes.
pub const ECHO_PROTOCOL: &str = "/quire/dev/echo/1";
/// Reads everything, then answers with the byte count as 8 little-endian bytes.
pub const SINK_PROTOCOL: &str = "/quire/dev/sink/1";

/// Events kept for `takeEvents` (tests poll it; older events are dropped beyond this).
const MAX_KEPT_EVENTS: usize = 1024;
/// Read chunk of the echo and sink handlers: many frames per read, still small.
const CHUNK: usize = 64 * 1024;

fn js_err(e: impl std::fmt::Display) -> JsError {
    JsError::new(&e.to_string())
}

fn now_ms() -> f64 {
    web_sys::window()
        .and_then(|w| w.performance())
        .map(|p| p.now())
        .unwrap_or_else(js_sys::Date::now)
}

#[wasm_bindgen]
pub struct QuireNetDev {
    _node: Node,
    handle: NodeHandle,
    events: Rc<RefCell<mpsc::Receiver<NetEvent>>>,
    kept: Rc<RefCell<Vec<String>>>,
    servers: Vec<AbortHandle>,
}

impl std::fmt::Debug for QuireNetDev {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("QuireNetDev")
            .field("peer_id", &self.handle.peer_id())
            .finish()
    }
}

impl Drop for QuireNetDev {
    fn drop(&mut self) {
        for s in &self.servers {
            s.abort();
        }
    }
}

fn event_json(e: &NetEvent) -> String {
    let v = match e {
        NetEvent::Relay { connected } => {
            serde_json::json!({"kind": "relay", "connected": connected})
        }
        NetEvent::Listening { addrs } => serde_json::json!({
            "kind": "listening",
            "addrs": addrs.iter().map(|a| a.to_string()).collect::<Vec<_>>(),
        }),
        NetEvent::Link { peer, state } => {
            serde_json::json!({"kind": "link", "peer": peer.to_string(), "state": state})
        }
        NetEvent::Discovered { namespace, peers } => serde_json::json!({
            "kind": "discovered",
            "namespace": namespace,
            "peers": peers.iter().map(|(p, _)| p.to_string()).collect::<Vec<_>>(),
        }),
        NetEvent::DiscoverFailed { namespace } => {
            serde_json::json!({"kind": "discover_failed", "namespace": namespace})
        }
        NetEvent::Registered { namespace } => {
            serde_json::json!({"kind": "registered", "namespace": namespace})
        }
        NetEvent::RegisterFailed { namespace, reason } => {
            serde_json::json!({"kind": "register_failed", "namespace": namespace, "reason": reason})
        }
    };
    v.to_string()
}

fn parse_peer(peer: &str) -> Result<PeerId, JsError> {
    peer.parse().map_err(js_err)
}

#[wasm_bindgen]
impl QuireNetDev {
    /// Starts a node with a fresh identity. `relay_json` is a `/relay.json` body; when absent the
    /// page's origin is asked. `relay_only` forbids direct ICE paths (links stay relayed).
    pub async fn start(
        relay_json: Option<String>,
        relay_only: Option<bool>,
    ) -> Result<QuireNetDev, JsError> {
        let mut config = NodeConfig::default();
        config.webrtc.ice.relay_only = relay_only.unwrap_or(false);
        if let Some(json) = relay_json {
            config.relay =
                RelaySource::Info(RelayInfo::parse("relay json", &json).map_err(js_err)?);
        }
        let (node, events) = Node::start(Keypair::generate_ed25519(), config)
            .await
            .map_err(js_err)?;
        let handle = node.handle();
        Ok(Self {
            _node: node,
            handle,
            events: Rc::new(RefCell::new(events)),
            kept: Rc::new(RefCell::new(Vec::new())),
            servers: Vec::new(),
        })
    }

    #[wasm_bindgen(js_name = peerId)]
    pub fn peer_id(&self) -> String {
        self.handle.peer_id().to_string()
    }

    #[wasm_bindgen(js_name = listenAddrs)]
    pub fn listen_addrs(&self) -> Vec<String> {
        self.handle
            .listen_addrs()
            .iter()
            .map(|a| a.to_string())
            .collect()
    }

    #[wasm_bindgen(js_name = relayConnected)]
    pub fn relay_connected(&self) -> bool {
        self.handle.relay_connected()
    }

    /// Connects to a peer id, or to a multiaddr (circuit address, optionally with `/webrtc`).
    pub fn connect(&self, target: &str) -> Result<String, JsError> {
        if target.starts_with('/') {
            let addr: Multiaddr = target.parse().map_err(js_err)?;
            Ok(self.handle.connect_addr(addr).map_err(js_err)?.to_string())
        } else {
            self.handle.connect(parse_peer(target)?).map_err(js_err)?;
            Ok(target.to_owned())
        }
    }

    pub fn disconnect(&self, peer: &str) -> Result<(), JsError> {
        self.handle.disconnect(parse_peer(peer)?).map_err(js_err)
    }

    #[wasm_bindgen(js_name = linkState)]
    pub fn link_state(&self, peer: &str) -> Result<String, JsError> {
        let state = self.handle.link_state(&parse_peer(peer)?);
        Ok(serde_json::to_value(state)
            .ok()
            .and_then(|v| v.as_str().map(str::to_owned))
            .unwrap_or_default())
    }

    #[wasm_bindgen(js_name = connectionAddrs)]
    pub fn connection_addrs(&self, peer: &str) -> Result<Vec<String>, JsError> {
        Ok(self
            .handle
            .connection_addrs(&parse_peer(peer)?)
            .iter()
            .map(|a| a.to_string())
            .collect())
    }

    pub fn register(&self, namespace: &str) -> Result<(), JsError> {
        self.handle.register(namespace).map_err(js_err)
    }

    pub fn discover(&self, namespace: &str) -> Result<(), JsError> {
        self.handle.discover(namespace).map_err(js_err)
    }

    /// Every event since the last call, as JSON strings.
    #[wasm_bindgen(js_name = takeEvents)]
    pub fn take_events(&self) -> Vec<String> {
        let mut kept = self.kept.borrow_mut();
        let mut rx = self.events.borrow_mut();
        while let Ok(e) = rx.try_recv() {
            if kept.len() >= MAX_KEPT_EVENTS {
                kept.remove(0);
            }
            kept.push(event_json(&e));
        }
        std::mem::take(&mut *kept)
    }

    /// Serves the echo and sink protocols until this object is freed.
    #[wasm_bindgen(js_name = serveTestProtocols)]
    pub fn serve_test_protocols(&mut self) -> Result<(), JsError> {
        let mut echo = self.handle.accept(ECHO_PROTOCOL).map_err(js_err)?.fuse();
        let mut sink = self.handle.accept(SINK_PROTOCOL).map_err(js_err)?.fuse();
        let (abort, reg) = AbortHandle::new_pair();
        wasm_bindgen_futures::spawn_local(
            Abortable::new(
                async move {
                    let mut running = futures::stream::FuturesUnordered::new();
                    loop {
                        futures::select! {
                            s = echo.next() => match s {
                                Some((_, stream)) => running.push(serve_echo(stream).boxed_local()),
                                None => return,
                            },
                            s = sink.next() => match s {
                                Some((_, stream)) => running.push(serve_sink(stream).boxed_local()),
                                None => return,
                            },
                            _ = running.select_next_some() => {},
                        }
                    }
                },
                reg,
            )
            .map(|_| ()),
        );
        self.servers.push(abort);
        Ok(())
    }

    /// Sends `payload` on a new echo stream, closes the write half, returns what came back.
    pub async fn echo(&self, peer: &str, payload: Vec<u8>) -> Result<Vec<u8>, JsError> {
        let peer = parse_peer(peer)?;
        let mut stream = self
            .handle
            .open_stream(peer, ECHO_PROTOCOL)
            .await
            .map_err(js_err)?;
        let (mut read, mut write) = stream_split(&mut stream);
        let send = async {
            write.write_all(&payload).await?;
            write.close().await
        };
        let recv = async {
            let mut back = Vec::new();
            read.read_to_end(&mut back).await.map(|_| back)
        };
        let (sent, back) = futures::join!(send, recv);
        sent.map_err(js_err)?;
        back.map_err(js_err)
    }

    /// Round trips of `size`-byte messages on one echo stream; returns each RTT in ms.
    #[wasm_bindgen(js_name = benchRtt)]
    pub async fn bench_rtt(&self, peer: &str, count: u32, size: u32) -> Result<Vec<f64>, JsError> {
        let peer = parse_peer(peer)?;
        let mut stream = self
            .handle
            .open_stream(peer, ECHO_PROTOCOL)
            .await
            .map_err(js_err)?;
        let msg = vec![0x5a; size as usize];
        let mut back = vec![0; size as usize];
        let mut samples = Vec::with_capacity(count as usize);
        for _ in 0..count {
            let t0 = now_ms();
            stream.write_all(&msg).await.map_err(js_err)?;
            stream.read_exact(&mut back).await.map_err(js_err)?;
            samples.push(now_ms() - t0);
        }
        stream.close().await.map_err(js_err)?;
        Ok(samples)
    }

    /// Sends `total` bytes on a sink stream; returns ms until the sink confirmed receiving all.
    #[wasm_bindgen(js_name = benchThroughput)]
    pub async fn bench_throughput(&self, peer: &str, total: u32) -> Result<f64, JsError> {
        let peer = parse_peer(peer)?;
        let mut stream = self
            .handle
            .open_stream(peer, SINK_PROTOCOL)
            .await
            .map_err(js_err)?;
        let chunk = vec![0xa5; CHUNK];
        let t0 = now_ms();
        let mut left = total as usize;
        while left > 0 {
            let n = left.min(CHUNK);
            stream.write_all(&chunk[..n]).await.map_err(js_err)?;
            left -= n;
        }
        stream.close().await.map_err(js_err)?;
        let mut count = [0u8; 8];
        stream.read_exact(&mut count).await.map_err(js_err)?;
        let elapsed = now_ms() - t0;
        if u64::from_le_bytes(count) != u64::from(total) {
            return Err(JsError::new("sink received a different byte count"));
        }
        Ok(elapsed)
    }
}

fn stream_split(
    stream: &mut libp2p::Stream,
) -> (
    futures::io::ReadHalf<&mut libp2p::Stream>,
    futures::io::WriteHalf<&mut libp2p::Stream>,
) {
    futures::AsyncReadExt::split(stream)
}

async fn serve_echo(mut stream: libp2p::Stream) {
    let mut buf = vec![0; CHUNK];
    loop {
        match stream.read(&mut buf).await {
            Ok(0) => break,
            Ok(n) => {
                if stream.write_all(&buf[..n]).await.is_err() {
                    return;
                }
            }
            Err(_) => return,
        }
    }
    let _ = stream.close().await;
}

async fn serve_sink(mut stream: libp2p::Stream) {
    let mut buf = vec![0; CHUNK];
    let mut total: u64 = 0;
    loop {
        match stream.read(&mut buf).await {
            Ok(0) => break,
            Ok(n) => total += n as u64,
            Err(_) => return,
        }
    }
    if stream.write_all(&total.to_le_bytes()).await.is_ok() {
        let _ = stream.close().await;
    }
}
