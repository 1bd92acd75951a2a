//! One libp2p stream = one `RTCDataChannel`, framed with [`Frame`] (specs `webrtc/README.md`).
//!
//! Incoming messages are decoded eagerly in the channel's `message` handler, so flags are honoured
//! even while nobody polls the stream: a `FIN` is answered with `FIN_ACK` at once (js-libp2p waits
//! for it), and early messages that arrive before the stream is accepted are kept.

use std::{
    cell::RefCell,
    io,
    pin::Pin,
    rc::{Rc, Weak},
    task::{Context, Poll, Waker},
    time::Duration,
};

use bytes::{Buf, BytesMut};
use futures::{AsyncRead, AsyncWrite, FutureExt as _};
use futures_timer::Delay;
use send_wrapper::SendWrapper;
use wasm_bindgen::{JsCast as _, closure::Closure};
use web_sys::{Event, MessageEvent, RtcDataChannel, RtcDataChannelState, RtcDataChannelType};

use super::{
    codec::{self, MAX_DATA_CHANNEL_FRAME, MAX_FRAME_PAYLOAD},
    proto::{Flag, Frame},
    stream_state::{ReadHalf, StreamState},
};

/// Writes pause while the browser holds more than this many unsent bytes for the channel. Far
/// above one frame so a stream keeps the SCTP association busy (js-libp2p allows 2 MiB), yet
/// bounded so a fast writer cannot queue unbounded memory.
pub const SEND_HIGH_WATER: u32 = 1024 * 1024;

/// Writes resume (via `bufferedamountlow`) once the queue drains below this.
pub const SEND_LOW_WATER: u32 = 256 * 1024;

/// Received but unread bytes per stream. Data channels have no receiver-driven flow control, so
/// a peer that runs this far ahead of our reader is reset rather than allowed to exhaust memory.
/// Comfortably above the sender's high-water mark plus what is in flight on the network.
pub const MAX_RECV_BUFFER: usize = 8 * 1024 * 1024;

/// How long a closing writer waits for the remote's `FIN_ACK` (js-libp2p uses 10 s too).
pub const FIN_ACK_TIMEOUT: Duration = Duration::from_secs(10);

/// State shared between the stream and the channel's event handlers.
#[derive(Debug)]
struct Shared {
    state: StreamState,
    /// Bytes received and not yet decoded into frames (a frame may span messages).
    undecoded: BytesMut,
    /// Payload bytes decoded and waiting for the reader.
    readable: BytesMut,
    open: bool,
    closed: bool,
    /// Set when the stream failed (protocol violation, overflow); reported to reader and writer.
    failure: Option<io::ErrorKind>,
    read_waker: Option<Waker>,
    write_waker: Option<Waker>,
}

impl Shared {
    fn wake_all(&mut self) -> Vec<Waker> {
        self.read_waker
            .take()
            .into_iter()
            .chain(self.write_waker.take())
            .collect()
    }
}

/// Event handlers of one channel. Kept alive by the stream and detached before they are dropped,
/// so the browser never calls a freed closure.
struct Handlers {
    _on_open: Closure<dyn FnMut(Event)>,
    _on_message: Closure<dyn FnMut(MessageEvent)>,
    _on_close: Closure<dyn FnMut(Event)>,
    _on_low: Closure<dyn FnMut(Event)>,
}

/// The stream's view of its channel.
struct Channel {
    channel: RtcDataChannel,
    shared: Rc<RefCell<Shared>>,
    _handlers: Handlers,
    fin_ack_timer: Option<Delay>,
}

/// A libp2p stream over a data channel. `Send` only nominally: it must stay on the browser's main
/// thread (wasm32 is single-threaded), which `SendWrapper` checks.
pub struct Stream {
    inner: SendWrapper<Channel>,
}

impl std::fmt::Debug for Stream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Stream")
            .field("label", &self.inner.channel.label())
            .field("id", &self.inner.channel.id())
            .finish()
    }
}

fn send_frame(channel: &RtcDataChannel, frame: &Frame) -> io::Result<()> {
    let mut buf = BytesMut::new();
    codec::encode(frame, MAX_DATA_CHANNEL_FRAME, &mut buf)?;
    channel
        .send_with_u8_array(&buf)
        .map_err(|_| io::Error::from(io::ErrorKind::BrokenPipe))
}

fn wake(wakers: Vec<Waker>) {
    for w in wakers {
        w.wake();
    }
}

/// Appends a received message and processes every complete frame in it.
fn on_message(shared: &Weak<RefCell<Shared>>, channel: &RtcDataChannel, ev: &MessageEvent) {
    let Some(shared) = shared.upgrade() else {
        return;
    };
    let Ok(buffer) = ev.data().dyn_into::<js_sys::ArrayBuffer>() else {
        // Strings or blobs are not part of the protocol.
        return;
    };
    let bytes = js_sys::Uint8Array::new(&buffer);
    let wakers = {
        let mut sh = shared.borrow_mut();
        if sh.failure.is_some() {
            return;
        }
        let len = bytes.length() as usize;
        if sh.undecoded.len() + sh.readable.len() + len > MAX_RECV_BUFFER {
            fail(&mut sh, channel, io::ErrorKind::OutOfMemory);
            return;
        }
        let start = sh.undecoded.len();
        sh.undecoded.resize(start + len, 0);
        bytes.copy_to(&mut sh.undecoded[start..]);
        process_frames(&mut sh, channel);
        sh.wake_all()
    };
    wake(wakers);
}

fn process_frames(sh: &mut Shared, channel: &RtcDataChannel) {
    loop {
        let frame = match codec::decode::<Frame>(&mut sh.undecoded, MAX_DATA_CHANNEL_FRAME) {
            Ok(Some(frame)) => frame,
            Ok(None) => return,
            Err(e) => {
                tracing::debug!("resetting /webrtc stream after bad frame: {e}");
                fail(sh, channel, io::ErrorKind::InvalidData);
                return;
            }
        };
        if let Some(payload) = frame.message.filter(|p| !p.is_empty())
            && sh.state.accepts_data()
        {
            sh.readable.extend_from_slice(&payload);
        }
        match frame.flag.map(|f| Flag::try_from(f).map_err(|_| f)) {
            None => {}
            // Unknown flags come from newer peers; ignoring them keeps the stream usable.
            Some(Err(unknown)) => tracing::debug!("ignoring unknown /webrtc flag {unknown}"),
            Some(Ok(flag)) => {
                if let Some(reply) = sh.state.on_remote_flag(flag) {
                    // A failed reply means the channel is going away; its close event follows.
                    let _ = send_frame(channel, &Frame::with_flag(reply));
                }
                if sh.state.channel_can_close() {
                    channel.close();
                }
            }
        }
    }
}

/// Marks the stream failed, tells the peer, and closes the channel.
fn fail(sh: &mut Shared, channel: &RtcDataChannel, kind: io::ErrorKind) {
    sh.failure = Some(kind);
    if sh.state.reset() {
        let _ = send_frame(channel, &Frame::with_flag(Flag::ResetStream));
    }
    channel.close();
}

impl Stream {
    /// Wraps a channel and registers its handlers at once, so no message is missed. Used both for
    /// channels we create and for channels the remote opened.
    pub(crate) fn new(channel: RtcDataChannel) -> Self {
        channel.set_binary_type(RtcDataChannelType::Arraybuffer);
        channel.set_buffered_amount_low_threshold(SEND_LOW_WATER);
        let shared = Rc::new(RefCell::new(Shared {
            state: StreamState::new(),
            undecoded: BytesMut::new(),
            readable: BytesMut::new(),
            open: channel.ready_state() == RtcDataChannelState::Open,
            closed: matches!(
                channel.ready_state(),
                RtcDataChannelState::Closing | RtcDataChannelState::Closed
            ),
            failure: None,
            read_waker: None,
            write_waker: None,
        }));

        let weak = Rc::downgrade(&shared);
        let on_open = Closure::<dyn FnMut(Event)>::new(move |_| {
            if let Some(sh) = weak.upgrade() {
                let wakers = {
                    let mut sh = sh.borrow_mut();
                    sh.open = true;
                    sh.wake_all()
                };
                wake(wakers);
            }
        });
        let weak = Rc::downgrade(&shared);
        let ch = channel.clone();
        let on_message = Closure::<dyn FnMut(MessageEvent)>::new(move |ev: MessageEvent| {
            on_message(&weak, &ch, &ev)
        });
        let weak = Rc::downgrade(&shared);
        let on_close = Closure::<dyn FnMut(Event)>::new(move |_| {
            if let Some(sh) = weak.upgrade() {
                let wakers = {
                    let mut sh = sh.borrow_mut();
                    sh.closed = true;
                    sh.wake_all()
                };
                wake(wakers);
            }
        });
        let weak = Rc::downgrade(&shared);
        let on_low = Closure::<dyn FnMut(Event)>::new(move |_| {
            if let Some(sh) = weak.upgrade() {
                let waker = sh.borrow_mut().write_waker.take();
                if let Some(w) = waker {
                    w.wake();
                }
            }
        });
        channel.set_onopen(Some(on_open.as_ref().unchecked_ref()));
        channel.set_onmessage(Some(on_message.as_ref().unchecked_ref()));
        channel.set_onclose(Some(on_close.as_ref().unchecked_ref()));
        // An error event is always followed by a close event; the close handler covers both.
        channel.set_onerror(Some(on_close.as_ref().unchecked_ref()));
        channel.set_onbufferedamountlow(Some(on_low.as_ref().unchecked_ref()));

        Self {
            inner: SendWrapper::new(Channel {
                channel,
                shared,
                _handlers: Handlers {
                    _on_open: on_open,
                    _on_message: on_message,
                    _on_close: on_close,
                    _on_low: on_low,
                },
                fin_ack_timer: None,
            }),
        }
    }

    /// Stops reading: tells the remote (`STOP_SENDING`) and drops data that still arrives.
    pub fn stop_reading(&mut self) {
        let ch = &*self.inner;
        let mut sh = ch.shared.borrow_mut();
        if sh.state.stop_reading() {
            sh.readable.clear();
            let _ = send_frame(&ch.channel, &Frame::with_flag(Flag::StopSending));
        }
    }
}

impl AsyncRead for Stream {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        let ch = &mut *self.inner;
        let mut sh = ch.shared.borrow_mut();
        if !sh.readable.is_empty() {
            let n = buf.len().min(sh.readable.len());
            buf[..n].copy_from_slice(&sh.readable[..n]);
            sh.readable.advance(n);
            return Poll::Ready(Ok(n));
        }
        if let Some(kind) = sh.failure {
            return Poll::Ready(Err(kind.into()));
        }
        match sh.state.read() {
            ReadHalf::Finished | ReadHalf::Stopped => return Poll::Ready(Ok(0)),
            ReadHalf::Reset => return Poll::Ready(Err(io::ErrorKind::ConnectionReset.into())),
            ReadHalf::Open => {}
        }
        if sh.closed {
            // The channel went away without a FIN: the data may be truncated.
            return Poll::Ready(Err(io::ErrorKind::ConnectionAborted.into()));
        }
        sh.read_waker = Some(cx.waker().clone());
        Poll::Pending
    }
}

impl AsyncWrite for Stream {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let ch = &mut *self.inner;
        let mut sh = ch.shared.borrow_mut();
        if let Some(kind) = sh.failure {
            return Poll::Ready(Err(kind.into()));
        }
        if !sh.state.can_write() || sh.closed {
            return Poll::Ready(Err(io::ErrorKind::BrokenPipe.into()));
        }
        if !sh.open || ch.channel.buffered_amount() > SEND_HIGH_WATER {
            sh.write_waker = Some(cx.waker().clone());
            return Poll::Pending;
        }
        if buf.is_empty() {
            return Poll::Ready(Ok(0));
        }
        let n = buf.len().min(MAX_FRAME_PAYLOAD);
        let mut frame = BytesMut::new();
        codec::encode_data_frame(&buf[..n], &mut frame)?;
        ch.channel
            .send_with_u8_array(&frame)
            .map_err(|_| io::Error::from(io::ErrorKind::BrokenPipe))?;
        Poll::Ready(Ok(n))
    }

    fn poll_flush(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        // Every frame is handed to the browser in poll_write; SCTP delivers it reliably.
        Poll::Ready(Ok(()))
    }

    fn poll_close(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let ch = &mut *self.inner;
        let mut sh = ch.shared.borrow_mut();
        if sh.failure.is_some() || sh.closed {
            return Poll::Ready(Ok(()));
        }
        if !sh.open {
            sh.write_waker = Some(cx.waker().clone());
            return Poll::Pending;
        }
        if sh.state.close_write() {
            send_frame(&ch.channel, &Frame::with_flag(Flag::Fin))?;
            ch.fin_ack_timer = Some(Delay::new(FIN_ACK_TIMEOUT));
        }
        if !sh.state.write_closed() {
            let expired = ch
                .fin_ack_timer
                .as_mut()
                .is_some_and(|t| t.poll_unpin(cx).is_ready());
            if !expired {
                sh.write_waker = Some(cx.waker().clone());
                return Poll::Pending;
            }
            tracing::debug!("no FIN_ACK within {FIN_ACK_TIMEOUT:?}; closing the write half anyway");
            sh.state.on_fin_ack_timeout();
        }
        ch.fin_ack_timer = None;
        if sh.state.channel_can_close() {
            ch.channel.close();
        }
        Poll::Ready(Ok(()))
    }
}

impl Drop for Channel {
    fn drop(&mut self) {
        let channel = &self.channel;
        channel.set_onopen(None);
        channel.set_onmessage(None);
        channel.set_onclose(None);
        channel.set_onerror(None);
        channel.set_onbufferedamountlow(None);
        let mut sh = self.shared.borrow_mut();
        if !sh.closed && sh.open && sh.state.reset() {
            // Dropped before both directions finished: tell the peer its data went nowhere.
            let _ = send_frame(channel, &Frame::with_flag(Flag::ResetStream));
        }
        // Closing also frees the channel id; leaked channels eventually exhaust the 65535 ids.
        channel.close();
    }
}
