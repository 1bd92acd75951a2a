//! Which live copies of each account are connected, and which one writes (pure; the driver in
//! the parent module feeds it stream arrivals, departures and take-overs, and sends the
//! reports it returns).

use std::collections::HashMap;
use std::hash::Hash;

use quire_core::copies::{Hello, InstanceId, Report};

/// One open `/quire/copies/1` stream (the relay numbers them).
pub(crate) type StreamSerial = u64;

/// Reports to send: each stream named gets its copy's view.
pub(crate) type Reports = Vec<(StreamSerial, Report)>;

/// Why a copy was not registered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub(crate) enum CopiesFull {
    #[error("too many live copies of this account")]
    PerAccount,
    #[error("too many live copies on this relay")]
    Total,
}

#[derive(Debug)]
struct Copy {
    instance: InstanceId,
    stream: StreamSerial,
}

#[derive(Debug, Default)]
struct Account {
    /// In order of arrival.
    copies: Vec<Copy>,
    /// The copy that writes, if any. Nobody is promoted when it leaves: the copies left behind
    /// may not hold its latest pages, so the user chooses ("Use here").
    writer: Option<InstanceId>,
}

impl Account {
    fn reports(&self) -> Reports {
        let others = u8::try_from(self.copies.len().saturating_sub(1)).unwrap_or(u8::MAX);
        self.copies
            .iter()
            .map(|c| {
                let writer = self.writer == Some(c.instance);
                (c.stream, Report { others, writer })
            })
            .collect()
    }
}

/// Every account with a live copy, keyed by peer id (one per identity).
#[derive(Debug)]
pub(crate) struct Registry<P> {
    accounts: HashMap<P, Account>,
    total: usize,
    max_per_account: usize,
    max_total: usize,
}

impl<P: Eq + Hash + Clone> Registry<P> {
    pub(crate) fn new(max_per_account: usize, max_total: usize) -> Self {
        Self {
            accounts: HashMap::new(),
            total: 0,
            max_per_account,
            max_total,
        }
    }

    /// A copy opened `stream` and said `hello`. The same instance on a new stream (a reconnect
    /// overlapping the old connection) replaces its old stream and keeps its place. A copy that
    /// says it writes becomes the writer only if no other copy is: the newer copy stops.
    pub(crate) fn join(
        &mut self,
        peer: &P,
        stream: StreamSerial,
        hello: Hello,
    ) -> Result<Reports, CopiesFull> {
        let known = self
            .accounts
            .get(peer)
            .is_some_and(|a| a.copies.iter().any(|c| c.instance == hello.instance));
        if !known {
            let held = self.accounts.get(peer).map_or(0, |a| a.copies.len());
            if held >= self.max_per_account {
                return Err(CopiesFull::PerAccount);
            }
            if self.total >= self.max_total {
                return Err(CopiesFull::Total);
            }
        }
        let account = self.accounts.entry(peer.clone()).or_default();
        match account
            .copies
            .iter_mut()
            .find(|c| c.instance == hello.instance)
        {
            Some(copy) => copy.stream = stream,
            None => {
                account.copies.push(Copy {
                    instance: hello.instance,
                    stream,
                });
                self.total += 1;
            }
        }
        if hello.writing && account.writer.is_none() {
            account.writer = Some(hello.instance);
        }
        Ok(account.reports())
    }

    /// `stream` closed. Nothing happens if a newer stream of the same copy replaced it.
    pub(crate) fn leave(&mut self, peer: &P, stream: StreamSerial) -> Reports {
        let Some(account) = self.accounts.get_mut(peer) else {
            return Vec::new();
        };
        let Some(at) = account.copies.iter().position(|c| c.stream == stream) else {
            return Vec::new();
        };
        let gone = account.copies.remove(at);
        self.total = self.total.saturating_sub(1);
        if account.writer == Some(gone.instance) {
            account.writer = None;
        }
        if account.copies.is_empty() {
            self.accounts.remove(peer);
            return Vec::new();
        }
        account.reports()
    }

    /// The copy on `stream` writes from now on; every other copy is told to stop.
    pub(crate) fn take_over(&mut self, peer: &P, stream: StreamSerial) -> Reports {
        let Some(account) = self.accounts.get_mut(peer) else {
            return Vec::new();
        };
        let Some(copy) = account.copies.iter().find(|c| c.stream == stream) else {
            return Vec::new();
        };
        account.writer = Some(copy.instance);
        account.reports()
    }

    /// Live copies on this relay, all accounts together.
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.total
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn hello(n: u8, writing: bool) -> Hello {
        Hello {
            instance: InstanceId([n; 16]),
            writing,
        }
    }

    fn report(others: u8, writer: bool) -> Report {
        Report { others, writer }
    }

    #[test]
    fn a_second_copy_is_told_to_stop_and_both_hear_of_each_other() {
        let mut reg = Registry::new(4, 100);
        assert_eq!(
            reg.join(&"ada", 1, hello(1, true)),
            Ok(vec![(1, report(0, true))])
        );
        // The restored copy starts writing too: it is the newer one, so it is the one to stop.
        assert_eq!(
            reg.join(&"ada", 2, hello(2, true)),
            Ok(vec![(1, report(1, true)), (2, report(1, false))])
        );
        // Another account is not involved.
        assert_eq!(
            reg.join(&"bob", 3, hello(3, true)),
            Ok(vec![(3, report(0, true))])
        );
    }

    #[test]
    fn use_here_moves_the_writer_and_a_departed_writer_is_not_replaced() {
        let mut reg = Registry::new(4, 100);
        reg.join(&"ada", 1, hello(1, true)).unwrap();
        reg.join(&"ada", 2, hello(2, true)).unwrap();
        assert_eq!(
            reg.take_over(&"ada", 2),
            vec![(1, report(1, false)), (2, report(1, true))]
        );
        // The writer goes away: the copy left behind may lack its last pages, so it is not
        // made the writer; its user chooses.
        assert_eq!(reg.leave(&"ada", 2), vec![(1, report(0, false))]);
        assert_eq!(reg.take_over(&"ada", 1), vec![(1, report(0, true))]);
        assert_eq!(reg.leave(&"ada", 1), vec![]);
        assert_eq!(reg.len(), 0);
    }

    #[test]
    fn a_reconnecting_copy_is_one_copy_and_its_old_stream_closing_changes_nothing() {
        let mut reg = Registry::new(4, 100);
        reg.join(&"ada", 1, hello(1, true)).unwrap();
        reg.join(&"ada", 2, hello(2, true)).unwrap();
        // Copy 1 reconnects (its old stream is still open on the relay's side).
        assert_eq!(
            reg.join(&"ada", 3, hello(1, true)),
            Ok(vec![(3, report(1, true)), (2, report(1, false))])
        );
        assert_eq!(reg.leave(&"ada", 1), vec![]);
        assert_eq!(reg.len(), 2);
        // After a relay restart the copies come back in any order; the one that was writing
        // still writes, the stopped one stays stopped.
        let mut restarted = Registry::new(4, 100);
        restarted.join(&"ada", 10, hello(2, false)).unwrap();
        assert_eq!(
            restarted.join(&"ada", 11, hello(1, true)),
            Ok(vec![(10, report(1, false)), (11, report(1, true))])
        );
    }

    #[test]
    fn copies_are_capped_per_account_and_in_total() {
        let mut reg = Registry::new(2, 3);
        reg.join(&"ada", 1, hello(1, true)).unwrap();
        reg.join(&"ada", 2, hello(2, true)).unwrap();
        assert_eq!(
            reg.join(&"ada", 3, hello(3, true)),
            Err(CopiesFull::PerAccount)
        );
        // A known copy on a new stream is no new copy.
        assert!(reg.join(&"ada", 4, hello(2, false)).is_ok());
        reg.join(&"bob", 5, hello(5, true)).unwrap();
        assert_eq!(reg.join(&"cy", 6, hello(6, true)), Err(CopiesFull::Total));
        assert_eq!(reg.len(), 3);
    }
}
