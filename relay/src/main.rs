//! `quire-relay`: parses flags (or `QUIRE_*` environment variables), starts the relay, announces
//! its URL on stdout and stops it cleanly on SIGINT or SIGTERM.

use std::io::Write as _;
use std::net::SocketAddr;
use std::path::PathBuf;

use anyhow::Context as _;
use clap::Parser;
use quire_relay::{Config, Server};
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
    public_addrs: Vec<String>,
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
        }
    }
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let filter = EnvFilter::try_new(&cli.log_level)
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
