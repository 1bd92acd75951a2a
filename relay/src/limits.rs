//! Every cap the relay enforces, with its default and the reason for it. Operators can change
//! the ones that depend on machine size through flags; the rest are named constants.

use std::time::Duration;

/// Caps chosen by the operator (defaults sized for a small VPS: 2 cores, 1-2 GB of RAM).
#[derive(Debug, Clone)]
pub struct Limits {
    /// Established libp2p connections in total. About 55 KB of relay memory each when idle (see
    /// the load benchmark), so 10,000 is roughly 550 MB.
    pub max_connections: u32,
    /// Connections still in their handshake. A handshake costs CPU (Noise, DTLS), so a small
    /// number bounds what a connection flood can make us compute at once.
    pub max_pending_connections: u32,
    /// Connections from one IP address. A household behind NAT with a few devices and tabs fits;
    /// one host cannot exhaust the relay.
    pub max_connections_per_ip: u32,
    /// Whether the per-IP cap and per-IP rate limits also apply to loopback peers. Off by
    /// default because a local reverse proxy makes every browser look like loopback.
    pub limit_loopback: bool,
    /// Active relay reservations. Every online browser holds one (it is how others reach it).
    pub max_reservations: usize,
    /// Active relayed circuits: each is a browser-to-browser signaling exchange, or a fallback
    /// data path while WebRTC cannot connect.
    pub max_circuits: usize,
    /// Circuits per peer: a full mesh of a 10-member room needs 9, plus room to spare for a
    /// few rooms being joined at once.
    pub max_circuits_per_peer: usize,
    /// A circuit's lifetime. Signaling needs seconds; as a fallback path a conversation
    /// survives half an hour, then the app redials.
    pub max_circuit_duration: Duration,
    /// Bytes a circuit may carry (both ways) before it is closed. Signaling needs a few KiB;
    /// 64 MiB lets a chat run over the fallback path while bounding what one pair can make the
    /// relay forward. 0 means unlimited.
    pub max_circuit_bytes: u64,
    /// Presence registrations per peer: one per room the user has open.
    pub max_presence_per_peer: usize,
    /// Presence registrations in total (a few hundred bytes each).
    pub max_presence_total: usize,
}

/// Reservations one peer may hold: a browser holds one; reconnects may briefly overlap.
pub(crate) const MAX_RESERVATIONS_PER_PEER: usize = 4;
/// How long a reservation lasts before the client must renew it (libp2p's default).
pub(crate) const RESERVATION_DURATION: Duration = Duration::from_secs(60 * 60);
/// Reservation requests per peer and per IP in [`RATE_INTERVAL`]: a reconnecting browser
/// needs one, a flapping network a few.
pub(crate) const RESERVATIONS_PER_INTERVAL: u32 = 30;
/// Circuit requests per source peer and per IP in [`RATE_INTERVAL`]: joining a large room
/// dials its ring and skip-link neighbours at once.
pub(crate) const CIRCUITS_PER_INTERVAL: u32 = 60;
/// Window of the reservation and circuit rate limits.
pub(crate) const RATE_INTERVAL: Duration = Duration::from_secs(60);
/// Shortest presence TTL a client may ask for: shorter would mean constant refresh traffic.
pub(crate) const MIN_PRESENCE_TTL_SECS: u64 = 60;
/// Longest presence TTL (the spec's maximum, 72 h). Registrations vanish on disconnect anyway.
pub(crate) const MAX_PRESENCE_TTL_SECS: u64 = 72 * 60 * 60;
/// Connections one peer may hold at once: WebSocket plus WebRTC-direct, and overlap while a
/// browser reconnects.
pub(crate) const MAX_CONNECTIONS_PER_PEER: u32 = 4;

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_connections: 10_000,
            max_pending_connections: 256,
            max_connections_per_ip: 32,
            limit_loopback: false,
            max_reservations: 10_000,
            max_circuits: 2_048,
            max_circuits_per_peer: 32,
            max_circuit_duration: Duration::from_secs(30 * 60),
            max_circuit_bytes: 64 * 1024 * 1024,
            max_presence_per_peer: 256,
            max_presence_total: 100_000,
        }
    }
}
