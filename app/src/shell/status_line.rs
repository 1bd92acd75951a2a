//! The footer status line: network state, always visible.

use leptos::prelude::*;

use super::state::ShellState;

/// One line at the bottom of every screen saying whether this browser can reach anyone.
/// `role="status"` makes screen readers announce changes without stealing focus.
#[component]
pub fn StatusLine() -> impl IntoView {
    let state = ShellState::expect();
    view! {
        <footer class="status-line" role="status" data-testid="status-line">
            <span
                class="status-dot"
                aria-hidden="true"
                data-state=move || state.connection.get().token()
            ></span>
            <span data-testid="connection-status">{move || state.connection.get().describe()}</span>
            <span class="version">{concat!("Quire ", env!("CARGO_PKG_VERSION"))}</span>
        </footer>
    }
}

#[cfg(all(test, target_arch = "wasm32"))]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::shell::ConnectionStatus;
    use wasm_bindgen::JsCast;
    use wasm_bindgen_test::wasm_bindgen_test;

    fn shown(root: &web_sys::Element) -> (String, String) {
        let text = root
            .query_selector("[data-testid=connection-status]")
            .unwrap()
            .and_then(|e| e.text_content())
            .unwrap_or_default();
        let state = root
            .query_selector(".status-dot")
            .unwrap()
            .and_then(|e| e.get_attribute("data-state"))
            .unwrap_or_default();
        (text, state)
    }

    #[wasm_bindgen_test]
    async fn status_line_follows_the_connection_state() {
        let document = web_sys::window().unwrap().document().unwrap();
        let root: web_sys::HtmlElement = document.create_element("div").unwrap().unchecked_into();
        document.body().unwrap().append_child(&root).unwrap();
        let state = ShellState::new();
        let _mounted = leptos::mount::mount_to(root.clone(), move || {
            provide_context(state);
            view! { <StatusLine /> }
        });
        let root: web_sys::Element = root.into();
        let wait_for = |want: (&'static str, &'static str)| {
            let root = root.clone();
            async move {
                for _ in 0..200 {
                    if shown(&root) == (want.0.to_owned(), want.1.to_owned()) {
                        return;
                    }
                    gloo_timers::future::sleep(std::time::Duration::from_millis(10)).await;
                }
                panic!("status line shows {:?}, expected {want:?}", shown(&root));
            }
        };
        wait_for(("Offline: not connected to a relay", "offline")).await;
        state.connection.set(ConnectionStatus::Online { peers: 2 });
        wait_for(("Online: 2 peers connected", "online")).await;
        state.connection.set(ConnectionStatus::Direct { peers: 1 });
        wait_for(("Relay unreachable: still connected to 1 peer", "direct")).await;
    }
}
