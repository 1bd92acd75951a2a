//! The open room: its messages in display order and the composer.

use leptos::prelude::*;

use super::composer::{Composer, dropped_files};
use super::rooms::{FileAction, Rooms};
use crate::model::chat::FileView;
use crate::model::files::{CardState, human_size, percent, type_icon};
use crate::model::{MessageView, RoomPane};

/// Whoever reads the room has scrolled up this far (px from the bottom) at most and still
/// counts as "at the bottom": a new message then scrolls into view. Why: about two lines.
const STICK_TO_BOTTOM_PX: i32 = 48;

/// The main pane's content for [`RoomPane`]: nothing selected, loading, failed, or the room.
///
/// The open room is rendered once and updated in place (keyed rows), so a message arriving
/// never re-creates the composer and never loses what the user is typing.
///
/// `waiting` (asked to join, not let in yet) shows `waiting-approval` and disables the
/// composer; `joining` (an invite opened, nothing written yet) shows what the device waits for
/// as `join-pending` and disables it too. `paused` (storage cannot keep new messages) pauses sending with that reason,
/// keeping the draft. `my_name` is the author shown on the user's own messages. `toolbar` goes into the room header (room actions); `children` between the header
/// and the messages (panels such as the invite link).
#[component]
pub fn ChatView(
    #[prop(into)] pane: Signal<RoomPane>,
    on_send: Callback<String, Result<(), String>>,
    #[prop(optional, into)] waiting: MaybeProp<bool>,
    #[prop(optional, into)] joining: MaybeProp<String>,
    #[prop(optional, into)] toolbar: Option<ViewFn>,
    #[prop(optional)] children: Option<ChildrenFn>,
    #[prop(optional, into)] my_name: MaybeProp<String>,
    #[prop(optional, into)] paused: MaybeProp<String>,
    /// Files picked, pasted or dropped into the room (no sharing without it).
    #[prop(default = None)]
    on_attach: Option<Callback<Vec<web_sys::File>>>,
    /// The open room's draft, and where to keep what is typed (see [`Composer`]).
    #[prop(optional, into)]
    draft: MaybeProp<String>,
    #[prop(default = None)] on_draft: Option<Callback<String>>,
) -> impl IntoView {
    let approval = Memo::new(move |_| waiting.get().unwrap_or(false));
    let joining = Memo::new(move |_| joining.get());
    let waiting = Memo::new(move |_| approval.get() || joining.with(Option::is_some));
    let my_name = Memo::new(move |_| my_name.get());
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
    let forks = Memo::new(move |_| {
        pane.with(|p| match p {
            RoomPane::Open { forks, .. } => forks.clone(),
            _ => Vec::new(),
        })
    });

    let list = NodeRef::<leptos::html::Ol>::new();
    let at_bottom = StoredValue::new(true);
    let on_scroll = move |_| {
        if let Some(el) = list.get_untracked() {
            let gap = el.scroll_height() - el.scroll_top() - el.client_height();
            at_bottom.set_value(gap <= STICK_TO_BOTTOM_PX);
        }
    };
    // Follow new messages while the reader is at the bottom; leave them alone when they
    // scrolled up to read something older.
    Effect::new(move |_| {
        messages.track();
        if at_bottom.get_value()
            && let Some(el) = list.get()
        {
            request_animation_frame(move || el.set_scroll_top(el.scroll_height()));
        }
    });
    let toolbar = StoredValue::new(toolbar);
    let children = StoredValue::new(children);

    view! {
        <Show when=move || is_open.get() fallback=move || view! { <PaneStatus pane=pane /> }>
            <section class="chat" data-testid="chat" aria-label=move || name.get()
                on:dragover=move |ev| if on_attach.is_some() { ev.prevent_default() }
                on:drop=move |ev| {
                    let Some(attach) = on_attach else { return };
                    ev.prevent_default();
                    let files = dropped_files(&ev);
                    if !files.is_empty() && !read_only.get_untracked() && !waiting.get_untracked() {
                        attach.run(files);
                    }
                }>
                <header class="chat-header">
                    <h1 data-testid="room-title">{move || name.get()}</h1>
                    <Show when=move || read_only.get() && !waiting.get()>
                        <span class="hint read-only-badge" data-testid="read-only">"Read-only"</span>
                    </Show>
                    {move || toolbar.with_value(|t| t.as_ref().map(ViewFn::run))}
                </header>
                {move || children.with_value(|c| c.as_ref().map(|c| c()))}
                <Show when=move || joining.with(Option::is_some)>
                    <p class="notice waiting" aria-live="polite" data-testid="join-pending">
                        {move || joining.get()}
                    </p>
                </Show>
                <Show when=move || approval.get()>
                    <p class="notice waiting" aria-live="polite" data-testid="waiting-approval">
                        "Waiting for an owner to let you in. You will see the room's history as soon as they do."
                    </p>
                </Show>
                <For each=move || forks.get() key=|f| f.clone() let:fork>
                    <p class="notice fork-notice" role="status" data-testid="fork-notice">{fork}</p>
                </For>
                <Show when=move || messages.with(Vec::is_empty) && !waiting.get()>
                    <p class="empty-hint" data-testid="no-messages">"No messages yet. Say hello!"</p>
                </Show>
                <ol class="messages" data-testid="messages" aria-live="polite" aria-label="Messages"
                    node_ref=list on:scroll=on_scroll>
                    <For each=move || messages.get()
                        key=|m| (m.key.clone(), m.delivery, m.file.as_ref().map(|f| (f.online, f.holders.len())))
                        let:message>
                        <MessageRow message=message my_name=my_name />
                    </For>
                </ol>
                <SharingLine />
                <Composer
                    on_send=on_send
                    on_attach=on_attach
                    draft=draft
                    on_draft=on_draft
                    paused=paused
                    disabled=Signal::derive(move || read_only.get() || waiting.get())
                    disabled_reason=Signal::derive(move || Some(if joining.with(Option::is_some) {
                        "You can write once the room's members have answered"
                    } else if approval.get() {
                        "You can write once an owner lets you in"
                    } else {
                        "This room is read-only"
                    }))
                />
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
fn MessageRow(message: MessageView, my_name: Memo<Option<String>>) -> impl IntoView {
    let delivery = message.delivery.map(|d| {
        view! { <span class="delivery" data-testid="delivery" data-delivery=d.token()>{d.label()}</span> }
    });
    // Own messages carry the user's own name, like everyone else's: the same message reads
    // the same on every member's screen (shown to screen readers; the bubble side says it).
    let author = if message.own {
        my_name
            .get_untracked()
            .unwrap_or_else(|| message.author_name.clone())
    } else {
        message.author_name.clone()
    };
    let file = message
        .file
        .clone()
        .map(|file| view! { <FileCard file=file /> });
    let text = (!message.text.is_empty() || message.file.is_none()).then(|| {
        view! { <p class="message-text" data-testid="message-text">{message.text.clone()}</p> }
    });
    view! {
        <li class="message" class:own=message.own data-testid="message" data-key=message.key.clone()>
            <span class="message-author" class:visually-hidden=message.own
                data-testid="message-author">{author}</span>
            {file}
            {text}
            {delivery}
        </li>
    }
}

/// A shared file: what it is, who has it, and what this device can do with it. `room` is the
/// room whose page names it (the open room when not given).
#[component]
pub fn FileCard(file: FileView, #[prop(optional)] room: Option<String>) -> impl IntoView {
    let rooms = use_context::<Rooms>();
    let room = StoredValue::new(room);
    let room = move || {
        room.get_value()
            .or_else(|| rooms.and_then(|r| r.selected.get_untracked()))
            .unwrap_or_default()
    };
    let blob = file.blob.clone();
    let online = file.online;
    let state = Memo::new(move |_| match rooms {
        Some(rooms) => rooms.files.with(|f| f.card(&blob, online)),
        None => CardState::Available { online },
    });
    let holders = file.holders.len();
    let act = move |action: FileAction| {
        if let Some(rooms) = rooms {
            rooms.file_action(action);
        }
    };
    let blob = StoredValue::new(file.blob.clone());
    let mime = file.mime.clone();
    let token = move || match state.get() {
        CardState::Held => "held",
        CardState::Moving { .. } => "moving",
        CardState::Paused { .. } => "paused",
        CardState::Failed(_) => "failed",
        CardState::Available { online: 0 } => "unavailable",
        CardState::Available { .. } => "available",
    };
    view! {
        <div class="file-card" data-testid="file-card" data-blob=file.blob.clone() data-state=token
            class:unavailable=move || matches!(state.get(), CardState::Available { online: 0 })>
            {match file.thumbnail.clone() {
                Some(url) => view! {
                    <img class="file-thumb" src=url alt="" data-testid="file-thumbnail" />
                }.into_any(),
                None => view! {
                    <span class="file-icon" aria-hidden="true">{type_icon(&file.mime)}</span>
                }.into_any(),
            }}
            <span class="file-meta">
                <span class="file-name" data-testid="file-name">{file.name.clone()}</span>
                <span class="file-info" data-testid="file-info">
                    {format!("{} · {}", human_size(file.size), holder_text(holders, online))}
                </span>
            </span>
            {move || match state.get() {
                CardState::Held => view! {
                    <span class="file-buttons">
                        {viewable(&mime).then(|| view! {
                            <button type="button" data-testid="file-open"
                                on:click=move |_| act(FileAction::Open { room: room(), blob: blob.get_value() })>"Open"</button>
                        })}
                        <button type="button" data-testid="file-save"
                            on:click=move |_| act(FileAction::Save { room: room(), blob: blob.get_value() })>"Save"</button>
                        <button type="button" class="link-button" data-testid="file-remove"
                            title="Delete this device's copy (others who hold it keep theirs)"
                            on:click=move |_| act(FileAction::Remove { blob: blob.get_value() })>"Remove from this device"</button>
                    </span>
                }.into_any(),
                CardState::Moving { percent, label, downloading } => view! {
                    <span class="file-progress">
                        <progress max="100" value=percent data-testid="file-progress"></progress>
                        <span class="hint" data-testid="file-status">{format!("{label} · {percent} %")}</span>
                        {downloading.then(|| view! {
                            <span class="file-buttons">
                                <button type="button" class="link-button" data-testid="file-pause"
                                    on:click=move |_| act(FileAction::Pause { blob: blob.get_value() })>"Pause"</button>
                                <button type="button" class="link-button" data-testid="file-cancel"
                                    on:click=move |_| act(FileAction::Cancel { blob: blob.get_value() })>"Cancel"</button>
                            </span>
                        })}
                    </span>
                }.into_any(),
                CardState::Paused { percent } => view! {
                    <span class="file-progress">
                        <progress max="100" value=percent data-testid="file-progress"></progress>
                        <span class="hint" data-testid="file-status">{format!("Paused · {percent} %")}</span>
                        <span class="file-buttons">
                            <button type="button" data-testid="file-resume"
                                on:click=move |_| act(FileAction::Download { room: room(), blob: blob.get_value() })>"Resume"</button>
                            <button type="button" class="link-button" data-testid="file-cancel"
                                on:click=move |_| act(FileAction::Cancel { blob: blob.get_value() })>"Cancel"</button>
                        </span>
                    </span>
                }.into_any(),
                CardState::Failed(why) => view! {
                    <span class="file-progress">
                        <span class="field-error" role="alert" data-testid="file-error">{why}</span>
                        <button type="button" data-testid="file-download"
                            on:click=move |_| act(FileAction::Download { room: room(), blob: blob.get_value() })>"Try again"</button>
                    </span>
                }.into_any(),
                CardState::Available { online } => view! {
                    <button type="button" data-testid="file-download" disabled=online == 0
                        title=if online == 0 { "Nobody who has this file is online now" } else { "" }
                        on:click=move |_| act(FileAction::Download { room: room(), blob: blob.get_value() })>"Download"</button>
                }.into_any(),
            }}
        </div>
    }
}

/// Whether the browser shows files of this type itself (images in the viewer, PDFs and plain
/// text in a new tab); others are saved.
fn viewable(mime: &str) -> bool {
    mime.starts_with("image/") || mime == "application/pdf" || mime == "text/plain"
}

/// "held by 3 members, 2 online now".
fn holder_text(holders: usize, online: usize) -> String {
    match (holders, online) {
        (0, _) => "nobody holds it now".to_owned(),
        (1, 0) => "its holder is offline".to_owned(),
        (n, 0) => format!("all {n} holders offline"),
        (n, k) => format!("available from {k} of {n} now"),
    }
}

/// Files being shared from this device, with how far along each is.
#[component]
fn SharingLine() -> impl IntoView {
    let rooms = use_context::<Rooms>();
    let sharing = Memo::new(move |_| {
        rooms
            .map(|r| r.files.with(|f| f.sharing.clone()))
            .unwrap_or_default()
    });
    view! {
        <For each=move || sharing.get() key=|s| (s.id, s.done) let:item>
            <p class="sharing hint" role="status" data-testid="sharing">
                {format!(
                    "Sharing “{}”… {} %",
                    item.name,
                    percent(item.done, item.total)
                )}
            </p>
        </For>
    }
}
