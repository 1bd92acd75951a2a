//! The simulated network's queue, shared by every simulation: packets leave in order of
//! delivery time, and packets due at the same millisecond in the order they were sent, so a
//! run is a function of its seed.

use std::cmp::Reverse;
use std::collections::BinaryHeap;

/// One message in flight from `from` (a peer index, or whatever a simulation names senders
/// by) to peer `to`.
#[derive(Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct Packet<F> {
    /// Virtual time of delivery.
    pub(crate) at: u64,
    serial: u64,
    pub(crate) from: F,
    pub(crate) to: usize,
    pub(crate) bytes: Vec<u8>,
}

/// Packets in flight.
#[derive(Debug)]
pub(crate) struct Wire<F> {
    queue: BinaryHeap<Reverse<Packet<F>>>,
    serial: u64,
}

impl<F: Ord> Wire<F> {
    pub(crate) fn new() -> Self {
        Self {
            queue: BinaryHeap::new(),
            serial: 0,
        }
    }

    /// Puts `bytes` on the wire, to be delivered at `at`.
    pub(crate) fn send(&mut self, at: u64, from: F, to: usize, bytes: Vec<u8>) {
        self.serial += 1;
        self.queue.push(Reverse(Packet {
            at,
            serial: self.serial,
            from,
            to,
            bytes,
        }));
    }

    /// The next packet due at or before `until`, if any.
    pub(crate) fn next_due(&mut self, until: u64) -> Option<Packet<F>> {
        if self.queue.peek()?.0.at > until {
            return None;
        }
        self.queue.pop().map(|Reverse(packet)| packet)
    }

    /// The packet that will be delivered next, without taking it.
    pub(crate) fn peek(&self) -> Option<&Packet<F>> {
        self.queue.peek().map(|Reverse(packet)| packet)
    }
}
