//! A per-IP token bucket for relay reservations and circuits that, like the per-IP connection
//! cap, leaves loopback (a local reverse proxy) alone. libp2p's own per-IP limiter cannot
//! exempt addresses; its per-peer limiter is used as is.

use std::collections::HashMap;
use std::net::IpAddr;
use std::time::Duration;

use libp2p::PeerId;
use libp2p::core::Multiaddr;
use libp2p::relay::RateLimiter;

use super::ip_limit::ip_of;

/// Addresses tracked at once. Buckets that have refilled are dropped first when this is
/// reached, so a flood of distinct source addresses cannot grow the map without bound.
const MAX_TRACKED_IPS: usize = 65_536;

#[derive(Debug, Clone, Copy)]
struct Bucket {
    tokens: f64,
    refilled: std::time::Instant,
}

/// Allows `burst` requests per IP at once, refilled at `burst` per `interval`.
#[derive(Debug)]
pub(crate) struct PerIpRateLimiter {
    burst: f64,
    per_second: f64,
    limit_loopback: bool,
    buckets: HashMap<IpAddr, Bucket>,
}

impl PerIpRateLimiter {
    pub(crate) fn new(burst: u32, interval: Duration, limit_loopback: bool) -> Self {
        let burst = f64::from(burst.max(1));
        Self {
            burst,
            per_second: burst / interval.as_secs_f64().max(1.0),
            limit_loopback,
            buckets: HashMap::new(),
        }
    }

    fn forget_full_buckets(&mut self, now: std::time::Instant) {
        let (burst, per_second) = (self.burst, self.per_second);
        self.buckets.retain(|_, bucket| {
            let elapsed = now.saturating_duration_since(bucket.refilled).as_secs_f64();
            bucket.tokens + elapsed * per_second < burst
        });
    }
}

impl RateLimiter for PerIpRateLimiter {
    fn try_next(&mut self, _peer: PeerId, addr: &Multiaddr, now: std::time::Instant) -> bool {
        let Some(ip) = ip_of(addr) else {
            return true;
        };
        if ip.is_loopback() && !self.limit_loopback {
            return true;
        }
        if self.buckets.len() >= MAX_TRACKED_IPS && !self.buckets.contains_key(&ip) {
            self.forget_full_buckets(now);
            if self.buckets.len() >= MAX_TRACKED_IPS {
                // Under a flood from that many addresses, refusing is the safe answer.
                return false;
            }
        }
        let bucket = self.buckets.entry(ip).or_insert(Bucket {
            tokens: self.burst,
            refilled: now,
        });
        let elapsed = now.saturating_duration_since(bucket.refilled).as_secs_f64();
        bucket.tokens = (bucket.tokens + elapsed * self.per_second).min(self.burst);
        bucket.refilled = now;
        if bucket.tokens >= 1.0 {
            bucket.tokens -= 1.0;
            true
        } else {
            false
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn a_burst_passes_then_refills_over_the_interval() {
        let mut limiter = PerIpRateLimiter::new(2, Duration::from_secs(60), true);
        let addr: Multiaddr = "/ip4/192.0.2.1/tcp/1/ws".parse().unwrap();
        let other: Multiaddr = "/ip4/192.0.2.2/tcp/1/ws".parse().unwrap();
        let peer = PeerId::random();
        let now = std::time::Instant::now();
        assert!(limiter.try_next(peer, &addr, now));
        assert!(limiter.try_next(peer, &addr, now));
        assert!(!limiter.try_next(peer, &addr, now));
        assert!(limiter.try_next(peer, &other, now));
        assert!(limiter.try_next(peer, &addr, now + Duration::from_secs(30)));
    }

    #[test]
    fn loopback_is_exempt_unless_asked() {
        let addr: Multiaddr = "/ip4/127.0.0.1/tcp/1/ws".parse().unwrap();
        let peer = PeerId::random();
        let now = std::time::Instant::now();
        let mut exempt = PerIpRateLimiter::new(1, Duration::from_secs(60), false);
        assert!((0..10).all(|_| exempt.try_next(peer, &addr, now)));
        let mut strict = PerIpRateLimiter::new(1, Duration::from_secs(60), true);
        assert!(strict.try_next(peer, &addr, now));
        assert!(!strict.try_next(peer, &addr, now));
    }
}
