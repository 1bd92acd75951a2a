//! The browser side of the writer lease ([`crate::model::lease`] decides; this carries out).
//!
//! The lease is a Web Lock (`navigator.locks`) named after the database, so every tab of a
//! profile that opens the same database competes for the same lock, and the browser grants it
//! to one holder at a time and hands it to the next queued request only after the holder
//! released it. Tabs ask the holder to hand over on a `BroadcastChannel` of the same name.
//!
//! The lock is held for as long as a promise this module keeps unresolved: releasing means
//! resolving it, which happens on hand-over and when the app unmounts (closing the tab releases
//! it too). web-sys has `LockManager` only behind its unstable-API flag, which would have to be
//! set for the whole build, so the two calls used here go through `js_sys::Reflect`.

use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;

use leptos::prelude::*;
use wasm_bindgen::JsCast as _;
use wasm_bindgen::prelude::*;

use crate::model::lease::{Lease, LeaseAction, LeaseInput, LeasePhase};

/// The message a tab posts to ask the holder to hand the lease over.
const HAND_OVER: &str = "hand-over";

/// Stops the messenger's writing and resolves once everything it held is stored.
pub type Drain = Rc<dyn Fn() -> Pin<Box<dyn Future<Output = ()>>>>;

/// This tab's writer lease. `Copy`; provided as context by the app's root.
#[derive(Clone, Copy)]
pub struct TabLease {
    /// Where this tab stands, for the screens.
    pub phase: RwSignal<LeasePhase>,
    inner: StoredValue<Inner, LocalStorage>,
}

struct Inner {
    machine: Lease,
    name: String,
    /// Resolves the promise that keeps the lock held.
    release: Option<js_sys::Function>,
    channel: Option<web_sys::BroadcastChannel>,
    on_message: Option<Closure<dyn FnMut(web_sys::MessageEvent)>>,
    drain: Option<Drain>,
}

impl std::fmt::Debug for TabLease {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TabLease")
            .field("phase", &self.phase.get_untracked())
            .finish_non_exhaustive()
    }
}

impl TabLease {
    /// Creates the lease for `database`, provides it and asks for the lock if it is free.
    pub fn provide(database: &str) -> Self {
        let name = format!("quire-writer:{database}");
        let lease = Self {
            phase: RwSignal::new(LeasePhase::Asking),
            inner: StoredValue::new_local(Inner {
                machine: Lease::new(),
                name: name.clone(),
                release: None,
                channel: None,
                on_message: None,
                drain: None,
            }),
        };
        provide_context(lease);
        lease.listen(&name);
        lease.request(true);
        // Unmounting releases the lock, so a remount (or another tab) can take it.
        let release = send_wrapper::SendWrapper::new(lease);
        on_cleanup(move || release.shut_down());
        lease
    }

    pub fn expect() -> Self {
        expect_context::<Self>()
    }

    /// The user pressed "Use here".
    pub fn use_here(&self) {
        self.input(LeaseInput::UseHere);
    }

    /// Registers how the running messenger stops writing and stores what it holds (the rooms
    /// controller, while it is mounted). `None` when it unmounts.
    pub fn set_drain(&self, drain: Option<Drain>) {
        self.inner.update_value(|i| i.drain = drain);
    }

    fn input(&self, input: LeaseInput) {
        let Some(actions) = self.inner.try_update_value(|i| i.machine.handle(input)) else {
            return;
        };
        for action in actions {
            match action {
                LeaseAction::Queue => self.request(false),
                LeaseAction::AskHandOver => {
                    self.inner.with_value(|i| {
                        if let Some(channel) = &i.channel {
                            let _ = channel.post_message(&HAND_OVER.into());
                        }
                    });
                }
                // The phase set below mounts the messenger.
                LeaseAction::StartWriting => {}
                LeaseAction::StopWriting => {
                    let drain = self.inner.with_value(|i| i.drain.clone());
                    let lease = *self;
                    match drain {
                        Some(drain) => leptos::task::spawn_local(async move {
                            drain().await;
                            lease.input(LeaseInput::Flushed);
                        }),
                        None => lease.input(LeaseInput::Flushed),
                    }
                }
                // The phase below unmounts the messenger (its tasks stopped in the drain);
                // then the lock goes to whichever tab is queued.
                LeaseAction::Release => self.release(),
            }
        }
        if let Some(phase) = self.inner.try_with_value(|i| i.machine.phase()) {
            self.phase.set(phase);
        }
    }

    /// Asks the browser for the lock: only if it is free (`if_available`), or waiting in line.
    fn request(&self, if_available: bool) {
        let Some(name) = self.inner.try_with_value(|i| i.name.clone()) else {
            return;
        };
        let lease = *self;
        let callback = Closure::once_into_js(move |lock: JsValue| -> JsValue {
            if lock.is_null() || lock.is_undefined() {
                lease.input(LeaseInput::Unavailable);
                return JsValue::UNDEFINED;
            }
            let mut resolve = None;
            let held = js_sys::Promise::new(&mut |res, _rej| resolve = Some(res));
            if lease
                .inner
                .try_update_value(|i| i.release = resolve)
                .is_none()
            {
                // Granted after the app unmounted (the request was queued): let it go at once.
                return JsValue::UNDEFINED;
            }
            lease.input(LeaseInput::Granted);
            held.into()
        });
        match lock_request(&name, if_available, &callback) {
            Ok(()) => {}
            Err(why) => {
                // Without Web Locks nothing can keep a second tab from writing; a browser
                // without them is too old for Quire's other needs too, so say it and go on.
                web_sys::console::warn_1(
                    &format!("Quire cannot make sure it runs in one tab only: {why}").into(),
                );
                self.input(LeaseInput::Granted);
            }
        }
    }

    fn listen(&self, name: &str) {
        let Ok(channel) = web_sys::BroadcastChannel::new(name) else {
            return;
        };
        let lease = *self;
        let on_message = Closure::<dyn FnMut(web_sys::MessageEvent)>::new(
            move |event: web_sys::MessageEvent| {
                if event.data().as_string().as_deref() == Some(HAND_OVER) {
                    lease.input(LeaseInput::HandOverAsked);
                }
            },
        );
        channel.set_onmessage(Some(on_message.as_ref().unchecked_ref()));
        self.inner.update_value(|i| {
            i.channel = Some(channel);
            i.on_message = Some(on_message);
        });
    }

    fn release(&self) {
        if let Some(Some(resolve)) = self.inner.try_update_value(|i| i.release.take()) {
            let _ = resolve.call0(&JsValue::UNDEFINED);
        }
    }

    fn shut_down(&self) {
        self.release();
        self.inner.try_update_value(|i| {
            if let Some(channel) = i.channel.take() {
                channel.set_onmessage(None);
                channel.close();
            }
            i.on_message = None;
        });
    }
}

/// `navigator.locks.request(name, { ifAvailable }, callback)`.
fn lock_request(name: &str, if_available: bool, callback: &JsValue) -> Result<(), String> {
    let navigator = web_sys::window().ok_or("no window")?.navigator();
    let locks = js_sys::Reflect::get(&navigator, &"locks".into()).map_err(|_| "no lock manager")?;
    if locks.is_undefined() {
        return Err("this browser (or this insecure address) has no Web Locks".into());
    }
    let request: js_sys::Function = js_sys::Reflect::get(&locks, &"request".into())
        .map_err(|_| "no lock request")?
        .dyn_into()
        .map_err(|_| "lock request is not a function")?;
    let options = js_sys::Object::new();
    js_sys::Reflect::set(&options, &"ifAvailable".into(), &if_available.into())
        .map_err(|_| "cannot build lock options")?;
    let held = request
        .call3(&locks, &name.into(), &options, callback)
        .map_err(|e| format!("{e:?}"))?;
    // Settles when the lock is released; awaited so a rejection is never left unhandled.
    let held = wasm_bindgen_futures::JsFuture::from(js_sys::Promise::from(held));
    leptos::task::spawn_local(async move {
        let _ = held.await;
    });
    Ok(())
}
