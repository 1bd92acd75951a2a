//! The application frame every screen lives in: a sidebar, a main pane and a status line,
//! preceded on a first visit by a screen that asks for a display name.

pub mod display_name;
mod main_pane;
mod sidebar;
pub mod state;
mod status_line;
mod welcome;

use leptos::prelude::*;

pub use display_name::{DisplayName, DisplayNameError, MAX_DISPLAY_NAME_CHARS};
pub use state::{ConnectionStatus, ShellState};

use main_pane::MainPane;
use sidebar::Sidebar;
use status_line::StatusLine;
use welcome::Welcome;

/// The root component: provides a fresh [`ShellState`] and renders the shell.
#[component]
pub fn App() -> impl IntoView {
    let state = ShellState::new();
    provide_context(state);
    view! { <Shell /> }
}

/// The frame around whatever is open. Uses the [`ShellState`] from context, so tests and later
/// modules can provide a prepared state.
#[component]
pub fn Shell() -> impl IntoView {
    let state = ShellState::expect();
    let toggle_sidebar = move |_| state.sidebar_open.update(|open| *open = !*open);

    view! {
        <div class="shell" data-testid="shell" class:sidebar-open=move || state.sidebar_open.get()>
            <Show
                when=move || state.display_name.with(Option::is_some)
                fallback=|| view! { <Welcome /> }
            >
                <header class="topbar">
                    <button
                        type="button"
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
                    <MainPane />
                </div>
            </Show>
            <StatusLine />
        </div>
    }
}
