//! The screen for an invite link that cannot be used.

use leptos::prelude::*;

use crate::model::InviteProblem;

/// Explains what is wrong with the invite and offers the way back; nothing was changed.
#[component]
pub fn BadInviteScreen(problem: InviteProblem, on_dismiss: Callback<()>) -> impl IntoView {
    view! {
        <main class="main-pane bad-invite" data-testid="bad-invite" data-problem=problem.token
            aria-labelledby="bad-invite-title">
            <div class="empty-state" role="alert">
                <h1 id="bad-invite-title" data-testid="bad-invite-title">{problem.title}</h1>
                <p data-testid="bad-invite-advice">{problem.advice}</p>
                <p class="hint">"Nothing was joined or changed."</p>
                <details>
                    <summary>"Details"</summary>
                    <p class="hint" data-testid="bad-invite-detail">{problem.detail.clone()}</p>
                </details>
                <button type="button" class="primary" data-testid="bad-invite-dismiss"
                    on:click=move |_| on_dismiss.run(())>
                    "Go to my rooms"
                </button>
            </div>
        </main>
    }
}
