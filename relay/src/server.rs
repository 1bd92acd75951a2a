//! The running relay: owns every task it starts and stops them on [`Server::shutdown`].

use std::net::SocketAddr;
use std::time::Duration;

use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::config::Config;
use crate::error::Error;
use crate::http;

/// How long in-flight HTTP requests (a large wasm download, say) may take to finish after a
/// shutdown request before their tasks are aborted; keeps `systemctl stop` and tests prompt.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(5);

/// A started relay. Dropping it without [`Server::shutdown`] still asks its tasks to stop.
#[derive(Debug)]
pub struct Server {
    local_addr: SocketAddr,
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
        let app = http::router(&config.dist);
        let http_task = tokio::spawn(async move {
            let result = axum::serve(listener, app)
                .with_graceful_shutdown(wait_for_stop(stopped))
                .await;
            if let Err(error) = result {
                tracing::error!(%error, "HTTP server stopped");
            }
        });
        tracing::info!(%local_addr, "HTTP listening");
        Ok(Self {
            local_addr,
            stop,
            tasks: vec![http_task],
        })
    }

    /// The bound HTTP address (the real port when the config asked for port 0).
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
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
