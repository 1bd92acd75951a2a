//! The messenger's state and rules as plain Rust: no DOM, no IndexedDB, no network, so every
//! rule here is unit-tested natively. The UI renders these types; drivers (storage, net) feed
//! them.

pub mod chat;
pub mod chat_requests;
pub mod copies;
pub mod damage;
pub mod delivery;
pub mod drafts;
pub mod explore;
pub mod files;
pub mod identity;
pub mod ids;
pub mod inbound;
pub mod invite_link;
pub mod invites;
pub mod lease;
pub mod presence_schedule;
pub mod room_view;
pub mod session;
pub mod storage_health;
pub mod unread;
pub mod write_budget;

pub use chat::{ComposeError, MessageView, RoomPane, RoomSummary, compose};
pub use damage::DamagedRoom;
pub use delivery::{Delivery, PeerHeads};
pub use invite_link::{InviteProblem, LinkRoute};
pub use room_view::{InspectorSnapshot, JoinRequestView, MemberView, Presence, RoomDetails};
pub use session::{Outgoing, RoomSession, SendError, StoredBook};
pub use storage_health::{StorageHealth, WriteFailure};
pub use unread::ReadMarker;
