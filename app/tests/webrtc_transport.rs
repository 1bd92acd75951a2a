//! Browser tests of the `/webrtc` transport pieces: two peer connections in one page, signaled
//! over an in-memory pipe (the relay's job in production), then streams over data channels.
#![cfg(target_arch = "wasm32")]
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::{
    cell::RefCell,
    collections::VecDeque,
    io,
    pin::Pin,
    rc::Rc,
    task::{Context, Poll, Waker},
    time::Duration,
};

use bytes::BytesMut;
use futures::{AsyncRead, AsyncReadExt as _, AsyncWrite, AsyncWriteExt as _, future::poll_fn};
use libp2p::core::muxing::StreamMuxerExt as _;
use quire_app::net::webrtc::{
    codec::{self, MAX_SIGNAL_MESSAGE},
    connection::{Connection, IceConfig},
    proto::{SignalKind, SignalMessage},
    signaling::{self, SignalingError},
    stream::Stream,
};
use wasm_bindgen_test::wasm_bindgen_test;

wasm_bindgen_test::wasm_bindgen_test_configure!(run_in_browser);

const DEADLINE: Duration = Duration::from_secs(9);

#[derive(Default)]
struct Pipe {
    buf: VecDeque<u8>,
    closed: bool,
    waker: Option<Waker>,
}

/// One end of an in-memory duplex byte stream.
struct End {
    rx: Rc<RefCell<Pipe>>,
    tx: Rc<RefCell<Pipe>>,
}

fn duplex() -> (End, End) {
    let a = Rc::new(RefCell::new(Pipe::default()));
    let b = Rc::new(RefCell::new(Pipe::default()));
    (
        End {
            rx: a.clone(),
            tx: b.clone(),
        },
        End { rx: b, tx: a },
    )
}

impl AsyncRead for End {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        let mut p = self.rx.borrow_mut();
        if p.buf.is_empty() {
            if p.closed {
                return Poll::Ready(Ok(0));
            }
            p.waker = Some(cx.waker().clone());
            return Poll::Pending;
        }
        let n = buf.len().min(p.buf.len());
        for (slot, byte) in buf.iter_mut().zip(p.buf.drain(..n)) {
            *slot = byte;
        }
        Poll::Ready(Ok(n))
    }
}

impl AsyncWrite for End {
    fn poll_write(
        self: Pin<&mut Self>,
        _: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let mut p = self.tx.borrow_mut();
        p.buf.extend(buf);
        if let Some(w) = p.waker.take() {
            w.wake();
        }
        Poll::Ready(Ok(buf.len()))
    }
    fn poll_flush(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }
    fn poll_close(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        let mut p = self.tx.borrow_mut();
        p.closed = true;
        if let Some(w) = p.waker.take() {
            w.wake();
        }
        Poll::Ready(Ok(()))
    }
}

async fn connected_pair() -> (Connection, Connection) {
    let (a, b) = duplex();
    let ice = IceConfig::default();
    let (ca, cb) = futures::join!(
        signaling::initiate(a, &ice, DEADLINE),
        signaling::respond(b, &ice, DEADLINE)
    );
    (
        ca.expect("initiator connects"),
        cb.expect("responder connects"),
    )
}

async fn accept(conn: &mut Connection) -> Stream {
    poll_fn(|cx| conn.poll_inbound_unpin(cx))
        .await
        .expect("inbound stream")
}

async fn sleep(d: Duration) {
    futures_timer::Delay::new(d).await;
}

/// Opens a stream on `opener`, sends a line, and expects it reversed from `acceptor`.
async fn echo_once(opener: &Connection, acceptor: &mut Connection) {
    let mut out = opener.open_stream().unwrap();
    out.write_all(b"ping from opener").await.unwrap();
    out.close().await.unwrap();

    let mut inc = accept(acceptor).await;
    let mut got = Vec::new();
    inc.read_to_end(&mut got).await.unwrap();
    assert_eq!(got, b"ping from opener");
    got.reverse();
    inc.write_all(&got).await.unwrap();
    inc.close().await.unwrap();

    let mut back = Vec::new();
    out.read_to_end(&mut back).await.unwrap();
    assert_eq!(back, b"renepo morf gnip");
}

#[wasm_bindgen_test]
async fn streams_echo_both_ways_and_close_cleanly() {
    let (mut a, mut b) = connected_pair().await;
    echo_once(&a, &mut b).await;
    echo_once(&b, &mut a).await;
}

#[wasm_bindgen_test]
async fn one_mebibyte_arrives_byte_for_byte() {
    let (a, mut b) = connected_pair().await;
    let data: Vec<u8> = (0..1024 * 1024u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    let mut out = a.open_stream().unwrap();
    let send = async {
        out.write_all(&data).await.unwrap();
        out.close().await.unwrap();
    };
    let recv = async {
        let mut inc = accept(&mut b).await;
        let mut got = Vec::new();
        inc.read_to_end(&mut got).await.unwrap();
        got
    };
    let ((), got) = futures::join!(send, recv);
    assert_eq!(got.len(), data.len());
    assert!(got == data, "payload differs");
}

#[wasm_bindgen_test]
async fn dropping_a_stream_resets_it_for_the_peer() {
    let (a, mut b) = connected_pair().await;
    let mut out = a.open_stream().unwrap();
    out.write_all(b"partial").await.unwrap();
    let mut inc = accept(&mut b).await;
    let mut first = [0u8; 7];
    inc.read_exact(&mut first).await.unwrap();
    drop(out);
    let mut rest = Vec::new();
    let err = inc
        .read_to_end(&mut rest)
        .await
        .expect_err("reset must surface");
    assert_eq!(err.kind(), io::ErrorKind::ConnectionReset);
    assert!(
        inc.write_all(b"x").await.is_err(),
        "writes fail after reset"
    );
}

#[wasm_bindgen_test]
async fn init_channel_is_never_an_inbound_stream() {
    let (_a, mut b) = connected_pair().await;
    sleep(Duration::from_millis(300)).await;
    let pending = poll_fn(|cx| Poll::Ready(b.poll_inbound_unpin(cx).is_pending())).await;
    assert!(
        pending,
        "the initiator's `init` channel must not surface as a stream"
    );
}

#[wasm_bindgen_test]
async fn many_streams_in_parallel() {
    let (a, mut b) = connected_pair().await;
    let mut outs = Vec::new();
    for i in 0..20u8 {
        let mut s = a.open_stream().unwrap();
        s.write_all(&[i; 100]).await.unwrap();
        s.close().await.unwrap();
        outs.push(s);
    }
    let mut seen = Vec::new();
    for _ in 0..20 {
        let mut inc = accept(&mut b).await;
        let mut got = Vec::new();
        inc.read_to_end(&mut got).await.unwrap();
        assert_eq!(got.len(), 100);
        seen.push(got[0]);
    }
    seen.sort_unstable();
    assert_eq!(seen, (0..20).collect::<Vec<_>>());
}

#[wasm_bindgen_test]
async fn remote_closing_its_peer_connection_ends_ours() {
    let (a, mut b) = connected_pair().await;
    drop(a);
    let ended = futures::future::select(
        Box::pin(poll_fn(|cx| b.poll_unpin(cx))),
        Box::pin(sleep(Duration::from_secs(10))),
    )
    .await;
    assert!(
        matches!(ended, futures::future::Either::Left((Err(_), _))),
        "the connection must report the loss within 10 s"
    );
}

#[wasm_bindgen_test]
async fn responder_rejects_a_candidate_before_the_offer() {
    let (mut a, b) = duplex();
    let mut buf = BytesMut::new();
    codec::encode(
        &SignalMessage::new(SignalKind::IceCandidate, "null".into()),
        MAX_SIGNAL_MESSAGE,
        &mut buf,
    )
    .unwrap();
    a.write_all(&buf).await.unwrap();
    let err = signaling::respond(b, &IceConfig::default(), DEADLINE)
        .await
        .expect_err("must fail");
    assert!(matches!(
        err,
        SignalingError::UnexpectedMessage {
            expected: SignalKind::SdpOffer,
            ..
        }
    ));
}

#[wasm_bindgen_test]
async fn silent_peer_times_out() {
    let (_a, b) = duplex();
    let err = signaling::respond(b, &IceConfig::default(), Duration::from_millis(300))
        .await
        .expect_err("must time out");
    assert!(matches!(err, SignalingError::Timeout(_)));
}
