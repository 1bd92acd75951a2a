//! Load benchmark: N concurrent WebSocket libp2p clients, each registering presence, against a
//! `quire-relay` process on loopback. Reports the relay's RSS per idle connection (from
//! /proc/<pid>/status, against its RSS before any client) and registration latency p50/p99.
//!
//! Run it with `relay/bench/load.sh` (raises the fd limit, builds in release), or:
//!   cargo run --release -p quire-relay --example load -- --clients 2000
//!
//! Bounded: clients connect with limited concurrency, every step has a deadline, and the
//! relay process is killed at the end.
#![allow(clippy::unwrap_used)]

use std::io::{BufRead as _, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};
use clap::Parser;
use futures::StreamExt as _;
use libp2p::core::multiaddr::Protocol;
use libp2p::core::upgrade::Version;
use libp2p::swarm::SwarmEvent;
use libp2p::{
    Multiaddr, PeerId, SwarmBuilder, Transport as _, noise, rendezvous, tcp, websocket, yamux,
};
use tokio::sync::{Semaphore, mpsc, oneshot};

#[derive(Debug, Parser)]
struct Args {
    /// Concurrent clients.
    #[arg(long, default_value_t = 2000)]
    clients: usize,
    /// Clients handshaking at once while connecting.
    #[arg(long, default_value_t = 64)]
    connect_concurrency: usize,
    /// Registrations are spread evenly over this many seconds after everyone is connected
    /// (0: all at once, a worst-case burst).
    #[arg(long, default_value_t = 10.0)]
    register_window_secs: f64,
    /// Rooms the clients are spread over (namespaces).
    #[arg(long, default_value_t = 200)]
    rooms: usize,
    /// The relay binary to start.
    #[arg(long, default_value = "target/release/quire-relay")]
    relay_bin: String,
}

struct RelayProcess(Child);

impl Drop for RelayProcess {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn rss_kib(pid: u32) -> anyhow::Result<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
    let line = status
        .lines()
        .find(|l| l.starts_with("VmRSS:"))
        .context("no VmRSS")?;
    Ok(line
        .split_whitespace()
        .nth(1)
        .context("VmRSS value")?
        .parse()?)
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let index = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[index]
}

/// One client: connects, waits for the go signal, registers, reports latency, then idles.
async fn client(
    relay_addr: Multiaddr,
    relay: PeerId,
    namespace: String,
    connected: oneshot::Sender<anyhow::Result<()>>,
    go: oneshot::Receiver<Duration>,
    latency: mpsc::Sender<anyhow::Result<Duration>>,
    stop: Arc<tokio::sync::Notify>,
) {
    let mut swarm = SwarmBuilder::with_new_identity()
        .with_tokio()
        .with_other_transport(|key| {
            websocket::Config::new(tcp::tokio::Transport::new(
                tcp::Config::default().nodelay(true),
            ))
            .upgrade(Version::V1Lazy)
            .authenticate(noise::Config::new(key).unwrap())
            .multiplex(yamux::Config::default())
        })
        .unwrap()
        .with_behaviour(|key| rendezvous::client::Behaviour::new(key.clone()))
        .unwrap()
        .with_swarm_config(|c| c.with_idle_connection_timeout(Duration::from_secs(600)))
        .build();
    let me = *swarm.local_peer_id();
    swarm.add_external_address(
        relay_addr
            .clone()
            .with(Protocol::P2pCircuit)
            .with(Protocol::P2p(me)),
    );
    let result = async {
        swarm.dial(relay_addr.clone())?;
        loop {
            match swarm.select_next_some().await {
                SwarmEvent::ConnectionEstablished { .. } => return Ok(()),
                SwarmEvent::OutgoingConnectionError { error, .. } => bail!("connect: {error}"),
                _ => {}
            }
        }
    };
    let result = tokio::time::timeout(Duration::from_secs(60), result)
        .await
        .unwrap_or_else(|_| Err(anyhow::anyhow!("connect timed out")));
    let failed = result.is_err();
    let _ = connected.send(result);
    if failed {
        return;
    }
    // Keep the connection serviced while waiting for our turn.
    let delay = tokio::select! {
        delay = go => delay.unwrap_or_default(),
        () = drain(&mut swarm) => return,
    };
    let wait = tokio::time::sleep(delay);
    tokio::pin!(wait);
    tokio::select! {
        () = &mut wait => {}
        () = drain(&mut swarm) => return,
    }
    let started = Instant::now();
    let ns = rendezvous::Namespace::new(namespace).unwrap();
    if let Err(error) = swarm.behaviour_mut().register(ns, relay, None) {
        let _ = latency.send(Err(error.into())).await;
        return;
    }
    let outcome = tokio::time::timeout(Duration::from_secs(30), async {
        loop {
            match swarm.select_next_some().await {
                SwarmEvent::Behaviour(rendezvous::client::Event::Registered { .. }) => {
                    return Ok(started.elapsed());
                }
                SwarmEvent::Behaviour(rendezvous::client::Event::RegisterFailed {
                    error, ..
                }) => {
                    bail!("register refused: {error:?}")
                }
                SwarmEvent::ConnectionClosed { cause, .. } => bail!("connection closed: {cause:?}"),
                _ => {}
            }
        }
    })
    .await
    .unwrap_or_else(|_| Err(anyhow::anyhow!("register timed out")));
    let _ = latency.send(outcome).await;
    tokio::select! {
        () = stop.notified() => {}
        () = drain(&mut swarm) => {}
    }
}

/// Services a swarm forever (returns only if the connection to the relay closes).
async fn drain(swarm: &mut libp2p::Swarm<rendezvous::client::Behaviour>) {
    loop {
        if let SwarmEvent::ConnectionClosed {
            num_established: 0, ..
        } = swarm.select_next_some().await
        {
            return;
        }
    }
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let data = std::env::temp_dir().join(format!("quire-load-{}", std::process::id()));
    let mut child = Command::new(&args.relay_bin)
        .args([
            "--listen",
            "127.0.0.1:0",
            "--log-level",
            "warn",
            "--dist",
            "/nonexistent",
        ])
        .args(["--max-connections", &(args.clients + 100).to_string()])
        .arg("--data-dir")
        .arg(&data)
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .with_context(|| format!("cannot start {} (build it first)", args.relay_bin))?;
    let stdout = child.stdout.take().context("relay stdout")?;
    let relay_process = RelayProcess(child);
    let pid = relay_process.0.id();
    let mut line = String::new();
    BufReader::new(stdout).read_line(&mut line)?;
    let http = line
        .trim()
        .strip_prefix("Quire is running at http://")
        .and_then(|rest| rest.strip_suffix('/'))
        .context("no ready line")?
        .to_owned();
    let json = http_get(&http, "/relay.json").await?;
    let value: serde_json::Value = serde_json::from_str(&json)?;
    let relay: PeerId = value["peer_id"].as_str().context("peer_id")?.parse()?;
    let relay_addr: Multiaddr = value["addrs"][0].as_str().context("addrs")?.parse()?;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let baseline = rss_kib(pid)?;
    println!(
        "relay pid {pid}, baseline RSS {baseline} KiB, {} clients",
        args.clients
    );

    let stop = Arc::new(tokio::sync::Notify::new());
    let (latency_tx, mut latency_rx) = mpsc::channel(args.clients);
    let permits = Arc::new(Semaphore::new(args.connect_concurrency));
    let mut go_senders = Vec::with_capacity(args.clients);
    let mut tasks = Vec::with_capacity(args.clients);
    let connect_started = Instant::now();
    for index in 0..args.clients {
        let permit = permits.clone().acquire_owned().await?;
        let (connected_tx, connected_rx) = oneshot::channel();
        let (go_tx, go_rx) = oneshot::channel();
        go_senders.push(go_tx);
        let namespace = format!("{:064x}", index % args.rooms.max(1));
        tasks.push(tokio::spawn(client(
            relay_addr.clone(),
            relay,
            namespace,
            connected_tx,
            go_rx,
            latency_tx.clone(),
            stop.clone(),
        )));
        tokio::spawn(async move {
            let _ = connected_rx.await;
            drop(permit);
        });
    }
    // Wait for the last handshakes.
    let _all = permits
        .acquire_many(args.connect_concurrency as u32)
        .await?;
    println!(
        "connected {} clients in {:.1} s",
        args.clients,
        connect_started.elapsed().as_secs_f64()
    );
    tokio::time::sleep(Duration::from_secs(2)).await;
    let connected_rss = rss_kib(pid)?;

    let step = args.register_window_secs / args.clients as f64;
    for (index, go) in go_senders.into_iter().enumerate() {
        let _ = go.send(Duration::from_secs_f64(step * index as f64));
    }
    drop(latency_tx);
    let mut latencies = Vec::with_capacity(args.clients);
    let mut failures = 0usize;
    let deadline = Duration::from_secs_f64(args.register_window_secs + 60.0);
    let collect = async {
        while let Some(result) = latency_rx.recv().await {
            match result {
                Ok(latency) => latencies.push(latency),
                Err(error) => {
                    failures += 1;
                    if failures <= 5 {
                        eprintln!("client failed: {error}");
                    }
                }
            }
            if latencies.len() + failures == args.clients {
                break;
            }
        }
    };
    tokio::time::timeout(deadline, collect).await.ok();
    tokio::time::sleep(Duration::from_secs(2)).await;
    let idle_rss = rss_kib(pid)?;
    let metrics = http_get(&http, "/metrics").await?;
    let gauge = |name: &str| {
        metrics
            .lines()
            .find(|l| l.starts_with(name))
            .and_then(|l| l.rsplit(' ').next())
            .unwrap_or("?")
            .to_owned()
    };

    latencies.sort();
    if latencies.is_empty() {
        bail!("no registration succeeded");
    }
    let per_connection = (idle_rss.saturating_sub(baseline) as f64) * 1024.0 / args.clients as f64;
    println!(
        "relay connections (metrics): {}",
        gauge("quire_connections ")
    );
    println!(
        "presence registrations (metrics): {}",
        gauge("quire_presence_registrations ")
    );
    println!("registrations ok: {}, failed: {failures}", latencies.len());
    println!(
        "relay RSS: baseline {baseline} KiB, connected {connected_rss} KiB, after registering {idle_rss} KiB"
    );
    println!("RSS per idle connection: {:.1} KB", per_connection / 1000.0);
    println!(
        "registration latency: p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms",
        percentile(&latencies, 0.50).as_secs_f64() * 1e3,
        percentile(&latencies, 0.99).as_secs_f64() * 1e3,
        latencies.last().map_or(0.0, |l| l.as_secs_f64() * 1e3),
    );
    stop.notify_waiters();
    for task in tasks {
        task.abort();
    }
    drop(relay_process);
    let _ = std::fs::remove_dir_all(&data);
    Ok(())
}

/// A minimal HTTP GET (the relay's own endpoints; no client dependency needed).
async fn http_get(host: &str, path: &str) -> anyhow::Result<String> {
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
    let mut stream = tokio::net::TcpStream::connect(host).await?;
    stream
        .write_all(
            format!("GET {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n").as_bytes(),
        )
        .await?;
    let mut raw = String::new();
    stream.read_to_string(&mut raw).await?;
    let (head, body) = raw.split_once("\r\n\r\n").context("bad HTTP response")?;
    if head
        .to_ascii_lowercase()
        .contains("transfer-encoding: chunked")
    {
        let mut out = String::new();
        let mut rest = body;
        while let Some((size, tail)) = rest.split_once("\r\n") {
            let size = usize::from_str_radix(size.trim(), 16)?;
            if size == 0 {
                break;
            }
            out.push_str(&tail[..size]);
            rest = &tail[size + 2..];
        }
        return Ok(out);
    }
    Ok(body.to_owned())
}
