//! The open room's header buttons (invite, members, rename, leave, delete) and the rename form.
//!
//! Buttons are shown only when the local user may use them (from [`RoomDetails`]); core and
//! the controller still refuse anything not allowed, and the notice banner says why.
//! - invite: members of a group room that is not deleted (1:1 chats take no one else);
//! - rename and delete: owners of a group room that is not deleted;
//! - leave: members (an owner may leave too; the room stays in their list, read-only).

use leptos::ev::SubmitEvent;
use leptos::html;
use leptos::prelude::*;

use super::new_room::parse_room_name;
use crate::model::RoomDetails;

/// What the local user may do in the open room.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RoomRights {
    pub invite: bool,
    pub rename: bool,
    pub leave: bool,
    pub delete: bool,
    /// Join requests waiting for an owner (counted on the members button for owners).
    pub requests_for_me: usize,
}

impl RoomRights {
    pub fn of(details: &RoomDetails) -> Self {
        let group_owner =
            details.i_own && details.i_am_member && !details.direct && !details.deleted;
        Self {
            invite: details.i_am_member && !details.direct && !details.deleted,
            rename: group_owner,
            leave: details.i_am_member && !details.deleted,
            delete: group_owner,
            requests_for_me: if details.i_own && details.i_am_member {
                details.join_requests.len()
            } else {
                0
            },
        }
    }
}

/// Which of the room's panels are open.
#[derive(Debug, Clone, Copy)]
pub struct RoomPanels {
    pub members: RwSignal<bool>,
    pub invite: RwSignal<bool>,
    pub renaming: RwSignal<bool>,
}

impl RoomPanels {
    pub fn new() -> Self {
        Self {
            members: RwSignal::new(false),
            invite: RwSignal::new(false),
            renaming: RwSignal::new(false),
        }
    }

    /// Closes the innermost open panel; false when none was open. (Escape.)
    pub fn close_one(self) -> bool {
        for panel in [self.renaming, self.invite, self.members] {
            if panel.get_untracked() {
                panel.set(false);
                return true;
            }
        }
        false
    }
}

impl Default for RoomPanels {
    fn default() -> Self {
        Self::new()
    }
}

/// The header's buttons. `on_leave` / `on_delete` ask first (the caller shows the dialog).
#[component]
pub fn RoomToolbar(
    #[prop(into)] rights: Signal<RoomRights>,
    panels: RoomPanels,
    on_leave: Callback<()>,
    on_delete: Callback<()>,
) -> impl IntoView {
    let toggle = |panel: RwSignal<bool>| move |_| panel.update(|open| *open = !*open);
    let requests = move || rights.get().requests_for_me;
    view! {
        <div class="room-toolbar">
            <Show when=move || rights.get().invite>
                <button type="button" data-testid="invite-button" aria-controls="invite-panel"
                    aria-expanded=move || panels.invite.get().to_string()
                    on:click=toggle(panels.invite)>
                    "Invite"
                </button>
            </Show>
            <button type="button" data-testid="members-button" aria-controls="members-panel"
                aria-expanded=move || panels.members.get().to_string()
                on:click=toggle(panels.members)>
                "Members"
                <Show when=move || { requests() > 0 }>
                    <span class="unread-badge" data-testid="join-request-count"
                        aria-label=move || match requests() {
                            1 => "1 person asking to join".to_owned(),
                            n => format!("{n} people asking to join"),
                        }>
                        {requests}
                    </span>
                </Show>
            </button>
            <div class="room-actions" data-testid="room-actions" role="group" aria-label="Room actions">
                <Show when=move || rights.get().rename>
                    <button type="button" data-testid="room-rename"
                        aria-expanded=move || panels.renaming.get().to_string()
                        on:click=toggle(panels.renaming)>
                        "Rename"
                    </button>
                </Show>
                <Show when=move || rights.get().leave>
                    <button type="button" data-testid="room-leave" on:click=move |_| on_leave.run(())>
                        "Leave"
                    </button>
                </Show>
                <Show when=move || rights.get().delete>
                    <button type="button" class="danger-text" data-testid="room-delete"
                        on:click=move |_| on_delete.run(())>
                        "Delete"
                    </button>
                </Show>
            </div>
        </div>
    }
}

/// The rename form, prefilled with the current name.
#[component]
pub fn RenameForm(
    current: String,
    on_rename: Callback<String>,
    on_close: Callback<()>,
) -> impl IntoView {
    let typed = RwSignal::new(current);
    let error = RwSignal::new(None::<String>);
    let input = NodeRef::<html::Input>::new();
    Effect::new(move |_| {
        if let Some(input) = input.get() {
            let _ = input.focus();
            input.select();
        }
    });
    let on_submit = move |ev: SubmitEvent| {
        ev.prevent_default();
        match parse_room_name(&typed.get_untracked()) {
            Ok(name) => {
                on_close.run(());
                on_rename.run(name);
            }
            Err(why) => error.set(Some(why.to_string())),
        }
    };
    let on_keydown = move |ev: leptos::ev::KeyboardEvent| {
        if ev.key() == "Escape" {
            ev.prevent_default();
            on_close.run(());
        }
    };
    view! {
        <form class="rename-form inline-form" data-testid="rename-form" on:submit=on_submit
            on:keydown=on_keydown novalidate>
            <label for="rename-input">"New name"</label>
            <input id="rename-input" type="text" data-testid="rename-input" node_ref=input
                autocomplete="off" aria-describedby="rename-error"
                prop:value=move || typed.get() on:input=move |ev| typed.set(event_target_value(&ev)) />
            <button type="submit" class="primary" data-testid="rename-submit">"Rename"</button>
            <button type="button" on:click=move |_| on_close.run(())>"Cancel"</button>
            <p id="rename-error" class="field-error" role="alert">{move || error.get()}</p>
        </form>
    }
}
