//! The shell's reactive state, provided as context so that later modules (net, storage, ui)
//! can read and drive it without the shell knowing about them.

use leptos::prelude::*;

use super::display_name::DisplayName;

/// What the status line says about the network. The browser node (`net`) is the only writer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConnectionStatus {
    /// No relay connection and no peer: nothing is being sent or received.
    Offline,
    /// Dialling the relay.
    Connecting,
    /// Connected to the relay; `peers` direct links to other browsers are open.
    Online { peers: usize },
    /// The relay is unreachable but `peers` links to other browsers are still up: chat goes on
    /// with them, new members cannot be found until the relay is back.
    Direct { peers: usize },
}

impl ConnectionStatus {
    /// The sentence the status line shows.
    pub fn describe(self) -> String {
        match self {
            Self::Offline => "Offline: not connected to a relay".to_owned(),
            Self::Connecting => "Connecting to the relay…".to_owned(),
            Self::Online { peers: 0 } => "Online: no peers connected".to_owned(),
            Self::Online { peers: 1 } => "Online: 1 peer connected".to_owned(),
            Self::Online { peers } => format!("Online: {peers} peers connected"),
            Self::Direct { peers: 1 } => "Relay unreachable: still connected to 1 peer".to_owned(),
            Self::Direct { peers } => {
                format!("Relay unreachable: still connected to {peers} peers")
            }
        }
    }

    /// A stable token for styling and for tests (`data-state`).
    pub fn token(self) -> &'static str {
        match self {
            Self::Offline => "offline",
            Self::Connecting => "connecting",
            Self::Online { .. } => "online",
            Self::Direct { .. } => "direct",
        }
    }
}

/// Signals shared by the whole shell. `Copy`, so components take it by value from context.
#[derive(Debug, Clone, Copy)]
pub struct ShellState {
    /// `None` until the user has picked a name: the shell then shows the first-visit screen.
    pub display_name: RwSignal<Option<DisplayName>>,
    /// Shown in the status line.
    pub connection: RwSignal<ConnectionStatus>,
    /// On narrow screens the sidebar is a drawer; this says whether it is open.
    pub sidebar_open: RwSignal<bool>,
}

impl ShellState {
    /// A first visit: no name yet, offline, drawer closed.
    pub fn new() -> Self {
        Self {
            display_name: RwSignal::new(None),
            connection: RwSignal::new(ConnectionStatus::Offline),
            sidebar_open: RwSignal::new(false),
        }
    }

    /// The shell state of the current reactive owner (provided by [`super::App`]).
    pub fn expect() -> Self {
        expect_context::<Self>()
    }
}

impl Default for ShellState {
    fn default() -> Self {
        Self::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use wasm_bindgen_test::wasm_bindgen_test;

    #[wasm_bindgen_test]
    fn status_sentence_counts_peers() {
        assert_eq!(
            ConnectionStatus::Online { peers: 1 }.describe(),
            "Online: 1 peer connected"
        );
        assert_eq!(
            ConnectionStatus::Online { peers: 3 }.describe(),
            "Online: 3 peers connected"
        );
        assert_eq!(ConnectionStatus::Offline.token(), "offline");
    }
}
