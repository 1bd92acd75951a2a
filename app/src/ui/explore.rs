//! Explore: every file shared in every room the user is in, searchable by name, filterable by
//! room and type, sortable by date and size, greyed out where no holder is online; with "On
//! this device" (the files held here, the space they take, and Remove on each card).

use leptos::prelude::*;

use super::chat_view::FileCard;
use super::rooms::Rooms;
use super::route::Fragment;
use crate::model::chat::FileView;
use crate::model::explore::{Kind, Query, Sort, explore, space_here};

/// The Explore page.
#[component]
pub fn ExplorePage() -> impl IntoView {
    let rooms = Rooms::expect();
    let fragment = Fragment::expect();
    let query = RwSignal::new(Query::default());
    // Recomputed when the rooms (the list is redrawn on every change, presence included) or
    // what is on this device change.
    let all = Memo::new(move |_| {
        rooms.list.track();
        rooms.files.track();
        rooms.resources()
    });
    let shown = Memo::new(move |_| {
        let here = rooms.files.get();
        explore(all.get(), &query.get(), &here)
    });
    let room_names = Memo::new(move |_| {
        let mut names: Vec<(String, String)> = all
            .get()
            .into_iter()
            .map(|r| (r.room, r.room_name))
            .collect();
        names.sort_by(|a, b| {
            a.1.to_lowercase()
                .cmp(&b.1.to_lowercase())
                .then(a.0.cmp(&b.0))
        });
        names.dedup();
        names
    });
    let space = Memo::new(move |_| space_here(&all.get(), &rooms.files.get()));
    view! {
        <section class="explore" data-testid="explore" aria-labelledby="explore-title">
            <header class="chat-header">
                <h1 id="explore-title">"Files"</h1>
                <button type="button" class="link-button" data-testid="explore-close"
                    on:click=move |_| fragment.clear()>"Back to rooms"</button>
            </header>
            <div class="explore-controls">
                <label class="visually-hidden" for="explore-search">"Search files by name"</label>
                <input id="explore-search" type="search" data-testid="explore-search"
                    placeholder="Search by name"
                    prop:value=move || query.with(|q| q.text.clone())
                    on:input=move |ev| query.update(|q| q.text = event_target_value(&ev)) />
                <label class="visually-hidden" for="explore-room">"Room"</label>
                <select id="explore-room" data-testid="explore-room"
                    on:change=move |ev| {
                        let value = event_target_value(&ev);
                        query.update(|q| q.room = (!value.is_empty()).then_some(value));
                    }>
                    <option value="">"All rooms"</option>
                    <For each=move || room_names.get() key=|(id, _)| id.clone() let:room>
                        <option value=room.0.clone()>{room.1.clone()}</option>
                    </For>
                </select>
                <label class="visually-hidden" for="explore-kind">"Type"</label>
                <select id="explore-kind" data-testid="explore-kind"
                    on:change=move |ev| {
                        let kind = Kind::from_token(&event_target_value(&ev));
                        query.update(|q| q.kind = kind);
                    }>
                    <option value="">"All types"</option>
                    {Kind::ALL.into_iter().map(|k| view! { <option value=k.token()>{k.label()}</option> }).collect_view()}
                </select>
                <label class="visually-hidden" for="explore-sort">"Order"</label>
                <select id="explore-sort" data-testid="explore-sort"
                    on:change=move |ev| {
                        let sort = Sort::from_token(&event_target_value(&ev));
                        query.update(|q| q.sort = sort);
                    }>
                    {Sort::ALL.into_iter().map(|s| view! { <option value=s.token()>{s.label()}</option> }).collect_view()}
                </select>
                <label class="explore-here">
                    <input type="checkbox" data-testid="explore-here"
                        prop:checked=move || query.with(|q| q.here_only)
                        on:change=move |ev| query.update(|q| q.here_only = event_target_checked(&ev)) />
                    "On this device"
                </label>
            </div>
            <p class="hint explore-space" data-testid="explore-space">{move || space.get()}</p>
            <Show when=move || shown.with(Vec::is_empty)>
                <p class="empty-hint" data-testid="explore-empty">
                    {move || if all.with(Vec::is_empty) {
                        "No files shared yet. Share one with 📎 in a room."
                    } else {
                        "No file matches."
                    }}
                </p>
            </Show>
            <ul class="explore-list" data-testid="explore-list">
                <For each=move || shown.get()
                    key=|r| (r.room.clone(), r.blob.clone(), r.online, r.holders.len())
                    let:resource>
                    <li class="resource" data-testid="resource" data-room=resource.room.clone()>
                        <span class="hint resource-where">
                            {format!("{} · shared by {}", resource.room_name, resource.author_name)}
                        </span>
                        <FileCard room=resource.room.clone() file=FileView {
                            blob: resource.blob.clone(),
                            name: resource.name.clone(),
                            mime: resource.mime.clone(),
                            size: resource.size,
                            holders: resource.holders.clone(),
                            online: resource.online,
                            thumbnail: resource.thumbnail.clone(),
                        } />
                    </li>
                </For>
            </ul>
        </section>
    }
}
