//! How many bytes one sync stream may have queued for a peer that has not read them yet.
//!
//! Every stream's writer has a queue; a peer that stops reading (or reads slower than the room
//! writes) would otherwise make it grow until the tab runs out of memory. The network driver
//! accounts each frame here before queueing it and again once it is written; a frame that would
//! go over [`MAX_QUEUED_BYTES`] is not queued (the next heads exchange repairs what it carried)
//! and marks the stream as not being read, and the driver then drops the stream.

/// Most bytes queued on one stream. Why: four maximal sync batches; a peer that reads drains a
/// batch in far less than the 15 s heads interval, so one that has 4 MiB unread is not reading.
pub const MAX_QUEUED_BYTES: usize = 4 * 1024 * 1024;

/// Bytes queued on one stream and not yet written.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct WriteBudget {
    queued: usize,
    overflowed: bool,
}

impl WriteBudget {
    /// Accounts a frame of `len` bytes about to be queued; `false` means it does not fit (do
    /// not queue it) and the peer is not reading.
    pub fn try_queue(&mut self, len: usize) -> bool {
        if self.queued.saturating_add(len) > MAX_QUEUED_BYTES {
            self.overflowed = true;
            return false;
        }
        self.queued += len;
        true
    }

    /// A queued frame of `len` bytes left the queue (written, or never queued after all).
    pub fn written(&mut self, len: usize) {
        self.queued = self.queued.saturating_sub(len);
    }

    /// Bytes queued now.
    pub fn queued(&self) -> usize {
        self.queued
    }

    /// Whether a frame ever failed to fit: the peer does not read, drop the stream.
    pub fn overflowed(&self) -> bool {
        self.overflowed
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const BATCH: usize = 1024 * 1024;

    #[test]
    fn a_reading_peer_is_never_cut_off() {
        let mut budget = WriteBudget::default();
        for _ in 0..100 {
            assert!(budget.try_queue(BATCH));
            budget.written(BATCH);
        }
        assert!(!budget.overflowed());
        assert_eq!(budget.queued(), 0);
    }

    #[test]
    fn a_peer_that_stops_reading_is_found_out_at_the_cap() {
        let mut budget = WriteBudget::default();
        let mut queued = 0;
        while budget.try_queue(BATCH) {
            queued += 1;
        }
        assert_eq!(queued * BATCH, MAX_QUEUED_BYTES);
        assert!(budget.overflowed());
        assert_eq!(
            budget.queued(),
            MAX_QUEUED_BYTES,
            "the refused frame is not counted"
        );
        // Reading again does not undo the verdict: the stream is dropped and reopened.
        budget.written(BATCH);
        assert!(budget.try_queue(100));
        assert!(budget.overflowed());
    }
}
