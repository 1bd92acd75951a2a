//! The banner for the last thing that could not be done (`Rooms.notice`), e.g. "Only owners
//! can remove members". It stays until dismissed or replaced: a message that vanishes on its
//! own may never be read.

use leptos::prelude::*;

use super::rooms::Rooms;

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
