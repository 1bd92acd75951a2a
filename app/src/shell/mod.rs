//! The application frame every screen lives in: a sidebar, a main pane and a status line,
//! preceded by a loading screen while storage opens and, on a first visit, by a screen that
//! asks for a display name.

pub mod display_name;
mod loading;
mod main_pane;
mod sidebar;
pub mod state;
mod status_line;
mod welcome;

use leptos::prelude::*;

pub use display_name::{DisplayName, DisplayNameError, MAX_DISPLAY_NAME_CHARS};
pub use state::{ConnectionStatus, ShellState};

use crate::lease::TabLease;
use crate::model::lease::LeasePhase;
use crate::storage::DEFAULT_DB_NAME;
use crate::ui::{Fragment, IdentityStatus, Messenger, Rooms, provide_messenger_in};
use loading::{AppLoading, OpenElsewhere, StorageFailure};
use main_pane::MainPane;
use sidebar::Sidebar;
use status_line::StatusLine;
use welcome::Welcome;

/// The root component: Quire over the browser's `quire` database.
#[component]
pub fn App() -> impl IntoView {
    view! { <Quire database=DEFAULT_DB_NAME.to_owned() /> }
}

/// Quire over the IndexedDB database `database`: provides the [`ShellState`] (unless one was
/// provided already, as tests do to drive it), the messenger and the address-bar fragment,
/// then renders the [`Shell`]. The rooms controller is provided by the layout, once the
/// identity is ready (see [`Layout`]).
///
/// Only the tab that holds the profile's writer lease ([`TabLease`]) opens the messenger; the
/// others show [`OpenElsewhere`]. The messenger stays mounted while it hands over (it is storing
/// what it holds) and is unmounted, its tasks stopped, before the lease is released.
#[component]
pub fn Quire(database: String) -> impl IntoView {
    if use_context::<ShellState>().is_none() {
        provide_context(ShellState::new());
    }
    let lease = TabLease::provide(&database);
    let runs_here = Memo::new(move |_| {
        matches!(
            lease.phase.get(),
            LeasePhase::Holding | LeasePhase::Releasing
        )
    });
    let asking = Memo::new(move |_| lease.phase.get() == LeasePhase::Asking);
    move || {
        if runs_here.get() {
            let database = database.clone();
            view! { <Writer database /> }.into_any()
        } else if asking.get() {
            view! { <AppLoading /> }.into_any()
        } else {
            view! { <OpenElsewhere /> }.into_any()
        }
    }
}

/// The messenger of the tab that holds the lease, over `database`.
#[component]
fn Writer(database: String) -> impl IntoView {
    provide_messenger_in(&database);
    Fragment::provide();
    view! { <Shell /> }
}

/// Which screen the shell shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    /// Storage is opening, or the identity is being created and saved.
    Loading,
    /// Storage cannot be used.
    Failed,
    /// No name yet: the first-visit screen.
    Welcome,
    /// The messenger.
    Layout,
}

/// The frame around whatever is open. Uses the [`ShellState`], [`Messenger`], [`Rooms`] and
/// [`Fragment`] from context (see [`Quire`]).
#[component]
pub fn Shell() -> impl IntoView {
    let state = ShellState::expect();
    let messenger = Messenger::expect();
    let phase = Memo::new(move |_| {
        let named = state.display_name.with(Option::is_some);
        match messenger.status.get() {
            IdentityStatus::Opening => Phase::Loading,
            IdentityStatus::Failed(_) => Phase::Failed,
            IdentityStatus::Ready if named => Phase::Layout,
            // The name is picked; the identity is being saved (a blink).
            IdentityStatus::Registering if named => Phase::Loading,
            _ => Phase::Welcome,
        }
    });
    // Escape closes the drawer. Dialogs and panels handle Escape first (on the element or the
    // document) and mark it handled, so one press closes one thing.
    let escape = window_event_listener(leptos::ev::keydown, move |ev| {
        if ev.key() == "Escape" && !ev.default_prevented() && state.sidebar_open.get_untracked() {
            state.sidebar_open.set(false);
            focus_menu_button();
        }
    });
    on_cleanup(move || escape.remove());

    view! {
        <div class="shell" data-testid="shell" class:sidebar-open=move || state.sidebar_open.get()>
            {move || match phase.get() {
                Phase::Loading => view! { <AppLoading /> }.into_any(),
                Phase::Failed => view! { <StorageFailure /> }.into_any(),
                Phase::Welcome => view! { <Welcome /> }.into_any(),
                Phase::Layout => view! { <Layout /> }.into_any(),
            }}
            <StatusLine />
        </div>
    }
}

/// Sidebar and main pane, with the phone top bar that opens the sidebar drawer.
///
/// Shown only once the identity is ready, and the [`Rooms`] controller is provided here: the
/// rooms belong to an identity, so they are loaded (and the network started) under one that
/// exists, and nothing in the layout can act before it does.
#[component]
fn Layout() -> impl IntoView {
    Rooms::provide(Messenger::expect());
    let state = ShellState::expect();
    let toggle_sidebar = move |_| state.sidebar_open.update(|open| *open = !*open);
    // Keyboard users land inside the drawer when it opens (it overlays the page on phones).
    Effect::new(move |was_open: Option<bool>| {
        let open = state.sidebar_open.get();
        if open && was_open == Some(false) {
            // After the frame that shows the drawer: a hidden element cannot take focus.
            request_animation_frame(|| focus_selector("#sidebar .new-room-button"));
        }
        open
    });
    view! {
        <header class="topbar">
            <button
                type="button"
                id="menu-button"
                class="menu-button"
                data-testid="sidebar-toggle"
                aria-controls="sidebar"
                aria-expanded=move || state.sidebar_open.get().to_string()
                aria-label="Show rooms"
                on:click=toggle_sidebar
            >
                <span aria-hidden="true">"☰"</span>
            </button>
            <span class="topbar-title">"Quire"</span>
        </header>
        <div class="layout" data-testid="layout">
            <Sidebar />
            <div class="drawer-backdrop" aria-hidden="true"
                on:click=move |_| state.sidebar_open.set(false)></div>
            <MainPane />
        </div>
    }
}

fn focus_menu_button() {
    focus_selector("#menu-button");
}

fn focus_selector(selector: &str) {
    use wasm_bindgen::JsCast;
    if let Some(element) = web_sys::window()
        .and_then(|w| w.document())
        .and_then(|d| d.query_selector(selector).ok().flatten())
        .and_then(|e| e.dyn_into::<web_sys::HtmlElement>().ok())
    {
        let _ = element.focus();
    }
}
