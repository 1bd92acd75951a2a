//! The messenger's views. They render [`crate::model`] values and report user intent through
//! callbacks; they hold no messenger state of their own beyond what is being typed.
//!
//! Placement in the shell: [`RoomListItems`] fills the sidebar's `room-list`, [`ChatView`] the
//! main pane, [`BadInviteScreen`] replaces the main pane when the address holds a broken invite.
//! [`provide_messenger`] (called once in the app root) opens storage and keeps the identity.

mod bad_invite;
mod chat_view;
mod composer;
mod identity_backup;
mod identity_keeper;
mod room_list;
mod rooms;
#[cfg(all(test, target_arch = "wasm32"))]
mod tests;

pub use bad_invite::BadInviteScreen;
pub use chat_view::ChatView;
pub use composer::Composer;
pub use identity_backup::IdentityBackup;
pub use identity_keeper::{IdentityStatus, Messenger, StorageNotice, provide_messenger};
pub use room_list::RoomListItems;
pub use rooms::Rooms;
