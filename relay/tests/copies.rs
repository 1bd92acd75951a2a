//! `/quire/copies/1` as two browsers with one restored account see it: the newer copy is told
//! to stop, "Use here" moves the writer, a copy that goes away is reported, bad input closes
//! the stream.
#![allow(clippy::unwrap_used)]

mod common;

use common::client::{Client, STEP, ws_addr};
use futures::{AsyncReadExt as _, AsyncWriteExt as _};
use libp2p::identity::Keypair;
use libp2p::{Stream, StreamProtocol};
use quire_core::copies::{
    ClientFrame, Hello, INSTANCE_LEN, InstanceId, PROTOCOL, REPORT_LEN, Report,
};
use quire_relay::{Config, Server};

async fn relay() -> (Server, tempfile::TempDir, tempfile::TempDir) {
    let dist = tempfile::tempdir().unwrap();
    let data = tempfile::tempdir().unwrap();
    common::write_fake_dist(dist.path());
    let config = Config::for_tests(dist.path().to_owned(), data.path().to_owned());
    (Server::spawn(config).await.unwrap(), dist, data)
}

/// A running copy: its stream to the relay and the task polling its swarm.
struct Copy {
    stream: Stream,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Copy {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn copy(server: &Server, key: &Keypair, instance: u8, writing: bool) -> Copy {
    let client = Client::connect_as(&ws_addr(&server.relay_addrs()), key.clone()).await;
    let (mut control, relay, task) = client.run_in_background();
    let mut stream = tokio::time::timeout(
        STEP,
        control.open_stream(relay, StreamProtocol::new(PROTOCOL)),
    )
    .await
    .unwrap()
    .unwrap();
    let hello = Hello {
        instance: InstanceId([instance; INSTANCE_LEN]),
        writing,
    };
    stream.write_all(&hello.encode()).await.unwrap();
    stream.flush().await.unwrap();
    Copy { stream, task }
}

impl Copy {
    async fn report(&mut self) -> Report {
        let mut bytes = [0u8; REPORT_LEN];
        tokio::time::timeout(STEP, self.stream.read_exact(&mut bytes))
            .await
            .expect("no report from the relay")
            .unwrap();
        Report::decode(&bytes).unwrap()
    }

    async fn take_over(&mut self) {
        self.stream
            .write_all(&[ClientFrame::TakeOver.encode()])
            .await
            .unwrap();
        self.stream.flush().await.unwrap();
    }
}

fn report(others: u8, writer: bool) -> Report {
    Report { others, writer }
}

#[tokio::test]
async fn the_newer_copy_of_an_account_stops_and_use_here_moves_the_writer() {
    let (server, _dist, _data) = relay().await;
    let ada = Keypair::generate_ed25519();
    let mut old = copy(&server, &ada, 1, true).await;
    assert_eq!(old.report().await, report(0, true), "alone, it writes");

    // Someone else's account is no concern of Ada's copies.
    let mut bob = copy(&server, &Keypair::generate_ed25519(), 9, true).await;
    assert_eq!(bob.report().await, report(0, true));

    let mut restored = copy(&server, &ada, 2, true).await;
    assert_eq!(
        restored.report().await,
        report(1, false),
        "the newer one stops"
    );
    assert_eq!(
        old.report().await,
        report(1, true),
        "the older one hears of it"
    );

    restored.take_over().await;
    assert_eq!(restored.report().await, report(1, true));
    assert_eq!(old.report().await, report(1, false));

    // The writer goes away; the copy left behind is told, and is not made the writer.
    drop(restored);
    assert_eq!(old.report().await, report(0, false));
    old.take_over().await;
    assert_eq!(old.report().await, report(0, true));
}

#[tokio::test]
async fn a_bad_hello_or_frame_closes_only_that_stream() {
    let (server, _dist, _data) = relay().await;
    let ada = Keypair::generate_ed25519();
    let mut good = copy(&server, &ada, 1, true).await;
    assert_eq!(good.report().await, report(0, true));

    // A hello of an unknown version: the relay closes the stream without a report.
    let client = Client::connect_as(&ws_addr(&server.relay_addrs()), ada.clone()).await;
    let (mut control, relay, task) = client.run_in_background();
    let mut bad = control
        .open_stream(relay, StreamProtocol::new(PROTOCOL))
        .await
        .unwrap();
    let mut hello = Hello {
        instance: InstanceId([2; INSTANCE_LEN]),
        writing: true,
    }
    .encode();
    hello[0] = 99;
    bad.write_all(&hello).await.unwrap();
    bad.flush().await.unwrap();
    let mut rest = Vec::new();
    let read = tokio::time::timeout(STEP, bad.read_to_end(&mut rest))
        .await
        .expect("the relay keeps a stream with a bad hello open");
    assert!(
        read.is_err() || rest.is_empty(),
        "no report after a bad hello"
    );
    task.abort();

    // An unknown frame after a good hello closes that copy's stream; its account is told.
    let mut second = copy(&server, &ada, 3, true).await;
    assert_eq!(second.report().await, report(1, false));
    assert_eq!(good.report().await, report(1, true));
    second.stream.write_all(&[0x7f]).await.unwrap();
    second.stream.flush().await.unwrap();
    assert_eq!(good.report().await, report(0, true));
}
