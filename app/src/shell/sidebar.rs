//! The sidebar: who I am, and the list of rooms (filled by the messenger views).

use leptos::prelude::*;

use super::state::ShellState;

/// Left column on wide screens, a drawer on narrow ones. The room list is empty until the
/// messenger views provide rooms; its container carries `data-testid="room-list"` for them.
#[component]
pub fn Sidebar() -> impl IntoView {
    let state = ShellState::expect();
    let name = move || {
        state
            .display_name
            .get()
            .map(|n| n.to_string())
            .unwrap_or_default()
    };
    let initials = move || {
        state
            .display_name
            .get()
            .map(|n| n.initials())
            .unwrap_or_default()
    };

    view! {
        <nav id="sidebar" class="sidebar" aria-label="Rooms" data-testid="sidebar">
            <div class="brand">
                <img src="/icons/quire.svg" alt="" width="28" height="28" />
                <span>"Quire"</span>
            </div>
            <div class="me" data-testid="me">
                <span class="avatar" aria-hidden="true">{initials}</span>
                <span class="me-name" data-testid="my-display-name">{name}</span>
            </div>
            <h2 class="section-title" id="rooms-title">"Rooms"</h2>
            <ul class="room-list" data-testid="room-list" aria-labelledby="rooms-title"></ul>
            <p class="empty-hint" data-testid="room-list-empty">
                "No rooms yet. Rooms you create or join appear here."
            </p>
        </nav>
    }
}
