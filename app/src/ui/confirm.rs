//! Asking before something that cannot be undone (leave, delete, remove a member).
//!
//! An in-page dialog rather than `window.confirm`: it can say what will happen in full
//! sentences, it is styled like the app, and it does not freeze the page (the network keeps
//! running while the user decides). Escape or "Cancel" answers no; focus starts on "Cancel", so
//! a stray Enter never destroys anything.

use leptos::html;
use leptos::prelude::*;
use wasm_bindgen::JsCast;

/// One question to ask.
#[derive(Debug, Clone)]
pub struct ConfirmRequest {
    pub title: String,
    /// What will happen, in a sentence or two.
    pub body: String,
    /// The button that goes ahead, e.g. "Delete room".
    pub yes_label: String,
    pub on_yes: Callback<()>,
}

/// Where a component puts its question; [`ConfirmDialog`] shows whatever is there.
pub type ConfirmSlot = RwSignal<Option<ConfirmRequest>>;

/// The dialog for the question in `ask`. Renders nothing while it is empty.
#[component]
pub fn ConfirmDialog(ask: ConfirmSlot) -> impl IntoView {
    let no_button = NodeRef::<html::Button>::new();
    let yes_button = NodeRef::<html::Button>::new();
    // Where focus was before the question, to put it back after the answer.
    let opener = StoredValue::new_local(None::<web_sys::HtmlElement>);
    // Focus "Cancel" once the dialog is in the page.
    Effect::new(move |_| {
        if ask.with(Option::is_some)
            && let Some(button) = no_button.get()
        {
            let active = web_sys::window()
                .and_then(|w| w.document())
                .and_then(|d| d.active_element())
                .and_then(|e| e.dyn_into::<web_sys::HtmlElement>().ok());
            opener.set_value(active);
            let _ = button.focus();
        }
    });
    let answer = move |yes: bool| {
        if let Some(request) = ask.get_untracked() {
            ask.set(None);
            if let Some(el) = opener.get_value()
                && el.is_connected()
            {
                let _ = el.focus();
            }
            if yes {
                request.on_yes.run(());
            }
        }
    };
    let on_keydown = move |ev: leptos::ev::KeyboardEvent| match ev.key().as_str() {
        "Escape" => {
            ev.prevent_default();
            answer(false);
        }
        // Keep focus inside the dialog: its two buttons take turns.
        "Tab" => {
            ev.prevent_default();
            let on_no = no_button.get_untracked().is_some_and(|b| {
                web_sys::window()
                    .and_then(|w| w.document())
                    .and_then(|d| d.active_element())
                    .is_some_and(|active| active == **b)
            });
            let next = if on_no { yes_button } else { no_button };
            if let Some(button) = next.get_untracked() {
                let _ = button.focus();
            }
        }
        _ => {}
    };
    move || {
        ask.get().map(|request| {
            view! {
                <div class="dialog-backdrop" on:click=move |_| answer(false)></div>
                <div
                    class="dialog"
                    role="alertdialog"
                    aria-modal="true"
                    aria-labelledby="confirm-title"
                    aria-describedby="confirm-body"
                    data-testid="confirm-dialog"
                    on:keydown=on_keydown
                >
                    <h2 id="confirm-title">{request.title.clone()}</h2>
                    <p id="confirm-body">{request.body.clone()}</p>
                    <div class="dialog-buttons">
                        <button type="button" data-testid="confirm-no" node_ref=no_button
                            on:click=move |_| answer(false)>
                            "Cancel"
                        </button>
                        <button type="button" class="danger" data-testid="confirm-yes"
                            node_ref=yes_button on:click=move |_| answer(true)>
                            {request.yes_label.clone()}
                        </button>
                    </div>
                </div>
            }
        })
    }
}
