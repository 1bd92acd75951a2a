//! The banner for the last thing that could not be done (`Rooms.notice`), e.g. "Only owners
//! can remove members". It stays until dismissed or replaced: a message that vanishes on its
//! own may never be read.
//!
//! And the storage banner (`Rooms.health`): shown while storage is not keeping up, with Retry
//! (or Reload, when only a reload can help); it cannot be dismissed, it goes away when storage
//! works again.

use leptos::prelude::*;

use super::rooms::Rooms;
use crate::model::StorageHealth;
use crate::model::copies::{CopiesNotice, LiveCopies};

/// The banner, when there is something to say.
#[component]
pub fn NoticeBanner() -> impl IntoView {
    let rooms = Rooms::expect();
    view! { <Notice notice=rooms.notice /> }
}

/// Shows `notice` with a button that clears it.
#[component]
pub fn Notice(notice: RwSignal<Option<String>>) -> impl IntoView {
    move || {
        notice.get().map(|text| {
            view! {
                <div class="notice error banner" role="alert" data-testid="notice">
                    <span>{text}</span>
                    <button type="button" class="icon-button" aria-label="Dismiss"
                        data-testid="notice-dismiss" on:click=move |_| notice.set(None)>
                        <span aria-hidden="true">"×"</span>
                    </button>
                </div>
            }
        })
    }
}

/// The storage banner for the messenger's [`Rooms::health`].
#[component]
pub fn StorageHealthBanner() -> impl IntoView {
    let rooms = Rooms::expect();
    let on_retry = Callback::new(move |()| rooms.retry_storage());
    view! { <StorageHealthNotice health=rooms.health on_retry=on_retry /> }
}

/// Says what is wrong with storage while `health` is not healthy; Retry calls `on_retry`,
/// Reload reloads the page.
#[component]
pub fn StorageHealthNotice(
    #[prop(into)] health: Signal<StorageHealth>,
    on_retry: Callback<()>,
) -> impl IntoView {
    let shown = Memo::new(move |_| {
        health.with(|h| {
            h.message()
                .map(|text| (text, h.offers_retry(), h.needs_reload()))
        })
    });
    move || {
        shown.get().map(|(text, retry, reload)| {
            let state = health.with_untracked(|h| match h {
                StorageHealth::Healthy => "healthy",
                StorageHealth::Retrying { .. } => "retrying",
                StorageHealth::Full { .. } => "full",
                StorageHealth::Closed => "closed",
                StorageHealth::Failed { .. } => "failed",
            });
            view! {
                <div class="notice error banner" role="alert" data-testid="storage-health"
                    data-state=state>
                    <span>{text}</span>
                    <Show when=move || retry>
                        <button type="button" data-testid="storage-retry"
                            on:click=move |_| on_retry.run(())>"Retry"</button>
                    </Show>
                    <Show when=move || reload>
                        <button type="button" data-testid="storage-reload"
                            on:click=move |_| reload_page()>"Reload"</button>
                    </Show>
                </div>
            }
        })
    }
}

/// The banner about the account's other live copies ([`Rooms::copies`]).
#[component]
pub fn CopiesBanner() -> impl IntoView {
    let rooms = Rooms::expect();
    let notice = Signal::derive(move || {
        rooms
            .copies
            .with(|c| c.as_ref().and_then(LiveCopies::notice))
    });
    let on_use_here = Callback::new(move |()| rooms.use_here());
    view! { <CopiesNoticeView notice=notice on_use_here=on_use_here /> }
}

/// Says that the account is open on another device, and which of the two writes; "Use here"
/// calls `on_use_here`. Not dismissable: it goes when the other copy does.
#[component]
pub fn CopiesNoticeView(
    #[prop(into)] notice: Signal<Option<CopiesNotice>>,
    on_use_here: Callback<()>,
) -> impl IntoView {
    move || {
        notice.get().map(|notice| {
            let state = match notice {
                CopiesNotice::OtherWrites => "other-writes",
                CopiesNotice::OtherStopped => "other-stopped",
                CopiesNotice::WriterGone => "writer-gone",
            };
            view! {
                <div class="notice banner" role="alert" data-testid="copies-notice"
                    data-state=state>
                    <span>{notice.text()}</span>
                    <Show when=move || notice.offers_use_here()>
                        <button type="button" data-testid="copies-use-here"
                            on:click=move |_| on_use_here.run(())>"Use here"</button>
                    </Show>
                </div>
            }
        })
    }
}

fn reload_page() {
    if let Some(window) = web_sys::window() {
        let _ = window.location().reload();
    }
}
