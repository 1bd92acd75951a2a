//! What the address bar's fragment asks the main pane to show, and keeping it in a signal.
//!
//! The app has no path routes: everything lives in the fragment, which browsers never send to
//! a server (so any static server works, and an invite's secret stays in the browser).
//! - `#/join/<payload>`: an invite (see [`crate::model::invite_link`]);
//! - `#/inspector`: the developer inspector;
//! - `#/files`: Explore, every file shared in every room (and what is on this device);
//! - anything else: the rooms.
//!
//! Once an invite is answered (joined, cancelled, dismissed) the fragment is removed with
//! `history.replaceState`, so the room secret is neither left in the address bar nor in the
//! back/forward history.

use leptos::prelude::*;
use quire_core::invite::Invite;
use wasm_bindgen::JsValue;

use crate::model::InviteProblem;
use crate::model::invite_link::{LinkRoute, route};

/// The fragment of the inspector page.
pub const INSPECTOR_FRAGMENT: &str = "#/inspector";

/// The fragment of Explore.
pub const EXPLORE_FRAGMENT: &str = "#/files";

/// What the main pane shows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Screen {
    /// The open room (or the "no room" placeholder).
    Rooms,
    /// The developer inspector.
    Inspector,
    /// Explore: every shared file.
    Explore,
    /// A valid invite: offer to join.
    Join(Box<Invite>),
    /// An invite that cannot be used: explain, change nothing.
    BadInvite(InviteProblem),
}

/// Routes a fragment (with or without its `#`); invites are checked against `now_ms`.
pub fn screen_for(fragment: &str, now_ms: u64) -> Screen {
    let bare = fragment.trim_start_matches('#');
    if format!("#{bare}") == INSPECTOR_FRAGMENT {
        return Screen::Inspector;
    }
    if format!("#{bare}") == EXPLORE_FRAGMENT {
        return Screen::Explore;
    }
    match route(fragment, now_ms) {
        LinkRoute::Home => Screen::Rooms,
        LinkRoute::Join(invite) => Screen::Join(invite),
        LinkRoute::BadInvite(problem) => Screen::BadInvite(problem),
    }
}

/// The current fragment (with its `#`, or empty), kept in step with the address bar.
/// `Copy`; provided as context by [`Fragment::provide`].
#[derive(Debug, Clone, Copy)]
pub struct Fragment {
    pub current: RwSignal<String>,
}

impl Fragment {
    /// Reads the address bar now and on every `hashchange` (the listener is removed when the
    /// current owner is cleaned up), and provides the result as context.
    pub fn provide() -> Self {
        let fragment = Self {
            current: RwSignal::new(read_hash()),
        };
        let listener = window_event_listener(leptos::ev::hashchange, move |_| {
            fragment.current.set(read_hash())
        });
        on_cleanup(move || listener.remove());
        provide_context(fragment);
        fragment
    }

    pub fn expect() -> Self {
        expect_context::<Self>()
    }

    /// What the main pane shows for the current fragment. Invites are checked for expiry when
    /// the fragment changes, against the wall clock of that moment.
    pub fn screen(self) -> Memo<Screen> {
        Memo::new(move |_| self.current.with(|f| screen_for(f, now_ms())))
    }

    /// Goes to `#/inspector` (adds a history entry: Back returns to the rooms).
    pub fn open_inspector(self) {
        self.open(INSPECTOR_FRAGMENT);
    }

    /// Goes to Explore (adds a history entry: Back returns to the rooms).
    pub fn open_explore(self) {
        self.open(EXPLORE_FRAGMENT);
    }

    fn open(self, fragment: &str) {
        if let Some(location) = web_sys::window().map(|w| w.location()) {
            let _ = location.set_hash(fragment);
        }
        self.current.set(fragment.to_owned());
    }

    /// Removes the fragment from the address bar without a history entry and without
    /// reloading, then shows the rooms.
    pub fn clear(self) {
        if self.current.with_untracked(String::is_empty) {
            return;
        }
        if let Some(window) = web_sys::window() {
            let location = window.location();
            let path = format!(
                "{}{}",
                location.pathname().unwrap_or_default(),
                location.search().unwrap_or_default()
            );
            if let Ok(history) = window.history() {
                // replaceState never fires `hashchange`, hence the explicit set below.
                let _ = history.replace_state_with_url(&JsValue::NULL, "", Some(&path));
            }
        }
        self.current.set(String::new());
    }
}

fn read_hash() -> String {
    web_sys::window()
        .and_then(|w| w.location().hash().ok())
        .unwrap_or_default()
}

fn now_ms() -> u64 {
    // Date.now() is a non-negative integer number of ms since the epoch.
    js_sys::Date::now().max(0.0) as u64
}
