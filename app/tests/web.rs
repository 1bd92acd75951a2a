//! The app shell in a real browser (headless Chromium via wasm-bindgen-test-runner).
//!
//! Each test mounts the whole app into its own container, over its own fresh IndexedDB
//! database (so one test's registration never leaks into the next), and drives it through the
//! DOM the way a user would: type, click, read what is shown.
#![cfg(target_arch = "wasm32")]
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use leptos::mount::mount_to;
use leptos::prelude::*;
use quire_app::shell::Quire;
use wasm_bindgen::JsCast;
use wasm_bindgen::JsValue;
use wasm_bindgen_test::{wasm_bindgen_test, wasm_bindgen_test_configure};
use web_sys::{Element, Event, HtmlElement, HtmlInputElement, KeyboardEvent, KeyboardEventInit};

wasm_bindgen_test_configure!(run_in_browser);

/// Reactive updates reach the DOM on a later tick; give them this long before failing.
// Generous: it only bounds how long a failing wait takes to report, and a strict-durability
// IndexedDB commit can take seconds on a loaded machine.
const UI_DEADLINE: Duration = Duration::from_secs(10);
const POLL_EVERY: Duration = Duration::from_millis(10);

/// A detached-from-other-tests container in the page body.
fn container() -> HtmlElement {
    let document = web_sys::window().unwrap().document().unwrap();
    let el = document.create_element("div").unwrap();
    document.body().unwrap().append_child(&el).unwrap();
    el.unchecked_into()
}

fn find(root: &Element, test_id: &str) -> Option<Element> {
    root.query_selector(&format!("[data-testid=\"{test_id}\"]"))
        .unwrap()
}

fn text(root: &Element, test_id: &str) -> String {
    find(root, test_id)
        .and_then(|el| el.text_content())
        .unwrap_or_default()
}

/// Polls until `cond` holds, failing the test with `what` after [`UI_DEADLINE`].
async fn eventually(what: &str, mut cond: impl FnMut() -> bool) {
    let mut waited = Duration::ZERO;
    while !cond() {
        assert!(waited < UI_DEADLINE, "timed out waiting for: {what}");
        gloo_timers::future::sleep(POLL_EVERY).await;
        waited += POLL_EVERY;
    }
}

fn type_into(root: &Element, test_id: &str, value: &str) {
    let input: HtmlInputElement = find(root, test_id).unwrap().unchecked_into();
    input.set_value(value);
    input.dispatch_event(&Event::new("input").unwrap()).unwrap();
}

fn click(root: &Element, test_id: &str) {
    find(root, test_id)
        .unwrap()
        .unchecked_into::<HtmlElement>()
        .click();
}

/// A database name no other test uses.
fn fresh_database() -> String {
    format!("quire-test-{}", js_sys::Math::random().to_bits())
}

/// Mounts the app over `database` and leaves it running for the rest of the test binary, like
/// a tab left open: the rooms controller's network tasks run for the app's lifetime and are
/// not tied to the mount, so unmounting would leave them touching disposed signals.
fn mount(database: String) -> HtmlElement {
    // A test that failed may have left its fragment in the shared address bar.
    clear_fragment();
    let root = container();
    let handle = mount_to(
        root.clone(),
        move || view! { <Quire database=database.clone() /> },
    );
    std::mem::forget(handle);
    root
}

async fn register(root: &Element, name: &str) {
    eventually("the welcome screen", || find(root, "welcome").is_some()).await;
    type_into(root, "display-name-input", name);
    click(root, "display-name-submit");
    eventually("the layout", || find(root, "layout").is_some()).await;
}

fn set_fragment(fragment: &str) {
    web_sys::window()
        .unwrap()
        .location()
        .set_hash(fragment)
        .unwrap();
}

fn current_fragment() -> String {
    web_sys::window().unwrap().location().hash().unwrap()
}

fn clear_fragment() {
    let window = web_sys::window().unwrap();
    let path = window.location().pathname().unwrap();
    window
        .history()
        .unwrap()
        .replace_state_with_url(&JsValue::NULL, "", Some(&path))
        .unwrap();
}

#[wasm_bindgen_test]
async fn first_visit_shows_loading_then_asks_for_a_display_name() {
    let root = mount(fresh_database());
    assert!(
        find(&root, "app-loading").is_some(),
        "storage is still opening: the loading screen shows, not the welcome"
    );
    assert!(find(&root, "welcome").is_none());

    eventually("the welcome screen", || find(&root, "welcome").is_some()).await;
    assert!(find(&root, "app-loading").is_none());
    assert!(find(&root, "display-name-input").is_some());
    assert!(find(&root, "welcome-restore").is_some());
    assert!(
        find(&root, "sidebar").is_none(),
        "the sidebar must wait for a name"
    );
    assert_eq!(
        text(&root, "connection-status"),
        "Offline: not connected to a relay"
    );
}

#[wasm_bindgen_test]
async fn a_valid_name_opens_the_shell_and_a_return_visit_goes_straight_in() {
    let database = fresh_database();
    let root = mount(database.clone());
    register(&root, "  Ada   Lovelace ").await;
    assert!(find(&root, "welcome").is_none());
    assert!(find(&root, "main-pane").is_some());
    assert_eq!(text(&root, "my-display-name"), "Ada Lovelace");
    let avatar = root.query_selector(".me .avatar").unwrap().unwrap();
    assert_eq!(avatar.text_content().unwrap(), "AL");
    assert!(find(&root, "room-list-empty").is_some());
    // Registration has committed once the rooms loaded; a second tab of the same profile
    // then waits for the first, and taking Quire over goes straight in, without asking again.
    eventually("the rooms loaded", || find(&root, "no-room").is_some()).await;

    let again = mount(database);
    eventually("the second tab waits", || {
        find(&again, "open-elsewhere").is_some()
    })
    .await;
    assert!(find(&again, "layout").is_none());
    click(&again, "use-here");
    eventually("the first tab steps aside", || {
        find(&root, "open-elsewhere").is_some() && find(&root, "layout").is_none()
    })
    .await;
    eventually("the layout, without asking again", || {
        find(&again, "layout").is_some()
    })
    .await;
    assert!(find(&again, "welcome").is_none());
    assert_eq!(text(&again, "my-display-name"), "Ada Lovelace");
}

#[wasm_bindgen_test]
async fn a_blank_name_is_refused_with_a_reason() {
    let root = mount(fresh_database());
    eventually("the welcome screen", || find(&root, "welcome").is_some()).await;

    type_into(&root, "display-name-input", "   ");
    click(&root, "display-name-submit");

    eventually("the error message", || {
        text(&root, "display-name-error") == "Please enter a name."
    })
    .await;
    let input = find(&root, "display-name-input").unwrap();
    assert_eq!(input.get_attribute("aria-invalid").as_deref(), Some("true"));
    assert!(find(&root, "sidebar").is_none());
}

#[wasm_bindgen_test]
async fn a_backup_file_restores_the_identity_on_a_first_visit() {
    use quire_app::model::identity::export_backup;
    use quire_app::storage::ProfileRecord;
    use quire_core::identity::Identity;

    let identity = Identity::from_secret_bytes([9; 32]).unwrap();
    let profile = ProfileRecord {
        display_name: "Grace Hopper".into(),
    };
    let backup = export_backup(&identity, &profile, 1_700_000_000_000.0);

    let root = mount(fresh_database());
    eventually("the welcome screen", || {
        find(&root, "welcome-restore").is_some()
    })
    .await;
    choose_file(&root, "welcome-restore", "quire-identity.json", &backup);
    eventually("the layout", || find(&root, "layout").is_some()).await;
    assert_eq!(text(&root, "my-display-name"), "Grace Hopper");

    // A file that is not a backup is refused, and the user stays on the welcome screen.
    let other = mount(fresh_database());
    eventually("the welcome screen", || {
        find(&other, "welcome-restore").is_some()
    })
    .await;
    choose_file(&other, "welcome-restore", "photo.json", "{\"hello\": 1}");
    eventually("the refusal", || {
        text(&other, "welcome-restore-error") == "This file is not a Quire identity backup."
    })
    .await;
    assert!(find(&other, "welcome").is_some());
}

/// Puts a file with `contents` into the file input `test_id`, as picking it would.
fn choose_file(root: &Element, test_id: &str, name: &str, contents: &str) {
    let parts = js_sys::Array::of1(&JsValue::from_str(contents));
    let file = web_sys::File::new_with_str_sequence(&parts, name).unwrap();
    // DataTransfer is the only way to build a FileList.
    let global = js_sys::global();
    let constructor: js_sys::Function = js_sys::Reflect::get(&global, &"DataTransfer".into())
        .unwrap()
        .unchecked_into();
    let transfer = js_sys::Reflect::construct(&constructor, &js_sys::Array::new()).unwrap();
    let items = js_sys::Reflect::get(&transfer, &"items".into()).unwrap();
    let add: js_sys::Function = js_sys::Reflect::get(&items, &"add".into())
        .unwrap()
        .unchecked_into();
    add.call1(&items, &file).unwrap();
    let files = js_sys::Reflect::get(&transfer, &"files".into()).unwrap();
    let input = find(root, test_id).unwrap();
    js_sys::Reflect::set(&input, &"files".into(), &files).unwrap();
    input
        .dispatch_event(&Event::new("change").unwrap())
        .unwrap();
}

fn press_escape() {
    let init = KeyboardEventInit::new();
    init.set_key("Escape");
    init.set_bubbles(true);
    init.set_cancelable(true);
    let event = KeyboardEvent::new_with_keyboard_event_init_dict("keydown", &init).unwrap();
    web_sys::window()
        .unwrap()
        .document()
        .unwrap()
        .body()
        .unwrap()
        .dispatch_event(&event)
        .unwrap();
}

#[wasm_bindgen_test]
async fn menu_button_and_escape_open_and_close_the_sidebar_drawer() {
    let root = mount(fresh_database());
    register(&root, "Grace").await;
    let toggle = find(&root, "sidebar-toggle").unwrap();
    assert_eq!(
        toggle.get_attribute("aria-expanded").as_deref(),
        Some("false")
    );

    click(&root, "sidebar-toggle");
    eventually("the drawer to open", || {
        toggle.get_attribute("aria-expanded").as_deref() == Some("true")
    })
    .await;
    let shell = find(&root, "shell").unwrap();
    assert!(shell.class_list().contains("sidebar-open"));
    eventually("focus moves into the drawer", || {
        web_sys::window()
            .and_then(|w| w.document())
            .and_then(|d| d.active_element())
            .and_then(|e| e.get_attribute("data-testid"))
            .as_deref()
            == Some("new-room-button")
    })
    .await;

    click(&root, "sidebar-toggle");
    eventually("the drawer to close", || {
        toggle.get_attribute("aria-expanded").as_deref() == Some("false")
    })
    .await;

    click(&root, "sidebar-toggle");
    eventually("the drawer to open again", || {
        shell.class_list().contains("sidebar-open")
    })
    .await;
    press_escape();
    eventually("Escape closes it", || {
        !shell.class_list().contains("sidebar-open")
    })
    .await;
}

#[wasm_bindgen_test]
async fn new_room_form_refuses_a_blank_name() {
    let root = mount(fresh_database());
    register(&root, "Grace").await;
    assert!(find(&root, "new-room-form").is_none());
    click(&root, "new-room-button");
    eventually("the form", || find(&root, "new-room-form").is_some()).await;
    type_into(&root, "new-room-name", "   ");
    click(&root, "new-room-submit");
    eventually("the reason", || {
        root.query_selector("#new-room-error")
            .unwrap()
            .and_then(|e| e.text_content())
            .as_deref()
            == Some("Give the room a name.")
    })
    .await;
    assert!(find(&root, "room-item").is_none());
}

#[wasm_bindgen_test]
async fn the_fragment_routes_to_inspector_bad_invite_and_join() {
    use quire_core::crypto::RoomSecret;
    use quire_core::identity::Identity;
    use quire_core::invite::Invite;
    use quire_core::page::{InviteId, RoomId};

    let root = mount(fresh_database());
    register(&root, "Grace").await;
    eventually("the rooms", || find(&root, "no-room").is_some()).await;

    set_fragment("/inspector");
    eventually("the inspector", || find(&root, "inspector-rooms").is_some()).await;
    assert!(find(&root, "inspector-links").is_some());
    assert!(find(&root, "inspector-errors").is_some());
    click(&root, "inspector-close");
    eventually("back to the rooms", || find(&root, "no-room").is_some()).await;
    assert_eq!(current_fragment(), "");

    set_fragment("/join/!!!");
    eventually("the bad invite screen", || {
        find(&root, "bad-invite").is_some()
    })
    .await;
    let bad = find(&root, "bad-invite").unwrap();
    assert_eq!(
        bad.get_attribute("data-problem").as_deref(),
        Some("invalid")
    );
    assert!(
        find(&root, "main-pane").is_none(),
        "the explanation replaces the pane"
    );
    click(&root, "bad-invite-dismiss");
    eventually("back to the rooms", || find(&root, "no-room").is_some()).await;
    assert_eq!(current_fragment(), "", "nothing of the link is left");

    let owner = Identity::from_secret_bytes([5; 32]).unwrap();
    let invite = Invite {
        room: RoomId([1; 32]),
        room_name: "Book club".into(),
        secret: RoomSecret::from_bytes([2; 32]),
        inviter: owner.user_id(),
        id: InviteId([3; 16]),
        relays: vec![],
        expires_at_ms: None,
        auto_admit: false,
        link_secret: None,
    };
    let link = invite.to_link("http://192.0.2.10:8080/", &owner).unwrap();
    set_fragment(&link[link.find('#').unwrap() + 1..]);
    eventually("the join screen", || find(&root, "join-screen").is_some()).await;
    assert_eq!(text(&root, "join-room-name"), "Book club");
    assert_eq!(text(&root, "join-submit"), "Ask to join");
    click(&root, "join-cancel");
    eventually("back to the rooms", || find(&root, "join-screen").is_none()).await;
    assert_eq!(
        current_fragment(),
        "",
        "the secret does not stay in the address bar"
    );
    clear_fragment();
}

fn input_value(root: &Element, test_id: &str) -> String {
    find(root, test_id)
        .map(|e| e.unchecked_into::<HtmlInputElement>().value())
        .unwrap_or_default()
}

#[wasm_bindgen_test]
async fn a_new_room_opens_with_its_owner_an_invite_link_and_can_be_left() {
    let root = mount(fresh_database());
    register(&root, "Grace").await;

    click(&root, "new-room-button");
    eventually("the form", || find(&root, "new-room-form").is_some()).await;
    type_into(&root, "new-room-name", "  Book   club ");
    click(&root, "new-room-submit");
    eventually("the room opens", || {
        text(&root, "room-title") == "Book club"
    })
    .await;
    let item = find(&root, "room-item").unwrap();
    assert_eq!(text(&item, "room-name"), "Book club");
    assert!(find(&root, "room-list-empty").is_none());

    // The creator is its owner, on this device.
    click(&root, "members-button");
    eventually("me in the members panel", || {
        find(&root, "member").is_some()
    })
    .await;
    let me = find(&root, "member").unwrap();
    assert_eq!(me.get_attribute("data-role").as_deref(), Some("owner"));
    assert_eq!(me.get_attribute("data-presence").as_deref(), Some("you"));
    assert_eq!(
        text(&me, "member-name"),
        "Grace",
        "I find myself under my own name"
    );
    assert!(
        find(&me, "member-remove").is_none(),
        "nobody removes themselves"
    );

    // An invite link with the payload in the fragment; auto-admit changes it.
    click(&root, "invite-button");
    eventually("the link", || {
        input_value(&root, "invite-link").contains("#/join/")
    })
    .await;
    let asking = input_value(&root, "invite-link");
    click(&root, "invite-auto-admit");
    eventually("another link", || {
        let link = input_value(&root, "invite-link");
        link.contains("#/join/") && link != asking
    })
    .await;

    // Leaving asks first; "Cancel" changes nothing, "Leave room" makes the room read-only.
    click(&root, "room-leave");
    eventually("the question", || find(&root, "confirm-no").is_some()).await;
    click(&root, "confirm-no");
    eventually("no question", || find(&root, "confirm-no").is_none()).await;
    assert!(find(&root, "read-only").is_none());
    click(&root, "room-leave");
    eventually("the question again", || {
        find(&root, "confirm-yes").is_some()
    })
    .await;
    click(&root, "confirm-yes");
    eventually("read-only", || find(&root, "read-only").is_some()).await;
    let input = find(&root, "composer-input").unwrap();
    assert!(input.has_attribute("disabled"));
    assert!(find(&root, "room-leave").is_none(), "left already");
    assert_eq!(
        text(&find(&root, "room-item").unwrap(), "room-name"),
        "Book club"
    );
}
