//! Fixed keys, rooms and helpers shared by the tests.

use quire_core::book::Book;
use quire_core::crypto::{PageKey, RoomSecret};
use quire_core::identity::Identity;
use quire_core::page::{Body, BookId, MessageBody, PageMeta, RoomId};
use quire_core::validate::VerifiedPage;

pub const ROOM: RoomId = RoomId([0x52; 32]);

pub fn identity(seed: u8) -> Identity {
    Identity::from_secret_bytes([seed; 32]).unwrap()
}

pub fn room_key() -> PageKey {
    RoomSecret::from_bytes([0x4b; 32]).page_key()
}

pub fn text(text: &str) -> Body {
    Body::Message(MessageBody::Text {
        text: text.to_owned(),
        reply_to: None,
    })
}

pub fn book_of(author: &Identity) -> Book {
    Book::new(BookId {
        room: ROOM,
        author: author.user_id(),
    })
}

/// Writes `count` text pages into a fresh book of `author` and returns them.
pub fn written_pages(author: &Identity, count: u64) -> Vec<VerifiedPage> {
    let mut book = book_of(author);
    (0..count)
        .map(|seq| {
            book.append(
                author,
                &room_key(),
                &text(&format!("message {seq}")),
                Vec::new(),
                PageMeta {
                    timestamp_ms: 1_700_000_000_000 + seq,
                },
                nonce(seq),
            )
            .unwrap()
        })
        .collect()
}

pub fn nonce(seq: u64) -> [u8; 24] {
    let mut nonce = [0x6e; 24];
    nonce[..8].copy_from_slice(&seq.to_le_bytes());
    nonce
}
