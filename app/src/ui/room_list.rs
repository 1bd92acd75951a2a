//! The rooms in the sidebar, with unread badges.

use leptos::prelude::*;

use crate::model::{DamagedRoom, RoomSummary};

/// `<li>` rows for the sidebar's room list. `selected` holds the open room's id; clicking a row
/// (or Enter on it: rows are buttons) reports it to `on_select`.
#[component]
pub fn RoomListItems(
    #[prop(into)] rooms: Signal<Vec<RoomSummary>>,
    #[prop(into)] selected: Signal<Option<String>>,
    on_select: Callback<String>,
) -> impl IntoView {
    view! {
        <For
            each=move || rooms.get()
            // Unread count and preview are in the key so a changed room re-renders its row.
            key=|room| (room.id.clone(), room.unread, room.preview.clone(), room.name.clone())
            let:room
        >
            <RoomRow room=room selected=selected on_select=on_select />
        </For>
    }
}

#[component]
fn RoomRow(
    room: RoomSummary,
    selected: Signal<Option<String>>,
    on_select: Callback<String>,
) -> impl IntoView {
    let id = room.id.clone();
    let is_selected = {
        let id = id.clone();
        move || selected.with(|s| s.as_deref() == Some(id.as_str()))
    };
    let unread_label = match room.unread {
        0 => String::new(),
        1 => "1 unread message".to_owned(),
        n => format!("{n} unread messages"),
    };
    let badge = (room.unread > 0).then(|| {
        view! {
            <span class="unread-badge" data-testid="unread-count" aria-label=unread_label.clone()>
                {room.unread.min(99).to_string()}{(room.unread > 99).then_some("+")}
            </span>
        }
    });
    let room_attr = id.clone();
    view! {
        <li class="room-item" data-testid="room-item" data-room=room_attr class:read-only=room.read_only>
            <button
                type="button"
                class="room-button"
                aria-current=move || if is_selected() { "page" } else { "false" }
                on:click=move |_| on_select.run(id.clone())
            >
                <span class="room-name" data-testid="room-name">{room.name.clone()}</span>
                <span class="room-preview">{room.preview.clone()}</span>
                {badge}
            </button>
        </li>
    }
}

/// `<li>` rows for rooms that could not be read from storage: listed so the user knows they
/// exist (nothing was deleted), but they cannot be opened.
#[component]
pub fn DamagedRoomItems(#[prop(into)] rooms: Signal<Vec<DamagedRoom>>) -> impl IntoView {
    view! {
        <For each=move || rooms.get() key=|room| room.id.clone() let:room>
            <li class="room-item damaged" data-testid="room-damaged" data-room=room.id.clone()>
                <div class="room-button" aria-disabled="true">
                    <span class="room-name" data-testid="room-name">{room.title().to_owned()}</span>
                    <span class="room-preview" data-testid="room-damaged-why">
                        {room.explanation()}
                    </span>
                </div>
            </li>
        </For>
    }
}
