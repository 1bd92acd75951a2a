//! `quire-relay`: parses flags (or `QUIRE_*` environment variables), starts the relay, announces
//! its URL on stdout and stops it cleanly on SIGINT or SIGTERM.

use std::io::Write as _;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context as _;
use clap::Parser;
use libp2p::Multiaddr;
use quire_relay::{Config, Limits, Server};
use tokio::signal::unix::{Signal, SignalKind, signal};
use tracing_subscriber::EnvFilter;

/// Quire's relay: serves the app, introduces peers, says who is online.
#[derive(Debug, Parser)]
#[command(version, about)]
struct Cli {
    /// HTTP address for the app, /healthz, /relay.json and /metrics (port 0 picks one).
    #[arg(long, env = "QUIRE_LISTEN", default_value = "127.0.0.1:8080")]
    listen: SocketAddr,
    /// Directory with the built app (Trunk's output).
    #[arg(long, env = "QUIRE_DIST", default_value = "dist")]
    dist: PathBuf,
    /// Directory for the relay's identity key and WebRTC certificate.
    #[arg(long, env = "QUIRE_DATA_DIR", default_value = ".quire-data")]
    data_dir: PathBuf,
    /// Log filter: a level (`info`) or tracing directives (`quire_relay=debug,libp2p=info`).
    #[arg(long, env = "QUIRE_LOG_LEVEL", default_value = "info")]
    log_level: String,
    /// libp2p WebSocket listener (TCP) that browsers dial; put wss:// in front with a proxy.
    #[arg(long, env = "QUIRE_WS_LISTEN", default_value = "127.0.0.1:0")]
    ws_listen: SocketAddr,
    /// libp2p WebRTC-direct listener (UDP).
    #[arg(long, env = "QUIRE_WEBRTC_LISTEN", default_value = "127.0.0.1:0")]
    webrtc_listen: SocketAddr,
    /// A multiaddr at which browsers can reach this relay (repeatable; comma-separated in the
    /// environment), e.g. `/dns4/relay.example.org/tcp/443/wss`.
    #[arg(long = "public-addr", env = "QUIRE_PUBLIC_ADDR", value_delimiter = ',')]
    public_addrs: Vec<Multiaddr>,
    #[command(flatten)]
    limits: LimitFlags,
}

/// Caps that depend on the machine; defaults fit a small VPS (see `Limits` for the reasons).
#[derive(Debug, clap::Args)]
struct LimitFlags {
    /// Established libp2p connections in total.
    #[arg(long, env = "QUIRE_MAX_CONNECTIONS", default_value_t = Limits::default().max_connections)]
    max_connections: u32,
    /// libp2p connections per remote IP address (loopback exempt unless --limit-loopback).
    #[arg(long, env = "QUIRE_MAX_CONNECTIONS_PER_IP", default_value_t = Limits::default().max_connections_per_ip)]
    max_connections_per_ip: u32,
    /// Apply per-IP caps and rate limits to loopback peers too (off: a local reverse proxy
    /// makes every browser look like loopback).
    #[arg(long, env = "QUIRE_LIMIT_LOOPBACK")]
    limit_loopback: bool,
    /// Active relay reservations (one per online browser).
    #[arg(long, env = "QUIRE_MAX_RESERVATIONS", default_value_t = Limits::default().max_reservations)]
    max_reservations: usize,
    /// Active relayed circuits.
    #[arg(long, env = "QUIRE_MAX_CIRCUITS", default_value_t = Limits::default().max_circuits)]
    max_circuits: usize,
    /// Lifetime of a relayed circuit, in seconds.
    #[arg(long, env = "QUIRE_MAX_CIRCUIT_SECS", default_value_t = Limits::default().max_circuit_duration.as_secs())]
    max_circuit_secs: u64,
    /// Bytes a relayed circuit may carry before it is closed (0: unlimited).
    #[arg(long, env = "QUIRE_MAX_CIRCUIT_BYTES", default_value_t = Limits::default().max_circuit_bytes)]
    max_circuit_bytes: u64,
    /// Presence registrations in total.
    #[arg(long, env = "QUIRE_MAX_PRESENCE", default_value_t = Limits::default().max_presence_total)]
    max_presence: usize,
}

impl LimitFlags {
    fn into_limits(self) -> Limits {
        Limits {
            max_connections: self.max_connections,
            max_connections_per_ip: self.max_connections_per_ip,
            limit_loopback: self.limit_loopback,
            max_reservations: self.max_reservations,
            max_circuits: self.max_circuits,
            max_circuit_duration: Duration::from_secs(self.max_circuit_secs.max(1)),
            max_circuit_bytes: self.max_circuit_bytes,
            max_presence_total: self.max_presence,
            ..Limits::default()
        }
    }
}

impl Cli {
    fn into_config(self) -> Config {
        Config {
            listen: self.listen,
            dist: self.dist,
            data_dir: self.data_dir,
            ws_listen: self.ws_listen,
            webrtc_listen: self.webrtc_listen,
            public_addrs: self.public_addrs,
            limits: self.limits.into_limits(),
        }
    }
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let filter = EnvFilter::try_new(privacy_capped(&cli.log_level))
        .with_context(|| format!("invalid --log-level {:?}", cli.log_level))?;
    // Logs go to stderr: stdout carries only the ready line that scripts wait for.
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .init();

    // Signal handlers go in before the ready line: a script may send SIGTERM the moment it
    // reads that line, and an uninstalled handler would let the signal kill us uncleanly.
    let signals = ShutdownSignals::install()?;
    let server = Server::spawn(cli.into_config()).await?;
    let mut stdout = std::io::stdout().lock();
    writeln!(
        stdout,
        "Quire is running at http://{}/",
        server.local_addr()
    )?;
    stdout.flush()?;
    drop(stdout);

    signals.wait().await?;
    tracing::info!("shutting down");
    server.shutdown().await;
    Ok(())
}

/// SIGINT and SIGTERM, both meaning "stop gracefully".
struct ShutdownSignals {
    interrupt: Signal,
    terminate: Signal,
}

impl ShutdownSignals {
    fn install() -> anyhow::Result<Self> {
        Ok(Self {
            interrupt: signal(SignalKind::interrupt()).context("cannot watch SIGINT")?,
            terminate: signal(SignalKind::terminate()).context("cannot watch SIGTERM")?,
        })
    }

    async fn wait(mut self) -> anyhow::Result<()> {
        tokio::select! {
            _ = self.interrupt.recv() => {}
            _ = self.terminate.recv() => {}
        }
        Ok(())
    }
}

/// libp2p's and webrtc-rs's own debug logs print remote addresses next to peer ids, which would
/// make the log a record of who connected from where. They stay at `info` (`warn` for webrtc)
/// unless the operator names them explicitly, e.g. `--log-level debug,libp2p_swarm=debug`.
fn privacy_capped(directives: &str) -> String {
    let mut capped = directives.to_owned();
    if !directives.contains("libp2p") {
        capped.push_str(",libp2p=info");
    }
    if !directives.contains("webrtc") {
        capped.push_str(",webrtc=warn");
    }
    capped
}
