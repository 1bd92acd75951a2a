//! Asking the browser to keep Quire's data when it is short of space.
//!
//! Without this, "best-effort" storage may be evicted under disk pressure, taking the identity
//! and unsent messages with it. Chromium grants it silently to sites the user engages with (or
//! installed); it may also refuse. Either way the answer is shown, never assumed.

use wasm_bindgen_futures::JsFuture;

/// The browser's answer to `navigator.storage.persist()`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Persistence {
    /// Data stays until the user clears it.
    Persistent,
    /// The browser may evict data under storage pressure.
    BestEffort,
    /// This browser has no Storage API (old browser, insecure context).
    Unsupported,
}

/// Requests persistent storage. Call once after the database opens, never inside a transaction.
pub async fn request_persistence() -> Persistence {
    let Some(window) = web_sys::window() else {
        return Persistence::Unsupported;
    };
    let navigator = window.navigator();
    // `navigator.storage` is missing in insecure contexts; web-sys assumes it exists.
    let has_storage = js_sys::Reflect::has(navigator.as_ref(), &"storage".into()).unwrap_or(false);
    if !has_storage {
        return Persistence::Unsupported;
    }
    let Ok(promise) = navigator.storage().persist() else {
        return Persistence::Unsupported;
    };
    match JsFuture::from(promise).await {
        Ok(granted) if granted.as_bool() == Some(true) => Persistence::Persistent,
        // A rejected promise means the API exists but refused to answer: not granted.
        Ok(_) | Err(_) => Persistence::BestEffort,
    }
}
