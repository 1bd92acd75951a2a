//! `/webrtc-signaling/0.0.1`: SDP offer/answer and trickled ICE candidates over a stream of the
//! (authenticated) relayed connection, exactly in js-libp2p's order:
//!
//! - initiator: create the `init` channel, create the offer, send it *before*
//!   `setLocalDescription` (so no candidate can precede it), read the answer, then trade
//!   candidates until `connected`; close `init`, wait for its `close`, close the stream.
//! - responder: read the offer, send the answer *before* `setLocalDescription`, trade candidates
//!   until `connected`, close the stream.
//!
//! Everything is event-driven (no polling of connection state) and bounded by one deadline.
//! Authentication comes from the relayed connection: the DTLS fingerprints travel inside the SDP
//! over it, so the remote PeerId is the relayed connection's.

use std::{task::Poll, time::Duration};

use asynchronous_codec::Framed;
use futures::{
    AsyncRead, AsyncWrite, FutureExt as _, SinkExt as _, StreamExt as _, channel::mpsc,
    future::poll_fn,
};
use futures_timer::Delay;
use wasm_bindgen::{JsCast as _, JsValue, closure::Closure};
use wasm_bindgen_futures::JsFuture;
use web_sys::{
    Event, RtcDataChannel, RtcPeerConnection, RtcPeerConnectionIceEvent, RtcPeerConnectionState,
    RtcSdpType, RtcSessionDescriptionInit,
};

use super::{
    codec::{CodecError, LengthPrefixed, MAX_SIGNAL_MESSAGE},
    connection::{Connection, INIT_CHANNEL_LABEL, IceConfig},
    proto::{SignalKind, SignalMessage},
};

/// The protocol id of the signaling stream.
pub const SIGNALING_PROTOCOL: &str = "/webrtc-signaling/0.0.1";

/// Local candidates queued for sending. A host has a handful of interfaces times a few candidate
/// types; beyond this the extra candidates add nothing but delay.
const MAX_QUEUED_LOCAL_CANDIDATES: usize = 64;

/// How long the initiator waits for the `init` channel to report closed (js waits too, so the
/// channel id is not reused before both sides saw it close).
const INIT_CLOSE_TIMEOUT: Duration = Duration::from_secs(2);

/// How long closing the signaling stream may take once the connection is up.
const STREAM_CLOSE_TIMEOUT: Duration = Duration::from_secs(2);

#[derive(Debug, thiserror::Error)]
pub enum SignalingError {
    #[error("signaling did not finish within {0:?}")]
    Timeout(Duration),
    #[error("peer connection {0}")]
    ConnectionFailed(&'static str),
    #[error("expected {expected:?}, got {got:?}")]
    UnexpectedMessage {
        expected: SignalKind,
        got: Option<SignalKind>,
    },
    #[error("signaling stream ended before the connection was up")]
    StreamClosed,
    #[error("signaling stream: {0}")]
    Codec(#[from] CodecError),
    #[error("browser WebRTC call failed: {0}")]
    Browser(String),
}

fn browser(e: JsValue) -> SignalingError {
    SignalingError::Browser(
        js_sys::Reflect::get(&e, &"message".into())
            .ok()
            .and_then(|m| m.as_string())
            .unwrap_or_else(|| format!("{e:?}")),
    )
}

/// Forwards local ICE candidates to a bounded queue while alive; detaches on drop.
struct CandidateHook {
    pc: RtcPeerConnection,
    _closure: Closure<dyn FnMut(RtcPeerConnectionIceEvent)>,
}

impl CandidateHook {
    fn install(pc: &RtcPeerConnection) -> (Self, mpsc::Receiver<String>) {
        let (mut tx, rx) = mpsc::channel(MAX_QUEUED_LOCAL_CANDIDATES);
        let closure = Closure::<dyn FnMut(RtcPeerConnectionIceEvent)>::new(
            move |ev: RtcPeerConnectionIceEvent| {
                // `null` / empty candidate = end of gathering; js never sends it, nor do we.
                let Some(candidate) = ev.candidate() else {
                    return;
                };
                if candidate.candidate().is_empty() {
                    return;
                }
                let json = js_sys::JSON::stringify(&candidate.to_json())
                    .ok()
                    .and_then(|s| s.as_string());
                if let Some(json) = json
                    && tx.try_send(json).is_err()
                {
                    tracing::debug!("dropping a local ICE candidate: queue full");
                }
            },
        );
        pc.set_onicecandidate(Some(closure.as_ref().unchecked_ref()));
        (
            Self {
                pc: pc.clone(),
                _closure: closure,
            },
            rx,
        )
    }
}

impl Drop for CandidateHook {
    fn drop(&mut self) {
        self.pc.set_onicecandidate(None);
    }
}

fn session(kind: RtcSdpType, sdp: &str) -> RtcSessionDescriptionInit {
    let init = RtcSessionDescriptionInit::new(kind);
    init.set_sdp(sdp);
    init
}

fn sdp_of(description: &JsValue) -> Result<String, SignalingError> {
    js_sys::Reflect::get(description, &"sdp".into())
        .ok()
        .and_then(|s| s.as_string())
        .ok_or_else(|| SignalingError::Browser("session description without sdp".into()))
}

/// Runs the initiator side on `stream` and returns the connected connection.
pub async fn initiate<S>(
    stream: S,
    ice: &IceConfig,
    deadline: Duration,
) -> Result<Connection, SignalingError>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let conn = Connection::new(ice).map_err(|e| SignalingError::Browser(e.to_string()))?;
    let work = async {
        let pc = conn.peer_connection();
        let (hook, candidates) = CandidateHook::install(pc);
        let mut framed = Framed::new(
            stream,
            LengthPrefixed::<SignalMessage>::new(MAX_SIGNAL_MESSAGE),
        );
        let init = pc.create_data_channel(INIT_CHANNEL_LABEL);

        let offer = JsFuture::from(pc.create_offer()).await.map_err(browser)?;
        let offer_sdp = sdp_of(&offer)?;
        framed
            .send(SignalMessage::new(SignalKind::SdpOffer, offer_sdp.clone()))
            .await?;
        JsFuture::from(pc.set_local_description(&session(RtcSdpType::Offer, &offer_sdp)))
            .await
            .map_err(browser)?;

        let answer = expect(&mut framed, SignalKind::SdpAnswer).await?;
        JsFuture::from(pc.set_remote_description(&session(RtcSdpType::Answer, &answer)))
            .await
            .map_err(browser)?;

        exchange_candidates(&conn, &mut framed, candidates).await?;
        drop(hook);
        close_init(&init).await;
        let _ = futures::future::select(
            framed.close().boxed_local(),
            Delay::new(STREAM_CLOSE_TIMEOUT),
        )
        .await;
        Ok::<_, SignalingError>(())
    };
    with_deadline(work, deadline).await?;
    Ok(conn)
}

/// Runs the responder side on `stream` and returns the connected connection.
pub async fn respond<S>(
    stream: S,
    ice: &IceConfig,
    deadline: Duration,
) -> Result<Connection, SignalingError>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let conn = Connection::new(ice).map_err(|e| SignalingError::Browser(e.to_string()))?;
    let work = async {
        let pc = conn.peer_connection();
        let (hook, candidates) = CandidateHook::install(pc);
        let mut framed = Framed::new(
            stream,
            LengthPrefixed::<SignalMessage>::new(MAX_SIGNAL_MESSAGE),
        );

        let offer = expect(&mut framed, SignalKind::SdpOffer).await?;
        JsFuture::from(pc.set_remote_description(&session(RtcSdpType::Offer, &offer)))
            .await
            .map_err(browser)?;
        let answer = JsFuture::from(pc.create_answer()).await.map_err(browser)?;
        let answer_sdp = sdp_of(&answer)?;
        framed
            .send(SignalMessage::new(
                SignalKind::SdpAnswer,
                answer_sdp.clone(),
            ))
            .await?;
        JsFuture::from(pc.set_local_description(&session(RtcSdpType::Answer, &answer_sdp)))
            .await
            .map_err(browser)?;

        exchange_candidates(&conn, &mut framed, candidates).await?;
        drop(hook);
        let _ = futures::future::select(
            framed.close().boxed_local(),
            Delay::new(STREAM_CLOSE_TIMEOUT),
        )
        .await;
        Ok::<_, SignalingError>(())
    };
    with_deadline(work, deadline).await?;
    Ok(conn)
}

async fn with_deadline(
    work: impl std::future::Future<Output = Result<(), SignalingError>>,
    deadline: Duration,
) -> Result<(), SignalingError> {
    let work = std::pin::pin!(work);
    match futures::future::select(work, Delay::new(deadline)).await {
        futures::future::Either::Left((result, _)) => result,
        futures::future::Either::Right(_) => Err(SignalingError::Timeout(deadline)),
    }
}

type SignalStream<S> = Framed<S, LengthPrefixed<SignalMessage>>;

async fn expect<S>(
    framed: &mut SignalStream<S>,
    expected: SignalKind,
) -> Result<String, SignalingError>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let msg = framed.next().await.ok_or(SignalingError::StreamClosed)??;
    match msg.known_kind() {
        Some(kind) if kind == expected => Ok(msg.data.unwrap_or_default()),
        got => Err(SignalingError::UnexpectedMessage { expected, got }),
    }
}

enum Step {
    Local(Option<String>),
    Remote(Option<Result<SignalMessage, CodecError>>),
    State(RtcPeerConnectionState),
}

/// Trickles candidates both ways until the peer connection is `connected`.
async fn exchange_candidates<S>(
    conn: &Connection,
    framed: &mut SignalStream<S>,
    mut local: mpsc::Receiver<String>,
) -> Result<(), SignalingError>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let pc = conn.peer_connection();
    let mut local_done = false;
    let mut remote_done = false;
    loop {
        let state = poll_fn(|cx| match conn.poll_state(cx) {
            s @ (RtcPeerConnectionState::Connected
            | RtcPeerConnectionState::Failed
            | RtcPeerConnectionState::Closed) => Poll::Ready(s),
            _ => Poll::Pending,
        });
        let step = {
            let local_next = async {
                if local_done {
                    futures::future::pending::<()>().await;
                }
                local.next().await
            };
            let remote_next = async {
                if remote_done {
                    futures::future::pending::<()>().await;
                }
                framed.next().await
            };
            futures::select_biased! {
                s = state.fuse() => Step::State(s),
                c = local_next.fuse() => Step::Local(c),
                m = remote_next.fuse() => Step::Remote(m),
            }
        };
        match step {
            Step::State(RtcPeerConnectionState::Connected) => return Ok(()),
            Step::State(RtcPeerConnectionState::Failed) => {
                return Err(SignalingError::ConnectionFailed(
                    "failed (ICE found no path)",
                ));
            }
            Step::State(_) => return Err(SignalingError::ConnectionFailed("closed")),
            Step::Local(Some(json)) => {
                framed
                    .send(SignalMessage::new(SignalKind::IceCandidate, json))
                    .await?;
            }
            Step::Local(None) => local_done = true,
            // The peer may close its side as soon as it sees `connected`, slightly before we do:
            // keep waiting for our own state (bounded by the deadline).
            Step::Remote(None) => remote_done = true,
            Step::Remote(Some(msg)) => {
                let msg = msg?;
                if msg.known_kind() != Some(SignalKind::IceCandidate) {
                    return Err(SignalingError::UnexpectedMessage {
                        expected: SignalKind::IceCandidate,
                        got: msg.known_kind(),
                    });
                }
                add_remote_candidate(pc, msg.data.as_deref().unwrap_or_default()).await;
            }
        }
    }
}

/// Adds one trickled candidate. js sends `JSON.stringify(candidate.toJSON())`; `"null"` and `""`
/// mean end-of-candidates. A candidate the browser rejects is logged, not fatal (others may work).
async fn add_remote_candidate(pc: &RtcPeerConnection, data: &str) {
    let Ok(value) = js_sys::JSON::parse(data) else {
        tracing::debug!("ignoring an ICE candidate that is not JSON");
        return;
    };
    if value.is_null() || value.as_string().is_some_and(|s| s.is_empty()) {
        return;
    }
    let candidate = js_sys::Reflect::get(&value, &"candidate".into()).ok();
    if candidate
        .as_ref()
        .and_then(|c| c.as_string())
        .is_none_or(|c| c.is_empty())
    {
        return;
    }
    let init = value.unchecked_into::<web_sys::RtcIceCandidateInit>();
    if let Err(e) =
        JsFuture::from(pc.add_ice_candidate_with_opt_rtc_ice_candidate_init(Some(&init))).await
    {
        tracing::debug!("browser rejected a remote ICE candidate: {e:?}");
    }
}

/// Closes the `init` channel and waits (bounded) for its `close` event.
async fn close_init(init: &RtcDataChannel) {
    if init.ready_state() == web_sys::RtcDataChannelState::Closed {
        return;
    }
    let (tx, rx) = futures::channel::oneshot::channel::<()>();
    let mut tx = Some(tx);
    let on_close = Closure::<dyn FnMut(Event)>::new(move |_| {
        if let Some(tx) = tx.take() {
            let _ = tx.send(());
        }
    });
    init.set_onclose(Some(on_close.as_ref().unchecked_ref()));
    init.close();
    let _ = futures::future::select(rx, Delay::new(INIT_CLOSE_TIMEOUT)).await;
    init.set_onclose(None);
}
