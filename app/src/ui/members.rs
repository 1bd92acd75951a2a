//! The open room's members panel: who is in the room, how each member's device is reachable,
//! and who is asking to join.
//!
//! Decisions:
//! - Join requests are listed for every member (people see who is knocking), but only owners
//!   get Approve / Decline; others read that an owner can let them in.
//! - "Remove" is offered to owners on everyone but themselves, and never in a 1:1 chat (there
//!   is nobody to remove a partner in favour of; leaving is the way out).
//! - "Message" (open the 1:1 chat) is offered on everyone but oneself.
//! - Actions are hidden once the local user is no longer a member (left, removed, deleted):
//!   such a room is read-only.

use leptos::prelude::*;

use crate::model::{JoinRequestView, MemberView, RoomDetails};

/// How often "last seen" labels are recomputed. Why: they are worded in minutes at best.
const LAST_SEEN_REFRESH_MS: u64 = 30_000;

/// What the panel's buttons report, each with the user key of the row.
#[derive(Debug, Clone, Copy)]
pub struct MemberActions {
    pub remove: Callback<String>,
    pub message: Callback<String>,
    pub approve: Callback<String>,
    pub decline: Callback<String>,
}

/// The panel for `details` (the open room). `on_close` hides it (the "×" button and Escape).
/// `my_name`, when given, is shown on the local user's row (marked "(you)") in place of the
/// session's generic name for them, so people find themselves under the name others see.
#[component]
pub fn MembersPanel(
    #[prop(into)] details: Signal<Option<RoomDetails>>,
    actions: MemberActions,
    on_close: Callback<()>,
    #[prop(optional, into)] my_name: MaybeProp<String>,
) -> impl IntoView {
    let members = Memo::new(move |_| {
        let mut members =
            details.with(|d| d.as_ref().map(|d| d.members.clone()).unwrap_or_default());
        if let Some(mine) = my_name.get() {
            for member in members.iter_mut().filter(|m| m.me) {
                member.name.clone_from(&mine);
            }
        }
        members
    });
    let requests = Memo::new(move |_| {
        details.with(|d| {
            d.as_ref()
                .map(|d| d.join_requests.clone())
                .unwrap_or_default()
        })
    });
    let rights = Memo::new(move |_| {
        details.with(|d| {
            d.as_ref()
                .map(|d| Rights {
                    own: d.i_own && d.i_am_member,
                    member: d.i_am_member,
                    direct: d.direct,
                })
                .unwrap_or_default()
        })
    });
    let on_keydown = move |ev: leptos::ev::KeyboardEvent| {
        if ev.key() == "Escape" {
            ev.prevent_default();
            on_close.run(());
        }
    };
    // "Last seen 5 min ago" ages while the panel is open.
    let (now, set_now) = signal(js_sys::Date::now());
    if let Ok(ticker) = set_interval_with_handle(
        move || set_now.set(js_sys::Date::now()),
        std::time::Duration::from_millis(LAST_SEEN_REFRESH_MS),
    ) {
        on_cleanup(move || ticker.clear());
    }

    view! {
        <aside id="members-panel" class="members-panel" data-testid="members-panel"
            aria-labelledby="members-title" on:keydown=on_keydown>
            <header class="panel-header">
                <h2 id="members-title">
                    "Members " <span class="count">{move || members.with(Vec::len)}</span>
                </h2>
                <button type="button" class="icon-button" aria-label="Close the members panel"
                    on:click=move |_| on_close.run(())>
                    <span aria-hidden="true">"×"</span>
                </button>
            </header>
            <Show when=move || !requests.with(Vec::is_empty)>
                <h3 class="section-title" id="join-requests-title">"Asking to join"</h3>
                <ul class="join-requests" aria-labelledby="join-requests-title">
                    <For each=move || requests.get() key=|r| r.user.clone() let:request>
                        <JoinRequestRow request=request rights=rights actions=actions />
                    </For>
                </ul>
            </Show>
            <ul class="member-list" aria-labelledby="members-title">
                <For each=move || members.get() key=member_key let:member>
                    <MemberRow member=member rights=rights actions=actions now=now />
                </For>
            </ul>
        </aside>
    }
}

/// What the local user may do here.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct Rights {
    own: bool,
    member: bool,
    direct: bool,
}

/// Everything shown in a row, so a change re-renders just that row.
fn member_key(m: &MemberView) -> String {
    format!(
        "{}|{}|{}|{}|{:?}",
        m.user, m.name, m.owner, m.me, m.presence
    )
}

#[component]
fn MemberRow(
    member: MemberView,
    rights: Memo<Rights>,
    actions: MemberActions,
    now: ReadSignal<f64>,
) -> impl IntoView {
    let presence = member.presence;
    let label = move || presence.label(now.get());
    let role = if member.owner { "owner" } else { "member" };
    let name = member.name.clone();
    let user = member.user.clone();
    let remove = {
        let (user, name) = (user.clone(), name.clone());
        move || {
            let r = rights.get();
            (r.own && r.member && !r.direct && !member.me).then(|| {
                let user = user.clone();
                view! {
                    <button type="button" class="small danger-text" data-testid="member-remove"
                        aria-label=format!("Remove {name} from the room")
                        on:click=move |_| actions.remove.run(user.clone())>
                        "Remove"
                    </button>
                }
            })
        }
    };
    let message = {
        let (user, name) = (user.clone(), name.clone());
        move || {
            (rights.get().member && !member.me).then(|| {
                let user = user.clone();
                view! {
                    <button type="button" class="small" data-testid="member-message"
                        aria-label=format!("Send {name} a private message")
                        on:click=move |_| actions.message.run(user.clone())>
                        "Message"
                    </button>
                }
            })
        }
    };
    view! {
        <li class="member" data-testid="member" data-user=user.clone() data-role=role
            data-presence=member.presence.token()>
            <span class="presence-dot" data-testid="presence-dot" role="img"
                data-presence=member.presence.token() aria-label=label title=label>
            </span>
            <span class="member-name" data-testid="member-name">{member.name.clone()}</span>
            {member.me.then(|| view! { <span class="hint">"(you)"</span> })}
            {member.owner.then(|| view! { <span class="role-badge">"Owner"</span> })}
            <span class="row-actions">{message}{remove}</span>
        </li>
    }
}

#[component]
fn JoinRequestRow(
    request: JoinRequestView,
    rights: Memo<Rights>,
    actions: MemberActions,
) -> impl IntoView {
    let user = request.user.clone();
    let name = request.name.clone();
    let answer = move || {
        if rights.get().own {
            let (approve, decline) = (user.clone(), user.clone());
            view! {
                <span class="row-actions">
                    <button type="button" class="small primary-text" data-testid="join-approve"
                        aria-label=format!("Let {name} in")
                        on:click=move |_| actions.approve.run(approve.clone())>
                        "Approve"
                    </button>
                    <button type="button" class="small" data-testid="join-decline"
                        aria-label=format!("Decline {name}'s request")
                        on:click=move |_| actions.decline.run(decline.clone())>
                        "Decline"
                    </button>
                </span>
            }
            .into_any()
        } else {
            view! { <span class="hint">"An owner can let them in"</span> }.into_any()
        }
    };
    view! {
        <li class="join-request" data-testid="join-request" data-user=request.user.clone()>
            <span class="member-name" data-testid="join-request-name">{request.name.clone()}</span>
            {answer}
        </li>
    }
}
