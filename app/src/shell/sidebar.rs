//! The sidebar: who I am, the rooms, creating a room, and the footer (identity backup,
//! inspector).

use leptos::prelude::*;

use super::state::ShellState;
use crate::model::ids::user_key;
use crate::ui::{
    ChatRequestList, DamagedRoomItems, DirectById, Fragment, IdentityBackup, Messenger, NewRoom,
    RoomListItems, Rooms,
};

/// Left column on wide screens, a drawer on narrow ones (closed again after picking a room).
#[component]
pub fn Sidebar() -> impl IntoView {
    let state = ShellState::expect();
    let messenger = Messenger::expect();
    let rooms = Rooms::expect();
    let fragment = Fragment::expect();
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
    // Picking a room leaves whatever the fragment showed (inspector, an unanswered invite).
    let on_select = Callback::new(move |id: String| {
        fragment.clear();
        rooms.select(id);
        state.sidebar_open.set(false);
    });
    let on_create = Callback::new(move |name: String| {
        fragment.clear();
        rooms.create_room(messenger, name);
        state.sidebar_open.set(false);
    });
    let my_id = Signal::derive(move || {
        messenger.status.track();
        messenger
            .identity()
            .map(|me| user_key(&me.user_id()))
            .unwrap_or_default()
    });
    let on_direct = Callback::new(move |id: String| {
        fragment.clear();
        rooms.open_direct(messenger, id);
        state.sidebar_open.set(false);
    });
    let open_explore = move |ev: leptos::ev::MouseEvent| {
        ev.prevent_default();
        fragment.open_explore();
        state.sidebar_open.set(false);
    };
    let open_inspector = move |ev: leptos::ev::MouseEvent| {
        ev.prevent_default();
        fragment.open_inspector();
        state.sidebar_open.set(false);
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
            <NewRoom on_create=on_create />
            <ChatRequestList />
            <h2 class="section-title" id="rooms-title">"Rooms"</h2>
            <ul class="room-list" data-testid="room-list" aria-labelledby="rooms-title">
                <RoomListItems rooms=rooms.list selected=rooms.selected on_select=on_select />
                <DamagedRoomItems rooms=rooms.damaged />
            </ul>
            <Show when=move || rooms.list.with(Vec::is_empty) && rooms.damaged.with(Vec::is_empty)>
                <p class="empty-hint" data-testid="room-list-empty">
                    "No rooms yet. Create one, or open an invite link a friend sent you."
                </p>
            </Show>
            <DirectById my_id=my_id on_open=on_direct />
            <a href="#/files" class="explore-link" data-testid="explore-link" on:click=open_explore>
                "📂 Files shared with you"
            </a>
            <footer class="sidebar-footer">
                <IdentityBackup />
                <a href="#/inspector" class="inspector-link" data-testid="inspector-link"
                    on:click=open_inspector>
                    "Inspector (for developers)"
                </a>
            </footer>
        </nav>
    }
}
