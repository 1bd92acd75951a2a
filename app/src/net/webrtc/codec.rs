//! Unsigned-varint length-prefixed protobuf framing, shared by the signaling stream and the
//! data-channel streams. Pure: compiles and is tested natively.

use bytes::{Buf, BufMut, BytesMut};

/// Largest encoded frame on a data channel, length prefix included (spec: MUST NOT exceed 16 KiB;
/// go and rust peers close streams that send more).
pub const MAX_DATA_CHANNEL_FRAME: usize = 16 * 1024;

/// Room taken by the envelope around a data payload of up to 16 KiB: outer length prefix
/// (3 bytes), `message` field tag (1) and its length (3).
const FRAME_OVERHEAD: usize = 3 + 1 + 3;

/// Largest payload carried by one data frame so the whole frame stays within
/// [`MAX_DATA_CHANNEL_FRAME`].
pub const MAX_FRAME_PAYLOAD: usize = MAX_DATA_CHANNEL_FRAME - FRAME_OVERHEAD;

/// Largest signaling message: an SDP offer for a data-channel-only session is about 1 KiB; 64 KiB
/// leaves room for many candidates and fingerprints while refusing absurd allocations.
pub const MAX_SIGNAL_MESSAGE: usize = 64 * 1024;

/// The longest varint we accept for a length (lengths are far below 2^35).
const MAX_VARINT_LEN: usize = 5;

#[derive(Debug, thiserror::Error)]
pub enum CodecError {
    #[error("frame of {len} bytes exceeds the {max}-byte limit")]
    TooLarge { len: usize, max: usize },
    #[error("malformed length prefix")]
    BadLength,
    #[error("malformed protobuf: {0}")]
    Protobuf(#[from] prost::DecodeError),
    #[error(transparent)]
    Io(#[from] std::io::Error),
}

impl From<CodecError> for std::io::Error {
    fn from(e: CodecError) -> Self {
        match e {
            CodecError::Io(io) => io,
            other => std::io::Error::new(std::io::ErrorKind::InvalidData, other),
        }
    }
}

/// Appends `msg` with its length prefix to `dst`; `max` bounds the whole frame.
pub fn encode<M: prost::Message>(
    msg: &M,
    max: usize,
    dst: &mut BytesMut,
) -> Result<(), CodecError> {
    let body = msg.encoded_len();
    let total = varint_len(body) + body;
    if total > max {
        return Err(CodecError::TooLarge { len: total, max });
    }
    dst.reserve(total);
    put_varint(body, dst);
    msg.encode(dst)
        .map_err(|_| CodecError::TooLarge { len: total, max })?;
    Ok(())
}

/// Appends a data frame (`Frame { message: payload }`) without building a [`Frame`] first: the hot
/// write path then copies the payload once instead of twice. Byte-identical to [`encode`].
pub fn encode_data_frame(payload: &[u8], dst: &mut BytesMut) -> Result<(), CodecError> {
    /// Field 2 (`message`), wire type 2 (length-delimited).
    const MESSAGE_TAG: u8 = 0x12;
    let body = 1 + varint_len(payload.len()) + payload.len();
    let total = varint_len(body) + body;
    if total > MAX_DATA_CHANNEL_FRAME {
        return Err(CodecError::TooLarge {
            len: total,
            max: MAX_DATA_CHANNEL_FRAME,
        });
    }
    dst.reserve(total);
    put_varint(body, dst);
    dst.put_u8(MESSAGE_TAG);
    put_varint(payload.len(), dst);
    dst.extend_from_slice(payload);
    Ok(())
}

/// Takes one complete frame off the front of `src`; `Ok(None)` means "need more bytes".
pub fn decode<M: prost::Message + Default>(
    src: &mut BytesMut,
    max: usize,
) -> Result<Option<M>, CodecError> {
    let Some((body, prefix)) = read_varint(src)? else {
        return Ok(None);
    };
    if prefix + body > max {
        return Err(CodecError::TooLarge {
            len: prefix + body,
            max,
        });
    }
    if src.len() < prefix + body {
        src.reserve(prefix + body - src.len());
        return Ok(None);
    }
    src.advance(prefix);
    let frame = src.split_to(body);
    Ok(Some(M::decode(frame.freeze())?))
}

fn varint_len(mut n: usize) -> usize {
    let mut len = 1;
    while n >= 0x80 {
        n >>= 7;
        len += 1;
    }
    len
}

/// Appends `n` as an unsigned LEB128 varint (also the length prefix of Quire's sync frames).
pub(crate) fn put_varint(mut n: usize, dst: &mut BytesMut) {
    while n >= 0x80 {
        dst.put_u8((n as u8 & 0x7f) | 0x80);
        n >>= 7;
    }
    dst.put_u8(n as u8);
}

/// `(value, prefix length)`, or `None` if the prefix is incomplete.
fn read_varint(src: &[u8]) -> Result<Option<(usize, usize)>, CodecError> {
    let mut value: usize = 0;
    for (i, byte) in src.iter().enumerate() {
        if i >= MAX_VARINT_LEN {
            return Err(CodecError::BadLength);
        }
        value |= usize::from(byte & 0x7f) << (7 * i);
        if byte & 0x80 == 0 {
            // Non-minimal encodings ("0x80 0x00") are rejected like the multiformats spec says.
            if i > 0 && *byte == 0 {
                return Err(CodecError::BadLength);
            }
            return Ok(Some((value, i + 1)));
        }
    }
    if src.len() >= MAX_VARINT_LEN {
        return Err(CodecError::BadLength);
    }
    Ok(None)
}

/// [`asynchronous_codec`] adapter for a stream of length-prefixed `M` messages.
#[derive(Debug)]
pub struct LengthPrefixed<M> {
    max: usize,
    _msg: std::marker::PhantomData<fn() -> M>,
}

impl<M> LengthPrefixed<M> {
    pub fn new(max: usize) -> Self {
        Self {
            max,
            _msg: std::marker::PhantomData,
        }
    }
}

impl<M: prost::Message> asynchronous_codec::Encoder for LengthPrefixed<M> {
    type Item<'a> = M;
    type Error = CodecError;

    fn encode(&mut self, item: M, dst: &mut BytesMut) -> Result<(), CodecError> {
        encode(&item, self.max, dst)
    }
}

impl<M: prost::Message + Default> asynchronous_codec::Decoder for LengthPrefixed<M> {
    type Item = M;
    type Error = CodecError;

    fn decode(&mut self, src: &mut BytesMut) -> Result<Option<M>, CodecError> {
        decode(src, self.max)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::super::proto::{Flag, Frame, SignalKind, SignalMessage};
    use super::*;

    fn encoded<M: prost::Message>(msg: &M) -> Vec<u8> {
        let mut buf = BytesMut::new();
        encode(msg, MAX_SIGNAL_MESSAGE, &mut buf).unwrap();
        buf.to_vec()
    }

    #[test]
    fn offer_type_zero_is_encoded_explicitly() {
        // js-libp2p rejects an offer whose `type` field is absent.
        let bytes = encoded(&SignalMessage::new(SignalKind::SdpOffer, "v=0".into()));
        assert_eq!(bytes, [7, 0x08, 0x00, 0x12, 3, b'v', b'=', b'0']);
    }

    #[test]
    fn frame_snapshots() {
        assert_eq!(encoded(&Frame::with_flag(Flag::Fin)), [2, 0x08, 0x00]);
        assert_eq!(encoded(&Frame::with_flag(Flag::FinAck)), [2, 0x08, 0x03]);
        assert_eq!(
            encoded(&Frame::data(b"hi".to_vec())),
            [4, 0x12, 2, b'h', b'i']
        );
    }

    #[test]
    fn largest_payload_fits_the_sixteen_kib_limit() {
        let mut buf = BytesMut::new();
        encode(
            &Frame::data(vec![7; MAX_FRAME_PAYLOAD]),
            MAX_DATA_CHANNEL_FRAME,
            &mut buf,
        )
        .unwrap();
        assert!(buf.len() <= MAX_DATA_CHANNEL_FRAME);
        let err = encode(
            &Frame::data(vec![7; MAX_DATA_CHANNEL_FRAME]),
            MAX_DATA_CHANNEL_FRAME,
            &mut BytesMut::new(),
        );
        assert!(matches!(err, Err(CodecError::TooLarge { .. })));
    }

    #[test]
    fn fast_data_frame_encoding_matches_prost() {
        for len in [0, 1, 127, 128, 300, 16_000, MAX_FRAME_PAYLOAD] {
            let payload: Vec<u8> = (0..len).map(|i| i as u8).collect();
            let mut fast = BytesMut::new();
            encode_data_frame(&payload, &mut fast).unwrap();
            let mut reference = BytesMut::new();
            encode(
                &Frame::data(payload),
                MAX_DATA_CHANNEL_FRAME,
                &mut reference,
            )
            .unwrap();
            assert_eq!(fast, reference, "payload of {len} bytes");
        }
        assert!(encode_data_frame(&[0; MAX_DATA_CHANNEL_FRAME], &mut BytesMut::new()).is_err());
    }

    #[test]
    fn decodes_frames_split_at_every_byte() {
        let mut all = Vec::new();
        all.extend(encoded(&Frame::data(vec![1; 300])));
        all.extend(encoded(&Frame::with_flag(Flag::Fin)));
        let mut buf = BytesMut::new();
        let mut out = Vec::new();
        for byte in all {
            buf.extend_from_slice(&[byte]);
            while let Some(f) = decode::<Frame>(&mut buf, MAX_DATA_CHANNEL_FRAME).unwrap() {
                out.push(f);
            }
        }
        assert_eq!(
            out,
            vec![Frame::data(vec![1; 300]), Frame::with_flag(Flag::Fin)]
        );
        assert!(buf.is_empty());
    }

    #[test]
    fn oversized_length_prefix_is_rejected_before_buffering() {
        let mut buf = BytesMut::new();
        put_varint(MAX_DATA_CHANNEL_FRAME + 1, &mut buf);
        assert!(matches!(
            decode::<Frame>(&mut buf, MAX_DATA_CHANNEL_FRAME),
            Err(CodecError::TooLarge { .. })
        ));
    }

    #[test]
    fn unknown_flag_is_reported_not_fatal() {
        let mut buf = BytesMut::from(&[2u8, 0x08, 0x09][..]);
        let f = decode::<Frame>(&mut buf, MAX_DATA_CHANNEL_FRAME)
            .unwrap()
            .unwrap();
        assert_eq!(f.parsed_flag(), Some(Err(9)));
    }

    #[test]
    fn roundtrip_and_garbage_never_panics() {
        // A small deterministic generator keeps this test free of extra dependencies.
        let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
        let mut next = move || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        };
        for _ in 0..2000 {
            let len = (next() % 2000) as usize;
            let payload: Vec<u8> = (0..len).map(|_| next() as u8).collect();
            let frame = Frame {
                flag: (next() % 2 == 0).then(|| (next() % 4) as i32),
                message: Some(payload.clone()),
            };
            let mut buf = BytesMut::new();
            encode(&frame, MAX_DATA_CHANNEL_FRAME, &mut buf).unwrap();
            assert_eq!(
                decode::<Frame>(&mut buf, MAX_DATA_CHANNEL_FRAME).unwrap(),
                Some(frame)
            );
            let mut garbage = BytesMut::from(&payload[..]);
            let _ = decode::<Frame>(&mut garbage, MAX_DATA_CHANNEL_FRAME);
            let _ = decode::<SignalMessage>(&mut BytesMut::from(&payload[..]), MAX_SIGNAL_MESSAGE);
        }
    }
}
