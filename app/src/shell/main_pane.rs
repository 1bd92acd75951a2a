//! The main pane: what the address-bar fragment asks for (an invite, the inspector), otherwise
//! the open room.

use leptos::prelude::*;

use crate::model::ids::room_key;
use crate::model::room_view::InspectorSnapshot;
use crate::ui::{
    BadInviteScreen, CopiesBanner, ExplorePage, Fragment, IdentityStatus, ImageViewer,
    InspectorPage, JoinScreen, Messenger, NoticeBanner, RoomScreen, Rooms, Screen,
    StorageHealthBanner,
};

/// Right column.
#[component]
pub fn MainPane() -> impl IntoView {
    let fragment = Fragment::expect();
    let screen = fragment.screen();
    let on_dismiss = Callback::new(move |()| fragment.clear());
    move || match screen.get() {
        // The bad-invite screen is a whole main pane of its own (role=alert inside).
        Screen::BadInvite(problem) => {
            view! { <BadInviteScreen problem=problem on_dismiss=on_dismiss /> }.into_any()
        }
        other => view! {
            <main class="main-pane" data-testid="main-pane" aria-label="Conversation">
                <StorageHealthBanner />
                <CopiesBanner />
                <NoticeBanner />
                {match other {
                    Screen::Inspector => view! { <Inspector /> }.into_any(),
                    Screen::Explore => view! { <ExplorePage /> }.into_any(),
                    Screen::Join(invite) => view! { <Join invite=*invite /> }.into_any(),
                    Screen::Rooms | Screen::BadInvite(_) => view! { <RoomScreen /> }.into_any(),
                }}
                <ImageViewer />
            </main>
        }
        .into_any(),
    }
}

#[component]
fn Inspector() -> impl IntoView {
    let rooms = Rooms::expect();
    let fragment = Fragment::expect();
    let take = Callback::new(move |()| -> InspectorSnapshot { rooms.inspect() });
    let on_close = Callback::new(move |()| fragment.clear());
    view! { <InspectorPage take=take on_close=on_close /> }
}

/// The join screen for a valid invite. Joining (or declining) removes the invite from the
/// address bar, so the room secret does not stay in it.
#[component]
fn Join(invite: quire_core::invite::Invite) -> impl IntoView {
    let rooms = Rooms::expect();
    let messenger = Messenger::expect();
    let fragment = Fragment::expect();
    let id = room_key(&invite.room);
    let already_in = Signal::derive(move || rooms.list.with(|l| l.iter().any(|r| r.id == id)));
    let ready = Signal::derive(move || matches!(messenger.status.get(), IdentityStatus::Ready));
    let on_join = {
        let invite = invite.clone();
        Callback::new(move |()| {
            rooms.join(messenger, invite.clone());
            fragment.clear();
        })
    };
    let on_cancel = Callback::new(move |()| fragment.clear());
    view! {
        <JoinScreen invite=invite ready=ready already_in=already_in on_join=on_join
            on_cancel=on_cancel />
    }
}
