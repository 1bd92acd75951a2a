//! The close/reset state machine of one `/webrtc` stream (specs `webrtc/README.md`, "Closing").
//!
//! Pure and deterministic so every transition is unit-tested natively; the data-channel stream
//! feeds it the flags it receives and the local calls it gets, and performs what it answers.
//!
//! Contract: call [`StreamState::on_remote_flag`] for every flag received (after delivering the
//! frame's payload), [`StreamState::close_write`] when the local writer closes,
//! [`StreamState::on_fin_ack_timeout`] when the `FIN_ACK` wait expires, and
//! [`StreamState::reset`] when the local side abandons the stream. The channel may be closed
//! once [`StreamState::channel_can_close`] is true.

use super::proto::Flag;

/// What happened to our reading direction.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ReadHalf {
    Open,
    /// The remote sent `FIN`: everything it will ever send has arrived.
    Finished,
    /// We sent `STOP_SENDING`; late data is dropped.
    Stopped,
    Reset,
}

/// What happened to our writing direction.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WriteHalf {
    Open,
    /// We sent `FIN` and wait for `FIN_ACK`.
    FinSent,
    /// `FIN_ACK` arrived, or we stopped waiting for it.
    Closed,
    /// The remote sent `STOP_SENDING`: further writes fail.
    StoppedByRemote,
    Reset,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct StreamState {
    read: ReadHalf,
    write: WriteHalf,
}

impl Default for StreamState {
    fn default() -> Self {
        Self::new()
    }
}

impl StreamState {
    pub fn new() -> Self {
        Self {
            read: ReadHalf::Open,
            write: WriteHalf::Open,
        }
    }

    pub fn read(&self) -> ReadHalf {
        self.read
    }

    pub fn write(&self) -> WriteHalf {
        self.write
    }

    /// Applies a flag from the remote; returns the flag to send back, if any.
    pub fn on_remote_flag(&mut self, flag: Flag) -> Option<Flag> {
        match flag {
            Flag::Fin => {
                if self.read == ReadHalf::Open || self.read == ReadHalf::Stopped {
                    self.read = ReadHalf::Finished;
                }
                // Acknowledge even a duplicate FIN: the peer may have missed our first ack
                // and is waiting on it; an extra ack is harmless.
                (self.read != ReadHalf::Reset).then_some(Flag::FinAck)
            }
            Flag::FinAck => {
                if self.write == WriteHalf::FinSent {
                    self.write = WriteHalf::Closed;
                }
                None
            }
            Flag::StopSending => {
                if self.write == WriteHalf::Open {
                    self.write = WriteHalf::StoppedByRemote;
                }
                // The spec says the receiver SHOULD NOT answer with RESET_STREAM.
                None
            }
            Flag::ResetStream => {
                self.read = ReadHalf::Reset;
                if self.write != WriteHalf::Closed {
                    self.write = WriteHalf::Reset;
                }
                None
            }
        }
    }

    /// Whether data arriving now should be delivered to the reader.
    pub fn accepts_data(&self) -> bool {
        self.read == ReadHalf::Open
    }

    /// Whether the local writer may send data now.
    pub fn can_write(&self) -> bool {
        self.write == WriteHalf::Open
    }

    /// Local writer closes; returns true if a `FIN` must be sent.
    pub fn close_write(&mut self) -> bool {
        match self.write {
            WriteHalf::Open => {
                self.write = WriteHalf::FinSent;
                true
            }
            WriteHalf::StoppedByRemote => {
                // The remote will not read it, but FIN still tells it we are done writing.
                self.write = WriteHalf::FinSent;
                true
            }
            _ => false,
        }
    }

    /// Whether the local close is complete (nothing more to wait for).
    pub fn write_closed(&self) -> bool {
        matches!(self.write, WriteHalf::Closed | WriteHalf::Reset)
    }

    /// The `FIN_ACK` did not arrive in time: treat the write half as closed anyway.
    pub fn on_fin_ack_timeout(&mut self) {
        if self.write == WriteHalf::FinSent {
            self.write = WriteHalf::Closed;
        }
    }

    /// Local reader is no longer interested; returns true if `STOP_SENDING` must be sent.
    pub fn stop_reading(&mut self) -> bool {
        if self.read == ReadHalf::Open {
            self.read = ReadHalf::Stopped;
            true
        } else {
            false
        }
    }

    /// Local side abandons the stream; returns true if `RESET_STREAM` must be sent (i.e. the
    /// exchange was not already complete).
    pub fn reset(&mut self) -> bool {
        let needed = !self.channel_can_close();
        self.read = ReadHalf::Reset;
        if self.write != WriteHalf::Closed {
            self.write = WriteHalf::Reset;
        }
        needed
    }

    /// Both directions are finished (spec: close the channel after having sent and received
    /// `FIN` and received `FIN_ACK`), or the stream was reset.
    pub fn channel_can_close(&self) -> bool {
        let read_done = matches!(self.read, ReadHalf::Finished | ReadHalf::Reset);
        let write_done = matches!(self.write, WriteHalf::Closed | WriteHalf::Reset);
        read_done && write_done
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn fin_is_acknowledged_and_ends_reading() {
        let mut s = StreamState::new();
        assert_eq!(s.on_remote_flag(Flag::Fin), Some(Flag::FinAck));
        assert_eq!(s.read(), ReadHalf::Finished);
        assert!(!s.accepts_data());
        assert!(s.can_write(), "remote FIN must not close our write half");
    }

    #[test]
    fn duplicate_fin_is_acknowledged_again() {
        let mut s = StreamState::new();
        s.on_remote_flag(Flag::Fin);
        assert_eq!(s.on_remote_flag(Flag::Fin), Some(Flag::FinAck));
    }

    #[test]
    fn write_closes_only_after_fin_ack() {
        let mut s = StreamState::new();
        assert!(s.close_write());
        assert!(!s.write_closed());
        assert!(!s.can_write());
        assert!(!s.close_write(), "a second close sends no second FIN");
        s.on_remote_flag(Flag::FinAck);
        assert!(s.write_closed());
    }

    #[test]
    fn fin_ack_timeout_closes_the_write_half() {
        let mut s = StreamState::new();
        s.close_write();
        s.on_fin_ack_timeout();
        assert!(s.write_closed());
    }

    #[test]
    fn unsolicited_fin_ack_changes_nothing() {
        let mut s = StreamState::new();
        assert_eq!(s.on_remote_flag(Flag::FinAck), None);
        assert!(s.can_write());
    }

    #[test]
    fn channel_closes_after_both_directions_finish_in_either_order() {
        let mut a = StreamState::new();
        a.close_write();
        assert!(!a.channel_can_close());
        a.on_remote_flag(Flag::FinAck);
        assert!(!a.channel_can_close());
        a.on_remote_flag(Flag::Fin);
        assert!(a.channel_can_close());

        let mut b = StreamState::new();
        b.on_remote_flag(Flag::Fin);
        b.close_write();
        assert!(!b.channel_can_close());
        b.on_remote_flag(Flag::FinAck);
        assert!(b.channel_can_close());
    }

    #[test]
    fn stop_sending_fails_writes_without_reset_reply() {
        let mut s = StreamState::new();
        assert_eq!(s.on_remote_flag(Flag::StopSending), None);
        assert!(!s.can_write());
        assert!(
            s.accepts_data(),
            "flags keep being processed after STOP_SENDING"
        );
        assert!(s.close_write(), "FIN is still sent after STOP_SENDING");
    }

    #[test]
    fn remote_reset_ends_both_directions() {
        let mut s = StreamState::new();
        s.on_remote_flag(Flag::ResetStream);
        assert_eq!(s.read(), ReadHalf::Reset);
        assert_eq!(s.write(), WriteHalf::Reset);
        assert!(s.channel_can_close());
        assert_eq!(
            s.on_remote_flag(Flag::Fin),
            None,
            "no FIN_ACK after a reset"
        );
    }

    #[test]
    fn local_reset_is_sent_only_for_unfinished_streams() {
        let mut open = StreamState::new();
        assert!(open.reset());
        assert!(!open.reset(), "reset twice sends once");

        let mut done = StreamState::new();
        done.close_write();
        done.on_remote_flag(Flag::FinAck);
        done.on_remote_flag(Flag::Fin);
        assert!(!done.reset());
    }

    #[test]
    fn stop_reading_drops_later_data_but_still_sees_fin() {
        let mut s = StreamState::new();
        assert!(s.stop_reading());
        assert!(!s.accepts_data());
        assert_eq!(s.on_remote_flag(Flag::Fin), Some(Flag::FinAck));
        assert_eq!(s.read(), ReadHalf::Finished);
    }
}
