//! `/quire/copies/1`: how a relay tells the live copies of one account about each other.
//!
//! An account's books must have one writer, and the tabs of one browser agree on it through a
//! Web Lock. Two *browsers* with the same identity (a backup restored on a new laptop while the
//! old one is still open, a copied profile) share nothing but the relay they both connect to,
//! with the same peer id. So each running copy opens one stream to the relay and says who it is
//! (a random [`InstanceId`] per browser profile) and whether it is writing; the relay answers with a
//! [`Report`] each time the set of live copies of that peer id changes: how many others are
//! online, and whether this copy is the one that writes. The relay names at most one writer:
//! the copy that was writing when the others arrived, until the user picks another with "Use
//! here" ([`ClientFrame::TakeOver`]). The newer copy therefore stops before it writes a page of
//! its own into a book whose latest pages it may not hold (what remains possible is in the
//! app's `model::copies`).
//!
//! The wire is fixed-size frames, so neither side needs a length prefix:
//! - client → relay, once: [`Hello`], [`HELLO_LEN`] bytes `[version, flags, instance(16)]`;
//! - client → relay, then: one byte per [`ClientFrame`];
//! - relay → client: [`Report`], [`REPORT_LEN`] bytes `[others, flags]`.

use thiserror::Error;

/// The stream protocol a client opens to its relay.
pub const PROTOCOL: &str = "/quire/copies/1";

/// The only wire version so far.
pub const VERSION: u8 = 1;

/// Bytes of a [`Hello`] on the wire.
pub const HELLO_LEN: usize = 2 + INSTANCE_LEN;

/// Bytes of a [`Report`] on the wire.
pub const REPORT_LEN: usize = 2;

/// Bytes of an [`InstanceId`].
pub const INSTANCE_LEN: usize = 16;

const FLAG_WRITING: u8 = 1;
const TAKE_OVER: u8 = 1;

/// One copy of the app's storage (the app draws it at random once per browser profile, so its
/// tabs and reloads, which share the storage, are one copy). Two connections of the same copy
/// (a reconnect that overlaps the old connection) are one copy, not two.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct InstanceId(pub [u8; INSTANCE_LEN]);

/// What a copy says first.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Hello {
    pub instance: InstanceId,
    /// Whether this copy writes now (a fresh start does; one that was told to stop does not).
    pub writing: bool,
}

/// What a copy may ask afterwards.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClientFrame {
    /// The user chose "Use here": this copy writes from now on, every other copy stops.
    TakeOver,
}

/// The relay's view of an account's copies, as one copy should see it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Report {
    /// Other live copies of the same account connected to this relay.
    pub others: u8,
    /// Whether this copy is the one that writes.
    pub writer: bool,
}

/// A frame that is not valid on this protocol (the receiver closes the stream).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
pub enum CopiesWireError {
    #[error("unknown copies protocol version {0}")]
    Version(u8),
    #[error("unknown flags {0:#04x}")]
    Flags(u8),
    #[error("unknown frame {0:#04x}")]
    Frame(u8),
}

impl Hello {
    pub fn encode(&self) -> [u8; HELLO_LEN] {
        let mut out = [0u8; HELLO_LEN];
        out[0] = VERSION;
        out[1] = if self.writing { FLAG_WRITING } else { 0 };
        out[2..].copy_from_slice(&self.instance.0);
        out
    }

    pub fn decode(bytes: &[u8; HELLO_LEN]) -> Result<Self, CopiesWireError> {
        if bytes[0] != VERSION {
            return Err(CopiesWireError::Version(bytes[0]));
        }
        let writing = flag(bytes[1])?;
        let mut instance = [0u8; INSTANCE_LEN];
        instance.copy_from_slice(&bytes[2..]);
        Ok(Self {
            instance: InstanceId(instance),
            writing,
        })
    }
}

impl ClientFrame {
    pub fn encode(&self) -> u8 {
        match self {
            Self::TakeOver => TAKE_OVER,
        }
    }

    pub fn decode(byte: u8) -> Result<Self, CopiesWireError> {
        match byte {
            TAKE_OVER => Ok(Self::TakeOver),
            other => Err(CopiesWireError::Frame(other)),
        }
    }
}

impl Report {
    pub fn encode(&self) -> [u8; REPORT_LEN] {
        [self.others, if self.writer { FLAG_WRITING } else { 0 }]
    }

    pub fn decode(bytes: &[u8; REPORT_LEN]) -> Result<Self, CopiesWireError> {
        Ok(Self {
            others: bytes[0],
            writer: flag(bytes[1])?,
        })
    }
}

fn flag(byte: u8) -> Result<bool, CopiesWireError> {
    match byte {
        0 => Ok(false),
        FLAG_WRITING => Ok(true),
        other => Err(CopiesWireError::Flags(other)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_round_trip() {
        for writing in [false, true] {
            let hello = Hello {
                instance: InstanceId([7; INSTANCE_LEN]),
                writing,
            };
            assert_eq!(Hello::decode(&hello.encode()), Ok(hello));
        }
        for report in [
            Report {
                others: 0,
                writer: true,
            },
            Report {
                others: 3,
                writer: false,
            },
        ] {
            assert_eq!(Report::decode(&report.encode()), Ok(report));
        }
        let take = ClientFrame::TakeOver;
        assert_eq!(ClientFrame::decode(take.encode()), Ok(take));
    }

    #[test]
    fn unknown_versions_flags_and_frames_are_refused() {
        let mut hello = Hello {
            instance: InstanceId([1; INSTANCE_LEN]),
            writing: true,
        }
        .encode();
        hello[0] = 2;
        assert_eq!(Hello::decode(&hello), Err(CopiesWireError::Version(2)));
        hello[0] = VERSION;
        hello[1] = 0x80;
        assert_eq!(Hello::decode(&hello), Err(CopiesWireError::Flags(0x80)));
        assert_eq!(Report::decode(&[1, 2]), Err(CopiesWireError::Flags(2)));
        assert_eq!(ClientFrame::decode(0), Err(CopiesWireError::Frame(0)));
    }
}
