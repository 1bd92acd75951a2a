//! When to send presence requests, so that a user in many rooms stays within the relay's
//! request budget instead of being refused every cycle.
//!
//! The relay answers each connection's presence requests from a token bucket
//! (`relay/src/presence/behaviour.rs`: 4 requests a second sustained, bursts of 64). Each room
//! looks up two to four namespaces ([`quire_core::plan::PresencePlan`]) and registers one, so
//! looking up everything every 5 s is refused once a user holds about ten rooms. This schedule
//! keeps its own bucket a little below the relay's, so that it spends only what the relay
//! grants: a namespace never looked up goes first (a room just created or joined is announced
//! and looked around at once), then the longest unread, none more often than every
//! [`DISCOVER_EVERY_MS`]. With few rooms that is every 5 s, as before; with many, every
//! namespace still comes round in turn.
//!
//! Plain Rust with the time as an argument; the network driver asks it on every tick and after
//! every change of the rooms held, and carries out what it returns.

use std::collections::BTreeMap;

/// A namespace is looked up again at most this often. Why: a member who comes online is found
/// within this time even if no event told us.
pub const DISCOVER_EVERY_MS: u64 = 5_000;
/// Requests a second this device allows itself: below the relay's 4, so that timing jitter
/// between the two clocks never costs a refusal.
pub const REQUESTS_PER_SECOND: f64 = 3.0;
/// Requests it may send at once: half the relay's burst of 64.
pub const REQUEST_BURST: f64 = 32.0;

/// The presence requests to send now.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PresenceRequests {
    /// Namespaces to register under.
    pub register: Vec<String>,
    /// Namespaces to look up.
    pub discover: Vec<String>,
}

/// The schedule of one relay connection's presence requests.
#[derive(Debug, Clone)]
pub struct PresenceSchedule {
    tokens: f64,
    refilled_ms: u64,
    /// When each wanted namespace was last looked up.
    looked_up: BTreeMap<String, u64>,
}

impl PresenceSchedule {
    /// A schedule for a connection opened at `now_ms` (a full bucket, like the relay's).
    pub fn new(now_ms: u64) -> Self {
        Self {
            tokens: REQUEST_BURST,
            refilled_ms: now_ms,
            looked_up: BTreeMap::new(),
        }
    }

    fn refill(&mut self, now_ms: u64) {
        let elapsed = now_ms.saturating_sub(self.refilled_ms) as f64 / 1_000.0;
        self.tokens = (self.tokens + elapsed * REQUESTS_PER_SECOND).min(REQUEST_BURST);
        self.refilled_ms = self.refilled_ms.max(now_ms);
    }

    fn spend(&mut self) -> bool {
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            true
        } else {
            false
        }
    }

    /// What to send at `now_ms`, given the namespaces to be registered under that are not yet
    /// (`unregistered`, sent first: being found matters more than finding) and every namespace
    /// the rooms want looked up. Namespaces no longer wanted are forgotten. What the budget does
    /// not cover now waits for a later call.
    pub fn due(
        &mut self,
        unregistered: &[String],
        wanted: &[String],
        now_ms: u64,
    ) -> PresenceRequests {
        self.refill(now_ms);
        self.looked_up.retain(|ns, _| wanted.contains(ns));
        let mut out = PresenceRequests::default();
        for ns in unregistered {
            if !self.spend() {
                return out;
            }
            out.register.push(ns.clone());
        }
        let mut candidates: Vec<(Option<u64>, &String)> = wanted
            .iter()
            .map(|ns| (self.looked_up.get(ns).copied(), ns))
            .filter(|(last, _)| last.is_none_or(|at| now_ms >= at + DISCOVER_EVERY_MS))
            .collect();
        // Never looked up first (`None` sorts first), then the longest unread.
        candidates.sort();
        candidates.dedup_by(|a, b| a.1 == b.1);
        for (_, ns) in candidates {
            if !self.spend() {
                break;
            }
            out.discover.push(ns.clone());
        }
        for ns in &out.discover {
            self.looked_up.insert(ns.clone(), now_ms);
        }
        out
    }

    /// A request was sent outside this schedule (an unregister): it costs a token too.
    pub fn spent_elsewhere(&mut self, now_ms: u64) {
        self.refill(now_ms);
        self.tokens = (self.tokens - 1.0).max(0.0);
    }

    /// A lookup failed: look it up again as soon as the budget allows.
    pub fn failed(&mut self, namespace: &str) {
        self.looked_up.remove(namespace);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The relay's bucket (`relay/src/presence/behaviour.rs`), to check nothing is refused.
    struct Relay {
        tokens: f64,
        at_ms: u64,
    }

    impl Relay {
        fn take(&mut self, now_ms: u64) -> bool {
            let elapsed = now_ms.saturating_sub(self.at_ms) as f64 / 1_000.0;
            self.tokens = (self.tokens + elapsed * 4.0).min(64.0);
            self.at_ms = now_ms;
            if self.tokens >= 1.0 {
                self.tokens -= 1.0;
                true
            } else {
                false
            }
        }
    }

    fn namespaces(rooms: usize, per_room: usize) -> Vec<String> {
        (0..rooms)
            .flat_map(|r| (0..per_room).map(move |n| format!("room{r}-ns{n}")))
            .collect()
    }

    /// Runs a device's 1 s ticks for `secs` seconds with `rooms` rooms; returns, per namespace,
    /// the longest gap between two lookups, and how many requests the relay refused.
    fn run(rooms: usize, per_room: usize, secs: u64) -> (u64, usize) {
        let wanted = namespaces(rooms, per_room);
        let mut unregistered: Vec<String> = (0..rooms).map(|r| format!("reg{r}")).collect();
        let mut schedule = PresenceSchedule::new(0);
        let mut relay = Relay {
            tokens: 64.0,
            at_ms: 0,
        };
        let mut last: BTreeMap<String, u64> = BTreeMap::new();
        let mut longest = 0;
        let mut refused = 0;
        for tick in 0..=secs {
            let now = tick * 1_000;
            let due = schedule.due(&unregistered, &wanted, now);
            unregistered.retain(|ns| !due.register.contains(ns));
            for _ in due.register.iter().chain(&due.discover) {
                if !relay.take(now) {
                    refused += 1;
                }
            }
            for ns in &due.discover {
                let since = last.insert(ns.clone(), now).unwrap_or(0);
                longest = longest.max(now - since);
            }
        }
        for ns in &wanted {
            let seen = last.get(ns).copied().unwrap_or(0);
            longest = longest.max(secs * 1_000 - seen);
        }
        (longest, refused)
    }

    #[test]
    fn a_few_rooms_are_looked_up_every_five_seconds() {
        let (longest, refused) = run(3, 2, 120);
        assert_eq!(refused, 0);
        assert_eq!(longest, DISCOVER_EVERY_MS);
    }

    #[test]
    fn thirty_rooms_are_never_refused_and_each_comes_round_in_turn() {
        // 30 rooms re-keyed once: four namespaces each, 120 in all.
        let (longest, refused) = run(30, 4, 600);
        assert_eq!(refused, 0, "the relay never refuses a request");
        // 120 lookups at 3 a second: each comes round within about 40 s.
        assert!(longest <= 45_000, "a namespace waited {longest} ms");
        // The same load sent every 5 s, as before, is refused.
        let mut relay = Relay {
            tokens: 64.0,
            at_ms: 0,
        };
        let refused_before: usize = (0..=120u64)
            .step_by(5)
            .map(|s| (0..150).filter(|_| !relay.take(s * 1_000)).count())
            .sum();
        assert!(refused_before > 0, "the old schedule was refused");
    }

    #[test]
    fn a_new_room_is_registered_and_looked_up_at_once_and_failures_retry() {
        let mut schedule = PresenceSchedule::new(0);
        let old = namespaces(2, 2);
        let first = schedule.due(&[], &old, 0);
        assert_eq!(first.discover.len(), 4);
        assert!(schedule.due(&[], &old, 1_000).discover.is_empty());
        let mut both = old.clone();
        both.push("new".into());
        let next = schedule.due(&["new-reg".into()], &both, 2_000);
        assert_eq!(next.register, ["new-reg"]);
        assert_eq!(next.discover, ["new"], "the new room's namespace at once");
        schedule.failed("new");
        assert_eq!(schedule.due(&[], &both, 3_000).discover, ["new"]);
        // A namespace no longer wanted is forgotten.
        let due = schedule.due(&[], &old, 5_000);
        assert!(!due.discover.contains(&"new".to_owned()));
    }

    #[test]
    fn an_empty_bucket_sends_nothing_until_it_refills() {
        let mut schedule = PresenceSchedule::new(0);
        let many = namespaces(40, 1);
        assert_eq!(schedule.due(&[], &many, 0).discover.len(), 32);
        assert!(schedule.due(&[], &many, 0).discover.is_empty());
        assert_eq!(schedule.due(&[], &many, 1_000).discover.len(), 3);
        schedule.spent_elsewhere(2_000);
        assert_eq!(schedule.due(&[], &many, 2_000).discover.len(), 2);
    }
}
