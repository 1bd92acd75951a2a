//! The controller's part of 1:1 chat requests (`model::chat_requests`): a stream for the 1:1
//! room from someone the user shares no room with is read, not taken; the user accepts or
//! ignores it from the sidebar's Requests.

use leptos::prelude::*;
use quire_core::crypto::RoomSecret;
use quire_core::identity::UserId;

use super::Rooms;
use crate::model::RoomSession;
use crate::model::chat_requests::{Asked, ChatRequest};
use crate::model::ids::{parse_user_key, room_key, user_key};

/// What the network driver does with a peer's stream for a room this device does not hold.
#[cfg_attr(not(target_arch = "wasm32"), allow(dead_code))]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum DirectStream {
    /// The 1:1 room with someone the user shares a room with: taken (it is held now).
    Taken,
    /// The 1:1 room with a stranger: read the sender's first pages and list the request.
    Read,
    /// Not ours, or a request already waiting or ignored: drop the stream.
    Drop,
}

/// Local storage key of the ignored senders (this browser profile's, like its database).
const IGNORED_KEY: &str = "quire-ignored-chat-requests";

pub(super) fn local_storage() -> Option<web_sys::Storage> {
    web_sys::window().and_then(|w| w.local_storage().ok().flatten())
}

/// A waiting request as the sidebar shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChatRequestView {
    /// The sender's user key (the argument of accept and ignore).
    pub user: String,
    /// The name the sender gave itself, if its profile arrived.
    pub name: Option<String>,
}

/// What a request keeps until the user decides: the 1:1 room's session holding the sender's
/// pages (nothing stored) and its secret.
pub(crate) type Pending = (RoomSession, RoomSecret);

impl Rooms {
    /// Whether `peer` is a member of a group room this device holds.
    fn shares_a_room(self, peer: &UserId) -> bool {
        self.held.with_value(|held| {
            held.values().any(|h| {
                let state = h.session.replica().state();
                state.direct().is_none() && state.is_member(peer)
            })
        })
    }

    /// A peer opened a sync stream for `room`, which this device does not hold: the 1:1 room
    /// between us is taken at once from someone the user shares a room with, and is a request
    /// from anyone else.
    #[cfg_attr(not(target_arch = "wasm32"), allow(dead_code))]
    pub(crate) fn direct_stream(self, room: &str, peer: &UserId) -> DirectStream {
        let Some(me) = self.me() else {
            return DirectStream::Drop;
        };
        let direct = room_key(&quire_core::room::direct_room_id(&me.user_id(), peer));
        if direct != room || self.not_damaged(room).is_err() {
            return DirectStream::Drop;
        }
        if self.shares_a_room(peer) {
            return if self.take_direct(room, &me, peer) {
                DirectStream::Taken
            } else {
                DirectStream::Drop
            };
        }
        match self.requests.with_value(|r| r.ask(peer)) {
            Asked::Read => DirectStream::Read,
            Asked::Waiting | Asked::Ignored => DirectStream::Drop,
            Asked::Full => {
                self.report(
                    format!(
                        "Dropped a 1:1 chat request from {}: {} requests wait already",
                        user_key(peer),
                        crate::model::chat_requests::MAX_CHAT_REQUESTS
                    ),
                    false,
                );
                DirectStream::Drop
            }
        }
    }

    /// Lists the request of `from`, whose first pages `pending` holds.
    #[cfg_attr(not(target_arch = "wasm32"), allow(dead_code))]
    pub(crate) fn add_chat_request(self, from: UserId, pending: Pending, at_ms: u64) {
        let name = pending.0.names().get(&from).cloned();
        let request = ChatRequest {
            from,
            name,
            at_ms,
            state: pending,
        };
        if self.requests.try_update_value(|r| r.add(request)) == Some(true) {
            self.show_requests();
        }
    }

    /// The user accepts `user`'s request: the chat is taken as if the user shared a room with
    /// them (its pages stored, the user's profile written once the sender's heads are in) and
    /// the sender is reached for a live link.
    pub fn accept_chat(self, user: String) {
        let Ok(from) = parse_user_key(&user) else {
            return;
        };
        // Refused before it leaves the list, so the user can accept again once storage works.
        if let Err(why) = self.may_store() {
            return self
                .notice
                .set(Some(format!("Could not accept the chat: {why}")));
        }
        let Some(request) = self
            .requests
            .try_update_value(|r| r.accept(&from))
            .flatten()
        else {
            return;
        };
        self.show_requests();
        let (session, secret) = request.state;
        let id = room_key(&session.room());
        if self.held.with_value(|held| held.contains_key(&id)) {
            self.selected.set(Some(id));
            return;
        }
        let record = super::new_record(&id, &secret, String::new());
        self.adopt(id, session, record);
        #[cfg(target_arch = "wasm32")]
        if let Some(net) = self.net.get_value() {
            net.reach(&from);
        }
    }

    /// The user ignores `user`'s request: dropped, nothing was written or stored, and later
    /// streams from them are dropped too.
    pub fn ignore_chat(self, user: String) {
        let Ok(from) = parse_user_key(&user) else {
            return;
        };
        self.requests.update_value(|r| {
            r.ignore(&from);
        });
        self.keep_ignored();
        self.show_requests();
    }

    /// Reads the senders the user ignored before (kept in local storage: a list of user keys,
    /// one per line). Called once at start.
    pub(crate) fn load_ignored(self) {
        let Some(text) = local_storage().and_then(|s| s.get_item(IGNORED_KEY).ok().flatten())
        else {
            return;
        };
        self.requests
            .set_value(crate::model::chat_requests::ChatRequests::from_ignored_text(&text));
    }

    fn keep_ignored(self) {
        let text = self.requests.with_value(|r| r.ignored_text());
        if let Some(storage) = local_storage()
            && storage.set_item(IGNORED_KEY, &text).is_err()
        {
            self.report(
                "Could not keep the list of ignored chat requests".to_owned(),
                false,
            );
        }
    }

    /// The user opens a chat with `user` herself: a request from them, or an earlier ignore,
    /// no longer stands.
    pub(crate) fn forget_chat_request(self, user: &UserId) {
        let ignored = self.requests.with_value(|r| r.ask(user) == Asked::Ignored);
        if self
            .requests
            .try_update_value(|r| r.forget(user))
            .flatten()
            .is_some()
        {
            self.show_requests();
        }
        if ignored {
            self.keep_ignored();
        }
    }

    fn show_requests(self) {
        let list = self.requests.with_value(|r| {
            r.waiting()
                .into_iter()
                .map(|request| ChatRequestView {
                    user: user_key(&request.from),
                    name: request.name.clone(),
                })
                .collect()
        });
        self.chat_requests.set(list);
    }
}

/// Longest time spent reading a stranger's first pages. Why: the sender's create and profile
/// pages are two small pages, one round trip after the heads; a sender that takes longer is
/// listed with what arrived (its id, without a name).
#[cfg(target_arch = "wasm32")]
const READ_REQUEST_MS: u32 = 5_000;

/// Most frames read from a stranger's stream before listing it. Why: the exchange takes two or
/// three; a sender that keeps talking gets no more of this device's time.
#[cfg(target_arch = "wasm32")]
const READ_REQUEST_FRAMES: usize = 8;

/// Reads the first pages `from` offers over its stream for our 1:1 room (its name), within
/// [`READ_REQUEST_MS`], into a session that stores and writes nothing, closes the stream and
/// lists the request.
#[cfg(target_arch = "wasm32")]
pub(super) async fn read_chat_request(
    rooms: Rooms,
    from: UserId,
    mut stream: libp2p::Stream,
    first: Vec<u8>,
) {
    use futures::AsyncWriteExt as _;
    use quire_core::sync::SyncSession;

    use super::frame::{read_frame, write_frame};

    let Some(me) = rooms.me() else { return };
    let Ok((mut session, secret)) = RoomSession::taking_direct(&me, &from) else {
        return;
    };
    let at_ms = super::now_ms();
    let mut sync = SyncSession::new(session.replica(), from, at_ms);
    session.sync_bytes(&mut sync, &first, at_ms);
    {
        let exchange = async {
            for _ in 0..READ_REQUEST_FRAMES {
                while let Some(message) = sync.poll_transmit() {
                    if write_frame(&mut stream, &message.encode()).await.is_err() {
                        return;
                    }
                }
                if session.names().contains_key(&from) {
                    return;
                }
                match read_frame(&mut stream).await {
                    Ok(frame) => drop(session.sync_bytes(&mut sync, &frame, super::now_ms())),
                    Err(_) => return,
                }
            }
        };
        let deadline = gloo_timers::future::TimeoutFuture::new(READ_REQUEST_MS);
        futures::pin_mut!(exchange);
        futures::future::select(exchange, deadline).await;
    }
    let _ = stream.close().await;
    rooms.add_chat_request(from, (session, secret), at_ms);
}
