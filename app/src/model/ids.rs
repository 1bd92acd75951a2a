//! Text forms of core's ids, used as IndexedDB keys and in element ids.
//!
//! Lower-case hex of the raw bytes: fixed length, sorts like the bytes, and reversible, so a
//! stored key always maps back to exactly one core id.

use quire_core::copies::{INSTANCE_LEN, InstanceId};
use quire_core::identity::{USER_ID_LEN, UserId};
use quire_core::page::{BookId, ROOM_ID_LEN, RoomId};

/// Why a stored id could not be read back.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("stored id {0:?} is not a valid Quire id")]
pub struct BadId(pub String);

pub fn room_key(room: &RoomId) -> String {
    hex::encode(room.0)
}

pub fn user_key(user: &UserId) -> String {
    hex::encode(user.as_bytes())
}

/// `<room hex>.<author hex>`: a book is one author's log in one room.
pub fn book_key(book: &BookId) -> String {
    format!("{}.{}", room_key(&book.room), user_key(&book.author))
}

pub fn parse_room_key(text: &str) -> Result<RoomId, BadId> {
    fixed::<ROOM_ID_LEN>(text).map(RoomId)
}

pub fn parse_user_key(text: &str) -> Result<UserId, BadId> {
    fixed::<USER_ID_LEN>(text).map(UserId::from_bytes)
}

pub fn parse_book_key(text: &str) -> Result<BookId, BadId> {
    let (room, author) = text.split_once('.').ok_or_else(|| BadId(text.to_owned()))?;
    Ok(BookId {
        room: parse_room_key(room)?,
        author: parse_user_key(author)?,
    })
}

/// A copy id as this browser profile keeps it (`model::copies`).
pub fn copy_key(copy: &InstanceId) -> String {
    hex::encode(copy.0)
}

pub fn parse_copy_key(text: &str) -> Result<InstanceId, BadId> {
    fixed::<INSTANCE_LEN>(text).map(InstanceId)
}

fn fixed<const N: usize>(text: &str) -> Result<[u8; N], BadId> {
    hex::decode(text)
        .ok()
        .and_then(|v| v.try_into().ok())
        .ok_or_else(|| BadId(text.to_owned()))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn book_keys_round_trip_and_group_by_room() {
        let book = BookId {
            room: RoomId([7; 32]),
            author: UserId::from_bytes([9; 32]),
        };
        let key = book_key(&book);
        assert_eq!(parse_book_key(&key).unwrap(), book);
        assert!(key.starts_with(&room_key(&book.room)));
    }

    #[test]
    fn garbage_keys_are_refused() {
        assert!(parse_book_key("nonsense").is_err());
        assert!(parse_room_key("abcd").is_err());
        assert!(parse_user_key(&"zz".repeat(32)).is_err());
        assert!(parse_copy_key(&"ab".repeat(15)).is_err());
        let copy = InstanceId([0xc4; INSTANCE_LEN]);
        assert_eq!(parse_copy_key(&copy_key(&copy)).unwrap(), copy);
    }
}
