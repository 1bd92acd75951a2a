//! The app shell in a real browser (headless Chromium via wasm-bindgen-test-runner).
//!
//! Each test mounts the component into its own container and drives it through the DOM, the
//! way a user would: type, click, read what is shown.
#![cfg(target_arch = "wasm32")]
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use leptos::mount::mount_to;
use leptos::prelude::*;
use quire_app::shell::{App, ConnectionStatus, DisplayName, Shell, ShellState};
use wasm_bindgen::JsCast;
use wasm_bindgen_test::{wasm_bindgen_test, wasm_bindgen_test_configure};
use web_sys::{Element, Event, HtmlElement, HtmlInputElement};

wasm_bindgen_test_configure!(run_in_browser);

/// Reactive updates reach the DOM on a later tick; give them this long before failing.
const UI_DEADLINE: Duration = Duration::from_secs(2);
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

#[wasm_bindgen_test]
async fn first_visit_asks_for_a_display_name() {
    let root = container();
    let _app = mount_to(root.clone(), App);

    eventually("the welcome screen", || find(&root, "welcome").is_some()).await;
    assert!(find(&root, "display-name-input").is_some());
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
async fn a_valid_name_opens_the_shell_with_that_name() {
    let root = container();
    let _app = mount_to(root.clone(), App);
    eventually("the welcome screen", || find(&root, "welcome").is_some()).await;

    type_into(&root, "display-name-input", "  Ada   Lovelace ");
    click(&root, "display-name-submit");

    eventually("the sidebar", || find(&root, "sidebar").is_some()).await;
    assert!(find(&root, "welcome").is_none());
    assert!(find(&root, "main-pane").is_some());
    assert_eq!(text(&root, "my-display-name"), "Ada Lovelace");
    let avatar = root.query_selector(".me .avatar").unwrap().unwrap();
    assert_eq!(avatar.text_content().unwrap(), "AL");
}

#[wasm_bindgen_test]
async fn a_blank_name_is_refused_with_a_reason() {
    let root = container();
    let _app = mount_to(root.clone(), App);
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
async fn status_line_follows_the_connection_state() {
    let root = container();
    let state = ShellState::new();
    state
        .display_name
        .set(Some(DisplayName::parse("Grace").unwrap()));
    let _app = mount_to(root.clone(), move || {
        provide_context(state);
        view! { <Shell /> }
    });
    eventually("the shell", || find(&root, "sidebar").is_some()).await;

    state.connection.set(ConnectionStatus::Online { peers: 2 });
    eventually("the online status", || {
        text(&root, "connection-status") == "Online: 2 peers connected"
    })
    .await;
    let dot = root.query_selector(".status-dot").unwrap().unwrap();
    assert_eq!(dot.get_attribute("data-state").as_deref(), Some("online"));
}

#[wasm_bindgen_test]
async fn menu_button_opens_and_closes_the_sidebar_drawer() {
    let root = container();
    let state = ShellState::new();
    state
        .display_name
        .set(Some(DisplayName::parse("Grace").unwrap()));
    let _app = mount_to(root.clone(), move || {
        provide_context(state);
        view! { <Shell /> }
    });
    eventually("the shell", || find(&root, "sidebar-toggle").is_some()).await;
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

    click(&root, "sidebar-toggle");
    eventually("the drawer to close", || {
        toggle.get_attribute("aria-expanded").as_deref() == Some("false")
    })
    .await;
}
