//! The message composer: Enter sends, Shift+Enter starts a new line.

use leptos::ev::KeyboardEvent;
use leptos::prelude::*;

use crate::model::compose;

/// A text area with a send button. Calls `on_send` with the trimmed text and clears the field
/// only once it was accepted (a refusal is shown next to the field and the text stays); refuses
/// blank or overlong messages with a message next to the field. Disabled when `disabled` is true
/// (read-only rooms, or waiting to be let in); `disabled_reason` then replaces the placeholder.
///
/// `paused` holds why sending is paused for now (storage cannot keep new messages): the
/// reason is shown above the field and Send is refused, but the field stays editable and
/// keeps what was typed, so a draft is never lost while storage recovers.
#[component]
pub fn Composer(
    on_send: Callback<String, Result<(), String>>,
    #[prop(into)] disabled: Signal<bool>,
    #[prop(optional, into)] disabled_reason: MaybeProp<&'static str>,
    #[prop(optional, into)] paused: MaybeProp<String>,
) -> impl IntoView {
    let typed = RwSignal::new(String::new());
    let error = RwSignal::new(None::<String>);
    let paused = Memo::new(move |_| paused.get());
    let send = move || match compose(&typed.get_untracked()) {
        Ok(_) if paused.with_untracked(Option::is_some) => {}
        Ok(text) => match on_send.run(text) {
            Ok(()) => {
                error.set(None);
                typed.set(String::new());
            }
            Err(why) => error.set(Some(why)),
        },
        Err(why) => error.set(Some(why.to_string())),
    };
    let on_keydown = move |ev: KeyboardEvent| {
        // While an input method is composing (e.g. Japanese), Enter confirms the composition.
        if ev.key() == "Enter" && !ev.shift_key() && !ev.is_composing() {
            ev.prevent_default();
            send();
        }
    };
    view! {
        <form class="composer" data-testid="composer" on:submit=move |ev| { ev.prevent_default(); send(); }>
            {move || paused.get().map(|why| view! {
                <p class="composer-paused" role="status" data-testid="composer-paused">{why}</p>
            })}
            <label for="composer-input" class="visually-hidden">"Message"</label>
            <textarea
                id="composer-input"
                data-testid="composer-input"
                rows="1"
                placeholder=move || if disabled.get() {
                    disabled_reason.get().unwrap_or("This room is read-only")
                } else {
                    "Write a message"
                }
                disabled=move || disabled.get()
                aria-describedby="composer-error"
                prop:value=move || typed.get()
                on:input=move |ev| typed.set(event_target_value(&ev))
                on:keydown=on_keydown
            ></textarea>
            <button type="submit" class="primary" data-testid="composer-send" disabled=move || disabled.get() || paused.with(Option::is_some)>
                "Send"
            </button>
            <p id="composer-error" class="field-error" role="alert" data-testid="composer-error">
                {move || error.get()}
            </p>
        </form>
    }
}
