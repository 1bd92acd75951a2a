//! The open room: its messages in display order and the composer.

use leptos::prelude::*;

use super::composer::Composer;
use crate::model::{MessageView, RoomPane};

/// The main pane's content for [`RoomPane`]: nothing selected, loading, failed, or the room.
///
/// The open room is rendered once and updated in place (keyed rows), so a message arriving
/// never re-creates the composer and never loses what the user is typing.
#[component]
pub fn ChatView(#[prop(into)] pane: Signal<RoomPane>, on_send: Callback<String>) -> impl IntoView {
    let is_open = Memo::new(move |_| pane.with(|p| matches!(p, RoomPane::Open { .. })));
    let name = Memo::new(move |_| {
        pane.with(|p| match p {
            RoomPane::Open { name, .. } => name.clone(),
            _ => String::new(),
        })
    });
    let read_only = Memo::new(move |_| {
        pane.with(|p| {
            matches!(
                p,
                RoomPane::Open {
                    read_only: true,
                    ..
                }
            )
        })
    });
    let messages = Memo::new(move |_| {
        pane.with(|p| match p {
            RoomPane::Open { messages, .. } => messages.clone(),
            _ => Vec::new(),
        })
    });

    view! {
        <Show when=move || is_open.get() fallback=move || view! { <PaneStatus pane=pane /> }>
            <section class="chat" data-testid="chat" aria-label=move || name.get()>
                <header class="chat-header">
                    <h1 data-testid="room-title">{move || name.get()}</h1>
                    <Show when=move || read_only.get()>
                        <span class="hint" data-testid="read-only">"Read-only"</span>
                    </Show>
                </header>
                <Show when=move || messages.with(Vec::is_empty)>
                    <p class="empty-hint" data-testid="no-messages">"No messages yet. Say hello!"</p>
                </Show>
                <ol class="messages" data-testid="messages" aria-live="polite">
                    <For each=move || messages.get() key=|m| (m.key.clone(), m.delivery) let:message>
                        <MessageRow message=message />
                    </For>
                </ol>
                <Composer on_send=on_send disabled=Signal::derive(move || read_only.get()) />
            </section>
        </Show>
    }
}

/// Everything but an open room: nothing selected, loading, failed.
#[component]
fn PaneStatus(pane: Signal<RoomPane>) -> impl IntoView {
    move || match pane.get() {
        RoomPane::Loading => view! {
            <div class="empty-state" data-testid="room-loading" aria-busy="true">
                <p>"Opening the room…"</p>
            </div>
        }
        .into_any(),
        RoomPane::Failed(why) => view! {
            <div class="empty-state" data-testid="room-error" role="alert">
                <h1>"This room could not be opened"</h1>
                <p>{why}</p>
            </div>
        }
        .into_any(),
        RoomPane::Nothing | RoomPane::Open { .. } => view! {
            <div class="empty-state" data-testid="no-room">
                <h1>"No room open"</h1>
                <p>"Choose a room in the sidebar, or open an invite link a friend sent you."</p>
            </div>
        }
        .into_any(),
    }
}

#[component]
fn MessageRow(message: MessageView) -> impl IntoView {
    let delivery = message.delivery.map(|d| {
        view! { <span class="delivery" data-testid="delivery" data-delivery=d.token()>{d.label()}</span> }
    });
    view! {
        <li class="message" class:own=message.own data-testid="message" data-key=message.key.clone()>
            <span class="message-author" data-testid="message-author">{message.author_name.clone()}</span>
            <p class="message-text" data-testid="message-text">{message.text.clone()}</p>
            {delivery}
        </li>
    }
}
