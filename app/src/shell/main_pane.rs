//! The main pane: the open room, or a placeholder when none is selected.

use leptos::prelude::*;

/// Right column. Shows what to do next until the messenger views put a room here.
#[component]
pub fn MainPane() -> impl IntoView {
    view! {
        <main class="main-pane" data-testid="main-pane" aria-labelledby="main-pane-title">
            <div class="empty-state">
                <h1 id="main-pane-title">"No room open"</h1>
                <p>"Choose a room in the sidebar, or open an invite link a friend sent you."</p>
            </div>
        </main>
    }
}
