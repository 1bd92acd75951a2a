//! What the shell shows before the messenger can start: storage opening, unusable, or the
//! messenger running in another tab of the profile.

use leptos::prelude::*;

use crate::lease::TabLease;
use crate::model::lease::LeasePhase;
use crate::ui::{Messenger, StorageNotice};

/// Shown while the database opens and the identity is read (usually a blink). If the open has
/// to wait for another tab that holds an older version of the database, it says so: the wait
/// ends only when that tab is closed or reloaded.
#[component]
pub fn AppLoading() -> impl IntoView {
    let blocked = use_context::<Messenger>().map(|m| m.open_blocked);
    let blocked = move || blocked.is_some_and(|b| b.get());
    view! {
        <main class="app-loading" data-testid="app-loading" aria-busy="true">
            <img src="/icons/quire.svg" alt="" width="56" height="56" />
            <p>"Opening Quire…"</p>
            <Show when=blocked>
                <p class="notice" role="status" data-testid="storage-open-blocked">
                    "Waiting for another Quire tab to let go of this browser's storage. "
                    "Close or reload the other Quire tabs to continue."
                </p>
            </Show>
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

/// Another tab of this profile runs Quire (it holds the writer lease): this one stays out of
/// the way, and "Use here" moves Quire to it once the other tab has stored what it holds.
#[component]
pub fn OpenElsewhere() -> impl IntoView {
    let lease = TabLease::expect();
    let waiting = move || matches!(lease.phase.get(), LeasePhase::Elsewhere { asked: true });
    let handed_over = move || lease.phase.get() == LeasePhase::Released;
    view! {
        <main class="welcome" data-testid="open-elsewhere">
            <div class="welcome-card">
                <img class="welcome-logo" src="/icons/quire.svg" alt="" width="56" height="56" />
                <h1>
                    {move || if handed_over() {
                        "Quire moved to another tab"
                    } else {
                        "Quire is open in another tab"
                    }}
                </h1>
                <p class="hint">
                    "One tab at a time sends and receives, so your messages stay in one order. "
                    {move || if handed_over() {
                        "Everything you wrote here is saved."
                    } else {
                        "This tab takes over by itself when the other one closes."
                    }}
                </p>
                <Show
                    when=waiting
                    fallback=move || view! {
                        <button
                            class="primary"
                            data-testid="use-here"
                            on:click=move |_| lease.use_here()
                        >
                            "Use here"
                        </button>
                    }
                >
                    <p role="status" data-testid="moving-here">
                        "Moving Quire here: the other tab is saving what it holds…"
                    </p>
                </Show>
            </div>
        </main>
    }
}
