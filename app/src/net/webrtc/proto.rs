//! Wire messages of the libp2p `/webrtc` protocol (specs `webrtc/webrtc.md`, `webrtc/README.md`).
//!
//! Written as hand-derived `prost` messages so the crate needs no build script. Field presence
//! matters for interop: both enums are `optional`, and js-libp2p treats an absent `type` as
//! "not an offer", so [`SignalMessage`] always carries `kind` (even `SDP_OFFER = 0`).

/// One message of `/webrtc-signaling/0.0.1`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct SignalMessage {
    #[prost(enumeration = "SignalKind", optional, tag = "1")]
    pub kind: Option<i32>,
    /// SDP text, or `JSON.stringify(RTCIceCandidate.toJSON())`.
    #[prost(string, optional, tag = "2")]
    pub data: Option<String>,
}

/// `Message.Type` of the signaling protocol.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, prost::Enumeration)]
#[repr(i32)]
pub enum SignalKind {
    SdpOffer = 0,
    SdpAnswer = 1,
    IceCandidate = 2,
}

impl SignalMessage {
    pub fn new(kind: SignalKind, data: String) -> Self {
        Self {
            kind: Some(kind as i32),
            data: Some(data),
        }
    }

    /// The message type, or `None` when absent or unknown (a protocol violation).
    pub fn known_kind(&self) -> Option<SignalKind> {
        self.kind.and_then(|k| SignalKind::try_from(k).ok())
    }
}

/// The envelope of every message on a stream's data channel.
#[derive(Clone, PartialEq, prost::Message)]
pub struct Frame {
    #[prost(enumeration = "Flag", optional, tag = "1")]
    pub flag: Option<i32>,
    #[prost(bytes = "vec", optional, tag = "2")]
    pub message: Option<Vec<u8>>,
}

/// `Message.Flag` of the data-channel framing.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, prost::Enumeration)]
#[repr(i32)]
pub enum Flag {
    /// The sender will send no more data.
    Fin = 0,
    /// The sender will read no more data.
    StopSending = 1,
    /// The sender abandons the stream in both directions.
    ResetStream = 2,
    /// Acknowledges a received `FIN` (js-libp2p waits for it before a write half counts as closed).
    FinAck = 3,
}

impl Frame {
    pub fn data(payload: Vec<u8>) -> Self {
        Self {
            flag: None,
            message: Some(payload),
        }
    }

    pub fn with_flag(flag: Flag) -> Self {
        Self {
            flag: Some(flag as i32),
            message: None,
        }
    }

    /// The flag; an unknown flag value decodes as `Err(value)` so the caller can ignore it
    /// instead of failing the stream (newer peers may add flags).
    pub fn parsed_flag(&self) -> Option<Result<Flag, i32>> {
        self.flag.map(|f| Flag::try_from(f).map_err(|_| f))
    }
}
