//! The image viewer: a held image shown over the page, closed with its button, a click
//! outside it or Escape (its object URL is released on close).

use leptos::prelude::*;

use super::rooms::Rooms;

/// Shows `Rooms::viewer` when it holds an image.
#[component]
pub fn ImageViewer() -> impl IntoView {
    let rooms = Rooms::expect();
    let close = move || {
        if let Some((url, _)) = rooms.viewer.get_untracked() {
            let _ = web_sys::Url::revoke_object_url(&url);
        }
        rooms.viewer.set(None);
    };
    let escape = window_event_listener(leptos::ev::keydown, move |ev| {
        if ev.key() == "Escape" && rooms.viewer.with_untracked(Option::is_some) {
            close();
        }
    });
    on_cleanup(move || escape.remove());
    move || {
        rooms.viewer.get().map(|(url, name)| {
            let (label, alt) = (name.clone(), name.clone());
            view! {
                <div class="viewer" role="dialog" aria-modal="true" aria-label=label
                    data-testid="image-viewer" on:click=move |_| close()>
                    <img src=url alt=alt data-testid="image-viewer-image"
                        on:click=|ev| ev.stop_propagation() />
                    <p class="viewer-name">{name}</p>
                    <button type="button" class="viewer-close" data-testid="image-viewer-close"
                        on:click=move |_| close()>"Close"</button>
                </div>
            }
        })
    }
}
