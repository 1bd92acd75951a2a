//! The invite panel: the open room's invite link, ready to copy.
//!
//! The link is made when the panel opens and again whenever a choice changes (how long it
//! works, whether it lets people in without asking, and then whether only one person: each is
//! signed into the link or kept with it, `model::invites`). Below it, the room's links that
//! let people in without asking and still do, each with Revoke. Copying tries the asynchronous clipboard API, which
//! browsers only offer on secure origins (https, localhost), then the older copy command on the
//! selected text; if both fail the panel says so and leaves the link selected, so the user can
//! copy it by hand.

use leptos::html;
use leptos::prelude::*;
use leptos::task::spawn_local;
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;

use crate::model::invites::{ActiveInvite, Expiry, InviteOptions};

/// The panel. `make_link(options)` returns the link or the words to show instead; `links`
/// lists the room's working auto-admitting links and `on_revoke` revokes one (by id).
#[component]
pub fn InvitePanel(
    make_link: Callback<InviteOptions, Result<String, String>>,
    on_close: Callback<()>,
    #[prop(optional)] links: Option<Callback<(), Vec<ActiveInvite>>>,
    #[prop(optional)] on_revoke: Option<Callback<String>>,
) -> impl IntoView {
    let options = RwSignal::new(InviteOptions::default());
    let link = Memo::new(move |_| make_link.run(options.get()));
    // Bumped by a revoke, so the list is read again.
    let revoked = RwSignal::new(0u32);
    let active = Memo::new(move |_| {
        link.track();
        revoked.track();
        links.map(|l| l.run(())).unwrap_or_default()
    });
    let copy_state = RwSignal::new(None::<Result<(), ()>>);
    let input = NodeRef::<html::Input>::new();
    // A new link has not been copied yet.
    Effect::new(move |_| {
        link.track();
        copy_state.set(None);
    });

    let copy = move |_| {
        let Ok(text) = link.get_untracked() else {
            return;
        };
        let field = input.get_untracked();
        spawn_local(async move {
            let copied = copy_text(&text, field.as_ref()).await;
            if !copied && let Some(field) = field {
                field.select();
            }
            copy_state.set(Some(if copied { Ok(()) } else { Err(()) }));
        });
    };
    let on_keydown = move |ev: leptos::ev::KeyboardEvent| {
        if ev.key() == "Escape" {
            ev.prevent_default();
            on_close.run(());
        }
    };

    view! {
        <section class="invite-panel" data-testid="invite-panel" aria-labelledby="invite-title"
            on:keydown=on_keydown>
            <header class="panel-header">
                <h2 id="invite-title">"Invite people"</h2>
                <button type="button" class="icon-button" aria-label="Close the invite panel"
                    on:click=move |_| on_close.run(())>
                    <span aria-hidden="true">"×"</span>
                </button>
            </header>
            <p class="hint">
                "The link carries the room key: anyone who has it can read the room's messages, "
                "and can ask to join to write in it. Send it privately."
            </p>
            <label class="invite-expiry">
                "Works for "
                <select data-testid="invite-expiry"
                    on:change=move |ev| {
                        if let Some(expiry) = Expiry::from_token(&event_target_value(&ev)) {
                            options.update(|o| o.expiry = expiry);
                        }
                    }>
                    {Expiry::ALL.into_iter().map(|e| view! {
                        <option value=e.token() selected=e == Expiry::default()>{e.label()}</option>
                    }).collect_view()}
                </select>
            </label>
            <label class="checkbox">
                <input type="checkbox" data-testid="invite-auto-admit"
                    prop:checked=move || options.get().auto_admit
                    on:change=move |ev| options.update(|o| o.auto_admit = event_target_checked(&ev)) />
                "Let people in without asking (your device must be online)"
            </label>
            <Show when=move || options.get().auto_admit>
                <label class="checkbox">
                    <input type="checkbox" data-testid="invite-single-use"
                        prop:checked=move || options.get().single_use
                        on:change=move |ev| options.update(|o| o.single_use = event_target_checked(&ev)) />
                    "Only one person (anyone after them waits for an owner)"
                </label>
            </Show>
            {move || match link.get() {
                Ok(url) => view! {
                    <div class="invite-link-row">
                        <label for="invite-link" class="visually-hidden">"Invite link"</label>
                        <input id="invite-link" type="text" readonly data-testid="invite-link"
                            node_ref=input prop:value=url
                            on:focus=move |ev| {
                                if let Some(el) = ev.target().and_then(|t| t.dyn_into::<web_sys::HtmlInputElement>().ok()) {
                                    el.select();
                                }
                            } />
                        <button type="button" class="primary" data-testid="invite-copy" on:click=copy>
                            {move || match copy_state.get() {
                                Some(Ok(())) => "Copied",
                                _ => "Copy link",
                            }}
                        </button>
                    </div>
                }.into_any(),
                Err(why) => view! {
                    <p class="field-error" role="alert" data-testid="invite-error">{why}</p>
                }.into_any(),
            }}
            <p class="hint" aria-live="polite" data-testid="invite-copy-status">
                {move || match copy_state.get() {
                    Some(Ok(())) => "Copied to the clipboard.",
                    Some(Err(())) => "This browser did not let Quire copy. The link is selected: copy it yourself (Ctrl+C or ⌘C).",
                    None => "",
                }}
            </p>
            <Show when=move || active.with(|a| !a.is_empty())>
                <h3 class="section-title">"Links that let people in without asking"</h3>
                <ul class="invite-links" data-testid="invite-links">
                    <For each=move || active.get() key=|l| l.id.clone() let:l>
                        <li data-testid="invite-active" data-invite=l.id.clone()>
                            <span class="hint">{format!(
                                "{} · until {}",
                                if l.single_use { "one person" } else { "anyone" },
                                local_time(l.until_ms),
                            )}</span>
                            <button type="button" class="small link-button" data-testid="invite-revoke"
                                on:click={
                                    let id = l.id.clone();
                                    move |_| {
                                        if let Some(revoke) = on_revoke {
                                            revoke.run(id.clone());
                                        }
                                        revoked.update(|n| *n += 1);
                                    }
                                }>"Revoke"</button>
                        </li>
                    </For>
                </ul>
            </Show>
        </section>
    }
}

/// A time in the user's locale and time zone.
fn local_time(ms: u64) -> String {
    js_sys::Date::new(&JsValue::from_f64(ms as f64))
        .to_locale_string("default", &JsValue::UNDEFINED)
        .into()
}

/// Puts `text` on the clipboard; false when the browser refused every way.
async fn copy_text(text: &str, field: Option<&web_sys::HtmlInputElement>) -> bool {
    let Some(window) = web_sys::window() else {
        return false;
    };
    let navigator = window.navigator();
    // `navigator.clipboard` is undefined on insecure origins: check before calling into it.
    let has_clipboard = js_sys::Reflect::get(&navigator, &JsValue::from_str("clipboard"))
        .map(|c| !c.is_undefined() && !c.is_null())
        .unwrap_or(false);
    if has_clipboard
        && JsFuture::from(navigator.clipboard().write_text(text))
            .await
            .is_ok()
    {
        return true;
    }
    let Some(field) = field else {
        return false;
    };
    field.select();
    exec_copy(&window).unwrap_or(false)
}

/// `document.execCommand("copy")` on the current selection (called through Reflect: the
/// command is deprecated but is the only way on plain-http origins).
fn exec_copy(window: &web_sys::Window) -> Option<bool> {
    let document = window.document()?;
    let command = js_sys::Reflect::get(&document, &JsValue::from_str("execCommand")).ok()?;
    let command: js_sys::Function = command.dyn_into().ok()?;
    command
        .call1(&document, &JsValue::from_str("copy"))
        .ok()?
        .as_bool()
}
