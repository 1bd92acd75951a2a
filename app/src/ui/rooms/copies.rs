//! The `/quire/copies/1` stream to the relay (`quire_core::copies`; what the app makes of it
//! is `crate::model::copies`; the network driver `net` runs it): opened on each connection to the relay, it says hello, hands
//! every report to the caller and sends "Use here" when asked.

use futures::channel::mpsc;
use futures::{AsyncReadExt as _, AsyncWriteExt as _, StreamExt as _};
use quire_core::copies::{ClientFrame, Hello, PROTOCOL, REPORT_LEN, Report};

use crate::net::node::{NodeError, NodeHandle};

/// Why the copies stream ended.
#[derive(Debug, thiserror::Error)]
pub enum CopiesError {
    #[error(transparent)]
    Open(#[from] NodeError),
    #[error("the relay closed the copies stream: {0}")]
    Io(#[from] std::io::Error),
    #[error("the relay sent a bad report: {0}")]
    Wire(#[from] quire_core::copies::CopiesWireError),
}

/// Runs the stream until it fails or the relay closes it. `opened` runs once the hello is sent;
/// `on_report` for each report; each item of `take_over` sends "Use here".
pub async fn run(
    node: &NodeHandle,
    hello: Hello,
    mut take_over: mpsc::Receiver<ClientFrame>,
    opened: impl FnOnce(),
    mut on_report: impl FnMut(Report),
) -> Result<(), CopiesError> {
    let stream = node.open_stream(node.relay_peer(), PROTOCOL).await?;
    let (mut reader, mut writer) = stream.split();
    writer.write_all(&hello.encode()).await?;
    writer.flush().await?;
    opened();
    // Reading and writing run side by side, each owning its half, so neither is ever cut off
    // in the middle of a frame; whichever ends first ends the stream.
    let reads = read_reports(&mut reader, &mut on_report);
    let writes = async {
        while let Some(frame) = take_over.next().await {
            writer.write_all(&[frame.encode()]).await?;
            writer.flush().await?;
        }
        Ok::<(), CopiesError>(())
    };
    futures::pin_mut!(reads, writes);
    match futures::future::select(reads, writes).await {
        futures::future::Either::Left((result, _)) => result,
        futures::future::Either::Right((result, _)) => result,
    }
}

async fn read_reports(
    reader: &mut (impl futures::AsyncRead + Unpin),
    on_report: &mut impl FnMut(Report),
) -> Result<(), CopiesError> {
    let mut bytes = [0u8; REPORT_LEN];
    loop {
        reader.read_exact(&mut bytes).await?;
        on_report(Report::decode(&bytes)?);
    }
}
