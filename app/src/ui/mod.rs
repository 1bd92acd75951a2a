//! The messenger's views. They render [`crate::model`] values and report user intent through
//! callbacks; they hold no messenger state of their own beyond what is being typed.
//!
//! Placement in the shell: [`RoomListItems`] fills the sidebar's `room-list`; the main pane
//! shows what the address-bar [`Fragment`] asks for: [`RoomScreen`] (the open room:
//! [`ChatView`], [`RoomToolbar`], [`InvitePanel`], [`MembersPanel`]), [`JoinScreen`] for a valid
//! invite, [`InspectorPage`], or [`BadInviteScreen`] (replacing the whole pane) for a broken
//! invite. [`provide_messenger`] (called once in the app root) opens storage and keeps the
//! identity; [`Rooms`] is the controller every action goes through.

mod bad_invite;
mod chat_requests;
mod chat_view;
mod composer;
mod confirm;
mod explore;
mod identity_backup;
mod identity_keeper;
mod inspector;
mod invite;
mod join;
mod members;
mod new_room;
mod notice;
mod room_actions;
mod room_list;
mod room_screen;
mod rooms;
mod route;
#[cfg(all(test, target_arch = "wasm32"))]
mod tests;
mod viewer;

pub use bad_invite::BadInviteScreen;
pub use chat_requests::{ChatRequestList, DirectById, IdError, parse_typed_id};
pub use chat_view::ChatView;
pub use composer::Composer;
pub use confirm::{ConfirmDialog, ConfirmRequest, ConfirmSlot};
pub use explore::ExplorePage;
pub use identity_backup::{IdentityBackup, WelcomeRestore};
pub use identity_keeper::{
    IdentityStatus, Messenger, StorageNotice, provide_messenger, provide_messenger_in,
};
pub use inspector::{InspectorPage, InspectorView};
pub use invite::InvitePanel;
pub use join::JoinScreen;
pub use members::{MemberActions, MembersPanel};
pub use new_room::{NewRoom, RoomNameError, parse_room_name};
pub use notice::{
    CopiesBanner, CopiesNoticeView, Notice, NoticeBanner, StorageHealthBanner, StorageHealthNotice,
};
pub use room_actions::{RenameForm, RoomPanels, RoomRights, RoomToolbar};
pub use room_list::{DamagedRoomItems, RoomListItems};
pub use room_screen::RoomScreen;
pub use rooms::Rooms;
pub use route::{EXPLORE_FRAGMENT, Fragment, INSPECTOR_FRAGMENT, Screen, screen_for};
pub use viewer::ImageViewer;
