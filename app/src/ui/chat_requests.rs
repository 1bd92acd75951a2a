//! 1:1 chats by id, in the sidebar: the user's own id to give to others, a field to start a
//! chat with someone's id, and the requests of strangers who did so (`model::chat_requests`).

use leptos::ev::SubmitEvent;
use leptos::prelude::*;

use super::Rooms;
use super::rooms::ChatRequestView;
use crate::model::ids::parse_user_key;

/// Hex digits of an id shown beside a name: enough to tell two senders with one name apart.
const SHORT_ID: usize = 8;

/// Why a typed id was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum IdError {
    #[error("Paste the id the other person gave you.")]
    Empty,
    #[error("That is not a Quire id (64 characters, 0-9 and a-f).")]
    Malformed,
}

/// Normalises a typed id (spaces around it and upper case are forgiven).
pub fn parse_typed_id(raw: &str) -> Result<String, IdError> {
    let id = raw.trim().to_ascii_lowercase();
    if id.is_empty() {
        return Err(IdError::Empty);
    }
    parse_user_key(&id).map_err(|_| IdError::Malformed)?;
    Ok(id)
}

/// The user's id (`my-id`) and a one-field form to open a 1:1 chat with someone's id.
/// `on_open` receives the checked id.
#[component]
pub fn DirectById(#[prop(into)] my_id: Signal<String>, on_open: Callback<String>) -> impl IntoView {
    let typed = RwSignal::new(String::new());
    let error = RwSignal::new(None::<String>);
    let on_submit = move |ev: SubmitEvent| {
        ev.prevent_default();
        match parse_typed_id(&typed.get_untracked()) {
            Ok(id) => {
                typed.set(String::new());
                error.set(None);
                on_open.run(id);
            }
            Err(why) => error.set(Some(why.to_string())),
        }
    };
    view! {
        <details class="direct-by-id" data-testid="direct-by-id">
            <summary>"Chat with someone by id"</summary>
            <p class="hint">"Your id, for others to start a chat with you:"</p>
            <code class="my-id" data-testid="my-id">{my_id}</code>
            <form class="direct-form" on:submit=on_submit>
                <label class="visually-hidden" for="direct-id">"Their id"</label>
                <input id="direct-id" type="text" data-testid="direct-id" autocomplete="off"
                    spellcheck="false" placeholder="Their id"
                    prop:value=move || typed.get()
                    on:input=move |ev| typed.set(event_target_value(&ev)) />
                <button type="submit" class="small" data-testid="direct-open">"Open chat"</button>
            </form>
            {move || error.get().map(|why| view! {
                <p class="field-error" role="alert" data-testid="direct-error">{why}</p>
            })}
        </details>
    }
}

/// The sidebar's Requests: one row per stranger's 1:1 chat waiting for the user's answer.
#[component]
pub fn ChatRequestList() -> impl IntoView {
    let rooms = Rooms::expect();
    view! {
        <Show when=move || rooms.chat_requests.with(|list| !list.is_empty())>
            <h2 class="section-title" id="requests-title">"Requests"</h2>
            <ul class="chat-requests" data-testid="chat-requests" aria-labelledby="requests-title">
                <For each=move || rooms.chat_requests.get() key=|r| (r.user.clone(), r.name.clone())
                    let:request>
                    <ChatRequestRow request=request />
                </For>
            </ul>
        </Show>
    }
}

#[component]
fn ChatRequestRow(request: ChatRequestView) -> impl IntoView {
    let rooms = Rooms::expect();
    let short: String = request.user.chars().take(SHORT_ID).collect();
    let name = request.name.clone().unwrap_or_else(|| "Someone".to_owned());
    let (accept, ignore) = (request.user.clone(), request.user.clone());
    view! {
        <li class="chat-request" data-testid="chat-request" data-user=request.user.clone()>
            <span class="chat-request-who">
                <span class="room-name" data-testid="chat-request-name">{name}</span>
                <span class="hint" title=request.user.clone()>{format!("id {short}… wants to chat")}</span>
            </span>
            <span class="chat-request-buttons">
                <button type="button" class="small" data-testid="chat-request-accept"
                    on:click=move |_| rooms.accept_chat(accept.clone())>"Accept"</button>
                <button type="button" class="small link-button" data-testid="chat-request-ignore"
                    on:click=move |_| rooms.ignore_chat(ignore.clone())>"Ignore"</button>
            </span>
        </li>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_typed_id_is_trimmed_and_lowered_and_anything_else_is_refused_with_a_reason() {
        let id = "ab".repeat(32);
        assert_eq!(
            parse_typed_id(&format!("  {}\n", id.to_uppercase())),
            Ok(id)
        );
        assert_eq!(parse_typed_id("   "), Err(IdError::Empty));
        assert_eq!(parse_typed_id("abc"), Err(IdError::Malformed));
        assert_eq!(parse_typed_id(&"zz".repeat(32)), Err(IdError::Malformed));
    }
}
