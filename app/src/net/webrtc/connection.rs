//! The stream muxer of a `/webrtc` connection: one `RTCPeerConnection`, one data channel per
//! stream, no yamux on top.
//!
//! Created together with the `RTCPeerConnection`, before signaling starts: js-libp2p opens
//! streams (identify, ping) the moment its side is connected, so `ondatachannel` must already
//! be listening and the first messages must be kept (pitfall 9 of the research notes).

use std::{
    cell::RefCell,
    collections::VecDeque,
    io,
    pin::Pin,
    rc::Rc,
    task::{Context, Poll, Waker},
    time::Duration,
};

use futures::FutureExt as _;
use futures_timer::Delay;
use libp2p::core::muxing::{StreamMuxer, StreamMuxerEvent};
use send_wrapper::SendWrapper;
use wasm_bindgen::{JsCast as _, closure::Closure};
use web_sys::{
    Event, RtcConfiguration, RtcDataChannelEvent, RtcDataChannelInit, RtcIceTransportPolicy,
    RtcPeerConnection, RtcPeerConnectionState,
};

use super::stream::Stream;

/// Remote-opened streams waiting to be accepted. The swarm accepts promptly; a peer that opens
/// channels faster than that is refused beyond this many rather than buffered without bound.
pub const MAX_PENDING_INBOUND_STREAMS: usize = 32;

/// How long the peer connection may stay `disconnected` before the connection counts as lost.
/// Chromium reports `disconnected` a few seconds after the remote vanishes (a closed tab) and
/// sometimes for brief network hiccups; this keeps "offline within 10 s" while riding out blips.
pub const DISCONNECTED_GRACE: Duration = Duration::from_secs(3);

/// ICE settings of every peer connection.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct IceConfig {
    /// STUN/TURN URLs; empty = host candidates only (tests, LAN).
    pub servers: Vec<String>,
    /// Use only TURN-relayed candidates (hides the user's addresses from peers). Without TURN
    /// servers no direct path can form, so links stay on the libp2p relay circuit.
    pub relay_only: bool,
}

/// The label js-libp2p and we give the data channel that only exists to put ICE/SCTP in the
/// offer; it is never a stream.
pub const INIT_CHANNEL_LABEL: &str = "init";

#[derive(Debug)]
struct Shared {
    inbound: VecDeque<Stream>,
    inbound_waker: Option<Waker>,
    state: RtcPeerConnectionState,
    poll_waker: Option<Waker>,
    signaling_waker: Option<Waker>,
}

struct Inner {
    pc: RtcPeerConnection,
    shared: Rc<RefCell<Shared>>,
    _on_datachannel: Closure<dyn FnMut(RtcDataChannelEvent)>,
    _on_state: Closure<dyn FnMut(Event)>,
    disconnected_since: Option<Delay>,
    closed: bool,
}

/// A `/webrtc` connection; implements [`StreamMuxer`].
pub struct Connection {
    inner: SendWrapper<Inner>,
}

impl std::fmt::Debug for Connection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Connection")
            .field("state", &self.inner.pc.connection_state())
            .finish()
    }
}

fn js_err(e: wasm_bindgen::JsValue) -> io::Error {
    io::Error::other(format!("{e:?}"))
}

impl Connection {
    /// Creates the `RTCPeerConnection` and starts listening for data channels at once.
    pub fn new(ice: &IceConfig) -> io::Result<Self> {
        let config = RtcConfiguration::new();
        let servers = js_sys::Array::new();
        for url in &ice.servers {
            let server = js_sys::Object::new();
            js_sys::Reflect::set(&server, &"urls".into(), &url.into()).map_err(js_err)?;
            servers.push(&server);
        }
        config.set_ice_servers(&servers);
        if ice.relay_only {
            config.set_ice_transport_policy(RtcIceTransportPolicy::Relay);
        }
        let pc = RtcPeerConnection::new_with_configuration(&config).map_err(js_err)?;
        let shared = Rc::new(RefCell::new(Shared {
            inbound: VecDeque::new(),
            inbound_waker: None,
            state: pc.connection_state(),
            poll_waker: None,
            signaling_waker: None,
        }));

        let weak = Rc::downgrade(&shared);
        let on_datachannel =
            Closure::<dyn FnMut(RtcDataChannelEvent)>::new(move |ev: RtcDataChannelEvent| {
                let channel = ev.channel();
                if channel.label() == INIT_CHANNEL_LABEL {
                    // The initiator closes it itself once connected.
                    return;
                }
                let Some(sh) = weak.upgrade() else {
                    channel.close();
                    return;
                };
                let waker = {
                    let mut sh = sh.borrow_mut();
                    if sh.inbound.len() >= MAX_PENDING_INBOUND_STREAMS {
                        tracing::debug!("refusing a /webrtc stream: too many pending");
                        channel.close();
                        return;
                    }
                    // Wrapping registers the message handler now, keeping early messages.
                    sh.inbound.push_back(Stream::new(channel));
                    sh.inbound_waker.take()
                };
                if let Some(w) = waker {
                    w.wake();
                }
            });
        let weak = Rc::downgrade(&shared);
        let pc_for_state = pc.clone();
        let on_state = Closure::<dyn FnMut(Event)>::new(move |_| {
            if let Some(sh) = weak.upgrade() {
                let wakers = {
                    let mut sh = sh.borrow_mut();
                    sh.state = pc_for_state.connection_state();
                    [sh.poll_waker.take(), sh.signaling_waker.take()]
                };
                for w in wakers.into_iter().flatten() {
                    w.wake();
                }
            }
        });
        pc.set_ondatachannel(Some(on_datachannel.as_ref().unchecked_ref()));
        pc.set_onconnectionstatechange(Some(on_state.as_ref().unchecked_ref()));
        Ok(Self {
            inner: SendWrapper::new(Inner {
                pc,
                shared,
                _on_datachannel: on_datachannel,
                _on_state: on_state,
                disconnected_since: None,
                closed: false,
            }),
        })
    }

    /// The browser object, for signaling.
    pub fn peer_connection(&self) -> &RtcPeerConnection {
        &self.inner.pc
    }

    /// The current connection state; wakes `cx` (signaling's task) on the next change.
    pub fn poll_state(&self, cx: &mut Context<'_>) -> RtcPeerConnectionState {
        let mut sh = self.inner.shared.borrow_mut();
        sh.signaling_waker = Some(cx.waker().clone());
        sh.state
    }

    /// Opens a stream (a new data channel labelled `""`, not negotiated, ordered).
    pub fn open_stream(&self) -> io::Result<Stream> {
        let init = RtcDataChannelInit::new();
        init.set_ordered(true);
        let channel = self
            .inner
            .pc
            .create_data_channel_with_data_channel_dict("", &init);
        Ok(Stream::new(channel))
    }

    fn is_dead(&self) -> bool {
        self.inner.closed
            || matches!(
                self.inner.shared.borrow().state,
                RtcPeerConnectionState::Failed | RtcPeerConnectionState::Closed
            )
    }
}

impl StreamMuxer for Connection {
    type Substream = Stream;
    type Error = io::Error;

    fn poll_inbound(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Result<Self::Substream, Self::Error>> {
        if self.is_dead() {
            return Poll::Ready(Err(io::ErrorKind::ConnectionReset.into()));
        }
        let mut sh = self.inner.shared.borrow_mut();
        match sh.inbound.pop_front() {
            Some(stream) => Poll::Ready(Ok(stream)),
            None => {
                sh.inbound_waker = Some(cx.waker().clone());
                Poll::Pending
            }
        }
    }

    fn poll_outbound(
        self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
    ) -> Poll<Result<Self::Substream, Self::Error>> {
        if self.is_dead() {
            return Poll::Ready(Err(io::ErrorKind::ConnectionReset.into()));
        }
        Poll::Ready(self.open_stream())
    }

    fn poll_close(
        mut self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
    ) -> Poll<Result<(), Self::Error>> {
        self.inner.closed = true;
        self.inner.pc.close();
        Poll::Ready(Ok(()))
    }

    fn poll(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Result<StreamMuxerEvent, Self::Error>> {
        let state = {
            let mut sh = self.inner.shared.borrow_mut();
            sh.poll_waker = Some(cx.waker().clone());
            sh.state
        };
        match state {
            RtcPeerConnectionState::Failed | RtcPeerConnectionState::Closed => {
                Poll::Ready(Err(io::ErrorKind::ConnectionReset.into()))
            }
            RtcPeerConnectionState::Disconnected => {
                let timer = self
                    .inner
                    .disconnected_since
                    .get_or_insert_with(|| Delay::new(DISCONNECTED_GRACE));
                if timer.poll_unpin(cx).is_ready() {
                    Poll::Ready(Err(io::ErrorKind::TimedOut.into()))
                } else {
                    Poll::Pending
                }
            }
            _ => {
                self.inner.disconnected_since = None;
                Poll::Pending
            }
        }
    }
}

impl Drop for Inner {
    fn drop(&mut self) {
        // Detach before the closures are freed so the browser never calls a dropped closure.
        self.pc.set_ondatachannel(None);
        self.pc.set_onconnectionstatechange(None);
        self.pc.close();
    }
}
