//! Whether this device can keep what the user writes, and what the messenger does when it
//! cannot.
//!
//! [`StorageHealth`] is a plain state machine: the persister reports every write outcome into
//! it, a timer and the user's Retry button poke it, and the UI reads from it whether new
//! writing is allowed, when the next automatic attempt is due and what to tell the user. It
//! holds no pages: pages that failed to store stay in the rooms' sessions (they are "unstored"
//! until a write commits), so a failure never drops anything; it only decides when to try
//! again and whether to let the user pile more on.
//!
//! # Calling contract
//! 1. Before storing, the persister asks [`StorageHealth::may_attempt`] with the current time;
//!    when it is false, it leaves the pages queued and waits for [`StorageHealth::next_retry_at`]
//!    (or a [`StorageHealth::retry_pressed`]).
//! 2. After a pass, it reports [`StorageHealth::write_ok`] (everything pending committed) or
//!    [`StorageHealth::write_failed`] with the [`WriteFailure`] classified from the error.
//! 3. [`StorageHealth::upgraded_elsewhere`] when the database connection was closed because
//!    another tab upgraded (or deleted) it.
//! 4. The UI reads [`StorageHealth::refusal`] (composer gate), [`StorageHealth::message`]
//!    (banner) and [`StorageHealth::offers_retry`] / [`StorageHealth::needs_reload`] (button).
//!
//! Times are milliseconds on any monotonic-enough clock the caller chooses; the machine never
//! reads a clock itself.

use crate::storage::StorageError;

/// First automatic retry after a failure. Why: a transaction aborted by a tab switch or a busy
/// disk usually succeeds at once; half a second is unnoticeable in a chat.
pub const FIRST_RETRY_MS: u64 = 500;

/// Longest wait between automatic retries. Why: a full disk or a broken database does not fix
/// itself in seconds; hammering it costs battery, while 30 s still notices freed space soon.
pub const MAX_RETRY_MS: u64 = 30_000;

/// Failed attempts in a row after which a transient failure stops accepting new writing.
/// Why: with the doubling backoff this is about 7.5 s of failing; until then the hiccup is
/// probably momentary and the messages wait in memory showing "sending"; after that the user
/// should know their words are not being kept before writing more of them.
pub const REFUSE_AFTER_ATTEMPTS: u32 = 5;

/// A failed write, classified by what the messenger does about it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WriteFailure {
    /// The browser refused to store more (quota): stop taking new writing until space is
    /// freed and a write succeeds.
    Full,
    /// The connection is gone (another tab upgraded or deleted the database, or this build is
    /// older than the stored schema): no write from this tab can succeed; only a reload helps.
    Closed,
    /// Anything else: retried with backoff. `detail` is shown to the user.
    Other { detail: String },
}

impl WriteFailure {
    /// Of two failures in one pass, the one that decides what happens: a closed database over
    /// a full one over anything else.
    pub fn worst(self, other: Self) -> Self {
        let rank = |f: &Self| match f {
            Self::Closed => 2,
            Self::Full => 1,
            Self::Other { .. } => 0,
        };
        if rank(&other) > rank(&self) {
            other
        } else {
            self
        }
    }

    /// Classifies a storage error.
    pub fn of(error: &StorageError) -> Self {
        match error {
            StorageError::QuotaExceeded { .. } => Self::Full,
            StorageError::Closed | StorageError::NewerSchema { .. } => Self::Closed,
            other => Self::Other {
                detail: other.to_string(),
            },
        }
    }
}

/// Where local storage stands.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum StorageHealth {
    /// Every write so far committed.
    #[default]
    Healthy,
    /// The last `attempt` writes failed for a reason that may pass; the next try is at
    /// `next_at`. New writing is still accepted (it waits in memory).
    Retrying {
        attempt: u32,
        next_at: u64,
        detail: String,
    },
    /// The browser's storage quota is used up. New writing is refused; retries continue every
    /// so often (the user may free space) and the user may retry at once.
    Full { attempt: u32, next_at: u64 },
    /// The database was closed under this tab (upgraded or deleted elsewhere). Nothing can be
    /// stored until the page is reloaded.
    Closed,
    /// Writes kept failing for [`REFUSE_AFTER_ATTEMPTS`] attempts or more. New writing is
    /// refused; retries continue with the backoff (up to [`MAX_RETRY_MS`] apart).
    Failed {
        attempt: u32,
        next_at: u64,
        detail: String,
    },
}

/// The wait before retry number `attempt` (1-based): 0.5 s doubling, capped at 30 s.
pub fn backoff_ms(attempt: u32) -> u64 {
    let doublings = attempt.saturating_sub(1).min(16);
    (FIRST_RETRY_MS << doublings).min(MAX_RETRY_MS)
}

impl StorageHealth {
    /// Every pending write committed.
    pub fn write_ok(&mut self) {
        // A write that committed just before the connection closed proves nothing about later
        // ones: the closed connection stays closed.
        if !matches!(self, Self::Closed) {
            *self = Self::Healthy;
        }
    }

    /// A write failed at `now`.
    pub fn write_failed(&mut self, failure: WriteFailure, now: u64) {
        if matches!(self, Self::Closed) {
            return;
        }
        let attempt = self.attempt() + 1;
        let next_at = now.saturating_add(backoff_ms(attempt));
        *self = match failure {
            WriteFailure::Closed => Self::Closed,
            WriteFailure::Full => Self::Full { attempt, next_at },
            WriteFailure::Other { detail } if attempt >= REFUSE_AFTER_ATTEMPTS => Self::Failed {
                attempt,
                next_at,
                detail,
            },
            WriteFailure::Other { detail } => Self::Retrying {
                attempt,
                next_at,
                detail,
            },
        };
    }

    /// The database connection was closed because another tab upgraded or deleted it.
    pub fn upgraded_elsewhere(&mut self) {
        *self = Self::Closed;
    }

    /// The user asked to try again now. Returns whether an attempt is now due (false when
    /// nothing is wrong, or when only a reload can help).
    pub fn retry_pressed(&mut self, now: u64) -> bool {
        match self {
            Self::Retrying { next_at, .. }
            | Self::Full { next_at, .. }
            | Self::Failed { next_at, .. } => {
                *next_at = now;
                true
            }
            Self::Healthy | Self::Closed => false,
        }
    }

    /// Whether the persister should try to store at `now` (a timer firing is just a call to
    /// this at the time it fired).
    pub fn may_attempt(&self, now: u64) -> bool {
        match self.next_retry_at() {
            Some(at) => now >= at,
            None => matches!(self, Self::Healthy),
        }
    }

    /// When the next automatic attempt is due, if one is planned.
    pub fn next_retry_at(&self) -> Option<u64> {
        match self {
            Self::Retrying { next_at, .. }
            | Self::Full { next_at, .. }
            | Self::Failed { next_at, .. } => Some(*next_at),
            Self::Healthy | Self::Closed => None,
        }
    }

    /// Failed attempts in a row (0 when healthy).
    pub fn attempt(&self) -> u32 {
        match self {
            Self::Retrying { attempt, .. }
            | Self::Full { attempt, .. }
            | Self::Failed { attempt, .. } => *attempt,
            Self::Healthy | Self::Closed => 0,
        }
    }

    /// Whether the user may write new messages (and other pages) now.
    pub fn may_write(&self) -> bool {
        self.refusal().is_none()
    }

    /// Why new writing is refused, for the composer; `None` while writing is allowed.
    pub fn refusal(&self) -> Option<String> {
        let why = match self {
            Self::Healthy | Self::Retrying { .. } => return None,
            Self::Full { .. } => "Storage is full: free some space, then press Retry",
            Self::Closed => "Quire was updated in another tab: reload this page to keep writing",
            Self::Failed { .. } => "Messages cannot be saved right now: press Retry",
        };
        Some(why.to_owned())
    }

    /// What the banner says; `None` while healthy.
    pub fn message(&self) -> Option<String> {
        Some(match self {
            Self::Healthy => return None,
            Self::Retrying { detail, .. } => format!(
                "Saving is failing ({detail}). Your messages are kept here and saving is \
                 retried automatically."
            ),
            Self::Full { .. } => "This browser's storage for Quire is full, so new messages \
                 cannot be saved. Messages already sent here are kept and will be saved as \
                 soon as there is room: free some disk space (or clear other sites' data), \
                 then press Retry."
                .to_owned(),
            Self::Closed => "Quire was updated or removed in another tab, so this tab can no \
                 longer save anything. Reload the page to continue; messages still shown as \
                 sending were not saved."
                .to_owned(),
            Self::Failed { detail, .. } => format!(
                "Messages cannot be saved on this device ({detail}). Messages already sent \
                 here are kept and saving is retried automatically; writing is paused until \
                 it works again."
            ),
        })
    }

    /// Whether the banner offers "Retry".
    pub fn offers_retry(&self) -> bool {
        self.next_retry_at().is_some()
    }

    /// Whether only reloading the page can help (the banner offers "Reload").
    pub fn needs_reload(&self) -> bool {
        matches!(self, Self::Closed)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    fn other() -> WriteFailure {
        WriteFailure::Other {
            detail: "the write was rolled back".to_owned(),
        }
    }

    /// A persister in miniature: pages queue in memory, a disk that may fail, and the machine
    /// deciding when to write. Stores everything queued in one batch, like the real one.
    struct Sim {
        health: StorageHealth,
        queued: Vec<u32>,
        disk: Vec<u32>,
        failures: Vec<WriteFailure>,
    }

    impl Sim {
        fn new(failures: Vec<WriteFailure>) -> Self {
            Self {
                health: StorageHealth::default(),
                queued: Vec::new(),
                disk: Vec::new(),
                failures,
            }
        }

        /// The user writes a page, if allowed; returns whether it was accepted.
        fn write(&mut self, page: u32) -> bool {
            if !self.health.may_write() {
                return false;
            }
            self.queued.push(page);
            true
        }

        /// The persister wakes at `now`.
        fn wake(&mut self, now: u64) {
            if self.queued.is_empty() || !self.health.may_attempt(now) {
                return;
            }
            if self.failures.is_empty() {
                self.disk.append(&mut self.queued);
                self.health.write_ok();
            } else {
                let failure = self.failures.remove(0);
                self.health.write_failed(failure, now);
            }
        }
    }

    #[test]
    fn a_new_machine_is_healthy_and_lets_the_user_write() {
        let health = StorageHealth::default();
        assert!(health.may_write());
        assert!(health.may_attempt(0));
        assert_eq!(health.message(), None);
        assert_eq!(health.next_retry_at(), None);
        assert!(!health.offers_retry());
    }

    #[test]
    fn backoff_starts_at_half_a_second_doubles_and_stops_at_thirty() {
        let waits: Vec<u64> = (1..=9).map(backoff_ms).collect();
        assert_eq!(
            waits,
            [500, 1000, 2000, 4000, 8000, 16000, 30000, 30000, 30000]
        );
        assert_eq!(backoff_ms(u32::MAX), MAX_RETRY_MS);
    }

    #[test]
    fn a_transient_error_retries_with_backoff_and_recovers() {
        let mut health = StorageHealth::default();
        health.write_failed(other(), 1_000);
        assert_eq!(health.next_retry_at(), Some(1_500));
        assert!(!health.may_attempt(1_499), "not before the backoff");
        assert!(health.may_attempt(1_500), "the timer firing makes it due");
        assert!(
            health.may_write(),
            "a hiccup does not stop the conversation"
        );
        assert!(health.message().unwrap().contains("retried automatically"));
        health.write_failed(other(), 1_500);
        assert_eq!(health.next_retry_at(), Some(2_500), "the wait doubled");
        health.write_ok();
        assert_eq!(health, StorageHealth::Healthy);
        assert_eq!(health.message(), None);
    }

    #[test]
    fn after_a_quota_error_writing_is_refused_until_a_retry_succeeds() {
        let mut health = StorageHealth::default();
        health.write_failed(WriteFailure::Full, 0);
        assert!(!health.may_write());
        assert!(health.refusal().unwrap().contains("Storage is full"));
        assert!(health.message().unwrap().contains("full"));
        assert!(health.offers_retry());
        // The user frees space and presses Retry: due at once, but still refused until the
        // write actually succeeds.
        assert!(health.retry_pressed(10));
        assert!(health.may_attempt(10));
        assert!(!health.may_write());
        health.write_failed(WriteFailure::Full, 10);
        assert!(!health.may_write(), "still full");
        assert!(health.retry_pressed(20));
        health.write_ok();
        assert!(health.may_write());
    }

    #[test]
    fn storage_full_keeps_retrying_on_its_own_at_most_every_thirty_seconds() {
        let mut health = StorageHealth::default();
        let mut now = 0;
        for _ in 0..20 {
            health.write_failed(WriteFailure::Full, now);
            let next = health.next_retry_at().unwrap();
            assert!(next - now <= MAX_RETRY_MS);
            now = next;
        }
        assert_eq!(
            health.next_retry_at().map(|at| at - (now - MAX_RETRY_MS)),
            Some(MAX_RETRY_MS)
        );
    }

    #[test]
    fn repeated_transient_errors_end_up_refusing_new_writing() {
        let mut health = StorageHealth::default();
        for attempt in 1..REFUSE_AFTER_ATTEMPTS {
            health.write_failed(other(), 0);
            assert!(
                health.may_write(),
                "attempt {attempt} still accepts writing"
            );
        }
        health.write_failed(other(), 0);
        assert!(matches!(health, StorageHealth::Failed { .. }));
        assert!(!health.may_write());
        assert!(health.refusal().unwrap().contains("Retry"));
        assert!(health.message().unwrap().contains("rolled back"));
        assert!(health.offers_retry());
        health.write_ok();
        assert!(health.may_write(), "one success lifts the refusal");
    }

    #[test]
    fn an_upgrade_in_another_tab_refuses_writing_for_good_and_asks_for_a_reload() {
        let mut health = StorageHealth::default();
        health.upgraded_elsewhere();
        assert!(!health.may_write());
        assert!(health.needs_reload());
        assert!(
            !health.offers_retry(),
            "retrying cannot reopen the database"
        );
        assert!(!health.retry_pressed(5));
        assert!(!health.may_attempt(u64::MAX), "no write is attempted");
        assert!(health.message().unwrap().contains("Reload"));
        health.write_ok();
        assert!(health.needs_reload(), "a late success does not reopen it");
        health.write_failed(WriteFailure::Full, 0);
        assert_eq!(health, StorageHealth::Closed);
    }

    #[test]
    fn a_closed_database_error_is_the_same_as_an_upgrade_elsewhere() {
        let mut health = StorageHealth::default();
        health.write_failed(WriteFailure::of(&StorageError::Closed), 0);
        assert_eq!(health, StorageHealth::Closed);
    }

    #[test]
    fn errors_are_classified_by_what_the_user_can_do() {
        use crate::storage::StorageOp;
        let quota = StorageError::QuotaExceeded {
            op: StorageOp::WritePages,
        };
        assert_eq!(WriteFailure::of(&quota), WriteFailure::Full);
        assert_eq!(
            WriteFailure::of(&StorageError::NewerSchema { supported: 2 }),
            WriteFailure::Closed
        );
        let aborted = StorageError::Aborted {
            op: StorageOp::WritePages,
        };
        assert!(matches!(
            WriteFailure::of(&aborted),
            WriteFailure::Other { detail } if detail.contains("rolled back")
        ));
        assert!(matches!(
            WriteFailure::of(&StorageError::PageConflict),
            WriteFailure::Other { .. }
        ));
    }

    #[test]
    fn the_worst_failure_of_a_pass_decides() {
        assert_eq!(other().worst(WriteFailure::Full), WriteFailure::Full);
        assert_eq!(
            WriteFailure::Full.worst(WriteFailure::Closed),
            WriteFailure::Closed
        );
        assert_eq!(WriteFailure::Closed.worst(other()), WriteFailure::Closed);
        assert_eq!(other().worst(other()), other());
    }

    #[test]
    fn pressing_retry_while_healthy_does_nothing() {
        let mut health = StorageHealth::default();
        assert!(!health.retry_pressed(0));
        assert_eq!(health, StorageHealth::Healthy);
    }

    #[test]
    fn pressing_retry_skips_the_rest_of_the_backoff_without_resetting_it() {
        let mut health = StorageHealth::default();
        for _ in 0..3 {
            health.write_failed(other(), 0);
        }
        assert_eq!(health.next_retry_at(), Some(2_000));
        assert!(health.retry_pressed(100));
        assert!(health.may_attempt(100));
        health.write_failed(other(), 100);
        assert_eq!(
            health.next_retry_at(),
            Some(100 + 4_000),
            "pressing Retry does not make the automatic retries faster"
        );
    }

    #[test]
    fn messages_written_before_a_failure_are_still_queued_and_stored_after_recovery() {
        let mut sim = Sim::new(vec![other(), other()]);
        assert!(sim.write(1));
        assert!(sim.write(2));
        sim.wake(0);
        assert_eq!(sim.disk, Vec::<u32>::new());
        assert_eq!(sim.queued, [1, 2], "nothing dropped on failure");
        assert!(sim.write(3), "still accepting during a short hiccup");
        sim.wake(100);
        assert_eq!(
            sim.queued,
            [1, 2, 3],
            "a wake before the backoff writes nothing"
        );
        sim.wake(500);
        sim.wake(1_500);
        assert_eq!(sim.disk, [1, 2, 3], "stored in order, none lost");
        assert!(sim.queued.is_empty());
        assert!(sim.health.may_write());
    }

    #[test]
    fn when_storage_is_full_new_messages_are_refused_but_queued_ones_are_kept() {
        let mut sim = Sim::new(vec![WriteFailure::Full]);
        assert!(sim.write(1));
        sim.wake(0);
        assert!(!sim.write(2), "refused while full");
        assert_eq!(sim.queued, [1], "the page sent before the failure is kept");
        assert!(sim.health.retry_pressed(1));
        sim.wake(1);
        assert_eq!(sim.disk, [1]);
        assert!(sim.write(2), "accepted again once a write succeeded");
        sim.wake(2);
        assert_eq!(sim.disk, [1, 2]);
    }

    #[test]
    fn a_long_outage_retries_on_its_own_and_recovers_without_the_user() {
        let mut sim = Sim::new(vec![other(); 8]);
        sim.write(7);
        let mut now = 0;
        sim.wake(now);
        while let Some(at) = sim.health.next_retry_at() {
            now = at;
            sim.wake(now);
        }
        assert_eq!(sim.disk, [7]);
        assert!(sim.health.may_write());
        // 0.5 + 1 + 2 + 4 + 8 + 16 + 30 + 30 s of retries.
        assert_eq!(now, 91_500);
    }
}
