//! Who is present under which namespace: the rendezvous server's state, free of I/O and clocks
//! (time is an argument) so every rule is unit-tested.
//!
//! Decisions:
//! - A namespace is opaque (clients hash room ids into it, so the relay never learns rooms);
//!   only its length is checked.
//! - Discovery needs a namespace: listing every namespace would tell anyone who is online with
//!   whom, so "discover all" is refused with `NotAuthorized`.
//! - Cookies are stateless: 8 bytes of "last sequence number seen" plus the namespace, in the
//!   wire layout libp2p clients parse. Every registration (and re-registration) gets a fresh
//!   sequence number, so paging with a cookie returns what is new or refreshed, and the server
//!   stores nothing per enquirer.

use std::collections::{BTreeMap, HashMap};
use std::time::{Duration, Instant};

use libp2p::PeerId;

use super::wire::{Register, Status};

/// The longest namespace the rendezvous spec allows.
pub(crate) const MAX_NAMESPACE_BYTES: usize = 255;
/// The TTL a client gets when it names none (the spec's default, two hours).
pub(crate) const DEFAULT_TTL_SECS: u64 = 2 * 60 * 60;
/// Most registrations one discover response carries; larger rooms page with the cookie.
/// Bounds the response at about 100 signed records (tens of KiB).
pub(crate) const MAX_DISCOVER_PAGE: usize = 100;

/// The registry's caps; see `node::Limits` for the chosen values and why.
#[derive(Debug, Clone, Copy)]
pub(crate) struct RegistryLimits {
    pub(crate) max_per_peer: usize,
    pub(crate) max_total: usize,
    pub(crate) min_ttl_secs: u64,
    pub(crate) max_ttl_secs: u64,
}

#[derive(Debug)]
struct Entry {
    peer: PeerId,
    signed_record: Vec<u8>,
    expires: Instant,
}

/// Registrations by namespace (ordered by sequence number for paging) and by peer (for caps
/// and for dropping everything a peer registered when it disconnects).
#[derive(Debug)]
pub(crate) struct Registry {
    limits: RegistryLimits,
    namespaces: HashMap<String, BTreeMap<u64, Entry>>,
    by_peer: HashMap<PeerId, HashMap<String, u64>>,
    total: usize,
    next_seq: u64,
}

impl Registry {
    pub(crate) fn new(limits: RegistryLimits) -> Self {
        Self {
            limits,
            namespaces: HashMap::new(),
            by_peer: HashMap::new(),
            total: 0,
            next_seq: 1,
        }
    }

    /// Registrations currently held (expired ones count until the next sweep or lookup).
    pub(crate) fn len(&self) -> usize {
        self.total
    }

    pub(crate) fn is_present(&self, peer: &PeerId) -> bool {
        self.by_peer.contains_key(peer)
    }

    /// Adds or refreshes `peer`'s registration under `namespace`. The caller has checked that
    /// `signed_record` is a valid record signed by `peer`. Returns the granted TTL in seconds.
    pub(crate) fn register(
        &mut self,
        peer: PeerId,
        namespace: &str,
        signed_record: Vec<u8>,
        ttl_secs: Option<u64>,
        now: Instant,
    ) -> Result<u64, Status> {
        if namespace.is_empty() || namespace.len() > MAX_NAMESPACE_BYTES {
            return Err(Status::InvalidNamespace);
        }
        let ttl = ttl_secs.unwrap_or(DEFAULT_TTL_SECS);
        if ttl < self.limits.min_ttl_secs || ttl > self.limits.max_ttl_secs {
            return Err(Status::InvalidTtl);
        }
        let refresh = self
            .by_peer
            .get(&peer)
            .is_some_and(|namespaces| namespaces.contains_key(namespace));
        if refresh {
            self.unregister(&peer, namespace);
        } else {
            let own = self.by_peer.get(&peer).map_or(0, HashMap::len);
            if own >= self.limits.max_per_peer || self.total >= self.limits.max_total {
                return Err(Status::Unavailable);
            }
        }
        let seq = self.next_seq;
        self.next_seq += 1;
        let entry = Entry {
            peer,
            signed_record,
            expires: now + Duration::from_secs(ttl),
        };
        self.namespaces
            .entry(namespace.to_owned())
            .or_default()
            .insert(seq, entry);
        self.by_peer
            .entry(peer)
            .or_default()
            .insert(namespace.to_owned(), seq);
        self.total += 1;
        Ok(ttl)
    }

    /// Removes one registration; returns whether there was one.
    pub(crate) fn unregister(&mut self, peer: &PeerId, namespace: &str) -> bool {
        let Some(namespaces) = self.by_peer.get_mut(peer) else {
            return false;
        };
        let Some(seq) = namespaces.remove(namespace) else {
            return false;
        };
        if namespaces.is_empty() {
            self.by_peer.remove(peer);
        }
        self.remove_entry(namespace, seq);
        true
    }

    /// Removes everything `peer` registered (it went offline); returns how many.
    pub(crate) fn remove_peer(&mut self, peer: &PeerId) -> usize {
        let Some(namespaces) = self.by_peer.remove(peer) else {
            return 0;
        };
        let removed = namespaces.len();
        for (namespace, seq) in namespaces {
            self.remove_entry(&namespace, seq);
        }
        removed
    }

    /// Up to `limit` (at most [`MAX_DISCOVER_PAGE`]) live registrations under `namespace` that
    /// are newer than `cookie`, and the cookie for the next page.
    pub(crate) fn discover(
        &self,
        namespace: Option<&str>,
        cookie: Option<&[u8]>,
        limit: Option<u64>,
        now: Instant,
    ) -> Result<(Vec<Register>, Vec<u8>), Status> {
        let Some(namespace) = namespace else {
            return Err(Status::NotAuthorized);
        };
        if namespace.is_empty() || namespace.len() > MAX_NAMESPACE_BYTES {
            return Err(Status::InvalidNamespace);
        }
        let after = match cookie {
            None => 0,
            Some(cookie) => parse_cookie(cookie, namespace).ok_or(Status::InvalidCookie)?,
        };
        let limit = limit
            .map_or(MAX_DISCOVER_PAGE, |l| {
                usize::try_from(l).unwrap_or(usize::MAX)
            })
            .min(MAX_DISCOVER_PAGE);
        let mut last_seen = after;
        let mut page = Vec::new();
        if let Some(entries) = self.namespaces.get(namespace) {
            for (&seq, entry) in entries.range(after.saturating_add(1)..) {
                if page.len() == limit {
                    break;
                }
                last_seen = seq;
                let Some(remaining) = entry.expires.checked_duration_since(now) else {
                    continue;
                };
                page.push(Register {
                    ns: Some(namespace.to_owned()),
                    signed_peer_record: Some(entry.signed_record.clone()),
                    // Never advertise 0: the client would treat the record as already gone.
                    ttl: Some(remaining.as_secs().max(1)),
                });
            }
        }
        Ok((page, encode_cookie(last_seen, namespace)))
    }

    /// Drops expired registrations; returns the peers that have none left (so their
    /// connections need no longer be kept open) and how many registrations went.
    pub(crate) fn sweep(&mut self, now: Instant) -> (Vec<PeerId>, usize) {
        let mut expired = Vec::new();
        for (namespace, entries) in &self.namespaces {
            for (&seq, entry) in entries {
                if entry.expires <= now {
                    expired.push((entry.peer, namespace.clone(), seq));
                }
            }
        }
        let count = expired.len();
        let mut gone = Vec::new();
        for (peer, namespace, _) in expired {
            self.unregister(&peer, &namespace);
            if !self.is_present(&peer) && !gone.contains(&peer) {
                gone.push(peer);
            }
        }
        (gone, count)
    }

    fn remove_entry(&mut self, namespace: &str, seq: u64) {
        if let Some(entries) = self.namespaces.get_mut(namespace) {
            if entries.remove(&seq).is_some() {
                self.total -= 1;
            }
            if entries.is_empty() {
                self.namespaces.remove(namespace);
            }
        }
    }
}

fn encode_cookie(seq: u64, namespace: &str) -> Vec<u8> {
    let mut cookie = seq.to_be_bytes().to_vec();
    cookie.extend_from_slice(namespace.as_bytes());
    cookie
}

fn parse_cookie(cookie: &[u8], namespace: &str) -> Option<u64> {
    let (seq, cookie_namespace) = cookie.split_first_chunk::<8>()?;
    (cookie_namespace == namespace.as_bytes()).then(|| u64::from_be_bytes(*seq))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    const LIMITS: RegistryLimits = RegistryLimits {
        max_per_peer: 2,
        max_total: 3,
        min_ttl_secs: 60,
        max_ttl_secs: 7200,
    };

    fn peers(names: &Registry, namespace: &str, now: Instant) -> Vec<Vec<u8>> {
        let (page, _) = names.discover(Some(namespace), None, None, now).unwrap();
        page.into_iter()
            .map(|r| r.signed_peer_record.unwrap())
            .collect()
    }

    #[test]
    fn peers_see_only_their_namespace() {
        let now = Instant::now();
        let mut registry = Registry::new(LIMITS);
        let (a, b, c) = (PeerId::random(), PeerId::random(), PeerId::random());
        registry.register(a, "room1", vec![1], None, now).unwrap();
        registry.register(b, "room1", vec![2], None, now).unwrap();
        registry.register(c, "room2", vec![3], None, now).unwrap();
        assert_eq!(peers(&registry, "room1", now), vec![vec![1], vec![2]]);
        assert_eq!(peers(&registry, "room2", now), vec![vec![3]]);
        assert_eq!(
            registry.discover(None, None, None, now).unwrap_err(),
            Status::NotAuthorized
        );
    }

    #[test]
    fn a_disconnected_peer_vanishes_from_every_namespace() {
        let now = Instant::now();
        let mut registry = Registry::new(LIMITS);
        let (a, b) = (PeerId::random(), PeerId::random());
        registry.register(a, "x", vec![1], None, now).unwrap();
        registry.register(a, "y", vec![1], None, now).unwrap();
        registry.register(b, "x", vec![2], None, now).unwrap();
        assert_eq!(registry.remove_peer(&a), 2);
        assert_eq!(peers(&registry, "x", now), vec![vec![2]]);
        assert!(peers(&registry, "y", now).is_empty());
        assert_eq!(registry.len(), 1);
        assert!(!registry.is_present(&a));
    }

    #[test]
    fn caps_per_peer_and_in_total_hold_but_refreshes_pass() {
        let now = Instant::now();
        let mut registry = Registry::new(LIMITS);
        let (a, b) = (PeerId::random(), PeerId::random());
        registry.register(a, "x", vec![1], None, now).unwrap();
        registry.register(a, "y", vec![1], None, now).unwrap();
        assert_eq!(
            registry.register(a, "z", vec![1], None, now),
            Err(Status::Unavailable)
        );
        registry.register(a, "x", vec![9], None, now).unwrap();
        assert_eq!(peers(&registry, "x", now), vec![vec![9]]);
        registry.register(b, "x", vec![2], None, now).unwrap();
        assert_eq!(
            registry.register(b, "w", vec![2], None, now),
            Err(Status::Unavailable)
        );
        assert_eq!(registry.len(), 3);
    }

    #[test]
    fn bad_ttls_namespaces_and_cookies_are_refused() {
        let now = Instant::now();
        let mut registry = Registry::new(LIMITS);
        let a = PeerId::random();
        assert_eq!(
            registry.register(a, "x", vec![], Some(10), now),
            Err(Status::InvalidTtl)
        );
        assert_eq!(
            registry.register(a, "x", vec![], Some(100_000), now),
            Err(Status::InvalidTtl)
        );
        let long = "n".repeat(MAX_NAMESPACE_BYTES + 1);
        assert_eq!(
            registry.register(a, &long, vec![], None, now),
            Err(Status::InvalidNamespace)
        );
        let foreign = encode_cookie(0, "other");
        assert_eq!(
            registry
                .discover(Some("x"), Some(&foreign), None, now)
                .unwrap_err(),
            Status::InvalidCookie
        );
        assert_eq!(
            registry
                .discover(Some("x"), Some(&[1, 2]), None, now)
                .unwrap_err(),
            Status::InvalidCookie
        );
    }

    #[test]
    fn expired_registrations_are_hidden_then_swept() {
        let now = Instant::now();
        let mut registry = Registry::new(LIMITS);
        let a = PeerId::random();
        registry.register(a, "x", vec![1], Some(60), now).unwrap();
        let later = now + Duration::from_secs(61);
        assert!(peers(&registry, "x", later).is_empty());
        assert_eq!(registry.sweep(later), (vec![a], 1));
        assert_eq!(registry.len(), 0);
    }

    #[test]
    fn cookies_page_through_new_registrations() {
        let now = Instant::now();
        let mut registry = Registry::new(RegistryLimits {
            max_total: 1000,
            ..LIMITS
        });
        for byte in 0..5u8 {
            registry
                .register(PeerId::random(), "x", vec![byte], None, now)
                .unwrap();
        }
        let (first, cookie) = registry.discover(Some("x"), None, Some(3), now).unwrap();
        assert_eq!(first.len(), 3);
        let (second, cookie) = registry
            .discover(Some("x"), Some(&cookie), Some(3), now)
            .unwrap();
        assert_eq!(second.len(), 2);
        let (third, _) = registry
            .discover(Some("x"), Some(&cookie), Some(3), now)
            .unwrap();
        assert!(third.is_empty());
    }
}
