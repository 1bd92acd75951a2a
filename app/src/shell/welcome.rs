//! First-visit screen: asks for the display name other people will see.

use leptos::ev::SubmitEvent;
use leptos::prelude::*;

use super::display_name::{DisplayName, MAX_DISPLAY_NAME_CHARS};
use super::state::ShellState;
use crate::ui::WelcomeRestore;

/// The "pick a display name" form. On a valid name it stores it in [`ShellState`], which swaps
/// the screen for the main layout; an invalid one shows why, next to the field. A returning
/// user on a new browser can restore their identity from a backup file instead.
#[component]
pub fn Welcome() -> impl IntoView {
    let state = ShellState::expect();
    let typed = RwSignal::new(String::new());
    // The error is shown only after a submit attempt, not while the user is still typing.
    let error = RwSignal::new(None::<String>);
    // `autofocus` only works for elements present at page load; this screen comes later.
    let input = NodeRef::<leptos::html::Input>::new();
    Effect::new(move |_| {
        if let Some(input) = input.get() {
            let _ = input.focus();
        }
    });

    let on_submit = move |ev: SubmitEvent| {
        ev.prevent_default();
        match DisplayName::parse(&typed.get_untracked()) {
            Ok(name) => {
                error.set(None);
                state.display_name.set(Some(name));
            }
            Err(why) => error.set(Some(why.to_string())),
        }
    };

    view! {
        <main class="welcome" data-testid="welcome">
            <form class="welcome-card" on:submit=on_submit aria-labelledby="welcome-title" novalidate>
                <img class="welcome-logo" src="/icons/quire.svg" alt="" width="56" height="56" />
                <h1 id="welcome-title">"Welcome to Quire"</h1>
                <p class="welcome-lede">
                    "Messages travel straight from your browser to your friends' browsers. "
                    "Pick the name they will see."
                </p>
                <label for="display-name">"Display name"</label>
                <input
                    id="display-name"
                    name="display-name"
                    type="text"
                    data-testid="display-name-input"
                    node_ref=input
                    autocomplete="nickname"
                    autofocus
                    maxlength=MAX_DISPLAY_NAME_CHARS.to_string()
                    aria-describedby="display-name-hint display-name-error"
                    aria-invalid=move || if error.get().is_some() { "true" } else { "false" }
                    prop:value=move || typed.get()
                    on:input=move |ev| typed.set(event_target_value(&ev))
                />
                <p id="display-name-hint" class="hint">
                    {format!("Up to {MAX_DISPLAY_NAME_CHARS} characters. Names need not be unique.")}
                </p>
                <p id="display-name-error" class="field-error" role="alert" data-testid="display-name-error">
                    {move || error.get()}
                </p>
                <button type="submit" class="primary" data-testid="display-name-submit">
                    "Continue"
                </button>
                <WelcomeRestore />
            </form>
        </main>
    }
}
