//! The screen for a valid invite link: which room it is for, and the choice to join or not.
//!
//! Nothing happens until the user chooses: opening a link alone never sends a request (links
//! get opened by previews and by mistake). The button says what will happen: "Join" for links
//! that admit on their own, "Ask to join" when an owner must approve.

use leptos::prelude::*;
use quire_core::invite::Invite;

/// Offers to join the invite's room. `ready` is false while Quire is still starting (the
/// button waits); `already_in` says the room is already on this device.
#[component]
pub fn JoinScreen(
    invite: Invite,
    #[prop(into)] ready: Signal<bool>,
    #[prop(into)] already_in: Signal<bool>,
    on_join: Callback<()>,
    on_cancel: Callback<()>,
) -> impl IntoView {
    let action = if invite.auto_admit {
        "Join"
    } else {
        "Ask to join"
    };
    let explanation = if invite.auto_admit {
        "This link lets you in directly once the person who sent it is online. You will receive \
         the room's whole history."
    } else {
        "An owner of the room approves new members. Once you are let in you will receive the \
         room's whole history."
    };
    view! {
        <div class="join-screen empty-state" data-testid="join-screen">
            <p class="hint">"You are invited to"</p>
            <h1 data-testid="join-room-name">{invite.room_name.clone()}</h1>
            <p>{explanation}</p>
            <Show when=move || already_in.get()>
                <p class="hint" data-testid="join-already-in">"This room is already on this device."</p>
            </Show>
            <div class="dialog-buttons">
                <button type="button" data-testid="join-cancel" on:click=move |_| on_cancel.run(())>
                    "Not now"
                </button>
                <button type="button" class="primary" data-testid="join-submit"
                    disabled=move || !ready.get()
                    on:click=move |_| on_join.run(())>
                    {move || if already_in.get() { "Open the room" } else { action }}
                </button>
            </div>
        </div>
    }
}
