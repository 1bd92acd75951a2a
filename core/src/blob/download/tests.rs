#![allow(clippy::unwrap_used)]

use std::collections::{BTreeMap, BTreeSet};

use super::*;
use crate::blob::{FileKey, Holder, SEGMENT_PLAIN_BYTES, open_segment, seal, segment_range};
use crate::sim::SplitMix64;

/// How a simulated holder behaves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Behaviour {
    /// Answers every request correctly after `latency` ms.
    Honest { latency: u64 },
    /// Answers correctly but so slowly that some requests time out.
    Slow { latency: u64 },
    /// Answers on time with one byte flipped.
    Liar { latency: u64 },
    /// Says it does not hold the blob.
    NotHolding { latency: u64 },
    /// Honest while online; offline from `gone` to `back` (for good if `back` is `None`).
    Vanishing {
        latency: u64,
        gone: u64,
        back: Option<u64>,
    },
}

impl Behaviour {
    fn latency(self) -> u64 {
        match self {
            Self::Honest { latency }
            | Self::Slow { latency }
            | Self::Liar { latency }
            | Self::NotHolding { latency }
            | Self::Vanishing { latency, .. } => latency,
        }
    }

    fn online_at(self, t: u64) -> bool {
        match self {
            Self::Vanishing { gone, back, .. } => t < gone || back.is_some_and(|b| t >= b),
            _ => true,
        }
    }
}

struct Run {
    sealed: Vec<u8>,
    plain: Vec<u8>,
    key: FileKey,
    stored_at_start: BTreeSet<u64>,
    holders: Vec<Behaviour>,
    honest: usize,
}

fn scenario(seed: u64) -> Run {
    let mut rng = SplitMix64::new(seed ^ 0xB10B_5EED);
    let len = rng.below(16 * SEGMENT_PLAIN_BYTES) as usize;
    let plain: Vec<u8> = (0..len).map(|_| rng.next_u64() as u8).collect();
    let key = FileKey::from_bytes(rng.bytes());
    let sealed = seal(&key, &plain).unwrap();
    let pieces = (sealed.len() as u64).div_ceil(PIECE_BYTES).max(1);
    // A resumed download: some pieces are stored already.
    let stored_at_start = (0..pieces).filter(|_| rng.chance(0.2)).collect();
    let count = 2 + rng.below(4) as usize;
    let honest = rng.below(count as u64) as usize;
    let holders = (0..count)
        .map(|i| {
            if i == honest {
                return Behaviour::Honest {
                    latency: 20 + rng.below(400),
                };
            }
            let latency = 20 + rng.below(400);
            match rng.below(5) {
                0 => Behaviour::Honest { latency },
                1 => Behaviour::Slow {
                    latency: 5_000 + rng.below(30_000),
                },
                2 => Behaviour::Liar { latency },
                3 => Behaviour::NotHolding { latency },
                _ => {
                    let gone = rng.below(5_000);
                    Behaviour::Vanishing {
                        latency,
                        gone,
                        back: rng.chance(0.5).then(|| gone + 1_000 + rng.below(20_000)),
                    }
                }
            }
        })
        .collect();
    Run {
        sealed,
        plain,
        key,
        stored_at_start,
        holders,
        honest,
    }
}

const TICK_MS: u64 = 50;

/// A response on its way: from which holder, for which piece, with what (`None`: "not held").
type InFlight = (usize, u64, Option<Vec<u8>>);
const GIVE_UP_MS: u64 = 600_000;

/// Runs one seeded download; returns the time it took.
fn simulate(seed: u64) -> u64 {
    let run = scenario(seed);
    let holder = Holder::new(run.sealed.clone());
    let info = holder.info();
    let mut download: Download<usize> = Download::new(info, &run.stored_at_start);
    let mut out = vec![0u8; run.sealed.len()];
    for piece in &run.stored_at_start {
        let r = download.piece_range(*piece);
        out[r.start as usize..r.end as usize]
            .copy_from_slice(&run.sealed[r.start as usize..r.end as usize]);
    }
    let mut online: Vec<bool> = run.holders.iter().map(|b| b.online_at(0)).collect();
    for (id, up) in online.iter().enumerate() {
        if *up {
            download.holder_online(&id);
        }
    }
    let mut encoded: BTreeMap<u64, Vec<u8>> = BTreeMap::new();
    // Responses in flight: (arrival, order) -> (holder, piece, response).
    let mut wire: BTreeMap<(u64, u64), InFlight> = BTreeMap::new();
    let mut order = 0u64;
    let mut asked_liars = BTreeSet::new();
    let mut now = 0;
    while !download.is_complete() {
        assert!(
            now < GIVE_UP_MS,
            "seed {seed}: stuck at {:?} with {:?}",
            download.progress(),
            run.holders
        );
        for (id, behaviour) in run.holders.iter().enumerate() {
            let up = behaviour.online_at(now);
            if up != online[id] {
                online[id] = up;
                if up {
                    download.holder_online(&id);
                } else {
                    download.holder_gone(&id);
                    // What it had not sent yet is lost with it.
                    wire.retain(|_, (h, _, _)| *h != id);
                }
            }
        }
        let due: Vec<_> = wire.range(..=(now, u64::MAX)).map(|(k, _)| *k).collect();
        for key in due {
            let (id, piece, response) = wire.remove(&key).unwrap();
            match download.response(&id, piece, response.as_deref()) {
                Outcome::Store { offset, bytes } => {
                    out[offset as usize..offset as usize + bytes.len()].copy_from_slice(&bytes);
                }
                Outcome::SetAside(why) => {
                    assert_ne!(
                        id, run.honest,
                        "seed {seed}: honest holder set aside: {why:?}"
                    );
                }
                Outcome::Ignored => {}
            }
        }
        for (id, piece, range) in download.requests(now) {
            assert!(online[id], "seed {seed}: asked an offline holder");
            let behaviour = run.holders[id];
            let mut response = Some(
                encoded
                    .entry(piece)
                    .or_insert_with(|| holder.encode(range).unwrap())
                    .clone(),
            );
            match behaviour {
                Behaviour::Liar { .. } => {
                    asked_liars.insert(id);
                    if let Some(bytes) = &mut response {
                        let last = bytes.len() - 1;
                        bytes[last] ^= 0x40;
                    }
                }
                Behaviour::NotHolding { .. } => response = None,
                _ => {}
            }
            order += 1;
            wire.insert((now + behaviour.latency(), order), (id, piece, response));
        }
        now += TICK_MS;
    }
    assert_eq!(out, run.sealed, "seed {seed}: wrong bytes");
    // The stored pieces open to the file.
    let mut plain = Vec::new();
    let size = out.len() as u64;
    for index in 0..size.div_ceil(crate::blob::SEGMENT_BYTES).max(1) {
        let r = segment_range(index, size);
        plain.extend(
            open_segment(
                &run.key,
                size,
                index,
                &out[r.start as usize..r.end as usize],
            )
            .unwrap(),
        );
    }
    assert_eq!(plain, run.plain, "seed {seed}");
    // Every liar that answered before the end was caught.
    let caught: BTreeSet<usize> = download
        .set_aside()
        .filter(|(_, why)| matches!(why, SetAside::Lied(_)))
        .map(|(id, _)| *id)
        .collect();
    assert!(caught.is_subset(&asked_liars), "seed {seed}");
    now
}

#[test]
fn downloads_complete_with_the_right_bytes_whatever_the_other_holders_do() {
    let seeds: u64 = std::env::var("QUIRE_BLOB_SEEDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(100);
    let mut slowest = (0, 0);
    for seed in 0..seeds {
        slowest = slowest.max((simulate(seed), seed));
    }
    // One honest holder is always online and answers within 420 ms, so the download never
    // waits for a request's timeout: what a slow holder sits on is stolen, what a departed,
    // lying or empty-handed one was asked goes elsewhere at once.
    assert!(
        slowest.0 < REQUEST_TIMEOUT_MS,
        "seed {} took {} ms",
        slowest.1,
        slowest.0
    );
}

#[test]
fn two_honest_holders_share_the_work_and_a_liar_is_caught_and_named() {
    // More pieces than three holders ask for at once.
    let plain = vec![7u8; 4 * (3 * MAX_IN_FLIGHT + 1) * SEGMENT_PLAIN_BYTES as usize];
    let key = FileKey::from_bytes([3; 32]);
    let holder = Holder::new(seal(&key, &plain).unwrap());
    let mut download: Download<&str> = Download::new(holder.info(), &BTreeSet::new());
    for id in ["ada", "bo", "liar"] {
        download.holder_online(&id);
    }
    let asked = download.requests(0);
    let by = |who: &str| asked.iter().filter(|(h, _, _)| *h == who).count();
    assert_eq!(
        (by("ada"), by("bo"), by("liar")),
        (MAX_IN_FLIGHT, MAX_IN_FLIGHT, MAX_IN_FLIGHT)
    );
    let mut lies = 0;
    for (who, piece, range) in asked {
        let mut response = holder.encode(range.clone()).unwrap();
        if who == "liar" {
            let last = response.len() - 1;
            response[last] ^= 1;
            let outcome = download.response(&who, piece, Some(&response));
            lies += 1;
            // The first lie sets it aside (with where it lied); its other answers are ignored.
            let expected = if lies == 1 {
                Outcome::SetAside(SetAside::Lied(BlobError::Mismatch {
                    offset: range.end - crate::blob::GROUP_BYTES,
                }))
            } else {
                Outcome::Ignored
            };
            assert_eq!(outcome, expected);
        } else {
            assert!(matches!(
                download.response(&who, piece, Some(&response)),
                Outcome::Store { .. }
            ));
        }
    }
    // The liar is never asked again, not even when unresponsive holders get another chance;
    // what it was asked goes to the others.
    assert!(!download.retry_unresponsive());
    let next = download.requests(10);
    assert!(next.iter().all(|(h, _, _)| *h != "liar"));
    assert_eq!(download.set_aside().count(), 1);
}

#[test]
fn an_idle_holder_steals_a_piece_stuck_at_a_slow_one_and_the_late_answer_is_ignored() {
    let plain = vec![1u8; SEGMENT_PLAIN_BYTES as usize];
    let key = FileKey::from_bytes([4; 32]);
    let holder = Holder::new(seal(&key, &plain).unwrap());
    let mut download: Download<&str> = Download::new(holder.info(), &BTreeSet::new());
    download.holder_online(&"slow");
    let first = download.requests(0);
    assert_eq!(first.len(), 1, "one piece only");
    download.holder_online(&"fast");
    assert!(download.requests(STEAL_AFTER_MS - 1).is_empty());
    let stolen = download.requests(STEAL_AFTER_MS);
    assert_eq!(stolen.len(), 1);
    assert_eq!(stolen[0].0, "fast");
    let response = holder.encode(stolen[0].2.clone()).unwrap();
    assert!(matches!(
        download.response(&"fast", 0, Some(&response)),
        Outcome::Store { .. }
    ));
    assert!(download.is_complete());
    assert_eq!(
        download.response(&"slow", 0, Some(&response)),
        Outcome::Ignored
    );
}

#[test]
fn a_holder_that_keeps_timing_out_is_set_aside_and_its_pieces_go_elsewhere() {
    let plain = vec![2u8; SEGMENT_PLAIN_BYTES as usize];
    let holder = Holder::new(seal(&FileKey::from_bytes([5; 32]), &plain).unwrap());
    let mut download: Download<&str> = Download::new(holder.info(), &BTreeSet::new());
    download.holder_online(&"mute");
    let mut now = 0;
    for _ in 0..MAX_TIMEOUTS {
        assert_eq!(download.requests(now).len(), 1);
        now += REQUEST_TIMEOUT_MS;
    }
    assert!(download.requests(now).is_empty());
    assert!(!download.has_source());
    assert_eq!(
        download.set_aside().next(),
        Some((&"mute", &SetAside::Unresponsive))
    );
    // It was only busy: given another chance, it is asked again and its answer counts.
    assert!(download.retry_unresponsive());
    assert!(download.has_source());
    let asked = download.requests(now);
    assert_eq!(asked.len(), 1);
    let response = holder.encode(asked[0].2.clone()).unwrap();
    assert!(matches!(
        download.response(&"mute", asked[0].1, Some(&response)),
        Outcome::Store { .. }
    ));
    assert!(!download.retry_unresponsive(), "nobody left to retry");
}

#[test]
fn a_failed_request_is_asked_again_at_once_and_a_holder_that_keeps_failing_is_set_aside() {
    let plain = vec![3u8; SEGMENT_PLAIN_BYTES as usize];
    let holder = Holder::new(seal(&FileKey::from_bytes([6; 32]), &plain).unwrap());
    let mut download: Download<&str> = Download::new(holder.info(), &BTreeSet::new());
    download.holder_online(&"flaky");
    for attempt in 1..=MAX_TIMEOUTS {
        let asked = download.requests(0);
        assert_eq!(asked.len(), 1, "attempt {attempt} is asked without waiting");
        download.failed(&"flaky", asked[0].1);
        // A failure reported twice, or for a piece never asked, changes nothing.
        download.failed(&"flaky", asked[0].1);
        download.failed(&"flaky", 99);
    }
    assert!(download.requests(0).is_empty());
    assert_eq!(
        download.set_aside().next(),
        Some((&"flaky", &SetAside::Unresponsive))
    );
    // Another holder gets the piece.
    download.holder_online(&"good");
    let asked = download.requests(0);
    assert_eq!(asked[0].0, "good");
    let response = holder.encode(asked[0].2.clone()).unwrap();
    assert!(matches!(
        download.response(&"good", 0, Some(&response)),
        Outcome::Store { .. }
    ));
}

#[test]
fn a_holder_that_breaks_the_protocol_is_set_aside_for_good_and_its_piece_goes_elsewhere() {
    let plain = vec![4u8; SEGMENT_PLAIN_BYTES as usize];
    let holder = Holder::new(seal(&FileKey::from_bytes([7; 32]), &plain).unwrap());
    let mut download: Download<&str> = Download::new(holder.info(), &BTreeSet::new());
    download.holder_online(&"rogue");
    let asked = download.requests(0);
    assert_eq!(asked.len(), 1);
    assert_eq!(
        download.broke_protocol(&"rogue", 99),
        Outcome::Ignored,
        "never asked"
    );
    assert_eq!(
        download.broke_protocol(&"rogue", asked[0].1),
        Outcome::SetAside(SetAside::BrokeProtocol)
    );
    assert!(!download.has_source());
    assert!(
        !download.retry_unresponsive(),
        "a protocol breaker is not given another chance"
    );
    assert!(download.requests(REQUEST_TIMEOUT_MS).is_empty());
    // An honest holder comes online and gets the piece.
    download.holder_online(&"honest");
    let asked = download.requests(REQUEST_TIMEOUT_MS);
    assert_eq!(asked.len(), 1);
    assert_eq!(asked[0].0, "honest");
    let response = holder.encode(asked[0].2.clone()).unwrap();
    assert!(matches!(
        download.response(&"honest", asked[0].1, Some(&response)),
        Outcome::Store { .. }
    ));
    assert!(download.is_complete());
}
