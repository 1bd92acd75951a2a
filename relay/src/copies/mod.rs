//! `/quire/copies/1` (see `quire_core::copies`): every running copy of the app keeps one stream
//! open to the relay; the relay tells the copies of one account about each other and which of
//! them writes, so a second browser with the same identity stops before it forks its books.
//!
//! One task per stream: it reads the copy's hello (within [`HELLO_DEADLINE`]), then take-overs,
//! and writes the latest report whenever the registry changes that copy's view (a `watch`
//! channel per stream: only the newest report matters, so nothing queues). Streams are capped
//! by [`Limits::max_connections`]; copies per account by [`MAX_COPIES_PER_ACCOUNT`].

mod registry;

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use futures::{AsyncReadExt as _, AsyncWriteExt as _, StreamExt as _};
use libp2p::{PeerId, Stream};
use quire_core::copies::{ClientFrame, HELLO_LEN, Hello, Report};
use tokio::sync::{Semaphore, watch};

use self::registry::{Registry, Reports, StreamSerial};
use crate::limits::{self, Limits};

/// A stream that has not said hello by then is closed.
const HELLO_DEADLINE: Duration = Duration::from_secs(10);

/// Live copies of one account (a browser holds at most a few connections to the relay).
const MAX_COPIES_PER_ACCOUNT: usize = limits::MAX_CONNECTIONS_PER_PEER as usize;

struct Shared {
    registry: Registry<PeerId>,
    streams: HashMap<StreamSerial, watch::Sender<Option<Report>>>,
    next: StreamSerial,
}

type SharedRef = Arc<Mutex<Shared>>;

fn lock(shared: &SharedRef) -> std::sync::MutexGuard<'_, Shared> {
    shared.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Sends each named stream its new report.
fn dispatch(shared: &Shared, reports: Reports) {
    for (serial, report) in reports {
        if let Some(tx) = shared.streams.get(&serial) {
            tx.send_replace(Some(report));
        }
    }
}

/// Serves every incoming `/quire/copies/1` stream until the node stops (`incoming` ends).
pub(crate) async fn serve(mut incoming: libp2p_stream::IncomingStreams, limits: Limits) {
    let max_streams = limits.max_connections as usize;
    let shared: SharedRef = Arc::new(Mutex::new(Shared {
        registry: Registry::new(MAX_COPIES_PER_ACCOUNT, max_streams),
        streams: HashMap::new(),
        next: 0,
    }));
    let slots = Arc::new(Semaphore::new(max_streams));
    let mut tasks = tokio::task::JoinSet::new();
    loop {
        tokio::select! {
            next = incoming.next() => {
                let Some((peer, stream)) = next else { break };
                // Over the cap the stream is dropped (closed) at once.
                let Ok(slot) = slots.clone().try_acquire_owned() else {
                    tracing::debug!(%peer, "copies stream refused: too many");
                    continue;
                };
                let shared = shared.clone();
                tasks.spawn(async move {
                    serve_stream(&shared, peer, stream).await;
                    drop(slot);
                });
            }
            Some(_) = tasks.join_next(), if !tasks.is_empty() => {}
        }
    }
    tasks.shutdown().await;
}

async fn serve_stream(shared: &SharedRef, peer: PeerId, stream: Stream) {
    let (mut reader, mut writer) = stream.split();
    let mut hello = [0u8; HELLO_LEN];
    match tokio::time::timeout(HELLO_DEADLINE, reader.read_exact(&mut hello)).await {
        Ok(Ok(())) => {}
        _ => return,
    }
    let Ok(hello) = Hello::decode(&hello) else {
        tracing::debug!(%peer, "copies stream closed: bad hello");
        return;
    };
    let (tx, mut rx) = watch::channel(None);
    let serial = {
        let mut guard = lock(shared);
        let serial = guard.next;
        guard.next += 1;
        guard.streams.insert(serial, tx);
        match guard.registry.join(&peer, serial, hello) {
            Ok(reports) => dispatch(&guard, reports),
            Err(full) => {
                tracing::debug!(%peer, %full, "copies stream refused");
                guard.streams.remove(&serial);
                return;
            }
        }
        serial
    };
    let mut byte = [0u8; 1];
    loop {
        tokio::select! {
            read = reader.read_exact(&mut byte) => {
                if read.is_err() {
                    break;
                }
                match ClientFrame::decode(byte[0]) {
                    Ok(ClientFrame::TakeOver) => {
                        let mut guard = lock(shared);
                        let reports = guard.registry.take_over(&peer, serial);
                        dispatch(&guard, reports);
                    }
                    Err(_) => break,
                }
            }
            changed = rx.changed() => {
                if changed.is_err() {
                    break;
                }
                let report = *rx.borrow_and_update();
                if let Some(report) = report {
                    let sent = writer.write_all(&report.encode()).await;
                    if sent.is_err() || writer.flush().await.is_err() {
                        break;
                    }
                }
            }
        }
    }
    let mut guard = lock(shared);
    guard.streams.remove(&serial);
    let reports = guard.registry.leave(&peer, serial);
    dispatch(&guard, reports);
}
