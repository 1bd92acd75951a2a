//! The message composer: Enter sends, Shift+Enter starts a new line.

use leptos::ev::KeyboardEvent;
use leptos::prelude::*;
use wasm_bindgen::JsCast;

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
    /// Files picked, pasted or dropped, to share into the room (no attach button without it).
    #[prop(default = None)]
    on_attach: Option<Callback<Vec<web_sys::File>>>,
    /// The draft to show when the room changes (read whenever it changes).
    #[prop(optional, into)]
    draft: MaybeProp<String>,
    /// Told what is typed, and "" once it was sent, so the draft can be kept.
    #[prop(default = None)]
    on_draft: Option<Callback<String>>,
) -> impl IntoView {
    let typed = RwSignal::new(String::new());
    // A draft given replaces the field when it changes (the open room changed); without one
    // the field is left alone, also on the first run, which comes after the view is mounted.
    Effect::new(move |before: Option<Option<String>>| {
        let now = draft.get();
        if before.is_some() || now.is_some() {
            typed.set(now.clone().unwrap_or_default());
        }
        now
    });
    let keep = move |text: String| {
        if let Some(on_draft) = on_draft {
            on_draft.run(text);
        }
    };
    let error = RwSignal::new(None::<String>);
    let paused = Memo::new(move |_| paused.get());
    let send = move || match compose(&typed.get_untracked()) {
        Ok(_) if paused.with_untracked(Option::is_some) => {}
        Ok(text) => match on_send.run(text) {
            Ok(()) => {
                error.set(None);
                typed.set(String::new());
                keep(String::new());
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
    let on_paste = move |ev: leptos::ev::ClipboardEvent| {
        let Some(attach) = on_attach else { return };
        let files = ev
            .clipboard_data()
            .and_then(|d| d.files())
            .map(file_list)
            .unwrap_or_default();
        if !files.is_empty() && !disabled.get_untracked() {
            ev.prevent_default();
            attach.run(files);
        }
    };
    let attach = on_attach.map(|attach| {
        view! {
            <label class="composer-attach" data-testid="composer-attach" title="Share a file"
                class:disabled=move || disabled.get()>
                <span aria-hidden="true">"📎"</span>
                <span class="visually-hidden">"Share a file"</span>
                <input type="file" multiple class="visually-hidden" data-testid="composer-file"
                    disabled=move || disabled.get()
                    on:change=move |ev| {
                        let input: web_sys::HtmlInputElement = event_target(&ev);
                        let files = input.files().map(file_list).unwrap_or_default();
                        input.set_value("");
                        if !files.is_empty() {
                            attach.run(files);
                        }
                    } />
            </label>
        }
    });
    view! {
        <form class="composer" class:with-attach=on_attach.is_some() data-testid="composer" on:submit=move |ev| { ev.prevent_default(); send(); }>
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
                on:input=move |ev| {
                    let text = event_target_value(&ev);
                    typed.set(text.clone());
                    keep(text);
                }
                on:keydown=on_keydown
                on:paste=on_paste
            ></textarea>
            {attach}
            <button type="submit" class="primary" data-testid="composer-send" disabled=move || disabled.get() || paused.with(Option::is_some)>
                "Send"
            </button>
            <p id="composer-error" class="field-error" role="alert" data-testid="composer-error">
                {move || error.get()}
            </p>
        </form>
    }
}

/// The files of a browser `FileList`.
pub fn file_list(list: web_sys::FileList) -> Vec<web_sys::File> {
    (0..list.length()).filter_map(|i| list.get(i)).collect()
}

/// The files dropped in a drag-and-drop event.
pub fn dropped_files(ev: &leptos::ev::DragEvent) -> Vec<web_sys::File> {
    ev.unchecked_ref::<web_sys::DragEvent>()
        .data_transfer()
        .and_then(|d| d.files())
        .map(file_list)
        .unwrap_or_default()
}
