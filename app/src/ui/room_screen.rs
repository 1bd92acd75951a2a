//! The open room as the main pane shows it: the chat with its header actions, the invite and
//! rename panels, the members panel, and the confirm dialog. Ties the views to [`Rooms`].

use leptos::prelude::*;

use super::chat_view::ChatView;
use super::confirm::{ConfirmDialog, ConfirmRequest, ConfirmSlot};
use super::identity_keeper::Messenger;
use super::invite::InvitePanel;
use super::members::{MemberActions, MembersPanel};
use super::room_actions::{RenameForm, RoomPanels, RoomRights, RoomToolbar};
use super::rooms::{FileAction, Rooms};
use crate::model::{RoomDetails, RoomPane};
use crate::shell::ShellState;

/// The open room (or the pane's "no room" / loading / error states).
#[component]
pub fn RoomScreen() -> impl IntoView {
    let rooms = Rooms::expect();
    let messenger = Messenger::expect();
    let shell = ShellState::expect();
    let my_name = Signal::derive(move || shell.display_name.get().map(|n| n.to_string()));
    let panels = RoomPanels::new();
    let confirm: ConfirmSlot = RwSignal::new(None);
    let details = Memo::new(move |_| rooms.details.get());
    let rights = Signal::derive(move || {
        details.with(|d| d.as_ref().map(RoomRights::of).unwrap_or_default())
    });
    let waiting = Signal::derive(move || {
        details.with(|d| d.as_ref().is_some_and(|d| d.waiting_for_approval))
    });
    let joining =
        Signal::derive(move || details.with(|d| d.as_ref().and_then(|d| d.joining.clone())));
    let is_open = Memo::new(move |_| rooms.pane.with(|p| matches!(p, RoomPane::Open { .. })));
    let room_name =
        move || details.with(|d| d.as_ref().map(|d| d.name.clone()).unwrap_or_default());

    // Another room: its invite and rename panels start closed (the members panel stays as the
    // user left it).
    Effect::new(move |_| {
        rooms.selected.track();
        panels.invite.set(false);
        panels.renaming.set(false);
    });
    // Escape closes the innermost panel (dialogs handle it themselves first).
    let escape = window_event_listener(leptos::ev::keydown, move |ev| {
        if ev.key() == "Escape"
            && !ev.default_prevented()
            && confirm.with_untracked(Option::is_none)
            && panels.close_one()
        {
            ev.prevent_default();
        }
    });
    on_cleanup(move || escape.remove());

    let on_send = Callback::new(move |text: String| rooms.send(messenger, text));
    let on_attach = Callback::new(move |files: Vec<web_sys::File>| {
        rooms.file_action(FileAction::Share(files));
    });
    // Storage first: while it refuses, nothing can be written whichever copy writes.
    let paused = Signal::derive(move || {
        rooms.health.with(|h| h.refusal()).or_else(|| {
            rooms.copies.with(|c| {
                c.as_ref()
                    .and_then(crate::model::copies::LiveCopies::refusal)
                    .map(str::to_owned)
            })
        })
    });
    let on_leave = Callback::new(move |()| {
        let name = room_name();
        confirm.set(Some(ConfirmRequest {
            title: format!("Leave {name}?"),
            body: "You will stop receiving new messages here. The room stays in your list, \
                   read-only, with everything said so far."
                .to_owned(),
            yes_label: "Leave room".to_owned(),
            on_yes: Callback::new(move |()| rooms.leave(messenger)),
        }));
    });
    let on_delete = Callback::new(move |()| {
        let name = room_name();
        confirm.set(Some(ConfirmRequest {
            title: format!("Delete {name} for everyone?"),
            body: "Nobody will be able to write in it any more. Every member keeps what was \
                   said, read-only. This cannot be undone."
                .to_owned(),
            yes_label: "Delete room".to_owned(),
            on_yes: Callback::new(move |()| rooms.delete(messenger)),
        }));
    });
    let actions = MemberActions {
        remove: Callback::new(move |user: String| {
            let who = member_name(details, &user);
            let room = room_name();
            confirm.set(Some(ConfirmRequest {
                title: format!("Remove {who} from {room}?"),
                body: format!(
                    "{who} keeps what was said until now but cannot write here any more: \
                     anything they write from now on is ignored by every member."
                ),
                yes_label: "Remove".to_owned(),
                on_yes: Callback::new(move |()| rooms.remove(messenger, user.clone())),
            }));
        }),
        message: Callback::new(move |user: String| {
            panels.members.set(false);
            rooms.open_direct(messenger, user);
        }),
        approve: Callback::new(move |user: String| rooms.admit(messenger, user)),
        decline: Callback::new(move |user: String| rooms.decline(messenger, user)),
    };
    let make_link = Callback::new(move |options| rooms.invite_link(messenger, options));
    // Read when the open room changes only, never while typing; keyed by the room, so that
    // moving between two rooms without drafts still clears the field.
    let open_draft = Memo::new(move |_| (rooms.selected.get(), rooms.draft_of_open()));
    let draft = Signal::derive(move || open_draft.with(|(_, text)| text.clone()));
    let on_draft = Callback::new(move |text: String| rooms.keep_draft(&text));
    // Read again whenever the room's details change (a single-use link admitted someone).
    let invite_links = Callback::new(move |()| {
        rooms.details.track();
        rooms.auto_admit_links()
    });
    let revoke_link = Callback::new(move |id: String| rooms.revoke_invite(id));
    let close_invite = Callback::new(move |()| panels.invite.set(false));
    let close_rename = Callback::new(move |()| panels.renaming.set(false));
    let close_members = Callback::new(move |()| panels.members.set(false));
    let on_rename = Callback::new(move |name: String| rooms.rename(messenger, name));

    let toolbar = move || {
        view! { <RoomToolbar rights=rights panels=panels on_leave=on_leave on_delete=on_delete /> }
    };

    view! {
        <div class="room-screen" class:members-open=move || panels.members.get() && is_open.get()>
            <ChatView pane=rooms.pane on_send=on_send waiting=waiting joining=joining
                toolbar=toolbar my_name=my_name paused=paused on_attach=Some(on_attach)
                draft=draft on_draft=Some(on_draft)>
                <Show when=move || panels.renaming.get() && rights.get().rename>
                    <RenameForm current=room_name() on_rename=on_rename on_close=close_rename />
                </Show>
                <Show when=move || panels.invite.get() && rights.get().invite>
                    <div id="invite-panel">
                        <InvitePanel make_link=make_link on_close=close_invite
                            links=invite_links on_revoke=revoke_link />
                    </div>
                </Show>
            </ChatView>
            <Show when=move || panels.members.get() && is_open.get()>
                <div class="sheet-backdrop" aria-hidden="true"
                    on:click=move |_| panels.members.set(false)></div>
                <MembersPanel details=details actions=actions on_close=close_members
                    my_name=my_name />
            </Show>
            <ConfirmDialog ask=confirm />
        </div>
    }
}

/// The name shown for `user` in the open room, for the confirm dialog.
fn member_name(details: Memo<Option<RoomDetails>>, user: &str) -> String {
    details
        .with_untracked(|d| {
            d.as_ref()
                .and_then(|d| d.members.iter().find(|m| m.user == user))
                .map(|m| m.name.clone())
        })
        .unwrap_or_else(|| "this member".to_owned())
}
