//! What the user typed in a room and did not send, kept per room across room switches and
//! reloads (the controller stores [`Drafts::to_text`] in local storage).

use serde::{Deserialize, Serialize};

/// Rooms whose draft is kept. Why: a draft is for coming back to; beyond this many rooms the
/// one touched longest ago goes first, which bounds what every keystroke writes.
pub const MAX_DRAFTS: usize = 32;

/// Longest draft kept, in UTF-8 bytes (cut at a character boundary). Why: twice what one
/// message may hold, so the user can still shorten an overlong text; with [`MAX_DRAFTS`] it
/// keeps the stored list around a megabyte at worst.
pub const MAX_DRAFT_BYTES: usize = 2 * quire_core::page::body::MAX_TEXT_BYTES;

/// The drafts, the most recently touched last.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Drafts {
    rooms: Vec<(String, String)>,
}

impl Drafts {
    /// The draft of `room` (empty if none).
    pub fn get(&self, room: &str) -> &str {
        self.rooms
            .iter()
            .find(|(r, _)| r == room)
            .map_or("", |(_, text)| text.as_str())
    }

    /// Keeps `text` as the draft of `room` (a blank one is dropped).
    pub fn set(&mut self, room: &str, text: &str) {
        self.rooms.retain(|(r, _)| r != room);
        if text.trim().is_empty() {
            return;
        }
        let mut end = text.len().min(MAX_DRAFT_BYTES);
        while !text.is_char_boundary(end) {
            end -= 1;
        }
        self.rooms.push((room.to_owned(), text[..end].to_owned()));
        if self.rooms.len() > MAX_DRAFTS {
            self.rooms.remove(0);
        }
    }

    /// The text to store.
    pub fn to_text(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }

    /// Reads stored text; anything unreadable (damaged, from another version) is no drafts.
    pub fn from_text(text: &str) -> Self {
        let mut drafts: Self = serde_json::from_str(text).unwrap_or_default();
        let over = drafts.rooms.len().saturating_sub(MAX_DRAFTS);
        drafts.rooms.drain(..over);
        drafts
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_draft_is_kept_per_room_and_survives_its_stored_text() {
        let mut drafts = Drafts::default();
        drafts.set("tea", "half a thought");
        drafts.set("garden", "roses?");
        assert_eq!(drafts.get("tea"), "half a thought");
        assert_eq!(drafts.get("garden"), "roses?");
        assert_eq!(drafts.get("other"), "");
        let back = Drafts::from_text(&drafts.to_text());
        assert_eq!(back, drafts);
        drafts.set("tea", "  ");
        assert_eq!(drafts.get("tea"), "", "sent or cleared: gone");
        assert_eq!(Drafts::from_text("not json"), Drafts::default());
    }

    #[test]
    fn drafts_are_bounded_in_number_and_length() {
        let mut drafts = Drafts::default();
        for n in 0..=MAX_DRAFTS {
            drafts.set(&format!("room {n}"), "x");
        }
        assert_eq!(drafts.get("room 0"), "", "the one touched longest ago went");
        assert_eq!(drafts.get(&format!("room {MAX_DRAFTS}")), "x");
        drafts.set("long", &"é".repeat(MAX_DRAFT_BYTES));
        let kept = drafts.get("long");
        assert!(kept.len() <= MAX_DRAFT_BYTES && kept.len() >= MAX_DRAFT_BYTES - 1);
        assert!(kept.chars().all(|c| c == 'é'));
    }
}
