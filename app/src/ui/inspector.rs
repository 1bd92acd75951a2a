//! The inspector: a developer page showing what this device holds and how it is linked, to see
//! why something did not arrive. Reached at `#/inspector` (sidebar footer link).
//!
//! [`InspectorPage`] takes a fresh snapshot every [`REFRESH_EVERY_MS`] and stops when the page
//! is left; [`InspectorView`] renders one snapshot. Rows are keyed, so a refresh only touches
//! what changed, and which books are unfolded survives refreshes.

use std::collections::BTreeSet;

use leptos::prelude::*;

use crate::model::InspectorSnapshot;
use crate::model::files::DownloadRun;
use crate::model::room_view::{
    InspectedBook, InspectedLink, InspectedPage, InspectedRoom, InspectedSession, ago,
};

/// How often the page re-reads the state. Why: fast enough to watch sync happen, slow enough
/// that rebuilding the snapshot (every room's books) costs nothing noticeable.
pub const REFRESH_EVERY_MS: u32 = 1_000;

/// Shows `take()`'s snapshot, refreshed every [`REFRESH_EVERY_MS`] while mounted.
#[component]
pub fn InspectorPage(
    take: Callback<(), InspectorSnapshot>,
    on_close: Callback<()>,
) -> impl IntoView {
    let snapshot = RwSignal::new(take.run(()));
    let interval = set_interval_with_handle(
        move || snapshot.set(take.run(())),
        std::time::Duration::from_millis(u64::from(REFRESH_EVERY_MS)),
    );
    if let Ok(interval) = interval {
        on_cleanup(move || interval.clear());
    }
    view! {
        <div class="inspector-page">
            <header class="panel-header">
                <h1>"Inspector"</h1>
                <button type="button" data-testid="inspector-close" on:click=move |_| on_close.run(())>
                    "Back to my rooms"
                </button>
            </header>
            <InspectorView snapshot=snapshot />
        </div>
    }
}

/// One snapshot: who I am, rooms with their books and pages, links, downloads, recent errors.
#[component]
pub fn InspectorView(#[prop(into)] snapshot: Signal<InspectorSnapshot>) -> impl IntoView {
    // Unfolded books by "room/author"; survives the row being rebuilt when a book grows.
    let unfolded = RwSignal::new(BTreeSet::<String>::new());
    let rooms = Memo::new(move |_| snapshot.with(|s| s.rooms.clone()));
    let links = Memo::new(move |_| snapshot.with(|s| s.links.clone()));
    let errors = Memo::new(move |_| snapshot.with(|s| s.errors.clone()));
    let downloads = Memo::new(move |_| snapshot.with(|s| s.downloads.clone()));
    view! {
        <div class="inspector" data-testid="inspector">
            <dl class="inspector-me">
                <dt>"User"</dt>
                <dd class="mono" data-testid="inspector-me">{move || snapshot.with(|s| s.me.clone())}</dd>
                <dt>"Peer id"</dt>
                <dd class="mono">{move || snapshot.with(|s| s.peer_id.clone())}</dd>
                <dt>"Relay"</dt>
                <dd>{move || if snapshot.with(|s| s.relay_connected) { "connected" } else { "not connected" }}</dd>
            </dl>

            <section data-testid="inspector-rooms" aria-labelledby="inspector-rooms-title">
                <h2 id="inspector-rooms-title">"Rooms"</h2>
                <Show when=move || rooms.with(Vec::is_empty)>
                    <p class="hint">"No rooms on this device."</p>
                </Show>
                <For each=move || rooms.get() key=|r| format!("{r:?}") let:room>
                    <RoomSection room=room unfolded=unfolded />
                </For>
            </section>

            <section data-testid="inspector-links" aria-labelledby="inspector-links-title">
                <h2 id="inspector-links-title">"Links"</h2>
                <Show when=move || links.with(Vec::is_empty)>
                    <p class="hint">"No links to other devices."</p>
                </Show>
                <table class="inspector-table" hidden=move || links.with(Vec::is_empty)>
                    <thead><tr><th scope="col">"Peer"</th><th scope="col">"State"</th><th scope="col">"Addresses"</th></tr></thead>
                    <tbody>
                        <For each=move || links.get() key=|l| format!("{l:?}") let:link>
                            <LinkRow link=link />
                        </For>
                    </tbody>
                </table>
            </section>

            <section data-testid="inspector-downloads" aria-labelledby="inspector-downloads-title">
                <h2 id="inspector-downloads-title">"Downloads"</h2>
                <Show when=move || downloads.with(Vec::is_empty)>
                    <p class="hint">"No download since this tab opened."</p>
                </Show>
                <table class="inspector-table" hidden=move || downloads.with(Vec::is_empty)>
                    <thead><tr>
                        <th scope="col">"File"</th><th scope="col">"Pieces"</th>
                        <th scope="col">"Stored at start"</th><th scope="col">"Asked"</th>
                        <th scope="col">"Asked again for stored"</th><th scope="col">"Fetched"</th>
                        <th scope="col">"State"</th>
                    </tr></thead>
                    <tbody>
                        {move || downloads.get().into_iter().map(|run| view! { <DownloadRow run=run /> }).collect_view()}
                    </tbody>
                </table>
            </section>

            <section data-testid="inspector-errors" aria-labelledby="inspector-errors-title">
                <h2 id="inspector-errors-title">"Recent errors"</h2>
                <Show when=move || errors.with(Vec::is_empty)>
                    <p class="hint">"None."</p>
                </Show>
                <ol class="inspector-errors">
                    {move || {
                        let now = js_sys::Date::now();
                        errors.get().into_iter().map(|e| view! {
                            <li data-testid="inspector-error">
                                <span class="hint">{ago(now - e.at_ms)}</span>" "{e.what}
                            </li>
                        }).collect_view()
                    }}
                </ol>
            </section>
        </div>
    }
}

#[component]
fn RoomSection(room: InspectedRoom, unfolded: RwSignal<BTreeSet<String>>) -> impl IntoView {
    let InspectedRoom {
        id,
        name,
        books,
        sessions,
        pending,
    } = room;
    let books = books
        .into_iter()
        .map(|book| {
            let fold_key = format!("{id}/{}", book.author);
            view! { <BookRow book=book fold_key=fold_key unfolded=unfolded /> }
        })
        .collect_view();
    let sessions = sessions
        .into_iter()
        .map(|s| view! { <SessionRow session=s /> })
        .collect_view();
    let room_attr = id.clone();
    view! {
        <article class="inspector-room" data-testid="inspector-room" data-room=room_attr>
            <h3>{name}" "<span class="mono hint">{id}</span></h3>
            <p class="hint">{format!("{pending} page(s) waiting for what they depend on")}</p>
            <h4>"Books"</h4>
            <ul class="inspector-books">{books}</ul>
            <h4>"Sync sessions"</h4>
            <ul class="inspector-sessions">{sessions}</ul>
        </article>
    }
}

#[component]
fn BookRow(
    book: InspectedBook,
    fold_key: String,
    unfolded: RwSignal<BTreeSet<String>>,
) -> impl IntoView {
    let is_open = {
        let key = fold_key.clone();
        move || unfolded.with(|u| u.contains(&key))
    };
    let on_toggle = move |ev: leptos::ev::Event| {
        let open = event_target::<web_sys::Element>(&ev).has_attribute("open");
        unfolded.update(|u| {
            if open {
                u.insert(fold_key.clone());
            } else {
                u.remove(&fold_key);
            }
        });
    };
    let pages = book
        .pages
        .iter()
        .cloned()
        .map(|page| view! { <PageRow page=page /> })
        .collect_view();
    view! {
        <li class="inspector-book" data-testid="inspector-book" data-author=book.author.clone()
            data-length=book.length.to_string()
            data-forked-at=book.forked_at.map(|(seq, _)| seq.to_string())
            data-cut-at=book.cut_at.map(|seq| seq.to_string())>
            <details prop:open=is_open on:toggle=on_toggle>
                <summary>
                    <strong>{book.author_name.clone()}</strong>" "
                    <span class="mono hint">{book.author.clone()}</span>
                    {format!(" — {} page(s)", book.length)}
                    {book.forked_at.map(|(seq, settled)| view! {
                        <span class="field-error" data-testid="inspector-fork">
                            {format!(
                                " — forked at seq {seq}{}: its pages from there on are hidden",
                                if settled { "" } else { " or lower (still looking for the fork point)" },
                            )}
                        </span>
                    })}
                    {book.cut_at.map(|seq| view! {
                        <span class="hint" data-testid="inspector-cut">
                            {format!(" — no longer a member: pages from seq {seq} on do not count")}
                        </span>
                    })}
                </summary>
                <table class="inspector-table">
                    <thead><tr>
                        <th scope="col">"#"</th><th scope="col">"Kind"</th>
                        <th scope="col">"Author time"</th><th scope="col">"Counts"</th>
                        <th scope="col">"Body"</th>
                    </tr></thead>
                    <tbody>{pages}</tbody>
                </table>
            </details>
        </li>
    }
}

#[component]
fn PageRow(page: InspectedPage) -> impl IntoView {
    let time = js_sys::Date::new(&wasm_bindgen::JsValue::from_f64(page.timestamp_ms as f64))
        .to_iso_string()
        .as_string()
        .unwrap_or_default();
    view! {
        <tr class="inspector-page" data-testid="inspector-page" data-seq=page.seq.to_string()
            data-counts=page.counts.to_string() class:void=!page.counts>
            <td>{page.seq}</td>
            <td>{page.kind}</td>
            <td class="mono">{time}</td>
            <td>{if page.counts { "yes" } else { "void" }}</td>
            <td class="mono body">{page.body}</td>
        </tr>
    }
}

#[component]
fn SessionRow(session: InspectedSession) -> impl IntoView {
    let heads = session
        .peer_heads
        .iter()
        .map(|(author, len)| format!("{}…:{len}", author.get(..8).unwrap_or(author)))
        .collect::<Vec<_>>()
        .join(", ");
    view! {
        <li class="inspector-session" data-testid="inspector-session">
            <span class="mono">{session.peer}</span>" "{session.state}
            <span class="hint">" holds "{heads}</span>
        </li>
    }
}

#[component]
fn DownloadRow(run: DownloadRun) -> impl IntoView {
    let DownloadRun {
        name,
        total,
        stored_at_start,
        asked,
        asked_for_stored,
        fetched,
        complete,
        ..
    } = run;
    let name_attr = name.clone();
    view! {
        <tr data-testid="inspector-download" data-name=name_attr data-total=total.to_string()
            data-stored-at-start=stored_at_start.to_string() data-asked=asked.to_string()
            data-asked-for-stored=asked_for_stored.to_string() data-fetched=fetched.to_string()
            data-complete=complete.to_string()>
            <td>{name}</td>
            <td>{total}</td>
            <td>{stored_at_start}</td>
            <td>{asked}</td>
            <td>{asked_for_stored}</td>
            <td>{fetched}</td>
            <td>{if complete { "complete" } else { "not finished" }}</td>
        </tr>
    }
}

#[component]
fn LinkRow(link: InspectedLink) -> impl IntoView {
    let state_attr = link.state.clone();
    view! {
        <tr data-testid="inspector-link-row" data-state=state_attr>
            <td class="mono">{link.peer}</td>
            <td>{link.state}</td>
            <td class="mono">{link.addrs.join(" ")}</td>
        </tr>
    }
}
