//! The footer status line: network state, always visible.

use leptos::prelude::*;

use super::state::ShellState;

/// One line at the bottom of every screen saying whether this browser can reach anyone.
/// `role="status"` makes screen readers announce changes without stealing focus.
#[component]
pub fn StatusLine() -> impl IntoView {
    let state = ShellState::expect();
    view! {
        <footer class="status-line" role="status" data-testid="status-line">
            <span
                class="status-dot"
                aria-hidden="true"
                data-state=move || state.connection.get().token()
            ></span>
            <span data-testid="connection-status">{move || state.connection.get().describe()}</span>
            <span class="version">{concat!("Quire ", env!("CARGO_PKG_VERSION"))}</span>
        </footer>
    }
}
