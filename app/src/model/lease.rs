//! Which tab of a browser profile writes: the writer lease.
//!
//! A profile's books must have exactly one writer, or two tabs would both write seq n of the
//! user's book and fork it. So one tab at a time holds a lease (a Web Lock named after the
//! database, see `crate::lease`) and only that tab opens the messenger; every other tab of the
//! profile says "Quire is open in another tab" and offers "Use here". A tab that is asked to
//! hand over first stops writing and waits until everything it holds is stored, and only then
//! releases; the asking tab's lock request is granted by the browser only after that release,
//! so two writers never exist, not even for a moment.
//!
//! This module is the decision logic, with no browser in it: inputs are what the browser and
//! the other tabs said, outputs are [`LeaseAction`]s for the driver to carry out.

/// Where this tab stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LeasePhase {
    /// Asked for the lease if it is free; no answer yet.
    Asking,
    /// This tab holds the lease: it runs the messenger and writes.
    Holding,
    /// Another tab holds it. This tab's request is queued, so it takes over by itself when the
    /// other tab closes; `asked` says whether the user asked the other tab to hand over now.
    Elsewhere { asked: bool },
    /// The user moved Quire to another tab: this one has stopped writing and is storing what it
    /// holds, then releases.
    Releasing,
    /// Handed over: read-only until the user takes Quire back.
    Released,
}

/// What happened.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LeaseInput {
    /// The browser granted the lock.
    Granted,
    /// The lock was not free when this tab first asked.
    Unavailable,
    /// The user pressed "Use here".
    UseHere,
    /// Another tab of the profile asked the holder to hand over.
    HandOverAsked,
    /// Everything this tab held is stored (or it held nothing).
    Flushed,
}

/// What the driver must do, in order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LeaseAction {
    /// Request the lock and wait in the browser's queue until it is granted.
    Queue,
    /// Tell the profile's other tabs to hand the lease over.
    AskHandOver,
    /// Start the messenger (storage, persister, network).
    StartWriting,
    /// Refuse new writes and store what is held; report [`LeaseInput::Flushed`] when done.
    StopWriting,
    /// Stop the messenger and release the lock.
    Release,
}

/// The lease of one tab. Starts in [`LeasePhase::Asking`]: the driver asks for the lock if it
/// is free, then feeds the answer in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lease {
    phase: LeasePhase,
}

impl Default for Lease {
    fn default() -> Self {
        Self::new()
    }
}

impl Lease {
    pub fn new() -> Self {
        Self {
            phase: LeasePhase::Asking,
        }
    }

    pub fn phase(&self) -> LeasePhase {
        self.phase
    }

    /// Whether this tab may write now.
    pub fn writes(&self) -> bool {
        self.phase == LeasePhase::Holding
    }

    /// Applies `input`; returns what to do. Inputs that make no sense in the current phase
    /// (a hand-over request to a tab that does not hold the lease, a second press) do nothing.
    pub fn handle(&mut self, input: LeaseInput) -> Vec<LeaseAction> {
        use LeaseAction as A;
        use LeaseInput as I;
        use LeasePhase as P;
        let (next, actions) = match (self.phase, input) {
            (P::Asking | P::Elsewhere { .. }, I::Granted) => (P::Holding, vec![A::StartWriting]),
            (P::Asking, I::Unavailable) => (P::Elsewhere { asked: false }, vec![A::Queue]),
            (P::Elsewhere { asked: false }, I::UseHere) => {
                (P::Elsewhere { asked: true }, vec![A::AskHandOver])
            }
            (P::Holding, I::HandOverAsked) => (P::Releasing, vec![A::StopWriting]),
            (P::Releasing, I::Flushed) => (P::Released, vec![A::Release]),
            (P::Released, I::UseHere) => {
                (P::Elsewhere { asked: true }, vec![A::Queue, A::AskHandOver])
            }
            (phase, _) => (phase, Vec::new()),
        };
        self.phase = next;
        actions
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(lease: &mut Lease, inputs: &[LeaseInput]) -> Vec<LeaseAction> {
        inputs.iter().flat_map(|i| lease.handle(*i)).collect()
    }

    #[test]
    fn the_only_tab_gets_the_lease_and_writes() {
        let mut lease = Lease::new();
        assert!(
            !lease.writes(),
            "nothing is written before the browser answers"
        );
        assert_eq!(
            lease.handle(LeaseInput::Granted),
            [LeaseAction::StartWriting]
        );
        assert!(lease.writes());
    }

    #[test]
    fn a_second_tab_waits_in_line_and_takes_over_when_the_first_closes() {
        let mut second = Lease::new();
        assert_eq!(second.handle(LeaseInput::Unavailable), [LeaseAction::Queue]);
        assert_eq!(second.phase(), LeasePhase::Elsewhere { asked: false });
        assert!(!second.writes());
        // The first tab closed: the browser grants the queued request.
        assert_eq!(
            second.handle(LeaseInput::Granted),
            [LeaseAction::StartWriting]
        );
        assert!(second.writes());
    }

    #[test]
    fn use_here_moves_the_lease_only_after_the_holder_stored_everything() {
        let (mut first, mut second) = (Lease::new(), Lease::new());
        first.handle(LeaseInput::Granted);
        second.handle(LeaseInput::Unavailable);
        assert_eq!(
            second.handle(LeaseInput::UseHere),
            [LeaseAction::AskHandOver]
        );
        assert_eq!(
            first.handle(LeaseInput::HandOverAsked),
            [LeaseAction::StopWriting]
        );
        assert!(!first.writes(), "the holder refuses new writes at once");
        assert!(!second.writes(), "and the asker does not write yet");
        assert_eq!(first.handle(LeaseInput::Flushed), [LeaseAction::Release]);
        assert_eq!(first.phase(), LeasePhase::Released);
        assert_eq!(
            second.handle(LeaseInput::Granted),
            [LeaseAction::StartWriting]
        );
        assert!(second.writes() && !first.writes());
    }

    #[test]
    fn a_tab_that_handed_over_can_take_quire_back() {
        let mut first = Lease::new();
        run(
            &mut first,
            &[
                LeaseInput::Granted,
                LeaseInput::HandOverAsked,
                LeaseInput::Flushed,
            ],
        );
        assert_eq!(
            first.handle(LeaseInput::UseHere),
            [LeaseAction::Queue, LeaseAction::AskHandOver]
        );
        assert_eq!(first.phase(), LeasePhase::Elsewhere { asked: true });
        assert_eq!(
            first.handle(LeaseInput::Granted),
            [LeaseAction::StartWriting]
        );
    }

    #[test]
    fn repeated_or_stray_inputs_change_nothing() {
        let mut waiting = Lease::new();
        run(
            &mut waiting,
            &[LeaseInput::Unavailable, LeaseInput::UseHere],
        );
        assert!(waiting.handle(LeaseInput::UseHere).is_empty(), "asked once");
        assert!(
            waiting.handle(LeaseInput::HandOverAsked).is_empty(),
            "a tab without the lease has nothing to hand over"
        );
        let mut holder = Lease::new();
        holder.handle(LeaseInput::Granted);
        assert!(holder.handle(LeaseInput::UseHere).is_empty());
        assert!(holder.handle(LeaseInput::Flushed).is_empty());
        holder.handle(LeaseInput::HandOverAsked);
        assert!(
            holder.handle(LeaseInput::HandOverAsked).is_empty(),
            "a second request while storing does not restart it"
        );
        assert_eq!(holder.phase(), LeasePhase::Releasing);
    }

    #[test]
    fn a_released_tab_never_writes_again_by_itself() {
        let mut first = Lease::new();
        run(
            &mut first,
            &[
                LeaseInput::Granted,
                LeaseInput::HandOverAsked,
                LeaseInput::Flushed,
            ],
        );
        // No request is queued after a hand-over: a grant cannot arrive, and a stray one is
        // ignored rather than making a second writer.
        assert!(first.handle(LeaseInput::Granted).is_empty());
        assert!(!first.writes());
    }
}
