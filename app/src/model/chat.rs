//! What the messenger screens show: room summaries, messages, the composer's rules.
//!
//! These are the values the UI renders; building them from core's replica is the session's
//! job. Keeping them plain makes every screen state (empty, loading, error) testable natively.

use quire_core::page::body::MAX_TEXT_BYTES;

use super::delivery::Delivery;

/// One line of the room list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RoomSummary {
    /// The room's storage key (stable, unique): list key and `data-room` attribute.
    pub id: String,
    pub name: String,
    /// Messages from others the user has not read.
    pub unread: usize,
    /// The last message's text, shortened, for the second line.
    pub preview: String,
    /// Left or deleted rooms stay readable but cannot be written to.
    pub read_only: bool,
}

/// One message as shown in the chat view.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MessageView {
    /// Unique within the room (book key + seq): the list key, so rows are never re-created.
    pub key: String,
    pub author_name: String,
    /// Whether the local user wrote it (shown on the right, with a delivery state).
    pub own: bool,
    pub text: String,
    /// The author's own clock (ms since the Unix epoch): informational only.
    pub timestamp_ms: u64,
    /// For own messages: how far it got. `None` for others' messages.
    pub delivery: Option<Delivery>,
    /// A shared file: what the file card shows (`text` is then its caption).
    pub file: Option<FileView>,
}

/// A shared file as its card shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileView {
    /// The blob's key (hex): names the file's transfer and its stored copy.
    pub blob: String,
    pub name: String,
    pub mime: String,
    /// Plaintext size in bytes.
    pub size: u64,
    /// Members whose latest statement says they hold a whole copy (user keys), the file's
    /// author included until it says it dropped its copy.
    pub holders: Vec<String>,
    /// How many of `holders` are linked to this device now (the controller fills it in).
    pub online: usize,
    /// The image's preview as a `data:` URL (images shared with one).
    pub thumbnail: Option<String>,
}

/// What the chat pane shows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RoomPane {
    /// No room selected.
    Nothing,
    /// The room's pages are being read from storage.
    Loading,
    /// The room could not be opened; the message says why.
    Failed(String),
    /// The room, its messages in display order (may be empty: "no messages yet").
    Open {
        name: String,
        messages: Vec<MessageView>,
        read_only: bool,
        /// One sentence per author caught writing two histories (its book is cut at the fork).
        forks: Vec<String>,
    },
}

/// Why the composer refused to send.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum ComposeError {
    #[error("Type a message first.")]
    Empty,
    #[error(
        "This message is too long ({len} bytes, at most {MAX_TEXT_BYTES}); send it as a file instead."
    )]
    TooLong { len: usize },
}

/// The text to send for what the user typed: trimmed at both ends (a message of only spaces
/// and newlines is not a message), inner line breaks kept.
pub fn compose(typed: &str) -> Result<String, ComposeError> {
    let text = typed.trim();
    if text.is_empty() {
        return Err(ComposeError::Empty);
    }
    if text.len() > MAX_TEXT_BYTES {
        return Err(ComposeError::TooLong { len: text.len() });
    }
    Ok(text.to_owned())
}

/// Longest preview in the room list, in characters. Why: one line of a phone-width sidebar.
pub const PREVIEW_CHARS: usize = 60;

/// The first line of `text`, cut at [`PREVIEW_CHARS`] characters with an ellipsis.
pub fn preview(text: &str) -> String {
    let line = text.lines().next().unwrap_or_default();
    let mut out: String = line.chars().take(PREVIEW_CHARS).collect();
    if line.chars().count() > PREVIEW_CHARS || text.lines().nth(1).is_some() {
        out.push('…');
    }
    out
}

/// Orders rooms for the list: rooms with unread messages first, then by name, so the list is
/// stable while nothing new arrives.
pub fn sort_rooms(rooms: &mut [RoomSummary]) {
    rooms.sort_by(|a, b| {
        (b.unread > 0)
            .cmp(&(a.unread > 0))
            .then_with(|| a.name.to_lowercase().cmp(&b.name.to_lowercase()))
            .then_with(|| a.id.cmp(&b.id))
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blank_messages_are_not_sent_and_spacing_is_trimmed() {
        assert_eq!(compose("  \n\t "), Err(ComposeError::Empty));
        assert_eq!(compose("  hi\nthere \n").as_deref(), Ok("hi\nthere"));
    }

    #[test]
    fn an_overlong_message_is_refused_with_its_size() {
        let long = "x".repeat(MAX_TEXT_BYTES + 1);
        assert_eq!(
            compose(&long),
            Err(ComposeError::TooLong {
                len: MAX_TEXT_BYTES + 1
            })
        );
        assert!(compose(&"x".repeat(MAX_TEXT_BYTES)).is_ok());
    }

    #[test]
    fn previews_show_one_shortened_line() {
        assert_eq!(preview("hello"), "hello");
        assert_eq!(preview("first\nsecond"), "first…");
        assert_eq!(preview(&"é".repeat(70)).chars().count(), PREVIEW_CHARS + 1);
    }

    #[test]
    fn rooms_with_unread_messages_come_first() {
        let room = |id: &str, name: &str, unread| RoomSummary {
            id: id.into(),
            name: name.into(),
            unread,
            preview: String::new(),
            read_only: false,
        };
        let mut rooms = vec![
            room("1", "alpha", 0),
            room("2", "Beta", 2),
            room("3", "gamma", 0),
        ];
        sort_rooms(&mut rooms);
        let order: Vec<_> = rooms.iter().map(|r| r.id.as_str()).collect();
        assert_eq!(order, ["2", "1", "3"]);
    }
}
