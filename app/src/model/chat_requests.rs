//! 1:1 chats from people the user shares no room with wait as requests.
//!
//! Anyone who learns a user's id (a former member of one of her rooms, someone she gave it to,
//! anyone who watched the relay) can open a 1:1 chat with her device. A chat from someone she
//! shares a room with is taken at once, as before; from anyone else it is a request: the device
//! reads the sender's first pages (to show the name they chose) and writes and stores nothing
//! until the user accepts. Ignoring drops it, and later streams from that sender are dropped
//! without asking again (the driver keeps the ignored senders across restarts). At most
//! [`MAX_CHAT_REQUESTS`] wait at once; more are dropped, with a line in the inspector.
//!
//! Plain Rust; the controller keeps one [`ChatRequests`] and the network driver asks it before
//! it reads a stranger's stream. `S` is what the driver keeps with a request (the room session
//! holding the sender's pages); tests use `()`.

use std::collections::BTreeMap;

use quire_core::identity::UserId;

/// Requests that may wait at once. Why: each holds a few of the sender's pages in memory and a
/// row on the screen; a user asked by more strangers than this at once is being flooded, and
/// the rest can ask again later.
pub const MAX_CHAT_REQUESTS: usize = 8;

/// Senders the user ignored that are remembered. Why: bounds memory under a flood of fresh ids
/// (an id costs nothing to make); the oldest ignored sender is forgotten first.
pub const MAX_IGNORED: usize = 256;

/// What to do with a stream from a stranger, before reading it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Asked {
    /// Read the sender's first pages and list the request (or, if it is listed without the
    /// sender's name, read them again: the name may have been written since).
    Read,
    /// It is listed already, with its name: nothing more to do.
    Waiting,
    /// The user ignored this sender: drop it quietly.
    Ignored,
    /// [`MAX_CHAT_REQUESTS`] wait already: drop it and say so in the inspector.
    Full,
}

/// One waiting request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChatRequest<S> {
    /// Who asks.
    pub from: UserId,
    /// The name the sender gave itself in the chat (its profile page), if it arrived.
    pub name: Option<String>,
    /// When it was listed (ms since the Unix epoch): the list's order.
    pub at_ms: u64,
    /// The driver's part (the session holding the sender's pages).
    pub state: S,
}

/// The waiting requests and the ignored senders.
#[derive(Debug, Clone)]
pub struct ChatRequests<S> {
    waiting: BTreeMap<UserId, ChatRequest<S>>,
    /// Ignored senders, each with a counter value so the oldest goes first.
    ignored: BTreeMap<UserId, u64>,
    ignores: u64,
}

impl<S> Default for ChatRequests<S> {
    fn default() -> Self {
        Self {
            waiting: BTreeMap::new(),
            ignored: BTreeMap::new(),
            ignores: 0,
        }
    }
}

impl<S> ChatRequests<S> {
    /// What to do with a stream from `from`, a stranger.
    pub fn ask(&self, from: &UserId) -> Asked {
        if self.ignored.contains_key(from) {
            Asked::Ignored
        } else if let Some(listed) = self.waiting.get(from) {
            if listed.name.is_some() {
                Asked::Waiting
            } else {
                Asked::Read
            }
        } else if self.waiting.len() >= MAX_CHAT_REQUESTS {
            Asked::Full
        } else {
            Asked::Read
        }
    }

    /// Lists a request after its first pages were read. Returns whether it was listed (not if
    /// [`Self::ask`] would now say otherwise, e.g. another stream from the sender got in first).
    /// A request listed without a name is replaced by a later read that found it, keeping its
    /// place in the list.
    pub fn add(&mut self, request: ChatRequest<S>) -> bool {
        if self.ask(&request.from) != Asked::Read {
            return false;
        }
        match self.waiting.get_mut(&request.from) {
            Some(_) if request.name.is_none() => false,
            Some(listed) => {
                let at_ms = listed.at_ms;
                *listed = ChatRequest { at_ms, ..request };
                true
            }
            None => {
                self.waiting.insert(request.from, request);
                true
            }
        }
    }

    /// The user accepted: the request leaves the list, for the driver to take the chat.
    pub fn accept(&mut self, from: &UserId) -> Option<ChatRequest<S>> {
        self.waiting.remove(from)
    }

    /// The user ignored `from`: its request is dropped and later ones are too. Returns
    /// whether a request was waiting.
    pub fn ignore(&mut self, from: &UserId) -> bool {
        let was = self.waiting.remove(from).is_some();
        self.ignores += 1;
        self.ignored.insert(*from, self.ignores);
        if self.ignored.len() > MAX_IGNORED
            && let Some(oldest) = self
                .ignored
                .iter()
                .min_by_key(|(_, at)| **at)
                .map(|(user, _)| *user)
        {
            self.ignored.remove(&oldest);
        }
        was
    }

    /// The user opened a chat with `user` herself: a request from them is no longer one, and
    /// an earlier "ignore" no longer holds.
    pub fn forget(&mut self, user: &UserId) -> Option<ChatRequest<S>> {
        self.ignored.remove(user);
        self.waiting.remove(user)
    }

    /// Ignored senders, oldest first: what the driver keeps across restarts.
    pub fn ignored(&self) -> Vec<UserId> {
        let mut list: Vec<_> = self.ignored.iter().collect();
        list.sort_by_key(|(_, at)| **at);
        list.into_iter().map(|(user, _)| *user).collect()
    }

    /// Requests kept with no state yet, ignoring `senders` (as [`Self::ignored`] listed them).
    pub fn with_ignored(senders: impl IntoIterator<Item = UserId>) -> Self {
        let mut requests = Self::default();
        for sender in senders {
            requests.ignore(&sender);
        }
        requests
    }

    /// The ignored senders as the driver stores them: user keys, one per line, oldest first.
    pub fn ignored_text(&self) -> String {
        self.ignored()
            .iter()
            .map(crate::model::ids::user_key)
            .collect::<Vec<_>>()
            .join("\n")
    }

    /// Requests with no state yet, ignoring the senders of `text` ([`Self::ignored_text`]); a
    /// line that is not a user key is skipped.
    pub fn from_ignored_text(text: &str) -> Self {
        Self::with_ignored(
            text.lines()
                .filter_map(|line| crate::model::ids::parse_user_key(line).ok()),
        )
    }

    /// The waiting requests, oldest first.
    pub fn waiting(&self) -> Vec<&ChatRequest<S>> {
        let mut list: Vec<_> = self.waiting.values().collect();
        list.sort_by_key(|r| (r.at_ms, r.from));
        list
    }

    pub fn len(&self) -> usize {
        self.waiting.len()
    }

    pub fn is_empty(&self) -> bool {
        self.waiting.is_empty()
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use quire_core::identity::{Identity, UserId};

    use super::*;

    fn user(n: u8) -> UserId {
        Identity::from_secret_bytes([n; 32]).unwrap().user_id()
    }

    fn request(n: u8, at_ms: u64) -> ChatRequest<()> {
        ChatRequest {
            from: user(n),
            name: Some(format!("User {n}")),
            at_ms,
            state: (),
        }
    }

    #[test]
    fn a_stranger_is_read_listed_once_and_accepted_out_of_the_list() {
        let mut requests = ChatRequests::default();
        assert_eq!(requests.ask(&user(1)), Asked::Read);
        assert!(requests.add(request(1, 10)));
        assert_eq!(requests.ask(&user(1)), Asked::Waiting);
        assert!(!requests.add(request(1, 20)), "listed once");
        assert_eq!(requests.waiting()[0].at_ms, 10);
        let taken = requests.accept(&user(1)).unwrap();
        assert_eq!(taken.name.as_deref(), Some("User 1"));
        assert!(requests.is_empty());
        assert_eq!(requests.ask(&user(1)), Asked::Read);
    }

    #[test]
    fn a_request_listed_before_its_name_arrived_is_read_again_and_named() {
        let mut requests = ChatRequests::default();
        let nameless = ChatRequest {
            name: None,
            ..request(1, 10)
        };
        assert!(requests.add(nameless.clone()));
        assert_eq!(
            requests.ask(&user(1)),
            Asked::Read,
            "read again for the name"
        );
        assert!(!requests.add(nameless), "still no name: nothing changes");
        assert!(requests.add(request(1, 20)));
        assert_eq!(requests.waiting().len(), 1);
        assert_eq!(requests.waiting()[0].name.as_deref(), Some("User 1"));
        assert_eq!(requests.waiting()[0].at_ms, 10, "it keeps its place");
        assert_eq!(requests.ask(&user(1)), Asked::Waiting);
    }

    #[test]
    fn the_list_is_capped_and_the_oldest_comes_first() {
        let mut requests = ChatRequests::default();
        for n in 0..MAX_CHAT_REQUESTS as u8 {
            assert!(requests.add(request(n + 1, 100 - u64::from(n))));
        }
        let extra = user(200);
        assert_eq!(requests.ask(&extra), Asked::Full);
        assert!(!requests.add(request(200, 1)));
        assert_eq!(requests.len(), MAX_CHAT_REQUESTS);
        let order: Vec<u64> = requests.waiting().iter().map(|r| r.at_ms).collect();
        assert!(order.windows(2).all(|w| w[0] <= w[1]), "{order:?}");
        // One leaves: room for the next.
        requests.ignore(&user(1));
        assert_eq!(requests.ask(&extra), Asked::Read);
    }

    #[test]
    fn an_ignored_sender_is_not_asked_again_until_the_user_opens_a_chat_with_them() {
        let mut requests = ChatRequests::default();
        assert!(requests.add(request(1, 10)));
        assert!(requests.ignore(&user(1)));
        assert!(requests.is_empty());
        assert_eq!(requests.ask(&user(1)), Asked::Ignored);
        assert!(!requests.add(request(1, 20)));
        assert!(requests.forget(&user(1)).is_none());
        assert_eq!(requests.ask(&user(1)), Asked::Read);
    }

    #[test]
    fn ignored_senders_come_back_from_their_list_in_order() {
        let mut requests: ChatRequests<()> = ChatRequests::default();
        for n in [3, 1, 2] {
            requests.ignore(&user(n));
        }
        assert_eq!(requests.ignored(), vec![user(3), user(1), user(2)]);
        let again: ChatRequests<()> = ChatRequests::with_ignored(requests.ignored());
        assert_eq!(again.ignored(), requests.ignored());
        assert_eq!(again.ask(&user(1)), Asked::Ignored);
    }

    #[test]
    fn ignored_senders_survive_their_stored_text_and_a_damaged_line_costs_only_itself() {
        let mut requests: ChatRequests<()> = ChatRequests::default();
        for n in [3, 1] {
            requests.ignore(&user(n));
        }
        let text = format!("{}\nnot a key", requests.ignored_text());
        let again: ChatRequests<()> = ChatRequests::from_ignored_text(&text);
        assert_eq!(again.ignored(), vec![user(3), user(1)]);
        assert_eq!(again.ask(&user(3)), Asked::Ignored);
        assert_eq!(again.ask(&user(2)), Asked::Read);
    }

    #[test]
    fn ignored_senders_are_bounded_oldest_forgotten_first() {
        let mut requests: ChatRequests<()> = ChatRequests::default();
        let first = Identity::from_secret_bytes([0; 32]).unwrap().user_id();
        requests.ignore(&first);
        for n in 0..MAX_IGNORED as u32 {
            let mut seed = [7u8; 32];
            seed[..4].copy_from_slice(&n.to_le_bytes());
            requests.ignore(&Identity::from_secret_bytes(seed).unwrap().user_id());
        }
        assert_eq!(requests.ignored.len(), MAX_IGNORED);
        assert_eq!(
            requests.ask(&first),
            Asked::Read,
            "the oldest was forgotten"
        );
    }
}
