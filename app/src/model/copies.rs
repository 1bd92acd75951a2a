//! Whether this copy of the account writes: the relay's view of the account's live copies
//! (`quire_core::copies`), as the app acts on it.
//!
//! Tabs of one browser share a Web Lock (`model::lease`) and one copy id, kept in the profile,
//! so to the relay they are one copy; two browsers with one identity (a backup restored on a
//! new laptop while the old one is still open, or after clearing site data) share only the
//! relay. Each says hello on `/quire/copies/1` and the relay names one writer: the copy that was writing
//! when the other arrived. The newer copy therefore stops before it writes into a book whose
//! latest pages it may not hold, and both say so until the user chooses "Use here" on one of
//! them; a copy that writes again first takes in, room by room, what the other wrote. A copy
//! that was told to stop stays stopped when the writer leaves (the copy left
//! behind may lack the writer's last pages, so the user chooses) and while the relay is away
//! (nothing could tell the other copy to stop).
//!
//! What is left to chance: the moments before the first report (a fresh copy writes until the
//! relay answers; opening an invite writes nothing at first, `session::joining`), two copies
//! that never reach the same relay at the same time, and a browser profile copied as a whole
//! (it keeps the copy id).

use quire_core::copies::{ClientFrame, Hello, InstanceId, Report};

/// What the user is told about the account's other copies.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CopiesNotice {
    /// Another copy is open and writes; this one has stopped.
    OtherWrites,
    /// Another copy is open and has stopped; this one writes.
    OtherStopped,
    /// This copy was stopped and the copy that wrote has gone.
    WriterGone,
}

impl CopiesNotice {
    /// The banner's text.
    pub fn text(self) -> &'static str {
        match self {
            Self::OtherWrites => {
                "Your account is open on another device, which is writing. This one has stopped \
                 writing so that your history does not split in two. Choose Use here to write \
                 from this device instead."
            }
            Self::OtherStopped => {
                "Your account is also open on another device. That one has stopped writing; \
                 this one writes."
            }
            Self::WriterGone => {
                "Your account's other device has closed. Choose Use here to write from this \
                 device again."
            }
        }
    }

    /// Whether the banner offers "Use here".
    pub fn offers_use_here(self) -> bool {
        !matches!(self, Self::OtherStopped)
    }
}

/// Why "Use here" could not be sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum UseHereError {
    /// Only the relay can tell the other copy to stop.
    #[error("the relay is not reachable, so your other device cannot be told to stop writing")]
    RelayAway,
}

/// This copy's view of the account's live copies.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LiveCopies {
    instance: InstanceId,
    writer: bool,
    others: u8,
    /// The copies stream to the relay is open.
    connected: bool,
}

impl LiveCopies {
    /// A copy that just started: it writes until the relay says otherwise.
    pub fn new(instance: InstanceId) -> Self {
        Self {
            instance,
            writer: true,
            others: 0,
            connected: false,
        }
    }

    /// What to say when the copies stream opens.
    pub fn hello(&self) -> Hello {
        Hello {
            instance: self.instance,
            writing: self.writer,
        }
    }

    /// The copies stream is open (the hello was sent).
    pub fn connected(&mut self) {
        self.connected = true;
    }

    /// The relay's report. Returns whether this copy writes again after it had stopped: the
    /// other copy may have written meanwhile, so each room first takes in the user's own book
    /// (`RoomSession::await_own_book`).
    pub fn report(&mut self, report: Report) -> bool {
        let resumed = report.writer && !self.writer;
        self.others = report.others;
        self.writer = report.writer;
        resumed
    }

    /// The copies stream closed (the relay went away): whoever wrote goes on writing, whoever
    /// was stopped stays stopped.
    pub fn lost(&mut self) {
        self.connected = false;
    }

    /// The user chose "Use here": the frame to send (the relay's report then makes it true).
    pub fn use_here(&self) -> Result<ClientFrame, UseHereError> {
        if !self.connected {
            return Err(UseHereError::RelayAway);
        }
        Ok(ClientFrame::TakeOver)
    }

    /// Whether this copy may write, with why not for the user.
    pub fn refusal(&self) -> Option<&'static str> {
        (!self.writer)
            .then_some("Your account writes from another device: choose Use here to write here")
    }

    /// What the banner says, if anything.
    pub fn notice(&self) -> Option<CopiesNotice> {
        match (self.writer, self.others) {
            (true, 0) => None,
            (true, _) => Some(CopiesNotice::OtherStopped),
            (false, 0) => Some(CopiesNotice::WriterGone),
            (false, _) => Some(CopiesNotice::OtherWrites),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn copies() -> LiveCopies {
        LiveCopies::new(InstanceId([4; 16]))
    }

    #[test]
    fn a_fresh_copy_writes_and_says_nothing_until_the_relay_reports_another() {
        let mut me = copies();
        assert!(me.hello().writing);
        assert_eq!(me.refusal(), None);
        assert_eq!(me.notice(), None);
        me.connected();
        assert!(!me.report(Report {
            others: 0,
            writer: true,
        }));
        assert_eq!(me.notice(), None);
        assert!(!me.report(Report {
            others: 1,
            writer: true,
        }));
        assert_eq!(me.refusal(), None, "the older copy keeps writing");
        assert_eq!(me.notice(), Some(CopiesNotice::OtherStopped));
        assert!(!CopiesNotice::OtherStopped.offers_use_here());
    }

    #[test]
    fn the_newer_copy_stops_until_use_here_and_stays_stopped_without_the_relay() {
        let mut me = copies();
        assert_eq!(me.use_here(), Err(UseHereError::RelayAway));
        me.connected();
        assert!(!me.report(Report {
            others: 1,
            writer: false,
        }));
        assert!(me.refusal().is_some());
        assert_eq!(me.notice(), Some(CopiesNotice::OtherWrites));
        // Reconnecting after a relay restart, it says it is not writing.
        me.lost();
        assert!(me.refusal().is_some(), "stopped while the relay is away");
        assert!(!me.hello().writing);
        assert_eq!(me.use_here(), Err(UseHereError::RelayAway));
        me.connected();
        assert_eq!(me.use_here(), Ok(ClientFrame::TakeOver));
        // Use here is done when the relay says so, not before.
        assert!(me.refusal().is_some());
        assert!(
            me.report(Report {
                others: 1,
                writer: true,
            }),
            "writing again: the rooms first catch up"
        );
        assert_eq!(me.refusal(), None);
        // The other copy closes after it had taken over: this one waits for the user.
        assert!(!me.report(Report {
            others: 0,
            writer: false,
        }));
        assert_eq!(me.notice(), Some(CopiesNotice::WriterGone));
        assert!(me.notice().is_some_and(CopiesNotice::offers_use_here));
    }
}
