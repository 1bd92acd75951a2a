//! Creating a room from the sidebar: a button that unfolds a one-field form.

use leptos::ev::SubmitEvent;
use leptos::html;
use leptos::prelude::*;
use quire_core::page::body::MAX_NAME_BYTES;

/// Why a room name was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum RoomNameError {
    #[error("Give the room a name.")]
    Empty,
    #[error("That name is too long: keep it under {MAX_NAME_BYTES} bytes.")]
    TooLong,
    #[error("A room name can't contain control characters.")]
    ControlCharacter,
}

/// Normalises a typed room name: trimmed, whitespace runs collapsed, no control characters,
/// at most [`MAX_NAME_BYTES`] bytes (the limit core's pages enforce).
pub fn parse_room_name(raw: &str) -> Result<String, RoomNameError> {
    if raw
        .chars()
        .any(|c| c.is_control() && !matches!(c, '\t' | '\n' | '\r'))
    {
        return Err(RoomNameError::ControlCharacter);
    }
    let name = raw.split_whitespace().collect::<Vec<_>>().join(" ");
    if name.is_empty() {
        return Err(RoomNameError::Empty);
    }
    if name.len() > MAX_NAME_BYTES {
        return Err(RoomNameError::TooLong);
    }
    Ok(name)
}

/// "New room" in the sidebar. `on_create` receives the checked name.
#[component]
pub fn NewRoom(on_create: Callback<String>) -> impl IntoView {
    let open = RwSignal::new(false);
    let typed = RwSignal::new(String::new());
    let error = RwSignal::new(None::<String>);
    let input = NodeRef::<html::Input>::new();
    Effect::new(move |_| {
        if open.get()
            && let Some(input) = input.get()
        {
            let _ = input.focus();
        }
    });
    let close = move || {
        open.set(false);
        typed.set(String::new());
        error.set(None);
    };
    let on_submit = move |ev: SubmitEvent| {
        ev.prevent_default();
        match parse_room_name(&typed.get_untracked()) {
            Ok(name) => {
                close();
                on_create.run(name);
            }
            Err(why) => error.set(Some(why.to_string())),
        }
    };
    let on_keydown = move |ev: leptos::ev::KeyboardEvent| {
        if ev.key() == "Escape" {
            ev.prevent_default();
            close();
        }
    };
    view! {
        <div class="new-room">
            <button type="button" class="new-room-button" data-testid="new-room-button"
                aria-expanded=move || open.get().to_string() aria-controls="new-room-form"
                on:click=move |_| if open.get_untracked() { close() } else { open.set(true) }>
                <span aria-hidden="true">"+ "</span>"New room"
            </button>
            <Show when=move || open.get()>
                <form id="new-room-form" class="new-room-form" data-testid="new-room-form"
                    on:submit=on_submit on:keydown=on_keydown novalidate>
                    <label for="new-room-name">"Room name"</label>
                    <input id="new-room-name" type="text" data-testid="new-room-name"
                        node_ref=input autocomplete="off" aria-describedby="new-room-error"
                        aria-invalid=move || if error.get().is_some() { "true" } else { "false" }
                        prop:value=move || typed.get()
                        on:input=move |ev| typed.set(event_target_value(&ev)) />
                    <p id="new-room-error" class="field-error" role="alert">{move || error.get()}</p>
                    <div class="form-buttons">
                        <button type="button" on:click=move |_| close()>"Cancel"</button>
                        <button type="submit" class="primary" data-testid="new-room-submit">"Create"</button>
                    </div>
                </form>
            </Show>
        </div>
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use wasm_bindgen_test::wasm_bindgen_test;

    #[wasm_bindgen_test]
    fn room_names_are_tidied_and_bounded() {
        assert_eq!(
            parse_room_name("  Book \t club\n").as_deref(),
            Ok("Book club")
        );
        assert_eq!(parse_room_name("  "), Err(RoomNameError::Empty));
        assert_eq!(
            parse_room_name("a\u{7}b"),
            Err(RoomNameError::ControlCharacter)
        );
        assert!(parse_room_name(&"x".repeat(MAX_NAME_BYTES)).is_ok());
        assert_eq!(
            parse_room_name(&"é".repeat(MAX_NAME_BYTES / 2 + 1)),
            Err(RoomNameError::TooLong)
        );
    }
}
