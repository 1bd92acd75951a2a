//! What the room side panel and the inspector show: members with roles and presence, pending
//! join requests, and what the local user may do in the open room. Plain values built by the
//! session and the network driver; the UI renders them.

/// How a member's device is reachable right now, as the presence dot shows it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Presence {
    /// This device (the local user).
    You,
    /// A direct browser-to-browser `/webrtc` link is up.
    Direct,
    /// Linked through the relay's circuit only (ICE found no direct path yet).
    Relayed,
    /// Not linked. `last_seen_ms` is when their device last reported to us (ms since the Unix
    /// epoch), if ever.
    Offline { last_seen_ms: Option<f64> },
}

impl Presence {
    /// Stable token for styling and tests (`data-presence`).
    pub fn token(self) -> &'static str {
        match self {
            Self::You => "you",
            Self::Direct => "direct",
            Self::Relayed => "relayed",
            Self::Offline { .. } => "offline",
        }
    }

    /// Words for screen readers and the tooltip. `now_ms` is the current wall clock.
    pub fn label(self, now_ms: f64) -> String {
        match self {
            Self::You => "This device".to_owned(),
            Self::Direct => "Online, direct link".to_owned(),
            Self::Relayed => "Online, through the relay".to_owned(),
            Self::Offline { last_seen_ms: None } => "Offline".to_owned(),
            Self::Offline {
                last_seen_ms: Some(at),
            } => format!("Offline, last seen {}", ago(now_ms - at)),
        }
    }
}

/// "just now", "5 min ago", "3 h ago", "2 days ago".
pub fn ago(elapsed_ms: f64) -> String {
    let secs = (elapsed_ms / 1000.0).max(0.0) as u64;
    match secs {
        0..60 => "just now".to_owned(),
        60..3600 => format!("{} min ago", secs / 60),
        3600..86_400 => format!("{} h ago", secs / 3600),
        _ => format!("{} days ago", secs / 86_400),
    }
}

/// One member in the members list.
#[derive(Debug, Clone, PartialEq)]
pub struct MemberView {
    /// The user's key (lowercase hex of the user id): list key, `data-user` attribute, and the
    /// argument of `Rooms::remove` / `Rooms::open_direct`.
    pub user: String,
    pub name: String,
    pub owner: bool,
    pub me: bool,
    pub presence: Presence,
}

/// A pending request to join, as an owner sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JoinRequestView {
    pub user: String,
    pub name: String,
}

/// The open room's side panel.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct RoomDetails {
    pub id: String,
    pub name: String,
    /// A 1:1 chat: no invites, no join requests, no renames.
    pub direct: bool,
    /// The local user is an owner (may admit, remove, rename, delete).
    pub i_own: bool,
    /// The local user is a member (may write, leave).
    pub i_am_member: bool,
    /// The local user asked to join and is waiting for an owner.
    pub waiting_for_approval: bool,
    /// The local user opened an invite and nothing is written yet: what the device waits for
    /// (a member's word, or the user's own earlier pages), in words.
    pub joining: Option<String>,
    /// The room was deleted by an owner: readable, not writable.
    pub deleted: bool,
    /// Members, owners first, then by name.
    pub members: Vec<MemberView>,
    /// Requests not yet answered (shown to owners only; declined ones are hidden).
    pub join_requests: Vec<JoinRequestView>,
}

/// The inspector's snapshot: everything a developer needs to see why something did not arrive.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct InspectorSnapshot {
    pub me: String,
    pub peer_id: String,
    pub relay_connected: bool,
    pub rooms: Vec<InspectedRoom>,
    pub links: Vec<InspectedLink>,
    /// Most recent first.
    pub errors: Vec<InspectedError>,
    /// The latest download runs of this tab, newest first.
    pub downloads: Vec<crate::model::files::DownloadRun>,
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct InspectedRoom {
    pub id: String,
    pub name: String,
    pub books: Vec<InspectedBook>,
    /// Sync sessions open for this room.
    pub sessions: Vec<InspectedSession>,
    /// Pages held back because something they depend on has not arrived.
    pub pending: usize,
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct InspectedBook {
    pub author: String,
    pub author_name: String,
    pub length: u64,
    /// The book's pages, decoded (newest last; capped at the newest few hundred).
    pub pages: Vec<InspectedPage>,
    /// The author wrote two pages at one seq: the lowest such seq known here (the book is cut
    /// there), and whether it is the fork point itself (both pages follow the same page) or
    /// still being walked down to it.
    pub forked_at: Option<(u64, bool)>,
    /// The author was removed or left: its pages from this seq on do not count.
    pub cut_at: Option<u64>,
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct InspectedPage {
    pub seq: u64,
    pub kind: String,
    pub timestamp_ms: u64,
    /// The decrypted body, debug-printed (or why it does not open).
    pub body: String,
    /// Whether it counts where it lands (a removed member's later pages do not).
    pub counts: bool,
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct InspectedSession {
    pub peer: String,
    /// Whether this device opened the stream (both sides may open one; both then sync).
    pub opened_here: bool,
    /// "greeting", "catching up", "live" or "closed: <why>".
    pub state: String,
    /// What the peer last said it holds: (author key, length).
    pub peer_heads: Vec<(String, u64)>,
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct InspectedLink {
    pub peer: String,
    /// "direct", "relayed", "connecting" or "offline".
    pub state: String,
    pub addrs: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct InspectedError {
    pub at_ms: f64,
    pub what: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn last_seen_reads_as_a_person_would_say_it() {
        assert_eq!(ago(5_000.0), "just now");
        assert_eq!(ago(5.0 * 60_000.0), "5 min ago");
        assert_eq!(ago(3.0 * 3_600_000.0), "3 h ago");
        assert_eq!(ago(49.0 * 3_600_000.0), "2 days ago");
        let offline = Presence::Offline {
            last_seen_ms: Some(0.0),
        };
        assert_eq!(offline.label(120_000.0), "Offline, last seen 2 min ago");
        assert_eq!(offline.token(), "offline");
    }
}
