//! The messenger views in a real browser: mount, act like a user, read what is shown.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use leptos::mount::mount_to;
use leptos::prelude::*;
use wasm_bindgen::JsCast;
use wasm_bindgen_test::wasm_bindgen_test;
use web_sys::{Element, HtmlElement, HtmlTextAreaElement, KeyboardEvent, KeyboardEventInit};

use super::{BadInviteScreen, ChatView, RoomListItems};
use crate::model::{Delivery, InviteProblem, MessageView, RoomPane, RoomSummary};

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

#[wasm_bindgen_test]
async fn enter_sends_shift_enter_does_not_and_arrivals_keep_the_draft() {
    let root = container();
    let pane = RwSignal::new(RoomPane::Open {
        name: "Book club".into(),
        messages: vec![],
        read_only: false,
    });
    let sent = RwSignal::new(Vec::<String>::new());
    let on_send = Callback::new(move |text: String| sent.update(|s| s.push(text)));
    let _mounted = mount_to(
        root.clone(),
        move || view! { <ChatView pane=pane on_send=on_send /> },
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
    let on_send = Callback::new(|_: String| {});
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
        view! { <ul><RoomListItems rooms=Signal::from(rooms) selected=selected /></ul> }
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
