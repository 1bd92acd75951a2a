//! The messenger views in a real browser: mount, act like a user, read what is shown.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use leptos::mount::mount_to;
use leptos::prelude::*;
use wasm_bindgen::JsCast;
use wasm_bindgen_test::wasm_bindgen_test;
use web_sys::{Element, HtmlElement, HtmlTextAreaElement, KeyboardEvent, KeyboardEventInit};

use super::{BadInviteScreen, ChatView, DamagedRoomItems, RoomListItems, StorageHealthNotice};
use crate::model::{
    DamagedRoom, Delivery, InviteProblem, MessageView, RoomPane, RoomSummary, StorageHealth,
    WriteFailure,
};

wasm_bindgen_test::wasm_bindgen_test_configure!(run_in_browser);

/// Reactive updates reach the DOM on a later tick; give them this long before failing.
const UI_DEADLINE: Duration = Duration::from_secs(2);

fn container() -> HtmlElement {
    let document = web_sys::window().unwrap().document().unwrap();
    let el = document.create_element("div").unwrap();
    document.body().unwrap().append_child(&el).unwrap();
    el.unchecked_into()
}

fn all(root: &Element, test_id: &str) -> Vec<Element> {
    let list = root
        .query_selector_all(&format!("[data-testid=\"{test_id}\"]"))
        .unwrap();
    (0..list.length())
        .filter_map(|i| list.item(i))
        .map(|n| n.unchecked_into())
        .collect()
}

fn texts(root: &Element, test_id: &str) -> Vec<String> {
    all(root, test_id)
        .iter()
        .map(|e| e.text_content().unwrap_or_default())
        .collect()
}

async fn until(what: &str, mut check: impl FnMut() -> bool) {
    let step = Duration::from_millis(10);
    let mut waited = Duration::ZERO;
    while !check() {
        assert!(waited < UI_DEADLINE, "timed out waiting for: {what}");
        gloo_timers::future::sleep(step).await;
        waited += step;
    }
}

fn message(key: &str, text: &str, own: bool, delivery: Option<Delivery>) -> MessageView {
    MessageView {
        key: key.into(),
        author_name: if own { "Ada".into() } else { "Bo".into() },
        own,
        text: text.into(),
        timestamp_ms: 0,
        delivery,
        file: None,
    }
}

fn type_and_press_enter(root: &Element, text: &str, shift: bool) {
    let input: HtmlTextAreaElement = all(root, "composer-input").remove(0).unchecked_into();
    input.set_value(text);
    input
        .dispatch_event(&web_sys::Event::new("input").unwrap())
        .unwrap();
    let init = KeyboardEventInit::new();
    init.set_key("Enter");
    init.set_shift_key(shift);
    init.set_bubbles(true);
    init.set_cancelable(true);
    let event = KeyboardEvent::new_with_keyboard_event_init_dict("keydown", &init).unwrap();
    input.dispatch_event(&event).unwrap();
}

fn composer_value(root: &Element) -> String {
    all(root, "composer-input")
        .remove(0)
        .unchecked_into::<HtmlTextAreaElement>()
        .value()
}

/// The open "Book club" room with no messages yet.
fn empty_book_club(read_only: bool) -> RoomPane {
    RoomPane::Open {
        forks: Vec::new(),
        name: "Book club".into(),
        messages: vec![],
        read_only,
    }
}

#[wasm_bindgen_test]
async fn a_forked_history_is_announced_in_the_room() {
    let root = container();
    let notice = "Bo's device wrote two different histories, so what Bo wrote from that point \
                  on is hidden.";
    let pane = RwSignal::new(RoomPane::Open {
        forks: vec![notice.to_owned()],
        name: "Book club".into(),
        messages: vec![],
        read_only: false,
    });
    let on_send = Callback::new(|_: String| Ok(()));
    let _mounted = mount_to(
        root.clone(),
        move || view! { <ChatView pane=pane on_send=on_send /> },
    );
    let root: Element = root.into();
    until("the fork notice", || {
        texts(&root, "fork-notice") == [notice]
    })
    .await;
}

#[wasm_bindgen_test]
async fn a_message_the_room_refuses_stays_in_the_composer_with_the_reason() {
    let root = container();
    let pane = RwSignal::new(empty_book_club(false));
    let on_send = Callback::new(|_: String| Err("Quire is moving to another tab".to_owned()));
    let _mounted = mount_to(
        root.clone(),
        move || view! { <ChatView pane=pane on_send=on_send /> },
    );
    let root: Element = root.into();
    until("empty room hint", || texts(&root, "no-messages").len() == 1).await;
    type_and_press_enter(&root, "keep me", false);
    until("the refusal explained", || {
        texts(&root, "composer-error") == ["Quire is moving to another tab"]
    })
    .await;
    assert_eq!(composer_value(&root), "keep me", "nothing typed is lost");
}

#[wasm_bindgen_test]
async fn enter_sends_shift_enter_does_not_and_arrivals_keep_the_draft() {
    let root = container();
    let pane = RwSignal::new(empty_book_club(false));
    let sent = RwSignal::new(Vec::<String>::new());
    let on_send = Callback::new(move |text: String| {
        sent.update(|s| s.push(text));
        Ok(())
    });
    let _mounted = mount_to(
        root.clone(),
        move || view! { <ChatView pane=pane on_send=on_send my_name="Ada Lovelace".to_owned() /> },
    );
    let root: Element = root.into();

    until("empty room hint", || texts(&root, "no-messages").len() == 1).await;
    type_and_press_enter(&root, "  hello  ", false);
    assert_eq!(
        sent.get_untracked(),
        vec!["hello".to_string()],
        "Enter sends the trimmed text"
    );
    until("composer cleared", || composer_value(&root).is_empty()).await;

    type_and_press_enter(&root, "draft", true);
    assert_eq!(sent.get_untracked().len(), 1, "Shift+Enter does not send");

    pane.set(RoomPane::Open {
        forks: Vec::new(),
        name: "Book club".into(),
        messages: vec![
            message("a.0", "hello", true, Some(Delivery::Saved)),
            message("b.0", "hi Ada", false, None),
        ],
        read_only: false,
    });
    until("two messages shown", || {
        texts(&root, "message-text") == ["hello", "hi Ada"]
    })
    .await;
    assert_eq!(
        composer_value(&root),
        "draft",
        "a message arriving keeps what the user is typing"
    );
    assert_eq!(texts(&root, "delivery"), ["Saved on this device"]);
    assert_eq!(
        texts(&root, "message-author"),
        ["Ada Lovelace", "Bo"],
        "own messages carry the user's own name, as others see them"
    );
    assert!(texts(&root, "no-messages").is_empty());

    type_and_press_enter(&root, "   ", false);
    assert_eq!(sent.get_untracked().len(), 1, "a blank message is not sent");
    until("blank message explained", || {
        texts(&root, "composer-error") == ["Type a message first."]
    })
    .await;
}

#[wasm_bindgen_test]
async fn loading_and_failure_are_shown_instead_of_the_room() {
    let root = container();
    let pane = RwSignal::new(RoomPane::Loading);
    let on_send = Callback::new(|_: String| Ok(()));
    let _mounted = mount_to(
        root.clone(),
        move || view! { <ChatView pane=pane on_send=on_send /> },
    );
    let root: Element = root.into();
    until("loading state", || all(&root, "room-loading").len() == 1).await;
    pane.set(RoomPane::Failed("storage is full".into()));
    until("error state", || {
        texts(&root, "room-error")
            .iter()
            .any(|t| t.contains("storage is full"))
    })
    .await;
    assert!(
        all(&root, "composer").is_empty(),
        "no composer without a room"
    );
}

#[wasm_bindgen_test]
async fn room_list_shows_unread_badges_and_selects_on_click() {
    let root = container();
    let rooms = RwSignal::new(vec![
        RoomSummary {
            id: "r1".into(),
            name: "Book club".into(),
            unread: 3,
            preview: "see you".into(),
            read_only: false,
        },
        RoomSummary {
            id: "r2".into(),
            name: "Family".into(),
            unread: 0,
            preview: String::new(),
            read_only: false,
        },
    ]);
    let selected = RwSignal::new(None::<String>);
    let _mounted = mount_to(root.clone(), move || {
        let on_select = Callback::new(move |id: String| selected.set(Some(id)));
        view! { <ul><RoomListItems rooms=rooms selected=selected on_select=on_select /></ul> }
    });
    let root: Element = root.into();
    until("two rooms", || {
        texts(&root, "room-name") == ["Book club", "Family"]
    })
    .await;
    assert_eq!(texts(&root, "unread-count"), ["3"]);
    let family: HtmlElement = all(&root, "room-item")[1]
        .query_selector("button")
        .unwrap()
        .unwrap()
        .unchecked_into();
    family.click();
    assert_eq!(selected.get_untracked().as_deref(), Some("r2"));
    rooms.update(|r| r[0].unread = 0);
    until("badge gone after reading", || {
        texts(&root, "unread-count").is_empty()
    })
    .await;
}

#[wasm_bindgen_test]
async fn a_bad_invite_explains_itself_and_offers_a_way_back() {
    let root = container();
    let problem = InviteProblem::from_error(&quire_core::invite::InviteError::Tampered);
    let dismissed = RwSignal::new(false);
    let on_dismiss = Callback::new(move |()| dismissed.set(true));
    let _mounted = mount_to(
        root.clone(),
        move || view! { <BadInviteScreen problem=problem.clone() on_dismiss=on_dismiss /> },
    );
    let root: Element = root.into();
    until("title", || {
        texts(&root, "bad-invite-title") == ["This invite link was changed"]
    })
    .await;
    let button: HtmlElement = all(&root, "bad-invite-dismiss").remove(0).unchecked_into();
    button.click();
    assert!(dismissed.get_untracked());
}

// ---- members panel, invite panel, confirm dialog, inspector, routes ---------------------------

use super::{
    ConfirmDialog, ConfirmRequest, InspectorView, InvitePanel, MemberActions, MembersPanel,
    RoomRights, Screen, screen_for,
};
use crate::model::room_view::{
    InspectedBook, InspectedError, InspectedLink, InspectedPage, InspectedRoom,
};
use crate::model::{InspectorSnapshot, JoinRequestView, MemberView, Presence, RoomDetails};

fn attrs(root: &Element, test_id: &str, attr: &str) -> Vec<String> {
    all(root, test_id)
        .iter()
        .map(|e| e.get_attribute(attr).unwrap_or_default())
        .collect()
}

fn click(el: &Element) {
    el.clone().unchecked_into::<HtmlElement>().click();
}

fn member(user: &str, name: &str, owner: bool, me: bool, presence: Presence) -> MemberView {
    MemberView {
        user: user.into(),
        name: name.into(),
        owner,
        me,
        presence,
    }
}

fn book_club(i_own: bool) -> RoomDetails {
    RoomDetails {
        id: "r1".into(),
        name: "Book club".into(),
        direct: false,
        i_own,
        i_am_member: true,
        waiting_for_approval: false,
        joining: None,
        deleted: false,
        members: vec![
            member("aa", "Ada", true, true, Presence::You),
            member("bb", "Bo", false, false, Presence::Direct),
            member("cc", "Cy", false, false, Presence::Relayed),
            member(
                "dd",
                "Di",
                false,
                false,
                Presence::Offline {
                    last_seen_ms: Some(js_sys::Date::now() - 5.0 * 60_000.0),
                },
            ),
        ],
        join_requests: vec![JoinRequestView {
            user: "ee".into(),
            name: "Eve".into(),
        }],
    }
}

/// Records which button reported which user.
fn recording_actions(log: RwSignal<Vec<String>>) -> MemberActions {
    let record = move |what: &'static str| {
        Callback::new(move |user: String| log.update(|l| l.push(format!("{what} {user}"))))
    };
    MemberActions {
        remove: record("remove"),
        message: record("message"),
        approve: record("approve"),
        decline: record("decline"),
    }
}

#[wasm_bindgen_test]
async fn remove_is_never_offered_in_a_one_to_one_chat() {
    let root = container();
    // Both sides of a 1:1 chat are owners; removing the other would end the chat for good.
    let mut chat = book_club(true);
    chat.direct = true;
    chat.members.truncate(2);
    chat.join_requests.clear();
    let details = RwSignal::new(Some(chat));
    let actions = recording_actions(RwSignal::new(Vec::new()));
    let _mounted = mount_to(root.clone(), move || {
        view! {
            <MembersPanel details=details actions=actions on_close=Callback::new(|()| {})
                my_name="Ada".to_owned() />
        }
    });
    let root: Element = root.into();
    until("both sides", || all(&root, "member").len() == 2).await;
    assert!(all(&root, "member-remove").is_empty());
    // The same members in a group room: the owner is offered Remove (the check can fail).
    details.update(|d| {
        if let Some(d) = d {
            d.direct = false;
        }
    });
    until("Remove in a group room", || {
        all(&root, "member-remove").len() == 1
    })
    .await;
}

#[wasm_bindgen_test]
async fn members_panel_shows_roles_presence_and_owner_only_actions() {
    let root = container();
    let details = RwSignal::new(Some(book_club(true)));
    let log = RwSignal::new(Vec::<String>::new());
    let actions = recording_actions(log);
    let _mounted = mount_to(root.clone(), move || {
        view! {
            <MembersPanel details=details actions=actions on_close=Callback::new(|()| {})
                my_name="Ada Lovelace".to_owned() />
        }
    });
    let root: Element = root.into();
    until("four members", || all(&root, "member").len() == 4).await;

    // The local user is listed under their own display name.
    assert_eq!(
        texts(&root, "member-name")[..4],
        ["Ada Lovelace", "Bo", "Cy", "Di"]
    );
    assert_eq!(
        attrs(&root, "member", "data-presence"),
        ["you", "direct", "relayed", "offline"]
    );
    assert_eq!(
        attrs(&root, "member", "data-role"),
        ["owner", "member", "member", "member"]
    );
    let labels = attrs(&root, "presence-dot", "aria-label");
    assert_eq!(
        labels[..3],
        [
            "This device",
            "Online, direct link",
            "Online, through the relay"
        ]
    );
    assert_eq!(labels[3], "Offline, last seen 5 min ago");
    // An owner may remove and message everyone but themselves.
    assert_eq!(all(&root, "member-remove").len(), 3);
    assert_eq!(all(&root, "member-message").len(), 3);
    let ada = all(&root, "member").remove(0);
    assert!(
        ada.query_selector("[data-testid=member-remove]")
            .unwrap()
            .is_none()
    );

    // The join request, with Approve / Decline for an owner.
    assert_eq!(texts(&root, "join-request-name"), ["Eve"]);
    assert_eq!(attrs(&root, "join-request", "data-user"), ["ee"]);
    click(&all(&root, "join-approve")[0]);
    click(&all(&root, "join-decline")[0]);
    click(&all(&root, "member-remove")[0]);
    click(&all(&root, "member-message")[2]);
    assert_eq!(
        log.get_untracked(),
        ["approve ee", "decline ee", "remove bb", "message dd"]
    );

    // The same room seen by a member who is not an owner: the request is listed, but only an
    // owner can answer it, and nobody can be removed.
    details.set(Some(book_club(false)));
    until("owner-only buttons gone", || {
        all(&root, "join-approve").is_empty()
    })
    .await;
    assert_eq!(texts(&root, "join-request-name"), ["Eve"]);
    assert!(all(&root, "join-decline").is_empty());
    assert!(all(&root, "member-remove").is_empty());
    assert_eq!(all(&root, "member-message").len(), 3);

    // Presence changes update the row.
    details.update(|d| {
        if let Some(d) = d {
            d.members[1].presence = Presence::Offline { last_seen_ms: None };
        }
    });
    until("Bo offline", || {
        attrs(&root, "member", "data-presence") == ["you", "offline", "relayed", "offline"]
    })
    .await;
}

#[wasm_bindgen_test]
fn room_rights_follow_role_and_room_kind() {
    let owner = RoomRights::of(&book_club(true));
    assert!(owner.invite && owner.rename && owner.leave && owner.delete);
    assert_eq!(owner.requests_for_me, 1);
    let member = RoomRights::of(&book_club(false));
    assert!(member.invite && member.leave && !member.rename && !member.delete);
    assert_eq!(member.requests_for_me, 0, "only owners are asked to answer");
    let mut direct = book_club(true);
    direct.direct = true;
    let direct = RoomRights::of(&direct);
    assert!(!direct.invite && !direct.rename && !direct.delete && direct.leave);
    let mut gone = book_club(true);
    gone.i_am_member = false;
    let gone = RoomRights::of(&gone);
    assert_eq!(
        (gone.invite, gone.rename, gone.leave, gone.delete),
        (false, false, false, false)
    );
}

#[wasm_bindgen_test]
async fn invite_panel_shows_the_link_for_the_chosen_admission() {
    let root = container();
    let made = RwSignal::new(Vec::<bool>::new());
    let chosen = RwSignal::new(Vec::<crate::model::invites::InviteOptions>::new());
    let make_link = Callback::new(move |options: crate::model::invites::InviteOptions| {
        let auto = options.auto_admit;
        made.update(|m| m.push(auto));
        chosen.update(|c| c.push(options));
        Ok(format!(
            "http://192.0.2.10:8080/#/join/{}",
            if auto { "AUTO" } else { "ASK" }
        ))
    });
    let _mounted = mount_to(root.clone(), move || {
        view! { <InvitePanel make_link=make_link on_close=Callback::new(|()| {}) /> }
    });
    let root: Element = root.into();
    let link = || {
        all(&root, "invite-link")
            .first()
            .map(|e| {
                e.clone()
                    .unchecked_into::<web_sys::HtmlInputElement>()
                    .value()
            })
            .unwrap_or_default()
    };
    until("the link", || link().ends_with("#/join/ASK")).await;
    let checkbox: web_sys::HtmlInputElement =
        all(&root, "invite-auto-admit").remove(0).unchecked_into();
    assert!(!checkbox.checked(), "by default an owner approves");
    assert!(all(&root, "invite-link")[0].has_attribute("readonly"));
    assert!(
        all(&root, "invite-single-use").is_empty(),
        "only for auto-admit links"
    );
    checkbox.click();
    until("the auto-admit link", || link().ends_with("#/join/AUTO")).await;
    assert_eq!(made.get_untracked(), [false, true]);
    until("the single-use choice", || {
        !all(&root, "invite-single-use").is_empty()
    })
    .await;
    let single: web_sys::HtmlInputElement =
        all(&root, "invite-single-use").remove(0).unchecked_into();
    assert!(!single.checked());
    single.click();
    let expiry: web_sys::HtmlSelectElement = all(&root, "invite-expiry").remove(0).unchecked_into();
    assert_eq!(expiry.value(), "week", "a week unless chosen otherwise");
    expiry.set_value("hour");
    expiry
        .dispatch_event(&web_sys::Event::new("change").unwrap())
        .unwrap();
    until("a link for the new choices", || {
        chosen.with_untracked(|c| {
            c.last()
                .is_some_and(|o| o.expiry == crate::model::invites::Expiry::Hour)
        })
    })
    .await;
    let last = chosen.with_untracked(|c| c.last().copied()).unwrap();
    assert!(last.auto_admit && last.single_use, "{last:?}");
}

#[wasm_bindgen_test]
async fn invite_panel_explains_why_there_is_no_link() {
    let root = container();
    let make_link = Callback::new(|_: crate::model::invites::InviteOptions| {
        Err("Only members can invite.".to_owned())
    });
    let _mounted = mount_to(root.clone(), move || {
        view! { <InvitePanel make_link=make_link on_close=Callback::new(|()| {}) /> }
    });
    let root: Element = root.into();
    until("the reason", || {
        texts(&root, "invite-error") == ["Only members can invite."]
    })
    .await;
    assert!(all(&root, "invite-link").is_empty());
    assert!(all(&root, "invite-copy").is_empty());
}

fn active_element() -> Element {
    web_sys::window()
        .unwrap()
        .document()
        .unwrap()
        .active_element()
        .unwrap()
}

fn active_test_id() -> Option<String> {
    active_element().get_attribute("data-testid")
}

#[wasm_bindgen_test]
async fn confirm_dialog_goes_ahead_only_on_yes() {
    let root = container();
    let ask = RwSignal::new(None::<ConfirmRequest>);
    let done = RwSignal::new(0);
    let request = move || ConfirmRequest {
        title: "Delete Book club for everyone?".into(),
        body: "This cannot be undone.".into(),
        yes_label: "Delete room".into(),
        on_yes: Callback::new(move |()| done.update(|d| *d += 1)),
    };
    let _mounted = mount_to(root.clone(), move || view! { <ConfirmDialog ask=ask /> });
    let root: Element = root.into();
    assert!(all(&root, "confirm-yes").is_empty(), "nothing asked yet");

    ask.set(Some(request()));
    until("the dialog", || all(&root, "confirm-no").len() == 1).await;
    let focused = web_sys::window()
        .unwrap()
        .document()
        .unwrap()
        .active_element()
        .and_then(|e| e.get_attribute("data-testid"));
    assert_eq!(
        focused.as_deref(),
        Some("confirm-no"),
        "a stray Enter cancels"
    );
    // Tab keeps focus between the dialog's two buttons.
    let tab = || {
        let init = KeyboardEventInit::new();
        init.set_key("Tab");
        init.set_bubbles(true);
        init.set_cancelable(true);
        let event = KeyboardEvent::new_with_keyboard_event_init_dict("keydown", &init).unwrap();
        active_element().dispatch_event(&event).unwrap();
    };
    tab();
    assert_eq!(active_test_id().as_deref(), Some("confirm-yes"));
    tab();
    assert_eq!(active_test_id().as_deref(), Some("confirm-no"));
    click(&all(&root, "confirm-no")[0]);
    until("dialog closed", || all(&root, "confirm-no").is_empty()).await;
    assert_eq!(done.get_untracked(), 0);

    ask.set(Some(request()));
    until("the dialog again", || all(&root, "confirm-yes").len() == 1).await;
    let init = KeyboardEventInit::new();
    init.set_key("Escape");
    init.set_bubbles(true);
    let escape = KeyboardEvent::new_with_keyboard_event_init_dict("keydown", &init).unwrap();
    all(&root, "confirm-no")[0].dispatch_event(&escape).unwrap();
    until("Escape closes it", || all(&root, "confirm-yes").is_empty()).await;
    assert_eq!(done.get_untracked(), 0);

    ask.set(Some(request()));
    until("the dialog a third time", || {
        all(&root, "confirm-yes").len() == 1
    })
    .await;
    assert_eq!(texts(&root, "confirm-yes"), ["Delete room"]);
    click(&all(&root, "confirm-yes")[0]);
    assert_eq!(done.get_untracked(), 1);
    until("dialog closed after yes", || {
        all(&root, "confirm-yes").is_empty()
    })
    .await;
}

#[wasm_bindgen_test]
async fn waiting_for_approval_disables_the_composer() {
    let root = container();
    let pane = RwSignal::new(empty_book_club(true));
    let waiting = RwSignal::new(true);
    let sent = RwSignal::new(0);
    let on_send = Callback::new(move |_: String| {
        sent.update(|s| *s += 1);
        Ok(())
    });
    let _mounted = mount_to(root.clone(), move || {
        view! { <ChatView pane=pane on_send=on_send waiting=waiting /> }
    });
    let root: Element = root.into();
    until("waiting notice", || {
        all(&root, "waiting-approval").len() == 1
    })
    .await;
    assert!(all(&root, "read-only").is_empty(), "waiting, not read-only");
    let input: HtmlTextAreaElement = all(&root, "composer-input").remove(0).unchecked_into();
    assert!(input.disabled());

    waiting.set(false);
    pane.set(RoomPane::Open {
        forks: Vec::new(),
        name: "Book club".into(),
        messages: vec![message("b.0", "welcome!", false, None)],
        read_only: false,
    });
    until("let in", || all(&root, "waiting-approval").is_empty()).await;
    until("composer enabled", || !input.disabled()).await;
    assert_eq!(texts(&root, "message-text"), ["welcome!"]);
}

#[wasm_bindgen_test]
async fn a_join_that_waits_for_its_own_book_says_why_and_keeps_the_composer_off() {
    let root = container();
    // A member's screen: the room is known, but her own earlier pages are still coming.
    let pane = RwSignal::new(RoomPane::Open {
        forks: Vec::new(),
        name: "Book club".into(),
        messages: vec![message("b.0", "welcome!", false, None)],
        read_only: false,
    });
    let note = "Getting your earlier messages from Bo… You can write once they are here.";
    let joining = RwSignal::new(Some(note.to_owned()));
    let on_send = Callback::new(move |_: String| Ok(()));
    let _mounted = mount_to(root.clone(), move || {
        view! { <ChatView pane=pane on_send=on_send joining=joining /> }
    });
    let root: Element = root.into();
    until("the joining note", || {
        texts(&root, "join-pending") == [note]
    })
    .await;
    assert!(
        all(&root, "waiting-approval").is_empty(),
        "no owner is asked"
    );
    let input: HtmlTextAreaElement = all(&root, "composer-input").remove(0).unchecked_into();
    assert!(
        input.disabled(),
        "nothing is written before her book is back"
    );

    joining.set(None);
    until("the note goes", || all(&root, "join-pending").is_empty()).await;
    until("composer enabled", || !input.disabled()).await;
}

#[wasm_bindgen_test]
async fn while_storage_refuses_writing_sending_pauses_with_the_reason_and_keeps_the_draft() {
    let root = container();
    let pane = RwSignal::new(empty_book_club(false));
    let health = RwSignal::new(StorageHealth::default());
    let paused = Signal::derive(move || health.with(StorageHealth::refusal));
    let sent = RwSignal::new(Vec::<String>::new());
    let on_send = Callback::new(move |text: String| {
        sent.update(|s| s.push(text));
        Ok(())
    });
    let _mounted = mount_to(root.clone(), move || {
        view! { <ChatView pane=pane on_send=on_send paused=paused /> }
    });
    let root: Element = root.into();
    until("composer shown", || all(&root, "composer-input").len() == 1).await;
    assert!(all(&root, "composer-paused").is_empty());

    health.update(|h| h.write_failed(WriteFailure::Full, 0));
    until("pause explained", || {
        texts(&root, "composer-paused")
            .first()
            .is_some_and(|t| t.contains("Storage is full"))
    })
    .await;
    assert!(all(&root, "composer-send")[0].has_attribute("disabled"));
    type_and_press_enter(&root, "are you there?", false);
    assert!(
        sent.get_untracked().is_empty(),
        "nothing is sent while paused"
    );
    assert_eq!(composer_value(&root), "are you there?", "the draft is kept");

    health.update(|h| {
        h.retry_pressed(1);
        h.write_ok();
    });
    until("pause lifted", || all(&root, "composer-paused").is_empty()).await;
    type_and_press_enter(&root, "are you there?", false);
    assert_eq!(sent.get_untracked(), ["are you there?"]);
}

#[wasm_bindgen_test]
async fn the_storage_banner_offers_retry_or_reload_and_goes_away_when_healthy() {
    let root = container();
    let health = RwSignal::new(StorageHealth::default());
    let retries = RwSignal::new(0);
    let on_retry = Callback::new(move |()| retries.update(|n| *n += 1));
    let _mounted = mount_to(root.clone(), move || {
        view! { <StorageHealthNotice health=health on_retry=on_retry /> }
    });
    let root: Element = root.into();
    gloo_timers::future::sleep(Duration::from_millis(20)).await;
    assert!(
        all(&root, "storage-health").is_empty(),
        "nothing shown while healthy"
    );

    health.update(|h| h.write_failed(WriteFailure::Full, 0));
    until("full banner", || {
        attrs(&root, "storage-health", "data-state") == ["full"]
    })
    .await;
    assert!(all(&root, "storage-reload").is_empty());
    click(&all(&root, "storage-retry").remove(0));
    assert_eq!(retries.get_untracked(), 1);

    health.update(StorageHealth::write_ok);
    until("banner gone", || all(&root, "storage-health").is_empty()).await;

    health.update(StorageHealth::upgraded_elsewhere);
    until("closed banner", || {
        attrs(&root, "storage-health", "data-state") == ["closed"]
    })
    .await;
    assert!(
        all(&root, "storage-retry").is_empty(),
        "retrying cannot help"
    );
    assert_eq!(all(&root, "storage-reload").len(), 1);
}

#[wasm_bindgen_test]
async fn damaged_rooms_are_listed_with_what_went_wrong() {
    let root = container();
    let rooms = RwSignal::new(vec![
        DamagedRoom {
            id: "r1".into(),
            name: Some("Chess".into()),
            problem: "a page record does not decode".into(),
        },
        DamagedRoom {
            id: "r2".into(),
            name: None,
            problem: "its record does not decode".into(),
        },
    ]);
    let _mounted = mount_to(root.clone(), move || {
        view! { <ul><DamagedRoomItems rooms=rooms /></ul> }
    });
    let root: Element = root.into();
    until("two damaged rows", || all(&root, "room-damaged").len() == 2).await;
    assert_eq!(texts(&root, "room-name"), ["Chess", "Unreadable room"]);
    let why = texts(&root, "room-damaged-why");
    assert!(why[0].contains("a page record does not decode"));
    assert!(why.iter().all(|w| w.contains("Nothing was deleted")));
}

fn snapshot() -> InspectorSnapshot {
    let page = |seq, counts| InspectedPage {
        seq,
        kind: "text".into(),
        timestamp_ms: 1_700_000_000_000,
        body: format!("Text(\"page {seq}\")"),
        counts,
    };
    InspectorSnapshot {
        me: "aa".into(),
        peer_id: "12D3KooWtest".into(),
        relay_connected: true,
        rooms: vec![InspectedRoom {
            id: "r1".into(),
            name: "Book club".into(),
            books: vec![
                InspectedBook {
                    author: "aa".into(),
                    author_name: "Ada".into(),
                    length: 2,
                    pages: vec![page(0, true), page(1, true)],
                    forked_at: None,
                    cut_at: None,
                },
                InspectedBook {
                    author: "bb".into(),
                    author_name: "Bo".into(),
                    length: 3,
                    pages: vec![page(0, true), page(1, true), page(2, false)],
                    forked_at: Some((2, true)),
                    cut_at: Some(2),
                },
            ],
            sessions: vec![],
            pending: 0,
        }],
        links: vec![InspectedLink {
            peer: "12D3KooWbo".into(),
            state: "direct".into(),
            addrs: vec!["/webrtc".into()],
        }],
        errors: vec![InspectedError {
            at_ms: js_sys::Date::now(),
            what: "sync with Bo closed: timeout".into(),
        }],
        downloads: vec![crate::model::files::DownloadRun {
            blob: "b1".into(),
            name: "scan.bin".into(),
            total: 48,
            stored_at_start: 20,
            asked: 30,
            asked_for_stored: 0,
            fetched: 28,
            complete: true,
        }],
    }
}

#[wasm_bindgen_test]
async fn inspector_renders_books_pages_links_and_errors() {
    let root = container();
    let shown = RwSignal::new(snapshot());
    let _mounted = mount_to(
        root.clone(),
        move || view! { <InspectorView snapshot=shown /> },
    );
    let root: Element = root.into();
    until("two books", || all(&root, "inspector-book").len() == 2).await;
    assert_eq!(attrs(&root, "inspector-book", "data-author"), ["aa", "bb"]);
    assert_eq!(attrs(&root, "inspector-book", "data-length"), ["2", "3"]);
    let pages = all(&root, "inspector-page");
    assert_eq!(pages.len(), 5);
    let void: Vec<bool> = pages
        .iter()
        .map(|p| p.class_list().contains("void"))
        .collect();
    assert_eq!(
        void,
        [false, false, false, false, true],
        "Bo's last page does not count"
    );
    for section in [
        "inspector-rooms",
        "inspector-links",
        "inspector-downloads",
        "inspector-errors",
    ] {
        assert_eq!(all(&root, section).len(), 1, "{section}");
    }
    assert_eq!(attrs(&root, "inspector-book", "data-forked-at"), ["", "2"]);
    assert_eq!(attrs(&root, "inspector-book", "data-cut-at"), ["", "2"]);
    assert!(texts(&root, "inspector-fork")[0].contains("forked at seq 2"));
    assert!(texts(&root, "inspector-cut")[0].contains("from seq 2 on"));
    assert_eq!(attrs(&root, "inspector-link-row", "data-state"), ["direct"]);
    assert!(texts(&root, "inspector-error")[0].contains("sync with Bo closed: timeout"));
    for (attr, value) in [
        ("data-name", "scan.bin"),
        ("data-total", "48"),
        ("data-stored-at-start", "20"),
        ("data-asked", "30"),
        ("data-asked-for-stored", "0"),
        ("data-fetched", "28"),
        ("data-complete", "true"),
    ] {
        assert_eq!(attrs(&root, "inspector-download", attr), [value], "{attr}");
    }

    // A refresh with a longer book shows the new length and page.
    shown.update(|s| {
        let book = &mut s.rooms[0].books[0];
        book.length = 3;
        book.pages.push(InspectedPage {
            seq: 2,
            kind: "text".into(),
            timestamp_ms: 1_700_000_000_500,
            body: "Text(\"page 2\")".into(),
            counts: true,
        });
    });
    until("the book grew", || {
        attrs(&root, "inspector-book", "data-length") == ["3", "3"]
    })
    .await;
    assert_eq!(all(&root, "inspector-page").len(), 6);
}

#[wasm_bindgen_test]
fn fragments_route_to_rooms_inspector_join_or_bad_invite() {
    use quire_core::crypto::RoomSecret;
    use quire_core::identity::Identity;
    use quire_core::invite::Invite;
    use quire_core::page::{InviteId, RoomId};

    assert_eq!(screen_for("", 0), Screen::Rooms);
    assert_eq!(screen_for("#/", 0), Screen::Rooms);
    assert_eq!(screen_for("#/inspector", 0), Screen::Inspector);
    assert_eq!(screen_for("/inspector", 0), Screen::Inspector);
    assert_eq!(screen_for("#/files", 0), Screen::Explore);

    let owner = Identity::from_secret_bytes([5; 32]).unwrap();
    let invite = Invite {
        room: RoomId([1; 32]),
        room_name: "Book club".into(),
        secret: RoomSecret::from_bytes([2; 32]),
        inviter: owner.user_id(),
        id: InviteId([3; 16]),
        relays: vec![],
        expires_at_ms: Some(10_000),
        auto_admit: false,
        link_secret: None,
    };
    let link = invite.to_link("http://192.0.2.10:8080/", &owner).unwrap();
    let fragment = &link[link.find('#').unwrap()..];
    assert_eq!(screen_for(fragment, 0), Screen::Join(Box::new(invite)));
    match screen_for(fragment, 20_000) {
        Screen::BadInvite(problem) => assert_eq!(problem.token, "expired"),
        other => panic!("an expired invite must not offer to join: {other:?}"),
    }
    assert!(matches!(screen_for("#/join/!!!", 0), Screen::BadInvite(_)));
}
