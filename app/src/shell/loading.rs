//! What the shell shows before the messenger can start: storage opening, or unusable.

use leptos::prelude::*;

use crate::ui::StorageNotice;

/// Shown while the database opens and the identity is read (usually a blink).
#[component]
pub fn AppLoading() -> impl IntoView {
    view! {
        <main class="app-loading" data-testid="app-loading" aria-busy="true">
            <img src="/icons/quire.svg" alt="" width="56" height="56" />
            <p>"Opening Quire…"</p>
        </main>
    }
}

/// Storage cannot be used (private mode, a newer Quire, a damaged database): nothing could be
/// kept, so the messenger does not start; the notice says why and what to do.
#[component]
pub fn StorageFailure() -> impl IntoView {
    view! {
        <main class="welcome">
            <div class="welcome-card">
                <img class="welcome-logo" src="/icons/quire.svg" alt="" width="56" height="56" />
                <h1>"Quire cannot start here"</h1>
                <StorageNotice />
                <p class="hint">
                    "Quire keeps your identity and messages in this browser's storage. "
                    "Private windows and some privacy settings block it; try a normal window, "
                    "or free some disk space, then reload."
                </p>
            </div>
        </main>
    }
}
