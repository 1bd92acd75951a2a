//! The canonical binary codec shared by every type Quire signs or sends.
//!
//! Why not postcard for signed types: postcard's *format* is stable, but what it emits is a
//! function of serde derives (field order, enum variant indices, `Option` layout) that a harmless
//! refactor can change, and its decoder accepts non-minimal varints, so one value can have many
//! encodings. Signatures and hashes need exactly one. This codec is deliberately tiny and strict:
//!
//! - integers are unsigned LEB128 varints (`u64`, at most 10 bytes), and the decoder rejects
//!   over-long ("non-minimal") encodings, so every value has exactly one encoding;
//! - fixed-size byte arrays (ids, hashes, keys, nonces, signatures) are written raw;
//! - variable-size byte strings and lists are a varint length followed by their items, and every
//!   length is checked against a named cap *before* anything is allocated;
//! - `Option<T>` is a byte `0` (none) or `1` (some) followed by `T`;
//! - a decoder must consume its input exactly: trailing bytes are an error.
//!
//! Because decoding is canonical, `encode(decode(bytes)) == bytes` for every accepted input, so
//! a hash or signature computed over re-encoded fields equals one computed over received bytes.

use thiserror::Error;

/// Why bytes could not be decoded. Every variant names what was being read, so a peer sending
/// garbage can be diagnosed from a log line.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum DecodeError {
    /// The input ended in the middle of a value.
    #[error("truncated input while reading {what}")]
    Truncated {
        /// The field being read.
        what: &'static str,
    },
    /// A varint used more bytes than needed, or did not fit in 64 bits.
    #[error("non-canonical or overflowing varint while reading {what}")]
    BadVarint {
        /// The field being read.
        what: &'static str,
    },
    /// A format version this build does not understand (a newer peer, or garbage).
    #[error("unsupported {what} version {found}")]
    UnknownVersion {
        /// The versioned type.
        what: &'static str,
        /// The version byte found.
        found: u8,
    },
    /// An enum tag outside the known range.
    #[error("unknown {what} tag {found}")]
    UnknownTag {
        /// The enum being read.
        what: &'static str,
        /// The tag found.
        found: u64,
    },
    /// A length above the named cap for this field.
    #[error("{what} is {len} long, more than the cap of {max}")]
    TooLong {
        /// The field being read.
        what: &'static str,
        /// The announced length.
        len: u64,
        /// The cap.
        max: u64,
    },
    /// A field violates a structural rule (ordering, uniqueness, text encoding).
    #[error("malformed {what}: {rule}")]
    Malformed {
        /// The field being read.
        what: &'static str,
        /// The rule that was broken.
        rule: &'static str,
    },
    /// Bytes were left over after a complete value.
    #[error("{count} trailing bytes after {what}")]
    TrailingBytes {
        /// The value that was complete.
        what: &'static str,
        /// How many bytes were left.
        count: usize,
    },
}

/// Appends canonical encodings to a byte buffer.
#[derive(Debug, Default)]
pub(crate) struct Writer {
    buf: Vec<u8>,
}

impl Writer {
    pub(crate) fn with_capacity(capacity: usize) -> Self {
        Self {
            buf: Vec::with_capacity(capacity),
        }
    }

    pub(crate) fn u8(&mut self, value: u8) {
        self.buf.push(value);
    }

    pub(crate) fn varint(&mut self, mut value: u64) {
        while value >= 0x80 {
            // Truncation is the point: the low seven bits go out with the continuation flag.
            self.buf.push((value as u8 & 0x7f) | 0x80);
            value >>= 7;
        }
        self.buf.push(value as u8);
    }

    pub(crate) fn bool(&mut self, value: bool) {
        self.buf.push(u8::from(value));
    }

    pub(crate) fn raw(&mut self, bytes: &[u8]) {
        self.buf.extend_from_slice(bytes);
    }

    /// A length-prefixed byte string.
    pub(crate) fn bytes(&mut self, bytes: &[u8]) {
        self.varint(bytes.len() as u64);
        self.raw(bytes);
    }

    pub(crate) fn str(&mut self, text: &str) {
        self.bytes(text.as_bytes());
    }

    pub(crate) fn finish(self) -> Vec<u8> {
        self.buf
    }
}

/// Reads canonical encodings from a byte slice, refusing anything a [`Writer`] would not emit.
#[derive(Debug)]
pub(crate) struct Reader<'a> {
    input: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    pub(crate) fn new(input: &'a [u8]) -> Self {
        Self { input, pos: 0 }
    }

    /// Bytes consumed so far.
    pub(crate) fn position(&self) -> usize {
        self.pos
    }

    /// Whether every byte was consumed (an optional trailing field is absent).
    pub(crate) fn is_at_end(&self) -> bool {
        self.pos >= self.input.len()
    }

    pub(crate) fn take(&mut self, len: usize, what: &'static str) -> Result<&'a [u8], DecodeError> {
        let end = self
            .pos
            .checked_add(len)
            .filter(|end| *end <= self.input.len())
            .ok_or(DecodeError::Truncated { what })?;
        let out = &self.input[self.pos..end];
        self.pos = end;
        Ok(out)
    }

    pub(crate) fn u8(&mut self, what: &'static str) -> Result<u8, DecodeError> {
        Ok(self.take(1, what)?[0])
    }

    pub(crate) fn array<const N: usize>(
        &mut self,
        what: &'static str,
    ) -> Result<[u8; N], DecodeError> {
        let mut out = [0u8; N];
        out.copy_from_slice(self.take(N, what)?);
        Ok(out)
    }

    pub(crate) fn varint(&mut self, what: &'static str) -> Result<u64, DecodeError> {
        let mut value: u64 = 0;
        for index in 0..10u32 {
            let byte = self.u8(what)?;
            let low = u64::from(byte & 0x7f);
            // The tenth byte may only carry the single remaining bit of a u64.
            if index == 9 && low > 1 {
                return Err(DecodeError::BadVarint { what });
            }
            value |= low << (7 * index);
            if byte & 0x80 == 0 {
                // A final zero byte after the first means the writer would have stopped earlier.
                if byte == 0 && index > 0 {
                    return Err(DecodeError::BadVarint { what });
                }
                return Ok(value);
            }
        }
        Err(DecodeError::BadVarint { what })
    }

    /// A varint that must not exceed `max`.
    pub(crate) fn varint_max(&mut self, max: u64, what: &'static str) -> Result<u64, DecodeError> {
        let value = self.varint(what)?;
        if value > max {
            return Err(DecodeError::TooLong {
                what,
                len: value,
                max,
            });
        }
        Ok(value)
    }

    /// A list or byte-string length, checked against its cap before anything is allocated.
    pub(crate) fn len(&mut self, max: usize, what: &'static str) -> Result<usize, DecodeError> {
        let len = self.varint_max(max as u64, what)?;
        // Cannot truncate: `len <= max`, which is a usize.
        Ok(len as usize)
    }

    pub(crate) fn bool(&mut self, what: &'static str) -> Result<bool, DecodeError> {
        match self.u8(what)? {
            0 => Ok(false),
            1 => Ok(true),
            other => Err(DecodeError::UnknownTag {
                what,
                found: u64::from(other),
            }),
        }
    }

    pub(crate) fn bytes(
        &mut self,
        max: usize,
        what: &'static str,
    ) -> Result<&'a [u8], DecodeError> {
        let len = self.len(max, what)?;
        self.take(len, what)
    }

    pub(crate) fn string(&mut self, max: usize, what: &'static str) -> Result<String, DecodeError> {
        let bytes = self.bytes(max, what)?;
        core::str::from_utf8(bytes)
            .map(str::to_owned)
            .map_err(|_| DecodeError::Malformed {
                what,
                rule: "not UTF-8",
            })
    }

    /// Fails unless every byte was consumed.
    pub(crate) fn finish(self, what: &'static str) -> Result<(), DecodeError> {
        let count = self.input.len() - self.pos;
        if count == 0 {
            Ok(())
        } else {
            Err(DecodeError::TrailingBytes { what, count })
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn varint_known_encodings() {
        for (value, bytes) in [
            (0u64, &[0x00][..]),
            (127, &[0x7f]),
            (128, &[0x80, 0x01]),
            (300, &[0xac, 0x02]),
            (
                u64::MAX,
                &[0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01],
            ),
        ] {
            let mut w = Writer::default();
            w.varint(value);
            assert_eq!(w.finish(), bytes, "encoding of {value}");
            assert_eq!(Reader::new(bytes).varint("v").unwrap(), value);
        }
    }

    #[test]
    fn varint_rejects_overlong_and_overflow() {
        for bad in [
            &[0x80, 0x00][..],
            &[0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02],
            &[0x80; 11],
        ] {
            assert_eq!(
                Reader::new(bad).varint("v"),
                Err(DecodeError::BadVarint { what: "v" }),
                "{bad:?}"
            );
        }
        assert_eq!(
            Reader::new(&[0x80]).varint("v"),
            Err(DecodeError::Truncated { what: "v" })
        );
    }

    #[test]
    fn length_cap_is_checked_before_reading() {
        let mut w = Writer::default();
        w.varint(1 << 40);
        let bytes = w.finish();
        assert!(matches!(
            Reader::new(&bytes).bytes(16, "blob"),
            Err(DecodeError::TooLong { len, max: 16, .. }) if len == 1 << 40
        ));
    }

    proptest! {
        #[test]
        fn varint_roundtrips(value: u64) {
            let mut w = Writer::default();
            w.varint(value);
            let bytes = w.finish();
            let mut r = Reader::new(&bytes);
            prop_assert_eq!(r.varint("v").unwrap(), value);
            prop_assert!(r.finish("v").is_ok());
        }

        #[test]
        fn varint_decoding_is_canonical(bytes in proptest::collection::vec(any::<u8>(), 0..12)) {
            let mut r = Reader::new(&bytes);
            if let Ok(value) = r.varint("v") {
                let mut w = Writer::default();
                w.varint(value);
                prop_assert_eq!(&w.finish()[..], &bytes[..r.position()]);
            }
        }
    }
}
