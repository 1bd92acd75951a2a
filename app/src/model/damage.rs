//! Rooms that could not be read back from storage.
//!
//! A room is loaded whole or not at all: if any of its records (the room itself, a book, a
//! page) does not decode, or a book's pages are not all there, the room is listed as damaged
//! and left alone. Why not load what is readable: history with a silent hole misleads, and
//! the replica would accept the missing page again from a peer and try to store it over the
//! damaged record, which storage refuses (pages are never overwritten). Every other room loads
//! normally and the network starts.

/// A room listed as damaged: shown in the room list, never opened, written or synced.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DamagedRoom {
    /// The room's storage key (the record's key, even when the record itself is unreadable).
    pub id: String,
    /// The room's name as last stored, when its record could be read.
    pub name: Option<String>,
    /// What could not be read, for the user and the inspector.
    pub problem: String,
}

impl DamagedRoom {
    /// The name shown in the room list.
    pub fn title(&self) -> &str {
        match self.name.as_deref() {
            Some(name) if !name.trim().is_empty() => name,
            _ => "Unreadable room",
        }
    }

    /// The line under the name.
    pub fn explanation(&self) -> String {
        format!(
            "Damaged: could not be read from this device's storage ({}). Nothing was deleted.",
            self.problem
        )
    }
}

/// Why a book's stored pages cannot rebuild it, if they cannot: the book record says it holds
/// `length` pages, and `seqs` (ascending) are the pages that were read and decoded.
pub fn book_problem(length: u64, seqs: impl IntoIterator<Item = u64>) -> Option<String> {
    let mut expected = 0;
    for seq in seqs {
        if seq != expected {
            return Some(format!("page {expected} of {length} is missing"));
        }
        expected += 1;
    }
    (expected != length).then(|| format!("page {expected} of {length} is missing"))
}

/// The sentence the messenger shows after loading when some rooms are damaged.
pub fn damage_notice(damaged: &[DamagedRoom]) -> Option<String> {
    match damaged {
        [] => None,
        [one] => Some(format!(
            "“{}” could not be read from this device's storage and is shown as damaged. \
             Everything else loaded; nothing was deleted.",
            one.title()
        )),
        many => Some(format!(
            "{} rooms could not be read from this device's storage and are shown as damaged. \
             Everything else loaded; nothing was deleted.",
            many.len()
        )),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn a_complete_book_has_no_problem() {
        assert_eq!(book_problem(3, [0, 1, 2]), None);
        assert_eq!(book_problem(0, []), None);
    }

    #[test]
    fn a_skipped_page_in_the_middle_is_reported_by_its_seq() {
        assert_eq!(
            book_problem(4, [0, 1, 3]),
            Some("page 2 of 4 is missing".to_owned())
        );
    }

    #[test]
    fn missing_pages_at_the_end_are_reported() {
        assert_eq!(
            book_problem(3, [0, 1]),
            Some("page 2 of 3 is missing".to_owned())
        );
        assert_eq!(
            book_problem(2, []),
            Some("page 0 of 2 is missing".to_owned())
        );
    }

    #[test]
    fn an_unreadable_room_record_still_gets_a_title() {
        let room = DamagedRoom {
            id: "r".into(),
            name: None,
            problem: "it does not decode".into(),
        };
        assert_eq!(room.title(), "Unreadable room");
        assert!(room.explanation().contains("Nothing was deleted"));
        let named = DamagedRoom {
            name: Some("Book club".into()),
            ..room
        };
        assert_eq!(named.title(), "Book club");
    }

    #[test]
    fn the_notice_names_one_room_or_counts_many() {
        let room = |name: &str| DamagedRoom {
            id: name.into(),
            name: Some(name.into()),
            problem: String::new(),
        };
        assert_eq!(damage_notice(&[]), None);
        assert!(damage_notice(&[room("Club")]).unwrap().contains("“Club”"));
        assert!(
            damage_notice(&[room("a"), room("b")])
                .unwrap()
                .starts_with("2 rooms")
        );
    }
}
