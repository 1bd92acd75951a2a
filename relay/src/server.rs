//! The running relay: owns every task it starts and stops them on [`Server::shutdown`].

use std::net::SocketAddr;
use std::time::Duration;

use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use libp2p::{Multiaddr, PeerId};

use crate::config::Config;
use crate::error::Error;
use crate::http::{self, HttpState};
use crate::metrics::{Metrics, MetricsRegistry};
use crate::node::{self, RelayInfo};

/// How long in-flight HTTP requests (a large wasm download, say) may take to finish after a
/// shutdown request before their tasks are aborted; keeps `systemctl stop` and tests prompt.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(5);

/// A started relay. Dropping it without [`Server::shutdown`] still asks its tasks to stop.
#[derive(Debug)]
pub struct Server {
    local_addr: SocketAddr,
    info: watch::Receiver<RelayInfo>,
    stop: watch::Sender<bool>,
    tasks: Vec<JoinHandle<()>>,
}

impl Server {
    /// Binds every listener, then starts serving. Returns once the relay accepts connections,
    /// so a caller may announce the address at once.
    pub async fn spawn(config: Config) -> Result<Self, Error> {
        if !config.dist.join("index.html").is_file() {
            tracing::warn!(dist = %config.dist.display(), "no index.html in --dist; the app will not load");
        }
        let listener =
            TcpListener::bind(config.listen)
                .await
                .map_err(|source| Error::HttpBind {
                    addr: config.listen,
                    source,
                })?;
        let local_addr = listener.local_addr().map_err(|source| Error::HttpBind {
            addr: config.listen,
            source,
        })?;
        let (stop, stopped) = watch::channel(false);
        let mut registry = prometheus_client::registry::Registry::default();
        let metrics = Metrics::register(&mut registry);
        let libp2p_metrics = libp2p::metrics::Metrics::new(&mut registry);
        let started = node::start(&config, metrics, libp2p_metrics, stopped.clone()).await?;
        let state = HttpState {
            info: started.info.clone(),
            metrics: MetricsRegistry(std::sync::Arc::new(registry)),
        };
        let app = http::router(&config.dist, state);
        let http_task = tokio::spawn(async move {
            let result = axum::serve(http::CappedListener::new(listener), app)
                .with_graceful_shutdown(wait_for_stop(stopped))
                .await;
            if let Err(error) = result {
                tracing::error!(%error, "HTTP server stopped");
            }
        });
        tracing::info!(%local_addr, "HTTP listening");
        Ok(Self {
            local_addr,
            info: started.info,
            stop,
            tasks: vec![http_task, started.task],
        })
    }

    /// The bound HTTP address (the real port when the config asked for port 0).
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// The relay's libp2p identity (stable across restarts with the same data directory).
    pub fn peer_id(&self) -> PeerId {
        self.info.borrow().peer_id
    }

    /// The libp2p addresses browsers should dial, each ending in `/p2p/<peer id>`, WebSocket
    /// first: the same list `/relay.json` serves.
    pub fn relay_addrs(&self) -> Vec<Multiaddr> {
        self.info.borrow().addrs.clone()
    }

    /// Stops accepting, lets in-flight work finish for at most [`SHUTDOWN_GRACE`], then aborts
    /// what is left. Returns when every task has ended.
    pub async fn shutdown(mut self) {
        self.stop.send_replace(true);
        let deadline = tokio::time::Instant::now() + SHUTDOWN_GRACE;
        for mut task in std::mem::take(&mut self.tasks) {
            if tokio::time::timeout_at(deadline, &mut task).await.is_err() {
                tracing::warn!("a task outlived the shutdown grace period; aborting it");
                task.abort();
                // The abort result only says the task was cancelled, which is what we asked for.
                let _cancelled = task.await;
            }
        }
        tracing::info!("relay stopped");
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.stop.send_replace(true);
    }
}

/// Resolves once a stop is requested (or the [`Server`] is gone).
pub(crate) async fn wait_for_stop(mut stopped: watch::Receiver<bool>) {
    // An error means the sender was dropped, which is a stop request too.
    let _ = stopped.wait_for(|stop| *stop).await;
}
