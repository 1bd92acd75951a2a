//! quire-app: Quire's browser client, a Leptos CSR app compiled to wasm32 by Trunk.
//!
//! `main.rs` only mounts [`shell::App`]. Each concept has its own module (a folder per concept):
//! - [`shell`]: the application frame: sidebar, main pane, status line, first-visit name prompt.
//! - `net`: the browser libp2p node and the `/webrtc` transport.
//! - `files`: the files driver: sealing, serving, fetching and saving shared files.
//! - `storage`: IndexedDB persistence (identity, rooms, books, pages).
//! - [`lease`]: the Web Lock that lets one tab of a profile write.
//! - `ui`: the messenger views that fill the shell's sidebar and main pane.

#[cfg(target_arch = "wasm32")]
pub mod files;
pub mod lease;
pub mod model;
pub mod net;
pub mod shell;
pub mod storage;
pub mod ui;
