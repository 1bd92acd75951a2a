//! Presence: who is online in which room, served over the libp2p rendezvous protocol.
//!
//! Clients register under namespaces they derive by hashing room ids, so the relay learns
//! neither room ids nor names; peers in the same room discover each other's signed peer records
//! (their relayed addresses). A registration lasts until its TTL, an unregister, or the
//! peer's last connection closing, whichever comes first.

mod behaviour;
mod codec;
mod keep_alive;
mod registry;
mod wire;

pub(crate) use behaviour::Behaviour;
pub(crate) use codec::MAX_REQUEST_BYTES;
pub(crate) use registry::RegistryLimits;
